/*
 * 01-cgroup - control groups by hand: mkdir, echo, rmdir.
 *
 * A control group is a directory in a cgroup file system.  The kernel fills
 * a new directory with files; writing a number into one sets a limit
 * (cpu.max, memory.max; on v1 cpu.cfs_quota_us, memory.limit_in_bytes),
 * writing a PID into cgroup.procs moves that process in, and rmdir removes
 * the group once it is empty.  The post does exactly this with mkdir and
 * echo (v1) and with cgcreate and cgclassify (v2); this tool does it with
 * the same calls, and with --explain prints each one next to the post's
 * shell command.
 *
 * v2 has one hierarchy; a parent must hand its controllers down through
 * cgroup.subtree_control, and may then hold no processes itself.  v1 has
 * one hierarchy per controller (/sys/fs/cgroup/cpu, .../memory), so a group
 * is a directory in each, and a process joins each.  A hybrid machine has
 * both: v1 hierarchies for some controllers, cgroup2 beside them.
 *
 * --cpu 20% means 20% of one CPU: a quota of 20000 µs in every 100000 µs
 * period.  The post's `echo 20 > cpu.cfs_quota_us` asks for 20 µs, which
 * the kernel refuses (minimum 1000 µs), so the group stays unlimited.
 *
 * What main() does (the numbers match it and the lesson's list):
 *   1. Read the whole command line before anything is touched: the LIMITS
 *      become the kernel's numbers, the group's name must stay inside the
 *      hierarchy.
 *   2. Find the hierarchies: v1, v2 or hybrid, where each controller lives.
 *   3. create: v2 parents hand their controllers down; mkdir in every
 *      hierarchy; then the limit files.
 *   4. set: the same limit files, in a group that exists.
 *   5. add, exec: echo PID > cgroup.procs in every hierarchy (exec: our
 *      own PID, then execvp).
 *   6. info, stat: read it all back.
 *   7. delete: rmdir in every hierarchy (with --kill, the members first).
 *
 * Siblings a first reading can skip (cgroup.h lists them): options.c
 * (step 1), hierarchy.c (step 2), report.c (step 6), delete.c (step 7).
 *
 * Syscalls: statfs(2), mkdir(2), rmdir(2), open/read/write(2) on cgroupfs,
 * kill(2), execvp(3).  Man pages: cgroups(7), proc(5); kernel docs:
 * admin-guide/cgroup-v1/{cgroups,memory}.rst, admin-guide/cgroup-v2.rst,
 * scheduler/sched-bwc.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "cgroup.h"

#define MIN_CPU_QUOTA_US 1000            /* the kernel's 1 ms minimum */
#define GROUP_DIR_MODE 0755              /* as mkdir(1) and cgcreate make it */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [--root DIR] [-x] COMMAND ...\n"
		"Make control groups and set their limits by writing cgroupfs files.\n"
		"\n"
		"  info [--json]              v1, v2 or hybrid; where each controller lives\n"
		"  create NAME [LIMITS]       make the group (NAME may be nested: lab/ctr)\n"
		"  set NAME LIMITS            change its limits\n"
		"  add NAME PID...            move processes in (every hierarchy)\n"
		"  exec NAME -- CMD [ARGS]    join the group, then run CMD\n"
		"  stat NAME [--json]         limits, CPU use, throttling, memory, OOM kills,\n"
		"                             member PIDs\n"
		"  delete NAME [--kill]       remove it; --kill first kills its members\n"
		"                             and removes its child groups\n"
		"\n"
		"LIMITS:\n"
		"  --cpu PCT%%                 share of one CPU: 20%%, 150%% (1.5 CPUs), max\n"
		"  --cpu-quota US             or the raw quota in microseconds per period\n"
		"  --cpu-period US            the period (default 100000 = 100 ms)\n"
		"  --memory SIZE              200M, 1G (powers of 1024), or max\n"
		"  --swap SIZE                swap on top of --memory, or max\n"
		"  --pids N                   most processes and threads, or max\n"
		"\n"
		"  --root DIR                 cgroup mount(s) to use (default " DEFAULT_ROOT ")\n"
		"  -x, --explain              print each kernel interaction on stderr\n"
		"  -h, --help                 show this help\n"
		"      --version              show the version\n"
		"\n"
		"Exit status: 0 ok, 1 the kernel refused, 2 bad usage; exec returns the\n"
		"command's status (126/127 when it cannot be run).\n"
		"Example: " PROG " create lab/ctr --cpu 20%% --memory 200M\n");
}

/* --- 3. create ---------------------------------------------------------- */

/* WORD is one of the space-separated words of LIST. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/*
 * v2: a group gets cpu.max and memory.max only if its parent lists the
 * controllers in cgroup.subtree_control ("+cpu +memory +pids").  A non-root
 * parent that does so may hold no processes itself ("no internal
 * processes", cgroup-v2.rst): refused here rather than half done.
 */
static void enable_controllers(const struct layout *l, int hier, const char *parent,
			       int parent_is_root)
{
	static const char *no_internal =
		"cgroup v2 allows no processes in a group that hands controllers to child "
		"groups: move them into a child (leaf) group first";
	char current[256] = "", procs[PATH_MAX + 16], wanted[64] = "", file[PATH_MAX];
	char undo[64] = "";      /* "-cpu -memory": what this run enabled, to take back */

	if (snprintf(file, sizeof(file), "%s/cgroup.subtree_control", parent) >=
	    (int)sizeof(file))
		die_usage("path too long: %s", parent);
	file_read(file, current, sizeof(current));
	for (int c = 0; c < CTRL_COUNT; c++) {
		if (l->where[c] != hier || c == CTRL_CPUACCT || has_word(current, controller_names[c]))
			continue;
		snprintf(wanted + strlen(wanted), sizeof(wanted) - strlen(wanted), "%s+%s",
			 wanted[0] ? " " : "", controller_names[c]);
		snprintf(undo + strlen(undo), sizeof(undo) - strlen(undo), "%s-%s",
			 undo[0] ? " " : "", controller_names[c]);
	}
	if (!wanted[0])
		return;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", parent);
	if (!parent_is_root && file_read(procs, current, sizeof(current)) > 0)
		die_hint(EBUSY, no_internal, "enable %s in %s (it has processes)", wanted, file);
	int r = file_write(file, wanted);
	if (r < 0)
		die_hint(-r, -r == EBUSY ? no_internal : NULL, "write %s to %s", wanted, file);
	undo_write_file(file, undo);
}

/*
 * mkdir NAME, parents included, in every hierarchy holding a controller we
 * manage: so `set` can add any limit later and `stat` has every counter.
 */
static void make_group(const struct layout *l, const char *name)
{
	char prefix[PATH_MAX], dir[PATH_MAX], parent[PATH_MAX], shell[PATH_MAX + 8];

	for (int i = 0; i < l->nr; i++) {
		if (!l->h[i].managed)
			continue;
		snprintf(parent, sizeof(parent), "%s", l->h[i].path);
		/* each prefix of NAME in turn: "lab", then "lab/ctr" */
		for (size_t end = 0;; end++) {
			end += strcspn(name + end, "/");
			snprintf(prefix, sizeof(prefix), "%.*s", (int)end, name);
			if (l->h[i].version == 2)
				enable_controllers(l, i, parent, strcmp(parent, l->h[i].path) == 0);
			group_dir(l, i, prefix, dir);
			snprintf(shell, sizeof(shell), "mkdir %s", dir);
			int r = traced_mkdir(shell, dir, GROUP_DIR_MODE);
			if (r == 0)
				undo_rmdir(dir);
			else if (r != -EEXIST || name[end] == '\0')
				die_hint(-r, r == -EEXIST ? "the group exists: change its "
					 "limits with `" PROG " set NAME LIMITS`" : NULL, "mkdir %s", dir);
			if (name[end] == '\0')
				break;
			memcpy(parent, dir, sizeof(parent));
		}
	}
}

/* The known pitfalls of a limit file the kernel refused VALUE for. */
static const char *hint_for_limit(const char *file, const char *value, int err, int version)
{
	uint64_t quota;

	if (err == EACCES || err == EPERM)
		return "cgroup files are writable by root only: run as root";
	if (err == EINVAL && (strstr(file, "quota") || strstr(file, "cpu.max")) &&
	    sscanf(value, "%" SCNu64, &quota) == 1 && quota < MIN_CPU_QUOTA_US)
		return "the quota is in MICROseconds per period, not a percentage, and at "
		       "least 1000 (1 ms): 20% of one CPU is --cpu 20% (quota 20000 in a "
		       "period of 100000)";
	if (err == EINVAL && (strstr(file, "cfs_") || strstr(file, "cpu.max")))
		return "quota and period are microseconds: the quota at least 1000, the "
		       "period 1000..1000000; on v1 a child's quota/period may not exceed "
		       "its parent's";
	if (err == EBUSY && strstr(file, "memory"))
		return "the group already uses more memory than that and the kernel could "
		       "not reclaim it (see memory.usage_in_bytes / memory.current)";
	if (err == EINVAL && strstr(file, "memory"))
		return "v1 keeps memory.memsw.limit_in_bytes (memory+swap) >= "
		       "memory.limit_in_bytes: give --swap with --memory to move both";
	if (err == ENOENT && version == 2)
		return "the controller is not enabled in the parent's cgroup.subtree_control";
	return NULL;
}

/* echo VALUE > NAME/FILE in hierarchy HIER: one write(2), the kernel's answer. */
static void write_limit(const struct layout *l, int hier, const char *name,
			const char *file, const char *value)
{
	char path[PATH_MAX];
	int r;

	group_file(l, hier, name, file, path);
	r = file_write(path, value);
	if (r < 0)
		die_hint(-r, hint_for_limit(file, value, -r, l->h[hier].version),
			 "write %s to %s", value, path);
}

/* A limit as the kernel reads it: a number, or UNLIMITED ("max", v1 "-1"). */
static void format_limit(char *buf, size_t size, uint64_t v, const char *unlimited)
{
	if (v == LIMIT_MAX)
		snprintf(buf, size, "%s", unlimited);
	else
		snprintf(buf, size, "%" PRIu64, v);
}

/*
 * --cpu 20%: 20% of one CPU is 20% of every period, quota = period * 20 / 100
 * = 20000 µs of CPU time in each 100000 µs.  v2: cpu.max takes "QUOTA
 * PERIOD" in one write (a lone number would keep the old period).  v1:
 * cpu.cfs_period_us, then cpu.cfs_quota_us (-1 is no limit), both µs
 * (Documentation/scheduler/sched-bwc.rst).
 */
static void write_cpu(const struct layout *l, const char *name, const struct limits *lim)
{
	int i = l->where[CTRL_CPU];
	uint64_t quota_us = lim->cpu_quota_us;
	char quota[32], value[64];

	if (lim->cpu_milli_percent)
		quota_us = lim->cpu_period_us * lim->cpu_milli_percent / ONE_CPU_MILLI_PERCENT;
	if (l->h[i].version == 2) {
		format_limit(quota, sizeof(quota), quota_us, "max");
		snprintf(value, sizeof(value), "%s %" PRIu64, quota, lim->cpu_period_us);
		write_limit(l, i, name, "cpu.max", value);
	} else {
		snprintf(value, sizeof(value), "%" PRIu64, lim->cpu_period_us);
		write_limit(l, i, name, "cpu.cfs_period_us", value);
		format_limit(quota, sizeof(quota), quota_us, "-1");
		write_limit(l, i, name, "cpu.cfs_quota_us", quota);
	}
}

/*
 * --memory 200M: 209715200 bytes into memory.max (v2) or
 * memory.limit_in_bytes (v1).  Swap: v2 limits it on its own
 * (memory.swap.max); v1 limits memory+swap together
 * (memory.memsw.limit_in_bytes) and keeps memsw >= limit at every moment
 * (cgroup-v1/memory.rst 2.4): the limit goes first when the old memsw can
 * hold it, memsw first otherwise.
 */
static void write_memory(const struct layout *l, const char *name, const struct limits *lim)
{
	int i = l->where[CTRL_MEMORY];
	char limit_path[PATH_MAX], memsw_path[PATH_MAX], limit[32], memsw[32];
	uint64_t old_memsw, new_limit, new_memsw;

	if (l->h[i].version == 2) {
		format_limit(limit, sizeof(limit), lim->memory_bytes, "max");
		if (lim->has_memory)
			write_limit(l, i, name, "memory.max", limit);
		format_limit(memsw, sizeof(memsw), lim->swap_bytes, "max");
		if (lim->has_swap)
			write_limit(l, i, name, "memory.swap.max", memsw);
		return;
	}
	format_limit(limit, sizeof(limit), lim->memory_bytes, "-1");
	if (!lim->has_swap) {
		write_limit(l, i, name, "memory.limit_in_bytes", limit);
		return;
	}
	group_file(l, i, name, "memory.limit_in_bytes", limit_path);
	group_file(l, i, name, "memory.memsw.limit_in_bytes", memsw_path);
	new_limit = lim->has_memory ? lim->memory_bytes : read_limit(limit_path);
	old_memsw = read_limit(memsw_path);
	if (new_limit == VALUE_UNKNOWN ||
	    (new_limit == LIMIT_MAX && lim->swap_bytes != LIMIT_MAX))
		die_usage("--swap: on cgroup v1 swap is limited as memory+swap, so the "
			  "group needs a memory limit (--memory) first");
	new_memsw = new_limit == LIMIT_MAX || lim->swap_bytes > LIMIT_MAX / 2 ?
		LIMIT_MAX : new_limit + lim->swap_bytes;
	format_limit(memsw, sizeof(memsw), new_memsw, "-1");
	explain_note("# v1: memory.memsw.limit_in_bytes = memory + swap = %s", memsw);
	if (lim->has_memory && new_limit <= old_memsw) {
		write_limit(l, i, name, "memory.limit_in_bytes", limit);
		write_limit(l, i, name, "memory.memsw.limit_in_bytes", memsw);
	} else {
		write_limit(l, i, name, "memory.memsw.limit_in_bytes", memsw);
		if (lim->has_memory)
			write_limit(l, i, name, "memory.limit_in_bytes", limit);
	}
}

/* Every limit given, each in its own file. */
static void write_limits(const struct layout *l, const char *name, const struct limits *lim)
{
	char value[32];

	if (lim->has_cpu)
		write_cpu(l, name, lim);
	if (lim->has_memory || lim->has_swap)
		write_memory(l, name, lim);
	if (lim->has_pids) {
		/* pids.max is spelled the same in v1 and v2 */
		format_limit(value, sizeof(value), lim->pids, "max");
		write_limit(l, l->where[CTRL_PIDS], name, "pids.max", value);
	}
}

static void create_group(const struct layout *l, const char *name, const struct limits *lim)
{
	layout_require_controllers(l, lim, lim->has_memory);
	make_group(l, name);
	write_limits(l, name, lim);
}

/* --- 4. set ------------------------------------------------------------- */

static void set_limits(const struct layout *l, const char *name, const struct limits *lim)
{
	if (!group_exists(l, name))
		die_hint(ENOENT, "make it with `" PROG " create NAME` first", "set %s", name);
	layout_require_controllers(l, lim, 1);
	write_limits(l, name, lim);
}

/* --- 5. add and exec ---------------------------------------------------- */

/* echo PID > cgroup.procs in every hierarchy (cgroups(7)). */
static void join_group(const struct layout *l, const char *name, pid_t pid)
{
	char path[PATH_MAX], subtree[256] = "";

	for (int i = 0; i < l->nr; i++) {
		if (!l->h[i].managed)
			continue;
		group_file(l, i, name, "cgroup.subtree_control", path);
		if (l->h[i].version == 2 && file_read(path, subtree, sizeof(subtree)) > 0)
			die_hint(EBUSY, "cgroup v2 allows no processes in a group that hands "
				 "controllers to child groups: join a leaf group instead",
				 "join %s (its cgroup.subtree_control is \"%s\")", name, subtree);
		group_file(l, i, name, "cgroup.procs", path);
		int r = file_writef(path, "%d", (int)pid);
		if (r < 0)
			die_hint(-r, -r == ENOENT ? "no such group: make it with `" PROG
				 " create NAME` first" : NULL, "move %d into %s", (int)pid, path);
	}
}

static void add_members(const struct layout *l, const char *name, char **pids, int n)
{
	for (int i = 0; i < n; i++) {
		pid_t pid;

		parse_pid(pids[i], &pid);   /* checked in step 1 */
		join_group(l, name, pid);
	}
}

/* Join, then become CMD: it keeps our PID, so it is in the group from its
 * first instruction, and its children are born there. */
static void __attribute__((noreturn)) exec_in_group(const struct layout *l, const char *name,
						     char **cmd)
{
	join_group(l, name, getpid());
	int r = traced_execvp("the group's limits now bind it and its children", cmd);
	die_status(exit_status_from_exec_error(-r), -r, NULL, "exec %s", cmd[0]);
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct layout layout;

	tuna_set_prog(PROG);
	/* 1. The whole command line, before anything is touched (options.c). */
	parse_command_line(argc, argv, &opt);
	if (opt.help || opt.version) {
		if (opt.help)
			usage(stdout);
		else
			printf(PROG " (tuna) " TUNA_VERSION "\n");
		return 0;
	}

	/* 2. The hierarchies: v1, v2 or hybrid, and where each controller is. */
	layout_detect(&layout, opt.root, opt.root_given);

	switch (opt.command) {
	case CMD_CREATE:   /* 3. mkdir in every hierarchy, then the limits */
		create_group(&layout, opt.name, &opt.lim);
		break;
	case CMD_SET:      /* 4. the same limit files, in a group that exists */
		set_limits(&layout, opt.name, &opt.lim);
		break;
	case CMD_ADD:      /* 5. echo PID > cgroup.procs in each hierarchy */
		add_members(&layout, opt.name, opt.args, opt.nargs);
		break;
	case CMD_EXEC:
		exec_in_group(&layout, opt.name, opt.args);
	case CMD_INFO:     /* 6. read it back (report.c) */
		print_info(&layout, opt.json);
		break;
	case CMD_STAT:
		if (!group_exists(&layout, opt.name))
			die_err(ENOENT, "stat %s", opt.name);
		print_stat(&layout, opt.name, opt.json);
		break;
	case CMD_DELETE:   /* 7. rmdir in every hierarchy (delete.c) */
		delete_group(&layout, opt.name, opt.kill);
		break;
	case CMD_COUNT:
		break;
	}
	undo_forget();
	return 0;
}

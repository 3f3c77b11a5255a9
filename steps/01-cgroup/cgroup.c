/*
 * 01-cgroup - control groups by hand: mkdir, echo, rmdir.
 *
 * A control group is a directory in a cgroup file system.  The kernel fills
 * a new directory with files; writing a number into one sets a limit
 * (cpu.cfs_quota_us, memory.limit_in_bytes), writing a PID into cgroup.procs
 * moves that process in, and rmdir removes the group once it is empty.  The
 * post does exactly this with mkdir and echo (v1) and with cgcreate and
 * cgclassify (v2); this tool does it with the same calls, and with
 * --explain prints each one next to the post's shell command.
 *
 * v1 has one hierarchy per controller (/sys/fs/cgroup/cpu, .../memory), so
 * a group is a directory in each, and a process joins each.  v2 has one
 * hierarchy; a parent must hand its controllers down through
 * cgroup.subtree_control, and may then hold no processes itself.  This
 * machine is hybrid: v1 for cpu, cpuacct, memory, pids; cgroup2 beside them
 * with none of those.
 *
 * Siblings a first reading can skip: hierarchy.c (which layout this is, v2's
 * subtree_control, the counters), limits.c (each limit's v1 and v2 file),
 * members.c (cgroup.procs and delete --kill), report.c (info/stat output).
 *
 * --cpu 20% means 20% of one CPU: a quota of 20000 µs in every 100000 µs
 * period.  The post's `echo 20 > cpu.cfs_quota_us` asks for 20 µs, which
 * the kernel refuses (minimum 1000 µs), so the group stays unlimited.
 *
 * Syscalls: statfs(2), mkdir(2), rmdir(2), open/read/write(2) on cgroupfs,
 * kill(2), execvp(3).  Man pages: cgroups(7), proc(5); kernel docs:
 * admin-guide/cgroup-v1/{cgroups,memory}.rst, admin-guide/cgroup-v2.rst,
 * scheduler/sched-bwc.rst.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "cgroup.h"

#define DEFAULT_ROOT "/sys/fs/cgroup"
#define MAX_NAME_LEN 1024                /* room under PATH_MAX for the mount */
#define EXIT_CANNOT_RUN 126              /* env(1)'s statuses for exec */
#define EXIT_NOT_FOUND 127

struct options {
	const char *root;
	int root_given, json, kill;
	struct limits lim;
};

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

static void parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
		{ "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "swap", required_argument, NULL, OPT_SWAP },
		{ "pids", required_argument, NULL, OPT_PIDS },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "kill", no_argument, NULL, OPT_KILL },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c, percent_given = 0, quota_given = 0;

	opt->root = DEFAULT_ROOT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":xh", longopts, NULL)) != -1) {
		if (c >= OPT_CPU && c <= OPT_PIDS) {
			percent_given |= c == OPT_CPU;
			quota_given |= c == OPT_CPU_QUOTA;
			if (percent_given && quota_given)
				die_usage("--cpu and --cpu-quota say the same thing: give one");
			parse_limit_option(c, optarg, &opt->lim);
			continue;
		}
		switch (c) {
		case OPT_ROOT:
			opt->root = optarg;
			opt->root_given = 1;
			break;
		case OPT_JSON:
			opt->json = 1;
			break;
		case OPT_KILL:
			opt->kill = 1;
			break;
		case 'x':
			explain_enabled = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf(PROG " (tuna) " TUNA_VERSION "\n");
			exit(0);
		case ':':
			die_usage("option '%s' needs an argument", argv[optind - 1]);
		default:
			die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	finish_limits(&opt->lim);
}

/*
 * NAME is a path below each hierarchy's root, and must stay there: no
 * absolute path, no "." or "..", no empty component ("a//b", "a/").
 * Checked before anything is touched.
 */
static void check_group_name(const char *name)
{
	const char *p = name;

	if (*name == '\0')
		die_usage("the group name is empty");
	/* Not printed: a newline in it would split this one-line error.  The
	 * kernel refuses '\n' in a cgroup name (cgroup_mkdir), and the other
	 * control characters would garble every listing. */
	for (p = name; *p; p++)
		if (iscntrl((unsigned char)*p))
			die_usage("the group name has a control character (a newline, a tab...)");
	p = name;
	if (*name == '/')
		die_usage("group '%s': give a path relative to the hierarchy root (e.g. lab/ctr)",
			  name);
	if (strlen(name) > MAX_NAME_LEN)
		die_usage("group '%.40s...': longer than %d bytes", name, MAX_NAME_LEN);
	for (;;) {
		size_t len = strcspn(p, "/");

		if (len == 0)
			die_usage("group '%s': empty path component", name);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			die_usage("group '%s': '.' and '..' are not group names", name);
		if (len > NAME_MAX)
			die_usage("group '%s': a component is longer than %d bytes", name, NAME_MAX);
		if (p[len] == '\0')
			return;
		p += len + 1;
	}
}

/* The undo of a mkdir this run made. */
static void remove_dir(void *path)
{
	int r = rmdir(path);

	explain_call(r, r < 0 ? errno : 0, "rmdir: undo", "rmdir(\"%s\")", (char *)path);
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
			int r = mkdir(dir, 0755);
			snprintf(shell, sizeof(shell), "mkdir %s", dir);
			explain_call(r, r < 0 ? errno : 0, shell, "mkdir(\"%s\", 0755)", dir);
			if (r == 0)
				undo_push(remove_dir, strdup(dir));
			else if (errno != EEXIST || name[end] == '\0')
				die_with_hint(errno, errno == EEXIST ? "the group exists: change its "
					      "limits with `" PROG " set NAME LIMITS`" : NULL,
					      "mkdir %s", dir);
			if (name[end] == '\0')
				break;
			memcpy(parent, dir, sizeof(parent));
		}
	}
}

/* Write PID into cgroup.procs in every hierarchy (cgroups(7)). */
static void join_group(const struct layout *l, const char *name, pid_t pid)
{
	char path[PATH_MAX], subtree[256] = "";

	for (int i = 0; i < l->nr; i++) {
		if (!l->h[i].managed)
			continue;
		group_file(l, i, name, "cgroup.subtree_control", path);
		if (l->h[i].version == 2 && file_read(path, subtree, sizeof(subtree)) > 0)
			die_with_hint(EBUSY, "cgroup v2 allows no processes in a group that hands "
				      "controllers to child groups: join a leaf group instead",
				      "join %s (its cgroup.subtree_control is \"%s\")", name, subtree);
		group_file(l, i, name, "cgroup.procs", path);
		int r = file_writef(path, "%d", (int)pid);
		if (r < 0)
			die_with_hint(-r, -r == ENOENT ? "no such group: make it with `" PROG
				      " create NAME` first" : NULL, "move %d into %s", (int)pid, path);
	}
}

static void delete_group(const struct layout *l, const char *name, int with_kill)
{
	char dir[PATH_MAX];
	int order[MAX_HIERARCHIES], n = 0;
	pid_t *pids;
	size_t nr = group_members(l, name, &pids);

	if (!group_exists(l, name))
		die_err(ENOENT, "delete %s", name);
	if (with_kill)
		kill_group(l, name);
	/* Busy hierarchies first: a refusal then comes before any rmdir worked. */
	for (int busy = 1; busy >= 0; busy--)
		for (int i = 0; i < l->nr; i++)
			if (l->h[i].managed && group_is_busy(l, i, name) == busy)
				order[n++] = i;
	for (int k = 0; k < n; k++) {
		group_dir(l, order[k], name, dir);
		if (!path_exists(dir))
			continue;
		if (with_kill) {
			remove_subtree(dir);
			continue;
		}
		/* No --kill: let the kernel answer; EBUSY while members remain. */
		int r = rmdir(dir);
		explain_call(r, r < 0 ? errno : 0, "rmdir (the post: cgdelete)", "rmdir(\"%s\")",
			     dir);
		if (r < 0 && errno == EBUSY && nr) {
			warn_msg("rmdir %s: %s", dir, strerror(EBUSY));
			hint("the group still has %zu member(s) (PID %d%s): stop them, or kill them "
			     "and remove the group with `" PROG " delete %s --kill`", nr,
			     (int)pids[0], nr > 1 ? " ..." : "", name);
			exit(EXIT_REFUSED);
		}
		if (r < 0)
			die_with_hint(errno, errno == EBUSY ? "the group has child groups: delete "
				      "them first, or the whole subtree with --kill" : NULL,
				      "rmdir %s", dir);
	}
	free(pids);
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct layout layout;
	const char *command, *name = NULL;
	char **rest;
	int nrest, dashdash = 0;

	tuna_set_prog(PROG);
	for (int i = 1; i < argc && !dashdash; i++)
		dashdash = strcmp(argv[i], "--") == 0;
	parse_options(argc, argv, &opt);
	if (optind >= argc)
		die_usage("no command given (see --help)");
	command = argv[optind];
	rest = argv + optind + 1;
	nrest = argc - optind - 1;

	/* 1. Check the command line whole before anything is touched. */
	int is_info = strcmp(command, "info") == 0, is_stat = strcmp(command, "stat") == 0;
	int is_create = strcmp(command, "create") == 0, is_set = strcmp(command, "set") == 0;
	int is_add = strcmp(command, "add") == 0, is_exec = strcmp(command, "exec") == 0;
	int is_delete = strcmp(command, "delete") == 0;
	int has_limits = opt.lim.has_cpu || opt.lim.has_memory || opt.lim.has_swap ||
		opt.lim.has_pids;

	if (!(is_info || is_stat || is_create || is_set || is_add || is_exec || is_delete))
		die_usage("unknown command '%s' (see --help)", command);
	if (!is_info) {
		if (nrest < 1)
			die_usage("%s: which group? (a NAME such as lab/ctr)", command);
		name = rest[0];
		check_group_name(name);
		rest++;
		nrest--;
	}
	if (has_limits && !is_create && !is_set)
		die_usage("%s takes no limits: they go with create or set", command);
	if (is_set && !has_limits)
		die_usage("set: which limits? (--cpu, --memory, --swap, --pids)");
	if (opt.json && !is_info && !is_stat)
		die_usage("--json goes with info or stat");
	if (opt.kill && !is_delete)
		die_usage("--kill goes with delete");
	if (is_exec && (!dashdash || nrest < 1))
		die_usage("exec: give the command after --: exec NAME -- CMD [ARGS]");
	if (is_add && nrest < 1)
		die_usage("add: which PIDs?");
	if (!is_exec && !is_add && nrest > 0)
		die_usage("unexpected argument '%s' (see --help)", rest[0]);
	for (int i = 0; is_add && i < nrest; i++) {
		pid_t pid;

		if (parse_pid(rest[i], &pid) < 0)
			die_usage("add: '%s' is not a PID", rest[i]);
	}

	/* 2. Find the hierarchies: v1, v2 or hybrid, and where each controller is. */
	layout_detect(&layout, opt.root, opt.root_given);
	if (is_info) {
		print_info(&layout, opt.json);
		return 0;
	}

	/* 3. create: mkdir in every hierarchy, then write the limits. */
	if (is_create) {
		check_limits_possible(&layout, &opt.lim, opt.lim.has_memory);
		make_group(&layout, name);
		write_limits(&layout, name, &opt.lim);
	}

	/* 4. set: the same files, in a group that exists. */
	if (is_set) {
		if (!group_exists(&layout, name))
			die_with_hint(ENOENT, "make it with `" PROG " create NAME` first", "set %s",
				      name);
		check_limits_possible(&layout, &opt.lim, 1);
		write_limits(&layout, name, &opt.lim);
	}

	/* 5. add and exec: echo PID > cgroup.procs in each hierarchy. */
	for (int i = 0; is_add && i < nrest; i++) {
		pid_t pid;

		parse_pid(rest[i], &pid);
		join_group(&layout, name, pid);
	}
	if (is_exec) {
		join_group(&layout, name, getpid());
		explain_note("execvp(\"%s\", ...)   # the group's limits now bind it and "
			     "its children", rest[0]);
		execvp(rest[0], rest);
		int err = errno;
		warn_msg("exec %s: %s", rest[0], strerror(err));
		return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
	}

	/* 6. stat: read the counters back. */
	if (is_stat) {
		struct group_stat st;
		pid_t *pids;
		size_t nr;

		if (!group_exists(&layout, name))
			die_err(ENOENT, "stat %s", name);
		read_group_stat(&layout, name, &st);
		nr = group_members(&layout, name, &pids);
		print_stat(&layout, name, &st, pids, nr, opt.json);
		free(pids);
	}

	/* 7. delete: rmdir in every hierarchy (after killing, with --kill). */
	if (is_delete)
		delete_group(&layout, name, opt.kill);
	undo_forget();
	return 0;
}

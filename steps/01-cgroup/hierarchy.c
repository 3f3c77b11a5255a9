/*
 * hierarchy.c - where the controllers live, v2's cgroup.subtree_control,
 * and the counters `stat` reads.
 *
 * A reader can skip this file on a first pass: cgroup.c says what is done
 * (mkdir, write a limit, join, rmdir); this file finds out whether this
 * machine has v1, v2 or both, hands v2 controllers down to a new group,
 * and knows that v1 counts CPU time in cpuacct.usage (ns) where v2 has
 * cpu.stat's usage_usec (µs).
 *
 * Detecting the layout (kernel Documentation/admin-guide/cgroup-v2.rst,
 * "Mounting"; man cgroups(7)):
 *   statfs(ROOT).f_type == CGROUP2_SUPER_MAGIC  pure v2: one hierarchy
 *                       == CGROUP_SUPER_MAGIC   ROOT is one v1 hierarchy
 *                       == TMPFS_MAGIC          v1 or hybrid: the hierarchies
 *                          are the cgroup and cgroup2 mounts right under ROOT
 *                          in /proc/self/mountinfo (fstype field), a v1 mount's
 *                          controllers named in its super options ("rw,cpu").
 * On a hybrid machine a controller lives where it is available: a controller
 * bound to a v1 hierarchy cannot be enabled in cgroup2 at the same time.
 *
 * --root DIR may also name a plain directory laid out like a cgroup2 tree
 * (it has cgroup.controllers).  Nothing is enforced there, no kernel is
 * involved; it exists so the v2 code paths can be read and tested on a
 * machine whose controllers are all bound to v1.  Only an explicit --root is
 * taken that way, never the default /sys/fs/cgroup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "tuna.h"
#include "cgroup.h"

#define MOUNTINFO "/proc/self/mountinfo"
/* v1 reads "no limit" back as PAGE_COUNTER_MAX pages: 9223372036854771712. */
#define V1_UNLIMITED_MIN (1ull << 62)
#define NSEC_PER_USEC 1000ull            /* v1 counts CPU time in ns */

const char *const controller_names[CTRL_COUNT] = { "cpu", "cpuacct", "memory", "pids" };

void die_with_hint(int err, const char *hint_text, const char *fmt, ...)
{
	char what[PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	warn_msg("%s: %s", what, strerror(err));
	if (hint_text)
		hint("%s", hint_text);
	undo_run();
	exit(EXIT_REFUSED);
}

/* "cpu,cpuacct" or "cpu memory pids" -> the CTRL_BIT()s of ours in it. */
static unsigned managed_in(const char *list)
{
	char copy[256], *save = NULL;
	unsigned bits = 0;

	snprintf(copy, sizeof(copy), "%s", list);
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		for (int c = 0; c < CTRL_COUNT; c++)
			if (strcmp(t, controller_names[c]) == 0)
				bits |= CTRL_BIT(c);
	return bits;
}

static void add_hierarchy(struct layout *l, const char *path, int version,
			  const char *controllers)
{
	struct hierarchy *h;

	if (l->nr == MAX_HIERARCHIES)
		die("more than %d cgroup hierarchies under %s", MAX_HIERARCHIES, l->root);
	h = &l->h[l->nr++];
	snprintf(h->path, sizeof(h->path), "%s", path);
	h->version = version;
	snprintf(h->controllers, sizeof(h->controllers), "%s", controllers);
	h->managed = managed_in(controllers);
}

/* cgroup2 lists the controllers it can offer in the root's cgroup.controllers. */
static void add_v2(struct layout *l, const char *path)
{
	char file[PATH_MAX + 32], controllers[256];
	int r;

	snprintf(file, sizeof(file), "%s/cgroup.controllers", path);
	r = file_read(file, controllers, sizeof(controllers));
	if (r < 0)
		die_err(-r, "read %s", file);
	add_hierarchy(l, path, 2, controllers);
}

/*
 * The v1 super options "rw,cpu,cpuacct" name the controllers (and
 * "name=systemd" a named hierarchy); keep them space-separated like v2's.
 */
static void add_v1(struct layout *l, const char *path, const char *super_options)
{
	char copy[256], list[256] = "", *save = NULL;

	snprintf(copy, sizeof(copy), "%s", super_options);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "rw") == 0 || strcmp(t, "ro") == 0)
			continue;
		if (list[0])
			strncat(list, " ", sizeof(list) - strlen(list) - 1);
		strncat(list, t, sizeof(list) - strlen(list) - 1);
	}
	add_hierarchy(l, path, 1, list);
}

/*
 * Each mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] -
 * FSTYPE SOURCE SUPER_OPTIONS (proc(5)).  Take the cgroup mounts AT root
 * (exact) or directly UNDER it.
 */
static void scan_mountinfo(struct layout *l, int exact)
{
	char line[4096];
	FILE *f = fopen(MOUNTINFO, "re");

	if (!f)
		die_errno("open %s", MOUNTINFO);
	explain_call(fileno(f), 0, "cat /proc/self/mountinfo", "open(\"%s\", O_RDONLY)",
		     MOUNTINFO);
	while (fgets(line, sizeof(line), f)) {
		char *field[32], *save = NULL, *slash;
		int n = 0, dash = -1;

		for (char *t = strtok_r(line, " \n", &save); t && n < 32;
		     t = strtok_r(NULL, " \n", &save)) {
			if (dash < 0 && n > 5 && strcmp(t, "-") == 0)
				dash = n;
			field[n++] = t;
		}
		if (dash < 0 || dash + 3 >= n)
			continue;
		slash = strrchr(field[4], '/');
		if (exact ? strcmp(field[4], l->root) != 0 :
		    !slash || strncmp(field[4], l->root, (size_t)(slash - field[4])) != 0 ||
		    l->root[slash - field[4]] != '\0')
			continue;
		if (strcmp(field[dash + 1], "cgroup2") == 0)
			add_v2(l, field[4]);
		else if (strcmp(field[dash + 1], "cgroup") == 0)
			add_v1(l, field[4], field[dash + 3]);
	}
	fclose(f);
}

static const char *magic_name(long magic)
{
	static char other[32];

	switch ((unsigned long)magic) {
	case CGROUP2_SUPER_MAGIC: return "CGROUP2_SUPER_MAGIC";
	case CGROUP_SUPER_MAGIC: return "CGROUP_SUPER_MAGIC";
	case TMPFS_MAGIC: return "TMPFS_MAGIC";
	}
	snprintf(other, sizeof(other), "%#lx", (unsigned long)magic);
	return other;
}

void layout_detect(struct layout *l, const char *root, int root_given)
{
	struct statfs st;
	char probe[PATH_MAX + 32];
	int v1 = 0, v2 = 0;

	memset(l, 0, sizeof(*l));
	if (!realpath(root, l->root))
		die_errno("cgroup root %s", root);
	if (statfs(l->root, &st) < 0)
		die_errno("statfs %s", l->root);
	snprintf(probe, sizeof(probe), "stat -f -c %%T %s", l->root);
	explain_call(0, 0, probe, "statfs(\"%s\", {f_type=%s})", l->root,
		     magic_name((long)st.f_type));
	if ((unsigned long)st.f_type == CGROUP2_SUPER_MAGIC)
		add_v2(l, l->root);
	else if ((unsigned long)st.f_type == CGROUP_SUPER_MAGIC)
		scan_mountinfo(l, 1);
	else if ((unsigned long)st.f_type == TMPFS_MAGIC)
		scan_mountinfo(l, 0);

	/* Step 1b: a plain directory laid out like cgroup2, only when asked. */
	snprintf(probe, sizeof(probe), "%s/cgroup.controllers", l->root);
	if (l->nr == 0 && root_given && path_exists(probe)) {
		l->plain_directory = 1;
		add_v2(l, l->root);
		explain_note("# %s is not cgroupfs: a plain directory laid out like cgroup2; "
			     "files are written, nothing is enforced", l->root);
	}
	if (l->nr == 0) {
		warn_msg("%s: no cgroup hierarchy here (statfs says %s, and no cgroup "
			 "mount is under it)", l->root, magic_name((long)st.f_type));
		hint("--root takes a cgroup2 mount, a v1 hierarchy, the tmpfs holding "
		     "v1 mounts, or a directory laid out like cgroup2 (with cgroup.controllers)");
		exit(EXIT_REFUSED);
	}

	/* Step 1c: where each controller lives; v1 first, as the kernel binds it. */
	for (int c = 0; c < CTRL_COUNT; c++) {
		l->where[c] = -1;
		for (int pass = 1; pass <= 2 && l->where[c] < 0; pass++)
			for (int i = 0; i < l->nr; i++)
				if (l->h[i].version == pass && (l->h[i].managed & CTRL_BIT(c))) {
					l->where[c] = i;
					break;
				}
	}
	for (int i = 0; i < l->nr; i++) {
		/* v2 has no cpuacct: cpu.stat's usage_usec is in every group. */
		if (l->where[CTRL_CPUACCT] < 0 && l->h[i].version == 2)
			l->where[CTRL_CPUACCT] = i;
		v1 += l->h[i].version == 1;
		v2 += l->h[i].version == 2;
	}
	for (int i = 0; i < l->nr; i++) {
		l->h[i].managed = 0;
		for (int c = 0; c < CTRL_COUNT; c++)
			if (l->where[c] == i)
				l->h[i].managed |= CTRL_BIT(c);
	}
	l->mode = v1 && v2 ? "hybrid" : v2 ? "v2" : "v1";
}

/* ROOT/NAME in hierarchy HIER; names are checked to fit before this. */
void group_dir(const struct layout *l, int hier, const char *name, char *out)
{
	if (snprintf(out, PATH_MAX, "%s/%s", l->h[hier].path, name) >= PATH_MAX)
		die_usage("group name too long: %s", name);
}

void group_file(const struct layout *l, int hier, const char *name,
		const char *file, char *out)
{
	if (snprintf(out, PATH_MAX, "%s/%s/%s", l->h[hier].path, name, file) >= PATH_MAX)
		die_usage("group name too long: %s", name);
}

int group_exists(const struct layout *l, const char *name)
{
	char dir[PATH_MAX];

	for (int i = 0; i < l->nr; i++) {
		if (!l->h[i].managed)
			continue;
		group_dir(l, i, name, dir);
		if (path_exists(dir))
			return 1;
	}
	return 0;
}

/* "max", v1's "-1" and v1's huge "no limit" all read as LIMIT_MAX. */
uint64_t read_limit(const char *path)
{
	char buf[64];
	uint64_t v;

	if (file_read(path, buf, sizeof(buf)) < 0)
		return VALUE_UNKNOWN;
	if (strcmp(buf, "max") == 0 || strcmp(buf, "-1") == 0)
		return LIMIT_MAX;
	if (parse_u64(buf, 0, UINT64_MAX, &v) < 0)
		return VALUE_UNKNOWN;
	return v >= V1_UNLIMITED_MIN ? LIMIT_MAX : v;
}

struct subtree_undo {
	char file[PATH_MAX];
	char text[64];
};

static void undo_subtree_control(void *arg)
{
	struct subtree_undo *u = arg;

	file_write(u->file, u->text);
}

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
 * controllers in cgroup.subtree_control.  A non-root parent that does so
 * may hold no processes itself ("no internal processes", cgroup-v2.rst).
 */
void enable_controllers(const struct layout *l, int hier, const char *parent,
			int parent_is_root)
{
	static const char *no_internal =
		"cgroup v2 allows no processes in a group that hands controllers to child "
		"groups: move them into a child (leaf) group first";
	struct subtree_undo *u = calloc(1, sizeof(*u));
	char current[256] = "", procs[PATH_MAX + 16], wanted[64] = "";

	if (!u)
		die_errno("calloc");
	if (snprintf(u->file, sizeof(u->file), "%s/cgroup.subtree_control", parent) >=
	    (int)sizeof(u->file))
		die_usage("path too long: %s", parent);
	file_read(u->file, current, sizeof(current));
	for (int c = 0; c < CTRL_COUNT; c++) {
		if (l->where[c] != hier || c == CTRL_CPUACCT || has_word(current, controller_names[c]))
			continue;
		snprintf(wanted + strlen(wanted), sizeof(wanted) - strlen(wanted), "%s+%s",
			 wanted[0] ? " " : "", controller_names[c]);
		snprintf(u->text + strlen(u->text), sizeof(u->text) - strlen(u->text), "%s-%s",
			 u->text[0] ? " " : "", controller_names[c]);
	}
	if (!wanted[0]) {
		free(u);
		return;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", parent);
	if (!parent_is_root && file_read(procs, current, sizeof(current)) > 0)
		die_with_hint(EBUSY, no_internal, "enable %s in %s (it has processes)", wanted,
			      u->file);
	int r = file_write(u->file, wanted);
	if (r < 0)
		die_with_hint(-r, -r == EBUSY ? no_internal : NULL, "write %s to %s", wanted,
			      u->file);
	undo_push(undo_subtree_control, u);
}

static uint64_t read_number(const char *path)
{
	uint64_t v;

	return file_read_u64(path, &v) < 0 ? VALUE_UNKNOWN : v;
}

static uint64_t read_key(const char *path, const char *key)
{
	uint64_t v;

	return file_read_key_u64(path, key, &v) < 0 ? VALUE_UNKNOWN : v;
}

static uint64_t ns_to_us(uint64_t ns)
{
	return ns == VALUE_UNKNOWN ? ns : ns / NSEC_PER_USEC;
}

/* Every counter `stat` shows, in the units the lesson uses: µs and bytes. */
void read_group_stat(const struct layout *l, const char *name, struct group_stat *st)
{
	int cpu = l->where[CTRL_CPU], acct = l->where[CTRL_CPUACCT];
	int memory = l->where[CTRL_MEMORY], pids = l->where[CTRL_PIDS];
	char path[PATH_MAX], buf[64];

	/* every field is a uint64_t: "unknown" until its file is read */
	for (size_t f = 0; f < sizeof(*st) / sizeof(uint64_t); f++)
		((uint64_t *)st)[f] = VALUE_UNKNOWN;
	if (cpu >= 0 && l->h[cpu].version == 1) {
		group_file(l, cpu, name, "cpu.cfs_quota_us", path);
		st->cpu_quota_us = read_limit(path);
		group_file(l, cpu, name, "cpu.cfs_period_us", path);
		st->cpu_period_us = read_number(path);
	} else if (cpu >= 0) {
		group_file(l, cpu, name, "cpu.max", path);
		if (file_read(path, buf, sizeof(buf)) >= 0 && strchr(buf, ' ')) {
			char *period = strchr(buf, ' ');

			*period++ = '\0';
			st->cpu_quota_us = strcmp(buf, "max") == 0 ? LIMIT_MAX :
				strtoull(buf, NULL, 10);
			st->cpu_period_us = strtoull(period, NULL, 10);
		}
	}
	if (cpu >= 0) {
		int v1 = l->h[cpu].version == 1;

		group_file(l, cpu, name, "cpu.stat", path);
		st->nr_periods = read_key(path, "nr_periods");
		st->nr_throttled = read_key(path, "nr_throttled");
		/* v1 throttled_time is ns, v2 throttled_usec is µs */
		st->throttled_us = v1 ? ns_to_us(read_key(path, "throttled_time")) :
			read_key(path, "throttled_usec");
	}
	if (acct >= 0 && l->h[acct].version == 1) {
		group_file(l, acct, name, "cpuacct.usage", path);
		st->cpu_usage_us = ns_to_us(read_number(path));
	} else if (acct >= 0) {
		group_file(l, acct, name, "cpu.stat", path);
		st->cpu_usage_us = read_key(path, "usage_usec");
	}
	if (memory >= 0 && l->h[memory].version == 1) {
		uint64_t memsw;

		group_file(l, memory, name, "memory.limit_in_bytes", path);
		st->memory_limit = read_limit(path);
		group_file(l, memory, name, "memory.memsw.limit_in_bytes", path);
		memsw = read_limit(path);
		st->swap_limit = memsw == LIMIT_MAX || memsw == VALUE_UNKNOWN ||
			st->memory_limit >= VALUE_UNKNOWN ? memsw : memsw - st->memory_limit;
		group_file(l, memory, name, "memory.usage_in_bytes", path);
		st->memory_current = read_number(path);
		group_file(l, memory, name, "memory.max_usage_in_bytes", path);
		st->memory_peak = read_number(path);
		group_file(l, memory, name, "memory.oom_control", path);
		st->oom_kills = read_key(path, "oom_kill");
	} else if (memory >= 0) {
		group_file(l, memory, name, "memory.max", path);
		st->memory_limit = read_limit(path);
		group_file(l, memory, name, "memory.swap.max", path);
		st->swap_limit = read_limit(path);
		group_file(l, memory, name, "memory.current", path);
		st->memory_current = read_number(path);
		group_file(l, memory, name, "memory.peak", path);
		st->memory_peak = read_number(path);
		group_file(l, memory, name, "memory.events", path);
		st->oom_kills = read_key(path, "oom_kill");
	}
	if (pids >= 0) {
		group_file(l, pids, name, "pids.max", path);
		st->pids_limit = read_limit(path);
		group_file(l, pids, name, "pids.current", path);
		st->pids_current = read_number(path);
	}
}

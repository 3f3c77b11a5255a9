/*
 * hierarchy.c - which cgroup layout this machine has, and where each
 * controller lives.  A first reading can skip this file: cgroup.c only
 * needs to know, for each controller, the directory of its hierarchy and
 * whether that is v1 or v2.
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
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "tuna.h"
#include "cgroup.h"

#define MOUNTINFO "/proc/self/mountinfo"

const char *const controller_names[CTRL_COUNT] = { "cpu", "cpuacct", "memory", "pids" };

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

struct scan {
	struct layout *layout;
	int exact;                /* mounts AT the root, or directly UNDER it */
};

/* One mountinfo entry (common/mountinfo.h): a cgroup mount we want? */
static int take_cgroup_mount(const struct mount_entry *m, void *arg)
{
	const struct scan *scan = arg;
	const char *root = scan->layout->root, *slash = strrchr(m->mount_point, '/');

	if (scan->exact ? strcmp(m->mount_point, root) != 0 :
	    !slash || strncmp(m->mount_point, root, (size_t)(slash - m->mount_point)) != 0 ||
	    root[slash - m->mount_point] != '\0')
		return 0;
	if (strcmp(m->fstype, "cgroup2") == 0)
		add_v2(scan->layout, m->mount_point);
	else if (strcmp(m->fstype, "cgroup") == 0)
		add_v1(scan->layout, m->mount_point, m->super_options);
	return 0;
}

static void scan_mountinfo(struct layout *l, int exact)
{
	struct scan scan = { l, exact };
	int r = mountinfo_each("cat /proc/self/mountinfo", take_cgroup_mount, &scan);

	if (r < 0)
		die_err(-r, "read " MOUNTINFO);
}

void layout_detect(struct layout *l, const char *root, int root_given)
{
	struct statfs st;
	char probe[PATH_MAX + 32];
	char magic[32];
	int v1 = 0, v2 = 0, r;

	memset(l, 0, sizeof(*l));
	if (!realpath(root, l->root))
		die_errno("cgroup root %s", root);
	snprintf(probe, sizeof(probe), "stat -f -c %%T %s", l->root);
	if ((r = traced_statfs(probe, l->root, &st)) < 0)
		die_err(-r, "statfs %s", l->root);
	if ((unsigned long)st.f_type == CGROUP2_SUPER_MAGIC)
		add_v2(l, l->root);
	else if ((unsigned long)st.f_type == CGROUP_SUPER_MAGIC)
		scan_mountinfo(l, 1);
	else if ((unsigned long)st.f_type == TMPFS_MAGIC)
		scan_mountinfo(l, 0);

	/* A plain directory laid out like cgroup2, only when asked. */
	snprintf(probe, sizeof(probe), "%s/cgroup.controllers", l->root);
	if (l->nr == 0 && root_given && path_exists(probe)) {
		l->plain_directory = 1;
		add_v2(l, l->root);
		explain_note("# %s is not cgroupfs: a plain directory laid out like cgroup2; "
			     "files are written, nothing is enforced", l->root);
	}
	if (l->nr == 0)
		die_hint(0, "--root takes a cgroup2 mount, a v1 hierarchy, the tmpfs holding "
			 "v1 mounts, or a directory laid out like cgroup2 (with cgroup.controllers)",
			 "%s: no cgroup hierarchy here (statfs says %s, and no cgroup mount is "
			 "under it)", l->root, trace_fs_magic(magic, sizeof(magic),
							   (unsigned long)st.f_type));

	/* Where each controller lives; v1 first, as the kernel binds it. */
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


/*
 * Before anything is touched: can this layout hold these limits at all?
 * MEMORY_KNOWN says whether the group will have a memory limit to add swap
 * to (v1's memsw is memory+swap).
 */
void layout_require_controllers(const struct layout *l, const struct limits *lim,
				int memory_known)
{
	static const char *bound_to_v1 =
		"on a hybrid machine a controller bound to a v1 hierarchy is missing from "
		"cgroup2: use the default --root, or boot with cgroup_no_v1=all";
	const char *why = strcmp(l->mode, "v1") == 0 ? "this --root holds other controllers: "
		"see `" PROG " --root DIR info`; the default /sys/fs/cgroup has them all" :
		bound_to_v1;
	char probe[PATH_MAX + 64];
	int memory = l->where[CTRL_MEMORY];

	if (lim->has_cpu && l->where[CTRL_CPU] < 0)
		die_hint(ENOENT, why, "--cpu: no cpu controller under %s", l->root);
	if ((lim->has_memory || lim->has_swap) && memory < 0)
		die_hint(ENOENT, why, "--memory: no memory controller under %s", l->root);
	if (lim->has_pids && l->where[CTRL_PIDS] < 0)
		die_hint(ENOENT, why, "--pids: no pids controller under %s", l->root);
	if (!lim->has_swap || l->h[memory].version != 1)
		return;
	snprintf(probe, sizeof(probe), "%s/memory.memsw.limit_in_bytes", l->h[memory].path);
	if (!path_exists(probe))
		die_hint(ENOENT, "this kernel does not account swap per cgroup "
			 "(CONFIG_MEMCG_SWAP, swapaccount=1): without swap accounting "
			 "only --memory can be limited", "--swap: %s", probe);
	if (!memory_known)
		die_usage("--swap: on cgroup v1 swap is limited as memory+swap "
			  "(memory.memsw.limit_in_bytes), so it needs --memory as well");
}

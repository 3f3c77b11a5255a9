/*
 * cgroup.h - what 01-cgroup's files share.  Private to this step.
 *
 *   cgroup.c     the lesson: create, set, add, exec, delete, main()
 *   options.c    the command line, checked whole               (skippable)
 *   hierarchy.c  which layout this machine has (v1, v2 or hybrid) and where
 *                each controller lives                        (skippable)
 *   report.c     what info and stat read and print, --json    (skippable)
 *   delete.c     who is in a group, and removing it (--kill)  (skippable)
 *   devices.c    --devices: v1 devices.allow/deny, v2 a BPF device program
 *
 * Calls go one way: cgroup.c calls the siblings; a sibling calls common/,
 * the inline helpers below and, report.c only, delete.c's list of PIDs.
 *
 * The controllers the tool manages are the four the post needs: cpu (the
 * quota), cpuacct (CPU usage; on v2 it is cpu.stat in every group), memory
 * and pids; and devices (v1 a controller, v2 a BPF program on any group).
 */
#ifndef CGROUP_STEP_H
#define CGROUP_STEP_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "tuna.h"

#define PROG "01-cgroup"
#define DEFAULT_ROOT "/sys/fs/cgroup"
#define ONE_CPU_MILLI_PERCENT 100000ull  /* 100% in thousandths of a percent */
#define MAX_HIERARCHIES 16           /* v1 has one per controller: ~13 */
#define LIMIT_MAX UINT64_MAX         /* "max": no limit */
#define VALUE_UNKNOWN (UINT64_MAX - 1) /* the file is not there */
/* v1 reads "no limit" back as PAGE_COUNTER_MAX pages: 9223372036854771712. */
#define V1_UNLIMITED_MIN (1ull << 62)

enum controller { CTRL_CPU, CTRL_CPUACCT, CTRL_MEMORY, CTRL_PIDS, CTRL_DEVICES, CTRL_COUNT };
#define CTRL_BIT(c) (1u << (c))

extern const char *const controller_names[CTRL_COUNT];

/* One mounted hierarchy: a v1 mount (one or more controllers) or cgroup2. */
struct hierarchy {
	char path[PATH_MAX];
	int version;              /* 1 or 2 */
	unsigned managed;         /* CTRL_BIT()s of ours that live here */
	char controllers[256];    /* every controller, as the kernel names them */
};

struct layout {
	const char *mode;         /* "v1", "v2" or "hybrid" */
	char root[PATH_MAX];
	int plain_directory;      /* --root at a directory laid out like cgroup2 */
	int nr;
	struct hierarchy h[MAX_HIERARCHIES];
	int where[CTRL_COUNT];    /* index into h[], -1 when not available */
};

/* --devices: runc's default list, or every device. */
enum device_policy { DEVICES_DEFAULT = 1, DEVICES_ALL };

/* The limits given on the command line; has_* says which were. */
struct limits {
	int has_cpu, has_memory, has_swap, has_pids, has_devices;
	int devices;                  /* enum device_policy */
	uint64_t cpu_milli_percent;   /* --cpu 20% -> 20000; 0 with --cpu-quota */
	uint64_t cpu_quota_us;        /* LIMIT_MAX for "max" */
	uint64_t cpu_period_us;
	uint64_t memory_bytes, swap_bytes, pids;
};

enum command { CMD_INFO, CMD_CREATE, CMD_SET, CMD_ADD, CMD_EXEC, CMD_STAT, CMD_DELETE,
	       CMD_COUNT };

/* The whole command line, as options.c has checked it. */
struct options {
	int help, version;       /* -h or --version: nothing else was read */
	const char *root;
	int root_given, json, kill;
	struct limits lim;
	enum command command;
	const char *name;        /* the group; NULL for info */
	char **args;             /* add: the PIDs; exec: the command */
	int nargs;
};

/* What `stat` reports; VALUE_UNKNOWN where a file is missing. */
struct group_stat {
	uint64_t cpu_quota_us, cpu_period_us;
	uint64_t cpu_usage_us, nr_periods, nr_throttled, throttled_us;
	uint64_t memory_limit, swap_limit, memory_current, memory_peak, oom_kills;
	uint64_t pids_limit, pids_current;
};

/* ROOT/NAME in hierarchy HIER; names are checked to fit before this. */
static inline void group_dir(const struct layout *l, int hier, const char *name, char *out)
{
	if (snprintf(out, PATH_MAX, "%s/%s", l->h[hier].path, name) >= PATH_MAX)
		die_usage("group name too long: %s", name);
}

/* ROOT/NAME/FILE in hierarchy HIER. */
static inline void group_file(const struct layout *l, int hier, const char *name,
			      const char *file, char *out)
{
	if (snprintf(out, PATH_MAX, "%s/%s/%s", l->h[hier].path, name, file) >= PATH_MAX)
		die_usage("group name too long: %s", name);
}

/* NAME is a directory in at least one hierarchy. */
static inline int group_exists(const struct layout *l, const char *name)
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

/* A limit file read back: "max", v1's "-1" and v1's huge "no limit" are LIMIT_MAX. */
static inline uint64_t read_limit(const char *path)
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

/* options.c: exit 2 with one line unless ARGV is a whole, sensible command. */
void parse_command_line(int argc, char **argv, struct options *opt);

/* hierarchy.c: fill L from ROOT (an explicit --root may be a plain directory). */
void layout_detect(struct layout *l, const char *root, int root_given);
/* Die, with a hint, unless L has a controller for every limit in LIM.
 * MEMORY_KNOWN: the group will have a memory limit to add v1's swap to. */
void layout_require_controllers(const struct layout *l, const struct limits *lim,
				int memory_known);

/* report.c */
void print_info(const struct layout *l, int json);
void print_stat(const struct layout *l, const char *name, int json);

/* delete.c: every PID in the group, over all hierarchies, sorted (malloc'd). */
size_t group_members(const struct layout *l, const char *name, pid_t **pids);
/* rmdir NAME everywhere; WITH_KILL: kill its members and remove its subtree. */
void delete_group(const struct layout *l, const char *name, int with_kill);

/* devices.c: the policy into NAME (v1 files, v2 a program attached);
 * devices_detach before NAME's v2 directory goes; what stat shows. */
void devices_apply(const struct layout *l, const char *name, int policy);
void devices_detach(const struct layout *l, const char *name);
const char *devices_policy(const struct layout *l, const char *name, char *buf, size_t size);

#endif

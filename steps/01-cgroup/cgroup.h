/*
 * cgroup.h - what 01-cgroup's two files share.
 *
 *   cgroup.c     the tool: names, create/set/add/exec/stat/delete, main()
 *   hierarchy.c  where the controllers live (v1, v2 or hybrid), v2's
 *                cgroup.subtree_control, and the counters `stat` reads
 *   limits.c     LIMITS on the command line, and their v1 and v2 files
 *   members.c    cgroup.procs, and delete --kill
 *   report.c     what info and stat print
 *
 * The controllers the tool manages are the four the post needs: cpu (the
 * quota), cpuacct (CPU usage; on v2 it is cpu.stat in every group), memory
 * and pids.
 */
#ifndef CGROUP_STEP_H
#define CGROUP_STEP_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG "01-cgroup"
#define MAX_HIERARCHIES 16           /* v1 has one per controller: ~13 */
#define LIMIT_MAX UINT64_MAX         /* "max": no limit */
#define VALUE_UNKNOWN (UINT64_MAX - 1) /* the file is not there */

enum controller { CTRL_CPU, CTRL_CPUACCT, CTRL_MEMORY, CTRL_PIDS, CTRL_COUNT };
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

/* getopt_long codes; the limit options are parsed in limits.c. */
enum {
	OPT_CPU = 256, OPT_CPU_QUOTA, OPT_CPU_PERIOD, OPT_MEMORY, OPT_SWAP, OPT_PIDS,
	OPT_ROOT, OPT_JSON, OPT_KILL, OPT_VERSION,
};

/* The limits given on the command line; has_* says which were. */
struct limits {
	int has_cpu, has_memory, has_swap, has_pids;
	uint64_t cpu_milli_percent;   /* --cpu 20% -> 20000; 0 with --cpu-quota */
	uint64_t cpu_quota_us;        /* LIMIT_MAX for "max" */
	uint64_t cpu_period_us;
	uint64_t memory_bytes, swap_bytes, pids;
};

/* What `stat` reports; VALUE_UNKNOWN where a file is missing. */
struct group_stat {
	uint64_t cpu_quota_us, cpu_period_us;
	uint64_t cpu_usage_us, nr_periods, nr_throttled, throttled_us;
	uint64_t memory_limit, swap_limit, memory_current, memory_peak, oom_kills;
	uint64_t pids_limit, pids_current;
};

/* "01-cgroup: WHAT: strerror(ERR)", then "hint: HINT_TEXT" (if any), undo, exit 1. */
__attribute__((noreturn, format(printf, 3, 4)))
void die_with_hint(int err, const char *hint_text, const char *fmt, ...);

/* hierarchy.c */
void layout_detect(struct layout *l, const char *root, int root_given);
void group_dir(const struct layout *l, int hier, const char *name, char *out);
void group_file(const struct layout *l, int hier, const char *name,
		const char *file, char *out);
int group_exists(const struct layout *l, const char *name);
uint64_t read_limit(const char *path);
void enable_controllers(const struct layout *l, int hier, const char *parent,
			int parent_is_root);
void read_group_stat(const struct layout *l, const char *name,
		     struct group_stat *st);

/* limits.c */
void parse_limit_option(int opt, const char *arg, struct limits *lim);
void finish_limits(struct limits *lim);
void check_limits_possible(const struct layout *l, const struct limits *lim,
			   int memory_known);
void write_limits(const struct layout *l, const char *name,
		  const struct limits *lim);

/* members.c */
size_t group_members(const struct layout *l, const char *name, pid_t **pids);
int group_is_busy(const struct layout *l, int hier, const char *name);
void kill_group(const struct layout *l, const char *name);
void remove_subtree(const char *dir);

/* report.c */
void print_info(const struct layout *l, int json);
void print_stat(const struct layout *l, const char *name, const struct group_stat *st,
		const pid_t *pids, size_t nr, int json);

#endif

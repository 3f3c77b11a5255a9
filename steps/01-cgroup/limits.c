/*
 * limits.c - reading LIMITS from the command line and writing them, in v1's
 * or v2's words.
 *
 *   limit        v1 file (unit)                         v2 file
 *   --cpu        cpu.cfs_period_us + cpu.cfs_quota_us   cpu.max "QUOTA PERIOD"
 *                (microseconds; -1 = no limit)           ("max" = no limit)
 *   --memory     memory.limit_in_bytes                   memory.max
 *   --swap       memory.memsw.limit_in_bytes (mem+swap)  memory.swap.max (swap)
 *   --pids       pids.max                                pids.max
 *
 * Sources: Documentation/scheduler/sched-bwc.rst, admin-guide/cgroup-v1/
 * memory.rst, admin-guide/cgroup-v2.rst, admin-guide/cgroup-v1/pids.rst.
 * The kernel validates every value itself; a refusal is reported with the
 * file and the kernel's reason, and a hint for the known pitfalls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tuna.h"
#include "cgroup.h"

#define DEFAULT_CPU_PERIOD_US 100000ull  /* the kernel's default period */
#define ONE_CPU_MILLI_PERCENT 100000ull  /* 100% in thousandths of a percent */
#define MAX_CPUS 1024                    /* --cpu above 102400% is a typo */
#define MIN_CPU_QUOTA_US 1000            /* the kernel's 1 ms minimum */
#define MAX_CPU_QUOTA_US UINT32_MAX      /* beyond it is a typo, not a limit */
#define PID_LIMIT_MAX 4194304            /* PID_MAX_LIMIT, 64-bit */

/* "max" is every limit's way back to unlimited, as v2 spells it. */
static int is_max(const char *arg)
{
	return strcmp(arg, "max") == 0;
}

/* One LIMITS option.  Bad input exits 2 here, before anything is touched. */
void parse_limit_option(int opt, const char *arg, struct limits *lim)
{
	switch (opt) {
	case OPT_CPU:
		lim->has_cpu = 1;
		lim->cpu_milli_percent = 0;
		if (is_max(arg))
			lim->cpu_quota_us = LIMIT_MAX;
		else if (parse_percent(arg, &lim->cpu_milli_percent) < 0)
			die_usage("--cpu '%s': not a percentage (e.g. 20%%, 150%%, max)", arg);
		else if (lim->cpu_milli_percent == 0 ||
			 lim->cpu_milli_percent > MAX_CPUS * ONE_CPU_MILLI_PERCENT)
			die_usage("--cpu '%s': must be more than 0%% and at most %d%%", arg,
				  MAX_CPUS * 100);
		break;
	case OPT_CPU_QUOTA:
		lim->has_cpu = 1;
		if (is_max(arg))
			lim->cpu_quota_us = LIMIT_MAX;
		else if (parse_u64(arg, 1, MAX_CPU_QUOTA_US, &lim->cpu_quota_us) < 0)
			die_usage("--cpu-quota '%s': not a number of microseconds", arg);
		break;
	case OPT_CPU_PERIOD:
		if (parse_u64(arg, 1, MAX_CPU_QUOTA_US, &lim->cpu_period_us) < 0)
			die_usage("--cpu-period '%s': not a number of microseconds", arg);
		break;
	case OPT_MEMORY:
		lim->has_memory = 1;
		if (is_max(arg))
			lim->memory_bytes = LIMIT_MAX;
		else if (parse_size(arg, &lim->memory_bytes) < 0 || lim->memory_bytes == 0)
			die_usage("--memory '%s': not a size (e.g. 200M, 1G, max)", arg);
		break;
	case OPT_SWAP:
		lim->has_swap = 1;
		if (is_max(arg))
			lim->swap_bytes = LIMIT_MAX;
		else if (parse_size(arg, &lim->swap_bytes) < 0)
			die_usage("--swap '%s': not a size (e.g. 0, 100M, max)", arg);
		break;
	case OPT_PIDS:
		lim->has_pids = 1;
		if (is_max(arg))
			lim->pids = LIMIT_MAX;
		else if (parse_u64(arg, 0, PID_LIMIT_MAX, &lim->pids) < 0)
			die_usage("--pids '%s': not a number of processes (0..%d, or max)", arg,
				  PID_LIMIT_MAX);
		break;
	}
}

/* After the last option: the default period, and --cpu as a quota. */
void finish_limits(struct limits *lim)
{
	if (lim->cpu_period_us && !lim->has_cpu)
		die_usage("--cpu-period needs --cpu or --cpu-quota");
	if (!lim->cpu_period_us)
		lim->cpu_period_us = DEFAULT_CPU_PERIOD_US;
	/* 20% of one CPU is 20% of every period: quota = period * 20 / 100 */
	if (lim->cpu_milli_percent)
		lim->cpu_quota_us = lim->cpu_period_us * lim->cpu_milli_percent /
			ONE_CPU_MILLI_PERCENT;
}

/*
 * Before anything is touched: can this layout hold these limits at all?
 * MEMORY_KNOWN says whether the group will have a memory limit to add swap
 * to (v1's memsw is memory+swap).
 */
void check_limits_possible(const struct layout *l, const struct limits *lim,
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
		die_with_hint(ENOENT, why, "--cpu: no cpu controller under %s", l->root);
	if ((lim->has_memory || lim->has_swap) && memory < 0)
		die_with_hint(ENOENT, why, "--memory: no memory controller under %s", l->root);
	if (lim->has_pids && l->where[CTRL_PIDS] < 0)
		die_with_hint(ENOENT, why, "--pids: no pids controller under %s", l->root);
	if (!lim->has_swap || l->h[memory].version != 1)
		return;
	snprintf(probe, sizeof(probe), "%s/memory.memsw.limit_in_bytes", l->h[memory].path);
	if (!path_exists(probe))
		die_with_hint(ENOENT, "this kernel does not account swap per cgroup "
			      "(CONFIG_MEMCG_SWAP, swapaccount=1): without swap accounting "
			      "only --memory can be limited", "--swap: %s", probe);
	if (!memory_known)
		die_usage("--swap: on cgroup v1 swap is limited as memory+swap "
			  "(memory.memsw.limit_in_bytes), so it needs --memory as well");
}

static const char *hint_for(const char *file, const char *value, int err, int version)
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

static void write_or_die(const struct layout *l, int hier, const char *name,
			 const char *file, const char *value)
{
	char path[PATH_MAX];
	int r;

	group_file(l, hier, name, file, path);
	r = file_write(path, value);
	if (r < 0)
		die_with_hint(-r, hint_for(file, value, -r, l->h[hier].version), "write %s to %s",
			      value, path);
}

static void format_limit(char *buf, size_t size, uint64_t v, const char *unlimited)
{
	if (v == LIMIT_MAX)
		snprintf(buf, size, "%s", unlimited);
	else
		snprintf(buf, size, "%" PRIu64, v);
}

/*
 * v1: cpu.cfs_period_us then cpu.cfs_quota_us (-1 is no limit), both in
 * microseconds (Documentation/scheduler/sched-bwc.rst).  v2: cpu.max takes
 * "QUOTA PERIOD" in one write; a lone number would keep the old period.
 */
static void write_cpu(const struct layout *l, const char *name, const struct limits *lim)
{
	int i = l->where[CTRL_CPU];
	char quota[32], value[64];

	if (l->h[i].version == 1) {
		snprintf(value, sizeof(value), "%" PRIu64, lim->cpu_period_us);
		write_or_die(l, i, name, "cpu.cfs_period_us", value);
		format_limit(quota, sizeof(quota), lim->cpu_quota_us, "-1");
		write_or_die(l, i, name, "cpu.cfs_quota_us", quota);
	} else {
		format_limit(quota, sizeof(quota), lim->cpu_quota_us, "max");
		snprintf(value, sizeof(value), "%s %" PRIu64, quota, lim->cpu_period_us);
		write_or_die(l, i, name, "cpu.max", value);
	}
}

/*
 * v1 limits memory+swap together (memory.memsw.limit_in_bytes), and the
 * kernel keeps memsw >= limit at every moment (cgroup-v1/memory.rst 2.4):
 * write the limit first when the old memsw can hold it, memsw first
 * otherwise.  v2 limits swap on its own: memory.max, memory.swap.max.
 */
static void write_memory(const struct layout *l, const char *name, const struct limits *lim)
{
	int i = l->where[CTRL_MEMORY];
	char limit_path[PATH_MAX], memsw_path[PATH_MAX], limit[32], memsw[32];
	uint64_t old_limit, old_memsw, new_limit, new_memsw;

	if (l->h[i].version == 2) {
		format_limit(limit, sizeof(limit), lim->memory_bytes, "max");
		if (lim->has_memory)
			write_or_die(l, i, name, "memory.max", limit);
		format_limit(memsw, sizeof(memsw), lim->swap_bytes, "max");
		if (lim->has_swap)
			write_or_die(l, i, name, "memory.swap.max", memsw);
		return;
	}
	format_limit(limit, sizeof(limit), lim->memory_bytes, "-1");
	if (!lim->has_swap) {
		write_or_die(l, i, name, "memory.limit_in_bytes", limit);
		return;
	}
	group_file(l, i, name, "memory.limit_in_bytes", limit_path);
	group_file(l, i, name, "memory.memsw.limit_in_bytes", memsw_path);
	old_limit = read_limit(limit_path);
	old_memsw = read_limit(memsw_path);
	new_limit = lim->has_memory ? lim->memory_bytes : old_limit;
	if (new_limit == VALUE_UNKNOWN ||
	    (new_limit == LIMIT_MAX && lim->swap_bytes != LIMIT_MAX))
		die_usage("--swap: on cgroup v1 swap is limited as memory+swap, so the "
			  "group needs a memory limit (--memory) first");
	new_memsw = new_limit == LIMIT_MAX || lim->swap_bytes > LIMIT_MAX / 2 ?
		LIMIT_MAX : new_limit + lim->swap_bytes;
	format_limit(memsw, sizeof(memsw), new_memsw, "-1");
	explain_note("# v1: memory.memsw.limit_in_bytes = memory + swap = %s", memsw);
	if (lim->has_memory && new_limit <= old_memsw) {
		write_or_die(l, i, name, "memory.limit_in_bytes", limit);
		write_or_die(l, i, name, "memory.memsw.limit_in_bytes", memsw);
	} else {
		write_or_die(l, i, name, "memory.memsw.limit_in_bytes", memsw);
		if (lim->has_memory)
			write_or_die(l, i, name, "memory.limit_in_bytes", limit);
	}
}

void write_limits(const struct layout *l, const char *name, const struct limits *lim)
{
	char value[32];

	if (lim->has_cpu)
		write_cpu(l, name, lim);
	if (lim->has_memory || lim->has_swap)
		write_memory(l, name, lim);
	if (lim->has_pids) {
		/* pids.max is spelled the same in v1 and v2 */
		format_limit(value, sizeof(value), lim->pids, "max");
		write_or_die(l, l->where[CTRL_PIDS], name, "pids.max", value);
	}
}


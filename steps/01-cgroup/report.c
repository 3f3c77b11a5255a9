/*
 * report.c - what `info` and `stat` read and print, as text or --json.
 * A first reading can skip this file: it only reads files back.
 *
 * Units are the lesson's: CPU time in microseconds (v1 counts nanoseconds
 * in cpuacct.usage and throttled_time, v2 microseconds in usage_usec and
 * throttled_usec), memory in bytes.  A limit the kernel reads as unlimited
 * prints as "max", as v2 writes it; a counter whose file is missing prints
 * as "-" (JSON null).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuna.h"
#include "cgroup.h"

#define PERCENT 100.0
#define MIB (1024.0 * 1024.0)
#define NSEC_PER_USEC 1000ull            /* v1 counts CPU time in ns */

static void json_value(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	if (v == LIMIT_MAX)
		json_string(j, "max");
	else if (v == VALUE_UNKNOWN)
		json_null(j);
	else
		json_u64(j, v);
}

/* A number, "max" or "-", in a static buffer (one per call site is enough). */
static const char *text(char *buf, size_t size, uint64_t v)
{
	if (v == LIMIT_MAX)
		return "max";
	if (v == VALUE_UNKNOWN)
		return "-";
	snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

static void print_info_json(const struct layout *l)
{
	struct json j;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_key(&j, "mode");
	json_string(&j, l->mode);
	json_key(&j, "root");
	json_string(&j, l->root);
	json_key(&j, "plain_directory");
	json_bool(&j, l->plain_directory);
	json_key(&j, "controllers");
	json_begin_object(&j);
	for (int c = 0; c < CTRL_COUNT; c++) {
		int i = l->where[c];

		json_key(&j, controller_names[c]);
		if (i < 0) {
			json_null(&j);
			continue;
		}
		json_begin_object(&j);
		json_key(&j, "version");
		json_u64(&j, (uint64_t)l->h[i].version);
		json_key(&j, "path");
		json_string(&j, l->h[i].path);
		json_end_object(&j);
	}
	json_end_object(&j);
	json_key(&j, "hierarchies");
	json_begin_array(&j);
	for (int i = 0; i < l->nr; i++) {
		json_begin_object(&j);
		json_key(&j, "version");
		json_u64(&j, (uint64_t)l->h[i].version);
		json_key(&j, "path");
		json_string(&j, l->h[i].path);
		json_key(&j, "controllers");
		json_string(&j, l->h[i].controllers);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_finish(&j);
}

void print_info(const struct layout *l, int json)
{
	if (json) {
		print_info_json(l);
		return;
	}
	printf("mode: %s (%s%s)\n", l->mode, l->root,
	       l->plain_directory ? ", a plain directory: nothing is enforced" : "");
	for (int c = 0; c < CTRL_COUNT; c++) {
		int i = l->where[c];

		if (i < 0)
			printf("%-8s not available\n", controller_names[c]);
		else
			printf("%-8s v%d  %s%s\n", controller_names[c], l->h[i].version,
			       l->h[i].path, c == CTRL_CPUACCT && l->h[i].version == 2 ?
			       " (cpu.stat usage_usec)" : c == CTRL_DEVICES && l->h[i].version == 2 ?
			       " (a BPF_PROG_TYPE_CGROUP_DEVICE program per group)" : "");
	}
	printf("hierarchies:\n");
	for (int i = 0; i < l->nr; i++)
		printf("  v%d  %-28s %s\n", l->h[i].version, l->h[i].path,
		       l->h[i].controllers[0] ? l->h[i].controllers : "(no controllers)");
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
static void read_group_stat(const struct layout *l, const char *name, struct group_stat *st)
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

static void print_stat_json(const char *name, const struct group_stat *st,
			    const char *devices, const pid_t *pids, size_t nr)
{
	struct json j;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_key(&j, "name");
	json_string(&j, name);
	json_key(&j, "cpu");
	json_begin_object(&j);
	json_value(&j, "quota_us", st->cpu_quota_us);
	json_value(&j, "period_us", st->cpu_period_us);
	json_value(&j, "usage_us", st->cpu_usage_us);
	json_value(&j, "nr_periods", st->nr_periods);
	json_value(&j, "nr_throttled", st->nr_throttled);
	json_value(&j, "throttled_us", st->throttled_us);
	json_end_object(&j);
	json_key(&j, "memory");
	json_begin_object(&j);
	json_value(&j, "limit_bytes", st->memory_limit);
	json_value(&j, "swap_limit_bytes", st->swap_limit);
	json_value(&j, "current_bytes", st->memory_current);
	json_value(&j, "peak_bytes", st->memory_peak);
	json_value(&j, "oom_kills", st->oom_kills);
	json_end_object(&j);
	json_key(&j, "pids");
	json_begin_object(&j);
	json_value(&j, "limit", st->pids_limit);
	json_value(&j, "current", st->pids_current);
	json_end_object(&j);
	json_key(&j, "devices");
	json_string(&j, devices);
	json_key(&j, "members");
	json_begin_array(&j);
	for (size_t i = 0; i < nr; i++)
		json_u64(&j, (uint64_t)pids[i]);
	json_end_array(&j);
	json_end_object(&j);
	json_finish(&j);
}

/* stat NAME: every counter, then the members. */
void print_stat(const struct layout *l, const char *name, int json)
{
	struct group_stat stat_buf, *st = &stat_buf;
	char a[32], b[32], devices_buf[128];
	const char *devices;
	pid_t *pids;
	size_t nr;

	read_group_stat(l, name, st);
	nr = group_members(l, name, &pids);
	devices = devices_policy(l, name, devices_buf, sizeof(devices_buf));
	if (json) {
		print_stat_json(name, st, devices, pids, nr);
		free(pids);
		return;
	}
	printf("group:        %s (%s, under %s)\n", name, l->mode, l->root);
	printf("cpu limit:    %s us per %s us period", text(a, sizeof(a), st->cpu_quota_us),
	       text(b, sizeof(b), st->cpu_period_us));
	if (st->cpu_quota_us < VALUE_UNKNOWN && st->cpu_period_us < VALUE_UNKNOWN &&
	    st->cpu_period_us > 0)
		printf(" (%.1f%% of one CPU)",
		       PERCENT * (double)st->cpu_quota_us / (double)st->cpu_period_us);
	printf("\ncpu usage:    %s us\n", text(a, sizeof(a), st->cpu_usage_us));
	printf("throttled:    %s of ", text(a, sizeof(a), st->nr_throttled));
	printf("%s periods, ", text(a, sizeof(a), st->nr_periods));
	printf("%s us\n", text(a, sizeof(a), st->throttled_us));
	printf("memory limit: %s bytes", text(a, sizeof(a), st->memory_limit));
	if (st->memory_limit < VALUE_UNKNOWN)
		printf(" (%.1f MiB)", (double)st->memory_limit / MIB);
	printf("\nswap limit:   %s bytes\n", text(a, sizeof(a), st->swap_limit));
	printf("memory:       %s bytes now, ", text(a, sizeof(a), st->memory_current));
	printf("%s bytes peak\n", text(a, sizeof(a), st->memory_peak));
	printf("oom kills:    %s\n", text(a, sizeof(a), st->oom_kills));
	printf("pids:         %s now, ", text(a, sizeof(a), st->pids_current));
	printf("limit %s\n", text(a, sizeof(a), st->pids_limit));
	printf("devices:      %s\n", devices);
	printf("members:     ");
	for (size_t i = 0; i < nr; i++)
		printf(" %d", (int)pids[i]);
	printf("%s\n", nr ? "" : " (none)");
	free(pids);
}

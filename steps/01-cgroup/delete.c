/*
 * delete.c - who is in a group, and removing it: rmdir in every hierarchy,
 * and with --kill its members first.  A first reading can skip this file.
 *
 * rmdir(2) of a group is refused with EBUSY while a live process is in it
 * or a child group is below it; the tool lets the kernel answer, trying
 * first the hierarchy where members are, so that a refusal comes before
 * any rmdir worked and the group stays whole everywhere.
 *
 * cgroup.procs lists the group's processes, one PID a line (cgroups(7));
 * on v1 each hierarchy has its own, so the members are the union.  rmdir
 * refuses a group while any live process is in it, hence --kill: on v2 one
 * write of "1" to cgroup.kill SIGKILLs the whole subtree (Linux 5.14); on
 * v1 each member gets SIGKILL and the tool waits until every cgroup.procs
 * in the subtree reads empty, then removes the groups children first.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tuna.h"
#include "cgroup.h"

#define KILL_WAIT_MS 5000                /* --kill gives up after this */
#define KILL_POLL_MS 10

/* Every PID in the group's cgroup.procs, over all hierarchies, sorted. */
static size_t read_members(const char *dir, pid_t **pids, size_t nr)
{
	char path[PATH_MAX + 16];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return nr;
	while (fscanf(f, "%d", &pid) == 1) {
		size_t i = 0;

		while (i < nr && (*pids)[i] != pid)
			i++;
		if (i < nr)
			continue;
		*pids = realloc(*pids, (nr + 1) * sizeof(pid_t));
		if (!*pids)
			die_errno("realloc");
		(*pids)[nr++] = pid;
	}
	fclose(f);
	return nr;
}

static int compare_pids(const void *a, const void *b)
{
	return *(const pid_t *)a - *(const pid_t *)b;
}

size_t group_members(const struct layout *l, const char *name, pid_t **pids)
{
	char dir[PATH_MAX];
	size_t nr = 0;

	*pids = NULL;
	for (int i = 0; i < l->nr; i++) {
		if (!l->h[i].managed)
			continue;
		group_dir(l, i, name, dir);
		nr = read_members(dir, pids, nr);
	}
	if (nr)
		qsort(*pids, nr, sizeof(pid_t), compare_pids);
	return nr;
}

/* The group has members or child groups in hierarchy HIER: rmdir would fail. */
static int group_is_busy(const struct layout *l, int hier, const char *name)
{
	char dir[PATH_MAX];
	pid_t *pids = NULL;
	struct dirent *e;
	int busy;
	DIR *d;

	group_dir(l, hier, name, dir);
	busy = read_members(dir, &pids, 0) > 0;
	free(pids);
	d = opendir(dir);
	while (d && !busy && (e = readdir(d)))
		busy = e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return busy;
}

/* Depth first: children before their parent, as rmdir needs. */
static void walk_depth_first(const char *dir, void (*fn)(const char *, void *), void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char child[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", dir, e->d_name) < PATH_MAX)
			walk_depth_first(child, fn, ctx);
	}
	closedir(d);
	fn(dir, ctx);
}

struct kill_round {
	pid_t *pids;     /* the members found in this round, every hierarchy */
	size_t nr;
};

static void collect_members(const char *dir, void *arg)
{
	struct kill_round *round = arg;

	round->nr = read_members(dir, &round->pids, round->nr);
}

static void remove_group_dir(const char *dir, void *ctx)
{
	struct timespec pause = { 0, KILL_POLL_MS * 1000000L };
	int r;

	(void)ctx;
	/* After SIGKILL the kernel may need a moment to let go of the group:
	 * each try is traced, as strace would show it. */
	for (int waited = 0;; waited += KILL_POLL_MS) {
		r = traced_rmdir("cgdelete", dir);
		if (r != -EBUSY || waited >= KILL_WAIT_MS)
			break;
		nanosleep(&pause, NULL);
	}
	if (r < 0)
		die_hint(-r, r == -EBUSY ? "the group still has members or child "
			 "groups: stop them, or use `" PROG " delete NAME --kill`" : NULL,
			 "rmdir %s", dir);
}

/* The subtree's processes die (v2: cgroup.kill; v1: SIGKILL each), then it goes. */
static void kill_group(const struct layout *l, const char *name)
{
	struct timespec pause = { 0, KILL_POLL_MS * 1000000L };
	char dir[PATH_MAX], path[PATH_MAX];
	int send = 0;

	for (int i = 0; i < l->nr; i++) {
		if (!l->h[i].managed)
			continue;
		group_file(l, i, name, "cgroup.kill", path);
		if (l->h[i].version == 1 || !path_exists(path)) {
			send = 1; /* v1, or v2 before 5.14: kill() each member */
			continue;
		}
		int r = file_write(path, "1");
		if (r < 0)
			die_err(-r, "write 1 to %s", path);
	}
	for (int waited = 0;; waited += KILL_POLL_MS) {
		struct kill_round round = { NULL, 0 };

		for (int i = 0; i < l->nr; i++) {
			group_dir(l, i, name, dir);
			if (l->h[i].managed)
				walk_depth_first(dir, collect_members, &round);
		}
		if (!round.nr)
			return;
		if (waited >= KILL_WAIT_MS)
			die("delete --kill %s: %zu members still alive after %d ms", name,
			    round.nr, KILL_WAIT_MS);
		for (size_t i = 0; i < round.nr && send; i++) {
			if (round.pids[i] == getpid())
				die("delete --kill %s: this process is itself a member", name);
			traced_kill("kill -9 $(cat cgroup.procs)", round.pids[i], SIGKILL);
		}
		free(round.pids);
		nanosleep(&pause, NULL);
	}
}

/* rmdir DIR and every group below it, children first. */
static void remove_subtree(const char *dir)
{
	walk_depth_first(dir, remove_group_dir, NULL);
}

/* rmdir in every hierarchy; with --kill the members die first. */
void delete_group(const struct layout *l, const char *name, int with_kill)
{
	char dir[PATH_MAX], members[PATH_MAX + 256];
	int order[MAX_HIERARCHIES], n = 0;
	pid_t *pids;
	size_t nr = group_members(l, name, &pids);

	if (!group_exists(l, name))
		die_err(ENOENT, "delete %s", name);
	if (with_kill)
		kill_group(l, name);
	/* v2's device program goes first, unless the group stays (busy). */
	if (l->where[CTRL_DEVICES] >= 0 &&
	    (with_kill || !group_is_busy(l, l->where[CTRL_DEVICES], name)))
		devices_detach(l, name);
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
		int r = traced_rmdir("cgdelete", dir);
		if (r == -EBUSY && nr) {
			snprintf(members, sizeof(members), "the group still has %zu member(s) "
				 "(PID %d%s): stop them, or kill them and remove the group with `"
				 PROG " delete %s --kill`", nr, (int)pids[0], nr > 1 ? " ..." : "",
				 name);
			die_hint(EBUSY, members, "rmdir %s", dir);
		}
		if (r < 0)
			die_hint(-r, r == -EBUSY ? "the group has child groups: delete "
				 "them first, or the whole subtree with --kill" : NULL, "rmdir %s", dir);
	}
	free(pids);
}

/*
 * show.c - `02-unshare --show [PID]`: a process's namespaces, like
 * `ls -l /proc/PID/ns` in the post, each marked '*' when it differs from
 * PID 1's.  A part of the step a reader can skip.
 *
 * /proc/PID/ns/TYPE is a magic symbolic link whose text, "TYPE:[INODE]",
 * names the namespace: two processes share a namespace exactly when the
 * inode numbers are equal (namespaces(7), "The /proc/[pid]/ns/ directory").
 * pid_for_children and time_for_children are the namespaces the process's
 * next children will be created in; they differ from pid and time after
 * unshare(CLONE_NEWPID|CLONE_NEWTIME), and cannot be read (ENOENT) until
 * the first child of a new PID namespace exists.
 *
 * Reading another process's links needs ptrace access (proc(5)).  When PID
 * 1 is a non-dumpable supervisor (as on the VM these lessons were written
 * on), even root gets EACCES; then kthreadd, PID 2 of the initial PID
 * namespace, stands in: it lives in the initial namespaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tuna.h"
#include "unshare.h"

#define NS_LINK_MAX 64          /* "pid_for_children:[4026531836]" */
#define KTHREADD_PID "2"

/* In the order `ls -l /proc/self/ns` prints them. */
static const char *const ns_names[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
	"time", "time_for_children", "user", "uts",
};
#define NR_NS (sizeof(ns_names) / sizeof(ns_names[0]))

/* readlink /proc/PID/ns/NAME into LINK; -errno on failure. */
static int read_ns_link(const char *pid, const char *name, char *link, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, name);
	n = readlink(path, link, size - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	return 0;
}

/* PID 1, or kthreadd when PID 1's links are closed to us. */
static const char *reference_pid(void)
{
	char link[NS_LINK_MAX], comm[32];

	if (read_ns_link("1", "mnt", link, sizeof(link)) == 0)
		return "1";
	if (file_read("/proc/" KTHREADD_PID "/comm", comm, sizeof(comm)) >= 0 &&
	    strcmp(comm, "kthreadd") == 0 &&
	    read_ns_link(KTHREADD_PID, "mnt", link, sizeof(link)) == 0)
		return KTHREADD_PID;
	return NULL;
}

int show_namespaces(const char *pid)
{
	const char *ref = reference_pid();
	const char *who = pid ? pid : "self";
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "/proc/%s/ns", who);
	if (access(dir, F_OK) < 0)
		die_errno("list %s", dir);
	if (!ref)
		printf("%s (PID 1's namespaces cannot be read: nothing marked)\n", dir);
	else if (strcmp(ref, "1") == 0)
		printf("%s ('*' = differs from PID 1)\n", dir);
	else
		printf("%s ('*' = differs from kthreadd, PID 2: PID 1's cannot be read)\n",
		       dir);

	for (size_t i = 0; i < NR_NS; i++) {
		char link[NS_LINK_MAX], ref_link[NS_LINK_MAX];
		int r = read_ns_link(who, ns_names[i], link, sizeof(link));
		int differs = 0;

		if (r == -ENOENT) {
			/* a new PID namespace with no process in it yet */
			printf("  %-17s -> (none yet)\n", ns_names[i]);
			continue;
		}
		if (r < 0)
			die_err(-r, "readlink %s/%s", dir, ns_names[i]);
		if (ref && read_ns_link(ref, ns_names[i], ref_link, sizeof(ref_link)) == 0)
			differs = strcmp(link, ref_link) != 0;
		printf("%c %-17s -> %s\n", differs ? '*' : ' ', ns_names[i], link);
	}
	return 0;
}

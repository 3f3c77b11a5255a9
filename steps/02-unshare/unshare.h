/*
 * unshare.h - what unshare.c calls in its siblings, both skippable on a
 * first reading: show.c (--show) and pidfile.c (--pidfile, for the labs).
 */
#ifndef TUNA_UNSHARE_H
#define TUNA_UNSHARE_H

#include <sys/types.h>

/* show.c: print /proc/PID/ns like ls -l, marking what differs from PID 1. */
int show_namespaces(const char *pid);

/*
 * pidfile.c: the host PID of the process that will run CMD, for labs
 * (05-veth --pid).  The file is opened, and its directory held, BEFORE the
 * fork: the child shares our mount namespace, and if it runs 04-pivot,
 * pivot_root(2) moves the root of every process in the namespace, ours
 * too, so the path would no longer lead to the file by the time we write
 * the PID or remove it.
 */
struct pidfile {
	const char *path;
	int fd;       /* the file, open for writing */
	int dir_fd;   /* its directory, to unlink the file by name later */
	const char *name;
};

void pidfile_open(struct pidfile *pf, const char *path);
/* Write PID and close the file. */
void pidfile_write(struct pidfile *pf, pid_t pid);
/* Remove it by name in its directory; an undo_push function (PF: the pidfile). */
void pidfile_remove(void *pf);

#endif

/*
 * pidfile.c - `02-unshare --pidfile FILE`: the host PID of the process that
 * runs CMD, for the labs.  A part of the step a reader can skip; why the
 * file is opened before the fork is in unshare.h.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tuna.h"
#include "unshare.h"

#define PIDFILE_MODE 0644

void pidfile_open(struct pidfile *pf, const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	pf->path = path;
	pf->name = slash ? slash + 1 : path;
	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	pf->dir_fd = traced_open(NULL, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (pf->dir_fd < 0)
		die_err(-pf->dir_fd, "open pidfile %s", path);
	pf->fd = traced_open(NULL, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, PIDFILE_MODE);
	if (pf->fd < 0)
		die_err(-pf->fd, "open pidfile %s", path);
}

void pidfile_write(struct pidfile *pf, pid_t pid)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%d\n", (int)pid);
	ssize_t r = traced_write(NULL, pf->fd, text, (size_t)len);

	if (r < 0)
		die_err((int)-r, "write pidfile %s", pf->path);
	close(pf->fd);
	pf->fd = -1;
}

void pidfile_remove(void *arg)
{
	struct pidfile *pf = arg;

	unlinkat(pf->dir_fd, pf->name, 0);
}

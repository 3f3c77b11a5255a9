/*
 * zfs-fuse.c - ZFS in a daemon, for a kernel without ZFS.  A first reading
 * can skip this file: where the kernel has OpenZFS (/dev/zfs), zpool and
 * zfs talk to it and nothing here runs.
 *
 * Elsewhere Debian's zfs-fuse does ZFS in a daemon: zpool and zfs talk to
 * it over the UNIX socket /var/run/zfs/zfs_socket, and datasets are FUSE
 * mounts.  `pool create` starts the daemon when none answers, with a
 * pidfile of ours; `pool destroy` stops it only if that pidfile names it
 * and no pool is left, and returns only once it has exited: a pidfd
 * becomes readable when its process has exited (pidfd_open(2)).  What is
 * left then is a zombie, an exit status for its parent (init) to collect;
 * its threads, memory, files and mounts are gone.
 *
 * Man pages: pidfd_open(2), pidfd_send_signal(2), poll(2), unix(7),
 * zfs-fuse(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define ZFS_DEVICE "/dev/zfs"               /* OpenZFS in the kernel */
#define ZFS_FUSE_SOCKET "/var/run/zfs/zfs_socket"
#define TUNA_RUN_DIR "/run/tuna"
#define ZFS_FUSE_PIDFILE TUNA_RUN_DIR "/zfs-fuse.pid"  /* "we started it" */
#define DAEMON_START_TIMEOUT_MS 10000
#define DAEMON_STOP_TIMEOUT_MS 30000        /* the init script allows 12 s */
#define RUN_DIR_MODE 0755

const char *zfs_fuse_unavailable(void)
{
	char buf[PATH_MAX];

	if (path_exists(ZFS_DEVICE))
		return NULL;
	if (find_program("zfs-fuse", buf, sizeof(buf)) < 0)
		return "no " ZFS_DEVICE " (ZFS kernel module) and no zfs-fuse daemon to start";
	if (!path_exists("/dev/fuse"))
		return "zfs-fuse needs /dev/fuse";
	return NULL;
}

/* Is a zfs-fuse daemon answering on its socket? */
static int zfs_fuse_running(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return 0;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", ZFS_FUSE_SOCKET);
	ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

/* The PID in our pidfile, if it is still a zfs-fuse process; else 0. */
static pid_t zfs_fuse_ours(void)
{
	char text[32], comm_path[64], comm[32];
	int pid;

	if (file_read(ZFS_FUSE_PIDFILE, text, sizeof(text)) < 0 ||
	    parse_int(text, 1, PID_MAX_LIMIT, &pid) < 0)
		return 0;
	snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", pid);
	/* A recycled PID must not be killed: check it is zfs-fuse. */
	if (file_read(comm_path, comm, sizeof(comm)) < 0 || strcmp(comm, "zfs-fuse") != 0)
		return 0;
	return pid;
}

/* Pools the daemon still holds: `zpool list -H -o name` says a name a line. */
static int zfs_pools_left(void)
{
	char out[4096], err[512];

	if (run_program((char *[]){ "zpool", "list", "-H", "-o", "name", NULL }, NULL, out,
			sizeof(out), err, sizeof(err)) != 0)
		return 1; /* cannot tell: leave the daemon alone */
	return out[0] != '\0';
}

/*
 * SIGTERM through a pidfd (no PID reuse race), then wait until it has
 * exited.  0, or -errno; -ETIMEDOUT if it is still there after the wait.
 */
static int zfs_fuse_stop(pid_t pid)
{
	int fd = traced_pidfd_open(NULL, pid), r;

	if (fd < 0)
		return fd;
	r = traced_pidfd_send_signal("/etc/init.d/zfs-fuse stop", fd, SIGTERM);
	if (r == 0)
		r = traced_poll_in("until it has exited", fd, DAEMON_STOP_TIMEOUT_MS);
	close(fd);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return r;
	unlink(ZFS_FUSE_PIDFILE);
	return 0;
}

void zfs_fuse_stop_if_ours(void)
{
	pid_t pid;
	int r;

	if (path_exists(ZFS_DEVICE) || !(pid = zfs_fuse_ours()) || zfs_pools_left())
		return;
	r = zfs_fuse_stop(pid);
	if (r == -ETIMEDOUT)
		die("stop zfs-fuse %d: still running %d s after SIGTERM (its pidfile %s is "
		    "kept)", (int)pid, DAEMON_STOP_TIMEOUT_MS / 1000, ZFS_FUSE_PIDFILE);
	if (r < 0)
		die_err(-r, "stop zfs-fuse %d", (int)pid);
}

/* The undo of a start: a failure later in `pool create` stops it again. */
static void zfs_fuse_stop_undo(void *unused)
{
	pid_t pid = zfs_fuse_ours();
	int r;

	(void)unused;
	if (pid && !zfs_pools_left() && (r = zfs_fuse_stop(pid)) < 0)
		warn_msg("stop zfs-fuse %d: %s", (int)pid, strerror(-r));
}

/*
 * Start zfs-fuse as /etc/init.d/zfs-fuse does, and wait for its socket.  It
 * forks into the background itself; the process we fork exits at once.
 */
static void zfs_fuse_start(void)
{
	char exe[PATH_MAX];
	int status, r;
	pid_t pid;

	find_program("zfs-fuse", exe, sizeof(exe));
	r = traced_mkdir(NULL, TUNA_RUN_DIR, RUN_DIR_MODE);
	if (r < 0 && r != -EEXIST)
		die_err(-r, "mkdir %s", TUNA_RUN_DIR);
	pid = traced_fork("/etc/init.d/zfs-fuse start: zfs-fuse --pidfile " ZFS_FUSE_PIDFILE
			  " --no-kstat-mount");
	if (pid < 0)
		die_err(-pid, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* A daemon keeps none of our files (a test's pipe, a flock(1)
		 * lock would never be let go) and none of our session. */
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close_range(3, ~0U, 0);
		setsid();
		execl(exe, "zfs-fuse", "--pidfile", ZFS_FUSE_PIDFILE, "--no-kstat-mount",
		      (char *)NULL);
		_exit(EXIT_CANNOT_EXEC);
	}
	if (traced_wait4(NULL, pid, &status, 0, NULL) < 0 || exit_status_from_wait(status) != 0)
		die("zfs-fuse did not start (%s exited with %d)", exe, exit_status_from_wait(status));
	undo_push(zfs_fuse_stop_undo, NULL);
	for (int waited = 0; !zfs_fuse_running(); waited += POLL_STEP_MS) {
		if (waited >= DAEMON_START_TIMEOUT_MS)
			die("zfs-fuse started but %s did not answer within %d s", ZFS_FUSE_SOCKET,
			    DAEMON_START_TIMEOUT_MS / 1000);
		sleep_ms(POLL_STEP_MS);
	}
}

void zfs_fuse_start_if_needed(void)
{
	if (!path_exists(ZFS_DEVICE) && !zfs_fuse_running())
		zfs_fuse_start();
}

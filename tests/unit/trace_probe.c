/*
 * trace_probe - run one of libtuna's traced calls, or its error path, with
 * --explain on, for tests/test_common.sh:
 *
 *   trace-probe mount SOURCE TARGET FSTYPE FLAGS DATA   FLAGS as a number
 *   trace-probe umount TARGET
 *   trace-probe mkdir PATH | rmdir PATH | unlink PATH
 *   trace-probe write PATH VALUE
 *   trace-probe run CMD [ARGS]              prints "status N"
 *   trace-probe ioctl-fionread PATH         a harmless ioctl, decoded
 *   trace-probe undo-then-die DIR FILE      mkdir DIR, create FILE, push
 *                                           undo_unlink/undo_rmdir, die_hint
 *   trace-probe die-status STATUS ERR       die_status(STATUS, ERR, hint)
 *   trace-probe wait-status SIG             fork a child killed by SIG,
 *                                           print exit_status_from_wait
 *   trace-probe undo-write-then-die FILE OLD NEW
 *                                           write OLD, push undo_write_file,
 *                                           write NEW, die_hint
 *   trace-probe statfs PATH                 traced_statfs, the magic by name
 *   trace-probe pidfd-term                  fork a sleeper; pidfd_open, poll
 *                                           (0 ms), SIGTERM by the pidfd, poll
 *                                           until it exits; "exit N"
 *
 * Each prints the wrapper's return value as "= N" on stdout; the trace
 * goes to stderr, as a step's does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tuna.h"

static void decode_int(char *buf, size_t size, const void *arg)
{
	snprintf(buf, size, "[%d]", *(const int *)arg);
}

static int probe(int argc, char **argv)
{
	const char *what = argv[1];

	if (strcmp(what, "mount") == 0 && argc == 7)
		return traced_mount("mount -t tmpfs", argv[2], argv[3], argv[4],
				    strtoul(argv[5], NULL, 0), argv[6]);
	if (strcmp(what, "umount") == 0 && argc == 3)
		return traced_umount2(NULL, argv[2], 0);
	if (strcmp(what, "mkdir") == 0 && argc == 3)
		return traced_mkdir("mkdir", argv[2], 0750);
	if (strcmp(what, "rmdir") == 0 && argc == 3)
		return traced_rmdir("rmdir", argv[2]);
	if (strcmp(what, "unlink") == 0 && argc == 3)
		return traced_unlink(NULL, argv[2]);
	if (strcmp(what, "write") == 0 && argc == 4)
		return traced_write_file(NULL, argv[2], argv[3]);
	if (strcmp(what, "run") == 0 && argc >= 3) {
		int r = traced_run("the command", &argv[2]);

		printf("status %d\n", r);
		return r;
	}
	if (strcmp(what, "ioctl-fionread") == 0 && argc == 3) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC), n = -1, r;

		if (fd < 0)
			return -errno;
		r = traced_ioctl_decoded(NULL, fd, FIONREAD, &n, decode_int);
		close(fd);
		return r;
	}
	if (strcmp(what, "undo-then-die") == 0 && argc == 4) {
		char dir[4096], file[4096];
		int r;

		/* The copies go away before the undo runs: the entries own theirs. */
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		snprintf(file, sizeof(file), "%s", argv[3]);
		if ((r = traced_mkdir(NULL, dir, 0755)) < 0)
			return r;
		undo_rmdir(dir);
		if ((r = traced_open(NULL, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
			return r;
		undo_close(r);
		undo_unlink(file);
		memset(dir, 0, sizeof(dir));
		memset(file, 0, sizeof(file));
		die_hint(EEXIST, "the probe's hint", "probe %s", "failing on purpose");
	}
	if (strcmp(what, "die-status") == 0 && argc == 4)
		die_status(atoi(argv[2]), atoi(argv[3]), "a hint", "probe dies with %s",
			   argv[2]);
	if (strcmp(what, "wait-status") == 0 && argc == 3) {
		int status;
		pid_t pid = traced_fork(NULL);

		if (pid == 0) {
			raise(atoi(argv[2]));
			_exit(3);
		}
		if (pid < 0 || traced_wait4(NULL, pid, &status, 0, NULL) < 0)
			return -1;
		printf("exit %d\n", exit_status_from_wait(status));
		return 0;
	}
	if (strcmp(what, "undo-write-then-die") == 0 && argc == 5) {
		char old[64];
		int r;

		snprintf(old, sizeof(old), "%s", argv[3]);
		if ((r = traced_write_file(NULL, argv[2], old)) < 0)
			return r;
		undo_write_file(argv[2], old);
		memset(old, 0, sizeof(old));   /* the entry keeps its own copy */
		if ((r = traced_write_file(NULL, argv[2], argv[4])) < 0)
			return r;
		die_hint(EBUSY, NULL, "probe %s", "failing after the second write");
	}
	if (strcmp(what, "statfs") == 0 && argc == 3) {
		struct statfs st;

		return traced_statfs(NULL, argv[2], &st);
	}
	if (strcmp(what, "pidfd-term") == 0 && argc == 2) {
		int status, fd, r;
		pid_t pid = traced_fork(NULL);

		if (pid == 0) {
			pause();
			_exit(3);
		}
		if (pid < 0 || (fd = traced_pidfd_open(NULL, pid)) < 0)
			return -1;
		if ((r = traced_poll_in("still running", fd, 0)) != 0 ||
		    (r = traced_pidfd_send_signal(NULL, fd, SIGTERM)) < 0 ||
		    (r = traced_poll_in("until it has exited", fd, 5000)) != 1)
			return r < 0 ? r : -1;
		close(fd);
		if (traced_wait4(NULL, pid, &status, 0, NULL) < 0)
			return -1;
		printf("exit %d\n", exit_status_from_wait(status));
		return 0;
	}
	fprintf(stderr, "trace-probe: bad arguments (see the source)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int r;

	tuna_set_prog("trace-probe");
	explain_enabled = 1;
	if (argc < 2) {
		fprintf(stderr, "usage: trace-probe WHAT ARGS...\n");
		return 2;
	}
	r = probe(argc, argv);
	printf("= %d\n", r);
	return r < 0 ? 1 : 0;
}

/*
 * trace.c - calls that print their own --explain line.  See trace.h.
 *
 * Each wrapper is the call, its errno saved at once, and one line built
 * from the same arguments.  The line is printed after the call, so it can
 * show the result, except for execvp, which does not come back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "explain.h"
#include "file.h"
#include "syscalls.h"
#include "trace.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* Linux 5.6; <linux/sched.h> */
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256       /* Linux 5.10 */
#endif

/* Where root's tools live when a user's $PATH lacks them (run()). */
#define SBIN_PATH "/usr/local/sbin:/usr/sbin:/sbin"
/* The room for one decoded argument list: an argv, a mount's data. */
#define ARGS_MAX 2048
/* What traced_write_file shows of the value, and its echo comment. */
#define WRITE_SHOWN_MAX 4096

/* --- the flag tables, one per kind (numeric order, as the kernel's) ------ */

static const struct flag_name mount_flag_names[] = {
	{ MS_RDONLY, "MS_RDONLY" },       { MS_NOSUID, "MS_NOSUID" },
	{ MS_NODEV, "MS_NODEV" },         { MS_NOEXEC, "MS_NOEXEC" },
	{ MS_SYNCHRONOUS, "MS_SYNCHRONOUS" }, { MS_REMOUNT, "MS_REMOUNT" },
	{ MS_MANDLOCK, "MS_MANDLOCK" },   { MS_DIRSYNC, "MS_DIRSYNC" },
	{ MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW" }, { MS_NOATIME, "MS_NOATIME" },
	{ MS_NODIRATIME, "MS_NODIRATIME" }, { MS_BIND, "MS_BIND" },
	{ MS_MOVE, "MS_MOVE" },           { MS_REC, "MS_REC" },
	{ MS_SILENT, "MS_SILENT" },       { MS_POSIXACL, "MS_POSIXACL" },
	{ MS_UNBINDABLE, "MS_UNBINDABLE" }, { MS_PRIVATE, "MS_PRIVATE" },
	{ MS_SLAVE, "MS_SLAVE" },         { MS_SHARED, "MS_SHARED" },
	{ MS_RELATIME, "MS_RELATIME" },   { MS_STRICTATIME, "MS_STRICTATIME" },
	{ MS_LAZYTIME, "MS_LAZYTIME" },   { 0, NULL },
};

static const struct flag_name umount_flag_names[] = {
	{ MNT_FORCE, "MNT_FORCE" }, { MNT_DETACH, "MNT_DETACH" },
	{ MNT_EXPIRE, "MNT_EXPIRE" }, { UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW" },
	{ 0, NULL },
};

/* In unshare(1)'s order of options, as the lessons list them. */
static const struct flag_name clone_flag_names[] = {
	{ CLONE_NEWNS, "CLONE_NEWNS" },         { CLONE_NEWUTS, "CLONE_NEWUTS" },
	{ CLONE_NEWIPC, "CLONE_NEWIPC" },       { CLONE_NEWNET, "CLONE_NEWNET" },
	{ CLONE_NEWPID, "CLONE_NEWPID" },       { CLONE_NEWCGROUP, "CLONE_NEWCGROUP" },
	{ CLONE_NEWTIME, "CLONE_NEWTIME" },     { CLONE_NEWUSER, "CLONE_NEWUSER" },
	{ 0, NULL },
};

/* After the access mode (O_RDONLY is 0, so it is not a bit). */
static const struct flag_name open_flag_names[] = {
	{ O_CREAT, "O_CREAT" },         { O_EXCL, "O_EXCL" },
	{ O_NOCTTY, "O_NOCTTY" },       { O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },       { O_NONBLOCK, "O_NONBLOCK" },
	{ O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" },
	{ O_CLOEXEC, "O_CLOEXEC" },     { O_PATH, "O_PATH" },
	{ 0, NULL },
};

static const struct flag_name close_range_flag_names[] = {
	{ CLOSE_RANGE_UNSHARE, "CLOSE_RANGE_UNSHARE" },
	{ CLOSE_RANGE_CLOEXEC, "CLOSE_RANGE_CLOEXEC" },
	{ 0, NULL },
};

static const struct flag_name wait_option_names[] = {
	{ WNOHANG, "WNOHANG" }, { WUNTRACED, "WUNTRACED" }, { WCONTINUED, "WCONTINUED" },
	{ 0, NULL },
};

char *trace_clone_flags(char *buf, size_t size, unsigned long flags)
{
	return flags_to_string(buf, size, flags, clone_flag_names);
}

/* The file systems a step asks statfs(2) about. */
static const struct flag_name fs_magic_names[] = {
	{ CGROUP2_SUPER_MAGIC, "CGROUP2_SUPER_MAGIC" }, { CGROUP_SUPER_MAGIC, "CGROUP_SUPER_MAGIC" },
	{ TMPFS_MAGIC, "TMPFS_MAGIC" },   { PROC_SUPER_MAGIC, "PROC_SUPER_MAGIC" },
	{ SYSFS_MAGIC, "SYSFS_MAGIC" },   { BTRFS_SUPER_MAGIC, "BTRFS_SUPER_MAGIC" },
	{ OVERLAYFS_SUPER_MAGIC, "OVERLAYFS_SUPER_MAGIC" }, { EXT4_SUPER_MAGIC, "EXT4_SUPER_MAGIC" },
	{ 0, NULL },
};

char *trace_fs_magic(char *buf, size_t size, unsigned long magic)
{
	const char *name = value_name(magic, fs_magic_names);

	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%#lx", magic);
	return buf;
}

const char *trace_signal_name(int sig)
{
	static char name[32];
	const char *abbrev = sigabbrev_np(sig);   /* "KILL"; glibc 2.32 */

	if (abbrev)
		snprintf(name, sizeof(name), "SIG%s", abbrev);
	else
		snprintf(name, sizeof(name), "%d", sig);
	return name;
}

char *trace_fd(char *buf, size_t size, int fd)
{
	char link[64], target[256];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(buf, size, "%d", fd);
		return buf;
	}
	target[n] = '\0';
	snprintf(buf, size, "%d<%s>", fd, target);
	return buf;
}

/* "\"text\"" or "NULL", for a string argument, in one of four rotating
 * buffers so a line can show several. */
static const char *quoted(const char *s)
{
	static char bufs[4][ARGS_MAX];
	static int next;
	char *b = bufs[next++ % 4];

	if (!s)
		return "NULL";
	if (snprintf(b, ARGS_MAX, "\"%s\"", s) >= ARGS_MAX)
		snprintf(b + ARGS_MAX - 5, 5, "...\"");   /* cut, and says so */
	return b;
}

/* The result of a call that returns -1 and sets errno: the line's (R,
 * ERR), and what the wrapper returns. */
static int result_of(int r, int *err)
{
	*err = r < 0 ? errno : 0;
	return r < 0 ? -*err : r;
}

/* --- files and mounts ---------------------------------------------------- */

int traced_mount(const char *shell, const char *source, const char *target,
		 const char *fstype, unsigned long flags, const void *data)
{
	char names[256];
	int err, r = result_of(mount(source, target, fstype, flags, data), &err);

	explain_call(r, err, shell, "mount(%s, %s, %s, %s, %s)", quoted(source),
		     quoted(target), quoted(fstype), flags_to_string(names, sizeof(names), flags, mount_flag_names),
		     quoted(data));
	return r;
}

int traced_umount2(const char *shell, const char *target, int flags)
{
	char names[64];
	int err, r = result_of(umount2(target, flags), &err);

	explain_call(r, err, shell, "umount2(%s, %s)", quoted(target),
		     flags_to_string(names, sizeof(names), (unsigned long)flags,
				     umount_flag_names));
	return r;
}

int traced_mkdir(const char *shell, const char *path, mode_t mode)
{
	int err, r = result_of(mkdir(path, mode), &err);

	explain_call(r, err, shell, "mkdir(%s, 0%o)", quoted(path), (unsigned)mode);
	return r;
}

int traced_rmdir(const char *shell, const char *path)
{
	int err, r = result_of(rmdir(path), &err);

	explain_call(r, err, shell, "rmdir(%s)", quoted(path));
	return r;
}

int traced_unlink(const char *shell, const char *path)
{
	int err, r = result_of(unlink(path), &err);

	explain_call(r, err, shell, "unlink(%s)", quoted(path));
	return r;
}

int traced_symlink(const char *shell, const char *target, const char *linkpath)
{
	int err, r = result_of(symlink(target, linkpath), &err);

	explain_call(r, err, shell, "symlink(%s, %s)", quoted(target), quoted(linkpath));
	return r;
}

int traced_mknod(const char *shell, const char *path, mode_t mode, dev_t dev)
{
	const char *type = S_ISCHR(mode) ? "S_IFCHR" : S_ISBLK(mode) ? "S_IFBLK" :
			   S_ISFIFO(mode) ? "S_IFIFO" : S_ISREG(mode) ? "S_IFREG" : "0";
	int err, r = result_of(mknod(path, mode, dev), &err);

	explain_call(r, err, shell, "mknod(%s, %s|0%o, makedev(%u, %u))", quoted(path), type,
		     (unsigned)(mode & 07777), major(dev), minor(dev));
	return r;
}

int traced_chdir(const char *shell, const char *path)
{
	int err, r = result_of(chdir(path), &err);

	explain_call(r, err, shell, "chdir(%s)", quoted(path));
	return r;
}

int traced_open(const char *shell, const char *path, int flags, mode_t mode_bits)
{
	static const char *const access_modes[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "3" };
	/* O_PATH ignores the access mode; O_RDONLY is 0, so it is not a bit */
	const char *mode = (flags & O_PATH) ? "" : access_modes[flags & O_ACCMODE];
	unsigned long rest = (unsigned long)(flags & ~O_ACCMODE);
	char names[256], rest_names[200] = "";
	int err, r = result_of(open(path, flags, mode_bits), &err);

	if (rest)
		flags_to_string(rest_names, sizeof(rest_names), rest, open_flag_names);
	snprintf(names, sizeof(names), "%s%s%s", mode, *mode && rest ? "|" : "", rest_names);
	if (flags & O_CREAT)
		explain_call(r, err, shell, "open(%s, %s, 0%o)", quoted(path), names,
			     (unsigned)mode_bits);
	else
		explain_call(r, err, shell, "open(%s, %s)", quoted(path), names);
	return r;
}

int traced_ftruncate(const char *shell, int fd, off_t length)
{
	char name[300];
	int err, r = result_of(ftruncate(fd, length), &err);

	explain_call(r, err, shell, "ftruncate(%s, %lld)", trace_fd(name, sizeof(name), fd),
		     (long long)length);
	return r;
}

/* BUF's first LEN bytes as a C string literal: "1234\n". */
static const char *quoted_bytes(const void *buf, size_t len)
{
	static char text[ARGS_MAX];
	const unsigned char *p = buf;
	size_t used = 0;

	text[used++] = '"';
	for (size_t i = 0; i < len && used + 8 < sizeof(text); i++) {
		if (p[i] == '\n')
			used += (size_t)snprintf(text + used, sizeof(text) - used, "\\n");
		else if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '"' || p[i] == '\\')
			used += (size_t)snprintf(text + used, sizeof(text) - used, "\\x%02x", p[i]);
		else
			text[used++] = (char)p[i];
	}
	snprintf(text + used, sizeof(text) - used, "\"");
	return text;
}

ssize_t traced_read(const char *shell, int fd, void *buf, size_t count)
{
	char name[300];
	ssize_t n;
	int err;

	trace_fd(name, sizeof(name), fd);
	do
		n = read(fd, buf, count);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? errno : 0;
	explain_call(n, err, shell, "read(%s, %s, %zu)", name,
		     n > 0 ? quoted_bytes(buf, (size_t)n) : "\"\"", count);
	return n < 0 ? -err : n;
}

ssize_t traced_write(const char *shell, int fd, const void *buf, size_t count)
{
	char name[300];
	ssize_t n;
	int err;

	do
		n = write(fd, buf, count);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? errno : 0;
	explain_call(n, err, shell, "write(%s, %s, %zu)", trace_fd(name, sizeof(name), fd),
		     quoted_bytes(buf, count), count);
	return n < 0 ? -err : n;
}

int traced_close_range(const char *shell, unsigned first, unsigned last, unsigned flags)
{
	char names[64], last_text[16];
	int err, r = result_of(close_range(first, last, (int)flags), &err);

	if (last == ~0U)
		snprintf(last_text, sizeof(last_text), "~0U");
	else
		snprintf(last_text, sizeof(last_text), "%u", last);
	explain_call(r, err, shell, "close_range(%u, %s, %s)", first, last_text,
		     flags_to_string(names, sizeof(names), flags, close_range_flag_names));
	return r;
}

int traced_write_file(const char *shell, const char *path, const char *value)
{
	char echo[WRITE_SHOWN_MAX + 64];
	size_t len = strlen(value);
	ssize_t n = 0;
	int fd, err = 0;

	/* One write(2): a kernel file takes a value whole, or not at all. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
	} else {
		n = write(fd, value, len);
		if (n < 0)
			err = errno;
		else if ((size_t)n != len)
			err = EIO;
		if (close(fd) < 0 && !err)
			err = errno;
	}
	if (!shell) {
		snprintf(echo, sizeof(echo), "echo %s > %s", value, path);
		shell = echo;
	}
	explain_call(err ? -1 : (long)len, err, shell, "write(%s, %s)", quoted(path),
		     quoted(value));
	return -err;
}

int traced_read_file(const char *shell, const char *path, char *buf, size_t size)
{
	int r = file_read(path, buf, size);

	explain_call(r, r < 0 ? -r : 0, shell, "read(%s, %s)", quoted(path),
		     quoted(r < 0 ? "" : buf));
	return r;
}

/* --- namespaces and the root --------------------------------------------- */

int traced_unshare(const char *shell, int flags)
{
	char names[256];
	int err, r = result_of(unshare(flags), &err);

	explain_call(r, err, shell, "unshare(%s)",
		     trace_clone_flags(names, sizeof(names), (unsigned long)flags));
	return r;
}

int traced_setns(const char *shell, int fd, int nstype)
{
	char names[64], name[300];
	int err, r;

	trace_fd(name, sizeof(name), fd);   /* before: it names our old namespace */
	r = result_of(setns(fd, nstype), &err);
	explain_call(r, err, shell, "setns(%s, %s)", name,
		     trace_clone_flags(names, sizeof(names), (unsigned long)nstype));
	return r;
}

int traced_sethostname(const char *shell, const char *name)
{
	int err, r = result_of(sethostname(name, strlen(name)), &err);

	explain_call(r, err, shell, "sethostname(%s, %zu)", quoted(name), strlen(name));
	return r;
}

int traced_pivot_root(const char *shell, const char *new_root, const char *put_old)
{
	int err, r = result_of(sys_pivot_root(new_root, put_old), &err);

	explain_call(r, err, shell, "pivot_root(%s, %s)", quoted(new_root), quoted(put_old));
	return r;
}

int traced_statfs(const char *shell, const char *path, struct statfs *st)
{
	int err, r = result_of(statfs(path, st), &err);
	char magic[32] = "?";

	if (r == 0)
		trace_fs_magic(magic, sizeof(magic), (unsigned long)st->f_type);
	explain_call(r, err, shell, "statfs(%s, {f_type=%s})", quoted(path), magic);
	return r;
}

/* --- processes ----------------------------------------------------------- */

pid_t traced_fork(const char *shell)
{
	int err;
	pid_t pid = result_of(fork(), &err);

	if (pid != 0)   /* the parent (or nobody, when it failed) tells */
		explain_call(pid, err, shell, "fork()");
	return pid;
}

int traced_kill(const char *shell, pid_t pid, int sig)
{
	int err, r = result_of(kill(pid, sig), &err);

	explain_call(r, err, shell, "kill(%d, %s)", (int)pid, trace_signal_name(sig));
	return r;
}

int traced_pidfd_open(const char *shell, pid_t pid)
{
	int err, fd = result_of(sys_pidfd_open(pid, 0), &err);

	explain_call(fd, err, shell, "pidfd_open(%d, 0)", (int)pid);
	return fd;
}

int traced_pidfd_send_signal(const char *shell, int pidfd, int sig)
{
	int err, r = result_of(sys_pidfd_send_signal(pidfd, sig, NULL, 0), &err);

	explain_call(r, err, shell, "pidfd_send_signal(%d, %s, NULL, 0)", pidfd,
		     trace_signal_name(sig));
	return r;
}

int traced_poll_in(const char *shell, int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r, err;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	r = result_of(r, &err);
	explain_call(r, err, shell, "poll([{fd=%d, events=POLLIN}], 1, %d)", fd, timeout_ms);
	return r;
}

/* strace's rendering of a wait status: [{WIFEXITED(s) && WEXITSTATUS(s) == 0}] */
static void describe_wait_status(char *buf, size_t size, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "[{WIFEXITED(s) && WEXITSTATUS(s) == %d}]",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "[{WIFSIGNALED(s) && WTERMSIG(s) == %s%s}]",
			 trace_signal_name(WTERMSIG(status)),
			 WCOREDUMP(status) ? " && WCOREDUMP(s)" : "");
	else if (WIFSTOPPED(status))
		snprintf(buf, size, "[{WIFSTOPPED(s) && WSTOPSIG(s) == %s}]",
			 trace_signal_name(WSTOPSIG(status)));
	else
		snprintf(buf, size, "[%#x]", (unsigned)status);
}

pid_t traced_wait4(const char *shell, pid_t pid, int *wstatus, int options,
		   struct rusage *rusage)
{
	char status_text[96] = "NULL", names[64];
	int status = 0, err;
	pid_t r;

	do
		r = result_of(wait4(pid, &status, options, rusage), &err);
	while (r == -EINTR);
	if (wstatus)
		*wstatus = status;
	if (wstatus && r > 0)
		describe_wait_status(status_text, sizeof(status_text), status);
	else if (wstatus)
		snprintf(status_text, sizeof(status_text), "[]");   /* nothing to report */
	explain_call(r, err, shell, "wait4(%d, %s, %s, %s)", (int)pid, status_text,
		     flags_to_string(names, sizeof(names), (unsigned long)options,
				     wait_option_names),
		     rusage ? "{...}" : "NULL");
	return r;
}

/* ["a", "b", "c"] */
static char *describe_argv(char *buf, size_t size, char *const argv[])
{
	size_t used = (size_t)snprintf(buf, size, "[");

	for (int i = 0; argv[i] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s\"%s\"", i ? ", " : "",
					 argv[i]);
	if (used < size)
		snprintf(buf + used, size - used, "]");
	return buf;
}

int traced_execvp(const char *shell, char *const argv[])
{
	char args[ARGS_MAX];
	int err;

	describe_argv(args, sizeof(args), argv);
	if (explain_enabled) {
		/* Now: after a successful exec there is nobody left to print. */
		fprintf(stderr, "execvp(%s, ", quoted(argv[0]));
		put_escaped(stderr, args);
		fputc(')', stderr);
		if (shell) {
			fputs("   # ", stderr);
			put_escaped(stderr, shell);
		}
		fputc('\n', stderr);
	}
	execvp(argv[0], argv);
	err = errno;
	explain_call(-1, err, NULL, "execvp(%s, %s)", quoted(argv[0]), args);
	return -err;
}

int find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	if (strchr(name, '/')) {
		snprintf(buf, size, "%s", name);
		return access(buf, X_OK) == 0 ? 0 : -errno;
	}
	snprintf(dirs, sizeof(dirs), "%s:" SBIN_PATH, path && *path ? path : "");
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
			continue;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
	}
	snprintf(buf, size, "%s", name);
	return -ENOENT;
}

/* What a command wrote into a memfd, NUL-terminated. */
static void memfd_slurp(int fd, char *buf, size_t size)
{
	ssize_t n;

	if (!buf || size == 0)
		return;
	n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
}

/*
 * The child's half of run(): stdin from /dev/null, stdout and stderr where
 * the caller wants them, then exec.  When exec fails, its errno goes back
 * through REPORT_FD (close-on-exec: a successful exec closes it, and the
 * parent reads end-of-file).
 */
static void __attribute__((noreturn))
run_child(const char *exe, char *const argv[], int out_fd, int err_fd, int report_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), e;

	dup2(null, STDIN_FILENO);
	dup2(out_fd >= 0 ? out_fd : null, STDOUT_FILENO);
	if (err_fd >= 0)
		dup2(err_fd, STDERR_FILENO);
	execv(exe, argv);
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(EXIT_CANNOT_EXEC);
	_exit(exit_status_from_exec_error(e));
}

int traced_run_output(const char *shell, char *const argv[], char *out, size_t out_size,
		      char *err_out, size_t err_size)
{
	char exe[PATH_MAX], args[ARGS_MAX];
	int out_fd = -1, err_fd = -1, report[2], status = 0, exec_err = 0, r;
	pid_t pid;

	describe_argv(args, sizeof(args), argv);
	r = find_program(argv[0], exe, sizeof(exe));
	if (r == 0) {
		/* memfds rather than pipes: no deadlock however much it says */
		if (out && (out_fd = memfd_create("stdout", MFD_CLOEXEC)) < 0)
			r = -errno;
		if (r == 0 && err_out && (err_fd = memfd_create("stderr", MFD_CLOEXEC)) < 0)
			r = -errno;
		if (r == 0 && pipe2(report, O_CLOEXEC) < 0)
			r = -errno;
	}
	if (r == 0) {
		pid = fork();
		if (pid == 0)
			run_child(exe, argv, out_fd, err_fd, report[1]);
		close(report[1]);
		if (pid < 0) {
			r = -errno;
		} else {
			if (read(report[0], &exec_err, sizeof(exec_err)) != sizeof(exec_err))
				exec_err = 0;
			while (waitpid(pid, &status, 0) < 0)
				if (errno != EINTR) {
					r = -errno;
					break;
				}
			if (r == 0)
				r = exec_err ? -exec_err : exit_status_from_wait(status);
		}
		close(report[0]);
	}
	explain_call(r, r < 0 ? -r : 0, shell, "run(%s, %s)", quoted(exe), args);
	if (out_fd >= 0) {
		memfd_slurp(out_fd, out, out_size);
		close(out_fd);
	} else if (out && out_size) {
		out[0] = '\0';
	}
	if (err_fd >= 0) {
		memfd_slurp(err_fd, err_out, err_size);
		close(err_fd);
	} else if (err_out && err_size) {
		err_out[0] = '\0';
	}
	return r;
}

int traced_run(const char *shell, char *const argv[])
{
	return traced_run_output(shell, argv, NULL, 0, NULL, 0);
}

/* --- ioctl ---------------------------------------------------------------- */

int traced_ioctl_named(const char *shell, int fd, unsigned long request,
		       const char *request_name, void *arg, trace_arg_decoder decoder)
{
	char name[300], args[ARGS_MAX] = "...";
	int err, r;

	trace_fd(name, sizeof(name), fd);
	r = result_of(ioctl(fd, request, arg), &err);
	if (decoder)
		decoder(args, sizeof(args), arg);
	explain_call(r, err, shell, "ioctl(%s, %s, %s)", name, request_name, args);
	return r;
}

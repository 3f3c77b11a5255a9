/*
 * trace.h - the calls the steps make, each printing its own --explain line.
 *
 * traced_X() makes the call X with the arguments it is given and, with
 * --explain, prints that call decoded from those same arguments (flag
 * names, not numbers, as strace does), its result, and SHELL, the post's
 * command for the same thing, as a comment (NULL: no comment):
 *
 *   mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL) = 0   # mount -t proc proc /proc
 *   pivot_root("/c", "/c/oldroot") = -1 EINVAL (Invalid argument)   # cd /c && pivot_root . oldroot
 *
 * A trace written beside the call, by hand, can drift from what was really
 * done; one printed by the call cannot (style.md 11).  Each flag kind has
 * one table here (mount, umount, clone, open), shared by every step.
 *
 * Like all of common/, each returns 0 (or the call's result: a descriptor,
 * a PID, an exit status) or -errno, and never exits: the step decides what
 * to say about a failure.
 */
#ifndef TUNA_TRACE_H
#define TUNA_TRACE_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/types.h>

/* --- files and mounts ---------------------------------------------------- */

int traced_mount(const char *shell, const char *source, const char *target,
		 const char *fstype, unsigned long flags, const void *data);
int traced_umount2(const char *shell, const char *target, int flags);
int traced_mkdir(const char *shell, const char *path, mode_t mode);
int traced_rmdir(const char *shell, const char *path);
int traced_unlink(const char *shell, const char *path);
int traced_symlink(const char *shell, const char *target, const char *linkpath);
/* MODE holds the file type (S_IFCHR ...) and the permissions, as mknod(2). */
int traced_mknod(const char *shell, const char *path, mode_t mode, dev_t dev);
int traced_chdir(const char *shell, const char *path);
/* The descriptor, or -errno.  MODE matters only with O_CREAT. */
int traced_open(const char *shell, const char *path, int flags, mode_t mode);
int traced_ftruncate(const char *shell, int fd, off_t length);
/* read(2) and write(2) of COUNT bytes on FD, EINTR retried: the count or
 * -errno.  The line shows the bytes as a string: "1234\n". */
ssize_t traced_read(const char *shell, int fd, void *buf, size_t count);
ssize_t traced_write(const char *shell, int fd, const void *buf, size_t count);
/* close_range(2): FLAGS CLOSE_RANGE_CLOEXEC or CLOSE_RANGE_UNSHARE. */
int traced_close_range(const char *shell, unsigned first, unsigned last, unsigned flags);

/*
 * A small kernel file (/proc, /sys, cgroupfs): VALUE in one write(2), the
 * way `echo VALUE > PATH` does, as file_write() (file.h).  With SHELL NULL
 * the comment is that echo.  0 or -errno.
 */
int traced_write_file(const char *shell, const char *path, const char *value);
/* And a read of one: the length read into BUF, or -errno, as file_read(). */
int traced_read_file(const char *shell, const char *path, char *buf, size_t size);

/* statfs(2): the line names the file system by its magic number
 * ({f_type=CGROUP2_SUPER_MAGIC}), as trace_fs_magic does. */
int traced_statfs(const char *shell, const char *path, struct statfs *st);

/* --- namespaces and the root --------------------------------------------- */

int traced_unshare(const char *shell, int flags);
/* The line names FD by what /proc/self/fd/FD links to ("net:[4026532]"). */
int traced_setns(const char *shell, int fd, int nstype);
int traced_sethostname(const char *shell, const char *name);
int traced_pivot_root(const char *shell, const char *new_root, const char *put_old);

/* --- processes ----------------------------------------------------------- */

/* fork(2): the child's PID in the parent (which prints the line), 0 in the
 * child (silent), or -errno. */
pid_t traced_fork(const char *shell);
int traced_kill(const char *shell, pid_t pid, int sig);
/* pidfd_open(2) (the descriptor, or -errno) and pidfd_send_signal(2): a
 * signal to the very process the descriptor names, never a reused PID. */
int traced_pidfd_open(const char *shell, pid_t pid);
int traced_pidfd_send_signal(const char *shell, int pidfd, int sig);
/* poll(2) for POLLIN on FD alone, EINTR retried: 1 when it is readable (a
 * pidfd: its process has exited), 0 after TIMEOUT_MS, or -errno. */
int traced_poll_in(const char *shell, int fd, int timeout_ms);
/* wait4(2), EINTR retried; RUSAGE may be NULL.  The line decodes *WSTATUS
 * as strace does: [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]. */
pid_t traced_wait4(const char *shell, pid_t pid, int *wstatus, int options,
		   struct rusage *rusage);

/*
 * execvp(3): the line is printed first (a successful exec never returns to
 * print it), showing the whole argv.  Returns only on failure: -errno.
 */
int traced_execvp(const char *shell, char *const argv[]);

/*
 * Run a real command (zpool, zfs, mkfs.btrfs) to its end: fork, execv,
 * wait.  ARGV[0] is looked up in $PATH and then in the sbin directories a
 * user's $PATH may lack.  Stdin is /dev/null.  Returns the command's exit
 * status, 128+N when signal N killed it, or -errno: -ENOENT when there is
 * no such command, the exec's error when it could not start.
 *
 *   run("/usr/sbin/zpool", ["zpool", "create", "zpools", "/var/lib/tuna/zpools.img"]) = 0
 *
 * traced_run() throws the command's stdout away and lets its stderr
 * through.  traced_run_output() keeps them instead, NUL-terminated and
 * truncated to fit, in OUT and ERR (either may be NULL: stdout thrown away,
 * stderr let through).
 */
int traced_run(const char *shell, char *const argv[]);
/* Where traced_run finds NAME ($PATH, then the sbin directories): 0 with
 * the path in BUF, or -ENOENT.  For "is zpool installed here?" */
int find_program(const char *name, char *buf, size_t size);
int traced_run_output(const char *shell, char *const argv[], char *out, size_t out_size,
		      char *err, size_t err_size);

/* --- ioctl ---------------------------------------------------------------- */

/*
 * Writes a description of an ioctl's argument ARG into BUF ("{fd=5,
 * flags=BTRFS_SUBVOL_RDONLY, name=\"snap\"}"), for traced_ioctl_decoded.
 * It runs after the call, so it can show what the kernel filled in.
 */
typedef void (*trace_arg_decoder)(char *buf, size_t size, const void *arg);

/*
 *   traced_ioctl(shell, fd, BTRFS_IOC_SNAP_CREATE_V2, &args)
 *   -> ioctl(5</zpools/images>, BTRFS_IOC_SNAP_CREATE_V2, 0x7ffd...) = 0   # btrfs subvolume snapshot -r ...
 *
 * The request's name is the macro's own spelling (#request).  Returns
 * ioctl's result (>= 0) or -errno.
 */
#define traced_ioctl(shell, fd, request, arg) \
	traced_ioctl_named((shell), (fd), (request), #request, (arg), NULL)
#define traced_ioctl_decoded(shell, fd, request, arg, decoder) \
	traced_ioctl_named((shell), (fd), (request), #request, (arg), (decoder))
int traced_ioctl_named(const char *shell, int fd, unsigned long request,
		       const char *request_name, void *arg, trace_arg_decoder decoder);

/* --- decoding, for lines of a step's own -------------------------------- */

/* "5</path>" or "5<net:[4026532]>": FD with what it refers to, as strace -y. */
char *trace_fd(char *buf, size_t size, int fd);
/* The CLONE_NEW* names in FLAGS. */
char *trace_clone_flags(char *buf, size_t size, unsigned long flags);
/* "SIGKILL" */
const char *trace_signal_name(int sig);
/* A file system's magic number by its <linux/magic.h> name ("TMPFS_MAGIC"),
 * or in hex when this table lacks it. */
char *trace_fs_magic(char *buf, size_t size, unsigned long magic);

#endif

/*
 * 04-pivot - give the container its own root, the way the post does by hand.
 *
 * The post, inside `unshare --mount --pid --fork bash`:
 *
 *   cd /zpools/containers/myContainer && mkdir oldroot && pivot_root . oldroot
 *   mkdir proc && mount -t proc proc /proc
 *   umount -l /oldroot
 *
 * chroot(2) would only change how "/" is resolved for one process: the old
 * tree stays mounted and reachable (a root process climbs out of a chroot
 * with a second chroot and "cd .."; see chroot(2)).  pivot_root(2) instead
 * moves the whole mount namespace onto a new root mount and the old root
 * onto a directory under it; unmounting that directory removes the host's
 * file system from the container's world altogether.
 *
 * What it does, in order (the numbers match main()):
 *   1. Refuse to run in the host's mount namespace: every step below would
 *      change the host.  Run it under `02-unshare --mount --pid --fork`.
 *   2. mount(MS_REC|MS_PRIVATE) on /: pivot_root refuses shared mounts, and
 *      nothing we mount must propagate back to the host.
 *   3. Bind NEWROOT onto itself if it is not a mount point (pivot_root needs
 *      a mount point; a plain directory gives EBUSY or EINVAL).
 *   4. mkdir NEWROOT/oldroot; pivot_root(NEWROOT, NEWROOT/oldroot); chdir /.
 *   5. Mount /proc (the PID namespace of this process: it should be PID 1),
 *      and with --sys a sysfs, with --dev a minimal /dev.
 *   6. umount2("/oldroot", MNT_DETACH) and rmdir it.
 *   7. execvp CMD (default /bin/sh), looked up in the new root, with only
 *      stdin, stdout and stderr: any other inherited descriptor is closed.
 *
 * Syscalls: pivot_root(2) (raw: glibc has no wrapper), mount(2), umount2(2),
 * chdir(2), mkdir(2), mknod(2), symlink(2), statx(2), close_range(2),
 * execvp(3).
 * Man pages: pivot_root(2), mount_namespaces(7), proc(5), sysfs(5), pts(4),
 * chroot(2).  Kernel: Documentation/filesystems/sharedsubtree.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/close_range.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tuna.h"

#define PROG "04-pivot"
#define DEFAULT_COMMAND "/bin/sh"
#define OLD_ROOT "oldroot"           /* the post's name for put_old */
#define NEW_DIR_MODE 0755
#define OLD_ROOT_MODE 0700           /* nobody else needs to look in there */
#define DEV_NODE_MODE 0666
#define FIRST_NON_STDIO_FD 3

struct options {
	int no_proc, sys, dev, keep_oldroot;
	const char *new_root;
	char **command;
};

/* A minimal /dev: the nodes every program expects (devices.txt numbers). */
static const struct dev_node {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS] NEWROOT [-- CMD [ARGS]]\n"
		"Make NEWROOT the root of this mount namespace with pivot_root(2), mount\n"
		"/proc, detach the old root, and run CMD (default /bin/sh) inside.\n"
		"Run it in a new mount and PID namespace:\n"
		"  02-unshare --mount --pid --fork -- " PROG " NEWROOT\n"
		"\n"
		"      --no-proc       do not mount /proc\n"
		"      --sys           mount a read-only sysfs on /sys\n"
		"      --dev           mount a minimal /dev (null zero full random urandom\n"
		"                      tty, a private devpts, ptmx, fd)\n"
		"      --keep-oldroot  leave the old root mounted at /oldroot (unsafe)\n"
		"  -x, --explain       trace each kernel interaction on stderr\n"
		"  -h, --help          show this help\n"
		"      --version       show the version\n"
		"\n"
		"Exit status: CMD's; 127 when CMD is not found in NEWROOT; 1 when the\n"
		"kernel refused; 2 for bad usage.\n");
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_NO_PROC = 256, OPT_SYS, OPT_DEV, OPT_KEEP_OLDROOT, OPT_VERSION };
	static const struct option longopts[] = {
		{ "no-proc", no_argument, NULL, OPT_NO_PROC },
		{ "sys", no_argument, NULL, OPT_SYS },
		{ "dev", no_argument, NULL, OPT_DEV },
		{ "keep-oldroot", no_argument, NULL, OPT_KEEP_OLDROOT },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct stat st;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:xh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NO_PROC: opt->no_proc = 1; break;
		case OPT_SYS: opt->sys = 1; break;
		case OPT_DEV: opt->dev = 1; break;
		case OPT_KEEP_OLDROOT: opt->keep_oldroot = 1; break;
		case 'x': explain_enabled = 1; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf(PROG " (tuna) " TUNA_VERSION "\n"); exit(0);
		case ':': die_usage("option '%s' needs an argument", argv[optind - 1]);
		default: die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		die_usage("missing NEWROOT (see --help)");
	opt->new_root = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind < argc)
		opt->command = &argv[optind];

	if (stat(opt->new_root, &st) < 0)
		die_usage("NEWROOT '%s': %s", opt->new_root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die_usage("NEWROOT '%s': not a directory", opt->new_root);
	if (strlen(opt->new_root) + sizeof("/" OLD_ROOT) > PATH_MAX)
		die_usage("NEWROOT '%s': path too long", opt->new_root);
}

/* 2. Nothing we do may propagate to the host, and pivot_root wants it so. */
static void make_mounts_private(void)
{
	int r = traced_mount("mount --make-rprivate /", NULL, "/", NULL, MS_REC | MS_PRIVATE,
			     NULL);

	if (r < 0)
		die_err(-r, "make / recursively private");
}

/* statx(2) says whether a path is the root of a mount (Linux 5.8). */
static int is_mount_point(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
		die_errno("statx %s", path);
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		die("statx %s: this kernel does not report mount roots", path);
	return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

/* 3. pivot_root's new_root must be a mount: make the directory one. */
static void bind_onto_itself(const char *dir)
{
	char shell[PATH_MAX * 2 + 32];
	int r;

	snprintf(shell, sizeof(shell), "mount --rbind %s %s", dir, dir);
	r = traced_mount(shell, dir, dir, NULL, MS_BIND | MS_REC, NULL);
	if (r < 0)
		die_err(-r, "bind-mount %s onto itself", dir);
	undo_umount(dir);
}

/* 4. The pivot itself, with the kernel's reasons spelled out. */
static void pivot_to(const char *new_root)
{
	char put_old[PATH_MAX + sizeof("/" OLD_ROOT)], shell[sizeof(put_old) + 64];
	int r;

	snprintf(put_old, sizeof(put_old), "%s/" OLD_ROOT, new_root);
	r = traced_mkdir("mkdir oldroot", put_old, OLD_ROOT_MODE);
	if (r == 0)
		undo_rmdir(put_old);
	else if (r != -EEXIST)
		die_err(-r, "mkdir %s", put_old);

	snprintf(shell, sizeof(shell), "cd %s && pivot_root . " OLD_ROOT, new_root);
	r = traced_pivot_root(shell, new_root, put_old);
	/* pivot_root(2) ERRORS; the order seen on 6.18 is in docs/04-pivot.md */
	if (r < 0)
		die_hint(-r, r == -EINVAL ? "a mount involved has shared propagation (mount "
			 "--make-rprivate /), or new_root is not a mount point, or put_old is "
			 "not under new_root" :
			 r == -EBUSY ? "new_root or put_old is on the current root mount: "
			 "new_root must be a mount point of its own (mount --bind DIR DIR)" :
			 r == -EPERM ? "pivot_root needs CAP_SYS_ADMIN in the mount "
			 "namespace's user namespace: run as root" : NULL,
			 "pivot_root %s %s", new_root, put_old);
	undo_forget(); /* the old root is ours to remove from now on */
	if ((r = traced_chdir(NULL, "/")) < 0)
		die_err(-r, "chdir / in the new root");
}

/* mkdir for mount points in the new root; an existing directory is fine. */
static void make_dir(const char *path)
{
	int r = traced_mkdir(NULL, path, NEW_DIR_MODE);

	if (r < 0 && r != -EEXIST)
		die_err(-r, "mkdir %s", path);
}

static void mount_fs(const char *source, const char *target, const char *type,
		     unsigned long flags, const char *data, const char *shell)
{
	int r = traced_mount(shell, source, target, type, flags, data);

	if (r < 0)
		die_err(-r, "mount %s on %s", type, target);
}

/*
 * 5a. proc shows the PID namespace of the process that mounts it (proc(5),
 * pid_namespaces(7)): ours, in which we should be PID 1.
 */
static void mount_proc(void)
{
	make_dir("/proc");
	mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		 "mount -t proc proc /proc");
	if (getpid() != 1)
		explain_note("# this process is PID %d, not 1: /proc shows the PID namespace "
			     "it runs in (run it under 02-unshare --pid --fork)", (int)getpid());
}

/* 5b. sysfs shows the network devices of our network namespace. Read-only. */
static void mount_sys(void)
{
	make_dir("/sys");
	mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
		 NULL, "mount -t sysfs -o ro sysfs /sys");
}

/*
 * 5c. A /dev with only what programs need, not the host's devices: a tmpfs,
 * six character nodes, a devpts of our own (newinstance: its ptys are not
 * the host's) with /dev/ptmx pointing into it (pts(4),
 * Documentation/filesystems/devpts.rst), and /dev/fd.
 */
static void mount_dev(void)
{
	char path[64];
	mode_t old_umask;
	int r;

	make_dir("/dev");
	mount_fs("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755",
		 "mount -t tmpfs -o mode=755 tmpfs /dev");
	old_umask = umask(0); /* the nodes are 0666, whatever our umask says */
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		const struct dev_node *d = &dev_nodes[i];

		snprintf(path, sizeof(path), "/dev/%s", d->name);
		r = traced_mknod(NULL, path, S_IFCHR | DEV_NODE_MODE, makedev(d->major, d->minor));
		if (r < 0)
			die_err(-r, "mknod %s", path);
	}
	umask(old_umask);
	make_dir("/dev/pts");
	mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		 "newinstance,ptmxmode=0666,mode=0620",
		 "mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts");
	if ((r = traced_symlink(NULL, "pts/ptmx", "/dev/ptmx")) < 0)
		die_err(-r, "symlink /dev/ptmx");
	if ((r = traced_symlink(NULL, "/proc/self/fd", "/dev/fd")) < 0)
		die_err(-r, "symlink /dev/fd");
}

/*
 * 6. Detach the old root.  MNT_DETACH ("umount -l") because the host's
 * mounts under it are busy; it disappears from our namespace at once.
 */
static void detach_old_root(void)
{
	int r = traced_umount2("umount -l /" OLD_ROOT, "/" OLD_ROOT, MNT_DETACH);

	if (r < 0)
		die_err(-r, "umount /" OLD_ROOT);
	if ((r = traced_rmdir("rmdir /" OLD_ROOT, "/" OLD_ROOT)) < 0)
		die_err(-r, "rmdir /" OLD_ROOT);
}

/* 7. Run CMD.  PATH is searched in the new root now. */
static void __attribute__((noreturn)) exec_command(char **command)
{
	static char *default_argv[] = { DEFAULT_COMMAND, NULL };
	char not_found[2 * PATH_MAX];
	int r;

	if (!command)
		command = default_argv;
	/*
	 * Only stdin, stdout and stderr go in.  Any other descriptor we were
	 * given may be a directory of the host's, and openat(fd, "..") climbs
	 * out of the new root from it: runc's CVE-2024-21626 was such a leaked
	 * fd.  CLOEXEC rather than close, so the message below can still print.
	 */
	r = traced_close_range(NULL, FIRST_NON_STDIO_FD, ~0U, CLOSE_RANGE_CLOEXEC);
	if (r < 0)
		die_err(-r, "close_range");
	r = traced_execvp(NULL, command);
	snprintf(not_found, sizeof(not_found), "paths are looked up in the new root now: copy "
		 "%s into it, and for a dynamically linked program its loader and libraries "
		 "(ldd %s)", command[0], command[0]);
	die_status(exit_status_from_exec_error(-r), -r, r == -ENOENT ? not_found : NULL,
		   "exec %s in the new root", command[0]);
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	char new_root[PATH_MAX];
	int r;

	tuna_set_prog(PROG);
	parse_options(argc, argv, &opt);
	/* pivot_root compares mounts, not names: resolve symlinks and "..". */
	if (!realpath(opt.new_root, new_root))
		die_usage("NEWROOT '%s': %s", opt.new_root, strerror(errno));
	if (strcmp(new_root, "/") == 0)
		die_usage("NEWROOT '%s': that is the root already", opt.new_root);

	/* 1. Never in the host's mount namespace (mountinfo.h says how it tells). */
	r = in_host_mount_namespace();
	if (r < 0)
		die_err(-r, "readlink /proc/1/ns/mnt (to tell whether this is the host's "
			"mount namespace)");
	if (r) {
		char how[PATH_MAX + 96];

		snprintf(how, sizeof(how), "run it in a new mount namespace: 02-unshare --mount "
			 "--pid --fork -- " PROG " %s", opt.new_root);
		die_hint(0, how, "refusing to pivot the host's mount namespace");
	}

	/* 2. Private propagation, for the host's sake and pivot_root's. */
	make_mounts_private();

	/* 3. A mount point to pivot onto. */
	if (!is_mount_point(new_root))
		bind_onto_itself(new_root);

	/* 4. Swap the roots. */
	pivot_to(new_root);

	/* 5. The kernel's views of this container: /proc, /sys, /dev. */
	if (!opt.no_proc)
		mount_proc();
	if (opt.sys)
		mount_sys();
	if (opt.dev)
		mount_dev();

	/* 6. Let go of the host's file system. */
	if (!opt.keep_oldroot)
		detach_old_root();

	/* 7. Become CMD. */
	exec_command(opt.command);
}

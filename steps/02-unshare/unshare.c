/*
 * 02-unshare - run a command in new namespaces, as unshare(1) does.
 *
 * A container is only a process that sees its own copy of some kernel
 * objects: mounts, hostname, IPC, network, PIDs, cgroup root, clocks, user
 * IDs.  Each of these is a namespace, and unshare(2) takes the caller out of
 * the ones it names.  The post runs
 *
 *   unshare --mount --uts --ipc --net --pid --cgroup --fork bash
 *
 * and this is that tool, with util-linux's option names, showing each step:
 *
 *   1. unshare(2) with one CLONE_NEW* flag per namespace.
 *   2. With --user --map-root-user: setgroups "deny", then uid_map and
 *      gid_map "0 UID 1", so the caller is root inside (user_namespaces(7)).
 *   3. With --mount: make every mount private.  unshare(2) copies the mount
 *      table with its propagation; a shared mount would carry our mounts back
 *      to the host.  util-linux's unshare(1) does this; the syscall does not.
 *   4. With --hostname: sethostname(2) in the new UTS namespace.
 *   5. With --fork: fork(2).  unshare(CLONE_NEWPID) does not move the caller;
 *      only its next child is created in the new PID namespace, as PID 1.
 *      The parent waits and forwards SIGINT/SIGTERM.
 *   6. In the process that runs CMD: --mount-proc, --wait, then execvp(3).
 *
 * Without --fork, --pid does what the post's deep dive describes: CMD stays
 * outside, its first child becomes PID 1, and once that child exits the
 * namespace is dead: every later fork(2) fails with ENOMEM.
 *
 * Two siblings a first reading can skip: show.c (--show, the post's ls -l
 * /proc/PID/ns) and pidfile.c (--pidfile, how a lab learns the PID).
 *
 * Syscalls: unshare(2), mount(2), sethostname(2), fork(2), wait4(2),
 * kill(2), execvp(3).  Man pages: unshare(1), unshare(2), namespaces(7),
 * pid_namespaces(7), user_namespaces(7), mount_namespaces(7), time_namespaces(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "unshare.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* Linux 5.6; <linux/sched.h> */
#endif

#define PROG "02-unshare"
#define DEFAULT_SHELL "/bin/sh"   /* when $SHELL is unset, as unshare(1) */

/* Each namespace: its clone flag, util-linux's option, its /proc/PID/ns name. */
static const struct namespace_kind {
	int flag;
	const char *option;
	const char *proc_name;
} namespace_kinds[] = {
	{ CLONE_NEWNS, "--mount", "mnt" },
	{ CLONE_NEWUTS, "--uts", "uts" },
	{ CLONE_NEWIPC, "--ipc", "ipc" },
	{ CLONE_NEWNET, "--net", "net" },
	{ CLONE_NEWPID, "--pid", "pid" },
	{ CLONE_NEWCGROUP, "--cgroup", "cgroup" },
	{ CLONE_NEWTIME, "--time", "time" },
	{ CLONE_NEWUSER, "--user", "user" },
};
#define NR_KINDS (sizeof(namespace_kinds) / sizeof(namespace_kinds[0]))

struct options {
	int flags;              /* CLONE_NEW* */
	int map_root_user;
	int fork;
	int mount_proc;
	const char *hostname;
	const char *pidfile;
	const char *wait_fifo;
	int show;
	const char *show_pid;   /* NULL: self */
	char **command;         /* NULL: $SHELL or /bin/sh */
};

static volatile sig_atomic_t child_pid; /* for the signal forwarder */


static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS] [-- CMD [ARGS]]\n"
		"       " PROG " --show [PID]\n"
		"Run CMD (default $SHELL, else /bin/sh) in new namespaces.\n"
		"\n"
		"  -m, --mount          new mount namespace; / is made recursively private\n"
		"  -u, --uts            new UTS namespace (hostname)\n"
		"  -i, --ipc            new IPC namespace\n"
		"  -n, --net            new network namespace\n"
		"  -p, --pid            new PID namespace (for children: use --fork)\n"
		"  -C, --cgroup         new cgroup namespace\n"
		"  -T, --time           new time namespace (for children: needs --fork)\n"
		"  -U, --user           new user namespace\n"
		"  -r, --map-root-user  map the caller's UID and GID to 0 (implies --user)\n"
		"  -f, --fork           fork, run CMD in the child (PID 1 with --pid), wait\n"
		"      --hostname NAME  set the hostname inside (implies --uts)\n"
		"      --mount-proc     mount a new /proc in the child (needs --pid --fork;\n"
		"                       implies --mount)\n"
		"      --pidfile FILE   write the host PID of the process that runs CMD\n"
		"      --wait FIFO      before exec, block until a byte arrives on FIFO\n"
		"      --show [PID]     list /proc/PID/ns (default: this process), marking\n"
		"                       with '*' each namespace that differs from PID 1's\n"
		"  -x, --explain        trace each kernel interaction on stderr\n"
		"  -h, --help           show this help\n"
		"      --version        show the version\n"
		"\n"
		"Exit status: CMD's, or 128+N when CMD was killed by signal N; 1 when the\n"
		"kernel refused; 2 for bad usage.\n"
		"Example: " PROG " --mount --uts --ipc --net --pid --cgroup --fork -- bash\n");
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_HOSTNAME = 256, OPT_MOUNT_PROC, OPT_PIDFILE, OPT_WAIT, OPT_SHOW,
	       OPT_VERSION };
	static const struct option longopts[] = {
		{ "mount", no_argument, NULL, 'm' },   { "uts", no_argument, NULL, 'u' },
		{ "ipc", no_argument, NULL, 'i' },     { "net", no_argument, NULL, 'n' },
		{ "pid", no_argument, NULL, 'p' },     { "cgroup", no_argument, NULL, 'C' },
		{ "time", no_argument, NULL, 'T' },    { "user", no_argument, NULL, 'U' },
		{ "map-root-user", no_argument, NULL, 'r' },
		{ "fork", no_argument, NULL, 'f' },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ "mount-proc", no_argument, NULL, OPT_MOUNT_PROC },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "show", optional_argument, NULL, OPT_SHOW },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	/* util-linux's letters, in the order of namespace_kinds[] */
	static const char short_to_flag[] = "muinpCTU";
	struct stat st;
	size_t len;
	int c;

	opterr = 0; /* we say it ourselves, in one line */
	/* '+': stop at CMD, so its own options are not taken for ours. */
	while ((c = getopt_long(argc, argv, "+:muinpCTUrfxh", longopts, NULL)) != -1) {
		const char *p = c > 0 && c < 256 ? strchr(short_to_flag, c) : NULL;

		if (p) {
			opt->flags |= namespace_kinds[p - short_to_flag].flag;
			continue;
		}
		switch (c) {
		case 'r': opt->map_root_user = 1; opt->flags |= CLONE_NEWUSER; break;
		case 'f': opt->fork = 1; break;
		case OPT_HOSTNAME: opt->hostname = optarg; opt->flags |= CLONE_NEWUTS; break;
		case OPT_MOUNT_PROC: opt->mount_proc = 1; opt->flags |= CLONE_NEWNS; break;
		case OPT_PIDFILE: opt->pidfile = optarg; break;
		case OPT_WAIT: opt->wait_fifo = optarg; break;
		case OPT_SHOW: opt->show = 1; opt->show_pid = optarg; break;
		case 'x': explain_enabled = 1; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf(PROG " (tuna) " TUNA_VERSION "\n"); exit(0);
		case ':': die_usage("option '%s' needs an argument", argv[optind - 1]);
		default: die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}

	if (opt->show) {
		pid_t pid;

		if (!opt->show_pid && optind < argc)
			opt->show_pid = argv[optind++];
		if (opt->show_pid && parse_pid(opt->show_pid, &pid) < 0)
			die_usage("--show '%s': not a PID", opt->show_pid);
		if (optind < argc || opt->flags || opt->fork || opt->pidfile || opt->wait_fifo)
			die_usage("--show takes only a PID (see --help)");
		return;
	}
	if (optind < argc)
		opt->command = &argv[optind];

	/* Refuse what cannot work before anything is changed. */
	if (opt->hostname) {
		len = strlen(opt->hostname);
		if (len == 0 || len > HOST_NAME_MAX)
			die_usage("--hostname '%s': must be 1..%d bytes (HOST_NAME_MAX)",
				  opt->hostname, HOST_NAME_MAX);
	}
	if (opt->mount_proc && !((opt->flags & CLONE_NEWPID) && opt->fork))
		die_usage("--mount-proc needs --pid --fork: a new /proc shows the PID "
			  "namespace of the process that mounts it");
	if ((opt->flags & CLONE_NEWTIME) && !opt->fork)
		die_usage("--time applies to children only: add --fork");
	if (opt->pidfile && opt->pidfile[0] == '\0')
		die_usage("--pidfile: empty file name");
	if (opt->wait_fifo && (stat(opt->wait_fifo, &st) < 0 || !S_ISFIFO(st.st_mode)))
		die_usage("--wait '%s': not a FIFO (make one with mkfifo)", opt->wait_fifo);
}

/* 1. One unshare(2) for every namespace asked for. */
static void unshare_namespaces(const struct options *opt)
{
	char flags[256], shell[256] = "unshare";
	size_t used = strlen(shell);
	int r;

	for (size_t i = 0; i < NR_KINDS; i++)
		if (opt->flags & namespace_kinds[i].flag)
			used += (size_t)snprintf(shell + used, sizeof(shell) - used, " %s",
						 namespace_kinds[i].option);
	if (opt->fork)
		snprintf(shell + used, sizeof(shell) - used, " --fork");

	r = traced_unshare(shell, opt->flags);
	if (r < 0) {
		trace_clone_flags(flags, sizeof(flags), (unsigned long)opt->flags);
		die_hint(-r, r == -EPERM ? "every namespace but --user needs CAP_SYS_ADMIN: run "
			 "as root, or add --user --map-root-user" : NULL, "unshare(%s)", flags);
	}
}

/*
 * 2. Map the caller to root in its new user namespace.  setgroups must be
 * denied before an unprivileged gid_map write (user_namespaces(7)); each
 * map file takes one write only.
 */
static void map_root_user(uid_t outer_uid, gid_t outer_gid)
{
	int r;

	if ((r = file_write("/proc/self/setgroups", "deny")) < 0)
		die_err(-r, "write /proc/self/setgroups");
	if ((r = file_writef("/proc/self/uid_map", "0 %u 1", (unsigned)outer_uid)) < 0)
		die_err(-r, "write /proc/self/uid_map");
	if ((r = file_writef("/proc/self/gid_map", "0 %u 1", (unsigned)outer_gid)) < 0)
		die_err(-r, "write /proc/self/gid_map");
}

/*
 * 3. The new mount namespace is a copy, propagation included: a mount made
 * under a shared mount would appear on the host too (mount_namespaces(7)).
 */
static void make_mounts_private(void)
{
	int r = traced_mount("mount --make-rprivate /   (unshare(1) does this; unshare(2) "
			     "does not)", NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);

	if (r < 0)
		die_err(-r, "make / recursively private");
}

/* 4. Only this UTS namespace sees the new name. */
static void set_hostname(const char *name)
{
	char shell[HOST_NAME_MAX + 16];
	int r;

	snprintf(shell, sizeof(shell), "hostname %s", name);
	if ((r = traced_sethostname(shell, name)) < 0)
		die_err(-r, "sethostname '%s'", name);
}

/* The undo of the fork, when the parent fails after it (the pidfile). */
static void kill_child(void *unused)
{
	(void)unused;
	traced_kill("undo", child_pid, SIGKILL);
	traced_wait4("undo", child_pid, NULL, 0, NULL);
}

/*
 * Pass SIGINT/SIGTERM on to CMD.  A terminal's ^C (si_code SI_KERNEL)
 * already reached CMD, which is in our process group: do not send it twice.
 * A PID 1 ignores signals it has no handler for (pid_namespaces(7)).
 */
static void forward_signal(int sig, siginfo_t *info, void *context)
{
	(void)context;
	if (child_pid > 0 && info->si_code != SI_KERNEL)
		kill(child_pid, sig);
}

/* 5. Fork the process that runs CMD; PID 1 if we unshared the PID namespace. */
static pid_t fork_command_process(void)
{
	struct sigaction sa;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	pid = traced_fork("unshare --fork");
	if (pid < 0)
		die_err(-pid, "fork");
	if (pid == 0) {
		undo_forget(); /* the parent's undo stack is the parent's */
		return 0;
	}
	child_pid = pid;
	return pid;
}

/* The parent's job with --fork: wait for CMD and return its status. */
static int wait_for_command(pid_t pid)
{
	int status, r = traced_wait4(NULL, pid, &status, 0, NULL);

	if (r < 0)
		die_err(-r, "wait4 %d", (int)pid);
	return exit_status_from_wait(status);
}

/* 6a. A /proc of the new PID namespace: ps and /proc/self tell the truth. */
static void mount_proc(void)
{
	int r = traced_mount("mount -t proc proc /proc", "proc", "/proc", "proc",
			     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

	if (r < 0)
		die_err(-r, "mount proc on /proc");
}

/*
 * 6b. Block until the lab says go.  O_RDWR on a FIFO does not block on
 * Linux and keeps a writer open, so read() waits for a byte instead of
 * returning end-of-file when a writer comes and goes (fifo(7)).
 */
static void wait_for_go(const char *fifo)
{
	char byte, shell[PATH_MAX + 16];
	ssize_t n;
	int fd = traced_open(NULL, fifo, O_RDWR | O_CLOEXEC, 0);

	if (fd < 0)
		die_err(-fd, "open --wait FIFO %s", fifo);
	snprintf(shell, sizeof(shell), "echo > %s", fifo);
	explain_note("# waiting for a byte on %s (%s)", fifo, shell);
	if ((n = traced_read(shell, fd, &byte, 1)) < 0)
		die_err((int)-n, "read --wait FIFO %s", fifo);
	close(fd);
}

/* 6c. Become CMD.  Exit statuses for a failed exec are the shell's. */
static void __attribute__((noreturn)) exec_command(char **command)
{
	char *shell_argv[2] = { getenv("SHELL"), NULL };
	int r;

	if (!command) {
		if (!shell_argv[0] || !shell_argv[0][0])
			shell_argv[0] = DEFAULT_SHELL;
		command = shell_argv;
	}
	r = traced_execvp(NULL, command);
	die_status(exit_status_from_exec_error(-r), -r, NULL, "exec %s", command[0]);
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct pidfile pidfile = { 0 };

	tuna_set_prog(PROG);
	parse_options(argc, argv, &opt);
	if (opt.show)
		return show_namespaces(opt.show_pid);

	/* 1. Leave the namespaces. */
	unshare_namespaces(&opt);

	/* 2. In a new user namespace, become root (the IDs we had, mapped to 0). */
	if (opt.map_root_user)
		map_root_user(uid, gid);

	/* 3. Keep our mounts to ourselves. */
	if (opt.flags & CLONE_NEWNS)
		make_mounts_private();

	/* 4. Name the new UTS namespace. */
	if (opt.hostname)
		set_hostname(opt.hostname);

	/* 5. Fork the process that runs CMD, or run it here (the post's trap). */
	if (opt.pidfile)
		pidfile_open(&pidfile, opt.pidfile);
	if (opt.fork) {
		pid_t pid = fork_command_process();
		int status;

		if (pid > 0) {
			undo_push(kill_child, NULL);
			if (opt.pidfile) {
				pidfile_write(&pidfile, pid);
				undo_push(pidfile_remove, &pidfile);
			}
			status = wait_for_command(pid);

			undo_forget();
			if (opt.pidfile)
				pidfile_remove(&pidfile);
			return status;
		}
	} else {
		if (opt.flags & CLONE_NEWPID)
			hint("--pid without --fork: CMD stays in this PID namespace; its first "
			     "child becomes PID 1 of the new one, and once that child exits "
			     "every fork fails with ENOMEM (Cannot allocate memory). Add --fork.");
		if (opt.pidfile)
			pidfile_write(&pidfile, getpid());
	}

	/* 6. In the process that runs CMD: /proc, the lab's go, exec. */
	if (opt.mount_proc)
		mount_proc();
	if (opt.wait_fifo)
		wait_for_go(opt.wait_fifo);
	exec_command(opt.command);
}

/*
 * 08-harden - what makes the container a sandbox: close the doors a root
 * process inside it still has open onto the host, the way runc does.
 *
 * The container of steps 02 and 04 sees only its own processes, mounts and
 * network, but what it MAY do is still everything root may do: every
 * capability (CapEff 000001ffffffffff), a /proc whose /proc/sys is the
 * host's kernel settings (core_pattern is global: "|/path" there makes the
 * kernel run a program as root on the host at the next crash), mount(2) for
 * a sysfs or a cgroupfs, mknod(2) for the host's disk.  Isolation of what
 * it sees is not isolation of what it can do.
 *
 * Run it as 04-pivot's command, inside the new root:
 *
 *   02-unshare --mount --uts --ipc --net --pid --cgroup --fork -- \
 *     04-pivot --dev ROOT -- /bin/08-harden -- /bin/sh
 *
 * What it does, in runc's order (the numbers match main() and the lesson):
 *   1. Masked paths (runc's defaults): /dev/null bound over the files, an
 *      empty read-only tmpfs over the directories; read-only paths: bound
 *      onto themselves, remounted read-only, nosuid, nodev, noexec.  Mounts
 *      come first: the steps after this one take the power to mount away.
 *   2. Capabilities: the bounding set cut to Docker's fourteen
 *      (PR_CAPBSET_DROP), then capset(2) on permitted, effective and
 *      inheritable, ambient cleared.  As root stays root (uid 0), execve
 *      gives the program the bounding set: what we leave there is all it
 *      will ever have.
 *   3. PR_SET_NO_NEW_PRIVS: no execve may gain privileges again (setuid
 *      bits and file capabilities are ignored), which also lets an
 *      unprivileged process install a seccomp filter.
 *   4. seccomp: a classic-BPF filter, written by hand, run by the kernel at
 *      every system call entry: the architecture checked first, then EPERM
 *      for the calls Docker's default profile denies that matter here.
 *      Last, right before execve, so our own calls above were not filtered.
 *   5. execvp CMD.
 * A failure at any step ends the run (exit 1) before CMD starts: never a
 * half-hardened shell.
 *
 * Syscalls: mount(2), prctl(2) (PR_CAPBSET_DROP, PR_CAP_AMBIENT,
 * PR_SET_NO_NEW_PRIVS), capset(2), seccomp(2), execvp(3).
 * Man pages: capabilities(7), prctl(2), seccomp(2), proc(5).  Kernel:
 * Documentation/userspace-api/seccomp_filter.rst,
 * Documentation/userspace-api/no_new_privs.rst.
 * Siblings a first reading can skip: caps.c (names, parser),
 * trace_security.c (the --explain lines, the filter's listing), try.c (the
 * escapes --try attempts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>

#include "caps.h"
#include "trace_security.h"
#include "try.h"
#include "tuna.h"

#define PROG "08-harden"
#define CAP_LAST_CAP_FILE "/proc/sys/kernel/cap_last_cap"
#define NULL_DEVICE "/dev/null"
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47                     /* Linux 4.3 */
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U  /* Linux 4.14 */
#endif
#define X32_SYSCALL_BIT 0x40000000U           /* <asm/unistd.h> __X32_SYSCALL_BIT */
/* clone(2)'s namespace flags: Docker's profile allows clone only without
 * them (its mask 2114060288).  CLONE_NEWTIME needs clone3 or unshare. */
#define CLONE_NAMESPACE_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
			       CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* 1. runc's default masked and read-only paths (libcontainer's example spec,
 * `runc spec`; Docker's oci/defaults.go has the same lists). */
static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/*
 * 4. What the filter refuses with EPERM: the calls of Docker's default
 * profile (moby's profiles/seccomp/default.json) that let a root process
 * reach past its container: mounts, the kernel's own code and memory,
 * swap, the clock, keys, raw I/O ports, namespaces.
 */
#define DENY(call) { SYS_##call, #call }
static const struct denied_call {
	unsigned nr;
	const char *name;
} denied_calls[] = {
	DENY(mount), DENY(umount2), DENY(pivot_root), DENY(swapon), DENY(swapoff),
	DENY(reboot), DENY(kexec_load), DENY(kexec_file_load), DENY(init_module),
	DENY(finit_module), DENY(delete_module), DENY(open_by_handle_at), DENY(bpf),
	DENY(perf_event_open), DENY(keyctl), DENY(add_key), DENY(request_key),
	DENY(userfaultfd), DENY(acct), DENY(quotactl), DENY(settimeofday),
	DENY(clock_settime), DENY(iopl), DENY(ioperm), DENY(setns), DENY(unshare),
};
#define DENIED_COUNT (sizeof(denied_calls) / sizeof(denied_calls[0]))
/* The filter: 6 checks, clone3, the list, 3 for clone, 3 returns. */
#define FILTER_MAX (6 + 1 + DENIED_COUNT + 3 + 3)

struct options {
	uint64_t caps;
	int no_seccomp, no_mask;
	const char *try_list;
	char **command;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS] -- CMD [ARGS]\n"
		"       " PROG " --try ESCAPE[,ESCAPE...]\n"
		"Close what a container's root can still reach of the host, as runc does,\n"
		"then run CMD: masked and read-only /proc and /sys paths, the capability\n"
		"bounding set cut, no_new_privs, a seccomp filter.  Run it as 04-pivot's\n"
		"command, inside the container's new root and mount namespace.\n"
		"\n"
		"      --caps SET      capabilities to keep: default (Docker's fourteen),\n"
		"                      none, or names as capabilities(7) spells them,\n"
		"                      with or without CAP_: chown,kill,net_raw\n"
		"      --no-seccomp    install no seccomp filter\n"
		"      --no-mask       leave /proc and /sys as they are\n"
		"      --try LIST      do not harden: attempt each escape and say what the\n"
		"                      kernel answered (%s)\n"
		"  -x, --explain       trace each kernel interaction on stderr\n"
		"  -h, --help          show this help\n"
		"      --version       show the version\n"
		"\n"
		"Exit status: CMD's; 127 when CMD is not found; 1 when the kernel refused\n"
		"a step (CMD is then not run); 2 for bad usage.\n", try_names());
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_CAPS = 256, OPT_NO_SECCOMP, OPT_NO_MASK, OPT_TRY, OPT_VERSION };
	static const struct option longopts[] = {
		{ "caps", required_argument, NULL, OPT_CAPS },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "no-mask", no_argument, NULL, OPT_NO_MASK },
		{ "try", required_argument, NULL, OPT_TRY },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	char bad[64];
	int c;

	opt->caps = cap_docker_default();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:xh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CAPS:
			if (cap_parse_list(optarg, &opt->caps, bad, sizeof(bad)) < 0)
				die_usage("--caps: '%s' is not a capability (capabilities(7) names "
					  "them: chown, sys_admin, CAP_KILL ...)", bad);
			break;
		case OPT_NO_SECCOMP: opt->no_seccomp = 1; break;
		case OPT_NO_MASK: opt->no_mask = 1; break;
		case OPT_TRY: opt->try_list = optarg; break;
		case 'x': explain_enabled = 1; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf(PROG " (tuna) " TUNA_VERSION "\n"); exit(0);
		case ':': die_usage("option '%s' needs an argument", argv[optind - 1]);
		default: die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (opt->try_list) {
		if (optind < argc)
			die_usage("--try runs no command: '%s' (see --help)", argv[optind]);
		return;
	}
	if (optind >= argc)
		die_usage("missing CMD: 08-harden -- CMD [ARGS] (see --help)");
	opt->command = &argv[optind];
}

/*
 * 1a. A masked path reads as nothing: /dev/null bound over a file (so
 * /proc/kcore, the kernel's memory as an ELF core, reads empty), an empty
 * read-only tmpfs over a directory.  runc's maskPath does the same.
 */
static void mask_path(const char *path)
{
	char shell[256];
	struct stat st;
	int r;

	if (lstat(path, &st) < 0) {
		explain_note("# %s: absent here, nothing to mask", path);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(shell, sizeof(shell), "mount -t tmpfs -o ro tmpfs %s", path);
		r = traced_mount(shell, "tmpfs", path, "tmpfs", MS_RDONLY, NULL);
	} else {
		snprintf(shell, sizeof(shell), "mount --bind /dev/null %s", path);
		r = traced_mount(shell, NULL_DEVICE, path, NULL, MS_BIND, NULL);
	}
	if (r < 0)
		die_err(-r, "mask %s", path);
}

/*
 * 1b. A read-only path: a bind mount of the path onto itself is a mount of
 * its own, whose flags a remount changes without touching the original
 * (mount(2): MS_REMOUNT|MS_BIND changes the per-mount flags only).  Writes
 * then fail with EROFS before any /proc/sys handler runs.
 */
static void make_read_only(const char *path)
{
	unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char shell[256];
	struct stat st;
	int r;

	if (lstat(path, &st) < 0) {
		explain_note("# %s: absent here", path);
		return;
	}
	snprintf(shell, sizeof(shell), "mount --bind %s %s", path, path);
	if ((r = traced_mount(shell, path, path, NULL, MS_BIND | MS_REC, NULL)) < 0)
		die_err(-r, "bind %s onto itself", path);
	snprintf(shell, sizeof(shell), "mount -o remount,bind,ro,nosuid,nodev,noexec %s", path);
	if ((r = traced_mount(shell, path, path, NULL, ro, NULL)) < 0)
		die_err(-r, "remount %s read-only", path);
}

static void mask_and_protect(void)
{
	struct stat st;

	/* The mask's source must be the real null device, not a file named so. */
	if (stat(NULL_DEVICE, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(1, 3))
		die_hint(0, "mount a /dev with its null device first: 04-pivot --dev",
			 "mask /proc paths: " NULL_DEVICE " is not the null device here");
	for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++)
		mask_path(masked_paths[i]);
	for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++)
		make_read_only(readonly_paths[i]);
}

/*
 * 2. The capability cut.  The bounding set is the ceiling execve computes
 * root's new permitted set from (capabilities(7), "Transformation of
 * capabilities during execve()"): a capability dropped from it cannot come
 * back, even through a setuid-root program.  Dropping needs CAP_SETPCAP,
 * which we still hold; capset then lowers what this process holds now.
 */
static void cut_capabilities(uint64_t keep)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	char text[16];
	int r, last;

	if ((r = file_read(CAP_LAST_CAP_FILE, text, sizeof(text))) < 0)
		die_err(-r, "read " CAP_LAST_CAP_FILE);
	last = atoi(text);
	for (int cap = 0; cap <= last; cap++) {
		if (keep & (UINT64_C(1) << cap))
			continue;
		r = traced_prctl(NULL, PR_CAPBSET_DROP, (unsigned long)cap, 0);
		if (r < 0)
			die_hint(-r, r == -EPERM ? "dropping from the bounding set needs "
				 "CAP_SETPCAP: run it as root in the container" : NULL,
				 "prctl PR_CAPBSET_DROP %s", cap_name((unsigned)cap) ?
				 cap_name((unsigned)cap) : "?");
	}
	for (int i = 0; i < 2; i++) {
		__u32 word = (__u32)(keep >> (32 * i));

		data[i].effective = data[i].permitted = data[i].inheritable = word;
	}
	if ((r = traced_capset("capsh --caps=...", &header, data)) < 0)
		die_hint(-r, r == -EPERM ? "capset can only lower: --caps names a capability "
			 "this process does not hold" : NULL, "capset");
	/* Ambient capabilities (Linux 4.3) survive execve for non-root: none. */
	if ((r = traced_prctl(NULL, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0)) < 0 &&
	    r != -EINVAL)
		die_err(-r, "prctl PR_CAP_AMBIENT_CLEAR_ALL");
}

/* 3. Sticky across fork and execve, and it cannot be unset (prctl(2)). */
static void set_no_new_privs(void)
{
	int r = traced_prctl("setpriv --no-new-privs", PR_SET_NO_NEW_PRIVS, 1, 0);

	if (r < 0)
		die_err(-r, "prctl PR_SET_NO_NEW_PRIVS");
}

static const char *denied_call_name(unsigned nr)
{
	for (size_t i = 0; i < DENIED_COUNT; i++)
		if (denied_calls[i].nr == nr)
			return denied_calls[i].name;
	return nr == SYS_clone ? "clone" : nr == SYS_clone3 ? "clone3" : NULL;
}

/*
 * 4a. The filter, instruction by instruction (seccomp_filter.rst).  The
 * kernel runs it on struct seccomp_data {nr, arch, instruction_pointer,
 * args[6]} at every system call and does what the returned action says.
 * A jump's two numbers are how many instructions to skip when the test is
 * true and when it is false.
 *
 * The architecture comes first: an x86_64 process can also enter the
 * kernel through the i386 gate (int $0x80), where the same numbers mean
 * other calls (i386's 21 is mount, x86_64's 21 is access); and through x32,
 * the x86_64 numbers with bit 30 set.  A filter that checked only numbers
 * would be walked around by either.  Both are killed.
 */
static size_t build_filter(struct sock_filter *f)
{
	size_t n = 0, allow, deny, enosys, jump_clone;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	/* Where the three returns will be, at the end. */
	allow = 6 + 1 + DENIED_COUNT + 3;
	deny = allow + 1;
	enosys = allow + 2;
	/* clone3 passes its flags in memory, which a filter cannot read: ENOSYS
	 * makes glibc fall back to clone, whose flags it can. */
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3,
					    (__u8)(enosys - n - 1), 0);
	n++;
	for (size_t i = 0; i < DENIED_COUNT; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied_calls[i].nr,
						    (__u8)(deny - n - 1), 0);
	jump_clone = n;
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0,
					    (__u8)(allow - jump_clone - 1));
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[0]));
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NAMESPACE_FLAGS,
					    (__u8)(deny - n - 1), 0);
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	return n;
}

/* 4b. Install it.  From here on every call of this process and its
 * children goes through the filter; there is no call to remove it. */
static void install_seccomp_filter(void)
{
	struct sock_filter filter[FILTER_MAX];
	struct sock_fprog prog;
	int r;

#ifndef __x86_64__
	die_hint(0, "run with --no-seccomp, or port build_filter's architecture check",
		 "the seccomp filter is written for x86_64 only");
#endif
	prog.len = (unsigned short)build_filter(filter);
	prog.filter = filter;
	r = traced_seccomp_filter(NULL, 0, &prog, denied_call_name);
	if (r < 0)
		die_hint(-r, r == -ENOSYS || r == -EINVAL ? "this kernel was built without "
			 "seccomp filters (CONFIG_SECCOMP_FILTER); nothing was run" :
			 r == -EACCES ? "seccomp needs no_new_privs or CAP_SYS_ADMIN" : NULL,
			 "seccomp SECCOMP_SET_MODE_FILTER");
}

/* 5. CMD, with everything above inherited across execve. */
static void __attribute__((noreturn)) exec_command(char **command)
{
	int r = traced_execvp(NULL, command);

	die_status(exit_status_from_exec_error(-r), -r, NULL, "exec %s", command[0]);
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	int r;

	tuna_set_prog(PROG);
	parse_options(argc, argv, &opt);
	if (opt.try_list)
		return try_escapes(opt.try_list);

	/* Never on the host's own mounts: the masks would cover the host's /proc. */
	r = in_host_mount_namespace();
	if (r < 0)
		die_err(-r, "readlink /proc/1/ns/mnt (to tell whether this is the host's "
			"mount namespace)");
	if (r)
		die_hint(0, "run it inside the container: 02-unshare --mount --pid --fork -- "
			 "04-pivot --dev ROOT -- /bin/" PROG " -- /bin/sh",
			 "refusing to harden the host's mount namespace");

	/* 1. Masked and read-only paths, while we may still mount. */
	if (!opt.no_mask)
		mask_and_protect();

	/* 2. Capabilities: the bounding set, then what we hold. */
	cut_capabilities(opt.caps);

	/* 3. No privileges regained by execve. */
	set_no_new_privs();

	/* 4. The seccomp filter, last. */
	if (!opt.no_seccomp)
		install_seccomp_filter();

	/* 5. Become CMD. */
	exec_command(opt.command);
}

/*
 * 07-stress - load the machine the way the post does with stress(1).
 *
 * The post proves its cgroup limits with `stress -c 1` (a CPU hog that
 * top shows at ~20% under a 20% quota) and `stress --vm 1 --vm-bytes 198M`
 * (a memory hog the OOM killer takes under a 200 MB limit).  This is that
 * tool, small enough to read and static, so it can be copied into a
 * container image as it is.  Its options and messages are stress's.
 *
 * What each hog does to the kernel:
 *   cpu  spins on sqrt() in user space.  The scheduler (CFS) charges the
 *        time to the hog's cgroup; under cpu.cfs_quota_us the whole group
 *        is throttled once the quota of a period is used.
 *   vm   malloc()s --vm-bytes (glibc mmap()s anything that large) and writes
 *        one byte every --vm-stride bytes.  Only the write makes a page
 *        resident: the page fault allocates it and charges it to the
 *        memory cgroup.  Over memory.limit_in_bytes, with nothing to
 *        reclaim, the OOM killer sends SIGKILL: "got signal 9".
 *
 * At the end it prints the CPU share each CPU hog really got: its CPU time
 * (from wait4()'s rusage) over its wall time.  That is the figure the post
 * reads off top.
 *
 * Syscalls: fork(2), prctl(PR_SET_PDEATHSIG), wait4(2), kill(2),
 * sigaction(2), sigsuspend(2), setitimer(2), clock_gettime(2).
 * Man pages: stress(1), fork(2), wait4(2), prctl(2), proc(5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tuna.h"

#define PROG "07-stress"
#define DEFAULT_VM_BYTES (256ull << 20)   /* stress's default: 256MB */
#define DEFAULT_VM_STRIDE 4096ull         /* one write per page */
#define MAX_WORKERS 4096                  /* more is a typo, not a test */

enum hog_kind { HOG_CPU, HOG_VM };

struct worker {
	pid_t pid;
	enum hog_kind kind;
	struct timespec started;
	int reaped;
};

struct options {
	int cpu_hogs;
	int vm_hogs;
	uint64_t vm_bytes;
	uint64_t vm_stride;
	int vm_keep;
	uint64_t timeout_ms;      /* 0: run until stopped */
	int quiet;
};

static struct worker workers[MAX_WORKERS];
static int nr_workers;
static volatile sig_atomic_t stop_signal; /* SIGINT/SIGTERM/SIGALRM seen */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTION [ARG]] ...\n"
		"Impose CPU and memory load, as stress(1) does, and report the CPU\n"
		"share each CPU hog really got.\n"
		"\n"
		"  -c, --cpu N        spawn N workers spinning on sqrt()\n"
		"  -m, --vm N         spawn N workers spinning on malloc()/free()\n"
		"      --vm-bytes B   malloc B bytes per vm worker (default 256M)\n"
		"      --vm-stride B  touch a byte every B bytes (default 4096)\n"
		"      --vm-keep      redirty memory instead of freeing and reallocating\n"
		"  -t, --timeout T    stop after T (10s, 500ms, 2m; a bare number is seconds)\n"
		"  -q, --quiet        be quiet (errors still print)\n"
		"  -x, --explain      trace each kernel interaction on stderr\n"
		"  -h, --help         show this help\n"
		"      --version      show the version\n"
		"\n"
		"Sizes take K, M, G (powers of 1024).  Exit status: 0 when every worker\n"
		"ran until the timeout, 1 when a worker failed or was killed, 2 for bad\n"
		"usage.\n"
		"Example: " PROG " --cpu 1 --vm 1 --vm-bytes 198M --timeout 10s\n");
}

/* stress's "stress: info: [PID] ..." lines, on stdout like stress. */
static __attribute__((format(printf, 2, 3))) void info(const struct options *opt, const char *fmt, ...)
{
	va_list ap;

	if (opt->quiet)
		return;
	printf(PROG ": info: [%d] ", (int)getpid());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* stress's FAIL and WARN lines go to stderr, whatever -q says. */
static __attribute__((format(printf, 2, 3))) void report(const char *level, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	warn_msg("%s: [%d] %s", level, (int)getpid(), message);
}

static int parse_count(const char *opt_name, const char *arg)
{
	int n;
	int r = parse_int(arg, 0, MAX_WORKERS, &n);

	if (r == -ERANGE)
		die_usage("%s '%s': the number of hogs must be 0..%d", opt_name,
			  arg, MAX_WORKERS);
	if (r < 0)
		die_usage("%s '%s': not a number", opt_name, arg);
	return n;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_VM_BYTES = 256, OPT_VM_STRIDE, OPT_VM_KEEP, OPT_VERSION };
	static const struct option longopts[] = {
		{ "cpu", required_argument, NULL, 'c' },
		{ "vm", required_argument, NULL, 'm' },
		{ "vm-bytes", required_argument, NULL, OPT_VM_BYTES },
		{ "vm-stride", required_argument, NULL, OPT_VM_STRIDE },
		{ "vm-keep", no_argument, NULL, OPT_VM_KEEP },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt->vm_bytes = DEFAULT_VM_BYTES;
	opt->vm_stride = DEFAULT_VM_STRIDE;
	opterr = 0; /* we say it ourselves, in one line */
	while ((c = getopt_long(argc, argv, ":c:m:t:qxh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->cpu_hogs = parse_count("--cpu", optarg); break;
		case 'm': opt->vm_hogs = parse_count("--vm", optarg); break;
		case OPT_VM_BYTES:
			if (parse_size(optarg, &opt->vm_bytes) < 0 || opt->vm_bytes == 0)
				die_usage("--vm-bytes '%s': not a size (e.g. 256M)", optarg);
			break;
		case OPT_VM_STRIDE:
			if (parse_size(optarg, &opt->vm_stride) < 0 || opt->vm_stride == 0)
				die_usage("--vm-stride '%s': not a size (e.g. 4096)", optarg);
			break;
		case OPT_VM_KEEP: opt->vm_keep = 1; break;
		case 't':
			if (parse_duration(optarg, &opt->timeout_ms) < 0 || opt->timeout_ms == 0)
				die_usage("--timeout '%s': not a duration (e.g. 10s, 500ms, 2m)",
					  optarg);
			break;
		case 'q': opt->quiet = 1; break;
		case 'x': explain_enabled = 1; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf(PROG " (tuna) " TUNA_VERSION "\n"); exit(0);
		case ':': die_usage("option '%s' needs an argument", argv[optind - 1]);
		default: die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s' (see --help)", argv[optind]);
	if (opt->cpu_hogs + opt->vm_hogs == 0)
		die_usage("nothing to do: give --cpu N and/or --vm N (see --help)");
	if (opt->cpu_hogs + opt->vm_hogs > MAX_WORKERS)
		die_usage("at most %d hogs in all", MAX_WORKERS);
}

/* A CPU hog: stress's hogcpu(), pure user-space arithmetic. */
static void __attribute__((noreturn)) hog_cpu(void)
{
	volatile double sink = 0;

	for (;;)
		sink += sqrt((double)rand());
}

/*
 * A memory hog: stress's hogvm().  The write to each page is what makes it
 * resident and charged; malloc alone only reserves address space.
 */
static void __attribute__((noreturn)) hog_vm(const struct options *opt)
{
	for (;;) {
		char *block = malloc(opt->vm_bytes);

		if (!block) {
			/* stress: "hogvm malloc failed": the worker fails. */
			report("FAIL", "malloc of %llu bytes failed: %s",
			       (unsigned long long)opt->vm_bytes, strerror(errno));
			_exit(EXIT_REFUSED);
		}
		do {
			for (uint64_t i = 0; i < opt->vm_bytes; i += opt->vm_stride)
				block[i] = 'Z';
		} while (opt->vm_keep); /* --vm-keep: redirty the same pages forever */
		free(block);
	}
}

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static void on_child(int sig)
{
	(void)sig; /* only here so that SIGCHLD wakes sigsuspend() */
}

/*
 * Catch the signals that end a run, and keep them blocked except inside
 * sigsuspend(): a signal that arrives between "is anything to reap?" and
 * "sleep" would otherwise be lost and the run would never end.
 * Returns the mask to sleep with.
 */
static sigset_t install_handlers(void)
{
	static const int stop_signals[] = { SIGINT, SIGTERM, SIGALRM, SIGHUP };
	struct sigaction sa;
	sigset_t block, old;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sa.sa_handler = on_stop_signal;
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		sigaction(stop_signals[i], &sa, NULL);
		sigaddset(&block, stop_signals[i]);
	}
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	return old;
}

static void start_worker(enum hog_kind kind, const struct options *opt,
			 const sigset_t *worker_mask)
{
	struct worker *w = &workers[nr_workers];
	pid_t parent = getpid();
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &w->started);
	pid = traced_fork(kind == HOG_CPU ? "stress -c: one worker per hog" :
			  "stress -m: one worker per hog");
	if (pid < 0)
		die_err(-pid, "fork worker %d", nr_workers + 1);
	if (pid == 0) {
		/*
		 * If 07-stress itself dies, even by SIGKILL, the kernel sends
		 * this worker SIGKILL: no hog is ever left spinning.  The
		 * getppid() check closes the race with a parent that died
		 * before prctl() ran.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_REFUSED);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, worker_mask, NULL);
		if (kind == HOG_CPU)
			hog_cpu();
		hog_vm(opt);
	}
	w->pid = pid;
	w->kind = kind;
	nr_workers++;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static struct worker *find_worker(pid_t pid)
{
	for (int i = 0; i < nr_workers; i++)
		if (workers[i].pid == pid)
			return &workers[i];
	return NULL;
}

/*
 * A CPU hog ended: print the share of one CPU it got, CPU time over wall
 * time.  rusage comes from the kernel's accounting of that process (the
 * same utime+stime as /proc/PID/stat and top).
 */
static void report_cpu_share(const struct options *opt, const struct worker *w,
			     const struct rusage *ru)
{
	struct timespec now;
	double cpu, wall;

	clock_gettime(CLOCK_MONOTONIC, &now);
	cpu = (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	      (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
	wall = seconds_between(&w->started, &now);
	info(opt, "cpu hog %d got %.1f%% of one CPU (%.2fs CPU in %.2fs)",
	     (int)w->pid, wall > 0 ? 100.0 * cpu / wall : 0.0, cpu, wall);
}

/* Stop every worker still running and reap it, so none is left behind. */
static void stop_workers(const struct options *opt)
{
	for (int i = 0; i < nr_workers; i++) {
		if (workers[i].reaped)
			continue;
		int r = traced_kill(NULL, workers[i].pid, SIGKILL);

		if (r < 0 && r != -ESRCH)
			report("WARN", "kill worker %d: %s", (int)workers[i].pid, strerror(-r));
	}
	for (int i = 0; i < nr_workers; i++) {
		struct rusage ru;
		int status;

		if (workers[i].reaped)
			continue;
		traced_wait4(NULL, workers[i].pid, &status, 0, &ru);
		workers[i].reaped = 1;
		if (workers[i].kind == HOG_CPU)
			report_cpu_share(opt, &workers[i], &ru);
	}
}

/*
 * Wait until the timeout, a signal, or a worker's death.  Returns 0 when the
 * run ended as planned, 1 when a worker failed (stress's exit status).
 */
static int supervise(const struct options *opt, const sigset_t *sleep_mask)
{
	for (;;) {
		struct rusage ru;
		struct worker *w;
		int status;
		pid_t pid = traced_wait4(NULL, -1, &status, WNOHANG, &ru);

		if (pid < 0)
			die_err(-pid, "wait4");
		if (pid == 0) {
			if (stop_signal)
				return 0;
			sigsuspend(sleep_mask); /* until SIGCHLD or a stop signal */
			continue;
		}
		w = find_worker(pid);
		if (!w)
			continue;
		w->reaped = 1;
		if (WIFSIGNALED(status)) {
			report("FAIL", "<-- worker %d got signal %d", (int)pid,
			       WTERMSIG(status));
			if (w->kind == HOG_VM && WTERMSIG(status) == SIGKILL)
				hint("a vm hog killed by signal 9 is usually the OOM killer: "
				     "see oom_kill in memory.oom_control (v1) or memory.events (v2)");
		} else {
			report("FAIL", "<-- worker %d returned error %d", (int)pid,
			       WEXITSTATUS(status));
		}
		if (w->kind == HOG_CPU)
			report_cpu_share(opt, w, &ru);
		return 1;
	}
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct timespec begin, end;
	sigset_t sleep_mask;
	int failed;

	tuna_set_prog(PROG);
	parse_options(argc, argv, &opt);

	/* 1. Announce the hogs, in stress's words. */
	info(&opt, "dispatching hogs: %d cpu, 0 io, %d vm, 0 hdd", opt.cpu_hogs,
	     opt.vm_hogs);
	clock_gettime(CLOCK_MONOTONIC, &begin);
	sleep_mask = install_handlers();

	/* 2. Fork the workers: CPU hogs first, then memory hogs. */
	for (int i = 0; i < opt.cpu_hogs; i++)
		start_worker(HOG_CPU, &opt, &sleep_mask);
	for (int i = 0; i < opt.vm_hogs; i++)
		start_worker(HOG_VM, &opt, &sleep_mask);

	/* 3. Arm the timeout; SIGALRM ends the wait like Ctrl-C does. */
	if (opt.timeout_ms) {
		struct itimerval t = { 0 };

		t.it_value.tv_sec = (time_t)(opt.timeout_ms / 1000);
		t.it_value.tv_usec = (suseconds_t)(opt.timeout_ms % 1000) * 1000;
		setitimer(ITIMER_REAL, &t, NULL);
	}

	/* 4. Wait for the end, then stop and reap every worker. */
	failed = supervise(&opt, &sleep_mask);
	if (failed)
		report("WARN", "now reaping child worker processes");
	stop_workers(&opt);
	clock_gettime(CLOCK_MONOTONIC, &end);

	/* 5. Say how it went, as stress does. */
	if (failed) {
		report("FAIL", "failed run completed in %.0fs", seconds_between(&begin, &end));
		return 1;
	}
	if (stop_signal && stop_signal != SIGALRM) {
		report("WARN", "stopped by %s after %.0fs; every worker reaped",
		       strsignal(stop_signal), seconds_between(&begin, &end));
		return exit_status_from_signal(stop_signal);
	}
	info(&opt, "successful run completed in %.0fs", seconds_between(&begin, &end));
	return 0;
}

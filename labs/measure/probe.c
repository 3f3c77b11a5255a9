/*
 * labs/measure/probe.c - time single file-system operations from inside one
 * process, for the benches in labs/measure/ (built by lib.sh into the
 * bench's scratch directory; not one of tuna's tools).
 *
 * Why a helper: the operations the post's claims are about (the first write
 * to a file in a clone, the lookup of a name through overlay layers) take
 * microseconds, while starting dd or stat(1) takes milliseconds here.  Timed
 * from a shell, the process start would be the whole figure.  So this
 * program reads CLOCK_MONOTONIC (clock_gettime(2)) right around each system
 * call and prints the difference.
 *
 *   probe write FILE OFFSET LENGTH
 *       open(O_RDWR), pwrite LENGTH bytes at OFFSET, fsync, close; prints
 *       "open_us write_us fsync_us total_us".  On overlayfs the whole file is
 *       copied up (and fsynced by the kernel) inside that open(2).
 *   probe lookup RUNS PATH...
 *       for each PATH: the first stat(2) (a cold lookup in a fresh mount),
 *       then the median of RUNS more (served from the dentry cache); prints
 *       "first_us warm_us" per PATH.  A missing PATH is timed too (ENOENT).
 *   probe mount OPTIONS TARGET
 *       mount(2) an overlay with OPTIONS on TARGET; prints microseconds.
 *       Relative lowerdir= names are resolved from the current directory,
 *       which keeps 500 layers under the one-page (4096 bytes) limit on
 *       the option string, as Docker does with its short l/ links.
 *
 * Exit status: 0 ok, 1 an operation failed (message on stderr), 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_US 1000.0
#define NS_PER_S 1000000000LL
#define MAX_LOOKUP_RUNS 100000
#define MAX_WRITE_LENGTH (16 * 1024 * 1024)

static void usage(FILE *out)
{
	fprintf(out, "Usage: probe write FILE OFFSET LENGTH\n"
		     "       probe lookup RUNS PATH...\n"
		     "       probe mount OPTIONS TARGET\n");
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "probe: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * NS_PER_S + t.tv_nsec;
}

static long long parse_number(const char *text, long long max)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || end == text || *end || value < 0 || value > max) {
		fprintf(stderr, "probe: '%s': not a number from 0 to %lld\n", text, max);
		exit(2);
	}
	return value;
}

/* One small write to an existing file, timed in its three parts. */
static int probe_write(const char *path, off_t offset, size_t length)
{
	char *buffer = malloc(length);
	long long t0, t1, t2, t3;
	int fd;

	if (!buffer)
		die("malloc for", path);
	memset(buffer, 'x', length);
	t0 = now_ns();
	fd = open(path, O_RDWR);
	if (fd < 0)
		die("open", path);
	t1 = now_ns();
	if (pwrite(fd, buffer, length, offset) != (ssize_t)length)
		die("pwrite", path);
	t2 = now_ns();
	if (fsync(fd) < 0)
		die("fsync", path);
	t3 = now_ns();
	close(fd);
	free(buffer);
	printf("%.1f %.1f %.1f %.1f\n", (t1 - t0) / NS_PER_US, (t2 - t1) / NS_PER_US,
	       (t3 - t2) / NS_PER_US, (t3 - t0) / NS_PER_US);
	return 0;
}

static int compare_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* stat(2) one path: the first (cold) time and the median of the warm ones. */
static void probe_lookup_one(const char *path, long long runs, long long *times)
{
	struct stat st;
	long long t0, first;
	long long i;

	/* Warm this process (page tables, caches) on another name first. */
	stat(".", &st);
	t0 = now_ns();
	if (stat(path, &st) < 0 && errno != ENOENT)
		die("stat", path);
	first = now_ns() - t0;
	for (i = 0; i < runs; i++) {
		t0 = now_ns();
		if (stat(path, &st) < 0 && errno != ENOENT)
			die("stat", path);
		times[i] = now_ns() - t0;
	}
	qsort(times, runs, sizeof(*times), compare_ll);
	printf("%.1f %.1f\n", first / NS_PER_US, runs ? times[runs / 2] / NS_PER_US : 0);
}

static int probe_lookup(long long runs, char **paths, int count)
{
	long long *times = calloc(runs ? runs : 1, sizeof(*times));
	int i;

	if (!times)
		die("calloc for", "times");
	for (i = 0; i < count; i++)
		probe_lookup_one(paths[i], runs, times);
	free(times);
	return 0;
}

/* mount(2) an overlay: mount -t overlay overlay -o OPTIONS TARGET. */
static int probe_mount(const char *options, const char *target)
{
	long long t0 = now_ns();

	if (mount("overlay", target, "overlay", 0, options) < 0)
		die("mount -t overlay on", target);
	printf("%.1f\n", (now_ns() - t0) / NS_PER_US);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "write"))
		return probe_write(argv[2], parse_number(argv[3], LLONG_MAX / 2),
				   parse_number(argv[4], MAX_WRITE_LENGTH));
	if (argc >= 4 && !strcmp(argv[1], "lookup"))
		return probe_lookup(parse_number(argv[2], MAX_LOOKUP_RUNS), argv + 3, argc - 3);
	if (argc == 4 && !strcmp(argv[1], "mount"))
		return probe_mount(argv[2], argv[3]);
	usage(stderr);
	return 2;
}

/*
 * store.c - the bookkeeping the backends share: the store's state file,
 * the pool's backing file and directory, running zpool/zfs/mkfs.btrfs,
 * mounts with their pitfalls, `list`'s table, du and rm -rf.  A first
 * reading can skip this file: the backends are where the storage happens.
 *
 * Man pages: mount(2), umount(2), nftw(3), modprobe(8).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define FTW_OPEN_FDS 32           /* nftw: directories held open at once */
#define STDERR_KEPT 4096          /* what run_program reads of a command's stderr */
#define STORE_DIR_MODE 0755

void path_format(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		die_usage("path too long: %.60s...", buf);
}

const struct backend *backend_named(const char *name)
{
	static const struct backend *const backends[] = {
		&backend_zfs, &backend_btrfs, &backend_overlay, &backend_devicemapper,
	};

	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(name, backends[i]->name) == 0)
			return backends[i];
	return NULL;
}

void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* --- programs -------------------------------------------------------------- */

int run_program(char *const argv[], const char *shell, char *out, size_t out_size,
		char *err, size_t err_size)
{
	char stderr_text[STDERR_KEPT], *line = stderr_text, *nl;
	int status = traced_run_output(shell, argv, out, out_size, stderr_text,
				       sizeof(stderr_text));

	if (status == -ENOENT)
		die("%s: command not found", argv[0]);
	if (status < 0)
		die_err(-status, "run %s", argv[0]);
	if (err && err_size) {
		/* The first line that says something: zfs's reason, mkfs's ERROR. */
		while (*line == '\n')
			line++;
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		snprintf(err, err_size, "%s", line);
	}
	return status;
}

void run_or_die(char *const argv[], const char *shell)
{
	char err[512];

	if (run_program(argv, shell, NULL, 0, err, sizeof(err)) != 0)
		die("%s %s: %s", argv[0], argv[1] ? argv[1] : "", *err ? err : "failed");
}

/* --- mounts and directories --------------------------------------------------- */

void mount_or_die(const char *shell, const char *source, const char *target,
		  const char *fstype, unsigned long flags, const char *data)
{
	int r = traced_mount(shell, source, target, fstype, flags, data);

	if (r == -EINVAL && fstype && strcmp(fstype, "overlay") == 0)
		die_hint(EINVAL, "overlayfs gives its reason only in the kernel log: dmesg | tail",
			 "mount overlay on %s", target);
	if (r < 0)
		die_err(-r, "mount %s on %s", fstype ? fstype : source, target);
}

void umount_or_die(const char *shell, const char *target)
{
	char text[2 * PATH_MAX];
	int r = traced_umount2(shell, target, 0);

	if (r == -EBUSY) {
		snprintf(text, sizeof(text), "a process uses %s (its cwd or an open file): "
			 "fuser -vm %s", target, target);
		die_hint(EBUSY, text, "umount %s", target);
	}
	if (r < 0)
		die_err(-r, "umount %s", target);
}

void mkdir_or_die(const char *path, mode_t mode)
{
	int r = traced_mkdir(NULL, path, mode);

	if (r < 0)
		die_err(-r, "mkdir %s", path);
}

/* /proc/filesystems lists NAME: "nodev\toverlay" or "\tbtrfs". */
static int kernel_lists_filesystem(const char *name)
{
	char line[128];
	FILE *f = fopen("/proc/filesystems", "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');

		if (!tab)
			continue;
		tab[strcspn(tab, "\n")] = '\0';
		found = strcmp(tab + 1, name) == 0;
	}
	fclose(f);
	return found;
}

/*
 * /proc/filesystems lists the file systems the kernel has now.  One built
 * as a module (overlay and btrfs on a stock Debian or Ubuntu kernel) is
 * missing there until something loads it: the first mount(2) of it would
 * (the kernel asks for "fs-overlay", request_module), and so does modprobe.
 * Only when that fails too is it really missing.
 */
int kernel_can_mount(const char *fstype)
{
	char err[512];

	if (kernel_lists_filesystem(fstype))
		return 1;
	/* Its stderr kept: "modprobe: FATAL: Module overlay not found" is ours to say. */
	traced_run_output("as the first mount of it would", (char *[]){ "modprobe",
			  (char *)fstype, NULL }, NULL, 0, err, sizeof(err));
	return kernel_lists_filesystem(fstype);
}

/* --- the state file ------------------------------------------------------- */

void write_text_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0)
		die_errno("write %s", path);
}

void state_write(const struct store *s)
{
	char path[PATH_MAX], text[3 * PATH_MAX];

	path_format(path, "%s/" STATE_FILE, s->dir);
	snprintf(text, sizeof(text),
		 "# written by " PROG " pool create; read by its other commands\n"
		 "backend=%s\npool=%s\nbacking_file=%s\nfile_created=%d\ndir_created=%d\nfs=%s\n",
		 s->backend->name, s->pool, s->backing_file, s->file_created,
		 s->dir_created, s->fs);
	write_text_file(path, text);
	explain_note("# %s: backend=%s pool=%s", path, s->backend->name, s->pool);
}

int state_read(struct store *s)
{
	char path[PATH_MAX], text[3 * PATH_MAX];
	int r;

	path_format(path, "%s/" STATE_FILE, s->dir);
	r = file_read(path, text, sizeof(text));
	if (r < 0)
		return r;
	s->backend = NULL;
	for (char *save, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *value = strchr(line, '=');

		if (line[0] == '#' || !value)
			continue;
		*value++ = '\0';
		if (strcmp(line, "backend") == 0)
			s->backend = backend_named(value);
		else if (strcmp(line, "pool") == 0)
			snprintf(s->pool, sizeof(s->pool), "%s", value);
		else if (strcmp(line, "backing_file") == 0)
			snprintf(s->backing_file, sizeof(s->backing_file), "%s", value);
		else if (strcmp(line, "file_created") == 0)
			s->file_created = atoi(value);
		else if (strcmp(line, "dir_created") == 0)
			s->dir_created = atoi(value);
		else if (strcmp(line, "fs") == 0)
			snprintf(s->fs, sizeof(s->fs), "%s", value);
	}
	return s->backend ? 0 : -EINVAL;
}

/* --- the backing file and the store directory ------------------------------ */

void backing_file_prepare(struct store *s, const struct pool_options *opt)
{
	struct stat st;
	int fd, r;

	if (opt->device && opt->device[0] != '/') {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			die_errno("getcwd");
		path_format(s->backing_file, "%s/%s", cwd, opt->device);
	} else if (opt->device) {
		path_format(s->backing_file, "%s", opt->device);
	} else {
		path_format(s->backing_file, DEFAULT_POOL_DIR "/%s.img", s->pool);
		if (mkdir(DEFAULT_POOL_DIR, 0700) < 0 && errno != EEXIST)
			die_errno("mkdir %s", DEFAULT_POOL_DIR);
	}
	if (stat(s->backing_file, &st) == 0) {
		if (!opt->device)
			die_err(EEXIST, "create %s", s->backing_file);
		if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
			die("--device %s: not a block device or a file", s->backing_file);
		return; /* the user's: used as it is, never removed */
	}
	fd = traced_open(NULL, s->backing_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die_err(-fd, "create %s", s->backing_file);
	s->file_created = 1;
	undo_unlink(s->backing_file);
	/* Sparse: blocks are allocated only when the pool writes them. */
	r = traced_ftruncate("truncate -s SIZE FILE", fd, (off_t)opt->size);
	if (r < 0)
		die_err(-r, "ftruncate %s", s->backing_file);
	close(fd);
}

void backing_file_remove(const struct store *s)
{
	int r;

	if (!s->file_created)
		return;
	r = traced_unlink(NULL, s->backing_file);
	if (r < 0 && r != -ENOENT)
		die_err(-r, "unlink %s", s->backing_file);
}

void store_dir_prepare(struct store *s)
{
	int r = traced_mkdir(NULL, s->dir, STORE_DIR_MODE);

	if (r == 0) {
		s->dir_created = 1;
		undo_rmdir(s->dir);
	} else if (r != -EEXIST) {
		die_err(-r, "mkdir %s", s->dir);
	}
}

void store_dir_remove(const struct store *s)
{
	/* Only what we made, and only when empty: never a user's directory. */
	if (s->dir_created)
		traced_rmdir(NULL, s->dir);
}

/* --- list ------------------------------------------------------------------- */

/* zfs list's units: 3 significant digits, K = 1024 ("62K", "20.1M"). */
static void human_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, v < 10 ? "%.2f%c" : v < 100 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void print_list(const struct entry *entries, int n, int json)
{
	static const char *const type_names[] = { "image", "snapshot", "container" };
	struct json j;

	int limits = 0;

	for (int i = 0; i < n; i++)
		limits |= entries[i].quota_limit != 0;
	if (!json) {
		/* QUOTA (used/limit, xfs_quota's figures) only where a clone has one. */
		printf("%-24s %-9s %6s %6s  %s%s\n", "NAME", "TYPE", "USED", "REFER",
		       limits ? "QUOTA          " : "", "MOUNTPOINT");
		for (int i = 0; i < n; i++) {
			char used[16], refer[16], qused[16], qlimit[16], quota[40] = "-";

			human_size(entries[i].used, used, sizeof(used));
			human_size(entries[i].refer, refer, sizeof(refer));
			if (entries[i].quota_limit) {
				human_size(entries[i].quota_used, qused, sizeof(qused));
				human_size(entries[i].quota_limit, qlimit, sizeof(qlimit));
				snprintf(quota, sizeof(quota), "%s/%s", qused, qlimit);
			}
			printf("%-24s %-9s %6s %6s  ", entries[i].name, type_names[entries[i].type],
			       used, refer);
			if (limits)
				printf("%-15s", quota);
			printf("%s\n", entries[i].mountpoint[0] ? entries[i].mountpoint : "-");
		}
		return;
	}
	json_init(&j, stdout);
	json_begin_array(&j);
	for (int i = 0; i < n; i++) {
		json_begin_object(&j);
		json_key(&j, "name");
		json_string(&j, entries[i].name);
		json_key(&j, "type");
		json_string(&j, type_names[entries[i].type]);
		json_key(&j, "used");
		json_u64(&j, entries[i].used);
		json_key(&j, "refer");
		json_u64(&j, entries[i].refer);
		json_key(&j, "mountpoint");
		if (entries[i].mountpoint[0])
			json_string(&j, entries[i].mountpoint);
		else
			json_null(&j);
		if (entries[i].quota_limit) {
			json_key(&j, "quota_limit");
			json_u64(&j, entries[i].quota_limit);
			json_key(&j, "quota_used");
			json_u64(&j, entries[i].quota_used);
		}
		json_end_object(&j);
	}
	json_end_array(&j);
	json_finish(&j);
}

/* --- du, rm -rf, ls ------------------------------------------------------------ */

struct inode_seen {
	dev_t dev;
	ino_t ino;
};
static struct inode_seen *seen;
static size_t nr_seen, seen_cap;
static uint64_t usage_bytes;

int hard_link_seen_before(const struct stat *st)
{
	for (size_t i = 0; i < nr_seen; i++)
		if (seen[i].dev == st->st_dev && seen[i].ino == st->st_ino)
			return 1;
	if (nr_seen == seen_cap) {
		seen_cap = seen_cap ? 2 * seen_cap : 64;
		seen = realloc(seen, seen_cap * sizeof(*seen));
		if (!seen)
			die_errno("realloc");
	}
	seen[nr_seen++] = (struct inode_seen){ st->st_dev, st->st_ino };
	return 0;
}

static int add_usage(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_NS)
		return 0;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1 && hard_link_seen_before(st))
		return 0;
	usage_bytes += (uint64_t)st->st_blocks * 512; /* st_blocks: 512-byte units, stat(2) */
	return 0;
}

void hard_links_forget(void)
{
	nr_seen = 0;
}

uint64_t disk_usage(const char *path)
{
	usage_bytes = 0;
	hard_links_forget();
	nftw(path, add_usage, FTW_OPEN_FDS, FTW_PHYS | FTW_MOUNT);
	return usage_bytes;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int remove_tree(const char *path)
{
	/* nftw returns what remove_one returned (-errno), or -1 with errno set. */
	int r = nftw(path, remove_one, FTW_OPEN_FDS, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

	if (r == -1)
		return errno == ENOENT ? 0 : -errno;
	return r;
}

int dir_is_empty(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!dir)
		die_errno("opendir %s", path);
	while (empty && (de = readdir(dir)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(dir);
	return empty;
}

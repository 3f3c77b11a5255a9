/*
 * store.c - helpers the three backends share: running zpool/zfs/mkfs.btrfs,
 * the store's state file, the pool's backing file, mounts, and du.
 * A reader of the lesson can skip this file; zfs-image.c and the backends
 * are where the storage happens.
 *
 * Man pages: fork(2), execve(2), memfd_create(2), mount(2), umount(2),
 * nftw(3), proc(5) (/proc/self/mountinfo).
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CMDLINE_MAX 1024          /* an --explain line */
#define FTW_OPEN_FDS 32           /* nftw: directories held open at once */

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

void die_hint(const char *hint_text, const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	warn_msg("%s", message);
	hint("%s", hint_text);
	undo_run();
	exit(EXIT_REFUSED);
}

const char *find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	/* Root's tools live in sbin, which a user's $PATH may lack. */
	snprintf(dirs, sizeof(dirs), "%s:%s", path && *path ? path : "", DEFAULT_PATH);
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
			continue;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Read what a command wrote into a memfd. */
static void memfd_slurp(int fd, char *buf, size_t size)
{
	ssize_t n;

	if (!buf || size == 0)
		return;
	n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
}

int run_program(const char *const argv[], const char *shell, char *out,
		size_t out_size, char *err, size_t err_size)
{
	char cmdline[CMDLINE_MAX] = "", exe[PATH_MAX], errbuf[1024];
	int out_fd, err_fd, status;
	size_t len = 0;
	pid_t pid;

	for (int i = 0; argv[i]; i++)
		len += snprintf(cmdline + len, len < sizeof(cmdline) ? sizeof(cmdline) - len : 0,
				"%s%s", i ? " " : "", argv[i]);
	if (!find_program(argv[0], exe, sizeof(exe)))
		die("%s: command not found", argv[0]);
	/* memfds rather than pipes: no deadlock however much the command says. */
	out_fd = memfd_create("stdout", MFD_CLOEXEC);
	err_fd = memfd_create("stderr", MFD_CLOEXEC);
	if (out_fd < 0 || err_fd < 0)
		die_errno("memfd_create");
	pid = fork();
	if (pid < 0)
		die_errno("fork for %s", argv[0]);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, STDIN_FILENO);
		dup2(out_fd, STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		execv(exe, (char *const *)argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die_errno("waitpid %s", argv[0]);
	status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	explain_call(status, 0, shell, "exec(%s)", cmdline);
	memfd_slurp(out_fd, out, out_size);
	memfd_slurp(err_fd, errbuf, sizeof(errbuf));
	if (err && err_size) {
		/* The first line that says something: zfs's reason, mkfs's ERROR. */
		char *line = errbuf, *nl;

		while (*line == '\n')
			line++;
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		snprintf(err, err_size, "%s", line);
	}
	close(out_fd);
	close(err_fd);
	return status;
}

void run_or_die(const char *const argv[], const char *shell)
{
	char err[512];
	int status = run_program(argv, shell, NULL, 0, err, sizeof(err));

	if (status != 0)
		die("%s %s: %s", argv[0], argv[1] ? argv[1] : "",
		    *err ? err : "failed");
}

/* --- small checks and formats ---------------------------------------------- */

/* STORE must be an absolute, canonical path: it is mounted on and removed. */
void validate_store(const char *dir)
{
	if (dir[0] != '/' || strcmp(dir, "/") == 0)
		die_usage("--store '%s': an absolute directory other than /", dir);
	if (strstr(dir, "/../") || strstr(dir, "/./") || strstr(dir, "//") ||
	    (strlen(dir) >= 3 && strcmp(dir + strlen(dir) - 3, "/..") == 0) ||
	    (strlen(dir) >= 2 && strcmp(dir + strlen(dir) - 2, "/.") == 0) ||
	    dir[strlen(dir) - 1] == '/')
		die_usage("--store '%s': give the path without '.', '..' or '//'", dir);
	if (strlen(dir) >= PATH_MAX / 2)
		die_usage("--store: path too long");
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

/* zfs list's units: 3 significant digits, K = 1024 ("62K", "20.1M"). */
void human_size(uint64_t bytes, char *buf, size_t size)
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
		 "backend=%s\npool=%s\nbacking_file=%s\nfile_created=%d\ndir_created=%d\n",
		 s->backend->name, s->pool, s->backing_file, s->file_created,
		 s->dir_created);
	write_text_file(path, text);
	explain_note("# %s: backend=%s pool=%s", path, s->backend->name, s->pool);
}

int state_read(struct store *s)
{
	static const struct backend *const backends[] = {
		&backend_zfs, &backend_btrfs, &backend_overlay,
	};
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
		if (strcmp(line, "backend") == 0) {
			for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
				if (strcmp(value, backends[i]->name) == 0)
					s->backend = backends[i];
		} else if (strcmp(line, "pool") == 0) {
			snprintf(s->pool, sizeof(s->pool), "%s", value);
		} else if (strcmp(line, "backing_file") == 0) {
			snprintf(s->backing_file, sizeof(s->backing_file), "%s", value);
		} else if (strcmp(line, "file_created") == 0) {
			s->file_created = atoi(value);
		} else if (strcmp(line, "dir_created") == 0) {
			s->dir_created = atoi(value);
		}
	}
	return s->backend ? 0 : -EINVAL;
}

/* --- the backing file and the store directory ------------------------------ */

static void unlink_backing_file(void *arg)
{
	unlink((const char *)arg);
}

void backing_file_prepare(struct store *s, const struct pool_options *opt)
{
	struct stat st;
	int fd;

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
		if (!opt->device) {
			errno = EEXIST;
			die_errno("create %s", s->backing_file);
		}
		if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
			die("--device %s: not a block device or a file", s->backing_file);
		return; /* the user's: used as it is, never removed */
	}
	fd = open(s->backing_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die_errno("create %s", s->backing_file);
	s->file_created = 1;
	undo_push(unlink_backing_file, s->backing_file);
	/* Sparse: blocks are allocated only when the pool writes them. */
	if (ftruncate(fd, (off_t)opt->size) < 0)
		die_errno("ftruncate %s", s->backing_file);
	close(fd);
	explain_call(0, 0, "truncate -s SIZE FILE", "ftruncate(\"%s\", %llu)", s->backing_file,
		     (unsigned long long)opt->size);
}

void backing_file_remove(const struct store *s)
{
	if (!s->file_created)
		return;
	if (unlink(s->backing_file) < 0 && errno != ENOENT)
		die_errno("unlink %s", s->backing_file);
	explain_call(0, 0, NULL, "unlink(\"%s\")", s->backing_file);
}

static void rmdir_store(void *arg)
{
	rmdir((const char *)arg);
}

void store_dir_prepare(struct store *s)
{
	if (mkdir(s->dir, 0755) == 0) {
		s->dir_created = 1;
		undo_push(rmdir_store, s->dir);
	} else if (errno != EEXIST) {
		die_errno("mkdir %s", s->dir);
	}
}

void store_dir_remove(const struct store *s)
{
	/* Only what we made, and only when empty: never a user's directory. */
	if (s->dir_created && rmdir(s->dir) == 0)
		explain_call(0, 0, NULL, "rmdir(\"%s\")", s->dir);
}

/* --- mounts ----------------------------------------------------------------- */

static const struct flag_name mount_flags[] = {
	{ MS_RDONLY, "MS_RDONLY" }, { MS_REMOUNT, "MS_REMOUNT" },
	{ MS_BIND, "MS_BIND" }, { MS_REC, "MS_REC" }, { 0, NULL },
};

void mount_or_die(const char *source, const char *target, const char *fstype,
		  unsigned long flags, const char *data, const char *shell)
{
	char names[128];
	int r = mount(source, target, fstype, flags, data);
	int err = r < 0 ? errno : 0;

	explain_call(r, err, shell, "mount(%s%s%s, \"%s\", %s%s%s, %s, %s%s%s)",
		     source ? "\"" : "", source ? source : "NULL", source ? "\"" : "",
		     target, fstype ? "\"" : "", fstype ? fstype : "NULL",
		     fstype ? "\"" : "", flags_to_string(names, sizeof(names), flags, mount_flags),
		     data ? "\"" : "", data ? data : "NULL", data ? "\"" : "");
	if (r < 0 && err == EINVAL && fstype && strcmp(fstype, "overlay") == 0)
		die_hint("overlayfs gives its reason only in the kernel log: dmesg | tail",
			 "mount overlay on %s: %s", target, strerror(err));
	if (r < 0) {
		errno = err;
		die_errno("mount %s on %s", fstype ? fstype : source, target);
	}
}

void umount_or_die(const char *target, const char *shell)
{
	int r = umount2(target, 0);
	int err = r < 0 ? errno : 0;

	explain_call(r, err, shell, "umount2(\"%s\", 0)", target);
	if (r < 0 && err == EBUSY) {
		char text[2 * PATH_MAX];

		snprintf(text, sizeof(text), "a process uses %s (its cwd or an open file): "
			 "fuser -vm %s", target, target);
		die_hint(text, "umount %s: %s", target, strerror(err));
	}
	if (r < 0) {
		errno = err;
		die_errno("umount %s", target);
	}
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int is_mount_point(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4 * PATH_MAX], target[PATH_MAX];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "36 35 98:0 / /mnt/point rw ..." : the fifth field */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", target) == 1) {
			unescape_octal(target);
			found = strcmp(target, path) == 0;
		}
	}
	fclose(f);
	return found;
}

/* --- du and rm -rf ------------------------------------------------------------ */

struct inode_seen {
	dev_t dev;
	ino_t ino;
};
static struct inode_seen *seen;
static size_t nr_seen, seen_cap;
static uint64_t usage_bytes;

static int hard_link_seen_before(const struct stat *st)
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

uint64_t disk_usage(const char *path)
{
	usage_bytes = 0;
	nr_seen = 0;
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

int kernel_has_filesystem(const char *name)
{
	char line[128];
	FILE *f = fopen("/proc/filesystems", "re");
	int found = 0;

	if (!f)
		return 0;
	/* Lines are "nodev\toverlay" or "\tbtrfs": the name follows the tab. */
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

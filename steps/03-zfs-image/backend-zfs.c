/*
 * backend-zfs.c - the post's own commands: zpool and zfs, run as they are.
 *
 * ZFS is a pool of blocks (zpool) holding datasets (zfs).  A snapshot is a
 * dataset frozen at a transaction; a clone is a new dataset whose blocks
 * are the snapshot's until it writes its own (copy-on-write: ZFS never
 * overwrites a block in place, so "copy" is only "allocate elsewhere").
 * That is why the post's fresh clone USES 62K and REFERS to 605M.
 *
 * Where the kernel has OpenZFS (/dev/zfs), zpool/zfs talk to it.  Here
 * there is none, and Debian's zfs-fuse does ZFS in a daemon: zpool/zfs
 * talk to it over the UNIX socket /var/run/zfs/zfs_socket, and datasets are
 * FUSE mounts.  `pool create` starts that daemon when none runs, with a
 * pidfile of ours; `pool destroy` stops it only if that pidfile says we
 * started it and no pool is left.
 *
 * zfs-fuse 0.7.0 quirks met here (kernel-interfaces.md 6.4): its zfs list
 * has no -p (exact bytes), so sizes are read with `zfs get -Hp`; a new
 * snapshot's space figures change only after the next transaction group
 * (~20 s) and are reported as zfs says them; `zfs destroy` right after
 * `zfs clone` can answer "dataset is busy" for ~0.1 s, so it is retried
 * for a bounded time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define ZFS_MIN_SIZE (64ull << 20)          /* SPA_MINDEVSIZE: a vdev of at least 64M */
#define ZFS_DEVICE "/dev/zfs"               /* OpenZFS in the kernel */
#define ZFS_FUSE_SOCKET "/var/run/zfs/zfs_socket"
#define TUNA_RUN_DIR "/run/tuna"
#define ZFS_FUSE_PIDFILE TUNA_RUN_DIR "/zfs-fuse.pid"  /* "we started it" */
#define DAEMON_START_TIMEOUT_MS 10000
#define DAEMON_STOP_TIMEOUT_MS 30000        /* the init script allows 12 s */
#define BUSY_RETRY_TIMEOUT_MS 10000         /* "busy" after a clone, or while zfs list runs */
#define POLL_STEP_MS 20
#define LIST_BUFFER_SIZE (1 << 20)

static void run_destroy(const char *const argv[], const char *shell);

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static const char *zfs_unavailable(void)
{
	char buf[PATH_MAX];

	if (!find_program("zpool", buf, sizeof(buf)) || !find_program("zfs", buf, sizeof(buf)))
		return "zpool and zfs not found (apt-get install zfsutils-linux, or zfs-fuse)";
	if (path_exists(ZFS_DEVICE))
		return NULL;
	if (!find_program("zfs-fuse", buf, sizeof(buf)))
		return "no " ZFS_DEVICE " (ZFS kernel module) and no zfs-fuse daemon to start";
	if (!path_exists("/dev/fuse"))
		return "zfs-fuse needs /dev/fuse";
	return NULL;
}

/* Is a zfs-fuse daemon answering on its socket? */
static int zfs_fuse_running(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return 0;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", ZFS_FUSE_SOCKET);
	ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

/* The PID in our pidfile, if it is still a zfs-fuse process; else 0. */
static pid_t zfs_fuse_ours(void)
{
	char text[32], comm_path[64], comm[32];
	int pid;

	if (file_read(ZFS_FUSE_PIDFILE, text, sizeof(text)) < 0 ||
	    parse_int(text, 1, 1 << 22, &pid) < 0)
		return 0;
	snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", pid);
	/* A recycled PID must not be killed: check it is zfs-fuse. */
	if (file_read(comm_path, comm, sizeof(comm)) < 0 || strcmp(comm, "zfs-fuse") != 0)
		return 0;
	return pid;
}

/* SIGTERM through a pidfd (no PID reuse race), then wait for the exit. */
static void zfs_fuse_stop(void *unused)
{
	pid_t pid = zfs_fuse_ours();
	struct pollfd p;
	int fd;

	(void)unused;
	if (!pid)
		return;
	fd = sys_pidfd_open(pid, 0);
	if (fd < 0 || sys_pidfd_send_signal(fd, SIGTERM, NULL, 0) < 0) {
		warn_msg("stop zfs-fuse %d: %s", (int)pid, strerror(errno));
		return;
	}
	explain_call(0, 0, "/etc/init.d/zfs-fuse stop", "pidfd_send_signal(pidfd(%d), SIGTERM)",
		     (int)pid);
	/* A pidfd becomes readable when the process exits (pidfd_open(2)). */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, DAEMON_STOP_TIMEOUT_MS) <= 0)
		warn_msg("zfs-fuse %d did not exit within %d s", (int)pid,
			 DAEMON_STOP_TIMEOUT_MS / 1000);
	else
		unlink(ZFS_FUSE_PIDFILE);
	close(fd);
}

/* Start zfs-fuse, as /etc/init.d/zfs-fuse does, and wait for its socket. */
static void zfs_fuse_start(void)
{
	char exe[PATH_MAX];
	int status;
	pid_t pid;

	find_program("zfs-fuse", exe, sizeof(exe));
	if (mkdir(TUNA_RUN_DIR, 0755) < 0 && errno != EEXIST)
		die_errno("mkdir %s", TUNA_RUN_DIR);
	pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* A daemon keeps none of our files: a test's pipe would never close. */
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close_range(3, ~0U, 0);
		setsid();
		execl(exe, "zfs-fuse", "--pidfile", ZFS_FUSE_PIDFILE, "--no-kstat-mount",
		      (char *)NULL);
		_exit(127);
	}
	/* zfs-fuse forks into the background; its first process exits at once. */
	waitpid(pid, &status, 0);
	explain_call(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
		     "/etc/init.d/zfs-fuse start", "exec(%s --pidfile %s --no-kstat-mount)",
		     exe, ZFS_FUSE_PIDFILE);
	undo_push(zfs_fuse_stop, NULL);
	for (int waited = 0; !zfs_fuse_running(); waited += POLL_STEP_MS) {
		if (waited >= DAEMON_START_TIMEOUT_MS)
			die("zfs-fuse started but %s did not answer within %d s", ZFS_FUSE_SOCKET,
			    DAEMON_START_TIMEOUT_MS / 1000);
		sleep_ms(POLL_STEP_MS);
	}
}

static void zpool_destroy_undo(void *arg)
{
	const char *argv[] = { "zpool", "destroy", arg, NULL };

	run_program(argv, NULL, NULL, 0, NULL, 0);
}

static void zfs_pool_create(struct store *s, const struct pool_options *opt)
{
	char images[PATH_MAX], containers[PATH_MAX], images_ds[PATH_MAX],
		containers_ds[PATH_MAX], mp_images[PATH_MAX + 16], mp_containers[PATH_MAX + 16];

	/* 1. ZFS itself: the kernel's, or a zfs-fuse daemon (ours if none runs). */
	if (!path_exists(ZFS_DEVICE) && !zfs_fuse_running())
		zfs_fuse_start();

	/* 2. The vdev: a file (or the user's device), as the post's /dev/sda5. */
	backing_file_prepare(s, opt);

	/*
	 * 3. The pool.  The post lets it mount its root dataset at /zpools;
	 * here STORE stays a plain directory (-m none) holding the state
	 * file, so reading it costs no round trip through the FUSE daemon.
	 */
	store_dir_prepare(s);
	run_or_die((const char *[]){ "zpool", "create", "-m", "none", s->pool, s->backing_file,
				     NULL },
		   "zpool create zpools /dev/sda5");
	undo_push(zpool_destroy_undo, s->pool);

	/* 4. The two parents, mounted where the post mounts them. */
	path_format(images, "%s/images", s->dir);
	path_format(containers, "%s/containers", s->dir);
	path_format(images_ds, "%s/images", s->pool);
	path_format(containers_ds, "%s/containers", s->pool);
	snprintf(mp_images, sizeof(mp_images), "mountpoint=%s", images);
	snprintf(mp_containers, sizeof(mp_containers), "mountpoint=%s", containers);
	run_or_die((const char *[]){ "zfs", "create", "-o", mp_images, images_ds, NULL },
		   "zfs create zpools/images -o mountpoint=/zpools/images");
	run_or_die((const char *[]){ "zfs", "create", "-o", mp_containers, containers_ds, NULL },
		   "zfs create zpools/containers -o mountpoint=/zpools/containers");
	state_write(s);
}

/* Pools the daemon still holds: `zpool list -H -o name`. */
static int zfs_pools_left(void)
{
	char out[4096];
	const char *argv[] = { "zpool", "list", "-H", "-o", "name", NULL };

	if (run_program(argv, NULL, out, sizeof(out), NULL, 0) != 0)
		return 1; /* cannot tell: leave the daemon alone */
	return out[0] != '\0';
}

static void zfs_pool_destroy(struct store *s)
{
	char state[PATH_MAX];

	run_destroy((const char *[]){ "zpool", "destroy", s->pool, NULL }, "zpool destroy zpools");
	backing_file_remove(s);
	/* What zfs left on the host: the parents' empty mount points, our state. */
	for (int i = 0; i < 2; i++) {
		path_format(state, "%s/%s", s->dir, i ? "containers" : "images");
		rmdir(state);
	}
	path_format(state, "%s/" STATE_FILE, s->dir);
	if (unlink(state) < 0)
		die_errno("unlink %s", state);
	store_dir_remove(s);
	if (!path_exists(ZFS_DEVICE) && zfs_fuse_ours() && !zfs_pools_left())
		zfs_fuse_stop(NULL);
}

static void zfs_image_create(struct store *s, const char *image)
{
	char dataset[PATH_MAX];

	/* It inherits its mountpoint: STORE/images/NAME. */
	path_format(dataset, "%s/images/%s", s->pool, image);
	run_or_die((const char *[]){ "zfs", "create", dataset, NULL },
		   "zfs create zpools/images/myImage -o mountpoint=/zpools/images/myImage");
}

static void zfs_snapshot(struct store *s, const char *image, const char *tag)
{
	char snapshot[PATH_MAX];

	path_format(snapshot, "%s/images/%s@%s", s->pool, image, tag);
	run_or_die((const char *[]){ "zfs", "snapshot", snapshot, NULL },
		   "zfs snapshot zpools/images/myImage@v1.0");
}

static void zfs_clone(struct store *s, const char *image, const char *tag,
		      const char *container)
{
	char snapshot[PATH_MAX], clone[PATH_MAX];

	path_format(snapshot, "%s/images/%s@%s", s->pool, image, tag);
	path_format(clone, "%s/containers/%s", s->pool, container);
	run_or_die((const char *[]){ "zfs", "clone", snapshot, clone, NULL },
		   "zfs clone zpools/images/myImage@v1.0 zpools/containers/myContainer");
}

/* The entry for a dataset name under POOL/images/ or POOL/containers/. */
static struct entry *entry_for(struct store *s, struct entry *entries, int *n,
			       const char *dataset)
{
	size_t pool_len = strlen(s->pool);
	const char *rest;
	enum entry_type type;

	if (strncmp(dataset, s->pool, pool_len) != 0 || dataset[pool_len] != '/')
		return NULL;
	rest = dataset + pool_len + 1;
	if (strncmp(rest, "images/", 7) == 0) {
		rest += 7;
		type = strchr(rest, '@') ? ENTRY_SNAPSHOT : ENTRY_IMAGE;
	} else if (strncmp(rest, "containers/", 11) == 0) {
		rest += 11;
		type = ENTRY_CONTAINER;
	} else {
		return NULL;
	}
	if (strchr(rest, '/') || strlen(rest) >= sizeof(entries[0].name))
		return NULL; /* not made by this tool */
	for (int i = 0; i < *n; i++)
		if (strcmp(entries[i].name, rest) == 0 && entries[i].type == type)
			return &entries[i];
	if (*n == MAX_ENTRIES)
		die("list: more than %d entries", MAX_ENTRIES);
	memset(&entries[*n], 0, sizeof(entries[0]));
	snprintf(entries[*n].name, sizeof(entries[0].name), "%s", rest);
	entries[*n].type = type;
	if (type == ENTRY_SNAPSHOT) /* its image: the name before '@' */
		snprintf(entries[*n].origin, strcspn(rest, "@") + 1, "%s", rest);
	return &entries[(*n)++];
}

static int zfs_list(struct store *s, struct entry *entries)
{
	char *out = malloc(LIST_BUFFER_SIZE), err[512];
	const char *argv[] = { "zfs", "get", "-rHp", "-o", "name,property,value",
			       "used,referenced,mountpoint,origin", s->pool, NULL };
	size_t prefix_len;
	char prefix[NAME_MAX_LEN + 16];
	int n = 0;

	if (!out)
		die_errno("malloc");
	/* zfs list -Hp where OpenZFS has it; zfs-fuse's zfs list has no -p. */
	if (run_program(argv, "zfs list -t all", out, LIST_BUFFER_SIZE, err, sizeof(err)) != 0)
		die("zfs get %s: %s", s->pool, err);
	prefix_len = (size_t)snprintf(prefix, sizeof(prefix), "%s/images/", s->pool);
	for (char *save, *line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *name = line, *property = strchr(name, '\t'), *value;
		struct entry *e;

		if (!property || !(value = strchr(property + 1, '\t')))
			continue;
		*property++ = '\0';
		*value++ = '\0';
		value[strcspn(value, "\t")] = '\0';
		e = entry_for(s, entries, &n, name);
		if (!e)
			continue;
		if (strcmp(property, "used") == 0)
			e->used = strtoull(value, NULL, 10);
		else if (strcmp(property, "referenced") == 0)
			e->refer = strtoull(value, NULL, 10);
		else if (strcmp(property, "mountpoint") == 0 && value[0] == '/')
			snprintf(e->mountpoint, sizeof(e->mountpoint), "%s", value);
		else if (strcmp(property, "origin") == 0 &&
			 strncmp(value, prefix, prefix_len) == 0)
			snprintf(e->origin, sizeof(e->origin), "%s", value + prefix_len);
	}
	free(out);
	return n;
}

/*
 * Run a zfs/zpool command that destroys something.  zfs-fuse answers
 * "dataset is busy" / "pool is busy" for a moment after a clone is made:
 * retry that, for a bounded time, and nothing else.
 */
static void run_destroy(const char *const argv[], const char *shell)
{
	struct timespec start, now;
	char err[512];

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (run_program(argv, shell, NULL, 0, err, sizeof(err)) == 0)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!strstr(err, "busy") ||
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
			    BUSY_RETRY_TIMEOUT_MS)
			break;
		sleep_ms(POLL_STEP_MS);
	}
	if (strstr(err, "busy"))
		die_hint("a process uses it (cwd or open file: fuser -vm MOUNTPOINT), or a mount "
			 "namespace made while it was mounted holds a copy of the mount",
			 "%s %s %s: %s", argv[0], argv[1], argv[2], err);
	die("%s %s %s: %s", argv[0], argv[1], argv[2], err);
}

static void zfs_destroy(struct store *s, const struct entry *what)
{
	char dataset[PATH_MAX];

	path_format(dataset, "%s/%s/%s", s->pool,
		    what->type == ENTRY_CONTAINER ? "containers" : "images", what->name);
	run_destroy((const char *[]){ "zfs", "destroy", dataset, NULL },
		    what->type == ENTRY_CONTAINER ? "zfs destroy zpools/containers/myContainer" :
						    "zfs destroy zpools/images/myImage[@v1.0]");
}

const struct backend backend_zfs = {
	.name = "zfs",
	.min_size = ZFS_MIN_SIZE,
	.unavailable = zfs_unavailable,
	.install_hint = "apt-get install zfsutils-linux (OpenZFS, where the kernel has it) or zfs-fuse",
	.pool_create = zfs_pool_create,
	.pool_destroy = zfs_pool_destroy,
	.image_create = zfs_image_create,
	.snapshot = zfs_snapshot,
	.clone = zfs_clone,
	.list = zfs_list,
	.destroy = zfs_destroy,
};

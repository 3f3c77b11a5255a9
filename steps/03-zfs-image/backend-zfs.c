/*
 * backend-zfs.c - the post's own storage: zpool and zfs, run as the post
 * runs them.  This is the backend `make lab` takes where ZFS is there.
 *
 * ZFS is a pool of blocks (zpool) holding datasets (zfs).  A snapshot is a
 * dataset frozen at a transaction; a clone is a new dataset whose blocks
 * are the snapshot's until it writes its own (copy-on-write: ZFS never
 * overwrites a block in place, so "copy" is only "allocate elsewhere").
 * That is why the post's fresh clone USES 62K and REFERS to 605M.
 *
 * What each command runs (the post's command is in each --explain line):
 *   pool create    zpool create -m none POOL FILE; zfs create -o mountpoint=
 *                  STORE/images POOL/images, and the same for containers
 *   image create   zfs create POOL/images/NAME (it inherits STORE/images/NAME)
 *   snapshot       zfs snapshot POOL/images/NAME@TAG
 *   clone          zfs clone POOL/images/NAME@TAG POOL/containers/CONTAINER
 *   list           zfs get -rHp used,referenced,mountpoint,origin POOL
 *   destroy        zfs destroy, retried while zfs says "busy"
 *   pool destroy   zpool destroy POOL, then the backing file
 * Where the kernel has no ZFS, zfs-fuse.c runs the daemon zpool and zfs
 * talk to instead.
 *
 * zfs-fuse 0.7.0's quirks: its zfs list has no -p (exact bytes), so sizes
 * are read with `zfs get -Hp`; a new snapshot's space figures change only
 * after the next transaction group (~20 s) and are reported as zfs says
 * them; `zfs destroy` right after `zfs clone` can answer "dataset is busy"
 * for ~0.1 s, so it is retried for a bounded time.
 *
 * Man pages: zpool(8), zfs(8) (used, referenced, origin; clones).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define ZFS_MIN_SIZE (64ull << 20)          /* SPA_MINDEVSIZE: a vdev of at least 64M */
#define BUSY_RETRY_TIMEOUT_MS 10000         /* "busy" after a clone, or while zfs list runs */
#define LIST_BUFFER_SIZE (1 << 20)

static const char *zfs_unavailable(void)
{
	char buf[PATH_MAX];

	if (find_program("zpool", buf, sizeof(buf)) < 0 ||
	    find_program("zfs", buf, sizeof(buf)) < 0)
		return "zpool and zfs not found (apt-get install zfsutils-linux, or zfs-fuse)";
	return zfs_fuse_unavailable();
}

static void zpool_destroy_undo(void *pool)
{
	char err[512];

	run_program((char *[]){ "zpool", "destroy", pool, NULL }, "undo", NULL, 0, err,
		    sizeof(err));
}

static void zfs_pool_create(struct store *s, const struct pool_options *opt)
{
	char images[PATH_MAX + 32], containers[PATH_MAX + 32], images_ds[PATH_MAX],
		containers_ds[PATH_MAX];

	/* 1. ZFS itself: the kernel's, or a zfs-fuse daemon (ours if none runs). */
	zfs_fuse_start_if_needed();

	/* 2. The vdev: a file (or the user's device), as the post's /dev/sda5. */
	backing_file_prepare(s, opt);

	/*
	 * 3. The pool.  The post lets it mount its root dataset at /zpools;
	 * here STORE stays a plain directory (-m none) holding the state
	 * file, so reading it costs no round trip through the FUSE daemon.
	 */
	store_dir_prepare(s);
	run_or_die((char *[]){ "zpool", "create", "-m", "none", s->pool, s->backing_file, NULL },
		   "zpool create zpools /dev/sda5");
	undo_push(zpool_destroy_undo, s->pool);

	/* 4. The two parents, mounted where the post mounts them. */
	path_format(images_ds, "%s/images", s->pool);
	path_format(containers_ds, "%s/containers", s->pool);
	snprintf(images, sizeof(images), "mountpoint=%s/images", s->dir);
	snprintf(containers, sizeof(containers), "mountpoint=%s/containers", s->dir);
	run_or_die((char *[]){ "zfs", "create", "-o", images, images_ds, NULL },
		   "zfs create zpools/images -o mountpoint=/zpools/images");
	run_or_die((char *[]){ "zfs", "create", "-o", containers, containers_ds, NULL },
		   "zfs create zpools/containers -o mountpoint=/zpools/containers");
	state_write(s);
}

static void zfs_image_create(struct store *s, const char *image)
{
	char dataset[PATH_MAX];

	/* It inherits its mountpoint: STORE/images/NAME. */
	path_format(dataset, "%s/images/%s", s->pool, image);
	run_or_die((char *[]){ "zfs", "create", dataset, NULL },
		   "zfs create zpools/images/myImage -o mountpoint=/zpools/images/myImage");
}

static void zfs_snapshot(struct store *s, const char *image, const char *tag)
{
	char snapshot[PATH_MAX];

	path_format(snapshot, "%s/images/%s@%s", s->pool, image, tag);
	run_or_die((char *[]){ "zfs", "snapshot", snapshot, NULL },
		   "zfs snapshot zpools/images/myImage@v1.0");
}

static void zfs_clone(struct store *s, const char *image, const char *tag,
		      const char *container, uint64_t size)
{
	char snapshot[PATH_MAX], clone[PATH_MAX];

	(void)size;   /* zfs-image.c refused it: overlay's alone */
	path_format(snapshot, "%s/images/%s@%s", s->pool, image, tag);
	path_format(clone, "%s/containers/%s", s->pool, container);
	run_or_die((char *[]){ "zfs", "clone", snapshot, clone, NULL },
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

/* zfs get's "NAME\tPROPERTY\tVALUE" lines, into ENTRIES. */
static int zfs_list(struct store *s, struct entry *entries)
{
	char *out = malloc(LIST_BUFFER_SIZE), err[512], prefix[NAME_MAX_LEN + 16];
	size_t prefix_len;
	int n = 0;

	if (!out)
		die_errno("malloc");
	/* zfs list -Hp where OpenZFS has it; zfs-fuse's zfs list has no -p. */
	if (run_program((char *[]){ "zfs", "get", "-rHp", "-o", "name,property,value",
				    "used,referenced,mountpoint,origin", s->pool, NULL },
			"zfs list -t all", out, LIST_BUFFER_SIZE, err, sizeof(err)) != 0)
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
static void run_destroy(char *const argv[], const char *shell)
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
		die_hint(0, "a process uses it (cwd or open file: fuser -vm MOUNTPOINT), or a "
			 "mount namespace made while it was mounted holds a copy of the mount",
			 "%s %s %s: %s", argv[0], argv[1], argv[2], err);
	die("%s %s %s: %s", argv[0], argv[1], argv[2], err);
}

static void zfs_destroy(struct store *s, const struct entry *what)
{
	char dataset[PATH_MAX];

	path_format(dataset, "%s/%s/%s", s->pool,
		    what->type == ENTRY_CONTAINER ? "containers" : "images", what->name);
	run_destroy((char *[]){ "zfs", "destroy", dataset, NULL },
		    what->type == ENTRY_CONTAINER ? "zfs destroy zpools/containers/myContainer" :
						    "zfs destroy zpools/images/myImage[@v1.0]");
}

static void zfs_pool_destroy(struct store *s)
{
	char path[PATH_MAX];

	/* 1. The pool, and everything in it: datasets, snapshots, their mounts. */
	run_destroy((char *[]){ "zpool", "destroy", s->pool, NULL }, "zpool destroy zpools");
	backing_file_remove(s);

	/* 2. What zfs left on the host: the parents' empty mount points, our state. */
	for (int i = 0; i < 2; i++) {
		path_format(path, "%s/%s", s->dir, i ? "containers" : "images");
		rmdir(path);
	}
	path_format(path, "%s/" STATE_FILE, s->dir);
	if (unlink(path) < 0)
		die_errno("unlink %s", path);
	store_dir_remove(s);

	/* 3. The daemon, if this tool started it and no pool is left: gone on return. */
	zfs_fuse_stop_if_ours();
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

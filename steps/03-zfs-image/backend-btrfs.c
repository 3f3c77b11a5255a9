/*
 * backend-btrfs.c - the same image, snapshot and clone with btrfs, talking
 * to the kernel directly.
 *
 * The pool is a btrfs file system on a loop device: a file becomes a block
 * device with two ioctls (LOOP_CTL_GET_FREE on /dev/loop-control, then
 * LOOP_CONFIGURE on /dev/loopN, loop(4)), mkfs.btrfs formats it once, and
 * mount(2) puts it at STORE.  LO_FLAGS_AUTOCLEAR makes the kernel detach the
 * loop device by itself when the file system is unmounted.
 *
 * In btrfs an image is a subvolume (a separately snapshottable tree,
 * BTRFS_IOC_SUBVOL_CREATE); a snapshot is a new subvolume sharing every
 * block of the old one (BTRFS_IOC_SNAP_CREATE_V2), made read-only by
 * BTRFS_SUBVOL_RDONLY; the container's clone is a writable snapshot of that
 * snapshot.  Layout: STORE/images/NAME, STORE/images/NAME@TAG (the read-only
 * snapshot), STORE/containers/NAME.
 *
 * USED and REFER come from FS_IOC_FIEMAP, the same numbers as `btrfs
 * filesystem du` ("Exclusive" and "Total"): every data extent of every file
 * counts in REFER, and in USED only when the kernel does not flag it
 * FIEMAP_EXTENT_SHARED.  Inline extents (tiny files kept in the metadata)
 * count in neither, as in btrfs filesystem du.  Quotas (qgroups) would give
 * ZFS-like figures too, but must be switched on for the whole file system
 * and then cost on every write; FIEMAP asks nothing of the file system.
 *
 * Man pages: loop(4), ioctl_fiemap(2), btrfs-subvolume(8),
 * Documentation/filesystems/fiemap.rst; kernel-interfaces.md 6.1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

/* mkfs.btrfs 6.2: "minimum size for each btrfs device is 114294784" (109M). */
#define BTRFS_MIN_SIZE (109ull << 20)
#define LOOP_CONTROL "/dev/loop-control"
#define LOOP_ATTACH_TRIES 8              /* another process may take our free loop */
#define LOOP_DETACH_TIMEOUT_MS 5000
#define SUBVOL_CLEANUP_TIMEOUT_MS 60000   /* the cleaner may wait for a commit: 30 s */
#define COMMIT_EVERY_MS 1000
#define POLL_STEP_MS 20
#define SUBVOL_ROOT_INODE 256            /* BTRFS_FIRST_FREE_OBJECTID */
#define FIEMAP_EXTENTS_PER_CALL 128
#define FTW_OPEN_FDS 32


static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static const char *btrfs_unavailable(void)
{
	char buf[4096];

	if (!kernel_has_filesystem("btrfs"))
		return "the kernel has no btrfs (/proc/filesystems)";
	if (!path_exists(LOOP_CONTROL))
		return "no " LOOP_CONTROL " (loop devices)";
	if (!find_program("mkfs.btrfs", buf, sizeof(buf)))
		return "mkfs.btrfs not found (apt-get install btrfs-progs)";
	return NULL;
}

static int open_dir_or_die(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		die_errno("open %s", path);
	return fd;
}

/*
 * A free loop device bound to FILE, autoclear on.  Returns its open fd:
 * while it is open the device stays; once mounted, the mount holds it.
 */
static int loop_attach(const char *file, char *device, size_t size)
{
	int ctl = open(LOOP_CONTROL, O_RDWR | O_CLOEXEC);
	int file_fd = open(file, O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		die_errno("open %s", LOOP_CONTROL);
	if (file_fd < 0)
		die_errno("open %s", file);
	for (int attempt = 0; attempt < LOOP_ATTACH_TRIES; attempt++) {
		struct loop_config config = { .fd = (__u32)file_fd };
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		int loop_fd, r, err;

		explain_call(n, n < 0 ? errno : 0, "losetup -f", "ioctl(\"%s\", LOOP_CTL_GET_FREE)",
			     LOOP_CONTROL);
		if (n < 0)
			die_errno("ioctl %s LOOP_CTL_GET_FREE", LOOP_CONTROL);
		snprintf(device, size, "/dev/loop%d", n);
		loop_fd = open(device, O_RDWR | O_CLOEXEC);
		if (loop_fd < 0)
			die_errno("open %s", device);
		/* One call sets the file and the flags: no window without autoclear. */
		config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		/* Only a label, for losetup -l: the kernel keeps the file itself. */
		memcpy(config.info.lo_file_name, file, strnlen(file, LO_NAME_SIZE - 1));
		r = ioctl(loop_fd, LOOP_CONFIGURE, &config);
		err = r < 0 ? errno : 0;
		explain_call(r, err, "losetup /dev/loopN FILE",
			     "ioctl(\"%s\", LOOP_CONFIGURE, {fd=\"%s\", lo_flags=LO_FLAGS_AUTOCLEAR})",
			     device, file);
		if (r == 0) {
			close(ctl);
			close(file_fd);
			return loop_fd;
		}
		close(loop_fd);
		if (err != EBUSY) {
			errno = err;
			die_errno("ioctl %s LOOP_CONFIGURE", device);
		}
	}
	die("no free loop device after %d tries", LOOP_ATTACH_TRIES);
}

static void umount_undo(void *arg)
{
	umount2((const char *)arg, 0);
}

static void make_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];

	path_format(path, "%s/%s", dir, name);
	if (mkdir(path, 0755) < 0)
		die_errno("mkdir %s", path);
}

static void btrfs_pool_create(struct store *s, const struct pool_options *opt)
{
	char device[PATH_MAX], label[NAME_MAX_LEN + 1];
	int loop_fd = -1;
	struct stat st;

	/* 1. The block device: a loop device on a file, or the user's device. */
	backing_file_prepare(s, opt);
	if (stat(s->backing_file, &st) < 0)
		die_errno("stat %s", s->backing_file);
	if (S_ISBLK(st.st_mode))
		snprintf(device, sizeof(device), "%s", s->backing_file);
	else
		loop_fd = loop_attach(s->backing_file, device, sizeof(device));

	/* 2. mkfs.btrfs: the one program this back end runs. */
	snprintf(label, sizeof(label), "%s", s->pool);
	run_or_die((const char *[]){ "mkfs.btrfs", "-q", "-L", label, device, NULL },
		   "mkfs.btrfs /dev/loopN");

	/* 3. Mount it at STORE; from now on the mount keeps the loop device. */
	store_dir_prepare(s);
	mount_or_die(device, s->dir, "btrfs", 0, NULL, "mount /dev/loopN /zpools");
	undo_push(umount_undo, s->dir);
	if (loop_fd >= 0)
		close(loop_fd);
	make_dir(s->dir, "images");
	make_dir(s->dir, "containers");
	state_write(s);
}

/* The device mounted at PATH: the source field of its mountinfo line. */
static void mount_source(const char *path, char *source, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4 * PATH_MAX], target[PATH_MAX], src[PATH_MAX];

	source[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %*s %*s %4095s", target) == 1 &&
		    strcmp(target, path) == 0 && dash &&
		    sscanf(dash, " - %*s %4095s", src) == 1)
			snprintf(source, size, "%s", src);
	}
	if (f)
		fclose(f);
}

static void btrfs_pool_destroy(struct store *s)
{
	char device[PATH_MAX], sys_loop[PATH_MAX];

	/* 1. Unmount; the last reference to the loop device goes with it. */
	mount_source(s->dir, device, sizeof(device));
	umount_or_die(s->dir, "umount /zpools");

	/* 2. Autoclear detaches the loop device; wait until sysfs shows it. */
	if (strncmp(device, "/dev/loop", 9) == 0) {
		int waited = 0;

		path_format(sys_loop, "/sys/block/%s/loop/backing_file", device + 5);
		while (path_exists(sys_loop) && waited < LOOP_DETACH_TIMEOUT_MS) {
			sleep_ms(POLL_STEP_MS);
			waited += POLL_STEP_MS;
		}
		explain_note("# %s detached by LO_FLAGS_AUTOCLEAR after %d ms%s", device, waited,
			     path_exists(sys_loop) ? " (still attached!)" : "");
	}

	/* 3. The file and the directory, if this tool made them. */
	backing_file_remove(s);
	store_dir_remove(s);
}

static void subvolume_create(const char *parent, const char *name)
{
	struct btrfs_ioctl_vol_args args = { 0 };
	int fd = open_dir_or_die(parent), r;

	snprintf(args.name, sizeof(args.name), "%s", name);
	r = ioctl(fd, BTRFS_IOC_SUBVOL_CREATE, &args);
	explain_call(r, r < 0 ? errno : 0, "btrfs subvolume create STORE/images/NAME",
		     "ioctl(\"%s\", BTRFS_IOC_SUBVOL_CREATE, {name=\"%s\"})", parent, name);
	if (r < 0)
		die_errno("create subvolume %s/%s", parent, name);
	close(fd);
}

static void btrfs_image_create(struct store *s, const char *image)
{
	char images[PATH_MAX];

	path_format(images, "%s/images", s->dir);
	subvolume_create(images, image);
}

/* Snapshot SOURCE into DEST_DIR/NAME, read-only or not. */
static void subvolume_snapshot(const char *source, const char *dest_dir, const char *name,
			       int readonly)
{
	struct btrfs_ioctl_vol_args_v2 args = { 0 };
	int src = open_dir_or_die(source), dst = open_dir_or_die(dest_dir), r;

	args.fd = src;
	args.flags = readonly ? BTRFS_SUBVOL_RDONLY : 0;
	snprintf(args.name, sizeof(args.name), "%s", name);
	r = ioctl(dst, BTRFS_IOC_SNAP_CREATE_V2, &args);
	explain_call(r, r < 0 ? errno : 0,
		     readonly ? "btrfs subvolume snapshot -r SOURCE DEST" :
				"btrfs subvolume snapshot SOURCE DEST",
		     "ioctl(\"%s\", BTRFS_IOC_SNAP_CREATE_V2, {fd=\"%s\", flags=%s, name=\"%s\"})",
		     dest_dir, source, readonly ? "BTRFS_SUBVOL_RDONLY" : "0", name);
	if (r < 0)
		die_errno("snapshot %s to %s/%s", source, dest_dir, name);
	close(src);
	close(dst);
}

static void btrfs_snapshot(struct store *s, const char *image, const char *tag)
{
	char source[PATH_MAX], images[PATH_MAX], name[2 * NAME_MAX_LEN + 2];

	path_format(source, "%s/images/%s", s->dir, image);
	path_format(images, "%s/images", s->dir);
	snprintf(name, sizeof(name), "%s@%s", image, tag);
	subvolume_snapshot(source, images, name, 1);
}

static void btrfs_clone(struct store *s, const char *image, const char *tag,
			const char *container)
{
	char source[PATH_MAX], containers[PATH_MAX];

	path_format(source, "%s/images/%s@%s", s->dir, image, tag);
	path_format(containers, "%s/containers", s->dir);
	subvolume_snapshot(source, containers, container, 0);
}

/* --- USED and REFER from FIEMAP -------------------------------------------- */

static uint64_t extent_total, extent_exclusive;
static struct stat *files_seen;
static size_t nr_files_seen, files_seen_cap;

static int file_seen_before(const struct stat *st)
{
	for (size_t i = 0; i < nr_files_seen; i++)
		if (files_seen[i].st_ino == st->st_ino && files_seen[i].st_dev == st->st_dev)
			return 1;
	if (nr_files_seen == files_seen_cap) {
		files_seen_cap = files_seen_cap ? 2 * files_seen_cap : 64;
		files_seen = realloc(files_seen, files_seen_cap * sizeof(*files_seen));
		if (!files_seen)
			die_errno("realloc");
	}
	files_seen[nr_files_seen++] = *st;
	return 0;
}

static int add_extents(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char buf[sizeof(struct fiemap) + FIEMAP_EXTENTS_PER_CALL * sizeof(struct fiemap_extent)];
	struct fiemap *map = (struct fiemap *)buf;
	uint64_t start = 0;
	int fd, last = 0;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode) ||
	    (st->st_nlink > 1 && file_seen_before(st)))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	while (!last) {
		memset(map, 0, sizeof(*map));
		map->fm_start = start;
		map->fm_length = FIEMAP_MAX_OFFSET;
		map->fm_flags = FIEMAP_FLAG_SYNC; /* write delayed data first: real extents */
		map->fm_extent_count = FIEMAP_EXTENTS_PER_CALL;
		if (ioctl(fd, FS_IOC_FIEMAP, map) < 0 || map->fm_mapped_extents == 0)
			break;
		for (__u32 i = 0; i < map->fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &map->fm_extents[i];

			if (!(e->fe_flags & FIEMAP_EXTENT_DATA_INLINE)) {
				extent_total += e->fe_length;
				if (!(e->fe_flags & FIEMAP_EXTENT_SHARED))
					extent_exclusive += e->fe_length;
			}
			last = (e->fe_flags & FIEMAP_EXTENT_LAST) != 0;
			start = e->fe_logical + e->fe_length;
		}
	}
	close(fd);
	return 0;
}

/* Exclusive and total data bytes of one subvolume (not those nested in it). */
static void subvolume_usage(const char *path, uint64_t *used, uint64_t *refer)
{
	extent_total = extent_exclusive = 0;
	nr_files_seen = 0;
	nftw(path, add_extents, FTW_OPEN_FDS, FTW_PHYS | FTW_MOUNT);
	*used = extent_exclusive;
	*refer = extent_total;
}

static int subvolume_info(const char *path, struct btrfs_ioctl_get_subvol_info_args *info)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, info);
	close(fd);
	return r;
}

static int btrfs_list(struct store *s, struct entry *entries)
{
	static struct btrfs_ioctl_get_subvol_info_args info[MAX_ENTRIES];
	static const char *const dirs[] = { "images", "containers" };
	int n = 0;

	for (int d = 0; d < 2; d++) {
		char dir[PATH_MAX];
		struct dirent *de;
		DIR *dp;

		path_format(dir, "%s/%s", s->dir, dirs[d]);
		dp = opendir(dir);
		if (!dp)
			die_errno("opendir %s", dir);
		while ((de = readdir(dp))) {
			struct entry *e = &entries[n];
			struct stat st;

			if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(e->name))
				continue;
			memset(e, 0, sizeof(*e));
			path_format(e->mountpoint, "%s/%s", dir, de->d_name);
			/* A subvolume's root directory is always inode 256. */
			if (lstat(e->mountpoint, &st) < 0 || !S_ISDIR(st.st_mode) ||
			    st.st_ino != SUBVOL_ROOT_INODE ||
			    subvolume_info(e->mountpoint, &info[n]) < 0)
				continue;
			if (n == MAX_ENTRIES - 1)
				die("list: more than %d entries", MAX_ENTRIES);
			snprintf(e->name, sizeof(e->name), "%s", de->d_name);
			e->type = d == 1 ? ENTRY_CONTAINER :
				  strchr(de->d_name, '@') ? ENTRY_SNAPSHOT : ENTRY_IMAGE;
			if (e->type == ENTRY_SNAPSHOT)
				snprintf(e->origin, strcspn(e->name, "@") + 1, "%s", e->name);
			subvolume_usage(e->mountpoint, &e->used, &e->refer);
			n++;
		}
		closedir(dp);
	}
	/* A clone's parent_uuid is the uuid of the snapshot it was made from. */
	for (int i = 0; i < n; i++) {
		if (entries[i].type != ENTRY_CONTAINER)
			continue;
		for (int j = 0; j < n; j++)
			if (entries[j].type == ENTRY_SNAPSHOT &&
			    memcmp(info[i].parent_uuid, info[j].uuid, BTRFS_UUID_SIZE) == 0)
				snprintf(entries[i].origin, sizeof(entries[i].origin), "%s",
					 entries[j].name);
	}
	return n;
}

/* Is subvolume ID's root item still in the root tree?  (BTRFS_IOC_TREE_SEARCH) */
static int subvolume_exists(int fd, uint64_t id)
{
	struct btrfs_ioctl_search_args search = { 0 };

	search.key.tree_id = BTRFS_ROOT_TREE_OBJECTID;
	search.key.min_objectid = search.key.max_objectid = id;
	search.key.min_type = search.key.max_type = BTRFS_ROOT_ITEM_KEY;
	search.key.max_offset = UINT64_MAX;
	search.key.max_transid = UINT64_MAX;
	search.key.nr_items = 1;
	if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &search) < 0)
		return 0;
	return search.key.nr_items > 0;
}

static void btrfs_destroy(struct store *s, const struct entry *what)
{
	struct btrfs_ioctl_get_subvol_info_args info = { 0 };
	struct btrfs_ioctl_vol_args args = { 0 };
	char parent[PATH_MAX];
	int fd, r;

	path_format(parent, "%s/%s", s->dir,
		    what->type == ENTRY_CONTAINER ? "containers" : "images");
	if (subvolume_info(what->mountpoint, &info) < 0)
		die_errno("BTRFS_IOC_GET_SUBVOL_INFO %s", what->mountpoint);
	fd = open_dir_or_die(parent);

	/* 1. Unlink the subvolume: it vanishes from the tree at once... */
	snprintf(args.name, sizeof(args.name), "%s", what->name);
	r = ioctl(fd, BTRFS_IOC_SNAP_DESTROY, &args);
	explain_call(r, r < 0 ? errno : 0, "btrfs subvolume delete PATH",
		     "ioctl(\"%s\", BTRFS_IOC_SNAP_DESTROY, {name=\"%s\"})", parent, what->name);
	if (r < 0)
		die_errno("delete subvolume %s", what->mountpoint);

	/*
	 * 2. ...but its blocks are freed later by the cleaner thread, which
	 * runs after a transaction commits (every 30 s by default).  Commit
	 * now, as `btrfs subvolume delete --commit-after` does, and poll until
	 * its root item is gone from the root tree, as `btrfs subvolume sync`
	 * does.  (BTRFS_IOC_SUBVOL_SYNC_WAIT, Linux 6.13, waited here for the
	 * next periodic commit: 30 s.)
	 */
	for (int waited = 0; subvolume_exists(fd, info.treeid); waited += POLL_STEP_MS) {
		if (waited % COMMIT_EVERY_MS == 0) {
			r = ioctl(fd, BTRFS_IOC_SYNC);
			explain_call(r, r < 0 ? errno : 0, "btrfs filesystem sync STORE",
				     "ioctl(\"%s\", BTRFS_IOC_SYNC)", parent);
		}
		if (waited >= SUBVOL_CLEANUP_TIMEOUT_MS) {
			warn_msg("%s deleted; its space is still being freed in the background",
				 what->mountpoint);
			break;
		}
		sleep_ms(POLL_STEP_MS);
	}
	/* The freed extents show in the space figures once that is committed too. */
	r = ioctl(fd, BTRFS_IOC_SYNC);
	explain_call(r, r < 0 ? errno : 0, "btrfs subvolume sync STORE",
		     "ioctl(\"%s\", BTRFS_IOC_SYNC) [subvolume %llu cleaned]", parent,
		     (unsigned long long)info.treeid);
	close(fd);
}

const struct backend backend_btrfs = {
	.name = "btrfs",
	.min_size = BTRFS_MIN_SIZE,
	.unavailable = btrfs_unavailable,
	.install_hint = "apt-get install btrfs-progs; the kernel needs CONFIG_BTRFS_FS and loop devices",
	.pool_create = btrfs_pool_create,
	.pool_destroy = btrfs_pool_destroy,
	.image_create = btrfs_image_create,
	.snapshot = btrfs_snapshot,
	.clone = btrfs_clone,
	.list = btrfs_list,
	.destroy = btrfs_destroy,
};

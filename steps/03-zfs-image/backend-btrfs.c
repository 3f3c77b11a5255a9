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
 * `list` and its USED and REFER (FS_IOC_FIEMAP) are in btrfs-usage.c.
 *
 * Man pages: loop(4), btrfs-subvolume(8), mount(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

/* mkfs.btrfs 6.2: "minimum size for each btrfs device is 114294784" (109M). */
#define BTRFS_MIN_SIZE (109ull << 20)
#define LOOP_CONTROL "/dev/loop-control"
#define LOOP_ATTACH_TRIES 8              /* another process may take our free loop */
#define LOOP_DETACH_TIMEOUT_MS 5000
#define LOOP_SCAN_MAX 256                 /* /sys/block/loop0..loop255 */
#define SUBVOL_CLEANUP_TIMEOUT_MS 60000   /* the cleaner may wait for a commit: 30 s */
#define COMMIT_EVERY_MS 1000
#define SUBDIR_MODE 0755

static const char *btrfs_unavailable(void)
{
	char buf[PATH_MAX];

	if (!kernel_can_mount("btrfs"))
		return "the kernel has no btrfs (not in /proc/filesystems, and modprobe "
		       "btrfs could not load it)";
	if (!path_exists(LOOP_CONTROL))
		return "no " LOOP_CONTROL " (loop devices)";
	if (find_program("mkfs.btrfs", buf, sizeof(buf)) < 0)
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

/* --explain's view of the ioctls' arguments, from the very structs passed. */
static void describe_no_arg(char *buf, size_t size, const void *arg)
{
	(void)arg;
	snprintf(buf, size, "0");
}

static void describe_loop_config(char *buf, size_t size, const void *arg)
{
	const struct loop_config *c = arg;
	char fd[PATH_MAX + 16];

	snprintf(buf, size, "{fd=%s, lo_flags=%s}", trace_fd(fd, sizeof(fd), (int)c->fd),
		 c->info.lo_flags == LO_FLAGS_AUTOCLEAR ? "LO_FLAGS_AUTOCLEAR" : "?");
}

static void describe_vol_args(char *buf, size_t size, const void *arg)
{
	snprintf(buf, size, "{name=\"%s\"}", ((const struct btrfs_ioctl_vol_args *)arg)->name);
}

static void describe_vol_args_v2(char *buf, size_t size, const void *arg)
{
	const struct btrfs_ioctl_vol_args_v2 *a = arg;
	char fd[PATH_MAX + 16];

	snprintf(buf, size, "{fd=%s, flags=%s, name=\"%s\"}",
		 trace_fd(fd, sizeof(fd), (int)a->fd),
		 a->flags & BTRFS_SUBVOL_RDONLY ? "BTRFS_SUBVOL_RDONLY" : "0", a->name);
}

/*
 * A free loop device bound to FILE, autoclear on.  Returns its open fd:
 * while it is open the device stays; once mounted, the mount holds it.
 */
int loop_attach(const char *file, char *device, size_t size)
{
	int ctl = open(LOOP_CONTROL, O_RDWR | O_CLOEXEC);
	int file_fd = open(file, O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		die_errno("open %s", LOOP_CONTROL);
	if (file_fd < 0)
		die_errno("open %s", file);
	for (int attempt = 0; attempt < LOOP_ATTACH_TRIES; attempt++) {
		struct loop_config config = { .fd = (__u32)file_fd };
		int n = traced_ioctl_decoded("losetup -f", ctl, LOOP_CTL_GET_FREE, NULL,
					     describe_no_arg);
		int loop_fd, r;

		if (n < 0)
			die_err(-n, "ioctl %s LOOP_CTL_GET_FREE", LOOP_CONTROL);
		snprintf(device, size, "/dev/loop%d", n);
		loop_fd = open(device, O_RDWR | O_CLOEXEC);
		if (loop_fd < 0)
			die_errno("open %s", device);
		/* One call sets the file and the flags: no window without autoclear. */
		config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		/* Only a label, for losetup -l: the kernel keeps the file itself. */
		memcpy(config.info.lo_file_name, file, strnlen(file, LO_NAME_SIZE - 1));
		r = traced_ioctl_decoded("losetup /dev/loopN FILE", loop_fd, LOOP_CONFIGURE,
					 &config, describe_loop_config);
		if (r == 0) {
			close(ctl);
			close(file_fd);
			return loop_fd;
		}
		close(loop_fd);
		if (r != -EBUSY)
			die_err(-r, "ioctl %s LOOP_CONFIGURE", device);
	}
	die("no free loop device after %d tries", LOOP_ATTACH_TRIES);
}

static void btrfs_pool_create(struct store *s, const struct pool_options *opt)
{
	char device[PATH_MAX], label[NAME_MAX_LEN + 1], path[PATH_MAX];
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
	run_or_die((char *[]){ "mkfs.btrfs", "-q", "-L", label, device, NULL },
		   "mkfs.btrfs /dev/loopN");

	/* 3. Mount it at STORE; from now on the mount keeps the loop device. */
	store_dir_prepare(s);
	mount_or_die("mount /dev/loopN /zpools", device, s->dir, "btrfs", 0, NULL);
	undo_umount(s->dir);
	if (loop_fd >= 0)
		close(loop_fd);
	path_format(path, "%s/images", s->dir);
	mkdir_or_die(path, SUBDIR_MODE);
	path_format(path, "%s/containers", s->dir);
	mkdir_or_die(path, SUBDIR_MODE);
	state_write(s);
}

static void subvolume_create(const char *parent, const char *name)
{
	struct btrfs_ioctl_vol_args args = { 0 };
	int fd = open_dir_or_die(parent), r;

	snprintf(args.name, sizeof(args.name), "%s", name);
	r = traced_ioctl_decoded("btrfs subvolume create STORE/images/NAME", fd,
				 BTRFS_IOC_SUBVOL_CREATE, &args, describe_vol_args);
	if (r < 0)
		die_err(-r, "create subvolume %s/%s", parent, name);
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
	r = traced_ioctl_decoded(readonly ? "btrfs subvolume snapshot -r SOURCE DEST" :
				 "btrfs subvolume snapshot SOURCE DEST", dst,
				 BTRFS_IOC_SNAP_CREATE_V2, &args, describe_vol_args_v2);
	if (r < 0)
		die_err(-r, "snapshot %s to %s/%s", source, dest_dir, name);
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
			const char *container, uint64_t size)
{
	char source[PATH_MAX], containers[PATH_MAX];

	(void)size;   /* zfs-image.c refused it: overlay's alone */
	path_format(source, "%s/images/%s@%s", s->dir, image, tag);
	path_format(containers, "%s/containers", s->dir);
	subvolume_snapshot(source, containers, container, 0);
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
	r = traced_ioctl_decoded("btrfs subvolume delete PATH", fd, BTRFS_IOC_SNAP_DESTROY,
				 &args, describe_vol_args);
	if (r < 0)
		die_err(-r, "delete subvolume %s", what->mountpoint);

	/*
	 * 2. ...but its blocks are freed later by the cleaner thread, which
	 * runs after a transaction commits (every 30 s by default).  Commit
	 * now, as `btrfs subvolume delete --commit-after` does, and poll until
	 * its root item is gone from the root tree, as `btrfs subvolume sync`
	 * does.  (BTRFS_IOC_SUBVOL_SYNC_WAIT, Linux 6.13, waited here for the
	 * next periodic commit: 30 s.)
	 */
	for (int waited = 0; subvolume_exists(fd, info.treeid); waited += POLL_STEP_MS) {
		if (waited % COMMIT_EVERY_MS == 0)
			traced_ioctl_decoded("btrfs filesystem sync STORE", fd, BTRFS_IOC_SYNC,
					     NULL, describe_no_arg);
		if (waited >= SUBVOL_CLEANUP_TIMEOUT_MS) {
			warn_msg("%s deleted; its space is still being freed in the background",
				 what->mountpoint);
			break;
		}
		sleep_ms(POLL_STEP_MS);
	}
	/* The freed extents show in the space figures once that is committed too. */
	explain_note("# subvolume %llu cleaned", (unsigned long long)info.treeid);
	traced_ioctl_decoded("btrfs subvolume sync STORE", fd, BTRFS_IOC_SYNC, NULL,
			     describe_no_arg);
	close(fd);
}

/* The device mounted at a path: the source field of its mountinfo line. */
struct mount_source {
	const char *path;
	char device[PATH_MAX];
};

static int take_mount_source(const struct mount_entry *m, void *arg)
{
	struct mount_source *ms = arg;

	if (strcmp(m->mount_point, ms->path) == 0)
		snprintf(ms->device, sizeof(ms->device), "%s", m->source);
	return 0;   /* on: the newest mount there is the one that shows */
}

int mount_source(const char *path, char *device, size_t size)
{
	struct mount_source ms = { .path = path };

	mountinfo_each(NULL, take_mount_source, &ms);
	snprintf(device, size, "%s", ms.device);
	return ms.device[0] ? 0 : -1;
}

/* The loop device FILE is bound to, from sysfs: 1 and its name in DEVICE, or 0. */
static int loop_of_file(const char *file, char *device, size_t size)
{
	char path[PATH_MAX], bound[PATH_MAX];

	for (int n = 0; n < LOOP_SCAN_MAX; n++) {
		snprintf(path, sizeof(path), "/sys/block/loop%d/loop/backing_file", n);
		if (file_read(path, bound, sizeof(bound)) > 0 && strcmp(bound, file) == 0) {
			snprintf(device, size, "/dev/loop%d", n);
			return 1;
		}
	}
	return 0;
}

void loop_wait_detached(const char *file)
{
	char device[PATH_MAX];
	int waited = 0;

	while (loop_of_file(file, device, sizeof(device)) && waited < LOOP_DETACH_TIMEOUT_MS) {
		sleep_ms(POLL_STEP_MS);
		waited += POLL_STEP_MS;
	}
	if (loop_of_file(file, device, sizeof(device)))
		die("%s is still attached to %s %d s after its last user went "
		    "(LO_FLAGS_AUTOCLEAR); see losetup -l", device, file,
		    LOOP_DETACH_TIMEOUT_MS / 1000);
	if (waited)
		explain_note("# %s detached by LO_FLAGS_AUTOCLEAR after %d ms", file, waited);
}

static void btrfs_pool_destroy(struct store *s)
{
	char device[PATH_MAX], sys_loop[PATH_MAX];

	/* 1. Unmount; the last reference to the loop device goes with it. */
	mount_source(s->dir, device, sizeof(device));
	umount_or_die("umount /zpools", s->dir);

	/* 2. Autoclear detaches the loop device; wait until sysfs shows it. */
	if (strncmp(device, "/dev/loop", 9) == 0) {
		int waited = 0;

		path_format(sys_loop, "/sys/block/%s/loop/backing_file", device + 5);
		while (path_exists(sys_loop) && waited < LOOP_DETACH_TIMEOUT_MS) {
			sleep_ms(POLL_STEP_MS);
			waited += POLL_STEP_MS;
		}
		if (path_exists(sys_loop))
			die("%s is still attached %d s after the unmount (LO_FLAGS_AUTOCLEAR); "
			    "see losetup -l", device, LOOP_DETACH_TIMEOUT_MS / 1000);
		explain_note("# %s detached by LO_FLAGS_AUTOCLEAR after %d ms", device, waited);
	}

	/* 3. The file and the directory, if this tool made them. */
	backing_file_remove(s);
	store_dir_remove(s);
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

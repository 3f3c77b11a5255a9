/*
 * backend-devicemapper.c - image, snapshot and clone as Docker's
 * devicemapper driver made them: thin block devices of one thin pool,
 * through the device-mapper ioctls of <linux/dm-ioctl.h>.
 *
 * Device-mapper builds block devices out of other block devices: a device
 * is a table of targets, each mapping a range of its sectors somewhere.
 * The "thin-pool" target (kernel Documentation/admin-guide/device-mapper/
 * thin-provisioning.rst) owns two devices, here two loop devices on files:
 *
 *   /var/lib/tuna/POOL.img       data: 64K blocks handed out on first write
 *   /var/lib/tuna/POOL-meta.img  metadata: which thin block is which data
 *                                block, and how many thins share each one
 *
 *        /dev/loopM (metadata)   /dev/loopD (data)
 *                  \              /
 *            POOL-pool   (thin-pool target: dmsetup create ... thin-pool)
 *            /     |            \
 *   POOL-img-NAME  POOL-snap-NAME@TAG  POOL-ctr-CONTAINER   ("thin" targets)
 *      ext4 rw        ext4 ro               ext4 rw
 *   STORE/images/NAME  STORE/images/NAME@TAG  STORE/containers/CONTAINER
 *
 * Every thin device is a number in the pool (its device_id).  Messages to
 * the pool (DM_TARGET_MSG, `dmsetup message`) make them: "create_thin ID"
 * an empty one, "create_snap ID ORIGIN" one that shares every block of
 * ORIGIN.  A device is then made visible with a "thin POOL ID" table.  The
 * first write to a shared block breaks the sharing: the pool gives the
 * writer a new block (copying the old one in first when the write covers
 * only part of it).  Docker calls this copy-on-write at block level; the
 * post calls it redirect-on-write: both describe the same remapping.
 *
 * What each command does:
 *   pool create    two sparse files, two loop devices (LOOP_CONFIGURE, with
 *                  autoclear: the loop devices go when the pool goes), the
 *                  pool device (DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND
 *                  to resume it), and a small tmpfs at STORE for the mount
 *                  points and the records of which device is which
 *                  (STORE/devicemapper/metadata/NAME, as Docker's
 *                  /var/lib/docker/devicemapper/metadata/)
 *   image create   create_thin, its device, mkfs.ext4 on it, mount
 *   snapshot       suspend the image (which freezes its ext4: a consistent
 *                  file system in the snapshot), create_snap, resume; the
 *                  snapshot's device is read-only (DM_READONLY_FLAG)
 *   clone          create_snap of the snapshot, its device, mount: no mkfs,
 *                  no copy, whatever the image's size
 *   list           REFER: the blocks the device maps (its thin `status`);
 *                  USED: the blocks it maps beyond its origin's
 *   destroy        umount, DM_DEV_REMOVE, "delete ID"
 *
 * Man pages: dmsetup(8), loop(4), mkfs.ext4(8); thin-provisioning.rst.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define DM_MIN_SIZE (32ull << 20)          /* the pool's data: a few ext4s */
#define BLOCK_SECTORS 128                  /* 64K blocks, Docker's default */
#define SECTOR 512
#define META_MIN (8ull << 20)              /* metadata: 1/64 of the data, at least 8M */
#define META_SHARE 64
#define STORE_TMPFS_SIZE "8M"              /* mount points and records only */
#define MAX_THIN_ID 0xffffff               /* device ids are 24 bits */
#define DEVICE_NODE_TIMEOUT_MS 2000        /* devtmpfs makes /dev/dm-N */
#define RECORD_DIR "devicemapper/metadata"
#define DIR_MODE 0755
#define DEV_NAME_BUF (3 * NAME_MAX_LEN + 16)   /* POOL-snap-NAME@TAG, checked < DM_NAME_LEN */

/* --- the backend's names and records -------------------------------------------- */

static const char *dm_unavailable(void)
{
	char buf[PATH_MAX], err[512];
	int r;

	/* Their stderr kept: "modprobe: FATAL: Module dm_mod not found" is ours to say. */
	if (!path_exists(DM_CONTROL))
		traced_run_output("as dmsetup would need", (char *[]){ "modprobe", "dm_mod", NULL },
				  NULL, 0, err, sizeof(err));
	if (!path_exists(DM_CONTROL))
		return "the kernel has no device-mapper (no " DM_CONTROL "; modprobe dm_mod failed)";
	/* The thin-pool target: a module the first table asking for it loads. */
	traced_run_output("as the first thin-pool table would", (char *[]){ "modprobe",
			  "dm_thin_pool", NULL }, NULL, 0, err, sizeof(err));
	if ((r = dm_has_target("thin-pool")) < 0)
		return "DM_LIST_VERSIONS failed on " DM_CONTROL;
	if (!r)
		return "the kernel has device-mapper but no thin-pool target (CONFIG_DM_THIN_PROVISIONING)";
	if (!path_exists("/dev/loop-control"))
		return "no /dev/loop-control (loop devices)";
	if (find_program("mkfs.ext4", buf, sizeof(buf)) < 0)
		return "mkfs.ext4 not found (apt-get install e2fsprogs)";
	return NULL;
}

/* POOL-pool, POOL-img-NAME, POOL-snap-NAME@TAG, POOL-ctr-NAME. */
static void device_name(const struct store *s, const char *kind, const char *name, char *out)
{
	int n = snprintf(out, DEV_NAME_BUF, "%s-%s%s%s", s->pool, kind, name ? "-" : "",
			 name ? name : "");

	if (n >= DM_NAME_LEN)
		die_usage("device name %s: longer than %d characters (shorter names, please)",
			  out, DM_NAME_LEN - 1);
}

static void metadata_file(const struct store *s, char *out)
{
	path_format(out, DEFAULT_POOL_DIR "/%s-meta.img", s->pool);
}

/* STORE/devicemapper/metadata/NAME: device_id=N, origin=NAME, kind=K. */
struct record {
	char name[2 * NAME_MAX_LEN + 2];
	unsigned id;
	char kind[8];                        /* img, snap, ctr */
	char origin[2 * NAME_MAX_LEN + 2];
};

static void record_write(const struct store *s, const struct record *rec)
{
	char path[PATH_MAX], text[512];

	path_format(path, "%s/" RECORD_DIR "/%s", s->dir, rec->name);
	snprintf(text, sizeof(text), "device_id=%u\nkind=%s\norigin=%s\n", rec->id, rec->kind,
		 rec->origin);
	write_text_file(path, text);
	undo_unlink(path);
}

static int record_read(const struct store *s, const char *name, struct record *rec)
{
	char path[PATH_MAX], text[512];
	int r;

	path_format(path, "%s/" RECORD_DIR "/%s", s->dir, name);
	if ((r = file_read(path, text, sizeof(text))) < 0)
		return r;
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	for (char *save, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "device_id=", 10) == 0)
			rec->id = (unsigned)strtoul(line + 10, NULL, 10);
		else if (strncmp(line, "kind=", 5) == 0)
			snprintf(rec->kind, sizeof(rec->kind), "%s", line + 5);
		else if (strncmp(line, "origin=", 7) == 0)
			snprintf(rec->origin, sizeof(rec->origin), "%s", line + 7);
	}
	return rec->id ? 0 : -EINVAL;
}

/* Every record, for list and for the next free device id. */
static int records_all(const struct store *s, struct record *recs, int max)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	path_format(path, "%s/" RECORD_DIR, s->dir);
	if (!(dir = opendir(path)))
		die_errno("opendir %s", path);
	while ((de = readdir(dir)) && n < max)
		if (de->d_name[0] != '.' && record_read(s, de->d_name, &recs[n]) == 0)
			n++;
	closedir(dir);
	return n;
}

static unsigned next_device_id(const struct store *s)
{
	static struct record recs[MAX_ENTRIES];
	int n = records_all(s, recs, MAX_ENTRIES);
	unsigned id = 1;

	for (int i = 0; i < n; i++)
		if (recs[i].id >= id)
			id = recs[i].id + 1;
	if (id > MAX_THIN_ID)
		die("the pool has used every device id (24 bits)");
	return id;
}

/* The pool's data size in sectors, whole blocks: also each thin device's
 * virtual size, as thin provisioning allows (a thin costs what it writes). */
static uint64_t thin_sectors(const struct store *s)
{
	uint64_t bytes;
	struct stat st;
	int fd;

	if (stat(s->backing_file, &st) < 0)
		die_errno("stat %s", s->backing_file);
	bytes = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		if ((fd = open(s->backing_file, O_RDONLY | O_CLOEXEC)) < 0 ||
		    ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			die_errno("BLKGETSIZE64 %s", s->backing_file);
		close(fd);
	}
	return bytes / SECTOR / BLOCK_SECTORS * BLOCK_SECTORS;
}

/* /dev/dm-MINOR, which devtmpfs makes (udev adds /dev/mapper/NAME). */
static void device_node(dev_t dev, char *out)
{
	path_format(out, "/dev/dm-%u", minor(dev));
	for (int waited = 0; !path_exists(out) && waited < DEVICE_NODE_TIMEOUT_MS;
	     waited += POLL_STEP_MS)
		sleep_ms(POLL_STEP_MS);
	if (!path_exists(out))
		die("%s did not appear (is devtmpfs mounted on /dev?)", out);
}

/* --- the commands ------------------------------------------------------------ */


static void dm_pool_create(struct store *s, const struct pool_options *opt)
{
	struct pool_options meta_opt = { .size = opt->size / META_SHARE };
	struct store meta = *s;
	char data_dev[PATH_MAX], meta_dev[PATH_MAX], pool[DEV_NAME_BUF],
		params[3 * PATH_MAX], path[PATH_MAX];
	uint64_t sectors;
	int data_fd = -1, meta_fd;
	struct stat st;

	/* 1. The data (the user's device, or a file) and the metadata (a file,
	 * fresh and so zeroed: the pool formats it), loop devices for files. */
	backing_file_prepare(s, opt);
	metadata_file(s, path);
	if (mkdir(DEFAULT_POOL_DIR, 0700) < 0 && errno != EEXIST)   /* --device: not made yet */
		die_errno("mkdir %s", DEFAULT_POOL_DIR);
	if (path_exists(path))
		die_err(EEXIST, "create %s", path);
	meta_opt.device = path;
	if (meta_opt.size < META_MIN)
		meta_opt.size = META_MIN;
	backing_file_prepare(&meta, &meta_opt);
	if (stat(s->backing_file, &st) < 0)
		die_errno("stat %s", s->backing_file);
	if (S_ISBLK(st.st_mode))
		snprintf(data_dev, sizeof(data_dev), "%s", s->backing_file);
	else
		data_fd = loop_attach(s->backing_file, data_dev, sizeof(data_dev));
	meta_fd = loop_attach(meta.backing_file, meta_dev, sizeof(meta_dev));
	sectors = thin_sectors(s);
	if (sectors < BLOCK_SECTORS)
		die_usage("--size: too small for one %d-sector block", BLOCK_SECTORS);

	/* 2. The pool: "thin-pool META DATA BLOCK_SECTORS LOW_WATER [FEATURES]",
	 * with Docker's skip_block_zeroing (a new block is not zeroed first).
	 * The pool holds both loop devices then; autoclear frees them with it. */
	device_name(s, "pool", NULL, pool);
	snprintf(params, sizeof(params), "%s %s %d %llu 1 skip_block_zeroing", meta_dev,
		 data_dev, BLOCK_SECTORS, (unsigned long long)(sectors / BLOCK_SECTORS / 10 + 1));
	dm_create(pool, sectors, "thin-pool", params, 0);
	if (data_fd >= 0)
		close(data_fd);
	close(meta_fd);

	/* 3. STORE: a small tmpfs for the mount points and the records. */
	store_dir_prepare(s);
	mount_or_die("mount -t tmpfs -o size=" STORE_TMPFS_SIZE " tmpfs /zpools", "tmpfs", s->dir,
		     "tmpfs", 0, "size=" STORE_TMPFS_SIZE ",mode=0755");
	undo_umount(s->dir);
	for (const char *const *d = (const char *const[]){ "images", "containers",
	     "devicemapper", RECORD_DIR, NULL }; *d; d++) {
		path_format(path, "%s/%s", s->dir, *d);
		mkdir_or_die(path, DIR_MODE);
	}
	state_write(s);
}

/* Undo of a pool message: "delete ID" to POOL, both kept here. */
static struct pool_undo {
	char pool[DEV_NAME_BUF];
	char text[64];
} pool_undos[16];
static int pool_undo_count;

static void pool_message_undo(void *arg)
{
	struct pool_undo *u = arg;

	dm_message(u->pool, u->text);
}

/* "create_thin ID", or "create_snap ID ORIGIN" (ORIGIN not 0), sent to the
 * pool: 0 or -errno.  A run that fails later deletes ID again. */
static int thin_new(const struct store *s, unsigned id, unsigned origin)
{
	char pool[DEV_NAME_BUF], text[64];
	int r;

	device_name(s, "pool", NULL, pool);
	if (origin)
		snprintf(text, sizeof(text), "create_snap %u %u", id, origin);
	else
		snprintf(text, sizeof(text), "create_thin %u", id);
	if ((r = dm_message(pool, text)) < 0)
		return r;
	if (pool_undo_count < (int)(sizeof(pool_undos) / sizeof(pool_undos[0]))) {
		struct pool_undo *u = &pool_undos[pool_undo_count++];

		snprintf(u->pool, sizeof(u->pool), "%s", pool);
		snprintf(u->text, sizeof(u->text), "delete %u", id);
		undo_push(pool_message_undo, u);
	}
	return 0;
}

/* Thin device ID of the pool, visible as NAME: "thin POOL_MAJ:MIN ID". */
static dev_t thin_activate(const struct store *s, const char *name, unsigned id, int readonly)
{
	char pool[DEV_NAME_BUF], params[64];
	dev_t dev;
	int r;

	/* The pool by its number: /dev/mapper/NAME exists only where udev runs. */
	device_name(s, "pool", NULL, pool);
	if ((r = dm_dev(pool, &dev)) < 0)
		die_err(-r, "dmsetup info %s", pool);
	snprintf(params, sizeof(params), "%u:%u %u", major(dev), minor(dev), id);
	return dm_create(name, thin_sectors(s), "thin", params, readonly);
}

static void mount_thin(dev_t dev, const char *target, int readonly)
{
	char node[PATH_MAX];

	device_node(dev, node);
	mkdir_or_die(target, DIR_MODE);
	undo_rmdir(target);
	/* noload: a read-only device could not replay a journal (there is none
	 * to replay: the suspend froze the file system clean). */
	mount_or_die(readonly ? "mount -o ro,noload /dev/mapper/NAME TARGET" :
		     "mount /dev/mapper/NAME TARGET", node, target, "ext4",
		     readonly ? MS_RDONLY : 0, readonly ? "noload" : NULL);
	undo_umount(target);
}

static void dm_image_create(struct store *s, const char *image)
{
	struct record rec = { .id = next_device_id(s), .kind = "img" };
	char name[DEV_NAME_BUF], node[PATH_MAX], target[PATH_MAX];
	dev_t dev;
	int r;

	snprintf(rec.name, sizeof(rec.name), "%s", image);
	device_name(s, "img", image, name);
	if ((r = thin_new(s, rec.id, 0)) < 0)
		die_err(-r, "create_thin %u", rec.id);
	dev = thin_activate(s, name, rec.id, 0);
	device_node(dev, node);
	/* Docker's options: the inode tables and the journal written now, not
	 * by a kernel thread later (into the image's blocks, after a snapshot). */
	run_or_die((char *[]){ "mkfs.ext4", "-q", "-E",
		   "nodiscard,lazy_itable_init=0,lazy_journal_init=0", node, NULL },
		   "mkfs.ext4 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/NAME");
	path_format(target, "%s/images/%s", s->dir, image);
	mount_thin(dev, target, 0);
	record_write(s, &rec);
}

/* A snapshot of the device recorded as ORIGIN, NAME (kind KIND), mounted at TARGET. */
static void snapshot_of(struct store *s, const char *origin, const char *kind,
			const char *name, const char *target)
{
	struct record from, rec = { .id = next_device_id(s) };
	char origin_dev[DEV_NAME_BUF], dev_name[DEV_NAME_BUF];
	int r, readonly = strcmp(kind, "snap") == 0;

	if ((r = record_read(s, origin, &from)) < 0)
		die_err(-r, "%s", origin);
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	snprintf(rec.kind, sizeof(rec.kind), "%s", kind);
	snprintf(rec.origin, sizeof(rec.origin), "%s", origin);
	device_name(s, from.kind, origin, origin_dev);
	device_name(s, kind, name, dev_name);

	/* The origin must not change while the pool shares its mappings: a
	 * writable one is suspended (its ext4 frozen) around create_snap, and
	 * resumed again whatever happens.  A read-only snapshot cannot change:
	 * cloning it needs no suspend. */
	if (strcmp(from.kind, "snap") != 0) {
		dm_suspend(origin_dev, 1);
		dm_resume_on_failure(origin_dev);
	}
	r = thin_new(s, rec.id, from.id);
	if (strcmp(from.kind, "snap") != 0)
		dm_suspend(origin_dev, 0);
	if (r < 0)
		die_hint(-r, "the kernel says why: dmesg | tail", "create_snap %u %u", rec.id,
			 from.id);
	mount_thin(thin_activate(s, dev_name, rec.id, readonly), target, readonly);
	record_write(s, &rec);
}

static void dm_snapshot(struct store *s, const char *image, const char *tag)
{
	char name[2 * NAME_MAX_LEN + 2], target[PATH_MAX];

	snprintf(name, sizeof(name), "%s@%s", image, tag);
	path_format(target, "%s/images/%s", s->dir, name);
	snapshot_of(s, image, "snap", name, target);
}

static void dm_clone(struct store *s, const char *image, const char *tag,
		     const char *container, uint64_t size)
{
	char origin[2 * NAME_MAX_LEN + 2], target[PATH_MAX], path[PATH_MAX];

	(void)size;   /* zfs-image.c refused it: overlay's alone */
	snprintf(origin, sizeof(origin), "%s@%s", image, tag);
	path_format(path, "%s/" RECORD_DIR "/%s", s->dir, origin);
	if (!path_exists(path))
		die("clone: no snapshot %s", origin);
	path_format(target, "%s/containers/%s", s->dir, container);
	snapshot_of(s, origin, "ctr", container, target);
}

/* "MAPPED_SECTORS HIGHEST" of a thin device, in bytes (0 when unreadable). */
static uint64_t thin_mapped(const struct store *s, const struct record *rec)
{
	char name[DEV_NAME_BUF], status[256];
	unsigned long long sectors;

	device_name(s, rec->kind, rec->name, name);
	if (dm_status(name, status, sizeof(status)) < 0 || sscanf(status, "%llu", &sectors) != 1)
		return 0;
	return (uint64_t)sectors * SECTOR;
}

static int dm_list(struct store *s, struct entry *entries)
{
	static struct record recs[MAX_ENTRIES];
	int n;

	n = records_all(s, recs, MAX_ENTRIES);
	for (int i = 0; i < n; i++) {
		struct entry *e = &entries[i];
		struct record origin;
		uint64_t base = 0;

		/* A record's names and an entry's are the same size: plain copies. */
		_Static_assert(sizeof(e->name) == sizeof(recs[i].name), "name sizes");
		_Static_assert(sizeof(e->origin) == sizeof(recs[i].origin), "origin sizes");
		memset(e, 0, sizeof(*e));
		memcpy(e->name, recs[i].name, sizeof(e->name));
		e->type = recs[i].kind[0] == 'i' ? ENTRY_IMAGE :
			  recs[i].kind[0] == 's' ? ENTRY_SNAPSHOT : ENTRY_CONTAINER;
		memcpy(e->origin, recs[i].origin, sizeof(e->origin));
		path_format(e->mountpoint, "%s/%s/%s", s->dir,
			    e->type == ENTRY_CONTAINER ? "containers" : "images", e->name);
		/* REFER: every block it maps, shared or not.  USED: what it maps
		 * beyond its origin (the pool's status counts no sharing; a
		 * rewrite of a shared block moves it without adding one). */
		e->refer = thin_mapped(s, &recs[i]);
		if (recs[i].origin[0] && record_read(s, recs[i].origin, &origin) == 0)
			base = thin_mapped(s, &origin);
		e->used = e->refer > base ? e->refer - base : 0;
	}
	return n;
}

static void dm_destroy(struct store *s, const struct entry *what)
{
	struct record rec;
	char name[DEV_NAME_BUF], pool[DEV_NAME_BUF], text[64], path[PATH_MAX];
	int r;

	if ((r = record_read(s, what->name, &rec)) < 0)
		die_err(-r, "%s", what->name);
	device_name(s, rec.kind, rec.name, name);
	device_name(s, "pool", NULL, pool);
	umount_or_die("umount TARGET", what->mountpoint);
	if ((r = traced_rmdir(NULL, what->mountpoint)) < 0)
		die_err(-r, "rmdir %s", what->mountpoint);
	if ((r = dm_remove(name)) < 0)
		die_err(-r, "dmsetup remove %s", name);
	/* The device is gone; its blocks go back to the pool with "delete". */
	snprintf(text, sizeof(text), "delete %u", rec.id);
	dm_message_or_die(pool, text);
	path_format(path, "%s/" RECORD_DIR "/%s", s->dir, rec.name);
	if (unlink(path) < 0)
		die_errno("unlink %s", path);
}

/* Every mount under STORE, oldest first. */
struct mounts_under {
	char prefix[PATH_MAX];
	int n;
	char targets[MAX_ENTRIES][PATH_MAX];
};

static int take_mount_under(const struct mount_entry *m, void *arg)
{
	struct mounts_under *u = arg;

	if (strncmp(m->mount_point, u->prefix, strlen(u->prefix)) == 0 && u->n < MAX_ENTRIES)
		snprintf(u->targets[u->n++], PATH_MAX, "%s", m->mount_point);
	return 0;
}

/* A thin device of the pool whose dev starts the table: "MAJ:MIN ID". */
static int remove_if_thin_of(const char *name, void *pool_dev)
{
	char type[32], params[256];
	int err;

	if (dm_table(name, type, sizeof(type), params, sizeof(params)) == 0 &&
	    strcmp(type, "thin") == 0 && strncmp(params, pool_dev, strlen(pool_dev)) == 0 &&
	    (err = dm_remove(name)) < 0)
		die_err(-err, "dmsetup remove %s", name);
	return 0;
}

/* Every device of the pool: the thins whose table names its dev, then the pool. */
static void remove_pool_devices(const struct store *s)
{
	char pool[DEV_NAME_BUF], want[32];
	dev_t dev;
	int err;

	device_name(s, "pool", NULL, pool);
	if (dm_dev(pool, &dev) < 0)
		return;   /* no pool device: nothing of it is left */
	snprintf(want, sizeof(want), "%u:%u ", major(dev), minor(dev));
	if ((err = dm_each_device(remove_if_thin_of, want)) < 0)
		die_err(-err, "dmsetup ls");
	if ((err = dm_remove(pool)) < 0)
		die_err(-err, "dmsetup remove %s", pool);
}

static void dm_pool_destroy(struct store *s)
{
	static struct mounts_under u;
	struct store meta = *s;
	char *path = meta.backing_file;
	int r;

	/* 1. The file systems, newest first, then STORE's tmpfs. */
	u.n = 0;
	path_format(u.prefix, "%s/", s->dir);
	if ((r = mountinfo_each(NULL, take_mount_under, &u)) < 0)
		die_err(-r, "read /proc/self/mountinfo");
	while (u.n-- > 0)
		umount_or_die("umount TARGET", u.targets[u.n]);
	umount_or_die("umount /zpools", s->dir);

	/* 2. The thin devices, then the pool: its loop devices go with it. */
	remove_pool_devices(s);
	loop_wait_detached(s->backing_file);
	metadata_file(s, path);
	loop_wait_detached(path);

	/* 3. The files and the directory, if this tool made them. */
	backing_file_remove(s);
	meta.file_created = 1;
	backing_file_remove(&meta);
	store_dir_remove(s);
}

const struct backend backend_devicemapper = {
	.name = "devicemapper",
	.min_size = DM_MIN_SIZE,
	.unavailable = dm_unavailable,
	.install_hint = "the kernel needs device-mapper with thin provisioning (CONFIG_BLK_DEV_DM, "
			"CONFIG_DM_THIN_PROVISIONING: modprobe dm_thin_pool), and mkfs.ext4 (e2fsprogs)",
	.pool_create = dm_pool_create,
	.pool_destroy = dm_pool_destroy,
	.image_create = dm_image_create,
	.snapshot = dm_snapshot,
	.clone = dm_clone,
	.list = dm_list,
	.destroy = dm_destroy,
};

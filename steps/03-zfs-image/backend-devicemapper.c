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

#define DM_CONTROL "/dev/mapper/control"
#define DM_MIN_SIZE (32ull << 20)          /* the pool's data: a few ext4s */
#define BLOCK_SECTORS 128                  /* 64K blocks, Docker's default */
#define SECTOR 512
#define META_MIN (8ull << 20)              /* metadata: 1/64 of the data, at least 8M */
#define META_SHARE 64
#define STORE_TMPFS_SIZE "8M"              /* mount points and records only */
#define MAX_THIN_ID 0xffffff               /* device ids are 24 bits */
#define DM_BUFFER 16384                    /* a request and what the kernel answers */
#define DEVICE_NODE_TIMEOUT_MS 2000        /* devtmpfs makes /dev/dm-N */
#define RECORD_DIR "devicemapper/metadata"
#define DIR_MODE 0755
#define DEV_NAME_BUF (3 * NAME_MAX_LEN + 16)   /* POOL-snap-NAME@TAG, checked < DM_NAME_LEN */

/* One request: the header, then the table, message or answer. */
struct dm_request {
	struct dm_ioctl io;
	char data[DM_BUFFER];
} __attribute__((aligned(8)));

static int control_fd = -1;

/* /dev/mapper/control, opened once: every request goes through it. */
static int control(void)
{
	if (control_fd < 0 && (control_fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC)) < 0)
		die_errno("open %s", DM_CONTROL);
	return control_fd;
}

/* --- the device-mapper interface ------------------------------------------ */

static void describe_dm(char *buf, size_t size, const void *arg)
{
	const struct dm_ioctl *io = arg;

	char flags[64];

	snprintf(flags, sizeof(flags), "%s%s%s", io->flags & DM_SUSPEND_FLAG ? "|DM_SUSPEND_FLAG" : "",
		 io->flags & DM_READONLY_FLAG ? "|DM_READONLY_FLAG" : "",
		 io->flags & DM_STATUS_TABLE_FLAG ? "|DM_STATUS_TABLE_FLAG" : "");
	snprintf(buf, size, "{name=\"%s\", flags=%s, dev=%u:%u}", io->name,
		 flags[0] ? flags + 1 : "0", major((dev_t)io->dev), minor((dev_t)io->dev));
}

static void dm_init(struct dm_request *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->io.version[0] = DM_VERSION_MAJOR;   /* the kernel takes any 4.x */
	r->io.data_size = sizeof(*r);
	r->io.data_start = sizeof(r->io);
	if (name && strlen(name) >= sizeof(r->io.name))
		die_usage("device name %.40s...: longer than %d characters", name, DM_NAME_LEN - 1);
	if (name)
		memcpy(r->io.name, name, strlen(name) + 1);
}

/* One ioctl on /dev/mapper/control: 0 or -errno. */
static int dm_call(const char *shell, unsigned long request, const char *request_name,
		   struct dm_request *r)
{
	return traced_ioctl_named(shell, control(), request, request_name, r, describe_dm);
}
#define DM(shell, request, r) dm_call((shell), (request), #request, (r))

static void dm_or_die(const char *shell, unsigned long request, const char *request_name,
		      struct dm_request *r)
{
	int err = dm_call(shell, request, request_name, r);

	if (err < 0)
		die_hint(-err, err == -EINVAL ? "the kernel says why: dmesg | tail" : NULL,
			 "ioctl %s %s", request_name, r->io.name);
}
#define DM_OR_DIE(shell, request, r) dm_or_die((shell), (request), #request, (r))

/* dmsetup remove NAME: 0 or -errno (EBUSY while it is open or mounted). */
static int dm_remove(const char *name)
{
	struct dm_request r;
	char shell[DM_NAME_LEN + 32];

	dm_init(&r, name);
	snprintf(shell, sizeof(shell), "dmsetup remove %s", name);
	return DM(shell, DM_DEV_REMOVE, &r);
}

static char undo_names[64][DM_NAME_LEN];
static int undo_count;

static void dm_remove_undo(void *name)
{
	dm_remove(name);
}

static dev_t dm_create(const char *name, uint64_t sectors, const char *type,
		       const char *params, int readonly)
{
	struct dm_request r;
	struct dm_target_spec *spec = (struct dm_target_spec *)r.data;
	char shell[DM_NAME_LEN + 512];
	dev_t dev;

	if (strlen(name) >= DM_NAME_LEN)
		die_usage("device name %s: longer than %d characters", name, DM_NAME_LEN - 1);
	/* 1. The device, with no table yet: dmsetup create does these three. */
	dm_init(&r, name);
	snprintf(shell, sizeof(shell), "dmsetup create %s%s --table '0 %llu %s %s'", name,
		 readonly ? " --readonly" : "", (unsigned long long)sectors, type, params);
	DM_OR_DIE(shell, DM_DEV_CREATE, &r);
	if (undo_count < (int)(sizeof(undo_names) / sizeof(undo_names[0]))) {
		snprintf(undo_names[undo_count], DM_NAME_LEN, "%s", name);
		undo_push(dm_remove_undo, undo_names[undo_count++]);
	}

	/* 2. Its table, one target: sectors 0..SECTORS map through TYPE. */
	dm_init(&r, name);
	r.io.target_count = 1;
	r.io.flags = readonly ? DM_READONLY_FLAG : 0;
	spec->sector_start = 0;
	spec->length = sectors;
	snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
	snprintf((char *)(spec + 1), sizeof(r.data) - sizeof(*spec), "%s", params);
	DM_OR_DIE("  (the table)", DM_TABLE_LOAD, &r);

	/* 3. Resume: the loaded table becomes the live one. */
	dm_init(&r, name);
	DM_OR_DIE("  (resume: the table goes live)", DM_DEV_SUSPEND, &r);
	dev = (dev_t)r.io.dev;
	return dev;
}

/* dmsetup message POOL 0 "TEXT" */
static int dm_message(const char *pool_dev, const char *text)
{
	struct dm_request r;
	struct dm_target_msg *msg = (struct dm_target_msg *)r.data;
	char shell[DM_NAME_LEN + 128];

	dm_init(&r, pool_dev);
	msg->sector = 0;
	snprintf(msg->message, sizeof(r.data) - sizeof(*msg), "%s", text);
	snprintf(shell, sizeof(shell), "dmsetup message %s 0 \"%s\"", pool_dev, text);
	return DM(shell, DM_TARGET_MSG, &r);
}

static void dm_message_or_die(const char *pool_dev, const char *text)
{
	int r = dm_message(pool_dev, text);

	if (r < 0)
		die_hint(-r, "the kernel says why: dmesg | tail", "dmsetup message %s 0 \"%s\"",
			 pool_dev, text);
}

/* dmsetup suspend / resume NAME.  Suspending a device with a mounted file
 * system freezes it first (freeze_bdev): what is written is on the device. */
static void dm_suspend(const char *name, int suspend)
{
	struct dm_request r;
	char shell[DM_NAME_LEN + 32];

	dm_init(&r, name);
	r.io.flags = suspend ? DM_SUSPEND_FLAG : 0;
	snprintf(shell, sizeof(shell), "dmsetup %s %s", suspend ? "suspend" : "resume", name);
	DM_OR_DIE(shell, DM_DEV_SUSPEND, &r);
}

/* dmsetup status NAME: the first target's status line in OUT; 0 or -errno. */
static int dm_status(const char *name, char *out, size_t size)
{
	struct dm_request r;
	const struct dm_target_spec *spec;
	int err;

	dm_init(&r, name);
	if ((err = ioctl(control(), DM_TABLE_STATUS, &r)) < 0)
		return -errno;
	if (r.io.target_count < 1 || (r.io.flags & DM_BUFFER_FULL_FLAG))
		return -ENODATA;
	spec = (const struct dm_target_spec *)((const char *)&r + r.io.data_start);
	snprintf(out, size, "%s", (const char *)(spec + 1));
	return 0;
}

/* --- the backend's names and records -------------------------------------------- */

static const char *dm_unavailable(void)
{
	char buf[PATH_MAX], err[512];
	struct dm_request r;

	/* Their stderr kept: "modprobe: FATAL: Module dm_mod not found" is ours to say. */
	if (!path_exists(DM_CONTROL))
		traced_run_output("as dmsetup would need", (char *[]){ "modprobe", "dm_mod", NULL },
				  NULL, 0, err, sizeof(err));
	if (!path_exists(DM_CONTROL))
		return "the kernel has no device-mapper (no " DM_CONTROL "; modprobe dm_mod failed)";
	/* The thin-pool target: a module the first table asking for it loads. */
	traced_run_output("as the first thin-pool table would", (char *[]){ "modprobe",
			  "dm_thin_pool", NULL }, NULL, 0, err, sizeof(err));
	dm_init(&r, NULL);
	if (DM("dmsetup targets", DM_LIST_VERSIONS, &r) < 0)
		return "DM_LIST_VERSIONS failed on " DM_CONTROL;
	if (!memmem(r.data, sizeof(r.data), "thin-pool", sizeof("thin-pool")))
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
	struct dm_request r;
	char pool[DEV_NAME_BUF], params[64];

	/* The pool by its number: /dev/mapper/NAME exists only where udev runs. */
	device_name(s, "pool", NULL, pool);
	dm_init(&r, pool);
	DM_OR_DIE(NULL, DM_DEV_STATUS, &r);
	snprintf(params, sizeof(params), "%u:%u %u", major((dev_t)r.io.dev),
		 minor((dev_t)r.io.dev), id);
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

static char resume_name[DEV_NAME_BUF];

static void resume_undo(void *name)
{
	struct dm_request r;

	dm_init(&r, name);
	DM("undo: dmsetup resume", DM_DEV_SUSPEND, &r);
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
		snprintf(resume_name, sizeof(resume_name), "%s", origin_dev);
		undo_push(resume_undo, resume_name);
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

		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", recs[i].name);
		e->type = recs[i].kind[0] == 'i' ? ENTRY_IMAGE :
			  recs[i].kind[0] == 's' ? ENTRY_SNAPSHOT : ENTRY_CONTAINER;
		snprintf(e->origin, sizeof(e->origin), "%s", recs[i].origin);
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

/* Every device of the pool: thins whose table names POOL_DEV, and then the pool. */
static void remove_pool_devices(const struct store *s)
{
	static struct dm_request list;
	char pool[DEV_NAME_BUF], want[32];
	struct dm_request r;
	int err;

	device_name(s, "pool", NULL, pool);
	dm_init(&r, pool);
	if (DM(NULL, DM_DEV_STATUS, &r) < 0)
		return;   /* no pool device: nothing of it is left */
	snprintf(want, sizeof(want), "%u:%u ", major((dev_t)r.io.dev), minor((dev_t)r.io.dev));
	dm_init(&list, NULL);
	DM_OR_DIE("dmsetup ls", DM_LIST_DEVICES, &list);
	for (const struct dm_name_list *d = (const void *)((char *)&list + list.io.data_start);
	     d->dev; d = (const void *)((const char *)d + d->next)) {
		struct dm_request t;
		const struct dm_target_spec *spec;

		dm_init(&t, d->name);
		t.io.flags = DM_STATUS_TABLE_FLAG;   /* the table, not the status */
		if (ioctl(control(), DM_TABLE_STATUS, &t) == 0 && t.io.target_count == 1) {
			spec = (const void *)((char *)&t + t.io.data_start);
			if (strcmp(spec->target_type, "thin") == 0 &&
			    strncmp((const char *)(spec + 1), want, strlen(want)) == 0 &&
			    (err = dm_remove(d->name)) < 0)
				die_err(-err, "dmsetup remove %s", d->name);
		}
		if (!d->next)
			break;
	}
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

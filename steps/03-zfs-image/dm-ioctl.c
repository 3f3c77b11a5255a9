/*
 * dm-ioctl.c - dmsetup's commands as the device-mapper ioctls, for
 * backend-devicemapper.c.  A first reading can skip this file.
 *
 * Every request is one struct dm_ioctl (<linux/dm-ioctl.h>) on
 * /dev/mapper/control: a header (version, name, flags, the size of the
 * whole buffer and where its payload starts), then the payload: a table's
 * targets (struct dm_target_spec + its parameters), a message, or the
 * kernel's answer (a status line, a list of devices).  `dmsetup create`
 * is three of them: DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND (without
 * DM_SUSPEND_FLAG: resume, which makes the loaded table the live one).
 *
 * Man pages: dmsetup(8); kernel Documentation/admin-guide/device-mapper/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define DM_BUFFER 16384                    /* a request and what the kernel answers */

/* One request: the header, then the table, message or answer. */
struct dm_request {
	struct dm_ioctl io;
	char data[DM_BUFFER];
} __attribute__((aligned(8)));

static int control_fd = -1;

/* /dev/mapper/control, opened once: every request goes through it. */
int dm_control(void)
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
	return traced_ioctl_named(shell, dm_control(), request, request_name, r, describe_dm);
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
int dm_remove(const char *name)
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

dev_t dm_create(const char *name, uint64_t sectors, const char *type,
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
int dm_message(const char *pool_dev, const char *text)
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

void dm_message_or_die(const char *pool_dev, const char *text)
{
	int r = dm_message(pool_dev, text);

	if (r < 0)
		die_hint(-r, "the kernel says why: dmesg | tail", "dmsetup message %s 0 \"%s\"",
			 pool_dev, text);
}

/* dmsetup suspend / resume NAME.  Suspending a device with a mounted file
 * system freezes it first (freeze_bdev): what is written is on the device. */
void dm_suspend(const char *name, int suspend)
{
	struct dm_request r;
	char shell[DM_NAME_LEN + 32];

	dm_init(&r, name);
	r.io.flags = suspend ? DM_SUSPEND_FLAG : 0;
	snprintf(shell, sizeof(shell), "dmsetup %s %s", suspend ? "suspend" : "resume", name);
	DM_OR_DIE(shell, DM_DEV_SUSPEND, &r);
}

/* dmsetup status NAME: the first target's status line in OUT; 0 or -errno. */
int dm_status(const char *name, char *out, size_t size)
{
	struct dm_request r;
	const struct dm_target_spec *spec;
	int err;

	dm_init(&r, name);
	if ((err = ioctl(dm_control(), DM_TABLE_STATUS, &r)) < 0)
		return -errno;
	if (r.io.target_count < 1 || (r.io.flags & DM_BUFFER_FULL_FLAG))
		return -ENODATA;
	spec = (const struct dm_target_spec *)((const char *)&r + r.io.data_start);
	snprintf(out, size, "%s", (const char *)(spec + 1));
	return 0;
}

static void dm_resume_undo(void *name)
{
	struct dm_request r;

	dm_init(&r, name);
	DM("undo: dmsetup resume", DM_DEV_SUSPEND, &r);
}

void dm_resume_on_failure(const char *name)
{
	static char names[8][DM_NAME_LEN];
	static int n;

	if (n < (int)(sizeof(names) / sizeof(names[0]))) {
		snprintf(names[n], DM_NAME_LEN, "%s", name);
		undo_push(dm_resume_undo, names[n++]);
	}
}

int dm_dev(const char *name, dev_t *dev)
{
	struct dm_request r;
	int err;

	dm_init(&r, name);
	if ((err = DM(NULL, DM_DEV_STATUS, &r)) < 0)
		return err;
	*dev = (dev_t)r.io.dev;
	return 0;
}

int dm_table(const char *name, char *type, size_t type_size, char *params, size_t size)
{
	struct dm_request r;
	const struct dm_target_spec *spec;

	dm_init(&r, name);
	r.io.flags = DM_STATUS_TABLE_FLAG;   /* the table, not the status */
	if (ioctl(dm_control(), DM_TABLE_STATUS, &r) < 0)
		return -errno;
	if (r.io.target_count != 1 || (r.io.flags & DM_BUFFER_FULL_FLAG))
		return -ENODATA;
	spec = (const struct dm_target_spec *)((const char *)&r + r.io.data_start);
	snprintf(type, type_size, "%.*s", (int)sizeof(spec->target_type), spec->target_type);
	snprintf(params, size, "%s", (const char *)(spec + 1));
	return 0;
}

int dm_has_target(const char *type)
{
	static struct dm_request r;
	const struct dm_target_versions *t;
	int err;

	dm_init(&r, NULL);
	if ((err = DM("dmsetup targets", DM_LIST_VERSIONS, &r)) < 0)
		return err;
	for (t = (const void *)((const char *)&r + r.io.data_start);;
	     t = (const void *)((const char *)t + t->next)) {
		if (strcmp(t->name, type) == 0)
			return 1;
		if (!t->next)
			return 0;
	}
}

int dm_each_device(int (*fn)(const char *name, void *arg), void *arg)
{
	static struct dm_request r;
	const struct dm_name_list *d;
	int err;

	dm_init(&r, NULL);
	if ((err = DM("dmsetup ls", DM_LIST_DEVICES, &r)) < 0)
		return err;
	d = (const void *)((const char *)&r + r.io.data_start);
	if (!d->dev)
		return 0;   /* no device at all */
	for (;; d = (const void *)((const char *)d + d->next)) {
		if ((err = fn(d->name, arg)) != 0)
			return err;
		if (!d->next)
			return 0;
	}
}

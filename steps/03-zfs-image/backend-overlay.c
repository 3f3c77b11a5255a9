/*
 * backend-overlay.c - image, snapshot and clone as Docker's overlay2 makes
 * them: layers are plain directories, and overlayfs stacks them.
 *
 * overlayfs (kernel Documentation/filesystems/overlayfs.rst) merges
 * read-only "lower" directories under one writable "upper" directory.
 * Reading finds a file in the topmost layer that has it; the first write to
 * a lower file copies the whole file up (copy-up); deleting one leaves a
 * whiteout in the upper layer.  Nothing is shared at the block level:
 * sharing is by file.
 *
 * Docker's layout, kept here under STORE/overlay2/ (moby's overlay2 driver):
 *
 *   overlay2/<id>/diff       the layer's content (a container's upperdir)
 *   overlay2/<id>/link       its short name, 26 random characters
 *   overlay2/<id>/lower      "l/<short>:l/<short>..." of the layers below it,
 *                            uppermost first: already in lowerdir order
 *   overlay2/<id>/work       overlayfs's workdir; merged: the mounted view
 *   overlay2/<id>/committed  empty: this layer is frozen (an image layer)
 *   overlay2/l/<short>       -> ../<id>/diff (short names keep the mount
 *                            options under a page)
 *
 * Docker's image database is replaced by symlinks in STORE/layerdb/
 * {images,snapshots,containers}/NAME -> ../../overlay2/<id>.
 *
 * What each command does:
 *   pool create    an XFS with project quotas on a loop device where the
 *                  kernel has them (overlay-quota.c; --fs xfs forces it),
 *                  so that `clone --size` can limit a container; else a
 *                  tmpfs of --size at STORE (--fs tmpfs forces it): Docker
 *                  keeps overlay2 on the host's disk; either makes the
 *                  pool a thing that `pool destroy` removes
 *   image create   a bottom layer; its diff is bind-mounted at STORE/images/NAME
 *   snapshot       freezes the image's top layer (`committed`), shows it
 *                  read-only at STORE/images/NAME@TAG, and puts a new
 *                  writable layer on top for the image: the image's later
 *                  writes can never reach the snapshot (docker commit's model)
 *   clone          a new layer on the snapshot's, mounted with mount(2)
 *                  "overlay" at <id>/merged and bound at STORE/containers/NAME
 * USED is what a layer's diff holds, REFER what its merged view shows (du).
 * The layers' directories and names, and `list`, are overlay-layers.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define MAX_MOUNTS 1024             /* under STORE, for pool destroy */

static const char *overlay_unavailable(void)
{
	if (!kernel_can_mount("overlay"))
		return "the kernel has no overlayfs (not in /proc/filesystems, and modprobe "
		       "overlay could not load it)";
	return NULL;
}

/*
 * The options of an overlay mount: "lowerdir=FIRST:STORE/overlay2/l/A:...",
 * then with UPPER ",upperdir=UPPER/diff,workdir=UPPER/work".  FIRST (may be
 * NULL) goes on top of LOWER's layers.
 */
static void overlay_data(const struct store *s, const char *first, const char *lower,
			 const struct layer *upper, char *out)
{
	char copy[MOUNT_DATA_MAX];
	size_t used = (size_t)snprintf(out, MOUNT_DATA_MAX, "lowerdir=%s", first ? first : "");

	snprintf(copy, sizeof(copy), "%s", lower);
	for (char *save, *l = strtok_r(copy, ":", &save); l; l = strtok_r(NULL, ":", &save))
		used += (size_t)snprintf(out + used, used < MOUNT_DATA_MAX ? MOUNT_DATA_MAX - used : 0,
					 "%s%s/overlay2/%s", used > strlen("lowerdir=") ? ":" : "",
					 s->dir, l);
	if (upper)
		used += (size_t)snprintf(out + used, used < MOUNT_DATA_MAX ? MOUNT_DATA_MAX - used : 0,
					 ",upperdir=%s/diff,workdir=%s/work", upper->dir, upper->dir);
	if (used >= MOUNT_DATA_MAX)
		die("overlay options do not fit in one page (%d bytes)", MOUNT_DATA_MAX);
}

/* One mount of a layer's view: made for good (undone if the run fails), or, for an undo, tried. */
static void layer_mount_one(int for_undo, const char *shell, const char *source,
			    const char *target, const char *fstype, unsigned long flags,
			    const char *data)
{
	if (for_undo) {
		traced_mount("undo", source, target, fstype, flags, data);
		return;
	}
	mount_or_die(shell, source, target, fstype, flags, data);
	undo_umount(target);
}

/*
 * The writable view of layer L at TARGET.  A bottom layer is its diff,
 * bind-mounted.  A layer with lowers is an overlay mounted at its merged
 * directory, as Docker mounts it, then bound at TARGET.
 */
static void layer_mount_writable(const struct layer *l, const char *target, int for_undo)
{
	char source[PATH_MAX], data[MOUNT_DATA_MAX];

	if (!l->lower[0]) {
		path_format(source, "%s/diff", l->dir);
		layer_mount_one(for_undo, "mount --bind DIFF TARGET", source, target, NULL,
				MS_BIND, NULL);
		return;
	}
	overlay_data(l->store, NULL, l->lower, l, data);
	path_format(source, "%s/merged", l->dir);
	layer_mount_one(for_undo, "mount -t overlay overlay -o lowerdir=..,upperdir=..,"
			"workdir=.. merged", "overlay", source, "overlay", 0, data);
	layer_mount_one(for_undo, "mount --bind merged TARGET", source, target, NULL, MS_BIND,
			NULL);
}

static void layer_umount_writable(const struct layer *l, const char *target)
{
	char merged[PATH_MAX];

	umount_or_die("umount TARGET", target);
	if (l->lower[0]) {
		path_format(merged, "%s/merged", l->dir);
		umount_or_die("umount merged", merged);
	}
}

static void make_mount_point(const char *path)
{
	mkdir_or_die(path, VIEW_DIR_MODE);
	undo_rmdir(path);
}

/* --- the commands ------------------------------------------------------------- */

static void overlay_pool_create(struct store *s, const struct pool_options *opt)
{
	static const char *const dirs[] = {
		"overlay2", "overlay2/l", "layerdb", "layerdb/images", "layerdb/snapshots",
		"layerdb/containers", "images", "containers",
	};
	char data[64], path[PATH_MAX];

	if (opt->fs ? strcmp(opt->fs, "xfs") == 0 : xfs_pool_by_default(opt)) {
		xfs_pool_create(s, opt);   /* overlay-quota.c: per-container limits */
	} else {
		if (opt->device)
			die_usage("--device: a tmpfs pool has no device (pool create --fs xfs "
				  "puts the layers on one)");
		store_dir_prepare(s);
		snprintf(data, sizeof(data), "size=%llu,mode=0755", (unsigned long long)opt->size);
		mount_or_die("mount -t tmpfs -o size=SIZE tmpfs /zpools", "tmpfs", s->dir, "tmpfs",
			     0, data);
		undo_umount(s->dir);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_format(path, "%s/%s", s->dir, dirs[i]);
		mkdir_or_die(path, VIEW_DIR_MODE);
	}
	state_write(s);
}

static void overlay_image_create(struct store *s, const char *image)
{
	char target[PATH_MAX];
	struct layer *l = layer_create(s, NULL);

	path_format(target, "%s/images/%s", s->dir, image);
	make_mount_point(target);
	layer_mount_writable(l, target, 0);
	ref_write(s, "images", image, l->id);
}

/* Undo for a snapshot that failed half-way: the image's old view, back.
 * ARG is overlay_snapshot's own, alive until it returns, and nothing can
 * fail after that. */
struct remount {
	const struct layer *layer;
	const char *target;
};

static void remount_undo(void *arg)
{
	const struct remount *back = arg;

	layer_mount_writable(back->layer, back->target, 1);
}

static void overlay_snapshot(struct store *s, const char *image, const char *tag)
{
	char id[LAYER_ID_LEN + 1], path[PATH_MAX], view[PATH_MAX], image_dir[PATH_MAX],
		name[2 * NAME_MAX_LEN + 2], data[MOUNT_DATA_MAX], diff[PATH_MAX];
	struct layer top, *upper;
	struct remount back = { &top, image_dir };
	int r;

	if ((r = ref_read(s, "images", image, id)) < 0)
		die_err(-r, "image %s", image);
	layer_load(s, id, &top);
	snprintf(name, sizeof(name), "%s@%s", image, tag);
	path_format(view, "%s/images/%s", s->dir, name);
	path_format(image_dir, "%s/images/%s", s->dir, image);

	/* 1. Freeze the top layer, as Docker marks a parent layer. */
	path_format(path, "%s/committed", top.dir);
	write_text_file(path, "");
	undo_unlink(path);

	/* 2. Show it read-only at STORE/images/NAME@TAG. */
	make_mount_point(view);
	path_format(diff, "%s/diff", top.dir);
	if (!top.lower[0]) {
		/* MS_RDONLY is ignored with MS_BIND: a second call makes it read-only. */
		mount_or_die("mount --bind DIFF VIEW", diff, view, NULL, MS_BIND, NULL);
		undo_umount(view);
		mount_or_die("mount -o remount,bind,ro VIEW", NULL, view, NULL,
			     MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
	} else {
		/* Lower layers only, no upperdir: overlayfs is read-only by itself. */
		overlay_data(s, diff, top.lower, NULL, data);
		mount_or_die("mount -t overlay -o lowerdir=..", "overlay", view, "overlay", 0, data);
		undo_umount(view);
	}

	/* 3. The image goes on in a new writable layer on top of the frozen one. */
	upper = layer_create(s, &top);
	layer_umount_writable(&top, image_dir);
	undo_push(remount_undo, &back);
	layer_mount_writable(upper, image_dir, 0);
	ref_write(s, "snapshots", name, top.id);
	path_format(path, "%s/layerdb/snapshots/%s", s->dir, name);
	undo_unlink(path);
	ref_write(s, "images", image, upper->id);   /* the last step: nothing can fail after it */
}

static void overlay_clone(struct store *s, const char *image, const char *tag,
			  const char *container, uint64_t size)
{
	char id[LAYER_ID_LEN + 1], name[2 * NAME_MAX_LEN + 2], target[PATH_MAX];
	struct layer snapshot, *layer;
	int r;

	if (size && strcmp(s->fs, "xfs") != 0)
		die_usage("clone --size: the pool must be an XFS with project quotas "
			  "(pool create --fs xfs); this one is a tmpfs");
	snprintf(name, sizeof(name), "%s@%s", image, tag);
	if ((r = ref_read(s, "snapshots", name, id)) < 0)
		die_err(-r, "snapshot %s", name);
	layer_load(s, id, &snapshot);
	layer = layer_create(s, &snapshot);
	if (size)   /* overlay-quota.c: docker run --storage-opt size=SIZE */
		quota_limit(s, layer->dir, size);
	path_format(target, "%s/containers/%s", s->dir, container);
	make_mount_point(target);
	layer_mount_writable(layer, target, 0);
	ref_write(s, "containers", container, layer->id);
}

static void overlay_destroy(struct store *s, const struct entry *what)
{
	static const char *const kinds[] = { "images", "snapshots", "containers" };
	const char *kind = kinds[what->type];
	char id[LAYER_ID_LEN + 1], path[PATH_MAX], lowers[MAX_LAYERS][LAYER_ID_LEN + 1];
	struct layer l, lower;
	int r, nr;

	if ((r = ref_read(s, kind, what->name, id)) < 0)
		die_err(-r, "%s %s", kind, what->name);
	layer_load(s, id, &l);
	if (what->type == ENTRY_SNAPSHOT)   /* the layer stays: the image's newer layers sit on it */
		umount_or_die("umount VIEW", what->mountpoint);
	else
		layer_umount_writable(&l, what->mountpoint);
	if ((r = traced_rmdir(NULL, what->mountpoint)) < 0)
		die_err(-r, "rmdir %s", what->mountpoint);
	/* An image has no snapshot left (zfs-image.c checked): its whole chain goes. */
	nr = what->type == ENTRY_IMAGE ? lower_layers(&l, lowers) : 0;
	for (int i = 0; i < nr; i++) {
		layer_load(s, lowers[i], &lower);
		if ((r = layer_remove(&lower)) < 0)
			die_err(-r, "remove %s", lower.dir);
	}
	if (what->type == ENTRY_CONTAINER)
		quota_remove(s, l.dir);   /* its project's limit goes with it */
	if (what->type != ENTRY_SNAPSHOT && (r = layer_remove(&l)) < 0)
		die_err(-r, "remove %s", l.dir);
	path_format(path, "%s/layerdb/%s/%s", s->dir, kind, what->name);
	if (unlink(path) < 0)
		die_errno("unlink %s", path);
}

/* Every mount under STORE, oldest first as mountinfo lists them. */
struct mounts_under {
	char prefix[PATH_MAX];
	size_t n;
	char (*targets)[PATH_MAX];
};

static int take_mount_under(const struct mount_entry *m, void *arg)
{
	struct mounts_under *u = arg;

	if (strncmp(m->mount_point, u->prefix, strlen(u->prefix)) == 0 && u->n < MAX_MOUNTS)
		snprintf(u->targets[u->n++], PATH_MAX, "%s", m->mount_point);
	return 0;
}

static void overlay_pool_destroy(struct store *s)
{
	static char targets[MAX_MOUNTS][PATH_MAX];
	struct mounts_under u = { .targets = targets };
	int r;

	path_format(u.prefix, "%s/", s->dir);
	if ((r = mountinfo_each(NULL, take_mount_under, &u)) < 0)
		die_err(-r, "read /proc/self/mountinfo");
	/* The newest first: a bind of a view before the view. */
	while (u.n-- > 0)
		umount_or_die("umount", targets[u.n]);
	umount_or_die("umount /zpools", s->dir);
	if (strcmp(s->fs, "xfs") == 0) {
		/* The loop device goes with the unmount (autoclear), then its file. */
		loop_wait_detached(s->backing_file);
		backing_file_remove(s);
	}
	store_dir_remove(s);
}

const struct backend backend_overlay = {
	.name = "overlay",
	.min_size = 1,
	.unavailable = overlay_unavailable,
	.install_hint = "the kernel needs CONFIG_OVERLAY_FS (modprobe overlay)",
	.pool_create = overlay_pool_create,
	.pool_destroy = overlay_pool_destroy,
	.image_create = overlay_image_create,
	.snapshot = overlay_snapshot,
	.clone = overlay_clone,
	.list = overlay_list,
	.destroy = overlay_destroy,
};

/*
 * backend-overlay.c - image, snapshot and clone as Docker's overlay2 makes
 * them: layers are plain directories, and overlayfs stacks them.
 *
 * overlayfs (Documentation/filesystems/overlayfs.rst) merges read-only
 * "lower" directories under one writable "upper" directory.  Reading finds a
 * file in the topmost layer that has it; the first write to a lower file
 * copies the whole file up (copy-up); deleting one leaves a whiteout in the
 * upper layer.  Nothing is shared at the block level: sharing is by file.
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
 *   image create   a bottom layer; its diff is bind-mounted at STORE/images/NAME
 *   snapshot       freezes the image's top layer (`committed`), shows it
 *                  read-only at STORE/images/NAME@TAG, and puts a new
 *                  writable layer on top for the image: the image's later
 *                  writes can never reach the snapshot (docker commit's model)
 *   clone          a new layer on the snapshot's, mounted with mount(2)
 *                  "overlay" at <id>/merged and bound at STORE/containers/NAME
 * USED is what a layer's diff holds, REFER what its merged view shows (du).
 * The pool is a tmpfs of --size at STORE: Docker keeps overlay2 on the
 * host's disk; a tmpfs makes the pool a thing that `pool destroy` removes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define LAYER_ID_LEN 64             /* Docker: 64 hex digits */
#define LINK_LEN 26                 /* Docker: 26 characters of base32 */
#define BASE32 "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define HEX "0123456789abcdef"
#define MOUNT_DATA_MAX 4096         /* mount(2) options fit in one page */
#define MAX_MOUNTS 1024             /* under STORE, for pool destroy */

static const char *overlay_unavailable(void)
{
	if (!kernel_has_filesystem("overlay"))
		return "the kernel has no overlayfs (/proc/filesystems)";
	return NULL;
}

static void random_string(char *out, size_t len, const char *alphabet, size_t alphabet_len)
{
	unsigned char bytes[LAYER_ID_LEN];

	if (getrandom(bytes, len, 0) != (ssize_t)len)
		die_errno("getrandom");
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[bytes[i] % alphabet_len];
	out[len] = '\0';
}

/* --- layers ----------------------------------------------------------------- */

struct layer {
	char id[LAYER_ID_LEN + 1];
	char dir[PATH_MAX];           /* STORE/overlay2/<id> */
	char link[LINK_LEN + 1];
	char lower[MOUNT_DATA_MAX];   /* "l/A:l/B", "" for a bottom layer */
};

static void layer_load(struct store *s, const char *id, struct layer *l)
{
	char path[PATH_MAX];
	int r;

	snprintf(l->id, sizeof(l->id), "%s", id);
	path_format(l->dir, "%s/overlay2/%s", s->dir, id);
	path_format(path, "%s/link", l->dir);
	if ((r = file_read(path, l->link, sizeof(l->link))) < 0)
		die_err(-r, "read %s", path);
	path_format(path, "%s/lower", l->dir);
	if (file_read(path, l->lower, sizeof(l->lower)) < 0)
		l->lower[0] = '\0';
}

/* The layer a short link names: l/<short> -> ../<id>/diff. */
static void layer_of_link(struct store *s, const char *short_link, char *id)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	path_format(path, "%s/overlay2/%s", s->dir, short_link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		die_errno("readlink %s", path);
	target[n] = '\0';
	/* "../<id>/diff" */
	snprintf(id, LAYER_ID_LEN + 1, "%.64s", target + 3);
}

static void layer_remove(struct store *s, struct layer *l)
{
	char path[PATH_MAX];
	int r;

	path_format(path, "%s/overlay2/l/%s", s->dir, l->link);
	unlink(path);
	if ((r = remove_tree(l->dir)) < 0)
		die_err(-r, "remove %s", l->dir);
	explain_note("# rm -rf %s (and its l/%s link)", l->dir, l->link);
}

static void layer_remove_undo(void *arg)
{
	struct layer *l = arg;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%.4000s/../l/%.26s", l->dir, l->link);
	unlink(path);
	remove_tree(l->dir);
}

/* A new layer on PARENT (NULL: a bottom layer), laid out as overlay2 does. */
static struct layer *layer_create(struct store *s, const struct layer *parent)
{
	struct layer *l = calloc(1, sizeof(*l));
	char path[PATH_MAX], target[PATH_MAX];

	if (!l)
		die_errno("calloc");
	random_string(l->id, LAYER_ID_LEN, HEX, 16);
	random_string(l->link, LINK_LEN, BASE32, 32);
	path_format(l->dir, "%s/overlay2/%s", s->dir, l->id);
	if (mkdir(l->dir, 0700) < 0)
		die_errno("mkdir %s", l->dir);
	undo_push(layer_remove_undo, l);
	path_format(path, "%s/diff", l->dir);
	if (mkdir(path, 0755) < 0)
		die_errno("mkdir %s", path);
	path_format(path, "%s/link", l->dir);
	write_text_file(path, l->link);
	path_format(path, "%s/overlay2/l/%s", s->dir, l->link);
	path_format(target, "../%s/diff", l->id);
	if (symlink(target, path) < 0)
		die_errno("symlink %s", path);
	if (parent) {
		/* Uppermost first: the parent, then everything under it. */
		int n = snprintf(l->lower, sizeof(l->lower), "l/%s%s%s", parent->link,
				 parent->lower[0] ? ":" : "", parent->lower);

		if (n < 0 || (size_t)n >= sizeof(l->lower))
			die("layer %s: too many layers below it", l->id);
		path_format(path, "%s/lower", l->dir);
		write_text_file(path, l->lower);
		path_format(path, "%s/work", l->dir);
		if (mkdir(path, 0700) < 0)
			die_errno("mkdir %s", path);
		path_format(path, "%s/merged", l->dir);
		if (mkdir(path, 0755) < 0)
			die_errno("mkdir %s", path);
	}
	explain_note("# layer %s: mkdir diff%s, link %s, l/%s -> ../%s/diff%s%s", l->id,
		     parent ? " work merged" : "", l->link, l->link, l->id,
		     parent ? ", lower " : "", l->lower);
	return l;
}

/* "STORE/overlay2/l/A:STORE/overlay2/l/B" from "l/A:l/B", after FIRST if given. */
static void lowerdir_option(struct store *s, const char *first, const char *lower,
			    char *out, size_t size)
{
	size_t used = 0;
	char copy[MOUNT_DATA_MAX];

	if (first)
		used = (size_t)snprintf(out, size, "%s", first);
	else
		out[0] = '\0';
	snprintf(copy, sizeof(copy), "%s", lower);
	for (char *save, *l = strtok_r(copy, ":", &save); l; l = strtok_r(NULL, ":", &save))
		used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s/overlay2/%s",
					 used ? ":" : "", s->dir, l);
	if (used >= size)
		die("the lowerdir option does not fit in one page (%zu bytes)", size);
}

static void umount_undo(void *arg)
{
	umount2((const char *)arg, 0);
}

static void rmdir_undo(void *arg)
{
	rmdir((const char *)arg);
}

static void make_mount_point(const char *path)
{
	if (mkdir(path, 0755) < 0)
		die_errno("mkdir %s", path);
	undo_push(rmdir_undo, strdup(path));
}

/*
 * The writable view of layer L at TARGET.  A bottom layer is its diff,
 * bind-mounted.  A layer with lowers is an overlay mounted at its merged
 * directory, as Docker mounts it, then bound at TARGET.
 */
static void layer_mount_writable(struct store *s, const struct layer *l, const char *target)
{
	char source[PATH_MAX], data[MOUNT_DATA_MAX], lowerdir[MOUNT_DATA_MAX];

	if (!l->lower[0]) {
		path_format(source, "%s/diff", l->dir);
		mount_or_die(source, target, NULL, MS_BIND, NULL, "mount --bind DIFF TARGET");
		undo_push(umount_undo, strdup(target));
		return;
	}
	lowerdir_option(s, NULL, l->lower, lowerdir, sizeof(lowerdir));
	if ((size_t)snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s/diff,workdir=%s/work",
			     lowerdir, l->dir, l->dir) >= sizeof(data))
		die("overlay options do not fit in one page");
	path_format(source, "%s/merged", l->dir);
	mount_or_die("overlay", source, "overlay", 0, data,
		     "mount -t overlay overlay -o lowerdir=..,upperdir=..,workdir=.. merged");
	undo_push(umount_undo, strdup(source));
	mount_or_die(source, target, NULL, MS_BIND, NULL, "mount --bind merged TARGET");
	undo_push(umount_undo, strdup(target));
}

static void layer_umount_writable(const struct layer *l, const char *target)
{
	char merged[PATH_MAX];

	umount_or_die(target, "umount TARGET");
	if (l->lower[0]) {
		path_format(merged, "%s/merged", l->dir);
		umount_or_die(merged, "umount merged");
	}
}

/* --- names: STORE/layerdb/KIND/NAME -> ../../overlay2/<id> -------------------- */

static int ref_read(struct store *s, const char *kind, const char *name, char *id)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	path_format(path, "%s/layerdb/%s/%s", s->dir, kind, name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(id, LAYER_ID_LEN + 1, "%.64s", strrchr(target, '/') + 1);
	return 0;
}

static void ref_write(struct store *s, const char *kind, const char *name, const char *id)
{
	char path[PATH_MAX], tmp[PATH_MAX], target[PATH_MAX];

	path_format(path, "%s/layerdb/%s/%s", s->dir, kind, name);
	path_format(tmp, "%s/layerdb/%s/.%s.new", s->dir, kind, name);
	path_format(target, "../../overlay2/%s", id);
	unlink(tmp);
	/* symlink then rename: the name moves to the new layer atomically. */
	if (symlink(target, tmp) < 0 || rename(tmp, path) < 0)
		die_errno("ref %s", path);
}

static void ref_remove(struct store *s, const char *kind, const char *name)
{
	char path[PATH_MAX];

	path_format(path, "%s/layerdb/%s/%s", s->dir, kind, name);
	if (unlink(path) < 0)
		die_errno("unlink %s", path);
}

/* --- the commands ------------------------------------------------------------- */

static void overlay_pool_create(struct store *s, const struct pool_options *opt)
{
	static const char *const dirs[] = {
		"overlay2", "overlay2/l", "layerdb", "layerdb/images", "layerdb/snapshots",
		"layerdb/containers", "images", "containers",
	};
	char data[64], path[PATH_MAX];

	if (opt->device)
		die_usage("--device: the overlay backend keeps its layers in a tmpfs of --size");
	store_dir_prepare(s);
	snprintf(data, sizeof(data), "size=%llu,mode=0755", (unsigned long long)opt->size);
	mount_or_die("tmpfs", s->dir, "tmpfs", 0, data, "mount -t tmpfs -o size=SIZE tmpfs /zpools");
	undo_push(umount_undo, s->dir);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_format(path, "%s/%s", s->dir, dirs[i]);
		if (mkdir(path, 0755) < 0)
			die_errno("mkdir %s", path);
	}
	state_write(s);
}

static void overlay_pool_destroy(struct store *s)
{
	static char targets[MAX_MOUNTS][PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4 * PATH_MAX], prefix[PATH_MAX];
	size_t prefix_len;
	int n = 0;

	/* Every mount under STORE, newest last in mountinfo: unmount newest first. */
	if (!f)
		die_errno("open /proc/self/mountinfo");
	path_format(prefix, "%s/", s->dir);
	prefix_len = strlen(prefix);
	while (fgets(line, sizeof(line), f) && n < MAX_MOUNTS)
		if (sscanf(line, "%*s %*s %*s %*s %4095s", targets[n]) == 1 &&
		    strncmp(targets[n], prefix, prefix_len) == 0)
			n++;
	fclose(f);
	while (n-- > 0)
		umount_or_die(targets[n], "umount");
	umount_or_die(s->dir, "umount /zpools");
	store_dir_remove(s);
}

static void overlay_image_create(struct store *s, const char *image)
{
	char target[PATH_MAX];
	struct layer *l = layer_create(s, NULL);

	path_format(target, "%s/images/%s", s->dir, image);
	make_mount_point(target);
	layer_mount_writable(s, l, target);
	ref_write(s, "images", image, l->id);
}

static void unlink_undo(void *arg)
{
	unlink((const char *)arg);
}

/* Undo for a snapshot that failed half-way: the image's old view, back. */
static struct {
	struct store *store;
	const struct layer *layer;
	const char *target;
} remount;

static void remount_undo(void *arg)
{
	char source[PATH_MAX], data[MOUNT_DATA_MAX], lowerdir[MOUNT_DATA_MAX];
	const struct layer *l = remount.layer;

	(void)arg;
	if (!l->lower[0]) {
		if ((size_t)snprintf(source, sizeof(source), "%s/diff", l->dir) < sizeof(source))
			mount(source, remount.target, NULL, MS_BIND, NULL);
		return;
	}
	lowerdir_option(remount.store, NULL, l->lower, lowerdir, sizeof(lowerdir));
	if ((size_t)snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s/diff,workdir=%s/work",
			     lowerdir, l->dir, l->dir) >= sizeof(data) ||
	    (size_t)snprintf(source, sizeof(source), "%s/merged", l->dir) >= sizeof(source))
		return;
	if (mount("overlay", source, "overlay", 0, data) == 0)
		mount(source, remount.target, NULL, MS_BIND, NULL);
}

static void overlay_snapshot(struct store *s, const char *image, const char *tag)
{
	char id[LAYER_ID_LEN + 1], path[PATH_MAX], view[PATH_MAX], image_dir[PATH_MAX],
		name[2 * NAME_MAX_LEN + 2], data[MOUNT_DATA_MAX], lowerdir[MOUNT_DATA_MAX],
		diff[PATH_MAX];
	struct layer top, *upper;
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
	undo_push(unlink_undo, strdup(path));

	/* 2. Show it read-only at STORE/images/NAME@TAG. */
	make_mount_point(view);
	path_format(diff, "%s/diff", top.dir);
	if (!top.lower[0]) {
		/* MS_RDONLY is ignored with MS_BIND: a second call makes it read-only. */
		mount_or_die(diff, view, NULL, MS_BIND, NULL, "mount --bind DIFF VIEW");
		undo_push(umount_undo, strdup(view));
		mount_or_die(NULL, view, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL,
			     "mount -o remount,bind,ro VIEW");
	} else {
		/* Lower layers only, no upperdir: overlayfs is read-only by itself. */
		lowerdir_option(s, diff, top.lower, lowerdir, sizeof(lowerdir));
		if ((size_t)snprintf(data, sizeof(data), "lowerdir=%s", lowerdir) >= sizeof(data))
			die("overlay options do not fit in one page");
		mount_or_die("overlay", view, "overlay", 0, data, "mount -t overlay -o lowerdir=..");
		undo_push(umount_undo, strdup(view));
	}

	/* 3. The image goes on in a new writable layer on top of the frozen one. */
	upper = layer_create(s, &top);
	layer_umount_writable(&top, image_dir);
	remount.store = s;
	remount.layer = &top;
	remount.target = image_dir;
	undo_push(remount_undo, &remount);
	layer_mount_writable(s, upper, image_dir);
	ref_write(s, "snapshots", name, top.id);
	ref_write(s, "images", image, upper->id);
}

static void overlay_clone(struct store *s, const char *image, const char *tag,
			  const char *container)
{
	char id[LAYER_ID_LEN + 1], name[2 * NAME_MAX_LEN + 2], target[PATH_MAX];
	struct layer snapshot, *layer;
	int r;

	snprintf(name, sizeof(name), "%s@%s", image, tag);
	if ((r = ref_read(s, "snapshots", name, id)) < 0)
		die_err(-r, "snapshot %s", name);
	layer_load(s, id, &snapshot);
	layer = layer_create(s, &snapshot);
	path_format(target, "%s/containers/%s", s->dir, container);
	make_mount_point(target);
	layer_mount_writable(s, layer, target);
	ref_write(s, "containers", container, layer->id);
}

/* List one layerdb kind into ENTRIES. */
static int list_kind(struct store *s, const char *kind, enum entry_type type,
		     struct entry *entries, int n)
{
	char dir[PATH_MAX], path[PATH_MAX], id[LAYER_ID_LEN + 1];
	struct dirent *de;
	DIR *dp;

	path_format(dir, "%s/layerdb/%s", s->dir, kind);
	if (!(dp = opendir(dir)))
		die_errno("opendir %s", dir);
	while ((de = readdir(dp))) {
		struct entry *e = &entries[n];
		struct layer l;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(e->name) ||
		    ref_read(s, kind, de->d_name, id) < 0)
			continue;
		if (n == MAX_ENTRIES)
			die("list: more than %d entries", MAX_ENTRIES);
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", de->d_name);
		e->type = type;
		layer_load(s, id, &l);
		path_format(e->mountpoint, "%s/%s/%s", s->dir,
			    type == ENTRY_CONTAINER ? "containers" : "images", e->name);
		e->refer = disk_usage(e->mountpoint);
		path_format(path, "%s/diff", l.dir);
		e->used = disk_usage(path);
		if (type == ENTRY_IMAGE) {
			/* The image holds its whole chain of layers. */
			char copy[MOUNT_DATA_MAX], lower_id[LAYER_ID_LEN + 1];

			snprintf(copy, sizeof(copy), "%s", l.lower);
			for (char *save, *lk = strtok_r(copy, ":", &save); lk;
			     lk = strtok_r(NULL, ":", &save)) {
				layer_of_link(s, lk, lower_id);
				path_format(path, "%s/overlay2/%s/diff", s->dir, lower_id);
				e->used += disk_usage(path);
			}
		} else if (type == ENTRY_SNAPSHOT) {
			snprintf(e->origin, strcspn(e->name, "@") + 1, "%s", e->name);
		} else {
			/* Its origin: the snapshot whose layer is right under it. */
			char parent[LAYER_ID_LEN + 1], first[LINK_LEN + 3];

			snprintf(first, sizeof(first), "%.28s", l.lower);
			layer_of_link(s, first, parent);
			snprintf(e->origin, sizeof(e->origin), "?%.64s", parent);
		}
		n++;
	}
	closedir(dp);
	return n;
}

static int overlay_list(struct store *s, struct entry *entries)
{
	char id[LAYER_ID_LEN + 1];
	int n = list_kind(s, "images", ENTRY_IMAGE, entries, 0);

	n = list_kind(s, "snapshots", ENTRY_SNAPSHOT, entries, n);
	n = list_kind(s, "containers", ENTRY_CONTAINER, entries, n);
	/* Containers' origins were layer ids ("?<id>"): name the snapshots. */
	for (int i = 0; i < n; i++) {
		if (entries[i].type != ENTRY_CONTAINER)
			continue;
		for (int j = 0; j < n; j++)
			if (entries[j].type == ENTRY_SNAPSHOT &&
			    ref_read(s, "snapshots", entries[j].name, id) == 0 &&
			    strcmp(id, entries[i].origin + 1) == 0)
				snprintf(entries[i].origin, sizeof(entries[i].origin), "%s",
					 entries[j].name);
	}
	return n;
}

static void overlay_destroy(struct store *s, const struct entry *what)
{
	static const char *const kinds[] = { "images", "snapshots", "containers" };
	const char *kind = kinds[what->type];
	char id[LAYER_ID_LEN + 1];
	struct layer l;
	int r;

	if ((r = ref_read(s, kind, what->name, id)) < 0)
		die_err(-r, "%s %s", kind, what->name);
	layer_load(s, id, &l);
	if (what->type == ENTRY_SNAPSHOT) {
		/* The layer stays: the image's newer layers sit on it. */
		umount_or_die(what->mountpoint, "umount VIEW");
	} else {
		layer_umount_writable(&l, what->mountpoint);
	}
	if (rmdir(what->mountpoint) < 0)
		die_errno("rmdir %s", what->mountpoint);
	if (what->type == ENTRY_IMAGE) {
		/* No snapshot is left (main checked): the whole chain goes. */
		char copy[MOUNT_DATA_MAX], lower_id[LAYER_ID_LEN + 1];
		struct layer lower;

		snprintf(copy, sizeof(copy), "%s", l.lower);
		for (char *save, *lk = strtok_r(copy, ":", &save); lk;
		     lk = strtok_r(NULL, ":", &save)) {
			layer_of_link(s, lk, lower_id);
			layer_load(s, lower_id, &lower);
			layer_remove(s, &lower);
		}
	}
	if (what->type != ENTRY_SNAPSHOT)
		layer_remove(s, &l);
	ref_remove(s, kind, what->name);
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

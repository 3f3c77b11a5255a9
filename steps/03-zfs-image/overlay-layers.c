/*
 * overlay-layers.c - the overlay backend's bookkeeping: Docker's overlay2
 * layout on disk (a layer's diff, link and lower files, the l/ short links),
 * the names in STORE/layerdb, and what `list` shows.  A first reading can
 * skip this file: backend-overlay.c has the mounts, where the kernel comes
 * in.  See the layout at the top of backend-overlay.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define BASE32 "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define HEX "0123456789abcdef"

static void random_string(char *out, size_t len, const char *alphabet, size_t alphabet_len)
{
	unsigned char bytes[LAYER_ID_LEN];

	if (getrandom(bytes, len, 0) != (ssize_t)len)
		die_errno("getrandom");
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[bytes[i] % alphabet_len];
	out[len] = '\0';
}

void layer_load(const struct store *s, const char *id, struct layer *l)
{
	char path[PATH_MAX];
	int r;

	l->store = s;
	snprintf(l->id, sizeof(l->id), "%s", id);
	path_format(l->dir, "%s/overlay2/%s", s->dir, id);
	path_format(path, "%s/link", l->dir);
	if ((r = file_read(path, l->link, sizeof(l->link))) < 0)
		die_err(-r, "read %s", path);
	path_format(path, "%s/lower", l->dir);
	if (file_read(path, l->lower, sizeof(l->lower)) < 0)
		l->lower[0] = '\0';
}

/* The ids of the layers under L, uppermost first: l/<short> -> ../<id>/diff. */
int lower_layers(const struct layer *l, char ids[][LAYER_ID_LEN + 1])
{
	char copy[MOUNT_DATA_MAX], path[PATH_MAX], target[PATH_MAX];
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", l->lower);
	for (char *save, *link = strtok_r(copy, ":", &save); link && n < MAX_LAYERS;
	     link = strtok_r(NULL, ":", &save)) {
		ssize_t len;

		path_format(path, "%s/overlay2/%s", l->store->dir, link);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			die_errno("readlink %s", path);
		target[len] = '\0';
		snprintf(ids[n++], LAYER_ID_LEN + 1, "%.64s", target + 3);   /* "../<id>/diff" */
	}
	return n;
}

/* rm -rf the layer and its short link: 0 or -errno. */
int layer_remove(const struct layer *l)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/overlay2/l/%s", l->store->dir, l->link) <
	    sizeof(path))
		traced_unlink(NULL, path);
	explain_note("# rm -rf %s", l->dir);
	return remove_tree(l->dir);
}

static void layer_remove_undo(void *layer)
{
	layer_remove(layer);
}

/* A new layer on PARENT (NULL: a bottom layer), laid out as overlay2 does. */
struct layer *layer_create(const struct store *s, const struct layer *parent)
{
	struct layer *l = calloc(1, sizeof(*l));
	char path[PATH_MAX], target[PATH_MAX];

	if (!l)
		die_errno("calloc");
	l->store = s;
	random_string(l->id, LAYER_ID_LEN, HEX, 16);
	random_string(l->link, LINK_LEN, BASE32, 32);
	path_format(l->dir, "%s/overlay2/%s", s->dir, l->id);
	mkdir_or_die(l->dir, LAYER_DIR_MODE);
	undo_push(layer_remove_undo, l);
	path_format(path, "%s/diff", l->dir);
	mkdir_or_die(path, VIEW_DIR_MODE);
	path_format(path, "%s/link", l->dir);
	write_text_file(path, l->link);
	path_format(path, "%s/overlay2/l/%s", s->dir, l->link);
	path_format(target, "../%s/diff", l->id);
	if (traced_symlink(NULL, target, path) < 0)
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
		mkdir_or_die(path, LAYER_DIR_MODE);
		path_format(path, "%s/merged", l->dir);
		mkdir_or_die(path, VIEW_DIR_MODE);
	}
	explain_note("# layer %s: link %s%s%s", l->id, l->link, parent ? ", lower " : "",
		     l->lower);
	return l;
}

int ref_read(const struct store *s, const char *kind, const char *name, char *id)
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

void ref_write(const struct store *s, const char *kind, const char *name,
		      const char *id)
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

/* List one layerdb kind into ENTRIES. */
static int list_kind(struct store *s, const char *kind, enum entry_type type,
		     struct entry *entries, int n)
{
	char dir[PATH_MAX], path[PATH_MAX], id[LAYER_ID_LEN + 1], lowers[MAX_LAYERS][LAYER_ID_LEN + 1];
	struct dirent *de;
	DIR *dp;

	path_format(dir, "%s/layerdb/%s", s->dir, kind);
	if (!(dp = opendir(dir)))
		die_errno("opendir %s", dir);
	while ((de = readdir(dp))) {
		struct entry *e = &entries[n];
		struct layer l;
		int nr;

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
		nr = lower_layers(&l, lowers);
		/* An image holds its whole chain of layers. */
		for (int i = 0; type == ENTRY_IMAGE && i < nr; i++) {
			path_format(path, "%s/overlay2/%s/diff", s->dir, lowers[i]);
			e->used += disk_usage(path);
		}
		if (type == ENTRY_SNAPSHOT)
			snprintf(e->origin, strcspn(e->name, "@") + 1, "%s", e->name);
		else if (type == ENTRY_CONTAINER && nr)   /* the layer right under it, for now */
			snprintf(e->origin, sizeof(e->origin), "?%.64s", lowers[0]);
		if (type == ENTRY_CONTAINER)   /* overlay-quota.c: on XFS, its limit */
			quota_read(s, l.dir, &e->quota_limit, &e->quota_used);
		n++;
	}
	closedir(dp);
	return n;
}

int overlay_list(struct store *s, struct entry *entries)
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

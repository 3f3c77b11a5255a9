/*
 * 03-zfs-image - an image, a read-only snapshot of it, and a writable
 * copy-on-write clone of the snapshot: the container's root file system.
 *
 * The post builds its container's disk with ZFS:
 *
 *   zpool create zpools /dev/sda5
 *   zfs create zpools/images -o mountpoint=/zpools/images
 *   zfs create zpools/images/myImage          (then copies programs and /lib in)
 *   zfs snapshot zpools/images/myImage@v1.0
 *   zfs clone zpools/images/myImage@v1.0 zpools/containers/myContainer
 *   zfs list          myContainer: USED 62K, REFER 605M
 *
 * The snapshot is the image: frozen, read-only.  The clone is the
 * container: it starts as nothing but a reference to the snapshot's blocks
 * (62K used, 605M seen) and pays only for what it changes.  This tool does
 * the same on four storage backends; each backend's file is that
 * backend's lesson, its kernel calls in the order of the commands below:
 *
 *   backend-zfs.c      the real zpool and zfs commands: the post's, and the
 *                      lab's wherever ZFS is there (OpenZFS, or zfs-fuse)
 *   backend-btrfs.c    the kernel directly: a loop device (LOOP_CONFIGURE),
 *                      subvolumes and snapshots (BTRFS_IOC_SNAP_CREATE_V2)
 *   backend-overlay.c  Docker's overlay2: layers as directories, mount(2)
 *   backend-devicemapper.c  Docker's devicemapper: thin devices of a
 *                      thin-pool (device-mapper ioctls), ext4 on each;
 *                      only when asked for (--backend devicemapper)
 *
 * The paths are the post's whatever the backend: images at
 * STORE/images/NAME, containers at STORE/containers/NAME (STORE=/zpools).
 * This file checks what each command may do and calls the backend; the
 * numbers match main() and the lesson's list:
 *   1. Read the whole command line before anything is touched.
 *   2. pool create: the first backend that works here (or --backend), the
 *      pool, and STORE/.tuna-store saying which backend it is.
 *   3. Any other command: open the store; its backend does the rest.
 *   4. image create: an empty writable file system at STORE/images/NAME.
 *   5. image populate: programs and exactly their libraries (populate.c;
 *      elf-libraries.c reads what each needs).
 *   6. snapshot NAME@TAG: read-only, immutable.
 *   7. clone NAME@TAG CONTAINER: writable, copy-on-write, mounted.
 *   8. list: NAME USED REFER MOUNTPOINT, as zfs list.
 *   9. destroy: refused while a snapshot or a clone depends on it.
 *  10. pool destroy: everything the pool holds, and the pool.
 * Siblings a first reading can skip: options.c (step 1), store.c (the
 * state file, the backing file, list's table), zfs-fuse.c, btrfs-usage.c,
 * overlay-layers.c.
 *
 * Man pages: zfs(8), zpool(8), btrfs-subvolume(8), loop(4), mount(2);
 * kernel Documentation/filesystems/overlayfs.rst; elf(5), ld.so(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tuna.h"
#include "zfs-image.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [--backend zfs|btrfs|overlay|devicemapper] [--pool NAME] [--store DIR] [-x] COMMAND\n"
		"Make an image, a read-only snapshot of it and copy-on-write clones, as the\n"
		"post does with ZFS: images at STORE/images/NAME, containers at\n"
		"STORE/containers/NAME.\n"
		"\n"
		"Commands:\n"
		"  pool create [--size 1G] [--device DEV|FILE] [--fs tmpfs|xfs]\n"
		"                                      make the pool and mount it at STORE\n"
		"                                      (--fs: overlay's layers on an XFS with\n"
		"                                      project quotas, the default where the\n"
		"                                      kernel has them and --size >= 300M, a\n"
		"                                      sparse file; else on a tmpfs)\n"
		"  pool destroy                        remove the pool and everything in it\n"
		"  image create NAME                   an empty writable image\n"
		"  image populate NAME [--busybox] [--from-host PROG...]\n"
		"                                      copy programs and exactly the libraries\n"
		"                                      they need (ELF PT_INTERP, DT_NEEDED)\n"
		"  snapshot NAME@TAG                   freeze the image: read-only, immutable\n"
		"  clone NAME@TAG CONTAINER [--size SIZE]\n"
		"                                      a writable clone of the snapshot, mounted\n"
		"                                      (--size: at most SIZE written; overlay on XFS)\n"
		"  list [--json]                       NAME USED REFER MOUNTPOINT, as zfs list\n"
		"  destroy NAME|NAME@TAG|CONTAINER     refused while snapshots or clones depend on it\n"
		"\n"
		"Options:\n"
		"      --backend B   zfs, btrfs, overlay or devicemapper (pool create: the first\n"
		"                    of the first three that works here; later commands: the\n"
		"                    one the store was made with)\n"
		"      --pool NAME   the pool's name (default " DEFAULT_POOL ")\n"
		"      --store DIR   where the pool is mounted (default " DEFAULT_STORE ")\n"
		"  -x, --explain     trace each kernel call and command run, on stderr\n"
		"  -h, --help        show this help\n"
		"      --version     show the version\n"
		"\n"
		"The pool's backing file defaults to " DEFAULT_POOL_DIR "/POOL.img.  Names are\n"
		"1-%d characters: letters, digits, '_', '-', '.', ':', starting with a letter\n"
		"or digit.  Sizes take K, M, G (powers of 1024).  Exit status: 0 ok, 1 the\n"
		"system refused, 2 bad usage.\n"
		"Example: " PROG " -x pool create --size 256M && " PROG " image create myImage\n",
		NAME_MAX_LEN);
}

/* What the store holds, as `list` shows it: read by the commands that check names. */
static int entries_count;
static struct entry entries[MAX_ENTRIES];

/* --- 2. pool create -------------------------------------------------------- */

/* --backend, or the first backend that can work here. */
static const struct backend *choose_backend(const char *name)
{
	static const struct backend *const order[] = {
		&backend_zfs, &backend_btrfs, &backend_overlay,
	};
	const char *why;

	if (name) {
		const struct backend *b = backend_named(name);

		why = b->unavailable();
		if (why)
			die_hint(0, b->install_hint, "backend %s cannot work here: %s", b->name, why);
		return b;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		why = order[i]->unavailable();
		if (!why)
			return order[i];
		explain_note("# backend %s skipped: %s", order[i]->name, why);
	}
	die("no storage backend works here (zfs, btrfs, overlay)");
}

static void pool_create(struct store *s, const struct options *opt)
{
	char state[PATH_MAX];

	snprintf(s->pool, sizeof(s->pool), "%s", opt->pool ? opt->pool : DEFAULT_POOL);
	/* --fs is overlay's: it chooses the backend, and no other takes it. */
	if (opt->pool_opt.fs && opt->backend && strcmp(opt->backend, "overlay") != 0)
		die_usage("--fs: only the overlay backend keeps its layers on a file system of "
			  "its choice");
	s->backend = choose_backend(opt->pool_opt.fs ? "overlay" : opt->backend);
	if (opt->pool_opt.size < s->backend->min_size)
		die_usage("--size: the %s backend needs at least %lluM", s->backend->name,
			  (unsigned long long)(s->backend->min_size >> 20));
	if (path_exists(s->dir)) {
		path_format(state, "%s/" STATE_FILE, s->dir);
		if (path_exists(state) || mountinfo_has_mount_point(s->dir))
			die("pool create: a pool is already mounted at %s", s->dir);
		if (!dir_is_empty(s->dir))
			die("pool create: %s is not empty (a pool would hide what is in it)", s->dir);
	}
	s->backend->pool_create(s, &opt->pool_opt);
}

/* --- 3. the store ------------------------------------------------------------ */

/* Every command but `pool create`: the store says which backend it uses. */
static void open_store(struct store *s, const struct options *opt)
{
	int r = state_read(s);

	if (r == -ENOENT)
		die("no pool at %s (run '" PROG " --store %s pool create' first)", s->dir, s->dir);
	if (r < 0)
		die_err(-r, "read %s/" STATE_FILE, s->dir);
	if (opt->backend && backend_named(opt->backend) != s->backend)
		die_usage("--backend %s: the store %s uses %s", opt->backend, s->dir,
			  s->backend->name);
	if (opt->pool && strcmp(opt->pool, s->pool) != 0)
		die_usage("--pool %s: the store %s holds pool %s", opt->pool, s->dir, s->pool);
}

/* What the store holds now, as `list` shows it. */
static void read_entries(struct store *s)
{
	entries_count = s->backend->list(s, entries);
}

static const struct entry *find_entry(const char *name, int type)
{
	for (int i = 0; i < entries_count; i++)
		if (strcmp(entries[i].name, name) == 0 && (type < 0 || (int)entries[i].type == type))
			return &entries[i];
	return NULL;
}

/* --- 4.-7. image, populate, snapshot, clone --------------------------------- */

static void image_create(struct store *s, const char *image)
{
	read_entries(s);
	if (find_entry(image, -1))
		die("image create %s: an image or container of that name exists", image);
	s->backend->image_create(s, image);
}

static void image_populate(struct store *s, const struct options *opt)
{
	const struct entry *e;

	read_entries(s);
	e = find_entry(opt->name, ENTRY_IMAGE);
	if (!e || !e->mountpoint[0])
		die("image populate %s: no such image", opt->name);
	populate(e->mountpoint, opt->busybox, opt->progs, opt->nprogs);
}

static void snapshot(struct store *s, const char *image, const char *tag)
{
	char name[2 * NAME_MAX_LEN + 2];

	snprintf(name, sizeof(name), "%s@%s", image, tag);
	read_entries(s);
	if (!find_entry(image, ENTRY_IMAGE))
		die("snapshot %s: no image %s", name, image);
	if (find_entry(name, ENTRY_SNAPSHOT))
		die("snapshot %s: it exists already (snapshots are immutable)", name);
	s->backend->snapshot(s, image, tag);
}

static void clone(struct store *s, const char *image, const char *tag, const char *container,
		  uint64_t size)
{
	char path[PATH_MAX], other[PATH_MAX];

	/*
	 * No listing here: a clone must cost what the backend's clone costs
	 * (for zfs, listing is one more zfs command).  Names are checked
	 * through their mount points; the backend itself refuses a snapshot
	 * that does not exist.
	 */
	path_format(path, "%s/images/%s", s->dir, image);
	if (!path_exists(path))
		die("clone %s@%s: no image %s", image, tag, image);
	path_format(path, "%s/images/%s", s->dir, container);
	path_format(other, "%s/containers/%s", s->dir, container);
	if (path_exists(path) || path_exists(other))
		die("clone %s: an image or container of that name exists", container);
	if (size && s->backend != &backend_overlay)
		die_usage("clone --size: a per-container limit is overlay's on XFS (pool create "
			  "--backend overlay --fs xfs); this store uses %s", s->backend->name);
	s->backend->clone(s, image, tag, container, size);
}

/* --- 9. destroy ---------------------------------------------------------------- */

/* Nothing may depend on what `destroy` removes: zfs's rule, kept everywhere. */
static void destroy(struct store *s, const char *name)
{
	const struct entry *e;

	read_entries(s);
	e = find_entry(name, -1);
	if (!e)
		die("destroy %s: no image, snapshot or container of that name", name);
	for (int i = 0; i < entries_count; i++) {
		if (strcmp(entries[i].origin, name) != 0)
			continue;
		if (e->type == ENTRY_IMAGE)
			die("cannot destroy image %s: it has snapshot %s (destroy its snapshots "
			    "and their clones first)", name, entries[i].name);
		die("cannot destroy snapshot %s: container %s is a clone of it (destroy "
		    "the container first)", name, entries[i].name);
	}
	s->backend->destroy(s, e);
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct store s = { 0 };

	tuna_set_prog(PROG);
	/* 1. The whole command line, before anything is touched (options.c). */
	parse_command_line(argc, argv, &opt);
	if (opt.help || opt.version) {
		if (opt.help)
			usage(stdout);
		else
			printf(PROG " (tuna) " TUNA_VERSION "\n");
		return 0;
	}
	snprintf(s.dir, sizeof(s.dir), "%s", opt.store);

	/* 2. pool create: a backend, the pool, the state file. */
	if (opt.command == CMD_POOL_CREATE) {
		pool_create(&s, &opt);
		undo_forget();
		return 0;
	}

	/* 3. Every other command: the store says which backend holds it. */
	open_store(&s, &opt);
	switch (opt.command) {
	case CMD_IMAGE_CREATE:     /* 4. */
		image_create(&s, opt.name);
		break;
	case CMD_IMAGE_POPULATE:   /* 5. */
		image_populate(&s, &opt);
		break;
	case CMD_SNAPSHOT:         /* 6. */
		snapshot(&s, opt.image, opt.tag);
		break;
	case CMD_CLONE:            /* 7. */
		clone(&s, opt.image, opt.tag, opt.name, opt.clone_size);
		break;
	case CMD_LIST:             /* 8. */
		read_entries(&s);
		print_list(entries, entries_count, opt.json);
		break;
	case CMD_DESTROY:          /* 9. */
		destroy(&s, opt.name);
		break;
	case CMD_POOL_DESTROY:     /* 10. */
		s.backend->pool_destroy(&s);
		break;
	case CMD_POOL_CREATE:
		break;
	}
	undo_forget();
	return 0;
}

/*
 * zfs-image.h - what 03-zfs-image's files share: the store, its entries,
 * and the backend interface (backend-zfs.c, backend-btrfs.c,
 * backend-overlay.c).  Private to this step.
 *
 * A "store" is the directory the post calls /zpools: images live at
 * STORE/images/NAME, containers at STORE/containers/NAME.  Whatever holds
 * them (a zpool, a btrfs on a loop device, a tmpfs of overlay2 layers) is
 * the "pool".  The store remembers its backend in STORE/.tuna-store, a
 * small "key=value" file written by `pool create`, so that later commands
 * need no --backend.
 */
#ifndef ZFS_IMAGE_H
#define ZFS_IMAGE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG "03-zfs-image"

#define STATE_FILE ".tuna-store"   /* STORE/.tuna-store */
#define DEFAULT_POOL_DIR "/var/lib/tuna" /* backing files: POOL.img */
#define NAME_MAX_LEN 64            /* image, tag, container and pool names */
#define MAX_ENTRIES 256            /* images + snapshots + containers listed */

enum entry_type { ENTRY_IMAGE, ENTRY_SNAPSHOT, ENTRY_CONTAINER };

/* One row of `list`: the post's `zfs list` columns, in bytes. */
struct entry {
	char name[2 * NAME_MAX_LEN + 2];     /* NAME, NAME@TAG or CONTAINER */
	enum entry_type type;
	uint64_t used;                       /* space only this one holds */
	uint64_t refer;                      /* everything it shows */
	char mountpoint[PATH_MAX];           /* "" when not mounted */
	char origin[2 * NAME_MAX_LEN + 2];   /* snapshot: its image; container: its snapshot */
};

struct store {
	const struct backend *backend;
	char pool[NAME_MAX_LEN + 1];
	char dir[PATH_MAX];                  /* STORE */
	char backing_file[PATH_MAX];         /* the pool's file or device */
	int file_created;                    /* we made the backing file: remove it */
	int dir_created;                     /* we made STORE: remove it */
};

struct pool_options {
	uint64_t size;                       /* --size, bytes */
	const char *device;                  /* --device, or NULL */
};

/*
 * A backend.  Every function dies on failure (after undoing what it made);
 * main() has already validated names and checked that what they name
 * exists (or does not).
 */
struct backend {
	const char *name;
	uint64_t min_size;                   /* smallest pool it can make */
	/* NULL when it can work here, else why not (for the error and --backend). */
	const char *(*unavailable)(void);
	const char *install_hint;            /* what to install when it cannot */
	void (*pool_create)(struct store *s, const struct pool_options *opt);
	void (*pool_destroy)(struct store *s);
	void (*image_create)(struct store *s, const char *image);
	void (*snapshot)(struct store *s, const char *image, const char *tag);
	void (*clone)(struct store *s, const char *image, const char *tag,
		      const char *container);
	/* Fill ENTRIES (at most MAX_ENTRIES), return how many. */
	int (*list)(struct store *s, struct entry *entries);
	void (*destroy)(struct store *s, const struct entry *what);
};

extern const struct backend backend_zfs, backend_btrfs, backend_overlay;

/* --- store.c: helpers the backends share ------------------------------- */

/* snprintf into a PATH_MAX buffer, dying if the path does not fit. */
__attribute__((format(printf, 2, 3)))
void path_format(char *buf, const char *fmt, ...);

/* "prog: MESSAGE", then "hint: HINT", undo, exit 1: a known pitfall. */
__attribute__((noreturn, format(printf, 2, 3)))
void die_hint(const char *hint_text, const char *fmt, ...);

/* --store: absolute, canonical, not "/"; exit 2 otherwise. */
void validate_store(const char *dir);

/* 1 if directory PATH has no entries but . and .. */
int dir_is_empty(const char *path);

/* zfs list's units: 3 significant digits, K = 1024 ("62K", "20.1M"). */
void human_size(uint64_t bytes, char *buf, size_t size);

/* Find an executable in $PATH and the sbin directories; NULL if absent. */
const char *find_program(const char *name, char *buf, size_t size);

/*
 * fork+exec ARGV (ARGV[0] looked up with find_program), stdout into OUT
 * (NUL-terminated, may be NULL), the first line of stderr into ERR.
 * Traced with --explain as "exec(ARGV...) = STATUS   # SHELL".
 * Returns the exit status (128+signal if killed).
 */
int run_program(const char *const argv[], const char *shell, char *out,
		size_t out_size, char *err, size_t err_size);

/* run_program, and die "CMD: its error" when it does not exit 0. */
void run_or_die(const char *const argv[], const char *shell);

/* Create or replace PATH holding TEXT (a regular file: file_write is for /proc). */
void write_text_file(const char *path, const char *text);

/* Write STORE/.tuna-store; read it back (0, or -errno). */
void state_write(const struct store *s);
int state_read(struct store *s);

/* The backing file: create it SIZE bytes long (sparse) unless it exists. */
void backing_file_prepare(struct store *s, const struct pool_options *opt);
void backing_file_remove(const struct store *s);

/* mkdir STORE if absent (recorded in s->dir_created), rmdir it if we made it. */
void store_dir_prepare(struct store *s);
void store_dir_remove(const struct store *s);

/* mount(2)/umount2(2) traced with --explain; die on failure. */
void mount_or_die(const char *source, const char *target, const char *fstype,
		  unsigned long flags, const char *data, const char *shell);
void umount_or_die(const char *target, const char *shell);
/* 1 if PATH is a mount point (a mountinfo line names it). */
int is_mount_point(const char *path);

/* du -sB1 PATH: st_blocks * 512 summed, hard links once, not crossing mounts. */
uint64_t disk_usage(const char *path);

/* rm -rf PATH (not crossing mount points); 0 or -errno. */
int remove_tree(const char *path);
/* 1 when /proc/filesystems lists NAME (the kernel can mount it). */
int kernel_has_filesystem(const char *name);

/* --- populate.c ----------------------------------------------------------- */

/*
 * Copy PROGS (looked up in $PATH) into ROOT/usr/bin and ROOT/bin with
 * exactly the shared libraries they need, and with BUSYBOX, /bin/busybox
 * and its applet links.  Validates everything before copying anything.
 */
void populate(const char *root, int busybox, char *const progs[], int nprogs);

#endif

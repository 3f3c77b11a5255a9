/*
 * zfs-image.h - what 03-zfs-image's files share.  Private to this step.
 *
 *   zfs-image.c        the commands, in the order the post runs them; main()
 *   backend-zfs.c      the post's ZFS (and the lab's): zpool and zfs, run
 *   backend-btrfs.c    the same with btrfs, through the kernel's ioctls
 *   btrfs-usage.c      btrfs's list: USED and REFER from FIEMAP    (skippable)
 *   backend-overlay.c  the same with overlayfs, laid out as Docker's overlay2
 *   backend-devicemapper.c  the same with device-mapper thin devices, as
 *                      Docker's devicemapper driver
 *   dm-ioctl.c         dmsetup's commands as ioctls, for it      (skippable)
 *   overlay-layers.c   overlay2's layers on disk, and overlay's list (skippable)
 *   overlay-quota.c    overlay2's size limit: XFS project quotas
 *   zfs-fuse.c         the ZFS daemon, where the kernel has no ZFS (skippable)
 *   populate.c         image populate: programs and exactly their libraries
 *   elf-libraries.c    populate's reading half: DT_NEEDED, ld.so's search
 *   options.c          the command line, checked whole              (skippable)
 *   store.c            the store's bookkeeping: its state file, the pool's
 *                      backing file, `list`'s table, du, rm -rf     (skippable)
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
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PROG "03-zfs-image"

#define STATE_FILE ".tuna-store"   /* STORE/.tuna-store */
#define DEFAULT_POOL "zpools"      /* the post's pool */
#define DEFAULT_STORE "/zpools"    /* and where it is mounted */
#define DEFAULT_POOL_DIR "/var/lib/tuna" /* backing files: POOL.img */
#define NAME_MAX_LEN 64            /* image, tag, container and pool names */
#define MAX_ENTRIES 256            /* images + snapshots + containers listed */
#define POLL_STEP_MS 20            /* waiting for the kernel or a daemon */

enum entry_type { ENTRY_IMAGE, ENTRY_SNAPSHOT, ENTRY_CONTAINER };

/* One row of `list`: the post's `zfs list` columns, in bytes. */
struct entry {
	char name[2 * NAME_MAX_LEN + 2];     /* NAME, NAME@TAG or CONTAINER */
	enum entry_type type;
	uint64_t used;                       /* space only this one holds */
	uint64_t refer;                      /* everything it shows */
	char mountpoint[PATH_MAX];           /* "" when not mounted */
	char origin[2 * NAME_MAX_LEN + 2];   /* snapshot: its image; container: its snapshot */
	uint64_t quota_limit, quota_used;    /* overlay on XFS: clone --size; 0: no limit */
};

struct store {
	const struct backend *backend;
	char pool[NAME_MAX_LEN + 1];
	char dir[PATH_MAX];                  /* STORE */
	char backing_file[PATH_MAX];         /* the pool's file or device */
	int file_created;                    /* we made the backing file: remove it */
	int dir_created;                     /* we made STORE: remove it */
	char fs[8];                          /* overlay: "xfs" (pool create --fs xfs), or "" */
};

struct pool_options {
	uint64_t size;                       /* --size, bytes */
	const char *device;                  /* --device, or NULL */
	const char *fs;                      /* --fs tmpfs|xfs (overlay), or NULL */
	int size_given;                      /* --size was on the command line */
};

/*
 * A backend.  Every function dies on failure (after undoing what it made);
 * zfs-image.c has already checked that what the names name exists (or does
 * not).
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
	/* SIZE: clone --size, a limit on what the container may write (0: none). */
	void (*clone)(struct store *s, const char *image, const char *tag,
		      const char *container, uint64_t size);
	/* Fill ENTRIES (at most MAX_ENTRIES), return how many. */
	int (*list)(struct store *s, struct entry *entries);
	void (*destroy)(struct store *s, const struct entry *what);
};

extern const struct backend backend_zfs, backend_btrfs, backend_overlay, backend_devicemapper;

/* --- options.c: the command line --------------------------------------- */

enum command {
	CMD_POOL_CREATE, CMD_POOL_DESTROY, CMD_IMAGE_CREATE, CMD_IMAGE_POPULATE,
	CMD_SNAPSHOT, CMD_CLONE, CMD_LIST, CMD_DESTROY,
};

struct options {
	int help, version;       /* -h or --version: nothing else was read */
	const char *backend;     /* --backend, or NULL: the first that works */
	const char *pool;        /* --pool, or NULL: the store's, else zpools */
	const char *store;       /* --store */
	struct pool_options pool_opt;
	int json, busybox;
	uint64_t clone_size;     /* clone --size, or 0 */
	enum command command;
	const char *name;        /* image create/populate NAME, clone CONTAINER, destroy NAME */
	char image[NAME_MAX_LEN + 1], tag[NAME_MAX_LEN + 1];   /* NAME@TAG */
	char *const *progs;      /* populate --from-host PROG... */
	int nprogs;
};

/* Exit 2 with one line unless ARGV is a whole, sensible command. */
void parse_command_line(int argc, char **argv, struct options *opt);

/* --- store.c: the bookkeeping the backends share ------------------------ */

/* snprintf into a PATH_MAX buffer, dying if the path does not fit. */
__attribute__((format(printf, 2, 3)))
void path_format(char *buf, const char *fmt, ...);

/* The backend called NAME, or NULL. */
const struct backend *backend_named(const char *name);

/* Sleep MS milliseconds, between two looks at the kernel's state. */
void sleep_ms(long ms);

/*
 * Run ARGV (zpool, zfs, mkfs.btrfs) with traced_run_output, its stdout in
 * OUT (may be NULL), the first line of its stderr in ERR.  Returns its exit
 * status; a program that cannot be run dies here.
 */
int run_program(char *const argv[], const char *shell, char *out, size_t out_size,
		char *err, size_t err_size);
/* run_program, and die "CMD SUB: its error" unless it exits 0. */
void run_or_die(char *const argv[], const char *shell);

/* mount(2)/umount2(2), traced, dying with the hint for a known pitfall. */
void mount_or_die(const char *shell, const char *source, const char *target,
		  const char *fstype, unsigned long flags, const char *data);
void umount_or_die(const char *shell, const char *target);
/* mkdir(2), traced; die unless it made PATH. */
void mkdir_or_die(const char *path, mode_t mode);

/* Can the kernel mount FSTYPE?  A module is loaded first (modprobe), as
 * mount(8) would have the kernel do. */
int kernel_can_mount(const char *fstype);

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

/* `list`: zfs list's columns, or --json. */
void print_list(const struct entry *entries, int n, int json);

/* A file with hard links is counted once: 1 if ST's inode was seen since
 * the last hard_links_forget(), else remember it and return 0. */
int hard_link_seen_before(const struct stat *st);
void hard_links_forget(void);
/* du -sB1 PATH: st_blocks * 512 summed, hard links once, not crossing mounts. */
uint64_t disk_usage(const char *path);
/* rm -rf PATH (not crossing mount points); 0 or -errno. */
int remove_tree(const char *path);
/* 1 if directory PATH has no entries but . and .. */
int dir_is_empty(const char *path);

/* --- dm-ioctl.c: dmsetup's commands, for backend-devicemapper.c -------- */

#define DM_CONTROL "/dev/mapper/control"
/* The control device, opened once (dies if it cannot be). */
int dm_control(void);
/* dmsetup create NAME --table "0 SECTORS TYPE PARAMS" [--readonly]: the new
 * device's dev; dies on failure, and a later failure of the run removes it. */
dev_t dm_create(const char *name, uint64_t sectors, const char *type, const char *params,
		int readonly);
/* dmsetup remove NAME: 0 or -errno (EBUSY while it is open or mounted). */
int dm_remove(const char *name);
/* dmsetup message NAME 0 "TEXT": 0 or -errno; the _or_die form says why. */
int dm_message(const char *name, const char *text);
void dm_message_or_die(const char *name, const char *text);
/* dmsetup suspend|resume NAME (suspend freezes a mounted file system); dies. */
void dm_suspend(const char *name, int suspend);
/* If the run fails from now on, resume NAME again. */
void dm_resume_on_failure(const char *name);
/* dmsetup status NAME: the first target's status line; 0 or -errno. */
int dm_status(const char *name, char *out, size_t size);
/* dmsetup table NAME: its one target's type and parameters; 0 or -errno. */
int dm_table(const char *name, char *type, size_t type_size, char *params, size_t size);
/* dmsetup info NAME: its dev; 0 or -errno. */
int dm_dev(const char *name, dev_t *dev);
/* Does the kernel have target TYPE (dmsetup targets)?  1, 0 or -errno. */
int dm_has_target(const char *type);
/* FN(name) for every dm device (dmsetup ls), until it returns non-zero. */
int dm_each_device(int (*fn)(const char *name, void *arg), void *arg);

/* --- backend-btrfs.c: loop devices, for backend-devicemapper.c too ------ */

/* A free loop device bound to FILE, autoclear on: its name in DEVICE, its
 * open fd returned (the device stays while that or a user holds it). */
int loop_attach(const char *file, char *device, size_t size);
/* The device mounted at PATH (mountinfo's source of the newest mount there)
 * into DEVICE: 0, or -1 (DEVICE empty) when nothing is mounted there. */
int mount_source(const char *path, char *device, size_t size);
/* Wait until no loop device is bound to FILE (autoclear); die after 5 s. */
void loop_wait_detached(const char *file);

/* --- btrfs-usage.c: list, for backend-btrfs.c ---------------------------- */

struct btrfs_ioctl_get_subvol_info_args;
int btrfs_list(struct store *s, struct entry *entries);
/* BTRFS_IOC_GET_SUBVOL_INFO of the subvolume at PATH: 0, or -1 with errno. */
int subvolume_info(const char *path, struct btrfs_ioctl_get_subvol_info_args *info);

/* --- overlay-layers.c: the overlay2 layout, for backend-overlay.c -------- */

#define LAYER_ID_LEN 64             /* Docker: 64 hex digits */
#define LINK_LEN 26                 /* Docker: 26 characters of base32 */
#define MOUNT_DATA_MAX 4096         /* mount(2) options fit in one page */
#define MAX_LAYERS 128              /* below one layer */
#define LAYER_DIR_MODE 0700
#define VIEW_DIR_MODE 0755

/* One layer: STORE/overlay2/<id>/{diff,link,lower,work,merged}. */
struct layer {
	const struct store *store;
	char id[LAYER_ID_LEN + 1];
	char dir[PATH_MAX];           /* STORE/overlay2/<id> */
	char link[LINK_LEN + 1];      /* its short name: STORE/overlay2/l/<link> */
	char lower[MOUNT_DATA_MAX];   /* "l/A:l/B" of the layers under it, "" for a bottom one */
};

/* A new layer on PARENT (NULL: a bottom layer); removed again if the run fails. */
struct layer *layer_create(const struct store *s, const struct layer *parent);
void layer_load(const struct store *s, const char *id, struct layer *l);
/* The ids of the layers under L, uppermost first; how many. */
int lower_layers(const struct layer *l, char ids[][LAYER_ID_LEN + 1]);
/* rm -rf the layer and its short link: 0 or -errno. */
int layer_remove(const struct layer *l);
/* STORE/layerdb/KIND/NAME -> ../../overlay2/<id>: read (0 or -errno), write. */
int ref_read(const struct store *s, const char *kind, const char *name, char *id);
void ref_write(const struct store *s, const char *kind, const char *name, const char *id);
int overlay_list(struct store *s, struct entry *entries);

/* --- overlay-quota.c: overlay2's size limit, XFS project quotas --------- */

/* NULL when an XFS with project quotas can be made here, else why not. */
const char *xfs_quota_unavailable(void);
/* Without --fs: 1 for XFS (quotas here, and room for mkfs.xfs), 0 for a tmpfs; says why. */
int xfs_pool_by_default(const struct pool_options *opt);
/* The pool as an XFS mounted with prjquota at STORE; sets s->fs. */
void xfs_pool_create(struct store *s, const struct pool_options *opt);
/* Project ID of directory PATH, or -errno. */
int project_of(const char *path);
/* A new project for LAYER_DIR (and its diff, work), limited to BYTES. */
void quota_limit(const struct store *s, const char *layer_dir, uint64_t bytes);
/* LAYER_DIR's project's limit and usage (0, 0 when none): its ID, 0, or -errno. */
int quota_read(const struct store *s, const char *layer_dir, uint64_t *limit, uint64_t *used);
/* The limit of LAYER_DIR's project back to none. */
void quota_remove(const struct store *s, const char *layer_dir);

/* --- zfs-fuse.c: ZFS in a daemon, where the kernel has none ------------- */

/* Why neither OpenZFS nor a zfs-fuse to start is here, or NULL. */
const char *zfs_fuse_unavailable(void);
/* Start zfs-fuse unless OpenZFS or a zfs-fuse daemon is there already. */
void zfs_fuse_start_if_needed(void);
/* Stop the zfs-fuse this tool started, once no pool is left; wait for it. */
void zfs_fuse_stop_if_ours(void);

/* --- elf-libraries.c ------------------------------------------------------ */

#define MAX_NEEDED 128           /* DT_NEEDED entries of one object */

/* What one ELF object asks of the dynamic loader. */
struct elf_info {
	unsigned char class;
	uint16_t machine;
	char interp[PATH_MAX];
	char needed[MAX_NEEDED][NAME_MAX + 1];
	int nr_needed;
	char rpath[PATH_MAX];
	char runpath[PATH_MAX];
};

/*
 * Read PATH's ELF header, PT_INTERP and PT_DYNAMIC.  Returns 0, -ENOEXEC
 * (not ELF), -EPROTONOSUPPORT (not a 64-bit little-endian ELF), -EINVAL
 * (malformed) or -errno.
 */
int elf_read(const char *path, struct elf_info *info);
/* Read /etc/ld.so.conf and its includes, once, before find_library. */
void ld_so_conf_load(void);
/* The path ld.so would load for NAME, needed by NEEDED_BY (whose headers
 * are INFO), into FOUND (PATH_MAX); dies if there is none. */
void find_library(const char *name, const char *needed_by, const struct elf_info *info,
		  char *found);

/* --- populate.c ----------------------------------------------------------- */

/*
 * Copy PROGS (looked up in $PATH) into ROOT/usr/bin and ROOT/bin with
 * exactly the shared libraries they need, and with BUSYBOX, /bin/busybox
 * and its applet links.  Validates everything before copying anything.
 */
void populate(const char *root, int busybox, char *const progs[], int nprogs);

#endif

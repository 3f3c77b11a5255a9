/*
 * overlay-quota.c - a size limit per container on overlay2: an XFS pool
 * with project quotas, as Docker's `--storage-opt size=` needs.
 *
 * overlayfs has no size limit of its own: a container writes into its
 * upper directory (its layer's diff), on whatever file system holds the
 * layers.  XFS can count and limit the blocks of a directory tree: give a
 * directory a project ID and the PROJINHERIT flag (FS_IOC_FSSETXATTR, what
 * `xfs_quota -x -c 'project -s'` does) and everything created under it
 * carries that ID; set the project's hard block limit (quotactl
 * Q_XSETQLIM, `xfs_quota -x -c 'limit -p bhard=SIZE ID'`) and a write past
 * it fails.  The file system must be mounted with `prjquota`.
 *
 *   pool create --fs xfs   a file, a loop device, mkfs.xfs, mount -o prjquota
 *   clone --size SIZE      the layer's directory, diff and work get project
 *                          ID N (the next free one), then N's limit is SIZE
 *   list                   the limit and the usage (Q_XGETQUOTA)
 *   destroy                the limit back to none, then the layer goes
 *
 * Docker puts the ID on the layer's directory before diff and work exist,
 * so both inherit it: overlayfs copies a file up by writing it in work and
 * renaming it into diff, and XFS refuses (EXDEV) a rename into a tree of
 * another project.  Here diff and work exist already and get it too.
 *
 * XFS answers a write past a project's limit with ENOSPC ("No space left
 * on device"), not EDQUOT: a project is a directory tree that looks full,
 * as a file system does (xfs_trans_dqresv).
 *
 * Man pages: xfs_quota(8), quotactl(2), ioctl_xfs_fsgetxattr(2), mkfs.xfs(8).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/quota.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define XFS_MIN_SIZE (300ull << 20)     /* mkfs.xfs 5.19+: "must be larger than 300MB" */
#define XQM_PROC "/proc/fs/xfs/xqmstat" /* there only when XFS has quota support */
#define BASIC_BLOCK 512                 /* quotactl's XFS limits are in 512-byte blocks */
#define FIRST_PROJECT 1

/* NULL when an XFS pool with project quotas can be made here, else why not. */
const char *xfs_quota_unavailable(void)
{
	char buf[PATH_MAX];

	if (!kernel_can_mount("xfs"))
		return "the kernel has no XFS (not in /proc/filesystems, and modprobe xfs "
		       "could not load it)";
	if (!path_exists(XQM_PROC))
		return "the kernel's XFS has no quota support (CONFIG_XFS_QUOTA: no " XQM_PROC ")";
	if (find_program("mkfs.xfs", buf, sizeof(buf)) < 0)
		return "mkfs.xfs not found (apt-get install xfsprogs)";
	return NULL;
}

/*
 * Without --fs the pool is an XFS where one with quotas can be made here,
 * for then `clone --size` works as Docker's --storage-opt size= does; a
 * tmpfs elsewhere.  The test reads /proc/fs/xfs/xqmstat after the module is
 * in (what the mount would load anyway): the kernel makes that file only when
 * built with CONFIG_XFS_QUOTA.  mkfs.xfs refuses less than 300M, so an
 * explicit smaller --size keeps the tmpfs; the default 1G is a sparse file.
 */
int xfs_pool_by_default(const struct pool_options *opt)
{
	const char *why = xfs_quota_unavailable();

	if (why) {
		explain_note("# a tmpfs pool: %s", why);
		return 0;
	}
	if (!opt->device && opt->size < XFS_MIN_SIZE) {
		explain_note("# a tmpfs pool: --size is below the %lluM mkfs.xfs needs",
			     XFS_MIN_SIZE >> 20);
		return 0;
	}
	explain_note("# an XFS pool (--fs xfs): the kernel's XFS has project quotas, "
		     "so clone --size can limit a container (--fs tmpfs for a tmpfs)");
	return 1;
}

/* The pool: an XFS with project quotas on a loop device (or the user's device). */
void xfs_pool_create(struct store *s, const struct pool_options *opt)
{
	const char *why = xfs_quota_unavailable();
	char device[PATH_MAX];
	int loop_fd = -1;
	struct stat st;

	if (why)
		die_hint(0, "a stock Debian or Ubuntu kernel has it; or make the pool without "
			 "--fs xfs (a tmpfs, no per-container limit)", "pool create --fs xfs: %s", why);
	if (opt->size < XFS_MIN_SIZE && !opt->device)
		die_usage("--size: an XFS pool needs at least %lluM", XFS_MIN_SIZE >> 20);
	backing_file_prepare(s, opt);
	if (stat(s->backing_file, &st) < 0)
		die_errno("stat %s", s->backing_file);
	if (S_ISBLK(st.st_mode))
		snprintf(device, sizeof(device), "%s", s->backing_file);
	else
		loop_fd = loop_attach(s->backing_file, device, sizeof(device));
	run_or_die((char *[]){ "mkfs.xfs", "-q", "-f", device, NULL }, "mkfs.xfs /dev/loopN");
	store_dir_prepare(s);
	mount_or_die("mount -o prjquota /dev/loopN /zpools", device, s->dir, "xfs", 0, "prjquota");
	undo_umount(s->dir);
	if (loop_fd >= 0)
		close(loop_fd);   /* the mount holds the loop device now */
	snprintf(s->fs, sizeof(s->fs), "xfs");
}

/* The block device under STORE, for quotactl: mountinfo's source. */
static void store_device(const struct store *s, char *device)
{
	if (mount_source(s->dir, device, PATH_MAX) < 0)
		die("%s is not mounted", s->dir);
}

static void describe_fsxattr(char *buf, size_t size, const void *arg)
{
	const struct fsxattr *x = arg;

	snprintf(buf, size, "{fsx_xflags=%s, fsx_projid=%u}",
		 x->fsx_xflags & FS_XFLAG_PROJINHERIT ? "FS_XFLAG_PROJINHERIT" : "0", x->fsx_projid);
}

static void describe_quota(char *buf, size_t size, const void *arg)
{
	const struct fs_disk_quota *q = arg;

	snprintf(buf, size, "{d_flags=FS_PROJ_QUOTA, d_fieldmask=FS_DQ_BHARD, d_blk_hardlimit=%llu, "
		 "d_bcount=%llu}", (unsigned long long)q->d_blk_hardlimit,
		 (unsigned long long)q->d_bcount);
}

/* The project ID of directory PATH (FS_IOC_FSGETXATTR): >= 0, or -errno. */
int project_of(const char *path)
{
	struct fsxattr x = { 0 };
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, FS_IOC_FSGETXATTR, &x) < 0 ? -errno : (int)x.fsx_projid;
	close(fd);
	return r;
}

/* Give PATH project ID, inherited by what is created under it. */
static void project_set(const char *path, unsigned id)
{
	struct fsxattr x = { 0 };
	char shell[64];
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		die_errno("open %s", path);
	if (ioctl(fd, FS_IOC_FSGETXATTR, &x) < 0)
		die_errno("FS_IOC_FSGETXATTR %s", path);
	x.fsx_projid = id;
	x.fsx_xflags |= FS_XFLAG_PROJINHERIT;
	snprintf(shell, sizeof(shell), "xfs_quota -x -c 'project -s -p DIR %u'", id);
	r = traced_ioctl_decoded(shell, fd, FS_IOC_FSSETXATTR, &x, describe_fsxattr);
	if (r < 0)
		die_err(-r, "FS_IOC_FSSETXATTR %s", path);
	close(fd);
}

/* The hard block limit of project ID: BYTES (0: none). */
static int limit_set(const struct store *s, unsigned id, uint64_t bytes)
{
	struct fs_disk_quota q = { .d_version = FS_DQUOT_VERSION, .d_flags = FS_PROJ_QUOTA,
				   .d_fieldmask = FS_DQ_BHARD, .d_id = id,
				   .d_blk_hardlimit = bytes / BASIC_BLOCK };
	char device[PATH_MAX], shell[96];

	store_device(s, device);
	snprintf(shell, sizeof(shell), "xfs_quota -x -c 'limit -p bhard=%llu %u' /zpools",
		 (unsigned long long)bytes, id);
	return traced_quotactl(shell, Q_XSETQLIM, PRJQUOTA, device, (int)id, &q, describe_quota);
}

static struct {
	const struct store *s;
	unsigned id;
} limit_undo_arg;

static void limit_undo(void *unused)
{
	(void)unused;
	limit_set(limit_undo_arg.s, limit_undo_arg.id, 0);
}

/* The next free project ID: one above every layer's in STORE/overlay2. */
static unsigned next_project(const struct store *s)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned id = FIRST_PROJECT;
	struct dirent *de;
	DIR *d;

	path_format(dir, "%s/overlay2", s->dir);
	if (!(d = opendir(dir)))
		die_errno("opendir %s", dir);
	while ((de = readdir(d))) {
		int p;

		if (de->d_name[0] == '.')
			continue;
		path_format(path, "%s/%s", dir, de->d_name);
		if ((p = project_of(path)) >= (int)id)
			id = (unsigned)p + 1;
	}
	closedir(d);
	return id;
}

void quota_limit(const struct store *s, const char *layer_dir, uint64_t bytes)
{
	static const char *const subdirs[] = { "", "/diff", "/work" };
	unsigned id;
	char path[PATH_MAX];
	int r;

	if (strcmp(s->fs, "xfs") != 0)
		die_usage("clone --size: the pool must be an XFS with project quotas "
			  "(pool create --fs xfs); this one is a tmpfs");
	id = next_project(s);
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		path_format(path, "%s%s", layer_dir, subdirs[i]);
		project_set(path, id);
	}
	if ((r = limit_set(s, id, bytes)) < 0)
		die_err(-r, "quotactl Q_XSETQLIM project %u", id);
	limit_undo_arg.s = s;
	limit_undo_arg.id = id;
	undo_push(limit_undo, NULL);
}

int quota_read(const struct store *s, const char *layer_dir, uint64_t *limit, uint64_t *used)
{
	struct fs_disk_quota q = { 0 };
	char device[PATH_MAX];
	int id = project_of(layer_dir);

	*limit = *used = 0;
	if (strcmp(s->fs, "xfs") != 0 || id <= 0)
		return 0;
	store_device(s, device);
	if (quotactl(QCMD(Q_XGETQUOTA, PRJQUOTA), device, id, (void *)&q) < 0)
		return -errno;
	*limit = q.d_blk_hardlimit * BASIC_BLOCK;
	*used = q.d_bcount * BASIC_BLOCK;
	return id;
}

void quota_remove(const struct store *s, const char *layer_dir)
{
	int id = project_of(layer_dir), r;

	if (strcmp(s->fs, "xfs") != 0 || id <= 0)
		return;
	if ((r = limit_set(s, (unsigned)id, 0)) < 0)
		die_err(-r, "quotactl Q_XSETQLIM project %d (remove its limit)", id);
}

/*
 * mountinfo.h - the mounts of this mount namespace, read from
 * /proc/self/mountinfo.
 *
 * One line per mount, oldest first (proc(5)):
 *
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
 *
 * The kernel escapes space, tab, newline and backslash in the paths as
 * \040, \011, \012 and \134 (show_mountinfo, seq_path with " \t\n\\");
 * every field here is given unescaped.
 */
#ifndef TUNA_MOUNTINFO_H
#define TUNA_MOUNTINFO_H

struct mount_entry {
	const char *root;           /* the part of the file system mounted */
	const char *mount_point;
	const char *options;        /* per-mount: "rw,nosuid" */
	const char *fstype;         /* "cgroup2", "btrfs", "overlay" */
	const char *source;         /* "/dev/loop0", "overlay", "cgroup" */
	const char *super_options;  /* per-superblock: "rw,cpu,cpuacct" */
};

/*
 * Call FN for every mount, oldest first, until it returns non-zero; return
 * that value, 0 after the last mount, or -errno when mountinfo cannot be
 * read.  SHELL, when not NULL, traces the open with --explain.
 */
int mountinfo_each(const char *shell, int (*fn)(const struct mount_entry *m, void *ctx),
		   void *ctx);

/* 1 when PATH is a mount point in this mount namespace, 0 when not. */
int mountinfo_has_mount_point(const char *path);

#endif

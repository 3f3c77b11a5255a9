/*
 * btrfs-usage.c - what `list` shows for the btrfs backend: the subvolumes
 * under STORE/images and STORE/containers, their USED and REFER, and which
 * snapshot each clone came from.  A first reading can skip this file.
 *
 * USED and REFER come from FS_IOC_FIEMAP, the same numbers as `btrfs
 * filesystem du` ("Exclusive" and "Total"): every data extent of every file
 * counts in REFER, and in USED only when the kernel does not flag it
 * FIEMAP_EXTENT_SHARED.  Inline extents (tiny files kept in the metadata)
 * count in neither, as in btrfs filesystem du.  Quotas (qgroups) would give
 * ZFS-like figures too, but must be switched on for the whole file system
 * and then cost on every write; FIEMAP asks nothing of the file system.
 *
 * A clone's parent_uuid (BTRFS_IOC_GET_SUBVOL_INFO) is the uuid of the
 * snapshot it was made from.
 *
 * Man pages: ioctl_fiemap(2), btrfs-filesystem(8); kernel
 * Documentation/filesystems/fiemap.rst.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define SUBVOL_ROOT_INODE 256            /* BTRFS_FIRST_FREE_OBJECTID */
#define FIEMAP_EXTENTS_PER_CALL 128
#define FTW_OPEN_FDS 32

static uint64_t extent_total, extent_exclusive;
static int add_extents(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char buf[sizeof(struct fiemap) + FIEMAP_EXTENTS_PER_CALL * sizeof(struct fiemap_extent)];
	struct fiemap *map = (struct fiemap *)buf;
	uint64_t start = 0;
	int fd, last = 0;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode) ||
	    (st->st_nlink > 1 && hard_link_seen_before(st)))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	while (!last) {
		memset(map, 0, sizeof(*map));
		map->fm_start = start;
		map->fm_length = FIEMAP_MAX_OFFSET;
		map->fm_flags = FIEMAP_FLAG_SYNC; /* write delayed data first: real extents */
		map->fm_extent_count = FIEMAP_EXTENTS_PER_CALL;
		if (ioctl(fd, FS_IOC_FIEMAP, map) < 0 || map->fm_mapped_extents == 0)
			break;
		for (__u32 i = 0; i < map->fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &map->fm_extents[i];

			if (!(e->fe_flags & FIEMAP_EXTENT_DATA_INLINE)) {
				extent_total += e->fe_length;
				if (!(e->fe_flags & FIEMAP_EXTENT_SHARED))
					extent_exclusive += e->fe_length;
			}
			last = (e->fe_flags & FIEMAP_EXTENT_LAST) != 0;
			start = e->fe_logical + e->fe_length;
		}
	}
	close(fd);
	return 0;
}

/* Exclusive and total data bytes of one subvolume (not those nested in it). */
static void subvolume_usage(const char *path, uint64_t *used, uint64_t *refer)
{
	extent_total = extent_exclusive = 0;
	hard_links_forget();
	nftw(path, add_extents, FTW_OPEN_FDS, FTW_PHYS | FTW_MOUNT);
	*used = extent_exclusive;
	*refer = extent_total;
}

int subvolume_info(const char *path, struct btrfs_ioctl_get_subvol_info_args *info)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, info);
	close(fd);
	return r;
}

int btrfs_list(struct store *s, struct entry *entries)
{
	static struct btrfs_ioctl_get_subvol_info_args info[MAX_ENTRIES];
	static const char *const dirs[] = { "images", "containers" };
	int n = 0;

	for (int d = 0; d < 2; d++) {
		char dir[PATH_MAX];
		struct dirent *de;
		DIR *dp;

		path_format(dir, "%s/%s", s->dir, dirs[d]);
		dp = opendir(dir);
		if (!dp)
			die_errno("opendir %s", dir);
		while ((de = readdir(dp))) {
			struct entry *e = &entries[n];
			struct stat st;

			if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(e->name))
				continue;
			memset(e, 0, sizeof(*e));
			path_format(e->mountpoint, "%s/%s", dir, de->d_name);
			/* A subvolume's root directory is always inode 256. */
			if (lstat(e->mountpoint, &st) < 0 || !S_ISDIR(st.st_mode) ||
			    st.st_ino != SUBVOL_ROOT_INODE ||
			    subvolume_info(e->mountpoint, &info[n]) < 0)
				continue;
			if (n == MAX_ENTRIES - 1)
				die("list: more than %d entries", MAX_ENTRIES);
			snprintf(e->name, sizeof(e->name), "%s", de->d_name);
			e->type = d == 1 ? ENTRY_CONTAINER :
				  strchr(de->d_name, '@') ? ENTRY_SNAPSHOT : ENTRY_IMAGE;
			if (e->type == ENTRY_SNAPSHOT)
				snprintf(e->origin, strcspn(e->name, "@") + 1, "%s", e->name);
			subvolume_usage(e->mountpoint, &e->used, &e->refer);
			n++;
		}
		closedir(dp);
	}
	/* A clone's parent_uuid is the uuid of the snapshot it was made from. */
	for (int i = 0; i < n; i++) {
		if (entries[i].type != ENTRY_CONTAINER)
			continue;
		for (int j = 0; j < n; j++)
			if (entries[j].type == ENTRY_SNAPSHOT &&
			    memcmp(info[i].parent_uuid, info[j].uuid, BTRFS_UUID_SIZE) == 0)
				snprintf(entries[i].origin, sizeof(entries[i].origin), "%s",
					 entries[j].name);
	}
	return n;
}

#!/usr/bin/env bash
# labs/03-zfs-image.sh - step 03 on its own: an image, a read-only snapshot,
# a copy-on-write clone, on ZFS (or --backend btrfs|overlay).
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

lab_steps() {
    step 1 "A pool and an image"
    post "zpool create zpools /dev/sda5"
    post "zfs create zpools/images/myImage -o mountpoint=/zpools/images/myImage"
    ours zfs_tool "${X[@]}" pool create --size 512M
    ours zfs_tool "${X[@]}" image create "$IMAGE"
    ours zfs_tool image populate "$IMAGE" --busybox --from-host ls ps
    du -sh "$LAB_STORE/images/$IMAGE" | sed 's/^/  image size: /'

    step 2 "A snapshot: read-only, immutable (C6)"
    post "zfs snapshot zpools/images/myImage@v1.0"
    ours zfs_tool "${X[@]}" snapshot "$SNAPSHOT"
    ours zfs_tool list

    step 3 "A clone: the container's writable copy-on-write file system (C7, C22)"
    post "zfs clone zpools/images/myImage@v1.0 zpools/containers/myContainer"
    ours zfs_tool "${X[@]}" clone "$SNAPSHOT" "$CONTAINER"
    ours zfs_tool list
    json=$(zfs_tool list --json)
    used=$(echo "$json" | jq ".[] | select(.name == \"$CONTAINER\") | .used")
    refer=$(echo "$json" | jq ".[] | select(.name == \"$CONTAINER\") | .refer")
    check "a fresh clone: USED $used bytes beside REFER $refer bytes" \
        arith "$refer > 0 && $used * 100 < $refer * 5"
    echo "written in the container" >"$CONTAINER_ROOT/hello"
    check "a file written in the clone is not in the image" \
        [ ! -e "$LAB_STORE/images/$IMAGE/hello" ]
    ours zfs_tool list

    step 4 "The inode limit (C12): the inodes run out, the space does not"
    say "ext4 fixes its number of inodes when it is made (mkfs.ext4 -N, or -i bytes per inode):"
    say "a 16M ext4 with 128 inodes, then copies of the clone's /bin (busybox's applet links:"
    say "an inode each, almost no blocks) until the file system refuses."
    local dir=$LAB_INODES_DIR n=0 err stats
    mkdir -p "$dir/mnt"
    ours truncate -s 16M "$dir/ext4.img"
    ours mkfs.ext4 -q -N 128 "$dir/ext4.img"
    ours mount -o loop "$dir/ext4.img" "$dir/mnt"
    while [ $n -lt 100 ] && err=$(cp -a "$CONTAINER_ROOT/bin" "$dir/mnt/copy$n" 2>&1); do
        n=$((n + 1))
    done
    say "copy $((n + 1)) of /bin: $(echo "$err" | head -n 1)"
    ours df -i "$dir/mnt"
    ours df -h "$dir/mnt"
    # statfs(2), as df reads it: %d free inodes, %f free blocks, %b blocks.
    read -r stats < <(stat -f -c '%d %f %b' "$dir/mnt")
    check "ENOSPC with no inode free and most blocks free (statfs: f_ffree f_bfree f_blocks = $stats)" \
        arith "${stats%% *} == 0 && $(echo "$stats" | cut -d ' ' -f 2) * 2 > ${stats##* }"
    say "XFS, btrfs and ZFS make inodes as files need them: there the limit is the space."
    say "On ext4 no kernel parameter raises it: only a new file system (mkfs.ext4 -N or -i)."
    ours umount "$dir/mnt"
    rm -rf "$dir"

    step 5 "Destroy: clones before their snapshot, snapshots before their image"
    ours zfs_tool destroy "$IMAGE" || true
    ours zfs_tool "${X[@]}" destroy "$CONTAINER"
    ours zfs_tool "${X[@]}" destroy "$SNAPSHOT"
    ours zfs_tool "${X[@]}" destroy "$IMAGE"
    lab_finish
}

lab_run lab_steps

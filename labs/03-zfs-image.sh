#!/usr/bin/env bash
# labs/03-zfs-image.sh - step 03 on its own: an image, a read-only snapshot,
# a copy-on-write clone, on ZFS (or --backend btrfs|overlay).
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

# overlay_size_limit: on an overlay pool, clone --size shown for real where
# the pool is an XFS with project quotas (statfs's type of the store).
overlay_size_limit() {
    local fs small=$CONTAINER-8M err size
    fs=$(stat -f -c %T "$LAB_STORE")
    if [ "$fs" != xfs ]; then
        say "$(msg l03.quota.skip "$fs")"
        return 0
    fi
    say "$(msg l03.quota.why)"
    ours zfs_tool "${X[@]}" clone "$SNAPSHOT" "$small" --size 8M
    ours xfs_quota -x -c 'report -p -h' "$LAB_STORE" || true
    err=$(dd if=/dev/zero of="$LAB_STORE/containers/$small/big" bs=1M count=16 2>&1 >/dev/null) || true
    say "$(echo "$err" | head -n 1)"
    size=$(stat -c %s "$LAB_STORE/containers/$small/big")
    check "$(msg l03.quota.check "$size")" \
        eval "[[ \$err == *'No space left on device'* ]] && (( $size > 0 && $size <= 8 << 20 ))"
    ours zfs_tool "${X[@]}" destroy "$small"
}

lab_steps() {
    step 1 "$(msg l03.s1.title)"
    post "zpool create zpools /dev/sda5"
    post "zfs create zpools/images/myImage -o mountpoint=/zpools/images/myImage"
    ours zfs_tool "${X[@]}" pool create --size 512M
    ours zfs_tool "${X[@]}" image create "$IMAGE"
    ours zfs_tool image populate "$IMAGE" --busybox --from-host ls ps
    say "$(msg l03.s1.size "$(du -sh "$LAB_STORE/images/$IMAGE" | cut -f1)")"

    step 2 "$(msg l03.s2.title)"
    post "zfs snapshot zpools/images/myImage@v1.0"
    ours zfs_tool "${X[@]}" snapshot "$SNAPSHOT"
    ours zfs_tool list

    step 3 "$(msg l03.s3.title)"
    post "zfs clone zpools/images/myImage@v1.0 zpools/containers/myContainer"
    ours zfs_tool "${X[@]}" clone "$SNAPSHOT" "$CONTAINER"
    ours zfs_tool list
    json=$(zfs_tool list --json)
    used=$(echo "$json" | jq ".[] | select(.name == \"$CONTAINER\") | .used")
    refer=$(echo "$json" | jq ".[] | select(.name == \"$CONTAINER\") | .refer")
    check "$(msg l03.s3.fresh "$used" "$refer")" \
        arith "$refer > 0 && $used * 100 < $refer * 5"
    msg l03.s3.written >"$CONTAINER_ROOT/hello"
    check "$(msg l03.s3.not_in_image)" \
        [ ! -e "$LAB_STORE/images/$IMAGE/hello" ]
    ours zfs_tool list
    if [ -d "$LAB_STORE/overlay2" ]; then overlay_size_limit; fi

    step 4 "$(msg l03.inodes.title)"
    say "$(msg l03.inodes.why1)"
    say "$(msg l03.inodes.why2)"
    say "$(msg l03.inodes.why3)"
    local dir=$LAB_INODES_DIR n=0 err stats
    mkdir -p "$dir/mnt"
    ours truncate -s 16M "$dir/ext4.img"
    ours mkfs.ext4 -q -N 128 "$dir/ext4.img"
    ours mount -o loop "$dir/ext4.img" "$dir/mnt"
    while [ $n -lt 100 ] && err=$(cp -a "$CONTAINER_ROOT/bin" "$dir/mnt/copy$n" 2>&1); do
        n=$((n + 1))
    done
    say "$(msg l03.inodes.copy $((n + 1)) "$(echo "$err" | head -n 1)")"
    ours df -i "$dir/mnt"
    ours df -h "$dir/mnt"
    # statfs(2), as df reads it: %d free inodes, %f free blocks, %b blocks.
    read -r stats < <(stat -f -c '%d %f %b' "$dir/mnt")
    check "$(msg l03.inodes.check "$stats")" \
        arith "${stats%% *} == 0 && $(echo "$stats" | cut -d ' ' -f 2) * 2 > ${stats##* }"
    say "$(msg l03.inodes.dynamic)"
    say "$(msg l03.inodes.fix)"
    ours umount "$dir/mnt"
    rm -rf "$dir"

    step 5 "$(msg l03.s4.title)"
    ours zfs_tool destroy "$IMAGE" || true
    say "$(msg l03.s4.refused)"
    ours zfs_tool "${X[@]}" destroy "$CONTAINER"
    ours zfs_tool "${X[@]}" destroy "$SNAPSHOT"
    ours zfs_tool "${X[@]}" destroy "$IMAGE"
    lab_finish
}

lab_run lab_steps

#!/usr/bin/env bash
# labs/03-zfs-image.sh - step 03 on its own: an image, a read-only snapshot,
# a copy-on-write clone, on ZFS (or --backend btrfs|overlay).
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

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

    step 4 "$(msg l03.s4.title)"
    ours zfs_tool destroy "$IMAGE" || true
    say "$(msg l03.s4.refused)"
    ours zfs_tool "${X[@]}" destroy "$CONTAINER"
    ours zfs_tool "${X[@]}" destroy "$SNAPSHOT"
    ours zfs_tool "${X[@]}" destroy "$IMAGE"
    lab_finish
}

lab_run lab_steps

#!/usr/bin/env bash
# labs/exercises/03-zfs-image.sh - exercise 03: an image, a read-only snapshot of
# it, and a writable clone that costs almost nothing.
#
# The storage the student used is detected from the file systems at the paths:
#   btrfs    the image is a subvolume; the snapshot a read-only snapshot of it
#            (`btrfs subvolume show`: Parent UUID; `btrfs property get ro`);
#            the clone a writable snapshot of the snapshot; `btrfs filesystem
#            du` shows how much of the clone is its own (Exclusive).
#   zfs      (OpenZFS or zfs-fuse) datasets found by mountpoint with `zfs list`;
#            the clone's `origin` property is the snapshot; USED vs REFER.
#   overlay  the clone is an overlay mount whose lower layer is the image (the
#            kernel never writes a lower layer: that is the snapshot) and whose
#            upper layer holds only what the container changed.
#
# Targets: EX_IMAGE (default /tuna-ex/images/myImage), EX_CLONE (default
# /tuna-ex/containers/myContainer): directories; EX_SNAPSHOT (default:
# btrfs EX_IMAGE@v1.0, zfs DATASET@v1.0, overlay EX_IMAGE).
# Docs: man 8 btrfs-subvolume, man 8 zfs (snapshot, clone, used, referenced),
# Documentation/filesystems/overlayfs.rst.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_IMAGE=${EX_IMAGE:-/tuna-ex/images/myImage}
EX_CLONE=${EX_CLONE:-/tuna-ex/containers/myContainer}
EX_SNAPSHOT=${EX_SNAPSHOT:-}
TAG=v1.0
# A fresh clone owns next to nothing: at most this much, or this share of the image.
SMALL_BYTES=$((1024 * 1024))
SMALL_PERCENT=10
BTRFS_SUBVOLUME_INODE=256    # the root directory of every btrfs subvolume

task() {
    msg ex.task_title 03 "$(msg ex03.title)"
    echo
    msg ex03.task "$TAG" "$TAG" "$TAG" "$TAG" "$TAG" "$TAG" "$EX_IMAGE" "$EX_CLONE" "$EX_IMAGE" "$TAG" "$TAG"
    echo
}
exercise_start "$@"
need_root

# --- the kernel's state, read once ---------------------------------------------------------

# fstype PATH: the type of the file system PATH is on ("" if PATH is missing).
fstype() {
    [ -e "$1" ] || return 0
    findmnt -n -o FSTYPE --target "$1" 2>/dev/null
}

# small BYTES OF_TOTAL: BYTES is "almost nothing" next to OF_TOTAL.
small() {
    [ "$1" -le "$SMALL_BYTES" ] || [ $(($1 * 100)) -le $(($2 * SMALL_PERCENT)) ]
}

# human BYTES: 5128192 -> "4.9MiB".
human() {
    if [ "$1" -lt 1024 ]; then
        echo "$1 bytes"
    else
        numfmt --to=iec-i --suffix=B --format=%.1f "$1" 2>/dev/null || echo "$1 bytes"
    fi
}

# entries DIR: how many names DIR holds.
entries() {
    find "$1" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

BACKEND=''
case "$(fstype "$EX_CLONE")" in
overlay) BACKEND=overlay ;;
esac
if [ -z "$BACKEND" ]; then
    case "$(fstype "$EX_IMAGE")" in
    btrfs) BACKEND=btrfs ;;
    zfs | fuse.zfs) BACKEND=zfs ;;
    '') BACKEND=missing ;;
    *) BACKEND=unknown ;;
    esac
fi

# --- btrfs ----------------------------------------------------------------------------------

# subvolume_field PATH FIELD: a field of `btrfs subvolume show`, e.g. "Parent UUID".
subvolume_field() {
    btrfs subvolume show "$1" 2>/dev/null |
        awk -F':[ \t]*' -v f="$2" '{ sub(/^[ \t]+/, "", $1) } $1 == f { print $2; exit }'
}

is_subvolume() {
    [ "$(stat -c %i "$1" 2>/dev/null)" = "$BTRFS_SUBVOLUME_INODE" ]
}

read_only() {
    [ "$(btrfs property get -ts "$1" ro 2>/dev/null)" = ro=true ]
}

btrfs_image() {
    if ! is_subvolume "$EX_IMAGE"; then
        wrong "$(msg ex03.btrfs_image.1 "$EX_IMAGE") Do: btrfs subvolume create $EX_IMAGE"
    elif [ "$(entries "$EX_IMAGE")" = 0 ]; then
        wrong "$(msg ex03.btrfs_image.2 "$EX_IMAGE")"
    else
        ok "$(msg ex03.btrfs_image.3 "$EX_IMAGE" "$(entries "$EX_IMAGE")")"
    fi
}

btrfs_snapshot() {
    local snap=${EX_SNAPSHOT:-$EX_IMAGE@$TAG}
    if [ ! -e "$snap" ]; then
        wrong "$(msg ex03.btrfs_snapshot.1 "$snap") Do: btrfs subvolume snapshot -r $EX_IMAGE $snap"
    elif ! is_subvolume "$snap" ||
        [ "$(subvolume_field "$snap" "Parent UUID")" != "$(subvolume_field "$EX_IMAGE" UUID)" ]; then
        wrong "$(msg ex03.btrfs_snapshot.2 "$snap" "$EX_IMAGE") Do: btrfs subvolume snapshot -r $EX_IMAGE $snap"
    elif ! read_only "$snap"; then
        wrong "$(msg ex03.btrfs_snapshot.3 "$snap" "$snap") Do: btrfs property set -ts $snap ro true"
    else
        ok "$(msg ex03.btrfs_snapshot.4 "$snap" "$EX_IMAGE")"
    fi
}

btrfs_clone() {
    local snap=${EX_SNAPSHOT:-$EX_IMAGE@$TAG}
    if [ ! -e "$EX_CLONE" ]; then
        wrong "$(msg ex03.btrfs_clone.1 "$EX_CLONE") Do: btrfs subvolume snapshot $snap $EX_CLONE"
    elif ! is_subvolume "$EX_CLONE"; then
        wrong "$(msg ex03.btrfs_clone.2 "$EX_CLONE") Do: btrfs subvolume snapshot $snap $EX_CLONE"
    elif [ "$(subvolume_field "$EX_CLONE" "Parent UUID")" != "$(subvolume_field "$snap" UUID)" ]; then
        wrong "$(msg ex03.btrfs_clone.3 "$EX_CLONE" "$snap" "$(subvolume_field "$EX_CLONE" "Parent UUID")" "$TAG") Do: btrfs subvolume snapshot $snap $EX_CLONE"
    elif read_only "$EX_CLONE"; then
        wrong "$(msg ex03.btrfs_clone.4 "$EX_CLONE") Do: btrfs property set -ts $EX_CLONE ro false"
    else
        ok "$(msg ex03.btrfs_clone.5 "$EX_CLONE" "$snap")"
    fi
}

btrfs_cost() {
    local total exclusive
    read -r total exclusive _ < <(btrfs filesystem du -s --raw "$EX_CLONE" 2>/dev/null | tail -n 1)
    if [ -z "$exclusive" ]; then
        not_checked "$(msg ex03.btrfs_cost.1 "$EX_CLONE")"
    elif small "$exclusive" "$total"; then
        ok "$(msg ex03.btrfs_cost.2 "$(human "$exclusive")" "$(human "$total")")"
    else
        wrong "$(msg ex03.btrfs_cost.3 "$(human "$exclusive")" "$(human "$total")" "$EX_CLONE")"
    fi
}

# --- zfs ------------------------------------------------------------------------------------

# dataset_at PATH: the ZFS file system mounted at PATH.
dataset_at() {
    zfs list -H -t filesystem -o name,mountpoint 2>/dev/null |
        awk -F'\t' -v p="$1" '$2 == p { print $1; exit }'
}

zfs_value() {
    zfs get -Hp -o value "$1" "$2" 2>/dev/null
}

zfs_image() {
    local IMAGE_DS
    IMAGE_DS=$(dataset_at "$EX_IMAGE")
    if [ -z "$IMAGE_DS" ]; then
        wrong "$(msg ex03.zfs_image.1 "$EX_IMAGE") Do: zfs create -o mountpoint=$EX_IMAGE <pool>/images/myImage"
    elif [ "$(entries "$EX_IMAGE")" = 0 ]; then
        wrong "$(msg ex03.zfs_image.2 "$IMAGE_DS")"
    else
        ok "$(msg ex03.zfs_image.3 "$IMAGE_DS" "$(human "$(zfs_value referenced "$IMAGE_DS")")")"
    fi
}

zfs_snapshot() {
    local ds snap
    ds=$(dataset_at "$EX_IMAGE")
    snap=${EX_SNAPSHOT:-$ds@$TAG}
    [ -n "$ds" ] || { not_checked "$(msg ex03.zfs_snapshot.1)"; return 0; }
    if [ "$(zfs list -H -t snapshot -o name "$snap" 2>/dev/null)" = "$snap" ]; then
        ok "$(msg ex03.zfs_snapshot.2 "$snap")"
    else
        wrong "$(msg ex03.zfs_snapshot.3 "$snap" "$(zfs list -H -t snapshot -o name -r "$ds" 2>/dev/null | paste -sd ' ' || echo none)") Do: zfs snapshot $ds@$TAG"
    fi
}

zfs_clone() {
    local ds snap clone origin
    ds=$(dataset_at "$EX_IMAGE")
    snap=${EX_SNAPSHOT:-$ds@$TAG}
    clone=$(dataset_at "$EX_CLONE")
    if [ -z "$clone" ]; then
        wrong "$(msg ex03.zfs_clone.1 "$EX_CLONE") Do: zfs clone -o mountpoint=$EX_CLONE $snap <pool>/containers/myContainer"
        return 0
    fi
    origin=$(zfs_value origin "$clone")
    if [ "$origin" != "$snap" ]; then
        wrong "$(msg ex03.zfs_clone.2 "$clone" "$snap" "$origin") Do: zfs destroy $clone; zfs clone $snap $clone"
    elif [ "$(zfs_value readonly "$clone")" = on ]; then
        wrong "$(msg ex03.zfs_clone.3 "$clone") Do: zfs set readonly=off $clone"
    else
        ok "$(msg ex03.zfs_clone.4 "$clone" "$snap")"
    fi
}

zfs_cost() {
    local clone used refer
    clone=$(dataset_at "$EX_CLONE")
    [ -n "$clone" ] || { not_checked "$(msg ex03.zfs_cost.1)"; return 0; }
    [ "$(zfs_value origin "$clone")" != - ] || { not_checked "$(msg ex03.zfs_cost.2 "$clone")"; return 0; }
    used=$(zfs_value used "$clone") refer=$(zfs_value referenced "$clone")
    if small "$used" "$refer"; then
        ok "$(msg ex03.zfs_cost.3 "$(human "$used")" "$(human "$refer")")"
    else
        wrong "$(msg ex03.zfs_cost.4 "$clone" "$(human "$used")" "$(human "$refer")")"
    fi
}

# --- overlay --------------------------------------------------------------------------------

# overlay_option NAME: lowerdir, upperdir or workdir of the clone's overlay mount.
overlay_option() {
    findmnt -n -o FS-OPTIONS --mountpoint "$EX_CLONE" | tr ',' '\n' | sed -n "s/^$1=//p"
}

overlay_image() {
    if [ ! -d "$EX_IMAGE" ]; then
        wrong "$(msg ex03.overlay_image.1 "$EX_IMAGE")"
    elif [ "$(entries "$EX_IMAGE")" = 0 ]; then
        wrong "$(msg ex03.overlay_image.2 "$EX_IMAGE")"
    else
        ok "$(msg ex03.overlay_image.3 "$EX_IMAGE" "$(entries "$EX_IMAGE")")"
    fi
}

overlay_snapshot() {
    local snap lower upper layer found=0
    snap=$(realpath "${EX_SNAPSHOT:-$EX_IMAGE}")
    upper=$(overlay_option upperdir)
    lower=$(overlay_option lowerdir)
    if [ -n "$upper" ] && [ "$(realpath "$upper")" = "$snap" ]; then
        wrong "$(msg ex03.overlay_snapshot.1 "$snap") Do: mount -t overlay overlay -o lowerdir=$snap,upperdir=UPPER,workdir=WORK $EX_CLONE"
        return 0
    fi
    while read -r layer; do
        [ "$(realpath "$layer" 2>/dev/null)" = "$snap" ] && found=1
    done < <(tr ':' '\n' <<<"$lower")
    if [ "$found" = 1 ]; then
        ok "$(msg ex03.overlay_snapshot.2 "$snap")"
    else
        wrong "$(msg ex03.overlay_snapshot.3 "$snap" "$lower") Do: mount -t overlay overlay -o lowerdir=$snap,upperdir=UPPER,workdir=WORK $EX_CLONE"
    fi
}

overlay_clone() {
    local upper
    upper=$(overlay_option upperdir)
    if [ -z "$upper" ]; then
        wrong "$(msg ex03.overlay_clone.1 "$EX_CLONE") Do: mount -t overlay overlay -o lowerdir=...,upperdir=UPPER,workdir=WORK $EX_CLONE"
    elif findmnt -n -o VFS-OPTIONS --mountpoint "$EX_CLONE" | grep -q '^ro'; then
        wrong "$(msg ex03.overlay_clone.2 "$EX_CLONE") Do: mount -o remount,rw $EX_CLONE"
    else
        ok "$(msg ex03.overlay_clone.3 "$EX_CLONE" "$upper")"
    fi
}

overlay_cost() {
    local upper used image
    upper=$(overlay_option upperdir)
    [ -n "$upper" ] || { not_checked "$(msg ex03.overlay_cost.1)"; return 0; }
    used=$(du -sb "$upper" | cut -f1)
    image=$(du -sb "$(realpath "${EX_SNAPSHOT:-$EX_IMAGE}")" | cut -f1)
    if small "$used" "$image"; then
        ok "$(msg ex03.overlay_cost.2 "$(human "$used")" "$(human "$image")")"
    else
        wrong "$(msg ex03.overlay_cost.3 "$upper" "$(human "$used")" "$(human "$image")")"
    fi
}

# --- the checks: one per part, whatever the backend ----------------------------------------

# for_backend PART: run PART for the detected backend, or say why not.
for_backend() {
    case "$BACKEND" in
    btrfs | zfs | overlay) "${BACKEND}_$1" ;;
    missing) not_checked "$(msg ex03.for_backend.1)" ;;
    *) not_checked "$(msg ex03.for_backend.2 "$(fstype "$EX_IMAGE")")" ;;
    esac
}

test_the_storage_is_zfs_btrfs_or_overlay() {
    case "$BACKEND" in
    btrfs | zfs | overlay) ok "$(msg ex03.the_storage_is_zfs_btrfs_or_overlay.0 "$BACKEND")" ;;
    missing)
        wrong "$(msg ex03.the_storage_is_zfs_btrfs_or_overlay.1 "$EX_IMAGE")" ;;
    *)
        wrong "$(msg ex03.the_storage_is_zfs_btrfs_or_overlay.2 "$EX_IMAGE" "$(fstype "$EX_IMAGE")" "$EX_CLONE")" ;;
    esac
}

test_the_image_has_files() { for_backend image; }
test_the_snapshot_is_read_only() { for_backend snapshot; }
test_the_clone_is_writable() { for_backend clone; }
test_the_clone_costs_almost_nothing() { for_backend cost; }

. "$SHUNIT2"

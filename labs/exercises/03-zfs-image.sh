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
    cat <<EOF
Exercise 03 - an image, a read-only snapshot, a writable clone

Make an image file system with something in it (a static busybox in bin/ will
do), freeze it in a read-only snapshot (tag $TAG), and clone the snapshot into
a writable container file system that costs almost nothing, as the post does
with ZFS. Any of three ways (the checker finds out which you used):

  zfs (the post's: OpenZFS, or zfs-fuse where the kernel has none), in a file:
      truncate -s 256M /var/tmp/tuna-ex.img; zpool create tuna-ex /var/tmp/tuna-ex.img
      zfs create tuna-ex/images; zfs create tuna-ex/images/myImage
      cp ... /tuna-ex/images/myImage/
      zfs snapshot tuna-ex/images/myImage@$TAG
      zfs create tuna-ex/containers
      zfs clone tuna-ex/images/myImage@$TAG tuna-ex/containers/myContainer
  btrfs, on a loop file:
      truncate -s 256M /var/tmp/tuna-ex.img; mkfs.btrfs /var/tmp/tuna-ex.img
      mkdir -p /tuna-ex; mount -o loop /var/tmp/tuna-ex.img /tuna-ex
      mkdir /tuna-ex/images /tuna-ex/containers
      btrfs subvolume create /tuna-ex/images/myImage; cp ... /tuna-ex/images/myImage/
      btrfs subvolume snapshot ... (the snapshot: /tuna-ex/images/myImage@$TAG)
      btrfs subvolume snapshot ... (the clone: /tuna-ex/containers/myContainer)
  overlay: the image is a plain directory, the clone an overlay mount on
      /tuna-ex/containers/myContainer with the image as its lower layer
      (upperdir and workdir beside it, e.g. /tuna-ex/containers/upper, work).
  ours:
      T="bin/03-zfs-image --store /tuna-ex --pool tuna-ex"
      \$T pool create; \$T image create myImage; \$T image populate myImage --busybox
      \$T snapshot myImage@$TAG; \$T clone myImage@$TAG myContainer; \$T list

Think about: which of these commands make something read-only? What does a
clone's USED (zfs) or Exclusive (btrfs filesystem du) count?

Check:   make exercise N=03     (or: labs/exercises/run 03)
Targets: EX_IMAGE=$EX_IMAGE
         EX_CLONE=$EX_CLONE
         EX_SNAPSHOT=(btrfs) $EX_IMAGE@$TAG, (zfs) <image dataset>@$TAG
Undo:    zfs: zpool destroy tuna-ex; btrfs: umount /tuna-ex (then delete the
         file); overlay: umount the clone
EOF
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
        wrong "$EX_IMAGE is a plain directory, not a btrfs subvolume: only a subvolume" \
            "can be snapshotted. Do: btrfs subvolume create $EX_IMAGE"
    elif [ "$(entries "$EX_IMAGE")" = 0 ]; then
        wrong "the image $EX_IMAGE is empty: put something in it first (a static busybox" \
            "in bin/), since a snapshot freezes what is there when it is taken."
    else
        ok "$EX_IMAGE is a btrfs subvolume with $(entries "$EX_IMAGE") entries"
    fi
}

btrfs_snapshot() {
    local snap=${EX_SNAPSHOT:-$EX_IMAGE@$TAG}
    if [ ! -e "$snap" ]; then
        wrong "there is no snapshot $snap (set EX_SNAPSHOT if yours is elsewhere)." \
            "Do: btrfs subvolume snapshot -r $EX_IMAGE $snap"
    elif ! is_subvolume "$snap" ||
        [ "$(subvolume_field "$snap" "Parent UUID")" != "$(subvolume_field "$EX_IMAGE" UUID)" ]; then
        wrong "$snap is not a snapshot of $EX_IMAGE (its Parent UUID in \`btrfs subvolume" \
            "show\` is not the image's UUID): a copy made with cp is not frozen and costs" \
            "the whole image again. Do: btrfs subvolume snapshot -r $EX_IMAGE $snap"
    elif ! read_only "$snap"; then
        wrong "the snapshot $snap is writable (btrfs property get $snap ro: ro=false)." \
            "\`btrfs subvolume snapshot\` without -r makes a writable snapshot; an image" \
            "must be immutable, as the post says of snapshots (C6), or a container could" \
            "change what every later container starts from. Take it again with -r (or make" \
            "this one read-only). Do: btrfs property set -ts $snap ro true"
    else
        ok "$snap is a read-only snapshot of $EX_IMAGE"
    fi
}

btrfs_clone() {
    local snap=${EX_SNAPSHOT:-$EX_IMAGE@$TAG}
    if [ ! -e "$EX_CLONE" ]; then
        wrong "there is no clone $EX_CLONE. A btrfs clone is a writable snapshot of the" \
            "read-only one. Do: btrfs subvolume snapshot $snap $EX_CLONE"
    elif ! is_subvolume "$EX_CLONE"; then
        wrong "$EX_CLONE is a plain directory, not a snapshot: a copy, which costs the" \
            "whole image again. Do: btrfs subvolume snapshot $snap $EX_CLONE"
    elif [ "$(subvolume_field "$EX_CLONE" "Parent UUID")" != "$(subvolume_field "$snap" UUID)" ]; then
        wrong "$EX_CLONE is not a snapshot of $snap (its Parent UUID is" \
            "$(subvolume_field "$EX_CLONE" "Parent UUID")): clone the frozen $TAG, so every" \
            "container starts from the same image. Do: btrfs subvolume snapshot $snap $EX_CLONE"
    elif read_only "$EX_CLONE"; then
        wrong "the clone $EX_CLONE is read-only: a container must be able to write. It" \
            "was taken with -r; take it again without. Do: btrfs property set -ts $EX_CLONE ro false"
    else
        ok "$EX_CLONE is a writable snapshot of $snap"
    fi
}

btrfs_cost() {
    local total exclusive
    read -r total exclusive _ < <(btrfs filesystem du -s --raw "$EX_CLONE" 2>/dev/null | tail -n 1)
    if [ -z "$exclusive" ]; then
        not_checked "btrfs filesystem du could not read $EX_CLONE"
    elif small "$exclusive" "$total"; then
        ok "the clone shares its data: Exclusive $(human "$exclusive") of $(human "$total") (btrfs filesystem du)"
    else
        wrong "$(human "$exclusive") of the clone's $(human "$total") is its own" \
            "(Exclusive in btrfs filesystem du -s $EX_CLONE): it does not share the" \
            "image's blocks, as a snapshot does until something is written."
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
        wrong "$EX_IMAGE is on zfs but is not a dataset's mountpoint: make the image its" \
            "own file system. Do: zfs create -o mountpoint=$EX_IMAGE <pool>/images/myImage"
    elif [ "$(entries "$EX_IMAGE")" = 0 ]; then
        wrong "the image $IMAGE_DS is empty: put something in it before the snapshot."
    else
        ok "the image is the dataset $IMAGE_DS, REFER $(human "$(zfs_value referenced "$IMAGE_DS")")"
    fi
}

zfs_snapshot() {
    local ds snap
    ds=$(dataset_at "$EX_IMAGE")
    snap=${EX_SNAPSHOT:-$ds@$TAG}
    [ -n "$ds" ] || { not_checked "no image dataset"; return 0; }
    if [ "$(zfs list -H -t snapshot -o name "$snap" 2>/dev/null)" = "$snap" ]; then
        ok "$snap exists (a ZFS snapshot is read-only by nature)"
    else
        wrong "there is no snapshot $snap (the image's snapshots:" \
            "$(zfs list -H -t snapshot -o name -r "$ds" 2>/dev/null | paste -sd ' ' || echo none))." \
            "Do: zfs snapshot $ds@$TAG"
    fi
}

zfs_clone() {
    local ds snap clone origin
    ds=$(dataset_at "$EX_IMAGE")
    snap=${EX_SNAPSHOT:-$ds@$TAG}
    clone=$(dataset_at "$EX_CLONE")
    if [ -z "$clone" ]; then
        wrong "no ZFS dataset is mounted at $EX_CLONE." \
            "Do: zfs clone -o mountpoint=$EX_CLONE $snap <pool>/containers/myContainer"
        return 0
    fi
    origin=$(zfs_value origin "$clone")
    if [ "$origin" != "$snap" ]; then
        wrong "$clone is not a clone of $snap: its origin is '$origin' (a dataset made" \
            "with zfs create and filled by copying has none, and costs the whole image)." \
            "Do: zfs destroy $clone; zfs clone $snap $clone"
    elif [ "$(zfs_value readonly "$clone")" = on ]; then
        wrong "the clone $clone is read-only (readonly=on): a container must be able to" \
            "write. Do: zfs set readonly=off $clone"
    else
        ok "$clone is a writable clone of $snap"
    fi
}

zfs_cost() {
    local clone used refer
    clone=$(dataset_at "$EX_CLONE")
    [ -n "$clone" ] || { not_checked "no clone dataset"; return 0; }
    [ "$(zfs_value origin "$clone")" != - ] || { not_checked "$clone is not a clone"; return 0; }
    used=$(zfs_value used "$clone") refer=$(zfs_value referenced "$clone")
    if small "$used" "$refer"; then
        ok "USED $(human "$used"), REFER $(human "$refer"): the clone costs almost nothing (C22)"
    else
        wrong "the clone $clone USES $(human "$used") of its REFER $(human "$refer"): it" \
            "does not share the snapshot's blocks (USED counts only what is its own)."
    fi
}

# --- overlay --------------------------------------------------------------------------------

# overlay_option NAME: lowerdir, upperdir or workdir of the clone's overlay mount.
overlay_option() {
    findmnt -n -o FS-OPTIONS --mountpoint "$EX_CLONE" | tr ',' '\n' | sed -n "s/^$1=//p"
}

overlay_image() {
    if [ ! -d "$EX_IMAGE" ]; then
        wrong "there is no image directory $EX_IMAGE."
    elif [ "$(entries "$EX_IMAGE")" = 0 ]; then
        wrong "the image $EX_IMAGE is empty: put something in it (a static busybox in bin/)."
    else
        ok "$EX_IMAGE holds $(entries "$EX_IMAGE") entries"
    fi
}

overlay_snapshot() {
    local snap lower upper layer found=0
    snap=$(realpath "${EX_SNAPSHOT:-$EX_IMAGE}")
    upper=$(overlay_option upperdir)
    lower=$(overlay_option lowerdir)
    if [ -n "$upper" ] && [ "$(realpath "$upper")" = "$snap" ]; then
        wrong "the image $snap is the clone's upperdir: every write in the container goes" \
            "into the image itself. The image must be a lower layer (read-only to" \
            "overlay), with an empty directory of its own as upperdir." \
            "Do: mount -t overlay overlay -o lowerdir=$snap,upperdir=UPPER,workdir=WORK $EX_CLONE"
        return 0
    fi
    while read -r layer; do
        [ "$(realpath "$layer" 2>/dev/null)" = "$snap" ] && found=1
    done < <(tr ':' '\n' <<<"$lower")
    if [ "$found" = 1 ]; then
        ok "the image $snap is a lower layer of the clone: overlay never writes to it"
    else
        wrong "the image $snap is not among the clone's lower layers ($lower)." \
            "Do: mount -t overlay overlay -o lowerdir=$snap,upperdir=UPPER,workdir=WORK $EX_CLONE"
    fi
}

overlay_clone() {
    local upper
    upper=$(overlay_option upperdir)
    if [ -z "$upper" ]; then
        wrong "the overlay at $EX_CLONE has no upperdir, so it is read-only: a container" \
            "must be able to write. Give it an upper and a work directory (same file" \
            "system, both empty). Do: mount -t overlay overlay -o lowerdir=...,upperdir=UPPER,workdir=WORK $EX_CLONE"
    elif findmnt -n -o VFS-OPTIONS --mountpoint "$EX_CLONE" | grep -q '^ro'; then
        wrong "the overlay at $EX_CLONE is mounted read-only. Do: mount -o remount,rw $EX_CLONE"
    else
        ok "$EX_CLONE is a writable overlay (upperdir $upper)"
    fi
}

overlay_cost() {
    local upper used image
    upper=$(overlay_option upperdir)
    [ -n "$upper" ] || { not_checked "no upper layer"; return 0; }
    used=$(du -sb "$upper" | cut -f1)
    image=$(du -sb "$(realpath "${EX_SNAPSHOT:-$EX_IMAGE}")" | cut -f1)
    if small "$used" "$image"; then
        ok "the upper layer holds $(human "$used"), the image $(human "$image"): the clone costs almost nothing"
    else
        wrong "the upper layer $upper holds $(human "$used") for an image of $(human "$image"):" \
            "it should hold only what the container changed (copy-up copies a whole file" \
            "on its first write)."
    fi
}

# --- the checks: one per part, whatever the backend ----------------------------------------

# for_backend PART: run PART for the detected backend, or say why not.
for_backend() {
    case "$BACKEND" in
    btrfs | zfs | overlay) "${BACKEND}_$1" ;;
    missing) not_checked "no image yet" ;;
    *) not_checked "the image is on $(fstype "$EX_IMAGE")" ;;
    esac
}

test_the_storage_is_zfs_btrfs_or_overlay() {
    case "$BACKEND" in
    btrfs | zfs | overlay) ok "the image is on $BACKEND" ;;
    missing)
        wrong "there is no image at $EX_IMAGE (set EX_IMAGE if yours is elsewhere): make" \
            "it as the task says." ;;
    *)
        wrong "$EX_IMAGE is on $(fstype "$EX_IMAGE"), which has no snapshots or clones;" \
            "and $EX_CLONE is not an overlay mount. Put the image on zfs or btrfs, or" \
            "mount the clone as an overlay of it (see the task)." ;;
    esac
}

test_the_image_has_files() { for_backend image; }
test_the_snapshot_is_read_only() { for_backend snapshot; }
test_the_clone_is_writable() { for_backend clone; }
test_the_clone_costs_almost_nothing() { for_backend cost; }

. "$SHUNIT2"

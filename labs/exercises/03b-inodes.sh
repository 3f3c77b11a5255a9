#!/usr/bin/env bash
# labs/exercises/03b-inodes.sh - exercise 03b: a file system out of inodes
# with its space free (lesson 03b, the inode limit).
#
# Checks, by reading /proc/self/mountinfo, /sys/block/loopN/loop and
# statfs(2) (stat -f, what df reads) only:
#   something is mounted at EX_INODES_DIR, from a loop device on a file
#   it is ext2/3/4, whose inodes are fixed at mkfs time (xfs, btrfs make
#   them as files need them; a tmpfs has no device to make it on)
#   no inode is free (statfs f_ffree 0: df -i says 100%)
#   most of its blocks are free (f_bfree): the inodes ran out, not the space
#
# Target: EX_INODES_DIR (default /mnt/tuna-inodes).
# Docs: man 8 mkfs.ext4 (-N, -i), man 2 statfs, man 8 losetup, man 1 df;
# kernel Documentation/filesystems/ext4/overview.rst (inode table).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_INODES_DIR=${EX_INODES_DIR:-/mnt/tuna-inodes}
ENOUGH_FREE_PERCENT=50     # the lesson's 16M ext4 with 128 inodes keeps ~90% free

task() {
    msg ex.task_title 03b "$(msg ex03b.title)"
    echo
    msg ex03b.task "$EX_INODES_DIR" "$EX_INODES_DIR" "$EX_INODES_DIR" "$EX_INODES_DIR" \
        "$EX_INODES_DIR" "$EX_INODES_DIR" "$EX_INODES_DIR"
    echo
}
exercise_start "$@"
need_root

# --- the kernel's state, read once -----------------------------------------------------------
# mountinfo: field 5 the mount point, after "-" the type and the source.
# The last mount there is the one a path reaches.
read -r FSTYPE SOURCE < <(awk -v m="$EX_INODES_DIR" '$5 == m {
    for (i = 7; $i != "-"; i++);
    t = $(i + 1); s = $(i + 2) } END { if (t != "") print t, s }' /proc/self/mountinfo) || true
FSTYPE=${FSTYPE:-} SOURCE=${SOURCE:-}
BACKING=''
if [[ $SOURCE == /dev/loop* ]]; then
    BACKING=$(cat "/sys/block/${SOURCE#/dev/}/loop/backing_file" 2>/dev/null)
fi
# statfs(2): %c inodes, %d free inodes, %b blocks, %f free blocks.
STATFS=''
[ -n "$FSTYPE" ] && STATFS=$(stat -f -c '%c %d %b %f' "$EX_INODES_DIR" 2>/dev/null)
read -r FILES FFREE BLOCKS BFREE <<<"${STATFS:-0 0 0 0}"

# --- the checks --------------------------------------------------------------------------------

test_a_file_system_is_mounted_there() {
    if [ -n "$FSTYPE" ]; then
        ok "$(msg ex03b.mounted.1 "$EX_INODES_DIR" "$FSTYPE" "$SOURCE")"
    else
        wrong "$(msg ex03b.mounted.2 "$EX_INODES_DIR")" \
            "Do: mount -o loop /var/tmp/tuna-inodes.img $EX_INODES_DIR"
    fi
}

test_it_is_on_a_loop_device() {
    [ -n "$FSTYPE" ] || { not_checked "$(msg ex03b.loop.0)"; return 0; }
    if [ -n "$BACKING" ]; then
        ok "$(msg ex03b.loop.1 "$SOURCE" "$BACKING")"
    else
        wrong "$(msg ex03b.loop.2 "$EX_INODES_DIR" "$SOURCE")" \
            "Do: truncate -s 16M /var/tmp/tuna-inodes.img; mkfs.ext4 -q -N 128 /var/tmp/tuna-inodes.img"
    fi
}

test_its_inodes_are_fixed_when_it_is_made() {
    [ -n "$FSTYPE" ] || { not_checked "$(msg ex03b.fixed.0)"; return 0; }
    case "$FSTYPE" in
    ext2 | ext3 | ext4) ok "$(msg ex03b.fixed.1 "$FSTYPE" "$FILES")" ;;
    xfs | btrfs | zfs | fuse.zfs) wrong "$(msg ex03b.fixed.2 "$FSTYPE")" \
        "Do: umount $EX_INODES_DIR; mkfs.ext4 -q -N 128 /var/tmp/tuna-inodes.img" ;;
    tmpfs) wrong "$(msg ex03b.fixed.3)" \
        "Do: umount $EX_INODES_DIR; mkfs.ext4 -q -N 128 /var/tmp/tuna-inodes.img" ;;
    *) wrong "$(msg ex03b.fixed.4 "$FSTYPE")" \
        "Do: umount $EX_INODES_DIR; mkfs.ext4 -q -N 128 /var/tmp/tuna-inodes.img" ;;
    esac
}

test_no_inode_is_free() {
    [ -n "$FSTYPE" ] || { not_checked "$(msg ex03b.inodes.0)"; return 0; }
    if [ "$FFREE" -eq 0 ]; then
        ok "$(msg ex03b.inodes.1 "$FILES")"
    elif [ "$BFREE" -eq 0 ] || [ $((BFREE * 100)) -lt $((BLOCKS * 5)) ]; then
        wrong "$(msg ex03b.inodes.2 "$FFREE" "$FILES" "$BFREE" "$BLOCKS")" \
            "Do: rm -rf $EX_INODES_DIR/*; i=0; while touch $EX_INODES_DIR/f\$i; do i=\$((i+1)); done"
    else
        wrong "$(msg ex03b.inodes.3 "$FFREE" "$FILES")" \
            "Do: i=0; while touch $EX_INODES_DIR/f\$i; do i=\$((i+1)); done; df -i $EX_INODES_DIR"
    fi
}

test_most_blocks_are_free() {
    if [ -z "$FSTYPE" ] || [ "$BLOCKS" -le 0 ]; then
        not_checked "$(msg ex03b.blocks.0)"
        return 0
    fi
    local percent=$((BFREE * 100 / BLOCKS))
    if [ "$percent" -ge "$ENOUGH_FREE_PERCENT" ]; then
        ok "$(msg ex03b.blocks.1 "$BFREE" "$BLOCKS" "$percent")"
    else
        wrong "$(msg ex03b.blocks.2 "$BFREE" "$BLOCKS" "$percent")" \
            "Do: rm -rf $EX_INODES_DIR/*; i=0; while touch $EX_INODES_DIR/f\$i; do i=\$((i+1)); done"
    fi
}

. "$SHUNIT2"

#!/usr/bin/env bash
# labs/measure/cow-write-bench.sh - what does the first write to an image's
# file cost inside a fresh container, and the second?  The post's claims
# C8 (CoW: a write to an existing block costs more), C14 (overlay/AUFS copy
# the WHOLE file up on the first write), C16 (so a big file takes longer)
# and C17 (only the first write copies).
#
# An image with two files of random bytes, 1M and 100M, is snapshotted; for
# each run a fresh container is cloned from it and, in each file, one 4 KiB
# block in the middle is written twice (the second time the next block),
# each write being open(O_RDWR) + pwrite + fsync + close, timed from inside
# one process by probe.c (a process start costs more than the write here):
#
#   zfs           03-zfs-image --backend zfs clone (zfs-fuse here): the
#                 clone shares every block; a write allocates a new one
#   btrfs         03-zfs-image --backend btrfs clone (a snapshot): same
#   overlay       03-zfs-image --backend overlay clone: its layers live in a
#                 tmpfs, so the copy-up's fsync costs nothing
#   overlay-ext4  a raw `mount -t overlay` whose layers live on ext4 on a
#                 loop file, as Docker keeps /var/lib/docker on a disk
#   devicemapper  03-zfs-image --backend devicemapper clone (a thin snapshot,
#                 where the kernel has device-mapper): the first write to a
#                 shared 64K block gets a new block, the old one copied in
#                 first (the write covers 4K of it)
#
# "open" is where overlayfs copies the file up (the whole file, then fsync);
# "space" is what the container holds after the first write: the upper
# layer's size (du) on overlay, the exclusive bytes (btrfs filesystem du) on
# btrfs, the clone's USED on zfs (zfs-fuse updates it at the next
# transaction group: it may still show the clone's own metadata only), the
# pool's newly used data blocks on devicemapper (dmsetup status).
# Sizes are interleaved within each run; figures are medians.  A
# measurement, not a test: it always exits 0 once it has measured.
#
# Usage: sudo labs/measure/cow-write-bench.sh [--runs N] [--quick]
#            [--backends "zfs btrfs overlay overlay-ext4 devicemapper"] [--sizes "1M 100M"]
set -eu
# shellcheck source=labs/measure/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_NAME=cow-write-bench
RUNS=10
MIN_RUNS=1
BACKENDS="zfs btrfs overlay overlay-ext4 devicemapper"
SIZES="1M 100M"
POOL_SIZE=512M           # the 101M image, clones, and room to spare
BLOCK=4096               # one page, one block of every backend here

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:-}; shift ;;
    --backends) BACKENDS=${2:-}; shift ;;
    --sizes) SIZES=${2:-}; shift ;;
    --quick) RUNS=1 SIZES=1M ;;
    -h | --help) bench_help "$0" ;;
    *) bench_usage_error "unknown option '$1'" ;;
    esac
    shift
done
bench_init cow-write-bench
need_number --runs "$RUNS" "$MIN_RUNS"
need_root "pools, mounts"
need_tuna 03-zfs-image
build_probe
TOOL=$TUNA_BIN/03-zfs-image

# make_files DIR: the image's two files (and their sizes' names).
make_files() {
    local size
    for size in $SIZES; do
        head -c "$(numfmt --from=iec "$size")" /dev/urandom >"$1/f$size"
    done
    sync
}

# --- the backends: setup BACKEND, clone BACKEND NAME (prints the container's
# directory), space BACKEND NAME, destroy BACKEND NAME --------------------------

setup() {
    local b=$1 device=()
    if [ "$b" = overlay-ext4 ]; then
        command -v mkfs.ext4 >/dev/null || { echo "needs mkfs.ext4" >"$WORK/setup.log"; return 1; }
        truncate -s "$POOL_SIZE" "$WORK/ext4.img" &&
            mkfs.ext4 -q -F "$WORK/ext4.img" >"$WORK/setup.log" 2>&1 &&
            mkdir -p "$WORK/ext4" &&
            mount -o loop "$WORK/ext4.img" "$WORK/ext4" 2>>"$WORK/setup.log" || return 1
        bench_on_exit umount "$WORK/ext4"
        mkdir "$WORK/ext4/image" && make_files "$WORK/ext4/image"
        return
    fi
    # overlay's layers on a tmpfs, as the tables say (pool create would
    # choose an XFS where the kernel's has quota).
    if [ "$b" = overlay ]; then device=(--fs tmpfs); else device=(--device "$WORK/$b.img"); fi
    "$TOOL" --backend "$b" --store "$WORK/$b" --pool "cow$$$b" pool create \
        --size "$POOL_SIZE" "${device[@]}" >"$WORK/setup.log" 2>&1 || return 1
    bench_on_exit "$TOOL" --store "$WORK/$b" pool destroy
    "$TOOL" --store "$WORK/$b" image create img &&
        make_files "$WORK/$b/images/img" &&
        "$TOOL" --store "$WORK/$b" snapshot img@v1
}

clone() {
    local b=$1 c=$2 d
    if [ "$b" = overlay-ext4 ]; then
        d=$WORK/ext4/$c
        mkdir -p "$d/diff" "$d/work" "$d/merged"
        mount -t overlay overlay \
            -o "lowerdir=$WORK/ext4/image,upperdir=$d/diff,workdir=$d/work" "$d/merged"
        echo "$d/merged"
    else
        "$TOOL" --store "$WORK/$b" clone img@v1 "$c"
        [ "$b" = devicemapper ] && pool_blocks >"$WORK/blocks.$c"
        echo "$WORK/$b/containers/$c"
    fi
}

# upper_of MOUNTPOINT: the upperdir= of the overlay mounted there.
upper_of() {
    awk -v m="$1" '$5 == m { n = split($NF, o, ",");
        for (i = 1; i <= n; i++) if (o[i] ~ /^upperdir=/) { sub(/^upperdir=/, "", o[i]); print o[i] } }' \
        /proc/self/mountinfo
}

# pool_blocks: the devicemapper pool's used data blocks (64K each).
pool_blocks() {
    dmsetup status "cow$$devicemapper-pool" | awk '{ split($6, u, "/"); print u[1] }'
}

space() {
    local b=$1 dir=$2
    case $b in
    devicemapper) echo $((($(pool_blocks) - $(cat "$WORK/blocks.${dir##*/}")) * 65536)) ;;
    overlay | overlay-ext4) du -sB1 "$(upper_of "$dir")" | cut -f1 ;;
    btrfs) btrfs filesystem du -s --raw "$dir" | awk 'NR == 2 { print $2 }' ;;
    zfs) zfs get -Hp -o value used "cow$$zfs/containers/${dir##*/}" ;;
    esac
}

destroy() {
    local b=$1 c=$2 i
    if [ "$b" = overlay-ext4 ]; then
        umount "$WORK/ext4/$c/merged" && rm -rf "${WORK:?}/ext4/$c"
        return
    fi
    # zfs-fuse says "dataset is busy" for a moment after a write: retry.
    for i in $(seq 1 50); do
        "$TOOL" --store "$WORK/$b" destroy "$c" 2>/dev/null && return 0
        sleep 0.2
    done
    "$TOOL" --store "$WORK/$b" destroy "$c"
}

# --- measure ---------------------------------------------------------------------
machine_line
printf 'backend\tfile\twrite\topen us\twrite us\tfsync us\ttotal us\tspace after\n' >"$WORK/table"
: >"$WORK/chart"
measured=0
for b in $BACKENDS; do
    case $b in zfs) need=zpool ;; btrfs) need=mkfs.btrfs ;; devicemapper) need=dmsetup ;; *) need=mount ;; esac
    if ! command -v "$need" >/dev/null || ! setup "$b"; then
        echo "$b: cannot make a store here, skipped: $(tail -1 "$WORK/setup.log" 2>/dev/null)"
        continue
    fi
    measured=1
    for size in $SIZES; do : >"$WORK/first.$b.$size" && : >"$WORK/second.$b.$size"; done
    for ((r = 1; r <= RUNS; r++)); do
        c=c$r
        dir=$(clone "$b" "$c")
        # Rotate the sizes' order every run (interleaving).
        read -r -a order <<<"$SIZES"
        [ $((r % 2)) = 0 ] && read -r -a order <<<"$(printf '%s\n' "${order[@]}" | tac | tr '\n' ' ')"
        for size in "${order[@]}"; do
            offset=$(($(numfmt --from=iec "$size") / 2))
            "$PROBE" write "$dir/f$size" "$offset" "$BLOCK" >>"$WORK/first.$b.$size"
            [ "$r" = 1 ] && space "$b" "$dir" >"$WORK/space.$b.$size"
            "$PROBE" write "$dir/f$size" "$((offset + BLOCK))" "$BLOCK" >>"$WORK/second.$b.$size"
        done
        destroy "$b" "$c"
    done
    for size in $SIZES; do
        for which in first second; do
            f=$WORK/$which.$b.$size
            for col in 1 2 3 4; do awk -v c="$col" '{ print $c }' "$f" >"$f.$col"; done
            sp=-
            [ "$which" = first ] && sp=$(numfmt --to=iec "$(cat "$WORK/space.$b.$size")")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$size" "$which" \
                "$(calc "$(median "$f.1")" 0)" "$(calc "$(median "$f.2")" 0)" \
                "$(calc "$(median "$f.3")" 0)" "$(calc "$(median "$f.4")" 0)" \
                "$sp" >>"$WORK/table"
            printf '%s %s %s\t%s\n' "$b" "$size" "$which" "$(calc "$(median "$f.4")" 0)" >>"$WORK/chart"
        done
    done
done
[ "$measured" = 1 ] || bench_skip "no backend could make a store"
table "A 4 KiB write (open+pwrite+fsync+close) in a fresh clone: medians of $RUNS runs (microseconds)" \
    <"$WORK/table"
bar_chart "total microseconds (first write copies; second does not):" us <"$WORK/chart"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0

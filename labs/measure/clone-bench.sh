#!/usr/bin/env bash
# labs/measure/clone-bench.sh - is a clone O(1)?  The post's claim C9/C22:
# cloning a snapshot costs almost nothing, whatever the image's size.
#
# For each backend (zfs, btrfs, overlay, and devicemapper where the kernel
# has it: --backends "... devicemapper") and each image size (10M, 100M,
# 1G: ls, cat, sh and their libraries, plus one file of random bytes to make
# up the size), the image is snapshotted once, then cloned RUNS times, timed
# three ways:
#
#   tool   03-zfs-image clone IMG@v1 CONTAINER
#   raw    the backend's own operation, nothing around it:
#            zfs      zfs clone POOL/images/IMG@v1 POOL/containers/C
#            btrfs    btrfs subvolume snapshot STORE/images/IMG@v1 STORE/containers/C
#            overlay  mount -t overlay -o lowerdir=SNAPSHOT-LAYER,upperdir=..,workdir=.. M
#                     (its directories made beforehand, untimed)
#            devicemapper  dmsetup message POOL 0 "create_snap ID SNAP",
#                     dmsetup create, mount: a device and a mount per container
#   cp -a  a full copy of the image on the same backend: what a clone saves
#          (CP_RUNS times, default once: a 1G copy takes seconds)
#
# Each clone is destroyed (untimed) before the next.  Figures are medians of
# wall time read with bash's $EPOCHREALTIME around the command.  The issue's
# targets: a 1G clone takes at most 1.5x a 10M clone on every backend, and
# the tool at most 1.2x the raw operation.  A measurement, not a test: it
# prints whether the targets hold and exits 0 once measured.
#
# Usage: sudo labs/measure/clone-bench.sh [--runs N] [--cp-runs N]
#            [--backends "zfs btrfs overlay"] [--sizes "10M 100M 1G"]
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TUNA_ROOT=$(cd "$HERE/../.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
TOOL=$TUNA_BIN/03-zfs-image
RUNS=11
CP_RUNS=1
MIN_RUNS=3
BACKENDS="zfs btrfs overlay"
SIZES="10M 100M 1G"
POOL_SIZE=3G             # the 1G image, its cp -a copy, and room to spare
TARGET_SIZE_RATIO=1.5    # clone(1G) <= 1.5 x clone(10M)
TARGET_OVERHEAD=1.2      # tool <= 1.2 x raw

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --cp-runs) CP_RUNS=${2:?--cp-runs needs a number}; shift ;;
    --backends) BACKENDS=${2:?--backends needs a list}; shift ;;
    --sizes) SIZES=${2:?--sizes needs a list}; shift ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//; /^set -eu/d'; exit 0 ;;
    *) echo "clone-bench: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
for n in "$RUNS" "$CP_RUNS"; do
    case "$n" in '' | *[!0-9]*) echo "clone-bench: '$n': not a number" >&2; exit 2 ;; esac
done
if [ "$RUNS" -lt "$MIN_RUNS" ]; then
    echo "clone-bench: --runs $RUNS: a median needs at least $MIN_RUNS runs" >&2
    exit 2
fi
[ "$(id -u)" = 0 ] || { echo "clone-bench: needs root (pools, mounts)" >&2; exit 1; }
[ -x "$TOOL" ] || { echo "clone-bench: build first: make bin/03-zfs-image" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/tuna-clone-bench.XXXXXX)
STORES=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    local s
    for s in "${STORES[@]}"; do
        [ -f "$s/.tuna-store" ] && "$TOOL" --store "$s" pool destroy >/dev/null 2>&1
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# now_us: microseconds, from bash's own clock (no process started).
now_us() {
    local t=${EPOCHREALTIME/./}
    echo "$t"
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bytes SIZE: "10M" -> 10485760, as the tool reads sizes (K = 1024).
bytes() {
    numfmt --from=iec "$1"
}

# make_image STORE NAME SIZE: ls cat sh and their libraries, then random
# bytes up to SIZE, then the snapshot NAME@v1.
make_image() {
    local store=$1 name=$2 size=$3 have want
    "$TOOL" --store "$store" image create "$name"
    "$TOOL" --store "$store" image populate "$name" --from-host ls cat sh
    have=$(du -sB1 "$store/images/$name" | cut -f1)
    want=$(bytes "$size")
    if [ "$want" -gt "$have" ]; then
        head -c "$((want - have))" /dev/urandom >"$store/images/$name/data"
    fi
    sync
    "$TOOL" --store "$store" snapshot "$name@v1"
}

# raw_clone BACKEND STORE POOL IMAGE CONTAINER: the backend's own clone,
# timed; prints microseconds.  raw_destroy undoes it, untimed.
raw_clone() {
    local backend=$1 store=$2 pool=$3 image=$4 c=$5 t0 t1 layer d
    case $backend in
    zfs)
        t0=$(now_us)
        zfs clone "$pool/images/$image@v1" "$pool/containers/$c"
        t1=$(now_us) ;;
    btrfs)
        t0=$(now_us)
        btrfs subvolume snapshot "$store/images/$image@v1" "$store/containers/$c" >/dev/null
        t1=$(now_us) ;;
    devicemapper)
        # The snapshot's thin id and the pool, from the tool's record and dmsetup.
        local snap_id pool_dev sectors id=900   # deleted again before the next
        snap_id=$(sed -n 's/^device_id=//p' "$store/devicemapper/metadata/$image@v1")
        pool_dev=$(dmsetup info -c --noheadings -o major,minor "$pool-pool" | tr -d ' ')
        sectors=$(dmsetup table "$pool-pool" | cut -d ' ' -f 2)
        d=$WORK/raw-$c
        mkdir -p "$d"
        echo "$id" >"$WORK/raw-$c.id"
        t0=$(now_us)
        dmsetup message "$pool-pool" 0 "create_snap $id $snap_id" &&
            dmsetup create "$pool-raw-$c" --table "0 $sectors thin $pool_dev $id" &&
            mount "/dev/mapper/$pool-raw-$c" "$d"
        t1=$(now_us) ;;
    overlay)
        layer=$(readlink -f "$store/layerdb/snapshots/$image@v1")
        d=$WORK/raw-$c
        mkdir -p "$d/diff" "$d/work" "$d/merged"
        t0=$(now_us)
        mount -t overlay overlay \
            -o "lowerdir=$layer/diff,upperdir=$d/diff,workdir=$d/work" "$d/merged"
        t1=$(now_us) ;;
    esac
    echo $((t1 - t0))
}

raw_destroy() {
    local backend=$1 store=$2 pool=$3 c=$4 i
    case $backend in
    zfs)
        # zfs-fuse: "dataset is busy" for a moment after a clone.
        for i in $(seq 1 600); do
            zfs destroy "$pool/containers/$c" 2>/dev/null && return 0
            sleep 0.05
        done
        zfs destroy "$pool/containers/$c" ;;
    btrfs) btrfs subvolume delete "$store/containers/$c" >/dev/null ;;
    overlay) umount "$WORK/raw-$c/merged" && rm -rf "$WORK/raw-$c" ;;
    devicemapper)
        umount "$WORK/raw-$c" && dmsetup remove "$pool-raw-$c" &&
            dmsetup message "$pool-pool" 0 "delete $(cat "$WORK/raw-$c.id")" &&
            rm -rf "$WORK/raw-$c" "$WORK/raw-$c.id" ;;
    esac
}

# tool_destroy STORE CONTAINER: untimed.  A mount namespace made elsewhere
# while the clone was mounted (any container started meanwhile) holds a copy
# of its mount and keeps zfs-fuse's dataset "busy" until it goes: retry.
tool_destroy() {
    local i
    for i in $(seq 1 30); do
        "$TOOL" --store "$1" destroy "$2" 2>/dev/null && return 0
        sleep 1
    done
    "$TOOL" --store "$1" destroy "$2"
}

# tool_clone STORE IMAGE CONTAINER: prints microseconds.
tool_clone() {
    local t0 t1
    t0=$(now_us)
    "$TOOL" --store "$1" clone "$2@v1" "$3"
    t1=$(now_us)
    echo $((t1 - t0))
}

# cp_copy STORE IMAGE: a full copy into the store; prints microseconds.  On
# devicemapper STORE is a small tmpfs of mount points: the copy goes into a
# fresh image's thin device instead (made and destroyed untimed).
cp_copy() {
    local store=$1 image=$2 t0 t1 dest=$1/containers/cp-copy
    if grep -q '^backend=devicemapper' "$store/.tuna-store"; then
        "$TOOL" --store "$store" image create cp-copy >/dev/null
        dest=$store/images/cp-copy
    fi
    rm -rf "$store/containers/cp-copy"
    t0=$(now_us)
    cp -a "$store/images/$image/." "$dest"
    sync
    t1=$(now_us)
    if [ "$dest" = "$store/images/cp-copy" ]; then
        "$TOOL" --store "$store" destroy cp-copy >/dev/null
    else
        rm -rf "$dest"
    fi
    echo $((t1 - t0))
}

printf '%-8s %-6s %12s %12s %10s %12s\n' backend size "tool ms" "raw ms" "tool/raw" "cp -a ms"
declare -A TOOL_MS RAW_MS
verdicts=()
for backend in $BACKENDS; do
    store=$WORK/$backend
    pool=bench$$$backend
    device=()
    # overlay's layers on a tmpfs, as the tables say (pool create would
    # choose an XFS where the kernel's has quota).
    if [ "$backend" = overlay ]; then device=(--fs tmpfs); else device=(--device "$WORK/$backend.img"); fi
    if ! "$TOOL" --backend "$backend" --store "$store" --pool "$pool" pool create \
        --size "$POOL_SIZE" "${device[@]}"; then
        echo "clone-bench: $backend: no pool (skipped)" >&2
        continue
    fi
    STORES+=("$store")
    for size in $SIZES; do
        image=img$size
        make_image "$store" "$image" "$size"
        : >"$WORK/tool" && : >"$WORK/raw" && : >"$WORK/cp"
        for i in $(seq 1 "$RUNS"); do
            tool_clone "$store" "$image" "t$size$i" >>"$WORK/tool"
            tool_destroy "$store" "t$size$i"
            raw_clone "$backend" "$store" "$pool" "$image" "r$size$i" >>"$WORK/raw"
            raw_destroy "$backend" "$store" "$pool" "r$size$i"
        done
        for i in $(seq 1 "$CP_RUNS"); do cp_copy "$store" "$image" >>"$WORK/cp"; done
        TOOL_MS[$backend$size]=$(awk -v us="$(median "$WORK/tool")" 'BEGIN { printf "%.1f", us / 1000 }')
        RAW_MS[$backend$size]=$(awk -v us="$(median "$WORK/raw")" 'BEGIN { printf "%.1f", us / 1000 }')
        printf '%-8s %-6s %12s %12s %10s %12s\n' "$backend" "$size" "${TOOL_MS[$backend$size]}" \
            "${RAW_MS[$backend$size]}" \
            "$(awk -v a="${TOOL_MS[$backend$size]}" -v b="${RAW_MS[$backend$size]}" 'BEGIN { printf "%.2f", a / b }')" \
            "$(awk -v us="$(median "$WORK/cp")" 'BEGIN { printf "%.0f", us / 1000 }')"
        verdicts+=("$(awk -v a="${TOOL_MS[$backend$size]}" -v b="${RAW_MS[$backend$size]}" \
            -v t="$TARGET_OVERHEAD" -v w="$backend $size" \
            'BEGIN { printf "%s tool/raw %.2f (target <= %s): %s", w, a / b, t, a / b <= t ? "holds" : "MISSED" }')")
        "$TOOL" --store "$store" destroy "$image@v1"
        "$TOOL" --store "$store" destroy "$image"
    done
    first=${SIZES%% *} last=${SIZES##* }
    if [ "$first" != "$last" ] && [ -n "${TOOL_MS[$backend$last]:-}" ]; then
        verdicts+=("$(awk -v a="${TOOL_MS[$backend$last]}" -v b="${TOOL_MS[$backend$first]}" \
            -v t="$TARGET_SIZE_RATIO" -v w="$backend clone($last)/clone($first)" \
            'BEGIN { printf "%s %.2f (target <= %s): %s", w, a / b, t, a / b <= t ? "holds" : "MISSED" }')")
    fi
    "$TOOL" --store "$store" pool destroy
done
echo
printf '%s\n' "${verdicts[@]}"

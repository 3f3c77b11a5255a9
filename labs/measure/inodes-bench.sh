#!/usr/bin/env bash
# labs/measure/inodes-bench.sh - many containers on one small file system:
# which runs out first, the blocks or the inodes?  The post's claim C12:
# many containers can exhaust the file system's inodes.
#
# A small ext4 (64M on a loop file) is made with few inodes (mkfs.ext4 -N,
# default 1024); an image layer of a few files is put on it.  Then
# containers are started the overlay2 way until the file system refuses:
# each is a directory with diff/ (the upper layer), work/ and merged/, an
# overlay mounted on merged/, and what a container writes at start: its
# /etc/hostname (a copy-up of /etc and the file) and a pid file in /run.
# Each costs a handful of inodes and a few KiB, so inodes run out while
# `df` still shows most blocks free.  The bench prints `df -i` and `df -h`
# side by side, the number of containers, and the error a container gets.
#
# Everything runs in a private mount namespace (unshare --mount) made for
# the bench: every mount, and with them the loop device, goes when it ends.
# A demonstration with a count, not a timing: it exits 0 once it has shown.
#
# Usage: sudo labs/measure/inodes-bench.sh [--inodes N] [--size SIZE] [--quick]
set -eu
# shellcheck source=labs/measure/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_NAME=inodes-bench
INODES=1024
FS_SIZE=64M
MIN_INODES=64
MAX_CONTAINERS=100000    # a guard: the loop ends at the first refusal

ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --inodes) INODES=${2:-}; shift ;;
    --size) FS_SIZE=${2:-}; shift ;;
    --quick) INODES=256 FS_SIZE=16M ;;
    -h | --help) bench_help "$0" ;;
    *) bench_usage_error "unknown option '$1'" ;;
    esac
    shift
done
need_number --inodes "$INODES" "$MIN_INODES"
numfmt --from=iec "$FS_SIZE" >/dev/null 2>&1 || bench_usage_error "--size '$FS_SIZE': not a size"

if [ -z "${TUNA_INODES_BENCH_INNER:-}" ]; then
    need_root "mounts, loop devices"
    need_tool unshare util-linux
    need_tool mkfs.ext4 e2fsprogs
    TUNA_INODES_BENCH_INNER=1 exec unshare --mount --propagation private "$0" "${ARGS[@]}"
fi
bench_init inodes-bench
grep -qw overlay /proc/filesystems || bench_skip "no overlayfs in this kernel"

# --- the small file system and the image -------------------------------------------
truncate -s "$FS_SIZE" "$WORK/fs.img"
mkfs.ext4 -q -F -N "$INODES" "$WORK/fs.img"
mkdir "$WORK/fs"
# mount -o loop sets LO_FLAGS_AUTOCLEAR: the loop device goes with the mount.
mount -o loop "$WORK/fs.img" "$WORK/fs" || bench_skip "cannot mount an ext4 loop file here"
bench_on_exit umount "$WORK/fs"
FS=$WORK/fs
mkdir -p "$FS/image/etc" "$FS/image/bin" "$FS/image/run"
echo image >"$FS/image/etc/hostname"
for f in passwd group hosts; do echo "# $f" >"$FS/image/etc/$f"; done
cp /bin/true "$FS/image/bin/true"
machine_line
echo
echo "the small file system, before any container:"
df -i "$FS" | sed 's/^/  /'
inodes_before=$(df --output=iused "$FS" | tail -1 | tr -d ' ')

# start_container N: the overlay2 layout, the mount, the writes at start.
# On refusal, returns 1 with the error in $WORK/error.
start_container() {
    local d=$FS/c$1
    mkdir "$d" 2>"$WORK/error" || return 1
    mkdir "$d/diff" "$d/work" "$d/merged" 2>"$WORK/error" || return 1
    mount -t overlay overlay \
        -o "lowerdir=$FS/image,upperdir=$d/diff,workdir=$d/work" "$d/merged" \
        2>"$WORK/error" || return 1
    bench_on_exit umount "$d/merged"
    { echo "c$1" >"$d/merged/etc/hostname"; } 2>"$WORK/error" || return 1
    { echo "$1" >"$d/merged/run/container.pid"; } 2>"$WORK/error" || return 1
}

count=0 error=
while [ "$count" -lt "$MAX_CONTAINERS" ]; do
    if ! start_container $((count + 1)); then
        error=$(cat "$WORK/error")
        break
    fi
    count=$((count + 1))
done

echo
echo "after $count containers, container $((count + 1)) failed:"
printf '%s\n' "${error:-"(no error: the guard of $MAX_CONTAINERS containers ended the loop)"}" |
    sed 's/^/  /'
if [ "$count" -gt 0 ]; then
    echo "and a running container (c1) writing a new file, /tmp-log:"
    { echo log >"$FS/c1/merged/tmp-log"; } 2>&1 | sed 's/^/  /' || true
    echo "or changing a file of the image (a copy-up), /etc/passwd:"
    { echo "root:x:0:0::/:/bin/sh" >>"$FS/c1/merged/etc/passwd"; } 2>&1 | sed 's/^/  /' || true
fi
echo
df -i "$FS" | sed 's/^/  /'
df -h "$FS" | sed 's/^/  /'
used_inodes=$(df --output=iused "$FS" | tail -1 | tr -d ' ')
used_blocks=$(df --output=pcent "$FS" | tail -1 | tr -d ' %')
printf 'what\tvalue\n' >"$WORK/table"
printf 'inodes in the file system (mkfs.ext4 -N %s)\t%s\n' "$INODES" \
    "$(df --output=itotal "$FS" | tail -1 | tr -d ' ')" >>"$WORK/table"
printf 'containers started\t%s\n' "$count" >>"$WORK/table"
[ "$count" -gt 0 ] && printf 'inodes per container\t%s\n' \
    "$(calc "($used_inodes - $inodes_before) / $count" 1)" >>"$WORK/table"
printf 'inodes used\t%s%%\n' "$(df --output=ipcent "$FS" | tail -1 | tr -d ' %')" >>"$WORK/table"
printf 'blocks used\t%s%%\n' "$used_blocks" >>"$WORK/table"
table "$count containers on a $FS_SIZE ext4 with $INODES inodes:" <"$WORK/table"
printf 'inodes used %%\t%s\nblocks used %%\t%s\n' \
    "$(df --output=ipcent "$FS" | tail -1 | tr -d ' %')" "$used_blocks" |
    bar_chart "what ran out:" "%"
exit 0

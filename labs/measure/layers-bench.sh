#!/usr/bin/env bash
# labs/measure/layers-bench.sh - does a lookup get slower as the layers pile
# up?  The post's claims C13 (the more layers, the slower a lookup) and C15
# (a file in the lowest layer is the slowest to find).
#
# For N = 1, 10, 50, 100, 200, 500 read-only lower layers (500 is the
# kernel's limit, OVL_MAX_STACK in fs/overlayfs/params.h), an overlay is
# mounted with a fresh upper layer, and stat(2) is timed from inside one
# process (probe.c) on three names in the merged root:
#
#   bottom   a file only in the lowest layer: every layer is searched
#   top      a file in the top lower layer (and in all below it): one layer
#   missing  a name in no layer: every layer is searched, then ENOENT
#
# "first" is the first stat after the mount: overlayfs looks the name up in
# each layer in turn (ovl_lookup).  The lower file systems' own dentries are
# cached from earlier runs, as they would be on a busy host.  "warm" is the
# median of 100 stats after that: the merged dentry is cached and the layers
# are not searched again.  The mount(2) itself is timed too.  Each N is
# mounted RUNS times (the figure is the median), the order of names rotated.
# The layers are named 0..499 and mounted from their parent directory with
# relative lowerdir= names, as Docker does with its l/ links: the options of
# mount(2) must fit in one page (4096 bytes).  A 501-layer mount shows the
# kernel's refusal.
#
# Everything runs in a private mount namespace (unshare --mount): no mount
# can outlive the bench.  A measurement, not a test: it exits 0 once measured.
#
# Usage: sudo labs/measure/layers-bench.sh [--runs N] [--layers "1 10 50 ..."] [--quick]
set -eu
# shellcheck source=labs/measure/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_NAME=layers-bench
RUNS=10
MIN_RUNS=1
LAYERS="1 10 50 100 200 500"
WARM_RUNS=100
KERNEL_MAX_LAYERS=500
NAMES="bottom top missing"

ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:-}; shift ;;
    --layers) LAYERS=${2:-}; shift ;;
    --quick) RUNS=2 LAYERS="1 100 500" ;;
    -h | --help) bench_help "$0" ;;
    *) bench_usage_error "unknown option '$1'" ;;
    esac
    shift
done
need_number --runs "$RUNS" "$MIN_RUNS"
for n in $LAYERS; do need_number "layers" "$n" 1; done

# Into a private mount namespace first; the rest runs there.
if [ -z "${TUNA_LAYERS_BENCH_INNER:-}" ]; then
    need_root "mounts"
    need_tool unshare util-linux
    TUNA_LAYERS_BENCH_INNER=1 exec unshare --mount --propagation private "$0" "${ARGS[@]}"
fi
bench_init layers-bench
grep -qw overlay /proc/filesystems || bench_skip "no overlayfs in this kernel"
build_probe

# --- the layers: 0 is the lowest -------------------------------------------------
cd "$WORK"
# shellcheck disable=SC2046  # one mkdir for 501 names
mkdir $(seq 0 "$KERNEL_MAX_LAYERS")
for ((i = 0; i <= KERNEL_MAX_LAYERS; i++)); do echo "layer $i" >"$i/top"; done
echo "only in the lowest layer" >0/bottom
mkdir m
bench_on_exit umount -l "$WORK/m"

# lowerdir N: "N-1:N-2:...:0", the top layer first (mount(8)'s order).
lowerdir() {
    seq $(($1 - 1)) -1 0 | paste -sd:
}

# mount_layers N: a fresh upper and work, then the overlay; prints mount us.
mount_layers() {
    rm -rf u w && mkdir u w
    "$PROBE" mount "lowerdir=$(lowerdir "$1"),upperdir=u,workdir=w" m
}

machine_line
printf 'layers\toptions bytes\tmount us' >"$WORK/table"
for name in $NAMES; do printf '\t%s first us\t%s warm us' "$name" "$name" >>"$WORK/table"; done
echo >>"$WORK/table"
: >"$WORK/chart"
for n in $LAYERS; do
    : >"$WORK/mount"
    for name in $NAMES; do : >"$WORK/first.$name" && : >"$WORK/warm.$name"; done
    read -r -a names <<<"$NAMES"
    for ((r = 0; r < RUNS; r++)); do
        mount_layers "$n" >>"$WORK/mount"
        for ((j = 0; j < ${#names[@]}; j++)); do
            name=${names[$(((j + r) % ${#names[@]}))]}
            read -r first warm < <("$PROBE" lookup "$WARM_RUNS" "m/$name")
            echo "$first" >>"$WORK/first.$name"
            echo "$warm" >>"$WORK/warm.$name"
        done
        umount m
    done
    row="$n	$(lowerdir "$n" | awk '{ print length("lowerdir=" $0 ",upperdir=u,workdir=w") }')"
    row="$row	$(calc "$(median "$WORK/mount")" 0)"
    for name in $NAMES; do
        row="$row	$(median "$WORK/first.$name")	$(median "$WORK/warm.$name")"
    done
    echo "$row" >>"$WORK/table"
    printf '%s layers, bottom, first\t%s\n' "$n" "$(median "$WORK/first.bottom")" >>"$WORK/chart"
done
table "stat(2) in the merged root of an overlay: medians of $RUNS mounts (microseconds; warm = median of $WARM_RUNS)" \
    <"$WORK/table"
bar_chart "first lookup of a file in the lowest layer:" us <"$WORK/chart"

# One more than the kernel allows: what the refusal looks like.
echo
if mount_layers $((KERNEL_MAX_LAYERS + 1)) >/dev/null 2>"$WORK/refusal"; then
    echo "$((KERNEL_MAX_LAYERS + 1)) layers: mounted (this kernel allows more than $KERNEL_MAX_LAYERS)"
    umount m
else
    echo "$((KERNEL_MAX_LAYERS + 1)) layers: $(cat "$WORK/refusal")"
    dmesg 2>/dev/null | grep -i 'overlayfs.*lower' | tail -1 | sed 's/^/  kernel log: /' || true
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0

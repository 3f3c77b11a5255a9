#!/usr/bin/env bash
# labs/measure/all.sh - run every bench in labs/measure/, one after the
# other, each with the load average before and after it, then a summary.
#
#   peers   cgroup-bench  01-cgroup vs cgroup-tools and a shell
#           start-bench   02-unshare + 04-pivot vs unshare, bwrap, crun
#           net-bench     05-veth vs ip, 06-nat vs nft -f and iptables
#           clone-bench   03-zfs-image clone vs zfs/btrfs/overlay and cp -a
#           stress-bench  07-stress vs stress
#   claims  cow-write-bench  C8 C14 C16 C17   first and second write in a clone
#           layers-bench     C13 C15          lookups through 1..500 layers
#           inodes-bench     C12              containers until inodes run out
#           limits-bench     C29 C30          20% CPU, OOM under 200M
#           kernel-features  C10 C11 C20 C21  device-mapper, XFS project quota
#
# --quick runs each with the fewest runs that still print its table (a
# check that the benches work, for tests/test_measure.sh; not figures to
# quote).  The figures in docs/performance.md and docs/claims.md come from
# the full runs.  Exit status: 0 when every bench measured or said why it
# cannot run here (a bench's 77), 1 when one failed.
#
# Usage: sudo labs/measure/all.sh [--quick] [--only "NAME ..."]
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SKIP_STATUS=77
QUICK=0
ONLY=""
BENCHES="cgroup-bench start-bench net-bench clone-bench stress-bench
cow-write-bench layers-bench inodes-bench limits-bench kernel-features"

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY=${2:-}; shift ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//; /^set -eu/d'; exit 0 ;;
    *) echo "all: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
[ -z "$ONLY" ] || BENCHES=$ONLY
for b in $BENCHES; do
    [ -x "$HERE/$b.sh" ] || { echo "all: no bench named '$b'" >&2; exit 2; }
done

# quick_args BENCH: the options of BENCH's quick run.  The first four
# benches predate --quick; their smallest settings are given here.
quick_args() {
    case $1 in
    cgroup-bench | start-bench | net-bench) echo --runs 10 ;;
    clone-bench) echo --runs 3 --sizes 10M ;;
    *) echo --quick ;;
    esac
}

summary=()
failed=0
for b in $BENCHES; do
    args=()
    # shellcheck disable=SC2207  # the options are single words
    [ "$QUICK" = 0 ] || args=($(quick_args "$b"))
    echo "=== $b ${args[*]}   (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
    start=$SECONDS
    status=0
    "$HERE/$b.sh" "${args[@]}" || status=$?
    took=$((SECONDS - start))
    case $status in
    0) verdict=measured ;;
    "$SKIP_STATUS") verdict="cannot run here" ;;
    *) verdict="FAILED (exit $status)"; failed=1 ;;
    esac
    echo "=== $b: $verdict in ${took}s (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    summary+=("$(printf '%-16s %-24s %5ss' "$b" "$verdict" "$took")")
done
echo "Summary ($(nproc) CPUs, kernel $(uname -r)):"
printf '  %s\n' "${summary[@]}"
exit "$failed"

#!/usr/bin/env bash
# labs/measure/stress-bench.sh - does tuna's 07-stress load a CPU as Debian's
# stress does?  The CPU share each achieves, unconstrained and under the
# post's 20% quota, read from the kernel's counters, and what 07-stress
# itself reports.
#
# Four contenders, interleaved (one of each per round, the order rotated):
#
#   07-stress free   07-stress -c 1 in a group without a CPU limit
#   stress free      stress -c 1 in the same group
#   07-stress 20%    07-stress -c 1 in a group made with `01-cgroup create
#                    G --cpu 20%` (cpu.cfs_quota_us 20000 per 100000)
#   stress 20%       stress -c 1 in that group
#
# The share is the growth of the group's cpuacct.usage over a window of
# wall time, once the hog runs (the same counter for both tools).
# Unconstrained, a hog can get at most one CPU; on a machine others are
# using, less.  07-stress also prints the share it measured for its worker
# (rusage from wait4 over the worker's life); its median is shown beside.
# A measurement, not a test: it exits 0 once measured.
#
# Usage: sudo labs/measure/stress-bench.sh [--runs N] [--window S] [--quick]
set -eu
# shellcheck source=labs/measure/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_NAME=stress-bench
RUNS=10
MIN_RUNS=1
WINDOW=2                 # seconds of CPU accounting per run
QUOTA_PCT=20
SETTLE=0.3               # seconds for the hog to start before a window

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:-}; shift ;;
    --window) WINDOW=${2:-}; shift ;;
    --quick) RUNS=1 WINDOW=1 ;;
    -h | --help) bench_help "$0" ;;
    *) bench_usage_error "unknown option '$1'" ;;
    esac
    shift
done
need_number --runs "$RUNS" "$MIN_RUNS"
need_number --window "$WINDOW" 1
bench_init stress-bench
need_root "cgroups"
need_tuna 01-cgroup
need_tuna 07-stress
need_tool stress
CGROUP=$TUNA_BIN/01-cgroup
CPUACCT=$(awk '/ - cgroup / && $NF ~ /(^|,)cpuacct(,|$)/ { print $5; exit }' /proc/self/mountinfo)
[ -n "$CPUACCT" ] || bench_skip "needs the v1 cpuacct hierarchy (this bench reads its counter)"

G=tuna-bench-stress-$$
"$CGROUP" create "$G-free"
bench_on_exit "$CGROUP" delete "$G-free" --kill
"$CGROUP" create "$G-20" --cpu "$QUOTA_PCT%"
bench_on_exit "$CGROUP" delete "$G-20" --kill
machine_line

# share GROUP PROGRAM [OPTIONS]: one window of PROGRAM -c 1 in GROUP; prints
# the share of one CPU in %.  07-stress's own report goes to $WORK/report.
# shellcheck disable=SC2317  # called through interleave
share() {
    local g=$1 pid u0 u1 t0 t1
    shift
    "$CGROUP" exec "$g" -- "$@" -c 1 -t $((WINDOW + 1)) >"$WORK/out" 2>&1 &
    pid=$!
    sleep "$SETTLE"
    read -r u0 <"$CPUACCT/$g/cpuacct.usage"
    t0=$(now_us)
    sleep "$WINDOW"
    read -r u1 <"$CPUACCT/$g/cpuacct.usage"
    t1=$(now_us)
    wait "$pid" || true
    sed -n 's/.* got \([0-9.]*\)% of one CPU.*/\1/p' "$WORK/out" >>"$WORK/report.$g"
    calc "($u1 - $u0) / 1000 / ($t1 - $t0) * 100" 2
    echo
}

# shellcheck disable=SC2317  # called through interleave
tuna_free() { share "$G-free" "$TUNA_BIN/07-stress"; }
# shellcheck disable=SC2317
debian_free() { share "$G-free" stress; }
# shellcheck disable=SC2317
tuna_quota() { share "$G-20" "$TUNA_BIN/07-stress"; }
# shellcheck disable=SC2317
debian_quota() { share "$G-20" stress; }
: >"$WORK/report.$G-free" && : >"$WORK/report.$G-20"
interleave "$RUNS" tuna-free tuna_free debian-free debian_free \
    tuna-20 tuna_quota debian-20 debian_quota


# median2 FILE: the median with two decimals (an even count averages two).
median2() {
    calc "$(median "$1")" 2
}
{
    printf 'contender\tlimit\tmedian %%\tspread %%\t07-stress says %%\n'
    printf '07-stress\tnone\t%s\t%s\t%s\n' "$(median2 "$WORK/figures.tuna-free")" \
        "$(spread "$WORK/figures.tuna-free")" "$(median2 "$WORK/report.$G-free")"
    printf 'stress\tnone\t%s\t%s\t-\n' "$(median2 "$WORK/figures.debian-free")" \
        "$(spread "$WORK/figures.debian-free")"
    printf '07-stress\t%s%%\t%s\t%s\t%s\n' "$QUOTA_PCT" "$(median2 "$WORK/figures.tuna-20")" \
        "$(spread "$WORK/figures.tuna-20")" "$(median2 "$WORK/report.$G-20")"
    printf 'stress\t%s%%\t%s\t%s\t-\n' "$QUOTA_PCT" "$(median2 "$WORK/figures.debian-20")" \
        "$(spread "$WORK/figures.debian-20")"
} | table "CPU share of one CPU hog (-c 1) from cpuacct.usage, $WINDOW s windows, medians of $RUNS runs:"
{
    printf '07-stress, no limit\t%s\n' "$(median2 "$WORK/figures.tuna-free")"
    printf 'stress, no limit\t%s\n' "$(median2 "$WORK/figures.debian-free")"
    printf '07-stress, 20%%\t%s\n' "$(median2 "$WORK/figures.tuna-20")"
    printf 'stress, 20%%\t%s\n' "$(median2 "$WORK/figures.debian-20")"
} | bar_chart "share of one CPU:" "%"
echo
echo "target: under the quota, within +-1 point of $QUOTA_PCT%:" \
    "$(awk -v s="$(median2 "$WORK/figures.tuna-20")" -v q="$QUOTA_PCT" 'BEGIN { d = s - q;
        if (d < 0) d = -d; print d <= 1 ? "holds" : "MISSED" }') for 07-stress"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0

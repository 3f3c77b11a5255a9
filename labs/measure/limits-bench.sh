#!/usr/bin/env bash
# labs/measure/limits-bench.sh - do the post's limits hold, read from the
# kernel's own counters?  Claims C29 (`stress -c 1` under a 20% quota shows
# ~20% CPU) and C30 (`stress --vm 1 --vm-bytes 198M`, 199M, 200M are each
# OOM-killed under a 200 MB limit).
#
# CPU: a group made with `01-cgroup create G --cpu 20%` (cgroup v2 cpu.max
# "20000 100000", v1 cpu.cfs_quota_us 20000 per 100000); `stress -c 1` runs
# in it through `01-cgroup exec`; the share is the growth of the group's CPU
# time (v2 cpu.stat usage_usec, v1 cpuacct.usage) over a window of wall
# time, once the hog runs.  RUNS windows: median and
# spread.  The issue's target: within +-1 point of the quota.
#
# Memory: two groups, one with the post's binary 200M (209715200, as
# `--memory 200M` writes it) and one with a decimal 200 MB (200000000, which
# the kernel rounds down to a whole page).  For each size from 190M to 210M
# (stress's M: MiB), `stress --vm 1 --vm-bytes SIZE -t 2` runs in each group,
# the two interleaved; killed or not is read from the oom_kill count in the
# group's memory.events (v2) or memory.oom_control (v1), the peak from
# memory.peak (v2: a fresh group per run, since 6.1's peak cannot be reset)
# or memory.max_usage_in_bytes (v1, reset before each run).
# The post's tool is Debian's stress; without it, tuna's 07-stress (same
# options) is used and named.  A measurement, not a test: exits 0 once done.
#
# Usage: sudo labs/measure/limits-bench.sh [--runs N] [--window S]
#            [--from MIB] [--to MIB] [--step MIB] [--quick]
set -eu
# shellcheck source=labs/measure/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_NAME=limits-bench
RUNS=10
MIN_RUNS=1
WINDOW=3                 # seconds of CPU accounting per run
FROM=190 TO=210 STEP=1   # sizes, MiB
QUOTA_PCT=20
BINARY_LIMIT=209715200   # 200M: 200 * 1024 * 1024
DECIMAL_LIMIT=200000000  # 200 MB
SETTLE=0.3               # seconds for the hog to start before a window
VM_SECONDS=2             # stress -t 1 can end before 200M are touched

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:-}; shift ;;
    --window) WINDOW=${2:-}; shift ;;
    --from) FROM=${2:-}; shift ;;
    --to) TO=${2:-}; shift ;;
    --step) STEP=${2:-}; shift ;;
    --quick) RUNS=1 WINDOW=1 FROM=190 TO=210 STEP=20 ;;
    -h | --help) bench_help "$0" ;;
    *) bench_usage_error "unknown option '$1'" ;;
    esac
    shift
done
need_number --runs "$RUNS" "$MIN_RUNS"
need_number --window "$WINDOW" 1
need_number --from "$FROM" 1
need_number --to "$TO" "$FROM"
need_number --step "$STEP" 1
bench_init limits-bench
need_root "cgroups"
need_tuna 01-cgroup
CGROUP=$TUNA_BIN/01-cgroup
if command -v stress >/dev/null; then
    STRESS=$(command -v stress)
else
    need_tuna 07-stress
    STRESS=$TUNA_BIN/07-stress
    echo "Debian's stress is not installed: using 07-stress"
fi

# Where the counters are, on cgroup v2, v1 or hybrid (labs/cgroupfs.sh).
# shellcheck source=labs/cgroupfs.sh
. "$(dirname "$0")/../cgroupfs.sh"
MEMORY=$(cgroup_mount memory)
if [ -z "$MEMORY" ] || [ -z "$(cgroup_mount cpuacct)" ]; then
    bench_skip "no cgroup hierarchy holds the cpu and memory controllers"
fi
if [ "$(cgroup_version_of memory)" = 2 ]; then
    LIMIT_FILE=memory.max OOM_FILE=memory.events PEAK_FILE=memory.peak
else
    LIMIT_FILE=memory.limit_in_bytes OOM_FILE=memory.oom_control PEAK_FILE=memory.max_usage_in_bytes
fi
if [ "$(cgroup_version_of cpu)" = 2 ]; then
    QUOTA_FILES='cpu.max "20000 100000"' USAGE_FILE=cpu.stat
else
    QUOTA_FILES="cpu.cfs_quota_us 20000/100000" USAGE_FILE=cpuacct.usage
fi

G=tuna-bench-limits-$$
"$CGROUP" create "$G-cpu" --cpu "$QUOTA_PCT%"
bench_on_exit "$CGROUP" delete "$G-cpu" --kill
"$CGROUP" create "$G-bin" --memory "$BINARY_LIMIT"
bench_on_exit "$CGROUP" delete "$G-bin" --kill
"$CGROUP" create "$G-dec" --memory "$DECIMAL_LIMIT"
bench_on_exit "$CGROUP" delete "$G-dec" --kill
machine_line

# --- CPU -------------------------------------------------------------------------

# usage_ns FILE: USAGE_NS, the group's CPU time in ns, read with builtins
# only (no process started between the clock and the counter): v1
# cpuacct.usage holds ns; v2 cpu.stat's usage_usec line, µs.
# shellcheck disable=SC2317  # called through cpu_share
usage_ns() {
    local key value
    if [ "${1##*/}" = cpuacct.usage ]; then
        read -r USAGE_NS <"$1"
        return
    fi
    while read -r key value; do
        if [ "$key" = usage_usec ]; then USAGE_NS=${value}000; return; fi
    done <"$1"
}

# cpu_share: one window of a hog in the 20% group; prints the share in %.
# The hog outlives the window by a second and ends by itself.
# shellcheck disable=SC2317  # called through interleave
cpu_share() {
    local pid u0 u1 t0 t1 file
    file=$(cgroup_dir cpuacct "$G-cpu")/$USAGE_FILE
    "$CGROUP" exec "$G-cpu" -- "$STRESS" -q -c 1 -t $((WINDOW + 1)) >/dev/null 2>&1 &
    pid=$!
    sleep "$SETTLE"
    usage_ns "$file"
    u0=$USAGE_NS t0=$(now_us)
    sleep "$WINDOW"
    usage_ns "$file"
    u1=$USAGE_NS t1=$(now_us)
    wait "$pid" || true
    calc "($u1 - $u0) / 1000 / ($t1 - $t0) * 100" 2
    echo
}

interleave "$RUNS" cpu cpu_share
share=$(median "$WORK/figures.cpu")
{
    printf 'quota\truns\twindow s\tmedian %%\tspread %%\toff by\ttarget +-1\n'
    printf '%s%%\t%s\t%s\t%s\t%s\t%s\t%s\n' "$QUOTA_PCT" "$RUNS" "$WINDOW" "$share" \
        "$(spread "$WORK/figures.cpu")" "$(calc "$share - $QUOTA_PCT" 2)" \
        "$(awk -v s="$share" -v q="$QUOTA_PCT" 'BEGIN { d = s - q; if (d < 0) d = -d;
            print d <= 1 ? "holds" : "MISSED" }')"
} | table "CPU share of \`${STRESS##*/} -c 1\` under $QUOTA_FILES, from $USAGE_FILE:"
awk '{ printf "run %d\t%s\n", NR, $1 }' "$WORK/figures.cpu" | bar_chart "share per run (of one CPU):" "%"

# --- memory ----------------------------------------------------------------------

# vm_run GROUP MIB: killed or survived, and the peak; prints "KILLED PEAK_MIB".
# v1 resets the group's peak; v2 (whose memory.peak 6.1 cannot reset) runs
# in a fresh child group with the same limit.
vm_run() {
    local g=$1 mib=$2 before after peak
    if [ "$PEAK_FILE" = memory.peak ]; then
        g=$1/run$mib
        "$CGROUP" create "$g" --memory "$(cat "$MEMORY/$1/$LIMIT_FILE")" >/dev/null
    else
        echo 0 >"$MEMORY/$g/$PEAK_FILE"
    fi
    before=$(awk '$1 == "oom_kill" { print $2 }' "$MEMORY/$g/$OOM_FILE")
    "$CGROUP" exec "$g" -- "$STRESS" -q --vm 1 --vm-bytes "${mib}M" -t "$VM_SECONDS" \
        >/dev/null 2>&1 || true
    after=$(awk '$1 == "oom_kill" { print $2 }' "$MEMORY/$g/$OOM_FILE")
    peak=$(cat "$MEMORY/$g/$PEAK_FILE")
    [ "$g" = "$1" ] || "$CGROUP" delete "$g" --kill >/dev/null
    echo "$((after - before)) $(calc "$peak / 1048576" 1)"
}

# verdict "KILLS PEAK": what a vm_run line means.
verdict() {
    if [ "${1%% *}" -gt 0 ]; then echo "OOM-killed"; else echo "survived"; fi
}

printf 'vm-bytes\tbinary limit\tpeak MiB\tdecimal limit\tpeak MiB\n' >"$WORK/table"
: >"$WORK/chart"
for ((mib = FROM; mib <= TO; mib += STEP)); do
    if [ $(((mib - FROM) / STEP % 2)) = 0 ]; then
        bin=$(vm_run "$G-bin" "$mib") dec=$(vm_run "$G-dec" "$mib")
    else
        dec=$(vm_run "$G-dec" "$mib") bin=$(vm_run "$G-bin" "$mib")
    fi
    printf '%sM\t%s\t%s\t%s\t%s\n' "$mib" "$(verdict "$bin")" "${bin#* }" \
        "$(verdict "$dec")" "${dec#* }" >>"$WORK/table"
    printf '%sM binary\t%s\n%sM decimal\t%s\n' "$mib" "${bin#* }" "$mib" "${dec#* }" >>"$WORK/chart"
done
table "\`${STRESS##*/} --vm 1 --vm-bytes SIZE\` under $LIMIT_FILE $(cat "$MEMORY/$G-bin/$LIMIT_FILE") (binary 200M) and $(cat "$MEMORY/$G-dec/$LIMIT_FILE") (decimal 200 MB, page-rounded), from $OOM_FILE:" \
    <"$WORK/table"
bar_chart "peak $PEAK_FILE (MiB; the limits are 200.0 and 190.7):" MiB <"$WORK/chart"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0

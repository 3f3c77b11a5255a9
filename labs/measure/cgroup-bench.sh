#!/usr/bin/env bash
# labs/measure/cgroup-bench.sh - how long does it take to make a cgroup with
# limits and remove it again?
#
# The same job three ways: a group in the cpu, cpuacct, memory and pids
# hierarchies (every hierarchy 01-cgroup makes a group in on this machine),
# a 20% CPU quota (20000 us per 100000 us) and a 200 MiB memory limit, then
# the group removed everywhere:
#
#   tuna          01-cgroup create NAME --cpu 20% --memory 200M
#                 01-cgroup delete NAME
#   cgroup-tools  cgcreate -g cpu,cpuacct,memory,pids:NAME
#                 cgset -r cpu.cfs_period_us=... -r cpu.cfs_quota_us=...
#                       -r memory.limit_in_bytes=... NAME
#                 cgdelete -g C:NAME, once per controller: cgroup-tools 2.0.2
#                 here removes only the FIRST hierarchy of a
#                 `cgdelete -g cpu,cpuacct,memory,pids:NAME` (seen with
#                 strace: one rmdir), so one call would leave three behind
#   shell         the post's way: mkdir, echo VALUE > FILE, rmdir
#   two-starts    /bin/true twice: the floor under any two-command way (a
#                 fork+exec+exit costs ~5 ms in this VM; tuna starts 2
#                 processes, cgroup-tools 6, the shell way 8)
#
# The figure is the median wall time: from hyperfine (which subtracts the
# start-up of the shell running each command line), or, without hyperfine,
# from an interleaved loop timed with bash's $EPOCHREALTIME.  The issue's
# target: tuna at least 5x faster than cgroup-tools.  A measurement, not a
# test: it reports whether the target holds and exits 0 once measured.
#
# Usage: sudo labs/measure/cgroup-bench.sh [--runs N]   (N >= 10, default 50)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TUNA_ROOT=$(cd "$HERE/../.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
# shellcheck source=labs/measure/lib.sh
. "$HERE/lib.sh"
RUNS=50
MIN_RUNS=10
WARMUP=3
CONTROLLERS="cpu cpuacct memory pids"
QUOTA_US=20000
PERIOD_US=100000
MEMORY_BYTES=209715200       # 200M, as 01-cgroup --memory 200M writes it
TARGET_RATIO=0.2             # tuna <= 1/5 of cgroup-tools

runs_option cgroup-bench "$@"
[ "$(id -u)" = 0 ] || { echo "cgroup-bench: needs root (cgroupfs)" >&2; exit 1; }
[ -x "$TUNA_BIN/01-cgroup" ] || { echo "cgroup-bench: build first: make bin/01-cgroup" >&2; exit 1; }

# mount_of CONTROLLER: the v1 mount point of CONTROLLER (mountinfo).
mount_of() {
    awk -v c="$1" '/ - cgroup / { n = split($NF, o, ",");
        for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}
declare -A MNT
for c in $CONTROLLERS; do
    MNT[$c]=$(mount_of "$c")
    [ -n "${MNT[$c]}" ] || { echo "cgroup-bench: no v1 $c hierarchy: this compares v1 tools" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tuna-cgroup-bench.XXXXXX)
PREFIX=tuna-bench-$$
# cleanup: whatever a failed run left, in every hierarchy.
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    for c in $CONTROLLERS; do
        for d in "${MNT[$c]}/$PREFIX"-*; do [ -d "$d" ] && rmdir "$d"; done
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the contenders: NAME, then the command as one string for bash -c --------
NAMES=() COMMANDS=()
add() { NAMES+=("$1"); COMMANDS+=("$2"); }

# The floor: two process starts, what any two-command way costs at least.
add two-starts "/bin/true && /bin/true"
G=$PREFIX-tuna
add tuna "'$TUNA_BIN/01-cgroup' create $G --cpu 20% --memory 200M && '$TUNA_BIN/01-cgroup' delete $G"

if command -v cgcreate >/dev/null && command -v cgset >/dev/null && command -v cgdelete >/dev/null; then
    G=$PREFIX-tools
    deletes=""
    for c in $CONTROLLERS; do deletes="$deletes && cgdelete -g $c:$G"; done
    add cgroup-tools "cgcreate -g ${CONTROLLERS// /,}:$G && cgset -r cpu.cfs_period_us=$PERIOD_US \
-r cpu.cfs_quota_us=$QUOTA_US -r memory.limit_in_bytes=$MEMORY_BYTES $G $deletes"
else
    echo "cgroup-tools: not installed (apt-get install cgroup-tools); skipped"
fi

G=$PREFIX-shell
mkdirs="" rmdirs=""
for c in $CONTROLLERS; do mkdirs="$mkdirs mkdir ${MNT[$c]}/$G &&"; rmdirs="$rmdirs && rmdir ${MNT[$c]}/$G"; done
add shell "$mkdirs echo $PERIOD_US > ${MNT[cpu]}/$G/cpu.cfs_period_us && \
echo $QUOTA_US > ${MNT[cpu]}/$G/cpu.cfs_quota_us && \
echo $MEMORY_BYTES > ${MNT[memory]}/$G/memory.limit_in_bytes $rmdirs"

# --- check each works once and leaves nothing; drop any that does not ---------
left_behind() {
    for c in $CONTROLLERS; do
        for d in "${MNT[$c]}/$PREFIX"-*; do [ -d "$d" ] && echo "$d"; done
    done
    return 0
}
keep_names=() keep_commands=()
for i in "${!NAMES[@]}"; do
    if (eval "${COMMANDS[$i]}") >"$WORK/check.out" 2>&1 && [ -z "$(left_behind)" ]; then
        keep_names+=("${NAMES[$i]}") keep_commands+=("${COMMANDS[$i]}")
    else
        echo "${NAMES[$i]}: does not run cleanly here, skipped:" \
            "$(tail -1 "$WORK/check.out") $(left_behind)"
        cleanup_dirs=$(left_behind)
        for d in $cleanup_dirs; do rmdir "$d"; done
    fi
done
NAMES=("${keep_names[@]}") COMMANDS=("${keep_commands[@]}")

# --- measure -------------------------------------------------------------------
# hyperfine when installed: it runs each command through bash and subtracts
# bash's own start-up, so a figure is the command's cost alone.  Otherwise an
# interleaved loop timed with $EPOCHREALTIME, where every figure also holds
# the fork of a subshell (the ratios come out compressed).
if command -v hyperfine >/dev/null && command -v jq >/dev/null; then
    METHOD="hyperfine (bash start-up subtracted)"
    args=()
    for i in "${!NAMES[@]}"; do args+=(-n "${NAMES[$i]}" "${COMMANDS[$i]}"); done
    hyperfine --shell=bash --warmup "$WARMUP" --runs "$RUNS" --style none \
        --export-json "$WORK/hyperfine.json" "${args[@]}" >/dev/null
    for name in "${NAMES[@]}"; do
        jq -r --arg n "$name" '.results[] | select(.command == $n) | .times[]
            | (. * 1000000 | floor)' "$WORK/hyperfine.json" >"$WORK/times.$name"
    done
else
    METHOD="interleaved loop, \$EPOCHREALTIME (hyperfine not installed)"
    time_rounds "$WARMUP" "$RUNS"
fi
[ -z "$(left_behind)" ] || echo "warning: left behind: $(left_behind)" >&2

ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

declare -A MEDIAN MIN
for name in "${NAMES[@]}"; do
    [ -s "$WORK/times.$name" ] || continue
    MEDIAN[$name]=$(median_us "$WORK/times.$name")
    MIN[$name]=$(sort -n "$WORK/times.$name" | head -1)
done
[ -n "${MEDIAN[tuna]:-}" ] || { echo "cgroup-bench: tuna did not run" >&2; exit 1; }
echo
echo "A cgroup in $CONTROLLERS with a 20% quota and a 200M limit, made and removed:"
echo "median wall time of $RUNS runs each; $METHOD; $(nproc) CPUs, kernel $(uname -r)"
printf '  %-14s %9s %9s %11s\n' contender "median ms" "min ms" "tuna/this"
for name in "${NAMES[@]}"; do
    [ -n "${MEDIAN[$name]:-}" ] || continue
    printf '  %-14s %9s %9s %11s\n' "$name" "$(ms "${MEDIAN[$name]}")" \
        "$(ms "${MIN[$name]}")" "$(ratio "${MEDIAN[tuna]}" "${MEDIAN[$name]}")"
done
echo
if [ -n "${MEDIAN[cgroup-tools]:-}" ]; then
    r=$(ratio "${MEDIAN[tuna]}" "${MEDIAN[cgroup-tools]}")
    speedup=$(awk -v a="${MEDIAN[cgroup-tools]}" -v b="${MEDIAN[tuna]}" 'BEGIN {printf "%.1f", a / b}')
    if awk -v r="$r" -v l="$TARGET_RATIO" 'BEGIN {exit !(r <= l)}'; then
        echo "target: tuna at least 5x faster than cgroup-tools: holds (${speedup}x)"
    else
        echo "target: tuna at least 5x faster than cgroup-tools: does NOT hold (${speedup}x)"
    fi
else
    echo "target: tuna at least 5x faster than cgroup-tools: not measured (skipped)"
fi
exit 0

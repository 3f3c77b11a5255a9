#!/usr/bin/env bash
# labs/exercises/07-stress.sh - exercise 07: a CPU hog held at 20% by its cgroup.
#
# Checks, by reading the cgroup and /proc only, while the student's hog runs:
#   the cgroup's CPU limit is 20% (as in exercise 01)
#   processes are in it (v2 cgroup.procs; v1 tasks)
#   over EX_SECONDS (default 2) the CPU time its threads used, divided by the
#   wall time, is about 20%, and cpu.stat nr_throttled went up.
#   CPU time: v2, cpu.stat usage_usec; v1, the sum of /proc/TID/schedstat
#   (ns on a CPU) over the cgroup's tasks (cpuacct may be a separate hierarchy).
#
# Target: EX_CGROUP (default tuna-ex/student), EX_SECONDS (default 2).
# Docs: Documentation/scheduler/sched-bwc.rst (Statistics),
# Documentation/scheduler/sched-stats.rst (/proc/PID/schedstat), man 1 stress.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_CGROUP=${EX_CGROUP:-tuna-ex/student}
EX_SECONDS=${EX_SECONDS:-2}
# How far from 20% a measurement over a couple of seconds may be: the quota
# is granted per 100 ms period, so a 2 s window holds about 20 of them.
SHARE_TOLERANCE=6
NS_PER_US=1000

task() {
    msg ex.task_title 07 "$(msg ex07.title)"
    echo
    msg ex07.task "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_SECONDS"
    echo
}
exercise_start "$@"

# --- the kernel's state ----------------------------------------------------------------------
VERSION=$(cgroup_version cpu)
CPU_DIR=$(cgroup_dir cpu "$EX_CGROUP")
MEMBERS_FILE=$CPU_DIR/cgroup.procs
[ "$VERSION" = v1 ] && MEMBERS_FILE=$CPU_DIR/tasks    # threads, for schedstat

# cpu_stat KEY: a value from the cgroup's cpu.stat (0 when absent).
cpu_stat() {
    awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' "$CPU_DIR/cpu.stat" 2>/dev/null
}

# cpu_time_us: CPU time used so far by the cgroup, in µs.  v2 counts it
# itself; in v1 it is the sum over the cgroup's threads of the first field
# of /proc/TID/schedstat (ns spent on a CPU).
cpu_time_us() {
    if [ "$VERSION" = v2 ]; then
        cpu_stat usage_usec
        return
    fi
    local tid total=0 run
    while read -r tid; do
        read -r run _ <"/proc/$tid/schedstat" 2>/dev/null || continue
        total=$((total + run))
    done <"$MEMBERS_FILE"
    echo $((total / NS_PER_US))
}

# now_us: wall-clock time in µs.
now_us() {
    echo $(($(date +%s%N) / NS_PER_US))
}

MEASURED=0
# (cgroup files report size 0: read them, do not test -s.)
if [ -d "$CPU_DIR" ] && [ -n "$(cat "$MEMBERS_FILE" 2>/dev/null)" ]; then
    MEASURED=1
    throttled_before=$(cpu_stat nr_throttled)
    used_before=$(cpu_time_us)
    wall_before=$(now_us)
    sleep "$EX_SECONDS"
    used_after=$(cpu_time_us)
    wall_after=$(now_us)
    throttled_after=$(cpu_stat nr_throttled)
    SHARE=$(percent $((used_after - used_before)) $((wall_after - wall_before)))
    THROTTLED=$((throttled_after - throttled_before))
    WALL_SECONDS=$(awk -v us=$((wall_after - wall_before)) 'BEGIN { printf "%.1f", us / 1e6 }')
fi

# --- the checks ----------------------------------------------------------------------------

test_the_cgroup_exists() {
    if [ -d "$CPU_DIR" ]; then
        ok "$(msg ex07.the_cgroup_exists.1 "$CPU_DIR")"
    else
        wrong "$(msg ex07.the_cgroup_exists.2 "$CPU_DIR")"
    fi
}

test_the_cpu_limit_is_20_percent() {
    [ -d "$CPU_DIR" ] || { not_checked "$(msg ex07.the_cpu_limit_is_20_percent.1)"; return 0; }
    explain_cpu_limit "$EX_CGROUP"
}

test_a_process_runs_in_it() {
    [ -d "$CPU_DIR" ] || { not_checked "$(msg ex07.a_process_runs_in_it.1)"; return 0; }
    if [ "$MEASURED" = 1 ]; then
        ok "$(msg ex07.a_process_runs_in_it.2 "$(while read -r p; do
            printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done <"$MEMBERS_FILE")")"
    else
        wrong "$(msg ex07.a_process_runs_in_it.3 "$MEMBERS_FILE") Do: echo \$\$ > $MEMBERS_FILE; stress -c 1 -t 60s"
    fi
}

test_the_hog_is_held_at_20_percent() {
    [ "$MEASURED" = 1 ] || { not_checked "$(msg ex07.the_hog_is_held_at_20_percent.1)"; return 0; }
    local low=$((WANT_CPU_PERCENT - SHARE_TOLERANCE)) high=$((WANT_CPU_PERCENT + SHARE_TOLERANCE))
    local why=''
    cgroup_cpu_limit "$EX_CGROUP" && [ "$CPU_QUOTA" = max ] &&
        why=" $(msg ex07.no_limit_at_all)"
    if awk -v s="$SHARE" -v h="$high" 'BEGIN { exit !(s > h) }'; then
        wrong "$(msg ex07.the_hog_is_held_at_20_percent.2 "$SHARE" "$WALL_SECONDS" "$THROTTLED" "$WANT_CPU_PERCENT" "$why")"
    elif awk -v s="$SHARE" -v l="$low" 'BEGIN { exit !(s < l) }'; then
        wrong "$(msg ex07.the_hog_is_held_at_20_percent.3 "$SHARE" "$WALL_SECONDS") Do: echo \$\$ > $MEMBERS_FILE; stress -c 1 -t 60s"
    elif [ "$THROTTLED" -le 0 ]; then
        wrong "$(msg ex07.the_hog_is_held_at_20_percent.4 "$SHARE" "$WALL_SECONDS") Do: stress -c 1 -t 60s"
    else
        ok "$(msg ex07.the_hog_is_held_at_20_percent.5 "$SHARE" "$WANT_CPU_PERCENT" "$WALL_SECONDS" "$THROTTLED")"
    fi
}

. "$SHUNIT2"

#!/usr/bin/env bash
# labs/exercises/01-cgroup.sh - exercise 01: a cgroup with 20% CPU and 200M memory.
#
# Checks, by reading the cgroup file system only:
#   v2 (/sys/fs/cgroup is cgroup2: Debian 12/13, Ubuntu 22.04/24.04)
#     /sys/fs/cgroup/$EX_CGROUP/cpu.max = "20000 100000" (or any quota = period/5)
#     /sys/fs/cgroup/$EX_CGROUP/memory.max = 209715200
#     (the files exist only when each parent's cgroup.subtree_control has
#     +cpu and +memory)
#   v1 (an older or hybrid machine: cpu and memory are v1 hierarchies)
#     /sys/fs/cgroup/cpu/$EX_CGROUP/cpu.cfs_quota_us / cpu.cfs_period_us = 20%
#     /sys/fs/cgroup/memory/$EX_CGROUP/memory.limit_in_bytes = 209715200
#
# Target: EX_CGROUP (default tuna-ex/student).
# Docs: Documentation/scheduler/sched-bwc.rst, admin-guide/cgroup-v2.rst,
# admin-guide/cgroup-v1/memory.rst; man 7 cgroups.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_CGROUP=${EX_CGROUP:-tuna-ex/student}

task() {
    local top=${EX_CGROUP%%/*} hand_down=''
    # A nested group's parent hands the controllers down too.
    case "$EX_CGROUP" in
    */*) hand_down="
      echo +cpu +memory > /sys/fs/cgroup/${EX_CGROUP%/*}/cgroup.subtree_control" ;;
    esac
    msg ex.task_title 01 "$(msg ex01.title)"
    echo
    msg ex01.task "$EX_CGROUP" "$EX_CGROUP" "$hand_down" "$EX_CGROUP" "$EX_CGROUP" "$top" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP"
    echo
}
exercise_start "$@"

# --- the kernel's state, read once ---------------------------------------------------------
VERSION=$(cgroup_version cpu)
CPU_DIR=$(cgroup_dir cpu "$EX_CGROUP")
MEMORY_DIR=$(cgroup_dir memory "$EX_CGROUP")

# --- the checks ----------------------------------------------------------------------------

test_the_cgroup_exists_for_cpu() {
    if [ -d "$CPU_DIR" ]; then
        ok "$(msg ex01.the_cgroup_exists_for_cpu.1 "$CPU_DIR" "$VERSION")"
    elif [ "$VERSION" = v1 ]; then
        wrong "$(msg ex01.the_cgroup_exists_for_cpu.2 "$CPU_DIR") Do: mkdir -p $CPU_DIR"
    else
        wrong "$(msg ex01.the_cgroup_exists_for_cpu.3 "$CPU_DIR") Do: mkdir -p $CPU_DIR"
    fi
}

test_the_cgroup_exists_for_memory() {
    if [ "$MEMORY_DIR" = "$CPU_DIR" ]; then
        ok "$(msg ex01.the_cgroup_exists_for_memory.1)"
    elif [ -d "$MEMORY_DIR" ]; then
        ok "$(msg ex01.the_cgroup_exists_for_memory.2 "$MEMORY_DIR")"
    else
        wrong "$(msg ex01.the_cgroup_exists_for_memory.3 "$MEMORY_DIR") Do: mkdir -p $MEMORY_DIR"
    fi
}

test_the_cpu_limit_is_20_percent() {
    [ -d "$CPU_DIR" ] || { not_checked "$(msg ex01.the_cpu_limit_is_20_percent.1)"; return 0; }
    explain_cpu_limit "$EX_CGROUP"
}

test_the_memory_limit_is_200M() {
    [ -d "$MEMORY_DIR" ] || { not_checked "$(msg ex01.the_memory_limit_is_200M.1)"; return 0; }
    explain_memory_limit "$EX_CGROUP"
}

. "$SHUNIT2"

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
    cat <<EOF
Exercise 01 - a cgroup with 20% CPU and 200M memory

Make the cgroup $EX_CGROUP and limit it to 20% of one CPU and 200M of memory,
as the post does for its container. Use the post's way (mkdir and echo into
the cgroup file system) or ours (bin/01-cgroup create).

  cgroup v2 (Debian 12/13, Ubuntu 22.04/24.04: \`stat -f -c %T /sys/fs/cgroup\`
  says cgroup2fs): one tree for every controller. A group has cpu.max and
  memory.max only when its parent hands those controllers down in
  cgroup.subtree_control, from the top (at the top systemd switches on only
  what its units use, often memory and pids but not cpu: cat it):
      echo +cpu +memory > /sys/fs/cgroup/cgroup.subtree_control
      mkdir -p /sys/fs/cgroup/$EX_CGROUP$hand_down
      echo ... > /sys/fs/cgroup/$EX_CGROUP/cpu.max       # "QUOTA PERIOD"
      echo ... > /sys/fs/cgroup/$EX_CGROUP/memory.max
  Your shell is in one of systemd's groups (cat /proc/self/cgroup:
  0::/user.slice/...); /sys/fs/cgroup/$top sits beside systemd's slices.

  cgroup v1 (an older or hybrid machine: \`mount | grep cgroup\` lists
  /sys/fs/cgroup/cpu and /sys/fs/cgroup/memory): one tree per controller,
  so the cgroup is made in the cpu tree AND the memory tree:
      mkdir -p /sys/fs/cgroup/cpu/$EX_CGROUP /sys/fs/cgroup/memory/$EX_CGROUP
      echo ... > /sys/fs/cgroup/cpu/$EX_CGROUP/cpu.cfs_quota_us
      echo ... > /sys/fs/cgroup/memory/$EX_CGROUP/memory.limit_in_bytes

  ours (either kind):
      bin/01-cgroup create $EX_CGROUP --cpu 20% --memory 200M

Careful: the post writes \`echo 20 > cpu.cfs_quota_us\` for "20%". Read
Documentation/scheduler/sched-bwc.rst: what unit is the quota in?

Check:   make exercise N=01     (or: labs/exercises/run 01)
Target:  EX_CGROUP=$EX_CGROUP
Undo:    rmdir the cgroup directories (children first), or bin/01-cgroup delete
EOF
}
exercise_start "$@"

# --- the kernel's state, read once ---------------------------------------------------------
VERSION=$(cgroup_version cpu)
CPU_DIR=$(cgroup_dir cpu "$EX_CGROUP")
MEMORY_DIR=$(cgroup_dir memory "$EX_CGROUP")

# --- the checks ----------------------------------------------------------------------------

test_the_cgroup_exists_for_cpu() {
    if [ -d "$CPU_DIR" ]; then
        ok "$CPU_DIR exists (cgroup $VERSION)"
    elif [ "$VERSION" = v1 ]; then
        wrong "there is no $CPU_DIR. In cgroup v1 each controller has its own tree," \
            "so the cgroup is made once per controller. Do: mkdir -p $CPU_DIR"
    else
        wrong "there is no $CPU_DIR. Do: mkdir -p $CPU_DIR"
    fi
}

test_the_cgroup_exists_for_memory() {
    if [ "$MEMORY_DIR" = "$CPU_DIR" ]; then
        ok "cgroup v2: one directory for every controller"
    elif [ -d "$MEMORY_DIR" ]; then
        ok "$MEMORY_DIR exists"
    else
        wrong "there is no $MEMORY_DIR. In cgroup v1 the memory controller has its own" \
            "tree, separate from cpu's. Do: mkdir -p $MEMORY_DIR"
    fi
}

test_the_cpu_limit_is_20_percent() {
    [ -d "$CPU_DIR" ] || { not_checked "the CPU limit (no cgroup yet)"; return 0; }
    explain_cpu_limit "$EX_CGROUP"
}

test_the_memory_limit_is_200M() {
    [ -d "$MEMORY_DIR" ] || { not_checked "the memory limit (no cgroup yet)"; return 0; }
    explain_memory_limit "$EX_CGROUP"
}

. "$SHUNIT2"

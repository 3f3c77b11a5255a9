#!/usr/bin/env bash
# labs/exercises/07b-oom.sh - exercise 07b: a memory hog killed at 200M.
#
# Checks, by reading the cgroup file system and /proc/swaps only:
#   the cgroup's memory limit is 200M = 209715200 bytes (as in exercise 01)
#   swap cannot take the hog instead (no swap, or the group's swap limit 0)
#   the kernel's OOM killer killed a process of the group:
#     v2 memory.events oom_kill (the group and its descendants)
#     v1 memory.oom_control oom_kill (the group itself)
#   the group's peak (v2 memory.peak, v1 memory.max_usage_in_bytes) reached
#   the limit, and why a hog near 200M is killed or not.
#
# Target: EX_CGROUP (default tuna-ex/student, exercise 01's group).
# Docs: Documentation/admin-guide/cgroup-v2.rst (memory.max, memory.events,
# memory.peak, memory.swap.max), admin-guide/cgroup-v1/memory.rst (2.4,
# 5.2, 10. OOM Control), man 1 stress.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_CGROUP=${EX_CGROUP:-tuna-ex/student}
MIB=1048576

task() {
    cat <<EOF
Exercise 07b - a memory hog killed at 200M: the OOM killer

Give the cgroup $EX_CGROUP (exercise 01's) a memory limit of 200M, and run a
memory hog larger than that in it: the kernel must kill it, and count the kill.
      # cgroup v2:
      echo 200M > /sys/fs/cgroup/$EX_CGROUP/memory.max
      echo 0 > /sys/fs/cgroup/$EX_CGROUP/memory.swap.max    # if the machine swaps
      echo \$\$ > /sys/fs/cgroup/$EX_CGROUP/cgroup.procs      # this shell joins
      # v1 (older or hybrid machine): memory.limit_in_bytes, and
      # memory.memsw.limit_in_bytes for swap, under /sys/fs/cgroup/memory/$EX_CGROUP
      stress --vm 1 --vm-bytes 250M -t 10s    # or: bin/07-stress -m 1 --vm-bytes 250M -t 10s
or ours, in one line:
      bin/01-cgroup set $EX_CGROUP --memory 200M
      bin/01-cgroup exec $EX_CGROUP -- bin/07-stress -m 1 --vm-bytes 250M -t 10s
stress then says "<-- worker N got signal 9": its worker was killed.
Then try --vm-bytes 198M, 199M and 200M, as the post does.

Think about: why is 200M killed under a 200M limit, and 198M not? What else
does the group pay for? Why does the post see "Killed" for 198M but
"worker got signal 9" for 200M?

Check:   make exercise N=07b     (or: labs/exercises/run 07b), after the hog
Target:  EX_CGROUP=$EX_CGROUP
Undo:    leave the cgroup's shell (exit); rmdir the cgroup
EOF
}
exercise_start "$@"

# --- the kernel's state, read once -----------------------------------------------------------
VERSION=$(cgroup_version memory)
MEMORY_DIR=$(cgroup_dir memory "$EX_CGROUP")
OOM_FILE=$(cgroup_oom_file "$EX_CGROUP")
OOM_KILLS=$(cgroup_oom_kills "$EX_CGROUP" 2>/dev/null || echo 0)
if [ "$VERSION" = v2 ]; then
    PEAK_FILE=memory.peak SWAP_FILE=memory.swap.max
else
    PEAK_FILE=memory.max_usage_in_bytes SWAP_FILE=memory.memsw.limit_in_bytes
fi
# /proc/swaps: a header line, then one line per swap area in use.
SWAP_AREAS=$(($(wc -l </proc/swaps) - 1))

# mib BYTES: BYTES in MiB, one decimal.
mib() {
    awk -v b="$1" -v m="$MIB" 'BEGIN { printf "%.1f", b / m }'
}

# --- the checks --------------------------------------------------------------------------------

test_the_cgroup_exists() {
    if [ -d "$MEMORY_DIR" ]; then
        ok "$MEMORY_DIR exists (cgroup $VERSION)"
    else
        wrong "there is no $MEMORY_DIR: make the cgroup of exercise 01 first" \
            "(labs/exercises/run 01 --task). Do: mkdir -p $MEMORY_DIR"
    fi
}

test_the_memory_limit_is_200M() {
    [ -d "$MEMORY_DIR" ] || { not_checked "the memory limit (no cgroup yet)"; return 0; }
    explain_memory_limit "$EX_CGROUP"
}

test_swap_cannot_take_the_hog() {
    [ -d "$MEMORY_DIR" ] || { not_checked "swap (no cgroup yet)"; return 0; }
    if [ "$SWAP_AREAS" -le 0 ]; then
        ok "no swap in use (/proc/swaps): past the limit, only the OOM killer can free memory"
        return 0
    fi
    local value
    value=$(cat "$MEMORY_DIR/$SWAP_FILE" 2>/dev/null)
    if [ "$VERSION" = v2 ] && [ "$value" = 0 ]; then
        ok "$SWAP_FILE is 0: the group may not swap, so past the limit the OOM killer acts"
    elif [ "$VERSION" = v1 ] && [ -n "$value" ] && [ "$value" = "$(cat "$MEMORY_DIR/memory.limit_in_bytes")" ]; then
        ok "$SWAP_FILE equals memory.limit_in_bytes: memory + swap may not pass the limit"
    elif [ -z "$value" ]; then
        ok "this kernel has no $SWAP_FILE (no swap accounting)"
    elif [ "$VERSION" = v2 ]; then
        wrong "this machine swaps ($SWAP_AREAS swap area(s) in /proc/swaps) and $SWAP_FILE is" \
            "$value: past memory.max the kernel moves the hog's pages to swap instead of" \
            "killing it, and the hog only slows down. Do: echo 0 > $MEMORY_DIR/$SWAP_FILE"
    else
        wrong "this machine swaps ($SWAP_AREAS swap area(s) in /proc/swaps) and $SWAP_FILE is" \
            "$value: v1 limits memory + swap there, so the hog goes to swap instead of" \
            "being killed. Do: echo 200M > $MEMORY_DIR/$SWAP_FILE"
    fi
}

test_the_oom_killer_killed_a_process_of_the_group() {
    [ -d "$MEMORY_DIR" ] || { not_checked "OOM kills (no cgroup yet)"; return 0; }
    local members=$MEMORY_DIR/cgroup.procs
    if [ "${OOM_KILLS:-0}" -gt 0 ]; then
        ok "$(basename "$OOM_FILE") oom_kill is $OOM_KILLS: the kernel's OOM killer" \
            "killed $OOM_KILLS process(es) of the group (SIGKILL, signal 9)"
    else
        wrong "$(basename "$OOM_FILE") oom_kill is 0: no process of the group has been" \
            "killed for memory yet. A hog must run inside the group (a process started" \
            "elsewhere is charged elsewhere) and touch more than the limit." \
            "Do: echo \$\$ > $members; stress --vm 1 --vm-bytes 250M -t 10s"
    fi
}

test_the_group_reached_its_limit() {
    [ "${OOM_KILLS:-0}" -gt 0 ] || { not_checked "the peak (nothing was killed yet)"; return 0; }
    local peak limit
    peak=$(cat "$MEMORY_DIR/$PEAK_FILE" 2>/dev/null)
    limit=$(cgroup_memory_limit "$EX_CGROUP")
    if [ -z "$peak" ] || [ "$limit" = max ]; then
        not_checked "the peak ($PEAK_FILE not readable, or no limit)"
        return 0
    fi
    # The post's three sizes, in bytes: each is N * 1024 * 1024 of touched pages.
    ok "$PEAK_FILE is $peak bytes ($(mib "$peak") MiB) under a limit of $limit: the" \
        "group reached its limit and the kernel killed rather than pass it." \
        "The threshold: --vm-bytes 198M touches 198 * $MIB = $((198 * MIB)) bytes," \
        "200M touches $((200 * MIB)). The group also pays for its shell, page" \
        "tables and the allocator's headers (about 1 MB), so 198M fits under" \
        "$WANT_MEMORY_BYTES and 200M cannot; whatever else runs in the group lowers" \
        "the threshold (in the post, 198M was killed too)."
}

. "$SHUNIT2"

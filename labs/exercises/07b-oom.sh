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
    msg ex.task_title 07b "$(msg ex07b.title)"
    echo
    msg ex07b.task "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP" \
        "$EX_CGROUP" "$EX_CGROUP" "$EX_CGROUP"
    echo
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
        ok "$(msg ex07b.exists.1 "$MEMORY_DIR" "$VERSION")"
    else
        wrong "$(msg ex07b.exists.2 "$MEMORY_DIR") Do: mkdir -p $MEMORY_DIR"
    fi
}

test_the_memory_limit_is_200M() {
    [ -d "$MEMORY_DIR" ] || { not_checked "$(msg ex01.the_memory_limit_is_200M.1)"; return 0; }
    explain_memory_limit "$EX_CGROUP"
}

test_swap_cannot_take_the_hog() {
    [ -d "$MEMORY_DIR" ] || { not_checked "$(msg ex07b.swap.0)"; return 0; }
    if [ "$SWAP_AREAS" -le 0 ]; then
        ok "$(msg ex07b.swap.1)"
        return 0
    fi
    local value
    value=$(cat "$MEMORY_DIR/$SWAP_FILE" 2>/dev/null)
    if [ "$VERSION" = v2 ] && [ "$value" = 0 ]; then
        ok "$(msg ex07b.swap.2 "$SWAP_FILE")"
    elif [ "$VERSION" = v1 ] && [ -n "$value" ] && [ "$value" = "$(cat "$MEMORY_DIR/memory.limit_in_bytes")" ]; then
        ok "$(msg ex07b.swap.3 "$SWAP_FILE")"
    elif [ -z "$value" ]; then
        ok "$(msg ex07b.swap.4 "$SWAP_FILE")"
    elif [ "$VERSION" = v2 ]; then
        wrong "$(msg ex07b.swap.5 "$SWAP_AREAS" "$SWAP_FILE" "$value") Do: echo 0 > $MEMORY_DIR/$SWAP_FILE"
    else
        wrong "$(msg ex07b.swap.6 "$SWAP_AREAS" "$SWAP_FILE" "$value") Do: echo 200M > $MEMORY_DIR/$SWAP_FILE"
    fi
}

test_the_oom_killer_killed_a_process_of_the_group() {
    [ -d "$MEMORY_DIR" ] || { not_checked "$(msg ex07b.oom.0)"; return 0; }
    if [ "${OOM_KILLS:-0}" -gt 0 ]; then
        ok "$(msg ex07b.oom.1 "$(basename "$OOM_FILE")" "$OOM_KILLS" "$OOM_KILLS")"
    else
        wrong "$(msg ex07b.oom.2 "$(basename "$OOM_FILE")")" \
            "Do: echo \$\$ > $MEMORY_DIR/cgroup.procs; stress --vm 1 --vm-bytes 250M -t 10s"
    fi
}

test_the_group_reached_its_limit() {
    [ "${OOM_KILLS:-0}" -gt 0 ] || { not_checked "$(msg ex07b.peak.0)"; return 0; }
    local peak limit
    peak=$(cat "$MEMORY_DIR/$PEAK_FILE" 2>/dev/null)
    limit=$(cgroup_memory_limit "$EX_CGROUP")
    if [ -z "$peak" ] || [ "$limit" = max ]; then
        not_checked "$(msg ex07b.peak.1 "$PEAK_FILE")"
        return 0
    fi
    # The post's sizes, in bytes: each is N * 1024 * 1024 of touched pages.
    ok "$(msg ex07b.peak.2 "$PEAK_FILE" "$peak" "$(mib "$peak")" "$limit" \
        $((198 * MIB)) $((200 * MIB)) "$WANT_MEMORY_BYTES")"
}

. "$SHUNIT2"

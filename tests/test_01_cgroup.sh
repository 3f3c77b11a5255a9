#!/usr/bin/env bash
# tests/test_01_cgroup.sh - 01-cgroup makes control groups and their limits
# bite.
#
# Each test checks one behaviour on the kind of machine this is, read from
# the kernel: cgroup v2 (/sys/fs/cgroup is cgroup2, every stock Debian and
# Ubuntu: cpu.max, memory.max, memory.events, cgroup.subtree_control,
# cgroup.kill, the single "0::/PATH" line of /proc/PID/cgroup), or v1 and
# hybrid (one hierarchy per controller: cpu.cfs_quota_us,
# memory.limit_in_bytes, memory.oom_control, cpuacct.usage, one line per
# hierarchy).  A test branches on the mode; none is v1-only or v2-only, so
# none skips for being on the other kind.  tests/vm runs this suite on pure
# v2 (make check's test_vm), the student VM on a stock Debian.
#
# Every test works under its own parent group (tuna-test-XXXX) in every
# hierarchy, removed at tearDown by killing what is left in it and rmdir'ing
# bottom-up with plain shell, not with the tool under test.  The kernel's
# side is read directly: the cgroupfs files and /proc/PID/cgroup, never
# 01-cgroup's own report (except where `stat` itself is the behaviour, and
# then it is compared with the files).
#
# The v2 code paths also run against a plain directory laid out like
# cgroup2 (--root), to see which files get which values on any machine, and,
# on a hybrid machine, against its cgroup2 mount (membership, cgroup.kill).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

CG=$TUNA_BIN/01-cgroup
STRESS=$TUNA_BIN/07-stress
MIB=1048576
CGROUP_ROOT=/sys/fs/cgroup

# v1_mount CONTROLLER: where the v1 hierarchy holding CONTROLLER is mounted
# (mountinfo: field 5 the mount point, the last field the super options).
v1_mount() {
    awk -v c="$1" '/ - cgroup / { n = split($NF, o, ",");
        for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}

# The cgroup2 mount, if any.
v2_mount() { awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo; }

# MODE: v2 when /sys/fs/cgroup itself is cgroup2; else v1, or hybrid when a
# cgroup2 mount sits beside the v1 hierarchies.
if [ "$(stat -f -c %T "$CGROUP_ROOT" 2>/dev/null)" = cgroup2fs ]; then
    MODE=v2
    V2_MNT=$CGROUP_ROOT
    CPU_MNT=$V2_MNT CPUACCT_MNT=$V2_MNT MEMORY_MNT=$V2_MNT PIDS_MNT=$V2_MNT
    HIERARCHIES=("$V2_MNT")
else
    CPU_MNT=$(v1_mount cpu)
    CPUACCT_MNT=$(v1_mount cpuacct)
    MEMORY_MNT=$(v1_mount memory)
    PIDS_MNT=$(v1_mount pids)
    # 01-cgroup makes every group in the devices hierarchy too (--devices).
    DEVICES_MNT=$(v1_mount devices)
    V2_MNT=$(v2_mount)
    MODE=v1
    [ -n "$V2_MNT" ] && MODE=hybrid
    HIERARCHIES=()
    for mnt in "$CPU_MNT" "$CPUACCT_MNT" "$MEMORY_MNT" "$PIDS_MNT" "$DEVICES_MNT"; do
        [ -n "$mnt" ] && HIERARCHIES+=("$mnt")
    done
fi

suite_setup() {
    echo "cgroup mode: $MODE (${HIERARCHIES[*]:-no hierarchy})"
}

# is_v2: the controllers are cgroup2's (else v1's, on a v1 or hybrid machine).
is_v2() { [ "$MODE" = v2 ]; }

# v2_offers CONTROLLER...: each is in the cgroup2 root's cgroup.controllers.
v2_offers() {
    local c
    for c in "$@"; do
        grep -qw "$c" "$V2_MNT/cgroup.controllers" || return 1
    done
}

# remove_cgroup_tree NAME: in every hierarchy, SIGKILL what is in NAME's
# subtree until it is empty, then rmdir it children first.
remove_cgroup_tree() {
    local mnt pids
    for mnt in "${HIERARCHIES[@]}" "$V2_MNT"; do
        if [ -z "$mnt" ] || [ ! -d "$mnt/$1" ]; then continue; fi
        for _ in $(seq 100); do
            pids=$(find "$mnt/$1" -name cgroup.procs -exec cat {} + 2>/dev/null)
            [ -z "$pids" ] && break
            # shellcheck disable=SC2086  # one PID a word
            kill -KILL $pids 2>/dev/null
            sleep 0.05
        done
        find "$mnt/$1" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
}

# sandbox: root, the hierarchies this suite reads (v2: cpu, memory and pids
# offered by cgroup2; v1: the cpu, cpuacct, memory and pids hierarchies),
# and PARENT: a unique parent group name, removed at tearDown.  Returns 1
# (skipped) otherwise.
sandbox() {
    require_root || return 1
    require_command jq || return 1
    if is_v2; then
        require_feature "cpu, memory and pids in $V2_MNT/cgroup.controllers" \
            v2_offers cpu memory pids || return 1
    else
        require_feature "cgroup v1 cpu, cpuacct, memory and pids hierarchies" \
            test -n "$CPU_MNT" -a -n "$CPUACCT_MNT" -a -n "$MEMORY_MNT" -a -n "$PIDS_MNT" ||
            return 1
    fi
    PARENT=$(unique_name tuna-test-)
    on_cleanup remove_cgroup_tree "$PARENT"
}

# exists_anywhere NAME: NAME is a directory in at least one hierarchy.
exists_anywhere() {
    local mnt
    for mnt in "${HIERARCHIES[@]}" "$V2_MNT"; do
        [ -n "$mnt" ] && [ -d "$mnt/$1" ] && return 0
    done
    return 1
}

# key FILE KEY: the number after KEY in a flat-keyed file (cpu.stat,
# memory.events, pids.events, memory.oom_control).
key() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# oom_kills GROUP: the kernel's count of OOM kills in GROUP: v2
# memory.events (the group and its descendants), v1 memory.oom_control.
oom_kills() {
    if is_v2; then
        key "$MEMORY_MNT/$1/memory.events" oom_kill
    else
        key "$MEMORY_MNT/$1/memory.oom_control" oom_kill
    fi
}

# cpu_usage_ns GROUP: the CPU time the group used: v2 cpu.stat usage_usec
# (µs), v1 cpuacct.usage (ns).
cpu_usage_ns() {
    if is_v2; then
        echo $(($(key "$CPU_MNT/$1/cpu.stat" usage_usec) * 1000))
    else
        cat "$CPUACCT_MNT/$1/cpuacct.usage"
    fi
}

# memory_peak_file GROUP: where the kernel keeps the most memory the group
# ever held: v2 memory.peak (Linux 5.19), v1 memory.max_usage_in_bytes.
memory_peak_file() {
    if is_v2; then echo "$MEMORY_MNT/$1/memory.peak"; else echo "$MEMORY_MNT/$1/memory.max_usage_in_bytes"; fi
}

# run_watching_memory GROUP CMD...: run CMD (its output into $TEST_TMP/out
# and err); sets RC, and PEAK: the most memory GROUP held, the kernel's own
# peak where it keeps one, else (v2 before Linux 5.19) memory.current
# sampled while CMD runs.
run_watching_memory() {
    local group=$1 peak_file pid now
    shift
    peak_file=$(memory_peak_file "$group")
    RC=0 PEAK=0
    "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
    pid=$!
    if [ ! -f "$peak_file" ]; then
        while kill -0 "$pid" 2>/dev/null; do
            now=$(cat "$MEMORY_MNT/$group/memory.current" 2>/dev/null || echo 0)
            [ "$now" -gt "$PEAK" ] && PEAK=$now
            sleep 0.05
        done
    fi
    wait "$pid" || RC=$?
    if [ -f "$peak_file" ]; then PEAK=$(cat "$peak_file"); fi
}

# membership PID CONTROLLER: PID's line of /proc/PID/cgroup for the
# hierarchy holding CONTROLLER, path only: v2 "0::/PATH", v1 "N:cpu:/PATH".
membership() {
    if is_v2; then
        sed -n 's/^0:://p' "/proc/$1/cgroup"
    else
        awk -F: -v c="$2" '{ n = split($2, l, ","); for (i = 1; i <= n; i++)
            if (l[i] == c) { print $3; exit } }' "/proc/$1/cgroup"
    fi
}

# start_member GROUP: a sleep inside GROUP, in $MEMBER (killed at tearDown).
start_member() {
    "$CG" exec "$1" -- sleep 300 &
    MEMBER=$!
    on_cleanup kill -KILL "$MEMBER"
    for _ in $(seq 50); do
        [ "$(membership "$MEMBER" cpu 2>/dev/null)" = "/$1" ] && return 0
        sleep 0.02
    done
    fail "sleep did not join $1"
}

# --- info -----------------------------------------------------------------------

test_info_finds_each_controller_where_mountinfo_says() {
    sandbox || return 0
    local c version=1
    is_v2 && version=2
    "$CG" info --json >"$TEST_TMP/info" || fail "info failed"
    assertEquals "mode" "$MODE" "$(jq -r .mode "$TEST_TMP/info")"
    assertEquals "cpu" "$CPU_MNT" "$(jq -r .controllers.cpu.path "$TEST_TMP/info")"
    assertEquals "cpuacct (v2: cpu.stat)" "$CPUACCT_MNT" \
        "$(jq -r .controllers.cpuacct.path "$TEST_TMP/info")"
    assertEquals "memory" "$MEMORY_MNT" "$(jq -r .controllers.memory.path "$TEST_TMP/info")"
    assertEquals "pids" "$PIDS_MNT" "$(jq -r .controllers.pids.path "$TEST_TMP/info")"
    for c in cpu memory pids; do
        assertEquals "$c is v$version" "$version" \
            "$(jq -r ".controllers.$c.version" "$TEST_TMP/info")"
    done
    if is_v2; then
        assertEquals "one hierarchy" 1 "$(jq '.hierarchies | length' "$TEST_TMP/info")"
        assertEquals "its controllers: cgroup.controllers" \
            "$(cat "$V2_MNT/cgroup.controllers")" "$(jq -r '.hierarchies[0].controllers' "$TEST_TMP/info")"
    fi
}

test_root_that_is_not_a_cgroup_file_system_is_refused() {
    sandbox || return 0
    assert_one_line_failure_with_hint "$CG" --root "$TEST_TMP" info
    assertEquals "exit status" 1 "$RC"
}

# assert_one_line_failure_with_hint CMD...: exit 1, a message naming the
# tool, and a second line "hint: ...".  Sets RC.
assert_one_line_failure_with_hint() {
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$@"
    assertEquals "exit status of: $*" 1 "$RC"
    assertTrue "message names the tool: $(cat "$TEST_TMP/err")" \
        "grep -q '^01-cgroup: ' '$TEST_TMP/err'"
    assertTrue "a hint line: $(cat "$TEST_TMP/err")" "grep -q '^hint: ' '$TEST_TMP/err'"
}

# --- create and set -------------------------------------------------------------

# assert_cpu_limit GROUP QUOTA PERIOD: v2 cpu.max "QUOTA PERIOD" (one file,
# "max" for no limit); v1 cpu.cfs_quota_us and cpu.cfs_period_us (-1).
assert_cpu_limit() {
    if is_v2; then
        assertEquals "cpu.max of $1" "$2 $3" "$(cat "$CPU_MNT/$1/cpu.max")"
    else
        assertEquals "cpu.cfs_quota_us of $1" "${2/#max/-1}" "$(cat "$CPU_MNT/$1/cpu.cfs_quota_us")"
        assertEquals "cpu.cfs_period_us of $1" "$3" "$(cat "$CPU_MNT/$1/cpu.cfs_period_us")"
    fi
}

# assert_memory_limit GROUP BYTES: v2 memory.max, v1 memory.limit_in_bytes.
assert_memory_limit() {
    if is_v2; then
        assertEquals "memory.max of $1" "$2" "$(cat "$MEMORY_MNT/$1/memory.max")"
    else
        assertEquals "memory.limit_in_bytes of $1" "$2" \
            "$(cat "$MEMORY_MNT/$1/memory.limit_in_bytes")"
    fi
}

test_create_writes_cpu_memory_and_pids_limits() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" --cpu 20% --memory 100M --pids 50 || fail "create failed"
    assert_cpu_limit "$PARENT/grp" 20000 100000
    assert_memory_limit "$PARENT/grp" $((100 * MIB))
    assertEquals "pids.max" 50 "$(cat "$PIDS_MNT/$PARENT/grp/pids.max")"
}

# v1: the group is a directory in every hierarchy.  v2: one directory, and
# each group on the way down hands cpu, memory and pids to its children in
# cgroup.subtree_control, so the new group has cpu.max and memory.max.
test_create_makes_the_group_where_each_controller_lives() {
    sandbox || return 0
    local mnt dir c
    "$CG" create "$PARENT/grp" --cpu 150% || fail "create failed"
    for mnt in "${HIERARCHIES[@]}"; do
        assertTrue "$mnt/$PARENT/grp exists" "[ -f '$mnt/$PARENT/grp/cgroup.procs' ]"
    done
    if is_v2; then
        for dir in "$V2_MNT" "$V2_MNT/$PARENT"; do
            for c in cpu memory pids; do
                assertTrue "$c in $dir/cgroup.subtree_control ($(cat "$dir/cgroup.subtree_control"))" \
                    "grep -qw $c '$dir/cgroup.subtree_control'"
            done
        done
        assertEquals "the new group's cgroup.controllers" "cpu memory pids" \
            "$(tr ' ' '\n' <"$V2_MNT/$PARENT/grp/cgroup.controllers" | grep -xE 'cpu|memory|pids' | tr '\n' ' ' | sed 's/ $//')"
        assertEquals "nothing handed down from the leaf itself (it may hold processes)" "" \
            "$(cat "$V2_MNT/$PARENT/grp/cgroup.subtree_control")"
    fi
    # 150% is one and a half CPUs: 150000 us in every 100000 us period.
    assert_cpu_limit "$PARENT/grp" 150000 100000
}

test_set_changes_the_limits_of_an_existing_group() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" --memory 100M || fail "create failed"
    "$CG" set "$PARENT/grp" --cpu-quota 50000 --cpu-period 200000 --memory 64M \
        --pids max || fail "set failed"
    assert_cpu_limit "$PARENT/grp" 50000 200000
    assert_memory_limit "$PARENT/grp" $((64 * MIB))
    assertEquals "pids.max" max "$(cat "$PIDS_MNT/$PARENT/grp/pids.max")"
    # --cpu max lifts the limit (and, without --cpu-period, sets the default period).
    "$CG" set "$PARENT/grp" --cpu max || fail "set --cpu max failed"
    assert_cpu_limit "$PARENT/grp" max 100000
    assert_one_line_failure_with_hint "$CG" set "$PARENT/none" --memory 1M
    assertFalse "set made no group" "exists_anywhere '$PARENT/none'"
}

# v2 limits swap on its own (memory.swap.max); v1 limits memory+swap
# (memory.memsw.limit_in_bytes), kept >= the memory limit at every moment,
# so the tool writes the two files in the order the kernel accepts.
test_swap_is_limited_where_each_version_keeps_it() {
    sandbox || return 0
    if is_v2; then
        local dir=$MEMORY_MNT/$PARENT/grp
        "$CG" create "$PARENT/grp" --memory 100M --swap 50M || fail "create failed"
        require_feature "v2 swap accounting (memory.swap.max)" test -f "$dir/memory.swap.max" ||
            return 0
        assertEquals "memory.max" $((100 * MIB)) "$(cat "$dir/memory.max")"
        assertEquals "memory.swap.max: swap alone" $((50 * MIB)) "$(cat "$dir/memory.swap.max")"
        "$CG" set "$PARENT/grp" --memory 300M --swap 0 || fail "raising failed"
        assertEquals "raised memory.max" $((300 * MIB)) "$(cat "$dir/memory.max")"
        assertEquals "no swap" 0 "$(cat "$dir/memory.swap.max")"
        # --swap alone is a limit of its own in v2.
        "$CG" create "$PARENT/other" --swap 10M || fail "create --swap alone failed"
        assertEquals "other's memory.max" max "$(cat "$MEMORY_MNT/$PARENT/other/memory.max")"
        assertEquals "other's memory.swap.max" $((10 * MIB)) \
            "$(cat "$MEMORY_MNT/$PARENT/other/memory.swap.max")"
        return 0
    fi
    require_feature "v1 swap accounting (memory.memsw.limit_in_bytes)" \
        test -f "$MEMORY_MNT/memory.memsw.limit_in_bytes" || return 0
    local dir=$MEMORY_MNT/$PARENT/grp
    "$CG" create "$PARENT/grp" --memory 100M --swap 50M || fail "create failed"
    assertEquals "limit" $((100 * MIB)) "$(cat "$dir/memory.limit_in_bytes")"
    assertEquals "memsw" $((150 * MIB)) "$(cat "$dir/memory.memsw.limit_in_bytes")"
    # Raising the limit above the old memsw needs memsw written first.
    "$CG" set "$PARENT/grp" --memory 300M --swap 0 || fail "raising failed"
    assertEquals "raised limit" $((300 * MIB)) "$(cat "$dir/memory.limit_in_bytes")"
    assertEquals "raised memsw" $((300 * MIB)) "$(cat "$dir/memory.memsw.limit_in_bytes")"
    # Lowering needs the limit written first.
    "$CG" set "$PARENT/grp" --memory 50M --swap 10M || fail "lowering failed"
    assertEquals "lowered limit" $((50 * MIB)) "$(cat "$dir/memory.limit_in_bytes")"
    assertEquals "lowered memsw" $((60 * MIB)) "$(cat "$dir/memory.memsw.limit_in_bytes")"
    # --swap alone on a group with no memory limit: bad usage, nothing made.
    assert_one_line_failure 2 "$CG" create "$PARENT/other" --swap 10M
    assertFalse "nothing made" "exists_anywhere '$PARENT/other'"
}

# --- the limits bite ------------------------------------------------------------

test_cpu_quota_holds_at_20_percent() {
    sandbox || return 0
    local usage0 usage1 t0 t1 share throttled
    "$CG" create "$PARENT/cpu20" --cpu 20% || fail "create failed"
    usage0=$(cpu_usage_ns "$PARENT/cpu20")
    t0=$(date +%s%N)
    "$CG" exec "$PARENT/cpu20" -- "$STRESS" -q -c 1 -t 6s || fail "stress failed"
    t1=$(date +%s%N)
    usage1=$(cpu_usage_ns "$PARENT/cpu20")
    # The group's CPU time (counted by the kernel) over the run's wall time.
    share=$(awk -v u=$((usage1 - usage0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", u / t }')
    assertTrue "CPU share $share is within 0.17..0.23" \
        "awk -v s=$share 'BEGIN { exit !(s >= 0.17 && s <= 0.23) }'"
    throttled=$(key "$CPU_MNT/$PARENT/cpu20/cpu.stat" nr_throttled)
    assertTrue "throttled periods ($throttled) > 0" "[ '${throttled:-0}' -gt 0 ]"
}

test_cpu_quota_of_20_microseconds_is_refused_with_a_hint() {
    sandbox || return 0
    local file=cpu.cfs_quota_us
    is_v2 && file=cpu.max
    assert_one_line_failure_with_hint "$CG" create "$PARENT/grp" --cpu-quota 20
    assertTrue "the kernel's EINVAL for $file: $(cat "$TEST_TMP/err")" \
        "grep -q '$file: Invalid argument' '$TEST_TMP/err'"
    assertTrue "the hint says microseconds" "grep -qi 'microseconds' '$TEST_TMP/err'"
    assertFalse "the failed create left nothing" "exists_anywhere '$PARENT/grp'"
}

test_memory_limit_kills_a_150M_hog() {
    sandbox || return 0
    "$CG" create "$PARENT/mem" --memory 100M || fail "create failed"
    assertEquals "no OOM kill yet" 0 "$(oom_kills "$PARENT/mem")"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
        "$CG" exec "$PARENT/mem" -- "$STRESS" -m 1 --vm-bytes 150M --vm-keep -t 5s
    assertEquals "stress exit status (a worker was killed)" 1 "$RC"
    assertTrue "the kernel counted an OOM kill" "[ '$(oom_kills "$PARENT/mem")' -ge 1 ]"
}

test_memory_limit_spares_a_40M_hog() {
    sandbox || return 0
    "$CG" create "$PARENT/mem" --memory 100M || fail "create failed"
    run_watching_memory "$PARENT/mem" \
        "$CG" exec "$PARENT/mem" -- "$STRESS" -q -m 1 --vm-bytes 40M --vm-keep -t 2s
    assertEquals "stress exit status" 0 "$RC"
    assertEquals "no OOM kill" 0 "$(oom_kills "$PARENT/mem")"
    assertTrue "the hog was charged here (peak $PEAK >= 40M)" "[ '$PEAK' -ge $((40 * MIB)) ]"
}

# A child's own higher limit does not lift its parent's: the hog in the
# child is killed at the parent's 100M.
test_parent_memory_limit_binds_its_child() {
    sandbox || return 0
    is_v2 || assertEquals "v1 memory is hierarchical" 1 "$(cat "$MEMORY_MNT/memory.use_hierarchy")"
    "$CG" create "$PARENT" --memory 100M || fail "create parent failed"
    "$CG" create "$PARENT/child" --memory 200M || fail "create child failed"
    run_watching_memory "$PARENT" \
        "$CG" exec "$PARENT/child" -- "$STRESS" -m 1 --vm-bytes 150M --vm-keep -t 5s
    assertEquals "stress exit status (killed under the child's 200M)" 1 "$RC"
    # Both count the kill in the victim's own group.
    assertTrue "OOM kill in the child" "[ '$(oom_kills "$PARENT/child")' -ge 1 ]"
    assertTrue "the parent's usage ($PEAK) never passed its 100M" "[ '$PEAK' -le $((100 * MIB)) ]"
    if is_v2; then
        # memory.events.local: what happened at this group's own limit.
        assertTrue "the parent's limit was the one hit (its memory.events.local oom)" \
            "[ '$(key "$MEMORY_MNT/$PARENT/memory.events.local" oom)' -ge 1 ]"
        assertEquals "not the child's" 0 "$(key "$MEMORY_MNT/$PARENT/child/memory.events.local" oom)"
    fi
}

# v1 lets a group with processes have child groups with limits of their
# own.  v2 does not ("no internal processes", cgroup-v2.rst): a non-root
# group that hands controllers down holds no process, so the tool refuses
# before it makes the child, with a hint, and changes nothing.
test_a_group_with_members_takes_limited_children_in_v1_only() {
    sandbox || return 0
    "$CG" create "$PARENT/busy" || fail "create failed"
    start_member "$PARENT/busy"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$CG" create "$PARENT/busy/child" --memory 10M
    if is_v2; then
        assertEquals "exit status: $(cat "$TEST_TMP/err")" 1 "$RC"
        assertTrue "EBUSY: $(cat "$TEST_TMP/err")" \
            "grep -q '^01-cgroup: .*Device or resource busy' '$TEST_TMP/err'"
        assertTrue "the hint names the rule: $(cat "$TEST_TMP/err")" \
            "grep -q '^hint: .*no processes in a group that hands controllers' '$TEST_TMP/err'"
        assertFalse "no child left behind" "[ -e '$V2_MNT/$PARENT/busy/child' ]"
        assertEquals "busy's subtree_control untouched" "" \
            "$(cat "$V2_MNT/$PARENT/busy/cgroup.subtree_control")"
    else
        assertEquals "exit status: $(cat "$TEST_TMP/err")" 0 "$RC"
        assert_memory_limit "$PARENT/busy/child" $((10 * MIB))
    fi
    assertEquals "the member stayed" "/$PARENT/busy" "$(membership "$MEMBER" memory)"
}

test_pids_max_refuses_the_fork_too_many() {
    sandbox || return 0
    "$CG" create "$PARENT/pids" --pids 3 || fail "create failed"
    assertEquals "pids.max" 3 "$(cat "$PIDS_MNT/$PARENT/pids/pids.max")"
    # The shell and three sleeps: the fourth process is one too many.
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
        "$CG" exec "$PARENT/pids" -- sh -c 'sleep 1 & sleep 1 & sleep 1 & wait'
    assertTrue "the shell could not fork: $(cat "$TEST_TMP/err")" \
        "grep -qiE 'fork|resource temporarily unavailable' '$TEST_TMP/err'"
    assertTrue "pids.events counts the refusal ($(cat "$PIDS_MNT/$PARENT/pids/pids.events"))" \
        "[ '$(key "$PIDS_MNT/$PARENT/pids/pids.events" max)' -ge 1 ]"
}

# --- membership -------------------------------------------------------------------

test_add_moves_a_process_into_every_hierarchy() {
    sandbox || return 0
    local c mnt
    "$CG" create "$PARENT/grp" || fail "create failed"
    sleep 300 &
    local pid=$!
    on_cleanup kill -KILL "$pid"
    "$CG" add "$PARENT/grp" "$pid" || fail "add failed"
    if is_v2; then
        assertEquals "the one line of /proc/$pid/cgroup" "0::/$PARENT/grp" \
            "$(cat "/proc/$pid/cgroup")"
    fi
    for c in cpu cpuacct memory pids; do
        is_v2 && [ "$c" = cpuacct ] && continue
        mnt=$CPU_MNT
        case $c in cpuacct) mnt=$CPUACCT_MNT ;; memory) mnt=$MEMORY_MNT ;; pids) mnt=$PIDS_MNT ;; esac
        assertEquals "$c's line of /proc/$pid/cgroup" "/$PARENT/grp" "$(membership "$pid" "$c")"
        assertTrue "listed in $mnt/$PARENT/grp/cgroup.procs" \
            "grep -qx '$pid' '$mnt/$PARENT/grp/cgroup.procs'"
    done
    assert_one_line_failure 2 "$CG" add "$PARENT/grp" 12abc
}

test_exec_returns_the_command_status_or_126_127() {
    sandbox || return 0
    local line=':memory:'
    is_v2 && line='^0::'
    "$CG" create "$PARENT/grp" || fail "create failed"
    "$CG" exec "$PARENT/grp" -- sh -c "grep '$line' /proc/self/cgroup; exit 3" \
        >"$TEST_TMP/out"
    assertEquals "the command's own status" 3 $?
    assertEquals "the command ran inside" "/$PARENT/grp" "$(cut -d: -f3- "$TEST_TMP/out")"
    assert_one_line_failure 127 "$CG" exec "$PARENT/grp" -- /nonexistent/command
    : >"$TEST_TMP/not-executable"
    assert_one_line_failure 126 "$CG" exec "$PARENT/grp" -- "$TEST_TMP/not-executable"
}

# --- stat ---------------------------------------------------------------------------

# kernel_cpu_counters GROUP: "NR_THROTTLED THROTTLED_US USAGE_US" from the
# group's files: v2 cpu.stat (µs), v1 cpu.stat throttled_time and
# cpuacct.usage (ns).
kernel_cpu_counters() {
    local stat=$CPU_MNT/$1/cpu.stat throttled_us
    if is_v2; then
        throttled_us=$(key "$stat" throttled_usec)
    else
        throttled_us=$(($(key "$stat" throttled_time) / 1000))
    fi
    echo "$(key "$stat" nr_throttled) $throttled_us $(($(cpu_usage_ns "$1") / 1000))"
}

# assert_between WHAT LOW VALUE HIGH: LOW <= VALUE <= HIGH.
assert_between() {
    assertTrue "$1: $3 is not within the kernel's $2..$4" "[ '$2' -le '$3' ] && [ '$3' -le '$4' ]"
}

test_stat_json_reports_the_kernel_counters_in_microseconds() {
    sandbox || return 0
    local g=$PARENT/grp usage_us swap_file
    "$CG" create "$g" --cpu 20% --memory 64M --pids 20 || fail "create failed"
    "$CG" exec "$g" -- "$STRESS" -q -c 1 -t 1s || fail "stress failed"
    start_member "$g"
    # The kernel's counters just before and just after the tool reads them:
    # they may still move (the member's start runs under the quota too).
    local before after
    before=$(kernel_cpu_counters "$g")
    "$CG" stat "$g" --json >"$TEST_TMP/stat" || fail "stat failed"
    after=$(kernel_cpu_counters "$g")
    jq -e . "$TEST_TMP/stat" >/dev/null || fail "not JSON: $(cat "$TEST_TMP/stat")"
    assertEquals "quota_us" 20000 "$(jq .cpu.quota_us "$TEST_TMP/stat")"
    assertEquals "period_us" 100000 "$(jq .cpu.period_us "$TEST_TMP/stat")"
    assert_between "nr_throttled (cpu.stat)" "$(echo "$before" | cut -d' ' -f1)" \
        "$(jq .cpu.nr_throttled "$TEST_TMP/stat")" "$(echo "$after" | cut -d' ' -f1)"
    assert_between "throttled_us (v2 throttled_usec; v1 throttled_time / 1000)" \
        "$(echo "$before" | cut -d' ' -f2)" "$(jq .cpu.throttled_us "$TEST_TMP/stat")" \
        "$(echo "$after" | cut -d' ' -f2)"
    usage_us=$(jq .cpu.usage_us "$TEST_TMP/stat")
    assert_between "usage_us (v2 usage_usec; v1 cpuacct.usage / 1000)" \
        "$(echo "$before" | cut -d' ' -f3)" "$usage_us" "$(echo "$after" | cut -d' ' -f3)"
    assertTrue "usage_us ($usage_us) shows the hog's ~0.2 s" "[ $usage_us -ge 100000 ]"
    assertEquals "limit_bytes" $((64 * MIB)) "$(jq .memory.limit_bytes "$TEST_TMP/stat")"
    assertEquals "oom_kills" "$(oom_kills "$g")" "$(jq .memory.oom_kills "$TEST_TMP/stat")"
    assertEquals "pids limit" 20 "$(jq .pids.limit "$TEST_TMP/stat")"
    assertEquals "members" "[$MEMBER]" "$(jq -c .members "$TEST_TMP/stat")"
    swap_file=$MEMORY_MNT/$g/memory.memsw.limit_in_bytes
    is_v2 && swap_file=$MEMORY_MNT/$g/memory.swap.max
    if [ -f "$swap_file" ]; then
        assertEquals "swap unlimited" '"max"' "$(jq .memory.swap_limit_bytes "$TEST_TMP/stat")"
    fi
}

# --- delete -----------------------------------------------------------------------

test_delete_removes_an_empty_group_everywhere() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" --memory 10M || fail "create failed"
    "$CG" delete "$PARENT/grp" || fail "delete failed"
    assertFalse "gone in every hierarchy" "exists_anywhere '$PARENT/grp'"
    assertTrue "the parent stays" "[ -d '$MEMORY_MNT/$PARENT' ]"
}

test_delete_with_members_fails_with_ebusy_and_a_hint() {
    sandbox || return 0
    local mnt
    "$CG" create "$PARENT/grp" || fail "create failed"
    start_member "$PARENT/grp"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$CG" delete "$PARENT/grp"
    assertEquals "exit status" 1 "$RC"
    assertTrue "the kernel's EBUSY: $(cat "$TEST_TMP/err")" \
        "grep -q '^01-cgroup: rmdir .*: Device or resource busy' '$TEST_TMP/err'"
    assertTrue "a hint to use --kill" "grep -q '^hint: .*--kill' '$TEST_TMP/err'"
    for mnt in "${HIERARCHIES[@]}"; do
        assertTrue "still in $mnt" "[ -d '$mnt/$PARENT/grp' ]"
    done
    assertTrue "the member lives" "kill -0 $MEMBER"
    is_v2 && return 0
    # v1: a member in one hierarchy only (moved there by hand): that rmdir
    # is tried first, so the refusal leaves the group whole everywhere.
    "$CG" create "$PARENT/half" || fail "create half failed"
    sleep 300 &
    local pid=$!
    on_cleanup kill -KILL "$pid"
    echo "$pid" >"$MEMORY_MNT/$PARENT/half/cgroup.procs"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$CG" delete "$PARENT/half"
    assertEquals "exit status (half)" 1 "$RC"
    for mnt in "${HIERARCHIES[@]}"; do
        assertTrue "half still in $mnt" "[ -d '$mnt/$PARENT/half' ]"
    done
}

test_delete_of_a_group_with_child_groups_fails_with_a_hint() {
    sandbox || return 0
    local mnt
    "$CG" create "$PARENT/nest/sub" || fail "create failed"
    assert_one_line_failure_with_hint "$CG" delete "$PARENT/nest"
    assertTrue "the kernel's EBUSY: $(cat "$TEST_TMP/err")" \
        "grep -q 'Device or resource busy' '$TEST_TMP/err'"
    assertTrue "the hint names the child groups" "grep -q '^hint: .*child groups' '$TEST_TMP/err'"
    for mnt in "${HIERARCHIES[@]}"; do
        assertTrue "sub still in $mnt" "[ -d '$mnt/$PARENT/nest/sub' ]"
    done
}

# v2 kills a whole subtree with one write to cgroup.kill (Linux 5.14); v1
# signals each member and waits for cgroup.procs to empty.  Members at two
# levels in v1; in v2 in two leaves (a group with children holds none).
test_delete_kill_kills_members_and_removes_the_group_everywhere() {
    sandbox || return 0
    local first_group=$PARENT/grp has_kill=0
    "$CG" create "$PARENT/grp" --cpu 50% --memory 50M --pids 10 || fail "create failed"
    "$CG" create "$PARENT/grp/sub" || fail "create sub failed"
    if is_v2; then
        first_group=$PARENT/grp/sub2
        "$CG" create "$first_group" || fail "create sub2 failed"
        [ -f "$V2_MNT/$PARENT/grp/cgroup.kill" ] && has_kill=1
    fi
    start_member "$first_group"
    local first=$MEMBER
    start_member "$PARENT/grp/sub"
    "$CG" -x delete "$PARENT/grp" --kill 2>"$TEST_TMP/explain" ||
        fail "delete --kill failed: $(cat "$TEST_TMP/explain")"
    assertFalse "gone in every hierarchy" "exists_anywhere '$PARENT/grp'"
    if [ "$has_kill" = 1 ]; then
        assertTrue "cgroup.kill was written: $(cat "$TEST_TMP/explain")" \
            "grep -q 'cgroup.kill\", \"1\") = 1' '$TEST_TMP/explain'"
    fi
    wait "$first"
    assertEquals "the member died of SIGKILL" 137 $?
    wait "$MEMBER"
    assertEquals "the sub-group's member too" 137 $?
}

# --- refusals ---------------------------------------------------------------------

test_path_escaping_names_are_refused_before_anything_is_made() {
    sandbox || return 0
    local name
    for name in "../$PARENT-up" "/tmp/$PARENT-abs" "" "$PARENT//a" "$PARENT/../$PARENT-b" \
        "$PARENT/" "." ".." "$PARENT/./a"; do
        assert_one_line_failure 2 "$CG" create "$name" --memory 10M
    done
    assertEquals "nothing named $PARENT* anywhere" "" \
        "$(find /sys/fs/cgroup /tmp -maxdepth 3 -name "$PARENT*" 2>/dev/null)"
}

test_bad_limits_are_refused_in_one_line() {
    sandbox || return 0
    local args
    for args in "--cpu 0%" "--cpu abc" "--cpu 20" "--memory -5" "--memory 10Q" \
        "--pids 0x" "--cpu 20% --cpu-quota 20000" "--cpu-period 1000"; do
        # shellcheck disable=SC2086  # the words are the options
        assert_one_line_failure 2 "$CG" create "$PARENT/grp" $args
    done
    assertFalse "nothing made" "exists_anywhere '$PARENT'"
}

# --- v2 code paths on a plain directory (any machine), and a hybrid cgroup2 ----

# fake_v2_tree: a plain directory laid out like cgroup2 with a PARENT group
# (the files the kernel would make), in $FAKE.
fake_v2_tree() {
    FAKE=$TEST_TMP/cgroup2
    mkdir -p "$FAKE/$PARENT"
    echo "cpu memory pids" >"$FAKE/cgroup.controllers"
    cp "$FAKE/cgroup.controllers" "$FAKE/$PARENT/cgroup.controllers"
    touch "$FAKE/cgroup.subtree_control" "$FAKE/cgroup.procs" \
        "$FAKE/$PARENT/cgroup.subtree_control" "$FAKE/$PARENT/cgroup.procs"
}

# fake_v2_files DIR: what the kernel fills a new v2 group with (empty files).
fake_v2_files() {
    (cd "$1" && touch cgroup.procs cgroup.subtree_control cgroup.controllers cpu.max \
        cpu.stat memory.max memory.swap.max memory.current memory.peak memory.events \
        pids.max pids.current)
}

test_v2_create_enables_controllers_on_the_way_down() {
    sandbox || return 0
    fake_v2_tree
    "$CG" --root "$FAKE" info --json >"$TEST_TMP/info" || fail "info failed"
    assertEquals "mode" v2 "$(jq -r .mode "$TEST_TMP/info")"
    assertEquals "plain directory" true "$(jq -r .plain_directory "$TEST_TMP/info")"
    "$CG" --root "$FAKE" create "$PARENT/grp" || fail "create failed"
    assertEquals "root subtree_control" "+cpu +memory +pids" \
        "$(cat "$FAKE/cgroup.subtree_control")"
    assertEquals "parent subtree_control" "+cpu +memory +pids" \
        "$(cat "$FAKE/$PARENT/cgroup.subtree_control")"
    assertTrue "group made" "[ -d '$FAKE/$PARENT/grp' ]"
    assertEquals "nothing enabled in the leaf itself" "" "$(ls "$FAKE/$PARENT/grp")"
}

test_v2_set_writes_cpu_max_memory_max_swap_max_pids_max() {
    sandbox || return 0
    fake_v2_tree
    mkdir "$FAKE/$PARENT/grp"
    fake_v2_files "$FAKE/$PARENT/grp"
    "$CG" --root "$FAKE" set "$PARENT/grp" --cpu 20% --memory 100M --swap 50M --pids 10 ||
        fail "set failed"
    local g=$FAKE/$PARENT/grp
    assertEquals "cpu.max: quota and period together" "20000 100000" "$(cat "$g/cpu.max")"
    assertEquals "memory.max" $((100 * MIB)) "$(cat "$g/memory.max")"
    assertEquals "memory.swap.max: swap alone" $((50 * MIB)) "$(cat "$g/memory.swap.max")"
    assertEquals "pids.max" 10 "$(cat "$g/pids.max")"
}

test_v2_no_internal_processes_is_respected() {
    sandbox || return 0
    fake_v2_tree
    echo 4242 >"$FAKE/$PARENT/cgroup.procs"
    assert_one_line_failure_with_hint "$CG" --root "$FAKE" create "$PARENT/grp"
    assertTrue "the hint names the rule" "grep -q 'no processes' '$TEST_TMP/err'"
    assertFalse "no group made" "[ -d '$FAKE/$PARENT/grp' ]"
    assertEquals "subtree_control untouched" "" "$(cat "$FAKE/$PARENT/cgroup.subtree_control")"
    # A group that hands controllers down takes no process.
    : >"$FAKE/$PARENT/cgroup.procs"
    echo "memory" >"$FAKE/$PARENT/cgroup.subtree_control"
    assert_one_line_failure_with_hint "$CG" --root "$FAKE" add "$PARENT" 1
    assertEquals "no PID written" "" "$(cat "$FAKE/$PARENT/cgroup.procs")"
}

test_v2_stat_reads_microseconds_and_memory_events() {
    sandbox || return 0
    fake_v2_tree
    local g=$FAKE/$PARENT/grp
    mkdir "$g"
    fake_v2_files "$g"
    echo "20000 100000" >"$g/cpu.max"
    printf 'usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 123456\n' >"$g/cpu.stat"
    echo max >"$g/memory.max"
    echo 1048576 >"$g/memory.current"
    echo 2097152 >"$g/memory.peak"
    printf 'low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\n' >"$g/memory.events"
    echo 4242 >"$g/cgroup.procs"
    "$CG" --root "$FAKE" stat "$PARENT/grp" --json >"$TEST_TMP/stat" || fail "stat failed"
    assertEquals "usage_us" 5000 "$(jq .cpu.usage_us "$TEST_TMP/stat")"
    assertEquals "throttled_us (v2 is already us)" 123456 "$(jq .cpu.throttled_us "$TEST_TMP/stat")"
    assertEquals "oom_kills from memory.events" 2 "$(jq .memory.oom_kills "$TEST_TMP/stat")"
    assertEquals "peak" 2097152 "$(jq .memory.peak_bytes "$TEST_TMP/stat")"
    assertEquals "limit" '"max"' "$(jq .memory.limit_bytes "$TEST_TMP/stat")"
    assertEquals "members" "[4242]" "$(jq -c .members "$TEST_TMP/stat")"
}

test_v2_real_mount_exec_joins_and_delete_kill_uses_cgroup_kill() {
    sandbox || return 0
    require_feature "a cgroup2 mount with cgroup.kill (Linux 5.14)" \
        test -n "$V2_MNT" -a -f "$V2_MNT/cgroup.procs" || return 0
    local g=$PARENT/grp pid
    "$CG" --root "$V2_MNT" create "$g" || fail "create failed"
    "$CG" --root "$V2_MNT" exec "$g" -- sleep 300 &
    pid=$!
    on_cleanup kill -KILL "$pid"
    for _ in $(seq 50); do
        grep -qx "0::/$g" "/proc/$pid/cgroup" && break
        sleep 0.02
    done
    assertEquals "the v2 line of /proc/PID/cgroup" "0::/$g" "$(grep '^0::' "/proc/$pid/cgroup")"
    "$CG" --root "$V2_MNT" -x delete "$g" --kill 2>"$TEST_TMP/explain" ||
        fail "delete --kill failed: $(cat "$TEST_TMP/explain")"
    assertTrue "cgroup.kill was written: $(cat "$TEST_TMP/explain")" \
        "grep -q 'cgroup.kill\", \"1\") = 1' '$TEST_TMP/explain'"
    wait "$pid"
    assertEquals "the member died of SIGKILL" 137 $?
    assertFalse "the group is gone" "[ -d '$V2_MNT/$g' ]"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_01_cgroup.sh - 01-cgroup makes control groups and their limits
# bite.
#
# Every test works under its own parent group (tuna-test-XXXX) in every
# hierarchy, removed at tearDown by killing what is left in it and rmdir'ing
# bottom-up with plain shell, not with the tool under test.  The kernel's
# side is read directly: the cgroupfs files, /proc/PID/cgroup, cpuacct.usage
# and memory.oom_control, never 01-cgroup's own report (except where `stat`
# itself is the behaviour, and then it is compared with the files).
#
# The v2 code paths run against the real cgroup2 mount where this hybrid
# machine allows it (membership, cgroup.kill, cpu.stat; its cgroup2 holds no
# cpu/memory/pids controller), and against a plain directory laid out like
# cgroup2 (--root) to see which files get which values.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

CG=$TUNA_BIN/01-cgroup
STRESS=$TUNA_BIN/07-stress
MIB=1048576

# v1_mount CONTROLLER: where the v1 hierarchy holding CONTROLLER is mounted
# (mountinfo: field 5 the mount point, the last field the super options).
v1_mount() {
    awk -v c="$1" '/ - cgroup / { n = split($NF, o, ",");
        for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}

# The cgroup2 mount, if any.
v2_mount() { awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo; }

CPU_MNT=$(v1_mount cpu)
CPUACCT_MNT=$(v1_mount cpuacct)
MEMORY_MNT=$(v1_mount memory)
PIDS_MNT=$(v1_mount pids)
V2_MNT=$(v2_mount)

# remove_cgroup_tree NAME: in every hierarchy, SIGKILL what is in NAME's
# subtree until it is empty, then rmdir it children first.
remove_cgroup_tree() {
    local mnt pids
    for mnt in "$CPU_MNT" "$CPUACCT_MNT" "$MEMORY_MNT" "$PIDS_MNT" "$V2_MNT"; do
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

# sandbox: root, the v1 hierarchies this suite reads, and PARENT: a unique
# parent group name, removed at tearDown.  Returns 1 (skipped) otherwise.
sandbox() {
    require_root || return 1
    require_command jq || return 1
    require_feature "cgroup v1 cpu, cpuacct, memory and pids hierarchies" \
        test -n "$CPU_MNT" -a -n "$CPUACCT_MNT" -a -n "$MEMORY_MNT" -a -n "$PIDS_MNT" ||
        return 1
    PARENT=$(unique_name tuna-test-)
    on_cleanup remove_cgroup_tree "$PARENT"
}

# exists_anywhere NAME: NAME is a directory in at least one hierarchy.
exists_anywhere() {
    local mnt
    for mnt in "$CPU_MNT" "$CPUACCT_MNT" "$MEMORY_MNT" "$PIDS_MNT" "$V2_MNT"; do
        [ -d "$mnt/$1" ] && return 0
    done
    return 1
}

# oom_kills GROUP: the v1 kernel's count of OOM kills in GROUP.
oom_kills() { awk '$1 == "oom_kill" { print $2 }' "$MEMORY_MNT/$1/memory.oom_control"; }

# start_member GROUP: a sleep inside GROUP, in $MEMBER (killed at tearDown).
start_member() {
    "$CG" exec "$1" -- sleep 300 &
    MEMBER=$!
    on_cleanup kill -KILL "$MEMBER"
    for _ in $(seq 50); do
        grep -q "^[0-9]*:cpu:/$1\$" "/proc/$MEMBER/cgroup" 2>/dev/null && return 0
        sleep 0.02
    done
    fail "sleep did not join $1"
}

# --- info -----------------------------------------------------------------------

test_info_finds_each_controller_where_mountinfo_says() {
    sandbox || return 0
    "$CG" info --json >"$TEST_TMP/info" || fail "info failed"
    assertEquals "mode" "$([ -n "$V2_MNT" ] && echo hybrid || echo v1)" \
        "$(jq -r .mode "$TEST_TMP/info")"
    assertEquals "cpu" "$CPU_MNT" "$(jq -r .controllers.cpu.path "$TEST_TMP/info")"
    assertEquals "cpuacct" "$CPUACCT_MNT" "$(jq -r .controllers.cpuacct.path "$TEST_TMP/info")"
    assertEquals "memory" "$MEMORY_MNT" "$(jq -r .controllers.memory.path "$TEST_TMP/info")"
    assertEquals "pids" "$PIDS_MNT" "$(jq -r .controllers.pids.path "$TEST_TMP/info")"
    assertEquals "memory is v1" 1 "$(jq -r .controllers.memory.version "$TEST_TMP/info")"
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

test_create_writes_cpu_memory_and_pids_limits() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" --cpu 20% --memory 100M --pids 50 || fail "create failed"
    assertEquals "cfs_quota_us" 20000 "$(cat "$CPU_MNT/$PARENT/grp/cpu.cfs_quota_us")"
    assertEquals "cfs_period_us" 100000 "$(cat "$CPU_MNT/$PARENT/grp/cpu.cfs_period_us")"
    assertEquals "limit_in_bytes" $((100 * MIB)) \
        "$(cat "$MEMORY_MNT/$PARENT/grp/memory.limit_in_bytes")"
    assertEquals "pids.max" 50 "$(cat "$PIDS_MNT/$PARENT/grp/pids.max")"
}

test_create_makes_the_group_in_every_hierarchy() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" --cpu 150% || fail "create failed"
    for mnt in "$CPU_MNT" "$CPUACCT_MNT" "$MEMORY_MNT" "$PIDS_MNT"; do
        assertTrue "$mnt/$PARENT/grp exists" "[ -f '$mnt/$PARENT/grp/cgroup.procs' ]"
    done
    # 150% is one and a half CPUs: 150000 us in every 100000 us period.
    assertEquals "cfs_quota_us" 150000 "$(cat "$CPU_MNT/$PARENT/grp/cpu.cfs_quota_us")"
}

test_set_changes_the_limits_of_an_existing_group() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" --memory 100M || fail "create failed"
    "$CG" set "$PARENT/grp" --cpu-quota 50000 --cpu-period 200000 --memory 64M \
        --pids max || fail "set failed"
    assertEquals "cfs_quota_us" 50000 "$(cat "$CPU_MNT/$PARENT/grp/cpu.cfs_quota_us")"
    assertEquals "cfs_period_us" 200000 "$(cat "$CPU_MNT/$PARENT/grp/cpu.cfs_period_us")"
    assertEquals "limit_in_bytes" $((64 * MIB)) \
        "$(cat "$MEMORY_MNT/$PARENT/grp/memory.limit_in_bytes")"
    assertEquals "pids.max" max "$(cat "$PIDS_MNT/$PARENT/grp/pids.max")"
    assert_one_line_failure_with_hint "$CG" set "$PARENT/none" --memory 1M
    assertFalse "set made no group" "exists_anywhere '$PARENT/none'"
}

test_swap_is_limited_as_memory_plus_swap_in_v1_in_either_order() {
    sandbox || return 0
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
    usage0=$(cat "$CPUACCT_MNT/$PARENT/cpu20/cpuacct.usage")
    t0=$(date +%s%N)
    "$CG" exec "$PARENT/cpu20" -- "$STRESS" -q -c 1 -t 6s || fail "stress failed"
    t1=$(date +%s%N)
    usage1=$(cat "$CPUACCT_MNT/$PARENT/cpu20/cpuacct.usage")
    # The group's CPU time (ns, counted by the kernel) over the run's wall time.
    share=$(awk -v u=$((usage1 - usage0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", u / t }')
    assertTrue "CPU share $share is within 0.17..0.23" \
        "awk -v s=$share 'BEGIN { exit !(s >= 0.17 && s <= 0.23) }'"
    throttled=$(awk '$1 == "nr_throttled" { print $2 }' "$CPU_MNT/$PARENT/cpu20/cpu.stat")
    assertTrue "throttled periods ($throttled) > 0" "[ '${throttled:-0}' -gt 0 ]"
}

test_cpu_quota_of_20_microseconds_is_refused_with_a_hint() {
    sandbox || return 0
    assert_one_line_failure_with_hint "$CG" create "$PARENT/grp" --cpu-quota 20
    assertTrue "the kernel's EINVAL: $(cat "$TEST_TMP/err")" \
        "grep -q 'cpu.cfs_quota_us: Invalid argument' '$TEST_TMP/err'"
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
    "$CG" exec "$PARENT/mem" -- "$STRESS" -q -m 1 --vm-bytes 40M --vm-keep -t 2s
    assertEquals "stress exit status" 0 $?
    assertEquals "no OOM kill" 0 "$(oom_kills "$PARENT/mem")"
    assertTrue "the hog was charged here (peak >= 40M)" \
        "[ $(cat "$MEMORY_MNT/$PARENT/mem/memory.max_usage_in_bytes") -ge $((40 * MIB)) ]"
}

test_parent_memory_limit_binds_its_child() {
    sandbox || return 0
    assertEquals "v1 memory is hierarchical" 1 "$(cat "$MEMORY_MNT/memory.use_hierarchy")"
    "$CG" create "$PARENT" --memory 100M || fail "create parent failed"
    "$CG" create "$PARENT/child" --memory 200M || fail "create child failed"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
        "$CG" exec "$PARENT/child" -- "$STRESS" -m 1 --vm-bytes 150M --vm-keep -t 5s
    assertEquals "stress exit status (killed under the child's 200M)" 1 "$RC"
    # v1 counts the kill in the victim's own group.
    assertTrue "OOM kill in the child" "[ '$(oom_kills "$PARENT/child")' -ge 1 ]"
    assertTrue "the parent's usage never passed its 100M" \
        "[ $(cat "$MEMORY_MNT/$PARENT/memory.max_usage_in_bytes") -le $((100 * MIB)) ]"
}

# --- membership -------------------------------------------------------------------

test_add_moves_a_process_into_every_hierarchy() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" || fail "create failed"
    sleep 300 &
    local pid=$!
    on_cleanup kill -KILL "$pid"
    "$CG" add "$PARENT/grp" "$pid" || fail "add failed"
    for c in cpu cpuacct memory pids; do
        assertTrue "$c line of /proc/$pid/cgroup" \
            "grep -q '^[0-9]*:$c:/$PARENT/grp\$' /proc/$pid/cgroup"
        assertTrue "listed in $c's cgroup.procs" \
            "grep -qx '$pid' '$(v1_mount "$c")/$PARENT/grp/cgroup.procs'"
    done
    assert_one_line_failure 2 "$CG" add "$PARENT/grp" 12abc
}

test_exec_returns_the_command_status_or_126_127() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" || fail "create failed"
    "$CG" exec "$PARENT/grp" -- sh -c "grep ':memory:' /proc/self/cgroup; exit 3" \
        >"$TEST_TMP/out"
    assertEquals "the command's own status" 3 $?
    assertEquals "the command ran inside" "memory:/$PARENT/grp" "$(cut -d: -f2- "$TEST_TMP/out")"
    assert_one_line_failure 127 "$CG" exec "$PARENT/grp" -- /nonexistent/command
    : >"$TEST_TMP/not-executable"
    assert_one_line_failure 126 "$CG" exec "$PARENT/grp" -- "$TEST_TMP/not-executable"
}

# --- stat ---------------------------------------------------------------------------

test_stat_json_reports_the_kernel_counters_in_microseconds() {
    sandbox || return 0
    local g=$PARENT/grp
    "$CG" create "$g" --cpu 20% --memory 64M --pids 20 || fail "create failed"
    "$CG" exec "$g" -- "$STRESS" -q -c 1 -t 1s || fail "stress failed"
    start_member "$g"
    "$CG" stat "$g" --json >"$TEST_TMP/stat" || fail "stat failed"
    jq -e . "$TEST_TMP/stat" >/dev/null || fail "not JSON: $(cat "$TEST_TMP/stat")"
    local cpu_stat=$CPU_MNT/$g/cpu.stat
    assertEquals "quota_us" 20000 "$(jq .cpu.quota_us "$TEST_TMP/stat")"
    assertEquals "period_us" 100000 "$(jq .cpu.period_us "$TEST_TMP/stat")"
    assertEquals "nr_throttled" "$(awk '$1 == "nr_throttled" { print $2 }' "$cpu_stat")" \
        "$(jq .cpu.nr_throttled "$TEST_TMP/stat")"
    # v1 counts ns; stat reports us.
    assertEquals "throttled_us = throttled_time / 1000" \
        "$(awk '$1 == "throttled_time" { print int($2 / 1000) }' "$cpu_stat")" \
        "$(jq .cpu.throttled_us "$TEST_TMP/stat")"
    local usage_us
    usage_us=$(jq .cpu.usage_us "$TEST_TMP/stat")
    assertTrue "usage_us ($usage_us) is cpuacct.usage / 1000 (the sleep adds little)" \
        "[ $((usage_us - $(cat "$CPUACCT_MNT/$g/cpuacct.usage") / 1000)) -le 20000 ]"
    assertTrue "usage_us ($usage_us) shows the hog's ~0.2 s" "[ $usage_us -ge 100000 ]"
    assertEquals "limit_bytes" $((64 * MIB)) "$(jq .memory.limit_bytes "$TEST_TMP/stat")"
    assertEquals "oom_kills" "$(oom_kills "$g")" "$(jq .memory.oom_kills "$TEST_TMP/stat")"
    assertEquals "pids limit" 20 "$(jq .pids.limit "$TEST_TMP/stat")"
    assertEquals "members" "[$MEMBER]" "$(jq -c .members "$TEST_TMP/stat")"
    assertEquals "swap unlimited" '"max"' "$(jq .memory.swap_limit_bytes "$TEST_TMP/stat")"
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
    "$CG" create "$PARENT/grp" || fail "create failed"
    start_member "$PARENT/grp"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$CG" delete "$PARENT/grp"
    assertEquals "exit status" 1 "$RC"
    assertTrue "the kernel's EBUSY: $(cat "$TEST_TMP/err")" \
        "grep -q '^01-cgroup: rmdir .*: Device or resource busy' '$TEST_TMP/err'"
    assertTrue "a hint to use --kill" "grep -q '^hint: .*--kill' '$TEST_TMP/err'"
    for mnt in "$CPU_MNT" "$CPUACCT_MNT" "$MEMORY_MNT" "$PIDS_MNT"; do
        assertTrue "still in $mnt" "[ -d '$mnt/$PARENT/grp' ]"
    done
    assertTrue "the member lives" "kill -0 $MEMBER"
    # A member in one hierarchy only (moved there by hand): that rmdir is
    # tried first, so the refusal leaves the group whole everywhere.
    "$CG" create "$PARENT/half" || fail "create half failed"
    sleep 300 &
    local pid=$!
    on_cleanup kill -KILL "$pid"
    echo "$pid" >"$MEMORY_MNT/$PARENT/half/cgroup.procs"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$CG" delete "$PARENT/half"
    assertEquals "exit status (half)" 1 "$RC"
    for mnt in "$CPU_MNT" "$CPUACCT_MNT" "$MEMORY_MNT" "$PIDS_MNT"; do
        assertTrue "half still in $mnt" "[ -d '$mnt/$PARENT/half' ]"
    done
}

test_delete_kill_kills_members_and_removes_the_group_everywhere() {
    sandbox || return 0
    "$CG" create "$PARENT/grp" --cpu 50% --memory 50M --pids 10 || fail "create failed"
    "$CG" create "$PARENT/grp/sub" || fail "create sub failed"
    start_member "$PARENT/grp"
    local first=$MEMBER
    start_member "$PARENT/grp/sub"
    "$CG" delete "$PARENT/grp" --kill || fail "delete --kill failed"
    assertFalse "gone in every hierarchy" "exists_anywhere '$PARENT/grp'"
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

# --- v2 ---------------------------------------------------------------------------

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

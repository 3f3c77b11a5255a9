#!/usr/bin/env bash
# tests/test_measure.sh - every bench in labs/measure/ runs to completion in
# its quick mode, prints its table, and leaves nothing behind.
#
# No figure is asserted: timings depend on the machine and its load, and a
# bench reports whether a target holds, it does not fail on it.  What is
# asserted is what does not depend on timing: the exit status, the table,
# the kernel's refusals the claims benches demonstrate (ENOSPC when inodes
# run out, a 501st overlay layer refused, a 210M stress OOM-killed under
# 200M), and that no mount, loop device, cgroup, network namespace, pool,
# scratch directory or process of the bench is left.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MEASURE=$TUNA_ROOT/labs/measure
SKIP_STATUS=77
# What the benches name their things: scratch dirs tuna-NAME-bench.XXXXXX
# (/tmp, /var/tmp), cgroups tuna-bench-*, namespaces nbh/nbc PID
# (net-bench), pools bench PID BACKEND (clone-bench) and cow PID BACKEND
# (cow-write-bench).
TRACES='tuna-[a-z-]*bench|tuna-kernel-features|tuna-bench-|/run/netns/nb[hc][0-9]|^nb[hc][0-9]|bench[0-9]+(zfs|btrfs)|cow[0-9]+(zfs|btrfs)'

# bench_traces: every trace of a bench on this machine, one per line.
bench_traces() {
    {
        "$TESTS_DIR/host-state.sh"
        ls -d /tmp/tuna-*bench* /var/tmp/tuna-*bench* /var/tmp/tuna-kernel-features* 2>/dev/null
        if zfs_answers; then
            zpool list -H -o name 2>/dev/null
        fi
        pgrep -a -f "$MEASURE/" 2>/dev/null | grep -v pgrep
    } | grep -E "$TRACES" | sort || true
}

# run_bench NAME ARGS...: run labs/measure/NAME.sh ARGS, assert it measured
# and left nothing; its output in $TEST_TMP/out.  Returns 1 (and skips) if
# the bench says it cannot run here.
run_bench() {
    local name=$1 before after
    shift
    before=$(bench_traces)
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$MEASURE/$name.sh" "$@"
    after=$(bench_traces)
    if [ "$RC" = "$SKIP_STATUS" ]; then
        skip_test "$(tail -1 "$TEST_TMP/out")"
        return 1
    fi
    assertEquals "$name exit status: $(tail -5 "$TEST_TMP/err")" 0 "$RC"
    assertEquals "$name left behind" "" \
        "$(comm -13 <(echo "$before") <(echo "$after"))"
    return 0
}

# assert_printed TEXT: the bench's output has a line with TEXT (fixed string).
assert_printed() {
    assertTrue "output has '$1': $(cat "$TEST_TMP/out")" "grep -qF -- '$1' '$TEST_TMP/out'"
}

# assert_table: the table printer of labs/measure/lib.sh drew a header rule.
assert_table() {
    assertTrue "a table: $(cat "$TEST_TMP/out")" "grep -qE '^  -{10,}$' '$TEST_TMP/out'"
}

test_cgroup_bench_measures_and_leaves_nothing() {
    require_root || return 0
    run_bench cgroup-bench --runs 10 || return 0
    assert_printed "median ms"
    assert_printed "target: tuna at least 5x faster than cgroup-tools"
}

test_start_bench_measures_and_leaves_nothing() {
    require_root || return 0
    run_bench start-bench --runs 10 || return 0
    assert_printed "median ms"
    assert_printed "target: tuna <= 1/2 of util-linux"
}

test_net_bench_measures_and_leaves_nothing() {
    require_root || return 0
    run_bench net-bench --runs 10 || return 0
    assert_printed "target 05-veth add vs post"
    assert_printed "target 06-nat enable vs nft -f"
}

test_clone_bench_measures_and_leaves_nothing() {
    require_root || return 0
    run_bench clone-bench --runs 3 --sizes 10M --backends overlay || return 0
    assert_printed "tool/raw"
    assertTrue "an overlay 10M row: $(cat "$TEST_TMP/out")" "grep -qE '^overlay +10M ' '$TEST_TMP/out'"
}

test_stress_bench_measures_both_tools_and_leaves_nothing() {
    require_root || return 0
    require_command stress || return 0
    run_bench stress-bench --quick || return 0
    assert_table
    assertEquals "four rows: 07-stress and stress, free and 20%" 4 \
        "$(grep -cE '^  (07-stress|stress) +(none|20%) ' "$TEST_TMP/out")"
}

test_cow_write_bench_measures_every_backend_and_leaves_nothing() {
    require_root || return 0
    require_zfs || return 0
    require_command mkfs.btrfs btrfs-progs || return 0
    run_bench cow-write-bench --quick || return 0
    assert_table
    local b
    for b in zfs btrfs overlay overlay-ext4; do
        assertEquals "$b: a first and a second write" 2 \
            "$(grep -cE "^  $b +1M +(first|second) +[0-9]" "$TEST_TMP/out")"
    done
}

test_layers_bench_shows_the_500_layer_limit_and_leaves_nothing() {
    require_root || return 0
    run_bench layers-bench --quick || return 0
    assert_table
    assertTrue "a 500-layer row" "grep -qE '^ +500 ' '$TEST_TMP/out'"
    assert_printed "501 layers: probe: mount -t overlay on m: Invalid argument"
}

test_inodes_bench_runs_out_of_inodes_not_blocks_and_leaves_nothing() {
    require_root || return 0
    run_bench inodes-bench --quick || return 0
    assert_table
    assert_printed "No space left on device"
    assertTrue "inodes 100% used" "grep -qE '^  inodes used +100%$' '$TEST_TMP/out'"
}

test_limits_bench_sees_the_oom_kill_and_leaves_nothing() {
    require_root || return 0
    run_bench limits-bench --quick || return 0
    assert_table
    # 210M cannot fit under either limit: the kernel must kill it in both.
    assertTrue "210M killed under both limits: $(cat "$TEST_TMP/out")" \
        "grep -qE '^  210M +OOM-killed +[0-9.]+ +OOM-killed ' '$TEST_TMP/out'"
}

test_kernel_features_says_what_the_kernel_has_and_leaves_nothing() {
    require_root || return 0
    require_command mkfs.xfs xfsprogs || return 0
    run_bench kernel-features || return 0
    assert_table
    assertTrue "a device-mapper row" "grep -qE '^  C10 C11 C21 .*device-mapper' '$TEST_TMP/out'"
    # Either the quota stops the write, or the kernel refuses prjquota.
    assertTrue "an XFS quota verdict: $(cat "$TEST_TMP/out")" \
        "grep -qE '^  C20 .*(Disk quota exceeded|prjquota refused|no xfs)' '$TEST_TMP/out'"
}

test_all_runs_the_named_benches_and_sums_up() {
    require_root || return 0
    run_bench all --quick --only inodes-bench || return 0
    assertTrue "summary line: $(cat "$TEST_TMP/out")" \
        "grep -qE '^  inodes-bench +measured ' '$TEST_TMP/out'"
}

test_without_root_a_bench_says_why_and_exits_77() {
    require_root || return 0
    require_command runuser util-linux || return 0
    local b copy=$TEST_TMP/tree/labs/measure
    # A copy nobody can read, wherever the checkout lives (a root-only home in CI).
    mkdir -p "$copy" && cp "$MEASURE"/*.sh "$MEASURE"/probe.c "$copy/"
    chmod -R a+rX "$TEST_TMP"
    for b in cow-write-bench layers-bench inodes-bench limits-bench stress-bench kernel-features; do
        run_capture "$TEST_TMP/out" "$TEST_TMP/err" runuser -u nobody -- "$copy/$b.sh" --quick
        assertEquals "$b as nobody: $(cat "$TEST_TMP/out" "$TEST_TMP/err")" 77 "$RC"
        assertTrue "$b names the reason" "grep -q '^$b: cannot run here: needs root' '$TEST_TMP/out'"
    done
}

test_a_bench_refuses_bad_options_with_status_2() {
    local b
    for b in cow-write-bench layers-bench inodes-bench limits-bench stress-bench \
        kernel-features all; do
        run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$MEASURE/$b.sh" --no-such-option
        assertEquals "$b --no-such-option" 2 "$RC"
    done
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$MEASURE/cow-write-bench.sh" --runs x
    assertEquals "cow-write-bench --runs x" 2 "$RC"
    assertEquals "no scratch dir left by a refused run" "" \
        "$(ls -d /var/tmp/tuna-cow-write-bench.* 2>/dev/null)"
}

. "$SHUNIT2"

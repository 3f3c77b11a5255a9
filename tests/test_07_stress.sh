#!/usr/bin/env bash
# tests/test_07_stress.sh - 07-stress loads the machine as stress(1) does.
# Each test reads the kernel (/proc/PID/stat, /proc/PID/status, process
# existence), not 07-stress's own report.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

STRESS=$TUNA_BIN/07-stress
CLK_TCK=$(getconf CLK_TCK)

# start_stress ARGS...: run 07-stress in the background; sets STRESS_PID and
# registers its cleanup (by PID: only what this test started).
start_stress() {
    "$STRESS" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
    STRESS_PID=$!
    on_cleanup kill -KILL "$STRESS_PID"
}

# workers_of PID: the worker PIDs (children) of a 07-stress, from /proc.
workers_of() {
    # The file is "PID PID " with a trailing space: word-split it.
    # shellcheck disable=SC2046,SC2005
    echo $(cat "/proc/$1/task/$1/children" 2>/dev/null)
}

# wait_for_workers PID N: until PID has N children (at most 2 s).
wait_for_workers() {
    for _ in $(seq 40); do
        [ "$(workers_of "$1" | wc -w)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# cpu_ticks PID: utime + stime of PID, in clock ticks (proc(5) fields 14, 15).
cpu_ticks() {
    # The command name (field 2) may hold spaces; cut after its ')'.
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

test_cpu_hog_uses_at_least_90_percent_of_a_core() {
    local worker t0 t1 start end share
    start_stress -c 1 -t 10s
    wait_for_workers "$STRESS_PID" 1 || fail "no worker appeared"
    worker=$(workers_of "$STRESS_PID")
    sleep 0.3
    t0=$(cpu_ticks "$worker") start=$(date +%s%N)
    sleep 2
    t1=$(cpu_ticks "$worker") end=$(date +%s%N)
    # CPU seconds over wall seconds, in percent.
    share=$(( (t1 - t0) * 100 * 1000000000 / CLK_TCK / (end - start) ))
    assertTrue "cpu hog got ${share}% of a core (want >= 90%)" "[ $share -ge 90 ]"
}

test_vm_keep_hog_becomes_resident() {
    local worker rss=0
    start_stress -m 1 --vm-bytes 96M --vm-keep -t 10s
    wait_for_workers "$STRESS_PID" 1 || fail "no worker appeared"
    worker=$(workers_of "$STRESS_PID")
    for _ in $(seq 60); do
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$worker/status")
        [ "$rss" -ge $((90 * 1024)) ] && break
        sleep 0.05
    done
    assertTrue "VmRSS of the vm hog is ${rss} kB (want >= 90 MiB)" \
        "[ $rss -ge $((90 * 1024)) ]"
}

test_killed_worker_is_reported_and_the_run_fails() {
    local worker rc=0
    start_stress -c 1 -t 20s
    wait_for_workers "$STRESS_PID" 1 || fail "no worker appeared"
    worker=$(workers_of "$STRESS_PID")
    kill -KILL "$worker"
    wait "$STRESS_PID" || rc=$?
    assertEquals "exit status after a worker was killed" 1 "$rc"
    assertTrue "stress's message for the dead worker: $(cat "$TEST_TMP/err")" \
        "grep -q -- '<-- worker $worker got signal 9' '$TEST_TMP/err'"
    assertTrue "failed run line" "grep -q 'failed run completed in' '$TEST_TMP/err'"
}

test_sigkill_of_stress_leaves_no_worker() {
    local workers w alive
    start_stress -c 2 -m 1 --vm-bytes 8M -t 30s
    wait_for_workers "$STRESS_PID" 3 || fail "workers did not appear"
    workers=$(workers_of "$STRESS_PID")
    kill -KILL "$STRESS_PID"
    wait "$STRESS_PID" 2>/dev/null
    for _ in $(seq 40); do
        alive=
        for w in $workers; do
            # A zombie waiting for init to reap it has stopped running.
            if [ -e "/proc/$w" ] && ! grep -q '^State:.*Z' "/proc/$w/status" 2>/dev/null; then
                alive="$alive $w"
            fi
        done
        [ -z "$alive" ] && break
        sleep 0.05
    done
    assertEquals "workers still running after SIGKILL of 07-stress" "" "$alive"
}

test_sigterm_stops_and_reaps_every_worker() {
    local workers w rc=0
    start_stress -c 1 -m 1 --vm-bytes 8M -t 30s
    wait_for_workers "$STRESS_PID" 2 || fail "workers did not appear"
    workers=$(workers_of "$STRESS_PID")
    kill -TERM "$STRESS_PID"
    wait "$STRESS_PID" || rc=$?
    assertEquals "exit status is 128+SIGTERM" 143 "$rc"
    for w in $workers; do
        assertFalse "worker $w still exists" "[ -e /proc/$w ]"
    done
}

test_timeout_ends_a_successful_run() {
    local rc=0 start end
    start=$(date +%s%N)
    "$STRESS" -c 1 -t 1s >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
    end=$(date +%s%N)
    assertEquals "exit status" 0 "$rc"
    assertTrue "success line" "grep -q 'successful run completed in 1s' '$TEST_TMP/out'"
    assertTrue "ran about a second ($(( (end - start) / 1000000 )) ms)" \
        "[ $(( (end - start) / 1000000 )) -ge 950 ] && [ $(( (end - start) / 1000000 )) -lt 5000 ]"
    assertTrue "reports the CPU share of its hog" \
        "grep -Eq 'cpu hog [0-9]+ got [0-9.]+% of one CPU' '$TEST_TMP/out'"
}

test_quiet_prints_nothing_on_success() {
    "$STRESS" -q -c 1 -t 200ms >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    assertEquals "exit status" 0 $?
    assertEquals "stdout under -q" "" "$(cat "$TEST_TMP/out")"
    assertEquals "stderr under -q" "" "$(cat "$TEST_TMP/err")"
}

test_explain_traces_each_fork() {
    "$STRESS" -x -c 2 -t 200ms >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    assertEquals "one fork() line per hog: $(cat "$TEST_TMP/err")" 2 \
        "$(grep -c '^fork() = [0-9]*   # stress -c: one worker per hog$' "$TEST_TMP/err")"
    # At the timeout each worker is killed and reaped: the kernel's answers.
    assertEquals "one kill per hog" 2 "$(grep -c '^kill([0-9]*, SIGKILL) = 0$' "$TEST_TMP/err")"
    assertEquals "each reaped, killed by SIGKILL" 2 \
        "$(grep -c '^wait4([0-9]*, \[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}\], 0, {...}) = [0-9]*$' "$TEST_TMP/err")"
}

test_bad_input_exits_2_with_one_line() {
    assert_one_line_failure 2 "$STRESS" --vm 1 --vm-bytes 12Q
    assert_one_line_failure 2 "$STRESS" -c -1
    assert_one_line_failure 2 "$STRESS" -c 1 -t abc
    assert_one_line_failure 2 "$STRESS" -c 99999999999999999999
    assert_one_line_failure 2 "$STRESS" -c 1x
    assert_one_line_failure 2 "$STRESS" -c ''
    assert_one_line_failure 2 "$STRESS" -c 1 -t 0
    assert_one_line_failure 2 "$STRESS" --vm 1 --vm-bytes 0
    assert_one_line_failure 2 "$STRESS" --bogus
    assert_one_line_failure 2 "$STRESS" -c
    assert_one_line_failure 2 "$STRESS" -c 1 extra
    assert_one_line_failure 2 "$STRESS"
}

# dispatch_line FILE: stress's first info line without the program name and PID.
dispatch_line() {
    sed -n 's/^[0-9a-z-]*stress: info: \[[0-9]*\] \(dispatching.*\)/\1/p' "$1"
}

test_agrees_with_debian_stress() {
    require_command stress || return 0
    local args rc_ours rc_theirs
    for args in "-c 1 -t 1s" "-m 1 --vm-bytes 8M -t 1s" "-c 2 -m 1 --vm-bytes 4M --vm-keep -t 1s"; do
        rc_ours=0 rc_theirs=0
        # shellcheck disable=SC2086  # the arguments are meant to split
        "$STRESS" $args >"$TEST_TMP/ours" 2>&1 || rc_ours=$?
        # shellcheck disable=SC2086
        stress $args >"$TEST_TMP/theirs" 2>&1 || rc_theirs=$?
        assertEquals "exit status for: $args" "$rc_theirs" "$rc_ours"
        assertEquals "dispatch line for: $args" \
            "$(dispatch_line "$TEST_TMP/theirs")" "$(dispatch_line "$TEST_TMP/ours")"
        assertNotNull "stress printed a dispatch line" "$(dispatch_line "$TEST_TMP/theirs")"
    done
}

test_agrees_with_debian_stress_when_a_worker_dies() {
    require_command stress || return 0
    local prog pid worker rc
    for prog in "$STRESS" stress; do
        "$prog" -c 1 -t 20s >"$TEST_TMP/out" 2>&1 &
        pid=$!
        on_cleanup kill -KILL "$pid"
        wait_for_workers "$pid" 1 || fail "$prog: no worker"
        worker=$(workers_of "$pid")
        kill -KILL "$worker"
        rc=0
        wait "$pid" || rc=$?
        assertEquals "$prog exit status after a worker died" 1 "$rc"
        assertTrue "$prog names the signal" \
            "grep -q -- '<-- worker $worker got signal 9' '$TEST_TMP/out'"
    done
}

# shellcheck disable=SC1090
. "$SHUNIT2"

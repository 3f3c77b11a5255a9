#!/usr/bin/env bash
# tests/test_labs.sh - labs/all.sh (make lab) replays the post in its sandbox:
# the results are checked from the kernel's side while the container is kept,
# and the teardown leaves nothing, also when the lab is interrupted at any step.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

LAB=$TUNA_ROOT/labs/all.sh
TEARDOWN=$TUNA_ROOT/labs/teardown.sh

# lab_name: a lab name of at most 8 characters, unique to this run.
lab_name() {
    printf 't%x%03x' $(($$ % 4096)) $((RANDOM % 4096))
}

# The lab's lines these tests look for, in the language it speaks
# (TUNA_TEST_LANG, tests/lib.sh): every result held; a step's banner.
ALL_HELD=$(tmsg_re lib.all_held '[0-9]+')
step_banner() {
    tmsg_re lib.step "$1" ''
}

# zfs_daemon_state: whether a zfs-fuse daemon runs (the lab must leave it so).
# A zfs-fuse that has exited but is not yet reaped (a zombie) has stopped.
zfs_daemon_state() {
    pgrep -x -r D,R,S,T zfs-fuse >/dev/null && echo running || echo stopped
}

test_lab_replays_the_post_and_the_kernel_agrees() {
    require_root || return 0
    require_zfs || return 0
    local name cpid host_ns packets throttled oom_kills daemon_before inside group events
    name=$(lab_name)
    daemon_before=$(zfs_daemon_state)
    on_cleanup "$TEARDOWN" --name "$name"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$LAB" --name "$name" --keep --quiet
    assertEquals "lab exit status: $(tail -20 "$TEST_TMP/out")" 0 "$RC"
    assertTrue "every result held" "grep -Eq '$ALL_HELD' '$TEST_TMP/out'"

    cpid=$(cat "/run/tuna/$name/container.pid")
    host_ns=tuna-$name-host
    # Step 2: hostname tuna in the container's UTS namespace, not the host's.
    assertEquals "hostname inside" tuna "$(nsenter --target "$cpid" --uts hostname)"
    assertNotEquals "host's hostname" tuna "$(hostname)"
    # Step 2: the container joined its group before it made its cgroup
    # namespace, so the namespace's root is the group.  /proc/PID/cgroup shows
    # paths relative to the reader's cgroup namespace: from the host, the
    # group; read through the container's namespace, "/" in every hierarchy.
    inside=$(nsenter --target "$cpid" --cgroup cat "/proc/$cpid/cgroup")
    assertEquals "inside the cgroup namespace, paths other than '/': $inside" "" \
        "$(echo "$inside" | awk -F: '$3 != "/"')"
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        assertEquals "cgroup v2: /proc/PID/cgroup inside" "0::/" "$inside"
    fi
    assertTrue "from the host the container is in tuna-$name/myContainer: $(cat "/proc/$cpid/cgroup")" \
        "grep -q ':/tuna-$name/myContainer\$' /proc/$cpid/cgroup"
    # Step 3: PID 1 of its namespace; its root is the clone; no /oldroot.
    assertEquals "NSpid innermost" 1 "$(awk '/^NSpid:/ {print $NF}' "/proc/$cpid/status")"
    assertTrue "root is the zfs clone" \
        "awk '\$5 == \"/\"' /proc/$cpid/mountinfo | grep -q 'myContainer'"
    assertFalse "/oldroot is gone" "grep -q ' /oldroot' /proc/$cpid/mountinfo"
    # Steps 4 and 5: packets reach the host and, through the masquerade, the uplink.
    assertTrue "ping host" "nsenter --target $cpid --net ping -c 1 -W 2 172.17.0.1"
    assertTrue "ping uplink" "nsenter --target $cpid --net ping -c 1 -W 2 198.51.100.53"
    packets=$(ip netns exec "$host_ns" nft -j list table ip tuna |
        jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add')
    assertTrue "masquerade counter $packets > 0" "[ ${packets:-0} -gt 0 ]"
    # Step 6: the container's PID 1 is in the group (v2: the one line
    # "0::/PATH"; v1: the cpu and the memory hierarchy's lines).
    group=tuna-$name/myContainer
    if [ "$CGROUP_MODE" = v2 ]; then
        assertEquals "/proc/$cpid/cgroup" "0::/$group" "$(cat "/proc/$cpid/cgroup")"
        assertEquals "cpu.max" "20000 100000" "$(cat "$(cgroup_file cpu "$group" cpu.max)")"
        assertEquals "memory.max" 209715200 "$(cat "$(cgroup_file memory "$group" memory.max)")"
        events=memory.events
    else
        assertTrue "memory line of /proc/$cpid/cgroup" \
            "grep -q '^[0-9]*:memory:/$group\$' /proc/$cpid/cgroup"
        assertTrue "cpu line of /proc/$cpid/cgroup" \
            "grep -Eq '^[0-9]+:([a-z,]*,)?cpu(,[a-z,]*)?:/$group\$' /proc/$cpid/cgroup"
        assertEquals "cpu.cfs_quota_us" 20000 \
            "$(cat "$(cgroup_file cpu "$group" cpu.cfs_quota_us)")"
        assertEquals "memory.limit_in_bytes" 209715200 \
            "$(cat "$(cgroup_file memory "$group" memory.limit_in_bytes)")"
        events=memory.oom_control
    fi
    # Step 7: the kernel throttled the group and OOM-killed in it.
    throttled=$(awk '/^nr_throttled/ {print $2}' "$(cgroup_file cpu "$group" cpu.stat)")
    assertTrue "nr_throttled $throttled > 0" "[ ${throttled:-0} -gt 0 ]"
    oom_kills=$(awk '/^oom_kill / {print $2}' "$(cgroup_file memory "$group" "$events")")
    assertTrue "oom_kill $oom_kills >= 1 ($events)" "[ ${oom_kills:-0} -ge 1 ]"

    "$TEARDOWN" --name "$name"
    assertEquals "left behind after teardown" "" "$(lab_leftovers "$name")"
    assertFalse "the container's PID 1 is gone" "[ -e /proc/$cpid ]"
    assert_lab_output_shows_lessons_network_and_chart "$TEST_TMP/out" "$cpid" "$name"
    assertEquals "zfs-fuse daemon as before" "$daemon_before" "$(zfs_daemon_state)"
}

# assert_lab_output_shows_lessons_network_and_chart OUT CPID NAME: what
# labs/all.sh printed: each banner names a lesson that exists; the network
# step draws the lab's topology; the load step charts the CPU share each
# second, with a bar as long as the figure beside it.
assert_lab_output_shows_lessons_network_and_chart() {
    local out=$1 cpid=$2 name=$3 lesson lessons want chart bar pct tenths hashes banner lesson_re
    banner="^$(step_banner '[0-9]+')"
    # The lesson: docs/NAME.md, or its translation docs/LANG/NAME.md.
    lesson_re="^$(tmsg_re lib.lesson '[0-9]+' '(docs/.*\.md)')\$"
    lessons=$(grep -EA1 "$banner" "$out" | sed -En "s|$lesson_re|\\1|p")
    assertEquals "every step's banner names its lesson" \
        "$(grep -Ec "$banner" "$out")" "$(echo "$lessons" | grep -c .)"
    for lesson in $lessons; do
        assertTrue "the banner's lesson $lesson exists" "[ -f '$TUNA_ROOT/$lesson' ]"
    done
    lesson=$(grep -EA1 "^$(step_banner 2)" "$out" | sed -En "s|$lesson_re|\\1|p")
    assertEquals "step 2 comes from the namespaces lesson" docs/02-unshare.md \
        "${lesson/#docs\/$TUNA_LANG\//docs/}"
    grep '^  [|+]' "$out" >"$TEST_TMP/picture"
    for want in "$(tmsg_re all.net.container "$cpid")" \
        "$(tmsg_re all.net.eth0_was "$cpid") +172\.17\.0\.2/16" "h$cpid +172\.17\.0\.1/16" \
        "$(tmsg_re all.net.lab_host "tuna-$name-host")" "masquerade: ip saddr 172\.17\.0\.0/16" \
        "$(tmsg_re all.net.internet "tuna-$name-uplink")" "uplink0 +198\.51\.100\.53/24"; do
        assertTrue "the network picture shows '$want'" "grep -Eq '$want' '$TEST_TMP/picture'"
    done
    chart=$(grep -E '^ +[0-9]+ s  [#.|>]+ +[0-9]+\.[0-9]%$' "$out")
    assertEquals "the CPU chart has a line per second: $chart" 5 "$(echo "$chart" | grep -c .)"
    while read -r _ _ bar pct; do
        tenths=${pct%\%} tenths=${tenths/./}
        hashes=${bar//[^#]/}
        assertEquals "a bar of $pct: one # per 2%" $(( (10#$tenths + 10) / 20 )) "${#hashes}"
    done <<<"$chart"
}

test_lab_interrupted_at_each_step_leaves_nothing() {
    require_root || return 0
    local name step pid rc
    for step in 1 2 3 4 5 6 7 8; do
        name=$(lab_name)
        on_cleanup "$TEARDOWN" --name "$name"
        # overlay: the same steps, without waiting for zfs-fuse seven times.
        # A non-interactive shell starts its & jobs with SIGINT ignored, and
        # bash cannot trap a signal ignored at its start: env puts it back.
        setsid env --default-signal=INT "$LAB" --name "$name" --quiet --backend overlay \
            >"$TEST_TMP/out" 2>&1 &
        pid=$!
        on_cleanup kill -KILL "$pid"
        for _ in $(seq 600); do
            grep -Eq "^$(step_banner "$step")" "$TEST_TMP/out" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -INT "$pid"
        rc=0
        wait "$pid" || rc=$?
        assertEquals "lab interrupted at step $step: exit status" 130 "$rc"
        assertEquals "left behind after SIGINT at step $step" "" "$(lab_leftovers "$name")"
    done
}

test_lab_rerun_after_a_killed_run_works() {
    require_root || return 0
    local name pid
    name=$(lab_name)
    on_cleanup "$TEARDOWN" --name "$name"
    # Its own process group, so SIGKILL reaches the lab and all it runs.
    setsid "$LAB" --name "$name" --quiet --backend overlay >"$TEST_TMP/out" 2>&1 &
    pid=$!
    on_cleanup kill -KILL -- "-$pid"
    for _ in $(seq 600); do
        grep -Eq "^$(step_banner 5)" "$TEST_TMP/out" && break
        sleep 0.05
    done
    # SIGKILL: no trap runs, everything is left as it was.
    kill -KILL -- "-$pid"
    wait "$pid" 2>/dev/null
    assertNotEquals "a killed lab leaves its world" "" "$(lab_leftovers "$name")"
    run_capture "$TEST_TMP/out2" "$TEST_TMP/err2" "$LAB" --name "$name" --quiet --backend overlay
    assertEquals "rerun exit status: $(tail -15 "$TEST_TMP/out2")" 0 "$RC"
    assertEquals "left behind after the rerun" "" "$(lab_leftovers "$name")"
}

test_each_step_lab_runs_alone_and_leaves_nothing() {
    require_root || return 0
    require_zfs || return 0
    local lab name
    for lab in 01-cgroup 02-unshare 03-zfs-image 04-pivot 05-veth 06-nat 07-stress 08-harden; do
        name=$(lab_name)
        on_cleanup "$TEARDOWN" --name "$name"
        run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
            "$TUNA_ROOT/labs/$lab.sh" --name "$name" --quiet
        assertEquals "labs/$lab.sh exit status: $(tail -12 "$TEST_TMP/out") $(tail -3 "$TEST_TMP/err")" 0 "$RC"
        assertTrue "labs/$lab.sh: every result held" \
            "grep -Eq '$ALL_HELD' '$TEST_TMP/out'"
        assertEquals "left behind by labs/$lab.sh" "" "$(lab_leftovers "$name")"
    done
}

# On overlay, lab 03 shows clone --size for real where the pool is an XFS
# with project quotas (the default there), and says in a line why not
# where it is a tmpfs.  The pool's type is read from mountinfo mid-run
# through the lab's own check of the write: ENOSPC at no more than 8M.
test_lab_03_on_overlay_shows_the_size_limit_where_the_pool_is_xfs() {
    require_root || return 0
    local name
    name=$(lab_name)
    on_cleanup "$TEARDOWN" --name "$name"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
        "$TUNA_ROOT/labs/03-zfs-image.sh" --name "$name" --quiet --backend overlay
    assertEquals "exit status: $(tail -12 "$TEST_TMP/out") $(tail -3 "$TEST_TMP/err")" 0 "$RC"
    assertTrue "every result held" "grep -Eq '$ALL_HELD' '$TEST_TMP/out'"
    if { [ -e /proc/fs/xfs/xqmstat ] || { modprobe -q xfs 2>/dev/null && [ -e /proc/fs/xfs/xqmstat ]; }; } &&
        command -v mkfs.xfs >/dev/null; then
        assertTrue "the 8M container's write stopped with ENOSPC" \
            "grep -Eq '^  \\[ ok \\] $(tmsg_re l03.quota.check '[0-9]+')' '$TEST_TMP/out'"
        assertTrue "dd's own error is ENOSPC" "grep -q '^  dd: .*No space left on device' '$TEST_TMP/out'"
    else
        assertTrue "says why it skips the size limit" \
            "grep -Eq '$(tmsg_re l03.quota.skip tmpfs)' '$TEST_TMP/out'"
    fi
    assertEquals "left behind" "" "$(leftovers "$name")"
}

test_lab_refuses_bad_options() {
    local rc
    rc=0; "$LAB" --name 'a/b' >/dev/null 2>&1 || rc=$?
    assertEquals "--name with a slash" 2 "$rc"
    rc=0; "$LAB" --name waytoolongname >/dev/null 2>&1 || rc=$?
    assertEquals "--name too long" 2 "$rc"
    rc=0; "$LAB" --backend ext4 >/dev/null 2>&1 || rc=$?
    assertEquals "unknown backend" 2 "$rc"
    rc=0; "$LAB" --bogus >/dev/null 2>&1 || rc=$?
    assertEquals "unknown option" 2 "$rc"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_02_unshare.sh - 02-unshare: new namespaces, PID 1, the --fork trap.
#
# Every check reads the kernel: /proc/PID/ns links compared with readlink,
# /proc/PID/status, /proc/self/uid_map, /proc/sys/kernel/hostname,
# /proc/self/mountinfo.  Never the tool's own report.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# make sanitize: LeakSanitizer cannot stop the world from PID 1 of a new PID
# namespace (it looks its threads up in a /proc that is the host's) and
# aborts with "LeakSanitizer has encountered a fatal error"; ASan and UBSan
# still run.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

UNSHARE="$TUNA_BIN/02-unshare"
NS_TYPES="cgroup ipc mnt net pid time user uts"

# A script printing "type link" for each namespace of the process running it.
# shellcheck disable=SC2016  # expanded by the shell inside
NS_LINKS_SCRIPT='for t in '"$NS_TYPES"'; do echo "$t $(readlink /proc/self/ns/$t)"; done'

# changed_namespaces FILE: the types whose link in FILE differs from ours.
changed_namespaces() {
    local t link ours changed=""
    while read -r t link; do
        ours=$(readlink "/proc/self/ns/$t")
        [ "$link" = "$ours" ] || changed="$changed $t"
    done <"$1"
    echo "${changed# }"
}

# wait_for_file PATH: up to 5 s for PATH to exist and be non-empty.
wait_for_file() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# release_fifo FIFO: a cleanup, so that no 02-unshare is left blocked on
# --wait whatever happened in the test.
release_fifo() {
    # shellcheck disable=SC2016  # expanded by the inner shell
    timeout 2 sh -c 'echo >"$1"' sh "$1"
}

# assert_flag_changes_only OPTION TYPE: 02-unshare OPTION --fork gives CMD a
# new TYPE namespace and keeps every other one.
assert_flag_changes_only() {
    "$UNSHARE" "$1" --fork -- sh -c "$NS_LINKS_SCRIPT" \
        >"$TEST_TMP/links" 2>"$TEST_TMP/err"
    assertEquals "exit status of 02-unshare $1 ($(cat "$TEST_TMP/err"))" 0 $?
    assertEquals "8 namespace links read" 8 "$(grep -c ':\[' "$TEST_TMP/links")"
    assertEquals "namespaces that differ after 02-unshare $1" "$2" \
        "$(changed_namespaces "$TEST_TMP/links")"
}

test_mount_flag_changes_only_mnt() { require_root || return 0; assert_flag_changes_only --mount mnt; }
test_uts_flag_changes_only_uts() { require_root || return 0; assert_flag_changes_only --uts uts; }
test_ipc_flag_changes_only_ipc() { require_root || return 0; assert_flag_changes_only --ipc ipc; }
test_net_flag_changes_only_net() { require_root || return 0; assert_flag_changes_only --net net; }
test_pid_flag_changes_only_pid() { require_root || return 0; assert_flag_changes_only --pid pid; }
test_cgroup_flag_changes_only_cgroup() { require_root || return 0; assert_flag_changes_only --cgroup cgroup; }
test_time_flag_changes_only_time() { require_root || return 0; assert_flag_changes_only --time time; }
test_user_flag_changes_only_user() { assert_flag_changes_only --user user; }

test_fork_pid_makes_cmd_pid_1_with_two_nspid_levels() {
    require_root || return 0
    "$UNSHARE" --pid --fork -- sh -c 'echo $$; exec grep NSpid /proc/self/status' \
        >"$TEST_TMP/out"
    assertEquals "\$\$ inside" 1 "$(sed -n 1p "$TEST_TMP/out")"
    # NSpid: the PID in each namespace from the host's down: "NSpid: 12345 1"
    read -r _ host_pid inner_pid extra < <(sed -n 2p "$TEST_TMP/out")
    assertNotNull "a host PID" "$host_pid"
    assertEquals "PID in the new namespace" 1 "$inner_pid"
    assertNull "only two levels: $(sed -n 2p "$TEST_TMP/out")" "$extra"
}

test_mount_proc_lists_only_the_new_pid_namespace() {
    require_root || return 0
    local before
    before=$(grep -c ' /proc ' /proc/self/mountinfo)
    "$UNSHARE" --pid --fork --mount-proc -- sh -c 'echo /proc/[0-9]*' >"$TEST_TMP/out"
    assertEquals "PIDs in the new /proc" "/proc/1" "$(cat "$TEST_TMP/out")"
    assertEquals "host /proc mounts afterwards" "$before" \
        "$(grep -c ' /proc ' /proc/self/mountinfo)"
}

test_hostname_is_tuna_inside_and_the_host_keeps_its_own() {
    require_root || return 0
    local host
    host=$(cat /proc/sys/kernel/hostname)
    assertEquals "hostname inside" tuna \
        "$("$UNSHARE" --uts --hostname tuna -- cat /proc/sys/kernel/hostname)"
    assertEquals "the host's hostname" "$host" "$(cat /proc/sys/kernel/hostname)"
}

test_pid_without_fork_fails_the_fork_after_pid_1_exits() {
    require_root || return 0
    # bash forks for each external command: the first becomes PID 1 of the
    # new namespace and exits; the next fork finds the namespace dead.
    "$UNSHARE" --pid -- bash -c 'echo "outer=$$"; sh -c "echo first=\$\$"; /bin/true; echo after' \
        >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    assertNotEquals "bash itself stays outside" "outer=1" "$(grep outer= "$TEST_TMP/out")"
    assertEquals "its first child is PID 1" "first=1" "$(grep first= "$TEST_TMP/out")"
    assertTrue "the next fork: ENOMEM ($(cat "$TEST_TMP/err"))" \
        "grep -q 'fork: Cannot allocate memory' '$TEST_TMP/err'"
    assertFalse "nothing ran after it" "grep -q after '$TEST_TMP/out'"
    assertTrue "the hint is printed" "grep -q '^hint: --pid without --fork' '$TEST_TMP/err'"
}

test_pid_with_fork_prints_no_hint() {
    require_root || return 0
    "$UNSHARE" --pid --fork -- bash -c '/bin/true; /bin/true' 2>"$TEST_TMP/err"
    assertEquals "status" 0 $?
    assertEquals "stderr" "" "$(cat "$TEST_TMP/err")"
}

test_map_root_user_maps_the_callers_uid_to_0() {
    require_command setpriv util-linux || return 0
    local uid=65534
    # As an unprivileged user, so the mapping is not 0 -> 0.
    setpriv --reuid=$uid --regid=$uid --clear-groups -- "$UNSHARE" --user --map-root-user -- \
        sh -c 'id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups' \
        >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    assertEquals "status ($(cat "$TEST_TMP/err"))" 0 $?
    assertEquals "id -u inside" 0 "$(sed -n 1p "$TEST_TMP/out")"
    assertEquals "uid_map" "0 $uid 1" "$(sed -n 2p "$TEST_TMP/out" | tr -s ' ' | sed 's/^ //')"
    assertEquals "gid_map" "0 $uid 1" "$(sed -n 3p "$TEST_TMP/out" | tr -s ' ' | sed 's/^ //')"
    assertEquals "setgroups" deny "$(sed -n 4p "$TEST_TMP/out")"
}

test_pidfile_names_a_process_in_the_new_netns_that_waits_for_the_byte() {
    require_root || return 0
    local fifo=$TEST_TMP/go pidfile=$TEST_TMP/pid pid bg
    mkfifo "$fifo"
    on_cleanup release_fifo "$fifo"
    "$UNSHARE" --net --fork --pidfile "$pidfile" --wait "$fifo" -- \
        sh -c "echo \$\$ > $TEST_TMP/ran" &
    bg=$!
    on_cleanup kill -9 "$bg"
    wait_for_file "$pidfile" || fail "no pidfile after 5 s"
    pid=$(cat "$pidfile")
    on_cleanup kill -9 "$pid"
    assertNotEquals "the PID's network namespace" "$(readlink /proc/self/ns/net)" \
        "$(readlink "/proc/$pid/ns/net")"
    sleep 0.3
    assertFalse "CMD has not run before the byte" "[ -e '$TEST_TMP/ran' ]"
    echo >"$fifo"
    wait "$bg"
    assertEquals "02-unshare's status" 0 $?
    assertEquals "CMD ran as the PID in the file" "$pid" "$(cat "$TEST_TMP/ran")"
    assertFalse "the pidfile is removed when CMD ends" "[ -e '$pidfile' ]"
}

test_pidfile_with_pid_fork_names_pid_1_of_the_new_namespace() {
    require_root || return 0
    local fifo=$TEST_TMP/go pidfile=$TEST_TMP/pid pid bg
    mkfifo "$fifo"
    on_cleanup release_fifo "$fifo"
    "$UNSHARE" --pid --fork --pidfile "$pidfile" --wait "$fifo" -- true &
    bg=$!
    on_cleanup kill -9 "$bg"
    wait_for_file "$pidfile" || fail "no pidfile after 5 s"
    pid=$(cat "$pidfile")
    assertEquals "NSpid of the PID in the file" "$pid 1" \
        "$(awk '/^NSpid:/ {print $2, $3}' "/proc/$pid/status")"
    echo >"$fifo"
    wait "$bg"
}

test_mount_makes_propagation_private_so_the_host_sees_nothing() {
    require_root || return 0
    local shared=$TEST_TMP/shared
    # A shared mount of the test's own: without MS_PRIVATE, a mount made
    # under it in the new namespace would show up here too.
    mkdir -p "$shared"
    mount -t tmpfs tuna-test "$shared" || fail "mount tmpfs"
    on_cleanup umount -l "$shared"
    mount --make-shared "$shared"
    mkdir "$shared/sub"

    "$UNSHARE" --explain --mount -- mount -t tmpfs tuna-inner "$shared/sub" 2>"$TEST_TMP/err"
    assertEquals "mount inside" 0 $?
    assertFalse "no mount on $shared/sub on the host" \
        "grep -q ' $shared/sub ' /proc/self/mountinfo"
    assertTrue "explain names the private remount: $(cat "$TEST_TMP/err")" \
        "grep -q 'mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL) = 0' '$TEST_TMP/err'"
    assertTrue "explain shows the post's command" \
        "grep -q '^unshare(CLONE_NEWNS) = 0   # unshare --mount$' '$TEST_TMP/err'"

    # The control: with unshare(1) keeping propagation, the mount leaks.
    if unshare --mount --propagation unchanged -- mount -t tmpfs tuna-inner "$shared/sub"; then
        assertTrue "control: a shared mount propagates" \
            "grep -q ' $shared/sub ' /proc/self/mountinfo"
        umount "$shared/sub"
    fi
}

test_show_marks_the_namespaces_that_differ() {
    require_root || return 0
    local fifo=$TEST_TMP/go pidfile=$TEST_TMP/pid pid bg t marked expected=""
    mkfifo "$fifo"
    on_cleanup release_fifo "$fifo"
    "$UNSHARE" --net --uts --fork --pidfile "$pidfile" --wait "$fifo" -- true &
    bg=$!
    on_cleanup kill -9 "$bg"
    wait_for_file "$pidfile" || fail "no pidfile after 5 s"
    pid=$(cat "$pidfile")
    "$UNSHARE" --show "$pid" >"$TEST_TMP/out"
    # What the kernel says differs from this shell (itself in PID 1's).
    for t in cgroup ipc mnt net pid time user uts; do
        [ "$(readlink "/proc/$pid/ns/$t")" = "$(readlink "/proc/self/ns/$t")" ] ||
            expected="$expected $t"
        assertTrue "link of $t shown" \
            "grep -qF -- '-> $(readlink "/proc/$pid/ns/$t")' '$TEST_TMP/out'"
    done
    marked=$(awk '$1 == "*" {print $2}' "$TEST_TMP/out" | tr '\n' ' ')
    assertEquals "marked namespaces" "${expected# } " "$marked"
    echo >"$fifo"
    wait "$bg"
}

test_exit_status_is_the_commands_or_128_plus_signal() {
    "$UNSHARE" --fork -- sh -c 'exit 7'
    assertEquals "exit 7" 7 $?
    "$UNSHARE" --fork -- sh -c 'kill -TERM $$'
    assertEquals "killed by SIGTERM" 143 $?
    "$UNSHARE" -- sh -c 'exit 5'
    assertEquals "without --fork (exec)" 5 $?
    "$UNSHARE" -- /nonexistent/cmd 2>/dev/null
    assertEquals "command not found" 127 $?
}

test_sigterm_is_forwarded_to_the_command() {
    local pidfile=$TEST_TMP/pid bg pid
    "$UNSHARE" --fork --pidfile "$pidfile" -- sleep 30 &
    bg=$!
    on_cleanup kill -9 "$bg"
    wait_for_file "$pidfile" || fail "no pidfile after 5 s"
    pid=$(cat "$pidfile")
    on_cleanup kill -9 "$pid"
    kill -TERM "$bg"
    wait "$bg"
    assertEquals "02-unshare returns sleep's 128+SIGTERM" 143 $?
    assertFalse "sleep is gone" "[ -e /proc/$pid ]"
}

test_unprivileged_unshare_is_refused_with_a_hint() {
    require_root || return 0
    require_command setpriv util-linux || return 0
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
        setpriv --reuid=65534 --regid=65534 --clear-groups -- "$UNSHARE" --net -- true
    assertEquals "exit status" 1 "$RC"
    assertEquals "the kernel's EPERM: $(cat "$TEST_TMP/err")" \
        "02-unshare: unshare(CLONE_NEWNET): Operation not permitted" "$(sed -n 1p "$TEST_TMP/err")"
    assertTrue "hint" "grep -q '^hint: every namespace but --user needs CAP_SYS_ADMIN' '$TEST_TMP/err'"
}

test_bad_input_exits_2_with_one_line() {
    local host long
    host=$(cat /proc/sys/kernel/hostname)
    long=$(printf 'h%.0s' $(seq 65))
    assert_one_line_failure 2 "$UNSHARE" --uts --hostname "" -- true
    assert_one_line_failure 2 "$UNSHARE" --uts --hostname "$long" -- true
    assert_one_line_failure 2 "$UNSHARE" --mount-proc -- true
    assert_one_line_failure 2 "$UNSHARE" --time -- true
    assert_one_line_failure 2 "$UNSHARE" --wait "$TEST_TMP" -- true
    assert_one_line_failure 2 "$UNSHARE" --bogus
    assert_one_line_failure 2 "$UNSHARE" --show notapid
    assertEquals "the host's hostname is untouched" "$host" "$(cat /proc/sys/kernel/hostname)"
    # 64 bytes is HOST_NAME_MAX: accepted.
    require_root || return 0
    assertEquals "64-byte hostname" "${long:1}" \
        "$("$UNSHARE" --uts --hostname "${long:1}" -- cat /proc/sys/kernel/hostname)"
}

# shellcheck source=/dev/null
. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_common.sh - libtuna's parsers: every kind of bad input refused,
# every documented form accepted with the right value; the traced calls of
# common/trace.h: each does the call (checked in /proc, not in the trace)
# and prints it decoded from its own arguments; the error path and the
# undo entries of common/errors.c.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

PROBE=${TUNA_PARSE_PROBE:-$TUNA_ROOT/build/unit/parse-probe}
TRACE=${TUNA_TRACE_PROBE:-$TUNA_ROOT/build/unit/trace-probe}

# expect KIND INPUT OUTPUT: the parser prints OUTPUT (a value, or EINVAL /
# ERANGE for a refusal).
expect() {
    local got
    got=$("$PROBE" "$1" "$2" 2>&1)
    assertEquals "parse $1 '$2'" "$3" "$got"
}

before_each() {
    [ -x "$PROBE" ] || fail "$PROBE missing: run make build/unit/parse-probe"
    [ -x "$TRACE" ] || fail "$TRACE missing: run make build/unit/trace-probe"
}

# trace WHAT ARGS...: run the trace probe; its trace in $TEST_TMP/err.
trace() {
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TRACE" "$@"
}

test_size_accepts_bytes_and_binary_suffixes() {
    expect size 4096 4096
    expect size 0 0
    expect size 200K 204800
    expect size 200M 209715200
    expect size 200m 209715200
    expect size 1G 1073741824
    expect size 2T 2199023255552
    expect size 200MB 209715200
    expect size 200MiB 209715200
    expect size 18446744073709551615 18446744073709551615
}

test_size_refuses_junk_sign_space_and_overflow() {
    expect size '' EINVAL
    expect size M EINVAL
    expect size 12Q EINVAL
    expect size 10MM EINVAL
    expect size -5 EINVAL
    expect size +5 EINVAL
    expect size ' 5' EINVAL
    expect size '5 ' EINVAL
    expect size 0x10 EINVAL
    expect size 1.5G EINVAL
    expect size 18446744073709551616 ERANGE
    expect size 17179869184G ERANGE
    expect size 99999999999999999999999 ERANGE
}

test_percent_needs_the_sign_and_keeps_three_decimals() {
    expect percent 20% 20000
    expect percent 150% 150000
    expect percent 12.5% 12500
    expect percent 0.001% 1
    expect percent 0% 0
    expect percent 20 EINVAL
    expect percent '' EINVAL
    expect percent % EINVAL
    expect percent abc EINVAL
    expect percent -20% EINVAL
    expect percent 1.2345% EINVAL
    expect percent 20.% EINVAL
    expect percent '20% ' EINVAL
    expect percent 99999999999999999999% ERANGE
}

test_duration_takes_stress_units_and_bare_seconds() {
    expect duration 10 10000
    expect duration 10s 10000
    expect duration 500ms 500
    expect duration 2m 120000
    expect duration 1h 3600000
    expect duration 1d 86400000
    expect duration '' EINVAL
    expect duration abc EINVAL
    expect duration 10x EINVAL
    expect duration -1s EINVAL
    expect duration 1.5s EINVAL
    expect duration 99999999999999999999 ERANGE
    expect duration 999999999999999999d ERANGE
}

test_integers_refuse_junk_and_overflow() {
    expect u64 0 0
    expect u64 18446744073709551615 18446744073709551615
    expect u64 18446744073709551616 ERANGE
    expect u64 '' EINVAL
    expect u64 12a EINVAL
    expect u64 -1 EINVAL
    expect int -5 -5
    expect int 1000 1000
    expect int 1001 ERANGE
    expect int -1001 ERANGE
    expect int - EINVAL
    expect int 0x EINVAL
    expect int 99999999999 ERANGE
}

test_ipv4_and_cidr_are_strict_dotted_quads() {
    expect ipv4 172.17.0.1 172.17.0.1/32
    expect ipv4 0.0.0.0 0.0.0.0/32
    expect cidr 172.17.0.2/16 '172.17.0.2/16 host-bits'
    expect cidr 172.17.0.0/16 172.17.0.0/16
    expect cidr 10.0.0.0/8 10.0.0.0/8
    expect cidr 198.51.100.53/32 198.51.100.53/32
    expect cidr 0.0.0.0/0 0.0.0.0/0
    expect ipv4 '' EINVAL
    expect ipv4 256.1.1.1 EINVAL
    expect ipv4 1.2.3 EINVAL
    expect ipv4 1.2.3.4.5 EINVAL
    expect ipv4 010.1.1.1 EINVAL
    expect ipv4 '1.2.3.4 ' EINVAL
    expect cidr 172.17.0.2 EINVAL
    expect cidr 172.17.0.2/33 EINVAL
    expect cidr 172.17.0.2/ EINVAL
    expect cidr 172.17.0.2/016 EINVAL
    expect cidr 172.17.0.2/-1 EINVAL
    expect cidr /16 EINVAL
}

test_ifname_fits_ifnamsiz_and_the_kernel_rules() {
    expect ifname eth0 eth0
    expect ifname 0123456789abcde 0123456789abcde
    expect ifname 0123456789abcdef ERANGE
    expect ifname '' EINVAL
    expect ifname . EINVAL
    expect ifname .. EINVAL
    expect ifname a/b EINVAL
    expect ifname a:b EINVAL
    expect ifname 'a b' EINVAL
}

test_pid_is_positive_and_below_pid_max_limit() {
    expect pid 1 1
    expect pid 4194304 4194304
    expect pid 4194305 ERANGE
    expect pid 0 ERANGE
    expect pid -1 EINVAL
    expect pid '' EINVAL
    expect pid 12x EINVAL
}

# --- common/trace.h -----------------------------------------------------------

test_traced_mount_of_a_tmpfs_is_decoded_from_its_arguments() {
    require_root || return 0
    require_command unshare util-linux || return 0
    local dir=$TEST_TMP/mnt
    mkdir "$dir"
    # A private mount namespace: the tmpfs dies with it, the host never sees it.
    # 6 = MS_NOSUID|MS_NODEV.  The mount is read back from mountinfo.
    # shellcheck disable=SC2016  # the inner shell's $1 $2
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" unshare --mount --propagation private \
        sh -c '"$1" mount tuna-probe "$2" tmpfs 6 size=1m,mode=0750 &&
               grep " $2 " /proc/self/mountinfo' sh "$TRACE" "$dir"
    assertEquals "probe: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertEquals "the line shows the call as made" \
        "mount(\"tuna-probe\", \"$dir\", \"tmpfs\", MS_NOSUID|MS_NODEV, \"size=1m,mode=0750\") = 0   # mount -t tmpfs" \
        "$(cat "$TEST_TMP/err")"
    assertTrue "mountinfo has the tmpfs, nosuid,nodev: $(cat "$TEST_TMP/out")" \
        "grep -Eq ' $dir rw,nosuid,nodev[, ].* - tmpfs tuna-probe rw,size=1024k,mode=750' '$TEST_TMP/out'"
    assertFalse "not in the host's mount table" "grep -q ' $dir ' /proc/self/mountinfo"
}

test_traced_call_that_fails_shows_minus_one_and_the_errno_name() {
    trace rmdir "$TEST_TMP/missing"
    assertEquals "returns -ENOENT" "= -2" "$(cat "$TEST_TMP/out")"
    assertEquals "ENOENT line" \
        "rmdir(\"$TEST_TMP/missing\") = -1 ENOENT (No such file or directory)   # rmdir" \
        "$(cat "$TEST_TMP/err")"
    require_root || return 0
    require_command setpriv util-linux || return 0
    mkdir "$TEST_TMP/mnt"
    chmod 0711 "$TEST_TMP"   # nobody may reach the target, so EPERM is mount's own
    # As nobody, without CAP_SYS_ADMIN, mount(2) is refused.
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" setpriv --reuid=65534 --regid=65534 \
        --clear-groups "$TRACE" mount none "$TEST_TMP/mnt" tmpfs 0 size=1m
    assertEquals "exit 1 for -EPERM" 1 "$RC"
    assertEquals "EPERM line, the flags 0 shown as 0" \
        "mount(\"none\", \"$TEST_TMP/mnt\", \"tmpfs\", 0, \"size=1m\") = -1 EPERM (Operation not permitted)   # mount -t tmpfs" \
        "$(cat "$TEST_TMP/err")"
    assertFalse "nothing mounted" "grep -q ' $TEST_TMP/mnt ' /proc/self/mountinfo"
}

test_traced_write_file_is_one_write_shown_as_echo() {
    require_root || return 0
    require_command unshare util-linux || return 0
    # A kernel file of a private UTS namespace: the host's name is untouched.
    # shellcheck disable=SC2016  # the inner shell's $1
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" unshare --uts \
        sh -c '"$1" write /proc/sys/kernel/hostname tuna-probe && uname -n' sh "$TRACE"
    assertEquals "probe: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertEquals "the write, its length, the post's echo" \
        'write("/proc/sys/kernel/hostname", "tuna-probe") = 10   # echo tuna-probe > /proc/sys/kernel/hostname' \
        "$(cat "$TEST_TMP/err")"
    assertEquals "uname(2) inside sees it" "tuna-probe" "$(sed -n 2p "$TEST_TMP/out")"
    assertNotEquals "the host's name is not it" "tuna-probe" "$(uname -n)"
}

test_traced_run_returns_the_status_128_plus_signal_or_minus_enoent() {
    trace run sh -c 'exit 3'
    assertEquals "exit status 3" "status 3" "$(sed -n 1p "$TEST_TMP/out")"
    assertTrue "argv shown: $(cat "$TEST_TMP/err")" \
        "grep -Eq '^run\(\"/[a-z/]*/sh\", \[\"sh\", \"-c\", \"exit 3\"\]\) = 3   # the command\$' '$TEST_TMP/err'"
    # shellcheck disable=SC2016  # $$ is the child shell's
    trace run sh -c 'kill -KILL $$'
    assertEquals "128 + SIGKILL" "status 137" "$(sed -n 1p "$TEST_TMP/out")"
    trace run tuna-no-such-command
    assertEquals "-ENOENT, not 127" "status -2" "$(sed -n 1p "$TEST_TMP/out")"
    assertTrue "ENOENT line: $(cat "$TEST_TMP/err")" \
        "grep -q '= -1 ENOENT (No such file or directory)   # the command\$' '$TEST_TMP/err'"
    # The command's stdout is not ours: a step stays silent on success.
    trace run echo chatter
    assertFalse "stdout thrown away" "grep -q chatter '$TEST_TMP/out'"
}

test_traced_ioctl_names_the_request_and_decodes_its_argument() {
    printf 'hello' >"$TEST_TMP/five"
    trace ioctl-fionread "$TEST_TMP/five"
    assertTrue "FIONREAD by name, fd by path, the 5 bytes the kernel counted: $(cat "$TEST_TMP/err")" \
        "grep -qx 'ioctl([0-9]*<$TEST_TMP/five>, FIONREAD, \[5\]) = 0' '$TEST_TMP/err'"
}

test_exit_status_from_wait_is_the_shells_128_plus_signal() {
    trace wait-status 9
    assertEquals "SIGKILL" "exit 137" "$(sed -n 1p "$TEST_TMP/out")"
    assertTrue "wait status decoded as strace does: $(cat "$TEST_TMP/err")" \
        "grep -q '^wait4([0-9]*, \[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}\], 0, NULL) = [0-9]*\$' '$TEST_TMP/err'"
    trace wait-status 15
    assertEquals "SIGTERM" "exit 143" "$(sed -n 1p "$TEST_TMP/out")"
}

# --- common/errors.c -----------------------------------------------------------

test_die_hint_undoes_with_entries_that_own_their_paths() {
    local dir=$TEST_TMP/made
    trace undo-then-die "$dir" "$dir/file"
    assertEquals "exit 1" 1 "$RC"
    assertEquals "message with strerror, then the hint" \
        "trace-probe: probe failing on purpose: File exists
hint: the probe's hint" "$(grep -v '^[a-z0-9]*(' "$TEST_TMP/err")"
    # The probe wiped its own copies of the paths before dying.
    assertEquals "undo ran newest first, from the entries' copies" \
        "unlink(\"$dir/file\") = 0   # undo
rmdir(\"$dir\") = 0   # undo" "$(grep '# undo$' "$TEST_TMP/err")"
    assertFalse "the directory is gone" "[ -e '$dir' ]"
}

test_die_status_exits_with_its_status_and_one_message_line() {
    trace die-status 127 2
    assertEquals "the status given" 127 "$RC"
    assertEquals "message, strerror(2), hint" \
        "trace-probe: probe dies with 127: No such file or directory
hint: a hint" "$(cat "$TEST_TMP/err")"
    trace die-status 126 0
    assertEquals "err 0: no strerror" "trace-probe: probe dies with 126" \
        "$(sed -n 1p "$TEST_TMP/err")"
}

test_undo_write_file_puts_the_old_value_back_from_its_own_copy() {
    local file=$TEST_TMP/value
    : >"$file"   # a kernel file is there already: the write does not create it
    trace undo-write-then-die "$file" old new
    assertEquals "exit 1" 1 "$RC"
    assertEquals "the undo wrote the old value, from the entry's copy" \
        "write(\"$file\", \"old\") = 3   # undo" "$(grep '# undo$' "$TEST_TMP/err")"
    assertEquals "the file holds the old value again" "old" "$(cat "$file")"
}

test_traced_statfs_names_the_file_system_by_its_magic() {
    trace statfs /proc
    assertEquals "probe: $(cat "$TEST_TMP/err")" 0 "$RC"
    # stat(1) asks statfs(2) too, and prints the magic in hex: 9fa0 is proc's.
    assertEquals "stat -f agrees: proc" "9fa0" "$(stat -f -c %t /proc)"
    assertEquals "the call, the magic by name" \
        'statfs("/proc", {f_type=PROC_SUPER_MAGIC}) = 0' "$(cat "$TEST_TMP/err")"
    trace statfs "$TEST_TMP/missing"
    assertEquals "a missing path: -ENOENT" "= -2" "$(cat "$TEST_TMP/out")"
    assertContains "the errno by name" "$(cat "$TEST_TMP/err")" \
        "{f_type=?}) = -1 ENOENT (No such file or directory)"
}

test_pidfd_signal_and_poll_are_traced_and_reach_the_process() {
    trace pidfd-term
    assertEquals "probe: $(cat "$TEST_TMP/err")" 0 "$RC"
    # wait4(2), not the pidfd calls, says how the child ended: SIGTERM.
    assertEquals "the child died of SIGTERM" "exit 143" "$(sed -n 1p "$TEST_TMP/out")"
    assertContains "poll before the signal: nothing yet" "$(cat "$TEST_TMP/err")" \
        "events=POLLIN}], 1, 0) = 0   # still running"
    assertContains "the signal through the pidfd" "$(cat "$TEST_TMP/err")" \
        ", SIGTERM, NULL, 0) = 0"
    assertContains "poll after it: readable, the process has exited" \
        "$(cat "$TEST_TMP/err")" "events=POLLIN}], 1, 5000) = 1   # until it has exited"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

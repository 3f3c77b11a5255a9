# shellcheck shell=bash
# tests/lib.sh - what every shunit2 suite in tests/ shares.
#
# A suite is tests/test_NAME.sh:
#
#   #!/usr/bin/env bash
#   . "$(dirname "$0")/lib.sh"
#   test_cpu_hog_uses_a_whole_core() {
#       require_root || return 0
#       ...
#   }
#   . "$SHUNIT2"
#
# Rules this file keeps for every suite:
# - A test that cannot run here calls a require_* (or skip_test) and returns
#   0.  The skip is counted and its reason printed; with TUNA_MUST_RUN=1 (CI)
#   a skip is a failure, so nothing passes by not running.
# - Everything a test makes is registered with on_cleanup right after it is
#   made; tearDown runs the list newest first, also when the test failed.
# - Suites do not define setUp/tearDown/oneTimeSetUp/oneTimeTearDown; they
#   define suite_setup, suite_teardown, before_each if they need them
#   (not test_setup: shunit2 runs every function named test* as a test).

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TUNA_ROOT=$(cd "$TESTS_DIR/.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
SHUNIT2=${SHUNIT2:-$(command -v shunit2 || echo /usr/share/shunit2/shunit2)}
# shunit2 takes the suite's name from $0; keep it for messages.
SUITE_NAME=$(basename "$0" .sh)
export TUNA_ROOT TUNA_BIN

# Each test's private scratch directory, removed by tearDown.
TEST_TMP=
# The cleanup commands of the running test, one per line, run newest first.
CLEANUPS=()
SKIPPED_TESTS=0
RESULTS_WRITTEN=0
SHUNIT_COLOR=${SHUNIT_COLOR:-none}

# --- skipping ---------------------------------------------------------------

# skip_test REASON: this test cannot run here.  Returns 1 so a test can write
# `require_root || return 0`.
skip_test() {
    if [ "${TUNA_MUST_RUN:-0}" = 1 ]; then
        fail "cannot run here, and TUNA_MUST_RUN=1 forbids skipping: $1"
    else
        echo "SKIP: $1"
        SKIPPED_TESTS=$((SKIPPED_TESTS + 1))
        startSkipping
    fi
    return 1
}

require_root() {
    [ "$(id -u)" = 0 ] || skip_test "requires root"
}

# require_command CMD [PACKAGE]
require_command() {
    command -v "$1" >/dev/null 2>&1 ||
        skip_test "requires $1 (Debian package ${2:-$1}; make deps installs it)"
}

# require_feature DESCRIPTION PROBE-COMMAND...: skip unless the probe succeeds.
require_feature() {
    local what=$1
    shift
    "$@" >/dev/null 2>&1 || skip_test "this machine lacks $what"
}

# --- ZFS --------------------------------------------------------------------
# Where the kernel has OpenZFS (/dev/zfs), zpool and zfs talk to it and no
# daemon is involved.  Elsewhere Debian's zfs-fuse serves them from a daemon
# that only 03-zfs-image starts and stops; a suite never does, and where
# OpenZFS is present nothing ever starts one.

# zfs_kind: what the zfs backend would use here: openzfs, zfs-fuse or none
# (the same order as 03-zfs-image's backend-zfs.c).
zfs_kind() {
    if ! command -v zpool >/dev/null 2>&1 || ! command -v zfs >/dev/null 2>&1; then
        echo none
    elif [ -e /dev/zfs ]; then
        echo openzfs
    elif command -v zfs-fuse >/dev/null 2>&1 && [ -e /dev/fuse ]; then
        echo zfs-fuse
    else
        echo none
    fi
}

# require_zfs: skip unless the zfs backend works here, on either kind.
require_zfs() {
    [ "$(zfs_kind)" != none ] ||
        skip_test "requires ZFS: OpenZFS (zfsutils-linux and the kernel's zfs module) or zfs-fuse; make deps installs the one that fits"
}

# zfs_answers: zpool and zfs can be asked now without starting anything:
# OpenZFS, or a zfs-fuse daemon that is already running.
zfs_answers() {
    case "$(zfs_kind)" in
    openzfs) return 0 ;;
    zfs-fuse) pgrep -x zfs-fuse >/dev/null ;;
    *) return 1 ;;
    esac
}

# --- the labs' language ------------------------------------------------------
# The labs and exercises speak the language of TUNA_LANG (labs/lang.sh).
# The suites run them in TUNA_TEST_LANG (default en, whatever this machine's
# locale says), and read their output through the same tables: tmsg KEY
# ARGS... is a message as the labs print it, tmsg_re KEY ERE... one as an
# extended regular expression, each ARG an ERE put in where the message
# has its %s.  TUNA_TEST_LANG=ko tests/run test_labs runs a suite in Korean.
export TUNA_LANG=${TUNA_TEST_LANG:-en}
# shellcheck source=labs/lang.sh
. "$TUNA_ROOT/labs/lang.sh"
# The suite's own locale stays as it is (the labs set theirs).
TUNA_LOCALE_SET=1 lang_choose "$TUNA_LANG"

tmsg() {
    msg "$@"
}

tmsg_re() {
    local key=$1 i=0 args=() text a
    shift
    for a in "$@"; do
        i=$((i + 1))
        args+=("@@$i@@")
    done
    text=$(msg "$key" "${args[@]}" | sed 's/[][\\.^$*+?(){}|]/\\&/g')
    i=0
    for a in "$@"; do
        i=$((i + 1))
        text=${text//"@@$i@@"/$a}
    done
    printf '%s' "$text"
}

# --- cleanup ----------------------------------------------------------------

# on_cleanup CMD [ARGS...]: run at tearDown, newest first; errors ignored.
on_cleanup() {
    local quoted
    quoted=$(printf '%q ' "$@")
    CLEANUPS+=("$quoted")
}

run_cleanups() {
    local i
    for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true
    done
    CLEANUPS=()
}

# --- names ------------------------------------------------------------------

# unique_name PREFIX: a name no other test or run uses, short enough for an
# interface name (15 bytes) when PREFIX is at most 5 bytes.
unique_name() {
    printf '%s%x%04x' "$1" $(($$ % 4096)) $((RANDOM % 65536))
}

# --- running the tools ------------------------------------------------------

# run_tool OUT ERR CMD [ARGS...]: run a command, its stdout and stderr into
# files; sets RC.  Never fails the test by itself.
run_capture() {
    local out=$1 err=$2
    shift 2
    RC=0
    "$@" >"$out" 2>"$err" || RC=$?
}

# assert_bad_input EXPECTED_STATUS CMD [ARGS...]: the command must exit with
# that status, not be killed by a signal, and say so in exactly one line on
# stderr that starts with the tool's name.
assert_one_line_failure() {
    local expected=$1
    shift
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$@"
    assertEquals "exit status of: $*" "$expected" "$RC"
    assertEquals "stderr lines of: $* ($(cat "$TEST_TMP/err"))" 1 \
        "$(wc -l <"$TEST_TMP/err")"
    assertTrue "message names the tool: $(cat "$TEST_TMP/err")" \
        "grep -q '^[0-9][0-9]-[a-z-]*: ' '$TEST_TMP/err'"
}

# --- cgroups ----------------------------------------------------------------

# CGROUP_MODE: v2 when /sys/fs/cgroup is cgroup2 (every stock Debian and
# Ubuntu: one hierarchy), else v1 (v1 or hybrid: a hierarchy per
# controller).  Suites that read cgroupfs test the machine's own mode.
CGROUP_MODE=v1
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && CGROUP_MODE=v2

# cgroup_file CONTROLLER GROUP FILE: GROUP's FILE where CONTROLLER lives:
# /sys/fs/cgroup/GROUP/FILE on v2; on v1 under the mount point of the
# hierarchy whose super options name CONTROLLER (/proc/self/mountinfo).
cgroup_file() {
    local mnt=/sys/fs/cgroup
    if [ "$CGROUP_MODE" = v1 ]; then
        mnt=$(awk -v c="$1" '/ - cgroup / { n = split($NF, o, ",");
            for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo)
    fi
    echo "$mnt/$2/$3"
}

# --- network sandboxes --------------------------------------------------------

# netns_add NAME: a network namespace of the test's own, removed at tearDown.
netns_add() {
    ip netns add "$1" || return 1
    on_cleanup ip netns delete "$1"
    ip -n "$1" link set lo up
}

# --- labs ---------------------------------------------------------------------

# lab_leftovers NAME: everything a lab named NAME (labs/lib.sh, --name) could
# leave behind, one per line: its network namespaces, cgroups, mounts, loop
# devices, files, directories and zpool.
lab_leftovers() {
    local name=$1 h
    ip netns list | grep -E "^tuna-$name-(host|uplink)( |$)" | sed 's/^/netns /'
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [ -d "${h}tuna-$name" ] && echo "cgroup ${h}tuna-$name"
    done
    grep -F "/var/lib/tuna/$name/" /proc/self/mountinfo | awk '{print "mount " $5}'
    for f in /sys/block/loop*/loop/backing_file; do
        [ -e "$f" ] && grep -q "tuna-$name" "$f" && echo "loop $f"
    done
    [ -e "/var/lib/tuna/tuna-$name.img" ] && echo "file /var/lib/tuna/tuna-$name.img"
    [ -e "/var/lib/tuna/$name" ] && echo "dir /var/lib/tuna/$name"
    [ -e "/run/tuna/$name" ] && echo "dir /run/tuna/$name"
    if zfs_answers; then
        zpool list -H -o name 2>/dev/null | grep -x "tuna-$name" | sed 's/^/pool /'
    fi
    return 0
}

# --- VM suites (test_vm.sh, test_student_vm.sh) --------------------------------
# Their suite_setup boots the VM once and sets VM_LOG (the serial console),
# and VM_MISSING (why the VM cannot run here: a skip) or VM_BROKEN (why it
# could have but did not: a failure).  Inside, each case prints one line
# "TUNA-VM: PASS|FAIL NAME DETAIL".

# vm_ran: skip (or, under TUNA_MUST_RUN, fail) when the VM could not run
# here; fail when it could have but did not.
vm_ran() {
    if [ -n "${VM_MISSING:-}" ]; then
        skip_test "$VM_MISSING"
        return 1
    fi
    if [ -n "${VM_BROKEN:-}" ]; then
        fail "$VM_BROKEN"
        return 1
    fi
    return 0
}

# console_tail N: the console's last N lines, on one line.
console_tail() { tail -n "$1" "$VM_LOG" 2>/dev/null | tr -d '\r' | tr '\n' '|'; }

# case_line NAME: the PASS or FAIL line of case NAME, or nothing.
case_line() {
    tr -d '\r' <"$VM_LOG" | grep -m 1 -E "^TUNA-VM: (PASS|FAIL) $1( |$)"
}

# --- shunit2 hooks ------------------------------------------------------------

oneTimeSetUp() {
    if declare -F suite_setup >/dev/null; then suite_setup; fi
}

setUp() {
    TEST_TMP=$(mktemp -d "/tmp/tuna-test.XXXXXX")
    on_cleanup rm -rf "$TEST_TMP"
    if declare -F before_each >/dev/null; then before_each; fi
}

tearDown() {
    run_cleanups
    endSkipping
}

oneTimeTearDown() {
    if declare -F suite_teardown >/dev/null; then suite_teardown; fi
    # tests/run adds these up into its closing line.  shunit2 may call this
    # hook a second time from its exit trap: count once.
    if [ -n "${TUNA_RESULTS:-}" ] && [ "$RESULTS_WRITTEN" = 0 ]; then
        RESULTS_WRITTEN=1
        # shellcheck disable=SC2154  # shunit2's own counters
        echo "$SUITE_NAME $__shunit_testsTotal $__shunit_testsFailed $SKIPPED_TESTS" \
            >>"$TUNA_RESULTS"
    fi
}

#!/usr/bin/env bash
# tests/test_student_vm.sh - tuna on the student's machine: a stock Debian 12
# VM (systemd as PID 1, cgroup v2 only, OpenZFS as a kernel module, Debian's
# cloud kernel; tests/student-vm/build.sh, docs/vm.md), booted under qemu.
#
# suite_setup boots it once (tests/student-vm/run.sh, which builds and caches
# the image on first use, about 8 minutes) with this checkout copied in and
# runs tests/student-vm/cases.sh there: `make lab` on zfs, labs/all.sh on
# btrfs and overlay, labs/all.sh --real-host with the machine's state compared
# before and after, and each step's suite with TUNA_MUST_RUN=1.  Each case
# prints one line on the serial console,
#
#   TUNA-VM: PASS|FAIL NAME DETAIL      TUNA-VM: INFO NAME FIGURES
#
# and each test below asserts one.  A case that never reported (the VM hung,
# crashed or powered off early) fails with the console's last lines.  The
# faults (no qemu, a build killed midway, a full disk, a hung VM, a second
# VM while one runs) are tested on the host around it.
#
# TUNA_STUDENT_VM_CASES="labs realhost suites" picks cases.sh's groups (facts
# always runs); TUNA_VM_SUITES="test_05_veth ..." the suites run inside
# beyond 01-04, 08 and test_exercises, which always run (default: 05, 06, 07;
# empty: none).  Without qemu, or
# without what builds the image, the tests skip with the reason (with
# TUNA_MUST_RUN=1, fail).  Nothing stays on the host but the cached image.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SVM=$TESTS_DIR/student-vm
# A first build (about 8 min), the boot and every case (about 12 min) fit:
VM_TIMEOUT=${TUNA_VM_TIMEOUT:-3000}
GROUPS_RUN=${TUNA_STUDENT_VM_CASES:-labs realhost suites}
# The suites cases.sh runs inside: these five always (see below), and
# TUNA_VM_SUITES's, by default the other three steps'.
VM_SUITES="test_01_cgroup test_02_unshare test_03_zfs_image test_04_pivot test_08_harden test_exercises"
for s in ${TUNA_VM_SUITES-test_05_veth test_06_nat test_07_stress}; do
    case " $VM_SUITES " in *" $s "*) ;; *) VM_SUITES="$VM_SUITES $s" ;; esac
done
EXIT_CANNOT=3

VM_TMP=
VM_LOG=
VM_RC=
VM_SECONDS=
VM_MISSING=
VM_BROKEN=

suite_setup() {
    local start rc=0 groups
    VM_TMP=$(mktemp -d /tmp/tuna-svm-test.XXXXXX)
    VM_LOG=$VM_TMP/console.log
    if [ "$(id -u)" != 0 ]; then
        VM_MISSING="requires root (the image is built with mmdebstrap --mode=root)"
        return 0
    fi
    if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
        VM_MISSING="requires qemu-system-x86_64 (Debian package qemu-system-x86; make deps installs it)"
        return 0
    fi
    # The VM lock for the whole suite (its own boots included): waiting for
    # it once rather than at each of them.
    exec 8>>"${TUNA_VM_LOCK:-/tmp/tuna-vm.lock}"
    if ! flock -n 8; then
        echo "student-vm: waiting for ${TUNA_VM_LOCK:-/tmp/tuna-vm.lock} (another VM is running)"
        flock 8
    fi
    export TUNA_VM_LOCK_HELD=1
    read -r -a groups <<<"facts $GROUPS_RUN"
    start=$(date +%s)
    "$SVM/run.sh" --quiet --timeout "$VM_TIMEOUT" --log "$VM_LOG" --out "$VM_TMP/out" \
        --env "TUNA_VM_SUITES=$VM_SUITES" \
        tests/student-vm/cases.sh "${groups[@]}" >"$VM_TMP/run.out" 2>&1 || rc=$?
    VM_RC=$rc
    VM_SECONDS=$(($(date +%s) - start))
    if [ "$rc" = "$EXIT_CANNOT" ]; then
        VM_MISSING=$(tail -n 1 "$VM_TMP/run.out")
        return 0
    fi
    if [ ! -s "$VM_LOG" ]; then
        VM_BROKEN="tests/student-vm/run.sh failed ($rc) before the VM ran: $(tail -n 5 "$VM_TMP/run.out" | tr '\n' '|')"
        return 0
    fi
    echo "student-vm: ${VM_SECONDS}s (run.sh status $rc): $(tail -n 1 "$VM_TMP/run.out")"
    tr -d '\r' <"$VM_LOG" | sed -n 's/^TUNA-VM: \(INFO\|PASS\|FAIL\) /  \1 /p'
}

suite_teardown() {
    [ -n "$VM_TMP" ] && rm -rf "$VM_TMP"
}

# info_line NAME: the figures of INFO line NAME.
info_line() {
    tr -d '\r' <"$VM_LOG" | sed -n "s/^TUNA-VM: INFO $1 //p" | head -n 1
}

# assert_case NAME [GROUP]: the VM printed "TUNA-VM: PASS NAME ..." (a case
# of a group not run: skipped with the reason).
assert_case() {
    local line
    vm_ran || return 0
    case " $GROUPS_RUN " in
    *" ${2:-} "*) ;;
    *) skip_test "the $2 cases were not asked for (TUNA_STUDENT_VM_CASES=$GROUPS_RUN)"; return 0 ;;
    esac
    line=$(case_line "$1")
    if [ -z "$line" ]; then
        fail "case $1 never reported (run.sh status $VM_RC after ${VM_SECONDS}s); console: $(console_tail 8)"
        return 0
    fi
    echo "$line"
    assertEquals "$line" "TUNA-VM: PASS $1" "$(echo "$line" | cut -d ' ' -f 1-3)"
    CASE_LINE=$line
}

# --- the machine -----------------------------------------------------------------

test_vm_runs_every_case_and_powers_off() {
    vm_ran || return 0
    assertEquals "run.sh's status (cases.sh's); console: $(console_tail 8)" 0 "$VM_RC"
    assertTrue "cases.sh reached its end; console: $(console_tail 8)" \
        "tr -d '\r' <'$VM_LOG' | grep -q '^TUNA-VM: CASES-END'"
    assertTrue "the VM powered off" "tr -d '\r' <'$VM_LOG' | grep -q 'reboot: Power down'"
}

test_vm_is_stock_debian_with_systemd_and_cgroup_v2_only() {
    local os cg
    vm_ran || return 0
    os=$(info_line os)
    cg=$(info_line cgroup)
    assertContains "os: $os" "$os" "Debian GNU/Linux 12"
    assertContains "PID 1: $os" "$os" "PID1=systemd"
    assertContains "cgroup2 only: $cg" "$cg" "cgroup2fs controllers: cpuset cpu io memory"
    assertContains "systemd's slices: $(info_line cgroup_slices)" "$(info_line cgroup_slices)" "system.slice"
}

test_vm_has_openzfs_as_a_kernel_module_and_no_zfs_fuse() {
    vm_ran || return 0
    assertContains "$(info_line zfs_version)" "$(info_line zfs_version)" "zfs-kmod-"
    assertContains "$(info_line zfs_module)" "$(info_line zfs_module)" "/updates/dkms/zfs.ko"
    assertEquals "not installed" "$(info_line zfs_fuse)"
}

# --- the labs --------------------------------------------------------------------

test_make_lab_holds_on_openzfs() {
    assert_case lab_zfs labs || return 0
    [ -n "${CASE_LINE:-}" ] || return 0
    assertContains "$CASE_LINE" "$CASE_LINE" "zfs-kmod-"
    assertContains "$CASE_LINE" "$CASE_LINE" "results held"
    assertContains "$CASE_LINE" "$CASE_LINE" "CPU share"
}
test_lab_holds_on_btrfs() { assert_case lab_btrfs labs; }
test_lab_holds_on_overlay_with_its_module_not_loaded_first() { assert_case lab_overlay labs; }
test_lab_real_host_uses_zpools_and_leaves_the_machine_as_it_was() {
    CASE_LINE=
    assert_case lab_real_host realhost || return 0
    [ -n "$CASE_LINE" ] || return 0
    assertContains "$CASE_LINE" "$CASE_LINE" "state before == after"
    assertContains "$CASE_LINE" "$CASE_LINE" "/zpools/containers/myContainer"
}

# --- the suites, TUNA_MUST_RUN=1 --------------------------------------------------

# The step suites whose behaviour depends most on the machine run always;
# TUNA_VM_SUITES adds others (by default 05, 06, 07; empty: none).
ALWAYS_SUITES="test_01_cgroup test_02_unshare test_03_zfs_image test_04_pivot test_08_harden test_exercises"
test_suite_01_cgroup_passes_in_the_vm() { assert_case suite_test_01_cgroup suites; }
test_suite_02_unshare_passes_in_the_vm() { assert_case suite_test_02_unshare suites; }
test_suite_03_zfs_image_passes_on_openzfs_in_the_vm() { assert_case suite_test_03_zfs_image suites; }
test_suite_04_pivot_passes_in_the_vm() { assert_case suite_test_04_pivot suites; }
# The stock kernel's seccomp and masked paths, and --devices on v2 (a BPF
# cgroup device program), which this machine's v1 devices controller hides.
test_suite_08_harden_passes_in_the_vm() { assert_case suite_test_08_harden suites; }
test_every_exercise_right_and_wrong_in_the_vm() { assert_case suite_test_exercises suites; }
# Every other suite that ran passed, and each one asked for ran.
test_the_other_suites_asked_for_pass_in_the_vm() {
    local s
    vm_ran || return 0
    case " $GROUPS_RUN " in *" suites "*) ;; *) return 0 ;; esac
    for s in ${TUNA_VM_SUITES-test_05_veth test_06_nat test_07_stress}; do
        case " $ALWAYS_SUITES " in *" $s "*) continue ;; esac
        assert_case "suite_$s" suites
    done
    assertEquals "suites that failed in the VM" "" \
        "$(tr -d '\r' <"$VM_LOG" | grep '^TUNA-VM: FAIL suite_' | cut -d ' ' -f 3 | tr '\n' ' ')"
}

# --- faults, on the host ------------------------------------------------------------

# assert_nothing_left: no qemu, temporary run directory or partial image.
assert_nothing_left() {
    assertEquals "a tuna VM's qemu still runs" "" \
        "$(pgrep -a -f 'qemu-system-x86_64 .*tuna-vm-run\.' || true)"
    assertEquals "a run directory was left" "" "$(find /tmp -maxdepth 1 -name 'tuna-vm-run.*' -newer "$VM_TMP" 2>/dev/null)"
}

test_run_without_qemu_says_so_and_exits_3() {
    local bin rc=0 f
    vm_ran || return 0
    bin=$VM_TMP/noqemu
    mkdir -p "$bin"
    # This machine's programs, but no qemu.
    for f in /usr/local/sbin/* /usr/local/bin/* /usr/sbin/* /usr/bin/* /sbin/* /bin/*; do
        case "$(basename "$f")" in qemu-*) continue ;; esac
        [ -e "$bin/$(basename "$f")" ] || ln -s "$f" "$bin/$(basename "$f")"
    done
    PATH=$bin "$SVM/run.sh" true >"$VM_TMP/noqemu.out" 2>&1 || rc=$?
    assertEquals "status without qemu: $(cat "$VM_TMP/noqemu.out")" 3 "$rc"
    assertContains "$(cat "$VM_TMP/noqemu.out")" "$(cat "$VM_TMP/noqemu.out")" "requires qemu-system-x86_64"
}

test_console_refuses_while_another_vm_holds_the_lock() {
    local rc=0 holder
    vm_ran || return 0
    # A lock of its own, held as a running VM holds it.
    flock "$VM_TMP/lock" sleep 60 &
    holder=$!
    on_cleanup kill "$holder"
    sleep 0.5
    TUNA_VM_LOCK_HELD=0 TUNA_VM_LOCK=$VM_TMP/lock timeout 20 "$SVM/run.sh" --console \
        </dev/null >"$VM_TMP/two.out" 2>&1 || rc=$?
    assertEquals "status of a second make vm: $(cat "$VM_TMP/two.out")" 1 "$rc"
    assertContains "$(cat "$VM_TMP/two.out")" "$(cat "$VM_TMP/two.out")" "is in use"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
    assert_nothing_left
}

test_a_command_that_hangs_is_killed_at_the_timeout_with_the_console_shown() {
    local rc=0 out
    vm_ran || return 0
    "$SVM/run.sh" --quiet --timeout 120 bash -c 'echo about-to-hang; sleep 3600' \
        >"$VM_TMP/hang.out" 2>&1 || rc=$?
    out=$(cat "$VM_TMP/hang.out")
    assertEquals "status of a hung VM: $out" 124 "$rc"
    assertContains "$out" "$out" "did not finish in 120s"
    assertContains "the console's last lines: $out" "$out" "| about-to-hang"
    assert_nothing_left
}

test_the_commands_status_and_files_come_back() {
    local rc=0
    vm_ran || return 0
    # shellcheck disable=SC2016  # expanded in the VM
    "$SVM/run.sh" --quiet --timeout 300 --out "$VM_TMP/back" \
        bash -c 'cat /proc/self/cgroup >"$TUNA_VM_OUT/cgroup"; exit 7' >"$VM_TMP/st.out" 2>&1 || rc=$?
    assertEquals "run.sh's status is the command's: $(tail -n 3 "$VM_TMP/st.out")" 7 "$rc"
    assertEquals "0::/system.slice/tuna-run.service" "$(cat "$VM_TMP/back/cgroup" 2>/dev/null)"
    assert_nothing_left
}

# A build killed midway: no image under the key, and the next build removes
# the partial one and never boots it.  A full disk: the build fails, says so,
# and leaves nothing.  Both in a cache of their own, in a mount namespace of
# their own (the full disk is a 64 MiB tmpfs there).
test_a_build_killed_midway_is_never_booted_and_a_full_disk_fails_cleanly() {
    local cache=$VM_TMP/cache key pid rc=0 out
    vm_ran || return 0
    key=$(TUNA_VM_CACHE=$cache "$SVM/build.sh" --key)
    TUNA_VM_CACHE=$cache setsid "$SVM/build.sh" >"$VM_TMP/killed.out" 2>&1 &
    pid=$!
    sleep 15
    kill -TERM -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    sleep 2
    assertFalse "no image under the key after the kill" "[ -e '$cache/student/$key/root.img' ]"
    assertEquals "no mount left under the cache" "" "$(grep -F "$cache" /proc/mounts)"
    assertEquals "no mmdebstrap left" "" "$(pgrep -a -f "mmdebstrap.*$cache" || true)"
    # A stand-in mmdebstrap that fails at once: the next build starts by
    # removing the partial one, and fails without making an image.
    mkdir -p "$VM_TMP/failbin" "$cache/student/$key.partial.999/root"
    printf '#!/bin/sh\necho "E: stand-in mmdebstrap" >&2\nexit 1\n' >"$VM_TMP/failbin/mmdebstrap"
    chmod +x "$VM_TMP/failbin/mmdebstrap"
    TUNA_VM_CACHE=$cache PATH=$VM_TMP/failbin:$PATH "$SVM/build.sh" >"$VM_TMP/again.out" 2>&1 || rc=$?
    out=$(cat "$VM_TMP/again.out")
    assertEquals "status of a failed build: $out" 1 "$rc"
    assertContains "$out" "$out" "removing the unfinished build"
    assertEquals "nothing but the log in the cache: $(ls "$cache/student")" "$key.log" "$(ls "$cache/student")"
    # The full disk: the real mmdebstrap into a 64 MiB tmpfs.
    rc=0
    unshare --mount --propagation private sh -c \
        "mount -t tmpfs -o size=64m tuna-full '$cache' && TUNA_VM_CACHE='$cache' '$SVM/build.sh'" \
        >"$VM_TMP/full.out" 2>&1 || rc=$?
    out=$(tail -n 5 "$VM_TMP/full.out")
    assertEquals "status of a build on a full disk: $out" 1 "$rc"
    assertContains "$out" "$out" "the build failed"
    assertEquals "no mount left under the cache" "" "$(grep -F "$cache" /proc/mounts)"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

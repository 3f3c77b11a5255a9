#!/usr/bin/env bash
# tests/test_vm.sh - tuna on a fresh kernel with only cgroup v2: Debian's
# own cloud kernel, booted under qemu with a busybox initramfs
# (tests/vm/; docs/vm.md).
#
# This machine mounts cgroups v1 and v2 side by side, so the v2 limits (the
# ones students' machines use) cannot bite here.  suite_setup builds the
# initramfs (tests/vm/build.sh), boots it once (tests/vm/boot.sh, killed
# after TUNA_VM_TIMEOUT seconds if it hangs) and keeps the serial console.
# Inside, tests/vm/cases.sh checks each behaviour against the kernel's
# files and prints one line per case:
#
#   TUNA-VM: PASS|FAIL NAME DETAIL      TUNA-VM: INFO NAME FIGURES
#
# Each test below asserts one such line.  A case that never reported (the
# VM hung, crashed or powered off early) fails with the console's tail.
# Without qemu or a kernel package the tests skip with the reason (with
# TUNA_MUST_RUN=1, fail).  Nothing stays on the host but the downloaded
# kernel .deb in the cache directory (/var/cache/tuna-vm).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

VM_DIR=$TESTS_DIR/vm
# A TCG boot and every case take about 4.5 min here (the shell suites on
# pure v2 most of it); a hang is killed at:
export TUNA_VM_TIMEOUT=${TUNA_VM_TIMEOUT:-900}
# build.sh's status for "no kernel package to be had".
EXIT_NO_KERNEL=3

VM_BUILD=
VM_LOG=
VM_RC=
VM_SECONDS=
# Why the VM could not run here (a skip), or empty.
VM_MISSING=
# Why building it failed (a failure), or empty.
VM_BROKEN=

suite_setup() {
    local cmd start rc=0
    VM_BUILD=$(mktemp -d /tmp/tuna-vm.XXXXXX)
    VM_LOG=$VM_BUILD/console.log
    for cmd in qemu-system-x86_64:qemu-system-x86 cpio:cpio busybox:busybox-static \
        dpkg-deb:dpkg apt-get:apt depmod:kmod mkfs.btrfs:btrfs-progs \
        mkfs.ext4:e2fsprogs mkfs.xfs:xfsprogs xfs_quota:xfsprogs dmsetup:dmsetup strace:strace; do
        if ! command -v "${cmd%%:*}" >/dev/null 2>&1; then
            VM_MISSING="requires ${cmd%%:*} (Debian package ${cmd#*:}; make deps installs it)"
            return 0
        fi
    done
    "$VM_DIR/build.sh" "$VM_BUILD" >"$VM_BUILD/build.log" 2>&1 || rc=$?
    if [ "$rc" = "$EXIT_NO_KERNEL" ]; then
        VM_MISSING="no Debian kernel package: $(tail -n 1 "$VM_BUILD/build.log")"
        return 0
    elif [ "$rc" != 0 ]; then
        VM_BROKEN="tests/vm/build.sh failed ($rc): $(tail -n 3 "$VM_BUILD/build.log")"
        return 0
    fi
    echo "vm: $(tail -n 1 "$VM_BUILD/build.log")"
    start=$(date +%s)
    VM_RC=0
    "$VM_DIR/boot.sh" "$VM_BUILD" "$VM_LOG" || VM_RC=$?
    VM_SECONDS=$(($(date +%s) - start))
    echo "vm: qemu ran ${VM_SECONDS}s (status $VM_RC); figures:"
    sed -n 's/^TUNA-VM: INFO /  /p' "$VM_LOG"
}

suite_teardown() {
    [ -n "$VM_BUILD" ] && rm -rf "$VM_BUILD"
}

# assert_case NAME: the VM printed "TUNA-VM: PASS NAME ...".
assert_case() {
    local line
    vm_ran || return 0
    line=$(case_line "$1")
    if [ -z "$line" ]; then
        fail "case $1 never reported (qemu status $VM_RC after ${VM_SECONDS}s); console: $(console_tail 5)"
        return 0
    fi
    echo "$line"
    assertEquals "$line" "TUNA-VM: PASS $1" "$(echo "$line" | cut -d ' ' -f 1-3)"
}

test_vm_boots_pure_cgroup_v2_and_powers_off() {
    vm_ran || return 0
    assertEquals "qemu's status (124: killed by the ${TUNA_VM_TIMEOUT}s timeout); console: $(console_tail 5)" \
        0 "$VM_RC"
    assertTrue "the init script began" "grep -q '^TUNA-VM: BEGIN' '$VM_LOG'"
    assertTrue "every case ran and init reached the end; console: $(console_tail 5)" \
        "grep -q '^TUNA-VM: END' '$VM_LOG'"
    assertTrue "the kernel powered off (no panic)" "grep -q 'reboot: Power down' '$VM_LOG'"
    assertFalse "no kernel panic" "grep -q 'Kernel panic' '$VM_LOG'"
}

test_kernel_modules_load() { assert_case modules_load; }
test_cgroup_info_says_v2() { assert_case cgroup_info_says_v2; }
test_cgroup_nested_create_enables_subtree_control_on_the_way_down() {
    assert_case cgroup_nested_create
}
test_cgroup_cpu_share_holds_at_20_percent_with_throttling() { assert_case cgroup_cpu_share; }
test_cgroup_150M_hog_is_oom_killed_under_100M() { assert_case cgroup_oom_kills_150M_hog; }
test_cgroup_40M_hog_survives_under_100M() { assert_case cgroup_40M_hog_survives; }
test_cgroup_delete_kill_uses_cgroup_kill() { assert_case cgroup_delete_kill; }
test_cgroup_no_internal_processes_is_refused_with_a_hint() {
    assert_case cgroup_no_internal_processes_hint
}
test_cgroup_pids_max_refuses_the_fork_too_many() { assert_case cgroup_pids_max_refuses_fork; }

# The figures for the lesson (198M/199M/200M under a 200M memory.max) are
# printed, not judged, except the one the arithmetic settles: 200M of data
# plus the program itself cannot fit in 200M.
test_cgroup_memory_max_figures_recorded() {
    local lines
    vm_ran || return 0
    lines=$(grep -c '^TUNA-VM: INFO memory_max_figure' "$VM_LOG")
    assertEquals "figures for 198M, 199M, 200M; console: $(console_tail 5)" 3 "$lines"
    assertTrue "200M under memory.max=209715200 is OOM-killed" \
        "grep -q 'memory_max_figure vm-bytes=200M memory.max=209715200 rc=1 oom_kill=1' '$VM_LOG'"
}

test_unshare_and_pivot_into_a_busybox_root() { assert_case unshare_pivot_busybox_root; }
test_veth_and_nat_reach_the_uplink_only_through_masquerade() { assert_case veth_nat_uplink; }
test_storage_overlay_snapshot_clone_pivot() { assert_case storage_overlay; }
test_storage_btrfs_snapshot_clone_pivot() { assert_case storage_btrfs; }
# device-mapper thin snapshots: dmsetup and sysfs read back; a fault at each
# ioctl leaves no dm device, loop device or file.
test_storage_devicemapper_snapshot_clone_pivot() { assert_case storage_devicemapper; }
test_devicemapper_a_fault_at_each_ioctl_leaves_nothing() {
    assert_case devicemapper_fault_at_each_ioctl
}
# overlay on XFS: clone --size is a project quota xfs_quota reads back; a
# write stops at it; destroy removes it.
test_overlay_xfs_project_quota_limits_a_container() { assert_case overlay_xfs_quota; }
# ext4's inodes run out with blocks free; XFS and btrfs make more.
test_inode_limit_enospc_with_blocks_free_on_ext4_only() { assert_case inode_limit; }
test_harden_v2_device_program_refuses_block_devices() { assert_case harden_device_program_v2; }
test_harden_container_is_closed_on_debians_kernel() { assert_case harden_container; }

# tuna's own shell code on pure v2: the lab's step-6 checks, the cgroup
# labs, the cgroup suite and the cgroup exercises' tests, with bash.
test_lab_step6_checks_read_the_v2_files() { assert_case lab_step6_checks; }
test_lab_01_cgroup_holds_on_pure_v2() { assert_case lab_01_cgroup; }
test_lab_07_stress_holds_on_pure_v2() { assert_case lab_07_stress; }
test_suite_test_01_cgroup_passes_on_pure_v2() { assert_case suite_test_01_cgroup; }
test_exercises_01_and_07_pass_right_and_fail_wrong_on_pure_v2() {
    assert_case suite_test_exercises_cgroup
}

# shellcheck disable=SC1090
. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_08_harden.sh - 08-harden, the device cgroup and rootless: the
# doors a container's root has onto the host, open before, closed after.
#
# The container is a busybox root built in $TEST_TMP (08-harden copied in),
# run as PID 1 of new mount, UTS, IPC, network, PID and cgroup namespaces
# under 04-pivot --dev, as the lab runs it.  What the kernel says is read
# from the host: /proc/PID/status (CapBnd, CapEff, NoNewPrivs, Seccomp),
# /proc/PID/mountinfo, devices.list and the cgroup's BPF attachment, the
# exit status and errno of busybox commands inside.  Where a probe needs a
# call busybox has not (keyctl, open_by_handle_at, init_module), it is
# 08-harden --try, run once unhardened and once under 08-harden.
# Nothing on the machine is written: core_pattern and sysrq-trigger are
# opened for appending without a byte written (`exec 3>>FILE`).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# As test_04_pivot: LeakSanitizer cannot run as PID 1 of a PID namespace.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

PIVOT="$TUNA_BIN/04-pivot"
UNSHARE="$TUNA_BIN/02-unshare"
CG="$TUNA_BIN/01-cgroup"
APPLETS="sh cat echo grep sleep mknod mount umount head wc ls ps rm mkdir dd od"
# Docker's fourteen: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
# SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DOCKER_CAPS=00000000a80425fb
# A UID with no passwd entry, for rootless.
ROOTLESS_UID=54321

# harden_binary: a static 08-harden to copy into the root.  Under make
# sanitize TUNA_BIN's is dynamic and cannot run in a busybox root: the
# static build of the same sources stands in.
harden_binary() {
    local bin=$TUNA_BIN/08-harden
    if ldd "$bin" >/dev/null 2>&1; then bin=$TUNA_ROOT/bin/08-harden; fi
    echo "$bin"
}

build_root() {
    local a
    require_root || return 1
    require_command busybox busybox-static || return 1
    ROOT=$TEST_TMP/root
    mkdir -p "$ROOT/bin" "$ROOT/tmp" || return 1
    cp "$(command -v busybox)" "$ROOT/bin/busybox" || return 1
    for a in $APPLETS; do ln -s busybox "$ROOT/bin/$a"; done
    cp "$(harden_binary)" "$ROOT/bin/08-harden" || return 1
}

# in_container CMD...: CMD as PID 1 of the lab's namespaces, in ROOT.
in_container() {
    "$UNSHARE" --mount --uts --ipc --net --pid --cgroup --fork -- \
        "$PIVOT" --dev "$ROOT" -- "$@"
}

# start_container CMD...: in the background; CONTAINER_PID is its host PID
# once CMD (a sleep) runs; killed at tearDown.
start_container() {
    local pidfile=$TEST_TMP/pid i
    "$UNSHARE" --mount --uts --ipc --net --pid --cgroup --fork --pidfile "$pidfile" -- \
        "$PIVOT" --dev "$ROOT" -- "$@" >"$TEST_TMP/container.out" 2>&1 &
    on_cleanup kill -KILL $!
    for i in $(seq 100); do
        if [ -s "$pidfile" ]; then
            CONTAINER_PID=$(cat "$pidfile")
            [ "$(cat "/proc/$CONTAINER_PID/comm" 2>/dev/null)" = sleep ] && return 0
        fi
        sleep 0.05
    done
    fail "the container did not start: $(cat "$TEST_TMP/container.out")"
    return 1
}

status_field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$CONTAINER_PID/status"; }

# try_result FILE ESCAPE: "open ERRNO" or "closed ERRNO" from --try's lines.
try_result() { awk -v e="$2" '$1 == e {print $2, $3; exit}' "$1"; }

# --- what the hardened process holds -------------------------------------------

test_hardened_process_has_dockers_fourteen_no_new_privs_and_a_filter() {
    build_root || return 0
    start_container /bin/08-harden -- /bin/sleep 60 || return 0
    assertEquals "CapBnd" "$DOCKER_CAPS" "$(status_field CapBnd)"
    assertEquals "CapEff" "$DOCKER_CAPS" "$(status_field CapEff)"
    assertEquals "CapPrm" "$DOCKER_CAPS" "$(status_field CapPrm)"
    assertEquals "CapAmb" 0000000000000000 "$(status_field CapAmb)"
    assertEquals "NoNewPrivs" 1 "$(status_field NoNewPrivs)"
    assertEquals "Seccomp (2: filter)" 2 "$(status_field Seccomp)"
}

test_without_hardening_the_container_holds_every_capability() {
    build_root || return 0
    start_container /bin/sleep 60 || return 0
    assertEquals "CapBnd as the host's" "$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status)" \
        "$(status_field CapBnd)"
    assertEquals "NoNewPrivs" 0 "$(status_field NoNewPrivs)"
    assertEquals "Seccomp" 0 "$(status_field Seccomp)"
}

test_no_seccomp_leaves_no_filter_and_caps_chooses_the_set() {
    build_root || return 0
    start_container /bin/08-harden --no-seccomp --caps chown,CAP_KILL -- /bin/sleep 60 || return 0
    assertEquals "Seccomp" 0 "$(status_field Seccomp)"
    assertEquals "NoNewPrivs" 1 "$(status_field NoNewPrivs)"
    # CAP_CHOWN is bit 0, CAP_KILL bit 5
    assertEquals "CapBnd" 0000000000000021 "$(status_field CapBnd)"
    assertEquals "CapEff" 0000000000000021 "$(status_field CapEff)"
}

test_caps_none_leaves_root_with_nothing() {
    build_root || return 0
    start_container /bin/08-harden --caps none -- /bin/sleep 60 || return 0
    assertEquals "CapBnd" 0000000000000000 "$(status_field CapBnd)"
    assertEquals "CapEff" 0000000000000000 "$(status_field CapEff)"
    assertEquals "uid 0 all the same" 0 "$(awk '$1 == "Uid:" {print $2}' "/proc/$CONTAINER_PID/status")"
}

test_mountinfo_shows_proc_sys_read_only_and_the_masks() {
    build_root || return 0
    start_container /bin/08-harden -- /bin/sleep 60 || return 0
    local mi=/proc/$CONTAINER_PID/mountinfo p
    for p in /proc/bus /proc/fs /proc/irq /proc/sys; do
        assertTrue "$p is a read-only mount: $(grep " $p " "$mi")" \
            "awk -v p=$p '\$5 == p && \$6 ~ /^ro,/ && \$6 ~ /nosuid/ && \$6 ~ /noexec/' '$mi' | grep -q ."
    done
    # A masked file is /dev/null bound over it (the root of the bind is /null
    # on the container's /dev), a directory an empty read-only tmpfs.
    for p in /proc/keys /proc/timer_list /proc/kcore /proc/sched_debug /proc/sysrq-trigger; do
        [ -e "$p" ] || continue
        case $p in
            /proc/sysrq-trigger)
                assertTrue "$p read-only" "awk -v p=$p '\$5 == p && \$6 ~ /^ro,/' '$mi' | grep -q ." ;;
            *)
                assertEquals "$p masked by /dev/null" /null "$(awk -v p=$p '$5 == p {print $4}' "$mi")" ;;
        esac
    done
    [ -d /proc/acpi ] &&
        assertEquals "/proc/acpi: a read-only tmpfs" "tmpfs ro" \
            "$(awk '$5 == "/proc/acpi" {print $(NF-2), substr($6, 1, 2)}' "$mi")"
    assertEquals "/proc/sys/kernel/core_pattern still reads" "$(cat /proc/sys/kernel/core_pattern)" \
        "$(cat "/proc/$CONTAINER_PID/root/proc/sys/kernel/core_pattern")"
}

test_no_mask_leaves_proc_as_it_is() {
    build_root || return 0
    start_container /bin/08-harden --no-mask -- /bin/sleep 60 || return 0
    assertEquals "no mount on /proc/sys" "" \
        "$(awk '$5 == "/proc/sys"' "/proc/$CONTAINER_PID/mountinfo")"
}

# --- each escape: open before, closed after -------------------------------------

# The kernel files, opened for appending and nothing written.
test_core_pattern_and_sysrq_open_before_and_erofs_after() {
    build_root || return 0
    local f
    for f in /proc/sys/kernel/core_pattern /proc/sysrq-trigger; do
        if [ ! -e "$f" ]; then
            echo "($f: not in this kernel)"
            continue
        fi
        run_capture "$TEST_TMP/out" "$TEST_TMP/before" in_container /bin/sh -c "exec 3>>$f"
        assertEquals "$f opens for writing before: $(cat "$TEST_TMP/before")" 0 "$RC"
        run_capture "$TEST_TMP/out" "$TEST_TMP/after" in_container /bin/08-harden -- \
            /bin/sh -c "exec 3>>$f"
        assertNotEquals "$f after" 0 "$RC"
        assertTrue "EROFS: $(cat "$TEST_TMP/after")" "grep -q 'Read-only file system' '$TEST_TMP/after'"
    done
}

test_sysfs_and_cgroupfs_mount_before_and_eperm_after() {
    build_root || return 0
    local script='mkdir -p /tmp/m && mount -t sysfs sysfs /tmp/m && umount /tmp/m'
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_container /bin/sh -c "$script"
    assertEquals "sysfs mounts before: $(cat "$TEST_TMP/err")" 0 "$RC"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_container /bin/08-harden -- /bin/sh -c "$script"
    assertNotEquals "sysfs after" 0 "$RC"
    # busybox says "permission denied (are you root?)" for EPERM: the errno
    # itself from --try.
    in_container /bin/08-harden --try sysfs,cgroupfs >"$TEST_TMP/before" 2>&1
    in_container /bin/08-harden -- /bin/08-harden --try sysfs,cgroupfs >"$TEST_TMP/after" 2>&1
    assertEquals "sysfs after" "closed EPERM" "$(try_result "$TEST_TMP/after" sysfs)"
    assertEquals "cgroupfs before" "open 0" "$(try_result "$TEST_TMP/before" cgroupfs)"
    assertEquals "cgroupfs after" "closed EPERM" "$(try_result "$TEST_TMP/after" cgroupfs)"
}

test_kcore_reads_before_and_is_empty_after() {
    build_root || return 0
    if [ ! -e /proc/kcore ]; then
        # A kernel without CONFIG_PROC_KCORE has no door here: 08-harden skips
        # the mask of a path that is absent (as runc does) and still runs the
        # command; the VM's stock kernel runs the rest of this test.
        assertEquals "no /proc/kcore: the mask is skipped and the command runs" "absent" \
            "$(in_container /bin/08-harden -- /bin/sh -c '[ -e /proc/kcore ] && echo present || echo absent')"
        return 0
    fi
    assertEquals "kcore: an ELF file before" "7f454c46" \
        "$(in_container /bin/sh -c 'head -c 4 /proc/kcore | od -An -tx1' | tr -d ' \n')"
    assertEquals "kcore: empty after" 0 \
        "$(in_container /bin/08-harden -- /bin/sh -c 'cat /proc/kcore | wc -c' | tr -d ' ')"
}

test_syscall_escapes_work_before_and_get_eperm_after() {
    build_root || return 0
    local e list=keyctl,open_by_handle_at,init_module,userns,clone_newns
    in_container /bin/08-harden --try "$list" >"$TEST_TMP/before" 2>&1
    in_container /bin/08-harden -- /bin/08-harden --try "$list" >"$TEST_TMP/after" 2>&1
    for e in keyctl open_by_handle_at userns clone_newns; do
        assertEquals "$e before ($(cat "$TEST_TMP/before"))" open \
            "$(try_result "$TEST_TMP/before" $e | cut -d' ' -f1)"
        assertEquals "$e after" "closed EPERM" "$(try_result "$TEST_TMP/after" $e)"
    done
    # A kernel without modules answers ENOSYS before; EPERM after all the same.
    assertEquals "init_module after" "closed EPERM" "$(try_result "$TEST_TMP/after" init_module)"
}

test_clone3_gets_enosys_so_libc_falls_back_to_clone() {
    build_root || return 0
    in_container /bin/08-harden --try clone3 >"$TEST_TMP/before" 2>&1
    in_container /bin/08-harden -- /bin/08-harden --try clone3 >"$TEST_TMP/after" 2>&1
    assertEquals "clone3 before: the kernel looked (EINVAL)" "open EINVAL" \
        "$(try_result "$TEST_TMP/before" clone3)"
    assertEquals "clone3 after" "closed ENOSYS" "$(try_result "$TEST_TMP/after" clone3)"
    # busybox forks (clone without namespace flags): the shell still runs pipes.
    assertEquals "fork still works" 3 "$(in_container /bin/08-harden -- /bin/sh -c 'echo a b c | wc -w' | tr -d ' ')"
}

# i386 and x32 system calls are other numberings: the filter kills them.
test_filter_kills_calls_of_another_architecture() {
    build_root || return 0
    in_container /bin/08-harden --try i386,x32 >"$TEST_TMP/before" 2>&1
    in_container /bin/08-harden -- /bin/08-harden --try i386,x32 >"$TEST_TMP/after" 2>&1
    if grep -q '^i386 .*killed by SIGSEGV' "$TEST_TMP/before"; then
        # No i386 gate in this kernel (IA32 emulation off): int $0x80 faults
        # before any filter runs, and 08-harden says why.
        assertTrue "no gate: i386 faults with the filter too: $(cat "$TEST_TMP/after")" \
            "grep -q '^i386 .*killed by SIGSEGV (no i386 gate' '$TEST_TMP/after'"
        assertTrue "no gate: said so before the filter" \
            "grep -q '^i386 .*(no i386 gate: this kernel runs without IA32' '$TEST_TMP/before'"
    else
        assertTrue "i386 killed by SIGSYS: $(cat "$TEST_TMP/after")" \
            "grep -q '^i386 .*killed by SIGSYS' '$TEST_TMP/after'"
        assertTrue "before, the i386 getpid answered: $(cat "$TEST_TMP/before")" \
            "grep -q '^i386 .*= [1-9]' '$TEST_TMP/before'"
    fi
    assertTrue "x32 killed by SIGSYS" "grep -q '^x32 .*killed by SIGSYS' '$TEST_TMP/after'"
    assertFalse "before, no SIGSYS: $(cat "$TEST_TMP/before")" "grep -q SIGSYS '$TEST_TMP/before'"
}

# A denylist: what it does not name runs, and the kernel answers for it.
test_unknown_syscall_is_allowed_and_a_denied_one_gets_eperm() {
    build_root || return 0
    in_container /bin/08-harden -- /bin/08-harden --try syscall=999,syscall=165 \
        >"$TEST_TMP/after" 2>&1
    assertEquals "999: the kernel's ENOSYS" "closed ENOSYS" \
        "$(awk '/syscall\(999/ {print $2, $3}' "$TEST_TMP/after")"
    assertEquals "165 (mount): the filter's EPERM" "closed EPERM" \
        "$(awk '/syscall\(165/ {print $2, $3}' "$TEST_TMP/after")"
    in_container /bin/08-harden --try syscall=165 >"$TEST_TMP/before" 2>&1
    assertNotEquals "165 before: the kernel looked ($(cat "$TEST_TMP/before"))" "EPERM" \
        "$(awk '{print $3}' "$TEST_TMP/before")"
}

# What a container must still do.
test_what_still_works_under_08_harden() {
    build_root || return 0
    local out
    out=$(in_container /bin/08-harden -- /bin/sh -c \
        'echo hello >/tmp/own && cat /tmp/own && echo x >/dev/null && ps -o pid,comm | grep -c "^ *1 sh" &&
         cat /proc/self/status | grep -c ^Cap' 2>&1)
    assertEquals "own files, /dev/null, ps, /proc" "hello 1 5" "$(echo "$out" | tr '\n' ' ' | sed 's/ $//')"
}

# A kernel without seccomp filters: seccomp(2) fails (strace injects ENOSYS,
# the answer of a kernel built without CONFIG_SECCOMP), and the command must
# not run half-hardened.
test_kernel_without_seccomp_stops_before_the_command() {
    build_root || return 0
    require_command strace || return 0
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" strace -f -qq -o /dev/null \
        -e trace=seccomp -e inject=seccomp:error=ENOSYS \
        "$UNSHARE" --mount --uts --ipc --net --pid --cgroup --fork -- \
        "$PIVOT" --dev "$ROOT" -- /bin/08-harden -- /bin/echo RAN
    assertEquals "exit status ($(cat "$TEST_TMP/err"))" 1 "$RC"
    assertEquals "the command did not run" "" "$(cat "$TEST_TMP/out")"
    assertTrue "one line names the call: $(cat "$TEST_TMP/err")" \
        "grep -q '^08-harden: seccomp SECCOMP_SET_MODE_FILTER: Function not implemented' '$TEST_TMP/err'"
    assertTrue "and a hint" "grep -q '^hint: .*CONFIG_SECCOMP_FILTER' '$TEST_TMP/err'"
}

# --- the device cgroup ---------------------------------------------------------------

# The test's block device: a loop device over a small ext4 image (the host's
# own disk may be closed to root on some machines).
make_disk() {
    require_command mkfs.ext4 e2fsprogs || return 1
    truncate -s 8M "$TEST_TMP/disk.img" && mkfs.ext4 -q "$TEST_TMP/disk.img" || return 1
    DISK=$(losetup -f --show "$TEST_TMP/disk.img") || return 1
    on_cleanup losetup -d "$DISK"
    local hex
    hex=$(stat -c '%t %T' "$DISK") || return 1
    DISK_DEV="$((16#${hex% *})):$((16#${hex#* }))"
}

# devices_group MODE: a group with --devices default, under --root for v2.
devices_group() {
    GROUP=$(unique_name tuna-test-)
    CG_ROOT=()
    [ "$1" = v2 ] && CG_ROOT=(--root "$V2_ROOT")
    "$CG" "${CG_ROOT[@]}" create "$GROUP" --devices default || return 1
    on_cleanup remove_group "$GROUP"
}

# remove_group NAME: rmdir it everywhere, by hand (not with the tool).
remove_group() {
    local d
    for d in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do
        [ -d "$d" ] && rmdir "$d"
    done
    return 0
}

# disk_probe: inside the group's container, mknod the disk and read its
# superblock magic (ext4's 0xef53 at byte 1080), then /dev/null.
disk_probe() {
    local major=${DISK_DEV%:*} minor=${DISK_DEV#*:}
    "$CG" "${CG_ROOT[@]}" exec "$GROUP" -- "$UNSHARE" --mount --pid --fork -- \
        "$PIVOT" --dev "$ROOT" -- /bin/sh -c \
        "mknod /tmp/disk b $major $minor && dd if=/tmp/disk bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1; rm -f /tmp/disk; echo ok >/dev/null && echo null-ok"
}

# The machine's own kind: v1's devices hierarchy where there is one (its
# devices.list), else the program on the cgroup2 group (pure v2).
test_device_cgroup_refuses_the_disk_and_allows_null() {
    build_root || return 0
    require_command jq || return 0
    local devices
    devices=$(awk '/ - cgroup / && $NF ~ /devices/ {print $5; exit}' /proc/self/mountinfo)
    make_disk || return 0
    # Before: no policy (v1: "a *:* rwm"; v2: no program): the disk reads.
    GROUP=$(unique_name tuna-test-) CG_ROOT=()
    "$CG" create "$GROUP" || fail "create failed"
    on_cleanup remove_group "$GROUP"
    assertEquals "before: the superblock magic" "53 ef null-ok" "$(disk_probe 2>&1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')"
    "$CG" set "$GROUP" --devices default || fail "set --devices default failed"
    if [ -n "$devices" ]; then
        assertEquals "devices.list" "c 1:3 rwm c 1:5 rwm c 1:7 rwm c 1:8 rwm c 1:9 rwm c 5:0 rwm c 5:2 rwm c 136:* rwm" \
            "$(tr '\n' ' ' <"$devices/$GROUP/devices.list" | sed 's/ $//')"
    else
        assertEquals "one device program on the group" 1 "$(bpf_attached "/sys/fs/cgroup/$GROUP")"
    fi
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" disk_probe
    assertTrue "after: mknod EPERM: $(cat "$TEST_TMP/err")" \
        "grep -q 'mknod: /tmp/disk: Operation not permitted' '$TEST_TMP/err'"
    assertEquals "after: /dev/null still works" "null-ok" "$(cat "$TEST_TMP/out")"
    assertEquals "stat names it" default "$("$CG" stat "$GROUP" --json | jq -r .devices | cut -d' ' -f1)"
}

# v2: the policy is a BPF program on the group's cgroup2 directory.  A
# hybrid machine's cgroup2 mount takes it as a pure v2 one does.
test_device_cgroup_v2_program_refuses_the_disk_and_detaches_at_delete() {
    build_root || return 0
    require_command jq || return 0
    V2_ROOT=$(awk '/ - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
    [ -n "$V2_ROOT" ] || { skip_test "no cgroup2 mount here"; return 0; }
    make_disk || return 0
    devices_group v2 || { fail "create --devices default on $V2_ROOT failed"; return 0; }
    local before
    before=$(bpf_attached "$V2_ROOT/$GROUP")
    assertEquals "one device program attached (read with bpftool or /proc)" 1 "$before"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" disk_probe
    assertTrue "mknod EPERM: $(cat "$TEST_TMP/err")" \
        "grep -q 'mknod: /tmp/disk: Operation not permitted' '$TEST_TMP/err'"
    assertEquals "/dev/null works" "null-ok" "$(cat "$TEST_TMP/out")"
    assertTrue "stat names the program" \
        "'$CG' --root '$V2_ROOT' stat '$GROUP' --json | jq -r .devices | grep -q '^default (bpf program id [0-9]*, tuna_devices)'"
    "$CG" --root "$V2_ROOT" set "$GROUP" --devices all || fail "set --devices all failed"
    assertEquals "all: no program" 0 "$(bpf_attached "$V2_ROOT/$GROUP")"
    assertEquals "all: the disk reads" "53 ef null-ok" "$(disk_probe 2>&1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')"
    "$CG" --root "$V2_ROOT" set "$GROUP" --devices default || fail "set default again"
    "$CG" --root "$V2_ROOT" -x delete "$GROUP" 2>"$TEST_TMP/delete" || fail "delete failed"
    assertTrue "delete detached it: $(cat "$TEST_TMP/delete")" \
        "grep -q '^bpf(BPF_PROG_DETACH, .*) = 0' '$TEST_TMP/delete'"
    assertFalse "the group is gone" "[ -d '$V2_ROOT/$GROUP' ]"
}

# bpf_attached DIR: how many device programs DIR has, from bpftool where it
# is installed, else from /proc: a program's fdinfo shows its type to the
# process holding it, and the kernel lists attached programs nowhere else.
bpf_attached() {
    local listed
    if command -v bpftool >/dev/null 2>&1; then
        # Nothing attached: bpftool prints nothing at all.
        listed=$(bpftool -j cgroup list "$1" 2>/dev/null)
        echo "${listed:-[]}" | jq '[.[] | select(.attach_type == "cgroup_device" or .attach_type == "device")] | length'
    else
        # 01-cgroup's own query, traced: the kernel's answer to BPF_PROG_QUERY.
        "$CG" --root "$(dirname "$1")" -x stat "$(basename "$1")" 2>&1 >/dev/null |
            sed -n 's/^bpf(BPF_PROG_QUERY, .*prog_cnt=\([0-9]*\)}) = 0.*/\1/p'
    fi
}

# --- rootless ----------------------------------------------------------------------------

test_rootless_root_inside_is_a_uid_outside_with_no_power_over_the_host() {
    build_root || return 0
    require_command setpriv util-linux || return 0
    make_disk || return 0
    [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)" = 0 ] ||
        { skip_test "kernel.apparmor_restrict_unprivileged_userns=1 refuses unprivileged user namespaces (labs/rootless.sh says what to do)"; return 0; }
    # The pidfile is written by the unprivileged user: a directory it may write.
    local pidfile=$TEST_TMP/rl/rootless.pid major=${DISK_DEV%:*} minor=${DISK_DEV#*:}
    mkdir "$TEST_TMP/rl" && chmod 711 "$TEST_TMP" && chmod 777 "$TEST_TMP/rl"
    setpriv --reuid=$ROOTLESS_UID --regid=$ROOTLESS_UID --clear-groups \
        "$UNSHARE" --user --map-root-user --mount --pid --fork --pidfile "$pidfile" -- \
        /bin/sh -c 'sleep 60' >/dev/null 2>&1 &
    on_cleanup kill -KILL $!
    local pid=
    for _ in $(seq 100); do
        [ -s "$pidfile" ] && pid=$(cat "$pidfile") && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && break
        sleep 0.05
    done
    assertEquals "uid_map: root inside is $ROOTLESS_UID outside" "0 $ROOTLESS_UID 1" \
        "$(tr -s ' ' <"/proc/$pid/uid_map" | sed 's/^ //')"
    assertEquals "the host sees UID $ROOTLESS_UID" "$ROOTLESS_UID" "$(awk '$1 == "Uid:" {print $2}' "/proc/$pid/status")"
    # Inside, root tries the host's disk: no capability counts outside its
    # own user namespace.
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" setpriv --reuid=$ROOTLESS_UID --regid=$ROOTLESS_UID \
        --clear-groups "$UNSHARE" --user --map-root-user --mount --pid --fork -- /bin/sh -c \
        "mkdir -p /tmp/rl-$$ && mount -t ext4 $DISK /tmp/rl-$$; echo mount=\$?; mknod /tmp/rl-$$/d b $major $minor; echo mknod=\$?"
    assertTrue "mount of the disk refused: $(cat "$TEST_TMP/out" "$TEST_TMP/err")" \
        "grep -q '^mount=[1-9]' '$TEST_TMP/out'"
    assertTrue "mknod refused" "grep -q '^mknod=[1-9]' '$TEST_TMP/out'"
    rmdir "/tmp/rl-$$" 2>/dev/null
    assertEquals "nothing mounted on the host" "" "$(grep "rl-$$" /proc/self/mountinfo)"
}

test_rootless_lab_runs_and_leaves_nothing_behind() {
    require_root || return 0
    require_command setpriv util-linux || return 0
    require_command busybox busybox-static || return 0
    [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)" = 0 ] ||
        { skip_test "kernel.apparmor_restrict_unprivileged_userns=1 here"; return 0; }
    find /sys/fs/cgroup -type d -name 'tuna-rootless*' | sort >"$TEST_TMP/cg-before"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TUNA_ROOT/labs/rootless.sh"
    assertEquals "the lab's status ($(tail -n 5 "$TEST_TMP/err" "$TEST_TMP/out"))" 0 "$RC"
    assertTrue "it shows the uid_map" "grep -q 'uid_map' '$TEST_TMP/out'"
    find /sys/fs/cgroup -type d -name 'tuna-rootless*' | sort >"$TEST_TMP/cg-after"
    assertEquals "no cgroup left" "$(cat "$TEST_TMP/cg-before")" "$(cat "$TEST_TMP/cg-after")"
    assertEquals "no mount left" "" "$(grep -e tuna-rootless /proc/self/mountinfo)"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

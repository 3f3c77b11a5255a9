#!/usr/bin/env bash
# tests/test_04_pivot.sh - 04-pivot: a new root the host cannot leak into.
#
# The container is a busybox-static root built in $TEST_TMP, run as PID 1 of
# new mount and PID namespaces.  Checks read the kernel: /proc/self/mountinfo
# inside and on the host, /proc's PID directories, stat of device nodes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# make sanitize: LeakSanitizer cannot stop the world from PID 1 of a new PID
# namespace (it looks its threads up in a /proc that is the host's) and
# aborts with "LeakSanitizer has encountered a fatal error"; ASan and UBSan
# still run.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

PIVOT="$TUNA_BIN/04-pivot"
UNSHARE="$TUNA_BIN/02-unshare"
APPLETS="sh ls cat echo grep sleep touch stat awk test true mkdir"

# make_busybox_root DIR: a root file system of one static binary and links.
make_busybox_root() {
    local a
    mkdir -p "$1/bin" || return 1
    cp "$(command -v busybox)" "$1/bin/busybox" || return 1
    for a in $APPLETS; do ln -s busybox "$1/bin/$a"; done
}

# build_root: every test's container root, $ROOT.  (Not test_setup: shunit2
# 2.1.8 would also run any function named test* as a test.)
build_root() {
    require_command busybox busybox-static || return 1
    ROOT=$TEST_TMP/root
    make_busybox_root "$ROOT" || fail "cannot build the busybox root"
}

# in_container [04-pivot OPTIONS] -- CMD...: run CMD in ROOT, PID 1 of new
# mount and PID namespaces.
in_container() {
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    "$UNSHARE" --mount --pid --fork -- "$PIVOT" "${opts[@]}" "$ROOT" -- "$@"
}

# host_mounts: the host's mount points that involve this test's directory.
host_mounts() {
    grep -F "$TEST_TMP" /proc/self/mountinfo | awk '{print $5}' | sort
}

# The root mount's line, minus its mount IDs: its propagation must not change.
host_root_mount() {
    awk '$5 == "/" {$1 = $2 = ""; print}' /proc/self/mountinfo
}

test_refuses_to_run_in_the_host_mount_namespace() {
    require_root || return 0
    build_root || return 0
    local root_before
    root_before=$(host_root_mount)
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$PIVOT" "$ROOT" -- /bin/true
    assertEquals "exit status" 1 "$RC"
    assertEquals "message, then a hint ($(cat "$TEST_TMP/err"))" 2 "$(wc -l <"$TEST_TMP/err")"
    assertTrue "hint names 02-unshare --mount" \
        "grep -q '^hint: .*02-unshare --mount' '$TEST_TMP/err'"
    assertFalse "no oldroot made" "[ -e '$ROOT/oldroot' ]"
    assertEquals "host mounts" "" "$(host_mounts)"
    assertEquals "the host's / keeps its propagation" "$root_before" "$(host_root_mount)"
}

test_mountinfo_inside_shows_only_the_new_root_and_proc() {
    require_root || return 0
    build_root || return 0
    in_container -- cat /proc/self/mountinfo >"$TEST_TMP/mountinfo"
    assertEquals "mount points inside ($(cat "$TEST_TMP/mountinfo"))" "/ /proc" \
        "$(awk '{print $5}' "$TEST_TMP/mountinfo" | tr '\n' ' ' | sed 's/ $//')"
    assertEquals "/proc is a proc" proc "$(awk '$5 == "/proc" {print $9}' "$TEST_TMP/mountinfo")"
}

test_sys_and_dev_are_mounted_when_asked() {
    require_root || return 0
    build_root || return 0
    in_container --sys --dev -- sh -c \
        'cat /proc/self/mountinfo; stat -c "%n %F %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; echo ok >/dev/null && echo devnull-writable; ls -l /dev/ptmx /dev/fd' \
        >"$TEST_TMP/out"
    assertEquals "mount points inside" "/ /proc /sys /dev /dev/pts" \
        "$(awk '$5 ~ /^\// {print $5}' "$TEST_TMP/out" | tr '\n' ' ' | sed 's/ $//')"
    assertEquals "fs types" "proc sysfs tmpfs devpts" \
        "$(awk '$5 ~ /^\/(proc|sys|dev)/ {print $9}' "$TEST_TMP/out" | tr '\n' ' ' | sed 's/ $//')"
    assertTrue "devpts is a new instance with ptmxmode=0666" \
        "grep -q ' /dev/pts .*ptmxmode=666' '$TEST_TMP/out'"
    assertTrue "/sys is read-only" "grep -q ' /sys ro,' '$TEST_TMP/out'"
    # stat prints major:minor in hex.
    assertTrue "null 1:3" "grep -q '^/dev/null character special file 1:3 666$' '$TEST_TMP/out'"
    assertTrue "zero 1:5" "grep -q '^/dev/zero character special file 1:5 666$' '$TEST_TMP/out'"
    assertTrue "full 1:7" "grep -q '^/dev/full character special file 1:7 666$' '$TEST_TMP/out'"
    assertTrue "random 1:8" "grep -q '^/dev/random character special file 1:8 666$' '$TEST_TMP/out'"
    assertTrue "urandom 1:9" "grep -q '^/dev/urandom character special file 1:9 666$' '$TEST_TMP/out'"
    assertTrue "tty 5:0" "grep -q '^/dev/tty character special file 5:0 666$' '$TEST_TMP/out'"
    assertTrue "/dev/null works" "grep -q devnull-writable '$TEST_TMP/out'"
    assertTrue "/dev/ptmx -> pts/ptmx" "grep -q 'ptmx -> pts/ptmx' '$TEST_TMP/out'"
    assertTrue "/dev/fd -> /proc/self/fd" "grep -q 'fd -> /proc/self/fd' '$TEST_TMP/out'"
}

test_proc_lists_only_the_containers_pids_with_pid_1() {
    require_root || return 0
    build_root || return 0
    # sh is PID 1; the glob runs in sh itself, then cat is forked as PID 2.
    in_container -- sh -c 'echo $$; echo /proc/[0-9]*; cat /proc/self/stat; true' >"$TEST_TMP/out"
    assertEquals "\$\$" 1 "$(sed -n 1p "$TEST_TMP/out")"
    assertEquals "PID directories in /proc" "/proc/1" "$(sed -n 2p "$TEST_TMP/out")"
    assertEquals "the next process is PID 2" 2 "$(sed -n 3p "$TEST_TMP/out" | awk '{print $1}')"
}

test_old_root_is_gone_inside_and_removed_after() {
    require_root || return 0
    build_root || return 0
    touch "$TEST_TMP/host-only"
    in_container -- sh -c "test -e /oldroot && echo oldroot-exists; \
        test -e $TEST_TMP/host-only && echo host-visible; \
        grep -c oldroot /proc/self/mountinfo" >"$TEST_TMP/out"
    assertFalse "/oldroot inside" "grep -q oldroot-exists '$TEST_TMP/out'"
    assertFalse "host files inside" "grep -q host-visible '$TEST_TMP/out'"
    assertEquals "oldroot mounts inside" 0 "$(tail -1 "$TEST_TMP/out")"
    assertFalse "oldroot removed from the image" "[ -e '$ROOT/oldroot' ]"
    assertEquals "host mounts after" "" "$(host_mounts)"
}

test_keep_oldroot_leaves_the_host_reachable() {
    require_root || return 0
    build_root || return 0
    touch "$TEST_TMP/host-only"
    in_container --keep-oldroot -- sh -c "test -e /oldroot$TEST_TMP/host-only && echo host-visible" \
        >"$TEST_TMP/out"
    assertTrue "the host's files under /oldroot" "grep -q host-visible '$TEST_TMP/out'"
}

test_host_mount_table_is_unchanged_while_and_after_running() {
    require_root || return 0
    build_root || return 0
    local bg i root_before
    root_before=$(host_root_mount)
    # The root is a shared mount here and the wrapper keeps propagation
    # (unshare(1) --propagation unchanged): only 04-pivot's own
    # MS_REC|MS_PRIVATE keeps its mounts off the host.
    rm -rf "$ROOT"
    mkdir "$ROOT"
    mount -t tmpfs tuna-root "$ROOT" || fail "mount tmpfs"
    on_cleanup umount -l "$ROOT"
    mount --make-shared "$ROOT"
    make_busybox_root "$ROOT"
    local mounts_before
    mounts_before=$(host_mounts)

    unshare --mount --pid --fork --kill-child --propagation unchanged -- \
        "$PIVOT" --sys --dev "$ROOT" -- sh -c 'touch /started; while ! test -e /go; do sleep 0.05; done' &
    bg=$!
    on_cleanup kill -9 "$bg"
    on_cleanup touch "$ROOT/go"
    for ((i = 0; i < 100; i++)); do [ -e "$ROOT/started" ] && break; sleep 0.05; done
    assertTrue "container started" "[ -e '$ROOT/started' ]"
    assertEquals "host mounts while it runs" "$mounts_before" "$(host_mounts)"
    touch "$ROOT/go"
    wait "$bg"
    assertEquals "container status" 0 $?
    assertEquals "host mounts after" "$mounts_before" "$(host_mounts)"
    assertEquals "the host's / keeps its propagation" "$root_before" "$(host_root_mount)"
}

# The classic escape (chroot(2) NOTES): chroot into a subdirectory while the
# working directory stays outside it, climb with "..", chroot(".").
write_escape_helper() {
    cat >"$TEST_TMP/escape.c" <<'EOF'
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;

	if (argc != 2)
		return 2;
	mkdir("/jail-inside", 0755);
	if (chroot("/jail-inside") != 0) { perror("chroot"); return 2; }
	for (int i = 0; i < 256; i++)
		if (chdir("..") != 0) { perror("chdir"); return 2; }
	if (chroot(".") != 0) { perror("chroot ."); return 2; }
	puts(stat(argv[1], &st) == 0 ? "escaped" : "contained");
	return 0;
}
EOF
    gcc -static -O2 -o "$ROOT/escape" "$TEST_TMP/escape.c"
}

test_chroot_escape_works_under_chroot_but_not_after_pivot() {
    require_root || return 0
    build_root || return 0
    require_command gcc build-essential || return 0
    write_escape_helper || fail "gcc -static escape.c"
    touch "$TEST_TMP/host-only"
    assertEquals "under chroot(1)" escaped "$(chroot "$ROOT" /escape "$TEST_TMP/host-only")"
    assertEquals "after 04-pivot" contained "$(in_container -- /escape "$TEST_TMP/host-only")"
}

test_missing_command_exits_127_with_a_hint() {
    require_root || return 0
    build_root || return 0
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_container -- /bin/bash -c true
    assertEquals "exit status" 127 "$RC"
    assertTrue "names the command: $(cat "$TEST_TMP/err")" \
        "grep -q '^04-pivot: exec /bin/bash in the new root: No such file or directory' '$TEST_TMP/err'"
    assertTrue "hint" "grep -q '^hint: paths are looked up in the new root' '$TEST_TMP/err'"
}

# put_old outside the new root: NEWROOT/oldroot is a symbolic link out of it.
test_put_old_outside_the_new_root_gets_the_kernels_error_and_a_hint() {
    require_root || return 0
    build_root || return 0
    # Onto another mount (a tmpfs made inside the container's namespace): EINVAL.
    mkdir "$TEST_TMP/elsewhere"
    ln -s "$TEST_TMP/elsewhere" "$ROOT/oldroot"
    # shellcheck disable=SC2016  # the inner shell expands them
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$UNSHARE" --mount --pid --fork -- sh -c \
        'mount -t tmpfs tuna-elsewhere "$1" && exec "$2" "$3" -- /bin/true' sh \
        "$TEST_TMP/elsewhere" "$PIVOT" "$ROOT"
    assertEquals "exit status" 1 "$RC"
    assertTrue "the kernel's EINVAL: $(cat "$TEST_TMP/err")" \
        "grep -q '^04-pivot: pivot_root .*: Invalid argument$' '$TEST_TMP/err'"
    assertTrue "hint" "grep -q '^hint: .*put_old is not under new_root' '$TEST_TMP/err'"
    # Without that tmpfs, the same link leads to a directory on the current
    # root mount: EBUSY.
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_container -- /bin/true
    assertEquals "exit status" 1 "$RC"
    assertTrue "the kernel's EBUSY: $(cat "$TEST_TMP/err")" \
        "grep -q '^04-pivot: pivot_root .*: Device or resource busy$' '$TEST_TMP/err'"
    assertTrue "hint" "grep -q '^hint: new_root or put_old is on the current root mount' '$TEST_TMP/err'"
    assertEquals "host mounts after" "" "$(host_mounts)"
}

test_explain_traces_the_posts_commands() {
    require_root || return 0
    build_root || return 0
    "$UNSHARE" --mount --pid --fork -- "$PIVOT" --explain "$ROOT" -- true 2>"$TEST_TMP/err"
    assertTrue "pivot_root traced: $(cat "$TEST_TMP/err")" \
        "grep -q '^pivot_root(\"$ROOT\", \"$ROOT/oldroot\") = 0   # cd $ROOT && pivot_root . oldroot$' '$TEST_TMP/err'"
    assertTrue "bind traced" "grep -q 'MS_BIND|MS_REC, NULL) = 0   # mount --rbind' '$TEST_TMP/err'"
    assertTrue "umount traced" "grep -q '^umount2(\"/oldroot\", MNT_DETACH) = 0   # umount -l /oldroot$' '$TEST_TMP/err'"
}

test_bad_input_exits_2_with_one_line() {
    build_root || return 0
    touch "$TEST_TMP/a-file"
    assert_one_line_failure 2 "$PIVOT"
    assert_one_line_failure 2 "$PIVOT" "$TEST_TMP/a-file"
    assert_one_line_failure 2 "$PIVOT" "$TEST_TMP/does-not-exist"
    assert_one_line_failure 2 "$PIVOT" --bogus "$ROOT"
    assert_one_line_failure 2 "$PIVOT" /
    assertFalse "no oldroot made" "[ -e '$ROOT/oldroot' ]"
    assertEquals "host mounts" "" "$(host_mounts)"
}

# shellcheck source=/dev/null
. "$SHUNIT2"

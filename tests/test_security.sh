#!/usr/bin/env bash
# tests/test_security.sh - what a process inside the container can reach,
# and where names can point.
#
# The container is the lesson's: 02-unshare --mount --pid --fork, then
# 04-pivot into a busybox-static root built in $TEST_TMP.  test_04_pivot.sh
# already checks the mount list inside, /proc's PID list, /oldroot and the
# chroot escape; this suite looks from other sides:
#   - a host process's PID is not there, not even by number (kill -0);
#   - /proc/1/root and every /proc/N/root inside is the container's root,
#     the same inode the host sees at NEWROOT;
#   - no host mount point is listed, and the old root cannot be mounted back;
#   - a descriptor of a host directory handed to 04-pivot does not reach
#     the container (openat(fd, "..") would climb out of any root; runc's
#     CVE-2024-21626);
#   - the chroot escape fails also with --sys --dev (more mounts inside);
#   - cgroup names stay in their hierarchy: "..", absolute names and
#     symlinks (cgroupfs cannot hold one; a --root that is not a cgroupfs is
#     refused); image, snapshot and container names stay in their pool and
#     store, also when a symlink is planted where a container would go.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# LeakSanitizer cannot run as PID 1 of a new PID namespace (make sanitize);
# ASan and UBSan still do.  Same reason as test_04_pivot.sh.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

PIVOT=$TUNA_BIN/04-pivot
UNSHARE=$TUNA_BIN/02-unshare
CGROUP=$TUNA_BIN/01-cgroup
IMAGE=$TUNA_BIN/03-zfs-image
APPLETS="sh ls cat echo grep sleep test true kill readlink stat mount awk"

# build_root: a busybox root at $ROOT, with the mount point for /proc.
build_root() {
    local a
    require_command busybox busybox-static || return 1
    ROOT=$TEST_TMP/root
    mkdir -p "$ROOT/bin" "$ROOT/proc" || return 1
    cp "$(command -v busybox)" "$ROOT/bin/busybox" || return 1
    for a in $APPLETS; do ln -s busybox "$ROOT/bin/$a"; done
}

# in_container [04-pivot OPTIONS] -- CMD...
in_container() {
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    "$UNSHARE" --mount --pid --fork -- "$PIVOT" "${opts[@]}" "$ROOT" -- "$@"
}

# --- the container's view ----------------------------------------------------

test_a_host_pid_is_invisible_inside_even_by_number() {
    require_root || return 0
    build_root || return 0
    local host_pid
    sleep 600 &
    host_pid=$!
    on_cleanup kill -KILL "$host_pid"
    # (No /dev inside: the shell's complaints go to our stderr file.)
    in_container -- sh -c "test -e /proc/$host_pid && echo proc-visible;
        kill -0 $host_pid && echo signalable;
        ls /proc | grep -c '^[0-9]'" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    assertFalse "/proc/$host_pid inside" "grep -q proc-visible '$TEST_TMP/out'"
    assertFalse "kill -0 $host_pid from inside" "grep -q signalable '$TEST_TMP/out'"
    # sh (PID 1), and the ls in the pipeline (and grep): a handful at most.
    assertTrue "PIDs inside: $(tail -1 "$TEST_TMP/out")" "[ $(tail -1 "$TEST_TMP/out") -le 3 ]"
    local host_pids=(/proc/[0-9]*)
    assertTrue "while the host has many" "[ ${#host_pids[@]} -gt 10 ]"
}

test_proc_1_root_is_the_containers_root() {
    require_root || return 0
    build_root || return 0
    local fifo cpid inode_host
    fifo=$TEST_TMP/go
    mkfifo "$fifo"
    # Inside: what /proc/N/root says for every N, and the inode of /.
    # shellcheck disable=SC2016  # expanded inside the container
    "$UNSHARE" --mount --pid --fork --pidfile "$TEST_TMP/pid" -- "$PIVOT" "$ROOT" -- \
        sh -c 'for d in /proc/[0-9]*; do readlink $d/root; done; stat -c %d:%i /; read x' \
        <"$fifo" >"$TEST_TMP/out" &
    on_cleanup kill -KILL $!
    exec 7>"$fifo"
    for _ in $(seq 100); do
        [ -s "$TEST_TMP/out" ] && grep -q : "$TEST_TMP/out" && break
        sleep 0.05
    done
    cpid=$(cat "$TEST_TMP/pid")
    inode_host=$(stat -c %d:%i "$ROOT")
    # From the host: the container's PID 1 has its root at NEWROOT.  (Its
    # readlink says "/": the path is reckoned inside its own mount namespace.)
    assertEquals "host's stat of /proc/$cpid/root is NEWROOT" "$inode_host" \
        "$(stat -L -c %d:%i "/proc/$cpid/root")"
    exec 7>&-
    wait 2>/dev/null
    # From inside: every process's root is "/", and "/" is NEWROOT.
    assertEquals "every /proc/N/root inside is /" "/" \
        "$(grep -v : "$TEST_TMP/out" | sort -u)"
    assertEquals "/ inside is NEWROOT" "$inode_host" "$(grep : "$TEST_TMP/out")"
}

test_no_host_mount_is_listed_or_reachable_inside() {
    require_root || return 0
    build_root || return 0
    local host_points
    in_container -- sh -c 'cat /proc/self/mountinfo; echo ---;
        mkdir -p /mnt; mount --bind /oldroot /mnt && echo rebound;
        test -e /oldroot && echo oldroot-exists; echo done' >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    # Host mount points other than / (which the container's root replaces).
    host_points=$(awk '$5 != "/" {print $5}' /proc/self/mountinfo | sort -u)
    assertEquals "inside lists / and /proc only" "/ /proc" \
        "$(sed '/^---$/,$d' "$TEST_TMP/out" | awk '{print $5}' | tr '\n' ' ' | sed 's/ $//')"
    assertEquals "no host mount point inside" "" \
        "$(sed '/^---$/,$d' "$TEST_TMP/out" | awk '{print $5}' | grep -vx -e / -e /proc |
            grep -Fx "$host_points")"
    assertFalse "the old root mounted back" "grep -q rebound '$TEST_TMP/out'"
    assertFalse "/oldroot exists" "grep -q oldroot-exists '$TEST_TMP/out'"
    assertTrue "the script ran" "grep -q done '$TEST_TMP/out'"
}

test_a_host_directory_descriptor_does_not_reach_the_container() {
    require_root || return 0
    build_root || return 0
    touch "$TEST_TMP/host-only"
    # fd 3 is the host's $TEST_TMP: through it, "host-only" is one lookup away.
    in_container -- sh -c 'cat /proc/self/fd/3/host-only && echo escaped;
        ls /proc/self/fd' 3<"$TEST_TMP" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    assertFalse "escaped through an inherited fd" "grep -q escaped '$TEST_TMP/out'"
    # 0, 1, 2 and the fd ls uses to read the directory (3, opened by ls).
    assertEquals "descriptors inside" "0 1 2 3" \
        "$(grep -x '[0-9]*' "$TEST_TMP/out" | sort -n | tr '\n' ' ' | sed 's/ $//')"
}

test_chroot_escape_fails_with_sys_and_dev_mounted_too() {
    require_root || return 0
    build_root || return 0
    require_command gcc build-essential || return 0
    cat >"$TEST_TMP/escape.c" <<'EOF'
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
/* chroot(2) NOTES: chroot into a subdirectory, climb "..", chroot("."). */
int main(int argc, char **argv)
{
	struct stat st;

	if (argc != 2)
		return 2;
	mkdir("/jail", 0755);
	if (chroot("/jail") != 0)
		return 2;
	for (int i = 0; i < 256; i++)
		if (chdir("..") != 0)
			return 2;
	if (chroot(".") != 0)
		return 2;
	puts(stat(argv[1], &st) == 0 ? "escaped" : "contained");
	return 0;
}
EOF
    gcc -static -O2 -o "$ROOT/escape" "$TEST_TMP/escape.c" || fail "gcc -static escape.c"
    touch "$TEST_TMP/host-only"
    assertEquals "under chroot(1)" escaped "$(chroot "$ROOT" /escape "$TEST_TMP/host-only")"
    mkdir -p "$ROOT/sys" "$ROOT/dev"
    assertEquals "after 04-pivot --sys --dev" contained \
        "$(in_container --sys --dev -- /escape "$TEST_TMP/host-only")"
}

# --- names and where they lead -----------------------------------------------

# cgroup_dirs_named NAME: every directory called NAME anywhere in the
# cgroup mounts (a name that escaped would land outside its parent).
cgroup_dirs_named() {
    find /sys/fs/cgroup -maxdepth 6 -name "$1" 2>/dev/null
}

test_cgroup_names_cannot_leave_their_hierarchy() {
    require_root || return 0
    local tag parent rc name
    tag=$(unique_name sec)
    parent=$tag-p
    "$CGROUP" create "$parent" || fail "create $parent"
    on_cleanup "$CGROUP" delete "$parent"
    for name in "../$tag" "$parent/../../$tag" "/$tag" "$parent/../$tag" \
        "/sys/fs/cgroup/pids/$tag" "$parent/./$tag"; do
        rc=0
        "$CGROUP" create "$name" 2>/dev/null || rc=$?
        assertEquals "create '$name'" 2 "$rc"
        rc=0
        "$CGROUP" delete "${name/$tag/$parent}" 2>/dev/null || rc=$?
        assertEquals "delete '${name/$tag/$parent}'" 2 "$rc"
    done
    assertEquals "no directory $tag anywhere" "" "$(cgroup_dirs_named "$tag")"
    assertTrue "the parent is still there" "[ -d /sys/fs/cgroup/pids/$parent ]"
    # The kernel's side: cgroupfs holds no symlink, so a name cannot be
    # redirected from inside the hierarchy.
    assertFalse "symlink in cgroupfs" \
        "ln -s / /sys/fs/cgroup/pids/$parent/$tag 2>/dev/null"
    on_cleanup rm -f "/sys/fs/cgroup/pids/$parent/$tag"
}

test_cgroup_root_that_is_not_a_cgroupfs_is_refused() {
    require_root || return 0
    local rc
    # A fake hierarchy whose "pids" group is a symlink out.
    mkdir -p "$TEST_TMP/fake/pids" "$TEST_TMP/outside"
    ln -s "$TEST_TMP/outside" "$TEST_TMP/fake/pids/evil"
    rc=0
    "$CGROUP" --root "$TEST_TMP/fake" create evil/x 2>"$TEST_TMP/err" || rc=$?
    assertEquals "--root on a plain directory: $(cat "$TEST_TMP/err")" 1 "$rc"
    assertEquals "nothing made through the symlink" "" "$(ls -A "$TEST_TMP/outside")"
}

test_image_names_cannot_leave_the_store() {
    require_root || return 0
    local tag store rc name
    local -a o
    tag=$(unique_name sec)
    store=$TEST_TMP/store
    o=(--backend overlay --pool "p$tag" --store "$store")
    "$IMAGE" "${o[@]}" pool create >/dev/null || fail "pool create"
    on_cleanup "$IMAGE" "${o[@]}" pool destroy
    "$IMAGE" "${o[@]}" image create img >/dev/null || fail "image create"
    "$IMAGE" "${o[@]}" snapshot img@t >/dev/null || fail "snapshot"
    find / /tmp "$TEST_TMP" -maxdepth 3 -name "*$tag*" 2>/dev/null | sort >"$TEST_TMP/before"
    for name in "../$tag" "../../$tag" "/tmp/$tag" "a/../$tag" ".$tag" "$tag/x"; do
        rc=0
        "$IMAGE" "${o[@]}" image create "$name" 2>/dev/null || rc=$?
        assertEquals "image create '$name'" 2 "$rc"
        rc=0
        "$IMAGE" "${o[@]}" clone img@t "$name" 2>/dev/null || rc=$?
        assertEquals "clone to '$name'" 2 "$rc"
        rc=0
        "$IMAGE" "${o[@]}" snapshot "img@$name" 2>/dev/null || rc=$?
        assertEquals "snapshot img@'$name'" 2 "$rc"
    done
    find / /tmp "$TEST_TMP" -maxdepth 3 -name "*$tag*" 2>/dev/null | sort >"$TEST_TMP/after"
    assertEquals "nothing named $tag made" "$(cat "$TEST_TMP/before")" "$(cat "$TEST_TMP/after")"
    assertEquals "nothing named $tag in the store" "" "$(find "$store" -name "*$tag*")"
}

test_a_symlink_planted_in_the_store_is_not_followed() {
    require_root || return 0
    local tag store rc
    local -a o
    tag=$(unique_name sec)
    store=$TEST_TMP/store
    o=(--backend overlay --pool "p$tag" --store "$store")
    "$IMAGE" "${o[@]}" pool create >/dev/null || fail "pool create"
    on_cleanup "$IMAGE" "${o[@]}" pool destroy
    "$IMAGE" "${o[@]}" image create img >/dev/null || fail "image create"
    "$IMAGE" "${o[@]}" snapshot img@t >/dev/null || fail "snapshot"
    mkdir -p "$TEST_TMP/outside"
    mkdir -p "$store/containers"
    ln -s "$TEST_TMP/outside" "$store/containers/evil"
    on_cleanup rm -f "$store/containers/evil"
    rc=0
    "$IMAGE" "${o[@]}" clone img@t evil 2>"$TEST_TMP/err" || rc=$?
    assertEquals "clone onto a planted symlink is refused: $(cat "$TEST_TMP/err")" 1 "$rc"
    assertFalse "nothing mounted on the symlink's target" \
        "grep -qF ' $TEST_TMP/outside ' /proc/self/mountinfo"
    assertEquals "nothing written through it" "" "$(ls -A "$TEST_TMP/outside")"
}

test_zfs_dataset_names_stay_in_their_pool() {
    require_root || return 0
    require_zfs || return 0
    local tag pool store rc name
    local -a o
    tag=$(unique_name sec)
    pool=z$tag
    store=$TEST_TMP/zstore
    o=(--backend zfs --pool "$pool" --store "$store")
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$IMAGE" "${o[@]}" pool create \
        --size 128M --device "$TEST_TMP/pool.img"
    assertEquals "zfs pool create: $(cat "$TEST_TMP/err")" 0 "$RC"
    on_cleanup "$IMAGE" "${o[@]}" pool destroy
    "$IMAGE" "${o[@]}" image create img >/dev/null || fail "image create"
    for name in "../$tag" "$pool/../$tag" "/$tag" "a/b" "rpool/$tag" "img@x@y"; do
        rc=0
        "$IMAGE" "${o[@]}" image create "$name" 2>/dev/null || rc=$?
        assertEquals "zfs image create '$name'" 2 "$rc"
    done
    # Every dataset there is, is the pool or inside it.
    assertEquals "datasets outside $pool" "" \
        "$(zfs list -H -o name -t all 2>/dev/null | grep -v -e "^$pool\$" -e "^$pool/" |
            grep -F "$tag")"
    assertEquals "pools named for this test" "$pool" \
        "$(zpool list -H -o name 2>/dev/null | grep -F "$tag")"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_03_zfs_image.sh - 03-zfs-image on its three backends, for real:
# zfs, btrfs on a loop device, overlayfs layers.  Every claim is read back
# from the kernel or the backend's own tools: chroot runs the clone's
# programs, writes fail with EROFS, `zfs list -Hp` / `zfs get -Hp`, `btrfs
# filesystem du`, du(1), /proc/self/mountinfo, /sys/block/loop*/loop/backing_file.
#
# zfs is the machine's own: OpenZFS where the kernel has it (/dev/zfs: a
# stock Debian or Ubuntu with zfsutils-linux), and then no zfs-fuse daemon
# is ever started or stopped; Debian's zfs-fuse where it has not.  zfs-fuse
# starts in ~0.3 s but takes ~4 s to stop, so the zfs tests share one pool
# (made on first use); the last zfs test destroys it and checks that nothing
# is left.  btrfs and overlay pools are cheap: one per test.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

TOOL="$TUNA_BIN/03-zfs-image"
POOL_SIZE=256M          # zfs-fuse needs at least 64M, mkfs.btrfs 109M
ZFS_DIR=""              # the shared zfs pool's directory (backing file, store)
ZFS_STORE=""
ZFS_FUSE_BEFORE=""      # was a zfs-fuse daemon running before the suite...
ZFS_FUSE_TUNAS=""       # ...and had tuna started it (its pidfile)?
ZFS_FUSE_PIDFILE=/run/tuna/zfs-fuse.pid
STORE=""                # set by new_store

# --- helpers ------------------------------------------------------------------

# openzfs: the zfs backend uses OpenZFS here (zfs_kind: tests/lib.sh), so
# zpool and zfs talk to the kernel; else ZFS is zfs-fuse's, in a daemon.
openzfs() { [ "$(zfs_kind)" = openzfs ]; }

# fs_available FS: the kernel has FS, or has its module to load at the
# first mount (mount(2) asks for "fs-FS" itself; a stock kernel builds btrfs
# and overlay as modules).
fs_available() {
    grep -qw "$1" /proc/filesystems || modprobe -n -q "$1" 2>/dev/null
}

# zfs_fuse_alive: "yes" if a zfs-fuse process (not a zombie) exists.
zfs_fuse_alive() {
    local p state
    for p in $(pgrep -x zfs-fuse); do
        state=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
        if [ -n "$state" ] && [ "$state" != Z ]; then
            echo yes
            return
        fi
    done
    echo no
}

suite_setup() {
    ZFS_FUSE_BEFORE=$(zfs_fuse_alive)
    ZFS_FUSE_TUNAS=no
    if [ -e "$ZFS_FUSE_PIDFILE" ]; then ZFS_FUSE_TUNAS=yes; fi
}

# destroy_store STORE: the tool's pool destroy, then anything it left.
destroy_store() {
    local store=$1
    if [ -f "$store/.tuna-store" ]; then
        "$TOOL" --store "$store" pool destroy >/dev/null 2>&1
    fi
    if grep -q " $store " /proc/self/mountinfo; then umount -R "$store"; fi
    return 0
}

suite_teardown() {
    if [ -n "$ZFS_STORE" ]; then destroy_store "$ZFS_STORE"; fi
    if [ -n "$ZFS_DIR" ]; then rm -rf "$ZFS_DIR"; fi
}

# requirements BACKEND: skip (with the reason) where the backend cannot work.
requirements() {
    require_root || return 1
    case $1 in
    zfs) require_zfs ;;
    btrfs) require_command mkfs.btrfs btrfs-progs &&
        require_feature "btrfs (built in or as a module)" fs_available btrfs &&
        require_feature "loop devices" test -e /dev/loop-control ;;
    overlay) require_feature "overlayfs (built in or as a module)" fs_available overlay ;;
    esac
}

# new_store BACKEND: sets STORE to a store holding a fresh pool of BACKEND
# (for zfs: the suite's shared pool).
new_store() {
    local backend=$1
    if [ "$backend" = zfs ]; then
        if [ -z "$ZFS_STORE" ]; then
            ZFS_DIR=$(mktemp -d /var/tmp/tuna-test03.XXXXXX)
            "$TOOL" --backend zfs --store "$ZFS_DIR/store" --pool "$(unique_name tzfs)" \
                pool create --size "$POOL_SIZE" --device "$ZFS_DIR/pool.img" ||
                fail "zfs pool create"
            ZFS_STORE=$ZFS_DIR/store
        fi
        STORE=$ZFS_STORE
        return 0
    fi
    STORE=$TEST_TMP/store
    if [ "$backend" = overlay ]; then
        set -- # the overlay pool is a tmpfs: no device
    else
        set -- --device "$TEST_TMP/pool.img"
    fi
    "$TOOL" --backend "$backend" --store "$STORE" --pool "$(unique_name t3)" \
        pool create --size "$POOL_SIZE" "$@" || fail "$backend pool create"
    on_cleanup destroy_store "$STORE"
}

# image_with_clone BACKEND IMAGE CONTAINER: a store, an image of ls cat sh,
# its snapshot IMAGE@v1 and the clone CONTAINER.
image_with_clone() {
    new_store "$1" &&
        "$TOOL" --store "$STORE" image create "$2" &&
        "$TOOL" --store "$STORE" image populate "$2" --from-host ls cat sh &&
        "$TOOL" --store "$STORE" snapshot "$2@v1" &&
        "$TOOL" --store "$STORE" clone "$2@v1" "$3"
}

# json_field NAME FIELD: from list --json.
json_field() {
    "$TOOL" --store "$STORE" list --json | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"
}

# zfs_pool: the shared pool's name, from its state file.
zfs_pool() {
    sed -n 's/^pool=//p' "$ZFS_STORE/.tuna-store"
}

# zfs_used_refer DATASET: "USED REFER" in bytes: `zfs list -Hp` where
# OpenZFS has it (the post's own command), `zfs get -Hp` with zfs-fuse,
# whose zfs list has no -p.
zfs_used_refer() {
    if openzfs; then
        zfs list -Hp -o used,refer "$1" | tr '\t' ' '
    else
        zfs get -Hp -o value used,referenced "$1" | paste -sd' '
    fi
}

# --- the clone is a root file system -------------------------------------------

check_clone_runs_ls() {
    local backend=$1 img ctr out
    requirements "$backend" || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone "$backend" "$img" "$ctr" || fail "image, snapshot, clone"
    out=$(chroot "$STORE/containers/$ctr" /bin/ls /)
    assertEquals "chroot CLONE /bin/ls / (exit status)" 0 $?
    assertContains "ls / in the clone" "$out" "usr"
    assertEquals "sh in the clone" "ok" "$(chroot "$STORE/containers/$ctr" /bin/sh -c 'echo ok')"
    if [ "$backend" = zfs ]; then
        "$TOOL" --store "$STORE" destroy "$ctr" && "$TOOL" --store "$STORE" destroy "$img@v1" &&
            "$TOOL" --store "$STORE" destroy "$img"
    fi
}

test_clone_runs_ls_in_chroot_on_zfs() { check_clone_runs_ls zfs; }
test_clone_runs_ls_in_chroot_on_btrfs() { check_clone_runs_ls btrfs; }
test_clone_runs_ls_in_chroot_on_overlay() { check_clone_runs_ls overlay; }

# --- snapshot read-only, clone writable and separate -----------------------------

# check_isolation BACKEND: a file written in the clone is not in the image;
# a file written in the image after the snapshot is neither in the clone
# nor in a new clone of the same snapshot.
check_isolation() {
    local backend=$1 img=$2 ctr=$3
    echo "container" >"$STORE/containers/$ctr/written-in-clone"
    assertEquals "the clone is writable" "container" \
        "$(cat "$STORE/containers/$ctr/written-in-clone")"
    assertFalse "a file written in the clone appears in the image" \
        "[ -e '$STORE/images/$img/written-in-clone' ]"
    echo "image" >"$STORE/images/$img/written-after-snapshot"
    "$TOOL" --store "$STORE" clone "$img@v1" "${ctr}b" || fail "second clone"
    assertFalse "an image write after the snapshot reaches its clones" \
        "[ -e '$STORE/containers/${ctr}b/written-after-snapshot' ]"
}

test_snapshot_read_only_clone_writable_on_btrfs() {
    local img ctr err
    requirements btrfs || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone btrfs "$img" "$ctr" || fail "image, snapshot, clone"
    err=$(touch "$STORE/images/$img@v1/x" 2>&1)
    assertContains "a write into the snapshot fails" "$err" "Read-only file system"
    assertEquals "btrfs says the snapshot is read-only" "ro=true" \
        "$(btrfs property get -ts "$STORE/images/$img@v1" ro)"
    assertEquals "and the clone is not" "ro=false" \
        "$(btrfs property get -ts "$STORE/containers/$ctr" ro)"
    check_isolation btrfs "$img" "$ctr"
}

test_snapshot_read_only_clone_writable_on_overlay() {
    local img ctr err options
    requirements overlay || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone overlay "$img" "$ctr" || fail "image, snapshot, clone"
    err=$(touch "$STORE/images/$img@v1/x" 2>&1)
    assertContains "a write into the snapshot fails" "$err" "Read-only file system"
    options=$(awk -v m="$STORE/images/$img@v1" '$5 == m {print $6}' /proc/self/mountinfo)
    assertEquals "mountinfo: the snapshot view is mounted ro" "ro" "${options%%,*}"
    assertEquals "the clone is an overlay mount" "overlay" \
        "$(awk -v m="$STORE/containers/$ctr" '$5 == m {for (i = 7; $i != "-"; i++); print $(i + 1)}' \
            /proc/self/mountinfo)"
    assertTrue "the snapshot's layer is committed, as Docker marks it" \
        "ls '$STORE'/overlay2/*/committed >/dev/null"
    check_isolation overlay "$img" "$ctr"
}

test_snapshot_immutable_clone_writable_on_zfs() {
    local img ctr pool
    requirements zfs || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone zfs "$img" "$ctr" || fail "image, snapshot, clone"
    pool=$(zfs_pool)
    assertEquals "zfs: it is a snapshot" "snapshot" \
        "$(zfs get -H -o value type "$pool/images/$img@v1")"
    if openzfs; then
        # OpenZFS shows a snapshot under the dataset's .zfs/snapshot (its
        # snapdir is hidden, not absent), mounted read-only on first use.
        local err
        err=$(touch "$STORE/images/$img/.zfs/snapshot/v1/x" 2>&1)
        assertContains "a write into the snapshot fails" "$err" "Read-only file system"
        assertTrue "the snapshot holds the image's files" \
            "[ -x '$STORE/images/$img/.zfs/snapshot/v1/bin/ls' ]"
    fi
    # (zfs-fuse has no .zfs/snapshot directory: a snapshot has no path to
    # write through.)
    assertEquals "list shows no mountpoint for it" "null" "$(json_field "$img@v1" mountpoint)"
    check_isolation zfs "$img" "$ctr"
    assertEquals "zfs: the clone's origin is the snapshot" "$pool/images/$img@v1" \
        "$(zfs get -H -o value origin "$pool/containers/$ctr")"
    "$TOOL" --store "$STORE" destroy "${ctr}b"
    "$TOOL" --store "$STORE" destroy "$ctr"
    "$TOOL" --store "$STORE" destroy "$img@v1"
    "$TOOL" --store "$STORE" destroy "$img"
}

# --- USED and REFER: the post's 62K vs 605M ----------------------------------------

# assert_fresh_clone_small CONTAINER: USED under 5% of REFER, REFER > 1M.
assert_fresh_clone_small() {
    local used refer
    used=$(json_field "$1" used) refer=$(json_field "$1" refer)
    assertTrue "REFER of the clone is the image's few MB ($refer)" "[ '$refer' -gt 1000000 ]"
    assertTrue "USED $used is under 5% of REFER $refer" "[ $((used * 20)) -lt '$refer' ]"
}

test_fresh_clone_uses_almost_nothing_on_zfs() {
    local img ctr pool before ours after
    requirements zfs || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone zfs "$img" "$ctr" || fail "image, snapshot, clone"
    pool=$(zfs_pool)
    assert_fresh_clone_small "$ctr"
    # Read before and after: a transaction group may commit in between.
    before=$(zfs_used_refer "$pool/containers/$ctr")
    ours="$(json_field "$ctr" used) $(json_field "$ctr" refer)"
    after=$(zfs_used_refer "$pool/containers/$ctr")
    assertTrue "used and refer as zfs says them: ours '$ours', zfs '$before' / '$after'" \
        "[ '$ours' = '$before' ] || [ '$ours' = '$after' ]"
    "$TOOL" --store "$STORE" destroy "$ctr"
    "$TOOL" --store "$STORE" destroy "$img@v1"
    "$TOOL" --store "$STORE" destroy "$img"
}

test_fresh_clone_uses_almost_nothing_on_btrfs() {
    local img ctr du
    requirements btrfs || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone btrfs "$img" "$ctr" || fail "image, snapshot, clone"
    assert_fresh_clone_small "$ctr"
    # btrfs filesystem du: Total, Exclusive, Set shared, Filename
    du=$(btrfs filesystem du -s --raw "$STORE/containers/$ctr" | tail -1)
    assertEquals "used = btrfs filesystem du's Exclusive" "$(echo "$du" | awk '{print $2}')" \
        "$(json_field "$ctr" used)"
    assertEquals "refer = btrfs filesystem du's Total" "$(echo "$du" | awk '{print $1}')" \
        "$(json_field "$ctr" refer)"
}

test_fresh_clone_uses_almost_nothing_on_overlay() {
    local img ctr upper
    requirements overlay || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone overlay "$img" "$ctr" || fail "image, snapshot, clone"
    assert_fresh_clone_small "$ctr"
    # The container's upper layer: the diff of the layer its name points to.
    upper=$(readlink -f "$STORE/layerdb/containers/$ctr")/diff
    assertEquals "used = du of the container's diff" "$(du -sB1 "$upper" | cut -f1)" \
        "$(json_field "$ctr" used)"
    assertEquals "refer = du of what the container sees" \
        "$(du -sB1 "$STORE/containers/$ctr" | cut -f1)" "$(json_field "$ctr" refer)"
}

# --- populate ---------------------------------------------------------------------

test_populate_copies_exactly_the_libraries_ldd_lists() {
    local img paths p expected got
    requirements overlay || return 0
    require_command ldd libc-bin || return 0
    img=$(unique_name img)
    new_store overlay
    "$TOOL" --store "$STORE" image create "$img" || fail "image create"
    "$TOOL" --store "$STORE" image populate "$img" --from-host ls cat sh || fail "populate"
    # ldd asks ld.so itself which files it loads (and the loader's path).
    paths=$(for p in ls cat sh; do ldd "$(command -v $p)"; done | grep -o '/[^ ]*' | sort -u)
    for p in $paths; do
        assertTrue "$p is in the image at the same path" "[ -e '$STORE/images/$img$p' ]"
    done
    # The real files behind those paths, and no other shared object.
    expected=$(for p in $paths; do basename "$(readlink -f "$p")"; done | sort -u)
    got=$(find "$STORE/images/$img" -type f -name '*.so*' -printf '%f\n' | sort -u)
    assertEquals "the libraries of ls cat sh, no more no fewer" "$expected" "$got"
    assertTrue "bin/ls and usr/bin/ls are the same file" \
        "[ '$STORE/images/$img/bin/ls' -ef '$STORE/images/$img/usr/bin/ls' ]"
}

test_populate_busybox_installs_applet_links() {
    local img links
    requirements overlay || return 0
    require_command busybox busybox-static || return 0
    img=$(unique_name img)
    new_store overlay
    "$TOOL" --store "$STORE" image create "$img" || fail "image create"
    "$TOOL" --store "$STORE" image populate "$img" --busybox || fail "populate --busybox"
    links=$(find "$STORE/images/$img/bin" -type l -lname busybox | wc -l)
    assertTrue "busybox applet links ($links)" "[ $links -gt 100 ]"
    assertEquals "busybox sh runs in the image" "ok" \
        "$(chroot "$STORE/images/$img" /bin/sh -c 'echo ok')"
}

test_populate_refuses_a_script_and_copies_nothing() {
    local img
    requirements overlay || return 0
    img=$(unique_name img)
    new_store overlay
    "$TOOL" --store "$STORE" image create "$img" || fail "image create"
    printf '#!/bin/sh\necho hi\n' >"$TEST_TMP/script" && chmod +x "$TEST_TMP/script"
    assert_one_line_failure 2 "$TOOL" --store "$STORE" image populate "$img" \
        --from-host ls "$TEST_TMP/script"
    assertEquals "nothing was copied" "" "$(ls -A "$STORE/images/$img")"
}

# --- destroy refuses what others depend on -----------------------------------------

check_destroy_refuses_dependents() {
    local backend=$1 img ctr before after
    requirements "$backend" || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone "$backend" "$img" "$ctr" || fail "image, snapshot, clone"
    before=$(awk -v s="$STORE" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort
        "$TOOL" --store "$STORE" list --json)
    assert_one_line_failure 1 "$TOOL" --store "$STORE" destroy "$img"
    assertContains "says why" "$(cat "$TEST_TMP/err")" "has snapshot $img@v1"
    assert_one_line_failure 1 "$TOOL" --store "$STORE" destroy "$img@v1"
    assertContains "says why" "$(cat "$TEST_TMP/err")" "container $ctr is a clone of it"
    after=$(awk -v s="$STORE" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort
        "$TOOL" --store "$STORE" list --json)
    assertEquals "nothing changed (mounts, list)" "$before" "$after"
    assertTrue "the clone still works" "chroot '$STORE/containers/$ctr' /bin/ls / >/dev/null"
    # In dependency order it all goes.
    "$TOOL" --store "$STORE" destroy "$ctr" && "$TOOL" --store "$STORE" destroy "$img@v1" &&
        "$TOOL" --store "$STORE" destroy "$img"
    assertEquals "destroyed in order" 0 $?
    assertEquals "list is empty" "[]" "$("$TOOL" --store "$STORE" list --json)"
}

test_destroy_refuses_image_with_snapshots_on_zfs() { check_destroy_refuses_dependents zfs; }
test_destroy_refuses_image_with_snapshots_on_btrfs() { check_destroy_refuses_dependents btrfs; }
test_destroy_refuses_image_with_snapshots_on_overlay() { check_destroy_refuses_dependents overlay; }

# --- the store remembers its backend --------------------------------------------------

test_store_remembers_its_backend() {
    requirements overlay || return 0
    new_store overlay
    assertEquals "list needs no --backend" "[]" "$("$TOOL" --store "$STORE" list --json)"
    assert_one_line_failure 2 "$TOOL" --backend btrfs --store "$STORE" list
    assert_one_line_failure 1 "$TOOL" --store "$TEST_TMP/nowhere" list
}

test_default_backend_is_the_first_that_works() {
    local store want
    requirements overlay || return 0
    store=$TEST_TMP/default-store
    want=overlay
    if [ "$(zfs_kind)" != none ]; then
        want=zfs
    elif command -v mkfs.btrfs >/dev/null; then
        want=btrfs
    fi
    on_cleanup destroy_store "$store"
    "$TOOL" --store "$store" --pool "$(unique_name tdef)" pool create --size "$POOL_SIZE" \
        --device "$TEST_TMP/default.img" || fail "pool create"
    assertEquals "the backend chosen" "backend=$want" "$(grep '^backend=' "$store/.tuna-store")"
    assertTrue "and it is mounted in the store" "grep -q ' ${store}[/ ]' /proc/self/mountinfo"
}

# --- bad input -----------------------------------------------------------------------

test_bad_input_exits_2_and_changes_nothing() {
    local s=$TEST_TMP/never
    assert_one_line_failure 2 "$TOOL" --store "$s" image create "a/b"
    assert_one_line_failure 2 "$TOOL" --store "$s" image create ".."
    assert_one_line_failure 2 "$TOOL" --store "$s" image create ""
    assert_one_line_failure 2 "$TOOL" --store "$s" image create "a@b"
    assert_one_line_failure 2 "$TOOL" --store "$s" snapshot "img"
    assert_one_line_failure 2 "$TOOL" --store "$s" snapshot "img@"
    assert_one_line_failure 2 "$TOOL" --store "$s" snapshot "@v1"
    assert_one_line_failure 2 "$TOOL" --store "$s" snapshot "img@v1@v2"
    assert_one_line_failure 2 "$TOOL" --store "$s" clone "img@v1" "../etc"
    assert_one_line_failure 2 "$TOOL" --store "$s" destroy "a/../b"
    assert_one_line_failure 2 "$TOOL" --backend ext4 --store "$s" pool create
    assert_one_line_failure 2 "$TOOL" --store "$s" pool create --size 0
    assert_one_line_failure 2 "$TOOL" --store "$s" pool create --size 12Q
    if [ "$(zfs_kind)" != none ]; then
        # below zfs's 64M minimum vdev (SPA_MINDEVSIZE)
        assert_one_line_failure 2 "$TOOL" --backend zfs --store "$s" pool create --size 1M
    fi
    assert_one_line_failure 2 "$TOOL" --store "relative/dir" list
    assert_one_line_failure 2 "$TOOL" --store "$s" --pool "1pool" pool create
    assert_one_line_failure 2 "$TOOL" --store "$s" list --size 1G
    assert_one_line_failure 2 "$TOOL" --store "$s" frobnicate
    assertFalse "nothing was created" "[ -e '$s' ]"
}

# --- 04-pivot into a clone -------------------------------------------------------------

test_clone_is_a_root_for_04_pivot() {
    local img ctr out
    if [ ! -d "$TUNA_ROOT/steps/04-pivot" ]; then
        echo "NOTE: steps/04-pivot is not in this tree yet; nothing to check"
        return 0
    fi
    requirements overlay || return 0
    require_command unshare util-linux || return 0
    img=$(unique_name img) ctr=$(unique_name ctr)
    image_with_clone overlay "$img" "$ctr" || fail "image, snapshot, clone"
    out=$(unshare --mount --pid --fork "$TUNA_BIN/04-pivot" "$STORE/containers/$ctr" -- /bin/ls /)
    assertEquals "04-pivot into the clone runs ls (exit status)" 0 $?
    assertContains "ls / inside" "$out" "usr"
}

# --- pool destroy leaves nothing (zfs last: it removes the shared pool) ---------------

test_pool_destroy_leaves_nothing_on_overlay() {
    requirements overlay || return 0
    new_store overlay
    if ! { "$TOOL" --store "$STORE" image create img &&
        "$TOOL" --store "$STORE" snapshot img@v1 &&
        "$TOOL" --store "$STORE" clone img@v1 ctr; }; then
        fail "image, snapshot, clone"
    fi
    "$TOOL" --store "$STORE" pool destroy
    assertEquals "pool destroy" 0 $?
    assertFalse "no mount left under the store" "grep -q ' ${STORE}[/ ]' /proc/self/mountinfo"
    assertFalse "the store directory is gone" "[ -e '$STORE' ]"
}

test_pool_destroy_leaves_nothing_on_btrfs() {
    local f
    requirements btrfs || return 0
    new_store btrfs
    if ! { "$TOOL" --store "$STORE" image create img &&
        "$TOOL" --store "$STORE" snapshot img@v1 &&
        "$TOOL" --store "$STORE" clone img@v1 ctr; }; then
        fail "image, snapshot, clone"
    fi
    assertTrue "a loop device holds the file" \
        "grep -qs '$TEST_TMP/pool.img' /sys/block/loop*/loop/backing_file"
    "$TOOL" --store "$STORE" pool destroy
    assertEquals "pool destroy" 0 $?
    assertFalse "no mount left" "grep -q ' $STORE ' /proc/self/mountinfo"
    for f in /sys/block/loop*/loop/backing_file; do
        [ -e "$f" ] || continue
        assertNotEquals "no loop device on the file ($f)" "$TEST_TMP/pool.img" "$(cat "$f")"
    done
    assertFalse "the backing file is gone" "[ -e '$TEST_TMP/pool.img' ]"
    assertFalse "the store directory is gone" "[ -e '$STORE' ]"
}

test_pool_destroy_leaves_nothing_on_zfs() {
    local pool err
    requirements zfs || return 0
    new_store zfs
    pool=$(zfs_pool)
    if ! { "$TOOL" --store "$STORE" image create img &&
        "$TOOL" --store "$STORE" snapshot img@v1 &&
        "$TOOL" --store "$STORE" clone img@v1 ctr; }; then
        fail "image, snapshot, clone"
    fi
    err=$("$TOOL" -x --store "$STORE" pool destroy 2>&1)
    assertEquals "pool destroy ($err)" 0 $?
    assertContains "--explain shows the post's command" "$err" \
        "[\"zpool\", \"destroy\", \"$pool\"]) = 0   # zpool destroy zpools"
    ZFS_STORE=""
    assertFalse "zpool list has no $pool" "zpool list -H -o name 2>/dev/null | grep -qx '$pool'"
    assertFalse "no mount left" "grep -q ' ${STORE}[/ ]' /proc/self/mountinfo"
    assertFalse "the backing file is gone" "[ -e '$ZFS_DIR/pool.img' ]"
    assertFalse "the store directory is gone" "[ -e '$STORE' ]"
    # OpenZFS: no daemon at all, before or after.  zfs-fuse: the daemon
    # goes with the last pool, and only if tuna started it.
    if openzfs; then
        assertEquals "no zfs-fuse ran beside OpenZFS" "no no" "$ZFS_FUSE_BEFORE $(zfs_fuse_alive)"
        assertFalse "no zfs-fuse pidfile" "[ -e '$ZFS_FUSE_PIDFILE' ]"
    elif [ -n "$(zpool list -H -o name 2>/dev/null)" ]; then
        assertEquals "zfs-fuse still serves the pools left" yes "$(zfs_fuse_alive)"
    elif [ "$ZFS_FUSE_BEFORE" = yes ] && [ "$ZFS_FUSE_TUNAS" = no ]; then
        assertEquals "a zfs-fuse that tuna did not start is left running" yes "$(zfs_fuse_alive)"
    else
        assertEquals "the zfs-fuse daemon tuna started is stopped" no "$(zfs_fuse_alive)"
        assertFalse "and its pidfile removed" "[ -e '$ZFS_FUSE_PIDFILE' ]"
    fi
}

# zfs_fuse_gone PID: yes if PID has exited (no such process, or a zombie:
# its threads, memory, files and mounts are gone; only its exit status is
# left for its parent, init, to collect).
zfs_fuse_gone() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    if [ -z "$state" ] || [ "$state" = Z ]; then echo yes; else echo "no (state $state)"; fi
}

# After the shared pool is gone (the test above): a pool of its own, so that
# `pool create` starts the daemon where none runs, and `pool destroy`
# returns only once that daemon has exited.
test_pool_destroy_returns_after_the_zfs_fuse_it_started_has_exited() {
    local dir store pid
    requirements zfs || return 0
    dir=$(mktemp -d /var/tmp/tuna-test03-fuse.XXXXXX)
    store=$dir/store
    on_cleanup rm -rf "$dir"
    on_cleanup destroy_store "$store"
    local running_before
    running_before=$(zfs_fuse_alive)
    "$TOOL" --backend zfs --store "$store" --pool "$(unique_name tfuse)" pool create \
        --size "$POOL_SIZE" --device "$dir/pool.img" || fail "zfs pool create"
    if [ "$(zfs_kind)" = openzfs ]; then
        # OpenZFS: zpool talks to the kernel, no daemon is started or stopped.
        assertFalse "no pidfile of ours with OpenZFS" "[ -e '$ZFS_FUSE_PIDFILE' ]"
        "$TOOL" --store "$store" pool destroy || fail "pool destroy"
        assertEquals "no zfs-fuse ran" "$running_before" "$(zfs_fuse_alive)"
        return 0
    fi
    if [ "$running_before" = yes ]; then
        # A daemon that was there before: not ours to start or to stop.
        "$TOOL" --store "$store" pool destroy || fail "pool destroy"
        assertEquals "the daemon that was there is left running" yes "$(zfs_fuse_alive)"
        return 0
    fi
    pid=$(cat "$ZFS_FUSE_PIDFILE")
    assertEquals "pool create started zfs-fuse (pidfile $pid)" "zfs-fuse" \
        "$(cat "/proc/$pid/comm" 2>/dev/null)"
    "$TOOL" --store "$store" pool destroy
    assertEquals "pool destroy" 0 $?
    # Read at once, before anything else can run: it must be gone already.
    assertEquals "zfs-fuse $pid has exited when pool destroy returns" yes "$(zfs_fuse_gone "$pid")"
    assertFalse "its pidfile is removed" "[ -e '$ZFS_FUSE_PIDFILE' ]"
    assertEquals "no zfs-fuse process is left running" no "$(zfs_fuse_alive)"
}

# mountinfo writes a space in a path as \040: a store whose path has one
# is still found, unmounted and removed whole.
test_pool_destroy_on_overlay_handles_a_store_path_with_a_space() {
    local store
    requirements overlay || return 0
    store="$TEST_TMP/store with space"
    "$TOOL" --backend overlay --store "$store" --pool "$(unique_name tsp)" pool create \
        --size "$POOL_SIZE" || fail "overlay pool create"
    on_cleanup destroy_store "$store"
    if ! { "$TOOL" --store "$store" image create img &&
        "$TOOL" --store "$store" snapshot img@v1 &&
        "$TOOL" --store "$store" clone img@v1 ctr; }; then
        fail "image, snapshot, clone"
    fi
    assertTrue "the clone is mounted (mountinfo says \\040)" \
        "grep -qF ' ${store// /\\040}/containers/ctr ' /proc/self/mountinfo"
    assert_one_line_failure 1 "$TOOL" --store "$store" pool create
    assertContains "a second pool create sees the mounted pool" "$(cat "$TEST_TMP/err")" \
        "already mounted"
    "$TOOL" --store "$store" pool destroy
    assertEquals "pool destroy" 0 $?
    assertFalse "no mount left under the store" \
        "grep -qF ' ${store// /\\040}' /proc/self/mountinfo"
    assertFalse "the store directory is gone" "[ -e '$store' ]"
}

# overlay is a module on a stock kernel: /proc/filesystems lacks it until
# something loads it.  pool create loads it (modprobe, as the first mount
# would) before it says the kernel has none; where it is there, nothing is
# run for it.
test_overlay_backend_loads_the_module_before_refusing() {
    local store loaded
    requirements_overlay_module || return 0
    store=$TEST_TMP/module-store
    loaded=no
    if grep -qw overlay /proc/filesystems; then loaded=yes; fi
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TOOL" -x --backend overlay --store "$store" \
        --pool "$(unique_name tmod)" pool create --size "$POOL_SIZE"
    on_cleanup destroy_store "$store"
    assertEquals "pool create: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertTrue "the kernel lists overlay now" "grep -qw overlay /proc/filesystems"
    if [ "$loaded" = yes ]; then
        assertFalse "overlay was there: no modprobe run" "grep -q 'modprobe' '$TEST_TMP/err'"
    else
        assertTrue "modprobe overlay was run first" \
            "grep -q '\"modprobe\", \"overlay\"\]) = 0' '$TEST_TMP/err'"
    fi
}

# requirements_overlay_module: root, and overlay either there or loadable.
requirements_overlay_module() {
    require_root || return 1
    if grep -qw overlay /proc/filesystems; then return 0; fi
    require_command modprobe kmod
}

# --- devicemapper and overlay on XFS, where the kernel lacks them ------------
# (Where it has them, tests/vm/cases.sh's devicemapper and quota groups run
# them for real: tests/test_vm.sh.)

# xfs_quota_works: XFS with quota support (/proc/fs/xfs/xqmstat, there once
# the xfs module is loaded).
xfs_quota_works() { [ -e /proc/fs/xfs/xqmstat ] || { modprobe -q xfs 2>/dev/null && [ -e /proc/fs/xfs/xqmstat ]; }; }

# nothing_of POOL STORE: what a refused pool create might have left.
nothing_of() {
    local f
    for f in /var/lib/tuna/"$1".img /var/lib/tuna/"$1"-meta.img "$2"; do
        [ -e "$f" ] && echo "left $f"
    done
    grep -F " $2 " /proc/self/mountinfo | sed 's/^/mount /'
    grep -ls "/var/lib/tuna/$1" /sys/block/loop*/loop/backing_file 2>/dev/null | sed 's/^/loop /'
    return 0
}

test_devicemapper_is_refused_with_a_hint_where_the_kernel_lacks_it() {
    local pool store
    require_root || return 0
    if [ -e /dev/mapper/control ] || modprobe -n -q dm_thin_pool 2>/dev/null; then
        echo "device-mapper is here: test_devicemapper_thin_snapshots_read_back_with_dmsetup runs it"
        return 0
    fi
    pool=$(unique_name tdm)
    store=$TEST_TMP/dm-store
    on_cleanup destroy_store "$store"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TOOL" --backend devicemapper --pool "$pool" \
        --store "$store" pool create --size 64M
    assertEquals "exit status: $(cat "$TEST_TMP/err")" 1 "$RC"
    assertTrue "says device-mapper is missing" "grep -q 'no device-mapper' '$TEST_TMP/err'"
    assertTrue "a hint names the kernel options" "grep -q '^hint: .*CONFIG_DM_THIN_PROVISIONING' '$TEST_TMP/err'"
    assertEquals "nothing left" "" "$(nothing_of "$pool" "$store")"
}

test_overlay_on_xfs_is_refused_with_a_hint_where_xfs_has_no_quota() {
    local pool store
    require_root || return 0
    # /proc/fs/xfs appears when the xfs module loads: load it first.
    if xfs_quota_works; then
        echo "XFS has quotas here: test_overlay_on_xfs_clone_size_is_a_project_quota runs them"
        return 0
    fi
    pool=$(unique_name txq)
    store=$TEST_TMP/xq-store
    on_cleanup destroy_store "$store"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TOOL" --backend overlay --pool "$pool" \
        --store "$store" pool create --fs xfs --size 320M
    assertEquals "exit status: $(cat "$TEST_TMP/err")" 1 "$RC"
    assertTrue "says why" "grep -qE 'no XFS|no quota support' '$TEST_TMP/err'"
    assertTrue "a hint" "grep -q '^hint: ' '$TEST_TMP/err'"
    assertEquals "nothing left" "" "$(nothing_of "$pool" "$store")"
}

# fstype_at DIR: the file system mounted at DIR, from mountinfo.
fstype_at() {
    awk -v m="$1" '$5 == m {for (i = 7; $i != "-"; i++); print $(i + 1)}' /proc/self/mountinfo
}

# Without --fs, overlay's pool is an XFS where XFS has project quotas (and
# --size leaves mkfs.xfs its 300M), a tmpfs elsewhere; --explain says which.
test_overlay_pool_default_fs_is_xfs_where_xfs_has_quota_else_tmpfs() {
    local pool store want
    requirements overlay || return 0
    want=tmpfs
    if xfs_quota_works && command -v mkfs.xfs >/dev/null; then want=xfs; fi
    pool=$(unique_name tdf)
    store=$TEST_TMP/df-store
    on_cleanup destroy_store "$store"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TOOL" -x --backend overlay --pool "$pool" \
        --store "$store" pool create --size 320M
    assertEquals "pool create: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertEquals "mountinfo: the pool's file system" "$want" "$(fstype_at "$store")"
    assertTrue "--explain says which and why" "grep -qi '^# an\? $want pool' '$TEST_TMP/err'"
    "$TOOL" --store "$store" pool destroy || fail "pool destroy"
    assertEquals "nothing left" "" "$(nothing_of "$pool" "$store")"
    # Below mkfs.xfs's minimum the default is a tmpfs everywhere.
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TOOL" -x --backend overlay --pool "$pool" \
        --store "$store" pool create --size 64M
    assertEquals "pool create --size 64M: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertEquals "mountinfo: a 64M pool is a tmpfs" tmpfs "$(fstype_at "$store")"
    assertTrue "--explain says why" "grep -q '^# a tmpfs pool: ' '$TEST_TMP/err'"
    # --fs tmpfs forces a tmpfs even where XFS has quotas.
    "$TOOL" --store "$store" pool destroy || fail "pool destroy"
    "$TOOL" --backend overlay --pool "$pool" --store "$store" pool create --size 320M --fs tmpfs ||
        fail "pool create --fs tmpfs"
    assertEquals "mountinfo: --fs tmpfs" tmpfs "$(fstype_at "$store")"
}

# An explicit --fs xfs below mkfs.xfs's minimum is bad usage.
test_overlay_xfs_pool_below_300M_is_exit_2() {
    local store
    requirements overlay || return 0
    if ! xfs_quota_works || ! command -v mkfs.xfs >/dev/null; then
        echo "XFS has no quotas here: --fs xfs is refused first (exit 1)"
        return 0
    fi
    store=$TEST_TMP/small-xfs
    on_cleanup destroy_store "$store"
    assert_one_line_failure 2 "$TOOL" --backend overlay --pool "$(unique_name tsx)" --store "$store" \
        pool create --fs xfs --size 64M
    assertContains "says the minimum" "$(cat "$TEST_TMP/err")" "at least 300M"
    assertEquals "nothing mounted" "" "$(fstype_at "$store")"
}

test_clone_size_needs_an_xfs_overlay_pool() {
    requirements overlay || return 0
    new_store overlay
    if ! { "$TOOL" --store "$STORE" image create img && "$TOOL" --store "$STORE" snapshot img@v1; } \
        >/dev/null; then
        fail "image, snapshot"
    fi
    assert_one_line_failure 2 "$TOOL" --store "$STORE" clone img@v1 c --size 8M
    assertFalse "no container made" "[ -e '$STORE/containers/c' ]"
    assertEquals "no layer beyond the image's two" 3 "$(find "$STORE/overlay2" -mindepth 1 -maxdepth 1 | wc -l)"
}

# --- devicemapper and overlay on XFS, where the kernel has them --------------
# The same checks as tests/vm/cases.sh's devicemapper and quota groups, for a
# stock machine (the student VM): read back with dmsetup, sysfs, xfs_quota.

# kernel_config_has OPTION: the running kernel's config says =y or =m.
kernel_config_has() {
    grep -qsE "^$1=[ym]" "/boot/config-$(uname -r)" ||
        { [ -r /proc/config.gz ] && zcat /proc/config.gz | grep -qE "^$1=[ym]"; }
}

# require_kernel_feature WHAT OPTION CHECK...: 0 when CHECK passes; where it
# does not, a skip if the kernel's config has OPTION (then something is
# wrong here, and TUNA_MUST_RUN=1 makes it a failure), else 1 quietly: this
# kernel is known to lack it and the refusal tests above cover it.
require_kernel_feature() {
    local what=$1 option=$2
    shift 2
    "$@" >/dev/null 2>&1 && return 0
    if kernel_config_has "$option"; then
        skip_test "the kernel has $option but $what does not work here"
    else
        echo "this kernel has no $option: $what is refused here (tested above)"
    fi
    return 1
}

dm_thin_works() {
    modprobe -q dm_thin_pool 2>/dev/null
    [ -e /dev/mapper/control ] && dmsetup targets | grep -q '^thin-pool'
}

# dm_of POOL: the pool's dm devices (dmsetup ls), one line.
dm_of() { dmsetup ls 2>/dev/null | awk -v p="$1-" 'index($1, p) == 1 { print $1 }' | sort | tr '\n' ' '; }
loops_of() { grep -ls "/var/lib/tuna/$1" /sys/block/loop*/loop/backing_file 2>/dev/null | tr '\n' ' '; }

test_devicemapper_thin_snapshots_read_back_with_dmsetup() {
    local pool store out used refer err
    require_root || return 0
    require_command dmsetup dmsetup || return 0
    require_command mkfs.ext4 e2fsprogs || return 0
    require_kernel_feature "device-mapper thin provisioning" CONFIG_DM_THIN_PROVISIONING \
        dm_thin_works || return 0
    pool=$(unique_name tdm)
    store=$TEST_TMP/dm
    on_cleanup destroy_store "$store"
    if ! { "$TOOL" --backend devicemapper --pool "$pool" --store "$store" pool create --size 256M &&
        "$TOOL" --store "$store" image create img &&
        "$TOOL" --store "$store" image populate img --from-host ls cat sh &&
        "$TOOL" --store "$store" snapshot img@v1 &&
        "$TOOL" --store "$store" clone img@v1 ctr; } >"$TEST_TMP/log" 2>&1; then
        fail "pool, image, snapshot, clone: $(tail -2 "$TEST_TMP/log")"
        return 0
    fi
    assertEquals "dmsetup ls" "$pool-ctr-ctr $pool-img-img $pool-pool $pool-snap-img@v1 " "$(dm_of "$pool")"
    assertTrue "a thin-pool on two loop devices, 64K blocks: $(dmsetup table "$pool-pool")" \
        "dmsetup table '$pool-pool' | grep -qE ' thin-pool 7:[0-9]+ 7:[0-9]+ 128 '"
    assertEquals "two loop devices" 2 "$(loops_of "$pool" | wc -w)"
    assertTrue "the snapshot's device is read-only" \
        "dmsetup info '$pool-snap-img@v1' | grep -q 'READ-ONLY'"
    out=$("$TOOL" --store "$store" list --json)
    used=$(echo "$out" | jq '.[] | select(.name == "ctr") | .used')
    refer=$(echo "$out" | jq '.[] | select(.name == "ctr") | .refer')
    assertEquals "REFER is thin status's mapped sectors" \
        "$(($(dmsetup status "$pool-ctr-ctr" | cut -d ' ' -f 4) * 512))" "$refer"
    assertTrue "a fresh clone's USED ($used) is under 1M" "[ '$used' -lt 1048576 ]"
    err=$(touch "$store/images/img@v1/x" 2>&1)
    assertTrue "the snapshot refuses a write: $err" "echo '$err' | grep -q 'Read-only'"
    echo clone >"$store/containers/ctr/in-clone"
    assertFalse "the clone's write is not in the image" "[ -e '$store/images/img/in-clone' ]"
    assertTrue "the clone runs the image's ls" "chroot '$store/containers/ctr' /bin/ls / >/dev/null"
    "$TOOL" --store "$store" destroy ctr >/dev/null || fail "destroy ctr"
    assertEquals "destroy removed the clone's device" "$pool-img-img $pool-pool $pool-snap-img@v1 " \
        "$(dm_of "$pool")"
    "$TOOL" --store "$store" pool destroy >/dev/null || fail "pool destroy"
    assertEquals "no dm device left" "" "$(dm_of "$pool")"
    assertEquals "no loop device left" "" "$(loops_of "$pool")"
    assertEquals "nothing else left" "" "$(nothing_of "$pool" "$store")"
}

test_devicemapper_a_fault_at_each_ioctl_leaves_nothing() {
    local pool store k rc left
    require_root || return 0
    require_command strace strace || return 0
    require_command mkfs.ext4 e2fsprogs || return 0
    require_kernel_feature "device-mapper thin provisioning" CONFIG_DM_THIN_PROVISIONING \
        dm_thin_works || return 0
    pool=$(unique_name tdf)
    store=$TEST_TMP/dmf
    on_cleanup destroy_store "$store"
    # pool create's ioctls, each made to fail in turn (strace's fault injection).
    for k in $(seq 1 30); do
        rc=0
        strace -o "$TEST_TMP/strace" -e trace=ioctl -e inject=ioctl:error=EIO:when="$k" \
            "$TOOL" --backend devicemapper --pool "$pool" --store "$store" pool create --size 64M \
            >"$TEST_TMP/log" 2>&1 || rc=$?
        if [ "$rc" = 0 ]; then
            grep -q INJECTED "$TEST_TMP/strace" || break
            "$TOOL" --store "$store" pool destroy >/dev/null 2>&1
            continue
        fi
        assertEquals "fault at ioctl $k: exit 1 ($(tail -1 "$TEST_TMP/log"))" 1 "$rc"
        left="$(dm_of "$pool")$(loops_of "$pool")$(nothing_of "$pool" "$store")"
        assertEquals "fault at ioctl $k of pool create left" "" "$left"
    done
    assertTrue "pool create made more than one ioctl ($k)" "[ '$k' -gt 2 ]"
    # image create's, on that pool.
    for k in $(seq 1 30); do
        rc=0
        strace -o "$TEST_TMP/strace" -e trace=ioctl -e inject=ioctl:error=EIO:when="$k" \
            "$TOOL" --store "$store" image create img >"$TEST_TMP/log" 2>&1 || rc=$?
        if [ "$rc" = 0 ]; then
            grep -q INJECTED "$TEST_TMP/strace" || break
            "$TOOL" --store "$store" destroy img >/dev/null 2>&1
            continue
        fi
        assertEquals "image create, fault at ioctl $k: exit 1" 1 "$rc"
        assertEquals "image create, fault at ioctl $k left" "$pool-pool " "$(dm_of "$pool")"
    done
    "$TOOL" --store "$store" pool destroy >/dev/null || fail "pool destroy"
    assertEquals "nothing left" "" "$(dm_of "$pool")$(loops_of "$pool")$(nothing_of "$pool" "$store")"
}


# project_hard STORE ID: project ID's hard limit in KiB, as xfs_quota reports it.
project_hard() {
    xfs_quota -x -c 'report -p -b -N' "$1" 2>/dev/null | awk -v id="#$2" '$1 == id { print $4 }'
}

test_overlay_on_xfs_clone_size_is_a_project_quota() {
    local pool store hard err bytes
    require_root || return 0
    require_command mkfs.xfs xfsprogs || return 0
    require_command xfs_quota xfsprogs || return 0
    require_kernel_feature "XFS project quotas" CONFIG_XFS_QUOTA xfs_quota_works || return 0
    pool=$(unique_name txq)
    store=$TEST_TMP/xq
    on_cleanup destroy_store "$store"
    if ! { "$TOOL" --backend overlay --pool "$pool" --store "$store" pool create --fs xfs --size 320M &&
        "$TOOL" --store "$store" image create img &&
        "$TOOL" --store "$store" image populate img --from-host ls sh &&
        "$TOOL" --store "$store" snapshot img@v1 &&
        "$TOOL" --store "$store" clone img@v1 small --size 8M &&
        "$TOOL" --store "$store" clone img@v1 big; } >"$TEST_TMP/log" 2>&1; then
        fail "pool, clones: $(tail -2 "$TEST_TMP/log")"
        return 0
    fi
    assertTrue "mounted with prjquota" "grep ' $store ' /proc/self/mountinfo | grep -q prjquota"
    hard=$(project_hard "$store" 1)
    assertEquals "xfs_quota: project #1's hard limit (KiB)" 8192 "$hard"
    assertTrue "list shows the limit" "'$TOOL' --store '$store' list | grep -E '^small .* 0/8.00M'"
    err=$(dd if=/dev/zero of="$store/containers/small/fill" bs=64K count=1000 2>&1)
    bytes=$(stat -c %s "$store/containers/small/fill")
    assertTrue "the write stopped with ENOSPC: $err" "echo '$err' | grep -q 'No space left on device'"
    assertTrue "at the limit: $bytes bytes" "[ '$bytes' -le 8388608 ] && [ '$bytes' -gt 4194304 ]"
    assertTrue "the other container writes past 8M" \
        "dd if=/dev/zero of='$store/containers/big/fill' bs=64K count=256 2>/dev/null"
    "$TOOL" --store "$store" destroy small >/dev/null || fail "destroy small"
    hard=$(project_hard "$store" 1)
    assertTrue "the limit is gone after destroy (${hard:-no line})" "[ -z '$hard' ] || [ '$hard' = 0 ]"
    "$TOOL" --store "$store" pool destroy >/dev/null || fail "pool destroy"
    assertEquals "nothing left" "" "$(loops_of "$pool")$(nothing_of "$pool" "$store")"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

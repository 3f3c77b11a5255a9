#!/usr/bin/env bash
# tests/test_exercises.sh - the self-checking exercises (labs/exercises/).
#
# Every exercise is run twice at least: against a right answer, made here
# with the post's own commands (mkdir/echo into cgroupfs, unshare(1),
# pivot_root(8), ip, nft/iptables, btrfs, mount -t overlay) in a sandbox of
# the test's own, where it must pass (exit 0); and against a typical wrong
# answer, where it must fail (exit 1) AND say the right thing.  The setups
# use no tuna tool except bin/07-stress (the hog), so a broken tool cannot
# make a checker look right.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

RUN=$TUNA_ROOT/labs/exercises/run
CGROUP_ROOT=/sys/fs/cgroup
CGROUP_V1=$CGROUP_ROOT
BUSYBOX=/bin/busybox
WAIT_STEPS=100          # 100 x 0.05 s: how long a setup may take to be ready
HOG_SECONDS=15          # the hog outlives the check; it is killed at cleanup

# --- helpers ---------------------------------------------------------------------------------

# run_exercise ARGS...: labs/exercises/run ARGS, its report in $TEST_TMP/report
# (one line per paragraph, so whole sentences can be grepped); sets RC.
run_exercise() {
    EX_REPORT_WIDTH=100000 run_capture "$TEST_TMP/report" "$TEST_TMP/err" "$RUN" "$@"
}

# assert_exercise_passes N: exit 0, PASS, and not one WRONG.
assert_exercise_passes() {
    run_exercise "$1"
    local report
    report="$(cat "$TEST_TMP/report" "$TEST_TMP/err")"
    assertEquals "exit status of run $1: $report" 0 "$RC"
    grep -Eq -- "^PASS: $(tmsg_re ex.pass "$1-[a-z0-9-]+")\$" "$TEST_TMP/report"
    assertTrue "PASS in the report: $report" $?
    assertFalse "no WRONG in the report: $report" "grep -q 'WRONG' '$TEST_TMP/report'"
}

# assert_exercise_fails_saying N PHRASE...: exit 1, NOT YET, and every
# PHRASE (fixed strings) in a WRONG paragraph or its "do:" line.  The
# phrases are English: in another language (TUNA_TEST_LANG) the report must
# say the same in its own words: an English run of the same check gives the
# same "do:" lines and the same number of WRONG paragraphs, none of them
# word for word in English, and the phrases are looked for there.
assert_exercise_fails_saying() {
    local n=$1 phrase report english=$TEST_TMP/report
    shift
    run_exercise "$n"
    report="$(cat "$TEST_TMP/report" "$TEST_TMP/err")"
    assertEquals "exit status of run $n: $report" 1 "$RC"
    assertTrue "NOT YET in the report: $report" "grep -q '^NOT YET: ' '$TEST_TMP/report'"
    if [ "$TUNA_LANG" != en ]; then
        cp "$TEST_TMP/report" "$TEST_TMP/report.lang"
        english=$TEST_TMP/report.en
        EX_REPORT_WIDTH=100000 TUNA_LANG=en run_capture "$english" "$TEST_TMP/err.en" "$RUN" "$n"
        assertEquals "the same do: lines in $TUNA_LANG and in English: $report" \
            "$(grep '^     do: ' "$english")" "$(grep '^     do: ' "$TEST_TMP/report.lang")"
        assertEquals "as many WRONG paragraphs in $TUNA_LANG as in English: $report" \
            "$(grep -c '^  WRONG: ' "$english")" "$(grep -c '^  WRONG: ' "$TEST_TMP/report.lang")"
        grep '^  WRONG: ' "$TEST_TMP/report.lang" | grep -qxFf - "$english"
        assertFalse "the WRONG paragraphs are translated: $report" $?
        cp "$TEST_TMP/report.lang" "$TEST_TMP/report"
    fi
    for phrase in "$@"; do
        grep -E '^  WRONG: |^     do: ' "$english" | grep -qF -- "$phrase"
        assertTrue "the report says \"$phrase\": $(cat "$english")" $?
    done
}

# wait_until CMD...: up to 5 s for CMD to succeed.
wait_until() {
    local i
    for ((i = 0; i < WAIT_STEPS; i++)); do
        "$@" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# child_of PID: the first child of PID (unshare --fork's), once it exists.
child_of() {
    local children
    wait_until has_children "$1" || return 1
    read -r children _ <"/proc/$1/task/$1/children"
    echo "$children"
}

# has_children PID (read anew at each call of wait_until)
has_children() {
    [ -n "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ]
}

# stop_process PID: kill a background process of this suite and reap it.
stop_process() {
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# kill_process PID: kill a process that is not this suite's child (the
# container's PID 1, whose death ends its PID namespace) and wait until it
# is gone.
kill_process() {
    kill -KILL "$1" 2>/dev/null
    wait_until is_gone "$1"
}

# is_gone PID: no such process, or only its zombie left.
is_gone() {
    [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# remove_cgroup DIR: rmdir, retried while its last processes finish dying.
remove_cgroup() {
    wait_until rmdir "$1" || rmdir "$1"
}

# The cgroup exercises are tested in the machine's own mode: CGROUP_MODE and
# cgroup_file CONTROLLER GROUP FILE come from tests/lib.sh.

# make_cgroup NAME [CONTROLLERS]: PARENT/CHILD with the post's commands,
# removed at tearDown.  v1: mkdir in the cpu and the memory hierarchy.  v2:
# one mkdir each, the parent handing CONTROLLERS (default "cpu memory") down
# in its cgroup.subtree_control, and the root handing cpu and memory down
# (systemd switches on only what its units use).
make_cgroup() {
    local controller c want=${2:-cpu memory} enable=''
    if [ "$CGROUP_MODE" = v2 ]; then
        for c in cpu memory; do
            grep -qw $c "$CGROUP_ROOT/cgroup.subtree_control" ||
                echo "+$c" >"$CGROUP_ROOT/cgroup.subtree_control" || return 1
        done
        for c in $want; do enable="$enable +$c"; done
        mkdir "$CGROUP_ROOT/${1%/*}" || return 1
        on_cleanup remove_cgroup "$CGROUP_ROOT/${1%/*}"
        echo "${enable# }" >"$CGROUP_ROOT/${1%/*}/cgroup.subtree_control" || return 1
        mkdir "$CGROUP_ROOT/$1" || return 1
        on_cleanup remove_cgroup "$CGROUP_ROOT/$1"
        return 0
    fi
    for controller in $want; do
        mkdir "$CGROUP_V1/$controller/${1%/*}" || return 1
        on_cleanup remove_cgroup "$CGROUP_V1/$controller/${1%/*}"
        mkdir "$CGROUP_V1/$controller/$1" || return 1
        on_cleanup remove_cgroup "$CGROUP_V1/$controller/$1"
    done
}

# require_cgroups: root, and the cpu and memory controllers where this
# machine keeps them (v2: offered by cgroup2; v1: their hierarchies).
require_cgroups() {
    require_root || return 1
    if [ "$CGROUP_MODE" = v2 ]; then
        require_feature "cpu and memory in $CGROUP_ROOT/cgroup.controllers" \
            sh -c "grep -qw cpu '$CGROUP_ROOT/cgroup.controllers' &&
                grep -qw memory '$CGROUP_ROOT/cgroup.controllers'"
    else
        require_feature "cgroup v1 cpu and memory hierarchies (or cgroup v2)" \
            test -f "$CGROUP_V1/cpu/cpu.cfs_quota_us" -a -f "$CGROUP_V1/memory/memory.limit_in_bytes"
    fi
}

# no_cpu_limit: what the quota file reads when the group has none.
no_cpu_limit() {
    if [ "$CGROUP_MODE" = v2 ]; then echo "max 100000"; else echo -1; fi
}

# quota_file: where the CPU quota is written.
quota_file() {
    if [ "$CGROUP_MODE" = v2 ]; then echo cpu.max; else echo cpu.cfs_quota_us; fi
}

# memory_limit_file: where the memory limit is written.
memory_limit_file() {
    if [ "$CGROUP_MODE" = v2 ]; then echo memory.max; else echo memory.limit_in_bytes; fi
}

# --- the runner --------------------------------------------------------------------------------

test_run_rejects_an_unknown_exercise() {
    local bad
    for bad in 8 00 abc 1x ''; do
        run_exercise "$bad"
        assertEquals "exit status of run '$bad'" 2 "$RC"
        assertTrue "run '$bad' says why on stderr" "grep -q '^run: ' '$TEST_TMP/err'"
    done
    run_exercise 01 --bogus
    assertEquals "exit status of run 01 --bogus" 2 "$RC"
}

test_run_as_a_user_exits_2_and_says_run_it_as_root() {
    require_root || return 0
    local n
    for n in 02 03 04 05 06; do
        EX_REPORT_WIDTH=100000 run_capture "$TEST_TMP/report" "$TEST_TMP/err" \
            setpriv --reuid=65534 --regid=65534 --clear-groups "$RUN" "$n"
        assertEquals "exit status of run $n as nobody" 2 "$RC"
        grep -qF "$(tmsg ex.need_root)" "$TEST_TMP/report"
        assertTrue "run $n as nobody says why: $(cat "$TEST_TMP/report")" $?
    done
}

test_run_prints_every_task_and_the_readme_has_it() {
    local n title prefix readme
    for n in 01 02 03 03b 04 05 05b 06 07 07b; do
        run_exercise "$n" --task
        assertEquals "exit status of run $n --task" 0 "$RC"
        title=$(head -n 1 "$TEST_TMP/report")
        prefix=$(tmsg ex.task_title "$n" '')
        assertEquals "task $n starts with its title: $title" "$prefix" "${title:0:${#prefix}}"
        grep -q "make exercise N=$n" "$TEST_TMP/report"
        assertTrue "task $n says how to check it" $?
        # The README in the language, where there is one.
        readme=$TUNA_ROOT/labs/exercises/README.md
        [ "$TUNA_LANG" = en ] || readme=$TUNA_ROOT/docs/$TUNA_LANG/exercises.md
        if [ -f "$readme" ]; then
            grep -qxF -- "## $title" "$readme"
            assertTrue "${readme#"$TUNA_ROOT"/} has the title of $n as a heading: $title" $?
        fi
    done
    run_exercise 1 --task
    prefix=$(tmsg ex.task_title 01 '')
    title=$(head -n 1 "$TEST_TMP/report")
    assertEquals "run 1 is run 01" "$prefix" "${title:0:${#prefix}}"
}

# --- 01: a cgroup with 20% CPU and 200M memory ------------------------------------------------------

# The right answer: v2 cpu.max "20000 100000" and memory.max 200M; v1
# cpu.cfs_quota_us 20000 (period 100000) and memory.limit_in_bytes 200M.
test_01_passes_with_quota_20000_and_200M() {
    require_cgroups || return 0
    local cg
    cg=$(unique_name tex)/student
    make_cgroup "$cg" || fail "mkdir $cg"
    if [ "$CGROUP_MODE" = v2 ]; then
        echo "20000 100000" >"$CGROUP_ROOT/$cg/cpu.max"
    else
        echo 20000 >"$CGROUP_V1/cpu/$cg/cpu.cfs_quota_us"
    fi
    echo 200M >"$(cgroup_file memory "$cg" "$(memory_limit_file)")"
    EX_CGROUP=$cg assert_exercise_passes 01
    grep -qF -- "$(tmsg lib.cpu_ok "$(quota_file)" 20000 100000 20)" "$TEST_TMP/report"
    assertTrue "the report names the files: $(cat "$TEST_TMP/report")" $?
}

# The post's "20" (as cpu.cfs_quota_us, or as cpu.max "20 100000" on v2):
# the kernel refuses it and the group stays unlimited.
test_01_the_posts_echo_20_fails_and_says_microseconds() {
    require_cgroups || return 0
    local cg file
    cg=$(unique_name tex)/student
    make_cgroup "$cg" || fail "mkdir $cg"
    file=$(cgroup_file cpu "$cg" "$(quota_file)")
    if [ "$CGROUP_MODE" = v2 ]; then
        { echo "20 100000" >"$file"; } 2>/dev/null
    else
        { echo 20 >"$file"; } 2>/dev/null
    fi
    assertEquals "the kernel kept no limit" "$(no_cpu_limit)" "$(cat "$file")"
    echo 200M >"$(cgroup_file memory "$cg" "$(memory_limit_file)")"
    if [ "$CGROUP_MODE" = v2 ]; then
        EX_CGROUP=$cg assert_exercise_fails_saying 01 \
            'cpu.max is "max 100000" (no limit)' "Invalid argument" \
            "the quota is in microseconds per period and the minimum is 1000" \
            "echo 20000 > $file"
    else
        EX_CGROUP=$cg assert_exercise_fails_saying 01 \
            "cpu.cfs_quota_us is -1 (no limit)" "Invalid argument" \
            "the quota is in microseconds per period and the minimum is 1000" \
            "echo 20000 > $file"
    fi
}

test_01_a_2_percent_quota_fails_and_says_quota_over_period() {
    require_cgroups || return 0
    local cg file
    cg=$(unique_name tex)/student
    make_cgroup "$cg" || fail "mkdir $cg"
    file=$(cgroup_file cpu "$cg" "$(quota_file)")
    echo 2000 >"$file"
    echo 200M >"$(cgroup_file memory "$cg" "$(memory_limit_file)")"
    EX_CGROUP=$cg assert_exercise_fails_saying 01 \
        "the quota is 2000 µs every 100000 µs period" "that is 2.0% of one CPU, not 20%" \
        "echo 20000 > $file"
}

test_01_a_decimal_200MB_fails_and_says_mebibytes() {
    require_cgroups || return 0
    local cg
    cg=$(unique_name tex)/student
    make_cgroup "$cg" || fail "mkdir $cg"
    echo 20000 >"$(cgroup_file cpu "$cg" "$(quota_file)")"
    echo 200000000 >"$(cgroup_file memory "$cg" "$(memory_limit_file)")"
    EX_CGROUP=$cg assert_exercise_fails_saying 01 \
        "200 MB in powers of ten" "200 * 1024 * 1024 = 209715200" \
        "echo 200M > $(cgroup_file memory "$cg" "$(memory_limit_file)")"
}

# The memory controller forgotten: v1, its own tree has no such group; v2,
# the parent does not hand memory down, so the group has no memory.max.
test_01_a_group_without_the_memory_controller_fails_and_says_how_to_add_it() {
    require_cgroups || return 0
    local parent
    parent=$(unique_name tex)
    make_cgroup "$parent/student" cpu || fail "mkdir $parent/student"
    echo 20000 >"$(cgroup_file cpu "$parent/student" "$(quota_file)")"
    if [ "$CGROUP_MODE" = v2 ]; then
        EX_CGROUP=$parent/student assert_exercise_fails_saying 01 \
            "has no memory.max: the memory controller is not enabled for this cgroup" \
            "echo +memory > $CGROUP_ROOT/$parent/cgroup.subtree_control"
    else
        EX_CGROUP=$parent/student assert_exercise_fails_saying 01 \
            "the memory controller has its own tree" \
            "mkdir -p $CGROUP_V1/memory/$parent/student"
    fi
}

# --- 02: a shell in new namespaces, PID 1, hostname tuna ---------------------------------------------

test_02_passes_with_unshare_fork_and_hostname_tuna() {
    require_root || return 0
    local unshare_pid shell
    unshare --uts --pid --mount --fork \
        sh -c "hostname tuna; : > '$TEST_TMP/ready'; exec sleep 60" &
    unshare_pid=$!
    on_cleanup stop_process "$unshare_pid"
    shell=$(child_of "$unshare_pid")
    on_cleanup kill_process "$shell"
    wait_until test -e "$TEST_TMP/ready" || fail "the shell did not start"
    EX_PID=$shell assert_exercise_passes 02
}

test_02_without_fork_fails_and_says_the_shell_is_not_pid_1() {
    require_root || return 0
    local shell
    # The post's deep dive: without --fork the shell stays in the machine's
    # PID namespace; its first child (hostname) was PID 1 and is gone.
    unshare --uts --pid --mount sh -c "hostname tuna; : > '$TEST_TMP/ready'; exec sleep 60" &
    shell=$!
    on_cleanup stop_process "$shell"
    wait_until test -e "$TEST_TMP/ready" || fail "the shell did not start"
    EX_PID=$shell assert_exercise_fails_saying 02 \
        "the shell is not PID 1" "unshare --pid without --fork" "Cannot allocate memory" \
        "unshare --uts --pid --mount --fork bash"
}

test_02_a_forgotten_hostname_fails_and_says_set_it_inside() {
    require_root || return 0
    local unshare_pid shell
    unshare --uts --pid --mount --fork sh -c ": > '$TEST_TMP/ready'; exec sleep 60" &
    unshare_pid=$!
    on_cleanup stop_process "$unshare_pid"
    shell=$(child_of "$unshare_pid")
    on_cleanup kill_process "$shell"
    wait_until test -e "$TEST_TMP/ready" || fail "the shell did not start"
    EX_PID=$shell assert_exercise_fails_saying 02 \
        "starts with a copy of the host's name" "hostname tuna"
}

# --- 03: image, read-only snapshot, writable clone ----------------------------------------------------

# make_btrfs: a small btrfs on a loop device, mounted at $TEST_TMP/store,
# with an image subvolume holding busybox.  Sets STORE.
make_btrfs() {
    local loop
    STORE=$TEST_TMP/store
    truncate -s 128M "$TEST_TMP/btrfs.img"
    mkfs.btrfs -q -f "$TEST_TMP/btrfs.img" >/dev/null 2>&1 || return 1
    loop=$(losetup --find --show "$TEST_TMP/btrfs.img") || return 1
    on_cleanup losetup -d "$loop"
    mkdir "$STORE"
    mount "$loop" "$STORE" || return 1
    on_cleanup umount "$STORE"
    mkdir "$STORE/images" "$STORE/containers"
    btrfs -q subvolume create "$STORE/images/myImage" &&
        mkdir "$STORE/images/myImage/bin" &&
        cp "$BUSYBOX" "$STORE/images/myImage/bin/"
}

test_03_passes_with_btrfs_snapshot_r_and_a_writable_snapshot() {
    require_root || return 0
    require_command mkfs.btrfs btrfs-progs || return 0
    make_btrfs || fail "the btrfs sandbox"
    btrfs -q subvolume snapshot -r "$STORE/images/myImage" "$STORE/images/myImage@v1.0"
    btrfs -q subvolume snapshot "$STORE/images/myImage@v1.0" "$STORE/containers/myContainer"
    EX_IMAGE=$STORE/images/myImage EX_CLONE=$STORE/containers/myContainer \
        assert_exercise_passes 03
    grep -qF -- "$(tmsg ex03.the_storage_is_zfs_btrfs_or_overlay.0 btrfs)" "$TEST_TMP/report"
    assertTrue "the report names btrfs" $?
}

test_03_a_snapshot_without_r_fails_and_says_it_is_writable() {
    require_root || return 0
    require_command mkfs.btrfs btrfs-progs || return 0
    make_btrfs || fail "the btrfs sandbox"
    btrfs -q subvolume snapshot "$STORE/images/myImage" "$STORE/images/myImage@v1.0"
    btrfs -q subvolume snapshot "$STORE/images/myImage@v1.0" "$STORE/containers/myContainer"
    EX_IMAGE=$STORE/images/myImage EX_CLONE=$STORE/containers/myContainer \
        assert_exercise_fails_saying 03 \
        "is writable" "without -r makes a writable snapshot" \
        "btrfs property set -ts $STORE/images/myImage@v1.0 ro true"
}

test_03_a_copied_clone_fails_and_says_it_is_not_a_snapshot() {
    require_root || return 0
    require_command mkfs.btrfs btrfs-progs || return 0
    make_btrfs || fail "the btrfs sandbox"
    btrfs -q subvolume snapshot -r "$STORE/images/myImage" "$STORE/images/myImage@v1.0"
    cp -a --reflink=never "$STORE/images/myImage@v1.0" "$STORE/containers/myContainer"
    EX_IMAGE=$STORE/images/myImage EX_CLONE=$STORE/containers/myContainer \
        assert_exercise_fails_saying 03 "is a plain directory, not a snapshot"
}

# require_zfs_up: root, ZFS of either kind (require_zfs, tests/lib.sh), and
# one that answers: OpenZFS in the kernel (nothing to start, and no zfs-fuse
# is ever started beside it), a zfs-fuse daemon that runs, or one started
# here (with its own --pidfile, as its init script runs it) and stopped at
# tearDown.
require_zfs_up() {
    require_root || return 1
    require_zfs || return 1
    zfs_answers && return 0
    zfs-fuse --pidfile "$TEST_TMP/zfs-fuse.pid" --no-kstat-mount || return 1
    on_cleanup stop_zfs_fuse "$TEST_TMP/zfs-fuse.pid"
    wait_until zpool list >/dev/null || fail "zfs-fuse did not answer"
}

# stop_zfs_fuse PIDFILE: SIGTERM the daemon started here; wait until it is
# gone (it writes its pools out first, a few seconds).
stop_zfs_fuse() {
    local pid
    pid=$(cat "$1") || return 0
    kill -TERM "$pid"
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

# destroy_zpool POOL: zpool destroy, retried while zfs-fuse says "busy" (a
# moment after a clone is made).
destroy_zpool() {
    wait_until zpool destroy "$1" || zpool destroy -f "$1"
}

# make_zfs_image: the task's zfs commands on a pool in a file, its datasets
# mounted under $TEST_TMP/zroot: an image holding busybox and its snapshot
# @v1.0.  Sets POOL and ZROOT.
make_zfs_image() {
    POOL=$(unique_name tex)
    ZROOT=$TEST_TMP/zroot
    truncate -s 256M "$TEST_TMP/zfs.img"
    zpool create -m "$ZROOT" "$POOL" "$TEST_TMP/zfs.img" || return 1
    on_cleanup destroy_zpool "$POOL"
    zfs create "$POOL/images" && zfs create "$POOL/images/myImage" &&
        mkdir "$ZROOT/images/myImage/bin" && cp "$BUSYBOX" "$ZROOT/images/myImage/bin/" &&
        zfs snapshot "$POOL/images/myImage@v1.0" && zfs create "$POOL/containers"
}

test_03_passes_with_a_zfs_snapshot_and_clone() {
    require_zfs_up || return 0
    make_zfs_image || fail "the zfs sandbox"
    zfs clone "$POOL/images/myImage@v1.0" "$POOL/containers/myContainer" || fail "zfs clone"
    EX_IMAGE=$ZROOT/images/myImage EX_CLONE=$ZROOT/containers/myContainer \
        assert_exercise_passes 03
    grep -qF -- "$(tmsg ex03.the_storage_is_zfs_btrfs_or_overlay.0 zfs)" "$TEST_TMP/report"
    assertTrue "the report names zfs" $?
    grep -qF -- "$(tmsg ex03.zfs_clone.4 "$POOL/containers/myContainer" "$POOL/images/myImage@v1.0")" "$TEST_TMP/report"
    assertTrue "the report names the clone's origin" $?
}

test_03_a_zfs_copy_instead_of_a_clone_fails_and_says_it_has_no_origin() {
    require_zfs_up || return 0
    make_zfs_image || fail "the zfs sandbox"
    if ! { zfs create "$POOL/containers/myContainer" &&
        cp -a "$ZROOT/images/myImage/." "$ZROOT/containers/myContainer/"; }; then
        fail "zfs create, cp"
    fi
    EX_IMAGE=$ZROOT/images/myImage EX_CLONE=$ZROOT/containers/myContainer \
        assert_exercise_fails_saying 03 \
        "is not a clone of $POOL/images/myImage@v1.0: its origin is '-'" \
        "zfs clone $POOL/images/myImage@v1.0 $POOL/containers/myContainer"
}

# make_overlay_dirs: image (busybox), upper, work and clone under $TEST_TMP.
make_overlay_dirs() {
    mkdir -p "$TEST_TMP/image/bin" "$TEST_TMP/upper" "$TEST_TMP/work" "$TEST_TMP/clone"
    cp "$BUSYBOX" "$TEST_TMP/image/bin/"
}

test_03_passes_with_an_overlay_clone() {
    require_root || return 0
    make_overlay_dirs
    mount -t overlay overlay \
        -o "lowerdir=$TEST_TMP/image,upperdir=$TEST_TMP/upper,workdir=$TEST_TMP/work" \
        "$TEST_TMP/clone" || fail "mount overlay"
    on_cleanup umount "$TEST_TMP/clone"
    EX_IMAGE=$TEST_TMP/image EX_CLONE=$TEST_TMP/clone assert_exercise_passes 03
    grep -qF -- "$(tmsg ex03.the_storage_is_zfs_btrfs_or_overlay.0 overlay)" "$TEST_TMP/report"
    assertTrue "the report names overlay" $?
}

test_03_the_image_as_upperdir_fails_and_says_writes_go_into_it() {
    require_root || return 0
    make_overlay_dirs
    mount -t overlay overlay \
        -o "lowerdir=$TEST_TMP/upper,upperdir=$TEST_TMP/image,workdir=$TEST_TMP/work" \
        "$TEST_TMP/clone" || fail "mount overlay"
    on_cleanup umount "$TEST_TMP/clone"
    EX_IMAGE=$TEST_TMP/image EX_CLONE=$TEST_TMP/clone assert_exercise_fails_saying 03 \
        "is the clone's upperdir: every write in the container goes into the image itself"
}

# --- 03b: a file system out of inodes with its space free -----------------------------------------

# inodes_fs KIND: a file system mounted at $INODES_DIR, as the task (ext4 on
# a loop file with 128 inodes), or a wrong one: ext4-many (mkfs's default
# inodes), tmpfs, btrfs.  Unmounted (and so its loop device freed) by cleanup.
inodes_fs() {
    INODES_DIR=$TEST_TMP/inodes-$1/mnt
    INODES_IMG=$TEST_TMP/inodes-$1/fs.img
    mkdir -p "$INODES_DIR"
    on_cleanup umount_inodes_fs "$INODES_DIR"
    case $1 in
    ext4) truncate -s 16M "$INODES_IMG" && mkfs.ext4 -q -N 128 "$INODES_IMG" ;;
    ext4-many) truncate -s 16M "$INODES_IMG" && mkfs.ext4 -q "$INODES_IMG" ;;
    btrfs) truncate -s 128M "$INODES_IMG" && mkfs.btrfs -q "$INODES_IMG" >/dev/null ;;
    tmpfs) mount -t tmpfs -o size=16M,nr_inodes=64 tmpfs "$INODES_DIR"; return ;;
    esac || fail "mkfs $1"
    mount -o loop "$INODES_IMG" "$INODES_DIR" || fail "mount -o loop $INODES_IMG"
}

umount_inodes_fs() {
    if grep -qF " $1 " /proc/self/mountinfo; then umount "$1"; fi
    return 0
}

# fill_with_empty_files DIR: touch until the kernel refuses (at most 5000).
fill_with_empty_files() {
    local i=0
    while [ $i -lt 5000 ] && touch "$1/f$i" 2>/dev/null; do i=$((i + 1)); done
}

require_inodes_tools() {
    require_root || return 1
    require_command mkfs.ext4 e2fsprogs || return 1
    require_feature "loop devices" test -e /dev/loop-control
}

test_03b_passes_with_an_ext4_of_128_inodes_full_of_empty_files() {
    require_inodes_tools || return 0
    inodes_fs ext4
    fill_with_empty_files "$INODES_DIR"
    assertEquals "statfs: no inode free" 0 "$(stat -f -c %d "$INODES_DIR")"
    EX_INODES_DIR=$INODES_DIR assert_exercise_passes 03b
    grep -Eq -- "$(tmsg_re ex03b.loop.1 '/dev/loop[0-9]+' "$INODES_IMG")" "$TEST_TMP/report"
    assertTrue "the report names the loop device and its file: $(cat "$TEST_TMP/report")" $?
    # Undo as the task says: the umount frees the loop device too.
    umount "$INODES_DIR"
    local waited=0   # LO_FLAGS_AUTOCLEAR detaches it soon after the umount
    while [ -n "$(losetup -j "$INODES_IMG")" ] && [ $waited -lt 50 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    assertEquals "no loop device left on the file" "" "$(losetup -j "$INODES_IMG")"
    assertFalse "nothing mounted there" "grep -qF ' $INODES_DIR ' /proc/self/mountinfo"
}

test_03b_nothing_mounted_fails_and_says_so() {
    require_root || return 0
    mkdir -p "$TEST_TMP/plain"
    EX_INODES_DIR=$TEST_TMP/plain assert_exercise_fails_saying 03b \
        "nothing is mounted at $TEST_TMP/plain" "mount -o loop /var/tmp/tuna-inodes.img $TEST_TMP/plain"
    assertEquals "only that is WRONG (the rest not checked)" 1 "$(grep -c '^  WRONG: ' "$TEST_TMP/report")"
}

test_03b_ext4_not_yet_full_fails_and_says_keep_making_files() {
    require_inodes_tools || return 0
    inodes_fs ext4
    touch "$INODES_DIR/a" "$INODES_DIR/b"
    EX_INODES_DIR=$INODES_DIR assert_exercise_fails_saying 03b \
        "inodes are still free (statfs f_ffree): keep making files"
    assertEquals "only the inodes are WRONG" 1 "$(grep -c '^  WRONG: ' "$TEST_TMP/report")"
}

test_03b_blocks_full_fails_and_says_the_space_ran_out_not_the_inodes() {
    require_inodes_tools || return 0
    inodes_fs ext4-many
    dd if=/dev/zero of="$INODES_DIR/big" bs=1M count=64 2>/dev/null
    assertTrue "statfs: inodes still free" "[ $(stat -f -c %d "$INODES_DIR") -gt 0 ]"
    EX_INODES_DIR=$INODES_DIR assert_exercise_fails_saying 03b \
        "the space ran out, not the inodes" "the space is used, so this ENOSPC says nothing about inodes"
}

test_03b_a_tmpfs_fails_and_says_no_loop_device() {
    require_root || return 0
    inodes_fs tmpfs
    fill_with_empty_files "$INODES_DIR"
    assertEquals "statfs: the tmpfs's inodes are used up" 0 "$(stat -f -c %d "$INODES_DIR")"
    EX_INODES_DIR=$INODES_DIR assert_exercise_fails_saying 03b \
        "not from a loop device on a file" "the file system is a tmpfs: it has no device"
}

test_03b_a_btrfs_fails_and_says_its_inodes_are_dynamic() {
    require_inodes_tools || return 0
    require_command mkfs.btrfs btrfs-progs || return 0
    require_feature "btrfs" sh -c 'grep -qw btrfs /proc/filesystems || modprobe -q btrfs' || return 0
    inodes_fs btrfs
    touch "$INODES_DIR/a"
    EX_INODES_DIR=$INODES_DIR assert_exercise_fails_saying 03b \
        "the file system is btrfs, which makes inodes as files need them (dynamic inodes)"
}

# --- 04: pivot_root, its own /proc, no old root ---------------------------------------------------

# make_rootfs: $TEST_TMP/root with a static busybox.  Sets ROOT.
make_rootfs() {
    ROOT=$TEST_TMP/root
    mkdir -p "$ROOT/bin" "$ROOT/proc" "$ROOT/oldroot"
    cp "$BUSYBOX" "$ROOT/bin/busybox"
}

# start_container SCRIPT: unshare --mount --uts --pid --fork sh -c SCRIPT in
# the background; SCRIPT ends by touching /ready (in its root).  Sets CPID.
start_container() {
    local unshare_pid
    unshare --mount --uts --pid --fork sh -c "$1" &
    unshare_pid=$!
    on_cleanup stop_process "$unshare_pid"
    CPID=$(child_of "$unshare_pid")
    on_cleanup kill_process "$CPID"
    wait_until test -e "$ROOT/ready" || fail "the container did not start"
}

test_04_passes_after_pivot_root_proc_and_umount_oldroot() {
    require_root || return 0
    make_rootfs
    start_container "mount --bind '$ROOT' '$ROOT' && cd '$ROOT' && pivot_root . oldroot &&
        exec /bin/busybox sh -c 'busybox mount -t proc proc /proc && busybox umount -l /oldroot &&
            busybox touch /ready && exec busybox sleep 60'"
    EX_PID=$CPID assert_exercise_passes 04
}

test_04_chroot_fails_and_says_it_is_chroot() {
    require_root || return 0
    make_rootfs
    start_container "mount -t proc proc '$ROOT/proc' &&
        exec chroot '$ROOT' /bin/busybox sh -c 'busybox touch /ready && exec busybox sleep 60'"
    EX_PID=$CPID assert_exercise_fails_saying 04 \
        "its root directory is $ROOT" "that is chroot" "pivot_root . oldroot"
}

test_04_a_mounted_oldroot_fails_and_says_umount_l() {
    require_root || return 0
    make_rootfs
    start_container "mount --bind '$ROOT' '$ROOT' && cd '$ROOT' && pivot_root . oldroot &&
        exec /bin/busybox sh -c 'busybox mount -t proc proc /proc &&
            busybox touch /ready && exec busybox sleep 60'"
    EX_PID=$CPID assert_exercise_fails_saying 04 \
        "the machine's root file system is still mounted at /oldroot" "umount -l /oldroot"
}

test_04_a_missing_proc_fails_and_says_mount_it() {
    require_root || return 0
    make_rootfs
    start_container "mount --bind '$ROOT' '$ROOT' && cd '$ROOT' && pivot_root . oldroot &&
        exec /bin/busybox sh -c 'busybox umount -l /oldroot &&
            busybox touch /ready && exec busybox sleep 60'"
    EX_PID=$CPID assert_exercise_fails_saying 04 \
        "there is no proc file system at /proc" "mount -t proc proc /proc"
}

# --- 05: a veth pair between the "host" namespace and the container ---------------------------------

# container_net HOST_NS [address-first] [lo-down]: a container (a process in
# a network namespace of its own) wired to HOST_NS with the post's commands.
# address-first: the container's address is put on before the move (wrong);
# lo-down: the container's lo is left down (wrong).  Sets CPID.
container_net() {
    local host_ns=$1 option address_first=0 lo_down=0
    shift
    for option in "$@"; do
        case "$option" in
        address-first) address_first=1 ;;
        lo-down) lo_down=1 ;;
        esac
    done
    unshare --net sleep 60 &
    CPID=$!
    on_cleanup stop_process "$CPID"
    wait_until has_own_netns "$CPID" || fail "the container's network namespace"
    ip -n "$host_ns" link add name "h$CPID" type veth peer name "c$CPID"
    [ "$address_first" = 1 ] && ip -n "$host_ns" addr add 172.17.0.2/16 dev "c$CPID"
    ip -n "$host_ns" link set "c$CPID" netns "$CPID"
    ip -n "$host_ns" addr add 172.17.0.1/16 dev "h$CPID"
    ip -n "$host_ns" link set dev "h$CPID" up
    # In the container, as the post types them there.
    [ "$lo_down" = 1 ] || nsenter --target "$CPID" --net ip link set dev lo up
    nsenter --target "$CPID" --net ip link set "c$CPID" name eth0 up
    [ "$address_first" = 1 ] || nsenter --target "$CPID" --net ip addr add 172.17.0.2/16 dev eth0
    nsenter --target "$CPID" --net ip route add default via 172.17.0.1 2>/dev/null
    return 0
}

# has_own_netns PID (read anew at each call of wait_until)
has_own_netns() {
    [ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

test_05_passes_with_the_posts_veth_commands() {
    require_root || return 0
    local host_ns
    host_ns=$(unique_name texh)
    netns_add "$host_ns" || fail "ip netns add"
    container_net "$host_ns"
    network_state "$host_ns" >"$TEST_TMP/before"
    EX_NETNS=$host_ns EX_PID=$CPID assert_exercise_passes 05
    network_state "$host_ns" >"$TEST_TMP/after"
    assertEquals "the checker changed nothing" "$(cat "$TEST_TMP/before")" "$(cat "$TEST_TMP/after")"
}

# network_state HOST_NS: links, addresses, routes, ruleset and ip_forward of
# HOST_NS and of the container $CPID, to show that a checker changed nothing.
network_state() {
    local ns
    for ns in "/run/netns/$1" "/proc/$CPID/ns/net"; do
        nsenter --net="$ns" ip -o link show | sed 's/ link\/.*//'
        # IPv4 only: IPv6 link-local addresses change by themselves (DAD).
        nsenter --net="$ns" ip -4 -o addr show | sed 's/valid_lft.*//'
        nsenter --net="$ns" ip -4 route show table all
        nsenter --net="$ns" nft list ruleset
        nsenter --net="$ns" cat /proc/sys/net/ipv4/ip_forward
    done
}

test_05_an_address_added_before_the_move_fails_and_says_the_move_dropped_it() {
    require_root || return 0
    local host_ns
    host_ns=$(unique_name texh)
    netns_add "$host_ns" || fail "ip netns add"
    container_net "$host_ns" address-first
    EX_NETNS=$host_ns EX_PID=$CPID assert_exercise_fails_saying 05 \
        "eth0 has no IPv4 address" "the move dropped it" \
        "ip addr add 172.17.0.2/16 dev eth0"
}

test_05_lo_left_down_fails_and_says_bring_it_up() {
    require_root || return 0
    local host_ns
    host_ns=$(unique_name texh)
    netns_add "$host_ns" || fail "ip netns add"
    container_net "$host_ns" lo-down
    EX_NETNS=$host_ns EX_PID=$CPID assert_exercise_fails_saying 05 \
        "lo is DOWN in the container" "ip link set dev lo up"
    assertEquals "only lo is wrong" 1 "$(grep -c '^  WRONG: ' "$TEST_TMP/report")"
}

test_05_a_missing_host_namespace_fails_and_says_ip_netns_add() {
    require_root || return 0
    local host_ns
    host_ns=$(unique_name texh)
    EX_NETNS=$host_ns EX_CONTAINER_NETNS=$host_ns-none assert_exercise_fails_saying 05 \
        "ip netns add $host_ns"
}

# --- 05b: two containers on one bridge ---------------------------------------------------------

# bridge_container HOST_NS ADDRESS [unplugged]: a container (a process in a
# network namespace of its own) wired to the bridge br0 of HOST_NS with the
# commands of the task; unplugged: its host end is left out of the bridge
# (wrong).  Sets CPID.
bridge_container() {
    unshare --net sleep 60 &
    CPID=$!
    on_cleanup stop_process "$CPID"
    wait_until has_own_netns "$CPID" || fail "the container's network namespace"
    ip -n "$1" link add name "h$CPID" type veth peer name "c$CPID"
    ip -n "$1" link set "c$CPID" netns "$CPID"
    if [ "${3:-}" = unplugged ]; then
        ip -n "$1" link set "h$CPID" up
    else
        ip -n "$1" link set "h$CPID" master br0 up
    fi
    nsenter --target "$CPID" --net ip link set dev lo up
    nsenter --target "$CPID" --net ip link set "c$CPID" name eth0 up
    nsenter --target "$CPID" --net ip addr add "$2/16" dev eth0
}

# bridge_host NS: the host namespace with br0 up, 172.17.0.1/16 on it.
bridge_host() {
    netns_add "$1" || return 1
    ip -n "$1" link add name br0 type bridge &&
        ip -n "$1" addr add 172.17.0.1/16 dev br0 &&
        ip -n "$1" link set br0 up
}

test_05b_passes_with_two_containers_on_a_bridge_that_pinged() {
    require_root || return 0
    local host_ns a b
    host_ns=$(unique_name texb)
    bridge_host "$host_ns" || fail "the bridge"
    bridge_container "$host_ns" 172.17.0.2
    a=$CPID
    bridge_container "$host_ns" 172.17.0.3
    b=$CPID
    # A port starts in the "forwarding" state at once (STP is off), but the
    # first frames may race the link coming up: retry the ping.
    wait_until nsenter --target "$a" --net ping -c 1 -W 1 172.17.0.3 >/dev/null ||
        fail "the first container cannot ping the second through br0"
    EX_NETNS=$host_ns EX_PIDS="$a $b" assert_exercise_passes 05b
    local mac
    mac=$(nsenter --target "$b" --net ip -j link show dev eth0 | jq -r '.[0].address')
    grep -Eq -- "$(tmsg_re ex05b.talk.1 '172[.]17[.]0[.]3' "$mac" '[A-Z,]+')" "$TEST_TMP/report"
    assertTrue "the report names the second's MAC, $mac" $?
}

test_05b_a_host_end_left_out_of_the_bridge_fails_and_says_master() {
    require_root || return 0
    local host_ns a b
    host_ns=$(unique_name texb)
    bridge_host "$host_ns" || fail "the bridge"
    bridge_container "$host_ns" 172.17.0.2
    a=$CPID
    bridge_container "$host_ns" 172.17.0.3 unplugged
    b=$CPID
    nsenter --target "$a" --net ping -c 1 -W 1 172.17.0.3 >/dev/null 2>&1 &&
        fail "the ping crossed a bridge the second container is not plugged into"
    EX_NETNS=$host_ns EX_PIDS="$a $b" assert_exercise_fails_saying 05b \
        "h$b, is not a port of br0" "ip -n $host_ns link set h$b master br0 up"
    assertEquals "only the second container is wrong" 1 "$(grep -c '^  WRONG: ' "$TEST_TMP/report")"
}

# --- 06: forwarding and a masquerade in the "host" namespace -----------------------------------------

# nat_with_nft NS: the masquerade, made with nft.
nat_with_nft() {
    ip netns exec "$1" nft add table ip nat &&
        ip netns exec "$1" nft add chain ip nat postrouting \
            '{ type nat hook postrouting priority srcnat; }' &&
        ip netns exec "$1" nft add rule ip nat postrouting ip saddr 172.17.0.0/16 masquerade
}

test_06_passes_with_ip_forward_and_an_nft_masquerade() {
    require_root || return 0
    local host_ns
    host_ns=$(unique_name texn)
    netns_add "$host_ns" || fail "ip netns add"
    ip netns exec "$host_ns" sysctl -qw net.ipv4.ip_forward=1
    nat_with_nft "$host_ns" || fail "nft"
    EX_NETNS=$host_ns assert_exercise_passes 06
}

test_06_passes_with_the_posts_iptables_command() {
    require_root || return 0
    require_command iptables || return 0
    local host_ns
    host_ns=$(unique_name texn)
    netns_add "$host_ns" || fail "ip netns add"
    ip netns exec "$host_ns" sysctl -qw net.ipv4.ip_forward=1
    # The post's command, with its 172.17.0.1/16 (iptables masks it).
    ip netns exec "$host_ns" iptables -t nat -A POSTROUTING -s 172.17.0.1/16 -j MASQUERADE ||
        fail "iptables"
    EX_NETNS=$host_ns assert_exercise_passes 06
}

test_06_ip_forward_left_at_0_fails_and_says_it_is_per_namespace() {
    require_root || return 0
    local host_ns
    host_ns=$(unique_name texn)
    netns_add "$host_ns" || fail "ip netns add"
    nat_with_nft "$host_ns" || fail "nft"
    EX_NETNS=$host_ns assert_exercise_fails_saying 06 \
        "net.ipv4.ip_forward is 0 in $host_ns" "per network namespace" \
        "ip netns exec $host_ns sysctl -w net.ipv4.ip_forward=1"
    assertEquals "only ip_forward is wrong" 1 "$(grep -c '^  WRONG: ' "$TEST_TMP/report")"
}

test_06_no_rule_fails_and_says_where_the_command_went() {
    require_root || return 0
    local host_ns
    host_ns=$(unique_name texn)
    netns_add "$host_ns" || fail "ip netns add"
    ip netns exec "$host_ns" sysctl -qw net.ipv4.ip_forward=1
    EX_NETNS=$host_ns assert_exercise_fails_saying 06 \
        "has no nat chain on the postrouting hook" "without \`ip netns exec $host_ns\`"
}

# --- 07: the hog held at 20% --------------------------------------------------------------------

# start_hog CGROUP: bin/07-stress -c 1 started from a shell inside CGROUP
# (v2 cgroup.procs, v1 the cpu tree's tasks), as the task says; returns once
# its worker is in the cgroup.
start_hog() {
    local members hog
    members=$(cgroup_file cpu "$1" tasks)
    [ "$CGROUP_MODE" = v2 ] && members=$(cgroup_file cpu "$1" cgroup.procs)
    [ -x "$TUNA_BIN/07-stress" ] || fail "no $TUNA_BIN/07-stress: build it (make bin/07-stress)"
    sh -c "echo \$\$ > '$members' && exec '$TUNA_BIN/07-stress' -q -c 1 -t ${HOG_SECONDS}s" &
    hog=$!
    on_cleanup stop_process "$hog"
    # The parent and its one worker: two tasks (two processes).
    wait_until at_least_two_lines "$members" || fail "the hog did not start in $1"
}

# at_least_two_lines FILE (read anew at each call of wait_until)
at_least_two_lines() {
    [ "$(wc -l <"$1")" -ge 2 ]
}

test_07_passes_while_a_hog_runs_under_quota_20000() {
    require_cgroups || return 0
    local cg
    cg=$(unique_name tex)/student
    make_cgroup "$cg" || fail "mkdir $cg"
    echo 20000 >"$(cgroup_file cpu "$cg" "$(quota_file)")"
    start_hog "$cg"
    EX_CGROUP=$cg assert_exercise_passes 07
    grep -Eq -- "$(tmsg_re ex07.the_hog_is_held_at_20_percent.5 '[0-9.]+' 20 '[0-9.]+' '[1-9][0-9]*')" "$TEST_TMP/report"
    assertTrue "the report gives the share and the throttling" $?
}

test_07_the_posts_echo_20_fails_and_says_the_limit_does_not_hold() {
    require_cgroups || return 0
    local cg file
    cg=$(unique_name tex)/student
    make_cgroup "$cg" || fail "mkdir $cg"
    file=$(cgroup_file cpu "$cg" "$(quota_file)")
    { echo 20 >"$file"; } 2>/dev/null
    assertEquals "the kernel kept no limit" "$(no_cpu_limit)" "$(cat "$file")"
    start_hog "$cg"
    local unlimited="cpu.cfs_quota_us is -1 (no limit)"
    [ "$CGROUP_MODE" = v2 ] && unlimited='cpu.max is "max 100000" (no limit)'
    EX_CGROUP=$cg assert_exercise_fails_saying 07 \
        "$unlimited" "the 20% limit does not hold" \
        "The cgroup has no CPU limit at all"
    grep -Eq -- "$(tmsg_re ex07.the_hog_is_held_at_20_percent.2 '[0-9.]+' '[0-9.]+' 0 20 '.*')" "$TEST_TMP/report"
    assertTrue "the report says it was not throttled" $?
}

test_07_an_empty_cgroup_fails_and_says_start_the_hog_inside() {
    require_cgroups || return 0
    local cg members=tasks
    [ "$CGROUP_MODE" = v2 ] && members=cgroup.procs
    cg=$(unique_name tex)/student
    make_cgroup "$cg" || fail "mkdir $cg"
    echo 20000 >"$(cgroup_file cpu "$cg" "$(quota_file)")"
    EX_CGROUP=$cg assert_exercise_fails_saying 07 \
        "no process is in the cgroup" "its children start where it is" \
        "echo \$\$ > $(cgroup_file cpu "$cg" "$members")"
}

# --- 07b: the memory hog killed at 200M -----------------------------------------------------------

# memory_group LIMIT: a cgroup with only the memory controller, its limit
# LIMIT (bytes, as written), no swap for it where the file exists.  Sets CG.
memory_group() {
    CG=$(unique_name tex)/oom
    make_cgroup "$CG" memory || fail "mkdir $CG"
    echo "$1" >"$(cgroup_file memory "$CG" "$(memory_limit_file)")" || fail "the limit"
    if [ "$CGROUP_MODE" = v2 ] && [ -f "$(cgroup_file memory "$CG" memory.swap.max)" ]; then
        echo 0 >"$(cgroup_file memory "$CG" memory.swap.max)"
    fi
    return 0
}

# oom_hog GROUP: a 250M hog started from a shell inside GROUP, as the task
# says; returns once it has ended (killed).  Sets HOG_RC.
oom_hog() {
    [ -x "$TUNA_BIN/07-stress" ] || fail "no $TUNA_BIN/07-stress: build it (make bin/07-stress)"
    HOG_RC=0
    sh -c "echo \$\$ > '$(cgroup_file memory "$1" cgroup.procs)' &&
        exec '$TUNA_BIN/07-stress' -q -m 1 --vm-bytes 250M --vm-keep -t 20s" >/dev/null 2>&1 || HOG_RC=$?
}

test_07b_passes_after_a_250M_hog_is_killed_under_200M() {
    require_cgroups || return 0
    memory_group 209715200
    oom_hog "$CG"
    assertEquals "07-stress exit status: its worker was killed" 1 "$HOG_RC"
    local events=memory.oom_control
    [ "$CGROUP_MODE" = v2 ] && events=memory.events
    assertTrue "the kernel counted the kill in $events" \
        "grep -Eq '^oom_kill [1-9]' '$(cgroup_file memory "$CG" "$events")'"
    EX_CGROUP=$CG assert_exercise_passes 07b
    grep -Eq -- "$(tmsg_re ex07b.oom.1 "$events" '[1-9][0-9]*' '[1-9][0-9]*')" "$TEST_TMP/report"
    assertTrue "the report gives the kernel's count" $?
    grep -Eq -- "$(tmsg_re ex07b.peak.2 '[a-z_.]+' '[0-9]+' '[0-9.]+' 209715200 207618048 209715200 209715200)" \
        "$TEST_TMP/report"
    assertTrue "the report explains the threshold: 198M is 207618048 bytes, 200M 209715200" $?
}

test_07b_a_decimal_200MB_fails_and_says_powers_of_ten() {
    require_cgroups || return 0
    memory_group 200000000
    oom_hog "$CG"
    EX_CGROUP=$CG assert_exercise_fails_saying 07b \
        "you wrote 200000000 (200 MB in powers of ten)" \
        "200 * 1024 * 1024 = 209715200 bytes" \
        "echo 200M > $(cgroup_file memory "$CG" "$(memory_limit_file)")"
    assertEquals "only the limit is wrong" 1 "$(grep -c '^  WRONG: ' "$TEST_TMP/report")"
}

test_07b_no_hog_yet_fails_and_says_run_one_inside() {
    require_cgroups || return 0
    memory_group 209715200
    EX_CGROUP=$CG assert_exercise_fails_saying 07b \
        "oom_kill is 0: no process of the group has been killed for memory yet" \
        "echo \$\$ > $(cgroup_file memory "$CG" cgroup.procs); stress --vm 1 --vm-bytes 250M -t 10s"
}

. "$SHUNIT2"

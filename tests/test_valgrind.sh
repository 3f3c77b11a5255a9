#!/usr/bin/env bash
# tests/test_valgrind.sh - every tool's normal path under valgrind's
# memcheck: no invalid read or write, no use of an uninitialised value, no
# definitely lost block (valgrind --error-exitcode).
#
# Memcheck needs to see malloc and the string functions: in a static binary
# they are glibc's own copies, which valgrind cannot replace, and it reports
# hundreds of false "uninitialised value" errors inside glibc.  So this suite
# builds the same sources dynamically (gcc -g -O1, no -static) into
# build/valgrind/ and runs those.  Each test also checks what the kernel shows,
# so a tool that did nothing cannot pass.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

VG_BIN=$TUNA_ROOT/build/valgrind
# A distinct status for "valgrind found an error", apart from the tool's own.
VG_ERROR=99
# mount(2) with a NULL type (bind, propagation): allowed, see the file.
VG_OPTS=(-q "--error-exitcode=$VG_ERROR" --vgdb=no --leak-check=full
         --errors-for-leak-kinds=definite --show-leak-kinds=definite
         --suppressions="$TUNA_ROOT/tests/valgrind.supp")

suite_setup() {
    local step name
    command -v valgrind >/dev/null 2>&1 || return 0
    mkdir -p "$VG_BIN"
    for step in "$TUNA_ROOT"/steps/[0-9][0-9]-*/; do
        name=$(basename "$step")
        gcc -std=gnu11 -g -O1 -I"$TUNA_ROOT/common" -o "$VG_BIN/$name" \
            "$step"*.c "$TUNA_ROOT"/common/*.c -lm || echo "cannot build $name" >&2
    done
}

# vg TOOL ARGS...: TOOL under memcheck; RC is its status, or 99 for an error.
vg() {
    local tool=$1
    shift
    RC=0
    valgrind "${VG_OPTS[@]}" --log-file="$TEST_TMP/vg.$tool.%p" "$VG_BIN/$tool" "$@" ||
        RC=$?
}

# assert_clean WHAT: the last vg run exited 0 and memcheck wrote nothing.
assert_clean() {
    assertEquals "$1: status (memcheck: $(cat "$TEST_TMP"/vg.* 2>/dev/null | head -20))" 0 "$RC"
    assertEquals "$1: memcheck's report" "" "$(cat "$TEST_TMP"/vg.* 2>/dev/null)"
    rm -f "$TEST_TMP"/vg.*
}

require_valgrind() {
    require_root || return 1
    require_command valgrind || return 1
    [ -x "$VG_BIN/07-stress" ] || skip_test "the dynamic build in $VG_BIN failed"
}

test_01_cgroup_under_memcheck() {
    require_valgrind || return 0
    local name
    name=$(unique_name vg)
    vg 01-cgroup info --json >"$TEST_TMP/info"; assert_clean "info --json"
    assertTrue "info is JSON" "jq -e . '$TEST_TMP/info' >/dev/null"
    on_cleanup "$TUNA_BIN/01-cgroup" delete --kill "$name"
    vg 01-cgroup create "$name" --cpu 20% --memory 64M --pids 20; assert_clean create
    assertEquals "quota written" 20000 "$(cat "/sys/fs/cgroup/cpu/$name/cpu.cfs_quota_us")"
    vg 01-cgroup set "$name" --memory 32M; assert_clean set
    assertEquals "memory limit" 33554432 \
        "$(cat "/sys/fs/cgroup/memory/$name/memory.limit_in_bytes")"
    local member
    sleep 60 &
    member=$!
    disown "$member"
    on_cleanup kill -KILL "$member"
    vg 01-cgroup add "$name" "$member"; assert_clean add
    assertTrue "moved" "grep -qx $member /sys/fs/cgroup/pids/$name/cgroup.procs"
    vg 01-cgroup stat "$name" --json >"$TEST_TMP/stat"; assert_clean "stat --json"
    assertTrue "stat lists the member" "jq -e '.. | numbers | select(. == $member)' '$TEST_TMP/stat' >/dev/null"
    vg 01-cgroup exec "$name" -- true; assert_clean exec
    vg 01-cgroup delete --kill "$name"; assert_clean "delete --kill"
    assertFalse "group gone" "[ -d /sys/fs/cgroup/pids/$name ]"
}

test_02_unshare_under_memcheck() {
    require_valgrind || return 0
    vg 02-unshare --show >"$TEST_TMP/show"; assert_clean --show
    assertTrue "lists the net namespace" "grep -q 'net' '$TEST_TMP/show'"
    vg 02-unshare --mount --uts --ipc --net --pid --fork --hostname tuna \
        --mount-proc -- sh -c 'hostname; echo $$' >"$TEST_TMP/out"
    assert_clean "unshare --fork"
    assertEquals "hostname and PID 1 inside" "tuna 1" "$(tr '\n' ' ' <"$TEST_TMP/out" | sed 's/ $//')"
}

test_03_zfs_image_under_memcheck() {
    require_valgrind || return 0
    local -a o=(--backend overlay --store "$TEST_TMP/store")
    vg 03-zfs-image "${o[@]}" pool create; assert_clean "pool create"
    on_cleanup "$TUNA_BIN/03-zfs-image" "${o[@]}" pool destroy
    vg 03-zfs-image "${o[@]}" image create img; assert_clean "image create"
    vg 03-zfs-image "${o[@]}" image populate img --busybox; assert_clean "image populate"
    vg 03-zfs-image "${o[@]}" snapshot img@v1; assert_clean snapshot
    vg 03-zfs-image "${o[@]}" clone img@v1 ctr; assert_clean clone
    assertTrue "the clone is an overlay mount" \
        "awk '\$5 == \"$TEST_TMP/store/containers/ctr\"' /proc/self/mountinfo | grep -q overlay"
    vg 03-zfs-image "${o[@]}" list --json >"$TEST_TMP/list"; assert_clean "list --json"
    assertEquals "three objects" 3 "$(jq length "$TEST_TMP/list")"
    vg 03-zfs-image "${o[@]}" destroy ctr; assert_clean destroy
    vg 03-zfs-image "${o[@]}" pool destroy; assert_clean "pool destroy"
    assertFalse "the store is gone" "[ -e '$TEST_TMP/store/images' ]"
}

test_04_pivot_under_memcheck() {
    require_valgrind || return 0
    require_command busybox busybox-static || return 0
    local root=$TEST_TMP/root
    mkdir -p "$root/bin" "$root/proc"
    cp "$(command -v busybox)" "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    ln -s busybox "$root/bin/cat"
    # valgrind starts before the pivot, so it has its own files; the
    # command after exec runs natively (no --trace-children).
    RC=0
    # The dynamic 02-unshare too: an ASan one (make sanitize) would run
    # LeakSanitizer as PID 1 of the new namespace, which it cannot do.
    "$VG_BIN/02-unshare" --mount --pid --fork -- valgrind "${VG_OPTS[@]}" \
        --log-file="$TEST_TMP/vg.04-pivot" "$VG_BIN/04-pivot" "$root" -- \
        sh -c 'cat /proc/self/mountinfo' >"$TEST_TMP/out" || RC=$?
    assert_clean "04-pivot"
    assertEquals "mounts inside" "/ /proc" \
        "$(awk '{print $5}' "$TEST_TMP/out" | tr '\n' ' ' | sed 's/ $//')"
}

test_05_veth_and_06_nat_under_memcheck() {
    require_valgrind || return 0
    local ns cpid
    ns=$(unique_name vgn)
    netns_add "$ns"
    ip netns exec "$ns" "$TUNA_BIN/02-unshare" --net --pidfile "$TEST_TMP/cpid" \
        -- sleep 600 >/dev/null 2>&1 &
    on_cleanup kill -KILL $!
    for _ in $(seq 100); do [ -s "$TEST_TMP/cpid" ] && break; sleep 0.05; done
    cpid=$(cat "$TEST_TMP/cpid")
    RC=0
    ip netns exec "$ns" valgrind "${VG_OPTS[@]}" --log-file="$TEST_TMP/vg.05" \
        "$VG_BIN/05-veth" add --pid "$cpid" --host-addr 10.9.0.1/24 \
        --container-addr 10.9.0.2/24 --gateway 10.9.0.1 || RC=$?
    assert_clean "05-veth add"
    assertEquals "container address" 10.9.0.2 \
        "$(nsenter --target "$cpid" --net ip -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family == "inet") | .local')"
    ip netns exec "$ns" valgrind "${VG_OPTS[@]}" --log-file="$TEST_TMP/vg.05s" \
        "$VG_BIN/05-veth" show --pid "$cpid" --json >"$TEST_TMP/show" || RC=$?
    assert_clean "05-veth show --json"
    assertTrue "show is JSON" "jq -e . '$TEST_TMP/show' >/dev/null"
    for args in "enable --source 10.9.0.0/24" "show --json" "disable"; do
        # shellcheck disable=SC2086  # the words of one command
        ip netns exec "$ns" valgrind "${VG_OPTS[@]}" --log-file="$TEST_TMP/vg.06" \
            "$VG_BIN/06-nat" $args >"$TEST_TMP/nat" || RC=$?
        assert_clean "06-nat $args"
        if [ "$args" = "show --json" ]; then
            assertTrue "nat show is JSON" "jq -e . '$TEST_TMP/nat' >/dev/null"
        fi
    done
    assertEquals "no table after disable" "" "$(ip netns exec "$ns" nft list tables)"
    ip netns exec "$ns" valgrind "${VG_OPTS[@]}" --log-file="$TEST_TMP/vg.05d" \
        "$VG_BIN/05-veth" del --pid "$cpid" || RC=$?
    assert_clean "05-veth del"
    assertEquals "no veth left" "" "$(ip -n "$ns" -o link show type veth)"
}

test_07_stress_under_memcheck() {
    require_valgrind || return 0
    vg 07-stress --cpu 1 --vm 1 --vm-bytes 8M --timeout 2s >"$TEST_TMP/out"
    assert_clean "07-stress"
    assertTrue "dispatch line" "grep -q 'dispatching hogs: 1 cpu, 0 io, 1 vm, 0 hdd' '$TEST_TMP/out'"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_bad_input.sh - every tool, fed what a tired student types:
# empty, junk, trailing garbage, negative, overflow, too long, path
# traversal ("..", absolute paths, '/' in names), a PID that does not exist,
# a CIDR with host bits, unknown backends and subcommands.
#
# One table per tool (at least 10 rows each).  Each row asserts:
#   - the exit status: 2 for bad usage, 1 for a refusal (the object is
#     missing), the command's 127 where a tool runs one (02, 04);
#   - exactly one line on stderr, starting with the tool's name (a refusal
#     may add the tool's "hint: " lines, as the design allows for pitfalls);
#   - no signal exit (the status is compared exactly, so 128+N fails);
#   - nothing left behind: the state a bad run could touch is snapshotted
#     before and after each row and must be identical (cgroup directories,
#     files and mounts with this run's tag, loop devices on them, zfs
#     datasets, and, for 05-veth and 06-nat, which always run inside a
#     scratch network namespace: its links, addresses, nft ruleset and
#     ip_forward; plus the names of the machine's own links).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# Every name a row uses carries TAG, so anything a bad run made is found.
TAG=
SCRATCH=
NETNS=
DEAD_PID=
CASES=0

suite_setup() {
    TAG=$(unique_name bad)
    SCRATCH=$(mktemp -d "/tmp/tuna-bad-$TAG.XXXXXX")
    # A PID that surely does not exist: a child that has exited and been reaped.
    DEAD_PID=$(sh -c 'echo $$')
    if [ "$(id -u)" = 0 ]; then
        NETNS=$TAG
        ip netns add "$NETNS" && ip -n "$NETNS" link set lo up
    fi
}

suite_teardown() {
    [ -n "$NETNS" ] && ip netns delete "$NETNS" 2>/dev/null
    rm -rf "$SCRATCH"
    echo "test_bad_input: $CASES bad-input cases checked"
}

# --- the state a bad run could leave behind -------------------------------

# state_snapshot TOOL: what a bad run of TOOL could leave behind.
state_snapshot() {
    echo "## files named for this run, the scratch directory"
    find / /tmp /var/lib/tuna /zpools "$SCRATCH" -maxdepth 3 -name "*$TAG*" \
        -not -path "$SCRATCH" 2>/dev/null | sort
    find "$SCRATCH" 2>/dev/null | sort
    echo "## mounts and loop devices on them"
    grep -e "$TAG" -e "$SCRATCH" /proc/self/mountinfo | cut -d' ' -f5 | sort
    losetup -l -n -O BACK-FILE 2>/dev/null | grep -e "$TAG" -e "$SCRATCH"
    case $1 in
        01-*)
            echo "## cgroup directories named for this run; kthreadd's groups"
            find /sys/fs/cgroup -maxdepth 5 -name "*$TAG*" 2>/dev/null | sort
            cat /proc/2/cgroup
            ;;
        03-*)
            echo "## zfs datasets"
            if zfs_answers; then
                timeout 10 zfs list -H -o name 2>/dev/null | grep -e "$TAG"
            fi
            ;;
        05-* | 06-*)
            echo "## the machine's own links"
            ip -o link show 2>/dev/null | cut -d: -f2 | sort
            echo "## the scratch network namespace"
            ip netns exec "$NETNS" sh -c 'ip -j link show; ip -j addr show;
                ip -j route show; nft -j list ruleset;
                cat /proc/sys/net/ipv4/ip_forward'
            ;;
    esac
}

# The state every row of a table is compared with: taken before the first
# row, and again after a row that changed it (so one leak is reported once).
BASELINE_TOOL=
baseline_for() {
    if [ "$BASELINE_TOOL" != "$1" ]; then
        state_snapshot "$1" >"$TEST_TMP/before" 2>&1
        BASELINE_TOOL=$1
    fi
}

before_each() { BASELINE_TOOL=; }

# --- one row of a table -----------------------------------------------------

# The command that runs tool NN-name: 05-veth and 06-nat only ever run in
# the scratch network namespace, never in the machine's own.
# WRAP, when set, runs the tool inside another (a new mount namespace).
WRAP=
tool_command() {
    case $1 in
        05-* | 06-*) echo "ip netns exec $NETNS $TUNA_BIN/$1" ;;
        *) echo "$WRAP $TUNA_BIN/$1" ;;
    esac
}

# in_mount_namespace ROW...: the row's tool runs under 02-unshare --mount
# --pid --fork, as the lesson runs 04-pivot.
in_mount_namespace() {
    # detect_leaks=0: under make sanitize, LeakSanitizer cannot run as PID 1
    # of a new PID namespace (as in test_04_pivot.sh).
    WRAP="env ASAN_OPTIONS=detect_leaks=0 $TUNA_BIN/02-unshare --mount --pid --fork --"
    "$@"
    WRAP=
}

# bad STATUS TOOL ARGS...: usage errors, exactly one line.
bad() {
    local status=$1 tool=$2 cmd
    shift 2
    cmd=$(tool_command "$tool")
    baseline_for "$tool"
    # shellcheck disable=SC2086  # cmd is "ip netns exec NS BIN" or "BIN"
    assert_one_line_failure "$status" $cmd "$@" </dev/null
    assertTrue "$tool $*: the message is $tool's: $(cat "$TEST_TMP/err")" \
        "grep -q '^$tool: ' '$TEST_TMP/err'"
    no_state_left "$tool" "$*"
    CASES=$((CASES + 1))
}

# refused STATUS TOOL ARGS...: the system said no; one line naming the tool,
# and at most the tool's own hint after it.
refused() {
    local status=$1 tool=$2 cmd
    shift 2
    cmd=$(tool_command "$tool")
    baseline_for "$tool"
    # shellcheck disable=SC2086
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" $cmd "$@" </dev/null
    assertEquals "exit status of: $tool $* ($(cat "$TEST_TMP/err"))" "$status" "$RC"
    assertEquals "first line names $tool: $(cat "$TEST_TMP/err")" "$tool:" \
        "$(head -1 "$TEST_TMP/err" | cut -d' ' -f1)"
    assertEquals "after it, only hints: $(cat "$TEST_TMP/err")" 0 \
        "$(tail -n +2 "$TEST_TMP/err" | grep -cv '^hint: ')"
    assertTrue "at most one hint: $(cat "$TEST_TMP/err")" \
        "[ $(wc -l <"$TEST_TMP/err") -le 2 ]"
    no_state_left "$tool" "$*"
    CASES=$((CASES + 1))
}

# no_state_left TOOL ARGS: the state is the baseline's.
no_state_left() {
    state_snapshot "$1" >"$TEST_TMP/after" 2>&1
    if ! cmp -s "$TEST_TMP/before" "$TEST_TMP/after"; then
        fail "$1 $2 left state behind: $(diff "$TEST_TMP/before" "$TEST_TMP/after")"
        BASELINE_TOOL=
    fi
}

long_string() { printf "%${2}s" "" | tr ' ' "$1"; }

# --- the tables -------------------------------------------------------------

test_01_cgroup_refuses_bad_input() {
    require_root || return 0
    local t=01-cgroup
    bad 2 $t
    bad 2 $t frobnicate
    bad 2 $t create
    bad 2 $t create ""
    bad 2 $t create "../$TAG"
    bad 2 $t create "$TAG/../../$TAG"
    bad 2 $t create "/$TAG"
    bad 2 $t create "/sys/fs/cgroup/cpu/$TAG"
    bad 2 $t create "$TAG//x"
    bad 2 $t create "$TAG/"
    bad 2 $t create "$TAG/$(long_string a 256)"
    bad 2 $t create "$TAG/$(long_string a 200)/$(long_string b 200)/$(long_string c 200)/$(long_string d 200)/$(long_string e 200)/$(long_string f 200)"
    bad 2 $t create "$TAG"$'\nx'
    bad 2 $t create "$TAG"$'\tx'
    bad 2 $t create "$TAG" --cpu 20
    bad 2 $t create "$TAG" --cpu 20%x
    bad 2 $t create "$TAG" --cpu -5%
    bad 2 $t create "$TAG" --cpu ""
    bad 2 $t create "$TAG" --memory 99999999999999999999G
    bad 2 $t create "$TAG" --memory 17179869184G
    bad 2 $t create "$TAG" --memory 12Q
    bad 2 $t create "$TAG" --pids -1
    bad 2 $t create "$TAG" --cpu-quota 0
    bad 2 $t create "$TAG" --bogus
    bad 2 $t create "$TAG" extra
    bad 2 $t add "$TAG" 999999999
    bad 2 $t add "$TAG" 12x
    bad 2 $t add "$TAG" -- -1
    bad 2 $t exec "$TAG"
    refused 1 $t stat "missing$TAG"
    refused 1 $t delete "missing$TAG"
    refused 1 $t add "missing$TAG" "$DEAD_PID"
    refused 1 $t --root "/nonexistent/$TAG" info
}

# A PID that does not exist and one that is not ours to move (kthreadd,
# which the kernel keeps in the root groups) are refused by the kernel
# for a group that exists; the group is left as it was.
test_01_cgroup_refuses_a_missing_pid_and_a_kernel_thread() {
    require_root || return 0
    local name=$TAG-grp
    "$TUNA_BIN/01-cgroup" create "$name" || fail "01-cgroup create $name"
    on_cleanup "$TUNA_BIN/01-cgroup" delete "$name"
    refused 1 01-cgroup add "$name" "$DEAD_PID"
    refused 1 01-cgroup add "$name" 2
    assertEquals "the group is still empty" "" \
        "$(cat "/sys/fs/cgroup/pids/$name/cgroup.procs" 2>/dev/null)"
}

test_02_unshare_refuses_bad_input() {
    require_root || return 0
    local t=02-unshare
    bad 2 $t --bogus
    bad 2 $t --hostname ""
    bad 2 $t --hostname "$(long_string h 65)" -- true
    bad 2 $t --show ""
    bad 2 $t --show 12x
    bad 2 $t --show -1
    bad 2 $t --show 999999999
    bad 2 $t --show 99999999999999999999999
    bad 2 $t --mount-proc -- true
    bad 2 $t --pid --mount-proc -- true
    bad 2 $t --time -- true
    bad 2 $t --pidfile "" -- true
    bad 2 $t --wait "$SCRATCH/no-fifo-$TAG" -- true
    bad 2 $t --wait /etc/passwd -- true
    refused 1 $t --show "$DEAD_PID"
    refused 1 $t --pidfile "/nonexistent/$TAG/pid" -- true
    # The command cannot be run: 127, as env(1) and the shells say.
    refused 127 $t -- "/nonexistent/$TAG"
    refused 127 $t --mount --uts --fork -- "/nonexistent/$TAG"
}

test_03_zfs_image_refuses_bad_input() {
    require_root || return 0
    local t=03-zfs-image store=$SCRATCH/store-$TAG
    local -a o=(--backend overlay --store "$store")
    bad 2 $t
    bad 2 $t frobnicate
    bad 2 $t --backend ext4 list
    bad 2 $t --backend "" list
    bad 2 $t --backend "zfs;rm" list
    bad 2 $t "${o[@]}" pool
    bad 2 $t "${o[@]}" pool frobnicate
    bad 2 $t "${o[@]}" pool create --size 12Q
    bad 2 $t "${o[@]}" pool create --size -1G
    bad 2 $t "${o[@]}" pool create --size 99999999999999999999G
    bad 2 $t "${o[@]}" pool create --size 0
    bad 2 $t "${o[@]}" pool create --device ""
    bad 2 $t "${o[@]}" list --size 1G
    bad 2 $t "${o[@]}" pool create --fs ext4
    bad 2 $t "${o[@]}" pool create --fs ""
    bad 2 $t "${o[@]}" list --fs xfs
    bad 2 $t "${o[@]}" clone a@b c --device /dev/null
    bad 2 $t --backend btrfs --store "$store" pool create --fs xfs
    bad 2 $t --backend devicemapper --store "$store" pool create --fs xfs
    bad 2 $t "${o[@]}" list extra
    bad 2 $t --pool "" list
    bad 2 $t --pool "../$TAG" list
    bad 2 $t --pool "a/$TAG" list
    bad 2 $t --pool "$(long_string p 65)" list
    bad 2 $t --backend zfs --pool "../$TAG" --store "$store" pool create
    bad 2 $t --store "" list
    bad 2 $t --store "relative/$TAG" list
    bad 2 $t --store / list
}

# Names against a pool that exists, so the name is the only thing wrong.
test_03_zfs_image_names_stay_inside_the_pool() {
    require_root || return 0
    local t=03-zfs-image store=$SCRATCH/pool-$TAG
    local -a o=(--backend overlay --pool "p$TAG" --store "$store")
    "$TUNA_BIN/$t" "${o[@]}" pool create >/dev/null || fail "pool create"
    on_cleanup "$TUNA_BIN/$t" "${o[@]}" pool destroy
    "$TUNA_BIN/$t" "${o[@]}" image create "img$TAG" || fail "image create"
    bad 2 $t "${o[@]}" image create ""
    bad 2 $t "${o[@]}" image create "../$TAG"
    bad 2 $t "${o[@]}" image create "/etc"
    bad 2 $t "${o[@]}" image create "/tmp/$TAG"
    bad 2 $t "${o[@]}" image create "a/$TAG"
    bad 2 $t "${o[@]}" image create "$(long_string i 65)"
    bad 2 $t "${o[@]}" image create ".$TAG"
    bad 2 $t "${o[@]}" image create -- "-$TAG"
    bad 2 $t "${o[@]}" image create "$TAG"$'\nx'
    bad 2 $t "${o[@]}" snapshot "img$TAG"
    bad 2 $t "${o[@]}" snapshot "img$TAG@"
    bad 2 $t "${o[@]}" snapshot "@$TAG"
    bad 2 $t "${o[@]}" snapshot "img$TAG@../$TAG"
    bad 2 $t "${o[@]}" snapshot "img$TAG@a@b"
    bad 2 $t "${o[@]}" snapshot "../img$TAG@t"
    bad 2 $t "${o[@]}" clone "img$TAG@t" "../$TAG"
    bad 2 $t "${o[@]}" clone "img$TAG@t" "/tmp/$TAG"
    bad 2 $t "${o[@]}" clone "img$TAG" "c$TAG"
    bad 2 $t "${o[@]}" destroy "../$TAG"
    bad 2 $t "${o[@]}" destroy ""
    bad 2 $t "${o[@]}" destroy "../../../etc"
    refused 1 $t "${o[@]}" snapshot "missing$TAG@t"
    refused 1 $t "${o[@]}" clone "img$TAG@missing" "c$TAG"
    refused 1 $t "${o[@]}" destroy "missing$TAG"
    refused 1 $t "${o[@]}" image create "img$TAG"
    refused 1 $t --backend overlay --store "$SCRATCH/none-$TAG" image create "i$TAG"
}

test_04_pivot_refuses_bad_input() {
    require_root || return 0
    local t=04-pivot root=$SCRATCH/root-$TAG
    # An image has its mount points; 04-pivot makes /proc if it is missing.
    mkdir -p "$root/proc"
    ln -sfn / "$SCRATCH/to-slash-$TAG"
    bad 2 $t
    bad 2 $t ""
    bad 2 $t /
    bad 2 $t "$SCRATCH/to-slash-$TAG"
    bad 2 $t "/nonexistent/$TAG"
    bad 2 $t "$root/trailing junk"
    bad 2 $t /etc/passwd
    bad 2 $t --bogus "$root"
    bad 2 $t --keep-oldroot "/nonexistent/$TAG"
    # In a new mount namespace too: the same checks come first.
    in_mount_namespace bad 2 $t "/nonexistent/$TAG"
    in_mount_namespace bad 2 $t /etc/passwd
    in_mount_namespace bad 2 $t /
    # The host's own mount namespace: refused, with a hint.
    refused 1 $t "$root"
    # A new root without /bin/sh: 127, and a hint about the new root.
    in_mount_namespace refused 127 $t "$root"
    rm -f "$SCRATCH/to-slash-$TAG"
    rmdir "$root/proc" "$root"
}

test_05_veth_refuses_bad_input() {
    require_root || return 0
    local t=05-veth p=$DEAD_PID
    local -a a=(--host-addr 10.9.0.1/24 --container-addr 10.9.0.2/24)
    bad 2 $t
    bad 2 $t frobnicate
    bad 2 $t add
    bad 2 $t add --pid "$p" --host-addr 10.9.0.1/24
    bad 2 $t add --pid 0 "${a[@]}"
    bad 2 $t add --pid -5 "${a[@]}"
    bad 2 $t add --pid "" "${a[@]}"
    bad 2 $t add --pid 12x "${a[@]}"
    bad 2 $t add --pid 99999999999 "${a[@]}"
    bad 2 $t add --pid "$p" --host-addr 10.9.0.1 --container-addr 10.9.0.2/24
    bad 2 $t add --pid "$p" --host-addr 10.9.0.1/33 --container-addr 10.9.0.2/24
    bad 2 $t add --pid "$p" --host-addr 10.9.0.256/24 --container-addr 10.9.0.2/24
    bad 2 $t add --pid "$p" --host-addr 10.9.0.1/24x --container-addr 10.9.0.2/24
    bad 2 $t add --pid "$p" --host-addr "" --container-addr 10.9.0.2/24
    bad 2 $t add --pid "$p" --host-addr -10.9.0.1/24 --container-addr 10.9.0.2/24
    bad 2 $t add --pid "$p" "${a[@]}" --host-if "$(long_string x 16)"
    bad 2 $t add --pid "$p" "${a[@]}" --host-if "a/$TAG"
    bad 2 $t add --pid "$p" "${a[@]}" --host-if ..
    bad 2 $t add --pid "$p" "${a[@]}" --container-if ""
    bad 2 $t add --pid "$p" "${a[@]}" --container-if "a:b"
    bad 2 $t add --pid "$p" "${a[@]}" --gateway 10.9.0
    bad 2 $t add --pid "$p" "${a[@]}" --bridge "a b"
    bad 2 $t add --pid "$p" "${a[@]}" --bogus
    bad 2 $t del
    bad 2 $t show extra
    bad 2 $t show --pid x
    refused 1 $t add --pid "$p" "${a[@]}"
    refused 1 $t del --host-if "m$TAG"
    refused 1 $t del --pid "$p"
    refused 1 $t show --pid "$p"
}

test_06_nat_refuses_bad_input() {
    require_root || return 0
    local t=06-nat
    bad 2 $t
    bad 2 $t frobnicate
    bad 2 $t enable
    bad 2 $t enable --source 10.9.0.1/24
    bad 2 $t enable --source 172.17.0.2/16
    bad 2 $t enable --source 10.9.0.0/33
    bad 2 $t enable --source 10.9.0.0
    bad 2 $t enable --source ""
    bad 2 $t enable --source -1
    bad 2 $t enable --source "10.9.0.0/24 "
    bad 2 $t enable --source 10.9.0.0/024
    bad 2 $t enable --source 10.9.0.0/24 --out-if "$(long_string x 16)"
    bad 2 $t enable --source 10.9.0.0/24 --out-if "a/b"
    bad 2 $t enable --source 10.9.0.0/24 --table ""
    bad 2 $t enable --source 10.9.0.0/24 --table "$(long_string t 300)"
    bad 2 $t enable --source 10.9.0.0/24 --table "a b"
    bad 2 $t enable --source 10.9.0.0/24 --table "1$TAG"
    bad 2 $t enable --source 10.9.0.0/24 --table "$TAG"$'\nx'
    bad 2 $t enable --source 10.9.0.0/24 --bogus
    bad 2 $t disable extra
    refused 1 $t disable --table "m$TAG"
    refused 1 $t show --table "m$TAG"
}

test_07_stress_refuses_bad_input() {
    require_root || return 0
    local t=07-stress
    bad 2 $t
    bad 2 $t --bogus
    bad 2 $t --cpu 0
    bad 2 $t --cpu -1
    bad 2 $t --cpu x
    bad 2 $t --cpu ""
    bad 2 $t --cpu 99999999999999999999
    bad 2 $t --cpu 100000 --timeout 1s
    bad 2 $t --cpu 1 --timeout 5x
    bad 2 $t --cpu 1 --timeout -1s
    bad 2 $t --cpu 1 --timeout ""
    bad 2 $t --cpu 1 --timeout 99999999999999999999d
    bad 2 $t --vm 1 --vm-bytes 12Q
    bad 2 $t --vm 1 --vm-bytes 99999999999999999999T
    bad 2 $t --vm 1 --vm-bytes -1M
    bad 2 $t --vm 1 --vm-stride 0
    bad 2 $t --cpu 1 extra
}

test_08_harden_refuses_bad_input() {
    require_root || return 0
    local t=08-harden
    bad 2 $t
    bad 2 $t --
    bad 2 $t --bogus -- /bin/true
    bad 2 $t --caps -- /bin/true
    bad 2 $t --caps "" -- /bin/true
    bad 2 $t --caps foo -- /bin/true
    bad 2 $t --caps CAP_ -- /bin/true
    bad 2 $t --caps chown,,kill -- /bin/true
    bad 2 $t --caps chown, -- /bin/true
    bad 2 $t --caps "$(long_string a 300)" -- /bin/true
    bad 2 $t --caps "cap_sys_admin
" -- /bin/true
    bad 2 $t --try nothing
    bad 2 $t --try ""
    bad 2 $t --try core_pattern,,sysrq
    bad 2 $t --try disk=abc
    bad 2 $t --try disk=8:1:2
    bad 2 $t --try syscall=-1
    bad 2 $t --try syscall=99999
    bad 2 $t --try core_pattern -- /bin/true
    # The host's own mount namespace: refused, with a hint, nothing masked.
    refused 1 $t -- /bin/true
}

# shellcheck disable=SC1090
. "$SHUNIT2"

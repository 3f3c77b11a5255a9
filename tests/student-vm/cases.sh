#!/usr/bin/env bash
# tests/student-vm/cases.sh - in the student VM (run by tests/student-vm/run.sh
# from the checkout's root): tuna as a student meets it on a stock Debian 12
# with OpenZFS.  One line per case on stdout, which is the serial console:
#
#   TUNA-VM: PASS NAME DETAIL     TUNA-VM: FAIL NAME DETAIL
#   TUNA-VM: INFO NAME FIGURES    TUNA-VM: LOG NAME LINE   (a failure's output)
#
# tests/test_student_vm.sh asserts each line.  Groups of cases (all by
# default; tests/student-vm/cases.sh GROUP... for some):
#   facts     the machine as tuna finds it (INFO lines the lessons quote)
#   labs      make lab on zfs (OpenZFS), then labs/all.sh on btrfs and overlay
#   realhost  labs/all.sh --real-host, the machine's state before and after
#   suites    TUNA_MUST_RUN=1 tests/run of each step's suite and test_exercises
# Every case's whole output is in $TUNA_VM_OUT/NAME.out (run.sh --out).
set -u

cd "$(dirname "$0")/../.." || exit 1
OUT=${TUNA_VM_OUT:-/tmp/tuna-vm-out}
mkdir -p "$OUT"
SUITES="${TUNA_VM_SUITES:-test_01_cgroup test_02_unshare test_03_zfs_image test_04_pivot test_05_veth test_06_nat test_07_stress test_08_harden test_exercises}"

line() { echo "TUNA-VM: $*"; }
info() { line "INFO $*"; }

# log_tail NAME FILE: a failure's last lines, on the console too.
log_tail() {
    tail -n "${3:-25}" "$2" | tr -d '\r' | while IFS= read -r l; do line "LOG $1 $l"; done
}

# verdict NAME OK DETAIL: the case's line.
verdict() {
    if [ "$2" = 0 ]; then line "PASS $1 $3"; else line "FAIL $1 $3"; log_tail "$1" "$OUT/$1.out"; fi
}

# seconds_since START_NS
seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# --- facts ---------------------------------------------------------------------
facts() {
    local ctl
    info os "$(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release) kernel $(uname -r) PID1=$(cat /proc/1/comm)"
    info cgroup "$(stat -f -c %T /sys/fs/cgroup) controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
    info cgroup_subtree_control "/sys/fs/cgroup/cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
    info cgroup_slices "$(find /sys/fs/cgroup -maxdepth 1 -mindepth 1 -type d -printf '%f ' | sort)"
    info cgroup_self "/proc/self/cgroup: $(cat /proc/self/cgroup)"
    ctl=$(find /sys/fs/cgroup/system.slice -maxdepth 1 -name 'cpu.*' -printf '%f ' 2>/dev/null)
    info cgroup_system_slice_cpu_files "${ctl:-none}"
    info zfs_version "$(zfs version 2>&1 | tr '\n' ' ')"
    info zfs_module "$(modinfo -F filename zfs 2>&1) /dev/zfs: $(stat -c '%A %t:%T' /dev/zfs 2>&1)"
    info zfs_fuse "$(command -v zfs-fuse >/dev/null && echo installed || echo 'not installed')"
    info proc_1_ns "$(for n in /proc/1/ns/*; do printf '%s ' "$(readlink "$n" 2>&1)"; done)"
    info self_ns "$(for n in mnt uts ipc pid net cgroup user; do printf '%s ' "$(readlink /proc/self/ns/$n)"; done)"
    info filesystems "overlay loaded: $(grep -qw overlay /proc/filesystems && echo yes || echo no); btrfs loaded: $(grep -qw btrfs /proc/filesystems && echo yes || echo no)"
    info run_mount "$(findmnt -no OPTIONS /run)"
    info cpus "$(nproc) CPUs, $(awk '/MemTotal/ { print $2 / 1024 " MiB" }' /proc/meminfo)"
}

# --- labs ----------------------------------------------------------------------

# lab_detail FILE: the lab's verdict, its CPU share and OOM figures.
lab_detail() {
    local held cpu oom
    held=$(grep -E 'results held|did not hold' "$1" | tail -n 1 | sed 's/^ *//')
    cpu=$(grep -oE 'CPU share [0-9.]+% \(limit [^)]*\), throttled( in)? [0-9]+( periods)?' "$1" | tail -n 1)
    oom=$(grep -oE 'killed:[^;]*; survived:[^.]*' "$1" | tail -n 1)
    echo "${held:-no verdict line}; ${cpu:-no CPU figure}; ${oom:-no OOM figures}"
}

# watch_lab NAME: until killed, note any zfs-fuse process in OUT/NAME.zfs-fuse,
# and, while the lab's container runs, what surrounds it: the top of the
# cgroup tree, the root's subtree_control, and zfs list (OUT/NAME.seen).
watch_lab() {
    local seen=$OUT/$1.seen
    while :; do
        pgrep -a -x zfs-fuse >>"$OUT/$1.zfs-fuse" 2>/dev/null
        if [ ! -s "$seen" ] && [ -d /sys/fs/cgroup/tuna-lab/myContainer ] &&
            [ -n "$(cat /sys/fs/cgroup/tuna-lab/myContainer/cgroup.procs 2>/dev/null)" ]; then
            {
                echo "cgroup_tree $(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d \
                    \( -name '*.slice' -o -name '*.scope' -o -path '*/tuna-lab*' \) -printf '%P ' | sort)"
                echo "root_subtree_control $(cat /sys/fs/cgroup/cgroup.subtree_control)"
                echo "lab_subtree_control $(cat /sys/fs/cgroup/tuna-lab/cgroup.subtree_control)"
                zfs list -t all -H -o name,used,refer,mountpoint,origin 2>/dev/null | sed 's/^/zfs_list /'
            } >"$seen.tmp"
            mv "$seen.tmp" "$seen"
        fi
        sleep 0.5
    done
}

lab_case() {
    local name=$1 start rc=0 detail watcher l
    shift
    : >"$OUT/$name.zfs-fuse"
    rm -f "$OUT/$name.seen"
    watch_lab "$name" &
    watcher=$!
    start=$(date +%s%N)
    "$@" >"$OUT/$name.out" 2>&1 </dev/null || rc=$?
    kill "$watcher" 2>/dev/null
    wait "$watcher" 2>/dev/null
    detail="exit $rc in $(seconds_since "$start")s; $(lab_detail "$OUT/$name.out")"
    if [ -s "$OUT/$name.zfs-fuse" ]; then
        rc=1 detail="$detail; a zfs-fuse process ran: $(head -n 1 "$OUT/$name.zfs-fuse")"
    fi
    LAST_RC=$rc LAST_DETAIL=$detail
    # The figures the lessons quote.
    if [ -s "$OUT/$name.seen" ]; then
        while IFS= read -r l; do info "${name}_${l%% *} ${l#* }"; done <"$OUT/$name.seen"
    fi
    l=$(grep -oE 'USED [0-9]+ bytes, REFER [0-9]+ bytes' "$OUT/$name.out" | head -n 1)
    [ -z "$l" ] || info "${name}_clone_sizes $l"
    l=$(grep -oE 'killed:[^;]*; survived:[^.]*' "$OUT/$name.out" | tail -n 1)
    [ -z "$l" ] || info "${name}_memory_max_200M $l"
}

labs() {
    local kmod overlay_before
    # zfs: the default backend, through `make lab` as the student types it
    # (deps, build, lab), offline: every package is in the image already.
    kmod=$(zfs version 2>/dev/null | grep -m 1 kmod)
    lab_case lab_zfs make lab
    if [ "$LAST_RC" = 0 ] && ! grep -q 'OpenZFS\|zpool' "$OUT/lab_zfs.out"; then
        LAST_RC=1 LAST_DETAIL="$LAST_DETAIL; the lab never ran zpool"
    fi
    if [ -n "$(zpool list -H -o name 2>/dev/null)" ]; then
        LAST_RC=1 LAST_DETAIL="$LAST_DETAIL; pools left: $(zpool list -H -o name | tr '\n' ' ')"
    fi
    verdict lab_zfs "$LAST_RC" "${kmod:-no zfs-kmod} no-zfs-fuse-process; $LAST_DETAIL"

    lab_case lab_btrfs labs/all.sh --backend btrfs
    verdict lab_btrfs "$LAST_RC" "$LAST_DETAIL"

    overlay_before=$(grep -qw overlay /proc/filesystems && echo loaded || echo 'not loaded')
    lab_case lab_overlay labs/all.sh --backend overlay
    verdict lab_overlay "$LAST_RC" "overlay module before: $overlay_before; $LAST_DETAIL"
}

# --- the post as written, on the VM's own namespaces -----------------------------

# machine_state: what the real-host lab must leave as it found it.
machine_state() {
    echo "## mounts"
    findmnt -rn -o TARGET,SOURCE,FSTYPE | grep -v '^/run/credentials' | sort
    echo "## pools"
    zpool list -H -o name 2>&1
    echo "## links"
    ip -o link show | awk '{ print $2 }' | sort
    echo "## addresses"
    ip -o addr show | awk '{ print $2, $4 }' | sort
    echo "## routes"
    ip route show table all | sort
    echo "## nft"
    nft list ruleset
    echo "## ip_forward"
    cat /proc/sys/net/ipv4/ip_forward
    echo "## cgroups"
    find /sys/fs/cgroup -type d | grep -v -e '^/sys/fs/cgroup/system.slice/tuna-run.service' \
        -e '/user.slice' | sort
    echo "## netns"
    ip netns list
}

realhost() {
    local rc watcher seen
    machine_state >"$OUT/realhost.before" 2>&1
    : >"$OUT/realhost.pools"
    (while :; do
        zpool list -H -o name 2>/dev/null >>"$OUT/realhost.pools"
        findmnt -rn -o TARGET 2>/dev/null | grep '^/zpools' >>"$OUT/realhost.pools"
        sleep 0.5
    done) &
    watcher=$!
    lab_case lab_real_host labs/all.sh --real-host
    kill "$watcher" 2>/dev/null
    wait "$watcher" 2>/dev/null
    rc=$LAST_RC
    machine_state >"$OUT/realhost.after" 2>&1
    seen=$(sort -u "$OUT/realhost.pools" | grep -E '^zpools$|^/zpools(/images/myImage|/containers/myContainer)?$' | tr '\n' ' ')
    case "$seen" in
    *"/zpools/containers/myContainer "*) ;;
    *) rc=1 LAST_DETAIL="$LAST_DETAIL; pool zpools at /zpools not seen (saw: ${seen:-nothing})" ;;
    esac
    if ! diff -u "$OUT/realhost.before" "$OUT/realhost.after" >"$OUT/realhost.diff"; then
        rc=1 LAST_DETAIL="$LAST_DETAIL; the machine's state changed: $(grep '^[-+][^-+]' "$OUT/realhost.diff" | head -n 5 | tr '\n' '|')"
        cat "$OUT/realhost.diff" >>"$OUT/lab_real_host.out"
    else
        LAST_DETAIL="$LAST_DETAIL; seen: $seen; state before == after (mounts, pools, links, addresses, routes, nft, ip_forward, cgroups, netns)"
    fi
    verdict lab_real_host "$rc" "$LAST_DETAIL"
}

# --- the suites ----------------------------------------------------------------
suites() {
    local s start rc counts
    for s in $SUITES; do
        start=$(date +%s%N)
        rc=0
        TUNA_MUST_RUN=1 tests/run "$s" >"$OUT/$s.out" 2>&1 </dev/null || rc=$?
        counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$OUT/$s.out" | tail -n 1)
        if [ "$rc" != 0 ]; then
            grep -E '^(ASSERT|FAIL|SKIP|cannot)|: exited with status' "$OUT/$s.out" | head -n 20 >"$OUT/$s.failures"
            cat "$OUT/$s.failures" >>"$OUT/$s.out"
        fi
        verdict "suite_$s" "$rc" "TUNA_MUST_RUN=1 tests/run $s: ${counts:-no count line} in $(seconds_since "$start")s"
    done
}

main() {
    local g groups=("$@")
    [ ${#groups[@]} -gt 0 ] || groups=(facts labs realhost suites)
    line "CASES ${groups[*]}"
    for g in "${groups[@]}"; do
        case "$g" in
        facts | labs | realhost | suites) "$g" ;;
        *) line "FAIL cases unknown group $g" ;;
        esac
    done
    line "CASES-END"
}

main "$@"

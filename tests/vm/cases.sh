#!/bin/sh
# shellcheck shell=dash
# tests/vm/cases.sh - the cases tests/test_vm.sh checks, run by the VM's
# init (busybox sh) on a kernel with only cgroup v2 mounted.
#
# Each case prints one line on the console, which the host suite parses:
#
#   TUNA-VM: PASS name detail       the kernel showed what the case expects
#   TUNA-VM: FAIL name detail       it did not; detail says what it saw
#   TUNA-VM: INFO name detail       a figure for the lessons, not a check
#
# As in the host suites, each case reads the kernel's side by other means
# than the tool under test: cgroupfs files, /proc, packets that arrive.
# Order: cgroup v2 first (the reason this VM exists), then namespaces and
# pivot_root, then the network, then storage; last, tuna's own shell suites
# and checkers that read cgroupfs, run here with bash on pure v2.

CG=/sys/fs/cgroup
PARENT=tuna-vm
STRESS_SECONDS=6       # 07-stress -c 1 in the 20% group runs this long
WARMUP_SECONDS=1       # then usage is sampled over MEASURE_SECONDS
MEASURE_SECONDS=4
SHARE_MIN=0.17         # the issue's bounds for a 20% quota
SHARE_MAX=0.23
CONTAINER_NET=172.17.0.0/16
HOST_ADDR=172.17.0.1
CONTAINER_ADDR=172.17.0.2
UPLINK_HOST_ADDR=198.51.100.1
INTERNET_ADDR=198.51.100.53
LOG=/tmp/case.log
CGROUP2_SUPER_MAGIC=63677270
BTRFS_FIRST_FREE_OBJECTID=256

pass() { echo "TUNA-VM: PASS $*"; }
fail() { echo "TUNA-VM: FAIL $*"; }
info() { echo "TUNA-VM: INFO $*"; }

# verdict NAME DETAIL PROBLEMS: PASS when PROBLEMS is empty.
verdict() {
    if [ -z "$3" ]; then pass "$1" "$2"; else fail "$1" "$2;$3"; fi
}

# field FILE KEY: the value of KEY in a flat-keyed cgroupfs file
# (cpu.stat, memory.events).
field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# uptime_us: microseconds since boot, from /proc/uptime (10 ms steps).
uptime_us() { awk '{ printf "%d", $1 * 1000000 }' /proc/uptime; }

# --- 01-cgroup and 07-stress on pure cgroup v2 --------------------------

case_cgroup_info_says_v2() {
    local out problems=''
    out=$(01-cgroup info 2>&1)
    echo "$out" | grep -qw v2 || problems="$problems info does not say v2: $(echo "$out" | head -n 1)"
    echo "$out" | grep -qw hybrid && problems="$problems info says hybrid"
    # statfs(2): CGROUP2_SUPER_MAGIC, from linux/magic.h.
    [ "$(stat -f -c %t $CG)" = "$CGROUP2_SUPER_MAGIC" ] ||
        problems="$problems $CG has f_type $(stat -f -c %t $CG), not cgroup2's"
    grep -q ' - cgroup ' /proc/self/mountinfo && problems="$problems a v1 hierarchy is mounted"
    verdict cgroup_info_says_v2 "$(echo "$out" | head -n 1)" "$problems"
}

case_cgroup_nested_create() {
    local problems='' f
    01-cgroup create "$PARENT/ctr" --cpu 20% --memory 100M >$LOG 2>&1 ||
        problems=" create failed: $(cat $LOG)"
    for f in $CG/cgroup.subtree_control $CG/$PARENT/cgroup.subtree_control; do
        grep -qw cpu "$f" || problems="$problems cpu not in $f ($(cat "$f"))"
        grep -qw memory "$f" || problems="$problems memory not in $f ($(cat "$f"))"
    done
    [ "$(cat $CG/$PARENT/ctr/cpu.max)" = "20000 100000" ] ||
        problems="$problems cpu.max=$(cat $CG/$PARENT/ctr/cpu.max)"
    [ "$(cat $CG/$PARENT/ctr/memory.max)" = 104857600 ] ||
        problems="$problems memory.max=$(cat $CG/$PARENT/ctr/memory.max)"
    verdict cgroup_nested_create "cpu.max=$(cat $CG/$PARENT/ctr/cpu.max 2>/dev/null)\
 memory.max=$(cat $CG/$PARENT/ctr/memory.max 2>/dev/null)\
 root+parent subtree_control=$(cat $CG/$PARENT/cgroup.subtree_control 2>/dev/null | tr ' ' ,)" "$problems"
}

# The share the hog really got, from the group's cpu.stat usage_usec over
# wall time, sampled after a warm-up so start-up does not count.
case_cgroup_cpu_share() {
    local group=$CG/$PARENT/ctr pid u1 u2 t1 t2 share throttled problems=''
    01-cgroup exec "$PARENT/ctr" -- 07-stress -c 1 -t "${STRESS_SECONDS}s" >$LOG 2>&1 &
    pid=$!
    sleep "$WARMUP_SECONDS"
    u1=$(field $group/cpu.stat usage_usec) t1=$(uptime_us)
    sleep "$MEASURE_SECONDS"
    u2=$(field $group/cpu.stat usage_usec) t2=$(uptime_us)
    wait $pid
    throttled=$(field $group/cpu.stat nr_throttled)
    share=$(awk -v u=$((u2 - u1)) -v t=$((t2 - t1)) 'BEGIN { printf "%.3f", u / t }')
    awk -v s="$share" -v lo=$SHARE_MIN -v hi=$SHARE_MAX 'BEGIN { exit !(s >= lo && s <= hi) }' ||
        problems=" share $share outside $SHARE_MIN-$SHARE_MAX"
    [ "${throttled:-0}" -gt 0 ] || problems="$problems nr_throttled=${throttled:-none}"
    verdict cgroup_cpu_share "share=$share nr_throttled=$throttled\
 tool_reported=$(grep -o '[0-9.]*%' $LOG | head -n 1)" "$problems"
}

# vm_hog GROUP SIZE [SECONDS]: 07-stress -m 1 in GROUP; sets HOG_RC.
vm_hog() {
    HOG_RC=0
    01-cgroup exec "$1" -- 07-stress -m 1 --vm-bytes "$2" -t "${3:-3}s" >$LOG 2>&1 || HOG_RC=$?
}

# The memory cases run in the same group with its CPU limit lifted (with
# `set`), so a hog at 20% of a TCG-emulated CPU is not too slow to fill it.
case_cgroup_oom_kills_150M_hog() {
    local events=$CG/$PARENT/ctr/memory.events before after problems=''
    01-cgroup set "$PARENT/ctr" --cpu max >$LOG 2>&1 || problems=" set --cpu max failed"
    [ "$(cat $CG/$PARENT/ctr/cpu.max)" = "max 100000" ] ||
        problems="$problems cpu.max=$(cat $CG/$PARENT/ctr/cpu.max) after set --cpu max"
    before=$(field $events oom_kill)
    vm_hog "$PARENT/ctr" 150M
    after=$(field $events oom_kill)
    [ "$HOG_RC" -ne 0 ] || problems=" 07-stress exited 0"
    grep -q 'got signal 9' $LOG || problems="$problems no 'got signal 9' from 07-stress"
    [ "$((after - before))" -ge 1 ] || problems="$problems oom_kill $before -> $after"
    verdict cgroup_oom_kills_150M_hog "rc=$HOG_RC oom_kill=$before->$after" "$problems"
}

case_cgroup_40M_hog_survives() {
    local events=$CG/$PARENT/ctr/memory.events before after problems=''
    before=$(field $events oom_kill)
    vm_hog "$PARENT/ctr" 40M 2
    after=$(field $events oom_kill)
    [ "$HOG_RC" -eq 0 ] || problems=" 07-stress exited $HOG_RC: $(tail -n 1 $LOG)"
    [ "$after" = "$before" ] || problems="$problems oom_kill $before -> $after"
    verdict cgroup_40M_hog_survives "rc=$HOG_RC oom_kill=$before->$after" "$problems"
}

case_cgroup_delete_kill() {
    local group=$CG/$PARENT/doomed pid rc=0 problems=''
    01-cgroup create "$PARENT/doomed" >$LOG 2>&1
    01-cgroup exec "$PARENT/doomed" -- sleep 1000 &
    pid=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        grep -qx "$pid" $group/cgroup.procs 2>/dev/null && break
        sleep 0.2
    done
    grep -qx "$pid" $group/cgroup.procs || problems=" sleep never joined"
    01-cgroup -x delete "$PARENT/doomed" --kill >$LOG 2>&1 || problems="$problems delete failed"
    wait $pid || rc=$?
    [ "$rc" = 137 ] || problems="$problems sleep ended with $rc, not 128+SIGKILL"
    [ -e $group ] && problems="$problems $group still exists"
    grep -q 'cgroup.kill' $LOG || problems="$problems the trace never names cgroup.kill"
    verdict cgroup_delete_kill "sleep status=$rc; $(grep -m 1 -o 'echo 1 > [^ ]*cgroup.kill' $LOG)" "$problems"
}

# v2's "no internal processes" rule (cgroup-v2.rst): a group with members
# cannot hand controllers down; the tool says so in a hint and leaves no
# half-made child behind.
case_cgroup_no_internal_processes_hint() {
    local group=$CG/$PARENT/busy pid rc=0 problems=''
    01-cgroup create "$PARENT/busy" >$LOG 2>&1
    01-cgroup exec "$PARENT/busy" -- sleep 1000 &
    pid=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        grep -qx "$pid" $group/cgroup.procs 2>/dev/null && break
        sleep 0.2
    done
    01-cgroup create "$PARENT/busy/child" --memory 10M >$LOG 2>&1 || rc=$?
    [ "$rc" = 1 ] || problems=" create exited $rc, not 1"
    grep -q 'Device or resource busy' $LOG || problems="$problems no EBUSY: $(head -n 1 $LOG)"
    grep -q '^hint: .*no processes' $LOG || problems="$problems no hint"
    [ -e $group/child ] && problems="$problems $group/child left behind"
    [ -z "$(cat $group/cgroup.subtree_control)" ] ||
        problems="$problems subtree_control=$(cat $group/cgroup.subtree_control)"
    verdict cgroup_no_internal_processes_hint "rc=$rc $(grep '^hint' $LOG)" "$problems"
    kill "$pid"
    wait "$pid" 2>/dev/null
}

case_cgroup_pids_max_refuses_fork() {
    local group=$CG/$PARENT/pids rc=0 problems=''
    01-cgroup create "$PARENT/pids" --pids 3 >$LOG 2>&1 || problems=" create failed"
    [ "$(cat $group/pids.max)" = 3 ] || problems="$problems pids.max=$(cat $group/pids.max)"
    # The shell and three sleeps: the fourth process is one too many.
    01-cgroup exec "$PARENT/pids" -- sh -c 'sleep 1 & sleep 1 & sleep 1 & wait' >$LOG 2>&1 || rc=$?
    grep -q "can't fork" $LOG || problems="$problems no fork refused: $(head -n 1 $LOG)"
    [ "$(field $group/pids.events max)" -ge 1 ] ||
        problems="$problems pids.events: $(cat $group/pids.events)"
    verdict cgroup_pids_max_refuses_fork "pids.max=$(cat $group/pids.max)\
 pids.events $(cat $group/pids.events) sh: $(head -n 1 $LOG)" "$problems"
}

# For the lesson: what 198M, 199M and 200M of anonymous memory do under a
# 200M (209715200-byte) memory.max, without swap.
figures_memory_max_200M() {
    local size group before after max
    for size in 198M 199M 200M; do
        group=$PARENT/fig$size
        01-cgroup create "$group" --memory 200M >/dev/null 2>&1
        max=$(cat $CG/$group/memory.max)
        before=$(field $CG/$group/memory.events oom_kill)
        vm_hog "$group" "$size" 3
        after=$(field $CG/$group/memory.events oom_kill)
        info "memory_max_figure vm-bytes=$size memory.max=$max rc=$HOG_RC\
 oom_kill=$((after - before)) memory.peak=$(cat $CG/$group/memory.peak 2>/dev/null)\
 '$(grep -m 1 -E 'got signal|successful|failed' $LOG)'"
    done
}

cgroup_cases() {
    case_cgroup_info_says_v2
    case_cgroup_nested_create
    case_cgroup_cpu_share
    case_cgroup_oom_kills_150M_hog
    case_cgroup_40M_hog_survives
    case_cgroup_delete_kill
    case_cgroup_no_internal_processes_hint
    case_cgroup_pids_max_refuses_fork
    figures_memory_max_200M
    01-cgroup delete "$PARENT" --kill >/dev/null 2>&1
}

# --- 02-unshare and 04-pivot: a busybox root -----------------------------

# busybox_root DIR: a root file system of busybox and a few applet links.
busybox_root() {
    local applet
    mkdir -p "$1/bin" "$1/proc" "$1/etc"
    cp /bin/busybox "$1/bin/"
    for applet in sh cat hostname ls echo; do ln -s busybox "$1/bin/$applet"; done
}

case_unshare_pivot_busybox_root() {
    local root=/tmp/ctr-root out problems='' mounts_before mounts_after
    busybox_root $root
    mounts_before=$(cat /proc/self/mountinfo)
    # shellcheck disable=SC2016  # $$ and $(hostname) expand inside
    out=$(02-unshare --mount --uts --ipc --pid --fork --hostname tuna -- \
        04-pivot $root -- /bin/sh -c \
        'echo pid=$$; echo hostname=$(hostname); ls /; cat /proc/self/mountinfo' 2>&1)
    mounts_after=$(cat /proc/self/mountinfo)
    echo "$out" | grep -qx 'pid=1' || problems=" the shell is not PID 1"
    echo "$out" | grep -qx 'hostname=tuna' || problems="$problems hostname inside is not tuna"
    [ "$(hostname)" = tuna-vm ] || problems="$problems the VM's hostname changed to $(hostname)"
    # Inside: the root and its /proc only (fields 5 the mount point).
    [ "$(echo "$out" | awk '$5 ~ /^\// && $4 ~ /^\// { print $5 }' | tr '\n' ' ')" = "/ /proc " ] ||
        problems="$problems mountinfo inside: $(echo "$out" | awk '$4 ~ /^\// { print $5 }' | tr '\n' ' ')"
    echo "$out" | grep -q oldroot && problems="$problems oldroot still visible"
    [ -e $root/oldroot ] && problems="$problems $root/oldroot left behind"
    [ "$mounts_before" = "$mounts_after" ] || problems="$problems the VM's mount table changed"
    verdict unshare_pivot_busybox_root "$(echo "$out" | grep -E '^(pid|hostname)=' | tr '\n' ' ')\
mounts inside: $(echo "$out" | awk '$4 ~ /^\// { print $5 }' | tr '\n' ' ')" "$problems"
    rm -rf $root
}

# --- 05-veth and 06-nat: the uplink trick --------------------------------

# sleeper NAME: a process in a new network namespace (02-unshare --net
# --pidfile); prints its PID.  The VM's own namespace plays the post's host.
sleeper() {
    rm -f "/tmp/$1.pid"
    02-unshare --net --pidfile "/tmp/$1.pid" -- sleep 1000 >/dev/null 2>&1 &
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        [ -s "/tmp/$1.pid" ] && break
        sleep 0.1
    done
    cat "/tmp/$1.pid"
}

# ping_from PID ADDR: one ping from PID's network namespace.
ping_from() { nsenter -t "$1" -n ping -c 1 -W 2 "$2" >/dev/null 2>&1; }

case_veth_nat_uplink() {
    local cpid upid problems='' before after forwarding
    cpid=$(sleeper container) upid=$(sleeper uplink)
    # The stand-in internet: its own namespace, no route back to $CONTAINER_NET.
    05-veth add --pid "$upid" --host-if uplink0 --container-if eth0 \
        --host-addr $UPLINK_HOST_ADDR/24 --container-addr $INTERNET_ADDR/24 >$LOG 2>&1 ||
        problems=" 05-veth (uplink): $(cat $LOG)"
    05-veth add --pid "$cpid" --host-addr $HOST_ADDR/16 --container-addr $CONTAINER_ADDR/16 \
        --gateway $HOST_ADDR >$LOG 2>&1 || problems="$problems 05-veth (container): $(cat $LOG)"
    nsenter -t "$cpid" -n ip -4 addr show eth0 | grep -q "inet $CONTAINER_ADDR/16" ||
        problems="$problems eth0 inside has no $CONTAINER_ADDR"
    nsenter -t "$cpid" -n ip route | grep -q "default via $HOST_ADDR" ||
        problems="$problems no default route inside"
    ping_from "$cpid" $HOST_ADDR || problems="$problems container cannot ping its host"
    ping_from "$cpid" $INTERNET_ADDR && before=answer || before=silence
    06-nat enable --source $CONTAINER_NET --out-if uplink0 >$LOG 2>&1 ||
        problems="$problems 06-nat enable: $(cat $LOG)"
    forwarding=$(cat /proc/sys/net/ipv4/ip_forward)
    ping_from "$cpid" $INTERNET_ADDR && after=answer || after=silence
    06-nat disable >$LOG 2>&1 || problems="$problems 06-nat disable: $(cat $LOG)"
    ping_from "$cpid" $INTERNET_ADDR && disabled=answer || disabled=silence
    [ "$before" = silence ] || problems="$problems $INTERNET_ADDR answered before NAT"
    [ "$forwarding" = 1 ] || problems="$problems ip_forward=$forwarding after enable"
    [ "$after" = answer ] || problems="$problems no answer through the masquerade"
    [ "$disabled" = silence ] || problems="$problems answers after disable"
    verdict veth_nat_uplink "ping $INTERNET_ADDR: before=$before nat=$after\
 disabled=$disabled ip_forward=$forwarding" "$problems"
    kill "$cpid" "$upid" 2>/dev/null
    wait
}

# --- 03-zfs-image: btrfs and overlay backends ----------------------------

# fstype_at DIR: the file system type of the mount at DIR (mountinfo: the
# field after the "-" separator).
fstype_at() {
    awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo
}

# case_storage BACKEND [POOL CREATE ARGS]: a pool, a populated image, its
# snapshot and a clone; the snapshot is read-only, the clone writable and
# separate; a clone is a root for 02-unshare + 04-pivot; pool destroy
# leaves no mount.
case_storage() {
    local backend="$1" store="/tmp/store-$1" fstype problems='' err out
    shift
    {
        03-zfs-image --backend "$backend" --store "$store" pool create "$@" &&
        03-zfs-image --store "$store" image create img &&
        03-zfs-image --store "$store" image populate img --busybox &&
        03-zfs-image --store "$store" snapshot img@v1 &&
        03-zfs-image --store "$store" clone img@v1 ctr
    } >$LOG 2>&1 || problems=" image, snapshot, clone: $(tail -n 2 $LOG | tr '\n' ' ')"
    # overlay: the clone is its own overlay mount.  btrfs: the store is one
    # btrfs mount, and the clone a subvolume: its root directory has inode
    # 256 (BTRFS_FIRST_FREE_OBJECTID), as every subvolume's does.
    case $backend in
    overlay)
        fstype=$(fstype_at "$store/containers/ctr")
        [ "$fstype" = overlay ] || problems="$problems clone mount is ${fstype:-none}"
        ;;
    btrfs)
        fstype="$(fstype_at "$store") subvolume-inode=$(stat -c %i "$store/containers/ctr")"
        [ "$fstype" = "btrfs subvolume-inode=$BTRFS_FIRST_FREE_OBJECTID" ] ||
            problems="$problems store and clone: $fstype"
        ;;
    esac
    err=$(touch "$store/images/img@v1/x" 2>&1) && problems="$problems the snapshot took a write"
    echo "$err" | grep -q 'Read-only' || problems="$problems snapshot write: ${err:-no error}"
    echo clone >"$store/containers/ctr/written-in-clone" || problems="$problems clone not writable"
    [ -e "$store/images/img/written-in-clone" ] && problems="$problems the clone's write reached the image"
    # shellcheck disable=SC2016  # $$ expands inside
    out=$(02-unshare --mount --pid --fork -- 04-pivot "$store/containers/ctr" -- \
        /bin/sh -c 'echo pid=$$; cat /written-in-clone' 2>&1)
    [ "$(echo "$out" | tr '\n' ' ')" = "pid=1 clone " ] ||
        problems="$problems pivot into the clone said: $(echo "$out" | tr '\n' ' ')"
    03-zfs-image --store "$store" pool destroy >$LOG 2>&1 ||
        problems="$problems pool destroy: $(tail -n 1 $LOG)"
    grep -q " $store" /proc/self/mountinfo && problems="$problems a mount is left under $store"
    [ -e "$store" ] && problems="$problems $store is left"
    [ -z "$(ls /var/lib/tuna)" ] && ! grep -qs . /sys/block/loop*/loop/backing_file ||
        problems="$problems a backing file or loop device is left"
    verdict "storage_$backend" "clone: ${fstype:-no mount}" "$problems"
}

# btrfs: pool create's --size is the loop device's backing file, held in
# this VM's RAM (tmpfs); mkfs.btrfs wants at least 109M.
case_storage_overlay() { case_storage overlay; }
case_storage_btrfs() { case_storage btrfs --size 128M; }

# --- the shell suites and checkers, on pure v2 -----------------------------

# suite_case NAME SUITE [TEST...]: tests/SUITE.sh (or only the TESTs named)
# with bash, the GNU tools of /usr/bin first on PATH, and TUNA_MUST_RUN=1,
# so a skip is a failure.  PASS when shunit2 ran them all and said OK; FAIL
# with the ASSERT lines (and the skips) otherwise, each also on a LOG line.
suite_case() {
    local name=$1 suite=$2 ran last problems=''
    shift 2
    if [ $# -gt 0 ]; then set -- -- "$@"; fi
    env PATH=/usr/bin:/bin:/sbin TUNA_MUST_RUN=1 TUNA_BIN=/bin SHUNIT2=/usr/bin/shunit2 \
        bash "/tuna/tests/$suite.sh" "$@" >$LOG 2>&1
    ran=$(grep -m 1 '^Ran [0-9]* test' $LOG)
    info "$name $(head -n 1 $LOG)"
    last=$(tail -n 1 $LOG)
    [ "$last" = OK ] || problems=" $last"
    [ -n "$ran" ] || problems="$problems shunit2 never reported"
    if [ -n "$problems" ]; then
        head -n 200 $LOG | sed 's/^/TUNA-VM: LOG /'
        problems="$problems: $(grep -E '^ASSERT' $LOG | head -n 3 | tr '\n' '|')"
    fi
    verdict "$name" "$ran $last" "$problems"
}

# lab_case NAME LAB: labs/LAB.sh --quiet, with bash and the GNU tools;
# PASS when it says every result held (its result lines are the detail).
lab_case() {
    local rc=0
    env PATH=/usr/bin:/bin:/sbin bash "/tuna/labs/$2.sh" --name vm --quiet >$LOG 2>&1 || rc=$?
    if grep -q '^ All [0-9]* results held' $LOG; then
        pass "$1" "$(grep '^ All' $LOG | sed 's/^ //'): $(grep -o '\[ ok \] .*' $LOG | cut -c 8- | tr '\n' ';')"
    else
        head -n 200 $LOG | sed 's/^/TUNA-VM: LOG /'
        fail "$1" "status $rc: $(grep -E '\[FAIL\]|did not hold' $LOG | tr '\n' ';')"
    fi
}

# The checks labs/all.sh makes at its step 6 (labs/lib.sh: the limits as the
# kernel's files hold them, and /proc/PID/cgroup), on a group made the way
# the lab makes it, with a sleep in the container's place.
case_lab_step6_checks() {
    local group=tuna-lab/myContainer pid out problems=''
    01-cgroup create $group --cpu 20% --memory 200M >$LOG 2>&1 || problems=" create failed"
    sleep 1000 &
    pid=$!
    01-cgroup add $group $pid >>$LOG 2>&1 || problems="$problems add failed: $(cat $LOG)"
    # shellcheck disable=SC2016  # expanded by bash, in the lab's functions
    out=$(env PATH=/usr/bin:/bin:/sbin PID=$pid GROUP=$group bash -c '
        . /tuna/labs/lib.sh
        cgroup_limits "$GROUP"
        echo "limits=$LIMITS"
        limits_are 20 209715200 && echo limits_are=yes || echo limits_are=no
        limits_are 25 209715200 && echo limits_are_25=yes || echo limits_are_25=no
        echo "member=$(cgroup_membership "$PID")"
        in_cgroup "$PID" "$GROUP" && echo in_cgroup=yes || echo in_cgroup=no
        in_cgroup $$ "$GROUP" && echo shell_in_cgroup=yes || echo shell_in_cgroup=no' 2>&1)
    echo "$out" | grep -qx 'limits=cpu.max "20000 100000", memory.max 209715200' ||
        problems="$problems limits: $(echo "$out" | grep limits=)"
    echo "$out" | grep -qx 'limits_are=yes' || problems="$problems 20%/200M not seen"
    echo "$out" | grep -qx 'limits_are_25=no' || problems="$problems 25% taken for 20%"
    echo "$out" | grep -qx "member=0::/$group" || problems="$problems $(echo "$out" | grep member=)"
    [ "$(cat /proc/$pid/cgroup)" = "0::/$group" ] ||
        problems="$problems /proc/$pid/cgroup: $(cat /proc/$pid/cgroup)"
    echo "$out" | grep -qx 'in_cgroup=yes' || problems="$problems member not found"
    echo "$out" | grep -qx 'shell_in_cgroup=no' || problems="$problems a non-member found in it"
    verdict lab_step6_checks "$(echo "$out" | grep -E '^(limits|member)=' | tr '\n' ' ')" "$problems"
    kill $pid
    wait $pid 2>/dev/null
    01-cgroup delete tuna-lab --kill >/dev/null 2>&1
}

lab_cases() {
    case_lab_step6_checks
    lab_case lab_01_cgroup 01-cgroup
    lab_case lab_07_stress 07-stress
}

suite_cases() {
    suite_case suite_test_01_cgroup test_01_cgroup
}

exercise_cases() {
    # The exercises about cgroups (01, 07, 07b) and the runner's own tests; the
    # others need iproute2, nftables, util-linux, which this VM lacks.
    # shellcheck disable=SC2046  # one test name a word
    suite_case suite_test_exercises_cgroup test_exercises test_run_rejects_an_unknown_exercise \
        test_run_prints_every_task_and_the_readme_has_it \
        $(grep -oE '^test_0[17]b?_[A-Za-z0-9_]*' /tuna/tests/test_exercises.sh)
}

# The groups of cases, in order.  tests/vm/boot.sh passes TUNA_VM_CASES
# (e.g. "suites") as tuna.cases= on the kernel's command line, to run only
# those groups while working on them; the suite always runs them all.
ALL_GROUPS="cgroup namespaces network storage labs suites exercises"
groups=$(sed -n 's/.*tuna\.cases=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
for group in ${groups:-$ALL_GROUPS}; do
    case $group in
    cgroup) cgroup_cases ;;
    namespaces) case_unshare_pivot_busybox_root ;;
    network) case_veth_nat_uplink ;;
    storage) case_storage_overlay; case_storage_btrfs ;;
    labs) lab_cases ;;
    suites) suite_cases ;;
    exercises) exercise_cases ;;
    *) fail "cases no group '$group' (there are: $ALL_GROUPS)" ;;
    esac
done

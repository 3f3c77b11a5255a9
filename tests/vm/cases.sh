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

# --- 03-zfs-image --backend devicemapper: thin snapshots --------------------

# What device-mapper and the loop driver hold, read without the tool:
# dm_devices: dmsetup ls's names (one a line, "" for none); loops: the
# backing files of the bound loop devices (sysfs).
dm_devices() {
    DM_DISABLE_UDEV=1 dmsetup ls 2>/dev/null | awk '$1 != "No" { print $1 }' | sort
}
loops() { cat /sys/block/loop*/loop/backing_file 2>/dev/null | sort; }
# dm_leftovers STORE POOL: anything of pool POOL: a device, a loop, a file, a mount.
dm_leftovers() {
    local f
    dm_devices | grep "^$2-" | sed 's/^/dm /'
    loops | grep "/var/lib/tuna/$2" | sed 's/^/loop /'
    for f in /var/lib/tuna/"$2"*; do [ -e "$f" ] && echo "file $f"; done
    grep -q " $1 " /proc/self/mountinfo && echo "mount $1"
    [ -e "$1" ] && echo "dir $1"
    return 0
}

# A pool, an image with busybox, its snapshot, a clone: each read back with
# dmsetup (the thin-pool and thin targets, and their mapped blocks) and
# sysfs (two loop devices); the snapshot refuses a write, the clone's write
# stays in the clone, a fresh clone maps next to nothing of its own, the
# clone is a root for 04-pivot; destroy and pool destroy leave nothing.
case_storage_devicemapper() {
    local store=/tmp/store-dm pool=dmtest problems='' out used refer err
    export DM_DISABLE_UDEV=1
    {
        03-zfs-image --backend devicemapper --pool $pool --store $store pool create --size 256M &&
        03-zfs-image --store $store image create img &&
        03-zfs-image --store $store image populate img --busybox &&
        03-zfs-image --store $store snapshot img@v1 &&
        03-zfs-image --store $store clone img@v1 ctr
    } >$LOG 2>&1 || problems=" pool, image, snapshot, clone: $(tail -n 2 $LOG | tr '\n' ' ')"
    out=$(dm_devices | tr '\n' ' ')
    [ "$out" = "$pool-ctr-ctr $pool-img-img $pool-pool $pool-snap-img@v1 " ] ||
        problems="$problems dmsetup ls: $out"
    dmsetup table $pool-pool | grep -q ' thin-pool 7:[0-9]* 7:[0-9]* 128 ' ||
        problems="$problems pool table: $(dmsetup table $pool-pool)"
    [ "$(loops | grep -c "/var/lib/tuna/$pool")" = 2 ] ||
        problems="$problems loops: $(loops | tr '\n' ' ')"
    dmsetup table $pool-ctr-ctr | grep -q ' thin [0-9]*:[0-9]* 3$' ||
        problems="$problems clone table: $(dmsetup table $pool-ctr-ctr)"
    dmsetup info $pool-snap-img@v1 | grep -q 'State: *ACTIVE (READ-ONLY)' ||
        problems="$problems the snapshot's device is not read-only"
    # thin status: "MAPPED_SECTORS HIGHEST_MAPPED_SECTOR".
    info "devicemapper_status pool: $(dmsetup status $pool-pool | cut -d ' ' -f 4-6)\
 image: $(dmsetup status $pool-img-img | cut -d ' ' -f 4) clone: $(dmsetup status $pool-ctr-ctr | cut -d ' ' -f 4) sectors mapped"
    out=$(03-zfs-image --store $store list --json 2>&1)
    used=$(echo "$out" | /usr/bin/jq '.[] | select(.name == "ctr") | .used')
    refer=$(echo "$out" | /usr/bin/jq '.[] | select(.name == "ctr") | .refer')
    [ "$refer" = "$(($(dmsetup status $pool-ctr-ctr | cut -d ' ' -f 4) * 512))" ] ||
        problems="$problems list's REFER $refer is not thin status's"
    [ -n "$used" ] && [ "$used" -lt 1048576 ] || problems="$problems fresh clone USED=$used"
    info "devicemapper_list $(03-zfs-image --store $store list 2>&1 | tr -s ' ' | tr '\n' ';')"
    err=$(touch "$store/images/img@v1/x" 2>&1) && problems="$problems the snapshot took a write"
    echo "$err" | grep -q 'Read-only' || problems="$problems snapshot write: ${err:-no error}"
    echo clone >"$store/containers/ctr/written-in-clone" || problems="$problems clone not writable"
    [ -e "$store/images/img/written-in-clone" ] && problems="$problems the write reached the image"
    [ -e "$store/images/img@v1/written-in-clone" ] && problems="$problems the write reached the snapshot"
    # shellcheck disable=SC2016  # $$ expands inside
    out=$(02-unshare --mount --pid --fork -- 04-pivot "$store/containers/ctr" -- \
        /bin/sh -c 'echo pid=$$; cat /written-in-clone' 2>&1)
    [ "$(echo "$out" | tr '\n' ' ')" = "pid=1 clone " ] ||
        problems="$problems pivot into the clone said: $(echo "$out" | tr '\n' ' ')"
    03-zfs-image --store $store destroy ctr >$LOG 2>&1 || problems="$problems destroy: $(tail -n 1 $LOG)"
    dm_devices | grep -q "$pool-ctr-ctr" && problems="$problems destroy left $pool-ctr-ctr"
    dmsetup message $pool-pool 0 "create_snap 99 3" 2>/dev/null &&
        problems="$problems device id 3 still in the pool after destroy"
    dmsetup message $pool-pool 0 "delete 99" 2>/dev/null
    03-zfs-image --store $store pool destroy >$LOG 2>&1 ||
        problems="$problems pool destroy: $(tail -n 1 $LOG)"
    out=$(dm_leftovers $store $pool | tr '\n' ' ')
    [ -z "$out" ] || problems="$problems left: $out"
    verdict storage_devicemapper "dmsetup ls had $pool-pool, -img-img, -snap-img@v1, -ctr-ctr; 2 loops" "$problems"
}

# dm_fault_at K ARGS...: 03-zfs-image ARGS with its K-th ioctl failing (EIO),
# strace's fault injection; its status.  /tmp/strace.log says whether the
# command made K ioctls at all ("(INJECTED)").
dm_fault_at() {
    local k=$1
    shift
    strace -o /tmp/strace.log -e trace=ioctl -e inject=ioctl:error=EIO:when="$k" \
        03-zfs-image "$@" >$LOG 2>&1
}

# dm_undo_success CMD STORE: a command that shrugged off its fault (a
# status it only reads for list) made its thing: remove it for the next K.
dm_undo_success() {
    case $1 in
    image) 03-zfs-image --store "$2" destroy img ;;
    snapshot) 03-zfs-image --store "$2" destroy img@v1 ;;
    clone) 03-zfs-image --store "$2" destroy ctr ;;
    esac >/dev/null 2>&1
}

# Each ioctl of pool create, image create, snapshot and clone made to fail
# in turn: the command exits 1, and neither a dm device nor a loop device
# nor a file of what it was making is left; the next ioctl count succeeds.
case_devicemapper_fault_at_each_ioctl() {
    local store=/tmp/store-dmf pool=dmfault k rc problems='' counts='' left cmd before tolerated=''

    export DM_DISABLE_UDEV=1
    for cmd in pool image snapshot clone; do
        k=1
        while [ $k -lt 40 ]; do
            rc=0
            case $cmd in
            pool) dm_fault_at $k --backend devicemapper --pool $pool --store $store pool create --size 64M || rc=$? ;;
            image) dm_fault_at $k --store $store image create img || rc=$? ;;
            snapshot) dm_fault_at $k --store $store snapshot img@v1 || rc=$? ;;
            clone) dm_fault_at $k --store $store clone img@v1 ctr || rc=$? ;;
            esac
            if [ $rc = 0 ]; then
                # Past its last ioctl: the command is done; the next one needs it.
                grep -q INJECTED /tmp/strace.log || break
                tolerated="$tolerated $cmd:$k"
                dm_undo_success $cmd $store
                [ $cmd = pool ] && 03-zfs-image --store $store pool destroy >/dev/null 2>&1
                k=$((k + 1))
                continue
            fi
            [ $rc = 1 ] || problems="$problems $cmd fault $k: exit $rc $(tail -n 1 $LOG)"
            # What is left must be what was there before this command.
            left=$(dm_devices | grep "^$pool-" | tr '\n' ' ')
            case $cmd in
            pool) left="$left$(dm_leftovers $store $pool | tr '\n' ' ')"; before='' ;;
            image) before="$pool-pool " ;;
            snapshot) before="$pool-img-img $pool-pool " ;;
            clone) before="$pool-img-img $pool-pool $pool-snap-img@v1 " ;;
            esac
            [ "$left" = "$before" ] ||
                problems="$problems $cmd fault at ioctl $k left: $left ($(tail -n 1 $LOG))"
            k=$((k + 1))
        done
        counts="$counts $cmd=$((k - 1))"
        [ $k = 1 ] && problems="$problems $cmd: no ioctl failed it"
    done
    03-zfs-image --store $store pool destroy >$LOG 2>&1 || problems="$problems pool destroy: $(tail -n 1 $LOG)"
    left=$(dm_leftovers $store $pool | tr '\n' ' ')
    [ -z "$left" ] || problems="$problems left after pool destroy: $left"
    verdict devicemapper_fault_at_each_ioctl "ioctls failed in turn:$counts; shrugged off (list's reads):${tolerated:- none}" "$problems"
}

# --- overlay on XFS: a size limit per container (project quota) ---------

# xfs_project_hard STORE ID: project ID's hard block limit in KiB, as
# xfs_quota's report prints it ("" when the report has no line for it).
xfs_project_hard() {
    xfs_quota -x -c 'report -p -b -N' "$1" 2>/dev/null | awk -v id="#$2" '$1 == id { print $4 }'
}

# A pool on XFS with prjquota, a clone limited to 8M and one with no
# limit: xfs_quota reads the project's limit back; a write inside the
# limited container stops at the limit while the pool has room and the
# other container writes past it; destroy takes the limit away.
case_overlay_xfs_quota() {
    local store=/tmp/store-xq problems='' out hard err bytes
    {
        03-zfs-image --backend overlay --pool xq --store $store pool create --fs xfs --size 320M &&
        03-zfs-image --store $store image create img &&
        03-zfs-image --store $store image populate img --busybox &&
        03-zfs-image --store $store snapshot img@v1 &&
        03-zfs-image --store $store clone img@v1 small --size 8M &&
        03-zfs-image --store $store clone img@v1 big
    } >$LOG 2>&1 || problems=" pool, clones: $(tail -n 2 $LOG | tr '\n' ' ')"
    [ "$(fstype_at $store)" = xfs ] || problems="$problems the pool is $(fstype_at $store)"
    grep " $store " /proc/self/mountinfo | grep -q prjquota || problems="$problems no prjquota"
    hard=$(xfs_project_hard $store 1)
    [ "$hard" = 8192 ] || problems="$problems xfs_quota report: project #1 hard=${hard:-none}"
    info "xfs_quota_report $(xfs_quota -x -c 'report -p -b -N' $store 2>&1 | tr -s ' ' | tr '\n' ';')"
    info "xfs_quota_list $(03-zfs-image --store $store list 2>&1 | tr -s ' ' | tr '\n' ';')"
    # shellcheck disable=SC2016  # expands inside
    err=$(02-unshare --mount --pid --fork -- 04-pivot --dev "$store/containers/small" -- \
        /bin/sh -c 'dd if=/dev/zero of=/fill bs=65536 count=1000 2>&1 | grep -v records' 2>&1)
    bytes=$(stat -c %s "$store/containers/small/fill" 2>/dev/null)
    info "xfs_quota_figure a write in the 8M container stopped at ${bytes:-?} bytes: $err; pool free $(stat -f -c '%f blocks of %S' $store)"
    echo "$err" | grep -qE 'No space left on device|Disk quota exceeded' ||
        problems="$problems the limited write said: $err"
    [ -n "$bytes" ] && [ "$bytes" -le 8388608 ] && [ "$bytes" -gt 4194304 ] ||
        problems="$problems wrote $bytes bytes under an 8M limit"
    dd if=/dev/zero of="$store/containers/big/fill" bs=65536 count=256 2>/dev/null ||
        problems="$problems the unlimited container could not write 16M"
    [ -e "$store/images/img/fill" ] && problems="$problems the write reached the image"
    03-zfs-image --store $store destroy small >$LOG 2>&1 || problems="$problems destroy: $(tail -n 1 $LOG)"
    hard=$(xfs_project_hard $store 1)
    [ -z "$hard" ] || [ "$hard" = 0 ] || problems="$problems after destroy project #1 hard=$hard"
    03-zfs-image --store $store pool destroy >$LOG 2>&1 || problems="$problems pool destroy: $(tail -n 1 $LOG)"
    [ -e $store ] && problems="$problems $store left"
    loops | grep -q xq.img && problems="$problems loop left"
    [ -e /var/lib/tuna/xq.img ] && problems="$problems file left"
    verdict overlay_xfs_quota "project #1 bhard 8M read back by xfs_quota; the write stopped at ${bytes:-?} bytes" "$problems"
}

# --- the inode limit: ext4's fixed inode table, XFS's and btrfs's dynamic ---

# fill_files DIR MAX: create empty files in DIR until one fails or MAX are
# made; prints "COUNT ERROR".
fill_files() {
    local i=0 err=''
    while [ $i -lt "$2" ]; do
        err=$( : 2>&1 >"$1/f$i") || break
        i=$((i + 1))
    done
    echo "$i ${err:-none}"
}

# A 16M ext4 made with 64 inodes runs out of inodes with its blocks nearly
# free (statfs: f_ffree 0, f_bfree most of f_blocks); XFS and btrfs make
# inodes as they need them, and take 2000 files in the same small space.
case_inode_limit() {
    local problems='' out fs mnt=/tmp/inodes f free
    mkdir -p $mnt
    truncate -s 16M /tmp/ext4.img
    mkfs.ext4 -q -N 64 /tmp/ext4.img >$LOG 2>&1 || problems=" mkfs.ext4: $(tail -n 1 $LOG)"
    mount -o loop /tmp/ext4.img $mnt || problems="$problems mount ext4"
    out=$(fill_files $mnt 5000)
    # stat -f: %f free blocks, %b blocks, %d free inodes, %c inodes.
    free=$(stat -f -c '%f %b %d %c' $mnt)
    info "inode_limit_ext4 files=${out%% *} error=${out#* } statfs(bfree blocks ffree files)=$free; $(df -i $mnt | tail -n 1 | tr -s ' ')"
    echo "$out" | grep -q 'No space left on device' || problems="$problems ext4: $out"
    # shellcheck disable=SC2086  # the four numbers, one a word
    set -- $free
    [ "$3" = 0 ] || problems="$problems ext4 f_ffree=$3"
    [ $(($1 * 2)) -gt "$2" ] || problems="$problems ext4 blocks not mostly free: $free"
    umount $mnt
    rm -f /tmp/ext4.img
    for fs in xfs btrfs; do
        truncate -s 320M /tmp/$fs.img
        "mkfs.$fs" -q /tmp/$fs.img >$LOG 2>&1 || problems="$problems mkfs.$fs: $(tail -n 1 $LOG)"
        mount -o loop /tmp/$fs.img $mnt || problems="$problems mount $fs"
        f=$(stat -f -c '%c' $mnt)
        out=$(fill_files $mnt 2000)
        info "inode_limit_$fs files=${out%% *} error=${out#* } statfs f_files before=$f after=$(stat -f -c %c $mnt)"
        [ "${out%% *}" = 2000 ] || problems="$problems $fs stopped at $out"
        umount $mnt
        rm -f /tmp/$fs.img
    done
    verdict inode_limit "ext4 -N 64: ENOSPC with blocks free; xfs, btrfs: 2000 files" "$problems"
}

# --- CoW and RoW, measured: one picture for every backend this VM has ------

now_us() { /usr/bin/date +%s%6N; }
# median: of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# bench_pool BACKEND STORE: a pool of BACKEND ("overlay-xfs": overlay on XFS).
bench_pool() {
    case $1 in
    overlay) 03-zfs-image --backend overlay --pool bench --store "$2" pool create --fs tmpfs --size 400M ;;
    overlay-xfs) 03-zfs-image --backend overlay --pool bench --store "$2" pool create --fs xfs --size 400M ;;
    *) 03-zfs-image --backend "$1" --pool bench --store "$2" pool create --size 400M ;;
    esac
}

# pool_blocks BACKEND: devicemapper's pool's used data blocks (64K each).
pool_blocks() { dmsetup status bench-pool | awk '{ split($6, u, "/"); print u[1] }'; }

# write_us FILE BLOCK: one 4 KiB write at 4K-block BLOCK of an existing
# FILE, synced (dd conv=notrunc,fsync: a process start, open, write, fsync).
write_us() {
    local t0
    t0=$(now_us)
    dd if=/dev/zero of="$1" bs=4096 count=1 seek="$2" conv=notrunc,fsync 2>/dev/null || echo fail
    echo $(($(now_us) - t0))
}

# For each backend: the clone time of a 10M and a 101M image (median of
# CLONE_RUNS, each clone then destroyed, also timed), then in a fresh
# clone the first and the second 4 KiB write into the image's 1M and 100M
# files, and the space the clone holds after the first write.
CLONE_RUNS=5
case_cow_row_bench() {
    local b store=/tmp/store-bench img r t0 clone_ms del_ms c size blk first second space base problems=''
    for b in overlay overlay-xfs btrfs devicemapper; do
        if ! bench_pool $b $store >$LOG 2>&1; then
            info "cow_row_bench $b: no pool: $(tail -n 1 $LOG)"
            problems="$problems $b"
            continue
        fi
        {
            03-zfs-image --store $store image create i10 &&
            dd if=/dev/zero of=$store/images/i10/f10M bs=1M count=10 2>/dev/null &&
            03-zfs-image --store $store image create i101 &&
            dd if=/dev/zero of=$store/images/i101/f1M bs=1M count=1 2>/dev/null &&
            dd if=/dev/zero of=$store/images/i101/f100M bs=1M count=100 2>/dev/null && sync &&
            03-zfs-image --store $store snapshot i10@v1 && 03-zfs-image --store $store snapshot i101@v1
        } >$LOG 2>&1 || problems="$problems $b-image($(tail -n 1 $LOG))"
        for img in i10 i101; do
            : >/tmp/clone.us
            : >/tmp/delete.us
            r=0
            while [ $r -lt $CLONE_RUNS ]; do
                t0=$(now_us)
                03-zfs-image --store $store clone $img@v1 c$r >$LOG 2>&1 || problems="$problems $b-clone"
                echo $(($(now_us) - t0)) >>/tmp/clone.us
                t0=$(now_us)
                03-zfs-image --store $store destroy c$r >$LOG 2>&1 || problems="$problems $b-destroy"
                echo $(($(now_us) - t0)) >>/tmp/delete.us
                r=$((r + 1))
            done
            clone_ms=$(median </tmp/clone.us)
            del_ms=$(median </tmp/delete.us)
            info "cow_row_bench $b clone image=${img#i}M create_us=$clone_ms destroy_us=$del_ms"
        done
        03-zfs-image --store $store clone i101@v1 w >$LOG 2>&1 || problems="$problems $b-clone-w"
        c=$store/containers/w
        for size in 1M 100M; do
            [ $size = 1M ] && blk=128 || blk=12800
            [ $b = devicemapper ] && base=$(pool_blocks)
            first=$(write_us $c/f$size $blk)
            second=$(write_us $c/f$size $((blk + 1)))
            case $b in
            devicemapper) space=$((($(pool_blocks) - base) * 65536)) ;;
            *) space=$(03-zfs-image --store $store list --json | /usr/bin/jq '.[] | select(.name == "w") | .used') ;;
            esac
            info "cow_row_bench $b write file=$size first_us=$first second_us=$second clone_used_after=$space"
        done
        03-zfs-image --store $store pool destroy >$LOG 2>&1 || problems="$problems $b-pool-destroy"
    done
    verdict cow_row_bench "figures in the INFO lines" "${problems:+ failed:$problems}"
}

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

# --- 08-harden and the v2 device program ---------------------------------

# in_devices_group GROUP CMD: CMD (a sh -c script) as a member of GROUP.
in_devices_group() { 01-cgroup exec "$1" -- sh -c "$2" 2>&1; }

# A BPF_PROG_TYPE_CGROUP_DEVICE program on a pure-v2 group: the kernel runs
# it at every open and mknod of a device node by the group's members.
case_harden_device_program_v2() {
    local group=$PARENT/devices problems='' loop img=/tmp/dev.img out major minor
    dd if=/dev/zero of=$img bs=1024 count=1024 2>/dev/null
    if ! loop=$(losetup -f) || ! losetup "$loop" $img; then
        fail harden_device_program_v2 "no loop device"
        return
    fi
    major=$(stat -c %t "$loop") minor=$(stat -c %T "$loop")
    01-cgroup create "$group" --devices default >$LOG 2>&1 ||
        problems=" create --devices default failed: $(cat $LOG)"
    out=$(in_devices_group "$group" "cat $loop >/dev/null && echo read=ok; \
        mknod /tmp/blk b $((0x$major)) $((0x$minor)) && echo mknod=ok; rm -f /tmp/blk; \
        echo x >/dev/null && echo null=ok; head -c 1 /dev/urandom >/dev/null && echo urandom=ok")
    echo "$out" | grep -q 'read=ok' && problems="$problems the loop device read under default"
    echo "$out" | grep -q 'mknod=ok' && problems="$problems mknod b worked under default"
    echo "$out" | grep -q 'null=ok' || problems="$problems /dev/null refused: $out"
    echo "$out" | grep -q 'urandom=ok' || problems="$problems /dev/urandom refused"
    echo "$out" | grep -q 'Operation not permitted' || problems="$problems no EPERM: $out"
    01-cgroup stat "$group" | grep -q '^devices: *default (bpf program id [0-9]*, tuna_devices)' ||
        problems="$problems stat: $(01-cgroup stat "$group" | grep devices)"
    01-cgroup set "$group" --devices all >$LOG 2>&1 || problems="$problems set all: $(cat $LOG)"
    out=$(in_devices_group "$group" "cat $loop >/dev/null && echo read=ok")
    echo "$out" | grep -q 'read=ok' || problems="$problems --devices all still refuses: $out"
    01-cgroup set "$group" --devices default >/dev/null 2>&1
    01-cgroup -x delete "$group" 2>$LOG >/dev/null || problems="$problems delete: $(cat $LOG)"
    grep -q '^bpf(BPF_PROG_DETACH, .*) = 0' $LOG || problems="$problems delete did not detach"
    [ -d $CG/$group ] && problems="$problems $CG/$group left"
    losetup -d "$loop"
    rm -f $img
    verdict harden_device_program_v2 "mknod/read of $loop refused, null and urandom allowed, detached at delete" "$problems"
}

# 08-harden as a container's first command, on Debian's kernel.
case_harden_container() {
    local root=/tmp/harden-root out problems='' e list=core_pattern,sysrq,kcore,sysfs,keyctl,userns
    busybox_root $root
    mkdir -p $root/dev $root/tmp
    cp /bin/08-harden $root/bin/
    for e in grep mount; do ln -s busybox "$root/bin/$e"; done
    out=$(02-unshare --mount --uts --ipc --net --pid --cgroup --fork -- 04-pivot --dev $root -- \
        /bin/08-harden -- /bin/sh -c "grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status; \
        /bin/08-harden --try $list,i386,clone3" 2>&1)
    echo "$out" | grep -q 'CapBnd:.*00000000a80425fb' || problems="$problems CapBnd: $out"
    echo "$out" | grep -q 'NoNewPrivs:.*1' || problems="$problems NoNewPrivs"
    echo "$out" | grep -q 'Seccomp:.*2' || problems="$problems Seccomp"
    for e in core_pattern:EROFS sysrq:EROFS sysfs:EPERM keyctl:EPERM userns:EPERM clone3:ENOSYS; do
        echo "$out" | grep -q "^${e%:*} *closed *${e#*:}" || problems="$problems ${e%:*} not ${e#*:}"
    done
    echo "$out" | grep -q '^kcore *closed *0 .*empty' || problems="$problems kcore not empty"
    echo "$out" | grep -q '^i386 .*killed by SIGSYS' || problems="$problems i386 not killed"
    verdict harden_container "$(echo "$out" | grep -E '^(CapBnd|Seccomp)' | tr -s '\t\n' '  ')" "$problems"
    rm -rf $root
}

harden_cases() {
    case_harden_device_program_v2
    case_harden_container
}

# The groups of cases, in order.  tests/vm/boot.sh passes TUNA_VM_CASES
# (e.g. "suites") as tuna.cases= on the kernel's command line, to run only
# those groups while working on them; the suite always runs them all.
ALL_GROUPS="cgroup namespaces network storage devicemapper quota harden labs suites exercises"
# Asked for by name only (TUNA_VM_CASES=bench): a measurement, not a check,
# for docs/03-zfs-image.md's table (a few minutes under TCG).
EXTRA_GROUPS="bench"
groups=$(sed -n 's/.*tuna\.cases=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
for group in ${groups:-$ALL_GROUPS}; do
    case $group in
    cgroup) cgroup_cases ;;
    namespaces) case_unshare_pivot_busybox_root ;;
    network) case_veth_nat_uplink ;;
    storage) case_storage_overlay; case_storage_btrfs ;;
    devicemapper) case_storage_devicemapper; case_devicemapper_fault_at_each_ioctl ;;
    quota) case_overlay_xfs_quota; case_inode_limit ;;
    bench) case_cow_row_bench ;;
    harden) harden_cases ;;
    labs) lab_cases ;;
    suites) suite_cases ;;
    exercises) exercise_cases ;;
    *) fail "cases no group '$group' (there are: $ALL_GROUPS $EXTRA_GROUPS)" ;;
    esac
done

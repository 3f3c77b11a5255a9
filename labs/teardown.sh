#!/usr/bin/env bash
# labs/teardown.sh - remove everything a lab made: its container, cgroups,
# network namespaces (and with them the veth pairs and the NAT table), its
# image, snapshot, clone and pool, and its run directory.
#
# Usage: labs/teardown.sh [--name NAME] [--real-host]
#
# Idempotent: what is already gone is skipped, so it can run after a lab that
# was killed at any point, and again after that.  The lab traps it on exit.
set -u

# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"

LAB_NAME=lab LAB_REAL_HOST=0 LAB_BACKEND=''
while [ $# -gt 0 ]; do
    case "$1" in
    --name) LAB_NAME=${2:?--name needs a value}; shift ;;
    --real-host) LAB_REAL_HOST=1 ;;
    -h|--help) echo "Usage: $0 [--name NAME] [--real-host]"; exit 0 ;;
    *) echo "teardown: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
lab_names

# 0. The lab's steps, if its shell was SIGKILLed while they ran: they would
#    go on making things.  Only a process that is still this lab's script.
if [ -f "$LAB_RUN/steps.pid" ]; then
    pid=$(cat "$LAB_RUN/steps.pid")
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
        { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q "labs/"; then
        stop_tree "$pid"
    fi
fi

# 1. The container: killing its PID 1 kills every process of its PID
#    namespace (pid_namespaces(7)); 02-unshare, its parent, then exits too.
#    Only PIDs this lab recorded are signalled.
for f in "$LAB_RUN/container.pid" "$LAB_RUN/unshare.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
done
for _ in $(seq 50); do
    alive=0
    for f in "$LAB_RUN/container.pid" "$LAB_RUN/unshare.pid"; do
        [ -f "$f" ] && [ -e "/proc/$(cat "$f")" ] && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
done

# 2. cgroups: the container's, then the lab parent, in every hierarchy.
if [ -x "$TUNA_BIN/01-cgroup" ]; then
    "$TUNA_BIN/01-cgroup" delete --kill "$LAB_CONTAINER_CGROUP" 2>/dev/null
    "$TUNA_BIN/01-cgroup" delete --kill "$LAB_CGROUP" 2>/dev/null
fi
# Whatever the tool could not remove (or if it is not built): rmdir, deepest first.
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$h$LAB_CGROUP" ] || continue
    find "$h$LAB_CGROUP" -depth -type d -exec rmdir {} \; 2>/dev/null
done

# 3. Network: deleting a namespace destroys the veth ends in it and their
#    peers, and its nftables tables.
if [ "$LAB_REAL_HOST" = 0 ]; then
    ip netns delete "$LAB_HOST_NS" 2>/dev/null
    ip netns delete "$LAB_UPLINK_NS" 2>/dev/null
else
    [ -x "$TUNA_BIN/06-nat" ] && "$TUNA_BIN/06-nat" disable 2>/dev/null
    # The lab kept the machine's forwarding setting from before step 5.
    [ -f "$LAB_RUN/ip_forward" ] && cat "$LAB_RUN/ip_forward" >/proc/sys/net/ipv4/ip_forward
    [ -f "$LAB_RUN/veth.pid" ] && "$TUNA_BIN/05-veth" del --pid "$(cat "$LAB_RUN/veth.pid")" 2>/dev/null
fi

# 4. Storage: clone, snapshot, image, then the pool (which also stops a
#    zfs-fuse daemon the pool's creation started).
if [ -x "$TUNA_BIN/03-zfs-image" ] && [ -d "$LAB_STORE" ]; then
    for what in "$CONTAINER" "$SNAPSHOT" "$IMAGE"; do
        "$TUNA_BIN/03-zfs-image" --pool "$LAB_POOL" --store "$LAB_STORE" destroy "$what" 2>/dev/null
    done
    "$TUNA_BIN/03-zfs-image" --pool "$LAB_POOL" --store "$LAB_STORE" pool destroy 2>/dev/null
fi
if [ "$LAB_REAL_HOST" = 0 ]; then
    rmdir "$LAB_STORE" "$(dirname "$LAB_STORE")" 2>/dev/null
fi

# 5. The inode-limit step's small ext4 (mount -o loop: its loop device goes
#    with the unmount), what the lab ran programs from, the run directory.
if grep -qF " $LAB_INODES_DIR/mnt " /proc/self/mountinfo; then umount "$LAB_INODES_DIR/mnt"; fi
rm -rf "$LAB_INODES_DIR"
rm -rf "$LAB_EXEC_DIR"
rmdir "$(dirname "$LAB_EXEC_DIR")" 2>/dev/null
rm -rf "$LAB_RUN"
exit 0

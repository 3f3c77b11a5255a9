#!/usr/bin/env bash
# tests/host-state.sh - print the parts of this machine that tuna's tests and
# labs promise to leave alone, in a form that can be diffed before and after:
# the machine's own network namespace (links, addresses, routes, rules,
# nftables ruleset, ip_forward, named namespaces), the mount table, loop
# devices, the cgroup tree, the zfs-fuse daemon and OpenZFS's pools.
set -u

section() { printf '## %s\n' "$1"; }

section links
# Drop the counters-free "link" line's volatile parts: nothing else changes.
ip -o link show 2>&1 | sed 's/^[0-9]*: //'
section addresses
ip -o addr show 2>&1 | sed 's/^[0-9]*: //; s/valid_lft.*//'
section routes
ip route show table all 2>&1
ip -6 route show table all 2>&1
section rules
ip rule show 2>&1
section netns
ip netns list 2>&1
section nftables
nft list ruleset 2>&1
section ip_forward
cat /proc/sys/net/ipv4/ip_forward
section mounts
# Mount point and what is mounted there (the IDs may be reused).  Left out:
# /run/netns itself, which iproute2 bind-mounts onto itself (a tmpfs where
# /run is one) at the first `ip netns add` and never unmounts; the
# namespaces' own /run/netns/NAME mounts stay in, and `ip netns list` above
# names any left behind.
sed 's/^[0-9]* [0-9]* [0-9:]* [^ ]* \([^ ]*\) .* - /\1 /' /proc/self/mountinfo |
    grep -v '^/run/netns ' | sort
section loop
for f in /sys/block/loop*/loop/backing_file; do
    [ -e "$f" ] && echo "${f#/sys/block/}: $(cat "$f")"
done
section cgroups
# The test harness itself runs each command in a memory cgroup under
# process_api/; those come and go and are not ours.
find /sys/fs/cgroup -mindepth 1 -type d -not -path '*/process_api/*' \
    -not -path '*/process_api' 2>/dev/null | sort
section daemons
# A zombie (exited, not yet reaped by init) has stopped.  Where the kernel
# has OpenZFS no daemon should ever run: tuna never starts zfs-fuse there.
pgrep -x -r D,R,S,T zfs-fuse >/dev/null && echo "zfs-fuse running" || echo "zfs-fuse not running"
section zpools
# OpenZFS answers without a daemon: its pools are part of the machine.
if [ -e /dev/zfs ] && command -v zpool >/dev/null 2>&1; then
    zpool list -H -o name 2>&1 | sort
fi
exit 0

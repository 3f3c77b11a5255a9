#!/bin/bash
# tests/student-vm/inside.sh - in the student VM, as its tuna-run.service
# (tests/student-vm/build.sh): run the command tests/student-vm/run.sh
# wrote into /tuna/.tuna-vm/cmd from /tuna, as root, its output on the serial
# console, then one line `TUNA-VM: EXIT STATUS` and power off.
#
# run.sh copies this file onto the checkout's disk at each boot, so a change
# here needs no new image.  Files COMMAND writes to $TUNA_VM_OUT go back to
# the host (run.sh --out) as a tar archive on the disk whose serial is tuna-out.
set -u

export HOME=/root LANG=C.UTF-8 TERM=dumb TUNA_VM=1 TUNA_VM_OUT=/run/tuna-vm-out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p "$TUNA_VM_OUT"
# shellcheck disable=SC1091
. /tuna/.tuna-vm/env
cd /tuna || exit 1

echo "TUNA-VM: BEGIN kernel=$(uname -r) init=$(cat /proc/1/comm) up=$(cut -d ' ' -f 1 /proc/uptime)s"
rc=0
(eval "$(cat /tuna/.tuna-vm/cmd)") </dev/null || rc=$?
echo "TUNA-VM: EXIT $rc"

out=/dev/disk/by-id/virtio-tuna-out
[ -b "$out" ] && tar -cf "$out" -C "$TUNA_VM_OUT" .
sync
# SIGRTMIN+4: systemd starts poweroff.target (systemd(1)); no bus needed.
kill -s RTMIN+4 1

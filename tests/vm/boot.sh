#!/usr/bin/env bash
# tests/vm/boot.sh - boot what tests/vm/build.sh made, under qemu, and copy
# the serial console to LOG.
#
#   tests/vm/boot.sh BUILDDIR LOG     run the cases, console into LOG
#   tests/vm/boot.sh BUILDDIR         a shell on this terminal instead
#                                     (Ctrl-A X quits qemu)
#
# No KVM is assumed: qemu emulates the CPU (TCG), two vCPUs on its
# multi-threaded TCG.  The kernel runs with only cgroup v2
# (cgroup_no_v1=all), panics stop the VM (panic=-1 with -no-reboot) instead
# of rebooting it, and a VM that hangs is killed after $TUNA_VM_TIMEOUT
# seconds (default 600): the exit status is then timeout(1)'s 124.
# TUNA_VM_CASES=GROUP,... runs only those groups of tests/vm/cases.sh.
set -eu

BUILD=${1:?usage: boot.sh BUILDDIR [LOG]}
LOG=${2:-}
TIMEOUT=${TUNA_VM_TIMEOUT:-600}
MEMORY_MB=1024
CPUS=2
KERNEL_ARGS="console=ttyS0 cgroup_no_v1=all panic=-1 quiet"
# Only some groups of cases (tests/vm/cases.sh), while working on them.
[ -n "${TUNA_VM_CASES:-}" ] && KERNEL_ARGS="$KERNEL_ARGS tuna.cases=$TUNA_VM_CASES"

accel=tcg
# TCG unless asked for KVM (TUNA_VM_KVM=1): a /dev/kvm that opens is not
# always one that works (qemu can abort setting up the vCPU), and the cases
# are the same either way, only slower.
if [ "${TUNA_VM_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then accel=kvm; fi

QEMU=(qemu-system-x86_64
    -machine "q35,accel=$accel" -cpu max -smp "$CPUS" -m "$MEMORY_MB"
    -kernel "$BUILD/vmlinuz" -initrd "$BUILD/initramfs.cpio"
    -nic none -no-reboot)

if [ -z "$LOG" ]; then
    exec "${QEMU[@]}" -append "$KERNEL_ARGS tuna.shell" -nographic
fi
exec timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" -append "$KERNEL_ARGS" \
    -display none -monitor none -serial "file:$LOG" </dev/null

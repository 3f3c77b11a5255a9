#!/usr/bin/env bash
# tests/student-vm/run.sh - run a command as root on the student's machine:
# a stock Debian 12 VM (systemd, cgroup v2 only, OpenZFS kernel module;
# tests/student-vm/build.sh), with this tuna checkout copied in.
#
#   tests/student-vm/run.sh [OPTIONS] COMMAND [ARGS...]
#   tests/student-vm/run.sh --console          a root shell on this terminal (make vm)
#
# COMMAND runs from the checkout's root (/tuna in the VM) once the VM has
# reached multi-user, through bash's eval of the quoted words: `run.sh
# tests/run test_01_cgroup`, `run.sh bash -c 'zfs version; make lab'`.  Its
# output, with the rest of the serial console, streams to stdout; run.sh exits
# with COMMAND's status.  The VM then powers off; nothing stays on the host
# but the cached image.
#
# Options:
#   --timeout S        kill the VM after S seconds (default 1800): exit 124,
#                      with the console's last lines
#   --out DIR          the files COMMAND leaves in $TUNA_VM_OUT come back into DIR
#   --env NAME=VALUE   set in COMMAND's environment (TUNA_MUST_RUN is passed on
#                      when it is set here)
#   --tree DIR         the tuna checkout to copy in (default: the git checkout
#                      holding the current directory, if it is a tuna tree;
#                      else the one holding this script); `make` runs there first
#   --log FILE         the console into FILE too (as it comes)
#   --quiet            do not stream the console (it is still in --log FILE)
#
# Each run boots the cached image read-only under a throwaway overlay
# (qemu's snapshot=on, its file under a temporary directory removed at the
# end), so the image never changes and a killed run leaves nothing to clean.
# The checkout comes in as a second disk (an ext4 image made with mke2fs -d:
# Debian's cloud kernel has no 9p).  /tmp/tuna-vm.lock is held while the image
# is built and the VM runs (TUNA_VM_LOCK_HELD=1: the caller holds it already);
# --console does not wait for it: it says the VM is in use and exits 1.
#
# TUNA_VM_KVM=1: KVM instead of TCG, where /dev/kvm works.
#
# Exit status: COMMAND's; 124 the timeout; 125 the VM stopped before COMMAND
# ended; 3 no VM here (qemu or the image's build tools missing, not root);
# 2 bad usage; 1 the image could not be built.
set -eu

VM_DIR=$(cd "$(dirname "$0")" && pwd)
OWN_TREE=$(cd "$VM_DIR/../.." && pwd)
LOCK=${TUNA_VM_LOCK:-/tmp/tuna-vm.lock}
TIMEOUT=1800
MEMORY_MB=2048
CPUS=2
EXIT_CANNOT=3
EXIT_VM_STOPPED=125

OUT_DIR=
LOG_COPY=
QUIET=0
CONSOLE=0
TREE=
ENVS=()

say() { echo "student-vm: $*" >&2; }
usage() {
    sed -n 's/^# \{0,1\}//; 5,6p; 16,28p' "$0" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --timeout)
        if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then say "--timeout takes a number of seconds"; exit 2; fi
        TIMEOUT=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; OUT_DIR=$2; shift 2 ;;
    --env)
        if [ $# -lt 2 ] || ! [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then say "--env takes NAME=VALUE"; exit 2; fi
        ENVS+=("$2"); shift 2 ;;
    --tree) [ $# -ge 2 ] || usage; TREE=$2; shift 2 ;;
    --log) [ $# -ge 2 ] || usage; LOG_COPY=$2; shift 2 ;;
    --quiet) QUIET=1; shift ;;
    --console) CONSOLE=1; shift ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) say "unknown option $1"; usage ;;
    *) break ;;
    esac
done
if [ "$CONSOLE" = 0 ] && [ $# = 0 ]; then
    say "no command to run"
    usage
fi
[ -n "${TUNA_MUST_RUN:-}" ] && ENVS=("TUNA_MUST_RUN=$TUNA_MUST_RUN" "${ENVS[@]}")

# is_tuna_tree DIR: a tuna checkout.
is_tuna_tree() { [ -f "$1/labs/all.sh" ] && [ -d "$1/steps" ] && [ -f "$1/Makefile" ]; }

if [ -z "$TREE" ]; then
    TREE=$(git -C "$PWD" rev-parse --show-toplevel 2>/dev/null) || TREE=
    is_tuna_tree "${TREE:-/nonexistent}" || TREE=$OWN_TREE
fi
TREE=$(cd "$TREE" && pwd)
is_tuna_tree "$TREE" || { say "$TREE is not a tuna checkout"; exit 2; }

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    { say "requires qemu-system-x86_64 (Debian package qemu-system-x86; make deps installs it)"; exit "$EXIT_CANNOT"; }
for c in mke2fs:e2fsprogs timeout:coreutils tar:tar; do
    command -v "${c%%:*}" >/dev/null 2>&1 ||
        { say "requires ${c%%:*} (Debian package ${c#*:})"; exit "$EXIT_CANNOT"; }
done

# --- the lock --------------------------------------------------------------------
if [ "${TUNA_VM_LOCK_HELD:-0}" != 1 ]; then
    exec 9>>"$LOCK"
    if ! flock -n 9; then
        if [ "$CONSOLE" = 1 ]; then
            say "the student VM is in use (another run holds $LOCK); try again when it has powered off"
            exit 1
        fi
        say "waiting for $LOCK (another VM is running)"
        flock 9
    fi
fi

IMAGE=$(TUNA_VM_LOCK_HELD=1 "$VM_DIR/build.sh")

# --- this run's disks --------------------------------------------------------------
RUN_DIR=$(mktemp -d /tmp/tuna-vm-run.XXXXXX)
QEMU_PID=
TAIL_PID=
# shellcheck disable=SC2317  # run by the trap
cleanup() {
    if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null || true; fi
    # timeout passes the signal on to qemu and waits for it.
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The tools built as the checkout's Makefile builds them, then the tree
# (mtimes kept, so `make` inside finds it up to date) without git's files.
make -s -C "$TREE" all >&2 || { say "make in $TREE failed"; exit 1; }
STAGE=$RUN_DIR/tree
mkdir -p "$STAGE/.tuna-vm"
tar -C "$TREE" --exclude=./.git --exclude=./bin-sanitize --exclude=./build/sanitize \
    --exclude=./build/fuzz -cf - . | tar -C "$STAGE" -xf -
install -m 755 "$VM_DIR/inside.sh" "$STAGE/.tuna-vm/inside.sh"
printf '%q ' "$@" >"$STAGE/.tuna-vm/cmd"
: >"$STAGE/.tuna-vm/env"
for e in ${ENVS[@]+"${ENVS[@]}"}; do
    printf 'export %s=%q\n' "${e%%=*}" "${e#*=}" >>"$STAGE/.tuna-vm/env"
done
tree_mb=$(($(du -sm "$STAGE" | cut -f 1) + 512))
truncate -s "${tree_mb}M" "$RUN_DIR/tree.img"
mke2fs -q -t ext4 -L tuna-tree -d "$STAGE" -E root_owner=0:0 "$RUN_DIR/tree.img"
rm -rf "$STAGE"

# TCG (qemu emulates the CPU) unless asked for KVM: a /dev/kvm that opens
# is not enough (nested, it can fail at the first vCPU reset).
accel=tcg cpu=max
if [ "${TUNA_VM_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then accel=kvm cpu=host; fi
APPEND="console=ttyS0 root=/dev/vda rw panic=-1"
QEMU=(qemu-system-x86_64
    -machine "q35,accel=$accel" -cpu "$cpu" -smp "$CPUS" -m "$MEMORY_MB"
    -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.img"
    -drive "file=$IMAGE/root.img,format=raw,if=none,id=root,snapshot=on"
    -device "virtio-blk-pci,drive=root,serial=tuna-root"
    -drive "file=$RUN_DIR/tree.img,format=raw,if=none,id=tree"
    -device "virtio-blk-pci,drive=tree,serial=tuna-tree"
    -nic none -no-reboot)
if [ -n "$OUT_DIR" ]; then
    truncate -s 1G "$RUN_DIR/out.img"
    QEMU+=(-drive "file=$RUN_DIR/out.img,format=raw,if=none,id=out"
        -device "virtio-blk-pci,drive=out,serial=tuna-out")
fi
# snapshot=on's overlay goes to TMPDIR: this run's directory.
export TMPDIR=$RUN_DIR

if [ "$CONSOLE" = 1 ]; then
    say "booting $(cat "$IMAGE/kernel-version") ($accel); root logs in on this console, the checkout is /tuna"
    say "poweroff (or Ctrl-A X) ends it"
    rc=0
    "${QEMU[@]}" -append "$APPEND quiet" -nographic -serial mon:stdio || rc=$?
    exit "$rc"
fi

# The console goes straight into --log FILE, so it can be followed live.
LOG=${LOG_COPY:-$RUN_DIR/console.log}
: >"$LOG"
start=$(date +%s)
timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" \
    -append "$APPEND quiet tuna.run systemd.mask=serial-getty@ttyS0.service" \
    -display none -monitor none -serial "file:$LOG" </dev/null &
QEMU_PID=$!
if [ "$QUIET" = 0 ]; then
    tail -n +1 -f --pid="$QEMU_PID" "$LOG" &
    TAIL_PID=$!
fi
rc=0
wait "$QEMU_PID" || rc=$?
QEMU_PID=
if [ -n "$TAIL_PID" ]; then
    wait "$TAIL_PID" 2>/dev/null || true
    TAIL_PID=
fi
seconds=$(($(date +%s) - start))

if [ -n "$OUT_DIR" ]; then
    mkdir -p "$OUT_DIR"
    tar -xf "$RUN_DIR/out.img" -C "$OUT_DIR" 2>/dev/null || say "COMMAND left nothing in \$TUNA_VM_OUT"
fi

status=$(tr -d '\r' <"$LOG" | sed -n 's/^TUNA-VM: EXIT \([0-9][0-9]*\)$/\1/p' | tail -n 1)
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    say "the VM did not finish in ${TIMEOUT}s: qemu killed; the console's last lines:"
    tail -n 25 "$LOG" | tr -d '\r' | sed 's/^/  | /' >&2
    exit 124
fi
if [ -z "$status" ]; then
    say "the VM stopped (qemu status $rc after ${seconds}s) before the command ended; the console's last lines:"
    tail -n 25 "$LOG" | tr -d '\r' | sed 's/^/  | /' >&2
    exit "$EXIT_VM_STOPPED"
fi
say "the command exited $status; boot, run and power-off took ${seconds}s"
exit "$status"

#!/usr/bin/env bash
# labs/measure/start-bench.sh - how long does it take to start a container?
#
# The same container four ways: six new namespaces (mount, UTS, IPC, net,
# PID, cgroup), a busybox root made the root with pivot_root, a fresh /proc,
# the old root detached, then /bin/true:
#
#   tuna        02-unshare --mount --uts --ipc --net --pid --cgroup --fork
#                 -- 04-pivot ROOT -- /bin/true
#   util-linux  unshare (same flags) + a shell doing the post's
#                 mount --bind / pivot_root / mount -t proc / umount -l
#   bwrap       bubblewrap with the same namespaces, ROOT bound on /, --proc
#   crun        crun run of an OCI bundle with the same rootfs, namespaces and
#               /proc mount (installed with apt-get if missing, else skipped).
#               crun refuses this hybrid cgroup layout ("cgroups in hybrid
#               mode not supported"), so it runs under unshare --mount with a
#               private tmpfs over /sys/fs/cgroup/unified; that wrapper is
#               timed alone too, and --cgroup-manager=disabled keeps crun from
#               making cgroups (tuna's start makes none either).
#
# Runs are interleaved (one of each per round) so load from elsewhere hits
# all of them alike; the figure is the median wall time.  The issue's
# targets: tuna at most 1/2 of util-linux, at most 1/5 of crun.  This is a
# measurement, not a test: it reports whether they hold and always exits 0
# once it has measured.
#
# Usage: sudo labs/measure/start-bench.sh [--runs N]   (N >= 10, default 30)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TUNA_ROOT=$(cd "$HERE/../.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
# shellcheck source=labs/measure/lib.sh
. "$HERE/lib.sh"
RUNS=30
MIN_RUNS=10
WARMUP=3
APPLETS="sh true mount umount mkdir rmdir"

runs_option start-bench "$@"
[ "$(id -u)" = 0 ] || { echo "start-bench: needs root (namespaces, mounts)" >&2; exit 1; }
for tool in busybox unshare; do
    command -v "$tool" >/dev/null || { echo "start-bench: needs $tool" >&2; exit 1; }
done
for tool in 02-unshare 04-pivot; do
    [ -x "$TUNA_BIN/$tool" ] || { echo "start-bench: build first: make bin/$tool" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tuna-start-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# --- the container root: busybox and a few applet links ----------------------
ROOT=$WORK/root
mkdir -p "$ROOT/bin" "$ROOT/proc" "$ROOT/dev"
cp "$(command -v busybox)" "$ROOT/bin/busybox"
for a in $APPLETS; do ln -s busybox "$ROOT/bin/$a"; done

# --- the contenders: NAME, then the command as one string for bash -c --------
NAMES=() COMMANDS=()
add() { NAMES+=("$1"); COMMANDS+=("$2"); }

NS="--mount --uts --ipc --net --pid --cgroup"
add baseline "exec /bin/true"
add tuna "exec '$TUNA_BIN/02-unshare' $NS --fork -- '$TUNA_BIN/04-pivot' '$ROOT' -- /bin/true"
# The post's commands.  After pivot_root the shell finds mount/umount in ROOT.
add util-linux "exec unshare $NS --fork sh -c 'mount --bind \"\$0\" \"\$0\" && cd \"\$0\" \
&& mkdir -p oldroot && pivot_root . oldroot && cd / && mount -t proc proc /proc \
&& umount -l /oldroot && rmdir /oldroot && exec /bin/true' '$ROOT'"
if command -v bwrap >/dev/null; then
    add bwrap "exec bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts \
--unshare-cgroup --bind '$ROOT' / --proc /proc /bin/true"
else
    echo "bwrap: not installed (apt-get install bubblewrap); skipped"
fi

crun_reason=""
if ! command -v crun >/dev/null; then
    echo "crun: not installed; trying apt-get install -y crun ..."
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends crun \
        >"$WORK/apt.log" 2>&1; then
        crun_reason="apt-get install crun failed: $(tail -1 "$WORK/apt.log")"
    fi
fi
if [ -z "$crun_reason" ] && command -v crun >/dev/null && command -v jq >/dev/null; then
    BUNDLE=$WORK/bundle
    mkdir -p "$BUNDLE"
    (cd "$BUNDLE" && crun spec)
    # Only what the others do: six namespaces, the rootfs, /proc; no
    # terminal, no masked paths, no resource limits.
    jq --arg root "$ROOT" '.process.terminal = false | .process.args = ["/bin/true"]
        | .root.path = $root | .root.readonly = false
        | .mounts = [.mounts[] | select(.destination == "/proc")]
        | .linux.namespaces = [{"type":"pid"},{"type":"network"},{"type":"ipc"},
                               {"type":"uts"},{"type":"mount"},{"type":"cgroup"}]
        | del(.linux.resources) | .linux.maskedPaths = [] | .linux.readonlyPaths = []' \
        "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
    CRUN_WRAP="unshare --mount sh -c 'mount -t tmpfs tuna-nocgroup2 /sys/fs/cgroup/unified && exec \"\$@\"' sh"
    add crun "exec $CRUN_WRAP crun --root '$WORK/crun-state' --cgroup-manager=disabled \
run --bundle '$BUNDLE' tuna-bench-\$RANDOM\$RANDOM"
    add crun-wrapper-only "exec $CRUN_WRAP /bin/true"
elif [ -z "$crun_reason" ]; then
    crun_reason="crun or jq missing"
fi
[ -z "$crun_reason" ] || echo "crun: skipped: $crun_reason"

# --- check each works once; drop any that does not -----------------------------
keep_names=() keep_commands=()
for i in "${!NAMES[@]}"; do
    if (eval "${COMMANDS[$i]}") >"$WORK/check.out" 2>&1; then
        keep_names+=("${NAMES[$i]}") keep_commands+=("${COMMANDS[$i]}")
    else
        echo "${NAMES[$i]}: does not run here, skipped: $(tail -1 "$WORK/check.out")"
    fi
done
NAMES=("${keep_names[@]}") COMMANDS=("${keep_commands[@]}")

# --- measure -------------------------------------------------------------------
# Each run timed with time_once (lib.sh): a forked subshell that execs the
# command, as hyperfine -N would; the "baseline" row is that cost with
# /bin/true alone.
time_rounds "$WARMUP" "$RUNS"

ms() { awk -v us="$1" 'BEGIN {printf "%.1f", us / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

declare -A MEDIAN MIN
for name in "${NAMES[@]}"; do
    [ -s "$WORK/times.$name" ] || continue
    MEDIAN[$name]=$(median_us "$WORK/times.$name")
    MIN[$name]=$(sort -n "$WORK/times.$name" | head -1)
done
[ -n "${MEDIAN[tuna]:-}" ] || { echo "start-bench: tuna did not run" >&2; exit 1; }
base=${MEDIAN[baseline]:-0}
echo
echo "Starting a container (6 namespaces, pivot_root, /proc, /bin/true):"
echo "median wall time of $RUNS runs each, interleaved; $(nproc) CPUs, kernel $(uname -r)"
echo "(minus baseline: without the harness's own fork+exec of the command)"
printf '  %-18s %9s %9s %15s %11s\n' contender "median ms" "min ms" "minus baseline" "tuna/this"
for name in "${NAMES[@]}"; do
    [ -n "${MEDIAN[$name]:-}" ] || continue
    printf '  %-18s %9s %9s %15s %11s\n' "$name" "$(ms "${MEDIAN[$name]}")" \
        "$(ms "${MIN[$name]}")" "$(ms $((MEDIAN[$name] - base)))" \
        "$(ratio "${MEDIAN[tuna]}" "${MEDIAN[$name]}")"
done

# claim NAME LIMIT TEXT: does tuna's median stay within LIMIT x NAME's?
claim() {
    local r
    if [ -z "${MEDIAN[$1]:-}" ]; then
        echo "target: tuna <= $3 of $1: not measured ($1 skipped)"
        return
    fi
    r=$(ratio "${MEDIAN[tuna]}" "${MEDIAN[$1]}")
    if awk -v r="$r" -v l="$2" 'BEGIN {exit !(r <= l)}'; then
        echo "target: tuna <= $3 of $1: holds (tuna/$1 = $r)"
    else
        echo "target: tuna <= $3 of $1: does NOT hold (tuna/$1 = $r, target <= $2)"
    fi
}
echo
claim util-linux 0.5 "1/2"
claim crun 0.2 "1/5"
if [ -n "${MEDIAN[crun-wrapper-only]:-}" ] && [ -n "${MEDIAN[crun]:-}" ]; then
    net=$((MEDIAN[crun] - MEDIAN[crun-wrapper-only]))
    echo "crun without its unshare+tmpfs wrapper: about $(ms "$net") ms" \
        "(tuna/that = $(ratio "${MEDIAN[tuna]}" "$net"))"
fi
exit 0

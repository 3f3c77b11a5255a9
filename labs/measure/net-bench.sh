#!/usr/bin/env bash
# labs/measure/net-bench.sh - how long do the container's network and its
# way out take to set up: 05-veth and 06-nat against the post's commands.
#
# 05-veth add (one process, one netlink message per change) against:
#   post      the post's eight ip(8) commands, one process each: four on the
#             host, four inside the container (ip -n, i.e. ip after setns)
#   ip-batch  the same eight commands in two `ip -batch` processes
# 06-nat enable (ip_forward + one nfnetlink batch) against:
#   nft-f     nft -f FILE with the same table, chain and rule
#   iptables  iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE
#             (iptables-nft here)
#   post      the post's pair: sysctl -w net.ipv4.ip_forward=1, then iptables
#
# A "floor" row times /bin/true: starting a process at all, which every
# contender pays once per command (more on a loaded machine).
#
# Everything runs in scratch network namespaces made here and deleted on
# exit (a "host" one, and a container held by a sleep process); the
# machine's own network namespace is never touched.  Each contender starts
# from the same state: what a run made is removed, untimed, before the next.
# Runs are interleaved (one of each per round); the figure is the median
# wall time, taken with bash's $EPOCHREALTIME (no process to start a clock).
# The issue's targets: 05-veth add at least 10x faster than the post's ip
# sequence, 06-nat enable at least 5x faster than nft -f.  A measurement,
# not a test: it reports whether they hold and exits 0 once it has measured.
#
# Usage: sudo labs/measure/net-bench.sh [--runs N]   (N >= 10, default 20)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TUNA_ROOT=$(cd "$HERE/../.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
# shellcheck source=labs/measure/lib.sh
. "$HERE/lib.sh"
RUNS=20
MIN_RUNS=10
WARMUP=2
SOURCE=172.17.0.0/16

# --- inside the host namespace: the measurements ----------------------------


# timed NAME CMD...: run CMD (quietly; it must succeed), add its time to
# NAME's file.  The clock is read in this shell ($EPOCHREALTIME is "s.micro"),
# never in a $(...) subshell, whose fork would be timed too.
timed() {
    local name=$1 start end
    shift
    start=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>&1 || { echo "net-bench: $name failed: $*" >&2; exit 1; }
    end=${EPOCHREALTIME/./}
    echo $((10#$end - 10#$start)) >>"$WORK/$name"
}

veth_tuna() {
    "$TUNA_BIN/05-veth" add --pid "$CPID" --host-addr 172.17.0.1/16 \
        --container-addr 172.17.0.2/16 --gateway 172.17.0.1
}

veth_post() {
    ip link add name "h$CPID" type veth peer name "c$CPID" &&
        ip link set "c$CPID" netns "$CPID" &&
        ip addr add 172.17.0.1/16 dev "h$CPID" &&
        ip link set dev "h$CPID" up &&
        ip -n "$CNS" link set dev lo up &&
        ip -n "$CNS" link set "c$CPID" name eth0 up &&
        ip -n "$CNS" addr add 172.17.0.2/16 dev eth0 &&
        ip -n "$CNS" route add default via 172.17.0.1
}

veth_ip_batch() {
    ip -batch "$WORK/host.batch" && ip -n "$CNS" -batch "$WORK/container.batch"
}

# Deleting the host end deletes the pair, and with it eth0's address and route.
veth_undo() { ip link del "h$CPID"; }

nat_tuna() { "$TUNA_BIN/06-nat" enable --source "$SOURCE"; }
nat_nft() { nft -f "$WORK/ruleset.nft"; }
nat_iptables() { iptables -t nat -A POSTROUTING -s "$SOURCE" -j MASQUERADE; }
nat_post() { sysctl -qw net.ipv4.ip_forward=1 && nat_iptables; }
# Back to an empty ruleset and forwarding off, so every run starts alike.
nat_undo() { nft flush ruleset && echo 0 >/proc/sys/net/ipv4/ip_forward; }

inner() {
    local round name
    cat >"$WORK/host.batch" <<EOF
link add name h$CPID type veth peer name c$CPID
link set c$CPID netns $CPID
addr add 172.17.0.1/16 dev h$CPID
link set dev h$CPID up
EOF
    cat >"$WORK/container.batch" <<EOF
link set dev lo up
link set c$CPID name eth0 up
addr add 172.17.0.2/16 dev eth0
route add default via 172.17.0.1
EOF
    cat >"$WORK/ruleset.nft" <<EOF
table ip tuna {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr $SOURCE counter masquerade
    }
}
EOF
    for round in $(seq $((WARMUP + RUNS))); do
        timed floor /bin/true
        for name in veth_tuna veth_post veth_ip_batch; do
            timed "$name" "$name"
            veth_undo
        done
        for name in nat_tuna nat_nft nat_iptables nat_post; do
            timed "$name" "$name"
            nat_undo
        done
        # The warm-up rounds fill caches (page cache, the kernel's modules
        # of nf_tables expressions) and are not counted.
        if [ "$round" = "$WARMUP" ]; then rm -f "$WORK"/veth_* "$WORK"/nat_* "$WORK/floor"; fi
    done
}

# report BASE NAME...: median and minimum of each, and its median over BASE's.
report() {
    local base=$1 name
    shift
    printf '  %-10s %10s %10s %8s\n' "" median min "/ ${base#*_}"
    for name in "$base" "$@"; do
        awk -v name="${name#*_}" -v base="$(median_us "$WORK/$base")" \
            -v med="$(median_us "$WORK/$name")" -v min="$(sort -n "$WORK/$name" | head -1)" \
            'BEGIN { printf "  %-10s %8.2fms %8.2fms %7.1fx\n", name, med / 1000, min / 1000, med / base }'
    done
}

# verdict WHAT BASE OTHER TARGET: is OTHER's median at least TARGET times BASE's?
verdict() {
    awk -v what="$1" -v base="$(median_us "$WORK/$2")" -v other="$(median_us "$WORK/$3")" \
        -v target="$4" 'BEGIN {
            r = other / base
            printf "  target %s: %.1fx %s %sx: %s\n", what, r, (r >= target) ? ">=" : "<",
                   target, (r >= target) ? "holds" : "does NOT hold" }'
}

if [ "${1:-}" = --inner ]; then
    WORK=$2 CPID=$3 CNS=$4 RUNS=$5
    inner
    awk -v us="$(median_us "$WORK/floor")" \
        'BEGIN { printf "floor: starting /bin/true takes %.2fms (median)\n", us / 1000 }'
    echo "05-veth add vs the post's ip commands ($RUNS runs each, interleaved):"
    report veth_tuna veth_post veth_ip_batch
    verdict "05-veth add vs post" veth_tuna veth_post 10
    echo "06-nat enable vs nft -f and iptables ($RUNS runs each, interleaved):"
    report nat_tuna nat_nft nat_iptables nat_post
    verdict "06-nat enable vs nft -f" nat_tuna nat_nft 5
    exit 0
fi

# --- outside: options, the scratch world, and its teardown -------------------

runs_option net-bench "$@"
[ "$(id -u)" = 0 ] || { echo "net-bench: needs root (network namespaces)" >&2; exit 1; }
for tool in ip nft iptables sysctl awk; do
    command -v "$tool" >/dev/null || { echo "net-bench: needs $tool (make deps)" >&2; exit 1; }
done
for tool in 05-veth 06-nat; do
    [ -x "$TUNA_BIN/$tool" ] || { echo "net-bench: build first: make bin/$tool" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tuna-net-bench.XXXXXX)
HOST=nbh$$
CNS=nbc$$
CPID=
teardown() {
    [ -z "$CPID" ] || kill "$CPID" 2>/dev/null || true
    ip netns delete "$HOST" 2>/dev/null || true
    ip netns delete "$CNS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 130' INT TERM

ip netns add "$HOST"
ip netns add "$CNS"
ip -n "$HOST" link set lo up
ip netns exec "$CNS" sleep 3600 &
CPID=$!
# Until sleep has joined the namespace, /proc/$CPID/ns/net is the machine's
# own, which 05-veth must never be pointed at.
joined=0
for _ in $(seq 250); do
    if [ "$(stat -L -c %i "/proc/$CPID/ns/net")" = "$(stat -L -c %i "/run/netns/$CNS")" ]; then
        joined=1
        break
    fi
    sleep 0.02
done
[ "$joined" = 1 ] || { echo "net-bench: the container process did not enter $CNS" >&2; exit 1; }

echo "net-bench: kernel $(uname -r), $(nproc) CPUs, $(ip -V | sed 's/, libbpf.*//'), $(nft -v), $(iptables -V)"
ip netns exec "$HOST" bash "$0" --inner "$WORK" "$CPID" "$CNS" "$RUNS"

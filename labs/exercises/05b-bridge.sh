#!/usr/bin/env bash
# labs/exercises/05b-bridge.sh - exercise 05b: two containers on one bridge.
#
# Checks, by reading the kernel's link, address and neighbour tables with
# `ip -j` in each network namespace (nsenter --net only joins it, to read):
#   host ($EX_NETNS): the bridge $EX_BRIDGE exists and is UP
#   each of two containers: a veth UP with an IPv4 address, whose peer (the
#     host end: its ifindex is the container end's link_index, and the other
#     way round) is a port of the bridge, UP
#   the two addresses differ and share one subnet
#   the first container has the second in its neighbour table, with the
#   second's MAC address: an ARP answer crossed the bridge (a ping did it)
#
# Targets: EX_NETNS (default tuna-ex-host: never the machine's own),
# EX_BRIDGE (default br0), EX_PIDS ("PID1 PID2", host PIDs of the two
# containers; default: the two newest shells in network namespaces of their
# own with a veth plugged into the bridge).
# Docs: man 8 ip-link (bridge, veth, master), man 8 bridge, man 8 ip-neighbour,
# man 7 network_namespaces.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_NETNS=${EX_NETNS:-tuna-ex-host}
EX_BRIDGE=${EX_BRIDGE:-br0}

task() {
    cat <<EOF
Exercise 05b - a bridge: two containers on one network ping each other

A bridge is a switch inside the kernel: plug the host end of each container's
veth pair into it, and the containers share one network (the post's C27). As in
exercise 05, the host's side lives in a namespace of its own, $EX_NETNS:
      ip netns add $EX_NETNS
      ip -n $EX_NETNS link add name $EX_BRIDGE type bridge
      ip -n $EX_NETNS addr add 172.17.0.1/16 dev $EX_BRIDGE
      ip -n $EX_NETNS link set $EX_BRIDGE up
Terminals 1 and 2, two containers:  unshare --net --uts --pid --mount --fork bash
Terminal 3, the host, for each container (CPID = its shell's host PID):
      ip -n $EX_NETNS link add name h\$CPID type veth peer name c\$CPID
      ip -n $EX_NETNS link set c\$CPID netns \$CPID
      ip -n $EX_NETNS link set h\$CPID master $EX_BRIDGE up
In each container (172.17.0.2 in the first, 172.17.0.3 in the second):
      ip link set dev lo up
      ip link set c\$CPID name eth0 up
      ip addr add 172.17.0.2/16 dev eth0
Then, in the first:  ping -c 1 172.17.0.3
Or ours, from the host, once per container (it makes the bridge if needed):
      ip netns exec $EX_NETNS bin/05-veth add --pid \$CPID --bridge $EX_BRIDGE \\
          --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16

Think about: the host ends have no address: why do the containers still reach
each other? What does the bridge learn when the first ping goes through
(bridge -n $EX_NETNS fdb show br $EX_BRIDGE)?

Check:   make exercise N=05b     (or: labs/exercises/run 05b), after the ping
Targets: EX_NETNS=$EX_NETNS, EX_BRIDGE=$EX_BRIDGE, EX_PIDS="<PID1> <PID2>"
         (host PIDs of the two shells, the pinging one first; default: the two
         newest shells with a veth plugged into the bridge)
Undo:    exit both containers' shells; ip netns delete $EX_NETNS
EOF
}
exercise_start "$@"
need_root

# --- the kernel's state, read once -----------------------------------------------------------
HOST_NS_FILE=/run/netns/$EX_NETNS

# links_in NSFILE: `ip -j -d link show` in that network namespace.
links_in() {
    nsenter --net="$1" ip -j -d link show 2>/dev/null
}

# host_port_for PID: "IFNAME IFINDEX" of the veth in PID's network namespace
# whose peer is a port of the bridge in the host namespace, and sets
# PORT_NAME, PORT_STATE to that peer's name and state.  Returns 1 if none.
host_port_for() {
    local links index link_index port
    links=$(links_in "/proc/$1/ns/net") || return 1
    while read -r index link_index; do
        [ -n "$index" ] || continue
        port=$(jq -r --argjson i "$link_index" --argjson peer "$index" \
            '.[] | select(.ifindex == $i and .link_index == $peer) | "\(.ifname) \(.master // "-") \(.operstate)"' \
            <<<"$HOST_LINKS")
        [ -n "$port" ] || continue
        read -r PORT_NAME PORT_MASTER PORT_STATE <<<"$port"
        CONTAINER_IF=$(jq -r --argjson i "$index" '.[] | select(.ifindex == $i) | .ifname' <<<"$links")
        return 0
    done < <(jq -r '.[] | select(.linkinfo.info_kind == "veth" and .link_index != null) | "\(.ifindex) \(.link_index)"' <<<"$links")
    return 1
}

HOST_LINKS='[]'
[ -e "$HOST_NS_FILE" ] && HOST_LINKS=$(links_in "$HOST_NS_FILE")
BRIDGE_STATE=$(jq -r --arg b "$EX_BRIDGE" \
    '.[] | select(.ifname == $b and .linkinfo.info_kind == "bridge") | .operstate' <<<"$HOST_LINKS")

# The two containers: EX_PIDS, or the newest shells whose veth is plugged in.
if [ -z "${EX_PIDS:-}" ] && [ -n "$BRIDGE_STATE" ]; then
    seen=''
    while read -r pid comm; do
        case "$comm" in bash | sh | dash | ash | zsh | busybox) ;; *) continue ;; esac
        ns=$(ns_of "$pid" net)
        if [ -z "$ns" ] || [ "$ns" = "$(host_ns net)" ]; then continue; fi
        case " $seen " in *" $ns "*) continue ;; esac
        if host_port_for "$pid" && [ "$PORT_MASTER" = "$EX_BRIDGE" ]; then
            seen="$seen $ns" EX_PIDS="${EX_PIDS:-}${EX_PIDS:+ }$pid"
        fi
    done < <(ps -e -o pid=,comm= --sort=-start_time)
fi
read -r PID_A PID_B _ <<<"${EX_PIDS:-}"

# container_addr PID: "ADDRESS/PREFIX" of CONTAINER_IF in PID's namespace.
container_addr() {
    nsenter --net="/proc/$1/ns/net" ip -j -4 addr show dev "$2" 2>/dev/null |
        jq -r '.[0].addr_info[0] | select(.local) | "\(.local)/\(.prefixlen)"'
}

# container_mac PID IFNAME
container_mac() {
    nsenter --net="/proc/$1/ns/net" ip -j link show dev "$2" 2>/dev/null | jq -r '.[0].address'
}

# network ADDRESS/PREFIX: the network's first address, as a number, and the prefix.
network() {
    local a b c d prefix=${1#*/}
    IFS=. read -r a b c d <<<"${1%/*}"
    echo "$(( ((a << 24 | b << 16 | c << 8 | d) >> (32 - prefix)) << (32 - prefix) ))/$prefix"
}

# --- the checks --------------------------------------------------------------------------------

test_the_bridge_is_up_in_the_host_namespace() {
    if [ ! -e "$HOST_NS_FILE" ]; then
        wrong "there is no network namespace $EX_NETNS: it stands for the post's host," \
            "so that the machine's own network is never touched. Do: ip netns add $EX_NETNS"
    elif [ -z "$BRIDGE_STATE" ]; then
        wrong "$EX_NETNS has no bridge $EX_BRIDGE. Do: ip -n $EX_NETNS link add name" \
            "$EX_BRIDGE type bridge && ip -n $EX_NETNS link set $EX_BRIDGE up"
    elif [ "$BRIDGE_STATE" = DOWN ]; then
        wrong "the bridge $EX_BRIDGE is DOWN: a bridge that is down forwards nothing." \
            "Do: ip -n $EX_NETNS link set $EX_BRIDGE up"
    else
        ok "the bridge $EX_BRIDGE in $EX_NETNS is $BRIDGE_STATE"
    fi
}

# check_container PID WHICH: ok or wrong for one container's plug.
check_container() {
    local pid=$1 which=$2
    if ! process_exists "$pid"; then
        wrong "no $which container: give two host PIDs, EX_PIDS=\"PID1 PID2\", or start" \
            "two shells with their own network namespace and plug their veth into" \
            "$EX_BRIDGE (the task shows how)." \
            "Do: unshare --net --uts --pid --mount --fork bash"
        return 0
    fi
    if ! host_port_for "$pid"; then
        wrong "process $pid ($which container) has no veth whose other end is in" \
            "$EX_NETNS. Do: ip -n $EX_NETNS link add name h$pid type veth peer name" \
            "c$pid && ip -n $EX_NETNS link set c$pid netns $pid"
    elif [ "$PORT_MASTER" != "$EX_BRIDGE" ]; then
        wrong "the host end of process $pid's $CONTAINER_IF, $PORT_NAME, is not a port of" \
            "$EX_BRIDGE (its master is $PORT_MASTER): frames from this container never reach" \
            "the bridge, so it cannot reach the other. Do: ip -n $EX_NETNS link set" \
            "$PORT_NAME master $EX_BRIDGE up"
    elif [ "$PORT_STATE" = DOWN ]; then
        wrong "$PORT_NAME, the bridge port of process $pid, is DOWN." \
            "Do: ip -n $EX_NETNS link set $PORT_NAME up"
    elif [ -z "$(container_addr "$pid" "$CONTAINER_IF")" ]; then
        wrong "$CONTAINER_IF in process $pid's namespace has no IPv4 address (a link" \
            "arrives in a namespace without any). Do: (in that container) ip addr add" \
            "172.17.0.X/16 dev $CONTAINER_IF && ip link set $CONTAINER_IF up"
    else
        ok "process $pid: $CONTAINER_IF $(container_addr "$pid" "$CONTAINER_IF")," \
            "its peer $PORT_NAME is a port of $EX_BRIDGE"
    fi
}

test_the_first_container_is_plugged_into_the_bridge() {
    [ -n "$BRIDGE_STATE" ] || { not_checked "no bridge yet"; return 0; }
    check_container "${PID_A:-}" first
}

test_the_second_container_is_plugged_into_the_bridge() {
    [ -n "$BRIDGE_STATE" ] || { not_checked "no bridge yet"; return 0; }
    check_container "${PID_B:-}" second
}

# Both containers plugged in with addresses: ADDR_A, ADDR_B, IF_A, IF_B.
both_ready() {
    process_exists "${PID_A:-}" && process_exists "${PID_B:-}" || return 1
    host_port_for "$PID_A" && [ "$PORT_MASTER" = "$EX_BRIDGE" ] || return 1
    IF_A=$CONTAINER_IF
    host_port_for "$PID_B" && [ "$PORT_MASTER" = "$EX_BRIDGE" ] || return 1
    IF_B=$CONTAINER_IF
    ADDR_A=$(container_addr "$PID_A" "$IF_A") ADDR_B=$(container_addr "$PID_B" "$IF_B")
    [ -n "$ADDR_A" ] && [ -n "$ADDR_B" ]
}

test_the_two_addresses_share_one_subnet() {
    both_ready || { not_checked "the addresses (both containers first)"; return 0; }
    if [ "${ADDR_A%/*}" = "${ADDR_B%/*}" ]; then
        wrong "both containers have ${ADDR_A%/*}: on one network each needs its own" \
            "address. Do: (in the second) ip addr del $ADDR_B dev $IF_B && ip addr add" \
            "172.17.0.3/16 dev $IF_B"
    elif [ "$(network "$ADDR_A")" != "$(network "$ADDR_B")" ]; then
        wrong "$ADDR_A and $ADDR_B are not in one subnet: each container sends to the" \
            "other only through a route, and there is none. Give both the same prefix" \
            "in one network, 172.17.0.0/16."
    else
        ok "$ADDR_A and $ADDR_B: one subnet, two addresses"
    fi
}

test_the_first_container_has_talked_to_the_second() {
    both_ready || { not_checked "the ping (both containers first)"; return 0; }
    local mac_b entry
    mac_b=$(container_mac "$PID_B" "$IF_B")
    entry=$(nsenter --net="/proc/$PID_A/ns/net" ip -j neigh show "${ADDR_B%/*}" 2>/dev/null |
        jq -r '.[0] | select(.lladdr) | "\(.lladdr) \(.state | join(","))"')
    if [ -n "$entry" ] && [ "${entry%% *}" = "$mac_b" ]; then
        ok "the first container knows ${ADDR_B%/*} at $mac_b (${entry#* }, ip neigh):" \
            "the second answered its ARP request through the bridge"
    else
        wrong "the first container (process $PID_A) has no neighbour entry for" \
            "${ADDR_B%/*} with the second's MAC $mac_b: they have not talked yet" \
            "(a ping asks for the MAC first, with ARP, and the answer stays in" \
            "the neighbour table). Do: (in the first container) ping -c 1 ${ADDR_B%/*}"
    fi
}

. "$SHUNIT2"

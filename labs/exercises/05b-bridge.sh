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
    local n=$EX_NETNS b=$EX_BRIDGE
    msg ex.task_title 05b "$(msg ex05b.title)"
    echo
    msg ex05b.task "$n" "$n" "$n" "$b" "$n" "$b" "$n" "$b" "$n" "$n" "$n" "$b" "$n" "$b" \
        "$n" "$b" "$n" "$b" "$n"
    echo
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
        wrong "$(msg ex05b.bridge.1 "$EX_NETNS") Do: ip netns add $EX_NETNS"
    elif [ -z "$BRIDGE_STATE" ]; then
        wrong "$(msg ex05b.bridge.2 "$EX_NETNS" "$EX_BRIDGE") Do: ip -n $EX_NETNS link add name" \
            "$EX_BRIDGE type bridge && ip -n $EX_NETNS link set $EX_BRIDGE up"
    elif [ "$BRIDGE_STATE" = DOWN ]; then
        wrong "$(msg ex05b.bridge.3 "$EX_BRIDGE") Do: ip -n $EX_NETNS link set $EX_BRIDGE up"
    else
        ok "$(msg ex05b.bridge.4 "$EX_BRIDGE" "$EX_NETNS" "$BRIDGE_STATE")"
    fi
}

# check_container PID WHICH: ok or wrong for one container's plug.
check_container() {
    local pid=$1 which=$2
    if ! process_exists "$pid"; then
        local none
        if [ "$which" = first ]; then
            none=$(msg ex05b.plug.none.first "$EX_BRIDGE")
        else
            none=$(msg ex05b.plug.none.second "$EX_BRIDGE")
        fi
        wrong "$none" \
            "Do: unshare --net --uts --pid --mount --fork bash"
        return 0
    fi
    if ! host_port_for "$pid"; then
        wrong "$(msg ex05b.plug.noveth "$pid" "$EX_NETNS")" \
            "Do: ip -n $EX_NETNS link add name h$pid type veth peer name" \
            "c$pid && ip -n $EX_NETNS link set c$pid netns $pid"
    elif [ "$PORT_MASTER" != "$EX_BRIDGE" ]; then
        wrong "$(msg ex05b.plug.nomaster "$pid" "$CONTAINER_IF" "$PORT_NAME" "$EX_BRIDGE" "$PORT_MASTER")" \
            "Do: ip -n $EX_NETNS link set $PORT_NAME master $EX_BRIDGE up"
    elif [ "$PORT_STATE" = DOWN ]; then
        wrong "$(msg ex05b.plug.down "$PORT_NAME" "$pid")" \
            "Do: ip -n $EX_NETNS link set $PORT_NAME up"
    elif [ -z "$(container_addr "$pid" "$CONTAINER_IF")" ]; then
        wrong "$(msg ex05b.plug.noaddr "$CONTAINER_IF" "$pid")" \
            "Do: nsenter --target $pid --net ip addr add 172.17.0.X/16 dev $CONTAINER_IF"
    else
        ok "$(msg ex05b.plug.ok "$pid" "$CONTAINER_IF" "$(container_addr "$pid" "$CONTAINER_IF")" "$PORT_NAME" "$EX_BRIDGE")"
    fi
}

test_the_first_container_is_plugged_into_the_bridge() {
    [ -n "$BRIDGE_STATE" ] || { not_checked "$(msg ex05b.no_bridge_yet)"; return 0; }
    check_container "${PID_A:-}" first
}

test_the_second_container_is_plugged_into_the_bridge() {
    [ -n "$BRIDGE_STATE" ] || { not_checked "$(msg ex05b.no_bridge_yet)"; return 0; }
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
    both_ready || { not_checked "$(msg ex05b.addr.0)"; return 0; }
    if [ "${ADDR_A%/*}" = "${ADDR_B%/*}" ]; then
        wrong "$(msg ex05b.addr.1 "${ADDR_A%/*}")" \
            "Do: nsenter --target $PID_B --net ip addr del $ADDR_B dev $IF_B &&" \
            "nsenter --target $PID_B --net ip addr add 172.17.0.3/16 dev $IF_B"
    elif [ "$(network "$ADDR_A")" != "$(network "$ADDR_B")" ]; then
        wrong "$(msg ex05b.addr.2 "$ADDR_A" "$ADDR_B")"
    else
        ok "$(msg ex05b.addr.3 "$ADDR_A" "$ADDR_B")"
    fi
}

test_the_first_container_has_talked_to_the_second() {
    both_ready || { not_checked "$(msg ex05b.talk.0)"; return 0; }
    local mac_b entry
    mac_b=$(container_mac "$PID_B" "$IF_B")
    entry=$(nsenter --net="/proc/$PID_A/ns/net" ip -j neigh show "${ADDR_B%/*}" 2>/dev/null |
        jq -r '.[0] | select(.lladdr) | "\(.lladdr) \(.state | join(","))"')
    if [ -n "$entry" ] && [ "${entry%% *}" = "$mac_b" ]; then
        ok "$(msg ex05b.talk.1 "${ADDR_B%/*}" "$mac_b" "${entry#* }")"
    else
        wrong "$(msg ex05b.talk.2 "$PID_A" "${ADDR_B%/*}" "$mac_b")" \
            "Do: nsenter --target $PID_A --net ping -c 1 ${ADDR_B%/*}"
    fi
}

. "$SHUNIT2"

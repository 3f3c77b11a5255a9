#!/usr/bin/env bash
# labs/exercises/05-veth.sh - exercise 05: the container's network, a veth pair.
#
# Checks, by reading the kernel's link, address and route tables with `ip -j`
# in each network namespace (nsenter --net only joins it, to read):
#   container: lo UP; eth0 a veth, UP with carrier, 172.17.0.2/16;
#              default route via 172.17.0.1
#   host ($EX_NETNS): the peer of eth0, UP, 172.17.0.1/16
#
# Targets: EX_NETNS, the network namespace that plays the post's host
# (default tuna-ex-host: never the machine's own); the container is EX_PID
# (its host PID; default: the newest shell in a network namespace of its own)
# or EX_CONTAINER_NETNS (a named network namespace).
# Docs: man 8 ip-link (veth, netns), man 8 ip-address, man 8 ip-route,
# man 7 network_namespaces.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_NETNS=${EX_NETNS:-tuna-ex-host}
HOST_ADDR=172.17.0.1
CONTAINER_ADDR=172.17.0.2
PREFIX_LEN=16

task() {
    msg ex.task_title 05 "$(msg ex05.title)"
    echo
    msg ex05.task "$EX_NETNS" "$EX_NETNS" "$EX_NETNS" "$EX_NETNS" "$EX_NETNS" "$HOST_ADDR" "$PREFIX_LEN" "$EX_NETNS" "$CONTAINER_ADDR" "$PREFIX_LEN" "$HOST_ADDR" "$HOST_ADDR" "$EX_NETNS" "$HOST_ADDR" "$PREFIX_LEN" "$CONTAINER_ADDR" "$PREFIX_LEN" "$HOST_ADDR" "$EX_NETNS" "$EX_NETNS"
    echo
}
exercise_start "$@"
need_root

# --- the kernel's state, read once ---------------------------------------------------------
HOST_NS_FILE=/run/netns/$EX_NETNS
CONTAINER_NS_FILE=
if [ -n "${EX_CONTAINER_NETNS:-}" ]; then
    CONTAINER_NS_FILE=/run/netns/$EX_CONTAINER_NETNS
    CONTAINER_NAME="network namespace $EX_CONTAINER_NETNS"
else
    # Not a shell of the "host" namespace: a student's host terminal may be one.
    EX_PID=${EX_PID:-$(newest_shell_where_ns_differs net \
        "net:[$(stat -L -c %i "$HOST_NS_FILE" 2>/dev/null)]")}
    [ -n "$EX_PID" ] && CONTAINER_NS_FILE=/proc/$EX_PID/ns/net
    CONTAINER_NAME="process ${EX_PID:-?}"
fi

# ns_inode FILE: the namespace's identity (the inode of its nsfs file).
ns_inode() {
    stat -L -c %i "$1" 2>/dev/null
}

# in_container CMD...: run a read-only command in the container's network namespace.
in_container() {
    nsenter --net="$CONTAINER_NS_FILE" "$@"
}

HOST_OK=0 CONTAINER_OK=0
[ -e "$HOST_NS_FILE" ] && HOST_OK=1
if [ -n "$CONTAINER_NS_FILE" ] && [ -e "$CONTAINER_NS_FILE" ] &&
    [ "$(ns_inode "$CONTAINER_NS_FILE")" != "$(ns_inode /proc/self/ns/net)" ] &&
    [ "$(ns_inode "$CONTAINER_NS_FILE")" != "$(ns_inode "$HOST_NS_FILE")" ]; then
    CONTAINER_OK=1
    C_LINKS=$(in_container ip -j -d link show)
    C_ADDRS=$(in_container ip -j addr show)
    C_ROUTES=$(in_container ip -j route show)
fi
if [ "$HOST_OK" = 1 ]; then
    H_LINKS=$(ip -n "$EX_NETNS" -j -d link show)
    H_ADDRS=$(ip -n "$EX_NETNS" -j addr show)
fi

# link LINKS NAME: that link's JSON object, or nothing.
link() {
    jq -c --arg n "$2" '.[] | select(.ifname == $n)' <<<"$1"
}

# has_flag LINK FLAG
has_flag() {
    jq -e --arg f "$2" '.flags | index($f) != null' <<<"$1" >/dev/null
}

# inet_of ADDRS NAME: the IPv4 addresses of link NAME, as "A.B.C.D/LEN", one a line.
inet_of() {
    jq -r --arg n "$2" '.[] | select(.ifname == $n) | .addr_info[]
        | select(.family == "inet") | "\(.local)/\(.prefixlen)"' <<<"$1"
}

# --- the checks ----------------------------------------------------------------------------

test_the_host_namespace_exists() {
    if [ "$HOST_OK" = 1 ]; then
        ok "$(msg ex05.the_host_namespace_exists.1 "$EX_NETNS")"
    else
        wrong "$(msg ex05.the_host_namespace_exists.2 "$EX_NETNS") Do: ip netns add $EX_NETNS"
    fi
}

test_the_container_has_its_own_network_namespace() {
    if [ "$CONTAINER_OK" = 1 ]; then
        ok "$(msg ex05.the_container_has_its_own_network_namespace.1 "$CONTAINER_NAME")"
    elif [ -z "$CONTAINER_NS_FILE" ]; then
        wrong "$(msg ex05.the_container_has_its_own_network_namespace.2) Do: EX_PID=<host PID of the container's shell> labs/exercises/run 05"
    elif [ ! -e "$CONTAINER_NS_FILE" ]; then
        wrong "$(msg ex05.the_container_has_its_own_network_namespace.3 "$CONTAINER_NAME" "$CONTAINER_NS_FILE")"
    else
        wrong "$(msg ex05.the_container_has_its_own_network_namespace.4 "$CONTAINER_NAME" "$EX_NETNS") Do: unshare --net --uts --pid --mount --fork bash"
    fi
}

test_lo_is_up_in_the_container() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "$(msg ex05.lo_is_up_in_the_container.1)"; return 0; }
    if has_flag "$(link "$C_LINKS" lo)" UP; then
        ok "$(msg ex05.lo_is_up_in_the_container.2)"
    else
        wrong "$(msg ex05.lo_is_up_in_the_container.3) Do: ip link set dev lo up"
    fi
}

test_eth0_is_a_veth_with_172_17_0_2() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.1)"; return 0; }
    local eth0 others addrs
    eth0=$(link "$C_LINKS" eth0)
    if [ -z "$eth0" ]; then
        others=$(jq -r '.[] | select(.linkinfo.info_kind == "veth") | .ifname' <<<"$C_LINKS" | head -n 1)
        if [ -n "$others" ]; then
            wrong "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.2 "$others") Do: ip link set $others name eth0"
        else
            wrong "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.3 "$EX_NETNS")"
        fi
        return 0
    fi
    if [ "$(jq -r '.linkinfo.info_kind // ""' <<<"$eth0")" != veth ]; then
        wrong "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.4 "$(jq -r '.linkinfo.info_kind // "plain device"' <<<"$eth0")" "$EX_NETNS")"
        return 0
    fi
    addrs=$(inet_of "$C_ADDRS" eth0)
    if grep -qx "$CONTAINER_ADDR/$PREFIX_LEN" <<<"$addrs"; then
        ok "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.5 "$CONTAINER_ADDR" "$PREFIX_LEN")"
    elif [ -z "$addrs" ]; then
        wrong "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.6 "$CONTAINER_ADDR" "$PREFIX_LEN") Do: ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    elif grep -qx "$CONTAINER_ADDR/32" <<<"$addrs"; then
        wrong "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.7 "$CONTAINER_ADDR" "$PREFIX_LEN" "$HOST_ADDR") Do: ip addr del $CONTAINER_ADDR/32 dev eth0; ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    else
        wrong "$(msg ex05.eth0_is_a_veth_with_172_17_0_2.8 "$(echo "$addrs" | paste -sd ' ')" "$CONTAINER_ADDR" "$PREFIX_LEN") Do: ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    fi
}

test_eth0_is_up_with_a_carrier() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "$(msg ex05.eth0_is_up_with_a_carrier.1)"; return 0; }
    local eth0
    eth0=$(link "$C_LINKS" eth0)
    [ -n "$eth0" ] || { not_checked "$(msg ex05.eth0_is_up_with_a_carrier.2)"; return 0; }
    if ! has_flag "$eth0" UP; then
        wrong "$(msg ex05.eth0_is_up_with_a_carrier.3) Do: ip link set dev eth0 up"
    elif ! has_flag "$eth0" LOWER_UP; then
        wrong "$(msg ex05.eth0_is_up_with_a_carrier.4 "$EX_NETNS") Do: ip -n $EX_NETNS link set dev h\$CPID up"
    else
        ok "$(msg ex05.eth0_is_up_with_a_carrier.5)"
    fi
}

test_the_default_route_is_via_172_17_0_1() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "$(msg ex05.the_default_route_is_via_172_17_0_1.1)"; return 0; }
    local gateway
    gateway=$(jq -r '.[] | select(.dst == "default") | .gateway // "none"' <<<"$C_ROUTES" | head -n 1)
    if [ "$gateway" = "$HOST_ADDR" ]; then
        ok "$(msg ex05.the_default_route_is_via_172_17_0_1.2 "$HOST_ADDR")"
    elif [ -z "$gateway" ]; then
        wrong "$(msg ex05.the_default_route_is_via_172_17_0_1.3) Do: ip route add default via $HOST_ADDR"
    else
        wrong "$(msg ex05.the_default_route_is_via_172_17_0_1.4 "$gateway" "$HOST_ADDR") Do: ip route replace default via $HOST_ADDR"
    fi
}

test_the_host_end_is_up_with_172_17_0_1() {
    [ "$HOST_OK" = 1 ] || { not_checked "$(msg ex05.the_host_end_is_up_with_172_17_0_1.1 "$EX_NETNS")"; return 0; }
    local name host_link peer_index
    name=$(jq -r --arg a "$HOST_ADDR" --argjson l "$PREFIX_LEN" '.[] | select(any(.addr_info[];
        .family == "inet" and .local == $a and .prefixlen == $l)) | .ifname' <<<"$H_ADDRS" | head -n 1)
    if [ -z "$name" ]; then
        wrong "$(msg ex05.the_host_end_is_up_with_172_17_0_1.2 "$EX_NETNS" "$HOST_ADDR" "$PREFIX_LEN" "$EX_NETNS" "$EX_NETNS") Do: ip -n $EX_NETNS addr add $HOST_ADDR/$PREFIX_LEN dev h\$CPID"
        return 0
    fi
    host_link=$(link "$H_LINKS" "$name")
    if [ "$(jq -r '.linkinfo.info_kind // ""' <<<"$host_link")" != veth ]; then
        wrong "$(msg ex05.the_host_end_is_up_with_172_17_0_1.3 "$HOST_ADDR" "$PREFIX_LEN" "$name" "$EX_NETNS")"
        return 0
    fi
    if ! has_flag "$host_link" UP; then
        wrong "$(msg ex05.the_host_end_is_up_with_172_17_0_1.4 "$name" "$HOST_ADDR" "$PREFIX_LEN") Do: ip -n $EX_NETNS link set dev $name up"
        return 0
    fi
    if [ "$CONTAINER_OK" = 1 ] && [ -n "$(link "$C_LINKS" eth0)" ]; then
        peer_index=$(jq -r '.link_index // ""' <<<"$(link "$C_LINKS" eth0)")
        if [ "$peer_index" != "$(jq -r .ifindex <<<"$host_link")" ]; then
            wrong "$(msg ex05.the_host_end_is_up_with_172_17_0_1.5 "$name" "$EX_NETNS" "$HOST_ADDR" "$PREFIX_LEN" "$peer_index")"
            return 0
        fi
    fi
    ok "$(msg ex05.the_host_end_is_up_with_172_17_0_1.6 "$name" "$EX_NETNS" "$HOST_ADDR" "$PREFIX_LEN")"
}

. "$SHUNIT2"

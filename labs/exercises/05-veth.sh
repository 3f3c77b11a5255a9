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
    cat <<EOF
Exercise 05 - the container's network: a veth pair between "host" and container

Do the host's side of this in a network namespace of its own, $EX_NETNS, which
stands for the post's host, so that the machine's own network is never touched:
      ip netns add $EX_NETNS
Terminal 1, the container (a shell with its own network namespace):
      unshare --net --uts --pid --mount --fork bash
Terminal 2, the host (CPID = the container shell's host PID, e.g. from
\`ps -ef --forest\`):
      ip -n $EX_NETNS link add name h\$CPID type veth peer name c\$CPID
      ip -n $EX_NETNS link set c\$CPID netns \$CPID
      ip -n $EX_NETNS addr add $HOST_ADDR/$PREFIX_LEN dev h\$CPID
      ip -n $EX_NETNS link set dev h\$CPID up
Terminal 1, inside the container:
      ip link set dev lo up
      ip link set c\$CPID name eth0 up
      ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0
      ip route add default via $HOST_ADDR
      ping -c 1 $HOST_ADDR
Or ours, from the host:  ip netns exec $EX_NETNS bin/05-veth add --pid \$CPID \\
      --host-addr $HOST_ADDR/$PREFIX_LEN --container-addr $CONTAINER_ADDR/$PREFIX_LEN --gateway $HOST_ADDR

Think about: what happens to a link's addresses when it moves to another
namespace? Why can the container not even ping 127.0.0.1 at first?

Check:   make exercise N=05     (or: labs/exercises/run 05)
Targets: EX_NETNS=$EX_NETNS, EX_PID=<host PID of the container's shell>
         (default: the newest shell with a network namespace of its own)
Undo:    exit the container's shell (its end of the pair goes with it);
         ip netns delete $EX_NETNS
EOF
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
        ok "network namespace $EX_NETNS (the post's host)"
    else
        wrong "there is no network namespace $EX_NETNS: the host's side of this exercise" \
            "lives there, never in the machine's own network. Do: ip netns add $EX_NETNS"
    fi
}

test_the_container_has_its_own_network_namespace() {
    if [ "$CONTAINER_OK" = 1 ]; then
        ok "the container ($CONTAINER_NAME) has its own network namespace"
    elif [ -z "$CONTAINER_NS_FILE" ]; then
        wrong "no shell with a network namespace of its own is running: start the" \
            "container (unshare --net ... bash) and leave it running, or say which" \
            "process it is. Do: EX_PID=<host PID of the container's shell> labs/exercises/run 05"
    elif [ ! -e "$CONTAINER_NS_FILE" ]; then
        wrong "$CONTAINER_NAME does not exist ($CONTAINER_NS_FILE)."
    else
        wrong "$CONTAINER_NAME shares a network namespace with the machine or with" \
            "$EX_NETNS: the container needs its own. Do: unshare --net --uts --pid --mount --fork bash"
    fi
}

test_lo_is_up_in_the_container() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "no container"; return 0; }
    if has_flag "$(link "$C_LINKS" lo)" UP; then
        ok "lo is UP in the container"
    else
        wrong "lo is DOWN in the container. Every new network namespace starts with" \
            "its loopback down, so even 127.0.0.1 is unreachable inside (programs that" \
            "talk to themselves over localhost fail). Inside the container:" \
            "Do: ip link set dev lo up"
    fi
}

test_eth0_is_a_veth_with_172_17_0_2() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "no container"; return 0; }
    local eth0 others addrs
    eth0=$(link "$C_LINKS" eth0)
    if [ -z "$eth0" ]; then
        others=$(jq -r '.[] | select(.linkinfo.info_kind == "veth") | .ifname' <<<"$C_LINKS" | head -n 1)
        if [ -n "$others" ]; then
            wrong "the container's end of the pair is still called $others: the post" \
                "renames it so the container sees a familiar eth0. Inside the container:" \
                "Do: ip link set $others name eth0"
        else
            wrong "there is no veth in the container's network namespace: make the pair" \
                "in $EX_NETNS and move one end into the container (ip link set c\$CPID" \
                "netns \$CPID, see the task)."
        fi
        return 0
    fi
    if [ "$(jq -r '.linkinfo.info_kind // ""' <<<"$eth0")" != veth ]; then
        wrong "eth0 in the container is not a veth (it is a" \
            "'$(jq -r '.linkinfo.info_kind // "plain device"' <<<"$eth0")'): the container's eth0" \
            "must be one end of a veth pair whose other end is in $EX_NETNS."
        return 0
    fi
    addrs=$(inet_of "$C_ADDRS" eth0)
    if grep -qx "$CONTAINER_ADDR/$PREFIX_LEN" <<<"$addrs"; then
        ok "eth0 is a veth with $CONTAINER_ADDR/$PREFIX_LEN"
    elif [ -z "$addrs" ]; then
        wrong "eth0 has no IPv4 address. If you added $CONTAINER_ADDR/$PREFIX_LEN to" \
            "c\$CPID before moving it with \`ip link set c\$CPID netns \$CPID\`, the move" \
            "dropped it: moving a link to another network namespace brings it down and" \
            "removes its addresses. Add it inside the container, after the move." \
            "Do: ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    elif grep -qx "$CONTAINER_ADDR/32" <<<"$addrs"; then
        wrong "eth0 has $CONTAINER_ADDR/32: without /$PREFIX_LEN, ip adds a /32, so the" \
            "kernel has no route to $HOST_ADDR through eth0. Inside the container:" \
            "Do: ip addr del $CONTAINER_ADDR/32 dev eth0; ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    else
        wrong "eth0 has $(echo "$addrs" | paste -sd ' '), not $CONTAINER_ADDR/$PREFIX_LEN." \
            "Do: ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    fi
}

test_eth0_is_up_with_a_carrier() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "no container"; return 0; }
    local eth0
    eth0=$(link "$C_LINKS" eth0)
    [ -n "$eth0" ] || { not_checked "no eth0 yet"; return 0; }
    if ! has_flag "$eth0" UP; then
        wrong "eth0 is DOWN in the container: a link moved into a namespace arrives down." \
            "Inside the container: Do: ip link set dev eth0 up"
    elif ! has_flag "$eth0" LOWER_UP; then
        wrong "eth0 is UP but has NO-CARRIER: a veth has a carrier only when both ends" \
            "are up, and the host's end in $EX_NETNS is down." \
            "Do: ip -n $EX_NETNS link set dev h\$CPID up"
    else
        ok "eth0 is UP with a carrier (both ends up)"
    fi
}

test_the_default_route_is_via_172_17_0_1() {
    [ "$CONTAINER_OK" = 1 ] || { not_checked "no container"; return 0; }
    local gateway
    gateway=$(jq -r '.[] | select(.dst == "default") | .gateway // "none"' <<<"$C_ROUTES" | head -n 1)
    if [ "$gateway" = "$HOST_ADDR" ]; then
        ok "default route via $HOST_ADDR"
    elif [ -z "$gateway" ]; then
        wrong "the container has no default route: it can reach 172.17.0.0/16 only," \
            "nothing beyond the host. Inside the container (after the address, else" \
            "'Network is unreachable'): Do: ip route add default via $HOST_ADDR"
    else
        wrong "the container's default route goes via $gateway, not $HOST_ADDR (the host's" \
            "end of the pair). Do: ip route replace default via $HOST_ADDR"
    fi
}

test_the_host_end_is_up_with_172_17_0_1() {
    [ "$HOST_OK" = 1 ] || { not_checked "no $EX_NETNS"; return 0; }
    local name host_link peer_index
    name=$(jq -r --arg a "$HOST_ADDR" --argjson l "$PREFIX_LEN" '.[] | select(any(.addr_info[];
        .family == "inet" and .local == $a and .prefixlen == $l)) | .ifname' <<<"$H_ADDRS" | head -n 1)
    if [ -z "$name" ]; then
        wrong "no link in $EX_NETNS has $HOST_ADDR/$PREFIX_LEN. If you typed the host's" \
            "commands without \`-n $EX_NETNS\`, they went to the machine's own network" \
            "namespace: undo them there, and do them in $EX_NETNS." \
            "Do: ip -n $EX_NETNS addr add $HOST_ADDR/$PREFIX_LEN dev h\$CPID"
        return 0
    fi
    host_link=$(link "$H_LINKS" "$name")
    if [ "$(jq -r '.linkinfo.info_kind // ""' <<<"$host_link")" != veth ]; then
        wrong "$HOST_ADDR/$PREFIX_LEN is on $name in $EX_NETNS, which is not a veth: it must" \
            "be on the host's end of the pair (h\$CPID)."
        return 0
    fi
    if ! has_flag "$host_link" UP; then
        wrong "the host's end $name has $HOST_ADDR/$PREFIX_LEN but is DOWN." \
            "Do: ip -n $EX_NETNS link set dev $name up"
        return 0
    fi
    if [ "$CONTAINER_OK" = 1 ] && [ -n "$(link "$C_LINKS" eth0)" ]; then
        peer_index=$(jq -r '.link_index // ""' <<<"$(link "$C_LINKS" eth0)")
        if [ "$peer_index" != "$(jq -r .ifindex <<<"$host_link")" ]; then
            wrong "$name in $EX_NETNS has $HOST_ADDR/$PREFIX_LEN, but it is not the peer" \
                "of the container's eth0 (eth0's peer is link $peer_index in another namespace)."
            return 0
        fi
    fi
    ok "the host's end $name in $EX_NETNS is UP with $HOST_ADDR/$PREFIX_LEN, eth0's peer"
}

. "$SHUNIT2"

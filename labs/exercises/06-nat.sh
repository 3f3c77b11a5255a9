#!/usr/bin/env bash
# labs/exercises/06-nat.sh - exercise 06: the way out, forwarding and a masquerade.
#
# Checks, reading inside $EX_NETNS only (nsenter --net joins it, to read):
#   /proc/sys/net/ipv4/ip_forward is 1 (per network namespace)
#   `nft -j list ruleset`: a chain of type nat on hook postrouting with a rule
#   "ip saddr 172.17.0.0/16 ... masquerade" (nft's own masquerade, or the
#   MASQUERADE target that iptables-nft installs)
#
# Target: EX_NETNS, the network namespace that plays the post's host
# (default tuna-ex-host: never the machine's own).
# Docs: man 8 nft (NAT STATEMENTS), man 8 iptables-extensions (MASQUERADE),
# Documentation/networking/ip-sysctl.rst (ip_forward).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

EX_NETNS=${EX_NETNS:-tuna-ex-host}
CONTAINER_NET=172.17.0.0/16

task() {
    msg ex.task_title 06 "$(msg ex06.title)"
    echo
    msg ex06.task "$CONTAINER_NET" "$EX_NETNS" "$EX_NETNS" "$EX_NETNS" "$EX_NETNS" "$CONTAINER_NET" "$EX_NETNS" "$EX_NETNS" "$EX_NETNS" "$CONTAINER_NET" "$EX_NETNS" "$CONTAINER_NET" "$EX_NETNS" "$EX_NETNS"
    echo
}
exercise_start "$@"
need_root

# --- the kernel's state, read once ---------------------------------------------------------
HOST_NS_FILE=/run/netns/$EX_NETNS
HOST_OK=0
if [ -e "$HOST_NS_FILE" ]; then
    HOST_OK=1
    # All three are read by a process inside the namespace: ip_forward and
    # /proc/net are the reader's network namespace's.
    IP_FORWARD=$(nsenter --net="$HOST_NS_FILE" cat /proc/sys/net/ipv4/ip_forward)
    RULESET=$(nsenter --net="$HOST_NS_FILE" nft -j list ruleset)
    LEGACY_TABLES=$(nsenter --net="$HOST_NS_FILE" cat /proc/net/ip_tables_names 2>/dev/null)
fi

# nat_postrouting_chains: "family table chain" of every nat chain on the
# postrouting hook, one a line.
nat_postrouting_chains() {
    jq -r '.nftables[] | select(.chain) | .chain
        | select(.type == "nat" and .hook == "postrouting")
        | "\(.family) \(.table) \(.name)"' <<<"$RULESET"
}

# masquerade_sources: for every masquerading rule in a nat postrouting chain,
# the source it matches ("172.17.0.0/16", or "any"), one a line.
masquerade_sources() {
    jq -r '.nftables as $all
        | [$all[] | select(.chain) | .chain
           | select(.type == "nat" and .hook == "postrouting")
           | [.family, .table, .name]] as $chains
        | $all[] | select(.rule) | .rule
        | select([.family, .table, .chain] as $c | $chains | index([$c]) != null)
        | select(any(.expr[]; has("masquerade")
              or (.xt? // {} | .type == "target" and .name == "MASQUERADE")))
        | [.expr[] | .match? // empty
           | select(.left.payload.field? == "saddr") | .right
           | if type == "object" and has("prefix")
             then "\(.prefix.addr)/\(.prefix.len)" else "\(.)/32" end]
        | if length == 0 then "any" else .[0] end' <<<"$RULESET"
}

# --- the checks ----------------------------------------------------------------------------

test_the_host_namespace_exists() {
    if [ "$HOST_OK" = 1 ]; then
        ok "$(msg ex06.the_host_namespace_exists.1 "$EX_NETNS")"
    else
        wrong "$(msg ex06.the_host_namespace_exists.2 "$EX_NETNS") Do: ip netns add $EX_NETNS"
    fi
}

test_ip_forward_is_on_in_the_host_namespace() {
    [ "$HOST_OK" = 1 ] || { not_checked "$(msg ex06.ip_forward_is_on_in_the_host_namespace.1 "$EX_NETNS")"; return 0; }
    if [ "$IP_FORWARD" = 1 ]; then
        ok "$(msg ex06.ip_forward_is_on_in_the_host_namespace.2 "$EX_NETNS")"
    else
        wrong "$(msg ex06.ip_forward_is_on_in_the_host_namespace.3 "$IP_FORWARD" "$EX_NETNS") Do: ip netns exec $EX_NETNS sysctl -w net.ipv4.ip_forward=1"
    fi
}

test_there_is_a_nat_postrouting_chain() {
    [ "$HOST_OK" = 1 ] || { not_checked "$(msg ex06.there_is_a_nat_postrouting_chain.1 "$EX_NETNS")"; return 0; }
    local chains
    chains=$(nat_postrouting_chains)
    if [ -n "$chains" ]; then
        ok "$(msg ex06.there_is_a_nat_postrouting_chain.2 "$(head -n 1 <<<"$chains")")"
    elif grep -qx nat <<<"$LEGACY_TABLES"; then
        wrong "$(msg ex06.there_is_a_nat_postrouting_chain.3 "$EX_NETNS")"
    else
        wrong "$(msg ex06.there_is_a_nat_postrouting_chain.4 "$EX_NETNS" "$(jq '[.nftables[] | select(.table)] | length' <<<"$RULESET")" "$EX_NETNS") Do: ip netns exec $EX_NETNS iptables -t nat -A POSTROUTING -s $CONTAINER_NET -j MASQUERADE"
    fi
}

test_it_masquerades_the_container_network() {
    [ "$HOST_OK" = 1 ] || { not_checked "$(msg ex06.it_masquerades_the_container_network.1 "$EX_NETNS")"; return 0; }
    [ -n "$(nat_postrouting_chains)" ] || { not_checked "$(msg ex06.it_masquerades_the_container_network.2)"; return 0; }
    local sources
    sources=$(masquerade_sources)
    if grep -qx "$CONTAINER_NET" <<<"$sources"; then
        ok "$(msg ex06.it_masquerades_the_container_network.3 "$CONTAINER_NET")"
    elif [ -z "$sources" ]; then
        wrong "$(msg ex06.it_masquerades_the_container_network.4) Do: ip netns exec $EX_NETNS iptables -t nat -A POSTROUTING -s $CONTAINER_NET -j MASQUERADE"
    elif grep -qx any <<<"$sources"; then
        wrong "$(msg ex06.it_masquerades_the_container_network.5 "$CONTAINER_NET" "$CONTAINER_NET" "$CONTAINER_NET")"
    else
        wrong "$(msg ex06.it_masquerades_the_container_network.6 "$(paste -sd ' ' <<<"$sources")" "$CONTAINER_NET") Do: ip netns exec $EX_NETNS iptables -t nat -A POSTROUTING -s $CONTAINER_NET -j MASQUERADE"
    fi
}

. "$SHUNIT2"

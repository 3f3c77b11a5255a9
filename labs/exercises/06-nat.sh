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
    cat <<EOF
Exercise 06 - the way out: forwarding and a masquerade on the "host"

Let the container network $CONTAINER_NET out through the host, as the post
does, but on the host of exercise 05: the network namespace $EX_NETNS (make it
with \`ip netns add $EX_NETNS\` if it is not there), never the machine's own.
      ip netns exec $EX_NETNS sysctl -w net.ipv4.ip_forward=1
      ip netns exec $EX_NETNS iptables -t nat -A POSTROUTING -s $CONTAINER_NET -j MASQUERADE
or with nft:
      ip netns exec $EX_NETNS nft add table ip nat
      ip netns exec $EX_NETNS nft add chain ip nat postrouting \\
          '{ type nat hook postrouting priority srcnat; }'
      ip netns exec $EX_NETNS nft add rule ip nat postrouting ip saddr $CONTAINER_NET masquerade
or ours:
      ip netns exec $EX_NETNS bin/06-nat enable --source $CONTAINER_NET

Think about: which namespace routes the container's packets, and where must
forwarding be on? What does a brand-new network namespace start with?

Check:   make exercise N=06     (or: labs/exercises/run 06)
Target:  EX_NETNS=$EX_NETNS
Undo:    ip netns delete $EX_NETNS (its rules and sysctls go with it)
EOF
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
        ok "network namespace $EX_NETNS (the post's host)"
    else
        wrong "there is no network namespace $EX_NETNS: the host's side lives there, never" \
            "in the machine's own network. Do: ip netns add $EX_NETNS"
    fi
}

test_ip_forward_is_on_in_the_host_namespace() {
    [ "$HOST_OK" = 1 ] || { not_checked "no $EX_NETNS"; return 0; }
    if [ "$IP_FORWARD" = 1 ]; then
        ok "net.ipv4.ip_forward is 1 in $EX_NETNS"
    else
        wrong "net.ipv4.ip_forward is $IP_FORWARD in $EX_NETNS: the namespace does not route" \
            "packets from one interface to another, so the container's packets are dropped" \
            "before they ever reach postrouting and the masquerade. ip_forward is per" \
            "network namespace, and a new one starts from the initial namespace's value" \
            "(0 here), not from its creator's; setting it without \`ip netns exec\` changes" \
            "the machine's instead. Do: ip netns exec $EX_NETNS sysctl -w net.ipv4.ip_forward=1"
    fi
}

test_there_is_a_nat_postrouting_chain() {
    [ "$HOST_OK" = 1 ] || { not_checked "no $EX_NETNS"; return 0; }
    local chains
    chains=$(nat_postrouting_chains)
    if [ -n "$chains" ]; then
        ok "nat chain on the postrouting hook: $(head -n 1 <<<"$chains")"
    elif grep -qx nat <<<"$LEGACY_TABLES"; then
        wrong "$EX_NETNS has a legacy iptables nat table (iptables-legacy), which nftables" \
            "cannot show, so this checker cannot read it. Use iptables-nft (Debian's" \
            "default \`iptables\`) or nft, as the task says."
    else
        wrong "$EX_NETNS has no nat chain on the postrouting hook ($(jq '[.nftables[] | select(.table)] | length' <<<"$RULESET")" \
            "table(s) in \`nft list ruleset\` there). Source NAT happens as a packet leaves," \
            "after routing: iptables -t nat -A POSTROUTING makes that chain. If you typed" \
            "the command without \`ip netns exec $EX_NETNS\`, it went to the machine's own" \
            "namespace: delete it there. Do: ip netns exec $EX_NETNS iptables -t nat -A POSTROUTING -s $CONTAINER_NET -j MASQUERADE"
    fi
}

test_it_masquerades_the_container_network() {
    [ "$HOST_OK" = 1 ] || { not_checked "no $EX_NETNS"; return 0; }
    [ -n "$(nat_postrouting_chains)" ] || { not_checked "no nat postrouting chain"; return 0; }
    local sources
    sources=$(masquerade_sources)
    if grep -qx "$CONTAINER_NET" <<<"$sources"; then
        ok "a rule masquerades ip saddr $CONTAINER_NET"
    elif [ -z "$sources" ]; then
        wrong "the nat postrouting chain has no masquerade rule: nothing rewrites the" \
            "container's source address, so replies from outside have no way back to" \
            "172.17.0.2. Do: ip netns exec $EX_NETNS iptables -t nat -A POSTROUTING -s $CONTAINER_NET -j MASQUERADE"
    elif grep -qx any <<<"$sources"; then
        wrong "the masquerade rule matches every source, not just $CONTAINER_NET: the host's" \
            "own traffic is rewritten too. Add -s $CONTAINER_NET (nft: ip saddr $CONTAINER_NET)."
    else
        wrong "the masquerade rule matches source $(paste -sd ' ' <<<"$sources"), not the" \
            "container network $CONTAINER_NET, so the container's packets pass unchanged." \
            "Do: ip netns exec $EX_NETNS iptables -t nat -A POSTROUTING -s $CONTAINER_NET -j MASQUERADE"
    fi
}

. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_06_nat.sh - 06-nat lets a container out: ip_forward and an
# nftables masquerade rule, installed in one nfnetlink batch.
#
# Each test builds the lab's world in namespaces of its own and never
# touches the machine's network namespace:
#
#   container netns            host netns                  uplink netns
#   eth0 172.17.0.2/16 --veth-- hX 172.17.0.1/16
#   default via 172.17.0.1     up0 198.51.100.1/24 --veth-- dn0 198.51.100.53/24
#
# The uplink has no route back to 172.17.0.0/16, so a reply to the
# container's ping can only come back if the host rewrote the source
# address: the ping is the proof.  Rules are read with `nft -j`, the
# sysctl from /proc inside the host netns.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

NAT=$TUNA_BIN/06-nat
UPLINK_ADDR=198.51.100.53

# machine_network: the machine's own network namespace, as the tests must
# leave it: links, addresses, routes, the nftables ruleset, ip_forward.
machine_network() {
    ip -o link show | sed 's/^[0-9]*: //'
    ip -o addr show | sed 's/^[0-9]*: //; s/valid_lft.*//'
    ip route show table all
    nft list ruleset
    cat /proc/sys/net/ipv4/ip_forward
}

suite_setup() {
    MACHINE_BEFORE=$(mktemp /tmp/tuna-06-machine.XXXXXX)
    machine_network >"$MACHINE_BEFORE" 2>&1
}

suite_teardown() { rm -f "$MACHINE_BEFORE"; }

# world: host, uplink and container, wired as above, with ip(8) as the post
# does it.  Sets HOST, UPLINK, CNS, CPID.  Forwarding starts off in the
# host netns (it copies the machine's value otherwise).
world() {
    local hif
    require_root || return 1
    require_command jq || return 1
    require_command nft nftables || return 1
    require_command ping iputils-ping || return 1
    HOST=$(unique_name tnh)
    UPLINK=$(unique_name tnu)
    CNS=$(unique_name tnc)
    netns_add "$HOST" && netns_add "$UPLINK" && netns_add "$CNS" || return 1
    ip netns exec "$HOST" sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'

    ip -n "$HOST" link add up0 type veth peer name dn0 netns "$UPLINK"
    ip -n "$HOST" addr add 198.51.100.1/24 dev up0
    ip -n "$HOST" link set up0 up
    ip -n "$UPLINK" addr add "$UPLINK_ADDR/24" dev dn0
    ip -n "$UPLINK" link set dn0 up

    ip netns exec "$CNS" sleep 300 &
    CPID=$!
    on_cleanup kill "$CPID"
    hif=h$CPID
    ip -n "$HOST" link add "$hif" type veth peer name eth0 netns "$CNS"
    ip -n "$HOST" addr add 172.17.0.1/16 dev "$hif"
    ip -n "$HOST" link set "$hif" up
    ip -n "$CNS" addr add 172.17.0.2/16 dev eth0
    ip -n "$CNS" link set eth0 up
    ip -n "$CNS" route add default via 172.17.0.1
}

in_host() { ip netns exec "$HOST" "$@"; }

# container_reaches_uplink: one real ping from the container to the uplink.
container_reaches_uplink() {
    ip netns exec "$CNS" ping -c 1 -W 1 "$UPLINK_ADDR" >/dev/null 2>&1
}

# ruleset_json: the host netns's nftables ruleset, as nft -j lists it.
ruleset_json() { in_host nft -j list ruleset; }

# host_forwarding: net.ipv4.ip_forward of the host netns.
host_forwarding() { in_host cat /proc/sys/net/ipv4/ip_forward; }

# --- enable -------------------------------------------------------------------

test_container_reaches_uplink_only_after_enable() {
    world || return 0
    assertFalse "no way out before enable" container_reaches_uplink
    in_host "$NAT" enable --source 172.17.0.0/16
    assertEquals "enable exit status" 0 $?
    assertTrue "the uplink answers after enable" container_reaches_uplink
}

test_enable_sets_ip_forward_in_the_current_namespace_only() {
    local machine uplink
    world || return 0
    machine=$(cat /proc/sys/net/ipv4/ip_forward)
    uplink=$(ip netns exec "$UPLINK" cat /proc/sys/net/ipv4/ip_forward)
    in_host "$NAT" enable --source 172.17.0.0/16 || fail "enable failed"
    assertEquals "host netns ip_forward" 1 "$(host_forwarding)"
    assertEquals "uplink netns untouched" "$uplink" \
        "$(ip netns exec "$UPLINK" cat /proc/sys/net/ipv4/ip_forward)"
    assertEquals "the machine's own ip_forward untouched" "$machine" \
        "$(cat /proc/sys/net/ipv4/ip_forward)"
}

test_ruleset_has_nat_chain_at_postrouting_priority_100_with_masquerade() {
    world || return 0
    in_host "$NAT" enable --source 172.17.0.0/16 || fail "enable failed"
    ruleset_json >"$TEST_TMP/rules.json"
    assertEquals "table" "ip tuna" \
        "$(jq -r '.nftables[] | select(.table) | .table | "\(.family) \(.name)"' "$TEST_TMP/rules.json")"
    assertEquals "chain" "postrouting nat postrouting 100 accept" \
        "$(jq -r '.nftables[] | select(.chain) | .chain |
                  "\(.name) \(.type) \(.hook) \(.prio) \(.policy)"' "$TEST_TMP/rules.json")"
    assertEquals "rule" 'ip saddr == 172.17.0.0/16; counter; masquerade' \
        "$(jq -r '[.nftables[] | select(.rule) | .rule.expr[] |
                   if .match then "\(.match.left.payload.protocol) \(.match.left.payload.field) \(.match.op) \(.match.right.prefix.addr)/\(.match.right.prefix.len)"
                   else keys[0] end] | join("; ")' "$TEST_TMP/rules.json")"
}

test_show_reports_the_rule_and_its_packet_counter() {
    local ours theirs
    world || return 0
    in_host "$NAT" enable --source 172.17.0.0/16 || fail "enable failed"
    container_reaches_uplink || fail "no ping through the masquerade"
    in_host "$NAT" show --json >"$TEST_TMP/show.json" || fail "show failed"
    ours=$(jq -r '.rules[0].packets' "$TEST_TMP/show.json")
    theirs=$(ruleset_json | jq -r '.nftables[] | select(.rule) | .rule.expr[] |
                                   select(.counter) | .counter.packets')
    assertTrue "packets > 0 (show says $ours)" "[ '$ours' -gt 0 ]"
    assertEquals "show agrees with nft" "$theirs" "$ours"
    assertEquals "the rule, in nft's words" \
        "ip saddr 172.17.0.0/16 counter packets $ours bytes $(jq -r '.rules[0].bytes' "$TEST_TMP/show.json") masquerade" \
        "$(jq -r '.rules[0].rule' "$TEST_TMP/show.json")"
    in_host "$NAT" show >"$TEST_TMP/show.txt"
    assertTrue "text show: $(cat "$TEST_TMP/show.txt")" \
        "grep -q '^table ip tuna chain postrouting handle [0-9]*: ip saddr 172.17.0.0/16 counter packets [1-9]' '$TEST_TMP/show.txt'"
}

test_disable_removes_the_table_and_the_way_out() {
    world || return 0
    in_host "$NAT" enable --source 172.17.0.0/16 || fail "enable failed"
    container_reaches_uplink || fail "no ping through the masquerade"
    in_host "$NAT" disable
    assertEquals "disable exit status" 0 $?
    assertEquals "no table left" 0 \
        "$(ruleset_json | jq '[.nftables[] | select(.table)] | length')"
    assertFalse "no way out after disable" container_reaches_uplink
}

test_out_if_masquerades_only_packets_leaving_by_it() {
    world || return 0
    in_host "$NAT" enable --source 172.17.0.0/16 --out-if up0 --table t1 || fail "enable failed"
    assertEquals "oifname match" '"up0"' \
        "$(ruleset_json | jq -c '.nftables[] | select(.rule) | .rule.expr[] |
                                  select(.match.left.meta.key == "oifname") | .match.right')"
    assertTrue "out by up0: masqueraded" container_reaches_uplink
    in_host "$NAT" disable --table t1 || fail "disable failed"
    in_host "$NAT" enable --source 172.17.0.0/16 --out-if other0 --table t2 || fail "enable failed"
    assertFalse "rule for another interface: not masqueraded" container_reaches_uplink
}

test_prefix_off_a_byte_boundary_matches() {
    world || return 0
    in_host "$NAT" enable --source 172.16.0.0/12 || fail "enable failed"
    assertEquals "prefix" "172.16.0.0/12" \
        "$(ruleset_json | jq -r '.nftables[] | select(.rule) | .rule.expr[0].match.right.prefix |
                                 "\(.addr)/\(.len)"')"
    assertTrue "172.17.0.2 is inside 172.16.0.0/12" container_reaches_uplink
}

test_explain_shows_the_batch_and_the_posts_commands() {
    world || return 0
    in_host "$NAT" -x enable --source 172.17.0.0/16 2>"$TEST_TMP/err" || fail "enable failed"
    assertTrue "the post's sysctl" "grep -q 'sysctl -w net.ipv4.ip_forward=1' '$TEST_TMP/err'"
    assertTrue "the post's iptables" \
        "grep -q 'iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE' '$TEST_TMP/err'"
    assertTrue "the nft equivalent" \
        "grep -q 'NFT_MSG_NEWRULE(.*NLM_F_ACK.*= 0 .*# nft add rule ip tuna postrouting ip saddr 172.17.0.0/16 counter masquerade' '$TEST_TMP/err'"
    assertEquals "three acked messages" 3 "$(grep -c '^  NFT_MSG_NEW.* = 0 ' "$TEST_TMP/err")"
    # Decoded from the bytes sent: a /16 loads two bytes and needs no mask.
    assertTrue "the rule's expressions, as nft --debug=netlink: $(grep NEWRULE "$TEST_TMP/err")" \
        "grep -qF 'expressions=[payload load 2b @ network header + 12 => reg 1, cmp eq reg 1 0xac11, counter, masq] = 0' '$TEST_TMP/err'"
    assertTrue "the chain's hook nest" \
        "grep -qF 'hook={hooknum=NF_INET_POST_ROUTING priority=100} policy=NF_ACCEPT type=\"nat\" = 0' '$TEST_TMP/err'"
}

# --- refusals -----------------------------------------------------------------

test_host_bits_in_source_are_refused_and_nothing_changes() {
    world || return 0
    assert_one_line_failure 2 ip netns exec "$HOST" "$NAT" enable --source 172.17.0.1/16
    assertTrue "names the network: $(cat "$TEST_TMP/err")" "grep -q '172.17.0.0/16' '$TEST_TMP/err'"
    assertEquals "ip_forward untouched" 0 "$(host_forwarding)"
    assertEquals "no table" 0 "$(ruleset_json | jq '[.nftables[] | select(.table)] | length')"
}

test_bad_usage_is_refused() {
    world || return 0
    assert_one_line_failure 2 ip netns exec "$HOST" "$NAT" enable
    assert_one_line_failure 2 ip netns exec "$HOST" "$NAT" enable --source 172.17.0.0/33
    assert_one_line_failure 2 ip netns exec "$HOST" "$NAT" enable --source 172.17.0.0/16 \
        --out-if abcdefghijklmnop
    assert_one_line_failure 2 ip netns exec "$HOST" "$NAT" frobnicate
    assertEquals "ip_forward untouched" 0 "$(host_forwarding)"
}

test_enable_twice_is_refused_with_eexist_and_keeps_one_rule() {
    world || return 0
    in_host "$NAT" enable --source 172.17.0.0/16 || fail "enable failed"
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_host "$NAT" enable --source 172.17.0.0/16
    assertEquals "exit status" 1 "$RC"
    assertTrue "EEXIST, one error line: $(cat "$TEST_TMP/err")" \
        "[ \"\$(grep -c '^06-nat: creating table ip tuna: File exists' '$TEST_TMP/err')\" = 1 ]"
    assertTrue "a hint" "grep -q '^hint: .*disable' '$TEST_TMP/err'"
    assertEquals "still one rule" 1 "$(ruleset_json | jq '[.nftables[] | select(.rule)] | length')"
}

test_disable_or_show_without_the_table_is_refused() {
    world || return 0
    assert_one_line_failure 1 ip netns exec "$HOST" "$NAT" disable
    assertTrue "says so: $(cat "$TEST_TMP/err")" "grep -q 'no such table' '$TEST_TMP/err'"
    assert_one_line_failure 1 ip netns exec "$HOST" "$NAT" show --table nosuch
}

test_without_root_the_refusal_has_a_hint() {
    world || return 0
    require_command setpriv util-linux || return 0
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_host setpriv --reuid=65534 \
        --regid=65534 --clear-groups "$NAT" enable --source 172.17.0.0/16
    assertEquals "exit status" 1 "$RC"
    assertTrue "error then hint: $(cat "$TEST_TMP/err")" \
        "grep -q '^06-nat: write /proc/sys/net/ipv4/ip_forward: Permission denied' '$TEST_TMP/err' &&
         grep -q '^hint: .*root' '$TEST_TMP/err'"
    assertEquals "ip_forward untouched" 0 "$(host_forwarding)"
}

# Last (shunit2 runs tests in the order written): after every test above.
test_zz_the_machines_own_network_namespace_is_unchanged() {
    require_root || return 0
    machine_network >"$TEST_TMP/after" 2>&1
    assertTrue "changed: $(diff "$MACHINE_BEFORE" "$TEST_TMP/after")" \
        "cmp -s '$MACHINE_BEFORE' '$TEST_TMP/after'"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

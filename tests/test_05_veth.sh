#!/usr/bin/env bash
# tests/test_05_veth.sh - 05-veth connects a container's network namespace
# to a "host" one with a veth pair, over rtnetlink.
#
# Every test builds its own world and never touches the machine's own
# network namespace: a "host" netns (where 05-veth runs, through
# `ip netns exec`) and one netns per "container", each held by a sleep
# process whose PID is what --pid names.  State is read back with `ip -j`
# and real pings, never with 05-veth's own report (except for show).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

VETH=$TUNA_BIN/05-veth

# --- the sandbox ---------------------------------------------------------------

# host_world: the "host" netns, in $HOST.
host_world() {
    HOST=$(unique_name tvh)
    netns_add "$HOST"
}

# container NS_VAR PID_VAR: a netns (lo left down, as a new one is) and a
# process in it; the names go into the variables named.
container() {
    local ns pid
    ns=$(unique_name tvc)
    ip netns add "$ns" || return 1
    on_cleanup ip netns delete "$ns"
    ip netns exec "$ns" sleep 300 &
    pid=$!
    on_cleanup kill "$pid"
    # ip netns exec joins the netns, then execs sleep: wait for the join.
    # Until then /proc/PID/ns/net is the machine's own namespace, which
    # 05-veth must never be pointed at: no join, no test.
    for _ in $(seq 250); do
        if [ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = \
             "$(stat -L -c %i "/run/netns/$ns")" ]; then
            printf -v "$1" '%s' "$ns"
            printf -v "$2" '%s' "$pid"
            return 0
        fi
        sleep 0.02
    done
    fail "process $pid did not enter network namespace $ns within 5 s"
    return 1
}

# in_host CMD...: run in the host netns.
in_host() { ip netns exec "$HOST" "$@"; }

# add_container PID ADDR [ARGS...]: 05-veth add with the post's addresses.
add_container() {
    local pid=$1 addr=$2
    shift 2
    in_host "$VETH" add --pid "$pid" --host-addr 172.17.0.1/16 \
        --container-addr "$addr/16" --gateway 172.17.0.1 "$@"
}

# link_names NS: the sorted interface names in NS (ip -j link).
link_names() { ip -n "$1" -j link show | jq -r '.[].ifname' | sort | tr '\n' ' '; }

# ipv4_of NS DEV: "ADDR/PREFIX" of DEV's IPv4 addresses.
ipv4_of() {
    ip -n "$1" -j addr show dev "$2" |
        jq -r '.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"'
}

# is_up NS DEV: the link has IFF_UP set (its flags, as ip -j shows them).
is_up() { ip -n "$1" -j link show dev "$2" | jq -e '.[0].flags | index("UP")' >/dev/null; }

# operstate_after_up NS DEV: DEV's operstate (RFC 2863, ip -j), once the kernel
# has settled it.  IFF_UP and the carrier are set by the request itself; the
# operstate is set later by the kernel's link-watch work (batched up to a
# second, longer on a loaded machine), so it is polled until UP, at most
# OPERSTATE_POLLS times OPERSTATE_POLL_S; prints the last state seen.
OPERSTATE_POLLS=50
OPERSTATE_POLL_S=0.1
operstate_after_up() {
    local state i
    for ((i = 0; i < OPERSTATE_POLLS; i++)); do
        state=$(ip -n "$1" -j link show dev "$2" | jq -r '.[0].operstate')
        [ "$state" = UP ] && break
        sleep "$OPERSTATE_POLL_S"
    done
    echo "$state"
}

# sandbox: what every test needs; returns 1 (and skips) when it cannot run.
# (Not test_setup: shunit2 would also run a function so named as a test.)
sandbox() {
    require_root || return 1
    require_command jq || return 1
    require_command nsenter util-linux || return 1
    host_world
}

# --- add ----------------------------------------------------------------------

test_add_configures_eth0_lo_route_inside_and_host_end_outside() {
    sandbox || return 0
    local cns cpid
    container cns cpid || return 0
    add_container "$cpid" 172.17.0.2 >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    assertEquals "add exit status ($(cat "$TEST_TMP/err"))" 0 $?

    # Inside, read through the process's own namespace file.
    assertEquals "eth0 address" "172.17.0.2/16" \
        "$(nsenter --net="/proc/$cpid/ns/net" ip -j addr show dev eth0 |
            jq -r '.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"')"
    assertTrue "eth0 is UP" "is_up $cns eth0"
    assertEquals "eth0 operstate" UP "$(operstate_after_up "$cns" eth0)"
    assertTrue "lo is UP" "is_up $cns lo"
    assertFalse "c$cpid is gone (renamed)" "ip -n $cns link show c$cpid"
    assertEquals "default route" "172.17.0.1" \
        "$(ip -n "$cns" -j route show default | jq -r '.[0].gateway')"

    # Outside: the host end, its address, up.
    assertEquals "h$cpid address" "172.17.0.1/16" "$(ipv4_of "$HOST" "h$cpid")"
    assertTrue "h$cpid is UP" "is_up $HOST h$cpid"
    assertEquals "h$cpid is a veth" veth \
        "$(ip -n "$HOST" -d -j link show dev "h$cpid" | jq -r '.[0].linkinfo.info_kind')"
    assertEquals "add is silent on success" "" "$(cat "$TEST_TMP/out" "$TEST_TMP/err")"
}

test_container_pings_host_through_the_pair() {
    sandbox || return 0
    local cns cpid
    container cns cpid || return 0
    add_container "$cpid" 172.17.0.2 || fail "add failed"
    assertTrue "ping 172.17.0.1 from the container" \
        "ip netns exec $cns ping -c 1 -W 1 172.17.0.1"
    assertTrue "ping 172.17.0.2 from the host" \
        "ip netns exec $HOST ping -c 1 -W 1 172.17.0.2"
}

test_custom_names_are_used() {
    sandbox || return 0
    local cns cpid
    container cns cpid || return 0
    in_host "$VETH" add --pid "$cpid" --host-if vhost0 --container-if net0 \
        --host-addr 10.9.0.1/24 --container-addr 10.9.0.2/24 || fail "add failed"
    assertEquals "host end" "10.9.0.1/24" "$(ipv4_of "$HOST" vhost0)"
    assertEquals "container end" "10.9.0.2/24" "$(ipv4_of "$cns" net0)"
    assertEquals "no default route without --gateway" "0" \
        "$(ip -n "$cns" -j route show default | jq length)"
}

test_two_containers_on_a_bridge_ping_each_other() {
    sandbox || return 0
    local ns1 pid1 ns2 pid2
    container ns1 pid1 || return 0
    container ns2 pid2 || return 0
    add_container "$pid1" 172.17.0.2 --bridge tbr0 || fail "first add failed"
    add_container "$pid2" 172.17.0.3 --bridge tbr0 || fail "second add failed"

    assertEquals "bridge kind" bridge \
        "$(ip -n "$HOST" -d -j link show dev tbr0 | jq -r '.[0].linkinfo.info_kind')"
    assertEquals "the host address is on the bridge" "172.17.0.1/16" "$(ipv4_of "$HOST" tbr0)"
    assertEquals "not on the host end" "" "$(ipv4_of "$HOST" "h$pid1")"
    assertEquals "h$pid1 master" tbr0 "$(ip -n "$HOST" -j link show dev "h$pid1" | jq -r '.[0].master')"
    assertEquals "h$pid2 master" tbr0 "$(ip -n "$HOST" -j link show dev "h$pid2" | jq -r '.[0].master')"
    assertTrue "container 1 pings container 2" "ip netns exec $ns1 ping -c 1 -W 1 172.17.0.3"
    assertTrue "container 2 pings container 1" "ip netns exec $ns2 ping -c 1 -W 1 172.17.0.2"
    assertTrue "container 2 pings the bridge" "ip netns exec $ns2 ping -c 1 -W 1 172.17.0.1"
}

# --- del and show -------------------------------------------------------------

test_del_removes_both_ends() {
    sandbox || return 0
    local cns cpid
    container cns cpid || return 0
    add_container "$cpid" 172.17.0.2 || fail "add failed"
    in_host "$VETH" del --pid "$cpid"
    assertEquals "del exit status" 0 $?
    assertEquals "host side" "lo " "$(link_names "$HOST")"
    assertEquals "container side" "lo " "$(link_names "$cns")"
    assert_one_line_failure 1 ip netns exec "$HOST" "$VETH" del --host-if "h$cpid"
}

test_show_json_reports_both_sides() {
    sandbox || return 0
    local cns cpid
    container cns cpid || return 0
    add_container "$cpid" 172.17.0.2 || fail "add failed"
    in_host "$VETH" show --json >"$TEST_TMP/host.json" || fail "show failed"
    assertEquals "host end in show" '["172.17.0.1/16"]' \
        "$(jq -c --arg n "h$cpid" '.[] | select(.name == $n) | .addresses' "$TEST_TMP/host.json")"
    in_host "$VETH" show --pid "$cpid" --json >"$TEST_TMP/c.json" || fail "show --pid failed"
    assertEquals "eth0 in show --pid" 'veth UP ["172.17.0.2/16"]' \
        "$(jq -r '.[] | select(.name == "eth0") | "\(.kind) \(.state) \(.addresses | tojson)"' "$TEST_TMP/c.json")"
}

test_explain_shows_each_message_and_the_posts_command() {
    sandbox || return 0
    local cns cpid
    container cns cpid || return 0
    in_host "$VETH" -x add --pid "$cpid" --host-addr 172.17.0.1/16 \
        --container-addr 172.17.0.2/16 2>"$TEST_TMP/err" || fail "add failed"
    assertTrue "create with the post's command" \
        "grep -q '^RTM_NEWLINK(NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL) ifname=\"h$cpid\" linkinfo={kind=\"veth\"' '$TEST_TMP/err'"
    assertTrue "the peer born inside, the post's two commands beside it" \
        "grep -q 'data={peer={ifname=\"c$cpid\" net_ns_fd=[0-9]*}}} = 0 .*# ip link add name h$cpid type veth peer name c$cpid netns $cpid' '$TEST_TMP/err' &&
         grep -q '^# the post: ip link add name h$cpid type veth peer name c$cpid; ip link set c$cpid netns $cpid' '$TEST_TMP/err'"
    assertTrue "the rename, inside, the ifinfomsg decoded from the bytes sent" \
        "grep -q '^\[container\] RTM_NEWLINK(NLM_F_REQUEST|NLM_F_ACK) index=[0-9]* flags=IFF_UP change=IFF_UP ifname=\"eth0\" = 0   # ip link set c$cpid name eth0 up\$' '$TEST_TMP/err'"
    assertTrue "the address: ifaddrmsg and both attributes" \
        "grep -q '^RTM_NEWADDR(NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL) family=AF_INET prefixlen=16 index=[0-9]* local=172.17.0.1 address=172.17.0.1 = 0   # ip addr add 172.17.0.1/16 dev h$cpid\$' '$TEST_TMP/err'"
}

# --- refusals: one line, the right status, nothing left -----------------------

test_missing_or_dead_pid_is_refused() {
    sandbox || return 0
    local before
    before=$(link_names "$HOST")
    assert_one_line_failure 2 ip netns exec "$HOST" "$VETH" add \
        --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16
    # A PID no process has (above the kernel's default pid_max).
    assert_one_line_failure 1 ip netns exec "$HOST" "$VETH" add --pid 4194000 \
        --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16
    assertEquals "nothing left" "$before" "$(link_names "$HOST")"
}

test_interface_name_over_15_bytes_is_refused() {
    sandbox || return 0
    local cns cpid before
    container cns cpid || return 0
    before=$(link_names "$HOST")
    assert_one_line_failure 2 ip netns exec "$HOST" "$VETH" add --pid "$cpid" \
        --host-if abcdefghijklmnop --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16
    assertTrue "says 15 bytes" "grep -q '15 bytes' '$TEST_TMP/err'"
    assert_one_line_failure 2 ip netns exec "$HOST" "$VETH" add --pid "$cpid" \
        --container-if abcdefghijklmnop --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16
    assertEquals "nothing left outside" "$before" "$(link_names "$HOST")"
    assertEquals "nothing left inside" "lo " "$(link_names "$cns")"
}

test_bad_cidr_is_refused() {
    sandbox || return 0
    local cns cpid before bad
    container cns cpid || return 0
    before=$(link_names "$HOST")
    for bad in 172.17.0.1 172.17.0.1/33 172.17.0/16 172.17.0.256/16 ""; do
        assert_one_line_failure 2 ip netns exec "$HOST" "$VETH" add --pid "$cpid" \
            --host-addr "$bad" --container-addr 172.17.0.2/16
    done
    assert_one_line_failure 2 ip netns exec "$HOST" "$VETH" add --pid "$cpid" \
        --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16 --gateway 172.17.0
    assertEquals "nothing left" "$before" "$(link_names "$HOST")"
}

test_existing_name_is_refused_with_eexist_and_a_hint() {
    sandbox || return 0
    local cns cpid before
    container cns cpid || return 0
    ip -n "$HOST" link add taken0 type veth peer name taken1
    before=$(link_names "$HOST")
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_host "$VETH" add --pid "$cpid" \
        --host-if taken0 --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16
    assertEquals "exit status" 1 "$RC"
    assertTrue "one error line with EEXIST's text: $(cat "$TEST_TMP/err")" \
        "[ \"\$(grep -c '^05-veth: .*taken0.*File exists' '$TEST_TMP/err')\" = 1 ]"
    assertTrue "a hint" "grep -q '^hint: ' '$TEST_TMP/err'"
    assertEquals "nothing left" "$before" "$(link_names "$HOST")"
}

test_name_taken_inside_the_container_is_refused_with_eexist() {
    sandbox || return 0
    local cns cpid before
    container cns cpid || return 0
    # A link named c<PID> already inside: the peer cannot be born there.
    ip -n "$cns" link add "c$cpid" type veth peer name other0
    before=$(link_names "$HOST")
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" add_container "$cpid" 172.17.0.2
    assertEquals "exit status" 1 "$RC"
    assertTrue "EEXIST: $(cat "$TEST_TMP/err")" \
        "grep -q '^05-veth: creating veth h$cpid/c$cpid: File exists' '$TEST_TMP/err'"
    assertEquals "nothing left outside" "$before" "$(link_names "$HOST")"
    assertEquals "inside untouched" "c$cpid lo other0 " "$(link_names "$cns")"
}

test_unreachable_gateway_prints_the_kernels_text_and_removes_the_pair() {
    sandbox || return 0
    local cns cpid before
    container cns cpid || return 0
    before=$(link_names "$HOST")
    # The last message fails, after the pair exists on both sides.
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_host "$VETH" add --pid "$cpid" \
        --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16 --gateway 10.99.0.1
    assertEquals "exit status" 1 "$RC"
    assertEquals "one line: $(cat "$TEST_TMP/err")" 1 "$(wc -l <"$TEST_TMP/err")"
    assertTrue "the kernel's extended-ack text: $(cat "$TEST_TMP/err")" \
        "grep -q '^05-veth: .*10.99.0.1: Network is unreachable (kernel: Nexthop has invalid gateway)' '$TEST_TMP/err'"
    assertEquals "the pair was removed" "$before" "$(link_names "$HOST")"
    assertEquals "nothing left inside" "lo " "$(link_names "$cns")"
}

test_failure_removes_a_bridge_this_run_made_but_not_one_it_reused() {
    sandbox || return 0
    local cns cpid before
    container cns cpid || return 0
    before=$(link_names "$HOST")
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" add_container "$cpid" 172.17.0.2 \
        --bridge tbr1 --container-if lo
    assertEquals "exit status" 1 "$RC"
    assertEquals "bridge and pair removed" "$before" "$(link_names "$HOST")"
    ip -n "$HOST" link add tbr2 type bridge
    before=$(link_names "$HOST")
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" add_container "$cpid" 172.17.0.2 \
        --bridge tbr2 --container-if lo
    assertEquals "exit status" 1 "$RC"
    assertEquals "the bridge that was there stays, the pair goes" "$before" "$(link_names "$HOST")"
}

test_failure_inside_removes_the_pair() {
    sandbox || return 0
    local cns cpid before
    container cns cpid || return 0
    before=$(link_names "$HOST")
    # Renaming the container end to lo must fail: lo exists there.
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" add_container "$cpid" 172.17.0.2 \
        --container-if lo
    assertEquals "exit status" 1 "$RC"
    assertEquals "host side as before" "$before" "$(link_names "$HOST")"
    assertEquals "container side as before" "lo " "$(link_names "$cns")"
}

test_without_root_the_refusal_has_a_hint() {
    sandbox || return 0
    require_command setpriv util-linux || return 0
    local cns cpid before
    container cns cpid || return 0
    before=$(link_names "$HOST")
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" in_host setpriv --reuid=65534 \
        --regid=65534 --clear-groups "$VETH" add --pid "$cpid" \
        --host-addr 172.17.0.1/16 --container-addr 172.17.0.2/16
    assertEquals "exit status" 1 "$RC"
    assertTrue "error then hint: $(cat "$TEST_TMP/err")" \
        "grep -q '^05-veth: ' '$TEST_TMP/err' && grep -q '^hint: .*root' '$TEST_TMP/err'"
    assertEquals "nothing made" "$before" "$(link_names "$HOST")"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

#!/usr/bin/env bash
# labs/06-nat.sh - step 06 on its own: the container reaches the stand-in
# internet (198.51.100.53 in the lab's uplink namespace, which has no route
# back) only through forwarding and masquerade.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"

lab_steps() {
    step 1 "$(msg l06.s1.title)"
    on_host "$TUNA_BIN/02-unshare" --net --pidfile "$LAB_RUN/container.pid" -- sleep 3600 &
    echo $! >"$LAB_RUN/unshare.pid"
    for _ in $(seq 100); do
        [ -s "$LAB_RUN/container.pid" ] && break
        sleep 0.05
    done
    CPID=$(cat "$LAB_RUN/container.pid")
    post "(container) ip route add default via $HOST_ADDR"
    ours on_host "$TUNA_BIN/05-veth" add --pid "$CPID" --gateway "$HOST_ADDR" \
        --host-addr "$HOST_ADDR/$PREFIX_LEN" --container-addr "$CONTAINER_ADDR/$PREFIX_LEN"
    if nsenter --target "$CPID" --net ping -c 1 -W 1 "$INTERNET_ADDR" >/dev/null 2>&1; then
        result fail "$(msg l06.s1.answered "$INTERNET_ADDR")"
    else
        result ok "$(msg l06.s1.no_answer "$INTERNET_ADDR" "$CONTAINER_NET")"
    fi

    step 2 "$(msg l06.s2.title)"
    post "sysctl -w net.ipv4.ip_forward=1"
    post "iptables -t nat -A POSTROUTING -s 172.17.0.1/16 -j MASQUERADE"
    ours on_host "$TUNA_BIN/06-nat" "${X[@]}" enable --source "$CONTAINER_NET" --out-if "$LAB_UPLINK_IF"
    say "$(msg l06.s2.ruleset)"
    on_host nft list table ip tuna | sed 's/^/  | /'
    check "$(msg l06.s2.forward "$(on_host cat /proc/sys/net/ipv4/ip_forward)")" \
        [ "$(on_host cat /proc/sys/net/ipv4/ip_forward)" = 1 ]

    step 3 "$(msg l06.s3.title)"
    post "ping 8.8.8.8        # $(msg l06.s3.stand_in "$INTERNET_ADDR")"
    check "$(msg l06.s3.reaches "$INTERNET_ADDR")" \
        nsenter --target "$CPID" --net ping -c 2 -W 2 "$INTERNET_ADDR"
    ours on_host "$TUNA_BIN/06-nat" show
    packets=$(on_host "$TUNA_BIN/06-nat" show --json | jq '[.. | .packets? // empty] | add // 0')
    check "$(msg l06.s3.counted "$packets")" arith "${packets:-0} > 0"

    step 4 "$(msg l06.s4.title)"
    ours on_host "$TUNA_BIN/06-nat" "${X[@]}" disable
    if nsenter --target "$CPID" --net ping -c 1 -W 1 "$INTERNET_ADDR" >/dev/null 2>&1; then
        result fail "$(msg l06.s4.answers "$INTERNET_ADDR")"
    else
        result ok "$(msg l06.s4.no_answer)"
    fi
    lab_finish
}

lab_run lab_steps

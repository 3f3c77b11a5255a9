#!/usr/bin/env bash
# labs/05-veth.sh - step 05 on its own: a container network namespace joined
# to the lab's "host" by a veth pair, made over rtnetlink; ping both ways.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"

# start_netns_container: a process in a new network and UTS namespace that
# waits, as the post's container shell does; sets CPID.
start_netns_container() {
    on_host "$TUNA_BIN/02-unshare" --net --uts --hostname tuna \
        --pidfile "$LAB_RUN/container.pid" -- sleep 3600 &
    echo $! >"$LAB_RUN/unshare.pid"
    for _ in $(seq 100); do
        [ -s "$LAB_RUN/container.pid" ] && break
        sleep 0.05
    done
    CPID=$(cat "$LAB_RUN/container.pid")
}

lab_steps() {
    step 1 "$(msg l05.s1.title)"
    post "unshare --net ... bash"
    start_netns_container
    say "$(msg l05.s1.only_lo "$CPID")"
    nsenter --target "$CPID" --net ip -br link | sed 's/^/  | /'

    step 2 "$(msg l05.s2.title)"
    post "ip link add name h$CPID type veth peer name c$CPID"
    post "ip link set c$CPID netns $CPID"
    post "ip addr add $HOST_ADDR/$PREFIX_LEN dev h$CPID; ip link set dev h$CPID up"
    post "(container) ip link set dev lo up; ip link set c$CPID name eth0 up"
    post "(container) ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    ours on_host "$TUNA_BIN/05-veth" "${X[@]}" add --pid "$CPID" \
        --host-addr "$HOST_ADDR/$PREFIX_LEN" --container-addr "$CONTAINER_ADDR/$PREFIX_LEN"
    ours on_host "$TUNA_BIN/05-veth" show --pid "$CPID"
    addr=$(nsenter --target "$CPID" --net ip -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"')
    check "$(msg l05.s2.eth0 "$addr")" [ "$addr" = "$CONTAINER_ADDR/$PREFIX_LEN" ]

    step 3 "$(msg l05.s3.title)"
    post "ping $HOST_ADDR"
    check "$(msg l05.s3.c2h)" nsenter --target "$CPID" --net ping -c 1 -W 2 "$HOST_ADDR"
    check "$(msg l05.s3.h2c)" on_host ping -c 1 -W 2 "$CONTAINER_ADDR"
    lab_finish
}

lab_run lab_steps

#!/usr/bin/env bash
# labs/all.sh - the blog post's lab, end to end, with tuna's tools (make lab).
#
#   1. an image on ZFS, a snapshot, a clone        (03-zfs-image)
#   2. the cgroup joined, then new namespaces      (01-cgroup, 02-unshare)
#   3. pivot_root into the clone, a fresh /proc    (04-pivot)
#   4. a veth pair; ping the host                  (05-veth)
#   5. NAT; ping the stand-in internet             (06-nat)
#   6. the cgroup's limits: 20% of a CPU, 200M     (01-cgroup)
#   7. the load test: the limits bite              (07-stress)
#
# The steps follow the post's order; each banner names the lesson it comes
# from (docs/NN-name.md, numbered as the programs are).
#
# Each step shows the post's command, ours (with --explain: the syscalls and
# netlink messages), and a result line with the kernel's own figure.  The lab
# exits 0 only when every result held.  It builds its own world (see
# labs/lib.sh) and labs/teardown.sh removes it on exit, however the lab ends.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"

CPU_LIMIT=20%
MEMORY_LIMIT=200M                   # the post's 209715200 bytes
MEMORY_LIMIT_BYTES=209715200
CPU_SHARE_MIN=17 CPU_SHARE_MAX=23   # percent: 20% within the kernel's granularity
STRESS_SECONDS=5                    # the CPU chart's seconds (the hog runs one more)
# A memory hog under a 20% CPU quota touches its pages slowly, the more so on
# a slow (emulated) machine: it runs until the OOM killer takes it, or until
# it holds all its bytes, which is when it has survived (at most this long).
OOM_SECONDS=90
# The post's programs, copied into the image with the libraries they need.
POST_PROGRAMS=(ls mount umount df lsblk mkdir rm ping ip ps)

# network_picture: the lab's network as it is once step 5 is done: the
# container, the lab's host and the stand-in internet, each a network
# namespace, joined by veth pairs.
network_picture() {
    say "The network the lab builds (the masquerade comes in step 5):"
    echo
    box_top "container: PID $CPID, its own network namespace"
    box_line "$(printf '%-18s %s' "eth0 (was c$CPID)" "$CONTAINER_ADDR/$PREFIX_LEN")"
    box_line "$(printf '%-18s %s' "default route via" "$HOST_ADDR (step 5)")"
    box_bottom
    box_link "veth pair"
    if [ "$LAB_REAL_HOST" = 1 ]; then
        box_top "host: this machine's own network namespace"
        box_line "$(printf '%-18s %s' "h$CPID" "$HOST_ADDR/$PREFIX_LEN")"
        box_line "masquerade: ip saddr $CONTAINER_NET (step 5)"
        box_line "ip_forward = 1 (step 5)"
        box_bottom
        box_link "the machine's own uplink: the internet"
        echo
        return 0
    fi
    box_top "lab host: network namespace $LAB_HOST_NS"
    box_line "$(printf '%-18s %s' "h$CPID" "$HOST_ADDR/$PREFIX_LEN")"
    box_line "masquerade: ip saddr $CONTAINER_NET oifname $LAB_UPLINK_IF"
    box_line "ip_forward = 1 (step 5)"
    box_line "$(printf '%-18s %s' "$LAB_UPLINK_IF" "$UPLINK_HOST_ADDR/$UPLINK_NET_PREFIX")"
    box_bottom
    box_link "veth pair"
    box_top "the internet: network namespace $LAB_UPLINK_NS"
    box_line "$(printf '%-18s %s' uplink0 "$INTERNET_ADDR/$UPLINK_NET_PREFIX")"
    box_line "no route back to $CONTAINER_NET:"
    box_line "a reply reaches the container only through the masquerade"
    box_bottom
    echo
}

# hog_runs_to_the_end PID BYTES: wait for the 07-stress run PID (its worker in
# the container's cgroup, malloc()ing BYTES and touching every page).  It
# ends by itself when the OOM killer took the worker (status 1).  Once the
# worker has held all BYTES it has survived a whole pass: it is stopped then
# (status 0) rather than left to OOM_SECONDS.  The worker frees and mallocs
# again after each pass, so the mark is its peak resident size (VmHWM,
# proc(5)) less the file pages it maps (RssFile).
hog_runs_to_the_end() {
    local pid=$1 want procs p rss
    want=$((${2%M} * 1024))   # KiB, as /proc/PID/status counts
    procs=$(cgroup_dir memory "$LAB_CONTAINER_CGROUP")/cgroup.procs
    while kill -0 "$pid" 2>/dev/null; do
        while read -r p; do
            rss=$(awk '$1 == "VmHWM:" { hwm = $2 } $1 == "RssFile:" { file = $2 }
                END { print hwm - file }' "/proc/$p/status" 2>/dev/null)
            [ "${rss:-0}" -ge "$want" ] || continue
            # 07-stress stops its workers on SIGTERM, as at its timeout.
            while read -r p; do
                [ "$(cat "/proc/$p/comm" 2>/dev/null)" != 07-stress ] || kill "$p" 2>/dev/null
            done <"$procs"
            wait "$pid" 2>/dev/null
            return 0
        done < <(cat "$procs" 2>/dev/null)
        sleep 0.2
    done
    wait "$pid"
}

# lab_steps: the post, step by step.  lab_run runs it in a child and tears
# the world down afterwards.
lab_steps() {
    # ------------------------------------------------------------------------------
    step 1 "An image on ZFS, a read-only snapshot, a copy-on-write clone" 03-zfs-image
    post "zpool create zpools /dev/sda5"
    post "zfs create zpools/images -o mountpoint=/zpools/images"
    post "zfs create zpools/images/myImage -o mountpoint=/zpools/images/myImage"
    ours zfs_tool "${X[@]}" pool create --size 1G
    ours zfs_tool "${X[@]}" image create "$IMAGE"
    post "cp ${POST_PROGRAMS[*]} stress ... bin/; cp -r /lib /usr/lib /usr/lib64 ..."
    say "tuna copies each program and exactly the libraries it needs (ELF DT_NEEDED),"
    say "plus busybox for a shell, and 07-stress in the place of stress."
    ours zfs_tool image populate "$IMAGE" --busybox \
        --from-host "${POST_PROGRAMS[@]}" "$TUNA_BIN/07-stress"
    post "zfs snapshot zpools/images/myImage@v1.0"
    ours zfs_tool "${X[@]}" snapshot "$SNAPSHOT"
    post "zfs create zpools/containers -o mountpoint=/zpools/containers"
    post "zfs clone zpools/images/myImage@v1.0 zpools/containers/myContainer"
    ours zfs_tool "${X[@]}" clone "$SNAPSHOT" "$CONTAINER"
    post "zfs list      # myContainer  USED 62K  REFER 605M"
    ours zfs_tool list
    used=$(zfs_tool list --json | jq -r ".[] | select(.name == \"$CONTAINER\") | .used")
    refer=$(zfs_tool list --json | jq -r ".[] | select(.name == \"$CONTAINER\") | .refer")
    if [ -n "$used" ] && [ -n "$refer" ] && [ "$refer" -gt 0 ] && [ $((used * 100 / refer)) -lt 5 ]; then
        result ok "the clone costs almost nothing: USED $used bytes, REFER $refer bytes (C22)"
    else
        result fail "clone USED '$used' is not small beside REFER '$refer'"
    fi

    # ------------------------------------------------------------------------------
    step 2 "The container's cgroup, then new namespaces; hostname tuna" 02-unshare
    say "A cgroup namespace takes the group its maker is in as its root."
    say "So the container joins its cgroup first, and makes its namespaces after:"
    say "inside, it then sees its own group as / (container runtimes do the same)."
    say "The group gets its limits in step 6."
    post "cgcreate -a root -g cpu:myContainer; cgcreate -a root -g memory:myContainer"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" create "$LAB_CONTAINER_CGROUP"
    post "unshare --mount --uts --ipc --net --pid --cgroup --fork bash"
    post "hostname tuna; exec bash"
    say "The container joins the group, makes its namespaces, and waits on a FIFO"
    say "until the host side is ready; then 04-pivot (step 3) runs in it."
    mkfifo "$LAB_RUN/go"
    host_netns=()
    [ -n "$LAB_HOST_NS" ] && host_netns=(ip netns exec "$LAB_HOST_NS")
    # 01-cgroup exec joins, then execs the rest in the same process: ip netns
    # exec (which remounts /sys, so it comes after the join), then 02-unshare.
    "$TUNA_BIN/01-cgroup" "${X[@]}" exec "$LAB_CONTAINER_CGROUP" -- "${host_netns[@]}" \
        "$TUNA_BIN/02-unshare" "${X[@]}" --mount --uts --ipc --net --pid --cgroup \
        --fork --hostname tuna --pidfile "$LAB_RUN/container.pid" --wait "$LAB_RUN/go" \
        -- "$TUNA_BIN/04-pivot" "${X[@]}" --dev "$CONTAINER_ROOT" \
        -- /bin/sh -c 'while :; do sleep 1; done' &
    echo $! >"$LAB_RUN/unshare.pid"
    printf '  tuna$ 01-cgroup exec %s -- %s02-unshare --mount --uts --ipc --net --pid --cgroup --fork --hostname tuna ... &\n' \
        "$LAB_CONTAINER_CGROUP" "${host_netns[*]}${host_netns[*]:+ }"
    for _ in $(seq 100); do
        [ -s "$LAB_RUN/container.pid" ] && break
        sleep 0.05
    done
    CPID=$(cat "$LAB_RUN/container.pid")
    echo "$CPID" >"$LAB_RUN/veth.pid"
    say "the container's PID 1 is PID $CPID on the host"
    post "ls -al /proc/$CPID/ns"
    ours "$TUNA_BIN/02-unshare" --show "$CPID"
    # Compared with this script's own namespaces, which are the host's (PID 1's
    # links cannot be read everywhere, in a sandbox for one).
    differ=
    for ns in ipc mnt net pid uts cgroup time user; do
        [ "$(readlink "/proc/$CPID/ns/$ns")" != "$(readlink "/proc/$$/ns/$ns")" ] && differ="$differ $ns"
    done
    check "namespaces that differ from the host's:$differ (time and user stay the host's)" \
        [ "$differ" = " ipc mnt net pid uts cgroup" ]
    say "The container's cgroup, as the host sees it (/proc/$CPID/cgroup):"
    sed 's/^/  | /' "/proc/$CPID/cgroup"
    say "and as the container sees it, through its cgroup namespace:"
    nsenter --target "$CPID" --cgroup cat "/proc/$CPID/cgroup" >"$LAB_RUN/cgroup.inside"
    sed 's/^/  | /' "$LAB_RUN/cgroup.inside"
    # shellcheck disable=SC2016  # awk's own fields
    check "inside, every line of /proc/$CPID/cgroup ends in '/': the group is its root" \
        awk -F: 'END { exit !(NR > 0 && bad == 0) } $3 != "/" { bad = 1 }' "$LAB_RUN/cgroup.inside"

    # ------------------------------------------------------------------------------
    step 3 "pivot_root into the clone, /proc of the new PID namespace, old root gone" 04-pivot
    post "cd /zpools/containers/myContainer && mkdir oldroot && pivot_root . oldroot"
    post "mkdir proc && mount -t proc proc /proc"
    post "umount -l /oldroot"
    echo go >"$LAB_RUN/go"
    # Wait until 04-pivot has exec'd the container's shell.
    for _ in $(seq 100); do
        [ "$(cat "/proc/$CPID/comm" 2>/dev/null)" = sh ] && break
        sleep 0.05
    done
    post "ps; echo \$\$"
    in_container ps
    nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$CPID/status")
    check "the container's shell is PID $nspid in its namespace (C23)" [ "$nspid" = 1 ]
    check "hostname inside is '$(in_container hostname)', the host's is still '$(hostname)'" \
        [ "$(in_container hostname)" = tuna ]
    post "df -h; mount"
    in_container mount
    mounts=$(awk '{print $5}' "/proc/$CPID/mountinfo" | tr '\n' ' ')
    check "mounts inside: $mounts- and no /oldroot (C24)" \
        sh -c "[ ! -e /proc/$CPID/root/oldroot ] && ! grep -q ' /oldroot' /proc/$CPID/mountinfo"

    # ------------------------------------------------------------------------------
    step 4 "A veth pair: one end in the container, renamed eth0" 05-veth
    post "ip link add name h$CPID type veth peer name c$CPID"
    post "ip link set c$CPID netns $CPID"
    post "ip addr add $HOST_ADDR/$PREFIX_LEN dev h$CPID; ip link set dev h$CPID up"
    post "(container) ip link set dev lo up; ip link set c$CPID name eth0 up; ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    ours on_host "$TUNA_BIN/05-veth" "${X[@]}" add --pid "$CPID" \
        --host-addr "$HOST_ADDR/$PREFIX_LEN" --container-addr "$CONTAINER_ADDR/$PREFIX_LEN"
    network_picture
    post "ping $HOST_ADDR"
    check "the container pings the host at $HOST_ADDR (C26)" \
        in_container ping -c 1 -W 2 "$HOST_ADDR"

    # ------------------------------------------------------------------------------
    step 5 "NAT: forwarding and masquerade, and the way out" 06-nat
    post "(container) ip route add default via $HOST_ADDR"
    ours in_container ip route add default via "$HOST_ADDR"
    if [ "$LAB_REAL_HOST" = 0 ]; then
        say "Before NAT the packets leave, but $INTERNET_ADDR has no route back to $CONTAINER_NET:"
        if in_container ping -c 1 -W 1 "$INTERNET_ADDR" >/dev/null 2>&1; then
            result fail "$INTERNET_ADDR answered before NAT: the uplink must not route back"
        else
            result ok "before NAT, ping $INTERNET_ADDR gets no answer"
        fi
    fi
    post "sysctl -w net.ipv4.ip_forward=1"
    # On the machine's own namespace the teardown puts forwarding back as
    # it found it (06-nat disable removes only its table).
    if [ "$LAB_REAL_HOST" = 1 ]; then
        cat /proc/sys/net/ipv4/ip_forward >"$LAB_RUN/ip_forward"
    fi
    post "iptables -t nat -A POSTROUTING -s 172.17.0.1/16 -j MASQUERADE"
    out_if=()
    [ "$LAB_REAL_HOST" = 0 ] && out_if=(--out-if "$LAB_UPLINK_IF")
    ours on_host "$TUNA_BIN/06-nat" "${X[@]}" enable --source "$CONTAINER_NET" "${out_if[@]}"
    if [ "$LAB_REAL_HOST" = 0 ]; then
        post "ping 8.8.8.8      # our stand-in for the internet: $INTERNET_ADDR"
        check "after NAT the container reaches $INTERNET_ADDR (C28)" \
            in_container ping -c 1 -W 2 "$INTERNET_ADDR"
        packets=$(on_host nft -j list table ip tuna | jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add // 0')
        check "the masquerade rule counted $packets packet(s) (nft -j)" [ "${packets:-0}" -gt 0 ]
    fi
    on_host "$TUNA_BIN/06-nat" show

    # ------------------------------------------------------------------------------
    step 6 "The cgroup's limits: 20% of one CPU and 200M of memory" 01-cgroup
    post "echo 20000 > /sys/fs/cgroup/myContainer/cpu.max          # 20% CPU"
    post "echo 209715200 > /sys/fs/cgroup/myContainer/memory.max   # 200 MB"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" set "$LAB_CONTAINER_CGROUP" \
        --cpu "$CPU_LIMIT" --memory "$MEMORY_LIMIT"
    post "cgclassify -g cpu,memory:myContainer $CPID"
    say "Done in step 2: the container joined the group before it made its cgroup namespace."
    ours "$TUNA_BIN/01-cgroup" stat "$LAB_CONTAINER_CGROUP"
    cgroup_limits "$LAB_CONTAINER_CGROUP"
    check "the kernel holds $CPU_LIMIT of a CPU and $MEMORY_LIMIT: $LIMITS" \
        limits_are "${CPU_LIMIT%\%}" "$MEMORY_LIMIT_BYTES"
    say "the lab's own shell stays in $(cgroup_membership $$): only PID $CPID (and what it starts) moved"
    check "PID $CPID is in the cgroup ($(cgroup_membership "$CPID"))" \
        in_cgroup "$CPID" "$LAB_CONTAINER_CGROUP"

    # ------------------------------------------------------------------------------
    step 7 "The load test: the limits bite" 07-stress
    # The load runs in the container as `docker exec` would: nsenter into its
    # namespaces, joined to its cgroup first by 01-cgroup exec.
    cg_exec() { "$TUNA_BIN/01-cgroup" exec "$LAB_CONTAINER_CGROUP" -- "$@"; }
    post "stress -c 1      # top on the host shows ~20%"
    stat_json() { "$TUNA_BIN/01-cgroup" stat --json "$LAB_CONTAINER_CGROUP"; }
    usage_file=$(cgroup_cpu_usage_file "$LAB_CONTAINER_CGROUP") ||
        { result fail "no CPU usage counter for $LAB_CONTAINER_CGROUP"; lab_finish; return 1; }
    usage_unit=${usage_file##* } usage_file=${usage_file% *}
    ours cg_exec nsenter --target "$CPID" --mount --uts --ipc --net --pid --root --wd \
        -- /bin/07-stress -c 1 -t "$((STRESS_SECONDS + 1))s" &
    stress_pid=$!
    sleep 0.5   # the hog starts
    say "What top shows, second by second: the group's CPU time over wall time,"
    say "read from $usage_file ($usage_unit)."
    say "One # is 2% of one CPU; | marks the limit, $CPU_LIMIT."
    usage0=$(cpu_usage_us_in "$usage_file" "$usage_unit") t0=$(date +%s%N)
    usage_prev=$usage0 t_prev=$t0
    for second in $(seq "$STRESS_SECONDS"); do
        sleep 1
        usage_now=$(cpu_usage_us_in "$usage_file" "$usage_unit") t_now=$(date +%s%N)
        tenths=$(( (usage_now - usage_prev) * 1000 / ((t_now - t_prev) / 1000) ))
        printf '  %2d s  %s %3d.%d%%\n' "$second" "$(bar "$tenths" "${CPU_LIMIT%\%}")" \
            $((tenths / 10)) $((tenths % 10))
        usage_prev=$usage_now t_prev=$t_now
    done
    usage1=$usage_now t1=$t_now
    wait "$stress_pid" || true
    # The kernel's figure: the cgroup's CPU time over wall time.
    share10=$(( (usage1 - usage0) * 1000 / ((t1 - t0) / 1000) ))   # tenths of a percent
    share="$((share10 / 10)).$((share10 % 10))"
    throttled=$(stat_json | jq '.cpu.nr_throttled')
    if [ "$share10" -ge $((CPU_SHARE_MIN * 10)) ] && [ "$share10" -le $((CPU_SHARE_MAX * 10)) ] &&
        [ "$throttled" -gt 0 ]; then
        result ok "CPU share ${share}% (limit $CPU_LIMIT), throttled in $throttled periods (C29)"
    else
        result fail "CPU share ${share}% (limit $CPU_LIMIT, want $CPU_SHARE_MIN-$CPU_SHARE_MAX%), throttled $throttled"
    fi

    post "stress --vm 1 --vm-bytes 198M / 199M / 200M    # each killed under 200 MB"
    killed='' survived=''
    for bytes in 198M 199M 200M 250M; do
        kills0=$(stat_json | jq '.memory.oom_kills')
        rc=0
        cg_exec nsenter --target "$CPID" --mount --uts --ipc --net --pid --root --wd \
            -- /bin/07-stress -q --vm 1 --vm-bytes "$bytes" -t "${OOM_SECONDS}s" >/dev/null 2>&1 &
        hog_runs_to_the_end $! "$bytes" || rc=$?
        kills1=$(stat_json | jq '.memory.oom_kills')
        say "--vm-bytes $bytes: exit status $rc, OOM kills $kills0 -> $kills1"
        if [ "$kills1" -gt "$kills0" ]; then killed="$killed $bytes"; else survived="$survived $bytes"; fi
    done
    check "OOM kills $((kills1 - kills0)) at --vm-bytes 250M (C30)" [ "$kills1" -gt "$kills0" ]
    say "killed:${killed:- none}; survived:${survived:- none}."
    say "The post saw 198M killed too: the limit counts everything charged to the group"
    say "(its shell, page tables, malloc headers), so the threshold moves with what else"
    say "runs there: see docs/errata.md."

    lab_finish
}

lab_run lab_steps

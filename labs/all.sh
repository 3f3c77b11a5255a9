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
#   8. the escapes to the host, then their doors closed (08-harden)
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
# shellcheck source=labs/escapes.sh
. "$LABS_DIR/escapes.sh"
lab_init "$@"

CPU_LIMIT=20%
MEMORY_LIMIT=200M                   # the post's 209715200 bytes
MEMORY_LIMIT_BYTES=209715200
CPU_SHARE_MIN=17 CPU_SHARE_MAX=23   # percent: 20% within the kernel's granularity
STRESS_SECONDS=5                    # the CPU chart's seconds (the hog outlives them)
# How long each memory hog may run: enough for one pass over 250M on a slow
# (emulated) CPU; a hog the OOM killer takes ends at once, and one that has
# held all its bytes is stopped then (hog_runs_to_the_end).  The memory runs
# are made without the CPU quota: under 20% of such a CPU a hog touched only
# part of its pages within the run, and nothing was killed.
OOM_SECONDS=15
# The post's programs, copied into the image with the libraries they need.
POST_PROGRAMS=(ls mount umount df lsblk mkdir rm ping ip ps)

# network_picture: the lab's network as it is once step 5 is done: the
# container, the lab's host and the stand-in internet, each a network
# namespace, joined by veth pairs.
network_picture() {
    say "$(msg all.net.intro)"
    echo
    box_top "$(msg all.net.container "$CPID")"
    box_line "$(pad_to 18 "$(msg all.net.eth0_was "$CPID")") $CONTAINER_ADDR/$PREFIX_LEN"
    box_line "$(pad_to 18 "$(msg all.net.default_via)") $(msg all.net.step5 "$HOST_ADDR")"
    box_bottom
    box_link "$(msg all.net.veth_pair)"
    if [ "$LAB_REAL_HOST" = 1 ]; then
        box_top "$(msg all.net.real_host)"
        box_line "$(pad_to 18 "h$CPID") $HOST_ADDR/$PREFIX_LEN"
        box_line "masquerade: ip saddr $(msg all.net.step5 "$CONTAINER_NET")"
        box_line "ip_forward = $(msg all.net.step5 1)"
        box_bottom
        box_link "$(msg all.net.real_uplink)"
        echo
        return 0
    fi
    box_top "$(msg all.net.lab_host "$LAB_HOST_NS")"
    box_line "$(pad_to 18 "h$CPID") $HOST_ADDR/$PREFIX_LEN"
    box_line "masquerade: ip saddr $CONTAINER_NET oifname $LAB_UPLINK_IF"
    box_line "ip_forward = $(msg all.net.step5 1)"
    box_line "$(pad_to 18 "$LAB_UPLINK_IF") $UPLINK_HOST_ADDR/$UPLINK_NET_PREFIX"
    box_bottom
    box_link "$(msg all.net.veth_pair)"
    box_top "$(msg all.net.internet "$LAB_UPLINK_NS")"
    box_line "$(pad_to 18 uplink0) $INTERNET_ADDR/$UPLINK_NET_PREFIX"
    box_line "$(msg all.net.no_route "$CONTAINER_NET")"
    box_line "$(msg all.net.only_masq)"
    box_bottom
    echo
}

# stop_stress PID: stop the 07-stress run PID in the container's cgroup and
# wait for it.  07-stress stops its workers on SIGTERM, as at its timeout.
stop_stress() {
    local p
    while read -r p; do
        # A worker may exit between the two reads (its parent stops it):
        # kill then finds no such process, which is what was wanted.
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" != 07-stress ] || kill "$p" 2>/dev/null || true
    done <"$(cgroup_dir memory "$LAB_CONTAINER_CGROUP")/cgroup.procs"
    wait "$1" 2>/dev/null || true   # 128+SIGTERM: stopped as asked
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
            stop_stress "$pid"
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
    step 1 "$(msg all.s1.title)" 03-zfs-image
    post "zpool create zpools /dev/sda5"
    post "zfs create zpools/images -o mountpoint=/zpools/images"
    post "zfs create zpools/images/myImage -o mountpoint=/zpools/images/myImage"
    ours zfs_tool "${X[@]}" pool create --size 1G
    ours zfs_tool "${X[@]}" image create "$IMAGE"
    post "cp ${POST_PROGRAMS[*]} stress ... bin/; cp -r /lib /usr/lib /usr/lib64 ..."
    say "$(msg all.s1.copy1)"
    say "$(msg all.s1.copy2)"
    ours zfs_tool image populate "$IMAGE" --busybox \
        --from-host "${POST_PROGRAMS[@]}" "$TUNA_BIN/07-stress" "$TUNA_BIN/08-harden"
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
        result ok "$(msg all.s1.clone_ok "$used" "$refer")"
    else
        result fail "$(msg all.s1.clone_fail "$used" "$refer")"
    fi

    # ------------------------------------------------------------------------------
    step 2 "$(msg all.s2.title)" 02-unshare
    say "$(msg all.s2.why1)"
    say "$(msg all.s2.why2)"
    say "$(msg all.s2.why3)"
    say "$(msg all.s2.why4)"
    post "cgcreate -a root -g cpu:myContainer; cgcreate -a root -g memory:myContainer"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" create "$LAB_CONTAINER_CGROUP"
    post "unshare --mount --uts --ipc --net --pid --cgroup --fork bash"
    post "hostname tuna; exec bash"
    say "$(msg all.s2.fifo1)"
    say "$(msg all.s2.fifo2)"
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
    say "$(msg all.s2.cpid "$CPID")"
    post "ls -al /proc/$CPID/ns"
    ours "$TUNA_BIN/02-unshare" --show "$CPID"
    # Compared with this script's own namespaces, which are the host's (PID 1's
    # links cannot be read everywhere, in a sandbox for one).
    differ=
    for ns in ipc mnt net pid uts cgroup time user; do
        [ "$(readlink "/proc/$CPID/ns/$ns")" != "$(readlink "/proc/$$/ns/$ns")" ] && differ="$differ $ns"
    done
    check "$(msg all.s2.differ "$differ")" \
        [ "$differ" = " ipc mnt net pid uts cgroup" ]
    say "$(msg all.s2.cg_host "$CPID")"
    sed 's/^/  | /' "/proc/$CPID/cgroup"
    say "$(msg all.s2.cg_inside)"
    nsenter --target "$CPID" --cgroup cat "/proc/$CPID/cgroup" >"$LAB_RUN/cgroup.inside"
    sed 's/^/  | /' "$LAB_RUN/cgroup.inside"
    # shellcheck disable=SC2016  # awk's own fields
    check "$(msg all.s2.cg_root "$CPID")" \
        awk -F: 'END { exit !(NR > 0 && bad == 0) } $3 != "/" { bad = 1 }' "$LAB_RUN/cgroup.inside"

    # ------------------------------------------------------------------------------
    step 3 "$(msg all.s3.title)" 04-pivot
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
    check "$(msg all.s3.pid1 "$nspid")" [ "$nspid" = 1 ]
    check "$(msg all.s3.hostname "$(in_container hostname)" "$(hostname)")" \
        [ "$(in_container hostname)" = tuna ]
    post "df -h; mount"
    in_container mount
    mounts=$(awk '{print $5}' "/proc/$CPID/mountinfo" | tr '\n' ' ')
    check "$(msg all.s3.mounts "$mounts")" \
        sh -c "[ ! -e /proc/$CPID/root/oldroot ] && ! grep -q ' /oldroot' /proc/$CPID/mountinfo"

    # ------------------------------------------------------------------------------
    step 4 "$(msg all.s4.title)" 05-veth
    post "ip link add name h$CPID type veth peer name c$CPID"
    post "ip link set c$CPID netns $CPID"
    post "ip addr add $HOST_ADDR/$PREFIX_LEN dev h$CPID; ip link set dev h$CPID up"
    post "(container) ip link set dev lo up; ip link set c$CPID name eth0 up; ip addr add $CONTAINER_ADDR/$PREFIX_LEN dev eth0"
    ours on_host "$TUNA_BIN/05-veth" "${X[@]}" add --pid "$CPID" \
        --host-addr "$HOST_ADDR/$PREFIX_LEN" --container-addr "$CONTAINER_ADDR/$PREFIX_LEN"
    network_picture
    post "ping $HOST_ADDR"
    check "$(msg all.s4.ping "$HOST_ADDR")" \
        in_container ping -c 1 -W 2 "$HOST_ADDR"

    # ------------------------------------------------------------------------------
    step 5 "$(msg all.s5.title)" 06-nat
    post "(container) ip route add default via $HOST_ADDR"
    ours in_container ip route add default via "$HOST_ADDR"
    if [ "$LAB_REAL_HOST" = 0 ]; then
        say "$(msg all.s5.before "$INTERNET_ADDR" "$CONTAINER_NET")"
        if in_container ping -c 1 -W 1 "$INTERNET_ADDR" >/dev/null 2>&1; then
            result fail "$(msg all.s5.answered "$INTERNET_ADDR")"
        else
            result ok "$(msg all.s5.no_answer "$INTERNET_ADDR")"
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
        post "ping 8.8.8.8      # $(msg all.s5.stand_in "$INTERNET_ADDR")"
        check "$(msg all.s5.reaches "$INTERNET_ADDR")" \
            in_container ping -c 1 -W 2 "$INTERNET_ADDR"
        packets=$(on_host nft -j list table ip tuna | jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add // 0')
        check "$(msg all.s5.counted "$packets")" [ "${packets:-0}" -gt 0 ]
    fi
    on_host "$TUNA_BIN/06-nat" show

    # ------------------------------------------------------------------------------
    step 6 "$(msg all.s6.title)" 01-cgroup
    post "echo 20000 > /sys/fs/cgroup/myContainer/cpu.max          # 20% CPU"
    post "echo 209715200 > /sys/fs/cgroup/myContainer/memory.max   # 200 MB"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" set "$LAB_CONTAINER_CGROUP" \
        --cpu "$CPU_LIMIT" --memory "$MEMORY_LIMIT"
    post "cgclassify -g cpu,memory:myContainer $CPID"
    say "$(msg all.s6.done)"
    ours "$TUNA_BIN/01-cgroup" stat "$LAB_CONTAINER_CGROUP"
    cgroup_limits "$LAB_CONTAINER_CGROUP"
    check "$(msg all.s6.holds "$CPU_LIMIT" "$MEMORY_LIMIT" "$LIMITS")" \
        limits_are "${CPU_LIMIT%\%}" "$MEMORY_LIMIT_BYTES"
    say "$(msg all.s6.own_shell "$(cgroup_membership $$)" "$CPID")"
    check "$(msg all.s6.in_cgroup "$CPID" "$(cgroup_membership "$CPID")")" \
        in_cgroup "$CPID" "$LAB_CONTAINER_CGROUP"

    # ------------------------------------------------------------------------------
    step 7 "$(msg all.s7.title)" 07-stress
    # The load runs in the container as `docker exec` would: nsenter into its
    # namespaces, joined to its cgroup first by 01-cgroup exec.
    cg_exec() { "$TUNA_BIN/01-cgroup" exec "$LAB_CONTAINER_CGROUP" -- "$@"; }
    post "stress -c 1      # $(msg all.s7.top)"
    stat_json() { "$TUNA_BIN/01-cgroup" stat --json "$LAB_CONTAINER_CGROUP"; }
    usage_file=$(cgroup_cpu_usage_file "$LAB_CONTAINER_CGROUP") ||
        { result fail "$(msg all.s7.no_counter "$LAB_CONTAINER_CGROUP")"; lab_finish; return 1; }
    usage_unit=${usage_file##* } usage_file=${usage_file% *}
    # The hog outlives the chart (each second's sample costs time where
    # starting a process is slow) and is stopped when the chart is done.
    ours cg_exec nsenter --target "$CPID" --mount --uts --ipc --net --pid --root --wd \
        -- /bin/07-stress -c 1 -t "$((STRESS_SECONDS * 4))s" &
    stress_pid=$!
    sleep 0.5   # the hog starts
    say "$(msg all.s7.chart1)"
    say "$(msg all.s7.chart2 "$usage_file" "$usage_unit")"
    say "$(msg all.s7.chart3 "$CPU_LIMIT")"
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
    stop_stress "$stress_pid"
    # The kernel's figure: the cgroup's CPU time over wall time.
    share10=$(( (usage1 - usage0) * 1000 / ((t1 - t0) / 1000) ))   # tenths of a percent
    share="$((share10 / 10)).$((share10 % 10))"
    throttled=$(stat_json | jq '.cpu.nr_throttled')
    if [ "$share10" -ge $((CPU_SHARE_MIN * 10)) ] && [ "$share10" -le $((CPU_SHARE_MAX * 10)) ] &&
        [ "$throttled" -gt 0 ]; then
        result ok "$(msg all.s7.share_ok "$share" "$CPU_LIMIT" "$throttled")"
    else
        result fail "$(msg all.s7.share_fail "$share" "$CPU_LIMIT" "$CPU_SHARE_MIN" "$CPU_SHARE_MAX" "$throttled")"
    fi

    post "stress --vm 1 --vm-bytes 198M / 199M / 200M    # $(msg all.s7.each_killed)"
    say "$(msg all.s7.nocpu1)"
    say "$(msg all.s7.nocpu2)"
    ours "$TUNA_BIN/01-cgroup" set "$LAB_CONTAINER_CGROUP" --cpu max
    killed='' survived=''
    for bytes in 198M 199M 200M 250M; do
        kills0=$(stat_json | jq '.memory.oom_kills')
        rc=0
        cg_exec nsenter --target "$CPID" --mount --uts --ipc --net --pid --root --wd \
            -- /bin/07-stress -q --vm 1 --vm-bytes "$bytes" -t "${OOM_SECONDS}s" >/dev/null 2>&1 &
        hog_runs_to_the_end $! "$bytes" || rc=$?
        kills1=$(stat_json | jq '.memory.oom_kills')
        say "$(msg all.s7.vm_bytes "$bytes" "$rc" "$kills0" "$kills1")"
        if [ "$kills1" -gt "$kills0" ]; then killed="$killed $bytes"; else survived="$survived $bytes"; fi
    done
    check "$(msg all.s7.oom "$((kills1 - kills0))")" [ "$kills1" -gt "$kills0" ]
    say "$(msg all.s7.quota_back)"
    ours "$TUNA_BIN/01-cgroup" set "$LAB_CONTAINER_CGROUP" --cpu "$CPU_LIMIT"
    say "$(msg all.s7.killed "${killed:- $(msg all.s7.none)}" "${survived:- $(msg all.s7.none)}")"
    say "$(msg all.s7.post1)"
    say "$(msg all.s7.post2)"
    say "$(msg all.s7.post3)"

    # ------------------------------------------------------------------------------
    step 8 "$(msg all.s8.title)" 08-harden
    say "$(msg all.s8.intro1)"
    say "$(msg all.s8.intro2)"
    list=$(escape_list "$(root_disk_device)")
    # As step 7: joined to the container's cgroup, then into its namespaces.
    enter=(nsenter --target "$CPID" --mount --uts --ipc --net --pid --cgroup --root --wd --)
    in_container grep -E '^Cap(Eff|Bnd):' /proc/self/status | sed 's/^/  | /'
    try_escapes "$LAB_RUN/before" cg_exec "${enter[@]}" /bin/08-harden --try "$list"
    say "$(msg all.s8.now1)"
    say "$(msg all.s8.now2)"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" set "$LAB_CONTAINER_CGROUP" --devices default
    try_escapes "$LAB_RUN/after" cg_exec "${enter[@]}" /bin/08-harden "${X[@]}" -- \
        /bin/08-harden --try "$list"
    escapes_report "$LAB_RUN/before" "$LAB_RUN/after"
    echo
    say "$(msg esc.works)"
    check "$(msg all.s8.ping "$HOST_ADDR")" \
        quietly cg_exec "${enter[@]}" /bin/08-harden -- ping -c 1 -W 2 "$HOST_ADDR"
    check "$(msg all.s8.ps_files)" \
        cg_exec "${enter[@]}" /bin/08-harden -- sh -c 'ps >/dev/null && echo ok >/own && grep -qx ok /own && rm /own'
    check "$(msg all.s8.stress)" \
        cg_exec "${enter[@]}" /bin/08-harden -- /bin/07-stress -q -c 1 -t 1s

    lab_finish
}

lab_run lab_steps

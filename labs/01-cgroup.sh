#!/usr/bin/env bash
# labs/01-cgroup.sh - step 01 on its own: the post's cgroup commands, the
# quota-unit mistake, 20% done right, a memory limit that kills, and delete.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed
GROUP=$LAB_CGROUP/demo

lab_steps() {
    step 1 "$(msg l01.s1.title)"
    post "mount | grep cgroup"
    ours "$TUNA_BIN/01-cgroup" info

    step 2 "$(msg l01.s2.title)"
    post "mkdir /sys/fs/cgroup/cpu/my_group"
    post "echo 20 > /sys/fs/cgroup/cpu/my_group/cpu.cfs_quota_us     # \"20%\""
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" create "$GROUP"
    say "$(msg l01.s2.raw)"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" set "$GROUP" --cpu-quota 20 || true
    say "$(msg l01.s2.hint)"
    cgroup_limits "$GROUP"
    check "$(msg l01.s2.refused "$LIMITS")" \
        [ "$CPU_QUOTA" = max ]

    step 3 "$(msg l01.s3.title)"
    post "echo 20000 > /sys/fs/cgroup/cpu/my_group/cpu.cfs_quota_us"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" set "$GROUP" --cpu 20% --memory 100M
    # The kernel's count of the group's CPU time (v2 cpu.stat usage_usec, v1
    # cpuacct.usage) over the wall time of the run alone.
    usage0=$(cgroup_cpu_usage_us "$GROUP") t0=$(date +%s%N)
    ours "$TUNA_BIN/01-cgroup" exec "$GROUP" -- "$TUNA_BIN/07-stress" -c 1 -t 3s
    t1=$(date +%s%N) usage1=$(cgroup_cpu_usage_us "$GROUP")
    share10=$(( (usage1 - usage0) * 1000 / ((t1 - t0) / 1000) ))
    check "$(msg l01.s3.share "$((share10 / 10)).$((share10 % 10))")" \
        arith "$share10 >= 170 && $share10 <= 230"

    step 4 "$(msg l01.s4.title)"
    post "echo 104857600 > /sys/fs/cgroup/memory/my_group/memory.limit_in_bytes"
    ours "$TUNA_BIN/01-cgroup" exec "$GROUP" -- "$TUNA_BIN/07-stress" --vm 1 --vm-bytes 150M -t 10s || true
    say "$(msg l01.s4.hint)"
    kills=$(cgroup_oom_kills "$GROUP")
    check "$(msg l01.s4.oom "$kills" "$(cgroup_oom_file "$GROUP")")" [ "${kills:-0}" -ge 1 ]
    ours "$TUNA_BIN/01-cgroup" stat "$GROUP"

    step 5 "$(msg l01.s5.title)"
    sleep 60 &
    sleeper=$!
    "$TUNA_BIN/01-cgroup" add "$GROUP" "$sleeper"
    post "rmdir /sys/fs/cgroup/cpu/my_group      # Device or resource busy"
    ours "$TUNA_BIN/01-cgroup" delete "$GROUP" || true
    say "$(msg l01.s5.hint)"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" delete --kill "$GROUP"
    wait "$sleeper" 2>/dev/null || true   # killed by --kill: status 137
    check "$(msg l01.s5.gone)" \
        sh -c "! ls -d /sys/fs/cgroup/*/$GROUP /sys/fs/cgroup/$GROUP 2>/dev/null | grep -q ."
    lab_finish
}

lab_run lab_steps

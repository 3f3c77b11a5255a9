#!/usr/bin/env bash
# labs/07-stress.sh - step 07 on its own: a CPU hog free and under a 20%
# quota, side by side with Debian's stress; the figure the post reads off top.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed
GROUP=$LAB_CGROUP/stress

# share_of PID SECONDS: the CPU share of PID over about SECONDS, from the
# kernel's utime+stime in /proc/PID/stat (fields 14 and 15, in clock ticks)
# over the wall time between the two reads, in percent.
share_of() {
    local ticks0 ticks1 t0 t1 hz
    hz=$(getconf CLK_TCK)
    t0=$(date +%s%N) ticks0=$(cpu_ticks "$1")
    sleep "$2"
    t1=$(date +%s%N) ticks1=$(cpu_ticks "$1")
    echo $(( (ticks1 - ticks0) * 100 * 1000000000 / hz / (t1 - t0) ))
}

# cpu_ticks PID: utime + stime of PID (after the comm field, which may hold spaces).
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# worker_of PID: the first child of PID (07-stress's hog), once it has one.
worker_of() {
    local child
    for _ in $(seq 50); do
        child=$(pgrep -P "$1" | head -n 1)
        [ -n "$child" ] && break
        sleep 0.1
    done
    echo "$child"
}

# The hogs outlive the measurement even where starting a process is slow.
HOG_SECONDS=6

lab_steps() {
    step 1 "$(msg l07.s1.title)"
    post "stress -c 1"
    "$TUNA_BIN/07-stress" -c 1 -t "${HOG_SECONDS}s" >"$LAB_RUN/free.out" &
    hog=$(worker_of $!)
    sleep 0.5
    free=$(share_of "$hog" 2)
    wait
    sed 's/^/  | /' "$LAB_RUN/free.out"
    check "$(msg l07.s1.free "$free")" arith "$free >= 80"

    step 2 "$(msg l07.s2.title)"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" create "$GROUP" --cpu 20%
    # 01-cgroup joins the group, then execs 07-stress in the same process.
    "$TUNA_BIN/01-cgroup" exec "$GROUP" -- "$TUNA_BIN/07-stress" -c 1 -t "${HOG_SECONDS}s" \
        >"$LAB_RUN/capped.out" &
    hog=$(worker_of $!)
    sleep 0.5
    capped=$(share_of "$hog" 2)
    wait
    sed 's/^/  | /' "$LAB_RUN/capped.out"
    throttled=$(cgroup_cpu_stat "$GROUP" nr_throttled)
    check "$(msg l07.s2.capped "$capped" "$throttled")" \
        arith "$capped >= 15 && $capped <= 25 && $throttled > 0"

    if command -v stress >/dev/null; then
        step 3 "$(msg l07.s3.title)"
        "$TUNA_BIN/01-cgroup" exec "$GROUP" -- stress -c 1 -t 3 | sed 's/^/  | /'
    fi
    lab_finish
}

lab_run lab_steps

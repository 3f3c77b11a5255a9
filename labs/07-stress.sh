#!/usr/bin/env bash
# labs/07-stress.sh - step 07 on its own: a CPU hog free and under a 20%
# quota, side by side with Debian's stress; the figure the post reads off top.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed
GROUP=$LAB_CGROUP/stress

# share_of PID SECONDS: the CPU share of PID over SECONDS, from the kernel's
# utime+stime in /proc/PID/stat (fields 14 and 15), in percent.
share_of() {
    local t0 t1 hz
    hz=$(getconf CLK_TCK)
    t0=$(sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')
    sleep "$2"
    t1=$(sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')
    echo $(( (t1 - t0) * 100 / hz / $2 ))
}

lab_steps() {
    step 1 "A CPU hog, unconstrained"
    post "stress -c 1"
    "$TUNA_BIN/07-stress" -c 1 -t 4s >"$LAB_RUN/free.out" &
    sleep 0.5
    hog=$(pgrep -P $! | head -1)
    free=$(share_of "$hog" 2)
    wait
    sed 's/^/  | /' "$LAB_RUN/free.out"
    check "the hog got $free% of a core (the kernel's utime+stime)" arith "$free >= 80"

    step 2 "The same hog under a 20% quota (C29)"
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" create "$GROUP" --cpu 20%
    # 01-cgroup joins the group, then execs 07-stress in the same process.
    "$TUNA_BIN/01-cgroup" exec "$GROUP" -- "$TUNA_BIN/07-stress" -c 1 -t 4s >"$LAB_RUN/capped.out" &
    sleep 0.5
    hog=$(pgrep -P $! | head -1)
    capped=$(share_of "$hog" 2)
    wait
    sed 's/^/  | /' "$LAB_RUN/capped.out"
    throttled=$("$TUNA_BIN/01-cgroup" stat --json "$GROUP" | jq '.cpu.nr_throttled')
    check "the hog got $capped% of a core, throttled in $throttled periods" \
        arith "$capped >= 15 && $capped <= 25 && $throttled > 0"

    if command -v stress >/dev/null; then
        step 3 "Debian's stress, the post's tool, under the same quota"
        "$TUNA_BIN/01-cgroup" exec "$GROUP" -- stress -c 1 -t 3 | sed 's/^/  | /'
    fi
    lab_finish
}

lab_run lab_steps

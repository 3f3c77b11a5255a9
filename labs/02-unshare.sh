#!/usr/bin/env bash
# labs/02-unshare.sh - step 02 on its own: namespaces, hostname tuna, PID 1,
# and the post's deep dive: unshare --pid without --fork.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

lab_steps() {
    step 1 "$(msg l02.s1.title)"
    post "ls -al /proc/1/ns"
    ours "$TUNA_BIN/02-unshare" --show

    step 2 "$(msg l02.s2.title)"
    post "unshare --mount --uts --ipc --net --pid --cgroup --fork bash"
    post "hostname tuna; exec bash; ps; echo \$\$"
    # shellcheck disable=SC2016  # expanded by the shell inside
    ours "$TUNA_BIN/02-unshare" "${X[@]}" --mount --uts --ipc --net --pid --cgroup --fork \
        --mount-proc --hostname tuna -- /bin/sh -c \
        'echo "hostname: $(hostname)"; echo "PID: $$"; ls /proc | grep -c "^[0-9]" | sed "s/^/processes seen: /"' \
        | tee "$LAB_RUN/inside"
    check "$(msg l02.s2.inside)" \
        sh -c "grep -qx 'hostname: tuna' '$LAB_RUN/inside' && grep -qx 'PID: 1' '$LAB_RUN/inside'"
    check "$(msg l02.s2.outside "$(hostname)")" [ "$(hostname)" != tuna ]

    step 3 "$(msg l02.s3.title)"
    post "unshare -p /bin/bash     # $(msg l02.s3.then) fork: Cannot allocate memory"
    say "$(msg l02.s3.why1)"
    say "$(msg l02.s3.why2)"
    "$TUNA_BIN/02-unshare" --pid -- bash -c '/bin/true; /bin/true; echo survived' \
        >"$LAB_RUN/nofork.out" 2>&1 || true
    sed 's/^/  | /' "$LAB_RUN/nofork.out"
    say "$(msg l02.s3.hint)"
    check "$(msg l02.s3.enomem)" \
        grep -q 'Cannot allocate memory' "$LAB_RUN/nofork.out"
    lab_finish
}

lab_run lab_steps

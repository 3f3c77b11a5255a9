#!/usr/bin/env bash
# labs/02-unshare.sh - step 02 on its own: namespaces, hostname tuna, PID 1,
# and the post's deep dive: unshare --pid without --fork.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

lab_steps() {
    step 1 "Every process has a set of namespaces"
    post "ls -al /proc/1/ns"
    ours "$TUNA_BIN/02-unshare" --show

    step 2 "New namespaces, hostname tuna, and a shell that is PID 1"
    post "unshare --mount --uts --ipc --net --pid --cgroup --fork bash"
    post "hostname tuna; exec bash; ps; echo \$\$"
    # shellcheck disable=SC2016  # expanded by the shell inside
    ours "$TUNA_BIN/02-unshare" "${X[@]}" --mount --uts --ipc --net --pid --cgroup --fork \
        --mount-proc --hostname tuna -- /bin/sh -c \
        'echo "hostname: $(hostname)"; echo "PID: $$"; ls /proc | grep -c "^[0-9]" | sed "s/^/processes seen: /"' \
        | tee "$LAB_RUN/inside"
    check "inside: hostname tuna, and the shell is PID 1 (C23)" \
        sh -c "grep -qx 'hostname: tuna' '$LAB_RUN/inside' && grep -qx 'PID: 1' '$LAB_RUN/inside'"
    check "outside: the host's hostname is still '$(hostname)'" [ "$(hostname)" != tuna ]

    step 3 "The deep dive: --pid without --fork"
    post "unshare -p /bin/bash     # then: fork: Cannot allocate memory"
    say "unshare(2) does not move the caller into the new PID namespace: its first"
    say "child becomes PID 1 there, and once that child exits, every fork fails."
    "$TUNA_BIN/02-unshare" --pid -- bash -c '/bin/true; /bin/true; echo survived' \
        >"$LAB_RUN/nofork.out" 2>&1 || true
    sed 's/^/  | /' "$LAB_RUN/nofork.out"
    check "the second fork failed with ENOMEM, as the post explains (C5)" \
        grep -q 'Cannot allocate memory' "$LAB_RUN/nofork.out"
    lab_finish
}

lab_run lab_steps

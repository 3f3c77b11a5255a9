#!/usr/bin/env bash
# labs/08-harden.sh - step 08 on its own: the container's root tries the
# classic escapes to the host, which work; then the device cgroup and
# 08-harden close each door, and the same tries fail with the kernel's
# reason.  Nothing on the machine is changed (labs/escapes.sh says how).
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=labs/escapes.sh
. "$LABS_DIR/escapes.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

# container CMD...: CMD as PID 1 of the lab's namespaces, in the busybox
# root, joined to the lab's cgroup first (as labs/all.sh runs it).
container() {
    "$TUNA_BIN/01-cgroup" exec "$LAB_CONTAINER_CGROUP" -- \
        "$TUNA_BIN/02-unshare" --mount --uts --ipc --net --pid --cgroup --fork \
        --hostname tuna -- "$TUNA_BIN/04-pivot" --dev "$ROOT" -- "$@"
}

# What a hardened container still does.
ps_sees_itself() { container /bin/08-harden -- /bin/ps | grep -q ps; }
writes_own_file() {
    [ "$(container /bin/08-harden -- /bin/sh -c 'echo hi >/tmp/own && cat /tmp/own')" = hi ]
}

lab_steps() {
    ROOT=$LAB_EXEC_DIR/root
    local disk list
    step 1 "$(msg l08.s1.title)" 08-harden
    mkdir -p "$ROOT/bin" "$ROOT/tmp"
    cp /bin/busybox "$ROOT/bin/busybox"
    # A dynamically linked busybox brings its loader and libraries along.
    for lib in $(ldd /bin/busybox 2>/dev/null | grep -o '/[^ ]*'); do
        cp --parents -L "$lib" "$ROOT"
    done
    for applet in $("$ROOT/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
    done
    cp "$TUNA_BIN/08-harden" "$TUNA_BIN/07-stress" "$ROOT/bin/"
    ours "$TUNA_BIN/01-cgroup" create "$LAB_CONTAINER_CGROUP"
    disk=$(root_disk_device)
    list=$(escape_list "$disk")
    say "$(msg l08.s1.disk "$disk")"

    step 2 "$(msg l08.s2.title)" 08-harden
    post "unshare --mount --uts --ipc --net --pid --cgroup --fork bash   # then pivot_root"
    say "$(msg l08.s2.inside)"
    container /bin/grep -E '^Cap(Eff|Bnd)' /proc/self/status | sed 's/^/  | /'
    try_escapes "$LAB_RUN/before" container /bin/08-harden --try "$list"

    step 3 "$(msg l08.s3.title)" 08-harden
    ours "$TUNA_BIN/01-cgroup" "${X[@]}" set "$LAB_CONTAINER_CGROUP" --devices default
    say "$(msg l08.s3.what1)"
    say "$(msg l08.s3.what2)"
    try_escapes "$LAB_RUN/after" container /bin/08-harden "${X[@]}" -- /bin/08-harden --try "$list"
    say "$(msg l08.s3.inside)"
    container /bin/08-harden -- /bin/grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' \
        /proc/self/status | sed 's/^/  | /'

    step 4 "$(msg l08.s4.title)" 08-harden
    escapes_report "$LAB_RUN/before" "$LAB_RUN/after"

    step 5 "$(msg l08.s5.title)" 08-harden
    check "$(msg l08.s5.ps)" ps_sees_itself
    check "$(msg l08.s5.files)" writes_own_file
    check "$(msg l08.s5.stress)" container /bin/08-harden -- /bin/07-stress -q -c 1 -t 1s
    lab_finish
}

lab_run lab_steps

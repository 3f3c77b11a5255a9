#!/usr/bin/env bash
# labs/04-pivot.sh - step 04 on its own: pivot_root into a busybox root, a
# fresh /proc, the old root detached; and why chroot is not the same.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

lab_steps() {
    local root=$LAB_EXEC_DIR/root
    step 1 "$(msg l04.s1.title)"
    mkdir -p "$root/bin"
    cp /bin/busybox "$root/bin/busybox"
    # Debian's busybox package is linked dynamically (busybox-static is not):
    # its loader and libraries then come along, at the paths ld.so looks in.
    for lib in $(ldd /bin/busybox 2>/dev/null | grep -o '/[^ ]*'); do
        cp --parents -L "$lib" "$root"
    done
    for applet in $("$root/bin/busybox" --list); do
        [ "$applet" = busybox ] && continue
        ln -sf busybox "$root/bin/$applet"
    done
    say "$(msg l04.s1.files "$(find "$root/bin" | wc -l)" "$root/bin")"

    step 2 "$(msg l04.s2.title)"
    post "unshare --mount --pid --fork bash"
    post "cd ROOT && mkdir oldroot && pivot_root . oldroot"
    post "mkdir proc && mount -t proc proc /proc; umount -l /oldroot"
    # shellcheck disable=SC2016  # expanded by the shell inside
    ours "$TUNA_BIN/02-unshare" --mount --pid --fork -- "$TUNA_BIN/04-pivot" "${X[@]}" "$root" \
        -- /bin/sh -c 'echo "== mount"; mount; echo "== ps"; ps; echo "== ls /"; ls /' \
        | tee "$LAB_RUN/inside"
    check "$(msg l04.s2.only)" \
        sh -c "[ \$(sed -n '/^== mount/,/^== ps/p' '$LAB_RUN/inside' | grep -c ' on ') = 2 ]"
    check "$(msg l04.s2.oldroot)" sh -c "! grep -qx oldroot '$LAB_RUN/inside'"
    check "$(msg l04.s2.host)" \
        sh -c "! grep -q '$root' /proc/self/mountinfo"

    step 3 "$(msg l04.s3.title)"
    say "$(msg l04.s3.why1)"
    say "$(msg l04.s3.why2)"
    chroot "$root" /bin/sh -c 'mount -t proc proc /proc 2>/dev/null; wc -l </proc/self/mountinfo; umount /proc' \
        >"$LAB_RUN/chroot.out" 2>&1 || true
    say "$(msg l04.s3.visible "$(head -1 "$LAB_RUN/chroot.out")")"
    lab_finish
}

lab_run lab_steps

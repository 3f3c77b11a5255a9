#!/usr/bin/env bash
# labs/rootless.sh - the same container, started by a user who is not root:
# a UID with no passwd entry, a user namespace in which it is root, an
# overlay clone mounted inside it, a cgroup delegated to it.  Root inside
# holds every capability, but only over what its user namespace owns: the
# escapes of lesson 08 fail without 08-harden.
#
# Ubuntu 24.04 refuses unprivileged user namespaces by default
# (kernel.apparmor_restrict_unprivileged_userns=1): the lab says so and
# what an instructor may do, rather than fail with a bare EPERM.
set -u
# shellcheck source=labs/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=labs/escapes.sh
. "$LABS_DIR/escapes.sh"
lab_init "$@"
export LAB_NETWORK=0   # no network namespaces needed

# A UID and GID no account has: nothing is added to /etc/passwd.
ROOTLESS_UID=${TUNA_ROOTLESS_UID:-54321}
APPARMOR_USERNS=/proc/sys/kernel/apparmor_restrict_unprivileged_userns

# refuse_if_userns_restricted: Ubuntu's AppArmor lets only programs with a
# profile granting "userns" make user namespaces unprivileged.
refuse_if_userns_restricted() {
    [ "$(cat "$APPARMOR_USERNS" 2>/dev/null || echo 0)" = 1 ] || return 0
    msg lr.restricted "$TUNA_BIN/02-unshare" >&2
    echo >&2    exit 1
}

# as_user CMD...: CMD as ROOTLESS_UID, with no supplementary groups.
as_user() {
    setpriv --reuid="$ROOTLESS_UID" --regid="$ROOTLESS_UID" --clear-groups -- "$@"
}

# delegate GROUP: hand GROUP to ROOTLESS_UID as systemd's Delegate= does:
# the directory and the files that let it make and fill child groups
# (cgroup-v2.rst "Delegation"); the group's own limits stay root's.
delegate() {
    local dir f
    for dir in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do
        [ -d "$dir" ] || continue
        chown "$ROOTLESS_UID:$ROOTLESS_UID" "$dir"
        for f in cgroup.procs cgroup.subtree_control cgroup.threads tasks; do
            [ -e "$dir/$f" ] && chown "$ROOTLESS_UID:$ROOTLESS_UID" "$dir/$f"
        done
        say "$(msg lr.delegated "$dir")"
    done
}

lab_steps() {
    local image=$LAB_EXEC_DIR/image clone=$LAB_EXEC_DIR/clone disk list pid
    step 1 "$(msg lr.s1.title)" 08-harden
    local entry
    entry=$(getent passwd "$ROOTLESS_UID") || entry=
    say "$(msg lr.s1.no_account "$ROOTLESS_UID" "$ROOTLESS_UID" "${entry:-$(msg lr.s1.nothing)}")"
    mkdir -p "$image/bin" "$image/proc" "$clone"
    cp /bin/busybox "$image/bin/busybox"
    for lib in $(ldd /bin/busybox 2>/dev/null | grep -o '/[^ ]*'); do
        cp --parents -L "$lib" "$image"
    done
    for applet in $("$image/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$image/bin/$applet"
    done
    cp "$TUNA_BIN/08-harden" "$image/bin/"
    # The tools it runs, where that user may run them (a checkout in a home
    # directory may be closed to other users).
    mkdir -p "$LAB_EXEC_DIR/bin"
    cp "$TUNA_BIN/02-unshare" "$TUNA_BIN/04-pivot" "$LAB_EXEC_DIR/bin/"
    # The clone's writable layer belongs to the user; the image stays root's.
    mkdir -p "$clone/upper" "$clone/work" "$clone/merged"
    chown -R "$ROOTLESS_UID:$ROOTLESS_UID" "$clone"
    chmod 755 "$LAB_EXEC_DIR" "$(dirname "$LAB_EXEC_DIR")" "$(dirname "$(dirname "$LAB_EXEC_DIR")")"

    step 2 "$(msg lr.s2.title)" 01-cgroup
    ours "$TUNA_BIN/01-cgroup" create "$LAB_CONTAINER_CGROUP" --pids 64
    delegate "$LAB_CONTAINER_CGROUP"

    step 3 "$(msg lr.s3.title "$ROOTLESS_UID")" 02-unshare
    post "unshare --user --map-root-user --mount --uts --ipc --net --pid --cgroup --fork"
    say "$(msg lr.s3.how1 "$ROOTLESS_UID")"
    say "$(msg lr.s3.how2)"
    say "$(msg lr.s3.how3)"
    disk=$(root_disk_device)
    list=$(escape_list "$disk")
    # Inside, as root of the user namespace: the overlay, then 04-pivot.  The
    # tries go to a file in the clone; then it waits, for the host to look.
    # shellcheck disable=SC2016  # expanded inside
    "$TUNA_BIN/01-cgroup" exec "$LAB_CONTAINER_CGROUP" -- setpriv --reuid="$ROOTLESS_UID" \
        --regid="$ROOTLESS_UID" --clear-groups -- \
        "$LAB_EXEC_DIR/bin/02-unshare" --user --map-root-user --mount --uts --ipc --net --pid \
        --cgroup --fork --pidfile "$clone/pid" -- /bin/sh -c '
            mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" \
                "$2/merged" || exit 1
            # Its own PID namespace'"'"'s /proc: 04-pivot then sees it is PID 1.
            mount -t proc proc /proc || exit 1
            exec "$3/04-pivot" "$2/merged" -- /bin/sh -c \
                "/bin/08-harden --try $4 >/tries 2>&1; while :; do sleep 1; done"' \
        rootless "$image" "$clone" "$LAB_EXEC_DIR/bin" "$list" >"$LAB_RUN/rootless.out" 2>&1 &
    echo $! >"$LAB_RUN/unshare.pid"
    for _ in $(seq 100); do
        [ -s "$clone/upper/tries" ] && [ -s "$clone/pid" ] && break
        sleep 0.1
    done
    pid=$(cat "$clone/pid" 2>/dev/null) || pid=
    echo "$pid" >"$LAB_RUN/container.pid"
    if [ -z "$pid" ] || [ ! -s "$clone/upper/tries" ]; then
        result fail "$(msg lr.s3.no_start "$(cat "$LAB_RUN/rootless.out")")"
        lab_finish
        return 1
    fi
    say "$(msg lr.s3.host_sees "$pid")"
    say "  /proc/$pid/uid_map: $(tr -s ' ' <"/proc/$pid/uid_map")"
    say "  /proc/$pid/gid_map: $(tr -s ' ' <"/proc/$pid/gid_map")"
    say "  $(grep -E '^(Uid|CapEff):' "/proc/$pid/status" | tr -s '\t' ' ' | tr '\n' ' ')"
    say "$(msg lr.s3.capeff1)"
    say "$(msg lr.s3.capeff2)"
    check "$(msg lr.s3.uid_map "$ROOTLESS_UID")" \
        [ "$(awk '{print $1, $2, $3}' "/proc/$pid/uid_map")" = "0 $ROOTLESS_UID 1" ]
    check "$(msg lr.s3.uid "$ROOTLESS_UID")" \
        [ "$(awk '$1 == "Uid:" {print $2}' "/proc/$pid/status")" = "$ROOTLESS_UID" ]
    check "$(msg lr.s3.in_group)" in_cgroup "$pid" "$LAB_CONTAINER_CGROUP"
    say "$(msg lr.s3.tries)"
    sed 's/^/  | /' "$clone/upper/tries"

    step 4 "$(msg lr.s4.title)" 08-harden
    local e state err
    for e in "${ESCAPES[@]}"; do
        state=$(escape_field "$clone/upper/tries" "$e" 2) err=$(escape_field "$clone/upper/tries" "$e" 3)
        case $e in
        keyctl) say "$(msg lr.s4.keyctl "$state" "$ROOTLESS_UID")" ;;
        userns) say "$(msg lr.s4.userns "$state" "$ROOTLESS_UID")" ;;
        *)
            if [ "$err" = ENOENT ] || [ "$err" = ENOSYS ]; then
                say "$(msg lr.s4.absent "$e" "$err")"
            else
                check "$(msg lr.s4.closed "$e" "$err")" [ "$state" = closed ]
            fi
            ;;
        esac
    done
    lab_finish
}

refuse_if_userns_restricted
command -v setpriv >/dev/null || { echo "rootless: $(msg lr.setpriv)" >&2; exit 1; }
lab_run lab_steps

#!/usr/bin/env bash
# labs/exercises/04-pivot.sh - exercise 04: a process in a pivoted new root,
# with its own /proc and no old root.
#
# Checks, by reading /proc only:
#   /proc/PID/ns/mnt differs from the checker's        its own mount table
#   readlink /proc/PID/root is "/"                     not a chroot
#   /proc/PID/mountinfo: the mount at "/" is not the machine's root
#   /proc/PID/mountinfo: proc at /proc, and /proc/PID/root/proc/1 is in the
#                        process's PID namespace       its own /proc
#   /proc/PID/mountinfo: the machine's root file system mounted nowhere
#                        (no /oldroot)
#
# Target: EX_PID, the host PID of the shell in the new root; by default the
# newest shell whose mount namespace is not the machine's.
# Docs: man 2 pivot_root, man 8 pivot_root, man 2 chroot, man 5 proc (mountinfo),
# man 7 mount_namespaces.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

task() {
    cat <<'EOF'
Exercise 04 - a shell in a new root: pivot_root, its own /proc, no old root

Give a shell a root file system of its own, as the post does with the clone
of exercise 03 (any directory with a static busybox in bin/ will do):
      unshare --mount --uts --ipc --pid --fork bash
      mount --bind ROOT ROOT        # only if ROOT is not a mount point already
      cd ROOT && mkdir -p oldroot proc && pivot_root . oldroot
      mount -t proc proc /proc
      umount -l /oldroot
or ours:
      bin/02-unshare --mount --uts --ipc --pid --fork -- bin/04-pivot ROOT
Leave the shell running and check from a second terminal.

Think about: why pivot_root and not chroot (man 2 chroot, NOTES)? What can a
process in the container reach while /oldroot is mounted?

Check:   make exercise N=04     (or: labs/exercises/run 04)
Target:  EX_PID=<host PID of the shell in the new root> (default: the newest
         shell whose mount namespace is not the machine's)
Undo:    exit the shell (its mount namespace, and every mount in it, go away)
EOF
}
exercise_start "$@"
need_root

# --- the kernel's state, read once ---------------------------------------------------------
EX_PID=${EX_PID:-$(newest_shell_where_ns_differs mnt)}
FOUND=0
if process_exists "$EX_PID"; then
    FOUND=1
    ROOT_LINK=$(readlink "/proc/$EX_PID/root")
    MOUNTINFO=$(cat "/proc/$EX_PID/mountinfo" 2>/dev/null)
fi

# mount_source LINE: "MAJOR:MINOR ROOT" of a mountinfo line: which file
# system, and which directory of it, is mounted there (man 5 proc).
mount_source() {
    awk '{ print $3, $4 }' <<<"$1"
}

# mount_at MOUNTINFO PATH: the last (topmost) mountinfo line mounted at PATH.
mount_at() {
    awk -v p="$2" '$5 == p { line = $0 } END { if (line != "") print line }' <<<"$1"
}

# The machine's root file system, as this checker sees it.
HOST_ROOT=$(mount_source "$(mount_at "$(cat /proc/self/mountinfo)" /)")

# --- the checks ----------------------------------------------------------------------------

test_the_process_is_running() {
    if [ "$FOUND" = 1 ]; then
        ok "checking PID $EX_PID ($(cat "/proc/$EX_PID/comm"))"
    elif [ -n "$EX_PID" ]; then
        wrong "there is no process $EX_PID. Start the shell as the task says and leave it" \
            "running. Do: EX_PID=<its host PID> labs/exercises/run 04"
    else
        wrong "no shell in a new mount namespace is running: start it as the task says" \
            "and leave it running, or say which process to check." \
            "Do: EX_PID=<host PID of your shell> labs/exercises/run 04"
    fi
}

test_it_has_its_own_mount_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "no process"; return 0; }
    if [ "$(ns_of "$EX_PID" mnt)" != "$(host_ns mnt)" ]; then
        ok "own mount namespace: $(ns_of "$EX_PID" mnt)"
    else
        wrong "the process shares the machine's mount namespace: pivot_root there would" \
            "change the root of every process of the machine (our 04-pivot refuses to)." \
            "Start from a new mount namespace. Do: unshare --mount --pid --fork bash"
    fi
}

test_its_root_is_the_new_root_not_a_chroot() {
    [ "$FOUND" = 1 ] || { not_checked "no process"; return 0; }
    local root_line
    root_line=$(mount_at "$MOUNTINFO" /)
    if [ "$ROOT_LINK" != / ]; then
        wrong "its root directory is $ROOT_LINK, a directory inside the machine's mount" \
            "tree (readlink /proc/$EX_PID/root): that is chroot. chroot changes only the" \
            "process's root directory; the machine's whole file system stays mounted in" \
            "its namespace, and root can climb back out (man 2 chroot; the post avoids" \
            "chroot for that reason, C25). pivot_root makes the new root the namespace's" \
            "/ and moves the old one aside, where it can be unmounted." \
            "Do: cd ROOT && mkdir -p oldroot && pivot_root . oldroot"
    elif [ -z "$root_line" ]; then
        wrong "nothing is mounted at / in the process's mount table (/proc/$EX_PID/mountinfo)."
    elif [ "$(mount_source "$root_line")" = "$HOST_ROOT" ]; then
        wrong "its / is still the machine's root file system ($HOST_ROOT in" \
            "/proc/$EX_PID/mountinfo): a new mount namespace starts with a copy of the" \
            "machine's mounts, and no pivot_root was done in it (or it was undone)." \
            "Do: cd ROOT && mkdir -p oldroot && pivot_root . oldroot"
    else
        ok "its / is $(awk '{ print $4 " on " $(NF - 1) }' <<<"$root_line"), not the machine's root"
    fi
}

test_it_has_its_own_proc() {
    [ "$FOUND" = 1 ] || { not_checked "no process"; return 0; }
    local proc_line
    proc_line=$(mount_at "$MOUNTINFO" /proc)
    if [ -z "$proc_line" ] || ! grep -q ' - proc ' <<<"$proc_line"; then
        wrong "there is no proc file system at /proc in the new root: ps, top and" \
            "/proc/self read nothing. Mount it inside, after pivot_root." \
            "Do: mount -t proc proc /proc"
    elif [ "$(ns_of "$EX_PID" pid)" = "$(host_ns pid)" ]; then
        wrong "the process is in the machine's PID namespace, so its /proc lists every" \
            "process of the machine. Start it with unshare --pid --fork, and mount" \
            "/proc from inside."
    elif [ "$(readlink "/proc/$EX_PID/root/proc/1/ns/pid")" != "$(ns_of "$EX_PID" pid)" ]; then
        wrong "the /proc mounted in the new root belongs to another PID namespace (its" \
            "PID 1 is not in the process's): proc shows the PID namespace of whoever" \
            "mounted it. Mount it again from inside the new PID namespace." \
            "Do: umount /proc; mount -t proc proc /proc"
    else
        ok "/proc is the proc of its own PID namespace ($(ns_of "$EX_PID" pid))"
    fi
}

test_the_old_root_is_gone() {
    [ "$FOUND" = 1 ] || { not_checked "no process"; return 0; }
    [ "$ROOT_LINK" = / ] || { not_checked "the old root (no pivot_root yet)"; return 0; }
    local where
    # Any mount of the machine's root file system's / is a way back out.
    where=$(awk -v src="$HOST_ROOT" '$3 " " $4 == src { print $5 }' <<<"$MOUNTINFO" | head -n 1)
    if [ -z "$where" ]; then
        ok "the machine's root file system is mounted nowhere in its namespace" \
            "($(wc -l <<<"$MOUNTINFO") mounts)"
    else
        wrong "the machine's root file system is still mounted at $where in the" \
            "container: everything on the host is reachable from inside (the post, C24)." \
            "pivot_root only moved it there; unmount it, lazily, since the shell's old" \
            "files may still be busy. Do: umount -l $where"
    fi
}

. "$SHUNIT2"

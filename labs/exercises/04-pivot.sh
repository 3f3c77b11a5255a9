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
    msg ex.task_title 04 "$(msg ex04.title)"
    echo
    msg ex04.task
    echo
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
        ok "$(msg ex04.the_process_is_running.1 "$EX_PID" "$(cat "/proc/$EX_PID/comm")")"
    elif [ -n "$EX_PID" ]; then
        wrong "$(msg ex04.the_process_is_running.2 "$EX_PID") Do: EX_PID=<its host PID> labs/exercises/run 04"
    else
        wrong "$(msg ex04.the_process_is_running.3) Do: EX_PID=<host PID of your shell> labs/exercises/run 04"
    fi
}

test_it_has_its_own_mount_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "$(msg ex04.it_has_its_own_mount_namespace.1)"; return 0; }
    if [ "$(ns_of "$EX_PID" mnt)" != "$(host_ns mnt)" ]; then
        ok "$(msg ex04.it_has_its_own_mount_namespace.2 "$(ns_of "$EX_PID" mnt)")"
    else
        wrong "$(msg ex04.it_has_its_own_mount_namespace.3) Do: unshare --mount --pid --fork bash"
    fi
}

test_its_root_is_the_new_root_not_a_chroot() {
    [ "$FOUND" = 1 ] || { not_checked "$(msg ex04.its_root_is_the_new_root_not_a_chroot.1)"; return 0; }
    local root_line
    root_line=$(mount_at "$MOUNTINFO" /)
    if [ "$ROOT_LINK" != / ]; then
        wrong "$(msg ex04.its_root_is_the_new_root_not_a_chroot.2 "$ROOT_LINK" "$EX_PID") Do: cd ROOT && mkdir -p oldroot && pivot_root . oldroot"
    elif [ -z "$root_line" ]; then
        wrong "$(msg ex04.its_root_is_the_new_root_not_a_chroot.3 "$EX_PID")"
    elif [ "$(mount_source "$root_line")" = "$HOST_ROOT" ]; then
        wrong "$(msg ex04.its_root_is_the_new_root_not_a_chroot.4 "$HOST_ROOT" "$EX_PID") Do: cd ROOT && mkdir -p oldroot && pivot_root . oldroot"
    else
        ok "$(msg ex04.its_root_is_the_new_root_not_a_chroot.5 "$(awk '{ print $4 " on " $(NF - 1) }' <<<"$root_line")")"
    fi
}

test_it_has_its_own_proc() {
    [ "$FOUND" = 1 ] || { not_checked "$(msg ex04.it_has_its_own_proc.1)"; return 0; }
    local proc_line
    proc_line=$(mount_at "$MOUNTINFO" /proc)
    if [ -z "$proc_line" ] || ! grep -q ' - proc ' <<<"$proc_line"; then
        wrong "$(msg ex04.it_has_its_own_proc.2) Do: mount -t proc proc /proc"
    elif [ "$(ns_of "$EX_PID" pid)" = "$(host_ns pid)" ]; then
        wrong "$(msg ex04.it_has_its_own_proc.3)"
    elif [ "$(readlink "/proc/$EX_PID/root/proc/1/ns/pid")" != "$(ns_of "$EX_PID" pid)" ]; then
        wrong "$(msg ex04.it_has_its_own_proc.4) Do: umount /proc; mount -t proc proc /proc"
    else
        ok "$(msg ex04.it_has_its_own_proc.5 "$(ns_of "$EX_PID" pid)")"
    fi
}

test_the_old_root_is_gone() {
    [ "$FOUND" = 1 ] || { not_checked "$(msg ex04.the_old_root_is_gone.1)"; return 0; }
    [ "$ROOT_LINK" = / ] || { not_checked "$(msg ex04.the_old_root_is_gone.2)"; return 0; }
    local where
    # Any mount of the machine's root file system's / is a way back out.
    where=$(awk -v src="$HOST_ROOT" '$3 " " $4 == src { print $5 }' <<<"$MOUNTINFO" | head -n 1)
    if [ -z "$where" ]; then
        ok "$(msg ex04.the_old_root_is_gone.3 "$(wc -l <<<"$MOUNTINFO")")"
    else
        wrong "$(msg ex04.the_old_root_is_gone.4 "$where") Do: umount -l $where"
    fi
}

. "$SHUNIT2"

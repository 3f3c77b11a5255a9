#!/usr/bin/env bash
# labs/exercises/02-unshare.sh - exercise 02: a shell in new namespaces, PID 1, named tuna.
#
# Checks, by reading /proc only (and the shell's hostname through its UTS
# namespace):
#   /proc/PID/ns/{uts,mnt,pid} differ from the checker's  new namespaces
#   /proc/PID/status NSpid ends in 1                     PID 1 in its namespace
#   /proc/PID/ns/pid_for_children                        the --fork mistake
#   hostname read inside its UTS namespace is "tuna"
#
# Target: EX_PID, the host PID of the student's shell; by default the newest
# shell whose UTS namespace is not the machine's.
# Docs: man 1 unshare, man 7 namespaces, man 7 pid_namespaces, man 7 uts_namespaces.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

WANT_HOSTNAME=tuna

task() {
    msg ex.task_title 02 "$(msg ex02.title)"
    echo
    msg ex02.task
    echo
}
exercise_start "$@"
need_root

# --- the kernel's state, read once ---------------------------------------------------------
EX_PID=${EX_PID:-$(newest_shell_where_ns_differs uts)}
FOUND=0
if process_exists "$EX_PID"; then
    FOUND=1
    NSPID=$(nspid_list "$EX_PID")
    read -r -a NSPIDS <<<"$NSPID"
    PID_INSIDE=${NSPIDS[${#NSPIDS[@]} - 1]}
    # The hostname lives in the UTS namespace: read it from inside (nsenter
    # only joins the namespace, for this one read).
    HOSTNAME_INSIDE=$(nsenter --target "$EX_PID" --uts cat /proc/sys/kernel/hostname 2>/dev/null)
fi

# differs TYPE: the shell's TYPE namespace is not the machine's (this checker's).
differs() {
    [ "$(ns_of "$EX_PID" "$1")" != "$(host_ns "$1")" ]
}

# --- the checks ----------------------------------------------------------------------------

test_the_shell_is_running() {
    if [ "$FOUND" = 1 ]; then
        ok "$(msg ex02.the_shell_is_running.1 "$EX_PID" "$(cat "/proc/$EX_PID/comm")" "$NSPID")"
    elif [ -n "$EX_PID" ]; then
        wrong "$(msg ex02.the_shell_is_running.2 "$EX_PID") Do: EX_PID=<its host PID> labs/exercises/run 02"
    else
        wrong "$(msg ex02.the_shell_is_running.3) Do: EX_PID=<host PID of your shell> labs/exercises/run 02"
    fi
}

test_it_has_its_own_uts_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "$(msg ex02.it_has_its_own_uts_namespace.1)"; return 0; }
    if differs uts; then
        ok "$(msg ex02.it_has_its_own_uts_namespace.2 "$(ns_of "$EX_PID" uts)" "$(host_ns uts)")"
    else
        wrong "$(msg ex02.it_has_its_own_uts_namespace.3 "$(host_ns uts)")"
    fi
}

test_its_hostname_is_tuna() {
    if [ "$FOUND" = 0 ] || ! differs uts; then
        not_checked "$(msg ex02.its_hostname_is_tuna.1)"
        return 0
    fi
    if [ "$HOSTNAME_INSIDE" = "$WANT_HOSTNAME" ]; then
        ok "$(msg ex02.its_hostname_is_tuna.2 "$HOSTNAME_INSIDE" "$(hostname)")"
    else
        wrong "$(msg ex02.its_hostname_is_tuna.3 "$HOSTNAME_INSIDE" "$WANT_HOSTNAME") Do: hostname $WANT_HOSTNAME"
    fi
}

test_it_has_its_own_mount_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "$(msg ex02.it_has_its_own_mount_namespace.1)"; return 0; }
    if differs mnt; then
        ok "$(msg ex02.it_has_its_own_mount_namespace.2 "$(ns_of "$EX_PID" mnt)")"
    else
        wrong "$(msg ex02.it_has_its_own_mount_namespace.3 "$(host_ns mnt)")"
    fi
}

test_it_is_pid_1_of_a_new_pid_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "$(msg ex02.it_is_pid_1_of_a_new_pid_namespace.1)"; return 0; }
    if differs pid && [ "$PID_INSIDE" = 1 ]; then
        ok "$(msg ex02.it_is_pid_1_of_a_new_pid_namespace.2 "$NSPID" "$EX_PID")"
    elif ! differs pid && [ "$(ns_of "$EX_PID" pid_for_children)" != "$(host_ns pid)" ]; then
        # pid_for_children is new (or unreadable: a new PID namespace that
        # has had no first process yet).
        wrong "$(msg ex02.it_is_pid_1_of_a_new_pid_namespace.3 "$NSPID") Do: unshare --uts --pid --mount --fork bash"
    elif ! differs pid; then
        wrong "$(msg ex02.it_is_pid_1_of_a_new_pid_namespace.4 "$NSPID")"
    else
        wrong "$(msg ex02.it_is_pid_1_of_a_new_pid_namespace.5 "$PID_INSIDE" "$NSPID")"
    fi
}

. "$SHUNIT2"

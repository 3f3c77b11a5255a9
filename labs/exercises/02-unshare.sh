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
    cat <<'EOF'
Exercise 02 - a shell in new UTS, PID and mount namespaces, as PID 1, named tuna

Start a shell that has its own UTS, PID and mount namespaces, that is PID 1
of its PID namespace, and whose hostname is tuna, as the post does:
      unshare --uts --pid --mount --fork bash        # the post's way, or
      bin/02-unshare --uts --pid --mount --fork      # ours
and inside that shell:
      hostname tuna
      exec bash                                      # the prompt shows it
Leave the shell running and check from a second terminal.

Think about: what does --fork do, and what happens without it? (man 7
pid_namespaces: who becomes PID 1 after unshare(CLONE_NEWPID)?)

Check:   make exercise N=02     (or: labs/exercises/run 02)
Target:  EX_PID=<host PID of your shell> (default: the newest shell whose
         UTS namespace is not the machine's; `echo $$` inside prints 1, so
         find it from outside with `ps -ef --forest` or `pgrep -n bash`)
Undo:    exit the shell
EOF
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
        ok "checking PID $EX_PID ($(cat "/proc/$EX_PID/comm")), NSpid: $NSPID"
    elif [ -n "$EX_PID" ]; then
        wrong "there is no process $EX_PID. Start the shell as the task says and leave it" \
            "running. Do: EX_PID=<its host PID> labs/exercises/run 02"
    else
        wrong "no shell in a new UTS namespace is running: start it (unshare --uts --pid" \
            "--mount --fork bash) and leave it running, or say which process to check." \
            "Do: EX_PID=<host PID of your shell> labs/exercises/run 02"
    fi
}

test_it_has_its_own_uts_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "no shell"; return 0; }
    if differs uts; then
        ok "own UTS namespace: $(ns_of "$EX_PID" uts) (the machine's: $(host_ns uts))"
    else
        wrong "the shell shares the machine's UTS namespace ($(host_ns uts), like this checker):" \
            "\`hostname tuna\` there renames the whole machine. Start it with unshare --uts."
    fi
}

test_its_hostname_is_tuna() {
    if [ "$FOUND" = 0 ] || ! differs uts; then
        not_checked "the hostname (no own UTS namespace)"
        return 0
    fi
    if [ "$HOSTNAME_INSIDE" = "$WANT_HOSTNAME" ]; then
        ok "hostname in its UTS namespace: $HOSTNAME_INSIDE (the machine's: $(hostname))"
    else
        wrong "the hostname in the shell's UTS namespace is '$HOSTNAME_INSIDE', not" \
            "'$WANT_HOSTNAME'. A new UTS namespace starts with a copy of the host's name;" \
            "set it inside the shell (exec bash then shows it in the prompt). Do: hostname $WANT_HOSTNAME"
    fi
}

test_it_has_its_own_mount_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "no shell"; return 0; }
    if differs mnt; then
        ok "own mount namespace: $(ns_of "$EX_PID" mnt)"
    else
        wrong "the shell shares the machine's mount namespace ($(host_ns mnt)): every" \
            "mount it makes (its /proc, a new root) would change the machine's. Start it" \
            "with unshare --mount."
    fi
}

test_it_is_pid_1_of_a_new_pid_namespace() {
    [ "$FOUND" = 1 ] || { not_checked "no shell"; return 0; }
    if differs pid && [ "$PID_INSIDE" = 1 ]; then
        ok "PID 1 in its own PID namespace (NSpid: $NSPID; host PID $EX_PID)"
    elif ! differs pid && [ "$(ns_of "$EX_PID" pid_for_children)" != "$(host_ns pid)" ]; then
        # pid_for_children is new (or unreadable: a new PID namespace that
        # has had no first process yet).
        wrong "the shell is not PID 1: it is still in the machine's PID namespace (NSpid:" \
            "$NSPID, one level), and only its pid_for_children is new. That is unshare" \
            "--pid without --fork: unshare(2) never moves the caller into the new PID" \
            "namespace, only the children it makes afterwards. So the first command you" \
            "run in that shell becomes PID 1, and when it exits the namespace is dead:" \
            "every later fork fails with 'Cannot allocate memory' (ENOMEM). Exit the shell" \
            "and start it again with --fork, so unshare forks and the child is PID 1." \
            "Do: unshare --uts --pid --mount --fork bash"
    elif ! differs pid; then
        wrong "the shell is in the machine's PID namespace (NSpid: $NSPID): it sees every" \
            "process of the machine. Start it with unshare --pid --fork."
    else
        wrong "the shell is in a new PID namespace but it is PID $PID_INSIDE there, not 1" \
            "(NSpid: $NSPID): it is not the first process of its namespace (did you start" \
            "it from another shell inside?). Check the first one, or start again with" \
            "unshare --pid --fork, which makes your shell that first process."
    fi
}

. "$SHUNIT2"

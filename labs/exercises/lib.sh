# shellcheck shell=bash
# labs/exercises/lib.sh - what the exercise checkers share.
#
# An exercise is a shunit2 script, labs/exercises/NN-name.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   task() { cat <<'EOF' ... EOF; }        # what the student is asked to do
#   exercise_start "$@"                    # --task prints it and exits
#   ...read the kernel's state into variables (never change anything)...
#   test_the_cpu_limit_is_20_percent() { ...; ok "..." or wrong "..."; }
#   . "$SHUNIT2"
#
# A checker only READS: cgroupfs files, /proc/PID/..., `ip -j`, `nft -j`,
# `btrfs ... show`, `zfs list`.  It never writes a file, makes a link or
# sends a packet, so running it twice, or while the student works, is safe.
#
# Each test prints "ok: ..." when its part is right, or fails with
# wrong "...", whose text says what the kernel shows, why that is so, and
# what to type, after "Do: " (the report puts that on a line of its own).
# labs/exercises/run turns the shunit2 output into that report.

# shellcheck disable=SC2034  # the constants below are used by the exercises
set -u
SHUNIT_COLOR=none

# The language: msg KEY ARGS... (labs/lang.sh), from --lang L among the
# script's arguments (taken out of them here, before shunit2 reads them),
# else TUNA_LANG (labs/exercises/run exports it), else the locale.
# shellcheck source=labs/lang.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lang.sh"
EX_ARGS=() EX_LANG=''
while [ $# -gt 0 ]; do
    if [ "$1" = --lang ]; then
        lang_option_value "${2:-}"
        EX_LANG=$2
        shift 2
        continue
    fi
    EX_ARGS+=("$1")
    shift
done
set -- "${EX_ARGS[@]}"
lang_choose "$EX_LANG"
SHUNIT2=${SHUNIT2:-$(command -v shunit2 || echo /usr/share/shunit2/shunit2)}

# Limits every exercise checks against: the post's 20% CPU and 200M memory.
WANT_CPU_PERCENT=20
WANT_MEMORY_BYTES=209715200          # 200M: 200 * 1024 * 1024, as the post writes it
DEFAULT_PERIOD_US=100000             # the kernel's default cfs period (sched-bwc.rst)

# exercise_start "$@": with --task, print the task and stop.
exercise_start() {
    if [ "${1:-}" = --task ]; then
        task
        exit 0
    fi
}

# need_root: the checks read other processes' namespaces (nsenter, /proc/PID/root).
need_root() {
    if [ "$(id -u)" != 0 ]; then
        msg ex.need_root >&2
        echo >&2
        exit 2
    fi
}

# ok TEXT: this part is right.
ok() {
    echo "  ok: $*"
}

# wrong TEXT: this part is wrong; TEXT says what, why and what to do.
# Returns 0: the failure is recorded, the test itself did not break.
wrong() {
    fail "$*"
    return 0
}

# not_checked TEXT: a check that cannot be made until an earlier one passes.
not_checked() {
    echo "  $(msg ex.not_checked "$*")"
}

# --- processes and namespaces -------------------------------------------------------------

# ns_of PID TYPE: the namespace link, e.g. "uts:[4026531838]"; empty if unreadable.
ns_of() {
    readlink "/proc/$1/ns/$2" 2>/dev/null
}

# host_ns TYPE: the machine's own TYPE namespace, i.e. this checker's (run it
# from a terminal on the host, not inside the container).  Not PID 1's: its
# /proc/1/ns links may be unreadable where PID 1 is not an ordinary init.
host_ns() {
    ns_of $$ "$1"
}

# newest_shell_where_ns_differs TYPE [EXCLUDE]: the PID of the newest shell
# whose TYPE namespace is neither the machine's nor EXCLUDE (a link such as
# "net:[4026532300]").  The default target of the exercises about "the shell
# you started"; EX_PID overrides it.
newest_shell_where_ns_differs() {
    local host pid comm ns exclude=${2:-}
    host=$(host_ns "$1")
    # ps sorts by start time, newest first.
    while read -r pid comm; do
        case "$comm" in
        bash | sh | dash | ash | zsh | busybox) ;;
        *) continue ;;
        esac
        ns=$(ns_of "$pid" "$1")
        if [ -n "$ns" ] && [ "$ns" != "$host" ] && [ "$ns" != "$exclude" ]; then
            echo "$pid"
            return 0
        fi
    done < <(ps -e -o pid=,comm= --sort=-start_time)
    return 1
}

# process_exists PID
process_exists() {
    case "$1" in '' | *[!0-9]*) return 1 ;; esac
    [ -d "/proc/$1" ]
}

# nspid_list PID: the PID in each PID namespace, outermost first ("12345 1").
nspid_list() {
    sed -n 's/^NSpid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null | tr -s '[:space:]' ' ' |
        sed 's/ $//'
}

# --- cgroups ------------------------------------------------------------------------------
# Where a group's files are, on v2, v1 and hybrid machines: labs/cgroupfs.sh
# (cgroup_dir, cgroup_of, cgroup_cpu_limit, cgroup_memory_limit, ...).
# shellcheck source=labs/cgroupfs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cgroupfs.sh"

# cgroup_version [CONTROLLER]: v2 or v1, the kind of hierarchy holding
# CONTROLLER (default cpu): v1 also on a hybrid machine, whose controllers
# are v1's.
cgroup_version() {
    echo "v$(cgroup_version_of "${1:-cpu}")"
}

# percent NUMERATOR DENOMINATOR: 100*N/D with one decimal.
percent() {
    awk -v n="$1" -v d="$2" 'BEGIN { if (d == 0) print "?"; else printf "%.1f", 100 * n / d }'
}

# v2_enable_controller DIR CONTROLLER: what it takes, in v2, for the group at
# DIR to get CONTROLLER's files: "echo +CONTROLLER > .../cgroup.subtree_control"
# for each group from the top down to DIR's parent that does not hand it
# down yet, and a word on any of them that holds processes (v2's "no
# internal processes": a non-root group that hands controllers down holds
# none).  One line of text, for a WRONG paragraph.
v2_enable_controller() {
    local dir=$1 controller=$2 root ancestor rel commands='' busy='' part
    root=$(cgroup_mount "$controller")
    rel=${dir#"$root"/}
    ancestor=$root
    for part in ${rel//\// }; do
        if ! grep -qw "$controller" "$ancestor/cgroup.subtree_control" 2>/dev/null; then
            commands="$commands${commands:+; }echo +$controller > $ancestor/cgroup.subtree_control"
            if [ "$ancestor" != "$root" ] && [ -n "$(cat "$ancestor/cgroup.procs" 2>/dev/null)" ]; then
                busy="$busy $ancestor"
            fi
        fi
        ancestor=$ancestor/$part
    done
    [ -n "$busy" ] && msg lib.v2_busy "$busy" && echo -n " "
    echo "Do: ${commands:-echo +$controller > $(dirname "$dir")/cgroup.subtree_control}"
}

# explain_cpu_limit GROUP: ok or wrong about "20% of one CPU" for GROUP, in
# the words of the files the student wrote: v2 cpu.max ("QUOTA PERIOD"), v1
# cpu.cfs_quota_us and cpu.cfs_period_us.
explain_cpu_limit() {
    local dir quota_file period_file fix
    dir=$(cgroup_dir cpu "$1")
    if [ "$(cgroup_version cpu)" = v2 ]; then
        quota_file=cpu.max period_file=cpu.max
    else
        quota_file=cpu.cfs_quota_us period_file=cpu.cfs_period_us
    fi
    if ! cgroup_cpu_limit "$1"; then
        wrong "$(msg lib.no_cpu_max "$dir") $(v2_enable_controller "$dir" cpu)"
        return 0
    fi
    fix=$((CPU_PERIOD * WANT_CPU_PERCENT / 100))
    if [ "$CPU_QUOTA" = max ]; then
        if [ "$quota_file" = cpu.max ]; then
            wrong "$(msg lib.cpu_max_unlimited "$CPU_PERIOD" "$CPU_PERIOD" "$fix") Do: echo $fix > $dir/cpu.max"
        else
            wrong "$(msg lib.cfs_unlimited "$CPU_PERIOD" "$fix") Do: echo $fix > $dir/cpu.cfs_quota_us"
        fi
        return 0
    fi
    if [ $((CPU_QUOTA * 100)) -eq $((CPU_PERIOD * WANT_CPU_PERCENT)) ]; then
        ok "$(msg lib.cpu_ok "$quota_file" "$CPU_QUOTA" "$CPU_PERIOD" "$WANT_CPU_PERCENT")"
        return 0
    fi
    wrong "$(msg lib.cpu_wrong "$CPU_QUOTA" "$CPU_PERIOD" "$quota_file" "$period_file" \
        "$(percent "$CPU_QUOTA" "$CPU_PERIOD")" "$WANT_CPU_PERCENT" "$WANT_CPU_PERCENT" "$fix" \
        "$DEFAULT_PERIOD_US") Do: echo $fix > $dir/$quota_file"
}

# explain_memory_limit GROUP: ok or wrong about "200M" for GROUP: v2
# memory.max, v1 memory.limit_in_bytes, in bytes as the kernel holds them.
explain_memory_limit() {
    local dir file=memory.limit_in_bytes value
    dir=$(cgroup_dir memory "$1")
    [ "$(cgroup_version memory)" = v2 ] && file=memory.max
    if [ ! -r "$dir/$file" ]; then
        wrong "$(msg ex01.the_memory_limit_is_200M.2 "$dir" "$file" "$(v2_enable_controller "$dir" memory)")"
        return 0
    fi
    value=$(cgroup_memory_limit "$1")
    if [ "$value" = "$WANT_MEMORY_BYTES" ]; then
        ok "$(msg ex01.the_memory_limit_is_200M.3 "$file" "$value")"
    elif [ "$value" = max ]; then
        wrong "$(msg ex01.the_memory_limit_is_200M.4 "$file" "$(cat "$dir/$file")") Do: echo 200M > $dir/$file"
    elif [ $((value / 4096)) -eq $((200000000 / 4096)) ]; then
        wrong "$(msg ex01.the_memory_limit_is_200M.5 "$file" "$value" "$WANT_MEMORY_BYTES") Do: echo 200M > $dir/$file"
    else
        wrong "$(msg ex01.the_memory_limit_is_200M.6 "$file" "$value" "$(awk -v b="$value" 'BEGIN { printf "%.1f", b / 1048576 }')" "$WANT_MEMORY_BYTES") Do: echo 200M > $dir/$file"
    fi
}

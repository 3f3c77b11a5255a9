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
SHUNIT2=${SHUNIT2:-$(command -v shunit2 || echo /usr/share/shunit2/shunit2)}

# Limits every exercise checks against: the post's 20% CPU and 200M memory.
WANT_CPU_PERCENT=20
WANT_MEMORY_BYTES=209715200          # 200M: 200 * 1024 * 1024, as the post writes it
DEFAULT_PERIOD_US=100000             # the kernel's default cfs period (sched-bwc.rst)
V1_NO_MEMORY_LIMIT=9223372036854771712   # what memory.limit_in_bytes reads for "-1"

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
        echo "This check reads other processes' namespaces: run it as root (sudo)." >&2
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
    echo "  not checked yet: $*"
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

# cgroup_version: v2 when /sys/fs/cgroup itself is cgroup2 (unified), else v1
# (v1 only, or hybrid like this machine, where cpu and memory are v1).
cgroup_version() {
    if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
        echo v2
    else
        echo v1
    fi
}

# v1_mount CONTROLLER: where the v1 hierarchy holding CONTROLLER is mounted.
# /proc/self/mountinfo: "... MOUNTPOINT ... - cgroup cgroup rw,cpu,cpuacct".
v1_mount() {
    awk -v want="$1" '{
        for (i = 7; $i != "-"; i++) ;
        if ($(i + 1) != "cgroup") next
        n = split($(i + 3), opts, ",")
        for (j = 1; j <= n; j++) if (opts[j] == want) { print $5; exit }
    }' /proc/self/mountinfo
}

# cgroup_dir CONTROLLER NAME: the directory of cgroup NAME for CONTROLLER.
cgroup_dir() {
    if [ "$(cgroup_version)" = v2 ]; then
        echo "/sys/fs/cgroup/$2"
    else
        echo "$(v1_mount "$1")/$2"
    fi
}

# percent NUMERATOR DENOMINATOR: 100*N/D with one decimal.
percent() {
    awk -v n="$1" -v d="$2" 'BEGIN { if (d == 0) print "?"; else printf "%.1f", 100 * n / d }'
}

# read_cpu_limit DIR: sets CPU_QUOTA ("max" or µs) and CPU_PERIOD (µs) from
# cpu.cfs_quota_us/cpu.cfs_period_us (v1) or cpu.max (v2); returns 1 when
# there is no cpu file (v2: the cpu controller is not enabled there).
read_cpu_limit() {
    CPU_QUOTA='' CPU_PERIOD=''
    if [ -r "$1/cpu.cfs_quota_us" ]; then
        CPU_QUOTA=$(cat "$1/cpu.cfs_quota_us")
        CPU_PERIOD=$(cat "$1/cpu.cfs_period_us")
        [ "$CPU_QUOTA" = -1 ] && CPU_QUOTA=max
        return 0
    fi
    if [ -r "$1/cpu.max" ]; then
        read -r CPU_QUOTA CPU_PERIOD <"$1/cpu.max"
        return 0
    fi
    return 1
}

# explain_cpu_limit DIR: ok or wrong about "20% of one CPU" for the cgroup at
# DIR, in the words of the files the student wrote.
explain_cpu_limit() {
    local dir=$1 quota_file period_file
    if [ -r "$dir/cpu.cfs_quota_us" ]; then
        quota_file=cpu.cfs_quota_us period_file=cpu.cfs_period_us
    else
        quota_file=cpu.max period_file=cpu.max
    fi
    if ! read_cpu_limit "$dir"; then
        wrong "$dir has no cpu.max: the cpu controller is not enabled for this cgroup." \
            "In cgroup v2 a controller must be switched on in the parent's" \
            "cgroup.subtree_control, all the way down. Do: echo +cpu > $(dirname "$dir")/cgroup.subtree_control"
        return 0
    fi
    if [ "$CPU_QUOTA" = max ]; then
        if [ "$quota_file" = cpu.cfs_quota_us ]; then
            wrong "cpu.cfs_quota_us is -1 (no limit). \`echo 20 > cpu.cfs_quota_us\` is refused by" \
                "the kernel (write error: Invalid argument) because the quota is in microseconds" \
                "per period and the minimum is 1000; 20% of a $CPU_PERIOD µs period is" \
                "$((CPU_PERIOD * WANT_CPU_PERCENT / 100)). Do: echo $((CPU_PERIOD * WANT_CPU_PERCENT / 100)) > $dir/cpu.cfs_quota_us"
        else
            wrong "cpu.max is \"max $CPU_PERIOD\" (no limit). The first number is the quota in" \
                "microseconds per period (the second number); 20% of $CPU_PERIOD µs is" \
                "$((CPU_PERIOD * WANT_CPU_PERCENT / 100)). Do: echo $((CPU_PERIOD * WANT_CPU_PERCENT / 100)) > $dir/cpu.max"
        fi
        return 0
    fi
    if [ $((CPU_QUOTA * 100)) -eq $((CPU_PERIOD * WANT_CPU_PERCENT)) ]; then
        ok "$quota_file: $CPU_QUOTA µs every $CPU_PERIOD µs period = $WANT_CPU_PERCENT% of one CPU"
        return 0
    fi
    wrong "the quota is $CPU_QUOTA µs every $CPU_PERIOD µs period ($quota_file, $period_file):" \
        "that is $(percent "$CPU_QUOTA" "$CPU_PERIOD")% of one CPU, not $WANT_CPU_PERCENT%." \
        "Both numbers are microseconds; the share is quota / period, so for $WANT_CPU_PERCENT%" \
        "write quota = period / 5: $((CPU_PERIOD * WANT_CPU_PERCENT / 100)) with this period" \
        "(the default period is $DEFAULT_PERIOD_US)."
}

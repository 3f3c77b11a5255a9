# shellcheck shell=bash
# shellcheck disable=SC2034  # CPU_QUOTA and CPU_PERIOD are for the callers
# labs/cgroupfs.sh - reading a control group's files the same way on every
# kind of machine, for the labs' result lines and the exercises' checks.
#
#   cgroup v2   a stock Debian 12/13 or Ubuntu 22.04/24.04 with systemd: one
#               hierarchy, /sys/fs/cgroup is cgroup2; a group is one
#               directory with cpu.max, memory.max, cpu.stat, memory.events;
#               /proc/PID/cgroup has the single line "0::/PATH".
#   cgroup v1   one hierarchy per controller (/sys/fs/cgroup/cpu,
#               /sys/fs/cgroup/memory): a group is a directory in each, with
#               cpu.cfs_quota_us, memory.limit_in_bytes, memory.oom_control;
#               /proc/PID/cgroup has a line "ID:CONTROLLERS:/PATH" per
#               hierarchy.
#   hybrid      v1 hierarchies for the controllers, and a cgroup2 mount beside
#               them (/sys/fs/cgroup/unified) holding the rest.
#
# Each function finds where a controller lives from /proc/self/mountinfo, as
# the kernel reports it, so nothing here depends on 01-cgroup.
#
#   cgroup_mode                     v2, v1 or hybrid
#   cgroup_mount CONTROLLER         the mount point of the hierarchy holding it
#   cgroup_version_of CONTROLLER    1 or 2: the kind of that hierarchy
#   cgroup_dir CONTROLLER GROUP     the directory of GROUP in that hierarchy
#   cgroup_of PID CONTROLLER        PID's cgroup there, as /proc/PID/cgroup says
#   cgroup_cpu_limit GROUP          sets CPU_QUOTA ("max" or µs), CPU_PERIOD
#   cgroup_memory_limit GROUP       bytes, or "max"
#   cgroup_oom_file GROUP           the file that counts GROUP's OOM kills
#   cgroup_oom_kills GROUP          the kernel's count of OOM kills in GROUP
#   cgroup_cpu_stat GROUP KEY       a line of cpu.stat (nr_periods, nr_throttled)
#   cgroup_cpu_usage_us GROUP       CPU time used, in µs
#
# Docs: man 7 cgroups; Documentation/admin-guide/cgroup-v2.rst,
# admin-guide/cgroup-v1/{cgroups,memory}.rst, scheduler/sched-bwc.rst.

CGROUP_ROOT=${CGROUP_ROOT:-/sys/fs/cgroup}
# What v1's memory.limit_in_bytes reads for "no limit" (PAGE_COUNTER_MAX pages).
CGROUP_V1_NO_MEMORY_LIMIT=9223372036854771712

# cgroup_mounts: "VERSION MOUNTPOINT SUPER-OPTIONS" for each cgroup mount
# under CGROUP_ROOT.  mountinfo: field 5 is the mount point; after the "-"
# come the type (cgroup, cgroup2), the source and the super options
# ("rw,cpu,cpuacct" names a v1 hierarchy's controllers).
cgroup_mounts() {
    awk -v root="$CGROUP_ROOT" '{
        for (i = 7; $i != "-"; i++) ;
        if ($5 != root && index($5, root "/") != 1) next
        if ($(i + 1) == "cgroup2") print 2, $5, "-"
        else if ($(i + 1) == "cgroup") print 1, $5, $(i + 3)
    }' /proc/self/mountinfo
}

cgroup_mode() {
    local v1=0 v2=0 version _
    while read -r version _; do
        [ -n "$version" ] || continue
        if [ "$version" = 1 ]; then v1=1; else v2=1; fi
    done <<<"$(cgroup_mounts)"
    if [ "$v1" = 1 ] && [ "$v2" = 1 ]; then
        echo hybrid
    elif [ "$v1" = 1 ]; then
        echo v1
    else
        echo v2
    fi
}

# cgroup_hierarchy CONTROLLER: "VERSION MOUNTPOINT" of the hierarchy holding
# CONTROLLER: the v1 one whose super options name it, else the cgroup2 one
# (a controller no v1 hierarchy binds is cgroup2's, cgroups(7)).  v2 has no
# cpuacct: its cpu.stat counts the CPU time.
cgroup_hierarchy() {
    local version mnt options v2=''
    while read -r version mnt options; do
        if [ "$version" = 1 ]; then
            case ",$options," in *",$1,"*) echo "1 $mnt"; return 0 ;; esac
        elif [ -z "$v2" ]; then
            v2=$mnt
        fi
    done <<<"$(cgroup_mounts)"
    [ -n "$v2" ] && echo "2 $v2"
}

cgroup_mount() {
    local h
    h=$(cgroup_hierarchy "$1")
    echo "${h#* }"
}

cgroup_version_of() {
    local h
    h=$(cgroup_hierarchy "$1")
    echo "${h%% *}"
}

cgroup_dir() {
    local mnt
    mnt=$(cgroup_mount "$1")
    echo "${mnt:-$CGROUP_ROOT}/$2"
}

# cgroup_of PID CONTROLLER: from /proc/PID/cgroup (proc(5)), the line of the
# hierarchy holding CONTROLLER: "0::/PATH" in v2, "N:cpu,cpuacct:/PATH" in
# v1.  The path is relative to the reader's cgroup namespace.
cgroup_of() {
    local pid=$1 controller=$2
    if [ "$(cgroup_version_of "$controller")" = 2 ]; then
        sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null
    else
        awk -F: -v c="$controller" '{
            n = split($2, list, ",")
            for (i = 1; i <= n; i++) if (list[i] == c) {
                sub(/^[^:]*:[^:]*:/, ""); print; exit
            }
        }' "/proc/$pid/cgroup" 2>/dev/null
    fi
}

# cgroup_cpu_limit GROUP: sets CPU_QUOTA ("max" or µs per period) and
# CPU_PERIOD (µs) from cpu.max (v2: "QUOTA PERIOD") or cpu.cfs_quota_us and
# cpu.cfs_period_us (v1, -1 for no limit).  Returns 1 when the group has no
# such file (v2: the cpu controller is not enabled for it).
cgroup_cpu_limit() {
    local dir
    dir=$(cgroup_dir cpu "$1")
    CPU_QUOTA='' CPU_PERIOD=''
    if [ -r "$dir/cpu.max" ]; then
        read -r CPU_QUOTA CPU_PERIOD <"$dir/cpu.max"
    elif [ -r "$dir/cpu.cfs_quota_us" ]; then
        CPU_QUOTA=$(cat "$dir/cpu.cfs_quota_us")
        CPU_PERIOD=$(cat "$dir/cpu.cfs_period_us")
        [ "$CPU_QUOTA" = -1 ] && CPU_QUOTA=max
    else
        return 1
    fi
    return 0
}

# cgroup_memory_limit GROUP: memory.max (v2) or memory.limit_in_bytes (v1),
# with v1's huge "no limit" read as max.
cgroup_memory_limit() {
    local dir value
    dir=$(cgroup_dir memory "$1")
    if [ -r "$dir/memory.max" ]; then
        value=$(cat "$dir/memory.max")
    else
        value=$(cat "$dir/memory.limit_in_bytes") || return 1
        [ "$value" = "$CGROUP_V1_NO_MEMORY_LIMIT" ] && value=max
    fi
    echo "$value"
}

# cgroup_key FILE KEY: the number after KEY in a flat-keyed file.
cgroup_key() {
    awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1" 2>/dev/null
}

# cgroup_oom_file GROUP: the file that counts its OOM kills: memory.events
# (v2; it counts the group's descendants too), or memory.oom_control (v1,
# the group itself).
cgroup_oom_file() {
    local dir
    dir=$(cgroup_dir memory "$1")
    if [ -r "$dir/memory.events" ]; then
        echo "$dir/memory.events"
    else
        echo "$dir/memory.oom_control"
    fi
}

# cgroup_oom_kills GROUP: the oom_kill line of that file.
cgroup_oom_kills() {
    cgroup_key "$(cgroup_oom_file "$1")" oom_kill
}

# cgroup_cpu_stat GROUP KEY: nr_periods, nr_throttled (the same in v1 and
# v2); throttled time is throttled_usec in v2 but throttled_time (ns) in v1.
cgroup_cpu_stat() {
    cgroup_key "$(cgroup_dir cpu "$1")/cpu.stat" "$2"
}

# cgroup_cpu_usage_us GROUP: v2 cpu.stat usage_usec; v1 cpuacct.usage (ns).
cgroup_cpu_usage_us() {
    local dir ns
    dir=$(cgroup_dir cpuacct "$1")
    if [ -r "$dir/cpuacct.usage" ]; then
        ns=$(cat "$dir/cpuacct.usage") || return 1
        echo $((ns / 1000))
    else
        cgroup_key "$dir/cpu.stat" usage_usec
    fi
}

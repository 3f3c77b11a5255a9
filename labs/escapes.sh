# shellcheck shell=bash
# labs/escapes.sh - the escapes of lesson 08, shared by labs/08-harden.sh
# and step 8 of labs/all.sh (sourced after labs/lib.sh).
#
# Each escape is one of 08-harden's --try probes, attempted from inside the
# container; a probe prints "ESCAPE open|closed ERRNO what it did".  All
# are harmless: files are opened for writing and never written, a mount is
# undone at once, a device node is removed, a call is made with arguments
# the kernel rejects once its permission check has passed.

# The escapes, in the lesson's order (disk gets its device number added).
ESCAPES=(core_pattern sysrq disk cgroupfs sysfs kcore keyctl open_by_handle_at init_module userns)

# root_disk_device: MAJOR:MINOR of the file system mounted on / of the
# machine, from the host's /proc/self/mountinfo (field 3).
root_disk_device() {
    awk '$5 == "/" {print $3; exit}' /proc/self/mountinfo
}

# escape_list DEVICE: the --try list, the disk's number included.
escape_list() {
    local e list=
    for e in "${ESCAPES[@]}"; do
        [ "$e" = disk ] && e="disk=$1"
        list="$list${list:+,}$e"
    done
    echo "$list"
}

# escape_what ESCAPE: what the attacker is after.
escape_what() {
    case $1 in
    core_pattern) echo "write /proc/sys/kernel/core_pattern: the host runs '|PROGRAM' as root" ;;
    sysrq) echo "write /proc/sysrq-trigger: reboot or crash the host" ;;
    disk) echo "mknod the host's root disk and read it, below every permission" ;;
    cgroupfs) echo "mount a cgroupfs and lift its own CPU and memory limits" ;;
    sysfs) echo "mount sysfs read-write: the host's devices and kernel knobs" ;;
    kcore) echo "read /proc/kcore: the host kernel's memory" ;;
    keyctl) echo "keyctl: the kernel's keyrings, not namespaced" ;;
    open_by_handle_at) echo "open_by_handle_at: the 2014 'shocker' breakout" ;;
    init_module) echo "init_module: load code into the host's kernel" ;;
    userns) echo "unshare(CLONE_NEWUSER): every capability again, in a new user namespace" ;;
    esac
}

# escape_mechanism ESCAPE: what closes it.
escape_mechanism() {
    case $1 in
    core_pattern | sysrq) echo "/proc/sys and /proc/sysrq-trigger read-only (08-harden step 1)" ;;
    disk) echo "the device cgroup (01-cgroup --devices default)" ;;
    cgroupfs | sysfs) echo "seccomp: mount is denied (and CAP_SYS_ADMIN is gone)" ;;
    kcore) echo "masked: /dev/null bound over it (08-harden step 1)" ;;
    keyctl) echo "seccomp: keyctl is denied" ;;
    open_by_handle_at) echo "seccomp (and CAP_DAC_READ_SEARCH is gone)" ;;
    init_module) echo "seccomp (and CAP_SYS_MODULE is gone)" ;;
    userns) echo "seccomp: unshare is denied" ;;
    esac
}

# try_escapes OUT CMD...: show CMD as ours does, run it (an 08-harden
# --try) into OUT, and show OUT.
try_escapes() {
    local out=$1
    shift
    printf '  tuna$ %s\n' "$(short_cmd "$@")"
    "$@" >"$out"
    sed 's/^/  | /' "$out"
}

# quietly CMD...: CMD's output is not the point, its status is (for check).
quietly() { "$@" >/dev/null 2>&1; }

# escape_field FILE ESCAPE N: field N of ESCAPE's line (2 open|closed,
# 3 the errno).
escape_field() {
    awk -v e="$2" -v n="$3" '$1 == e {print $n; exit}' "$1"
}

# escapes_report BEFORE AFTER: per escape, what it tries, before, after, the
# mechanism; a result line for each door that must be closed now.  Before,
# a door the machine itself does not have (no such file, no such call) is
# said so, not counted.
escapes_report() {
    local before=$1 after=$2 e b_state b_err a_state a_err
    for e in "${ESCAPES[@]}"; do
        b_state=$(escape_field "$before" "$e" 2) b_err=$(escape_field "$before" "$e" 3)
        a_state=$(escape_field "$after" "$e" 2) a_err=$(escape_field "$after" "$e" 3)
        echo
        say "$e: $(escape_what "$e")"
        case "$b_state $b_err" in
        "open "*) say "  before: open ($(awk -v e="$e" '$1 == e {$1 = $2 = $3 = ""; sub(/^ +/, ""); print; exit}' "$before"))" ;;
        *ENOENT | *ENOSYS) say "  before: this kernel has no such door ($b_err)" ;;
        *) say "  before: closed already here ($b_err)" ;;
        esac
        if [ "$a_state $a_err" = "$b_state $b_err" ] && [ "$b_err" = ENOENT ]; then
            say "  after:  still absent: nothing to close"
            continue
        fi
        [ "$a_err" = 0 ] && a_err="it reads empty"
        say "  after:  $a_state $a_err, by $(escape_mechanism "$e")"
        check "$e is closed: $a_err" [ "$a_state" = closed ]
    done
}

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
    core_pattern) msg esc.what.core_pattern ;;
    sysrq) msg esc.what.sysrq ;;
    disk) msg esc.what.disk ;;
    cgroupfs) msg esc.what.cgroupfs ;;
    sysfs) msg esc.what.sysfs ;;
    kcore) msg esc.what.kcore ;;
    keyctl) msg esc.what.keyctl ;;
    open_by_handle_at) msg esc.what.open_by_handle_at ;;
    init_module) msg esc.what.init_module ;;
    userns) msg esc.what.userns ;;
    esac
}

# escape_mechanism ESCAPE: what closes it.
escape_mechanism() {
    case $1 in
    core_pattern | sysrq) msg esc.how.proc_ro ;;
    disk) msg esc.how.devices ;;
    cgroupfs | sysfs) msg esc.how.mount ;;
    kcore) msg esc.how.masked ;;
    keyctl) msg esc.how.keyctl ;;
    open_by_handle_at) msg esc.how.handle ;;
    init_module) msg esc.how.module ;;
    userns) msg esc.how.unshare ;;
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
        say "$(msg esc.door "$e" "$(escape_what "$e")")"
        case "$b_state $b_err" in
        "open "*) say "$(msg esc.before_open "$(awk -v e="$e" '$1 == e {$1 = $2 = $3 = ""; sub(/^ +/, ""); print; exit}' "$before")")" ;;
        *ENOENT | *ENOSYS) say "$(msg esc.before_absent "$b_err")" ;;
        *) say "$(msg esc.before_closed "$b_err")" ;;
        esac
        if [ "$a_state $a_err" = "$b_state $b_err" ] && [ "$b_err" = ENOENT ]; then
            say "$(msg esc.after_absent)"
            continue
        fi
        [ "$a_err" = 0 ] && a_err=$(msg esc.reads_empty)
        say "$(msg esc.after "$a_state" "$a_err" "$(escape_mechanism "$e")")"
        check "$(msg esc.closed "$e" "$a_err")" [ "$a_state" = closed ]
    done
}

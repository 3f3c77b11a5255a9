# shellcheck shell=bash
# shellcheck disable=SC2034  # the names set here are used by the labs that source it
# labs/lib.sh - what the labs share: names, banners, showing the post's command
# beside ours, running ours with --explain, collecting results, and the world a
# lab builds (a "host" and an "uplink" network namespace) and tears down.
#
# A lab sources this file, calls lab_init "$@", defines its steps in a
# function and hands it to lab_run, which runs it in a child process and
# tears the lab's world down afterwards, however the steps ended.  In the
# steps function, for each step:
#
#   step 4 "$(msg all.s4.title)" 05-veth
#   post 'ip link add name h$CPID type veth peer name c$CPID'
#   ours "$TUNA_BIN/05-veth" add --pid "$CPID" ...
#   result ok "$(msg all.s4.ping "$HOST_ADDR")"
#
# Every text a lab prints is a key of the message tables (labs/lang.sh,
# labs/lang/LANG.msg), in the language of --lang, TUNA_LANG or the locale.
#
# and ends with lab_finish, which prints the summary and returns 0 only when
# every result held.
#
# Why a child: Ctrl-C must always tear the world down.  A SIGINT trap in the
# shell that runs the steps is not reliable in bash 5.2 (a trap that fires
# while bash parses a $(...) fails with "unexpected EOF while looking for
# matching `)'"), so the steps run in a child with no traps, and this shell,
# which only waits, handles the signal.

LABS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TUNA_ROOT=$(cd "$LABS_DIR/.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
# Installed (make install): the labs are in share/tuna, the tools on PATH.
if [ ! -x "$TUNA_BIN/01-cgroup" ] && command -v 01-cgroup >/dev/null 2>&1; then
    TUNA_BIN=$(dirname "$(command -v 01-cgroup)")
fi

# The message tables: msg KEY ARGS... (labs/lang.sh).
# shellcheck source=labs/lang.sh
. "$LABS_DIR/lang.sh"

# Where a group's files are, on v2, v1 and hybrid machines (cgroup_of, ...).
# shellcheck source=labs/cgroupfs.sh
. "$LABS_DIR/cgroupfs.sh"

# The post's addresses: the container network and the stand-in internet.
CONTAINER_NET=172.17.0.0/16
HOST_ADDR=172.17.0.1
CONTAINER_ADDR=172.17.0.2
PREFIX_LEN=16
UPLINK_NET_PREFIX=24
UPLINK_HOST_ADDR=198.51.100.1      # the lab host's address towards the "internet"
INTERNET_ADDR=198.51.100.53        # the "internet": a documentation address (RFC 5737)

LAB_FAILED=()
LAB_PASSED=0
LAB_STEP=0

# lab_usage: the options every lab takes.
lab_usage() {
    msg lib.usage "$(basename "$0")" "$(lang_list | sed 's/ /|/g')"
    echo
}

# lab_init "$@": parse the common options and derive every name from --name.
lab_init() {
    LAB_NAME=lab LAB_BACKEND='' LAB_KEEP=0 LAB_INTERACTIVE=0 LAB_PAUSE=0
    LAB_REAL_HOST=0 X=(-x)   # X: the --explain flag, or nothing
    # The language first, so every message below is in it.
    local a want='' prev=''
    for a in "$@"; do
        [ "$prev" = --lang ] && want=$a
        prev=$a
    done
    [ "$prev" = --lang ] && want=-
    if [ -n "$want" ]; then lang_option_value "$want"; fi
    lang_choose "$want"
    while [ $# -gt 0 ]; do
        case "$1" in
        --lang) shift ;;   # chosen above
        --name) LAB_NAME=${2:?--name needs a value}; shift ;;
        --backend) LAB_BACKEND=${2:?--backend needs a value}; shift ;;
        --keep) LAB_KEEP=1 ;;
        --interactive) LAB_INTERACTIVE=1 ;;
        --pause) LAB_PAUSE=1 ;;
        --real-host) LAB_REAL_HOST=1 ;;
        --quiet) X=() ;;
        -h|--help) lab_usage; exit 0 ;;
        *) echo "$(basename "$0"): $(msg lib.err.option "$1")" >&2; exit 2 ;;
        esac
        shift
    done
    case "$LAB_NAME" in
    *[!a-z0-9]*|'') echo "$(basename "$0"): $(msg lib.err.name_chars)" >&2; exit 2 ;;
    esac
    if [ ${#LAB_NAME} -gt 8 ]; then
        echo "$(basename "$0"): $(msg lib.err.name_length)" >&2
        exit 2
    fi
    case "$LAB_BACKEND" in
    ''|zfs|btrfs|overlay|devicemapper) ;;
    *) echo "$(basename "$0"): $(msg lib.err.backend "$LAB_BACKEND")" >&2; exit 2 ;;
    esac
    if [ "$(id -u)" != 0 ]; then
        echo "$(basename "$0"): $(msg lib.err.root)" >&2
        exit 1
    fi
    lab_names
}

# lab_names: every name this lab's world uses, derived from LAB_NAME.
lab_names() {
    LAB_RUN=/run/tuna/$LAB_NAME                 # pid files, the FIFO
    # Programs the lab runs from files it makes (a root file system): not
    # under /run, which stock systems mount noexec.
    LAB_EXEC_DIR=/var/lib/tuna/$LAB_NAME/exec
    # labs/03-zfs-image.sh's inode-limit step: a small ext4 on a loop device.
    LAB_INODES_DIR=/var/lib/tuna/$LAB_NAME/inodes
    LAB_CGROUP=tuna-$LAB_NAME                   # the lab's cgroup parent
    LAB_CONTAINER_CGROUP=$LAB_CGROUP/myContainer
    LAB_UPLINK_IF=tl${LAB_NAME}u                # host end of the "internet" link
    if [ "$LAB_REAL_HOST" = 1 ]; then
        LAB_HOST_NS=                            # this machine's own namespace
        LAB_UPLINK_NS=
        LAB_POOL=zpools
        LAB_STORE=/zpools
    else
        LAB_HOST_NS=tuna-$LAB_NAME-host
        LAB_UPLINK_NS=tuna-$LAB_NAME-uplink
        LAB_POOL=tuna-$LAB_NAME
        LAB_STORE=/var/lib/tuna/$LAB_NAME/zpools
    fi
    IMAGE=myImage
    SNAPSHOT=myImage@v1.0
    CONTAINER=myContainer
    CONTAINER_ROOT=$LAB_STORE/containers/$CONTAINER
    export LAB_NAME LAB_RUN LAB_CGROUP LAB_HOST_NS LAB_UPLINK_NS LAB_POOL LAB_STORE
}

# on_host CMD...: run a command on the lab's "host" (its network namespace).
on_host() {
    if [ -n "$LAB_HOST_NS" ]; then
        ip netns exec "$LAB_HOST_NS" "$@"
    else
        "$@"
    fi
}

# in_container CMD...: run a command inside the container, as `docker exec`
# does: every namespace of its PID 1, and its root directory.
# shellcheck disable=SC2153  # CPID is set by the lab once its container runs
in_container() {
    nsenter --target "$CPID" --mount --uts --ipc --net --pid --cgroup \
        --root --wd -- "$@"
}

# zfs_tool ARGS...: 03-zfs-image with this lab's pool, store and backend.
zfs_tool() {
    local backend=()
    [ -n "$LAB_BACKEND" ] && backend=(--backend "$LAB_BACKEND")
    "$TUNA_BIN/03-zfs-image" "${backend[@]}" --pool "$LAB_POOL" --store "$LAB_STORE" "$@"
}

# --- cgroups -------------------------------------------------------------------

# cgroup_membership PID: where PID is for the controllers the lab limits, in
# the words of /proc/PID/cgroup: "0::/tuna-lab/myContainer" on cgroup v2,
# "cpu:/tuna-lab/myContainer memory:/tuna-lab/myContainer" on v1 or hybrid.
cgroup_membership() {
    if [ "$(cgroup_version_of memory)" = 2 ]; then
        echo "0::$(cgroup_of "$1" memory)"
    else
        echo "cpu:$(cgroup_of "$1" cpu) memory:$(cgroup_of "$1" memory)"
    fi
}

# in_cgroup PID GROUP: PID is in GROUP for cpu and for memory.
in_cgroup() {
    [ "$(cgroup_of "$1" cpu)" = "/$2" ] && [ "$(cgroup_of "$1" memory)" = "/$2" ]
}

# cgroup_limits GROUP: read the group's CPU and memory limits from the
# kernel's files into CPU_QUOTA, CPU_PERIOD, MEMORY_BYTES, and LIMITS, their
# text: 'cpu.max "20000 100000", memory.max 209715200' on v2.
cgroup_limits() {
    cgroup_cpu_limit "$1" || CPU_QUOTA=none CPU_PERIOD=none
    MEMORY_BYTES=$(cgroup_memory_limit "$1" 2>/dev/null) || MEMORY_BYTES=none
    if [ "$(cgroup_version_of cpu)" = 2 ]; then
        LIMITS="cpu.max \"$CPU_QUOTA $CPU_PERIOD\", memory.max $MEMORY_BYTES"
    else
        LIMITS="cpu.cfs_quota_us $CPU_QUOTA per cpu.cfs_period_us $CPU_PERIOD,"
        LIMITS="$LIMITS memory.limit_in_bytes $MEMORY_BYTES"
    fi
}

# limits_are PERCENT BYTES: what cgroup_limits read is PERCENT of one CPU
# (quota / period) and BYTES of memory.
limits_are() {
    case "$CPU_QUOTA$CPU_PERIOD" in '' | *[!0-9]*) return 1 ;; esac
    [ $((CPU_QUOTA * 100)) -eq $((CPU_PERIOD * $1)) ] && [ "$MEMORY_BYTES" = "$2" ]
}

# --- showing --------------------------------------------------------------------

# step N TITLE [LESSON]: a step's banner.  LESSON (such as 03-zfs-image)
# names the lesson the step comes from: docs/LESSON.md, or its translation
# docs/LANG/LESSON.md where there is one.
step() {
    # The lab's parent shell was killed (SIGKILL cannot be trapped): stop
    # here rather than build more of a world nobody will tear down.
    if [ -n "${LAB_PARENT:-}" ] && ! kill -0 "$LAB_PARENT" 2>/dev/null; then
        exit 137
    fi
    LAB_STEP=$1
    echo "$1" >"$LAB_RUN/step"
    if [ "$LAB_PAUSE" = 1 ] && [ "$1" != 1 ]; then
        # Enter from the terminal; without one (a session with no terminal,
        # such as a script driving the demo), a line from standard input.
        if { : </dev/tty; } 2>/dev/null; then
            read -r -p "$(msg lib.press_enter "$1")" _ </dev/tty || true
        else
            read -r _ || true
        fi
    fi
    local lesson
    echo
    echo "=============================================================================="
    msg lib.step "$1" "$2"
    echo
    if [ -n "${3:-}" ]; then
        lesson=docs/$3.md
        [ -f "$TUNA_ROOT/docs/$TUNA_LANG_ACTIVE/$3.md" ] && lesson=docs/$TUNA_LANG_ACTIVE/$3.md
        msg lib.lesson "${3%%-*}" "$lesson"
        echo
    fi
    echo "=============================================================================="
}

# post CMD-TEXT: what the blog post typed for this.
post() {
    printf '  post$ %s\n' "$*"
}

# say TEXT: a line of explanation.
say() {
    printf '  %s\n' "$*"
}

# ours CMD...: show our command, then run it with --explain (after the
# subcommand words, which every tool takes first).  Fails the lab on error.
ours() {
    printf '  tuna$ %s\n' "$(short_cmd "$@")"
    "$@"
}

# short_cmd CMD...: the command as a student would type it: bin/ paths
# short, and the lab's helper functions spelled out.
short_cmd() {
    local out=() a
    for a in "$@"; do
        case "$a" in
        zfs_tool)
            out+=(03-zfs-image)
            [ -n "$LAB_BACKEND" ] && out+=(--backend "$LAB_BACKEND")
            out+=(--pool "$LAB_POOL" --store "$LAB_STORE")
            ;;
        on_host) [ -n "$LAB_HOST_NS" ] && out+=(ip netns exec "$LAB_HOST_NS") ;;
        in_container) out+=(nsenter --target "$CPID" -muinpC --root --wd --) ;;
        cg_exec) out+=(01-cgroup exec "$LAB_CONTAINER_CGROUP" --) ;;
        *) out+=("${a/#$TUNA_BIN\//}") ;;
        esac
    done
    echo "${out[*]}"
}

# result ok|fail TEXT: one step's result line, with the kernel's figure.
result() {
    if [ "$1" = ok ]; then
        printf '  [ ok ] %s\n' "$2"
        LAB_PASSED=$((LAB_PASSED + 1))
    else
        printf '  [FAIL] %s\n' "$2"
        LAB_FAILED+=("$(msg lib.failed_item "$LAB_STEP" "$2")")
    fi
}

# check DESCRIPTION CMD...: result ok when CMD succeeds.
check() {
    local what=$1
    shift
    if "$@"; then result ok "$what"; else result fail "$what"; fi
}

# arith EXPRESSION: true when the arithmetic expression holds, for check.
arith() {
    (($1))
}

# --- pictures ---------------------------------------------------------------------

BOX_WIDTH=60   # inside width of a box, in characters

# box_top TITLE, box_line TEXT, box_bottom, box_link TEXT: a box drawn in
# plain ASCII, one call per line, so a picture reads in any terminal.
# Widths are in terminal columns (text_width), so Hangul lines up too.
box_top() {
    local rule
    text_width "$1"
    rule=$(printf '%*s' $((BOX_WIDTH - REPLY - 3)) '' | tr ' ' -)
    printf '  +- %s %s+\n' "$1" "$rule"
}
box_line() {
    printf '  |  %s|\n' "$(pad_to $((BOX_WIDTH - 2)) "$1")"
}
box_bottom() {
    printf '  +%s+\n' "$(printf '%*s' "$BOX_WIDTH" '' | tr ' ' -)"
}
box_link() {
    printf '  %*s|  %s\n' $((BOX_WIDTH / 2)) '' "$1"
}

# bar PERCENT-TENTHS LIMIT-PERCENT: a text bar, one '#' per 2 percent, a '|'
# where the limit is; 25 characters wide (50%), '>' when the share is above.
bar() {
    local tenths=$1 limit=$2 i chart='' n
    n=$(( (tenths + 10) / 20 ))
    for i in $(seq 25); do
        if [ "$i" -le "$n" ]; then chart="$chart#"
        elif [ "$i" = $((limit / 2)) ]; then chart="$chart|"
        else chart="$chart."
        fi
    done
    [ "$n" -gt 25 ] && chart="$chart>"
    printf '%s' "$chart"
}

# cgroup_cpu_usage_file GROUP: the file whose counter is the group's CPU time,
# and its unit: "FILE usage_usec" (v2 cpu.stat, microseconds) or "FILE ns"
# (v1 cpuacct.usage, nanoseconds), wherever the hierarchy is mounted
# (labs/cgroupfs.sh).
cgroup_cpu_usage_file() {
    local dir
    dir=$(cgroup_dir cpuacct "$1")
    if [ -f "$dir/cpuacct.usage" ]; then
        echo "$dir/cpuacct.usage ns"
    elif grep -qs '^usage_usec ' "$dir/cpu.stat"; then
        echo "$dir/cpu.stat usage_usec"
    else
        return 1
    fi
}

# cpu_usage_us_in FILE UNIT: that counter, in microseconds (one read, for a
# chart sampled each second; cgroup_cpu_usage_us GROUP finds the file too).
cpu_usage_us_in() {
    if [ "$2" = usage_usec ]; then
        awk '$1 == "usage_usec" {print $2}' "$1"
    else
        echo $(( $(cat "$1") / 1000 ))
    fi
}

lab_finish() {
    echo
    echo "=============================================================================="
    if [ ${#LAB_FAILED[@]} -eq 0 ]; then
        msg lib.all_held "$LAB_PASSED"
        echo
        echo "=============================================================================="
        return 0
    fi
    msg lib.some_failed "${#LAB_FAILED[@]}" "$LAB_PASSED"
    echo
    printf '   %s\n' "${LAB_FAILED[@]}"
    echo "=============================================================================="
    return 1
}

# --- the sandbox world -------------------------------------------------------------

# world_up: the lab's "host" network namespace, and an "uplink" namespace that
# stands for the internet: it holds 198.51.100.53 and has no route back to the
# container network, so a reply can only come back through the masquerade.
world_up() {
    mkdir -p "$LAB_RUN" "$(dirname "$LAB_STORE")"
    [ "$LAB_REAL_HOST" = 1 ] && return 0
    [ "${LAB_NETWORK:-1}" = 0 ] && return 0   # a lab with no network steps
    ip netns add "$LAB_HOST_NS"
    ip netns add "$LAB_UPLINK_NS"
    ip -n "$LAB_HOST_NS" link set lo up
    ip -n "$LAB_UPLINK_NS" link set lo up
    ip -n "$LAB_HOST_NS" link add "$LAB_UPLINK_IF" type veth peer name uplink0 \
        netns "$LAB_UPLINK_NS"
    ip -n "$LAB_HOST_NS" addr add "$UPLINK_HOST_ADDR/$UPLINK_NET_PREFIX" dev "$LAB_UPLINK_IF"
    ip -n "$LAB_HOST_NS" link set "$LAB_UPLINK_IF" up
    ip -n "$LAB_UPLINK_NS" addr add "$INTERNET_ADDR/$UPLINK_NET_PREFIX" dev uplink0
    ip -n "$LAB_UPLINK_NS" link set uplink0 up
}

# --- running a lab --------------------------------------------------------------------

# stop_tree PID: SIGTERM to PID and every process below it (only what this
# lab started), then SIGKILL to whatever is left after two seconds.
stop_tree() {
    local pids=() queue=("$1") p
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        pids+=("$p")
        # shellcheck disable=SC2207
        queue+=($(pgrep -P "$p"))
    done
    kill -TERM "${pids[@]}" 2>/dev/null
    for _ in $(seq 20); do
        kill -0 "${pids[@]}" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null
    return 0
}

# lab_teardown: labs/teardown.sh for this lab's names.
lab_teardown() {
    local args=(--name "$LAB_NAME")
    [ "$LAB_REAL_HOST" = 1 ] && args+=(--real-host)
    "$LABS_DIR/teardown.sh" "${args[@]}"
}

# lab_run STEPS-FUNCTION: start from a clean world, run the steps in a child,
# then tear down (unless --keep and all went well).  Returns the steps'
# status, or 130/143 when interrupted.
lab_run() {
    local child status=0 signal='' cpid
    # A rerun after a killed run starts from a clean world.
    lab_teardown
    world_up
    # In the child, $$ is still this shell's PID: its parent to watch.
    LAB_PARENT=$$
    # A background child reads from /dev/null, except where --pause has no
    # terminal: then step waits for a line of this shell's standard input.
    if [ "$LAB_PAUSE" = 1 ] && ! { : </dev/tty; } 2>/dev/null; then
        ( set -e; "$@" ) <&0 &
    else
        ( set -e; "$@" ) &
    fi
    child=$!
    echo "$child" >"$LAB_RUN/steps.pid"   # for teardown.sh, if this shell is killed
    trap 'signal=130' INT
    trap 'signal=143' TERM
    # wait returns early when a trapped signal arrives; the child is then
    # still running.
    while :; do
        status=0
        wait "$child" || status=$?
        [ -n "$signal" ] && break
        kill -0 "$child" 2>/dev/null || break
    done
    trap '' INT TERM   # the teardown itself is not to be interrupted
    if [ -n "$signal" ]; then
        stop_tree "$child"
        wait "$child" 2>/dev/null
        status=$signal
    fi
    cpid=$(cat "$LAB_RUN/container.pid" 2>/dev/null || true)
    if [ "$status" = 0 ] && [ "$LAB_INTERACTIVE" = 1 ] && [ -n "$cpid" ]; then
        echo
        msg lib.interactive; echo
        nsenter --target "$cpid" --mount --uts --ipc --net --pid --cgroup --root --wd \
            /bin/sh </dev/tty || true
    fi
    if [ "$status" = 0 ] && [ "$LAB_KEEP" = 1 ]; then
        echo
        msg lib.kept; echo
        [ -n "$cpid" ] && msg lib.enter_with && echo &&
            echo "  nsenter --target $cpid --mount --uts --ipc --net --pid --cgroup --root --wd /bin/sh"
        msg lib.remove_with; echo
        echo "  $LABS_DIR/teardown.sh --name $LAB_NAME$([ "$LAB_REAL_HOST" = 1 ] && echo ' --real-host')"
        return 0
    fi
    if [ "$status" != 0 ]; then
        echo "lab: $(msg lib.stopped "$(cat "$LAB_RUN/step" 2>/dev/null || echo 0)" "$status")" >&2
    fi
    lab_teardown
    trap - INT TERM
    return "$status"
}

# shellcheck shell=bash
# shellcheck disable=SC2034  # names set here are used by the benches that source it
# labs/measure/lib.sh - what the newer benches in labs/measure/ share: the
# scratch directory and its cleanup, medians and spreads, A/B interleaving,
# a table printer, a terminal bar chart, the machine's description and load,
# the probe helper (probe.c), and the "cannot run here" skip.
#
# A bench sources this file, then calls bench_init NAME, which makes $WORK
# and sets the EXIT trap; it registers what it makes with bench_on_exit CMD
# (run newest first at exit, also on Ctrl-C or an error).  It prints its
# figures with table/bar_chart and says why it cannot run with bench_skip.
#
# Exit status of a bench: 0 measured (whether or not a target held: a bench
# reports, it does not assert), 1 failed, 2 bad usage, 77 skipped (cannot
# run here: the reason is printed; the automake convention).

MEASURE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TUNA_ROOT=$(cd "$MEASURE_DIR/../.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
BAR_WIDTH=40              # characters for the longest bar
SKIP_STATUS=77
BENCH_NAME=bench
BENCH_EXITS=()
WORK=

# --- start, skip, clean up ------------------------------------------------------

# bench_init NAME: $WORK is a fresh scratch directory under /var/tmp (not a
# tmpfs: the file-system benches need a real one); the EXIT trap cleans up.
bench_init() {
    BENCH_NAME=$1
    WORK=$(mktemp -d "/var/tmp/tuna-$BENCH_NAME.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# bench_on_exit CMD [ARGS...]: run at exit, newest first; errors ignored.
bench_on_exit() {
    BENCH_EXITS+=("$(printf '%q ' "$@")")
}

# shellcheck disable=SC2317  # called by the trap
bench_cleanup() {
    local i
    for ((i = ${#BENCH_EXITS[@]} - 1; i >= 0; i--)); do
        eval "${BENCH_EXITS[$i]}" >/dev/null 2>&1 || true
    done
    BENCH_EXITS=()
    [ -z "$WORK" ] || rm -rf "$WORK"
}

# bench_skip REASON: this bench cannot run here; say why, exit 77.
bench_skip() {
    echo "$BENCH_NAME: cannot run here: $1"
    exit "$SKIP_STATUS"
}

bench_usage_error() {
    echo "$BENCH_NAME: $1" >&2
    exit 2
}

# bench_help FILE: print FILE's header comment (from line 2 to `set -eu`).
bench_help() {
    sed -n '2,/^set -eu/p' "$1" | sed 's/^# \{0,1\}//; /^set -eu/d'
    exit 0
}

# need_number NAME VALUE MIN: VALUE must be a whole number >= MIN.
need_number() {
    case "$2" in '' | *[!0-9]*) bench_usage_error "$1 '$2': not a number" ;; esac
    [ "$2" -ge "$3" ] || bench_usage_error "$1 $2: at least $3 needed"
}

need_root() {
    [ "$(id -u)" = 0 ] || bench_skip "needs root ($1)"
}

# need_tool PROGRAM [PACKAGE]: skip unless PROGRAM is installed.
need_tool() {
    command -v "$1" >/dev/null 2>&1 || bench_skip "needs $1 (apt-get install ${2:-$1})"
}

# need_tuna NN-name: skip unless the step's binary is built.
need_tuna() {
    [ -x "$TUNA_BIN/$1" ] || bench_skip "build it first: make bin/$1"
}

# build_probe: compile probe.c into $WORK/probe (the C compiler of make deps).
build_probe() {
    need_tool cc build-essential
    cc -O2 -Wall -Wextra -Werror -o "$WORK/probe" "$MEASURE_DIR/probe.c" ||
        bench_skip "probe.c does not compile here"
    PROBE=$WORK/probe
}

# --- the machine ------------------------------------------------------------------

# load_now: the 1-minute load average (other engineers share these CPUs).
load_now() {
    cut -d' ' -f1 /proc/loadavg
}

# machine_line: one line saying where and under what load a figure was taken.
machine_line() {
    echo "machine: $(nproc) CPUs, $(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' \
        /proc/meminfo) RAM, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# --- figures ----------------------------------------------------------------------

# now_us: microseconds from bash's own clock (no process started to read it).
now_us() {
    local t=${EPOCHREALTIME/./}
    echo "$((10#$t))"
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
    sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
        else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread FILE: "MIN-MAX" of the numbers in FILE.
spread() {
    sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%g-%g", lo, hi }'
}

# calc EXPRESSION: awk arithmetic, printed with printf's %.Nf given as $2.
calc() {
    awk "BEGIN { printf \"%.${2:-2}f\", $1 }"
}

# interleave RUNS NAME FUNCTION [NAME FUNCTION]...: run each FUNCTION RUNS
# times, one of each per round and the order rotated every round, so load
# from elsewhere and caches hit every contender alike.  FUNCTION prints one
# figure (a time, a share); it goes to $WORK/figures.NAME, one per run.
interleave() {
    local runs=$1 round i j count names=() functions=()
    shift
    while [ $# -gt 0 ]; do names+=("$1"); functions+=("$2"); shift 2; done
    count=${#names[@]}
    for ((i = 0; i < count; i++)); do : >"$WORK/figures.${names[$i]}"; done
    for ((round = 0; round < runs; round++)); do
        for ((j = 0; j < count; j++)); do
            i=$(((j + round) % count))
            "${functions[$i]}" >>"$WORK/figures.${names[$i]}"
        done
    done
}

# --- runs of whole commands (cgroup-bench, start-bench, net-bench) ---------------
# These benches take one option, --runs N, report exit 1 where they cannot
# run, and time each command as one integer of microseconds.

# runs_option NAME ARGS...: --runs N (a whole number >= MIN_RUNS) and
# -h/--help; sets RUNS.  Bad usage: the reason, exit 2.
runs_option() {
    local name=$1
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --runs)
            [ $# -ge 2 ] || { echo "$name: --runs needs a number" >&2; exit 2; }
            RUNS=$2
            shift
            ;;
        -h | --help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//; /^set -eu/d'; exit 0 ;;
        *) echo "$name: unknown option '$1'" >&2; exit 2 ;;
        esac
        shift
    done
    case "$RUNS" in '' | *[!0-9]*) echo "$name: --runs '$RUNS': not a number" >&2; exit 2 ;; esac
    if [ "$RUNS" -lt "$MIN_RUNS" ]; then
        echo "$name: --runs $RUNS: a median needs at least $MIN_RUNS runs" >&2
        exit 2
    fi
}

# median_us FILE: the median of the whole numbers in FILE, one a line, as a
# whole number (the mean of the middle two, rounded down, for an even count).
median_us() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

# time_once CMD: one timed run of the shell command CMD, its wall time in
# microseconds from bash's $EPOCHREALTIME (no fork for the clock itself).
# CMD runs in a forked subshell that execs it, as hyperfine -N would.
time_once() {
    local start end
    start=${EPOCHREALTIME/./}
    (eval "$1") >/dev/null 2>&1 || return 1
    end=${EPOCHREALTIME/./}
    echo $((end - start))
}

# time_rounds WARMUP RUNS: the commands COMMANDS[i] (named NAMES[i]) one
# after the other in each round, WARMUP rounds untimed, then RUNS timed into
# $WORK/times.NAME; a failed run is said and left out.
# shellcheck disable=SC2153  # NAMES and COMMANDS are the bench's
time_rounds() {
    local warmup=$1 runs=$2 r i t
    for ((r = 0; r < warmup; r++)); do
        for i in "${!NAMES[@]}"; do time_once "${COMMANDS[$i]}" >/dev/null || true; done
    done
    for ((r = 0; r < runs; r++)); do
        for i in "${!NAMES[@]}"; do
            t=$(time_once "${COMMANDS[$i]}") || { echo "${NAMES[$i]}: run $r failed" >&2; continue; }
            echo "$t" >>"$WORK/times.${NAMES[$i]}"
        done
    done
}

# --- printing -----------------------------------------------------------------------

# table TITLE: print the tab-separated lines on stdin as aligned columns,
# the first line as the header, numbers right-aligned.
table() {
    echo
    echo "$1"
    awk -F'\t' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i
                    if (length($i) > w[i]) w[i] = length($i) }
                  if (NF > cols) cols = NF }
        END { for (r = 1; r <= NR; r++) { line = " "
                for (i = 1; i <= cols; i++) {
                    c = cell[r, i]
                    if (c ~ /^[-+0-9.]+[%x]?$/ && r > 1) line = line sprintf(" %*s", w[i], c)
                    else line = line sprintf(" %-*s", w[i], c) }
                sub(/ +$/, "", line); print line
                if (r == 1) { rule = line; gsub(/./, "-", rule); print "  " substr(rule, 3) } } }'
}

# bar_chart TITLE UNIT: "LABEL<TAB>VALUE" lines on stdin as horizontal bars,
# scaled so the largest value fills BAR_WIDTH characters.
bar_chart() {
    echo
    echo "$1"
    awk -F'\t' -v width="$BAR_WIDTH" -v unit="$2" '
        { label[NR] = $1; text[NR] = $2; value[NR] = $2 + 0; if (value[NR] > max) max = value[NR]
          if (length($1) > lw) lw = length($1) }
        END { for (r = 1; r <= NR; r++) {
                n = max > 0 ? int(value[r] / max * width + 0.5) : 0
                if (n == 0 && value[r] > 0) n = 1
                bar = ""; for (i = 0; i < n; i++) bar = bar "#"
                printf "  %-*s |%-*s %s %s\n", lw, label[r], width, bar, text[r], unit } }'
}

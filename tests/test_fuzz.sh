#!/usr/bin/env bash
# tests/test_fuzz.sh - every libFuzzer harness in tests/fuzz/ builds and
# runs for a few seconds from its kept corpus without a finding: each
# parser of common/parse.h, the netlink reply parser of common/nl.c, and
# the message decoder --explain prints with (common/nl_decode.c).
# The long runs are `make fuzz` (FUZZ_SECONDS, default 60 s each).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FUZZ_RUN=$TUNA_ROOT/tests/fuzz/run
FUZZ_OUT=$TUNA_ROOT/build/fuzz
# Seconds per harness here: enough for ~10^5..10^6 inputs, short for CI.
FUZZ_TEST_SECONDS=${FUZZ_TEST_SECONDS:-5}
# Fewer executions than this in FUZZ_TEST_SECONDS means it did not really run.
MIN_EXECS=10000

# require_libfuzzer: skip (with the reason) unless clang links -fsanitize=fuzzer.
# The package that holds the runtime differs by release: labs/deps.sh names
# it (libclang-rt-N-dev for clang N), or says why this release has none.
require_libfuzzer() {
    local runtime
    require_command clang || return 1
    [ "$LIBFUZZER_LINKS" = 1 ] && return 0
    if runtime=$("$TUNA_ROOT/labs/deps.sh" --fuzzer-runtime 2>&1); then
        skip_test "clang cannot link -fsanitize=fuzzer (Debian package $runtime; make check installs it)"
    else
        skip_test "clang cannot link -fsanitize=fuzzer: $runtime"
    fi
}

# fuzz_for NAME: run one harness; assert no finding and a real run.
fuzz_for() {
    require_libfuzzer || return 0
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$FUZZ_RUN" "$FUZZ_TEST_SECONDS" "$1"
    assertEquals "fuzz $1: $(cat "$TEST_TMP/out" "$TEST_TMP/err")" 0 "$RC"
    assertTrue "fuzz $1 reports its executions: $(cat "$TEST_TMP/out")" \
        "grep -Eq '^$1: [0-9]+ execs' '$TEST_TMP/out'"
    local execs
    execs=$(sed -n "s/^$1: \([0-9]*\) execs.*/\1/p" "$TEST_TMP/out")
    assertTrue "fuzz $1 ran ${execs:-0} inputs, want >= $MIN_EXECS" \
        "[ '${execs:-0}' -ge $MIN_EXECS ]"
    # libFuzzer's own summary: it read the kept corpus and finished.
    assertTrue "fuzz $1 started from its corpus" \
        "grep -q 'INITED' '$FUZZ_OUT/$1.log'"
    assertTrue "fuzz $1 finished cleanly" "grep -q '^Done [0-9]* runs' '$FUZZ_OUT/$1.log'"
}

# Once per suite: can clang link a fuzzer here?
LIBFUZZER_LINKS=0
suite_setup() {
    local dir
    command -v clang >/dev/null 2>&1 || return 0
    dir=$(mktemp -d /tmp/tuna-fuzz-probe.XXXXXX)
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);
          int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
        >"$dir/probe.c"
    clang -fsanitize=fuzzer -o "$dir/probe" "$dir/probe.c" >/dev/null 2>&1 && LIBFUZZER_LINKS=1
    rm -rf "$dir"
}

test_every_harness_has_a_kept_seed_corpus() {
    local name
    for name in size percent duration u64 int ipv4 cidr ifname pid nl nl_decode caps; do
        assertTrue "tests/fuzz/corpus/$name has seeds" \
            "[ -n \"\$(ls -A '$TUNA_ROOT/tests/fuzz/corpus/$name' 2>/dev/null)\" ]"
    done
}

test_fuzz_parse_size() { fuzz_for size; }
test_fuzz_parse_percent() { fuzz_for percent; }
test_fuzz_parse_duration() { fuzz_for duration; }
test_fuzz_parse_u64() { fuzz_for u64; }
test_fuzz_parse_int() { fuzz_for int; }
test_fuzz_parse_ipv4() { fuzz_for ipv4; }
test_fuzz_parse_cidr() { fuzz_for cidr; }
test_fuzz_parse_ifname() { fuzz_for ifname; }
test_fuzz_parse_pid() { fuzz_for pid; }
test_fuzz_netlink_reply_parser() { fuzz_for nl; }
test_fuzz_netlink_message_decoder() { fuzz_for nl_decode; }
test_fuzz_harden_cap_names() { fuzz_for caps; }

# The nl harness is worth something only if it can see the bug class it is
# for: a datagram whose last message is not padded to 4 bytes (the old
# NLMSG_NEXT walk read past it).  The seed must be handled, not crash.
test_netlink_unpadded_tail_seed_is_parsed_within_bounds() {
    require_libfuzzer || return 0
    [ -x "$FUZZ_OUT/nl" ] || "$FUZZ_RUN" 1 nl >/dev/null 2>&1
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
        "$FUZZ_OUT/nl" "$TUNA_ROOT/tests/fuzz/corpus/nl/unpadded-tail"
    assertEquals "nl harness on the unpadded seed: $(tail -5 "$TEST_TMP/err")" 0 "$RC"
    assertFalse "no sanitizer report" "grep -q 'ERROR: AddressSanitizer' '$TEST_TMP/err'"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

#!/usr/bin/env bash
# tests/test_build.sh - what every step's binary promises, whatever the step:
# built from its folder, static, small enough to copy into an image, with
# --help, --version, and exit status 2 for an option it does not know.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

MAX_BYTES=$((1024 * 1024))

# steps: the names of every steps/NN-name folder.
steps() {
    local d
    for d in "$TUNA_ROOT"/steps/[0-9][0-9]-*/; do basename "$d"; done
}

test_every_step_folder_has_a_binary() {
    local s
    for s in $(steps); do
        assertTrue "bin for $s (run make)" "[ -x '$TUNA_BIN/$s' ]"
    done
}

test_binaries_are_static_and_under_1_mib() {
    local s size
    # The sanitizer build is dynamic by necessity (ASan cannot link statically).
    case "$TUNA_BIN" in *sanitize*) return 0 ;; esac
    for s in $(steps); do
        # A static executable has no program interpreter (PT_INTERP).
        assertFalse "$s has an ELF interpreter, so it is not static" \
            "LC_ALL=C readelf -lW '$TUNA_BIN/$s' | grep -q 'INTERP'"
        size=$(stat -c %s "$TUNA_BIN/$s")
        assertTrue "$s is $size bytes (limit $MAX_BYTES)" "[ $size -lt $MAX_BYTES ]"
    done
}

test_help_and_version_exit_0() {
    local s
    for s in $(steps); do
        run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TUNA_BIN/$s" --help
        assertEquals "$s --help exit status" 0 "$RC"
        assertTrue "$s --help prints Usage on stdout" "grep -q '^Usage: ' '$TEST_TMP/out'"
        run_capture "$TEST_TMP/out" "$TEST_TMP/err" "$TUNA_BIN/$s" --version
        assertEquals "$s --version exit status" 0 "$RC"
        assertEquals "$s --version" "$s (tuna)" "$(cut -d' ' -f1,2 "$TEST_TMP/out")"
    done
}

test_unknown_option_exits_2_with_one_line() {
    local s
    for s in $(steps); do
        assert_one_line_failure 2 "$TUNA_BIN/$s" --no-such-option
    done
}

# shellcheck disable=SC1090
. "$SHUNIT2"

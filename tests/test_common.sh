#!/usr/bin/env bash
# tests/test_common.sh - libtuna's parsers: every kind of bad input refused,
# every documented form accepted with the right value.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

PROBE=${TUNA_PARSE_PROBE:-$TUNA_ROOT/build/unit/parse-probe}

# expect KIND INPUT OUTPUT: the parser prints OUTPUT (a value, or EINVAL /
# ERANGE for a refusal).
expect() {
    local got
    got=$("$PROBE" "$1" "$2" 2>&1)
    assertEquals "parse $1 '$2'" "$3" "$got"
}

before_each() {
    [ -x "$PROBE" ] || fail "$PROBE missing: run make build/unit/parse-probe"
}

test_size_accepts_bytes_and_binary_suffixes() {
    expect size 4096 4096
    expect size 0 0
    expect size 200K 204800
    expect size 200M 209715200
    expect size 200m 209715200
    expect size 1G 1073741824
    expect size 2T 2199023255552
    expect size 200MB 209715200
    expect size 200MiB 209715200
    expect size 18446744073709551615 18446744073709551615
}

test_size_refuses_junk_sign_space_and_overflow() {
    expect size '' EINVAL
    expect size M EINVAL
    expect size 12Q EINVAL
    expect size 10MM EINVAL
    expect size -5 EINVAL
    expect size +5 EINVAL
    expect size ' 5' EINVAL
    expect size '5 ' EINVAL
    expect size 0x10 EINVAL
    expect size 1.5G EINVAL
    expect size 18446744073709551616 ERANGE
    expect size 17179869184G ERANGE
    expect size 99999999999999999999999 ERANGE
}

test_percent_needs_the_sign_and_keeps_three_decimals() {
    expect percent 20% 20000
    expect percent 150% 150000
    expect percent 12.5% 12500
    expect percent 0.001% 1
    expect percent 0% 0
    expect percent 20 EINVAL
    expect percent '' EINVAL
    expect percent % EINVAL
    expect percent abc EINVAL
    expect percent -20% EINVAL
    expect percent 1.2345% EINVAL
    expect percent 20.% EINVAL
    expect percent '20% ' EINVAL
    expect percent 99999999999999999999% ERANGE
}

test_duration_takes_stress_units_and_bare_seconds() {
    expect duration 10 10000
    expect duration 10s 10000
    expect duration 500ms 500
    expect duration 2m 120000
    expect duration 1h 3600000
    expect duration 1d 86400000
    expect duration '' EINVAL
    expect duration abc EINVAL
    expect duration 10x EINVAL
    expect duration -1s EINVAL
    expect duration 1.5s EINVAL
    expect duration 99999999999999999999 ERANGE
    expect duration 999999999999999999d ERANGE
}

test_integers_refuse_junk_and_overflow() {
    expect u64 0 0
    expect u64 18446744073709551615 18446744073709551615
    expect u64 18446744073709551616 ERANGE
    expect u64 '' EINVAL
    expect u64 12a EINVAL
    expect u64 -1 EINVAL
    expect int -5 -5
    expect int 1000 1000
    expect int 1001 ERANGE
    expect int -1001 ERANGE
    expect int - EINVAL
    expect int 0x EINVAL
    expect int 99999999999 ERANGE
}

test_ipv4_and_cidr_are_strict_dotted_quads() {
    expect ipv4 172.17.0.1 172.17.0.1/32
    expect ipv4 0.0.0.0 0.0.0.0/32
    expect cidr 172.17.0.2/16 '172.17.0.2/16 host-bits'
    expect cidr 172.17.0.0/16 172.17.0.0/16
    expect cidr 10.0.0.0/8 10.0.0.0/8
    expect cidr 198.51.100.53/32 198.51.100.53/32
    expect cidr 0.0.0.0/0 0.0.0.0/0
    expect ipv4 '' EINVAL
    expect ipv4 256.1.1.1 EINVAL
    expect ipv4 1.2.3 EINVAL
    expect ipv4 1.2.3.4.5 EINVAL
    expect ipv4 010.1.1.1 EINVAL
    expect ipv4 '1.2.3.4 ' EINVAL
    expect cidr 172.17.0.2 EINVAL
    expect cidr 172.17.0.2/33 EINVAL
    expect cidr 172.17.0.2/ EINVAL
    expect cidr 172.17.0.2/016 EINVAL
    expect cidr 172.17.0.2/-1 EINVAL
    expect cidr /16 EINVAL
}

test_ifname_fits_ifnamsiz_and_the_kernel_rules() {
    expect ifname eth0 eth0
    expect ifname 0123456789abcde 0123456789abcde
    expect ifname 0123456789abcdef ERANGE
    expect ifname '' EINVAL
    expect ifname . EINVAL
    expect ifname .. EINVAL
    expect ifname a/b EINVAL
    expect ifname a:b EINVAL
    expect ifname 'a b' EINVAL
}

test_pid_is_positive_and_below_pid_max_limit() {
    expect pid 1 1
    expect pid 4194304 4194304
    expect pid 4194305 ERANGE
    expect pid 0 ERANGE
    expect pid -1 EINVAL
    expect pid '' EINVAL
    expect pid 12x EINVAL
}

# shellcheck disable=SC1090
. "$SHUNIT2"

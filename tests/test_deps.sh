#!/usr/bin/env bash
# tests/test_deps.sh - labs/deps.sh asks for what each set needs on this kind
# of machine, and never lets apt remove or downgrade an installed package.
#
# Nothing is installed: labs/deps.sh runs with a PATH of this suite's own,
# where apt-get, apt-cache, dpkg-query, modinfo, id (and clang, where a case
# wants one) are stubs that answer from files in $TEST_TMP/state and write
# every apt-get call to $TEST_TMP/state/apt-get.log.  TUNA_DEPS_SYSROOT points
# the OpenZFS probes (/dev/zfs, /sys/module/zfs) at $TEST_TMP/root.  Needs no
# root and no lock.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEPS=$TUNA_ROOT/labs/deps.sh
# What the real tools in the stub PATH are (the script and the stubs use them).
REAL_TOOLS="sed awk grep head tail cat sort dpkg"
# Packages only the tests and benchmarks run: none may be in the lab set.
TEST_ONLY="qemu-system-x86 clang valgrind crun hyperfine bubblewrap cgroup-tools strace
cpio xz-utils zstd mmdebstrap"

STATE=''
STUBS=''
SYSROOT=''

# --- the stubs -----------------------------------------------------------------

# stub NAME BODY: a /bin/sh script NAME on the suite's PATH.
stub() {
    printf '#!/bin/sh\nS=%q\n%s\n' "$STATE" "$2" >"$STUBS/$1"
    chmod +x "$STUBS/$1"
}

# shellcheck disable=SC2016  # the stubs' bodies expand when they run
before_each() {
    local t
    STATE=$TEST_TMP/state STUBS=$TEST_TMP/bin SYSROOT=$TEST_TMP/root
    mkdir -p "$STATE" "$STUBS" "$SYSROOT/dev" "$SYSROOT/sys/module"
    for t in $REAL_TOOLS; do ln -s "$(command -v "$t")" "$STUBS/$t"; done
    : >"$STATE/installed"       # one package a line
    : >"$STATE/unavailable"     # packages apt has no candidate for
    : >"$STATE/apt-get.log"
    echo 0 >"$STATE/uid"
    echo 'clang-14 (>= 14~)' >"$STATE/clang-depends"

    # apt-get: -s prints the plan (state/plan, else an Inst line per package);
    # anything else is recorded and succeeds.
    stub apt-get '
echo "$*" >>"$S/apt-get.log"
case " $* " in
*" -s "*)
    if [ -f "$S/plan" ]; then cat "$S/plan"; exit 0; fi
    for a in "$@"; do
        case $a in -*|install) ;; *) echo "Inst $a (1.0 Stub:1/stable [amd64])" ;; esac
    done ;;
esac
exit 0'
    stub apt-cache '
case $1 in
policy)
    shift
    for p in "$@"; do
        grep -qx "$p" "$S/unavailable" && continue
        printf "%s:\n  Installed: (none)\n  Candidate: 1.0\n" "$p"
    done ;;
show)
    printf "Package: clang\nDepends: %s\n" "$(cat "$S/clang-depends")" ;;
esac
exit 0'
    stub dpkg-query '
for p in "$@"; do :; done
if grep -qx "$p" "$S/installed"; then printf "install ok installed"; exit 0; fi
echo "dpkg-query: no packages found matching $p" >&2
exit 1'
    stub modinfo '
[ -f "$S/modinfo-zfs" ] && { echo "filename: /lib/modules/zfs.ko"; exit 0; }
echo "modinfo: ERROR: Module $1 not found." >&2
exit 1'
    stub id '[ "$1" = -u ] && cat "$S/uid"'
}

# with_clang MAJOR: an installed clang of that version.
with_clang() {
    stub clang "[ \"\$1\" = --version ] && echo 'Ubuntu clang version $1.0.0-1ubuntu1'"
}

# deps ARGS...: labs/deps.sh on the stub PATH; sets RC, $TEST_TMP/out, err.
deps() {
    run_capture "$TEST_TMP/out" "$TEST_TMP/err" \
        env PATH="$STUBS" TUNA_DEPS_SYSROOT="$SYSROOT" "$BASH" "$DEPS" "$@"
}

# list SET: the packages deps --list SET prints.
list() {
    env PATH="$STUBS" TUNA_DEPS_SYSROOT="$SYSROOT" "$BASH" "$DEPS" --list "$1" 2>/dev/null
}

# installed_all_but PACKAGE...: dpkg reports every package of the check set
# installed, except these.
installed_all_but() {
    local p
    list check >"$TEST_TMP/all"
    for p in "$@"; do sed -i "/^$p\$/d" "$TEST_TMP/all"; done
    cat "$TEST_TMP/all" >>"$STATE/installed"
}

# real_installs: the apt-get calls that would have changed the machine.
real_installs() {
    grep -E '(^| )install( |$)' "$STATE/apt-get.log" | grep -vE '(^| )-s( |$)' || true
}

assert_in_list() {
    assertTrue "$2 in the $1 set: $(list "$1" | tr '\n' ' ')" "list $1 | grep -qx '$2'"
}

assert_not_in_list() {
    assertFalse "$2 not in the $1 set: $(list "$1" | tr '\n' ' ')" "list $1 | grep -qx '$2'"
}

# --- ZFS -----------------------------------------------------------------------

test_zfsutils_linux_installed_means_no_zfs_fuse() {
    echo zfsutils-linux >>"$STATE/installed"
    assert_not_in_list lab zfs-fuse
    assert_not_in_list check zfs-fuse
    # And the install that follows never names it.
    deps lab
    assertEquals "deps lab: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertNotEquals "something was installed" "" "$(real_installs)"
    assertFalse "apt-get never asked for zfs-fuse" "grep -q zfs-fuse '$STATE/apt-get.log'"
    assertFalse "nor for zfsutils-linux again" "real_installs | grep -q zfsutils-linux"
}

test_dev_zfs_present_means_no_zfs_fuse() {
    touch "$SYSROOT/dev/zfs"
    assert_not_in_list lab zfs-fuse
    assert_not_in_list check zfs-fuse
    # OpenZFS in the kernel, its tools missing: those are what the lab needs.
    assert_in_list lab zfsutils-linux
}

test_zfs_module_loaded_or_available_means_no_zfs_fuse() {
    mkdir "$SYSROOT/sys/module/zfs"
    assert_not_in_list lab zfs-fuse
    rmdir "$SYSROOT/sys/module/zfs"
    touch "$STATE/modinfo-zfs"
    assert_not_in_list lab zfs-fuse
    assert_in_list lab zfsutils-linux
}

test_openzfs_without_its_tools_to_install_asks_for_nothing_and_says_why() {
    touch "$SYSROOT/dev/zfs"
    echo zfsutils-linux >>"$STATE/unavailable"
    assert_not_in_list lab zfs-fuse
    assert_not_in_list lab zfsutils-linux
    deps --list lab
    assertTrue "the note says where the tools are: $(cat "$TEST_TMP/err")" \
        "grep -q 'no zfsutils-linux (Debian: enable the contrib component)' '$TEST_TMP/err'"
}

test_openzfs_beside_an_installed_zfs_fuse_replaces_nothing() {
    touch "$STATE/modinfo-zfs"
    echo zfs-fuse >>"$STATE/installed"
    assert_not_in_list lab zfsutils-linux
}

test_no_openzfs_means_zfs_fuse() {
    assert_in_list lab zfs-fuse
    assert_not_in_list lab zfsutils-linux
    installed_all_but zfs-fuse
    deps lab
    assertEquals "deps lab: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertTrue "zfs-fuse installed: $(real_installs)" "real_installs | grep -qw zfs-fuse"
}

# --- apt's plan ------------------------------------------------------------------

test_a_plan_that_removes_a_package_installs_nothing_and_names_it() {
    installed_all_but busybox-static
    echo busybox >>"$STATE/installed"
    printf '%s\n' 'Remv busybox [1:1.35.0-4+b1]' \
        'Inst busybox-static (1:1.35.0-4+b1 Debian:12/stable [amd64])' >"$STATE/plan"
    deps check
    assertEquals "exit status" 1 "$RC"
    assertTrue "the plan was asked for" "grep -q -- '-s .*install' '$STATE/apt-get.log'"
    assertEquals "no real install" "" "$(real_installs)"
    assertTrue "names the package it would remove: $(cat "$TEST_TMP/err")" \
        "grep -q 'busybox (1:1.35.0-4+b1) would be removed' '$TEST_TMP/err'"
    assertTrue "and what to do instead" "grep -q 'apt-get install busybox-static yourself' '$TEST_TMP/err'"
}

test_a_plan_that_removes_openzfs_says_keep_it() {
    installed_all_but stress
    printf '%s\n' 'Remv zfsutils-linux [2.1.11-1]' 'Remv zfs-zed [2.1.11-1]' \
        'Inst stress (1.0.7-1 Debian:12/stable [amd64])' >"$STATE/plan"
    deps lab
    assertEquals "exit status" 1 "$RC"
    assertEquals "no real install" "" "$(real_installs)"
    assertTrue "names zfsutils-linux: $(cat "$TEST_TMP/err")" \
        "grep -q 'zfsutils-linux (2.1.11-1) would be removed: OpenZFS: keep it' '$TEST_TMP/err'"
    assertTrue "names zfs-zed" "grep -q 'zfs-zed (2.1.11-1) would be removed' '$TEST_TMP/err'"
    assertTrue "says tuna does not need zfs-fuse" "grep -q 'does not need zfs-fuse' '$TEST_TMP/err'"
}

test_a_plan_that_downgrades_a_package_installs_nothing() {
    installed_all_but jq
    printf '%s\n' 'Inst libjq1 [1.7.1-3] (1.6-2.1 Debian:12/stable [amd64])' \
        'Inst jq (1.6-2.1 Debian:12/stable [amd64])' >"$STATE/plan"
    deps lab
    assertEquals "exit status" 1 "$RC"
    assertEquals "no real install" "" "$(real_installs)"
    assertTrue "names the downgrade: $(cat "$TEST_TMP/err")" \
        "grep -q 'libjq1 would be downgraded from 1.7.1-3 to 1.6-2.1' '$TEST_TMP/err'"
}

test_a_plan_that_upgrades_a_dependency_goes_ahead() {
    installed_all_but jq
    printf '%s\n' 'Inst libjq1 [1.6-2.1] (1.6-2.1+deb12u1 Debian:12/stable [amd64])' \
        'Inst jq (1.6-2.1+deb12u1 Debian:12/stable [amd64])' >"$STATE/plan"
    deps lab
    assertEquals "exit status: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertTrue "installed jq: $(real_installs)" "real_installs | grep -qw jq"
}

test_the_install_asks_only_for_what_is_missing_and_never_removes() {
    installed_all_but jq stress
    deps lab
    assertEquals "exit status: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertEquals "one real install" 1 "$(real_installs | wc -l)"
    assertEquals "of exactly the missing packages" \
        "install -y -q --no-install-recommends --no-remove jq stress" "$(real_installs)"
}

test_nothing_missing_calls_no_apt_get() {
    installed_all_but
    deps check
    assertEquals "exit status: $(cat "$TEST_TMP/err")" 0 "$RC"
    assertEquals "no apt-get call" "" "$(cat "$STATE/apt-get.log")"
}

test_missing_lists_are_updated_before_the_plan() {
    installed_all_but jq
    echo jq >>"$STATE/unavailable"
    deps lab
    assertEquals "first call: apt-get update" "update" "$(head -n 1 "$STATE/apt-get.log")"
}

test_non_root_prints_the_apt_get_line_and_installs_nothing() {
    echo 1000 >"$STATE/uid"
    installed_all_but jq stress
    deps lab
    assertEquals "exit status" 1 "$RC"
    assertEquals "no real install" "" "$(real_installs)"
    assertFalse "no apt-get update" "grep -qx update '$STATE/apt-get.log'"
    assertTrue "the line to run: $(cat "$TEST_TMP/out")" \
        "grep -qx '  apt-get install --no-install-recommends jq stress' '$TEST_TMP/out'"
}

# --- the sets ----------------------------------------------------------------------

test_lab_set_holds_no_test_only_package() {
    local p only
    with_clang 14
    list lab >"$TEST_TMP/lab"
    list check >"$TEST_TMP/check"
    while read -r p; do
        assertTrue "$p of the lab set is in the check set" "grep -qx '$p' '$TEST_TMP/check'"
    done <"$TEST_TMP/lab"
    for p in $TEST_ONLY; do
        assertTrue "$p is in the check set" "grep -qx '$p' '$TEST_TMP/check'"
        assertFalse "$p is not in the lab set" "grep -qx '$p' '$TEST_TMP/lab'"
    done
    only=$(grep -vxF -f "$TEST_TMP/lab" "$TEST_TMP/check" | tr '\n' ' ')
    assertContains "check adds the fuzzer runtime ($only)" "$only" "libclang-rt-14-dev"
    assertTrue "the lab set is well under the check set ($(wc -l <"$TEST_TMP/lab") lines)" \
        "[ $(wc -l <"$TEST_TMP/lab") -lt 20 ]"
}

test_lab_keeps_an_installed_dynamic_busybox_check_wants_the_static_one() {
    assert_in_list lab busybox-static
    echo busybox >>"$STATE/installed"
    assert_in_list lab busybox
    assert_not_in_list lab busybox-static
    assert_in_list check busybox-static
}

test_list_prints_one_package_per_line_and_installs_nothing() {
    local set
    for set in lab check; do
        deps --list "$set"
        assertEquals "--list $set exit status" 0 "$RC"
        assertEquals "--list $set: only package names, one a line" "" \
            "$(grep -vxE '[a-z0-9][a-z0-9.+-]+' "$TEST_TMP/out")"
        assertEquals "--list $set: no name twice" "" "$(sort "$TEST_TMP/out" | uniq -d)"
        assertTrue "--list $set prints something" "[ -s '$TEST_TMP/out' ]"
    done
    assertEquals "no apt-get call at all" "" "$(cat "$STATE/apt-get.log")"
}

test_bad_argument_exits_2_with_one_line() {
    local args
    for args in bogus "--list" "--list tests" "lab extra" "--list lab check" "--fuzzer-runtime x"; do
        # shellcheck disable=SC2086  # the words of one command line
        deps $args
        assertEquals "deps $args: exit status" 2 "$RC"
        assertEquals "deps $args: one line ($(cat "$TEST_TMP/err"))" 1 "$(wc -l <"$TEST_TMP/err")"
        assertTrue "deps $args: says deps" "grep -q '^deps: ' '$TEST_TMP/err'"
        assertEquals "deps $args: nothing on stdout" "" "$(cat "$TEST_TMP/out")"
    done
    assertEquals "no apt-get call" "" "$(cat "$STATE/apt-get.log")"
}

# --- clang's fuzzer runtime -------------------------------------------------------------

test_fuzzer_runtime_follows_the_installed_clang() {
    with_clang 18
    deps --fuzzer-runtime
    assertEquals "exit status" 0 "$RC"
    assertEquals "clang 18's runtime" libclang-rt-18-dev "$(cat "$TEST_TMP/out")"
    assert_in_list check libclang-rt-18-dev
    assert_not_in_list check libclang-rt-14-dev
}

test_fuzzer_runtime_follows_the_clang_apt_would_install() {
    echo 'clang-19 (>= 19~)' >"$STATE/clang-depends"
    deps --fuzzer-runtime
    assertEquals "clang 19's runtime, from the clang package's Depends" \
        libclang-rt-19-dev "$(cat "$TEST_TMP/out")"
    assert_in_list check libclang-rt-19-dev
}

test_no_fuzzer_runtime_package_is_said_and_asked_for_nowhere() {
    with_clang 14
    echo libclang-rt-14-dev >>"$STATE/unavailable"
    deps --fuzzer-runtime
    assertEquals "exit status" 1 "$RC"
    assertTrue "says why: $(cat "$TEST_TMP/out")" \
        "grep -q 'clang 14 has no libclang-rt-14-dev on this release' '$TEST_TMP/out'"
    assert_not_in_list check libclang-rt-14-dev
    deps --list check
    assertTrue "--list check says so too: $(cat "$TEST_TMP/err")" \
        "grep -q 'no fuzzer runtime to install' '$TEST_TMP/err'"
}

# shellcheck disable=SC1090
. "$SHUNIT2"

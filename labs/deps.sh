#!/usr/bin/env bash
# labs/deps.sh - install what tuna needs, and never at the cost of what is
# already installed.
#
#   labs/deps.sh lab                what `make lab`, `make exercise` and the
#                                   per-step labs (labs/NN-*.sh) run
#   labs/deps.sh check              that, and what the tests and benchmarks run
#                                   (`make check`, `make sanitize`, `make deps`,
#                                   .ci/run); the default
#   labs/deps.sh --list lab|check   the same packages, one a line; installs nothing
#   labs/deps.sh --fuzzer-runtime   clang's libFuzzer runtime package on this
#                                   release, or (exit 1) why there is none
#
# On Debian and Ubuntu, as root, only the packages that are missing are
# installed, and only after apt has shown its plan (apt-get -s): when the plan
# would remove, downgrade or replace an installed package, nothing is
# installed, and the message names each such package and what to do instead.
# Without root: the same plan check, then the apt-get line to run as root.
# Elsewhere: the list, for the system's own package manager.
#
# Two choices depend on the machine:
# - ZFS.  Where OpenZFS is present (/dev/zfs, the zfs module loaded or
#   available to modprobe, or zfsutils-linux installed), tuna uses it: never
#   zfs-fuse, which zfsutils-linux declares a conflict with.  Its tools
#   (zfsutils-linux) are asked for only when they are missing and zfs-fuse is
#   not installed.  Only where there is no OpenZFS at all: zfs-fuse.
# - busybox.  The labs take Debian's dynamic busybox where it is installed
#   (initramfs-tools brings it, and busybox-static would replace it); the
#   tests need busybox-static.
#
# Exit status: 0 nothing missing, or installed; 1 not installed (not root,
# apt's plan removes or downgrades something, apt failed); 2 bad usage.
#
# For tests only (tests/test_deps.sh): TUNA_DEPS_SYSROOT=DIR makes the OpenZFS
# probes look at DIR/dev/zfs and DIR/sys/module/zfs instead of the machine's.
#
# Package names: every name below exists in Debian 12 (apt-cache policy
# against bookworm's lists).  Those that differ by release were checked in the
# Debian and Ubuntu archives' package pages for Debian 13, Ubuntu 22.04 and
# 24.04: zfs-fuse (all four; universe on Ubuntu), hyperfine (all four), and
# clang's fuzzer runtime, which is libclang-rt-N-dev for clang N on Debian 12
# (14), Debian 13 (19) and Ubuntu 24.04 (18), while Ubuntu 22.04 has no such
# package (its clang-14 carries the runtime in libclang-common-14-dev): hence
# fuzzer_runtime below, which derives the name and never hard-codes it.
set -eu

SYSROOT=${TUNA_DEPS_SYSROOT:-}

# What the labs and exercises run, each with what runs it.
LAB_PACKAGES=(
    build-essential  # gcc, make, libc6-dev: `make` builds the static tools
    linux-libc-dev   # <linux/*.h>: the kernel's UAPI headers the tools include
    shunit2          # labs/exercises/*: each checker is a shunit2 script
    iproute2         # ip: labs/lib.sh's host and uplink namespaces, exercise 05; into the image
    nftables         # nft -j: the masquerade counter in labs/all.sh, labs/06-nat.sh, exercise 06
    iptables         # the post's NAT command, in exercise 06's task
    btrfs-progs      # mkfs.btrfs for 03-zfs-image --backend btrfs; btrfs for exercise 03
    e2fsprogs        # mkfs.ext4: 03-zfs-image --backend devicemapper, the inode-limit lab step;
                     # labs/measure/cow-write-bench.sh, inodes-bench.sh, tests/test_08_harden.sh
    xfsprogs         # mkfs.xfs, xfs_quota: 03-zfs-image pool create --fs xfs (overlay's quota);
                     # labs/measure/kernel-features.sh
    dmsetup          # dmsetup ls/status: what 03-zfs-image --backend devicemapper made
    jq               # the labs and exercises read --json, ip -j and nft -j
    util-linux       # nsenter, unshare, pivot_root, lsblk: labs/lib.sh, exercises 02, 04, 05
    mount            # mount, umount, losetup: labs/04-pivot.sh, exercise 03; into the image
    iputils-ping     # ping, as the post runs it: labs/all.sh, labs/05-veth.sh, labs/06-nat.sh
    procps           # ps, pgrep, sysctl: labs/lib.sh, labs/07-stress.sh, exercise 06; ps into the image
    kmod             # modprobe: the kernel runs it to load btrfs, overlay, veth, nf_tables
    stress           # the post's load tool: labs/07-stress.sh step 3, exercise 07's task
)
# busybox and ZFS: see lab_choices.

# What only the tests and benchmarks run.
CHECK_PACKAGES=(
    busybox-static   # tests/test_04_pivot.sh, test_08_harden.sh, test_security.sh, test_exercises.sh: one-binary roots
    cgroup-tools     # cgcreate, cgset: labs/measure/cgroup-bench.sh times the post's tools
    hyperfine        # labs/measure/cgroup-bench.sh: the medians
    bubblewrap       # bwrap: a peer in labs/measure/start-bench.sh
    crun             # an OCI runtime: a peer in labs/measure/start-bench.sh
    strace           # tests/test_faults.sh, test_08_harden.sh (no seccomp), labs/measure/cgroup-bench.sh
    qemu-system-x86  # tests/vm: Debian's kernel booted with only cgroup v2
    cpio             # tests/vm/build.sh: the initramfs
    xz-utils         # tests/vm/build.sh: kernel modules compressed as .ko.xz
    zstd             # tests/vm/build.sh: or as .ko.zst
    mmdebstrap       # the student VM: a stock Debian image made from Debian's packages
    clang            # tests/fuzz: the libFuzzer harnesses (make fuzz, tests/test_fuzz.sh)
    valgrind         # tests/test_valgrind.sh: memcheck on the tools' normal paths
)
# clang's fuzzer runtime: see fuzzer_runtime.

OPENZFS_PACKAGE=zfsutils-linux
ZFS_FUSE_PACKAGE=zfs-fuse

usage() {
    sed -n 's/^# \{0,1\}//; 5,12p' "$0"
}

usage_error() {
    echo "deps: $* (usage: labs/deps.sh lab|check | --list lab|check | --fuzzer-runtime)" >&2
    exit 2
}

note() {
    echo "deps: $*" >&2
}

# --- what apt and dpkg know --------------------------------------------------

have_apt() {
    command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 &&
        command -v apt-cache >/dev/null 2>&1
}

# installed PACKAGE: dpkg has it installed.
installed() {
    command -v dpkg-query >/dev/null 2>&1 || return 1
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# has_candidate PACKAGE: apt has a version of it to install.
has_candidate() {
    local candidate
    command -v apt-cache >/dev/null 2>&1 || return 1
    candidate=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

is_root() {
    [ "$(id -u)" = 0 ]
}

# --- the choices that depend on the machine ----------------------------------

# openzfs_evidence: prints why this machine has OpenZFS; fails if it has none.
openzfs_evidence() {
    if [ -e "$SYSROOT/dev/zfs" ]; then
        echo "/dev/zfs exists"
    elif [ -d "$SYSROOT/sys/module/zfs" ]; then
        echo "the zfs module is loaded"
    elif installed "$OPENZFS_PACKAGE"; then
        echo "$OPENZFS_PACKAGE is installed"
    elif command -v modinfo >/dev/null 2>&1 && modinfo zfs >/dev/null 2>&1; then
        echo "the kernel has a zfs module (modinfo zfs)"
    else
        return 1
    fi
}

# zfs_choice: the ZFS package the labs need here (none, one line), with a note
# on stderr where the choice needs explaining.
zfs_choice() {
    local why
    if ! why=$(openzfs_evidence); then
        echo "$ZFS_FUSE_PACKAGE"
        return 0
    fi
    if installed "$OPENZFS_PACKAGE"; then
        return 0
    elif installed "$ZFS_FUSE_PACKAGE"; then
        note "OpenZFS is here ($why) and so is zfs-fuse: both are left as they are" \
            "($OPENZFS_PACKAGE, OpenZFS's tools, would replace zfs-fuse)"
    elif has_candidate "$OPENZFS_PACKAGE"; then
        echo "$OPENZFS_PACKAGE"
    else
        note "OpenZFS is here ($why) but apt has no $OPENZFS_PACKAGE (Debian: enable" \
            "the contrib component); the labs use btrfs until zpool and zfs are installed"
    fi
}

# busybox_choice: busybox-static, or Debian's dynamic busybox where that is
# installed (03-zfs-image and labs/04-pivot.sh copy its libraries with it).
busybox_choice() {
    if installed busybox && ! installed busybox-static; then
        echo busybox
    else
        echo busybox-static
    fi
}

# clang_major: clang's major version: the installed clang's, else the one
# the clang package would install (its Depends: clang-N).
clang_major() {
    if command -v clang >/dev/null 2>&1; then
        clang --version 2>/dev/null |
            sed -n 's/.*clang version \([0-9][0-9]*\)\..*/\1/p' | head -n 1
    elif command -v apt-cache >/dev/null 2>&1; then
        apt-cache show --no-all-versions clang 2>/dev/null | grep '^Depends:' |
            grep -oE '(^|[ ,])clang-[0-9]+' | head -n 1 | sed 's/.*clang-//'
    fi
}

# fuzzer_runtime: prints the package that holds clang's libFuzzer runtime
# (libclang_rt.fuzzer), libclang-rt-N-dev for clang N; or, failing, why none.
fuzzer_runtime() {
    local major package
    major=$(clang_major)
    if [ -z "$major" ]; then
        echo "no clang is installed and apt has none to install"
        return 1
    fi
    package=libclang-rt-$major-dev
    if installed "$package" || has_candidate "$package"; then
        echo "$package"
        return 0
    fi
    echo "clang $major has no $package on this release (where it has a fuzzer" \
        "runtime, clang-$major brings it in libclang-common-$major-dev)"
    return 1
}

# resolve SET: PACKAGES gets what SET needs here, each name once.
resolve() {
    local runtime p
    local -a wanted
    local -A seen=()
    wanted=("${LAB_PACKAGES[@]}" "$(busybox_choice)")
    mapfile -t -O "${#wanted[@]}" wanted < <(zfs_choice)
    if [ "$1" = check ]; then
        wanted+=("${CHECK_PACKAGES[@]}")
        if runtime=$(fuzzer_runtime); then
            wanted+=("$runtime")
        else
            note "no fuzzer runtime to install: $runtime; tests/test_fuzz.sh says so when it cannot link"
        fi
    fi
    PACKAGES=()
    for p in "${wanted[@]}"; do
        [ -n "${seen[$p]:-}" ] && continue
        seen[$p]=1
        PACKAGES+=("$p")
    done
}

# --- apt's plan ----------------------------------------------------------------

# advice PACKAGE: what to do instead of letting apt remove PACKAGE.
advice() {
    case "$1" in
    zfsutils-linux | zfs-zed | zfs-dkms | zfs-initramfs | libzfs* | libzpool* | libnvpair* | libuutil*)
        echo "OpenZFS: keep it. tuna uses OpenZFS where it is installed and does not" \
            "need zfs-fuse; report this, deps should not have asked for what conflicts with it" ;;
    zfs-fuse)
        echo "the labs' ZFS here: keep it, or remove it yourself first if you mean" \
            "to switch to OpenZFS (apt-get install zfsutils-linux)" ;;
    busybox)
        echo "Debian's dynamic busybox. The tests need busybox-static, which replaces" \
            "it and serves initramfs-tools just as well: if that is fine, run" \
            "apt-get install busybox-static yourself, then this again" ;;
    *)
        echo "keep it: install the packages above by hand, leaving out the one that" \
            "conflicts with it (apt-cache show PACKAGE | grep -i conflicts)" ;;
    esac
}

# plan_is_safe PACKAGE...: ask apt what installing them would do.  Returns 0
# when it only installs (or upgrades); 1, with the message, when it would
# remove or downgrade something; 2 when apt cannot make a plan (PLAN_ERROR).
plan_is_safe() {
    local plan verb name old new refused=0
    PLAN_ERROR=''
    if ! plan=$(LC_ALL=C apt-get -s -q install --no-install-recommends "$@" 2>&1); then
        PLAN_ERROR=$(grep -E '^E:' <<<"$plan" | head -n 3)
        [ -n "$PLAN_ERROR" ] || PLAN_ERROR=$(tail -n 3 <<<"$plan")
        return 2
    fi
    # apt-get -s prints one line per action: "Remv NAME [VERSION]",
    # "Inst NAME [INSTALLED] (NEW ...)" for an upgrade or a downgrade.
    while read -r verb name old new _; do
        old=${old#[}
        old=${old%]}
        case "$verb" in
        Remv)
            [ "$refused" = 1 ] || note "nothing was installed: apt's plan for $* removes what is installed:"
            refused=1
            note "  $name ($old) would be removed: $(advice "$name")"
            ;;
        Inst)
            new=${new#(}
            if dpkg --compare-versions "$new" lt "$old" 2>/dev/null; then
                [ "$refused" = 1 ] || note "nothing was installed: apt's plan for $* changes what is installed:"
                refused=1
                note "  $name would be downgraded from $old to $new: keep it; install the" \
                    "packages above by hand, leaving out the one that needs the older $name"
            fi
            ;;
        esac
    done < <(grep -E '^(Remv [^ ]+|Inst [^ ]+ \[[^]]*\] \()' <<<"$plan")
    [ "$refused" = 0 ]
}

# --- installing ------------------------------------------------------------------

# missing_packages: MISSING gets those of PACKAGES that are not installed.
missing_packages() {
    local p
    MISSING=()
    for p in "${PACKAGES[@]}"; do
        installed "$p" || MISSING+=("$p")
    done
}

# lists_look_stale: a missing package apt has no version of: the package
# lists are absent (a fresh machine) or out of date.
lists_look_stale() {
    local p
    for p in "${MISSING[@]}"; do
        has_candidate "$p" || return 0
    done
    return 1
}

install_set() {
    local set=$1 updated=0 status
    resolve "$set"
    missing_packages
    [ ${#MISSING[@]} -gt 0 ] || return 0

    if ! is_root; then
        status=0
        plan_is_safe "${MISSING[@]}" || status=$?
        [ "$status" = 1 ] && exit 1
        echo "deps: $set needs packages that are not installed; run as root" \
            "(sudo labs/deps.sh $set), or install them:"
        echo "  apt-get install --no-install-recommends ${MISSING[*]}"
        exit 1
    fi

    export DEBIAN_FRONTEND=noninteractive
    if lists_look_stale; then
        apt-get update
        updated=1
        resolve "$set"
        missing_packages
        [ ${#MISSING[@]} -gt 0 ] || return 0
    fi
    while :; do
        status=0
        plan_is_safe "${MISSING[@]}" || status=$?
        if [ "$status" = 1 ]; then
            exit 1
        elif [ "$status" = 2 ]; then
            if [ "$updated" = 0 ]; then
                apt-get update
                updated=1
                resolve "$set"
                missing_packages
                continue
            fi
            note "apt cannot install ${MISSING[*]}: $PLAN_ERROR"
            exit 1
        fi
        echo "deps: installing ${MISSING[*]}"
        # --no-remove: should apt's plan change between the look and the
        # install, it stops rather than remove anything.
        if apt-get install -y -q --no-install-recommends --no-remove "${MISSING[@]}"; then
            return 0
        fi
        # The lists name versions the mirror no longer has: update, look again.
        if [ "$updated" = 1 ]; then
            note "apt-get install failed; nothing else was tried"
            exit 1
        fi
        apt-get update
        updated=1
        resolve "$set"
        missing_packages
        [ ${#MISSING[@]} -gt 0 ] || return 0
    done
}

# --- main ------------------------------------------------------------------------

main() {
    local set
    case "${1:-check}" in
    lab | check)
        [ $# -le 1 ] || usage_error "unexpected argument '$2'"
        set=${1:-check}
        if ! have_apt; then
            resolve "$set"
            echo "deps: not a Debian or Ubuntu system; install the equivalents of:"
            printf '  %s\n' "${PACKAGES[@]}"
            exit 0
        fi
        install_set "$set"
        ;;
    --list)
        [ $# = 2 ] || usage_error "--list takes one set: lab or check"
        case "$2" in
        lab | check) resolve "$2" ;;
        *) usage_error "unknown set '$2' (lab or check)" ;;
        esac
        printf '%s\n' "${PACKAGES[@]}"
        ;;
    --fuzzer-runtime)
        [ $# = 1 ] || usage_error "unexpected argument '$2'"
        fuzzer_runtime
        ;;
    -h | --help)
        usage
        ;;
    *)
        usage_error "unknown argument '$1'"
        ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# labs/deps.sh - install what tuna's labs and tests need (`make deps`).
#
# On Debian/Ubuntu, as root: installs only the packages that are missing.
# Anywhere else, or without root: prints exactly what to install.
set -eu

# package: what needs it
PACKAGES=(
    build-essential     # gcc, make, libc headers: the tools themselves
    linux-libc-dev      # the kernel's UAPI headers
    shunit2             # tests and exercises
    iproute2            # ip: tests read links, addresses, routes with ip -j
    nftables            # nft: tests read the ruleset with nft -j
    iptables            # the post's NAT command, timed by labs/measure/net-bench.sh
    btrfs-progs         # mkfs.btrfs for the btrfs backend; btrfs for tests
    zfs-fuse            # zpool/zfs: ZFS in userspace where OpenZFS is absent
    busybox-static      # a container root file system in one binary
    stress              # the post's load tool, compared with 07-stress
    xfsprogs            # mkfs.xfs: labs/measure/kernel-features.sh tries XFS project quotas (C20)
    cgroup-tools        # the post's cgcreate/cgset, timed by labs/measure/cgroup-bench.sh
    hyperfine           # medians for labs/measure/cgroup-bench.sh
    bubblewrap          # bwrap, a peer in labs/measure/start-bench.sh
    crun                # an OCI runtime, a peer in labs/measure/start-bench.sh
    jq                  # tests parse ip -j / nft -j / --json
    util-linux          # unshare, nsenter, losetup, the post's peers
    iputils-ping        # ping, as the post runs it
    procps              # ps, pgrep
    strace              # the lessons show the syscalls
    kmod                # modprobe where the kernel has modules
    qemu-system-x86     # tests/vm: boots Debian's kernel with only cgroup v2
    cpio                # tests/vm: the initramfs
    xz-utils            # tests/vm: kernel modules compressed as .ko.xz
    zstd                # tests/vm: or as .ko.zst
    clang               # tests/fuzz: libFuzzer harnesses (make fuzz, test_fuzz)
    libclang-rt-14-dev  # clang's -fsanitize=fuzzer runtime (libclang_rt.fuzzer)
    valgrind            # tests/valgrind.sh: memcheck on the tools' normal paths
)

names=()
for p in "${PACKAGES[@]}"; do names+=("$p"); done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: not a Debian/Ubuntu system; install the equivalents of:"
    printf '  %s\n' "${names[@]}"
    exit 0
fi

missing=()
for p in "${names[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages; run as root (sudo make deps) or install:"
    echo "  apt-get install ${missing[*]}"
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine.
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi
# zfs-fuse's package may start its daemon; tuna starts its own when needed.
exit 0

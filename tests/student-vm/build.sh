#!/usr/bin/env bash
# tests/student-vm/build.sh - the student's machine as a disk image: a stock
# Debian 12 system made from Debian's own packages (mmdebstrap, components
# main and contrib), with systemd as PID 1 (cgroup v2 only, its default),
# Debian's cloud kernel, OpenZFS as a kernel module (zfs-dkms compiled for
# that kernel here, in the image's chroot, on this machine's CPU) and what
# tuna's labs, exercises and suites run.
#
#   tests/student-vm/build.sh          build unless cached; print the image's
#                                      directory (its root.img, vmlinuz, initrd.img)
#   tests/student-vm/build.sh --key    print the cache key only
#   tests/student-vm/build.sh --path   print the directory it would use
#
# The image is cached under ${TUNA_VM_CACHE:-/var/cache/tuna-vm}/student/KEY,
# KEY a hash of how the image is made (this file's package list and build
# functions) and of the candidate versions apt has here for the kernel and
# OpenZFS: a change to either builds a new image.  The build goes
# into KEY.partial.PID and is renamed to KEY only when complete, so a build
# that was killed midway is never booted: the next run removes the partial
# directory and builds again.  mmdebstrap runs in a mount namespace of its
# own, so a killed build leaves no mount behind either.
#
# A build holds /tmp/tuna-vm.lock (or $TUNA_VM_LOCK) unless its caller does
# (TUNA_VM_LOCK_HELD=1, as tests/student-vm/run.sh sets).
# The tuna tree is not in the image: run.sh brings the checkout in on a
# second disk at each boot, so a changed tool needs no rebuild.
#
# Exit status: 0 built or cached; 1 the build failed (its log is
# KEY.log); 3 no way to build here (mmdebstrap, mke2fs missing; not root).
set -eu

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
SUITE=bookworm
# Everything the image holds beyond minbase, each with what needs it.
PACKAGES=(
    systemd-sysv udev                       # systemd as PID 1, as on a stock install
    linux-image-cloud-amd64                 # Debian's kernel (the cloud flavour boots fastest)
    linux-headers-cloud-amd64               # what dkms compiles zfs against
    zfs-dkms zfsutils-linux                 # OpenZFS from contrib, as the post installs it
    build-essential linux-libc-dev make     # `make` inside (make lab, make exercise)
    shunit2 jq iproute2 nftables iptables iputils-ping procps kmod util-linux mount
    btrfs-progs xfsprogs e2fsprogs stress   # labs/deps.sh's lab set
    busybox-static strace cgroup-tools cpio xz-utils zstd bubblewrap crun hyperfine
    dmsetup thin-provisioning-tools bpftool # device-mapper and BPF, for the steps that use them
    less                                    # for a person at the console
)
IMAGE_MB=8192
EXIT_CANNOT=3

say() { echo "student-vm-build: $*" >&2; }
die() { say "$*"; exit 1; }

cache_root() { echo "${TUNA_VM_CACHE:-/var/cache/tuna-vm}/student"; }

# mirror_of KIND: the Debian mirror this machine's apt uses (debian or
# debian-security), deb.debian.org where it names none.
mirror_of() {
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
        grep -oE 'https?://[^ ]+' | sed 's:/*$::' | grep -E "/$1\$" | head -n 1) || true
    echo "${uri:-http://deb.debian.org/$1}"
}

# candidate PACKAGE: apt's candidate version here, or "unknown" (the host's
# lists may lack contrib: then only the build script and kernel count).
candidate() {
    apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; found=1; exit } END { if (!found) print "unknown" }'
}

# cache_key: a hash of what goes into the image: the suite, the packages,
# how the image is made (the functions build and customize as bash holds
# them, so a comment or an option of this script changes nothing) and the
# versions apt has here.
cache_key() {
    {
        echo "$SUITE $IMAGE_MB"
        declare -f build customize
        printf '%s\n' "${PACKAGES[@]}"
        for p in linux-image-cloud-amd64 linux-headers-cloud-amd64 zfs-dkms; do
            echo "$p $(candidate "$p")"
        done
    } | sha256sum | cut -c 1-16
}

# --- inside the image (mmdebstrap's customize hook) ----------------------------

customize() {
    local root=$1 kver
    echo tuna-vm >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\ttuna-vm\n' >"$root/etc/hosts"
    # The root disk, and the checkout's disk run.sh attaches at each boot.
    cat >"$root/etc/fstab" <<'EOF'
/dev/vda        /       ext4    rw,errors=remount-ro    0 1
LABEL=tuna-tree /tuna   ext4    rw,nofail,x-systemd.device-timeout=20s 0 0
EOF
    mkdir -p "$root/tuna"
    # root logs in on the serial console without a password (make vm).
    mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
    cat >"$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM
EOF
    chroot "$root" passwd -d root >/dev/null
    cat >>"$root/root/.profile" <<'EOF'
# The tuna checkout, copied in at boot (tests/student-vm/run.sh).
[ -d /tuna/labs ] && cd /tuna
stty rows 40 cols 120 2>/dev/null || true
EOF
    # run.sh's batch mode (tuna.run on the kernel command line): the runner
    # that came in on the checkout's disk, its output on the console.
    cat >"$root/etc/systemd/system/tuna-run.service" <<'EOF'
[Unit]
Description=tuna: the command tests/student-vm/run.sh was given
ConditionKernelCommandLine=tuna.run
After=multi-user.target
RequiresMountsFor=/tuna

[Service]
Type=simple
ExecStart=/bin/bash /tuna/.tuna-vm/inside.sh
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
EOF
    systemctl --root="$root" enable tuna-run.service >/dev/null 2>&1
    # Timers that would wake up during a run and cost minutes under TCG.
    systemctl --root="$root" mask apt-daily.timer apt-daily-upgrade.timer \
        e2scrub_all.timer fstrim.timer man-db.timer dpkg-db-backup.timer >/dev/null 2>&1 || true

    # dkms must have built zfs for the image's kernel: without it there is
    # no /dev/zfs and the lab would quietly fall back.
    kver=$(basename "$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)")
    [ -f "$root/boot/vmlinuz-$kver" ] || { say "no /boot/vmlinuz-$kver in the image"; return 1; }
    if ! find "$root/lib/modules/$kver/updates/dkms" -name 'zfs.ko*' 2>/dev/null | grep -q .; then
        say "dkms did not build zfs for $kver (no lib/modules/$kver/updates/dkms/zfs.ko)"
        ls -R "$root/var/lib/dkms" >&2 2>/dev/null || true
        return 1
    fi
    echo "$kver" >"$root/etc/tuna-vm-kernel"
    # shellcheck disable=SC2016  # dpkg-query's own fields
    chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' >"$root/etc/tuna-vm-packages"
    # Nothing the image needs at run time: apt's downloads and dkms's build tree.
    rm -rf "$root/var/lib/dkms/zfs/"*/build "$root/var/cache/apt/archives/"*.deb
}

# --- on the host ----------------------------------------------------------------

build() {
    local dest=$1 part=$1.partial.$$ root mirror security kver
    root=$part/root
    rm -rf "$part"
    mkdir -p "$part"
    # shellcheck disable=SC2064  # the path now
    trap "rm -rf '$part'" EXIT
    trap 'exit 130' INT TERM HUP
    mirror=$(mirror_of debian)
    security=$(mirror_of debian-security)
    say "mmdebstrap $SUITE (main contrib) from $mirror into $root"
    # A private mount namespace: the chroot's /proc, /sys and /dev mounts go
    # with it, however mmdebstrap ends.
    unshare --mount --propagation private \
        mmdebstrap --mode=root --variant=minbase --format=directory \
        --aptopt='Apt::Install-Recommends "false"' \
        --aptopt='Acquire::Languages "none"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --include="$(
            IFS=,
            echo "${PACKAGES[*]}"
        )" \
        --customize-hook="\"$SELF\" --customize \"\$1\"" \
        "$SUITE" "$root" \
        "deb $mirror $SUITE main contrib" \
        "deb $mirror $SUITE-updates main contrib" \
        "deb $security $SUITE-security main contrib"
    kver=$(cat "$root/etc/tuna-vm-kernel")
    cp "$root/boot/vmlinuz-$kver" "$part/vmlinuz"
    cp "$root/boot/initrd.img-$kver" "$part/initrd.img"
    cp "$root/etc/tuna-vm-packages" "$part/packages"
    echo "$kver" >"$part/kernel-version"
    say "mke2fs -d: the root disk (${IMAGE_MB} MiB, sparse)"
    mke2fs -q -t ext4 -L tuna-root -d "$root" -E root_owner=0:0 "$part/root.img" "${IMAGE_MB}M"
    rm -rf "$root"
    mv -T "$part" "$dest"
    trap - EXIT
    say "built $dest: kernel $kver, $(grep -E '^zfs-dkms ' "$dest/packages")"
}

main() {
    local root key dest start old rc
    case "${1:-}" in
    --customize) customize "$2"; return ;;
    --build) build "$2"; return ;;
    --key) cache_key; return ;;
    --path) echo "$(cache_root)/$(cache_key)"; return ;;
    "") ;;
    *) echo "usage: tests/student-vm/build.sh [--key|--path]" >&2; exit 2 ;;
    esac
    root=$(cache_root)
    key=$(cache_key)
    dest=$root/$key
    if [ -f "$dest/root.img" ]; then
        echo "$dest"
        return
    fi
    [ "$(id -u)" = 0 ] || { say "building the image needs root (mmdebstrap --mode=root)"; exit "$EXIT_CANNOT"; }
    for c in mmdebstrap:mmdebstrap mke2fs:e2fsprogs unshare:util-linux; do
        command -v "${c%%:*}" >/dev/null 2>&1 ||
            { say "requires ${c%%:*} (Debian package ${c#*:}; make deps installs it)"; exit "$EXIT_CANNOT"; }
    done
    if [ "${TUNA_VM_LOCK_HELD:-0}" != 1 ]; then
        exec 9>>"${TUNA_VM_LOCK:-/tmp/tuna-vm.lock}"
        flock 9
        export TUNA_VM_LOCK_HELD=1
        # Another build may have finished while this one waited.
        if [ -f "$dest/root.img" ]; then
            echo "$dest"
            return
        fi
    fi
    mkdir -p "$root"
    # Half-made images of builds that were killed: never booted, removed.
    for old in "$root"/*.partial.*; do
        [ -e "$old" ] || continue
        say "removing the unfinished build $old"
        rm -rf "$old"
    done
    start=$(date +%s)
    # A process of its own, so that set -e holds in it.
    rc=0
    "$SELF" --build "$dest" >"$dest.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 20 "$dest.log" >&2
        die "the build failed after $(($(date +%s) - start)) s (log: $dest.log)"
    fi
    say "built in $(($(date +%s) - start)) s (log: $dest.log)"
    # Older images (other keys) are of no more use.
    for old in "$root"/*; do
        case "$old" in "$dest" | "$dest.log") continue ;; esac
        rm -rf "$old"
    done
    echo "$dest"
}

main "$@"

#!/usr/bin/env bash
# tests/vm/build.sh - make what tests/vm/boot.sh boots: Debian's own kernel
# and an initramfs holding busybox, tuna's static tools, the kernel modules
# the in-VM cases need, and the scripts that run them.
#
#   tests/vm/build.sh OUTDIR
#
# OUTDIR gets vmlinuz, initramfs.cpio and kernel-version.  The kernel comes
# from the cloud kernel package (linux-image-cloud-amd64's current
# dependency), fetched once with `apt-get download` into the cache directory
# ($TUNA_VM_CACHE, default /var/cache/tuna-vm, else ~/.cache/tuna-vm) and
# unpacked with dpkg-deb -x: never installed.  That download is the only
# network access; with a .deb in the cache everything works offline.
# Everything else lands in OUTDIR, which the caller removes.
#
# Environment: TUNA_BIN (the static tools, default bin/), TUNA_VM_KERNEL_PKG
# (a package name instead of the cloud kernel's).
set -eu

VM_DIR=$(cd "$(dirname "$0")" && pwd)
TUNA_ROOT=$(cd "$VM_DIR/../.." && pwd)
TUNA_BIN=${TUNA_BIN:-$TUNA_ROOT/bin}
# The initramfs has no shared libraries: a dynamic (sanitizer) build cannot
# run there, so the VM always gets the static build.
case "$TUNA_BIN" in *sanitize*) TUNA_BIN=$TUNA_ROOT/bin ;; esac
OUT=${1:?usage: build.sh OUTDIR}

# The metapackage whose dependency names the current cloud kernel, and the
# generic one to fall back on.
CLOUD_META=linux-image-cloud-amd64
GENERIC_META=linux-image-amd64

# What the in-VM cases load: the rest comes from modules.dep.  binfmt_misc
# is loaded last only so that btrfs and overlay are not the last lines of
# /proc/filesystems: 03-zfs-image looks for "\tNAME\n" in it, and its
# file_read() drops the final newline.
MODULES=(veth bridge nf_tables nft_nat nft_masq nft_chain_nat loop btrfs overlay dm-thin-pool xfs
    binfmt_misc)
# Programs the storage backends run, and those the storage cases read the
# kernel's side with (dmsetup, xfs_quota) or inject faults with (strace),
# copied with their shared libraries.
HOST_PROGRAMS="mkfs.btrfs mkfs.ext4 mkfs.xfs xfs_quota dmsetup strace"
# What the shell suites, labs and checkers that also run in the VM need
# beyond busybox (tests/test_01_cgroup.sh, the cgroup exercises, the cgroup
# labs): bash, jq, and the GNU tools whose options they use (date +%N,
# stat -f, getconf, pgrep).  They go to /usr/bin, which only those cases put first
# on PATH; the other cases see busybox alone.
SUITE_PROGRAMS="bash jq date stat mktemp seq find fold getconf pgrep mawk"
# The parts of the tree those cases run, under /tuna (bin/ is /bin).
SUITE_FILES="labs tests/lib.sh tests/test_01_cgroup.sh tests/test_exercises.sh"

# The exit status that means "no kernel package to be had", which the suite
# reports as a missing dependency rather than a broken build.
EXIT_NO_KERNEL=3

say() { echo "vm-build: $*" >&2; }
die() { say "$*"; exit 1; }

cache_dir() {
    if [ -n "${TUNA_VM_CACHE:-}" ]; then
        echo "$TUNA_VM_CACHE"
    elif [ -w /var/cache ] || [ -w /var/cache/tuna-vm ]; then
        echo /var/cache/tuna-vm
    else
        echo "${XDG_CACHE_HOME:-$HOME/.cache}/tuna-vm"
    fi
}

# kernel_package: the versioned image package, e.g.
# linux-image-6.1.0-57-cloud-amd64 (apt-cache depends on the metapackage).
kernel_package() {
    local meta pkg
    if [ -n "${TUNA_VM_KERNEL_PKG:-}" ]; then
        echo "$TUNA_VM_KERNEL_PKG"
        return
    fi
    for meta in "$CLOUD_META" "$GENERIC_META"; do
        pkg=$(apt-cache depends "$meta" 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
        if [ -n "$pkg" ]; then
            echo "$pkg"
            return
        fi
    done
    return 1
}

# newest_deb DIR NAME-PATTERN: the highest version of NAME-PATTERN_*.deb in DIR.
newest_deb() {
    find "$1" -maxdepth 1 -name "${2}_*.deb" | sort -V | tail -n 1
}

# download_kernel CACHE PKG: apt-get download PKG into CACHE; prints the
# .deb's path, or nothing when the download failed.  The cache keeps one
# kernel: the one just fetched.
download_kernel() {
    local deb
    say "apt-get download $2 (into $1)"
    (cd "$1" && apt-get download "$2" >&2) || true
    deb=$(newest_deb "$1" "$2")
    if [ -n "$deb" ]; then
        find "$1" -maxdepth 1 -name 'linux-image-*.deb' ! -path "$deb" -delete
    fi
    echo "$deb"
}

# fetch_kernel: the path of the kernel .deb, downloaded into the cache when
# it is not there yet.  Offline, the newest .deb already cached does.
fetch_kernel() {
    local cache pkg deb=
    cache=$(cache_dir)
    mkdir -p "$cache"
    pkg=$(kernel_package) || pkg=
    [ -n "$pkg" ] && deb=$(newest_deb "$cache" "$pkg")
    [ -z "$deb" ] && [ -n "$pkg" ] && deb=$(download_kernel "$cache" "$pkg")
    # A fresh machine may have no package lists yet, or stale ones naming a
    # kernel the archive no longer has (labs/deps.sh knows this too).
    if [ -z "$deb" ] && [ -z "$(newest_deb "$cache" 'linux-image-*')" ] && [ "$(id -u)" = 0 ]; then
        say "apt-get update (no package lists, or stale ones)"
        apt-get update >&2 || true
        pkg=$(kernel_package) || pkg=
        [ -n "$pkg" ] && deb=$(download_kernel "$cache" "$pkg")
    fi
    # Offline, or the package gone from the archive: the cached one does.
    [ -n "$deb" ] || deb=$(newest_deb "$cache" 'linux-image-*')
    [ -n "$deb" ] || {
        say "no kernel package: apt-get download ${pkg:-$CLOUD_META} failed"
        exit "$EXIT_NO_KERNEL"
    }
    echo "$deb"
}

# module_closure KVER NAME...: the .ko paths (relative to lib/modules/KVER)
# in an order insmod can load them, dependencies first.  modules.dep lists,
# for each module, everything it needs, so loading the list backwards works.
module_closure() {
    local moddir=$1
    shift
    local name line
    for name in "$@"; do
        line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1)
        [ -n "$line" ] || die "module $name is not in $moddir/modules.dep"
        # "mod.ko: dep1.ko dep2.ko": deps in reverse, then the module.
        echo "$line" | tr -d ':' | awk '{ for (i = NF; i >= 2; i--) print $i; print $1 }'
    done | awk '!seen[$0]++'
}

# copy_with_libraries PROG ROOT [DIR]: PROG into ROOT/DIR (default bin),
# and what ldd says it loads.
copy_with_libraries() {
    local path lib
    path=$(command -v "$1") || die "$1 not found on this machine"
    install -D -m 755 "$path" "$2/${3:-bin}/$1"
    for lib in $(ldd "$path" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
        install -D -m 755 "$lib" "$2$lib"
    done
}

main() {
    local deb kernel kver moddir root m tool n=0
    command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"
    command -v busybox >/dev/null || die "busybox missing (apt-get install busybox-static)"
    mkdir -p "$OUT"
    deb=$(fetch_kernel)
    say "unpacking $(basename "$deb")"
    kernel=$OUT/kernel
    dpkg-deb -x "$deb" "$kernel"
    kver=$(basename "$(find "$kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
    moddir=$kernel/lib/modules/$kver
    # The package ships no modules.dep (its postinst runs depmod); make it.
    [ -f "$moddir/modules.dep" ] || depmod -b "$kernel" "$kver"
    cp "$kernel/boot/vmlinuz-$kver" "$OUT/vmlinuz"
    echo "$kver" >"$OUT/kernel-version"

    root=$OUT/root
    mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,mnt,lib/modules,var/lib/tuna}
    # busybox and its applets (the static build needs no libraries).
    cp "$(command -v busybox)" "$root/bin/busybox"
    for m in $(busybox --list); do
        [ -e "$root/bin/$m" ] || ln -s busybox "$root/bin/$m"
    done
    for tool in "$TUNA_BIN"/[0-9][0-9]-*; do
        [ -x "$tool" ] || die "$tool is not built (make)"
        cp "$tool" "$root/bin/"
    done
    for m in $HOST_PROGRAMS; do copy_with_libraries "$m" "$root"; done
    for m in $SUITE_PROGRAMS; do copy_with_libraries "$m" "$root" usr/bin; done
    ln -s mawk "$root/usr/bin/awk"
    ln -s /bin/busybox "$root/usr/bin/env"     # for #!/usr/bin/env bash
    install -D -m 644 "$(command -v shunit2 || echo /usr/share/shunit2/shunit2)" \
        "$root/usr/bin/shunit2"
    mkdir -p "$root/tuna"
    # shellcheck disable=SC2086  # one path a word
    (cd "$TUNA_ROOT" && cp -a --parents $SUITE_FILES "$root/tuna/")
    ln -s /bin "$root/tuna/bin"
    # Modules, flat, with the order to load them in.  The package's modules
    # are uncompressed; decompress any that are not, since busybox insmod
    # takes plain ELF.
    for m in $(module_closure "$moddir" "${MODULES[@]}"); do
        case $m in
        *.ko.xz) xz -dc "$moddir/$m" >"$root/lib/modules/$(basename "$m" .xz)" ;;
        *.ko.zst) zstd -qdc "$moddir/$m" >"$root/lib/modules/$(basename "$m" .zst)" ;;
        *) cp "$moddir/$m" "$root/lib/modules/" ;;
        esac
        basename "${m%.xz}" | sed 's/\.zst$//' >>"$root/lib/modules/load-order"
        n=$((n + 1))
    done
    install -m 755 "$VM_DIR/init" "$root/init"
    install -m 755 "$VM_DIR/cases.sh" "$root/bin/tuna-vm-cases"
    echo "tuna-vm" >"$root/etc/hostname"

    # newc is the format the kernel unpacks (Documentation/driver-api/
    # early-userspace/buffer-format.rst); owner root whoever builds it.
    # Uncompressed: TCG would spend longer inflating it than qemu reading it.
    (cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) >"$OUT/initramfs.cpio"
    rm -rf "$kernel" "$root"
    say "kernel $kver, $n modules, initramfs $(($(stat -c %s "$OUT/initramfs.cpio") / 1048576)) MiB"
}

main

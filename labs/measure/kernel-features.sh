#!/usr/bin/env bash
# labs/measure/kernel-features.sh - can this kernel show the post's claims
# about Redirect-on-Write and devicemapper (C10, C11, C21) and about a size
# limit for overlay containers with XFS project quotas (C20)?
#
# Device-mapper (the kernel side of Docker's devicemapper driver, its thin
# snapshots the post's RoW example): present when /proc/devices lists
# "device-mapper" or /proc/config.gz says CONFIG_BLK_DEV_DM.  Without it,
# there is nothing to measure.
#
# XFS project quotas: an XFS is made on a loop file (mkfs.xfs, from
# xfsprogs) and mounted with -o prjquota, as Docker's overlay2 needs for
# `--storage-opt size=`.  Where the kernel has CONFIG_XFS_QUOTA, a project
# quota of 10M is put on an overlay upper directory (xfs_quota -x -c
# "project -s" and "limit -p bhard=10m") and 20M are written through the
# merged view: the write must stop with "Disk quota exceeded".  Where it
# has not, the mount is refused and the kernel's log line is shown.
#
# Runs in a private mount namespace (unshare --mount): the mounts and the
# loop device go with it.  A check that prints a table, not a timing.
#
# Usage: sudo labs/measure/kernel-features.sh
set -eu
# shellcheck source=labs/measure/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_NAME=kernel-features
XFS_SIZE=320M            # mkfs.xfs wants at least 300M
QUOTA_LIMIT=10m          # xfs_quota's unit letters
WRITE_MIB=20             # twice the limit
PROJECT_ID=4242

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) ;;
    -h | --help) bench_help "$0" ;;
    *) bench_usage_error "unknown option '$1'" ;;
    esac
    shift
done
if [ -z "${TUNA_KERNEL_FEATURES_INNER:-}" ]; then
    need_root "mounts, loop devices"
    need_tool unshare util-linux
    TUNA_KERNEL_FEATURES_INNER=1 exec unshare --mount --propagation private "$0" "$@"
fi
bench_init kernel-features
machine_line

# config OPTION: y, m or "not set", from /proc/config.gz when the kernel has it.
config() {
    local value
    [ -r /proc/config.gz ] || { echo "no /proc/config.gz"; return; }
    value=$(zcat /proc/config.gz | sed -n "s/^$1=//p")
    echo "${value:-not set}"
}

printf 'claim\tneeds\tkernel config\tseen here\n' >"$WORK/table"

# --- C10 C11 C21: device-mapper --------------------------------------------------
if grep -qw device-mapper /proc/devices; then
    dm="device-mapper in /proc/devices"
else
    dm="no device-mapper in /proc/devices"
fi
printf 'C10 C11 C21 RoW, devicemapper\tBLK_DEV_DM, DM_THIN_PROVISIONING\t%s, %s\t%s\n' \
    "$(config CONFIG_BLK_DEV_DM)" "$(config CONFIG_DM_THIN_PROVISIONING)" "$dm" >>"$WORK/table"

# --- C20: XFS project quota under an overlay upper directory ---------------------------
xfs_quota_try() {
    local m=$WORK/xfs d
    grep -qw xfs /proc/filesystems || { echo "no xfs in /proc/filesystems"; return; }
    command -v mkfs.xfs >/dev/null || { echo "no mkfs.xfs (apt-get install xfsprogs)"; return; }
    truncate -s "$XFS_SIZE" "$WORK/xfs.img"
    mkfs.xfs -q "$WORK/xfs.img"
    mkdir "$m"
    if ! mount -o loop,prjquota "$WORK/xfs.img" "$m" 2>"$WORK/mount.err"; then
        echo "mount -o prjquota refused; kernel log: $(dmesg 2>/dev/null | grep 'XFS' | tail -1 |
            sed 's/^\[[ 0-9.]*\] //')"
        return
    fi
    bench_on_exit umount "$m"
    d=$m/c1
    mkdir -p "$m/image" "$d/diff" "$d/work" "$d/merged"
    xfs_quota -x -c "project -s -p $d/diff $PROJECT_ID" "$m" >/dev/null
    xfs_quota -x -c "limit -p bhard=$QUOTA_LIMIT $PROJECT_ID" "$m"
    mount -t overlay overlay -o "lowerdir=$m/image,upperdir=$d/diff,workdir=$d/work" "$d/merged"
    bench_on_exit umount "$d/merged"
    if head -c "$((WRITE_MIB * 1048576))" /dev/zero >"$d/merged/big" 2>"$WORK/write.err"; then
        echo "prjquota mounted, but a ${WRITE_MIB}M write under a $QUOTA_LIMIT quota went through"
    else
        echo "${WRITE_MIB}M written under a $QUOTA_LIMIT quota: stopped at" \
            "$(du -sh "$d/diff" | cut -f1): $(sed 's/.*: //' "$WORK/write.err" | tail -1)"
    fi
}
printf 'C20 overlay size limit, XFS prjquota\tXFS_FS, XFS_QUOTA\t%s, %s\t%s\n' \
    "$(config CONFIG_XFS_FS)" "$(config CONFIG_XFS_QUOTA)" "$(xfs_quota_try)" >>"$WORK/table"

table "What this kernel has for the post's RoW and quota claims:" <"$WORK/table"
exit 0

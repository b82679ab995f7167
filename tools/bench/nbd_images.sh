#!/bin/bash
# Dedup across VM images: two Debian bookworm root filesystems made by debootstrap (minbase, and
# minbase plus python3, openssh-server and curl), each written into an ext4 image of SIZE, are
# imported as disks of one volume (rep:1, dedup on); `glory disk usage` tells the space saved,
# and the import and export times (b exported and compared) beside a local cp of the image.
#
#   tools/bench/nbd_images.sh [SIZE (default 2G)] [ROOTFS_A ROOTFS_B]
# Given two existing root directories, uses them instead of running debootstrap (which needs
# root and a Debian mirror: $MIRROR, default http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=${1:-2G}
BUILD=${BUILD:-build}
G=$(pwd)/$BUILD/bin/glory
MIRROR=${MIRROR:-http://deb.debian.org/debian}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-nbdimg.XXXXXX")
trap '$G dev down --dir "$W/c" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT

A=${2:-}
B=${3:-}
if [ -z "$A" ]; then
	A=$W/a
	B=$W/b
	debootstrap --variant=minbase bookworm "$A" "$MIRROR" >"$W/a.log"
	debootstrap --variant=minbase --include=python3,openssh-server,curl bookworm "$B" \
		"$MIRROR" >"$W/b.log"
fi
for x in a b; do
	root=$A
	[ $x = b ] && root=$B
	truncate -s "$SIZE" "$W/$x.img"
	mkfs.ext4 -q -F -d "$root" "$W/$x.img"
done

$G dev up --dir "$W/c" --ds 3 --mds 1 >/dev/null
. "$W/c/env"
export GLORY_MASTER
sleep 2
$G tenant create t >/dev/null
$G volume create v --tenant t --redundancy rep:1 >/dev/null
ms() { date +%s%3N; }
mbs() { echo "$(($1 * 1000 / ($2 > 0 ? $2 : 1) / 1000000)) MB/s"; } # bytes ms
t0=$(ms)
$G disk import "$W/a.img" v/a --tenant t
t1=$(ms)
ua=$($G disk usage v --tenant t | awk '$1 == "stored" {print $2}')
$G disk import "$W/b.img" v/b --tenant t
t2=$(ms)
$G disk export v/b "$W/b.out" --tenant t
t3=$(ms)
cmp "$W/b.img" "$W/b.out"
# the reference: the same image copied on the local disk (sparse, like the export)
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
t4=$(ms)
cp --sparse=always "$W/b.img" "$W/b.cp"
sync
t5=$(ms)
bytes=$(stat -c %s "$W/b.img")
echo '```'
echo "tools/bench/nbd_images.sh $SIZE   ($(date -u +%F))"
echo "rootfs a: $(du -sh "$A" | cut -f1), rootfs b: $(du -sh "$B" | cut -f1)"
echo "import a $((t1 - t0)) ms ($(mbs "$bytes" $((t1 - t0))) of image), import b $((t2 - t1)) ms ($(mbs "$bytes" $((t2 - t1)))), export b $((t3 - t2)) ms ($(mbs "$bytes" $((t3 - t2)))); cp --sparse of b on the local disk $((t5 - t4)) ms ($(mbs "$bytes" $((t5 - t4))))"
for x in a b; do
	$G disk info "v/$x" --tenant t | awk -v x=$x '$1 == "data" || $1 == "stored" {printf "disk %s %s %s\n", x, $1, $2}'
done
$G disk usage v --tenant t
ub=$($G disk usage v --tenant t | awk '$1 == "stored" {print $2}')
echo "importing b after a stored $((ub - ua)) more bytes"
echo '```'

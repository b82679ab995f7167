#!/bin/bash
# Dedup across VM images: two Debian bookworm root filesystems made by debootstrap (minbase, and
# minbase plus python3, openssh-server and curl), each written into an ext4 image of SIZE, are
# imported as disks of one volume (rep:1, dedup on); `glory disk usage` tells the space saved.
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
$G disk import "$W/a.img" v/a --tenant t
ua=$($G disk usage v --tenant t | awk '$1 == "stored" {print $2}')
$G disk import "$W/b.img" v/b --tenant t
echo '```'
echo "tools/bench/nbd_images.sh $SIZE   ($(date -u +%F))"
echo "rootfs a: $(du -sh "$A" | cut -f1), rootfs b: $(du -sh "$B" | cut -f1)"
for x in a b; do
	$G disk info "v/$x" --tenant t | awk -v x=$x '$1 == "data" || $1 == "stored" {printf "disk %s %s %s\n", x, $1, $2}'
done
$G disk usage v --tenant t
ub=$($G disk usage v --tenant t | awk '$1 == "stored" {print $2}')
echo "importing b after a stored $((ub - ua)) more bytes"
echo '```'

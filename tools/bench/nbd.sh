#!/bin/bash
# VM disk benchmark: fio's nbd engine against nbdkit serving glory disks (a dev cluster of 4
# data servers; a volume rep:1 without dedup, like for like with the file plugin, and one rep:2
# with dedup, what a user keeping VM images wants) and, in the same run, nbdkit's file plugin
# serving a local file: 1 MiB sequential write and read (QD 4), 4 KiB random write, read and
# 70/30 mix (QD 16), each with a flush at the end (fio --end_fsync). Then the time to clone
# and snapshot a 20 GiB disk, empty and with GIB_WRITTEN GiB written.
#
#   tools/bench/nbd.sh [SIZE_MIB (default 1024)] [GIB_WRITTEN (default 2)]
# Prints a Markdown block for docs/performance.md. Needs a built tree, nbdkit, fio.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-1024}
GW=${2:-2}
BUILD=${BUILD:-build}
G=$(pwd)/$BUILD/bin/glory
export GLORY_NBD_PLUGIN=$(pwd)/$BUILD/lib/nbdkit-glory-plugin.so
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-nbdbench.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	$G dev down --dir "$W/c" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

up() { nbdinfo --can connect "nbd+unix:///?socket=$1" 2>/dev/null; }
wait_up() { for _ in $(seq 100); do up "$1" && return 0; sleep 0.1; done; echo "no nbdkit at $1" >&2; exit 1; }
fio_one() { # fio_one SOCK RW BS QD [more] -> "MB/s IOPS"
	local sock=$1 rw=$2 bs=$3 qd=$4
	shift 4
	fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$sock" --rw="$rw" --bs="$bs" \
		--iodepth="$qd" --size="${MIB}M" --end_fsync=1 --output-format=json \
		--output="$W/fio.json" "$@" >/dev/null 2>&1
	/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
w, r = j["write"], j["read"]
print("%.0f %.0f" % ((w["bw_bytes"] + r["bw_bytes"]) / 1e6, w["iops"] + r["iops"]))' "$W/fio.json"
}
fio_all() { # fio_all LABEL SOCK
	local s=$2 sw sr rw rr rm
	sw=$(fio_one "$s" write 1M 4)
	sr=$(fio_one "$s" read 1M 4)
	rw=$(fio_one "$s" randwrite 4k 16 --runtime=20 --time_based)
	rr=$(fio_one "$s" randread 4k 16 --runtime=20 --time_based)
	rm=$(fio_one "$s" randrw 4k 16 --rwmixread=70 --runtime=20 --time_based)
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${sw% *}" "${sr% *}" "${rw#* }" \
		"${rr#* }" "${rm#* }"
}
ms() { /usr/bin/python3 -c "import time; print(int(time.time()*1000))"; }

$G dev up --dir "$W/c" --ds 4 --mds 1 >/dev/null
. "$W/c/env"
export GLORY_MASTER
sleep 2
$G tenant create t >/dev/null
$G volume create v --tenant t --redundancy rep:2 >/dev/null
$G disk create v/b --size "$((MIB + 64))M" --tenant t
$G disk serve v/b --tenant t --unix "$W/g.sock" >"$W/g.log" 2>&1 &
PIDS+=($!)
$G volume create v1 --tenant t --redundancy rep:1 --dedup off >/dev/null
$G disk create v1/b --size "$((MIB + 64))M" --tenant t
$G disk serve v1/b --tenant t --unix "$W/g1.sock" >"$W/g1.log" 2>&1 &
PIDS+=($!)
truncate -s "$((MIB + 64))M" "$W/file.img"
nbdkit -f -U "$W/f.sock" file "$W/file.img" >"$W/f.log" 2>&1 &
PIDS+=($!)
wait_up "$W/g.sock"
wait_up "$W/g1.sock"
wait_up "$W/f.sock"

echo '```'
echo "tools/bench/nbd.sh $MIB $GW   ($(nproc) cores, $(date -u +%F))"
echo '```'
echo
echo "| served by | 1M seq write MB/s | 1M seq read MB/s | 4k randwrite IOPS | 4k randread IOPS | 4k randrw 70/30 IOPS |"
echo "| --- | --- | --- | --- | --- | --- |"
fio_all "nbdkit file plugin (local file)" "$W/f.sock"
fio_all "nbdkit glory plugin (rep:1, no dedup, 4 data servers)" "$W/g1.sock"
fio_all "nbdkit glory plugin (rep:2, dedup, 4 data servers)" "$W/g.sock"

# clones of a 20 GiB disk
$G disk create v/big --size 20G --tenant t
t0=$(ms)
$G disk clone v/big v/big-c0 --tenant t
t1=$(ms)
$G disk serve v/big --tenant t --unix "$W/big.sock" >"$W/big.log" 2>&1 &
bigpid=$!
wait_up "$W/big.sock"
fio --name=fill --ioengine=nbd --uri="nbd+unix:///?socket=$W/big.sock" --rw=write --bs=1M \
	--iodepth=4 --size="${GW}G" --end_fsync=1 --output-format=terse >/dev/null 2>&1
kill "$bigpid"
wait "$bigpid" 2>/dev/null || true
t2=$(ms)
$G disk clone v/big v/big-c1 --tenant t
t3=$(ms)
$G disk snapshot v/big@s1 --tenant t
t4=$(ms)
echo
echo "Clone of a 20 GiB disk (one NS_CLONE raft entry; includes the CLI's connect): empty $((t1 - t0)) ms;"
echo "with $GW GiB written: clone $((t3 - t2)) ms, snapshot $((t4 - t3)) ms."

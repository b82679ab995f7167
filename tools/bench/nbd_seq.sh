#!/bin/bash
# NBD sequential write, rounds of: a fresh `glory dev up --ds 4 --mds 1`, a disk of a rep:1
# volume without dedup under `glory disk serve` and nbdkit's file plugin on a fresh local file;
# fio's nbd engine writes SIZE_MIB with 1 MiB requests at QD 4 (--end_fsync) to the file plugin,
# then to glory; prints both MB/s and the CPU ticks (all cores, 1/100 s) the machine was busy
# during glory's write. For A/B runs: BUILD=other/build.
#
#   tools/bench/nbd_seq.sh [SIZE_MIB (default 512)] [ROUNDS (default 3)]
# Needs a built tree, nbdkit and fio.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-512}
ROUNDS=${2:-3}
BUILD=${BUILD:-build}
G=$(pwd)/$BUILD/bin/glory
GLORY_NBD_PLUGIN=$(pwd)/$BUILD/lib/nbdkit-glory-plugin.so
export GLORY_NBD_PLUGIN
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-nbdseq.XXXXXX")
PIDS=()
stop() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	PIDS=()
	$G dev down --dir "$W/c" >/dev/null 2>&1 || true
	rm -rf "${W:?}"/*
}
trap 'stop; rm -rf "$W"' EXIT
wait_up() {
	for _ in $(seq 100); do
		nbdinfo --can connect "nbd+unix:///?socket=$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no nbdkit at $1" >&2
	exit 1
}
write_mbs() { # write_mbs SOCK: MB/s
	fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$1" --rw=write --bs=1M --iodepth=4 \
		--size="${MIB}M" --end_fsync=1 --output-format=json --output="$W/fio.json" >/dev/null 2>&1
	/usr/bin/python3 -c '
import json, sys
print("%.0f" % (json.load(open(sys.argv[1]))["jobs"][0]["write"]["bw_bytes"] / 1e6))' "$W/fio.json"
}
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

echo "tools/bench/nbd_seq.sh $MIB $ROUNDS   ($(nproc) cores, $(date -u +%F))"
for r in $(seq "$ROUNDS"); do
	$G dev up --dir "$W/c" --ds 4 --mds 1 >"$W/up.log" 2>&1 || { cat "$W/up.log" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$W/c/env"
	export GLORY_MASTER
	sleep 2
	$G tenant create t >/dev/null
	$G volume create v --tenant t --redundancy rep:1 --dedup off >/dev/null
	$G disk create v/b --size "$((MIB + 64))M" --tenant t >/dev/null
	$G disk serve v/b --tenant t --unix "$W/g.sock" >"$W/g.log" 2>&1 &
	PIDS+=($!)
	truncate -s "$((MIB + 64))M" "$W/file.img"
	nbdkit -f -U "$W/f.sock" file "$W/file.img" >/dev/null 2>&1 &
	PIDS+=($!)
	wait_up "$W/g.sock"
	wait_up "$W/f.sock"
	f=$(write_mbs "$W/f.sock")
	b0=$(busy)
	g=$(write_mbs "$W/g.sock")
	b1=$(busy)
	echo "round $r: file plugin $f MB/s, glory $g MB/s ($((100 * g / f))%), busy ticks $((b1 - b0))"
	stop
done

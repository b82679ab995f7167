#!/bin/bash
# FUSE sequential write then cold read, each contender on a fresh start: fio 1 MiB psync,
# SIZE written (end_fsync), caches dropped, read back; the CPU the serving process used during
# the read. Contenders: a libfuse passthrough of a local directory (tools/bench/passthrough.c),
# then a fresh `glory dev up --ds 6 --mds 1` with a rep:1 volume (no dedup) mounted. For A/B
# runs of the read path: BUILD=other/build (and MOUNT_ENV='VAR=value' for the mount process).
#
#   tools/bench/fuse_seq.sh [SIZE (default 2G)] [ROUNDS (default 3)]
# Needs root, a built tree and fio.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=${1:-2G}
ROUNDS=${2:-3}
# shellcheck source=tools/bench/fuse_rounds.sh
. tools/bench/fuse_rounds.sh fuseseq
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# one DIR RW [more]: MB/s
one() {
	fio --name=seq --directory="$1" --rw="$2" --bs=1M --size="$SIZE" --ioengine=psync \
		--output-format=json "${@:3}" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["write"] if j["write"]["io_bytes"] > 0 else j["read"]
print("%.0f" % (d["bw_bytes"] / 1e6))'
}
# measure LABEL DIR PID: one line
measure() {
	local w r t0
	w=$(one "$2" write --end_fsync=1)
	drop
	t0=$(ticks "${3%%,*}")
	r=$(one "$2" read)
	printf '%-28s write %5s MB/s  read %5s MB/s  CPU during the read %5.2f s\n' "$1" "$w" "$r" \
		"$(echo "($(ticks "${3%%,*}") - $t0) / $(getconf CLK_TCK)" | bc -l)"
	rm -f "$2"/seq.*
	drop
}
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); $(date -u '+%F %H:%M') UTC"
echo "Command: \`tools/bench/fuse_seq.sh $SIZE $ROUNDS\`"
echo '```'
fuse_rounds
echo '```'

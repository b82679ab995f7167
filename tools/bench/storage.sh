#!/bin/bash
# Chunk store benchmark: sequential 1 GiB put/get through libglory over 6 local data servers
# (ec:4+2 and rep:3), 4 KiB puts/gets, rebuild speed after a server loss; beside fio on the same
# filesystem and the CPU stages (HMAC-SHA256, EC encode, CRC32C) alone, in the same run.
#
#   tools/bench/storage.sh [SIZE_MiB (default 1024)]
# Prints a Markdown block to paste into docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB=${1:-1024}
BUILD=${BUILD:-build}
G=$BUILD/bin/glory
B=$BUILD/bin/bench_storage
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-bench.XXXXXX")
trap '$G dev down --dir $W/c >/dev/null 2>&1 || true; rm -rf $W' EXIT

echo "## Chunk store benchmark, $(date -u +%F)"
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM,"
echo "filesystem $(df -T "$W" | awk 'NR==2 {print $2 " on " $1}'). Command: \`tools/bench/storage.sh $SIZE_MB\`."
echo
echo '```'
echo "# fio on the same filesystem (the raw-disk reference), ${SIZE_MB} MiB, 1 MiB blocks"
fio --name=w --directory="$W" --rw=write --bs=1M --size=${SIZE_MB}M --end_fsync=1 \
	--ioengine=psync --output-format=terse --terse-version=3 | awk -F';' '{printf "fio seq write: %.1f MB/s\n", $7/1000*1.024}'
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
fio --name=w --directory="$W" --rw=read --bs=1M --size=${SIZE_MB}M \
	--ioengine=psync --output-format=terse --terse-version=3 | awk -F';' '{printf "fio seq read:  %.1f MB/s (page cache dropped: %s)\n", $7/1000*1.024, "'"$( [ -w /proc/sys/vm/drop_caches ] && echo yes || echo no)"'"}'
rm -f "$W"/w.*
echo
echo "# CPU stages alone, one core"
$B stages
echo
$G dev up --dir "$W/c" --ds 6 --out-after 5 --repair-every 2 >/dev/null
. "$W/c/env"
export GLORY_MASTER
sleep 2
for red in ec:4+2 rep:3; do
	$B put --size $((SIZE_MB << 20)) --redundancy $red --out "$W/id"
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
	$B get --id "$(cat "$W/id")"
done
$B small --count 2000 --threads 1 --redundancy ec:4+2
$B small --count 4000 --threads 8 --redundancy ec:4+2
$B small --count 4000 --threads 8 --redundancy rep:3

echo
echo "# rebuild after a data server loss (ec:4+2 data from above; 7th server to rebuild onto)"
$G dev kill --dir "$W/c" ds2
t0=$(date +%s.%N)
rb() { $G status | awk '/^repair:/ {print $2, $6}' | tr -d '('; }
while ! $G status | grep -q ' out '; do sleep 0.5; done
t1=$(date +%s.%N)
while :; do
	deg=$($G status | awk '/^degraded stripes:/ {print $3}')
	n=$($G status | awk '/^repair:/ {print $2}')
	[ "$deg" = 0 ] && [ "$n" -gt 0 ] && break
	sleep 0.5
done
t2=$(date +%s.%N)
$G status | grep '^repair:'
echo "marked out after $(echo "$t1 - $t0" | bc) s; full redundancy $(echo "$t2 - $t1" | bc) s after that"
bytes=$($G status | awk '/^repair:/ {print $5, $6}')
echo "rebuilt: $bytes in $(echo "$t2 - $t1" | bc) s"
echo '```'

#!/bin/bash
# Chunk store benchmark: sequential put/get through libglory over 6 local data servers (ec:4+2
# and rep:3), 4 KiB puts/gets, and rebuild speed after a server loss; beside fio on the same
# filesystem and the CPU stages (HMAC-SHA256, EC encode, CRC32C) alone, in the same run.
#
#   tools/bench/storage.sh [SIZE_MiB (default 1024)]
# Prints a Markdown block for docs/performance.md. Needs a built tree (make build) and fio.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB=${1:-1024}
BUILD=${BUILD:-build}
G=$BUILD/bin/glory
B=$BUILD/bin/bench_storage
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-bench.XXXXXX")
trap '$G dev down --dir $W/c >/dev/null 2>&1 || true; $G dev down --dir $W/r >/dev/null 2>&1 || true; rm -rf $W' EXIT
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
fio_json() { # fio_json JOBS rw bs size extra... -> JSON of the group
	local jobs=$1 rw=$2 bs=$3 size=$4
	shift 4
	fio --name=ref --directory="$W" --rw="$rw" --bs="$bs" --size="$size" --numjobs="$jobs" \
		--group_reporting --ioengine=psync --output-format=json "$@" 2>/dev/null
}
pyget() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; print('%.0f' % ($1))"; }

echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, filesystem $(df -T "$W" | awk 'NR==2 {print $2}') on $(df "$W" | awk 'NR==2 {print $1}')."
echo "Command: \`tools/bench/storage.sh $SIZE_MB\` ($(date -u +%F))"
echo
echo '```'
# six writers, like six data servers, each with its share, fsync at the end
fw=$(fio_json 6 write 1M $((SIZE_MB / 6))M --end_fsync=1 | pyget "j['write']['bw_bytes']/1e6")
drop
fr=$(fio_json 6 read 1M $((SIZE_MB / 6))M | pyget "j['read']['bw_bytes']/1e6")
rm -f "$W"/ref.*
fs=$(fio_json 1 write 4k 16M --fsync=1 | pyget "j['write']['iops']")
rm -f "$W"/ref.*
echo "fio reference, same filesystem, 6 jobs, 1 MiB blocks: write $fw MB/s (end_fsync), read $fr MB/s (cold cache)"
echo "fio reference, 4 KiB writes each followed by fsync, 1 job: $fs IOPS"
echo "raw-disk bounds: ec:4+2 write $((fw * 2 / 3)) MB/s (/1.5), rep:3 write $((fw / 3)) MB/s (/3)"
echo
echo "CPU stages alone, one thread:"
$B stages | sed 's/^/  /'
echo
$G dev up --dir "$W/c" --ds 6 >/dev/null 2>&1
. "$W/c/env"
export GLORY_MASTER
for red in ec:4+2 rep:3; do
	$B put --size $((SIZE_MB << 20)) --redundancy $red --out "$W/id"
	drop
	$B get --id "$(cat "$W/id")"
	$B get --id "$(cat "$W/id")" | sed 's/^get/get (warm cache)/'
done
$B small --count 2000 --threads 1 --redundancy ec:4+2
$B small --count 4000 --threads 8 --redundancy ec:4+2
$B small --count 4000 --threads 8 --redundancy rep:3
$G dev down --dir "$W/c" >/dev/null 2>&1
rm -rf "$W/c"

echo
echo "Rebuild: 7 data servers, ${SIZE_MB} MiB in ec:4+2, one server killed (out after 2 s):"
$G dev up --dir "$W/r" --ds 7 --out-after 2 --repair-every 1 >/dev/null 2>&1
. "$W/r/env"
$B put --size $((SIZE_MB << 20)) --redundancy ec:4+2 --out "$W/id" >/dev/null
sleep 3
$G dev kill --dir "$W/r" ds3
t0=$(date +%s.%N)
until $G status | grep -q ' out '; do sleep 0.2; done
t1=$(date +%s.%N)
# full redundancy: no degraded stripe left and the rebuilt counter settled; the time is that of
# the last counter change (status is refreshed by 1 s heartbeats)
last=-1
tlast=$t1
while :; do
	st=$($G status)
	n=$(echo "$st" | awk '/^repair:/ {print $2}')
	deg=$(echo "$st" | awk '/^degraded stripes:/ {sub(",", "", $3); print $3}')
	now=$(date +%s.%N)
	if [ "$n" != "$last" ]; then last=$n; tlast=$now; fi
	if [ "$deg" = 0 ] && [ "$n" -gt 0 ] && [ "$(echo "$now - $tlast > 3" | bc)" = 1 ]; then break; fi
	sleep 0.2
done
t2=$tlast
line=$($G status | grep '^repair:')
echo "  $line"
/usr/bin/python3 - "$line" "$t0" "$t1" "$t2" <<'PY'
import re, sys
line, t0, t1, t2 = sys.argv[1], *map(float, sys.argv[2:])
m = re.search(r'\(([\d.]+) (\w+)\)', line)
mult = {'B': 1, 'KiB': 2**10, 'MiB': 2**20, 'GiB': 2**30}[m.group(2)]
b = float(m.group(1)) * mult
print(f"  marked out {t1 - t0:.1f} s after the kill; full redundancy {t2 - t1:.1f} s later; "
      f"rebuild {b / (t2 - t1) / 1e6:.0f} MB/s of reconstructed fragments")
PY
$B get --id "$(cat "$W/id")" | sed 's/^/  after rebuild: /'
echo '```'

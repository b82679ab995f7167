#!/bin/bash
# FUSE benchmark: fio sequential 1 MiB write (end_fsync) and read, 4 KiB random read and write
# IOPS, and create/stat/unlink of 20,000 files (tools/bench/fsmeta.c), on
#   - the local filesystem (a directory),
#   - a trivial libfuse passthrough of a local directory (tools/bench/passthrough.c),
#   - a glory mount of a rep:1 volume without dedup (like for like with the passthrough),
#   - a glory mount of an ec:4+2 volume with dedup (what a user gets by default),
# all in the same run on the same machine. Caches are dropped before every read test.
#
#   tools/bench/fuse.sh [SIZE (default 2G)]
# Prints a Markdown block for docs/performance.md. Needs root, a built tree and fio.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=${1:-2G}
BUILD=${BUILD:-build}
G=$BUILD/bin/glory
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-fusebench.XXXXXX")
MNTS=()
cleanup() {
	for m in "${MNTS[@]}"; do fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	$G dev down --dir "$W/c" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# fio_one DIR NAME RW BS SIZE [more] -> "MB/s IOPS"
fio_one() {
	local dir=$1 name=$2 rw=$3 bs=$4 size=$5
	shift 5
	fio --name="$name" --directory="$dir" --rw="$rw" --bs="$bs" --size="$size" --ioengine=psync \
		--output-format=json "$@" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["write"] if j["write"]["io_bytes"] > 0 else j["read"]
print("%.0f %.0f" % (d["bw_bytes"] / 1e6, d["iops"]))'
}

# run_all LABEL DIR: one line of figures
# run_all LABEL DIR [PID,PID,...: the processes serving DIR, for CPU per metadata operation]
run_all() {
	local label=$1 dir=$2 pids=${3:-} sw sr rw rr
	sw=$(fio_one "$dir" seq write 1M "$SIZE" --end_fsync=1 | cut -d' ' -f1)
	drop
	sr=$(fio_one "$dir" seq read 1M "$SIZE" | cut -d' ' -f1)
	rm -f "$dir"/seq.*
	fio_one "$dir" rnd write 4k 256M --end_fsync=1 >/dev/null # lay the file out
	drop
	rr=$(fio_one "$dir" rnd randread 4k 256M --runtime=15 --time_based | cut -d' ' -f2)
	rw=$(fio_one "$dir" rnd randwrite 4k 256M --runtime=15 --time_based --end_fsync=1 | cut -d' ' -f2)
	rm -f "$dir"/rnd.*
	printf '%-34s seq write %5s MB/s  seq read %5s MB/s  4k randread %6s IOPS  4k randwrite %6s IOPS\n' \
		"$label" "$sw" "$sr" "$rr" "$rw"
	printf '%-34s ' "$label"
	"$BUILD/bin/fsmeta" "$dir" --threads 8 --files 2500 ${pids:+--cpu "$pids"} >"$W/fsmeta.out"
	awk '$1 != "cpu" {printf "%s %s/s  ", $1, $2} END {print "(20,000 files, 8 threads)"}' "$W/fsmeta.out"
	# CPU per create and per stat: fsmeta (with the kernel's work in its calls), then each pid
	awk -v l="$label" '$1 != "cpu" {ph = $1} $1 == "cpu" && ph != "unlink" {sub(/^ *cpu per op: /, ""); printf "%-34s %-6s CPU per op: %s\n", l, ph, $0}' "$W/fsmeta.out"
}

echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, filesystem $(df -T "$W" | awk 'NR==2 {print $2}')."
echo "Command: \`tools/bench/fuse.sh $SIZE\` ($(date -u +%F)); fio psync, one job; sequential $SIZE"
echo "with 1 MiB blocks (write with end_fsync), random 4 KiB over 256 MiB for 15 s."
echo
echo '```'
mkdir -p "$W/local" "$W/src" "$W/pt" "$W/g1" "$W/gec"
run_all "local filesystem" "$W/local"

"$BUILD/bin/passthrough" "$W/src" "$W/pt" -o allow_other,default_permissions
MNTS+=("$W/pt")
run_all "libfuse passthrough of a local dir" "$W/pt" "$(pgrep -f "passthrough $W/src" | head -n 1)"

"$G" dev up --dir "$W/c" --ds 6 --mds 1 >/dev/null 2>&1
# shellcheck disable=SC1091
. "$W/c/env"
export GLORY_MASTER
"$G" tenant create bench >/dev/null
"$G" volume create r1 --tenant bench --redundancy rep:1 --dedup off >/dev/null
"$G" volume create ec --tenant bench --redundancy ec:4+2 --dedup on >/dev/null
"$G" mount r1 "$W/g1" --tenant bench --log-file "$W/g1.log" >/dev/null 2>&1
MNTS+=("$W/g1")
mdpids=$(pgrep -f "glory mds --dir $W/c/" | paste -sd,)
run_all "glory rep:1, no dedup" "$W/g1" "$(pgrep -f "glory mount r1 $W/g1 " | head -n 1),$mdpids"
"$G" mount ec "$W/gec" --tenant bench --log-file "$W/gec.log" >/dev/null 2>&1
MNTS+=("$W/gec")
run_all "glory ec:4+2, dedup" "$W/gec" "$(pgrep -f "glory mount ec $W/gec " | head -n 1),$mdpids"

# Where the CPU goes per GiB written through each mount: the mount process (chunking, SHA-256,
# EC, sending), the data servers (receiving, CRC, writing), the metadata server (commits).
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
per_gib() { echo "scale=2; ($2 - $1) / $(getconf CLK_TCK) / $3" | bc | sed 's/^\./0./'; }
for v in g1:r1 gec:ec; do
	dir=$W/${v%%:*}
	mp=$(pgrep -f "glory mount ${v#*:} $dir " | head -n 1)
	dps=$(pgrep -f "glory ds --dir $W/c/" | xargs)
	mdp=$(pgrep -f "glory mds --dir $W/c/" | xargs)
	m0=$(cpu_ticks $mp) d0=$(cpu_ticks $dps) x0=$(cpu_ticks $mdp)
	dd if=/dev/urandom of="$W/rand.1g" bs=1M count=1024 status=none 2>/dev/null || true
	m0=$(cpu_ticks $mp) d0=$(cpu_ticks $dps) x0=$(cpu_ticks $mdp)
	dd if="$W/rand.1g" of="$dir/cpu.bin" bs=1M conv=fsync status=none
	m1=$(cpu_ticks $mp) d1=$(cpu_ticks $dps) x1=$(cpu_ticks $mdp)
	printf '%-34s CPU s per GiB written: mount %s, data servers %s, metadata %s\n' \
		"${v#*:} ($([ "${v#*:}" = ec ] && echo 'ec:4+2, dedup' || echo 'rep:1'))" \
		"$(per_gib "$m0" "$m1" 1)" "$(per_gib "$d0" "$d1" 1)" "$(per_gib "$x0" "$x1" 1)"
	rm -f "$dir/cpu.bin"
done
echo "reference, one core: $("$BUILD/bin/bench_storage" stages | grep -E 'hmac|ec-4|crc32c' | awk '{printf "%s %s MB/s  ", $2, $3}')"
echo '```'

#!/bin/bash
# NFS gateway benchmark: sequential 1 MiB write (then COMMIT) and read, 4 KiB random read and
# write IOPS, through libnfs with 16 requests in flight (tools/bench/nfsbench.c), beside fio on
# the local filesystem and on a FUSE mount of the same glory volume (rep:1, no dedup), in the
# same run on the same machine. Caches are dropped before every read test.
#
#   tools/bench/nfs.sh [SIZE_MIB (default 1024)] [INFLIGHT (default 16)]
# Prints a Markdown block for docs/performance.md. Needs root, a built tree and fio.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-1024}
QD=${2:-16}
BUILD=${BUILD:-build}
G=$BUILD/bin/glory
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-nfsbench.XXXXXX")
NFS_PID=
cleanup() {
	[ -n "$NFS_PID" ] && kill "$NFS_PID" 2>/dev/null && wait "$NFS_PID" 2>/dev/null
	fusermount3 -u "$W/fuse" 2>/dev/null || umount -l "$W/fuse" 2>/dev/null || true
	$G dev down --dir "$W/c" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
fio_one() { # fio_one DIR NAME RW BS SIZE [more] -> "MB/s IOPS"
	local dir=$1 name=$2 rw=$3 bs=$4 size=$5
	shift 5
	fio --name="$name" --directory="$dir" --rw="$rw" --bs="$bs" --size="$size" --ioengine=psync \
		--output-format=json "$@" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["write"] if j["write"]["io_bytes"] > 0 else j["read"]
print("%.0f %.0f" % (d["bw_bytes"] / 1e6, d["iops"]))'
}
line() {
	printf '%-40s seq write %5s MB/s  seq read %5s MB/s  4k randread %6s IOPS  4k randwrite %6s IOPS\n' "$@"
}
fio_all() { # fio_all LABEL DIR [iodepth-ish: numjobs]
	local label=$1 dir=$2 jobs=${3:-1} sw sr rw rr
	sw=$(fio_one "$dir" seq write 1M "${MIB}M" --end_fsync=1 | cut -d' ' -f1)
	drop
	sr=$(fio_one "$dir" seq read 1M "${MIB}M" | cut -d' ' -f1)
	rm -f "$dir"/seq.*
	fio_one "$dir" rnd write 4k 256M --end_fsync=1 >/dev/null
	drop
	rr=$(fio_one "$dir" rnd randread 4k 256M --runtime=15 --time_based --numjobs="$jobs" \
		--group_reporting | cut -d' ' -f2)
	rw=$(fio_one "$dir" rnd randwrite 4k 256M --runtime=15 --time_based --end_fsync=1 \
		--numjobs="$jobs" --group_reporting | cut -d' ' -f2)
	rm -f "$dir"/rnd.*
	line "$label" "$sw" "$sr" "$rr" "$rw"
}
nb() { "$BUILD/bin/nfsbench" 127.0.0.1 "$PORT" "$PORT" /bench/r1 "$@"; }

echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, filesystem $(df -T "$W" | awk 'NR==2 {print $2}')."
echo "Command: \`tools/bench/nfs.sh $MIB $QD\` ($(date -u +%F)); sequential $MIB MiB in 1 MiB"
echo "blocks (written, then fsync or COMMIT), random 4 KiB over 256 MiB for 15 s. fio psync,"
echo "one job (and $QD jobs for the random tests on the mount); libnfs $QD requests in flight."
echo
echo '```'
mkdir -p "$W/local" "$W/fuse"
fio_all "local filesystem" "$W/local"
"$G" dev up --dir "$W/c" --ds 3 --mds 1 >/dev/null 2>&1
# shellcheck disable=SC1091
. "$W/c/env"
export GLORY_MASTER
"$G" tenant create bench >/dev/null
"$G" volume create r1 --tenant bench --redundancy rep:1 --dedup off >/dev/null
"$G" mount r1 "$W/fuse" --tenant bench --log-file "$W/fuse.log" >/dev/null 2>&1
fio_all "glory FUSE mount, rep:1" "$W/fuse"
fio_all "glory FUSE mount, rep:1, $QD jobs" "$W/fuse" "$QD"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$G" nfs --listen 127.0.0.1 --port "$PORT" --mount-port "$PORT" --export bench/r1:no_root_squash \
	--log-file "$W/nfs.log" &
NFS_PID=$!
sleep 2
sw=$(nb seq.bin seqwrite "$MIB" "$QD" | cut -d' ' -f1)
drop
sr=$(nb seq.bin seqread "$MIB" "$QD" | cut -d' ' -f1)
nb rnd.bin seqwrite 256 "$QD" >/dev/null
drop
rr=$(nb rnd.bin randread 256 "$QD" 15 | cut -d' ' -f2)
rw=$(nb rnd.bin randwrite 256 "$QD" 15 | cut -d' ' -f2)
line "glory NFS (libnfs, $QD in flight), rep:1" "$sw" "$sr" "$rr" "$rw"
echo '```'

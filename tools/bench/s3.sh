#!/bin/bash
# S3 gateway benchmark: PUT and GET throughput of 1 MiB and 64 MiB objects with 1 and 8
# concurrent clients, and 4 KiB PUT and GET operations per second, beside the same bytes
# written and read through a FUSE mount of the same volume and on the local filesystem, in the
# same run on the same machine. The S3 client is curl (SigV4, UNSIGNED-PAYLOAD, one keep-alive
# connection per client); writes are durable when they return (S3 PUT, close + fsync on the
# mount and on the local disk). Caches are dropped before every read.
#
#   tools/bench/s3.sh [BIG_MIB (default 512)] [SMALL_OPS (default 1000)]
# BIG_MIB is the total of each throughput test (64 MiB objects: BIG_MIB/64 of them; 1 MiB
# objects: BIG_MIB/2 of them). REDUNDANCY (default rep:1) and DEDUP (default off) set the
# volume's policy. Prints a Markdown block for docs/performance.md. Needs root and a built tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-512}
SMALL=${2:-1000}
RED=${REDUNDANCY:-rep:1}
DEDUP=${DEDUP:-off}
BUILD=${BUILD:-build}
G=$BUILD/bin/glory
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-s3bench.XXXXXX")
SRC=$(mktemp -d /dev/shm/glory-s3bench.XXXXXX)
S3_PID=
cleanup() {
	[ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	fusermount3 -u "$W/fuse" 2>/dev/null || umount -l "$W/fuse" 2>/dev/null || true
	$G dev down --dir "$W/c" >/dev/null 2>&1 || true
	rm -rf "$W" "$SRC"
}
trap cleanup EXIT

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
rate() { # rate START BYTES_OR_OPS [DIVISOR]: per second since START (divided by DIVISOR)
	awk -v s="$1" -v e="$(now)" -v n="$2" -v d="${3:-1}" 'BEGIN {printf "%.0f", n / d / (e - s)}'
}

# Source objects in memory: 8 distinct 64 MiB files and 1 MiB files cut from them, one 4 KiB.
for i in 0 1 2 3 4 5 6 7; do head -c 64M /dev/urandom >"$SRC/big$i"; done
for i in 0 1 2 3 4 5 6 7; do head -c 1M "$SRC/big$i" >"$SRC/mid$i"; done
head -c 4096 /dev/urandom >"$SRC/small"
NBIG=$((MIB / 64))
NMID=$((MIB / 2))

# objects SIZE: the object count and source prefix for a size ("64M" or "1M")
objects() { if [ "$1" = 64M ]; then echo "$NBIG big"; else echo "$NMID mid"; fi; }

# --- files: the mount and the local disk (dd, 1 MiB blocks) ---
file_put() { # file_put DIR SIZE CLIENTS -> MB/s
	local dir=$1 n src c t i
	read -r n src <<<"$(objects "$2")"
	t=$(now)
	for ((c = 0; c < $3; c++)); do
		(for ((i = c; i < n; i += $3)); do
			dd if="$SRC/$src$((i % 8))" of="$dir/o$2-$i" bs=1M conv=fsync status=none
		done) &
	done
	wait
	rate "$t" "$((n * ${2%M} * 1048576))" 1e6
}
file_get() { # file_get DIR SIZE CLIENTS -> MB/s
	local dir=$1 n src c t i
	read -r n src <<<"$(objects "$2")"
	drop
	t=$(now)
	for ((c = 0; c < $3; c++)); do
		(for ((i = c; i < n; i += $3)); do
			dd if="$dir/o$2-$i" of=/dev/null bs=1M status=none
		done) &
	done
	wait
	rate "$t" "$((n * ${2%M} * 1048576))" 1e6
}
file_small() { # file_small DIR CLIENTS -> "PUT/s GET/s"
	local dir=$1 c t i p
	mkdir -p "$dir/small"
	t=$(now)
	for ((c = 0; c < $2; c++)); do
		(for ((i = c; i < SMALL; i += $2)); do
			dd if="$SRC/small" of="$dir/small/s$i" bs=4k conv=fsync status=none
		done) &
	done
	wait
	p=$(rate "$t" "$SMALL")
	drop
	t=$(now)
	for ((c = 0; c < $2; c++)); do
		(for ((i = c; i < SMALL; i += $2)); do
			dd if="$dir/small/s$i" of=/dev/null bs=4k status=none
		done) &
	done
	wait
	echo "$p $(rate "$t" "$SMALL")"
}

# --- S3: curl with SigV4; each client is one curl process with one keep-alive connection ---
s3_run() { # s3_run CLIENTS CFGPREFIX: runs CFGPREFIX.0 .. CFGPREFIX.(CLIENTS-1) at once
	local c
	for ((c = 0; c < $1; c++)); do
		[ -s "$2.$c" ] || continue
		curl -sS --fail --aws-sigv4 aws:amz:us-east-1:s3 --user "$AK:$SK" \
			-H x-amz-content-sha256:UNSIGNED-PAYLOAD -K "$2.$c" >/dev/null &
	done
	wait
}
s3_cfg() { # s3_cfg CLIENTS PREFIX N KEYFMT [SRCFMT]: writes curl configs, object i to client i%CLIENTS
	local c i
	for ((c = 0; c < $1; c++)); do :>"$2.$c"; done
	for ((i = 0; i < $3; i++)); do
		c=$((i % $1))
		# shellcheck disable=SC2059
		printf "url = \"$URL/$4\"\n" "$i" >>"$2.$c"
		# shellcheck disable=SC2059
		[ -n "${5:-}" ] && printf "upload-file = \"$5\"\n" "$((i % 8))" >>"$2.$c"
		echo "output = /dev/null" >>"$2.$c"
	done
}
s3_put() { # s3_put SIZE CLIENTS -> MB/s
	local n src t
	read -r n src <<<"$(objects "$1")"
	s3_cfg "$2" "$W/cfg" "$n" "o$1-$2-%d" "$SRC/$src%d"
	t=$(now)
	s3_run "$2" "$W/cfg"
	rate "$t" "$((n * ${1%M} * 1048576))" 1e6
}
s3_get() { # s3_get SIZE CLIENTS -> MB/s
	local n src t
	read -r n src <<<"$(objects "$1")"
	s3_cfg "$2" "$W/cfg" "$n" "o$1-$2-%d"
	drop
	t=$(now)
	s3_run "$2" "$W/cfg"
	rate "$t" "$((n * ${1%M} * 1048576))" 1e6
}
s3_small() { # s3_small CLIENTS -> "PUT/s GET/s"
	local t p
	s3_cfg "$1" "$W/cfg" "$SMALL" "small-$1/s%d" "$SRC/small"
	t=$(now)
	s3_run "$1" "$W/cfg"
	p=$(rate "$t" "$SMALL")
	s3_cfg "$1" "$W/cfg" "$SMALL" "small-$1/s%d"
	drop
	t=$(now)
	s3_run "$1" "$W/cfg"
	echo "$p $(rate "$t" "$SMALL")"
}

line() {
	printf '%-26s %2s client(s)  PUT 64 MiB %5s MB/s  1 MiB %5s MB/s  GET 64 MiB %5s MB/s  1 MiB %5s MB/s  4 KiB PUT %5s/s  GET %5s/s\n' "$@"
}
files() { # files LABEL DIR CLIENTS
	local p64 p1 g64 g1 small
	p64=$(file_put "$2" 64M "$3")
	p1=$(file_put "$2" 1M "$3")
	g64=$(file_get "$2" 64M "$3")
	g1=$(file_get "$2" 1M "$3")
	small=$(file_small "$2/c$3" "$3")
	rm -rf "${2:?}"/o* "${2:?}/c$3"
	# shellcheck disable=SC2086
	line "$1" "$3" "$p64" "$p1" "$g64" "$g1" $small
}
s3() { # s3 CLIENTS
	local p64 p1 g64 g1 small
	p64=$(s3_put 64M "$1")
	p1=$(s3_put 1M "$1")
	g64=$(s3_get 64M "$1")
	g1=$(s3_get 1M "$1")
	small=$(s3_small "$1")
	# shellcheck disable=SC2086
	line "glory S3 (curl)" "$1" "$p64" "$p1" "$g64" "$g1" $small
}

echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, filesystem $(df -T "$W" | awk 'NR==2 {print $2}')."
echo "Command: \`tools/bench/s3.sh $MIB $SMALL\` ($(date -u +%F)); volume $RED, dedup $DEDUP;"
echo "$MIB MiB per throughput test ($NBIG x 64 MiB, $NMID x 1 MiB), $SMALL 4 KiB objects."
echo
echo '```'
mkdir -p "$W/local" "$W/fuse"
files "local filesystem" "$W/local" 1
files "local filesystem" "$W/local" 8
"$G" dev up --dir "$W/c" --ds 6 --mds 1 >/dev/null 2>&1
# shellcheck disable=SC1091
. "$W/c/env"
export GLORY_MASTER
"$G" tenant create bench >/dev/null
"$G" volume create default --tenant bench --redundancy "$RED" --dedup "$DEDUP" >/dev/null
KEY=$("$G" key create --tenant bench)
AK=$(awk '/^access key:/ {print $3}' <<<"$KEY")
SK=$(awk '/^secret:/ {print $2}' <<<"$KEY")
"$G" mount default "$W/fuse" --tenant bench --log-file "$W/fuse.log" >/dev/null 2>&1
mkdir -p "$W/fuse/bench"
files "glory FUSE mount" "$W/fuse/bench" 1
files "glory FUSE mount" "$W/fuse/bench" 8
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$G" s3 --listen "127.0.0.1:$PORT" --log-file "$W/s3.log" &
S3_PID=$!
URL=http://127.0.0.1:$PORT/bench
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
s3 1
s3 8
echo '```'

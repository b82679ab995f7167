#!/bin/bash
# Metadata benchmark: mdtest-style create, stat, readdir, rename, unlink through libglory
# against one shard of three metadata servers (raft, same machine), with 1 and 8 client
# threads, the client cache off and on; then three shards of three, one volume (and one mdtest)
# per shard; RocksDB bytes per file; time to a new leader after kill -9 of the leader; beside
# the same create/stat/unlink on the local filesystem, a shard of one member, and the fsync rate
# of one and of three writers (what raft logs on one disk need), and etcd (Debian's
# etcd-server: Raft of three members on this machine, puts from 8 and 64 client threads) as a
# peer system doing the simplest replicated write there is.
#
#   tools/bench/metadata.sh [FILES_PER_THREAD (default 2000)]
# Prints a Markdown block for docs/performance.md. Needs a built tree (make build) and fio.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000}
BUILD=${BUILD:-build}
G=$BUILD/bin/glory
M=$BUILD/bin/mdtest
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/glory-mdbench.XXXXXX")
trap 'pkill -f "etcd --name bench[0-2] --data-dir $W" || true; for c in c one three; do $G dev down --dir $W/$c >/dev/null 2>&1 || true; done; rm -rf $W' EXIT

# etcd, three members on 127.0.0.1 (ports 23790-2, peers 23800-2), puts through its JSON gateway
etcd_reference() {
	local ic="bench0=http://127.0.0.1:23800,bench1=http://127.0.0.1:23801,bench2=http://127.0.0.1:23802"
	local i leader pids
	if ! command -v etcd >/dev/null; then
		echo "reference: etcd not installed (apt-get install etcd-server etcd-client): skipped"
		return
	fi
	for i in 0 1 2; do
		etcd --name bench$i --data-dir "$W/etcd$i" --log-level error \
			--listen-client-urls http://127.0.0.1:2379$i --advertise-client-urls http://127.0.0.1:2379$i \
			--listen-peer-urls http://127.0.0.1:2380$i --initial-advertise-peer-urls http://127.0.0.1:2380$i \
			--initial-cluster "$ic" --initial-cluster-state new >"$W/etcd$i.log" 2>&1 &
	done
	for _ in $(seq 100); do
		leader=$(ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:23790,127.0.0.1:23791,127.0.0.1:23792 \
			endpoint status 2>/dev/null | awk -F', ' '$5 == "true" {print $1; exit}')
		[ -n "$leader" ] && break
		sleep 0.1
	done
	pids=$(pgrep -f "etcd --name bench[0-2] --data-dir $W" | paste -sd,)
	echo "reference: etcd $(etcd --version | awk '/etcd Version/ {print $3}'), 3 members on this machine (pids $pids), leader $leader, 200-byte values:"
	for threads in 8 64; do
		echo "  $threads client threads, each its own HTTP connection to the leader's JSON gateway"
		"$BUILD/bin/etcdput" --endpoint "$leader" --threads $threads --puts $((16000 / threads)) --cpu "$pids" | sed 's/^/  /'
	done
	pkill -f "etcd --name bench[0-2] --data-dir $W" || true
	wait 2>/dev/null || true
}


echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, filesystem $(df -T "$W" | awk 'NR==2 {print $2}')."
echo "Command: \`tools/bench/metadata.sh $N\` ($(date -u +%F))"
echo
echo '```'
fs=$(fio --name=ref --directory="$W" --rw=write --bs=4k --size=8M --fsync=1 --ioengine=psync \
	--output-format=json 2>/dev/null | /usr/bin/python3 -c "import json,sys; print('%.0f' % json.load(sys.stdin)['jobs'][0]['write']['iops'])")
rm -f "$W"/ref.*
echo "reference: 4 KiB writes each followed by fsync on this filesystem: $fs/s"
fs3=$(fio --name=ref --directory="$W" --rw=write --bs=4k --size=4M --fsync=1 --ioengine=psync \
	--numjobs=3 --group_reporting --output-format=json 2>/dev/null | /usr/bin/python3 -c "import json,sys; print('%.0f' % json.load(sys.stdin)['jobs'][0]['write']['iops'])")
rm -f "$W"/ref.*
echo "reference: the same with three writers at once (three raft logs on one disk): $fs3/s in all"
# local filesystem: 8 threads creating, stating, unlinking files (a shell loop per thread)
mkdir -p "$W/local"
t0=$(date +%s.%N)
for t in $(seq 1 8); do (mkdir "$W/local/$t" && cd "$W/local/$t" && for i in $(seq 1 "$N"); do : >"f$i"; done) & done
wait
t1=$(date +%s.%N)
echo "reference: $($BUILD/bin/bench_storage rpc-small)"
etcd_reference
echo "reference: $($BUILD/bin/md_apply --files 100000 --dir "$W")"
echo "reference: local filesystem, 8 shell loops creating $((8 * N)) files: $(echo "8 * $N / ($t1 - $t0)" | bc) creates/s (bounded by the shell)"
rm -rf "$W/local"

# a shard of one member: the same code without replication
"$G" dev up --dir "$W/one" --ds 3 --mds 1 >/dev/null 2>&1
(
	# shellcheck disable=SC1091
	. "$W/one/env"
	export GLORY_MASTER
	"$G" tenant create bench >/dev/null
	"$G" volume create md --tenant bench --redundancy rep:1 >/dev/null
	# bytes per file: a fresh database, a storm that leaves files behind
	before=$(du -sb "$W"/one/mds0/db | cut -f1)
	GLORY_MDCACHE=0 "$M" storm --volume md --tenant bench --threads 8 --seconds 10 --log "$W/storm.log" >/dev/null
	kept=$("$G" ls --tenant bench md/storm | wc -l)
	sleep 2
	after=$(du -sb "$W"/one/mds0/db | cut -f1)
	echo "RocksDB: $(((after - before) / (kept > 0 ? kept : 1))) bytes per file kept ($kept files; WAL, memtable and request outcomes included)"
	echo "--- reference: 1 shard of 1 member, 8 threads, client cache off, $N files per thread"
	GLORY_MDCACHE=0 "$M" run --volume md --tenant bench --threads 8 --files "$N" \
		--cpu "$(pgrep -f "glory mds --dir $W/one/" | paste -sd,)" | grep -A1 create
)
"$G" dev down --dir "$W/one" >/dev/null 2>&1

# three shards of three: a volume on each, one mdtest per volume at once
"$G" dev up --dir "$W/three" --ds 3 --shards 3 --mds 3 >/dev/null 2>&1
(
	# shellcheck disable=SC1091
	. "$W/three/env"
	export GLORY_MASTER
	"$G" tenant create bench >/dev/null
	for v in s0 s1 s2; do "$G" volume create $v --tenant bench --redundancy rep:1 >/dev/null; done
	for threads in 1 8; do
		echo "--- 3 shards of 3, a volume on each, $threads thread(s) per volume, client cache off, $N files per thread"
		for v in s0 s1 s2; do
			GLORY_MDCACHE=0 "$M" run --volume $v --tenant bench --threads $threads --files "$N" >"$W/$v.out" &
		done
		wait
		for op in create stat rename unlink; do
			awk -v op=$op '$1 == op {s += $2} END {printf "%s %d/s   ", op, s}' "$W"/s?.out
		done
		echo "(sums of the three)"
	done
)
"$G" dev down --dir "$W/three" >/dev/null 2>&1

"$G" dev up --dir "$W/c" --ds 3 --mds 3 >/dev/null 2>&1
# shellcheck disable=SC1091
. "$W/c/env"
export GLORY_MASTER
"$G" tenant create bench >/dev/null
"$G" volume create md --tenant bench --redundancy rep:1 >/dev/null
for threads in 1 8; do
	for cache in 0 1; do
		echo "--- 1 shard of 3, $threads thread(s), client cache $([ $cache = 1 ] && echo on || echo off), $N files per thread"
		GLORY_MDCACHE=$cache "$M" run --volume md --tenant bench --threads $threads --files "$N" \
			--cpu "$(pgrep -f "glory mds --dir $W/c/" | paste -sd,)" | tail -n +2
	done
done
# a new leader after kill -9 of the leader
L=$("$G" shard status | awk '$5 == "leader" {print $2; exit}')
"$G" dev kill --dir "$W/c" "mds$((L - 1))" >/dev/null
t0=$(date +%s.%N)
until "$G" shard status 2>/dev/null | awk '$5 == "leader" {f = 1} END {exit !f}'; do sleep 0.05; done
t1=$(date +%s.%N)
echo "new leader $(echo "$t1 - $t0" | bc | sed 's/^\./0./') s after kill -9 of the leader (election timeout 1 s)"
echo '```'

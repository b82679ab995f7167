#!/bin/bash
# VM disks: `glory disk` and nbdkit's glory plugin with real NBD clients - nbdinfo --map,
# nbdcopy and qemu-img round trips, qemu-io patterns, fio with the nbd engine and verify, trim
# and zero (holes, space freed), clones and snapshots (copy-on-write, the source deleted), raw
# and qcow2 import/export with dedup across disks, kill -9 of nbdkit after a flush (also
# through another connection: multi-conn) and of a data server under fio, bad requests
# (tests/nbd/nbd_check.py over libnbd), and a libvirt test-driver domain with an NBD disk.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(dirname "$GLORY")
export GLORY_NBD_PLUGIN=${GLORY_NBD_PLUGIN:-$BIN/../lib/nbdkit-glory-plugin.so}
PY=/usr/bin/python3 # python3-libnbd is Debian's
# an ASan build of the plugin runs inside nbdkit: nbdkit (and only nbdkit: qemu's coroutines
# upset ASan) loads the runtime first
ASAN_RT=
if ldd "$GLORY_NBD_PLUGIN" | grep -q libasan; then
	ASAN_RT=$(ldd "$GLORY_NBD_PLUGIN" | awk '/libasan/ {print $3}')
fi
with_rt() { if [ -n "$ASAN_RT" ]; then LD_PRELOAD=$ASAN_RT ASAN_OPTIONS=detect_leaks=0 "$@"; else "$@"; fi; }
declare -A SERVE_PID
g() { with_rt "$GLORY" "$@" --tenant t; }
uri() { echo "nbd+unix:///?socket=$T/$1.sock"; }
serve() { # serve DISK [glory disk serve options]: nbdkit in the background, log in $D/nbd-*/log
	local name=$1 dir=$D/nbd-${1//@/_}
	shift
	mkdir -p "$dir"
	rm -f "$T/$name.sock"
	# exec: $! is nbdkit itself (glory execs it), so unserve waits for its last flush
	(
		[ -z "$ASAN_RT" ] || export LD_PRELOAD=$ASAN_RT ASAN_OPTIONS=detect_leaks=0
		exec "$GLORY" disk serve "v/$name" --tenant t --unix "$T/$name.sock" "$@" >>"$dir/log" 2>&1
	) &
	SERVE_PID[$name]=$!
	wait_for 20 "nbdkit serving $name" nbdinfo --can connect "$(uri "$name")"
}
unserve() { # unserve DISK [SIGNAL]
	local pid=${SERVE_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "SERVE_PID[$1]"
}
trap 'rc=$?; set +e; for n in "${!SERVE_PID[@]}"; do unserve "$n" KILL; done; (exit $rc); cleanup' EXIT
stored() { g disk info "v/$1" | awk '$1 == "data" {print $2}'; }
map_of() { nbdinfo --map "$(uri "$1")" | awk '{print $1, $2, $4}'; }

cluster_up --ds 4 --mds 1
"$GLORY" tenant create t >/dev/null
"$GLORY" volume create v --tenant t --redundancy rep:2 >/dev/null

say "disk create, ls, info, resize, rm"
check "create 64M" g disk create v/d1 --size 64M
check "create again: EEXIST" bash -c '! "$GLORY" disk create v/d1 --size 1M --tenant t 2>/dev/null'
check "a bad name is refused" bash -c '! "$GLORY" disk create v/.x --size 1M --tenant t 2>/dev/null'
check "no size: usage error" bash -c '"$GLORY" disk create v/z --tenant t 2>/dev/null; [ $? = 2 ]'
check "ls lists it" bash -c '"$GLORY" disk ls v --tenant t | grep -qx v/d1'
check "info: size, no data" bash -c '"$GLORY" disk info v/d1 --tenant t | grep -qx "size 67108864" &&
	"$GLORY" disk info v/d1 --tenant t | grep -qx "data 0"'
g disk create v/tmp --size 1G >/dev/null
check "resize to 2G" g disk resize v/tmp --size 2G
check "info shows 2G" bash -c '"$GLORY" disk info v/tmp --tenant t | grep -qx "size 2147483648"'
check "rm" g disk rm v/tmp
check "info of a removed disk fails" bash -c '! "$GLORY" disk info v/tmp --tenant t 2>/dev/null'
check "disk --help" bash -c '"$GLORY" disk --help | grep -q snapshot'

say "nbdinfo, nbdcopy, qemu-img"
serve d1
U=$(uri d1)
check "nbdinfo: size, multi-conn, fua, fast zero" bash -c "nbdinfo '$U' | grep -q 'export-size: 67108864' &&
	nbdinfo '$U' | grep -q 'can_multi_conn: true' && nbdinfo '$U' | grep -q 'can_fua: true' &&
	nbdinfo '$U' | grep -q 'can_fast_zero: true' && nbdinfo '$U' | grep -q 'block_size_preferred: 4096'"
check "a new disk is one hole" bash -c "[ \"\$(nbdinfo --map '$U' | awk '{print \$1, \$2, \$4}')\" = '0 67108864 hole,zero' ]"
mkrand "$T/a.img" 20M
dd if=/dev/urandom of="$T/a.img" bs=1M seek=40 count=3 conv=notrunc status=none
truncate -s 64M "$T/a.img"
check "nbdcopy in (--flush)" nbdcopy --flush "$T/a.img" "$U"
check "map: data where written, holes elsewhere" bash -c "nbdinfo --map '$U' | awk '{print \$1, \$2, \$4}' | tr '\n' ';' |
	grep -qx '0 20971520 data;20971520 20971520 hole,zero;41943040 3145728 data;45088768 22020096 hole,zero;'"
check "nbdcopy out: same bytes" bash -c "nbdcopy '$U' '$T/b.img' && cmp '$T/a.img' '$T/b.img'"
check "qemu-img compare" qemu-img compare -q -f raw -F raw "$T/a.img" "$U"
check "info counts 23 MiB of data ($(stored d1))" [ "$(stored d1)" = 24117248 ]

say "qemu-io: small random writes, flushed, then kill -9 of nbdkit"
QIO=$T/qio.writes
: >"$QIO"
RANDOM=7
for i in $(seq 0 199); do
	# slot i of 200 disjoint 8 KiB slots spread over the disk, an unaligned 3000-byte write
	echo "write -P $((i % 250 + 1)) $((i * 320 * 1024 + (RANDOM % 4000))) 3000" >>"$QIO"
done
mapfile -t W <"$T/qio.writes"
args=()
for c in "${W[@]}"; do args+=(-c "$c"); done
check "200 random unaligned writes and a flush" bash -c 'qemu-io -f raw "$@" -c flush "$0" >/dev/null' "$U" "${args[@]}"
unserve d1 KILL
serve d1
vargs=()
for c in "${W[@]}"; do vargs+=(-c "${c/write/read}"); done
check "every flushed write reads back after kill -9 of nbdkit" bash -c '! qemu-io -f raw "$@" "$0" | grep -q -i "pattern verification failed\|error"' "$U" "${vargs[@]}"
check "the bytes around them are untouched" bash -c "nbdcopy '$U' '$T/c.img' && cmp -s -n 1000 '$T/a.img' '$T/c.img'"

say "compaction: 600 small writes into one slice, flushed in batches of 100"
args=()
vargs=()
for i in $(seq 0 599); do
	args+=(-c "write -P $((i % 200 + 1)) $((48 * 1048576 + i * 6000)) 700")
	vargs+=(-c "read -P $((i % 200 + 1)) $((48 * 1048576 + i * 6000)) 700")
	[ $((i % 100)) = 99 ] && args+=(-c flush)
done
check "600 writes of 700 bytes" bash -c 'qemu-io -f raw "$@" "$0" >/dev/null' "$U" "${args[@]}"
sleep 3 # the background flusher stores the compacted slice
unserve d1
check "the fragmented slice was compacted" grep -q "compactions [1-9]" "$D/nbd-d1/log"
serve d1
check "every small write reads back from the compacted slice" bash -c '! qemu-io -f raw "$@" "$0" | grep -q -i "pattern verification failed\|error"' "$U" "${vargs[@]}"

say "trim and zero: holes that read as zeros and free space"
before=$(stored d1)
check "trim 4 MiB, zero 2 MiB (fast)" qemu-io -f raw -c "discard 0 4M" -c "write -z -f 8M 2M" -c "read -P 0 0 4M" -c "read -P 0 8M 2M" "$U"
check "both are holes in the map" bash -c "nbdinfo --map '$U' | awk '\$1 == 0 && \$2 >= 4194304 && \$4 == \"hole,zero\"' | grep -q . &&
	nbdinfo --map '$U' | awk '\$1 <= 8388608 && \$1 + \$2 >= 10485760 && \$4 == \"hole,zero\"' | grep -q ."
check "space freed ($before -> $(stored d1))" bash -c "[ $(stored d1) -le $((before - 6 * 1048576)) ]"

say "bad requests and multi-conn"
check_py() { # check_py ARGS...: nbd_check.py's own checks, shown
	if $PY "$SRC/tests/nbd/nbd_check.py" "$@" >"$T/py.out" 2>&1; then
		ok "nbd_check $2 ($(grep -c '^ok' "$T/py.out") checks)"
	else
		fail "nbd_check $2"
		cat "$T/py.out"
	fi
}
check_py "$U" bad
check_py "$U" multiconn-write
unserve d1 KILL
serve d1
check_py "$U" multiconn-read

say "fio with the nbd engine and verify; kill -9 of a data server under it"
g disk create v/f1 --size 256M >/dev/null
serve f1
FIO="fio --ioengine=nbd --uri=$(uri f1) --name=f --iodepth=16 --size=64M --verify=crc32c --verify_fatal=1 --verify_state_save=0 --group_reporting"
check "fio randwrite 4k QD16 with verify" $FIO --rw=randwrite --bs=4k --output="$T/fio1.out"
$FIO --rw=randwrite --bs=16k --offset=64M --fsync=64 --output="$T/fio2.out" &
FIO_PID=$!
sleep 2
kill -9 "$(ds_pid ds1)"
if wait $FIO_PID; then ok "fio verify through kill -9 of a data server"; else
	fail "fio verify through kill -9 of a data server"
	tail -20 "$T/fio2.out"
fi
check "fio --verify_only: every block reads back after the server's death" $FIO --rw=randwrite --bs=16k --offset=64M --verify_only --output="$T/fio3.out"
"$GLORY" dev start --dir "$D" >/dev/null 2>&1 || true

say "clones and snapshots"
g disk create v/base --size 32M >/dev/null
serve base
mkrand "$T/base.img" 32M
nbdcopy "$T/base.img" "$(uri base)"
unserve base
check "snapshot base@s1" g disk snapshot v/base@s1
check "clone base@s1 -> vm1" g disk clone v/base@s1 v/vm1
check "clone base -> vm2" g disk clone v/base v/vm2
check "ls -l shows the snapshot" bash -c '"$GLORY" disk ls v -l --tenant t | grep -q "^base@s1 .*snapshot"'
serve vm1
check "the clone reads as its source" qemu-img compare -q -f raw -F raw "$T/base.img" "$(uri vm1)"
check "the clone diverges" qemu-io -f raw -c "write -P 0x5a 1M 64k" -c "write -P 0x5b 20M 5000" -c flush "$(uri vm1)"
unserve vm1
serve base@s1
check "the snapshot is read-only" bash -c "! qemu-io -f raw -c 'write -P 1 0 4k' '$(uri base@s1)' 2>&1 | grep -q 'wrote'"
check "the snapshot did not change" qemu-img compare -q -f raw -F raw "$T/base.img" "$(uri base@s1)"
unserve base@s1
serve base
check "the source did not change" qemu-img compare -q -f raw -F raw "$T/base.img" "$(uri base)"
unserve base
check "rm the source and its snapshot" bash -c 'g() { "$GLORY" "$@" --tenant t; }; g disk rm v/base@s1 && g disk rm v/base'
serve vm1
check "the clone still reads, with its own writes" qemu-io -f raw -c "read -P 0x5a 1M 64k" -c "read -P 0x5b 20M 5000" "$(uri vm1)"
check "and the source's bytes elsewhere" bash -c "nbdcopy '$(uri vm1)' '$T/vm1.img' && cmp -n 1048576 '$T/base.img' '$T/vm1.img'"
unserve vm1

say "import and export: raw, qcow2, dedup across disks"
usage_of() { g disk usage v | awk -v k="$1" '$1 == k {print $2}'; }
data0=$(usage_of data)
stored0=$(usage_of stored)
check "import raw" g disk import "$T/a.img" v/img1
g disk create v/img2 --size 64M >/dev/null
g disk import "$T/base.img" v/img2 >/dev/null
check "import over an existing disk replaces all of it" bash -c "\"\$GLORY\" disk import '$T/a.img' v/img2 --tenant t && \"\$GLORY\" disk export v/img2 '$T/e2.img' --tenant t && cmp '$T/a.img' '$T/e2.img'"
check "export raw: same bytes" bash -c "\"\$GLORY\" disk export v/img1 '$T/e.img' --tenant t && cmp '$T/a.img' '$T/e.img'"
check "the export is sparse" bash -c "[ \$(du -k '$T/e.img' | cut -f1) -lt 30000 ]"
qemu-img convert -f raw -O qcow2 "$T/a.img" "$T/a.qcow2"
check "import qcow2" g disk import "$T/a.qcow2" v/img3
check "export qcow2" g disk export v/img3 "$T/e.qcow2" --format qcow2
check "the qcow2 round trip compares equal" qemu-img compare -q "$T/a.img" "$T/e.qcow2"
data1=$(usage_of data)
stored1=$(usage_of stored)
say "three imports: data +$((data1 - data0)), stored +$((stored1 - stored0)) bytes"
check "dedup: three imports of one 23 MiB image add 69 MiB of data, at most one copy stored" \
	[ $((data1 - data0)) -ge $((3 * 24117248)) -a $((stored1 - stored0)) -le 24117248 ]

say "block dedup: two ext4 images holding the same files at different offsets"
# 48 files of 4 KiB to 2 MiB (24 MiB); image y has a file of 1 MiB + 20 KiB written before
# them, so no 4 MiB slice of y equals one of x, but every file is the same run of 4 KiB blocks
mkdir -p "$T/fx/d" "$T/fy/d"
for i in $(seq 1 48); do
	head -c $(((i * 7919 % 512 + 1) * 4096 - i * 37)) /dev/urandom >"$T/fx/d/f$i"
done
head -c $((1024 * 1024 + 20 * 1024)) /dev/urandom >"$T/fy/a-first"
cp -a "$T/fx/d" "$T/fy/"
for x in x y; do
	truncate -s 64M "$T/fs$x.img"
	mkfs.ext4 -q -F -b 4096 -d "$T/f$x" "$T/fs$x.img"
done
check "import the first image" g disk import "$T/fsx.img" v/fsx
sx=$(usage_of stored)
check "import the second" g disk import "$T/fsy.img" v/fsy
sy=$(usage_of stored)
dy=$(stored fsy)
say "second image: data $dy bytes, stored $((sy - sx)) more"
check "the second image adds under a quarter of its data (its own file and file system metadata)" \
	[ $((sy - sx)) -lt $((dy / 4)) ]
check "both export byte for byte" bash -c "\"\$GLORY\" disk export v/fsx '$T/fsx.out' --tenant t && cmp '$T/fsx.img' '$T/fsx.out' && \"\$GLORY\" disk export v/fsy '$T/fsy.out' --tenant t && cmp '$T/fsy.img' '$T/fsy.out'"
check "the second reads whole with the first removed" bash -c "\"\$GLORY\" disk rm v/fsx --tenant t && \"\$GLORY\" disk export v/fsy '$T/fsy.out2' --tenant t && cmp '$T/fsy.img' '$T/fsy.out2'"
rm -rf "$T/fx" "$T/fy" "$T"/fs?.img "$T"/fs?.out*

say "a sequential write past the background flush threshold is stored in whole slices"
# The flusher starts at 32 MiB dirty, in the middle of a slice being filled: that slice stays
# dirty until the writer has moved on, so each 4 MiB slice becomes one extent of its own chunk
# (not runs in log chunks, which block dedup would never see).
g disk create v/seq --size 128M >/dev/null
mkrand "$T/seq.img" 128M
serve seq
check "write 128 MiB sequentially" nbdcopy --flush "$T/seq.img" "$(uri seq)"
unserve seq
st=$(grep -ho "flushes [0-9]*, punches [0-9]*, chunks written [0-9]*, extents [0-9]*" "$D"/nbd-seq/log | tail -1)
nfl=$(echo "$st" | awk '{print $2}' | tr -d ,)
next=$(echo "$st" | awk '{print $NF}')
say "nbdkit: $st"
check "more than one flush, and 32 extents for the 32 slices" [ "${nfl:-0}" -gt 1 -a "${next:-0}" = 32 ]
check "export it" g disk export v/seq "$T/seq.out"
check "the same bytes" cmp "$T/seq.img" "$T/seq.out"

say "local reads: nbdkit runs beside the data servers and reads their fragment files itself"
# read_stats: "local reads N, chunk reads M" from the plugin's last log line
read_stats() { grep -ho "chunk reads [0-9]*\|local reads [0-9]*" "$D/nbd-seq/log" | tail -n 2 | tr '\n' ' '; }
serve seq
check "nbdcopy out: the same bytes" bash -c "nbdcopy '$(uri seq)' '$T/seq.out2' && cmp '$T/seq.img' '$T/seq.out2'"
unserve seq
st=$(read_stats)
say "nbdkit: $st"
# whole-chunk loads into the cache: one per slice (32) without local reads; only the reads
# before the first answer from a local server with them
nch=$(echo "$st" | awk '{print $3}')
check "large reads came from the servers' files straight, not through whole-chunk loads" \
	bash -c "[ '${nch:-99}' -lt 16 ] && echo '$st' | grep -Eq 'local reads [1-9]'"
export GLORY_LOCAL_READS=0
serve seq
check "GLORY_LOCAL_READS=0: the same bytes over RPC" bash -c "nbdcopy '$(uri seq)' '$T/seq.out3' && cmp '$T/seq.img' '$T/seq.out3'"
unserve seq
unset GLORY_LOCAL_READS
st=$(read_stats)
check "GLORY_LOCAL_READS=0: no local read" bash -c "echo '$st' | grep -q 'local reads 0'"
# without local reads every slice is a whole-chunk load, and a sequential copy loads ahead
# (with them, only the first reads load chunks, and whether those read ahead is timing)
ra=$(grep -ho "read ahead [0-9]*" "$D/nbd-seq/log" | tail -1 | awk '{print $3}')
check "GLORY_LOCAL_READS=0: a sequential copy read chunks ahead (read ahead ${ra:-none})" [ "${ra:-0}" -gt 0 ]
rm -f "$T/seq.img" "$T/seq.out" "$T/seq.out2" "$T/seq.out3"

say "erasure coded disk: small reads fetch byte ranges of fragments, degraded too"
serve_e1() { # the disk of volume ve (serve knows only volume v)
	rm -f "$T/e1.sock"
	(
		[ -z "$ASAN_RT" ] || export LD_PRELOAD=$ASAN_RT ASAN_OPTIONS=detect_leaks=0
		exec "$GLORY" disk serve ve/e1 --tenant t --unix "$T/e1.sock" >>"$D/nbd-e1.log" 2>&1
	) &
	SERVE_PID[e1]=$!
	wait_for 20 "nbdkit serving ve/e1" nbdinfo --can connect "$(uri e1)"
}
"$GLORY" volume create ve --tenant t --redundancy ec:2+1 >/dev/null
g disk create ve/e1 --size 16M >/dev/null
mkrand "$T/e1.img" 16M
serve_e1
check "write a 16 MiB image (flushed)" nbdcopy --flush "$T/e1.img" "$(uri e1)"
unserve e1
serve_e1 # a fresh process: nothing cached, every small read goes to the data servers
check_py "$(uri e1)" ranges "$T/e1.img"
kill -9 "$(ds_pid ds2)"
check_py "$(uri e1)" ranges "$T/e1.img"
check "degraded, the whole disk reads back" bash -c "nbdcopy '$(uri e1)' '$T/e1.back' && cmp '$T/e1.img' '$T/e1.back'"
unserve e1
"$GLORY" dev start --dir "$D" >/dev/null 2>&1 || true

say "libvirt: a domain with an NBD disk under the test driver"
serve img1
cat >"$T/dom.xml" <<EOF
<domain type='test'>
  <name>glory-nbd</name>
  <memory unit='MiB'>128</memory>
  <os><type>hvm</type></os>
  <devices>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='nbd'><host transport='unix' socket='$T/img1.sock'/></source>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
cat >"$T/virsh.cmds" <<EOF
define $T/dom.xml
start glory-nbd
domstate glory-nbd
domblklist glory-nbd --details
dumpxml glory-nbd
EOF
virsh -c test:///default <"$T/virsh.cmds" >"$T/virsh.out" 2>&1 || true
check "virsh defines and starts it" grep -q '^ *running' "$T/virsh.out"
check "its disk is the served NBD socket" grep -q "socket='$T/img1.sock'" "$T/virsh.out"
check "the disk it names serves the image" qemu-img compare -q -f raw -F raw "$T/a.img" "$(uri img1)"
unserve img1

finish

#!/bin/bash
# The FUSE mount (glory mount) through the kernel: our POSIX suite errno by errno, a
# random-operation exerciser against an in-memory model, readers sharing an open file while its
# layout changes, two mounts (close-to-open, renames), the same bytes through `glory get`,
# fsync'd data surviving kill -9 of the mount process and of a data server during a large write, background commits (large random writes against the model,
# a failed store or commit reported at close/fsync, kill -9 during them never losing fsync'd
# data), clean unmount by umount and by SIGTERM, and clear errors.
. "$(dirname "$0")/lib.sh"

BIN=${GLORY_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}/bin
FSX_OPS=${FSX_OPS:-$(light 100000 10000)}
M1=$T/m1
M2=$T/m2
mkdir -p "$M1" "$M2"

trap 'rc=$?; set +e; unmount_all; (exit $rc); cleanup' EXIT

mount_pid() { pgrep -f "glory mount $1 $2 " | head -n 1; }

cluster_up --ds 7 --mds 3
"$GLORY" tenant create t >/dev/null
"$GLORY" volume create v --tenant t --redundancy rep:1 --dedup off >/dev/null
"$GLORY" volume create e --tenant t --redundancy ec:4+2 --dedup on >/dev/null

check "glory mount returns once the volume is mounted" mount_vol v "$M1"
check "a second mount of the same volume (another process)" mount_vol v "$M2"

# --- POSIX, errno by errno (the suite passes on a local directory too: its reference)
check "the POSIX suite passes on a local directory (its reference)" \
	"$BIN/posix_suite" "$T" >"$T/posix.local.out" 2>&1
check "the POSIX suite passes on the mount" bash -c "'$BIN/posix_suite' '$M1' >'$T/posix.out' 2>&1"
grep -E '^FAIL|posix_suite:' "$T/posix.out" || true

# --- random operations against a model
check "fsx: $FSX_OPS random read/write/truncate/mmap/fallocate operations match the model" \
	"$BIN/fsx" "$M1/fsx.file" --ops "$FSX_OPS" --seed 7 --maxlen $((8 << 20)) \
	--maxop $((64 << 10))
rm -f "$M1/fsx.file"

# --- readers sharing one open file while its chunks are read ahead and its layout changes (a
# reader waiting for the read-ahead once went on with extents another reader had freed)
cat >"$T/readrace.py" <<'PY'
import mmap, os, sys, threading, time
path, secs = sys.argv[1], float(sys.argv[2])
MIB = 1 << 20
size = 40 * MIB
data = os.urandom(size)
with open(path, "wb") as f:
    f.write(data)
fd = os.open(path, os.O_RDWR | os.O_DIRECT)  # one open file in the mount, no kernel cache
stop = time.monotonic() + secs
bad, reads = [], [0]
def reader(start):  # 1 MiB at a time, sequentially from its own place: chunks are read ahead
    buf, off = mmap.mmap(-1, MIB), start
    while time.monotonic() < stop and not bad:
        n = os.preadv(fd, [buf], off)
        if buf[:n] != data[off:off + n]:
            bad.append("read at %d differs" % off)
        reads[0] += 1
        off = (off + MIB) % size
def rewriter():  # the same bytes again, synced: the layout changes under the readers
    buf, i = mmap.mmap(-1, 4096), 0
    while time.monotonic() < stop and not bad:
        off = (i * 7 + 3) % (size // 4096) * 4096
        buf[:] = data[off:off + 4096]
        os.pwritev(fd, [buf], off)
        os.fdatasync(fd)
        i += 1
ts = [threading.Thread(target=reader, args=(k * 9 * MIB + 4096,)) for k in range(4)]
ts.append(threading.Thread(target=rewriter))
for t in ts:
    t.start()
for t in ts:
    t.join()
print(bad[0] if bad else "ok, %d reads" % reads[0])
PY
out=$(python3 "$T/readrace.py" "$M1/readrace" "$(light 12 6)")
check "four readers of one open file read the right bytes while its layout changes ($out)" \
	test "${out%%,*}" = ok
rm -f "$M1/readrace"

# --- two mounts: close-to-open and renames
mkrand "$T/a" $((9 << 20))
cp "$T/a" "$M1/a"
check "a file written and closed on one mount reads back on the other" cmp -s "$T/a" "$M2/a"
mkrand "$T/b" 5000
cat "$T/b" >>"$M2/a"
cat "$T/a" "$T/b" >"$T/ab"
check "an append closed on the second mount is seen by the first" cmp -s "$T/ab" "$M1/a"
# the second mount keeps the file open while the first changes it: a new open there sees it
exec 3<"$M2/a"
head -c 4096 <&3 >/dev/null
mkrand "$T/patch" 70000
dd if="$T/patch" of="$M1/a" bs=70000 seek=1 conv=notrunc status=none
check "an open on the other mount sees the change even while it holds the file open" \
	cmp -s "$T/patch" <(dd if="$M2/a" bs=70000 skip=1 count=1 status=none)
exec 3<&-
dd if="$T/patch" of="$T/ab" bs=70000 seek=1 conv=notrunc status=none
mv "$M1/a" "$M1/renamed"
check "a rename on one mount is seen on the other" \
	bash -c "[ ! -e '$M2/a' ] && cmp -s '$T/ab' '$M2/renamed'"
# the kernel keeps leased attributes (fuse_attr.c): another mount's change must reach it at once,
# also where no lookup refreshes them (the working directory, the mount's root)
attrs_after_change() {
	local d=$M1/attrs.d m i
	mkdir "$d" && chmod 700 "$d" && m=$(stat -c %a "$M1") || return 1
	(
		cd "$M2/attrs.d" || exit 1
		for i in 1 2 3; do stat -c %a . >/dev/null; done # kept by the kernel now
		chmod 751 "$d" && [ "$(stat -c %a .)" = 751 ]
	) || return 1
	for i in 1 2 3; do stat -c %a "$M2" >/dev/null; done
	chmod 711 "$M1" && [ "$(stat -c %a "$M2")" = 711 ] && chmod "$m" "$M1" && rmdir "$d"
}
check "a chmod on one mount is seen at once on the other (working directory, root)" \
	attrs_after_change
# a new file's attributes are leased to the mount that created it (metadata/rpc.h) and its
# kernel keeps them: another mount's chmod right after the create must reach it at once (fstat
# of the open file: no path walk, whose lookup would refresh them)
cat >"$T/newattr.py" <<'EOF'
import os, sys
m1, m2 = sys.argv[1:3]
for i in range(5):
    fd = os.open(f"{m1}/new.{i}", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    os.chmod(f"{m2}/new.{i}", 0o600)
    mode = os.fstat(fd).st_mode & 0o777
    os.close(fd)
    os.unlink(f"{m1}/new.{i}")
    if mode != 0o600:
        sys.exit(f"file {i}: mode {mode:o} after the other mount's chmod 600")
EOF
check "a file just created on one mount and chmod'ed on the other shows the new mode at once" \
	python3 "$T/newattr.py" "$M1" "$M2"
# a directory made on one mount holds all its entries in that mount's cache (a name missing there
# is answered absent without asking, mdcache.h): the other mount's creates and unlinks in it must
# be seen at once, and so must the directory's attributes they changed
cat >"$T/madedir.py" <<'EOF'
import os, sys, time
m1, m2 = sys.argv[1:3]
for i in range(5):
    d1, d2 = f"{m1}/made.{i}", f"{m2}/made.{i}"
    os.mkdir(d1)
    for j in range(3):
        open(f"{d1}/own.{j}", "w").close()
    if os.path.exists(f"{d1}/other"):
        sys.exit(f"dir {i}: a name never made exists")
    open(f"{d2}/other", "w").close()
    if not os.path.exists(f"{d1}/other"):
        sys.exit(f"dir {i}: the other mount's new file is not seen")
    os.unlink(f"{d2}/own.0")
    if os.path.exists(f"{d1}/own.0"):
        sys.exit(f"dir {i}: a file the other mount removed is still seen")
    if os.stat(d1).st_mtime_ns != os.stat(d2).st_mtime_ns:
        sys.exit(f"dir {i}: the mounts disagree on the directory's mtime")
    names = sorted(os.listdir(d1))
    if names != ["other", "own.1", "own.2"]:
        sys.exit(f"dir {i}: lists {names}")
    for n in names:
        os.unlink(f"{d1}/{n}")
    os.rmdir(d1)
# the first mount's lease on its directory runs out; the other mount creates there unannounced;
# the first mount's next create must not bring its old view back as complete
d1, d2 = f"{m1}/made.lapse", f"{m2}/made.lapse"
os.mkdir(d1)
open(f"{d1}/own", "w").close()
time.sleep(2.5)
open(f"{d2}/other", "w").close()
open(f"{d1}/own2", "w").close()
if not os.path.exists(f"{d1}/other"):
    sys.exit("after a lapsed lease: the other mount's new file is not seen")
for n in ("own", "own2", "other"):
    os.unlink(f"{d1}/{n}")
os.rmdir(d1)
EOF
check "a directory made on one mount: the other mount's creates and unlinks in it are seen at once" \
	python3 "$T/madedir.py" "$M1" "$M2"
check "the same bytes through glory get" \
	bash -c "'$GLORY' get v/renamed '$T/got' --tenant t && cmp -s '$T/ab' '$T/got'"
"$GLORY" put v/put.bin "$T/b" --tenant t >/dev/null
check "a file stored with glory put reads back through the mount" cmp -s "$T/b" "$M1/put.bin"

# --- kill -9 of the mount process: what was fsync'd survives
mkrand "$T/c" $((6 << 20))
dd if="$T/c" of="$M1/synced" bs=1M conv=fsync status=none
pid=$(mount_pid v "$M1")
kill -9 "$pid"
umount -l "$M1" 2>/dev/null || true
check "mount again after kill -9 of the mount process" mount_vol v "$M1"
check "fsync'd data survives kill -9 of the mount process" cmp -s "$T/c" "$M1/synced"

# --- kill -9 of the metadata leader: what was fsync'd is there, and the mount goes on
leader() { "$GLORY" shard status | awk '$5 == "leader" {print $2; exit}'; }
mkrand "$T/d" $((3 << 20))
dd if="$T/d" of="$M1/before-leader-kill" bs=1M conv=fsync status=none
"$GLORY" dev kill --dir "$D" "mds$(($(leader) - 1))" >/dev/null
check "fsync'd data survives kill -9 of the metadata leader" cmp -s "$T/d" "$M1/before-leader-kill"
check "the mount writes again through the new leader" \
	bash -c "cp '$T/d' '$M1/after-leader-kill' && cmp -s '$T/d' '$M1/after-leader-kill'"
for m in mds0 mds1 mds2; do "$GLORY" dev start --dir "$D" $m >/dev/null 2>&1 || true; done

# --- kill -9 of a data server during a large write through the mount (ec:4+2, dedup)
fusermount3 -u "$M2"
check "mount the ec:4+2 volume" mount_vol e "$M2"
mkrand "$T/big" $((256 << 20))
(dd if="$T/big" of="$M2/big" bs=1M conv=fsync status=none; echo $? >"$T/dd.rc") &
sleep 0.5
check "the write is still running when a data server is killed" test ! -e "$T/dd.rc"
"$GLORY" dev kill --dir "$D" ds2 >/dev/null
wait
check "a large write through the mount completes while a data server is killed" \
	test "$(cat "$T/dd.rc")" = 0
check "the fsync'd file reads back exactly (degraded)" cmp -s "$T/big" "$M2/big"
"$GLORY" dev start --dir "$D" ds2 >/dev/null 2>&1 || true

# --- background commits: a file's chunks are stored and committed while the next ones fill
check "fsx: writes of up to 6 MiB over a 24 MiB file (chunks committing in the background)" \
	"$BIN/fsx" "$M1/fsx.big" --ops "$((FSX_OPS / 10))" --seed 11 --maxlen $((24 << 20)) \
	--maxop $((6 << 20)) --reopen-every 50 --verify-every 200
rm -f "$M1/fsx.big"
# bgio FILE MiB sync|close: what write(2), fsync(2) and close(2) returned
cat >"$T/bgio.py" <<'PY'
import errno, os, sys
path, mib, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
w = "ok"
for i in range(mib):
    try:
        os.write(fd, os.urandom(1 << 20))
    except OSError as e:
        w = errno.errorcode[e.errno]
r = []
for call in ([os.fsync] if how == "sync" else []) + [os.close]:
    try:
        call(fd)
        r.append("ok")
    except OSError as e:
        r.append(errno.errorcode[e.errno])
print("write", w, how, *r)
PY
# writes are taken while earlier chunks commit; a failed commit is reported at close or fsync
"$GLORY" volume create q --tenant t --redundancy rep:1 --dedup off --quota-bytes 8M >/dev/null
M3=$T/m3
mkdir -p "$M3"
check "mount a volume with an 8 MiB quota" mount_vol q "$M3"
check "24 MiB of writes over an 8 MiB quota are taken; close reports EDQUOT" \
	test "$(python3 "$T/bgio.py" "$M3/over" 24 close)" = "write ok close EDQUOT"
fusermount3 -u "$M3"
# large sequential reads of chunks on this host's data servers: straight from their files into
# the reply (fs_read.c), the next chunk read ahead by the kernel, not whole chunks loaded
mkrand "$T/seq" $((48 << 20))
cp "$T/seq" "$M1/seq.bin"
sync "$M1/seq.bin"
wait_for 20 "the quota mount to stop" grep -q "reads: " "$D/mount-m3/log"
rm -f "$D/mount-m3/log"
check "mount the rep:1 volume once more (an empty page cache)" mount_vol v "$M3"
check "48 MiB read back sequentially through that mount" cmp -s "$T/seq" "$M3/seq.bin"
fusermount3 -u "$M3"
wait_for 20 "the mount's closing line" grep -q "reads: " "$D/mount-m3/log"
n=$(sed -n 's/.* reads: \([0-9]*\) straight.*/\1/p' "$D/mount-m3/log")
say "$(grep "reads: " "$D/mount-m3/log")"
check "its 1 MiB reads came straight from the data servers' files (${n:-0} of them)" \
	test "${n:-0}" -ge 24
for i in 0 1 2 3 4 5 6; do "$GLORY" dev kill --dir "$D" "ds$i" >/dev/null 2>&1 || true; done
out=$(timeout 120 python3 "$T/bgio.py" "$M1/noserver" 12 sync)
check "with every data server down, buffered writes are taken and fsync reports EIO ($out)" \
	test "$out" = "write ok sync EIO ok"
for i in 0 1 2 3 4 5 6; do "$GLORY" dev start --dir "$D" "ds$i" >/dev/null 2>&1 || true; done
wait_for 60 "the data servers to come back" all_up
# kill -9 of the mount while chunks are being committed: every fsync'd byte is there
mkrand "$T/stream" $((160 << 20))
cat >"$T/stream.py" <<'PY'
import os, sys
src, dst, log = sys.argv[1:4]
data = open(src, "rb").read()
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for off in range(0, len(data), 1 << 20):
    os.write(fd, data[off:off + (1 << 20)])
    if (off >> 20) % 10 == 9:
        os.fsync(fd)
        with open(log, "a") as f:
            f.write("%d\n" % (off + (1 << 20)))
PY
: >"$T/stream.log"
python3 "$T/stream.py" "$T/stream" "$M1/stream" "$T/stream.log" 2>/dev/null &
wait_for 60 "two fsyncs of the stream" bash -c "[ \$(wc -l <'$T/stream.log') -ge 2 ]"
kill -9 "$(mount_pid v "$M1")"
wait
umount -l "$M1" 2>/dev/null || true
check "mount again after kill -9 during background commits" mount_vol v "$M1"
synced=$(tail -n 1 "$T/stream.log")
check "every fsync'd byte ($synced) survives kill -9 during background commits" \
	cmp -s -n "$synced" "$T/stream" "$M1/stream"

# --- unmount: umount and SIGTERM
fusermount3 -u "$M2"
gone() { ! grep -q " $1 " /proc/mounts && ! pgrep -f "glory mount $2 $1 " >/dev/null; }
wait_for 10 "the daemon to exit after fusermount3 -u" gone "$M2" e
check "fusermount3 -u unmounts and the daemon exits" gone "$M2" e
echo buffered >"$M1/term"
kill -TERM "$(mount_pid v "$M1")"
wait_for 10 "the mount to go after SIGTERM" gone "$M1" v
check "SIGTERM unmounts cleanly and the daemon exits" gone "$M1" v
check "what was written before SIGTERM is there" \
	bash -c "'$GLORY' get v/term --tenant t | grep -qx buffered"

# --- errors
check "a missing mount point is refused with a hint" \
	bash -c "! '$GLORY' mount v '$T/nowhere' --tenant t 2>'$T/err' && grep -q 'create it first' '$T/err'"
check "an unknown volume is refused" \
	bash -c "! '$GLORY' mount nosuch '$M1' --tenant t 2>/dev/null"
check "glory mount --help explains it" bash -c "'$GLORY' mount --help | grep -q MOUNTPOINT"

finish

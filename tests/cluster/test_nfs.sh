#!/bin/bash
# The NFSv3 gateway (glory nfs) with real clients: libnfs's nfs-ls/nfs-cp/nfs-cat and our libnfs
# programs (tests/nfs/nfs_check: every NFSv3 and MOUNT procedure, attributes, WCC data, each
# NFS3ERR_*, sparse files past 4 GiB, 10,000 entries paged by READDIR and READDIRPLUS); exports
# (read-only, root squash, client lists, the export list, every volume without --export, one
# that appears later); the same bytes through `glory get`/`glory put`; 8 clients at once; a
# gateway killed between UNSTABLE writes and COMMIT (the verifier changes, the client resends,
# nothing is lost); handles that outlive a restart; a COMMIT held up by stopped data servers;
# corrupted data (NFS3ERR_IO); NLM 4 locks; NSM (a client's SM_NOTIFY frees its locks; after a
# restart the recorded clients are notified, and reclaim during the grace period); rpcbind;
# hostile RPC records. The Linux kernel client is used where the kernel has one.
. "$(dirname "$0")/lib.sh"

BIN=${GLORY_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}/bin
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NFS_PID=
stop_nfs() {
	if [ -n "$NFS_PID" ]; then
		kill "$NFS_PID" 2>/dev/null || true
		wait "$NFS_PID" 2>/dev/null || true
		NFS_PID=
	fi
}
RPCB_PID=
STATD_PID=
trap 'rc=$?; set +e; stop_nfs; [ -n "$RPCB_PID" ] && kill "$RPCB_PID"; [ -n "$STATD_PID" ] && kill "$STATD_PID"; (exit $rc); cleanup' EXIT

read -r PORT MPORT < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
Q="nfsport=$PORT&mountport=$MPORT"
URL=nfs://127.0.0.1
# start_nfs: the gateway in the background, its log under $D (scanned for sanitizer reports);
# NSM state in $D/nfs/state, grace period $NFS_GRACE (default 45 s: only once clients locked)
start_nfs() {
	mkdir -p "$D/nfs"
	"$GLORY" nfs --listen 127.0.0.1 --port "$PORT" --mount-port "$MPORT" \
		--state-dir "$D/nfs/state" --grace "${NFS_GRACE:-45}" \
		--log-file "$D/nfs/log" --export t/v:no_root_squash --export t/ro:ro,no_root_squash \
		--export t/q:no_root_squash --export t/sq --export t/far:clients=10.9.9.0/24 \
		--export t/bad:no_root_squash --export t/later &
	NFS_PID=$!
	wait_for 30 "the NFS gateway to answer" nfs_alive
}
nfs_alive() { "$BIN/nfs_check" 127.0.0.1 "$PORT" "$MPORT" /t/v exports >/dev/null 2>&1; }
check_nfs() { # check_nfs EXPORT CMD ARGS...: nfs_check's own checks, shown on failure
	local out=$T/check.out
	if "$BIN/nfs_check" 127.0.0.1 "$PORT" "$MPORT" "$@" >"$out" 2>&1; then
		ok "nfs_check $* ($(grep -c '^ok' "$out") checks)"
	else
		fail "nfs_check $*"
		grep -v '^ok' "$out" | head -n 30
	fi
}

cluster_up --ds 3 --mds 1
"$GLORY" tenant create t >/dev/null
for v in v ro sq far bad; do "$GLORY" volume create $v --tenant t --redundancy rep:1 >/dev/null; done
"$GLORY" volume create q --tenant t --redundancy rep:1 --quota-bytes 4M >/dev/null
echo hello >"$T/hello.txt"
"$GLORY" put ro/hello.txt "$T/hello.txt" --tenant t >/dev/null
"$GLORY" put v/hello.txt "$T/hello.txt" --tenant t >/dev/null

check "glory nfs --help explains exports" bash -c "'$GLORY' nfs --help | grep -q no_root_squash"
check "a bad --export is refused, naming the options" \
	bash -c "'$GLORY' nfs --listen 127.0.0.1 --export t/v:bogus 2>'$T/ex.err'; [ \$? = 2 ] && grep -q no_root_squash '$T/ex.err'"
check "glory nfs without --listen is a usage error" \
	bash -c "'$GLORY' nfs >/dev/null 2>&1; [ \$? = 2 ]"
start_nfs
ok "the gateway serves on ports $PORT (NFS) and $MPORT (MOUNT)"

# --- the Linux kernel client, where there is one
if grep -qw nfs /proc/filesystems; then
	mkdir -p "$T/kmnt"
	if mount -t nfs -o "vers=3,tcp,port=$PORT,mountport=$MPORT,mountproto=tcp,nolock" \
		"127.0.0.1:/t/v" "$T/kmnt"; then
		mkrand "$T/k" $((3 << 20))
		cp "$T/k" "$T/kmnt/kernel.bin" && sync
		check "the kernel client writes a file that glory get reads back" \
			bash -c "'$GLORY' get v/kernel.bin '$T/k.got' --tenant t && cmp -s '$T/k' '$T/k.got'"
		umount "$T/kmnt"
	else
		fail "mount -t nfs -o vers=3,tcp 127.0.0.1:/t/v"
	fi
else
	say "SKIP: the Linux kernel NFS client test: this kernel has no NFS client (no nfs in /proc/filesystems)"
fi

# --- every procedure, attributes and errors (libnfs raw API)
check_nfs /t/v procs procs
check_nfs /t/v mountprocs
NFS_UID=1000 NFS_GID=1000 check_nfs /t/v user procs
check_nfs /t/ro rofs
check_nfs /t/v sparse sparse.bin
check_nfs /t/q fill big 8 NFS3ERR_DQUOT
check_nfs /t/v bigdir big 10000
NFS_STOP_PIDS="$(cat "$D"/ds*/pid | tr '\n' ' ')" check_nfs /t/v parallel parallel.bin 6

# --- libnfs's tools and the same bytes through glory get/put
mkrand "$T/a" $((20 << 20))
check "nfs-cp uploads 20 MiB" nfs-cp "$T/a" "$URL/t/v/a.bin?$Q&uid=0&gid=0"
check "glory get reads what nfs-cp wrote" \
	bash -c "'$GLORY' get v/a.bin '$T/a.got' --tenant t && cmp -s '$T/a' '$T/a.got'"
mkrand "$T/b" $((5 << 20))
"$GLORY" put v/b.bin "$T/b" --tenant t >/dev/null
check "nfs-cp downloads what glory put stored" \
	bash -c "nfs-cp '$URL/t/v/b.bin?$Q' '$T/b.got' >/dev/null && cmp -s '$T/b' '$T/b.got'"
check "nfs-cat prints a file" bash -c "nfs-cat '$URL/t/v/hello.txt?$Q' | grep -qx hello"
check "nfs-ls lists the export" bash -c "nfs-ls '$URL/t/v/?$Q' | grep -q ' a.bin$'"
check "nfs-ls of a directory inside the export (MNT of /t/v/big)" \
	bash -c "[ \"\$(nfs-ls '$URL/t/v/big?$Q' | wc -l)\" -ge 10000 ]"
check "the FUSE namespace: glory ls shows the NFS directory" \
	bash -c "'$GLORY' ls v/big --tenant t | grep -q entry-009999"

# --- several clients at once: 8 uploads and 8 downloads in parallel, every byte checked
for i in 1 2 3 4 5 6 7 8; do mkrand "$T/p$i" $((6 << 20)); done
for i in 1 2 3 4 5 6 7 8; do
	nfs-cp "$T/p$i" "$URL/t/v/par$i.bin?$Q&uid=0&gid=0" >/dev/null 2>&1 &
	nfs-cp "$URL/t/v/a.bin?$Q" "$T/a.par$i" >/dev/null 2>&1 &
done
wait_jobs_ok() { local j rc=0; for j in $(jobs -p); do [ "$j" = "$NFS_PID" ] && continue; wait "$j" || rc=1; done; return $rc; }
check "8 uploads and 8 downloads at once all succeed" wait_jobs_ok
all_same() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		"$GLORY" get "v/par$i.bin" "$T/par$i.got" --tenant t && cmp -s "$T/p$i" "$T/par$i.got" &&
			cmp -s "$T/a" "$T/a.par$i" || return 1
	done
}
check "... and every file is byte for byte what was sent (glory get) or stored" all_same

# --- exports: root squash, client lists, the list itself
check "root squash: root is nobody and cannot create in a root-owned directory" \
	bash -c "! nfs-cp '$T/hello.txt' '$URL/t/sq/x?$Q&uid=0&gid=0' 2>'$T/sq.err' && grep -q NFS3ERR_ACCES '$T/sq.err'"
check "a client outside the export's list cannot mount it" \
	bash -c "! nfs-ls '$URL/t/far/?$Q' >/dev/null 2>&1"
"$BIN/nfs_check" 127.0.0.1 "$PORT" "$MPORT" /t/v exports >"$T/exports"
check "MOUNT EXPORT (raw RPC) lists each export and its clients" \
	bash -c "grep -qx '/t/v \*' '$T/exports' && grep -qx '/t/far 10.9.9.0/24' '$T/exports' && \
		[ \"\$(wc -l <'$T/exports')\" = 6 ]"

# --- no --export: every volume of every tenant, root squashed
read -r PORT2 < <(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$GLORY" nfs --listen 127.0.0.1 --port "$PORT2" --mount-port "$PORT2" --log-file "$D/nfs/log2" \
	--state-dir "$D/nfs/state2" &
ALL_PID=$!
wait_for 30 "the second gateway" bash -c "'$BIN/nfs_check' 127.0.0.1 $PORT2 $PORT2 /t/v exports >/dev/null 2>&1"
"$BIN/nfs_check" 127.0.0.1 "$PORT2" "$PORT2" /t/v exports >"$T/exports2"
check "without --export every volume is exported to everyone" \
	bash -c "[ \"\$(grep -c ' \*$' '$T/exports2')\" = 6 ] && grep -qx '/t/q \*' '$T/exports2'"
check "... and root is squashed there" \
	bash -c "! nfs-cp '$T/hello.txt' 'nfs://127.0.0.1/t/v/squashed?nfsport=$PORT2&mountport=$PORT2&uid=0&gid=0' 2>/dev/null"
check "... reading works" bash -c "nfs-cat 'nfs://127.0.0.1/t/v/hello.txt?nfsport=$PORT2&mountport=$PORT2' | grep -qx hello"
check_nfs /t/v crossgw crossgw.bin "$PORT2"
kill "$ALL_PID"
wait "$ALL_PID" 2>/dev/null || true

# --- an --export of a volume that does not exist yet: said in the log, served once it exists
check "an --export of a missing volume is reported in the log" \
	grep -q "export t/later: no such volume" "$D/nfs/log"
"$GLORY" volume create later --tenant t --redundancy rep:1 >/dev/null
sleep 1.1 # the volume table is listed again at most once a second
check "... and served once the volume exists" bash -c "nfs-ls '$URL/t/later/?$Q' >/dev/null"

# --- a gateway killed between UNSTABLE writes and COMMIT; handles across the restart
check_nfs /t/v unstable unstable.bin 24 7 "$T/state"
check_nfs /t/v savefh a.bin "$T/fh"
kill -9 "$NFS_PID"
wait "$NFS_PID" 2>/dev/null || true
NFS_PID=
start_nfs
check_nfs /t/v checkfh "$T/fh"
check_nfs /t/v commit "$T/state" "$T/unstable.expected" changed
check "no byte lost: glory get reads the resent and committed file" \
	bash -c "'$GLORY' get v/unstable.bin '$T/u.got' --tenant t && cmp -s '$T/unstable.expected' '$T/u.got'"
check_nfs /t/v unstable unstable2.bin 4 8 "$T/state2"
check_nfs /t/v commit "$T/state2" "$T/unstable2.expected" same
check "an UNSTABLE file committed without a restart reads back" \
	bash -c "'$GLORY' get v/unstable2.bin '$T/u2.got' --tenant t && cmp -s '$T/unstable2.expected' '$T/u2.got'"

# --- data that cannot be read: the only replica's fragment corrupted on disk
touch "$T/marker"
sleep 1
mkrand "$T/c" $((1 << 20))
"$GLORY" put bad/c.bin "$T/c" --tenant t >/dev/null
for f in $(find "$D"/ds*/store/frag -type f -newer "$T/marker" -size +100k); do
	printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") / 2)) \
		conv=notrunc status=none
done
check_nfs /t/bad read c.bin NFS3ERR_IO

# --- NLM 4: locks of several owners on one file
check "NLM 4 locks: conflicts, shared locks, unlock splits, TEST holders, FREE_ALL, errors, GRANTED callbacks" \
	bash -c "python3 '$SRC/tests/nfs/nlm_rpc.py' 127.0.0.1 $PORT $MPORT /t/v hello.txt >'$T/nlm.out' 2>&1 || { cat '$T/nlm.out'; false; }"

# --- NSM: SM_NULL, SM_STAT, bad XDR; a client's SM_NOTIFY frees its locks (by name, by address)
nsm() { # nsm MODE ARGS...: tests/nfs/nsm_rpc.py, its output shown on failure
	local out=$T/nsm-$1.out
	if /usr/bin/python3 "$SRC/tests/nfs/nsm_rpc.py" "$1" 127.0.0.1 "$PORT" "$MPORT" /t/v hello.txt \
		"${@:2}" >"$out" 2>&1; then
		ok "NSM $1 ($(grep -c '^ok' "$out") checks)"
	else
		fail "NSM $1"
		grep -v '^ok' "$out" | head -n 30
	fi
}
nsm notify
STATE1=$(sed -n 's/^state //p' "$T/nsm-notify.out")
check "the lock clients are recorded in the state directory" \
	grep -qx '127.0.0.3 clientA' "$D/nfs/state/clients"
check "the NSM state number is kept there" bash -c "[ \"\$(cat '$D/nfs/state/state')\" = '$STATE1' ]"

# --- a restart: the fake client's statd is told, reclaims during the grace period
: >"$T/statd.out"
/usr/bin/python3 "$SRC/tests/nfs/nsm_rpc.py" statd 127.0.0.1 "$PORT" "$MPORT" /t/v hello.txt \
	"$T/statd.out" >"$T/statd.log" 2>&1 &
STATD_PID=$!
wait_for 20 "the fake client to lock" grep -qx ready "$T/statd.out"
stop_nfs
NFS_GRACE=5 start_nfs
nsm grace "$T/statd.out" "$STATE1"
kill "$STATD_PID"
wait "$STATD_PID" 2>/dev/null || true
STATD_PID=
check "an unreachable client is said once and forgotten" bash -c \
	"[ \"\$(grep -c 'cannot reach the statd of lock client gone ' '$D/nfs/log')\" = 1 ] &&
	 ! grep -q ' gone$' '$D/nfs/state/clients'"
check "after the grace period the clients that reclaimed nothing are forgotten" bash -c \
	"grep -qx '127.0.0.2 fakeclient' '$D/nfs/state/clients' &&
	 grep -qx '127.0.0.2 newcomer2' '$D/nfs/state/clients' && ! grep -q ' lazy$' '$D/nfs/state/clients'"
STATE2=$(cat "$D/nfs/state/state")
stop_nfs
NFS_GRACE=0 start_nfs
check "the state number grows by 2 on every start ($STATE1, $STATE2, $(cat "$D/nfs/state/state"))" \
	bash -c "[ $STATE2 = $((STATE1 + 2)) ] && [ \$(cat '$D/nfs/state/state') = $((STATE1 + 4)) ]"

# --- hostile RPC records
check "hostile and malformed RPC records get the right replies" \
	bash -c "python3 '$SRC/tests/nfs/hostile_rpc.py' 127.0.0.1 $PORT $MPORT /t/v a.bin >'$T/hostile.out' 2>&1 || { cat '$T/hostile.out'; false; }"
check "the gateway is still serving" nfs_alive

# --- rpcbind: registered when it runs (ours, if none is running), found by libnfs without ports
registered() { rpcinfo -p 127.0.0.1 2>/dev/null | grep -Eq "^ *$1 +$2 +tcp +$3 "; }
if command -v rpcbind >/dev/null && ! rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
	rpcbind -f &
	RPCB_PID=$!
	wait_for 10 "rpcbind to answer" rpcinfo -p 127.0.0.1
fi
if rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
	stop_nfs
	start_nfs
	check "the gateway registers NFS v3, MOUNT v1 and v3, NLM v4, NSM v1 (TCP and UDP) with rpcbind" \
		bash -c "$(declare -f registered); registered 100003 3 $PORT && registered 100005 3 $MPORT &&
			registered 100005 1 $MPORT && registered 100021 4 $PORT && registered 100024 1 $PORT &&
			rpcinfo -p 127.0.0.1 | grep -Eq '^ *100024 +1 +udp +$PORT '"
	check "libnfs finds both ports through rpcbind (no ports in the URL)" \
		bash -c "nfs-cat '$URL/t/v/hello.txt' | grep -qx hello"
	check "showmount -e (nfs-common) lists each export and its clients" \
		bash -c "showmount -e 127.0.0.1 >'$T/showmount' && grep -Eq '^/t/v +\\*' '$T/showmount' &&
			grep -Eq '^/t/far +10.9.9.0/24' '$T/showmount'"
else
	say "SKIP: rpcbind registration: no rpcbind on this machine"
fi

# --- SIGTERM: buffered writes are committed, the daemon exits (and leaves rpcbind)
kill -TERM "$NFS_PID"
check "SIGTERM stops the gateway cleanly" wait "$NFS_PID"
NFS_PID=
if [ -n "$RPCB_PID" ]; then
	check "and unregisters from rpcbind" bash -c "$(declare -f registered); ! registered 100003 3 $PORT &&
		! registered 100024 1 $PORT"
	kill "$RPCB_PID"
	wait "$RPCB_PID" 2>/dev/null || true
	RPCB_PID=
fi

finish

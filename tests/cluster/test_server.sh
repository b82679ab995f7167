#!/bin/bash
# glory server (what `make run` starts): one command brings up master, metadata server and data
# servers, makes the default tenant, volume and key, mounts the volume at DIR/mnt and writes
# DIR/env; serves S3 (GLORY_S3_URL and the AWS_* variables in DIR/env); it restarts a daemon
# that dies (the mount and the S3 gateway too); serves NFSv3 (GLORY_NFS_URL in DIR/env, read with
# libnfs's nfs-cat); SIGTERM stops everything and unmounts; a second start keeps the data.
. "$(dirname "$0")/lib.sh"

S=$T/s
SRV=
stop_server() {
	[ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null || true
	grep -q " $S/mnt " /proc/mounts && umount -l "$S/mnt" 2>/dev/null || true
	"$GLORY" dev down --dir "$S" >/dev/null 2>&1 || true
}
trap 'rc=$?; set +e; stop_server; (exit $rc); cleanup' EXIT

mounted() { grep -q " $S/mnt fuse.glory " /proc/mounts; }
server_up() { grep -q "S3 endpoint" "$T/server.out" 2>/dev/null && mounted; }
# nfsq FILE: a libnfs URL of FILE in volume default over the server's NFS gateway
nfsq() {
	local hp
	hp=$(grep '^GLORY_NFS_URL=' "$S/env" | cut -d= -f2)
	hp=${hp#nfs://}
	hp=${hp%/}
	echo "nfs://${hp%:*}/default/default/$1?nfsport=${hp##*:}&mountport=${hp##*:}"
}
s3() { (unset AWS_CA_BUNDLE; . "$S/env" && /usr/bin/aws --endpoint-url "$GLORY_S3_URL" "$@"); }

"$GLORY" server --dir "$S" >"$T/server.out" 2>"$T/server.err" &
SRV=$!
wait_for 90 "glory server to be up and mounted" server_up
check "glory server prints the access key" grep -q "GLORY_ACCESS_KEY=" "$T/server.out"
check "glory server prints the mount point" grep -q "mounted at $S/mnt" "$T/server.out"
check "DIR/env has the master, the key and the mount" \
	bash -c "grep -q GLORY_MASTER= '$S/env' && grep -q GLORY_ACCESS_KEY= '$S/env' && grep -qx 'GLORY_MOUNT=$S/mnt' '$S/env'"

check "glory server prints the S3 endpoint" grep -q "S3 endpoint: http://127.0.0.1:" "$T/server.out"
check "DIR/env has GLORY_S3_URL and the AWS_* variables" bash -c "grep -q '^GLORY_S3_URL=http://' '$S/env' &&
	grep -q '^AWS_ACCESS_KEY_ID=' '$S/env' && grep -q '^AWS_SECRET_ACCESS_KEY=' '$S/env' && grep -q '^AWS_DEFAULT_REGION=' '$S/env'"
check "aws cli with DIR/env makes a bucket" bash -c "$(declare -f s3); S=$S; s3 s3 mb s3://bkt >/dev/null"

echo "through the mount" >"$S/mnt/hello.txt"
mkdir -p "$S/mnt/bkt"
echo "an object" >"$S/mnt/bkt/obj.txt"
check "a file under the mount is an object over S3" bash -c "$(declare -f s3); S=$S; s3 s3 cp s3://bkt/obj.txt - | grep -qx 'an object'"
check "a file written under the mount reads back with glory get" \
	bash -c ". '$S/env' && '$GLORY' get default/hello.txt | grep -qx 'through the mount'"
check "a file put with glory put shows under the mount" \
	bash -c ". '$S/env' && '$GLORY' put default/put.txt /etc/hostname && cmp -s /etc/hostname '$S/mnt/put.txt'"

wait_for 30 "the NFS gateway" grep -q "NFSv3 export: nfs://127.0.0.1:" "$T/server.out"
check "DIR/env has GLORY_NFS_URL" grep -q '^GLORY_NFS_URL=nfs://127.0.0.1:[0-9]*/$' "$S/env"
check "a file written under the mount reads back over NFS (nfs-cat)" \
	bash -c "nfs-cat '$(nfsq hello.txt)' | grep -qx 'through the mount'"

# the supervisor restarts a mount that dies (and the dead mount point is cleared)
kill -9 "$(cat "$S/mount/pid")"
sleep 0.5
wait_for 30 "the mount to come back" bash -c "grep -q ' $S/mnt fuse.glory ' /proc/mounts && cat '$S/mnt/hello.txt' >/dev/null"
check "after kill -9 of the mount process, the server mounts it again" \
	grep -qx "through the mount" "$S/mnt/hello.txt"

kill -9 "$(cat "$S/s3/pid")"
wait_for 30 "the S3 gateway to come back" bash -c "$(declare -f s3); S=$S; s3 s3 ls s3://bkt >/dev/null 2>&1"
check "after kill -9 of the S3 gateway, the server starts it again" bash -c "$(declare -f s3); S=$S; s3 s3 ls s3://bkt | grep -q obj.txt"

kill -9 "$(cat "$S/nfs/pid")"
wait_for 30 "the NFS gateway to come back" bash -c "nfs-cat '$(nfsq hello.txt)' >/dev/null 2>&1"
check "after kill -9 of the NFS gateway, the server starts it again" \
	bash -c "nfs-cat '$(nfsq hello.txt)' | grep -qx 'through the mount'"

MASTER=$(grep '^GLORY_MASTER=' "$S/env" | cut -d= -f2)
kill -TERM "$SRV"
wait "$SRV" || true
SRV=
none_left() { ! pgrep -f "[g]lory (master|ds|mds|mount|s3) .*$S/" >/dev/null && ! pgrep -f "[g]lory s3 --listen .* --master" >/dev/null &&
	! pgrep -f "[g]lory nfs --listen .* --master $MASTER " >/dev/null; }
check "SIGTERM stops every daemon" none_left
check "and unmounts" bash -c "! grep -q ' $S/mnt ' /proc/mounts"

"$GLORY" server --dir "$S" >"$T/server.out" 2>"$T/server.err" &
SRV=$!
wait_for 90 "glory server to come back" server_up
check "a second start keeps the data" grep -qx "through the mount" "$S/mnt/hello.txt"
check "DIR/env lists the mount once" test "$(grep -c GLORY_MOUNT= "$S/env")" = 1
check "DIR/env lists GLORY_S3_URL once, and the gateway serves it again" bash -c \
	"[ \$(grep -c GLORY_S3_URL= '$S/env') = 1 ] && $(declare -f s3); S=$S; s3 s3 cp s3://bkt/obj.txt - | grep -qx 'an object'"
wait_for 30 "the NFS gateway after the second start" bash -c "nfs-cat '$(nfsq hello.txt)' >/dev/null 2>&1"
check "DIR/env lists GLORY_NFS_URL once, and the NFS gateway serves it again" bash -c \
	"[ \$(grep -c GLORY_NFS_URL= '$S/env') = 1 ] && nfs-cat '$(nfsq hello.txt)' | grep -qx 'through the mount'"

finish

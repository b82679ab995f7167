#!/bin/bash
# glory server (what `make run` starts): one command brings up master, metadata server and data
# servers, makes the default tenant, volume and key, mounts the volume at DIR/mnt and writes
# DIR/env; it restarts a daemon that dies (the mount too); SIGTERM stops everything and
# unmounts; a second start keeps the data.
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
server_up() { grep -q "mounted at" "$T/server.out" 2>/dev/null && mounted; }

"$GLORY" server --dir "$S" >"$T/server.out" 2>"$T/server.err" &
SRV=$!
wait_for 90 "glory server to be up and mounted" server_up
check "glory server prints the access key" grep -q "GLORY_ACCESS_KEY=" "$T/server.out"
check "glory server prints the mount point" grep -q "mounted at $S/mnt" "$T/server.out"
check "DIR/env has the master, the key and the mount" \
	bash -c "grep -q GLORY_MASTER= '$S/env' && grep -q GLORY_ACCESS_KEY= '$S/env' && grep -qx 'GLORY_MOUNT=$S/mnt' '$S/env'"

echo "through the mount" >"$S/mnt/hello.txt"
check "a file written under the mount reads back with glory get" \
	bash -c ". '$S/env' && '$GLORY' get default/hello.txt | grep -qx 'through the mount'"
check "a file put with glory put shows under the mount" \
	bash -c ". '$S/env' && '$GLORY' put default/put.txt /etc/hostname && cmp -s /etc/hostname '$S/mnt/put.txt'"

# the supervisor restarts a mount that dies (and the dead mount point is cleared)
kill -9 "$(cat "$S/mount/pid")"
sleep 0.5
wait_for 30 "the mount to come back" bash -c "grep -q ' $S/mnt fuse.glory ' /proc/mounts && cat '$S/mnt/hello.txt' >/dev/null"
check "after kill -9 of the mount process, the server mounts it again" \
	grep -qx "through the mount" "$S/mnt/hello.txt"

kill -TERM "$SRV"
wait "$SRV" || true
SRV=
none_left() { ! pgrep -f "[g]lory (master|ds|mds|mount) .*$S/" >/dev/null; }
check "SIGTERM stops every daemon" none_left
check "and unmounts" bash -c "! grep -q ' $S/mnt ' /proc/mounts"

"$GLORY" server --dir "$S" >"$T/server.out" 2>"$T/server.err" &
SRV=$!
wait_for 90 "glory server to come back" server_up
check "a second start keeps the data" grep -qx "through the mount" "$S/mnt/hello.txt"
check "DIR/env lists the mount once" test "$(grep -c GLORY_MOUNT= "$S/env")" = 1

finish

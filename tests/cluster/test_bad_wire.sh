#!/bin/bash
# Bad input on the wire (truncated frames, bad checksums, huge lengths, unknown opcodes, random
# bytes) against a real master and data server: an error and a closed connection, and the daemons
# keep serving everyone else.
. "$(dirname "$0")/lib.sh"

cluster_up --ds 6
f=$T/in
mkrand "$f" 5000000
id=$(put "$f")
ds_addr=$("$GLORY" status | awk '$1 ~ /^[0-9]+$/ {print $2; exit}')
# 0x0102 = DS_GET, 0x0206 = MS_BLOB_GET
check "data server survives hostile frames" /usr/bin/python3 "$(dirname "$0")/wire.py" "$ds_addr" 0x0102
check "master survives hostile frames" /usr/bin/python3 "$(dirname "$0")/wire.py" "$GLORY_MASTER" 0x0206
check "daemons still alive" bash -c "kill -0 $(ds_pid master) && kill -0 $(ds_pid ds0)"
check "data still reads back" same_as "$id" "$f"
check "status still works" bash -c "'$GLORY' status >/dev/null"
finish

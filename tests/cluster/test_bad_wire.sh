#!/bin/bash
# Bad input on the wire (truncated frames, bad checksums, huge lengths, unknown opcodes, random
# bytes; MD_MULTI counts and lengths that do not add up) against a real master, data server and
# metadata server: an error and a closed connection, and the daemons
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
md_addr=$("$GLORY" shard status | awk '$5 == "leader" {print $3; exit}')
# 0x0301 = MD_OP, 0x0305 = MD_MULTI (several MD_OPs in one message)
check "metadata server survives hostile MD_OP frames" /usr/bin/python3 "$(dirname "$0")/wire.py" "$md_addr" 0x0301
check "metadata server survives hostile MD_MULTI frames" /usr/bin/python3 "$(dirname "$0")/wire.py" "$md_addr" 0x0305
check "daemons still alive" bash -c "kill -0 $(ds_pid master) && kill -0 $(ds_pid ds0) && kill -0 $(ds_pid mds0)"
check "data still reads back" same_as "$id" "$f"
check "status still works" bash -c "'$GLORY' status >/dev/null"
finish

#!/bin/bash
# Dedup and garbage collection: the same 100 MiB put twice is stored once; deleting both frees
# the space, but only after the grace period.
. "$(dirname "$0")/lib.sh"

GRACE=6
cluster_up --ds 6 --gc-grace $GRACE
stored() { du -sb "$D"/ds*/store | awk '{s += $1} END {print s}'; }
base=$(stored)
f=$T/in
mkrand "$f" $((100 << 20))
id1=$(put "$f")
after1=$(stored)
id2=$(put "$f")
after2=$(stored)
check "the same content gets the same id" test "$id1" = "$id2"
check "the second put stores nothing new (grew by $((after2 - after1)) bytes)" \
	test $((after2 - after1)) -lt $((1 << 20))
check "the first put stored about 1.5x for ec:4+2 ($((after1 - base)) bytes)" \
	test $((after1 - base)) -gt $((150 << 20)) -a $((after1 - base)) -lt $((160 << 20))
check "two references" bash -c "'$GLORY' blob stat $id1 | grep -q refs=2"
"$GLORY" blob rm "$id1"
check "one reference left" bash -c "'$GLORY' blob stat $id1 | grep -q refs=1"
check "still readable" same_as "$id1" "$f"
"$GLORY" blob rm "$id1"
check "the blob is gone" bash -c "! '$GLORY' blob stat $id1 2>/dev/null"
sleep 1
check "space is not reclaimed before the grace period" test $(($(stored) - base)) -gt $((150 << 20))
t0=$SECONDS
freed() { [ $(($(stored) - base)) -lt $((2 << 20)) ]; }
wait_for $((GRACE + 20)) "space returned" freed && ok "space returned $((SECONDS - t0))s after the last rm (grace ${GRACE}s)"
check "not before the grace period" test $((SECONDS - t0)) -ge $((GRACE - 2))

# a chunk referenced again during its grace period survives it
g=$T/in2
mkrand "$g" $((9 << 20))
id3=$(put "$g")
"$GLORY" blob rm "$id3"
id4=$(put "$g")
sleep $((GRACE + 4))
check "a blob put again within the grace period survives it" same_as "$id4" "$g"
finish

#!/bin/bash
# Failure detection, degraded reads and writes:
#  - a killed data server is marked down within 5 s;
#  - kill -9 two of six data servers: every blob still reads back exactly;
#  - kill -9 one data server in the middle of a write stream: every acknowledged blob reads back.
. "$(dirname "$0")/lib.sh"

cluster_up --ds 6
for i in $(seq 1 12); do
	f=$T/in.$i
	mkrand "$f" $((RANDOM * 97 + i * 300000))
	if [ $((i % 3)) -eq 0 ]; then remember "$(put "$f" rep:3)" "$f"; else remember "$(put "$f" ec:4+2)" "$f"; fi
done

say "kill -9 ds1"
"$GLORY" dev kill --dir "$D" ds1
t0=$(date +%s.%N)
wait_for 10 "ds1 marked down" bash -c '[ "$(count_state down)" = 1 ]'
t1=$(date +%s.%N)
el=$(echo "$t1 - $t0" | bc)
say "failure detected in ${el}s"
check "a dead data server is marked down within 5 s (${el}s)" test "$(echo "$el < 5" | bc)" = 1

say "kill -9 ds4"
"$GLORY" dev kill --dir "$D" ds4
check "with two of six data servers dead, every blob reads back exactly" all_back

# with two of six down, ec:4+2 cannot keep its promise (5 of 6 fragments at least): a clear
# error; rep:3 still can
f=$T/in.13
mkrand "$f" 3000000
check "ec:4+2 put with 4 of 6 servers is refused clearly" \
	bash -c "'$GLORY' blob put '$f' 2>&1 | grep -q 'not enough servers available'"
remember "$(put "$f" rep:3)" "$f"
check "blobs written with two servers down read back" all_back

say "restart ds1 and ds4"
"$GLORY" dev start --dir "$D" ds1 >/dev/null
"$GLORY" dev start --dir "$D" ds4 >/dev/null
wait_for 20 "all up again" all_up

say "write stream while killing ds2"
(
	for i in $(seq 1 40); do
		f=$T/stream.$i
		mkrand "$f" $((200000 + i * 91373))
		if id=$("$GLORY" blob put --redundancy ec:4+2 "$f" 2>/dev/null); then
			echo "$id $f" >>"$T/acked"
		fi
	done
) &
writer=$!
sleep 2
"$GLORY" dev kill --dir "$D" ds2
wait $writer
acked=$(wc -l <"$T/acked")
say "$acked of 40 puts acknowledged"
check "every acknowledged put reads back ($acked acknowledged)" all_back "$T/acked"
check "most puts were acknowledged despite the failure" test "$acked" -ge 30

say "write stream while the master is killed (-9) and restarted"
: >"$T/acked2"
(
	for i in $(seq 1 30); do
		f=$T/mstream.$i
		mkrand "$f" $((100000 + i * 51231))
		if id=$("$GLORY" blob put --redundancy ec:4+2 "$f" 2>/dev/null); then
			echo "$id $f" >>"$T/acked2"
		fi
	done
) &
writer=$!
sleep 1
"$GLORY" dev kill --dir "$D" master
sleep 2
"$GLORY" dev start --dir "$D" master >/dev/null
wait $writer
acked2=$(wc -l <"$T/acked2")
say "$acked2 of 30 puts acknowledged around the master crash"
check "every put acknowledged before or after the master crash reads back ($acked2)" \
	all_back "$T/acked2"
check "and everything written earlier too" all_back
check "and the first stream too" all_back "$T/acked"
finish

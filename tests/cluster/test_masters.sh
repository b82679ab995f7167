#!/bin/bash
# Three cluster masters in one raft group: kill -9 the leader during a stream of writes; the
# others elect a new leader, clients and data servers follow it (GLORY_MASTER lists all three),
# every acknowledged blob reads back, and the map survives.
. "$(dirname "$0")/lib.sh"

cluster_up --masters 3 --ds 6 --mds 0
say "masters: $GLORY_MASTER"

leader_master() {
	local n
	for n in master master2 master3; do
		[ -f "$D/$n/pid" ] || continue
		if grep -q "master: leading" "$D/$n/log" && ! grep -q "no longer the leader" <(sed -n '/master: leading/,$p' "$D/$n/log"); then
			echo $n
		fi
	done | tail -n 1
}

for i in $(seq 1 6); do
	f=$T/in.$i
	mkrand "$f" $((i * 250000))
	remember "$(put "$f")" "$f"
done
L=$(leader_master)
say "leading master: $L"
check "one master leads" test -n "$L"

# meanwhile every master gets a stream of blob commits: the one taking over must answer them
# (with an error until it is ready), never crash on half-loaded state
/usr/bin/python3 "$(dirname "$0")/wire.py" blob-put-loop "$GLORY_MASTER" "$T/stop" >"$T/answers" &
hammer=$!
(
	for i in $(seq 1 30); do
		f=$T/stream.$i
		mkrand "$f" $((100000 + i * 37777))
		if id=$("$GLORY" blob put "$f" 2>/dev/null); then echo "$id $f" >>"$T/acked"; fi
	done
) &
writer=$!
sleep 1
say "kill -9 the leading master $L"
"$GLORY" dev kill --dir "$D" "$L"
wait $writer
touch "$T/stop"
wait $hammer
say "$(cat "$T/answers") blob commits answered during the master change"
alive() { kill -0 "$(cat "$D/$1/pid")" 2>/dev/null; }
for n in master master2 master3; do
	[ "$n" = "$L" ] || check "$n kept running through the takeover" alive $n
done
acked=$(wc -l <"$T/acked")
say "$acked of 30 puts acknowledged while the leader died"
check "most puts went through the master change ($acked of 30)" test "$acked" -ge 25
check "every acknowledged put reads back" all_back "$T/acked"
check "every blob from before reads back" all_back
check "the status still lists 6 data servers up" bash -c '[ "$(count_state up)" = 6 ]'

say "restart $L; kill -9 another master"
"$GLORY" dev start --dir "$D" "$L" >/dev/null
sleep 2
L2=$(leader_master)
"$GLORY" dev kill --dir "$D" "$L2"
f=$T/after
mkrand "$f" 1234567
check "a put works with the second leader gone too" bash -c "id=\$('$GLORY' blob put '$f') && '$GLORY' blob get \$id '$T/after.back' && cmp -s '$f' '$T/after.back'"
finish

#!/bin/bash
# A server lost long enough to be rebuilt elsewhere comes back: its stale fragments are
# reconciled (fragments of chunks deleted meanwhile are removed; copies rebuilt elsewhere move
# home), ending with exactly one fragment per slot. Reads keep working throughout.
. "$(dirname "$0")/lib.sh"

cluster_up --ds 7 --out-after 2 --repair-every 1 --gc-grace 2 --stale-age 3
frags() { find "$D"/ds*/store/frag -type f | wc -l; }
a=$T/a
b=$T/b
mkrand "$a" $((20 << 20)) # 5 chunks of 4 MiB: 30 fragments of 1 MiB in ec:4+2
mkrand "$b" $((24 << 20)) # 6 chunks: 36 fragments
ida=$(put "$a")
idb=$(put "$b")
# (a fragment that had to go to a handoff is moved home by repair: wait for it to settle)
stored66() { [ "$(frags)" = 66 ]; }
wait_for 15 "66 fragments stored" stored66 && ok "66 fragments stored, one per slot"

# readers during everything that follows
(
	while [ ! -f "$T/stop" ]; do
		GLORY_LOG_LEVEL=error "$GLORY" blob get "$ida" "$T/rd" 2>>"$T/read-errors" && cmp -s "$T/rd" "$a" ||
			echo "bad read at $(date +%T)" >>"$T/read-errors"
		echo x >>"$T/reads"
	done
) &
reader=$!

say "kill -9 ds2; wait until it is out and its fragments are rebuilt"
before=$(find "$D"/ds2/store/frag -type f | wc -l)
"$GLORY" dev kill --dir "$D" ds2
rebuilt_total() { "$GLORY" status | awk '/^repair:/ {print $2}'; }
enough() { [ "$(rebuilt_total)" -ge "$before" ] && [ "$(degraded)" = 0 ]; }
wait_for 60 "ds2's $before fragments rebuilt elsewhere" enough && ok "ds2's $before fragments rebuilt elsewhere"
check "full redundancy again without ds2 (66 fragments on the others)" \
	test "$(find "$D"/ds[013456]/store/frag -type f | wc -l)" = 66

say "delete blob b while ds2 is away; wait for GC"
"$GLORY" blob rm "$idb"
gone() { [ "$(find "$D"/ds[013456]/store/frag -type f | wc -l)" = 30 ]; }
wait_for 30 "b's fragments collected on the live servers" gone && ok "b collected on the live servers"

say "ds2 comes back with stale fragments of a and b"
check "ds2 still holds its old fragments" test "$(find "$D"/ds2/store/frag -type f | wc -l)" = "$before"
"$GLORY" dev start --dir "$D" ds2 >/dev/null
wait_for 20 "ds2 up" all_up
settled() { [ "$(frags)" = 30 ]; }
wait_for 60 "exactly 30 fragments in the cluster" settled && ok "reconciled: exactly one fragment per slot of a, none of b"
moved() { [ "$("$GLORY" status | awk '/^repair:/ {print $7}')" -gt 0 ]; }
wait_for 10 "copies rebuilt elsewhere moved home to ds2" moved && ok "copies rebuilt elsewhere moved home to ds2"
touch "$T/stop"
wait $reader
check "reads kept working during loss, rebuild and return ($(wc -l <"$T/reads") reads)" \
	test ! -s "$T/read-errors"
check "a reads back exactly" same_as "$ida" "$a"
"$GLORY" status | tail -n 3
finish

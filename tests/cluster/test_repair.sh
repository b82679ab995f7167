#!/bin/bash
# Self-repair:
#  - flip bytes in fragments on disk: reads stay correct; the read path and the scrubber find the
#    corruption and rebuild the fragment;
#  - one data server down past the timeout: its stripes are rebuilt to full redundancy elsewhere;
#    then two more down: everything still reads back.
. "$(dirname "$0")/lib.sh"

cluster_up --ds 7 --out-after 4 --repair-every 2 --scrub-every 5
for i in $(seq 1 10); do
	f=$T/in.$i
	mkrand "$f" $((1000000 + i * 777777))
	if [ $((i % 4)) -eq 0 ]; then remember "$(put "$f" rep:3)" "$f"; else remember "$(put "$f" ec:4+2)" "$f"; fi
done
corrupt_total() { "$GLORY" status | awk '/^repair:/ {print $10}'; }

# --- bit rot ---
# a data fragment (clients read it: the read path finds the damage) and a parity fragment (only
# the scrubber reads it) of ec:4+2 chunks
all_frags=$(find "$D"/ds*/store/frag -type f -size +100k -name '00020402-*' | sort)
frags=($(echo "$all_frags" | grep -- '-00$' | head -n 1 || true) $(echo "$all_frags" | grep -- '-05$' | head -n 1 || true))
check "large fragments are files on disk" test ${#frags[@]} -eq 2
for f in "${frags[@]}"; do
	cp "$f" "$T/orig.$(basename "$f")"
	size=$(stat -c %s "$f")
	# flip 16 bytes in the middle of the fragment's data
	printf '\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef' |
		dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none
done
check "reads are correct with corrupted fragments on disk" all_back
restored() {
	local f
	for f in "${frags[@]}"; do
		[ -f "$f" ] || return 1
		cmp -s <(tail -c +4097 "$f") <(tail -c +4097 "$T/orig.$(basename "$f")") || return 1
	done
}
wait_for 40 "corrupted fragments rebuilt" restored &&
	ok "corrupt data and parity fragments found (read path, scrub) and rebuilt byte-exact"
counted() { [ "$(corrupt_total)" -ge 2 ]; }
wait_for 10 "status counts the corruption" counted && ok "status counts the corruption"

# --- a server lost for good ---
say "kill -9 ds3 and wait past the out timeout"
"$GLORY" dev kill --dir "$D" ds3
wait_for 20 "ds3 out" bash -c "'$GLORY' status | awk '\$1 ~ /^[0-9]+\$/ && \$4 == \"out\"' | grep -q ."
t0=$SECONDS
rebuilt_total() { "$GLORY" status | awk '/^repair:/ {print $2}'; }
healthy() { [ "$(rebuilt_total)" -gt 0 ] && [ "$(degraded)" = 0 ]; }
wait_for 120 "stripes rebuilt to full redundancy" healthy && ok "rebuilt to full redundancy in $((SECONDS - t0))s"
"$GLORY" status | tail -n 4
say "kill -9 ds0 and ds5 as well"
"$GLORY" dev kill --dir "$D" ds0
"$GLORY" dev kill --dir "$D" ds5
check "with three servers lost (one rebuilt), every blob reads back" all_back
finish

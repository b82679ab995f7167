#!/bin/bash
# Round trip of random data from 0 B to 64 MiB with replicas and erasure coding; the master and
# every data server restarted: everything still reads back.
. "$(dirname "$0")/lib.sh"

cluster_up --ds 6
for red in rep:1 rep:3 ec:4+2 ec:2+1; do
	for size in 0 1 63 4096 1048575 4194304 4194305 9999999; do
		f=$T/in.$red.$size
		mkrand "$f" $size
		remember "$(put "$f" $red)" "$f"
	done
done
f=$T/in.big
mkrand "$f" $((64 << 20))
big=$(put "$f" ec:4+2)
remember "$big" "$f"
big3=$(put "$f" rep:3)
remember "$big3" "$f"

check "every size and redundancy reads back exactly" all_back
check "the same bytes with another redundancy get another id" \
	test "$big" != "$big3"
check "blob stat reports size and redundancy" \
	bash -c "'$GLORY' blob stat $big | grep -q 'size=67108864 redundancy=ec:4+2 refs=1'"
check "a bad id is refused" bash -c "! '$GLORY' blob get nothex 2>/dev/null"
check "an unknown id is not found" \
	bash -c "'$GLORY' blob get $(printf '0%.0s' {1..64}) 2>&1 | grep -q 'not found'"

# Ports taken from the kernel's ephemeral range could be taken by any outgoing connection before a
# daemon (re)binds them: dev up picks them below it.
ports_below_ephemeral() {
	local low port n=0
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
	for port in $(cat "$D"/*/cmdline | tr '\0' '\n' | grep -A1 -x -- --listen | grep -o ':[0-9]*$' | tr -d :); do
		[ "$port" -lt "$low" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 7 ]
}
check "daemons listen below the ephemeral port range" ports_below_ephemeral

say "restarting every process"
for n in master ds0 ds1 ds2 ds3 ds4 ds5; do "$GLORY" dev stop --dir "$D" $n >/dev/null; done
for n in master ds0 ds1 ds2 ds3 ds4 ds5; do "$GLORY" dev start --dir "$D" $n >/dev/null; done
wait_for 30 "all data servers up after restart" all_up
check "everything reads back after a full restart" all_back

say "glory dev down, then glory dev start with no name: the whole cluster on its ports"
"$GLORY" dev down --dir "$D" >/dev/null 2>&1
check "glory dev start --dir D starts every daemon" "$GLORY" dev start --dir "$D"
wait_for 30 "all data servers up after dev start" all_up
check "everything reads back after dev down and dev start" all_back
finish

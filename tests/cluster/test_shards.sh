#!/bin/bash
# Two metadata shards of three members each: volumes spread over both, clients route to the
# shard that owns each volume, garbage collection asks both shards, and a shard's leader can die
# without the other shard noticing.
. "$(dirname "$0")/lib.sh"

cluster_up --ds 6 --shards 2 --mds 3 --gc-grace 2 --write-lease 4
g() { "$GLORY" "$@"; }
frags() { find "$D"/ds*/store -path '*frag*' -type f ! -name '*.tmp*' | wc -l; }
export -f frags
export D

check "both shards have a leader" bash -c "[ \$('$GLORY' shard status | awk '\$5 == \"leader\"' | wc -l) = 2 ]"
g tenant create acme >/dev/null
for v in v1 v2 v3 v4; do g volume create $v --tenant acme --redundancy rep:2 >/dev/null; done
g volume ls --tenant acme
check "the volumes are spread over both shards" bash -c "[ \$('$GLORY' volume ls --tenant acme | awk 'NR > 1 {print \$4}' | sort -u | wc -l) = 2 ]"
for v in v1 v2 v3 v4; do
	mkrand "$T/$v" 6000000 # different bytes: dedup would otherwise share the chunks
	check "put/get in $v" bash -c "'$GLORY' put --tenant acme $v/d/f '$T/$v' -p && '$GLORY' get --tenant acme $v/d/f | cmp -s - '$T/$v'"
done
V1=$(g volume ls --tenant acme | awk '$2 != "v1" && $4 == 1 {print $2; exit}')
check "metadata work on a volume of shard 1" bash -c "'${GLORY_BUILD:-$(dirname "$GLORY")/..}/bin/mdtest' run --volume $V1 --tenant acme --threads 4 --files 200 >/dev/null"
sleep 5 # past the write lease: the chunks are committed
before=$(frags)
g rm --tenant acme "$V1/d/f"
check "removing a file of shard 1 frees its fragments (GC asked both shards)" \
	wait_for 30 "fragments freed" bash -c "[ \$(frags) -lt $before ]"
for v in v1 v2 v3 v4; do
	[ "$v" = "$V1" ] && continue
	check "$v still reads back" bash -c "'$GLORY' get --tenant acme $v/d/f | cmp -s - '$T/$v'"
done
L=$(g shard status | awk '$1 == 1 && $5 == "leader" {print $2; exit}')
say "kill -9 the leader of shard 1 (member $L = mds$((2 + L)))"
g dev kill --dir "$D" "mds$((2 + L))"
for v in v1 v2 v3 v4; do
	[ "$v" = "$V1" ] && continue
	check "$v reads back with shard 1's leader gone" bash -c "'$GLORY' get --tenant acme $v/d/f | cmp -s - '$T/$v'"
done
finish

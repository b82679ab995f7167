#!/bin/bash
# Moving a volume between metadata shards while it is in use (two shards of three members):
#  - a create/rename/unlink storm runs through the move: no operation fails, every acknowledged
#    one is there afterwards (writes wait while the volume is copied, then go to the new shard);
#  - a file reads back byte for byte; the volume's records are the same on the new shard;
#  - moving back works; the old shard keeps only a forwarding mark, no records and no chunk
#    references of the volume; removing a file after the move frees its fragments (GC);
#  - a bad target is refused with a message.
. "$(dirname "$0")/lib.sh"

MDTEST=${GLORY_BUILD:-$(dirname "$GLORY")/..}/bin/mdtest
cluster_up --ds 6 --shards 2 --mds 3 --gc-grace 2 --write-lease 4
g() { "$GLORY" "$@"; }
frags() { find "$D"/ds*/store -path '*frag*' -type f ! -name '*.tmp*' | wc -l; }
shard_of() { g volume ls --tenant acme | awk -v v="$1" '$2 == v {print $4}'; }
# the volume's records, without the shard it names (that is what a move changes)
vol_dump() { g shard dump --shard "$1" --volume "$VOLID" | sed 's/ shard=[0-9]*//'; }
export -f frags
export D

g tenant create acme >/dev/null
g volume create mv --tenant acme --redundancy rep:2 >/dev/null
VOLID=$(g volume ls --tenant acme | awk '$2 == "mv" {print $1}')
FROM=$(shard_of mv)
TO=$((1 - FROM))
say "volume mv (id $VOLID) is on shard $FROM"
mkrand "$T/big" 9000000
g put --tenant acme mv/data/big "$T/big" -p >/dev/null
for i in $(seq 1 20); do echo "file $i" | g put --tenant acme "mv/small/f$i" - -p >/dev/null; done

say "storm on mv; move it to shard $TO in the middle"
"$MDTEST" storm --volume mv --tenant acme --threads 4 --seconds 12 --log "$T/storm.log" \
	>"$T/storm.out" 2>&1 &
storm=$!
sleep 4
t0=$(date +%s.%N)
g volume move mv --tenant acme --to-shard "$TO" 2>"$T/move.err"
moved=$?
t1=$(date +%s.%N)
cat "$T/move.err"
srv=0
wait $storm || srv=$?
cat "$T/storm.out"
say "the move took $(echo "$t1 - $t0" | bc)s"
check "the move succeeded" test "$moved" = 0
check "it showed its progress" grep -q "copying" "$T/move.err"
check "the volume is on shard $TO" test "$(shard_of mv)" = "$TO"
check "the storm ran through the move without a failed operation" test "$srv" = 0
check "every operation acknowledged during the move is there" \
	"$MDTEST" verify --volume mv --tenant acme --log "$T/storm.log"
check "the big file reads back" bash -c "'$GLORY' get --tenant acme mv/data/big | cmp -s - '$T/big'"
check "the small files read back" bash -c "[ \"\$('$GLORY' get --tenant acme mv/small/f17)\" = 'file 17' ]"
check "the old shard keeps no record of the volume but its forwarding mark" \
	bash -c "[ \"\$('$GLORY' shard dump --shard $FROM --volume $VOLID | grep -v '^[mV] ')\" = '' ]"

vol_dump "$TO" >"$T/dump.to"
say "moving it back to shard $FROM"
check "moving back succeeds" g volume move mv --tenant acme --to-shard "$FROM"
vol_dump "$FROM" >"$T/dump.from"
check "the volume's records are the same after moving back ($(wc -l <"$T/dump.to") records)" \
	cmp -s "$T/dump.to" "$T/dump.from"
check "shard $TO holds no chunk reference after the move back" \
	bash -c "! '$GLORY' shard dump --shard $TO | grep -q '^r '"
check "writes go to the volume's shard again" \
	bash -c "echo again | '$GLORY' put --tenant acme mv/after - && [ \"\$('$GLORY' get --tenant acme mv/after)\" = again ]"

sleep 5 # past the write lease: the chunks are committed
before=$(frags)
g rm --tenant acme mv/data/big
check "removing the moved file frees its fragments" \
	wait_for 30 "fragments freed" bash -c "[ \$(frags) -lt $before ]"

check "a move to a shard that does not exist is refused" \
	bash -c "! '$GLORY' volume move mv --tenant acme --to-shard 7 2>'$T/bad.err' && grep -q 'no metadata shard 7' '$T/bad.err'"
check "a move without a target says what is missing" \
	bash -c "'$GLORY' volume move mv --tenant acme 2>&1 | grep -q -- --to-shard"
check "a volume moved away and back is removed with its catalog record" \
	bash -c "'$GLORY' volume rm mv --tenant acme --force && ! '$GLORY' volume ls --tenant acme | grep -q ' mv '"
finish

#!/bin/bash
# The metadata shard under failures, with real processes (3 metadata servers, raft):
#  - kill -9 the leader during a create/rename/unlink storm: every acknowledged operation is
#    there, nothing half done, a new leader serves within 5 s (the figure is printed);
#  - restart every process: the shard's dump (several pages) is identical before and after;
#  - a member down while 100,000 operations commit catches up by snapshot and then serves;
#  - SIGSTOP the leader: the majority goes on; the stopped member, resumed, never answers from
#    stale state;
#  - reads are answered under the leader's lease (metadata/rsm.h), not one raft entry each.
. "$(dirname "$0")/lib.sh"

MDTEST=${GLORY_BUILD:-$(dirname "$GLORY")/..}/bin/mdtest
# light (sanitizers): 20,000 operations behind and snapshots 4x as often, so that it still
# catches up by snapshot
FILES=$(light 2500 500)
SNAP=$(light 16384 4096)
cluster_up --ds 6 --mds 3 --snapshot-threshold "$SNAP"

"$GLORY" tenant create acme >/dev/null
"$GLORY" volume create meta --tenant acme --redundancy rep:1 >/dev/null
VOLID=$("$GLORY" volume ls --tenant acme | awk '$2 == "meta" || $1 == "meta" {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) {print $i; exit}}')

leader() { "$GLORY" shard status | awk '$5 == "leader" {print $2; exit}'; }
leader_addr() { "$GLORY" shard status | awk '$5 == "leader" {print $3; exit}'; }
role_of() { "$GLORY" shard status | awk -v id="$1" '$2 == id {print $5}'; }
applied_of() { "$GLORY" shard status | awk -v id="$1" '$2 == id {print $7}'; }
has_leader() { [ -n "$(leader)" ]; }

wait_for 20 "a leader" has_leader

# ---- reads are lease reads: no raft entry per read ----
commit_of_leader() { "$GLORY" shard status | awk '$5 == "leader" {print $7; exit}'; }
c0=$(commit_of_leader)
GLORY_MDCACHE=0 "$MDTEST" run --volume meta --tenant acme --threads 4 --files 2000 --phases getattr \
	>"$T/reads.out"
c1=$(commit_of_leader)
say "8,000 reads (cache off): $(awk '$1 == "getattr" {print $2}' "$T/reads.out") ops/s, $((c1 - c0)) raft entries"
check "8,000 reads add fewer than 800 raft entries (the leader answers under its lease)" \
	test "$((c1 - c0))" -lt 800

# ---- kill -9 the leader during a storm ----
say "storm of creates, renames and unlinks; kill -9 the leader after 4 s"
"$MDTEST" storm --volume meta --tenant acme --threads 8 --seconds 14 --log "$T/storm.log" \
	>"$T/storm.out" 2>&1 &
storm=$!
sleep 4
L=$(leader)
say "leader is mds$((L - 1)); kill -9"
"$GLORY" dev kill --dir "$D" "mds$((L - 1))"
t0=$(date +%s.%N)
wait_for 20 "a new leader" has_leader
t1=$(date +%s.%N)
srv=0
wait $storm || srv=$?
cat "$T/storm.out"
el=$(echo "$t1 - $t0" | bc)
stall=$(awk '/longest wait/ {print $(NF-1)}' "$T/storm.out")
say "new leader after ${el}s; longest wait of one operation during the storm ${stall}s"
check "the storm finished without a failed operation" test "$srv" = 0
check "a new leader within 5 s (${el}s)" test "$(echo "$el < 5" | bc)" = 1
# an operation caught by the kill waits for the election (within 5 s) and then for the new
# leader's lease wait (1.5 s) before it is acknowledged
check "no operation waited 6.5 s or more (${stall}s)" test "$(echo "${stall:-99} < 6.5" | bc)" = 1
check "every acknowledged operation is there, nothing half done" \
	"$MDTEST" verify --volume meta --tenant acme --log "$T/storm.log"
"$GLORY" dev start --dir "$D" "mds$((L - 1))" >/dev/null
wait_for 20 "the killed member is back as a follower" \
	bash -c "[ \"\$(\"$GLORY\" shard status | awk -v id=$L '\$2 == id {print \$5}')\" = follower ]"

# ---- restart everything: identical dump ----
# the dump comes in pages (GL_NS_DUMP_PAGE, 1 MiB a reply): make it larger than one RPC
# message can carry (4 MiB), however many files the storm made on this machine
for _ in 1 2 3 4 5 6; do
	[ "$("$GLORY" shard dump | wc -c)" -gt $((5 << 20)) ] && break
	"$MDTEST" run --volume meta --tenant acme --threads 8 --files 1000 --phases create >/dev/null
done
"$GLORY" shard dump >"$T/dump.before"
check "a dump of more than 5 MiB is printed whole ($(wc -c <"$T/dump.before") bytes)" \
	test "$(wc -c <"$T/dump.before")" -gt $((5 << 20))
say "dump has $(wc -l <"$T/dump.before") records; restarting every process"
"$GLORY" dev down --dir "$D" >/dev/null 2>&1
for n in master ds0 ds1 ds2 ds3 ds4 ds5 mds0 mds1 mds2; do
	"$GLORY" dev start --dir "$D" $n >/dev/null
done
# generous: a member loads its raft log before it serves, and libraft 0.22 does that slowly
# (a realloc per entry), minutes under ASan; this waits for durability, it measures nothing
wait_for 240 "a leader after the restart" has_leader
wait_for 120 "the dump answers" bash -c "'$GLORY' shard dump >'$T/dump.after'"
check "the namespace dump is identical after restarting every process" \
	cmp -s "$T/dump.before" "$T/dump.after"
check "the storm's files are all there after the restart" \
	"$MDTEST" verify --volume meta --tenant acme --log "$T/storm.log"

# ---- a member down for 100,000 operations (20,000 light) catches up by snapshot ----
L=$(leader)
F=1
[ "$F" = "$L" ] && F=2
say "stop mds$((F - 1)) (follower) and commit $((5 * 8 * FILES)) operations"
"$GLORY" dev kill --dir "$D" "mds$((F - 1))"
a0=$(applied_of "$L")
"$MDTEST" run --volume meta --tenant acme --threads 8 --files "$FILES" | tee "$T/run.out"
# run: 5 phases x 8 x 2500 = 100,000 operations (the readdir phase counts entries listed)
"$MDTEST" run --volume meta --tenant acme --threads 8 --files "$((FILES * 2 / 5))" >/dev/null
# the leader packs concurrent operations into one raft entry, more of them when the build is
# slow (sanitizers): go on until the log has passed a snapshot and the entries kept behind it
# (2048), so that the member cannot catch up from the log alone
for _ in $(seq 40); do
	[ "$(($(applied_of "$(leader)") - a0))" -gt "$((2 * SNAP + 2048))" ] && break
	"$MDTEST" run --volume meta --tenant acme --threads 8 --files 100 >/dev/null
done
say "the leader applied $(($(applied_of "$(leader)") - a0)) entries meanwhile"
"$GLORY" dev start --dir "$D" "mds$((F - 1))" >/dev/null
caught_up() {
	local a b
	a=$(applied_of "$F")
	b=$(applied_of "$(leader)")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -ge "$((b - 5))" ]
}
wait_for 240 "mds$((F - 1)) caught up" caught_up
check "it caught up by installing a snapshot" grep -q 'snapshot.*install\|install.*snapshot\|restor' "$D/mds$((F - 1))/log"
# it serves: with the leader gone, it and the third member are the majority
L=$(leader)
"$GLORY" dev kill --dir "$D" "mds$((L - 1))"
wait_for 20 "a leader without the old one" has_leader
check "the caught-up member serves (volume usable without the old leader)" \
	"$MDTEST" run --volume meta --tenant acme --threads 2 --files 50
"$GLORY" dev start --dir "$D" "mds$((L - 1))" >/dev/null
wait_for 240 "all three members back" bash -c "[ \$('$GLORY' shard status | awk '\$5 == \"leader\" || \$5 == \"follower\"' | wc -l) = 3 ]"

# ---- SIGSTOP the leader: no stale reads from it ----
echo hello >"$T/small"
"$GLORY" put --tenant acme meta/before "$T/small"
L=$(leader)
LA=$(leader_addr)
say "SIGSTOP the leader mds$((L - 1)) ($LA)"
kill -STOP "$(cat "$D/mds$((L - 1))/pid")"
wait_for 20 "a new leader in the majority" bash -c "[ -n \"\$('$GLORY' shard status 2>/dev/null | awk -v id=$L '\$5 == \"leader\" && \$2 != id {print}')\" ]"
check "the majority goes on: rm and put succeed" bash -c \
	"'$GLORY' rm --tenant acme meta/before && '$GLORY' put --tenant acme meta/after '$T/small'"
kill -CONT "$(cat "$D/mds$((L - 1))/pid")"
stale=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	a=$("$GLORY" shard lookup --member "$LA" --volume "$VOLID" --name after)
	b=$("$GLORY" shard lookup --member "$LA" --volume "$VOLID" --name before)
	echo "resumed old leader: after=$a before=$b"
	[ "$a" = "not found" ] && stale=1
	case $b in found*) stale=1 ;; esac
	sleep 0.2
done
check "the resumed old leader never answered from stale state" test $stale = 0
check "the file put during the partition reads back" bash -c \
	"'$GLORY' get --tenant acme meta/after '$T/after' && cmp -s '$T/after' '$T/small'"

finish

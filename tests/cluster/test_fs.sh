#!/bin/bash
# Files in volumes through the glory command (libglory over the metadata shard and the chunk
# store): tenants, keys, volumes; put/get byte-exact at awkward sizes and through pipes; ls,
# stat, mkdir, rm; quotas (EDQUOT); tenant isolation; clear errors for bad input; and garbage
# collection across services: a removed file's chunks, and chunks of a put killed before its
# metadata commit, are reclaimed after the grace period.
. "$(dirname "$0")/lib.sh"

cluster_up --ds 6 --mds 3 --gc-grace 2 --write-lease 4
g() { "$GLORY" "$@"; }
# fragment files on the data servers' disks (fragments of 128 KiB and more are files)
chunks() { find "$D"/ds*/store -path '*frag*' -type f ! -name '*.tmp*' | wc -l; }
export -f chunks
export D

check "tenant create" g tenant create acme
check "a second tenant" g tenant create other
check "duplicate tenant refused" bash -c "! '$GLORY' tenant create acme 2>/dev/null"
out=$(g key create --tenant acme)
K=$(echo "$out" | awk '/access key/ {print $3}')
S=$(echo "$out" | awk '/secret/ {print $2}')
check "key create prints a 20-character key and a 40-character secret" test "${#K}" = 20 -a "${#S}" = 40
check "volume create ec:4+2 with dedup" g volume create data --tenant acme --redundancy ec:4+2 --dedup on
check "volume create rep:1 without dedup" g volume create plain --tenant acme --redundancy rep:1 --dedup off
check "volume create with quotas" g volume create small --tenant other --redundancy rep:2 --quota-bytes 1M --quota-inodes 4

# byte-exact round trips
for size in 0 1 4095 5242883 67108864; do
	mkrand "$T/in.$size" $size
	check "put/get $size bytes (ec:4+2)" bash -c "'$GLORY' put --tenant acme data/sz/$size '$T/in.$size' -p &&
		'$GLORY' get --tenant acme data/sz/$size '$T/out.$size' && cmp -s '$T/in.$size' '$T/out.$size'"
done
check "put from a pipe, get to stdout (rep:1, no dedup)" bash -c "cat '$T/in.5242883' | '$GLORY' put --key $K --secret $S plain/p - &&
	'$GLORY' get --key $K --secret $S plain/p | cmp -s - '$T/in.5242883'"
check "put replaces an existing file" bash -c "'$GLORY' put --tenant acme data/sz/1 '$T/in.4095' &&
	'$GLORY' get --tenant acme data/sz/1 | cmp -s - '$T/in.4095'"
check "ls lists the directory" bash -c "'$GLORY' ls --tenant acme data/sz | sort | tr '\n' ' ' | grep -q '^0 1 4095 5242883 67108864 \$'"
check "stat shows the size" bash -c "'$GLORY' stat --tenant acme data/sz/5242883 | grep -q '^size: *5242883\$'"
check "mkdir -p and ls -l" bash -c "'$GLORY' mkdir -p --tenant acme data/x/y/z && '$GLORY' ls -l --tenant acme data/x/y | grep -q '^d0755 .* z/\$'"
check "rm of a directory needs -r" bash -c "! '$GLORY' rm --tenant acme data/x 2>&1 | grep -q . || ! '$GLORY' rm --tenant acme data/x 2>/dev/null"
check "rm -r" bash -c "'$GLORY' rm -r --tenant acme data/x && ! '$GLORY' stat --tenant acme data/x 2>/dev/null"
stored=$((0 + 4095 + 4095 + 5242883 + 67108864))
check "volume usage counts the stored bytes ($stored)" bash -c "'$GLORY' volume usage data --tenant acme | grep -q '($stored bytes)'"

# quotas
mkrand "$T/two" 2097152
check "a put over the byte quota fails with EDQUOT" bash -c "'$GLORY' put --tenant other small/big '$T/two' 2>&1 | grep -q 'Disk quota exceeded'"
echo hi >"$T/hi"
g put --tenant other small/a "$T/hi" >/dev/null 2>&1 || true
g put --tenant other small/b "$T/hi" >/dev/null 2>&1 || true
check "the inode quota stops creates" bash -c "! '$GLORY' put --tenant other small/c '$T/hi' 2>/dev/null"
check "usage stays within the quota" bash -c "'$GLORY' volume usage small --tenant other | grep -q '4 inodes'"

# isolation and bad input
check "a key of tenant acme cannot see tenant other's volume" bash -c "'$GLORY' ls --key $K --secret $S small 2>&1 | grep -q 'No such file or directory'"
check "nor write into it" bash -c "! '$GLORY' put --key $K --secret $S small/z '$T/hi' 2>/dev/null"
check "a wrong secret is refused" bash -c "! '$GLORY' ls --key $K --secret wrongwrongwrong data 2>/dev/null"
check "'..' in a path is refused with exit 2" bash -c "'$GLORY' get --tenant acme data/../x 2>/dev/null; [ \$? = 2 ]"
check "a bad volume name is refused" bash -c "! '$GLORY' volume create Bad_Name --tenant acme 2>/dev/null"
check "a bad redundancy is refused" bash -c "! '$GLORY' volume create zz --tenant acme --redundancy ec:9+9 2>/dev/null"
check "a missing file says so" bash -c "'$GLORY' get --tenant acme data/nope 2>&1 | grep -q 'No such file or directory'"
check "volume rm refuses a volume with files" bash -c "! '$GLORY' volume rm data --tenant acme 2>/dev/null"

# GC across services: chunks of removed files go after the grace period
mkrand "$T/gc" 12582912
g put --tenant acme plain/gc "$T/gc"
sleep 3
before=$(chunks)
g rm --tenant acme plain/gc
check "the fragments of a removed file are deleted after the grace period" wait_for 30 "fragments deleted" bash -c "[ \$(chunks) -le \$(($before - 3)) ]"

# a put killed mid-stream (chunks stored, some not yet committed): its leftovers are reclaimed
base=$(chunks)
(head -c 100000000 /dev/urandom | g put --tenant acme plain/killed - -p) &
putter=$!
sleep 1.5
pkill -9 -f 'glory put --tenant acme plain/killed' || true
wait $putter 2>/dev/null || true
g rm --tenant acme plain/killed 2>/dev/null || true
check "a put killed mid-stream leaves no fragment behind once its file is removed" wait_for 40 "fragments deleted" bash -c "[ \$(chunks) -le $base ]"
check "files of other volumes still read back" bash -c "'$GLORY' get --tenant acme data/sz/67108864 | cmp -s - '$T/in.67108864'"
finish

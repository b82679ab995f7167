# Shared helpers for cluster tests: a private cluster under a temp dir, torn down on exit.
# Each test script sources this file, calls cluster_up, and uses the helpers below.
set -euo pipefail

GLORY=${GLORY_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin/glory}
T=$(mktemp -d /tmp/glory-test.XXXXXX)
D=$T/cluster
# sanitizer builds (ASAN_OPTIONS set, as make test sets it): every process started here writes
# its reports to $T/san.<pid>, also one that has no stderr any more (a daemonized mount)
if [ -n "${ASAN_OPTIONS:-}" ]; then
	export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$T/san"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san"
fi
FAILS=0
PASSES=0
# GLORY_TEST_LIGHT=1 (make test-asan): the long workloads run at a fraction of their size. The
# sanitizers look for memory and undefined-behaviour errors, which the same code paths show at
# any size; the full counts the issues ask for run in the normal build.
LIGHT=${GLORY_TEST_LIGHT:-0}
# light FULL SMALL: FULL, or SMALL under GLORY_TEST_LIGHT
light() { if [ "$LIGHT" = 1 ]; then echo "$2"; else echo "$1"; fi; }

cleanup() {
	local rc=$? f logs=()
	"$GLORY" dev down --dir "$D" >/dev/null 2>&1 || true
	# sanitizer builds: any report in a daemon's log or a process's report file fails the test
	for f in "$D"/*/log "$T"/san.*; do [ -f "$f" ] && logs+=("$f"); done
	if [ ${#logs[@]} -gt 0 ] && grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "${logs[@]}"; then
		echo "FAIL: sanitizer report in the logs above"
		grep -h -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "${logs[@]}" | head -n 80
		FAILS=$((FAILS + 1))
		rc=1
	fi
	if [ $rc -ne 0 ] || [ $FAILS -ne 0 ]; then
		echo "--- logs of $D (last lines) ---"
		for f in "$D"/*/log; do [ -f "$f" ] && { echo "== $f"; tail -n 25 "$f"; }; done
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

say() { echo "[$(date +%T)] $*"; }
ok() { PASSES=$((PASSES + 1)); say "ok: $*"; }
fail() { FAILS=$((FAILS + 1)); say "FAIL: $*"; }
check() { # check "what" command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
	echo "$PASSES passed, $FAILS failed"
	[ $FAILS -eq 0 ]
}

# cluster_up [glory dev up options...]
cluster_up() {
	"$GLORY" dev up --dir "$D" "$@" >"$T/up.out"
	# shellcheck disable=SC1091
	. "$D/env"
	export GLORY_MASTER
	wait_for 30 "all data servers up" all_up
}

nservers() { "$GLORY" status | awk '$1 ~ /^[0-9]+$/ {n++} END {print n+0}'; }
export GLORY
count_state() { "$GLORY" status | awk -v s="$1" '$1 ~ /^[0-9]+$/ && $4 == s {n++} END {print n+0}'; }
all_up() { [ "$(count_state up)" = "$(ls -d "$D"/ds* | wc -l)" ]; }
degraded() { "$GLORY" status | awk '/^degraded stripes:/ {sub(",", "", $3); print $3}'; }
status_field() { "$GLORY" status | awk -v k="$1" '$1 == k {print $2}'; }

# wait_for SECS "what" command...: polls every 0.5 s
wait_for() {
	local secs=$1 what=$2
	shift 2
	local end=$((SECONDS + secs))
	while ! "$@" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then
			fail "timed out after ${secs}s waiting for: $what"
			return 1
		fi
		sleep 0.5
	done
}

# mkrand FILE BYTES
mkrand() { head -c "$2" /dev/urandom >"$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# put FILE [redundancy] -> prints id
put() { "$GLORY" blob put --redundancy "${2:-ec:4+2}" "$1"; }
# same_as ID FILE: the blob reads back exactly
same_as() {
	"$GLORY" blob get "$1" "$T/readback" && cmp -s "$T/readback" "$2"
}
ds_pid() { cat "$D/$1/pid"; }
# remember ID FILE: blob ID must read back as FILE; all_back [LIST] checks every remembered pair
remember() { echo "$1 $2" >>"$T/ids"; }
all_back() {
	local bad=0 id f
	while read -r id f; do same_as "$id" "$f" || { echo "mismatch: $f"; bad=1; }; done <"${1:-$T/ids}"
	return $bad
}
export -f count_state

# FUSE mounts (test_fuse*, test_s3, test_nfs): mount points are listed in $MOUNTS; the caller's
# EXIT trap calls unmount_all before cleanup.
MOUNTS=""
mounted() { grep -q " $1 fuse.glory " /proc/mounts; }
# mount_vol VOL DIR [more options]: mounts in the background, logs to $D/mount-<dir>/log
# (where the cluster's cleanup looks for sanitizer reports)
mount_vol() {
	local vol=$1 dir=$2
	shift 2
	case " $MOUNTS " in *" $dir "*) ;; *) MOUNTS="$MOUNTS $dir" ;; esac
	mkdir -p "$D/mount-$(basename "$dir")"
	"$GLORY" mount "$vol" "$dir" --tenant t --log-file "$D/mount-$(basename "$dir")/log" "$@"
	mounted "$dir"
}
unmount_all() {
	local m
	for m in $MOUNTS; do
		if grep -q " $m " /proc/mounts; then
			fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		fi
	done
}

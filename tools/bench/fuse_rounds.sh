# shellcheck shell=bash
# Sourced by tools/bench/fuse_seq.sh and fuse_meta.sh: ROUNDS rounds, each of a libfuse
# passthrough of a local directory (tools/bench/passthrough.c), then a fresh
# `glory dev up --ds 6 --mds 1` with a rep:1 volume (no dedup) mounted (MOUNT_ENV='VAR=value'
# for the mount process), each measured by the caller's `measure LABEL DIR PIDS`: PIDS is the
# serving process (the passthrough; the mount, then the metadata servers), comma-separated.
# `. tools/bench/fuse_rounds.sh NAME` (from the tree's root) sets BUILD (default build), G and
# W (a new /tmp/glory-NAME.* directory, removed on exit with whatever is mounted there).
BUILD=${BUILD:-build}
G=$BUILD/bin/glory
W=$(mktemp -d "/tmp/glory-$1.XXXXXX")
cleanup() {
	for m in "$W/pt" "$W/g1"; do fusermount3 -u "$m" 2>/dev/null || true; done
	$G dev down --dir "$W/c" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

# Needs ROUNDS and a function `measure` set.
fuse_rounds() {
	local i
	for i in $(seq "$ROUNDS"); do
		mkdir -p "$W/src" "$W/pt" "$W/g1"
		"$BUILD/bin/passthrough" "$W/src" "$W/pt" -o allow_other,default_permissions
		measure "passthrough (round $i)" "$W/pt" "$(pgrep -f "passthrough $W/src" | head -n 1)"
		fusermount3 -u "$W/pt"
		$G dev up --dir "$W/c" --ds 6 --mds 1 >/dev/null 2>&1
		(
			# shellcheck disable=SC1091
			. "$W/c/env"
			export GLORY_MASTER
			$G tenant create bench >/dev/null
			$G volume create r1 --tenant bench --redundancy rep:1 --dedup off >/dev/null
			# shellcheck disable=SC2086 # MOUNT_ENV is VAR=value words
			env ${MOUNT_ENV:-} "$G" mount r1 "$W/g1" --tenant bench --log-file "$W/g1.log" >/dev/null 2>&1
			measure "glory rep:1 (round $i)" "$W/g1" \
				"$(pgrep -f "glory mount r1 $W/g1 " | head -n 1),$(pgrep -f "glory mds --dir $W/c/" | paste -sd,)"
			fusermount3 -u "$W/g1"
		)
		$G dev down --dir "$W/c" >/dev/null 2>&1
		rm -rf "${W:?}/c" "$W/src" "$W/g1.log"
	done
}

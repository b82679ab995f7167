#!/bin/bash
# FUSE metadata: create, stat and unlink of 20,000 empty files with 8 threads
# (tools/bench/fsmeta.c, one directory per thread), with the CPU each serving process used per
# operation. Contenders, each on a fresh start and interleaved: a libfuse passthrough of a local
# directory (tools/bench/passthrough.c), then a fresh `glory dev up --ds 6 --mds 1` with a rep:1
# volume mounted. For A/B runs: BUILD=other/build.
#
#   tools/bench/fuse_meta.sh [ROUNDS (default 3)]
# Needs root and a built tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
# shellcheck source=tools/bench/fuse_rounds.sh
. tools/bench/fuse_rounds.sh fusemeta
# measure LABEL DIR PIDS: one line of rates, one of CPU per create
measure() {
	"$BUILD/bin/fsmeta" "$2" --threads 8 --files 2500 --cpu "$3" >"$W/fsmeta.out"
	printf '%-28s ' "$1"
	awk '$1 != "cpu" {printf "%s %6s/s  ", $1, $2} END {print ""}' "$W/fsmeta.out"
	awk -v l="$1" '$1 != "cpu" {ph = $1} $1 == "cpu" && ph == "create" {sub(/^ *cpu per op: /, ""); printf "%-28s create CPU per op: %s\n", l, $0}' "$W/fsmeta.out"
}
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); $(date -u '+%F %H:%M') UTC"
echo "Command: \`tools/bench/fuse_meta.sh $ROUNDS\`"
echo '```'
fuse_rounds
echo '```'

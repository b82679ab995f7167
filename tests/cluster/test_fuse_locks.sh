#!/bin/bash
# File locks across two mounts of one volume (two processes standing in for two hosts): POSIX
# byte-range locks (F_SETLK, F_SETLKW, F_GETLK) and flock(2) taken on one mount are seen on the
# other; a waiter gets the lock when the holder lets go; closing releases; the two kinds are
# independent; a mount killed with kill -9 while holding a lock frees it within the session ttl.
. "$(dirname "$0")/lib.sh"

BIN=${GLORY_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}/bin
L=$BIN/locker
M1=$T/m1
M2=$T/m2
mkdir -p "$M1" "$M2"

trap 'rc=$?; set +e; pkill -f "$L " 2>/dev/null; unmount_all; (exit $rc); cleanup' EXIT

# hold OUT args...: runs locker in the background; waits until it holds the lock
hold() {
	local out=$1
	shift
	"$L" "$@" >"$out" 2>&1 &
	wait_for 20 "the lock" grep -q '^got' "$out"
}
refused() { # refused args...: the lock is held by someone else (exit 3)
	"$L" "$@" >/dev/null 2>&1
	[ $? = 3 ]
}

cluster_up --ds 3 --mds 3
"$GLORY" tenant create t >/dev/null
"$GLORY" volume create v --tenant t --redundancy rep:1 >/dev/null
check "mount 1 of the volume" mount_vol v "$M1"
check "mount 2 of the volume (another process)" mount_vol v "$M2"
echo data >"$M1/f"

# --- POSIX byte-range locks
check "a write lock on bytes 0-99 taken on mount 1" hold "$T/h1" fcntl "$M1/f" w 0 100 nb 8
check "mount 2: an overlapping write lock is refused (EAGAIN)" refused fcntl "$M2/f" w 50 10 nb 0
check "mount 2: an overlapping read lock is refused" refused fcntl "$M2/f" r 99 1 nb 0
check "mount 1, another process: refused too" refused fcntl "$M1/f" w 0 1 nb 0
check "mount 2: bytes past the held range lock at once" "$L" fcntl "$M2/f" w 100 50 nb 0
check "mount 2: F_GETLK names the holder's lock" bash -c "'$L' getlk '$M2/f' w 10 5 | grep -qx 'locked w 0 100 [0-9]*'"
check "mount 2: F_GETLK elsewhere says unlocked" bash -c "'$L' getlk '$M2/f' w 100 5 | grep -qx unlocked"
t0=$(date +%s.%N)
check "mount 2: F_SETLKW waits and gets the lock when the holder ends" "$L" fcntl "$M2/f" w 0 100 wait 0
waited=$(echo "$(date +%s.%N) - $t0" | bc)
check "the waiter waited for the holder (${waited}s)" bash -c "[ \$(echo '$waited > 3' | bc) = 1 ]"
check "closing released it: mount 1 locks bytes 0-99 at once" "$L" fcntl "$M1/f" w 0 100 nb 0

# --- read locks share
check "a read lock on mount 1" hold "$T/h2" fcntl "$M1/f" r 0 0 nb 5
check "mount 2: another read lock shares it" "$L" fcntl "$M2/f" r 0 0 nb 0
check "mount 2: a write lock is refused" refused fcntl "$M2/f" w 10 1 nb 0
wait

# --- flock
check "flock LOCK_EX on mount 1" hold "$T/h3" flock "$M1/f" ex nb 5
check "mount 2: flock LOCK_EX|LOCK_NB is refused (EWOULDBLOCK)" refused flock "$M2/f" ex nb 0
check "mount 2: flock LOCK_SH|LOCK_NB is refused" refused flock "$M2/f" sh nb 0
check "mount 2: a POSIX lock is independent of flock" "$L" fcntl "$M2/f" w 0 0 nb 0
check "mount 2: a blocking flock gets it when the holder ends" "$L" flock "$M2/f" ex wait 0
wait

# --- a mount killed while its process holds a lock
check "a lock held on mount 1" hold "$T/h4" fcntl "$M1/f" w 0 0 nb 600
kill -9 "$(pgrep -f "glory mount v $M1 " | head -n 1)"
pkill -9 -f "$L fcntl $M1/f" 2>/dev/null || true
check "mount 2: still refused right after the kill" refused fcntl "$M2/f" w 0 1 nb 0
t0=$(date +%s.%N)
check "mount 2: a waiter gets it once the dead mount's session expires" timeout 60 "$L" fcntl "$M2/f" w 0 0 wait 0
waited=$(echo "$(date +%s.%N) - $t0" | bc)
say "the dead mount's lock went after ${waited}s (session ttl 15 s)"
check "within the ttl and a renewal period (${waited}s <= 25)" bash -c "[ \$(echo '$waited <= 25' | bc) = 1 ]"
finish

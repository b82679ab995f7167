#!/usr/bin/env python3
"""NLM 4 against the glory NFS gateway over raw ONC RPC: locks of several owners on one file
(conflicts, shared locks, splitting by unlock, lock to end of file, upgrades), TEST's holder,
blocking requests, FREE_ALL, stale handles, directories, versions, and the cookie echoed.
usage: nlm_rpc.py HOST NFSPORT MOUNTPORT EXPORT FILE   (FILE: an existing file in EXPORT)"""
import socket
import sys
import time

from oncrpc import call, opaque, reply, serve, u32, u64

HOST, PORT, MPORT, EXPORT, FILE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
NFS, MOUNT, NLM = 100003, 100005, 100021
GRANTED, DENIED, BLOCKED, STALE_FH, FAILED = 0, 1, 3, 7, 9
fails = 0


def check(ok, what):
    global fails
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    fails += not ok


def rpc(port, prog, vers, proc, args, src=None):
    """Returns (accept_stat, Reader at the results). src: the address to call from."""
    return call(HOST, port, prog, vers, proc, args, src)


st, r = rpc(MPORT, MOUNT, 3, 1, opaque(EXPORT))
assert st == 0 and r.u32() == 0, "MNT"
root = r.opaque()
st, r = rpc(PORT, NFS, 3, 3, opaque(root) + opaque(FILE))
assert st == 0 and r.u32() == 0, "LOOKUP"
fh = r.opaque()


def alock(owner, off, length, handle=None):
    return opaque(owner) + opaque(fh if handle is None else handle) + opaque("oh-" + owner) + \
        u32(len(owner)) + u64(off) + u64(length)


def lock(owner, off, length, excl=True, block=False, handle=None, cookie=b"ck", src=None):
    st, r = rpc(PORT, NLM, 4, 2, opaque(cookie) + u32(block, excl) +
                alock(owner, off, length, handle) + u32(0, 1), src)
    assert st == 0
    ck = r.opaque()
    return r.u32(), ck


def test(owner, off, length, excl=True):
    st, r = rpc(PORT, NLM, 4, 1, opaque(b"t") + u32(excl) + alock(owner, off, length))
    assert st == 0
    r.opaque()
    s = r.u32()
    holder = None
    if s == DENIED:
        holder = (r.u32(), r.u32(), r.opaque(), r.u64(), r.u64())
    return s, holder


def unlock(owner, off, length):
    st, r = rpc(PORT, NLM, 4, 4, opaque(b"u") + alock(owner, off, length))
    assert st == 0
    r.opaque()
    return r.u32()


st, _ = rpc(PORT, NLM, 4, 0, b"")
check(st == 0, "NLM4 NULL answers")
s, ck = lock("hostA", 0, 100, cookie=b"cookie-1")
check(s == GRANTED and ck == b"cookie-1", "LOCK exclusive [0,100) by A: GRANTED, the cookie echoed")
s, h = test("hostB", 50, 10)
check(s == DENIED and h == (1, 5, b"oh-hostA", 0, 100),
      "TEST by B over it: DENIED, the holder is A's exclusive lock [0,100) (%s)" % (h,))
check(lock("hostB", 50, 10)[0] == DENIED, "LOCK by B over it: DENIED")
check(lock("hostB", 50, 10, block=True)[0] == BLOCKED, "blocking LOCK by B over it: BLOCKED")
check(test("hostA", 0, 100)[0] == GRANTED, "TEST by A of its own range: GRANTED")
check(lock("hostB", 100, 100, excl=False)[0] == GRANTED, "LOCK shared [100,200) by B: GRANTED")
check(lock("hostC", 150, 100, excl=False)[0] == GRANTED,
      "LOCK shared [150,250) by C over B's shared lock: GRANTED")
check(lock("hostA", 120, 10)[0] == DENIED, "LOCK exclusive by A over shared locks: DENIED")
check(unlock("hostA", 40, 20) == GRANTED, "UNLOCK [40,60) by A (splits its lock)")
check(test("hostB", 40, 20)[0] == GRANTED, "the hole [40,60) is free")
check(test("hostB", 0, 40)[0] == DENIED and test("hostB", 60, 40)[0] == DENIED,
      "[0,40) and [60,100) stay A's")
check(lock("hostA", 60, 40, excl=False)[0] == GRANTED, "A turns [60,100) into a shared lock")
check(test("hostB", 60, 40, excl=False)[0] == GRANTED, "a shared TEST by B of [60,100): GRANTED")
check(lock("hostD", 1000, 0)[0] == GRANTED, "LOCK by D from 1000 to the end of the file")
check(test("hostB", 1 << 40, 1)[0] == DENIED, "... covers offset 2^40")
st, r = rpc(PORT, NLM, 4, 23, opaque("hostA") + u32(2))
check(st == 0, "FREE_ALL for hostA")
check(test("hostB", 0, 40)[0] == GRANTED, "after FREE_ALL, A's locks are gone")
check(test("hostB", 1000, 5)[0] == DENIED, "... and D's are not")
check(unlock("hostD", 0, 0) == GRANTED and test("hostB", 1000, 5)[0] == GRANTED,
      "UNLOCK of the whole file by D frees its lock")
bad = bytearray(fh)
bad[23] ^= 1
check(lock("hostA", 0, 1, handle=bytes(bad))[0] == STALE_FH, "LOCK with another generation: STALE_FH")
check(lock("hostA", 0, 1, handle=b"garbage")[0] == STALE_FH, "LOCK with a garbage handle: STALE_FH")
check(lock("hostA", 0, 1, handle=root)[0] == FAILED, "LOCK of a directory: FAILED")
st, r = rpc(PORT, NLM, 3, 0, b"")
check(st == 2 and r.u32() == 4 and r.u32() == 4, "NLM version 3: PROG_MISMATCH 4..4")
st, _ = rpc(PORT, NLM, 4, 20, b"")
check(st == 3, "SHARE: PROC_UNAVAIL (not served)")
st, _ = rpc(PORT, NLM, 4, 2, opaque(b"x") + u32(0, 1) + opaque("h"))
check(st == 4, "a truncated LOCK: GARBAGE_ARGS")

# --- GRANTED callbacks: a client on 127.0.0.2 with its own portmapper and lock manager


granted = []
answer = [GRANTED]


def portmapper(c, x, prog, vers, proc, r):
    if prog == 100000 and proc == 3 and r.u32() == NLM and r.u32() == 4:
        reply(c, x, u32(lockd.getsockname()[1]))
    else:
        reply(c, x, u32(0))


def lock_manager(c, x, prog, vers, proc, r):
    if prog == NLM and vers == 4 and proc == 5:  # GRANTED: nlm4_testargs
        cookie, excl, caller, _, oh, svid, off, length = (
            r.opaque(), r.u32(), r.opaque(), r.opaque(), r.opaque(), r.u32(), r.u64(), r.u64())
        granted.append((cookie, caller, svid, off, length))
        reply(c, x, opaque(cookie) + u32(answer[0]))


def wait_granted(n, secs):
    end = time.time() + secs
    while len(granted) < n and time.time() < end:
        time.sleep(0.05)
    return len(granted) >= n


try:
    pm = socket.socket()
    pm.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    pm.bind(("127.0.0.2", 111))
    pm.listen(8)
except OSError as e:
    pm = None
    print("SKIP: GRANTED callbacks: cannot listen on 127.0.0.2:111 (%s)" % e)
if pm:
    lockd = socket.socket()
    lockd.bind(("127.0.0.2", 0))
    lockd.listen(8)
    for sock, h in ((pm, portmapper), (lockd, lock_manager)):
        serve(sock, h)
    B = "127.0.0.2"
    check(lock("hostA", 0, 10)[0] == GRANTED, "A locks [0,10)")
    check(lock("hostB", 0, 10, block=True, cookie=b"wait-B", src=B)[0] == BLOCKED,
          "a blocking LOCK by B (from 127.0.0.2): BLOCKED")
    check(unlock("hostA", 0, 10) == GRANTED, "A unlocks")
    check(wait_granted(1, 5) and granted[0] == (b"wait-B", b"hostB", 5, 0, 10),
          "B's lock manager is called back with GRANTED (cookie, owner, range) (%s)" % granted)
    s, h = test("hostA", 0, 10)
    check(s == DENIED and h[1] == 5, "the lock is B's now (TEST by A: DENIED, holder svid 5)")
    check(lock("hostC", 0, 10, block=True, cookie=b"wait-C", src=B)[0] == BLOCKED,
          "C waits for B's lock")
    st, r = rpc(PORT, NLM, 4, 3, opaque(b"cancel") + u32(1, 1) + alock("hostC", 0, 10), B)
    check(st == 0 and r.opaque() == b"cancel" and r.u32() == GRANTED, "C cancels its wait")
    check(unlock("hostB", 0, 10) == GRANTED, "B unlocks")
    time.sleep(1.5)
    check(len(granted) == 1 and test("hostA", 0, 10)[0] == GRANTED,
          "a cancelled wait is not granted: nobody holds the range")
    answer[0] = DENIED  # the client no longer wants it
    check(lock("hostA", 0, 10)[0] == GRANTED and
          lock("hostD", 0, 10, block=True, cookie=b"wait-D", src=B)[0] == BLOCKED,
          "A locks again; D waits")
    check(unlock("hostA", 0, 10) == GRANTED, "A unlocks")
    check(wait_granted(2, 5), "D's lock manager is called back")
    time.sleep(0.5)
    check(test("hostA", 0, 10)[0] == GRANTED,
          "D's lock manager refused the GRANTED: the lock is released again")
    pm.close()
    lockd.close()

print("%d failed" % fails)
sys.exit(1 if fails else 0)

#!/usr/bin/env python3
"""NSM (the status monitor, program 100024 v1) of the glory NFS gateway, over raw ONC RPC, with
fake clients on 127.0.0.2-4 (their own portmapper and statd where needed).
usage: nsm_rpc.py MODE HOST NFSPORT MOUNTPORT EXPORT FILE [ARGS]   (FILE: a file in EXPORT)
  notify            SM_NULL, SM_STAT, bad XDR, SM_SIMU_CRASH, SM_MON from afar; a client's
                    SM_NOTIFY (by caller name, by address) frees its locks and others' stay;
                    SM_MON/SM_UNMON callbacks when 127.0.0.1:111 is free. Prints "state N".
  statd OUT         a client on 127.0.0.2 (portmapper, statd) takes locks as "fakeclient" and
                    "lazy", one on 127.0.0.4 (no statd) as "gone"; writes "ready" to OUT,
                    then appends "notify NAME STATE" for each SM_NOTIFY its statd receives.
  grace OUT OLDSTATE  after a restart with --grace 5: the SM_NOTIFY came with a new odd state
                    (SM_STAT agrees); only reclaims during the grace; normal locks after."""
import os
import socket
import sys
import time

from oncrpc import Reader, call, listener, opaque, portmapper, reply, serve, u32, u64

MODE, HOST, PORT, MPORT, EXPORT, FILE = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5], sys.argv[6]
NFS, MOUNT, NLM, NSM = 100003, 100005, 100021, 100024
GRANTED, DENIED, BLOCKED, GRACE = 0, 1, 3, 4
SUCCESS, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS = 0, 1, 2, 3, 4
fails = 0


def check(ok, what):
    global fails
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    fails += not ok


def file_handle():
    st, r = call(HOST, MPORT, MOUNT, 3, 1, opaque(EXPORT))
    assert st == 0 and r.u32() == 0, "MNT"
    root = r.opaque()
    st, r = call(HOST, PORT, NFS, 3, 3, opaque(root) + opaque(FILE))
    assert st == 0 and r.u32() == 0, "LOOKUP"
    return r.opaque()


FH = file_handle()


BASE = 1 << 30  # clear of the ranges nlm_rpc.py leaves locked


def alock(owner, off, length):
    return opaque(owner) + opaque(FH) + opaque("oh-" + owner) + u32(7) + u64(BASE + off) + \
        u64(length)


def lock(owner, off, length, src=None, reclaim=False, block=False):
    st, r = call(HOST, PORT, NLM, 4, 2, opaque(b"ck") + u32(block, 1) + alock(owner, off, length) +
                 u32(reclaim, 3), src)
    assert st == 0
    r.opaque()
    return r.u32()


def test(owner, off, length):
    st, r = call(HOST, PORT, NLM, 4, 1, opaque(b"t") + u32(1) + alock(owner, off, length))
    assert st == 0
    r.opaque()
    return r.u32()


def unlock(owner, off, length, src=None):
    st, r = call(HOST, PORT, NLM, 4, 4, opaque(b"u") + alock(owner, off, length), src)
    assert st == 0
    r.opaque()
    return r.u32()


def sm_stat():
    st, r = call(HOST, PORT, NSM, 1, 1, opaque("anyhost"))
    assert st == 0
    return r.u32(), r.u32()


def sm_notify(name, state, src=None):
    st, _ = call(HOST, PORT, NSM, 1, 6, opaque(name) + u32(state), src)
    return st


def udp_call(prog, vers, proc, args, src="127.0.0.1"):
    """One call in a datagram to the NFS port; (accept_stat, Reader) or None without a reply."""
    body = u32(4242, 0, 2, prog, vers, proc) + u32(0, 0, 0, 0) + args
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(3)
    s.sendto(body, (HOST, PORT))
    try:
        data = s.recv(65536)
    except socket.timeout:
        return None
    finally:
        s.close()
    r = Reader(data)
    if r.u32() != 4242 or r.u32() != 1 or r.u32() != 0:
        return None
    r.u32()
    r.opaque()
    return r.u32(), r


def my_id(prog):
    return opaque("localhost") + u32(prog, 1, 9)


def mode_notify():
    st, _ = call(HOST, PORT, NSM, 1, 0, b"")
    check(st == SUCCESS, "SM_NULL answers")
    res, state = sm_stat()
    check(res == 0 and state % 2 == 1, "SM_STAT: STAT_SUCC and an odd state (%d)" % state)
    print("state %d" % state, flush=True)
    st, _ = call(HOST, PORT, NSM, 1, 6, opaque("x" * 1025) + u32(1))
    check(st == GARBAGE_ARGS, "SM_NOTIFY with a name over 1024 bytes: GARBAGE_ARGS")
    st, _ = call(HOST, PORT, NSM, 1, 6, opaque("host"))
    check(st == GARBAGE_ARGS, "a truncated SM_NOTIFY: GARBAGE_ARGS")
    st, _ = call(HOST, PORT, NSM, 1, 2, u32(0xFFFFFFF0))
    check(st == GARBAGE_ARGS, "SM_MON with a huge length: GARBAGE_ARGS")
    st, _ = call(HOST, PORT, NSM, 1, 5, b"")
    check(st == PROC_UNAVAIL, "SM_SIMU_CRASH: PROC_UNAVAIL")
    st, r = call(HOST, PORT, NSM, 2, 0, b"")
    check(st == PROG_MISMATCH and r.u32() == 1 and r.u32() == 1, "NSM version 2: PROG_MISMATCH 1..1")
    st, r = call(HOST, PORT, NSM, 1, 2, opaque("h") + my_id(300001) + b"p" * 16, "127.0.0.2")
    check(st == 0 and r.u32() == 1, "SM_MON from another host: STAT_FAIL")

    # a client's reboot frees its locks: by caller name
    A, B = "127.0.0.3", "127.0.0.1"
    check(lock("clientA", 0, 10, src=A) == GRANTED, "client A (127.0.0.3) locks [0,10)")
    check(lock("clientB", 0, 10, src=B) == DENIED, "client B is refused it")
    check(lock("clientB", 100, 10, src=B) == GRANTED, "B locks [100,110)")
    check(sm_notify("clientA", 5, src="127.0.0.5") == SUCCESS, "SM_NOTIFY for clientA (sent from elsewhere)")
    check(test("clientC", 0, 10) == GRANTED, "A's lock is gone (TEST by C: GRANTED)")
    check(lock("clientB", 0, 10, src=B) == GRANTED, "B takes [0,10) now")
    # ... and by the sender's address (statd may send another name than lockd's caller name)
    check(lock("a-lockd-name", 200, 10, src=A) == GRANTED and
          lock("a-lockd-name", 300, 0, src=A) == GRANTED, "A locks [200,210) and 300.. again")
    check(sm_notify("a.example.com", 7, src=A) == SUCCESS,
          "SM_NOTIFY with another name, sent from A's address")
    check(test("clientC", 200, 10) == GRANTED and test("clientC", 1000, 1) == GRANTED,
          "A's locks are gone")
    check(test("clientC", 0, 10) == DENIED and test("clientC", 100, 10) == DENIED,
          "B's locks (another name and address) stay")
    check(unlock("clientB", 0, 0, src=B) == GRANTED and test("clientC", 0, 200) == GRANTED,
          "B unlocks everything")

    # over UDP, as Linux's sm-notify sends it
    check(lock("udp-client", 400, 10, src=A) == GRANTED, "A locks [400,410) as udp-client")
    res = udp_call(NSM, 1, 6, opaque("udp-client") + u32(13))
    check(res is not None and res[0] == SUCCESS, "SM_NOTIFY in a UDP datagram is answered")
    check(test("clientC", 400, 10) == GRANTED, "... and frees udp-client's lock")
    res = udp_call(NSM, 1, 1, opaque("x"))
    check(res is not None and res[0] == SUCCESS and res[1].u32() == 0 and res[1].u32() == state,
          "SM_STAT over UDP: STAT_SUCC and the state")
    res = udp_call(NFS, 3, 0, b"")
    check(res is not None and res[0] == PROG_UNAVAIL, "NFS over UDP: PROG_UNAVAIL")
    res = udp_call(NSM, 1, 6, opaque("x" * 2000))
    check(res is not None and res[0] == GARBAGE_ARGS, "bad XDR over UDP: GARBAGE_ARGS")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"\xff" * 3, (HOST, PORT))
    s.close()
    check(udp_call(NSM, 1, 0, b"") is not None, "a datagram that is no call is ignored; NSM still answers")

    # SM_MON from this host's lock manager: a monitored host's SM_NOTIFY is passed on
    try:
        got = []
        lockd = listener("127.0.0.1")

        def h(c, x, prog, vers, proc, r):
            got.append((prog, vers, proc, r.opaque(), r.u32(), r.fixed(16)))
            reply(c, x, b"")
        serve(lockd, h)
        pm = portmapper("127.0.0.1", {(300001, 1): lockd.getsockname()[1]})
    except OSError as e:
        print("SKIP: SM_MON callbacks: cannot listen on 127.0.0.1:111 (%s)" % e)
        return
    priv = b"0123456789abcdef"
    st, r = call(HOST, PORT, NSM, 1, 2, opaque("clientM") + my_id(300001) + priv, "127.0.0.1")
    check(st == 0 and r.u32() == 0, "SM_MON of clientM from 127.0.0.1: STAT_SUCC")
    sm_notify("clientM", 9)
    check(got == [(300001, 1, 9, b"clientM", 9, priv)],
          "clientM's SM_NOTIFY calls the monitor's program back (name, state, priv) (%s)" % got)
    st, r = call(HOST, PORT, NSM, 1, 3, opaque("clientM") + my_id(300001), "127.0.0.1")
    check(st == 0 and r.u32() == state, "SM_UNMON answers our state")
    sm_notify("clientM", 11)
    check(len(got) == 1, "after SM_UNMON, no callback")
    pm.close()
    lockd.close()


def mode_statd(out):

    def statd_h(c, x, prog, vers, proc, r):
        if prog == NSM and vers == 1 and proc == 6:
            name, state = r.opaque(), r.u32()
            with open(out, "a") as f:
                f.write("notify %s %d\n" % (name.decode(errors="replace"), state))
        reply(c, x, b"")
    statd = listener("127.0.0.2")
    serve(statd, statd_h)
    portmapper("127.0.0.2", {(NSM, 1): statd.getsockname()[1]})
    ok = (lock("fakeclient", 0, 10, src="127.0.0.2") == GRANTED and
          lock("lazy", 20, 10, src="127.0.0.2") == GRANTED and
          lock("gone", 40, 10, src="127.0.0.4") == GRANTED)
    with open(out, "a") as f:
        f.write("ready\n" if ok else "lock failed\n")
    while True:
        time.sleep(3600)


def mode_grace(out, old):
    start = time.time()
    notes = []
    while time.time() - start < 10 and not notes:
        notes = [ln.split() for ln in open(out) if ln.startswith("notify ")]
        time.sleep(0.05)
    res, state = sm_stat()
    check(state % 2 == 1 and state > old, "SM_STAT after the restart: a greater odd state (%d > %d)"
          % (state, old))
    check(notes and all(n[2] == str(state) for n in notes) and notes[0][1] == os.uname()[1],
          "the client's statd got SM_NOTIFY (our host name, the new state) (%s)" % notes)
    check(lock("newcomer", 100, 10, src="127.0.0.2") == GRACE,
          "during the grace period a new LOCK: DENIED_GRACE_PERIOD")
    check(test("newcomer", 0, 10) == GRACE, "... and TEST: DENIED_GRACE_PERIOD")
    check(lock("fakeclient", 0, 10, src="127.0.0.2", reclaim=True) == GRANTED,
          "... a reclaim LOCK is granted")
    waited = time.time()
    while lock("newcomer", 100, 10, src="127.0.0.2") == GRACE and time.time() - waited < 15:
        time.sleep(0.2)
    check(time.time() - start < 15, "the grace period ends (after %.1f s)" % (time.time() - start))
    check(lock("newcomer2", 200, 10, src="127.0.0.2") == GRANTED, "after it a normal LOCK works")
    check(lock("newcomer", 0, 10, src="127.0.0.2") == DENIED, "the reclaimed lock is held")
    check(test("x", 0, 10) == DENIED, "TEST works again (reports the reclaimed lock)")


if MODE == "notify":
    mode_notify()
elif MODE == "statd":
    mode_statd(sys.argv[7])
elif MODE == "grace":
    mode_grace(sys.argv[7], int(sys.argv[8]))
print("%d failed" % fails)
sys.exit(1 if fails else 0)

#!/usr/bin/env python3
"""Hostile and malformed ONC RPC records against the glory NFS gateway: each must get the RPC
reply RFC 5531 asks for (or a closed connection), and the gateway must keep serving.
usage: hostile_rpc.py HOST NFSPORT MOUNTPORT [EXPORT BIGFILE]
With EXPORT and BIGFILE (a file of 16 MiB or more in it): a client that pipelines READs and
never reads the replies must not hold up another client."""
import random
import socket
import struct
import sys
import time

HOST, PORT, MPORT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fails = 0


def check(ok, what):
    global fails
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    fails += not ok


def u32(*v):
    return b"".join(struct.pack(">I", x) for x in v)


def opaque(b):
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def auth_sys(uid=0, gid=0, gids=()):
    body = u32(0) + opaque(b"hostile") + u32(uid, gid, len(gids), *gids)
    return u32(1) + opaque(body)


def call(xid, prog, vers, proc, args=b"", rpcvers=2, cred=None):
    return u32(xid, 0, rpcvers, prog, vers, proc) + (cred or auth_sys()) + u32(0, 0) + args


def record(body, frags=1):
    out, step = b"", max(1, len(body) // frags)
    for i in range(0, len(body), step):
        part = body[i:i + step]
        last = 0x80000000 if i + step >= len(body) else 0
        out += u32(last | len(part)) + part
    return out


def conn(port=PORT):
    s = socket.create_connection((HOST, port), timeout=10)
    return s


def recv_reply(s):
    """One reply record, or None if the connection closed."""
    data = b""
    while True:
        hdr = b""
        while len(hdr) < 4:
            k = s.recv(4 - len(hdr))
            if not k:
                return None
            hdr += k
        (w,) = struct.unpack(">I", hdr)
        n = w & 0x7FFFFFFF
        while n:
            k = s.recv(n)
            if not k:
                return None
            data += k
            n -= len(k)
        if w & 0x80000000:
            return data


def reply_fields(r):
    return struct.unpack(">%dI" % (len(r) // 4), r[: len(r) // 4 * 4])


def ask(body, port=PORT, frags=1):
    s = conn(port)
    s.sendall(record(body, frags))
    r = recv_reply(s)
    s.close()
    return reply_fields(r) if r else None


def closed_after(raw):
    s = conn()
    try:
        s.sendall(raw)
        return recv_reply(s) is None
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        s.close()


NFS, MOUNT = 100003, 100005
# xid, REPLY, MSG_ACCEPTED, verf flavor, verf len, accept_stat ...
r = ask(call(1, NFS, 3, 0))
check(r is not None and r[:6] == (1, 1, 0, 0, 0, 0), "NULL: accepted, SUCCESS")
r = ask(call(2, NFS, 3, 0, rpcvers=3))
check(r is not None and r[:5] == (2, 1, 1, 0, 2) and r[5] == 2,
      "RPC version 3: MSG_DENIED, RPC_MISMATCH 2..2")
r = ask(call(3, 123456, 1, 0))
check(r is not None and r[:6] == (3, 1, 0, 0, 0, 1), "unknown program: PROG_UNAVAIL")
r = ask(call(4, NFS, 4, 0))
check(r is not None and r[:8] == (4, 1, 0, 0, 0, 2, 3, 3), "NFS version 4: PROG_MISMATCH 3..3")
r = ask(call(5, NFS, 2, 1))
check(r is not None and r[5] == 2, "NFS version 2: PROG_MISMATCH")
r = ask(call(6, MOUNT, 2, 0), MPORT)
check(r is not None and r[:8] == (6, 1, 0, 0, 0, 2, 1, 3), "MOUNT version 2: PROG_MISMATCH 1..3")
r = ask(call(7, NFS, 3, 99))
check(r is not None and r[:6] == (7, 1, 0, 0, 0, 3), "procedure 99: PROC_UNAVAIL")
r = ask(call(8, MOUNT, 3, 42), MPORT)
check(r is not None and r[:6] == (8, 1, 0, 0, 0, 3), "MOUNT procedure 42: PROC_UNAVAIL")
r = ask(call(9, NFS, 3, 1, args=u32(24) + b"\1\0"))
check(r is not None and r[:6] == (9, 1, 0, 0, 0, 4), "GETATTR with truncated arguments: GARBAGE_ARGS")
r = ask(call(10, NFS, 3, 1, cred=auth_sys(gids=range(17))))
check(r is not None and r[:5] == (10, 1, 1, 1, 1), "AUTH_SYS with 17 groups: AUTH_ERROR, AUTH_BADCRED")
r = ask(call(11, NFS, 3, 0), frags=5)
check(r is not None and r[:6] == (11, 1, 0, 0, 0, 0), "a call in 5 fragments: SUCCESS")
fh = opaque(b"\1\0\0\0" + b"\0\0\0\1" + b"\0" * 7 + b"\1" + b"\0" * 8)
r = ask(call(12, NFS, 3, 7, args=fh + u32(0, 0, 100, 2) + opaque(b"x" * 10)))
check(r is not None and r[5] == 0 and r[6] != 0, "WRITE whose count exceeds its data: an NFS error")
r = ask(call(13, NFS, 3, 7, args=fh + u32(0, 0, 10, 2) + u32(2 << 20)))
check(r is not None and r[5] == 4, "WRITE claiming 2 MiB of data: GARBAGE_ARGS")
r = ask(call(14, NFS, 3, 3, args=fh + opaque(b"a\0b")))
check(r is not None and r[5] == 4, "LOOKUP of a name with a NUL: GARBAGE_ARGS")
r = ask(call(15, MOUNT, 3, 1, args=opaque(b"/" * 2000)), MPORT)
check(r is not None and r[5] == 4, "MNT of a 2000-byte path: GARBAGE_ARGS")
r = ask(call(16, NFS, 3, 8, args=fh + opaque(b"n") + u32(7)))
check(r is not None and r[5] == 4, "CREATE with mode 7: GARBAGE_ARGS")
r = ask(call(17, NFS, 3, 1, args=opaque(b"\x02" + b"\0" * 23)))
check(r is not None and r[5] == 0 and r[6] == 10001, "GETATTR of a version-2 handle: NFS3ERR_BADHANDLE")
check(closed_after(u32(0x7FFFFFFF) + b"\0" * 64), "a record of 2 GiB announced: connection closed")
check(closed_after((u32(0x00100000) + b"\0" * (1 << 20)) * 2 + u32(0x80000010) + b"\0" * 16),
      "non-last fragments adding up past the limit: connection closed")
check(closed_after(record(u32(18, 1, 0, 0, 0, 0))), "a REPLY sent to the server: connection closed")
check(closed_after(record(b"\1\2\3")), "a 3-byte record: connection closed")

rng = random.Random(1)
for i in range(300):
    body = call(100 + i, rng.choice([NFS, MOUNT]), 3, rng.randrange(0, 23))
    cut = rng.randrange(24, len(body) + 1)
    body = body[:cut] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
    try:
        s = conn(rng.choice([PORT, MPORT]))
        s.sendall(record(body))
        recv_reply(s)
        s.close()
    except OSError:
        pass
if len(sys.argv) > 5:
    s = conn(MPORT)
    s.sendall(record(call(31, MOUNT, 3, 1, args=opaque(sys.argv[4].encode()))))
    raw = recv_reply(s)
    s.close()
    n = struct.unpack(">I", raw[28:32])[0]
    rootfh = raw[32:32 + n]
    s = conn()
    s.sendall(record(call(32, NFS, 3, 3, args=opaque(rootfh) + opaque(sys.argv[5].encode()))))
    raw = recv_reply(s)
    s.close()
    n = struct.unpack(">I", raw[28:32])[0]
    fh = raw[32:32 + n]
    greedy = socket.socket()
    greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    greedy.connect((HOST, PORT))
    for i in range(32):  # 32 MiB of replies that are never read
        greedy.sendall(record(call(1000 + i, NFS, 3, 6, args=opaque(fh) + u32(0, i << 20, 1 << 20))))
    time.sleep(1)
    slow = 0
    for i in range(20):
        t0 = time.time()
        try:
            r = ask(call(2000 + i, NFS, 3, 1, args=opaque(fh)))
        except OSError:  # no answer within the socket's 10 s
            r = None
        slow = max(slow, time.time() - t0)
        check_ok = r is not None and r[5] == 0 and r[6] == 0
        if not check_ok:
            break
    check(check_ok and slow < 2,
          "a client that never reads 32 MiB of READ replies does not hold up another (slowest "
          "GETATTR %.2f s)" % slow)
    greedy.close()

r = ask(call(999, NFS, 3, 0))
check(r is not None and r[:6] == (999, 1, 0, 0, 0, 0), "after 300 random records the gateway still answers")
print("%d failed" % fails)
sys.exit(1 if fails else 0)

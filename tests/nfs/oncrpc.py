"""A little ONC RPC over TCP (RFC 5531) for the NFS gateway's tests: XDR helpers, one call,
and tiny servers (a client's portmapper, lock manager or statd) that answer one call per
connection."""
import socket
import struct
import threading


def u32(*v):
    return b"".join(struct.pack(">I", x & 0xFFFFFFFF) for x in v)


def u64(v):
    return struct.pack(">Q", v)


def opaque(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def u32(self):
        v = struct.unpack(">I", self.b[self.p:self.p + 4])[0]
        self.p += 4
        return v

    def u64(self):
        v = struct.unpack(">Q", self.b[self.p:self.p + 8])[0]
        self.p += 8
        return v

    def fixed(self, n):
        v = self.b[self.p:self.p + n]
        self.p += n + (4 - n % 4) % 4
        return v

    def opaque(self):
        return self.fixed(self.u32())


def read_record(c):
    data = b""
    while True:
        hdr = c.recv(4, socket.MSG_WAITALL)
        if len(hdr) < 4:
            return None
        (w,) = struct.unpack(">I", hdr)
        data += c.recv(w & 0x7FFFFFFF, socket.MSG_WAITALL)
        if w & 0x80000000:
            return data


_xid = [0]


def call(host, port, prog, vers, proc, args, src=None):
    """One call; returns (accept_stat, Reader at the results)."""
    _xid[0] += 1
    x = _xid[0]
    cred = u32(1) + opaque(u32(0) + opaque("rpc-test") + u32(0, 0, 0))
    body = u32(x, 0, 2, prog, vers, proc) + cred + u32(0, 0) + args
    s = socket.create_connection((host, port), timeout=10,
                                 source_address=(src, 0) if src else None)
    s.sendall(u32(0x80000000 | len(body)) + body)
    data = read_record(s)
    s.close()
    r = Reader(data)
    assert r.u32() == x and r.u32() == 1 and r.u32() == 0
    r.u32()
    r.opaque()
    return r.u32(), r


def reply(c, x, results):
    body = u32(x, 1, 0, 0, 0, 0) + results
    c.sendall(u32(0x80000000 | len(body)) + body)


def serve(sock, handler):
    """Accepts until sock is closed: handler(conn, xid, prog, vers, proc, Reader) per call."""
    def loop():
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            rec = read_record(c)
            if rec:
                r = Reader(rec)
                x, _, _, prog, vers, proc = (r.u32() for _ in range(6))
                r.u32(), r.opaque(), r.u32(), r.opaque()  # credentials, verifier
                handler(c, x, prog, vers, proc, r)
            c.close()
    threading.Thread(target=loop, daemon=True).start()


def listener(addr, port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    return s


def portmapper(addr, programs):
    """A portmapper on addr:111 answering GETPORT from programs {(prog, vers): port}."""
    pm = listener(addr, 111)

    def h(c, x, prog, vers, proc, r):
        if prog == 100000 and proc == 3:
            p, v = r.u32(), r.u32()
            reply(c, x, u32(programs.get((p, v), 0)))
        else:
            reply(c, x, u32(0))
    serve(pm, h)
    return pm

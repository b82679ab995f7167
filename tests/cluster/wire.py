#!/usr/bin/python3
"""Hostile bytes against a glory daemon's RPC port. Each case opens a connection, sends
something wrong and expects an error reply or a closed connection; then a well-formed request
must still be answered. Usage: wire.py HOST:PORT OPCODE_THAT_EXISTS

wire.py blob-put-loop HOST:PORT[,HOST:PORT...] STOPFILE: until STOPFILE exists, keeps sending
each master a well-formed MS_BLOB_PUT of a chunk that was never stored (every answer is an
error; a master taking over must give one, not crash). Prints the number of answers."""
import os
import socket
import struct
import sys
import time

POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data, crc=0xFFFFFFFF):
    # ISA-L's crc32_iscsi: reflected, no final inversion
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def frame(opcode, args=b"", bulk=b"", version=1, flags=0, magic=0x59524C47, args_len=None,
          bulk_len=None, bad_body=False, bad_hdr=False):
    body_crc = crc32c(args + bulk)
    if bad_body:
        body_crc ^= 1
    hdr = struct.pack("<IBBHQiIIII", magic, version, flags, opcode, 7, 0,
                      len(args) if args_len is None else args_len,
                      len(bulk) if bulk_len is None else bulk_len, body_crc, 0)
    hcrc = crc32c(hdr)
    if bad_hdr:
        hcrc ^= 1
    return hdr + struct.pack("<I", hcrc) + args + bulk


def read_reply(s):
    s.settimeout(10)
    buf = b""
    while len(buf) < 40:
        chunk = s.recv(40 - len(buf))
        if not chunk:
            return None
        buf += chunk
    magic, ver, flags, op, rid, status, alen, blen, bcrc, _ = struct.unpack("<IBBHQiIIII",
                                                                           buf[:36])
    rest = alen + blen
    while rest:
        chunk = s.recv(min(rest, 65536))
        if not chunk:
            break
        rest -= len(chunk)
    return status


def conn(addr):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def blob_put_loop(addrs, stopfile):
    import threading

    # pool rep:1; size 1; one chunk of 1 byte whose id no one stored
    args = struct.pack("<IQI", (1 << 16) | (1 << 8), 1, 1) + os.urandom(32) + struct.pack("<I", 1)
    answers = [0]

    def one(addr):
        while not os.path.exists(stopfile):
            try:
                s = conn(addr)
            except OSError:
                time.sleep(0.01)  # that master is down: try it again shortly
                continue
            try:
                while not os.path.exists(stopfile):
                    s.sendall(frame(0x0205, args))
                    if read_reply(s) is None:
                        break
                    answers[0] += 1
            except OSError:
                pass
            finally:
                s.close()

    threads = [threading.Thread(target=one, args=(a,)) for a in addrs for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(answers[0])


def main():
    if sys.argv[1] == "blob-put-loop":
        blob_put_loop(sys.argv[2].split(","), sys.argv[3])
        return
    addr, good_op = sys.argv[1], int(sys.argv[2], 0)
    cases = {
        "truncated frame": frame(good_op)[:20],
        "bad header checksum": frame(good_op, bad_hdr=True),
        "bad body checksum": frame(good_op, b"x" * 40, bad_body=True),
        "huge length": frame(good_op, args_len=0xFFFFFFF0),
        "huge bulk": frame(good_op, bulk_len=0xFFFFFFF0),
        "wrong version": frame(good_op, version=99),
        "bad magic": frame(good_op, magic=0x12345678),
        "unknown opcode": frame(0x7777),
        "reply flag on a request": frame(good_op, flags=1),
        "random bytes": os.urandom(4096),
        "short args": frame(good_op, b"\x01\x02"),
        "garbage args": frame(good_op, os.urandom(300)),
    }
    if good_op == 0x0305:  # MD_MULTI: u32 n, n x (u32 len, an MD_OP)
        one = b"\x00" + b"\x01\x00" + b"\x00" * 20
        cases.update({
            "multi of none": frame(good_op, struct.pack("<I", 0)),
            "multi count past the limit": frame(good_op, struct.pack("<I", 65) + struct.pack("<I", 0) * 65),
            "multi length past the end": frame(good_op, struct.pack("<II", 1, 1000) + one),
            "multi with bytes left over": frame(good_op, struct.pack("<II", 1, len(one)) + one + b"x"),
            "multi count larger than its parts": frame(good_op, struct.pack("<II", 2, len(one)) + one),
        })
    failed = 0
    for name, data in cases.items():
        s = conn(addr)
        try:
            s.sendall(data)
            if name == "truncated frame":
                s.shutdown(socket.SHUT_WR)
            st = read_reply(s)
        except (ConnectionResetError, BrokenPipeError, socket.timeout) as e:
            st = repr(e)
        finally:
            s.close()
        if st == 0:
            print(f"FAIL: {name}: accepted with status 0")
            failed += 1
        else:
            print(f"ok: {name}: {'closed' if st is None else st}")
        # the daemon still serves a fresh, well-formed client
        s = conn(addr)
        s.sendall(frame(0x7777))
        st = read_reply(s)
        s.close()
        if st is None:
            print(f"FAIL: daemon stopped answering after: {name}")
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

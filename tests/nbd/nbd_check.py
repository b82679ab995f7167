#!/usr/bin/python3
"""NBD checks over libnbd (python3-libnbd) against a served glory disk.

  nbd_check.py URI bad             bad requests get NBD errors, the server keeps serving
  nbd_check.py URI multiconn-write writes on connection A, flushes on connection B
  nbd_check.py URI multiconn-read  reads back what multiconn-write wrote (after a restart)
  nbd_check.py URI ranges FILE     small reads anywhere (ranged reads of the data servers:
                                   fragment and chunk edges, random places) equal FILE's bytes
"""
import random
import errno
import os
import sys

import nbd

PAT_OFF = 7 * 1024 * 1024 + 123  # unaligned, across nothing in particular
PAT = bytes((i * 7 + 3) % 251 for i in range(65536))


def connect(uri, strict=True):
    h = nbd.NBD()
    if not strict:
        h.set_strict_mode(0)  # let bad requests reach the server
    h.connect_uri(uri)
    return h


def expect_error(what, fn, errnos):
    try:
        fn()
    except nbd.Error as e:
        got = e.errno if isinstance(e.errno, int) else getattr(errno, str(e.errno), -1)
        if got not in errnos:
            print("FAIL %s: errno %s, want one of %s" % (what, e.errno, errnos))
            return 1
        print("ok %s: %s" % (what, e.string.splitlines()[0] if e.string else e.errno))
        return 0
    print("FAIL %s: no error" % what)
    return 1


def bad(uri):
    h = connect(uri, strict=False)
    size = h.get_size()
    fails = 0
    # out of range reads, writes, trims, zeroes: NBD_EINVAL (or ENOSPC for writes past the end)
    inval = (errno.EINVAL, errno.ENOSPC)
    fails += expect_error("read past the end", lambda: h.pread(4096, size - 100), inval)
    fails += expect_error("read at 2^63", lambda: h.pread(512, 1 << 62), inval)
    fails += expect_error("write past the end", lambda: h.pwrite(b"x" * 4096, size - 1), inval)
    fails += expect_error("trim past the end", lambda: h.trim(8192, size - 4096), inval)
    fails += expect_error("zero past the end", lambda: h.zero(8192, size), inval)
    fails += expect_error("read of 0 bytes", lambda: h.pread(0, 0), inval)
    # a flag the command does not take
    fails += expect_error(
        "read with an unknown flag", lambda: h.pread(512, 0, flags=1 << 10), inval)
    # the connection still serves
    h.pwrite(b"still here", 4096)
    if h.pread(10, 4096) != b"still here":
        print("FAIL the connection no longer serves")
        fails += 1
    else:
        print("ok the connection still serves after the bad requests")
    h.shutdown()
    return fails


def multiconn_write(uri):
    a = connect(uri)
    b = connect(uri)
    if not a.can_multi_conn():
        print("FAIL can_multi_conn is off")
        return 1
    a.pwrite(PAT, PAT_OFF)
    b.flush()  # flushes what connection A wrote
    got = b.pread(len(PAT), PAT_OFF)
    print("ok" if got == PAT else "FAIL", "connection B reads A's write")
    # leave without a clean shutdown: the caller kills the server next
    os._exit(0 if got == PAT else 1)


def multiconn_read(uri):
    h = connect(uri)
    got = h.pread(len(PAT), PAT_OFF)
    if got != PAT:
        print("FAIL a write flushed through another connection is gone")
        return 1
    print("ok a write flushed through another connection survived kill -9 of the server")
    return 0


def ranges(uri, path):
    with open(path, "rb") as f:
        want = f.read()
    h = connect(uri)
    mib = 1024 * 1024
    # chunk edges every 4 MiB; fragment edges inside them (ec:2+1: 2 MiB, ec:4+2: 1 MiB)
    at = [(0, 1), (len(want) - 1, 1), (mib - 100, 200), (2 * mib - 4096, 8192),
          (4 * mib - 10, 20), (4 * mib - 3000, 70000), (3 * mib + 5, 4096)]
    rnd = random.Random(7)
    for _ in range(300):
        n = rnd.choice([1, 512, 4096, 4096, 65536, 200000])
        at.append((rnd.randrange(0, len(want) - n), n))
    bad = 0
    for off, n in at:
        if h.pread(n, off) != want[off:off + n]:
            print("FAIL read of %d bytes at %d" % (n, off))
            bad += 1
    print("ok" if not bad else "FAIL", "%d small reads at random places and chunk and fragment edges"
          % len(at))
    return bad


def main():
    uri, what = sys.argv[1], sys.argv[2]
    if what == "ranges":
        sys.exit(1 if ranges(uri, sys.argv[3]) else 0)
    fn = {"bad": bad, "multiconn-write": multiconn_write, "multiconn-read": multiconn_read}
    sys.exit(1 if fn[what](uri) else 0)


if __name__ == "__main__":
    main()

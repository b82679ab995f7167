#!/usr/bin/python3
"""Raw HTTP against glory's S3 gateway with our own SigV4 signer (hmac/hashlib, independent of
the gateway's C code): aws-chunked bodies with chunk signatures (STREAMING-AWS4-HMAC-SHA256-
PAYLOAD and its -TRAILER form), STREAMING-UNSIGNED-PAYLOAD-TRAILER with crc32/crc32c/sha256
trailers as current SDKs send, bad chunk signatures and truncated bodies (nothing visible),
clock skew, payload hash mismatch, malformed XML, huge headers, garbage, 100-continue and
keep-alive. Usage: s3_raw.py ENDPOINT (credentials from AWS_ACCESS_KEY_ID/SECRET)."""
import base64
import datetime
import hashlib
import hmac
import http.client
import os
import socket
import sys
import urllib.parse
import zlib

EP = urllib.parse.urlparse(sys.argv[1])
HOST, PORT = EP.hostname, EP.port
AK, SK = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
REGION = "us-east-1"
EMPTY = hashlib.sha256(b"").hexdigest()
fails = passes = 0


def ok(what, cond):
    global fails, passes
    if cond:
        passes += 1
        print("  ok:", what)
    else:
        fails += 1
        print("  FAIL:", what)


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(date):
    k = hm(("AWS4" + SK).encode(), date)
    return hm(hm(hm(k, REGION), "s3"), "aws4_request")


def q(s):
    return urllib.parse.quote(s, safe="-_.~")


def sign(method, path, query, headers, payload_hash, when=None):
    """Adds x-amz-date, x-amz-content-sha256 and Authorization; returns (signature, key, scope, date)."""
    t = when or datetime.datetime.now(datetime.timezone.utc)
    amz = t.strftime("%Y%m%dT%H%M%SZ")
    headers["x-amz-date"] = amz
    headers["x-amz-content-sha256"] = payload_hash
    headers["host"] = "%s:%d" % (HOST, PORT)
    names = sorted(h.lower() for h in headers)
    canon_h = "".join("%s:%s\n" % (n, " ".join(str(headers[[h for h in headers if h.lower() == n][0]]).split())) for n in names)
    cq = "&".join("%s=%s" % (q(k), q(v)) for k, v in sorted(query.items()))
    canon = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), cq, canon_h, ";".join(names), payload_hash])
    scope = "%s/%s/s3/aws4_request" % (amz[:8], REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canon.encode()).hexdigest()])
    key = signing_key(amz[:8])
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        AK, scope, ";".join(names), sig)
    return sig, key, scope, amz


def send(method, path, query=None, headers=None, body=b"", payload_hash=None, when=None):
    query = query or {}
    headers = dict(headers or {})
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest()
    sign(method, path, query, headers, payload_hash, when)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    url = urllib.parse.quote(path, safe="/-_.~") + ("?" + urllib.parse.urlencode(query) if query else "")
    conn.request(method, url, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data, r


def code(data):
    s = data.decode(errors="replace")
    return s.split("<Code>")[1].split("</Code>")[0] if "<Code>" in s else None


def chunked_signed(data, key, scope, amz, seed, chunk=65536, corrupt=None, trailer=None):
    out, prev = b"", seed
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for n, p in enumerate(pieces):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, EMPTY, hashlib.sha256(p).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if corrupt == n:
            sig = "0" * 64
        out += b"%x;chunk-signature=%s\r\n" % (len(p), sig.encode()) + p + (b"\r\n" if p else b"")
        prev = sig
    if trailer:
        tl = "".join("%s:%s\n" % kv for kv in trailer)
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz, scope, prev, hashlib.sha256(tl.encode()).hexdigest()])
        tsig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        out += "".join("%s:%s\r\n" % kv for kv in trailer).encode() + b"x-amz-trailer-signature:%s\r\n" % tsig.encode()
    return out + b"\r\n"


def put_streaming_signed(path, data, corrupt=None, chunk=65536, trailer=None):
    """Signs the headers first (the seed signature), then frames the body with it."""
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    h = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailer:
        h["x-amz-trailer"] = trailer[0][0]
    # the framed length depends only on sizes, so sign with a dry run to get the length first
    probe = chunked_signed(data, b"k" * 32, "s", "a", "0" * 64, chunk, None, trailer)
    h["content-length"] = str(len(probe))
    seed, key, scope, amz = sign("PUT", path, {}, h, mode)
    body = chunked_signed(data, key, scope, amz, seed, chunk, corrupt, trailer)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    conn.request("PUT", urllib.parse.quote(path), body=body, headers=h)
    r = conn.getresponse()
    d = r.read()
    conn.close()
    return r.status, d


def crc32c(b):
    crc = 0xFFFFFFFF
    for x in b:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def put_unsigned_trailer(path, data, name, value, chunk=8192):
    body = b"".join(b"%x\r\n" % len(data[i:i + chunk]) + data[i:i + chunk] + b"\r\n" for i in range(0, len(data), chunk))
    body += b"0\r\n" + ("%s:%s\r\n" % (name, value)).encode() + b"\r\n"
    h = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
         "x-amz-trailer": name, "x-amz-sdk-checksum-algorithm": name.split("-")[-1].upper()}
    return send("PUT", path, headers=h, body=body, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")[:2]


def get(path):
    s, d, _ = send("GET", path)
    return s, d


B = "/raw-bucket"
s, d, _ = send("PUT", B)
ok("CreateBucket (raw SigV4)", s == 200)
data = os.urandom(300000)

# ---- aws-chunked with chunk signatures
s, d = put_streaming_signed(B + "/chunked", data)
ok("STREAMING-AWS4-HMAC-SHA256-PAYLOAD: 200", s == 200)
ok("... and the object reads back", get(B + "/chunked") == (200, data))
s, d = put_streaming_signed(B + "/chunked-bad", data, corrupt=2)
ok("a bad chunk signature: 403 SignatureDoesNotMatch", s == 403 and code(d) == "SignatureDoesNotMatch")
ok("... and nothing is visible", get(B + "/chunked-bad")[0] == 404)
s, d = put_streaming_signed(B + "/chunked-last-bad", data, corrupt=5)  # the final 0-length chunk
ok("a bad signature on the final chunk: 403, nothing visible", s == 403 and get(B + "/chunked-last-bad")[0] == 404)
s, d = put_streaming_signed(B + "/chunked-empty", b"")
ok("an empty aws-chunked body", s == 200 and get(B + "/chunked-empty") == (200, b""))
crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
s, d = put_streaming_signed(B + "/chunked-trailer", data, trailer=[("x-amz-checksum-crc32", crc)])
ok("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER with a signed crc32 trailer", s == 200 and get(B + "/chunked-trailer") == (200, data))

# ---- unsigned payload with checksum trailers (the SDKs' default today)
for name, val in [("x-amz-checksum-crc32", crc),
                  ("x-amz-checksum-crc32c", base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()),
                  ("x-amz-checksum-sha256", base64.b64encode(hashlib.sha256(data).digest()).decode())]:
    s, d = put_unsigned_trailer(B + "/trail-" + name[15:], data, name, val)
    ok("STREAMING-UNSIGNED-PAYLOAD-TRAILER with %s: 200, reads back" % name,
       s == 200 and get(B + "/trail-" + name[15:]) == (200, data))
    st, _, r = send("HEAD", B + "/trail-" + name[15:], headers={"x-amz-checksum-mode": "ENABLED"})
    ok("... and HEAD returns %s" % name, r.getheader(name) == val)
s, d = put_unsigned_trailer(B + "/trail-bad", data, "x-amz-checksum-crc32", "AAAAAA==")
ok("a wrong trailer checksum: 400 BadDigest, nothing visible", s == 400 and code(d) == "BadDigest" and get(B + "/trail-bad")[0] == 404)
s, d, _ = send("PUT", B + "/trunc-chunk", headers={"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "100"},
               body=b"64\r\n" + b"x" * 50, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
ok("an aws-chunked body that ends inside a chunk: 400 IncompleteBody, nothing visible", s == 400 and get(B + "/trunc-chunk")[0] == 404)
s, d, _ = send("PUT", B + "/garbage-chunk", headers={"content-encoding": "aws-chunked"},
               body=b"zz\r\nhello\r\n0\r\n\r\n", payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
ok("a garbage chunk header: 400", s == 400 and get(B + "/garbage-chunk")[0] == 404)

# ---- payload hash, skew, auth header
s, d, _ = send("PUT", B + "/shabad", body=b"hello", payload_hash=hashlib.sha256(b"other").hexdigest())
ok("a body that does not match x-amz-content-sha256: 400 XAmzContentSHA256Mismatch, nothing visible",
   s == 400 and code(d) == "XAmzContentSHA256Mismatch" and get(B + "/shabad")[0] == 404)
s, d, _ = send("PUT", B + "/unsigned", body=b"hello", payload_hash="UNSIGNED-PAYLOAD")
ok("UNSIGNED-PAYLOAD", s == 200 and get(B + "/unsigned") == (200, b"hello"))
old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
s, d, _ = send("GET", B, when=old)
ok("a request an hour old: 403 RequestTimeTooSkewed", s == 403 and code(d) == "RequestTimeTooSkewed")
conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
conn.request("GET", B, headers={"Authorization": "AWS4-HMAC-SHA256 garbage"})
r = conn.getresponse()
ok("a malformed Authorization header: 400 AuthorizationHeaderMalformed", r.status == 400 and code(r.read()) == "AuthorizationHeaderMalformed")
conn.request("GET", B)
r = conn.getresponse()
ok("anonymous: 403 AccessDenied (on the same keep-alive connection)", r.status == 403 and code(r.read()) == "AccessDenied")
conn.close()

# ---- XML bodies
s, d, _ = send("POST", B, query={"delete": ""}, body=b"<Delete><Object><Key>a</Key></Object>")
ok("DeleteObjects with truncated XML: 400 MalformedXML", s == 400 and code(d) == "MalformedXML")
s, d, _ = send("POST", B, query={"delete": ""}, body=b"\x00\xff<<>>&&&")
ok("DeleteObjects with garbage: 400 MalformedXML", s == 400 and code(d) == "MalformedXML")
s, d, _ = send("POST", B, query={"delete": ""},
               body=b"<?xml version='1.0'?><Delete xmlns='http://s3.amazonaws.com/doc/2006-03-01/'><Object><Key>unsigned</Key></Object></Delete>")
ok("DeleteObjects with a declaration, namespace and quotes", s == 200 and b"<Deleted><Key>unsigned</Key>" in d and get(B + "/unsigned")[0] == 404)
s, d, _ = send("POST", B + "/mpx", query={"uploads": ""})
upload = d.decode().split("<UploadId>")[1].split("</UploadId>")[0]
s, d, _ = send("POST", B + "/mpx", query={"uploadId": upload}, body=b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber>")
ok("Complete with broken XML: 400 MalformedXML", s == 400 and code(d) == "MalformedXML")
s, d, _ = send("POST", B + "/mpx", query={"uploadId": upload}, body=b"<CompleteMultipartUpload></CompleteMultipartUpload>")
ok("Complete with no parts: 400 MalformedXML", s == 400 and code(d) == "MalformedXML")

# ---- hostile HTTP
def raw(blob, read=65536):
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.sendall(blob)
    try:
        out = s.recv(read)
    except socket.timeout:
        out = b""
    s.close()
    return out


ok("garbage instead of HTTP: an error status, no crash", raw(b"\x00\x01garbage\r\n\r\n")[:12] in (b"HTTP/1.1 400", b"") and get(B)[0] == 200)
big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n"
resp = raw(big)
ok("a 2 MiB header: refused (4xx or closed), the gateway still serves", (resp == b"" or resp[9:10] == b"4") and get(B)[0] == 200)
many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n"
resp = raw(many)
ok("200 headers: an error answer, no crash", resp[9:10] in (b"4", b"") and get(B)[0] == 200)
# truncated body: the client goes away mid-upload
h = {"content-length": "1000000"}
sign("PUT", B + "/truncated", {}, h, "UNSIGNED-PAYLOAD")
sk = socket.create_connection((HOST, PORT), timeout=10)
sk.sendall(("PUT %s/truncated HTTP/1.1\r\n" % B).encode() + "".join("%s: %s\r\n" % kv for kv in h.items()).encode() + b"\r\n" + b"x" * 300000)
sk.close()
import time
time.sleep(1)
ok("a body cut off by the client: nothing visible", get(B + "/truncated")[0] == 404)
# 100-continue: an unauthorized request is refused before the body is sent
sk = socket.create_connection((HOST, PORT), timeout=10)
sk.sendall(("PUT %s/expect HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n" % B).encode())
resp = sk.recv(4096)
sk.close()
ok("Expect: 100-continue without credentials: 403 before any body", resp.startswith(b"HTTP/1.1 403"))
h = {"content-length": "5", "expect": "100-continue"}
sign("PUT", B + "/expect2", {}, h, hashlib.sha256(b"hello").hexdigest())
sk = socket.create_connection((HOST, PORT), timeout=10)
sk.sendall(("PUT %s/expect2 HTTP/1.1\r\n" % B).encode() + "".join("%s: %s\r\n" % kv for kv in h.items()).encode() + b"\r\n")
first = sk.recv(4096)
sk.sendall(b"hello")
second = sk.recv(4096)
sk.close()
ok("Expect: 100-continue signed: 100 Continue, then 200", first.startswith(b"HTTP/1.1 100") and b"200 OK" in (first + second)
   and get(B + "/expect2") == (200, b"hello"))
ok("the gateway still serves", get(B)[0] == 200)

print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)

#!/usr/bin/python3
"""The S3 API of glory's gateway through boto3, item by item, with the error codes S3 clients
expect. Usage: s3_api.py ENDPOINT QUOTA_KEY QUOTA_SECRET (credentials of a tenant whose volume
has a 3 MiB byte quota; the main tenant comes from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)."""
import datetime
import hashlib
import os
import sys
import urllib.parse
import zlib
import base64

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP, QKEY, QSECRET = sys.argv[1:4]
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
c = boto3.client("s3", endpoint_url=EP, config=cfg)
fails = 0
passes = 0


def ok(what, cond):
    global fails, passes
    if cond:
        passes += 1
        print("  ok:", what)
    else:
        fails += 1
        print("  FAIL:", what)


def err(fn, **kw):
    """(http status, S3 code) of a call that should fail; (200, None) if it did not."""
    try:
        fn(**kw)
        return (200, None)
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])


def md5(b):
    return '"%s"' % hashlib.md5(b).hexdigest()


B = "api-bucket"
# ---- buckets
c.create_bucket(Bucket=B)
ok("CreateBucket twice: 409 BucketAlreadyOwnedByYou", err(c.create_bucket, Bucket=B) == (409, "BucketAlreadyOwnedByYou"))
ok("an invalid bucket name: 400 InvalidBucketName", err(c.create_bucket, Bucket="Bad_Name")[1] == "InvalidBucketName")
ok("HeadBucket", c.head_bucket(Bucket=B)["ResponseMetadata"]["HTTPStatusCode"] == 200)
ok("HeadBucket of a missing bucket: 404", err(c.head_bucket, Bucket="no-such-bucket-x")[0] == 404)
ok("ListBuckets shows it", B in [b["Name"] for b in c.list_buckets()["Buckets"]])
ok("GetBucketLocation: us-east-1 (empty)", c.get_bucket_location(Bucket=B).get("LocationConstraint") in (None, ""))
ok("GetObject in a missing bucket: 404 NoSuchBucket", err(c.get_object, Bucket="no-such-bucket-x", Key="k") == (404, "NoSuchBucket"))

# ---- objects, metadata round trip
body = os.urandom(100000)
exp = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
r = c.put_object(Bucket=B, Key="dir/obj", Body=body, ContentType="text/x-glory", ContentEncoding="identity",
                 ContentDisposition='attachment; filename="o.bin"', CacheControl="max-age=60",
                 ContentLanguage="en", Expires=exp, Metadata={"color": "blue", "n": "42"})
ok("PutObject returns the MD5 ETag", r["ETag"] == md5(body))
h = c.head_object(Bucket=B, Key="dir/obj")
ok("HeadObject: size, ETag", h["ContentLength"] == len(body) and h["ETag"] == md5(body))
ok("Content-Type, -Encoding, -Disposition, -Language, Cache-Control, Expires round trip",
   h["ContentType"] == "text/x-glory" and h.get("ContentEncoding") == "identity"
   and h["ContentDisposition"] == 'attachment; filename="o.bin"' and h["CacheControl"] == "max-age=60"
   and h.get("ContentLanguage") == "en" and h.get("Expires") == exp)
ok("x-amz-meta-* round trip", h["Metadata"] == {"color": "blue", "n": "42"})
g = c.get_object(Bucket=B, Key="dir/obj")
ok("GetObject body", g["Body"].read() == body)
ok("GetObject of a missing key: 404 NoSuchKey", err(c.get_object, Bucket=B, Key="dir/none") == (404, "NoSuchKey"))
ok("HeadObject of a missing key: 404", err(c.head_object, Bucket=B, Key="nope")[0] == 404)
ok("GetObject of a directory is NoSuchKey", err(c.get_object, Bucket=B, Key="dir")[1] == "NoSuchKey")
c.put_object(Bucket=B, Key="empty", Body=b"")
ok("zero-byte object", c.get_object(Bucket=B, Key="empty")["Body"].read() == b""
   and c.head_object(Bucket=B, Key="empty")["ETag"] == md5(b""))
g = c.get_object(Bucket=B, Key="dir/obj", ResponseContentType="application/x-override")
ok("response-content-type overrides", g["ContentType"] == "application/x-override")

# ---- ranges
def rng(r):
    g = c.get_object(Bucket=B, Key="dir/obj", Range=r)
    return g["ResponseMetadata"]["HTTPStatusCode"], g["Body"].read(), g.get("ContentRange")

ok("Range bytes=0-9: 206 and the first 10 bytes", rng("bytes=0-9") == (206, body[:10], "bytes 0-9/100000"))
ok("Range bytes=99990-: the tail", rng("bytes=99990-")[1] == body[99990:])
ok("Range bytes=-5: the last 5", rng("bytes=-5")[1:] == (body[-5:], "bytes 99995-99999/100000"))
ok("Range past the end is clipped", rng("bytes=99999-200000")[1] == body[99999:])
ok("Range starting past the end: 416 InvalidRange", err(c.get_object, Bucket=B, Key="dir/obj", Range="bytes=100000-") == (416, "InvalidRange"))
ok("Range on a zero-byte object: 416", err(c.get_object, Bucket=B, Key="empty", Range="bytes=0-0")[0] == 416)

# ---- conditional requests
past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
future = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)
et = md5(body)
ok("If-Match with the ETag: 200", c.get_object(Bucket=B, Key="dir/obj", IfMatch=et)["ResponseMetadata"]["HTTPStatusCode"] == 200)
ok("If-Match with another ETag: 412 PreconditionFailed", err(c.get_object, Bucket=B, Key="dir/obj", IfMatch='"00"') == (412, "PreconditionFailed"))
ok("If-None-Match with the ETag: 304", err(c.get_object, Bucket=B, Key="dir/obj", IfNoneMatch=et)[0] == 304)
ok("If-Modified-Since the future: 304", err(c.get_object, Bucket=B, Key="dir/obj", IfModifiedSince=future)[0] == 304)
ok("If-Modified-Since the past: 200", c.get_object(Bucket=B, Key="dir/obj", IfModifiedSince=past)["ResponseMetadata"]["HTTPStatusCode"] == 200)
ok("If-Unmodified-Since the past: 412", err(c.get_object, Bucket=B, Key="dir/obj", IfUnmodifiedSince=past) == (412, "PreconditionFailed"))
ok("HEAD with If-None-Match: 304", err(c.head_object, Bucket=B, Key="dir/obj", IfNoneMatch=et)[0] == 304)

# ---- checksums and digests
crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
r = c.put_object(Bucket=B, Key="ck", Body=body, ChecksumAlgorithm="CRC32")
ok("PutObject with x-amz-checksum-crc32", r.get("ChecksumCRC32") == crc)
h = c.head_object(Bucket=B, Key="ck", ChecksumMode="ENABLED")
ok("the checksum is stored and returned", h.get("ChecksumCRC32") == crc)
sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
r = c.put_object(Bucket=B, Key="ck256", Body=body, ChecksumSHA256=sha)
ok("x-amz-checksum-sha256", c.head_object(Bucket=B, Key="ck256", ChecksumMode="ENABLED").get("ChecksumSHA256") == sha)
ok("a wrong x-amz-checksum-crc32: 400 BadDigest, nothing stored",
   err(c.put_object, Bucket=B, Key="ckbad", Body=body, ChecksumCRC32="AAAAAA==") == (400, "BadDigest")
   and err(c.head_object, Bucket=B, Key="ckbad")[0] == 404)
ok("a wrong Content-MD5: 400 BadDigest",
   err(c.put_object, Bucket=B, Key="md5bad", Body=b"abc", ContentMD5=base64.b64encode(b"0" * 16).decode()) == (400, "BadDigest"))
ok("a malformed Content-MD5: 400 InvalidDigest",
   err(c.put_object, Bucket=B, Key="md5bad", Body=b"abc", ContentMD5="notbase64!")[1] == "InvalidDigest")

# ---- conditional writes
def put_if(key, **h):
    def add(request, **kw):
        for k, v in h.items():
            request.headers[k] = v
    c.meta.events.register_first("before-sign.s3.PutObject", add)
    try:
        return err(c.put_object, Bucket=B, Key=key, Body=b"v2")
    finally:
        c.meta.events.unregister("before-sign.s3.PutObject", add)

ok("PUT If-None-Match: * over an existing object: 412", put_if("dir/obj", **{"If-None-Match": "*"}) == (412, "PreconditionFailed"))
ok("PUT If-None-Match: * of a new key: 200", put_if("created-once", **{"If-None-Match": "*"}) == (200, None))
ok("PUT If-Match with another ETag: 412", put_if("created-once", **{"If-Match": '"0000"'}) == (412, "PreconditionFailed"))
ok("PUT If-Match with the ETag: 200", put_if("created-once", **{"If-Match": md5(b"v2")}) == (200, None))
ok("PUT If-Match of a missing key: 404 NoSuchKey", put_if("never-put", **{"If-Match": md5(b"v2")}) == (404, "NoSuchKey"))
ok("the object kept the bytes of the write that passed", c.get_object(Bucket=B, Key="dir/obj")["Body"].read() == body)

# ---- keys that are paths
c.put_object(Bucket=B, Key="file", Body=b"1")
ok("a key under an object: 409 KeyConflict", err(c.put_object, Bucket=B, Key="file/x", Body=b"2") == (409, "KeyConflict"))
ok("an object over a prefix of other keys: 409 KeyConflict", err(c.put_object, Bucket=B, Key="dir", Body=b"2") == (409, "KeyConflict"))
ok("a key with an empty component: 400 InvalidArgument", err(c.put_object, Bucket=B, Key="a//b", Body=b"2") == (400, "InvalidArgument"))
ok("a key with '..': 400 InvalidArgument", err(c.put_object, Bucket=B, Key="a/../b", Body=b"2") == (400, "InvalidArgument"))
ok("a key over 1024 bytes: KeyTooLongError", err(c.put_object, Bucket=B, Key="k" * 1100, Body=b"")[1] == "KeyTooLongError")
c.put_object(Bucket=B, Key="folder/", Body=b"")
ok("a folder object (key ending in /)", c.head_object(Bucket=B, Key="folder/")["ContentLength"] == 0
   and "folder/" in [o["Key"] for o in c.list_objects_v2(Bucket=B, Prefix="folder")["Contents"]])
odd = "sp ace/ü+plus&amp=eq%pct~t"
c.put_object(Bucket=B, Key=odd, Body=b"odd")
ok("a key with spaces, UTF-8 and URL specials", c.get_object(Bucket=B, Key=odd)["Body"].read() == b"odd")
lst = c.list_objects_v2(Bucket=B, Prefix="sp ace/", EncodingType="url")
ok("encoding-type=url lists it percent-encoded", [urllib.parse.unquote(o["Key"]) for o in lst["Contents"]] == [odd]
   and "%20" in lst["Contents"][0]["Key"] and lst["Prefix"] == "sp%20ace/")

# ---- copy
r = c.copy_object(Bucket=B, Key="copy1", CopySource={"Bucket": B, "Key": "dir/obj"})
h = c.head_object(Bucket=B, Key="copy1")
ok("CopyObject (COPY): same bytes, ETag and metadata", r["CopyObjectResult"]["ETag"] == md5(body)
   and h["Metadata"] == {"color": "blue", "n": "42"} and h["ContentType"] == "text/x-glory")
c.copy_object(Bucket=B, Key="copy2", CopySource={"Bucket": B, "Key": "dir/obj"}, MetadataDirective="REPLACE",
              Metadata={"new": "yes"}, ContentType="text/plain")
h = c.head_object(Bucket=B, Key="copy2")
ok("CopyObject (REPLACE): new metadata", h["Metadata"] == {"new": "yes"} and h["ContentType"] == "text/plain")
ok("copying an object onto itself without REPLACE: 400 InvalidRequest",
   err(c.copy_object, Bucket=B, Key="copy1", CopySource={"Bucket": B, "Key": "copy1"}) == (400, "InvalidRequest"))
ok("copying from a missing key: 404 NoSuchKey",
   err(c.copy_object, Bucket=B, Key="copy3", CopySource={"Bucket": B, "Key": "missing"}) == (404, "NoSuchKey"))
ok("copy-source-if-match with another ETag: 412",
   err(c.copy_object, Bucket=B, Key="copy3", CopySource={"Bucket": B, "Key": "dir/obj"}, CopySourceIfMatch='"1"')[0] == 412)

# ---- multipart
P1, P2 = os.urandom(5 << 20), os.urandom(1 << 20)
u = c.create_multipart_upload(Bucket=B, Key="mp/obj", ContentType="video/x-test", Metadata={"m": "1"})["UploadId"]
e1 = c.upload_part(Bucket=B, Key="mp/obj", UploadId=u, PartNumber=1, Body=P1)["ETag"]
e2 = c.upload_part(Bucket=B, Key="mp/obj", UploadId=u, PartNumber=2, Body=P2)["ETag"]
ok("UploadPart ETags are the parts' MD5s", e1 == md5(P1) and e2 == md5(P2))
parts = c.list_parts(Bucket=B, Key="mp/obj", UploadId=u)["Parts"]
ok("ListParts", [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(P1)), (2, len(P2))])
ok("ListParts paging (max-parts 1)", [p["PartNumber"] for p in c.list_parts(Bucket=B, Key="mp/obj", UploadId=u, MaxParts=1, PartNumberMarker=1)["Parts"]] == [2])
ok("ListMultipartUploads", u in [x["UploadId"] for x in c.list_multipart_uploads(Bucket=B).get("Uploads", [])])
ok("Complete with a wrong part ETag: 400 InvalidPart",
   err(c.complete_multipart_upload, Bucket=B, Key="mp/obj", UploadId=u,
       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": '"00"'}]}) == (400, "InvalidPart"))
ok("Complete with a missing part: 400 InvalidPart",
   err(c.complete_multipart_upload, Bucket=B, Key="mp/obj", UploadId=u,
       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 3, "ETag": e2}]}) == (400, "InvalidPart"))
ok("Complete with parts out of order: 400 InvalidPartOrder",
   err(c.complete_multipart_upload, Bucket=B, Key="mp/obj", UploadId=u,
       MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]}) == (400, "InvalidPartOrder"))
e3 = c.upload_part(Bucket=B, Key="mp/obj", UploadId=u, PartNumber=3, Body=b"tail")["ETag"]
ok("Complete with a part under 5 MiB before the last: 400 EntityTooSmall",
   err(c.complete_multipart_upload, Bucket=B, Key="mp/obj", UploadId=u,
       MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 3, "ETag": e3}]}) == (400, "EntityTooSmall"))
ok("the object is not visible before Complete", err(c.head_object, Bucket=B, Key="mp/obj")[0] == 404)
r = c.complete_multipart_upload(Bucket=B, Key="mp/obj", UploadId=u,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
want = '"%s-2"' % hashlib.md5(bytes.fromhex(e1.strip('"')) + bytes.fromhex(e2.strip('"'))).hexdigest()
ok("Complete: ETag md5-of-md5s -2", r["ETag"] == want)
g = c.get_object(Bucket=B, Key="mp/obj")
ok("the completed object reads back, with its metadata", g["Body"].read() == P1 + P2 and g["ETag"] == want
   and g["ContentType"] == "video/x-test" and g["Metadata"] == {"m": "1"})
ok("the upload is gone after Complete: 404 NoSuchUpload", err(c.list_parts, Bucket=B, Key="mp/obj", UploadId=u) == (404, "NoSuchUpload"))
u2 = c.create_multipart_upload(Bucket=B, Key="mp/two")["UploadId"]
c.upload_part_copy(Bucket=B, Key="mp/two", UploadId=u2, PartNumber=1, CopySource={"Bucket": B, "Key": "mp/obj"},
                   CopySourceRange="bytes=0-%d" % ((5 << 20) - 1))
c.upload_part_copy(Bucket=B, Key="mp/two", UploadId=u2, PartNumber=2, CopySource={"Bucket": B, "Key": "dir/obj"})
ps = c.list_parts(Bucket=B, Key="mp/two", UploadId=u2)["Parts"]
c.complete_multipart_upload(Bucket=B, Key="mp/two", UploadId=u2,
                            MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in ps]})
ok("UploadPartCopy (with a range) builds the object", c.get_object(Bucket=B, Key="mp/two")["Body"].read() == P1 + body)
u3 = c.create_multipart_upload(Bucket=B, Key="mp/abort")["UploadId"]
c.upload_part(Bucket=B, Key="mp/abort", UploadId=u3, PartNumber=1, Body=b"x")
ok("AbortMultipartUpload: 204", c.abort_multipart_upload(Bucket=B, Key="mp/abort", UploadId=u3)["ResponseMetadata"]["HTTPStatusCode"] == 204)
ok("UploadPart after Abort: 404 NoSuchUpload", err(c.upload_part, Bucket=B, Key="mp/abort", UploadId=u3, PartNumber=1, Body=b"x") == (404, "NoSuchUpload"))
ok("an unknown upload id: 404 NoSuchUpload", err(c.abort_multipart_upload, Bucket=B, Key="mp/abort", UploadId="0" * 32) == (404, "NoSuchUpload"))
ok("a part number out of range: 400 InvalidArgument", err(c.upload_part, Bucket=B, Key="mp/x", UploadId=u3, PartNumber=10001, Body=b"x")[0] == 400)

# ---- composite checksums of multipart uploads: the algorithm over the parts' binary checksums
def crc32_raw(b):
    return zlib.crc32(b).to_bytes(4, "big")


def composite(raw, parts):
    """base64 of raw(concatenated raw part checksums), "-N": computed here, not by the gateway."""
    return base64.b64encode(raw(b"".join(raw(p) for p in parts))).decode() + "-%d" % len(parts)


def mp_checksum(key, alg, field, raw):
    u = c.create_multipart_upload(Bucket=B, Key=key, ChecksumAlgorithm=alg)["UploadId"]
    ps = []
    for n, data in ((1, P1), (2, P2)):
        r = c.upload_part(Bucket=B, Key=key, UploadId=u, PartNumber=n, Body=data, ChecksumAlgorithm=alg)
        ok("UploadPart %s returns the part's checksum" % alg,
           r.get(field) == base64.b64encode(raw(data)).decode())
        ps.append({"PartNumber": n, "ETag": r["ETag"], field: r.get(field)})
    lp = c.list_parts(Bucket=B, Key=key, UploadId=u)["Parts"]
    ok("ListParts shows the parts' %s checksums" % alg, [p.get(field) for p in lp] == [p[field] for p in ps])
    return u, ps


want = composite(crc32_raw, [P1, P2])
u, ps = mp_checksum("mp/crc", "CRC32", "ChecksumCRC32", crc32_raw)
bad = [dict(ps[0]), ps[1]]
bad[0]["ChecksumCRC32"] = base64.b64encode(crc32_raw(P2)).decode()
ok("Complete with a part checksum that is not the part's: 400 InvalidPart",
   err(c.complete_multipart_upload, Bucket=B, Key="mp/crc", UploadId=u, MultipartUpload={"Parts": bad}) == (400, "InvalidPart"))
r = c.complete_multipart_upload(Bucket=B, Key="mp/crc", UploadId=u, MultipartUpload={"Parts": ps})
ok("Complete returns the composite CRC32 (crc32 of the parts' crc32s, -2)", r.get("ChecksumCRC32") == want)
h = c.head_object(Bucket=B, Key="mp/crc", ChecksumMode="ENABLED")
ok("HEAD with x-amz-checksum-mode ENABLED returns it, type COMPOSITE",
   h.get("ChecksumCRC32") == want and h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-type") == "COMPOSITE")
g = c.get_object(Bucket=B, Key="mp/crc", ChecksumMode="ENABLED")
ok("GET returns it too, and the bytes", g.get("ChecksumCRC32") == want and g["Body"].read() == P1 + P2)
ok("without checksum mode: no checksum", c.head_object(Bucket=B, Key="mp/crc").get("ChecksumCRC32") is None)
sha_raw = lambda b: hashlib.sha256(b).digest()
u, ps = mp_checksum("mp/sha", "SHA256", "ChecksumSHA256", sha_raw)
r = c.complete_multipart_upload(Bucket=B, Key="mp/sha", UploadId=u, MultipartUpload={"Parts": ps})
want = composite(sha_raw, [P1, P2])
ok("composite SHA256: Complete and HEAD", r.get("ChecksumSHA256") == want and
   c.head_object(Bucket=B, Key="mp/sha", ChecksumMode="ENABLED").get("ChecksumSHA256") == want)
u = c.create_multipart_upload(Bucket=B, Key="mp/nock")["UploadId"]
e = c.upload_part(Bucket=B, Key="mp/nock", UploadId=u, PartNumber=1, Body=b"x")["ETag"]
c.complete_multipart_upload(Bucket=B, Key="mp/nock", UploadId=u, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
h = c.head_object(Bucket=B, Key="mp/nock", ChecksumMode="ENABLED")
ok("an upload without a checksum algorithm has no checksum",
   not [k for k in h["ResponseMetadata"]["HTTPHeaders"] if k.startswith("x-amz-checksum")])

# ---- ranges of an object of several chunks (read ahead by the gateway)
BIG = P1 + P2 + os.urandom(3 << 20)  # 9 MiB: three 4 MiB chunks, the last partial
c.put_object(Bucket=B, Key="big9", Body=BIG)
ok("a 9 MiB object reads back whole", c.get_object(Bucket=B, Key="big9")["Body"].read() == BIG)
for a, z in ((0, (4 << 20) - 1), ((4 << 20) - 7, (4 << 20) + 6), (1, len(BIG) - 2), ((4 << 20) + 5, (8 << 20) + 5),
             ((8 << 20) - 1, len(BIG) - 1), (12345, (4 << 20) + 12345)):
    g = c.get_object(Bucket=B, Key="big9", Range="bytes=%d-%d" % (a, z))
    ok("Range bytes=%d-%d across chunks is exact" % (a, z), g["Body"].read() == BIG[a:z + 1]
       and g["ContentRange"] == "bytes %d-%d/%d" % (a, z, len(BIG)))
st = c.get_object(Bucket=B, Key="big9")["Body"]
st.read(1000)
st.close()  # the client goes away early: the gateway stops reading ahead and keeps serving
ok("after a GET cut short, the gateway still serves", c.get_object(Bucket=B, Key="big9", Range="bytes=0-9")["Body"].read() == BIG[:10])

# ---- puts and deletes racing in one directory (a delete prunes the directory a put needs)
import concurrent.futures as cf

def churn(i):
    bad = 0
    for n in range(25):
        try:
            c.put_object(Bucket=B, Key="race/d/e/k%d" % i, Body=b"%d" % n)
            c.delete_object(Bucket=B, Key="race/d/e/k%d" % i)
        except ClientError as e:
            print("   ", e)
            bad += 1
    return bad

with cf.ThreadPoolExecutor(6) as ex:
    bad = sum(ex.map(churn, range(6)))
ok("puts and deletes racing in one directory: every request succeeds", bad == 0)
ok("and leave nothing behind", c.list_objects_v2(Bucket=B, Prefix="race/")["KeyCount"] == 0)

# ---- delete
ok("DeleteBucket of a non-empty bucket: 409 BucketNotEmpty", err(c.delete_bucket, Bucket=B) == (409, "BucketNotEmpty"))
ok("DeleteObject of a missing key: 204", c.delete_object(Bucket=B, Key="never")["ResponseMetadata"]["HTTPStatusCode"] == 204)
keys = [o["Key"] for o in c.list_objects_v2(Bucket=B)["Contents"]]
r = c.delete_objects(Bucket=B, Delete={"Objects": [{"Key": k} for k in keys] + [{"Key": "not-there"}]})
ok("DeleteObjects deletes them all (and reports the missing one deleted)", len(r["Deleted"]) == len(keys) + 1 and not r.get("Errors"))
r = c.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "x"}], "Quiet": True})
ok("DeleteObjects Quiet: nothing reported", not r.get("Deleted"))
ok("the bucket is empty", c.list_objects_v2(Bucket=B)["KeyCount"] == 0)
ok("DeleteBucket", c.delete_bucket(Bucket=B)["ResponseMetadata"]["HTTPStatusCode"] == 204)
ok("DeleteBucket again: 404 NoSuchBucket", err(c.delete_bucket, Bucket=B) == (404, "NoSuchBucket"))

# ---- authentication
bad = boto3.client("s3", endpoint_url=EP, config=cfg, aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                   aws_secret_access_key="x" * 40)
ok("a wrong secret: 403 SignatureDoesNotMatch", err(bad.list_buckets) == (403, "SignatureDoesNotMatch"))
unk = boto3.client("s3", endpoint_url=EP, config=cfg, aws_access_key_id="AKIDONOTEXIST0000000", aws_secret_access_key="x" * 40)
ok("an unknown key: 403 InvalidAccessKeyId", err(unk.list_buckets) == (403, "InvalidAccessKeyId"))

# ---- quota (the other tenant's volume holds 3 MiB)
qc = boto3.client("s3", endpoint_url=EP, config=cfg, aws_access_key_id=QKEY, aws_secret_access_key=QSECRET)
err(qc.create_bucket, Bucket="quota-bucket")
qc.put_object(Bucket="quota-bucket", Key="small", Body=b"s" * 1000)
ok("a write past the volume's quota: 403 QuotaExceeded",
   err(qc.put_object, Bucket="quota-bucket", Key="big", Body=os.urandom(5 << 20)) == (403, "QuotaExceeded"))
ok("nothing half-written is visible after it", err(qc.head_object, Bucket="quota-bucket", Key="big")[0] == 404)
ok("the other tenant's objects are not here", err(c.head_object, Bucket="quota-bucket", Key="small")[0] == 404)

print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)

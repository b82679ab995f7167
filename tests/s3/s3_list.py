#!/usr/bin/python3
"""Listing the 1,500 keys of bucket "many" (d0/k0000 .. d2/k1499, put by test_s3.sh) in every
paging form, against the order S3 defines (bytes of UTF-8). Usage: s3_list.py ENDPOINT."""
import sys

import boto3

c = boto3.client("s3", endpoint_url=sys.argv[1])
B = "many"
want = sorted("d%d/k%04d" % (i % 3, i) for i in range(1500))
fails = passes = 0


def ok(what, cond):
    global fails, passes
    if cond:
        passes += 1
        print("  ok:", what)
    else:
        fails += 1
        print("  FAIL:", what)


def v2_all(page, **kw):
    keys, prefixes, pages, tok = [], [], 0, None
    while True:
        a = dict(Bucket=B, MaxKeys=page, **kw)
        if tok:
            a["ContinuationToken"] = tok
        r = c.list_objects_v2(**a)
        pages += 1
        keys += [o["Key"] for o in r.get("Contents", [])]
        prefixes += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if r["KeyCount"] != len(r.get("Contents", [])) + len(r.get("CommonPrefixes", [])):
            return None
        if not r["IsTruncated"]:
            return keys, prefixes, pages
        tok = r["NextContinuationToken"]


def v1_all(page, **kw):
    keys, prefixes, marker = [], [], ""
    while True:
        r = c.list_objects(Bucket=B, MaxKeys=page, Marker=marker, **kw)
        keys += [o["Key"] for o in r.get("Contents", [])]
        prefixes += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            return keys, prefixes
        marker = r.get("NextMarker") or keys[-1]


for page in (1000, 333, 7):
    k, p, n = v2_all(page)
    ok("v2, pages of %d: all 1,500 keys in order, %d pages" % (page, n), k == want and n == -(-1500 // page))
for page in (1000, 250):
    k, p = v1_all(page)
    ok("v1 (marker), pages of %d: all keys in order" % page, k == want)
k = [o["Key"] for pg in c.get_paginator("list_objects_v2").paginate(Bucket=B) for o in pg.get("Contents", [])]
ok("boto3 list_objects_v2 paginator", k == want)
k = [o["Key"] for pg in c.get_paginator("list_objects").paginate(Bucket=B, PaginationConfig={"PageSize": 400})
     for o in pg.get("Contents", [])]
ok("boto3 list_objects paginator", k == want)
r = c.list_objects_v2(Bucket=B, StartAfter="d1/k0700")
ok("start-after", [o["Key"] for o in r["Contents"]] == [x for x in want if x > "d1/k0700"][:1000])
r = c.list_objects(Bucket=B, Marker="d2/k1400")
ok("marker", [o["Key"] for o in r["Contents"]] == [x for x in want if x > "d2/k1400"])
k, p, n = v2_all(1, Delimiter="/")
ok("delimiter with pages of 1: the three prefixes, one page each", k == [] and p == ["d0/", "d1/", "d2/"] and n == 3)
k, p = v1_all(2, Delimiter="/")
ok("delimiter, v1 with NextMarker: the three prefixes", p == ["d0/", "d1/", "d2/"])
k, p, n = v2_all(1000, Prefix="d2/k14", Delimiter="4")
ok("prefix + a delimiter that is not '/'", sorted(p) == sorted(set("d2/k14" + x[6:].split("4")[0] + "4" for x in want if x.startswith("d2/k14") and "4" in x[6:]))
   and k == [x for x in want if x.startswith("d2/k14") and "4" not in x[6:]])
r = c.list_objects_v2(Bucket=B, MaxKeys=0)
ok("max-keys=0: nothing", r["KeyCount"] == 0)
r = c.list_objects_v2(Bucket=B, Prefix="nothing/")
ok("a prefix with no keys: empty", r["KeyCount"] == 0 and not r["IsTruncated"])

print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)

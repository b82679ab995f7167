/* Private to gateways/s3. Two halves:
 *  - pure parsers and formatters of untrusted bytes (s3_util.c, s3_sigv4.c, s3_chunked.c,
 *    s3_xml.c, s3_meta.c): no I/O, no globals, unit-tested and fuzzed without a cluster;
 *  - the server (s3_http.c: libmicrohttpd, auth, body pipeline; s3_bucket.c, s3_list.c,
 *    s3_object.c, s3_multipart.c: the operations over libglory).
 * Functions return 0 or a negative S3 error (-S3E_*), unless they say otherwise. */
#ifndef GL_S3_INTERNAL_H
#define GL_S3_INTERNAL_H

#include "common/compiler.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* X(NAME, http status, S3 code, message) */
#define S3_ERRORS(X)                                                                               \
	X(S3E_ACCESS_DENIED, 403, "AccessDenied", "Access Denied")                                 \
	X(S3E_BAD_DIGEST, 400, "BadDigest",                                                        \
	  "The Content-MD5 you specified did not match what "                                      \
	  "was received.")                                                                         \
	X(S3E_BUCKET_EXISTS, 409, "BucketAlreadyExists",                                           \
	  "The requested bucket name is not available.")                                           \
	X(S3E_BUCKET_OWNED, 409, "BucketAlreadyOwnedByYou",                                        \
	  "Your previous request to create the named bucket succeeded and you already own it.")    \
	X(S3E_BUCKET_NOT_EMPTY, 409, "BucketNotEmpty",                                             \
	  "The bucket you tried to delete is not empty.")                                          \
	X(S3E_ENTITY_TOO_SMALL, 400, "EntityTooSmall",                                             \
	  "Your proposed upload is smaller than the minimum allowed object size.")                 \
	X(S3E_ENTITY_TOO_LARGE, 400, "EntityTooLarge",                                             \
	  "Your proposed upload exceeds the maximum allowed size.")                                \
	X(S3E_INCOMPLETE_BODY, 400, "IncompleteBody",                                              \
	  "You did not provide the number of bytes specified by the Content-Length HTTP header.")  \
	X(S3E_INTERNAL, 500, "InternalError",                                                      \
	  "We encountered an internal error. Please try again.")                                   \
	X(S3E_INVALID_ACCESS_KEY, 403, "InvalidAccessKeyId",                                       \
	  "The AWS access key Id you provided does not exist in our records.")                     \
	X(S3E_INVALID_ARGUMENT, 400, "InvalidArgument", "Invalid Argument")                        \
	X(S3E_INVALID_BUCKET_NAME, 400, "InvalidBucketName", "The specified bucket is not valid.") \
	X(S3E_INVALID_DIGEST, 400, "InvalidDigest", "The Content-MD5 you specified is not valid.") \
	X(S3E_INVALID_PART, 400, "InvalidPart",                                                    \
	  "One or more of the specified parts could not be found.  The part may not have been "    \
	  "uploaded, or the specified entity tag may not match the part's entity tag.")            \
	X(S3E_INVALID_PART_ORDER, 400, "InvalidPartOrder",                                         \
	  "The list of parts was not in ascending order. Parts must be ordered by part number.")   \
	X(S3E_INVALID_RANGE, 416, "InvalidRange", "The requested range is not satisfiable")        \
	X(S3E_INVALID_REQUEST, 400, "InvalidRequest", "Invalid Request")                           \
	X(S3E_KEY_TOO_LONG, 400, "KeyTooLongError", "Your key is too long")                        \
	X(S3E_MALFORMED_XML, 400, "MalformedXML",                                                  \
	  "The XML you provided was not well-formed or did not validate against our published "    \
	  "schema")                                                                                \
	X(S3E_METHOD_NOT_ALLOWED, 405, "MethodNotAllowed",                                         \
	  "The specified method is not allowed against this resource.")                            \
	X(S3E_MISSING_LENGTH, 411, "MissingContentLength",                                         \
	  "You must provide the Content-Length HTTP header.")                                      \
	X(S3E_NO_SUCH_BUCKET, 404, "NoSuchBucket", "The specified bucket does not exist")          \
	X(S3E_NO_SUCH_KEY, 404, "NoSuchKey", "The specified key does not exist.")                  \
	X(S3E_NO_SUCH_UPLOAD, 404, "NoSuchUpload",                                                 \
	  "The specified upload does not exist. The upload ID may be invalid, or the upload may "  \
	  "have been aborted or completed.")                                                       \
	X(S3E_NOT_IMPLEMENTED, 501, "NotImplemented",                                              \
	  "A header you provided implies functionality that is not implemented")                   \
	X(S3E_NOT_MODIFIED, 304, "NotModified", "Not Modified")                                    \
	X(S3E_PRECONDITION, 412, "PreconditionFailed",                                             \
	  "At least one of the pre-conditions you specified did not hold")                         \
	X(S3E_QUOTA, 403, "QuotaExceeded", "The volume's quota does not allow this write.")        \
	X(S3E_SKEWED, 403, "RequestTimeTooSkewed",                                                 \
	  "The difference between the request time and the current time is too large.")            \
	X(S3E_SIGNATURE, 403, "SignatureDoesNotMatch",                                             \
	  "The request signature we calculated does not match the signature you provided. Check "  \
	  "your key and signing method.")                                                          \
	X(S3E_SHA_MISMATCH, 400, "XAmzContentSHA256Mismatch",                                      \
	  "The provided 'x-amz-content-sha256' header does not match what was computed.")          \
	X(S3E_BAD_CHECKSUM, 400, "BadDigest",                                                      \
	  "The x-amz-checksum you specified did not match what was received.")                     \
	X(S3E_AUTH_HEADER, 400, "AuthorizationHeaderMalformed",                                    \
	  "The authorization header is malformed.")                                                \
	X(S3E_EXPIRED, 403, "AccessDenied", "Request has expired")                                 \
	X(S3E_SERVICE_UNAVAILABLE, 503, "ServiceUnavailable", "Please reduce your request rate.")  \
	X(S3E_KEY_CONFLICT, 409, "KeyConflict",                                                    \
	  "A prefix of this key is an object, or this key is a prefix of other keys (keys are "    \
	  "paths of a file system here).")                                                         \
	X(S3E_NO_POLICY, 404, "NoSuchBucketPolicy", "The bucket policy does not exist")            \
	X(S3E_NO_CORS, 404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")    \
	X(S3E_NO_LIFECYCLE, 404, "NoSuchLifecycleConfiguration",                                   \
	  "The lifecycle configuration does not exist")                                            \
	X(S3E_NO_WEBSITE, 404, "NoSuchWebsiteConfiguration",                                       \
	  "The specified bucket does not have a website configuration")                            \
	X(S3E_NO_ENCRYPTION, 404, "ServerSideEncryptionConfigurationNotFoundError",                \
	  "The server side encryption configuration was not found")                                \
	X(S3E_REQUEST_TIMEOUT, 400, "RequestTimeout",                                              \
	  "Your socket connection to the server was not read from or written to within the "       \
	  "timeout period.")

enum s3_err {
	S3E_OK = 0,
#define S3_ERR_ENUM(name, status, code, msg) name,
	S3_ERRORS(S3_ERR_ENUM)
#undef S3_ERR_ENUM
	    S3E_COUNT
};

int s3_err_status(int e); /* e: positive S3E_* */
const char *s3_err_code(int e);
const char *s3_err_msg(int e);
/* -S3E_* of a glory error (NoSuchKey for ENOENT, QuotaExceeded for EDQUOT, ...). */
int s3_from_glory(int rc);

/* ---- a growing byte buffer (s3_util.c). err is set on allocation failure; then the
 * content is incomplete and every later put is a no-op. ---- */
struct s3_buf {
	char *p;
	size_t len, cap;
	int err;
};
void s3_buf_put(struct s3_buf *b, const void *p, size_t n);
void s3_buf_puts(struct s3_buf *b, const char *s);
void s3_buf_printf(struct s3_buf *b, const char *fmt, ...) GL_PRINTF(2, 3);
/* NUL-terminates (not counted in len) and returns p (never NULL unless err). */
char *s3_buf_cstr(struct s3_buf *b);
void s3_buf_free(struct s3_buf *b);

/* ---- encodings (s3_util.c) ---- */
/* Percent-decodes in[0..n) into out (room for n + 1); '+' stays '+'. -1 on a bad escape or a
 * decoded NUL. */
int s3_uri_decode(const char *in, size_t n, char *out, size_t *outlen);
/* Percent-encodes as SigV4 wants: A-Z a-z 0-9 - _ . ~ kept (and '/' when keep_slash). */
void s3_uri_encode(struct s3_buf *b, const char *s, size_t n, int keep_slash);
void s3_hex(const uint8_t *in, size_t n, char *out);	/* out: 2n + 1 */
void s3_base64(const uint8_t *in, size_t n, char *out); /* out: 4 * ((n + 2) / 3) + 1 */
/* -1 unless in is canonical padded base64 of at most cap bytes. */
int s3_unbase64(const char *in, uint8_t *out, size_t cap, size_t *outlen);

/* ---- times (s3_util.c) ---- */
void s3_http_date(time_t t, char out[40]);  /* "Sun, 06 Nov 1994 08:49:37 GMT" */
void s3_iso_date(int64_t ns, char out[40]); /* "2026-12-06T06:10:41.000Z" */
/* RFC 1123 / RFC 850 / asctime, or ISO 8601 basic ("20130524T000000Z"). -1 if none. */
int s3_parse_http_date(const char *s, time_t *out);
int s3_parse_amz_date(const char *s, time_t *out);

/* ---- names (s3_util.c) ---- */
int s3_bucket_name_ok(const char *name);
/* 0, or -S3E_KEY_TOO_LONG / -S3E_INVALID_ARGUMENT for keys that cannot be paths (empty
 * components, "." or "..", a component over 255 bytes). A trailing "/" is allowed. */
int s3_key_check(const char *key);

/* ---- Range header (s3_util.c) ---- */
/* 0: serve the whole object (no header, or one we ignore as RFC 9110 says); 1: *start and *len
 * set (206); -S3E_INVALID_RANGE: not satisfiable (416). */
int s3_parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len);

/* ---- request headers and query (s3_util.c) ---- */
#define S3_MAX_HDRS  96
#define S3_MAX_QUERY 48
struct s3_hdrs {
	int n;
	char *name[S3_MAX_HDRS]; /* lowercase */
	char *value[S3_MAX_HDRS];
};
/* Copies; a repeated name is joined with "," as SigV4 wants. -S3E_INVALID_REQUEST when full. */
int s3_hdrs_add(struct s3_hdrs *h, const char *name, const char *value);
const char *s3_hdr(const struct s3_hdrs *h, const char *lname);
void s3_hdrs_free(struct s3_hdrs *h);

struct s3_query {
	int n;
	char *name[S3_MAX_QUERY]; /* decoded */
	char *value[S3_MAX_QUERY];
};
/* Parses a raw query string (no '?'). -S3E_INVALID_ARGUMENT on bad escapes or too many. */
int s3_query_parse(const char *raw, size_t n, struct s3_query *q);
const char *s3_qget(const struct s3_query *q, const char *name); /* NULL: absent */
void s3_query_free(struct s3_query *q);

/* ---- SigV4 (s3_sigv4.c) ---- */
struct s3_sigv4 {
	char access[128];
	char date[16]; /* yyyymmdd of the scope */
	char region[64];
	char service[16];
	char signed_headers[1024]; /* "host;x-amz-date", lowercase, sorted */
	char signature[72];
	char amz_date[24]; /* yyyymmddThhmmssZ */
	long expires;	   /* presigned: seconds */
	int presigned;
};
/* "AWS4-HMAC-SHA256 Credential=A/D/R/s3/aws4_request, SignedHeaders=..., Signature=..." */
int s3_sigv4_parse_header(const char *authz, struct s3_sigv4 *out);
/* X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
 * X-Amz-Signature from the query. */
int s3_sigv4_parse_query(const struct s3_query *q, struct s3_sigv4 *out);
/* The canonical request: method, the decoded path re-encoded, the query (without
 * X-Amz-Signature) sorted and encoded, the signed headers, the payload hash. */
int s3_sigv4_canonical(struct s3_buf *out, const char *method, const char *path,
		       const struct s3_query *q, const struct s3_hdrs *h,
		       const char *signed_headers, const char *payload_hash);
void s3_sigv4_key(const char *secret, const char *date, const char *region, const char *service,
		  uint8_t key[32]);
/* Hex HMAC-SHA256 of "AWS4-HMAC-SHA256\n" amz_date "\n" scope "\n" hex(sha256(canonical)). */
void s3_sigv4_sign(const uint8_t key[32], const char *amz_date, const char *scope,
		   const char *canonical, size_t clen, char sig[65]);
void s3_sha256_hex(const void *p, size_t n, char out[65]);
void s3_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, uint8_t out[32]);
/* Constant-time comparison of two NUL-terminated signatures. 1 when equal. */
int s3_sig_equal(const char *a, const char *b);

/* ---- SigV2 (s3_sigv4.c) ---- */
/* The string to sign: method, Content-MD5, Content-Type, date (or expires), the x-amz-
 * headers, the resource (bucket path and the sub-resources S3 signs). */
int s3_sigv2_string(struct s3_buf *out, const char *method, const char *path,
		    const struct s3_query *q, const struct s3_hdrs *h, const char *date);
/* Base64 HMAC-SHA1 of s with secret. */
void s3_sigv2_sign(const char *secret, const char *s, size_t n, char out[32]);

/* ---- aws-chunked bodies (s3_chunked.c) ---- */
enum s3_chunked_mode {
	S3_CH_SIGNED = 1,	    /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	S3_CH_SIGNED_TRAILER = 2,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
	S3_CH_UNSIGNED_TRAILER = 3, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};
#define S3_CH_LINE   4096
#define S3_CH_TRAILS 8
struct s3_chunked {
	int mode, state, done;
	uint64_t remain;  /* bytes of the current chunk still to come */
	uint64_t decoded; /* data bytes so far */
	char line[S3_CH_LINE];
	size_t linelen;
	char chunk_sig[72], prev_sig[72];
	uint8_t key[32];
	char amz_date[24], scope[160];
	void *sha; /* EVP_MD_CTX of the current chunk (signed modes) */
	int ntrail;
	char *trail_name[S3_CH_TRAILS], *trail_value[S3_CH_TRAILS];
};
typedef int (*s3_data_fn)(void *arg, const char *p, size_t n);
/* key/amz_date/scope/seed (the request's signature) matter in the signed modes only. */
int s3_chunked_init(struct s3_chunked *c, int mode, const uint8_t key[32], const char *amz_date,
		    const char *scope, const char *seed);
/* Decodes in[0..n): data goes to fn (which may fail with its own -S3E_*). Errors are sticky
 * in the sense that the caller stops feeding. */
int s3_chunked_feed(struct s3_chunked *c, const char *in, size_t n, s3_data_fn fn, void *arg);
/* -S3E_INCOMPLETE_BODY unless the final chunk (and trailers) arrived. */
int s3_chunked_finish(struct s3_chunked *c);
const char *s3_chunked_trailer(const struct s3_chunked *c, const char *lname);
void s3_chunked_fini(struct s3_chunked *c);

/* ---- checksums (s3_util.c): x-amz-checksum-{crc32,crc32c,sha1,sha256} ---- */
enum { S3_CK_NONE, S3_CK_CRC32, S3_CK_CRC32C, S3_CK_SHA1, S3_CK_SHA256 };
struct s3_cksum {
	int alg;
	uint32_t crc;
	void *md; /* EVP_MD_CTX for the SHA ones */
};
/* alg from the header name suffix ("crc32", ...); S3_CK_NONE if unknown. */
int s3_cksum_alg(const char *name);
const char *s3_cksum_name(int alg); /* "crc32" ... */
int s3_cksum_init(struct s3_cksum *c, int alg);
void s3_cksum_update(struct s3_cksum *c, const void *p, size_t n);
/* Base64 of the big-endian digest. */
void s3_cksum_final(struct s3_cksum *c, char out[64]);
void s3_cksum_fini(struct s3_cksum *c);

/* ---- XML (s3_xml.c) ---- */
/* Escapes text for element content and attribute values. */
void s3_xml_text(struct s3_buf *b, const char *s, size_t n);
void s3_xml_elem(struct s3_buf *b, const char *name, const char *text);
/* A small non-validating parser of request bodies: fn(arg, path, text, len) for each element
 * with text only (path "/Delete/Object/Key", text entity-decoded); fn(arg, path, NULL, 0) at
 * the end of each element with children. Namespaces prefixes are kept, attributes ignored.
 * -S3E_MALFORMED_XML on anything not well-formed. */
typedef int (*s3_xml_fn)(void *arg, const char *path, const char *text, size_t len);
int s3_xml_parse(const char *in, size_t n, s3_xml_fn fn, void *arg);

#define S3_DELETE_MAX 1000
struct s3_delete_req {
	int quiet, n;
	char *key[S3_DELETE_MAX];
};
int s3_parse_delete(const char *in, size_t n, struct s3_delete_req *out);
void s3_delete_req_free(struct s3_delete_req *d);

#define S3_PARTS_MAX 10000
struct s3_complete_part {
	int num;
	char etag[72]; /* without quotes */
	int ck_alg;    /* <ChecksumCRC32> etc. (S3_CK_NONE if none): base64 in ck */
	char ck[64];
};
struct s3_complete_req {
	int n;
	struct s3_complete_part *parts; /* malloc'd */
};
int s3_parse_complete(const char *in, size_t n, struct s3_complete_req *out);
void s3_complete_req_free(struct s3_complete_req *c);

/* ---- object metadata in the xattr user.s3.meta (s3_meta.c) ----
 * Value: "name\0value\0" pairs. Names: "etag", "size", "mtime" (nanoseconds: the file's size
 * and mtime when the etag was computed: a file changed since by another gateway no longer
 * matches and gets a derived etag), "content-type", ..., "x-amz-meta-*", "x-amz-checksum-*". */
#define S3_META_XATTR "user.s3.meta"
#define S3_META_MAX   64
struct s3_meta {
	int n;
	char *name[S3_META_MAX];
	char *value[S3_META_MAX];
};
int s3_meta_decode(const char *p, size_t n, struct s3_meta *m);
int s3_meta_encode(const struct s3_meta *m, struct s3_buf *b);
const char *s3_meta_get(const struct s3_meta *m, const char *name);
int s3_meta_set(struct s3_meta *m, const char *name, const char *value); /* replaces */
void s3_meta_free(struct s3_meta *m);

#endif

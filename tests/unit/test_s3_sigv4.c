/* S3 gateway: SigV4 (header, presigned, aws-chunked) against the worked examples of the AWS S3
 * documentation (secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, 20130524), and SigV2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateways/s3/s3_internal.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SCOPE  "20130524/us-east-1/s3/aws4_request"

static void add(struct s3_hdrs *h, const char *n, const char *v)
{
	assert_int_equal(s3_hdrs_add(h, n, v), 0);
}

/* GET /test.txt with a Range header, signed in the Authorization header. */
static void test_header_get(void **state)
{
	struct s3_hdrs h = {0};
	struct s3_query q = {0};
	struct s3_buf canon = {0};
	struct s3_sigv4 s;
	uint8_t key[32];
	char sig[65];

	(void)state;
	assert_int_equal(s3_sigv4_parse_header(
			     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/" SCOPE
			     ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
			     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
			     &s),
			 0);
	assert_string_equal(s.access, "AKIAIOSFODNN7EXAMPLE");
	assert_string_equal(s.region, "us-east-1");
	assert_string_equal(s.date, "20130524");
	add(&h, "Host", "examplebucket.s3.amazonaws.com");
	add(&h, "Range", "bytes=0-9");
	add(&h, "x-amz-content-sha256", EMPTY);
	add(&h, "x-amz-date", "20130524T000000Z");
	add(&h, "User-Agent", "not signed");
	assert_int_equal(
	    s3_sigv4_canonical(&canon, "GET", "/test.txt", &q, &h, s.signed_headers, EMPTY), 0);
	assert_string_equal(canon.p, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
				     "range:bytes=0-9\nx-amz-content-sha256:" EMPTY "\n"
				     "x-amz-date:20130524T000000Z\n\n"
				     "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY);
	s3_sigv4_key(SECRET, "20130524", "us-east-1", "s3", key);
	s3_sigv4_sign(key, "20130524T000000Z", SCOPE, canon.p, canon.len, sig);
	assert_string_equal(sig, s.signature);
	assert_true(s3_sig_equal(sig, s.signature));
	/* one byte of the request changed: another signature */
	s3_buf_free(&canon);
	assert_int_equal(
	    s3_sigv4_canonical(&canon, "GET", "/test.txu", &q, &h, s.signed_headers, EMPTY), 0);
	s3_sigv4_sign(key, "20130524T000000Z", SCOPE, canon.p, canon.len, sig);
	assert_false(s3_sig_equal(sig, s.signature));
	s3_buf_free(&canon);
	s3_hdrs_free(&h);
}

/* The presigned GET /test.txt of the documentation (expires 86400). */
static void test_presigned(void **state)
{
	const char *raw =
	    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
	    "2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-"
	    "Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
	    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
	struct s3_hdrs h = {0};
	struct s3_query q;
	struct s3_buf canon = {0};
	struct s3_sigv4 s;
	uint8_t key[32];
	char sig[65];

	(void)state;
	assert_int_equal(s3_query_parse(raw, strlen(raw), &q), 0);
	assert_int_equal(s3_sigv4_parse_query(&q, &s), 0);
	assert_int_equal(s.expires, 86400);
	add(&h, "host", "examplebucket.s3.amazonaws.com");
	assert_int_equal(s3_sigv4_canonical(&canon, "GET", "/test.txt", &q, &h, s.signed_headers,
					    "UNSIGNED-PAYLOAD"),
			 0);
	s3_sigv4_key(SECRET, s.date, s.region, s.service, key);
	s3_sigv4_sign(key, s.amz_date, SCOPE, canon.p, canon.len, sig);
	assert_string_equal(sig, s.signature);
	s3_buf_free(&canon);
	s3_query_free(&q);
	s3_hdrs_free(&h);
}

struct sink {
	size_t n;
	int bad;
};

static int count_a(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	for (size_t i = 0; i < n; i++)
		s->bad |= p[i] != 'a';
	s->n += n;
	return 0;
}

/* The body of the documentation's chunked PUT: 64 KiB + 1 KiB of 'a', three signatures. */
static char *chunked_body(size_t *len, const char *sig1)
{
	char *b = malloc(70000), *p = b;

	p += sprintf(p, "10000;chunk-signature=%s\r\n", sig1);
	memset(p, 'a', 65536);
	p += 65536;
	p += sprintf(p, "\r\n400;chunk-signature="
			"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
	memset(p, 'a', 1024);
	p += 1024;
	p += sprintf(p, "\r\n0;chunk-signature="
			"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
	*len = (size_t)(p - b);
	return b;
}

static void test_chunked_signed(void **state)
{
	struct s3_hdrs h = {0};
	struct s3_query q = {0};
	struct s3_buf canon = {0};
	struct s3_chunked c;
	struct sink out = {0};
	uint8_t key[32];
	char seed[65], *body;
	size_t len;
	const char *sh = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
			 "x-amz-decoded-content-length;x-amz-storage-class";

	(void)state;
	add(&h, "content-encoding", "aws-chunked");
	add(&h, "content-length", "66824");
	add(&h, "host", "s3.amazonaws.com");
	add(&h, "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
	add(&h, "x-amz-date", "20130524T000000Z");
	add(&h, "x-amz-decoded-content-length", "66560");
	add(&h, "x-amz-storage-class", "REDUCED_REDUNDANCY");
	assert_int_equal(s3_sigv4_canonical(&canon, "PUT", "/examplebucket/chunkObject.txt", &q, &h,
					    sh, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
			 0);
	s3_sigv4_key(SECRET, "20130524", "us-east-1", "s3", key);
	s3_sigv4_sign(key, "20130524T000000Z", SCOPE, canon.p, canon.len, seed);
	assert_string_equal(seed,
			    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");

	body =
	    chunked_body(&len, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
	assert_int_equal(len, 66824);
	/* fed in awkward pieces: the framing may split anywhere */
	for (size_t step = 1; step <= 7919; step = step * 3 + 2) {
		memset(&out, 0, sizeof(out));
		assert_int_equal(
		    s3_chunked_init(&c, S3_CH_SIGNED, key, "20130524T000000Z", SCOPE, seed), 0);
		for (size_t off = 0; off < len; off += step)
			assert_int_equal(s3_chunked_feed(&c, body + off,
							 off + step < len ? step : len - off,
							 count_a, &out),
					 0);
		assert_int_equal(s3_chunked_finish(&c), 0);
		assert_int_equal(out.n, 66560);
		assert_false(out.bad);
		s3_chunked_fini(&c);
	}
	/* a wrong first signature is caught at the end of the first chunk */
	free(body);
	body =
	    chunked_body(&len, "bd80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
	assert_int_equal(s3_chunked_init(&c, S3_CH_SIGNED, key, "20130524T000000Z", SCOPE, seed),
			 0);
	assert_int_equal(s3_chunked_feed(&c, body, len, count_a, &out), -S3E_SIGNATURE);
	s3_chunked_fini(&c);
	/* truncated: not finished */
	assert_int_equal(s3_chunked_init(&c, S3_CH_SIGNED, key, "20130524T000000Z", SCOPE, seed),
			 0);
	assert_int_equal(s3_chunked_feed(&c, body, 1000, count_a, &out), 0);
	assert_int_equal(s3_chunked_finish(&c), -S3E_INCOMPLETE_BODY);
	s3_chunked_fini(&c);
	free(body);
	s3_buf_free(&canon);
	s3_hdrs_free(&h);
}

static void test_unsigned_trailer(void **state)
{
	const char *body =
	    "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
	struct s3_chunked c;
	struct s3_cksum ck;
	char v[64];
	uint8_t key[32] = {0};
	struct sink out = {0};

	(void)state;
	assert_int_equal(s3_chunked_init(&c, S3_CH_UNSIGNED_TRAILER, key, "", "", ""), 0);
	for (size_t i = 0; body[i]; i++) /* one byte at a time */
		assert_int_equal(s3_chunked_feed(&c, body + i, 1, count_a, &out), 0);
	assert_int_equal(s3_chunked_finish(&c), 0);
	assert_int_equal(out.n, 11);
	assert_string_equal(s3_chunked_trailer(&c, "x-amz-checksum-crc32"), "DUoRhQ==");
	s3_chunked_fini(&c);
	/* the crc32 of "hello world" as S3 writes it: base64 of the big-endian value */
	assert_int_equal(s3_cksum_init(&ck, S3_CK_CRC32), 0);
	s3_cksum_update(&ck, "hello ", 6);
	s3_cksum_update(&ck, "world", 5);
	s3_cksum_final(&ck, v);
	assert_string_equal(v, "DUoRhQ==");
	s3_cksum_fini(&ck);
	assert_int_equal(s3_cksum_init(&ck, S3_CK_CRC32C), 0);
	s3_cksum_update(&ck, "123456789", 9);
	s3_cksum_final(&ck, v);
	assert_string_equal(v, "4waSgw=="); /* 0xE3069283 */
	s3_cksum_fini(&ck);
	/* garbage framing */
	assert_int_equal(s3_chunked_init(&c, S3_CH_UNSIGNED_TRAILER, key, "", "", ""), 0);
	assert_int_equal(s3_chunked_feed(&c, "zz\r\n", 4, count_a, &out), -S3E_INVALID_REQUEST);
	s3_chunked_fini(&c);
	assert_int_equal(s3_chunked_init(&c, S3_CH_UNSIGNED_TRAILER, key, "", "", ""), 0);
	assert_int_equal(s3_chunked_feed(&c, "5\nhello", 7, count_a, &out), -S3E_INVALID_REQUEST);
	s3_chunked_fini(&c);
	assert_int_equal(s3_chunked_init(&c, S3_CH_UNSIGNED_TRAILER, key, "", "", ""), 0);
	assert_int_equal(s3_chunked_feed(&c, "fffffffffffffffffff\r\n", 21, count_a, &out),
			 -S3E_INVALID_REQUEST);
	s3_chunked_fini(&c);
}

static void test_sigv2(void **state)
{
	/* the example of the S3 SigV2 documentation (GET /photos/puppy.jpg) */
	struct s3_hdrs h = {0};
	struct s3_query q = {0};
	struct s3_buf sts = {0};
	char sig[32];

	(void)state;
	add(&h, "Host", "johnsmith.s3.amazonaws.com");
	add(&h, "Date", "Tue, 27 Mar 2007 19:36:42 +0000");
	assert_int_equal(s3_sigv2_string(&sts, "GET", "/johnsmith/photos/puppy.jpg", &q, &h,
					 "Tue, 27 Mar 2007 19:36:42 +0000"),
			 0);
	assert_string_equal(
	    sts.p, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg");
	s3_sigv2_sign(SECRET, sts.p, sts.len, sig);
	assert_string_equal(sig, "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
	s3_buf_free(&sts);
	s3_hdrs_free(&h);
}

static void test_bad_headers(void **state)
{
	struct s3_sigv4 s;

	(void)state;
	assert_int_equal(s3_sigv4_parse_header("AWS4-HMAC-SHA256 ", &s), -S3E_AUTH_HEADER);
	assert_int_equal(s3_sigv4_parse_header("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, "
					       "SignedHeaders=host, Signature=00",
					       &s),
			 -S3E_AUTH_HEADER);
	assert_int_equal(s3_sigv4_parse_header("AWS4-HMAC-SHA256 Credential=AK/20130524/r/s3/"
					       "aws4_request, SignedHeaders=Host;X, Signature=00",
					       &s),
			 -S3E_AUTH_HEADER); /* upper case: not canonical */
	assert_int_equal(s3_sigv4_parse_header("AWS4-HMAC-SHA256 Credential=AK/20130524/r/s3/"
					       "aws4_request, SignedHeaders=host, Signature=00",
					       &s),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_get),	   cmocka_unit_test(test_presigned),
	    cmocka_unit_test(test_chunked_signed), cmocka_unit_test(test_unsigned_trailer),
	    cmocka_unit_test(test_sigv2),	   cmocka_unit_test(test_bad_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

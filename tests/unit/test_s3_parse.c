/* S3 gateway: the pure parsers and formatters (XML in and out, Range, names, dates, query
 * strings, percent-encoding, base64, object metadata). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateways/s3/s3_internal.h"

static void test_xml_escape(void **state)
{
	struct s3_buf b = {0};

	(void)state;
	s3_xml_text(&b, "a<b>&\"c'\x01", 9);
	assert_string_equal(b.p, "a&lt;b&gt;&amp;&quot;c&apos;&#x1;");
	s3_buf_free(&b);
	s3_xml_elem(&b, "Key", "x&y");
	assert_string_equal(b.p, "<Key>x&amp;y</Key>");
	s3_buf_free(&b);
}

static void test_xml_delete(void **state)
{
	const char *ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete "
			 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
			 "<Object><Key>a&amp;b</Key></Object><!-- c --><Object><Key><![CDATA[<x>]]>"
			 "</Key><VersionId>1</VersionId></Object><Object><Key>&#x263A;&#65;</Key>"
			 "</Object></Delete>";
	static const char *const bad[] = {
	    "",
	    "<Delete>",
	    "<Delete><Object><Key>a</Key></Object>",
	    "<Delete><Object><Key>a</Key></Object></Delete><Delete/>",
	    "<Delete><Object><Key>a</Key></Object></Delet>",
	    "<Delete><Object><Key>a&bogus;</Key></Object></Delete>",
	    "<Delete><Object><Key>&#0;</Key></Object></Delete>",
	    "<Delete><Object></Object></Delete>",
	    "<Delete><Object><Key></Key></Object></Delete>",
	    "<Delete></Delete>",
	    "<Other><Object><Key>a</Key></Object></Other>",
	    "junk<Delete><Object><Key>a</Key></Object></Delete>",
	    "<Delete a=\"1><Object><Key>a</Key></Object></Delete>",
	};
	struct s3_delete_req d;

	(void)state;
	assert_int_equal(s3_parse_delete(ok, strlen(ok), &d), 0);
	assert_int_equal(d.quiet, 1);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.key[0], "a&b");
	assert_string_equal(d.key[1], "<x>");
	assert_string_equal(d.key[2], "\xE2\x98\xBA"
				      "A");
	s3_delete_req_free(&d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(s3_parse_delete(bad[i], strlen(bad[i]), &d), -S3E_MALFORMED_XML);
}

static void test_xml_complete(void **state)
{
	const char *ok =
	    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag>"
	    "</Part><Part><ETag>bb</ETag><PartNumber>3</PartNumber></Part>"
	    "</CompleteMultipartUpload>";
	struct s3_complete_req c;
	char deep[2048] = "";

	(void)state;
	assert_int_equal(s3_parse_complete(ok, strlen(ok), &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.parts[0].num, 1);
	assert_string_equal(c.parts[0].etag, "aa");
	assert_int_equal(c.parts[1].num, 3);
	assert_string_equal(c.parts[1].etag, "bb");
	s3_complete_req_free(&c);
	const char *nonum = "<CompleteMultipartUpload><Part><ETag>x</ETag></Part>"
			    "</CompleteMultipartUpload>";
	assert_int_equal(s3_parse_complete(nonum, strlen(nonum), &c), -S3E_MALFORMED_XML);
	const char *big = "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>x"
			  "</ETag></Part></CompleteMultipartUpload>";
	assert_int_equal(s3_parse_complete(big, strlen(big), &c), -S3E_MALFORMED_XML);
	for (int i = 0; i < 100; i++) /* nesting deeper than the parser keeps */
		strcat(deep, "<a>");
	assert_int_equal(s3_parse_complete(deep, strlen(deep), &c), -S3E_MALFORMED_XML);
}

static void test_range(void **state)
{
	uint64_t s, l;

	(void)state;
	assert_int_equal(s3_parse_range(NULL, 100, &s, &l), 0);
	assert_int_equal(s3_parse_range("bytes=0-9", 100, &s, &l), 1);
	assert_true(s == 0 && l == 10);
	assert_int_equal(s3_parse_range("bytes=90-", 100, &s, &l), 1);
	assert_true(s == 90 && l == 10);
	assert_int_equal(s3_parse_range("bytes=-5", 100, &s, &l), 1);
	assert_true(s == 95 && l == 5);
	assert_int_equal(s3_parse_range("bytes=-500", 100, &s, &l), 1);
	assert_true(s == 0 && l == 100);
	assert_int_equal(s3_parse_range("bytes=50-5000", 100, &s, &l), 1);
	assert_true(s == 50 && l == 50);
	assert_int_equal(s3_parse_range("bytes=100-", 100, &s, &l), -S3E_INVALID_RANGE);
	assert_int_equal(s3_parse_range("bytes=0-0", 0, &s, &l), -S3E_INVALID_RANGE);
	assert_int_equal(s3_parse_range("bytes=-0", 100, &s, &l), -S3E_INVALID_RANGE);
	/* ignored as RFC 9110 says: the whole object */
	assert_int_equal(s3_parse_range("bytes=9-1", 100, &s, &l), 0);
	assert_int_equal(s3_parse_range("items=0-1", 100, &s, &l), 0);
	assert_int_equal(s3_parse_range("bytes=0-1,5-6", 100, &s, &l), 0);
	assert_int_equal(s3_parse_range("bytes=x-1", 100, &s, &l), 0);
	assert_int_equal(s3_parse_range("bytes=99999999999999999999-", 100, &s, &l), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(s3_bucket_name_ok("my-bucket.v2"));
	assert_true(s3_bucket_name_ok("abc"));
	assert_false(s3_bucket_name_ok("ab"));
	assert_false(s3_bucket_name_ok("Upper"));
	assert_false(s3_bucket_name_ok("a_b"));
	assert_false(s3_bucket_name_ok(".s3"));
	assert_false(s3_bucket_name_ok("a..b"));
	assert_false(s3_bucket_name_ok("-ab"));
	assert_false(s3_bucket_name_ok("192.168.1.1"));
	assert_int_equal(s3_key_check("a/b/c.txt"), 0);
	assert_int_equal(s3_key_check("dir/"), 0);
	assert_int_equal(s3_key_check("a//b"), -S3E_INVALID_ARGUMENT);
	assert_int_equal(s3_key_check("/a"), -S3E_INVALID_ARGUMENT);
	assert_int_equal(s3_key_check("a/./b"), -S3E_INVALID_ARGUMENT);
	assert_int_equal(s3_key_check(".."), -S3E_INVALID_ARGUMENT);
	assert_int_equal(s3_key_check("/"), -S3E_INVALID_ARGUMENT);
	assert_int_equal(s3_key_check(""), -S3E_INVALID_ARGUMENT);
	char long_comp[300];
	memset(long_comp, 'x', 299);
	long_comp[299] = '\0';
	assert_int_equal(s3_key_check(long_comp), -S3E_KEY_TOO_LONG);
}

static void test_dates(void **state)
{
	time_t t;
	char out[40];

	(void)state;
	assert_int_equal(s3_parse_amz_date("20130524T000000Z", &t), 0);
	assert_int_equal(t, 1369353600);
	assert_int_equal(s3_parse_amz_date("20131324T000000Z", &t), -1);
	assert_int_equal(s3_parse_amz_date("2013052T000000Z", &t), -1);
	assert_int_equal(s3_parse_http_date("Fri, 24 May 2013 00:00:00 GMT", &t), 0);
	assert_int_equal(t, 1369353600);
	assert_int_equal(s3_parse_http_date("Friday, 24-May-13 00:00:00 GMT", &t), 0);
	assert_int_equal(t, 1369353600);
	assert_int_equal(s3_parse_http_date("Fri May 24 00:00:00 2013", &t), 0);
	assert_int_equal(t, 1369353600);
	assert_int_equal(s3_parse_http_date("yesterday", &t), -1);
	s3_http_date(1369353600, out);
	assert_string_equal(out, "Fri, 24 May 2013 00:00:00 GMT");
	s3_iso_date(1369353600123456789ll, out);
	assert_string_equal(out, "2013-05-24T00:00:00.123Z");
}

static void test_query_and_encoding(void **state)
{
	const char *raw = "list-type=2&prefix=a%2Fb%20c&delimiter=%2F&uploads&x=a+b";
	struct s3_query q;
	struct s3_buf b = {0};
	char out[64];
	uint8_t bin[8];
	size_t n;

	(void)state;
	assert_int_equal(s3_query_parse(raw, strlen(raw), &q), 0);
	assert_string_equal(s3_qget(&q, "prefix"), "a/b c");
	assert_string_equal(s3_qget(&q, "uploads"), "");
	assert_string_equal(s3_qget(&q, "x"), "a+b");
	assert_null(s3_qget(&q, "marker"));
	s3_query_free(&q);
	assert_int_equal(s3_query_parse("a=%zz", 5, &q), -S3E_INVALID_ARGUMENT);
	assert_int_equal(s3_query_parse("a=%00", 5, &q), -S3E_INVALID_ARGUMENT);
	assert_int_equal(s3_query_parse("a=%2", 4, &q), -S3E_INVALID_ARGUMENT);
	s3_uri_encode(&b, "a b/ü~*", strlen("a b/ü~*"), 1);
	assert_string_equal(b.p, "a%20b/%C3%BC~%2A");
	s3_buf_free(&b);
	s3_uri_encode(&b, "a/b", 3, 0);
	assert_string_equal(b.p, "a%2Fb");
	s3_buf_free(&b);
	s3_base64((const uint8_t *)"hello", 5, out);
	assert_string_equal(out, "aGVsbG8=");
	assert_int_equal(s3_unbase64("aGVsbG8=", bin, sizeof(bin), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(bin, "hello", 5);
	assert_int_equal(s3_unbase64("aGVsbG8", bin, sizeof(bin), &n), -1);
	assert_int_equal(s3_unbase64("a=Vs", bin, sizeof(bin), &n), -1);
	assert_int_equal(s3_unbase64("aGVsbG8hISE=", bin, 4, &n), -1); /* too long */
}

static void test_meta(void **state)
{
	struct s3_meta m = {0}, back;
	struct s3_buf b = {0};

	(void)state;
	assert_int_equal(s3_meta_set(&m, "etag", "abc"), 0);
	assert_int_equal(s3_meta_set(&m, "x-amz-meta-k", "v"), 0);
	assert_int_equal(s3_meta_set(&m, "etag", "def"), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(s3_meta_encode(&m, &b), 0);
	assert_int_equal(s3_meta_decode(b.p, b.len, &back), 0);
	assert_string_equal(s3_meta_get(&back, "etag"), "def");
	assert_string_equal(s3_meta_get(&back, "x-amz-meta-k"), "v");
	assert_null(s3_meta_get(&back, "nope"));
	s3_meta_free(&back);
	assert_int_equal(s3_meta_decode(b.p, b.len - 1, &back), -S3E_INTERNAL); /* torn */
	s3_meta_free(&m);
	s3_buf_free(&b);
}

static void test_errors(void **state)
{
	(void)state;
	assert_int_equal(s3_err_status(-S3E_NO_SUCH_KEY), 404);
	assert_string_equal(s3_err_code(-S3E_NO_SUCH_KEY), "NoSuchKey");
	assert_int_equal(s3_err_status(-S3E_BUCKET_NOT_EMPTY), 409);
	assert_int_equal(s3_err_status(-S3E_INVALID_RANGE), 416);
	assert_string_equal(s3_err_code(-S3E_QUOTA), "QuotaExceeded");
	assert_string_equal(s3_err_code(12345), "InternalError");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xml_escape),
	    cmocka_unit_test(test_xml_delete),
	    cmocka_unit_test(test_xml_complete),
	    cmocka_unit_test(test_range),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_query_and_encoding),
	    cmocka_unit_test(test_meta),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

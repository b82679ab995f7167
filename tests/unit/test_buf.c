/* common/buf: byte layout, growth, sticky errors on both sides, bounds, strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/errors.h"

static void test_layout(void **st)
{
	static const uint8_t want[] = {0x01, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04, 0x0f,
				       0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x03,
				       0x00, 'a',  'b',	 'c',  0x00, 0x00, 0xff, 0xfe};
	struct gl_wbuf b;

	(void)st;
	gl_wbuf_init(&b);
	assert_int_equal(b.len, 0);
	gl_put_u8(&b, 1);
	gl_put_u16(&b, 0x0203);
	gl_put_u32(&b, 0x04050607);
	gl_put_u64(&b, 0x08090a0b0c0d0e0full);
	gl_put_str(&b, "abc"); /* u16 length, bytes, no NUL */
	gl_put_str(&b, NULL);  /* the empty string */
	gl_put_bytes(&b, "\xff\xfe", 2);
	gl_put_bytes(&b, NULL, 0);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.p, want, sizeof(want));
	gl_wbuf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	gl_wbuf_free(&b); /* twice is fine */
}

static void test_raw_helpers(void **st)
{
	uint8_t p[8];

	(void)st;
	gl_le16(p, 0xfedc);
	assert_int_equal(gl_rd16(p), 0xfedc);
	gl_le32(p, 0x80000001u);
	assert_int_equal(p[0], 0x01);
	assert_int_equal(p[3], 0x80);
	assert_int_equal(gl_rd32(p), 0x80000001u);
	gl_le64(p, 0xfedcba9876543210ull);
	assert_true(gl_rd64(p) == 0xfedcba9876543210ull);
	assert_int_equal(p[7], 0xfe);
}

static void test_growth(void **st)
{
	struct gl_wbuf b;
	struct gl_rbuf r;
	uint8_t *at;

	(void)st;
	gl_wbuf_init(&b);
	for (uint32_t i = 0; i < 100000; i++)
		gl_put_u32(&b, i * 2654435761u);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 400000);
	assert_true(b.cap >= b.len);
	at = gl_wbuf_reserve(&b, 1000);
	assert_ptr_equal(at, b.p + 400000);
	memset(at, 0xaa, 1000);
	gl_rbuf_init(&r, b.p, b.len);
	for (uint32_t i = 0; i < 100000; i++)
		assert_int_equal(gl_get_u32(&r), i * 2654435761u);
	assert_int_equal(gl_rbuf_left(&r), 1000);
	assert_int_equal(gl_get_bytes(&r, 1000)[999], 0xaa);
	assert_int_equal(gl_rbuf_check(&r), 0);
	gl_wbuf_free(&b);
}

static void test_wbuf_sticky(void **st)
{
	struct gl_wbuf b;
	char *big = malloc(70000);

	(void)st;
	/* a failed allocation (simulated): every later put is a no-op */
	gl_wbuf_init(&b);
	gl_put_u32(&b, 1);
	b.err = -GL_ENOMEM;
	gl_put_u8(&b, 2);
	gl_put_u64(&b, 3);
	gl_put_str(&b, "x");
	gl_put_bytes(&b, "abc", 3);
	assert_null(gl_wbuf_reserve(&b, 1));
	assert_int_equal(b.len, 4);
	assert_int_equal(b.err, -GL_ENOMEM);
	gl_wbuf_free(&b);
	assert_int_equal(b.err, 0);

	/* a string longer than a u16 length can say */
	memset(big, 'a', 70000);
	big[65535] = '\0';
	gl_wbuf_init(&b);
	gl_put_str(&b, big);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 2 + 65535);
	big[65535] = 'a';
	big[65536] = '\0';
	gl_put_str(&b, big);
	assert_int_equal(b.err, -GL_E2BIG);
	assert_int_equal(b.len, 2 + 65535);
	gl_put_u8(&b, 1);
	assert_int_equal(b.len, 2 + 65535);
	gl_wbuf_free(&b);
	free(big);
}

static void test_get_bounds(void **st)
{
	static const uint8_t p[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	struct gl_rbuf r;
	uint8_t out[4];

	(void)st;
	/* every field up to the exact end */
	gl_rbuf_init(&r, p, sizeof(p));
	assert_int_equal(gl_get_u8(&r), 1);
	assert_int_equal(gl_get_u16(&r), 0x0302);
	assert_int_equal(gl_get_u32(&r), 0x07060504);
	assert_true(gl_get_u64(&r) == 0x0f0e0d0c0b0a0908ull);
	assert_int_equal(gl_rbuf_left(&r), 0);
	assert_non_null(gl_get_bytes(&r, 0));
	assert_int_equal(gl_rbuf_check(&r), 0);
	/* one past the end: zero, and the error sticks */
	assert_int_equal(gl_get_u8(&r), 0);
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);

	/* a failed get is sticky even when a smaller one would fit */
	gl_rbuf_init(&r, p, 4);
	assert_int_equal(gl_get_u64(&r), 0);
	assert_int_equal(gl_get_u8(&r), 0);
	assert_int_equal(gl_get_u16(&r), 0);
	assert_null(gl_get_bytes(&r, 0));
	assert_int_equal(gl_rbuf_left(&r), 0);
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);

	/* lengths that would wrap an offset */
	gl_rbuf_init(&r, p, sizeof(p));
	gl_get_u8(&r);
	assert_null(gl_get_bytes(&r, SIZE_MAX));
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);
	gl_rbuf_init(&r, p, sizeof(p));
	assert_null(gl_get_bytes(&r, sizeof(p) + 1));

	/* a failed copy leaves zeros, not stale bytes */
	memset(out, 0xee, sizeof(out));
	gl_rbuf_init(&r, p, 3);
	gl_get_copy(&r, out, sizeof(out));
	assert_memory_equal(out, "\0\0\0\0", 4);
	gl_rbuf_init(&r, p, 4);
	gl_get_copy(&r, out, sizeof(out));
	assert_memory_equal(out, p, 4);
	assert_int_equal(gl_rbuf_check(&r), 0);

	/* no buffer at all */
	gl_rbuf_init(&r, NULL, 5);
	assert_int_equal(gl_rbuf_left(&r), 0);
	assert_int_equal(gl_get_u8(&r), 0);
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);
}

/* Reads one u16-length string from bytes into a buffer of cap. */
static int get_str(const void *bytes, size_t n, char *out, size_t cap)
{
	struct gl_rbuf r;

	gl_rbuf_init(&r, bytes, n);
	gl_get_str(&r, out, cap);
	return gl_rbuf_check(&r);
}

static void test_strings(void **st)
{
	char s[4];

	(void)st;
	assert_int_equal(get_str("\x03\x00"
				 "abc",
				 5, s, sizeof(s)),
			 0);
	assert_string_equal(s, "abc"); /* exactly fits with its NUL */
	assert_int_equal(get_str("\x00\x00", 2, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(get_str("\x00\x00", 2, s, 1), 0);
	assert_int_equal(get_str("\x04\x00"
				 "abcd",
				 6, s, sizeof(s)),
			 -GL_EPROTO); /* too long */
	assert_string_equal(s, "");
	assert_int_equal(get_str("\x03\x00"
				 "a\0c",
				 5, s, sizeof(s)),
			 -GL_EPROTO); /* a NUL inside */
	assert_int_equal(get_str("\x05\x00"
				 "abc",
				 5, s, sizeof(s)),
			 -GL_EPROTO); /* runs past */
	assert_string_equal(s, "");
	assert_int_equal(get_str("\x03", 1, s, sizeof(s)), -GL_EPROTO); /* half a length */
	assert_int_equal(get_str("\xff\xff"
				 "abc",
				 5, s, sizeof(s)),
			 -GL_EPROTO);
	assert_int_equal(get_str("\x00\x00", 2, s, 0), -GL_EPROTO); /* nowhere to put a NUL */

	/* a round trip through the writer */
	{
		struct gl_wbuf b;
		struct gl_rbuf r;
		char out[16];

		gl_wbuf_init(&b);
		gl_put_str(&b, "hello");
		gl_put_str(&b, "");
		gl_put_str(&b, "world");
		gl_rbuf_init(&r, b.p, b.len);
		gl_get_str(&r, out, sizeof(out));
		assert_string_equal(out, "hello");
		gl_get_str(&r, out, sizeof(out));
		assert_string_equal(out, "");
		gl_get_str(&r, out, sizeof(out));
		assert_string_equal(out, "world");
		assert_int_equal(gl_rbuf_check(&r), 0);
		assert_int_equal(gl_rbuf_left(&r), 0);
		gl_wbuf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),     cmocka_unit_test(test_raw_helpers),
	    cmocka_unit_test(test_growth),     cmocka_unit_test(test_wbuf_sticky),
	    cmocka_unit_test(test_get_bounds), cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

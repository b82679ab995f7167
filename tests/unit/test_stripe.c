/* Redundancy schemes and chunk identities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/errors.h"
#include "storage/chunkid.h"
#include "storage/stripe.h"

static void test_parse(void **state)
{
	struct gl_scheme s;
	char buf[32];

	(void)state;
	assert_int_equal(gl_scheme_parse("ec:4+2", &s), 0);
	assert_int_equal(s.type, GL_RED_EC);
	assert_int_equal(gl_scheme_width(&s), 6);
	assert_int_equal(gl_scheme_need(&s), 4);
	gl_scheme_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "ec:4+2");
	assert_int_equal(gl_scheme_parse("rep:3", &s), 0);
	assert_int_equal(gl_scheme_width(&s), 3);
	assert_int_equal(gl_scheme_need(&s), 1);
	assert_int_equal(gl_scheme_parse("rep3", &s), 0);
	assert_int_equal(gl_scheme_parse("ec16+4", &s), 0);
	static const char *bad[] = {
	    "",	      "ec",	 "ec:4",    "ec:4+",   "ec:0+2",
	    "ec:4+0", "ec:17+2", "ec:4+5",  "rep:0",   "rep:4",
	    "rep:1x", "raid6",	 "ec:4+2 ", "ec:-1+2", "ec:99999999999999999999+2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gl_scheme_parse(bad[i], &s), -GL_EINVAL);
	assert_int_equal(gl_scheme_parse(NULL, &s), -GL_EINVAL);
}

static void test_pool_roundtrip(void **state)
{
	struct gl_scheme s, t;

	(void)state;
	for (int k = 1; k <= GL_MAX_K; k++)
		for (int m = 1; m <= GL_MAX_M; m++) {
			s = (struct gl_scheme){GL_RED_EC, (uint8_t)k, (uint8_t)m};
			assert_int_equal(gl_scheme_from_pool(gl_scheme_pool(&s), &t), 0);
			assert_memory_equal(&s, &t, sizeof(s));
		}
	assert_int_equal(gl_scheme_from_pool(0, &t), -GL_EINVAL);
	assert_int_equal(gl_scheme_from_pool(0x01000300, &t), -GL_EINVAL);
	assert_int_equal(gl_scheme_from_pool(0x00010400, &t), -GL_EINVAL); /* rep:4 */
}

static void test_frag_len(void **state)
{
	struct gl_scheme ec = {GL_RED_EC, 4, 2}, rep = {GL_RED_REP, 3, 0};

	(void)state;
	assert_int_equal(gl_scheme_frag_len(&ec, 1), 64);
	assert_int_equal(gl_scheme_frag_len(&ec, 4u << 20), 1u << 20);
	assert_int_equal(gl_scheme_frag_len(&ec, (4u << 20) - 1), 1u << 20);
	assert_int_equal(gl_scheme_frag_len(&ec, 257), 128);
	assert_int_equal(gl_scheme_frag_len(&rep, 12345), 12345);
	for (size_t len = 1; len < 100000; len += 997)
		assert_true(gl_scheme_frag_len(&ec, len) * 4 >= len);
}

static void test_chunk_id(void **state)
{
	uint8_t k1[32] = {1}, k2[32] = {2}, a[32], b[32], c[32];
	struct gl_idctx *x, *y;
	char hex[65];
	uint8_t back[32];

	(void)state;
	assert_int_equal(gl_idctx_new(k1, 32, &x), 0);
	assert_int_equal(gl_idctx_new(k2, 32, &y), 0);
	assert_int_equal(gl_chunk_id(x, "hello", 5, a), 0);
	assert_int_equal(gl_chunk_id(x, "hello", 5, b), 0);
	assert_int_equal(gl_chunk_id(y, "hello", 5, c), 0);
	assert_memory_equal(a, b, 32);	   /* same domain: same id */
	assert_memory_not_equal(a, c, 32); /* other domain: other id */
	gl_id_hex(a, hex);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(gl_id_parse(hex, back), 0);
	assert_memory_equal(a, back, 32);
	assert_int_equal(gl_id_parse("xyz", back), -GL_EINVAL);
	hex[10] = 'g';
	assert_int_equal(gl_id_parse(hex, back), -GL_EINVAL);
	gl_idctx_free(x);
	gl_idctx_free(y);
}

/* Without dedup a chunk id is random: two writes of the same bytes never share an id. */
static void test_chunk_id_random(void **state)
{
	uint8_t a[32], b[32], zero[32] = {0};

	(void)state;
	assert_int_equal(gl_chunk_id_random(a), 0);
	assert_int_equal(gl_chunk_id_random(b), 0);
	assert_memory_not_equal(a, b, 32);
	assert_memory_not_equal(a, zero, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),	    cmocka_unit_test(test_pool_roundtrip),
	    cmocka_unit_test(test_frag_len),	    cmocka_unit_test(test_chunk_id),
	    cmocka_unit_test(test_chunk_id_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

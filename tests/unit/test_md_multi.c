/* MD_MULTI framing (metadata/md_multi.h): what is written parses back part by part; counts of
 * 0 or above GL_MD_MULTI_MAX, lengths past the end, leftover bytes and a wrong answer count are
 * refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "metadata/md_multi.h"
#include "metadata/rpc.h"

static void test_round_trip(void **state)
{
	struct gl_md_part in[3] = {{0, (const uint8_t *)"abc", 3},
				   {-GL_ENOENT, (const uint8_t *)"", 0},
				   {7, (const uint8_t *)"hello", 5}},
			  out[GL_MD_MULTI_MAX];
	struct gl_wbuf w;
	uint32_t n = 0;

	(void)state;
	gl_wbuf_init(&w);
	gl_md_multi_put(&w, in, 3, 0);
	assert_int_equal(gl_md_multi_parse(w.p, w.len, out, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[2].len, 5);
	assert_memory_equal(out[2].p, "hello", 5);
	assert_int_equal(out[1].len, 0);
	/* leftover byte; truncated */
	gl_put_u8(&w, 0);
	assert_int_equal(gl_md_multi_parse(w.p, w.len, out, &n), -GL_EPROTO);
	assert_int_equal(gl_md_multi_parse(w.p, w.len - 3, out, &n), -GL_EPROTO);
	gl_wbuf_free(&w);

	gl_wbuf_init(&w);
	gl_md_multi_put(&w, in, 3, 1);
	assert_int_equal(gl_md_multi_parse_reply(w.p, w.len, 3, out), 0);
	assert_int_equal(out[1].status, -GL_ENOENT);
	assert_int_equal(out[2].status, 7);
	assert_memory_equal(out[0].p, "abc", 3);
	assert_int_equal(gl_md_multi_parse_reply(w.p, w.len, 2, out), -GL_EPROTO);
	gl_wbuf_free(&w);
}

static void test_bad_counts(void **state)
{
	struct gl_md_part out[GL_MD_MULTI_MAX];
	struct gl_wbuf w;
	uint32_t n;

	(void)state;
	gl_wbuf_init(&w);
	gl_put_u32(&w, 0);
	assert_int_equal(gl_md_multi_parse(w.p, w.len, out, &n), -GL_EPROTO);
	w.len = 0;
	gl_put_u32(&w, GL_MD_MULTI_MAX + 1);
	for (int i = 0; i <= GL_MD_MULTI_MAX; i++)
		gl_put_u32(&w, 0);
	assert_int_equal(gl_md_multi_parse(w.p, w.len, out, &n), -GL_EPROTO);
	w.len = 0;
	gl_put_u32(&w, 1);
	gl_put_u32(&w, 0xffffffffu); /* a length past the end */
	gl_put_u32(&w, 0);
	assert_int_equal(gl_md_multi_parse(w.p, w.len, out, &n), -GL_EPROTO);
	assert_int_equal(gl_md_multi_parse(NULL, 0, out, &n), -GL_EPROTO);
	gl_wbuf_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_bad_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

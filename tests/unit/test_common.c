/* common/: buffers (sticky errors, bounds), options (sizes, env, config, errors), error space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/errors.h"
#include "common/opts.h"

static void test_buf(void **s)
{
	struct gl_wbuf b;
	struct gl_rbuf r;
	char str[8];

	(void)s;
	gl_wbuf_init(&b);
	gl_put_u8(&b, 1);
	gl_put_u16(&b, 0x0203);
	gl_put_u32(&b, 0x04050607);
	gl_put_u64(&b, 0x08090a0b0c0d0e0full);
	gl_put_str(&b, "abc");
	assert_int_equal(b.err, 0);
	assert_int_equal(b.p[1], 0x03); /* little-endian */
	gl_rbuf_init(&r, b.p, b.len);
	assert_int_equal(gl_get_u8(&r), 1);
	assert_int_equal(gl_get_u16(&r), 0x0203);
	assert_int_equal(gl_get_u32(&r), 0x04050607);
	assert_true(gl_get_u64(&r) == 0x08090a0b0c0d0e0full);
	gl_get_str(&r, str, sizeof(str));
	assert_string_equal(str, "abc");
	assert_int_equal(gl_rbuf_check(&r), 0);
	assert_int_equal(gl_rbuf_left(&r), 0);
	gl_get_u8(&r); /* past the end: sticky error */
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);
	assert_int_equal(gl_get_u32(&r), 0);
	/* a string longer than the destination */
	gl_rbuf_init(&r, b.p + 15, b.len - 15);
	gl_get_str(&r, str, 3);
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);
	/* a length that runs past the buffer */
	gl_rbuf_init(&r,
		     "\xff\xff"
		     "ab",
		     4);
	gl_get_str(&r, str, sizeof(str));
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);
	gl_rbuf_init(&r,
		     "\x02\x00"
		     "a\0",
		     4); /* embedded NUL */
	gl_get_str(&r, str, sizeof(str));
	assert_int_equal(gl_rbuf_check(&r), -GL_EPROTO);
	gl_wbuf_free(&b);
	/* a huge reservation is refused, not looped on */
	gl_wbuf_init(&b);
	gl_put_u8(&b, 1);
	assert_null(gl_wbuf_reserve(&b, SIZE_MAX - 2));
	assert_int_equal(b.err, -GL_E2BIG);
	gl_wbuf_free(&b);
}

static void test_sizes(void **s)
{
	uint64_t v;

	(void)s;
	assert_int_equal(gl_parse_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(gl_parse_size("64K", &v), 0);
	assert_true(v == 65536);
	assert_int_equal(gl_parse_size("10G", &v), 0);
	assert_true(v == 10ull << 30);
	assert_int_equal(gl_parse_size("1.5MiB", &v), 0);
	assert_true(v == 3ull << 19);
	assert_int_equal(gl_parse_size("2TB", &v), 0);
	assert_true(v == 2ull << 40);
	assert_int_equal(gl_parse_size("10X", &v), -GL_EINVAL);
	assert_int_equal(gl_parse_size("", &v), -GL_EINVAL);
	assert_int_equal(gl_parse_size("-1", &v), -GL_EINVAL);
	assert_int_equal(gl_parse_size("K", &v), -GL_EINVAL);
}

static void test_opts(void **s)
{
	const char *dir = NULL, *master = NULL;
	long n = 6;
	double d = 1;
	uint64_t sz = 0;
	int flag = 0, npos = 0;
	char *pos[4];
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &dir, NULL, "DIR", "dir"},
	    {"master", GL_OPT_STR, &master, "GLORY_TEST_MASTER", "H:P", "master"},
	    {"n", GL_OPT_INT, &n, NULL, "N", "n"},
	    {"d", GL_OPT_DOUBLE, &d, NULL, "S", "d"},
	    {"size", GL_OPT_SIZE, &sz, NULL, "B", "size"},
	    {"f", GL_OPT_FLAG, &flag, NULL, NULL, "flag"},
	};
	const struct gl_cmd_help h = {"t", "t"};
	char *argv1[] = {"t",  "--dir", "/x", "--n=9", "--d", "2.5", "--size",
			 "1M", "--f",	"a",  "--",    "--b", NULL};
	char *argv2[] = {"t", "--nope", NULL};
	char *argv3[] = {"t", "--n", "nine", NULL};
	char *argv4[] = {"t", "--dir", NULL};
	char *argv5[] = {"t", "--config", "/tmp/glory-test-opts.conf", "--n", "3", NULL};
	FILE *f;

	(void)s;
	setenv("GLORY_TEST_MASTER", "1.2.3.4:5", 1);
	assert_int_equal(gl_opts_parse(12, argv1, &h, opts, 6, pos, 4, &npos), 0);
	assert_string_equal(dir, "/x");
	assert_int_equal(n, 9);
	assert_true(d == 2.5);
	assert_true(sz == 1u << 20);
	assert_int_equal(flag, 1);
	assert_string_equal(master, "1.2.3.4:5"); /* from the environment */
	assert_int_equal(npos, 2);
	assert_string_equal(pos[0], "a");
	assert_string_equal(pos[1], "--b");
	assert_int_equal(gl_opts_parse(2, argv2, &h, opts, 6, pos, 4, &npos), -GL_EINVAL);
	assert_int_equal(gl_opts_parse(3, argv3, &h, opts, 6, pos, 4, &npos), -GL_EINVAL);
	assert_int_equal(gl_opts_parse(2, argv4, &h, opts, 6, pos, 4, &npos), -GL_EINVAL);
	f = fopen("/tmp/glory-test-opts.conf", "w");
	fprintf(f, "# comment\n dir = /from/config \nn = 42\n");
	fclose(f);
	dir = NULL;
	assert_int_equal(gl_opts_parse(5, argv5, &h, opts, 6, pos, 4, &npos), 0);
	assert_string_equal(dir, "/from/config");
	assert_int_equal(n, 3); /* the command line wins */
	f = fopen("/tmp/glory-test-opts.conf", "w");
	fprintf(f, "bogus = 1\n");
	fclose(f);
	assert_int_equal(gl_opts_parse(5, argv5, &h, opts, 6, pos, 4, &npos), -GL_EINVAL);
	remove("/tmp/glory-test-opts.conf");
}

static void test_errors(void **s)
{
	(void)s;
	assert_string_equal(gl_strerror(-GL_ENOENT), "not found");
	assert_int_equal(gl_to_errno(-GL_ENOENT), -ENOENT);
	assert_int_equal(gl_to_errno(-GL_ECORRUPT), -EIO);
	assert_int_equal(gl_to_errno(0), 0);
	assert_int_equal(gl_from_errno(ENOSPC), -GL_ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_opts),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

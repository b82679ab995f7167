/* common/opts: sizes, the command line, the environment, config files, what the user reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/compiler.h"
#include "common/errors.h"
#include "common/opts.h"

/* What a command prints on one of its streams, captured through a temporary file. */
struct capture {
	FILE *stream;
	int fd, saved;
	FILE *tmp;
	char text[4096];
};

static void capture_begin(struct capture *c, FILE *stream)
{
	c->stream = stream;
	c->fd = fileno(stream);
	fflush(stream);
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(c->fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->tmp), c->fd) >= 0);
}

static const char *capture_end(struct capture *c)
{
	size_t n;

	fflush(c->stream);
	assert_true(dup2(c->saved, c->fd) >= 0);
	close(c->saved);
	rewind(c->tmp);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->tmp);
	c->text[n] = '\0';
	fclose(c->tmp);
	return c->text;
}

/* The options of an imaginary command, reset before every test. */
static const char *o_dir, *o_master;
static long o_n;
static double o_secs;
static uint64_t o_quota;
static int o_verbose;
static char *o_pos[3];
static int o_npos;

static const struct gl_opt test_opts[] = {
    {"dir", GL_OPT_STR, &o_dir, NULL, "DIR", "state directory"},
    {"master", GL_OPT_STR, &o_master, "GLORY_TEST_MASTER", "H:P", "cluster master"},
    {"n", GL_OPT_INT, &o_n, "GLORY_TEST_N", "N", "how many"},
    {"secs", GL_OPT_DOUBLE, &o_secs, NULL, "SECS", "how long"},
    {"quota-bytes", GL_OPT_SIZE, &o_quota, NULL, "BYTES", "how much"},
    {"verbose", GL_OPT_FLAG, &o_verbose, "GLORY_TEST_VERBOSE", NULL, "say more"},
};
static const struct gl_cmd_help test_help = {"glory t [options] [ARG...]", "Tests options."};

static int reset(void **s)
{
	(void)s;
	o_dir = o_master = NULL;
	o_n = 6;
	o_secs = 1;
	o_quota = 0;
	o_verbose = 0;
	o_npos = -1;
	memset(o_pos, 0, sizeof(o_pos));
	unsetenv("GLORY_TEST_MASTER");
	unsetenv("GLORY_TEST_N");
	unsetenv("GLORY_TEST_VERBOSE");
	return 0;
}

/* Parses a NULL-terminated argument list (argv[0] = "t" is added). */
static int parse(const char *first, ...)
{
	char *argv[32] = {"t"};
	int argc = 1;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 31);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	return gl_opts_parse(argc, argv, &test_help, test_opts, GL_ARRAY_SIZE(test_opts), o_pos,
			     (int)GL_ARRAY_SIZE(o_pos), &o_npos);
}

/* Like parse(), but returns what it printed on stderr; *rc gets the result. */
#define PARSE_ERR(c, rc, ...)                                                                      \
	(capture_begin((c), stderr), *(rc) = parse(__VA_ARGS__), capture_end(c))

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;

	if (gl_parse_size(s, &v) != 0 || v != want)
		fail_msg("gl_parse_size(\"%s\") = %llu, want %llu", s, (unsigned long long)v,
			 (unsigned long long)want);
}

static void size_bad(const char *s)
{
	uint64_t v = 12345;

	if (gl_parse_size(s, &v) != -GL_EINVAL || v != 12345)
		fail_msg("gl_parse_size(\"%s\") accepted (%llu)", s, (unsigned long long)v);
}

static void test_sizes(void **s)
{
	(void)s;
	size_ok("0", 0);
	size_ok("4096", 4096);
	size_ok("4096B", 4096);
	size_ok("64K", 65536);
	size_ok("64k", 65536);
	size_ok("64KB", 65536);
	size_ok("64KiB", 65536);
	size_ok("10M", 10ull << 20);
	size_ok("10G", 10ull << 30);
	size_ok("2TB", 2ull << 40);
	size_ok("3P", 3ull << 50);
	size_ok("1.5MiB", 3ull << 19);
	size_ok("0.5K", 512);
	/* plain bytes are exact, even above 2^53 */
	size_ok("9007199254740993", 9007199254740993ull);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("16383P", 16383ull << 50);
	size_bad("18446744073709551616");
	size_bad("16384P");
	size_bad(NULL);
	size_bad("");
	size_bad("10X");
	size_bad("K");
	size_bad("-1");
	size_bad("+1");
	size_bad(" 1");
	size_bad("1 ");
	size_bad("1.5"); /* a fraction of a byte */
	size_bad("1.K");
	size_bad(".5K");
	size_bad("1e3");
	size_bad("0x10");
	size_bad("nan");
	size_bad("inf");
	size_bad("10GG");
	size_bad("10iB");
	size_bad("10KBB");
}

static void test_forms(void **s)
{
	(void)s;
	assert_int_equal(parse("--dir", "/x", "--n=9", "--secs", "2.5", "--quota-bytes=1M",
			       "--verbose", "a", "--", "--b", "-c", NULL),
			 0);
	assert_string_equal(o_dir, "/x");
	assert_int_equal(o_n, 9);
	assert_true(o_secs == 2.5);
	assert_true(o_quota == 1u << 20);
	assert_int_equal(o_verbose, 1);
	assert_int_equal(o_npos, 3);
	assert_string_equal(o_pos[0], "a");
	assert_string_equal(o_pos[1], "--b"); /* after "--" everything is positional */
	assert_string_equal(o_pos[2], "-c");
	/* the last one wins; "=" keeps an empty value and values that look like options */
	assert_int_equal(parse("--dir", "/a", "--dir=/b", "-", "--n", "-3", NULL), 0);
	assert_string_equal(o_dir, "/b");
	assert_int_equal(o_n, -3);
	assert_int_equal(o_npos, 1);
	assert_string_equal(o_pos[0], "-");
	assert_int_equal(parse("--dir=", "--master=--odd", NULL), 0);
	assert_string_equal(o_dir, "");
	assert_string_equal(o_master, "--odd");
	assert_int_equal(o_npos, 0);
	o_n = 6;
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(o_n, 6); /* what is not given keeps its default */
}

static void test_errors(void **s)
{
	struct capture c;
	int rc;

	(void)s;
	assert_string_equal(PARSE_ERR(&c, &rc, "--nope", NULL),
			    "glory: unknown option --nope (see --help)\n");
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "--nope=3", NULL),
			    "glory: unknown option --nope (see --help)\n");
	assert_string_equal(PARSE_ERR(&c, &rc, "-x", NULL),
			    "glory: unknown option -x (see --help)\n");
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "--dir", NULL),
			    "glory: --dir needs a value (DIR)\n");
	assert_int_equal(rc, -GL_EINVAL);
	/* a forgotten value does not swallow the next option */
	assert_string_equal(PARSE_ERR(&c, &rc, "--dir", "--n", "3", NULL),
			    "glory: --dir needs a value (DIR)\n");
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "--n", "nine", NULL),
			    "glory: --n: 'nine' is not a whole number\n");
	assert_int_equal(rc, -GL_EINVAL);
	PARSE_ERR(&c, &rc, "--n", "99999999999999999999999", NULL);
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "--quota-bytes", "10X", NULL),
			    "glory: --quota-bytes: '10X' is not a size like 10G\n");
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "--secs=soon", NULL),
			    "glory: --secs: 'soon' is not a number\n");
	assert_int_equal(rc, -GL_EINVAL);
	PARSE_ERR(&c, &rc, "--secs=nan", NULL);
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "--verbose=1", NULL),
			    "glory: --verbose takes no value\n");
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "a", "b", "c", "d", NULL),
			    "glory: unexpected argument 'd' (see --help)\n");
	assert_int_equal(rc, -GL_EINVAL);
	assert_string_equal(PARSE_ERR(&c, &rc, "--config", NULL),
			    "glory: --config needs a value (FILE)\n");
	assert_int_equal(rc, -GL_EINVAL);
}

static void test_no_positionals(void **s)
{
	char *argv[] = {"t", "extra", NULL};
	struct capture c;
	int rc;

	(void)s;
	capture_begin(&c, stderr);
	rc = gl_opts_parse(2, argv, &test_help, test_opts, GL_ARRAY_SIZE(test_opts), NULL, 0, NULL);
	assert_string_equal(capture_end(&c), "glory: unexpected argument 'extra' (see --help)\n");
	assert_int_equal(rc, -GL_EINVAL);
}

static void test_usage(void **s)
{
	struct capture c;
	const char *out;
	int rc;

	(void)s;
	capture_begin(&c, stdout);
	rc = parse("--n", "3", "--help", "--nope", NULL); /* help wins over what follows */
	out = capture_end(&c);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "usage: glory t [options] [ARG...]\n\nTests options.\n"));
	assert_non_null(strstr(out, "\n  --dir DIR                  state directory\n"));
	assert_non_null(strstr(out, "\n  --master H:P               cluster master "
				    "[env: GLORY_TEST_MASTER]\n"));
	assert_non_null(strstr(out, "\n  --verbose                  say more"));
	assert_non_null(strstr(out, "\n  --config FILE "));
	assert_non_null(strstr(out, "\n  -h, --help "));
	capture_begin(&c, stdout);
	rc = parse("-h", NULL);
	capture_end(&c);
	assert_int_equal(rc, 1);
	/* after "--", -h is an argument */
	assert_int_equal(parse("--", "-h", NULL), 0);
	assert_string_equal(o_pos[0], "-h");
}

static void test_env(void **s)
{
	struct capture c;
	int rc;

	(void)s;
	setenv("GLORY_TEST_MASTER", "1.2.3.4:5", 1);
	setenv("GLORY_TEST_N", "12", 1);
	setenv("GLORY_TEST_VERBOSE", "yes", 1);
	assert_int_equal(parse("--n", "3", NULL), 0);
	assert_string_equal(o_master, "1.2.3.4:5");
	assert_int_equal(o_n, 3); /* the command line wins */
	assert_int_equal(o_verbose, 1);
	setenv("GLORY_TEST_VERBOSE", "off", 1);
	o_verbose = 1;
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(o_n, 12);
	assert_int_equal(o_verbose, 0);
	setenv("GLORY_TEST_VERBOSE", "", 1); /* empty: unset */
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(o_verbose, 0);
	setenv("GLORY_TEST_N", "lots", 1);
	assert_string_equal(PARSE_ERR(&c, &rc, NULL),
			    "glory: $GLORY_TEST_N (for --n): 'lots' is not a whole number\n");
	assert_int_equal(rc, -GL_EINVAL);
	assert_int_equal(parse("--n", "4", NULL), 0); /* not looked at when given */
}

static char conf_path[64];

static void write_conf(const char *text)
{
	FILE *f;

	snprintf(conf_path, sizeof(conf_path), "/tmp/glory-test-opts.%d.conf", (int)getpid());
	f = fopen(conf_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_config(void **s)
{
	char want[256];
	struct capture c;
	int rc;

	(void)s;
	write_conf("# a comment\n\n  dir = /from/config  \nn = 42\nmaster = \"h:1\"\n"
		   "quota-bytes = 2G\nverbose = true\nsecs=0.25\n");
	setenv("GLORY_TEST_N", "7", 1);
	assert_int_equal(parse("--config", conf_path, "--secs", "9", NULL), 0);
	assert_string_equal(o_dir, "/from/config");
	assert_string_equal(o_master, "h:1"); /* quotes removed */
	assert_int_equal(o_n, 7);	      /* the environment beats the file */
	assert_true(o_quota == 2ull << 30);
	assert_int_equal(o_verbose, 1);
	assert_true(o_secs == 9); /* the command line beats the file */
	unsetenv("GLORY_TEST_N");

	write_conf("n = 1\nbogus = 1\n");
	snprintf(want, sizeof(want), "glory: %s:2: unknown option 'bogus' (see --help)\n",
		 conf_path);
	assert_string_equal(PARSE_ERR(&c, &rc, "--config", conf_path, NULL), want);
	assert_int_equal(rc, -GL_EINVAL);

	write_conf("dir /x\n");
	snprintf(want, sizeof(want), "glory: %s:1: expected 'name = value'\n", conf_path);
	assert_string_equal(PARSE_ERR(&c, &rc, "--config", conf_path, NULL), want);
	assert_int_equal(rc, -GL_EINVAL);

	write_conf("# sizes\nquota-bytes = 10X\n");
	snprintf(want, sizeof(want), "glory: %s:2: quota-bytes: '10X' is not a size like 10G\n",
		 conf_path);
	assert_string_equal(PARSE_ERR(&c, &rc, "--config", conf_path, NULL), want);
	assert_int_equal(rc, -GL_EINVAL);

	write_conf("verbose = maybe\n");
	PARSE_ERR(&c, &rc, "--config", conf_path, NULL);
	assert_int_equal(rc, -GL_EINVAL);
	assert_non_null(strstr(c.text, ":1: verbose: 'maybe' is not yes or no"));

	remove(conf_path);
	assert_non_null(strstr(PARSE_ERR(&c, &rc, "--config", conf_path, NULL),
			       "glory: cannot read config file /tmp/glory-test-opts."));
	assert_int_equal(rc, -GL_EINVAL);
}

/* A line longer than any fixed buffer is one line, not several. */
static void test_config_long_line(void **s)
{
	static char text[20000], path[16000];

	(void)s;
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	snprintf(text, sizeof(text), "dir = %s\n", path);
	write_conf(text);
	assert_int_equal(parse("--config", conf_path, NULL), 0);
	assert_string_equal(o_dir, path);
	remove(conf_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_sizes, reset),
	    cmocka_unit_test_setup(test_forms, reset),
	    cmocka_unit_test_setup(test_errors, reset),
	    cmocka_unit_test_setup(test_no_positionals, reset),
	    cmocka_unit_test_setup(test_usage, reset),
	    cmocka_unit_test_setup(test_env, reset),
	    cmocka_unit_test_setup(test_config, reset),
	    cmocka_unit_test_setup(test_config_long_line, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Erasure coding: every loss pattern up to m reconstructs bit-exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/errors.h"
#include "storage/ec.h"
#include "storage/stripe.h"

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rand();
}

static void check_scheme(int k, int m, size_t len)
{
	struct gl_ec *ec;
	int n = k + m;
	uint8_t *orig[GL_MAX_WIDTH], *work[GL_MAX_WIDTH];

	assert_int_equal(gl_ec_new(k, m, &ec), 0);
	for (int i = 0; i < n; i++) {
		orig[i] = malloc(len);
		work[i] = malloc(len);
		if (i < k)
			fill(orig[i], len, (unsigned)(i * 7919 + k));
	}
	gl_ec_encode(ec, len, orig, orig + k);
	/* every subset of lost fragments of size 1..m */
	for (uint32_t lost = 1; lost < (1u << n); lost++) {
		uint8_t present[GL_MAX_WIDTH];
		int nlost = __builtin_popcount(lost);

		if (nlost > m)
			continue;
		for (int i = 0; i < n; i++) {
			present[i] = !(lost >> i & 1);
			if (present[i])
				memcpy(work[i], orig[i], len);
			else
				memset(work[i], 0xAA, len);
		}
		assert_int_equal(gl_ec_reconstruct(ec, len, present, work), 0);
		for (int i = 0; i < n; i++)
			assert_memory_equal(work[i], orig[i], len);
	}
	/* m+1 losses: refused */
	{
		uint8_t present[GL_MAX_WIDTH];

		for (int i = 0; i < n; i++)
			present[i] = i > m;
		assert_int_equal(gl_ec_reconstruct(ec, len, present, work), -GL_EUNAVAIL);
	}
	for (int i = 0; i < n; i++) {
		free(orig[i]);
		free(work[i]);
	}
	gl_ec_free(ec);
}

static void test_4_2(void **s)
{
	(void)s;
	check_scheme(4, 2, 4096);
	check_scheme(4, 2, 64);
	check_scheme(4, 2, (1u << 20) + 64);
}

static void test_other(void **s)
{
	(void)s;
	check_scheme(2, 1, 4096);
	check_scheme(1, 1, 128);
	check_scheme(8, 3, 1024);
	check_scheme(6, 4, 192);
}

static void test_bad(void **s)
{
	struct gl_ec *ec;

	(void)s;
	assert_int_equal(gl_ec_new(0, 2, &ec), -GL_EINVAL);
	assert_int_equal(gl_ec_new(4, 0, &ec), -GL_EINVAL);
	assert_int_equal(gl_ec_new(17, 2, &ec), -GL_EINVAL);
	assert_int_equal(gl_ec_new(4, 5, &ec), -GL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_4_2),
	    cmocka_unit_test(test_other),
	    cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

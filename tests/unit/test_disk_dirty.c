/* The dirty set of a disk (gateways/libglory/disk_dirty.c) against a byte model: random writes,
 * writes under, cuts and merges over three slices; the overlay must show the model's bytes, the
 * runs must stay sorted, apart and inside their slice, and the byte count exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateways/libglory/disk_internal.h"

#define SL  GL_NS_SLICE
#define LEN (3 * SL)

static uint8_t model[LEN], img[LEN];
static uint8_t set[LEN]; /* 1 where the model holds a dirty byte */

static void check_set(struct dset *ds)
{
	uint64_t bytes = 0, want = 0;

	memset(img, 0, LEN);
	disk_dirty_overlay(ds, img, 0, LEN);
	for (uint64_t i = 0; i < LEN; i++) {
		want += set[i];
		if (set[i])
			assert_int_equal(img[i], model[i]);
		else
			assert_int_equal(img[i], 0);
	}
	for (uint64_t s = 0; s < 3; s++) {
		struct dslice *sl = disk_dirty_slice(ds, s, 0);

		for (uint32_t k = 0; sl && k < sl->n; k++) {
			const struct run *r = &sl->r[k];

			assert_true(r->len > 0);
			assert_true(r->off >= s * SL && r->off + r->len <= (s + 1) * SL);
			if (k)
				assert_true(sl->r[k - 1].off + sl->r[k - 1].len < r->off);
			bytes += r->len;
		}
	}
	assert_true(bytes == want);
	assert_true(ds->bytes == want);
}

static void put(struct dset *ds, uint64_t off, uint32_t len, int under, uint8_t seed)
{
	uint8_t *buf = malloc(len);

	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 13);
	assert_int_equal(
	    disk_dirty_put(ds, disk_dirty_slice(ds, off / SL, 1), off, buf, len, under), 0);
	for (uint32_t i = 0; i < len; i++) {
		if (!under || !set[off + i])
			model[off + i] = buf[i];
		set[off + i] = 1;
	}
	free(buf);
}

static void test_model(void **state)
{
	struct dset *ds = disk_dirty_new(), *other;

	(void)state;
	memset(set, 0, sizeof(set));
	srand(11);
	for (int it = 0; it < 3000; it++) {
		uint64_t s = (uint64_t)(rand() % 3), off = s * SL + (uint64_t)(rand() % 20000);
		uint32_t len = 1 + (uint32_t)(rand() % 3000);
		int op = rand() % 10;

		if (rand() % 50 == 0) { /* a whole slice */
			off = s * SL;
			len = SL;
		}
		if (off + len > (s + 1) * SL)
			len = (uint32_t)((s + 1) * SL - off);
		if (op < 6) {
			put(ds, off, len, 0, (uint8_t)it);
		} else if (op < 8) {
			put(ds, off, len, 1, (uint8_t)it);
		} else {
			struct dslice *sl = disk_dirty_slice(ds, s, 0);

			if (sl)
				assert_int_equal(disk_dirty_cut(ds, sl, off, off + len), 0);
			memset(set + off, 0, len);
		}
		if (it % 100 == 0)
			check_set(ds);
	}
	check_set(ds);
	/* merging under: the newer set wins where both hold bytes */
	other = ds;
	ds = disk_dirty_new();
	put(ds, 100, 5000, 0, 77);
	put(ds, 2 * SL + 7, 100, 0, 99);
	assert_int_equal(disk_dirty_merge_under(ds, other), 0);
	check_set(ds);
	disk_dirty_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The dirty set of a disk (gateways/libglory/disk_dirty.c) against a byte model: random writes,
 * writes under, cuts and merges over three slices; the overlay must show the model's bytes, the
 * runs must stay sorted, apart and inside their slice, and the byte count exact. And a slice's
 * cached layout after a flush wrote extents over it (disk_lc_overlay), against a byte model. */
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

/* ---- a slice's cached layout after a flush (disk_lc_overlay) against a byte model ---- */
#define LSZ 4096

static uint16_t lchunk[LSZ]; /* per byte: chunk tag (0: hole), and offset in that chunk */
static uint32_t lcoff[LSZ];

/* Random disjoint extents inside [0, LSZ), in random order; tags from tag0 up. */
static uint32_t rand_extents(struct gl_ns_extent *x, uint32_t max, uint16_t tag0)
{
	uint32_t n = 0;

	for (uint64_t at = (uint64_t)(rand() % 64); at < LSZ && n < max;) {
		uint32_t len = 1 + (uint32_t)(rand() % 300);

		if (at + len > LSZ)
			len = (uint32_t)(LSZ - at);
		memset(&x[n], 0, sizeof(x[n]));
		x[n].off = at;
		x[n].len = len;
		x[n].chunk[0] = (uint8_t)(tag0 + n);
		x[n].chunk[1] = (uint8_t)((tag0 + n) >> 8);
		x[n].chunk_off = (uint32_t)(rand() % 100000);
		n++;
		at += len + (uint64_t)(rand() % 3 ? rand() % 200 : 0); /* adjacent sometimes */
	}
	for (uint32_t i = n; i > 1; i--) { /* shuffle */
		uint32_t j = (uint32_t)rand() % i;
		struct gl_ns_extent t = x[i - 1];

		x[i - 1] = x[j];
		x[j] = t;
	}
	return n;
}

static void model_apply(const struct gl_ns_extent *x, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint64_t b = x[i].off; b < x[i].off + x[i].len; b++) {
			lchunk[b] = (uint16_t)(x[i].chunk[0] | x[i].chunk[1] << 8);
			lcoff[b] = x[i].chunk_off + (uint32_t)(b - x[i].off);
		}
}

static void test_layout_overlay(void **s)
{
	struct gl_ns_extent a[64], b[64];

	(void)s;
	srand(7);
	for (int it = 0; it < 2000; it++) {
		struct lslice l = {0};
		uint32_t na = rand_extents(a, it % 7 ? 64 : 1, 1), nb;
		uint64_t covered = 0, end = 0;

		memset(lchunk, 0, sizeof(lchunk));
		model_apply(a, na);
		/* the cached layout is sorted */
		for (uint32_t i = 1; i < na; i++)
			for (uint32_t j = i; j > 0 && a[j - 1].off > a[j].off; j--) {
				struct gl_ns_extent t = a[j];

				a[j] = a[j - 1];
				a[j - 1] = t;
			}
		l.e = malloc(na * sizeof(*l.e));
		memcpy(l.e, a, na * sizeof(*l.e));
		l.n = na;
		nb = rand_extents(b, it % 5 ? 8 : 64, 1000);
		model_apply(b, nb);
		disk_lc_overlay(&l, b, nb);
		assert_int_not_equal(l.n, UINT32_MAX);
		/* sorted, disjoint, and every byte maps where the model says */
		for (uint32_t i = 0; i < l.n; i++) {
			const struct gl_ns_extent *e = &l.e[i];

			assert_true(e->len > 0);
			assert_true(e->off >= end);
			end = e->off + e->len;
			for (uint64_t x = e->off; x < end; x++) {
				assert_int_equal(lchunk[x],
						 (uint16_t)(e->chunk[0] | e->chunk[1] << 8));
				assert_int_equal(lcoff[x], e->chunk_off + (uint32_t)(x - e->off));
			}
			covered += e->len;
		}
		for (uint64_t x = 0; x < LSZ; x++)
			covered -= lchunk[x] != 0;
		assert_int_equal(covered, 0); /* no byte the model holds is missing */
		free(l.e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_layout_overlay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Fragment store: both kinds (RocksDB inline, files), durability across reopen, corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/crc.h"
#include "common/errors.h"
#include "storage/fstore.h"

#include "tests/unit/fragpath.h"
#include "tests/unit/tmpdir.h"

static struct gl_fkey key(int n, int idx)
{
	struct gl_fkey k = {.pool = 0x00020402, .idx = (uint8_t)idx};

	memset(k.chunk, n, sizeof(k.chunk));
	k.chunk[31] = (uint8_t)(n * 3);
	return k;
}

static uint8_t *data(size_t len, int seed)
{
	uint8_t *p = malloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + (size_t)seed);
	return p;
}

static const size_t sizes[] = {0, 1, 4096, (127u << 10), (128u << 10), 1u << 20, 4u << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void put_all(struct gl_fstore *fs)
{
	for (size_t i = 0; i < NSIZES; i++) {
		struct gl_fkey k = key((int)i + 1, 2);
		uint8_t *d = data(sizes[i], (int)i);
		struct gl_fmeta m = {(uint32_t)sizes[i], gl_crc32c(GL_CRC_INIT, d, sizes[i]),
				     sizes[i] * 4, 0};

		assert_int_equal(gl_fstore_put(fs, &k, &m, d, sizes[i]), 0);
		assert_int_equal(gl_fstore_put(fs, &k, &m, d, sizes[i]), 0); /* idempotent */
		free(d);
	}
}

static void check_all(struct gl_fstore *fs)
{
	for (size_t i = 0; i < NSIZES; i++) {
		struct gl_fkey k = key((int)i + 1, 2);
		uint8_t *d = data(sizes[i], (int)i), *got = NULL;
		struct gl_fmeta m;

		assert_int_equal(gl_fstore_get(fs, &k, &m, &got), 0);
		assert_int_equal(m.len, sizes[i]);
		assert_int_equal(m.chunk_len, sizes[i] * 4);
		assert_memory_equal(got, d, sizes[i]);
		assert_int_equal(gl_fstore_stat(fs, &k, &m), 0);
		free(got);
		free(d);
	}
}

static int count_cb(void *arg, const struct gl_fkey *k, const struct gl_fmeta *m)
{
	(void)k;
	(void)m;
	(*(int *)arg)++;
	return 0;
}

static void test_roundtrip_reopen(void **s)
{
	struct gl_fstore *fs;
	struct gl_fstore_usage u;
	int n = 0;
	uint64_t total = 0;

	(void)s;
	assert_int_equal(gl_fstore_open(dir, &fs), 0);
	put_all(fs);
	check_all(fs);
	gl_fstore_iter(fs, count_cb, &n);
	assert_int_equal(n, NSIZES);
	assert_int_equal(gl_fstore_usage(fs, &u), 0);
	for (size_t i = 0; i < NSIZES; i++)
		total += sizes[i];
	assert_int_equal(u.nfrags, NSIZES);
	assert_int_equal(u.frag_bytes, total);
	assert_true(u.total > 0);
	gl_fstore_close(fs);

	assert_int_equal(gl_fstore_open(dir, &fs), 0);
	check_all(fs);
	assert_int_equal(gl_fstore_usage(fs, &u), 0);
	assert_int_equal(u.nfrags, NSIZES);
	for (size_t i = 0; i < NSIZES; i++) {
		struct gl_fkey k = key((int)i + 1, 2);
		struct gl_fmeta m;
		uint8_t *got;

		assert_int_equal(gl_fstore_del(fs, &k), 0);
		assert_int_equal(gl_fstore_del(fs, &k), -GL_ENOENT);
		assert_int_equal(gl_fstore_get(fs, &k, &m, &got), -GL_ENOENT);
	}
	assert_int_equal(gl_fstore_usage(fs, &u), 0);
	assert_int_equal(u.nfrags, 0);
	assert_int_equal(u.frag_bytes, 0);
	gl_fstore_close(fs);
}

static void test_bad_crc_refused(void **s)
{
	struct gl_fstore *fs;
	struct gl_fkey k = key(9, 0);
	uint8_t *d = data(5000, 1);
	struct gl_fmeta m = {5000, gl_crc32c(GL_CRC_INIT, d, 5000) ^ 1, 20000, 0};
	uint8_t *got;

	(void)s;
	assert_int_equal(gl_fstore_open(dir, &fs), 0);
	assert_int_equal(gl_fstore_put(fs, &k, &m, d, 5000), -GL_ECORRUPT);
	assert_int_equal(gl_fstore_get(fs, &k, &m, &got), -GL_ENOENT);
	gl_fstore_close(fs);
	free(d);
}

static void flip_file(struct gl_fkey *k, long off)
{
	char path[256], cmd[512];
	FILE *f;
	int c;

	frag_path_in(dir, k, path, sizeof(path));
	f = fopen(path, "r+");
	assert_non_null(f);
	if (off < 0) {
		fclose(f);
		snprintf(cmd, sizeof(cmd), "truncate -s -100 %s", path);
		assert_int_equal(system(cmd), 0);
		return;
	}
	fseek(f, off, SEEK_SET);
	c = fgetc(f);
	fseek(f, off, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
}

static void test_corruption(void **s)
{
	struct gl_fstore *fs;
	size_t len = 1u << 20;
	uint8_t *d = data(len, 5), *got = NULL;
	struct gl_fmeta m = {(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len * 4, 0};
	struct gl_fkey a = key(20, 1), b = key(21, 1), c = key(22, 1);

	(void)s;
	assert_int_equal(gl_fstore_open(dir, &fs), 0);
	assert_int_equal(gl_fstore_put(fs, &a, &m, d, len), 0);
	assert_int_equal(gl_fstore_put(fs, &b, &m, d, len), 0);
	assert_int_equal(gl_fstore_put(fs, &c, &m, d, len), 0);
	flip_file(&a, 4096); /* data */
	flip_file(&b, 10);   /* header */
	flip_file(&c, -1);   /* torn: shorter */
	assert_int_equal(gl_fstore_get(fs, &a, &m, &got), -GL_ECORRUPT);
	assert_int_equal(gl_fstore_get(fs, &b, &m, &got), -GL_ECORRUPT);
	assert_int_equal(gl_fstore_get(fs, &c, &m, &got), -GL_ECORRUPT);
	/* a corrupt fragment can be removed and stored again */
	assert_int_equal(gl_fstore_del(fs, &a), 0);
	m.crc = gl_crc32c(GL_CRC_INIT, d, len);
	assert_int_equal(gl_fstore_put(fs, &a, &m, d, len), 0);
	assert_int_equal(gl_fstore_get(fs, &a, &m, &got), 0);
	assert_memory_equal(got, d, len);
	free(got);
	free(d);
	gl_fstore_close(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_crc_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Fragment store, ranged reads: the version 2 file format (a CRC per 64 KiB block), every edge
 * of a range, corruption found only where it is read, torn headers, version 1 files, files of
 * a newer version kept, files kept open between reads. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/crc.h"
#include "common/errors.h"
#include "storage/fstore.h"

#define BLK (64u << 10)

#include "tests/unit/fragpath.h"
#include "tests/unit/tmpdir.h"

static struct gl_fkey key(int n)
{
	struct gl_fkey k = {.pool = 0x00010200, .idx = 1};

	memset(k.chunk, n, sizeof(k.chunk));
	return k;
}

static uint8_t *data(size_t len, int seed)
{
	uint8_t *p = malloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 9) + (size_t)seed);
	return p;
}

static void frag_path(const struct gl_fkey *k, char *path, size_t cap)
{
	frag_path_in(dir, k, path, cap);
}

static void flip(const struct gl_fkey *k, long off)
{
	char path[256];
	uint8_t c;
	int fd;

	frag_path(k, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static struct gl_fstore *put(const struct gl_fkey *k, const uint8_t *d, size_t len)
{
	struct gl_fmeta m = {(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len * 2, 0};
	struct gl_fstore *fs;

	assert_int_equal(gl_fstore_open(dir, &fs), 0);
	assert_int_equal(gl_fstore_put(fs, k, &m, d, len), 0);
	return fs;
}

/* A ranged get returns exactly d[off, off + len). */
static void expect_range(struct gl_fstore *fs, const struct gl_fkey *k, const uint8_t *d,
			 size_t flen, uint32_t off, uint32_t len)
{
	struct gl_fmeta m;
	uint8_t *got = NULL;

	assert_int_equal(gl_fstore_get_range(fs, k, off, len, &m, &got), 0);
	assert_int_equal(m.len, flen);
	assert_int_equal(m.chunk_len, flen * 2);
	if (len)
		assert_memory_equal(got, d + off, len);
	free(got);
}

static void expect_rc(struct gl_fstore *fs, const struct gl_fkey *k, uint32_t off, uint32_t len,
		      int rc)
{
	struct gl_fmeta m;
	uint8_t *got = NULL;

	assert_int_equal(gl_fstore_get_range(fs, k, off, len, &m, &got), rc);
}

static void test_v2_edges(void **s)
{
	const size_t len = (1u << 20) + 1000; /* 17 blocks, the last one short */
	struct gl_fkey k = key(1), small = key(2);
	uint8_t *d = data(len, 3), hdr[64];
	struct gl_fstore *fs = put(&k, d, len);
	struct gl_fmeta m = {5000, gl_crc32c(GL_CRC_INIT, d, 5000), 10000, 0};
	const uint32_t L = (uint32_t)len;
	char path[256];
	struct stat st;
	int fd;

	(void)s;
	/* the file is version 2: header 4096 bytes, block size 64 KiB, 17 blocks */
	frag_path(&k, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4096 + len);
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, hdr, 64, 0), 64);
	close(fd);
	assert_int_equal(gl_rd16(hdr + 4), 2);
	assert_int_equal(gl_rd16(hdr + 6), 4096);
	assert_int_equal(gl_rd32(hdr + 32), BLK);
	assert_int_equal(gl_rd32(hdr + 36), 17);

	expect_range(fs, &k, d, len, 0, 1);		/* first byte */
	expect_range(fs, &k, d, len, L - 1, 1);		/* last byte */
	expect_range(fs, &k, d, len, 0, L);		/* whole */
	expect_range(fs, &k, d, len, 0, 0);		/* empty at the start */
	expect_range(fs, &k, d, len, L, 0);		/* empty at the end */
	expect_range(fs, &k, d, len, BLK - 1, 2);	/* across a block boundary */
	expect_range(fs, &k, d, len, BLK, BLK);		/* exactly one block */
	expect_range(fs, &k, d, len, BLK - 1, BLK + 2); /* three blocks */
	expect_range(fs, &k, d, len, 16 * BLK, 1000);	/* exactly the short last block */
	expect_range(fs, &k, d, len, L - 5000, 5000);	/* end of the file */
	expect_range(fs, &k, d, len, 1, L - 1);		/* all but the first byte */
	expect_rc(fs, &k, L, 1, -GL_ERANGE);
	expect_rc(fs, &k, L + 1, 0, -GL_ERANGE);
	expect_rc(fs, &k, 0, L + 1, -GL_ERANGE);
	expect_rc(fs, &k, UINT32_MAX, 2, -GL_ERANGE); /* off + len wraps */
	expect_rc(fs, &k, 2, UINT32_MAX, -GL_ERANGE);
	/* random ranges against the reference */
	srand(7);
	for (int i = 0; i < 300; i++) {
		uint32_t off = (uint32_t)rand() % (L + 1), n = (uint32_t)rand() % (L - off + 1);

		if (i & 1)
			n %= 9000; /* mostly small */
		expect_range(fs, &k, d, len, off, n);
	}
	/* inline fragments (RocksDB) slice their value */
	assert_int_equal(gl_fstore_put(fs, &small, &m, d, 5000), 0);
	expect_range(fs, &small, d, 5000, 0, 5000);
	expect_range(fs, &small, d, 5000, 4999, 1);
	expect_range(fs, &small, d, 5000, 100, 0);
	expect_rc(fs, &small, 4999, 2, -GL_ERANGE);
	k = key(9);
	expect_rc(fs, &k, 0, 1, -GL_ENOENT);
	gl_fstore_close(fs);
	free(d);
}

static void test_v2_flipped_block(void **s)
{
	const size_t len = 1u << 20;
	struct gl_fkey k = key(3);
	uint8_t *d = data(len, 5), *got = NULL;
	struct gl_fstore *fs = put(&k, d, len);
	struct gl_fmeta m;

	(void)s;
	flip(&k, 4096 + 3 * BLK + 100); /* a byte of block 3 */
	expect_rc(fs, &k, 3 * BLK + 100, 1, -GL_ECORRUPT);
	expect_rc(fs, &k, 3 * BLK, BLK, -GL_ECORRUPT);
	expect_rc(fs, &k, 2 * BLK + 10, BLK, -GL_ECORRUPT); /* ends in block 3 */
	/* elsewhere the bad block is not needed: read and verified fine */
	expect_range(fs, &k, d, len, 0, 4096);
	expect_range(fs, &k, d, len, 2 * BLK, BLK);
	expect_range(fs, &k, d, len, 4 * BLK, 3 * BLK);
	/* the full get checks everything */
	assert_int_equal(gl_fstore_get(fs, &k, &m, &got), -GL_ECORRUPT);
	expect_rc(fs, &k, 0, (uint32_t)len, -GL_ECORRUPT);
	gl_fstore_close(fs);
	free(d);
}

static void test_v2_torn_header(void **s)
{
	const size_t len = 300000;
	struct gl_fkey a = key(4), b = key(5), c = key(6);
	uint8_t *d = data(len, 9), *got = NULL;
	struct gl_fstore *fs = put(&a, d, len);
	struct gl_fmeta m = {(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len * 2, 0};
	char path[256];

	(void)s;
	assert_int_equal(gl_fstore_put(fs, &b, &m, d, len), 0);
	assert_int_equal(gl_fstore_put(fs, &c, &m, d, len), 0);
	flip(&a, 64 + 4 * 2); /* a block CRC in the table */
	flip(&b, 36);	      /* the block count (fixed header) */
	frag_path(&c, path, sizeof(path));
	assert_int_equal(truncate(path, 100), 0); /* torn inside the table */
	for (int i = 0; i < 3; i++) {
		struct gl_fkey *k = i == 0 ? &a : i == 1 ? &b : &c;

		expect_rc(fs, k, 0, 10, -GL_ECORRUPT);
		expect_rc(fs, k, 4 * BLK, 10, -GL_ECORRUPT);
		assert_int_equal(gl_fstore_get(fs, k, &m, &got), -GL_ECORRUPT);
		assert_int_equal(gl_fstore_stat(fs, k, &m), -GL_ECORRUPT);
		/* removed and stored again, it reads back */
		assert_int_equal(gl_fstore_del(fs, k), 0);
		m = (struct gl_fmeta){(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len * 2, 0};
		assert_int_equal(gl_fstore_put(fs, k, &m, d, len), 0);
		expect_range(fs, k, d, len, 4 * BLK, 10);
	}
	gl_fstore_close(fs);
	free(d);
}

/* Writes a version 1 file (64-byte header, no block table) as older servers did. */
static void write_v1(const struct gl_fkey *k, const uint8_t *d, size_t len)
{
	uint8_t h[64] = {0};
	char path[256];
	int fd;

	gl_le32(h, 0x46524647u);
	gl_le16(h + 4, 1);
	gl_le16(h + 6, 64);
	gl_le32(h + 8, (uint32_t)len);
	gl_le32(h + 12, gl_crc32c(GL_CRC_INIT, d, len));
	gl_le64(h + 16, len * 2);
	gl_le64(h + 24, 1);
	gl_le32(h + 60, gl_crc32c(GL_CRC_INIT, h, 60));
	frag_path(k, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, h, 64), 64);
	assert_int_equal(write(fd, d, len), (ssize_t)len);
	close(fd);
}

static void test_v1_readable(void **s)
{
	const size_t len = 1u << 20;
	struct gl_fkey k = key(7);
	uint8_t *d = data(len, 11), *got = NULL;
	struct gl_fstore *fs;
	struct gl_fmeta m;

	(void)s;
	assert_int_equal(gl_fstore_open(dir, &fs), 0);
	write_v1(&k, d, len);
	assert_int_equal(gl_fstore_stat(fs, &k, &m), 0);
	assert_int_equal(gl_fstore_get(fs, &k, &m, &got), 0);
	assert_int_equal(m.len, len);
	assert_memory_equal(got, d, len);
	free(got);
	expect_range(fs, &k, d, len, 0, 1);
	expect_range(fs, &k, d, len, (uint32_t)len - 1, 1);
	expect_range(fs, &k, d, len, BLK - 3, 7);
	expect_range(fs, &k, d, len, 0, 0);
	expect_rc(fs, &k, (uint32_t)len, 1, -GL_ERANGE);
	/* no block table: a ranged read checks the whole data, so it finds a flip anywhere */
	flip(&k, 64 + 900000);
	expect_rc(fs, &k, 0, 10, -GL_ECORRUPT);
	assert_int_equal(gl_fstore_get(fs, &k, &m, &got), -GL_ECORRUPT);
	/* stored again, it becomes version 2 */
	assert_int_equal(gl_fstore_del(fs, &k), 0);
	m = (struct gl_fmeta){(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len * 2, 0};
	assert_int_equal(gl_fstore_put(fs, &k, &m, d, len), 0);
	flip(&k, 4096 + 900000);
	expect_range(fs, &k, d, len, 0, 10);
	gl_fstore_close(fs);
	free(d);
}

/* A file of a newer format (a server downgraded after writing it) is neither read nor taken
 * for corrupt: it answers EVERSION and stays on disk. */
static void test_newer_version_kept(void **s)
{
	const size_t len = 200000;
	struct gl_fkey k = key(8);
	uint8_t *d = data(len, 13), *got = NULL, h[64];
	struct gl_fstore *fs = put(&k, d, len);
	struct gl_fmeta m;
	struct stat st;
	char path[256];
	int fd;

	(void)s;
	frag_path(&k, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, 64, 0), 64);
	gl_le16(h + 4, 3);
	gl_le32(h + 60, gl_crc32c(GL_CRC_INIT, h, 60));
	assert_int_equal(pwrite(fd, h, 64, 0), 64);
	close(fd);
	assert_int_equal(gl_fstore_get(fs, &k, &m, &got), -GL_EVERSION);
	expect_rc(fs, &k, 0, 10, -GL_EVERSION);
	assert_int_equal(gl_fstore_stat(fs, &k, &m), -GL_EVERSION);
	assert_int_equal(stat(path, &st), 0);
	gl_fstore_close(fs);
	free(d);
}

/* Files stay open between reads (the store's cache): a read after a delete or a put of the key
 * sees the change, and damage after a read is still found. */
static void test_open_files_cached(void **s)
{
	const size_t len = 300000;
	struct gl_fkey k = key(9);
	uint8_t *d = data(len, 15), *e = data(len, 16), *got = NULL;
	struct gl_fstore *fs = put(&k, d, len);
	struct gl_fmeta m;

	(void)s;
	expect_range(fs, &k, d, len, 1000, 10);
	assert_int_equal(gl_fstore_del(fs, &k), 0);
	expect_rc(fs, &k, 1000, 10, -GL_ENOENT);
	assert_int_equal(gl_fstore_get(fs, &k, &m, &got), -GL_ENOENT);
	m = (struct gl_fmeta){(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len * 2, 0};
	assert_int_equal(gl_fstore_put(fs, &k, &m, d, len), 0);
	expect_range(fs, &k, d, len, 5, 100);
	/* the key stored again with other bytes (a rebuilt fragment): reads see them */
	m = (struct gl_fmeta){(uint32_t)len, gl_crc32c(GL_CRC_INIT, e, len), len * 2, 0};
	assert_int_equal(gl_fstore_put(fs, &k, &m, e, len), 0);
	expect_range(fs, &k, e, len, 5, 100);
	assert_int_equal(gl_fstore_get(fs, &k, &m, &got), 0);
	assert_memory_equal(got, e, len);
	free(got);
	/* bit rot after reads that kept the file open */
	flip(&k, 4096 + 2 * BLK + 7);
	expect_rc(fs, &k, 2 * BLK, 10, -GL_ECORRUPT);
	expect_range(fs, &k, e, len, 0, 10);
	/* many fragments read in turn: more than the cache holds */
	for (int i = 0; i < 300; i++) {
		struct gl_fkey x = key(10);

		x.chunk[1] = (uint8_t)i;
		x.chunk[2] = (uint8_t)(i >> 8);
		m = (struct gl_fmeta){(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len * 2, 0};
		assert_int_equal(gl_fstore_put(fs, &x, &m, d, len), 0);
		expect_range(fs, &x, d, len, (uint32_t)i * 7, 10);
	}
	gl_fstore_close(fs);
	free(d);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_v2_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_flipped_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_torn_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_readable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_version_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_files_cached, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The namespace state machine (metadata/ns.h) applied to a real RocksDB: POSIX semantics errno
 * by errno, stable readdir cookies, layouts with chunk references, exact quotas, tenant
 * isolation, hostile messages, and determinism (two databases, one op sequence, one dump). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/errors.h"
#include "metadata/ns.h"

struct db {
	rocksdb_t *db;
	char dir[64];
	int64_t now;
};

static rocksdb_writeoptions_t *wo;

static void db_open(struct db *d)
{
	rocksdb_options_t *o = rocksdb_options_create();
	char *err = NULL;

	snprintf(d->dir, sizeof(d->dir), "/tmp/glory-ns.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	rocksdb_options_set_create_if_missing(o, 1);
	d->db = rocksdb_open(o, d->dir, &err);
	rocksdb_options_destroy(o);
	assert_null(err);
	if (!wo)
		wo = rocksdb_writeoptions_create();
	d->now = 1000;
}

static void db_close(struct db *d)
{
	char cmd[128];

	rocksdb_close(d->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	assert_int_equal(system(cmd), 0);
}

/* Applies msg; on success writes the batch. Reply into rep (may be NULL). */
static int apply(struct db *d, struct gl_wbuf *msg, struct gl_wbuf *rep)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	struct gl_wbuf tmp;
	char *err = NULL;
	int rc;

	gl_wbuf_init(&tmp);
	rc = gl_ns_apply(NULL, d->db, wb, msg->p, msg->len, rep ? rep : &tmp);
	if (rc == 0)
		rocksdb_write(d->db, wo, wb, &err);
	assert_null(err);
	rocksdb_writebatch_destroy(wb);
	gl_wbuf_free(&tmp);
	gl_wbuf_free(msg);
	return rc;
}

static int read_op(struct db *d, struct gl_wbuf *msg, struct gl_wbuf *rep)
{
	int rc = gl_ns_read(d->db, msg->p, msg->len, rep);

	gl_wbuf_free(msg);
	return rc;
}

static struct gl_wbuf msg(struct db *d, uint16_t op, uint32_t tenant)
{
	struct gl_wbuf b;

	gl_wbuf_init(&b);
	gl_ns_hdr_put(&b, op, tenant, d->now++);
	return b;
}

/* tenant "t<n>" with volume "v" (rep:1), quotas as given; returns the volume id */
static uint32_t setup_volume(struct db *d, const char *tenant, uint64_t qb, uint64_t qi)
{
	struct gl_wbuf m = msg(d, GL_NS_TENANT_CREATE, 0), rep;
	struct gl_ns_vol v;
	struct gl_rbuf r;

	gl_put_str(&m, tenant);
	assert_int_equal(apply(d, &m, NULL), 0);
	m = msg(d, GL_NS_VOL_CREATE, 0);
	gl_put_str(&m, tenant);
	gl_put_str(&m, "v");
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0x10100);
	gl_put_u8(&m, 1);
	gl_put_u64(&m, qb);
	gl_put_u64(&m, qi);
	gl_wbuf_init(&rep);
	assert_int_equal(apply(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	gl_ns_vol_get(&r, &v);
	assert_int_equal(gl_rbuf_check(&r), 0);
	gl_wbuf_free(&rep);
	m = msg(d, GL_NS_VOL_INIT, 0);
	gl_ns_vol_put(&m, &v);
	assert_int_equal(apply(d, &m, NULL), 0);
	return v.id;
}

static int mk(struct db *d, uint32_t tenant, uint32_t vol, uint16_t op, uint64_t parent,
	      const char *name, uint64_t *ino)
{
	struct gl_wbuf m = msg(d, op, tenant), rep;
	struct gl_ns_attr a;
	struct gl_rbuf r;
	int rc;

	gl_put_u32(&m, vol);
	gl_put_u64(&m, parent);
	gl_put_str(&m, name);
	if (op == GL_NS_SYMLINK)
		gl_put_str(&m, "target/of/link");
	else
		gl_put_u32(&m, op == GL_NS_MKDIR ? 0755 : 0100644);
	gl_put_u32(&m, 1000);
	gl_put_u32(&m, 100);
	if (op == GL_NS_MKNOD) {
		gl_put_u64(&m, 0);
		gl_put_u8(&m, 1);
	}
	gl_wbuf_init(&rep);
	rc = apply(d, &m, &rep);
	if (rc == 0 && ino) {
		gl_rbuf_init(&r, rep.p, rep.len);
		gl_ns_attr_get(&r, &a);
		*ino = a.ino;
	}
	gl_wbuf_free(&rep);
	return rc;
}

static int lookup(struct db *d, uint32_t tenant, uint32_t vol, uint64_t parent, const char *name,
		  struct gl_ns_attr *a)
{
	struct gl_wbuf m = msg(d, GL_NS_LOOKUP, tenant), rep;
	struct gl_rbuf r;
	int rc;

	gl_put_u32(&m, vol);
	gl_put_u64(&m, parent);
	gl_put_str(&m, name);
	gl_wbuf_init(&rep);
	rc = read_op(d, &m, &rep);
	if (rc == 0 && a) {
		gl_rbuf_init(&r, rep.p, rep.len);
		gl_ns_attr_get(&r, a);
	}
	gl_wbuf_free(&rep);
	return rc;
}

static int rename_op(struct db *d, uint32_t vol, uint64_t sp, const char *sn, uint64_t dp,
		     const char *dn, uint32_t flags)
{
	struct gl_wbuf m = msg(d, GL_NS_RENAME, 0);

	gl_put_u32(&m, vol);
	gl_put_u64(&m, sp);
	gl_put_str(&m, sn);
	gl_put_u64(&m, dp);
	gl_put_str(&m, dn);
	gl_put_u32(&m, flags);
	return apply(d, &m, NULL);
}

static int unlink_op(struct db *d, uint32_t vol, uint16_t op, uint64_t parent, const char *name)
{
	struct gl_wbuf m = msg(d, op, 0);

	gl_put_u32(&m, vol);
	gl_put_u64(&m, parent);
	gl_put_str(&m, name);
	if (op == GL_NS_UNLINK)
		gl_put_u8(&m, 0);
	return apply(d, &m, NULL);
}

static void test_tree(void **state)
{
	struct db d;
	uint32_t v;
	uint64_t a, b, f, g, l;
	struct gl_ns_attr at;

	(void)state;
	db_open(&d);
	v = setup_volume(&d, "acme", 0, 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKDIR, GL_NS_ROOT, "a", &a), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKDIR, a, "b", &b), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, b, "f", &f), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_SYMLINK, a, "l", &l), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, b, "f", NULL), -GL_EEXIST);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, f, "x", NULL), -GL_ENOTDIR);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, 999, "x", NULL), -GL_ENOENT);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, b, "..", NULL), -GL_EINVAL);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, b, "x/y", NULL), -GL_EINVAL);
	{
		char longname[300];

		memset(longname, 'n', 256);
		longname[256] = 0;
		assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, b, longname, NULL), -GL_ENAMETOOLONG);
	}
	/* nlink: a has "." , ".." from its parent, and b */
	assert_int_equal(lookup(&d, 0, v, GL_NS_ROOT, "a", &at), 0);
	assert_int_equal(at.nlink, 3);
	assert_int_equal(lookup(&d, 0, v, a, "l", &at), 0);
	assert_true(S_ISLNK(at.mode));
	/* unlink / rmdir errors */
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "a"), -GL_EISDIR);
	assert_int_equal(unlink_op(&d, v, GL_NS_RMDIR, b, "f"), -GL_ENOTDIR);
	assert_int_equal(unlink_op(&d, v, GL_NS_RMDIR, GL_NS_ROOT, "a"), -GL_ENOTEMPTY);
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, b, "nope"), -GL_ENOENT);
	/* hard links */
	{
		struct gl_wbuf m = msg(&d, GL_NS_LINK, 0);

		gl_put_u32(&m, v);
		gl_put_u64(&m, f);
		gl_put_u64(&m, a);
		gl_put_str(&m, "f2");
		assert_int_equal(apply(&d, &m, NULL), 0);
		m = msg(&d, GL_NS_LINK, 0);
		gl_put_u32(&m, v);
		gl_put_u64(&m, b);
		gl_put_u64(&m, a);
		gl_put_str(&m, "bdir");
		assert_int_equal(apply(&d, &m, NULL), -GL_EPERM);
	}
	assert_int_equal(lookup(&d, 0, v, a, "f2", &at), 0);
	assert_int_equal(at.nlink, 2);
	/* rename: noreplace, exchange, into own subtree, dir over file, file over dir */
	/* two names of one inode: a plain rename does nothing; NOREPLACE says EEXIST (Linux) */
	assert_int_equal(rename_op(&d, v, a, "f2", b, "f", GL_NS_RENAME_NOREPLACE), -GL_EEXIST);
	assert_int_equal(rename_op(&d, v, a, "f2", b, "f", 0), 0);
	assert_int_equal(lookup(&d, 0, v, a, "f2", NULL), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, a, "g", &g), 0);
	assert_int_equal(rename_op(&d, v, a, "g", b, "f", GL_NS_RENAME_NOREPLACE), -GL_EEXIST);
	assert_int_equal(rename_op(&d, v, a, "g", b, "zz", GL_NS_RENAME_EXCHANGE), -GL_ENOENT);
	assert_int_equal(rename_op(&d, v, a, "g", b, "f", GL_NS_RENAME_EXCHANGE), 0);
	assert_int_equal(lookup(&d, 0, v, b, "f", &at), 0);
	assert_true(at.ino == g);
	assert_int_equal(lookup(&d, 0, v, a, "g", &at), 0);
	assert_true(at.ino == f);
	assert_int_equal(rename_op(&d, v, GL_NS_ROOT, "a", b, "a", 0), -GL_EINVAL);
	assert_int_equal(rename_op(&d, v, a, "b", a, "g", 0), -GL_ENOTDIR);
	assert_int_equal(rename_op(&d, v, a, "g", a, "b", 0), -GL_EISDIR);
	/* a directory moves: nlinks of both parents follow */
	assert_int_equal(rename_op(&d, v, a, "b", GL_NS_ROOT, "b", 0), 0);
	assert_int_equal(lookup(&d, 0, v, GL_NS_ROOT, "a", &at), 0);
	assert_int_equal(at.nlink, 2);
	assert_int_equal(lookup(&d, 0, v, GL_NS_ROOT, "", NULL), -GL_EINVAL);
	assert_int_equal(lookup(&d, 0, v, GL_NS_ROOT, ".", NULL), -GL_EINVAL);
	/* replacing rename drops the target */
	assert_int_equal(rename_op(&d, v, b, "f", a, "g", 0), 0);
	assert_int_equal(lookup(&d, 0, v, b, "f", NULL), -GL_ENOENT);
	assert_int_equal(lookup(&d, 0, v, a, "g", &at), 0);
	assert_true(at.ino == g);
	db_close(&d);
}

struct entry {
	uint64_t cookie;
	char name[64];
};

/* Reads one page of dir from cookie; returns the count, *eof. */
static int readdir_page(struct db *d, uint32_t v, uint64_t dir, uint64_t cookie, uint32_t max,
			struct entry *out, int *eof)
{
	struct gl_wbuf m = msg(d, GL_NS_READDIR, 0), rep;
	struct gl_rbuf r;
	uint32_t n;

	gl_put_u32(&m, v);
	gl_put_u64(&m, dir);
	gl_put_u64(&m, cookie);
	gl_put_u32(&m, max);
	gl_put_u8(&m, 0);
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	*eof = gl_get_u8(&r);
	n = gl_get_u32(&r);
	for (uint32_t i = 0; i < n; i++) {
		out[i].cookie = gl_get_u64(&r);
		gl_get_u64(&r);
		gl_get_u32(&r);
		gl_get_str(&r, out[i].name, sizeof(out[i].name));
	}
	assert_int_equal(gl_rbuf_check(&r), 0);
	gl_wbuf_free(&rep);
	return (int)n;
}

static void test_readdir_cookies(void **state)
{
	struct db d;
	struct entry e[64];
	uint32_t v;
	int eof, n, seen = 0;
	uint64_t cookie;
	char name[32];

	(void)state;
	db_open(&d);
	v = setup_volume(&d, "acme", 0, 0);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, name, NULL), 0);
	}
	n = readdir_page(&d, v, GL_NS_ROOT, 0, 20, e, &eof);
	assert_int_equal(n, 20);
	assert_false(eof);
	cookie = e[19].cookie;
	seen = 20;
	/* changes between pages: removed entries vanish, new ones come at the end, nothing
	 * listed before is listed again */
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "f05"), 0);
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "f30"), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "new", NULL), 0);
	do {
		n = readdir_page(&d, v, GL_NS_ROOT, cookie, 20, e, &eof);
		for (int i = 0; i < n; i++) {
			assert_string_not_equal(e[i].name, "f30");
			assert_true(e[i].cookie > cookie);
		}
		if (n)
			cookie = e[n - 1].cookie;
		seen += n;
	} while (!eof);
	assert_int_equal(seen, 20 + 29 + 1);
	db_close(&d);
}

static int write_ext(struct db *d, uint32_t v, uint64_t ino, uint64_t off, uint32_t len,
		     uint8_t chunk, uint32_t chunk_off, uint32_t chunk_len)
{
	struct gl_wbuf m = msg(d, GL_NS_WRITE, 0);
	struct gl_ns_extent e = {0};

	e.off = off;
	e.len = len;
	e.pool = 0x10100;
	memset(e.chunk, chunk, 32);
	e.chunk_len = chunk_len;
	e.chunk_off = chunk_off;
	gl_put_u32(&m, v);
	gl_put_u64(&m, ino);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, 0);
	gl_put_u32(&m, 1);
	gl_ns_extent_put(&m, &e);
	return apply(d, &m, NULL);
}

static uint64_t refs(struct db *d, uint8_t chunk)
{
	struct gl_wbuf m = msg(d, GL_NS_CHUNK_REFS, 0), rep;
	struct gl_rbuf r;
	uint8_t id[32];
	uint64_t n;

	memset(id, chunk, 32);
	gl_put_u32(&m, 1);
	gl_put_u32(&m, 0x10100);
	gl_put_bytes(&m, id, 32);
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	assert_int_equal(gl_get_u32(&r), 1);
	n = gl_get_u64(&r);
	gl_wbuf_free(&rep);
	return n;
}

/* The bytes [0, len) as the layout describes them: chunk byte c at offset o is (c << 8 | o&255)
 * folded into a byte; holes are 0. */
static void layout_image(struct db *d, uint32_t v, uint64_t ino, uint8_t *img, size_t len,
			 uint64_t *size)
{
	struct gl_wbuf m = msg(d, GL_NS_LAYOUT, 0), rep;
	struct gl_rbuf r;
	struct gl_ns_attr a;
	uint32_t n;

	gl_put_u32(&m, v);
	gl_put_u64(&m, ino);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, len);
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	gl_ns_attr_get(&r, &a);
	*size = a.size;
	n = gl_get_u32(&r);
	memset(img, 0, len);
	for (uint32_t i = 0; i < n; i++) {
		struct gl_ns_extent e;

		gl_ns_extent_get(&r, &e);
		for (uint32_t k = 0; k < e.len && e.off + k < len; k++)
			img[e.off + k] = (uint8_t)(e.chunk[0] * 31 + e.chunk_off + k);
	}
	assert_int_equal(gl_rbuf_check(&r), 0);
	gl_wbuf_free(&rep);
}

static void test_layout_model(void **state)
{
	enum { LEN = 3 * 4096 };
	struct db d;
	uint32_t v;
	uint64_t f, size;
	static uint8_t model[LEN], img[LEN];
	int owner[LEN];
	uint64_t msize = 0;

	(void)state;
	db_open(&d);
	v = setup_volume(&d, "acme", 0, 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "f", &f), 0);
	memset(model, 0, sizeof(model));
	for (int i = 0; i < LEN; i++)
		owner[i] = -1;
	srand(7);
	for (int it = 0; it < 400; it++) {
		uint32_t off = (uint32_t)(rand() % (LEN - 1)), len = 1 + (uint32_t)(rand() % 700);
		uint8_t chunk = (uint8_t)(1 + rand() % 20);
		uint32_t coff = (uint32_t)(rand() % 100);

		if (off + len > LEN)
			len = LEN - off;
		if (it % 17 == 16) { /* truncate */
			struct gl_wbuf m = msg(&d, GL_NS_SETATTR, 0);

			gl_put_u32(&m, v);
			gl_put_u64(&m, f);
			gl_put_u32(&m, GL_NS_SET_SIZE);
			gl_put_u32(&m, 0);
			gl_put_u32(&m, 0);
			gl_put_u32(&m, 0);
			gl_put_u64(&m, off);
			gl_put_u64(&m, 0);
			gl_put_u64(&m, 0);
			assert_int_equal(apply(&d, &m, NULL), 0);
			for (uint32_t k = off; k < LEN; k++) {
				model[k] = 0;
				owner[k] = -1;
			}
			msize = off;
			continue;
		}
		assert_int_equal(write_ext(&d, v, f, off, len, chunk, coff, coff + len + 10), 0);
		for (uint32_t k = 0; k < len; k++) {
			model[off + k] = (uint8_t)(chunk * 31 + coff + k);
			owner[off + k] = chunk;
		}
		if (off + len > msize)
			msize = off + len;
	}
	layout_image(&d, v, f, img, LEN, &size);
	assert_true(size == msize);
	assert_memory_equal(img, model, LEN);
	/* every chunk still shown somewhere is referenced; a fully overwritten one is not */
	for (int c = 1; c <= 20; c++) {
		int used = 0;

		for (int k = 0; k < LEN; k++)
			used |= owner[k] == c;
		if (!used)
			assert_true(refs(&d, (uint8_t)c) == 0);
		else
			assert_true(refs(&d, (uint8_t)c) >= 1);
	}
	/* unlinking the file drops every reference */
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "f"), 0);
	for (int c = 1; c <= 20; c++)
		assert_true(refs(&d, (uint8_t)c) == 0);
	db_close(&d);
}

/* The same model with several extents per NS_WRITE, as a disk flush sends them: runs in three
 * slices, in slice order or not, overlapping each other (a later one wins). The shard applies a
 * run of extents in one slice to one read of its layout. */
static void test_layout_model_batched(void **state)
{
	enum { W = 3 * 4096, NS = 3, NX = 8 };
	struct db d;
	uint32_t v;
	uint64_t f;
	static uint8_t model[NS][W], img[W];
	(void)state;
	db_open(&d);
	v = setup_volume(&d, "acme", 0, 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "f", &f), 0);
	memset(model, 0, sizeof(model));
	srand(11);
	for (int it = 0; it < 300; it++) {
		struct gl_wbuf m = msg(&d, GL_NS_WRITE, 0);
		uint32_t n = 1 + (uint32_t)(rand() % NX);
		int sorted = it % 2;

		gl_put_u32(&m, v);
		gl_put_u64(&m, f);
		gl_put_u64(&m, 0);
		gl_put_u64(&m, 0);
		gl_put_u32(&m, n);
		for (uint32_t i = 0; i < n; i++) {
			struct gl_ns_extent e = {0};
			uint32_t sl =
			    sorted ? (uint32_t)((uint64_t)i * NS / n) : (uint32_t)(rand() % NS);
			uint32_t off = (uint32_t)(rand() % (W - 1)),
				 len = 1 + (uint32_t)(rand() % 3000);
			uint8_t chunk = (uint8_t)(1 + rand() % 20);
			uint32_t coff = (uint32_t)(rand() % 100);

			if (off + len > W)
				len = W - off;
			e.off = (uint64_t)sl * GL_NS_SLICE + off;
			e.len = len;
			e.pool = 0x10100;
			memset(e.chunk, chunk, 32);
			e.chunk_len = coff + len + 10;
			e.chunk_off = coff;
			gl_ns_extent_put(&m, &e);
			for (uint32_t k = 0; k < len; k++)
				model[sl][off + k] = (uint8_t)(chunk * 31 + coff + k);
		}
		assert_int_equal(apply(&d, &m, NULL), 0);
	}
	for (int sl = 0; sl < NS; sl++) {
		struct gl_wbuf m = msg(&d, GL_NS_LAYOUT, 0), rep;
		struct gl_rbuf r;
		struct gl_ns_attr a;
		uint64_t base = (uint64_t)sl * GL_NS_SLICE;
		uint32_t n;

		gl_put_u32(&m, v);
		gl_put_u64(&m, f);
		gl_put_u64(&m, base);
		gl_put_u64(&m, W);
		gl_wbuf_init(&rep);
		assert_int_equal(read_op(&d, &m, &rep), 0);
		gl_rbuf_init(&r, rep.p, rep.len);
		gl_ns_attr_get(&r, &a);
		n = gl_get_u32(&r);
		memset(img, 0, W);
		for (uint32_t i = 0; i < n; i++) {
			struct gl_ns_extent e;

			gl_ns_extent_get(&r, &e);
			assert_true(e.off >= base && e.off + e.len <= base + W);
			for (uint32_t k = 0; k < e.len; k++)
				img[e.off - base + k] =
				    (uint8_t)(e.chunk[0] * 31 + e.chunk_off + k);
		}
		assert_int_equal(gl_rbuf_check(&r), 0);
		gl_wbuf_free(&rep);
		assert_memory_equal(img, model[sl], W);
	}
	/* unlinking the file drops every reference: none was counted twice or lost */
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "f"), 0);
	for (int c = 1; c <= 20; c++)
		assert_true(refs(&d, (uint8_t)c) == 0);
	db_close(&d);
}

static int punch(struct db *d, uint32_t v, uint64_t ino, uint64_t off, uint64_t len)
{
	struct gl_wbuf m = msg(d, GL_NS_PUNCH, 0);

	gl_put_u32(&m, v);
	gl_put_u64(&m, ino);
	gl_put_u64(&m, off);
	gl_put_u64(&m, len);
	return apply(d, &m, NULL);
}

static int clone_op(struct db *d, uint32_t v, uint64_t src, uint64_t dst)
{
	struct gl_wbuf m = msg(d, GL_NS_CLONE, 0);

	gl_put_u32(&m, v);
	gl_put_u64(&m, src);
	gl_put_u64(&m, dst);
	return apply(d, &m, NULL);
}

static uint64_t vol_used(struct db *d, uint32_t v)
{
	struct gl_wbuf m = msg(d, GL_NS_VOL_GET_ID, 0), rep;
	struct gl_ns_vol vol;
	struct gl_rbuf r;

	gl_put_u32(&m, v);
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	gl_ns_vol_get(&r, &vol);
	gl_wbuf_free(&rep);
	return vol.used_bytes;
}

/* NS_PUNCH makes holes; NS_CLONE copies a layout with references: the clone diverges alone,
 * survives its source, and references drop to zero only when nothing uses a chunk. */
static void test_punch_clone(void **state)
{
	enum { LEN = 3 * GL_NS_SLICE };
	struct db d;
	uint32_t v;
	uint64_t src, dst, snap, size, used;
	static uint8_t a[LEN], b[LEN], c[LEN];

	(void)state;
	db_open(&d);
	v = setup_volume(&d, "acme", 0, 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "src", &src), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "dst", &dst), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "snap", &snap), 0);
	assert_int_equal(write_ext(&d, v, src, 0, GL_NS_SLICE, 1, 0, GL_NS_SLICE), 0);
	assert_int_equal(write_ext(&d, v, src, GL_NS_SLICE + 100, 5000, 2, 0, 8192), 0);
	assert_int_equal(write_ext(&d, v, src, 2 * GL_NS_SLICE, 4096, 3, 4096, 8192), 0);
	/* a punch across a slice boundary splits what it overlaps and frees what it covers */
	assert_int_equal(punch(&d, v, src, GL_NS_SLICE - 4096, 4096 + 200), 0);
	layout_image(&d, v, src, a, LEN, &size);
	assert_true(size == 2 * GL_NS_SLICE + 4096);
	for (uint32_t k = GL_NS_SLICE - 4096; k < GL_NS_SLICE + 200; k++)
		assert_int_equal(a[k], 0);
	assert_int_equal(a[GL_NS_SLICE + 300], (uint8_t)(2 * 31 + 200));
	assert_true(refs(&d, 1) == 1 && refs(&d, 2) == 1);
	used = vol_used(&d, v);
	assert_true(used == GL_NS_SLICE - 4096 + 4900 + 4096);
	assert_int_equal(punch(&d, v, src, 2 * GL_NS_SLICE, 4096), 0);
	assert_true(refs(&d, 3) == 0);
	used -= 4096;
	layout_image(&d, v, src, a, LEN, &size);
	/* clones: every chunk one more reference, usage doubled, same image */
	assert_int_equal(clone_op(&d, v, src, snap), 0);
	assert_int_equal(clone_op(&d, v, src, dst), 0);
	assert_true(refs(&d, 1) == 3 && refs(&d, 2) == 3);
	assert_true(vol_used(&d, v) == 3 * used);
	layout_image(&d, v, dst, b, LEN, &size);
	assert_true(size == 2 * GL_NS_SLICE + 4096);
	assert_memory_equal(a, b, LEN);
	/* the clone diverges; the source and the snapshot do not */
	assert_int_equal(write_ext(&d, v, dst, 10, 20, 4, 0, 20), 0);
	assert_int_equal(punch(&d, v, dst, GL_NS_SLICE + 100, 5000), 0);
	layout_image(&d, v, src, c, LEN, &size);
	assert_memory_equal(a, c, LEN);
	layout_image(&d, v, snap, c, LEN, &size);
	assert_memory_equal(a, c, LEN);
	assert_true(refs(&d, 2) == 2);
	/* deleting the source keeps the clone; the last user frees the chunks */
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "src"), 0);
	layout_image(&d, v, dst, c, LEN, &size);
	assert_int_equal(c[10], (uint8_t)(4 * 31));
	assert_int_equal(c[100], a[100]);
	assert_true(refs(&d, 1) == 3 && refs(&d, 2) == 1); /* a reference per piece */
	/* cloning over an existing file replaces its layout */
	assert_int_equal(clone_op(&d, v, snap, dst), 0);
	assert_true(refs(&d, 4) == 0 && refs(&d, 2) == 2);
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "snap"), 0);
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "dst"), 0);
	for (int k = 1; k <= 4; k++)
		assert_true(refs(&d, (uint8_t)k) == 0);
	assert_true(vol_used(&d, v) == 0);
	/* bad requests */
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "f", &src), 0);
	assert_int_equal(clone_op(&d, v, src, src), -GL_EINVAL);
	assert_int_equal(clone_op(&d, v, src, GL_NS_ROOT), -GL_EISDIR);
	assert_int_equal(clone_op(&d, v, src, 999), -GL_ENOENT);
	assert_int_equal(punch(&d, v, src, 0, 0), -GL_EINVAL);
	assert_int_equal(punch(&d, v, src, UINT64_MAX - 5, 10), -GL_EINVAL);
	assert_int_equal(punch(&d, v + 1, src, 0, 10), -GL_ENOENT);
	db_close(&d);
}

/* NS_WRITE with a dedup tail: cut ranges, chunks that must be referenced already, block index
 * entries; NS_DEDUP_GET finds entries only while their chunk is referenced. */
static struct gl_wbuf dwrite_begin(struct db *d, uint32_t v, uint64_t ino, uint32_t n,
				   const struct gl_ns_extent *e)
{
	struct gl_wbuf m = msg(d, GL_NS_WRITE, 0);

	gl_put_u32(&m, v);
	gl_put_u64(&m, ino);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, 0);
	gl_put_u32(&m, n);
	for (uint32_t i = 0; i < n; i++)
		gl_ns_extent_put(&m, &e[i]);
	return m;
}

static struct gl_ns_extent dext(uint64_t off, uint32_t len, uint8_t chunk, uint32_t coff,
				uint32_t clen)
{
	struct gl_ns_extent e = {0};

	e.off = off;
	e.len = len;
	e.pool = 0x10100;
	memset(e.chunk, chunk, 32);
	e.chunk_len = clen;
	e.chunk_off = coff;
	return e;
}

static void idx_put(struct gl_wbuf *m, uint8_t hash, uint8_t chunk, uint32_t clen, uint32_t coff)
{
	uint8_t h[32], c[32];

	memset(h, hash, 32);
	memset(c, chunk, 32);
	gl_put_bytes(m, h, 32);
	gl_put_u32(m, 0x10100);
	gl_put_bytes(m, c, 32);
	gl_put_u32(m, clen);
	gl_put_u32(m, coff);
}

/* NS_DEDUP_GET of one hash: the chunk byte found (0: not found), its offset in *coff. */
static int dget(struct db *d, uint32_t tenant, uint32_t v, uint8_t hash, uint32_t *coff)
{
	struct gl_wbuf m = msg(d, GL_NS_DEDUP_GET, tenant), rep;
	struct gl_rbuf r;
	uint8_t h[32];
	int rc, found = 0;

	memset(h, hash, 32);
	gl_put_u32(&m, v);
	gl_put_u32(&m, 1);
	gl_put_bytes(&m, h, 32);
	gl_wbuf_init(&rep);
	if ((rc = read_op(d, &m, &rep))) {
		gl_wbuf_free(&rep);
		return rc;
	}
	gl_rbuf_init(&r, rep.p, rep.len);
	assert_int_equal(gl_get_u32(&r), 1);
	if (gl_get_u8(&r)) {
		assert_int_equal(gl_get_u32(&r), 0x10100);
		found = gl_get_bytes(&r, 32)[0];
		assert_int_equal(gl_get_u32(&r), 8192);
		*coff = gl_get_u32(&r);
	}
	assert_int_equal(gl_rbuf_check(&r), 0);
	assert_int_equal((int)gl_rbuf_left(&r), 0);
	gl_wbuf_free(&rep);
	return found;
}

/* A block list for chunk byte c: n hashes, bytes h, h + 1, ... */
static void list_put(struct gl_wbuf *m, uint8_t c, uint32_t n, uint8_t h)
{
	uint8_t x[32];

	gl_put_u32(m, 1);
	gl_put_u32(m, 0x10100);
	memset(x, c, 32);
	gl_put_bytes(m, x, 32);
	gl_put_u32(m, n);
	for (uint32_t i = 0; i < n; i++) {
		memset(x, h + (uint8_t)i, 32);
		gl_put_bytes(m, x, 32);
	}
}

/* NS_WRITE of n extents whose dedup tail holds only a block list: nb hashes for chunk byte c. */
static int dwrite_list(struct db *d, uint32_t v, uint64_t ino, uint32_t n,
		       const struct gl_ns_extent *e, uint8_t c, uint32_t nb)
{
	struct gl_wbuf m = dwrite_begin(d, v, ino, n, e);

	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	list_put(&m, c, nb, 0x40);
	return apply(d, &m, NULL);
}

/* NS_DEDUP_LIST of chunk byte c: how many block hashes are kept for it (checking they are
 * 0x11, 0x12, ...) */
static uint32_t dlist(struct db *d, uint32_t v, uint8_t c)
{
	struct gl_wbuf m = msg(d, GL_NS_DEDUP_LIST, 0), rep;
	struct gl_rbuf r;
	uint8_t x[32];
	uint32_t n;

	memset(x, c, 32);
	gl_put_u32(&m, v);
	gl_put_u32(&m, 1);
	gl_put_u32(&m, 0x10100);
	gl_put_bytes(&m, x, 32);
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	assert_int_equal(gl_get_u32(&r), 1);
	n = gl_get_u32(&r);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(gl_get_bytes(&r, 32)[31], 0x11 + i);
	assert_int_equal(gl_rbuf_check(&r), 0);
	assert_int_equal((int)gl_rbuf_left(&r), 0);
	gl_wbuf_free(&rep);
	return n;
}

static void test_dedup_index(void **state)
{
	enum { LEN = 2 * GL_NS_SLICE };
	struct db d;
	uint32_t v, coff = 0;
	uint64_t a, b, size;
	struct gl_ns_extent e[2];
	struct gl_wbuf m;
	static uint8_t img[LEN];

	(void)state;
	db_open(&d);
	v = setup_volume(&d, "acme", 0, 0);
	setup_volume(&d, "other", 0, 0); /* tenant 2 */
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "a", &a), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "b", &b), 0);
	/* a: chunk 1 holds two blocks, indexed as hashes 0x11 and 0x12 */
	e[0] = dext(0, 8192, 1, 0, 8192);
	m = dwrite_begin(&d, v, a, 1, e);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 2);
	idx_put(&m, 0x11, 1, 8192, 0);
	idx_put(&m, 0x12, 1, 8192, 4096);
	list_put(&m, 1, 2, 0x11);
	assert_int_equal(apply(&d, &m, NULL), 0);
	assert_int_equal(dlist(&d, v, 1), 2);
	assert_int_equal(dlist(&d, v, 2), 0); /* none kept */
	assert_int_equal(dget(&d, 0, v, 0x12, &coff), 1);
	assert_int_equal(coff, 4096);
	assert_int_equal(dget(&d, 0, v, 0x13, &coff), 0);
	assert_int_equal(dget(&d, 2, v, 0x12, &coff), -GL_ENOENT); /* another tenant's volume */
	/* b: an old extent, then its slice rewritten whole: cut, a block of a's chunk (needed),
	 * the rest a hole */
	assert_int_equal(write_ext(&d, v, b, 0, 65536, 2, 0, 65536), 0);
	e[0] = dext(4096, 4096, 1, 4096, 8192);
	m = dwrite_begin(&d, v, b, 1, e);
	gl_put_u32(&m, 1);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, GL_NS_SLICE);
	gl_put_u32(&m, 1);
	gl_put_u32(&m, 0x10100);
	memset(img, 1, 32);
	gl_put_bytes(&m, img, 32);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	assert_int_equal(apply(&d, &m, NULL), 0);
	assert_true(refs(&d, 2) == 0 && refs(&d, 1) == 2);
	layout_image(&d, v, b, img, LEN, &size);
	for (uint32_t k = 0; k < 65536; k++)
		assert_int_equal(img[k],
				 k >= 4096 && k < 8192 ? (uint8_t)(31 + k - 4096 + 4096) : 0);
	assert_true(vol_used(&d, v) == 8192 + 4096);
	/* a chunk this shard does not reference: ENOREF, nothing applied */
	e[0] = dext(0, 4096, 3, 0, 4096);
	m = dwrite_begin(&d, v, b, 1, e);
	gl_put_u32(&m, 1);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, GL_NS_SLICE);
	gl_put_u32(&m, 1);
	gl_put_u32(&m, 0x10100);
	memset(img, 3, 32);
	gl_put_bytes(&m, img, 32);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	assert_int_equal(apply(&d, &m, NULL), -GL_ENOREF);
	assert_true(refs(&d, 3) == 0 && refs(&d, 1) == 2);
	/* index entries outside the op's extents, or out of extent order: EINVAL */
	e[0] = dext(GL_NS_SLICE, 4096, 4, 0, 8192);
	e[1] = dext(GL_NS_SLICE + 4096, 4096, 5, 0, 8192);
	m = dwrite_begin(&d, v, b, 2, e);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 1);
	idx_put(&m, 0x21, 4, 8192, 4096); /* past the extent's 4096 bytes of chunk 4 */
	gl_put_u32(&m, 0);
	assert_int_equal(apply(&d, &m, NULL), -GL_EINVAL);
	m = dwrite_begin(&d, v, b, 2, e);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 2);
	idx_put(&m, 0x22, 5, 8192, 0);
	idx_put(&m, 0x21, 4, 8192, 0);
	gl_put_u32(&m, 0);
	assert_int_equal(apply(&d, &m, NULL), -GL_EINVAL);
	/* block lists of a chunk no extent points into, or longer than the chunk: EINVAL */
	assert_int_equal(dwrite_list(&d, v, b, 2, e, 7, 1), -GL_EINVAL);
	assert_int_equal(dwrite_list(&d, v, b, 2, e, 4, 3), -GL_EINVAL);
	assert_true(refs(&d, 4) == 0 && refs(&d, 5) == 0);
	/* a truncated tail, a cut of length 0 */
	m = dwrite_begin(&d, v, b, 1, e);
	gl_put_u32(&m, 1);
	assert_int_equal(apply(&d, &m, NULL), -GL_EPROTO);
	m = dwrite_begin(&d, v, b, 1, e);
	gl_put_u32(&m, 1);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, 0);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	assert_int_equal(apply(&d, &m, NULL), -GL_EINVAL);
	/* once nothing references chunk 1 the index does not offer it */
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "a"), 0);
	assert_int_equal(dget(&d, 0, v, 0x11, &coff), 1); /* b still has a piece of it */
	assert_int_equal(unlink_op(&d, v, GL_NS_UNLINK, GL_NS_ROOT, "b"), 0);
	assert_true(refs(&d, 1) == 0);
	assert_int_equal(dget(&d, 0, v, 0x11, &coff), 0);
	assert_int_equal(dlist(&d, v, 1), 0);
	/* no index entries in a volume without dedup */
	m = msg(&d, GL_NS_VOL_SET, 0);
	gl_put_u32(&m, v);
	gl_put_u32(&m, GL_NS_VSET_DEDUP);
	{
		struct gl_ns_policy p = {0};

		p.pool = 0x10100;
		gl_ns_policy_put(&m, &p);
	}
	assert_int_equal(apply(&d, &m, NULL), 0);
	assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "c", &a), 0);
	e[0] = dext(0, 8192, 6, 0, 8192);
	m = dwrite_begin(&d, v, a, 1, e);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 1);
	idx_put(&m, 0x31, 6, 8192, 0);
	gl_put_u32(&m, 0);
	assert_int_equal(apply(&d, &m, NULL), -GL_EINVAL);
	assert_int_equal(dwrite_list(&d, v, a, 1, e, 6, 2), -GL_EINVAL);
	db_close(&d);
}

static void test_quota_and_tenants(void **state)
{
	struct db d;
	uint32_t va, vb;
	uint64_t f;

	(void)state;
	db_open(&d);
	va = setup_volume(&d, "a", 10000, 3); /* tenant id 1 */
	vb = setup_volume(&d, "b", 0, 0);     /* tenant id 2 */
	assert_int_equal(mk(&d, 1, va, GL_NS_MKNOD, GL_NS_ROOT, "f", &f), 0);
	assert_int_equal(write_ext(&d, va, f, 0, 8000, 1, 0, 8000), 0);
	assert_int_equal(write_ext(&d, va, f, 8000, 4000, 2, 0, 4000), -GL_EDQUOT);
	assert_int_equal(refs(&d, 2), 0); /* nothing of the refused write */
	assert_int_equal(write_ext(&d, va, f, 0, 8000, 3, 0, 8000), 0); /* overwrite: no growth */
	assert_int_equal(mk(&d, 1, va, GL_NS_MKNOD, GL_NS_ROOT, "g", NULL), 0);
	assert_int_equal(mk(&d, 1, va, GL_NS_MKNOD, GL_NS_ROOT, "h", NULL), -GL_EDQUOT);
	/* tenant 2 sees nothing of tenant 1's volume, and may not do admin work */
	assert_int_equal(mk(&d, 2, va, GL_NS_MKNOD, GL_NS_ROOT, "x", NULL), -GL_ENOENT);
	assert_int_equal(lookup(&d, 2, va, GL_NS_ROOT, "f", NULL), -GL_ENOENT);
	assert_int_equal(lookup(&d, 1, va, GL_NS_ROOT, "f", NULL), 0);
	assert_int_equal(mk(&d, 2, vb, GL_NS_MKNOD, GL_NS_ROOT, "x", NULL), 0);
	{
		struct gl_wbuf m = msg(&d, GL_NS_TENANT_CREATE, 2);

		gl_put_str(&m, "c");
		assert_int_equal(apply(&d, &m, NULL), -GL_EPERM);
	}
	db_close(&d);
}

static void test_hostile_messages(void **state)
{
	struct db d;
	struct gl_wbuf m, rep;
	uint32_t v;

	(void)state;
	db_open(&d);
	v = setup_volume(&d, "acme", 0, 0);
	/* every prefix of a valid message is refused and changes nothing */
	m = msg(&d, GL_NS_RENAME, 0);
	gl_put_u32(&m, v);
	gl_put_u64(&m, GL_NS_ROOT);
	gl_put_str(&m, "a");
	gl_put_u64(&m, GL_NS_ROOT);
	gl_put_str(&m, "b");
	gl_put_u32(&m, 0);
	for (size_t cut = 0; cut < m.len; cut++) {
		rocksdb_writebatch_t *wb = rocksdb_writebatch_create();

		gl_wbuf_init(&rep);
		assert_true(gl_ns_apply(NULL, d.db, wb, m.p, cut, &rep) < 0);
		assert_int_equal(rocksdb_writebatch_count(wb), 0);
		rocksdb_writebatch_destroy(wb);
		gl_wbuf_free(&rep);
	}
	gl_wbuf_free(&m);
	/* unknown ops, reads sent as writes and writes as reads */
	m = msg(&d, 0x7777, 0);
	assert_int_equal(apply(&d, &m, NULL), -GL_EBADOP);
	m = msg(&d, GL_NS_GETATTR, 0);
	gl_put_u32(&m, v);
	gl_put_u64(&m, 1);
	assert_int_equal(apply(&d, &m, NULL), -GL_EBADOP);
	m = msg(&d, GL_NS_MKDIR, 0);
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(&d, &m, &rep), -GL_EBADOP);
	gl_wbuf_free(&rep);
	/* an extent crossing a slice, one past its chunk, a huge count */
	assert_int_equal(write_ext(&d, v, 1, GL_NS_SLICE - 10, 20, 1, 0, 20), -GL_EINVAL);
	{
		uint64_t f;

		assert_int_equal(mk(&d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "f", &f), 0);
		assert_int_equal(write_ext(&d, v, f, 0, 100, 1, 50, 100), -GL_EINVAL);
		assert_int_equal(write_ext(&d, v, 1, 0, 10, 1, 0, 10), -GL_EISDIR);
	}
	m = msg(&d, GL_NS_WRITE, 0);
	gl_put_u32(&m, v);
	gl_put_u64(&m, 2);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, 0);
	gl_put_u32(&m, 0xffffffff);
	assert_int_equal(apply(&d, &m, NULL), -GL_EPROTO);
	db_close(&d);
}

/* One NS_DUMP page: the text after key `from` (NULL: the first page, in the short form a
 * caller without a key sends), at most about max bytes. Appends the text to out, keeps the
 * key to resume after in from/fl and returns whether there is more. */
static int dump_page(struct db *d, uint32_t vol, uint8_t *from, uint16_t *fl, uint32_t max,
		     struct gl_wbuf *out)
{
	struct gl_wbuf m = msg(d, GL_NS_DUMP, 0), rep;
	struct gl_rbuf r;
	uint32_t n;
	int more;

	gl_put_u32(&m, vol);
	if (from) {
		gl_put_u16(&m, *fl);
		gl_put_bytes(&m, from, *fl);
		gl_put_u32(&m, max);
	}
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	n = gl_get_u32(&r);
	gl_put_bytes(out, gl_get_bytes(&r, n), n);
	more = gl_get_u8(&r);
	*fl = gl_get_u16(&r);
	assert_true(*fl <= 300);
	gl_get_copy(&r, from ? from : (uint8_t[300]){0}, *fl);
	assert_int_equal(gl_rbuf_check(&r), 0);
	assert_int_equal(gl_rbuf_left(&r), 0);
	gl_wbuf_free(&rep);
	return more;
}

/* The whole dump of a volume (0: everything) as one string. Read twice: in one page, and in
 * pages of about 300 bytes resumed key after key; both must give the same text. */
static char *dump_vol(struct db *d, uint32_t vol)
{
	struct gl_wbuf one, paged;
	uint8_t from[300];
	uint16_t fl = 0;
	int pages = 0;

	gl_wbuf_init(&one);
	assert_int_equal(dump_page(d, vol, NULL, &fl, 0, &one), 0);
	gl_wbuf_init(&paged);
	fl = 0;
	while (dump_page(d, vol, from, &fl, 300, &paged))
		assert_true(++pages < 100000);
	assert_int_equal(paged.len, one.len);
	assert_memory_equal(paged.p, one.p, one.len);
	gl_put_u8(&one, 0);
	gl_wbuf_free(&paged);
	return (char *)one.p;
}

static char *dump(struct db *d)
{
	return dump_vol(d, 0);
}

static void random_ops(struct db *d, uint32_t v, unsigned seed)
{
	char a[16], b[16];

	srand(seed);
	for (int i = 0; i < 5000; i++) {
		int k = rand() % 6;

		snprintf(a, sizeof(a), "n%d", rand() % 40);
		snprintf(b, sizeof(b), "n%d", rand() % 40);
		if (k == 0)
			mk(d, 0, v, GL_NS_MKNOD, GL_NS_ROOT, a, NULL);
		else if (k == 1)
			mk(d, 0, v, GL_NS_MKDIR, GL_NS_ROOT, a, NULL);
		else if (k == 2)
			rename_op(d, v, GL_NS_ROOT, a, GL_NS_ROOT, b, (uint32_t)(rand() % 3));
		else if (k == 3)
			unlink_op(d, v, GL_NS_UNLINK, GL_NS_ROOT, a);
		else if (k == 4)
			unlink_op(d, v, GL_NS_RMDIR, GL_NS_ROOT, a);
		else {
			struct gl_ns_attr at;

			if (lookup(d, 0, v, GL_NS_ROOT, a, &at) == 0 && S_ISREG(at.mode))
				write_ext(d, v, at.ino, (uint64_t)(rand() % 5000),
					  1 + rand() % 3000, (uint8_t)(rand() % 9), 0, 4000);
		}
	}
}

static void test_determinism(void **state)
{
	struct db d1, d2;
	char *s1, *s2;

	(void)state;
	db_open(&d1);
	db_open(&d2);
	random_ops(&d1, setup_volume(&d1, "acme", 0, 0), 42);
	random_ops(&d2, setup_volume(&d2, "acme", 0, 0), 42);
	s1 = dump(&d1);
	s2 = dump(&d2);
	assert_true(strlen(s1) > 100);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	db_close(&d1);
	db_close(&d2);
}

/* ---- moving a volume between shards (ns.h, "Moving a volume") ---- */

static int move_step(struct db *d, uint32_t vol, uint8_t stage, uint32_t to)
{
	struct gl_wbuf m = msg(d, GL_NS_VOL_MOVE, 0);

	gl_put_u32(&m, vol);
	gl_put_u8(&m, stage);
	gl_put_u32(&m, to);
	return apply(d, &m, NULL);
}

static uint32_t where(struct db *d, uint32_t vol)
{
	struct gl_wbuf m = msg(d, GL_NS_VOL_WHERE, 0), rep;
	struct gl_rbuf r;
	uint32_t shard;

	gl_put_u32(&m, vol);
	gl_wbuf_init(&rep);
	assert_int_equal(read_op(d, &m, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	shard = gl_get_u32(&r);
	gl_wbuf_free(&rep);
	return shard;
}

/* Copies vol from a to b in pages of at most max bytes; returns the pages. */
static int copy_vol(struct db *a, struct db *b, uint32_t vol, uint32_t to, uint32_t max)
{
	uint8_t after[512];
	uint16_t al = 0;
	int pages = 0;

	for (uint8_t done = 0; !done; pages++) {
		struct gl_wbuf m = msg(a, GL_NS_VOL_EXPORT, 0), rep, im;
		struct gl_rbuf r, s;
		uint32_t n;

		gl_put_u32(&m, vol);
		gl_put_u16(&m, al);
		gl_put_bytes(&m, after, al);
		gl_put_u32(&m, max);
		gl_wbuf_init(&rep);
		assert_int_equal(read_op(a, &m, &rep), 0);
		gl_rbuf_init(&r, rep.p, rep.len);
		done = gl_get_u8(&r);
		n = gl_get_u32(&r);
		s = r;
		for (uint32_t i = 0; i < n; i++) {
			uint16_t kl = gl_get_u16(&s);
			const uint8_t *k = gl_get_bytes(&s, kl);

			gl_get_bytes(&s, gl_get_u32(&s));
			assert_int_equal(gl_rbuf_check(&s), 0);
			memcpy(after, k, kl);
			al = kl;
		}
		im = msg(b, GL_NS_VOL_IMPORT, 0);
		gl_put_u32(&im, vol);
		gl_put_u32(&im, to);
		gl_put_u32(&im, n);
		gl_put_bytes(&im, r.p + r.off, gl_rbuf_left(&r));
		assert_int_equal(apply(b, &im, NULL), 0);
		gl_wbuf_free(&rep);
	}
	return pages;
}

/* The dump without the shard a "V" record names (what a move changes). */
static char *dump_noshard(struct db *d, uint32_t vol)
{
	char *s = dump_vol(d, vol), *p;

	while ((p = strstr(s, " shard=")) != NULL) {
		char *q = p + 7;

		while (*q >= '0' && *q <= '9')
			q++;
		memmove(p, q, strlen(q) + 1);
	}
	return s;
}

static void test_volume_move(void **state)
{
	struct db a, b; /* a: the source and the catalog (shard 0); b: the destination (shard 1) */
	struct gl_wbuf m;
	uint32_t v;
	uint64_t f, dir;
	char *before, *after, *left;
	int pages;

	(void)state;
	db_open(&a);
	db_open(&b);
	v = setup_volume(&a, "acme", 0, 0);
	assert_int_equal(mk(&a, 0, v, GL_NS_MKDIR, GL_NS_ROOT, "dir", &dir), 0);
	for (int i = 0; i < 40; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(mk(&a, 0, v, GL_NS_MKNOD, dir, name, &f), 0);
	}
	assert_int_equal(write_ext(&a, v, f, 0, 4096, 7, 0, 4096), 0);
	assert_int_equal(refs(&a, 7), 1);
	{ /* a block index entry and a block list (dedup), which move with the volume */
		struct gl_ns_extent e = dext(GL_NS_SLICE, 8192, 9, 0, 8192);

		m = dwrite_begin(&a, v, f, 1, &e);
		gl_put_u32(&m, 0);
		gl_put_u32(&m, 0);
		gl_put_u32(&m, 1);
		idx_put(&m, 0x11, 9, 8192, 4096);
		list_put(&m, 9, 2, 0x11);
		assert_int_equal(apply(&a, &m, NULL), 0);
	}

	/* nothing moves before the source is frozen; only the admin moves volumes */
	{
		struct gl_wbuf rep;

		m = msg(&a, GL_NS_VOL_EXPORT, 0);
		gl_put_u32(&m, v);
		gl_put_u16(&m, 0);
		gl_put_u32(&m, 0);
		gl_wbuf_init(&rep);
		assert_int_equal(read_op(&a, &m, &rep), -GL_EBUSY);
		gl_wbuf_free(&rep);
	}
	assert_int_equal(move_step(&b, v, GL_NS_MOVE_FREEZE, 1), -GL_ENOENT); /* not there */
	m = msg(&a, GL_NS_VOL_MOVE, 1);
	gl_put_u32(&m, v);
	gl_put_u8(&m, GL_NS_MOVE_FREEZE);
	gl_put_u32(&m, 1);
	assert_int_equal(apply(&a, &m, NULL), -GL_EPERM);

	assert_int_equal(move_step(&a, v, GL_NS_MOVE_FREEZE, 1), 0);
	assert_int_equal(move_step(&a, v, GL_NS_MOVE_FREEZE, 1), 0); /* idempotent */
	assert_int_equal(move_step(&a, v, GL_NS_MOVE_FREEZE, 2), -GL_EBUSY);
	/* frozen: writes are refused with EMOVED, reads go on */
	assert_int_equal(mk(&a, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "late", NULL), -GL_EMOVED);
	assert_int_equal(lookup(&a, 0, v, GL_NS_ROOT, "dir", NULL), 0);
	before = dump_noshard(&a, v);

	/* the destination takes records only while importing, and only the volume's own */
	m = msg(&b, GL_NS_VOL_IMPORT, 0);
	gl_put_u32(&m, v);
	gl_put_u32(&m, 1);
	gl_put_u32(&m, 0);
	assert_int_equal(apply(&b, &m, NULL), -GL_EINVAL);
	assert_int_equal(move_step(&b, v, GL_NS_MOVE_IN_BEGIN, 1), 0);
	{
		uint8_t k[13] = {'i'};

		k[4] = (uint8_t)(v + 1); /* another volume's inode */
		m = msg(&b, GL_NS_VOL_IMPORT, 0);
		gl_put_u32(&m, v);
		gl_put_u32(&m, 1);
		gl_put_u32(&m, 1);
		gl_put_u16(&m, sizeof(k));
		gl_put_bytes(&m, k, sizeof(k));
		gl_put_u32(&m, 1);
		gl_put_u8(&m, 0);
		assert_int_equal(apply(&b, &m, NULL), -GL_EPROTO);
	}
	assert_int_equal(lookup(&b, 0, v, GL_NS_ROOT, "dir", NULL), -GL_EMOVED); /* not live yet */
	pages = copy_vol(&a, &b, v, 1, 300);
	assert_true(pages > 5); /* small pages: the paging itself is tested */
	assert_int_equal(move_step(&b, v, GL_NS_MOVE_IN_END, 1), 0);
	after = dump_noshard(&b, v);
	assert_string_equal(before, after);
	assert_true(strstr(after, "\nb vol=") && strstr(after, "B vol="));
	assert_int_equal(refs(&b, 7), 1);
	assert_int_equal(dlist(&b, v, 9), 2);
	assert_int_equal(lookup(&b, 0, v, GL_NS_ROOT, "dir", NULL), 0);

	/* gone: everything at the source says EMOVED; the catalog switches; release drops the
	 * copy and its references but keeps the catalog record */
	assert_int_equal(move_step(&a, v, GL_NS_MOVE_GONE, 1), 0);
	assert_int_equal(lookup(&a, 0, v, GL_NS_ROOT, "dir", NULL), -GL_EMOVED);
	assert_int_equal(where(&a, v), 0);
	assert_int_equal(move_step(&a, v, GL_NS_MOVE_CATALOG, 1), 0);
	assert_int_equal(where(&a, v), 1);
	assert_int_equal(refs(&a, 7), 1); /* still held until the release */
	assert_int_equal(move_step(&a, v, GL_NS_MOVE_RELEASE, 1), 0);
	assert_int_equal(refs(&a, 7), 0);
	left = dump_vol(&a, v);
	for (char *line = left; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		assert_true(line[0] == 'V' || line[0] == 'm');
	/* the volume lives on at the destination */
	assert_int_equal(mk(&b, 0, v, GL_NS_MKNOD, GL_NS_ROOT, "late", NULL), 0);
	assert_int_equal(write_ext(&b, v, f, 4096, 4096, 8, 0, 4096), 0);
	assert_int_equal(refs(&b, 8), 1);
	free(before);
	free(after);
	free(left);
	db_close(&a);
	db_close(&b);
}

/* NS_LOCK / NS_GETLK / NS_SESSION (metadata/ns_lock.c) */
static int lk(struct db *d, uint16_t op, uint32_t vol, uint64_t ino, uint64_t session,
	      uint64_t owner, uint8_t kind, uint8_t type, uint64_t start, uint64_t end,
	      struct gl_wbuf *rep)
{
	struct gl_wbuf m = msg(d, op, 0);

	gl_put_u32(&m, vol);
	gl_put_u64(&m, ino);
	gl_put_u64(&m, session);
	gl_put_u64(&m, owner);
	gl_put_u32(&m, 42);
	gl_put_u8(&m, kind);
	gl_put_u8(&m, type);
	gl_put_u64(&m, start);
	gl_put_u64(&m, end);
	return op == GL_NS_GETLK ? read_op(d, &m, rep) : apply(d, &m, NULL);
}

#define P  GL_NS_LOCK_POSIX
#define F  GL_NS_LOCK_FLOCK
#define RD GL_NS_LOCK_RD
#define WR GL_NS_LOCK_WR
#define UN GL_NS_LOCK_UN

/* GETLK: 0 when nothing conflicts, else the conflicting lock's type; *s, *e its range */
static int getlk(struct db *d, uint32_t vol, uint64_t ino, uint64_t session, uint8_t type,
		 uint64_t start, uint64_t end, uint64_t *s, uint64_t *e)
{
	struct gl_wbuf rep;
	struct gl_rbuf r;
	int t = 0;

	gl_wbuf_init(&rep);
	assert_int_equal(lk(d, GL_NS_GETLK, vol, ino, session, 1, P, type, start, end, &rep), 0);
	gl_rbuf_init(&r, rep.p, rep.len);
	if (gl_get_u8(&r)) {
		t = gl_get_u8(&r);
		*s = gl_get_u64(&r);
		*e = gl_get_u64(&r);
		assert_int_equal(gl_get_u32(&r), 42);
		gl_get_u64(&r);
	}
	assert_int_equal(gl_rbuf_check(&r), 0);
	gl_wbuf_free(&rep);
	return t;
}

static void test_locks(void **state)
{
	struct db d;
	uint32_t vol;
	uint64_t ino, s = 0, e = 0;
	const uint64_t A = 0xa, B = 0xb, C = 0xc, END = UINT64_MAX;

	(void)state;
	db_open(&d);
	vol = setup_volume(&d, "t1", 0, 0);
	assert_int_equal(mk(&d, 0, vol, GL_NS_MKNOD, GL_NS_ROOT, "f", &ino), 0);

	/* write lock against read lock, across sessions; read locks share */
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, A, 1, P, WR, 0, 99, NULL), 0);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, B, 1, P, RD, 50, 60, NULL), -GL_EAGAIN);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, B, 1, P, RD, 100, 200, NULL), 0);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, A, 1, P, RD, 150, 160, NULL), 0);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, A, 1, P, WR, 150, 160, NULL), -GL_EAGAIN);
	/* another owner of the same session is another holder */
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, A, 2, P, WR, 10, 10, NULL), -GL_EAGAIN);
	/* flock and POSIX locks never conflict; flock locks do among themselves */
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, B, 7, F, WR, 0, END, NULL), 0);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, A, 7, F, RD, 0, END, NULL), -GL_EAGAIN);

	/* unlocking the middle splits A's write lock: [0,39] and [60,99] remain */
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, A, 1, P, UN, 40, 59, NULL), 0);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, B, 1, P, WR, 45, 55, NULL), 0);
	assert_int_equal(getlk(&d, vol, ino, C, WR, 0, 10, &s, &e), WR);
	assert_true(s == 0 && e == 39);
	assert_int_equal(getlk(&d, vol, ino, C, WR, 61, 70, &s, &e), WR);
	assert_true(s == 60 && e == 99);
	assert_int_equal(getlk(&d, vol, ino, C, RD, 101, 140, &s, &e), 0); /* B's is RD */
	assert_int_equal(getlk(&d, vol, ino, C, WR, 300, END, &s, &e), 0);
	/* an owner's own locks never conflict with it: converting A's [60,99] to read */
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, A, 1, P, RD, 60, 99, NULL), 0);
	assert_int_equal(getlk(&d, vol, ino, C, RD, 61, 70, &s, &e), 0);

	/* A stops renewing: after the ttl its locks are void and dropped */
	d.now += (int64_t)(GL_NS_LOCK_TTL + 1) * 1000000000;
	assert_int_equal(lk(&d, GL_NS_SESSION, vol, 0, 0, 0, 0, 0, 0, 0, NULL) != 0, 1);
	{
		struct gl_wbuf m = msg(&d, GL_NS_SESSION, 0);

		gl_put_u64(&m, B);
		gl_put_u32(&m, GL_NS_LOCK_TTL);
		assert_int_equal(apply(&d, &m, NULL), 0);
	}
	assert_int_equal(getlk(&d, vol, ino, C, WR, 0, 10, &s, &e), 0);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, C, 1, P, WR, 0, 40, NULL), 0);
	/* B renewed: its locks hold */
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, C, 1, P, WR, 45, 45, NULL), -GL_EAGAIN);
	/* B ends its session: its locks go at once */
	{
		struct gl_wbuf m = msg(&d, GL_NS_SESSION, 0);

		gl_put_u64(&m, B);
		gl_put_u32(&m, 0);
		assert_int_equal(apply(&d, &m, NULL), 0);
	}
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, C, 1, P, WR, 45, END, NULL), 0);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, C, 9, F, WR, 0, END, NULL), 0);

	/* bad input */
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, C, 1, 5, WR, 0, 1, NULL), -GL_EINVAL);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, C, 1, P, 9, 0, 1, NULL), -GL_EINVAL);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, C, 1, P, WR, 5, 1, NULL), -GL_EINVAL);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, ino, 0, 1, P, WR, 0, 1, NULL), -GL_EINVAL);
	assert_int_equal(lk(&d, GL_NS_LOCK, vol, 999, C, 1, P, WR, 0, 1, NULL), -GL_ENOENT);
	{
		struct gl_wbuf m = msg(&d, GL_NS_LOCK, 77); /* another tenant */

		gl_put_u32(&m, vol);
		gl_put_u64(&m, ino);
		gl_put_u64(&m, C);
		gl_put_u64(&m, 1);
		gl_put_u32(&m, 1);
		gl_put_u8(&m, P);
		gl_put_u8(&m, WR);
		gl_put_u64(&m, 0);
		gl_put_u64(&m, 1);
		assert_int_equal(apply(&d, &m, NULL), -GL_ENOENT);
	}

	/* freeing the file drops its lock records */
	{
		struct gl_wbuf m = msg(&d, GL_NS_UNLINK, 0);
		char *dump;

		gl_put_u32(&m, vol);
		gl_put_u64(&m, GL_NS_ROOT);
		gl_put_str(&m, "f");
		gl_put_u8(&m, 0);
		assert_int_equal(apply(&d, &m, NULL), 0);
		dump = dump_vol(&d, 0);
		assert_null(strstr(dump, "\nL"));
		free(dump);
	}
	db_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree),
	    cmocka_unit_test(test_readdir_cookies),
	    cmocka_unit_test(test_layout_model),
	    cmocka_unit_test(test_layout_model_batched),
	    cmocka_unit_test(test_punch_clone),
	    cmocka_unit_test(test_dedup_index),
	    cmocka_unit_test(test_quota_and_tenants),
	    cmocka_unit_test(test_hostile_messages),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_volume_move),
	    cmocka_unit_test(test_locks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

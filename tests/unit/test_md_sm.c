/* The shard state machine (metadata/md_sm.h) on real RocksDB databases: a retried request gets
 * its first outcome back instead of running twice; outcomes are forgotten after
 * GL_MD_REQ_KEEP_S; and forgetting is deterministic: a member that restarts (and so lost its
 * in-memory scan floor) or sees time go backwards (a new leader with a slower clock) writes
 * exactly what the others write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "metadata/md_sm.h"
#include "metadata/ns.h"
#include "metadata/rpc.h"

#define SEC 1000000000LL

struct member {
	rocksdb_t *db;
	struct gl_md_sm sm;
	char dir[64];
};

static rocksdb_writeoptions_t *wo;

static void member_open(struct member *m)
{
	rocksdb_options_t *o = rocksdb_options_create();
	char *err = NULL;

	snprintf(m->dir, sizeof(m->dir), "/tmp/glory-mdsm.XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	rocksdb_options_set_create_if_missing(o, 1);
	m->db = rocksdb_open(o, m->dir, &err);
	rocksdb_options_destroy(o);
	assert_null(err);
	if (!wo)
		wo = rocksdb_writeoptions_create();
	gl_md_sm_init(&m->sm);
}

static void member_close(struct member *m)
{
	char cmd[128];

	rocksdb_close(m->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", m->dir);
	assert_int_equal(system(cmd), 0);
}

/* Applies "create tenant NAME" as request (client, id) at time now, as rsm does: the batch is
 * written whether or not the operation failed (the outcome table may change either way). */
static int apply(struct member *m, uint64_t client, uint64_t id, int64_t now, const char *name,
		 uint32_t *tenant)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	struct gl_wbuf e, rep;
	char *err = NULL;
	uint8_t h[GL_MD_ENTRY_HDR];
	int rc;

	h[0] = 1;
	gl_le64(h + 1, client);
	gl_le64(h + 9, id);
	gl_wbuf_init(&e);
	gl_wbuf_init(&rep);
	gl_put_bytes(&e, h, sizeof(h));
	gl_ns_hdr_put(&e, GL_NS_TENANT_CREATE, 0, now);
	gl_put_str(&e, name);
	rc = m->sm.sm.apply(m->sm.sm.ctx, m->db, wb, e.p, e.len, &rep);
	if (rc)
		rocksdb_writebatch_clear(wb);
	rocksdb_write(m->db, wo, wb, &err);
	assert_null(err);
	rocksdb_writebatch_destroy(wb);
	if (rc == 0 && tenant) {
		assert_true(rep.len >= 4);
		*tenant = gl_rd32(rep.p);
	}
	gl_wbuf_free(&e);
	gl_wbuf_free(&rep);
	return rc;
}

/* Every key and value, in order (the database's whole state); *nq: outcomes remembered. */
static struct gl_wbuf dump(struct member *m, size_t *nq)
{
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_iterator_t *it = rocksdb_create_iterator(m->db, ro);
	struct gl_wbuf out;

	gl_wbuf_init(&out);
	*nq = 0;
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);

		if (kl >= 2 && k[0] == 1 && k[1] == 'q')
			(*nq)++;
		gl_put_u32(&out, (uint32_t)kl);
		gl_put_bytes(&out, k, kl);
		gl_put_u32(&out, (uint32_t)vl);
		gl_put_bytes(&out, v, vl);
	}
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	return out;
}

static void same_state(struct member *a, struct member *b, size_t *nq)
{
	size_t na, nb;
	struct gl_wbuf da = dump(a, &na), db = dump(b, &nb);

	assert_int_equal(na, nb);
	assert_int_equal(da.len, db.len);
	assert_memory_equal(da.p, db.p, da.len);
	gl_wbuf_free(&da);
	gl_wbuf_free(&db);
	*nq = na;
}

static void test_retry_answers_first_outcome(void **state)
{
	struct member m;
	uint32_t t1 = 0, t2 = 0;

	(void)state;
	member_open(&m);
	assert_int_equal(apply(&m, 7, 1, 100 * SEC, "alpha", &t1), 0);
	/* the same request again (a client retry after a lost reply): same answer, not EEXIST */
	assert_int_equal(apply(&m, 7, 1, 101 * SEC, "alpha", &t2), 0);
	assert_int_equal(t1, t2);
	/* a new request for the same name runs and fails */
	assert_int_equal(apply(&m, 7, 2, 102 * SEC, "alpha", NULL), -GL_EEXIST);
	/* once the outcome is forgotten, the old request id runs again */
	assert_int_equal(apply(&m, 8, 1, (102 + GL_MD_REQ_KEEP_S + 1) * SEC, "beta", NULL), 0);
	assert_int_equal(apply(&m, 7, 1, (103 + GL_MD_REQ_KEEP_S + 1) * SEC, "alpha", NULL),
			 -GL_EEXIST);
	member_close(&m);
}

static void test_forgetting_is_deterministic(void **state)
{
	struct member a, b;
	int64_t t = 1000 * SEC;
	uint64_t id = 1;
	size_t nq = 0, peak = 0;
	char name[32];

	(void)state;
	member_open(&a);
	member_open(&b);
	/* 400 requests over 800 s (old ones start expiring halfway), b restarting now and then,
	 * the clock stepping back 30 s twice (a new leader whose clock is behind) */
	for (int i = 0; i < 400; i++) {
		if (i == 150 || i == 330)
			t -= 30 * SEC;
		if (i % 97 == 13)
			gl_md_sm_init(&b.sm); /* b restarted: its floor is unknown again */
		snprintf(name, sizeof(name), "t%d", i);
		assert_int_equal(apply(&a, 1 + (uint64_t)(i % 3), id, t, name, NULL), 0);
		assert_int_equal(apply(&b, 1 + (uint64_t)(i % 3), id, t, name, NULL), 0);
		id++;
		t += 2 * SEC;
		same_state(&a, &b, &nq);
		if (nq > peak)
			peak = nq;
	}
	/* outcomes were forgotten (at most KEEP_S / 2 s of them remembered, plus the slack of
	 * 16 per write and the clock steps) */
	assert_true(peak < 400);
	assert_true(nq <= GL_MD_REQ_KEEP_S / 2 + 40);
	/* quiet, then one request far later: everything old goes, on both alike */
	for (int i = 0; i < 40; i++) {
		t += 2 * GL_MD_REQ_KEEP_S * SEC;
		snprintf(name, sizeof(name), "late%d", i);
		if (i == 5)
			gl_md_sm_init(&a.sm);
		assert_int_equal(apply(&a, 9, id, t, name, NULL), 0);
		assert_int_equal(apply(&b, 9, id, t, name, NULL), 0);
		id++;
		same_state(&a, &b, &nq);
	}
	assert_int_equal(nq, 1); /* only the newest request is remembered */
	member_close(&a);
	member_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_answers_first_outcome),
	    cmocka_unit_test(test_forgetting_is_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

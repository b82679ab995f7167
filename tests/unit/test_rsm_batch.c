/* Entries that carry several proposals (metadata/rsm.c batches what waits while entries are in
 * flight): every record is applied in order, each seeing the earlier ones' writes; a member that
 * stopped in the middle of an entry resumes after the records it had stored and applies none
 * twice; a replayed entry is skipped; a malformed record stops nothing. Driven through the FSM
 * alone (metadata/rsm_internal.h) with a stand-in raft whose applied index we set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <raft.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/errors.h"
#include "metadata/rsm.h"
#include "metadata/rsm_internal.h"

static int calls;
static char order[64];

/* The machine: op "k" stores key k with value = the number of keys stored before it (read from
 * the database, so a record sees the records applied before it). */
static int count_apply(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *op,
		       size_t len, struct gl_wbuf *reply)
{
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
	char v[16];
	int n = 0;

	(void)ctx;
	(void)reply;
	for (rocksdb_iter_seek(it, "a", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it))
		n++;
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	snprintf(v, sizeof(v), "%d", n);
	rocksdb_writebatch_put(wb, (const char *)op, len, v, strlen(v));
	calls++;
	strncat(order, (const char *)op, len);
	return 0;
}

static const struct gl_rsm_sm sm = {NULL, count_apply, NULL};

/* Records as rsm.c writes them: u64 proposer, u64 seq, u64 length, op padded to 8. */
static struct raft_buffer entry(const char *const *ops, int n)
{
	struct raft_buffer b = {raft_calloc(1, 4096), 0};

	for (int i = 0; i < n; i++) {
		size_t len = strlen(ops[i]);

		gl_le64((uint8_t *)b.base + b.len + 8, (uint64_t)i + 1);
		gl_le64((uint8_t *)b.base + b.len + 16, len);
		memcpy((uint8_t *)b.base + b.len + 24, ops[i], len);
		b.len += (24 + len + 7) & ~(size_t)7;
	}
	return b;
}

static char dir[64];
static struct gl_rsm *r;
static struct raft_fsm *fsm;
static union {
	struct raft raft;
	char pad[1 << 14];
} fake; /* only last_applied is read */

static void member_open(void)
{
	struct gl_rsm_cfg c = {0};

	c.dir = dir;
	c.id = 1;
	c.rpc_addr = "node0";
	c.sm = &sm;
	assert_int_equal(gl_rsm_fsm_open(&c, &fsm, &r), 0);
	gl_rsm_fsm_bind(r, &fake.raft);
}

static void apply_at(raft_index index, const char *const *ops, int n)
{
	struct raft_buffer b = entry(ops, n);
	void *result;

	fake.raft.last_applied = index - 1;
	assert_int_equal(fsm->apply(fsm, &b, &result), 0);
	raft_free(b.base);
}

static char *get(const char *key)
{
	rocksdb_t *db = gl_rsm_read_begin(r);
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	char *err = NULL, *v, *out;
	size_t vl;

	v = rocksdb_get(db, ro, key, strlen(key), &vl, &err);
	rocksdb_readoptions_destroy(ro);
	gl_rsm_read_end(r);
	assert_null(err);
	if (!v)
		return NULL;
	out = strndup(v, vl);
	rocksdb_free(v);
	return out;
}

static void assert_value(const char *key, const char *want)
{
	char *v = get(key);

	if (!want) {
		assert_null(v);
		return;
	}
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static size_t applied_len(uint64_t *index)
{
	rocksdb_t *db = gl_rsm_read_begin(r);
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	char *err = NULL, *v;
	size_t vl = 0;

	v = rocksdb_get(db, ro, GL_RSM_APPLIED_KEY, GL_RSM_APPLIED_KLEN, &vl, &err);
	rocksdb_readoptions_destroy(ro);
	gl_rsm_read_end(r);
	assert_non_null(v);
	*index = gl_rd64((const uint8_t *)v);
	rocksdb_free(v);
	return vl;
}

static void test_batch(void **state)
{
	static const char *const e1[] = {"a1", "a2", "a3"};
	static const char *const e2[] = {"b1", "b2", "b3"};
	static const char *const e3[] = {"c1"};
	char cmd[128], *err = NULL;
	uint64_t idx;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/glory-rsmbatch.XXXXXX");
	assert_non_null(mkdtemp(dir));
	member_open();

	/* one entry, three records: each sees the ones before it */
	apply_at(1, e1, 3);
	assert_int_equal(calls, 3);
	assert_string_equal(order, "a1a2a3");
	assert_value("a1", "0");
	assert_value("a2", "1");
	assert_value("a3", "2");
	assert_int_equal(applied_len(&idx), 8);
	assert_int_equal(idx, 1);

	/* a stop in the middle of entry 2, after its first record was stored: the database holds
	 * b1 and the position (1, one record of entry 2) */
	gl_rsm_fsm_close(r);
	{
		char path[128];
		rocksdb_options_t *o = gl_rsm_db_options();
		rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
		rocksdb_t *db;
		uint8_t pos[12];

		snprintf(path, sizeof(path), "%s/db", dir);
		db = rocksdb_open(o, path, &err);
		assert_null(err);
		gl_le64(pos, 1);
		gl_le32(pos + 8, 1);
		rocksdb_put(db, wo, "b1", 2, "3", 1, &err);
		rocksdb_put(db, wo, GL_RSM_APPLIED_KEY, GL_RSM_APPLIED_KLEN, (char *)pos, 12, &err);
		assert_null(err);
		rocksdb_close(db);
		rocksdb_writeoptions_destroy(wo);
		rocksdb_options_destroy(o);
	}
	member_open();
	calls = 0;
	order[0] = '\0';
	apply_at(2, e2, 3); /* the replay after the restart */
	assert_int_equal(calls, 2);
	assert_string_equal(order, "b2b3");
	assert_value("b2", "4");
	assert_value("b3", "5");
	assert_int_equal(applied_len(&idx), 8);
	assert_int_equal(idx, 2);

	/* a whole entry replayed again: skipped */
	calls = 0;
	apply_at(2, e2, 3);
	assert_int_equal(calls, 0);

	/* the position survives a clean restart */
	gl_rsm_fsm_close(r);
	member_open();
	apply_at(2, e2, 3);
	assert_int_equal(calls, 0);

	/* a record whose length runs past the entry: the records before it apply, nothing else */
	{
		struct raft_buffer b = entry(e3, 1);
		void *result;

		gl_le64((uint8_t *)b.base + 16, 1000);
		fake.raft.last_applied = 2;
		assert_int_equal(fsm->apply(fsm, &b, &result), 0);
		raft_free(b.base);
		assert_int_equal(calls, 0);
		assert_value("c1", NULL);
	}
	apply_at(4, e3, 1);
	assert_int_equal(calls, 1);
	assert_value("c1", "6");

	gl_rsm_fsm_close(r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

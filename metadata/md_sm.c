/* The state machine of a metadata shard: see md_sm.h. */
#include "metadata/md_sm.h"

#include "common/buf.h"
#include "common/errors.h"
#include "metadata/ns.h"
#include "metadata/rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MD_NS_HDR_LEN 14 /* u16 op, u32 tenant, i64 now */
#define REQ_GC_BATCH  16 /* forgotten requests dropped per write */

static rocksdb_readoptions_t *shard_ro;
static pthread_once_t shard_ro_once = PTHREAD_ONCE_INIT;

static void shard_ro_make(void)
{
	shard_ro = rocksdb_readoptions_create(); /* shared, never freed */
}

static size_t req_key(uint8_t *k, uint64_t client, uint64_t id)
{
	k[0] = 1;
	k[1] = 'q';
	for (int i = 0; i < 8; i++) {
		k[2 + i] = (uint8_t)(client >> (56 - 8 * i));
		k[10 + i] = (uint8_t)(id >> (56 - 8 * i));
	}
	return 18;
}

static int64_t req_time(const uint8_t *k)
{
	uint64_t t = 0;

	for (int i = 0; i < 8; i++)
		t = t << 8 | k[2 + i];
	return (int64_t)(t ^ (1ull << 63));
}

/* Drops up to REQ_GC_BATCH outcomes older than GL_MD_REQ_KEEP_S. Deterministic: *floor only
 * skips what holds no remembered request (a scan from it sees the same keys as one from the
 * start of the range), so every member writes the same deletions. */
static void forget_old_requests(rocksdb_t *db, rocksdb_writebatch_t *wb, int64_t now,
				int64_t *floor)
{
	int64_t limit = now - (int64_t)GL_MD_REQ_KEEP_S * 1000000000;
	rocksdb_readoptions_t *ro;
	rocksdb_iterator_t *it;
	uint8_t start[10];
	int n = 0;

	if (*floor > limit)
		return; /* nothing is old enough */
	start[0] = 1;
	start[1] = 't';
	if (*floor == INT64_MIN) {
		memset(start + 2, 0, 8);
	} else {
		uint64_t f = (uint64_t)*floor ^ (1ull << 63);

		for (int i = 0; i < 8; i++)
			start[2 + i] = (uint8_t)(f >> (56 - 8 * i));
	}
	ro = rocksdb_readoptions_create();
	it = rocksdb_create_iterator(db, ro);
	*floor = INT64_MAX; /* until a remembered request is seen */
	for (rocksdb_iter_seek(it, (const char *)start, 10); rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t kl;
		const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
		uint8_t qk[18];

		if (kl != 26 || k[0] != 1 || k[1] != 't')
			break;
		if (req_time(k) > limit || n == REQ_GC_BATCH) {
			*floor = req_time(k);
			break;
		}
		rocksdb_writebatch_delete(wb, (const char *)k, kl);
		memcpy(qk, "\x01q", 2);
		memcpy(qk + 2, k + 10, 16);
		rocksdb_writebatch_delete(wb, (const char *)qk, 18);
		n++;
	}
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
}

static void md_reset(void *ctx, rocksdb_t *db)
{
	struct gl_md_sm *m = ctx;

	(void)db;
	m->req_floor = INT64_MIN; /* a snapshot replaced the database */
}

/* Deterministic like gl_ns_apply: the outcome of a known request is answered again; a new
 * one is applied and its outcome remembered in the same batch. */
static int md_apply(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *op,
		    size_t len, struct gl_wbuf *reply)
{
	struct gl_md_sm *m = ctx;
	uint64_t client, id;
	uint8_t k[18], tk[26];
	struct gl_wbuf scratch;
	char *err = NULL, *v;
	size_t vl;
	int64_t now;
	int rc;

	if (len < GL_MD_ENTRY_HDR + MD_NS_HDR_LEN)
		return -GL_EPROTO;
	if (!op[0])
		return gl_ns_apply(NULL, db, wb, op + GL_MD_ENTRY_HDR, len - GL_MD_ENTRY_HDR,
				   reply);
	client = gl_rd64(op + 1);
	id = gl_rd64(op + 9);
	pthread_once(&shard_ro_once, shard_ro_make);
	v = rocksdb_get(db, shard_ro, (const char *)k, req_key(k, client, id), &vl, &err);
	if (err) {
		rocksdb_free(err);
		return -GL_EDB;
	}
	if (v) { /* a retry: the first attempt's outcome */
		rc = vl >= 4 ? (int)gl_rd32((const uint8_t *)v) : -GL_ECORRUPT;
		if (reply && vl > 4)
			gl_put_bytes(reply, v + 4, vl - 4);
		rocksdb_free(v);
		return rc;
	}
	gl_wbuf_init(&scratch);
	if (!reply)
		reply = &scratch;
	rc = gl_ns_apply(NULL, db, wb, op + GL_MD_ENTRY_HDR, len - GL_MD_ENTRY_HDR, reply);
	now = (int64_t)gl_rd64(op + GL_MD_ENTRY_HDR + 6);
	if (rc) {
		/* nothing changed: a retry may simply run again */
		gl_wbuf_free(&scratch);
		return rc;
	}
	{
		struct gl_wbuf val;
		uint64_t t = (uint64_t)now ^ (1ull << 63); /* sorts like the signed time */

		gl_wbuf_init(&val);
		gl_put_u32(&val, (uint32_t)rc);
		gl_put_bytes(&val, reply->p, reply->len);
		rocksdb_writebatch_put(wb, (const char *)k, 18, (const char *)val.p, val.len);
		gl_wbuf_free(&val);
		tk[0] = 1;
		tk[1] = 't';
		for (int i = 0; i < 8; i++)
			tk[2 + i] = (uint8_t)(t >> (56 - 8 * i));
		memcpy(tk + 10, k + 2, 16);
		rocksdb_writebatch_put(wb, (const char *)tk, 26, "", 0);
	}
	forget_old_requests(db, wb, now, &m->req_floor);
	if (now < m->req_floor) /* after the scan: it reads the database, not this batch */
		m->req_floor = now;
	gl_wbuf_free(&scratch);
	return 0;
}

void gl_md_sm_init(struct gl_md_sm *s)
{
	memset(s, 0, sizeof(*s));
	s->sm.ctx = s;
	s->sm.apply = md_apply;
	s->sm.reset = md_reset;
	s->req_floor = INT64_MIN;
}

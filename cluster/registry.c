/* The chunk and blob registry of the master: reference counts, blob records, and garbage
 * collection of chunks nobody references any more (after the grace period, never earlier).
 *
 * Put protocol (client side in gateways/libglory):
 *   1. MS_CHUNK_PREP for the blob's chunks: new chunks become WRITING under a lease; existing ones
 *      are reported so the client skips them (dedup); chunks being deleted say "retry".
 *   2. The client writes the fragments of WRITING chunks to the data servers (durable).
 *   3. MS_BLOB_PUT commits the blob record and every chunk reference in one synced batch. A chunk
 *      that vanished in between (GC, expired lease) fails the commit with -GL_EAGAIN: redo it.
 * A crash anywhere leaves either a committed blob or WRITING chunks whose lease expires; GC then
 * deletes their fragments. A data server's fragments of a chunk the registry does not know are
 * removed by that server's repair pass (storage/ds_repair.c).
 */
#include "cluster/master_internal.h"

#include "cluster/placement.h"
#include "common/errors.h"
#include "common/log.h"
#include "metadata/md_client.h"
#include "metadata/ns.h"
#include "storage/chunkid.h"
#include "storage/client.h"
#include "storage/rpc.h"

#include <stdlib.h>
#include <string.h>

#define CKEY_LEN (1 + 4 + GL_CHUNK_ID_LEN)
#define BKEY_LEN (1 + GL_CHUNK_ID_LEN)

struct centry {
	uint8_t state;
	uint64_t refs;
	uint32_t len;
	uint64_t t;
};

static void ckey(uint8_t k[CKEY_LEN], uint32_t pool, const uint8_t *id)
{
	k[0] = 'C';
	k[1] = (uint8_t)(pool >> 24);
	k[2] = (uint8_t)(pool >> 16);
	k[3] = (uint8_t)(pool >> 8);
	k[4] = (uint8_t)pool;
	memcpy(k + 5, id, GL_CHUNK_ID_LEN);
}

static void bkey(uint8_t k[BKEY_LEN], const uint8_t *id)
{
	k[0] = 'B';
	memcpy(k + 1, id, GL_CHUNK_ID_LEN);
}

static int centry_decode(const char *v, size_t vl, struct centry *e)
{
	struct gl_rbuf r;

	gl_rbuf_init(&r, v, vl);
	e->state = gl_get_u8(&r);
	e->refs = gl_get_u64(&r);
	e->len = gl_get_u32(&r);
	e->t = gl_get_u64(&r);
	if (gl_rbuf_check(&r) || e->state < GL_CHUNK_WRITING || e->state > GL_CHUNK_DELETING)
		return -GL_ECORRUPT;
	return 0;
}

static void centry_put(rocksdb_writebatch_t *wb, const uint8_t *k, const struct centry *e)
{
	uint8_t v[21];

	v[0] = e->state;
	gl_le64(v + 1, e->refs);
	gl_le32(v + 9, e->len);
	gl_le64(v + 13, e->t);
	rocksdb_writebatch_put(wb, (const char *)k, CKEY_LEN, (const char *)v, sizeof(v));
}

/* 1 found, 0 absent, <0 error. */
static int centry_get(struct ms *ms, const uint8_t *k, struct centry *e)
{
	char *err = NULL, *v;
	size_t vl;
	int rc;

	v = rocksdb_get(ms->db, ms->ropt, (const char *)k, CKEY_LEN, &vl, &err);
	if (err) {
		gl_error("master: registry read: %s", err);
		rocksdb_free(err);
		return -GL_EDB;
	}
	if (!v)
		return 0;
	rc = centry_decode(v, vl, e);
	rocksdb_free(v);
	return rc ? rc : 1;
}

static int write_batch(struct ms *ms, rocksdb_writebatch_t *wb, int sync)
{
	(void)sync; /* every commit is durable on a majority of masters */
	return ms_commit(ms, wb);
}

/* Commits go through raft (ms_commit) and are durable when they return: nothing to wait for. */
uint64_t ms_wal_ticket(struct ms *ms)
{
	(void)ms;
	return 0;
}

int ms_wal_sync(struct ms *ms, uint64_t ticket)
{
	(void)ms;
	(void)ticket;
	return 0;
}

int ms_registry_load(struct ms *ms)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator(ms->db, ms->ropt);
	int rc = 0;

	memset(&ms->cnt, 0, sizeof(ms->cnt));
	for (rocksdb_iter_seek(it, "B", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);

		if (k[0] != 'B')
			break;
		if (vl < 20)
			continue;
		ms->cnt.blobs++;
		ms->cnt.logical += gl_rd64(v + 4) * gl_rd64(v + 12);
	}
	for (rocksdb_iter_seek(it, "C", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		struct centry e;

		if (k[0] != 'C')
			break;
		if (centry_decode(v, vl, &e))
			continue;
		if (e.state == GL_CHUNK_COMMITTED) {
			ms->cnt.chunks++;
			ms->cnt.chunk_bytes += e.len;
			if (!e.refs)
				ms->cnt.gc_pending++;
		}
	}
	rocksdb_iter_destroy(it);
	return rc;
}

int ms_h_chunk_prep(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	rocksdb_writebatch_t *wb;
	struct gl_rbuf r;
	uint32_t pool, n;
	uint64_t now = ms_now_ms();
	struct gl_scheme s;
	int rc = 0;

	gl_rbuf_init(&r, req->args, req->args_len);
	pool = gl_get_u32(&r);
	n = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || n > GL_PREP_MAX || gl_rbuf_left(&r) != (size_t)n * 36 ||
	    gl_scheme_from_pool(pool, &s))
		return -GL_EPROTO;
	wb = rocksdb_writebatch_create();
	gl_put_u32(rep->args, n);
	pthread_mutex_lock(&ms->lock);
	for (uint32_t i = 0; i < n && !rc; i++) {
		const uint8_t *id = gl_get_bytes(&r, GL_CHUNK_ID_LEN);
		uint32_t len = gl_get_u32(&r);
		uint8_t k[CKEY_LEN];
		struct centry e;
		int found;

		if (len == 0 || len > GL_CHUNK_MAX) {
			rc = -GL_EINVAL;
			break;
		}
		ckey(k, pool, id);
		found = centry_get(ms, k, &e);
		if (found < 0) {
			rc = found;
			break;
		}
		if (found && e.state == GL_CHUNK_COMMITTED) {
			/* No blob holds it: a file layout may be about to (dedup). Restart its
			 * grace period so GC cannot delete it before that commit. */
			if (e.refs == 0) {
				e.t = now;
				centry_put(wb, k, &e);
			}
			gl_put_u8(rep->args, GL_PREP_EXISTS);
			continue;
		}
		if (found && e.state == GL_CHUNK_DELETING) {
			gl_put_u8(rep->args, GL_PREP_RETRY);
			continue;
		}
		/* absent or WRITING: (re)start the lease */
		e = (struct centry){GL_CHUNK_WRITING, 0, len,
				    now + (uint64_t)(ms->cfg.write_lease * 1000)};
		centry_put(wb, k, &e);
		gl_put_u8(rep->args, GL_PREP_WRITE);
	}
	if (!rc)
		rc = write_batch(ms, wb, 0);
	pthread_mutex_unlock(&ms->lock);
	rocksdb_writebatch_destroy(wb);
	return rc;
}

struct cref {
	const uint8_t *id;
	uint32_t len;
	uint32_t count;
};

static int cref_cmp(const void *a, const void *b)
{
	return memcmp(((const struct cref *)a)->id, ((const struct cref *)b)->id, GL_CHUNK_ID_LEN);
}

/* Sorts the chunk list and merges duplicates (counting them). Returns unique count or <0. */
static int unique_chunks(const uint8_t *list, uint32_t n, int with_len, struct cref **out)
{
	struct cref *c = calloc(n ? n : 1, sizeof(*c));
	uint32_t u = 0, stride = GL_CHUNK_ID_LEN + (with_len ? 4 : 0);

	if (!c)
		return -GL_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		c[i].id = list + (size_t)i * stride;
		c[i].len = with_len ? gl_rd32(list + (size_t)i * stride + GL_CHUNK_ID_LEN) : 0;
		c[i].count = 1;
	}
	qsort(c, n, sizeof(*c), cref_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if (u && memcmp(c[u - 1].id, c[i].id, GL_CHUNK_ID_LEN) == 0)
			c[u - 1].count++;
		else
			c[u++] = c[i];
	}
	*out = c;
	return (int)u;
}

int ms_h_blob_put(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	rocksdb_writebatch_t *wb = NULL;
	struct gl_rbuf r;
	struct gl_scheme s;
	struct cref *u = NULL;
	const uint8_t *list;
	uint8_t blob[GL_CHUNK_ID_LEN], k[CKEY_LEN], bk[BKEY_LEN], hdr[16];
	uint32_t pool, n;
	uint64_t size, sum = 0, refs = 0, ticket = 0;
	int nu, rc = 0;
	char *err = NULL, *v;
	size_t vl;

	gl_rbuf_init(&r, req->args, req->args_len);
	pool = gl_get_u32(&r);
	size = gl_get_u64(&r);
	n = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || n > GL_BLOB_MAX_CHUNKS || gl_rbuf_left(&r) != (size_t)n * 36 ||
	    gl_scheme_from_pool(pool, &s))
		return -GL_EPROTO;
	list = gl_get_bytes(&r, (size_t)n * 36);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = gl_rd32(list + (size_t)i * 36 + 32);

		if (len == 0 || len > GL_CHUNK_MAX)
			return -GL_EINVAL;
		sum += len;
	}
	if (sum != size)
		return -GL_EINVAL;
	/* blob id = HMAC(key, "blob" | pool | size | chunk list): the same content in the same
	 * pool is the same blob */
	gl_le32(hdr, pool);
	gl_le64(hdr + 4, size);
	memcpy(hdr + 12, "blob", 4);
	nu = unique_chunks(list, n, 1, &u);
	if (nu < 0)
		return nu;
	wb = rocksdb_writebatch_create();
	pthread_mutex_lock(&ms->lock);
	if (!ms->leading || !ms->idctx) { /* stepped down since the request came in */
		rc = -GL_EUNAVAIL;
		goto out_unlock;
	}
	{
		/* under the lock: a takeover replaces idctx */
		const void *parts[2] = {hdr, list};
		size_t lens[2] = {sizeof(hdr), (size_t)n * 36};

		rc = gl_idctx_mac(ms->idctx, 2, parts, lens, blob);
		if (rc)
			goto out_unlock;
	}
	for (int i = 0; i < nu; i++) {
		struct centry e;
		int found;

		ckey(k, pool, u[i].id);
		found = centry_get(ms, k, &e);
		if (found < 0) {
			rc = found;
			goto out_unlock;
		}
		if (!found || e.state == GL_CHUNK_DELETING || e.len != u[i].len) {
			/* report the first list position of this chunk */
			for (uint32_t j = 0; j < n; j++)
				if (memcmp(list + (size_t)j * 36, u[i].id, GL_CHUNK_ID_LEN) == 0) {
					gl_put_u32(rep->args, j);
					break;
				}
			rc = -GL_EAGAIN;
			goto out_unlock;
		}
	}
	for (int i = 0; i < nu; i++) {
		struct centry e;

		ckey(k, pool, u[i].id);
		centry_get(ms, k, &e);
		if (e.state == GL_CHUNK_WRITING) {
			e.state = GL_CHUNK_COMMITTED;
			e.refs = 0;
			ms->cnt.chunks++;
			ms->cnt.chunk_bytes += e.len;
		} else if (e.refs == 0) {
			ms->cnt.gc_pending--;
		}
		e.refs += u[i].count;
		e.t = 0;
		centry_put(wb, k, &e);
	}
	bkey(bk, blob);
	v = rocksdb_get(ms->db, ms->ropt, (char *)bk, BKEY_LEN, &vl, &err);
	if (err) {
		rocksdb_free(err);
		rc = -GL_EDB;
		goto out_unlock;
	}
	if (v && vl >= 20) {
		/* the same blob again: one more reference */
		refs = gl_rd64((uint8_t *)v + 12) + 1;
		gl_le64((uint8_t *)v + 12, refs);
		rocksdb_writebatch_put(wb, (char *)bk, BKEY_LEN, v, vl);
	} else {
		struct gl_wbuf b;

		gl_wbuf_init(&b);
		gl_put_u32(&b, pool);
		gl_put_u64(&b, size);
		gl_put_u64(&b, 1);
		gl_put_u32(&b, n);
		gl_put_bytes(&b, list, (size_t)n * 36);
		if (!b.err)
			rocksdb_writebatch_put(wb, (char *)bk, BKEY_LEN, (char *)b.p, b.len);
		rc = b.err;
		gl_wbuf_free(&b);
		refs = 1;
		ms->cnt.blobs++;
	}
	if (v)
		rocksdb_free(v);
	if (!rc)
		rc = write_batch(ms, wb, 0); /* in lock order; made durable below */
	if (!rc) {
		ms->cnt.logical += size;
		gl_put_bytes(rep->args, blob, GL_CHUNK_ID_LEN);
		ticket = ms_wal_ticket(ms);
	} else {
		/* counters may have moved: recompute from the store */
		ms_registry_load(ms);
	}
out_unlock:
	pthread_mutex_unlock(&ms->lock);
	if (ticket)
		rc = ms_wal_sync(ms, ticket); /* acknowledged only once on stable storage */
	if (wb)
		rocksdb_writebatch_destroy(wb);
	free(u);
	return rc;
}

/* Reads a blob record; *v (rocksdb-allocated) must be freed with rocksdb_free. */
static int blob_read(struct ms *ms, const uint8_t *id, char **v, size_t *vl)
{
	uint8_t bk[BKEY_LEN];
	char *err = NULL;

	bkey(bk, id);
	*v = rocksdb_get(ms->db, ms->ropt, (char *)bk, BKEY_LEN, vl, &err);
	if (err) {
		rocksdb_free(err);
		return -GL_EDB;
	}
	if (!*v)
		return -GL_ENOENT;
	if (*vl < 24 || *vl != 24 + (size_t)gl_rd32((uint8_t *)*v + 20) * 36) {
		rocksdb_free(*v);
		*v = NULL;
		return -GL_ECORRUPT;
	}
	return 0;
}

int ms_h_blob_get(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	char *v;
	size_t vl;
	int rc;

	if (req->args_len != GL_CHUNK_ID_LEN)
		return -GL_EPROTO;
	rc = blob_read(ms, req->args, &v, &vl);
	if (rc)
		return rc;
	/* the record layout is the reply layout */
	gl_put_bytes(rep->args, v, vl);
	rocksdb_free(v);
	return 0;
}

int ms_h_blob_rm(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	rocksdb_writebatch_t *wb;
	struct cref *u = NULL;
	uint8_t bk[BKEY_LEN], k[CKEY_LEN];
	uint64_t refs, now = ms_now_ms(), ticket = 0;
	uint32_t pool, n;
	char *v = NULL;
	size_t vl;
	int nu, rc;

	if (req->args_len != GL_CHUNK_ID_LEN)
		return -GL_EPROTO;
	wb = rocksdb_writebatch_create();
	pthread_mutex_lock(&ms->lock);
	rc = blob_read(ms, req->args, &v, &vl);
	if (rc)
		goto out;
	pool = gl_rd32((uint8_t *)v);
	refs = gl_rd64((uint8_t *)v + 12);
	n = gl_rd32((uint8_t *)v + 20);
	nu = unique_chunks((uint8_t *)v + 24, n, 1, &u);
	if (nu < 0) {
		rc = nu;
		goto out;
	}
	for (int i = 0; i < nu; i++) {
		struct centry e;

		ckey(k, pool, u[i].id);
		if (centry_get(ms, k, &e) != 1 || e.state != GL_CHUNK_COMMITTED)
			continue; /* should not happen; nothing to release */
		e.refs = e.refs >= u[i].count ? e.refs - u[i].count : 0;
		if (!e.refs) {
			e.t = now;
			ms->cnt.gc_pending++;
		}
		centry_put(wb, k, &e);
	}
	bkey(bk, req->args);
	refs--;
	if (refs) {
		gl_le64((uint8_t *)v + 12, refs);
		rocksdb_writebatch_put(wb, (char *)bk, BKEY_LEN, v, vl);
	} else {
		rocksdb_writebatch_delete(wb, (char *)bk, BKEY_LEN);
		ms->cnt.blobs--;
	}
	ms->cnt.logical -= gl_rd64((uint8_t *)v + 4);
	rc = write_batch(ms, wb, 0);
	if (!rc) {
		gl_put_u64(rep->args, refs);
		ticket = ms_wal_ticket(ms);
	} else {
		ms_registry_load(ms);
	}
out:
	pthread_mutex_unlock(&ms->lock);
	if (ticket)
		rc = ms_wal_sync(ms, ticket);
	if (v)
		rocksdb_free(v);
	free(u);
	rocksdb_writebatch_destroy(wb);
	return rc;
}

int ms_h_chunk_state(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	struct gl_rbuf r;
	uint32_t pool, n;

	gl_rbuf_init(&r, req->args, req->args_len);
	pool = gl_get_u32(&r);
	n = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || n > GL_HAVE_MAX || gl_rbuf_left(&r) != (size_t)n * 32)
		return -GL_EPROTO;
	gl_put_u32(rep->args, n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t k[CKEY_LEN];
		struct centry e;
		int found;

		ckey(k, pool, gl_get_bytes(&r, GL_CHUNK_ID_LEN));
		found = centry_get(ms, k, &e);
		if (found < 0)
			return found;
		gl_put_u8(rep->args, found ? e.state : GL_CHUNK_ABSENT);
	}
	return 0;
}

/* ---- garbage collection ---- */

#define GC_BATCH 256

struct victim {
	uint32_t pool;
	uint8_t id[GL_CHUNK_ID_LEN];
	int was_committed;
	uint32_t len;
};

/* Sends DS_DEL for every fragment of a chunk to its slot servers and handoffs (best effort: a
 * server that misses it removes the fragments in its own repair pass). */
static void delete_fragments(struct ms *ms, const struct gl_map *m, const struct victim *v)
{
	struct gl_scheme s;
	struct gl_placement p;
	int targets[GL_MAX_WIDTH + GL_MAX_HANDOFF], n = 0;

	if (gl_scheme_from_pool(v->pool, &s) ||
	    gl_place(m, v->pool, v->id, gl_scheme_width(&s), &p))
		return;
	for (int i = 0; i < p.width; i++)
		if (p.slot[i] >= 0)
			targets[n++] = p.slot[i];
	for (int i = 0; i < p.nhandoff; i++)
		targets[n++] = p.handoff[i];
	for (int i = 0; i < n; i++) {
		struct gl_rpc_call c = {0};
		struct gl_wbuf a;
		int dup = 0;

		for (int j = 0; j < i; j++)
			dup |= targets[j] == targets[i];
		if (dup || m->ds[targets[i]].state != GL_DS_UP)
			continue;
		gl_wbuf_init(&a);
		gl_put_u32(&a, v->pool);
		gl_put_bytes(&a, v->id, GL_CHUNK_ID_LEN);
		gl_put_u32(&a, UINT32_MAX);
		c.opcode = GL_DS_DEL;
		c.args = a.p;
		c.args_len = (uint32_t)a.len;
		gl_rpc_pool_call(gl_sclient_pool(ms->sc), m->ds[targets[i]].addr, &c, 5000);
		gl_rpc_call_done(&c);
		gl_wbuf_free(&a);
	}
}

static int gc_dead(const struct centry *e, uint64_t now, uint64_t grace)
{
	return (e->state == GL_CHUNK_COMMITTED && e->refs == 0 && now >= e->t + grace) ||
	       (e->state == GL_CHUNK_WRITING && now >= e->t) || e->state == GL_CHUNK_DELETING;
}

/* Asks every metadata shard which of the n victims its file layouts reference (NS_CHUNK_REFS):
 * held[i] = 1 when any does. Every shard the master knows must answer, or nothing may be
 * deleted: -GL_EUNAVAIL. */
static int gc_ask_shards(struct ms *ms, const struct gl_map *m, const struct victim *v, int n,
			 uint8_t *held)
{
	memset(held, 0, (size_t)n);
	for (uint32_t s = 0; s < m->nshards; s++) {
		struct gl_rpc_call c;
		struct gl_wbuf q;
		struct gl_rbuf r;
		int rc;

		gl_wbuf_init(&q);
		gl_put_u16(&q, GL_NS_CHUNK_REFS); /* the ns header: op, tenant 0 (admin), time */
		gl_put_u32(&q, 0);
		gl_put_u64(&q, 0);
		gl_put_u32(&q, (uint32_t)n);
		for (int i = 0; i < n; i++) {
			gl_put_u32(&q, v[i].pool);
			gl_put_bytes(&q, v[i].id, GL_CHUNK_ID_LEN);
		}
		rc = gl_md_call(gl_sclient_pool(ms->sc), &m->shards[s], &q, &c, GL_MD_TIMEOUT_MS);
		gl_wbuf_free(&q);
		if (rc == 0) {
			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			if (gl_get_u32(&r) != (uint32_t)n)
				rc = -GL_EPROTO;
			for (int i = 0; i < n && !rc; i++)
				held[i] |= gl_get_u64(&r) != 0;
			if (!rc)
				rc = gl_rbuf_check(&r);
		}
		gl_rpc_call_done(&c);
		if (rc) {
			gl_warn("master: GC waits: metadata shard %u did not say which chunks it "
				"references (%s)",
				m->shards[s].id, gl_strerror(rc));
			return -GL_EUNAVAIL;
		}
	}
	return 0;
}

void ms_gc_pass(struct ms *ms)
{
	uint64_t now = ms_now_ms(), grace = (uint64_t)(ms->cfg.gc_grace * 1000);
	struct victim *vic = calloc(GC_BATCH, sizeof(*vic));
	uint8_t *held = calloc(GC_BATCH, 1), *held2 = calloc(GC_BATCH, 1);
	rocksdb_iterator_t *it;
	rocksdb_writebatch_t *wb;
	struct gl_map m = {0};
	int nc = 0, nv = 0, nheld = 0;

	if (!vic || !held || !held2)
		goto out;
	/* 1. candidates: chunks no blob references past their grace or write lease */
	pthread_mutex_lock(&ms->lock);
	it = rocksdb_create_iterator(ms->db, ms->ropt);
	for (rocksdb_iter_seek(it, "C", 1); rocksdb_iter_valid(it) && nc < GC_BATCH;
	     rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		struct centry e;

		if (kl != CKEY_LEN || k[0] != 'C')
			break;
		if (centry_decode(v, vl, &e) || !gc_dead(&e, now, grace))
			continue;
		vic[nc].pool = gl_rd32((const uint8_t *)k + 1);
		vic[nc].pool = __builtin_bswap32(vic[nc].pool);
		memcpy(vic[nc].id, k + 5, GL_CHUNK_ID_LEN);
		nc++;
	}
	rocksdb_iter_destroy(it);
	if (nc)
		gl_map_copy(&ms->map, &m);
	pthread_mutex_unlock(&ms->lock);
	if (!nc)
		goto out;

	/* 2. file layouts in metadata shards reference chunks too: ask them (outside the lock),
	 * twice. A volume moving between shards holds its references on the destination before
	 * they go from the source, so a chunk that no shard references in two full rounds, one
	 * after the other, is referenced by none (docs/architecture.md, sharding). */
	if (gc_ask_shards(ms, &m, vic, nc, held) || gc_ask_shards(ms, &m, vic, nc, held2))
		goto out;
	for (int i = 0; i < nc; i++)
		held[i] |= held2[i];

	/* 3. under the lock again: a chunk still dead and referenced by no shard is marked
	 * DELETING (a put of it now is told to retry); one a shard references is kept for another
	 * grace period. A put that revived a candidate meanwhile refreshed its time. */
	wb = rocksdb_writebatch_create();
	pthread_mutex_lock(&ms->lock);
	for (int i = 0; i < nc; i++) {
		uint8_t k[CKEY_LEN];
		struct centry e;

		ckey(k, vic[i].pool, vic[i].id);
		if (centry_get(ms, k, &e) != 1 || !gc_dead(&e, now, grace))
			continue;
		if (held[i] && e.state != GL_CHUNK_DELETING) {
			if (e.state == GL_CHUNK_WRITING) { /* counted like a committed one */
				ms->cnt.chunks++;
				ms->cnt.chunk_bytes += e.len;
				ms->cnt.gc_pending++;
			}
			e.state = GL_CHUNK_COMMITTED;
			e.t = now;
			centry_put(wb, k, &e);
			nheld++;
			continue;
		}
		vic[nv] = vic[i];
		vic[nv].was_committed = e.state == GL_CHUNK_COMMITTED;
		vic[nv].len = e.len;
		e.state = GL_CHUNK_DELETING;
		centry_put(wb, k, &e);
		nv++;
	}
	if ((nv || nheld) && write_batch(ms, wb, 1))
		nv = 0;
	for (int i = 0; i < nv; i++) {
		if (vic[i].was_committed) {
			ms->cnt.chunks--;
			ms->cnt.chunk_bytes -= vic[i].len;
			ms->cnt.gc_pending--;
		}
	}
	pthread_mutex_unlock(&ms->lock);
	rocksdb_writebatch_destroy(wb);
	if (!nv)
		goto out;

	/* 2. delete the fragments, outside the lock */
	for (int i = 0; i < nv; i++)
		delete_fragments(ms, &m, &vic[i]);

	/* 3. forget them */
	wb = rocksdb_writebatch_create();
	for (int i = 0; i < nv; i++) {
		uint8_t k[CKEY_LEN];

		ckey(k, vic[i].pool, vic[i].id);
		rocksdb_writebatch_delete(wb, (char *)k, CKEY_LEN);
	}
	pthread_mutex_lock(&ms->lock);
	write_batch(ms, wb, 1);
	pthread_mutex_unlock(&ms->lock);
	rocksdb_writebatch_destroy(wb);
	gl_info("master: garbage collected %d chunks", nv);
out:
	gl_map_free(&m);
	free(vic);
	free(held);
	free(held2);
}

/* Cluster master: membership, heartbeats, failure detection and the versioned cluster map. */
#include "cluster/master_internal.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/rpc.h"
#include "cluster/ms_client.h"
#include "metadata/rsm.h"
#include "storage/chunkid.h"
#include "storage/client.h"

#include <errno.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void gl_master_cfg_defaults(struct gl_master_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->id = 1;
	cfg->down_after = 3;
	cfg->out_after = 600;
	cfg->gc_grace = 3600;
	cfg->write_lease = 600;
}

double ms_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t ms_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- persistence of the map ---- */

static void meta_key(uint8_t *k)
{
	k[0] = 'M';
}

static void srv_key(uint8_t k[5], uint32_t id)
{
	k[0] = 'S';
	k[1] = (uint8_t)(id >> 24);
	k[2] = (uint8_t)(id >> 16);
	k[3] = (uint8_t)(id >> 8);
	k[4] = (uint8_t)id;
}

static void srv_encode(struct gl_wbuf *b, const struct gl_ds_info *d, const struct ms_server *s)
{
	gl_put_bytes(b, s->uuid, GL_UUID_LEN);
	gl_put_str(b, d->addr);
	gl_put_str(b, d->rack);
	gl_put_str(b, d->host);
	gl_put_u8(b, d->state);
	gl_put_u64(b, d->cap_total);
	gl_put_u64(b, d->cap_avail);
	gl_put_u64(b, d->used);
	gl_put_u64(b, d->since);
}

/* Writes the meta record and every server record (map changes are rare). Lock held. */
static int map_save(struct ms *ms)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	struct gl_wbuf b;
	char *err = NULL;
	uint8_t k[5];
	int rc = 0;

	gl_wbuf_init(&b);
	gl_put_u16(&b, 1);
	gl_put_u64(&b, ms->map.epoch);
	gl_put_u32(&b, ms->next_id);
	gl_put_bytes(&b, ms->map.dedup_key, GL_DEDUP_KEY_LEN);
	meta_key(k);
	rocksdb_writebatch_put(wb, (char *)k, 1, (char *)b.p, b.len);
	for (uint32_t i = 0; i < ms->map.n; i++) {
		b.len = 0;
		srv_encode(&b, &ms->map.ds[i], &ms->srv[i]);
		srv_key(k, ms->map.ds[i].id);
		rocksdb_writebatch_put(wb, (char *)k, 5, (char *)b.p, b.len);
	}
	/* metadata shards and their members: GC must hear from every shard ever known */
	for (uint32_t i = 0; i < ms->map.nshards; i++) {
		const struct gl_shard_info *sh = &ms->map.shards[i];

		b.len = 0;
		gl_put_u8(&b, sh->n);
		for (int j = 0; j < sh->n; j++) {
			gl_put_u64(&b, sh->m[j].id);
			gl_put_str(&b, sh->m[j].addr);
		}
		k[0] = 'H';
		gl_le32(k + 1, __builtin_bswap32(sh->id));
		rocksdb_writebatch_put(wb, (char *)k, 5, (char *)b.p, b.len);
	}
	(void)err;
	if (b.err)
		rc = b.err;
	else
		rc = ms_commit(ms, wb);
	rocksdb_writebatch_destroy(wb);
	gl_wbuf_free(&b);
	return rc;
}

static int shard_insert(struct ms *ms, uint32_t shard);

/* Members are listed as down until they heartbeat. */
static int shards_load(struct ms *ms)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator(ms->db, ms->ropt);
	int rc = 0;

	for (rocksdb_iter_seek(it, "H", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *key = rocksdb_iter_key(it, &kl);
		const char *val = rocksdb_iter_value(it, &vl);
		struct gl_shard_info *sh;
		struct gl_rbuf r;
		int i;

		if (kl != 5 || key[0] != 'H')
			break;
		i = shard_insert(ms, __builtin_bswap32(gl_rd32((const uint8_t *)key + 1)));
		if (i < 0) {
			rc = i;
			break;
		}
		sh = &ms->map.shards[i];
		gl_rbuf_init(&r, val, vl);
		sh->n = gl_get_u8(&r);
		if (sh->n > GL_SHARD_MAX_MEMBERS)
			sh->n = 0;
		for (int j = 0; j < sh->n; j++) {
			sh->m[j].id = gl_get_u64(&r);
			gl_get_str(&r, sh->m[j].addr, sizeof(sh->m[j].addr));
		}
		if (gl_rbuf_check(&r)) {
			gl_error("master: metadata shard record %u is corrupt", sh->id);
			rc = -GL_ECORRUPT;
			break;
		}
	}
	rocksdb_iter_destroy(it);
	return rc;
}

static int map_load(struct ms *ms)
{
	rocksdb_iterator_t *it;
	char *err = NULL;
	size_t vlen;
	char *v = rocksdb_get(ms->db, ms->ropt, "M", 1, &vlen, &err);
	struct gl_rbuf r;
	int rc = 0;

	if (err) {
		gl_error("master: reading meta: %s", err);
		rocksdb_free(err);
		return -GL_EDB;
	}
	if (!v) {
		/* a new cluster */
		ms->map.epoch = 1;
		ms->next_id = 1;
		if (RAND_bytes(ms->map.dedup_key, GL_DEDUP_KEY_LEN) != 1)
			return -GL_EIO;
		gl_info("master: new cluster created");
		return map_save(ms);
	}
	gl_rbuf_init(&r, v, vlen);
	if (gl_get_u16(&r) != 1)
		rc = -GL_ECORRUPT;
	ms->map.epoch = gl_get_u64(&r);
	ms->next_id = gl_get_u32(&r);
	gl_get_copy(&r, ms->map.dedup_key, GL_DEDUP_KEY_LEN);
	if (gl_rbuf_check(&r))
		rc = -GL_ECORRUPT;
	rocksdb_free(v);
	if (rc)
		return rc;

	it = rocksdb_create_iterator(ms->db, ms->ropt);
	for (rocksdb_iter_seek(it, "S", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl;
		const char *key = rocksdb_iter_key(it, &kl);
		const char *val = rocksdb_iter_value(it, &vlen);
		struct gl_ds_info *nds;
		struct ms_server *nsrv;
		struct gl_ds_info *d;

		if (kl != 5 || key[0] != 'S')
			break;
		nds = realloc(ms->map.ds, (ms->map.n + 1) * sizeof(*nds));
		if (nds)
			ms->map.ds = nds;
		nsrv = realloc(ms->srv, (ms->map.n + 1) * sizeof(*nsrv));
		if (nsrv)
			ms->srv = nsrv;
		if (!nds || !nsrv) {
			rc = -GL_ENOMEM;
			break;
		}
		d = &ms->map.ds[ms->map.n];
		memset(d, 0, sizeof(*d));
		memset(&ms->srv[ms->map.n], 0, sizeof(ms->srv[0]));
		d->id = gl_rd32((const uint8_t *)key + 1);
		d->id = __builtin_bswap32(d->id);
		gl_rbuf_init(&r, val, vlen);
		gl_get_copy(&r, ms->srv[ms->map.n].uuid, GL_UUID_LEN);
		gl_get_str(&r, d->addr, sizeof(d->addr));
		gl_get_str(&r, d->rack, sizeof(d->rack));
		gl_get_str(&r, d->host, sizeof(d->host));
		d->state = gl_get_u8(&r);
		d->cap_total = gl_get_u64(&r);
		d->cap_avail = gl_get_u64(&r);
		d->used = gl_get_u64(&r);
		d->since = gl_get_u64(&r);
		if (gl_rbuf_check(&r) || d->state < GL_DS_UP || d->state > GL_DS_OUT) {
			gl_error("master: server record %u is corrupt", d->id);
			rc = -GL_ECORRUPT;
			break;
		}
		ms->srv[ms->map.n].last_hb = ms_now_mono();
		ms->map.n++;
	}
	rocksdb_iter_destroy(it);
	if (!rc)
		rc = shards_load(ms);
	gl_info("master: loaded cluster map epoch %llu with %u servers and %u metadata shards",
		(unsigned long long)ms->map.epoch, ms->map.n, ms->map.nshards);
	return rc;
}

/* ---- handlers ---- */

static int ms_h_register(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	struct gl_rbuf r;
	struct gl_ds_info in = {0};
	uint8_t uuid[GL_UUID_LEN];
	int idx = -1, rc = 0;

	gl_rbuf_init(&r, req->args, req->args_len);
	gl_get_copy(&r, uuid, GL_UUID_LEN);
	gl_get_str(&r, in.addr, sizeof(in.addr));
	gl_get_str(&r, in.rack, sizeof(in.rack));
	gl_get_str(&r, in.host, sizeof(in.host));
	in.cap_total = gl_get_u64(&r);
	in.cap_avail = gl_get_u64(&r);
	in.used = gl_get_u64(&r);
	if (gl_rbuf_check(&r) || !in.addr[0])
		return -GL_EPROTO;

	pthread_mutex_lock(&ms->lock);
	for (uint32_t i = 0; i < ms->map.n; i++)
		if (memcmp(ms->srv[i].uuid, uuid, GL_UUID_LEN) == 0)
			idx = (int)i;
	if (idx < 0) {
		struct gl_ds_info *nds = realloc(ms->map.ds, (ms->map.n + 1) * sizeof(*nds));
		struct ms_server *nsrv;

		if (nds)
			ms->map.ds = nds;
		nsrv = realloc(ms->srv, (ms->map.n + 1) * sizeof(*nsrv));
		if (nsrv)
			ms->srv = nsrv;
		if (!nds || !nsrv || ms->map.n >= GL_MAP_MAX_DS) {
			rc = -GL_ENOMEM;
			goto out;
		}
		idx = (int)ms->map.n++;
		memset(&ms->srv[idx], 0, sizeof(ms->srv[idx]));
		memcpy(ms->srv[idx].uuid, uuid, GL_UUID_LEN);
		in.id = ms->next_id++;
		gl_info("master: new data server %u at %s (%s/%s)", in.id, in.addr, in.rack,
			in.host);
	} else {
		in.id = ms->map.ds[idx].id;
		if (ms->map.ds[idx].state != GL_DS_UP)
			gl_info("master: data server %u at %s is back (was %s)", in.id, in.addr,
				gl_ds_state_name(ms->map.ds[idx].state));
	}
	in.state = GL_DS_UP;
	in.since = ms_now_ms() / 1000;
	ms->map.ds[idx] = in;
	ms->srv[idx].last_hb = ms_now_mono();
	ms->map.epoch++;
	rc = map_save(ms);
	gl_put_u32(rep->args, in.id);
	gl_put_u64(rep->args, ms->map.epoch);
out:
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_h_heartbeat(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	struct gl_rbuf r;
	struct gl_ds_stats st;
	uint64_t total, avail, used;
	uint32_t id;
	int idx, rc = 0;

	gl_rbuf_init(&r, req->args, req->args_len);
	id = gl_get_u32(&r);
	total = gl_get_u64(&r);
	avail = gl_get_u64(&r);
	used = gl_get_u64(&r);
	gl_ds_stats_get(&r, &st);
	if (gl_rbuf_check(&r))
		return -GL_EPROTO;
	pthread_mutex_lock(&ms->lock);
	idx = gl_map_find(&ms->map, id);
	if (idx < 0) {
		rc = -GL_ENOENT;
		goto out;
	}
	ms->srv[idx].last_hb = ms_now_mono();
	ms->srv[idx].stats = st;
	ms->map.ds[idx].cap_avail = avail;
	ms->map.ds[idx].used = used;
	if (ms->map.ds[idx].state != GL_DS_UP || ms->map.ds[idx].cap_total != total) {
		if (ms->map.ds[idx].state != GL_DS_UP)
			gl_info("master: data server %u is up again (was %s)", id,
				gl_ds_state_name(ms->map.ds[idx].state));
		ms->map.ds[idx].state = GL_DS_UP;
		ms->map.ds[idx].since = ms_now_ms() / 1000;
		ms->map.ds[idx].cap_total = total;
		ms->map.epoch++;
		rc = map_save(ms);
	}
	gl_put_u64(rep->args, ms->map.epoch);
out:
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int shard_insert(struct ms *ms, uint32_t shard)
{
	struct gl_shard_info *ns;
	double(*nhb)[GL_SHARD_MAX_MEMBERS];
	uint32_t i = 0;

	if (ms->map.nshards >= GL_MAP_MAX_SHARDS)
		return -GL_ENOSPC;
	ns = realloc(ms->map.shards, (ms->map.nshards + 1) * sizeof(*ns));
	if (ns)
		ms->map.shards = ns;
	nhb = realloc(ms->shard_hb, (ms->map.nshards + 1) * sizeof(*nhb));
	if (nhb)
		ms->shard_hb = nhb;
	if (!ns || !nhb)
		return -GL_ENOMEM;
	while (i < ms->map.nshards && ms->map.shards[i].id < shard)
		i++;
	memmove(&ms->map.shards[i + 1], &ms->map.shards[i],
		(ms->map.nshards - i) * sizeof(*ms->map.shards));
	memmove(&ms->shard_hb[i + 1], &ms->shard_hb[i], (ms->map.nshards - i) * sizeof(*nhb));
	memset(&ms->map.shards[i], 0, sizeof(ms->map.shards[i]));
	memset(&ms->shard_hb[i], 0, sizeof(ms->shard_hb[i]));
	ms->map.shards[i].id = shard;
	ms->map.nshards++;
	return (int)i;
}

/* Metadata servers are listed from their heartbeats (not persisted: after a master restart the
 * list is complete again within a heartbeat). */
static int ms_h_mds_heartbeat(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;
	struct gl_rbuf r;
	char addr[GL_ADDR_MAX];
	uint32_t shard;
	uint64_t id;
	int si = -1, mi = -1, rc = 0;

	gl_rbuf_init(&r, req->args, req->args_len);
	shard = gl_get_u32(&r);
	id = gl_get_u64(&r);
	gl_get_str(&r, addr, sizeof(addr));
	if (gl_rbuf_check(&r) || !addr[0] || id == 0)
		return -GL_EPROTO;
	pthread_mutex_lock(&ms->lock);
	for (uint32_t i = 0; i < ms->map.nshards; i++)
		if (ms->map.shards[i].id == shard)
			si = (int)i;
	if (si < 0) {
		si = shard_insert(ms, shard);
		if (si < 0) {
			rc = si;
			goto out;
		}
	}
	struct gl_shard_info *sh = &ms->map.shards[si];

	for (int j = 0; j < sh->n; j++)
		if (sh->m[j].id == id)
			mi = j;
	if (mi < 0) {
		if (sh->n >= GL_SHARD_MAX_MEMBERS) {
			rc = -GL_ENOSPC;
			goto out;
		}
		mi = sh->n++;
		sh->m[mi].id = id;
		gl_info("master: metadata server %llu of shard %u at %s", (unsigned long long)id,
			shard, addr);
	}
	if (!sh->m[mi].up || strcmp(sh->m[mi].addr, addr) != 0) {
		snprintf(sh->m[mi].addr, sizeof(sh->m[mi].addr), "%s", addr);
		sh->m[mi].up = 1;
		ms->map.epoch++;
		rc = map_save(ms); /* the epoch never goes back after a restart */
	}
	ms->shard_hb[si][mi] = ms_now_mono();
	gl_put_u64(rep->args, ms->map.epoch);
out:
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_h_get_map(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;

	(void)req;
	pthread_mutex_lock(&ms->lock);
	gl_map_encode(&ms->map, rep->args);
	pthread_mutex_unlock(&ms->lock);
	return 0;
}

static int ms_h_status(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;

	(void)req;
	pthread_mutex_lock(&ms->lock);
	gl_map_encode(&ms->map, rep->args);
	for (uint32_t i = 0; i < ms->map.n; i++)
		gl_ds_stats_put(rep->args, &ms->srv[i].stats);
	gl_put_u64(rep->args, ms->cnt.blobs);
	gl_put_u64(rep->args, ms->cnt.chunks);
	gl_put_u64(rep->args, ms->cnt.logical);
	gl_put_u64(rep->args, ms->cnt.chunk_bytes);
	gl_put_u64(rep->args, ms->cnt.gc_pending);
	pthread_mutex_unlock(&ms->lock);
	return 0;
}

/* Only the leader answers; the others say who leads. */
static int not_leader(struct ms *ms, struct gl_rpc_reply *rep)
{
	struct gl_rsm_member l;

	if (gl_rsm_leader(ms->rsm, &l) == 0 && l.id != ms->cfg.id)
		gl_put_str(rep->args, l.rpc_addr);
	else
		gl_put_str(rep->args, "");
	return -GL_ENOTLEADER;
}

#define MS_LEADER_ONLY(name, code, handler)                                                        \
	static int handler##_lead(void *ctx, const struct gl_rpc_req *req,                         \
				  struct gl_rpc_reply *rep)                                        \
	{                                                                                          \
		struct ms *ms = ctx;                                                               \
		if (!__atomic_load_n(&ms->leading, __ATOMIC_ACQUIRE))                              \
			return not_leader(ms, rep);                                                \
		return handler(ctx, req, rep);                                                     \
	}
GL_MS_RPCS(MS_LEADER_ONLY)
#undef MS_LEADER_ONLY

static int ms_h_snap(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ms *ms = ctx;

	return gl_rsm_h_snap_read(ms->rsm, req, rep);
}

static const struct gl_rpc_op ms_ops[] = {
#define MS_OP(name, code, handler) {GL_##name, #name, handler##_lead},
    GL_MS_RPCS(MS_OP)
#undef MS_OP
	{GL_RSM_OP_SNAP_READ, "RSM_SNAP_READ", ms_h_snap},
};

/* ---- failure detection ---- */

static void detect_failures(struct ms *ms)
{
	double now = ms_now_mono();
	uint64_t wall = ms_now_ms() / 1000;
	int changed = 0;

	pthread_mutex_lock(&ms->lock);
	for (uint32_t i = 0; i < ms->map.n; i++) {
		struct gl_ds_info *d = &ms->map.ds[i];

		if (d->state == GL_DS_UP && now - ms->srv[i].last_hb > ms->cfg.down_after) {
			gl_warn("master: data server %u at %s is down (no heartbeat for %.1f s)",
				d->id, d->addr, now - ms->srv[i].last_hb);
			d->state = GL_DS_DOWN;
			d->since = wall;
			changed = 1;
		} else if (d->state == GL_DS_DOWN &&
			   now - ms->srv[i].last_hb > ms->cfg.down_after + ms->cfg.out_after) {
			gl_warn("master: data server %u at %s is out: its fragments are rebuilt "
				"elsewhere",
				d->id, d->addr);
			d->state = GL_DS_OUT;
			d->since = wall;
			changed = 1;
		}
	}
	for (uint32_t i = 0; i < ms->map.nshards; i++) {
		struct gl_shard_info *sh = &ms->map.shards[i];

		for (int j = 0; j < sh->n; j++) {
			if (sh->m[j].up && now - ms->shard_hb[i][j] > ms->cfg.down_after) {
				gl_warn("master: metadata server %llu of shard %u at %s is down",
					(unsigned long long)sh->m[j].id, sh->id, sh->m[j].addr);
				sh->m[j].up = 0;
				changed = 1;
			}
		}
	}
	if (changed) {
		ms->map.epoch++;
		map_save(ms);
	}
	pthread_mutex_unlock(&ms->lock);
}

static void follow_leadership(struct ms *ms);

static void *monitor_main(void *arg)
{
	struct ms *ms = arg;
	double last_gc = 0;
	double gc_every = GL_MIN(GL_MAX(ms->cfg.gc_grace / 4, 0.5), 10.0);

	while (!ms->stopping) {
		struct timespec ts = {0, 200 * 1000 * 1000};

		follow_leadership(ms);
		if (ms->leading)
			detect_failures(ms);
		if (ms->leading && ms_now_mono() - last_gc >= gc_every) {
			ms_gc_pass(ms);
			last_gc = ms_now_mono();
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ---- lifecycle ---- */

/* ---- the replicated state ---- */

static void batch_put(void *state, const char *k, size_t kl, const char *v, size_t vl)
{
	rocksdb_writebatch_put(state, k, kl, v, vl);
}

static void batch_del(void *state, const char *k, size_t kl)
{
	rocksdb_writebatch_delete(state, k, kl);
}

/* Every entry is a RocksDB write batch made by the leader: replaying it is deterministic. */
static int ms_apply(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *op,
		    size_t len, struct gl_wbuf *reply)
{
	rocksdb_writebatch_t *b;

	(void)ctx;
	(void)db;
	(void)reply;
	if (len < 12) /* a write batch header: sequence and count */
		return -GL_EPROTO;
	b = rocksdb_writebatch_create_from((const char *)op, len);
	if (!b)
		return -GL_EPROTO;
	rocksdb_writebatch_iterate(b, wb, batch_put, batch_del);
	rocksdb_writebatch_destroy(b);
	return 0;
}

static const struct gl_rsm_sm ms_sm = {NULL, ms_apply, NULL};

int ms_commit(struct ms *ms, rocksdb_writebatch_t *wb)
{
	size_t len;
	const char *data = rocksdb_writebatch_data(wb, &len);
	int rc;

	if (!ms->leading && !ms->taking_over)
		return -GL_ENOTLEADER;
	if (rocksdb_writebatch_count(wb) == 0)
		return 0;
	rc = gl_rsm_propose(ms->rsm, data, len, NULL, GL_MS_TIMEOUT_MS);
	if (rc) {
		/* the in-memory state may now be ahead of the replicated one: step down, and
		 * reload it from the log if we lead again */
		gl_warn("master: commit failed (%s): stepping down", gl_strerror(rc));
		ms->leading = 0;
		if (rc != -GL_ENOTLEADER)
			rc = -GL_EUNAVAIL;
	}
	return rc;
}

/* Took over (or started as the only master): rebuild the in-memory state from the database.
 * Every server counts as just heard from, so none is declared down for our own absence. The
 * handlers see leading set only once the state is whole: they may run the moment it is set. */
static int become_leader(struct ms *ms)
{
	int rc;

	pthread_mutex_lock(&ms->lock);
	ms->db = gl_rsm_read_begin(ms->rsm);
	gl_rsm_read_end(ms->rsm); /* a leader's database is not swapped under it */
	gl_map_free(&ms->map);
	free(ms->srv);
	ms->srv = NULL;
	free(ms->shard_hb);
	ms->shard_hb = NULL;
	memset(&ms->cnt, 0, sizeof(ms->cnt));
	ms->taking_over = 1; /* map_load commits the map of a new cluster */
	rc = map_load(ms);
	if (!rc) {
		gl_idctx_free(ms->idctx);
		ms->idctx = NULL;
		rc = gl_idctx_new(ms->map.dedup_key, GL_DEDUP_KEY_LEN, &ms->idctx);
	}
	if (!rc)
		rc = ms_registry_load(ms);
	for (uint32_t i = 0; i < ms->map.n; i++)
		ms->srv[i].last_hb = ms_now_mono();
	ms->taking_over = 0;
	__atomic_store_n(&ms->leading, !rc, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ms->lock);
	if (rc)
		gl_error("master: cannot take over as leader: %s", gl_strerror(rc));
	else
		gl_info("master: leading (epoch %llu, %u data servers, %llu blobs)",
			(unsigned long long)ms->map.epoch, ms->map.n,
			(unsigned long long)ms->cnt.blobs);
	return rc;
}

static void follow_leadership(struct ms *ms)
{
	struct gl_rsm_status st;
	int lead;

	if (gl_rsm_status(ms->rsm, &st))
		return;
	lead = st.role && strcmp(st.role, "leader") == 0;
	if (lead && !ms->leading)
		become_leader(ms);
	else if (!lead && ms->leading) {
		gl_info("master: no longer the leader");
		ms->leading = 0;
	}
}

static void ms_free(struct ms *ms)
{
	if (ms->rsm)
		gl_rsm_close(ms->rsm);
	if (ms->ropt)
		rocksdb_readoptions_destroy(ms->ropt);
	gl_idctx_free(ms->idctx);
	gl_sclient_free(ms->sc);
	gl_map_free(&ms->map);
	free(ms->srv);
	free(ms->shard_hb);
	pthread_mutex_destroy(&ms->lock);
	pthread_mutex_destroy(&ms->wlock);
	pthread_cond_destroy(&ms->wcv);
}

int gl_master_run(const struct gl_master_cfg *cfg)
{
	struct ms ms = {0};
	struct gl_rpc_server *srv = NULL;
	struct gl_rpc_server_cfg scfg = {0};
	struct gl_rsm_cfg rcfg = {0};
	pthread_t mon;
	sigset_t set;
	int rc, sig;

	ms.cfg = *cfg;
	pthread_mutex_init(&ms.lock, NULL);
	pthread_mutex_init(&ms.wlock, NULL);
	pthread_cond_init(&ms.wcv, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (mkdir(cfg->dir, 0755) && errno != EEXIST) {
		gl_error("master: cannot create %s: %s", cfg->dir, strerror(errno));
		rc = gl_from_errno(errno);
		goto out;
	}
	ms.ropt = rocksdb_readoptions_create();
	rcfg.dir = cfg->dir;
	rcfg.id = cfg->id;
	rcfg.rpc_addr = cfg->listen;
	rcfg.sm = &ms_sm;
	rcfg.snapshot_threshold = cfg->snapshot_threshold;
	if (cfg->peers) {
		rc = gl_rsm_parse_members(cfg->peers, rcfg.boot, GL_RSM_MAX_MEMBERS, &rcfg.nboot);
		if (rc) {
			gl_error("master: bad --peers '%s': expected ID@HOST:PORT,...", cfg->peers);
			goto out;
		}
	} else {
		rcfg.nboot = 1; /* a group of one: this master alone */
		rcfg.boot[0].id = cfg->id;
		snprintf(rcfg.boot[0].rpc_addr, sizeof(rcfg.boot[0].rpc_addr), "%s", cfg->listen);
	}
	rc = gl_sclient_new(&ms.sc);
	if (rc)
		goto out;
	rc = gl_rsm_open(&rcfg, &ms.rsm);
	if (rc) {
		gl_error("master: cannot start the raft member in %s: %s", cfg->dir,
			 gl_strerror(rc));
		goto out;
	}
	scfg.listen = cfg->listen;
	scfg.ops = ms_ops;
	scfg.nops = GL_ARRAY_SIZE(ms_ops);
	scfg.ctx = &ms;
	rc = gl_rpc_server_start(&scfg, &srv);
	if (rc) {
		gl_error("master: cannot listen on %s: %s", cfg->listen, gl_strerror(rc));
		goto out;
	}
	gl_info("master: member %llu serving on %s", (unsigned long long)cfg->id, cfg->listen);
	pthread_create(&mon, NULL, monitor_main, &ms);
	sigwait(&set, &sig);
	gl_info("master: stopping on signal %d", sig);
	ms.stopping = 1;
	pthread_join(mon, NULL);
	gl_rpc_server_stop(srv);
out:
	ms_free(&ms);
	return rc;
}

/* libglory: tenants, keys, volumes and the POSIX namespace, over the metadata shards
 * (metadata/rpc.h, metadata/ns.h), with the client metadata cache (mdcache.h). */
#include "common/compiler.h"
#include "common/errors.h"
#include "common/log.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "gateways/libglory/mdcache.h"
#include "metadata/lease.h"
#include "metadata/md_multi.h"
#include "metadata/ns.h"
#include "metadata/rpc.h"
#include "storage/client.h"
#include "storage/stripe.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MD_DEADLINE_S 20.0 /* a call keeps trying (elections, restarts) this long */
#define MD_CALL_MS    4000 /* per attempt: a hung leader is left for another member soon */

struct glory_vol {
	struct glory *g;
	struct gl_ns_vol v;
};

/* ---- routing ---- */

static int shard_of(struct glory *g, uint32_t shard, struct gl_shard_info *out, int force)
{
	struct gl_map m = {0};
	const struct gl_shard_info *sh;
	int rc = glory_map_get(g, &m, force);

	if (rc)
		return rc;
	sh = gl_map_shard(&m, shard);
	if (sh)
		*out = *sh;
	gl_map_free(&m);
	return sh ? 0 : -GL_EUNAVAIL;
}

static int catalog_shard(struct glory *g, uint32_t *shard)
{
	struct gl_map m = {0};
	int rc = glory_map_get(g, &m, 0);

	if (!rc && m.nshards == 0) {
		gl_map_free(&m);
		rc = glory_map_get(g, &m, 1);
	}
	if (!rc && m.nshards == 0)
		rc = -GL_EUNAVAIL; /* no metadata server has reported yet */
	if (!rc)
		*shard = m.shards[0].id;
	gl_map_free(&m);
	return rc;
}

static void leader_get(struct glory *g, uint32_t shard, char *addr)
{
	addr[0] = '\0';
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < MD_LEADERS; i++)
		if (g->leaders[i].addr[0] && g->leaders[i].shard == shard)
			snprintf(addr, GL_ADDR_MAX, "%s", g->leaders[i].addr);
	pthread_mutex_unlock(&g->lock);
}

static void leader_set(struct glory *g, uint32_t shard, const char *addr)
{
	pthread_mutex_lock(&g->lock);
	snprintf(g->leaders[shard % MD_LEADERS].addr, GL_ADDR_MAX, "%s", addr);
	g->leaders[shard % MD_LEADERS].shard = shard;
	pthread_mutex_unlock(&g->lock);
}

static int transient(int rc)
{
	return rc == -GL_ENOTLEADER || rc == -GL_ECONN || rc == -GL_ECLOSED ||
	       rc == -GL_ETIMEDOUT || rc == -GL_EUNAVAIL;
}

/* One MD call to shard's leader: op (opcode of metadata/rpc.h) with args; follows redirects and
 * waits out elections. idempotent: a timeout (outcome unknown) may be retried. */
static int md_call(struct glory *g, uint32_t shard, uint16_t op, const struct gl_wbuf *args,
		   struct gl_rpc_call *c, int idempotent)
{
	double deadline = glory_mono() + MD_DEADLINE_S;
	struct gl_shard_info sh;
	char addr[GL_ADDR_MAX];
	int rc, next = 0, have_sh = 0;

	if (args->err)
		return args->err;
	leader_get(g, shard, addr);
	for (int attempt = 0;; attempt++) {
		if (!addr[0]) {
			if (!have_sh || attempt % 8 == 7) {
				rc = shard_of(g, shard, &sh, have_sh);
				if (rc == 0)
					have_sh = 1;
			}
			if (have_sh && sh.n)
				snprintf(addr, sizeof(addr), "%s", sh.m[next++ % sh.n].addr);
		}
		memset(c, 0, sizeof(*c));
		c->opcode = op;
		c->args = args->p;
		c->args_len = (uint32_t)args->len;
		rc = addr[0] ? gl_rpc_pool_call(gl_sclient_pool(g->sc), addr, c, MD_CALL_MS)
			     : -GL_EUNAVAIL;
		if (!transient(rc) || (rc == -GL_ETIMEDOUT && !idempotent && c->status)) {
			leader_set(g, shard, addr);
			return rc;
		}
		if (rc == -GL_ENOTLEADER && c->rargs_len >= 2) {
			struct gl_rbuf r;
			char hint[GL_ADDR_MAX];

			gl_rbuf_init(&r, c->rargs, c->rargs_len);
			gl_get_str(&r, hint, sizeof(hint));
			snprintf(addr, sizeof(addr), "%s", gl_rbuf_check(&r) ? "" : hint);
		} else {
			addr[0] = '\0';
		}
		gl_rpc_call_done(c);
		if (glory_mono() > deadline)
			return rc == -GL_ENOTLEADER ? -GL_EUNAVAIL : rc;
		if (!addr[0] || attempt > 2)
			usleep(attempt < 10 ? 50000 : 200000);
	}
}

/* The auth prefix of MD_OP; lease adds the client id (caching clients); a write gets a request
 * id, so retrying it after a lost answer never applies it twice. */
static void auth_put_op(struct glory *g, struct gl_wbuf *a, int lease, int write)
{
	uint8_t auth = g->access[0] ? GL_MD_AUTH_KEY : GL_MD_AUTH_ADMIN;

	if (lease && g->cache)
		auth |= GL_MD_F_LEASE;
	if (write)
		auth |= GL_MD_F_REQID;
	gl_put_u8(a, auth);
	if (g->access[0]) {
		gl_put_str(a, g->access);
		gl_put_str(a, g->secret);
	}
	if (auth & GL_MD_F_LEASE)
		gl_put_u64(a, gl_mdcache_client(g->cache));
	if (write) {
		pthread_mutex_lock(&g->lock);
		if (!g->rid_client &&
		    RAND_bytes((unsigned char *)&g->rid_client, sizeof(g->rid_client)) != 1)
			g->rid_client = (uint64_t)(uintptr_t)g ^ (uint64_t)time(NULL);
		gl_put_u64(a, g->rid_client);
		gl_put_u64(a, ++g->rid_next);
		pthread_mutex_unlock(&g->lock);
	}
}

static void auth_put(struct glory *g, struct gl_wbuf *a, int lease)
{
	auth_put_op(g, a, lease, 0);
}

/* ---- batching: MD_OPs of many threads to one shard in one MD_MULTI ----
 * A thread calls at once while fewer than MD_SLOTS calls to the shard are in flight from this
 * client; otherwise it queues. When a call ends and threads are queued, the first of them takes
 * the slot and sends the whole queue (up to GL_MD_MULTI_MAX) as one MD_MULTI, then hands each
 * its reply. An operation the MD_MULTI could not settle (leader change, timeout, transport
 * error) is retried alone by its own thread through md_call: writes carry request ids, so a
 * retry never applies one twice. One thread alone never waits: it always finds a slot free. */
#define MD_SLOTS 2

struct md_wait {
	const struct gl_wbuf *a;
	int done, sender, rc;
	uint8_t *rep; /* malloc'd, NUL-terminated past rep_len */
	uint32_t rep_len;
	pthread_cond_t cv;
	struct md_wait *next;
};

static int md_retry_alone(int rc)
{
	return transient(rc) || rc == -GL_EBADOP || rc == -GL_EPROTO;
}

/* Sends batch (n waiters) as one MD_MULTI and fills each one's rc/rep (rc 1: retry alone). */
static void md_multi(struct glory *g, uint32_t shard, struct md_wait **batch, int n)
{
	struct gl_md_part part[GL_MD_MULTI_MAX];
	struct gl_wbuf a;
	struct gl_rpc_call c;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < n; i++) {
		part[i].p = batch[i]->a->p;
		part[i].len = (uint32_t)batch[i]->a->len;
		batch[i]->rc = 1;
	}
	gl_wbuf_init(&a);
	gl_md_multi_put(&a, part, (uint32_t)n, 0);
	if (md_call(g, shard, GL_MD_MULTI, &a, &c, 1) == 0 &&
	    gl_md_multi_parse_reply(c.rargs, c.rargs_len, (uint32_t)n, part) == 0) {
		for (int i = 0; i < n; i++) {
			if (md_retry_alone(part[i].status))
				continue;
			batch[i]->rep = malloc((size_t)part[i].len + 1);
			if (!batch[i]->rep)
				continue;
			memcpy(batch[i]->rep, part[i].p, part[i].len);
			batch[i]->rep[part[i].len] = 0;
			batch[i]->rep_len = part[i].len;
			batch[i]->rc = part[i].status;
		}
	}
	gl_wbuf_free(&a);
	gl_rpc_call_done(&c);
}

/* A call ended: its slot goes to the first queued thread (out of the queue), or is freed.
 * Lock held. */
static void md_slot_done(struct md_batcher *b)
{
	struct md_wait *w = b->head;

	if (w) {
		b->head = w->next;
		if (!b->head)
			b->tail = NULL;
		w->next = NULL;
		w->sender = 1;
		pthread_cond_signal(&w->cv);
	} else {
		b->inflight--;
	}
}

/* One MD_OP, batched with other threads' when the shard is busy (above). */
static int md_call_op(struct glory *g, uint32_t shard, const struct gl_wbuf *a,
		      struct gl_rpc_call *c, int idempotent)
{
	struct md_batcher *b = &g->batch[shard % MD_BATCHERS];
	struct md_wait me, *batch[GL_MD_MULTI_MAX];
	int n = 0, rc;

	if (a->err)
		return a->err;
	if (g->md_nobatch)
		return md_call(g, shard, GL_MD_OP, a, c, idempotent);
	pthread_mutex_lock(&g->batch_lock);
	if (b->shard != shard && (b->inflight || b->head)) {
		/* another shard has this batcher now: go alone */
		pthread_mutex_unlock(&g->batch_lock);
		return md_call(g, shard, GL_MD_OP, a, c, idempotent);
	}
	b->shard = shard;
	if (b->inflight < MD_SLOTS) {
		b->inflight++;
		pthread_mutex_unlock(&g->batch_lock);
		rc = md_call(g, shard, GL_MD_OP, a, c, idempotent);
		pthread_mutex_lock(&g->batch_lock);
		md_slot_done(b);
		pthread_mutex_unlock(&g->batch_lock);
		return rc;
	}
	memset(&me, 0, sizeof(me));
	me.a = a;
	pthread_cond_init(&me.cv, NULL);
	if (b->tail)
		b->tail->next = &me;
	else
		b->head = &me;
	b->tail = &me;
	while (!me.done && !me.sender)
		pthread_cond_wait(&me.cv, &g->batch_lock);
	if (me.sender) {
		/* the slot is ours: take the queue with us */
		batch[n++] = &me;
		while (b->head && n < GL_MD_MULTI_MAX) {
			batch[n++] = b->head;
			b->head = b->head->next;
		}
		if (!b->head)
			b->tail = NULL;
		pthread_mutex_unlock(&g->batch_lock);
		md_multi(g, shard, batch, n);
		pthread_mutex_lock(&g->batch_lock);
		for (int i = 1; i < n; i++) {
			batch[i]->done = 1;
			pthread_cond_signal(&batch[i]->cv);
		}
		md_slot_done(b);
	}
	pthread_mutex_unlock(&g->batch_lock);
	pthread_cond_destroy(&me.cv);
	if (me.rc == 1) /* not settled by the MD_MULTI */
		return md_call(g, shard, GL_MD_OP, a, c, idempotent);
	memset(c, 0, sizeof(*c));
	c->opcode = GL_MD_OP;
	c->status = me.rc;
	c->rargs = me.rep;
	c->rargs_len = me.rep_len;
	return me.rc;
}

/* An MD_OP: a is the prefix + ns message; *rep (rargs) is the ns reply (after the cacheable
 * byte when lease). */
static int md_op(struct glory *g, uint32_t shard, const struct gl_wbuf *a, struct gl_rpc_call *c,
		 struct gl_rbuf *rep, int idempotent)
{
	int rc = md_call_op(g, shard, a, c, idempotent);

	gl_rbuf_init(rep, c->rargs, c->rargs_len);
	return rc;
}

/* ---- the watch of a shard: invalidations from its leader ---- */

struct md_watch {
	struct glory *g;
	uint32_t shard;
	pthread_t th;
	struct md_watch *next;
};

static void *watch_main(void *arg)
{
	struct md_watch *w = arg;
	struct glory *g = w->g;
	uint64_t acked = 0;
	int ok = 0;

	while (!g->closing) {
		struct gl_rpc_call c;
		struct gl_wbuf a;
		struct gl_rbuf r;
		char addr[GL_ADDR_MAX];
		int rc;

		leader_get(g, w->shard, addr);
		if (!addr[0]) {
			gl_mdcache_drop_shard(g->cache, w->shard);
			usleep(100000);
			continue;
		}
		gl_wbuf_init(&a);
		gl_put_u64(&a, gl_mdcache_client(g->cache));
		gl_put_u64(&a, acked);
		memset(&c, 0, sizeof(c));
		c.opcode = GL_MD_WATCH;
		c.args = a.p;
		c.args_len = (uint32_t)a.len;
		rc = gl_rpc_pool_call(gl_sclient_pool(g->sc), addr, &c,
				      GL_WATCH_WAIT_MS + GL_LEASE_MS);
		gl_wbuf_free(&a);
		if (rc == 0) {
			uint64_t seq;
			uint32_t n;

			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			seq = gl_get_u64(&r);
			n = gl_get_u32(&r);
			for (uint32_t i = 0; i < n && !gl_rbuf_check(&r); i++) {
				uint32_t vol = gl_get_u32(&r);
				uint64_t ino = gl_get_u64(&r);

				gl_mdcache_invalidate(g->cache, w->shard, vol, ino);
				/* before the next watch call acknowledges it */
				pthread_mutex_lock(&g->inval_lock);
				if (g->inval_cb && vol == g->inval_vol)
					g->inval_cb(g->inval_arg, ino);
				pthread_mutex_unlock(&g->inval_lock);
			}
			if (gl_rbuf_check(&r)) {
				gl_mdcache_drop_shard(g->cache, w->shard);
				acked = 0;
			} else {
				acked = seq;
			}
			ok = 1;
		} else {
			/* a new leader, or none: nothing cached from the old one can be trusted */
			if (ok)
				gl_mdcache_drop_shard(g->cache, w->shard);
			ok = 0;
			acked = 0;
			if (rc == -GL_ENOTLEADER) {
				char hint[GL_ADDR_MAX] = "";

				gl_rbuf_init(&r, c.rargs, c.rargs_len);
				gl_get_str(&r, hint, sizeof(hint));
				if (!gl_rbuf_check(&r) && hint[0])
					leader_set(g, w->shard, hint);
			}
			usleep(100000);
		}
		gl_rpc_call_done(&c);
	}
	return NULL;
}

static void watch_ensure(struct glory *g, uint32_t shard)
{
	struct md_watch *w;

	pthread_mutex_lock(&g->lock);
	for (w = g->watches; w; w = w->next)
		if (w->shard == shard)
			break;
	if (!w && !g->closing && (w = calloc(1, sizeof(*w)))) {
		w->g = g;
		w->shard = shard;
		if (pthread_create(&w->th, NULL, watch_main, w) == 0) {
			w->next = g->watches;
			g->watches = w;
		} else {
			free(w);
		}
	}
	pthread_mutex_unlock(&g->lock);
}

void glory_fs_shutdown(struct glory *g)
{
	struct md_watch *w;

	pthread_mutex_lock(&g->lock);
	g->closing = 1;
	w = g->watches;
	g->watches = NULL;
	pthread_mutex_unlock(&g->lock);
	while (w) {
		struct md_watch *next = w->next;

		pthread_join(w->th, NULL);
		free(w);
		w = next;
	}
	glory_lock_shutdown(g);
	gl_mdcache_free(g->cache);
	g->cache = NULL;
}

int glory_set_cache(struct glory *g, int on)
{
	if (on && !g->cache)
		return gl_mdcache_new(&g->cache);
	if (!on && g->cache) {
		/* watches keep running until disconnect; without a cache they are idle */
		return -GL_EBUSY;
	}
	return 0;
}

int glory_set_credentials(struct glory *g, const char *access, const char *secret)
{
	if (!access || !secret || strlen(access) >= sizeof(g->access) ||
	    strlen(secret) >= sizeof(g->secret) || !*access)
		return -GL_EINVAL;
	snprintf(g->access, sizeof(g->access), "%s", access);
	snprintf(g->secret, sizeof(g->secret), "%s", secret);
	return 0;
}

/* ---- tenants and keys (catalog shard) ---- */

static void hdr(struct gl_wbuf *a, uint16_t op)
{
	gl_ns_hdr_put(a, op, 0, 0); /* the server fills in the tenant and the time */
}

/* Runs one ns message on the catalog shard; rep valid until gl_rpc_call_done(c). */
static int catalog_op(struct glory *g, struct gl_wbuf *a, struct gl_rpc_call *c,
		      struct gl_rbuf *rep, int idempotent)
{
	uint32_t shard;
	int rc = catalog_shard(g, &shard);

	if (rc) {
		memset(c, 0, sizeof(*c));
		return rc;
	}
	return md_op(g, shard, a, c, rep, idempotent);
}

/* ---- a volume's shard, which a move changes ---- */

#define MOVE_WAIT_S 120.0 /* an op on a moving volume waits this long for the move */

/* The shard the catalog names for volume id vol. */
static int vol_where(struct glory *g, uint32_t vol, uint32_t *shard)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	auth_put(g, &a, 0);
	hdr(&a, GL_NS_VOL_WHERE);
	gl_put_u32(&a, vol);
	rc = catalog_op(g, &a, &c, &r, 1);
	if (!rc) {
		*shard = gl_get_u32(&r);
		rc = gl_rbuf_check(&r) ? -GL_EPROTO : 0;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* md_op on the volume's shard; while the volume moves (-GL_EMOVED) it waits, asks the catalog
 * where the volume lives and goes there. A refused op was not applied, so the same request id
 * is safe to send to the new shard. */
static int vol_op(struct glory_vol *v, const struct gl_wbuf *a, struct gl_rpc_call *c,
		  struct gl_rbuf *rep, int idempotent)
{
	double deadline = glory_mono() + MOVE_WAIT_S;

	for (int attempt = 0;; attempt++) {
		uint32_t shard = __atomic_load_n(&v->v.shard, __ATOMIC_RELAXED);
		int rc = md_op(v->g, shard, a, c, rep, idempotent);

		if (rc != -GL_EMOVED || glory_mono() > deadline)
			return rc;
		gl_rpc_call_done(c);
		usleep(attempt < 20 ? 50000 : 200000);
		if (vol_where(v->g, v->v.id, &shard) == 0)
			__atomic_store_n(&v->v.shard, shard, __ATOMIC_RELAXED);
	}
}

int glory_tenant_create(struct glory *g, const char *name, uint32_t *id)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_TENANT_CREATE);
	gl_put_str(&a, name);
	rc = catalog_op(g, &a, &c, &r, 1);
	if (!rc && id)
		*id = gl_get_u32(&r);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* A catalog write whose only argument is one string and whose reply does not matter. */
static int catalog_write_str(struct glory *g, uint16_t op, const char *arg)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, op);
	gl_put_str(&a, arg);
	rc = catalog_op(g, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_tenant_rm(struct glory *g, const char *name)
{
	return catalog_write_str(g, GL_NS_TENANT_RM, name);
}

int glory_tenant_list(struct glory *g, struct glory_tenant **out, int *n)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint32_t cnt;
	int rc;

	*out = NULL;
	*n = 0;
	gl_wbuf_init(&a);
	auth_put(g, &a, 0);
	hdr(&a, GL_NS_TENANT_LIST);
	rc = catalog_op(g, &a, &c, &r, 1);
	if (!rc) {
		cnt = gl_get_u32(&r);
		if (cnt > 1000000)
			rc = -GL_EPROTO;
		else if (!(*out = calloc(cnt ? cnt : 1, sizeof(**out))))
			rc = -GL_ENOMEM;
		for (uint32_t i = 0; !rc && i < cnt; i++) {
			(*out)[i].id = gl_get_u32(&r);
			gl_get_str(&r, (*out)[i].name, sizeof((*out)[i].name));
			(*out)[i].nvols = gl_get_u32(&r);
		}
		if (!rc && gl_rbuf_check(&r))
			rc = -GL_EPROTO;
		if (!rc)
			*n = (int)cnt;
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

static int random_text(char *out, size_t n, const char *alphabet)
{
	unsigned char raw[64];
	size_t k = strlen(alphabet);

	if (n > sizeof(raw) || RAND_bytes(raw, (int)n) != 1)
		return -GL_EIO;
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % k];
	out[n] = '\0';
	return 0;
}

int glory_key_create(struct glory *g, const char *tenant, char access[32], char secret[64])
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	rc = random_text(access, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	if (!rc)
		rc = random_text(
		    secret, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+");
	if (rc)
		return rc;
	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_KEY_CREATE);
	gl_put_str(&a, tenant);
	gl_put_str(&a, access);
	gl_put_str(&a, secret);
	rc = catalog_op(g, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_key_rm(struct glory *g, const char *access)
{
	return catalog_write_str(g, GL_NS_KEY_RM, access);
}

int glory_key_get(struct glory *g, const char *access, char tenant[64], char secret[64])
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	auth_put(g, &a, 0);
	hdr(&a, GL_NS_KEY_GET);
	gl_put_str(&a, access);
	rc = catalog_op(g, &a, &c, &r, 1);
	if (!rc) {
		(void)gl_get_u32(&r);
		gl_get_str(&r, tenant, 64);
		gl_get_str(&r, secret, 64);
		if (gl_rbuf_check(&r))
			rc = -GL_EPROTO;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* ---- volumes ---- */

static void vol_info(const struct gl_ns_vol *v, struct glory_volume_info *out)
{
	struct gl_scheme s;

	memset(out, 0, sizeof(*out));
	out->id = v->id;
	out->tenant = v->tenant;
	out->shard = v->shard;
	snprintf(out->name, sizeof(out->name), "%s", v->name);
	if (gl_scheme_from_pool(v->policy.pool, &s) == 0)
		gl_scheme_format(&s, out->redundancy, sizeof(out->redundancy));
	out->dedup = v->policy.dedup;
	out->quota_bytes = v->policy.quota_bytes;
	out->quota_inodes = v->policy.quota_inodes;
	out->used_bytes = v->used_bytes;
	out->used_inodes = v->used_inodes;
	out->ctime_ns = v->ctime_ns;
}

/* The catalog record of tenant/name (tenant NULL: the credentials' own tenant, by the key). */
static int vol_lookup(struct glory *g, const char *tenant, const char *name, struct gl_ns_vol *v)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	if (!tenant) {
		/* a key's tenant: list its volumes and pick by name */
		struct glory_volume_info *l;
		int n;

		rc = glory_volume_list(g, NULL, &l, &n);
		if (rc)
			return rc;
		rc = -GL_ENOENT;
		for (int i = 0; i < n; i++) {
			if (strcmp(l[i].name, name) == 0) {
				memset(v, 0, sizeof(*v));
				v->id = l[i].id;
				v->tenant = l[i].tenant;
				v->shard = l[i].shard;
				snprintf(v->name, sizeof(v->name), "%s", l[i].name);
				rc = 0;
			}
		}
		free(l);
		if (rc)
			return rc;
		struct glory_vol tv = {g, *v};

		gl_wbuf_init(&a);
		auth_put(g, &a, 0);
		hdr(&a, GL_NS_VOL_GET_ID);
		gl_put_u32(&a, v->id);
		rc = vol_op(&tv, &a, &c, &r, 1);
	} else {
		gl_wbuf_init(&a);
		auth_put(g, &a, 0);
		hdr(&a, GL_NS_VOL_GET);
		gl_put_str(&a, tenant);
		gl_put_str(&a, name);
		rc = catalog_op(g, &a, &c, &r, 1);
	}
	if (!rc) {
		gl_ns_vol_get(&r, v);
		rc = gl_rbuf_check(&r) ? -GL_EPROTO : 0;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

static int pool_of(const char *redundancy, uint32_t *pool)
{
	struct gl_scheme s;
	int rc = gl_scheme_parse(redundancy ? redundancy : "ec:4+2", &s);

	if (!rc)
		*pool = gl_scheme_pool(&s);
	return rc;
}

int glory_volume_create(struct glory *g, const char *tenant, const char *name,
			const char *redundancy, int dedup, uint64_t quota_bytes,
			uint64_t quota_inodes)
{
	struct gl_ns_policy p = {0};
	struct gl_ns_vol v;
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	struct gl_map m = {0};
	uint32_t shard;
	int rc;

	if ((rc = pool_of(redundancy, &p.pool)))
		return rc;
	p.dedup = dedup ? 1 : 0;
	p.quota_bytes = quota_bytes;
	p.quota_inodes = quota_inodes;
	/* the new volume's shard: round robin over the shards by the next volume number is not
	 * known yet, so pick the shard with the fewest volumes */
	rc = glory_map_get(g, &m, 0);
	if (rc)
		return rc;
	if (m.nshards == 0) {
		gl_map_free(&m);
		return -GL_EUNAVAIL;
	}
	shard = m.shards[0].id;
	if (m.nshards > 1) {
		struct glory_volume_info *l;
		int n, best = -1;

		if (glory_volume_list(g, NULL, &l, &n) == 0) {
			for (uint32_t i = 0; i < m.nshards; i++) {
				int cnt = 0;

				for (int j = 0; j < n; j++)
					cnt += l[j].shard == m.shards[i].id;
				if (best < 0 || cnt < best) {
					best = cnt;
					shard = m.shards[i].id;
				}
			}
			free(l);
		}
	}
	gl_map_free(&m);
	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_VOL_CREATE);
	gl_put_str(&a, tenant);
	gl_put_str(&a, name);
	gl_put_u32(&a, shard);
	gl_ns_policy_put(&a, &p);
	rc = catalog_op(g, &a, &c, &r, 1);
	if (!rc) {
		gl_ns_vol_get(&r, &v);
		rc = gl_rbuf_check(&r) ? -GL_EPROTO : 0;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	if (rc)
		return rc;
	/* the volume's own records and root, on its shard (idempotent) */
	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_VOL_INIT);
	gl_ns_vol_put(&a, &v);
	rc = md_op(g, v.shard, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_volume_list(struct glory *g, const char *tenant, struct glory_volume_info **out, int *n)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint32_t cnt;
	int rc;

	*out = NULL;
	*n = 0;
	gl_wbuf_init(&a);
	auth_put(g, &a, 0);
	hdr(&a, GL_NS_VOL_LIST);
	gl_put_str(&a, tenant ? tenant : "");
	rc = catalog_op(g, &a, &c, &r, 1);
	if (!rc) {
		cnt = gl_get_u32(&r);
		if (cnt > 1000000)
			rc = -GL_EPROTO;
		else if (!(*out = calloc(cnt ? cnt : 1, sizeof(**out))))
			rc = -GL_ENOMEM;
		for (uint32_t i = 0; !rc && i < cnt; i++) {
			struct gl_ns_vol v;

			gl_ns_vol_get(&r, &v);
			vol_info(&v, &(*out)[i]);
		}
		if (!rc && gl_rbuf_check(&r))
			rc = -GL_EPROTO;
		if (!rc)
			*n = (int)cnt;
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	/* usage lives with the volume: ask each volume's shard when it is not the catalog */
	return rc;
}

/* NS_VOL_SET on the volume's shard, or on the catalog shard (catalog). */
static int volume_set_on(struct glory *g, const struct gl_ns_vol *v, uint32_t mask,
			 const struct gl_ns_policy *p, int catalog)
{
	struct glory_vol tv = {g, *v};
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_VOL_SET);
	gl_put_u32(&a, v->id);
	gl_put_u32(&a, mask);
	gl_ns_policy_put(&a, p);
	rc = catalog ? catalog_op(g, &a, &c, &r, 1) : vol_op(&tv, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_volume_set(struct glory *g, const char *tenant, const char *name, unsigned mask,
		     const char *redundancy, int dedup, uint64_t quota_bytes, uint64_t quota_inodes)
{
	struct gl_ns_policy p = {0};
	struct gl_ns_vol v;
	uint32_t m = 0, cat;
	int rc;

	if ((mask & GLORY_VSET_REDUNDANCY) && (rc = pool_of(redundancy, &p.pool)))
		return rc;
	p.dedup = dedup ? 1 : 0;
	p.quota_bytes = quota_bytes;
	p.quota_inodes = quota_inodes;
	m |= mask & GLORY_VSET_REDUNDANCY ? GL_NS_VSET_POOL : 0;
	m |= mask & GLORY_VSET_DEDUP ? GL_NS_VSET_DEDUP : 0;
	m |= mask & GLORY_VSET_QBYTES ? GL_NS_VSET_QBYTES : 0;
	m |= mask & GLORY_VSET_QINODES ? GL_NS_VSET_QINODES : 0;
	if ((rc = vol_lookup(g, tenant, name, &v)))
		return rc;
	rc = volume_set_on(g, &v, m, &p, 0);
	if (!rc && catalog_shard(g, &cat) == 0 && cat != v.shard)
		volume_set_on(g, &v, m, &p, 1); /* the catalog's copy, for volume ls */
	return rc;
}

/* ---- moving a volume between shards (metadata/ns.h, "Moving a volume") ---- */

static int move_step(struct glory *g, uint32_t shard, uint32_t vol, uint8_t stage, uint32_t to)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_VOL_MOVE);
	gl_put_u32(&a, vol);
	gl_put_u8(&a, stage);
	gl_put_u32(&a, to);
	rc = md_op(g, shard, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* Copies the frozen volume's records from shard from to shard to, page by page. */
static int move_copy(struct glory *g, uint32_t from, uint32_t to, uint32_t vol,
		     glory_move_progress progress, void *arg)
{
	uint8_t after[512];
	uint16_t al = 0;
	uint64_t done_recs = 0;
	int rc = 0, done = 0;

	while (!rc && !done) {
		struct gl_wbuf a, b;
		struct gl_rpc_call c, c2;
		struct gl_rbuf r, r2;
		uint32_t n = 0;

		gl_wbuf_init(&a);
		auth_put(g, &a, 0);
		hdr(&a, GL_NS_VOL_EXPORT);
		gl_put_u32(&a, vol);
		gl_put_u16(&a, al);
		gl_put_bytes(&a, after, al);
		gl_put_u32(&a, GL_NS_EXPORT_MAX);
		rc = md_op(g, from, &a, &c, &r, 1);
		gl_wbuf_free(&a);
		if (!rc) {
			done = gl_get_u8(&r);
			n = gl_get_u32(&r);
			rc = gl_rbuf_check(&r) ? -GL_EPROTO : 0;
		}
		if (!rc && n) {
			/* the last key of the page: where the next one starts */
			struct gl_rbuf s = r;

			for (uint32_t i = 0; i < n && !rc; i++) {
				uint16_t kl = gl_get_u16(&s);
				const uint8_t *k = gl_get_bytes(&s, kl);
				uint32_t vl = gl_get_u32(&s);

				gl_get_bytes(&s, vl);
				if (gl_rbuf_check(&s) || kl > sizeof(after))
					rc = -GL_EPROTO;
				else if (i + 1 == n) {
					memcpy(after, k, kl);
					al = kl;
				}
			}
		}
		if (!rc && n) {
			gl_wbuf_init(&b);
			auth_put_op(g, &b, 0, 1);
			hdr(&b, GL_NS_VOL_IMPORT);
			gl_put_u32(&b, vol);
			gl_put_u32(&b, to);
			gl_put_u32(&b, n);
			gl_put_bytes(&b, r.p + r.off, gl_rbuf_left(&r));
			rc = md_op(g, to, &b, &c2, &r2, 1);
			gl_rpc_call_done(&c2);
			gl_wbuf_free(&b);
			done_recs += n;
			if (!rc && progress)
				progress(arg, "copying", done_recs);
		}
		gl_rpc_call_done(&c);
	}
	return rc;
}

int glory_volume_move(struct glory *g, const char *tenant, const char *name, uint32_t to,
		      glory_move_progress progress, void *arg)
{
	struct gl_shard_info sh;
	struct gl_ns_vol v;
	struct gl_map m = {0};
	uint32_t cat, from;
	int rc;

	if ((rc = vol_lookup(g, tenant, name, &v)) || (rc = catalog_shard(g, &cat)))
		return rc;
	if (shard_of(g, to, &sh, 1))
		return -GL_EINVAL; /* no such shard */
	from = v.shard;
	if (from == to) {
		/* there already, or an earlier move got past the switch: finish what it left */
		if ((rc = glory_map_get(g, &m, 0)))
			return rc;
		for (uint32_t i = 0; i < m.nshards; i++)
			if (m.shards[i].id != to)
				move_step(g, m.shards[i].id, v.id, GL_NS_MOVE_RELEASE, to);
		gl_map_free(&m);
		return 0;
	}
	if (progress)
		progress(arg, "freezing writes", 0);
	if ((rc = move_step(g, from, v.id, GL_NS_MOVE_FREEZE, to)) ||
	    (rc = move_step(g, to, v.id, GL_NS_MOVE_IN_BEGIN, to)) ||
	    (rc = move_copy(g, from, to, v.id, progress, arg)) ||
	    (rc = move_step(g, to, v.id, GL_NS_MOVE_IN_END, to)) ||
	    (rc = move_step(g, from, v.id, GL_NS_MOVE_GONE, to)))
		return rc;
	/* leases the source granted on the volume run out before anyone can write at the
	 * destination (metadata/lease.h) */
	if (progress)
		progress(arg, "switching the catalog", 0);
	usleep((GL_LEASE_MS + 250) * 1000);
	if ((rc = move_step(g, cat, v.id, GL_NS_MOVE_CATALOG, to)))
		return rc;
	if (progress)
		progress(arg, "releasing the old copy", 0);
	return move_step(g, from, v.id, GL_NS_MOVE_RELEASE, to);
}

int glory_volume_rm(struct glory *g, const char *tenant, const char *name, int force)
{
	struct glory_vol tv = {g, {0}};
	struct gl_ns_vol v;
	uint32_t cat;
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	if ((rc = vol_lookup(g, tenant, name, &v)))
		return rc;
	tv.v = v;
	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_VOL_RM);
	gl_put_u32(&a, v.id);
	gl_put_u8(&a, force ? 1 : 0);
	rc = vol_op(&tv, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	/* a volume on another shard than the catalog: its catalog record goes too */
	if (!rc && catalog_shard(g, &cat) == 0 && cat != tv.v.shard)
		rc = move_step(g, cat, v.id, GL_NS_MOVE_UNLIST, cat);
	return rc;
}

int glory_vol_open(struct glory *g, const char *tenant, const char *name, struct glory_vol **out)
{
	struct glory_vol *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -GL_ENOMEM;
	v->g = g;
	rc = vol_lookup(g, tenant, name, &v->v);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void glory_vol_close(struct glory_vol *v)
{
	free(v);
}

void glory_vol_set_inval_cb(struct glory_vol *v, glory_inval_fn cb, void *arg)
{
	struct glory *g = v->g;

	pthread_mutex_lock(&g->inval_lock);
	g->inval_arg = arg;
	g->inval_vol = v->v.id;
	g->inval_cb = cb;
	pthread_mutex_unlock(&g->inval_lock);
}

int glory_vol_info(struct glory_vol *v, struct glory_volume_info *out)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	struct gl_ns_vol nv;
	int rc;

	gl_wbuf_init(&a);
	auth_put(v->g, &a, 0);
	hdr(&a, GL_NS_VOL_GET_ID);
	gl_put_u32(&a, v->v.id);
	rc = vol_op(v, &a, &c, &r, 1);
	if (!rc) {
		gl_ns_vol_get(&r, &nv);
		rc = gl_rbuf_check(&r) ? -GL_EPROTO : 0;
	}
	if (!rc) {
		v->v = nv;
		vol_info(&nv, out);
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* ---- the namespace ---- */

static void to_attr(const struct gl_ns_attr *a, struct glory_attr *out)
{
	if (!out)
		return;
	out->ino = a->ino;
	out->mode = a->mode;
	out->uid = a->uid;
	out->gid = a->gid;
	out->nlink = a->nlink;
	out->size = a->size;
	out->rdev = a->rdev;
	out->atime_ns = a->atime_ns;
	out->mtime_ns = a->mtime_ns;
	out->ctime_ns = a->ctime_ns;
	out->btime_ns = a->btime_ns;
	out->blocks = a->blocks;
}

/* A volume op: hdr + u32 vol written; the caller adds the rest. */
static void vol_msg(struct glory_vol *v, struct gl_wbuf *a, uint16_t op, int lease)
{
	gl_wbuf_init(a);
	auth_put_op(v->g, a, lease, gl_ns_op_kind(op) == 0);
	hdr(a, op);
	gl_put_u32(a, v->v.id);
}

/* Sends a write op and applies our own invalidations. names: the op changes only the entries
 * (and so the attributes) of inv, not their xattrs. */
static int vol_write(struct glory_vol *v, struct gl_wbuf *a, struct gl_rpc_call *c,
		     struct gl_rbuf *r, const uint64_t *inv, int ninv, int names)
{
	int rc = vol_op(v, a, c, r, 1);

	for (int i = 0; v->g->cache && i < ninv; i++) {
		if (names)
			gl_mdcache_invalidate_dir(v->g->cache, v->v.shard, v->v.id, inv[i]);
		else
			gl_mdcache_invalidate(v->g->cache, v->v.shard, v->v.id, inv[i]);
	}
	return rc;
}

/* A write op answering an attr. made (not NULL): the name it makes in inv[0], a new inode.
 * The shard may lease us the new inode's attributes and the parent's attributes and entries as
 * they are after the change (metadata/rpc.h: trailing u8 new leased, u8 parent leased [, attr
 * of the parent]): what is leased is kept, so the kernel's look at the file just made and its
 * next walk through the parent (and in a directory we made, at names not there) need no round
 * trip. */
static int attr_op_new(struct glory_vol *v, struct gl_wbuf *a, const uint64_t *inv, int ninv,
		       int names, const char *made, struct glory_attr *out)
{
	struct gl_mdcache *cache = v->g->cache;
	uint64_t gen0 = cache ? gl_mdcache_gen(cache, v->v.shard) : 0;
	double sent = glory_mono();
	struct gl_rpc_call c;
	struct gl_rbuf r;
	struct gl_ns_attr at, pat;
	int rc, kept = 0;

	if (cache && made) {
		watch_ensure(v->g, v->v.shard);
		rc = vol_op(v, a, &c, &r, 1); /* the parent's copy: gl_mdcache_put_made */
	} else {
		rc = vol_write(v, a, &c, &r, inv, ninv, names);
	}
	if ((rc == 0 || rc == -GL_EEXIST) && r.len >= 8) {
		gl_ns_attr_get(&r, &at);
		if (gl_rbuf_check(&r)) {
			rc = rc ? rc : -GL_EPROTO;
		} else {
			to_attr(&at, out);
			if (cache && made && rc == 0 && gl_rbuf_left(&r) >= 1) {
				int leased = gl_get_u8(&r) == 1, pleased = 0;

				if (gl_rbuf_left(&r) >= 1 && gl_get_u8(&r) == 1) {
					gl_ns_attr_get(&r, &pat);
					pleased = !gl_rbuf_check(&r);
				}
				gl_mdcache_put_made(cache, v->v.shard, v->v.id, inv[0], made, &at,
						    leased, pleased ? &pat : NULL, gen0, sent,
						    glory_mono());
				kept = 1;
			} else if (cache) {
				gl_mdcache_invalidate(cache, v->v.shard, v->v.id, at.ino);
			}
		}
	}
	if (cache && made && !kept)
		gl_mdcache_invalidate_dir(cache, v->v.shard, v->v.id, inv[0]);
	gl_rpc_call_done(&c);
	gl_wbuf_free(a);
	return rc;
}

static int attr_op(struct glory_vol *v, struct gl_wbuf *a, const uint64_t *inv, int ninv, int names,
		   struct glory_attr *out)
{
	return attr_op_new(v, a, inv, ninv, names, NULL, out);
}

/* Cached reads: LOOKUP and GETATTR. *ttl (if not NULL): seconds the answer stays valid under
 * its lease, 0 when it is not cached. */
static int cached_read(struct glory_vol *v, uint16_t op, uint64_t ino, const char *name,
		       struct glory_attr *out, double *ttl)
{
	struct glory *g = v->g;
	struct gl_ns_attr at;
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint64_t gen0 = 0;
	double sent, exp = 0;
	int rc, cacheable = 0;

	if (ttl)
		*ttl = 0;
	if (g->cache) {
		double now = glory_mono();

		rc = op == GL_NS_LOOKUP ? gl_mdcache_lookup_exp(g->cache, v->v.shard, v->v.id, ino,
								name, &at, now, &exp)
					: gl_mdcache_getattr_exp(g->cache, v->v.shard, v->v.id, ino,
								 &at, now, &exp);
		if (rc == GL_MDCACHE_ABSENT)
			return -GL_ENOENT;
		if (rc == 0) {
			to_attr(&at, out);
			if (ttl && exp > now)
				*ttl = exp - now;
			return 0;
		}
		watch_ensure(g, v->v.shard);
		gen0 = gl_mdcache_gen(g->cache, v->v.shard);
	}
	vol_msg(v, &a, op, 1);
	gl_put_u64(&a, ino);
	if (op == GL_NS_LOOKUP)
		gl_put_str(&a, name);
	sent = glory_mono();
	rc = vol_op(v, &a, &c, &r, 1);
	if (!rc && g->cache)
		cacheable = gl_get_u8(&r);
	if (!rc) {
		gl_ns_attr_get(&r, &at);
		rc = gl_rbuf_check(&r) ? -GL_EPROTO : 0;
	}
	if (!rc) {
		to_attr(&at, out);
		if (cacheable && op == GL_NS_LOOKUP)
			exp = gl_mdcache_put_lookup(g->cache, v->v.shard, v->v.id, ino, name, &at,
						    gen0, sent);
		else if (cacheable)
			exp = gl_mdcache_put_attr(g->cache, v->v.shard, v->v.id, &at, gen0, sent);
		if (ttl && exp > 0) {
			double now = glory_mono();

			*ttl = exp > now ? exp - now : 0;
		}
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_lookup_ttl(struct glory_vol *v, uint64_t parent, const char *name, struct glory_attr *out,
		     double *ttl)
{
	if (ttl)
		*ttl = 0;
	if (!name || strlen(name) > GL_NS_NAME_MAX)
		return name ? -GL_ENAMETOOLONG : -GL_EINVAL;
	return cached_read(v, GL_NS_LOOKUP, parent, name, out, ttl);
}

int glory_lookup(struct glory_vol *v, uint64_t parent, const char *name, struct glory_attr *out)
{
	return glory_lookup_ttl(v, parent, name, out, NULL);
}

int glory_getattr_ttl(struct glory_vol *v, uint64_t ino, struct glory_attr *out, double *ttl)
{
	return cached_read(v, GL_NS_GETATTR, ino, NULL, out, ttl);
}

int glory_getattr(struct glory_vol *v, uint64_t ino, struct glory_attr *out)
{
	return cached_read(v, GL_NS_GETATTR, ino, NULL, out, NULL);
}

int glory_resolve(struct glory_vol *v, const char *path, struct glory_attr *out)
{
	char comp[GL_NS_NAME_MAX + 1];
	struct glory_attr at;
	int rc = glory_getattr(v, GLORY_ROOT, &at);

	while (!rc && path && *path) {
		const char *slash;
		size_t n;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		slash = strchr(path, '/');
		n = slash ? (size_t)(slash - path) : strlen(path);
		if (n > GL_NS_NAME_MAX)
			return -GL_ENAMETOOLONG;
		memcpy(comp, path, n);
		comp[n] = '\0';
		if (!S_ISDIR(at.mode))
			return -GL_ENOTDIR;
		rc = glory_lookup(v, at.ino, comp, &at);
		path += n;
	}
	if (!rc && out)
		*out = at;
	return rc;
}

int glory_setattr(struct glory_vol *v, uint64_t ino, unsigned valid, const struct glory_attr *in,
		  struct glory_attr *out)
{
	struct gl_wbuf a;
	uint32_t nv = 0;

	nv |= valid & GLORY_SET_MODE ? GL_NS_SET_MODE : 0;
	nv |= valid & GLORY_SET_UID ? GL_NS_SET_UID : 0;
	nv |= valid & GLORY_SET_GID ? GL_NS_SET_GID : 0;
	nv |= valid & GLORY_SET_SIZE ? GL_NS_SET_SIZE : 0;
	nv |= valid & GLORY_SET_ATIME ? GL_NS_SET_ATIME : 0;
	nv |= valid & GLORY_SET_MTIME ? GL_NS_SET_MTIME : 0;
	vol_msg(v, &a, GL_NS_SETATTR, 1);
	gl_put_u64(&a, ino);
	gl_put_u32(&a, nv);
	gl_put_u32(&a, in->mode);
	gl_put_u32(&a, in->uid);
	gl_put_u32(&a, in->gid);
	gl_put_u64(&a, in->size);
	gl_put_u64(&a, (uint64_t)in->atime_ns);
	gl_put_u64(&a, (uint64_t)in->mtime_ns);
	return attr_op(v, &a, &ino, 1, 0, out);
}

int glory_truncate(struct glory_vol *v, uint64_t ino, uint64_t size)
{
	struct glory_attr in = {0};

	in.size = size;
	return glory_setattr(v, ino, GLORY_SET_SIZE, &in, NULL);
}

static int make(struct glory_vol *v, uint16_t op, uint64_t parent, const char *name, uint32_t mode,
		uint32_t uid, uint32_t gid, uint64_t rdev, int excl, const char *target,
		struct glory_attr *out)
{
	struct gl_wbuf a;

	vol_msg(v, &a, op, 1);
	gl_put_u64(&a, parent);
	gl_put_str(&a, name ? name : "");
	if (op == GL_NS_SYMLINK)
		gl_put_str(&a, target ? target : "");
	else
		gl_put_u32(&a, mode);
	gl_put_u32(&a, uid);
	gl_put_u32(&a, gid);
	if (op == GL_NS_MKNOD) {
		gl_put_u64(&a, rdev);
		gl_put_u8(&a, (uint8_t)(excl ? 1 : 0));
	}
	if (name && strlen(name) > GL_NS_NAME_MAX) {
		gl_wbuf_free(&a);
		return -GL_ENAMETOOLONG;
	}
	return attr_op_new(v, &a, &parent, 1, 1, name ? name : "", out);
}

int glory_create(struct glory_vol *v, uint64_t parent, const char *name, uint32_t mode,
		 uint32_t uid, uint32_t gid, int excl, struct glory_attr *out)
{
	int rc = make(v, GL_NS_MKNOD, parent, name, S_IFREG | (mode & 07777), uid, gid, 0, excl,
		      NULL, out);

	return rc == -GL_EEXIST && !excl && out && S_ISREG(out->mode) ? 0 : rc;
}

int glory_mknod(struct glory_vol *v, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, uint64_t rdev, struct glory_attr *out)
{
	return make(v, GL_NS_MKNOD, parent, name, mode, uid, gid, rdev, 1, NULL, out);
}

int glory_mkdir(struct glory_vol *v, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, struct glory_attr *out)
{
	return make(v, GL_NS_MKDIR, parent, name, mode, uid, gid, 0, 1, NULL, out);
}

int glory_symlink(struct glory_vol *v, uint64_t parent, const char *name, const char *target,
		  uint32_t uid, uint32_t gid, struct glory_attr *out)
{
	if (target && strlen(target) > GL_NS_PATH_MAX)
		return -GL_ENAMETOOLONG;
	return make(v, GL_NS_SYMLINK, parent, name, 0, uid, gid, 0, 1, target, out);
}

int glory_readlink(struct glory_vol *v, uint64_t ino, char *buf, size_t cap)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	char t[GL_NS_PATH_MAX + 1];
	int rc;

	vol_msg(v, &a, GL_NS_READLINK, 0);
	gl_put_u64(&a, ino);
	rc = vol_op(v, &a, &c, &r, 1);
	if (!rc) {
		gl_get_str(&r, t, sizeof(t));
		rc = gl_rbuf_check(&r) ? -GL_EPROTO : 0;
	}
	if (!rc && strlen(t) >= cap)
		rc = -GL_ERANGE;
	if (!rc)
		memcpy(buf, t, strlen(t) + 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_link(struct glory_vol *v, uint64_t ino, uint64_t newparent, const char *name,
	       struct glory_attr *out)
{
	struct gl_wbuf a;
	uint64_t inv[2] = {ino, newparent};

	vol_msg(v, &a, GL_NS_LINK, 1);
	gl_put_u64(&a, ino);
	gl_put_u64(&a, newparent);
	gl_put_str(&a, name ? name : "");
	return attr_op(v, &a, inv, 2, 1, out);
}

/* Drops our cached copy of name in parent (its inode too, when we know it). */
static void forget_name(struct glory_vol *v, uint64_t parent, const char *name)
{
	struct gl_ns_attr at;

	if (!v->g->cache)
		return;
	if (gl_mdcache_lookup(v->g->cache, v->v.shard, v->v.id, parent, name, &at, glory_mono()) ==
	    0)
		gl_mdcache_invalidate(v->g->cache, v->v.shard, v->v.id, at.ino);
	gl_mdcache_invalidate_dir(v->g->cache, v->v.shard, v->v.id, parent);
}

/* The shard leases us the parent's attributes after an unlink (metadata/rpc.h): then we keep
 * them and its other entries (in a directory we made, all of them), and only the name goes. */
int glory_unlink_keep(struct glory_vol *v, uint64_t parent, const char *name, int keep,
		      struct glory_attr *out)
{
	struct gl_mdcache *cache = v->g->cache;
	struct gl_ns_attr at, pat;
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint64_t gen0 = 0;
	double sent = 0;
	int rc, kept = 0;

	vol_msg(v, &a, GL_NS_UNLINK, 1);
	gl_put_u64(&a, parent);
	gl_put_str(&a, name ? name : "");
	gl_put_u8(&a, (uint8_t)(keep ? 1 : 0));
	if (!cache)
		return attr_op(v, &a, &parent, 1, 1, out);
	if (name &&
	    gl_mdcache_lookup(cache, v->v.shard, v->v.id, parent, name, &at, glory_mono()) == 0)
		gl_mdcache_invalidate(cache, v->v.shard, v->v.id, at.ino);
	watch_ensure(v->g, v->v.shard);
	gen0 = gl_mdcache_gen(cache, v->v.shard);
	sent = glory_mono();
	rc = vol_op(v, &a, &c, &r, 1);
	if (rc == 0 && r.len >= 8) {
		gl_ns_attr_get(&r, &at);
		if (gl_rbuf_check(&r)) {
			rc = -GL_EPROTO;
		} else {
			to_attr(&at, out);
			gl_mdcache_invalidate(cache, v->v.shard, v->v.id, at.ino);
			if (gl_rbuf_left(&r) >= 1 && gl_get_u8(&r) == 1) {
				gl_ns_attr_get(&r, &pat);
				if (!gl_rbuf_check(&r)) {
					gl_mdcache_put_removed(cache, v->v.shard, v->v.id, parent,
							       name ? name : "", &pat, gen0, sent,
							       glory_mono());
					kept = 1;
				}
			}
		}
	}
	if (!kept)
		gl_mdcache_invalidate_dir(cache, v->v.shard, v->v.id, parent);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_unlink(struct glory_vol *v, uint64_t parent, const char *name)
{
	return glory_unlink_keep(v, parent, name, 0, NULL);
}

int glory_rmdir(struct glory_vol *v, uint64_t parent, const char *name)
{
	struct gl_wbuf a;
	int rc;

	forget_name(v, parent, name);
	vol_msg(v, &a, GL_NS_RMDIR, 1);
	gl_put_u64(&a, parent);
	gl_put_str(&a, name ? name : "");
	rc = attr_op(v, &a, &parent, 1, 1, NULL);
	if (v->g->cache) /* the removed directory's xattrs (its number is not in the answer) */
		gl_mdcache_drop_xattrs(v->g->cache, v->v.shard);
	return rc;
}

int glory_rename_ex(struct glory_vol *v, uint64_t sparent, const char *sname, uint64_t dparent,
		    const char *dname, unsigned flags, struct glory_attr *replaced)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint64_t inv[2] = {sparent, dparent};
	uint32_t f = 0;
	int rc;

	f |= flags & GLORY_RENAME_NOREPLACE ? GL_NS_RENAME_NOREPLACE : 0;
	f |= flags & GLORY_RENAME_EXCHANGE ? GL_NS_RENAME_EXCHANGE : 0;
	f |= flags & GLORY_RENAME_KEEP ? GL_NS_RENAME_KEEP : 0;
	if (flags & ~(unsigned)(GLORY_RENAME_NOREPLACE | GLORY_RENAME_EXCHANGE | GLORY_RENAME_KEEP))
		return -GL_EINVAL;
	if (replaced)
		memset(replaced, 0, sizeof(*replaced));
	forget_name(v, sparent, sname);
	forget_name(v, dparent, dname);
	vol_msg(v, &a, GL_NS_RENAME, 1);
	gl_put_u64(&a, sparent);
	gl_put_str(&a, sname ? sname : "");
	gl_put_u64(&a, dparent);
	gl_put_str(&a, dname ? dname : "");
	gl_put_u32(&a, f);
	rc = vol_write(v, &a, &c, &r, inv, 2, 1);
	if (rc == 0 && gl_get_u8(&r)) {
		struct gl_ns_attr at;

		gl_ns_attr_get(&r, &at);
		if (gl_rbuf_check(&r) == 0) {
			if (replaced)
				to_attr(&at, replaced);
			if (v->g->cache)
				gl_mdcache_invalidate(v->g->cache, v->v.shard, v->v.id, at.ino);
		}
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_rename(struct glory_vol *v, uint64_t sparent, const char *sname, uint64_t dparent,
		 const char *dname, unsigned flags)
{
	return glory_rename_ex(v, sparent, sname, dparent, dname, flags, NULL);
}

int glory_readdir(struct glory_vol *v, uint64_t dir, uint64_t cookie, unsigned max, int plus,
		  glory_dirent_fn fn, void *arg, int *eof)
{
	unsigned done = 0;
	int stop = 0, rc = 0;

	*eof = 0;
	while (!stop && (max == 0 || done < max)) {
		struct gl_wbuf a;
		struct gl_rpc_call c;
		struct gl_rbuf r;
		uint32_t n, want = max ? GL_MIN(max - done, 1024u) : 1024u;
		uint8_t last;

		vol_msg(v, &a, GL_NS_READDIR, 0);
		gl_put_u64(&a, dir);
		gl_put_u64(&a, cookie);
		gl_put_u32(&a, want);
		gl_put_u8(&a, (uint8_t)(plus ? 1 : 0));
		rc = vol_op(v, &a, &c, &r, 1);
		gl_wbuf_free(&a);
		if (rc) {
			gl_rpc_call_done(&c);
			break;
		}
		last = gl_get_u8(&r);
		n = gl_get_u32(&r);
		for (uint32_t i = 0; i < n && !stop; i++) {
			char name[GL_NS_NAME_MAX + 1];
			struct gl_ns_attr at;
			struct glory_attr ga;
			struct glory_dirent e;

			e.cookie = gl_get_u64(&r);
			e.ino = gl_get_u64(&r);
			e.mode = gl_get_u32(&r);
			gl_get_str(&r, name, sizeof(name));
			e.name = name;
			e.attr = NULL;
			if (plus) {
				gl_ns_attr_get(&r, &at);
				to_attr(&at, &ga);
				e.attr = &ga;
			}
			if (gl_rbuf_check(&r)) {
				rc = -GL_EPROTO;
				break;
			}
			cookie = e.cookie;
			done++;
			stop = fn(arg, &e) != 0;
		}
		gl_rpc_call_done(&c);
		if (rc)
			break;
		if (last && !stop && (max == 0 || done < max || n == 0)) {
			*eof = 1;
			break;
		}
		if (last) {
			*eof = !stop;
			break;
		}
	}
	return rc;
}

static int xattr_set(struct glory_vol *v, uint16_t op, uint64_t ino, const char *name,
		     const void *value, size_t len, unsigned flags)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint32_t f = 0;
	int rc;

	if (len > GL_NS_XVALUE_MAX)
		return -GL_E2BIG;
	f |= flags & GLORY_XATTR_CREATE ? GL_NS_XATTR_CREATE : 0;
	f |= flags & GLORY_XATTR_REPLACE ? GL_NS_XATTR_REPLACE : 0;
	vol_msg(v, &a, op, 1);
	gl_put_u64(&a, ino);
	gl_put_str(&a, name ? name : "");
	if (op == GL_NS_SETXATTR) {
		gl_put_u32(&a, (uint32_t)len);
		gl_put_bytes(&a, value, len);
		gl_put_u32(&a, f);
	}
	rc = vol_write(v, &a, &c, &r, &ino, 1, 0);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_setxattr(struct glory_vol *v, uint64_t ino, const char *name, const void *value,
		   size_t len, unsigned flags)
{
	return xattr_set(v, GL_NS_SETXATTR, ino, name, value, len, flags);
}

int glory_removexattr(struct glory_vol *v, uint64_t ino, const char *name)
{
	return xattr_set(v, GL_NS_RMXATTR, ino, name, NULL, 0, 0);
}

/* With the cache on, an xattr (or its absence) is kept under the lease its read was granted
 * on the inode (a shard that grants none answers "not cacheable"). */
ssize_t glory_getxattr(struct glory_vol *v, uint64_t ino, const char *name, void *buf, size_t cap)
{
	struct glory *g = v->g;
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint64_t xgen0 = 0;
	double sent;
	int cacheable = 0;
	ssize_t rc;

	if (g->cache && name) {
		rc = gl_mdcache_getxattr(g->cache, v->v.shard, v->v.id, ino, name, buf, cap,
					 glory_mono());
		if (rc != -GL_ENOENT)
			return rc;
		watch_ensure(g, v->v.shard);
		xgen0 = gl_mdcache_xgen(g->cache, v->v.shard, v->v.id, ino);
	}
	vol_msg(v, &a, GL_NS_GETXATTR, 1);
	gl_put_u64(&a, ino);
	gl_put_str(&a, name ? name : "");
	sent = glory_mono();
	rc = vol_op(v, &a, &c, &r, 1);
	if ((rc == 0 || rc == -GL_ENODATA) && g->cache) {
		cacheable = gl_get_u8(&r);
		if (gl_rbuf_check(&r))
			rc = -GL_EPROTO;
	}
	if (!rc) {
		uint32_t n = gl_get_u32(&r);
		const uint8_t *p = gl_get_bytes(&r, n);

		if (!p) {
			rc = -GL_EPROTO;
		} else {
			if (cacheable && name)
				gl_mdcache_put_xattr(g->cache, v->v.shard, v->v.id, ino, name, p, n,
						     xgen0, sent);
			if (cap && n > cap) {
				rc = -GL_ERANGE;
			} else {
				if (cap)
					memcpy(buf, p, n);
				rc = (ssize_t)n;
			}
		}
	} else if (rc == -GL_ENODATA && cacheable && name) {
		gl_mdcache_put_xattr(g->cache, v->v.shard, v->v.id, ino, name, NULL, 0, xgen0,
				     sent);
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

ssize_t glory_listxattr(struct glory_vol *v, uint64_t ino, char *buf, size_t cap)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	ssize_t rc;

	vol_msg(v, &a, GL_NS_LISTXATTR, 0);
	gl_put_u64(&a, ino);
	rc = vol_op(v, &a, &c, &r, 1);
	if (!rc) {
		uint32_t n = gl_get_u32(&r);
		size_t total = 0;

		for (uint32_t i = 0; i < n && !gl_rbuf_check(&r); i++) {
			uint16_t l = gl_get_u16(&r);
			const uint8_t *p = gl_get_bytes(&r, l);

			if (!p)
				break;
			if (cap && total + l + 1 <= cap) {
				memcpy(buf + total, p, l);
				buf[total + l] = '\0';
			}
			total += (size_t)l + 1;
		}
		if (gl_rbuf_check(&r))
			rc = -GL_EPROTO;
		else if (cap && total > cap)
			rc = -GL_ERANGE;
		else
			rc = (ssize_t)total;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int glory_statfs(struct glory_vol *v, struct glory_statfs *out)
{
	struct glory_volume_info vi;
	struct glory_status *st = NULL;
	uint64_t avail = 0, total = 0;
	int rc = glory_vol_info(v, &vi);

	if (rc)
		return rc;
	if (glory_status(v->g, &st) == 0) {
		struct gl_scheme s;
		uint64_t num = 1, den = 1;

		for (int i = 0; i < st->nservers; i++) {
			if (strcmp(st->servers[i].state, "up") == 0) {
				total += st->servers[i].cap_total;
				avail += st->servers[i].cap_avail;
			}
		}
		/* raw capacity in user bytes: divided by the redundancy overhead */
		if (gl_scheme_from_pool(v->v.policy.pool, &s) == 0) {
			num = (uint64_t)gl_scheme_need(&s);
			den = (uint64_t)gl_scheme_width(&s);
		}
		total = total / den * num;
		avail = avail / den * num;
		glory_status_free(st);
	}
	memset(out, 0, sizeof(*out));
	out->bytes_used = vi.used_bytes;
	out->inodes_used = vi.used_inodes;
	out->bytes_total = vi.quota_bytes ? vi.quota_bytes : total;
	out->bytes_free =
	    vi.quota_bytes ? (vi.quota_bytes > vi.used_bytes ? vi.quota_bytes - vi.used_bytes : 0)
			   : avail;
	if (vi.quota_bytes && out->bytes_free > avail && total)
		out->bytes_free = avail;
	out->inodes_total = vi.quota_inodes ? vi.quota_inodes : (1ull << 40);
	out->inodes_free =
	    out->inodes_total > vi.used_inodes ? out->inodes_total - vi.used_inodes : 0;
	return 0;
}

/* fs_data.c needs these */
int glory_vol_ids(struct glory_vol *v, uint32_t *shard, uint32_t *vol, uint32_t *pool, int *dedup)
{
	*shard = v->v.shard;
	*vol = v->v.id;
	*pool = v->v.policy.pool;
	*dedup = v->v.policy.dedup;
	return 0;
}

struct glory *glory_vol_glory(struct glory_vol *v)
{
	return v->g;
}

/* NS_WRITE and NS_LAYOUT for fs_data.c: a is a complete MD_OP (auth + ns message). */
int glory_vol_md(struct glory_vol *v, struct gl_wbuf *a, struct gl_rpc_call *c, struct gl_rbuf *r,
		 int idempotent)
{
	int rc = vol_op(v, a, c, r, idempotent);

	return rc;
}

void glory_vol_msg(struct glory_vol *v, struct gl_wbuf *a, uint16_t op)
{
	/* reads through here (layouts) are not cached: no lease, so no leading cacheable byte */
	vol_msg(v, a, op, gl_ns_op_kind(op) == 0);
}

void glory_vol_invalidate(struct glory_vol *v, uint64_t ino)
{
	if (v->g->cache)
		gl_mdcache_invalidate(v->g->cache, v->v.shard, v->v.id, ino);
}

int glory_forget(struct glory_vol *v, uint64_t ino)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	vol_msg(v, &a, GL_NS_FORGET, 1);
	gl_put_u64(&a, ino);
	rc = vol_write(v, &a, &c, &r, &ino, 1, 0);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* ---- file locks (NS_LOCK, metadata/ns_lock.c) ----
 * The session is this client's request-id client (random, per struct glory). A thread renews it
 * every GL_NS_LOCK_TTL / 3 seconds on every shard where we took a lock; glory_disconnect ends
 * it (our locks go at once); a client that dies leaves them to expire. */
#define LOCK_RENEW_MS (GL_NS_LOCK_TTL * 1000 / 3)

static int session_msg(struct glory *g, uint32_t shard, uint32_t ttl)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	auth_put_op(g, &a, 0, 1);
	hdr(&a, GL_NS_SESSION);
	gl_put_u64(&a, g->rid_client);
	gl_put_u32(&a, ttl);
	rc = md_op(g, shard, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

static void *lock_renew_main(void *arg)
{
	struct glory *g = arg;

	for (;;) {
		uint32_t shards[GLORY_LOCK_SHARDS];
		int n;

		for (int t = 0; t < LOCK_RENEW_MS / 100 && !g->closing; t++)
			usleep(100000);
		pthread_mutex_lock(&g->lock);
		n = g->nlock_shards;
		memcpy(shards, g->lock_shards, sizeof(shards));
		pthread_mutex_unlock(&g->lock);
		for (int i = 0; i < n; i++) {
			int rc = session_msg(g, shards[i], g->closing ? 0 : GL_NS_LOCK_TTL);

			if (rc)
				gl_warn("glory: renewing the lock session on shard %u: %s",
					shards[i], gl_strerror(rc));
		}
		if (g->closing)
			return NULL;
	}
}

/* Remembers that we hold locks on shard; starts the renewal thread once. */
static void lock_shard_add(struct glory *g, uint32_t shard)
{
	int i, start = 0;

	pthread_mutex_lock(&g->lock);
	for (i = 0; i < g->nlock_shards && g->lock_shards[i] != shard; i++)
		;
	if (i == g->nlock_shards && i < GLORY_LOCK_SHARDS)
		g->lock_shards[g->nlock_shards++] = shard;
	if (!g->lock_thread_started && !g->closing) {
		g->lock_thread_started = 1;
		start = 1;
	}
	pthread_mutex_unlock(&g->lock);
	if (start && pthread_create(&g->lock_thread, NULL, lock_renew_main, g)) {
		pthread_mutex_lock(&g->lock);
		g->lock_thread_started = 0;
		pthread_mutex_unlock(&g->lock);
	}
}

void glory_lock_shutdown(struct glory *g)
{
	/* g->closing is set: the thread ends the sessions and returns */
	if (g->lock_thread_started)
		pthread_join(g->lock_thread, NULL);
}

static void lock_msg(struct glory_vol *v, struct gl_wbuf *a, uint16_t op, uint64_t ino, int kind,
		     uint64_t owner, uint32_t pid, int type, uint64_t start, uint64_t end)
{
	vol_msg(v, a, op, 0);
	gl_put_u64(a, ino);
	pthread_mutex_lock(&v->g->lock);
	if (!v->g->rid_client && /* a read before any write: make the session id now */
	    RAND_bytes((unsigned char *)&v->g->rid_client, sizeof(v->g->rid_client)) != 1)
		v->g->rid_client = (uint64_t)(uintptr_t)v->g ^ (uint64_t)time(NULL);
	gl_put_u64(a, v->g->rid_client);
	pthread_mutex_unlock(&v->g->lock);
	gl_put_u64(a, owner);
	gl_put_u32(a, pid);
	gl_put_u8(a, (uint8_t)kind);
	gl_put_u8(a, (uint8_t)type);
	gl_put_u64(a, start);
	gl_put_u64(a, end);
}

int glory_lock(struct glory_vol *v, uint64_t ino, int kind, uint64_t owner, uint32_t pid, int type,
	       uint64_t start, uint64_t end)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	lock_msg(v, &a, GL_NS_LOCK, ino, kind, owner, pid, type, start, end);
	rc = vol_op(v, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	if (rc == 0 && type != GLORY_LOCK_UN)
		lock_shard_add(v->g, __atomic_load_n(&v->v.shard, __ATOMIC_RELAXED));
	return rc;
}

int glory_getlk(struct glory_vol *v, uint64_t ino, int kind, uint64_t owner, struct glory_lock *l)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	lock_msg(v, &a, GL_NS_GETLK, ino, kind, owner, 0, l->type, l->start, l->end);
	rc = vol_op(v, &a, &c, &r, 1);
	if (rc == 0) {
		uint8_t found = gl_get_u8(&r);

		memset(l, 0, sizeof(*l));
		if (found) {
			l->type = gl_get_u8(&r);
			l->start = gl_get_u64(&r);
			l->end = gl_get_u64(&r);
			l->pid = gl_get_u32(&r);
			l->remote = gl_get_u64(&r) != v->g->rid_client;
		}
		if (gl_rbuf_check(&r))
			rc = -GL_EPROTO;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

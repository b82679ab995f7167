/* Metadata server: a member of one shard's raft group serving the MD protocol. */
#include "metadata/mds.h"

#include "cluster/map.h"
#include "cluster/ms_client.h"
#include "cluster/rpc.h"
#include "common/compiler.h"
#include "common/errors.h"
#include "common/log.h"
#include "metadata/lease.h"
#include "metadata/md_client.h"
#include "metadata/md_multi.h"
#include "metadata/md_sm.h"
#include "metadata/ns.h"
#include "metadata/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MDS_PROPOSE_MS 10000
#define MDS_FENCE_MS   5000
#define KEY_CACHE      256
#define KEY_TTL	       5.0 /* seconds a verified key is trusted without asking again */
#define NS_HDR_LEN     14  /* u16 op, u32 tenant, i64 now */
#define ENTRY_HDR      GL_MD_ENTRY_HDR

struct key_entry {
	char access[64];
	char secret[128];
	uint32_t tenant;
	double until;
};

struct mds {
	struct gl_mds_cfg cfg;
	struct gl_rsm *rsm;
	struct gl_rpc_pool *pool;
	pthread_mutex_t lock; /* guards map, keys */
	pthread_cond_t wake;
	struct gl_map map;
	struct key_entry keys[KEY_CACHE];
	struct gl_leases *leases;
	double leader_since; /* when we noticed we lead this term (0: not leader) */
	volatile int stopping;
	struct gl_md_sm sm;
};

void gl_mds_cfg_defaults(struct gl_mds_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->id = 1;
	cfg->heartbeat = 1;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- credentials ---- */

static int catalog_is_here(struct mds *m)
{
	int here;

	pthread_mutex_lock(&m->lock);
	here = m->map.nshards == 0 || m->map.shards[0].id == m->cfg.shard;
	pthread_mutex_unlock(&m->lock);
	return here;
}

/* NS_KEY_GET, answered here (when this shard holds the catalog) or by the catalog shard. */
static int key_fetch(struct mds *m, const char *access, uint32_t *tenant, char *secret, size_t cap)
{
	struct gl_wbuf q, rep;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&q);
	gl_wbuf_init(&rep);
	gl_ns_hdr_put(&q, GL_NS_KEY_GET, 0, 0);
	gl_put_str(&q, access);
	if (q.err) {
		rc = q.err;
		goto out;
	}
	if (catalog_is_here(m)) {
		rc = gl_rsm_read_fence(m->rsm, MDS_FENCE_MS);
		if (rc == 0) {
			rocksdb_t *db = gl_rsm_read_begin(m->rsm);

			rc = gl_ns_read(db, q.p, q.len, &rep);
			gl_rsm_read_end(m->rsm);
		}
		gl_rbuf_init(&r, rep.p, rep.len);
	} else {
		struct gl_shard_info sh;
		struct gl_rpc_call c;

		pthread_mutex_lock(&m->lock);
		sh = m->map.shards[0];
		pthread_mutex_unlock(&m->lock);
		rc = gl_md_call(m->pool, &sh, &q, &c, MDS_FENCE_MS);
		if (rc == 0)
			gl_put_bytes(&rep, c.rargs, c.rargs_len);
		gl_rpc_call_done(&c);
		gl_rbuf_init(&r, rep.p, rep.len);
	}
	if (rc == 0) {
		char tname[GL_NS_VNAME_MAX + 1];

		*tenant = gl_get_u32(&r);
		gl_get_str(&r, tname, sizeof(tname));
		gl_get_str(&r, secret, cap);
		rc = gl_rbuf_check(&r);
	}
out:
	gl_wbuf_free(&q);
	gl_wbuf_free(&rep);
	return rc;
}

static int secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Verifies access/secret; *tenant on success, -GL_EAUTH otherwise. */
static int authenticate(struct mds *m, const char *access, const char *secret, uint32_t *tenant)
{
	unsigned slot = 0;
	char want[128];
	int rc;

	for (const char *p = access; *p; p++)
		slot = slot * 31 + (unsigned char)*p;
	slot %= KEY_CACHE;
	pthread_mutex_lock(&m->lock);
	if (strcmp(m->keys[slot].access, access) == 0 && m->keys[slot].until > now_mono()) {
		int ok = secret_eq(m->keys[slot].secret, secret);

		*tenant = m->keys[slot].tenant;
		pthread_mutex_unlock(&m->lock);
		return ok ? 0 : -GL_EAUTH;
	}
	pthread_mutex_unlock(&m->lock);
	rc = key_fetch(m, access, tenant, want, sizeof(want));
	if (rc == -GL_ENOENT)
		return -GL_EAUTH;
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	snprintf(m->keys[slot].access, sizeof(m->keys[slot].access), "%s", access);
	snprintf(m->keys[slot].secret, sizeof(m->keys[slot].secret), "%s", want);
	m->keys[slot].tenant = *tenant;
	m->keys[slot].until = now_mono() + KEY_TTL;
	pthread_mutex_unlock(&m->lock);
	return secret_eq(want, secret) ? 0 : -GL_EAUTH;
}

/* ---- handlers ---- */

static int not_leader(struct mds *m, struct gl_rpc_reply *rep)
{
	struct gl_rsm_member l;

	if (gl_rsm_leader(m->rsm, &l) == 0 && l.id != m->cfg.id)
		gl_put_str(rep->args, l.rpc_addr);
	else
		gl_put_str(rep->args, "");
	return -GL_ENOTLEADER;
}

/* ---- the metadata cache: which objects a request depends on or changes ---- */

/* Local lookup of name in dir (the leader's own state), for invalidations by name. */
static uint64_t peek_child(struct mds *m, uint32_t vol, uint64_t dir, const char *name)
{
	struct gl_wbuf q, rep;
	struct gl_rbuf r;
	uint64_t ino = 0;
	rocksdb_t *db;

	gl_wbuf_init(&q);
	gl_wbuf_init(&rep);
	gl_ns_hdr_put(&q, GL_NS_LOOKUP, 0, 0);
	gl_put_u32(&q, vol);
	gl_put_u64(&q, dir);
	gl_put_str(&q, name);
	db = gl_rsm_read_begin(m->rsm);
	if (!q.err && gl_ns_read(db, q.p, q.len, &rep) == 0) {
		gl_rbuf_init(&r, rep.p, rep.len);
		ino = gl_get_u64(&r);
	}
	gl_rsm_read_end(m->rsm);
	gl_wbuf_free(&q);
	gl_wbuf_free(&rep);
	return ino;
}

/* Objects a write changes that others may cache: parents' entries and inodes' attributes.
 * Names are resolved before the write (peek) and from its reply. */
static int write_objects(struct mds *m, const uint8_t *msg, size_t len, int peek,
			 const struct gl_wbuf *reply, struct gl_lease_obj *o)
{
	struct gl_rbuf r, a;
	char name[GL_NS_NAME_MAX + 1], dname[GL_NS_NAME_MAX + 1];
	uint16_t op;
	uint32_t vol;
	uint64_t x, y;
	int n = 0;

	gl_rbuf_init(&r, msg, len);
	op = gl_get_u16(&r);
	gl_get_u32(&r);
	gl_get_u64(&r);
	if ((op < GL_NS_MKNOD || op > GL_NS_FORGET) && op != GL_NS_PUNCH && op != GL_NS_CLONE)
		return 0;
	vol = gl_get_u32(&r);
	x = gl_get_u64(&r);
	if (gl_rbuf_check(&r))
		return 0;
	o[n++] = (struct gl_lease_obj){vol, x}; /* the parent, or the inode itself */
	switch (op) {
	case GL_NS_LINK:
	case GL_NS_CLONE: /* the destination's attributes change */
		y = gl_get_u64(&r);
		if (!gl_rbuf_check(&r))
			o[n++] = (struct gl_lease_obj){vol, y};
		break;
	case GL_NS_UNLINK:
	case GL_NS_RMDIR:
		gl_get_str(&r, name, sizeof(name));
		if (peek && !gl_rbuf_check(&r) && (y = peek_child(m, vol, x, name)))
			o[n++] = (struct gl_lease_obj){vol, y};
		break;
	case GL_NS_RENAME:
		gl_get_str(&r, name, sizeof(name));
		y = gl_get_u64(&r);
		gl_get_str(&r, dname, sizeof(dname));
		if (gl_rbuf_check(&r))
			break;
		o[n++] = (struct gl_lease_obj){vol, y};
		if (peek) {
			uint64_t s = peek_child(m, vol, x, name), d = peek_child(m, vol, y, dname);

			if (s)
				o[n++] = (struct gl_lease_obj){vol, s};
			if (d)
				o[n++] = (struct gl_lease_obj){vol, d};
		}
		break;
	default:
		break;
	}
	/* replies that carry the changed inode's attributes start with its number */
	if (reply && reply->len >= 8 && (op == GL_NS_UNLINK || op == GL_NS_LINK)) {
		gl_rbuf_init(&a, reply->p, reply->len);
		o[n++] = (struct gl_lease_obj){vol, gl_get_u64(&a)};
	}
	if (reply && reply->len >= 9 && op == GL_NS_RENAME && reply->p[0]) {
		gl_rbuf_init(&a, reply->p + 1, reply->len - 1);
		o[n++] = (struct gl_lease_obj){vol, gl_get_u64(&a)};
	}
	return n;
}

/* A new leader acknowledges no write until the leases an earlier leader granted have expired
 * (metadata/lease.h rule 4). */
static void wait_inherited_leases(struct mds *m)
{
	double since;

	pthread_mutex_lock(&m->lock);
	since = m->leader_since;
	pthread_mutex_unlock(&m->lock);
	if (since == 0)
		since = now_mono(); /* not noticed yet: count from now */
	while (now_mono() < since + GL_LEASE_MS / 1000.0) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
}

/* 1 once the raft member is loaded (the RPC server starts before it). */
static int ready(struct mds *m)
{
	return __atomic_load_n(&m->rsm, __ATOMIC_ACQUIRE) != NULL;
}

/* One MD_OP request, parsed: the entry to propose (or the read to serve) and what the cache
 * needs to know about it. */
struct md_req {
	uint8_t *msg; /* ENTRY_HDR + the ns message */
	size_t len;   /* of the ns message */
	int kind;     /* gl_ns_op_kind: 0 write, 1 read */
	int lease;
	uint64_t client;
	struct gl_lease_obj objs[8];
	int nobj;
	uint64_t seq0; /* a write's lease sequence before it was proposed */
};

/* Parses and authenticates an MD_OP request: 0 and q filled (free q->msg), or an error. */
static int req_parse(struct mds *m, const uint8_t *args, size_t alen, struct md_req *q)
{
	struct gl_rbuf r;
	uint32_t tenant = 0;
	uint64_t req_client = 0, req_id = 0;
	int rc;

	memset(q, 0, sizeof(*q));
	gl_rbuf_init(&r, args, alen);
	uint8_t auth = gl_get_u8(&r);
	int reqid = (auth & GL_MD_F_REQID) != 0;

	q->lease = (auth & GL_MD_F_LEASE) != 0;
	auth &= GL_MD_AUTH_MASK;
	if (auth == GL_MD_AUTH_KEY) {
		char access[64], secret[128];

		gl_get_str(&r, access, sizeof(access));
		gl_get_str(&r, secret, sizeof(secret));
		if (gl_rbuf_check(&r))
			return -GL_EPROTO;
		rc = authenticate(m, access, secret, &tenant);
		if (rc)
			return rc;
	} else if (auth != GL_MD_AUTH_ADMIN) {
		return -GL_EPROTO;
	}
	if (q->lease)
		q->client = gl_get_u64(&r);
	if (reqid) {
		req_client = gl_get_u64(&r);
		req_id = gl_get_u64(&r);
	}
	if (gl_rbuf_check(&r) || gl_rbuf_left(&r) < NS_HDR_LEN)
		return -GL_EPROTO;
	q->len = gl_rbuf_left(&r);
	/* the entry: u8 has request id, [u64 client, u64 request id], the ns message */
	q->msg = malloc(q->len + ENTRY_HDR);
	if (!q->msg)
		return -GL_ENOMEM;
	memcpy(q->msg + ENTRY_HDR, r.p + r.off, q->len);
	q->msg[0] = (uint8_t)reqid;
	gl_le64(q->msg + 1, req_client);
	gl_le64(q->msg + 9, req_id);
	q->kind = gl_ns_op_kind(gl_rd16(q->msg + ENTRY_HDR));
	gl_le32(q->msg + ENTRY_HDR + 2, tenant);
	if (q->kind != 0 && q->kind != 1) {
		free(q->msg);
		q->msg = NULL;
		return -GL_EBADOP;
	}
	return 0;
}

/* Before a write is proposed: what it will change (for the caches) and the leader's time. */
static void write_before(struct mds *m, struct md_req *q)
{
	q->nobj = write_objects(m, q->msg + ENTRY_HDR, q->len, 1, NULL, q->objs);
	q->seq0 = gl_leases_seq(m->leases);
	gl_le64(q->msg + ENTRY_HDR + 6, (uint64_t)now_ns());
}

/* After a create or an unlink applied: the parent's attributes as they are now, leased to the
 * writer with its entries (read like a GETATTR: sequence sampled, read, granted; the state read
 * is at least as new as the write). Appends u8 1 and the attr, or u8 0. */
static void lease_parent(struct mds *m, const struct md_req *q, struct gl_wbuf *reply)
{
	const uint8_t *msg = q->msg + ENTRY_HDR;
	uint8_t get[NS_HDR_LEN + 12];
	struct gl_lease_obj o = {.vol = gl_rd32(msg + NS_HDR_LEN),
				 .ino = gl_rd64(msg + NS_HDR_LEN + 4)};
	uint64_t seq0 = gl_leases_seq(m->leases);
	struct gl_wbuf pa;
	rocksdb_t *db;
	int rc;

	memcpy(get, msg, NS_HDR_LEN); /* the create's tenant and time */
	gl_le16(get, GL_NS_GETATTR);
	memcpy(get + NS_HDR_LEN, msg + NS_HDR_LEN, 12); /* u32 vol, u64 parent */
	gl_wbuf_init(&pa);
	db = gl_rsm_read_begin(m->rsm);
	rc = gl_ns_read(db, get, sizeof(get), &pa);
	gl_rsm_read_end(m->rsm);
	if (rc == 0 && !pa.err && pa.len >= 8 &&
	    gl_leases_grant(m->leases, q->client, &o, 1, seq0, now_mono())) {
		gl_put_u8(reply, 1);
		gl_put_bytes(reply, pa.p, pa.len);
	} else {
		gl_put_u8(reply, 0);
	}
	gl_wbuf_free(&pa);
}

/* After it: applied or maybe applied, either way no cache may keep the old state. */
static void write_after(struct mds *m, struct md_req *q, int rc, struct gl_wbuf *reply)
{
	if (rc == -GL_ENOTLEADER)
		return;
	uint16_t op = gl_rd16(q->msg + ENTRY_HDR);
	int n2 = write_objects(m, q->msg + ENTRY_HDR, q->len, 0, rc == 0 ? reply : NULL,
			       q->objs + q->nobj);

	gl_leases_invalidate(m->leases, q->client, q->objs, q->nobj + n2);
	wait_inherited_leases(m);
	/* a new inode's attributes are leased to its creator, as a GETATTR's would be (its next
	 * stat then needs no round trip): a trailing u8, 1 when it may cache them. Not when an
	 * invalidation began since the write was proposed (another client changed it already). */
	if (rc == 0 && q->lease && reply->len >= 8 && q->len >= NS_HDR_LEN + 12 &&
	    (op == GL_NS_MKNOD || op == GL_NS_MKDIR || op == GL_NS_SYMLINK)) {
		struct gl_lease_obj o = {.vol = gl_rd32(q->msg + ENTRY_HDR + NS_HDR_LEN),
					 .ino = gl_rd64(reply->p)};
		struct gl_ns_attr na;
		struct gl_rbuf ar;

		/* a retried request answered with the first attempt's reply (metadata/md_sm.h):
		 * the inode may have changed since, and its name too; lease neither */
		gl_rbuf_init(&ar, reply->p, reply->len);
		gl_ns_attr_get(&ar, &na);
		if (gl_rbuf_check(&ar) || na.btime_ns != (int64_t)gl_rd64(q->msg + ENTRY_HDR + 6)) {
			gl_put_u8(reply, 0);
			gl_put_u8(reply, 0);
			return;
		}
		gl_put_u8(reply, (uint8_t)gl_leases_grant(m->leases, q->client, &o, 1, q->seq0,
							  now_mono()));
		lease_parent(m, q, reply);
	}
	/* the same for the parent after an unlink (the reply carries the inode after it) */
	if (rc == 0 && q->lease && reply->len >= 8 && q->len >= NS_HDR_LEN + 12 &&
	    op == GL_NS_UNLINK)
		lease_parent(m, q, reply);
}

/* A read, after a read fence (fenced: the caller made one after the request arrived). */
static int req_read(struct mds *m, struct md_req *q, int fenced, struct gl_wbuf *out)
{
	uint16_t op = gl_rd16(q->msg + ENTRY_HDR);
	uint64_t seq0 = gl_leases_seq(m->leases);
	double t0 = now_mono();
	size_t start = out->len;
	int rc = 0;

	if (q->lease)
		gl_put_u8(out, 0);
	if (!fenced)
		rc = gl_rsm_read_fence(m->rsm, MDS_FENCE_MS);
	if (rc == 0) {
		rocksdb_t *db = gl_rsm_read_begin(m->rsm);
		size_t at = out->len;

		rc = gl_ns_read(db, q->msg + ENTRY_HDR, q->len, out);
		gl_rsm_read_end(m->rsm);
		if (rc == 0 && q->lease && q->len >= NS_HDR_LEN + 12 &&
		    (op == GL_NS_LOOKUP || op == GL_NS_GETATTR) && out->len >= at + 8) {
			struct gl_rbuf r;

			gl_rbuf_init(&r, q->msg + ENTRY_HDR + NS_HDR_LEN, q->len - NS_HDR_LEN);
			q->objs[0].vol = gl_get_u32(&r);
			q->objs[0].ino = gl_get_u64(&r);
			q->objs[1].vol = q->objs[0].vol;
			q->objs[1].ino = gl_rd64(out->p + at);
			out->p[start] = (uint8_t)gl_leases_grant(
			    m->leases, q->client, q->objs, op == GL_NS_LOOKUP ? 2 : 1, seq0, t0);
		}
		/* an xattr, or its absence, is the inode's: any change to it invalidates the
		 * inode (SETXATTR, RMXATTR, the inode's removal) */
		if ((rc == 0 || rc == -GL_ENODATA) && q->lease && q->len >= NS_HDR_LEN + 12 &&
		    op == GL_NS_GETXATTR) {
			struct gl_rbuf r;

			gl_rbuf_init(&r, q->msg + ENTRY_HDR + NS_HDR_LEN, q->len - NS_HDR_LEN);
			q->objs[0].vol = gl_get_u32(&r);
			q->objs[0].ino = gl_get_u64(&r);
			out->p[start] =
			    (uint8_t)gl_leases_grant(m->leases, q->client, q->objs, 1, seq0, t0);
		}
	}
	return rc;
}

static int md_h_op(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct mds *m = ctx;
	struct md_req q;
	int rc;

	if (!ready(m))
		return -GL_EUNAVAIL; /* still loading the raft log */
	rc = req_parse(m, req->args, req->args_len, &q);
	if (rc)
		return rc;
	if (q.kind == 0) {
		write_before(m, &q);
		rc = gl_rsm_propose(m->rsm, q.msg, q.len + ENTRY_HDR, rep->args, MDS_PROPOSE_MS);
		write_after(m, &q, rc, rep->args);
	} else {
		rc = req_read(m, &q, 0, rep->args);
	}
	free(q.msg);
	if (rc == -GL_ENOTLEADER) {
		rep->args->len = 0;
		return not_leader(m, rep);
	}
	return rc;
}

/* MD_MULTI: independent MD_OPs of one client's threads in one message. The writes are proposed
 * together (one raft entry while the group is busy), the reads share one read fence. */
static int md_h_multi(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct mds *m = ctx;
	struct gl_md_part part[GL_MD_MULTI_MAX], ans[GL_MD_MULTI_MAX];
	struct md_req q[GL_MD_MULTI_MAX];
	struct gl_wbuf out[GL_MD_MULTI_MAX], *wout[GL_MD_MULTI_MAX];
	const void *ops[GL_MD_MULTI_MAX];
	size_t lens[GL_MD_MULTI_MAX];
	int st[GL_MD_MULTI_MAX], wst[GL_MD_MULTI_MAX], nw = 0, fence = 1;
	uint32_t n;

	if (!ready(m))
		return -GL_EUNAVAIL;
	if (gl_md_multi_parse(req->args, req->args_len, part, &n))
		return -GL_EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		gl_wbuf_init(&out[i]);
		st[i] = req_parse(m, part[i].p, part[i].len, &q[i]);
		if (!st[i] && q[i].kind == 0) {
			write_before(m, &q[i]);
			ops[nw] = q[i].msg;
			lens[nw] = q[i].len + ENTRY_HDR;
			wout[nw++] = &out[i];
		}
	}
	if (nw) {
		int k = 0;

		gl_rsm_propose_many(m->rsm, nw, ops, lens, wout, wst, MDS_PROPOSE_MS);
		for (uint32_t i = 0; i < n; i++) {
			if (st[i] || q[i].kind != 0)
				continue;
			st[i] = wst[k++];
			write_after(m, &q[i], st[i], &out[i]);
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (st[i] || q[i].kind != 1)
			continue;
		if (fence == 1) /* one fence, after every read here arrived, serves them all */
			fence = gl_rsm_read_fence(m->rsm, MDS_FENCE_MS);
		st[i] = fence ? fence : req_read(m, &q[i], 1, &out[i]);
	}
	for (uint32_t i = 0; i < n; i++) {
		if (st[i] == -GL_ENOTLEADER) {
			struct gl_rpc_reply sub = {.args = &out[i]};

			out[i].len = 0;
			not_leader(m, &sub);
		}
		ans[i].status = st[i];
		ans[i].p = out[i].p;
		ans[i].len = (uint32_t)out[i].len;
		free(q[i].msg);
	}
	gl_md_multi_put(rep->args, ans, n, 1);
	for (uint32_t i = 0; i < n; i++)
		gl_wbuf_free(&out[i]);
	return 0;
}

static int md_h_watch(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct mds *m = ctx;

	if (!ready(m))
		return -GL_EUNAVAIL; /* still loading the raft log */
	struct gl_lease_obj *out;
	struct gl_rbuf r;
	uint64_t client, acked, seq;
	int n;

	gl_rbuf_init(&r, req->args, req->args_len);
	client = gl_get_u64(&r);
	acked = gl_get_u64(&r);
	if (gl_rbuf_check(&r))
		return -GL_EPROTO;
	pthread_mutex_lock(&m->lock);
	int leading = m->leader_since != 0;

	pthread_mutex_unlock(&m->lock);
	if (!leading)
		return not_leader(m, rep);
	out = malloc(GL_WATCH_MAX * sizeof(*out));
	if (!out)
		return -GL_ENOMEM;
	n = gl_leases_watch(m->leases, client, acked, GL_WATCH_WAIT_MS, out, GL_WATCH_MAX, &seq);
	if (n < 0) {
		free(out);
		return n;
	}
	gl_put_u64(rep->args, seq);
	gl_put_u32(rep->args, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		gl_put_u32(rep->args, out[i].vol);
		gl_put_u64(rep->args, out[i].ino);
	}
	free(out);
	return 0;
}

static int md_h_status(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct mds *m = ctx;

	if (!ready(m))
		return -GL_EUNAVAIL; /* still loading the raft log */
	struct gl_rsm_status st;
	int rc;

	(void)req;
	rc = gl_rsm_status(m->rsm, &st);
	if (rc)
		return rc;
	gl_put_u32(rep->args, m->cfg.shard);
	gl_put_u64(rep->args, st.id);
	gl_put_u64(rep->args, st.leader_id);
	gl_put_u64(rep->args, st.term);
	gl_put_u64(rep->args, st.commit_index);
	gl_put_u64(rep->args, st.applied_index);
	gl_put_u64(rep->args, st.last_index);
	gl_put_u64(rep->args, st.snapshot_index);
	gl_put_str(rep->args, st.role ? st.role : "?");
	gl_put_u32(rep->args, (uint32_t)st.nmembers);
	for (int i = 0; i < st.nmembers; i++) {
		gl_put_u64(rep->args, st.members[i].id);
		gl_put_str(rep->args, st.members[i].rpc_addr);
		gl_put_u8(rep->args, (uint8_t)st.voter[i]);
	}
	return 0;
}

static int md_h_member(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct mds *m = ctx;

	if (!ready(m))
		return -GL_EUNAVAIL; /* still loading the raft log */
	struct gl_rsm_member mem = {0};
	struct gl_rbuf r;
	uint8_t add;
	int rc;

	gl_rbuf_init(&r, req->args, req->args_len);
	add = gl_get_u8(&r);
	mem.id = gl_get_u64(&r);
	gl_get_str(&r, mem.rpc_addr, sizeof(mem.rpc_addr));
	if (gl_rbuf_check(&r) || mem.id == 0 || add > 1)
		return -GL_EPROTO;
	if (add)
		rc = gl_rsm_add(m->rsm, &mem, 60000);
	else
		rc = gl_rsm_remove(m->rsm, mem.id, 30000);
	if (rc == -GL_ENOTLEADER)
		return not_leader(m, rep);
	return rc;
}

static int md_h_snap(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct mds *m = ctx;

	if (!ready(m))
		return -GL_EUNAVAIL; /* still loading the raft log */

	return gl_rsm_h_snap_read(m->rsm, req, rep);
}

static const struct gl_rpc_op md_ops[] = {
#define MD_OP(name, code, handler) {GL_##name, #name, handler},
    GL_MD_RPCS(MD_OP)
#undef MD_OP
	{GL_RSM_OP_SNAP_READ, "RSM_SNAP_READ", md_h_snap},
};

/* ---- heartbeats to the master ---- */

static void heartbeat_once(struct mds *m)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint64_t epoch;
	int rc;

	gl_wbuf_init(&a);
	gl_put_u32(&a, m->cfg.shard);
	gl_put_u64(&a, m->cfg.id);
	gl_put_str(&a, m->cfg.listen);
	rc = gl_ms_call(m->pool, m->cfg.master, GL_MS_MDS_HEARTBEAT, &a, &c);
	gl_wbuf_free(&a);
	if (rc) {
		gl_rpc_call_done(&c);
		gl_debug("mds: heartbeat to %s: %s", m->cfg.master, gl_strerror(rc));
		return;
	}
	gl_rbuf_init(&r, c.rargs, c.rargs_len);
	epoch = gl_get_u64(&r);
	gl_rpc_call_done(&c);
	pthread_mutex_lock(&m->lock);
	int stale = epoch != m->map.epoch;

	pthread_mutex_unlock(&m->lock);
	if (stale) {
		struct gl_map fresh = {0};

		if (gl_ms_get_map(m->pool, m->cfg.master, &fresh) == 0) {
			pthread_mutex_lock(&m->lock);
			gl_map_free(&m->map);
			m->map = fresh;
			pthread_mutex_unlock(&m->lock);
		}
	}
}

static void *heartbeat_main(void *arg)
{
	struct mds *m = arg;

	while (!m->stopping) {
		struct timespec ts;

		heartbeat_once(m);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)m->cfg.heartbeat;
		ts.tv_nsec += (long)((m->cfg.heartbeat - (double)(time_t)m->cfg.heartbeat) * 1e9);
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&m->lock);
		if (!m->stopping)
			pthread_cond_timedwait(&m->wake, &m->lock, &ts);
		pthread_mutex_unlock(&m->lock);
	}
	return NULL;
}

/* Notices leadership changes: a new term of ours starts the inherited-lease wait; losing it
 * voids every lease we granted. */
static void *leader_main(void *arg)
{
	struct mds *m = arg;
	uint64_t term = 0;

	while (!m->stopping) {
		struct gl_rsm_status st;
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (gl_rsm_status(m->rsm, &st) == 0) {
			int lead = st.role && strcmp(st.role, "leader") == 0;

			pthread_mutex_lock(&m->lock);
			if (lead && (m->leader_since == 0 || st.term != term)) {
				m->leader_since = now_mono();
				term = st.term;
				gl_info("mds: leader of shard %u in term %llu", m->cfg.shard,
					(unsigned long long)term);
			} else if (!lead && m->leader_since != 0) {
				m->leader_since = 0;
				pthread_mutex_unlock(&m->lock);
				gl_leases_clear(m->leases);
				pthread_mutex_lock(&m->lock);
			}
			pthread_mutex_unlock(&m->lock);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int gl_mds_run(const struct gl_mds_cfg *cfg)
{
	struct mds *m = calloc(1, sizeof(*m));
	struct gl_rpc_server *srv = NULL;
	struct gl_rpc_server_cfg scfg = {0};
	struct gl_rsm_cfg rcfg = {0};
	struct gl_rsm *rsm = NULL;
	pthread_t hb, lt;
	sigset_t set;
	int rc, sig;

	if (!m)
		return -GL_ENOMEM;
	m->cfg = *cfg;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (mkdir(cfg->dir, 0755) && errno != EEXIST) {
		rc = gl_from_errno(errno);
		gl_error("mds: cannot create %s: %s", cfg->dir, strerror(errno));
		goto out;
	}
	rc = gl_rpc_pool_new(2000, &m->pool);
	if (!rc)
		rc = gl_leases_new(&m->leases);
	if (rc)
		goto out;
	rcfg.dir = cfg->dir;
	rcfg.id = cfg->id;
	rcfg.rpc_addr = cfg->listen;
	gl_md_sm_init(&m->sm);
	rcfg.sm = &m->sm.sm;
	rcfg.snapshot_threshold = cfg->snapshot_threshold;
	rcfg.snapshot_trailing = cfg->snapshot_trailing;
	rcfg.election_ms = cfg->election_ms;
	if (cfg->peers) {
		rc = gl_rsm_parse_members(cfg->peers, rcfg.boot, GL_RSM_MAX_MEMBERS, &rcfg.nboot);
		if (rc) {
			gl_error("mds: bad --peers '%s': expected ID@HOST:PORT,...", cfg->peers);
			goto out;
		}
	}
	scfg.listen = cfg->listen;
	scfg.ops = md_ops;
	scfg.nops = GL_ARRAY_SIZE(md_ops);
	scfg.ctx = m;
	/* listen first: loading a long raft log can take a while, and the port tells that we
	 * are alive; until the member is loaded every request gets -GL_EUNAVAIL */
	rc = gl_rpc_server_start(&scfg, &srv);
	if (rc) {
		gl_error("mds: cannot listen on %s: %s", cfg->listen, gl_strerror(rc));
		goto out;
	}
	rc = gl_rsm_open(&rcfg, &rsm);
	if (rc) {
		gl_error("mds: cannot start the raft member in %s: %s", cfg->dir, gl_strerror(rc));
		gl_rpc_server_stop(srv);
		goto out;
	}
	__atomic_store_n(&m->rsm, rsm, __ATOMIC_RELEASE);
	gl_info("mds: shard %u member %llu serving %s on %s, master %s", cfg->shard,
		(unsigned long long)cfg->id, cfg->dir, cfg->listen, cfg->master);
	pthread_create(&hb, NULL, heartbeat_main, m);
	pthread_create(&lt, NULL, leader_main, m);
	sigwait(&set, &sig);
	gl_info("mds: stopping on signal %d", sig);
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	gl_leases_shutdown(m->leases);
	pthread_join(hb, NULL);
	pthread_join(lt, NULL);
	gl_rpc_server_stop(srv);
out:
	if (m->rsm)
		gl_rsm_close(m->rsm);
	if (m->pool)
		gl_rpc_pool_free(m->pool);
	gl_leases_free(m->leases);
	gl_map_free(&m->map);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	free(m);
	return rc;
}

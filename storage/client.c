/* Client side of the data servers: stripe writes, degraded reads, fragment rebuilds. */
#include "storage/client.h"

#include "cluster/placement.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/rpc.h"
#include "storage/ec.h"
#include "storage/local.h"
#include "storage/rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUT_TIMEOUT_MS	15000
#define GET_TIMEOUT_MS	5000
#define SUSPECT_SECONDS 3.0
#define NSUSPECT	64
#define REP_PIECES	4	   /* a whole replicated chunk is read as this many ranges... */
#define REP_SPLIT_MIN	(1u << 20) /* ...when it is at least this long */

struct suspect {
	uint32_t id;
	double until;
};

struct gl_sclient {
	struct gl_rpc_pool *pool;
	pthread_mutex_t lock; /* guards ec[][] and sus[] */
	struct gl_ec *ec[GL_MAX_K + 1][GL_MAX_M + 1];
	struct suspect sus[NSUSPECT];
	struct gl_local *local; /* reads of fragments on this host; NULL: off */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int gl_sclient_new(struct gl_sclient **out)
{
	struct gl_sclient *sc = calloc(1, sizeof(*sc));
	int rc;

	if (!sc)
		return -GL_ENOMEM;
	rc = gl_rpc_pool_new(3000, &sc->pool);
	if (rc) {
		free(sc);
		return rc;
	}
	pthread_mutex_init(&sc->lock, NULL);
	sc->local = gl_local_new();
	*out = sc;
	return 0;
}

void gl_sclient_free(struct gl_sclient *sc)
{
	if (!sc)
		return;
	for (int k = 0; k <= GL_MAX_K; k++)
		for (int m = 0; m <= GL_MAX_M; m++)
			gl_ec_free(sc->ec[k][m]);
	gl_rpc_pool_free(sc->pool);
	gl_local_free(sc->local);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

struct gl_rpc_pool *gl_sclient_pool(struct gl_sclient *sc)
{
	return sc->pool;
}

void gl_sclient_suspect(struct gl_sclient *sc, uint32_t id)
{
	double t = now_s();
	int slot = 0;

	pthread_mutex_lock(&sc->lock);
	for (int i = 0; i < NSUSPECT; i++) {
		if (sc->sus[i].id == id || sc->sus[i].until < sc->sus[slot].until) {
			slot = i;
			if (sc->sus[i].id == id)
				break;
		}
	}
	sc->sus[slot].id = id;
	sc->sus[slot].until = t + SUSPECT_SECONDS;
	pthread_mutex_unlock(&sc->lock);
}

int gl_sclient_is_suspect(struct gl_sclient *sc, uint32_t id)
{
	double t = now_s();
	int r = 0;

	pthread_mutex_lock(&sc->lock);
	for (int i = 0; i < NSUSPECT; i++)
		if (sc->sus[i].id == id && sc->sus[i].until > t)
			r = 1;
	pthread_mutex_unlock(&sc->lock);
	return r;
}

static struct gl_ec *get_ec(struct gl_sclient *sc, const struct gl_scheme *s)
{
	struct gl_ec *ec;

	pthread_mutex_lock(&sc->lock);
	ec = sc->ec[s->k][s->m];
	if (!ec && gl_ec_new(s->k, s->m, &ec) == 0)
		sc->ec[s->k][s->m] = ec;
	pthread_mutex_unlock(&sc->lock);
	return ec;
}

int gl_chunk_min_ok(const struct gl_scheme *s)
{
	int width = gl_scheme_width(s);
	int ok = GL_MAX(gl_scheme_need(s) + 1, width - 1);

	return GL_MIN(ok, width);
}

static int usable(struct gl_sclient *sc, const struct gl_map *m, int di)
{
	return di >= 0 && (uint32_t)di < m->n && m->ds[di].state == GL_DS_UP &&
	       !gl_sclient_is_suspect(sc, m->ds[di].id);
}

uint64_t gl_sclient_local_reads(struct gl_sclient *sc)
{
	struct gl_local_stats st;

	gl_local_get_stats(sc->local, &st);
	return st.reads;
}

static int srv_local(struct gl_sclient *sc, const struct gl_map *m, int di)
{
	return usable(sc, m, di) && gl_local_known(sc->local, m->ds[di].addr);
}

/* The slot of a usable replica on a server of this host, or -1. */
static int local_replica(struct gl_sclient *sc, const struct gl_map *m,
			 const struct gl_placement *p)
{
	for (int i = 0; i < p->width; i++)
		if (srv_local(sc, m, p->slot[i]))
			return i;
	return -1;
}

int gl_chunk_local(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		   const uint8_t id[GL_CHUNK_ID_LEN])
{
	struct gl_placement p;

	if (!sc->local || gl_place(m, gl_scheme_pool(s), id, gl_scheme_width(s), &p))
		return 0;
	if (s->type == GL_RED_REP)
		return local_replica(sc, m, &p) >= 0;
	for (int i = 0; i < s->k; i++)
		if (!srv_local(sc, m, p.slot[i]))
			return 0;
	return 1;
}

int gl_chunk_warm(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		  const uint8_t id[GL_CHUNK_ID_LEN], size_t len)
{
	struct gl_placement p;
	struct gl_fkey k = {.pool = gl_scheme_pool(s)};
	size_t fl = gl_scheme_frag_len(s, len);
	int rc = -GL_ENOTSUP, i;

	if (!sc->local || fl < GL_FSTORE_INLINE_MAX ||
	    gl_place(m, gl_scheme_pool(s), id, gl_scheme_width(s), &p))
		return -GL_ENOTSUP;
	memcpy(k.chunk, id, GL_CHUNK_ID_LEN);
	if (s->type == GL_RED_REP) {
		if ((i = local_replica(sc, m, &p)) < 0)
			return -GL_ENOTSUP;
		k.idx = (uint8_t)i;
		return gl_local_warm(sc->local, m->ds[p.slot[i]].addr, &k, len, (uint32_t)fl);
	}
	for (i = 0; i < s->k; i++) {
		if (!srv_local(sc, m, p.slot[i]))
			continue;
		k.idx = (uint8_t)i;
		if (gl_local_warm(sc->local, m->ds[p.slot[i]].addr, &k, len, (uint32_t)fl) == 0)
			rc = 0;
	}
	return rc;
}

/* First handoff that is usable and not yet used; -1 if none. */
static int pick_handoff(struct gl_sclient *sc, const struct gl_map *m, const struct gl_placement *p,
			const int *target, int width)
{
	for (int h = 0; h < p->nhandoff; h++) {
		int di = p->handoff[h], taken = 0;

		if (!usable(sc, m, di))
			continue;
		for (int i = 0; i < width; i++)
			if (target[i] == di)
				taken = 1;
		if (!taken)
			return di;
	}
	return -1;
}

/* DS_PUT of several fragments at once: idx[j] to server di[j]. Fills st[j]. */
static void put_many(struct gl_sclient *sc, const struct gl_map *m, uint32_t pool,
		     const uint8_t *id, int n, const int *idx, const int *di, uint8_t *const *frag,
		     const uint32_t *crc, size_t fl, uint64_t chunk_len, int *st)
{
	struct gl_rpc_call calls[GL_MAX_WIDTH];
	struct gl_wbuf args[GL_MAX_WIDTH];
	struct iovec iov[GL_MAX_WIDTH];
	const char *addrs[GL_MAX_WIDTH] = {0};

	memset(calls, 0, sizeof(calls));
	for (int j = 0; j < n; j++) {
		struct gl_fkey k = {.pool = pool, .idx = (uint8_t)idx[j]};

		memcpy(k.chunk, id, GL_CHUNK_ID_LEN);
		gl_wbuf_init(&args[j]);
		gl_fkey_put(&args[j], &k);
		gl_put_u64(&args[j], chunk_len);
		gl_put_u32(&args[j], crc[idx[j]]);
		iov[j].iov_base = frag[idx[j]];
		iov[j].iov_len = fl;
		calls[j].opcode = GL_DS_PUT;
		calls[j].args = args[j].p;
		calls[j].args_len = (uint32_t)args[j].len;
		calls[j].bulk = &iov[j];
		calls[j].nbulk = 1;
		addrs[j] = m->ds[di[j]].addr;
	}
	gl_rpc_multi(sc->pool, n, addrs, calls, PUT_TIMEOUT_MS);
	for (int j = 0; j < n; j++) {
		st[j] = calls[j].status;
		if (st[j] && st[j] != -GL_ENOSPC && st[j] != -GL_ECORRUPT)
			gl_sclient_suspect(sc, m->ds[di[j]].id);
		if (st[j])
			gl_warn("put fragment %d to %s: %s (trying another server)", idx[j],
				addrs[j], gl_strerror(st[j]));
		gl_rpc_call_done(&calls[j]);
		gl_wbuf_free(&args[j]);
	}
}

int gl_chunk_write(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		   const uint8_t id[GL_CHUNK_ID_LEN], const void *data, size_t len)
{
	int width = gl_scheme_width(s), stored = 0, rc;
	uint32_t pool = gl_scheme_pool(s);
	size_t fl = gl_scheme_frag_len(s, len);
	uint8_t *frag[GL_MAX_WIDTH], *pad = NULL;
	uint32_t crc[GL_MAX_WIDTH];
	int target[GL_MAX_WIDTH], done[GL_MAX_WIDTH] = {0};
	struct gl_placement p;

	if (len > GL_CHUNK_MAX)
		return -GL_E2BIG;
	rc = gl_place(m, pool, id, width, &p);
	if (rc)
		return rc;
	if (s->type == GL_RED_EC) {
		struct gl_ec *ec = get_ec(sc, s);

		pad = malloc((size_t)(s->m + s->k) * fl);
		if (!ec || !pad) {
			rc = -GL_ENOMEM;
			goto out;
		}
		for (int i = 0; i < s->k; i++) {
			size_t off = (size_t)i * fl;

			if (off + fl <= len) {
				frag[i] = (uint8_t *)data + off;
				continue;
			}
			/* the partial fragment and those past the end: zero padded copies */
			frag[i] = pad + (size_t)(s->m + i) * fl;
			memset(frag[i], 0, fl);
			if (off < len)
				memcpy(frag[i], (const uint8_t *)data + off, len - off);
		}
		for (int i = 0; i < s->m; i++)
			frag[s->k + i] = pad + (size_t)i * fl;
		gl_ec_encode(ec, fl, frag, frag + s->k);
	} else {
		for (int i = 0; i < width; i++)
			frag[i] = (uint8_t *)data;
	}
	for (int i = 0; i < width; i++) /* replicas: one pass */
		crc[i] = i && frag[i] == frag[0] ? crc[0] : gl_crc32c(GL_CRC_INIT, frag[i], fl);

	for (int i = 0; i < width; i++)
		target[i] = usable(sc, m, p.slot[i]) ? p.slot[i] : -1;
	for (int round = 0; round < 3 && stored < width; round++) {
		int idx[GL_MAX_WIDTH], di[GL_MAX_WIDTH], st[GL_MAX_WIDTH], n = 0;

		for (int i = 0; i < width; i++) {
			if (done[i])
				continue;
			if (target[i] < 0)
				target[i] = pick_handoff(sc, m, &p, target, width);
			if (target[i] >= 0) {
				idx[n] = i;
				di[n++] = target[i];
			}
		}
		if (!n)
			break;
		put_many(sc, m, pool, id, n, idx, di, frag, crc, fl, len, st);
		for (int j = 0; j < n; j++) {
			if (st[j] == 0) {
				done[idx[j]] = 1;
				stored++;
			} else {
				target[idx[j]] = -2; /* failed: never reuse this server for it */
			}
		}
		for (int i = 0; i < width; i++)
			if (target[i] == -2)
				target[i] = -1;
	}
	rc = 0;
	if (stored < width) {
		if (stored >= gl_chunk_min_ok(s)) {
			gl_warn("chunk written degraded: %d of %d fragments", stored, width);
		} else {
			gl_warn("chunk write failed: only %d of %d fragments stored", stored,
				width);
			rc = -GL_EUNAVAIL;
		}
	}
out:
	free(pad);
	return rc;
}

/* Fragment gathering state for one chunk. */
struct fetch {
	struct gl_sclient *sc;
	const struct gl_map *m;
	const struct gl_scheme *s;
	const uint8_t *id;
	struct gl_placement p;
	uint32_t skip_id;
	int width;
	size_t fl;	    /* 0 until learnt from a reply */
	uint64_t chunk_len; /* learnt from replies */
	uint8_t *buf[GL_MAX_WIDTH];
	uint8_t owned[GL_MAX_WIDTH]; /* buf[i] malloc'd here */
	uint8_t have[GL_MAX_WIDTH];
	uint8_t tried[GL_MAX_WIDTH]; /* slot i's server asked for fragment i */
	int nhave;
};

static int srv_ok(struct fetch *f, int di)
{
	return usable(f->sc, f->m, di) && f->m->ds[di].id != f->skip_id;
}

/* Fragment i, whole, from server di's file when that server runs on this host
 * (storage/local.h); only once its length is known. 0 or an error (then read it over RPC). */
static int get_local(struct fetch *f, int i, int di)
{
	struct gl_fkey k = {.pool = gl_scheme_pool(f->s), .idx = (uint8_t)i};
	uint8_t *dst = f->buf[i];
	int rc;

	if (!f->fl || !f->chunk_len || f->fl < GL_FSTORE_INLINE_MAX || f->have[i] ||
	    !gl_local_maybe(f->sc->local, f->m->ds[di].addr)) /* no buffer for a remote one */
		return -GL_ENOTSUP;
	memcpy(k.chunk, f->id, GL_CHUNK_ID_LEN);
	if (!dst && !(dst = malloc(f->fl)))
		return -GL_ENOMEM;
	rc = gl_local_read(f->sc->local, f->m->ds[di].addr, &k, f->chunk_len, (uint32_t)f->fl, 0,
			   (uint32_t)f->fl, dst);
	if (rc) {
		if (dst != f->buf[i])
			free(dst);
		return rc;
	}
	if (dst != f->buf[i]) {
		f->buf[i] = dst;
		f->owned[i] = 1;
	}
	f->have[i] = 1;
	f->nhave++;
	return 0;
}

/* Fragment idx[j] from server di[j], all at once: from local files where it can (get_local),
 * the others by DS_GET. */
static void get_many(struct fetch *f, int nwant, const int *want_idx, const int *want_di)
{
	struct gl_rpc_call calls[GL_MAX_WIDTH + GL_MAX_HANDOFF];
	struct gl_wbuf args[GL_MAX_WIDTH + GL_MAX_HANDOFF];
	const char *addrs[GL_MAX_WIDTH + GL_MAX_HANDOFF] = {0};
	int idx[GL_MAX_WIDTH + GL_MAX_HANDOFF], di[GL_MAX_WIDTH + GL_MAX_HANDOFF], n = 0;
	uint32_t pool = gl_scheme_pool(f->s);

	for (int j = 0; j < nwant; j++) {
		if (get_local(f, want_idx[j], want_di[j]) == 0)
			continue;
		idx[n] = want_idx[j];
		di[n++] = want_di[j];
	}
	if (!n)
		return;
	memset(calls, 0, sizeof(calls));
	for (int j = 0; j < n; j++) {
		struct gl_fkey k = {.pool = pool, .idx = (uint8_t)idx[j]};

		memcpy(k.chunk, f->id, GL_CHUNK_ID_LEN);
		gl_wbuf_init(&args[j]);
		gl_fkey_put(&args[j], &k);
		calls[j].opcode = GL_DS_GET;
		calls[j].args = args[j].p;
		calls[j].args_len = (uint32_t)args[j].len;
		if (f->buf[idx[j]] && f->fl) {
			calls[j].rbuf = f->buf[idx[j]];
			calls[j].rbuf_cap = f->fl;
		}
		addrs[j] = f->m->ds[di[j]].addr;
	}
	gl_rpc_multi(f->sc->pool, n, addrs, calls, GET_TIMEOUT_MS);
	for (int j = 0; j < n; j++) {
		struct gl_rpc_call *c = &calls[j];
		int i = idx[j], st = c->status;
		struct gl_rbuf r;
		uint32_t len, crc;
		uint64_t clen;

		if (st) {
			if (st != -GL_ENOENT && st != -GL_ECORRUPT)
				gl_sclient_suspect(f->sc, f->m->ds[di[j]].id);
			goto next;
		}
		gl_rbuf_init(&r, c->rargs, c->rargs_len);
		len = gl_get_u32(&r);
		crc = gl_get_u32(&r);
		clen = gl_get_u64(&r);
		if (gl_rbuf_check(&r) || len != c->rbulk_len || f->have[i] ||
		    (f->fl && len != f->fl) || (f->chunk_len && clen != f->chunk_len) ||
		    gl_scheme_frag_len(f->s, clen) != len) {
			st = -GL_EPROTO;
			goto next;
		}
		if (gl_crc32c(GL_CRC_INIT, c->rbulk, len) != crc) {
			gl_warn("fragment %d from %s: checksum mismatch in transit", i, addrs[j]);
			st = -GL_ECORRUPT;
			goto next;
		}
		f->fl = len;
		f->chunk_len = clen;
		if (c->rbulk != f->buf[i]) {
			/* landed in a malloc'd buffer: take it */
			if (f->owned[i])
				free(f->buf[i]);
			if (f->buf[i] && !f->owned[i]) {
				memcpy(f->buf[i], c->rbulk, len);
			} else {
				f->buf[i] = c->rbulk;
				f->owned[i] = 1;
				c->rbulk_owned = 0;
			}
		}
		f->have[i] = 1;
		f->nhave++;
	next:
		if (st)
			gl_debug("get fragment %d from %s: %s", i, addrs[j], gl_strerror(st));
		gl_rpc_call_done(c);
		gl_wbuf_free(&args[j]);
	}
}

/* Asks usable handoffs which fragments of this chunk they hold, and fetches the missing ones. */
static void fetch_handoffs(struct fetch *f, int need)
{
	uint32_t pool = gl_scheme_pool(f->s);
	int idx[GL_MAX_WIDTH], di[GL_MAX_WIDTH], n = 0;

	for (int h = 0; h < f->p.nhandoff && f->nhave + n < need; h++) {
		int d = f->p.handoff[h];
		struct gl_rpc_call c = {0};
		struct gl_wbuf a;
		struct gl_rbuf r;
		uint32_t mask;

		if (!srv_ok(f, d))
			continue;
		gl_wbuf_init(&a);
		gl_put_u32(&a, pool);
		gl_put_u32(&a, 1);
		gl_put_bytes(&a, f->id, GL_CHUNK_ID_LEN);
		c.opcode = GL_DS_HAVE;
		c.args = a.p;
		c.args_len = (uint32_t)a.len;
		if (gl_rpc_pool_call(f->sc->pool, f->m->ds[d].addr, &c, GET_TIMEOUT_MS) == 0) {
			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			if (gl_get_u32(&r) == 1) {
				mask = gl_get_u32(&r);
				for (int i = 0; i < f->width && !gl_rbuf_check(&r); i++) {
					int dup = 0;

					for (int j = 0; j < n; j++)
						dup |= idx[j] == i;
					if ((mask >> i & 1) && !f->have[i] && !dup &&
					    f->nhave + n < need) {
						idx[n] = i;
						di[n++] = d;
					}
				}
			}
		} else if (c.status != -GL_ENOENT) {
			gl_sclient_suspect(f->sc, f->m->ds[d].id);
		}
		gl_rpc_call_done(&c);
		gl_wbuf_free(&a);
	}
	if (n)
		get_many(f, n, idx, di);
}

/* Gathers at least need fragments, first those in prefer. 0 or -GL_EUNAVAIL. */
static int gather(struct fetch *f, int need, uint32_t prefer)
{
	int idx[GL_MAX_WIDTH], di[GL_MAX_WIDTH], n = 0;

	for (int i = 0; i < f->width; i++) {
		if ((prefer >> i & 1) && !f->have[i] && srv_ok(f, f->p.slot[i])) {
			f->tried[i] = 1;
			idx[n] = i;
			di[n++] = f->p.slot[i];
		}
	}
	if (n)
		get_many(f, n, idx, di);
	while (f->nhave < need) {
		n = 0;
		for (int i = 0; i < f->width && f->nhave + n < need; i++) {
			if (!f->tried[i] && !f->have[i] && srv_ok(f, f->p.slot[i])) {
				f->tried[i] = 1;
				idx[n] = i;
				di[n++] = f->p.slot[i];
			}
		}
		if (!n)
			break;
		get_many(f, n, idx, di);
	}
	if (f->nhave < need)
		fetch_handoffs(f, need);
	return f->nhave >= need ? 0 : -GL_EUNAVAIL;
}

static void fetch_free(struct fetch *f)
{
	for (int i = 0; i < f->width; i++)
		if (f->owned[i])
			free(f->buf[i]);
}

static int fetch_init(struct fetch *f, struct gl_sclient *sc, const struct gl_map *m,
		      const struct gl_scheme *s, const uint8_t *id, uint32_t skip_id)
{
	memset(f, 0, sizeof(*f));
	f->sc = sc;
	f->m = m;
	f->s = s;
	f->id = id;
	f->skip_id = skip_id;
	f->width = gl_scheme_width(s);
	return gl_place(m, gl_scheme_pool(s), id, f->width, &f->p);
}

/* Allocates every missing fragment buffer and reconstructs them all (EC). */
static int reconstruct(struct fetch *f)
{
	struct gl_ec *ec = get_ec(f->sc, f->s);

	if (!ec)
		return -GL_ENOMEM;
	for (int i = 0; i < f->width; i++) {
		if (!f->buf[i]) {
			f->buf[i] = malloc(f->fl);
			if (!f->buf[i])
				return -GL_ENOMEM;
			f->owned[i] = 1;
		}
	}
	return gl_ec_reconstruct(ec, f->fl, f->have, f->buf);
}

/* A piece of a ranged read: bytes [off, off + len) of fragment idx, from server di, to dst. */
struct piece {
	int idx, di;
	uint32_t off, len;
	uint8_t *dst;
};

static int get_ranges(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		      const uint8_t *id, uint64_t chunk_len, int n, const struct piece *pc);

/* A whole replicated chunk as REP_PIECES ranged reads at once, spread over the usable
 * replicas: one 4 MiB reply from one server is read, checked and sent by one thread on each
 * end, as four pieces by four (an erasure-coded chunk gets that from its k fragments). Any
 * failure: the caller reads it the whole way, with its fallbacks. */
static int rep_read_pieces(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
			   const uint8_t *id, size_t len, void *out)
{
	int width = gl_scheme_width(s), nu = 0, n = 0, u[GL_MAX_WIDTH];
	size_t step = ((len + REP_PIECES - 1) / REP_PIECES + (64u << 10) - 1) / (64u << 10) *
		      (64u << 10); /* REP_PIECES of them cover len: no byte left out */
	struct piece pc[REP_PIECES];
	struct gl_placement p;

	if (gl_place(m, gl_scheme_pool(s), id, width, &p))
		return -GL_EUNAVAIL;
	for (int i = 0; i < width; i++)
		if (usable(sc, m, p.slot[i]))
			u[nu++] = i;
	if (!nu)
		return -GL_EUNAVAIL;
	for (size_t off = 0; off < len && n < REP_PIECES; off += step, n++) {
		int i = u[n % nu];

		pc[n] = (struct piece){i, p.slot[i], (uint32_t)off,
				       (uint32_t)GL_MIN(step, len - off), (uint8_t *)out + off};
	}
	if ((size_t)pc[n - 1].off + pc[n - 1].len != len)
		return -GL_EINVAL; /* cannot happen (step above); never return bytes not read */
	return get_ranges(sc, m, s, id, len, n, pc);
}

int gl_chunk_read(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		  const uint8_t id[GL_CHUNK_ID_LEN], size_t len, void *out)
{
	struct fetch f;
	uint32_t prefer = 0;
	int rc, need = gl_scheme_need(s);

	if (s->type == GL_RED_REP && sc->local) { /* a replica on this host: read it whole */
		struct gl_placement p;
		struct piece pc;
		int i;

		if (!gl_place(m, gl_scheme_pool(s), id, gl_scheme_width(s), &p) &&
		    (i = local_replica(sc, m, &p)) >= 0) {
			pc = (struct piece){i, p.slot[i], 0, (uint32_t)len, out};
			if (get_ranges(sc, m, s, id, len, 1, &pc) == 0)
				return 0;
		}
	}
	if (s->type == GL_RED_REP && len >= REP_SPLIT_MIN &&
	    rep_read_pieces(sc, m, s, id, len, out) == 0)
		return 0;
	rc = fetch_init(&f, sc, m, s, id, UINT32_MAX);
	if (rc)
		return rc;
	f.fl = gl_scheme_frag_len(s, len);
	f.chunk_len = len;
	if (s->type == GL_RED_REP) {
		/* any replica will do: the first usable slot, then the others, then handoffs */
		for (int i = 0; i < f.width; i++)
			f.buf[i] = out;
		for (int i = 0; i < f.width && !prefer; i++)
			if (srv_ok(&f, f.p.slot[i]))
				prefer = 1u << i;
		rc = gather(&f, 1, prefer);
		if (rc == 0) {
			for (int i = 0; i < f.width; i++)
				if (f.have[i] && f.buf[i] != out)
					memcpy(out, f.buf[i], len);
		}
		for (int i = 0; i < f.width; i++)
			if (!f.owned[i])
				f.buf[i] = NULL;
		goto out;
	}
	for (int i = 0; i < s->k; i++) {
		size_t off = (size_t)i * f.fl;

		prefer |= 1u << i;
		if (off + f.fl <= len)
			f.buf[i] = (uint8_t *)out + off; /* lands in place: no copy */
	}
	rc = gather(&f, need, prefer);
	if (rc)
		goto out;
	for (int i = 0; i < s->k; i++) {
		if (!f.have[i]) {
			rc = reconstruct(&f);
			if (rc)
				goto out;
			break;
		}
	}
	for (int i = 0; i < s->k; i++) {
		size_t off = (size_t)i * f.fl;

		if (off < len && f.buf[i] != (uint8_t *)out + off)
			memcpy((uint8_t *)out + off, f.buf[i], GL_MIN(f.fl, len - off));
	}
out:
	fetch_free(&f);
	return rc;
}

/* ---- ranged reads ---- */

/* Checks the reply to a ranged DS_GET of pc and puts its bytes at pc->dst. */
static int range_reply(const struct gl_scheme *s, uint64_t chunk_len, struct gl_rpc_call *c,
		       const struct piece *pc)
{
	const uint8_t *src = c->rbulk;
	struct gl_rbuf r;
	uint32_t len, crc;
	uint64_t clen;

	gl_rbuf_init(&r, c->rargs, c->rargs_len);
	len = gl_get_u32(&r);
	crc = gl_get_u32(&r);
	clen = gl_get_u64(&r);
	if (gl_rbuf_check(&r) || len != c->rbulk_len || clen != chunk_len)
		return -GL_EPROTO;
	if (len != pc->len) {
		/* a server of proto 1 ignores the range: the whole fragment came, slice it */
		if (len != gl_scheme_frag_len(s, clen) || (uint64_t)pc->off + pc->len > len)
			return -GL_EPROTO;
		src += pc->off;
	}
	if (gl_crc32c(GL_CRC_INIT, c->rbulk, len) != crc)
		return -GL_ECORRUPT;
	if (src != pc->dst)
		memcpy(pc->dst, src, pc->len);
	return 0;
}

/* Ranged reads of n pieces, all at once: from the servers' files when they run on this host
 * (storage/local.h), the others as DS_GETs. 0 when every piece arrived and checked. */
static int get_ranges(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		      const uint8_t *id, uint64_t chunk_len, int n, const struct piece *pc)
{
	struct gl_rpc_call calls[GL_MAX_WIDTH];
	struct gl_wbuf args[GL_MAX_WIDTH];
	const char *addrs[GL_MAX_WIDTH] = {0};
	uint32_t fl = (uint32_t)gl_scheme_frag_len(s, chunk_len);
	int rc = 0, nc = 0, at[GL_MAX_WIDTH]; /* call c reads piece at[c] */

	memset(calls, 0, sizeof(calls));
	for (int j = 0; j < n; j++) {
		struct gl_ds_get_args a = {.ranged = 1, .off = pc[j].off, .len = pc[j].len};
		const char *addr = m->ds[pc[j].di].addr;

		a.key.pool = gl_scheme_pool(s);
		a.key.idx = (uint8_t)pc[j].idx;
		memcpy(a.key.chunk, id, GL_CHUNK_ID_LEN);
		if (gl_local_read(sc->local, addr, &a.key, chunk_len, fl, pc[j].off, pc[j].len,
				  pc[j].dst) == 0)
			continue;
		at[nc] = j;
		gl_wbuf_init(&args[nc]);
		gl_ds_get_args_put(&args[nc], &a);
		calls[nc].opcode = GL_DS_GET;
		calls[nc].args = args[nc].p;
		calls[nc].args_len = (uint32_t)args[nc].len;
		calls[nc].rbuf = pc[j].dst;
		calls[nc].rbuf_cap = pc[j].len;
		addrs[nc++] = addr;
	}
	if (nc)
		gl_rpc_multi(sc->pool, nc, addrs, calls, GET_TIMEOUT_MS);
	for (int c = 0; c < nc; c++) {
		const struct piece *p = &pc[at[c]];
		int st = calls[c].status;

		if (!st)
			st = range_reply(s, chunk_len, &calls[c], p);
		else if (st != -GL_ENOENT && st != -GL_ECORRUPT && st != -GL_ERANGE)
			gl_sclient_suspect(sc, m->ds[p->di].id);
		if (st) {
			gl_debug("ranged get of fragment %d from %s: %s", p->idx, addrs[c],
				 gl_strerror(st));
			if (!rc)
				rc = st;
		}
		gl_rpc_call_done(&calls[c]);
		gl_wbuf_free(&args[c]);
	}
	return rc;
}

/* The fallback: the whole chunk (degraded reads, handoffs), then the slice. */
static int read_whole_slice(struct gl_sclient *sc, const struct gl_map *m,
			    const struct gl_scheme *s, const uint8_t *id, size_t chunk_len,
			    size_t off, size_t len, void *out)
{
	uint8_t *buf = malloc(chunk_len ? chunk_len : 1);
	int rc;

	if (!buf)
		return -GL_ENOMEM;
	rc = gl_chunk_read(sc, m, s, id, chunk_len, buf);
	if (!rc)
		memcpy(out, buf + off, len);
	free(buf);
	return rc;
}

int gl_chunk_read_range(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
			const uint8_t id[GL_CHUNK_ID_LEN], size_t chunk_len, size_t off, size_t len,
			void *out)
{
	int width = gl_scheme_width(s), n = 0, rc;
	struct piece pc[GL_MAX_WIDTH];
	struct gl_placement p;

	if (chunk_len > GL_CHUNK_MAX || off > chunk_len || len > chunk_len - off)
		return -GL_EINVAL;
	if (len == 0)
		return 0;
	if ((rc = gl_place(m, gl_scheme_pool(s), id, width, &p)))
		return rc;
	if (s->type == GL_RED_REP) {
		/* one replica, then another: one on this host first, else spread by offset */
		int first = local_replica(sc, m, &p);

		if (first < 0)
			first = (int)((off >> 16) % (size_t)width);
		for (int t = 0; t < width; t++) {
			int i = (first + t) % width;

			pc[0] = (struct piece){i, p.slot[i], (uint32_t)off, (uint32_t)len, out};
			if (usable(sc, m, p.slot[i]) &&
			    get_ranges(sc, m, s, id, chunk_len, 1, pc) == 0)
				return 0;
		}
	} else {
		size_t fl = gl_scheme_frag_len(s, chunk_len);

		/* data fragment i holds chunk bytes [i * fl, (i + 1) * fl) */
		for (size_t i = off / fl; i * fl < off + len && n >= 0; i++) {
			size_t a = GL_MAX(off, i * fl), b = GL_MIN(off + len, (i + 1) * fl);

			if (!usable(sc, m, p.slot[i]))
				n = -1;
			else
				pc[n++] =
				    (struct piece){(int)i, p.slot[i], (uint32_t)(a - i * fl),
						   (uint32_t)(b - a), (uint8_t *)out + (a - off)};
		}
		if (n > 0 && get_ranges(sc, m, s, id, chunk_len, n, pc) == 0)
			return 0;
	}
	return read_whole_slice(sc, m, s, id, chunk_len, off, len, out);
}

int gl_chunk_rebuild(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		     const uint8_t id[GL_CHUNK_ID_LEN], uint32_t want, uint32_t skip_id,
		     uint8_t **frags, size_t *frag_len, uint64_t *chunk_len)
{
	struct fetch f;
	int rc, need = gl_scheme_need(s);

	rc = fetch_init(&f, sc, m, s, id, skip_id);
	if (rc)
		return rc;
	rc = gather(&f, need, s->type == GL_RED_REP ? 0 : ((1u << s->k) - 1) & ~want);
	if (rc)
		goto out;
	if (s->type == GL_RED_EC) {
		rc = reconstruct(&f);
		if (rc)
			goto out;
	}
	for (int i = 0; i < f.width; i++) {
		if (!(want >> i & 1))
			continue;
		frags[i] = malloc(f.fl ? f.fl : 1);
		if (!frags[i]) {
			rc = -GL_ENOMEM;
			goto out;
		}
		if (s->type == GL_RED_EC) {
			memcpy(frags[i], f.buf[i], f.fl);
		} else {
			for (int j = 0; j < f.width; j++)
				if (f.have[j]) {
					memcpy(frags[i], f.buf[j], f.fl);
					break;
				}
		}
	}
	*frag_len = f.fl;
	*chunk_len = f.chunk_len;
out:
	if (rc)
		for (int i = 0; i < f.width; i++)
			if (want >> i & 1) {
				free(frags[i]);
				frags[i] = NULL;
			}
	fetch_free(&f);
	return rc;
}

int gl_frag_put(struct gl_sclient *sc, const struct gl_map *m, int di, uint32_t pool,
		const uint8_t id[GL_CHUNK_ID_LEN], int idx, uint64_t chunk_len, const void *data,
		size_t len)
{
	uint8_t *frag[GL_MAX_WIDTH];
	uint32_t crc[GL_MAX_WIDTH];
	int st;

	frag[idx] = (uint8_t *)data;
	crc[idx] = gl_crc32c(GL_CRC_INIT, data, len);
	put_many(sc, m, pool, id, 1, &idx, &di, frag, crc, len, chunk_len, &st);
	return st;
}

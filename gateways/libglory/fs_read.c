/* libglory: file data, the read side. A read asks the file's layout (NS_LAYOUT, kept up to a
 * second and dropped by our own commits and at every open), then copies the bytes out of whole
 * chunks held by the connection's chunk cache, with the file's lock released so several reads
 * of one file go at once. Chunks are immutable and named by their content, so a cached chunk is
 * never stale: only the layout says which chunks a file is made of. A file read sequentially
 * has its next chunks loaded in the background (read-ahead). Bytes this handle wrote and has
 * not committed yet are committed first (fs_data.c). */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/fs_file.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"
#include "storage/client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAYOUT_AHEAD  (64ull * GL_NS_SLICE) /* asked for at once: the shard's bound */
#define LAYOUT_KEEP_S 1.0
#define READ_AHEAD    (4ull * GL_CHUNK_MAX) /* loaded ahead of a sequential reader */
#define CC_BUCKETS    256
#define CC_DEFAULT_MB 128 /* GLORY_CHUNK_CACHE_MB overrides */
#define CC_MAX_AHEAD  8	  /* read-ahead loads at once, per connection */

/* ---- the chunk cache ---- */

struct cc_ent {
	struct cc_ent *hnext;	    /* hash chain */
	struct cc_ent *prev, *next; /* LRU list, most recent first */
	uint32_t pool, len;
	uint8_t id[32];
	uint8_t *buf;
	int loading; /* being read: wait on cc->cond */
	int rc;	     /* the load failed: unlinked, the waiters see rc */
	int refs;    /* readers copying out of buf, loaders */
	int linked;
};

struct gl_ccache {
	struct glory *g;
	pthread_mutex_t lock; /* guards everything here */
	pthread_cond_t cond;  /* a load ended */
	struct cc_ent *h[CC_BUCKETS];
	struct cc_ent *head, *tail;
	size_t bytes, cap;
	int ahead; /* read-ahead threads running */
};

static unsigned cc_bucket(const uint8_t *id)
{
	return id[0] | (unsigned)id[1] << 8; /* a fingerprint: its bytes are uniform */
}

static struct gl_ccache *cc_of(struct glory *g)
{
	struct gl_ccache *cc;

	pthread_mutex_lock(&g->lock);
	cc = g->ccache;
	if (!cc && (cc = calloc(1, sizeof(*cc)))) {
		const char *e = getenv("GLORY_CHUNK_CACHE_MB");
		long mb = e ? atol(e) : CC_DEFAULT_MB;

		cc->g = g;
		cc->cap = (size_t)(mb > 0 ? mb : 0) << 20;
		pthread_mutex_init(&cc->lock, NULL);
		pthread_cond_init(&cc->cond, NULL);
		g->ccache = cc;
	}
	pthread_mutex_unlock(&g->lock);
	return cc;
}

static void lru_unlink(struct gl_ccache *cc, struct cc_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		cc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		cc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_front(struct gl_ccache *cc, struct cc_ent *e)
{
	e->next = cc->head;
	e->prev = NULL;
	if (cc->head)
		cc->head->prev = e;
	cc->head = e;
	if (!cc->tail)
		cc->tail = e;
}

/* Takes e out of the table (it is freed by its last reference). Lock held. */
static void cc_unlink(struct gl_ccache *cc, struct cc_ent *e)
{
	struct cc_ent **p = &cc->h[cc_bucket(e->id) % CC_BUCKETS];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	lru_unlink(cc, e);
	cc->bytes -= e->len;
	e->linked = 0;
}

static void cc_unref(struct cc_ent *e)
{
	if (--e->refs == 0 && !e->linked) {
		free(e->buf);
		free(e);
	}
}

/* Drops unused chunks, least recently used first, until the cache fits. Lock held. */
static void cc_trim(struct gl_ccache *cc)
{
	struct cc_ent *e = cc->tail;

	while (e && cc->bytes > cc->cap) {
		struct cc_ent *prev = e->prev;

		if (e->refs == 0 && !e->loading) {
			cc_unlink(cc, e);
			e->refs = 1;
			cc_unref(e);
		}
		e = prev;
	}
}

static struct cc_ent *cc_find(struct gl_ccache *cc, const struct gl_ns_extent *x)
{
	struct cc_ent *e = cc->h[cc_bucket(x->chunk) % CC_BUCKETS];

	while (e && (e->pool != x->pool || e->len != x->chunk_len || memcmp(e->id, x->chunk, 32)))
		e = e->hnext;
	return e;
}

/* A new entry, loading, with one reference (the loader's). Lock held. */
static struct cc_ent *cc_add(struct gl_ccache *cc, const struct gl_ns_extent *x)
{
	struct cc_ent *e = calloc(1, sizeof(*e));
	unsigned b = cc_bucket(x->chunk) % CC_BUCKETS;

	if (!e)
		return NULL;
	e->pool = x->pool;
	e->len = x->chunk_len;
	memcpy(e->id, x->chunk, 32);
	e->loading = 1;
	e->refs = 1;
	e->linked = 1;
	e->hnext = cc->h[b];
	cc->h[b] = e;
	lru_front(cc, e);
	cc->bytes += e->len;
	return e;
}

/* Reads e's chunk (no lock), then publishes it. */
static void cc_load(struct gl_ccache *cc, struct cc_ent *e)
{
	struct glory *g = cc->g;
	struct gl_scheme s;
	struct gl_map m = {0};
	uint8_t *buf = malloc(e->len ? e->len : 1);
	int rc = buf ? gl_scheme_from_pool(e->pool, &s) : -GL_ENOMEM;

	if (!rc)
		rc = glory_map_get(g, &m, 0);
	if (!rc) {
		rc = gl_chunk_read(g->sc, &m, &s, e->id, e->len, buf);
		if (rc == -GL_EUNAVAIL) { /* the map may have moved on */
			gl_map_free(&m);
			if (glory_map_get(g, &m, 1) == 0)
				rc = gl_chunk_read(g->sc, &m, &s, e->id, e->len, buf);
		}
	}
	gl_map_free(&m);
	pthread_mutex_lock(&cc->lock);
	e->loading = 0;
	e->rc = rc;
	if (rc) {
		free(buf);
		cc_unlink(cc, e); /* the next reader tries again */
	} else {
		e->buf = buf;
		cc_trim(cc);
	}
	pthread_cond_broadcast(&cc->cond);
	pthread_mutex_unlock(&cc->lock);
}

/* The chunk of extent x, loaded: the caller copies out of (*out)->buf, then cc_done. */
static int cc_get(struct gl_ccache *cc, const struct gl_ns_extent *x, struct cc_ent **out)
{
	struct cc_ent *e;
	int rc = 0;

	if (x->chunk_len > GL_CHUNK_MAX)
		return -GL_EPROTO;
	pthread_mutex_lock(&cc->lock);
	e = cc_find(cc, x);
	if (e) {
		e->refs++;
		lru_unlink(cc, e);
		lru_front(cc, e);
		while (e->loading)
			pthread_cond_wait(&cc->cond, &cc->lock);
		rc = e->rc;
	} else if (!(e = cc_add(cc, x))) {
		rc = -GL_ENOMEM;
	} else {
		pthread_mutex_unlock(&cc->lock);
		cc_load(cc, e);
		pthread_mutex_lock(&cc->lock);
		rc = e->rc;
	}
	if (rc && e)
		cc_unref(e);
	pthread_mutex_unlock(&cc->lock);
	*out = rc ? NULL : e;
	return rc;
}

static void cc_done(struct gl_ccache *cc, struct cc_ent *e)
{
	pthread_mutex_lock(&cc->lock);
	cc_unref(e);
	cc_trim(cc);
	pthread_mutex_unlock(&cc->lock);
}

struct ahead {
	struct gl_ccache *cc;
	struct cc_ent *e;
};

static void *ahead_run(void *arg)
{
	struct ahead *a = arg;
	struct gl_ccache *cc = a->cc;

	cc_load(cc, a->e);
	pthread_mutex_lock(&cc->lock);
	cc_unref(a->e);
	cc->ahead--;
	pthread_cond_broadcast(&cc->cond);
	pthread_mutex_unlock(&cc->lock); /* the last touch of cc: glory_ccache_free waits */
	free(a);
	return NULL;
}

/* Starts loading x's chunk in the background unless it is cached or too many loads run. */
static void cc_prefetch(struct gl_ccache *cc, const struct gl_ns_extent *x)
{
	struct ahead *a;
	pthread_attr_t at;
	pthread_t th;
	int ok = 0;

	if (x->chunk_len > GL_CHUNK_MAX || (size_t)x->chunk_len * 2 > cc->cap)
		return;
	pthread_mutex_lock(&cc->lock);
	if (cc_find(cc, x) || cc->ahead >= CC_MAX_AHEAD || !(a = malloc(sizeof(*a)))) {
		pthread_mutex_unlock(&cc->lock);
		return;
	}
	a->cc = cc;
	if (!(a->e = cc_add(cc, x))) {
		pthread_mutex_unlock(&cc->lock);
		free(a);
		return;
	}
	cc->ahead++;
	if (pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		ok = pthread_create(&th, &at, ahead_run, a) == 0;
		pthread_attr_destroy(&at);
	}
	if (!ok) { /* no thread: forget it */
		cc->ahead--;
		a->e->loading = 0;
		a->e->rc = -GL_ENOMEM;
		cc_unlink(cc, a->e);
		cc_unref(a->e);
		pthread_cond_broadcast(&cc->cond);
		free(a);
	}
	pthread_mutex_unlock(&cc->lock);
}

void glory_ccache_free(struct glory *g)
{
	struct gl_ccache *cc = g->ccache;

	if (!cc)
		return;
	pthread_mutex_lock(&cc->lock);
	while (cc->ahead > 0)
		pthread_cond_wait(&cc->cond, &cc->lock);
	while (cc->head) {
		struct cc_ent *e = cc->head;

		cc_unlink(cc, e);
		e->refs++;
		cc_unref(e);
	}
	pthread_mutex_unlock(&cc->lock);
	pthread_cond_destroy(&cc->cond);
	pthread_mutex_destroy(&cc->lock);
	free(cc);
	g->ccache = NULL;
}

/* ---- layouts ---- */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void glory_file_invalidate(struct glory_file *f)
{
	pthread_mutex_lock(&f->lock);
	f->lvalid = 0;
	f->lgen++;
	f->ra_next = f->ra_until = 0;
	pthread_mutex_unlock(&f->lock);
}

/* Makes f->lx the layout of a range holding [off, off + len) (as far as the file goes). Lock
 * held. */
static int layout_get(struct glory_file *f, uint64_t off, size_t len)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	struct gl_ns_attr at;
	struct gl_ns_extent *x = NULL;
	uint64_t want = len > LAYOUT_AHEAD ? len : LAYOUT_AHEAD;
	uint32_t n;
	int rc;

	if (f->lvalid && off >= f->loff && GL_MIN(off + len, f->lsize) <= f->lend &&
	    mono_s() - f->lat < LAYOUT_KEEP_S)
		return 0;
	f->lvalid = 0;
	glory_vol_msg(f->v, &a, GL_NS_LAYOUT);
	gl_put_u64(&a, f->ino);
	gl_put_u64(&a, off);
	gl_put_u64(&a, want);
	rc = glory_vol_md(f->v, &a, &c, &r, 1);
	gl_wbuf_free(&a);
	if (rc)
		goto out;
	gl_ns_attr_get(&r, &at);
	n = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || n > 1000000 || (n && !(x = calloc(n, sizeof(*x))))) {
		rc = n > 1000000 || gl_rbuf_check(&r) ? -GL_EPROTO : -GL_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		gl_ns_extent_get(&r, &x[i]);
	if (gl_rbuf_check(&r)) {
		free(x);
		rc = -GL_EPROTO;
		goto out;
	}
	free(f->lx);
	f->lx = x;
	f->nlx = n;
	f->loff = off;
	f->lsize = at.size;
	/* the shard answers at most LAYOUT_AHEAD from off */
	f->lend = GL_MIN(at.size, off + GL_MIN(want, LAYOUT_AHEAD));
	if (f->lend < off)
		f->lend = off;
	f->lat = mono_s();
	f->lvalid = 1;
out:
	gl_rpc_call_done(&c);
	return rc;
}

/* ---- reads ---- */

/* Starts loading the chunks of [from, to) the layout knows. Lock held. */
static void read_ahead_locked(struct glory_file *f, struct gl_ccache *cc, uint64_t from,
			      uint64_t to)
{
	uint8_t last[32] = {0};

	for (uint32_t i = 0; i < f->nlx; i++) {
		const struct gl_ns_extent *e = &f->lx[i];

		if (e->off + e->len <= from || e->off >= to || !memcmp(last, e->chunk, 32))
			continue;
		memcpy(last, e->chunk, 32);
		cc_prefetch(cc, e);
	}
}

ssize_t glory_pread(struct glory_file *f, void *buf, size_t len, uint64_t off)
{
	struct gl_ccache *cc = cc_of(glory_vol_glory(f->v));
	uint8_t *out = buf;
	uint64_t end = off, size;
	struct gl_ns_extent *x = NULL;
	uint32_t nx = 0;
	int rc;

	if (!cc)
		return -GL_ENOMEM;
	if (len > LAYOUT_AHEAD)
		len = LAYOUT_AHEAD; /* a short read: the layout answer is bounded */
	pthread_mutex_lock(&f->lock);
	/* our own buffered bytes first: commit them if the read overlaps */
	if (gf_file_dirty_overlap(f, off, len) && (rc = gf_file_flush_locked(f)))
		goto out;
	if ((rc = layout_get(f, off, len)))
		goto out;
	size = GL_MAX(f->lsize, gf_file_dirty_end(f)); /* buffered writes after it extend it */
	end = off >= size ? off : GL_MIN(size, off + len);
	/* the extents this read needs, copied: the layout may change once the lock is dropped */
	for (uint32_t i = 0; i < f->nlx; i++)
		if (f->lx[i].off < end && off < f->lx[i].off + f->lx[i].len)
			nx++;
	if (nx && !(x = malloc(nx * sizeof(*x)))) {
		rc = -GL_ENOMEM;
		goto out;
	}
	nx = 0;
	for (uint32_t i = 0; i < f->nlx; i++)
		if (f->lx[i].off < end && off < f->lx[i].off + f->lx[i].len)
			x[nx++] = f->lx[i];
	/* a sequential reader: load the next chunks while these are copied out */
	if (off != f->ra_next)
		f->ra_until = 0;
	else if (end > off) {
		uint64_t from = GL_MAX(end, f->ra_until), to = end + READ_AHEAD;

		if (from < to) {
			read_ahead_locked(f, cc, from, to);
			f->ra_until = to;
		}
	}
	f->ra_next = end;
out:
	pthread_mutex_unlock(&f->lock);
	if (rc)
		return rc;
	if (end > off)
		memset(out, 0, (size_t)(end - off)); /* holes read as zeros */
	for (uint32_t i = 0; i < nx && !rc; i++) {
		const struct gl_ns_extent *e = &x[i];
		uint64_t a0 = GL_MAX(e->off, off), a1 = GL_MIN(e->off + e->len, end);
		struct cc_ent *ce;

		if ((uint64_t)e->chunk_off + e->len > e->chunk_len) {
			rc = -GL_EPROTO;
			break;
		}
		rc = cc_get(cc, e, &ce);
		if (!rc) {
			memcpy(out + (a0 - off), ce->buf + e->chunk_off + (a0 - e->off), a1 - a0);
			cc_done(cc, ce);
		}
	}
	free(x);
	return rc ? rc : (ssize_t)(end - off);
}

void gf_file_read_fini(struct glory_file *f)
{
	free(f->lx);
}

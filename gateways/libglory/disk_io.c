/* libglory: reading and writing a disk (the write path for small random writes).
 *
 * Writes land in memory, in the dirty set: per 4 MiB slice of the disk, sorted runs of bytes
 * (a write merges with the runs it overlaps or touches; newer bytes win). A flush (NBD flush,
 * FUA, the background flusher, too much dirty data) turns the dirty set into chunks:
 *   - a slice written whole becomes one content-addressed chunk of the volume's redundancy
 *     (dedup'd against every disk of the dedup domain; an all-zero slice becomes a hole);
 *   - everything else is packed, run after run, into log chunks of up to 4 MiB: a thousand
 *     random 4 KiB writes cost one 4 MiB chunk write and one NS_WRITE of 1,000 extents (each
 *     extent points into the log chunk at its own offset), not a thousand chunk rewrites.
 * The flush returns once the chunks are on stable storage with the volume's redundancy and the
 * NS_WRITEs committed by the shard's raft majority: that is the durability contract, and what
 * a flush or FUA acknowledges. Slices whose layouts grew fragmented (COMPACT_EXTENTS extents
 * written since their last whole write) are packed again: read whole and put back in the dirty
 * set under newer writes, so the next flush stores them as whole, dedup'd chunks; the log
 * chunks they referenced lose those references and GC frees them once nothing points at them.
 *
 * Reads take the committed layout (cached per slice: this process is the disk's only writer)
 * and the chunks (an LRU cache of whole chunks), then lay the flushing and dirty runs on top.
 * One struct glory_disk is shared by every connection of a process, so a flush on one
 * connection covers writes made on every other (NBD multi-conn).
 *
 * Locks: mu guards the dirty and flushing sets, the layout and chunk caches, counters;
 * flush_mu serializes flushes and punches (a punch must not overtake an earlier write being
 * flushed). flush_gen counts completed flushes and punches: a read that saw it change while it
 * read committed data reads again (the bytes it missed moved from the flushing set to the
 * committed layout meanwhile). */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"
#include "storage/chunkid.h"
#include "storage/client.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLICE		  GL_NS_SLICE
#define NBUCKETS	  4096
#define LOG_MAX		  GL_CHUNK_MAX
#define STORE_BATCH	  8
#define DIRTY_FLUSH	  (32ull << 20)	 /* the background flusher starts here */
#define DIRTY_MAX	  (256ull << 20) /* writers flush themselves past this */
#define DIRTY_AGE_S	  2.0
#define COMPACT_EXTENTS	  256
#define COMPACT_PER_FLUSH 8
#define LAYOUT_SLICES	  64 /* slices per NS_LAYOUT */

struct run {
	uint64_t off; /* in the disk */
	uint32_t len, cap;
	uint8_t *data;
};

struct dslice {
	uint64_t idx;
	struct run *r; /* sorted by off, neither overlapping nor touching */
	uint32_t n, cap;
	struct dslice *next;
};

struct dset {
	struct dslice *b[NBUCKETS];
	uint64_t bytes;
	uint32_t nslices;
};

/* a cached committed layout of one slice */
struct lslice {
	uint64_t idx;
	struct gl_ns_extent *e;
	uint32_t n;
	uint32_t frag; /* extents we added since its last whole write */
	struct lslice *next;
};

struct cchunk {
	uint8_t id[32];
	uint32_t pool, len;
	uint8_t *data;
	uint64_t used; /* LRU clock */
};

struct glory_disk {
	struct glory_vol *v;
	uint64_t ino, size;
	int rdonly;
	uint32_t pool;
	int dedup;
	pthread_mutex_t mu, flush_mu;
	pthread_cond_t cv;
	struct dset *dirty, *fl; /* fl: being flushed (NULL when none) */
	double dirty_since;
	uint64_t flush_gen;
	struct lslice *lc[NBUCKETS];
	struct cchunk *cc;
	uint32_t ncc, cc_cap;
	uint64_t cc_clock;
	int err; /* a background flush failed: the next flush says so */
	int closing;
	pthread_t flusher;
	int flusher_started;
	struct glory_disk_stats st;
};

/* ---- the dirty set ---- */

static struct dset *dset_new(void)
{
	return calloc(1, sizeof(struct dset));
}

static void dset_free(struct dset *ds)
{
	if (!ds)
		return;
	for (int i = 0; i < NBUCKETS; i++) {
		for (struct dslice *s = ds->b[i], *nx; s; s = nx) {
			nx = s->next;
			for (uint32_t k = 0; k < s->n; k++)
				free(s->r[k].data);
			free(s->r);
			free(s);
		}
	}
	free(ds);
}

static struct dslice *dset_find(struct dset *ds, uint64_t idx, int create)
{
	struct dslice **h = &ds->b[idx % NBUCKETS];

	for (struct dslice *s = *h; s; s = s->next)
		if (s->idx == idx)
			return s;
	if (!create)
		return NULL;
	struct dslice *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->idx = idx;
	s->next = *h;
	*h = s;
	ds->nslices++;
	return s;
}

/* Puts [a, a+len) with data into the slice; under: existing runs win where they overlap. */
static int dslice_put(struct dset *ds, struct dslice *s, uint64_t a, const uint8_t *data,
		      uint32_t len, int under)
{
	uint64_t b = a + len, lo = a, hi = b, old = 0;
	uint32_t i = 0, j, cap;
	uint8_t *buf;
	int reuse;

	while (i < s->n && s->r[i].off + s->r[i].len < a)
		i++;
	j = i;
	while (j < s->n && s->r[j].off <= b)
		j++;
	/* runs [i, j) overlap or touch [a, b) */
	if (j > i) {
		lo = GL_MIN(lo, s->r[i].off);
		hi = GL_MAX(hi, s->r[j - 1].off + s->r[j - 1].len);
	}
	reuse = !under && j > i && s->r[i].off == lo;
	cap = (uint32_t)(hi - lo);
	if (reuse && s->r[i].cap >= cap) {
		buf = s->r[i].data;
		cap = s->r[i].cap;
	} else if (reuse) {
		uint32_t ncap = GL_MAX(cap, GL_MIN(2 * s->r[i].cap, (uint32_t)SLICE));

		buf = realloc(s->r[i].data, ncap);
		if (!buf)
			return -GL_ENOMEM;
		s->r[i].data = buf;
		s->r[i].cap = cap = ncap;
	} else {
		buf = malloc(cap);
		if (!buf)
			return -GL_ENOMEM;
	}
	if (under)
		memcpy(buf + (a - lo), data, len);
	for (uint32_t k = i; k < j; k++) {
		old += s->r[k].len;
		if (reuse && k == i)
			continue;
		memcpy(buf + (s->r[k].off - lo), s->r[k].data, s->r[k].len);
		free(s->r[k].data);
	}
	if (!under)
		memcpy(buf + (a - lo), data, len);
	if (j == i) { /* a new run at i */
		if (s->n == s->cap) {
			uint32_t nc = s->cap ? s->cap * 2 : 4;
			struct run *nr = realloc(s->r, nc * sizeof(*nr));

			if (!nr) {
				free(buf);
				return -GL_ENOMEM;
			}
			s->r = nr;
			s->cap = nc;
		}
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
		s->n++;
	} else if (j > i + 1) {
		memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= j - i - 1;
	}
	s->r[i].off = lo;
	s->r[i].len = (uint32_t)(hi - lo);
	s->r[i].cap = cap;
	s->r[i].data = buf;
	ds->bytes += (hi - lo) - old;
	return 0;
}

/* Drops [a, b) from the slice's runs. */
static int dslice_cut(struct dset *ds, struct dslice *s, uint64_t a, uint64_t b)
{
	for (uint32_t k = 0; k < s->n; k++) {
		struct run *r = &s->r[k];
		uint64_t r0 = r->off, r1 = r->off + r->len;

		if (r1 <= a || r0 >= b)
			continue;
		if (r0 < a && r1 > b) { /* split: the tail becomes a run of its own */
			struct run t = {b, (uint32_t)(r1 - b), (uint32_t)(r1 - b), NULL};

			if (!(t.data = malloc(t.len)))
				return -GL_ENOMEM;
			memcpy(t.data, r->data + (b - r0), t.len);
			if (s->n == s->cap) {
				uint32_t nc = s->cap * 2;
				struct run *nr = realloc(s->r, nc * sizeof(*nr));

				if (!nr) {
					free(t.data);
					return -GL_ENOMEM;
				}
				s->r = nr;
				s->cap = nc;
				r = &s->r[k];
			}
			memmove(&s->r[k + 2], &s->r[k + 1], (s->n - k - 1) * sizeof(*s->r));
			s->r[k + 1] = t;
			s->n++;
			r->len = (uint32_t)(a - r0);
			ds->bytes -= b - a;
			k++;
		} else if (r0 < a) {
			r->len = (uint32_t)(a - r0);
			ds->bytes -= r1 - a;
		} else if (r1 > b) {
			memmove(r->data, r->data + (b - r0), r1 - b);
			r->off = b;
			r->len = (uint32_t)(r1 - b);
			ds->bytes -= b - r0;
		} else {
			free(r->data);
			ds->bytes -= r->len;
			memmove(r, r + 1, (s->n - k - 1) * sizeof(*s->r));
			s->n--;
			k--;
		}
	}
	return 0;
}

/* Copies the runs of ds over [off, off+len) into buf. */
static void dset_overlay(struct dset *ds, uint8_t *buf, uint64_t off, uint64_t len)
{
	if (!ds || !ds->bytes)
		return;
	for (uint64_t i = off / SLICE; i * SLICE < off + len; i++) {
		struct dslice *s = dset_find(ds, i, 0);

		for (uint32_t k = 0; s && k < s->n; k++) {
			uint64_t a = GL_MAX(off, s->r[k].off);
			uint64_t b = GL_MIN(off + len, s->r[k].off + s->r[k].len);

			if (a < b)
				memcpy(buf + (a - off), s->r[k].data + (a - s->r[k].off), b - a);
		}
	}
}

/* Moves every run of from into to, under to's own. Frees from. */
static int dset_merge_under(struct dset *to, struct dset *from)
{
	int rc = 0;

	for (int i = 0; i < NBUCKETS && !rc; i++) {
		for (struct dslice *s = from->b[i]; s && !rc; s = s->next) {
			struct dslice *t = dset_find(to, s->idx, 1);

			if (!t) {
				rc = -GL_ENOMEM;
				break;
			}
			for (uint32_t k = 0; k < s->n && !rc; k++)
				rc = dslice_put(to, t, s->r[k].off, s->r[k].data, s->r[k].len, 1);
		}
	}
	dset_free(from);
	return rc;
}

/* ---- committed layouts (cache under mu) ---- */

static struct lslice *lc_find(struct glory_disk *d, uint64_t idx)
{
	for (struct lslice *l = d->lc[idx % NBUCKETS]; l; l = l->next)
		if (l->idx == idx)
			return l;
	return NULL;
}

static void lc_drop_all(struct glory_disk *d, int keep_frag)
{
	for (int i = 0; i < NBUCKETS; i++) {
		struct lslice **pp = &d->lc[i];

		while (*pp) {
			struct lslice *l = *pp;

			if (keep_frag && l->frag) {
				free(l->e);
				l->e = NULL;
				l->n = UINT32_MAX; /* not cached, count kept */
				pp = &l->next;
				continue;
			}
			*pp = l->next;
			free(l->e);
			free(l);
		}
	}
}

/* The slice's cache entry (made, not cached, when missing). */
static struct lslice *lc_get(struct glory_disk *d, uint64_t idx)
{
	struct lslice *l = lc_find(d, idx);

	if (l)
		return l;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->idx = idx;
	l->n = UINT32_MAX;
	l->next = d->lc[idx % NBUCKETS];
	d->lc[idx % NBUCKETS] = l;
	return l;
}

/* Fetches the layouts of slices [first, first+n) into the cache (unless a flush or punch ran
 * meanwhile: then the caller's retry fetches again). */
static int layout_fetch(struct glory_disk *d, uint64_t first, uint32_t n)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	struct gl_ns_attr at;
	struct gl_ns_extent *x = NULL;
	uint64_t gen;
	uint32_t m;
	int rc;

	pthread_mutex_lock(&d->mu);
	gen = d->flush_gen;
	pthread_mutex_unlock(&d->mu);
	glory_vol_msg(d->v, &a, GL_NS_LAYOUT);
	gl_put_u64(&a, d->ino);
	gl_put_u64(&a, first * SLICE);
	gl_put_u64(&a, (uint64_t)n * SLICE);
	rc = glory_vol_md(d->v, &a, &c, &r, 1);
	gl_wbuf_free(&a);
	if (rc)
		goto out;
	gl_ns_attr_get(&r, &at);
	m = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || m > 1000000) {
		rc = -GL_EPROTO;
		goto out;
	}
	if (m && !(x = calloc(m, sizeof(*x)))) {
		rc = -GL_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < m; i++)
		gl_ns_extent_get(&r, &x[i]);
	if (gl_rbuf_check(&r)) {
		rc = -GL_EPROTO;
		goto out;
	}
	d->st.layout_fetches++;
	pthread_mutex_lock(&d->mu);
	if (d->flush_gen == gen) {
		uint32_t k = 0;

		for (uint64_t s = first; s < first + n && !rc; s++) {
			struct lslice *l = lc_get(d, s);
			uint32_t k0 = k;

			while (k < m && x[k].off / SLICE == s)
				k++;
			if (!l) {
				rc = -GL_ENOMEM;
				break;
			}
			free(l->e);
			l->e = NULL;
			l->n = k - k0;
			if (l->n && !(l->e = malloc(l->n * sizeof(*l->e)))) {
				l->n = UINT32_MAX;
				rc = -GL_ENOMEM;
				break;
			}
			if (l->n)
				memcpy(l->e, &x[k0], l->n * sizeof(*l->e));
		}
	}
	pthread_mutex_unlock(&d->mu);
out:
	free(x);
	gl_rpc_call_done(&c);
	return rc;
}

/* A copy of the cached layout of slice idx (fetching it). *e malloc'd. */
static int layout_of(struct glory_disk *d, uint64_t idx, uint32_t ahead, struct gl_ns_extent **e,
		     uint32_t *n)
{
	for (int tries = 0; tries < 100; tries++) {
		struct lslice *l;
		int rc;

		pthread_mutex_lock(&d->mu);
		l = lc_find(d, idx);
		if (l && l->n != UINT32_MAX) {
			*n = l->n;
			*e = NULL;
			if (l->n && !(*e = malloc(l->n * sizeof(**e)))) {
				pthread_mutex_unlock(&d->mu);
				return -GL_ENOMEM;
			}
			if (l->n)
				memcpy(*e, l->e, l->n * sizeof(**e));
			pthread_mutex_unlock(&d->mu);
			return 0;
		}
		pthread_mutex_unlock(&d->mu);
		if ((rc = layout_fetch(d, idx, ahead)))
			return rc;
	}
	return -GL_EAGAIN;
}

/* ---- chunks (LRU cache of whole chunks under mu) ---- */

static int chunk_copy(struct glory_disk *d, const struct gl_ns_extent *e, uint8_t *out,
		      uint32_t from, uint32_t len)
{
	struct glory *g = glory_vol_glory(d->v);
	struct gl_scheme s;
	struct gl_map m = {0};
	uint8_t *buf;
	int rc;

	pthread_mutex_lock(&d->mu);
	for (uint32_t i = 0; i < d->ncc; i++) {
		struct cchunk *c = &d->cc[i];

		if (c->pool == e->pool && c->len == e->chunk_len && !memcmp(c->id, e->chunk, 32)) {
			memcpy(out, c->data + from, len);
			c->used = ++d->cc_clock;
			d->st.chunk_hits++;
			pthread_mutex_unlock(&d->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&d->mu);
	if ((rc = gl_scheme_from_pool(e->pool, &s)))
		return rc;
	if (e->chunk_len > GL_CHUNK_MAX || (uint64_t)from + len > e->chunk_len)
		return -GL_EPROTO;
	if (!(buf = malloc(e->chunk_len ? e->chunk_len : 1)))
		return -GL_ENOMEM;
	if ((rc = glory_map_get(g, &m, 0)))
		goto out;
	rc = gl_chunk_read(g->sc, &m, &s, e->chunk, e->chunk_len, buf);
	if (rc == -GL_EUNAVAIL) {
		gl_map_free(&m);
		if (glory_map_get(g, &m, 1) == 0)
			rc = gl_chunk_read(g->sc, &m, &s, e->chunk, e->chunk_len, buf);
	}
	gl_map_free(&m);
	if (rc)
		goto out;
	memcpy(out, buf + from, len);
	pthread_mutex_lock(&d->mu);
	d->st.chunk_reads++;
	if (d->cc_cap) {
		uint32_t slot = d->ncc;

		if (d->ncc == d->cc_cap) { /* evict the least recently used */
			slot = 0;
			for (uint32_t i = 1; i < d->ncc; i++)
				if (d->cc[i].used < d->cc[slot].used)
					slot = i;
			free(d->cc[slot].data);
		} else {
			d->ncc++;
		}
		memcpy(d->cc[slot].id, e->chunk, 32);
		d->cc[slot].pool = e->pool;
		d->cc[slot].len = e->chunk_len;
		d->cc[slot].data = buf;
		d->cc[slot].used = ++d->cc_clock;
		buf = NULL;
	}
	pthread_mutex_unlock(&d->mu);
out:
	free(buf);
	return rc;
}

/* ---- reads ---- */

/* Reads the committed bytes of [off, off+len) (holes as zeros). */
static int read_committed(struct glory_disk *d, uint8_t *buf, uint64_t off, uint64_t len)
{
	int rc = 0;

	memset(buf, 0, len);
	for (uint64_t s = off / SLICE; s * SLICE < off + len && !rc; s++) {
		struct gl_ns_extent *e = NULL;
		uint32_t n = 0;
		uint64_t left = (off + len - s * SLICE + SLICE - 1) / SLICE;

		rc = layout_of(d, s, (uint32_t)GL_MIN(left, (uint64_t)LAYOUT_SLICES), &e, &n);
		for (uint32_t i = 0; i < n && !rc; i++) {
			uint64_t a = GL_MAX(off, e[i].off),
				 b = GL_MIN(off + len, e[i].off + e[i].len);

			if (a < b)
				rc = chunk_copy(d, &e[i], buf + (a - off),
						e[i].chunk_off + (uint32_t)(a - e[i].off),
						(uint32_t)(b - a));
		}
		free(e);
	}
	return rc;
}

int glory_disk_pread(struct glory_disk *d, void *buf, size_t len, uint64_t off)
{
	int rc;

	if (off > d->size || len > d->size - off)
		return -GL_EINVAL;
	for (;;) {
		uint64_t gen;

		pthread_mutex_lock(&d->mu);
		gen = d->flush_gen;
		pthread_mutex_unlock(&d->mu);
		if ((rc = read_committed(d, buf, off, len)))
			return rc;
		pthread_mutex_lock(&d->mu);
		if (d->flush_gen == gen) {
			dset_overlay(d->fl, buf, off, len);
			dset_overlay(d->dirty, buf, off, len);
			d->st.reads++;
			pthread_mutex_unlock(&d->mu);
			return 0;
		}
		pthread_mutex_unlock(&d->mu);
	}
}

/* ---- flushing ---- */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct chunkw {
	uint8_t *data;
	uint32_t len;
	int owned;
	uint8_t id[32];
};

struct plan {
	struct chunkw *c;
	uint32_t nc, cc;
	struct gl_ns_extent *e;
	uint32_t ne, ce;
	uint32_t *ec;	/* the chunk of each extent */
	uint64_t *zero; /* whole slices that are all zeros (become holes) */
	uint32_t nz, cz;
	uint32_t log; /* the open log chunk, or UINT32_MAX */
};

static int plan_chunk(struct plan *p, uint8_t *data, uint32_t len, int owned)
{
	if (p->nc == p->cc) {
		uint32_t nc = p->cc ? p->cc * 2 : 16;
		struct chunkw *n = realloc(p->c, nc * sizeof(*n));

		if (!n)
			return -GL_ENOMEM;
		p->c = n;
		p->cc = nc;
	}
	p->c[p->nc++] = (struct chunkw){data, len, owned, {0}};
	return 0;
}

static int plan_extent(struct plan *p, uint64_t off, uint32_t len, uint32_t chunk, uint32_t coff)
{
	if (p->ne == p->ce) {
		uint32_t nc = p->ce ? p->ce * 2 : 64;
		struct gl_ns_extent *n = realloc(p->e, nc * sizeof(*n));
		uint32_t *m = realloc(p->ec, nc * sizeof(*m));

		if (n)
			p->e = n;
		if (m)
			p->ec = m;
		if (!n || !m)
			return -GL_ENOMEM;
		p->ce = nc;
	}
	memset(&p->e[p->ne], 0, sizeof(p->e[p->ne]));
	p->e[p->ne].off = off;
	p->e[p->ne].len = len;
	p->e[p->ne].chunk_off = coff;
	p->ec[p->ne++] = chunk;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t z[4096];

	for (size_t i = 0; i < n; i += sizeof(z))
		if (memcmp(p + i, z, GL_MIN(sizeof(z), n - i)))
			return 0;
	return 1;
}

/* Appends run bytes to log chunks. */
static int plan_log(struct plan *p, const struct run *r)
{
	uint32_t done = 0;
	int rc = 0;

	while (done < r->len && !rc) {
		struct chunkw *c;
		uint32_t m;

		if (p->log == UINT32_MAX || p->c[p->log].len == LOG_MAX) {
			uint8_t *b = malloc(LOG_MAX);

			if (!b || (rc = plan_chunk(p, b, 0, 1))) {
				free(b);
				return rc ? rc : -GL_ENOMEM;
			}
			p->log = p->nc - 1;
		}
		c = &p->c[p->log];
		m = GL_MIN(r->len - done, LOG_MAX - c->len);
		memcpy(c->data + c->len, r->data + done, m);
		rc = plan_extent(p, r->off + done, m, p->log, c->len);
		c->len += m;
		done += m;
	}
	return rc;
}

static int slice_cmp(const void *a, const void *b)
{
	const struct dslice *x = *(struct dslice *const *)a, *y = *(struct dslice *const *)b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int plan_build(struct glory_disk *d, struct dset *fl, struct plan *p)
{
	struct dslice **v = malloc((fl->nslices ? fl->nslices : 1) * sizeof(*v));
	uint32_t n = 0;
	int rc = 0;

	if (!v)
		return -GL_ENOMEM;
	for (int i = 0; i < NBUCKETS; i++)
		for (struct dslice *s = fl->b[i]; s; s = s->next)
			if (s->n)
				v[n++] = s;
	qsort(v, n, sizeof(*v), slice_cmp);
	p->log = UINT32_MAX;
	for (uint32_t i = 0; i < n && !rc; i++) {
		struct dslice *s = v[i];
		uint64_t s0 = s->idx * SLICE, s1 = GL_MIN(d->size, s0 + SLICE);

		if (s->n == 1 && s->r[0].off == s0 && s->r[0].off + s->r[0].len == s1) {
			if (all_zero(s->r[0].data, s->r[0].len)) {
				if (p->nz == p->cz) {
					uint32_t nc = p->cz ? p->cz * 2 : 16;
					uint64_t *z = realloc(p->zero, nc * sizeof(*z));

					if (!z) {
						rc = -GL_ENOMEM;
						break;
					}
					p->zero = z;
					p->cz = nc;
				}
				p->zero[p->nz++] = s->idx;
				continue;
			}
			rc = plan_chunk(p, s->r[0].data, s->r[0].len, 0);
			if (!rc)
				rc = plan_extent(p, s0, s->r[0].len, p->nc - 1, 0);
			continue;
		}
		for (uint32_t k = 0; k < s->n && !rc; k++)
			rc = plan_log(p, &s->r[k]);
	}
	free(v);
	return rc;
}

static void plan_free(struct plan *p)
{
	for (uint32_t i = 0; i < p->nc; i++)
		if (p->c[i].owned)
			free(p->c[i].data);
	free(p->c);
	free(p->e);
	free(p->ec);
	free(p->zero);
}

static int chunk_ids(struct glory_disk *d, struct plan *p)
{
	struct glory *g = glory_vol_glory(d->v);
	int rc = 0;

	if (!g->idctx) {
		struct gl_map m;

		if ((rc = glory_map_get(g, &m, 1)))
			return rc;
		gl_map_free(&m);
	}
	for (uint32_t i = 0; i < p->nc && !rc; i++) {
		struct chunkw *c = &p->c[i];

		pthread_mutex_lock(&g->lock);
		if (d->dedup) {
			rc = gl_chunk_id(g->idctx, c->data, c->len, c->id);
		} else { /* salted: never matches another chunk */
			uint8_t salt[16];
			const void *parts[2] = {c->data, salt};
			size_t lens[2] = {c->len, sizeof(salt)};

			rc = RAND_bytes(salt, sizeof(salt)) == 1 ? 0 : -GL_EIO;
			if (!rc)
				rc = gl_idctx_mac(g->idctx, 2, parts, lens, c->id);
		}
		pthread_mutex_unlock(&g->lock);
	}
	return rc;
}

static int ns_write(struct glory_disk *d, const struct gl_ns_extent *e, uint32_t n)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	glory_vol_msg(d->v, &a, GL_NS_WRITE);
	gl_put_u64(&a, d->ino);
	gl_put_u64(&a, 0); /* the size stays */
	gl_put_u64(&a, 0);
	gl_put_u32(&a, n);
	for (uint32_t i = 0; i < n; i++)
		gl_ns_extent_put(&a, &e[i]);
	/* retried on an unknown outcome: the same extents again change nothing */
	rc = glory_vol_md(d->v, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

static int ns_punch(struct glory_disk *d, uint64_t off, uint64_t len)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	glory_vol_msg(d->v, &a, GL_NS_PUNCH);
	gl_put_u64(&a, d->ino);
	gl_put_u64(&a, off);
	gl_put_u64(&a, len);
	rc = glory_vol_md(d->v, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* Stores and commits the plan. */
static int plan_commit(struct glory_disk *d, struct plan *p)
{
	struct glory *g = glory_vol_glory(d->v);
	struct gl_scheme s;
	int rc;

	if ((rc = gl_scheme_from_pool(d->pool, &s)) || (rc = chunk_ids(d, p)))
		return rc;
	for (uint32_t i = 0; i < p->nc && !rc; i += STORE_BATCH) {
		int n = (int)GL_MIN((uint32_t)STORE_BATCH, p->nc - i);
		uint8_t *data[STORE_BATCH];
		uint32_t len[STORE_BATCH];
		uint8_t ids[STORE_BATCH][32];

		for (int k = 0; k < n; k++) {
			data[k] = p->c[i + k].data;
			len[k] = p->c[i + k].len;
			memcpy(ids[k], p->c[i + k].id, 32);
		}
		rc = glory_chunks_store(g, &s, n, data, len, (const uint8_t(*)[32])ids);
	}
	for (uint32_t i = 0; i < p->ne; i++) {
		const struct chunkw *c = &p->c[p->ec[i]];

		p->e[i].pool = d->pool;
		memcpy(p->e[i].chunk, c->id, 32);
		p->e[i].chunk_len = c->len;
	}
	for (uint32_t i = 0; i < p->ne && !rc; i += GL_NS_MAX_EXTENTS)
		rc = ns_write(d, &p->e[i], GL_MIN((uint32_t)GL_NS_MAX_EXTENTS, p->ne - i));
	for (uint32_t i = 0; i < p->nz && !rc;) { /* runs of zero slices become holes */
		uint32_t j = i + 1;

		while (j < p->nz && p->zero[j] == p->zero[j - 1] + 1)
			j++;
		rc = ns_punch(d, p->zero[i] * SLICE,
			      GL_MIN(d->size, p->zero[j - 1] * SLICE + SLICE) - p->zero[i] * SLICE);
		i = j;
	}
	return rc;
}

/* Records what a committed plan did to each slice's cached layout and fragment count. Mu
 * held. Returns how many slices now want compacting, their indexes in want (up to max). */
static uint32_t plan_account(struct glory_disk *d, const struct plan *p, uint64_t *want,
			     uint32_t max)
{
	uint32_t nw = 0;

	for (uint32_t i = 0; i < p->ne; i++) {
		uint64_t idx = p->e[i].off / SLICE;
		struct lslice *l = lc_get(d, idx);

		if (!l)
			continue;
		free(l->e);
		l->e = NULL;
		l->n = UINT32_MAX;
		if (p->e[i].len == GL_MIN((uint64_t)SLICE, d->size - idx * SLICE) &&
		    p->e[i].off == idx * SLICE) {
			l->frag = 0;
			continue;
		}
		if (++l->frag == COMPACT_EXTENTS && nw < max)
			want[nw++] = idx;
	}
	for (uint32_t i = 0; i < p->nz; i++) {
		struct lslice *l = lc_get(d, p->zero[i]);

		if (l) {
			free(l->e);
			l->e = NULL;
			l->n = 0;
			l->frag = 0;
		}
	}
	return nw;
}

/* Reads fragmented slices whole and puts them back under newer writes: the next flush stores
 * each as one chunk. flush_mu held. */
static void compact(struct glory_disk *d, const uint64_t *want, uint32_t n)
{
	uint8_t *buf = n ? malloc(SLICE) : NULL;

	for (uint32_t i = 0; i < n && buf; i++) {
		uint64_t s0 = want[i] * SLICE, len = GL_MIN((uint64_t)SLICE, d->size - s0);
		struct dslice *s;

		if (glory_disk_pread(d, buf, len, s0))
			continue; /* nothing lost: the slice stays as it is */
		pthread_mutex_lock(&d->mu);
		s = dset_find(d->dirty, want[i], 1);
		if (s && !dslice_put(d->dirty, s, s0, buf, (uint32_t)len, 1)) {
			d->st.compactions++;
			if (!d->dirty_since)
				d->dirty_since = mono();
		}
		pthread_mutex_unlock(&d->mu);
	}
	free(buf);
}

/* flush_mu held */
static int flush_locked(struct glory_disk *d)
{
	struct plan p = {0};
	uint64_t want[COMPACT_PER_FLUSH];
	uint32_t nw = 0;
	struct dset *fl, *nd;
	int rc;

	pthread_mutex_lock(&d->mu);
	rc = d->err;
	d->err = 0;
	if (!d->dirty->bytes) {
		pthread_mutex_unlock(&d->mu);
		return rc;
	}
	if (!(nd = dset_new())) {
		pthread_mutex_unlock(&d->mu);
		return -GL_ENOMEM;
	}
	fl = d->fl = d->dirty;
	d->dirty = nd;
	d->dirty_since = 0;
	pthread_mutex_unlock(&d->mu);

	rc = plan_build(d, fl, &p);
	if (!rc)
		rc = plan_commit(d, &p);

	pthread_mutex_lock(&d->mu);
	if (!rc) {
		nw = plan_account(d, &p, want, COMPACT_PER_FLUSH);
		d->st.flushes++;
		d->st.chunks_written += p.nc;
		d->st.extents_written += p.ne;
		d->st.bytes_flushed += fl->bytes;
		d->fl = NULL;
		dset_free(fl);
	} else {
		/* keep the data: it goes out with the next flush */
		d->fl = NULL;
		lc_drop_all(d, 1);
		if (dset_merge_under(d->dirty, fl) == 0 && !d->dirty_since)
			d->dirty_since = mono();
	}
	d->flush_gen++;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	plan_free(&p);
	if (!rc)
		compact(d, want, nw);
	return rc;
}

int glory_disk_flush(struct glory_disk *d)
{
	int rc;

	pthread_mutex_lock(&d->flush_mu);
	rc = flush_locked(d);
	pthread_mutex_unlock(&d->flush_mu);
	return rc;
}

static void *flusher(void *arg)
{
	struct glory_disk *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->closing) {
		struct timespec ts;
		int go;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		go = d->dirty->bytes &&
		     (d->dirty->bytes >= DIRTY_FLUSH || mono() - d->dirty_since >= DIRTY_AGE_S);
		if (go && !d->closing) {
			int rc;

			pthread_mutex_unlock(&d->mu);
			rc = glory_disk_flush(d);
			pthread_mutex_lock(&d->mu);
			if (rc && !d->err)
				d->err = rc; /* the next flush reports it (and retries) */
		}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- writes ---- */

int glory_disk_pwrite(struct glory_disk *d, const void *buf, size_t len, uint64_t off,
		      unsigned flags)
{
	const uint8_t *p = buf;
	uint64_t done = 0, bytes;
	int rc = 0;

	if (d->rdonly)
		return -GL_EPERM;
	if (off > d->size || len > d->size - off)
		return -GL_EINVAL;
	pthread_mutex_lock(&d->mu);
	while (done < len && !rc) {
		uint64_t at = off + done, n = GL_MIN(len - done, (at / SLICE + 1) * SLICE - at);
		struct dslice *s = dset_find(d->dirty, at / SLICE, 1);

		rc = s ? dslice_put(d->dirty, s, at, p + done, (uint32_t)n, 0) : -GL_ENOMEM;
		done += n;
	}
	if (!d->dirty_since)
		d->dirty_since = mono();
	d->st.writes++;
	bytes = d->dirty->bytes;
	if (bytes >= DIRTY_FLUSH)
		pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (rc)
		return rc;
	if ((flags & GLORY_DISK_FUA) || bytes >= DIRTY_MAX)
		rc = glory_disk_flush(d);
	return rc;
}

int glory_disk_punch(struct glory_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	int rc = 0;

	(void)flags; /* a punch is committed before it returns: always durable */
	if (d->rdonly)
		return -GL_EPERM;
	if (off > d->size || len > d->size - off)
		return -GL_EINVAL;
	if (len == 0)
		return 0;
	pthread_mutex_lock(&d->flush_mu);
	pthread_mutex_lock(&d->mu);
	for (uint64_t i = off / SLICE; i * SLICE < off + len && !rc; i++) {
		struct dslice *s = dset_find(d->dirty, i, 0);

		if (s)
			rc = dslice_cut(d->dirty, s, off, off + len);
	}
	pthread_mutex_unlock(&d->mu);
	if (!rc)
		rc = ns_punch(d, off, len);
	pthread_mutex_lock(&d->mu);
	for (uint64_t i = off / SLICE; i * SLICE < off + len; i++) {
		struct lslice *l = lc_find(d, i);

		if (l) {
			free(l->e);
			l->e = NULL;
			l->n = UINT32_MAX;
		}
	}
	d->flush_gen++;
	d->st.punches++;
	pthread_mutex_unlock(&d->mu);
	pthread_mutex_unlock(&d->flush_mu);
	return rc;
}

/* ---- extents ---- */

struct ivl {
	uint64_t a, b;
};

static int ivl_cmp(const void *x, const void *y)
{
	const struct ivl *p = x, *q = y;

	return p->a < q->a ? -1 : p->a > q->a;
}

static int ivl_add_runs(struct dset *ds, uint64_t idx, struct ivl **v, uint32_t *n, uint32_t *cap)
{
	struct dslice *s = ds ? dset_find(ds, idx, 0) : NULL;

	for (uint32_t k = 0; s && k < s->n; k++) {
		if (*n == *cap) {
			uint32_t nc = *cap ? *cap * 2 : 64;
			struct ivl *nv = realloc(*v, nc * sizeof(*nv));

			if (!nv)
				return -GL_ENOMEM;
			*v = nv;
			*cap = nc;
		}
		(*v)[(*n)++] = (struct ivl){s->r[k].off, s->r[k].off + s->r[k].len};
	}
	return 0;
}

int glory_disk_extents(struct glory_disk *d, uint64_t off, uint64_t len, glory_disk_extent_fn fn,
		       void *arg)
{
	uint64_t end, cur;
	int rc = 0;

	if (off > d->size || len > d->size - off)
		return -GL_EINVAL;
	end = off + len;
	cur = off;
	for (uint64_t s = off / SLICE; s * SLICE < end && !rc; s++) {
		struct gl_ns_extent *e = NULL;
		struct ivl *v = NULL;
		uint32_t n = 0, nv = 0, cap = 0;
		uint64_t s0 = GL_MAX(off, s * SLICE), s1 = GL_MIN(end, s * SLICE + SLICE);
		uint64_t left = (end - s * SLICE + SLICE - 1) / SLICE;

		rc = layout_of(d, s, (uint32_t)GL_MIN(left, (uint64_t)LAYOUT_SLICES), &e, &n);
		if (rc)
			break;
		if (n && !(v = malloc(n * sizeof(*v))))
			rc = -GL_ENOMEM;
		for (uint32_t i = 0; i < n && !rc; i++)
			v[nv++] = (struct ivl){e[i].off, e[i].off + e[i].len};
		cap = n;
		free(e);
		pthread_mutex_lock(&d->mu);
		if (!rc)
			rc = ivl_add_runs(d->fl, s, &v, &nv, &cap);
		if (!rc)
			rc = ivl_add_runs(d->dirty, s, &v, &nv, &cap);
		pthread_mutex_unlock(&d->mu);
		if (!rc)
			qsort(v, nv, sizeof(*v), ivl_cmp);
		/* walk [s0, s1): data where an interval covers, holes elsewhere */
		for (uint32_t i = 0; i < nv && !rc; i++) {
			uint64_t a = GL_MAX(v[i].a, s0), b = GL_MIN(v[i].b, s1);

			if (a >= b || b <= cur)
				continue;
			a = GL_MAX(a, cur);
			if (a > cur)
				rc = fn(arg, cur, a - cur, 1);
			if (!rc)
				rc = fn(arg, a, b - a, 0);
			cur = b;
		}
		free(v);
		if (!rc && cur < s1) {
			rc = fn(arg, cur, s1 - cur, 1);
			cur = s1;
		}
	}
	return rc;
}

/* ---- open, close ---- */

int glory_disk_open(struct glory_vol *v, const char *name, unsigned flags, struct glory_disk **out)
{
	struct glory_disk_info di;
	struct glory_disk *d;
	uint32_t shard, vol;
	int rc;

	if ((rc = glory_disk_stat(v, name, &di)))
		return rc;
	if (!(d = calloc(1, sizeof(*d))))
		return -GL_ENOMEM;
	d->v = v;
	d->ino = di.ino;
	d->size = di.size;
	d->rdonly = di.snapshot || (flags & GLORY_DISK_RDONLY);
	glory_vol_ids(v, &shard, &vol, &d->pool, &d->dedup);
	d->cc_cap = (flags & GLORY_DISK_NOCACHE) ? 0 : 64;
	if (d->cc_cap && !(d->cc = calloc(d->cc_cap, sizeof(*d->cc)))) {
		free(d);
		return -GL_ENOMEM;
	}
	if (!(d->dirty = dset_new())) {
		free(d->cc);
		free(d);
		return -GL_ENOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->flush_mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (!d->rdonly && pthread_create(&d->flusher, NULL, flusher, d) == 0)
		d->flusher_started = 1;
	*out = d;
	return 0;
}

uint64_t glory_disk_size(const struct glory_disk *d)
{
	return d->size;
}

int glory_disk_readonly(const struct glory_disk *d)
{
	return d->rdonly;
}

void glory_disk_get_stats(struct glory_disk *d, struct glory_disk_stats *out)
{
	pthread_mutex_lock(&d->mu);
	*out = d->st;
	out->dirty_bytes = d->dirty->bytes;
	pthread_mutex_unlock(&d->mu);
}

int glory_disk_close(struct glory_disk *d)
{
	int rc;

	if (!d)
		return 0;
	rc = d->rdonly ? 0 : glory_disk_flush(d);
	pthread_mutex_lock(&d->mu);
	d->closing = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (d->flusher_started)
		pthread_join(d->flusher, NULL);
	dset_free(d->dirty);
	lc_drop_all(d, 0);
	for (uint32_t i = 0; i < d->ncc; i++)
		free(d->cc[i].data);
	free(d->cc);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->flush_mu);
	free(d);
	return rc;
}

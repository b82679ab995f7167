/* libglory: flushing a disk's dirty set (the write path; see disk_io.c's header comment). */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/disk_internal.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"
#include "storage/chunkid.h"
#include "storage/client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double disk_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int plan_chunk(struct plan *p, uint8_t *data, uint32_t len, int owned)
{
	if (p->nc == p->cc) {
		uint32_t nc = p->cc ? p->cc * 2 : 16;
		struct chunkw *n = realloc(p->c, nc * sizeof(*n));

		if (!n)
			return -GL_ENOMEM;
		p->c = n;
		p->cc = nc;
	}
	p->c[p->nc++] = (struct chunkw){data, len, owned, 0, 0, p->pool, {0}};
	return 0;
}

int plan_extent(struct plan *p, uint64_t off, uint32_t len, uint32_t chunk, uint32_t coff)
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

/* The slice is one run covering all of it (up to the disk's end). */
static int slice_whole(const struct dslice *s, uint64_t size)
{
	uint64_t s0 = s->idx * SLICE, s1 = GL_MIN(size, s0 + SLICE);

	return s->n == 1 && s->r[0].off == s0 && s->r[0].off + s->r[0].len == s1;
}

static int plan_build(struct glory_disk *d, struct dset *fl, struct plan *p, int use_index)
{
	struct dslice **v = malloc((fl->nslices ? fl->nslices : 1) * sizeof(*v));
	struct dslice **dd = malloc((fl->nslices ? fl->nslices : 1) * sizeof(*dd));
	uint32_t n = 0, ndd = 0;
	int rc = 0;

	p->pool = d->pool;
	if (!v || !dd) {
		free(v);
		free(dd);
		return -GL_ENOMEM;
	}
	for (int i = 0; i < NBUCKETS; i++)
		for (struct dslice *s = fl->b[i]; s; s = s->next)
			if (s->n)
				v[n++] = s;
	qsort(v, n, sizeof(*v), slice_cmp);
	p->log = UINT32_MAX;
	for (uint32_t i = 0; i < n && !rc; i++) {
		struct dslice *s = v[i];
		uint64_t s0 = s->idx * SLICE;

		if (slice_whole(s, d->size)) {
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
			if (d->dedup && !s->compacted && s->r[0].len % GL_NS_DEDUP_BLOCK == 0) {
				dd[ndd++] = s; /* block dedup, below */
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
	if (!rc)
		rc = disk_dedup_plan(d, p, dd, ndd, use_index);
	free(v);
	free(dd);
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
	for (uint32_t i = 0; i < p->nw; i++)
		free(p->w[i].list);
	free(p->w);
	free(p->ix);
	memset(p, 0, sizeof(*p));
}

struct ids {
	struct glory_disk *d;
	struct plan *p;
};

static int chunk_id_one(void *arg, int i)
{
	struct ids *x = arg;
	struct chunkw *c = &x->p->c[i];

	if (c->has_id)
		return 0; /* an existing chunk, or one named by its block list */
	return glory_chunk_hash(glory_vol_glory(x->d->v), x->d->dedup, c->data, c->len, c->id);
}

/* The ids of the plan's chunks, hashed in parallel. */
static int chunk_ids(struct glory_disk *d, struct plan *p)
{
	struct ids x = {d, p};

	return glory_par_for((int)p->nc, chunk_id_one, &x);
}

#define WHOLE_PER_WRITE 16 /* slices rewritten whole per NS_WRITE (a block list is 32 KiB) */

/* NS_WRITE of extents [i, i + n) of the plan, with the dedup tail of the whole slices
 * [w, w + nw) among them (their cuts, the index's chunks they point into, their index
 * entries). */
static int ns_write(struct glory_disk *d, const struct plan *p, uint32_t i, uint32_t n, uint32_t w,
		    uint32_t nw)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint32_t *need = NULL, nneed = 0, nix = 0, ix0 = 0, nlist = 0;
	int rc;

	glory_vol_msg(d->v, &a, GL_NS_WRITE);
	gl_put_u64(&a, d->ino);
	gl_put_u64(&a, 0); /* the size stays */
	gl_put_u64(&a, 0);
	gl_put_u32(&a, n);
	for (uint32_t k = i; k < i + n; k++)
		gl_ns_extent_put(&a, &p->e[k]);
	if (nw) {
		if (!(need = malloc(n * sizeof(*need)))) {
			gl_wbuf_free(&a);
			return -GL_ENOMEM;
		}
		gl_put_u32(&a, nw);
		for (uint32_t k = w; k < w + nw; k++) {
			uint64_t s0 = p->w[k].idx * SLICE;

			gl_put_u64(&a, s0);
			gl_put_u64(&a, GL_MIN((uint64_t)SLICE, d->size - s0));
			nix += p->w[k].nix;
		}
		for (uint32_t k = i; k < i + n; k++) { /* each existing chunk once */
			uint32_t ck = p->ec[k], j = 0;

			while (j < nneed && need[j] != ck)
				j++;
			if (p->c[ck].ext && j == nneed)
				need[nneed++] = ck;
		}
		gl_put_u32(&a, nneed);
		for (uint32_t k = 0; k < nneed; k++) {
			gl_put_u32(&a, p->c[need[k]].pool);
			gl_put_bytes(&a, p->c[need[k]].id, 32);
		}
		while (ix0 < p->nix && p->ix[ix0].ext < i)
			ix0++;
		gl_put_u32(&a, nix);
		for (uint32_t k = ix0; k < ix0 + nix; k++) {
			const struct chunkw *cw = &p->c[p->ix[k].c];

			gl_put_bytes(&a, p->ix[k].h, 32);
			gl_put_u32(&a, cw->pool);
			gl_put_bytes(&a, cw->id, 32);
			gl_put_u32(&a, cw->len);
			gl_put_u32(&a, p->ix[k].coff);
		}
		for (uint32_t k = w; k < w + nw; k++) /* the new chunks' block lists */
			nlist += p->w[k].nlist > 0;
		gl_put_u32(&a, nlist);
		for (uint32_t k = w; k < w + nw; k++) {
			const struct pwhole *x = &p->w[k];

			if (!x->nlist)
				continue;
			gl_put_u32(&a, p->c[x->c].pool);
			gl_put_bytes(&a, p->c[x->c].id, 32);
			gl_put_u32(&a, x->nlist);
			gl_put_bytes(&a, x->list, (size_t)x->nlist * 32);
		}
		free(need);
	}
	/* retried on an unknown outcome: the same extents again change nothing */
	rc = glory_vol_md(d->v, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

int disk_ns_punch(struct glory_disk *d, uint64_t off, uint64_t len)
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

/* Stores the plan's new chunks, all in one call: its threads take the next chunk as each one
 * is done (batches of a few waited for their slowest store before starting the next). */
static int plan_store(struct glory *g, const struct gl_scheme *s, const struct plan *p)
{
	uint8_t **data = malloc(p->nc * sizeof(*data) + 1);
	uint32_t *len = malloc(p->nc * sizeof(*len) + 1);
	uint8_t(*ids)[32] = malloc(p->nc * sizeof(*ids) + 1);
	int n = 0, rc = -GL_ENOMEM;

	if (data && len && ids) {
		for (uint32_t i = 0; i < p->nc; i++) {
			if (p->c[i].ext)
				continue; /* stored already */
			data[n] = p->c[i].data;
			len[n] = p->c[i].len;
			memcpy(ids[n++], p->c[i].id, 32);
		}
		rc = glory_chunks_store(g, s, n, data, len, (const uint8_t(*)[32])ids);
	}
	free(data);
	free(len);
	free(ids);
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
	if ((rc = plan_store(g, &s, p)))
		return rc;
	for (uint32_t i = 0; i < p->ne; i++) {
		const struct chunkw *c = &p->c[p->ec[i]];

		p->e[i].pool = c->pool;
		memcpy(p->e[i].chunk, c->id, 32);
		p->e[i].chunk_len = c->len;
	}
	/* NS_WRITEs of up to GL_NS_MAX_EXTENTS extents; a slice rewritten whole goes in one */
	for (uint32_t i = 0, w = 0; i < p->ne && !rc;) {
		uint32_t j = i, w0 = w, nix = 0;

		while (j < p->ne && j - i < GL_NS_MAX_EXTENTS) {
			if (w < p->nw && p->w[w].first == j) {
				if (j + p->w[w].n - i > GL_NS_MAX_EXTENTS ||
				    ((nix + p->w[w].nix > GL_NS_DEDUP_MAX ||
				      w - w0 == WHOLE_PER_WRITE) &&
				     j > i))
					break;
				nix += p->w[w].nix;
				j += p->w[w++].n;
			} else {
				j++;
			}
		}
		rc = ns_write(d, p, i, j - i, w0, w - w0);
		i = j;
	}
	for (uint32_t i = 0; i < p->nz && !rc;) { /* runs of zero slices become holes */
		uint32_t j = i + 1;

		while (j < p->nz && p->zero[j] == p->zero[j - 1] + 1)
			j++;
		rc = disk_ns_punch(d, p->zero[i] * SLICE,
				   GL_MIN(d->size, p->zero[j - 1] * SLICE + SLICE) -
				       p->zero[i] * SLICE);
		i = j;
	}
	return rc;
}

/* Records what a committed plan did to each slice's cached layout and fragment count. Mu
 * held. Returns how many slices now want compacting, their indexes in want (up to max). */
static int ext_cmp(const void *a, const void *b)
{
	const struct gl_ns_extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* (Dropping a slice's cached layout after each flush instead made every read after it ask the
 * shard again: random reads mixed with writes spent their time there.) */
void disk_lc_overlay(struct lslice *l, const struct gl_ns_extent *nx, uint32_t nn)
{
	struct gl_ns_extent *r = malloc(((size_t)l->n + 2 * (size_t)nn) * sizeof(*r));
	struct gl_ns_extent *w = malloc(nn * sizeof(*w));
	uint32_t k = 0;

	if (!r || !w) {
		free(r);
		free(w);
		free(l->e);
		l->e = NULL;
		l->n = UINT32_MAX;
		return;
	}
	memcpy(w, nx, nn * sizeof(*w));
	qsort(w, nn, sizeof(*w), ext_cmp);
	for (uint32_t i = 0; i < l->n; i++) {
		const struct gl_ns_extent *o = &l->e[i];
		uint64_t a = o->off, b = o->off + o->len;

		for (uint32_t j = 0; j < nn && a < b; j++) {
			uint64_t x0 = w[j].off, x1 = w[j].off + w[j].len;

			if (x1 <= a || x0 >= b)
				continue;
			if (x0 > a) { /* the part of o before w[j] stays */
				r[k] = *o;
				r[k].off = a;
				r[k].len = (uint32_t)(x0 - a);
				r[k++].chunk_off = o->chunk_off + (uint32_t)(a - o->off);
			}
			a = x1;
		}
		if (a < b) {
			r[k] = *o;
			r[k].off = a;
			r[k].len = (uint32_t)(b - a);
			r[k++].chunk_off = o->chunk_off + (uint32_t)(a - o->off);
		}
	}
	memcpy(r + k, w, nn * sizeof(*w));
	k += nn;
	qsort(r, k, sizeof(*r), ext_cmp);
	free(w);
	free(l->e);
	l->e = r;
	l->n = k;
}

static uint32_t plan_account(struct glory_disk *d, const struct plan *p, uint64_t *want,
			     uint32_t max)
{
	uint32_t nw = 0;

	for (uint32_t i = 0, w = 0, j; i < p->ne; i = j) {
		uint64_t idx = p->e[i].off / SLICE;
		struct lslice *l;

		if (w < p->nw && p->w[w].first == i) { /* a slice rewritten whole (block dedup) */
			j = i + p->w[w++].n;
			continue;
		}
		/* this slice's extents (a plan lists a slice's runs together) */
		for (j = i + 1;
		     j < p->ne && p->e[j].off / SLICE == idx && !(w < p->nw && p->w[w].first == j);
		     j++)
			;
		if (!(l = disk_lc_get(d, idx)))
			continue;
		if (l->n != UINT32_MAX)
			disk_lc_overlay(l, &p->e[i], j - i);
		for (uint32_t x = i; x < j; x++) {
			if (p->e[x].len == GL_MIN((uint64_t)SLICE, d->size - idx * SLICE) &&
			    p->e[x].off == idx * SLICE) {
				l->frag = 0;
				continue;
			}
			if (++l->frag == COMPACT_EXTENTS && nw < max)
				want[nw++] = idx;
		}
	}
	for (uint32_t i = 0; i < p->nw; i++) {
		struct lslice *l = disk_lc_get(d, p->w[i].idx);

		if (l) {
			free(l->e);
			l->e = NULL;
			l->n = UINT32_MAX;
			l->frag = 0;
		}
	}
	for (uint32_t i = 0; i < p->nz; i++) {
		struct lslice *l = disk_lc_get(d, p->zero[i]);

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

		if (disk_pread(d, buf, len, s0, 0))
			continue; /* nothing lost: the slice stays as it is */
		pthread_mutex_lock(&d->mu);
		s = disk_dirty_slice(d->dirty, want[i], 1);
		if (s && !disk_dirty_put(d->dirty, s, s0, buf, (uint32_t)len, 1)) {
			s->compacted = 1;
			d->st.compactions++;
			if (!d->dirty_since)
				d->dirty_since = disk_mono();
		}
		pthread_mutex_unlock(&d->mu);
	}
	free(buf);
}

/* Moves the part-filled slices written in the last FRONT_HOLD_S (up to FRONT_HOLD_SLICES of
 * them) from fl back to dirty: a sequential writer is still filling them, its requests in
 * flight completing in any order around its front. A slice left alone that long goes out with
 * the next flush. mu held. */
static void hold_front(struct dset *fl, struct dset *dirty, uint64_t size)
{
	uint64_t held[FRONT_HOLD_SLICES];
	uint32_t n = 0;
	double now = disk_mono();

	for (int i = 0; i < NBUCKETS && n < FRONT_HOLD_SLICES; i++) {
		for (struct dslice *s = fl->b[i]; s && n < FRONT_HOLD_SLICES; s = s->next)
			if (s->n && now - s->wtime <= FRONT_HOLD_S && !slice_whole(s, size))
				held[n++] = s->idx;
	}
	for (uint32_t k = 0; k < n; k++)
		disk_dirty_move(fl, dirty, held[k]);
}

/* flush_mu held; all: everything dirty (else see disk_flush_some) */
static int flush_locked(struct glory_disk *d, int all)
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
	if (!(nd = disk_dirty_new())) {
		pthread_mutex_unlock(&d->mu);
		return -GL_ENOMEM;
	}
	fl = d->fl = d->dirty;
	d->dirty = nd;
	d->dirty_since = 0;
	if (!all)
		hold_front(fl, nd, d->size);
	if (nd->bytes)
		d->dirty_since = disk_mono();
	if (!fl->bytes) { /* all of it held back */
		d->fl = NULL;
		pthread_mutex_unlock(&d->mu);
		disk_dirty_free(fl);
		return rc;
	}
	pthread_mutex_unlock(&d->mu);

	rc = plan_build(d, fl, &p, 1);
	if (!rc)
		rc = plan_commit(d, &p);
	if (rc == -GL_ENOREF) { /* a chunk the index offered lost its last reference: store all */
		plan_free(&p);
		d->st.dedup_replans++;
		rc = plan_build(d, fl, &p, 0);
		if (!rc)
			rc = plan_commit(d, &p);
	}

	pthread_mutex_lock(&d->mu);
	if (!rc) {
		nw = plan_account(d, &p, want, COMPACT_PER_FLUSH);
		d->st.flushes++;
		d->st.chunks_written += p.nc;
		d->st.extents_written += p.ne;
		d->st.dedup_blocks += p.hits;
		d->st.bytes_flushed += fl->bytes;
		d->fl = NULL;
		disk_dirty_free(fl);
	} else {
		/* keep the data: it goes out with the next flush */
		d->fl = NULL;
		disk_lc_drop_all(d, 1);
		if (disk_dirty_merge_under(d->dirty, fl) == 0 && !d->dirty_since)
			d->dirty_since = disk_mono();
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
	rc = flush_locked(d, 1);
	pthread_mutex_unlock(&d->flush_mu);
	return rc;
}

int disk_flush_some(struct glory_disk *d)
{
	int rc;

	pthread_mutex_lock(&d->flush_mu);
	rc = flush_locked(d, 0);
	pthread_mutex_unlock(&d->flush_mu);
	return rc;
}

void *disk_flusher(void *arg)
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
		go = d->dirty->bytes && (d->dirty->bytes >= DIRTY_FLUSH ||
					 disk_mono() - d->dirty_since >= DIRTY_AGE_S);
		if (go && !d->closing) {
			int rc;

			pthread_mutex_unlock(&d->mu);
			rc = disk_flush_some(d);
			pthread_mutex_lock(&d->mu);
			if (rc && !d->err)
				d->err = rc; /* the next flush reports it (and retries) */
		}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

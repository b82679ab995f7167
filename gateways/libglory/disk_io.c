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
 * and the chunks, then lay the flushing and dirty runs on top. A small read (< RANGE_MAX) that
 * does not continue the previous one fetches just its bytes from the data servers (ranged
 * reads: a 4 KiB read costs a 64 KiB block read on one server, not a 4 MiB chunk); sequential
 * and large reads fetch whole chunks into an LRU cache that the reads after them hit.
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
#include "gateways/libglory/disk_internal.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"
#include "storage/chunkid.h"
#include "storage/client.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- committed layouts (cache under mu) ---- */

struct lslice *disk_lc_find(struct glory_disk *d, uint64_t idx)
{
	for (struct lslice *l = d->lc[idx % NBUCKETS]; l; l = l->next)
		if (l->idx == idx)
			return l;
	return NULL;
}

void disk_lc_drop_all(struct glory_disk *d, int keep_frag)
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
struct lslice *disk_lc_get(struct glory_disk *d, uint64_t idx)
{
	struct lslice *l = disk_lc_find(d, idx);

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
	struct gl_ns_attr at;
	struct gl_ns_extent *x = NULL;
	uint64_t gen;
	uint32_t m;
	int rc;

	pthread_mutex_lock(&d->mu);
	gen = d->flush_gen;
	pthread_mutex_unlock(&d->mu);
	if ((rc = glory_layout(d->v, d->ino, first * SLICE, (uint64_t)n * SLICE, &at, &x, &m)))
		return rc;
	d->st.layout_fetches++;
	pthread_mutex_lock(&d->mu);
	if (d->flush_gen == gen) {
		uint32_t k = 0;

		for (uint64_t s = first; s < first + n && !rc; s++) {
			struct lslice *l = disk_lc_get(d, s);
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
	free(x);
	return rc;
}

static int overlaps(const struct gl_ns_extent *x, uint64_t lo, uint64_t hi)
{
	return x->off < hi && x->off + x->len > lo;
}

/* A copy of the extents of slice idx's cached layout (fetching it) that overlap [lo, hi), in
 * their order: a small read copies a few, not the up to thousands of a fragmented slice. *e
 * malloc'd. */
static int layout_of(struct glory_disk *d, uint64_t idx, uint32_t ahead, uint64_t lo, uint64_t hi,
		     struct gl_ns_extent **e, uint32_t *n)
{
	for (int tries = 0; tries < 100; tries++) {
		struct lslice *l;
		uint32_t k = 0;
		int rc;

		pthread_mutex_lock(&d->mu);
		l = disk_lc_find(d, idx);
		if (l && l->n != UINT32_MAX) {
			/* sorted and disjoint: the first one ending past lo, by bisection */
			uint32_t a = 0, b = l->n;

			while (a < b) {
				uint32_t m = a + (b - a) / 2;

				if (l->e[m].off + l->e[m].len > lo)
					b = m;
				else
					a = m + 1;
			}
			while (a + k < l->n && overlaps(&l->e[a + k], lo, hi))
				k++;
			*n = k;
			*e = NULL;
			if (k && !(*e = malloc(k * sizeof(**e)))) {
				pthread_mutex_unlock(&d->mu);
				return -GL_ENOMEM;
			}
			if (k)
				memcpy(*e, &l->e[a], k * sizeof(**e));
			pthread_mutex_unlock(&d->mu);
			return 0;
		}
		pthread_mutex_unlock(&d->mu);
		if ((rc = layout_fetch(d, idx, ahead)))
			return rc;
	}
	return -GL_EAGAIN;
}

/* ---- reads ---- */

/* Reads the committed bytes of [off, off+len) (holes as zeros); ranged: see disk_cc_copy. */
static int read_committed(struct glory_disk *d, uint8_t *buf, uint64_t off, uint64_t len,
			  int ranged)
{
	int rc = 0;

	memset(buf, 0, len);
	for (uint64_t s = off / SLICE; s * SLICE < off + len && !rc; s++) {
		struct gl_ns_extent *e = NULL;
		uint32_t n = 0;
		uint64_t left = (off + len - s * SLICE + SLICE - 1) / SLICE;

		rc = layout_of(d, s, (uint32_t)GL_MIN(left, (uint64_t)LAYOUT_SLICES), off,
			       off + len, &e, &n);
		for (uint32_t i = 0; i < n && !rc; i++) {
			uint64_t a = GL_MAX(off, e[i].off),
				 b = GL_MIN(off + len, e[i].off + e[i].len);

			if (a < b)
				rc = disk_cc_copy(d, &e[i], buf + (a - off),
						  e[i].chunk_off + (uint32_t)(a - e[i].off),
						  (uint32_t)(b - a), ranged);
		}
		free(e);
	}
	return rc;
}

int glory_disk_pread(struct glory_disk *d, void *buf, size_t len, uint64_t off)
{
	return disk_pread(d, buf, len, off, 1);
}

int disk_pread(struct glory_disk *d, void *buf, size_t len, uint64_t off, int ahead)
{
	int rc, ranged;

	if (off > d->size || len > d->size - off)
		return -GL_EINVAL;
	/* a small read away from where the last one ended fetches only its bytes; sequential
	 * (also when concurrent reads arrive a little out of order) and large reads fetch whole
	 * chunks and keep them for the reads that follow */
	pthread_mutex_lock(&d->mu);
	ranged =
	    len < RANGE_MAX && (off + SEQ_WINDOW < d->rd_next || off > d->rd_next + SEQ_WINDOW);
	d->rd_next = off + len;
	pthread_mutex_unlock(&d->mu);
	for (;;) {
		uint64_t gen;

		pthread_mutex_lock(&d->mu);
		gen = d->flush_gen;
		pthread_mutex_unlock(&d->mu);
		if ((rc = read_committed(d, buf, off, len, ranged)))
			return rc;
		pthread_mutex_lock(&d->mu);
		if (d->flush_gen == gen) {
			disk_dirty_overlay(d->fl, buf, off, len);
			disk_dirty_overlay(d->dirty, buf, off, len);
			d->st.reads++;
			pthread_mutex_unlock(&d->mu);
			if (ahead && !ranged && len >= READAHEAD_MIN)
				disk_cc_readahead(d, off + len);
			return 0;
		}
		pthread_mutex_unlock(&d->mu);
	}
}

/* ---- writes ---- */

int glory_disk_pwrite(struct glory_disk *d, const void *buf, size_t len, uint64_t off,
		      unsigned flags)
{
	const uint8_t *p = buf;
	uint64_t done = 0, bytes;
	double now;
	int rc = 0;

	if (d->rdonly)
		return -GL_EPERM;
	if (off > d->size || len > d->size - off)
		return -GL_EINVAL;
	now = disk_mono();
	pthread_mutex_lock(&d->mu);
	while (done < len && !rc) {
		uint64_t at = off + done, n = GL_MIN(len - done, (at / SLICE + 1) * SLICE - at);
		struct dslice *s = disk_dirty_slice(d->dirty, at / SLICE, 1);

		rc = s ? disk_dirty_put(d->dirty, s, at, p + done, (uint32_t)n, 0) : -GL_ENOMEM;
		if (s)
			s->wtime = now;
		done += n;
	}
	if (!d->dirty_since)
		d->dirty_since = now;
	d->st.writes++;
	bytes = d->dirty->bytes;
	if (bytes >= DIRTY_FLUSH)
		pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (rc)
		return rc;
	if (flags & GLORY_DISK_FUA)
		rc = glory_disk_flush(d);
	else if (bytes >= DIRTY_MAX)
		rc = disk_flush_some(d);
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
		struct dslice *s = disk_dirty_slice(d->dirty, i, 0);

		if (s)
			rc = disk_dirty_cut(d->dirty, s, off, off + len);
	}
	pthread_mutex_unlock(&d->mu);
	if (!rc)
		rc = disk_ns_punch(d, off, len);
	pthread_mutex_lock(&d->mu);
	for (uint64_t i = off / SLICE; i * SLICE < off + len; i++) {
		struct lslice *l = disk_lc_find(d, i);

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
	struct dslice *s = ds ? disk_dirty_slice(ds, idx, 0) : NULL;

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

		rc = layout_of(d, s, (uint32_t)GL_MIN(left, (uint64_t)LAYOUT_SLICES), s0, s1, &e,
			       &n);
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
		if (!rc && nv)
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
	if (!(d->dirty = disk_dirty_new())) {
		free(d->cc);
		free(d);
		return -GL_ENOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->flush_mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	pthread_cond_init(&d->cc_cv, NULL);
	pthread_cond_init(&d->pq_cv, NULL);
	if (!d->rdonly && pthread_create(&d->flusher, NULL, disk_flusher, d) == 0)
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
	out->local_reads = gl_sclient_local_reads(glory_vol_glory(d->v)->sc);
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
	disk_cc_stop(d);
	disk_dirty_free(d->dirty);
	disk_lc_drop_all(d, 0);
	pthread_cond_destroy(&d->cv);
	pthread_cond_destroy(&d->cc_cv);
	pthread_cond_destroy(&d->pq_cv);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->flush_mu);
	free(d);
	return rc;
}

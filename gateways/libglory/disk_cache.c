/* libglory: a disk's cache of whole chunks, for sequential and large reads.
 *
 * Up to cc_cap chunks, least recently used out first. A chunk is loaded once however many
 * readers want it at the same time: the first one claims a slot (LOADING) and fetches it, the
 * others wait for it (single flight; before, QD 4 sequential reads of one chunk fetched it up
 * to four times). A large sequential read (>= READAHEAD_MIN bytes, not ranged) also queues the
 * chunks of the next READAHEAD_SLICES slices for a background thread to load, so the reads
 * that follow find them: read-ahead, like the kernel's for a local disk. Small random reads
 * never start it. The cache lives under the disk's mu; cc_cv signals finished loads; a reader
 * copies out of a ready chunk without mu, the chunk pinned meanwhile. A chunk whose bytes lie
 * on this host's data servers (local reads, storage/local.h) is not read ahead, and large reads
 * of it take their bytes from the servers' files straight into the caller's buffer. */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/bufpool.h"
#include "gateways/libglory/disk_internal.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { CC_EMPTY, CC_LOADING, CC_READY };

static struct cchunk *cc_find(struct glory_disk *d, const struct gl_ns_extent *e)
{
	for (uint32_t i = 0; i < d->ncc; i++) {
		struct cchunk *c = &d->cc[i];

		if (c->state != CC_EMPTY && c->pool == e->pool && c->len == e->chunk_len &&
		    !memcmp(c->id, e->chunk, 32))
			return c;
	}
	return NULL;
}

/* A slot for chunk e, marked LOADING: an empty one, else the least recently used ready one
 * (NULL when every slot is loading). mu held. */
static struct cchunk *cc_claim(struct glory_disk *d, const struct gl_ns_extent *e)
{
	struct cchunk *c = NULL;

	if (!d->cc_cap)
		return NULL;
	for (uint32_t i = 0; i < d->ncc && !c; i++)
		if (d->cc[i].state == CC_EMPTY)
			c = &d->cc[i];
	if (!c && d->ncc < d->cc_cap)
		c = &d->cc[d->ncc++];
	for (uint32_t i = 0; i < d->ncc && (!c || c->state == CC_READY); i++)
		if (d->cc[i].state == CC_READY && !d->cc[i].pins && (!c || d->cc[i].used < c->used))
			c = &d->cc[i];
	if (!c)
		return NULL;
	glory_buf_put(c->data);
	c->data = NULL;
	memcpy(c->id, e->chunk, 32);
	c->pool = e->pool;
	c->len = e->chunk_len;
	c->state = CC_LOADING;
	c->used = ++d->cc_clock;
	return c;
}

/* Fetches chunk e into slot c (claimed, LOADING) and wakes its waiters. mu held; dropped while
 * fetching. */
static int cc_load(struct glory_disk *d, struct cchunk *c, const struct gl_ns_extent *e)
{
	uint8_t *buf = glory_buf_get(); /* chunk_len <= GL_CHUNK_MAX: disk_cc_copy checked */
	int rc = buf ? 0 : -GL_ENOMEM;

	pthread_mutex_unlock(&d->mu);
	if (!rc)
		rc = glory_extent_read(glory_vol_glory(d->v), e, 0, 0, 1, buf);
	pthread_mutex_lock(&d->mu);
	d->st.chunk_reads++;
	if (rc) {
		glory_buf_put(buf);
		c->state = CC_EMPTY; /* a waiter tries itself */
	} else {
		c->data = buf;
		c->state = CC_READY;
	}
	pthread_cond_broadcast(&d->cc_cv);
	return rc;
}

/* Fetches chunk e whole and copies [from, from + len) of it. */
static int fetch_part(struct glory_disk *d, const struct gl_ns_extent *e, uint8_t *out,
		      uint32_t from, uint32_t len)
{
	uint8_t *buf = glory_buf_get();
	int rc = buf ? glory_extent_read(glory_vol_glory(d->v), e, 0, 0, 1, buf) : -GL_ENOMEM;

	if (!rc)
		memcpy(out, buf + from, len);
	glory_buf_put(buf);
	return rc;
}

int disk_cc_copy(struct glory_disk *d, const struct gl_ns_extent *e, uint8_t *out, uint32_t from,
		 uint32_t len, int ranged)
{
	struct cchunk *c;
	int rc = 0;

	if (e->chunk_len > GL_CHUNK_MAX || (uint64_t)from + len > e->chunk_len)
		return -GL_EPROTO;
	/* a large read of a chunk on this host's data servers goes straight into out: a cached
	 * copy would cost a copy more and save no round trip (small reads keep the cache: a
	 * copy out of it is cheaper than a block read and its CRC each time) */
	if (!ranged && len >= READAHEAD_MIN && glory_extent_local(glory_vol_glory(d->v), e))
		ranged = 1;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		c = cc_find(d, e);
		if (c && c->state == CC_READY) {
			/* copied without mu (a 1 MiB copy under it held the other readers up) */
			c->pins++;
			c->used = ++d->cc_clock;
			d->st.chunk_hits++;
			pthread_mutex_unlock(&d->mu);
			memcpy(out, c->data + from, len);
			pthread_mutex_lock(&d->mu);
			c->pins--;
			break;
		}
		if (c) { /* being loaded: wait for it */
			pthread_cond_wait(&d->cc_cv, &d->mu);
			continue;
		}
		if (ranged || !(c = cc_claim(d, e))) {
			pthread_mutex_unlock(&d->mu);
			/* just the bytes (ranged), or the whole chunk with no slot to keep it in */
			return ranged
				   ? glory_extent_read(glory_vol_glory(d->v), e, from, len, 0, out)
				   : fetch_part(d, e, out, from, len);
		}
		if ((rc = cc_load(d, c, e)))
			break;
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/* The read-ahead thread: loads the queued chunks not cached yet. */
static void *prefetcher(void *arg)
{
	struct glory_disk *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->closing) {
		struct gl_ns_extent e;
		struct cchunk *c;
		int local;

		if (!d->npq) {
			pthread_cond_wait(&d->pq_cv, &d->mu);
			continue;
		}
		e = d->pq[0];
		memmove(d->pq, d->pq + 1, --d->npq * sizeof(*d->pq));
		if (cc_find(d, &e))
			continue;
		pthread_mutex_unlock(&d->mu);
		local = glory_extent_local(glory_vol_glory(d->v), &e);
		pthread_mutex_lock(&d->mu);
		if (local || d->closing || cc_find(d, &e) || !(c = cc_claim(d, &e)))
			continue; /* a local chunk is read where it lies (disk_cc_copy) */
		if (!cc_load(d, c, &e))
			d->st.readaheads++;
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

void disk_cc_readahead(struct glory_disk *d, uint64_t end)
{
	uint64_t s0 = (end + SLICE - 1) / SLICE;

	pthread_mutex_lock(&d->mu);
	if (!d->cc_cap || d->closing) {
		pthread_mutex_unlock(&d->mu);
		return;
	}
	while (d->pf_started < READAHEAD_THREADS &&
	       pthread_create(&d->pf[d->pf_started], NULL, prefetcher, d) == 0)
		d->pf_started++;
	for (uint64_t s = s0; s < s0 + READAHEAD_SLICES && s * SLICE < d->size; s++) {
		struct lslice *l = disk_lc_find(d, s);

		if (!l || l->n == UINT32_MAX) /* not cached: the read that needs it fetches it */
			break;
		for (uint32_t i = 0; i < l->n && d->npq < PQ_MAX; i++) {
			int queued = 0;

			for (uint32_t k = 0; k < d->npq && !queued; k++)
				queued = d->pq[k].pool == l->e[i].pool &&
					 !memcmp(d->pq[k].chunk, l->e[i].chunk, 32);
			if (!queued && !cc_find(d, &l->e[i]))
				d->pq[d->npq++] = l->e[i];
		}
	}
	if (d->npq)
		pthread_cond_broadcast(&d->pq_cv);
	pthread_mutex_unlock(&d->mu);
}

void disk_cc_stop(struct glory_disk *d)
{
	pthread_mutex_lock(&d->mu);
	d->closing = 1;
	pthread_cond_broadcast(&d->pq_cv);
	pthread_mutex_unlock(&d->mu);
	for (int i = 0; i < d->pf_started; i++)
		pthread_join(d->pf[i], NULL);
	for (uint32_t i = 0; i < d->ncc; i++)
		glory_buf_put(d->cc[i].data);
	free(d->cc);
	d->cc = NULL;
	d->ncc = 0;
}

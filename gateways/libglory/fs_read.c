/* libglory: file data, the read side. A read asks the file's layout (NS_LAYOUT, kept up to a
 * second and dropped by our own commits and at every open) and reads whole chunks, keeping the
 * last one; a small read away from the previous one (not a sequential stream) fetches just its
 * bytes (ranged reads of the data servers). Bytes this handle wrote and has not committed yet
 * are committed first (fs_data.c). A sequential reader that loads a chunk has the next one read
 * in the background into a second buffer of the file, which the read that needs it takes. A
 * large sequential read of a chunk whose bytes are in files on this host (storage/local.h)
 * skips that buffer: it reads straight into the caller's buffer after the file's lock is
 * dropped (one copy instead of two, several such reads at once), and the kernel reads the next
 * chunk's files into the page cache in the background (gl_chunk_warm), as its read-ahead does
 * within one file. (A per-connection chunk cache with read-ahead of 4 chunks into fresh buffers was
 * tried on 2026-12-06 and read slower than this; see docs/performance.md.) */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/bufpool.h"
#include "gateways/libglory/fs_file.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"
#include "storage/client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAYOUT_AHEAD  (64ull * GL_NS_SLICE) /* asked for at once: the shard's bound */
#define LAYOUT_KEEP_S 1.0
#define RANGE_MAX     (1u << 20)   /* smaller reads not near the last one fetch byte ranges */
#define SEQ_WINDOW    (1u << 20)   /* reads starting this close to the last one's end: sequential */
#define STRAIGHT_MIN  (128u << 10) /* sequential reads of local chunks this large: no rbuf */

/* ---- reads ---- */

static int chunk_kept(const struct glory_file *f, const struct gl_ns_extent *e)
{
	return f->rvalid && f->rpool == e->pool && f->rlen == e->chunk_len &&
	       memcmp(f->rid, e->chunk, 32) == 0;
}

int glory_extent_read(struct glory *g, const struct gl_ns_extent *e, uint64_t from, uint64_t len,
		      int whole, uint8_t *out)
{
	struct gl_scheme s;
	struct gl_map m = {0};
	int rc;

	if ((rc = gl_scheme_from_pool(e->pool, &s)))
		return rc;
	if (whole && e->chunk_len > GL_CHUNK_MAX)
		return -GL_EPROTO;
	for (int fresh = 0; fresh < 2; fresh++) {
		if ((rc = glory_map_get(g, &m, fresh)))
			return rc;
		rc = whole ? gl_chunk_read(g->sc, &m, &s, e->chunk, e->chunk_len, out)
			   : gl_chunk_read_range(g->sc, &m, &s, e->chunk, e->chunk_len, from, len,
						 out);
		gl_map_free(&m);
		if (rc != -GL_EUNAVAIL)
			break;
	}
	return rc == -GL_EINVAL ? -GL_EPROTO : rc; /* an extent past its chunk's end */
}

int glory_extent_local(struct glory *g, const struct gl_ns_extent *e)
{
	struct gl_scheme s;
	struct gl_map m = {0};
	int r;

	if (gl_scheme_from_pool(e->pool, &s) || glory_map_get(g, &m, 0))
		return 0;
	r = gl_chunk_local(g->sc, &m, &s, e->chunk);
	gl_map_free(&m);
	return r;
}

void glory_read_stats(struct glory_vol *v, struct glory_read_stats *out)
{
	struct glory *g = glory_vol_glory(v);

	out->straight = atomic_load(&g->reads_straight);
	out->chunk_loads = atomic_load(&g->chunk_loads);
	out->local_reads = gl_sclient_local_reads(g->sc);
}

int glory_extent_warm(struct glory *g, const struct gl_ns_extent *e)
{
	struct gl_scheme s;
	struct gl_map m = {0};
	int rc;

	if ((rc = gl_scheme_from_pool(e->pool, &s)) || (rc = glory_map_get(g, &m, 0)))
		return rc;
	rc = gl_chunk_warm(g->sc, &m, &s, e->chunk, e->chunk_len);
	gl_map_free(&m);
	return rc;
}

/* ---- read-ahead ---- */

struct ahead {
	struct glory_file *f;
	struct gl_ns_extent e;
};

static int ahead_is(const struct glory_file *f, const struct gl_ns_extent *e)
{
	return f->astate != GF_AHEAD_NONE && f->apool == e->pool && f->alen == e->chunk_len &&
	       memcmp(f->aid, e->chunk, 32) == 0;
}

static void *ahead_main(void *arg)
{
	struct ahead *a = arg;
	struct glory_file *f = a->f;
	int rc = glory_extent_read(glory_vol_glory(f->v), &a->e, 0, 0, 1, f->abuf);

	pthread_mutex_lock(&f->lock);
	f->astate = rc ? GF_AHEAD_NONE : GF_AHEAD_LOADED;
	f->threads--;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock); /* the last touch of f: close waits for threads == 0 */
	free(a);
	return NULL;
}

/* Starts reading chunk e into f->abuf in the background, unless a read-ahead is running or
 * has it. Lock held. */
static void ahead_start(struct glory_file *f, const struct gl_ns_extent *e)
{
	struct ahead *a;
	pthread_attr_t at;
	pthread_t th;
	int started = 0;

	if (f->astate == GF_AHEAD_LOADING || ahead_is(f, e) || e->chunk_len > GL_CHUNK_MAX)
		return;
	if (!f->abuf && !(f->abuf = glory_buf_get()))
		return;
	if (!(a = malloc(sizeof(*a))))
		return;
	a->f = f;
	a->e = *e;
	memcpy(f->aid, e->chunk, 32);
	f->apool = e->pool;
	f->alen = e->chunk_len;
	f->astate = GF_AHEAD_LOADING;
	if (pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&th, &at, ahead_main, a) == 0;
		pthread_attr_destroy(&at);
	}
	if (started) {
		f->threads++;
	} else {
		f->astate = GF_AHEAD_NONE;
		free(a);
	}
}

/* After a sequential read that ended at end: the chunk holding the file's bytes after those of
 * the chunk in rbuf is read ahead (if the layout knows it). Lock held. */
static void ahead_next(struct glory_file *f, uint64_t end)
{
	const struct gl_ns_extent *cur = NULL;
	uint64_t next;

	for (uint32_t i = 0; i < f->nlx && !cur; i++)
		if (f->lx[i].off < end && end <= f->lx[i].off + f->lx[i].len &&
		    chunk_kept(f, &f->lx[i]))
			cur = &f->lx[i];
	if (!cur)
		return;
	next = cur->off + cur->len;
	for (uint32_t i = 0; i < f->nlx; i++) {
		const struct gl_ns_extent *e = &f->lx[i];

		if (e->off <= next && next < e->off + e->len) {
			if (!chunk_kept(f, e))
				ahead_start(f, e);
			return;
		}
	}
}

static void *warm_main(void *arg)
{
	struct ahead *a = arg;
	struct glory_file *f = a->f;

	glory_extent_warm(glory_vol_glory(f->v), &a->e);
	pthread_mutex_lock(&f->lock);
	f->threads--;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock); /* the last touch of f: close waits for threads == 0 */
	free(a);
	return NULL;
}

/* After a sequential read straight from local files that ended at end: the kernel reads the
 * chunk after the one holding end into the page cache in the background, once per chunk, so
 * that the reads of it do not wait for the disk (what its read-ahead does within one file).
 * Lock held. */
static void warm_next(struct glory_file *f, uint64_t end)
{
	const struct gl_ns_extent *cur = NULL, *e = NULL;
	struct ahead *a;
	pthread_attr_t at;
	pthread_t th;
	int started = 0;

	for (uint32_t i = 0; i < f->nlx && !cur; i++)
		if (f->lx[i].off < end && end <= f->lx[i].off + f->lx[i].len)
			cur = &f->lx[i];
	for (uint32_t i = 0; cur && i < f->nlx && !e; i++)
		if (f->lx[i].off <= cur->off + cur->len &&
		    cur->off + cur->len < f->lx[i].off + f->lx[i].len)
			e = &f->lx[i];
	if (!e || (f->wvalid && memcmp(f->wid, e->chunk, 32) == 0) || !(a = malloc(sizeof(*a))))
		return;
	a->f = f;
	a->e = *e;
	if (pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&th, &at, warm_main, a) == 0;
		pthread_attr_destroy(&at);
	}
	if (!started) {
		free(a);
		return;
	}
	f->threads++;
	memcpy(f->wid, e->chunk, 32);
	f->wvalid = 1;
}

/* Makes f->rbuf hold chunk e's bytes: the read-ahead's buffer if it has them (waiting for it if
 * it is getting them), else read now. Lock held (dropped while waiting: another reader may
 * replace f->lx then, so e must not point into it). */
static int load_chunk(struct glory_file *f, const struct gl_ns_extent *e)
{
	int rc;

	for (;;) {
		if (chunk_kept(f, e))
			return 0;
		if (f->astate != GF_AHEAD_LOADING || !ahead_is(f, e))
			break;
		pthread_cond_wait(&f->cond, &f->lock);
	}
	if (f->astate == GF_AHEAD_LOADED && ahead_is(f, e)) {
		uint8_t *t = f->rbuf;

		f->rbuf = f->abuf;
		f->abuf = t;
		f->astate = GF_AHEAD_NONE;
		memcpy(f->rid, e->chunk, 32);
		f->rpool = e->pool;
		f->rlen = e->chunk_len;
		f->rvalid = 1;
		return 0;
	}
	if (!f->rbuf && !(f->rbuf = glory_buf_get()))
		return -GL_ENOMEM;
	f->rvalid = 0;
	atomic_fetch_add(&glory_vol_glory(f->v)->chunk_loads, 1);
	if ((rc = glory_extent_read(glory_vol_glory(f->v), e, 0, 0, 1, f->rbuf)))
		return rc;
	memcpy(f->rid, e->chunk, 32);
	f->rpool = e->pool;
	f->rlen = e->chunk_len;
	f->rvalid = 1;
	return 0;
}

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
	pthread_mutex_unlock(&f->lock);
}

int glory_layout(struct glory_vol *v, uint64_t ino, uint64_t off, uint64_t len,
		 struct gl_ns_attr *at, struct gl_ns_extent **xs, uint32_t *nx)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	struct gl_ns_extent *x = NULL;
	uint32_t n = 0;
	int rc;

	glory_vol_msg(v, &a, GL_NS_LAYOUT);
	gl_put_u64(&a, ino);
	gl_put_u64(&a, off);
	gl_put_u64(&a, len);
	rc = glory_vol_md(v, &a, &c, &r, 1);
	gl_wbuf_free(&a);
	if (!rc) {
		gl_ns_attr_get(&r, at);
		n = gl_get_u32(&r);
		if (gl_rbuf_check(&r) || n > 1000000)
			rc = -GL_EPROTO;
		else if (n && !(x = calloc(n, sizeof(*x))))
			rc = -GL_ENOMEM;
	}
	for (uint32_t i = 0; !rc && i < n; i++)
		gl_ns_extent_get(&r, &x[i]);
	if (!rc && gl_rbuf_check(&r))
		rc = -GL_EPROTO;
	gl_rpc_call_done(&c);
	if (rc) {
		free(x);
		return rc;
	}
	*xs = x;
	*nx = n;
	return 0;
}

/* Makes f->lx the layout of a range holding [off, off + len) (as far as the file goes). */
static int layout_get(struct glory_file *f, uint64_t off, size_t len)
{
	struct gl_ns_attr at;
	struct gl_ns_extent *x;
	uint64_t want = len > LAYOUT_AHEAD ? len : LAYOUT_AHEAD;
	uint32_t n;
	int rc;

	if (f->lvalid && off >= f->loff && GL_MIN(off + len, f->lsize) <= f->lend &&
	    mono_s() - f->lat < LAYOUT_KEEP_S)
		return 0;
	f->lvalid = 0;
	if ((rc = glory_layout(f->v, f->ino, off, want, &at, &x, &n)))
		return rc;
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
	return 0;
}

/* The extents of f->lx that overlap [off, end), copied: the read's own, whatever another
 * reader does to f->lx while this one waits for a chunk. *xs is buf, or malloc'd when more. */
static int extents_of(const struct glory_file *f, uint64_t off, uint64_t end,
		      struct gl_ns_extent *buf, uint32_t cap, struct gl_ns_extent **xs,
		      uint32_t *nx)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < f->nlx; i++)
		n += f->lx[i].off < end && off < f->lx[i].off + f->lx[i].len;
	*xs = buf;
	if (n > cap && !(*xs = malloc(n * sizeof(**xs))))
		return -GL_ENOMEM;
	n = 0;
	for (uint32_t i = 0; i < f->nlx; i++)
		if (f->lx[i].off < end && off < f->lx[i].off + f->lx[i].len)
			(*xs)[n++] = f->lx[i];
	*nx = n;
	return 0;
}

ssize_t glory_pread(struct glory_file *f, void *buf, size_t len, uint64_t off)
{
	uint8_t *out = buf;
	uint64_t end = off, size, zeroed = off; /* [off, zeroed): copied or zeroed */
	struct gl_ns_extent few[8], *xs = few;
	struct straight {
		struct gl_ns_extent e;
		uint64_t from, len;
		uint8_t *out;
	} later[8]; /* read after the lock is dropped */
	uint32_t nx = 0, nl = 0;
	int rc, ranged, seq, loaded = 0;

	if (len > LAYOUT_AHEAD)
		len = LAYOUT_AHEAD; /* a short read: the layout answer is bounded */
	pthread_mutex_lock(&f->lock);
	/* our own buffered bytes first: commit them if the read overlaps */
	if (gf_file_dirty_overlap(f, off, len) && (rc = gf_file_flush_locked(f)))
		goto out;
	if ((rc = layout_get(f, off, len)))
		goto out;
	size = f->lsize;
	if (gf_file_dirty_end(f) > size)
		size = gf_file_dirty_end(f); /* our buffered writes (after the read) extend it */
	end = off >= size ? off : GL_MIN(size, off + len);
	seq = off + SEQ_WINDOW >= f->rnext && off <= f->rnext + SEQ_WINDOW;
	ranged = len < RANGE_MAX && !seq;
	f->rnext = end;
	if ((rc = extents_of(f, off, end, few, 8, &xs, &nx)))
		goto out;
	for (uint32_t i = 0; i < nx && !rc; i++) {
		const struct gl_ns_extent *e = &xs[i];
		uint64_t a0 = GL_MAX(e->off, off), a1 = GL_MIN(e->off + e->len, end);
		uint64_t from = e->chunk_off + (a0 - e->off);

		if (a0 >= a1)
			continue;
		if (a0 > zeroed) /* holes read as zeros (extents in any order) */
			memset(out + (zeroed - off), 0, (size_t)(a0 - zeroed));
		zeroed = GL_MAX(zeroed, a1);
		/* a large sequential read of a chunk on this host: straight from its files into
		 * the caller's buffer, after the lock (one copy, and readers in parallel) */
		if (seq && a1 - a0 >= STRAIGHT_MIN && nl < 8 && !chunk_kept(f, e) &&
		    glory_extent_local(glory_vol_glory(f->v), e)) {
			later[nl++] = (struct straight){*e, from, a1 - a0, out + (a0 - off)};
			continue;
		}
		if (ranged && !chunk_kept(f, e)) {
			rc = glory_extent_read(glory_vol_glory(f->v), e, from, a1 - a0, 0,
					       out + (a0 - off));
			continue;
		}
		/* a whole chunk asked for lands in the caller's buffer: no copy, nothing kept */
		if (e->chunk_off == 0 && a0 == e->off && a1 - a0 == e->chunk_len &&
		    !chunk_kept(f, e)) {
			rc = glory_extent_read(glory_vol_glory(f->v), e, 0, 0, 1, out + (a0 - off));
			continue;
		}
		rc = load_chunk(f, e);
		if (!rc)
			memcpy(out + (a0 - off), f->rbuf + from, a1 - a0);
		loaded = 1;
	}
	if (!rc && end > zeroed)
		memset(out + (zeroed - off), 0, (size_t)(end - zeroed));
	if (!rc && seq && loaded && f->rvalid)
		ahead_next(f, end);
	if (!rc && nl)
		warm_next(f, end);
out:
	pthread_mutex_unlock(&f->lock);
	for (uint32_t i = 0; i < nl && !rc; i++) {
		rc = glory_extent_read(glory_vol_glory(f->v), &later[i].e, later[i].from,
				       later[i].len, 0, later[i].out);
		atomic_fetch_add(&glory_vol_glory(f->v)->reads_straight, 1);
	}
	if (xs != few)
		free(xs);
	return rc ? rc : (ssize_t)(end - off);
}

void gf_file_read_fini(struct glory_file *f)
{
	glory_buf_put(f->abuf);
	glory_buf_put(f->rbuf);
	free(f->lx);
}

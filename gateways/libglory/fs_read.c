/* libglory: file data, the read side. A read asks the file's layout (NS_LAYOUT, kept up to a
 * second and dropped by our own commits and at every open) and reads whole chunks, keeping the
 * last one; a small read away from the previous one (not a sequential stream) fetches just its
 * bytes (ranged reads of the data servers). Bytes this handle wrote and has not committed yet
 * are committed first (fs_data.c).
 * (A per-connection chunk cache with read-ahead was tried on 2026-12-06 and read slower than
 * this; see docs/performance.md.) */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/bufpool.h"
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
#define RANGE_MAX     (1u << 20) /* smaller reads not near the last one fetch byte ranges */
#define SEQ_WINDOW    (1u << 20) /* reads starting this close to the last one's end: sequential */

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

/* Makes f->rbuf hold chunk e's bytes. Lock held. */
static int load_chunk(struct glory_file *f, const struct gl_ns_extent *e)
{
	int rc;

	if (chunk_kept(f, e))
		return 0;
	if (!f->rbuf && !(f->rbuf = glory_buf_get()))
		return -GL_ENOMEM;
	f->rvalid = 0;
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

ssize_t glory_pread(struct glory_file *f, void *buf, size_t len, uint64_t off)
{
	uint8_t *out = buf;
	uint64_t end = off, size, zeroed = off; /* [off, zeroed): copied or zeroed */
	int rc, ranged;

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
	ranged = len < RANGE_MAX && (off + SEQ_WINDOW < f->rnext || off > f->rnext + SEQ_WINDOW);
	f->rnext = end;
	for (uint32_t i = 0; i < f->nlx && !rc; i++) {
		const struct gl_ns_extent *e = &f->lx[i];
		uint64_t a0 = GL_MAX(e->off, off), a1 = GL_MIN(e->off + e->len, end);
		uint64_t from = e->chunk_off + (a0 - e->off);

		if (a0 >= a1)
			continue;
		if (a0 > zeroed) /* holes read as zeros (extents in any order) */
			memset(out + (zeroed - off), 0, (size_t)(a0 - zeroed));
		zeroed = GL_MAX(zeroed, a1);
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
	}
	if (!rc && end > zeroed)
		memset(out + (zeroed - off), 0, (size_t)(end - zeroed));
out:
	pthread_mutex_unlock(&f->lock);
	return rc ? rc : (ssize_t)(end - off);
}

void gf_file_read_fini(struct glory_file *f)
{
	glory_buf_put(f->rbuf);
	free(f->lx);
}

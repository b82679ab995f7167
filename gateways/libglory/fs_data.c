/* libglory: file data. Writes gather in a buffer per open file (one contiguous run inside one
 * GL_NS_SLICE of the file); a commit stores the run as one chunk with the volume's redundancy
 * and then commits its extent to the metadata shard (NS_WRITE), which adds the chunk reference
 * in the same raft entry. Reads ask the layout (NS_LAYOUT) and read whole chunks, keeping the
 * last one. */
#include "cluster/rpc.h"
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct glory_file {
	struct glory_vol *v;
	uint64_t ino;
	pthread_mutex_t lock;
	/* the write buffer: [woff, woff + wlen) of the file */
	uint8_t *wbuf;
	uint64_t woff;
	uint32_t wlen;
	uint64_t size; /* as far as we know, with our buffered writes */
	/* the last chunk read */
	uint8_t rid[32];
	uint32_t rpool, rlen;
	uint8_t *rbuf;
	int rvalid;
	int err; /* a failed background commit: reported by the next fsync/close */
	/* the layout of [loff, lend) as last fetched (the file was lsize bytes then): reads
	 * inside it ask the shard nothing. Dropped by our own commits, glory_file_invalidate
	 * (a gateway calls it at every open: close-to-open) and after LAYOUT_KEEP_S. */
	struct gl_ns_extent *lx;
	uint32_t nlx;
	uint64_t loff, lend, lsize;
	double lat;
	int lvalid;
};

#define LAYOUT_AHEAD  (64ull * GL_NS_SLICE) /* asked for at once: the shard's bound */
#define LAYOUT_KEEP_S 1.0

/* ---- storing chunks ---- */

struct store {
	struct glory *g;
	const struct gl_scheme *s;
	struct gl_map map;
	uint8_t *const *data;
	const uint32_t *len;
	const uint8_t (*ids)[32];
	uint8_t *verdict;
};

static int store_one(void *arg, int i)
{
	struct store *st = arg;

	if (st->verdict[i] != GL_PREP_WRITE)
		return 0;
	return glory_chunk_write(st->g, &st->map, st->s, st->ids[i], st->data[i], st->len[i]);
}

int glory_chunks_store(struct glory *g, const struct gl_scheme *s, int n, uint8_t *const *data,
		       const uint32_t *len, const uint8_t (*ids)[32])
{
	struct store st = {g, s, {0}, data, len, ids, NULL};
	uint32_t pool = gl_scheme_pool(s);
	int rc = 0;

	if (n <= 0)
		return 0;
	st.verdict = calloc((size_t)n, 1);
	if (!st.verdict)
		return -GL_ENOMEM;
	for (int attempt = 0;; attempt++) {
		struct gl_rpc_call c;
		struct gl_wbuf a;
		struct gl_rbuf r;
		int retry = 0;

		gl_wbuf_init(&a);
		gl_put_u32(&a, pool);
		gl_put_u32(&a, (uint32_t)n);
		for (int i = 0; i < n; i++) {
			gl_put_bytes(&a, ids[i], 32);
			gl_put_u32(&a, len[i]);
		}
		rc = glory_ms_call(g, GL_MS_CHUNK_PREP, &a, &c);
		if (!rc) {
			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			if (gl_get_u32(&r) != (uint32_t)n)
				rc = -GL_EPROTO;
			for (int i = 0; i < n && !rc; i++) {
				st.verdict[i] = gl_get_u8(&r);
				retry |= st.verdict[i] == GL_PREP_RETRY;
			}
			if (!rc)
				rc = gl_rbuf_check(&r);
		}
		gl_rpc_call_done(&c);
		gl_wbuf_free(&a);
		if (rc || !retry)
			break;
		if (attempt > 100) {
			rc = -GL_EAGAIN;
			break;
		}
		usleep(100 * 1000); /* being garbage collected: wait for it to go */
	}
	if (!rc)
		rc = glory_map_get(g, &st.map, 0);
	if (!rc)
		rc = glory_par_for(n, store_one, &st);
	gl_map_free(&st.map);
	free(st.verdict);
	return rc;
}

/* ---- open, commit ---- */

int glory_open(struct glory_vol *v, uint64_t ino, struct glory_file **out)
{
	struct glory_file *f;
	struct glory_attr at;
	int rc = glory_getattr(v, ino, &at);

	if (rc)
		return rc;
	if (S_ISDIR(at.mode))
		return -GL_EISDIR;
	if (!S_ISREG(at.mode))
		return -GL_EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -GL_ENOMEM;
	f->v = v;
	f->ino = ino;
	f->size = at.size;
	pthread_mutex_init(&f->lock, NULL);
	*out = f;
	return 0;
}

/* Stores the buffered run and commits it. Lock held. */
static int commit_locked(struct glory_file *f)
{
	struct glory *g = glory_vol_glory(f->v);
	uint32_t shard, vol, pool;
	int dedup, rc;
	struct gl_scheme s;
	uint8_t id[1][32];
	uint8_t *data[1];
	uint32_t len[1];
	struct gl_ns_extent e;
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;

	if (f->wlen == 0)
		return 0;
	glory_vol_ids(f->v, &shard, &vol, &pool, &dedup);
	if ((rc = gl_scheme_from_pool(pool, &s)))
		return rc;
	if (!g->idctx) {
		struct gl_map m;

		if ((rc = glory_map_get(g, &m, 1)))
			return rc;
		gl_map_free(&m);
	}
	pthread_mutex_lock(&g->lock);
	if (dedup) {
		rc = gl_chunk_id(g->idctx, f->wbuf, f->wlen, id[0]);
	} else {
		/* no dedup: the keyed hash of the content and a random salt never matches another
		 * chunk */
		uint8_t *tmp = malloc((size_t)f->wlen + 16);

		rc = tmp ? 0 : -GL_ENOMEM;
		if (!rc) {
			memcpy(tmp, f->wbuf, f->wlen);
			if (RAND_bytes(tmp + f->wlen, 16) != 1)
				rc = -GL_EIO;
			if (!rc)
				rc = gl_chunk_id(g->idctx, tmp, (size_t)f->wlen + 16, id[0]);
			free(tmp);
		}
	}
	pthread_mutex_unlock(&g->lock);
	if (rc)
		return rc;
	data[0] = f->wbuf;
	len[0] = f->wlen;
	rc = glory_chunks_store(g, &s, 1, data, len, (const uint8_t(*)[32])id);
	if (rc)
		return rc;
	memset(&e, 0, sizeof(e));
	e.off = f->woff;
	e.len = f->wlen;
	e.pool = pool;
	memcpy(e.chunk, id[0], 32);
	e.chunk_len = f->wlen;
	e.chunk_off = 0;
	glory_vol_msg(f->v, &a, GL_NS_WRITE);
	gl_put_u64(&a, f->ino);
	gl_put_u64(&a, f->woff + f->wlen);
	gl_put_u64(&a, 0); /* mtime: the commit's time */
	gl_put_u32(&a, 1);
	gl_ns_extent_put(&a, &e);
	/* retried on an unknown outcome: putting the same extent twice changes nothing */
	rc = glory_vol_md(f->v, &a, &c, &r, 1);
	if (!rc) {
		struct gl_ns_attr at;

		gl_ns_attr_get(&r, &at);
		if (!gl_rbuf_check(&r) && at.size > f->size)
			f->size = at.size;
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	glory_vol_invalidate(f->v, f->ino);
	f->lvalid = 0;
	if (!rc) {
		f->wlen = 0;
		if (f->rvalid && memcmp(f->rid, id[0], 32) == 0)
			f->rvalid = 0;
	}
	return rc;
}

ssize_t glory_pwrite(struct glory_file *f, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int rc = 0;

	if (off + len > GL_NS_MAX_FILE_SIZE || off + len < off)
		return -GL_EFBIG;
	pthread_mutex_lock(&f->lock);
	while (done < len) {
		uint64_t at = off + done;
		uint64_t slice_end = (at / GL_NS_SLICE + 1) * GL_NS_SLICE;
		size_t n = (size_t)GL_MIN((uint64_t)(len - done), slice_end - at);

		/* the buffer holds one contiguous run inside one slice */
		if (f->wlen &&
		    (at != f->woff + f->wlen || at / GL_NS_SLICE != f->woff / GL_NS_SLICE)) {
			rc = commit_locked(f);
			if (rc)
				break;
		}
		if (!f->wbuf && !(f->wbuf = malloc(GL_NS_SLICE))) {
			rc = -GL_ENOMEM;
			break;
		}
		if (f->wlen == 0)
			f->woff = at;
		memcpy(f->wbuf + (at - f->woff), p + done, n);
		f->wlen += (uint32_t)n;
		done += n;
		if (at + n > f->size)
			f->size = at + n;
		if (f->woff + f->wlen == slice_end) { /* a full slice: store it now */
			rc = commit_locked(f);
			if (rc)
				break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return rc ? rc : (ssize_t)done;
}

int glory_fsync(struct glory_file *f)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = commit_locked(f);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int glory_close(struct glory_file *f)
{
	int rc;

	if (!f)
		return 0;
	rc = glory_fsync(f);
	free(f->wbuf);
	free(f->rbuf);
	free(f->lx);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return rc;
}

uint64_t glory_file_pending_end(struct glory_file *f)
{
	uint64_t n;

	pthread_mutex_lock(&f->lock);
	n = f->wlen ? f->woff + f->wlen : 0;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* ---- reads ---- */

/* Makes f->rbuf hold chunk e's bytes. Lock held. */
static int load_chunk(struct glory_file *f, const struct gl_ns_extent *e)
{
	struct glory *g = glory_vol_glory(f->v);
	struct gl_scheme s;
	struct gl_map m = {0};
	int rc;

	if (f->rvalid && f->rpool == e->pool && f->rlen == e->chunk_len &&
	    memcmp(f->rid, e->chunk, 32) == 0)
		return 0;
	if ((rc = gl_scheme_from_pool(e->pool, &s)))
		return rc;
	if (e->chunk_len > GL_CHUNK_MAX)
		return -GL_EPROTO;
	if (!f->rbuf && !(f->rbuf = malloc(GL_CHUNK_MAX)))
		return -GL_ENOMEM;
	f->rvalid = 0;
	if ((rc = glory_map_get(g, &m, 0)))
		return rc;
	rc = gl_chunk_read(g->sc, &m, &s, e->chunk, e->chunk_len, f->rbuf);
	if (rc == -GL_EUNAVAIL) {
		gl_map_free(&m);
		if (glory_map_get(g, &m, 1) == 0)
			rc = gl_chunk_read(g->sc, &m, &s, e->chunk, e->chunk_len, f->rbuf);
	}
	gl_map_free(&m);
	if (rc)
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

/* Makes f->lx the layout of a range holding [off, off + len) (as far as the file goes). */
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

ssize_t glory_pread(struct glory_file *f, void *buf, size_t len, uint64_t off)
{
	uint8_t *out = buf;
	uint64_t end = off, size;
	int rc;

	if (len > LAYOUT_AHEAD)
		len = LAYOUT_AHEAD; /* a short read: the layout answer is bounded */
	pthread_mutex_lock(&f->lock);
	/* our own buffered bytes first: commit them if the read overlaps */
	if (f->wlen && off < f->woff + f->wlen && off + len > f->woff) {
		rc = commit_locked(f);
		if (rc)
			goto out;
	}
	if ((rc = layout_get(f, off, len)))
		goto out;
	size = f->lsize;
	if (f->wlen && f->woff + f->wlen > size)
		size = f->woff + f->wlen; /* our buffered writes (after the read) extend it */
	end = off >= size ? off : GL_MIN(size, off + len);
	if (end > off)
		memset(out, 0, (size_t)(end - off)); /* holes read as zeros */
	for (uint32_t i = 0; i < f->nlx && !rc; i++) {
		const struct gl_ns_extent *e = &f->lx[i];
		uint64_t a0 = GL_MAX(e->off, off), a1 = GL_MIN(e->off + e->len, end);

		if (a0 >= a1)
			continue;
		rc = load_chunk(f, e);
		if (!rc)
			memcpy(out + (a0 - off), f->rbuf + e->chunk_off + (a0 - e->off), a1 - a0);
	}
out:
	pthread_mutex_unlock(&f->lock);
	return rc ? rc : (ssize_t)(end - off);
}

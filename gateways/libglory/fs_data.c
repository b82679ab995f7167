/* libglory: file data, the write side. Writes gather in a pack per open file: dirty runs (each
 * inside one GL_NS_SLICE of the file) copied one after another into a buffer of up to a chunk.
 * A full pack, or one whose only run reached the end of its slice (sequential writes keep their
 * chunks slice-aligned, so identical files dedup), goes to the background: a thread stores it
 * as one chunk with the volume's redundancy while the next pack fills, then the file's one
 * committer commits its runs as extents of that chunk (NS_WRITE, which adds the chunk
 * references in the same raft entry), packs in the order they were made, several per entry.
 * Up to GF_MAX_INFLIGHT packs per file are out at once; a writer waits for room.
 *
 * Durability: glory_fsync and glory_close return only when every pack made before them is
 * stored and committed, and report the first background failure since the last report (the
 * data of a failed pack is not in the file). Reads of bytes not committed yet wait for the
 * commit (fs_read.c). */
#include "cluster/rpc.h"
#include "common/compiler.h"
#include "common/errors.h"
#include "common/log.h"
#include "gateways/libglory/bufpool.h"
#include "gateways/libglory/fs_file.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"
#include "storage/chunkid.h"
#include "storage/client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ---- open ---- */

int glory_open_attr(struct glory_vol *v, const struct glory_attr *a, struct glory_file **out)
{
	struct glory_file *f;

	if (S_ISDIR(a->mode))
		return -GL_EISDIR;
	if (!S_ISREG(a->mode))
		return -GL_EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -GL_ENOMEM;
	f->v = v;
	f->ino = a->ino;
	f->size = a->size;
	f->jobs_tail = &f->jobs;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*out = f;
	return 0;
}

int glory_open(struct glory_vol *v, uint64_t ino, struct glory_file **out)
{
	struct glory_attr at;
	int rc = glory_getattr(v, ino, &at);

	return rc ? rc : glory_open_attr(v, &at, out);
}

/* ---- the background: store a pack, commit packs in order ---- */

/* Hashes and stores j's chunk. No lock: j is the caller's until it is marked stored. */
static int job_store(struct gf_job *j)
{
	struct glory *g = glory_vol_glory(j->f->v);
	uint32_t shard, vol;
	int dedup, rc;
	struct gl_scheme s;
	uint8_t *data[1] = {j->buf};
	uint32_t len[1] = {j->len};

	glory_vol_ids(j->f->v, &shard, &vol, &j->pool, &dedup);
	if ((rc = gl_scheme_from_pool(j->pool, &s)))
		return rc;
	if ((rc = glory_chunk_hash(g, dedup, j->buf, j->len, j->id)))
		return rc;
	return glory_chunks_store(g, &s, 1, data, len, (const uint8_t(*)[32])j->id);
}

/* Commits the runs of the first n jobs (stored or failed) in one NS_WRITE. No lock: the jobs
 * are the committer's. */
static int jobs_commit(struct glory_file *f, struct gf_job *j, int n, uint64_t *size)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	uint64_t end = 0;
	int64_t mtime = 0;
	uint32_t nx = 0;
	int rc = 0;

	struct gf_job *k = j;

	for (int i = 0; i < n; i++, k = k->next) {
		if (k->state == GF_JOB_FAILED) {
			rc = rc ? rc : k->rc;
			continue;
		}
		nx += k->nruns;
		end = GL_MAX(end, k->end);
		mtime = GL_MAX(mtime, k->mtime_ns);
	}
	if (nx == 0)
		return rc;
	glory_vol_msg(f->v, &a, GL_NS_WRITE);
	gl_put_u64(&a, f->ino);
	gl_put_u64(&a, end);
	gl_put_u64(&a, (uint64_t)mtime); /* when written: what stat showed meanwhile */
	gl_put_u32(&a, nx);
	k = j;
	for (int i = 0; i < n; i++, k = k->next) {
		if (k->state == GF_JOB_FAILED)
			continue;
		for (uint32_t x = 0; x < k->nruns; x++) {
			struct gl_ns_extent e;

			memset(&e, 0, sizeof(e));
			e.off = k->runs[x].off;
			e.len = k->runs[x].len;
			e.pool = k->pool;
			memcpy(e.chunk, k->id, 32);
			e.chunk_len = k->len;
			e.chunk_off = k->runs[x].boff;
			gl_ns_extent_put(&a, &e);
		}
	}
	/* retried on an unknown outcome: putting the same extents again, in the same order,
	 * changes nothing */
	{
		int mrc = glory_vol_md(f->v, &a, &c, &r, 1);

		if (!mrc) {
			struct gl_ns_attr at;

			gl_ns_attr_get(&r, &at);
			if (!gl_rbuf_check(&r))
				*size = at.size;
		}
		gl_rpc_call_done(&c);
		rc = rc ? rc : mrc;
	}
	gl_wbuf_free(&a);
	glory_vol_invalidate(f->v, f->ino);
	return rc;
}

static void job_free(struct gf_job *j)
{
	glory_buf_put(j->buf);
	free(j->runs);
	free(j);
}

/* Commits the stored (or failed) jobs at the head of the queue, oldest first, until the head is
 * still being stored; one committer per file. Lock held (dropped while committing). */
static void commit_ready_locked(struct glory_file *f)
{
	if (f->committing)
		return;
	f->committing = 1;
	for (;;) {
		struct gf_job *j = f->jobs;
		uint32_t nx = 0;
		uint64_t size = 0;
		int n = 0, rc;

		for (struct gf_job *k = j; k && k->state != GF_JOB_STORING; k = k->next) {
			uint32_t kx = k->state == GF_JOB_STORED ? k->nruns : 0;

			if (n && nx + kx > GL_NS_MAX_EXTENTS)
				break;
			nx += kx;
			n++;
		}
		if (n == 0)
			break;
		pthread_mutex_unlock(&f->lock);
		rc = jobs_commit(f, j, n, &size);
		pthread_mutex_lock(&f->lock);
		if (rc && !f->err) {
			gl_warn(
			    "write of inode %llu failed in the background: %s (reported at fsync "
			    "or close)",
			    (unsigned long long)f->ino, gl_strerror(rc));
			f->err = rc;
		}
		if (size > f->size)
			f->size = size;
		f->lvalid = 0;
		f->lgen++;
		while (n-- > 0) {
			struct gf_job *k = f->jobs;

			f->jobs = k->next;
			if (!f->jobs)
				f->jobs_tail = &f->jobs;
			f->njobs--;
			f->done_seq = k->seq;
			job_free(k);
		}
		pthread_cond_broadcast(&f->cond);
	}
	f->committing = 0;
	pthread_cond_broadcast(&f->cond);
}

/* The job's store is done (rc): mark it, and commit what is ready. Lock held. */
static void job_stored_locked(struct gf_job *j, int rc)
{
	j->rc = rc;
	j->state = rc ? GF_JOB_FAILED : GF_JOB_STORED;
	commit_ready_locked(j->f);
}

static void *job_main(void *arg)
{
	struct gf_job *j = arg;
	struct glory_file *f = j->f;
	int rc = job_store(j);

	pthread_mutex_lock(&f->lock);
	job_stored_locked(j, rc);
	f->threads--;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock); /* the last touch of f: close waits for threads == 0 */
	return NULL;
}

/* Hands the pack to the background, waiting while GF_MAX_INFLIGHT packs are out. Lock held
 * (dropped while waiting: the pack may have been handed over by another writer then). */
static int submit_locked(struct glory_file *f)
{
	struct gf_job *j;
	pthread_attr_t at;
	pthread_t th;
	int started = 0;

	while (f->njobs >= GF_MAX_INFLIGHT)
		pthread_cond_wait(&f->cond, &f->lock);
	if (f->nruns == 0)
		return 0;
	if (!(j = calloc(1, sizeof(*j))))
		return -GL_ENOMEM;
	j->f = f;
	j->buf = f->wbuf;
	j->len = f->wlen;
	j->runs = f->runs;
	j->nruns = f->nruns;
	for (uint32_t i = 0; i < j->nruns; i++)
		j->end = GL_MAX(j->end, j->runs[i].off + j->runs[i].len);
	j->seq = ++f->seq;
	j->mtime_ns = f->wtime_ns;
	f->wbuf = NULL;
	f->runs = NULL;
	f->wlen = 0;
	f->nruns = 0;
	*f->jobs_tail = j;
	f->jobs_tail = &j->next;
	f->njobs++;
	if (pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&th, &at, job_main, j) == 0;
		pthread_attr_destroy(&at);
	}
	if (started) {
		f->threads++;
	} else { /* no thread: store it here */
		int rc;

		pthread_mutex_unlock(&f->lock);
		rc = job_store(j);
		pthread_mutex_lock(&f->lock);
		job_stored_locked(j, rc);
	}
	return 0;
}

int gf_file_flush_locked(struct glory_file *f)
{
	uint64_t target;
	int rc = 0;

	while (f->nruns && !rc)
		rc = submit_locked(f);
	target = f->seq;
	while (f->done_seq < target)
		pthread_cond_wait(&f->cond, &f->lock);
	return rc;
}

uint64_t gf_file_dirty_end(struct glory_file *f)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < f->nruns; i++)
		end = GL_MAX(end, f->runs[i].off + f->runs[i].len);
	for (struct gf_job *j = f->jobs; j; j = j->next)
		end = GL_MAX(end, j->end);
	return end;
}

static int runs_overlap(const struct gf_run *r, uint32_t n, uint64_t off, uint64_t end)
{
	for (uint32_t i = 0; i < n; i++)
		if (r[i].off < end && off < r[i].off + r[i].len)
			return 1;
	return 0;
}

int gf_file_dirty_overlap(struct glory_file *f, uint64_t off, uint64_t len)
{
	if (runs_overlap(f->runs, f->nruns, off, off + len))
		return 1;
	for (struct gf_job *j = f->jobs; j; j = j->next)
		if (runs_overlap(j->runs, j->nruns, off, off + len))
			return 1;
	return 0;
}

/* ---- writes ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Adds [at, at + n) (inside one slice) to the pack, or makes room first. Returns the bytes taken
 * (0: room was made, ask again) or an error. Lock held. */
static ssize_t pack_add(struct glory_file *f, const uint8_t *p, size_t n, uint64_t at)
{
	struct gf_run *last = f->nruns ? &f->runs[f->nruns - 1] : NULL;
	uint64_t slice_end = (at / GL_NS_SLICE + 1) * GL_NS_SLICE;
	int cont =
	    last && at == last->off + last->len && at / GL_NS_SLICE == last->off / GL_NS_SLICE;
	size_t m = GL_MIN(n, (size_t)(GL_CHUNK_MAX - f->wlen));
	int rc;

	if (m == 0 || (!cont && f->nruns == GF_MAX_RUNS))
		return (rc = submit_locked(f)) ? rc : 0;
	if (!f->wbuf && !(f->wbuf = glory_buf_get()))
		return -GL_ENOMEM;
	if (!f->runs && !(f->runs = malloc(GF_MAX_RUNS * sizeof(*f->runs))))
		return -GL_ENOMEM;
	if (cont) {
		last->len += (uint32_t)m;
	} else {
		last = &f->runs[f->nruns++];
		last->off = at;
		last->len = (uint32_t)m;
		last->boff = f->wlen;
	}
	memcpy(f->wbuf + f->wlen, p, m);
	f->wlen += (uint32_t)m;
	f->wtime_ns = now_ns();
	if (at + m > f->size)
		f->size = at + m;
	/* full, or one sequential run that reached its slice's end: store it now */
	if (f->wlen == GL_CHUNK_MAX || (f->nruns == 1 && at + m == slice_end))
		if ((rc = submit_locked(f)))
			return rc;
	return (ssize_t)m;
}

ssize_t glory_pwrite(struct glory_file *f, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	size_t done = 0;
	ssize_t rc = 0;

	if (off + len > GL_NS_MAX_FILE_SIZE || off + len < off)
		return -GL_EFBIG;
	pthread_mutex_lock(&f->lock);
	while (done < len) {
		uint64_t at = off + done;
		uint64_t slice_end = (at / GL_NS_SLICE + 1) * GL_NS_SLICE;
		size_t n = (size_t)GL_MIN((uint64_t)(len - done), slice_end - at);

		rc = pack_add(f, p + done, n, at);
		if (rc < 0)
			break;
		done += (size_t)rc;
	}
	pthread_mutex_unlock(&f->lock);
	return rc < 0 ? rc : (ssize_t)done;
}

int glory_fsync(struct glory_file *f)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = gf_file_flush_locked(f);
	if (!rc)
		rc = f->err;
	f->err = 0;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int glory_file_flush(struct glory_file *f)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = gf_file_flush_locked(f);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int glory_close(struct glory_file *f)
{
	int rc;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	rc = gf_file_flush_locked(f);
	if (!rc)
		rc = f->err;
	while (f->threads > 0)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
	gf_file_read_fini(f);
	glory_buf_put(f->wbuf);
	free(f->runs);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return rc;
}

uint64_t glory_file_pending_end(struct glory_file *f)
{
	uint64_t n;

	pthread_mutex_lock(&f->lock);
	n = gf_file_dirty_end(f);
	pthread_mutex_unlock(&f->lock);
	return n;
}

int64_t glory_file_pending_mtime(struct glory_file *f)
{
	int64_t t = 0;

	pthread_mutex_lock(&f->lock);
	if (f->nruns)
		t = f->wtime_ns;
	for (struct gf_job *j = f->jobs; j; j = j->next)
		t = GL_MAX(t, j->mtime_ns);
	pthread_mutex_unlock(&f->lock);
	return t;
}

/* S3 gateway: the body of a GET, with read-ahead. libmicrohttpd's thread for the connection
 * pulls the body in blocks (read_cb); a range longer than one chunk is fetched by a worker
 * thread of its own, a chunk-aligned piece at a time into S3_RA_SLOTS buffers, so that the
 * next chunks are being read from the data servers while this one is sent. A range within one
 * chunk is read in place by the connection's thread (no worker, no extra buffer).
 *
 * Memory: at most S3_RA_SLOTS pieces of S3_RA_UNIT bytes per GET (buffers reused through a
 * small pool); a whole chunk lands in its slot straight from the data servers (glory_pread
 * copies nothing then), so read-ahead costs one copy, as the read in place did. Errors: a failed
 * read is kept in its slot and reported when the connection reaches it (the response is cut, as a
 * mid-stream error always is). A client that goes away early: read_free stops the worker after its
 * current piece and frees everything. */
#include "gateways/s3/s3_server.h"

#include "gateways/libglory/bufpool.h"

#include "common/compiler.h"
#include "common/errors.h"
#include "common/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S3_RA_UNIT  (4ull << 20) /* libglory's chunk size: a piece is one chunk's read */
#define S3_RA_SLOTS 3		 /* the piece being sent and two fetched ahead */

struct ra_slot {
	uint8_t *buf; /* S3_RA_UNIT bytes, from the pool when the worker first uses it */
	uint64_t off; /* file offset of buf[0] */
	size_t n;     /* bytes in buf */
	int rc;	      /* 0, or the -GL_E... of the read that filled it */
};

/* One GET body. f, start and len are set before the worker starts and then read-only. The
 * slots, filled, used, stop and done are guarded by lock: slot k % S3_RA_SLOTS holds piece k;
 * pieces [used, filled) are ready, the worker owns the slot of piece filled while it reads,
 * and the connection's thread owns the slot of piece used while it copies out of it. */
struct reader {
	struct glory_file *f; /* NULL for HEAD: nothing is read */
	uint64_t start, len;
	int threaded;
	pthread_t worker;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a piece filled, a slot freed, or stop */
	struct ra_slot slot[S3_RA_SLOTS];
	uint64_t filled, used;
	int stop, done;
};

/* Reads the piece starting at off (up to the next chunk boundary or the end) into s. */
static void fill_slot(struct reader *rd, struct ra_slot *s, uint64_t off)
{
	uint64_t end = rd->start + rd->len, lim = (off / S3_RA_UNIT + 1) * S3_RA_UNIT;
	ssize_t n;

	s->off = off;
	s->n = 0;
	s->rc = 0;
	if (!s->buf && !(s->buf = glory_buf_get())) {
		s->rc = -GL_ENOMEM;
		return;
	}
	n = glory_pread(rd->f, s->buf, (size_t)(GL_MIN(end, lim) - off), off);
	if (n < 0)
		s->rc = (int)n;
	else if (n == 0)
		s->rc = -GL_EIO; /* the file is shorter than it was at open */
	else
		s->n = (size_t)n;
}

static void *worker_main(void *arg)
{
	struct reader *rd = arg;
	uint64_t off = rd->start, end = rd->start + rd->len;
	int last = 0;

	pthread_mutex_lock(&rd->lock);
	while (!rd->stop && !last) {
		struct ra_slot *s;

		if (rd->filled - rd->used >= S3_RA_SLOTS) {
			pthread_cond_wait(&rd->cond, &rd->lock);
			continue;
		}
		s = &rd->slot[rd->filled % S3_RA_SLOTS];
		pthread_mutex_unlock(&rd->lock);
		fill_slot(rd, s, off);
		off += s->n;
		last = s->rc != 0 || off >= end;
		pthread_mutex_lock(&rd->lock);
		rd->filled++;
		pthread_cond_broadcast(&rd->cond);
	}
	rd->done = 1;
	pthread_mutex_unlock(&rd->lock);
	return NULL;
}

/* The connection's thread: bytes [pos, pos + max) of the range from the slots. */
static ssize_t read_ahead(struct reader *rd, uint64_t pos, char *buf, size_t max)
{
	uint64_t abs = rd->start + pos;
	struct ra_slot *s;
	size_t k;

	pthread_mutex_lock(&rd->lock);
	for (;;) {
		if (rd->used == rd->filled && rd->done) {
			s = NULL; /* asked past what the worker read: never done */
			break;
		}
		if (rd->used == rd->filled) {
			pthread_cond_wait(&rd->cond, &rd->lock);
			continue;
		}
		s = &rd->slot[rd->used % S3_RA_SLOTS];
		if (s->rc || abs < s->off || abs < s->off + s->n)
			break;
		rd->used++; /* sent: its slot can be filled again */
		pthread_cond_broadcast(&rd->cond);
	}
	pthread_mutex_unlock(&rd->lock);
	if (!s || s->rc || abs < s->off) { /* a failed read, or a block asked again */
		gl_warn("GET read at %llu: %s", (unsigned long long)abs,
			glory_strerror(s && s->rc ? s->rc : -GL_EIO));
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	k = (size_t)GL_MIN((uint64_t)max, s->off + s->n - abs);
	memcpy(buf, s->buf + (abs - s->off), k);
	return (ssize_t)k;
}

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct reader *rd = cls;
	ssize_t n;

	if (rd->threaded)
		return read_ahead(rd, pos, buf, max);
	n = rd->f ? glory_pread(rd->f, buf, max, rd->start + pos) : -GL_EIO;
	if (n <= 0) {
		if (n < 0)
			gl_warn("GET read at %llu: %s", (unsigned long long)(rd->start + pos),
				glory_strerror((int)n));
		return MHD_CONTENT_READER_END_WITH_ERROR; /* shorter than it said: cut */
	}
	return n;
}

static void read_free(void *cls)
{
	struct reader *rd = cls;

	if (rd->threaded) {
		pthread_mutex_lock(&rd->lock);
		rd->stop = 1;
		pthread_cond_broadcast(&rd->cond);
		pthread_mutex_unlock(&rd->lock);
		pthread_join(rd->worker, NULL);
	}
	pthread_cond_destroy(&rd->cond);
	pthread_mutex_destroy(&rd->lock);
	for (int i = 0; i < S3_RA_SLOTS; i++)
		glory_buf_put(rd->slot[i].buf);
	if (rd->f)
		glory_close(rd->f);
	free(rd);
}

int s3_get_body(struct s3_req *r, const struct glory_attr *a, uint64_t start, uint64_t len,
		struct MHD_Response **out)
{
	struct reader *rd = calloc(1, sizeof(*rd));
	int rc;

	*out = NULL;
	if (!rd)
		return -S3E_INTERNAL;
	pthread_mutex_init(&rd->lock, NULL);
	pthread_cond_init(&rd->cond, NULL);
	rd->start = start;
	rd->len = len;
	/* HEAD: the length alone (MHD sends no body, so nothing is read) */
	if (strcmp(r->method, "HEAD") && (rc = glory_open_attr(r->vol->v, a, &rd->f))) {
		read_free(rd);
		return s3_from_glory(rc);
	}
	/* more than one chunk: read ahead (without a thread, read in place as before) */
	if (rd->f && start / S3_RA_UNIT != (start + len - 1) / S3_RA_UNIT)
		rd->threaded = pthread_create(&rd->worker, NULL, worker_main, rd) == 0;
	*out = MHD_create_response_from_callback(len, 1u << 20, read_cb, rd, read_free);
	if (!*out) {
		read_free(rd);
		return -S3E_INTERNAL;
	}
	return 0;
}

/* libglory: connection to the master, cluster map cache, blob put/get/rm, status. */
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"

#include "cluster/map.h"
#include "cluster/ms_client.h"
#include "cluster/rpc.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/rpc.h"
#include "storage/chunkid.h"
#include "storage/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAP_MAX_AGE  1.0 /* seconds a cached map is trusted before asking for a newer one */
#define BATCH_CHUNKS 8	 /* chunks hashed, prepared and written together */
#define IO_THREADS   4

void glory_set_progress(struct glory *g, glory_progress_fn fn, void *arg)
{
	g->progress = fn;
	g->progress_arg = arg;
}

double glory_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *glory_strerror(int rc)
{
	return gl_strerror(rc);
}

int glory_errno(int rc)
{
	return gl_to_errno(rc);
}

int glory_ms_call(struct glory *g, uint16_t op, const struct gl_wbuf *a, struct gl_rpc_call *c)
{
	return gl_ms_call(gl_sclient_pool(g->sc), g->master, op, a, c);
}

/* An idctx replaced by a map refresh (a cluster's dedup key does not change in its life, so
 * this is rare): a hash may still be running with it. */
struct idctx_old {
	struct gl_idctx *c;
	struct idctx_old *next;
};

static int refresh_map(struct glory *g)
{
	struct gl_map m;
	int rc;

	rc = gl_ms_get_map(gl_sclient_pool(g->sc), g->master, &m);
	if (rc)
		return rc;
	pthread_mutex_lock(&g->lock);
	if (!g->idctx || memcmp(m.dedup_key, g->map.dedup_key, GL_DEDUP_KEY_LEN) != 0) {
		struct gl_idctx *ic = NULL;

		struct idctx_old *o = g->idctx ? malloc(sizeof(*o)) : NULL;

		rc = gl_idctx_new(m.dedup_key, GL_DEDUP_KEY_LEN, &ic);
		if (!rc && g->idctx && !o)
			rc = -GL_ENOMEM;
		if (!rc) {
			if (o) {
				o->c = g->idctx;
				o->next = g->idctx_old;
				g->idctx_old = o;
			}
			g->idctx = ic;
		} else {
			gl_idctx_free(ic);
			free(o);
		}
	}
	gl_map_free(&g->map);
	g->map = m;
	g->map_time = glory_mono();
	pthread_mutex_unlock(&g->lock);
	return rc;
}

/* A private copy of a fresh-enough map. */
int glory_map_get(struct glory *g, struct gl_map *out, int force)
{
	int rc = 0, stale;

	pthread_mutex_lock(&g->lock);
	stale = force || !g->map.epoch || glory_mono() - g->map_time > MAP_MAX_AGE;
	pthread_mutex_unlock(&g->lock);
	if (stale)
		rc = refresh_map(g);
	if (rc && !g->map.epoch)
		return rc;
	pthread_mutex_lock(&g->lock);
	rc = gl_map_copy(&g->map, out);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

int glory_connect(const char *master, struct glory **out)
{
	struct glory *g;
	int rc;

	if (!master)
		master = getenv("GLORY_MASTER");
	if (!master || !*master)
		return -GL_EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -GL_ENOMEM;
	snprintf(g->master, sizeof(g->master), "%s", master);
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->batch_lock, NULL);
	pthread_mutex_init(&g->inval_lock, NULL);
	g->md_nobatch = getenv("GLORY_MD_NOBATCH") && strcmp(getenv("GLORY_MD_NOBATCH"), "0");
	rc = gl_sclient_new(&g->sc);
	if (!rc)
		rc = refresh_map(g);
	if (!rc && getenv("GLORY_MDCACHE") && strcmp(getenv("GLORY_MDCACHE"), "1") == 0)
		rc = glory_set_cache(g, 1);
	if (!rc && getenv("GLORY_ACCESS_KEY") && getenv("GLORY_SECRET_KEY"))
		rc = glory_set_credentials(g, getenv("GLORY_ACCESS_KEY"),
					   getenv("GLORY_SECRET_KEY"));
	if (rc) {
		glory_disconnect(g);
		return rc;
	}
	*out = g;
	return 0;
}

void glory_disconnect(struct glory *g)
{
	if (!g)
		return;
	glory_fs_shutdown(g);
	gl_sclient_free(g->sc);
	gl_map_free(&g->map);
	gl_idctx_free(g->idctx);
	while (g->idctx_old) {
		struct idctx_old *o = g->idctx_old;

		g->idctx_old = o->next;
		gl_idctx_free(o->c);
		free(o);
	}
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->batch_lock);
	pthread_mutex_destroy(&g->inval_lock);
	free(g);
}

/* ---- a tiny fork/join for chunk-level parallelism ---- */

struct par {
	int n;
	int next;
	pthread_mutex_t lock;
	int (*fn)(void *arg, int i);
	void *arg;
	int rc;
};

static void *par_worker(void *a)
{
	struct par *p = a;

	for (;;) {
		int i, rc;

		pthread_mutex_lock(&p->lock);
		i = p->rc ? p->n : p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		rc = p->fn(p->arg, i);
		if (rc) {
			pthread_mutex_lock(&p->lock);
			if (!p->rc)
				p->rc = rc;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

/* Runs fn(arg, 0..n-1) on up to IO_THREADS threads; returns the first error. */
int glory_par_for(int n, int (*fn)(void *arg, int i), void *arg)
{
	struct par p = {.n = n, .fn = fn, .arg = arg};
	pthread_t th[IO_THREADS];
	int nt = GL_MIN(n, IO_THREADS), started = 0;

	pthread_mutex_init(&p.lock, NULL);
	for (int i = 1; i < nt; i++)
		if (pthread_create(&th[started], NULL, par_worker, &p) == 0)
			started++;
	par_worker(&p);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.lock);
	return p.rc;
}

int glory_chunk_write(struct glory *g, const struct gl_map *m, const struct gl_scheme *s,
		      const uint8_t *id, const void *data, size_t len)
{
	int rc = gl_chunk_write(g->sc, m, s, id, data, len);

	if (rc == -GL_EUNAVAIL) {
		/* the map may have moved on (a server down): retry once with a fresh one */
		struct gl_map fresh;

		if (glory_map_get(g, &fresh, 1) == 0) {
			rc = gl_chunk_write(g->sc, &fresh, s, id, data, len);
			gl_map_free(&fresh);
		}
	}
	return rc;
}

/* ---- put ---- */

struct chunkref {
	uint8_t id[GL_CHUNK_ID_LEN];
	uint32_t len;
};

struct put {
	struct glory *g;
	struct gl_scheme s;
	struct gl_map map;
	uint8_t *buf;	      /* BATCH_CHUNKS x GL_CHUNK_MAX */
	struct chunkref *cur; /* the batch's entries in the blob's list */
	uint8_t verdict[BATCH_CHUNKS];
	int n;
};

int glory_chunk_hash(struct glory *g, int dedup, const void *data, size_t len, uint8_t id[32])
{
	struct gl_idctx *ic;
	int rc;

	if (!dedup)
		return gl_chunk_id_random(id);
	pthread_mutex_lock(&g->lock);
	ic = g->idctx;
	pthread_mutex_unlock(&g->lock);
	if (!ic) {
		struct gl_map m;

		if ((rc = glory_map_get(g, &m, 1)))
			return rc;
		gl_map_free(&m);
		pthread_mutex_lock(&g->lock);
		ic = g->idctx;
		pthread_mutex_unlock(&g->lock);
		if (!ic)
			return -GL_EIO;
	}
	return gl_chunk_id(ic, data, len, id);
}

static int put_hash(void *arg, int i)
{
	struct put *p = arg;

	return gl_chunk_id(p->g->idctx, p->buf + (size_t)i * GL_CHUNK_MAX, p->cur[i].len,
			   p->cur[i].id);
}

static int put_write(void *arg, int i)
{
	struct put *p = arg;

	if (p->verdict[i] != GL_PREP_WRITE)
		return 0;
	return glory_chunk_write(p->g, &p->map, &p->s, p->cur[i].id,
				 p->buf + (size_t)i * GL_CHUNK_MAX, p->cur[i].len);
}

/* Prepares and writes the batch in p (hashes already computed). */
static int put_batch(struct put *p)
{
	uint32_t pool = gl_scheme_pool(&p->s);
	int rc = 0;

	for (int attempt = 0;; attempt++) {
		struct gl_rpc_call c;
		struct gl_wbuf a;
		struct gl_rbuf r;
		int retry = 0;

		gl_wbuf_init(&a);
		gl_put_u32(&a, pool);
		gl_put_u32(&a, (uint32_t)p->n);
		for (int i = 0; i < p->n; i++) {
			gl_put_bytes(&a, p->cur[i].id, GL_CHUNK_ID_LEN);
			gl_put_u32(&a, p->cur[i].len);
		}
		rc = glory_ms_call(p->g, GL_MS_CHUNK_PREP, &a, &c);
		if (!rc) {
			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			if (gl_get_u32(&r) != (uint32_t)p->n)
				rc = -GL_EPROTO;
			for (int i = 0; i < p->n && !rc; i++) {
				p->verdict[i] = gl_get_u8(&r);
				retry |= p->verdict[i] == GL_PREP_RETRY;
			}
			if (!rc)
				rc = gl_rbuf_check(&r);
		}
		gl_rpc_call_done(&c);
		gl_wbuf_free(&a);
		if (rc)
			return rc;
		if (!retry)
			break;
		if (attempt > 100)
			return -GL_EAGAIN;
		usleep(100 * 1000); /* a chunk being garbage collected: wait for it to go */
	}
	gl_map_free(&p->map);
	rc = glory_map_get(p->g, &p->map, 0);
	if (rc)
		return rc;
	return glory_par_for(p->n, put_write, p);
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (uint8_t *)buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Commits the blob record. -GL_EAGAIN with *bad set when a chunk must be written again. */
static int blob_commit(struct glory *g, uint32_t pool, uint64_t size, const struct chunkref *list,
		       uint32_t n, uint8_t *blob, uint32_t *bad)
{
	struct gl_rpc_call c;
	struct gl_wbuf a;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	gl_put_u32(&a, pool);
	gl_put_u64(&a, size);
	gl_put_u32(&a, n);
	for (uint32_t i = 0; i < n; i++) {
		gl_put_bytes(&a, list[i].id, GL_CHUNK_ID_LEN);
		gl_put_u32(&a, list[i].len);
	}
	rc = glory_ms_call(g, GL_MS_BLOB_PUT, &a, &c);
	gl_rbuf_init(&r, c.rargs, c.rargs_len);
	if (rc == 0)
		gl_get_copy(&r, blob, GL_CHUNK_ID_LEN);
	else if (rc == -GL_EAGAIN)
		*bad = gl_get_u32(&r);
	if (gl_rbuf_check(&r) && (rc == 0 || rc == -GL_EAGAIN))
		rc = -GL_EPROTO;
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

struct src {
	int fd;
	const uint8_t *mem;
	size_t mem_len;
	size_t off;
};

static ssize_t src_read(struct src *s, void *buf, size_t len)
{
	if (s->fd >= 0)
		return read_full(s->fd, buf, len);
	len = GL_MIN(len, s->mem_len - s->off);
	if (len)
		memcpy(buf, s->mem + s->off, len);
	s->off += len;
	return (ssize_t)len;
}

/* Re-reads chunk i of the source (for a commit that lost a chunk). */
static int src_reread(struct src *s, uint32_t i, uint8_t *buf, size_t len)
{
	off_t off = (off_t)i * GL_CHUNK_MAX;

	if (s->fd < 0) {
		memcpy(buf, s->mem + off, len);
		return 0;
	}
	if (pread(s->fd, buf, len, off) != (ssize_t)len)
		return -GL_EAGAIN;
	return 0;
}

static int blob_put(struct glory *g, struct src *src, const char *redundancy, char id[GLORY_ID_HEX])
{
	struct put p = {.g = g};
	struct chunkref *list = NULL;
	uint32_t n = 0, cap = 0, bad = 0;
	uint64_t size = 0;
	uint8_t blob[GL_CHUNK_ID_LEN];
	int rc, eof = 0;

	rc = gl_scheme_parse(redundancy ? redundancy : "ec:4+2", &p.s);
	if (rc)
		return rc;
	p.buf = malloc((size_t)BATCH_CHUNKS * GL_CHUNK_MAX);
	if (!p.buf)
		return -GL_ENOMEM;
	rc = glory_map_get(g, &p.map, 0);
	while (!rc && !eof) {
		p.n = 0;
		if (cap < n + BATCH_CHUNKS) {
			struct chunkref *nl = realloc(list, (cap + 256) * sizeof(*nl));

			if (!nl) {
				rc = -GL_ENOMEM;
				break;
			}
			list = nl;
			cap += 256;
		}
		while (p.n < BATCH_CHUNKS) {
			ssize_t got =
			    src_read(src, p.buf + (size_t)p.n * GL_CHUNK_MAX, GL_CHUNK_MAX);

			if (got < 0) {
				rc = gl_from_errno(errno);
				break;
			}
			if (got == 0) {
				eof = 1;
				break;
			}
			list[n + (uint32_t)p.n].len = (uint32_t)got;
			size += (uint64_t)got;
			p.n++;
			if ((size_t)got < GL_CHUNK_MAX) {
				eof = 1;
				break;
			}
		}
		if (rc || !p.n)
			break;
		if (n + (uint32_t)p.n > GL_BLOB_MAX_CHUNKS) {
			rc = -GL_E2BIG;
			break;
		}
		p.cur = list + n;
		rc = glory_par_for(p.n, put_hash, &p);
		if (!rc)
			rc = put_batch(&p);
		n += (uint32_t)p.n;
		if (!rc && g->progress)
			g->progress(g->progress_arg, size, 0);
	}
	for (int attempt = 0; !rc; attempt++) {
		rc = blob_commit(g, gl_scheme_pool(&p.s), size, list, n, blob, &bad);
		if (rc != -GL_EAGAIN || attempt >= 5 || bad >= n)
			break;
		/* a chunk we counted on was garbage collected meanwhile: write it again */
		p.cur = list + bad;
		p.n = 1;
		rc = src_reread(src, bad, p.buf, list[bad].len);
		if (!rc)
			rc = put_batch(&p);
	}
	if (!rc)
		gl_id_hex(blob, id);
	gl_map_free(&p.map);
	free(p.buf);
	free(list);
	return rc;
}

int glory_blob_put(struct glory *g, const void *buf, size_t len, const char *redundancy,
		   char id[GLORY_ID_HEX])
{
	struct src s = {.fd = -1, .mem = buf, .mem_len = len};

	return blob_put(g, &s, redundancy, id);
}

int glory_blob_put_fd(struct glory *g, int fd, const char *redundancy, char id[GLORY_ID_HEX])
{
	struct src s = {.fd = fd};

	return blob_put(g, &s, redundancy, id);
}

/* ---- get ---- */

struct blobrec {
	struct gl_scheme s;
	uint64_t size, refs;
	uint32_t n;
	struct chunkref *list;
};

static int blob_lookup(struct glory *g, const char *hex, struct blobrec *b)
{
	uint8_t id[GL_CHUNK_ID_LEN];
	struct gl_rpc_call c;
	struct gl_wbuf a;
	struct gl_rbuf r;
	uint64_t sum = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = gl_id_parse(hex, id);
	if (rc)
		return rc;
	gl_wbuf_init(&a);
	gl_put_bytes(&a, id, GL_CHUNK_ID_LEN);
	rc = glory_ms_call(g, GL_MS_BLOB_GET, &a, &c);
	gl_wbuf_free(&a);
	if (rc)
		goto out;
	gl_rbuf_init(&r, c.rargs, c.rargs_len);
	rc = gl_scheme_from_pool(gl_get_u32(&r), &b->s);
	b->size = gl_get_u64(&r);
	b->refs = gl_get_u64(&r);
	b->n = gl_get_u32(&r);
	if (rc || gl_rbuf_check(&r) || gl_rbuf_left(&r) != (size_t)b->n * 36) {
		rc = -GL_EPROTO;
		goto out;
	}
	b->list = calloc(b->n ? b->n : 1, sizeof(*b->list));
	if (!b->list) {
		rc = -GL_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < b->n; i++) {
		gl_get_copy(&r, b->list[i].id, GL_CHUNK_ID_LEN);
		b->list[i].len = gl_get_u32(&r);
		if (b->list[i].len == 0 || b->list[i].len > GL_CHUNK_MAX)
			rc = -GL_EPROTO;
		sum += b->list[i].len;
	}
	if (!rc && sum != b->size)
		rc = -GL_EPROTO;
out:
	gl_rpc_call_done(&c);
	return rc;
}

struct get {
	struct glory *g;
	struct blobrec *b;
	struct gl_map map;
	uint8_t *buf; /* batch buffer, or the caller's memory (direct) */
	int direct;
	uint32_t first;
};

static int get_one(void *arg, int i)
{
	struct get *p = arg;
	const struct chunkref *c = &p->b->list[p->first + (uint32_t)i];
	uint8_t *dst =
	    p->buf + (size_t)(p->direct ? p->first + (uint32_t)i : (uint32_t)i) * GL_CHUNK_MAX;
	int rc;

	rc = gl_chunk_read(p->g->sc, &p->map, &p->b->s, c->id, c->len, dst);
	if (rc == -GL_EUNAVAIL) {
		struct gl_map fresh;

		if (glory_map_get(p->g, &fresh, 1) == 0) {
			rc = gl_chunk_read(p->g->sc, &fresh, &p->b->s, c->id, c->len, dst);
			gl_map_free(&fresh);
		}
	}
	return rc;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, (const uint8_t *)buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return gl_from_errno(errno);
		done += (size_t)w;
	}
	return 0;
}

static int blob_get(struct glory *g, const char *hex, int fd, uint8_t *mem)
{
	struct blobrec b;
	struct get p = {.g = g, .b = &b};
	int rc;

	rc = blob_lookup(g, hex, &b);
	if (rc)
		goto out;
	/* into the caller's memory directly, or through a batch buffer to fd */
	p.direct = mem != NULL;
	p.buf = mem ? mem : malloc((size_t)BATCH_CHUNKS * GL_CHUNK_MAX);
	if (!p.buf) {
		rc = -GL_ENOMEM;
		goto out;
	}
	rc = glory_map_get(g, &p.map, 0);
	for (uint32_t i = 0; !rc && i < b.n; i += BATCH_CHUNKS) {
		int n = (int)GL_MIN((uint32_t)BATCH_CHUNKS, b.n - i);

		p.first = i;
		rc = glory_par_for(n, get_one, &p);
		for (int j = 0; !rc && !mem && j < n; j++)
			rc = write_full(fd, p.buf + (size_t)j * GL_CHUNK_MAX,
					b.list[i + (uint32_t)j].len);
		if (!rc && g->progress)
			g->progress(g->progress_arg,
				    GL_MIN((uint64_t)(i + (uint32_t)n) * GL_CHUNK_MAX, b.size),
				    b.size);
	}
out:
	gl_map_free(&p.map);
	if (!p.direct)
		free(p.buf);
	free(b.list);
	return rc;
}

int glory_blob_get_fd(struct glory *g, const char *id, int fd)
{
	return blob_get(g, id, fd, NULL);
}

int glory_blob_get(struct glory *g, const char *id, void **buf, size_t *len)
{
	uint64_t size;
	char red[16];
	uint64_t refs;
	uint8_t *mem;
	int rc;

	rc = glory_blob_stat(g, id, &size, red, sizeof(red), &refs);
	if (rc)
		return rc;
	mem = malloc(size ? size : 1);
	if (!mem)
		return -GL_ENOMEM;
	rc = blob_get(g, id, -1, mem);
	if (rc) {
		free(mem);
		return rc;
	}
	*buf = mem;
	*len = size;
	return 0;
}

int glory_blob_stat(struct glory *g, const char *id, uint64_t *size, char *redundancy, size_t cap,
		    uint64_t *refs)
{
	struct blobrec b;
	int rc = blob_lookup(g, id, &b);

	if (!rc) {
		if (size)
			*size = b.size;
		if (refs)
			*refs = b.refs;
		if (redundancy)
			gl_scheme_format(&b.s, redundancy, cap);
	}
	free(b.list);
	return rc;
}

int glory_blob_rm(struct glory *g, const char *hex)
{
	uint8_t id[GL_CHUNK_ID_LEN];
	struct gl_rpc_call c;
	struct gl_wbuf a;
	int rc;

	rc = gl_id_parse(hex, id);
	if (rc)
		return rc;
	gl_wbuf_init(&a);
	gl_put_bytes(&a, id, GL_CHUNK_ID_LEN);
	rc = glory_ms_call(g, GL_MS_BLOB_RM, &a, &c);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* ---- status ---- */

int glory_status(struct glory *g, struct glory_status **out)
{
	struct glory_status *s = calloc(1, sizeof(*s));
	struct gl_rpc_call c;
	struct gl_rbuf r;
	struct gl_map m = {0};
	int rc;

	if (!s)
		return -GL_ENOMEM;
	rc = glory_ms_call(g, GL_MS_STATUS, NULL, &c);
	if (rc)
		goto out;
	gl_rbuf_init(&r, c.rargs, c.rargs_len);
	rc = gl_map_decode(&r, &m);
	if (rc)
		goto out;
	s->epoch = m.epoch;
	s->nservers = (int)m.n;
	s->servers = calloc(m.n ? m.n : 1, sizeof(*s->servers));
	if (!s->servers) {
		rc = -GL_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < m.n; i++) {
		struct glory_server_status *o = &s->servers[i];
		struct gl_ds_stats st;

		gl_ds_stats_get(&r, &st);
		o->id = m.ds[i].id;
		snprintf(o->addr, sizeof(o->addr), "%s", m.ds[i].addr);
		snprintf(o->rack, sizeof(o->rack), "%s", m.ds[i].rack);
		snprintf(o->host, sizeof(o->host), "%s", m.ds[i].host);
		o->state = gl_ds_state_name(m.ds[i].state);
		o->since = m.ds[i].since;
		o->cap_total = m.ds[i].cap_total;
		o->cap_avail = m.ds[i].cap_avail;
		o->used = m.ds[i].used;
		o->nfrags = st.nfrags;
		o->repair_passes = st.pass;
		o->checked = st.checked;
		o->degraded = st.degraded;
		o->rebuilding = st.rebuilding;
		o->rebuilt = st.rebuilt;
		o->rebuilt_bytes = st.rebuilt_bytes;
		o->moved = st.moved;
		o->removed = st.removed;
		o->corrupt = st.corrupt;
		o->scrubbed = st.scrubbed;
		if (m.ds[i].state == GL_DS_UP) {
			s->degraded += st.degraded;
			s->rebuilding += st.rebuilding;
		}
	}
	s->blobs = gl_get_u64(&r);
	s->chunks = gl_get_u64(&r);
	s->logical_bytes = gl_get_u64(&r);
	s->chunk_bytes = gl_get_u64(&r);
	s->gc_pending = gl_get_u64(&r);
	rc = gl_rbuf_check(&r);
out:
	gl_rpc_call_done(&c);
	gl_map_free(&m);
	if (rc) {
		glory_status_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void glory_status_free(struct glory_status *s)
{
	if (!s)
		return;
	free(s->servers);
	free(s);
}

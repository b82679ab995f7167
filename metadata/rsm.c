/* Replicated state machine over libraft 0.22 + libuv + RocksDB (contract: metadata/rsm.h). */
#include "metadata/rsm.h"
#include "metadata/rsm_internal.h"

#include "common/errors.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define HDR_LEN                                                                                    \
	24 /* u64 proposer id, u64 sequence, u64 op length; then op, zero padded                   \
		    to a multiple of 8 (libraft 0.22 requires it) */
#define DESC_MAGIC	 0x50534e47u /* "GNSP" */
#define MAX_SNAP_FILES	 4096
#define STATUS_MS	 50
#define RSM_MAX_INFLIGHT 2	    /* entries proposed and not yet applied (GLORY_RSM_INFLIGHT) */
#define RSM_MAX_BATCH	 256	    /* records per entry */
#define RSM_MAX_ENTRY	 (4u << 20) /* bytes per entry (one record may be larger) */
/* Lease reads (rsm.h): how long after issuing a barrier that then committed the leader answers
 * reads from its own state, when the lease is renewed while reads keep coming, and how long a
 * new leader answers no read at all. */
#define LEASE_READ_S  0.15
#define LEASE_RENEW_S 0.10 /* renew when less than this is left */
#define READ_HOLD_S   0.5

struct waiter {
	pthread_cond_t cv; /* signalled when done: only its own thread wakes */
	uint64_t seq;
	int done, status, abandoned;
	struct gl_wbuf *reply; /* the caller's, valid while not abandoned */
	struct waiter *next;   /* in the table, or in a barrier group */
};

enum job_type { JOB_PROPOSE, JOB_FENCE, JOB_ADD, JOB_REMOVE };

struct job {
	enum job_type type;
	struct waiter *w;
	uint8_t *data; /* raft_malloc'd entry (header + op) */
	size_t len;
	struct gl_rsm_member m;
	struct job *next;
};

struct change {
	struct raft_change req;
	struct gl_rsm *r;
	struct waiter *w;
	uint64_t id;
	int step; /* add: 0 = added as spare, then assigned voter */
};

struct apply_req {
	struct raft_apply req;
	struct gl_rsm *r;
	unsigned n;	/* records (proposals) in the entry */
	uint64_t seq[]; /* their sequence numbers */
};

struct gl_rsm {
	struct gl_rsm_cfg cfg;
	char dir[4096];
	char raft_addr[64];
	/* database */
	pthread_rwlock_t dblock; /* readers vs. a snapshot install swapping db */
	rocksdb_t *db;
	rocksdb_options_t *dbopt;
	rocksdb_writeoptions_t *wopt;
	rocksdb_readoptions_t *ropt;
	uint64_t applied;     /* stored "\0applied" (loop thread): entries done */
	uint32_t applied_sub; /* and records of entry applied + 1 done */
	/* raft, loop thread only */
	uv_loop_t loop;
	uv_async_t async;
	uv_timer_t timer;
	struct raft_uv_transport transport;
	struct raft_io io;
	struct raft_fsm fsm;
	struct raft raft;
	struct raft *rafp; /* &raft, or a raft_fixture member's (tests) */
	int raft_started, closing;
	struct raft_barrier barrier;
	struct waiter *fence_now, *fence_next; /* in flight, waiting for the next */
	int fence_busy;
	double barrier_at;		    /* when the barrier in flight was issued */
	uint64_t barrier_term;		    /* and in which term */
	struct job *pending, *pending_tail; /* proposals not yet in an entry */
	unsigned inflight, max_inflight;    /* entries proposed, not yet applied here */
	pthread_t thread;
	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct job *jobs, *jobs_tail;
	struct waiter *waiters; /* proposals of ours not yet applied */
	uint64_t next_seq;
	struct gl_rsm_status st; /* refreshed by the loop every STATUS_MS */
	struct gl_rsm_member leader;
	double lease_until; /* reads are answered without a barrier until then (lease reads) */
	double lease_used;  /* the last read answered so */
	uint64_t lead_term; /* the last term this member was seen leading */
	double lead_since;  /* when it was first seen leading lead_term */
	int started, start_rc, stopped;
	struct gl_rpc_pool *pool;
};

/* ---- small helpers ---- */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void deadline_ts(int timeout_ms, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int gl_rsm_parse_members(const char *s, struct gl_rsm_member *out, int cap, int *n)
{
	*n = 0;
	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char one[128], *at, *end, check[64];
		unsigned long long id;

		if (len == 0 || len >= sizeof(one) || *n >= cap)
			return -GL_EINVAL;
		memcpy(one, s, len);
		one[len] = 0;
		at = strchr(one, '@');
		if (!at || at == one || strlen(at + 1) >= sizeof(out->rpc_addr) ||
		    gl_rsm_raft_addr(at + 1, check, sizeof(check)))
			return -GL_EINVAL;
		*at = 0;
		errno = 0;
		id = strtoull(one, &end, 10);
		if (errno || *end || id == 0)
			return -GL_EINVAL;
		for (int i = 0; i < *n; i++)
			if (out[i].id == id)
				return -GL_EINVAL;
		out[*n].id = id;
		snprintf(out[*n].rpc_addr, sizeof(out[*n].rpc_addr), "%s", at + 1);
		(*n)++;
		s = comma ? comma + 1 : NULL;
	}
	return *n ? 0 : -GL_EINVAL;
}

int gl_rsm_raft_addr(const char *rpc_addr, char *out, size_t cap)
{
	const char *colon = strrchr(rpc_addr, ':');
	char *end;
	long port;

	if (!colon || colon == rpc_addr)
		return -GL_EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port >= 65535)
		return -GL_EINVAL;
	if ((size_t)snprintf(out, cap, "%.*s:%ld", (int)(colon - rpc_addr), rpc_addr, port + 1) >=
	    cap)
		return -GL_EINVAL;
	return 0;
}

static int rpc_of_raft(const char *raft_addr, char *out, size_t cap)
{
	const char *colon = strrchr(raft_addr, ':');
	long port;

	if (!colon)
		return -GL_EINVAL;
	port = strtol(colon + 1, NULL, 10);
	if (port < 2)
		return -GL_EINVAL;
	snprintf(out, cap, "%.*s:%ld", (int)(colon - raft_addr), raft_addr, port - 1);
	return 0;
}

static int rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[4352];

	if (!d)
		return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		rm_rf(p);
	}
	closedir(d);
	return rmdir(path);
}

static void fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* ---- the database ---- */

/* Bloom filters, in the tables and the memtable: most reads of an apply look for a key that is
 * not there yet (a new name, a request not seen before). */
rocksdb_options_t *gl_rsm_db_options(void)
{
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();

	rocksdb_options_set_create_if_missing(o, 1);
	rocksdb_block_based_options_set_filter_policy(t,
						      rocksdb_filterpolicy_create_bloom_full(10));
	rocksdb_options_set_block_based_table_factory(o, t);
	rocksdb_block_based_options_destroy(t);
	rocksdb_options_set_memtable_prefix_bloom_size_ratio(o, 0.02);
	rocksdb_options_set_memtable_whole_key_filtering(o, 1);
	return o;
}

static int db_open(struct gl_rsm *r)
{
	char path[4200], *err = NULL;
	size_t vl;
	char *v;

	snprintf(path, sizeof(path), "%s/db", r->dir);
	r->db = rocksdb_open(r->dbopt, path, &err);
	if (err) {
		gl_error("rsm: cannot open %s: %s", path, err);
		rocksdb_free(err);
		return -GL_EDB;
	}
	v = rocksdb_get(r->db, r->ropt, GL_RSM_APPLIED_KEY, GL_RSM_APPLIED_KLEN, &vl, &err);
	if (err) {
		rocksdb_free(err);
		return -GL_EDB;
	}
	r->applied = v && vl >= 8 ? gl_rd64((const uint8_t *)v) : 0;
	r->applied_sub = v && vl == 12 ? gl_rd32((const uint8_t *)v + 8) : 0;
	rocksdb_free(v);
	return 0;
}

/* ---- waiters ---- */

static struct waiter *waiter_new(void)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w)
		pthread_cond_init(&w->cv, NULL);
	return w;
}

static void waiter_free(struct waiter *w)
{
	if (!w)
		return;
	pthread_cond_destroy(&w->cv);
	free(w);
}

static void waiter_finish(struct gl_rsm *r, struct waiter *w, int status)
{
	/* lock held */
	(void)r;
	if (w->done)
		return;
	w->done = 1;
	w->status = status;
	if (w->abandoned)
		waiter_free(w);
	else
		pthread_cond_signal(&w->cv);
}

static struct waiter *waiter_take(struct gl_rsm *r, uint64_t seq)
{
	/* lock held: removes and returns the waiter of seq */
	for (struct waiter **pp = &r->waiters; *pp; pp = &(*pp)->next) {
		if ((*pp)->seq == seq) {
			struct waiter *w = *pp;

			*pp = w->next;
			w->next = NULL;
			return w;
		}
	}
	return NULL;
}

/* Waits until w is done or the deadline; returns its status, or -GL_ETIMEDOUT (then w is left
 * to whoever finishes it). Lock held. */
static int waiter_wait(struct gl_rsm *r, struct waiter *w, int timeout_ms)
{
	struct timespec ts;
	int rc;

	deadline_ts(timeout_ms, &ts);
	while (!w->done) {
		if (pthread_cond_timedwait(&w->cv, &r->lock, &ts) == ETIMEDOUT && !w->done) {
			w->abandoned = 1;
			w->reply = NULL;
			return -GL_ETIMEDOUT;
		}
	}
	rc = w->status;
	waiter_free(w);
	return rc;
}

/* ---- the FSM ---- */

/* One record of an entry, applied: reads see every earlier record's writes. The stored applied
 * position goes in the same batch: the entry's index after its last record, else the previous
 * index and the records done so far (a restart in the middle of an entry resumes after them). */
static void apply_record(struct gl_rsm *r, uint64_t index, uint32_t k, int last, const uint8_t *rec,
			 size_t oplen)
{
	uint64_t proposer = gl_rd64(rec), seq = gl_rd64(rec + 8);
	rocksdb_writebatch_t *wb;
	struct gl_wbuf reply;
	struct waiter *w = NULL;
	uint8_t pos[12];
	char *err = NULL;
	int status;

	if (proposer == r->cfg.id) {
		pthread_mutex_lock(&r->lock);
		w = waiter_take(r, seq);
		pthread_mutex_unlock(&r->lock);
	}
	if (index <= r->applied || (index == r->applied + 1 && k < r->applied_sub)) {
		/* replayed after a restart: already in the database */
		if (w) {
			pthread_mutex_lock(&r->lock);
			waiter_finish(r, w, -GL_ETIMEDOUT);
			pthread_mutex_unlock(&r->lock);
		}
		return;
	}
	gl_wbuf_init(&reply);
	wb = rocksdb_writebatch_create();
	status = r->cfg.sm->apply(r->cfg.sm->ctx, r->db, wb, rec + HDR_LEN, oplen, &reply);
	if (status)
		rocksdb_writebatch_clear(wb);
	gl_le64(pos, last ? index : index - 1);
	gl_le32(pos + 8, k + 1);
	rocksdb_writebatch_put(wb, GL_RSM_APPLIED_KEY, GL_RSM_APPLIED_KLEN, (char *)pos,
			       last ? 8 : 12);
	rocksdb_write(r->db, r->wopt, wb, &err);
	rocksdb_writebatch_destroy(wb);
	if (err) {
		/* the state machine cannot skip an entry: stopping is the only safe answer */
		gl_error("rsm: cannot write entry %" PRIu64 " to the database: %s; stopping", index,
			 err);
		abort();
	}
	r->applied = last ? index : index - 1;
	r->applied_sub = last ? 0 : k + 1;
	if (w) {
		pthread_mutex_lock(&r->lock);
		if (!w->abandoned && w->reply && !reply.err)
			gl_put_bytes(w->reply, reply.p, reply.len);
		waiter_finish(r, w, reply.err ? reply.err : status);
		pthread_mutex_unlock(&r->lock);
	}
	gl_wbuf_free(&reply);
}

/* An entry is one or more records (rsm.h: batching), each HDR_LEN + op padded to 8. */
static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct gl_rsm *r = fsm->data;
	uint64_t index = raft_last_applied(r->rafp) + 1;
	const uint8_t *p = buf->base, *end = p + buf->len;
	uint32_t n = 0, k = 0;

	*result = NULL;
	rocksdb_set_perf_level(rocksdb_disable); /* thread-local: no counters on the hot path */
	/* count first: the applied position must know which record is the last */
	for (const uint8_t *q = p; end - q >= HDR_LEN; n++) {
		uint64_t oplen = gl_rd64(q + 16);

		if (oplen > (uint64_t)(end - q) - HDR_LEN)
			break; /* malformed: never written by us */
		q += (HDR_LEN + oplen + 7) & ~(uint64_t)7;
	}
	if (n == 0)
		return 0; /* not ours: nothing to do, but never stop the log */
	for (; k < n; k++) {
		uint64_t oplen = gl_rd64(p + 16);

		apply_record(r, index, k, k + 1 == n, p, (size_t)oplen);
		p += (HDR_LEN + oplen + 7) & ~(uint64_t)7;
	}
	return 0;
}

/* Snapshot descriptor: u32 magic, u64 raft index, u64 db applied, str rpc addr, str checkpoint
 * name, u32 n, n x (str file, u64 size). */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct gl_rsm *r = fsm->data;
	uint64_t index = raft_last_applied(r->rafp);
	char base[4200], path[4300], name[32], *err = NULL;
	rocksdb_checkpoint_t *cp;
	struct gl_wbuf d;
	struct dirent *e;
	DIR *dd;
	uint32_t nfiles = 0;
	size_t nat;
	double t0 = mono();

	snprintf(base, sizeof(base), "%s/snap", r->dir);
	mkdir(base, 0755);
	snprintf(name, sizeof(name), "%020" PRIu64, index);
	snprintf(path, sizeof(path), "%s/%s", base, name);
	rm_rf(path);
	cp = rocksdb_checkpoint_object_create(r->db, &err);
	if (!err)
		rocksdb_checkpoint_create(cp, path, 0, &err);
	if (cp)
		rocksdb_checkpoint_object_destroy(cp);
	if (err) {
		gl_error("rsm: checkpoint at %" PRIu64 " failed: %s", index, err);
		rocksdb_free(err);
		return RAFT_IOERR;
	}
	gl_wbuf_init(&d);
	gl_put_u32(&d, DESC_MAGIC);
	gl_put_u64(&d, index);
	gl_put_u64(&d, r->applied);
	gl_put_str(&d, r->cfg.rpc_addr);
	gl_put_str(&d, name);
	nat = d.len;
	gl_put_u32(&d, 0);
	dd = opendir(path);
	while (dd && (e = readdir(dd))) {
		struct stat sb;
		char fp[4400];

		if (e->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "%.4100s/%.255s", path, e->d_name);
		if (stat(fp, &sb) || !S_ISREG(sb.st_mode))
			continue;
		gl_put_str(&d, e->d_name);
		gl_put_u64(&d, (uint64_t)sb.st_size);
		nfiles++;
	}
	if (dd)
		closedir(dd);
	if (d.err || !dd) {
		gl_wbuf_free(&d);
		return RAFT_NOMEM;
	}
	gl_le32(d.p + nat, nfiles);
	*bufs = raft_malloc(sizeof(**bufs));
	if (!*bufs) {
		gl_wbuf_free(&d);
		return RAFT_NOMEM;
	}
	(*bufs)[0].base = raft_malloc(d.len);
	if (!(*bufs)[0].base) {
		raft_free(*bufs);
		gl_wbuf_free(&d);
		return RAFT_NOMEM;
	}
	memcpy((*bufs)[0].base, d.p, d.len);
	(*bufs)[0].len = d.len;
	*n_bufs = 1;
	gl_wbuf_free(&d);

	/* keep the two newest checkpoints */
	dd = opendir(base);
	if (dd) {
		char names[64][32];
		int n = 0;

		while ((e = readdir(dd)) && n < 64)
			if (strlen(e->d_name) == 20 && strcmp(e->d_name, name) < 0)
				snprintf(names[n++], sizeof(names[0]), "%.31s", e->d_name);
		closedir(dd);
		for (int i = 0; i < n; i++) {
			int newer = 0;

			for (int j = 0; j < n; j++)
				newer += strcmp(names[j], names[i]) > 0;
			if (newer >= 1) { /* not the newest older one */
				snprintf(path, sizeof(path), "%.4200s/%.31s", base, names[i]);
				rm_rf(path);
			}
		}
	}
	pthread_mutex_lock(&r->lock);
	r->st.snapshot_index = index;
	pthread_mutex_unlock(&r->lock);
	gl_info("rsm: snapshot at index %" PRIu64 " (%u files) in %.3f s", index, nfiles,
		mono() - t0);
	return 0;
}

static long fetch_rpc(struct gl_rsm *r, const char *addr, uint64_t snap, const char *file,
		      uint64_t off, void *buf, size_t cap)
{
	struct gl_rpc_call c = {.opcode = GL_RSM_OP_SNAP_READ};
	struct gl_wbuf a;
	long n;
	int rc;

	if (!r->pool && gl_rpc_pool_new(3000, &r->pool))
		return -GL_ENOMEM;
	gl_wbuf_init(&a);
	gl_put_u64(&a, snap);
	gl_put_str(&a, file);
	gl_put_u64(&a, off);
	gl_put_u32(&a, (uint32_t)cap);
	c.args = a.p;
	c.args_len = (uint32_t)a.len;
	c.rbuf = buf;
	c.rbuf_cap = cap;
	rc = a.err ? a.err : gl_rpc_pool_call(r->pool, addr, &c, 30000);
	gl_wbuf_free(&a);
	if (rc) {
		gl_rpc_call_done(&c);
		return rc;
	}
	n = (long)c.rbulk_len;
	if ((size_t)n > cap)
		n = -GL_EPROTO;
	else if (c.rbulk != buf)
		memcpy(buf, c.rbulk, (size_t)n);
	gl_rpc_call_done(&c);
	return n;
}

/* A piece of one of our own checkpoints (a restart whose database is behind our own latest
 * snapshot: nobody else needs to be asked, and our RPC server is not up yet). */
static long read_local(struct gl_rsm *r, uint64_t snap, const char *file, uint64_t off, void *buf,
		       size_t cap)
{
	char path[4400];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%.4000s/snap/%020" PRIu64 "/%.255s", r->dir, snap, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gl_from_errno(errno);
	n = pread(fd, buf, cap, (off_t)off);
	close(fd);
	return n < 0 ? gl_from_errno(errno) : (long)n;
}

/* Fetches checkpoint files into dir/snap-in. 0 or -GL_E... */
static int fetch_checkpoint(struct gl_rsm *r, const char *addr, uint64_t snap,
			    struct gl_rbuf *files, uint32_t nfiles)
{
	char in[4200], fp[4400];
	uint8_t *buf = malloc(GL_RSM_SNAP_PIECE);
	uint64_t total = 0;
	int rc = 0, self = strcmp(addr, r->cfg.rpc_addr) == 0;

	if (!buf)
		return -GL_ENOMEM;
	snprintf(in, sizeof(in), "%s/snap-in", r->dir);
	rm_rf(in);
	if (mkdir(in, 0755)) {
		free(buf);
		return gl_from_errno(errno);
	}
	for (uint32_t i = 0; i < nfiles && !rc; i++) {
		char file[256];
		uint64_t size, off = 0;
		int fd;

		gl_get_str(files, file, sizeof(file));
		size = gl_get_u64(files);
		if (gl_rbuf_check(files) || strchr(file, '/') || file[0] == '.') {
			rc = -GL_EPROTO;
			break;
		}
		snprintf(fp, sizeof(fp), "%.4100s/%.255s", in, file);
		fd = open(fp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = gl_from_errno(errno);
			break;
		}
		while (off < size && !rc) {
			size_t want = size - off < GL_RSM_SNAP_PIECE ? (size_t)(size - off)
								     : GL_RSM_SNAP_PIECE;
			long n = r->cfg.fetch ? r->cfg.fetch(r->cfg.fetch_arg, addr, snap, file,
							     off, buf, want)
				 : self	      ? read_local(r, snap, file, off, buf, want)
					      : fetch_rpc(r, addr, snap, file, off, buf, want);

			if (n < 0)
				rc = (int)n;
			else if (n == 0)
				rc = -GL_EPROTO; /* shorter than announced */
			else if (pwrite(fd, buf, (size_t)n, (off_t)off) != n)
				rc = gl_from_errno(errno);
			else
				off += (uint64_t)n;
		}
		if (!rc && fsync(fd))
			rc = gl_from_errno(errno);
		close(fd);
		total += off;
	}
	free(buf);
	if (!rc)
		fsync_dir(in);
	gl_info("rsm: fetched checkpoint %" PRIu64 " from %s: %u files, %" PRIu64 " bytes: %s",
		snap, addr, nfiles, total, rc ? gl_strerror(rc) : "ok");
	return rc;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct gl_rsm *r = fsm->data;
	char addr[64], name[32], db[4200], old[4200], in[4200];
	uint64_t index, db_applied;
	uint32_t nfiles;
	struct gl_rbuf d;
	double t0 = mono();
	int rc;

	/* on an error libraft keeps buf; on success it is ours to free */
	gl_rbuf_init(&d, buf->base, buf->len);
	if (gl_get_u32(&d) != DESC_MAGIC)
		return RAFT_MALFORMED;
	index = gl_get_u64(&d);
	db_applied = gl_get_u64(&d);
	gl_get_str(&d, addr, sizeof(addr));
	gl_get_str(&d, name, sizeof(name));
	nfiles = gl_get_u32(&d);
	if (gl_rbuf_check(&d) || nfiles > MAX_SNAP_FILES)
		return RAFT_MALFORMED;
	if (db_applied <= r->applied) {
		/* our database already holds it (a restart): keep it */
		raft_free(buf->base);
		return 0;
	}
	if (strcmp(addr, r->cfg.rpc_addr) == 0)
		gl_warn("rsm: our database (applied %" PRIu64
			") is behind our own snapshot %" PRIu64 " (applied %" PRIu64
			"): restoring it from our checkpoint",
			r->applied, index, db_applied);
	else
		gl_info("rsm: installing snapshot %" PRIu64 " (applied %" PRIu64 ", ours %" PRIu64
			") from %s",
			index, db_applied, r->applied, addr);
	rc = fetch_checkpoint(r, addr, index, &d, nfiles);
	if (rc)
		return RAFT_IOERR; /* libraft tries again later */
	raft_free(buf->base);
	snprintf(db, sizeof(db), "%s/db", r->dir);
	snprintf(old, sizeof(old), "%s/db.old", r->dir);
	snprintf(in, sizeof(in), "%s/snap-in", r->dir);
	pthread_rwlock_wrlock(&r->dblock);
	rocksdb_close(r->db);
	r->db = NULL;
	rm_rf(old);
	rc = rename(db, old) || rename(in, db) ? gl_from_errno(errno) : 0;
	fsync_dir(r->dir);
	if (!rc)
		rc = db_open(r);
	if (rc) {
		gl_error("rsm: cannot swap in the snapshot: %s; stopping", gl_strerror(rc));
		abort();
	}
	pthread_rwlock_unlock(&r->dblock);
	rm_rf(old);
	if (r->cfg.sm->reset)
		r->cfg.sm->reset(r->cfg.sm->ctx, r->db);
	pthread_mutex_lock(&r->lock);
	r->st.snapshot_index = index;
	pthread_mutex_unlock(&r->lock);
	gl_info("rsm: snapshot %" PRIu64 " installed in %.2f s, applied index %" PRIu64, index,
		mono() - t0, r->applied);
	return 0;
}

static void fsm_fill(struct gl_rsm *r)
{
	r->fsm.version = 1;
	r->fsm.data = r;
	r->fsm.apply = fsm_apply;
	r->fsm.snapshot = fsm_snapshot;
	r->fsm.restore = fsm_restore;
	r->rafp = &r->raft;
}

/* ---- loop thread ---- */

static void propose_pending(struct gl_rsm *r);

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	struct apply_req *a = (struct apply_req *)req;
	struct gl_rsm *r = a->r;

	(void)result;
	if (status) {
		pthread_mutex_lock(&r->lock);
		for (unsigned i = 0; i < a->n; i++) {
			/* still in the table: not applied here; maybe appended (outcome unknown) */
			struct waiter *w = waiter_take(r, a->seq[i]);

			if (w)
				waiter_finish(r, w,
					      status == RAFT_NOTLEADER ? -GL_ENOTLEADER
								       : -GL_ETIMEDOUT);
		}
		pthread_mutex_unlock(&r->lock);
	}
	free(a);
	r->inflight--;
	propose_pending(r);
}

static void fence_issue(struct gl_rsm *r, int renew);

static void barrier_cb(struct raft_barrier *req, int status)
{
	struct gl_rsm *r = req->data;
	struct waiter *w;

	pthread_mutex_lock(&r->lock);
	/* a majority took an entry of our term issued at barrier_at: no other leader can answer
	 * anything before barrier_at + READ_HOLD_S (rsm.h, lease reads) */
	if (status == 0 && raft_current_term(&r->raft) == r->barrier_term &&
	    r->barrier_at + LEASE_READ_S > r->lease_until)
		r->lease_until = r->barrier_at + LEASE_READ_S;
	w = r->fence_now;
	r->fence_now = NULL;
	while (w) {
		struct waiter *next = w->next;

		waiter_finish(r, w, status == 0 ? 0 : -GL_ENOTLEADER);
		w = next;
	}
	pthread_mutex_unlock(&r->lock);
	r->fence_busy = 0;
	fence_issue(r, 0);
}

/* Loop thread: notes when this member starts leading a term (the read hold counts from then). */
static void note_leader(struct gl_rsm *r)
{
	uint64_t term = raft_current_term(&r->raft);

	pthread_mutex_lock(&r->lock);
	if (raft_state(&r->raft) != RAFT_LEADER) {
		r->lease_until = 0;
	} else if (term != r->lead_term) {
		r->lead_term = term;
		r->lead_since = mono();
		r->lease_until = 0;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Issues a barrier for the readers waiting, or (renew) for none, to extend the lease. */
static void fence_issue(struct gl_rsm *r, int renew)
{
	int rv;

	if (r->fence_busy || r->closing)
		return;
	pthread_mutex_lock(&r->lock);
	r->fence_now = r->fence_next;
	r->fence_next = NULL;
	pthread_mutex_unlock(&r->lock);
	if (!r->fence_now && !renew)
		return;
	note_leader(r);
	if (raft_state(&r->raft) != RAFT_LEADER) {
		rv = RAFT_NOTLEADER;
	} else {
		r->barrier.data = r;
		r->barrier_at = mono();
		r->barrier_term = raft_current_term(&r->raft);
		rv = raft_barrier(&r->raft, &r->barrier, barrier_cb);
	}
	if (rv == 0) {
		r->fence_busy = 1;
		return;
	}
	pthread_mutex_lock(&r->lock);
	for (struct waiter *w = r->fence_now, *next; w; w = next) {
		next = w->next;
		waiter_finish(r, w, -GL_ENOTLEADER);
	}
	r->fence_now = NULL;
	pthread_mutex_unlock(&r->lock);
}

static void change_cb(struct raft_change *req, int status)
{
	struct change *c = req->data;
	struct gl_rsm *r = c->r;

	if (status == 0 && c->step == 0) {
		c->step = 1;
		c->req.data = c;
		status = raft_assign(&r->raft, &c->req, c->id, RAFT_VOTER, change_cb);
		if (status == 0)
			return;
	}
	pthread_mutex_lock(&r->lock);
	waiter_finish(r, c->w,
		      status == 0		 ? 0
		      : status == RAFT_NOTLEADER ? -GL_ENOTLEADER
						 : -GL_EUNAVAIL);
	pthread_mutex_unlock(&r->lock);
	if (status)
		gl_warn("rsm: membership change of %" PRIu64 " failed: %s", c->id,
			raft_strerror(status));
	free(c);
}

static void fail_job(struct gl_rsm *r, struct job *j, int rc)
{
	pthread_mutex_lock(&r->lock);
	if (waiter_take(r, j->w->seq) == j->w)
		waiter_finish(r, j->w, rc);
	pthread_mutex_unlock(&r->lock);
	raft_free(j->data);
	free(j);
}

/* Proposals waiting while RSM_MAX_INFLIGHT entries are in flight go out together, as the
 * records of one entry (up to RSM_MAX_BATCH of them): under load one raft round, one log write
 * and one message per follower serve many operations. */
static void propose_pending(struct gl_rsm *r)
{
	while (r->pending && r->inflight < r->max_inflight && !r->closing) {
		struct job *j = r->pending, *last = j;
		struct apply_req *a;
		struct raft_buffer b;
		unsigned n = 1;
		size_t len = j->len;
		int rv;

		while (last->next && n < RSM_MAX_BATCH && len + last->next->len <= RSM_MAX_ENTRY) {
			last = last->next;
			len += last->len;
			n++;
		}
		r->pending = last->next;
		if (!r->pending)
			r->pending_tail = NULL;
		last->next = NULL;
		if (raft_state(&r->raft) != RAFT_LEADER) {
			/* libraft 0.22's raft_apply does not check leadership itself */
			for (struct job *next; j; j = next) {
				next = j->next;
				fail_job(r, j, -GL_ENOTLEADER);
			}
			continue;
		}
		a = calloc(1, sizeof(*a) + n * sizeof(a->seq[0]));
		b.len = len;
		b.base = n == 1 ? j->data : raft_malloc(len);
		if (!a || !b.base) {
			if (b.base && b.base != j->data)
				raft_free(b.base);
			free(a);
			for (struct job *next; j; j = next) {
				next = j->next;
				fail_job(r, j, -GL_ENOMEM);
			}
			continue;
		}
		a->r = r;
		a->n = n;
		a->req.data = a;
		len = 0;
		n = 0;
		for (struct job *next; j; j = next) {
			next = j->next;
			a->seq[n++] = j->w->seq;
			if (b.base != j->data) {
				memcpy((uint8_t *)b.base + len, j->data, j->len);
				raft_free(j->data);
			}
			len += j->len;
			free(j);
		}
		/* libraft 0.22 owns the buffer from here on, even when it fails */
		rv = raft_apply(&r->raft, &a->req, &b, 1, apply_cb);
		if (rv) {
			pthread_mutex_lock(&r->lock);
			for (unsigned i = 0; i < a->n; i++) {
				struct waiter *w = waiter_take(r, a->seq[i]);

				if (w)
					waiter_finish(r, w,
						      rv == RAFT_NOTLEADER ? -GL_ENOTLEADER
									   : -GL_EUNAVAIL);
			}
			pthread_mutex_unlock(&r->lock);
			free(a);
			continue;
		}
		r->inflight++;
	}
}

static void run_job(struct gl_rsm *r, struct job *j)
{
	int rv = 0;

	if (j->type == JOB_FENCE) {
		pthread_mutex_lock(&r->lock);
		j->w->next = r->fence_next;
		r->fence_next = j->w;
		pthread_mutex_unlock(&r->lock);
		fence_issue(r, 0);
	} else {
		struct change *c = calloc(1, sizeof(*c));
		char ra[64];

		if (!c || raft_state(&r->raft) != RAFT_LEADER) {
			rv = c ? RAFT_NOTLEADER : RAFT_NOMEM;
			free(c);
		} else {
			c->r = r;
			c->w = j->w;
			c->id = j->m.id;
			c->req.data = c;
			if (j->type == JOB_ADD) {
				if (gl_rsm_raft_addr(j->m.rpc_addr, ra, sizeof(ra)))
					rv = RAFT_INVALID;
				else
					rv = raft_add(&r->raft, &c->req, c->id, ra, change_cb);
			} else {
				c->step = 1;
				rv = raft_remove(&r->raft, &c->req, c->id, change_cb);
			}
			if (rv)
				free(c);
		}
		if (rv) {
			pthread_mutex_lock(&r->lock);
			waiter_finish(r, j->w,
				      rv == RAFT_NOTLEADER			   ? -GL_ENOTLEADER
				      : rv == RAFT_DUPLICATEID || rv == RAFT_BADID ? -GL_EEXIST
										   : -GL_EINVAL);
			pthread_mutex_unlock(&r->lock);
		}
	}
	free(j);
}

static void refresh_status(struct gl_rsm *r)
{
	struct gl_rsm_status st = {0};
	struct gl_rsm_member leader = {0};
	const char *laddr = NULL;
	raft_id lid = 0;
	int state = raft_state(&r->raft);

	st.id = r->cfg.id;
	st.term = raft_current_term(&r->raft);
	st.commit_index = raft_commit_index(&r->raft);
	st.applied_index = raft_last_applied(&r->raft);
	st.last_index = raft_last_index(&r->raft);
	st.role = state == RAFT_LEADER	    ? "leader"
		  : state == RAFT_FOLLOWER  ? "follower"
		  : state == RAFT_CANDIDATE ? "candidate"
					    : "unavailable";
	raft_leader(&r->raft, &lid, &laddr);
	st.leader_id = lid;
	if (lid && laddr) {
		leader.id = lid;
		rpc_of_raft(laddr, leader.rpc_addr, sizeof(leader.rpc_addr));
	}
	for (unsigned i = 0; i < r->raft.configuration.n && i < GL_RSM_MAX_MEMBERS; i++) {
		const struct raft_server *s = &r->raft.configuration.servers[i];

		st.members[i].id = s->id;
		rpc_of_raft(s->address, st.members[i].rpc_addr, sizeof(st.members[i].rpc_addr));
		st.voter[i] = s->role == RAFT_VOTER;
		st.nmembers++;
	}
	pthread_mutex_lock(&r->lock);
	st.snapshot_index = r->st.snapshot_index;
	r->st = st;
	r->leader = leader;
	pthread_mutex_unlock(&r->lock);
}

static void on_timer(uv_timer_t *t)
{
	struct gl_rsm *r = t->data;
	int renew;

	refresh_status(r);
	note_leader(r);
	/* keep the lease while reads keep coming */
	pthread_mutex_lock(&r->lock);
	renew = mono() - r->lease_used < 1.0 && r->lease_until - mono() < LEASE_RENEW_S;
	pthread_mutex_unlock(&r->lock);
	if (renew && raft_state(&r->raft) == RAFT_LEADER)
		fence_issue(r, 1);
}

static void close_cb(struct raft *raft)
{
	struct gl_rsm *r = raft->data;

	raft_uv_close(&r->io);
	raft_uv_tcp_close(&r->transport);
	uv_close((uv_handle_t *)&r->async, NULL);
	uv_close((uv_handle_t *)&r->timer, NULL);
}

static void on_async(uv_async_t *h)
{
	struct gl_rsm *r = h->data;
	struct job *jobs;

	pthread_mutex_lock(&r->lock);
	jobs = r->jobs;
	r->jobs = r->jobs_tail = NULL;
	pthread_mutex_unlock(&r->lock);
	while (jobs) {
		struct job *next = jobs->next;

		if (r->closing) {
			pthread_mutex_lock(&r->lock);
			waiter_take(r, jobs->w->seq);
			waiter_finish(r, jobs->w, -GL_ECLOSED);
			pthread_mutex_unlock(&r->lock);
			if (jobs->type == JOB_PROPOSE)
				raft_free(jobs->data);
			free(jobs);
		} else if (jobs->type == JOB_PROPOSE) {
			jobs->next = NULL;
			if (r->pending_tail)
				r->pending_tail->next = jobs;
			else
				r->pending = jobs;
			r->pending_tail = jobs;
		} else {
			run_job(r, jobs);
		}
		jobs = next;
	}
	if (r->closing) {
		while (r->pending) {
			struct job *j = r->pending;

			r->pending = j->next;
			fail_job(r, j, -GL_ECLOSED);
		}
		r->pending_tail = NULL;
	}
	propose_pending(r);
	if (r->closing == 1) {
		r->closing = 2;
		uv_timer_stop(&r->timer);
		if (r->raft_started)
			raft_close(&r->raft, close_cb);
		else
			close_cb(&r->raft);
	}
}

/* Whether another socket holds the IPv4 address "H:P" (libraft's listen error has no message). */
static int addr_taken(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	size_t hl = colon ? (size_t)(colon - addr) : 0;
	struct sockaddr_in sin;
	char host[64];
	int fd, taken;

	if (!colon || hl >= sizeof(host))
		return 0;
	memcpy(host, addr, hl);
	host[hl] = 0;
	if (uv_ip4_addr(host, atoi(colon + 1), &sin))
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	taken = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno == EADDRINUSE;
	close(fd);
	return taken;
}

static int loop_start(struct gl_rsm *r)
{
	char raftdir[4200];
	struct raft_configuration conf;
	int rv;

	snprintf(raftdir, sizeof(raftdir), "%s/raft", r->dir);
	if (mkdir(raftdir, 0755) && errno != EEXIST)
		return gl_from_errno(errno);
	uv_loop_init(&r->loop);
	uv_async_init(&r->loop, &r->async, on_async);
	r->async.data = r;
	uv_timer_init(&r->loop, &r->timer);
	r->timer.data = r;
	r->transport.version = 1; /* the caller's to fill (raft/uv.h) */
	r->transport.data = r;
	rv = raft_uv_tcp_init(&r->transport, &r->loop);
	if (!rv)
		rv = raft_uv_init(&r->io, &r->loop, raftdir, &r->transport);
	if (rv) {
		gl_error("rsm: raft I/O in %s: %s", raftdir, raft_strerror(rv));
		return -GL_EIO;
	}
	fsm_fill(r);
	rv = raft_init(&r->raft, &r->io, &r->fsm, r->cfg.id, r->raft_addr);
	if (rv) {
		gl_error("rsm: raft_init: %s", raft_strerror(rv));
		return -GL_EIO;
	}
	r->raft.data = r;
	raft_set_election_timeout(&r->raft, r->cfg.election_ms ? r->cfg.election_ms : 1000);
	raft_set_heartbeat_timeout(&r->raft, r->cfg.heartbeat_ms ? r->cfg.heartbeat_ms : 100);
	raft_set_snapshot_threshold(&r->raft,
				    r->cfg.snapshot_threshold ? r->cfg.snapshot_threshold : 8192);
	raft_set_snapshot_trailing(&r->raft,
				   r->cfg.snapshot_trailing ? r->cfg.snapshot_trailing : 2048);
	raft_set_pre_vote(&r->raft, true);
	if (r->cfg.nboot > 0) {
		raft_configuration_init(&conf);
		for (int i = 0; i < r->cfg.nboot && !rv; i++) {
			char ra[64];

			rv = gl_rsm_raft_addr(r->cfg.boot[i].rpc_addr, ra, sizeof(ra))
				 ? RAFT_INVALID
				 : raft_configuration_add(&conf, r->cfg.boot[i].id, ra, RAFT_VOTER);
		}
		if (!rv)
			rv = raft_bootstrap(&r->raft, &conf);
		raft_configuration_close(&conf);
		if (rv && rv != RAFT_CANTBOOTSTRAP) {
			gl_error("rsm: bootstrap: %s", raft_strerror(rv));
			return -GL_EIO;
		}
		if (rv == 0)
			gl_info("rsm: bootstrapped a group of %d", r->cfg.nboot);
	}
	rv = raft_start(&r->raft);
	if (rv) {
		if (addr_taken(r->raft_addr))
			gl_error(
			    "rsm: the raft address %s (the --listen port + 1) is in use by another "
			    "process; stop it or serve on other ports",
			    r->raft_addr);
		else
			gl_error("rsm: raft_start: %s (%s; %s)", raft_strerror(rv),
				 raft_errmsg(&r->raft), r->io.errmsg);
		return -GL_EIO;
	}
	r->raft_started = 1;
	uv_timer_start(&r->timer, on_timer, 0, STATUS_MS);
	return 0;
}

static void *loop_main(void *arg)
{
	struct gl_rsm *r = arg;
	int rc = loop_start(r);

	pthread_mutex_lock(&r->lock);
	r->started = 1;
	r->start_rc = rc;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		r->closing = 2;
		uv_close((uv_handle_t *)&r->async, NULL);
		uv_close((uv_handle_t *)&r->timer, NULL);
	}
	uv_run(&r->loop, UV_RUN_DEFAULT);
	uv_loop_close(&r->loop);
	pthread_mutex_lock(&r->lock);
	r->stopped = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- public ---- */

static void rsm_free(struct gl_rsm *r)
{
	if (r->db)
		rocksdb_close(r->db);
	if (r->dbopt)
		rocksdb_options_destroy(r->dbopt);
	if (r->wopt)
		rocksdb_writeoptions_destroy(r->wopt);
	if (r->ropt)
		rocksdb_readoptions_destroy(r->ropt);
	if (r->pool)
		gl_rpc_pool_free(r->pool);
	pthread_rwlock_destroy(&r->dblock);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cv);
	free(r);
}

int gl_rsm_open(const struct gl_rsm_cfg *cfg, struct gl_rsm **out)
{
	struct gl_rsm *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -GL_ENOMEM;
	r->cfg = *cfg;
	snprintf(r->dir, sizeof(r->dir), "%s", cfg->dir);
	pthread_rwlock_init(&r->dblock, NULL);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->next_seq = 1;
	r->max_inflight = getenv("GLORY_RSM_INFLIGHT")
			      ? (unsigned)atoi(getenv("GLORY_RSM_INFLIGHT"))
			      : RSM_MAX_INFLIGHT;
	if (r->max_inflight < 1)
		r->max_inflight = 1;
	if (cfg->id == 0 || !cfg->sm || !cfg->sm->apply || strlen(cfg->dir) > 4000 ||
	    gl_rsm_raft_addr(cfg->rpc_addr, r->raft_addr, sizeof(r->raft_addr))) {
		rsm_free(r);
		return -GL_EINVAL;
	}
	if (mkdir(cfg->dir, 0755) && errno != EEXIST) {
		rc = gl_from_errno(errno);
		rsm_free(r);
		return rc;
	}
	r->dbopt = gl_rsm_db_options();
	r->wopt = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(r->wopt, 0);
	rocksdb_writeoptions_disable_WAL(r->wopt, 1); /* the raft log is the record (rsm.h) */
	r->ropt = rocksdb_readoptions_create();
	rc = db_open(r);
	if (rc) {
		rsm_free(r);
		return rc;
	}
	pthread_create(&r->thread, NULL, loop_main, r);
	pthread_mutex_lock(&r->lock);
	while (!r->started)
		pthread_cond_wait(&r->cv, &r->lock);
	rc = r->start_rc;
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		pthread_join(r->thread, NULL);
		rsm_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void gl_rsm_close(struct gl_rsm *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->closing = r->closing ? r->closing : 1;
	pthread_mutex_unlock(&r->lock);
	uv_async_send(&r->async);
	pthread_join(r->thread, NULL);
	/* waiters still in the table: their callers get -GL_ECLOSED */
	pthread_mutex_lock(&r->lock);
	while (r->waiters) {
		struct waiter *w = r->waiters;

		r->waiters = w->next;
		waiter_finish(r, w, -GL_ECLOSED);
	}
	pthread_mutex_unlock(&r->lock);
	rsm_free(r);
}

static int submit(struct gl_rsm *r, struct job *j)
{
	/* lock held */
	if (r->closing || r->stopped)
		return -GL_ECLOSED;
	j->next = NULL;
	if (r->jobs_tail)
		r->jobs_tail->next = j;
	else
		r->jobs = j;
	r->jobs_tail = j;
	uv_async_send(&r->async);
	return 0;
}

int gl_rsm_propose_many(struct gl_rsm *r, int n, const void *const *ops, const size_t *lens,
			struct gl_wbuf *const *replies, int *status, int timeout_ms)
{
	struct waiter *w[GL_RSM_MAX_MANY];
	struct job *j[GL_RSM_MAX_MANY];
	struct timespec t0, t1;
	int rc = 0, i;

	if (n < 1 || n > GL_RSM_MAX_MANY)
		return -GL_EINVAL;
	for (i = 0; i < n; i++) {
		w[i] = NULL;
		j[i] = NULL;
		status[i] = -GL_ENOMEM;
	}
	for (i = 0; i < n && !rc; i++) {
		if (lens[i] > GL_RPC_MAX_ARGS) {
			rc = -GL_E2BIG;
			break;
		}
		w[i] = waiter_new();
		j[i] = calloc(1, sizeof(*j[i]));
		if (!w[i] || !j[i]) {
			rc = -GL_ENOMEM;
			break;
		}
		j[i]->len = (HDR_LEN + lens[i] + 7) & ~(size_t)7;
		j[i]->data = raft_calloc(1, j[i]->len);
		if (!j[i]->data) {
			rc = -GL_ENOMEM;
			break;
		}
		j[i]->type = JOB_PROPOSE;
		gl_le64(j[i]->data + 16, lens[i]);
		j[i]->w = w[i];
		w[i]->reply = replies[i];
		memcpy(j[i]->data + HDR_LEN, ops[i], lens[i]);
	}
	pthread_mutex_lock(&r->lock);
	if (!rc && (r->closing || r->stopped))
		rc = -GL_ECLOSED;
	if (rc) {
		pthread_mutex_unlock(&r->lock);
		for (i = 0; i < n; i++) {
			if (j[i] && j[i]->data)
				raft_free(j[i]->data);
			free(j[i]);
			waiter_free(w[i]);
			status[i] = rc;
		}
		return rc;
	}
	for (i = 0; i < n; i++) {
		w[i]->seq = r->next_seq++;
		gl_le64(j[i]->data, r->cfg.id);
		gl_le64(j[i]->data + 8, w[i]->seq);
		submit(r, j[i]); /* cannot fail: checked above, under the same lock */
		w[i]->next = r->waiters;
		r->waiters = w[i];
	}
	/* records apply in order: once the last is done the others are too (one wake-up) */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = n - 1; i >= 0; i--) {
		long spent;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		status[i] = waiter_wait(r, w[i], spent < timeout_ms ? timeout_ms - (int)spent : 1);
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int gl_rsm_propose(struct gl_rsm *r, const void *op, size_t len, struct gl_wbuf *reply,
		   int timeout_ms)
{
	int status, rc = gl_rsm_propose_many(r, 1, &op, &len, &reply, &status, timeout_ms);

	return rc ? rc : status;
}

static int simple_job(struct gl_rsm *r, enum job_type type, const struct gl_rsm_member *m,
		      int timeout_ms)
{
	struct waiter *w = waiter_new();
	struct job *j = calloc(1, sizeof(*j));
	int rc;

	if (!w || !j) {
		waiter_free(w);
		free(j);
		return -GL_ENOMEM;
	}
	j->type = type;
	j->w = w;
	if (m)
		j->m = *m;
	pthread_mutex_lock(&r->lock);
	rc = submit(r, j);
	if (rc) {
		pthread_mutex_unlock(&r->lock);
		free(j);
		waiter_free(w);
		return rc;
	}
	rc = waiter_wait(r, w, timeout_ms);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int gl_rsm_read_fence(struct gl_rsm *r, int timeout_ms)
{
	double now = mono(), since;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	int leader = r->st.role && strcmp(r->st.role, "leader") == 0;
	int leased = leader && now < r->lease_until;

	if (leader)
		r->lease_used = now; /* reads keep coming: the loop keeps the lease */
	pthread_mutex_unlock(&r->lock);
	if (!leader)
		return -GL_ENOTLEADER;
	if (!leased)
		rc = simple_job(r, JOB_FENCE, NULL, timeout_ms);
	if (rc)
		return rc;
	/* a new leader answers no read until an earlier leader's lease reads are over */
	pthread_mutex_lock(&r->lock);
	since = r->lead_since;
	pthread_mutex_unlock(&r->lock);
	while ((now = mono()) < since + READ_HOLD_S) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	return 0;
}

rocksdb_t *gl_rsm_read_begin(struct gl_rsm *r)
{
	rocksdb_set_perf_level(rocksdb_disable); /* thread-local: no counters on the hot path */
	pthread_rwlock_rdlock(&r->dblock);
	return r->db;
}

void gl_rsm_read_end(struct gl_rsm *r)
{
	pthread_rwlock_unlock(&r->dblock);
}

int gl_rsm_leader(struct gl_rsm *r, struct gl_rsm_member *out)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	*out = r->leader;
	rc = r->leader.id ? 0 : -GL_ENOTLEADER;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int gl_rsm_add(struct gl_rsm *r, const struct gl_rsm_member *m, int timeout_ms)
{
	return simple_job(r, JOB_ADD, m, timeout_ms);
}

int gl_rsm_remove(struct gl_rsm *r, uint64_t id, int timeout_ms)
{
	struct gl_rsm_member m = {.id = id};

	return simple_job(r, JOB_REMOVE, &m, timeout_ms);
}

int gl_rsm_status(struct gl_rsm *r, struct gl_rsm_status *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	if (!out->role)
		out->role = "unavailable";
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int gl_rsm_h_snap_read(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct gl_rsm *r = ctx;
	struct gl_rbuf a;
	char file[256], path[4400];
	uint64_t snap, off;
	uint32_t max;
	uint8_t *buf;
	ssize_t n;
	int fd;

	gl_rbuf_init(&a, req->args, req->args_len);
	snap = gl_get_u64(&a);
	gl_get_str(&a, file, sizeof(file));
	off = gl_get_u64(&a);
	max = gl_get_u32(&a);
	if (gl_rbuf_check(&a) || !file[0] || strchr(file, '/') || strstr(file, "..") ||
	    file[0] == '.')
		return -GL_EINVAL;
	if (max > GL_RSM_SNAP_PIECE)
		max = GL_RSM_SNAP_PIECE;
	snprintf(path, sizeof(path), "%s/snap/%020" PRIu64 "/%s", r->dir, snap, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -GL_ENOENT : gl_from_errno(errno);
	buf = malloc(max ? max : 1);
	if (!buf) {
		close(fd);
		return -GL_ENOMEM;
	}
	n = pread(fd, buf, max, (off_t)off);
	close(fd);
	if (n < 0) {
		free(buf);
		return gl_from_errno(errno);
	}
	rep->bulk[0].iov_base = buf;
	rep->bulk[0].iov_len = (size_t)n;
	rep->nbulk = 1;
	rep->bulk_free = free;
	rep->bulk_owner = buf;
	return 0;
}

/* ---- the FSM alone, for raft/fixture.h tests (metadata/rsm_internal.h) ---- */

int gl_rsm_fsm_open(const struct gl_rsm_cfg *cfg, struct raft_fsm **fsm, struct gl_rsm **out)
{
	struct gl_rsm *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -GL_ENOMEM;
	r->cfg = *cfg;
	snprintf(r->dir, sizeof(r->dir), "%s", cfg->dir);
	pthread_rwlock_init(&r->dblock, NULL);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (mkdir(cfg->dir, 0755) && errno != EEXIST) {
		rc = gl_from_errno(errno);
		rsm_free(r);
		return rc;
	}
	r->dbopt = gl_rsm_db_options();
	r->wopt = rocksdb_writeoptions_create();
	rocksdb_writeoptions_disable_WAL(r->wopt, 1);
	r->ropt = rocksdb_readoptions_create();
	rc = db_open(r);
	if (rc) {
		rsm_free(r);
		return rc;
	}
	fsm_fill(r);
	*fsm = &r->fsm;
	*out = r;
	return 0;
}

void gl_rsm_fsm_bind(struct gl_rsm *r, struct raft *raft)
{
	r->rafp = raft;
}

void gl_rsm_fsm_close(struct gl_rsm *r)
{
	rsm_free(r);
}

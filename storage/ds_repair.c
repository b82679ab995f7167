/* Repair on a data server. Every pass walks the fragments this server holds and, per chunk:
 *   - asks the master whether the chunk still exists; fragments of a chunk the registry does not
 *     know (deleted, or an abandoned write) are removed once older than --stale-age;
 *   - moves a fragment whose placement slot belongs to another UP server there (handoff copies,
 *     and fragments left behind when the map changed), then removes the local copy;
 *   - for stripes where it holds its own slot's fragment, asks the other slot servers what they
 *     hold (DS_HAVE, batched per server); the lowest slot that is UP and holds its fragment leads
 *     the stripe, and the leader rebuilds missing fragments onto their UP slot servers.
 * A slot whose server is DOWN is not rebuilt (it may come back); once it is OUT, the placement
 * gives the slot to another server, which lacks the fragment, so the leader rebuilds it there.
 * Scrub re-reads every local fragment (CRC check) at a throttled rate; a corrupt one is removed
 * and rebuilt locally from the others. All rebuild and move traffic is throttled (repair_bps).
 */
#include "storage/ds_internal.h"

#include "cluster/placement.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/rpc.h"
#include "storage/client.h"
#include "storage/rpc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 512

struct lfrag {
	struct gl_fkey k;
	struct gl_fmeta m;
};

struct throttle {
	uint64_t bps;
	double start;
	_Atomic uint64_t bytes; /* shared by the rebuild workers */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void throttle(struct throttle *t, uint64_t bytes)
{
	double ahead;

	if (!t->bps)
		return;
	ahead = (double)(atomic_fetch_add(&t->bytes, bytes) + bytes) / (double)t->bps -
		(mono() - t->start);
	if (ahead > 0) {
		struct timespec ts = {(time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)};

		nanosleep(&ts, NULL);
	}
}

void ds_repair_lost(struct ds *ds, const struct gl_fkey *k)
{
	pthread_mutex_lock(&ds->lock);
	if (ds->nlost < (int)GL_ARRAY_SIZE(ds->lost))
		ds->lost[ds->nlost++] = *k;
	ds->kick = 1;
	pthread_cond_signal(&ds->wake);
	pthread_mutex_unlock(&ds->lock);
}

#define STAT_ADD(ds, field, n)                                                                     \
	do {                                                                                       \
		pthread_mutex_lock(&(ds)->lock);                                                   \
		(ds)->stats.field += (n);                                                          \
		pthread_mutex_unlock(&(ds)->lock);                                                 \
	} while (0)

/* Rebuilds one of our own fragments from the other servers and stores it here. */
static int rebuild_local(struct ds *ds, const struct gl_map *m, const struct gl_fkey *k,
			 struct throttle *t)
{
	struct gl_scheme s;
	uint8_t *frags[GL_MAX_WIDTH] = {0};
	size_t fl = 0;
	uint64_t clen = 0;
	struct gl_fmeta meta = {0};
	int rc;

	if (gl_scheme_from_pool(k->pool, &s))
		return -GL_EINVAL;
	rc = gl_chunk_rebuild(ds->sc, m, &s, k->chunk, 1u << k->idx, ds->id, frags, &fl, &clen);
	if (rc)
		return rc;
	meta.len = (uint32_t)fl;
	meta.crc = gl_crc32c(GL_CRC_INIT, frags[k->idx], fl);
	meta.chunk_len = clen;
	rc = gl_fstore_put(ds->fs, k, &meta, frags[k->idx], fl);
	free(frags[k->idx]);
	if (!rc) {
		STAT_ADD(ds, rebuilt, 1);
		STAT_ADD(ds, rebuilt_bytes, fl);
		throttle(t, fl);
	}
	return rc;
}

static void process_lost(struct ds *ds, const struct gl_map *m, struct throttle *t)
{
	struct gl_fkey k;

	for (;;) {
		int rc;

		pthread_mutex_lock(&ds->lock);
		if (!ds->nlost) {
			pthread_mutex_unlock(&ds->lock);
			return;
		}
		k = ds->lost[--ds->nlost];
		pthread_mutex_unlock(&ds->lock);
		rc = rebuild_local(ds, m, &k, t);
		if (rc)
			gl_warn("ds: rebuilding a corrupt fragment failed: %s (the stripe leader "
				"will retry)",
				gl_strerror(rc));
		else
			gl_info("ds: corrupt fragment %d rebuilt from the other servers", k.idx);
	}
}

static int collect(void *arg, const struct gl_fkey *k, const struct gl_fmeta *m)
{
	struct {
		struct lfrag *v;
		size_t n, cap;
	} *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct lfrag *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -GL_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].k = *k;
	c->v[c->n].m = *m;
	c->n++;
	return 0;
}

static int lfrag_cmp(const void *a, const void *b)
{
	const struct gl_fkey *x = &((const struct lfrag *)a)->k, *y = &((const struct lfrag *)b)->k;
	int c;

	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	c = memcmp(x->chunk, y->chunk, GL_CHUNK_ID_LEN);
	return c ? c : (int)x->idx - (int)y->idx;
}

/* Chunk group within the sorted fragment list. */
struct group {
	size_t first, n;
	uint8_t state;
	struct gl_placement p;
	uint32_t have[GL_MAX_WIDTH]; /* DS_HAVE mask of slot i's server */
	uint8_t asked[GL_MAX_WIDTH];
};

static int ask_states(struct ds *ds, struct lfrag *v, struct group *g, int ng)
{
	struct gl_rpc_call c = {0};
	struct gl_wbuf a;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	gl_put_u32(&a, v[g[0].first].k.pool);
	gl_put_u32(&a, (uint32_t)ng);
	for (int i = 0; i < ng; i++)
		gl_put_bytes(&a, v[g[i].first].k.chunk, GL_CHUNK_ID_LEN);
	c.opcode = GL_MS_CHUNK_STATE;
	c.args = a.p;
	c.args_len = (uint32_t)a.len;
	rc = gl_rpc_pool_call(gl_sclient_pool(ds->sc), ds->cfg.master, &c, 10000);
	if (rc == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		if (gl_get_u32(&r) != (uint32_t)ng)
			rc = -GL_EPROTO;
		for (int i = 0; i < ng && !rc; i++)
			g[i].state = gl_get_u8(&r);
		if (!rc)
			rc = gl_rbuf_check(&r);
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

/* Fills g[].have for every UP slot server other than us, one DS_HAVE per server. */
static void ask_haves(struct ds *ds, const struct gl_map *m, struct lfrag *v, struct group *g,
		      int ng, const uint8_t *check)
{
	int *list = malloc(sizeof(int) * (size_t)ng);

	if (!list)
		return;
	for (uint32_t di = 0; di < m->n; di++) {
		struct gl_rpc_call c = {0};
		struct gl_wbuf a;
		struct gl_rbuf r;
		int nl = 0;

		if (m->ds[di].id == ds->id || m->ds[di].state != GL_DS_UP)
			continue;
		for (int i = 0; i < ng; i++) {
			if (!check[i])
				continue;
			for (int s = 0; s < g[i].p.width; s++)
				if (g[i].p.slot[s] == (int)di) {
					list[nl++] = i;
					break;
				}
		}
		if (!nl)
			continue;
		gl_wbuf_init(&a);
		gl_put_u32(&a, v[g[0].first].k.pool);
		gl_put_u32(&a, (uint32_t)nl);
		for (int j = 0; j < nl; j++)
			gl_put_bytes(&a, v[g[list[j]].first].k.chunk, GL_CHUNK_ID_LEN);
		c.opcode = GL_DS_HAVE;
		c.args = a.p;
		c.args_len = (uint32_t)a.len;
		if (gl_rpc_pool_call(gl_sclient_pool(ds->sc), m->ds[di].addr, &c, 10000) == 0) {
			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			if (gl_get_u32(&r) == (uint32_t)nl) {
				for (int j = 0; j < nl; j++) {
					uint32_t mask = gl_get_u32(&r);
					struct group *gr = &g[list[j]];

					if (gl_rbuf_check(&r))
						break;
					for (int s = 0; s < gr->p.width; s++)
						if (gr->p.slot[s] == (int)di) {
							gr->have[s] = mask;
							gr->asked[s] = 1;
						}
				}
			}
		}
		gl_rpc_call_done(&c);
		gl_wbuf_free(&a);
	}
	free(list);
}

/* Moves a misplaced local fragment to its slot server, then drops the local copy. */
static void move_home(struct ds *ds, const struct gl_map *m, const struct lfrag *f, int home,
		      struct throttle *t)
{
	struct gl_fmeta meta;
	uint8_t *data = NULL;
	int rc;

	rc = gl_fstore_get(ds->fs, &f->k, &meta, &data);
	if (rc == -GL_ECORRUPT) {
		gl_fstore_del(ds->fs, &f->k);
		STAT_ADD(ds, corrupt, 1);
		return;
	}
	if (rc)
		return;
	rc = gl_frag_put(ds->sc, m, home, f->k.pool, f->k.chunk, f->k.idx, meta.chunk_len, data,
			 meta.len);
	if (rc == 0) {
		gl_fstore_del(ds->fs, &f->k);
		STAT_ADD(ds, moved, 1);
		throttle(t, meta.len);
	}
	free(data);
}

/* Rebuilds the fragments of a stripe we lead that are missing on their UP slot servers.
 * Returns 1 when every one of them was rebuilt. */
static int rebuild_stripe(struct ds *ds, const struct gl_map *m, const struct lfrag *f,
			  uint32_t missing, struct throttle *t)
{
	struct gl_scheme s;
	uint8_t *frags[GL_MAX_WIDTH] = {0};
	struct gl_placement p;
	size_t fl = 0;
	uint64_t clen = 0;
	int rc;

	int ok = 1;

	gl_scheme_from_pool(f->k.pool, &s);
	if (gl_place(m, f->k.pool, f->k.chunk, gl_scheme_width(&s), &p))
		return 0;
	rc = gl_chunk_rebuild(ds->sc, m, &s, f->k.chunk, missing, UINT32_MAX, frags, &fl, &clen);
	if (rc) {
		gl_warn("ds: cannot rebuild a stripe yet: %s", gl_strerror(rc));
		return 0;
	}
	for (int i = 0; i < p.width; i++) {
		if (!(missing >> i & 1))
			continue;
		rc =
		    gl_frag_put(ds->sc, m, p.slot[i], f->k.pool, f->k.chunk, i, clen, frags[i], fl);
		if (rc == 0) {
			STAT_ADD(ds, rebuilt, 1);
			STAT_ADD(ds, rebuilt_bytes, fl);
			throttle(t, fl);
		} else {
			ok = 0;
		}
		free(frags[i]);
	}
	return ok;
}

/* Stripes of a batch to rebuild, done by REBUILD_THREADS workers (each stripe is a round trip
 * to k servers and a synced write: latency-bound, so several run at once). */
#define REBUILD_THREADS 8

struct rebuild_job {
	struct ds *ds;
	const struct gl_map *m;
	struct throttle *t;
	const struct lfrag *f[BATCH];
	uint32_t missing[BATCH];
	int n;
	uint8_t down[BATCH]; /* stripe also has a slot on a DOWN server: stays degraded */
	_Atomic int next;
	_Atomic int healed;
};

static void *rebuild_worker(void *arg)
{
	struct rebuild_job *j = arg;
	int i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n && !j->ds->stopping)
		if (rebuild_stripe(j->ds, j->m, j->f[i], j->missing[i], j->t) && !j->down[i])
			atomic_fetch_add(&j->healed, 1);
	return NULL;
}

static void rebuild_all(struct rebuild_job *j)
{
	pthread_t th[REBUILD_THREADS];
	int started = 0;

	for (int i = 1; i < REBUILD_THREADS && i < j->n; i++)
		if (pthread_create(&th[started], NULL, rebuild_worker, j) == 0)
			started++;
	rebuild_worker(j);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* One batch of chunk groups of one pool. Returns degraded stripes led by us. */
static uint64_t do_batch(struct ds *ds, const struct gl_map *m, int me, struct lfrag *v,
			 struct group *g, int ng, struct throttle *t)
{
	uint8_t check[BATCH] = {0};
	uint64_t now = (uint64_t)time(NULL), degraded = 0, checked = 0;
	struct rebuild_job *job;
	struct gl_scheme s;
	int width;

	if (gl_scheme_from_pool(v[g[0].first].k.pool, &s) || ask_states(ds, v, g, ng))
		return 0;
	width = gl_scheme_width(&s);
	for (int i = 0; i < ng; i++) {
		struct group *gr = &g[i];

		if (gr->state == GL_CHUNK_ABSENT) {
			for (size_t j = gr->first; j < gr->first + gr->n; j++) {
				if ((double)v[j].m.mtime + ds->cfg.stale_age > (double)now)
					continue;
				if (gl_fstore_del(ds->fs, &v[j].k) == 0)
					STAT_ADD(ds, removed, 1);
			}
			continue;
		}
		if (gr->state != GL_CHUNK_COMMITTED ||
		    gl_place(m, v[gr->first].k.pool, v[gr->first].k.chunk, width, &gr->p))
			continue;
		for (size_t j = gr->first; j < gr->first + gr->n; j++) {
			int idx = v[j].k.idx, home = idx < width ? gr->p.slot[idx] : -1;

			if (home == me) {
				check[i] = 1;
			} else if (home >= 0 && m->ds[home].state == GL_DS_UP) {
				move_home(ds, m, &v[j], home, t);
			}
		}
	}
	ask_haves(ds, m, v, g, ng, check);
	job = calloc(1, sizeof(*job));
	if (!job)
		return 0;
	job->ds = ds;
	job->m = m;
	job->t = t;
	for (int i = 0; i < ng; i++) {
		struct group *gr = &g[i];
		uint32_t missing = 0;
		int leader = -1, down = 0;

		if (!check[i])
			continue;
		checked++;
		for (int sl = 0; sl < width; sl++) {
			int di = gr->p.slot[sl];
			int has;

			if (di < 0)
				continue;
			if (di == me) {
				struct gl_fkey k = v[gr->first].k;
				struct gl_fmeta mm;

				k.idx = (uint8_t)sl;
				has = gl_fstore_stat(ds->fs, &k, &mm) == 0;
			} else if (m->ds[di].state != GL_DS_UP || !gr->asked[sl]) {
				down = 1;
				continue;
			} else {
				has = gr->have[sl] >> sl & 1;
			}
			if (has && leader < 0)
				leader = di;
			if (!has)
				missing |= 1u << sl;
		}
		if ((missing || down) && leader == me)
			degraded++; /* counted once, by the stripe's leader */
		if (missing && leader == me) {
			job->f[job->n] = &v[gr->first];
			job->down[job->n] = (uint8_t)down;
			job->missing[job->n++] = missing;
		}
	}
	if (job->n) {
		STAT_ADD(ds, rebuilding, (uint64_t)job->n);
		rebuild_all(job);
		STAT_ADD(ds, rebuilding, -(uint64_t)job->n);
		degraded -= (uint64_t)atomic_load(&job->healed);
	}
	free(job);
	STAT_ADD(ds, checked, checked);
	return degraded;
}

static void repair_pass(struct ds *ds, const struct gl_map *m, struct throttle *t)
{
	struct {
		struct lfrag *v;
		size_t n, cap;
	} c = {0};
	struct group *g = calloc(BATCH, sizeof(*g));
	uint64_t degraded = 0, rebuilt0 = 0;
	double t0 = mono();
	int me = gl_map_find(m, ds->id), ng = 0;

	if (!g || me < 0)
		goto out;
	pthread_mutex_lock(&ds->lock);
	rebuilt0 = ds->stats.rebuilt;
	pthread_mutex_unlock(&ds->lock);
	if (gl_fstore_iter(ds->fs, collect, &c))
		goto out;
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), lfrag_cmp);
	pthread_mutex_lock(&ds->lock);
	ds->stats.checked = 0;
	pthread_mutex_unlock(&ds->lock);
	for (size_t j = 0; j < c.n && !ds->stopping; j++) {
		if (ng && c.v[g[ng - 1].first].k.pool == c.v[j].k.pool &&
		    memcmp(c.v[g[ng - 1].first].k.chunk, c.v[j].k.chunk, GL_CHUNK_ID_LEN) == 0) {
			g[ng - 1].n++;
			continue;
		}
		if (ng == BATCH || (ng && c.v[g[0].first].k.pool != c.v[j].k.pool)) {
			degraded += do_batch(ds, m, me, c.v, g, ng, t);
			ng = 0;
		}
		memset(&g[ng], 0, sizeof(g[ng]));
		g[ng].first = j;
		g[ng].n = 1;
		ng++;
	}
	if (ng && !ds->stopping)
		degraded += do_batch(ds, m, me, c.v, g, ng, t);
	pthread_mutex_lock(&ds->lock);
	if (ds->stats.rebuilt != rebuilt0 || degraded)
		gl_info("ds: repair pass: %zu fragments, %llu stripes checked, %llu fragments "
			"rebuilt, %llu stripes still degraded, %.2f s",
			c.n, (unsigned long long)ds->stats.checked,
			(unsigned long long)(ds->stats.rebuilt - rebuilt0),
			(unsigned long long)degraded, mono() - t0);
	ds->stats.pass++;
	ds->stats.degraded = degraded; /* still degraded after this pass */
	pthread_mutex_unlock(&ds->lock);
out:
	free(c.v);
	free(g);
}

static int scrub_one(void *arg, const struct gl_fkey *k, const struct gl_fmeta *m)
{
	struct {
		struct ds *ds;
		struct throttle t;
	} *sa = arg;
	uint8_t *data = NULL;
	struct gl_fmeta mm;
	int rc;

	(void)m;
	if (sa->ds->stopping)
		return 1;
	rc = gl_fstore_get(sa->ds->fs, k, &mm, &data);
	free(data);
	if (rc == -GL_ECORRUPT) {
		gl_warn("ds: scrub found fragment %d of a chunk corrupt: rebuilding it", k->idx);
		STAT_ADD(sa->ds, corrupt, 1);
		gl_fstore_del(sa->ds->fs, k);
		ds_repair_lost(sa->ds, k);
	}
	STAT_ADD(sa->ds, scrubbed, 1);
	throttle(&sa->t, m->len);
	return 0;
}

void *ds_repair_main(void *arg)
{
	struct ds *ds = arg;
	double last_pass = 0, last_scrub = mono();

	while (!ds->stopping) {
		struct throttle t = {ds->cfg.repair_bps, mono(), 0};
		struct gl_map m = {0};
		double now = mono();
		struct timespec ts;

		pthread_mutex_lock(&ds->lock);
		if (!ds->kick && now - last_pass < ds->cfg.repair_every) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&ds->wake, &ds->lock, &ts);
			pthread_mutex_unlock(&ds->lock);
			continue;
		}
		ds->kick = 0;
		pthread_mutex_unlock(&ds->lock);
		if (ds->stopping || !ds->id || ds_map_snapshot(ds, &m))
			continue;
		process_lost(ds, &m, &t);
		repair_pass(ds, &m, &t);
		last_pass = mono();
		if (mono() - last_scrub >= ds->cfg.scrub_every) {
			struct {
				struct ds *ds;
				struct throttle t;
			} sa = {ds, {ds->cfg.scrub_bps, mono(), 0}};

			gl_fstore_iter(ds->fs, scrub_one, &sa);
			last_scrub = mono();
			gl_info("ds: scrub pass done");
			process_lost(ds, &m, &t);
		}
		gl_map_free(&m);
	}
	return NULL;
}

/* Metadata leases of a shard leader (rules: metadata/lease.h). */
#include "metadata/lease.h"

#include "common/errors.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS    8192
#define QUEUE_MAX   100000 /* invalidations waiting for one client; past it, leases expire */
#define CLIENT_IDLE 60.0   /* seconds without a watch before a client with nothing queued goes */

struct lease {
	uint32_t vol;
	uint64_t ino;
	uint64_t client;
	double until;
	struct lease *next;
};

struct item {
	uint64_t seq;
	struct gl_lease_obj obj;
};

struct client {
	uint64_t id;
	uint64_t qseq;	/* sequence of the last queued invalidation */
	uint64_t acked; /* highest sequence the client acknowledged */
	struct item *q; /* queued, oldest first, all with seq > acked */
	int nq, capq;
	double last_watch;
	struct client *next;
};

struct gl_leases {
	pthread_mutex_t lock;
	pthread_cond_t cv; /* acks, new invalidations, shutdown */
	uint64_t seq;	   /* invalidations begun */
	/* the sequence of the last invalidation begun of any object hashing to a bucket, and of
	 * the last gl_leases_clear: a read may be cached when none of what it depends on began one
	 * since it started (rule 3), whatever else was written meanwhile */
	uint64_t inval_at[NBUCKETS], cleared_at;
	struct lease *bucket[NBUCKETS];
	struct client *clients;
	int shutdown;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void abs_time(double mono_deadline, struct timespec *ts)
{
	/* the condition variable runs on CLOCK_MONOTONIC */
	ts->tv_sec = (time_t)mono_deadline;
	ts->tv_nsec = (long)((mono_deadline - (double)ts->tv_sec) * 1e9);
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static unsigned hash(uint32_t vol, uint64_t ino)
{
	uint64_t h = (ino ^ ((uint64_t)vol << 40)) * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> 51) % NBUCKETS;
}

int gl_leases_new(struct gl_leases **out)
{
	struct gl_leases *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	if (!l)
		return -GL_ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = l;
	return 0;
}

static void clear_locked(struct gl_leases *l)
{
	for (int b = 0; b < NBUCKETS; b++) {
		while (l->bucket[b]) {
			struct lease *n = l->bucket[b];

			l->bucket[b] = n->next;
			free(n);
		}
	}
	while (l->clients) {
		struct client *c = l->clients;

		l->clients = c->next;
		free(c->q);
		free(c);
	}
}

void gl_leases_free(struct gl_leases *l)
{
	if (!l)
		return;
	clear_locked(l);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cv);
	free(l);
}

uint64_t gl_leases_seq(struct gl_leases *l)
{
	uint64_t s;

	pthread_mutex_lock(&l->lock);
	s = l->seq;
	pthread_mutex_unlock(&l->lock);
	return s;
}

static struct client *client_get(struct gl_leases *l, uint64_t id, int create)
{
	struct client *c;

	for (c = l->clients; c; c = c->next)
		if (c->id == id)
			return c;
	if (!create)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = id;
	c->last_watch = mono();
	c->next = l->clients;
	l->clients = c;
	return c;
}

int gl_leases_grant(struct gl_leases *l, uint64_t client, const struct gl_lease_obj *o, int n,
		    uint64_t seq0, double now)
{
	int ok;

	pthread_mutex_lock(&l->lock);
	ok = l->cleared_at <= seq0 && !l->shutdown;
	for (int i = 0; i < n && ok; i++)
		ok = l->inval_at[hash(o[i].vol, o[i].ino)] <= seq0;
	for (int i = 0; i < n && ok; i++) {
		unsigned b = hash(o[i].vol, o[i].ino);
		struct lease *e;

		for (e = l->bucket[b]; e; e = e->next)
			if (e->vol == o[i].vol && e->ino == o[i].ino && e->client == client)
				break;
		if (!e) {
			e = malloc(sizeof(*e));
			if (!e) {
				ok = 0;
				break;
			}
			e->vol = o[i].vol;
			e->ino = o[i].ino;
			e->client = client;
			e->next = l->bucket[b];
			l->bucket[b] = e;
		}
		e->until = now + GL_LEASE_MS / 1000.0;
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

struct waiter {
	uint64_t client, seq;
	double until;
};

static int queue_push(struct client *c, const struct gl_lease_obj *o, uint64_t *seq)
{
	if (c->nq >= QUEUE_MAX)
		return -GL_ENOSPC;
	if (c->nq == c->capq) {
		int ncap = c->capq ? c->capq * 2 : 16;
		struct item *nq = realloc(c->q, (size_t)ncap * sizeof(*nq));

		if (!nq)
			return -GL_ENOMEM;
		c->q = nq;
		c->capq = ncap;
	}
	*seq = ++c->qseq;
	c->q[c->nq].seq = *seq;
	c->q[c->nq++].obj = *o;
	return 0;
}

int gl_leases_invalidate(struct gl_leases *l, uint64_t writer, const struct gl_lease_obj *o, int n)
{
	struct waiter *w = NULL;
	int nw = 0, capw = 0, told = 0;
	double now = mono();

	pthread_mutex_lock(&l->lock);
	l->seq++;
	for (int i = 0; i < n; i++)
		l->inval_at[hash(o[i].vol, o[i].ino)] = l->seq;
	for (int i = 0; i < n; i++) {
		struct lease **pp = &l->bucket[hash(o[i].vol, o[i].ino)];

		while (*pp) {
			struct lease *e = *pp;
			struct client *c;
			uint64_t seq;

			if (e->until <= now) { /* expired: drop on the way */
				*pp = e->next;
				free(e);
				continue;
			}
			if (e->vol != o[i].vol || e->ino != o[i].ino || e->client == writer) {
				pp = &e->next;
				continue;
			}
			c = client_get(l, e->client, 1);
			if (nw == capw) {
				int ncap = capw ? capw * 2 : 8;
				struct waiter *nwp = realloc(w, (size_t)ncap * sizeof(*w));

				if (nwp) {
					w = nwp;
					capw = ncap;
				}
			}
			if (nw < capw) {
				w[nw].client = e->client;
				w[nw].until = e->until;
				/* without a queued message the writer simply waits out the lease */
				w[nw].seq = c && queue_push(c, &o[i], &seq) == 0 ? seq : UINT64_MAX;
				nw++;
				told++;
			} else {
				/* no memory to track it: wait for the lease itself below */
				double until = e->until;

				pthread_mutex_unlock(&l->lock);
				while (mono() < until) {
					struct timespec ts = {0, 10 * 1000 * 1000};

					nanosleep(&ts, NULL);
				}
				pthread_mutex_lock(&l->lock);
			}
			*pp = e->next; /* the lease is void once invalidated */
			free(e);
		}
	}
	if (nw)
		pthread_cond_broadcast(&l->cv);
	for (int i = 0; i < nw; i++) {
		for (;;) {
			struct client *c = client_get(l, w[i].client, 0);
			struct timespec ts;

			if (l->shutdown || !c || c->acked >= w[i].seq || mono() >= w[i].until)
				break;
			abs_time(w[i].until, &ts);
			pthread_cond_timedwait(&l->cv, &l->lock, &ts);
		}
	}
	pthread_mutex_unlock(&l->lock);
	free(w);
	return told;
}

/* Clients that stopped watching and have nothing queued are forgotten. */
static void reap_clients(struct gl_leases *l, double now)
{
	struct client **pp = &l->clients;

	while (*pp) {
		struct client *c = *pp;

		if (c->nq == 0 && now - c->last_watch > CLIENT_IDLE) {
			*pp = c->next;
			free(c->q);
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

int gl_leases_watch(struct gl_leases *l, uint64_t client, uint64_t acked, int wait_ms,
		    struct gl_lease_obj *out, int cap, uint64_t *seq)
{
	double deadline = mono() + wait_ms / 1000.0;
	struct client *c;
	int n = 0, drop = 0;

	pthread_mutex_lock(&l->lock);
	reap_clients(l, mono());
	c = client_get(l, client, 1);
	if (!c) {
		pthread_mutex_unlock(&l->lock);
		return -GL_ENOMEM;
	}
	c->last_watch = mono();
	if (acked > c->qseq)
		acked = c->qseq; /* a client of an earlier leader: nothing of that is ours */
	if (acked > c->acked) {
		c->acked = acked;
		while (drop < c->nq && c->q[drop].seq <= acked)
			drop++;
		memmove(c->q, c->q + drop, (size_t)(c->nq - drop) * sizeof(*c->q));
		c->nq -= drop;
		pthread_cond_broadcast(&l->cv);
	}
	while (c->nq == 0 && !l->shutdown) {
		struct timespec ts;

		if (mono() >= deadline)
			break;
		abs_time(deadline, &ts);
		pthread_cond_timedwait(&l->cv, &l->lock, &ts);
		c = client_get(l, client, 0);
		if (!c)
			break;
	}
	*seq = c ? c->acked : acked;
	for (int i = 0; c && i < c->nq && n < cap; i++) {
		out[n++] = c->q[i].obj;
		*seq = c->q[i].seq;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}

void gl_leases_clear(struct gl_leases *l)
{
	pthread_mutex_lock(&l->lock);
	clear_locked(l);
	l->cleared_at = ++l->seq;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->lock);
}

void gl_leases_shutdown(struct gl_leases *l)
{
	pthread_mutex_lock(&l->lock);
	l->shutdown = 1;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->lock);
}

/* NLM 4: byte-range locks for NFSv3 clients (the Linux client's fcntl/flock over NFS), kept in
 * this gateway's memory with POSIX semantics: a lock of an owner (caller name, svid, owner
 * handle) replaces that owner's locks over its range, an unlock splits them, shared locks of
 * different owners coexist, an exclusive one conflicts with any other owner's.
 *
 * Served synchronously (TEST, LOCK, CANCEL, UNLOCK, NM_LOCK, FREE_ALL). A blocking LOCK that
 * conflicts answers BLOCKED and waits in a queue: when an UNLOCK or FREE_ALL frees its range,
 * the lock is taken for it and its client's lock manager is told (NLM4_GRANTED, from a thread of
 * its own, nfs_nlm_grant.c); if that call fails, the lock is released again. A waiter the
 * client stops asking for (it repeats a blocked LOCK every 30 s) is dropped after 90 s, and
 * CANCEL drops it. Locks do not survive a gateway restart: every client that asks for a lock
 * is recorded first (nfs_nsm.c), and after a restart the recorded clients are told (SM_NOTIFY)
 * and reclaim their locks during a grace period, when only reclaims are granted and TEST
 * answers DENIED_GRACE_PERIOD. A client that reboots frees its locks with FREE_ALL, or its
 * statd's SM_NOTIFY does (nfs_nlm_free_host). NM_LOCK takes a lock without recording its
 * client (the protocol's "non-monitored" lock). */
#include "common/errors.h"
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NLM_MAX_LOCKS	100000
#define NLM_MAX_WAITERS 1000
#define NLM_WAIT_S	90.0

/* A blocked LOCK waiting for its range. */
struct nlm_wait {
	struct nfs_handle h;
	struct nlm4_args a;
	uint32_t peer; /* the client's address: its lock manager is called there */
	double until;
	struct nlm_wait *next;
};

struct nlm_lock {
	uint32_t vol;
	uint64_t ino;
	char *caller;
	uint32_t peer; /* the address it was asked from (host order) */
	uint8_t *oh;
	uint32_t oh_len;
	int32_t svid;
	int excl;
	uint64_t start, end; /* inclusive; end UINT64_MAX: to the end of the file */
	struct nlm_lock *next;
};

/* Guarded by lock. */
struct nfs_nlm {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* notifying went to 0 */
	struct nlm_lock *head;
	int n;
	struct nlm_wait *waiters;
	int nwait, notifying; /* GRANTED calls running (fini waits for them) */
};

int nfs_nlm_init(struct nfs_nlm **out)
{
	struct nfs_nlm *m = calloc(1, sizeof(*m));

	if (!m)
		return -GL_ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->idle, NULL);
	*out = m;
	return 0;
}

static void lock_free(struct nlm_lock *l)
{
	free(l->caller);
	free(l->oh);
	free(l);
}

void nfs_nlm_fini(struct nfs_nlm *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	while (m->notifying)
		pthread_cond_wait(&m->idle, &m->lock);
	pthread_mutex_unlock(&m->lock);
	while (m->waiters) {
		struct nlm_wait *w = m->waiters;

		m->waiters = w->next;
		free(w);
	}
	while (m->head) {
		struct nlm_lock *l = m->head;

		m->head = l->next;
		lock_free(l);
	}
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->idle);
	free(m);
}

static int same_owner(const struct nlm_lock *l, const struct nlm4_args *a)
{
	return l->svid == a->svid && l->oh_len == a->oh_len && !memcmp(l->oh, a->oh, a->oh_len) &&
	       !strcmp(l->caller, a->caller);
}

static uint64_t range_end(const struct nlm4_args *a)
{
	if (a->len == 0 || a->offset + a->len - 1 < a->offset)
		return UINT64_MAX;
	return a->offset + a->len - 1;
}

/* The first lock of another owner that conflicts with a's range and mode; NULL if none. */
static struct nlm_lock *conflict(struct nfs_nlm *m, const struct nfs_handle *h,
				 const struct nlm4_args *a)
{
	uint64_t s = a->offset, e = range_end(a);

	for (struct nlm_lock *l = m->head; l; l = l->next)
		if (l->vol == h->vol && l->ino == h->ino && l->start <= e && s <= l->end &&
		    (l->excl || a->exclusive) && !same_owner(l, a))
			return l;
	return NULL;
}

static struct nlm_lock *lock_new(const struct nfs_handle *h, const struct nlm4_args *a,
				 uint32_t peer, uint64_t s, uint64_t e, int excl)
{
	struct nlm_lock *l = calloc(1, sizeof(*l));

	if (!l || !(l->caller = strdup(a->caller)) || !(l->oh = malloc(a->oh_len + 1))) {
		if (l)
			free(l->caller);
		free(l);
		return NULL;
	}
	memcpy(l->oh, a->oh, a->oh_len);
	l->oh_len = a->oh_len;
	l->svid = a->svid;
	l->peer = peer;
	l->vol = h->vol;
	l->ino = h->ino;
	l->excl = excl;
	l->start = s;
	l->end = e;
	return l;
}

/* Removes a's owner's locks over [s, e] of the file, splitting those that stick out. */
static int subtract(struct nfs_nlm *m, const struct nfs_handle *h, const struct nlm4_args *a,
		    uint64_t s, uint64_t e)
{
	for (struct nlm_lock **pp = &m->head; *pp;) {
		struct nlm_lock *l = *pp;

		if (l->vol != h->vol || l->ino != h->ino || l->end < s || e < l->start ||
		    !same_owner(l, a)) {
			pp = &l->next;
			continue;
		}
		if (l->start < s && l->end > e) { /* a hole in the middle: two pieces */
			struct nlm_lock *tail = lock_new(h, a, l->peer, e + 1, l->end, l->excl);

			if (!tail)
				return -1;
			l->end = s - 1;
			tail->next = l->next;
			l->next = tail;
			m->n++;
			pp = &tail->next;
		} else if (l->start < s) {
			l->end = s - 1;
			pp = &l->next;
		} else if (l->end > e) {
			l->start = e + 1;
			pp = &l->next;
		} else {
			*pp = l->next;
			lock_free(l);
			m->n--;
		}
	}
	return 0;
}

/* The waiter of a's owner for a's file and range, unlinked from the queue; NULL if none. */
static struct nlm_wait *waiter_take(struct nfs_nlm *m, const struct nfs_handle *h,
				    const struct nlm4_args *a)
{
	for (struct nlm_wait **pp = &m->waiters; *pp; pp = &(*pp)->next) {
		struct nlm_wait *w = *pp;

		if (w->h.vol == h->vol && w->h.ino == h->ino && w->a.offset == a->offset &&
		    w->a.len == a->len && w->a.svid == a->svid && w->a.oh_len == a->oh_len &&
		    !memcmp(w->a.oh, a->oh, a->oh_len) && !strcmp(w->a.caller, a->caller)) {
			*pp = w->next;
			m->nwait--;
			return w;
		}
	}
	return NULL;
}

/* Takes the lock for a (lock held); NLM4_GRANTED or why not. */
static uint32_t lock_locked(struct nfs_nlm *m, const struct nfs_handle *h,
			    const struct nlm4_args *a, uint32_t peer)
{
	struct nlm_lock *l;

	if (conflict(m, h, a))
		return NLM4_DENIED;
	if (m->n >= NLM_MAX_LOCKS - 1 ||
	    !(l = lock_new(h, a, peer, a->offset, range_end(a), a->exclusive)))
		return NLM4_DENIED_NOLOCKS;
	if (subtract(m, h, a, a->offset, range_end(a))) {
		lock_free(l);
		return NLM4_DENIED_NOLOCKS;
	}
	l->next = m->head;
	m->head = l;
	m->n++;
	return NLM4_GRANTED;
}

static uint32_t do_lock(struct nfs_nlm *m, const struct nfs_handle *h, const struct nlm4_args *a,
			uint32_t peer)
{
	struct nlm_wait *w;
	uint32_t st;

	pthread_mutex_lock(&m->lock);
	w = waiter_take(m, h, a); /* asked again: granted now, or waits on */
	st = lock_locked(m, h, a, peer);
	if (st == NLM4_DENIED && a->block) {
		if (!w && m->nwait < NLM_MAX_WAITERS && (w = malloc(sizeof(*w)))) {
			w->h = *h;
			w->a = *a;
			w->peer = peer;
		}
		if (w) {
			w->until = nfs_now() + NLM_WAIT_S;
			w->next = m->waiters;
			m->waiters = w;
			m->nwait++;
			w = NULL;
		}
		st = NLM4_BLOCKED;
	}
	pthread_mutex_unlock(&m->lock);
	free(w);
	return st;
}

struct grant_arg {
	struct nfs_nlm *m;
	struct nlm_wait *w;
};

static void *grant_thread(void *arg)
{
	struct grant_arg g = *(struct grant_arg *)arg;
	struct in_addr ia = {htonl(g.w->peer)};
	char ip[INET_ADDRSTRLEN];

	free(arg);
	inet_ntop(AF_INET, &ia, ip, sizeof(ip));
	if (nlm_grant_notify(g.w->peer, &g.w->a)) {
		gl_warn("nfs: NLM GRANTED to %s (%s) failed: lock released again", ip,
			g.w->a.caller);
		pthread_mutex_lock(&g.m->lock);
		subtract(g.m, &g.w->h, &g.w->a, g.w->a.offset, range_end(&g.w->a));
		pthread_mutex_unlock(&g.m->lock);
	}
	free(g.w);
	pthread_mutex_lock(&g.m->lock);
	if (--g.m->notifying == 0)
		pthread_cond_broadcast(&g.m->idle);
	pthread_mutex_unlock(&g.m->lock);
	return NULL;
}

/* After locks went away: each waiter whose range is free now gets its lock, and its client is
 * told; waiters nobody asked for lately are dropped. */
static void grant_waiters(struct nfs_nlm *m)
{
	double now = nfs_now();

	pthread_mutex_lock(&m->lock);
	for (struct nlm_wait **pp = &m->waiters; *pp;) {
		struct nlm_wait *w = *pp;
		struct grant_arg *g;
		pthread_t t;

		if (w->until >= now && lock_locked(m, &w->h, &w->a, w->peer) != NLM4_GRANTED) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		m->nwait--;
		if (w->until < now || !(g = malloc(sizeof(*g)))) {
			free(w);
			continue;
		}
		g->m = m;
		g->w = w;
		m->notifying++;
		if (pthread_create(&t, NULL, grant_thread, g)) {
			m->notifying--;
			subtract(m, &w->h, &w->a, w->a.offset, range_end(&w->a));
			free(g);
			free(w);
			continue;
		}
		pthread_detach(t);
	}
	pthread_mutex_unlock(&m->lock);
}

static void put_res(struct nfs_req *r, const struct nlm4_args *a, uint32_t st)
{
	nx_put_opaque(r->out, a->cookie, a->cookie_len);
	nx_put_u32(r->out, st);
}

static void do_test(struct nfs_req *r, struct nfs_nlm *m, const struct nfs_handle *h,
		    const struct nlm4_args *a)
{
	struct nlm_lock *l;

	pthread_mutex_lock(&m->lock);
	l = conflict(m, h, a);
	put_res(r, a, l ? NLM4_DENIED : NLM4_GRANTED);
	if (l) { /* nlm4_holder */
		nx_put_u32(r->out, (uint32_t)l->excl);
		nx_put_u32(r->out, (uint32_t)l->svid);
		nx_put_opaque(r->out, l->oh, l->oh_len);
		nx_put_u64(r->out, l->start);
		nx_put_u64(r->out, l->end == UINT64_MAX ? 0 : l->end - l->start + 1);
	}
	pthread_mutex_unlock(&m->lock);
}

int nfs_nlm_free_host(struct nfs_nlm *m, const char *name, uint32_t addr)
{
	int freed = 0;

	pthread_mutex_lock(&m->lock);
	for (struct nlm_lock **pp = &m->head; *pp;) {
		struct nlm_lock *l = *pp;

		if (strcmp(l->caller, name) && (addr == 0 || l->peer != addr)) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		lock_free(l);
		m->n--;
		freed++;
	}
	for (struct nlm_wait **pp = &m->waiters; *pp;) {
		struct nlm_wait *w = *pp;

		if (strcmp(w->a.caller, name) && (addr == 0 || w->peer != addr)) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		m->nwait--;
		free(w);
	}
	pthread_mutex_unlock(&m->lock);
	grant_waiters(m);
	return freed;
}

/* The file a lock names, if it is one the caller may see: NLM4_GRANTED or why not. */
static uint32_t nlm_file(struct nfs_req *r, const struct nlm4_args *a, struct nfs_handle *h)
{
	struct glory_attr at;
	struct nfs_vol *v;
	uint32_t st = nfs_resolve(r, &a->fh, &v, &at);

	if (st == NFS3_OK && (at.mode & 0170000) == 0040000)
		return NLM4_FAILED; /* locks are on files */
	if (st == NFS3ERR_BADHANDLE || st == NFS3ERR_STALE)
		return NLM4_STALE_FH;
	if (st != NFS3_OK)
		return st == NFS3ERR_JUKEBOX ? NLM4_DENIED_GRACE_PERIOD : NLM4_FAILED;
	nfs_fh_decode(&a->fh, h);
	return NLM4_GRANTED;
}

uint32_t nfs_nlm_call(struct nfs_req *r)
{
	struct nfs_nlm *m = r->s->nlm;
	struct nlm4_args *a = malloc(sizeof(*a));
	struct nfs_handle h;
	uint32_t st;
	int rc;

	if (!a)
		return NR_SYSTEM_ERR;
	if ((rc = nlm4_decode_args(r->call.proc, &r->in, a))) {
		free(a);
		return rc == -ENOSYS ? NR_PROC_UNAVAIL : NR_GARBAGE_ARGS;
	}
	switch (r->call.proc) {
	case NLM4_NULL:
		break;
	case NLM4_FREE_ALL: /* only the name: its address may be another client's too */
		gl_info("nfs: NLM FREE_ALL for %s: %d locks freed", a->caller,
			nfs_nlm_free_host(m, a->caller, 0));
		break;
	case NLM4_TEST:
		if (nfs_nsm_in_grace(r->s->nsm))
			put_res(r, a, NLM4_DENIED_GRACE_PERIOD);
		else if ((st = nlm_file(r, a, &h)) == NLM4_GRANTED)
			do_test(r, m, &h, a);
		else
			put_res(r, a, st);
		break;
	case NLM4_LOCK:
	case NLM4_NM_LOCK:
		if (!a->reclaim && nfs_nsm_in_grace(r->s->nsm))
			st = NLM4_DENIED_GRACE_PERIOD;
		else if ((st = nlm_file(r, a, &h)) == NLM4_GRANTED && r->call.proc == NLM4_LOCK &&
			 nfs_nsm_record(r->s->nsm, a->caller, r->peer, a->reclaim))
			st = NLM4_DENIED_NOLOCKS; /* its client could not be recorded */
		if (st == NLM4_GRANTED)
			st = do_lock(m, &h, a, r->peer);
		put_res(r, a, st);
		break;
	case NLM4_CANCEL: /* the waiting request goes (granted or not, the answer is GRANTED) */
		if ((st = nlm_file(r, a, &h)) == NLM4_GRANTED) {
			pthread_mutex_lock(&m->lock);
			free(waiter_take(m, &h, a));
			pthread_mutex_unlock(&m->lock);
		}
		put_res(r, a, st);
		break;
	case NLM4_UNLOCK:
		if ((st = nlm_file(r, a, &h)) == NLM4_GRANTED) {
			pthread_mutex_lock(&m->lock);
			if (subtract(m, &h, a, a->offset, range_end(a)))
				st = NLM4_DENIED_NOLOCKS;
			pthread_mutex_unlock(&m->lock);
			grant_waiters(m);
		}
		put_res(r, a, st);
		break;
	}
	free(a);
	return NR_SUCCESS;
}

/* RPC connection pool: idle connections per address, shared by threads. Contract: common/rpc.h.
 *
 * A connection is either in the pool (idle, owned by the pool under p->lock) or taken by exactly
 * one thread, which puts it back after a complete call or closes it after a transport error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* POLLRDHUP; the build defines it, a bare compile may not */
#endif
#include "common/errors.h"
#include "common/rpc_internal.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_PER_ADDR	    64
#define POOL_DEF_CONNECT_MS 3000

struct pool_ent {
	char addr[GL_RPC_ADDR_LEN];
	int n;
	struct gl_rpc_conn *idle[POOL_PER_ADDR]; /* a stack: the most recently used on top */
};

struct gl_rpc_pool {
	int connect_ms;	      /* <= 0 at creation: POOL_DEF_CONNECT_MS */
	pthread_mutex_t lock; /* guards ents, nents, cap and the entries */
	struct pool_ent **ents;
	int nents, cap;
};

int gl_rpc_pool_new(int connect_timeout_ms, struct gl_rpc_pool **out)
{
	struct gl_rpc_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -GL_ENOMEM;
	p->connect_ms = connect_timeout_ms > 0 ? connect_timeout_ms : POOL_DEF_CONNECT_MS;
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

void gl_rpc_pool_free(struct gl_rpc_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nents; i++) {
		for (int j = 0; j < p->ents[i]->n; j++)
			gl_rpc_close(p->ents[i]->idle[j]);
		free(p->ents[i]);
	}
	free(p->ents);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Under p->lock. With create, adds a missing entry (NULL when out of memory). */
static struct pool_ent *find_ent(struct gl_rpc_pool *p, const char *addr, int create)
{
	struct pool_ent *e;

	for (int i = 0; i < p->nents; i++)
		if (!strcmp(p->ents[i]->addr, addr))
			return p->ents[i];
	if (!create)
		return NULL;
	if (p->nents == p->cap) {
		int cap = p->cap ? 2 * p->cap : 16;
		struct pool_ent **ne = realloc(p->ents, sizeof(*ne) * (size_t)cap);

		if (!ne)
			return NULL;
		p->ents = ne;
		p->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	p->ents[p->nents++] = e;
	return e;
}

/* An idle connection must have nothing to read: readable means closed, reset or stray bytes. */
static int looks_open(const struct gl_rpc_conn *c)
{
	struct pollfd pf = {.fd = c->fd, .events = POLLIN | POLLRDHUP};

	return poll(&pf, 1, 0) == 0;
}

struct gl_rpc_conn *gl_rpc_pool_take(struct gl_rpc_pool *p, const char *addr)
{
	if (!p)
		return NULL;
	for (;;) {
		struct gl_rpc_conn *c = NULL;
		struct pool_ent *e;

		pthread_mutex_lock(&p->lock);
		e = find_ent(p, addr, 0);
		if (e && e->n)
			c = e->idle[--e->n];
		pthread_mutex_unlock(&p->lock);
		if (!c)
			return NULL;
		if (looks_open(c)) {
			c->reused = 1;
			return c;
		}
		gl_rpc_close(c);
	}
}

void gl_rpc_pool_put(struct gl_rpc_pool *p, struct gl_rpc_conn *c)
{
	struct pool_ent *e;

	if (p) {
		pthread_mutex_lock(&p->lock);
		e = find_ent(p, c->addr, 1);
		if (e && e->n < POOL_PER_ADDR) {
			e->idle[e->n++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&p->lock);
	}
	gl_rpc_close(c);
}

int gl_rpc_pool_connect_ms(const struct gl_rpc_pool *p, int64_t deadline)
{
	int ms = p ? p->connect_ms : POOL_DEF_CONNECT_MS, left = gl_rpc_left_ms(deadline);

	return ms < left ? ms : left;
}

int gl_rpc_pool_call(struct gl_rpc_pool *p, const char *addr, struct gl_rpc_call *call,
		     int timeout_ms)
{
	int64_t deadline = gl_rpc_deadline(timeout_ms);
	int rc;

	gl_rpc_reply_clear(call);
	if (!addr || strlen(addr) >= GL_RPC_ADDR_LEN) {
		call->status = -GL_EINVAL;
		return -GL_EINVAL;
	}
	/* first a pooled connection if there is one; then, if the peer had closed it, a new one */
	for (int attempt = 0;; attempt++) {
		struct gl_rpc_conn *c = attempt ? NULL : gl_rpc_pool_take(p, addr);
		int got_reply, reused;

		if (!c) {
			rc = gl_rpc_connect(addr, gl_rpc_pool_connect_ms(p, deadline), &c);
			if (rc) {
				call->status = rc;
				return rc;
			}
		}
		reused = c->reused;
		rc = gl_rpc_call_on(c, call, deadline, &got_reply);
		if (!rc) {
			gl_rpc_pool_put(p, c);
			return call->status;
		}
		gl_rpc_close(c);
		if (attempt || !gl_rpc_retryable(rc, reused, got_reply))
			return rc;
	}
}

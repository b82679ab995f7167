#include "cluster/ms_client.h"

#include "cluster/rpc.h"

#include "common/errors.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The master believed to lead, per master list (a process talks to one cluster, rarely two). */
static pthread_mutex_t hint_lock = PTHREAD_MUTEX_INITIALIZER;
static char hint_list[512], hint_addr[GL_ADDR_MAX];

static int call_one(struct gl_rpc_pool *p, const char *addr, uint16_t op,
		    const struct gl_wbuf *args, struct gl_rpc_call *c, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->opcode = op;
	c->args = args ? args->p : NULL;
	c->args_len = args ? (uint32_t)args->len : 0;
	return gl_rpc_pool_call(p, addr, c, timeout_ms);
}

/* master is "H:P" or a list "H:P,H:P,...": the leader answers; the others redirect to it. */
int gl_ms_call(struct gl_rpc_pool *p, const char *master, uint16_t op, const struct gl_wbuf *args,
	       struct gl_rpc_call *c)
{
	char list[GL_MS_MAX_MASTERS][GL_ADDR_MAX], addr[GL_ADDR_MAX];
	int n = 0, rc = -GL_ECONN, next = 0;
	const char *s = master;
	struct timespec t0, now;

	memset(c, 0, sizeof(*c));
	if (args && args->err)
		return args->err;
	if (!strchr(master, ',')) {
		/* one master: if it is electing itself (just restarted), wait for that */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct timespec ts = {0, 100 * 1000 * 1000};

			rc = call_one(p, master, op, args, c, GL_MS_TIMEOUT_MS);
			if (rc != -GL_ENOTLEADER)
				return rc;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
			    GL_MS_TIMEOUT_MS)
				return -GL_EUNAVAIL;
			gl_rpc_call_done(c);
			memset(c, 0, sizeof(*c));
			nanosleep(&ts, NULL);
		}
	}
	while (s && *s && n < GL_MS_MAX_MASTERS) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		if (len && len < GL_ADDR_MAX) {
			memcpy(list[n], s, len);
			list[n++][len] = '\0';
		}
		s = comma ? comma + 1 : NULL;
	}
	if (!n)
		return -GL_EINVAL;
	pthread_mutex_lock(&hint_lock);
	if (strcmp(hint_list, master) == 0 && hint_addr[0])
		snprintf(addr, sizeof(addr), "%s", hint_addr);
	else
		snprintf(addr, sizeof(addr), "%s", list[0]);
	pthread_mutex_unlock(&hint_lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int attempt = 0;; attempt++) {
		rc = call_one(p, addr, op, args, c, 5000);
		if (rc != -GL_ENOTLEADER && rc != -GL_ECONN && rc != -GL_ECLOSED &&
		    rc != -GL_ETIMEDOUT) {
			pthread_mutex_lock(&hint_lock);
			snprintf(hint_list, sizeof(hint_list), "%s", master);
			snprintf(hint_addr, sizeof(hint_addr), "%s", addr);
			pthread_mutex_unlock(&hint_lock);
			return rc;
		}
		addr[0] = '\0';
		if (rc == -GL_ENOTLEADER && c->rargs_len > 2) {
			struct gl_rbuf r;

			gl_rbuf_init(&r, c->rargs, c->rargs_len);
			gl_get_str(&r, addr, sizeof(addr));
			if (gl_rbuf_check(&r))
				addr[0] = '\0';
		}
		if (!addr[0])
			snprintf(addr, sizeof(addr), "%s", list[next++ % n]);
		gl_rpc_call_done(c);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
		    GL_MS_TIMEOUT_MS)
			return rc == -GL_ENOTLEADER ? -GL_EUNAVAIL : rc;
		if (attempt >= n) {
			struct timespec ts = {0, 100 * 1000 * 1000}; /* an election is on */

			nanosleep(&ts, NULL);
		}
	}
}

int gl_ms_get_map(struct gl_rpc_pool *p, const char *master, struct gl_map *out)
{
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc = gl_ms_call(p, master, GL_MS_GET_MAP, NULL, &c);

	if (rc == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		rc = gl_map_decode(&r, out);
	}
	gl_rpc_call_done(&c);
	return rc;
}

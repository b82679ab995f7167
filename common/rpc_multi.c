/* Parallel RPC calls from one thread: a small state machine per call driven by one poll loop.
 * Contract: common/rpc.h (gl_rpc_multi).
 *
 * Each call: a pooled connection, or a non-blocking connect (all calls connect at once) ->
 * send header, args and bulk with sendmsg as the socket takes them (no copies) -> receive the
 * reply header, then args, then bulk straight into call->rbuf when it fits, chaining the body CRC
 * as bytes arrive -> done. A pooled connection the peer had closed is replaced once by a fresh
 * one (as gl_rpc_pool_call does). Everything ends by one deadline.
 */
#include "common/crc.h"
#include "common/errors.h"
#include "common/rpc_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum mc_phase { MC_CONNECT, MC_SEND, MC_HDR, MC_ARGS, MC_BULK, MC_DONE };

struct mcall {
	struct gl_rpc_call *call;
	const char *addr;
	enum mc_phase phase;
	struct gl_rpc_conn *c; /* from MC_SEND on, until put back or closed */
	/* connecting */
	int fd; /* the socket while in MC_CONNECT, else -1 */
	struct addrinfo *ai_head, *ai_next;
	int64_t connect_deadline;
	int retried;   /* a stale pooled connection was replaced */
	int got_reply; /* some reply bytes arrived: no retry */
	/* sending: out.iov stays intact for a retry, siov is consumed */
	struct gl_rpc_out out;
	struct iovec siov[GL_RPC_MAX_IOV + 2];
	struct iovec *iov;
	int niov;
	/* receiving */
	uint8_t rhdr[GL_RPC_HDR_SIZE];
	struct gl_frame_hdr h;
	size_t got; /* bytes of the current phase */
	uint32_t crc;
};

struct multi {
	struct gl_rpc_pool *p;
	int64_t deadline;
};

static void mc_fail(struct mcall *m, int rc)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	gl_rpc_close(m->c);
	m->c = NULL;
	gl_rpc_call_fail(m->call, rc);
	m->phase = MC_DONE;
}

static void mc_send_begin(struct mcall *m)
{
	memcpy(m->siov, m->out.iov, sizeof(m->siov[0]) * (size_t)m->out.niov);
	m->iov = m->siov;
	m->niov = m->out.niov;
	m->phase = MC_SEND;
}

/* Tries the host's next address; without one left, the call fails with rc. */
static void mc_connect_next(struct mcall *m, int rc)
{
	while (m->ai_next) {
		const struct addrinfo *ai = m->ai_next;
		int fd;

		m->ai_next = ai->ai_next;
		rc = gl_rpc_connect_start(ai, &fd);
		if (rc < 0)
			continue;
		if (rc == 1) {
			m->fd = fd;
			m->phase = MC_CONNECT;
			return;
		}
		rc = gl_rpc_conn_wrap(fd, m->addr, &m->c);
		if (rc)
			break;
		mc_send_begin(m);
		return;
	}
	mc_fail(m, rc);
}

/* Starts connecting to m->addr: the host is resolved once per call. */
static void mc_connect(struct multi *mu, struct mcall *m)
{
	int rc;

	if (!m->ai_head) {
		rc = gl_rpc_resolve(m->addr, 0, &m->ai_head);
		if (rc) {
			mc_fail(m, rc);
			return;
		}
	}
	m->ai_next = m->ai_head;
	m->connect_deadline = gl_rpc_deadline(gl_rpc_pool_connect_ms(mu->p, mu->deadline));
	mc_connect_next(m, -GL_ECONN);
}

static void mc_connected(struct mcall *m)
{
	int rc = gl_rpc_connect_finish(m->fd);

	if (rc) {
		close(m->fd);
		m->fd = -1;
		mc_connect_next(m, rc);
		return;
	}
	rc = gl_rpc_conn_wrap(m->fd, m->addr, &m->c);
	m->fd = -1;
	if (rc) {
		mc_fail(m, rc);
		return;
	}
	mc_send_begin(m);
}

/* A transport error: once on a stale pooled connection, start over on a fresh one. */
static void mc_error(struct multi *mu, struct mcall *m, int rc)
{
	if (!m->retried && m->c && gl_rpc_retryable(rc, m->c->reused, m->got_reply)) {
		m->retried = 1;
		gl_rpc_close(m->c);
		m->c = NULL;
		mc_connect(mu, m);
		return;
	}
	mc_fail(m, rc);
}

static void mc_send(struct multi *mu, struct mcall *m)
{
	int rc = 0;

	while (m->niov && rc == 0)
		rc = gl_rpc_send_some(m->c->fd, &m->iov, &m->niov);
	if (rc < 0) {
		mc_error(mu, m, rc);
	} else if (!m->niov) {
		m->phase = MC_HDR;
		m->got = 0;
	}
}

/* The current receive phase is complete: check it and move on. */
static int mc_advance(struct mcall *m)
{
	int rc = 0;

	switch (m->phase) {
	case MC_HDR:
		rc = gl_frame_hdr_decode(m->rhdr, &m->h);
		if (!rc)
			rc = gl_rpc_reply_begin(m->call, &m->h, m->out.id);
		m->crc = GL_CRC_INIT;
		m->phase = MC_ARGS;
		break;
	case MC_ARGS:
		m->phase = MC_BULK;
		break;
	default:
		rc = gl_rpc_reply_end(m->call, &m->h, m->crc);
		m->phase = MC_DONE;
		break;
	}
	m->got = 0;
	return rc;
}

static void mc_recv(struct multi *mu, struct mcall *m)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t r;
		int rc;

		if (m->phase == MC_HDR) {
			dst = m->rhdr;
			want = sizeof(m->rhdr);
		} else if (m->phase == MC_ARGS) {
			dst = m->call->rargs;
			want = m->h.args_len;
		} else {
			dst = m->call->rbulk;
			want = m->h.bulk_len;
		}
		if (m->got == want) {
			rc = mc_advance(m);
			if (rc)
				mc_fail(m, rc);
			if (m->phase == MC_DONE)
				return;
			continue;
		}
		r = recv(m->c->fd, dst + m->got, want - m->got, 0);
		if (r > 0) {
			if (m->phase != MC_HDR)
				m->crc = gl_crc32c(m->crc, dst + m->got, (size_t)r);
			m->got += (size_t)r;
			m->got_reply = 1;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		mc_error(mu, m, r == 0 ? -GL_ECLOSED : gl_from_errno(errno));
		return;
	}
}

/* Sets up call i: its frame, then a pooled connection or a connect in progress. */
static void mc_start(struct multi *mu, struct mcall *m)
{
	int rc;

	m->fd = -1;
	if (!m->addr || strlen(m->addr) >= GL_RPC_ADDR_LEN) {
		mc_fail(m, -GL_EINVAL);
		return;
	}
	rc = gl_rpc_out_build(m->call, &m->out);
	if (rc) {
		mc_fail(m, rc);
		return;
	}
	m->c = gl_rpc_pool_take(mu->p, m->addr);
	if (m->c)
		mc_send_begin(m);
	else
		mc_connect(mu, m);
	if (m->phase == MC_SEND)
		mc_send(mu, m);
}

/* One readiness event for m. */
static void mc_step(struct multi *mu, struct mcall *m)
{
	if (m->phase == MC_CONNECT)
		mc_connected(m);
	if (m->phase == MC_SEND)
		mc_send(mu, m);
	else if (m->phase != MC_CONNECT && m->phase != MC_DONE)
		mc_recv(mu, m);
}

/* Builds the poll set; fails calls whose connect ran out of time. Returns the number of fds and
 * the earliest deadline to wake up for. */
static int mc_pollset(struct mcall *mc, int n, struct pollfd *pf, int *map, int64_t *wake)
{
	int64_t now = gl_rpc_now_ms();
	int np = 0;

	for (int i = 0; i < n; i++) {
		struct mcall *m = &mc[i];

		if (m->phase == MC_CONNECT && now >= m->connect_deadline)
			mc_fail(m, -GL_ETIMEDOUT);
		if (m->phase == MC_DONE)
			continue;
		if (m->phase == MC_CONNECT) {
			pf[np] = (struct pollfd){.fd = m->fd, .events = POLLOUT};
			if (m->connect_deadline < *wake)
				*wake = m->connect_deadline;
		} else {
			pf[np] = (struct pollfd){.fd = m->c->fd,
						 .events = m->phase == MC_SEND ? POLLOUT : POLLIN};
		}
		map[np++] = i;
	}
	return np;
}

static void mc_run(struct multi *mu, struct mcall *mc, int n, struct pollfd *pf, int *map)
{
	for (;;) {
		int64_t wake = mu->deadline;
		int np = mc_pollset(mc, n, pf, map, &wake), r;

		if (!np)
			return;
		if (gl_rpc_now_ms() >= mu->deadline) {
			for (int j = 0; j < np; j++)
				mc_fail(&mc[map[j]], -GL_ETIMEDOUT);
			return;
		}
		r = poll(pf, (nfds_t)np, gl_rpc_left_ms(wake));
		if (r < 0 && errno != EINTR) {
			r = gl_from_errno(errno);
			for (int j = 0; j < np; j++)
				mc_fail(&mc[map[j]], r);
			return;
		}
		for (int j = 0; j < np && r > 0; j++)
			if (pf[j].revents)
				mc_step(mu, &mc[map[j]]);
	}
}

int gl_rpc_multi(struct gl_rpc_pool *p, int n, const char *const *addrs, struct gl_rpc_call *calls,
		 int timeout_ms)
{
	struct multi mu = {.p = p, .deadline = gl_rpc_deadline(timeout_ms)};
	struct mcall *mc = NULL;
	struct pollfd *pf = NULL;
	int *map = NULL, rc = 0;

	if (n < 0 || (n && (!addrs || !calls)))
		return -GL_EINVAL;
	if (!n)
		return 0;
	for (int i = 0; i < n; i++)
		gl_rpc_reply_clear(&calls[i]);
	mc = calloc((size_t)n, sizeof(*mc));
	pf = calloc((size_t)n, sizeof(*pf));
	map = calloc((size_t)n, sizeof(*map));
	if (!mc || !pf || !map) {
		for (int i = 0; i < n; i++)
			calls[i].status = -GL_ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		mc[i].call = &calls[i];
		mc[i].addr = addrs[i];
		mc_start(&mu, &mc[i]);
	}
	mc_run(&mu, mc, n, pf, map);
	for (int i = 0; i < n; i++) {
		if (mc[i].c)
			gl_rpc_pool_put(p, mc[i].c); /* a reply came: the connection is in step */
		if (mc[i].ai_head)
			freeaddrinfo(mc[i].ai_head);
	}
out:
	for (int i = 0; i < n && !rc; i++)
		rc = calls[i].status;
	free(mc);
	free(pf);
	free(map);
	return rc;
}

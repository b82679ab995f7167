/* RPC server: an accept thread and one thread per connection; requests on a connection are
 * served in order. Contract: common/rpc.h.
 *
 * Threads and ownership:
 * - The accept thread owns the listening socket until stop; it waits on s->cv while max_conns
 *   connections are open, and joins connection threads that have finished.
 * - A connection thread owns its srv_conn. When it ends, it unlinks itself from s->live, closes
 *   its socket and moves to s->dead, all under s->lock, so that stop never shuts down an fd
 *   number that has been reused. Whoever takes it from s->dead joins the thread and frees it.
 * - cfg.ops and cfg.ctx are borrowed until gl_rpc_server_stop returns; cfg.listen only during
 *   gl_rpc_server_start.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4; the build defines it, a bare compile may not */
#endif
#include "common/compiler.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/rpc_internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEF_MAX_CONNS	    1024
#define DEF_IO_TIMEOUT_MS   30000
#define DEF_IDLE_TIMEOUT_MS 600000
#define CONN_STACK_SIZE	    (1u << 20)
#define DRAIN_CHUNK	    (16u << 10)
/* A connection reads into a buffer of its own, so that a request's header, arguments and a
 * small bulk come in with one recv (a 4 KiB read or write of a data server: one recv instead of
 * two or three). Larger bodies go straight to their buffers. */
#define IN_CAP (16u << 10)
/* After an error reply, how long and how much of the peer's input to read before closing, so
 * the close does not turn into a reset that destroys the reply in flight. */
#define LINGER_MS    200
#define LINGER_BYTES (1u << 20)

struct srv_conn {
	struct gl_rpc_server *s;
	int fd;
	pthread_t th;
	char peer[64];
	struct srv_conn *next;	 /* in s->live or s->dead, under s->lock */
	uint32_t in_off, in_len; /* in[in_off, in_len): received, not consumed yet */
	uint8_t in[IN_CAP];
};

struct gl_rpc_server {
	struct gl_rpc_server_cfg cfg; /* defaults applied */
	int lfd;
	int wakefd; /* eventfd: tells the accept thread to look at `stopping` */
	int port;
	pthread_t acceptor;
	pthread_mutex_t lock; /* guards live, dead, nlive */
	pthread_cond_t cv;    /* a connection ended, or stop began */
	struct srv_conn *live;
	struct srv_conn *dead;
	unsigned nlive;
	atomic_int stopping;
	int accept_errno; /* accept thread only: last accept failure logged */
};

static const struct gl_rpc_op *find_op(const struct gl_rpc_server *s, uint16_t opcode)
{
	for (size_t i = 0; i < s->cfg.nops; i++)
		if (s->cfg.ops[i].opcode == opcode && s->cfg.ops[i].fn)
			return &s->cfg.ops[i];
	return NULL;
}

/* ---- one connection ---- */

/* Refills the empty input buffer with one recv, waiting for bytes until deadline. */
static int conn_fill(struct srv_conn *c, int64_t deadline)
{
	ssize_t r = gl_rpc_recv_some(c->fd, c->in, sizeof(c->in), deadline);

	c->in_off = 0;
	c->in_len = r > 0 ? (uint32_t)r : 0;
	return r > 0 ? 0 : (int)r;
}

/* Reads exactly len bytes of the peer's stream: what the buffer holds first, then a large rest
 * straight into dst, a small one through the buffer. crc (if not NULL) is extended over them. */
static int conn_read(struct srv_conn *c, void *dst, size_t len, int64_t deadline, uint32_t *crc)
{
	uint8_t *p = dst;
	int rc;

	while (len) {
		size_t n = c->in_len - c->in_off;

		if (n) {
			n = n < len ? n : len;
			memcpy(p, c->in + c->in_off, n);
			if (crc)
				*crc = gl_crc32c(*crc, p, n);
			c->in_off += (uint32_t)n;
			p += n;
			len -= n;
		} else if (len >= sizeof(c->in)) {
			return gl_rpc_recv_full(c->fd, p, len, deadline, crc);
		} else if ((rc = conn_fill(c, deadline))) {
			return rc;
		}
	}
	return 0;
}

/* Sends a reply with status and an optional body (args and bulk iovecs, borrowed). */
static int send_reply(struct srv_conn *c, uint16_t opcode, uint64_t id, int status,
		      const struct gl_wbuf *args, const struct iovec *bulk, int nbulk)
{
	struct gl_frame_hdr rh = {.version = GL_RPC_VERSION,
				  .flags = GL_RPC_F_REPLY,
				  .opcode = opcode,
				  .id = id,
				  .status = status};
	struct iovec iov[GL_RPC_MAX_IOV + 2];
	uint8_t hdr[GL_RPC_HDR_SIZE];
	int n = 0;

	iov[n++] = (struct iovec){hdr, sizeof(hdr)};
	if (args && args->len) {
		rh.args_len = (uint32_t)args->len;
		iov[n++] = (struct iovec){args->p, args->len};
	}
	for (int i = 0; i < nbulk; i++) {
		if (!bulk[i].iov_len)
			continue;
		rh.bulk_len += (uint32_t)bulk[i].iov_len;
		iov[n++] = bulk[i];
	}
	rh.body_crc = gl_frame_body_crc(rh.args_len ? args->p : NULL, rh.args_len, bulk, nbulk);
	gl_frame_hdr_encode(&rh, hdr);
	return gl_rpc_send_iov(c->fd, iov, n, gl_rpc_deadline((int)c->s->cfg.io_timeout_ms));
}

/* Replies with an error before closing, then reads (and drops) what the peer is still sending
 * for a moment: closing with unread input would reset the connection and lose the reply. */
static void reply_error_and_linger(struct srv_conn *c, uint16_t opcode, uint64_t id, int status)
{
	uint8_t junk[DRAIN_CHUNK];
	int64_t deadline = gl_rpc_deadline(LINGER_MS);
	size_t total = 0;

	if (send_reply(c, opcode, id, status, NULL, NULL, 0))
		return;
	shutdown(c->fd, SHUT_WR);
	while (total < LINGER_BYTES && !gl_rpc_wait(c->fd, POLLIN, deadline)) {
		ssize_t r = recv(c->fd, junk, sizeof(junk), 0);

		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			break;
		if (r > 0)
			total += (size_t)r;
	}
}

/* Reads and drops a request body, checking its CRC: 0, -GL_ECORRUPT or a transport error. */
static int drain_body(struct srv_conn *c, const struct gl_frame_hdr *h, int64_t deadline)
{
	uint8_t junk[DRAIN_CHUNK];
	uint64_t left = (uint64_t)h->args_len + h->bulk_len;
	uint32_t crc = GL_CRC_INIT;
	int rc = 0;

	while (left && !rc) {
		size_t n = left < sizeof(junk) ? (size_t)left : sizeof(junk);

		rc = conn_read(c, junk, n, deadline, &crc);
		left -= n;
	}
	if (!rc && crc != h->body_crc)
		rc = -GL_ECORRUPT;
	return rc;
}

/* Answers a well-formed request without running a handler (unknown opcode, no memory for its
 * body): the body is read and dropped so the connection stays in step. */
static int refuse(struct srv_conn *c, const struct gl_frame_hdr *h, int64_t deadline, int status)
{
	int rc = drain_body(c, h, deadline);

	if (rc == -GL_ECORRUPT) {
		gl_warn("rpc: %s: body checksum mismatch; closing", c->peer);
		reply_error_and_linger(c, h->opcode, h->id, rc);
		return rc;
	}
	if (rc)
		return rc;
	return send_reply(c, h->opcode, h->id, status, NULL, NULL, 0);
}

/* Runs the handler on a received request and sends its reply. */
static int run_handler(struct srv_conn *c, const struct gl_rpc_op *op, const struct gl_frame_hdr *h,
		       const uint8_t *args, uint8_t *bulk, int *steal)
{
	struct gl_rpc_req req = {.opcode = h->opcode,
				 .id = h->id,
				 .args = args,
				 .args_len = h->args_len,
				 .bulk = bulk,
				 .bulk_len = h->bulk_len,
				 .bulk_steal = steal,
				 .peer = c->peer};
	struct gl_rpc_reply rep;
	struct gl_wbuf out;
	uint64_t blen = 0;
	int status, rc, body = 0;

	gl_wbuf_init(&out);
	memset(&rep, 0, sizeof(rep));
	rep.args = &out;
	status = op->fn(c->s->cfg.ctx, &req, &rep);
	if (rep.nbulk < 0 || rep.nbulk > GL_RPC_MAX_IOV) {
		gl_error("rpc: handler %s returned %d bulk iovecs", op->name, rep.nbulk);
		status = -GL_EINVAL;
	} else if (out.err) {
		status = out.err; /* the reply could not be encoded */
	} else {
		for (int i = 0; i < rep.nbulk; i++)
			blen += rep.bulk[i].iov_len;
		body = out.len <= GL_RPC_MAX_ARGS && blen <= GL_RPC_MAX_BULK;
		if (!body) {
			gl_error("rpc: handler %s: reply too large (%zu + %llu bytes)", op->name,
				 out.len, (unsigned long long)blen);
			status = -GL_E2BIG;
		}
	}
	if (body)
		rc = send_reply(c, h->opcode, h->id, status, &out, rep.bulk, rep.nbulk);
	else
		rc = send_reply(c, h->opcode, h->id, status, NULL, NULL, 0);
	if (rep.bulk_free)
		rep.bulk_free(rep.bulk_owner);
	gl_wbuf_free(&out);
	return rc;
}

/* Reads the body of a request whose header checked out, verifies it and serves it. Returns 0 to
 * keep the connection, or an error to close it. */
static int serve_request(struct srv_conn *c, const struct gl_frame_hdr *h, int64_t deadline)
{
	const struct gl_rpc_op *op = find_op(c->s, h->opcode);
	uint32_t crc = GL_CRC_INIT;
	uint8_t *args = NULL, *bulk = NULL;
	int steal = 0, rc;

	if (!op)
		return refuse(c, h, deadline, -GL_EBADOP);
	/* bulk has a buffer of its own so that a handler can keep it (bulk_steal) */
	args = malloc((size_t)h->args_len + 1);
	if (h->bulk_len)
		bulk = malloc(h->bulk_len);
	if (!args || (h->bulk_len && !bulk)) {
		rc = refuse(c, h, deadline, -GL_ENOMEM);
		goto out;
	}
	args[h->args_len] = '\0';
	rc = conn_read(c, args, h->args_len, deadline, &crc);
	if (!rc)
		rc = conn_read(c, bulk, h->bulk_len, deadline, &crc);
	if (rc) {
		if (rc == -GL_ETIMEDOUT)
			gl_warn("rpc: %s: frame incomplete after %u ms; closing", c->peer,
				c->s->cfg.io_timeout_ms);
		goto out;
	}
	if (crc != h->body_crc) {
		gl_warn("rpc: %s: body checksum mismatch; closing", c->peer);
		rc = -GL_ECORRUPT;
		reply_error_and_linger(c, h->opcode, h->id, rc);
		goto out;
	}
	rc = run_handler(c, op, h, args, bulk, &steal);
out:
	free(args);
	if (!steal)
		free(bulk);
	return rc;
}

/* Waits for a request, reads its header and serves it. 0: keep the connection. */
static int serve_one(struct srv_conn *c)
{
	const struct gl_rpc_server_cfg *cfg = &c->s->cfg;
	uint8_t hb[GL_RPC_HDR_SIZE];
	struct gl_frame_hdr h;
	int64_t deadline;
	int rc;

	/* a request already (partly) buffered: a pipelining client's next one */
	rc = c->in_off < c->in_len
		 ? 0
		 : gl_rpc_wait(c->fd, POLLIN, gl_rpc_deadline((int)cfg->idle_timeout_ms));
	if (rc) {
		if (rc == -GL_ETIMEDOUT)
			gl_debug("rpc: %s idle for %u ms; closing", c->peer, cfg->idle_timeout_ms);
		return rc;
	}
	deadline = gl_rpc_deadline((int)cfg->io_timeout_ms);
	rc = conn_read(c, hb, sizeof(hb), deadline, NULL);
	if (rc) {
		if (rc == -GL_ETIMEDOUT)
			gl_warn("rpc: %s: frame incomplete after %u ms; closing", c->peer,
				cfg->io_timeout_ms);
		return rc;
	}
	rc = gl_frame_hdr_decode(hb, &h);
	if (rc) {
		gl_warn("rpc: %s: bad frame header: %s; closing", c->peer, gl_strerror(rc));
		if (rc == -GL_EPROTO) /* nothing in the header can be trusted */
			reply_error_and_linger(c, 0, 0, rc);
		else
			reply_error_and_linger(c, h.opcode, h.id, rc);
		return rc;
	}
	if (h.flags & GL_RPC_F_REPLY) {
		gl_warn("rpc: %s: a reply where a request was expected; closing", c->peer);
		reply_error_and_linger(c, h.opcode, h.id, -GL_EPROTO);
		return -GL_EPROTO;
	}
	return serve_request(c, &h, deadline);
}

static void *conn_main(void *arg)
{
	struct srv_conn *c = arg, **pp;
	struct gl_rpc_server *s = c->s;

	while (!atomic_load(&s->stopping) && serve_one(c) == 0)
		;
	pthread_mutex_lock(&s->lock);
	for (pp = &s->live; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->nlive--;
	close(c->fd);
	c->fd = -1;
	c->next = s->dead;
	s->dead = c;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- accepting ---- */

/* Joins the connection threads that have finished and frees them. */
static void reap(struct gl_rpc_server *s)
{
	struct srv_conn *dead;

	pthread_mutex_lock(&s->lock);
	dead = s->dead;
	s->dead = NULL;
	pthread_mutex_unlock(&s->lock);
	while (dead) {
		struct srv_conn *next = dead->next;

		pthread_join(dead->th, NULL);
		free(dead);
		dead = next;
	}
}

/* Starts a thread for a new connection fd (taken: closed on failure). */
static void conn_start(struct gl_rpc_server *s, int fd, const char *peer)
{
	struct srv_conn *c = calloc(1, sizeof(*c));
	pthread_attr_t at;
	int rc;

	if (!c) {
		gl_warn("rpc: no memory for connection from %s", peer);
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, CONN_STACK_SIZE);
	/* under the lock: c->th is set before the thread can end and be joined */
	pthread_mutex_lock(&s->lock);
	c->next = s->live;
	s->live = c;
	s->nlive++;
	rc = pthread_create(&c->th, &at, conn_main, c);
	if (rc) {
		s->live = c->next;
		s->nlive--;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_attr_destroy(&at);
	if (rc) {
		gl_warn("rpc: cannot start a thread for %s: %s", peer, gl_strerror(-rc));
		close(fd);
		free(c);
	}
}

static void accept_one(struct gl_rpc_server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct pollfd pf = {.fd = s->wakefd, .events = POLLIN};
	char peer[64];
	int fd;

	fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ECONNABORTED)
			return;
		if (errno != s->accept_errno)
			gl_warn("rpc: accept: %s; backing off", strerror(errno));
		s->accept_errno = errno;
		/* out of descriptors or memory: give connections time to end */
		poll(&pf, 1, 100);
		return;
	}
	s->accept_errno = 0;
	gl_rpc_sock_tune(fd);
	gl_rpc_addr_str((struct sockaddr *)&ss, peer, sizeof(peer));
	conn_start(s, fd, peer);
}

static void *accept_main(void *arg)
{
	struct gl_rpc_server *s = arg;

	for (;;) {
		struct pollfd pf[2] = {{.fd = s->lfd, .events = POLLIN},
				       {.fd = s->wakefd, .events = POLLIN}};

		reap(s);
		pthread_mutex_lock(&s->lock);
		while (!atomic_load(&s->stopping) && s->nlive >= s->cfg.max_conns)
			pthread_cond_wait(&s->cv, &s->lock);
		pthread_mutex_unlock(&s->lock);
		if (atomic_load(&s->stopping))
			break;
		if (poll(pf, 2, -1) <= 0 || pf[1].revents)
			continue; /* EINTR, or woken: look at `stopping` again */
		if (pf[0].revents)
			accept_one(s);
	}
	return NULL;
}

/* ---- start and stop ---- */

static int listen_on(struct gl_rpc_server *s, const char *addr)
{
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc = gl_rpc_resolve(addr, 1, &res), one = 1;

	if (rc)
		return rc;
	rc = -GL_EINVAL;
	for (ai = res; ai && s->lfd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);

		if (fd < 0) {
			rc = gl_from_errno(errno);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, SOMAXCONN)) {
			rc = errno == EADDRINUSE ? -GL_EBUSY : gl_from_errno(errno);
			close(fd);
			continue;
		}
		s->lfd = fd;
	}
	freeaddrinfo(res);
	if (s->lfd < 0)
		return rc;
	if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl))
		return gl_from_errno(errno);
	if (ss.ss_family == AF_INET)
		s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int gl_rpc_server_start(const struct gl_rpc_server_cfg *cfg, struct gl_rpc_server **out)
{
	struct gl_rpc_server *s;
	int rc;

	if (!cfg || !out || !cfg->listen || (cfg->nops && !cfg->ops))
		return -GL_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -GL_ENOMEM;
	s->cfg = *cfg;
	s->cfg.listen = NULL;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = DEF_MAX_CONNS;
	if (!s->cfg.io_timeout_ms)
		s->cfg.io_timeout_ms = DEF_IO_TIMEOUT_MS;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = DEF_IDLE_TIMEOUT_MS;
	/* deadlines are computed with int milliseconds */
	s->cfg.io_timeout_ms = GL_MIN(s->cfg.io_timeout_ms, (unsigned)INT_MAX);
	s->cfg.idle_timeout_ms = GL_MIN(s->cfg.idle_timeout_ms, (unsigned)INT_MAX);
	s->lfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	rc = listen_on(s, cfg->listen);
	if (rc)
		goto out_free;
	s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wakefd < 0) {
		rc = gl_from_errno(errno);
		goto out_free;
	}
	rc = pthread_create(&s->acceptor, NULL, accept_main, s);
	if (rc) {
		rc = gl_from_errno(rc);
		close(s->wakefd);
		goto out_free;
	}
	*out = s;
	return 0;
out_free:
	if (s->lfd >= 0)
		close(s->lfd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return rc;
}

int gl_rpc_server_port(const struct gl_rpc_server *s)
{
	return s->port;
}

void gl_rpc_server_stop(struct gl_rpc_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, 1);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	if (write(s->wakefd, &one, sizeof(one)) < 0)
		gl_warn("rpc: cannot wake the accept thread: %s", strerror(errno));
	pthread_join(s->acceptor, NULL);
	close(s->lfd);
	/* wake every connection thread blocked in poll, recv or send; handlers run to the end */
	pthread_mutex_lock(&s->lock);
	for (struct srv_conn *c = s->live; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (s->nlive)
		pthread_cond_wait(&s->cv, &s->lock);
	pthread_mutex_unlock(&s->lock);
	reap(s);
	close(s->wakefd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

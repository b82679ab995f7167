/* RPC: frames, a thread-per-connection server, blocking clients, a connection pool and
 * poll-driven parallel calls. Contract and frame layout: common/rpc.h. */
#include "common/rpc.h"

#include "common/compiler.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GL_ADDR_LEN 128

/* ---- frames ---- */

void gl_frame_hdr_encode(const struct gl_frame_hdr *h, uint8_t out[GL_RPC_HDR_SIZE])
{
	gl_le32(out, GL_RPC_MAGIC);
	out[4] = h->version;
	out[5] = h->flags;
	gl_le16(out + 6, h->opcode);
	gl_le64(out + 8, h->id);
	gl_le32(out + 16, (uint32_t)h->status);
	gl_le32(out + 20, h->args_len);
	gl_le32(out + 24, h->bulk_len);
	gl_le32(out + 28, h->body_crc);
	gl_le32(out + 32, 0);
	gl_le32(out + 36, gl_crc32c(GL_CRC_INIT, out, 36));
}

int gl_frame_hdr_decode(const uint8_t in[GL_RPC_HDR_SIZE], struct gl_frame_hdr *h)
{
	if (gl_rd32(in) != GL_RPC_MAGIC || gl_rd32(in + 36) != gl_crc32c(GL_CRC_INIT, in, 36))
		return -GL_EPROTO;
	h->version = in[4];
	h->flags = in[5];
	h->opcode = gl_rd16(in + 6);
	h->id = gl_rd64(in + 8);
	h->status = (int32_t)gl_rd32(in + 16);
	h->args_len = gl_rd32(in + 20);
	h->bulk_len = gl_rd32(in + 24);
	h->body_crc = gl_rd32(in + 28);
	if (h->version != GL_RPC_VERSION)
		return -GL_EVERSION;
	if (h->args_len > GL_RPC_MAX_ARGS || h->bulk_len > GL_RPC_MAX_BULK)
		return -GL_E2BIG;
	return 0;
}

uint32_t gl_frame_body_crc(const void *args, size_t args_len, const struct iovec *bulk, int nbulk)
{
	uint32_t crc = gl_crc32c(GL_CRC_INIT, args, args_len);

	for (int i = 0; i < nbulk; i++)
		crc = gl_crc32c(crc, bulk[i].iov_base, bulk[i].iov_len);
	return crc;
}

int gl_frame_parse(const uint8_t *p, size_t n, struct gl_frame_hdr *h, const uint8_t **args,
		   const uint8_t **bulk)
{
	int rc;

	if (n < GL_RPC_HDR_SIZE)
		return -GL_EPROTO;
	rc = gl_frame_hdr_decode(p, h);
	if (rc)
		return rc;
	if ((size_t)h->args_len + h->bulk_len != n - GL_RPC_HDR_SIZE)
		return -GL_EPROTO;
	*args = p + GL_RPC_HDR_SIZE;
	*bulk = *args + h->args_len;
	if (gl_crc32c(gl_crc32c(GL_CRC_INIT, *args, h->args_len), *bulk, h->bulk_len) !=
	    h->body_crc)
		return -GL_ECORRUPT;
	return 0;
}

/* ---- socket helpers ---- */

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int split_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *colon = strrchr(addr, ':');

	if (!colon || colon == addr || (size_t)(colon - addr) >= hcap ||
	    strlen(colon + 1) >= pcap || !colon[1])
		return -GL_EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256], port[16];
	struct addrinfo hints = {0}, *res;
	int rc = split_addr(addr, host, sizeof(host), port, sizeof(port));

	if (rc)
		return rc;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res))
		return -GL_EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Waits for fd to become ready for events until deadline (monotonic ms). */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		struct pollfd p = {fd, events, 0};
		double left = deadline - mono_ms();
		int r;

		if (left <= 0)
			return -GL_ETIMEDOUT;
		r = poll(&p, 1, (int)left + 1);
		if (r > 0)
			return 0;
		if (r == 0)
			return -GL_ETIMEDOUT;
		if (errno != EINTR)
			return gl_from_errno(errno);
	}
}

/* Reads exactly len bytes (non-blocking fd) before deadline. */
static int read_full(int fd, void *buf, size_t len, double deadline)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(fd, (uint8_t *)buf + got, len - got, 0);

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			return -GL_ECLOSED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return gl_from_errno(errno);
		r = wait_fd(fd, POLLIN, deadline);
		if (r)
			return r;
	}
	return 0;
}

/* Writes all iovecs (modified in place) before deadline. */
static int write_iov(int fd, struct iovec *iov, int n, double deadline)
{
	while (n > 0) {
		struct msghdr mh = {0};
		ssize_t w;

		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)n;
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return gl_from_errno(errno);
			r = wait_fd(fd, POLLOUT, deadline);
			if (r)
				return r;
			continue;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Sends one frame: header, args, bulk iovecs. */
static int send_frame(int fd, struct gl_frame_hdr *h, const void *args, const struct iovec *bulk,
		      int nbulk, double deadline)
{
	uint8_t hdr[GL_RPC_HDR_SIZE];
	struct iovec iov[GL_RPC_MAX_IOV + 2];
	int n = 0;

	h->args_len = (uint32_t)(args ? h->args_len : 0);
	h->body_crc = gl_frame_body_crc(args, h->args_len, bulk, nbulk);
	gl_frame_hdr_encode(h, hdr);
	iov[n++] = (struct iovec){hdr, sizeof(hdr)};
	if (h->args_len)
		iov[n++] = (struct iovec){(void *)args, h->args_len};
	for (int i = 0; i < nbulk && i < GL_RPC_MAX_IOV; i++)
		if (bulk[i].iov_len)
			iov[n++] = bulk[i];
	return write_iov(fd, iov, n, deadline);
}

/* ---- server ---- */

struct srv_conn {
	struct gl_rpc_server *s;
	int fd;
	char peer[64];
	struct srv_conn *next;
};

struct gl_rpc_server {
	struct gl_rpc_server_cfg cfg;
	int lfd;
	int port;
	pthread_t acceptor;
	pthread_mutex_t lock; /* guards conns, nconns, stopping */
	pthread_cond_t cv;
	struct srv_conn *conns;
	unsigned nconns;
	int stopping;
};

static const struct gl_rpc_op *find_op(const struct gl_rpc_server *s, uint16_t opcode)
{
	for (size_t i = 0; i < s->cfg.nops; i++)
		if (s->cfg.ops[i].opcode == opcode)
			return &s->cfg.ops[i];
	return NULL;
}

static int send_error(int fd, uint16_t opcode, uint64_t id, int status, double deadline)
{
	struct gl_frame_hdr h = {GL_RPC_VERSION, GL_RPC_F_REPLY, opcode, id, status, 0, 0, 0};

	return send_frame(fd, &h, NULL, NULL, 0, deadline);
}

/* Serves one request. Returns 0 to keep the connection, <0 to close it. */
static int serve_one(struct srv_conn *c)
{
	struct gl_rpc_server *s = c->s;
	uint8_t hdr[GL_RPC_HDR_SIZE];
	struct gl_frame_hdr h;
	struct gl_rpc_req req = {0};
	struct gl_rpc_reply rep = {0};
	struct gl_wbuf out;
	const struct gl_rpc_op *op;
	uint8_t *args = NULL, *bulk = NULL;
	int steal = 0, rc, status;
	double deadline;

	/* idle: wait for the first byte of the next frame */
	rc = wait_fd(c->fd, POLLIN, mono_ms() + s->cfg.idle_timeout_ms);
	if (rc)
		return rc;
	deadline = mono_ms() + s->cfg.io_timeout_ms;
	rc = read_full(c->fd, hdr, sizeof(hdr), deadline);
	if (rc)
		return rc;
	rc = gl_frame_hdr_decode(hdr, &h);
	if (rc) {
		gl_warn("rpc: bad frame from %s: %s; closing", c->peer, gl_strerror(rc));
		send_error(c->fd, rc == -GL_EPROTO ? 0 : h.opcode, rc == -GL_EPROTO ? 0 : h.id, rc,
			   deadline);
		return rc;
	}
	if (h.flags & GL_RPC_F_REPLY) {
		send_error(c->fd, h.opcode, h.id, -GL_EPROTO, deadline);
		return -GL_EPROTO;
	}
	args = malloc((size_t)h.args_len + 1);
	bulk = h.bulk_len ? malloc(h.bulk_len) : NULL;
	if (!args || (h.bulk_len && !bulk)) {
		rc = -GL_ENOMEM;
		goto out;
	}
	rc = read_full(c->fd, args, h.args_len, deadline);
	if (!rc && h.bulk_len)
		rc = read_full(c->fd, bulk, h.bulk_len, deadline);
	if (rc)
		goto out;
	if (gl_crc32c(gl_crc32c(GL_CRC_INIT, args, h.args_len), bulk, h.bulk_len) != h.body_crc) {
		gl_warn("rpc: body checksum mismatch from %s; closing", c->peer);
		send_error(c->fd, h.opcode, h.id, -GL_ECORRUPT, deadline);
		rc = -GL_ECORRUPT;
		goto out;
	}
	op = find_op(s, h.opcode);
	if (!op) {
		rc = send_error(c->fd, h.opcode, h.id, -GL_EBADOP, deadline);
		goto out; /* well-formed: keep the connection */
	}
	req.opcode = h.opcode;
	req.id = h.id;
	req.args = args;
	req.args_len = h.args_len;
	req.bulk = bulk;
	req.bulk_len = h.bulk_len;
	req.bulk_steal = &steal;
	req.peer = c->peer;
	gl_wbuf_init(&out);
	rep.args = &out;
	status = op->fn(s->cfg.ctx, &req, &rep);
	if (steal)
		bulk = NULL;
	if (out.err) {
		status = out.err;
		rep.nbulk = 0;
	}
	{
		struct gl_frame_hdr rh = {GL_RPC_VERSION, GL_RPC_F_REPLY,    h.opcode, h.id,
					  status,	  (uint32_t)out.len, 0,	       0};
		uint32_t blen = 0;

		for (int i = 0; i < rep.nbulk; i++)
			blen += (uint32_t)rep.bulk[i].iov_len;
		rh.bulk_len = blen;
		rc = send_frame(c->fd, &rh, out.len ? out.p : NULL, rep.bulk, rep.nbulk,
				mono_ms() + s->cfg.io_timeout_ms);
	}
	if (rep.bulk_free)
		rep.bulk_free(rep.bulk_owner);
	gl_wbuf_free(&out);
out:
	free(args);
	free(bulk);
	return rc;
}

static void *conn_main(void *arg)
{
	struct srv_conn *c = arg, **pp;
	struct gl_rpc_server *s = c->s;

	while (!s->stopping && serve_one(c) == 0)
		;
	close(c->fd);
	pthread_mutex_lock(&s->lock);
	for (pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	s->nconns--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	free(c);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct gl_rpc_server *s = arg;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct pollfd p = {s->lfd, POLLIN, 0};
		struct srv_conn *c;
		pthread_attr_t at;
		pthread_t th;
		char host[INET6_ADDRSTRLEN] = "?";
		int fd, port = 0;

		pthread_mutex_lock(&s->lock);
		while (!s->stopping && s->nconns >= s->cfg.max_conns)
			pthread_cond_wait(&s->cv, &s->lock);
		pthread_mutex_unlock(&s->lock);
		if (s->stopping)
			return NULL;
		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(100 * 1000);
			continue;
		}
		set_nodelay(fd);
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->lock);
		c->next = s->conns;
		s->conns = c;
		s->nconns++;
		pthread_mutex_unlock(&s->lock);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 256 << 10);
		if (pthread_create(&th, &at, conn_main, c)) {
			pthread_mutex_lock(&s->lock);
			s->conns = c->next;
			s->nconns--;
			pthread_mutex_unlock(&s->lock);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&at);
	}
}

int gl_rpc_server_start(const struct gl_rpc_server_cfg *cfg, struct gl_rpc_server **out)
{
	struct gl_rpc_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, rc;

	if (!s)
		return -GL_ENOMEM;
	s->cfg = *cfg;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = 1024;
	if (!s->cfg.io_timeout_ms)
		s->cfg.io_timeout_ms = 30000;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = 600000;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->lfd = -1;
	rc = resolve(cfg->listen, &ss, &sl);
	if (rc)
		goto out_free;
	s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		rc = gl_from_errno(errno);
		goto out_free;
	}
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, (struct sockaddr *)&ss, sl) || listen(s->lfd, 512)) {
		rc = errno == EADDRINUSE ? -GL_EBUSY : gl_from_errno(errno);
		goto out_free;
	}
	sl = sizeof(ss);
	getsockname(s->lfd, (struct sockaddr *)&ss, &sl);
	s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (pthread_create(&s->acceptor, NULL, accept_main, s)) {
		rc = -GL_ENOMEM;
		goto out_free;
	}
	*out = s;
	return 0;
out_free:
	if (s->lfd >= 0)
		close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cv);
	free(s);
	return rc;
}

int gl_rpc_server_port(const struct gl_rpc_server *s)
{
	return s->port;
}

void gl_rpc_server_stop(struct gl_rpc_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->acceptor, NULL);
	close(s->lfd);
	pthread_mutex_lock(&s->lock);
	for (struct srv_conn *c = s->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (s->nconns)
		pthread_cond_wait(&s->cv, &s->lock);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* ---- client ---- */

struct gl_rpc_conn {
	int fd;
	int reused; /* came from a pool: may have been closed by the peer meanwhile */
	char addr[GL_ADDR_LEN];
};

static _Atomic uint64_t next_id = 1;

void gl_rpc_call_done(struct gl_rpc_call *c)
{
	free(c->rargs);
	c->rargs = NULL;
	c->rargs_len = 0;
	if (c->rbulk_owned)
		free(c->rbulk);
	c->rbulk = NULL;
	c->rbulk_len = 0;
	c->rbulk_owned = 0;
}

int gl_rpc_connect(const char *addr, int timeout_ms, struct gl_rpc_conn **out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct gl_rpc_conn *c;
	int fd, rc, err = 0;
	socklen_t el = sizeof(err);

	if (strlen(addr) >= GL_ADDR_LEN)
		return -GL_EINVAL;
	rc = resolve(addr, &ss, &sl);
	if (rc)
		return rc;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return gl_from_errno(errno);
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		rc = gl_from_errno(errno);
		goto out_close;
	}
	rc = wait_fd(fd, POLLOUT, mono_ms() + timeout_ms);
	if (rc)
		goto out_close;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		rc = gl_from_errno(err ? err : errno);
		goto out_close;
	}
	set_nodelay(fd);
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = -GL_ENOMEM;
		goto out_close;
	}
	c->fd = fd;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	*out = c;
	return 0;
out_close:
	close(fd);
	return rc;
}

void gl_rpc_close(struct gl_rpc_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

/* Checks a reply header against its call and allocates where the body goes. */
static int reply_prepare(struct gl_rpc_call *call, const struct gl_frame_hdr *h, uint64_t id)
{
	if (!(h->flags & GL_RPC_F_REPLY) || h->id != id || h->opcode != call->opcode)
		return -GL_EPROTO;
	call->rargs = malloc((size_t)h->args_len + 1);
	if (!call->rargs)
		return -GL_ENOMEM;
	call->rargs[h->args_len] = 0;
	call->rargs_len = h->args_len;
	call->rbulk_len = h->bulk_len;
	if (!h->bulk_len)
		return 0;
	if (call->rbuf && call->rbuf_cap >= h->bulk_len) {
		call->rbulk = call->rbuf;
		return 0;
	}
	call->rbulk = malloc(h->bulk_len);
	if (!call->rbulk)
		return -GL_ENOMEM;
	call->rbulk_owned = 1;
	return 0;
}

static int reply_check(struct gl_rpc_call *call, const struct gl_frame_hdr *h)
{
	uint32_t crc = gl_crc32c(gl_crc32c(GL_CRC_INIT, call->rargs, call->rargs_len), call->rbulk,
				 call->rbulk_len);

	if (crc != h->body_crc)
		return -GL_ECORRUPT;
	call->status = h->status;
	return 0;
}

int gl_rpc_call(struct gl_rpc_conn *c, struct gl_rpc_call *call, int timeout_ms)
{
	double deadline = mono_ms() + timeout_ms;
	uint64_t id = atomic_fetch_add(&next_id, 1);
	struct gl_frame_hdr h = {GL_RPC_VERSION, 0, call->opcode, id, 0, call->args_len, 0, 0};
	uint8_t hdr[GL_RPC_HDR_SIZE];
	int rc;

	call->rargs = NULL;
	call->rbulk = NULL;
	call->rbulk_owned = 0;
	for (int i = 0; i < call->nbulk; i++)
		h.bulk_len += (uint32_t)call->bulk[i].iov_len;
	rc = send_frame(c->fd, &h, call->args, call->bulk, call->nbulk, deadline);
	if (!rc)
		rc = read_full(c->fd, hdr, sizeof(hdr), deadline);
	if (!rc)
		rc = gl_frame_hdr_decode(hdr, &h);
	if (!rc)
		rc = reply_prepare(call, &h, id);
	if (!rc)
		rc = read_full(c->fd, call->rargs, h.args_len, deadline);
	if (!rc && h.bulk_len)
		rc = read_full(c->fd, call->rbulk, h.bulk_len, deadline);
	if (!rc)
		rc = reply_check(call, &h);
	if (rc) {
		gl_rpc_call_done(call);
		call->status = rc;
	}
	return rc;
}

/* ---- pool ---- */

#define POOL_PER_ADDR 64

struct pool_ent {
	char addr[GL_ADDR_LEN];
	struct gl_rpc_conn *idle[POOL_PER_ADDR];
	int n;
};

struct gl_rpc_pool {
	int connect_timeout_ms;
	pthread_mutex_t lock; /* guards ents */
	struct pool_ent *ents;
	int nents;
};

int gl_rpc_pool_new(int connect_timeout_ms, struct gl_rpc_pool **out)
{
	struct gl_rpc_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -GL_ENOMEM;
	p->connect_timeout_ms = connect_timeout_ms;
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

void gl_rpc_pool_free(struct gl_rpc_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nents; i++)
		for (int j = 0; j < p->ents[i].n; j++)
			gl_rpc_close(p->ents[i].idle[j]);
	free(p->ents);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* An idle connection to addr that the peer has not closed, or NULL. */
static struct gl_rpc_conn *pool_take(struct gl_rpc_pool *p, const char *addr)
{
	struct gl_rpc_conn *c = NULL;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nents && !c; i++) {
		struct pool_ent *e = &p->ents[i];

		if (strcmp(e->addr, addr) != 0)
			continue;
		while (e->n && !c) {
			struct pollfd pf;

			c = e->idle[--e->n];
			pf = (struct pollfd){c->fd, POLLIN | POLLRDHUP, 0};
			if (poll(&pf, 1, 0) != 0) { /* readable while idle: closed or garbage */
				gl_rpc_close(c);
				c = NULL;
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (c)
		c->reused = 1;
	return c;
}

static void pool_give(struct gl_rpc_pool *p, struct gl_rpc_conn *c)
{
	struct pool_ent *e = NULL;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nents && !e; i++)
		if (strcmp(p->ents[i].addr, c->addr) == 0)
			e = &p->ents[i];
	if (!e) {
		struct pool_ent *ne = realloc(p->ents, sizeof(*ne) * (size_t)(p->nents + 1));

		if (ne) {
			p->ents = ne;
			e = &p->ents[p->nents++];
			memset(e, 0, sizeof(*e));
			snprintf(e->addr, sizeof(e->addr), "%s", c->addr);
		}
	}
	if (e && e->n < POOL_PER_ADDR) {
		e->idle[e->n++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	gl_rpc_close(c);
}

static int pool_get(struct gl_rpc_pool *p, const char *addr, struct gl_rpc_conn **out)
{
	*out = pool_take(p, addr);
	if (*out)
		return 0;
	return gl_rpc_connect(addr, p->connect_timeout_ms, out);
}

int gl_rpc_pool_call(struct gl_rpc_pool *p, const char *addr, struct gl_rpc_call *call,
		     int timeout_ms)
{
	for (int attempt = 0;; attempt++) {
		struct gl_rpc_conn *c;
		int rc, reused;

		rc = pool_get(p, addr, &c);
		if (rc) {
			call->status = rc;
			return rc;
		}
		reused = c->reused;
		rc = gl_rpc_call(c, call, timeout_ms);
		if (!rc) {
			pool_give(p, c);
			return call->status;
		}
		gl_rpc_close(c);
		if (!reused || attempt || rc == -GL_ETIMEDOUT)
			return rc;
	}
}

/* ---- parallel calls ---- */

enum { MC_SEND, MC_HDR, MC_ARGS, MC_BULK, MC_DONE };

struct mcall {
	struct gl_rpc_call *call;
	struct gl_rpc_conn *c;
	int phase;
	uint64_t id;
	uint8_t shdr[GL_RPC_HDR_SIZE];
	struct iovec iov[GL_RPC_MAX_IOV + 2];
	int niov, iov_at;
	uint8_t rhdr[GL_RPC_HDR_SIZE];
	struct gl_frame_hdr h;
	size_t got;    /* bytes of the current receive phase */
	size_t rtotal; /* reply bytes received in all */
};

static void mc_fail(struct mcall *m, int rc)
{
	gl_rpc_call_done(m->call);
	m->call->status = rc;
	gl_rpc_close(m->c);
	m->c = NULL;
	m->phase = MC_DONE;
}

static int mc_start(struct mcall *m)
{
	struct gl_rpc_call *call = m->call;
	struct gl_frame_hdr h = {GL_RPC_VERSION, 0, call->opcode, 0, 0, call->args_len, 0, 0};

	m->id = atomic_fetch_add(&next_id, 1);
	h.id = m->id;
	for (int i = 0; i < call->nbulk; i++)
		h.bulk_len += (uint32_t)call->bulk[i].iov_len;
	h.body_crc = gl_frame_body_crc(call->args, call->args_len, call->bulk, call->nbulk);
	gl_frame_hdr_encode(&h, m->shdr);
	m->niov = 0;
	m->iov[m->niov++] = (struct iovec){m->shdr, sizeof(m->shdr)};
	if (call->args_len)
		m->iov[m->niov++] = (struct iovec){(void *)call->args, call->args_len};
	for (int i = 0; i < call->nbulk && i < GL_RPC_MAX_IOV; i++)
		if (call->bulk[i].iov_len)
			m->iov[m->niov++] = call->bulk[i];
	m->iov_at = 0;
	m->phase = MC_SEND;
	call->rargs = NULL;
	call->rbulk = NULL;
	call->rbulk_owned = 0;
	return 0;
}

static void mc_send(struct mcall *m)
{
	for (;;) {
		struct msghdr mh = {0};
		ssize_t w;

		mh.msg_iov = m->iov + m->iov_at;
		mh.msg_iovlen = (size_t)(m->niov - m->iov_at);
		w = sendmsg(m->c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				mc_fail(m, gl_from_errno(errno));
			return;
		}
		while (m->iov_at < m->niov && (size_t)w >= m->iov[m->iov_at].iov_len) {
			w -= (ssize_t)m->iov[m->iov_at].iov_len;
			m->iov_at++;
		}
		if (m->iov_at == m->niov) {
			m->phase = MC_HDR;
			m->got = 0;
			return;
		}
		m->iov[m->iov_at].iov_base = (uint8_t *)m->iov[m->iov_at].iov_base + w;
		m->iov[m->iov_at].iov_len -= (size_t)w;
	}
}

/* Receives into the current phase's buffer; advances phases. */
static void mc_recv(struct mcall *m)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t r;
		int rc;

		switch (m->phase) {
		case MC_HDR:
			dst = m->rhdr;
			want = sizeof(m->rhdr);
			break;
		case MC_ARGS:
			dst = m->call->rargs;
			want = m->h.args_len;
			break;
		case MC_BULK:
			dst = m->call->rbulk;
			want = m->h.bulk_len;
			break;
		default:
			return;
		}
		if (m->got == want) {
			if (m->phase == MC_HDR) {
				rc = gl_frame_hdr_decode(m->rhdr, &m->h);
				if (!rc)
					rc = reply_prepare(m->call, &m->h, m->id);
				if (rc) {
					mc_fail(m, rc);
					return;
				}
				m->phase = MC_ARGS;
			} else if (m->phase == MC_ARGS) {
				m->phase = MC_BULK;
			} else {
				rc = reply_check(m->call, &m->h);
				if (rc) {
					mc_fail(m, rc);
					return;
				}
				m->phase = MC_DONE;
				return;
			}
			m->got = 0;
			continue;
		}
		r = recv(m->c->fd, dst + m->got, want - m->got, MSG_DONTWAIT);
		if (r > 0) {
			m->got += (size_t)r;
			m->rtotal += (size_t)r;
			continue;
		}
		if (r == 0) {
			mc_fail(m, -GL_ECLOSED);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			mc_fail(m, gl_from_errno(errno));
		return;
	}
}

int gl_rpc_multi(struct gl_rpc_pool *p, int n, const char *const *addrs, struct gl_rpc_call *calls,
		 int timeout_ms)
{
	struct mcall *mc = calloc((size_t)(n ? n : 1), sizeof(*mc));
	struct pollfd *pf = calloc((size_t)(n ? n : 1), sizeof(*pf));
	int *map = calloc((size_t)(n ? n : 1), sizeof(int));
	double deadline = mono_ms() + timeout_ms;
	int rc = 0;

	if (!mc || !pf || !map) {
		for (int i = 0; i < n; i++)
			calls[i].status = -GL_ENOMEM;
		rc = -GL_ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int crc;

		mc[i].call = &calls[i];
		crc = pool_get(p, addrs[i], &mc[i].c);
		if (crc) {
			calls[i].status = crc;
			mc[i].phase = MC_DONE;
			continue;
		}
		mc_start(&mc[i]);
		mc_send(&mc[i]);
	}
	for (;;) {
		int np = 0, r;
		double left;

		for (int i = 0; i < n; i++) {
			if (mc[i].phase == MC_DONE)
				continue;
			pf[np] = (struct pollfd){mc[i].c->fd,
						 mc[i].phase == MC_SEND ? POLLOUT : POLLIN, 0};
			map[np++] = i;
		}
		if (!np)
			break;
		left = deadline - mono_ms();
		if (left <= 0) {
			for (int j = 0; j < np; j++)
				mc_fail(&mc[map[j]], -GL_ETIMEDOUT);
			break;
		}
		r = poll(pf, (nfds_t)np, (int)left + 1);
		if (r < 0 && errno != EINTR) {
			for (int j = 0; j < np; j++)
				mc_fail(&mc[map[j]], gl_from_errno(errno));
			break;
		}
		for (int j = 0; j < np && r > 0; j++) {
			struct mcall *m = &mc[map[j]];

			if (!pf[j].revents)
				continue;
			if (m->phase == MC_SEND)
				mc_send(m);
			if (m->phase != MC_SEND && m->phase != MC_DONE)
				mc_recv(m);
		}
	}
	for (int i = 0; i < n; i++) {
		struct mcall *m = &mc[i];

		if (m->c) {
			pool_give(p, m->c);
			m->c = NULL;
		} else if (calls[i].status && calls[i].status != -GL_ETIMEDOUT && !m->rtotal &&
			   m->phase == MC_DONE && m->id && m->call) {
			/* a pooled connection the peer had closed: once more on a fresh one */
			int left = (int)(deadline - mono_ms());

			if (left > 0)
				gl_rpc_pool_call(p, addrs[i], &calls[i], left);
		}
	}
	for (int i = 0; i < n && !rc; i++)
		rc = calls[i].status;
out:
	free(mc);
	free(pf);
	free(map);
	return rc;
}

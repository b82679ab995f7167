/* RPC client: one connection, one call at a time. Contract: common/rpc.h.
 *
 * A request goes out with one sendmsg over (header, args, bulk iovecs): the caller's bulk is
 * never copied. The reply's bulk is received straight into call->rbuf when it fits. */
#include "common/crc.h"
#include "common/errors.h"
#include "common/rpc_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Request ids, unique in the process; 0 is never used (error replies to garbage carry id 0). */
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

void gl_rpc_call_fail(struct gl_rpc_call *call, int rc)
{
	gl_rpc_call_done(call);
	call->status = rc;
}

void gl_rpc_reply_clear(struct gl_rpc_call *call)
{
	call->status = 0;
	call->rargs = NULL;
	call->rargs_len = 0;
	call->rbulk = NULL;
	call->rbulk_len = 0;
	call->rbulk_owned = 0;
}

int gl_rpc_out_build(struct gl_rpc_call *call, struct gl_rpc_out *o)
{
	struct gl_frame_hdr h = {.version = GL_RPC_VERSION, .opcode = call->opcode};
	uint64_t blen = 0;

	gl_rpc_reply_clear(call);
	if (call->nbulk < 0 || call->nbulk > GL_RPC_MAX_IOV || (call->nbulk && !call->bulk) ||
	    (call->args_len && !call->args))
		return -GL_EINVAL;
	for (int i = 0; i < call->nbulk; i++) {
		if (call->bulk[i].iov_len && !call->bulk[i].iov_base)
			return -GL_EINVAL;
		blen += call->bulk[i].iov_len;
	}
	if (call->args_len > GL_RPC_MAX_ARGS || blen > GL_RPC_MAX_BULK)
		return -GL_E2BIG;
	h.args_len = call->args_len;
	h.bulk_len = (uint32_t)blen;
	h.id = atomic_fetch_add(&next_id, 1);
	h.body_crc = gl_frame_body_crc(call->args, call->args_len, call->bulk, call->nbulk);
	gl_frame_hdr_encode(&h, o->hdr);
	o->id = h.id;
	o->niov = 0;
	o->iov[o->niov++] = (struct iovec){o->hdr, sizeof(o->hdr)};
	if (call->args_len)
		o->iov[o->niov++] = (struct iovec){(void *)call->args, call->args_len};
	for (int i = 0; i < call->nbulk; i++)
		if (call->bulk[i].iov_len)
			o->iov[o->niov++] = call->bulk[i];
	return 0;
}

int gl_rpc_reply_begin(struct gl_rpc_call *call, const struct gl_frame_hdr *h, uint64_t id)
{
	if (!(h->flags & GL_RPC_F_REPLY) || h->id != id || h->opcode != call->opcode)
		return -GL_EPROTO;
	call->rargs = malloc((size_t)h->args_len + 1);
	if (!call->rargs)
		return -GL_ENOMEM;
	call->rargs[h->args_len] = '\0';
	call->rargs_len = h->args_len;
	if (!h->bulk_len)
		return 0;
	if (call->rbuf && call->rbuf_cap >= h->bulk_len) {
		call->rbulk = call->rbuf;
	} else {
		call->rbulk = malloc(h->bulk_len);
		if (!call->rbulk)
			return -GL_ENOMEM;
		call->rbulk_owned = 1;
	}
	call->rbulk_len = h->bulk_len;
	return 0;
}

int gl_rpc_reply_end(struct gl_rpc_call *call, const struct gl_frame_hdr *h, uint32_t crc)
{
	if (crc != h->body_crc)
		return -GL_ECORRUPT;
	call->status = h->status;
	return 0;
}

int gl_rpc_connect(const char *addr, int timeout_ms, struct gl_rpc_conn **out)
{
	int64_t deadline = gl_rpc_deadline(timeout_ms);
	struct addrinfo *res, *ai;
	int rc, fd = -1;

	if (!addr || !out || strlen(addr) >= GL_RPC_ADDR_LEN)
		return -GL_EINVAL;
	rc = gl_rpc_resolve(addr, 0, &res);
	if (rc)
		return rc;
	rc = -GL_ECONN;
	/* each address of the host in turn, within the one timeout */
	for (ai = res; ai; ai = ai->ai_next) {
		rc = gl_rpc_connect_start(ai, &fd);
		if (rc < 0)
			continue;
		if (rc == 1) {
			rc = gl_rpc_wait(fd, POLLOUT, deadline);
			if (!rc)
				rc = gl_rpc_connect_finish(fd);
		}
		if (!rc)
			break;
		close(fd);
		if (rc == -GL_ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (rc)
		return rc;
	return gl_rpc_conn_wrap(fd, addr, out);
}

void gl_rpc_close(struct gl_rpc_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

#define RPC_PRE_RECV 2048 /* a reply's header and a small body come in one recv */

/* Waits for the reply, then receives its header and whatever of the body came with it (at
 * most cap bytes; *n: how many are in pre, at least the header). A reply is never there right
 * after its request went out, so waiting first saves a recv that would find nothing. *got_reply
 * tells whether any of it came (else the peer had closed before answering). */
static int recv_start(int fd, uint8_t *pre, size_t cap, int64_t deadline, int *got_reply, size_t *n)
{
	for (;;) {
		int rc = gl_rpc_wait(fd, POLLIN, deadline);
		ssize_t r;

		if (rc)
			return rc;
		r = recv(fd, pre, cap, 0);
		if (r > 0) {
			*got_reply = 1;
			*n = (size_t)r;
			if (*n >= GL_RPC_HDR_SIZE)
				return 0;
			rc = gl_rpc_recv_full(fd, pre + *n, GL_RPC_HDR_SIZE - *n, deadline, NULL);
			*n = GL_RPC_HDR_SIZE;
			return rc;
		}
		if (r == 0)
			return -GL_ECLOSED;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return gl_from_errno(errno);
	}
}

/* Fills dst (len bytes) from the *npre bytes already received at *pre (consumed), then from
 * fd; crc is chained over them. */
static int recv_part(int fd, uint8_t *dst, size_t len, const uint8_t **pre, size_t *npre,
		     int64_t deadline, uint32_t *crc)
{
	size_t k = len < *npre ? len : *npre;

	if (k) {
		memcpy(dst, *pre, k);
		*crc = gl_crc32c(*crc, dst, k);
		*pre += k;
		*npre -= k;
	}
	return k < len ? gl_rpc_recv_full(fd, dst + k, len - k, deadline, crc) : 0;
}

int gl_rpc_call_on(struct gl_rpc_conn *c, struct gl_rpc_call *call, int64_t deadline,
		   int *got_reply)
{
	uint8_t pre[RPC_PRE_RECV];
	const uint8_t *body;
	struct gl_frame_hdr h;
	struct gl_rpc_out o;
	uint32_t crc = GL_CRC_INIT;
	size_t n = 0, nbody;
	int rc;

	*got_reply = 0;
	rc = gl_rpc_out_build(call, &o);
	if (rc)
		goto out;
	rc = gl_rpc_send_iov(c->fd, o.iov, o.niov, deadline);
	if (rc)
		goto out;
	rc = recv_start(c->fd, pre, sizeof(pre), deadline, got_reply, &n);
	if (rc)
		goto out;
	rc = gl_frame_hdr_decode(pre, &h);
	if (!rc)
		rc = gl_rpc_reply_begin(call, &h, o.id);
	body = pre + GL_RPC_HDR_SIZE;
	nbody = n - GL_RPC_HDR_SIZE;
	if (!rc && nbody > (uint64_t)h.args_len + h.bulk_len)
		rc = -GL_EPROTO; /* more than the reply: nothing else may come on this connection */
	if (!rc)
		rc = recv_part(c->fd, call->rargs, h.args_len, &body, &nbody, deadline, &crc);
	if (!rc)
		rc = recv_part(c->fd, call->rbulk, h.bulk_len, &body, &nbody, deadline, &crc);
	if (!rc)
		rc = gl_rpc_reply_end(call, &h, crc);
out:
	if (rc)
		gl_rpc_call_fail(call, rc);
	return rc;
}

int gl_rpc_call(struct gl_rpc_conn *c, struct gl_rpc_call *call, int timeout_ms)
{
	int got_reply;

	if (!c) {
		gl_rpc_reply_clear(call);
		call->status = -GL_EINVAL;
		return -GL_EINVAL;
	}
	return gl_rpc_call_on(c, call, gl_rpc_deadline(timeout_ms), &got_reply);
}

/* Private to the RPC module (common/rpc_*.c): deadlines, socket I/O, the client connection and the
 * pieces that gl_rpc_call, gl_rpc_pool_call and gl_rpc_multi share. No other module includes it.
 *
 * Files: rpc.c (frame codec, no I/O) · rpc_sock.c (addresses, connect, timed I/O) ·
 * rpc_server.c (thread-per-connection server) · rpc_client.c (one connection, one call) ·
 * rpc_pool.c (idle connections per address) · rpc_multi.c (parallel calls from one thread).
 *
 * Every socket the module creates is non-blocking and close-on-exec; waits go through poll with a
 * deadline on the monotonic clock, in milliseconds.
 */
#ifndef GL_RPC_INTERNAL_H
#define GL_RPC_INTERNAL_H

#include "common/errors.h"
#include "common/rpc.h"

#include <netdb.h>
#include <stdint.h>
#include <sys/uio.h>

/* Longest "host:port" kept, NUL included. */
#define GL_RPC_ADDR_LEN 256

/* A client connection. Used by one thread at a time: its caller, or the pool while idle. */
struct gl_rpc_conn {
	int fd;	    /* non-blocking, TCP_NODELAY */
	int reused; /* handed out by a pool: the peer may have closed it while it sat idle */
	char addr[GL_RPC_ADDR_LEN];
};

/* ---- time and sockets (rpc_sock.c) ---- */

int64_t gl_rpc_now_ms(void);
/* now + ms; a negative ms counts as 0. */
int64_t gl_rpc_deadline(int ms);
/* Milliseconds left until deadline, for poll (0 when passed, rounded up otherwise). */
int gl_rpc_left_ms(int64_t deadline);

/* Resolves "host:port" or "[v6addr]:port"; the port is numeric. With passive, an empty host or
 * "*" means every local address. Returns 0 and *res (caller frees with freeaddrinfo), -GL_EINVAL
 * for a malformed address, -GL_ECONN when the host does not resolve. */
int gl_rpc_resolve(const char *addr, int passive, struct addrinfo **res);
/* TCP_NODELAY (best effort). */
void gl_rpc_sock_tune(int fd);
/* "ip:port" of a socket address into out. */
void gl_rpc_addr_str(const struct sockaddr *sa, char *out, size_t cap);

/* Starts a non-blocking connect to ai. Returns 0 (connected), 1 (in progress: wait for POLLOUT,
 * then gl_rpc_connect_finish) or -GL_E... (nothing to close). *fd is valid on 0 and 1. */
int gl_rpc_connect_start(const struct addrinfo *ai, int *fd);
/* After POLLOUT on a connecting fd: 0 when connected, else the error. */
int gl_rpc_connect_finish(int fd);
/* Wraps a connected fd (takes it: closed on failure) into a connection to addr. */
int gl_rpc_conn_wrap(int fd, const char *addr, struct gl_rpc_conn **out);

/* Waits until fd is ready for events. -GL_ETIMEDOUT once deadline passes. */
int gl_rpc_wait(int fd, short events, int64_t deadline);
/* Receives what has arrived, 1 to cap bytes, waiting for the first until deadline. Returns the
 * count, -GL_ECLOSED on EOF, -GL_ETIMEDOUT or another error. */
ssize_t gl_rpc_recv_some(int fd, void *buf, size_t cap, int64_t deadline);
/* Receives exactly len bytes before deadline: -GL_ECLOSED on EOF, -GL_ETIMEDOUT. When crc is
 * not NULL it is chained (gl_crc32c) over the bytes as they arrive. */
int gl_rpc_recv_full(int fd, void *buf, size_t len, int64_t deadline, uint32_t *crc);
/* One sendmsg without waiting over (*iov, *n); advances them past what went out (*n == 0: all
 * sent). Returns 0 (progress), 1 (would block: wait for POLLOUT) or the error. */
int gl_rpc_send_some(int fd, struct iovec **iov, int *n);
/* Sends every byte of iov[0..n) before deadline (iov is consumed). */
int gl_rpc_send_iov(int fd, struct iovec *iov, int n, int64_t deadline);

/* ---- calls (rpc_client.c) ---- */

/* A request ready to go: header bytes and iovecs for header, args and bulk (borrowed). */
struct gl_rpc_out {
	uint8_t hdr[GL_RPC_HDR_SIZE];
	struct iovec iov[GL_RPC_MAX_IOV + 2];
	int niov;
	uint64_t id;
};

/* Empties the reply part of a call without freeing anything (its fields may hold garbage on
 * entry to gl_rpc_call, gl_rpc_pool_call and gl_rpc_multi). */
void gl_rpc_reply_clear(struct gl_rpc_call *call);
/* Checks the request part of call (-GL_EINVAL, -GL_E2BIG) and builds its frame with a fresh id.
 * Clears the reply part first. */
int gl_rpc_out_build(struct gl_rpc_call *call, struct gl_rpc_out *o);
/* Checks a reply header against the call (flag, id, opcode: else -GL_EPROTO), allocates rargs
 * and chooses where the bulk lands (rbuf when it fits). */
int gl_rpc_reply_begin(struct gl_rpc_call *call, const struct gl_frame_hdr *h, uint64_t id);
/* Once the body is in: compares crc (chained over args then bulk) with the header's
 * (-GL_ECORRUPT), then sets call->status. */
int gl_rpc_reply_end(struct gl_rpc_call *call, const struct gl_frame_hdr *h, uint32_t crc);
/* A transport error: frees the reply part and sets status to rc. */
void gl_rpc_call_fail(struct gl_rpc_call *call, int rc);
/* gl_rpc_call with a deadline; *got_reply tells whether any byte of a reply arrived. */
int gl_rpc_call_on(struct gl_rpc_conn *c, struct gl_rpc_call *call, int64_t deadline,
		   int *got_reply);

/* A call that failed on a pooled connection with rc is tried once more on a fresh connection
 * when the peer had simply closed it: nothing of a reply came back, and no timeout was spent. */
static inline int gl_rpc_retryable(int rc, int reused, int got_reply)
{
	return reused && !got_reply && rc == -GL_ECLOSED;
}

/* ---- pool (rpc_pool.c); p may be NULL: no caching ---- */

/* An idle connection to addr that still looks open (reused = 1), or NULL. */
struct gl_rpc_conn *gl_rpc_pool_take(struct gl_rpc_pool *p, const char *addr);
/* Gives c back after a complete call, or closes it when addr already has enough idle ones. */
void gl_rpc_pool_put(struct gl_rpc_pool *p, struct gl_rpc_conn *c);
/* The pool's connect timeout, bounded by what is left until deadline. */
int gl_rpc_pool_connect_ms(const struct gl_rpc_pool *p, int64_t deadline);

#endif

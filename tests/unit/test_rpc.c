/* RPC: round trips, reply shapes, errors, pool reuse and retry, parallel calls, timeouts,
 * connection limits, stop, and hostile bytes on the socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include "common/compiler.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/rpc.h"

#define MIB (1u << 20)

enum { OP_ECHO = 1, OP_FAIL, OP_SLOW, OP_SPLIT, OP_BADREP, OP_PEEK, OP_PEER };

static atomic_int split_freed;
static uint8_t split_data[3000];

/* Replies with the request's args and bulk (the bulk buffer is kept, not copied). */
static int h_echo(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	gl_put_bytes(rep->args, req->args, req->args_len);
	if (req->bulk_len) {
		*req->bulk_steal = 1;
		rep->bulk[0].iov_base = req->bulk;
		rep->bulk[0].iov_len = req->bulk_len;
		rep->nbulk = 1;
		rep->bulk_free = free;
		rep->bulk_owner = req->bulk;
	}
	return 0;
}

/* An error status with a reason in args. */
static int h_fail(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	gl_put_str(rep->args, "disk full");
	return -GL_ENOSPC;
}

/* Sleeps for the u32 in args (ms). */
static int h_slow(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct gl_rbuf r;
	uint32_t ms;

	(void)ctx;
	(void)rep;
	gl_rbuf_init(&r, req->args, req->args_len);
	ms = gl_get_u32(&r);
	usleep((useconds_t)(gl_rbuf_check(&r) ? 700 : ms) * 1000);
	return 0;
}

static void split_free(void *owner)
{
	assert_ptr_equal(owner, split_data);
	atomic_fetch_add(&split_freed, 1);
}

/* A reply bulk in three pieces of a buffer the handler owns. */
static int h_split(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	rep->bulk[0] = (struct iovec){split_data, 1000};
	rep->bulk[1] = (struct iovec){split_data + 1000, 0};
	rep->bulk[2] = (struct iovec){split_data + 1000, 2000};
	rep->nbulk = 3;
	rep->bulk_free = split_free;
	rep->bulk_owner = split_data;
	return 0;
}

/* A reply that failed to encode: the client must see the encoder's error and no body. */
static int h_badrep(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	gl_put_u32(rep->args, 7);
	rep->args->err = -GL_ENOMEM;
	rep->bulk[0] = (struct iovec){split_data, 10};
	rep->nbulk = 1;
	return 0;
}

/* Reads the bulk without keeping it: the server frees it. Replies with its CRC. */
static int h_peek(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	gl_put_u32(rep->args, gl_crc32c(GL_CRC_INIT, req->bulk, req->bulk_len));
	return 0;
}

static int h_peer(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	gl_put_str(rep->args, req->peer);
	return 0;
}

static const struct gl_rpc_op ops[] = {
    {OP_ECHO, "echo", h_echo},	  {OP_FAIL, "fail", h_fail},	   {OP_SLOW, "slow", h_slow},
    {OP_SPLIT, "split", h_split}, {OP_BADREP, "badrep", h_badrep}, {OP_PEEK, "peek", h_peek},
    {OP_PEER, "peer", h_peer},
};

static struct gl_rpc_server *srv;
static char addr[64];

static struct gl_rpc_server *start(unsigned max_conns, unsigned io_ms, unsigned idle_ms, char *a)
{
	struct gl_rpc_server_cfg cfg = {"127.0.0.1:0", ops,    GL_ARRAY_SIZE(ops), NULL, max_conns,
					io_ms,	       idle_ms};
	struct gl_rpc_server *s;

	assert_int_equal(gl_rpc_server_start(&cfg, &s), 0);
	snprintf(a, 64, "127.0.0.1:%d", gl_rpc_server_port(s));
	return s;
}

static int setup(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(split_data); i++)
		split_data[i] = (uint8_t)(i * 7 + 1);
	srv = start(16, 2000, 5000, addr);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	gl_rpc_server_stop(srv);
	return 0;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 12));
	return p;
}

/* Echo of args "hello" and bulk_len bytes; rbuf_cap bytes of caller memory for the reply bulk
 * (0: none). */
static void echo(struct gl_rpc_conn *c, size_t bulk_len, size_t rbuf_cap)
{
	uint8_t *bulk = pattern(bulk_len, 1), *rb = malloc(rbuf_cap + 1);
	struct iovec iov = {bulk, bulk_len};
	struct gl_rpc_call call = {.opcode = OP_ECHO, .args = "hello", .args_len = 5};

	call.bulk = &iov;
	call.nbulk = 1;
	if (rbuf_cap) {
		call.rbuf = rb;
		call.rbuf_cap = rbuf_cap;
	}
	assert_int_equal(gl_rpc_call(c, &call, 10000), 0);
	assert_int_equal(call.status, 0);
	assert_int_equal(call.rargs_len, 5);
	assert_memory_equal(call.rargs, "hello", 5);
	assert_int_equal(call.rargs[5], 0);
	assert_int_equal(call.rbulk_len, bulk_len);
	if (bulk_len)
		assert_memory_equal(call.rbulk, bulk, bulk_len);
	if (bulk_len && rbuf_cap >= bulk_len) {
		assert_ptr_equal(call.rbulk, rb);
		assert_int_equal(call.rbulk_owned, 0);
	} else if (bulk_len) {
		assert_ptr_not_equal(call.rbulk, rb);
		assert_int_equal(call.rbulk_owned, 1);
	}
	gl_rpc_call_done(&call);
	gl_rpc_call_done(&call); /* twice is fine */
	free(bulk);
	free(rb);
}

static void test_roundtrip(void **st)
{
	struct gl_rpc_conn *c;
	char name[64];

	(void)st;
	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	echo(c, 0, 0);
	echo(c, 100, 0);
	echo(c, 100, 100);
	echo(c, 100, 99); /* too small: malloc'd */
	echo(c, 4 * MIB, 4 * MIB);
	echo(c, 4 * MIB, 0);
	gl_rpc_close(c);
	/* a host name, whose addresses are tried in turn (the server is on 127.0.0.1 only) */
	snprintf(name, sizeof(name), "localhost:%d", gl_rpc_server_port(srv));
	assert_int_equal(gl_rpc_connect(name, 1000, &c), 0);
	echo(c, 10, 0);
	gl_rpc_close(c);
}

/* An IPv6 literal in brackets, when the machine has IPv6 loopback. */
static void test_ipv6(void **st)
{
	struct gl_rpc_server_cfg cfg = {"[::1]:0", ops, GL_ARRAY_SIZE(ops), NULL, 4, 2000, 5000};
	struct gl_rpc_server *s;
	struct gl_rpc_conn *c;
	char a[64];

	(void)st;
	if (gl_rpc_server_start(&cfg, &s)) {
		skip();
		return;
	}
	snprintf(a, sizeof(a), "[::1]:%d", gl_rpc_server_port(s));
	assert_int_equal(gl_rpc_connect(a, 1000, &c), 0);
	echo(c, 1000, 0);
	gl_rpc_close(c);
	snprintf(a, sizeof(a), "::1:%d", gl_rpc_server_port(s));
	assert_int_equal(gl_rpc_connect(a, 1000, &c), -GL_EINVAL); /* ambiguous without [] */
	gl_rpc_server_stop(s);
}

static void test_status(void **st)
{
	struct gl_rpc_conn *c;
	struct gl_rpc_call call = {.opcode = OP_FAIL};
	uint8_t *bulk = pattern(300000, 2);
	struct iovec iov = {bulk, 300000};
	struct gl_rbuf r;
	char why[32];

	(void)st;
	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, -GL_ENOSPC);
	gl_rbuf_init(&r, call.rargs, call.rargs_len);
	gl_get_str(&r, why, sizeof(why));
	assert_int_equal(gl_rbuf_check(&r), 0);
	assert_string_equal(why, "disk full");
	gl_rpc_call_done(&call);
	/* unknown opcodes, without and with a body: the connection stays usable */
	call = (struct gl_rpc_call){.opcode = 0x7777};
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, -GL_EBADOP);
	gl_rpc_call_done(&call);
	echo(c, 10, 0);
	call = (struct gl_rpc_call){.opcode = 0x7778, .args = "xyz", .args_len = 3};
	call.bulk = &iov;
	call.nbulk = 1;
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, -GL_EBADOP);
	assert_int_equal(call.rbulk_len, 0);
	gl_rpc_call_done(&call);
	echo(c, 10, 0);
	/* requests the client refuses to send */
	call = (struct gl_rpc_call){.opcode = OP_ECHO, .nbulk = GL_RPC_MAX_IOV + 1};
	call.bulk = &iov;
	assert_int_equal(gl_rpc_call(c, &call, 1000), -GL_EINVAL);
	assert_int_equal(call.status, -GL_EINVAL);
	call =
	    (struct gl_rpc_call){.opcode = OP_ECHO, .args = "x", .args_len = GL_RPC_MAX_ARGS + 1};
	assert_int_equal(gl_rpc_call(c, &call, 1000), -GL_E2BIG);
	gl_rpc_close(c);
	free(bulk);
}

static void test_reply_shapes(void **st)
{
	struct gl_rpc_conn *c;
	struct gl_rpc_call call = {.opcode = OP_SPLIT};
	uint8_t *bulk = pattern(MIB + 3, 3);
	struct iovec iov[3] = {{bulk, 5}, {bulk + 5, 0}, {bulk + 5, MIB - 2}};
	struct gl_rbuf r;

	(void)st;
	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	atomic_store(&split_freed, 0);
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, 0);
	assert_int_equal(call.rbulk_len, 3000);
	assert_memory_equal(call.rbulk, split_data, 3000);
	for (int i = 0; i < 100 && !atomic_load(&split_freed); i++)
		usleep(10 * 1000); /* freed once sent: maybe just after the client got it */
	assert_int_equal(atomic_load(&split_freed), 1);
	gl_rpc_call_done(&call);

	call = (struct gl_rpc_call){.opcode = OP_BADREP};
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, -GL_ENOMEM);
	assert_int_equal(call.rargs_len, 0);
	assert_int_equal(call.rbulk_len, 0);
	gl_rpc_call_done(&call);

	/* several request iovecs; the server frees a bulk the handler did not keep */
	call = (struct gl_rpc_call){.opcode = OP_PEEK, .bulk = iov, .nbulk = 3};
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, 0);
	gl_rbuf_init(&r, call.rargs, call.rargs_len);
	assert_int_equal(gl_get_u32(&r), gl_crc32c(GL_CRC_INIT, bulk, MIB + 3));
	gl_rpc_call_done(&call);
	gl_rpc_close(c);
	free(bulk);
}

static void test_timeout(void **st)
{
	struct gl_rpc_conn *c;
	struct gl_rpc_call call = {.opcode = OP_SLOW};
	struct timespec t0, t1;

	(void)st;
	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(gl_rpc_call(c, &call, 200), -GL_ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(call.status, -GL_ETIMEDOUT);
	assert_null(call.rargs);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 600);
	gl_rpc_close(c);
	assert_int_equal(gl_rpc_connect("127.0.0.1:1", 1000, &c), -GL_ECONN);
	assert_int_equal(gl_rpc_connect("127.0.0.1", 1000, &c), -GL_EINVAL);
	assert_int_equal(gl_rpc_connect("127.0.0.1:99999", 1000, &c), -GL_EINVAL);
	assert_int_equal(gl_rpc_connect(":80", 1000, &c), -GL_EINVAL);
}

/* The peer address the server saw for a pooled call. */
static void pool_peer(struct gl_rpc_pool *p, const char *a, char *peer)
{
	struct gl_rpc_call call = {.opcode = OP_PEER};
	struct gl_rbuf r;

	assert_int_equal(gl_rpc_pool_call(p, a, &call, 1000), 0);
	gl_rbuf_init(&r, call.rargs, call.rargs_len);
	gl_get_str(&r, peer, 64);
	assert_int_equal(gl_rbuf_check(&r), 0);
	gl_rpc_call_done(&call);
}

static void test_pool_reuse(void **st)
{
	struct gl_rpc_pool *p;
	struct gl_rpc_call call = {.opcode = OP_FAIL};
	char a2[64], p1[64], p2[64];
	struct gl_rpc_server *s2;

	(void)st;
	assert_int_equal(gl_rpc_pool_new(1000, &p), 0);
	pool_peer(p, addr, p1);
	pool_peer(p, addr, p2);
	assert_string_equal(p1, p2); /* the same connection */
	/* a server status is returned, and the connection stays pooled */
	assert_int_equal(gl_rpc_pool_call(p, addr, &call, 1000), -GL_ENOSPC);
	assert_int_equal(call.status, -GL_ENOSPC);
	gl_rpc_call_done(&call);
	pool_peer(p, addr, p2);
	assert_string_equal(p1, p2);
	/* a server that closes idle connections: the pool notices and connects again */
	s2 = start(4, 1000, 100, a2);
	pool_peer(p, a2, p1);
	usleep(400 * 1000);
	pool_peer(p, a2, p2);
	assert_string_not_equal(p1, p2);
	gl_rpc_server_stop(s2);
	/* a stopped server: a transport error */
	call = (struct gl_rpc_call){.opcode = OP_ECHO};
	assert_true(gl_rpc_pool_call(p, a2, &call, 1000) < 0);
	assert_true(call.status < 0);
	gl_rpc_pool_free(p);
}

/* ---- a scripted fake server: answers echo requests, but on its first connection reads the
 * second request and closes without answering (a pooled connection gone stale in the race
 * between the pool's check and the send) ---- */

struct fake {
	int lfd;
	int port;
	atomic_int conns; /* accepted so far */
	pthread_t th;
};

static int read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (uint8_t *)buf + got, n - got, 0);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL), nreq = 0;

		if (fd < 0)
			return NULL;
		f->conns++;
		for (;;) {
			uint8_t hb[GL_RPC_HDR_SIZE], *body;
			struct gl_frame_hdr h;
			struct iovec iov;
			size_t blen;

			if (read_n(fd, hb, sizeof(hb)) || gl_frame_hdr_decode(hb, &h))
				break;
			blen = (size_t)h.args_len + h.bulk_len;
			body = malloc(blen + 1);
			if (read_n(fd, body, blen) || (f->conns == 1 && ++nreq == 2)) {
				free(body);
				break;
			}
			h.flags = GL_RPC_F_REPLY;
			iov = (struct iovec){body + h.args_len, h.bulk_len};
			h.body_crc = gl_frame_body_crc(body, h.args_len, &iov, 1);
			gl_frame_hdr_encode(&h, hb);
			send(fd, hb, sizeof(hb), MSG_NOSIGNAL);
			send(fd, body, blen, MSG_NOSIGNAL);
			free(body);
		}
		close(fd);
	}
}

static void fake_start(struct fake *f, char *a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	getsockname(f->lfd, (struct sockaddr *)&sin, &sl);
	f->port = ntohs(sin.sin_port);
	snprintf(a, 64, "127.0.0.1:%d", f->port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->th, NULL);
}

static void test_pool_retry(void **st)
{
	struct gl_rpc_pool *p;
	struct gl_rpc_call calls[1];
	const char *addrs[1];
	struct fake f;
	char a[64];

	(void)st;
	/* gl_rpc_pool_call */
	fake_start(&f, a);
	assert_int_equal(gl_rpc_pool_new(1000, &p), 0);
	for (int i = 0; i < 3; i++) {
		calls[0] = (struct gl_rpc_call){.opcode = OP_ECHO, .args = "abc", .args_len = 3};
		assert_int_equal(gl_rpc_pool_call(p, a, &calls[0], 2000), 0);
		assert_int_equal(calls[0].rargs_len, 3);
		gl_rpc_call_done(&calls[0]);
	}
	assert_int_equal(f.conns, 2);
	gl_rpc_pool_free(p);
	fake_stop(&f);

	/* gl_rpc_multi */
	fake_start(&f, a);
	assert_int_equal(gl_rpc_pool_new(1000, &p), 0);
	calls[0] = (struct gl_rpc_call){.opcode = OP_ECHO};
	assert_int_equal(gl_rpc_pool_call(p, a, &calls[0], 2000), 0);
	gl_rpc_call_done(&calls[0]);
	addrs[0] = a; /* one call: the fake serves one connection at a time */
	calls[0] = (struct gl_rpc_call){.opcode = OP_ECHO, .args = "one", .args_len = 3};
	assert_int_equal(gl_rpc_multi(p, 1, addrs, calls, 2000), 0);
	assert_memory_equal(calls[0].rargs, "one", 3);
	gl_rpc_call_done(&calls[0]);
	assert_int_equal(f.conns, 2);
	gl_rpc_pool_free(p);
	fake_stop(&f);
}

/* n echo calls of len bytes each at once; every other one lands in caller memory. */
static void multi_echo(struct gl_rpc_pool *p, int n, const char *const *addrs, size_t len)
{
	struct gl_rpc_call *calls = calloc((size_t)n, sizeof(*calls));
	struct iovec *iov = calloc((size_t)n, sizeof(*iov));
	uint8_t **in = calloc((size_t)n, sizeof(*in)), **out = calloc((size_t)n, sizeof(*out));
	char(*args)[24] = calloc((size_t)n, sizeof(*args));

	for (int i = 0; i < n; i++) {
		in[i] = pattern(len, (unsigned)i);
		out[i] = malloc(len);
		iov[i] = (struct iovec){in[i], len};
		snprintf(args[i], sizeof(args[i]), "call %d", i);
		calls[i] = (struct gl_rpc_call){.opcode = OP_ECHO,
						.args = args[i],
						.args_len = (uint32_t)strlen(args[i]),
						.bulk = &iov[i],
						.nbulk = 1};
		if (i % 2 == 0) {
			calls[i].rbuf = out[i];
			calls[i].rbuf_cap = len;
		}
	}
	assert_int_equal(gl_rpc_multi(p, n, addrs, calls, 20000), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(calls[i].status, 0);
		assert_int_equal(calls[i].rargs_len, strlen(args[i]));
		assert_memory_equal(calls[i].rargs, args[i], strlen(args[i]));
		assert_int_equal(calls[i].rbulk_len, len);
		assert_memory_equal(calls[i].rbulk, in[i], len);
		if (len && i % 2 == 0)
			assert_ptr_equal(calls[i].rbulk, out[i]);
		gl_rpc_call_done(&calls[i]);
		free(in[i]);
		free(out[i]);
	}
	free(calls);
	free(iov);
	free(in);
	free(out);
	free(args);
}

static void test_multi(void **st)
{
	struct gl_rpc_pool *p;
	struct gl_rpc_server *s2;
	const char *addrs[28];
	char a2[64];
	struct gl_rpc_call calls[4];
	uint8_t sl[4];

	(void)st;
	s2 = start(64, 5000, 5000, a2);
	assert_int_equal(gl_rpc_pool_new(1000, &p), 0);
	for (int i = 0; i < 28; i++)
		addrs[i] = i % 2 ? addr : a2;
	/* the data path: six 1 MiB fragments, three rounds on pooled connections */
	for (int round = 0; round < 3; round++)
		multi_echo(p, 6, addrs, MIB);
	multi_echo(p, 6, addrs, 4 * MIB);
	multi_echo(p, 28, addrs, 300000);
	multi_echo(p, 1, addrs, 0);
	assert_int_equal(gl_rpc_multi(p, 0, addrs, calls, 100), 0);

	/* statuses: the first failure in index order is returned; a dead address and a slow
	 * server fail alone */
	gl_le32(sl, 2000);
	calls[0] = (struct gl_rpc_call){.opcode = OP_ECHO};
	calls[1] = (struct gl_rpc_call){.opcode = OP_FAIL};
	calls[2] = (struct gl_rpc_call){.opcode = OP_SLOW, .args = sl, .args_len = 4};
	calls[3] = (struct gl_rpc_call){.opcode = OP_ECHO};
	addrs[0] = addr;
	addrs[1] = a2;
	addrs[2] = addr;
	addrs[3] = "127.0.0.1:1";
	assert_int_equal(gl_rpc_multi(p, 4, addrs, calls, 500), -GL_ENOSPC);
	assert_int_equal(calls[0].status, 0);
	assert_int_equal(calls[1].status, -GL_ENOSPC);
	assert_int_equal(calls[2].status, -GL_ETIMEDOUT);
	assert_int_equal(calls[3].status, -GL_ECONN);
	for (int i = 0; i < 4; i++)
		gl_rpc_call_done(&calls[i]);
	addrs[0] = "garbage";
	calls[0] = (struct gl_rpc_call){.opcode = OP_ECHO};
	assert_int_equal(gl_rpc_multi(p, 1, addrs, calls, 500), -GL_EINVAL);
	/* without a pool */
	addrs[0] = addr;
	multi_echo(NULL, 2, addrs, 1000);
	gl_rpc_pool_free(p);
	gl_rpc_server_stop(s2);
}

struct worker {
	struct gl_rpc_pool *p;
	int fails;
};

static void *pool_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t *bulk = pattern(70000, 5);
	struct iovec iov = {bulk, 70000};

	for (int i = 0; i < 40; i++) {
		struct gl_rpc_call call = {.opcode = OP_ECHO, .bulk = &iov, .nbulk = 1};

		if (gl_rpc_pool_call(w->p, addr, &call, 5000) ||
		    memcmp(call.rbulk, bulk, 70000) != 0)
			w->fails++;
		gl_rpc_call_done(&call);
	}
	free(bulk);
	return NULL;
}

static void test_pool_threads(void **st)
{
	struct gl_rpc_pool *p;
	struct worker w[8];
	pthread_t th[8];

	(void)st;
	assert_int_equal(gl_rpc_pool_new(1000, &p), 0);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){p, 0};
		assert_int_equal(pthread_create(&th[i], NULL, pool_worker, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].fails, 0);
	}
	gl_rpc_pool_free(p);
}

/* ---- raw sockets ---- */

static int raw(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {5, 0};

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads a reply header until the server closes: its status, 1 if none came. */
static int reply_status(int fd)
{
	uint8_t hdr[GL_RPC_HDR_SIZE];
	struct gl_frame_hdr h;

	if (read_n(fd, hdr, sizeof(hdr)) || gl_frame_hdr_decode(hdr, &h))
		return 1;
	assert_true(h.flags & GL_RPC_F_REPLY);
	return h.status;
}

/* Sends bytes (then, with half_close, EOF) and returns the reply status or 1 if none. */
static int abuse(const void *bytes, size_t n, int half_close)
{
	int fd = raw(gl_rpc_server_port(srv)), st;

	assert_int_equal(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
	if (half_close)
		shutdown(fd, SHUT_WR);
	st = reply_status(fd);
	close(fd);
	return st;
}

static size_t mkframe(uint8_t *out, uint16_t op, const void *args, uint32_t alen, int flags)
{
	struct gl_frame_hdr h = {GL_RPC_VERSION, (uint8_t)flags, op, 9, 0, alen, 0, 0};

	h.body_crc = gl_frame_body_crc(args, alen, NULL, 0);
	gl_frame_hdr_encode(&h, out);
	if (alen)
		memcpy(out + GL_RPC_HDR_SIZE, args, alen);
	return GL_RPC_HDR_SIZE + alen;
}

static void still_serving(void)
{
	struct gl_rpc_conn *c;

	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	echo(c, 1000, 0);
	gl_rpc_close(c);
}

static void test_hostile(void **st)
{
	uint8_t f[256], junk[4096];
	struct gl_frame_hdr h = {GL_RPC_VERSION, 0, OP_ECHO, 1, 0, 0, 0, 0};
	size_t n;
	int fd;

	(void)st;
	n = mkframe(f, OP_ECHO, "abc", 3, 0);
	assert_int_equal(abuse(f, 20, 1), 1);	 /* truncated header: closed, no reply */
	assert_int_equal(abuse(f, n - 1, 1), 1); /* truncated body */
	f[3] ^= 1;
	assert_int_equal(abuse(f, n, 0), -GL_EPROTO); /* bad magic */
	n = mkframe(f, OP_ECHO, "abc", 3, 0);
	f[37] ^= 1;
	assert_int_equal(abuse(f, n, 0), -GL_EPROTO); /* header crc */
	n = mkframe(f, OP_ECHO, "abc", 3, 0);
	f[GL_RPC_HDR_SIZE] ^= 1;
	assert_int_equal(abuse(f, n, 0), -GL_ECORRUPT); /* body crc */
	n = mkframe(f, 0x7777, "abc", 3, 0);
	f[GL_RPC_HDR_SIZE] ^= 1;
	assert_int_equal(abuse(f, n, 0), -GL_ECORRUPT); /* body crc, unknown opcode */
	h.args_len = 0xfffffff0u;
	gl_frame_hdr_encode(&h, f);
	assert_int_equal(abuse(f, GL_RPC_HDR_SIZE, 0), -GL_E2BIG); /* huge args */
	h.args_len = 0;
	h.bulk_len = GL_RPC_MAX_BULK + 1;
	gl_frame_hdr_encode(&h, f);
	assert_int_equal(abuse(f, GL_RPC_HDR_SIZE, 0), -GL_E2BIG); /* huge bulk */
	h.bulk_len = 0;
	h.version = 77;
	gl_frame_hdr_encode(&h, f);
	assert_int_equal(abuse(f, GL_RPC_HDR_SIZE, 0), -GL_EVERSION);
	n = mkframe(f, OP_ECHO, "abc", 3, GL_RPC_F_REPLY);
	assert_int_equal(abuse(f, n, 0), -GL_EPROTO); /* a reply as a request */
	srand(3);
	for (int i = 0; i < 20; i++) {
		for (size_t j = 0; j < sizeof(junk); j++)
			junk[j] = (uint8_t)rand();
		assert_int_not_equal(abuse(junk, sizeof(junk), i % 2), 0);
	}
	/* a big request whose sender leaves without reading the reply (EPIPE on the server) */
	{
		uint8_t *big = pattern(4 * MIB, 9);
		struct iovec iov = {big, 4 * MIB};

		h = (struct gl_frame_hdr){GL_RPC_VERSION, 0, OP_ECHO, 2, 0, 0, 4 * MIB, 0};
		h.body_crc = gl_frame_body_crc(NULL, 0, &iov, 1);
		gl_frame_hdr_encode(&h, f);
		fd = raw(gl_rpc_server_port(srv));
		assert_int_equal(send(fd, f, GL_RPC_HDR_SIZE, MSG_NOSIGNAL), GL_RPC_HDR_SIZE);
		assert_int_equal(send(fd, big, 4 * MIB, MSG_NOSIGNAL), (ssize_t)(4 * MIB));
		close(fd);
		free(big);
	}
	/* two requests in one write, then EOF: both answered, in order */
	n = mkframe(f, OP_ECHO, "abc", 3, 0);
	n += mkframe(f + n, 0x7777, NULL, 0, 0);
	fd = raw(gl_rpc_server_port(srv));
	assert_int_equal(send(fd, f, n, MSG_NOSIGNAL), (ssize_t)n);
	shutdown(fd, SHUT_WR);
	assert_int_equal(reply_status(fd), 0);
	assert_int_equal(read_n(fd, junk, 3), 0);
	assert_int_equal(reply_status(fd), -GL_EBADOP);
	assert_int_equal(reply_status(fd), 1);
	close(fd);
	still_serving();
}

/* A byte stream of echo requests with bulks of many sizes (below, at and above the server's
 * input buffer), written by a thread in slices of the given sizes (0: all in one write). */
struct stream {
	uint8_t *bytes;
	size_t len;
	const size_t *slices;
	int nslices;
	int fd;
};

static void *stream_writer(void *arg)
{
	struct stream *w = arg;
	size_t off = 0;

	for (int i = 0; off < w->len; i++) {
		size_t n = w->nslices ? w->slices[i % w->nslices] : w->len;

		n = n < w->len - off ? n : w->len - off;
		assert_int_equal(send(w->fd, w->bytes + off, n, MSG_NOSIGNAL), (ssize_t)n);
		off += n;
		if (w->nslices && i < 64)
			usleep(200); /* let the server see the partial frame */
	}
	return NULL;
}

static void stream_echo(const size_t *slices, int nslices)
{
	static const size_t sizes[] = {0,    1,	    100,   4096,  16383,   16384, 16385,
				       4096, 65536, 12000, 40000, 3 * MIB, 4096,  7};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct stream w = {.slices = slices, .nslices = nslices};
	uint8_t *bulks[N], *got = malloc(3 * MIB), hb[GL_RPC_HDR_SIZE];
	size_t cap = 0;
	pthread_t th;

	for (int i = 0; i < N; i++)
		cap += GL_RPC_HDR_SIZE + 8 + sizes[i];
	w.bytes = malloc(cap);
	for (int i = 0; i < N; i++) {
		struct iovec iov = {bulks[i] = pattern(sizes[i], (unsigned)i), sizes[i]};
		struct gl_frame_hdr h = {GL_RPC_VERSION,     0, OP_ECHO, (uint64_t)i + 100, 0, 8,
					 (uint32_t)sizes[i], 0};
		char args[9];

		snprintf(args, sizeof(args), "req%05d", i);
		h.body_crc = gl_frame_body_crc(args, 8, &iov, 1);
		gl_frame_hdr_encode(&h, w.bytes + w.len);
		memcpy(w.bytes + w.len + GL_RPC_HDR_SIZE, args, 8);
		memcpy(w.bytes + w.len + GL_RPC_HDR_SIZE + 8, bulks[i], sizes[i]);
		w.len += GL_RPC_HDR_SIZE + 8 + sizes[i];
	}
	w.fd = raw(gl_rpc_server_port(srv));
	assert_int_equal(pthread_create(&th, NULL, stream_writer, &w), 0);
	for (int i = 0; i < N; i++) {
		struct gl_frame_hdr h;
		char args[9] = {0}, want[9];

		assert_int_equal(read_n(w.fd, hb, sizeof(hb)), 0);
		assert_int_equal(gl_frame_hdr_decode(hb, &h), 0);
		assert_int_equal(h.id, (uint64_t)i + 100);
		assert_int_equal(h.status, 0);
		assert_int_equal(h.args_len, 8);
		assert_int_equal(h.bulk_len, sizes[i]);
		assert_int_equal(read_n(w.fd, args, 8), 0);
		snprintf(want, sizeof(want), "req%05d", i);
		assert_string_equal(args, want);
		if (sizes[i]) {
			assert_int_equal(read_n(w.fd, got, sizes[i]), 0);
			assert_memory_equal(got, bulks[i], sizes[i]);
		}
		free(bulks[i]);
	}
	pthread_join(th, NULL);
	close(w.fd);
	free(w.bytes);
	free(got);
}

/* Requests pipelined in one write, and frames split at every kind of boundary across writes,
 * are each answered in order with their own bytes. */
static void test_stream(void **st)
{
	static const size_t bytewise[] = {1, 7, 39, 41, 3, 5000, 16384, 2};
	static const size_t odd[] = {40, 8, 4096, 16385, 100000};

	(void)st;
	stream_echo(NULL, 0);
	stream_echo(bytewise, 8);
	stream_echo(odd, 5);
	still_serving();
}

/* A client that stops half way through a frame, and one that never sends: both closed. */
static void test_slow_peers(void **st)
{
	struct gl_rpc_server *s2;
	char a2[64];
	uint8_t f[64];
	struct timespec t0, t1;
	int fd;

	(void)st;
	s2 = start(4, 300, 400, a2);
	mkframe(f, OP_ECHO, "abc", 3, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = raw(gl_rpc_server_port(s2));
	assert_int_equal(send(fd, f, 20, MSG_NOSIGNAL), 20);
	assert_int_equal(reply_status(fd), 1);
	close(fd);
	fd = raw(gl_rpc_server_port(s2));
	assert_int_equal(reply_status(fd), 1);
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	gl_rpc_server_stop(s2);
}

/* With max_conns open, a new connection waits until one ends. */
static void test_max_conns(void **st)
{
	struct gl_rpc_server *s2;
	struct gl_rpc_conn *c;
	struct gl_rpc_call call = {.opcode = OP_ECHO};
	char a2[64];
	int fd1, fd2;

	(void)st;
	s2 = start(2, 2000, 5000, a2);
	fd1 = raw(gl_rpc_server_port(s2));
	fd2 = raw(gl_rpc_server_port(s2));
	usleep(100 * 1000);
	assert_int_equal(gl_rpc_connect(a2, 1000, &c), 0); /* the kernel's backlog */
	assert_int_equal(gl_rpc_call(c, &call, 300), -GL_ETIMEDOUT);
	gl_rpc_close(c);
	close(fd1);
	assert_int_equal(gl_rpc_connect(a2, 1000, &c), 0);
	assert_int_equal(gl_rpc_call(c, &call, 2000), 0);
	assert_int_equal(call.status, 0);
	gl_rpc_call_done(&call);
	gl_rpc_close(c);
	close(fd2);
	gl_rpc_server_stop(s2);
}

struct slow_call {
	const char *addr;
	int rc;
};

static void *slow_caller(void *arg)
{
	struct slow_call *sc = arg;
	struct gl_rpc_conn *c;
	uint8_t ms[4];
	struct gl_rpc_call call = {.opcode = OP_SLOW, .args = ms, .args_len = 4};

	gl_le32(ms, 300);
	sc->rc = gl_rpc_connect(sc->addr, 1000, &c);
	if (sc->rc)
		return NULL;
	sc->rc = gl_rpc_call(c, &call, 5000);
	gl_rpc_call_done(&call);
	gl_rpc_close(c);
	return NULL;
}

/* Stop with idle clients, a client mid-frame and a handler running: it closes and joins them. */
static void test_stop(void **st)
{
	struct gl_rpc_server *s2;
	struct gl_rpc_conn *c;
	struct gl_rpc_call call = {.opcode = OP_ECHO};
	struct slow_call sc;
	pthread_t th;
	char a2[64];
	uint8_t f[64];
	int fd1, fd2;

	(void)st;
	s2 = start(8, 5000, 60000, a2);
	assert_int_equal(gl_rpc_connect(a2, 1000, &c), 0);
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	gl_rpc_call_done(&call);
	fd1 = raw(gl_rpc_server_port(s2));
	fd2 = raw(gl_rpc_server_port(s2));
	mkframe(f, OP_ECHO, "abc", 3, 0);
	assert_int_equal(send(fd2, f, 10, MSG_NOSIGNAL), 10);
	sc.addr = a2;
	assert_int_equal(pthread_create(&th, NULL, slow_caller, &sc), 0);
	usleep(100 * 1000);
	gl_rpc_server_stop(s2);
	pthread_join(th, NULL);
	assert_true(sc.rc < 0); /* the reply could not be sent */
	assert_int_equal(reply_status(fd1), 1);
	assert_int_equal(reply_status(fd2), 1);
	assert_true(gl_rpc_call(c, &call, 1000) < 0);
	gl_rpc_close(c);
	close(fd1);
	close(fd2);
}

static void test_parse(void **st)
{
	uint8_t f[256];
	struct gl_frame_hdr h,
	    h2 = {
		GL_RPC_VERSION, GL_RPC_F_REPLY, 0xbeef, 0x0102030405060708ull, -GL_ENOSPC, 0, 0, 0};
	const uint8_t *a, *b;
	size_t n = mkframe(f, OP_ECHO, "abcdef", 6, 0);

	(void)st;
	assert_int_equal(gl_frame_parse(f, n, &h, &a, &b), 0);
	assert_int_equal(h.args_len, 6);
	assert_int_equal(h.bulk_len, 0);
	assert_memory_equal(a, "abcdef", 6);
	assert_ptr_equal(b, f + n);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(gl_frame_parse(f, cut, &h, &a, &b), -GL_EPROTO);
	f[n] = 0;
	assert_int_equal(gl_frame_parse(f, n + 1, &h, &a, &b), -GL_EPROTO); /* trailing byte */
	f[n - 1] ^= 1;
	assert_int_equal(gl_frame_parse(f, n, &h, &a, &b), -GL_ECORRUPT);
	assert_null(a);
	/* every header field survives encode and decode */
	h2.args_len = GL_RPC_MAX_ARGS;
	h2.bulk_len = GL_RPC_MAX_BULK;
	h2.body_crc = 0xdeadbeef;
	gl_frame_hdr_encode(&h2, f);
	assert_int_equal(gl_rd32(f), GL_RPC_MAGIC);
	assert_memory_equal(f, "GLRY", 4);
	assert_int_equal(gl_frame_hdr_decode(f, &h), 0);
	/* field by field: padding bytes are not part of the contract */
	assert_int_equal(h.version, h2.version);
	assert_int_equal(h.flags, h2.flags);
	assert_int_equal(h.opcode, h2.opcode);
	assert_true(h.id == h2.id);
	assert_int_equal(h.status, h2.status);
	assert_int_equal(h.args_len, h2.args_len);
	assert_int_equal(h.bulk_len, h2.bulk_len);
	assert_int_equal(h.body_crc, h2.body_crc);
	/* any single bit flipped in the header is caught */
	for (int bit = 0; bit < GL_RPC_HDR_SIZE * 8; bit++) {
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(gl_frame_hdr_decode(f, &h), 0);
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* a body split in pieces has the CRC of the whole */
	{
		struct iovec iov[3] = {{f, 10}, {f + 10, 0}, {f + 10, 30}};

		assert_int_equal(gl_frame_body_crc("xy", 2, iov, 3),
				 gl_crc32c(gl_crc32c(GL_CRC_INIT, "xy", 2), f, 40));
		assert_int_equal(gl_frame_body_crc(NULL, 0, NULL, 0), GL_CRC_INIT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),	 cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_ipv6),	 cmocka_unit_test(test_status),
	    cmocka_unit_test(test_reply_shapes), cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_pool_reuse),	 cmocka_unit_test(test_pool_retry),
	    cmocka_unit_test(test_multi),	 cmocka_unit_test(test_pool_threads),
	    cmocka_unit_test(test_hostile),	 cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_slow_peers),	 cmocka_unit_test(test_max_conns),
	    cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

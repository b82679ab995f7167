/* RPC: round trips, errors, pool, parallel calls, timeouts, and hostile bytes on the socket. */
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
#include <sys/socket.h>

#include <cmocka.h>

#include "common/crc.h"
#include "common/errors.h"
#include "common/rpc.h"

enum { OP_ECHO = 1, OP_FAIL = 2, OP_SLOW = 3 };

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

static int h_fail(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	(void)rep;
	return -GL_ENOSPC;
}

static int h_slow(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	(void)rep;
	usleep(700 * 1000);
	return 0;
}

static const struct gl_rpc_op ops[] = {
    {OP_ECHO, "echo", h_echo}, {OP_FAIL, "fail", h_fail}, {OP_SLOW, "slow", h_slow}};

static struct gl_rpc_server *srv;
static char addr[64];

static int setup(void **s)
{
	struct gl_rpc_server_cfg cfg = {"127.0.0.1:0", ops, 3, NULL, 16, 2000, 5000};

	(void)s;
	if (gl_rpc_server_start(&cfg, &srv))
		return -1;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", gl_rpc_server_port(srv));
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	gl_rpc_server_stop(srv);
	return 0;
}

static void echo(struct gl_rpc_conn *c, size_t bulk_len, int into_buf)
{
	uint8_t *bulk = malloc(bulk_len + 1), *rb = malloc(bulk_len + 1);
	struct iovec iov = {bulk, bulk_len};
	struct gl_rpc_call call = {0};

	for (size_t i = 0; i < bulk_len; i++)
		bulk[i] = (uint8_t)(i * 13);
	call.opcode = OP_ECHO;
	call.args = "hello";
	call.args_len = 5;
	call.bulk = &iov;
	call.nbulk = 1;
	if (into_buf) {
		call.rbuf = rb;
		call.rbuf_cap = bulk_len;
	}
	assert_int_equal(gl_rpc_call(c, &call, 5000), 0);
	assert_int_equal(call.status, 0);
	assert_int_equal(call.rargs_len, 5);
	assert_memory_equal(call.rargs, "hello", 5);
	assert_int_equal(call.rbulk_len, bulk_len);
	assert_memory_equal(call.rbulk, bulk, bulk_len);
	if (into_buf && bulk_len)
		assert_ptr_equal(call.rbulk, rb);
	gl_rpc_call_done(&call);
	free(bulk);
	free(rb);
}

static void test_roundtrip(void **s)
{
	struct gl_rpc_conn *c;
	struct gl_rpc_call call = {0};

	(void)s;
	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	echo(c, 0, 0);
	echo(c, 100, 0);
	echo(c, 4u << 20, 1);
	echo(c, 4u << 20, 0);
	call.opcode = OP_FAIL;
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, -GL_ENOSPC);
	gl_rpc_call_done(&call);
	call = (struct gl_rpc_call){.opcode = 0x7777};
	assert_int_equal(gl_rpc_call(c, &call, 1000), 0);
	assert_int_equal(call.status, -GL_EBADOP);
	gl_rpc_call_done(&call);
	echo(c, 10, 0); /* still usable after an unknown opcode */
	gl_rpc_close(c);
}

static void test_timeout(void **s)
{
	struct gl_rpc_conn *c;
	struct gl_rpc_call call = {.opcode = OP_SLOW};

	(void)s;
	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	assert_int_equal(gl_rpc_call(c, &call, 200), -GL_ETIMEDOUT);
	gl_rpc_close(c);
	assert_int_equal(gl_rpc_connect("127.0.0.1:1", 1000, &c) < 0, 1);
}

static void test_pool_multi(void **s)
{
	struct gl_rpc_pool *p;
	struct gl_rpc_call calls[8];
	const char *addrs[8];
	uint8_t *bufs[8];
	struct iovec iov[8];

	(void)s;
	assert_int_equal(gl_rpc_pool_new(1000, &p), 0);
	for (int round = 0; round < 3; round++) {
		memset(calls, 0, sizeof(calls));
		for (int i = 0; i < 8; i++) {
			bufs[i] = malloc(1u << 20);
			memset(bufs[i], i + round, 1u << 20);
			iov[i] = (struct iovec){bufs[i], 1u << 20};
			calls[i].opcode = i == 7 ? OP_FAIL : OP_ECHO;
			calls[i].bulk = &iov[i];
			calls[i].nbulk = 1;
			addrs[i] = addr;
		}
		assert_int_equal(gl_rpc_multi(p, 8, addrs, calls, 5000), -GL_ENOSPC);
		for (int i = 0; i < 7; i++) {
			assert_int_equal(calls[i].status, 0);
			assert_memory_equal(calls[i].rbulk, bufs[i], 1u << 20);
		}
		assert_int_equal(calls[7].status, -GL_ENOSPC);
		for (int i = 0; i < 8; i++) {
			gl_rpc_call_done(&calls[i]);
			free(bufs[i]);
		}
	}
	/* a dead address fails alone */
	memset(calls, 0, sizeof(calls));
	calls[0].opcode = OP_ECHO;
	calls[1].opcode = OP_ECHO;
	addrs[0] = addr;
	addrs[1] = "127.0.0.1:1";
	gl_rpc_multi(p, 2, addrs, calls, 2000);
	assert_int_equal(calls[0].status, 0);
	assert_true(calls[1].status < 0);
	gl_rpc_call_done(&calls[0]);
	gl_rpc_call_done(&calls[1]);
	memset(calls, 0, sizeof(calls));
	calls[0].opcode = OP_ECHO;
	assert_int_equal(gl_rpc_pool_call(p, addr, &calls[0], 1000), 0);
	gl_rpc_call_done(&calls[0]);
	gl_rpc_pool_free(p);
}

static int raw(void)
{
	struct sockaddr_in sin = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)gl_rpc_server_port(srv));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Sends bytes, then reads until the server closes; returns the reply status or 1 if none. */
static int abuse(const void *bytes, size_t n, int half_close)
{
	uint8_t hdr[GL_RPC_HDR_SIZE];
	struct gl_frame_hdr h;
	int fd = raw(), st = 1;
	size_t got = 0;
	struct timeval tv = {5, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
	if (half_close)
		shutdown(fd, SHUT_WR);
	while (got < sizeof(hdr)) {
		ssize_t r = recv(fd, hdr + got, sizeof(hdr) - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == sizeof(hdr) && gl_frame_hdr_decode(hdr, &h) == 0)
		st = h.status;
	close(fd);
	return st;
}

static size_t mkframe(uint8_t *out, uint16_t op, const void *args, uint32_t alen, int flags)
{
	struct gl_frame_hdr h = {GL_RPC_VERSION, (uint8_t)flags, op, 9, 0, alen, 0, 0};

	h.body_crc = gl_frame_body_crc(args, alen, NULL, 0);
	gl_frame_hdr_encode(&h, out);
	memcpy(out + GL_RPC_HDR_SIZE, args, alen);
	return GL_RPC_HDR_SIZE + alen;
}

static void test_hostile(void **s)
{
	uint8_t f[256], junk[4096];
	size_t n;
	struct gl_rpc_conn *c;

	(void)s;
	n = mkframe(f, OP_ECHO, "abc", 3, 0);
	assert_int_equal(abuse(f, 20, 1), 1); /* truncated: closed, no reply */
	f[3] ^= 1;
	assert_int_equal(abuse(f, n, 0), -GL_EPROTO); /* bad magic */
	n = mkframe(f, OP_ECHO, "abc", 3, 0);
	f[37] ^= 1;
	assert_int_equal(abuse(f, n, 0), -GL_EPROTO); /* header crc */
	n = mkframe(f, OP_ECHO, "abc", 3, 0);
	f[GL_RPC_HDR_SIZE] ^= 1;
	assert_int_equal(abuse(f, n, 0), -GL_ECORRUPT); /* body crc */
	{
		struct gl_frame_hdr h = {GL_RPC_VERSION, 0, OP_ECHO, 1, 0, 0xfffffff0u, 0, 0};

		gl_frame_hdr_encode(&h, f);
		assert_int_equal(abuse(f, GL_RPC_HDR_SIZE, 0), -GL_E2BIG);
		h.version = 77;
		h.args_len = 0;
		gl_frame_hdr_encode(&h, f);
		assert_int_equal(abuse(f, GL_RPC_HDR_SIZE, 0), -GL_EVERSION);
	}
	n = mkframe(f, OP_ECHO, "abc", 3, GL_RPC_F_REPLY);
	assert_int_equal(abuse(f, n, 0), -GL_EPROTO);
	srand(3);
	for (int i = 0; i < 20; i++) {
		for (size_t j = 0; j < sizeof(junk); j++)
			junk[j] = (uint8_t)rand();
		assert_int_not_equal(abuse(junk, sizeof(junk), 1), 0);
	}
	/* the server still serves a well-behaved client */
	assert_int_equal(gl_rpc_connect(addr, 1000, &c), 0);
	echo(c, 1000, 0);
	gl_rpc_close(c);
}

static void test_parse(void **s)
{
	uint8_t f[256];
	struct gl_frame_hdr h;
	const uint8_t *a, *b;
	size_t n = mkframe(f, OP_ECHO, "abcdef", 6, 0);

	(void)s;
	assert_int_equal(gl_frame_parse(f, n, &h, &a, &b), 0);
	assert_memory_equal(a, "abcdef", 6);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_not_equal(gl_frame_parse(f, cut, &h, &a, &b), 0);
	f[n - 1] ^= 1;
	assert_int_equal(gl_frame_parse(f, n, &h, &a, &b), -GL_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_pool_multi), cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

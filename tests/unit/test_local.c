/* Local reads (storage/local.h): a data server's fragment files read by a client on the same
 * host through the descriptors the server passes it. A real fragment store and server thread,
 * a real client over the abstract socket: every edge of a range, the descriptor kept, a
 * corrupt block refused, a missing fragment, inline fragments and absent servers declined,
 * reads after the server stopped or deleted the file, other hosts' servers never asked, a
 * server that stops answering, and the messages' decoders. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/crc.h"
#include "common/errors.h"
#include "storage/fstore.h"
#include "storage/local.h"

#include "tests/unit/fragpath.h"
#include "tests/unit/tmpdir.h"

#define BLK  (64u << 10)
#define FLEN ((1u << 20) + 1000) /* 17 blocks, the last one short */

static char addr[128];

static struct gl_fkey key(int n)
{
	struct gl_fkey k = {.pool = 0x00010200, .idx = 0};

	memset(k.chunk, n, sizeof(k.chunk));
	return k;
}

static uint8_t *data(size_t len, int seed)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 9) + (size_t)seed);
	return p;
}

static void put(struct gl_fstore *fs, const struct gl_fkey *k, const uint8_t *d, size_t len)
{
	struct gl_fmeta m = {(uint32_t)len, gl_crc32c(GL_CRC_INIT, d, len), len, 0};

	assert_int_equal(gl_fstore_put(fs, k, &m, d, len), 0);
}

static void flip(const struct gl_fkey *k, long off)
{
	char path[256];
	uint8_t c;
	int fd;

	frag_path_in(dir, k, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 4096 + off), 1);
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, 4096 + off), 1);
	close(fd);
}

struct env {
	struct gl_fstore *fs;
	struct gl_local_srv *srv;
	struct gl_local *cli;
	uint8_t *d;
	struct gl_fkey k;
};

static void env_up(struct env *e)
{
	snprintf(addr, sizeof(addr), "127.0.0.1:unit-%d-%s", (int)getpid(), dir + 5);
	assert_int_equal(gl_fstore_open(dir, &e->fs), 0);
	assert_int_equal(gl_local_srv_start(e->fs, addr, &e->srv), 0);
	e->cli = gl_local_new();
	assert_non_null(e->cli);
	e->k = key(7);
	e->d = data(FLEN, 3);
	put(e->fs, &e->k, e->d, FLEN);
}

static void env_down(struct env *e)
{
	gl_local_free(e->cli);
	gl_local_srv_stop(e->srv);
	gl_fstore_close(e->fs);
	free(e->d);
}

static int rd(struct env *e, uint32_t off, uint32_t len, uint8_t *out)
{
	return gl_local_read(e->cli, addr, &e->k, FLEN, FLEN, off, len, out);
}

static void expect(struct env *e, uint32_t off, uint32_t len)
{
	uint8_t *out = malloc(len + 2);

	out[len] = 0xa5;
	assert_int_equal(rd(e, off, len, out), 0);
	assert_memory_equal(out, e->d + off, len);
	assert_int_equal(out[len], 0xa5); /* nothing written past the range */
	free(out);
}

static void test_ranges(void **s)
{
	struct gl_local_stats st;
	struct env e;

	(void)s;
	env_up(&e);
	expect(&e, 0, FLEN);		       /* the whole fragment */
	expect(&e, 0, 4096);		       /* inside the first block */
	expect(&e, 5 * BLK + 100, 4096);       /* inside a block, unaligned */
	expect(&e, 3 * BLK - 10, 20);	       /* across a block boundary */
	expect(&e, 2 * BLK, 3 * BLK);	       /* whole blocks only */
	expect(&e, BLK - 1, 4 * BLK + 2);      /* cut blocks at both ends, whole ones inside */
	expect(&e, 16 * BLK, FLEN - 16 * BLK); /* the short last block */
	expect(&e, FLEN - 1, 1);
	expect(&e, 7, 0);
	gl_local_get_stats(e.cli, &st);
	assert_int_equal(st.reads, 9);
	assert_int_equal(st.opens, 1); /* the descriptor is kept */
	assert_int_equal(st.corrupt, 0);
	/* past the end, and a chunk of another length: refused */
	assert_int_equal(rd(&e, FLEN - 10, 11, e.d), -GL_EINVAL);
	assert_int_equal(gl_local_read(e.cli, addr, &e.k, FLEN + 1, FLEN, 0, 10, e.d), -GL_EPROTO);
	env_down(&e);
}

static void test_corrupt_block(void **s)
{
	struct gl_local_stats st;
	uint8_t *out = malloc(FLEN);
	struct env e;

	(void)s;
	env_up(&e);
	expect(&e, 0, 4096);
	flip(&e.k, 3 * BLK + 777); /* under the kept descriptor: the same file */
	assert_int_equal(rd(&e, 3 * BLK + 4096, 4096, out), -GL_ECORRUPT);
	assert_int_equal(rd(&e, 0, FLEN, out), -GL_ECORRUPT);
	expect(&e, 5 * BLK, 4096); /* other blocks still read */
	gl_local_get_stats(e.cli, &st);
	assert_int_equal(st.corrupt, 2);
	assert_int_equal(st.opens, 3); /* a failed read drops the descriptor */
	free(out);
	env_down(&e);
}

static void test_declined(void **s)
{
	struct gl_fkey small = key(9), none = key(10);
	uint8_t *sd = data(5000, 1), out[100];
	struct env e;

	(void)s;
	env_up(&e);
	/* a small fragment lives in RocksDB: not even asked */
	put(e.fs, &small, sd, 5000);
	assert_int_equal(gl_local_read(e.cli, addr, &small, 5000, 5000, 0, 100, out), -GL_ENOTSUP);
	/* the server says inline (the client thought it large) */
	assert_int_equal(
	    gl_local_read(e.cli, addr, &small, 5000, GL_FSTORE_INLINE_MAX, 0, 100, out),
	    -GL_ENOTSUP);
	/* not there */
	assert_int_equal(gl_local_read(e.cli, addr, &none, FLEN, FLEN, 0, 100, out), -GL_ENOENT);
	/* no server by that address on this host */
	assert_int_equal(gl_local_read(e.cli, "127.0.0.1:1", &e.k, FLEN, FLEN, 0, 100, out),
			 -GL_ENOTSUP);
	expect(&e, 0, 100);
	free(sd);
	env_down(&e);
	/* turned off */
	setenv("GLORY_LOCAL_READS", "0", 1);
	assert_null(gl_local_new());
	assert_int_equal(gl_local_read(NULL, addr, &none, FLEN, FLEN, 0, 100, out), -GL_ENOTSUP);
	unsetenv("GLORY_LOCAL_READS");
}

/* Warming a fragment (the kernel reads it into the page cache) opens and keeps its descriptor
 * as a read does, counts no read, and declines what a read declines. */
static void test_warm(void **s)
{
	struct gl_fkey none = key(10);
	struct gl_local_stats st;
	struct env e;

	(void)s;
	env_up(&e);
	assert_int_equal(gl_local_warm(e.cli, addr, &e.k, FLEN, FLEN), 0);
	gl_local_get_stats(e.cli, &st);
	assert_int_equal(st.opens, 1);
	assert_int_equal(st.reads, 0);
	expect(&e, BLK, 3 * BLK); /* the kept descriptor */
	assert_int_equal(gl_local_warm(e.cli, addr, &e.k, FLEN, FLEN), 0);
	gl_local_get_stats(e.cli, &st);
	assert_int_equal(st.opens, 1);
	assert_int_equal(st.reads, 1);
	assert_int_equal(gl_local_warm(e.cli, addr, &none, FLEN, FLEN), -GL_ENOENT);
	assert_int_equal(gl_local_warm(e.cli, addr, &e.k, FLEN, FLEN - 1), -GL_EPROTO);
	assert_int_equal(gl_local_warm(e.cli, "127.0.0.1:1", &e.k, FLEN, FLEN), -GL_ENOTSUP);
	assert_int_equal(gl_local_warm(NULL, addr, &e.k, FLEN, FLEN), -GL_ENOTSUP);
	/* a read with no buffer is refused, not taken for a warm */
	assert_int_equal(gl_local_read(e.cli, addr, &e.k, FLEN, FLEN, 0, 100, NULL), -GL_EINVAL);
	env_down(&e);
}

static void test_kept_descriptor(void **s)
{
	struct gl_fkey k2 = key(11);
	uint8_t *d2 = data(FLEN, 5), out[64];
	struct env e;

	(void)s;
	env_up(&e);
	put(e.fs, &k2, d2, FLEN);
	expect(&e, 0, 4096);
	/* the server deletes the file: the bytes under the key never change, the kept descriptor
	 * still reads them */
	assert_int_equal(gl_fstore_del(e.fs, &e.k), 0);
	expect(&e, 9 * BLK, 4096);
	/* the server stops: kept descriptors still read, new fragments are declined (RPC) */
	gl_local_srv_stop(e.srv);
	e.srv = NULL;
	expect(&e, 10 * BLK, 4096);
	assert_int_equal(gl_local_read(e.cli, addr, &k2, FLEN, FLEN, 0, 64, out), -GL_ENOTSUP);
	free(d2);
	env_down(&e);
}

/* Servers at other hosts' addresses are never asked and take no place: a client that read from
 * a hundred of them still finds the one beside it. */
static void test_other_hosts(void **s)
{
	uint8_t out[100];
	struct env e;

	(void)s;
	env_up(&e);
	for (int i = 0; i < 100; i++) {
		char a[64];

		snprintf(a, sizeof(a), "192.0.2.%d:7000", i + 1); /* TEST-NET-1: nobody's */
		assert_int_equal(gl_local_read(e.cli, a, &e.k, FLEN, FLEN, 0, 100, out),
				 -GL_ENOTSUP);
	}
	expect(&e, 0, 100);
	env_down(&e);
}

/* A server that stops answering (SIGSTOP) costs the readers one timeout, not one each. */
struct stalled_reader {
	struct gl_local *cli;
	const char *addr;
	int n, rc;
};

static void *stalled_read(void *arg)
{
	struct stalled_reader *r = arg;
	struct gl_fkey k = key(50 + r->n);
	uint8_t out[64];

	r->rc = gl_local_read(r->cli, r->addr, &k, FLEN, FLEN, 0, sizeof(out), out);
	return NULL;
}

static void test_stalled_server(void **s)
{
	const char *a = "127.0.0.1:stalled";
	struct stalled_reader r[8];
	pthread_t th[8];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct gl_local *cli = gl_local_new();
	struct timespec t0, t1;
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	socklen_t sl;

	(void)s;
	/* a listener under the server's name that never accepts nor answers */
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "glory-ds-local %s", a);
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1));
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(listen(lfd, 64), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 8; i++) {
		r[i] = (struct stalled_reader){cli, a, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, stalled_read, &r[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].rc, -GL_ENOTSUP);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* one 2 s timeout; one each, in turn, would be 16 s */
	assert_true(t1.tv_sec - t0.tv_sec < 8);
	gl_local_free(cli);
	close(lfd);
}

static void test_messages(void **s)
{
	uint8_t b[GL_LOCAL_REPLY_MAX], bad[GL_LOCAL_REQ_LEN];
	struct gl_fkey k = key(3), k2;
	struct gl_fmeta m = {FLEN, 1234, FLEN, 0}, m2;
	static struct gl_ffile f, f2;
	size_t n;

	(void)s;
	gl_local_req_encode(&k, b);
	assert_int_equal(gl_local_req_decode(b, GL_LOCAL_REQ_LEN, &k2), 0);
	assert_memory_equal(&k, &k2, sizeof(k));
	assert_int_equal(gl_local_req_decode(b, GL_LOCAL_REQ_LEN - 1, &k2), -GL_EPROTO);
	memcpy(bad, b, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(gl_local_req_decode(bad, sizeof(bad), &k2), -GL_EPROTO);

	f.data_off = 4096;
	f.bsize = BLK;
	f.nblk = 17;
	for (uint32_t i = 0; i < f.nblk; i++)
		f.crc[i] = i * 7 + 1;
	n = gl_local_reply_encode(0, &m, &f, b);
	assert_int_equal(n, GL_LOCAL_REPLY_HDR + 17 * 4);
	assert_int_equal(gl_local_reply_decode(b, n, &m2, &f2), 0);
	assert_int_equal(m2.len, FLEN);
	assert_int_equal(m2.crc, 1234);
	assert_int_equal(f2.nblk, 17);
	assert_int_equal(f2.crc[16], 16 * 7 + 1);
	/* a block table that does not cover the length, or a torn one */
	assert_int_equal(gl_local_reply_decode(b, n - 4, &m2, &f2), -GL_EPROTO);
	assert_int_equal(gl_local_reply_decode(b, n - 1, &m2, &f2), -GL_EPROTO);
	gl_le32(b + 28, 1000); /* block size not a power of two */
	assert_int_equal(gl_local_reply_decode(b, n, &m2, &f2), -GL_EPROTO);
	/* errors */
	n = gl_local_reply_encode(-GL_ENOENT, NULL, NULL, b);
	assert_int_equal(gl_local_reply_decode(b, n, &m2, &f2), -GL_ENOENT);
	gl_le32(b + 4, 7); /* not an error code of ours */
	assert_int_equal(gl_local_reply_decode(b, n, &m2, &f2), -GL_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_declined, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kept_descriptor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_hosts, setup, teardown),
	    cmocka_unit_test(test_stalled_server),
	    cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

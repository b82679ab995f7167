/* A replicated state machine group of three real members in one process (libraft over TCP on
 * 127.0.0.1, snapshots fetched over glory RPC): elections, proposals from many threads,
 * linearizable read fences, a killed leader, a member that falls behind and catches up by
 * snapshot, and adding and removing a member online. Every member ends with identical data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/rpc.h"
#include "metadata/rsm.h"

#define N 4 /* three founders and one that joins */

/* The machine: every op is a key; it is stored with its length as value; the reply is the
 * length. A key starting with '!' fails (writes nothing, the proposer gets -GL_EINVAL). */
static int kv_apply(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *op,
		    size_t len, struct gl_wbuf *reply)
{
	char v[24];

	(void)ctx;
	(void)db;
	if (len < 1)
		return -GL_EPROTO;
	if (op[0] == '!')
		return -GL_EINVAL;
	snprintf(v, sizeof(v), "%zu", len);
	rocksdb_writebatch_put(wb, (const char *)op, len, v, strlen(v));
	if (reply)
		gl_put_u32(reply, (uint32_t)len);
	return 0;
}

static const struct gl_rsm_sm sm = {NULL, kv_apply, NULL};
static struct gl_rsm *m[N];
static struct gl_rpc_server *srv[N];
static char addr[N][64], dirs[N][128], root[64];

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_member(int i, int boot)
{
	struct gl_rsm_cfg c = {0};
	static const struct gl_rpc_op ops[] = {
	    {GL_RSM_OP_SNAP_READ, "RSM_SNAP_READ", gl_rsm_h_snap_read}};
	struct gl_rpc_server_cfg sc = {0};
	int rc;

	c.dir = dirs[i];
	c.id = (uint64_t)i + 1;
	c.rpc_addr = addr[i];
	c.sm = &sm;
	c.snapshot_threshold = 256;
	c.snapshot_trailing = 64;
	c.election_ms = 500;
	c.heartbeat_ms = 50;
	if (boot) {
		c.nboot = 3;
		for (int k = 0; k < 3; k++) {
			c.boot[k].id = (uint64_t)k + 1;
			snprintf(c.boot[k].rpc_addr, sizeof(c.boot[k].rpc_addr), "%s", addr[k]);
		}
	}
	rc = gl_rsm_open(&c, &m[i]);
	if (rc)
		return rc;
	sc.listen = addr[i];
	sc.ops = ops;
	sc.nops = 1;
	sc.ctx = m[i];
	return gl_rpc_server_start(&sc, &srv[i]);
}

static void close_member(int i)
{
	gl_rpc_server_stop(srv[i]);
	gl_rsm_close(m[i]);
	m[i] = NULL;
	srv[i] = NULL;
}

static int leader(void)
{
	for (int i = 0; i < N; i++) {
		struct gl_rsm_status st;

		if (m[i] && gl_rsm_status(m[i], &st) == 0 && strcmp(st.role, "leader") == 0)
			return i;
	}
	return -1;
}

static int wait_leader(double secs)
{
	double t0 = mono();

	while (mono() - t0 < secs) {
		int l = leader();

		if (l >= 0)
			return l;
		usleep(10000);
	}
	return -1;
}

/* The leader's status (refreshed every 50 ms) shows n members within 5 s. */
static int wait_members(int n)
{
	double t0 = mono();

	while (mono() - t0 < 5) {
		struct gl_rsm_status st;
		int l = leader();

		if (l >= 0 && gl_rsm_status(m[l], &st) == 0 && st.nmembers == n)
			return 1;
		usleep(20000);
	}
	return 0;
}

/* Proposes key until it is applied (retrying through leader changes). */
static int propose_key(const char *k)
{
	for (int attempt = 0; attempt < 500; attempt++) {
		int l = leader();
		struct gl_wbuf rep;
		int rc;

		if (l < 0) {
			usleep(10000);
			continue;
		}
		gl_wbuf_init(&rep);
		rc = gl_rsm_propose(m[l], k, strlen(k), &rep, 3000);
		if (rc == 0 && (rep.len != 4 || gl_rd32(rep.p) != strlen(k)))
			rc = -GL_EPROTO;
		gl_wbuf_free(&rep);
		if (rc == 0 || rc == -GL_EPROTO)
			return rc;
		usleep(10000);
	}
	return -GL_ETIMEDOUT;
}

struct prop {
	int t, n, failed;
};

static void *proposer(void *a)
{
	struct prop *p = a;
	char k[64];

	for (int i = 0; i < p->n; i++) {
		snprintf(k, sizeof(k), "t%d_%06d", p->t, i);
		if (propose_key(k))
			p->failed++;
	}
	return NULL;
}

static double run_proposers(int threads, int each, int base)
{
	struct prop p[16];
	pthread_t th[16];
	double t0 = mono();

	for (int t = 0; t < threads; t++) {
		p[t] = (struct prop){base + t, each, 0};
		pthread_create(&th[t], NULL, proposer, &p[t]);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(p[t].failed, 0);
	}
	return mono() - t0;
}

/* Full content of member i's database, as one string of key=value lines. */
static char *dump(int i)
{
	rocksdb_t *db = gl_rsm_read_begin(m[i]);
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
	size_t cap = 1 << 20, len = 0;
	char *out = malloc(cap);

	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);

		if (kl == GL_RSM_APPLIED_KLEN && memcmp(k, GL_RSM_APPLIED_KEY, kl) == 0)
			continue; /* the applied index may differ by non-command entries */
		if (len + kl + vl + 2 >= cap)
			out = realloc(out, cap *= 2);
		memcpy(out + len, k, kl);
		len += kl;
		out[len++] = '=';
		memcpy(out + len, v, vl);
		len += vl;
		out[len++] = '\n';
	}
	out[len] = '\0';
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	gl_rsm_read_end(m[i]);
	return out;
}

/* Every open member ends with the same data (waiting up to 20 s for followers to apply). */
static void assert_all_equal(void)
{
	double t0 = mono();

	for (;;) {
		char *ref = NULL;
		int same = 1;

		for (int i = 0; i < N; i++) {
			char *d;

			if (!m[i])
				continue;
			d = dump(i);
			if (!ref) {
				ref = d;
				continue;
			}
			same &= strcmp(d, ref) == 0;
			free(d);
		}
		free(ref);
		if (same)
			return;
		assert_true(mono() - t0 < 20);
		usleep(50000);
	}
}

/* Whether 127.0.0.1:port can be bound now. */
static int port_free(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int setup(void **state)
{
	/* 2 x N free ports (RPC and raft), between 10000 and 20000: below both the kernel's
	 * ephemeral ports and the ports glory dev gives daemons of tests running beside us */
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	int base = 10000, k = 0;

	for (int tries = 0; tries < 1000 && k < 2 * N; tries++) {
		base = 10000 + (int)(rand_r(&seed) % 9990);
		for (k = 0; k < 2 * N && port_free(base + k); k++)
			;
	}
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(root, sizeof(root), "/tmp/glory-rsm.XXXXXX");
	assert_non_null(mkdtemp(root));
	for (int i = 0; i < N; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", base + 2 * i);
		snprintf(dirs[i], sizeof(dirs[i]), "%s/m%d", root, i);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	for (int i = 0; i < N; i++)
		if (m[i])
			close_member(i);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_group(void **state)
{
	struct gl_rsm_status st;
	struct gl_rsm_member lm;
	struct gl_wbuf rep;
	double t0, dt;
	int l, f, down;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(open_member(i, 1), 0);
	t0 = mono();
	l = wait_leader(10);
	assert_true(l >= 0);
	printf("first leader after %.2f s\n", mono() - t0);

	/* proposals from 8 threads; a failing op reaches its proposer and writes nothing */
	dt = run_proposers(8, 250, 0);
	printf("2000 proposals from 8 threads in %.2f s (%.0f/s)\n", dt, 2000 / dt);
	gl_wbuf_init(&rep);
	assert_int_equal(gl_rsm_propose(m[leader()], "!bad", 4, &rep, 3000), -GL_EINVAL);
	gl_wbuf_free(&rep);

	/* reads: the leader fences, a follower refuses and names the leader */
	l = leader();
	f = (l + 1) % 3;
	assert_int_equal(gl_rsm_read_fence(m[l], 3000), 0);
	assert_int_equal(gl_rsm_read_fence(m[f], 3000), -GL_ENOTLEADER);
	gl_wbuf_init(&rep);
	assert_int_equal(gl_rsm_propose(m[f], "x", 1, &rep, 3000), -GL_ENOTLEADER);
	gl_wbuf_free(&rep);
	assert_int_equal(gl_rsm_leader(m[f], &lm), 0);
	assert_string_equal(lm.rpc_addr, addr[l]);
	assert_all_equal();

	/* the leader dies: a new one within 5 s, and nothing acknowledged is lost */
	close_member(l);
	t0 = mono();
	assert_true(wait_leader(10) >= 0);
	dt = mono() - t0;
	printf("new leader %.2f s after the leader was closed\n", dt);
	assert_true(dt < 5.0);
	run_proposers(2, 50, 20);
	assert_int_equal(open_member(l, 1), 0); /* comes back from its files */

	/* a member misses far more entries than the snapshot threshold: it catches up by
	 * fetching a checkpoint */
	down = (leader() + 1) % 3;
	close_member(down);
	run_proposers(4, 400, 40);
	assert_int_equal(open_member(down, 1), 0);
	assert_all_equal();
	assert_int_equal(gl_rsm_status(m[down], &st), 0);
	assert_true(st.snapshot_index > 0);

	/* a fourth member joins online (no bootstrap), catches up, votes; then leaves */
	assert_int_equal(open_member(3, 0), 0);
	{
		struct gl_rsm_member nm = {.id = 4};

		snprintf(nm.rpc_addr, sizeof(nm.rpc_addr), "%s", addr[3]);
		assert_int_equal(gl_rsm_add(m[leader()], &nm, 30000), 0);
	}
	assert_true(wait_members(4));
	run_proposers(2, 50, 60);
	assert_all_equal();
	assert_int_equal(gl_rsm_remove(m[leader()], 4, 30000), 0);
	assert_true(wait_members(3));
	close_member(3);
	run_proposers(2, 20, 70);
	assert_all_equal();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_group, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

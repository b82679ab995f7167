/* The replicated state machine's FSM (metadata/rsm.c) under libraft's deterministic fixture
 * (raft/fixture.h): simulated time and network. An election, a partitioned leader replaced and
 * healed, and a killed follower that misses more entries than the snapshot threshold and then
 * installs a snapshot (a RocksDB checkpoint fetched from another member's files); every
 * member's database ends identical. Disk faults: a follower's and then the leader's disk stalls
 * (5 s per write) while the others commit. Failing writes (raft_fixture_io_fault) are left out:
 * libraft 0.22's fixture crashes on them (a double free inside the library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <raft.h>
#include <raft/fixture.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/errors.h"
#include "metadata/rsm.h"
#include "metadata/rsm_internal.h"

#define N 3

static char root[64], dirs[N][128], addrs[N][16];
static struct gl_rsm *m[N];
static int fetches;

static int kv_apply(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *op,
		    size_t len, struct gl_wbuf *reply)
{
	(void)ctx;
	(void)db;
	(void)reply;
	if (len == 0)
		return -GL_EPROTO;
	rocksdb_writebatch_put(wb, (const char *)op, len, "1", 1);
	return 0;
}

static const struct gl_rsm_sm sm = {NULL, kv_apply, NULL};

/* Reads a checkpoint file straight from the member whose address is "nodeI". */
static long fetch(void *arg, const char *rpc_addr, uint64_t snap, const char *file, uint64_t off,
		  void *buf, size_t cap)
{
	char path[512];
	int i = rpc_addr[4] - '0', fd;
	ssize_t n;

	(void)arg;
	if (i < 0 || i >= N)
		return -GL_EINVAL;
	if (off == 0)
		fetches++;
	snprintf(path, sizeof(path), "%s/snap/%020llu/%s", dirs[i], (unsigned long long)snap, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -GL_ENOENT;
	n = pread(fd, buf, cap, (off_t)off);
	close(fd);
	return n < 0 ? -GL_EIO : (long)n;
}

/* An entry as gl_rsm_propose makes it: u64 proposer (0: nobody waits), u64 seq, u64 length,
 * the op, padded to 8 bytes. */
static struct raft_buffer entry(const char *key)
{
	size_t len = strlen(key), total = (24 + len + 7) & ~(size_t)7;
	struct raft_buffer b = {raft_calloc(1, total), total};

	assert_non_null(b.base);
	gl_le64((uint8_t *)b.base + 16, len);
	memcpy((uint8_t *)b.base + 24, key, len);
	return b;
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	(void)status;
	(void)result;
	free(req);
}

/* Proposes key on the current leader; returns its index (0 if there is no leader). */
static raft_index propose_on(struct raft_fixture *f, const char *key, unsigned want)
{
	unsigned l = want < N && raft_state(raft_fixture_get(f, want)) == RAFT_LEADER ? want : N;
	struct raft *r;
	struct raft_apply *req;
	struct raft_buffer b;

	for (unsigned i = 0; i < N && l == N; i++)
		if (raft_fixture_alive(f, i) && raft_state(raft_fixture_get(f, i)) == RAFT_LEADER)
			l = i;
	if (l >= N)
		return 0;
	r = raft_fixture_get(f, l);

	req = calloc(1, sizeof(*req));
	b = entry(key);
	if (raft_apply(r, req, &b, 1, apply_cb) != 0) {
		free(req);
		return 0;
	}
	return req->index; /* set by raft_apply; req lives until apply_cb */
}

static raft_index propose(struct raft_fixture *f, const char *key)
{
	return propose_on(f, key, N);
}

/* Steps (simulated time) until a server other than old is the leader; its index. */
static unsigned new_leader(struct raft_fixture *f, unsigned old)
{
	for (int t = 0; t < 200; t++) {
		for (unsigned i = 0; i < N; i++)
			if (i != old && raft_fixture_alive(f, i) &&
			    raft_state(raft_fixture_get(f, i)) == RAFT_LEADER)
				return i;
		raft_fixture_step_until_elapsed(f, 100);
	}
	return old;
}

static char *dump(int i)
{
	rocksdb_t *db = gl_rsm_read_begin(m[i]);
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);

	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl;
		const char *k = rocksdb_iter_key(it, &kl);

		if (k[0] == 0)
			continue;
		if (len + kl + 2 >= cap)
			out = realloc(out, cap *= 2);
		memcpy(out + len, k, kl);
		len += kl;
		out[len++] = '\n';
	}
	out[len] = '\0';
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	gl_rsm_read_end(m[i]);
	return out;
}

static void assert_identical(void)
{
	char *a = dump(0);

	for (int i = 1; i < N; i++) {
		char *b = dump(i);

		assert_string_equal(a, b);
		free(b);
	}
	free(a);
}

static void test_fixture(void **state)
{
	/* room to spare: the library's idea of the struct may be larger than the header's */
	static union {
		struct raft_fixture fx;
		char pad[1 << 16];
	} fu;
	struct raft_fixture *fp = &fu.fx;
	struct raft_configuration conf;
	raft_index last = 0;
	char key[32];
	int k = 0;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/glory-rsmfix.XXXXXX");
	assert_non_null(mkdtemp(root));
	assert_int_equal(raft_fixture_initialize(fp), 0);
	for (int i = 0; i < N; i++) {
		struct gl_rsm_cfg c = {0};
		struct raft_fsm *fsm;

		snprintf(dirs[i], sizeof(dirs[i]), "%s/m%d", root, i);
		snprintf(addrs[i], sizeof(addrs[i]), "node%d", i);
		c.dir = dirs[i];
		c.id = (uint64_t)i + 1;
		c.rpc_addr = addrs[i];
		c.sm = &sm;
		c.fetch = fetch;
		assert_int_equal(gl_rsm_fsm_open(&c, &fsm, &m[i]), 0);
		assert_int_equal(raft_fixture_grow(fp, fsm), 0);
		gl_rsm_fsm_bind(m[i], raft_fixture_get(fp, (unsigned)i));
		raft_set_snapshot_threshold(raft_fixture_get(fp, (unsigned)i), 32);
		raft_set_snapshot_trailing(raft_fixture_get(fp, (unsigned)i), 8);
	}
	assert_int_equal(raft_fixture_configuration(fp, N, &conf), 0);
	assert_int_equal(raft_fixture_bootstrap(fp, &conf), 0);
	raft_configuration_close(&conf);
	assert_int_equal(raft_fixture_start(fp), 0);

	/* an election, then entries applied everywhere */
	assert_true(raft_fixture_step_until_has_leader(fp, 10000));

	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "k%04d", k++);
		last = propose(fp, key);
		assert_true(last > 0);
	}
	assert_true(raft_fixture_step_until_applied(fp, N, last, 10000));
	assert_identical();

	/* the leader is cut off: the others elect a new one and go on; healed, it follows */
	{
		unsigned l = raft_fixture_leader_index(fp);

		for (unsigned j = 0; j < N; j++)
			if (j != l) {
				raft_fixture_disconnect(fp, l, j);
				raft_fixture_disconnect(fp, j, l);
			}
		unsigned nl = new_leader(fp, l);

		assert_true(nl != l);
		for (int i = 0; i < 10; i++) {
			snprintf(key, sizeof(key), "k%04d", k++);
			last = propose_on(fp, key, nl);
			assert_true(last > 0);
		}
		for (unsigned j = 0; j < N; j++)
			if (j != l) {
				raft_fixture_reconnect(fp, l, j);
				raft_fixture_reconnect(fp, j, l);
			}
		assert_true(raft_fixture_step_until_applied(fp, N, last, 20000));
		assert_identical();
	}

	/* a follower dies; 100 entries (over the snapshot threshold of 32) commit without it;
	 * revived, it installs a snapshot fetched from another member and catches up */
	{
		unsigned l = raft_fixture_leader_index(fp), d = (l + 1) % N;

		raft_fixture_kill(fp, d);
		for (int i = 0; i < 100; i++) {
			snprintf(key, sizeof(key), "k%04d", k++);
			last = propose(fp, key);
			assert_true(last > 0);
			raft_fixture_step_n(fp, 3);
		}
		assert_true(raft_fixture_step_until_applied(fp, l, last, 20000));
		fetches = 0;
		raft_fixture_revive(fp, d);
		assert_true(raft_fixture_step_until_applied(fp, N, last, 30000));
		assert_true(fetches > 0); /* it did install a checkpoint */
		assert_identical();
	}

	/* a stalled disk: a follower's writes take 5 s; the leader and the other follower commit
	 * and apply within 1 s without it, and it catches up when its disk comes back. Then the
	 * leader's disk stalls: the followers' acknowledgements still commit within 1 s. */
	for (int who = 0; who < 2; who++) {
		unsigned l = raft_fixture_leader_index(fp), d = who ? l : (l + 1) % N;
		unsigned o = who ? (l + 1) % N : 3 - l - d; /* a member with a good disk */

		raft_fixture_set_disk_latency(fp, d, 5000);
		for (int i = 0; i < 10; i++) {
			snprintf(key, sizeof(key), "k%04d", k++);
			last = propose_on(fp, key, l);
			assert_true(last > 0);
			raft_fixture_step_n(fp, 3);
		}
		assert_true(raft_fixture_step_until_applied(fp, o, last, 1000));
		assert_int_equal(raft_fixture_get(fp, l)->last_applied, last);
		if (!who)
			assert_true(raft_fixture_get(fp, d)->last_applied < last);
		raft_fixture_set_disk_latency(fp, d, 10);
		assert_true(raft_fixture_step_until_applied(fp, N, last, 30000));
		assert_identical();
	}

	raft_fixture_close(fp);
	for (int i = 0; i < N; i++)
		gl_rsm_fsm_close(m[i]);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_fixture)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* md_apply: what one metadata member spends applying creates, alone: the shard's state machine
 * (metadata/md_sm.h: the namespace plus the request outcomes) applied to a RocksDB database
 * with the applied index in the same batch, as every raft member does for every entry - no
 * raft, no network, no threads. Prints CPU microseconds per create: times three is the floor
 * of what a shard of three members spends per create on one machine.
 *
 *   md_apply [--files N (200000)] [--dir D (/var/tmp)]
 */
#include "common/buf.h"
#include "metadata/md_sm.h"
#include "metadata/ns.h"
#include "metadata/rsm.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static rocksdb_t *db;
static rocksdb_writeoptions_t *wo;
static struct gl_md_sm sm;
static uint64_t req;
static int64_t now_ns = 1000000000000000000;

/* One entry as rsm applies it: the state machine's batch plus the applied index. */
static int apply(struct gl_wbuf *ns, struct gl_wbuf *rep)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	struct gl_wbuf e;
	uint8_t h[GL_MD_ENTRY_HDR], idx[8];
	char *err = NULL;
	int rc;

	h[0] = 1;
	gl_le64(h + 1, 42);
	gl_le64(h + 9, ++req);
	gl_wbuf_init(&e);
	gl_put_bytes(&e, h, sizeof(h));
	gl_put_bytes(&e, ns->p, ns->len);
	rc = sm.sm.apply(sm.sm.ctx, db, wb, e.p, e.len, rep);
	if (rc)
		rocksdb_writebatch_clear(wb);
	gl_le64(idx, req);
	rocksdb_writebatch_put(wb, "\0applied", 8, (const char *)idx, 8);
	rocksdb_write(db, wo, wb, &err);
	rocksdb_writebatch_destroy(wb);
	gl_wbuf_free(&e);
	gl_wbuf_free(ns);
	if (err) {
		fprintf(stderr, "md_apply: %s\n", err);
		exit(1);
	}
	return rc;
}

static struct gl_wbuf msg(uint16_t op)
{
	struct gl_wbuf b;

	gl_wbuf_init(&b);
	gl_ns_hdr_put(&b, op, 0, now_ns += 1000);
	return b;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp";
	long files = 200000;
	char path[512], cmd[600], *err = NULL;
	struct gl_wbuf m, rep;
	struct gl_ns_vol v;
	struct gl_rbuf r;
	double c0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--files") == 0)
			files = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
	}
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: md_apply [--files N] [--dir D]\n");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/glory-md_apply.XXXXXX", dir);
	if (!mkdtemp(path))
		return 1;
	rocksdb_options_t *o = gl_rsm_db_options(); /* as every member's */

	db = rocksdb_open(o, path, &err);
	if (err) {
		fprintf(stderr, "md_apply: %s\n", err);
		return 1;
	}
	wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_disable_WAL(wo, 1); /* as metadata/rsm.c writes */
	rocksdb_set_perf_level(rocksdb_disable);
	gl_md_sm_init(&sm);
	m = msg(GL_NS_TENANT_CREATE);
	gl_put_str(&m, "t");
	apply(&m, NULL);
	m = msg(GL_NS_VOL_CREATE);
	gl_put_str(&m, "t");
	gl_put_str(&m, "v");
	gl_put_u32(&m, 0);
	gl_put_u32(&m, 0x10100);
	gl_put_u8(&m, 1);
	gl_put_u64(&m, 0);
	gl_put_u64(&m, 0);
	gl_wbuf_init(&rep);
	apply(&m, &rep);
	gl_rbuf_init(&r, rep.p, rep.len);
	gl_ns_vol_get(&r, &v);
	gl_wbuf_free(&rep);
	m = msg(GL_NS_VOL_INIT);
	gl_ns_vol_put(&m, &v);
	apply(&m, NULL);
	c0 = cpu();
	for (long i = 0; i < files; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%ld", i);
		m = msg(GL_NS_MKNOD); /* what glory_create sends */
		gl_put_u32(&m, v.id);
		gl_put_u64(&m, GL_NS_ROOT);
		gl_put_str(&m, name);
		gl_put_u32(&m, 0100644);
		gl_put_u32(&m, 0);
		gl_put_u32(&m, 0);
		gl_put_u64(&m, 0);
		gl_put_u8(&m, 1);
		gl_wbuf_init(&rep);
		if (apply(&m, &rep)) {
			fprintf(stderr, "md_apply: create %s failed\n", name);
			return 1;
		}
		gl_wbuf_free(&rep);
	}
	c0 = cpu() - c0;
	printf("md_apply: %ld creates applied by one member: %.1f us CPU each (%.0f/s on one "
	       "core)\n",
	       files, c0 * 1e6 / (double)files, (double)files / c0);
	rocksdb_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
	return system(cmd) ? 1 : 0;
}

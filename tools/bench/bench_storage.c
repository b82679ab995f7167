/* Chunk store benchmarks through libglory, and the per-byte cost of each CPU stage alone.
 *
 *   bench_storage stages                       SHA-256 (HMAC), EC 4+2 encode, CRC32C: MB/s
 *   bench_storage put   --size BYTES --redundancy R [--out IDFILE]
 *   bench_storage get   --id ID
 *   bench_storage small --count N --threads T --redundancy R     4 KiB puts/s then gets/s
 *
 * Needs GLORY_MASTER for everything but stages. Prints one result line per measurement.
 */
#include "common/crc.h"
#include "common/rpc.h"
#include "gateways/libglory/glory.h"
#include "storage/chunkid.h"
#include "storage/ec.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

static int rpc_bench(void);

static int stages(void)
{
	size_t len = 4u << 20, total = 1u << 30;
	uint8_t *buf = malloc(len), *par = malloc(len), id[32], key[32] = {1};
	uint8_t *data[4], *parity[2];
	struct gl_idctx *ic;
	struct gl_ec *ec;
	volatile uint32_t crc = 0;
	double t;

	fill(buf, len, 1);
	gl_idctx_new(key, sizeof(key), &ic);
	t = now();
	for (size_t done = 0; done < total; done += len)
		gl_chunk_id(ic, buf, len, id);
	printf("stage hmac-sha256   %8.0f MB/s\n", (double)total / (now() - t) / 1e6);
	gl_ec_new(4, 2, &ec);
	for (int i = 0; i < 4; i++)
		data[i] = buf + (size_t)i * (len / 4);
	for (int i = 0; i < 2; i++)
		parity[i] = par + (size_t)i * (len / 4);
	t = now();
	for (size_t done = 0; done < total; done += len)
		gl_ec_encode(ec, len / 4, data, parity);
	printf("stage ec-4+2-encode %8.0f MB/s (of data)\n", (double)total / (now() - t) / 1e6);
	t = now();
	for (size_t done = 0; done < total; done += len)
		crc = gl_crc32c(crc, buf, len);
	printf("stage crc32c        %8.0f MB/s\n", (double)total / (now() - t) / 1e6);
	t = now();
	for (size_t done = 0; done < total; done += len)
		memcpy(par, buf, len);
	printf("stage memcpy        %8.0f MB/s\n", (double)total / (now() - t) / 1e6);
	gl_ec_free(ec);
	gl_idctx_free(ic);
	free(buf);
	free(par);
	return rpc_bench();
}

/* ---- transport ceiling: 1 MiB replies over loopback RPC, nothing else ---- */

static uint8_t rpc_payload[1u << 20];

static int h_bulk(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	rep->bulk[0].iov_base = rpc_payload;
	rep->bulk[0].iov_len = sizeof(rpc_payload);
	rep->nbulk = 1;
	return 0;
}

struct rpcw {
	const char *addr;
	int n;
};

static void *rpc_worker(void *a)
{
	struct rpcw *w = a;
	struct gl_rpc_conn *c;
	uint8_t *buf = malloc(sizeof(rpc_payload));

	if (gl_rpc_connect(w->addr, 1000, &c) == 0) {
		for (int i = 0; i < w->n; i++) {
			struct gl_rpc_call call = {
			    .opcode = 1, .rbuf = buf, .rbuf_cap = sizeof(rpc_payload)};

			gl_rpc_call(c, &call, 5000);
			gl_rpc_call_done(&call);
		}
		gl_rpc_close(c);
	}
	free(buf);
	return NULL;
}

static int rpc_bench(void)
{
	static const struct gl_rpc_op ops[] = {{1, "bulk", h_bulk}};
	struct gl_rpc_server_cfg cfg = {"127.0.0.1:0", ops, 1, NULL, 0, 0, 0};
	struct gl_rpc_server *srv;
	char addr[64];

	fill(rpc_payload, sizeof(rpc_payload), 3);
	if (gl_rpc_server_start(&cfg, &srv))
		return 1;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", gl_rpc_server_port(srv));
	for (int threads = 1; threads <= 4; threads *= 4) {
		struct rpcw w[4];
		pthread_t th[4];
		double t = now();

		for (int i = 0; i < threads; i++) {
			w[i] = (struct rpcw){addr, 2048 / threads};
			pthread_create(&th[i], NULL, rpc_worker, &w[i]);
		}
		for (int i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
		printf("stage rpc-loopback  %8.0f MB/s (1 MiB replies, %d connection%s, CRC both "
		       "ends)\n",
		       2048.0 * sizeof(rpc_payload) / (now() - t) / 1e6, threads,
		       threads > 1 ? "s" : "");
	}
	gl_rpc_server_stop(srv);
	return 0;
}

/* ---- small round trips: what one request/reply costs in CPU on this machine ---- */

static int h_small(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	(void)ctx;
	(void)req;
	(void)rep;
	return 0;
}

static void *small_rpc_worker(void *a)
{
	struct rpcw *w = a;
	struct gl_rpc_conn *c;
	uint8_t args[64] = {0}, buf[64];

	if (gl_rpc_connect(w->addr, 1000, &c) == 0) {
		for (int i = 0; i < w->n; i++) {
			struct gl_rpc_call call = {.opcode = 2,
						   .args = args,
						   .args_len = sizeof(args),
						   .rbuf = buf,
						   .rbuf_cap = sizeof(buf)};

			gl_rpc_call(c, &call, 5000);
			gl_rpc_call_done(&call);
		}
		gl_rpc_close(c);
	}
	return NULL;
}

/* 64-byte requests and empty replies over loopback from 8 connections, client and server in
 * this process: round trips per second and CPU (user + system, both ends) per round trip. */
static int rpc_small(void)
{
	static const struct gl_rpc_op ops[] = {{2, "small", h_small}};
	struct gl_rpc_server_cfg cfg = {"127.0.0.1:0", ops, 1, NULL, 0, 0, 0};
	struct gl_rpc_server *srv;
	struct timespec c0, c1;
	struct rpcw w[8];
	pthread_t th[8];
	char addr[64];
	double t, cpu;
	int n = 20000;

	if (gl_rpc_server_start(&cfg, &srv))
		return 1;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", gl_rpc_server_port(srv));
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	t = now();
	for (int i = 0; i < 8; i++) {
		w[i] = (struct rpcw){addr, n};
		pthread_create(&th[i], NULL, small_rpc_worker, &w[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	t = now() - t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	printf("rpc-small %8.0f round trips/s, %.0f us CPU each (both ends; 8 connections, "
	       "64-byte requests)\n",
	       8.0 * n / t, cpu * 1e6 / (8.0 * n));
	gl_rpc_server_stop(srv);
	return 0;
}

struct small {
	struct glory *g;
	const char *red;
	int count, base;
	char (*ids)[GLORY_ID_HEX];
	int get;
	int errors;
};

static void *small_worker(void *a)
{
	struct small *s = a;
	uint8_t buf[4096];

	for (int i = 0; i < s->count; i++) {
		int n = s->base + i;

		if (!s->get) {
			fill(buf, sizeof(buf), (uint64_t)n + (uint64_t)time(NULL) * 1000003);
			if (glory_blob_put(s->g, buf, sizeof(buf), s->red, s->ids[n]))
				s->errors++;
		} else {
			void *out;
			size_t len;

			if (glory_blob_get(s->g, s->ids[n], &out, &len) || len != sizeof(buf))
				s->errors++;
			else
				free(out);
		}
	}
	return NULL;
}

static int small(struct glory *g, int count, int threads, const char *red)
{
	char(*ids)[GLORY_ID_HEX] = calloc((size_t)count, GLORY_ID_HEX);
	struct small w[64];
	pthread_t th[64];
	int errors = 0;

	if (threads > 64)
		threads = 64;
	for (int get = 0; get < 2; get++) {
		double t = now();

		for (int i = 0; i < threads; i++) {
			w[i] = (struct small){g,   red, count / threads, i * (count / threads), ids,
					      get, 0};
			pthread_create(&th[i], NULL, small_worker, &w[i]);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(th[i], NULL);
			errors += w[i].errors;
		}
		printf("small 4KiB %s %s threads=%d: %.0f ops/s (errors %d)\n", get ? "get" : "put",
		       red, threads, (double)(count / threads * threads) / (now() - t), errors);
	}
	free(ids);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *red = arg(argc, argv, "--redundancy", "ec:4+2");
	struct glory *g;
	int rc;

	if (strcmp(mode, "stages") == 0)
		return stages();
	if (strcmp(mode, "rpc-small") == 0)
		return rpc_small();
	if (!*mode || strcmp(mode, "--help") == 0) {
		fprintf(
		    stderr,
		    "usage: bench_storage stages|rpc-small|put|get|small [options] (see source)\n");
		return 2;
	}
	rc = glory_connect(NULL, &g);
	if (rc) {
		fprintf(stderr, "bench_storage: cannot connect (GLORY_MASTER?): %s\n",
			glory_strerror(rc));
		return 1;
	}
	if (strcmp(mode, "put") == 0) {
		size_t size = strtoull(arg(argc, argv, "--size", "1073741824"), NULL, 0);
		uint8_t *buf = malloc(size);
		char id[GLORY_ID_HEX];
		double t;

		fill(buf, size, (uint64_t)time(NULL));
		t = now();
		rc = glory_blob_put(g, buf, size, red, id);
		t = now() - t;
		if (rc) {
			fprintf(stderr, "put: %s\n", glory_strerror(rc));
			return 1;
		}
		printf("put %s %zu bytes: %.1f MB/s (%.2f s) id %s\n", red, size,
		       (double)size / t / 1e6, t, id);
		if (arg(argc, argv, "--out", NULL)) {
			FILE *f = fopen(arg(argc, argv, "--out", NULL), "w");

			fprintf(f, "%s\n", id);
			fclose(f);
		}
		free(buf);
	} else if (strcmp(mode, "get") == 0) {
		/* the application receives every byte (checked) and writes it to /dev/null, so the
		 * figure is the store's, not the page faults of a huge output buffer */
		int fd = open("/dev/null", O_WRONLY);
		uint64_t size = 0;
		char scheme[16];
		double t = now();

		rc = glory_blob_get_fd(g, arg(argc, argv, "--id", ""), fd);
		t = now() - t;
		close(fd);
		if (!rc)
			rc = glory_blob_stat(g, arg(argc, argv, "--id", ""), &size, scheme,
					     sizeof(scheme), NULL);
		if (rc) {
			fprintf(stderr, "get: %s\n", glory_strerror(rc));
			return 1;
		}
		printf("get %llu bytes: %.1f MB/s (%.2f s)\n", (unsigned long long)size,
		       (double)size / t / 1e6, t);
	} else if (strcmp(mode, "small") == 0) {
		rc = small(g, atoi(arg(argc, argv, "--count", "2000")),
			   atoi(arg(argc, argv, "--threads", "1")), red);
	}
	glory_disconnect(g);
	return rc ? 1 : 0;
}

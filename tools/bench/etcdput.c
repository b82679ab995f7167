/* etcdput: a reference for the metadata benchmark. Puts keys into etcd (a peer system: Raft
 * and a key-value store, from Debian's etcd-server) through its v3 JSON gateway, from N
 * threads, each on its own keep-alive HTTP/1.1 connection, and prints puts/s and, with --cpu,
 * the CPU each etcd member spent per put (same accounting as mdtest).
 *
 *   etcdput --endpoint HOST:PORT [--threads N] [--puts N] [--value-bytes N] [--cpu PID,PID,...]
 *
 * A put is acknowledged by etcd only once a majority of members has it in its fsync'ed log,
 * the same contract as a glory metadata operation.
 */
#include "tools/bench/bench_cpu.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static struct sockaddr_in addr;
static const char *endpoint;
static int nthreads = 8;
static long nputs = 2000;
static int value_bytes = 200;
static struct bench_cpu cpu = {.self = "etcdput"};

struct worker {
	int t;
	long done;
	const char *err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads more of a response into buf[*have, upto) and NUL-terminates it: 0, or -1 when the
 * connection broke or the response does not fit. */
static int read_more(int fd, char *buf, size_t *have, size_t upto, size_t cap)
{
	ssize_t r;

	if (upto >= cap || *have >= upto)
		return -1;
	r = read(fd, buf + *have, upto - *have);
	if (r <= 0)
		return -1;
	*have += (size_t)r;
	buf[*have] = 0;
	return 0;
}

/* Reads one HTTP response into buf (headers, then a Content-Length or chunked body).
 * Returns the status code, or -1 on a broken or unexpected response. */
static int read_response(int fd, char *buf, size_t cap)
{
	size_t have = 0, body_at, need;
	char *end = NULL, *cl;
	int status;

	while (!end) {
		if (read_more(fd, buf, &have, cap - 1, cap))
			return -1;
		end = strstr(buf, "\r\n\r\n");
	}
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	body_at = (size_t)(end + 4 - buf);
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl && cl < end) {
		need = body_at + strtoul(cl + 17, NULL, 10);
		while (have < need)
			if (read_more(fd, buf, &have, need, cap))
				return -1;
		return status;
	}
	if (!strcasestr(buf, "\r\nTransfer-Encoding: chunked"))
		return -1;
	/* small bodies: read until the last chunk's "0\r\n\r\n" */
	while (!strstr(buf + body_at, "\r\n0\r\n\r\n") &&
	       strncmp(buf + body_at, "0\r\n\r\n", 5) != 0)
		if (read_more(fd, buf, &have, cap - 1, cap))
			return -1;
	return status;
}

static void *worker_main(void *a)
{
	struct worker *w = a;
	unsigned char key[64], *val = malloc((size_t)value_bytes);
	char *kb = malloc(128), *vb = malloc((size_t)value_bytes * 2 + 8);
	char *req = malloc((size_t)value_bytes * 2 + 512), resp[8192];
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (!val || !kb || !vb || !req || fd < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		w->err = "cannot connect to etcd";
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(val, 'v', (size_t)value_bytes);
	EVP_EncodeBlock((unsigned char *)vb, val, value_bytes);
	for (long i = 0; i < nputs; i++) {
		int kl =
		    snprintf((char *)key, sizeof(key), "bench/%d/%d/f%ld", (int)getpid(), w->t, i);
		int bl, hl;

		EVP_EncodeBlock((unsigned char *)kb, key, kl);
		bl = snprintf(req + 256, (size_t)value_bytes * 2 + 256,
			      "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
		hl = snprintf(resp, sizeof(resp),
			      "POST /v3/kv/put HTTP/1.1\r\nHost: %s\r\nContent-Type: "
			      "application/json\r\nContent-Length: %d\r\n\r\n",
			      endpoint, bl);
		if (write_all(fd, resp, (size_t)hl) || write_all(fd, req + 256, (size_t)bl)) {
			w->err = "write to etcd failed";
			break;
		}
		if (read_response(fd, resp, sizeof(resp)) != 200) {
			w->err = "etcd answered a put with an error";
			break;
		}
		w->done++;
	}
out:
	if (fd >= 0)
		close(fd);
	free(val);
	free(kb);
	free(vb);
	free(req);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: etcdput --endpoint HOST:PORT [--threads N] [--puts N per thread] "
			"[--value-bytes N] [--cpu PID,PID,...]\n"
			"Puts keys into etcd through its v3 JSON gateway and prints puts/s.\n");
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS] = {{0}};
	pthread_t th[MAX_THREADS];
	double t0, dt, c0[BENCH_CPU_MAX + 1], c1[BENCH_CPU_MAX + 1];
	char host[64];
	long total = 0;
	int port;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			return 0;
		}
		if (i + 1 >= argc) {
			usage();
			return 2;
		}
		if (strcmp(argv[i], "--endpoint") == 0)
			endpoint = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--puts") == 0)
			nputs = atol(argv[++i]);
		else if (strcmp(argv[i], "--value-bytes") == 0)
			value_bytes = atoi(argv[++i]);
		else if (strcmp(argv[i], "--cpu") == 0)
			bench_cpu_parse(&cpu, argv[++i]);
		else {
			usage();
			return 2;
		}
	}
	if (!endpoint || sscanf(endpoint, "%63[^:]:%d", host, &port) != 2 || nthreads < 1 ||
	    nthreads > MAX_THREADS || nputs < 1 || value_bytes < 1 || value_bytes > 65536) {
		usage();
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "etcdput: %s is not an IPv4 address\n", host);
		return 2;
	}
	bench_cpu_sample(&cpu, c0);
	t0 = now();
	for (int t = 0; t < nthreads; t++) {
		w[t].t = t;
		pthread_create(&th[t], NULL, worker_main, &w[t]);
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		total += w[t].done;
		if (w[t].err) {
			fprintf(stderr, "etcdput: %s\n", w[t].err);
			return 1;
		}
	}
	dt = now() - t0;
	bench_cpu_sample(&cpu, c1);
	printf("%-8s %10.0f ops/s  (%ld ops in %.2f s)\n", "put", (double)total / dt, total, dt);
	bench_cpu_report(&cpu, c0, c1, total);
	return 0;
}

/* fsmeta: create, stat and unlink of many empty files in a directory (any filesystem: a glory
 * mount, a passthrough mount, a local directory), N threads each in its own subdirectory.
 *
 *   fsmeta DIR [--threads N (8)] [--files N per thread (2500)] [--cpu PID,PID,...]
 * Prints ops/s per phase; with --cpu also the CPU those processes (and fsmeta itself, which
 * includes the kernel's work in its system calls) spent per operation. */
#include "tools/bench/bench_cpu.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static const char *root;
static long nfiles = 2500;
static const char *phases[] = {"create", "stat", "unlink"};
static struct bench_cpu cpu = {.self = "fsmeta"};

struct worker {
	int t, phase, err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char path[4096];
	struct stat st;

	for (long i = 0; i < nfiles && !w->err; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/fsmeta.%d/f%ld", root, w->t, i);
		switch (w->phase) {
		case 0:
			fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0 || close(fd))
				w->err = errno;
			break;
		case 1:
			if (stat(path, &st))
				w->err = errno;
			break;
		default:
			if (unlink(path))
				w->err = errno;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	int nthreads = 8;
	char path[4096];

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr,
			"usage: fsmeta DIR [--threads N] [--files N] [--cpu PID,PID,...]\n");
		return argc < 2 ? 2 : 0;
	}
	root = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--files") == 0)
			nfiles = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--cpu") == 0)
			bench_cpu_parse(&cpu, argv[i + 1]);
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || nfiles < 1) {
		fprintf(stderr, "fsmeta: --threads 1..%d, --files >= 1\n", MAX_THREADS);
		return 2;
	}
	for (int t = 0; t < nthreads; t++) {
		snprintf(path, sizeof(path), "%s/fsmeta.%d", root, t);
		if (mkdir(path, 0755) && errno != EEXIST) {
			fprintf(stderr, "fsmeta: mkdir %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	for (int ph = 0; ph < 3; ph++) {
		double t0 = now(), dt, c0[BENCH_CPU_MAX + 1], c1[BENCH_CPU_MAX + 1];

		bench_cpu_sample(&cpu, c0);

		for (int t = 0; t < nthreads; t++) {
			w[t] = (struct worker){t, ph, 0};
			pthread_create(&th[t], NULL, work, &w[t]);
		}
		for (int t = 0; t < nthreads; t++)
			pthread_join(th[t], NULL);
		dt = now() - t0;
		bench_cpu_sample(&cpu, c1);
		for (int t = 0; t < nthreads; t++)
			if (w[t].err) {
				fprintf(stderr, "fsmeta: %s failed: %s\n", phases[ph],
					strerror(w[t].err));
				return 1;
			}
		printf("%-7s %9.0f ops/s  (%ld files, %d threads, %.2f s)\n", phases[ph],
		       (double)nfiles * nthreads / dt, nfiles * nthreads, nthreads, dt);
		bench_cpu_report(&cpu, c0, c1, nfiles * nthreads);
	}
	for (int t = 0; t < nthreads; t++) {
		snprintf(path, sizeof(path), "%s/fsmeta.%d", root, t);
		rmdir(path);
	}
	return 0;
}

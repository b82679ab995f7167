/* CPU accounting for the benchmarks: how much user+system CPU chosen processes spent per
 * operation, read from /proc around a phase. Shared by mdtest.c and etcdput.c (a header with
 * static functions: every .c file of tools/bench is its own executable). */
#ifndef GL_BENCH_CPU_H
#define GL_BENCH_CPU_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_CPU_MAX 16

struct bench_cpu {
	const char *self; /* name printed for this process */
	int npids;
	int pids[BENCH_CPU_MAX];
};

/* User plus system CPU seconds of process pid (0: this process). */
static inline double bench_cpu_of(int pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	if (pid == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Parses "PID,PID,..." (argument of --cpu) into c. */
static inline void bench_cpu_parse(struct bench_cpu *c, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t && c->npids < BENCH_CPU_MAX;
	     t = strtok_r(NULL, ",", &save))
		c->pids[c->npids++] = atoi(t);
}

/* out[0] is this process, out[i + 1] pid i: out needs BENCH_CPU_MAX + 1 slots. */
static inline void bench_cpu_sample(const struct bench_cpu *c, double *out)
{
	out[0] = bench_cpu_of(0);
	for (int i = 0; i < c->npids; i++)
		out[i + 1] = bench_cpu_of(c->pids[i]);
}

/* Prints the CPU microseconds per operation between samples a and b. */
static inline void bench_cpu_report(const struct bench_cpu *c, const double *a, const double *b,
				    long ops)
{
	long ncores = sysconf(_SC_NPROCESSORS_ONLN);
	double sum = 0;

	if (!c->npids || ops <= 0)
		return;
	printf("         cpu per op:");
	for (int i = 0; i <= c->npids; i++) {
		double us = (b[i] - a[i]) * 1e6 / (double)ops;

		sum += us;
		if (i == 0)
			printf(" %s %.0f us", c->self, us);
		else
			printf(", pid %d %.0f us", c->pids[i - 1], us);
	}
	printf("; %.0f us in all, %.0f ops/s if %ld cores did nothing else\n", sum,
	       sum > 0 ? (double)ncores * 1e6 / sum : 0.0, ncores);
}

#endif

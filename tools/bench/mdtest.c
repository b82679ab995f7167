/* mdtest: metadata operations through libglory, mdtest-style, and a create/rename/unlink storm
 * whose acknowledged operations can be checked after failures.
 *
 *   mdtest run    --volume V --tenant T [--threads N] [--files N]
 *       create, stat (each file 4 times), readdir, rename, unlink of N files per thread in its
 *       own directory; prints ops/s per phase. GLORY_MDCACHE=1 turns the client cache on.
 *       --phases create,stat runs only those (files created stay); --phases getattr runs
 *       only N getattrs of its own directory per thread (a read-only load, not in the default
 *       set).
 *       --cpu PID,PID,... also prints the CPU time each of those processes (and mdtest itself)
 *       spent per operation in each phase, read from /proc: what bounds the rate.
 *   mdtest storm  --volume V --tenant T --seconds S --log FILE [--threads N]
 *       each thread loops: create s<t>_<i>, rename it to r<t>_<i>, unlink every third; every
 *       acknowledged operation is appended to FILE ("C|R|U t i") before the next starts.
 *       Prints the longest time one operation waited (a leader change shows up there).
 *   mdtest verify --volume V --tenant T --log FILE
 *       checks the volume against FILE: every acknowledged operation is visible, no file is
 *       both created-name and renamed-name (nothing half done), every listed entry resolves.
 */
#include "gateways/libglory/glory.h"
#include "tools/bench/bench_cpu.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define STAT_PASSES 4

static const char *vol_name, *tenant;
static int nthreads = 8;
static long nfiles = 1000;
static double seconds = 10;
static struct glory *g;
static struct glory_vol *vol;
static FILE *storm_log;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
static struct bench_cpu cpu = {.self = "mdtest"};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int retryable(int rc)
{
	int e = -glory_errno(rc);

	return e == EAGAIN || e == ETIMEDOUT || e == ECONNREFUSED || e == ECONNRESET;
}

/* ---- run ---- */

struct worker {
	int t;
	uint64_t dir;
	int phase;
	long done;
	int err;
};

static const char *only; /* --phases: a comma-separated subset, in this order */
static const char *phases[] = {"create", "stat", "readdir", "rename", "unlink", "getattr"};
#define NPHASES	 6
#define NDEFAULT 5 /* phases run without --phases */

static int count_entry(void *arg, const struct glory_dirent *e)
{
	(void)e;
	(*(long *)arg)++;
	return 0;
}

static void *run_worker(void *a)
{
	struct worker *w = a;
	struct glory_attr at;
	char name[64], to[64];
	int rc = 0;

	for (long i = 0; i < nfiles && !rc; i++) {
		snprintf(name, sizeof(name), "f%ld", i);
		snprintf(to, sizeof(to), "g%ld", i);
		switch (w->phase) {
		case 0:
			rc = glory_create(vol, w->dir, name, 0100644, 0, 0, 1, &at);
			break;
		case 1: /* stat each file STAT_PASSES times, like repeated ls -l or a build */
			for (int k = 0; k < STAT_PASSES && !rc; k++)
				rc = glory_lookup(vol, w->dir, name, &at);
			w->done += STAT_PASSES - 1;
			break;
		case 2: {
			long n = 0;
			int eof = 0;

			rc = glory_readdir(vol, w->dir, 0, 0, 1, count_entry, &n, &eof);
			if (!rc && n != nfiles)
				rc = -1;
			i = nfiles; /* one listing of the whole directory */
			w->done += n - 1;
			break;
		}
		case 3:
			rc = glory_rename(vol, w->dir, name, w->dir, to, 0);
			break;
		case 4:
			rc = glory_unlink(vol, w->dir, to);
			break;
		case 5:
			rc = glory_getattr(vol, w->dir, &at);
			break;
		}
		w->done++;
	}
	w->err = rc;
	return NULL;
}

static int cmd_run(void)
{
	struct worker w[MAX_THREADS] = {{0}};
	pthread_t th[MAX_THREADS];
	struct glory_attr at;
	char name[64];

	for (int t = 0; t < nthreads; t++) {
		snprintf(name, sizeof(name), "mdtest.%d.%d", (int)getpid(), t);
		if (glory_mkdir(vol, GLORY_ROOT, name, 040755, 0, 0, &at)) {
			fprintf(stderr, "mdtest: mkdir %s failed\n", name);
			return 1;
		}
		w[t].t = t;
		w[t].dir = at.ino;
	}
	printf("%d threads x %ld files\n", nthreads, nfiles);
	for (int ph = 0; ph < NPHASES; ph++) {
		double t0 = now(), dt, c0[BENCH_CPU_MAX + 1], c1[BENCH_CPU_MAX + 1];
		long total = 0;

		if (only ? !strstr(only, phases[ph]) : ph >= NDEFAULT)
			continue;
		bench_cpu_sample(&cpu, c0);

		for (int t = 0; t < nthreads; t++) {
			w[t].phase = ph;
			w[t].done = 0;
			pthread_create(&th[t], NULL, run_worker, &w[t]);
		}
		for (int t = 0; t < nthreads; t++) {
			pthread_join(th[t], NULL);
			total += w[t].done;
			if (w[t].err) {
				fprintf(stderr, "mdtest: %s failed: %s\n", phases[ph],
					glory_strerror(w[t].err));
				return 1;
			}
		}
		dt = now() - t0;
		bench_cpu_sample(&cpu, c1);
		printf("%-8s %10.0f ops/s  (%ld ops in %.2f s)\n", phases[ph], total / dt, total,
		       dt);
		bench_cpu_report(&cpu, c0, c1, total);
	}
	for (int t = 0; t < nthreads; t++) {
		snprintf(name, sizeof(name), "mdtest.%d.%d", (int)getpid(), t);
		glory_rmdir(vol, GLORY_ROOT, name);
	}
	return 0;
}

/* ---- storm ---- */

static double max_wait;

static void logop(char op, int t, long i)
{
	pthread_mutex_lock(&log_lock);
	fprintf(storm_log, "%c %d %ld\n", op, t, i);
	fflush(storm_log);
	pthread_mutex_unlock(&log_lock);
}

/* Retries an operation through a leader change; an unknown outcome is settled by looking. */
static int storm_op(int t, long i, char op, uint64_t dir)
{
	char s[64], r[64];
	double t0 = now();
	int rc;

	snprintf(s, sizeof(s), "s%d_%ld", t, i);
	snprintf(r, sizeof(r), "r%d_%ld", t, i);
	for (int attempt = 0;; attempt++) {
		struct glory_attr at;

		if (op == 'C')
			rc = glory_create(vol, dir, s, 0100644, 0, 0, 1, &at);
		else if (op == 'R')
			rc = glory_rename(vol, dir, s, dir, r, GLORY_RENAME_NOREPLACE);
		else
			rc = glory_unlink(vol, dir, r);
		if (rc && attempt > 0) {
			/* an earlier attempt may have been applied */
			if (op == 'C' && -glory_errno(rc) == EEXIST)
				rc = 0;
			if (op == 'R' && -glory_errno(rc) == ENOENT &&
			    glory_lookup(vol, dir, r, &at) == 0)
				rc = 0;
			if (op == 'U' && -glory_errno(rc) == ENOENT)
				rc = 0;
		}
		if (!rc || !retryable(rc) || stop > 1)
			break;
		usleep(20000);
	}
	pthread_mutex_lock(&log_lock);
	if (now() - t0 > max_wait)
		max_wait = now() - t0;
	pthread_mutex_unlock(&log_lock);
	if (rc) {
		fprintf(stderr, "mdtest storm: %c %s: %s\n", op, s, glory_strerror(rc));
		return rc;
	}
	logop(op, t, i);
	return 0;
}

static void *storm_worker(void *a)
{
	struct worker *w = a;

	for (long i = 0; !stop; i++) {
		if (storm_op(w->t, i, 'C', w->dir) || storm_op(w->t, i, 'R', w->dir) ||
		    (i % 3 == 0 && storm_op(w->t, i, 'U', w->dir))) {
			w->err = 1;
			break;
		}
		w->done++;
	}
	return NULL;
}

static int storm_dir(uint64_t *dir)
{
	struct glory_attr at;
	int rc = glory_mkdir(vol, GLORY_ROOT, "storm", 040755, 0, 0, &at);

	if (rc && -glory_errno(rc) == EEXIST)
		rc = glory_lookup(vol, GLORY_ROOT, "storm", &at);
	*dir = at.ino;
	return rc;
}

static int cmd_storm(const char *path)
{
	struct worker w[MAX_THREADS] = {{0}};
	pthread_t th[MAX_THREADS];
	uint64_t dir;
	long total = 0;
	int bad = 0;
	double t0 = now();

	storm_log = fopen(path, "w");
	if (!storm_log || storm_dir(&dir)) {
		fprintf(stderr, "mdtest storm: cannot start (%s)\n", path);
		return 1;
	}
	for (int t = 0; t < nthreads; t++) {
		w[t].t = t;
		w[t].dir = dir;
		pthread_create(&th[t], NULL, storm_worker, &w[t]);
	}
	while (now() - t0 < seconds)
		usleep(100000);
	stop = 1;
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		total += w[t].done;
		bad |= w[t].err;
	}
	fclose(storm_log);
	printf("storm: %ld rounds in %.1f s, longest wait for one operation %.2f s\n", total,
	       now() - t0, max_wait);
	return bad;
}

/* ---- verify ---- */

struct seen_t {
	char *state; /* per (t, i): 0 none, 'C', 'R', 'U' */
	long cap;
};

static int check_entry(void *arg, const struct glory_dirent *e)
{
	long *n = arg;
	struct glory_attr at;

	(*n)++;
	if (glory_getattr(vol, e->ino, &at)) {
		printf("verify: listed entry %s does not resolve\n", e->name);
		(*n) += 1000000000L;
	}
	return 0;
}

static int cmd_verify(const char *path)
{
	static struct seen_t seen[MAX_THREADS];
	FILE *f = fopen(path, "r");
	char op;
	int t, errors = 0;
	long i, expected = 0, listed = 0;
	uint64_t dir;

	if (!f || storm_dir(&dir)) {
		fprintf(stderr, "mdtest verify: cannot read %s or the volume\n", path);
		return 1;
	}
	while (fscanf(f, " %c %d %ld", &op, &t, &i) == 3) {
		if (t < 0 || t >= MAX_THREADS || i < 0 || i > 100000000)
			continue;
		if (i >= seen[t].cap) {
			long ncap = (i + 1) * 2;

			seen[t].state = realloc(seen[t].state, (size_t)ncap);
			memset(seen[t].state + seen[t].cap, 0, (size_t)(ncap - seen[t].cap));
			seen[t].cap = ncap;
		}
		seen[t].state[i] = op;
	}
	fclose(f);
	for (t = 0; t < MAX_THREADS; t++) {
		for (i = 0; i < seen[t].cap; i++) {
			char s[64], r[64];
			struct glory_attr at;
			int hs, hr;
			char st = seen[t].state[i];

			if (!st)
				continue;
			snprintf(s, sizeof(s), "s%d_%ld", t, i);
			snprintf(r, sizeof(r), "r%d_%ld", t, i);
			hs = glory_lookup(vol, dir, s, &at) == 0;
			hr = glory_lookup(vol, dir, r, &at) == 0;
			if (hs && hr) {
				printf("verify: both %s and %s exist (half-done rename)\n", s, r);
				errors++;
			} else if (st == 'C' && !hs && !hr) {
				printf("verify: acknowledged create of %s lost\n", s);
				errors++;
			} else if (st == 'R' && !hr) {
				printf("verify: acknowledged rename to %s lost\n", r);
				errors++;
			} else if (st == 'U' && (hr || hs)) {
				printf("verify: acknowledged unlink of %s undone\n", r);
				errors++;
			}
			expected++;
		}
		free(seen[t].state);
	}
	{
		int eof = 0;

		if (glory_readdir(vol, dir, 0, 0, 0, check_entry, &listed, &eof) || !eof) {
			printf("verify: cannot list the directory\n");
			errors++;
		} else if (listed >= 1000000000L) {
			errors++;
		}
	}
	printf("verify: %ld acknowledged files checked, %ld entries listed, %d errors\n", expected,
	       listed % 1000000000L, errors);
	return errors ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mdtest run|storm|verify --volume V --tenant T [--threads N] [--files N] "
		"[--phases P,P] [--seconds S] [--log FILE] [--master H:P] [--cpu PID,PID,...]\n");
}

int main(int argc, char **argv)
{
	const char *master = NULL, *log = NULL, *cmd;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage();
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--volume") == 0)
			vol_name = argv[i + 1];
		else if (strcmp(argv[i], "--tenant") == 0)
			tenant = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--files") == 0)
			nfiles = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--log") == 0)
			log = argv[i + 1];
		else if (strcmp(argv[i], "--master") == 0)
			master = argv[i + 1];
		else if (strcmp(argv[i], "--phases") == 0)
			only = argv[i + 1];
		else if (strcmp(argv[i], "--cpu") == 0)
			bench_cpu_parse(&cpu, argv[i + 1]);
		else {
			usage();
			return 2;
		}
	}
	if (!vol_name || !tenant || nthreads < 1 || nthreads > MAX_THREADS || nfiles < 1 ||
	    (strcmp(cmd, "run") && !log)) {
		usage();
		return 2;
	}
	rc = glory_connect(master, &g);
	if (!rc)
		rc = glory_vol_open(g, tenant, vol_name, &vol);
	if (rc) {
		fprintf(stderr, "mdtest: cannot open volume %s of %s: %s\n", vol_name, tenant,
			glory_strerror(rc));
		return 1;
	}
	if (strcmp(cmd, "run") == 0)
		rc = cmd_run();
	else if (strcmp(cmd, "storm") == 0)
		rc = cmd_storm(log);
	else if (strcmp(cmd, "verify") == 0)
		rc = cmd_verify(log);
	else {
		usage();
		rc = 2;
	}
	glory_vol_close(vol);
	glory_disconnect(g);
	return rc;
}

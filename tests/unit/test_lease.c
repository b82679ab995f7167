/* Leases of the metadata cache (metadata/lease.h): a write waits for the holders' acks or for
 * their leases to expire; a read that raced with an invalidation is not cacheable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "metadata/lease.h"

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct watcher {
	struct gl_leases *l;
	uint64_t client;
	int delay_ms; /* before acknowledging */
	int got;
	struct gl_lease_obj last;
	volatile int stop;
};

static void *watch_main(void *a)
{
	struct watcher *w = a;
	struct gl_lease_obj out[16];
	uint64_t acked = 0, seq;

	while (!w->stop) {
		int n = gl_leases_watch(w->l, w->client, acked, 200, out, 16, &seq);

		if (n > 0) {
			w->got += n;
			w->last = out[n - 1];
			usleep((useconds_t)w->delay_ms * 1000);
		}
		acked = seq;
	}
	return NULL;
}

static void test_write_waits_for_ack(void **state)
{
	struct gl_leases *l;
	struct gl_lease_obj o = {7, 42};
	struct watcher w = {0};
	pthread_t th;
	double t0, dt;

	(void)state;
	assert_int_equal(gl_leases_new(&l), 0);
	w.l = l;
	w.client = 100;
	w.delay_ms = 150;
	pthread_create(&th, NULL, watch_main, &w);
	assert_int_equal(gl_leases_grant(l, 100, &o, 1, gl_leases_seq(l), mono()), 1);
	t0 = mono();
	assert_int_equal(gl_leases_invalidate(l, 200, &o, 1), 1); /* another client writes */
	dt = mono() - t0;
	assert_int_equal(w.got, 1);
	assert_int_equal(w.last.vol, 7);
	assert_true(w.last.ino == 42);
	assert_true(dt >= 0.14 && dt < 1.5); /* waited for the ack, not for the lease */
	/* the lease is void now: a second write does not wait */
	t0 = mono();
	assert_int_equal(gl_leases_invalidate(l, 200, &o, 1), 0);
	assert_true(mono() - t0 < 0.1);
	w.stop = 1;
	pthread_join(th, NULL);
	gl_leases_free(l);
}

static void test_silent_holder_waits_out_lease(void **state)
{
	struct gl_leases *l;
	struct gl_lease_obj o = {1, 5};
	double t0, dt;

	(void)state;
	assert_int_equal(gl_leases_new(&l), 0);
	/* granted 1.0 s ago: 0.5 s left, and the client never watches */
	assert_int_equal(gl_leases_grant(l, 9, &o, 1, gl_leases_seq(l), mono() - 1.0), 1);
	t0 = mono();
	gl_leases_invalidate(l, 10, &o, 1);
	dt = mono() - t0;
	assert_true(dt >= 0.4 && dt < 1.0);
	gl_leases_free(l);
}

static void test_own_write_and_other_objects_do_not_wait(void **state)
{
	struct gl_leases *l;
	struct gl_lease_obj o = {1, 5}, other = {1, 6}, otherv = {2, 5};
	double t0;

	(void)state;
	assert_int_equal(gl_leases_new(&l), 0);
	assert_int_equal(gl_leases_grant(l, 9, &o, 1, gl_leases_seq(l), mono()), 1);
	t0 = mono();
	assert_int_equal(gl_leases_invalidate(l, 9, &o, 1), 0);
	assert_int_equal(gl_leases_invalidate(l, 10, &other, 1), 0);
	assert_int_equal(gl_leases_invalidate(l, 10, &otherv, 1), 0);
	assert_true(mono() - t0 < 0.1);
	gl_leases_free(l);
}

static void test_racing_read_not_cacheable(void **state)
{
	struct gl_leases *l;
	struct gl_lease_obj o = {3, 3};
	uint64_t s0;

	(void)state;
	assert_int_equal(gl_leases_new(&l), 0);
	s0 = gl_leases_seq(l);
	gl_leases_invalidate(l, 1, &o, 1); /* a write between the read's start and its grant */
	assert_int_equal(gl_leases_grant(l, 2, &o, 1, s0, mono()), 0);
	assert_int_equal(gl_leases_grant(l, 2, &o, 1, gl_leases_seq(l), mono()), 1);
	gl_leases_clear(l); /* leadership lost: no lease left, nobody waits */
	assert_int_equal(gl_leases_invalidate(l, 1, &o, 1), 0);
	gl_leases_free(l);
}

/* Rule 3 is per object: a write of something else while a read is out leaves its answer
 * cacheable (eight threads creating in one directory no longer make every stat uncacheable),
 * a write of any object it depends on does not, and neither does a clear. */
static void test_racing_write_elsewhere_keeps_cacheable(void **state)
{
	struct gl_leases *l;
	struct gl_lease_obj o[2] = {{3, 3}, {3, 4}}, other = {3, 5}, otherv = {4, 3};
	uint64_t s0;

	(void)state;
	assert_int_equal(gl_leases_new(&l), 0);
	s0 = gl_leases_seq(l);
	gl_leases_invalidate(l, 1, &other, 1);
	gl_leases_invalidate(l, 1, &otherv, 1);
	assert_int_equal(gl_leases_grant(l, 2, o, 2, s0, mono()), 1);
	s0 = gl_leases_seq(l);
	gl_leases_invalidate(l, 1, &o[1], 1); /* the second object of a lookup */
	assert_int_equal(gl_leases_grant(l, 2, o, 2, s0, mono()), 0);
	assert_int_equal(gl_leases_grant(l, 2, o, 1, s0, mono()), 1);
	s0 = gl_leases_seq(l);
	gl_leases_clear(l);
	assert_int_equal(gl_leases_grant(l, 2, o, 1, s0, mono()), 0);
	assert_int_equal(gl_leases_grant(l, 2, o, 1, gl_leases_seq(l), mono()), 1);
	gl_leases_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_waits_for_ack),
	    cmocka_unit_test(test_silent_holder_waits_out_lease),
	    cmocka_unit_test(test_own_write_and_other_objects_do_not_wait),
	    cmocka_unit_test(test_racing_read_not_cacheable),
	    cmocka_unit_test(test_racing_write_elsewhere_keeps_cacheable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

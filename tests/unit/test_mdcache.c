/* The client metadata cache (gateways/libglory/mdcache.h): hits within the lease, misses after
 * it, invalidation of attributes and of a directory's entries, no caching of a read that raced
 * with an invalidation of what it depends on, xattrs, and what the client made itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/errors.h"
#include "gateways/libglory/mdcache.h"
#include "metadata/lease.h"

static struct gl_ns_attr attr(uint64_t ino, uint64_t size)
{
	struct gl_ns_attr a = {0};

	a.ino = ino;
	a.size = size;
	a.mode = 0100644;
	return a;
}

static void test_lease_bounds_entries(void **state)
{
	struct gl_mdcache *c;
	struct gl_ns_attr a = attr(5, 10), out;
	double t = 1000.0, life = (GL_LEASE_MS - GL_LEASE_MARGIN_MS) / 1000.0;

	(void)state;
	assert_int_equal(gl_mdcache_new(&c), 0);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "f", &out, t), -GL_ENOENT);
	gl_mdcache_put_lookup(c, 0, 1, 1, "f", &a, gl_mdcache_gen(c, 0), t);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "f", &out, t + life - 0.01), 0);
	assert_true(out.ino == 5 && out.size == 10);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 5, &out, t + 0.1), 0);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "f", &out, t + life + 0.01), -GL_ENOENT);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 5, &out, t + life + 0.01), -GL_ENOENT);
	/* another volume or shard is another object */
	gl_mdcache_put_attr(c, 0, 1, &a, gl_mdcache_gen(c, 0), t);
	assert_int_equal(gl_mdcache_getattr(c, 0, 2, 5, &out, t), -GL_ENOENT);
	assert_int_equal(gl_mdcache_getattr(c, 1, 1, 5, &out, t), -GL_ENOENT);
	gl_mdcache_free(c);
}

static void test_invalidations(void **state)
{
	struct gl_mdcache *c;
	struct gl_ns_attr f = attr(5, 10), g = attr(6, 20), out;
	double t = 50.0;

	(void)state;
	assert_int_equal(gl_mdcache_new(&c), 0);
	gl_mdcache_put_lookup(c, 0, 1, 1, "f", &f, gl_mdcache_gen(c, 0), t);
	gl_mdcache_put_lookup(c, 0, 1, 1, "g", &g, gl_mdcache_gen(c, 0), t);
	gl_mdcache_put_lookup(c, 0, 1, 2, "h", &g, gl_mdcache_gen(c, 0), t);
	/* the inode f changed: its attributes go, g's stay */
	gl_mdcache_invalidate(c, 0, 1, 5);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 5, &out, t), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "f", &out, t), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "g", &out, t), 0);
	/* directory 1 changed: all its entries go; directory 2's stay */
	gl_mdcache_invalidate(c, 0, 1, 1);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "g", &out, t), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 2, "h", &out, t), 0);
	/* the watch of shard 0 was lost: nothing of it survives */
	gl_mdcache_drop_shard(c, 0);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 2, "h", &out, t), -GL_ENOENT);
	gl_mdcache_free(c);
}

static void test_racing_read_not_stored(void **state)
{
	struct gl_mdcache *c;
	struct gl_ns_attr f = attr(5, 10), out;
	uint64_t g0;

	(void)state;
	assert_int_equal(gl_mdcache_new(&c), 0);
	/* the directory (1) or the inode (5) changed while the read was in flight */
	g0 = gl_mdcache_gen(c, 3);
	gl_mdcache_invalidate(c, 3, 1, 1);
	gl_mdcache_put_lookup(c, 3, 1, 1, "f", &f, g0, 10.0);
	assert_int_equal(gl_mdcache_lookup(c, 3, 1, 1, "f", &out, 10.0), -GL_ENOENT);
	g0 = gl_mdcache_gen(c, 3);
	gl_mdcache_invalidate_dir(c, 3, 1, 5);
	gl_mdcache_put_lookup(c, 3, 1, 1, "f", &f, g0, 10.0);
	assert_int_equal(gl_mdcache_lookup(c, 3, 1, 1, "f", &out, 10.0), -GL_ENOENT);
	gl_mdcache_put_attr(c, 3, 1, &f, g0, 10.0);
	assert_int_equal(gl_mdcache_getattr(c, 3, 1, 5, &out, 10.0), -GL_ENOENT);
	/* the shard was dropped (its watch lost) */
	g0 = gl_mdcache_gen(c, 3);
	gl_mdcache_drop_shard(c, 3);
	gl_mdcache_put_attr(c, 3, 1, &f, g0, 10.0);
	assert_int_equal(gl_mdcache_getattr(c, 3, 1, 5, &out, 10.0), -GL_ENOENT);
	/* another object's change says nothing about this answer */
	g0 = gl_mdcache_gen(c, 3);
	gl_mdcache_invalidate(c, 3, 1, 99);
	gl_mdcache_invalidate(c, 4, 1, 1);
	gl_mdcache_put_lookup(c, 3, 1, 1, "f", &f, g0, 10.0);
	assert_int_equal(gl_mdcache_lookup(c, 3, 1, 1, "f", &out, 10.0), 0);
	assert_true(gl_mdcache_client(c) != 0);
	gl_mdcache_free(c);
}

/* Xattrs (and their absence) are kept until their inode is invalidated; this client's own
 * changes to a directory's entries leave them. */
static void test_xattrs(void **state)
{
	struct gl_mdcache *c;
	char buf[16];
	uint64_t x0;
	double t = 50.0;

	(void)state;
	assert_int_equal(gl_mdcache_new(&c), 0);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, sizeof(buf), t), -GL_ENOENT);
	x0 = gl_mdcache_xgen(c, 0, 1, 7);
	gl_mdcache_put_xattr(c, 0, 1, 7, "a", "val", 3, x0, t);
	gl_mdcache_put_xattr(c, 0, 1, 7, "none", NULL, 0, x0, t);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, sizeof(buf), t), 3);
	assert_memory_equal(buf, "val", 3);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", NULL, 0, t), 3);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, 2, t), -GL_ERANGE);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "none", buf, sizeof(buf), t), -GL_ENODATA);
	gl_mdcache_invalidate_dir(c, 0, 1, 7); /* a create in directory 7 by this client */
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, sizeof(buf), t), 3);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, sizeof(buf), t + 1.3),
			 -GL_ENOENT); /* the lease ran out */
	gl_mdcache_put_xattr(c, 0, 1, 7, "a", "val", 3, x0, t);
	gl_mdcache_invalidate(c, 0, 1, 7);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, sizeof(buf), t), -GL_ENOENT);
	gl_mdcache_put_xattr(c, 0, 1, 7, "a", "val", 3, x0, t); /* raced with that invalidation */
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, sizeof(buf), t), -GL_ENOENT);
	x0 = gl_mdcache_xgen(c, 0, 1, 7);
	gl_mdcache_put_xattr(c, 0, 1, 7, "a", "val", 3, x0, t);
	gl_mdcache_drop_xattrs(c, 0);
	assert_int_equal(gl_mdcache_getxattr(c, 0, 1, 7, "a", buf, sizeof(buf), t), -GL_ENOENT);
	gl_mdcache_free(c);
}

/* What this client made: a new directory's entries are complete (a name not there is known
 * absent) while the lease lasts, a create in it adds the name and renews the parent, and a reply
 * of ours answered after a later-sent one of ours to the same parent keeps nothing of it. */
static void test_made(void **state)
{
	struct gl_mdcache *c;
	struct gl_ns_attr root = attr(1, 0), d = attr(7, 0), f = attr(8, 0), g = attr(9, 0), out;
	double t = 10.0, life = (GL_LEASE_MS - GL_LEASE_MARGIN_MS) / 1000.0;
	uint64_t gen_f, gen_g;

	(void)state;
	d.mode = 040755;
	assert_int_equal(gl_mdcache_new(&c), 0);
	/* mkdir d in the root, both leased */
	gl_mdcache_put_made(c, 0, 1, 1, "d", &d, 1, &root, gl_mdcache_gen(c, 0), t, t);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "d", &out, t + 0.1), 0);
	assert_true(out.ino == 7);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 1, &out, t + 0.1), 0);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "f", &out, t + 0.1), GL_MDCACHE_ABSENT);
	/* the root was not made here: a name missing there is just a miss */
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 1, "x", &out, t + 0.1), -GL_ENOENT);
	/* create f in d a second later: found, the rest still absent, beyond the first lease */
	gl_mdcache_put_made(c, 0, 1, 7, "f", &f, 1, &d, gl_mdcache_gen(c, 0), t + 1, t + 1);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "f", &out, t + 1.1), 0);
	assert_true(out.ino == 8);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, t + life + 0.5),
			 GL_MDCACHE_ABSENT);
	/* past the renewed lease: nothing is known */
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, t + 1 + life + 0.01), -GL_ENOENT);
	/* an invalidation of d (another client's change) ends completeness at once */
	gl_mdcache_put_made(c, 0, 1, 7, "f", &f, 1, &d, gl_mdcache_gen(c, 0), t + 2, t + 2);
	gl_mdcache_invalidate(c, 0, 1, 7);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, t + 2.1), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "f", &out, t + 2.1), -GL_ENOENT);
	/* two creates in d in flight: the one answered second saw a state that may be older */
	gl_mdcache_put_made(c, 0, 1, 1, "d", &d, 1, &root, gl_mdcache_gen(c, 0), t + 3, t + 3);
	gen_f = gl_mdcache_gen(c, 0);
	gen_g = gl_mdcache_gen(c, 0);
	gl_mdcache_put_made(c, 0, 1, 7, "g", &g, 1, &d, gen_g, t + 3, t + 3);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, t + 3.1), 0);
	gl_mdcache_put_made(c, 0, 1, 7, "f", &f, 1, &d, gen_f, t + 3, t + 3);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 7, &out, t + 3.1), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, t + 3.1), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "h", &out, t + 3.1), -GL_ENOENT);
	/* the new file's own attributes were leased and not changed: kept */
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 8, &out, t + 3.1), 0);
	/* a parent not leased: dropped, the name not added */
	gl_mdcache_put_made(c, 0, 1, 1, "d", &d, 1, &root, gl_mdcache_gen(c, 0), t + 4, t + 4);
	gl_mdcache_put_made(c, 0, 1, 7, "f", &f, 0, NULL, gl_mdcache_gen(c, 0), t + 4, t + 4);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "f", &out, t + 4.1), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, t + 4.1), -GL_ENOENT);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 8, &out, t + 4.1), -GL_ENOENT);
	gl_mdcache_free(c);
}

/* A directory's name table grows: thousands of names in one directory are all found. */
static void test_many_names(void **state)
{
	struct gl_mdcache *c;
	struct gl_ns_attr d = attr(7, 0), root = attr(1, 0), out;
	char name[32];

	(void)state;
	d.mode = 040755;
	assert_int_equal(gl_mdcache_new(&c), 0);
	gl_mdcache_put_made(c, 0, 1, 1, "d", &d, 1, &root, gl_mdcache_gen(c, 0), 5.0, 5.0);
	for (int i = 0; i < 5000; i++) {
		struct gl_ns_attr f = attr(100 + (uint64_t)i, (uint64_t)i);

		snprintf(name, sizeof(name), "f%d", i);
		gl_mdcache_put_made(c, 0, 1, 7, name, &f, 1, &d, gl_mdcache_gen(c, 0), 5.0, 5.0);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, name, &out, 5.5), 0);
		assert_true(out.ino == 100 + (uint64_t)i);
	}
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "f5000", &out, 5.5), GL_MDCACHE_ABSENT);
	gl_mdcache_free(c);
}

/* An unlink of ours: the name goes, the parent's new attributes and its other entries stay
 * (completeness too); a reply that raced with another change of the parent keeps nothing. */
static void test_removed(void **state)
{
	struct gl_mdcache *c;
	struct gl_ns_attr root = attr(1, 0), d = attr(7, 0), d2 = attr(7, 1), f = attr(8, 0),
			  g = attr(9, 0), out;
	uint64_t gen0;

	(void)state;
	d.mode = d2.mode = 040755;
	assert_int_equal(gl_mdcache_new(&c), 0);
	gl_mdcache_put_made(c, 0, 1, 1, "d", &d, 1, &root, gl_mdcache_gen(c, 0), 20.0, 20.0);
	gl_mdcache_put_made(c, 0, 1, 7, "f", &f, 1, &d, gl_mdcache_gen(c, 0), 20.0, 20.0);
	gl_mdcache_put_made(c, 0, 1, 7, "g", &g, 1, &d, gl_mdcache_gen(c, 0), 20.0, 20.0);
	gl_mdcache_put_removed(c, 0, 1, 7, "f", &d2, gl_mdcache_gen(c, 0), 20.1, 20.1);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "f", &out, 20.2), GL_MDCACHE_ABSENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, 20.2), 0);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 7, &out, 20.2), 0);
	assert_true(out.size == 1);
	/* sent before another write of ours to d was answered: d is dropped */
	gen0 = gl_mdcache_gen(c, 0);
	gl_mdcache_put_made(c, 0, 1, 7, "h", &f, 1, &d, gl_mdcache_gen(c, 0), 20.3, 20.3);
	gl_mdcache_put_removed(c, 0, 1, 7, "g", &d2, gen0, 20.3, 20.3);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, 20.4), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "h", &out, 20.4), -GL_ENOENT);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 7, &out, 20.4), -GL_ENOENT);
	/* not leased: dropped */
	gl_mdcache_put_made(c, 0, 1, 7, "h", &f, 1, &d, gl_mdcache_gen(c, 0), 20.5, 20.5);
	gl_mdcache_put_removed(c, 0, 1, 7, "h", NULL, gl_mdcache_gen(c, 0), 20.5, 20.5);
	assert_int_equal(gl_mdcache_getattr(c, 0, 1, 7, &out, 20.6), -GL_ENOENT);
	gl_mdcache_free(c);
}

/* A lease on a directory that ran out before our next create in it was answered does not
 * carry on: another client may have changed it unannounced, so it is no longer complete and
 * its old names keep their own expiries. */
static void test_lapsed(void **state)
{
	struct gl_mdcache *c;
	struct gl_ns_attr root = attr(1, 0), d = attr(7, 0), f = attr(8, 0), g = attr(9, 0), out;
	double t = 30.0, life = (GL_LEASE_MS - GL_LEASE_MARGIN_MS) / 1000.0;

	(void)state;
	d.mode = 040755;
	assert_int_equal(gl_mdcache_new(&c), 0);
	gl_mdcache_put_made(c, 0, 1, 1, "d", &d, 1, &root, gl_mdcache_gen(c, 0), t, t);
	gl_mdcache_put_made(c, 0, 1, 7, "f", &f, 1, &d, gl_mdcache_gen(c, 0), t, t);
	/* sent while the lease held, answered after it ran out */
	gl_mdcache_put_made(c, 0, 1, 7, "g", &g, 1, &d, gl_mdcache_gen(c, 0), t + life - 0.1,
			    t + life + 0.1);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "g", &out, t + life + 0.2), 0);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "x", &out, t + life + 0.2), -GL_ENOENT);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "f", &out, t + life + 0.2), -GL_ENOENT);
	/* and an unlink answered after a lapse: the same */
	gl_mdcache_put_made(c, 0, 1, 1, "d", &d, 1, &root, gl_mdcache_gen(c, 0), t + 10, t + 10);
	gl_mdcache_put_removed(c, 0, 1, 7, "f", &d, gl_mdcache_gen(c, 0), t + 10 + life - 0.1,
			       t + 10 + life + 0.1);
	assert_int_equal(gl_mdcache_lookup(c, 0, 1, 7, "x", &out, t + 10 + life + 0.2), -GL_ENOENT);
	gl_mdcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lease_bounds_entries),
	    cmocka_unit_test(test_invalidations),
	    cmocka_unit_test(test_racing_read_not_stored),
	    cmocka_unit_test(test_xattrs),
	    cmocka_unit_test(test_made),
	    cmocka_unit_test(test_many_names),
	    cmocka_unit_test(test_removed),
	    cmocka_unit_test(test_lapsed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

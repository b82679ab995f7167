/* Client metadata cache under leases (rules: gateways/libglory/mdcache.h, metadata/lease.h). */
#include "gateways/libglory/mdcache.h"

#include "common/errors.h"
#include "metadata/lease.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ABUCKETS    16384
#define DBUCKETS    4096
#define EBUCKETS    16 /* a directory's first name table; it grows 4x past 2 names a bucket */
#define MAX_ENTRIES (1u << 20) /* past this everything is dropped (crude, safe) */
#define NGEN	    1024       /* shards by id modulo: a shared slot only costs cache hits */
#define OGEN	    16384      /* objects by hash: a shared slot only costs cache hits */
#define XBUCKETS    4096
#define XGEN	    4096 /* xattr generations by inode hash: a shared slot only costs hits */
#define XVALUE_MAX  4096 /* longer values are not kept */

struct attr_e {
	uint32_t shard, vol;
	uint64_t ino;
	struct gl_ns_attr a;
	double expires;
	struct attr_e *next;
};

struct name_e {
	uint64_t h; /* hname(name) */
	char *name;
	uint64_t ino;
	double expires;
	struct name_e *next;
};

struct dir_e {
	uint32_t shard, vol;
	uint64_t ino;
	/* a lease on the directory held by us (from a create in it): every name entry is good
	 * until then, its own expiry notwithstanding */
	double until;
	int complete;	   /* every entry is here (a directory we made): a missing name is absent */
	struct name_e **b; /* nb buckets (a power of 2), n names */
	unsigned nb, n;
	struct dir_e *next;
};

/* One xattr of an inode, or the knowledge that it has none of that name. */
struct xattr_e {
	uint32_t shard, vol;
	uint64_t ino;
	char *name;
	uint8_t *val; /* NULL: no such xattr */
	uint32_t len;
	double expires;
	struct xattr_e *next;
};

struct gl_mdcache {
	pthread_mutex_t lock;
	uint64_t client;
	/* a read that started at seq (gl_mdcache_gen) is stored only if no object it depends on
	 * was invalidated, and its shard not dropped, since: */
	uint64_t seq;		  /* bumped by every invalidation and drop */
	uint64_t drop_seq[NGEN];  /* by shard: the seq of its last drop */
	uint64_t inval_seq[OGEN]; /* by object: the seq of its last invalidation */
	/* xattrs change only by an invalidation of their inode (or a drop): this client's own
	 * creates in a directory (gl_mdcache_invalidate_dir) leave its xattrs (a default ACL) */
	uint64_t xgen[XGEN], dropgen;
	struct attr_e *attrs[ABUCKETS];
	struct dir_e *dirs[DBUCKETS];
	struct xattr_e *xattrs[XBUCKETS];
	uint32_t nentries;
	struct gl_mdcache_stats st;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static unsigned hkey(uint32_t shard, uint32_t vol, uint64_t ino, unsigned n)
{
	return (unsigned)(mix(ino ^ ((uint64_t)vol << 32) ^ ((uint64_t)shard << 52)) % n);
}

static uint64_t hname(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return mix(h);
}

int gl_mdcache_new(struct gl_mdcache **out)
{
	struct gl_mdcache *c = calloc(1, sizeof(*c));

	if (!c)
		return -GL_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	if (RAND_bytes((unsigned char *)&c->client, sizeof(c->client)) != 1 || c->client == 0)
		c->client = (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull;
	*out = c;
	return 0;
}

static void xattr_free(struct gl_mdcache *c, struct xattr_e *x)
{
	free(x->name);
	free(x->val);
	free(x);
	c->nentries--;
}

/* Drops the xattrs of (shard, vol, ino), or of every inode of shard when ino is 0 (all shards
 * when shard is UINT32_MAX too). Lock held. */
static void xattrs_drop_locked(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino)
{
	int from = 0, to = XBUCKETS;

	if (ino) {
		from = (int)hkey(shard, vol, ino, XBUCKETS);
		to = from + 1;
		c->xgen[hkey(shard, vol, ino, XGEN)]++;
	} else {
		c->dropgen++;
	}
	for (int i = from; i < to; i++) {
		struct xattr_e **pp = &c->xattrs[i];

		while (*pp) {
			struct xattr_e *x = *pp;

			if ((shard == UINT32_MAX || x->shard == shard) &&
			    (!ino || (x->vol == vol && x->ino == ino))) {
				*pp = x->next;
				xattr_free(c, x);
			} else {
				pp = &x->next;
			}
		}
	}
}

/* Lock held: drops the name *pp points at from d. */
static void name_drop(struct gl_mdcache *c, struct dir_e *d, struct name_e **pp)
{
	struct name_e *n = *pp;

	*pp = n->next;
	free(n->name);
	free(n);
	c->nentries--;
	d->n--;
}

static void dir_free(struct gl_mdcache *c, struct dir_e *d)
{
	for (unsigned i = 0; i < d->nb; i++) {
		while (d->b[i]) {
			struct name_e *n = d->b[i];

			d->b[i] = n->next;
			free(n->name);
			free(n);
			c->nentries--;
		}
	}
	free(d->b);
	free(d);
}

/* Drops entries of shard (all shards when shard is UINT32_MAX). Lock held. */
static void drop_locked(struct gl_mdcache *c, uint32_t shard)
{
	for (int i = 0; i < ABUCKETS; i++) {
		struct attr_e **pp = &c->attrs[i];

		while (*pp) {
			struct attr_e *e = *pp;

			if (shard == UINT32_MAX || e->shard == shard) {
				*pp = e->next;
				free(e);
				c->nentries--;
			} else {
				pp = &e->next;
			}
		}
	}
	for (int i = 0; i < DBUCKETS; i++) {
		struct dir_e **pp = &c->dirs[i];

		while (*pp) {
			struct dir_e *d = *pp;

			if (shard == UINT32_MAX || d->shard == shard) {
				*pp = d->next;
				dir_free(c, d);
			} else {
				pp = &d->next;
			}
		}
	}
	xattrs_drop_locked(c, shard, 0, 0);
	c->seq++;
	for (int i = 0; i < NGEN; i++)
		if (shard == UINT32_MAX || (uint32_t)i == shard % NGEN)
			c->drop_seq[i] = c->seq;
	c->st.drops++;
}

void gl_mdcache_free(struct gl_mdcache *c)
{
	if (!c)
		return;
	drop_locked(c, UINT32_MAX);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

uint64_t gl_mdcache_client(struct gl_mdcache *c)
{
	return c->client;
}

uint64_t gl_mdcache_gen(struct gl_mdcache *c, uint32_t shard)
{
	uint64_t g;

	(void)shard;
	pthread_mutex_lock(&c->lock);
	g = c->seq;
	pthread_mutex_unlock(&c->lock);
	return g;
}

static struct attr_e *attr_find(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
				struct attr_e ***where)
{
	struct attr_e **pp = &c->attrs[hkey(shard, vol, ino, ABUCKETS)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->shard == shard && (*pp)->vol == vol && (*pp)->ino == ino) {
			if (where)
				*where = pp;
			return *pp;
		}
	}
	return NULL;
}

static struct dir_e *dir_find(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			      struct dir_e ***where)
{
	struct dir_e **pp = &c->dirs[hkey(shard, vol, ino, DBUCKETS)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->shard == shard && (*pp)->vol == vol && (*pp)->ino == ino) {
			if (where)
				*where = pp;
			return *pp;
		}
	}
	return NULL;
}

static int attr_get_locked(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			   struct gl_ns_attr *out, double now, double *expires)
{
	struct attr_e **pp, *e = attr_find(c, shard, vol, ino, &pp);

	if (!e)
		return -GL_ENOENT;
	if (e->expires <= now) {
		*pp = e->next;
		free(e);
		c->nentries--;
		return -GL_ENOENT;
	}
	*out = e->a;
	if (expires)
		*expires = e->expires;
	return 0;
}

int gl_mdcache_getattr(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
		       struct gl_ns_attr *out, double now)
{
	return gl_mdcache_getattr_exp(c, shard, vol, ino, out, now, NULL);
}

int gl_mdcache_getattr_exp(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			   struct gl_ns_attr *out, double now, double *expires)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = attr_get_locked(c, shard, vol, ino, out, now, expires);
	if (rc)
		c->st.misses++;
	else
		c->st.hits++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int gl_mdcache_lookup(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
		      const char *name, struct gl_ns_attr *out, double now)
{
	return gl_mdcache_lookup_exp(c, shard, vol, parent, name, out, now, NULL);
}

int gl_mdcache_lookup_exp(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			  const char *name, struct gl_ns_attr *out, double now, double *expires)
{
	struct dir_e *d;
	int rc = -GL_ENOENT;

	pthread_mutex_lock(&c->lock);
	d = dir_find(c, shard, vol, parent, NULL);
	if (d) {
		uint64_t h = hname(name);
		struct name_e **pp = &d->b[h & (d->nb - 1)];
		int found = 0;

		for (; *pp; pp = &(*pp)->next) {
			struct name_e *n = *pp;
			double nexp = n->expires > d->until ? n->expires : d->until;

			if (n->h != h || strcmp(n->name, name) != 0)
				continue;
			found = 1;
			if (nexp <= now) {
				name_drop(c, d, pp);
				break;
			}
			rc = attr_get_locked(c, shard, vol, n->ino, out, now, expires);
			if (!rc && expires && nexp < *expires)
				*expires = nexp;
			break;
		}
		if (!found && d->complete && d->until > now)
			rc = GL_MDCACHE_ABSENT;
	}
	if (rc < 0)
		c->st.misses++;
	else
		c->st.hits++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static double expiry(double sent_at)
{
	return sent_at + (GL_LEASE_MS - GL_LEASE_MARGIN_MS) / 1000.0;
}

static void attr_put_locked(struct gl_mdcache *c, uint32_t shard, uint32_t vol,
			    const struct gl_ns_attr *a, double expires)
{
	struct attr_e *e = attr_find(c, shard, vol, a->ino, NULL);

	if (!e) {
		unsigned h = hkey(shard, vol, a->ino, ABUCKETS);

		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->shard = shard;
		e->vol = vol;
		e->ino = a->ino;
		e->next = c->attrs[h];
		c->attrs[h] = e;
		c->nentries++;
	}
	e->a = *a;
	e->expires = expires;
}

/* Lock held: 1 when nothing (shard, vol, ino) depends on changed since gen0. */
static int unchanged(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
		     uint64_t gen0)
{
	return c->drop_seq[shard % NGEN] <= gen0 &&
	       c->inval_seq[hkey(shard, vol, ino, OGEN)] <= gen0;
}

/* Lock held: 1 when an answer fetched under gen0 that depends on inodes a and b (b 0: none) of
 * (shard, vol) may be stored. */
static int storable(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t a, uint64_t b,
		    uint64_t gen0)
{
	if (!unchanged(c, shard, vol, a, gen0) || (b && !unchanged(c, shard, vol, b, gen0)))
		return 0;
	if (c->nentries >= MAX_ENTRIES)
		drop_locked(c, UINT32_MAX);
	return unchanged(c, shard, vol, a, gen0);
}

double gl_mdcache_put_attr(struct gl_mdcache *c, uint32_t shard, uint32_t vol,
			   const struct gl_ns_attr *a, uint64_t gen0, double sent_at)
{
	double exp = 0;

	pthread_mutex_lock(&c->lock);
	if (storable(c, shard, vol, a->ino, 0, gen0)) {
		exp = expiry(sent_at);
		attr_put_locked(c, shard, vol, a, exp);
	}
	pthread_mutex_unlock(&c->lock);
	return exp;
}

/* Lock held: directory ino's entry, made if missing (NULL without memory). */
static struct dir_e *dir_get(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino)
{
	struct dir_e *d = dir_find(c, shard, vol, ino, NULL);
	unsigned h;

	if (d)
		return d;
	h = hkey(shard, vol, ino, DBUCKETS);
	d = calloc(1, sizeof(*d));
	if (!d || !(d->b = calloc(EBUCKETS, sizeof(*d->b)))) {
		free(d);
		return NULL;
	}
	d->nb = EBUCKETS;
	d->shard = shard;
	d->vol = vol;
	d->ino = ino;
	d->next = c->dirs[h];
	c->dirs[h] = d;
	return d;
}

/* Lock held: d's name table 4x as large (kept as it is without memory). */
static void names_grow(struct dir_e *d)
{
	unsigned nb = d->nb * 4;
	struct name_e **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (unsigned i = 0; i < d->nb; i++) {
		while (d->b[i]) {
			struct name_e *n = d->b[i];

			d->b[i] = n->next;
			n->next = b[n->h & (nb - 1)];
			b[n->h & (nb - 1)] = n;
		}
	}
	free(d->b);
	d->b = b;
	d->nb = nb;
}

/* Lock held: name -> ino in d, until expires. 0, or -GL_ENOMEM. */
static int name_put_locked(struct gl_mdcache *c, struct dir_e *d, const char *name, uint64_t ino,
			   double expires)
{
	uint64_t h = hname(name);
	struct name_e *n;

	for (n = d->b[h & (d->nb - 1)]; n; n = n->next)
		if (n->h == h && strcmp(n->name, name) == 0)
			break;
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n || !(n->name = strdup(name))) {
			free(n);
			return -GL_ENOMEM;
		}
		if (d->n >= 2 * d->nb)
			names_grow(d);
		n->h = h;
		n->next = d->b[h & (d->nb - 1)];
		d->b[h & (d->nb - 1)] = n;
		d->n++;
		c->nentries++;
	}
	n->ino = ino;
	n->expires = expires;
	return 0;
}

double gl_mdcache_put_lookup(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			     const char *name, const struct gl_ns_attr *a, uint64_t gen0,
			     double sent_at)
{
	struct dir_e *d;
	double exp = 0;

	pthread_mutex_lock(&c->lock);
	if (!storable(c, shard, vol, parent, a->ino, gen0))
		goto out;
	d = dir_get(c, shard, vol, parent);
	if (!d || name_put_locked(c, d, name, a->ino, expiry(sent_at)) != 0)
		goto out;
	exp = expiry(sent_at);
	attr_put_locked(c, shard, vol, a, exp);
out:
	pthread_mutex_unlock(&c->lock);
	return exp;
}

/* Lock held. */
static void invalidate_locked(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			      int xattrs)
{
	struct attr_e **ap;
	struct dir_e **dp;

	c->inval_seq[hkey(shard, vol, ino, OGEN)] = ++c->seq;
	if (xattrs)
		xattrs_drop_locked(c, shard, vol, ino);
	if (attr_find(c, shard, vol, ino, &ap)) {
		struct attr_e *e = *ap;

		*ap = e->next;
		free(e);
		c->nentries--;
	}
	if (dir_find(c, shard, vol, ino, &dp)) {
		struct dir_e *d = *dp;

		*dp = d->next;
		dir_free(c, d);
	}
	c->st.invalidations++;
}

static void invalidate(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino, int xattrs)
{
	pthread_mutex_lock(&c->lock);
	invalidate_locked(c, shard, vol, ino, xattrs);
	pthread_mutex_unlock(&c->lock);
}

/* Lock held: parent's lease renewed until exp by a write of ours answered at now. Only a lease
 * that has not lapsed carries on: while it held, the shard told us of every other change, so
 * the entries and completeness stand; after a lapse they may not (a change nobody told us of,
 * names expired one by one). */
static void renew(struct dir_e *d, double exp, double now)
{
	if (d->until > now) {
		if (d->until < exp)
			d->until = exp;
	} else {
		d->complete = 0;
	}
}

void gl_mdcache_put_made(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			 const char *name, const struct gl_ns_attr *a, int a_leased,
			 const struct gl_ns_attr *pa, uint64_t gen0, double sent_at, double now)
{
	double exp = expiry(sent_at);
	int keep_parent, keep_new;
	struct dir_e *d;

	pthread_mutex_lock(&c->lock);
	if (c->nentries >= MAX_ENTRIES)
		drop_locked(c, UINT32_MAX);
	/* decided before our own change is recorded: none of ours or anyone's since gen0 */
	keep_parent = pa && unchanged(c, shard, vol, parent, gen0);
	keep_new = a_leased && unchanged(c, shard, vol, a->ino, gen0);
	if (keep_parent) {
		/* our own writes to parent still in flight must not store what they saw */
		c->inval_seq[hkey(shard, vol, parent, OGEN)] = ++c->seq;
		attr_put_locked(c, shard, vol, pa, exp);
		d = dir_get(c, shard, vol, parent);
		if (!d || name_put_locked(c, d, name, a->ino, exp) != 0)
			invalidate_locked(c, shard, vol, parent, 0);
		else
			renew(d, exp, now);
	} else {
		invalidate_locked(c, shard, vol, parent, 0);
	}
	if (keep_new) {
		attr_put_locked(c, shard, vol, a, exp);
		/* a new directory is empty: its entries are all known while the lease lasts */
		if ((a->mode & 0170000) == 0040000) {
			struct dir_e **dp;

			if (dir_find(c, shard, vol, a->ino, &dp)) { /* of an earlier life of ino */
				d = *dp;
				*dp = d->next;
				dir_free(c, d);
			}
			d = dir_get(c, shard, vol, a->ino);
			if (d) {
				d->complete = 1;
				d->until = exp;
			}
		}
	} else {
		invalidate_locked(c, shard, vol, a->ino, 1);
	}
	pthread_mutex_unlock(&c->lock);
}

void gl_mdcache_put_removed(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			    const char *name, const struct gl_ns_attr *pa, uint64_t gen0,
			    double sent_at, double now)
{
	double exp = expiry(sent_at);
	struct dir_e *d;

	pthread_mutex_lock(&c->lock);
	if (!pa || !unchanged(c, shard, vol, parent, gen0)) {
		invalidate_locked(c, shard, vol, parent, 0);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	/* our own writes to parent still in flight must not store what they saw */
	c->inval_seq[hkey(shard, vol, parent, OGEN)] = ++c->seq;
	attr_put_locked(c, shard, vol, pa, exp);
	d = dir_find(c, shard, vol, parent, NULL);
	if (d) {
		uint64_t h = hname(name);

		for (struct name_e **pp = &d->b[h & (d->nb - 1)]; *pp; pp = &(*pp)->next) {
			struct name_e *n = *pp;

			if (n->h == h && strcmp(n->name, name) == 0) {
				name_drop(c, d, pp);
				break;
			}
		}
		renew(d, exp, now);
	}
	pthread_mutex_unlock(&c->lock);
}

void gl_mdcache_invalidate(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino)
{
	invalidate(c, shard, vol, ino, 1);
}

void gl_mdcache_invalidate_dir(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino)
{
	invalidate(c, shard, vol, ino, 0);
}

void gl_mdcache_drop_xattrs(struct gl_mdcache *c, uint32_t shard)
{
	pthread_mutex_lock(&c->lock);
	xattrs_drop_locked(c, shard, 0, 0);
	pthread_mutex_unlock(&c->lock);
}

uint64_t gl_mdcache_xgen(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino)
{
	uint64_t g;

	pthread_mutex_lock(&c->lock);
	g = c->xgen[hkey(shard, vol, ino, XGEN)] + c->dropgen; /* both only grow */
	pthread_mutex_unlock(&c->lock);
	return g;
}

static struct xattr_e *xattr_find(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
				  const char *name, struct xattr_e ***where)
{
	struct xattr_e **pp = &c->xattrs[hkey(shard, vol, ino, XBUCKETS)];

	for (; *pp; pp = &(*pp)->next) {
		struct xattr_e *x = *pp;

		if (x->shard == shard && x->vol == vol && x->ino == ino &&
		    strcmp(x->name, name) == 0) {
			*where = pp;
			return x;
		}
	}
	return NULL;
}

ssize_t gl_mdcache_getxattr(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			    const char *name, void *buf, size_t cap, double now)
{
	struct xattr_e **pp, *x;
	ssize_t rc = -GL_ENOENT;

	pthread_mutex_lock(&c->lock);
	x = xattr_find(c, shard, vol, ino, name, &pp);
	if (x && x->expires <= now) {
		*pp = x->next;
		xattr_free(c, x);
	} else if (x && !x->val) {
		rc = -GL_ENODATA;
	} else if (x && cap && x->len > cap) {
		rc = -GL_ERANGE;
	} else if (x) {
		if (cap)
			memcpy(buf, x->val, x->len);
		rc = (ssize_t)x->len;
	}
	if (rc == -GL_ENOENT)
		c->st.misses++;
	else
		c->st.hits++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void gl_mdcache_put_xattr(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			  const char *name, const void *val, size_t len, uint64_t xgen0,
			  double sent_at)
{
	struct xattr_e **pp, *x;
	uint8_t *copy = NULL;
	unsigned h = hkey(shard, vol, ino, XBUCKETS);

	if (len > XVALUE_MAX || (val && !(copy = malloc(len ? len : 1))))
		return;
	if (copy)
		memcpy(copy, val, len);
	pthread_mutex_lock(&c->lock);
	if (c->nentries >= MAX_ENTRIES)
		drop_locked(c, UINT32_MAX);
	if (c->xgen[hkey(shard, vol, ino, XGEN)] + c->dropgen != xgen0)
		goto out; /* invalidated while it was read */
	x = xattr_find(c, shard, vol, ino, name, &pp);
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x || !(x->name = strdup(name))) {
			free(x);
			goto out;
		}
		x->shard = shard;
		x->vol = vol;
		x->ino = ino;
		x->next = c->xattrs[h];
		c->xattrs[h] = x;
		c->nentries++;
	}
	free(x->val);
	x->val = copy;
	x->len = (uint32_t)len;
	x->expires = expiry(sent_at);
	copy = NULL;
out:
	pthread_mutex_unlock(&c->lock);
	free(copy);
}

void gl_mdcache_drop_shard(struct gl_mdcache *c, uint32_t shard)
{
	pthread_mutex_lock(&c->lock);
	drop_locked(c, shard);
	pthread_mutex_unlock(&c->lock);
}

void gl_mdcache_stats(struct gl_mdcache *c, struct gl_mdcache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

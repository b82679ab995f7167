/* The client half of the hybrid metadata cache (rules: metadata/lease.h).
 *
 * Entries: a directory entry with the attributes it resolved to (LOOKUP), attributes by
 * inode (GETATTR), and xattrs by inode and name (GETXATTR, absent ones too). Each lives until its
 * lease runs out: GL_LEASE_MS - GL_LEASE_MARGIN_MS after the read that fetched it was SENT. An
 * invalidation of (vol, ino) from the shard's leader (MD_WATCH) drops the inode's attributes and
 * every entry of the directory ino (and its xattrs). A read is put in the cache only if no
 * invalidation of an object it depends on (a lookup: the directory and the inode found; a
 * getattr: the inode) arrived while it was in flight and its shard was not dropped meanwhile
 * (both told by the generation sampled before sending), and only if the server said it may be
 * cached. Losing the watch of a shard drops everything of that shard.
 * Negative lookups are not cached, but a directory this client made holds all its entries
 * while its lease lasts (renewed by this client's creates in it), so a name missing there is
 * known absent. Thread-safe.
 */
#ifndef GL_MDCACHE_H
#define GL_MDCACHE_H

#include <stdint.h>
#include <sys/types.h>

#include "metadata/ns.h"

struct gl_mdcache;

struct gl_mdcache_stats {
	uint64_t hits, misses, invalidations, drops;
};

int gl_mdcache_new(struct gl_mdcache **out);
void gl_mdcache_free(struct gl_mdcache *c);
/* Random, fixed for the cache's life: sent with cached reads and with writes (so a writer is
 * not asked to invalidate its own entries; it does that itself). */
uint64_t gl_mdcache_client(struct gl_mdcache *c);
/* Sample before sending a cacheable read to shard (one sequence for the whole cache). */
uint64_t gl_mdcache_gen(struct gl_mdcache *c, uint32_t shard);

/* 0 and *out on a hit, -GL_ENOENT on a miss, GL_MDCACHE_ABSENT (lookups) when the name is known
 * not to exist: its directory's entries are all here under a lease. now: CLOCK_MONOTONIC
 * seconds. */
#define GL_MDCACHE_ABSENT 1
int gl_mdcache_lookup(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
		      const char *name, struct gl_ns_attr *out, double now);
int gl_mdcache_getattr(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
		       struct gl_ns_attr *out, double now);
/* The same, and *expires: when the answer's lease ends (CLOCK_MONOTONIC seconds). */
int gl_mdcache_lookup_exp(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			  const char *name, struct gl_ns_attr *out, double now, double *expires);
int gl_mdcache_getattr_exp(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			   struct gl_ns_attr *out, double now, double *expires);
/* Store an answer fetched by a read sent at sent_at with generation gen0. Returns when the
 * stored answer's lease ends, 0 if it was not stored. */
double gl_mdcache_put_lookup(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			     const char *name, const struct gl_ns_attr *a, uint64_t gen0,
			     double sent_at);
double gl_mdcache_put_attr(struct gl_mdcache *c, uint32_t shard, uint32_t vol,
			   const struct gl_ns_attr *a, uint64_t gen0, double sent_at);
/* After this client made name in parent (a create, mkdir, mknod or symlink) with a request sent
 * at sent_at under gen0: a, the new inode's attributes, leased to us when a_leased; pa (NULL if
 * not leased), the parent's attributes after the change, leased to us with its entries. Kept are
 * what is leased and not changed since gen0 (by anyone: a write of ours to parent answered
 * meanwhile counts); the name is added to the parent's entries, and a new directory's entries
 * are complete (it is empty). The parent's lease carries on (its entries good until the new
 * expiry, completeness kept) only if it had not run out by now, when the answer is taken;
 * else its names keep their own expiries and it is no longer complete. What is not kept is
 * dropped. */
void gl_mdcache_put_made(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			 const char *name, const struct gl_ns_attr *a, int a_leased,
			 const struct gl_ns_attr *pa, uint64_t gen0, double sent_at, double now);
/* After this client removed name from parent (an unlink) with a request sent at sent_at under
 * gen0: pa (NULL if not leased), the parent's attributes after it. As gl_mdcache_put_made: kept
 * if leased and unchanged since gen0, with name dropped from the entries; else dropped. */
void gl_mdcache_put_removed(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			    const char *name, const struct gl_ns_attr *pa, uint64_t gen0,
			    double sent_at, double now);
/* Drops what depends on (vol, ino): its attributes, its xattrs, and the entries of directory
 * ino. */
void gl_mdcache_invalidate(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino);
/* The same but its xattrs: after this client's own write changed a directory's entries (and
 * so its attributes), which leaves its xattrs as they were. */
void gl_mdcache_invalidate_dir(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino);
/* Drops every xattr of shard (after a change whose inodes are not all known). */
void gl_mdcache_drop_xattrs(struct gl_mdcache *c, uint32_t shard);

/* Xattrs (NS_GETXATTR answers, "none" included), under the lease of their inode: sample
 * gl_mdcache_xgen before sending the read, store with it. Only invalidations of the inode and
 * drops change it (not gl_mdcache_invalidate_dir). */
uint64_t gl_mdcache_xgen(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino);
/* The value's length (copied into buf when cap > 0), -GL_ENODATA (known absent), -GL_ERANGE
 * (cap too small), or -GL_ENOENT on a miss. */
ssize_t gl_mdcache_getxattr(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			    const char *name, void *buf, size_t cap, double now);
/* val NULL: ino has no xattr name. Values longer than 4 KiB are not kept. */
void gl_mdcache_put_xattr(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
			  const char *name, const void *val, size_t len, uint64_t xgen0,
			  double sent_at);
/* Drops everything of shard (its watch failed or its leader changed). */
void gl_mdcache_drop_shard(struct gl_mdcache *c, uint32_t shard);
void gl_mdcache_stats(struct gl_mdcache *c, struct gl_mdcache_stats *out);

#endif

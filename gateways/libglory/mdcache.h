/* The client half of the hybrid metadata cache (rules: metadata/lease.h).
 *
 * Entries: a directory entry with the attributes it resolved to (LOOKUP), and attributes by
 * inode (GETATTR). Each lives until its lease runs out: GL_LEASE_MS - GL_LEASE_MARGIN_MS after
 * the read that fetched it was SENT. An invalidation of (vol, ino) from the shard's leader
 * (MD_WATCH) drops the inode's attributes and every entry of the directory ino. A read is put in
 * the cache only if no invalidation of its shard arrived while it was in flight (the generation
 * sampled before sending is still current), and only if the server said it may be cached.
 * Losing the watch of a shard drops everything of that shard. Negative lookups are not cached.
 * Thread-safe.
 */
#ifndef GL_MDCACHE_H
#define GL_MDCACHE_H

#include <stdint.h>

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
/* Sample before sending a cacheable read to shard. */
uint64_t gl_mdcache_gen(struct gl_mdcache *c, uint32_t shard);

/* 0 and *out on a hit, -GL_ENOENT on a miss. now: CLOCK_MONOTONIC seconds. */
int gl_mdcache_lookup(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
		      const char *name, struct gl_ns_attr *out, double now);
int gl_mdcache_getattr(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino,
		       struct gl_ns_attr *out, double now);
/* Store an answer fetched by a read sent at sent_at with generation gen0. */
void gl_mdcache_put_lookup(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t parent,
			   const char *name, const struct gl_ns_attr *a, uint64_t gen0,
			   double sent_at);
void gl_mdcache_put_attr(struct gl_mdcache *c, uint32_t shard, uint32_t vol,
			 const struct gl_ns_attr *a, uint64_t gen0, double sent_at);
/* Drops what depends on (vol, ino): its attributes, and the entries of directory ino. */
void gl_mdcache_invalidate(struct gl_mdcache *c, uint32_t shard, uint32_t vol, uint64_t ino);
/* Drops everything of shard (its watch failed or its leader changed). */
void gl_mdcache_drop_shard(struct gl_mdcache *c, uint32_t shard);
void gl_mdcache_stats(struct gl_mdcache *c, struct gl_mdcache_stats *out);

#endif

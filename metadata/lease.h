/* Metadata leases of a shard leader: the server half of the hybrid client cache.
 *
 * Rules (docs/architecture.md, "Client metadata cache"):
 *  1. A client that wants to cache an answer sends its client id with the read (NS_LOOKUP,
 *     NS_GETATTR). The leader records a lease on each object the answer depends on (a
 *     directory's entries, an inode's attributes) for GL_LEASE_MS, counted from when the read
 *     arrived. The client counts the same duration from when it SENT the read, minus a margin,
 *     so its copy expires first.
 *  2. A write is acknowledged only after every other client holding an unexpired lease on an
 *     object it changed has acknowledged an invalidation of that object, or that lease has
 *     expired. Invalidations travel on the client's watch call (MD_WATCH), a long poll.
 *  3. A read whose answer may have raced with a write (an invalidation of an object it depends
 *     on began between the read's start and the recording of its leases) is answered
 *     uncacheable. (Objects are told apart by a hash: a collision only costs a cacheable
 *     answer.) A new inode's attributes are leased to its creator the same way, as of before
 *     the create was proposed, and the parent's attributes and entries as read after the
 *     create applied (metadata/mds.c).
 *  4. A new leader knows no leases: it acknowledges no write until GL_LEASE_MS after it became
 *     leader, when every lease granted by an earlier leader has expired.
 * Together: once a write is acknowledged, no client serves the old value from its cache.
 *
 * Objects are (volume, inode) pairs; a directory's entries and its attributes are one object.
 * Thread-safe; all times are CLOCK_MONOTONIC seconds.
 */
#ifndef GL_LEASE_H
#define GL_LEASE_H

#include <stdint.h>

#define GL_LEASE_MS	   1500
#define GL_LEASE_MARGIN_MS 250 /* the client's copy expires this much earlier */
#define GL_WATCH_WAIT_MS   1000
#define GL_WATCH_MAX	   4096 /* invalidations per watch reply */

struct gl_leases;

struct gl_lease_obj {
	uint32_t vol;
	uint64_t ino;
};

int gl_leases_new(struct gl_leases **out);
void gl_leases_free(struct gl_leases *l);

/* The invalidation sequence: a reader samples it before reading (rule 3). */
uint64_t gl_leases_seq(struct gl_leases *l);
/* Records a lease of client on o until now + GL_LEASE_MS. Returns 1 when the answer may be
 * cached: no invalidation of any of o began since seq0 (sampled before the read), and the
 * leases were not cleared since. */
int gl_leases_grant(struct gl_leases *l, uint64_t client, const struct gl_lease_obj *o, int n,
		    uint64_t seq0, double now);
/* After a write by client `writer` changed objects o[0..n-1]: queues invalidations for every
 * other holder of an unexpired lease and waits until each acknowledged or its lease expired
 * (rule 2). Returns how many holders were told. */
int gl_leases_invalidate(struct gl_leases *l, uint64_t writer, const struct gl_lease_obj *o, int n);
/* The watch call of client: acknowledges everything up to acked, then waits up to wait_ms for
 * invalidations and returns up to cap of them (*seq = the sequence to acknowledge next time).
 * Returns the count. */
int gl_leases_watch(struct gl_leases *l, uint64_t client, uint64_t acked, int wait_ms,
		    struct gl_lease_obj *out, int cap, uint64_t *seq);
/* Forgets every lease (leadership lost). */
void gl_leases_clear(struct gl_leases *l);
/* Stops waits (shutdown). */
void gl_leases_shutdown(struct gl_leases *l);

#endif

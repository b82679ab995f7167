/* Client side of the data servers: writes a chunk as a stripe of fragments and reads it back,
 * degraded or not. Used by libglory and by the data servers' own repair. Thread-safe.
 *
 * Write: fragment i goes to placement slot i when that server is UP, else to the first unused UP
 * handoff. The write succeeds when every fragment is durable on a distinct server, or, degraded
 * (a server down and no handoff left), on at least gl_chunk_min_ok() of them: still one more loss
 * away from unreadable, and repair brings it back to full redundancy.
 * Read: data fragments from their slots first (no decoding); whatever is missing comes from
 * parity slots, then from handoffs; ISA-L reconstructs. Every fragment's CRC32C is checked at the
 * client too (end to end). A server that fails or times out is avoided for a few seconds.
 */
#ifndef GL_SCLIENT_H
#define GL_SCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/map.h"
#include "storage/stripe.h"

struct gl_sclient;
struct gl_rpc_pool;

int gl_sclient_new(struct gl_sclient **out);
void gl_sclient_free(struct gl_sclient *sc);
struct gl_rpc_pool *gl_sclient_pool(struct gl_sclient *sc);
/* Marks server id as failing for a few seconds (skipped by reads and writes). */
void gl_sclient_suspect(struct gl_sclient *sc, uint32_t id);
int gl_sclient_is_suspect(struct gl_sclient *sc, uint32_t id);

int gl_chunk_min_ok(const struct gl_scheme *s);

/* Writes a chunk (len <= GL_CHUNK_MAX). Returns 0 or -GL_EUNAVAIL (too few servers stored it). */
int gl_chunk_write(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		   const uint8_t id[GL_CHUNK_ID_LEN], const void *data, size_t len);
/* Reads a chunk of len bytes into out. -GL_EUNAVAIL when too few fragments can be read. */
int gl_chunk_read(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		  const uint8_t id[GL_CHUNK_ID_LEN], size_t len, void *out);
/* Reads bytes [off, off + len) of a chunk of chunk_len bytes into out, fetching only those:
 * from one replica (another if it fails), or the byte ranges of the data fragments holding
 * them (EC). When a replica or data fragment cannot be read that way (server down or suspect,
 * fragment missing or corrupt, on a handoff), it reads the whole chunk (gl_chunk_read, degraded
 * if need be) and copies the slice. Every reply's CRC is checked. 0, -GL_EINVAL (range outside
 * the chunk) or as gl_chunk_read. */
int gl_chunk_read_range(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
			const uint8_t id[GL_CHUNK_ID_LEN], size_t chunk_len, size_t off, size_t len,
			void *out);
/* 1 when the bytes of this chunk can be read from files on this host (storage/local.h): a
 * usable replica, or every data fragment, on a data server known to run here. Such reads need
 * no cache in front of them. */
int gl_chunk_local(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		   const uint8_t id[GL_CHUNK_ID_LEN]);
/* Has the kernel read chunk id's fragments on servers of this host into the page cache in the
 * background (gl_local_warm): a sequential reader asks for the next chunk while it reads this
 * one. 0 when any was started, -GL_ENOTSUP when none is here. */
int gl_chunk_warm(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		  const uint8_t id[GL_CHUNK_ID_LEN], size_t len);
/* Fragment reads served from local files so far (storage/local.h). */
uint64_t gl_sclient_local_reads(struct gl_sclient *sc);
/* For repair: produces every fragment in want (bit i = fragment i) of a chunk into frags[i]
 * (malloc'd, frag_len bytes each; caller frees), reading from any server except skip_id.
 * *chunk_len and *frag_len are learnt from the fragments read. */
int gl_chunk_rebuild(struct gl_sclient *sc, const struct gl_map *m, const struct gl_scheme *s,
		     const uint8_t id[GL_CHUNK_ID_LEN], uint32_t want, uint32_t skip_id,
		     uint8_t **frags, size_t *frag_len, uint64_t *chunk_len);
/* Stores one fragment on server index di of the map (DS_PUT). */
int gl_frag_put(struct gl_sclient *sc, const struct gl_map *m, int di, uint32_t pool,
		const uint8_t id[GL_CHUNK_ID_LEN], int idx, uint64_t chunk_len, const void *data,
		size_t len);

#endif

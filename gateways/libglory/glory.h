/* libglory: the client library of glory. Every gateway and command uses only this API.
 *
 * Blobs are immutable byte strings of any size stored in the chunk store: cut into 4 MiB chunks,
 * each identified by its keyed SHA-256 (so identical chunks are stored once), each stored as a
 * stripe of fragments (replicas or erasure coding) across data servers. A blob's id is derived
 * from its content and redundancy: putting the same bytes twice yields the same id and one more
 * reference; each glory_blob_rm drops one.
 *
 * All functions return 0 or a negative glory error code (glory_strerror tells what it means).
 * A struct glory may be used by several threads at once.
 */
#ifndef GLORY_H
#define GLORY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GLORY_ID_HEX 65 /* 64 hex digits + NUL */

struct glory;

/* master: "host:port"; NULL reads $GLORY_MASTER. Fetches the cluster map. */
int glory_connect(const char *master, struct glory **out);
void glory_disconnect(struct glory *g);
const char *glory_strerror(int rc);
/* Maps a glory error to a negative errno (for gateways that speak errno). */
int glory_errno(int rc);

/* Called after every batch of chunks a put or get moves (bytes so far; total is 0 when unknown). */
typedef void (*glory_progress_fn)(void *arg, uint64_t done, uint64_t total);
void glory_set_progress(struct glory *g, glory_progress_fn fn, void *arg);

/* redundancy: "ec:K+M" or "rep:N"; NULL means ec:4+2. On success id receives the blob id. */
int glory_blob_put(struct glory *g, const void *buf, size_t len, const char *redundancy,
		   char id[GLORY_ID_HEX]);
/* Reads fd to its end. If fd is not seekable and a chunk must be resent, fails with EAGAIN. */
int glory_blob_put_fd(struct glory *g, int fd, const char *redundancy, char id[GLORY_ID_HEX]);
/* Writes the whole blob to fd. */
int glory_blob_get_fd(struct glory *g, const char *id, int fd);
/* *buf is malloc'd (caller frees). */
int glory_blob_get(struct glory *g, const char *id, void **buf, size_t *len);
int glory_blob_rm(struct glory *g, const char *id);
/* Size, redundancy (e.g. "ec:4+2", at least 16 bytes) and reference count of a blob. */
int glory_blob_stat(struct glory *g, const char *id, uint64_t *size, char *redundancy, size_t cap,
		    uint64_t *refs);

struct glory_server_status {
	uint32_t id;
	char addr[64];
	char rack[64];
	char host[64];
	const char *state; /* "up", "down", "out" */
	uint64_t since;	   /* unix seconds of the last state change */
	uint64_t cap_total, cap_avail, used, nfrags;
	uint64_t repair_passes, checked, degraded, rebuilding, rebuilt, rebuilt_bytes, moved,
	    removed, corrupt, scrubbed;
};

struct glory_status {
	uint64_t epoch;
	int nservers;
	struct glory_server_status *servers;
	uint64_t blobs, chunks;
	uint64_t logical_bytes; /* sum of blob sizes, counting every reference */
	uint64_t chunk_bytes;	/* unique chunk bytes (after dedup), before redundancy */
	uint64_t gc_pending;	/* chunks without references waiting for the grace period */
	uint64_t degraded;	/* stripes missing a fragment, as last seen by repair */
	uint64_t rebuilding;	/* stripes being rebuilt right now */
};

int glory_status(struct glory *g, struct glory_status **out);
void glory_status_free(struct glory_status *s);

#ifdef __cplusplus
}
#endif

#endif

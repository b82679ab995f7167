/* Cluster master protocol (frames: common/rpc.h). Bump GL_MS_PROTO on any change.
 *
 * Messages (args, little-endian; str = u16 length + bytes; id32 = 32-byte chunk or blob id):
 *   MS_REGISTER     req: 16 bytes server uuid, str addr, str rack, str host, u64 cap_total,
 *                        u64 cap_avail, u64 used            rep: u32 server id, u64 epoch
 *   MS_HEARTBEAT    req: u32 id, u64 cap_total, u64 cap_avail, u64 used, struct gl_ds_stats
 *                                                           rep: u64 epoch
 *                        (-GL_ENOENT: unknown id, register again)
 *   MS_GET_MAP      req: -                                  rep: the map (cluster/map.h)
 *   MS_CHUNK_PREP   req: u32 pool, u32 n, n x (id32, u32 len)
 *                   rep: u32 n, n x u8 verdict (GL_PREP_*); creates WRITING entries (leased)
 *   MS_BLOB_PUT     req: u32 pool, u64 size, u32 n, n x (id32, u32 len)
 *                   rep: id32 blob id; -GL_EAGAIN + u32 i (first chunk no longer there: redo it)
 *   MS_BLOB_GET     req: id32                               rep: u32 pool, u64 size, u64 refs,
 *                                                                u32 n, n x (id32, u32 len)
 *   MS_BLOB_RM      req: id32                               rep: u64 refs left
 *   MS_CHUNK_STATE  req: u32 pool, u32 n, n x id32          rep: u32 n, n x u8 GL_CHUNK_*
 *   MS_STATUS       req: -                                  rep: map, then per server (map
 *                        order) struct gl_ds_stats, then u64 blobs, u64 chunks, u64 logical
 *                        bytes (sum of blob sizes x refs), u64 chunk bytes (unique), u64 chunks
 *                        awaiting GC
 *   MS_MDS_HEARTBEAT req: u32 shard, u64 raft id, str rpc addr     rep: u64 epoch
 *                        (a metadata server: puts it in the map's shard list, up; a member
 *                        silent for the DOWN timeout is listed as not up)
 */
#ifndef GL_MS_RPC_H
#define GL_MS_RPC_H

#include "common/buf.h"

#define GL_MS_PROTO	   1
#define GL_UUID_LEN	   16
#define GL_BLOB_MAX_CHUNKS (1u << 20) /* 4 TiB in 4 MiB chunks */
#define GL_PREP_MAX	   4096

/* X(name, opcode, server handler): enum here, handler table in master.c, from one list. */
#define GL_MS_RPCS(X)                                                                              \
	X(MS_REGISTER, 0x0201, ms_h_register)                                                      \
	X(MS_HEARTBEAT, 0x0202, ms_h_heartbeat)                                                    \
	X(MS_GET_MAP, 0x0203, ms_h_get_map)                                                        \
	X(MS_CHUNK_PREP, 0x0204, ms_h_chunk_prep)                                                  \
	X(MS_BLOB_PUT, 0x0205, ms_h_blob_put)                                                      \
	X(MS_BLOB_GET, 0x0206, ms_h_blob_get)                                                      \
	X(MS_BLOB_RM, 0x0207, ms_h_blob_rm)                                                        \
	X(MS_CHUNK_STATE, 0x0208, ms_h_chunk_state)                                                \
	X(MS_STATUS, 0x0209, ms_h_status)                                                          \
	X(MS_MDS_HEARTBEAT, 0x020a, ms_h_mds_heartbeat)

enum gl_ms_opcode {
#define GL_MS_OPC(name, code, handler) GL_##name = code,
	GL_MS_RPCS(GL_MS_OPC)
#undef GL_MS_OPC
};

/* Verdicts of MS_CHUNK_PREP */
#define GL_PREP_WRITE  0 /* write the fragments, then MS_BLOB_PUT */
#define GL_PREP_EXISTS 1 /* stored already: skip the write */
#define GL_PREP_RETRY  2 /* being deleted: ask again shortly */

/* Chunk states (MS_CHUNK_STATE and the registry) */
#define GL_CHUNK_ABSENT	   0
#define GL_CHUNK_WRITING   1
#define GL_CHUNK_COMMITTED 2
#define GL_CHUNK_DELETING  3

/* What a data server reports about its repair work, in every heartbeat. */
struct gl_ds_stats {
	uint64_t nfrags;
	uint64_t frag_bytes;
	uint64_t pass;		/* repair passes completed */
	uint64_t checked;	/* stripes checked in the current/last pass */
	uint64_t degraded;	/* stripes found missing a fragment (this server leads them) */
	uint64_t rebuilding;	/* degraded stripes not yet rebuilt */
	uint64_t rebuilt;	/* fragments rebuilt, since start */
	uint64_t rebuilt_bytes; /* bytes written by rebuilds, since start */
	uint64_t moved;		/* fragments moved home, since start */
	uint64_t removed;	/* stale fragments removed, since start */
	uint64_t corrupt;	/* corrupt fragments found (reads and scrub), since start */
	uint64_t scrubbed;	/* fragments verified by scrub, since start */
};

void gl_ds_stats_put(struct gl_wbuf *b, const struct gl_ds_stats *s);
void gl_ds_stats_get(struct gl_rbuf *r, struct gl_ds_stats *s);

#endif

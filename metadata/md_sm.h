/* The state machine of a metadata shard: the namespace (metadata/ns.h) and, around it, the
 * outcome of each request so a retry is answered, not applied twice (exactly once).
 * Keys "\x01q" u64 client, u64 request (big-endian) -> i32 status, the reply; and
 * "\x01t" i64 time, u64 client, u64 request -> "" to forget them after GL_MD_REQ_KEEP_S. */
#ifndef GLORY_METADATA_MD_SM_H
#define GLORY_METADATA_MD_SM_H

#include "metadata/rsm.h"

#include <stdint.h>

/* An entry: u8 has request id, u64 client, u64 request id, then the namespace message. */
#define GL_MD_ENTRY_HDR 17

struct gl_md_sm {
	struct gl_rsm_sm sm; /* give &sm to gl_rsm_open */
	/* No remembered request is older than this (apply thread only; INT64_MIN: unknown). It
	 * spares each write a scan over the deleted head of the "\x01t" range, which grows with
	 * every forgotten request until RocksDB compacts it away. */
	int64_t req_floor;
};

void gl_md_sm_init(struct gl_md_sm *s);

#endif

/* The metadata server daemon: one member of a metadata shard. It runs the shard's replicated
 * state machine (metadata/rsm.h) over the namespace machine (metadata/ns.h), serves the MD
 * protocol (metadata/rpc.h) and tells the master where it is (MS_MDS_HEARTBEAT), so clients find
 * the shard's members in the cluster map. */
#ifndef GL_MDS_H
#define GL_MDS_H

#include <stdint.h>

#include "metadata/rsm.h"

struct gl_mds_cfg {
	const char *dir;
	const char *listen; /* "H:P" for RPC; raft uses port + 1 */
	const char *master; /* "H:P" */
	uint32_t shard;
	uint64_t id;	   /* raft id within the shard, > 0 */
	const char *peers; /* bootstrap of a new shard: "ID@H:P,ID@H:P,..." (rpc addresses),
			    * the same on every member; NULL: join (wait to be added) */
	unsigned snapshot_threshold, snapshot_trailing, election_ms;
	double heartbeat; /* seconds between heartbeats to the master (default 1) */
};

void gl_mds_cfg_defaults(struct gl_mds_cfg *cfg);
/* Runs until SIGTERM/SIGINT. */
int gl_mds_run(const struct gl_mds_cfg *cfg);

#endif

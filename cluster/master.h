/* The cluster master daemon: membership, heartbeats, failure detection, the versioned cluster map,
 * and the chunk registry: reference counts, blob records and garbage collection. The state is a
 * RocksDB database replicated by a raft group of masters (metadata/rsm.h): the leader serves,
 * the others answer -GL_ENOTLEADER with the leader's address; every write the leader makes is one
 * log entry (a RocksDB write batch) applied on every member. */
#ifndef GL_MASTER_H
#define GL_MASTER_H

#include <stdint.h>

struct gl_master_cfg {
	const char *dir;
	const char *listen; /* "H:P"; the raft transport uses port + 1 */
	uint64_t id;	    /* member id in the master group (default 1) */
	const char *peers;  /* a new group: "ID@H:P,..." of every master (default: just us) */
	unsigned snapshot_threshold;
	double down_after;  /* seconds without heartbeat before a server is DOWN (default 3) */
	double out_after;   /* seconds DOWN before it is OUT and rebuilt elsewhere (default 600) */
	double gc_grace;    /* seconds an unreferenced chunk is kept (default 3600) */
	double write_lease; /* seconds a chunk may stay being written (default 600) */
};

void gl_master_cfg_defaults(struct gl_master_cfg *cfg);
/* Runs until SIGTERM/SIGINT. Returns 0 on a clean stop, or -GL_E... when it cannot start. */
int gl_master_run(const struct gl_master_cfg *cfg);

#endif

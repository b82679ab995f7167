/* The cluster master daemon: membership, heartbeats, failure detection, the versioned cluster map,
 * and (until the metadata service exists) the chunk registry: reference counts, blob records and
 * garbage collection. State lives in RocksDB under dir and survives restart. */
#ifndef GL_MASTER_H
#define GL_MASTER_H

#include <stdint.h>

struct gl_master_cfg {
	const char *dir;
	const char *listen; /* "H:P" */
	double down_after;  /* seconds without heartbeat before a server is DOWN (default 3) */
	double out_after;   /* seconds DOWN before it is OUT and rebuilt elsewhere (default 600) */
	double gc_grace;    /* seconds an unreferenced chunk is kept (default 3600) */
	double write_lease; /* seconds a chunk may stay being written (default 600) */
};

void gl_master_cfg_defaults(struct gl_master_cfg *cfg);
/* Runs until SIGTERM/SIGINT. Returns 0 on a clean stop, or -GL_E... when it cannot start. */
int gl_master_run(const struct gl_master_cfg *cfg);

#endif

/* The data server daemon: stores fragments (storage/fstore.h), serves them over RPC
 * (storage/rpc.h), reports to the master, and repairs: rebuilds lost fragments, moves misplaced
 * ones home, deletes stale ones, and scrubs (re-reads and checks) everything it holds. */
#ifndef GL_DS_H
#define GL_DS_H

#include <stdint.h>

struct gl_ds_cfg {
	const char *dir;
	const char *listen;  /* "H:P" this server listens on and advertises */
	const char *master;  /* "H:P" */
	const char *domain;  /* "rack/host"; default "default/<hostname>" */
	double heartbeat;    /* seconds between heartbeats (default 1) */
	double repair_every; /* seconds between repair passes (default 30) */
	double scrub_every;  /* seconds between full scrubs (default 86400) */
	uint64_t repair_bps; /* rebuild/move throttle in bytes/s (default 256 MiB/s; 0 = none) */
	uint64_t scrub_bps;  /* scrub read throttle (default 64 MiB/s; 0 = none) */
	double stale_age;    /* seconds before fragments of a chunk the master does not know are
			      * removed: longer than any write in flight (default 60) */
};

void gl_ds_cfg_defaults(struct gl_ds_cfg *cfg);
/* Runs until SIGTERM/SIGINT. */
int gl_ds_run(const struct gl_ds_cfg *cfg);

#endif

/* Private state of a data server, shared by ds.c (serving, registration, heartbeats) and
 * ds_repair.c (rebuild, move home, stale removal, scrub). */
#ifndef GL_DS_INTERNAL_H
#define GL_DS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cluster/map.h"
#include "cluster/rpc.h"
#include "storage/ds.h"
#include "storage/fstore.h"

struct gl_sclient;

struct ds {
	struct gl_ds_cfg cfg;
	struct gl_fstore *fs;	   /* thread-safe */
	struct gl_sclient *sc;	   /* thread-safe */
	uint8_t uuid[GL_UUID_LEN]; /* persistent identity (dir/uuid) */
	char rack[GL_DOMAIN_MAX];
	char host[GL_DOMAIN_MAX];
	_Atomic uint32_t id;	     /* assigned by the master; 0 until registered */
	_Atomic uint64_t want_epoch; /* newest epoch the master told us about */
	pthread_mutex_t lock;	     /* guards map, stats, wake */
	pthread_cond_t wake;	     /* repair thread sleeps on it */
	struct gl_map map;	     /* our copy; epoch 0 until fetched */
	struct gl_ds_stats stats;
	int kick;		  /* repair pass requested */
	struct gl_fkey lost[256]; /* fragments of ours found corrupt: rebuild them here */
	int nlost;
	volatile int stopping;
};

/* Copies the current map (caller frees with gl_map_free). 0 or -GL_EAGAIN when none yet. */
int ds_map_snapshot(struct ds *ds, struct gl_map *out);
/* Asks the repair thread for a pass soon (map changed, corrupt fragment found). */
void ds_repair_kick(struct ds *ds);
void *ds_repair_main(void *arg);
/* Queues a fragment of ours found corrupt (and already removed) for a local rebuild. */
void ds_repair_lost(struct ds *ds, const struct gl_fkey *k);

#endif

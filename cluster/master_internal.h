/* Private state of the cluster master, shared by master.c (membership, map, failure detection)
 * and registry.c (chunk and blob registry, GC).
 *
 * RocksDB keys (values little-endian through common/buf.h):
 *   "M"                     meta:   u16 version 1, u64 epoch, u32 next server id, 32 bytes dedup
 * key "S" + u32 id (BE)       server: 16 bytes uuid, str addr, str rack, str host, u8 state, u64
 * cap_total, u64 cap_avail, u64 used, u64 since "C" + u32 pool (BE) + 32 bytes chunk id chunk:  u8
 * state (GL_CHUNK_*), u64 refs, u32 len, u64 t (ms since the epoch: lease expiry while WRITING,
 * time refs reached 0 when COMMITTED) "B" + 32 bytes blob id  blob:   u32 pool, u64 size, u64 refs,
 * u32 n, n x (32 bytes id, u32 len)
 */
#ifndef GL_MASTER_INTERNAL_H
#define GL_MASTER_INTERNAL_H

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdint.h>

#include "cluster/map.h"
#include "cluster/master.h"
#include "cluster/rpc.h"
#include "common/rpc.h"
#include "metadata/rsm.h"

struct gl_sclient;
struct gl_idctx;

/* Per data server, beside its map entry (same index). */
struct ms_server {
	uint8_t uuid[GL_UUID_LEN];
	double last_hb; /* monotonic seconds */
	struct gl_ds_stats stats;
};

struct ms_counters {
	uint64_t blobs;
	uint64_t chunks;
	uint64_t logical;     /* sum of blob size x refs */
	uint64_t chunk_bytes; /* sum of unique chunk lengths */
	uint64_t gc_pending;  /* chunks with no reference, waiting for the grace period */
};

/* Everything below is guarded by lock, except cfg (read-only) and db (thread-safe). */
struct ms {
	struct gl_master_cfg cfg;
	rocksdb_t *db;
	rocksdb_options_t *dbopt;
	rocksdb_writeoptions_t *wsync;
	rocksdb_writeoptions_t *wnosync;
	rocksdb_readoptions_t *ropt;
	pthread_mutex_t lock;
	struct gl_rsm *rsm;   /* the replicated state: db is its database while we lead */
	volatile int leading; /* set once a takeover has loaded the state (release/acquire) */
	int taking_over;      /* become_leader is loading the state: its commits may go */
	struct gl_map map;    /* ds[] sorted by id */
	struct ms_server *srv;
	uint32_t next_id;
	struct ms_counters cnt;
	double (*shard_hb)[GL_SHARD_MAX_MEMBERS]; /* last heartbeat per map.shards[i].m[j] */
	struct gl_idctx *idctx;			  /* keyed with map.dedup_key */
	struct gl_sclient *sc;			  /* to send deletes to data servers */
	/* Group commit of the RocksDB WAL: commits are written (unsynced) in lock order, take a
	 * ticket, and wait for a WAL sync that started after their ticket (guarded by wlock). */
	pthread_mutex_t wlock;
	pthread_cond_t wcv;
	uint64_t wticket, wdone;
	int wsyncing;
	volatile int stopping;
};

double ms_now_mono(void);
uint64_t ms_now_ms(void);

/* master.c: commits a batch of writes through the master group's raft log (applied here
 * before it returns). Lock held. A failure means leadership is lost: we step down. */
int ms_commit(struct ms *ms, rocksdb_writebatch_t *wb);

/* registry.c */
/* After a write made under ms->lock with ms->wnosync: its ticket (call with ms->lock held). */
uint64_t ms_wal_ticket(struct ms *ms);
/* Waits until the WAL holding ticket is on stable storage (shares syncs between callers). */
int ms_wal_sync(struct ms *ms, uint64_t ticket);
int ms_registry_load(struct ms *ms); /* computes counters */
int ms_h_chunk_prep(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep);
int ms_h_blob_put(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep);
int ms_h_blob_get(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep);
int ms_h_blob_rm(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep);
int ms_h_chunk_state(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep);
/* One garbage-collection pass: deletes chunks past their grace period or lease. */
void ms_gc_pass(struct ms *ms);

#endif

/* Private to gateways/libglory: the connection object and the helpers its files share. */
#ifndef GL_GLORY_INTERNAL_H
#define GL_GLORY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cluster/map.h"
#include "common/buf.h"
#include "common/rpc.h"
#include "gateways/libglory/glory.h"
#include "storage/stripe.h"

struct gl_mdcache;
struct md_watch;

#define MD_LEADERS	  64 /* shards whose leader is remembered */
#define GLORY_LOCK_SHARDS 64 /* shards whose lock session we renew */
#define MD_BATCHERS	  16 /* shards whose calls are batched at once (fs.c) */

struct glory {
	char master[512];
	struct gl_sclient *sc;
	pthread_mutex_t lock; /* guards map, map_time, idctx, leaders, watches */
	struct gl_map map;
	double map_time;
	struct gl_idctx *idctx;
	struct idctx_old
	    *idctx_old; /* replaced ones, freed at disconnect (hashing holds no lock) */
	glory_progress_fn progress;
	void *progress_arg;
	/* metadata (fs.c) */
	char access[64], secret[128]; /* empty: the admin */
	struct gl_mdcache *cache;     /* NULL: no client cache */
	pthread_mutex_t inval_lock;   /* guards inval_*: held while calling inval_cb */
	glory_inval_fn inval_cb;      /* glory_vol_set_inval_cb: watch threads call it */
	void *inval_arg;
	uint32_t inval_vol;
	struct {
		uint32_t shard;
		char addr[GL_ADDR_MAX];
	} leaders[MD_LEADERS];
	struct md_watch *watches;
	/* calls to a shard that wait while MD_SLOTS calls to it are in flight go out as one
	 * MD_MULTI (fs.c) */
	pthread_mutex_t batch_lock;
	int md_nobatch;
	/* file locks (fs.c): shards where we hold some, the session renewal thread */
	uint32_t lock_shards[GLORY_LOCK_SHARDS];
	int nlock_shards, lock_thread_started;
	pthread_t lock_thread; /* GLORY_MD_NOBATCH=1: every call alone (benchmarks compare) */
	struct md_batcher {
		uint32_t shard;
		int inflight;
		struct md_wait *head, *tail;
	} batch[MD_BATCHERS];
	uint64_t rid_client, rid_next; /* request ids of retryable writes */
	volatile int closing;
	/* file reads (fs_read.c; glory_read_stats) */
	_Atomic uint64_t reads_straight, chunk_loads;
};

double glory_mono(void);
int glory_ms_call(struct glory *g, uint16_t op, const struct gl_wbuf *a, struct gl_rpc_call *c);
/* A private copy of a fresh-enough map (force: ask the master now). */
int glory_map_get(struct glory *g, struct gl_map *out, int force);
/* Runs fn(arg, 0..n-1) on a few threads; returns the first error. */
int glory_par_for(int n, int (*fn)(void *arg, int i), void *arg);
/* The id of a chunk: its keyed hash with dedup (fetching the map first if needed), 256 random
 * bits without (gl_chunk_id_random). Runs in parallel: no lock held while hashing. */
int glory_chunk_hash(struct glory *g, int dedup, const void *data, size_t len, uint8_t id[32]);
struct gl_ns_extent;
/* Reads the bytes [from, from + len) of extent e's chunk into out, or (whole) the whole chunk,
 * e->chunk_len bytes; asks for a fresh map once when too few servers answer. An extent that
 * does not fit its chunk is -GL_EPROTO. */
int glory_extent_read(struct glory *g, const struct gl_ns_extent *e, uint64_t from, uint64_t len,
		      int whole, uint8_t *out);
/* 1 when extent e's chunk can be read from data servers' files on this host (storage/local.h,
 * gl_chunk_local): ranged reads of it cost no round trip, a chunk cache only adds a copy. */
int glory_extent_local(struct glory *g, const struct gl_ns_extent *e);
/* Has the kernel read extent e's chunk from the files of data servers on this host into the
 * page cache (gl_chunk_warm); 0, or an error when none is here. */
int glory_extent_warm(struct glory *g, const struct gl_ns_extent *e);
/* gl_chunk_write, retried once with a fresh map when too few servers took it. */
int glory_chunk_write(struct glory *g, const struct gl_map *m, const struct gl_scheme *s,
		      const uint8_t *id, const void *data, size_t len);
/* Stores chunks (MS_CHUNK_PREP, then the fragments of those not stored yet), in parallel.
 * ids are computed by the caller. */
int glory_chunks_store(struct glory *g, const struct gl_scheme *s, int n, uint8_t *const *data,
		       const uint32_t *len, const uint8_t (*ids)[32]);
/* fs.c: ends the lock sessions (after closing is set). */
void glory_lock_shutdown(struct glory *g);
/* fs.c: stops the metadata watch threads (glory_disconnect). */
void glory_fs_shutdown(struct glory *g);
/* fs.c, for fs_data.c */
int glory_vol_ids(struct glory_vol *v, uint32_t *shard, uint32_t *vol, uint32_t *pool, int *dedup);
struct glory *glory_vol_glory(struct glory_vol *v);
/* Starts an MD_OP message for the volume: auth, ns header op, u32 volume id. */
void glory_vol_msg(struct glory_vol *v, struct gl_wbuf *a, uint16_t op);
/* Sends it to the volume's shard; *r is the reply (until gl_rpc_call_done(c)). */
int glory_vol_md(struct glory_vol *v, struct gl_wbuf *a, struct gl_rpc_call *c, struct gl_rbuf *r,
		 int idempotent);
/* fs_read.c: the layout of ino over [off, off + len) (the shard answers a bounded range from
 * off) and its attributes; *xs is malloc'd (NULL when *nx is 0). */
struct gl_ns_attr;
struct gl_ns_extent;
int glory_layout(struct glory_vol *v, uint64_t ino, uint64_t off, uint64_t len,
		 struct gl_ns_attr *at, struct gl_ns_extent **xs, uint32_t *nx);
/* Drops our cached attributes of ino (after we changed it). */
void glory_vol_invalidate(struct glory_vol *v, uint64_t ino);

#endif

/* A replicated state machine: a RocksDB database that changes only by applying the entries a
 * libraft 0.22 group committed, in log order, on every member.
 *
 * Files under cfg->dir:
 *   raft/            libraft's log, term/vote and snapshot metadata (raft_uv_init)
 *   db/              the RocksDB database the machine reads and writes
 *   snap/NNNNNNNN/   RocksDB checkpoints (hard links), named by the log index they hold; the two
 *                    newest are kept, so a member fetching one never sees it vanish
 *   snap-in/         a checkpoint being fetched from another member (removed on success)
 *
 * Apply: each committed entry holds one or more proposals ("records", in proposal order; under
 * load the proposals that wait while RSM_MAX_INFLIGHT entries are in flight go out as one entry,
 * so one raft round, one log write and one message per follower serve them all). Each record
 * is one operation: sm->apply adds its writes to a write batch; the rsm adds the key
 * "\0applied" to the same batch and writes it. The value is u64 index (little-endian) after an
 * entry's last record, else u64 index - 1 and u32 records done, so a member stopped in the
 * middle of an entry resumes after them. RocksDB's own WAL is off: the raft log is the durable
 * record. After kill -9 the database is what RocksDB last flushed (every snapshot flushes), and
 * libraft replays the log from the last snapshot; entries and records at or below the stored
 * position are skipped, so replay never applies anything twice.
 *
 * Snapshots: libraft asks for one every cfg->snapshot_threshold entries. The rsm creates a
 * checkpoint of db/ (which flushes the memtable) and hands libraft only a small descriptor
 * (index, the rpc address of this member, file names and sizes). A member that restores a
 * descriptor newer than its own applied index fetches the checkpoint's files in pieces of up
 * to 1 MiB over glory RPC (RSM_SNAP_READ, served by gl_rsm_h_snap_read), verifies sizes, then
 * swaps db/ for it. Log compaction is libraft's (snapshot_trailing entries are kept).
 *
 * Addresses: the raft transport of a member listens on its rpc port + 1 (gl_rsm_raft_addr);
 * raft configuration entries hold raft addresses, and the leader's rpc address is derived.
 *
 * Threads: libraft and libuv run on one thread owned by the rsm ("loop thread"); apply runs
 * there. Every public function is thread-safe and may block the caller (never the loop).
 */
#ifndef GL_RSM_H
#define GL_RSM_H

#include <rocksdb/c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/rpc.h"

#define GL_RSM_MAX_MEMBERS  7
#define GL_RSM_APPLIED_KEY  "\0applied" /* 8 bytes, the NUL included */
#define GL_RSM_APPLIED_KLEN 8
#define GL_RSM_SNAP_PIECE   (1u << 20)
#define GL_RSM_OP_SNAP_READ 0x0401 /* opcode the daemon routes to gl_rsm_h_snap_read */

/* The machine. apply must be deterministic: the same database and the same entry give the same
 * writes, reply and status on every member and on every replay. Anything random or time
 * dependent is decided by the proposer and carried in the entry. */
struct gl_rsm_sm {
	void *ctx;
	/* Applies one entry. Reads see the database as of the previous entry. On 0 the writes in
	 * wb are committed; on an error wb is discarded (the entry still counts as applied) and
	 * the error goes to the proposer. reply (may be NULL on members that did not propose it)
	 * collects what the proposer gets back. */
	int (*apply)(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *op,
		     size_t len, struct gl_wbuf *reply);
	/* The database was replaced (snapshot installed): drop anything cached from it. */
	void (*reset)(void *ctx, rocksdb_t *db);
};

struct gl_rsm_member {
	uint64_t id;	   /* raft id, > 0 */
	char rpc_addr[64]; /* host:port of the member's glory RPC server */
};

struct gl_rsm_cfg {
	const char *dir;
	uint64_t id;
	const char *rpc_addr; /* our RPC server; raft listens on gl_rsm_raft_addr(rpc_addr) */
	/* Bootstrap: only on a new dir. All members of a new group get the same list. An empty
	 * list on a new dir means "join": wait until a leader adds us (gl_rsm_add). */
	int nboot;
	struct gl_rsm_member boot[GL_RSM_MAX_MEMBERS];
	const struct gl_rsm_sm *sm;
	unsigned snapshot_threshold; /* 0: 8192 entries */
	unsigned snapshot_trailing;  /* 0: 2048 entries */
	unsigned election_ms;	     /* 0: 1000 */
	unsigned heartbeat_ms;	     /* 0: 100 */
	/* Fetches a piece of a checkpoint file from another member (tests replace it; NULL uses
	 * RSM_SNAP_READ over RPC). Returns bytes read (0 at the end) or -GL_E... */
	long (*fetch)(void *arg, const char *rpc_addr, uint64_t snap, const char *file,
		      uint64_t off, void *buf, size_t cap);
	void *fetch_arg;
};

struct gl_rsm;

/* The RocksDB options of every member's database (bloom filters; create if missing). The
 * caller owns them (rocksdb_options_destroy). */
rocksdb_options_t *gl_rsm_db_options(void);

/* Opens (or creates) the member's files and starts its loop thread. */
int gl_rsm_open(const struct gl_rsm_cfg *cfg, struct gl_rsm **out);
/* Stops the loop thread (libraft closes cleanly) and closes the database. */
void gl_rsm_close(struct gl_rsm *r);

/* Proposes one entry and waits until it is applied here. Returns apply's status (reply filled)
 * or -GL_ENOTLEADER (this member is not the leader: ask gl_rsm_leader), -GL_ETIMEDOUT (outcome
 * unknown: it may still be applied), -GL_E2BIG, -GL_ECLOSED (closing). */
int gl_rsm_propose(struct gl_rsm *r, const void *op, size_t len, struct gl_wbuf *reply,
		   int timeout_ms);
/* Proposes n (1..GL_RSM_MAX_MANY) independent entries at once (they go out as the records of
 * one entry when the group is busy) and waits for all: status[i] is what gl_rsm_propose would
 * return for ops[i] (replies[i] filled). Returns 0, or an error that applies to every one
 * (also copied to each status). */
#define GL_RSM_MAX_MANY 64
int gl_rsm_propose_many(struct gl_rsm *r, int n, const void *const *ops, const size_t *lens,
			struct gl_wbuf *const *replies, int *status, int timeout_ms);
/* A linearizable read: returns 0 once this member is the leader and has applied every entry
 * committed before the call (one barrier entry serves every reader waiting at the time). Then
 * read with gl_rsm_read_begin/end. -GL_ENOTLEADER otherwise.
 * Lease reads: for 0.15 s after issuing a barrier that then committed, the leader answers at
 * once, from what it has applied (every write it acknowledged is applied), and while reads keep
 * coming the loop renews that lease with a barrier every ~50 ms. Safe because a majority took
 * that barrier in our term after it was issued, so any later leader was elected after it, and a
 * new leader answers no read for 0.5 s after it noticed it leads (and acknowledges no write for
 * 1.5 s, metadata/lease.h): by then the old leader's lease is over. Durations only, measured on
 * each member's monotonic clock; no clocks are compared. A client cache entry from a lease read
 * ends at most 0.15 + 1.25 s after the barrier, before a new leader's first write. */
int gl_rsm_read_fence(struct gl_rsm *r, int timeout_ms);
/* The database for reading; hold it only between begin and end (a snapshot install swaps it). */
rocksdb_t *gl_rsm_read_begin(struct gl_rsm *r);
void gl_rsm_read_end(struct gl_rsm *r);

/* The current leader as this member knows it: 0, or -GL_ENOTLEADER with no leader known. */
int gl_rsm_leader(struct gl_rsm *r, struct gl_rsm_member *out);
/* Membership changes, on the leader: add catches the new member up (by snapshot when needed)
 * and then makes it a voter; remove takes it out of the configuration. */
int gl_rsm_add(struct gl_rsm *r, const struct gl_rsm_member *m, int timeout_ms);
int gl_rsm_remove(struct gl_rsm *r, uint64_t id, int timeout_ms);

struct gl_rsm_status {
	uint64_t id, leader_id, term, commit_index, applied_index, last_index, snapshot_index;
	const char *role; /* "leader", "follower", "candidate", "unavailable" (static string) */
	int nmembers;
	struct gl_rsm_member members[GL_RSM_MAX_MEMBERS];
	int voter[GL_RSM_MAX_MEMBERS];
};
int gl_rsm_status(struct gl_rsm *r, struct gl_rsm_status *out);

/* "ID@H:P,ID@H:P,..." (rpc addresses) -> members: 0, or -GL_EINVAL (bad syntax, id 0,
 * duplicate id, more than cap). */
int gl_rsm_parse_members(const char *s, struct gl_rsm_member *out, int cap, int *n);
/* "host:port" -> "host:port+1" */
int gl_rsm_raft_addr(const char *rpc_addr, char *out, size_t cap);

/* RPC handler for GL_RSM_OP_SNAP_READ (ctx = struct gl_rsm *). req: u64 snap index, str file,
 * u64 offset, u32 max; reply bulk: the bytes (empty at the end). Only files of a kept checkpoint
 * are served; names with '/' or ".." are refused. */
int gl_rsm_h_snap_read(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep);

#endif

/* The cluster map: every data server with its address, failure domain, state and capacity, under
 * a version number (epoch) that grows on every change. The master owns it; clients and data
 * servers fetch it (MS_GET_MAP) and cache it.
 *
 * Wire/disk encoding (little-endian, through common/buf.h):
 *   u32 magic 0x50414d47 ("GMAP"), u16 version 1, u64 epoch, 32 bytes dedup key, u32 n,
 *   then n times: u32 id, str addr, str rack, str host, u8 state, u64 cap_total, u64 cap_avail,
 *                 u64 used, u64 since (unix seconds of the last state change)
 *   then u32 nshards, nshards times: u32 shard id, u8 n, n times: u64 raft id, str rpc addr,
 *                 u8 up (heard from within the last few seconds)
 * Metadata shards (metadata/) register with the master; clients find a shard's members here and
 * ask any of them for the leader.
 */
#ifndef GL_MAP_H
#define GL_MAP_H

#include <stdint.h>

#include "common/buf.h"

#define GL_ADDR_MAX	 64
#define GL_DOMAIN_MAX	 64
#define GL_MAP_MAX_DS	 4096
#define GL_DEDUP_KEY_LEN 32

enum gl_ds_state {
	GL_DS_UP = 1,	/* heartbeating */
	GL_DS_DOWN = 2, /* silent: keeps its placement slots, writes go to handoffs */
	GL_DS_OUT = 3,	/* down past the timeout: its slots are given to others and rebuilt */
};

struct gl_ds_info {
	uint32_t id; /* assigned by the master, never reused */
	char addr[GL_ADDR_MAX];
	char rack[GL_DOMAIN_MAX];
	char host[GL_DOMAIN_MAX];
	uint8_t state;
	uint64_t cap_total; /* bytes; placement weight */
	uint64_t cap_avail;
	uint64_t used; /* fragment bytes held */
	uint64_t since;
};

#define GL_MAP_MAX_SHARDS    1024
#define GL_SHARD_MAX_MEMBERS 7

struct gl_shard_member {
	uint64_t id; /* raft id within the shard */
	char addr[GL_ADDR_MAX];
	uint8_t up;
};

struct gl_shard_info {
	uint32_t id;
	uint8_t n;
	struct gl_shard_member m[GL_SHARD_MAX_MEMBERS];
};

struct gl_map {
	uint64_t epoch;
	uint8_t dedup_key[GL_DEDUP_KEY_LEN];
	uint32_t n;
	struct gl_ds_info *ds; /* malloc'd array of n, sorted by id */
	uint32_t nshards;
	struct gl_shard_info *shards; /* malloc'd array of nshards, sorted by id (NULL when 0) */
};

void gl_map_encode(const struct gl_map *m, struct gl_wbuf *b);
/* Fills *out (out->ds malloc'd). -GL_EPROTO on malformed input. */
int gl_map_decode(struct gl_rbuf *r, struct gl_map *out);
void gl_map_free(struct gl_map *m);
/* Deep copy. */
int gl_map_copy(const struct gl_map *src, struct gl_map *dst);
/* Index into m->ds of server id, or -1. */
int gl_map_find(const struct gl_map *m, uint32_t id);
/* Shard id's entry, or NULL. */
const struct gl_shard_info *gl_map_shard(const struct gl_map *m, uint32_t id);
const char *gl_ds_state_name(uint8_t state);

#endif

/* Private to gateways/libglory/disk*.c: the dirty set of a disk (disk_dirty.c), the writes
 * not yet flushed: per 4 MiB slice, sorted runs of bytes. Not thread-safe: disk_io.c holds its
 * disk's mu around every call. */
#ifndef GL_DISK_INTERNAL_H
#define GL_DISK_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "gateways/libglory/glory.h"
#include "metadata/ns.h"
#include "storage/stripe.h"

#define NBUCKETS 4096

struct run {
	uint64_t off; /* in the disk */
	uint32_t len, cap;
	uint8_t *data;
};

struct dslice {
	uint64_t idx;
	struct run *r; /* sorted by off, neither overlapping nor touching */
	uint32_t n, cap;
	int compacted; /* put back whole by compaction: stored as one chunk, not dedup'd by block */
	double wtime;  /* when it was last written (disk_mono) */
	struct dslice *next;
};

struct dset {
	struct dslice *b[NBUCKETS];
	uint64_t bytes;
	uint32_t nslices;
};

struct dset *disk_dirty_new(void);
void disk_dirty_free(struct dset *ds);
/* The slice's runs; made empty when create is set (NULL: none, or out of memory). */
struct dslice *disk_dirty_slice(struct dset *ds, uint64_t idx, int create);
/* Puts [a, a+len) with data into the slice (never crossing it); under: existing runs win. */
int disk_dirty_put(struct dset *ds, struct dslice *s, uint64_t a, const uint8_t *data, uint32_t len,
		   int under);
/* Drops [a, b) from the slice's runs. */
int disk_dirty_cut(struct dset *ds, struct dslice *s, uint64_t a, uint64_t b);
/* Copies the runs of ds over [off, off+len) into buf (ds may be NULL). */
void disk_dirty_overlay(struct dset *ds, uint8_t *buf, uint64_t off, uint64_t len);
/* Moves slice idx (if any) from one set to another that does not have it. */
void disk_dirty_move(struct dset *from, struct dset *to, uint64_t idx);
/* Moves every run of from into to, under to's own. Frees from. */
int disk_dirty_merge_under(struct dset *to, struct dset *from);

#define SLICE		  GL_NS_SLICE
#define BIG_WRITE	  (256u << 10) /* a new dirty run this large gets room to its slice's end */
#define LOG_MAX		  GL_CHUNK_MAX
#define DIRTY_FLUSH	  (32ull << 20)	 /* the background flusher starts here */
#define DIRTY_MAX	  (256ull << 20) /* writers flush themselves past this */
#define DIRTY_AGE_S	  2.0
#define FRONT_HOLD_S	  0.5 /* a background flush leaves part-filled slices written this lately */
#define FRONT_HOLD_SLICES 16  /* ... up to this many */
#define COMPACT_EXTENTS	  256
#define COMPACT_PER_FLUSH 8
#define LAYOUT_SLICES	  64	     /* slices per NS_LAYOUT */
#define RANGE_MAX	  (1u << 20) /* non-sequential reads below this fetch ranges, not chunks */
#define SEQ_WINDOW	  (1u << 20) /* a read starting this close to the last one's end: sequential */

/* a cached committed layout of one slice */
struct lslice {
	uint64_t idx;
	struct gl_ns_extent *e;
	uint32_t n;
	uint32_t frag; /* extents we added since its last whole write */
	struct lslice *next;
};

struct cchunk {
	uint8_t id[32];
	uint32_t pool, len;
	int state;     /* disk_cache.c: empty, loading, ready */
	uint8_t *data; /* ready */
	uint64_t used; /* LRU clock */
	int pins;      /* readers copying out of data without mu: not evicted meanwhile */
};

#define READAHEAD_MIN	  (128u << 10) /* reads this large start read-ahead */
#define READAHEAD_SLICES  2	       /* slices read ahead */
#define PQ_MAX		  8	       /* chunks queued for read-ahead */
#define READAHEAD_THREADS 2	       /* chunks loaded ahead at once */

struct glory_disk {
	struct glory_vol *v;
	uint64_t ino, size;
	int rdonly;
	uint32_t pool;
	int dedup;
	pthread_mutex_t mu, flush_mu;
	pthread_cond_t cv;
	struct dset *dirty, *fl; /* fl: being flushed (NULL when none) */
	double dirty_since;
	uint64_t flush_gen;
	struct lslice *lc[NBUCKETS];
	struct cchunk *cc;
	uint32_t ncc, cc_cap;
	uint64_t cc_clock;
	pthread_cond_t cc_cv;		/* a chunk load finished */
	struct gl_ns_extent pq[PQ_MAX]; /* chunks to read ahead */
	uint32_t npq;
	pthread_cond_t pq_cv;
	pthread_t pf[READAHEAD_THREADS]; /* the read-ahead threads */
	int pf_started;
	uint64_t rd_next; /* where the last read ended (sequential reads fill the chunk cache) */
	int err;	  /* a background flush failed: the next flush says so */
	int closing;
	pthread_t flusher;
	int flusher_started;
	struct glory_disk_stats st;
};

/* disk_io.c (mu held) */
/* The slice's layout cache entry (made, not cached, when missing). */
struct lslice *disk_lc_get(struct glory_disk *d, uint64_t idx);
/* The slice's layout cache entry, or NULL. */
struct lslice *disk_lc_find(struct glory_disk *d, uint64_t idx);
/* disk_flush.c: cached layout l (valid) after the disjoint extents nx[0..nn) were written over
 * it, as NS_WRITE does on the shard: the old extents lose the ranges written, the new ones go
 * in, sorted. Out of memory: l is dropped (n = UINT32_MAX). */
void disk_lc_overlay(struct lslice *l, const struct gl_ns_extent *nx, uint32_t nn);
/* glory_disk_pread; ahead: a large sequential read starts read-ahead (not for compaction). */
int disk_pread(struct glory_disk *d, void *buf, size_t len, uint64_t off, int ahead);

/* disk_cache.c: the chunk cache */
/* Copies chunk e's bytes [from, from + len) to out: from the cache; else (ranged) just those
 * bytes from the data servers; else the whole chunk, loaded once into the cache however many
 * readers want it. mu not held. */
int disk_cc_copy(struct glory_disk *d, const struct gl_ns_extent *e, uint8_t *out, uint32_t from,
		 uint32_t len, int ranged);
/* Queues the chunks of the slices after byte end for loading in the background. */
void disk_cc_readahead(struct glory_disk *d, uint64_t end);
/* Stops read-ahead and frees the cache (closing the disk). */
void disk_cc_stop(struct glory_disk *d);
/* Drops every cached layout (keep_frag: keeps the fragment counts). */
void disk_lc_drop_all(struct glory_disk *d, int keep_frag);

/* disk_flush.c: a flush's plan, what it stores and commits */
struct chunkw {
	uint8_t *data; /* NULL for an existing chunk (ext) */
	uint32_t len;
	int owned;
	int ext;    /* stored already, found through the volume's block index: not written */
	int has_id; /* id known already (ext, or a block-dedup chunk named by its block list) */
	uint32_t pool;
	uint8_t id[32];
};

/* a block index entry the plan adds: hash -> chunk c at coff, inside extent ext */
struct pidx {
	uint8_t h[32];
	uint32_t c, coff, ext;
};

/* a slice rewritten whole through block dedup: its layout is replaced by extents
 * [first, first + n) (zero blocks become holes) */
struct pwhole {
	uint64_t idx;
	uint32_t first, n, nix;
	uint32_t c, nlist;   /* its new chunk (UINT32_MAX: none) and that chunk's blocks */
	uint8_t (*list)[32]; /* their hashes, in chunk order */
};

struct plan {
	uint32_t pool;
	struct chunkw *c;
	uint32_t nc, cc;
	struct gl_ns_extent *e;
	uint32_t ne, ce;
	uint32_t *ec;	/* the chunk of each extent */
	uint64_t *zero; /* whole slices that are all zeros (become holes) */
	uint32_t nz, cz;
	uint32_t log; /* the open log chunk, or UINT32_MAX */
	struct pwhole *w;
	uint32_t nw, cw;
	struct pidx *ix;
	uint32_t nix, cix;
	uint64_t hits; /* blocks found stored already */
};

double disk_mono(void);
int plan_chunk(struct plan *p, uint8_t *data, uint32_t len, int owned);
int plan_extent(struct plan *p, uint64_t off, uint32_t len, uint32_t chunk, uint32_t coff);

/* disk_dedup.c: block-level dedup of slices written whole (volumes with dedup). Plans the n
 * slices (each one run covering the whole slice, a multiple of GL_NS_DEDUP_BLOCK): every
 * non-zero block found in the volume's block index (use_index) or earlier in this plan becomes
 * an extent of the chunk that has it, the other blocks are packed into a new chunk per slice
 * and indexed. */
int disk_dedup_plan(struct glory_disk *d, struct plan *p, struct dslice *const *s, uint32_t n,
		    int use_index);
/* NS_PUNCH of [off, off+len) of the disk's file. */
int disk_ns_punch(struct glory_disk *d, uint64_t off, uint64_t len);
/* The background flusher thread (arg: the disk). */
void *disk_flusher(void *arg);
/* A flush to keep the dirty set small (background, back-pressure): as glory_disk_flush, but the
 * part-filled slices written lately stay dirty, so a sequential writer's slices are flushed
 * whole (one chunk, dedup'd by block) instead of in pieces through log chunks. */
int disk_flush_some(struct glory_disk *d);

#endif

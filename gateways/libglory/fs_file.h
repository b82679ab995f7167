/* Private to gateways/libglory: an open file (struct glory_file), shared by fs_data.c (open,
 * writes and their background commits, fsync, close) and fs_read.c (layouts, reads). */
#ifndef GL_FS_FILE_H
#define GL_FS_FILE_H

#include <pthread.h>
#include <stdint.h>

#include "gateways/libglory/glory.h"
#include "metadata/ns.h"

#define GF_MAX_RUNS	GL_NS_MAX_EXTENTS /* dirty runs packed into one chunk */
#define GF_MAX_INFLIGHT 4		  /* chunks of a file being stored or committed */

/* A dirty run: file bytes [off, off + len) are bytes [boff, boff + len) of a pack. Never crosses
 * a GL_NS_SLICE boundary of the file. */
struct gf_run {
	uint64_t off;
	uint32_t len;
	uint32_t boff;
};

/* A pack handed to the background: stored as one chunk, then its runs committed as extents of
 * it (NS_WRITE), in the order the packs were made. */
struct gf_job {
	struct gf_job *next;
	struct glory_file *f;
	uint8_t *buf;
	uint32_t len;
	struct gf_run *runs;
	uint32_t nruns;
	uint64_t end;	  /* where its last byte ends in the file */
	uint64_t seq;	  /* made after every job with a smaller one */
	int64_t mtime_ns; /* when its last byte was written */
	uint32_t pool;
	uint8_t id[32];
	int state; /* GF_JOB_STORING, GF_JOB_STORED, GF_JOB_FAILED */
	int rc;
};

#define GF_JOB_STORING 0
#define GF_JOB_STORED  1
#define GF_JOB_FAILED  2

struct glory_file {
	struct glory_vol *v;
	uint64_t ino;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;  /* a job finished, a commit ended */
	/* the pack being filled: runs[0..nruns) over wbuf[0..wlen) */
	uint8_t *wbuf;
	uint32_t wlen;
	struct gf_run *runs;
	uint32_t nruns;
	int64_t wtime_ns; /* when the pack's last byte was written */
	/* packs in the background, oldest first; the one committer at a time commits the stored
	 * ones from the head, so extents land in the order they were written */
	struct gf_job *jobs, **jobs_tail;
	int njobs, committing, threads; /* threads: job threads still running */
	uint64_t seq, done_seq;		/* the last job made, the last one committed (or failed) */
	uint64_t size;			/* as far as we know, with our buffered writes */
	int err; /* a failed background store or commit: reported by the next fsync/close */
	/* the layout of [loff, lend) as last fetched (the file was lsize bytes then): reads
	 * inside it ask the shard nothing. Dropped by our own commits, glory_file_invalidate
	 * (a gateway calls it at every open: close-to-open) and after LAYOUT_KEEP_S. */
	struct gl_ns_extent *lx;
	uint32_t nlx;
	uint64_t loff, lend, lsize;
	double lat;
	int lvalid;
	uint64_t lgen; /* bumped whenever the layout is dropped */
	/* the last chunk read */
	uint8_t rid[32];
	uint32_t rpool, rlen;
	uint8_t *rbuf;
	int rvalid;
	uint64_t rnext; /* where the last read ended: reads near it are a sequential stream */
	/* read-ahead (fs_read.c): the chunk after the one a sequential reader just loaded, read by
	 * a background thread into abuf (the thread's while LOADING), then swapped with rbuf */
	uint8_t aid[32];
	uint32_t apool, alen;
	uint8_t *abuf;
	int astate; /* GF_AHEAD_NONE, GF_AHEAD_LOADING, GF_AHEAD_LOADED */
	/* the chunk whose local files a sequential reader reading them straight last had the
	 * kernel read ahead (fs_read.c, warm_next) */
	uint8_t wid[32];
	int wvalid;
};

#define GF_AHEAD_NONE	 0
#define GF_AHEAD_LOADING 1
#define GF_AHEAD_LOADED	 2

/* fs_data.c: 1 when [off, off + len) overlaps bytes not committed yet. Lock held. */
int gf_file_dirty_overlap(struct glory_file *f, uint64_t off, uint64_t len);
/* fs_data.c: hands everything buffered to the background and waits until it and every pack
 * before it are committed (or failed: f->err says so, left for fsync/close to report). Returns 0
 * or an error handing it over. Lock held (dropped while waiting). */
int gf_file_flush_locked(struct glory_file *f);
/* fs_data.c: where the uncommitted bytes end, 0 if none. Lock held. */
uint64_t gf_file_dirty_end(struct glory_file *f);
/* fs_read.c: frees the read side of f (its layout). */
void gf_file_read_fini(struct glory_file *f);

#endif

/* The fragment store of one data server: every fragment it holds, on one local directory.
 *
 * Small fragments (< GL_FSTORE_INLINE_MAX) live as values in a RocksDB instance (millions of small
 * objects must not cost a file each); larger ones are files under DIR/frag/XX/ (XX = first byte of
 * the chunk id), written to a temporary name, fdatasync'ed, renamed and the directory fsync'ed.
 * Either way a put returns only when the fragment is on stable storage.
 *
 * Every fragment is stored with its CRC32C (computed by the writer) and verified on every get.
 * Files also keep a CRC32C per 64 KiB block, so a ranged get reads and verifies only the blocks
 * it needs (format: the top of fstore.c).
 * A fragment's identity is its key; the content of a key never changes (chunks are immutable), so
 * a put of a key that already exists with the same length and CRC writes nothing.
 */
#ifndef GL_FSTORE_H
#define GL_FSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/stripe.h"

#define GL_FSTORE_INLINE_MAX (128u << 10)

struct gl_fkey {
	uint32_t pool;
	uint8_t chunk[GL_CHUNK_ID_LEN];
	uint8_t idx; /* fragment index within the stripe */
};

struct gl_fmeta {
	uint32_t len;	    /* fragment bytes */
	uint32_t crc;	    /* gl_crc32c(GL_CRC_INIT, data, len) */
	uint64_t chunk_len; /* length of the whole chunk */
	uint64_t mtime;	    /* seconds since the epoch when stored */
};

struct gl_fstore;

/* Opens (creating if needed) the store under dir. */
int gl_fstore_open(const char *dir, struct gl_fstore **out);
void gl_fstore_close(struct gl_fstore *s);
/* Stores a fragment durably. meta->len must equal len and meta->crc must match data (else
 * -GL_ECORRUPT, nothing stored). Returns 0 (stored or already present). mtime is set here. */
int gl_fstore_put(struct gl_fstore *s, const struct gl_fkey *key, const struct gl_fmeta *meta,
		  const void *data, size_t len);
/* Reads a fragment into a malloc'd buffer (*data, caller frees) and checks its CRC.
 * Returns 0, -GL_ENOENT, -GL_ECORRUPT (bad CRC, torn file: the caller decides to repair). */
int gl_fstore_get(struct gl_fstore *s, const struct gl_fkey *key, struct gl_fmeta *meta,
		  uint8_t **data);
/* Reads bytes [off, off + len) of a fragment into a malloc'd buffer (*data, len bytes, caller
 * frees). Only the blocks covering the range are read and their CRCs checked (files of
 * version 2); an inline fragment or a version 1 file is read and checked whole. meta describes
 * the whole fragment. Returns 0, -GL_ENOENT, -GL_ERANGE (the range goes past the fragment's
 * end), -GL_ECORRUPT (as gl_fstore_get). */
int gl_fstore_get_range(struct gl_fstore *s, const struct gl_fkey *key, uint32_t off, uint32_t len,
			struct gl_fmeta *meta, uint8_t **data);
/* A fragment kept as a file with a block table, for a reader on the same host that reads it
 * itself (storage/local.h): a new read-only descriptor of the file (the caller closes it), where
 * its data starts and the CRC32C of every block. The fragment's bytes never change under its
 * key, so the descriptor stays good for reads after a delete or a repair (which write a new
 * file); a reader that finds a block CRC wrong asks the server, which checks and repairs.
 * 0, -GL_ENOENT, -GL_ENOTSUP (kept inline in RocksDB, or a version 1 file with no block table),
 * -GL_ECORRUPT (bad header). */
#define GL_FSTORE_MAX_BLKS 1008
struct gl_ffile {
	int fd;
	uint32_t data_off; /* file offset of data byte 0 */
	uint32_t bsize;	   /* bytes per block CRC */
	uint32_t nblk;	   /* ceil(meta.len / bsize) */
	uint32_t crc[GL_FSTORE_MAX_BLKS];
};
int gl_fstore_open_file(struct gl_fstore *s, const struct gl_fkey *key, struct gl_fmeta *meta,
			struct gl_ffile *out);
/* Metadata only, no data read and no data CRC check (a file's header and block table are
 * checked). 0, -GL_ENOENT or -GL_ECORRUPT. */
int gl_fstore_stat(struct gl_fstore *s, const struct gl_fkey *key, struct gl_fmeta *meta);
/* Removes a fragment durably. 0 or -GL_ENOENT. */
int gl_fstore_del(struct gl_fstore *s, const struct gl_fkey *key);
/* Calls fn for every fragment (order unspecified). fn returns 0 to go on, non-zero to stop (that
 * value is returned). The store may be modified concurrently (and by fn itself). */
typedef int (*gl_fstore_iter_fn)(void *arg, const struct gl_fkey *key, const struct gl_fmeta *meta);
int gl_fstore_iter(struct gl_fstore *s, gl_fstore_iter_fn fn, void *arg);
/* Filesystem capacity (statvfs of dir) and what the store holds. */
struct gl_fstore_usage {
	uint64_t total;	     /* bytes of the filesystem */
	uint64_t avail;	     /* bytes free for us */
	uint64_t frag_bytes; /* bytes of fragments held */
	uint64_t nfrags;
};
int gl_fstore_usage(struct gl_fstore *s, struct gl_fstore_usage *u);

#endif

/* Local reads: a client on the same host as a data server reads that server's fragment files
 * itself, through descriptors the server hands it, instead of having the bytes copied to it over
 * TCP (HDFS calls this short-circuit local reads). A 4 KiB read of a VM disk then costs the
 * client one pread of the 64 KiB block and its CRC, not a round trip through another process.
 *
 * The server listens on an abstract Unix socket named after the address it serves,
 * "glory-ds-local H:P". Abstract names belong to a network namespace, so a client finds the
 * socket exactly when it runs beside the server. SOCK_SEQPACKET, one request, one reply:
 *   request (44 bytes): u32 magic "GLLR", u32 pool, 32 bytes chunk id, u8 fragment index,
 *                       3 bytes zero
 *   reply: u32 magic, u32 status (0, or a GL error code as a positive number), u32 len,
 *          u32 crc, u64 chunk_len, u32 data_off, u32 bsize, u32 nblk, then nblk x u32 block
 *          CRCs (status 0 only); with status 0 the file's descriptor rides along (SCM_RIGHTS).
 * All little-endian. Only fragments kept as files with a block table are served this way;
 * small ones live in RocksDB and are read over RPC.
 *
 * The client keeps the descriptors it got (least recently used closed first) and checks the
 * CRC of every block it reads. On a mismatch it drops the descriptor and fails the read; the
 * caller then asks the server over RPC, which checks the fragment itself, removes it and has
 * it rebuilt (the path of any corrupt read). A fragment's bytes never change under its key, so a
 * kept descriptor serves the right bytes even after the server deleted or replaced the file.
 *
 * Access: the same as DS_GET over TCP (anyone who can reach a data server and knows a chunk id
 * may read the fragment); the descriptor is read-only. GLORY_LOCAL_READS=0 in a client's
 * environment turns local reads off (everything goes over RPC, as between hosts).
 */
#ifndef GL_LOCAL_H
#define GL_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "storage/fstore.h"

#define GL_LOCAL_REQ_LEN   44
#define GL_LOCAL_REPLY_HDR 32
#define GL_LOCAL_REPLY_MAX (GL_LOCAL_REPLY_HDR + 4 * GL_FSTORE_MAX_BLKS)

/* ---- the server side (a data server) ---- */
struct gl_local_srv;
/* Serves the files of fs to local readers under the name of addr ("H:P"). */
int gl_local_srv_start(struct gl_fstore *fs, const char *addr, struct gl_local_srv **out);
void gl_local_srv_stop(struct gl_local_srv *ls);

/* ---- the client side ---- */
struct gl_local;
/* NULL when GLORY_LOCAL_READS=0 (or out of memory): gl_local_read then always declines. */
struct gl_local *gl_local_new(void);
void gl_local_free(struct gl_local *l);
/* Reads bytes [off, off + len) of fragment key, frag_len bytes of a chunk of chunk_len bytes,
 * held by the data server at addr, from the server's file when the server runs on this host.
 * 0 (every byte read and its blocks' CRCs checked), or an error after which the caller reads
 * over RPC: -GL_ENOTSUP (no local server by that address, a fragment kept inline),
 * -GL_ECORRUPT (a block failed its CRC, or the file is short), -GL_ENOENT, -GL_EPROTO. */
int gl_local_read(struct gl_local *l, const char *addr, const struct gl_fkey *key,
		  uint64_t chunk_len, uint32_t frag_len, uint32_t off, uint32_t len, void *dst);
/* Has the kernel start reading the whole fragment from the server's file into the page cache
 * (readahead(2); it does not wait for the disk), so that a gl_local_read of it soon finds the
 * bytes there; its descriptor is kept as by a read. Errors as gl_local_read. */
int gl_local_warm(struct gl_local *l, const char *addr, const struct gl_fkey *key,
		  uint64_t chunk_len, uint32_t frag_len);
/* 0 when the server at addr cannot be on this host (its address is neither loopback nor one of
 * ours): gl_local_read would decline it; a caller skips work for it (lock-free). */
int gl_local_maybe(struct gl_local *l, const char *addr);
/* 1 when the server at addr is known to run on this host (a fragment was read from its files
 * and it has not failed since): reads of its fragments are cheap, no cache needed. */
int gl_local_known(struct gl_local *l, const char *addr);
struct gl_local_stats {
	uint64_t reads;	  /* served from a local file */
	uint64_t opens;	  /* descriptors received */
	uint64_t corrupt; /* reads that found a block CRC wrong */
};
void gl_local_get_stats(struct gl_local *l, struct gl_local_stats *out);

/* ---- the messages (exposed for tests and fuzzing) ---- */
void gl_local_req_encode(const struct gl_fkey *k, uint8_t out[GL_LOCAL_REQ_LEN]);
/* 0 or -GL_EPROTO. */
int gl_local_req_decode(const void *p, size_t n, struct gl_fkey *k);
/* Encodes a reply (status 0: meta and f; else status alone). Returns its length. */
size_t gl_local_reply_encode(int status, const struct gl_fmeta *m, const struct gl_ffile *f,
			     uint8_t out[GL_LOCAL_REPLY_MAX]);
/* Decodes a reply: its status (0 or negative), and for 0 meta and f (all but f->fd), checked
 * for consistency (block size a power of two, nblk blocks cover len, data_off past the
 * header). -GL_EPROTO for a malformed reply. */
int gl_local_reply_decode(const void *p, size_t n, struct gl_fmeta *m, struct gl_ffile *f);

#endif

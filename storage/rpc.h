/* Data server protocol (frames: common/rpc.h). Bump GL_DS_PROTO on any change.
 *
 * Messages (args, little-endian; "key" = u32 pool, 32 bytes chunk id, u8 fragment index):
 *   DS_PUT   req: key, u64 chunk_len, u32 crc; bulk = fragment      rep: -
 *   DS_GET   req: key [, u32 off, u32 len]                          rep: u32 len, u32 crc,
 *                                                                      u64 chunk_len; bulk = data
 *            Without off/len: the whole fragment (len = its length, crc = its stored CRC).
 *            With them (since proto 2): fragment bytes [off, off + len) only; the server reads
 *            and verifies just the stored blocks covering them (fstore.h), then replies len =
 *            the range's length and crc = CRC32C of the bytes sent. off + len past the
 *            fragment's end: -GL_ERANGE. Bytes after the range are ignored (room to append).
 *            Compatibility: a proto 1 server ignores off/len and sends the whole fragment; a
 *            client that gets len = the fragment's length (from chunk_len) slices it itself.
 *   DS_HAVE  req: u32 pool, u32 n, n x chunk id                   rep: u32 n, n x u32 bitmask of
 *                                                                      fragment indexes held
 *   DS_DEL   req: u32 pool, chunk id, u32 index mask (bit i = fragment i)   rep: u32 deleted
 *   DS_INFO  req: -                                               rep: u32 id, u64 epoch,
 *                                                                      u64 nfrags, u64 frag_bytes
 */
#ifndef GL_DS_RPC_H
#define GL_DS_RPC_H

#include "common/buf.h"
#include "storage/fstore.h"

#define GL_DS_PROTO 2	 /* 2: DS_GET ranges */
#define GL_HAVE_MAX 4096 /* chunks per DS_HAVE */

/* X(name, opcode, server handler): the opcode enum here, the handler table in ds.c, and the
 * names both use, all from this one list. */
#define GL_DS_RPCS(X)                                                                              \
	X(DS_PUT, 0x0101, ds_h_put)                                                                \
	X(DS_GET, 0x0102, ds_h_get)                                                                \
	X(DS_HAVE, 0x0103, ds_h_have)                                                              \
	X(DS_DEL, 0x0104, ds_h_del)                                                                \
	X(DS_INFO, 0x0105, ds_h_info)

enum gl_ds_opcode {
#define GL_DS_OPC(name, code, handler) GL_##name = code,
	GL_DS_RPCS(GL_DS_OPC)
#undef GL_DS_OPC
};

void gl_fkey_put(struct gl_wbuf *b, const struct gl_fkey *k);
void gl_fkey_get(struct gl_rbuf *r, struct gl_fkey *k);

/* DS_GET request args. */
struct gl_ds_get_args {
	struct gl_fkey key;
	int ranged; /* off and len present */
	uint32_t off, len;
};
void gl_ds_get_args_put(struct gl_wbuf *b, const struct gl_ds_get_args *a);
/* Decodes received args. 0 or -GL_EPROTO (short key, or a partial range). */
int gl_ds_get_args_get(const void *args, size_t len, struct gl_ds_get_args *a);

#endif

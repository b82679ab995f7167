#include "storage/rpc.h"

void gl_fkey_put(struct gl_wbuf *b, const struct gl_fkey *k)
{
	gl_put_u32(b, k->pool);
	gl_put_bytes(b, k->chunk, GL_CHUNK_ID_LEN);
	gl_put_u8(b, k->idx);
}

void gl_fkey_get(struct gl_rbuf *r, struct gl_fkey *k)
{
	k->pool = gl_get_u32(r);
	gl_get_copy(r, k->chunk, GL_CHUNK_ID_LEN);
	k->idx = gl_get_u8(r);
}

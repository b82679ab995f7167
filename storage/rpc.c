#include "storage/rpc.h"

#include "common/errors.h"

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

void gl_ds_get_args_put(struct gl_wbuf *b, const struct gl_ds_get_args *a)
{
	gl_fkey_put(b, &a->key);
	if (a->ranged) {
		gl_put_u32(b, a->off);
		gl_put_u32(b, a->len);
	}
}

int gl_ds_get_args_get(const void *args, size_t len, struct gl_ds_get_args *a)
{
	struct gl_rbuf r;

	gl_rbuf_init(&r, args, len);
	gl_fkey_get(&r, &a->key);
	a->ranged = 0;
	a->off = a->len = 0;
	if (gl_rbuf_check(&r))
		return -GL_EPROTO;
	if (gl_rbuf_left(&r) == 0)
		return 0;
	a->off = gl_get_u32(&r);
	a->len = gl_get_u32(&r);
	a->ranged = 1;
	return gl_rbuf_check(&r);
}

/* Record marking, RPC call and reply headers, file handles: pure functions over bytes. */
#include "gateways/nfs/nfs_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void nfs_rm_init(struct nfs_rm *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void nfs_rm_fini(struct nfs_rm *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

static int rm_grow(struct nfs_rm *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 4096;
	uint8_t *p;

	if (need <= r->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(r->buf, cap);
	if (!p)
		return -ENOMEM;
	r->buf = p;
	r->cap = cap;
	return 0;
}

long nfs_rm_feed(struct nfs_rm *r, const uint8_t *p, size_t n, int *done)
{
	size_t used = 0;

	*done = 0;
	while (used < n) {
		if (!r->frag_left && r->hdr_have < 4) {
			uint32_t w;

			r->hdr[r->hdr_have++] = p[used++];
			if (r->hdr_have < 4)
				continue;
			w = (uint32_t)r->hdr[0] << 24 | (uint32_t)r->hdr[1] << 16 |
			    (uint32_t)r->hdr[2] << 8 | r->hdr[3];
			r->last = (w & 0x80000000u) != 0;
			r->frag_left = w & 0x7fffffffu;
			if (r->frag_left > r->max - r->len)
				return -E2BIG;
			if (rm_grow(r, r->len + r->frag_left))
				return -ENOMEM;
		}
		if (r->frag_left) {
			size_t k = r->frag_left < n - used ? r->frag_left : n - used;

			memcpy(r->buf + r->len, p + used, k);
			r->len += k;
			r->frag_left -= k;
			used += k;
		}
		if (!r->frag_left && r->hdr_have == 4) {
			r->hdr_have = 0;
			if (r->last) {
				*done = 1;
				break;
			}
		}
	}
	return (long)used;
}

void nfs_rm_take(struct nfs_rm *r, uint8_t **buf, size_t *len)
{
	*buf = r->buf;
	*len = r->len;
	r->buf = NULL;
	r->len = r->cap = 0;
	r->last = 0;
}

/* An opaque_auth body of AUTH_SYS: stamp, machine name, uid, gid, gids. */
static int decode_auth_sys(const uint8_t *b, uint32_t n, struct nfs_cred *c)
{
	struct nx_in x;

	nx_in_init(&x, b, n);
	nx_u32(&x); /* stamp */
	nx_string(&x, c->machine, 255);
	c->uid = nx_u32(&x);
	c->gid = nx_u32(&x);
	c->ngids = nx_u32(&x);
	if (c->ngids > NR_AUTH_SYS_GIDS)
		return -EACCES;
	for (uint32_t i = 0; i < c->ngids; i++)
		c->gids[i] = nx_u32(&x);
	return x.err || x.pos != x.len ? -EACCES : 0;
}

int rpc_decode_call(struct nx_in *x, struct rpc_call *c)
{
	const uint8_t *body;
	uint32_t n;

	memset(c, 0, sizeof(*c));
	c->xid = nx_u32(x);
	if (nx_u32(x) != NR_CALL || x->err)
		return -EPROTO;
	if (nx_u32(x) != NR_VERS)
		return x->err ? -EPROTO : -EBADMSG;
	c->prog = nx_u32(x);
	c->vers = nx_u32(x);
	c->proc = nx_u32(x);
	c->cred.flavor = nx_u32(x);
	n = nx_opaque_view(x, NR_AUTH_MAX_BODY, &body);
	if (x->err)
		return -EPROTO;
	if (c->cred.flavor == NR_AUTH_SYS) {
		if (decode_auth_sys(body, n, &c->cred))
			return -EACCES;
	} else {
		c->cred.flavor = NR_AUTH_NONE; /* any other flavor: treated as nobody */
		c->cred.uid = c->cred.gid = 65534;
	}
	nx_u32(x); /* verifier flavor */
	nx_opaque_view(x, NR_AUTH_MAX_BODY, &body);
	return x->err ? -EPROTO : 0;
}

static void put_reply_head(struct nx_out *o, uint32_t xid, uint32_t stat)
{
	nx_put_u32(o, 0); /* record mark, filled in when sent */
	nx_put_u32(o, xid);
	nx_put_u32(o, NR_REPLY);
	nx_put_u32(o, stat);
}

void rpc_put_accepted(struct nx_out *o, uint32_t xid, uint32_t stat)
{
	put_reply_head(o, xid, NR_MSG_ACCEPTED);
	nx_put_u32(o, NR_AUTH_NONE);
	nx_put_u32(o, 0);
	nx_put_u32(o, stat);
}

void rpc_put_denied(struct nx_out *o, uint32_t xid, uint32_t reject, uint32_t auth_stat)
{
	put_reply_head(o, xid, NR_MSG_DENIED);
	nx_put_u32(o, reject);
	if (reject == NR_MISMATCH) {
		nx_put_u32(o, NR_VERS);
		nx_put_u32(o, NR_VERS);
	} else {
		nx_put_u32(o, auth_stat);
	}
}

int mnt3_decode_path(struct nx_in *x, char path[MNT3_PATH_MAX + 1])
{
	nx_string(x, path, MNT3_PATH_MAX);
	return x->err ? -EPROTO : 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void nfs_fh_encode(const struct nfs_handle *h, struct nfs_fh3 *fh)
{
	memset(fh, 0, sizeof(*fh));
	fh->len = NFS_FH_LEN;
	fh->data[0] = NFS_FH_VERSION;
	put_be(fh->data + 4, h->vol, 4);
	put_be(fh->data + 8, h->ino, 8);
	put_be(fh->data + 16, h->gen, 8);
}

int nfs_fh_decode(const struct nfs_fh3 *fh, struct nfs_handle *h)
{
	if (fh->len != NFS_FH_LEN || fh->data[0] != NFS_FH_VERSION || fh->data[1] || fh->data[2] ||
	    fh->data[3])
		return -EBADMSG;
	h->vol = (uint32_t)get_be(fh->data + 4, 4);
	h->ino = get_be(fh->data + 8, 8);
	h->gen = get_be(fh->data + 16, 8);
	return h->ino ? 0 : -EBADMSG;
}

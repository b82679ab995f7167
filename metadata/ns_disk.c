/* Layout ops for block volumes (VM disks, gateways/nbd): punching holes (NBD trim and zero) and
 * cloning a file's layout (instant copy-on-write clones and snapshots). Both are one raft entry
 * each and touch only layout records, chunk references and usage: no data moves. */
#include "common/errors.h"
#include "metadata/ns.h"
#include "metadata/ns_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A regular file of a volume the caller may use. */
static int file_get(struct op *o, uint32_t vid, uint64_t ino, struct inode *in)
{
	int rc = inode_get(o, vid, ino, in);

	if (rc)
		return rc;
	if (S_ISDIR(in->a.mode))
		return -GL_EISDIR;
	return S_ISREG(in->a.mode) ? 0 : -GL_EINVAL;
}

static void account(struct gl_ns_vol *v, struct inode *in, int64_t bytes)
{
	int64_t blocks = (int64_t)in->a.blocks + bytes / 512;

	v->used_bytes = (uint64_t)((int64_t)v->used_bytes + bytes);
	in->a.blocks = blocks < 0 ? 0 : (uint64_t)blocks;
}

static int op_punch(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vid = gl_get_u32(r);
	uint64_t ino = gl_get_u64(r), off = gl_get_u64(r), len = gl_get_u64(r), end;
	struct refs rf = {0};
	struct gl_ns_vol v;
	struct inode in;
	int64_t bytes = 0;
	int rc;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if (len == 0 || off + len < off || off + len > GL_NS_MAX_FILE_SIZE)
		return -GL_EINVAL;
	if ((rc = vol_access(o, vid, &v)) || (rc = file_get(o, vid, ino, &in)))
		return rc;
	end = off + len;
	if (end > in.a.size)
		end = in.a.size;
	for (uint64_t s = off / GL_NS_SLICE; s * GL_NS_SLICE < end && !rc; s++) {
		struct extents x = {0};
		uint32_t before;

		rc = slice_get(o, vid, ino, s, &x);
		before = x.n;
		if (!rc && x.n)
			rc = cut_range(&x, off, end, &rf, &bytes);
		if (!rc && (before || x.n))
			slice_put(o, vid, ino, s, &x);
		free(x.e);
	}
	if (!rc)
		rc = refs_commit(o, &rf);
	free(rf.r);
	if (rc)
		return rc;
	account(&v, &in, bytes);
	in.a.mtime_ns = in.a.ctime_ns = o->now;
	inode_put(o, vid, &in);
	vol_put(o, &v);
	gl_ns_attr_put(reply, &in.a);
	return 0;
}

struct clone {
	struct op *o;
	uint32_t vol;
	uint64_t dst;
	struct refs rf;
	int64_t bytes;
	int rc;
};

static int clone_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct clone *c = arg;
	struct gl_rbuf r;
	uint32_t n;
	uint8_t nk[32];

	if (kl != 21)
		return 0;
	gl_rbuf_init(&r, v, vl);
	n = gl_get_u32(&r);
	for (uint32_t i = 0; i < n && !c->rc && !gl_rbuf_check(&r); i++) {
		struct gl_ns_extent e;

		gl_ns_extent_get(&r, &e);
		c->rc = ref_add(&c->rf, e.pool, e.chunk, 1);
		c->bytes += e.len;
	}
	if (!c->rc && (gl_rbuf_check(&r) || gl_rbuf_left(&r)))
		c->rc = -GL_ECORRUPT;
	if (!c->rc)
		op_put(c->o, nk, k_slice(nk, c->vol, c->dst, rdbe64(k + 13)), v, vl);
	return c->rc;
}

static int op_clone(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vid = gl_get_u32(r);
	uint64_t src = gl_get_u64(r), dst = gl_get_u64(r);
	struct clone c = {o, vid, dst, {0}, 0, 0};
	struct gl_ns_vol v;
	struct inode sin, din;
	uint8_t p[32];
	size_t pl;
	int64_t dropped = 0;
	int rc;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if (src == dst)
		return -GL_EINVAL;
	if ((rc = vol_access(o, vid, &v)) || (rc = file_get(o, vid, src, &sin)) ||
	    (rc = file_get(o, vid, dst, &din)))
		return rc;
	/* dst's own layout goes first (its records are rewritten below through the overlay) */
	rc = layout_truncate(o, vid, dst, 0, &c.rf, &dropped);
	if (!rc) {
		pl = k_prefix(p, 'l', vid, src);
		op_scan(o, p, pl, NULL, 0, clone_cb, &c);
		rc = c.rc;
	}
	if (!rc && c.bytes + dropped > 0 && v.policy.quota_bytes &&
	    v.used_bytes + (uint64_t)(c.bytes + dropped) > v.policy.quota_bytes)
		rc = -GL_EDQUOT;
	if (!rc)
		rc = refs_commit(o, &c.rf);
	free(c.rf.r);
	if (rc)
		return rc;
	v.used_bytes = (uint64_t)((int64_t)v.used_bytes + c.bytes + dropped);
	din.a.blocks = sin.a.blocks;
	din.a.size = sin.a.size;
	din.a.mtime_ns = din.a.ctime_ns = o->now;
	inode_put(o, vid, &din);
	vol_put(o, &v);
	gl_ns_attr_put(reply, &din.a);
	return 0;
}

/* ---- block-level dedup: NS_WRITE's dedup tail and NS_DEDUP_GET ---- */

#define IDX_ENT (32 + 4 + 32 + 4 + 4) /* hash, pool, chunk, chunk_len, chunk_off */

static size_t k_block(uint8_t *k, uint32_t vol, const uint8_t *hash)
{
	k[0] = 'b';
	be32(k + 1, vol);
	memcpy(k + 5, hash, 32);
	return 37;
}

static size_t k_blist(uint8_t *k, uint32_t vol, uint32_t pool, const uint8_t *chunk)
{
	k[0] = 'B';
	be32(k + 1, vol);
	be32(k + 5, pool);
	memcpy(k + 9, chunk, 32);
	return 41;
}

/* The references this shard holds on a chunk (through the op's overlay). */
static uint64_t refs_held(struct op *o, uint32_t pool, const uint8_t *id)
{
	uint8_t k[40], *v;
	size_t vl;
	uint64_t n = 0;

	if (op_get(o, k, k_ref(k, pool, id), &v, &vl) == 0) {
		n = vl == 8 ? gl_rd64(v) : 0;
		free(v);
	}
	return n;
}

int wtail_parse(struct gl_rbuf *r, struct wtail *t)
{
	memset(t, 0, sizeof(*t));
	if (!gl_rbuf_left(r))
		return 0;
	t->ncut = gl_get_u32(r);
	if (t->ncut > GL_NS_MAX_EXTENTS || gl_rbuf_check(r))
		return -GL_EPROTO;
	t->cut = gl_get_bytes(r, (size_t)t->ncut * 16);
	t->nneed = gl_get_u32(r);
	if (t->nneed > GL_NS_MAX_EXTENTS || gl_rbuf_check(r))
		return -GL_EPROTO;
	t->need = gl_get_bytes(r, (size_t)t->nneed * 36);
	t->nidx = gl_get_u32(r);
	if (t->nidx > GL_NS_DEDUP_MAX || gl_rbuf_check(r))
		return -GL_EPROTO;
	t->idx = gl_get_bytes(r, (size_t)t->nidx * IDX_ENT);
	t->nlist = gl_get_u32(r);
	if (t->nlist > GL_NS_MAX_EXTENTS || gl_rbuf_check(r))
		return -GL_EPROTO;
	t->lists = gl_rbuf_left(r) ? r->p + r->off : NULL;
	for (uint32_t i = 0; i < t->nlist; i++) {
		uint32_t nb;

		gl_get_u32(r);
		gl_get_bytes(r, 32);
		nb = gl_get_u32(r);
		if (gl_rbuf_check(r) || nb == 0 || nb > GL_NS_SLICE / GL_NS_DEDUP_BLOCK)
			return -GL_EPROTO;
		gl_get_bytes(r, (size_t)nb * 32);
	}
	if (gl_rbuf_check(r) || gl_rbuf_left(r))
		return -GL_EPROTO;
	for (uint32_t i = 0; i < t->ncut; i++) {
		uint64_t off = gl_rd64(t->cut + i * 16), len = gl_rd64(t->cut + i * 16 + 8);

		if (len == 0 || off + len < off || off + len > GL_NS_MAX_FILE_SIZE)
			return -GL_EINVAL;
	}
	return 0;
}

int wtail_check(struct op *o, const struct gl_ns_vol *v, const struct wtail *t,
		const struct gl_ns_extent *ex, uint32_t n)
{
	uint32_t j = 0;

	const uint8_t *l = t->lists;

	if ((t->nidx || t->nlist) && !v->policy.dedup)
		return -GL_EINVAL;
	/* each block list of a chunk an extent of this op points into, and no longer than it */
	for (uint32_t i = 0; i < t->nlist; i++) {
		uint32_t pool = gl_rd32(l), nb = gl_rd32(l + 36), k;

		for (k = 0; k < n; k++)
			if (ex[k].pool == pool && !memcmp(ex[k].chunk, l + 4, 32))
				break;
		if (k == n || (uint64_t)nb * GL_NS_DEDUP_BLOCK > ex[k].chunk_len)
			return -GL_EINVAL;
		l += 40 + (size_t)nb * 32;
	}
	for (uint32_t i = 0; i < t->nneed; i++)
		if (!refs_held(o, gl_rd32(t->need + i * 36), t->need + i * 36 + 4))
			return -GL_ENOREF;
	/* each index entry inside an extent of this op, in extent order */
	for (uint32_t i = 0; i < t->nidx; i++) {
		const uint8_t *x = t->idx + (size_t)i * IDX_ENT;
		uint32_t pool = gl_rd32(x + 32), clen = gl_rd32(x + 68), coff = gl_rd32(x + 72);

		for (; j < n; j++) {
			const struct gl_ns_extent *e = &ex[j];

			if (e->pool == pool && e->chunk_len == clen &&
			    !memcmp(e->chunk, x + 36, 32) && coff >= e->chunk_off &&
			    (uint64_t)coff + GL_NS_DEDUP_BLOCK <= (uint64_t)e->chunk_off + e->len)
				break;
		}
		if (j == n)
			return -GL_EINVAL;
	}
	return 0;
}

int wtail_cut(struct op *o, uint32_t vid, uint64_t ino, const struct wtail *t, struct refs *rf,
	      int64_t *bytes)
{
	int rc = 0;

	for (uint32_t i = 0; i < t->ncut && !rc; i++) {
		uint64_t a = gl_rd64(t->cut + i * 16), b = a + gl_rd64(t->cut + i * 16 + 8);

		for (uint64_t s = a / GL_NS_SLICE; s * GL_NS_SLICE < b && !rc; s++) {
			struct extents x = {0};
			uint32_t before;

			rc = slice_get(o, vid, ino, s, &x);
			before = x.n;
			if (!rc && x.n)
				rc = cut_range(&x, a, b, rf, bytes);
			if (!rc && before != x.n)
				slice_put(o, vid, ino, s, &x);
			free(x.e);
		}
	}
	return rc;
}

void wtail_index(struct op *o, uint32_t vid, const struct wtail *t)
{
	for (uint32_t i = 0; i < t->nidx; i++) {
		const uint8_t *x = t->idx + (size_t)i * IDX_ENT;
		uint8_t k[40];

		op_put(o, k, k_block(k, vid, x), x + 32, IDX_ENT - 32);
	}
	for (uint32_t i = 0, at = 0; i < t->nlist; i++) {
		const uint8_t *l = t->lists + at;
		uint32_t nb = gl_rd32(l + 36);
		uint8_t k[48];

		op_put(o, k, k_blist(k, vid, gl_rd32(l), l + 4), l + 36, 4 + (size_t)nb * 32);
		at += 40 + nb * 32;
	}
}

static int dedup_get(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vid = gl_get_u32(r), n = gl_get_u32(r);
	struct gl_ns_vol v;
	int rc;

	if (gl_rbuf_check(r) || n > GL_NS_DEDUP_MAX || gl_rbuf_left(r) != (size_t)n * 32)
		return -GL_EPROTO;
	if ((rc = vol_access(o, vid, &v)))
		return rc;
	gl_put_u32(reply, n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *h = gl_get_bytes(r, 32);
		uint8_t k[40], *val;
		size_t vl;

		if (op_get(o, k, k_block(k, vid, h), &val, &vl) == 0) {
			if (vl == IDX_ENT - 32 && refs_held(o, gl_rd32(val), val + 4)) {
				gl_put_u8(reply, 1);
				gl_put_bytes(reply, val, vl);
				free(val);
				continue;
			}
			free(val);
		}
		gl_put_u8(reply, 0);
	}
	return 0;
}

static int dedup_list(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vid = gl_get_u32(r), n = gl_get_u32(r);
	struct gl_ns_vol v;
	int rc;

	if (gl_rbuf_check(r) || n > GL_NS_DEDUP_LISTS || gl_rbuf_left(r) != (size_t)n * 36)
		return -GL_EPROTO;
	if ((rc = vol_access(o, vid, &v)))
		return rc;
	gl_put_u32(reply, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pool = gl_get_u32(r);
		const uint8_t *id = gl_get_bytes(r, 32);
		uint8_t k[48], *val;
		size_t vl;

		if (refs_held(o, pool, id) &&
		    op_get(o, k, k_blist(k, vid, pool, id), &val, &vl) == 0) {
			if (vl >= 4 && vl == 4 + (size_t)gl_rd32(val) * 32) {
				gl_put_bytes(reply, val, vl);
				free(val);
				continue;
			}
			free(val);
		}
		gl_put_u32(reply, 0);
	}
	return 0;
}

int ns_disk_read(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	switch (opc) {
	case GL_NS_DEDUP_GET:
		return dedup_get(o, r, reply);
	case GL_NS_DEDUP_LIST:
		return dedup_list(o, r, reply);
	default:
		return -GL_EBADOP;
	}
}

int ns_disk_apply(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	switch (opc) {
	case GL_NS_PUNCH:
		return op_punch(o, r, reply);
	case GL_NS_CLONE:
		return op_clone(o, r, reply);
	default:
		return -GL_EBADOP;
	}
}

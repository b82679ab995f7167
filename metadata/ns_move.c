/* Moving a volume between metadata shards: the steps of ns.h ("Moving a volume"), each one
 * deterministic and idempotent, and the paged export a move copies the volume with. */
#include "metadata/ns_internal.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

/* The record types that belong to one volume ("type" u32 vol ...), in key order. */
static const char vol_types[] = "BVbdeilnox";

static size_t k_move(uint8_t *k, uint32_t vol)
{
	k[0] = 'm';
	be32(k + 1, vol);
	return 5;
}

int move_state(struct op *o, uint32_t vol, uint32_t *shard)
{
	uint8_t k[8], *v;
	size_t vl;
	int st = 0;

	if (op_get(o, k, k_move(k, vol), &v, &vl) == 0) {
		if (vl == 5) {
			st = v[0];
			if (shard)
				*shard = gl_rd32(v + 1);
		}
		free(v);
	}
	return st;
}

static void move_put(struct op *o, uint32_t vol, int st, uint32_t shard)
{
	uint8_t k[8], v[5];

	v[0] = (uint8_t)st;
	gl_le32(v + 1, shard);
	op_put(o, k, k_move(k, vol), v, 5);
}

static int lives_here(struct op *o, uint32_t vol)
{
	struct inode root;

	return inode_get(o, vol, GL_NS_ROOT, &root) == 0;
}

/* Whether this shard holds the catalog record of the volume. */
static int catalog_here(struct op *o, const struct gl_ns_vol *v)
{
	uint8_t k[KEY_MAX], *val;
	size_t vl;
	int here = 0;

	if (op_get(o, k, k_catalog(k, v->tenant, v->name), &val, &vl) == 0) {
		here = vl == 4 && gl_rd32(val) == v->id;
		free(val);
	}
	return here;
}

/* Drops the volume's records here; keeps its "V" record (the catalog's, pointing where the
 * catalog says) when the catalog is here too. */
static int drop_copy(struct op *o, uint32_t vol)
{
	struct gl_ns_vol v;
	uint8_t k[8];
	int rc;

	if (vol_get(o, vol, &v) != 0)
		return 0; /* nothing left of it here */
	if ((rc = vol_wipe(o, &v)))
		return rc;
	if (catalog_here(o, &v)) {
		v.used_bytes = v.used_inodes = 0;
		vol_put(o, &v);
	} else {
		op_del(o, k, k_vol(k, vol));
	}
	return 0;
}

static int move_step(struct op *o, struct gl_rbuf *r)
{
	uint32_t vol = gl_get_u32(r), other = 0;
	uint8_t stage = gl_get_u8(r);
	uint32_t shard = gl_get_u32(r);
	struct gl_ns_vol v;
	uint8_t k[8];
	int st, rc;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if (o->tenant)
		return -GL_EPERM;
	st = move_state(o, vol, &other);
	switch (stage) {
	case GL_NS_MOVE_FREEZE:
		if ((st == GL_NS_MOVE_FREEZE || st == GL_NS_MOVE_GONE) && other == shard)
			return 0; /* done before */
		if (st || !lives_here(o, vol))
			return st ? -GL_EBUSY : -GL_ENOENT;
		move_put(o, vol, GL_NS_MOVE_FREEZE, shard);
		return 0;
	case GL_NS_MOVE_GONE:
		if (st == GL_NS_MOVE_GONE && other == shard)
			return 0;
		if (st != GL_NS_MOVE_FREEZE || other != shard)
			return -GL_EINVAL; /* not frozen for this move */
		move_put(o, vol, GL_NS_MOVE_GONE, shard);
		return 0;
	case GL_NS_MOVE_RELEASE:
		if (st != GL_NS_MOVE_GONE || other != shard)
			return -GL_EINVAL;
		return drop_copy(o, vol);
	case GL_NS_MOVE_IN_BEGIN:
		if (st != GL_NS_MOVE_IN_BEGIN && lives_here(o, vol) && st != GL_NS_MOVE_GONE)
			return -GL_EEXIST; /* it lives here already */
		if (st == GL_NS_MOVE_GONE && lives_here(o, vol))
			return -GL_EBUSY; /* moved away from here, not released yet */
		if ((rc = drop_copy(o, vol)))
			return rc;
		move_put(o, vol, GL_NS_MOVE_IN_BEGIN, shard);
		return 0;
	case GL_NS_MOVE_IN_END:
		if (st == 0 && lives_here(o, vol))
			return 0;
		if (st != GL_NS_MOVE_IN_BEGIN || !lives_here(o, vol) || vol_get(o, vol, &v))
			return -GL_EINVAL; /* nothing (complete) imported */
		op_del(o, k, k_move(k, vol));
		return 0;
	case GL_NS_MOVE_CATALOG:
		if ((rc = vol_get(o, vol, &v)))
			return rc;
		if (!catalog_here(o, &v))
			return -GL_ENOENT;
		v.shard = shard;
		vol_put(o, &v);
		return 0;
	case GL_NS_MOVE_UNLIST:
		if (vol_get(o, vol, &v))
			return 0;
		if (lives_here(o, vol) && st != GL_NS_MOVE_GONE)
			return -GL_EBUSY; /* the volume itself is here: NS_VOL_RM it */
		if ((rc = drop_copy(o, vol)))
			return rc;
		op_del(o, k, k_vol(k, vol));
		op_del(o, k, k_move(k, vol));
		{
			uint8_t ck[KEY_MAX];

			op_del(o, ck, k_catalog(ck, v.tenant, v.name));
		}
		return 0;
	default:
		return -GL_EINVAL;
	}
}

static int import_records(struct op *o, struct gl_rbuf *r)
{
	uint32_t vol = gl_get_u32(r), shard = gl_get_u32(r), n = gl_get_u32(r);
	uint32_t other;
	int rc = 0;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if (o->tenant)
		return -GL_EPERM;
	if (move_state(o, vol, &other) != GL_NS_MOVE_IN_BEGIN || other != shard)
		return -GL_EINVAL; /* not importing */
	for (uint32_t i = 0; i < n && !rc; i++) {
		uint16_t kl = gl_get_u16(r);
		const uint8_t *k = gl_get_bytes(r, kl);
		uint32_t vl = gl_get_u32(r);
		const uint8_t *v = gl_get_bytes(r, vl);

		if (gl_rbuf_check(r) || !k || !v || kl < 5 || kl > KEY_MAX ||
		    !memchr(vol_types, k[0], sizeof(vol_types) - 1) || rdbe32(k + 1) != vol)
			return -GL_EPROTO; /* not a record of this volume */
		if (k[0] == 'V') {
			struct gl_ns_vol nv;
			struct gl_rbuf vr;

			gl_rbuf_init(&vr, v, vl);
			gl_ns_vol_get(&vr, &nv);
			if (gl_rbuf_check(&vr) || nv.id != vol || kl != 5)
				return -GL_EPROTO;
			struct gl_ns_vol have;

			/* where it lives: this shard, or what the catalog says if it is here */
			nv.shard = vol_get(o, vol, &have) == 0 ? have.shard : shard;
			vol_put(o, &nv);
			continue;
		}
		if (k[0] == 'l')
			rc = slice_refs(o, v, vl, 1);
		op_put(o, k, kl, v, vl);
	}
	return rc;
}

int ns_move_apply(struct op *o, uint16_t opc, struct gl_rbuf *r)
{
	return opc == GL_NS_VOL_MOVE ? move_step(o, r) : import_records(o, r);
}

struct export
{
	struct gl_wbuf *out;
	const uint8_t *after;
	size_t al;
	uint32_t max, n;
	size_t bytes;
	int full;
};

static int export_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct export *x = arg;

	if (x->al == kl && memcmp(k, x->after, kl) == 0)
		return 0; /* the last one of the previous page */
	if (x->n > 0 && x->bytes + kl + vl + 6 > x->max) {
		x->full = 1;
		return 1;
	}
	gl_put_u16(x->out, (uint16_t)kl);
	gl_put_bytes(x->out, k, kl);
	gl_put_u32(x->out, (uint32_t)vl);
	gl_put_bytes(x->out, v, vl);
	x->bytes += kl + vl + 6;
	x->n++;
	return 0;
}

static int export_page(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vol = gl_get_u32(r), other;
	uint16_t al = gl_get_u16(r);
	const uint8_t *after = gl_get_bytes(r, al);
	uint32_t max = gl_get_u32(r);
	struct export x = {0};
	struct gl_wbuf recs;
	int st;

	if (gl_rbuf_check(r) || (al && !after))
		return -GL_EPROTO;
	if (o->tenant)
		return -GL_EPERM;
	st = move_state(o, vol, &other);
	if (st != GL_NS_MOVE_FREEZE && st != GL_NS_MOVE_GONE)
		return -GL_EBUSY; /* only a frozen volume stands still */
	gl_wbuf_init(&recs);
	x.out = &recs;
	x.after = after;
	x.al = al;
	x.max = max && max < GL_NS_EXPORT_MAX ? max : GL_NS_EXPORT_MAX;
	for (const char *t = vol_types; *t && !x.full; t++) {
		uint8_t p[8];

		p[0] = (uint8_t)*t;
		be32(p + 1, vol);
		if (al && memcmp(after, p, al < 5 ? al : 5) > 0)
			continue; /* this type was exported in earlier pages */
		if (al >= 5 && memcmp(after, p, 5) == 0)
			op_scan(o, p, 5, after, al, export_cb, &x);
		else
			op_scan(o, p, 5, NULL, 0, export_cb, &x);
	}
	gl_put_u8(reply, x.full ? 0 : 1);
	gl_put_u32(reply, x.n);
	gl_put_bytes(reply, recs.p, recs.len);
	gl_wbuf_free(&recs);
	return reply->err;
}

int ns_move_read(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	struct gl_ns_vol v;
	uint32_t vol;
	int rc;

	if (opc == GL_NS_VOL_EXPORT)
		return export_page(o, r, reply);
	vol = gl_get_u32(r);
	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if ((rc = vol_get(o, vol, &v)))
		return rc;
	if (o->tenant && v.tenant != o->tenant)
		return -GL_ENOENT;
	gl_put_u32(reply, v.shard);
	return 0;
}

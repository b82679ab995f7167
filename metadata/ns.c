/* The namespace state machine: codecs, keys, the per-op overlay, the catalog (tenants, keys,
 * volumes), dispatch and the dump. The POSIX tree and layouts are in ns_tree.c. */
#include "metadata/ns.h"

#include "common/compiler.h"
#include "common/errors.h"
#include "common/rpc.h"
#include "metadata/ns_internal.h"
#include "metadata/rsm.h"
#include "storage/stripe.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- codecs ---- */

void gl_ns_attr_put(struct gl_wbuf *b, const struct gl_ns_attr *a)
{
	gl_put_u64(b, a->ino);
	gl_put_u32(b, a->mode);
	gl_put_u32(b, a->uid);
	gl_put_u32(b, a->gid);
	gl_put_u32(b, a->nlink);
	gl_put_u64(b, a->size);
	gl_put_u64(b, a->rdev);
	gl_put_u64(b, (uint64_t)a->atime_ns);
	gl_put_u64(b, (uint64_t)a->mtime_ns);
	gl_put_u64(b, (uint64_t)a->ctime_ns);
	gl_put_u64(b, (uint64_t)a->btime_ns);
	gl_put_u64(b, a->blocks);
}

void gl_ns_attr_get(struct gl_rbuf *r, struct gl_ns_attr *a)
{
	a->ino = gl_get_u64(r);
	a->mode = gl_get_u32(r);
	a->uid = gl_get_u32(r);
	a->gid = gl_get_u32(r);
	a->nlink = gl_get_u32(r);
	a->size = gl_get_u64(r);
	a->rdev = gl_get_u64(r);
	a->atime_ns = (int64_t)gl_get_u64(r);
	a->mtime_ns = (int64_t)gl_get_u64(r);
	a->ctime_ns = (int64_t)gl_get_u64(r);
	a->btime_ns = (int64_t)gl_get_u64(r);
	a->blocks = gl_get_u64(r);
}

void gl_ns_policy_put(struct gl_wbuf *b, const struct gl_ns_policy *p)
{
	gl_put_u32(b, p->pool);
	gl_put_u8(b, p->dedup);
	gl_put_u64(b, p->quota_bytes);
	gl_put_u64(b, p->quota_inodes);
}

void gl_ns_policy_get(struct gl_rbuf *r, struct gl_ns_policy *p)
{
	p->pool = gl_get_u32(r);
	p->dedup = gl_get_u8(r);
	p->quota_bytes = gl_get_u64(r);
	p->quota_inodes = gl_get_u64(r);
}

void gl_ns_vol_put(struct gl_wbuf *b, const struct gl_ns_vol *v)
{
	gl_put_u32(b, v->id);
	gl_put_u32(b, v->tenant);
	gl_put_str(b, v->name);
	gl_put_u32(b, v->shard);
	gl_ns_policy_put(b, &v->policy);
	gl_put_u64(b, v->used_bytes);
	gl_put_u64(b, v->used_inodes);
	gl_put_u64(b, (uint64_t)v->ctime_ns);
}

void gl_ns_vol_get(struct gl_rbuf *r, struct gl_ns_vol *v)
{
	v->id = gl_get_u32(r);
	v->tenant = gl_get_u32(r);
	gl_get_str(r, v->name, sizeof(v->name));
	v->shard = gl_get_u32(r);
	gl_ns_policy_get(r, &v->policy);
	v->used_bytes = gl_get_u64(r);
	v->used_inodes = gl_get_u64(r);
	v->ctime_ns = (int64_t)gl_get_u64(r);
}

void gl_ns_extent_put(struct gl_wbuf *b, const struct gl_ns_extent *e)
{
	gl_put_u64(b, e->off);
	gl_put_u32(b, e->len);
	gl_put_u32(b, e->pool);
	gl_put_bytes(b, e->chunk, 32);
	gl_put_u32(b, e->chunk_len);
	gl_put_u32(b, e->chunk_off);
}

void gl_ns_extent_get(struct gl_rbuf *r, struct gl_ns_extent *e)
{
	e->off = gl_get_u64(r);
	e->len = gl_get_u32(r);
	e->pool = gl_get_u32(r);
	gl_get_copy(r, e->chunk, 32);
	e->chunk_len = gl_get_u32(r);
	e->chunk_off = gl_get_u32(r);
}

void gl_ns_hdr_put(struct gl_wbuf *b, uint16_t op, uint32_t tenant, int64_t now_ns)
{
	gl_put_u16(b, op);
	gl_put_u32(b, tenant);
	gl_put_u64(b, (uint64_t)now_ns);
}

int gl_ns_op_kind(uint16_t op)
{
	switch (op) {
#define GL_NS_W(name, code)                                                                        \
	case code:                                                                                 \
		return 0;
		GL_NS_WRITE_OPS(GL_NS_W)
#undef GL_NS_W
#define GL_NS_R(name, code)                                                                        \
	case code:                                                                                 \
		return 1;
		GL_NS_READ_OPS(GL_NS_R)
#undef GL_NS_R
	default:
		return -1;
	}
}

const char *gl_ns_op_name(uint16_t op)
{
	switch (op) {
#define GL_NS_N(name, code)                                                                        \
	case code:                                                                                 \
		return #name;
		GL_NS_WRITE_OPS(GL_NS_N)
		GL_NS_READ_OPS(GL_NS_N)
#undef GL_NS_N
	default:
		return "?";
	}
}

/* ---- keys ---- */

void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

uint32_t rdbe32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t rdbe64(const uint8_t *p)
{
	return (uint64_t)rdbe32(p) << 32 | rdbe32(p + 4);
}

static size_t k_vi(uint8_t *k, char t, uint32_t vol, uint64_t ino)
{
	k[0] = (uint8_t)t;
	be32(k + 1, vol);
	be64(k + 5, ino);
	return 13;
}

size_t k_prefix(uint8_t *k, char type, uint32_t vol, uint64_t ino)
{
	return k_vi(k, type, vol, ino);
}

size_t k_inode(uint8_t *k, uint32_t vol, uint64_t ino)
{
	return k_vi(k, 'i', vol, ino);
}

size_t k_dent(uint8_t *k, uint32_t vol, uint64_t dir, const char *name)
{
	size_t n = strlen(name);

	k_vi(k, 'd', vol, dir);
	memcpy(k + 13, name, n);
	return 13 + n;
}

size_t k_dord(uint8_t *k, uint32_t vol, uint64_t dir, uint64_t cookie)
{
	k_vi(k, 'e', vol, dir);
	be64(k + 13, cookie);
	return 21;
}

size_t k_xattr(uint8_t *k, uint32_t vol, uint64_t ino, const char *name)
{
	size_t n = strlen(name);

	k_vi(k, 'x', vol, ino);
	memcpy(k + 13, name, n);
	return 13 + n;
}

size_t k_slice(uint8_t *k, uint32_t vol, uint64_t ino, uint64_t slice)
{
	k_vi(k, 'l', vol, ino);
	be64(k + 13, slice);
	return 21;
}

size_t k_orphan(uint8_t *k, uint32_t vol, uint64_t ino)
{
	return k_vi(k, 'o', vol, ino);
}

size_t k_vol(uint8_t *k, uint32_t vol)
{
	k[0] = 'V';
	be32(k + 1, vol);
	return 5;
}

size_t k_nextino(uint8_t *k, uint32_t vol)
{
	k[0] = 'n';
	be32(k + 1, vol);
	return 5;
}

size_t k_ref(uint8_t *k, uint32_t pool, const uint8_t *chunk)
{
	k[0] = 'r';
	be32(k + 1, pool);
	memcpy(k + 5, chunk, 32);
	return 37;
}

static size_t k_str(uint8_t *k, char t, const char *s)
{
	size_t n = strlen(s);

	k[0] = (uint8_t)t;
	memcpy(k + 1, s, n);
	return 1 + n;
}

static size_t k_tid(uint8_t *k, uint32_t id)
{
	k[0] = 'T';
	be32(k + 1, id);
	return 5;
}

size_t k_catalog(uint8_t *k, uint32_t tenant, const char *name)
{
	size_t n = strlen(name);

	k[0] = 'v';
	be32(k + 1, tenant);
	memcpy(k + 5, name, n);
	return 5 + n;
}

/* ---- the overlay ---- */

static rocksdb_readoptions_t *shared_ro;
static pthread_once_t ro_once = PTHREAD_ONCE_INIT;

static void ro_make(void)
{
	shared_ro = rocksdb_readoptions_create(); /* shared by every thread, never freed */
}

int op_get(struct op *o, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl)
{
	char *err = NULL, *dv;

	for (int i = o->n - 1; i >= 0; i--) {
		struct ovl_ent *e = &o->ovl[i];

		if (e->kl == kl && memcmp(e->k, k, kl) == 0) {
			if (!e->v)
				return -GL_ENOENT;
			*v = malloc(e->vl ? e->vl : 1);
			if (!*v)
				return -GL_ENOMEM;
			memcpy(*v, e->v, e->vl);
			*vl = e->vl;
			return 0;
		}
	}
	pthread_once(&ro_once, ro_make);
	dv = rocksdb_get(o->db, shared_ro, (const char *)k, kl, vl, &err);
	if (err) {
		rocksdb_free(err);
		return -GL_EDB;
	}
	if (!dv)
		return -GL_ENOENT;
	*v = malloc(*vl ? *vl : 1);
	if (!*v) {
		rocksdb_free(dv);
		return -GL_ENOMEM;
	}
	memcpy(*v, dv, *vl);
	rocksdb_free(dv);
	return 0;
}

static void ovl_add(struct op *o, const uint8_t *k, size_t kl, const void *v, size_t vl, int del)
{
	struct ovl_ent *e;

	if (o->n == o->cap) {
		int ncap = o->cap ? o->cap * 2 : 16;
		struct ovl_ent *n = realloc(o->ovl, (size_t)ncap * sizeof(*n));

		if (!n)
			abort(); /* a half-applied op must never be written */
		o->ovl = n;
		o->cap = ncap;
	}
	e = &o->ovl[o->n];
	e->k = malloc(kl);
	e->v = del ? NULL : malloc(vl ? vl : 1);
	if (!e->k || (!del && !e->v))
		abort();
	memcpy(e->k, k, kl);
	e->kl = kl;
	if (!del)
		memcpy(e->v, v, vl);
	e->vl = vl;
	o->n++;
}

void op_put(struct op *o, const uint8_t *k, size_t kl, const void *v, size_t vl)
{
	ovl_add(o, k, kl, v, vl, 0);
	if (o->wb)
		rocksdb_writebatch_put(o->wb, (const char *)k, kl, v, vl);
}

void op_del(struct op *o, const uint8_t *k, size_t kl)
{
	ovl_add(o, k, kl, NULL, 0, 1);
	if (o->wb)
		rocksdb_writebatch_delete(o->wb, (const char *)k, kl);
}

void op_free(struct op *o)
{
	for (int i = 0; i < o->n; i++) {
		free(o->ovl[i].k);
		free(o->ovl[i].v);
	}
	free(o->ovl);
	o->ovl = NULL;
	o->n = o->cap = 0;
}

int op_scan(struct op *o, const uint8_t *prefix, size_t pl, const uint8_t *start, size_t sl,
	    int (*fn)(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl),
	    void *arg)
{
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_iterator_t *it = rocksdb_create_iterator(o->db, ro);
	int rc = 0;

	for (rocksdb_iter_seek(it, (const char *)(start ? start : prefix), start ? sl : pl);
	     rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
		const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);

		if (kl < pl || memcmp(k, prefix, pl) != 0)
			break;
		rc = fn(arg, k, kl, v, vl);
		if (rc)
			break;
	}
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	return rc;
}

/* ---- records ---- */

static void inode_encode(struct gl_wbuf *b, const struct inode *in)
{
	gl_ns_attr_put(b, &in->a);
	gl_put_u64(b, in->parent);
	gl_put_u64(b, in->next_cookie);
	gl_put_str(b, in->target);
}

static int inode_decode(const uint8_t *v, size_t vl, struct inode *in)
{
	struct gl_rbuf r;

	gl_rbuf_init(&r, v, vl);
	gl_ns_attr_get(&r, &in->a);
	in->parent = gl_get_u64(&r);
	in->next_cookie = gl_get_u64(&r);
	gl_get_str(&r, in->target, sizeof(in->target));
	return gl_rbuf_check(&r) ? -GL_ECORRUPT : 0;
}

int inode_get(struct op *o, uint32_t vol, uint64_t ino, struct inode *in)
{
	uint8_t k[KEY_MAX], *v;
	size_t vl;
	int rc = op_get(o, k, k_inode(k, vol, ino), &v, &vl);

	if (rc)
		return rc;
	rc = inode_decode(v, vl, in);
	free(v);
	return rc;
}

void inode_put(struct op *o, uint32_t vol, const struct inode *in)
{
	uint8_t k[KEY_MAX];
	struct gl_wbuf b;

	gl_wbuf_init(&b);
	inode_encode(&b, in);
	if (b.err)
		abort();
	op_put(o, k, k_inode(k, vol, in->a.ino), b.p, b.len);
	gl_wbuf_free(&b);
}

int vol_get(struct op *o, uint32_t vol, struct gl_ns_vol *v)
{
	uint8_t k[8], *val;
	size_t vl;
	struct gl_rbuf r;
	int rc = op_get(o, k, k_vol(k, vol), &val, &vl);

	if (rc)
		return rc;
	gl_rbuf_init(&r, val, vl);
	gl_ns_vol_get(&r, v);
	rc = gl_rbuf_check(&r) ? -GL_ECORRUPT : 0;
	free(val);
	return rc;
}

void vol_put(struct op *o, const struct gl_ns_vol *v)
{
	uint8_t k[8];
	struct gl_wbuf b;

	gl_wbuf_init(&b);
	gl_ns_vol_put(&b, v);
	if (b.err)
		abort();
	op_put(o, k, k_vol(k, v->id), b.p, b.len);
	gl_wbuf_free(&b);
}

int vol_access(struct op *o, uint32_t vol, struct gl_ns_vol *v)
{
	int st = move_state(o, vol, NULL), rc;

	/* moving: writes wait while frozen; everything goes elsewhere once gone or importing */
	if (st == GL_NS_MOVE_GONE || st == GL_NS_MOVE_IN_BEGIN || (st && o->wb))
		return -GL_EMOVED;
	rc = vol_get(o, vol, v);

	if (rc == 0 && o->tenant != 0 && v->tenant != o->tenant)
		rc = -GL_ENOENT;
	return rc;
}

int get_name(struct gl_rbuf *r, char *out)
{
	uint16_t n = gl_get_u16(r);
	const uint8_t *p;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	p = gl_get_bytes(r, n);
	if (!p)
		return -GL_EPROTO;
	if (n > GL_NS_NAME_MAX)
		return -GL_ENAMETOOLONG;
	if (n == 0 || memchr(p, '/', n) || memchr(p, 0, n) || (n == 1 && p[0] == '.') ||
	    (n == 2 && p[0] == '.' && p[1] == '.'))
		return -GL_EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Tenant and volume names: 1..63 of [a-z0-9.-]. */
static int get_vname(struct gl_rbuf *r, char *out, int allow_empty)
{
	uint16_t n = gl_get_u16(r);
	const uint8_t *p;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	p = gl_get_bytes(r, n);
	if (!p)
		return -GL_EPROTO;
	if (n > GL_NS_VNAME_MAX || (n == 0 && !allow_empty))
		return n ? -GL_ENAMETOOLONG : -GL_EINVAL;
	for (uint16_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '.' ||
		      p[i] == '-'))
			return -GL_EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Access keys and secrets: 1..63 printable ASCII characters without spaces. */
static int get_token(struct gl_rbuf *r, char *out)
{
	uint16_t n = gl_get_u16(r);
	const uint8_t *p;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	p = gl_get_bytes(r, n);
	if (!p)
		return -GL_EPROTO;
	if (n == 0 || n > 63)
		return -GL_EINVAL;
	for (uint16_t i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return -GL_EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* ---- the catalog ---- */

static int tenant_id(struct op *o, const char *name, uint32_t *id)
{
	uint8_t k[KEY_MAX], *v;
	size_t vl;
	int rc = op_get(o, k, k_str(k, 't', name), &v, &vl);

	if (rc)
		return rc;
	rc = vl == 4 ? 0 : -GL_ECORRUPT;
	if (!rc)
		*id = gl_rd32(v);
	free(v);
	return rc;
}

static int next_ids(struct op *o, uint32_t *tenant, uint32_t *vol)
{
	uint8_t *v;
	size_t vl;
	int rc = op_get(o, (const uint8_t *)"cnext", 5, &v, &vl);

	if (rc == -GL_ENOENT) {
		*tenant = 1;
		*vol = 1;
		return 0;
	}
	if (rc)
		return rc;
	rc = vl == 8 ? 0 : -GL_ECORRUPT;
	if (!rc) {
		*tenant = gl_rd32(v);
		*vol = gl_rd32(v + 4);
	}
	free(v);
	return rc;
}

static void next_ids_put(struct op *o, uint32_t tenant, uint32_t vol)
{
	uint8_t v[8];

	gl_le32(v, tenant);
	gl_le32(v + 4, vol);
	op_put(o, (const uint8_t *)"cnext", 5, v, 8);
}

struct has_any {
	int found;
};

static int found_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	((struct has_any *)arg)->found = 1;
	return 1;
}

struct key_of_tenant {
	struct op *o;
	uint32_t tenant;
};

static int drop_key_of(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct key_of_tenant *t = arg;

	if (vl >= 4 && gl_rd32(v) == t->tenant)
		op_del(t->o, k, kl);
	return 0;
}

static int check_policy(const struct gl_ns_policy *p)
{
	struct gl_scheme s;

	return gl_scheme_from_pool(p->pool, &s) || p->dedup > 1 ? -GL_EINVAL : 0;
}

static int catalog_apply(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	char name[GL_NS_VNAME_MAX + 1], tname[GL_NS_VNAME_MAX + 1], access[64], secret[64];
	uint8_t k[KEY_MAX], *v;
	size_t vl;
	uint32_t tid, vid, tnext, vnext;
	struct gl_ns_vol vol;
	int rc;

	switch (opc) {
	case GL_NS_TENANT_CREATE:
		if ((rc = get_vname(r, name, 0)))
			return rc;
		if (o->tenant)
			return -GL_EPERM;
		if (tenant_id(o, name, &tid) == 0)
			return -GL_EEXIST;
		if ((rc = next_ids(o, &tnext, &vnext)))
			return rc;
		gl_le32(k + 100, tnext);
		op_put(o, k, k_str(k, 't', name), k + 100, 4);
		op_put(o, k, k_tid(k, tnext), name, strlen(name));
		next_ids_put(o, tnext + 1, vnext);
		gl_put_u32(reply, tnext);
		return 0;
	case GL_NS_TENANT_RM: {
		struct has_any h = {0};
		struct key_of_tenant kt;
		uint8_t p[8];

		if ((rc = get_vname(r, name, 0)))
			return rc;
		if (o->tenant)
			return -GL_EPERM;
		if ((rc = tenant_id(o, name, &tid)))
			return rc;
		p[0] = 'v';
		be32(p + 1, tid);
		op_scan(o, p, 5, NULL, 0, found_one, &h);
		if (h.found)
			return -GL_ENOTEMPTY;
		kt.o = o;
		kt.tenant = tid;
		op_scan(o, (const uint8_t *)"k", 1, NULL, 0, drop_key_of, &kt);
		op_del(o, k, k_str(k, 't', name));
		op_del(o, k, k_tid(k, tid));
		return 0;
	}
	case GL_NS_KEY_CREATE:
		if ((rc = get_vname(r, tname, 0)) || (rc = get_token(r, access)) ||
		    (rc = get_token(r, secret)))
			return rc;
		if (o->tenant)
			return -GL_EPERM;
		if ((rc = tenant_id(o, tname, &tid)))
			return rc;
		if (op_get(o, k, k_str(k, 'k', access), &v, &vl) == 0) {
			free(v);
			return -GL_EEXIST;
		}
		{
			struct gl_wbuf b;

			gl_wbuf_init(&b);
			gl_put_u32(&b, tid);
			gl_put_str(&b, secret);
			op_put(o, k, k_str(k, 'k', access), b.p, b.len);
			gl_wbuf_free(&b);
		}
		gl_put_u32(reply, tid);
		return 0;
	case GL_NS_KEY_RM:
		if ((rc = get_token(r, access)))
			return rc;
		if (o->tenant)
			return -GL_EPERM;
		if ((rc = op_get(o, k, k_str(k, 'k', access), &v, &vl)))
			return rc;
		free(v);
		op_del(o, k, k_str(k, 'k', access));
		return 0;
	case GL_NS_VOL_CREATE:
		memset(&vol, 0, sizeof(vol));
		if ((rc = get_vname(r, tname, 0)) || (rc = get_vname(r, name, 0)))
			return rc;
		vol.shard = gl_get_u32(r);
		gl_ns_policy_get(r, &vol.policy);
		if (gl_rbuf_check(r))
			return -GL_EPROTO;
		if ((rc = check_policy(&vol.policy)))
			return rc;
		if ((rc = tenant_id(o, tname, &tid)))
			return rc;
		if (o->tenant && o->tenant != tid)
			return -GL_EPERM;
		if (op_get(o, k, k_catalog(k, tid, name), &v, &vl) == 0) {
			free(v);
			return -GL_EEXIST;
		}
		if ((rc = next_ids(o, &tnext, &vnext)))
			return rc;
		vol.id = vnext;
		vol.tenant = tid;
		snprintf(vol.name, sizeof(vol.name), "%s", name);
		vol.ctime_ns = o->now;
		gl_le32(k + 200, vol.id);
		op_put(o, k, k_catalog(k, tid, name), k + 200, 4);
		vol_put(o, &vol);
		next_ids_put(o, tnext, vnext + 1);
		gl_ns_vol_put(reply, &vol);
		return 0;
	case GL_NS_VOL_INIT: {
		struct gl_ns_vol have;
		struct inode root;
		uint8_t nv[8];

		gl_ns_vol_get(r, &vol);
		if (gl_rbuf_check(r) || vol.id == 0)
			return -GL_EPROTO;
		if ((rc = check_policy(&vol.policy)))
			return rc;
		if (o->tenant && o->tenant != vol.tenant)
			return -GL_EPERM;
		if (vol_get(o, vol.id, &have) == 0) {
			if (have.tenant != vol.tenant || strcmp(have.name, vol.name) != 0)
				return -GL_EEXIST;
			vol = have;
		}
		if (inode_get(o, vol.id, GL_NS_ROOT, &root) == 0)
			return 0; /* initialised already */
		memset(&root, 0, sizeof(root));
		root.a.ino = GL_NS_ROOT;
		root.a.mode = 040755;
		root.a.nlink = 2;
		root.a.atime_ns = root.a.mtime_ns = root.a.ctime_ns = root.a.btime_ns = o->now;
		root.parent = GL_NS_ROOT;
		root.next_cookie = 1;
		inode_put(o, vol.id, &root);
		gl_le64(nv, 2);
		op_put(o, k, k_nextino(k, vol.id), nv, 8);
		vol.used_inodes = 1;
		vol.used_bytes = 0;
		vol_put(o, &vol);
		return 0;
	}
	case GL_NS_VOL_SET: {
		uint32_t mask;
		struct gl_ns_policy p;

		vid = gl_get_u32(r);
		mask = gl_get_u32(r);
		gl_ns_policy_get(r, &p);
		if (gl_rbuf_check(r))
			return -GL_EPROTO;
		if ((rc = vol_access(o, vid, &vol)))
			return rc;
		if (mask & GL_NS_VSET_POOL)
			vol.policy.pool = p.pool;
		if (mask & GL_NS_VSET_DEDUP)
			vol.policy.dedup = p.dedup;
		if (mask & GL_NS_VSET_QBYTES)
			vol.policy.quota_bytes = p.quota_bytes;
		if (mask & GL_NS_VSET_QINODES)
			vol.policy.quota_inodes = p.quota_inodes;
		if ((rc = check_policy(&vol.policy)))
			return rc;
		vol_put(o, &vol);
		gl_ns_vol_put(reply, &vol);
		return 0;
	}
	default:
		return -GL_EBADOP;
	}
}

/* ---- removing a volume ---- */

struct vol_rm {
	struct op *o;
	struct gl_ns_vol *v;
	int rc;
};

static int rm_inode_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *val, size_t vl)
{
	struct vol_rm *x = arg;
	struct inode in;

	(void)k;
	(void)kl;
	if (inode_decode(val, vl, &in) == 0) {
		in.a.nlink = 0;
		x->rc = inode_free(x->o, x->v, &in);
	}
	return x->rc;
}

static int rm_key_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *val, size_t vl)
{
	(void)val;
	(void)vl;
	op_del(arg, k, kl);
	return 0;
}

int vol_wipe(struct op *o, struct gl_ns_vol *v)
{
	struct vol_rm x = {o, v, 0};
	uint8_t k[KEY_MAX], p[8];

	/* every inode's data and references, then every record of the volume */
	p[0] = 'i';
	be32(p + 1, v->id);
	op_scan(o, p, 5, NULL, 0, rm_inode_cb, &x);
	if (x.rc)
		return x.rc;
	for (const char *t = "idexloLbB"; *t; t++) {
		p[0] = (uint8_t)*t;
		op_scan(o, p, 5, NULL, 0, rm_key_cb, o);
	}
	op_del(o, k, k_nextino(k, v->id));
	return 0;
}

static int vol_rm(struct op *o, struct gl_rbuf *r)
{
	struct gl_ns_vol v;
	uint8_t k[KEY_MAX], p[32];
	uint32_t vid = gl_get_u32(r);
	uint8_t force = gl_get_u8(r);
	int rc;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if ((rc = vol_access(o, vid, &v)))
		return rc;
	if (!force) {
		struct has_any h = {0};
		size_t pl = k_prefix(p, 'e', vid, GL_NS_ROOT);

		op_scan(o, p, pl, NULL, 0, found_one, &h);
		if (h.found)
			return -GL_ENOTEMPTY;
	}
	if ((rc = vol_wipe(o, &v)))
		return rc;
	op_del(o, k, k_vol(k, vid));
	op_del(o, k, k_catalog(k, v.tenant, v.name));
	return 0;
}

/* ---- entry points ---- */

int gl_ns_apply(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *msg, size_t len,
		struct gl_wbuf *reply)
{
	struct op o = {0};
	struct gl_wbuf scratch;
	struct gl_rbuf r;
	uint16_t opc;
	int rc;

	(void)ctx;
	gl_wbuf_init(&scratch);
	if (!reply)
		reply = &scratch;
	gl_rbuf_init(&r, msg, len);
	opc = gl_get_u16(&r);
	o.tenant = gl_get_u32(&r);
	o.now = (int64_t)gl_get_u64(&r);
	o.db = db;
	o.wb = wb;
	if (gl_rbuf_check(&r))
		rc = -GL_EPROTO;
	else if (gl_ns_op_kind(opc) != 0)
		rc = -GL_EBADOP;
	else if (opc <= GL_NS_VOL_SET && opc != GL_NS_VOL_RM)
		rc = catalog_apply(&o, opc, &r, reply);
	else if (opc == GL_NS_VOL_RM)
		rc = vol_rm(&o, &r);
	else if (opc == GL_NS_VOL_MOVE || opc == GL_NS_VOL_IMPORT)
		rc = ns_move_apply(&o, opc, &r);
	else if (opc == GL_NS_LOCK || opc == GL_NS_SESSION)
		rc = ns_lock_apply(&o, opc, &r);
	else if (opc == GL_NS_PUNCH || opc == GL_NS_CLONE)
		rc = ns_disk_apply(&o, opc, &r, reply);
	else
		rc = ns_tree_apply(&o, opc, &r, reply);
	if (rc == 0 && gl_rbuf_left(&r) != 0)
		rc = -GL_EPROTO; /* trailing bytes: not a message we wrote */
	if (rc && rc != -GL_EEXIST)
		reply->len = 0;
	if (rc)
		rocksdb_writebatch_clear(wb);
	op_free(&o);
	gl_wbuf_free(&scratch);
	return rc;
}

/* ---- reads of the catalog, refs and the dump ---- */

struct vol_list {
	struct op *o;
	uint32_t tenant; /* 0: all */
	struct gl_wbuf *out;
	uint32_t n;
};

static int vol_list_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct vol_list *l = arg;
	struct gl_ns_vol vol;
	struct gl_rbuf r;

	(void)k;
	(void)kl;
	gl_rbuf_init(&r, v, vl);
	gl_ns_vol_get(&r, &vol);
	if (gl_rbuf_check(&r))
		return 0;
	if (l->tenant && vol.tenant != l->tenant)
		return 0;
	gl_ns_vol_put(l->out, &vol);
	l->n++;
	return 0;
}

struct tenant_list {
	struct op *o;
	struct gl_wbuf *out;
	uint32_t n;
};

static int count_vol_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	(*(uint32_t *)arg)++;
	return 0;
}

static int tenant_list_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct tenant_list *l = arg;
	char name[GL_NS_VNAME_MAX + 1];
	uint32_t nvols = 0;
	uint8_t p[8];

	if (kl != 5 || vl > GL_NS_VNAME_MAX)
		return 0;
	memcpy(name, v, vl);
	name[vl] = '\0';
	p[0] = 'v';
	memcpy(p + 1, k + 1, 4);
	op_scan(l->o, p, 5, NULL, 0, count_vol_cb, &nvols);
	gl_put_u32(l->out, rdbe32(k + 1));
	gl_put_str(l->out, name);
	gl_put_u32(l->out, nvols);
	l->n++;
	return 0;
}

static void hex(struct gl_wbuf *b, const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char c[2];

	for (size_t i = 0; i < n; i++) {
		c[0] = d[p[i] >> 4];
		c[1] = d[p[i] & 15];
		gl_put_bytes(b, c, 2);
	}
}

static void text(struct gl_wbuf *b, const char *fmt, ...) GL_PRINTF(2, 3);
static void text(struct gl_wbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		gl_put_bytes(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Bytes as printable text: names are shown escaped. */
static void esc(struct gl_wbuf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] > ' ' && p[i] < 0x7f && p[i] != '\\')
			gl_put_u8(b, p[i]);
		else
			text(b, "\\x%02x", p[i]);
	}
}

struct dump {
	struct gl_wbuf *out;
	uint32_t vol;	       /* 0: all */
	size_t max;	       /* stop once the text passes this many bytes */
	int more;	       /* stopped before the end */
	uint8_t last[KEY_MAX]; /* the last key looked at: where the next page resumes */
	size_t last_len;
};

static void dump_attr(struct gl_wbuf *b, const struct gl_ns_attr *a)
{
	text(b,
	     " ino=%" PRIu64 " mode=%o uid=%u gid=%u nlink=%u size=%" PRIu64 " rdev=%" PRIu64
	     " atime=%" PRId64 " mtime=%" PRId64 " ctime=%" PRId64 " btime=%" PRId64
	     " blocks=%" PRIu64,
	     a->ino, a->mode, a->uid, a->gid, a->nlink, a->size, a->rdev, a->atime_ns, a->mtime_ns,
	     a->ctime_ns, a->btime_ns, a->blocks);
}

static int dump_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct dump *d = arg;
	struct gl_wbuf *b = d->out;
	struct gl_rbuf r;
	int per_vol = strchr("idexlonVLbB", k[0]) != NULL;

	if (b->len >= d->max && d->last_len) {
		d->more = 1; /* this key starts the next page */
		return 1;
	}
	if (kl >= sizeof(d->last))
		return 0; /* no record is this long: nothing to resume after */
	memcpy(d->last, k, kl);
	d->last_len = kl;
	if (k[0] < 0x20)
		return 0; /* "\0applied" (metadata/rsm.c), request outcomes (metadata/mds.c) */
	if (d->vol && (!per_vol || kl < 5 || rdbe32(k + 1) != d->vol))
		return 0;
	gl_put_u8(b, k[0]);
	switch (k[0]) {
	case 'i': {
		struct inode in;

		if (kl != 13 || inode_decode(v, vl, &in))
			break;
		text(b, " vol=%u", rdbe32(k + 1));
		dump_attr(b, &in.a);
		text(b, " parent=%" PRIu64 " next=%" PRIu64 " target=", in.parent, in.next_cookie);
		esc(b, (const uint8_t *)in.target, strlen(in.target));
		gl_put_u8(b, '\n');
		return 0;
	}
	case 'd':
		if (kl < 13 || vl < 20)
			break;
		text(b, " vol=%u dir=%" PRIu64 " name=", rdbe32(k + 1), rdbe64(k + 5));
		esc(b, k + 13, kl - 13);
		text(b, " ino=%" PRIu64 " mode=%o cookie=%" PRIu64 "\n", gl_rd64(v), gl_rd32(v + 8),
		     gl_rd64(v + 12));
		return 0;
	case 'e':
		if (kl != 21)
			break;
		text(b, " vol=%u dir=%" PRIu64 " cookie=%" PRIu64 " name=", rdbe32(k + 1),
		     rdbe64(k + 5), rdbe64(k + 13));
		esc(b, v, vl);
		gl_put_u8(b, '\n');
		return 0;
	case 'x':
		if (kl < 13)
			break;
		text(b, " vol=%u ino=%" PRIu64 " name=", rdbe32(k + 1), rdbe64(k + 5));
		esc(b, k + 13, kl - 13);
		text(b, " value=");
		hex(b, v, vl);
		gl_put_u8(b, '\n');
		return 0;
	case 'l': {
		uint32_t n;

		if (kl != 21)
			break;
		text(b, " vol=%u ino=%" PRIu64 " slice=%" PRIu64, rdbe32(k + 1), rdbe64(k + 5),
		     rdbe64(k + 13));
		gl_rbuf_init(&r, v, vl);
		n = gl_get_u32(&r);
		for (uint32_t i = 0; i < n && !gl_rbuf_check(&r); i++) {
			struct gl_ns_extent e;

			gl_ns_extent_get(&r, &e);
			text(b, " [%" PRIu64 "+%u pool=%x chunk_len=%u chunk_off=%u ", e.off, e.len,
			     e.pool, e.chunk_len, e.chunk_off);
			hex(b, e.chunk, 32);
			gl_put_u8(b, ']');
		}
		gl_put_u8(b, '\n');
		return 0;
	}
	case 'B':
		if (kl != 41 || vl < 4)
			break;
		text(b, " vol=%u pool=%x chunk=", rdbe32(k + 1), rdbe32(k + 5));
		hex(b, k + 9, 32);
		text(b, " blocks=%u ", gl_rd32(v));
		hex(b, v + 4, vl - 4);
		gl_put_u8(b, '\n');
		return 0;
	case 'b':
		if (kl != 37 || vl != 44)
			break;
		text(b, " vol=%u hash=", rdbe32(k + 1));
		hex(b, k + 5, 32);
		text(b, " pool=%x chunk_len=%u chunk_off=%u chunk=", gl_rd32(v), gl_rd32(v + 36),
		     gl_rd32(v + 40));
		hex(b, v + 4, 32);
		gl_put_u8(b, '\n');
		return 0;
	case 'V': {
		struct gl_ns_vol vol;

		gl_rbuf_init(&r, v, vl);
		gl_ns_vol_get(&r, &vol);
		text(b,
		     " id=%u tenant=%u name=%s shard=%u pool=%x dedup=%u qbytes=%" PRIu64
		     " qinodes=%" PRIu64 " bytes=%" PRIu64 " inodes=%" PRIu64 " ctime=%" PRId64
		     "\n",
		     vol.id, vol.tenant, vol.name, vol.shard, vol.policy.pool, vol.policy.dedup,
		     vol.policy.quota_bytes, vol.policy.quota_inodes, vol.used_bytes,
		     vol.used_inodes, vol.ctime_ns);
		return 0;
	}
	default:
		break;
	}
	/* anything else: key and value in hex */
	gl_put_u8(b, ' ');
	hex(b, k + 1, kl - 1);
	gl_put_u8(b, ' ');
	hex(b, v, vl);
	gl_put_u8(b, '\n');
	return 0;
}

static int catalog_read(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	char name[GL_NS_VNAME_MAX + 1], tname[GL_NS_VNAME_MAX + 1], access[64];
	uint8_t k[KEY_MAX], *v;
	size_t vl;
	uint32_t tid, vid;
	struct gl_ns_vol vol;
	int rc;

	switch (opc) {
	case GL_NS_VOL_GET:
		if ((rc = get_vname(r, tname, 0)) || (rc = get_vname(r, name, 0)))
			return rc;
		if ((rc = tenant_id(o, tname, &tid)))
			return rc;
		if (o->tenant && o->tenant != tid)
			return -GL_ENOENT;
		if ((rc = op_get(o, k, k_catalog(k, tid, name), &v, &vl)))
			return rc;
		vid = vl == 4 ? gl_rd32(v) : 0;
		free(v);
		if ((rc = vol_get(o, vid, &vol)))
			return rc;
		gl_ns_vol_put(reply, &vol);
		return 0;
	case GL_NS_VOL_GET_ID:
		vid = gl_get_u32(r);
		if (gl_rbuf_check(r))
			return -GL_EPROTO;
		if ((rc = vol_access(o, vid, &vol)))
			return rc;
		gl_ns_vol_put(reply, &vol);
		return 0;
	case GL_NS_VOL_LIST: {
		struct vol_list l = {o, 0, reply, 0};
		size_t at;

		if ((rc = get_vname(r, tname, 1)))
			return rc;
		if (tname[0]) {
			if ((rc = tenant_id(o, tname, &l.tenant)))
				return rc;
			if (o->tenant && o->tenant != l.tenant)
				return -GL_ENOENT;
		} else if (o->tenant) {
			l.tenant = o->tenant;
		}
		at = reply->len;
		gl_put_u32(reply, 0);
		op_scan(o, (const uint8_t *)"V", 1, NULL, 0, vol_list_cb, &l);
		if (!reply->err)
			gl_le32(reply->p + at, l.n);
		return 0;
	}
	case GL_NS_TENANT_LIST: {
		struct tenant_list l = {o, reply, 0};
		size_t at;

		if (o->tenant)
			return -GL_EPERM;
		at = reply->len;
		gl_put_u32(reply, 0);
		op_scan(o, (const uint8_t *)"T", 1, NULL, 0, tenant_list_cb, &l);
		if (!reply->err)
			gl_le32(reply->p + at, l.n);
		return 0;
	}
	case GL_NS_KEY_GET: {
		struct gl_rbuf kr;
		char secret[64];

		if ((rc = get_token(r, access)))
			return rc;
		if (o->tenant)
			return -GL_EPERM;
		if ((rc = op_get(o, k, k_str(k, 'k', access), &v, &vl)))
			return rc;
		gl_rbuf_init(&kr, v, vl);
		tid = gl_get_u32(&kr);
		gl_get_str(&kr, secret, sizeof(secret));
		rc = gl_rbuf_check(&kr) ? -GL_ECORRUPT : 0;
		free(v);
		if (rc)
			return rc;
		uint8_t *tn;

		if (op_get(o, k, k_tid(k, tid), &tn, &vl) == 0 && vl <= GL_NS_VNAME_MAX) {
			memcpy(name, tn, vl);
			name[vl] = '\0';
			free(tn);
		} else {
			name[0] = '\0';
		}
		gl_put_u32(reply, tid);
		gl_put_str(reply, name);
		gl_put_str(reply, secret);
		return 0;
	}
	case GL_NS_CHUNK_REFS: {
		uint32_t n = gl_get_u32(r);

		if (gl_rbuf_check(r) || n > 65536 || gl_rbuf_left(r) != (size_t)n * 36)
			return -GL_EPROTO;
		if (o->tenant)
			return -GL_EPERM;
		gl_put_u32(reply, n);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t pool = gl_get_u32(r);
			const uint8_t *id = gl_get_bytes(r, 32);
			uint64_t refs = 0;

			if (op_get(o, k, k_ref(k, pool, id), &v, &vl) == 0) {
				refs = vl == 8 ? gl_rd64(v) : 0;
				free(v);
			}
			gl_put_u64(reply, refs);
		}
		return 0;
	}
	case GL_NS_DUMP: {
		struct gl_wbuf t;
		struct dump d = {.vol = gl_get_u32(r), .max = GL_NS_DUMP_PAGE};
		uint8_t from[KEY_MAX + 1];
		size_t fl = 0;

		if (gl_rbuf_left(r)) { /* a later page: resume after this key, at most max bytes */
			fl = gl_get_u16(r);
			if (fl >= KEY_MAX)
				return -GL_EPROTO;
			gl_get_copy(r, from, fl);
			from[fl++] = 0; /* the least key after it */
			d.max = gl_get_u32(r);
			if (d.max == 0 || d.max > GL_NS_DUMP_PAGE)
				d.max = GL_NS_DUMP_PAGE;
		}
		if (gl_rbuf_check(r))
			return -GL_EPROTO;
		if (o->tenant)
			return -GL_EPERM;
		gl_wbuf_init(&t);
		d.out = &t;
		op_scan(o, (const uint8_t *)"", 0, fl ? from : NULL, fl, dump_cb, &d);
		if (t.err || t.len > GL_RPC_MAX_ARGS - 64 - KEY_MAX) {
			gl_wbuf_free(&t);
			return -GL_E2BIG;
		}
		gl_put_u32(reply, (uint32_t)t.len);
		gl_put_bytes(reply, t.p, t.len);
		gl_put_u8(reply, (uint8_t)d.more);
		gl_put_u16(reply, (uint16_t)d.last_len);
		gl_put_bytes(reply, d.last, d.last_len);
		gl_wbuf_free(&t);
		return 0;
	}
	case GL_NS_VOL_EXPORT:
	case GL_NS_VOL_WHERE:
		return ns_move_read(o, opc, r, reply);
	default:
		return -GL_EBADOP;
	}
}

int gl_ns_read(rocksdb_t *db, const uint8_t *msg, size_t len, struct gl_wbuf *reply)
{
	struct op o = {0};
	struct gl_rbuf r;
	uint16_t opc;
	size_t at = reply->len;
	int rc;

	gl_rbuf_init(&r, msg, len);
	opc = gl_get_u16(&r);
	o.tenant = gl_get_u32(&r);
	o.now = (int64_t)gl_get_u64(&r);
	o.db = db;
	if (gl_rbuf_check(&r))
		rc = -GL_EPROTO;
	else if (gl_ns_op_kind(opc) != 1)
		rc = -GL_EBADOP;
	else if (opc == GL_NS_GETLK)
		rc = ns_lock_read(&o, &r, reply);
	else if (opc == GL_NS_DEDUP_GET || opc == GL_NS_DEDUP_LIST)
		rc = ns_disk_read(&o, opc, &r, reply);
	else if (opc >= GL_NS_VOL_GET)
		rc = catalog_read(&o, opc, &r, reply);
	else
		rc = ns_tree_read(&o, opc, &r, reply);
	if (rc == 0 && gl_rbuf_left(&r) != 0)
		rc = -GL_EPROTO;
	if (rc)
		reply->len = at;
	op_free(&o);
	return rc;
}

/* The POSIX tree of a volume: inodes, directory entries with stable readdir cookies, links,
 * rename, attributes, xattrs, and file layouts with their chunk references and quota. */
#include "common/errors.h"
#include "metadata/ns.h"
#include "metadata/ns_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SLICE_EXTENTS 4096

/* ---- directory entries: value u64 ino, u32 mode, u64 cookie ---- */

struct dent {
	uint64_t ino;
	uint32_t mode;
	uint64_t cookie;
};

static int dent_get(struct op *o, uint32_t vol, uint64_t dir, const char *name, struct dent *d)
{
	uint8_t k[KEY_MAX], *v;
	size_t vl;
	int rc = op_get(o, k, k_dent(k, vol, dir, name), &v, &vl);

	if (rc)
		return rc;
	if (vl != 20) {
		free(v);
		return -GL_ECORRUPT;
	}
	d->ino = gl_rd64(v);
	d->mode = gl_rd32(v + 8);
	d->cookie = gl_rd64(v + 12);
	free(v);
	return 0;
}

static void dent_put(struct op *o, uint32_t vol, uint64_t dir, const char *name,
		     const struct dent *d)
{
	uint8_t k[KEY_MAX], v[20];

	gl_le64(v, d->ino);
	gl_le32(v + 8, d->mode);
	gl_le64(v + 12, d->cookie);
	op_put(o, k, k_dent(k, vol, dir, name), v, 20);
	op_put(o, k, k_dord(k, vol, dir, d->cookie), name, strlen(name));
}

static void dent_del(struct op *o, uint32_t vol, uint64_t dir, const char *name,
		     const struct dent *d)
{
	uint8_t k[KEY_MAX];

	op_del(o, k, k_dent(k, vol, dir, name));
	op_del(o, k, k_dord(k, vol, dir, d->cookie));
}

/* A directory of the volume (ENOTDIR, ENOENT). */
static int dir_get(struct op *o, uint32_t vol, uint64_t ino, struct inode *in)
{
	int rc = inode_get(o, vol, ino, in);

	if (rc)
		return rc;
	return S_ISDIR(in->a.mode) ? 0 : -GL_ENOTDIR;
}

static int alloc_ino(struct op *o, uint32_t vol, uint64_t *ino)
{
	uint8_t k[16], *v, nv[8];
	size_t vl;
	int rc = op_get(o, k, k_nextino(k, vol), &v, &vl);

	if (rc)
		return rc == -GL_ENOENT ? -GL_ECORRUPT : rc;
	*ino = vl == 8 ? gl_rd64(v) : 0;
	free(v);
	if (*ino < 2)
		return -GL_ECORRUPT;
	gl_le64(nv, *ino + 1);
	op_put(o, k, k_nextino(k, vol), nv, 8);
	return 0;
}

static int dir_empty(struct op *o, uint32_t vol, uint64_t dir);

/* ---- layouts: per slice, u32 n, n extents sorted by offset, not overlapping ---- */

int ext_push(struct extents *x, const struct gl_ns_extent *e)
{
	if (x->n == x->cap) {
		uint32_t ncap = x->cap ? x->cap * 2 : 8;
		struct gl_ns_extent *ne = realloc(x->e, ncap * sizeof(*ne));

		if (!ne)
			return -GL_ENOMEM;
		x->e = ne;
		x->cap = ncap;
	}
	x->e[x->n++] = *e;
	return 0;
}

int slice_get(struct op *o, uint32_t vol, uint64_t ino, uint64_t slice, struct extents *x)
{
	uint8_t k[32], *v;
	size_t vl;
	struct gl_rbuf r;
	uint32_t n;
	int rc = op_get(o, k, k_slice(k, vol, ino, slice), &v, &vl);

	x->n = 0;
	if (rc == -GL_ENOENT)
		return 0;
	if (rc)
		return rc;
	gl_rbuf_init(&r, v, vl);
	n = gl_get_u32(&r);
	for (uint32_t i = 0; i < n && !rc && !gl_rbuf_check(&r); i++) {
		struct gl_ns_extent e;

		gl_ns_extent_get(&r, &e);
		rc = ext_push(x, &e);
	}
	if (!rc && gl_rbuf_check(&r))
		rc = -GL_ECORRUPT;
	free(v);
	return rc;
}

void slice_put(struct op *o, uint32_t vol, uint64_t ino, uint64_t slice, const struct extents *x)
{
	uint8_t k[32];
	struct gl_wbuf b;

	if (x->n == 0) {
		op_del(o, k, k_slice(k, vol, ino, slice));
		return;
	}
	gl_wbuf_init(&b);
	gl_put_u32(&b, x->n);
	for (uint32_t i = 0; i < x->n; i++)
		gl_ns_extent_put(&b, &x->e[i]);
	if (b.err)
		abort();
	op_put(o, k, k_slice(k, vol, ino, slice), b.p, b.len);
	gl_wbuf_free(&b);
}

int ref_add(struct refs *rf, uint32_t pool, const uint8_t *id, int64_t d)
{
	for (int i = 0; i < rf->n; i++) {
		if (rf->r[i].pool == pool && memcmp(rf->r[i].id, id, 32) == 0) {
			rf->r[i].delta += d;
			return 0;
		}
	}
	if (rf->n == rf->cap) {
		int ncap = rf->cap ? rf->cap * 2 : 16;
		void *nr = realloc(rf->r, (size_t)ncap * sizeof(*rf->r));

		if (!nr)
			return -GL_ENOMEM;
		rf->r = nr;
		rf->cap = ncap;
	}
	rf->r[rf->n].pool = pool;
	memcpy(rf->r[rf->n].id, id, 32);
	rf->r[rf->n].delta = d;
	rf->n++;
	return 0;
}

int refs_commit(struct op *o, struct refs *rf)
{
	for (int i = 0; i < rf->n; i++) {
		uint8_t k[48], *v, nv[8];
		size_t vl;
		int64_t cur = 0;

		if (rf->r[i].delta == 0)
			continue;
		if (op_get(o, k, k_ref(k, rf->r[i].pool, rf->r[i].id), &v, &vl) == 0) {
			cur = vl == 8 ? (int64_t)gl_rd64(v) : 0;
			free(v);
		}
		cur += rf->r[i].delta;
		if (cur < 0)
			return -GL_ECORRUPT;
		if (cur == 0) {
			op_del(o, k, k_ref(k, rf->r[i].pool, rf->r[i].id));
		} else {
			gl_le64(nv, (uint64_t)cur);
			op_put(o, k, k_ref(k, rf->r[i].pool, rf->r[i].id), nv, 8);
		}
	}
	free(rf->r);
	rf->r = NULL;
	rf->n = rf->cap = 0;
	return 0;
}

int slice_refs(struct op *o, const uint8_t *v, size_t vl, int64_t d)
{
	struct refs rf = {0};
	struct gl_rbuf r;
	uint32_t n;
	int rc = 0;

	gl_rbuf_init(&r, v, vl);
	n = gl_get_u32(&r);
	for (uint32_t i = 0; i < n && !rc && !gl_rbuf_check(&r); i++) {
		struct gl_ns_extent e;

		gl_ns_extent_get(&r, &e);
		if (!gl_rbuf_check(&r))
			rc = ref_add(&rf, e.pool, e.chunk, d);
	}
	if (!rc && (gl_rbuf_check(&r) || gl_rbuf_left(&r)))
		rc = -GL_EPROTO;
	if (!rc)
		rc = refs_commit(o, &rf);
	free(rf.r);
	return rc;
}

/* Keeps the part of x's extents outside [a, b), counting references; adds nothing. */
int cut_range(struct extents *x, uint64_t a, uint64_t b, struct refs *rf, int64_t *bytes)
{
	struct extents out = {0};
	int rc = 0;

	/* room for what is kept and the two ends of a cut one: no growing on the way */
	if (x->n && !(out.e = malloc((x->n + 2) * sizeof(*out.e))))
		return -GL_ENOMEM;
	out.cap = out.e ? x->n + 2 : 0;

	for (uint32_t i = 0; i < x->n && !rc; i++) {
		struct gl_ns_extent e = x->e[i];
		uint64_t e0 = e.off, e1 = e.off + e.len;

		if (e1 <= a || e0 >= b) {
			rc = ext_push(&out, &e);
			continue;
		}
		rc = ref_add(rf, e.pool, e.chunk, -1);
		*bytes -= e.len;
		if (!rc && e0 < a) {
			struct gl_ns_extent l = e;

			l.len = (uint32_t)(a - e0);
			rc = ext_push(&out, &l);
			if (!rc)
				rc = ref_add(rf, l.pool, l.chunk, 1);
			*bytes += l.len;
		}
		if (!rc && e1 > b) {
			struct gl_ns_extent h = e;

			h.off = b;
			h.chunk_off = e.chunk_off + (uint32_t)(b - e0);
			h.len = (uint32_t)(e1 - b);
			rc = ext_push(&out, &h);
			if (!rc)
				rc = ref_add(rf, h.pool, h.chunk, 1);
			*bytes += h.len;
		}
	}
	free(x->e);
	*x = out;
	return rc;
}

static int ext_cmp(const void *a, const void *b)
{
	const struct gl_ns_extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

struct slices {
	struct op *o;
	uint32_t vol;
	uint64_t ino;
	uint64_t from; /* truncate: cut at this size */
	struct refs *rf;
	int64_t bytes;
	int rc;
};

static int truncate_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct slices *s = arg;
	struct extents x = {0};
	uint64_t slice;

	(void)v;
	(void)vl;
	if (kl != 21)
		return 0;
	slice = rdbe64(k + 13);
	s->rc = slice_get(s->o, s->vol, s->ino, slice, &x);
	if (!s->rc)
		s->rc = cut_range(&x, s->from, UINT64_MAX, s->rf, &s->bytes);
	if (!s->rc)
		slice_put(s->o, s->vol, s->ino, slice, &x);
	free(x.e);
	return s->rc;
}

/* Drops the layout at and beyond size; returns the stored-bytes change in *bytes. */
int layout_truncate(struct op *o, uint32_t vol, uint64_t ino, uint64_t size, struct refs *rf,
		    int64_t *bytes)
{
	uint8_t p[32], start[32];
	size_t pl = k_prefix(p, 'l', vol, ino);
	struct slices s = {o, vol, ino, size, rf, 0, 0};

	k_slice(start, vol, ino, size / GL_NS_SLICE);
	op_scan(o, p, pl, start, 21, truncate_cb, &s);
	*bytes = s.bytes;
	return s.rc;
}

/* ---- freeing ---- */

static int del_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)v;
	(void)vl;
	op_del(arg, k, kl);
	return 0;
}

int inode_free(struct op *o, struct gl_ns_vol *v, const struct inode *in)
{
	struct refs rf = {0};
	int64_t bytes = 0;
	uint8_t k[KEY_MAX], p[32];
	size_t pl;
	int rc = 0;

	if (S_ISREG(in->a.mode))
		rc = layout_truncate(o, v->id, in->a.ino, 0, &rf, &bytes);
	if (!rc)
		rc = refs_commit(o, &rf);
	free(rf.r);
	if (rc)
		return rc;
	pl = k_prefix(p, 'x', v->id, in->a.ino);
	op_scan(o, p, pl, NULL, 0, del_cb, o);
	op_del(o, k, k_inode(k, v->id, in->a.ino));
	op_del(o, k, k_orphan(k, v->id, in->a.ino));
	ns_lock_forget(o, v->id, in->a.ino);
	v->used_bytes = (uint64_t)((int64_t)v->used_bytes + bytes);
	if (v->used_inodes)
		v->used_inodes--;
	return 0;
}

/* ---- ops ---- */

static void touch_dir(struct inode *d, int64_t now)
{
	d->a.mtime_ns = d->a.ctime_ns = now;
}

static int quota_inode(const struct gl_ns_vol *v)
{
	return v->policy.quota_inodes && v->used_inodes + 1 > v->policy.quota_inodes ? -GL_EDQUOT
										     : 0;
}

/* mknod, mkdir, symlink */
static int op_create(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	char name[GL_NS_NAME_MAX + 1], *target = NULL;
	uint32_t vid, mode = 0, uid, gid;
	uint64_t parent, rdev = 0;
	uint8_t excl = 1;
	struct gl_ns_vol v;
	struct inode dir, in;
	struct dent d;
	int rc;

	vid = gl_get_u32(r);
	parent = gl_get_u64(r);
	if ((rc = get_name(r, name)))
		return rc;
	if (opc == GL_NS_SYMLINK) {
		uint16_t tl = gl_get_u16(r);
		const uint8_t *t = gl_get_bytes(r, tl);

		if (!t)
			return -GL_EPROTO;
		if (tl == 0 || memchr(t, 0, tl))
			return -GL_EINVAL;
		if (tl > GL_NS_PATH_MAX)
			return -GL_ENAMETOOLONG;
		target = calloc(1, (size_t)tl + 1);
		if (!target)
			return -GL_ENOMEM;
		memcpy(target, t, tl);
	} else {
		mode = gl_get_u32(r);
	}
	uid = gl_get_u32(r);
	gid = gl_get_u32(r);
	if (opc == GL_NS_MKNOD) {
		rdev = gl_get_u64(r);
		excl = gl_get_u8(r);
	}
	if (gl_rbuf_check(r)) {
		rc = -GL_EPROTO;
		goto out;
	}
	if ((rc = vol_access(o, vid, &v)) || (rc = dir_get(o, vid, parent, &dir)))
		goto out;
	if (dent_get(o, vid, parent, name, &d) == 0) {
		if (opc == GL_NS_MKNOD && !excl && S_ISREG(d.mode) &&
		    inode_get(o, vid, d.ino, &in) == 0)
			gl_ns_attr_put(reply, &in.a);
		rc = -GL_EEXIST;
		goto out;
	}
	if (opc == GL_NS_MKNOD) {
		uint32_t t = mode & S_IFMT;

		if (t == 0)
			t = S_IFREG;
		if (t != S_IFREG && t != S_IFIFO && t != S_IFSOCK && t != S_IFCHR && t != S_IFBLK) {
			rc = -GL_EINVAL;
			goto out;
		}
		mode = t | (mode & 07777);
	} else if (opc == GL_NS_MKDIR) {
		mode = S_IFDIR | (mode & 07777);
	} else {
		mode = S_IFLNK | 0777;
	}
	if ((rc = quota_inode(&v)) || (rc = alloc_ino(o, vid, &in.a.ino)))
		goto out;
	if (dir.a.nlink >= GL_NS_LINK_MAX && opc == GL_NS_MKDIR) {
		rc = -GL_EMLINK;
		goto out;
	}
	uint64_t ino = in.a.ino;

	memset(&in, 0, sizeof(in));
	in.a.ino = ino;
	in.a.mode = mode;
	in.a.uid = uid;
	in.a.gid = gid;
	if (dir.a.mode & S_ISGID) { /* setgid directories pass their group (and the bit) on */
		in.a.gid = dir.a.gid;
		if (opc == GL_NS_MKDIR)
			in.a.mode |= S_ISGID;
	}
	in.a.nlink = opc == GL_NS_MKDIR ? 2 : 1;
	in.a.rdev = rdev;
	in.a.atime_ns = in.a.mtime_ns = in.a.ctime_ns = in.a.btime_ns = o->now;
	if (opc == GL_NS_MKDIR) {
		in.parent = parent;
		in.next_cookie = 1;
		dir.a.nlink++;
	}
	if (target) {
		snprintf(in.target, sizeof(in.target), "%s", target);
		in.a.size = strlen(target);
	}
	inode_put(o, vid, &in);
	d.ino = ino;
	d.mode = mode;
	d.cookie = dir.next_cookie++;
	dent_put(o, vid, parent, name, &d);
	touch_dir(&dir, o->now);
	inode_put(o, vid, &dir);
	v.used_inodes++;
	vol_put(o, &v);
	gl_ns_attr_put(reply, &in.a);
out:
	free(target);
	return rc;
}

static int op_link(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	char name[GL_NS_NAME_MAX + 1];
	uint32_t vid = gl_get_u32(r);
	uint64_t ino = gl_get_u64(r), np = gl_get_u64(r);
	struct gl_ns_vol v;
	struct inode in, dir;
	struct dent d;
	int rc;

	if ((rc = get_name(r, name)))
		return rc;
	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
		return rc;
	if (S_ISDIR(in.a.mode))
		return -GL_EPERM;
	if ((rc = dir_get(o, vid, np, &dir)))
		return rc;
	if (dent_get(o, vid, np, name, &d) == 0)
		return -GL_EEXIST;
	if (in.a.nlink >= GL_NS_LINK_MAX)
		return -GL_EMLINK;
	if (in.a.nlink == 0)
		return -GL_ENOENT; /* an orphan cannot be linked back */
	in.a.nlink++;
	in.a.ctime_ns = o->now;
	inode_put(o, vid, &in);
	d.ino = ino;
	d.mode = in.a.mode;
	d.cookie = dir.next_cookie++;
	dent_put(o, vid, np, name, &d);
	touch_dir(&dir, o->now);
	inode_put(o, vid, &dir);
	gl_ns_attr_put(reply, &in.a);
	return 0;
}

/* Drops one link of in (found under a name that is being removed or replaced). */
static int drop_link(struct op *o, struct gl_ns_vol *v, struct inode *in, int keep)
{
	uint8_t k[32];

	if (in->a.nlink)
		in->a.nlink--;
	in->a.ctime_ns = o->now;
	if (in->a.nlink > 0) {
		inode_put(o, v->id, in);
		return 0;
	}
	if (keep) {
		inode_put(o, v->id, in);
		op_put(o, k, k_orphan(k, v->id, in->a.ino), "", 0);
		return 0;
	}
	return inode_free(o, v, in);
}

static int op_unlink(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	char name[GL_NS_NAME_MAX + 1];
	uint32_t vid = gl_get_u32(r);
	uint64_t parent = gl_get_u64(r);
	uint8_t keep = 0;
	struct gl_ns_vol v;
	struct inode dir, in;
	struct dent d;
	int rc;

	if ((rc = get_name(r, name)))
		return rc;
	if (opc == GL_NS_UNLINK)
		keep = gl_get_u8(r);
	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if ((rc = vol_access(o, vid, &v)) || (rc = dir_get(o, vid, parent, &dir)) ||
	    (rc = dent_get(o, vid, parent, name, &d)) || (rc = inode_get(o, vid, d.ino, &in)))
		return rc;
	if (opc == GL_NS_UNLINK && S_ISDIR(in.a.mode))
		return -GL_EISDIR;
	if (opc == GL_NS_RMDIR) {
		if (!S_ISDIR(in.a.mode))
			return -GL_ENOTDIR;
		if ((rc = dir_empty(o, vid, d.ino)))
			return rc;
	}
	dent_del(o, vid, parent, name, &d);
	touch_dir(&dir, o->now);
	if (opc == GL_NS_RMDIR) {
		dir.a.nlink--;
		in.a.nlink = 0;
		rc = inode_free(o, &v, &in);
	} else {
		rc = drop_link(o, &v, &in, keep);
	}
	if (rc)
		return rc;
	inode_put(o, vid, &dir);
	vol_put(o, &v);
	if (opc == GL_NS_UNLINK)
		gl_ns_attr_put(reply, &in.a);
	return 0;
}

/* -GL_ENOTEMPTY when dir has entries, as this op sees them (its own writes included). */
static int dir_empty(struct op *o, uint32_t vol, uint64_t dir)
{
	rocksdb_readoptions_t *ro;
	rocksdb_iterator_t *it;
	uint8_t p[32];
	size_t pl = k_prefix(p, 'e', vol, dir);
	int found = 0;

	/* entries this op added (and did not remove again) */
	for (int i = 0; i < o->n && !found; i++) {
		struct ovl_ent *e = &o->ovl[i];
		int later = 0;

		if (e->kl != pl + 8 || memcmp(e->k, p, pl) != 0 || !e->v)
			continue;
		for (int j = i + 1; j < o->n; j++)
			later |= o->ovl[j].kl == e->kl && memcmp(o->ovl[j].k, e->k, e->kl) == 0;
		found = !later;
	}
	/* entries in the database this op did not remove */
	ro = rocksdb_readoptions_create();
	it = rocksdb_create_iterator(o->db, ro);
	for (rocksdb_iter_seek(it, (const char *)p, pl); !found && rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t kl;
		const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
		int deleted = 0;

		if (kl < pl || memcmp(k, p, pl) != 0)
			break;
		for (int i = o->n - 1; i >= 0; i--) {
			if (o->ovl[i].kl == kl && memcmp(o->ovl[i].k, k, kl) == 0) {
				deleted = o->ovl[i].v == NULL;
				break;
			}
		}
		found = !deleted;
	}
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	return found ? -GL_ENOTEMPTY : 0;
}

/* 1 when dir is anc or below it (walking parent pointers up to the root). */
static int is_below(struct op *o, uint32_t vol, uint64_t dir, uint64_t anc)
{
	for (int depth = 0; depth < 4096; depth++) {
		struct inode in;

		if (dir == anc)
			return 1;
		if (dir == GL_NS_ROOT || inode_get(o, vol, dir, &in))
			return 0;
		dir = in.parent;
	}
	return 1; /* a loop: refuse */
}

static int op_rename(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	char sname[GL_NS_NAME_MAX + 1], dname[GL_NS_NAME_MAX + 1];
	uint32_t vid = gl_get_u32(r), flags;
	uint64_t sp = gl_get_u64(r), dp;
	struct gl_ns_vol v;
	struct inode sdir, ddir, src, dst;
	struct dent sd, dd;
	int rc, have_dst;

	if ((rc = get_name(r, sname)))
		return rc;
	dp = gl_get_u64(r);
	if ((rc = get_name(r, dname)))
		return rc;
	flags = gl_get_u32(r);
	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if ((flags & ~(GL_NS_RENAME_NOREPLACE | GL_NS_RENAME_EXCHANGE | GL_NS_RENAME_KEEP)) ||
	    flags == (GL_NS_RENAME_NOREPLACE | GL_NS_RENAME_EXCHANGE))
		return -GL_EINVAL;
	if ((rc = vol_access(o, vid, &v)) || (rc = dir_get(o, vid, sp, &sdir)) ||
	    (rc = dir_get(o, vid, dp, &ddir)) || (rc = dent_get(o, vid, sp, sname, &sd)) ||
	    (rc = inode_get(o, vid, sd.ino, &src)))
		return rc;
	have_dst = dent_get(o, vid, dp, dname, &dd) == 0;
	if (have_dst && (rc = inode_get(o, vid, dd.ino, &dst)))
		return rc;
	if ((flags & GL_NS_RENAME_EXCHANGE) && !have_dst)
		return -GL_ENOENT;
	if ((flags & GL_NS_RENAME_NOREPLACE) && have_dst)
		return -GL_EEXIST;
	if (have_dst && dd.ino == sd.ino) {
		gl_put_u8(reply, 0); /* the same inode: nothing to do */
		return 0;
	}
	if (S_ISDIR(src.a.mode) && is_below(o, vid, dp, sd.ino))
		return -GL_EINVAL;
	if (flags & GL_NS_RENAME_EXCHANGE) {
		struct dent a = sd, b = dd;

		if (S_ISDIR(dst.a.mode) && is_below(o, vid, sp, dd.ino))
			return -GL_EINVAL;
		/* each name keeps its cookie and now points at the other inode */
		a.ino = dd.ino;
		a.mode = dd.mode;
		b.ino = sd.ino;
		b.mode = sd.mode;
		dent_put(o, vid, sp, sname, &a);
		dent_put(o, vid, dp, dname, &b);
		if (sp != dp) {
			if (S_ISDIR(src.a.mode)) {
				src.parent = dp;
				sdir.a.nlink--;
				ddir.a.nlink++;
			}
			if (S_ISDIR(dst.a.mode)) {
				dst.parent = sp;
				ddir.a.nlink--;
				sdir.a.nlink++;
			}
		}
		src.a.ctime_ns = dst.a.ctime_ns = o->now;
		inode_put(o, vid, &src);
		inode_put(o, vid, &dst);
		touch_dir(&sdir, o->now);
		inode_put(o, vid, &sdir);
		if (sp != dp) {
			touch_dir(&ddir, o->now);
			inode_put(o, vid, &ddir);
		}
		gl_put_u8(reply, 0);
		return 0;
	}
	if (have_dst) {
		if (S_ISDIR(src.a.mode) && !S_ISDIR(dst.a.mode))
			return -GL_ENOTDIR;
		if (!S_ISDIR(src.a.mode) && S_ISDIR(dst.a.mode))
			return -GL_EISDIR;
		if (S_ISDIR(dst.a.mode) && (rc = dir_empty(o, vid, dd.ino)))
			return rc;
	}
	/* take the source name away first: the parents may be one directory */
	dent_del(o, vid, sp, sname, &sd);
	if (sp == dp)
		ddir = sdir;
	if (have_dst) {
		dent_del(o, vid, dp, dname, &dd);
		if (S_ISDIR(dst.a.mode)) {
			ddir.a.nlink--;
			dst.a.nlink = 0;
			rc = inode_free(o, &v, &dst);
		} else {
			rc = drop_link(o, &v, &dst, (flags & GL_NS_RENAME_KEEP) != 0);
		}
		if (rc)
			return rc;
	}
	sd.cookie = ddir.next_cookie++;
	dent_put(o, vid, dp, dname, &sd);
	src.a.ctime_ns = o->now;
	if (S_ISDIR(src.a.mode) && sp != dp) {
		src.parent = dp;
		sdir.a.nlink--;
		ddir.a.nlink++;
	}
	inode_put(o, vid, &src);
	touch_dir(&ddir, o->now);
	if (sp != dp) {
		touch_dir(&sdir, o->now);
		inode_put(o, vid, &sdir);
	}
	inode_put(o, vid, &ddir);
	vol_put(o, &v);
	gl_put_u8(reply, (uint8_t)have_dst);
	if (have_dst)
		gl_ns_attr_put(reply, &dst.a);
	return 0;
}

static int op_setattr(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vid = gl_get_u32(r);
	uint64_t ino = gl_get_u64(r);
	uint32_t valid = gl_get_u32(r), mode = gl_get_u32(r), uid = gl_get_u32(r),
		 gid = gl_get_u32(r);
	uint64_t size = gl_get_u64(r);
	int64_t atime = (int64_t)gl_get_u64(r), mtime = (int64_t)gl_get_u64(r);
	struct gl_ns_vol v;
	struct inode in;
	int rc;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if (valid & ~0x3fu)
		return -GL_EINVAL;
	if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
		return rc;
	if (valid & GL_NS_SET_MODE)
		in.a.mode = (in.a.mode & S_IFMT) | (mode & 07777);
	if (valid & GL_NS_SET_UID)
		in.a.uid = uid;
	if (valid & GL_NS_SET_GID)
		in.a.gid = gid;
	if (valid & GL_NS_SET_SIZE) {
		if (S_ISDIR(in.a.mode))
			return -GL_EISDIR;
		if (!S_ISREG(in.a.mode))
			return -GL_EINVAL;
		if (size > GL_NS_MAX_FILE_SIZE)
			return -GL_EFBIG;
		if (size < in.a.size) {
			struct refs rf = {0};
			int64_t bytes = 0;

			rc = layout_truncate(o, vid, ino, size, &rf, &bytes);
			if (!rc)
				rc = refs_commit(o, &rf);
			free(rf.r);
			if (rc)
				return rc;
			v.used_bytes = (uint64_t)((int64_t)v.used_bytes + bytes);
			in.a.blocks = (uint64_t)((int64_t)in.a.blocks + bytes / 512);
			vol_put(o, &v);
		}
		if (size != in.a.size && !(valid & GL_NS_SET_MTIME))
			in.a.mtime_ns = o->now;
		in.a.size = size;
	}
	if (valid & GL_NS_SET_ATIME)
		in.a.atime_ns = atime;
	if (valid & GL_NS_SET_MTIME)
		in.a.mtime_ns = mtime;
	in.a.ctime_ns = o->now;
	inode_put(o, vid, &in);
	gl_ns_attr_put(reply, &in.a);
	return 0;
}

static int op_xattr(struct op *o, uint16_t opc, struct gl_rbuf *r)
{
	uint32_t vid = gl_get_u32(r), vlen = 0, flags = 0;
	uint64_t ino = gl_get_u64(r);
	uint16_t nl = gl_get_u16(r);
	const uint8_t *n = gl_get_bytes(r, nl), *val = NULL;
	char name[GL_NS_XNAME_MAX + 1];
	uint8_t k[KEY_MAX + GL_NS_XNAME_MAX], *cur;
	size_t cl;
	struct gl_ns_vol v;
	struct inode in;
	int rc, exists;

	if (!n)
		return -GL_EPROTO;
	if (opc == GL_NS_SETXATTR) {
		vlen = gl_get_u32(r);
		if (gl_rbuf_check(r) || vlen > gl_rbuf_left(r))
			return -GL_EPROTO;
		val = gl_get_bytes(r, vlen);
		flags = gl_get_u32(r);
	}
	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if (nl > GL_NS_XNAME_MAX)
		return -GL_ERANGE;
	if (nl == 0 || memchr(n, 0, nl))
		return -GL_EINVAL;
	if (vlen > GL_NS_XVALUE_MAX)
		return -GL_E2BIG;
	if (flags & ~(GL_NS_XATTR_CREATE | GL_NS_XATTR_REPLACE))
		return -GL_EINVAL;
	memcpy(name, n, nl);
	name[nl] = '\0';
	if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
		return rc;
	exists = op_get(o, k, k_xattr(k, vid, ino, name), &cur, &cl) == 0;
	if (exists)
		free(cur);
	if (opc == GL_NS_RMXATTR) {
		if (!exists)
			return -GL_ENODATA;
		op_del(o, k, k_xattr(k, vid, ino, name));
	} else {
		if ((flags & GL_NS_XATTR_CREATE) && exists)
			return -GL_EEXIST;
		if ((flags & GL_NS_XATTR_REPLACE) && !exists)
			return -GL_ENODATA;
		op_put(o, k, k_xattr(k, vid, ino, name), val ? val : (const uint8_t *)"", vlen);
	}
	in.a.ctime_ns = o->now;
	inode_put(o, vid, &in);
	return 0;
}

static int op_write(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vid = gl_get_u32(r), n;
	uint64_t ino = gl_get_u64(r), size = gl_get_u64(r);
	int64_t mtime = (int64_t)gl_get_u64(r);
	struct gl_ns_extent *ex;
	struct refs rf = {0};
	struct gl_ns_vol v;
	struct inode in;
	struct wtail t;
	int64_t bytes = 0;
	int rc = 0;

	n = gl_get_u32(r);
	if (gl_rbuf_check(r) || n > GL_NS_MAX_EXTENTS || gl_rbuf_left(r) < (size_t)n * 56)
		return -GL_EPROTO;
	if (size > GL_NS_MAX_FILE_SIZE)
		return -GL_EFBIG;
	ex = calloc(n ? n : 1, sizeof(*ex));
	if (!ex)
		return -GL_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct gl_ns_extent *e = &ex[i];

		gl_ns_extent_get(r, e);
		if (e->len == 0 || (uint64_t)e->chunk_off + e->len > e->chunk_len ||
		    e->off / GL_NS_SLICE != (e->off + e->len - 1) / GL_NS_SLICE ||
		    e->off + e->len > GL_NS_MAX_FILE_SIZE) {
			rc = -GL_EINVAL;
			goto out;
		}
		if (e->off + e->len > size)
			size = e->off + e->len;
	}
	if ((rc = wtail_parse(r, &t)))
		goto out;
	if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
		goto out;
	if (S_ISDIR(in.a.mode)) {
		rc = -GL_EISDIR;
		goto out;
	}
	if (!S_ISREG(in.a.mode)) {
		rc = -GL_EINVAL;
		goto out;
	}
	if ((rc = wtail_check(o, &v, &t, ex, n)) || (rc = wtail_cut(o, vid, ino, &t, &rf, &bytes)))
		goto out;
	/* extents in order, later ones over earlier ones; a run of them in one slice (a flush
	 * packs them slice by slice) reads and writes the slice's layout once, not once each */
	for (uint32_t i = 0; i < n && !rc;) {
		uint64_t slice = ex[i].off / GL_NS_SLICE;
		struct extents x = {0};

		rc = slice_get(o, vid, ino, slice, &x);
		for (; i < n && !rc && ex[i].off / GL_NS_SLICE == slice; i++) {
			const struct gl_ns_extent *e = &ex[i];

			rc = cut_range(&x, e->off, e->off + e->len, &rf, &bytes);
			if (!rc)
				rc = ext_push(&x, e);
			if (!rc)
				rc = ref_add(&rf, e->pool, e->chunk, 1);
			bytes += e->len;
			if (!rc && x.n > MAX_SLICE_EXTENTS)
				rc = -GL_E2BIG;
		}
		if (!rc) {
			qsort(x.e, x.n, sizeof(*x.e), ext_cmp);
			slice_put(o, vid, ino, slice, &x);
		}
		free(x.e);
	}
	if (rc)
		goto out;
	if (bytes > 0 && v.policy.quota_bytes &&
	    v.used_bytes + (uint64_t)bytes > v.policy.quota_bytes) {
		rc = -GL_EDQUOT;
		goto out;
	}
	if ((rc = refs_commit(o, &rf)))
		goto out;
	wtail_index(o, vid, &t);
	v.used_bytes = (uint64_t)((int64_t)v.used_bytes + bytes);
	in.a.blocks = (uint64_t)((int64_t)in.a.blocks + bytes / 512);
	if (size > in.a.size)
		in.a.size = size;
	in.a.mtime_ns = mtime ? mtime : o->now;
	in.a.ctime_ns = o->now;
	inode_put(o, vid, &in);
	vol_put(o, &v);
	gl_ns_attr_put(reply, &in.a);
out:
	free(rf.r);
	free(ex);
	return rc;
}

static int op_forget(struct op *o, struct gl_rbuf *r)
{
	uint32_t vid = gl_get_u32(r);
	uint64_t ino = gl_get_u64(r);
	uint8_t k[32], *val;
	size_t vl;
	struct gl_ns_vol v;
	struct inode in;
	int rc;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if ((rc = vol_access(o, vid, &v)))
		return rc;
	if (op_get(o, k, k_orphan(k, vid, ino), &val, &vl))
		return 0; /* not an orphan: nothing to do */
	free(val);
	if ((rc = inode_get(o, vid, ino, &in)))
		return rc;
	if (in.a.nlink)
		return 0;
	rc = inode_free(o, &v, &in);
	if (!rc)
		vol_put(o, &v);
	return rc;
}

int ns_tree_apply(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	switch (opc) {
	case GL_NS_MKNOD:
	case GL_NS_MKDIR:
	case GL_NS_SYMLINK:
		return op_create(o, opc, r, reply);
	case GL_NS_LINK:
		return op_link(o, r, reply);
	case GL_NS_UNLINK:
	case GL_NS_RMDIR:
		return op_unlink(o, opc, r, reply);
	case GL_NS_RENAME:
		return op_rename(o, r, reply);
	case GL_NS_SETATTR:
		return op_setattr(o, r, reply);
	case GL_NS_SETXATTR:
	case GL_NS_RMXATTR:
		return op_xattr(o, opc, r);
	case GL_NS_WRITE:
		return op_write(o, r, reply);
	case GL_NS_FORGET:
		return op_forget(o, r);
	default:
		return -GL_EBADOP;
	}
}

/* ---- reads ---- */

struct rd {
	struct op *o;
	uint32_t vol;
	struct gl_wbuf *out;
	uint32_t n, max;
	int plus, more;
};

static int readdir_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct rd *d = arg;
	char name[GL_NS_NAME_MAX + 1];
	struct dent de;
	struct inode in;
	uint64_t dir;

	if (kl != 21 || vl == 0 || vl > GL_NS_NAME_MAX)
		return 0;
	if (d->n >= d->max) {
		d->more = 1;
		return 1;
	}
	memcpy(name, v, vl);
	name[vl] = '\0';
	dir = rdbe64(k + 5);
	if (dent_get(d->o, d->vol, dir, name, &de))
		return 0;
	gl_put_u64(d->out, rdbe64(k + 13));
	gl_put_u64(d->out, de.ino);
	gl_put_u32(d->out, de.mode);
	gl_put_str(d->out, name);
	if (d->plus) {
		if (inode_get(d->o, d->vol, de.ino, &in))
			memset(&in, 0, sizeof(in));
		gl_ns_attr_put(d->out, &in.a);
	}
	d->n++;
	return 0;
}

struct lx {
	struct gl_wbuf *out;
	uint32_t n;
};

static int listxattr_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct lx *l = arg;

	(void)v;
	(void)vl;
	gl_put_u16(l->out, (uint16_t)(kl - 13));
	gl_put_bytes(l->out, k + 13, kl - 13);
	l->n++;
	return 0;
}

int ns_tree_read(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	uint32_t vid = gl_get_u32(r);
	uint64_t ino = gl_get_u64(r);
	struct gl_ns_vol v;
	struct inode in;
	int rc;

	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	switch (opc) {
	case GL_NS_LOOKUP: {
		char name[GL_NS_NAME_MAX + 1];
		struct dent d;

		if ((rc = get_name(r, name)))
			return rc;
		if ((rc = vol_access(o, vid, &v)) || (rc = dir_get(o, vid, ino, &in)) ||
		    (rc = dent_get(o, vid, ino, name, &d)) || (rc = inode_get(o, vid, d.ino, &in)))
			return rc;
		gl_ns_attr_put(reply, &in.a);
		return 0;
	}
	case GL_NS_GETATTR:
	case GL_NS_READLINK:
		if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
			return rc;
		if (opc == GL_NS_GETATTR) {
			gl_ns_attr_put(reply, &in.a);
			return 0;
		}
		if (!S_ISLNK(in.a.mode))
			return -GL_EINVAL;
		gl_put_str(reply, in.target);
		return 0;
	case GL_NS_READDIR: {
		uint64_t cookie = gl_get_u64(r);
		uint32_t max = gl_get_u32(r);
		uint8_t plus = gl_get_u8(r), p[32], start[32];
		struct rd d = {o, vid, reply, 0, max ? max : 1024, plus, 0};
		size_t at, pl;

		if (gl_rbuf_check(r))
			return -GL_EPROTO;
		if (d.max > 4096)
			d.max = 4096;
		if ((rc = vol_access(o, vid, &v)) || (rc = dir_get(o, vid, ino, &in)))
			return rc;
		at = reply->len;
		gl_put_u8(reply, 0);
		gl_put_u32(reply, 0);
		pl = k_prefix(p, 'e', vid, ino);
		k_dord(start, vid, ino, cookie == UINT64_MAX ? cookie : cookie + 1);
		if (cookie != UINT64_MAX)
			op_scan(o, p, pl, start, 21, readdir_cb, &d);
		if (reply->err)
			return -GL_ENOMEM;
		reply->p[at] = (uint8_t)!d.more;
		gl_le32(reply->p + at + 1, d.n);
		return 0;
	}
	case GL_NS_GETXATTR: {
		uint16_t nl = gl_get_u16(r);
		const uint8_t *n = gl_get_bytes(r, nl);
		char name[GL_NS_XNAME_MAX + 1];
		uint8_t k[KEY_MAX + GL_NS_XNAME_MAX], *val;
		size_t vl;

		if (!n)
			return -GL_EPROTO;
		if (nl == 0 || nl > GL_NS_XNAME_MAX || memchr(n, 0, nl))
			return nl > GL_NS_XNAME_MAX ? -GL_ERANGE : -GL_EINVAL;
		memcpy(name, n, nl);
		name[nl] = '\0';
		if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
			return rc;
		rc = op_get(o, k, k_xattr(k, vid, ino, name), &val, &vl);
		if (rc)
			return rc == -GL_ENOENT ? -GL_ENODATA : rc;
		gl_put_u32(reply, (uint32_t)vl);
		gl_put_bytes(reply, val, vl);
		free(val);
		return 0;
	}
	case GL_NS_LISTXATTR: {
		uint8_t p[32];
		size_t pl, at;
		struct lx l = {reply, 0};

		if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
			return rc;
		at = reply->len;
		gl_put_u32(reply, 0);
		pl = k_prefix(p, 'x', vid, ino);
		op_scan(o, p, pl, NULL, 0, listxattr_cb, &l);
		if (reply->err)
			return -GL_ENOMEM;
		gl_le32(reply->p + at, l.n);
		return 0;
	}
	case GL_NS_LAYOUT: {
		uint64_t off = gl_get_u64(r), len = gl_get_u64(r), end;
		size_t at;
		uint32_t n = 0;

		if (gl_rbuf_check(r))
			return -GL_EPROTO;
		if ((rc = vol_access(o, vid, &v)) || (rc = inode_get(o, vid, ino, &in)))
			return rc;
		if (S_ISDIR(in.a.mode))
			return -GL_EISDIR;
		gl_ns_attr_put(reply, &in.a);
		at = reply->len;
		gl_put_u32(reply, 0);
		end = len > GL_NS_MAX_FILE_SIZE ? GL_NS_MAX_FILE_SIZE : off + len;
		if (end > in.a.size)
			end = in.a.size;
		if (len > 64ull * GL_NS_SLICE && off + 64ull * GL_NS_SLICE < end)
			end = off + 64ull * GL_NS_SLICE; /* a bounded answer: ask again for more */
		for (uint64_t s = off / GL_NS_SLICE; off < end && s <= (end - 1) / GL_NS_SLICE;
		     s++) {
			struct extents x = {0};

			rc = slice_get(o, vid, ino, s, &x);
			for (uint32_t i = 0; !rc && i < x.n; i++) {
				if (x.e[i].off + x.e[i].len <= off || x.e[i].off >= end)
					continue;
				gl_ns_extent_put(reply, &x.e[i]);
				n++;
			}
			free(x.e);
			if (rc)
				return rc;
		}
		if (reply->err)
			return -GL_ENOMEM;
		gl_le32(reply->p + at, n);
		return 0;
	}
	default:
		return -GL_EBADOP;
	}
}

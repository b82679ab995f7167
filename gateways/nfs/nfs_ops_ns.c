/* NFSv3 procedures that change the namespace: CREATE (UNCHECKED, GUARDED, EXCLUSIVE), MKDIR,
 * SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK. Each answers with the directory's WCC data. */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/nfs/nfs_internal.h"

#include <string.h>
#include <sys/sysmacros.h>

#define S_DIR(m) (((m)&0170000) == 0040000)

/* A directory being changed: resolved, checked, its attributes before. */
struct dirop {
	struct nfs_vol *v;
	struct glory_attr pre, post;
	int have_pre, have_post;
};

static int dot(const char *n)
{
	return !strcmp(n, ".") || !strcmp(n, "..");
}

/* Resolves d->dir for a change of name d->name: NFS3_OK or why not. */
static uint32_t dirop_begin(struct nfs_req *r, const struct nfs_diropargs3 *d, struct dirop *o)
{
	uint32_t st = nfs_resolve(r, &d->dir, &o->v, &o->pre);

	o->have_pre = st == NFS3_OK;
	o->have_post = 0;
	if (st != NFS3_OK)
		return st;
	if (!S_DIR(o->pre.mode))
		return NFS3ERR_NOTDIR;
	if (o->v->ex.ro)
		return NFS3ERR_ROFS;
	if (d->too_long)
		return NFS3ERR_NAMETOOLONG;
	if (!d->name[0] || strchr(d->name, '/'))
		return NFS3ERR_INVAL;
	return nfs_may(&r->cred, &o->pre, 3);
}

static void dirop_wcc(struct nfs_req *r, struct dirop *o)
{
	if (o->have_pre)
		o->have_post = nfs_getattr(r->s, o->v, o->pre.ino, &o->post) == 0;
	nfs_put_wcc(r->out, o->v, o->have_pre ? &o->pre : NULL, o->have_post ? &o->post : NULL);
}

/* The reply of CREATE, MKDIR, SYMLINK, MKNOD. */
static void reply_new(struct nfs_req *r, struct dirop *o, uint32_t st, const struct glory_attr *a)
{
	nx_put_u32(r->out, st);
	if (st == NFS3_OK) {
		nfs_put_post_fh(r->out, o->v, a);
		nfs_put_post_attr(r->out, o->v, a);
	}
	dirop_wcc(r, o);
}

/* What a sattr3 asks beyond the mode and owner a new inode was made with. */
static int apply_rest(struct nfs_req *r, struct nfs_vol *v, struct glory_attr *a,
		      const struct nfs_sattr3 *s)
{
	struct nfs_sattr3 rest = *s;

	rest.set_mode = 0;
	rest.set_uid = s->set_uid && s->uid != a->uid;
	rest.set_gid = s->set_gid && s->gid != a->gid;
	if (!rest.set_uid && !rest.set_gid && !rest.set_size && !rest.atime_how && !rest.mtime_how)
		return 0;
	return nfs_apply_sattr(r, v, a->ino, &rest, a);
}

static uint32_t mode_of(const struct nfs_sattr3 *s, uint32_t dflt)
{
	return s->set_mode ? s->mode & 07777 : dflt;
}

/* EXCLUSIVE: the verifier is kept in the new file's atime and mtime (seconds), where a
 * retransmitted CREATE finds it; the client sets the real times with SETATTR afterwards. */
static int verf_matches(const struct glory_attr *a, const uint8_t *verf)
{
	uint32_t hi = (uint32_t)verf[0] << 24 | (uint32_t)verf[1] << 16 | verf[2] << 8 | verf[3];
	uint32_t lo = (uint32_t)verf[4] << 24 | (uint32_t)verf[5] << 16 | verf[6] << 8 | verf[7];

	return a->atime_ns == (int64_t)hi * 1000000000 && a->mtime_ns == (int64_t)lo * 1000000000;
}

static int create_exclusive(struct nfs_req *r, struct dirop *o, const char *name,
			    const uint8_t *verf, struct glory_attr *a)
{
	struct nfs_sattr3 t;
	int rc = glory_create(o->v->v, o->pre.ino, name, 0100644, r->cred.uid, r->cred.gid, 1, a);

	if (rc == -GL_EEXIST) {
		if (glory_lookup(o->v->v, o->pre.ino, name, a) == 0 && verf_matches(a, verf))
			return 0; /* our own CREATE, retransmitted */
		return rc;
	}
	if (rc)
		return rc;
	memset(&t, 0, sizeof(t));
	t.atime_how = t.mtime_how = NFS3_SET_TO_CLIENT_TIME;
	t.atime.sec = (uint32_t)verf[0] << 24 | (uint32_t)verf[1] << 16 | verf[2] << 8 | verf[3];
	t.mtime.sec = (uint32_t)verf[4] << 24 | (uint32_t)verf[5] << 16 | verf[6] << 8 | verf[7];
	return nfs_apply_sattr(r, o->v, a->ino, &t, a);
}

void nfs3_create(struct nfs_req *r, union nfs3_args *a)
{
	struct dirop o;
	struct glory_attr at;
	const char *name = a->create.where.name;
	uint32_t st = dirop_begin(r, &a->create.where, &o);
	int rc = 0;

	if (st == NFS3_OK && dot(name))
		st = NFS3ERR_EXIST;
	if (st == NFS3_OK && a->create.mode == NFS3_EXCLUSIVE) {
		rc = create_exclusive(r, &o, name, a->create.verf, &at);
	} else if (st == NFS3_OK) {
		rc = glory_create(o.v->v, o.pre.ino, name, 0100000 | mode_of(&a->create.attr, 0644),
				  r->cred.uid, r->cred.gid, a->create.mode == NFS3_GUARDED, &at);
		if (!rc && a->create.attr.set_size && at.size != a->create.attr.size &&
		    r->cred.uid != at.uid && r->cred.uid != 0 && nfs_may(&r->cred, &at, 2))
			st = NFS3ERR_ACCES; /* truncating someone else's file */
		else if (!rc)
			rc = apply_rest(r, o.v, &at, &a->create.attr);
	}
	if (st == NFS3_OK)
		st = nfs_stat_of(rc);
	reply_new(r, &o, st, &at);
}

void nfs3_mkdir(struct nfs_req *r, union nfs3_args *a)
{
	struct dirop o;
	struct glory_attr at;
	uint32_t st = dirop_begin(r, &a->mkdir.where, &o);
	int rc = 0;

	if (st == NFS3_OK && dot(a->mkdir.where.name))
		st = NFS3ERR_EXIST;
	if (st == NFS3_OK) {
		rc = glory_mkdir(o.v->v, o.pre.ino, a->mkdir.where.name,
				 0040000 | mode_of(&a->mkdir.attr, 0755), r->cred.uid, r->cred.gid,
				 &at);
		if (!rc)
			rc = apply_rest(r, o.v, &at, &a->mkdir.attr);
		st = nfs_stat_of(rc);
	}
	reply_new(r, &o, st, &at);
}

void nfs3_symlink(struct nfs_req *r, union nfs3_args *a)
{
	struct dirop o;
	struct glory_attr at;
	uint32_t st = dirop_begin(r, &a->symlink.where, &o);

	if (st == NFS3_OK && dot(a->symlink.where.name))
		st = NFS3ERR_EXIST;
	if (st == NFS3_OK && !a->symlink.path[0])
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK)
		st = nfs_stat_of(glory_symlink(o.v->v, o.pre.ino, a->symlink.where.name,
					       a->symlink.path, r->cred.uid, r->cred.gid, &at));
	reply_new(r, &o, st, &at);
}

void nfs3_mknod(struct nfs_req *r, union nfs3_args *a)
{
	static const uint32_t fmt[] = {
	    [NF3CHR] = 0020000, [NF3BLK] = 0060000, [NF3SOCK] = 0140000, [NF3FIFO] = 0010000};
	struct dirop o;
	struct glory_attr at;
	uint32_t st = dirop_begin(r, &a->mknod.where, &o), type = a->mknod.type;
	uint64_t rdev = 0;

	if (st == NFS3_OK && (type >= GL_ARRAY_SIZE(fmt) || !fmt[type]))
		st = NFS3ERR_BADTYPE;
	if (st == NFS3_OK && dot(a->mknod.where.name))
		st = NFS3ERR_EXIST;
	if (st == NFS3_OK && (type == NF3CHR || type == NF3BLK)) {
		if (r->cred.uid != 0)
			st = NFS3ERR_PERM; /* devices: root only, as mknod(2) */
		rdev = makedev(a->mknod.major, a->mknod.minor);
	}
	if (st == NFS3_OK)
		st = nfs_stat_of(glory_mknod(o.v->v, o.pre.ino, a->mknod.where.name,
					     fmt[type] | mode_of(&a->mknod.attr, 0644), r->cred.uid,
					     r->cred.gid, rdev, &at));
	reply_new(r, &o, st, &at);
}

void nfs3_remove(struct nfs_req *r, union nfs3_args *a)
{
	struct dirop o;
	struct glory_attr at;
	uint32_t st = dirop_begin(r, &a->dirop, &o);
	int rc = 0;

	if (st == NFS3_OK && dot(a->dirop.name))
		st = NFS3ERR_ISDIR;
	if (st == NFS3_OK && (rc = glory_lookup(o.v->v, o.pre.ino, a->dirop.name, &at)) == 0) {
		if (S_DIR(at.mode))
			st = NFS3ERR_ISDIR;
		else {
			nfs_open_close(r->s, o.v->id, at.ino);
			rc = glory_unlink(o.v->v, o.pre.ino, a->dirop.name);
		}
	}
	if (st == NFS3_OK)
		st = nfs_stat_of(rc);
	nx_put_u32(r->out, st);
	dirop_wcc(r, &o);
}

void nfs3_rmdir(struct nfs_req *r, union nfs3_args *a)
{
	struct dirop o;
	uint32_t st = dirop_begin(r, &a->dirop, &o);

	if (st == NFS3_OK && !strcmp(a->dirop.name, "."))
		st = NFS3ERR_INVAL;
	else if (st == NFS3_OK && !strcmp(a->dirop.name, ".."))
		st = NFS3ERR_NOTEMPTY;
	if (st == NFS3_OK)
		st = nfs_stat_of(glory_rmdir(o.v->v, o.pre.ino, a->dirop.name));
	nx_put_u32(r->out, st);
	dirop_wcc(r, &o);
}

void nfs3_rename(struct nfs_req *r, union nfs3_args *a)
{
	struct dirop from, to;
	struct glory_attr at;
	uint32_t st = dirop_begin(r, &a->rename.from, &from), st2;

	st2 = dirop_begin(r, &a->rename.to, &to);
	if (st == NFS3_OK)
		st = st2;
	if (st == NFS3_OK && from.v != to.v)
		st = NFS3ERR_XDEV;
	if (st == NFS3_OK && (dot(a->rename.from.name) || dot(a->rename.to.name)))
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK) {
		if (glory_lookup(to.v->v, to.pre.ino, a->rename.to.name, &at) == 0)
			nfs_open_close(r->s, to.v->id, at.ino); /* replaced: commit it first */
		st = nfs_stat_of(glory_rename(from.v->v, from.pre.ino, a->rename.from.name,
					      to.pre.ino, a->rename.to.name, 0));
	}
	nx_put_u32(r->out, st);
	dirop_wcc(r, &from);
	dirop_wcc(r, &to);
}

void nfs3_link(struct nfs_req *r, union nfs3_args *a)
{
	struct dirop o;
	struct nfs_vol *fv;
	struct glory_attr file, after;
	uint32_t st = nfs_resolve(r, &a->link.fh, &fv, &file), st2;
	int have = st == NFS3_OK, have_after = 0;

	st2 = dirop_begin(r, &a->link.link, &o);
	if (st == NFS3_OK)
		st = st2;
	if (st == NFS3_OK && fv != o.v)
		st = NFS3ERR_XDEV;
	if (st == NFS3_OK && S_DIR(file.mode))
		st = NFS3ERR_ISDIR;
	if (st == NFS3_OK && dot(a->link.link.name))
		st = NFS3ERR_EXIST;
	if (st == NFS3_OK)
		st =
		    nfs_stat_of(glory_link(o.v->v, file.ino, o.pre.ino, a->link.link.name, &after));
	if (have)
		have_after = nfs_getattr(r->s, fv, file.ino, &after) == 0;
	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, fv, have_after ? &after : NULL);
	dirop_wcc(r, &o);
}

/* NFSv3 procedures on attributes and lookups: GETATTR, SETATTR, LOOKUP, ACCESS, READLINK,
 * FSSTAT, FSINFO, PATHCONF. */
#include "common/errors.h"
#include "gateways/nfs/nfs_internal.h"

#include <string.h>
#include <time.h>

#define S_DIR(m) (((m)&0170000) == 0040000)
#define S_REG(m) (((m)&0170000) == 0100000)

void nfs3_getattr(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr at;
	uint32_t st = nfs_resolve(r, &a->fh, &v, &at);

	nx_put_u32(r->out, st);
	if (st == NFS3_OK)
		nfs_put_fattr(r->out, v, &at);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Who may change what (as a local filesystem decides it); 0 or an NFS3 status. */
static uint32_t setattr_allowed(const struct nfs_cred *c, const struct glory_attr *at,
				const struct nfs_sattr3 *s)
{
	int owner = c->uid == 0 || c->uid == at->uid;

	if (s->set_mode && !owner)
		return NFS3ERR_PERM;
	if (s->set_uid && s->uid != at->uid && c->uid != 0)
		return NFS3ERR_PERM;
	if (s->set_gid && s->gid != at->gid && c->uid != 0) {
		int member = c->gid == s->gid;

		for (uint32_t i = 0; i < c->ngids; i++)
			member |= c->gids[i] == s->gid;
		if (!owner || !member)
			return NFS3ERR_PERM;
	}
	if ((s->atime_how == NFS3_SET_TO_CLIENT_TIME || s->mtime_how == NFS3_SET_TO_CLIENT_TIME) &&
	    !owner)
		return NFS3ERR_PERM;
	if ((s->atime_how == NFS3_SET_TO_SERVER_TIME || s->mtime_how == NFS3_SET_TO_SERVER_TIME ||
	     s->set_size) &&
	    !owner && nfs_may(c, at, 2))
		return NFS3ERR_ACCES;
	if (s->set_size && S_DIR(at->mode))
		return NFS3ERR_ISDIR;
	if (s->set_size && !S_REG(at->mode))
		return NFS3ERR_INVAL;
	return 0;
}

/* Applies a sattr3 (permissions already checked). */
int nfs_apply_sattr(struct nfs_req *r, struct nfs_vol *v, uint64_t ino, const struct nfs_sattr3 *s,
		    struct glory_attr *out)
{
	struct glory_attr in;
	unsigned valid = 0;
	int rc;

	memset(&in, 0, sizeof(in));
	if (s->set_mode) {
		in.mode = s->mode & 07777;
		valid |= GLORY_SET_MODE;
	}
	if (s->set_uid) {
		in.uid = s->uid;
		valid |= GLORY_SET_UID;
	}
	if (s->set_gid) {
		in.gid = s->gid;
		valid |= GLORY_SET_GID;
	}
	if (s->set_size) {
		in.size = s->size;
		valid |= GLORY_SET_SIZE;
		/* what is buffered lands first, then the size cuts or extends it */
		if ((rc = nfs_open_close(r->s, v->id, ino)))
			return rc;
	}
	if (s->atime_how != NFS3_DONT_CHANGE) {
		in.atime_ns = s->atime_how == NFS3_SET_TO_SERVER_TIME
				  ? now_ns()
				  : (int64_t)s->atime.sec * 1000000000 + s->atime.nsec;
		valid |= GLORY_SET_ATIME;
	}
	if (s->mtime_how != NFS3_DONT_CHANGE) {
		in.mtime_ns = s->mtime_how == NFS3_SET_TO_SERVER_TIME
				  ? now_ns()
				  : (int64_t)s->mtime.sec * 1000000000 + s->mtime.nsec;
		valid |= GLORY_SET_MTIME;
	}
	if (!valid)
		return nfs_getattr(r->s, v, ino, out);
	rc = glory_setattr(v->v, ino, valid, &in, out);
	if (!rc && (valid & GLORY_SET_SIZE)) {
		struct nfs_open *o = nfs_open_find(r->s, v->id, ino);

		if (o) { /* reopened meanwhile: drop its cached layout */
			glory_file_invalidate(o->f);
			nfs_open_put(r->s, o);
		}
	}
	return rc;
}

void nfs3_setattr(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr pre, post;
	uint32_t st = nfs_resolve(r, &a->setattr.fh, &v, &pre);
	struct nfs_handle h;
	int rc;

	if (st != NFS3_OK) {
		nx_put_u32(r->out, st);
		nfs_put_wcc(r->out, v, NULL, NULL);
		return;
	}
	if (a->setattr.check && ((uint64_t)a->setattr.ctime.sec * 1000000000 +
				 a->setattr.ctime.nsec) != (uint64_t)pre.ctime_ns)
		st = NFS3ERR_NOT_SYNC;
	else if (v->ex.ro)
		st = NFS3ERR_ROFS;
	else
		st = setattr_allowed(&r->cred, &pre, &a->setattr.attr);
	if (st != NFS3_OK) {
		nx_put_u32(r->out, st);
		nfs_put_wcc(r->out, v, &pre, &pre);
		return;
	}
	nfs_fh_decode(&a->setattr.fh, &h);
	rc = nfs_apply_sattr(r, v, h.ino, &a->setattr.attr, &post);
	nx_put_u32(r->out, nfs_stat_of(rc));
	nfs_put_wcc(r->out, v, &pre, rc ? NULL : &post);
}

void nfs3_lookup(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr dir, obj;
	uint32_t st = nfs_resolve(r, &a->dirop.dir, &v, &dir);
	int rc = 0;

	if (st != NFS3_OK) {
		nx_put_u32(r->out, st);
		nfs_put_post_attr(r->out, v, NULL);
		return;
	}
	if (!S_DIR(dir.mode))
		st = NFS3ERR_NOTDIR;
	else if (a->dirop.too_long)
		st = NFS3ERR_NAMETOOLONG;
	else if (nfs_may(&r->cred, &dir, 1))
		st = NFS3ERR_ACCES;
	else if (!strcmp(a->dirop.name, ".") ||
		 (!strcmp(a->dirop.name, "..") && dir.ino == GLORY_ROOT))
		obj = dir;
	else if (!strcmp(a->dirop.name, "..") || !a->dirop.name[0])
		st = NFS3ERR_NOENT; /* no parent links in libglory (yet) */
	else if ((rc = glory_lookup(v->v, dir.ino, a->dirop.name, &obj)) == 0)
		rc = nfs_getattr(r->s, v, obj.ino, &obj);
	if (st == NFS3_OK)
		st = nfs_stat_of(rc);
	nx_put_u32(r->out, st);
	if (st == NFS3_OK) {
		struct nfs_fh3 fh;

		nfs_handle_of(v, &obj, &fh);
		nx_put_opaque(r->out, fh.data, fh.len);
		nfs_put_post_attr(r->out, v, &obj);
	}
	nfs_put_post_attr(r->out, v, &dir);
}

void nfs3_access(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr at;
	uint32_t st = nfs_resolve(r, &a->access.fh, &v, &at), got;

	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, v, st == NFS3_OK ? &at : NULL);
	if (st != NFS3_OK)
		return;
	got = nfs_access_bits(&r->cred, &at, a->access.access);
	if (v->ex.ro)
		got &= ~(uint32_t)(NFS3_ACCESS_MODIFY | NFS3_ACCESS_EXTEND | NFS3_ACCESS_DELETE);
	nx_put_u32(r->out, got);
}

void nfs3_readlink(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr at;
	char target[NFS3_PATH_MAX + 1];
	uint32_t st = nfs_resolve(r, &a->fh, &v, &at);
	int have = st == NFS3_OK;

	if (st == NFS3_OK && (at.mode & 0170000) != 0120000)
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK)
		st = nfs_stat_of(glory_readlink(v->v, at.ino, target, sizeof(target)));
	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, v, have ? &at : NULL);
	if (st == NFS3_OK)
		nx_put_string(r->out, target);
}

void nfs3_fsstat(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr at;
	struct glory_statfs sf;
	uint32_t st = nfs_resolve(r, &a->fh, &v, &at);
	int have = st == NFS3_OK;

	if (st == NFS3_OK)
		st = nfs_stat_of(glory_statfs(v->v, &sf));
	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, v, have ? &at : NULL);
	if (st != NFS3_OK)
		return;
	nx_put_u64(r->out, sf.bytes_total);
	nx_put_u64(r->out, sf.bytes_free);
	nx_put_u64(r->out, sf.bytes_free); /* available to the caller: quotas are per volume */
	nx_put_u64(r->out, sf.inodes_total);
	nx_put_u64(r->out, sf.inodes_free);
	nx_put_u64(r->out, sf.inodes_free);
	nx_put_u32(r->out, 0); /* invarsec: it changes any time */
}

#define FSF3_LINK	 0x0001
#define FSF3_SYMLINK	 0x0002
#define FSF3_HOMOGENEOUS 0x0008
#define FSF3_CANSETTIME	 0x0010

void nfs3_fsinfo(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr at;
	uint32_t st = nfs_resolve(r, &a->fh, &v, &at);

	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, v, st == NFS3_OK ? &at : NULL);
	if (st != NFS3_OK)
		return;
	nx_put_u32(r->out, NFS_MAX_IO); /* rtmax */
	nx_put_u32(r->out, NFS_MAX_IO); /* rtpref */
	nx_put_u32(r->out, 4096);	/* rtmult */
	nx_put_u32(r->out, NFS_MAX_IO); /* wtmax */
	nx_put_u32(r->out, NFS_MAX_IO); /* wtpref */
	nx_put_u32(r->out, 4096);	/* wtmult */
	nx_put_u32(r->out, 64 * 1024);	/* dtpref */
	nx_put_u64(r->out, INT64_MAX);	/* maxfilesize */
	nx_put_u32(r->out, 0);		/* time_delta: 1 ns */
	nx_put_u32(r->out, 1);
	nx_put_u32(r->out, FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
}

void nfs3_pathconf(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr at;
	uint32_t st = nfs_resolve(r, &a->fh, &v, &at);

	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, v, st == NFS3_OK ? &at : NULL);
	if (st != NFS3_OK)
		return;
	nx_put_u32(r->out, 65000);	   /* linkmax */
	nx_put_u32(r->out, NFS3_NAME_MAX); /* name_max */
	nx_put_u32(r->out, 1);		   /* no_trunc: long names are refused */
	nx_put_u32(r->out, 1);		   /* chown_restricted */
	nx_put_u32(r->out, 0);		   /* case_insensitive */
	nx_put_u32(r->out, 1);		   /* case_preserving */
}

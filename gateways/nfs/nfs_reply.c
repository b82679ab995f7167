/* Reply pieces shared by the procedures: status mapping, attributes, WCC data, handles. */
#include "common/errors.h"
#include "gateways/nfs/nfs_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

uint32_t nfs_stat_of(int rc)
{
	switch (rc) {
	case 0:
		return NFS3_OK;
	case -GL_ENOENT:
		return NFS3ERR_NOENT;
	case -GL_EEXIST:
		return NFS3ERR_EXIST;
	case -GL_ENOTDIR:
		return NFS3ERR_NOTDIR;
	case -GL_EISDIR:
		return NFS3ERR_ISDIR;
	case -GL_ENOTEMPTY:
		return NFS3ERR_NOTEMPTY;
	case -GL_EDQUOT:
		return NFS3ERR_DQUOT;
	case -GL_ENOSPC:
		return NFS3ERR_NOSPC;
	case -GL_ENAMETOOLONG:
		return NFS3ERR_NAMETOOLONG;
	case -GL_EACCES:
	case -GL_EAUTH:
		return NFS3ERR_ACCES;
	case -GL_EPERM:
		return NFS3ERR_PERM;
	case -GL_EFBIG:
		return NFS3ERR_FBIG;
	case -GL_EINVAL:
	case -GL_ERANGE:
		return NFS3ERR_INVAL;
	case -GL_EXDEV:
		return NFS3ERR_XDEV;
	case -GL_EMLINK:
		return NFS3ERR_MLINK;
	case -GL_ENOTSUP:
		return NFS3ERR_NOTSUPP;
	case -GL_ETIMEDOUT:
	case -GL_ECONN:
	case -GL_ECLOSED:
	case -GL_EAGAIN:
	case -GL_ENOTLEADER:
	case -GL_EMOVED:
	case -GL_EBUSY:
		return NFS3ERR_JUKEBOX; /* the cluster is busy: the client retries later */
	case -GL_EUNAVAIL: /* a chunk's fragments cannot be gathered even after libglory asked
			    * for a fresh cluster map: lost or corrupt, not busy */
		return NFS3ERR_IO;
	case -GL_ENOMEM:
		return NFS3ERR_SERVERFAULT;
	default:
		return NFS3ERR_IO;
	}
}

static uint32_t ftype(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0040000:
		return NF3DIR;
	case 0120000:
		return NF3LNK;
	case 0060000:
		return NF3BLK;
	case 0020000:
		return NF3CHR;
	case 0140000:
		return NF3SOCK;
	case 0010000:
		return NF3FIFO;
	default:
		return NF3REG;
	}
}

static void put_time(struct nx_out *o, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	nx_put_u32(o, (uint32_t)(ns / 1000000000));
	nx_put_u32(o, (uint32_t)(ns % 1000000000));
}

int nfs_getattr(struct nfs_srv *s, struct nfs_vol *v, uint64_t ino, struct glory_attr *a)
{
	struct nfs_open *o;
	int rc = glory_getattr(v->v, ino, a);

	if (!rc && (o = nfs_open_find(s, v->id, ino))) {
		uint64_t end = atomic_load(&o->end);

		if (end > a->size)
			a->size = end;
		nfs_open_put(s, o);
	}
	return rc;
}

void nfs_put_fattr(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *a)
{
	nx_put_u32(o, ftype(a->mode));
	nx_put_u32(o, a->mode & 07777);
	nx_put_u32(o, a->nlink);
	nx_put_u32(o, a->uid);
	nx_put_u32(o, a->gid);
	nx_put_u64(o, a->size);
	nx_put_u64(o, a->blocks * 512);
	nx_put_u32(o, major((dev_t)a->rdev)); /* specdata3 */
	nx_put_u32(o, minor((dev_t)a->rdev));
	nx_put_u64(o, v->id); /* fsid: one filesystem per volume */
	nx_put_u64(o, a->ino);
	put_time(o, a->atime_ns);
	put_time(o, a->mtime_ns);
	put_time(o, a->ctime_ns);
}

void nfs_put_post_attr(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *a)
{
	nx_put_u32(o, a != NULL);
	if (a)
		nfs_put_fattr(o, v, a);
}

void nfs_put_wcc(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *pre,
		 const struct glory_attr *post)
{
	nx_put_u32(o, pre != NULL);
	if (pre) {
		nx_put_u64(o, pre->size);
		put_time(o, pre->mtime_ns);
		put_time(o, pre->ctime_ns);
	}
	nfs_put_post_attr(o, v, post);
}

void nfs_handle_of(const struct nfs_vol *v, const struct glory_attr *a, struct nfs_fh3 *fh)
{
	struct nfs_handle h = {v->id, a->ino, (uint64_t)a->btime_ns};

	nfs_fh_encode(&h, fh);
}

void nfs_put_post_fh(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *a)
{
	struct nfs_fh3 fh;

	nx_put_u32(o, a != NULL);
	if (a) {
		nfs_handle_of(v, a, &fh);
		nx_put_opaque(o, fh.data, fh.len);
	}
}

uint32_t nfs_resolve(struct nfs_req *r, const struct nfs_fh3 *fh, struct nfs_vol **v,
		     struct glory_attr *a)
{
	struct nfs_handle h;
	int rc;

	*v = NULL;
	if (nfs_fh_decode(fh, &h))
		return NFS3ERR_BADHANDLE;
	if (!(*v = nfs_vol_by_id(r->s, h.vol)))
		return NFS3ERR_STALE;
	if (!nfs_export_allows(&(*v)->ex, r->peer)) {
		*v = NULL;
		return NFS3ERR_ACCES;
	}
	nfs_cred_for(r, *v);
	rc = nfs_getattr(r->s, *v, h.ino, a);
	if (rc == -GL_ENOENT || (!rc && (uint64_t)a->btime_ns != h.gen))
		return NFS3ERR_STALE;
	return nfs_stat_of(rc);
}

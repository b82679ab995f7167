/* Decoders of the NFSv3 procedures' arguments (RFC 1813 section 3.3). Pure: no allocation, every
 * length checked; the fuzz target runs them on arbitrary bytes. */
#include "gateways/nfs/nfs_proto.h"

#include <errno.h>
#include <string.h>

static void get_fh(struct nx_in *x, struct nfs_fh3 *fh)
{
	const uint8_t *b;

	fh->len = nx_opaque_view(x, NFS3_FHSIZE, &b);
	if (b)
		memcpy(fh->data, b, fh->len);
}

static void get_time(struct nx_in *x, struct nfs_time3 *t)
{
	t->sec = nx_u32(x);
	t->nsec = nx_u32(x);
}

static void get_sattr(struct nx_in *x, struct nfs_sattr3 *s)
{
	memset(s, 0, sizeof(*s));
	if ((s->set_mode = nx_bool(x)))
		s->mode = nx_u32(x);
	if ((s->set_uid = nx_bool(x)))
		s->uid = nx_u32(x);
	if ((s->set_gid = nx_bool(x)))
		s->gid = nx_u32(x);
	if ((s->set_size = nx_bool(x)))
		s->size = nx_u64(x);
	s->atime_how = nx_u32(x);
	if (s->atime_how == NFS3_SET_TO_CLIENT_TIME)
		get_time(x, &s->atime);
	else if (s->atime_how > NFS3_SET_TO_CLIENT_TIME)
		x->err = 1;
	s->mtime_how = nx_u32(x);
	if (s->mtime_how == NFS3_SET_TO_CLIENT_TIME)
		get_time(x, &s->mtime);
	else if (s->mtime_how > NFS3_SET_TO_CLIENT_TIME)
		x->err = 1;
}

/* A name longer than NFS3_NAME_MAX is valid XDR: it is skipped and flagged (NAMETOOLONG). */
static void get_dirop(struct nx_in *x, struct nfs_diropargs3 *d)
{
	const uint8_t *b;
	uint32_t n;

	get_fh(x, &d->dir);
	n = nx_opaque_view(x, NFS3_PATH_MAX, &b);
	d->name[0] = '\0';
	d->too_long = 0;
	if (!b)
		return;
	if (n > NFS3_NAME_MAX) {
		d->too_long = 1;
		return;
	}
	if (memchr(b, '\0', n)) {
		x->err = 1;
		return;
	}
	memcpy(d->name, b, n);
	d->name[n] = '\0';
}

int nfs3_decode_args(uint32_t proc, struct nx_in *x, union nfs3_args *a)
{
	memset(a, 0, sizeof(*a));
	switch (proc) {
	case NFS3_NULL:
		break;
	case NFS3_GETATTR:
	case NFS3_READLINK:
	case NFS3_FSSTAT:
	case NFS3_FSINFO:
	case NFS3_PATHCONF:
		get_fh(x, &a->fh);
		break;
	case NFS3_SETATTR:
		get_fh(x, &a->setattr.fh);
		get_sattr(x, &a->setattr.attr);
		if ((a->setattr.check = nx_bool(x)))
			get_time(x, &a->setattr.ctime);
		break;
	case NFS3_LOOKUP:
	case NFS3_REMOVE:
	case NFS3_RMDIR:
		get_dirop(x, &a->dirop);
		break;
	case NFS3_ACCESS:
		get_fh(x, &a->access.fh);
		a->access.access = nx_u32(x);
		break;
	case NFS3_READ:
	case NFS3_COMMIT:
		get_fh(x, &a->read.fh);
		a->read.offset = nx_u64(x);
		a->read.count = nx_u32(x);
		break;
	case NFS3_WRITE:
		get_fh(x, &a->write.fh);
		a->write.offset = nx_u64(x);
		a->write.count = nx_u32(x);
		a->write.stable = nx_u32(x);
		a->write.len = nx_opaque_view(x, NFS_MAX_IO, &a->write.data);
		if (a->write.stable > NFS3_FILE_SYNC)
			x->err = 1;
		break;
	case NFS3_CREATE:
		get_dirop(x, &a->create.where);
		a->create.mode = nx_u32(x);
		if (a->create.mode == NFS3_EXCLUSIVE)
			nx_fixed(x, a->create.verf, NFS3_VERF);
		else if (a->create.mode <= NFS3_GUARDED)
			get_sattr(x, &a->create.attr);
		else
			x->err = 1;
		break;
	case NFS3_MKDIR:
		get_dirop(x, &a->mkdir.where);
		get_sattr(x, &a->mkdir.attr);
		break;
	case NFS3_SYMLINK:
		get_dirop(x, &a->symlink.where);
		get_sattr(x, &a->symlink.attr);
		nx_string(x, a->symlink.path, NFS3_PATH_MAX);
		break;
	case NFS3_MKNOD:
		get_dirop(x, &a->mknod.where);
		a->mknod.type = nx_u32(x);
		switch (a->mknod.type) {
		case NF3CHR:
		case NF3BLK:
			get_sattr(x, &a->mknod.attr);
			a->mknod.major = nx_u32(x);
			a->mknod.minor = nx_u32(x);
			break;
		case NF3SOCK:
		case NF3FIFO:
			get_sattr(x, &a->mknod.attr);
			break;
		default: /* other types carry nothing; the server answers BADTYPE */
			break;
		}
		break;
	case NFS3_RENAME:
		get_dirop(x, &a->rename.from);
		get_dirop(x, &a->rename.to);
		break;
	case NFS3_LINK:
		get_fh(x, &a->link.fh);
		get_dirop(x, &a->link.link);
		break;
	case NFS3_READDIR:
		get_fh(x, &a->readdir.fh);
		a->readdir.cookie = nx_u64(x);
		nx_fixed(x, a->readdir.verf, NFS3_VERF);
		a->readdir.maxcount = nx_u32(x);
		break;
	case NFS3_READDIRPLUS:
		get_fh(x, &a->readdir.fh);
		a->readdir.cookie = nx_u64(x);
		nx_fixed(x, a->readdir.verf, NFS3_VERF);
		a->readdir.dircount = nx_u32(x);
		a->readdir.maxcount = nx_u32(x);
		break;
	default:
		return -ENOSYS;
	}
	return x->err ? -EPROTO : 0;
}

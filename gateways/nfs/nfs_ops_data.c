/* NFSv3 data procedures: READ, WRITE (UNSTABLE, DATA_SYNC, FILE_SYNC) and COMMIT. Every request
 * on a file goes through its shared open glory_file (nfs_open.c), so reads see buffered writes
 * and COMMIT commits what UNSTABLE writes left buffered. */
#include "common/errors.h"
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <string.h>

#define S_DIR(m) (((m)&0170000) == 0040000)
#define S_REG(m) (((m)&0170000) == 0100000)

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Reading and writing need the file's permission, except for its owner (an open file keeps
 * working after a chmod on a local filesystem; NFS has no open, so the owner is let through). */
static uint32_t io_allowed(const struct nfs_req *r, const struct glory_attr *at, int want)
{
	if (S_DIR(at->mode))
		return NFS3ERR_ISDIR;
	if (!S_REG(at->mode))
		return NFS3ERR_INVAL;
	if (r->cred.uid == at->uid)
		return NFS3_OK;
	return nfs_may(&r->cred, at, want) ? NFS3ERR_ACCES : NFS3_OK;
}

void nfs3_read(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr at;
	struct nfs_open *o = NULL;
	uint32_t st = nfs_resolve(r, &a->read.fh, &v, &at), count = a->read.count;
	int have = st == NFS3_OK, rc = 0;
	size_t start = r->out->len, head;
	ssize_t n = 0;
	uint8_t *data;

	if (st == NFS3_OK)
		st = io_allowed(r, &at, 4);
	if (st == NFS3_OK && !(o = nfs_open_get(r->s, v, at.ino, &rc)))
		st = nfs_stat_of(rc);
	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, v, have ? &at : NULL);
	if (st != NFS3_OK)
		return;
	if (count > NFS_MAX_IO)
		count = NFS_MAX_IO;
	if (a->read.offset >= at.size)
		count = 0;
	else if (at.size - a->read.offset < count)
		count = (uint32_t)(at.size - a->read.offset);
	if (atomic_exchange(&o->seen_ctime, at.ctime_ns) != at.ctime_ns)
		glory_file_invalidate(o->f); /* changed since: by us or by another client */
	head = r->out->len;
	nx_reserve(r->out, 12);
	data = nx_reserve(r->out, count);
	if (data && count)
		n = glory_pread(o->f, data, count, a->read.offset);
	nfs_open_put(r->s, o);
	if (r->out->err)
		return;
	if (n < 0) { /* the reply becomes an error: rewind to the status */
		gl_warn("nfs: READ of inode %llu (volume %u) at %llu: %s",
			(unsigned long long)at.ino, v->id, (unsigned long long)a->read.offset,
			glory_strerror((int)n));
		r->out->len = start;
		nx_put_u32(r->out, nfs_stat_of((int)n));
		nfs_put_post_attr(r->out, v, &at);
		return;
	}
	put_be32(r->out->p + head, (uint32_t)n);
	put_be32(r->out->p + head + 4, a->read.offset + (uint64_t)n >= at.size);
	put_be32(r->out->p + head + 8, (uint32_t)n);
	r->out->len = head + 12 + (size_t)n + ((4 - ((size_t)n & 3)) & 3);
	memset(r->out->p + head + 12 + n, 0, (4 - ((size_t)n & 3)) & 3);
}

void nfs3_write(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr pre, post;
	struct nfs_open *o = NULL;
	uint32_t st = nfs_resolve(r, &a->write.fh, &v, &pre), committed = a->write.stable;
	int have = st == NFS3_OK, rc = 0, got_post = 0;
	uint8_t verf[NFS3_VERF];
	ssize_t n;

	if (st == NFS3_OK && v->ex.ro)
		st = NFS3ERR_ROFS;
	if (st == NFS3_OK)
		st = io_allowed(r, &pre, 2);
	if (st == NFS3_OK && a->write.count > a->write.len)
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK && a->write.offset + a->write.count < a->write.offset)
		st = NFS3ERR_FBIG;
	if (st == NFS3_OK && !(o = nfs_open_get(r->s, v, pre.ino, &rc)))
		st = nfs_stat_of(rc);
	if (st == NFS3_OK) {
		n = glory_pwrite(o->f, a->write.data, a->write.count, a->write.offset);
		if (n >= 0) {
			uint64_t end = a->write.offset + (uint64_t)n, cur = atomic_load(&o->end);

			while (cur < end && !atomic_compare_exchange_weak(&o->end, &cur, end))
				;
		}
		if (n < 0)
			rc = (int)n;
		else if (committed != NFS3_UNSTABLE)
			rc = nfs_open_sync(r->s, o); /* with what earlier UNSTABLE writes left */
		if (rc) {
			st = nfs_stat_of(rc);
			if (st != NFS3ERR_DQUOT && st != NFS3ERR_NOSPC && st != NFS3ERR_FBIG)
				gl_warn("nfs: WRITE of inode %llu (volume %u): %s",
					(unsigned long long)pre.ino, v->id, glory_strerror(rc));
		}
		if (committed != NFS3_UNSTABLE)
			committed = NFS3_FILE_SYNC;
		nfs_open_put(r->s, o);
		got_post = nfs_getattr(r->s, v, pre.ino, &post) == 0;
	}
	nx_put_u32(r->out, st);
	nfs_put_wcc(r->out, v, have ? &pre : NULL, got_post ? &post : NULL);
	if (st != NFS3_OK)
		return;
	nfs_verf(r->s, verf);
	nx_put_u32(r->out, a->write.count);
	nx_put_u32(r->out, committed);
	nx_put_fixed(r->out, verf, NFS3_VERF);
}

void nfs3_commit(struct nfs_req *r, union nfs3_args *a)
{
	struct nfs_vol *v;
	struct glory_attr pre, post;
	struct nfs_open *o;
	uint32_t st = nfs_resolve(r, &a->read.fh, &v, &pre);
	int have = st == NFS3_OK, got_post = 0, rc;
	uint8_t verf[NFS3_VERF];

	if (st == NFS3_OK && !S_REG(pre.mode))
		st = S_DIR(pre.mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
	if (st == NFS3_OK && (o = nfs_open_find(r->s, v->id, pre.ino))) {
		if ((rc = nfs_open_sync(r->s, o))) {
			st = nfs_stat_of(rc);
			gl_warn("nfs: COMMIT of inode %llu (volume %u): %s",
				(unsigned long long)pre.ino, v->id, glory_strerror(rc));
		}
		nfs_open_put(r->s, o);
	}
	if (st == NFS3_OK)
		got_post = nfs_getattr(r->s, v, pre.ino, &post) == 0;
	nx_put_u32(r->out, st);
	nfs_put_wcc(r->out, v, have ? &pre : NULL, got_post ? &post : NULL);
	if (st != NFS3_OK)
		return;
	nfs_verf(r->s, verf);
	nx_put_fixed(r->out, verf, NFS3_VERF);
}

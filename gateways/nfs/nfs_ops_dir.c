/* READDIR and READDIRPLUS: entries in libglory's stable cookie order, as many as the client's
 * byte counts allow. Cookies stay valid while the directory changes, so the cookie verifier is
 * constant per directory (its birth time): a cookie of another directory is refused. */
#include "common/errors.h"
#include "gateways/nfs/nfs_internal.h"

#include <string.h>

#define S_DIR(m) (((m)&0170000) == 0040000)

/* Bytes each part of a reply takes (RFC 1813 READDIR3resok, READDIRPLUS3resok). */
#define POST_ATTR_BYTES (4 + 84)
#define POST_FH_BYTES	(4 + 4 + NFS_FH_LEN)
#define HEAD_BYTES	(4 + POST_ATTR_BYTES + NFS3_VERF + 4 + 4)

struct dir_fill {
	struct nfs_req *r;
	struct nfs_vol *v;
	int plus, full, n;
	size_t left;	 /* bytes of maxcount left */
	size_t dirleft;	 /* READDIRPLUS: bytes of dircount left */
	uint64_t cookie; /* last cookie put */
};

static size_t pad4(size_t n)
{
	return n + ((4 - (n & 3)) & 3);
}

static int put_entry(void *arg, const struct glory_dirent *e)
{
	struct dir_fill *d = arg;
	size_t nl = strlen(e->name), base = 4 + 8 + 4 + pad4(nl) + 8;
	size_t need = base + (d->plus ? POST_ATTR_BYTES + POST_FH_BYTES : 0);

	if (need > d->left || (d->plus && base > d->dirleft)) {
		d->full = 1;
		return 1;
	}
	d->left -= need;
	if (d->plus)
		d->dirleft -= base;
	nx_put_u32(d->r->out, 1); /* value follows */
	nx_put_u64(d->r->out, e->ino);
	nx_put_opaque(d->r->out, e->name, (uint32_t)nl);
	nx_put_u64(d->r->out, e->cookie);
	if (d->plus) {
		nfs_put_post_attr(d->r->out, d->v, e->attr);
		nfs_put_post_fh(d->r->out, d->v, e->attr);
	}
	d->cookie = e->cookie;
	d->n++;
	return 0;
}

static void readdir_common(struct nfs_req *r, union nfs3_args *a, int plus)
{
	struct nfs_vol *v;
	struct glory_attr dir = {0};
	uint32_t st = nfs_resolve(r, &a->readdir.fh, &v, &dir);
	int have = st == NFS3_OK, eof = 0, rc;
	size_t count = a->readdir.maxcount > NFS_MAX_IO ? NFS_MAX_IO : a->readdir.maxcount;
	size_t start = r->out->len;
	uint8_t verf[NFS3_VERF], zero[NFS3_VERF] = {0};
	struct dir_fill d = {r, v, plus, 0, 0, 0, 0, a->readdir.cookie};

	for (int i = 7, k = 0; i >= 0; i--, k += 8)
		verf[i] = (uint8_t)((uint64_t)dir.btime_ns >> k);
	if (st == NFS3_OK && !S_DIR(dir.mode))
		st = NFS3ERR_NOTDIR;
	if (st == NFS3_OK && nfs_may(&r->cred, &dir, 4))
		st = NFS3ERR_ACCES;
	if (st == NFS3_OK && a->readdir.cookie && memcmp(a->readdir.verf, zero, NFS3_VERF) &&
	    memcmp(a->readdir.verf, verf, NFS3_VERF))
		st = NFS3ERR_BAD_COOKIE;
	if (st == NFS3_OK && count < HEAD_BYTES + 24)
		st = NFS3ERR_TOOSMALL;
	nx_put_u32(r->out, st);
	nfs_put_post_attr(r->out, v, have ? &dir : NULL);
	if (st != NFS3_OK)
		return;
	nx_put_fixed(r->out, verf, NFS3_VERF);
	d.left = count - HEAD_BYTES;
	d.dirleft = plus ? a->readdir.dircount : d.left;
	if (plus && d.dirleft < 24) /* some clients send a tiny dircount: count it loosely */
		d.dirleft = d.left;
	rc = glory_readdir(v->v, dir.ino, a->readdir.cookie, (unsigned)(d.left / 24) + 1, plus,
			   put_entry, &d, &eof);
	if (!rc && !d.n && d.full)
		rc = 1; /* not even one entry fits */
	if (rc) {
		r->out->len = start;
		nx_put_u32(r->out, rc == 1 ? NFS3ERR_TOOSMALL : nfs_stat_of(rc));
		nfs_put_post_attr(r->out, v, &dir);
		return;
	}
	nx_put_u32(r->out, 0); /* no more entries */
	nx_put_u32(r->out, eof && !d.full);
}

void nfs3_readdir(struct nfs_req *r, union nfs3_args *a)
{
	readdir_common(r, a, 0);
}

void nfs3_readdirplus(struct nfs_req *r, union nfs3_args *a)
{
	readdir_common(r, a, 1);
}

/* FUSE gateway: names and attributes (lookup, getattr, setattr, mknod, mkdir, symlink, link,
 * unlink, rmdir, rename, readlink, statfs, xattrs). */
#include "gateways/fuse/fuse_internal.h"

#include <errno.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct gf *gf_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

void gf_reply_err(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc ? -glory_errno(rc) : 0);
}

static void ts_of(int64_t ns, struct timespec *ts)
{
	int64_t s = ns / 1000000000, r = ns % 1000000000;

	if (r < 0) { /* before 1970: floor division */
		r += 1000000000;
		s--;
	}
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)r;
}

void gf_stat_of(const struct glory_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_rdev = (dev_t)a->rdev;
	st->st_blksize = 1 << 20;
	st->st_blocks = (blkcnt_t)a->blocks;
	ts_of(a->atime_ns, &st->st_atim);
	ts_of(a->mtime_ns, &st->st_mtim);
	ts_of(a->ctime_ns, &st->st_ctim);
}

void gf_reply_entry(fuse_req_t req, const struct glory_attr *a)
{
	struct gf *fs = gf_of(req);
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = a->ino;
	e.attr_timeout = fs->attr_timeout;
	e.entry_timeout = fs->entry_timeout;
	gf_stat_of(a, &e.attr);
	fuse_reply_entry(req, &e);
}

/* The attributes as this mount sees them: writes still buffered here extend the size and set
 * the times. Where
 * they end is read first: a commit running meanwhile (a read on another thread) then either
 * has not started (we saw the end) or has finished, and the committed size is what we fetch.
 * *ttl: how long the kernel may keep them (0 for a file open here: its writes change them). */
static int attr_here(struct gf *fs, uint64_t ino, struct glory_attr *a, double *ttl)
{
	struct gf_open *o = gf_open_find(fs, ino);
	uint64_t end = o ? glory_file_pending_end(o->f) : 0;
	int64_t mt = o ? glory_file_pending_mtime(o->f) : 0;
	int rc = glory_getattr_ttl(fs->vol, ino, a, ttl);

	if (o) {
		*ttl = 0;
		gf_open_put(fs, o);
	}
	if (!rc && S_ISREG(a->mode) && end > a->size)
		a->size = end;
	if (!rc && S_ISREG(a->mode) && mt && mt > a->mtime_ns) { /* a write sets the times */
		a->mtime_ns = mt;
		a->ctime_ns = mt > a->ctime_ns ? mt : a->ctime_ns;
	}
	return rc;
}

/* The name is asked again at every access (entry timeout 0); the attributes it leads to are
 * read again after the inode's change generation was taken (fuse_attr.c). */
static void gf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gf *fs = gf_of(req);
	struct glory_attr a;
	uint64_t gen = 0;
	double ttl = 0;
	int rc = glory_lookup(fs->vol, parent, name, &a);

	if (!rc) {
		gen = gf_change_gen(fs, a.ino);
		rc = attr_here(fs, a.ino, &a, &ttl);
	}
	if (rc)
		return gf_reply_err(req, rc);
	gf_reply_entry_ttl(req, &a, ttl, gen);
}

static void gf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gf *fs = gf_of(req);
	struct glory_attr a;
	uint64_t gen = gf_change_gen(fs, ino);
	double ttl = 0;
	int rc = attr_here(fs, ino, &a, &ttl);

	(void)fi;
	if (rc)
		return gf_reply_err(req, rc);
	gf_reply_attr_ttl(req, &a, ttl, gen);
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void gf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct gf *fs = gf_of(req);
	struct glory_attr in, out;
	struct timespec now;
	unsigned valid = 0;
	struct stat st;
	int rc;

	(void)fi;
	memset(&in, 0, sizeof(in));
	clock_gettime(CLOCK_REALTIME, &now);
	if (to_set & FUSE_SET_ATTR_MODE) {
		valid |= GLORY_SET_MODE;
		in.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		valid |= GLORY_SET_UID;
		in.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		valid |= GLORY_SET_GID;
		in.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		valid |= GLORY_SET_SIZE;
		in.size = (uint64_t)attr->st_size;
	}
	/* what is buffered here lands first: then the truncate cuts it, the times given win */
	if ((to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) &&
	    (rc = gf_open_sync(fs, ino)))
		return gf_reply_err(req, rc);
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		valid |= GLORY_SET_ATIME;
		in.atime_ns =
		    to_set & FUSE_SET_ATTR_ATIME_NOW ? ns_of(&now) : ns_of(&attr->st_atim);
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		valid |= GLORY_SET_MTIME;
		in.mtime_ns =
		    to_set & FUSE_SET_ATTR_MTIME_NOW ? ns_of(&now) : ns_of(&attr->st_mtim);
	}
	rc = valid ? glory_setattr(fs->vol, ino, valid, &in, &out)
		   : glory_getattr(fs->vol, ino, &out);
	if (valid & GLORY_SET_SIZE) { /* reads of an open handle must not use the old layout */
		struct gf_open *o = gf_open_find(fs, ino);

		if (o) {
			glory_file_invalidate(o->f);
			gf_open_put(fs, o);
		}
	}
	if (valid)
		gf_changed(fs, ino);
	if (rc)
		return gf_reply_err(req, rc);
	gf_stat_of(&out, &st);
	fuse_reply_attr(req, &st, fs->attr_timeout);
}

static void gf_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char *buf = malloc(4097);
	int rc;

	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	rc = glory_readlink(gf_of(req)->vol, ino, buf, 4097);
	if (rc)
		gf_reply_err(req, rc);
	else
		fuse_reply_readlink(req, buf);
	free(buf);
}

static void gf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct gf *fs = gf_of(req);
	struct gf_inherit in;
	struct glory_attr a;
	uint32_t m = (uint32_t)mode;
	int rc = gf_inherit_prepare(req, parent, 0, &m, &in);

	if (!rc)
		rc = glory_mknod(fs->vol, parent, name, m, c->uid, c->gid, rdev, &a);
	if (!rc)
		rc = gf_inherit_apply(fs, a.ino, &in);
	if (!rc && in.access)
		rc = glory_getattr(fs->vol, a.ino, &a);
	gf_inherit_free(&in);
	gf_changed(fs, parent);
	if (rc)
		return gf_reply_err(req, rc);
	gf_reply_entry(req, &a);
}

static void gf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct gf *fs = gf_of(req);
	struct gf_inherit in;
	struct glory_attr a;
	uint32_t m = (uint32_t)mode & 07777u;
	int rc = gf_inherit_prepare(req, parent, 1, &m, &in);

	if (!rc)
		rc = glory_mkdir(fs->vol, parent, name, m, c->uid, c->gid, &a);
	if (!rc)
		rc = gf_inherit_apply(fs, a.ino, &in);
	if (!rc && (in.access || in.dflt))
		rc = glory_getattr(fs->vol, a.ino, &a);
	gf_inherit_free(&in);
	gf_changed(fs, parent);
	if (rc)
		return gf_reply_err(req, rc);
	gf_reply_entry(req, &a);
}

static void gf_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct glory_attr a;
	int rc = glory_symlink(gf_of(req)->vol, parent, name, target, c->uid, c->gid, &a);

	gf_changed(gf_of(req), parent);
	if (rc)
		return gf_reply_err(req, rc);
	gf_reply_entry(req, &a);
}

static void gf_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct glory_attr a;
	int rc = glory_link(gf_of(req)->vol, ino, newparent, newname, &a);

	gf_changed(gf_of(req), newparent);
	gf_changed(gf_of(req), ino);
	if (rc)
		return gf_reply_err(req, rc);
	gf_reply_entry(req, &a);
}

/* An unlinked file that is open here lives on (an orphan) until its last release. */
static void gf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gf *fs = gf_of(req);
	struct glory_attr a, after;
	struct gf_open *o;
	int rc = glory_lookup(fs->vol, parent, name, &a);

	if (rc)
		return gf_reply_err(req, rc);
	o = S_ISREG(a.mode) ? gf_open_find(fs, a.ino) : NULL;
	if (!o) {
		rc = glory_unlink(fs->vol, parent, name);
		gf_changed(fs, parent);
		gf_changed(fs, a.ino);
		return gf_reply_err(req, rc);
	}
	rc = glory_unlink_keep(fs->vol, parent, name, 1, &after);
	gf_changed(fs, parent);
	gf_changed(fs, a.ino);
	if (!rc && after.nlink == 0)
		gf_open_orphan(fs, a.ino);
	gf_open_put(fs, o);
	gf_reply_err(req, rc);
}

static void gf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc = glory_rmdir(gf_of(req)->vol, parent, name);

	gf_changed(gf_of(req), parent);
	gf_reply_err(req, rc);
}

/* A file replaced by the rename that is open here lives on (an orphan) until its last release;
 * if the name turned out to hold another file than the one open here, that one is freed. */
static void gf_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct gf *fs = gf_of(req);
	struct glory_attr dst, gone, src;
	struct gf_open *o = NULL;
	unsigned gflags = 0;
	int rc, have_src, have_dst;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return (void)fuse_reply_err(req, EINVAL);
	if (flags & RENAME_NOREPLACE)
		gflags |= GLORY_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		gflags |= GLORY_RENAME_EXCHANGE;
	have_dst = glory_lookup(fs->vol, newparent, newname, &dst) == 0;
	if (!(flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) && have_dst && S_ISREG(dst.mode) &&
	    (o = gf_open_find(fs, dst.ino)))
		gflags |= GLORY_RENAME_KEEP;
	/* the moved (and the replaced or exchanged) inodes' ctimes change too */
	have_src = glory_lookup(fs->vol, parent, name, &src) == 0;
	rc = glory_rename_ex(fs->vol, parent, name, newparent, newname, gflags, &gone);
	gf_changed(fs, parent);
	gf_changed(fs, newparent);
	if (have_src)
		gf_changed(fs, src.ino);
	if (have_dst)
		gf_changed(fs, dst.ino);
	if (!rc && gone.ino && gone.nlink == 0 && (gflags & GLORY_RENAME_KEEP)) {
		if (o && gone.ino == o->ino)
			gf_open_orphan(fs, gone.ino);
		else /* another file took the name meanwhile: nobody here holds it open */
			glory_forget(fs->vol, gone.ino);
	}
	if (o)
		gf_open_put(fs, o);
	gf_reply_err(req, rc);
}

static void gf_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct glory_statfs s;
	struct statvfs st;
	int rc = glory_statfs(gf_of(req)->vol, &s);

	(void)ino;
	if (rc)
		return gf_reply_err(req, rc);
	memset(&st, 0, sizeof(st));
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_blocks = s.bytes_total / 4096;
	st.f_bfree = s.bytes_free / 4096;
	st.f_bavail = st.f_bfree;
	st.f_files = s.inodes_total;
	st.f_ffree = s.inodes_free;
	st.f_favail = s.inodes_free;
	st.f_namemax = 255;
	fuse_reply_statfs(req, &st);
}

static void gf_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct gf *fs = gf_of(req);
	int rc = strcmp(name, GF_ACL_ACCESS) == 0
		     ? gf_acl_set_access(fs, ino, value, size, flags)
		     : glory_setxattr(fs->vol, ino, name, value, size, (unsigned)flags);

	gf_changed(fs, ino);
	gf_reply_err(req, rc);
}

/* getxattr and listxattr: name NULL lists. size 0 asks the length only. */
static void xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct glory_vol *v = gf_of(req)->vol;
	char *buf = size ? malloc(size) : NULL;
	ssize_t n;

	if (size && !buf)
		return (void)fuse_reply_err(req, ENOMEM);
	n = name ? glory_getxattr(v, ino, name, buf, size) : glory_listxattr(v, ino, buf, size);
	if (n < 0)
		gf_reply_err(req, (int)n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void gf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	xattr_get(req, ino, name, size);
}

static void gf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_get(req, ino, NULL, size);
}

static void gf_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	int rc = glory_removexattr(gf_of(req)->vol, ino, name);

	gf_changed(gf_of(req), ino);
	gf_reply_err(req, rc);
}

void gf_meta_ops(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = gf_lookup;
	ops->getattr = gf_getattr;
	ops->setattr = gf_setattr;
	ops->readlink = gf_readlink;
	ops->mknod = gf_mknod;
	ops->mkdir = gf_mkdir;
	ops->symlink = gf_symlink;
	ops->link = gf_link;
	ops->unlink = gf_unlink;
	ops->rmdir = gf_rmdir;
	ops->rename = gf_rename;
	ops->statfs = gf_statfs;
	ops->setxattr = gf_setxattr;
	ops->getxattr = gf_getxattr;
	ops->listxattr = gf_listxattr;
	ops->removexattr = gf_removexattr;
}

/* FUSE gateway: open files and their data (open, create, read, write, flush, release, fsync,
 * fallocate, copy_file_range) and the table of inodes open in this mount. */
#include "gateways/fuse/fuse_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GF_COPY_PIECE (1u << 20)

/* ---- the open table ---- */

static struct gf_open **bucket(struct gf *fs, uint64_t ino)
{
	return &fs->open[(ino * 0x9e3779b97f4a7c15ull) >> 54 & (GF_OPEN_BUCKETS - 1)];
}

struct gf_open *gf_open_find(struct gf *fs, uint64_t ino)
{
	struct gf_open *o;

	pthread_mutex_lock(&fs->lock);
	for (o = *bucket(fs, ino); o && o->ino != ino; o = o->next)
		;
	if (o)
		o->refs++;
	pthread_mutex_unlock(&fs->lock);
	return o;
}

/* Opens ino here (or shares the glory_file already open); the result holds one reference.
 * a: ino's attributes if the caller was just given them (a create), else NULL. */
static int open_get(struct gf *fs, uint64_t ino, const struct glory_attr *a, struct gf_open **out)
{
	struct gf_open *o = gf_open_find(fs, ino), *n, **b;
	struct glory_file *f;
	int rc;

	if (o) {
		*out = o;
		return 0;
	}
	/* outside the lock: without a, a metadata round trip */
	rc = a ? glory_open_attr(fs->vol, a, &f) : glory_open(fs->vol, ino, &f);
	if (rc)
		return rc;
	pthread_mutex_lock(&fs->lock);
	b = bucket(fs, ino);
	for (o = *b; o && o->ino != ino; o = o->next)
		;
	if (o) { /* another thread opened it meanwhile */
		o->refs++;
		pthread_mutex_unlock(&fs->lock);
		glory_close(f);
		*out = o;
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&fs->lock);
		glory_close(f);
		return -ENOMEM;
	}
	n->ino = ino;
	n->f = f;
	n->refs = 1;
	n->next = *b;
	*b = n;
	pthread_mutex_unlock(&fs->lock);
	*out = n;
	return 0;
}

/* Drops a reference; the last one commits, closes and (if its names are gone) forgets. */
static int open_put(struct gf *fs, struct gf_open *o)
{
	struct gf_open **p;
	int rc = 0, last;

	pthread_mutex_lock(&fs->lock);
	last = --o->refs == 0;
	if (last) {
		for (p = bucket(fs, o->ino); *p != o; p = &(*p)->next)
			;
		*p = o->next;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!last)
		return 0;
	rc = glory_close(o->f);
	if (o->orphaned)
		glory_forget(fs->vol, o->ino);
	free(o);
	return rc;
}

void gf_open_put(struct gf *fs, struct gf_open *o)
{
	open_put(fs, o);
}

int gf_open_sync(struct gf *fs, uint64_t ino)
{
	struct gf_open *o = gf_open_find(fs, ino);
	int rc;

	if (!o)
		return 0;
	rc = glory_file_flush(o->f); /* a background failure is for fsync/close to report */
	open_put(fs, o);
	return rc;
}

int gf_open_orphan(struct gf *fs, uint64_t ino)
{
	struct gf_open *o;

	pthread_mutex_lock(&fs->lock);
	for (o = *bucket(fs, ino); o && o->ino != ino; o = o->next)
		;
	if (o)
		o->orphaned = 1;
	pthread_mutex_unlock(&fs->lock);
	return o != NULL;
}

void gf_open_close_all(struct gf *fs)
{
	for (int i = 0; i < GF_OPEN_BUCKETS; i++) {
		while (fs->open[i]) {
			struct gf_open *o = fs->open[i];

			fs->open[i] = o->next;
			glory_close(o->f);
			if (o->orphaned)
				glory_forget(fs->vol, o->ino);
			free(o);
		}
	}
}

static struct gf_open *fh_of(struct fuse_file_info *fi)
{
	return (struct gf_open *)(uintptr_t)fi->fh;
}

/* ---- operations ---- */

static void set_open_flags(struct fuse_file_info *fi)
{
	/* close-to-open: an open drops what the kernel cached, so it sees other mounts' writes */
	fi->keep_cache = 0;
	fi->direct_io = (fi->flags & O_DIRECT) != 0;
}

/* O_TRUNC arrives with the open (atomic_o_trunc): what is buffered lands, then goes. */
static int open_trunc(struct gf *fs, struct gf_open *o)
{
	int rc = glory_file_flush(o->f);

	return rc ? rc : glory_truncate(fs->vol, o->ino, 0);
}

static void gf_open_op(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gf *fs = gf_of(req);
	struct gf_open *o;
	int rc = open_get(fs, ino, NULL, &o);

	if (!rc && (fi->flags & O_TRUNC)) {
		if ((rc = open_trunc(fs, o)))
			open_put(fs, o);
		gf_changed(fs, ino);
	}
	if (rc)
		return gf_reply_err(req, rc);
	glory_file_invalidate(o->f); /* close-to-open: see what others committed */
	fi->fh = (uintptr_t)o;
	set_open_flags(fi);
	if (fuse_reply_open(req, fi) == -ENOENT) /* the opener was interrupted */
		open_put(fs, o);
}

static void gf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct gf *fs = gf_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	uint32_t m = ((uint32_t)mode & 07777u) | S_IFREG;
	struct fuse_entry_param e;
	struct gf_inherit in;
	struct glory_attr a, la;
	struct gf_open *o;
	uint64_t gen;
	double ttl = 0;
	int rc;

	/* created here (and then it inherits), or, without O_EXCL, found there */
	rc = gf_inherit_prepare(req, parent, 0, &m, &in);
	if (!rc)
		rc = glory_create(fs->vol, parent, name, m, ctx->uid, ctx->gid, 1, &a);
	if (!rc)
		rc = gf_inherit_apply(fs, a.ino, &in);
	else if (rc && glory_errno(rc) == -EEXIST && !(fi->flags & O_EXCL))
		rc = glory_create(fs->vol, parent, name, m, ctx->uid, ctx->gid, 0, &a);
	gf_inherit_free(&in);
	gf_changed(fs, parent);
	if (!rc && !S_ISREG(a.mode))
		rc = S_ISDIR(a.mode) ? -EISDIR : -EEXIST;
	if (!rc)
		rc = open_get(fs, a.ino, &a, &o);
	if (!rc && (fi->flags & O_TRUNC) && a.size > 0) { /* it existed */
		if ((rc = open_trunc(fs, o)) == 0)
			rc = glory_getattr(fs->vol, a.ino, &a);
		if (rc)
			open_put(fs, o);
		gf_changed(fs, a.ino);
	}
	if (rc)
		return gf_reply_err(req, rc);
	glory_file_invalidate(o->f);
	/* the kernel checks the new file's permissions next: a leased copy of its attributes
	 * saves it asking (nothing is written to it yet) */
	gen = gf_change_gen(fs, a.ino);
	if (glory_getattr_ttl(fs->vol, a.ino, &la, &ttl) == 0 && la.ino == a.ino)
		a = la;
	else
		ttl = 0;
	memset(&e, 0, sizeof(e));
	e.ino = a.ino;
	e.attr_timeout = gf_ttl_hold(fs, a.ino, ttl, gen);
	e.entry_timeout = fs->entry_timeout;
	gf_stat_of(&a, &e.attr);
	fi->fh = (uintptr_t)o;
	set_open_flags(fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		open_put(fs, o);
	gf_ttl_done(fs, a.ino, e.attr_timeout);
}

static void gf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct gf_open *o = fh_of(fi);
	char *buf = malloc(size ? size : 1);
	ssize_t n;

	(void)ino;
	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	n = glory_pread(o->f, buf, size, (uint64_t)off);
	if (n < 0)
		gf_reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void gf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n = glory_pwrite(fh_of(fi)->f, buf, size, (uint64_t)off);

	(void)ino;
	if (n < 0)
		gf_reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

/* A chunk store that found too few servers (EAGAIN) is an I/O error to fsync and close. */
static int sync_err(int rc)
{
	return rc && glory_errno(rc) == -EAGAIN ? -EIO : rc;
}

/* Every close(2) of a descriptor: commit, so another mount that opens the file next sees the
 * data (close-to-open), and so close reports a failed commit. */
static void gf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = sync_err(glory_fsync(fh_of(fi)->f)),
	    lrc = gf_lock_close(gf_of(req), ino, fh_of(fi), fi, 0);

	gf_changed(gf_of(req), ino);
	gf_reply_err(req, rc ? rc : lrc);
}

static void gf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gf *fs = gf_of(req);
	int rc;

	gf_lock_close(fs, ino, fh_of(fi), fi, 1);
	rc = open_put(fs, fh_of(fi));
	gf_changed(fs, ino);
	gf_reply_err(req, rc);
}

static void gf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int rc = sync_err(glory_fsync(fh_of(fi)->f));

	(void)datasync;
	gf_changed(gf_of(req), ino);
	gf_reply_err(req, rc);
}

/* Writes zeros over [off, end) (a punched hole reads as zeros; the chunks dedup). */
static int write_zeros(struct glory_file *f, uint64_t off, uint64_t end)
{
	char *z = calloc(1, GF_COPY_PIECE);
	int rc = 0;

	if (!z)
		return -ENOMEM;
	while (off < end && !rc) {
		size_t n = end - off < GF_COPY_PIECE ? (size_t)(end - off) : GF_COPY_PIECE;
		ssize_t w = glory_pwrite(f, z, n, off);

		rc = w < 0 ? (int)w : 0;
		off += n;
	}
	free(z);
	return rc ? rc : glory_file_flush(f);
}

static void gf_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct gf *fs = gf_of(req);
	struct gf_open *o = fh_of(fi);
	struct glory_attr a, in;
	uint64_t end = (uint64_t)off + (uint64_t)len, size;
	int rc;

	if (off < 0 || len <= 0)
		return (void)fuse_reply_err(req, EINVAL);
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return (void)fuse_reply_err(req, EINVAL); /* as fallocate(2) says */
	if ((rc = glory_file_flush(o->f)) || (rc = glory_getattr(fs->vol, ino, &a)))
		return gf_reply_err(req, rc);
	size = a.size;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		rc = (uint64_t)off < size
			 ? write_zeros(o->f, (uint64_t)off, end < size ? end : size)
			 : 0;
		gf_changed(fs, ino);
		return gf_reply_err(req, rc);
	}
	/* space is thin provisioned: allocating only moves the size */
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size) {
		memset(&in, 0, sizeof(in));
		in.size = end;
		rc = glory_setattr(fs->vol, ino, GLORY_SET_SIZE, &in, &a);
		glory_file_invalidate(o->f);
		gf_changed(fs, ino);
	}
	gf_reply_err(req, rc);
}

static void gf_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct glory_file *in = fh_of(fi_in)->f, *out = fh_of(fi_out)->f;
	char *buf = malloc(GF_COPY_PIECE);
	size_t done = 0;
	int rc = 0;

	(void)ino_in;
	if (flags)
		rc = -EINVAL;
	else if (!buf)
		rc = -ENOMEM;
	while (!rc && done < len) {
		size_t want = len - done < GF_COPY_PIECE ? len - done : GF_COPY_PIECE;
		ssize_t n = glory_pread(in, buf, want, (uint64_t)off_in + done), w;

		if (n <= 0) {
			rc = (int)n;
			break;
		}
		w = glory_pwrite(out, buf, (size_t)n, (uint64_t)off_out + done);
		if (w < 0) {
			rc = (int)w;
			break;
		}
		done += (size_t)n;
		if ((size_t)n < want)
			break; /* the end of the source */
	}
	free(buf);
	gf_changed(gf_of(req), ino_out);
	if (rc && done == 0)
		gf_reply_err(req, rc);
	else
		fuse_reply_write(req, done);
}

void gf_data_ops(struct fuse_lowlevel_ops *ops)
{
	ops->open = gf_open_op;
	ops->create = gf_create;
	ops->read = gf_read;
	ops->write = gf_write;
	ops->flush = gf_flush;
	ops->release = gf_release;
	ops->fsync = gf_fsync;
	ops->fallocate = gf_fallocate;
	ops->copy_file_range = gf_copy_file_range;
}

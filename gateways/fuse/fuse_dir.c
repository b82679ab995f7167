/* FUSE gateway: directory listing (readdir, readdirplus). The offsets the kernel keeps are
 * 1 for ".", 2 for "..", and glory's stable cookie + 2 for every entry (cookies start at 1),
 * so a listing resumes at the same place across calls, mounts and restarts. */
#include "gateways/fuse/fuse_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fill {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	int plus, full;
};

static int add(struct fill *f, const char *name, const struct glory_attr *a, uint64_t ino,
	       uint32_t mode, off_t next)
{
	struct gf *fs = gf_of(f->req);
	size_t n;

	if (f->plus) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.ino = ino;
		if (a) {
			gf_stat_of(a, &e.attr);
			e.attr_timeout = fs->attr_timeout;
			e.entry_timeout = fs->entry_timeout;
		} else { /* "." and "..": the kernel takes no reference on them */
			e.attr.st_ino = ino;
			e.attr.st_mode = mode;
		}
		n = fuse_add_direntry_plus(f->req, f->buf + f->used, f->size - f->used, name, &e,
					   next);
	} else {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = ino;
		st.st_mode = mode;
		n = fuse_add_direntry(f->req, f->buf + f->used, f->size - f->used, name, &st, next);
	}
	if (n > f->size - f->used) {
		f->full = 1;
		return 1;
	}
	f->used += n;
	return 0;
}

static int on_entry(void *arg, const struct glory_dirent *e)
{
	struct fill *f = arg;

	return add(f, e->name, e->attr, e->ino, e->mode, (off_t)(e->cookie + 2));
}

static void list(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct fill f = {req, malloc(size ? size : 1), size, 0, plus, 0};
	int eof = 0, rc = 0;

	if (!f.buf)
		return (void)fuse_reply_err(req, ENOMEM);
	if (off < 0)
		off = 0;
	if (off == 0 && add(&f, ".", NULL, ino, S_IFDIR, 1) == 0)
		off = 1;
	if (off == 1 && !f.full && add(&f, "..", NULL, ino, S_IFDIR, 2) == 0)
		off = 2;
	/* at most what can fit (an entry takes at least 24 bytes, 80+ with attributes) */
	if (!f.full)
		rc = glory_readdir(gf_of(req)->vol, ino, (uint64_t)off - 2,
				   (unsigned)(size / (plus ? 96 : 32) + 1), plus, on_entry, &f,
				   &eof);
	if (rc && f.used == 0)
		gf_reply_err(req, rc);
	else
		fuse_reply_buf(req, f.buf, f.used);
	free(f.buf);
}

static void gf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	list(req, ino, size, off, 0);
}

static void gf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	list(req, ino, size, off, 1);
}

static void gf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct glory_attr a;
	int rc = glory_getattr(gf_of(req)->vol, ino, &a);

	if (!rc && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (rc)
		return gf_reply_err(req, rc);
	fi->cache_readdir = 0;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

void gf_dir_ops(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = gf_opendir;
	ops->readdir = gf_readdir;
	ops->readdirplus = gf_readdirplus;
}

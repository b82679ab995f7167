/* One function per NFSv3 procedure for the tests: each returns the NFS3 status (or -1 when the
 * RPC itself failed) and copies out what the tests look at. */
#ifndef GL_TESTS_NFS_OPS_H
#define GL_TESTS_NFS_OPS_H

#include "nfs_client.h"

static int t3_getattr(struct rpc_context *rpc, const struct fh *f, fattr3 *a)
{
	GETATTR3args args;
	GETATTR3res res;
	struct call c = {.out = &res, .outsz = sizeof(res)};

	fh_set(&args.object, f);
	if (CALL(rpc, c, rpc_nfs3_getattr_async(rpc, call_cb, &args, &c)))
		return -1;
	if (res.status == NFS3_OK && a)
		*a = res.GETATTR3res_u.resok.obj_attributes;
	return res.status;
}

static int t3_lookup(struct rpc_context *rpc, const struct fh *dir, const char *name,
		     struct lookup *out)
{
	LOOKUP3args args;
	struct call c = {.take = take_lookup, .arg = out};

	fh_set(&args.what.dir, dir);
	args.what.name = (char *)name;
	memset(out, 0, sizeof(*out));
	if (CALL(rpc, c, rpc_nfs3_lookup_async(rpc, call_cb, &args, &c)))
		return -1;
	return out->status;
}

static void sattr_mode(sattr3 *s, int mode)
{
	memset(s, 0, sizeof(*s));
	if (mode >= 0) {
		s->mode.set_it = 1;
		s->mode.set_mode3_u.mode = (uint32_t)mode;
	}
}

/* how: UNCHECKED, GUARDED (mode used) or EXCLUSIVE (verf used). */
static int t3_create(struct rpc_context *rpc, const struct fh *dir, const char *name, int how,
		     int mode, const char *verf, struct newobj *o)
{
	CREATE3args args;
	struct call c = {.take = take_newobj, .arg = o};

	memset(&args, 0, sizeof(args));
	memset(o, 0, sizeof(*o));
	fh_set(&args.where.dir, dir);
	args.where.name = (char *)name;
	args.how.mode = how;
	if (how == EXCLUSIVE)
		memcpy(args.how.createhow3_u.verf, verf, NFS3_CREATEVERFSIZE);
	else
		sattr_mode(&args.how.createhow3_u.obj_attributes, mode);
	if (CALL(rpc, c, rpc_nfs3_create_async(rpc, call_cb, &args, &c)))
		return -1;
	return o->status;
}

static int t3_mkdir(struct rpc_context *rpc, const struct fh *dir, const char *name, int mode,
		    struct newobj *o)
{
	MKDIR3args args;
	struct call c = {.take = take_newobj, .arg = o};

	memset(&args, 0, sizeof(args));
	memset(o, 0, sizeof(*o));
	fh_set(&args.where.dir, dir);
	args.where.name = (char *)name;
	sattr_mode(&args.attributes, mode);
	if (CALL(rpc, c, rpc_nfs3_mkdir_async(rpc, call_cb, &args, &c)))
		return -1;
	return o->status;
}

static int t3_symlink(struct rpc_context *rpc, const struct fh *dir, const char *name,
		      const char *target, struct newobj *o)
{
	SYMLINK3args args;
	struct call c = {.take = take_newobj, .arg = o};

	memset(&args, 0, sizeof(args));
	memset(o, 0, sizeof(*o));
	fh_set(&args.where.dir, dir);
	args.where.name = (char *)name;
	args.symlink.symlink_data = (char *)target;
	if (CALL(rpc, c, rpc_nfs3_symlink_async(rpc, call_cb, &args, &c)))
		return -1;
	return o->status;
}

static int t3_mknod(struct rpc_context *rpc, const struct fh *dir, const char *name, int type,
		    uint32_t major, uint32_t minor, struct newobj *o)
{
	MKNOD3args args;
	struct call c = {.take = take_newobj, .arg = o};

	memset(&args, 0, sizeof(args));
	memset(o, 0, sizeof(*o));
	fh_set(&args.where.dir, dir);
	args.where.name = (char *)name;
	args.what.type = type;
	if (type == NF3CHR || type == NF3BLK) {
		sattr_mode(&args.what.mknoddata3_u.chr_device.dev_attributes, 0600);
		args.what.mknoddata3_u.chr_device.spec.specdata1 = major;
		args.what.mknoddata3_u.chr_device.spec.specdata2 = minor;
	} else if (type == NF3SOCK || type == NF3FIFO) {
		sattr_mode(&args.what.mknoddata3_u.pipe_attributes, 0600);
	}
	if (CALL(rpc, c, rpc_nfs3_mknod_async(rpc, call_cb, &args, &c)))
		return -1;
	return o->status;
}

struct wres {
	int status;
	count3 count;
	stable_how committed;
	char verf[8];
	wcc_data wcc;
};

static void take_write(struct call *c, void *data)
{
	WRITE3res *r = data;
	struct wres *o = c->arg;

	o->status = r->status;
	if (r->status == NFS3_OK) {
		o->count = r->WRITE3res_u.resok.count;
		o->committed = r->WRITE3res_u.resok.committed;
		memcpy(o->verf, r->WRITE3res_u.resok.verf, 8);
		o->wcc = r->WRITE3res_u.resok.file_wcc;
	} else {
		o->wcc = r->WRITE3res_u.resfail.file_wcc;
	}
}

static int t3_write(struct rpc_context *rpc, const struct fh *f, uint64_t off, const void *buf,
		    uint32_t len, int stable, struct wres *o)
{
	WRITE3args args;
	struct call c = {.take = take_write, .arg = o};

	memset(o, 0, sizeof(*o));
	fh_set(&args.file, f);
	args.offset = off;
	args.count = len;
	args.stable = stable;
	args.data.data_len = len;
	args.data.data_val = (char *)buf;
	if (CALL(rpc, c, rpc_nfs3_write_async(rpc, call_cb, &args, &c)))
		return -1;
	return o->status;
}

struct rres {
	int status;
	uint32_t count;
	int eof;
	char *buf;
	fattr3 attr;
	int has_attr;
};

static void take_read(struct call *c, void *data)
{
	READ3res *r = data;
	struct rres *o = c->arg;

	o->status = r->status;
	if (r->status == NFS3_OK) {
		o->count = r->READ3res_u.resok.count;
		o->eof = r->READ3res_u.resok.eof;
		memcpy(o->buf, r->READ3res_u.resok.data.data_val,
		       r->READ3res_u.resok.data.data_len);
		o->has_attr = r->READ3res_u.resok.file_attributes.attributes_follow;
		o->attr = r->READ3res_u.resok.file_attributes.post_op_attr_u.attributes;
	}
}

static int t3_read(struct rpc_context *rpc, const struct fh *f, uint64_t off, uint32_t count,
		   char *buf, struct rres *o)
{
	READ3args args;
	struct call c = {.take = take_read, .arg = o};

	memset(o, 0, sizeof(*o));
	o->buf = buf;
	fh_set(&args.file, f);
	args.offset = off;
	args.count = count;
	if (CALL(rpc, c, rpc_nfs3_read_async(rpc, call_cb, &args, &c)))
		return -1;
	return o->status;
}

static int t3_commit(struct rpc_context *rpc, const struct fh *f, char verf[8])
{
	COMMIT3args args;
	COMMIT3res res;
	struct call c = {.out = &res, .outsz = sizeof(res)};

	fh_set(&args.file, f);
	args.offset = 0;
	args.count = 0;
	if (CALL(rpc, c, rpc_nfs3_commit_async(rpc, call_cb, &args, &c)))
		return -1;
	if (res.status == NFS3_OK)
		memcpy(verf, res.COMMIT3res_u.resok.verf, 8);
	return res.status;
}

static int t3_setattr(struct rpc_context *rpc, const struct fh *f, const sattr3 *s,
		      const nfstime3 *guard, wcc_data *wcc)
{
	SETATTR3args args;
	SETATTR3res res;
	struct call c = {.out = &res, .outsz = sizeof(res)};

	memset(&args, 0, sizeof(args));
	fh_set(&args.object, f);
	args.new_attributes = *s;
	if (guard) {
		args.guard.check = 1;
		args.guard.sattrguard3_u.obj_ctime = *guard;
	}
	if (CALL(rpc, c, rpc_nfs3_setattr_async(rpc, call_cb, &args, &c)))
		return -1;
	if (wcc)
		*wcc = res.SETATTR3res_u.resok.obj_wcc;
	return res.status;
}

static int t3_dirop(struct rpc_context *rpc, int rmdir, const struct fh *dir, const char *name)
{
	REMOVE3args ra;
	RMDIR3args da;
	REMOVE3res res;
	struct call c = {.out = &res, .outsz = sizeof(res.status)};

	fh_set(&ra.object.dir, dir);
	ra.object.name = (char *)name;
	da.object = ra.object;
	if (CALL(rpc, c,
		 rmdir ? rpc_nfs3_rmdir_async(rpc, call_cb, &da, &c)
		       : rpc_nfs3_remove_async(rpc, call_cb, &ra, &c)))
		return -1;
	return res.status;
}

static int t3_rename(struct rpc_context *rpc, const struct fh *fd, const char *fname,
		     const struct fh *td, const char *tname)
{
	RENAME3args args;
	RENAME3res res;
	struct call c = {.out = &res, .outsz = sizeof(res)};

	fh_set(&args.from.dir, fd);
	args.from.name = (char *)fname;
	fh_set(&args.to.dir, td);
	args.to.name = (char *)tname;
	if (CALL(rpc, c, rpc_nfs3_rename_async(rpc, call_cb, &args, &c)))
		return -1;
	return res.status;
}

static int t3_link(struct rpc_context *rpc, const struct fh *f, const struct fh *dir,
		   const char *name, fattr3 *after)
{
	LINK3args args;
	LINK3res res;
	struct call c = {.out = &res, .outsz = sizeof(res)};

	fh_set(&args.file, f);
	fh_set(&args.link.dir, dir);
	args.link.name = (char *)name;
	if (CALL(rpc, c, rpc_nfs3_link_async(rpc, call_cb, &args, &c)))
		return -1;
	if (after)
		*after = res.LINK3res_u.resok.file_attributes.post_op_attr_u.attributes;
	return res.status;
}

static void take_readlink(struct call *c, void *data)
{
	READLINK3res *r = data;

	if (r->status == NFS3_OK)
		snprintf(c->arg, 4097, "%s", r->READLINK3res_u.resok.data);
}

static int t3_readlink(struct rpc_context *rpc, const struct fh *f, char target[4097])
{
	READLINK3args args;
	READLINK3res res;
	struct call c = {
	    .out = &res, .outsz = sizeof(res.status), .take = take_readlink, .arg = target};

	fh_set(&args.symlink, f);
	target[0] = '\0';
	if (CALL(rpc, c, rpc_nfs3_readlink_async(rpc, call_cb, &args, &c)))
		return -1;
	return res.status;
}

static int t3_access(struct rpc_context *rpc, const struct fh *f, uint32_t want, uint32_t *got)
{
	ACCESS3args args;
	ACCESS3res res;
	struct call c = {.out = &res, .outsz = sizeof(res)};

	fh_set(&args.object, f);
	args.access = want;
	if (CALL(rpc, c, rpc_nfs3_access_async(rpc, call_cb, &args, &c)))
		return -1;
	*got = res.status == NFS3_OK ? res.ACCESS3res_u.resok.access : 0;
	return res.status;
}

/* A page of READDIR or READDIRPLUS: names (and handles) appended to a growing list. */
struct dirpage {
	int status, eof, n;
	cookie3 last;
	char verf[8];
	/* what the whole listing has seen */
	char **names;
	struct fh *fhs;
	fattr3 *attrs;
	int total, cap;
};

static void page_add(struct dirpage *p, const char *name, cookie3 cookie, const nfs_fh3 *fh,
		     const post_op_attr *a)
{
	if (p->total == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->names = realloc(p->names, (size_t)p->cap * sizeof(*p->names));
		p->fhs = realloc(p->fhs, (size_t)p->cap * sizeof(*p->fhs));
		p->attrs = realloc(p->attrs, (size_t)p->cap * sizeof(*p->attrs));
		if (!p->names || !p->fhs || !p->attrs)
			abort();
	}
	p->names[p->total] = strdup(name);
	memset(&p->fhs[p->total], 0, sizeof(struct fh));
	memset(&p->attrs[p->total], 0, sizeof(fattr3));
	if (fh)
		fh_copy(&p->fhs[p->total], fh);
	if (a && a->attributes_follow)
		p->attrs[p->total] = a->post_op_attr_u.attributes;
	p->total++;
	p->n++;
	p->last = cookie;
}

static void take_readdir(struct call *c, void *data)
{
	READDIR3res *r = data;
	struct dirpage *p = c->arg;

	p->status = r->status;
	p->n = 0;
	if (r->status != NFS3_OK)
		return;
	memcpy(p->verf, r->READDIR3res_u.resok.cookieverf, 8);
	p->eof = r->READDIR3res_u.resok.reply.eof;
	/* libnfs allocates entries unaligned: each is copied out before it is read */
	for (entry3 *ep = r->READDIR3res_u.resok.reply.entries, e; ep; ep = e.nextentry) {
		memcpy(&e, ep, sizeof(e));
		page_add(p, e.name, e.cookie, NULL, NULL);
	}
}

static void take_readdirplus(struct call *c, void *data)
{
	READDIRPLUS3res *r = data;
	struct dirpage *p = c->arg;

	p->status = r->status;
	p->n = 0;
	if (r->status != NFS3_OK)
		return;
	memcpy(p->verf, r->READDIRPLUS3res_u.resok.cookieverf, 8);
	p->eof = r->READDIRPLUS3res_u.resok.reply.eof;
	for (entryplus3 *ep = r->READDIRPLUS3res_u.resok.reply.entries, e; ep; ep = e.nextentry) {
		memcpy(&e, ep, sizeof(e));
		page_add(p, e.name, e.cookie,
			 e.name_handle.handle_follows ? &e.name_handle.post_op_fh3_u.handle : NULL,
			 &e.name_attributes);
	}
}

/* One page after cookie/verf (plus: READDIRPLUS with dircount = count / 4). */
static int t3_readdir_page(struct rpc_context *rpc, const struct fh *dir, int plus, cookie3 cookie,
			   const char verf[8], uint32_t count, struct dirpage *p)
{
	struct call c = {.take = plus ? take_readdirplus : take_readdir, .arg = p};
	int rc;

	if (plus) {
		READDIRPLUS3args a;

		fh_set(&a.dir, dir);
		a.cookie = cookie;
		memcpy(a.cookieverf, verf, 8);
		a.dircount = count / 4;
		a.maxcount = count;
		rc = CALL(rpc, c, rpc_nfs3_readdirplus_async(rpc, call_cb, &a, &c));
	} else {
		READDIR3args a;

		fh_set(&a.dir, dir);
		a.cookie = cookie;
		memcpy(a.cookieverf, verf, 8);
		a.count = count;
		rc = CALL(rpc, c, rpc_nfs3_readdir_async(rpc, call_cb, &a, &c));
	}
	return rc ? -1 : p->status;
}

static void dirpage_free(struct dirpage *p)
{
	for (int i = 0; i < p->total; i++)
		free(p->names[i]);
	free(p->names);
	free(p->fhs);
	free(p->attrs);
	memset(p, 0, sizeof(*p));
}

/* Lists dir whole in pages of count bytes; the number of pages, or -status on an error. */
static int t3_readdir_all(struct rpc_context *rpc, const struct fh *dir, int plus, uint32_t count,
			  struct dirpage *p)
{
	char verf[8] = {0};
	cookie3 cookie = 0;
	int pages = 0, st;

	memset(p, 0, sizeof(*p));
	do {
		p->last = cookie;
		if ((st = t3_readdir_page(rpc, dir, plus, cookie, verf, count, p)) != NFS3_OK)
			return st < 0 ? -1000 : -st;
		memcpy(verf, p->verf, 8);
		cookie = p->last;
		pages++;
	} while (!p->eof);
	return pages;
}

#endif

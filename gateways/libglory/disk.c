/* libglory: block volumes (VM disks) as named objects of a volume. A disk NAME is the regular
 * file /.disks/NAME of its volume: the file's size is the disk's size, its layout the disk's
 * blocks (thin: a hole reads as zeros and stores nothing). The xattr "glory.disk" marks it and
 * says whether it is a read-only snapshot (NAME@SNAP). Clones and snapshots are NS_CLONE: a new
 * layout sharing the source's chunks, one raft entry, no data copied. */
#include "common/errors.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DISK_DIR   ".disks"
#define DISK_XATTR "glory.disk"

/* A disk name: one path component of [A-Za-z0-9._-], '@' only before a snapshot name. */
static int disk_name_ok(const char *name)
{
	size_t n = strlen(name);
	const char *at = strchr(name, '@');

	if (n == 0 || n > 200 || name[0] == '.' || (at && (at == name || !at[1])))
		return -GL_EINVAL;
	if (at && strchr(at + 1, '@'))
		return -GL_EINVAL;
	for (const char *p = name; *p; p++) {
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '.' && *p != '_' && *p != '-' && *p != '@')
			return -GL_EINVAL;
	}
	return 0;
}

/* The inode of /.disks (made when create is set). */
static int disk_dir(struct glory_vol *v, int create, uint64_t *dir)
{
	struct glory_attr at;
	int rc = glory_lookup(v, GLORY_ROOT, DISK_DIR, &at);

	if (rc == -GL_ENOENT && create) {
		rc = glory_mkdir(v, GLORY_ROOT, DISK_DIR, 0700, 0, 0, &at);
		if (rc == -GL_EEXIST)
			rc = glory_lookup(v, GLORY_ROOT, DISK_DIR, &at);
	}
	if (!rc)
		*dir = at.ino;
	return rc;
}

static int disk_fill(struct glory_vol *v, const char *name, const struct glory_attr *at,
		     struct glory_disk_info *out)
{
	char mark[64];
	ssize_t n = glory_getxattr(v, at->ino, DISK_XATTR, mark, sizeof(mark) - 1);

	if (n < 0)
		return n == -GL_ENODATA ? -GL_ENOENT : (int)n; /* a file, not a disk */
	mark[n] = '\0';
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->ino = at->ino;
	out->size = at->size;
	out->stored = at->blocks * 512;
	out->snapshot = strstr(mark, "snapshot") != NULL;
	out->ctime_ns = at->btime_ns;
	return 0;
}

int glory_disk_stat(struct glory_vol *v, const char *name, struct glory_disk_info *out)
{
	struct glory_attr at;
	uint64_t dir;
	int rc;

	if ((rc = disk_name_ok(name)) || (rc = disk_dir(v, 0, &dir)))
		return rc;
	if ((rc = glory_lookup(v, dir, name, &at)))
		return rc;
	if (!S_ISREG(at.mode))
		return -GL_ENOENT;
	return disk_fill(v, name, &at, out);
}

/* Makes an empty disk file NAME (EEXIST) marked with mark; its attributes in at. */
static int disk_make(struct glory_vol *v, const char *name, const char *mark, struct glory_attr *at,
		     uint64_t *dirp)
{
	uint64_t dir;
	int rc;

	if ((rc = disk_name_ok(name)) || (rc = disk_dir(v, 1, &dir)))
		return rc;
	if ((rc = glory_create(v, dir, name, S_IFREG | 0600, 0, 0, 1, at)))
		return rc;
	rc = glory_setxattr(v, at->ino, DISK_XATTR, mark, strlen(mark), GLORY_XATTR_CREATE);
	if (rc)
		glory_unlink(v, dir, name);
	*dirp = dir;
	return rc;
}

int glory_disk_create(struct glory_vol *v, const char *name, uint64_t size)
{
	struct glory_attr at, in;
	uint64_t dir;
	int rc;

	if (size == 0 || size > GL_NS_MAX_FILE_SIZE)
		return -GL_EINVAL;
	if (strchr(name, '@'))
		return -GL_EINVAL; /* snapshots come from glory_disk_clone */
	if ((rc = disk_make(v, name, "disk v1", &at, &dir)))
		return rc;
	memset(&in, 0, sizeof(in));
	in.size = size;
	rc = glory_setattr(v, at.ino, GLORY_SET_SIZE, &in, &at);
	if (rc)
		glory_unlink(v, dir, name);
	return rc;
}

int glory_disk_resize(struct glory_vol *v, const char *name, uint64_t size)
{
	struct glory_disk_info di;
	struct glory_attr in, out;
	int rc;

	if (size == 0 || size > GL_NS_MAX_FILE_SIZE)
		return -GL_EINVAL;
	if ((rc = glory_disk_stat(v, name, &di)))
		return rc;
	if (di.snapshot)
		return -GL_EPERM;
	memset(&in, 0, sizeof(in));
	in.size = size;
	return glory_setattr(v, di.ino, GLORY_SET_SIZE, &in, &out);
}

int glory_disk_rm(struct glory_vol *v, const char *name)
{
	struct glory_disk_info di;
	uint64_t dir;
	int rc;

	if ((rc = glory_disk_stat(v, name, &di)) || (rc = disk_dir(v, 0, &dir)))
		return rc;
	return glory_unlink(v, dir, name);
}

int glory_disk_clone(struct glory_vol *v, const char *src, const char *dst)
{
	struct glory_disk_info si;
	struct glory_attr at;
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	const char *at_sign = strchr(dst, '@');
	uint64_t dir;
	int rc;

	if ((rc = glory_disk_stat(v, src, &si)))
		return rc;
	/* a snapshot is a clone named after its source: NAME@SNAP */
	if (at_sign &&
	    (strncmp(dst, src, (size_t)(at_sign - dst)) != 0 || src[at_sign - dst] != '\0'))
		return -GL_EINVAL;
	if ((rc = disk_make(v, dst, at_sign ? "disk v1 snapshot" : "disk v1", &at, &dir)))
		return rc;
	glory_vol_msg(v, &a, GL_NS_CLONE);
	gl_put_u64(&a, si.ino);
	gl_put_u64(&a, at.ino);
	/* retried on an unknown outcome: cloning the same layout again gives the same result */
	rc = glory_vol_md(v, &a, &c, &r, 1);
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	glory_vol_invalidate(v, at.ino);
	if (rc)
		glory_unlink(v, dir, dst);
	return rc;
}

struct list_ctx {
	struct glory_vol *v;
	struct glory_disk_info *d;
	int n, cap, rc;
	uint64_t cookie; /* the last entry seen */
};

static int list_cb(void *arg, const struct glory_dirent *e)
{
	struct list_ctx *l = arg;
	struct glory_disk_info di;

	l->cookie = e->cookie;
	if (!S_ISREG(e->mode) || !e->attr || disk_fill(l->v, e->name, e->attr, &di))
		return 0;
	if (l->n == l->cap) {
		int ncap = l->cap ? l->cap * 2 : 16;
		void *nd = realloc(l->d, (size_t)ncap * sizeof(*l->d));

		if (!nd) {
			l->rc = -GL_ENOMEM;
			return 1;
		}
		l->d = nd;
		l->cap = ncap;
	}
	l->d[l->n++] = di;
	return 0;
}

int glory_disk_list(struct glory_vol *v, struct glory_disk_info **out, int *n)
{
	struct list_ctx l = {v, NULL, 0, 0, 0, 0};
	uint64_t dir;
	int eof = 0, rc = disk_dir(v, 0, &dir);

	*out = NULL;
	*n = 0;
	if (rc == -GL_ENOENT)
		return 0;
	while (!rc && !eof && !l.rc)
		rc = glory_readdir(v, dir, l.cookie, 256, 1, list_cb, &l, &eof);
	if (!rc)
		rc = l.rc;
	if (rc) {
		free(l.d);
		return rc;
	}
	*out = l.d;
	*n = l.n;
	return 0;
}

/* ---- usage: distinct chunks over the disks' layouts ---- */

struct cset {
	struct cent {
		uint8_t id[32];
		uint32_t pool;
		int used;
	} * e;
	uint64_t n, cap; /* cap a power of two */
};

/* 1 when (pool, id) was new, 0 when seen, <0 on error */
static int cset_add(struct cset *s, uint32_t pool, const uint8_t *id)
{
	uint64_t h;

	if (2 * (s->n + 1) > s->cap) {
		struct cset ns = {calloc(s->cap ? 2 * s->cap : 1024, sizeof(struct cent)), 0,
				  s->cap ? 2 * s->cap : 1024};

		if (!ns.e)
			return -GL_ENOMEM;
		for (uint64_t i = 0; i < s->cap; i++)
			if (s->e[i].used)
				cset_add(&ns, s->e[i].pool, s->e[i].id);
		free(s->e);
		*s = ns;
	}
	memcpy(&h, id, sizeof(h));
	for (uint64_t i = (h ^ pool) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		struct cent *e = &s->e[i];

		if (!e->used) {
			memcpy(e->id, id, 32);
			e->pool = pool;
			e->used = 1;
			s->n++;
			return 1;
		}
		if (e->pool == pool && !memcmp(e->id, id, 32))
			return 0;
	}
}

static int usage_one(struct glory_vol *v, const struct glory_disk_info *di, struct cset *cs,
		     struct glory_disk_usage *u)
{
	const uint64_t step = 64ull * GL_NS_SLICE; /* what one NS_LAYOUT answers at most */
	int rc = 0;

	u->disks++;
	u->size += di->size;
	for (uint64_t off = 0; off < di->size && !rc; off += step) {
		struct gl_ns_attr at;
		struct gl_ns_extent *x = NULL;
		uint32_t n = 0;

		rc = glory_layout(v, di->ino, off, step, &at, &x, &n);
		for (uint32_t i = 0; i < n && !rc; i++) {
			int fresh;

			if (x[i].off < off || x[i].off >= off + step)
				continue; /* an extent before off was counted already */
			u->data += x[i].len;
			fresh = cset_add(cs, x[i].pool, x[i].chunk);
			if (fresh < 0)
				rc = fresh;
			else if (fresh) {
				u->stored += x[i].chunk_len;
				u->chunks++;
			}
		}
		free(x);
	}
	return rc;
}

int glory_disk_usage(struct glory_vol *v, const char *name, struct glory_disk_usage *out)
{
	struct cset cs = {0};
	struct glory_disk_info *d = NULL, one;
	int n = 0, rc;

	memset(out, 0, sizeof(*out));
	if (name) {
		rc = glory_disk_stat(v, name, &one);
		if (!rc)
			rc = usage_one(v, &one, &cs, out);
	} else {
		rc = glory_disk_list(v, &d, &n);
		for (int i = 0; i < n && !rc; i++)
			rc = usage_one(v, &d[i], &cs, out);
		free(d);
	}
	free(cs.e);
	return rc;
}

/* FUSE gateway: POSIX ACLs. With FUSE_CAP_POSIX_ACL the kernel evaluates the ACL xattrs and
 * leaves two things to the filesystem: the permission bits must follow an access ACL (the
 * kernel consults an ACL only when the group bits are set), and new inodes inherit their
 * directory's default ACL (masked by the create mode, the umask then not applied). */
#include "gateways/fuse/fuse_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The xattr form (v2): u32 version, then entries u16 tag, u16 perm, u32 id. */
#define ACL_USER_OBJ  0x01
#define ACL_USER      0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP     0x08
#define ACL_MASK      0x10
#define ACL_OTHER     0x20

int gf_acl_valid(const uint8_t *v, size_t len)
{
	return len >= 4 && (len - 4) % 8 == 0 && v[0] == 2 && !v[1] && !v[2] && !v[3];
}

static uint16_t tag_at(const uint8_t *e)
{
	return (uint16_t)(e[0] | e[1] << 8);
}

int gf_acl_mode(const uint8_t *v, size_t len, uint32_t *bits, int *extended)
{
	uint32_t u = 0, g = 0, o = 0, m = 0;
	int have_mask = 0, n = 0;

	if (!gf_acl_valid(v, len))
		return -EINVAL;
	for (size_t at = 4; at < len; at += 8, n++) {
		uint32_t perm = v[at + 2] & 7u;

		switch (tag_at(v + at)) {
		case ACL_USER_OBJ:
			u = perm;
			break;
		case ACL_GROUP_OBJ:
			g = perm;
			break;
		case ACL_OTHER:
			o = perm;
			break;
		case ACL_MASK:
			m = perm;
			have_mask = 1;
			break;
		}
	}
	*bits = u << 6 | (have_mask ? m : g) << 3 | o;
	*extended = n > 3;
	return 0;
}

int gf_acl_set_access(struct gf *fs, uint64_t ino, const void *value, size_t size, int flags)
{
	struct glory_attr a, in;
	uint32_t bits;
	int extended, rc = gf_acl_mode(value, size, &bits, &extended);

	if (rc || (rc = glory_getattr(fs->vol, ino, &a)))
		return rc;
	memset(&in, 0, sizeof(in));
	in.mode = (a.mode & 07000) | bits;
	if ((rc = glory_setattr(fs->vol, ino, GLORY_SET_MODE, &in, &a)))
		return rc;
	if (extended)
		return glory_setxattr(fs->vol, ino, GF_ACL_ACCESS, value, size, (unsigned)flags);
	rc = glory_removexattr(fs->vol, ino, GF_ACL_ACCESS);
	return rc && glory_errno(rc) == -ENODATA ? 0 : rc;
}

int gf_acl_create_masq(uint8_t *v, size_t len, uint32_t *mode)
{
	uint8_t *group_obj = NULL, *mask = NULL;
	uint32_t m = *mode;
	int extended = 0;

	for (size_t at = 4; at < len; at += 8) {
		uint8_t *e = v + at;

		switch (tag_at(e)) {
		case ACL_USER_OBJ:
			e[2] &= (uint8_t)((m >> 6) & 7);
			m = (m & ~0700u) | (uint32_t)e[2] << 6;
			break;
		case ACL_USER:
		case ACL_GROUP:
			extended = 1;
			break;
		case ACL_GROUP_OBJ:
			group_obj = e;
			break;
		case ACL_MASK:
			mask = e;
			extended = 1;
			break;
		case ACL_OTHER:
			e[2] &= (uint8_t)(m & 7);
			m = (m & ~07u) | e[2];
			break;
		}
	}
	if (mask || group_obj) {
		uint8_t *g = mask ? mask : group_obj;

		g[2] &= (uint8_t)((m >> 3) & 7);
		m = (m & ~070u) | (uint32_t)g[2] << 3;
	}
	*mode = m;
	return extended;
}

int gf_inherit_prepare(fuse_req_t req, uint64_t parent, int isdir, uint32_t *mode,
		       struct gf_inherit *in)
{
	struct gf *fs = gf_of(req);
	uint32_t type = *mode & ~07777u, bits = *mode & 07777u, perm = bits & 0777u;
	ssize_t n = glory_getxattr(fs->vol, parent, GF_ACL_DEFAULT, NULL, 0);
	uint8_t *d;

	memset(in, 0, sizeof(*in));
	if (n < 0 && glory_errno((int)n) != -ENODATA)
		return (int)n;
	if (n <= 0) {
		if (fs->dont_mask)
			bits &= ~(uint32_t)fuse_req_ctx(req)->umask;
		*mode = type | bits;
		return 0;
	}
	if (!(d = malloc((size_t)n)))
		return -ENOMEM;
	if (glory_getxattr(fs->vol, parent, GF_ACL_DEFAULT, d, (size_t)n) != n ||
	    !gf_acl_valid(d, (size_t)n)) {
		free(d); /* changed meanwhile, or not an ACL: as if there were none */
		*mode = type | (fs->dont_mask ? bits & ~(uint32_t)fuse_req_ctx(req)->umask : bits);
		return 0;
	}
	if (isdir && !(in->dflt = malloc((size_t)n))) {
		free(d);
		return -ENOMEM;
	}
	if (isdir) {
		memcpy(in->dflt, d, (size_t)n);
		in->dflt_len = (size_t)n;
	}
	if (gf_acl_create_masq(d, (size_t)n, &perm)) {
		in->access = d;
		in->access_len = (size_t)n;
	} else {
		free(d);
	}
	*mode = type | (bits & 07000u) | perm;
	return 0;
}

int gf_inherit_apply(struct gf *fs, uint64_t ino, const struct gf_inherit *in)
{
	int rc = 0;

	if (in->access)
		rc = glory_setxattr(fs->vol, ino, GF_ACL_ACCESS, in->access, in->access_len, 0);
	if (!rc && in->dflt)
		rc = glory_setxattr(fs->vol, ino, GF_ACL_DEFAULT, in->dflt, in->dflt_len, 0);
	return rc;
}

void gf_inherit_free(struct gf_inherit *in)
{
	free(in->access);
	free(in->dflt);
	memset(in, 0, sizeof(*in));
}

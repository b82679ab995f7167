/* The FUSE gateway's shared state: the volume, the table of open inodes, reply helpers. */
#ifndef GLORY_GATEWAYS_FUSE_INTERNAL_H
#define GLORY_GATEWAYS_FUSE_INTERNAL_H

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>

#include "gateways/libglory/glory.h"

#include <pthread.h>
#include <stdint.h>

/* One per inode open in this mount: every descriptor of the inode shares one glory_file, so
 * all of them see the same buffered writes. */
struct gf_open {
	uint64_t ino;
	struct glory_file *f;
	int refs;     /* open descriptors (FUSE file handles) */
	int orphaned; /* its last name went while open: forget it on the last release */
	int locked;   /* a lock was taken on it here: closes release them (fuse_lock.c) */
	struct gf_open *next;
};

#define GF_OPEN_BUCKETS 1024

struct gf {
	struct glory_vol *vol;
	pthread_mutex_t lock; /* guards the open table */
	struct gf_open *open[GF_OPEN_BUCKETS];
	double attr_timeout, entry_timeout;
	int dont_mask; /* the kernel leaves the umask to us (for default ACLs) */
};

/* ---- POSIX ACLs (fuse_acl.c); the kernel evaluates them, we keep them ---- */
#define GF_ACL_ACCESS  "system.posix_acl_access"
#define GF_ACL_DEFAULT "system.posix_acl_default"

/* The xattr form of an ACL (v2: u32 version, entries of u16 tag, u16 perm, u32 id), parsed
 * from bytes any user may set: every length is checked. */
int gf_acl_valid(const uint8_t *v, size_t len);
/* The permission bits an access ACL implies (the mask, if any, stands for the group class);
 * *extended is set when it says more than the bits can. -EINVAL when malformed. */
int gf_acl_mode(const uint8_t *v, size_t len, uint32_t *bits, int *extended);
/* Masks a valid ACL (a copy of a default ACL) by the create mode in place, as the kernel does
 * for local filesystems; *mode gets the bits; returns whether the ACL says more than they do. */
int gf_acl_create_masq(uint8_t *v, size_t len, uint32_t *mode);

/* What a new inode inherits from its directory's default ACL. */
struct gf_inherit {
	uint8_t *access; /* its access ACL (NULL: the mode says it all) */
	uint8_t *dflt;	 /* a new directory's default ACL (NULL: none) */
	size_t access_len, dflt_len;
};

/* Setting an access ACL: the permission bits follow it, an ACL the bits say all of is not kept. */
int gf_acl_set_access(struct gf *fs, uint64_t ino, const void *value, size_t size, int flags);
/* Before creating in parent: the mode the new inode gets (*mode in: as asked, out: to create)
 * and what it inherits (free with gf_inherit_free). Without a default ACL the umask applies. */
int gf_inherit_prepare(fuse_req_t req, uint64_t parent, int isdir, uint32_t *mode,
		       struct gf_inherit *in);
/* After creating ino: stores the inherited ACLs. */
int gf_inherit_apply(struct gf *fs, uint64_t ino, const struct gf_inherit *in);
void gf_inherit_free(struct gf_inherit *in);

/* fuse_ops_*.c fill their part of the operations table. */
void gf_meta_ops(struct fuse_lowlevel_ops *ops);
void gf_data_ops(struct fuse_lowlevel_ops *ops);
void gf_dir_ops(struct fuse_lowlevel_ops *ops);
void gf_lock_ops(struct fuse_lowlevel_ops *ops);
/* At flush (release 0: the closing process's POSIX locks) and release (release 1: the open
 * file's flock lock) of o: drops what the kernel says goes with it. */
int gf_lock_close(struct gf *fs, uint64_t ino, struct gf_open *o, struct fuse_file_info *fi,
		  int release);

struct gf *gf_of(fuse_req_t req);
/* Answers req with the errno of a glory error. */
void gf_reply_err(fuse_req_t req, int rc);
void gf_stat_of(const struct glory_attr *a, struct stat *st);
void gf_reply_entry(fuse_req_t req, const struct glory_attr *a);

/* The open inode, referenced (gf_open_put drops it); NULL if not open here. */
struct gf_open *gf_open_find(struct gf *fs, uint64_t ino);
void gf_open_put(struct gf *fs, struct gf_open *o);
/* Commits the buffered writes of ino if it is open here (before a truncate or a getattr). */
int gf_open_sync(struct gf *fs, uint64_t ino);
/* Marks ino orphaned if open here; returns whether it is open. */
int gf_open_orphan(struct gf *fs, uint64_t ino);
/* Commits and closes every open file (at unmount). */
void gf_open_close_all(struct gf *fs);

#endif

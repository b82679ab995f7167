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
#define GF_CHANGE_SLOTS 256

/* Changes made through this mount, by inode (hashed to a slot): an answer read before a change
 * must not reach the kernel's attribute cache after the change's own answer did (attr.c). */
struct gf_change {
	pthread_rwlock_t lk; /* readers: a reply with a timeout is being sent */
	uint64_t gen;	     /* bumped (atomically) by each change, before its reply */
};

struct gf {
	struct glory_vol *vol;
	pthread_mutex_t lock; /* guards the open table */
	struct gf_open *open[GF_OPEN_BUCKETS];
	double attr_timeout, entry_timeout;
	int dont_mask; /* the kernel leaves the umask to us (for default ACLs) */
	/* the kernel keeps attributes as long as libglory's lease on them; another client's change
	 * drops them there (gf_inval, from libglory's watch thread) */
	pthread_mutex_t se_lock; /* guards se */
	struct fuse_session *se; /* NULL outside the loop */
	struct gf_change change[GF_CHANGE_SLOTS];
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

/* ---- what the kernel may keep (fuse_attr.c) ----
 * Attributes go to the kernel with a timeout: what is left of libglory's lease on them (0 for
 * what no lease covers: the answers of writes, inodes open here). Another client's change
 * reaches the kernel through gf_inval before it is acknowledged; this mount's own changes are
 * announced with gf_changed before they are answered. */
void gf_attr_init(struct gf *fs);
void gf_attr_fini(struct gf *fs);
/* Registered with libglory: drops the kernel's attributes of ino. */
void gf_inval(void *arg, uint64_t ino);
/* The change generation of ino: sample it before reading what a reply will carry. */
uint64_t gf_change_gen(struct gf *fs, uint64_t ino);
/* After this mount changed ino (its attributes, or a directory's entries), before replying. */
void gf_changed(struct gf *fs, uint64_t ino);
/* The attribute timeout to send for ino (lease left, less a margin; 0 if ino changed here since
 * gen was sampled); when > 0 the answer must be sent before gf_ttl_done(fs, ino, timeout). */
double gf_ttl_hold(struct gf *fs, uint64_t ino, double ttl, uint64_t gen);
void gf_ttl_done(struct gf *fs, uint64_t ino, double t);
/* Replies with a's attributes kept by the kernel for ttl seconds (lease left, 0: not kept)
 * unless ino changed here since gen was sampled. */
void gf_reply_entry_ttl(fuse_req_t req, const struct glory_attr *a, double ttl, uint64_t gen);
void gf_reply_attr_ttl(fuse_req_t req, const struct glory_attr *a, double ttl, uint64_t gen);

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

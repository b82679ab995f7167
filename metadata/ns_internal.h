/* Private to metadata/ns*.c: one operation's view of the database and its writes. */
#ifndef GL_NS_INTERNAL_H
#define GL_NS_INTERNAL_H

#include <rocksdb/c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "metadata/ns.h"

#define KEY_MAX (1 + 4 + 8 + GL_NS_NAME_MAX + 8)

/* What one write op has written so far: later reads in the same op see it. */
struct ovl_ent {
	uint8_t *k, *v; /* v NULL: deleted */
	size_t kl, vl;
};

struct op {
	rocksdb_t *db;
	rocksdb_writebatch_t *wb; /* NULL for reads */
	struct ovl_ent *ovl;
	int n, cap;
	uint32_t tenant; /* the caller; 0 = admin */
	int64_t now;
};

/* An inode record: attributes, the parent of a directory, a directory's next readdir cookie,
 * a symlink's target. */
struct inode {
	struct gl_ns_attr a;
	uint64_t parent;
	uint64_t next_cookie;
	char target[GL_NS_PATH_MAX + 1];
};

/* keys (big-endian numbers so they sort) */
size_t k_inode(uint8_t *k, uint32_t vol, uint64_t ino);
size_t k_dent(uint8_t *k, uint32_t vol, uint64_t dir, const char *name);
size_t k_dord(uint8_t *k, uint32_t vol, uint64_t dir, uint64_t cookie);
size_t k_xattr(uint8_t *k, uint32_t vol, uint64_t ino, const char *name);
size_t k_slice(uint8_t *k, uint32_t vol, uint64_t ino, uint64_t slice);
size_t k_orphan(uint8_t *k, uint32_t vol, uint64_t ino);
size_t k_vol(uint8_t *k, uint32_t vol);
size_t k_nextino(uint8_t *k, uint32_t vol);
size_t k_ref(uint8_t *k, uint32_t pool, const uint8_t *chunk);
/* prefix of keys 'c' + vol + ino (for 'e', 'x', 'l') */
size_t k_prefix(uint8_t *k, char type, uint32_t vol, uint64_t ino);
void be32(uint8_t *p, uint32_t v);
void be64(uint8_t *p, uint64_t v);
uint32_t rdbe32(const uint8_t *p);
uint64_t rdbe64(const uint8_t *p);

/* reads through the op's overlay; *v malloc'd (free); 0, -GL_ENOENT or -GL_EDB */
int op_get(struct op *o, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl);
void op_put(struct op *o, const uint8_t *k, size_t kl, const void *v, size_t vl);
void op_del(struct op *o, const uint8_t *k, size_t kl);
void op_free(struct op *o);
/* Calls fn for every key with the given prefix in the database (not the overlay), in order,
 * from start (a key >= prefix) on, until fn returns non-zero (returned). */
int op_scan(struct op *o, const uint8_t *prefix, size_t pl, const uint8_t *start, size_t sl,
	    int (*fn)(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl),
	    void *arg);

int inode_get(struct op *o, uint32_t vol, uint64_t ino, struct inode *in);
void inode_put(struct op *o, uint32_t vol, const struct inode *in);
int vol_get(struct op *o, uint32_t vol, struct gl_ns_vol *v);
void vol_put(struct op *o, const struct gl_ns_vol *v);
/* The volume when the caller may use it: -GL_ENOENT otherwise (as if missing). */
int vol_access(struct op *o, uint32_t vol, struct gl_ns_vol *v);
/* A single path component: 0, -GL_EINVAL, -GL_ENAMETOOLONG, -GL_EPROTO. */
int get_name(struct gl_rbuf *r, char *out);

size_t k_catalog(uint8_t *k, uint32_t tenant, const char *name);
/* Drops every inode (with its extents and chunk references), entry, xattr and layout of a
 * volume; its "V" and catalog records stay. */
int vol_wipe(struct op *o, struct gl_ns_vol *v);

/* ns_move.c: moving a volume between shards (ns.h) */
/* 0, or the GL_NS_MOVE_* state of the volume here (*shard: the other shard) */
int move_state(struct op *o, uint32_t vol, uint32_t *shard);
int ns_move_apply(struct op *o, uint16_t opc, struct gl_rbuf *r);
int ns_move_read(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply);

/* ns_tree.c */
/* A slice's layout: extents sorted by offset, not overlapping. */
struct extents {
	struct gl_ns_extent *e;
	uint32_t n, cap;
};

/* Chunk reference changes of one op, applied at its end. */
struct refs {
	struct {
		uint32_t pool;
		uint8_t id[32];
		int64_t delta;
	} * r;
	int n, cap;
};

int ext_push(struct extents *x, const struct gl_ns_extent *e);
/* x->e must be NULL or owned (free it after) */
int slice_get(struct op *o, uint32_t vol, uint64_t ino, uint64_t slice, struct extents *x);
void slice_put(struct op *o, uint32_t vol, uint64_t ino, uint64_t slice, const struct extents *x);
int ref_add(struct refs *rf, uint32_t pool, const uint8_t *id, int64_t d);
/* Applies the changes and empties rf. */
int refs_commit(struct op *o, struct refs *rf);
/* Keeps the part of x's extents outside [a, b); counts the references and bytes dropped. */
int cut_range(struct extents *x, uint64_t a, uint64_t b, struct refs *rf, int64_t *bytes);
/* Drops the layout at and beyond size; the stored-bytes change in *bytes. */
int layout_truncate(struct op *o, uint32_t vol, uint64_t ino, uint64_t size, struct refs *rf,
		    int64_t *bytes);
/* Adds d references for each extent of a layout record (u32 n, n x extent). */
int slice_refs(struct op *o, const uint8_t *v, size_t vl, int64_t d);
int ns_tree_apply(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply);
int ns_tree_read(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply);
/* Frees an inode with nlink 0: its extents and chunk references, xattrs, orphan mark, and the
 * volume's usage. */
int inode_free(struct op *o, struct gl_ns_vol *v, const struct inode *in);

/* ns_lock.c: NS_LOCK, NS_SESSION (apply), NS_GETLK (read); dropping a freed inode's locks */
int ns_lock_apply(struct op *o, uint16_t opc, struct gl_rbuf *r);
int ns_lock_read(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply);
void ns_lock_forget(struct op *o, uint32_t vol, uint64_t ino);

/* ns_disk.c: NS_PUNCH, NS_CLONE (block volumes), NS_DEDUP_GET (read) */
int ns_disk_apply(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply);
int ns_disk_read(struct op *o, uint16_t opc, struct gl_rbuf *r, struct gl_wbuf *reply);
/* NS_WRITE's dedup tail (ns.h), pointing into the message */
struct wtail {
	uint32_t ncut, nneed, nidx, nlist;
	const uint8_t *cut, *need, *idx, *lists;
};
/* Parses what is left of r as the tail (none: all zero). -GL_EPROTO, -GL_EINVAL. */
int wtail_parse(struct gl_rbuf *r, struct wtail *t);
/* Before anything is applied: -GL_ENOREF when a needed chunk has no reference here,
 * -GL_EINVAL for index entries or block lists outside the op's n extents ex, or in a volume
 * without dedup. */
int wtail_check(struct op *o, const struct gl_ns_vol *v, const struct wtail *t,
		const struct gl_ns_extent *ex, uint32_t n);
/* Drops the tail's ranges from the layout, counting references and bytes. */
int wtail_cut(struct op *o, uint32_t vid, uint64_t ino, const struct wtail *t, struct refs *rf,
	      int64_t *bytes);
/* Puts the tail's index entries and block lists. */
void wtail_index(struct op *o, uint32_t vid, const struct wtail *t);

#endif

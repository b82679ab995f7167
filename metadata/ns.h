/* The namespace state machine of a metadata shard: tenants, access keys, volumes with policy,
 * quota and usage, the POSIX namespace, file layouts and chunk references, in one RocksDB
 * database changed only through gl_ns_apply (the apply of a gl_rsm, metadata/rsm.h).
 *
 * Messages (little-endian, common/buf.h; str = u16 length + bytes; bytes32 = u32 length + bytes;
 * id32 = 32-byte chunk id; attr = gl_ns_attr_put). Every message, write or read, starts with
 *     u16 op, u32 tenant (the caller's; 0 = admin, may do anything), i64 now_ns
 * now_ns is set by the proposing leader (never read the clock in apply). A volume named by id
 * whose tenant is not the caller's answers -GL_ENOENT, exactly as a missing one.
 *
 * Write ops (one raft entry each):               fields after the header -> reply
 *   NS_TENANT_CREATE  str name                    -> u32 tenant id            (EEXIST)
 *   NS_TENANT_RM      str name                    -> -                        (ENOTEMPTY: volumes)
 *   NS_KEY_CREATE     str tenant, str access, str secret -> u32 tenant id     (EEXIST, ENOENT)
 *   NS_KEY_RM         str access                  -> -
 *   NS_VOL_CREATE     str tenant, str name, u32 shard, struct gl_ns_policy -> gl_ns_vol
 *                     (the catalog entry: allocates the volume id; EEXIST per tenant and name)
 *   NS_VOL_INIT       gl_ns_vol                   -> - (the volume's own records and its root
 *                     directory, inode 1, mode 040755, uid/gid 0; idempotent)
 *   NS_VOL_SET        u32 vol, u32 mask (GL_NS_VSET_*), gl_ns_policy -> gl_ns_vol
 *                     (the quota may be set below usage: further growth gets EDQUOT)
 *   NS_VOL_RM         u32 vol, u8 force           -> - (ENOTEMPTY unless empty or force;
 *                     force drops every inode, layout and chunk reference of the volume)
 *   NS_MKNOD          u32 vol, u64 parent, str name, u32 mode, u32 uid, u32 gid, u64 rdev,
 *                     u8 excl -> attr. Any non-directory type. An existing name answers
 *                     -GL_EEXIST, and also its attr when excl is 0 and it is a regular file.
 *   NS_MKDIR          u32 vol, u64 parent, str name, u32 mode, u32 uid, u32 gid -> attr
 *   NS_SYMLINK        u32 vol, u64 parent, str name, str target, u32 uid, u32 gid -> attr
 *   NS_LINK           u32 vol, u64 ino, u64 newparent, str name -> attr (EPERM: directory)
 *   NS_UNLINK         u32 vol, u64 parent, str name, u8 keep -> attr of the inode after it
 *                     (nlink may be 0). When nlink reaches 0: keep=1 (the file is still open
 *                     somewhere) leaves it an orphan until NS_FORGET; keep=0 frees it now.
 *   NS_RMDIR          u32 vol, u64 parent, str name -> -
 *   NS_RENAME         u32 vol, u64 sparent, str sname, u64 dparent, str dname, u32 flags
 *                     (GL_NS_RENAME_*) -> u8 replaced, attr of the replaced inode when replaced
 *                     (its nlink after; freed like an unlink with keep=0 at nlink 0)
 *   NS_SETATTR        u32 vol, u64 ino, u32 valid (GL_NS_SET_*), u32 mode, u32 uid, u32 gid,
 *                     u64 size, i64 atime_ns, i64 mtime_ns -> attr. A smaller size drops the
 *                     layout beyond it; ctime is set to now.
 *   NS_SETXATTR       u32 vol, u64 ino, str name, bytes32 value, u32 flags (GL_NS_XATTR_*) -> -
 *   NS_RMXATTR        u32 vol, u64 ino, str name -> -                      (ENODATA)
 *   NS_WRITE          u32 vol, u64 ino, u64 size (the file grows to at least this), i64 mtime_ns,
 *                     u32 n, n x extent [, dedup tail] -> attr. Puts each extent over the
 *                     layout (newer bytes win where they overlap), adds a chunk reference per
 *                     extent piece kept, drops the references of pieces overwritten. EDQUOT
 *                     when the volume's stored bytes would pass its quota: nothing is applied
 *                     then. The optional dedup tail (block-level dedup of VM disks,
 *                     gateways/libglory/disk_flush.c):
 *                       u32 ncut, ncut x (u64 off, u64 len): ranges dropped before the extents
 *                         are put (a slice rewritten whole: its zero blocks become holes);
 *                       u32 nneed, nneed x (u32 pool, id32): chunks this shard must reference
 *                         already, or the op is -GL_ENOREF with nothing applied (extents found
 *                         through NS_DEDUP_GET: a chunk referenced here cannot be collected);
 *                       u32 nidx, nidx x (hash32, u32 pool, id32, u32 chunk_len,
 *                         u32 chunk_off): entries of the volume's block index (dedup volumes
 *                         only), each a GL_NS_DEDUP_BLOCK inside an extent of this op, listed
 *                         in extent order; a later entry for the same hash replaces it;
 *                       u32 nlist, nlist x (u32 pool, id32, u32 nb, nb x hash32): the block
 *                         list of a chunk an extent of this op points into (block i at
 *                         i x GL_NS_DEDUP_BLOCK), nb up to GL_NS_SLICE / GL_NS_DEDUP_BLOCK.
 *   NS_FORGET         u32 vol, u64 ino            -> - (frees an orphan; no-op otherwise)
 *   NS_LOCK           u32 vol, u64 ino, u64 session, u64 owner, u32 pid, u8 kind
 *                     (GL_NS_LOCK_POSIX/FLOCK), u8 type (GL_NS_LOCK_UN/RD/WR), u64 start,
 *                     u64 end (inclusive) -> -. Sets the holder's (session, owner, kind) lock
 *                     over [start, end] to type with POSIX semantics (split, merge, convert);
 *                     -GL_EAGAIN when a live holder of the same kind holds a conflicting range
 *                     (nothing changes). Renews the session (GL_NS_LOCK_TTL). ENOLCK past 256
 *                     ranges per holder and file. See metadata/ns_lock.c.
 *   NS_SESSION        u64 session, u32 ttl_s      -> - (keeps a client's locks alive ttl_s more
 *                     seconds; 0 ends the session: its locks are void at once)
 *   NS_PUNCH          u32 vol, u64 ino, u64 off, u64 len -> attr. Drops the layout over
 *                     [off, off+len) (a hole: reads as zeros, stores nothing) and the chunk
 *                     references of what it dropped; the size stays (metadata/ns_disk.c).
 *   NS_CLONE          u32 vol, u64 src, u64 dst -> attr of dst. dst (a regular file, not src)
 *                     gets src's size and a copy of its layout, one more reference on each
 *                     chunk it shares; dst's old layout is dropped. Copy-on-write: later
 *                     writes to either put new extents over their own layout only. EDQUOT
 *                     when the copied stored bytes pass the quota.
 *   NS_VOL_MOVE       u32 vol, u8 stage (GL_NS_MOVE_*), u32 shard (the destination) -> -
 *                     One step of moving a volume between shards (admin only; see below).
 *   NS_VOL_IMPORT     u32 vol, u32 shard, u32 n, n x (u16 klen, key, bytes32 value) -> -
 *                     Records of a volume being imported here (stage IN_BEGIN done): keys of
 *                     the volume only; its "V" record takes shard; layouts add their chunk
 *                     references.
 *
 * Read ops (served after gl_rsm_read_fence):
 *   NS_LOOKUP         u32 vol, u64 parent, str name -> attr
 *   NS_GETATTR        u32 vol, u64 ino             -> attr
 *   NS_READDIR        u32 vol, u64 dir, u64 cookie, u32 max, u8 plus
 *                     -> u8 eof, u32 n, n x (u64 cookie, u64 ino, u32 mode, str name[, attr])
 *                     Cookies are stable: an entry's cookie never changes while it exists and
 *                     is never reused in that directory; resume after the last one returned.
 *                     Start with cookie 0. "." and ".." are not listed (gateways add them).
 *   NS_READLINK       u32 vol, u64 ino             -> str target
 *   NS_GETXATTR       u32 vol, u64 ino, str name   -> bytes32 value (ENODATA)
 *   NS_LISTXATTR      u32 vol, u64 ino             -> u32 n, n x str name
 *   NS_LAYOUT         u32 vol, u64 ino, u64 off, u64 len -> attr, u32 n, n x extent
 *                     (extents overlapping [off, off+len), in file order; gaps are holes)
 *   NS_VOL_GET        str tenant, str name         -> gl_ns_vol (ENOENT)
 *   NS_VOL_GET_ID     u32 vol                      -> gl_ns_vol (with usage when it lives here)
 *   NS_VOL_LIST       str tenant ("" = all, admin only) -> u32 n, n x gl_ns_vol
 *   NS_TENANT_LIST    -                            -> u32 n, n x (u32 id, str name, u32 nvols)
 *   NS_KEY_GET        str access                   -> u32 tenant, str tenant name, str secret
 *   NS_CHUNK_REFS     u32 n, n x (u32 pool, id32)  -> u32 n, n x u64 references held here
 *   NS_DUMP           u32 vol (0 = everything)[, u16 klen, key, u32 max bytes]
 *                     -> bytes32 text, u8 more, u16 klen, last key: the records, one per line,
 *                     in key order, canonical (the restart test compares dumps), one page of
 *                     about GL_NS_DUMP_PAGE (or max) bytes; with a key, the page after it. A
 *                     caller asks again after the last key while more is set
 *   NS_VOL_EXPORT     u32 vol, u16 klen, key (after it; empty: from the start), u32 max bytes
 *                     -> u8 done, u32 n, n x (u16 klen, key, bytes32 value): the records of a
 *                     frozen volume in key order (admin only; EBUSY unless frozen)
 *   NS_VOL_WHERE      u32 vol                      -> u32 shard (the catalog's record; no move
 *                     check: what a client asks after -GL_EMOVED)
 *   NS_GETLK          as NS_LOCK (type UN tests for any lock) -> u8 found, [u8 type, u64 start,
 *                     u64 end, u32 pid, u64 session]: the first live conflicting lock
 *   NS_DEDUP_GET      u32 vol, u32 n, n x hash32 -> u32 n, n x (u8 found[, u32 pool, id32,
 *                     u32 chunk_len, u32 chunk_off]): where the volume's block index has each
 *                     block (the SHA-256 of GL_NS_DEDUP_BLOCK bytes); found only while this
 *                     shard references the chunk
 *   NS_DEDUP_LIST     u32 vol, u32 n (up to GL_NS_DEDUP_LISTS), n x (u32 pool, id32)
 *                     -> u32 n, n x (u32 nb, nb x hash32): each chunk's block list (nb 0 when
 *                     none is kept or this shard does not reference the chunk)
 *
 * Moving a volume (libglory's glory_volume_move runs the steps; each is idempotent, so running
 * the move again after a crash finishes it):
 *   FREEZE (source): writes to the volume answer -GL_EMOVED, reads go on;
 *   IN_BEGIN (destination): drops what an earlier attempt imported, marks the volume importing;
 *   NS_VOL_EXPORT pages from the source -> NS_VOL_IMPORT on the destination;
 *   IN_END (destination): the volume is live there;
 *   GONE (source): every op on the volume answers -GL_EMOVED; clients ask NS_VOL_WHERE;
 *   CATALOG (catalog shard): the catalog points at the destination;
 *   RELEASE (source, later): the source's copy and its chunk references are dropped. Until then
 *   the source still holds the references, so GC never sees a moving chunk unreferenced.
 *   UNLIST (catalog shard): drops the catalog record of a volume removed on another shard.
 *
 * Limits: names 1..255 bytes without '/' or NUL, not "." or ".." (EINVAL; ENAMETOOLONG past
 * 255); symlink targets 1..4095; xattr names 1..255, values up to 64 KiB (E2BIG); tenant and
 * volume names 1..63 of [a-z0-9.-] (S3 bucket rules also apply at the S3 gateway). nlink up to
 * 65000 (EMLINK). Directory nlink = 2 + subdirectories. Renaming a directory under itself is
 * EINVAL. Setgid directories pass their gid (and, to subdirectories, the setgid bit) on.
 *
 * RocksDB keys (u32/u64 big-endian in keys so they sort; values little-endian):
 *   "\0applied"                                  (owned by metadata/rsm.c)
 *   "c" "next"                                    u32 next tenant id, u32 next volume id
 *   "t" str-bytes name                            tenant: u32 id
 *   "T" u32 id                                    tenant: str name
 *   "k" access                                    key: u32 tenant, str secret
 *   "v" u32 tenant, name                          catalog: u32 volume id
 *   "V" u32 vol                                   gl_ns_vol (policy, shard, usage when here)
 *   "i" u32 vol, u64 ino                          inode: attr, then u64 parent (directories),
 *                                                 u64 next cookie (directories), str target
 *   "d" u32 vol, u64 dir, name                    dentry: u64 ino, u32 mode, u64 cookie
 *   "e" u32 vol, u64 dir, u64 cookie              readdir order: name
 *   "x" u32 vol, u64 ino, name                    xattr value
 *   "l" u32 vol, u64 ino, u64 slice               extents of one GL_NS_SLICE of the file
 *   "r" u32 pool, id32                            u64 chunk references held by this shard
 *   "o" u32 vol, u64 ino                          orphan (nlink 0, still open)
 *   "n" u32 vol                                   u64 next inode number
 *   "L" u32 vol, u64 ino, u64 session, u64 owner, u8 kind   a lock holder: u32 pid, u32 n,
 *                                                 n x (u8 type, u64 start, u64 end), sorted
 *   "S" u64 session                               i64 expiry (ns) of a client's locks
 *   "B" u32 vol, u32 pool, id32                   block list of a chunk of a dedup volume:
 *                                                 u32 n, n x hash32 (the SHA-256 of each block)
 *   "b" u32 vol, hash32                           block index of a dedup volume (anchor blocks
 *                                                 only): u32 pool, id32 chunk, u32 chunk_len,
 *                                                 u32 chunk_off
 *   "m" u32 vol                                   move state: u8 GL_NS_MOVE_FREEZE, _GONE or
 *                                                 _IN_BEGIN (importing), u32 other shard
 */
#ifndef GL_NS_H
#define GL_NS_H

#include <rocksdb/c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define GL_NS_PROTO	    1
#define GL_NS_NAME_MAX	    255
#define GL_NS_PATH_MAX	    4095
#define GL_NS_XNAME_MAX	    255
#define GL_NS_XVALUE_MAX    (64u << 10)
#define GL_NS_LINK_MAX	    65000
#define GL_NS_DUMP_PAGE	    (1u << 20) /* bytes of NS_DUMP text per reply (see above) */
#define GL_NS_SLICE	    (4u << 20) /* layouts are kept per 4 MiB of file */
#define GL_NS_MAX_EXTENTS   1024       /* per NS_WRITE */
#define GL_NS_VNAME_MAX	    63	       /* tenant and volume names */
#define GL_NS_ROOT	    1	       /* root inode of every volume */
#define GL_NS_MAX_FILE_SIZE (1ull << 50)
#define GL_NS_DEDUP_BLOCK   4096  /* the block of VM disk dedup (a file system's block) */
#define GL_NS_DEDUP_MAX	    16384 /* index entries or hashes per message */
#define GL_NS_DEDUP_LISTS   64	  /* block lists per NS_DEDUP_LIST */

/* X(name, code) */
#define GL_NS_WRITE_OPS(X)                                                                         \
	X(NS_TENANT_CREATE, 1)                                                                     \
	X(NS_TENANT_RM, 2)                                                                         \
	X(NS_KEY_CREATE, 3)                                                                        \
	X(NS_KEY_RM, 4)                                                                            \
	X(NS_VOL_CREATE, 5)                                                                        \
	X(NS_VOL_INIT, 6)                                                                          \
	X(NS_VOL_SET, 7)                                                                           \
	X(NS_VOL_RM, 8)                                                                            \
	X(NS_VOL_MOVE, 9)                                                                          \
	X(NS_VOL_IMPORT, 10)                                                                       \
	X(NS_MKNOD, 20)                                                                            \
	X(NS_MKDIR, 21)                                                                            \
	X(NS_SYMLINK, 22)                                                                          \
	X(NS_LINK, 23)                                                                             \
	X(NS_UNLINK, 24)                                                                           \
	X(NS_RMDIR, 25)                                                                            \
	X(NS_RENAME, 26)                                                                           \
	X(NS_SETATTR, 27)                                                                          \
	X(NS_SETXATTR, 28)                                                                         \
	X(NS_RMXATTR, 29)                                                                          \
	X(NS_WRITE, 30)                                                                            \
	X(NS_FORGET, 31)                                                                           \
	X(NS_LOCK, 32)                                                                             \
	X(NS_SESSION, 33)                                                                          \
	X(NS_PUNCH, 34)                                                                            \
	X(NS_CLONE, 35)

#define GL_NS_READ_OPS(X)                                                                          \
	X(NS_LOOKUP, 100)                                                                          \
	X(NS_GETATTR, 101)                                                                         \
	X(NS_READDIR, 102)                                                                         \
	X(NS_READLINK, 103)                                                                        \
	X(NS_GETXATTR, 104)                                                                        \
	X(NS_LISTXATTR, 105)                                                                       \
	X(NS_LAYOUT, 106)                                                                          \
	X(NS_VOL_GET, 107)                                                                         \
	X(NS_VOL_GET_ID, 108)                                                                      \
	X(NS_VOL_LIST, 109)                                                                        \
	X(NS_TENANT_LIST, 110)                                                                     \
	X(NS_KEY_GET, 111)                                                                         \
	X(NS_CHUNK_REFS, 112)                                                                      \
	X(NS_DUMP, 113)                                                                            \
	X(NS_VOL_EXPORT, 114)                                                                      \
	X(NS_VOL_WHERE, 115)                                                                       \
	X(NS_GETLK, 116)                                                                           \
	X(NS_DEDUP_GET, 117)                                                                       \
	X(NS_DEDUP_LIST, 118)

enum gl_ns_op {
#define GL_NS_OPC(name, code) GL_##name = code,
	GL_NS_WRITE_OPS(GL_NS_OPC) GL_NS_READ_OPS(GL_NS_OPC)
#undef GL_NS_OPC
};

#define GL_NS_RENAME_NOREPLACE 1u
#define GL_NS_RENAME_EXCHANGE  2u
#define GL_NS_RENAME_KEEP      4u /* a replaced file losing its last link stays as an orphan */

#define GL_NS_SET_MODE	0x01u
#define GL_NS_SET_UID	0x02u
#define GL_NS_SET_GID	0x04u
#define GL_NS_SET_SIZE	0x08u
#define GL_NS_SET_ATIME 0x10u
#define GL_NS_SET_MTIME 0x20u

#define GL_NS_XATTR_CREATE  1u /* fail with EEXIST if it exists */
#define GL_NS_XATTR_REPLACE 2u /* fail with ENODATA if it does not */

#define GL_NS_MOVE_FREEZE   1
#define GL_NS_MOVE_GONE	    2
#define GL_NS_MOVE_RELEASE  3
#define GL_NS_MOVE_IN_BEGIN 4
#define GL_NS_MOVE_IN_END   5
#define GL_NS_MOVE_CATALOG  6
#define GL_NS_MOVE_UNLIST   7
#define GL_NS_EXPORT_MAX    (1u << 20) /* bytes of records per NS_VOL_EXPORT page */

#define GL_NS_LOCK_UN	   0
#define GL_NS_LOCK_RD	   1
#define GL_NS_LOCK_WR	   2
#define GL_NS_LOCK_POSIX   0  /* byte ranges, per lock owner */
#define GL_NS_LOCK_FLOCK   1  /* whole file, per open file; never conflicts with POSIX */
#define GL_NS_LOCK_TTL	   15 /* seconds a session lives past its last lock or renewal */
#define GL_NS_LOCK_TTL_MAX 3600

#define GL_NS_VSET_POOL	   0x01u
#define GL_NS_VSET_DEDUP   0x02u
#define GL_NS_VSET_QBYTES  0x04u
#define GL_NS_VSET_QINODES 0x08u

/* Encoded: u64 ino, u32 mode, u32 uid, u32 gid, u32 nlink, u64 size, u64 rdev, i64 atime_ns,
 * i64 mtime_ns, i64 ctime_ns, i64 btime_ns, u64 blocks (bytes stored in extents / 512) */
struct gl_ns_attr {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size, rdev;
	int64_t atime_ns, mtime_ns, ctime_ns, btime_ns;
	uint64_t blocks;
};

/* Encoded: u32 pool (storage/stripe.h pool id), u8 dedup, u64 quota_bytes, u64 quota_inodes
 * (0 = unlimited) */
struct gl_ns_policy {
	uint32_t pool;
	uint8_t dedup;
	uint64_t quota_bytes, quota_inodes;
};

/* Encoded: u32 id, u32 tenant, str name, u32 shard, policy, u64 used_bytes, u64 used_inodes,
 * i64 ctime_ns. used_* count stored extent bytes (before dedup and redundancy) and inodes
 * (the root included). */
struct gl_ns_vol {
	uint32_t id, tenant;
	char name[GL_NS_VNAME_MAX + 1];
	uint32_t shard;
	struct gl_ns_policy policy;
	uint64_t used_bytes, used_inodes;
	int64_t ctime_ns;
};

/* Encoded: u64 off (in the file), u32 len, u32 pool, id32 chunk, u32 chunk_len, u32 chunk_off.
 * The bytes [off, off+len) of the file are bytes [chunk_off, chunk_off+len) of the chunk
 * (chunk_len bytes long, as stored). An extent never crosses a GL_NS_SLICE boundary of the
 * file; chunk_off + len <= chunk_len. */
struct gl_ns_extent {
	uint64_t off;
	uint32_t len;
	uint32_t pool;
	uint8_t chunk[32];
	uint32_t chunk_len;
	uint32_t chunk_off;
};

void gl_ns_attr_put(struct gl_wbuf *b, const struct gl_ns_attr *a);
void gl_ns_attr_get(struct gl_rbuf *r, struct gl_ns_attr *a);
void gl_ns_policy_put(struct gl_wbuf *b, const struct gl_ns_policy *p);
void gl_ns_policy_get(struct gl_rbuf *r, struct gl_ns_policy *p);
void gl_ns_vol_put(struct gl_wbuf *b, const struct gl_ns_vol *v);
void gl_ns_vol_get(struct gl_rbuf *r, struct gl_ns_vol *v);
void gl_ns_extent_put(struct gl_wbuf *b, const struct gl_ns_extent *e);
void gl_ns_extent_get(struct gl_rbuf *r, struct gl_ns_extent *e);
/* The common header of every message. */
void gl_ns_hdr_put(struct gl_wbuf *b, uint16_t op, uint32_t tenant, int64_t now_ns);

/* 1 for a read op, 0 for a write op, -1 for an unknown one. */
int gl_ns_op_kind(uint16_t op);
const char *gl_ns_op_name(uint16_t op);

/* struct gl_rsm_sm's apply (ctx unused, may be NULL). Deterministic. Malformed input is
 * -GL_EPROTO (or -GL_EINVAL for values out of range), never a crash. */
int gl_ns_apply(void *ctx, rocksdb_t *db, rocksdb_writebatch_t *wb, const uint8_t *op, size_t len,
		struct gl_wbuf *reply);
/* Answers a read op from db. */
int gl_ns_read(rocksdb_t *db, const uint8_t *req, size_t len, struct gl_wbuf *reply);

#endif

/* libglory: the client library of glory. Every gateway and command uses only this API.
 *
 * Blobs are immutable byte strings of any size stored in the chunk store: cut into 4 MiB chunks,
 * each identified by its keyed SHA-256 (so identical chunks are stored once), each stored as a
 * stripe of fragments (replicas or erasure coding) across data servers. A blob's id is derived
 * from its content and redundancy: putting the same bytes twice yields the same id and one more
 * reference; each glory_blob_rm drops one.
 *
 * All functions return 0 or a negative glory error code (glory_strerror tells what it means).
 * A struct glory may be used by several threads at once.
 */
#ifndef GLORY_H
#define GLORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GLORY_ID_HEX 65 /* 64 hex digits + NUL */

struct glory;

/* master: "host:port"; NULL reads $GLORY_MASTER. Fetches the cluster map. */
int glory_connect(const char *master, struct glory **out);
void glory_disconnect(struct glory *g);
const char *glory_strerror(int rc);
/* Maps a glory error to a negative errno (for gateways that speak errno). */
int glory_errno(int rc);

/* Called after every batch of chunks a put or get moves (bytes so far; total is 0 when unknown). */
typedef void (*glory_progress_fn)(void *arg, uint64_t done, uint64_t total);
void glory_set_progress(struct glory *g, glory_progress_fn fn, void *arg);

/* redundancy: "ec:K+M" or "rep:N"; NULL means ec:4+2. On success id receives the blob id. */
int glory_blob_put(struct glory *g, const void *buf, size_t len, const char *redundancy,
		   char id[GLORY_ID_HEX]);
/* Reads fd to its end. If fd is not seekable and a chunk must be resent, fails with EAGAIN. */
int glory_blob_put_fd(struct glory *g, int fd, const char *redundancy, char id[GLORY_ID_HEX]);
/* Writes the whole blob to fd. */
int glory_blob_get_fd(struct glory *g, const char *id, int fd);
/* *buf is malloc'd (caller frees). */
int glory_blob_get(struct glory *g, const char *id, void **buf, size_t *len);
int glory_blob_rm(struct glory *g, const char *id);
/* Size, redundancy (e.g. "ec:4+2", at least 16 bytes) and reference count of a blob. */
int glory_blob_stat(struct glory *g, const char *id, uint64_t *size, char *redundancy, size_t cap,
		    uint64_t *refs);

struct glory_server_status {
	uint32_t id;
	char addr[64];
	char rack[64];
	char host[64];
	const char *state; /* "up", "down", "out" */
	uint64_t since;	   /* unix seconds of the last state change */
	uint64_t cap_total, cap_avail, used, nfrags;
	uint64_t repair_passes, checked, degraded, rebuilding, rebuilt, rebuilt_bytes, moved,
	    removed, corrupt, scrubbed;
};

struct glory_status {
	uint64_t epoch;
	int nservers;
	struct glory_server_status *servers;
	uint64_t blobs, chunks;
	uint64_t logical_bytes; /* sum of blob sizes, counting every reference */
	uint64_t chunk_bytes;	/* unique chunk bytes (after dedup), before redundancy */
	uint64_t gc_pending;	/* chunks without references waiting for the grace period */
	uint64_t degraded;	/* stripes missing a fragment, as last seen by repair */
	uint64_t rebuilding;	/* stripes being rebuilt right now */
};

int glory_status(struct glory *g, struct glory_status **out);
void glory_status_free(struct glory_status *s);

/* ---- Tenants, keys, volumes (admin unless noted) ----
 * Credentials: glory_set_credentials(g, access, secret) makes every later call act as that key's
 * tenant (volumes of other tenants are invisible: ENOENT). Without credentials a struct glory
 * acts as the cluster admin (the CLI on a cluster node; gateways for their own bookkeeping). */
int glory_set_credentials(struct glory *g, const char *access, const char *secret);
/* Turns the client metadata cache on (lookups and attributes kept under leases: never stale
 * once another client's change is acknowledged; docs/architecture.md). Off by default; the
 * environment variable GLORY_MDCACHE=1 turns it on at glory_connect. */
int glory_set_cache(struct glory *g, int on);

struct glory_tenant {
	uint32_t id;
	char name[64];
	uint32_t nvols;
};
int glory_tenant_create(struct glory *g, const char *name, uint32_t *id);
int glory_tenant_rm(struct glory *g, const char *name); /* ENOTEMPTY while it has volumes */
int glory_tenant_list(struct glory *g, struct glory_tenant **out, int *n); /* free(*out) */
/* Creates an access key for tenant: access (20 chars) and secret (40 chars), NUL-terminated. */
int glory_key_create(struct glory *g, const char *tenant, char access[32], char secret[64]);
int glory_key_rm(struct glory *g, const char *access);
/* Admin: the tenant name and secret of an access key (NUL-terminated); ENOENT when unknown.
 * Gateways that check request signatures themselves (S3) use it. */
int glory_key_get(struct glory *g, const char *access, char tenant[64], char secret[64]);

struct glory_volume_info {
	uint32_t id, tenant, shard;
	char name[64];
	char redundancy[16]; /* "ec:4+2", "rep:3" */
	int dedup;
	uint64_t quota_bytes, quota_inodes; /* 0 = unlimited */
	uint64_t used_bytes, used_inodes;
	int64_t ctime_ns;
};
/* redundancy NULL = ec:4+2. The volume goes to a shard chosen by the cluster. */
int glory_volume_create(struct glory *g, const char *tenant, const char *name,
			const char *redundancy, int dedup, uint64_t quota_bytes,
			uint64_t quota_inodes);
/* tenant NULL: every tenant's (admin) or the credentials' own. free(*out). */
int glory_volume_list(struct glory *g, const char *tenant, struct glory_volume_info **out, int *n);
/* Fields: GLORY_VSET_* mask; redundancy applies to data written afterwards. */
#define GLORY_VSET_REDUNDANCY 0x01
#define GLORY_VSET_DEDUP      0x02
#define GLORY_VSET_QBYTES     0x04
#define GLORY_VSET_QINODES    0x08
int glory_volume_set(struct glory *g, const char *tenant, const char *name, unsigned mask,
		     const char *redundancy, int dedup, uint64_t quota_bytes,
		     uint64_t quota_inodes);
/* Moves a volume to metadata shard `to`, online: reads go on throughout, writes wait (and then
 * go to the new shard) while the volume is copied. Running it again after a failure finishes
 * or repeats the move. progress (may be NULL) is told each stage and the records copied. */
typedef void (*glory_move_progress)(void *arg, const char *stage, uint64_t records);
int glory_volume_move(struct glory *g, const char *tenant, const char *name, uint32_t to,
		      glory_move_progress progress, void *arg);
/* force: delete a volume that still holds files (their chunks are freed after the grace period). */
int glory_volume_rm(struct glory *g, const char *tenant, const char *name, int force);

/* ---- Files: the POSIX namespace of a volume (used by every gateway) ----
 * A struct glory_vol is an open volume; inode numbers are per volume, the root is 1.
 * Names are single path components. Errors are glory codes; glory_errno() maps them to errno
 * (ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EDQUOT, ENAMETOOLONG, ...). Thread-safe. */
struct glory_vol;

#define GLORY_ROOT 1

struct glory_attr {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size, rdev;
	int64_t atime_ns, mtime_ns, ctime_ns, btime_ns; /* nanoseconds since 1970 */
	uint64_t blocks;				/* 512-byte units stored */
};

/* tenant NULL: the credentials' tenant (admin: any tenant's volume named "tenant/name" is not
 * supported; pass the tenant). */
int glory_vol_open(struct glory *g, const char *tenant, const char *name, struct glory_vol **out);
void glory_vol_close(struct glory_vol *v);
int glory_vol_info(struct glory_vol *v, struct glory_volume_info *out);

int glory_lookup(struct glory_vol *v, uint64_t parent, const char *name, struct glory_attr *out);
/* Follows a "/"-separated path from the root (no symlinks followed). */
int glory_resolve(struct glory_vol *v, const char *path, struct glory_attr *out);
int glory_getattr(struct glory_vol *v, uint64_t ino, struct glory_attr *out);
/* The same; *ttl: seconds the answer stays valid under the cache's lease (until then any change
 * by another client is reported to the glory_vol_set_inval_cb callback first), 0 when not cached.
 */
int glory_lookup_ttl(struct glory_vol *v, uint64_t parent, const char *name, struct glory_attr *out,
		     double *ttl);
int glory_getattr_ttl(struct glory_vol *v, uint64_t ino, struct glory_attr *out, double *ttl);
/* With the cache on: cb(arg, ino) is called, from a metadata watch thread, for each inode of v
 * that another client changed (its attributes and, for a directory, its entries), before the
 * change is acknowledged to the shard: whoever keeps answers of the *_ttl calls past the call
 * (the FUSE mount, in the kernel) drops them there. One per struct glory (the last set wins);
 * set it before the first lookup. Once it is set again (cb NULL: none), the old one is no longer
 * running nor called. */
typedef void (*glory_inval_fn)(void *arg, uint64_t ino);
void glory_vol_set_inval_cb(struct glory_vol *v, glory_inval_fn cb, void *arg);

#define GLORY_SET_MODE	0x01
#define GLORY_SET_UID	0x02
#define GLORY_SET_GID	0x04
#define GLORY_SET_SIZE	0x08
#define GLORY_SET_ATIME 0x10
#define GLORY_SET_MTIME 0x20
/* Uses the fields of in named by valid; size changes truncate or extend (sparse). */
int glory_setattr(struct glory_vol *v, uint64_t ino, unsigned valid, const struct glory_attr *in,
		  struct glory_attr *out);

/* excl: EEXIST if the name exists; otherwise an existing regular file is returned as is. */
int glory_create(struct glory_vol *v, uint64_t parent, const char *name, uint32_t mode,
		 uint32_t uid, uint32_t gid, int excl, struct glory_attr *out);
int glory_mknod(struct glory_vol *v, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, uint64_t rdev, struct glory_attr *out);
int glory_mkdir(struct glory_vol *v, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, struct glory_attr *out);
int glory_symlink(struct glory_vol *v, uint64_t parent, const char *name, const char *target,
		  uint32_t uid, uint32_t gid, struct glory_attr *out);
/* Copies the target, NUL-terminated; ERANGE when cap is too small. */
int glory_readlink(struct glory_vol *v, uint64_t ino, char *buf, size_t cap);
int glory_link(struct glory_vol *v, uint64_t ino, uint64_t newparent, const char *name,
	       struct glory_attr *out);
int glory_unlink(struct glory_vol *v, uint64_t parent, const char *name);
/* keep: the file is still open here; when its last name goes it stays (an orphan) until
 * glory_forget. out (may be NULL) receives its attributes after the unlink. */
int glory_unlink_keep(struct glory_vol *v, uint64_t parent, const char *name, int keep,
		      struct glory_attr *out);
int glory_forget(struct glory_vol *v, uint64_t ino);
int glory_rmdir(struct glory_vol *v, uint64_t parent, const char *name);
#define GLORY_RENAME_NOREPLACE 1
#define GLORY_RENAME_EXCHANGE  2
/* The replaced file is still open here: when its last name goes it stays (an orphan) until
 * glory_forget, like glory_unlink_keep. */
#define GLORY_RENAME_KEEP 4
int glory_rename(struct glory_vol *v, uint64_t sparent, const char *sname, uint64_t dparent,
		 const char *dname, unsigned flags);
/* Like glory_rename; replaced (may be NULL) receives the attributes of the file the rename
 * replaced, after it (ino 0 when nothing was replaced). */
int glory_rename_ex(struct glory_vol *v, uint64_t sparent, const char *sname, uint64_t dparent,
		    const char *dname, unsigned flags, struct glory_attr *replaced);

/* Readdir: calls fn for each entry after cookie (0 = from the start), at most max entries (0 =
 * no limit) or until fn returns non-zero. Cookies are stable: resume with the last one seen.
 * attr is NULL unless plus. *eof is set when the directory has no more entries. */
struct glory_dirent {
	uint64_t cookie, ino;
	uint32_t mode;
	const char *name;
	const struct glory_attr *attr;
};
typedef int (*glory_dirent_fn)(void *arg, const struct glory_dirent *e);
int glory_readdir(struct glory_vol *v, uint64_t dir, uint64_t cookie, unsigned max, int plus,
		  glory_dirent_fn fn, void *arg, int *eof);

#define GLORY_XATTR_CREATE  1
#define GLORY_XATTR_REPLACE 2
int glory_setxattr(struct glory_vol *v, uint64_t ino, const char *name, const void *value,
		   size_t len, unsigned flags);
/* Returns the value length (copies min(len, cap) bytes); cap 0 asks the length only; ERANGE
 * when cap is non-zero and too small. */
ssize_t glory_getxattr(struct glory_vol *v, uint64_t ino, const char *name, void *buf, size_t cap);
/* Names NUL-separated, like listxattr(2); same length rules as glory_getxattr. */
ssize_t glory_listxattr(struct glory_vol *v, uint64_t ino, char *buf, size_t cap);
int glory_removexattr(struct glory_vol *v, uint64_t ino, const char *name);

/* ---- File locks, shared by every client of the volume ----
 * kind GLORY_LOCK_POSIX: byte ranges [start, end] (inclusive; end UINT64_MAX = to the end of
 * any size) per owner, with POSIX semantics (a new lock splits, merges and converts the owner's
 * own); GLORY_LOCK_FLOCK: whole-file locks per owner (an open file). The two kinds never
 * conflict. owner is the caller's name for the holder within this client (struct glory); pid
 * is only reported to others. glory_lock answers EAGAIN (nothing changed) when another live
 * holder has a conflicting lock: callers that must wait retry. A client's locks live while it
 * runs (renewed in the background), end at glory_disconnect, and expire GL_NS_LOCK_TTL (15)
 * seconds after a client dies. Locks are not carried by a volume move. */
#define GLORY_LOCK_POSIX 0
#define GLORY_LOCK_FLOCK 1
#define GLORY_LOCK_UN	 0
#define GLORY_LOCK_RD	 1
#define GLORY_LOCK_WR	 2
struct glory_lock {
	int type;	     /* GLORY_LOCK_UN/RD/WR */
	uint64_t start, end; /* inclusive */
	uint32_t pid;
	int remote; /* held by another client */
};
int glory_lock(struct glory_vol *v, uint64_t ino, int kind, uint64_t owner, uint32_t pid, int type,
	       uint64_t start, uint64_t end);
/* In: l->type (GLORY_LOCK_UN tests for any lock), start, end. Out: the first conflicting lock
 * held by another owner, or l->type GLORY_LOCK_UN when there is none. */
int glory_getlk(struct glory_vol *v, uint64_t ino, int kind, uint64_t owner, struct glory_lock *l);

struct glory_statfs {
	uint64_t bytes_total, bytes_free; /* quota (or cluster capacity) and what is left */
	uint64_t inodes_total, inodes_free;
	uint64_t bytes_used, inodes_used;
};
int glory_statfs(struct glory_vol *v, struct glory_statfs *out);

/* ---- File data ----
 * An open file buffers writes (packed up to a chunk) and commits them in the background when a
 * chunk fills, several chunks at once: committed means stored with the volume's redundancy and
 * its layout committed by the metadata shard. glory_fsync and glory_close return when every
 * write before them is committed, and report a background failure (once: the next
 * glory_fsync or glory_close after it gets it). Reads see this handle's own buffered writes. */
struct glory_file;
int glory_open(struct glory_vol *v, uint64_t ino, struct glory_file **out);
/* Like glory_open, for a file whose attributes the caller has just been given by the metadata
 * service (a create or a lookup): no getattr round trip. */
int glory_open_attr(struct glory_vol *v, const struct glory_attr *a, struct glory_file **out);
ssize_t glory_pread(struct glory_file *f, void *buf, size_t len, uint64_t off);
/* How file reads were served since glory_connect, over every volume of its connection (a
 * gateway logs it when it stops). */
struct glory_read_stats {
	uint64_t straight;    /* large sequential reads straight from local files into the caller's
				 buffer (fs_read.c) */
	uint64_t chunk_loads; /* whole chunks read into a file's buffer */
	uint64_t local_reads; /* fragment reads served from data servers' files on this host */
};
void glory_read_stats(struct glory_vol *v, struct glory_read_stats *out);
ssize_t glory_pwrite(struct glory_file *f, const void *buf, size_t len, uint64_t off);
int glory_fsync(struct glory_file *f);
/* Like glory_fsync, but a background failure stays for the next glory_fsync/glory_close to
 * report (for a gateway that commits before another change, e.g. a truncate). */
int glory_file_flush(struct glory_file *f);
/* Commits what is buffered (like glory_fsync) and frees f; returns the commit's status. */
int glory_close(struct glory_file *f);
int glory_truncate(struct glory_vol *v, uint64_t ino, uint64_t size);
/* Where this handle's buffered (not yet committed) writes end, 0 if none: the file's size as
 * a reader of this handle sees it is the larger of this and the committed size. */
uint64_t glory_file_pending_end(struct glory_file *f);
/* When this handle's last write not committed yet was made (ns since the epoch), 0 if none: the
 * file's mtime as a reader of this handle sees it is the later of this and the committed one
 * (the commit records it). */
int64_t glory_file_pending_mtime(struct glory_file *f);
/* Reads through f keep the file's layout for up to a second; this drops it, so the next read
 * sees every change committed elsewhere (a gateway calls it at open, for close-to-open, and
 * after changing the file by another path, e.g. a truncate). */
void glory_file_invalidate(struct glory_file *f);

/* ---- Block volumes (VM disks; gateways/libglory/disk.c, disk_io.c) ----
 * A disk NAME of a volume has a fixed size and is thin: unwritten ranges read as zeros and store
 * nothing. It is the file /.disks/NAME of the volume (readable through every gateway); NAME@SNAP
 * is a read-only snapshot. Names: [A-Za-z0-9._-], not starting with '.', at most 200 bytes. */
struct glory_disk_info {
	char name[256];
	uint64_t ino, size;
	uint64_t stored; /* bytes of data in its layout (before dedup and redundancy) */
	int snapshot;
	int64_t ctime_ns;
};
int glory_disk_create(struct glory_vol *v, const char *name, uint64_t size);
int glory_disk_stat(struct glory_vol *v, const char *name, struct glory_disk_info *out);
/* Every disk and snapshot of the volume; free(*out). */
int glory_disk_list(struct glory_vol *v, struct glory_disk_info **out, int *n);
/* Shrinking drops the data past the new size. A disk open elsewhere sees it when reopened. */
int glory_disk_resize(struct glory_vol *v, const char *name, uint64_t size);
int glory_disk_rm(struct glory_vol *v, const char *name);
/* An instant copy-on-write clone of src's committed data (metadata only: the new disk shares
 * src's chunks). dst "SRC@SNAP" makes a read-only snapshot of SRC. Either diverges alone. */
int glory_disk_clone(struct glory_vol *v, const char *src, const char *dst);

/* Space of one disk (name) or of every disk of the volume (NULL): data = bytes in their
 * layouts, stored = bytes of the distinct chunks they reference (after dedup across the disks,
 * before redundancy; a log chunk counts whole while any of it is referenced). */
struct glory_disk_usage {
	uint64_t disks, size, data, stored, chunks;
};
int glory_disk_usage(struct glory_vol *v, const char *name, struct glory_disk_usage *out);

/* Reading and writing a disk. Writes are buffered in memory (shared by every thread of the
 * process) and become durable - stored with the volume's redundancy, the layout committed by a
 * raft majority - at glory_disk_flush, with GLORY_DISK_FUA, or in the background within a few
 * seconds. Small writes are packed into log chunks, whole 4 MiB slices into dedup'd chunks.
 * One process should write a disk at a time. Errors: EINVAL out of range, EPERM a snapshot. */
struct glory_disk;
#define GLORY_DISK_RDONLY  1 /* glory_disk_open */
#define GLORY_DISK_NOCACHE 2 /* glory_disk_open: no chunk cache */
#define GLORY_DISK_FUA	   1 /* glory_disk_pwrite: durable before it returns */
int glory_disk_open(struct glory_vol *v, const char *name, unsigned flags, struct glory_disk **out);
uint64_t glory_disk_size(const struct glory_disk *d);
int glory_disk_readonly(const struct glory_disk *d);
int glory_disk_pread(struct glory_disk *d, void *buf, size_t len, uint64_t off);
int glory_disk_pwrite(struct glory_disk *d, const void *buf, size_t len, uint64_t off,
		      unsigned flags);
/* Makes [off, off+len) a hole (reads zeros, frees its space); durable when it returns. */
int glory_disk_punch(struct glory_disk *d, uint64_t off, uint64_t len, unsigned flags);
int glory_disk_flush(struct glory_disk *d);
/* Calls fn for consecutive ranges covering [off, off+len): hole 1 where nothing is stored. */
typedef int (*glory_disk_extent_fn)(void *arg, uint64_t off, uint64_t len, int hole);
int glory_disk_extents(struct glory_disk *d, uint64_t off, uint64_t len, glory_disk_extent_fn fn,
		       void *arg);
struct glory_disk_stats {
	uint64_t reads, writes, flushes, punches, compactions;
	uint64_t chunks_written, extents_written, bytes_flushed;
	uint64_t chunk_reads, chunk_hits, layout_fetches, dirty_bytes;
	uint64_t dedup_blocks; /* blocks of whole-slice writes found stored already (block dedup) */
	uint64_t dedup_replans; /* flushes planned again: a block's chunk lost its references */
	uint64_t readaheads;	/* chunks loaded ahead of sequential reads */
	uint64_t local_reads;	/* fragment reads from this host's data servers' files, by this
				 * process (storage/local.h) */
};
void glory_disk_get_stats(struct glory_disk *d, struct glory_disk_stats *out);
/* Flushes, then frees d; returns the flush's status. */
int glory_disk_close(struct glory_disk *d);

#ifdef __cplusplus
}
#endif

#endif

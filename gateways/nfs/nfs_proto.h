/* The wire of the NFS gateway: ONC RPC (RFC 5531) over TCP record marking, NFSv3 and MOUNT3
 * (RFC 1813), the arguments of every procedure decoded into plain structs by pure functions
 * (nfs_wire.c, nfs_args.c), and our file handle format (nfs_fh.c). */
#ifndef GL_NFS_PROTO_H
#define GL_NFS_PROTO_H

#include "gateways/nfs/nfs_xdr.h"

#include <stddef.h>
#include <stdint.h>

/* ---- ONC RPC ---- */
#define NR_VERS		 2
#define NR_CALL		 0
#define NR_REPLY	 1
#define NR_MSG_ACCEPTED	 0
#define NR_MSG_DENIED	 1
#define NR_SUCCESS	 0
#define NR_PROG_UNAVAIL	 1
#define NR_PROG_MISMATCH 2
#define NR_PROC_UNAVAIL	 3
#define NR_GARBAGE_ARGS	 4
#define NR_SYSTEM_ERR	 5
#define NR_MISMATCH	 0 /* reject_stat */
#define NR_AUTH_ERROR	 1
#define NR_AUTH_BADCRED	 1 /* auth_stat */
#define NR_AUTH_TOOWEAK	 5
#define NR_AUTH_NONE	 0
#define NR_AUTH_SYS	 1
#define NR_AUTH_MAX_BODY 400
#define NR_AUTH_SYS_GIDS 16

#define NFS_PROGRAM   100003
#define NFS_V3	      3
#define MOUNT_PROGRAM 100005
#define MOUNT_V3      3
#define MOUNT_V1      1

/* Largest record we accept: a 1 MiB WRITE plus its headers. A bigger one closes the connection. */
#define NFS_MAX_RECORD ((1u << 20) + 64 * 1024)
#define NFS_MAX_IO     (1u << 20)

/* Record marking: each fragment starts with a 4-byte big-endian word whose top bit marks the
 * last fragment of a record and whose low 31 bits are its length. */
struct nfs_rm {
	uint8_t *buf; /* the record being assembled (malloc'd, owned by the struct) */
	size_t len, cap;
	uint8_t hdr[4];
	size_t hdr_have;  /* bytes of the current fragment header seen */
	size_t frag_left; /* bytes of the current fragment still to come */
	int last;	  /* the current fragment is the record's last */
	size_t max;	  /* record size limit */
};

void nfs_rm_init(struct nfs_rm *r, size_t max);
void nfs_rm_fini(struct nfs_rm *r);
/* Feeds bytes. Returns the number consumed (stops after a complete record: *done set; take it
 * with nfs_rm_take), or -E2BIG when a record would pass the limit (close the connection). */
long nfs_rm_feed(struct nfs_rm *r, const uint8_t *p, size_t n, int *done);
/* Hands over the complete record (caller frees *buf) and starts the next. */
void nfs_rm_take(struct nfs_rm *r, uint8_t **buf, size_t *len);

struct nfs_cred {
	uint32_t flavor; /* NR_AUTH_NONE or NR_AUTH_SYS */
	uint32_t uid, gid, ngids;
	uint32_t gids[NR_AUTH_SYS_GIDS];
	char machine[256];
};

struct rpc_call {
	uint32_t xid, prog, vers, proc;
	struct nfs_cred cred;
};

/* Decodes an RPC call header from x (left at the procedure's arguments). 0; -EPROTO when the
 * bytes are not a call (drop it; *xid valid when x got that far); -EBADMSG when the RPC version
 * is not 2 (reply NR_MISMATCH); -EACCES when the credentials are malformed (AUTH_BADCRED). */
int rpc_decode_call(struct nx_in *x, struct rpc_call *c);
/* Writes the accepted reply header (AUTH_NONE verifier) with stat. */
void rpc_put_accepted(struct nx_out *o, uint32_t xid, uint32_t stat);
/* Writes a denied reply: NR_MISMATCH (2..2) or AUTH_ERROR with auth_stat. */
void rpc_put_denied(struct nx_out *o, uint32_t xid, uint32_t reject, uint32_t auth_stat);

/* ---- NFSv3 ---- */
enum nfs3_proc {
	NFS3_NULL = 0,
	NFS3_GETATTR = 1,
	NFS3_SETATTR = 2,
	NFS3_LOOKUP = 3,
	NFS3_ACCESS = 4,
	NFS3_READLINK = 5,
	NFS3_READ = 6,
	NFS3_WRITE = 7,
	NFS3_CREATE = 8,
	NFS3_MKDIR = 9,
	NFS3_SYMLINK = 10,
	NFS3_MKNOD = 11,
	NFS3_REMOVE = 12,
	NFS3_RMDIR = 13,
	NFS3_RENAME = 14,
	NFS3_LINK = 15,
	NFS3_READDIR = 16,
	NFS3_READDIRPLUS = 17,
	NFS3_FSSTAT = 18,
	NFS3_FSINFO = 19,
	NFS3_PATHCONF = 20,
	NFS3_COMMIT = 21,
	NFS3_NPROC = 22
};

enum nfs3_stat {
	NFS3_OK = 0,
	NFS3ERR_PERM = 1,
	NFS3ERR_NOENT = 2,
	NFS3ERR_IO = 5,
	NFS3ERR_NXIO = 6,
	NFS3ERR_ACCES = 13,
	NFS3ERR_EXIST = 17,
	NFS3ERR_XDEV = 18,
	NFS3ERR_NODEV = 19,
	NFS3ERR_NOTDIR = 20,
	NFS3ERR_ISDIR = 21,
	NFS3ERR_INVAL = 22,
	NFS3ERR_FBIG = 27,
	NFS3ERR_NOSPC = 28,
	NFS3ERR_ROFS = 30,
	NFS3ERR_MLINK = 31,
	NFS3ERR_NAMETOOLONG = 63,
	NFS3ERR_NOTEMPTY = 66,
	NFS3ERR_DQUOT = 69,
	NFS3ERR_STALE = 70,
	NFS3ERR_REMOTE = 71,
	NFS3ERR_BADHANDLE = 10001,
	NFS3ERR_NOT_SYNC = 10002,
	NFS3ERR_BAD_COOKIE = 10003,
	NFS3ERR_NOTSUPP = 10004,
	NFS3ERR_TOOSMALL = 10005,
	NFS3ERR_SERVERFAULT = 10006,
	NFS3ERR_BADTYPE = 10007,
	NFS3ERR_JUKEBOX = 10008
};

enum nfs3_ftype { NF3REG = 1, NF3DIR, NF3BLK, NF3CHR, NF3LNK, NF3SOCK, NF3FIFO };
enum nfs3_stable { NFS3_UNSTABLE = 0, NFS3_DATA_SYNC = 1, NFS3_FILE_SYNC = 2 };
enum nfs3_createmode { NFS3_UNCHECKED = 0, NFS3_GUARDED = 1, NFS3_EXCLUSIVE = 2 };
enum nfs3_time_how {
	NFS3_DONT_CHANGE = 0,
	NFS3_SET_TO_SERVER_TIME = 1,
	NFS3_SET_TO_CLIENT_TIME = 2
};

#define NFS3_ACCESS_READ    0x01
#define NFS3_ACCESS_LOOKUP  0x02
#define NFS3_ACCESS_MODIFY  0x04
#define NFS3_ACCESS_EXTEND  0x08
#define NFS3_ACCESS_DELETE  0x10
#define NFS3_ACCESS_EXECUTE 0x20

#define NFS3_FHSIZE   64
#define NFS3_NAME_MAX 255
#define NFS3_PATH_MAX 4096
#define NFS3_VERF     8

struct nfs_fh3 {
	uint32_t len;
	uint8_t data[NFS3_FHSIZE];
};

struct nfs_time3 {
	uint32_t sec, nsec;
};

struct nfs_sattr3 {
	int set_mode, set_uid, set_gid, set_size;
	uint32_t mode, uid, gid;
	uint64_t size;
	uint32_t atime_how, mtime_how; /* enum nfs3_time_how */
	struct nfs_time3 atime, mtime;
};

struct nfs_diropargs3 {
	struct nfs_fh3 dir;
	char name[NFS3_NAME_MAX + 1];
	int too_long; /* the name was longer than NFS3_NAME_MAX (answer NAMETOOLONG) */
};

/* The arguments of every NFSv3 procedure. Data of WRITE points into the record. */
union nfs3_args {
	struct nfs_fh3 fh; /* GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF */
	struct {
		struct nfs_fh3 fh;
		struct nfs_sattr3 attr;
		int check;
		struct nfs_time3 ctime;
	} setattr;
	struct nfs_diropargs3 dirop; /* LOOKUP, REMOVE, RMDIR */
	struct {
		struct nfs_fh3 fh;
		uint32_t access;
	} access;
	struct {
		struct nfs_fh3 fh;
		uint64_t offset;
		uint32_t count;
	} read; /* READ, COMMIT */
	struct {
		struct nfs_fh3 fh;
		uint64_t offset;
		uint32_t count, stable, len;
		const uint8_t *data;
	} write;
	struct {
		struct nfs_diropargs3 where;
		uint32_t mode; /* enum nfs3_createmode */
		struct nfs_sattr3 attr;
		uint8_t verf[NFS3_VERF];
	} create;
	struct {
		struct nfs_diropargs3 where;
		struct nfs_sattr3 attr;
	} mkdir;
	struct {
		struct nfs_diropargs3 where;
		struct nfs_sattr3 attr;
		char path[NFS3_PATH_MAX + 1];
	} symlink;
	struct {
		struct nfs_diropargs3 where;
		uint32_t type;
		struct nfs_sattr3 attr;
		uint32_t major, minor;
	} mknod;
	struct {
		struct nfs_diropargs3 from, to;
	} rename;
	struct {
		struct nfs_fh3 fh;
		struct nfs_diropargs3 link;
	} link;
	struct {
		struct nfs_fh3 fh;
		uint64_t cookie;
		uint8_t verf[NFS3_VERF];
		uint32_t dircount, maxcount; /* READDIR: count in maxcount */
	} readdir;
};

/* Decodes the arguments of NFSv3 procedure proc; 0, or -EPROTO on bad XDR (GARBAGE_ARGS). */
int nfs3_decode_args(uint32_t proc, struct nx_in *x, union nfs3_args *a);

/* ---- MOUNT3 ---- */
enum mnt3_proc { MNT3_NULL, MNT3_MNT, MNT3_DUMP, MNT3_UMNT, MNT3_UMNTALL, MNT3_EXPORT };
#define MNT3_OK		    0
#define MNT3ERR_PERM	    1
#define MNT3ERR_NOENT	    2
#define MNT3ERR_IO	    5
#define MNT3ERR_ACCES	    13
#define MNT3ERR_NOTDIR	    20
#define MNT3ERR_INVAL	    22
#define MNT3ERR_NAMETOOLONG 63
#define MNT3ERR_SERVERFAULT 10006
#define MNT3_PATH_MAX	    1024

/* The dirpath argument of MNT and UMNT; 0 or -EPROTO. */
int mnt3_decode_path(struct nx_in *x, char path[MNT3_PATH_MAX + 1]);

/* ---- NLM 4 (the lock manager of NFSv3 clients; X/Open XNFS, RFC 1813 appendix II) ---- */
#define NLM_PROGRAM 100021
#define NLM_V4	    4
enum nlm4_proc {
	NLM4_NULL = 0,
	NLM4_TEST = 1,
	NLM4_LOCK = 2,
	NLM4_CANCEL = 3,
	NLM4_UNLOCK = 4,
	NLM4_SHARE = 20,
	NLM4_UNSHARE = 21,
	NLM4_NM_LOCK = 22,
	NLM4_FREE_ALL = 23
};
enum nlm4_stat {
	NLM4_GRANTED = 0,
	NLM4_DENIED = 1,
	NLM4_DENIED_NOLOCKS = 2,
	NLM4_BLOCKED = 3,
	NLM4_DENIED_GRACE_PERIOD = 4,
	NLM4_DEADLCK = 5,
	NLM4_ROFS = 6,
	NLM4_STALE_FH = 7,
	NLM4_FBIG = 8,
	NLM4_FAILED = 9
};
#define NLM_MAXSTR 1024

/* The arguments of TEST, LOCK, CANCEL, UNLOCK, NM_LOCK (fields a procedure lacks stay 0) and
 * FREE_ALL (name and state only). A handle longer than ours decodes with fh.len 0. */
struct nlm4_args {
	uint32_t cookie_len, oh_len;
	uint8_t cookie[NLM_MAXSTR], oh[NLM_MAXSTR];
	int block, exclusive, reclaim;
	int32_t state, svid;
	char caller[NLM_MAXSTR + 1];
	struct nfs_fh3 fh;
	uint64_t offset, len; /* len 0: to the end of the file */
};

/* 0, -EPROTO on bad XDR, -ENOSYS for a procedure we do not decode. */
int nlm4_decode_args(uint32_t proc, struct nx_in *x, struct nlm4_args *a);

/* ---- NSM 1 (the status monitor, "statd"; X/Open XNFS chapter 11, sm_inter.x) ---- */
#define NSM_PROGRAM 100024
#define NSM_V1	    1
enum nsm_proc {
	SM_NULL = 0,
	SM_STAT = 1,
	SM_MON = 2,
	SM_UNMON = 3,
	SM_UNMON_ALL = 4,
	SM_SIMU_CRASH = 5,
	SM_NOTIFY = 6
};
enum nsm_res { STAT_SUCC = 0, STAT_FAIL = 1 };
#define SM_MAXSTRLEN 1024
#define SM_PRIV_SIZE 16

/* The arguments of the NSM procedures (fields a procedure lacks stay 0):
 *   SM_STAT      sm_name   { string mon_name<1024> }
 *   SM_MON       mon       { mon_id; opaque priv[16] }
 *   SM_UNMON     mon_id    { string mon_name<1024>; my_id }
 *   SM_UNMON_ALL my_id     { string my_name<1024>; int my_prog; int my_vers; int my_proc }
 *   SM_NOTIFY    stat_chge { string mon_name<1024>; int state } */
struct nsm_args {
	char mon_name[SM_MAXSTRLEN + 1];
	char my_name[SM_MAXSTRLEN + 1];
	uint32_t my_prog, my_vers, my_proc;
	uint8_t priv[SM_PRIV_SIZE];
	int32_t state;
};

/* 0, -EPROTO on bad XDR, -ENOSYS for a procedure we do not decode (SM_SIMU_CRASH). */
int nsm_decode_args(uint32_t proc, struct nx_in *x, struct nsm_args *a);

/* ---- File handles ----
 * 24 bytes, big-endian: u8 version (1), u8 reserved (0), u16 reserved (0), u32 volume id,
 * u64 inode number, u64 generation (the inode's birth time in ns: an inode number reused
 * after a delete has another one). Nothing in it depends on this process: handles stay valid
 * across gateway restarts. */
#define NFS_FH_VERSION 1
#define NFS_FH_LEN     24

struct nfs_handle {
	uint32_t vol;
	uint64_t ino, gen;
};

void nfs_fh_encode(const struct nfs_handle *h, struct nfs_fh3 *fh);
/* 0, or -EBADMSG when the bytes are not one of our handles (NFS3ERR_BADHANDLE). */
int nfs_fh_decode(const struct nfs_fh3 *fh, struct nfs_handle *h);

#endif

/* The NFS gateway's shared state: exports and open volumes, open files (UNSTABLE writes), the
 * request being served, and the procedure handlers. */
#ifndef GL_NFS_INTERNAL_H
#define GL_NFS_INTERNAL_H

#include "gateways/libglory/glory.h"
#include "gateways/nfs/nfs.h"
#include "gateways/nfs/nfs_proto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define NFS_MAX_CLIENTS 16
#define NFS_NOBODY	65534

/* One --export: a volume, who may mount it, and how. */
struct nfs_export {
	char tenant[64], vol[64];
	int ro, no_root_squash;
	int warned;   /* said that its volume is missing */
	int nclients; /* 0: any address */
	struct {
		uint32_t addr, mask; /* host order */
	} clients[NFS_MAX_CLIENTS];
};

/* Parses "TENANT/VOL[:opt,opt...]" (opts: ro, rw, root_squash, no_root_squash,
 * clients=ADDR[/BITS][+ADDR[/BITS]...]); 0 or -EINVAL with msg. */
int nfs_export_parse(const char *spec, struct nfs_export *e, char *msg, size_t cap);
int nfs_export_allows(const struct nfs_export *e, uint32_t addr);

/* An open volume, found by id (the handle's) or by path "/TENANT/VOL". Never freed while
 * the server runs (volumes are few); the table is guarded by nfs_srv.vlock. */
struct nfs_vol {
	uint32_t id;
	char tenant[64], name[64];
	struct glory_vol *v;
	struct nfs_export ex; /* its export options */
};

/* A file with writes not yet committed (UNSTABLE) or being read: one glory_file shared by every
 * request for the inode, so reads see the buffered writes. Guarded by nfs_srv.olock; f's own
 * calls are thread-safe. */
struct nfs_open {
	uint32_t vol;
	uint64_t ino;
	struct glory_file *f;
	int refs;
	double last_use;
	/* where writes through f end (0: none): the size clients see, known without f's lock,
	 * which a commit holds for as long as it takes */
	_Atomic uint64_t end;
	/* the file's ctime when a READ last looked: another value means it was changed (maybe
	 * elsewhere), so the layout f keeps is dropped before reading */
	_Atomic int64_t seen_ctime;
	struct nfs_open *next;
};

#define NFS_OPEN_BUCKETS 256
#define NFS_MAX_VOLS	 1024

struct nfs_srv {
	struct glory *g;
	struct nfs_export ex[GL_NFS_MAX_EXPORTS];
	int nex, all; /* all: no --export, every volume with default options */
	pthread_mutex_t vlock;
	struct nfs_vol *vols[NFS_MAX_VOLS];
	int nvols;
	double refreshed; /* when the table was last listed (a miss lists again at most 1/s) */
	pthread_mutex_t olock;
	struct nfs_open *open[NFS_OPEN_BUCKETS];
	uint64_t verf_base;	   /* boot time + random: differs on every start */
	_Atomic uint64_t verf_gen; /* bumped when buffered writes are lost (a failed commit) */
	uint8_t cookie_verf[8];	   /* READDIR cookie verifier (our cookies stay valid: constant) */
	struct nfs_nlm *nlm;	   /* NLM locks (nfs_nlm.c) */
	struct nfs_nsm *nsm;	   /* NSM: clients, state number, grace (nfs_nsm.c) */
	pthread_mutex_t mlock;	   /* mount list (DUMP) */
	struct nfs_mnt *mounts;
};

/* MNT records for DUMP. */
struct nfs_mnt {
	char host[64], path[MNT3_PATH_MAX + 1];
	struct nfs_mnt *next;
};

/* One request being served by a worker. */
struct nfs_req {
	struct nfs_srv *s;
	struct rpc_call call;
	uint32_t peer; /* client IPv4 address, host order (0x7f000001 for others) */
	char peer_str[64];
	struct nx_in in;
	struct nx_out *out;
	struct nfs_cred cred; /* after squashing by the export of the handle being served */
};

/* ---- exports and volumes (nfs_export.c) ---- */
int nfs_vols_init(struct nfs_srv *s);
/* The volume of a handle, refreshing the table on a miss; NULL when unknown. */
struct nfs_vol *nfs_vol_by_id(struct nfs_srv *s, uint32_t id);
/* The volume of a path "/TENANT/VOL/..."; *rest points at what follows it. NULL when none. */
struct nfs_vol *nfs_vol_by_path(struct nfs_srv *s, const char *path, const char **rest);
/* Fills an array of the exported volumes' paths for EXPORT; returns how many (<= cap). */
int nfs_vol_list(struct nfs_srv *s, struct nfs_vol **out, int cap);

/* ---- permissions (nfs_export.c) ---- */
/* Applies the export's squash to req->cred (from the call's). */
void nfs_cred_for(struct nfs_req *r, const struct nfs_vol *v);
/* Which of NFS3_ACCESS_* bits cred has on a; dir: a is a directory. */
uint32_t nfs_access_bits(const struct nfs_cred *c, const struct glory_attr *a, uint32_t want);
/* 0 or NFS3ERR_ACCES: may cred do want (R=4, W=2, X=1 bits) on a. */
int nfs_may(const struct nfs_cred *c, const struct glory_attr *a, int want);

/* ---- open files and the write verifier (nfs_open.c) ---- */
/* The shared open file of (vol, ino), opened if needed (refs + 1); NULL with *rc on failure. */
struct nfs_open *nfs_open_get(struct nfs_srv *s, struct nfs_vol *v, uint64_t ino, int *rc);
/* The shared open file if there is one (refs + 1), else NULL. */
struct nfs_open *nfs_open_find(struct nfs_srv *s, uint32_t vol, uint64_t ino);
void nfs_open_put(struct nfs_srv *s, struct nfs_open *o);
/* Commits what o holds (its status); a failure bumps the write verifier. Once committed, the
 * size clients see is the file's own again (another client may truncate it meanwhile). */
int nfs_open_sync(struct nfs_srv *s, struct nfs_open *o);
/* Commits and closes the open file of (vol, ino) if any (before a truncate, remove or rename
 * over it); its status. */
int nfs_open_close(struct nfs_srv *s, uint32_t vol, uint64_t ino);
/* Commits and closes files idle for more than secs (all when secs < 0). */
void nfs_open_flush_idle(struct nfs_srv *s, double secs);
/* Records that buffered writes were lost (the verifier changes: clients resend). */
void nfs_verf_bump(struct nfs_srv *s);
void nfs_verf(struct nfs_srv *s, uint8_t out[NFS3_VERF]);
double nfs_now(void);

/* ---- replies (nfs_reply.c) ---- */
/* NFS3 status for a glory error (0 -> NFS3_OK). */
uint32_t nfs_stat_of(int rc);
/* Attributes as the client must see them (size includes buffered writes). */
int nfs_getattr(struct nfs_srv *s, struct nfs_vol *v, uint64_t ino, struct glory_attr *a);
void nfs_put_fattr(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *a);
void nfs_put_post_attr(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *a);
/* pre and post may be NULL (attributes not known). */
void nfs_put_wcc(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *pre,
		 const struct glory_attr *post);
void nfs_put_post_fh(struct nx_out *o, const struct nfs_vol *v, const struct glory_attr *a);
void nfs_handle_of(const struct nfs_vol *v, const struct glory_attr *a, struct nfs_fh3 *fh);

/* Resolves a handle: its volume (client allowed, credentials squashed) and attributes. Returns
 * NFS3_OK, NFS3ERR_BADHANDLE, NFS3ERR_STALE, NFS3ERR_ACCES or another status. */
uint32_t nfs_resolve(struct nfs_req *r, const struct nfs_fh3 *fh, struct nfs_vol **v,
		     struct glory_attr *a);

/* Applies the settable attributes of a SETATTR/CREATE/MKDIR (nfs_ops_attr.c); glory status. */
int nfs_apply_sattr(struct nfs_req *r, struct nfs_vol *v, uint64_t ino, const struct nfs_sattr3 *s,
		    struct glory_attr *out);

/* ---- procedures: each writes its result (status and body) to r->out ---- */
typedef void (*nfs3_handler)(struct nfs_req *r, union nfs3_args *a);
void nfs3_getattr(struct nfs_req *r, union nfs3_args *a);
void nfs3_setattr(struct nfs_req *r, union nfs3_args *a);
void nfs3_lookup(struct nfs_req *r, union nfs3_args *a);
void nfs3_access(struct nfs_req *r, union nfs3_args *a);
void nfs3_readlink(struct nfs_req *r, union nfs3_args *a);
void nfs3_read(struct nfs_req *r, union nfs3_args *a);
void nfs3_write(struct nfs_req *r, union nfs3_args *a);
void nfs3_create(struct nfs_req *r, union nfs3_args *a);
void nfs3_mkdir(struct nfs_req *r, union nfs3_args *a);
void nfs3_symlink(struct nfs_req *r, union nfs3_args *a);
void nfs3_mknod(struct nfs_req *r, union nfs3_args *a);
void nfs3_remove(struct nfs_req *r, union nfs3_args *a);
void nfs3_rmdir(struct nfs_req *r, union nfs3_args *a);
void nfs3_rename(struct nfs_req *r, union nfs3_args *a);
void nfs3_link(struct nfs_req *r, union nfs3_args *a);
void nfs3_readdir(struct nfs_req *r, union nfs3_args *a);
void nfs3_readdirplus(struct nfs_req *r, union nfs3_args *a);
void nfs3_fsstat(struct nfs_req *r, union nfs3_args *a);
void nfs3_fsinfo(struct nfs_req *r, union nfs3_args *a);
void nfs3_pathconf(struct nfs_req *r, union nfs3_args *a);
void nfs3_commit(struct nfs_req *r, union nfs3_args *a);

/* NLM 4 (nfs_nlm.c): the lock table, and a call (reply body written); an accept_stat. */
struct nfs_nlm;
int nfs_nlm_init(struct nfs_nlm **out);
void nfs_nlm_fini(struct nfs_nlm *m);
uint32_t nfs_nlm_call(struct nfs_req *r);
/* Calls NLM4_GRANTED for a's lock on the lock manager of the client at peer (found with its
 * portmapper); 0 when it accepted (nfs_nlm_grant.c). Blocks up to a few seconds. */
int nlm_grant_notify(uint32_t peer, const struct nlm4_args *a);
/* Frees every lock and waiter of the client named name or at address addr (host order; 0:
 * none) and grants what waited for them; how many locks went. */
int nfs_nlm_free_host(struct nfs_nlm *m, const char *name, uint32_t addr);

/* ---- calls to clients' RPC services (nfs_nlm_grant.c); block up to a few seconds ---- */
/* The TCP port of prog/vers at addr (host order), from its portmapper (port 111); 0 or -1. */
int nfs_rpc_getport(uint32_t addr, uint32_t prog, uint32_t vers, uint16_t *port);
/* One call over a new TCP connection to addr:port with args (XDR, no header); on success (0,
 * the call was accepted and succeeded) *res gets the results, malloc'd (the caller frees). */
int nfs_rpc_call_tcp(uint32_t addr, uint16_t port, uint32_t prog, uint32_t vers, uint32_t proc,
		     const struct nx_out *args, uint8_t **res, size_t *len);

/* ---- NSM 1, the status monitor (nfs_nsm.c) ----
 * Keeps the clients that hold locks in a state file (so they can be told to reclaim after a
 * restart), the NSM state number, and the grace period. */
struct nfs_nsm;
struct nfs_nsm_cfg {
	const char *dir; /* state directory (created); NULL: nothing is persisted */
	int grace_s;	 /* the grace period after a start (0: none) */
};
int nfs_nsm_init(struct nfs_nsm **out, const struct nfs_nsm_cfg *cfg, struct nfs_nlm *nlm);
/* Starts the background thread: SM_NOTIFY to the recorded clients, the end of the grace. */
int nfs_nsm_start(struct nfs_nsm *n);
void nfs_nsm_fini(struct nfs_nsm *n);
/* Whether NLM is in its grace period (only reclaims are served). */
int nfs_nsm_in_grace(struct nfs_nsm *n);
/* Records that the client (caller name, address) holds or asks for locks, persisted before
 * this returns; reclaim: it reclaims a lock (kept after the grace). 0, or -1 when the state
 * file cannot be written (the lock is refused). */
int nfs_nsm_record(struct nfs_nsm *n, const char *caller, uint32_t addr, int reclaim);
/* Serves an NSM call (reply body written); an accept_stat. */
uint32_t nfs_nsm_call(struct nfs_req *r);

/* MOUNT3: answers the call (accepted header included); returns 0 or an RPC accept_stat. */
uint32_t nfs_mount_call(struct nfs_req *r);

#endif

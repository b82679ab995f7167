/* The NFSv3 gateway: serves the cluster's volumes over NFSv3 and MOUNT3 (RFC 1813) on TCP. */
#ifndef GL_NFS_H
#define GL_NFS_H

struct glory;

#define GL_NFS_MAX_EXPORTS 64

struct gl_nfs_cfg {
	struct glory *g;			 /* admin connection (stays the caller's) */
	const char *host;			 /* address to listen on */
	int port, mount_port;			 /* NFS (2049) and MOUNT ports */
	int threads;				 /* worker threads (0: 16) */
	const char *exports[GL_NFS_MAX_EXPORTS]; /* "TENANT/VOL[:opts]"; none: every volume */
	int nexports;
	const char *state_dir; /* NSM: lock clients and the state number (NULL: not kept) */
	int grace_s;	       /* NLM grace period after a start, if clients were recorded */
};

/* Parses one --export value; 0 or -EINVAL (msg gets why). Used by gl_nfs_run and the command. */
int gl_nfs_export_check(const char *spec, char *msg, unsigned cap);
/* Serves until SIGTERM/SIGINT (block them before starting threads; taken here with sigwait),
 * then commits every open file and returns 0, or -errno when it cannot listen. */
int gl_nfs_run(const struct gl_nfs_cfg *cfg);

#endif

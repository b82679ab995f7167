/* The FUSE gateway: serves one glory volume at a mount point through libfuse3's low-level API,
 * multithreaded. */
#ifndef GLORY_GATEWAYS_FUSE_GFUSE_H
#define GLORY_GATEWAYS_FUSE_GFUSE_H

struct glory_vol;

struct gl_fuse_cfg {
	struct glory_vol *vol;	/* the volume served (stays the caller's) */
	const char *mountpoint; /* an existing directory */
	const char *options;	/* extra -o options for the kernel (NULL: none) */
	int foreground;		/* 0: detach once mounted */
	int debug;		/* libfuse's request trace on stderr */
	int max_threads;	/* 0: libfuse's default */
	const char *log_file;	/* detached: stderr goes here (NULL: /dev/null) */
};

/* Mounts, serves until unmounted (umount, fusermount3 -u) or SIGTERM/SIGINT/SIGHUP, then
 * commits every open file's buffered writes and returns 0, or -errno when the mount fails.
 * Block those three signals before starting other threads (glory_connect starts libglory's):
 * a signal taken by a thread outside the FUSE loop would not end it. gl_fuse_run unblocks
 * them for the loop's threads. */
int gl_fuse_run(const struct gl_fuse_cfg *cfg);

#endif

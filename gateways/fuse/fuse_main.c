/* FUSE gateway: the session (mount, capabilities, the multithreaded loop, unmount). */
#include "gateways/fuse/gfuse.h"
#include "gateways/fuse/fuse_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GF_READAHEAD_KB 1024 /* = max_write: 1 MiB read requests */

static void gf_init(void *userdata, struct fuse_conn_info *conn)
{
	struct gf *fs = userdata;

	/* 1 MiB requests both ways, the kernel's readahead up to 1 MiB */
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	/* a size or mtime that changed elsewhere drops the cached pages (with attributes asked
	 * again at every access, this is close-to-open and then some) */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* POSIX ACLs: the kernel evaluates the system.posix_acl_* xattrs we store */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	/* the umask is ours to apply: not when a default ACL decides (fuse_acl.c) */
	if (conn->capable & FUSE_CAP_DONT_MASK) {
		conn->want |= FUSE_CAP_DONT_MASK;
		fs->dont_mask = 1;
	}
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* locks are the volume's, shared by every mount (fuse_lock.c), not this kernel's */
	if (conn->capable & FUSE_CAP_POSIX_LOCKS)
		conn->want |= FUSE_CAP_POSIX_LOCKS;
	if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
		conn->want |= FUSE_CAP_FLOCK_LOCKS;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	/* the kernel clears setuid/setgid on write, truncate and chown (glory does not) */
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
}

/* Unescapes a mountinfo field in place (\ooo octal escapes for spaces and the like). */
static void mi_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The kernel reads ahead, and asks for, no more than the read_ahead_kb of the mount's bdi (128
 * KiB unless raised): raise it to the 1 MiB the daemon takes per request. real: the mount point
 * (resolved before mounting: looking at it now would ask this daemon, not serving yet). Root
 * only; without it reads stay 128 KiB. */
static void set_readahead(const char *real)
{
	char line[8192], mnt[4096], dev[32] = "", path[96];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char d[32], fstype[64];

		/* id parent major:minor root mountpoint options ... - fstype source superopts */
		if (sscanf(line, "%*s %*s %31s %*s %4095s", d, mnt) != 2)
			continue;
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strncmp(fstype, "fuse", 4))
			continue;
		mi_unescape(mnt);
		if (strcmp(mnt, real) == 0)
			snprintf(dev, sizeof(dev), "%s", d); /* the last one is on top */
	}
	fclose(f);
	if (!dev[0])
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%u\n", GF_READAHEAD_KB);
		fclose(f);
	}
}

static void gf_destroy(void *userdata)
{
	gf_open_close_all(userdata);
}

static int add_opts(struct fuse_args *args, const struct gl_fuse_cfg *cfg)
{
	/* the kernel checks permissions from the mode bits (and ACLs); as root, other users may
	 * use the mount like any local filesystem */
	char o[512];

	snprintf(o, sizeof(o), "default_permissions,fsname=glory,subtype=glory%s%s%s",
		 geteuid() == 0 ? ",allow_other" : "", cfg->options ? "," : "",
		 cfg->options ? cfg->options : "");
	if (fuse_opt_add_arg(args, "glory") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, o))
		return -ENOMEM;
	if (cfg->debug && fuse_opt_add_arg(args, "-d"))
		return -ENOMEM;
	return 0;
}

int gl_fuse_run(const struct gl_fuse_cfg *cfg)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_lowlevel_ops ops;
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se = NULL;
	struct gf *fs = calloc(1, sizeof(*fs));
	char real[PATH_MAX];
	sigset_t sigs;
	int rc;

	if (!fs)
		return -ENOMEM;
	fs->vol = cfg->vol;
	pthread_mutex_init(&fs->lock, NULL);
	gf_attr_init(fs);
	/* names are asked again at every access, and so are attributes that no lease covers; the
	 * daemon answers from the lease cache of libglory, which another client's change
	 * invalidates (fuse_attr.c: the kernel keeps leased attributes as long as the lease) */
	fs->attr_timeout = 0;
	fs->entry_timeout = 0;
	memset(&ops, 0, sizeof(ops));
	ops.init = gf_init;
	ops.destroy = gf_destroy;
	gf_meta_ops(&ops);
	gf_data_ops(&ops);
	gf_lock_ops(&ops);
	gf_dir_ops(&ops);
	rc = add_opts(&args, cfg);
	if (rc)
		goto out;
	se = fuse_session_new(&args, &ops, sizeof(ops), fs);
	if (!se) {
		rc = -EINVAL; /* libfuse said why on stderr */
		goto out;
	}
	pthread_mutex_lock(&fs->se_lock);
	fs->se = se;
	pthread_mutex_unlock(&fs->se_lock);
	glory_vol_set_inval_cb(fs->vol, gf_inval, fs);
	if (fuse_set_signal_handlers(se)) {
		rc = -EIO;
		goto out_se;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL); /* here and in the loop's threads only */
	if (!realpath(cfg->mountpoint, real))
		real[0] = '\0';
	if (fuse_session_mount(se, cfg->mountpoint)) {
		rc = -EIO;
		goto out_sig;
	}
	if (real[0] && geteuid() == 0)
		set_readahead(real);
	fprintf(stderr, "glory mount: serving on %s\n", cfg->mountpoint);
	fuse_daemonize(cfg->foreground);
	if (!cfg->foreground && cfg->log_file) {
		/* detached: whatever still goes to stderr (libfuse, sanitizers) lands in the log */
		int fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
	}
	lc = fuse_loop_cfg_create();
	if (!lc) {
		rc = -ENOMEM;
		goto out_mount;
	}
	fuse_loop_cfg_set_clone_fd(lc, 1);
	fuse_loop_cfg_set_idle_threads(lc, 8);
	if (cfg->max_threads > 0)
		fuse_loop_cfg_set_max_threads(lc, (unsigned)cfg->max_threads);
	rc = fuse_session_loop_mt(se, lc);
	rc = rc < 0 ? rc : 0;
	fuse_loop_cfg_destroy(lc);
out_mount:
	fuse_session_unmount(se);
out_sig:
	fuse_remove_signal_handlers(se);
out_se:
	glory_vol_set_inval_cb(fs->vol, NULL, NULL);
	pthread_mutex_lock(&fs->se_lock);
	fs->se = NULL;
	pthread_mutex_unlock(&fs->se_lock);
	fuse_session_destroy(se); /* calls destroy: open files are committed */
	{
		struct glory_read_stats st;

		glory_read_stats(fs->vol, &st);
		fprintf(stderr,
			"glory mount: %s: reads: %llu straight from local files, %llu whole chunks "
			"loaded, %llu fragment reads from local files\n",
			cfg->mountpoint, (unsigned long long)st.straight,
			(unsigned long long)st.chunk_loads, (unsigned long long)st.local_reads);
	}
out:
	fuse_opt_free_args(&args);
	gf_attr_fini(fs);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	return rc;
}

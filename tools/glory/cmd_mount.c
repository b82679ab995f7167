/* glory mount: serve a volume at a mount point through FUSE (gateways/fuse). */
#include "common/compiler.h"
#include "common/opts.h"
#include "gateways/fuse/gfuse.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int cmd_mount(int argc, char **argv)
{
	struct cmd_common c = {0};
	const char *options = NULL, *log_file = NULL, *log_level = "info";
	int foreground = 0, debug = 0, no_cache = 0, npos = 0, rc;
	long threads = 0;
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct stat st;
	char *pos[3];
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"foreground", GL_OPT_FLAG, &foreground, NULL, NULL, "stay in the foreground (-f)"},
	    {"options", GL_OPT_STR, &options, NULL, "OPTS", "more mount options (-o), e.g. ro"},
	    {"threads", GL_OPT_INT, &threads, NULL, "N", "at most N request threads"},
	    {"no-cache", GL_OPT_FLAG, &no_cache, NULL, NULL, "no client metadata cache"},
	    {"debug", GL_OPT_FLAG, &debug, NULL, NULL, "trace every FUSE request on stderr"},
	    {"log-file", GL_OPT_STR, &log_file, NULL, "FILE", "log here instead of stderr"},
	    {"log-level", GL_OPT_STR, &log_level, NULL, "LEVEL", "debug, info, warn or error"},
	};
	const struct gl_cmd_help help = {
	    "glory mount VOL MOUNTPOINT [--tenant T | --key K --secret S] [-f] [-o OPTS]",
	    "Mounts volume VOL at MOUNTPOINT (an existing directory) with FUSE and serves it: "
	    "files, directories, links, xattrs and ACLs as on a local filesystem; another mount "
	    "sees a file's data once it is closed (close-to-open). Returns once mounted and "
	    "serves in the background unless -f. Unmount with `umount MOUNTPOINT` or "
	    "`fusermount3 -u MOUNTPOINT`, or send SIGTERM to the daemon (in the foreground: "
	    "Ctrl-C): buffered writes are committed first.",
	};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0)
			argv[i] = "--foreground";
		else if (strcmp(argv[i], "-o") == 0)
			argv[i] = "--options";
	}
	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 3, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 2) {
		fprintf(stderr, "glory mount: say VOL and MOUNTPOINT (see --help)\n");
		return 2;
	}
	if (stat(pos[1], &st) && errno == ENOTCONN) {
		/* a mount here whose process died: clear it away (root), or say how */
		if (umount2(pos[1], MNT_DETACH)) {
			fprintf(stderr,
				"glory mount: %s is a dead mount (its process died): run "
				"`fusermount3 -u -z %s` and mount again\n",
				pos[1], pos[1]);
			return 1;
		}
		fprintf(stderr, "glory mount: cleared the dead mount at %s\n", pos[1]);
	}
	if (stat(pos[1], &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "glory mount: %s is not a directory: create it first (mkdir -p)\n",
			pos[1]);
		return 2;
	}
	if (!c.tenant && !c.key) {
		fprintf(stderr, "glory mount: say whose volume: --tenant T (admin) or --key K "
				"--secret S (or GLORY_ACCESS_KEY/GLORY_SECRET_KEY)\n");
		return 2;
	}
	if ((rc = cmd_log_setup("mount", log_level, log_file)))
		return rc;
	{
		/* libglory's threads must not take the signals that end the mount (see gfuse.h) */
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	if ((rc = cmd_connect_as("mount", &c, &g)))
		return rc;
	glory_set_cache(g, !no_cache);
	/* a cluster still starting (as at boot, or under `glory server`) gets 30 s */
	for (int waited = 0;; waited++) {
		int e;

		rc = glory_vol_open(g, c.key ? NULL : c.tenant, pos[0], &v);
		e = -glory_errno(rc);
		if (!rc || waited == 60 ||
		    (e != ECONNREFUSED && e != EAGAIN && e != ETIMEDOUT && e != ECONNRESET))
			break;
		if (waited == 0)
			fprintf(stderr, "glory mount: waiting for the metadata service (%s)\n",
				glory_strerror(rc));
		usleep(500 * 1000);
	}
	if (rc) {
		fprintf(stderr, "glory mount: volume %s: %s\n", pos[0], cmd_err_text(rc));
		glory_disconnect(g);
		return 1;
	}
	{
		struct gl_fuse_cfg cfg = {v,	 pos[1],       options, foreground,
					  debug, (int)threads, log_file};

		rc = gl_fuse_run(&cfg);
	}
	if (rc)
		fprintf(stderr, "glory mount: cannot mount %s on %s: %s\n", pos[0], pos[1],
			strerror(-rc));
	glory_vol_close(v);
	glory_disconnect(g);
	return rc ? 1 : 0;
}

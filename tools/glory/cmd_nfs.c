/* glory nfs: serve the cluster's volumes over NFSv3 and MOUNT3 (gateways/nfs). */
#include "common/compiler.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "gateways/nfs/nfs.h"
#include "tools/glory/cmd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* --export may be repeated: taken out of argv before the option table sees it. */
static int take_exports(int *argc, char **argv, struct gl_nfs_cfg *cfg)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *val = NULL;

		if (strcmp(argv[i], "--export") == 0 && i + 1 < *argc)
			val = argv[++i];
		else if (strncmp(argv[i], "--export=", 9) == 0)
			val = argv[i] + 9;
		if (!val) {
			argv[out++] = argv[i];
			continue;
		}
		if (cfg->nexports == GL_NFS_MAX_EXPORTS) {
			fprintf(stderr, "glory nfs: at most %d --export\n", GL_NFS_MAX_EXPORTS);
			return 2;
		}
		cfg->exports[cfg->nexports++] = val;
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

int cmd_nfs(int argc, char **argv)
{
	const char *master = NULL, *listen = NULL, *log_file = NULL, *log_level = "info";
	const char *state_dir = NULL;
	long port = 2049, mount_port = 20048, threads = 0, grace = 45;
	char def_state[64];
	int no_cache = 0;
	struct gl_nfs_cfg cfg = {0};
	struct glory *g = NULL;
	char msg[256];
	int rc;
	const struct gl_opt opts[] = {
	    {"listen", GL_OPT_STR, &listen, "GLORY_NFS_LISTEN", "H", "IPv4 address to serve on"},
	    {"port", GL_OPT_INT, &port, NULL, "P", "NFS port (default 2049)"},
	    {"mount-port", GL_OPT_INT, &mount_port, NULL, "P",
	     "MOUNT port (default 20048; the NFS port serves MOUNT too)"},
	    {"master", GL_OPT_STR, &master, "GLORY_MASTER", "H:P", "cluster master(s)"},
	    {"threads", GL_OPT_INT, &threads, NULL, "N", "worker threads (default 16)"},
	    {"state-dir", GL_OPT_STR, &state_dir, NULL, "DIR",
	     "NSM state: lock clients, state number (default /var/lib/glory/nfs-PORT)"},
	    {"grace", GL_OPT_INT, &grace, NULL, "SECONDS",
	     "NLM grace period after a start, for clients to reclaim locks (default 45; 0: none)"},
	    {"no-cache", GL_OPT_FLAG, &no_cache, NULL, NULL, "no client metadata cache"},
	    {"log-file", GL_OPT_STR, &log_file, NULL, "FILE", "log here instead of stderr"},
	    {"log-level", GL_OPT_STR, &log_level, NULL, "LEVEL", "debug, info, warn or error"},
	};
	const struct gl_cmd_help help = {
	    "glory nfs --listen H [--port 2049] [--mount-port P] [--master H:P] "
	    "[--export TENANT/VOL[:OPTS]]... [--state-dir DIR] [--grace SECONDS]",
	    "Serves volumes over NFSv3 and MOUNT3 on TCP (RFC 1813): each volume is the export "
	    "/TENANT/VOL (mount a directory in it as /TENANT/VOL/DIR), the same files FUSE and S3 "
	    "show. Without --export every volume is exported to every client with root squashed; "
	    "each --export TENANT/VOL[:OPTS] (repeatable) exports only the volumes named, with "
	    "OPTS a comma list of ro, rw, root_squash, no_root_squash (ESXi) and "
	    "clients=ADDR[/BITS][+ADDR[/BITS]...]. Registers with rpcbind when it runs. File "
	    "handles stay valid across restarts; UNSTABLE writes are committed on COMMIT. NLM "
	    "locks live in memory: the clients holding them are recorded in --state-dir and "
	    "told (NSM SM_NOTIFY) after a restart to reclaim them during the grace period; a "
	    "client's own SM_NOTIFY frees its locks. Runs in "
	    "the foreground until SIGTERM or Ctrl-C (buffered writes are committed first).",
	};

	if ((rc = take_exports(&argc, argv, &cfg)))
		return rc;
	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!listen) {
		fprintf(stderr, "glory nfs: --listen H is required (see --help)\n");
		return 2;
	}
	if (port <= 0 || port > 65535 || mount_port < 0 || mount_port > 65535) {
		fprintf(stderr, "glory nfs: ports are 1..65535\n");
		return 2;
	}
	if (grace < 0 || grace > 3600) {
		fprintf(stderr, "glory nfs: --grace is 0..3600 seconds\n");
		return 2;
	}
	if (!state_dir) {
		snprintf(def_state, sizeof(def_state), "/var/lib/glory/nfs-%ld", port);
		state_dir = def_state;
	}
	for (int i = 0; i < cfg.nexports; i++)
		if (gl_nfs_export_check(cfg.exports[i], msg, sizeof(msg))) {
			fprintf(stderr, "glory nfs: %s\n", msg);
			return 2;
		}
	if (!master) {
		fprintf(stderr,
			"glory nfs: no master given: use --master H:P or set GLORY_MASTER\n");
		return 2;
	}
	if ((rc = cmd_log_setup("nfs", log_level, log_file)))
		return rc;
	if ((rc = cmd_gateway_connect("nfs", master, !no_cache, &g)))
		return rc;
	cfg.g = g;
	cfg.host = listen;
	cfg.port = (int)port;
	cfg.mount_port = (int)mount_port;
	cfg.threads = (int)threads;
	cfg.state_dir = state_dir;
	cfg.grace_s = (int)grace;
	rc = gl_nfs_run(&cfg);
	if (rc)
		fprintf(stderr, "glory nfs: cannot serve on %s:%ld/%ld: %s\n", listen, port,
			mount_port, strerror(-rc));
	glory_disconnect(g);
	return rc ? 1 : 0;
}

/* glory master: the cluster master daemon. */
#include "cluster/master.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/opts.h"
#include "tools/glory/cmd.h"

#include <stdio.h>

int cmd_master(int argc, char **argv)
{
	struct gl_master_cfg cfg;
	const char *log_file = NULL, *log_level = "info";
	int rc;

	gl_master_cfg_defaults(&cfg);
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &cfg.dir, NULL, "DIR", "state directory (created if missing)"},
	    {"listen", GL_OPT_STR, &cfg.listen, NULL, "H:P", "address to serve on"},
	    {"down-after", GL_OPT_DOUBLE, &cfg.down_after, NULL, "SECS",
	     "mark a silent data server down after this long (default 3)"},
	    {"out-after", GL_OPT_DOUBLE, &cfg.out_after, NULL, "SECS",
	     "rebuild a down server's data elsewhere after this long (default 600)"},
	    {"gc-grace", GL_OPT_DOUBLE, &cfg.gc_grace, NULL, "SECS",
	     "keep unreferenced chunks this long before deleting them (default 3600)"},
	    {"write-lease", GL_OPT_DOUBLE, &cfg.write_lease, NULL, "SECS",
	     "abandon a chunk write not committed within this long (default 600)"},
	    {"log-file", GL_OPT_STR, &log_file, NULL, "FILE", "log here instead of stderr"},
	    {"log-level", GL_OPT_STR, &log_level, NULL, "LEVEL", "debug, info, warn or error"},
	};
	const struct gl_cmd_help help = {
	    "glory master --dir DIR --listen H:P [options]",
	    "Runs the cluster master: it tracks data servers (heartbeats, failure detection, "
	    "failure domains), publishes the versioned cluster map, keeps the chunk registry "
	    "(references, blobs) and garbage-collects unreferenced chunks. Its state lives in "
	    "DIR and survives restarts. Stop it with SIGTERM.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!cfg.dir || !cfg.listen) {
		fprintf(stderr, "glory master: --dir and --listen are required (see --help)\n");
		return 2;
	}
	rc = cmd_log_setup("master", log_level, log_file);
	if (rc)
		return rc;
	rc = gl_master_run(&cfg);
	return rc ? 1 : 0;
}

/* glory ds: the data server daemon. */
#include "common/errors.h"
#include "common/log.h"
#include "common/opts.h"
#include "storage/ds.h"
#include "tools/glory/cmd.h"

#include <stdio.h>

int cmd_ds(int argc, char **argv)
{
	struct gl_ds_cfg cfg;
	const char *log_file = NULL, *log_level = "info";
	int rc;

	gl_ds_cfg_defaults(&cfg);
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &cfg.dir, NULL, "DIR", "where fragments are stored"},
	    {"listen", GL_OPT_STR, &cfg.listen, NULL, "H:P",
	     "address to serve on (also what clients are told)"},
	    {"master", GL_OPT_STR, &cfg.master, "GLORY_MASTER", "H:P", "cluster master"},
	    {"domain", GL_OPT_STR, &cfg.domain, NULL, "RACK/HOST",
	     "failure domain (default: default/<hostname>)"},
	    {"heartbeat", GL_OPT_DOUBLE, &cfg.heartbeat, NULL, "SECS",
	     "heartbeat interval (default 1)"},
	    {"repair-every", GL_OPT_DOUBLE, &cfg.repair_every, NULL, "SECS",
	     "seconds between repair passes (default 30)"},
	    {"scrub-every", GL_OPT_DOUBLE, &cfg.scrub_every, NULL, "SECS",
	     "seconds between full checksum scrubs (default 86400)"},
	    {"repair-bps", GL_OPT_SIZE, &cfg.repair_bps, NULL, "BYTES",
	     "rebuild and move throttle per second (default 256M; 0 = unlimited)"},
	    {"scrub-bps", GL_OPT_SIZE, &cfg.scrub_bps, NULL, "BYTES",
	     "scrub read throttle per second (default 64M; 0 = unlimited)"},
	    {"stale-age", GL_OPT_DOUBLE, &cfg.stale_age, NULL, "SECS",
	     "remove fragments of chunks the master does not know after this long (default 60)"},
	    {"log-file", GL_OPT_STR, &log_file, NULL, "FILE", "log here instead of stderr"},
	    {"log-level", GL_OPT_STR, &log_level, NULL, "LEVEL", "debug, info, warn or error"},
	};
	const struct gl_cmd_help help = {
	    "glory ds --dir DIR --listen H:P --master H:P [--domain RACK/HOST] [options]",
	    "Runs a data server: stores fragments durably (fsync before acknowledging) with a "
	    "CRC32C checked on every read, reports capacity to the master, rebuilds lost "
	    "fragments, moves misplaced ones home, removes stale ones and scrubs. Stop it with "
	    "SIGTERM.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!cfg.dir || !cfg.listen || !cfg.master) {
		fprintf(stderr,
			"glory ds: --dir, --listen and --master are required (see --help)\n");
		return 2;
	}
	rc = cmd_log_setup("ds", log_level, log_file);
	if (rc)
		return rc;
	rc = gl_ds_run(&cfg);
	return rc ? 1 : 0;
}

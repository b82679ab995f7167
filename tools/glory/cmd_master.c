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
	long id = 1, snap = 0;
	int rc;

	gl_master_cfg_defaults(&cfg);
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &cfg.dir, NULL, "DIR", "state directory (created if missing)"},
	    {"listen", GL_OPT_STR, &cfg.listen, NULL, "H:P",
	     "address to serve on; the raft transport uses port P+1"},
	    {"id", GL_OPT_INT, &id, NULL, "N", "this master's id in the master group (default 1)"},
	    {"peers", GL_OPT_STR, &cfg.peers, NULL, "ID@H:P,...",
	     "every master of a new group, the same on each (default: this one alone)"},
	    {"snapshot-threshold", GL_OPT_INT, &snap, NULL, "N",
	     "log entries between snapshots (default 8192)"},
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
	    "glory master --dir DIR --listen H:P [--id N --peers ID@H:P,...] [options]",
	    "Runs a cluster master: it tracks data servers and metadata servers (heartbeats, "
	    "failure detection, failure domains), publishes the versioned cluster map, keeps the "
	    "chunk registry (references, blobs) and garbage-collects unreferenced chunks. Its "
	    "state is replicated by raft over the master group (3 or 5 masters: losing a "
	    "minority stops nothing); one master alone is a group of one. The leader serves; "
	    "clients given every master (GLORY_MASTER=H:P,H:P,H:P) find it. State lives in DIR "
	    "and survives restarts. Stop it with SIGTERM.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!cfg.dir || !cfg.listen) {
		fprintf(stderr, "glory master: --dir and --listen are required (see --help)\n");
		return 2;
	}
	if (id < 1 || snap < 0) {
		fprintf(stderr, "glory master: --id must be at least 1 (see --help)\n");
		return 2;
	}
	cfg.id = (uint64_t)id;
	cfg.snapshot_threshold = (unsigned)snap;
	rc = cmd_log_setup("master", log_level, log_file);
	if (rc)
		return rc;
	rc = gl_master_run(&cfg);
	return rc ? 1 : 0;
}

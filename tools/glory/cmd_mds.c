/* glory mds: a metadata server, one member of a metadata shard. */
#include "common/errors.h"
#include "common/log.h"
#include "common/opts.h"
#include "metadata/mds.h"
#include "tools/glory/cmd.h"

#include <stdio.h>

int cmd_mds(int argc, char **argv)
{
	struct gl_mds_cfg cfg;
	const char *log_file = NULL, *log_level = "info";
	long shard = 0, id = 1, snap = 0, trailing = 0, election = 0;
	int rc;

	gl_mds_cfg_defaults(&cfg);
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &cfg.dir, NULL, "DIR", "where the shard's log and database live"},
	    {"listen", GL_OPT_STR, &cfg.listen, NULL, "H:P",
	     "address to serve on; the raft transport uses port P+1"},
	    {"master", GL_OPT_STR, &cfg.master, "GLORY_MASTER", "H:P", "cluster master"},
	    {"shard", GL_OPT_INT, &shard, NULL, "N",
	     "the shard this server belongs to (default 0)"},
	    {"id", GL_OPT_INT, &id, NULL, "N", "this member's id within the shard (default 1)"},
	    {"peers", GL_OPT_STR, &cfg.peers, NULL, "ID@H:P,...",
	     "every member of a new shard (same list on each); omit to join an existing shard"},
	    {"snapshot-threshold", GL_OPT_INT, &snap, NULL, "N",
	     "log entries between snapshots (default 8192)"},
	    {"snapshot-trailing", GL_OPT_INT, &trailing, NULL, "N",
	     "log entries kept behind a snapshot (default 2048)"},
	    {"election-ms", GL_OPT_INT, &election, NULL, "MS", "election timeout (default 1000)"},
	    {"heartbeat", GL_OPT_DOUBLE, &cfg.heartbeat, NULL, "SECS",
	     "heartbeat interval to the master (default 1)"},
	    {"log-file", GL_OPT_STR, &log_file, NULL, "FILE", "log here instead of stderr"},
	    {"log-level", GL_OPT_STR, &log_level, NULL, "LEVEL", "debug, info, warn or error"},
	};
	const struct gl_cmd_help help = {
	    "glory mds --dir DIR --listen H:P --master H:P [--shard N --id N --peers ID@H:P,...]",
	    "Runs a metadata server: one member of a metadata shard, a RocksDB state machine "
	    "replicated by Raft (3 or 5 members). It keeps tenants, access keys, volumes with "
	    "their "
	    "quotas, and the file namespace and layouts of its volumes. A new shard starts when "
	    "its members are started with the same --peers list; a member started without --peers "
	    "waits until the leader adds it. Stop it with SIGTERM.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!cfg.dir || !cfg.listen || !cfg.master) {
		fprintf(stderr,
			"glory mds: --dir, --listen and --master are required (see --help)\n");
		return 2;
	}
	if (shard < 0 || shard > 1000000 || id < 1 || snap < 0 || trailing < 0 || election < 0 ||
	    election > 60000) {
		fprintf(stderr, "glory mds: --shard, --id, --snapshot-*, --election-ms out of "
				"range (see --help)\n");
		return 2;
	}
	cfg.shard = (uint32_t)shard;
	cfg.id = (uint64_t)id;
	cfg.snapshot_threshold = (unsigned)snap;
	cfg.snapshot_trailing = (unsigned)trailing;
	cfg.election_ms = (unsigned)election;
	if (cfg.peers) {
		struct gl_rsm_member mem[GL_RSM_MAX_MEMBERS];
		int n, self = 0;

		if (gl_rsm_parse_members(cfg.peers, mem, GL_RSM_MAX_MEMBERS, &n)) {
			fprintf(stderr,
				"glory mds: --peers '%s': expected ID@HOST:PORT,... with "
				"distinct ids > 0, at most %d\n",
				cfg.peers, GL_RSM_MAX_MEMBERS);
			return 2;
		}
		for (int i = 0; i < n; i++)
			self |= mem[i].id == cfg.id;
		if (!self) {
			fprintf(stderr, "glory mds: --peers must list this member (--id %ld)\n",
				id);
			return 2;
		}
	}
	rc = cmd_log_setup("mds", log_level, log_file);
	if (rc)
		return rc;
	rc = gl_mds_run(&cfg);
	return rc ? 1 : 0;
}

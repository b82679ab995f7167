/* glory s3: serve the tenants' volumes over the S3 protocol (gateways/s3). */
#include "common/compiler.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "gateways/s3/s3.h"
#include "tools/glory/cmd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_s3(int argc, char **argv)
{
	const char *master = NULL, *listen = NULL, *volume = "default", *region = "us-east-1";
	const char *domain = NULL, *log_file = NULL, *log_level = "info";
	const char *tls_cert = NULL, *tls_key = NULL;
	long max_conns = 0, tmp_max_age = 86400;
	int no_cache = 0;
	struct glory *g = NULL;
	int rc;
	const struct gl_opt opts[] = {
	    {"listen", GL_OPT_STR, &listen, "GLORY_S3_LISTEN", "H:P", "address to serve HTTP on"},
	    {"master", GL_OPT_STR, &master, "GLORY_MASTER", "H:P", "cluster master(s)"},
	    {"volume", GL_OPT_STR, &volume, NULL, "NAME",
	     "each tenant's volume holding its buckets (default \"default\")"},
	    {"region", GL_OPT_STR, &region, NULL, "R", "the region reported (default us-east-1)"},
	    {"domain", GL_OPT_STR, &domain, NULL, "D",
	     "accept virtual-host style requests to BUCKET.D"},
	    {"max-conns", GL_OPT_INT, &max_conns, NULL, "N", "at most N connections (512)"},
	    {"tmp-max-age", GL_OPT_INT, &tmp_max_age, NULL, "SECS",
	     "remove temporary files older than this left by a gateway that died (86400)"},
	    {"no-cache", GL_OPT_FLAG, &no_cache, NULL, NULL, "no client metadata cache"},
	    {"tls-cert", GL_OPT_STR, &tls_cert, NULL, "PEM", "serve HTTPS with this certificate"},
	    {"tls-key", GL_OPT_STR, &tls_key, NULL, "PEM", "and this private key"},
	    {"log-file", GL_OPT_STR, &log_file, NULL, "FILE", "log here instead of stderr"},
	    {"log-level", GL_OPT_STR, &log_level, NULL, "LEVEL", "debug, info, warn or error"},
	};
	const struct gl_cmd_help help = {
	    "glory s3 --listen H:P [--master H:P] [--volume NAME] [--region R] [--domain D]",
	    "Serves an S3-compatible HTTP endpoint. Requests are signed with an access key "
	    "(`glory key create`): SigV4 (header, presigned URLs, aws-chunked streaming) or SigV2. "
	    "A key's tenant sees the top-level directories of its volume NAME as its buckets, and "
	    "objects as the files under them (keys with \"/\" are paths), the same files a FUSE "
	    "mount of that volume shows. Runs in the foreground until SIGTERM or Ctrl-C.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!listen) {
		fprintf(stderr, "glory s3: --listen H:P is required (see --help)\n");
		return 2;
	}
	if (!tls_cert != !tls_key) {
		fprintf(stderr, "glory s3: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (!master) {
		fprintf(stderr,
			"glory s3: no master given: use --master H:P or set GLORY_MASTER\n");
		return 2;
	}
	if ((rc = cmd_log_setup("s3", log_level, log_file)))
		return rc;
	if ((rc = cmd_gateway_connect("s3", master, !no_cache, &g)))
		return rc;
	{
		struct gl_s3_cfg cfg = {g,	     listen,   volume,
					region,	     domain,   (int)max_conns,
					tmp_max_age, tls_cert, tls_key};

		rc = gl_s3_run(&cfg);
	}
	if (rc)
		fprintf(stderr, "glory s3: cannot serve on %s: %s\n", listen,
			rc == -ENOENT ? "cannot read --tls-cert and --tls-key (both are needed)"
				      : strerror(-rc));
	glory_disconnect(g);
	return rc ? 1 : 0;
}

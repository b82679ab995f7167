/* The S3 gateway: an S3-compatible HTTP/1.1 endpoint (libmicrohttpd) over glory volumes.
 * A tenant's buckets are the top-level directories of its volume named by cfg.volume; object
 * keys are paths under them. Rules: gateways/s3/README.md. */
#ifndef GLORY_GATEWAYS_S3_S3_H
#define GLORY_GATEWAYS_S3_S3_H

struct glory;

struct gl_s3_cfg {
	struct glory *g;    /* connected as the cluster admin (stays the caller's) */
	const char *listen; /* "host:port" */
	const char *volume; /* the volume of each tenant that holds its buckets */
	const char *region; /* what GetBucketLocation says */
	const char *domain; /* virtual-host style: "BUCKET.domain" (NULL: path style only) */
	int max_conns;	    /* 0: 512 */
	long tmp_max_age;   /* seconds: older files in /.s3/tmp are removed at start (0: a day) */
	const char *tls_cert, *tls_key; /* PEM files: serve HTTPS (both NULL: plain HTTP) */
};

/* Serves until SIGTERM or SIGINT (block both before starting threads: gl_s3_run waits for
 * them), then stops accepting, finishes nothing half-written, returns 0; or -errno when it
 * cannot listen (or read the TLS files). */
int gl_s3_run(const struct gl_s3_cfg *cfg);

#endif

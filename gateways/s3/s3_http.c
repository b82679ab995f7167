/* S3 gateway: the HTTP side. libmicrohttpd, one thread per connection (operations block on
 * libglory). A request goes: URI callback (raw target saved) -> first call (headers: parse,
 * authenticate, route; an error is answered before any body is read, so "Expect:
 * 100-continue" clients never send it) -> body calls (aws-chunked decoding, digests, into a
 * temporary file or a small buffer) -> last call (the operation finishes and answers) ->
 * completed callback (whatever was not published is removed). */
#include "gateways/s3/s3_server.h"

#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void s3_random_hex(char *out, size_t n)
{
	uint8_t raw[64];
	size_t k = (n + 1) / 2;

	if (k > sizeof(raw))
		k = sizeof(raw);
	if (RAND_bytes(raw, (int)k) != 1)
		for (size_t i = 0; i < k; i++)
			raw[i] = (uint8_t)random();
	s3_hex(raw, k, out);
	out[n] = '\0';
}

/* ---- responses ---- */

void s3_std_headers(struct s3_req *r, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "x-amz-request-id", r->reqid);
	MHD_add_response_header(resp, "Server", "glory");
}

int s3_queue(struct s3_req *r, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ok;

	if (!resp)
		return -S3E_INTERNAL;
	s3_std_headers(r, resp);
	ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->responded = 1;
	return ok == MHD_YES ? 0 : -S3E_INTERNAL;
}

int s3_respond_xml(struct s3_req *r, unsigned status, struct s3_buf *xml)
{
	struct MHD_Response *resp;

	if (xml->err)
		return -S3E_INTERNAL;
	resp = MHD_create_response_from_buffer(xml->len, xml->p, MHD_RESPMEM_MUST_COPY);
	if (resp)
		MHD_add_response_header(resp, "Content-Type", "application/xml");
	return s3_queue(r, status, resp);
}

int s3_respond_empty(struct s3_req *r, unsigned status)
{
	return s3_queue(r, status, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
}

int s3_respond_error(struct s3_req *r, int e)
{
	struct s3_buf b = {0};
	const char *res = r->rawpath ? r->rawpath : "/";
	int status = s3_err_status(e), rc;

	if (e == -S3E_NOT_MODIFIED)
		return s3_respond_empty(r, 304);
	s3_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
	s3_xml_elem(&b, "Code", s3_err_code(e));
	s3_xml_elem(&b, "Message", s3_err_msg(e));
	if (r->bucket[0])
		s3_xml_elem(&b, "BucketName", r->bucket);
	if (r->key)
		s3_xml_elem(&b, "Key", r->key);
	s3_buf_puts(&b, "<Resource>");
	s3_xml_text(&b, res, strlen(res));
	s3_buf_puts(&b, "</Resource>");
	s3_xml_elem(&b, "RequestId", r->reqid);
	s3_buf_puts(&b, "</Error>");
	gl_debug("%s %s: %d %s", r->method ? r->method : "?", res, status, s3_err_code(e));
	rc = s3_respond_xml(r, (unsigned)status, &b);
	s3_buf_free(&b);
	return rc;
}

/* ---- parsing the target ---- */

static enum MHD_Result header_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct s3_req *r = cls;

	(void)kind;
	if (!r->err)
		r->err = s3_hdrs_add(&r->h, key, value ? value : "");
	return MHD_YES;
}

static int parse_target(struct s3_req *r)
{
	const char *qm = strchr(r->uri, '?'), *host = s3_hdr(&r->h, "host");
	size_t plen = qm ? (size_t)(qm - r->uri) : strlen(r->uri);
	const char *p;
	int rc;

	if (plen == 0 || r->uri[0] != '/')
		return -S3E_INVALID_REQUEST;
	r->rawpath = strndup(r->uri, plen);
	r->path = malloc(plen + 1);
	if (!r->rawpath || !r->path)
		return -S3E_INTERNAL;
	if (s3_uri_decode(r->uri, plen, r->path, NULL))
		return -S3E_INVALID_ARGUMENT;
	if (qm && (rc = s3_query_parse(qm + 1, strlen(qm + 1), &r->q)))
		return rc;
	/* virtual host: BUCKET.domain[:port] */
	if (host && r->gw->cfg.domain) {
		size_t hl = strcspn(host, ":"), dl = strlen(r->gw->cfg.domain);

		if (hl > dl + 1 && host[hl - dl - 1] == '.' &&
		    strncasecmp(host + hl - dl, r->gw->cfg.domain, dl) == 0) {
			if (hl - dl - 1 >= sizeof(r->bucket))
				return -S3E_INVALID_BUCKET_NAME;
			memcpy(r->bucket, host, hl - dl - 1);
			r->bucket[hl - dl - 1] = '\0';
			r->vhost = 1;
			p = r->path + 1;
			if (*p && !(r->key = strdup(p)))
				return -S3E_INTERNAL;
			return s3_bucket_name_ok(r->bucket) ? 0 : -S3E_INVALID_BUCKET_NAME;
		}
	}
	p = r->path + 1;
	if (*p) {
		size_t bl = strcspn(p, "/");

		if (bl >= sizeof(r->bucket)) {
			snprintf(r->bucket, sizeof(r->bucket), "%.*s", 63, p);
			return -S3E_INVALID_BUCKET_NAME;
		}
		memcpy(r->bucket, p, bl);
		r->bucket[bl] = '\0';
		if (p[bl] == '/' && p[bl + 1] && !(r->key = strdup(p + bl + 1)))
			return -S3E_INTERNAL;
	}
	return 0;
}

/* ---- the body pipeline ---- */

static int body_data(void *arg, const char *p, size_t n)
{
	struct s3_req *r = arg;
	ssize_t w;

	if (r->want_len != UINT64_MAX && r->got + n > r->want_len)
		return -S3E_INVALID_REQUEST;
	if (r->md5)
		EVP_DigestUpdate(r->md5, p, n);
	if (r->ck.alg)
		s3_cksum_update(&r->ck, p, n);
	switch (r->body) {
	case S3_BODY_SMALL:
		if (r->small.len + n > S3_SMALL_MAX)
			return -S3E_ENTITY_TOO_LARGE;
		s3_buf_put(&r->small, p, n);
		if (r->small.err)
			return -S3E_INTERNAL;
		break;
	case S3_BODY_FILE:
		w = glory_pwrite(r->f, p, n, r->got);
		if (w < 0)
			return s3_from_glory((int)w);
		if ((size_t)w != n)
			return -S3E_INTERNAL;
		break;
	default:
		break;
	}
	r->got += n;
	return 0;
}

static int body_feed(struct s3_req *r, const char *p, size_t n)
{
	if (r->chunked)
		return s3_chunked_feed(&r->ch, p, n, body_data, r);
	if (r->verify_sha)
		EVP_DigestUpdate(r->sha, p, n);
	return body_data(r, p, n);
}

int s3_body_check(struct s3_req *r)
{
	uint8_t d[32];
	unsigned int dl = 0;
	char hex[65];
	int rc;

	if (r->chunked && (rc = s3_chunked_finish(&r->ch)))
		return rc;
	if (r->want_len != UINT64_MAX && r->got != r->want_len)
		return -S3E_INCOMPLETE_BODY;
	if (r->verify_sha) {
		EVP_DigestFinal_ex(r->sha, d, &dl);
		s3_hex(d, 32, hex);
		if (strcmp(hex, r->want_sha) != 0)
			return -S3E_SHA_MISMATCH;
	}
	if (r->md5) {
		const char *cm = s3_hdr(&r->h, "content-md5");

		EVP_DigestFinal_ex(r->md5, r->md5sum, &dl);
		EVP_MD_CTX_free(r->md5);
		r->md5 = NULL;
		if (cm) {
			char b64[32];

			s3_base64(r->md5sum, 16, b64);
			if (strcmp(b64, cm) != 0)
				return -S3E_BAD_DIGEST;
		}
	}
	if (r->ck.alg) {
		char name[48];
		const char *want;

		s3_cksum_final(&r->ck, r->ck_value);
		snprintf(name, sizeof(name), "x-amz-checksum-%s", s3_cksum_name(r->ck.alg));
		want = r->chunked ? s3_chunked_trailer(&r->ch, name) : NULL;
		if (!want)
			want = s3_hdr(&r->h, name);
		if (want && strcmp(want, r->ck_value) != 0)
			return -S3E_BAD_CHECKSUM;
	}
	return 0;
}

/* Which checksum the request declares (header or trailer), and the digests to compute. */
static int body_setup(struct s3_req *r, int kind)
{
	const char *trailer = s3_hdr(&r->h, "x-amz-trailer"), *dl, *cm;
	int alg = S3_CK_NONE, rc;

	r->body = kind;
	dl = s3_hdr(&r->h, "x-amz-decoded-content-length");
	if (r->chunked && dl) {
		char *end;

		r->want_len = strtoull(dl, &end, 10);
		if (*end || end == dl)
			return -S3E_INVALID_ARGUMENT;
	}
	if ((cm = s3_hdr(&r->h, "content-md5"))) {
		uint8_t d[20];
		size_t n;

		if (s3_unbase64(cm, d, sizeof(d), &n) || n != 16)
			return -S3E_INVALID_DIGEST;
	}
	if (trailer && strncasecmp(trailer, "x-amz-checksum-", 15) == 0)
		alg = s3_cksum_alg(trailer + 15);
	for (int i = 0; !alg && i < r->h.n; i++)
		if (strncmp(r->h.name[i], "x-amz-checksum-", 15) == 0)
			alg = s3_cksum_alg(r->h.name[i] + 15);
	if (!alg && (dl = s3_hdr(&r->h, "x-amz-sdk-checksum-algorithm")))
		alg = s3_cksum_alg(dl);
	if (alg && (rc = s3_cksum_init(&r->ck, alg)))
		return rc;
	if (kind == S3_BODY_FILE || s3_hdr(&r->h, "content-md5")) {
		r->md5 = EVP_MD_CTX_new();
		if (!r->md5 || !EVP_DigestInit_ex(r->md5, EVP_md5(), NULL))
			return -S3E_INTERNAL;
	}
	if (r->verify_sha) {
		r->sha = EVP_MD_CTX_new();
		if (!r->sha || !EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL))
			return -S3E_INTERNAL;
	}
	return 0;
}

int s3_tmp_create(struct s3_req *r)
{
	struct glory_attr a;
	int rc;

	s3_random_hex(r->tmpname, 32);
	rc = glory_create(r->vol->v, r->vol->tmp, r->tmpname, 0100644, 0, 0, 1, &a);
	if (rc)
		return s3_from_glory(rc);
	r->tmp_ino = a.ino;
	r->got = 0; /* the file's bytes are counted from here (a request body may be XML) */
	rc = glory_open_attr(r->vol->v, &a, &r->f); /* no getattr: the create gave them */
	if (rc) {
		s3_tmp_drop(r);
		return s3_from_glory(rc);
	}
	return 0;
}

void s3_tmp_drop(struct s3_req *r)
{
	if (r->f)
		glory_close(r->f);
	r->f = NULL;
	if (r->tmp_ino && !r->published)
		glory_unlink(r->vol->v, r->vol->tmp, r->tmpname);
	r->tmp_ino = 0;
}

/* ---- routing ---- */

static int is(const struct s3_req *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

static int run_small(struct s3_req *r, s3_op_fn fn)
{
	r->finish = fn;
	return body_setup(r, S3_BODY_SMALL);
}

static int run_plain(struct s3_req *r, s3_op_fn fn)
{
	r->finish = fn;
	return body_setup(r, S3_BODY_NONE);
}

/* Sub-resources glory has no configuration for: what S3 says of a bucket without one. */
static const struct {
	const char *name;
	int get; /* -S3E_* answered to GET; 0: s3_subresource answers */
} subres[] = {
    {"acl", 0},
    {"tagging", 0},
    {"policy", -S3E_NO_POLICY},
    {"cors", -S3E_NO_CORS},
    {"lifecycle", -S3E_NO_LIFECYCLE},
    {"website", -S3E_NO_WEBSITE},
    {"encryption", -S3E_NO_ENCRYPTION},
    {"logging", 0},
    {"notification", 0},
    {"requestPayment", 0},
    {"replication", -S3E_NOT_IMPLEMENTED},
    {"object-lock", -S3E_NOT_IMPLEMENTED},
    {"ownershipControls", -S3E_NOT_IMPLEMENTED},
    {"retention", -S3E_NOT_IMPLEMENTED},
    {"legal-hold", -S3E_NOT_IMPLEMENTED},
    {"torrent", -S3E_NOT_IMPLEMENTED},
    {"restore", -S3E_NOT_IMPLEMENTED},
    {"select", -S3E_NOT_IMPLEMENTED},
    {"accelerate", 0},
    {"analytics", -S3E_NOT_IMPLEMENTED},
    {"inventory", -S3E_NOT_IMPLEMENTED},
    {"metrics", -S3E_NOT_IMPLEMENTED},
    {"intelligent-tiering", -S3E_NOT_IMPLEMENTED},
    {"publicAccessBlock", -S3E_NOT_IMPLEMENTED},
    {"policyStatus", -S3E_NOT_IMPLEMENTED},
    {"versions", -S3E_NOT_IMPLEMENTED},
    {"attributes", -S3E_NOT_IMPLEMENTED},
};

static int route_subresource(struct s3_req *r, int *handled)
{
	*handled = 0;
	for (size_t i = 0; i < GL_ARRAY_SIZE(subres); i++) {
		if (!s3_qget(&r->q, subres[i].name))
			continue;
		*handled = 1;
		r->op = (void *)subres[i].name;
		if (is(r, "GET") && subres[i].get)
			return subres[i].get;
		if (is(r, "GET"))
			return run_plain(r, s3_subresource);
		if (is(r, "PUT") && (strcmp(subres[i].name, "acl") == 0))
			return run_small(r, s3_subresource); /* accepted: one owner, full control */
		return -S3E_NOT_IMPLEMENTED;
	}
	return 0;
}

static int route(struct s3_req *r)
{
	const char *upload = s3_qget(&r->q, "uploadId");
	int handled, rc;

	if (!r->bucket[0]) {
		if (is(r, "GET"))
			return run_plain(r, s3_list_buckets);
		return -S3E_METHOD_NOT_ALLOWED;
	}
	if (!s3_bucket_name_ok(r->bucket))
		return -S3E_INVALID_BUCKET_NAME;
	rc = route_subresource(r, &handled);
	if (handled)
		return rc;
	if (!r->key) {
		if (is(r, "PUT"))
			return run_small(r, s3_create_bucket);
		if (is(r, "HEAD"))
			return run_plain(r, s3_head_bucket);
		if (is(r, "DELETE"))
			return run_plain(r, s3_delete_bucket);
		if (is(r, "POST") && s3_qget(&r->q, "delete"))
			return run_small(r, s3_delete_objects);
		if (!is(r, "GET"))
			return -S3E_METHOD_NOT_ALLOWED;
		if (s3_qget(&r->q, "location"))
			return run_plain(r, s3_bucket_location);
		if (s3_qget(&r->q, "versioning"))
			return run_plain(r, s3_bucket_versioning);
		if (s3_qget(&r->q, "uploads"))
			return run_plain(r, s3_mpu_list_uploads);
		return run_plain(r, s3_list_objects);
	}
	if ((rc = s3_key_check(r->key)))
		return rc;
	if (is(r, "PUT")) {
		if (upload && s3_hdr(&r->h, "x-amz-copy-source"))
			return run_plain(r, s3_mpu_part_copy);
		if (upload)
			return s3_mpu_part_begin(r);
		if (s3_hdr(&r->h, "x-amz-copy-source"))
			return run_plain(r, s3_copy_object);
		return s3_put_begin(r);
	}
	if (is(r, "GET") || is(r, "HEAD")) {
		if (upload && is(r, "GET"))
			return run_plain(r, s3_mpu_list_parts);
		return run_plain(r, s3_get_object);
	}
	if (is(r, "DELETE"))
		return run_plain(r, upload ? s3_mpu_abort : s3_delete_object);
	if (is(r, "POST")) {
		if (s3_qget(&r->q, "uploads"))
			return run_plain(r, s3_mpu_create);
		if (upload)
			return run_small(r, s3_mpu_complete);
	}
	return -S3E_METHOD_NOT_ALLOWED;
}

int s3_body_begin(struct s3_req *r, int kind, s3_op_fn finish)
{
	r->finish = finish;
	return body_setup(r, kind);
}

static int first_call(struct s3_req *r)
{
	const char *cl, *te;
	int rc;

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, header_cb, r);
	if (r->err)
		return r->err;
	if ((rc = parse_target(r)))
		return rc;
	if ((rc = s3_authenticate(r)))
		return rc;
	if ((rc = s3_vol_get(r->gw, r->tenant, &r->vol)))
		return rc;
	cl = s3_hdr(&r->h, "content-length");
	te = s3_hdr(&r->h, "transfer-encoding");
	r->want_len = UINT64_MAX;
	if (cl && !r->chunked) {
		char *end;

		r->want_len = strtoull(cl, &end, 10);
		if (*end || end == cl)
			return -S3E_INVALID_ARGUMENT;
	}
	if (!cl && !te && is(r, "PUT") && r->key && !s3_hdr(&r->h, "x-amz-copy-source"))
		return -S3E_MISSING_LENGTH;
	return route(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct s3_req *r = *con_cls;
	int rc;

	(void)cls;
	(void)url;
	(void)version;
	if (!r)
		return MHD_NO;
	if (r->responded) { /* answered early: drop what the client still sends */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!r->started) {
		r->started = 1;
		r->conn = conn;
		r->method = method;
		rc = first_call(r);
		if (rc)
			return s3_respond_error(r, rc) ? MHD_NO : MHD_YES;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!r->err)
			r->err = body_feed(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* the whole body is in */
	rc = r->err;
	if (!rc)
		rc = s3_body_check(r);
	if (!rc)
		rc = r->finish(r);
	if (rc)
		return s3_respond_error(r, rc) ? MHD_NO : MHD_YES;
	return r->responded ? MHD_YES : MHD_NO;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct s3_gw *gw = cls;
	struct s3_req *r = calloc(1, sizeof(*r));

	(void)conn;
	if (!r)
		return NULL;
	r->gw = gw;
	r->uri = strdup(uri ? uri : "/");
	snprintf(r->reqid, sizeof(r->reqid), "%016llX",
		 (unsigned long long)__atomic_add_fetch(&gw->next_id, 1, __ATOMIC_RELAXED));
	if (!r->uri) {
		free(r);
		return NULL;
	}
	return r;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct s3_req *r = *con_cls;

	(void)cls;
	(void)conn;
	if (!r)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->started)
		gl_debug("%s %s: ended early (%d)", r->method, r->uri, (int)toe);
	if (r->vol)
		s3_tmp_drop(r);
	if (r->op_free)
		r->op_free(r->op);
	if (r->chunked)
		s3_chunked_fini(&r->ch);
	s3_cksum_fini(&r->ck);
	if (r->sha)
		EVP_MD_CTX_free(r->sha);
	if (r->md5)
		EVP_MD_CTX_free(r->md5);
	s3_buf_free(&r->small);
	s3_hdrs_free(&r->h);
	s3_query_free(&r->q);
	free(r->key);
	free(r->path);
	free(r->rawpath);
	free(r->uri);
	free(r);
	*con_cls = NULL;
}

/* The whole of a small file (a PEM certificate or key), NUL-terminated; NULL on failure. */
static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	if (buf) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = '\0';
		if (n == 0 || !feof(f)) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

int gl_s3_run(const struct gl_s3_cfg *cfg)
{
	struct s3_gw *gw = calloc(1, sizeof(*gw));
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	char host[256];
	const char *colon = strrchr(cfg->listen, ':');
	char *cert = NULL, *key = NULL;
	unsigned tls = 0;
	sigset_t set;
	int sig, rc = 0;

	if (!gw)
		return -ENOMEM;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (!colon || (size_t)(colon - cfg->listen) >= sizeof(host) || !colon[1]) {
		free(gw);
		return -EINVAL;
	}
	memcpy(host, cfg->listen, (size_t)(colon - cfg->listen));
	host[colon - cfg->listen] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (!host[0] || strcmp(host, "*") == 0)
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		free(gw);
		return -EINVAL;
	}
	gw->cfg = *cfg;
	pthread_mutex_init(&gw->lock, NULL);
	if (cfg->tls_cert || cfg->tls_key) {
		if (!cfg->tls_cert || !cfg->tls_key || !(cert = read_small_file(cfg->tls_cert)) ||
		    !(key = read_small_file(cfg->tls_key))) {
			rc = -ENOENT;
			goto out;
		}
		tls = MHD_USE_TLS;
	}
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				 MHD_USE_POLL | MHD_USE_ERROR_LOG | tls,
			     0, NULL, NULL, on_request, gw, MHD_OPTION_SOCK_ADDR, &sa,
			     MHD_OPTION_URI_LOG_CALLBACK, on_uri, gw, MHD_OPTION_NOTIFY_COMPLETED,
			     on_done, gw, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1u << 20),
			     MHD_OPTION_CONNECTION_TIMEOUT, 300u, MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned)(cfg->max_conns > 0 ? cfg->max_conns : 512),
			     MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
			     tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
			     MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
	if (!d) {
		rc = -EADDRINUSE;
		goto out;
	}
	gl_info("serving S3 on %s://%s (volume %s of each tenant)", tls ? "https" : "http",
		cfg->listen, cfg->volume);
	fprintf(stderr, "glory s3: serving on %s://%s\n", tls ? "https" : "http", cfg->listen);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	do
		sig = sigwaitinfo(&set, NULL);
	while (sig < 0 && errno == EINTR);
	gl_info("stopping on signal %d", sig);
	MHD_stop_daemon(d);
out:
	for (int i = 0; i < gw->nvols; i++) {
		glory_vol_close(gw->vols[i]->v);
		free(gw->vols[i]);
	}
	pthread_mutex_destroy(&gw->lock);
	free(cert);
	free(key);
	free(gw);
	return rc;
}

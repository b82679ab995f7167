/* S3 gateway: request signatures. SigV4 (Authorization header and presigned query), SigV2
 * (header and query). Pure functions: the server supplies the secret and compares. */
#include "gateways/s3/s3_internal.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void s3_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t d[32];
	unsigned int dl = 0;

	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	s3_hex(d, 32, out);
}

void s3_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, uint8_t out[32])
{
	unsigned int ol = 32;

	HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &ol);
}

int s3_sig_equal(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* Copies the value of "name=" in a comma-separated list of parameters into out. */
static int auth_param(const char *s, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = s;

	while (*p) {
		size_t len;

		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, ",");
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = len - nl - 1;

			while (vl && p[nl + 1 + vl - 1] == ' ')
				vl--;
			if (vl == 0 || vl >= cap)
				return -S3E_AUTH_HEADER;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return 0;
		}
		p += len;
	}
	return -S3E_AUTH_HEADER;
}

/* "AK/20130524/us-east-1/s3/aws4_request" */
static int parse_credential(const char *cred, struct s3_sigv4 *o)
{
	const char *p[5];
	const char *s = cred;
	size_t len[5];

	for (int i = 0; i < 5; i++) {
		const char *e = i < 4 ? strchr(s, '/') : s + strlen(s);

		if (!e)
			return -S3E_AUTH_HEADER;
		p[i] = s;
		len[i] = (size_t)(e - s);
		s = e + 1;
	}
	/* the access key is the part before the last four: keys never hold '/' here */
	if (len[0] == 0 || len[0] >= sizeof(o->access) || len[1] != 8 ||
	    len[2] >= sizeof(o->region) || len[2] == 0 || len[3] >= sizeof(o->service) ||
	    len[4] != 12 || strncmp(p[4], "aws4_request", 12) != 0)
		return -S3E_AUTH_HEADER;
	memcpy(o->access, p[0], len[0]);
	o->access[len[0]] = '\0';
	memcpy(o->date, p[1], 8);
	o->date[8] = '\0';
	memcpy(o->region, p[2], len[2]);
	o->region[len[2]] = '\0';
	memcpy(o->service, p[3], len[3]);
	o->service[len[3]] = '\0';
	for (int i = 0; i < 8; i++)
		if (!isdigit((unsigned char)o->date[i]))
			return -S3E_AUTH_HEADER;
	return 0;
}

static int signed_headers_ok(const char *s)
{
	if (!*s)
		return 0;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' ||
		      *p == ';' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

int s3_sigv4_parse_header(const char *authz, struct s3_sigv4 *out)
{
	char cred[512];
	int rc;

	memset(out, 0, sizeof(*out));
	if (strncmp(authz, "AWS4-HMAC-SHA256 ", 17) != 0)
		return -S3E_AUTH_HEADER;
	authz += 17;
	if ((rc = auth_param(authz, "Credential", cred, sizeof(cred))) ||
	    (rc = auth_param(authz, "SignedHeaders", out->signed_headers,
			     sizeof(out->signed_headers))) ||
	    (rc = auth_param(authz, "Signature", out->signature, sizeof(out->signature))))
		return rc;
	if (!signed_headers_ok(out->signed_headers))
		return -S3E_AUTH_HEADER;
	return parse_credential(cred, out);
}

int s3_sigv4_parse_query(const struct s3_query *q, struct s3_sigv4 *out)
{
	const char *alg = s3_qget(q, "X-Amz-Algorithm"), *cred = s3_qget(q, "X-Amz-Credential");
	const char *date = s3_qget(q, "X-Amz-Date"), *exp = s3_qget(q, "X-Amz-Expires");
	const char *sh = s3_qget(q, "X-Amz-SignedHeaders"), *sig = s3_qget(q, "X-Amz-Signature");
	char *end;

	memset(out, 0, sizeof(*out));
	if (!alg || strcmp(alg, "AWS4-HMAC-SHA256") != 0 || !cred || !date || !exp || !sh || !sig)
		return -S3E_AUTH_HEADER;
	if (strlen(date) >= sizeof(out->amz_date) || strlen(sh) >= sizeof(out->signed_headers) ||
	    strlen(sig) >= sizeof(out->signature) || !signed_headers_ok(sh))
		return -S3E_AUTH_HEADER;
	out->expires = strtol(exp, &end, 10);
	if (*end || end == exp || out->expires < 1 || out->expires > 604800)
		return -S3E_AUTH_HEADER;
	strcpy(out->amz_date, date);
	strcpy(out->signed_headers, sh);
	strcpy(out->signature, sig);
	out->presigned = 1;
	return parse_credential(cred, out);
}

struct qpair {
	char *k, *v;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

/* A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces as one. */
static void canon_value(struct s3_buf *b, const char *v)
{
	int space = 0, any = 0;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = any;
			continue;
		}
		if (space)
			s3_buf_put(b, " ", 1);
		space = 0;
		any = 1;
		s3_buf_put(b, v, 1);
	}
}

int s3_sigv4_canonical(struct s3_buf *out, const char *method, const char *path,
		       const struct s3_query *q, const struct s3_hdrs *h,
		       const char *signed_headers, const char *payload_hash)
{
	struct qpair pairs[S3_MAX_QUERY];
	int np = 0, rc = 0;

	s3_buf_puts(out, method);
	s3_buf_put(out, "\n", 1);
	s3_uri_encode(out, path, strlen(path), 1);
	s3_buf_put(out, "\n", 1);
	for (int i = 0; i < q->n; i++) {
		struct s3_buf k = {0}, v = {0};

		if (strcmp(q->name[i], "X-Amz-Signature") == 0)
			continue;
		s3_uri_encode(&k, q->name[i], strlen(q->name[i]), 0);
		s3_uri_encode(&v, q->value[i], strlen(q->value[i]), 0);
		pairs[np].k = s3_buf_cstr(&k);
		pairs[np].v = s3_buf_cstr(&v);
		np++;
		if (!pairs[np - 1].k || !pairs[np - 1].v)
			rc = -S3E_INTERNAL;
	}
	if (!rc)
		qsort(pairs, (size_t)np, sizeof(pairs[0]), qpair_cmp);
	for (int i = 0; i < np; i++) {
		if (!rc) {
			if (i)
				s3_buf_put(out, "&", 1);
			s3_buf_puts(out, pairs[i].k);
			s3_buf_put(out, "=", 1);
			s3_buf_puts(out, pairs[i].v);
		}
		free(pairs[i].k);
		free(pairs[i].v);
	}
	s3_buf_put(out, "\n", 1);
	for (const char *p = signed_headers; *p;) {
		size_t len = strcspn(p, ";");
		char name[128];
		const char *v;

		if (len == 0 || len >= sizeof(name))
			return -S3E_AUTH_HEADER;
		memcpy(name, p, len);
		name[len] = '\0';
		v = s3_hdr(h, name);
		s3_buf_puts(out, name);
		s3_buf_put(out, ":", 1);
		canon_value(out, v ? v : "");
		s3_buf_put(out, "\n", 1);
		p += len;
		if (*p == ';')
			p++;
	}
	s3_buf_put(out, "\n", 1);
	s3_buf_puts(out, signed_headers);
	s3_buf_put(out, "\n", 1);
	s3_buf_puts(out, payload_hash);
	return rc ? rc : out->err ? -S3E_INTERNAL : 0;
}

void s3_sigv4_key(const char *secret, const char *date, const char *region, const char *service,
		  uint8_t key[32])
{
	char k0[160];
	uint8_t a[32], b[32], c[32];

	snprintf(k0, sizeof(k0), "AWS4%s", secret);
	s3_hmac_sha256(k0, strlen(k0), date, strlen(date), a);
	s3_hmac_sha256(a, 32, region, strlen(region), b);
	s3_hmac_sha256(b, 32, service, strlen(service), c);
	s3_hmac_sha256(c, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(k0, sizeof(k0));
}

void s3_sigv4_sign(const uint8_t key[32], const char *amz_date, const char *scope,
		   const char *canonical, size_t clen, char sig[65])
{
	struct s3_buf sts = {0};
	char h[65];
	uint8_t mac[32];

	s3_sha256_hex(canonical, clen, h);
	s3_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, h);
	if (sts.err) {
		sig[0] = '\0';
		s3_buf_free(&sts);
		return;
	}
	s3_hmac_sha256(key, 32, sts.p, sts.len, mac);
	s3_hex(mac, 32, sig);
	s3_buf_free(&sts);
}

/* ---- SigV2 ---- */

static const char *const v2_subresources[] = {
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
};

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int s3_sigv2_string(struct s3_buf *out, const char *method, const char *path,
		    const struct s3_query *q, const struct s3_hdrs *h, const char *date)
{
	const char *amz[S3_MAX_HDRS];
	const char *md5 = s3_hdr(h, "content-md5"), *ct = s3_hdr(h, "content-type");
	int na = 0, first = 1;

	s3_buf_printf(out, "%s\n%s\n%s\n%s\n", method, md5 ? md5 : "", ct ? ct : "",
		      date ? date : "");
	for (int i = 0; i < h->n; i++)
		if (strncmp(h->name[i], "x-amz-", 6) == 0)
			amz[na++] = h->name[i];
	qsort(amz, (size_t)na, sizeof(amz[0]), strp_cmp);
	for (int i = 0; i < na; i++) {
		s3_buf_puts(out, amz[i]);
		s3_buf_put(out, ":", 1);
		canon_value(out, s3_hdr(h, amz[i]));
		s3_buf_put(out, "\n", 1);
	}
	s3_buf_puts(out, path);
	/* sub-resources, in the (sorted) order of the table */
	for (size_t i = 0; i < GL_ARRAY_SIZE(v2_subresources); i++) {
		const char *v = s3_qget(q, v2_subresources[i]);

		if (!v)
			continue;
		s3_buf_put(out, first ? "?" : "&", 1);
		first = 0;
		s3_buf_puts(out, v2_subresources[i]);
		if (*v) {
			s3_buf_put(out, "=", 1);
			s3_buf_puts(out, v);
		}
	}
	return out->err ? -S3E_INTERNAL : 0;
}

void s3_sigv2_sign(const char *secret, const char *s, size_t n, char out[32])
{
	uint8_t mac[20];
	unsigned int ml = 20;

	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)s, n, mac, &ml);
	s3_base64(mac, 20, out);
}

/* S3 gateway: the aws-chunked body decoder (Content-Encoding: aws-chunked).
 *
 *   chunk   = hex-size [";chunk-signature=" 64 hex] CRLF data CRLF
 *   last    = "0" [";chunk-signature=" 64 hex] CRLF
 *   then    CRLF                                     (no trailer)
 *   or      *(name ":" value CRLF) [x-amz-trailer-signature ":" 64 hex CRLF] CRLF
 *
 * A chunk's signature is HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n"
 * previous-signature "\n" sha256("") "\n" sha256(data)), chained from the request's own
 * signature; the trailer's is HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n"
 * previous-signature "\n" sha256(trailer lines as "name:value\n")). Data is handed on before its
 * chunk is verified: the caller writes it somewhere invisible and publishes only at the end. */
#include "gateways/s3/s3_internal.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

enum { ST_SIZE, ST_DATA, ST_DATA_CRLF, ST_TRAILER, ST_DONE };

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_CHUNK    (1ull << 40)

int s3_chunked_init(struct s3_chunked *c, int mode, const uint8_t key[32], const char *amz_date,
		    const char *scope, const char *seed)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->state = ST_SIZE;
	if (mode == S3_CH_UNSIGNED_TRAILER)
		return 0;
	if (strlen(amz_date) >= sizeof(c->amz_date) || strlen(scope) >= sizeof(c->scope) ||
	    strlen(seed) >= sizeof(c->prev_sig))
		return -S3E_AUTH_HEADER;
	memcpy(c->key, key, 32);
	strcpy(c->amz_date, amz_date);
	strcpy(c->scope, scope);
	strcpy(c->prev_sig, seed);
	c->sha = EVP_MD_CTX_new();
	if (!c->sha || !EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL))
		return -S3E_INTERNAL;
	return 0;
}

static int signed_mode(const struct s3_chunked *c)
{
	return c->mode == S3_CH_SIGNED || c->mode == S3_CH_SIGNED_TRAILER;
}

static int trailer_mode(const struct s3_chunked *c)
{
	return c->mode == S3_CH_SIGNED_TRAILER || c->mode == S3_CH_UNSIGNED_TRAILER;
}

/* Checks the signature of the chunk just read (its data hashed into c->sha). */
static int verify_chunk(struct s3_chunked *c)
{
	struct s3_buf sts = {0};
	uint8_t d[32], mac[32];
	unsigned int dl = 0;
	char hex[65], sig[65];
	int rc = 0;

	if (!signed_mode(c))
		return 0;
	EVP_DigestFinal_ex(c->sha, d, &dl);
	EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
	s3_hex(d, 32, hex);
	s3_buf_printf(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", c->amz_date, c->scope,
		      c->prev_sig, EMPTY_SHA256, hex);
	if (sts.err) {
		rc = -S3E_INTERNAL;
		goto out;
	}
	s3_hmac_sha256(c->key, 32, sts.p, sts.len, mac);
	s3_hex(mac, 32, sig);
	if (!s3_sig_equal(sig, c->chunk_sig))
		rc = -S3E_SIGNATURE;
	else
		strcpy(c->prev_sig, sig);
out:
	s3_buf_free(&sts);
	return rc;
}

static int verify_trailer(struct s3_chunked *c, const char *given)
{
	struct s3_buf t = {0}, sts = {0};
	uint8_t mac[32];
	char hex[65], sig[65];
	int rc = 0;

	for (int i = 0; i < c->ntrail; i++)
		s3_buf_printf(&t, "%s:%s\n", c->trail_name[i], c->trail_value[i]);
	s3_sha256_hex(t.p ? t.p : "", t.len, hex);
	s3_buf_printf(&sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", c->amz_date, c->scope,
		      c->prev_sig, hex);
	if (t.err || sts.err) {
		rc = -S3E_INTERNAL;
	} else {
		s3_hmac_sha256(c->key, 32, sts.p, sts.len, mac);
		s3_hex(mac, 32, sig);
		if (!s3_sig_equal(sig, given))
			rc = -S3E_SIGNATURE;
	}
	s3_buf_free(&t);
	s3_buf_free(&sts);
	return rc;
}

/* "hex[;chunk-signature=sig]" */
static int parse_size_line(struct s3_chunked *c)
{
	const char *p = c->line;
	uint64_t v = 0;
	int digits = 0;

	while (isxdigit((unsigned char)*p)) {
		int d =
		    isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);

		if (++digits > 16 || v > MAX_CHUNK)
			return -S3E_INVALID_REQUEST;
		v = v << 4 | (uint64_t)d;
		p++;
	}
	if (!digits || v > MAX_CHUNK)
		return -S3E_INVALID_REQUEST;
	c->chunk_sig[0] = '\0';
	if (signed_mode(c)) {
		size_t sl;

		if (strncmp(p, ";chunk-signature=", 17) != 0)
			return -S3E_SIGNATURE;
		p += 17;
		sl = strlen(p);
		if (sl != 64)
			return -S3E_SIGNATURE;
		memcpy(c->chunk_sig, p, 65);
	} else if (*p && *p != ';') {
		return -S3E_INVALID_REQUEST;
	}
	c->remain = v;
	return 0;
}

static int trailer_line(struct s3_chunked *c)
{
	char *colon;

	if (c->linelen == 0) { /* the end */
		if (c->mode == S3_CH_SIGNED_TRAILER && c->prev_sig[0] != '!')
			return -S3E_SIGNATURE; /* no x-amz-trailer-signature */
		c->state = ST_DONE;
		c->done = 1;
		return 0;
	}
	colon = strchr(c->line, ':');
	if (!colon || colon == c->line)
		return -S3E_INVALID_REQUEST;
	*colon = '\0';
	for (char *p = c->line; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	colon++;
	while (*colon == ' ')
		colon++;
	if (strcmp(c->line, "x-amz-trailer-signature") == 0) {
		int rc;

		if (c->mode != S3_CH_SIGNED_TRAILER || c->prev_sig[0] == '!')
			return -S3E_INVALID_REQUEST;
		if ((rc = verify_trailer(c, colon)))
			return rc;
		c->prev_sig[0] = '!'; /* verified: only the empty line may follow */
		return 0;
	}
	if (c->prev_sig[0] == '!' || c->ntrail >= S3_CH_TRAILS)
		return -S3E_INVALID_REQUEST;
	c->trail_name[c->ntrail] = strdup(c->line);
	c->trail_value[c->ntrail] = strdup(colon);
	if (!c->trail_name[c->ntrail] || !c->trail_value[c->ntrail]) {
		free(c->trail_name[c->ntrail]);
		free(c->trail_value[c->ntrail]);
		return -S3E_INTERNAL;
	}
	c->ntrail++;
	return 0;
}

/* A complete line (CRLF stripped) in c->line. */
static int on_line(struct s3_chunked *c)
{
	int rc;

	switch (c->state) {
	case ST_SIZE:
		if ((rc = parse_size_line(c)))
			return rc;
		if (c->remain) {
			c->state = ST_DATA;
			return 0;
		}
		if ((rc = verify_chunk(c)))
			return rc;
		c->state = ST_TRAILER; /* without a trailer, just the empty line */
		return 0;
	case ST_DATA_CRLF:
		if (c->linelen)
			return -S3E_INVALID_REQUEST;
		if ((rc = verify_chunk(c)))
			return rc;
		c->state = ST_SIZE;
		return 0;
	case ST_TRAILER:
		if (!trailer_mode(c)) {
			if (c->linelen)
				return -S3E_INVALID_REQUEST;
			c->state = ST_DONE;
			c->done = 1;
			return 0;
		}
		return trailer_line(c);
	default:
		return -S3E_INVALID_REQUEST;
	}
}

int s3_chunked_feed(struct s3_chunked *c, const char *in, size_t n, s3_data_fn fn, void *arg)
{
	int rc;

	while (n) {
		if (c->state == ST_DONE)
			return -S3E_INVALID_REQUEST; /* bytes after the end */
		if (c->state == ST_DATA) {
			size_t k = c->remain < n ? (size_t)c->remain : n;

			if (signed_mode(c))
				EVP_DigestUpdate(c->sha, in, k);
			if ((rc = fn(arg, in, k)))
				return rc;
			c->decoded += k;
			c->remain -= k;
			in += k;
			n -= k;
			if (!c->remain) {
				c->state = ST_DATA_CRLF;
				c->linelen = 0;
			}
			continue;
		}
		/* a line: up to LF, which must follow CR */
		if (*in == '\n') {
			if (c->linelen == 0 || c->line[c->linelen - 1] != '\r')
				return -S3E_INVALID_REQUEST;
			c->line[--c->linelen] = '\0';
			rc = on_line(c);
			c->linelen = 0;
			if (rc)
				return rc;
		} else {
			if (c->linelen + 2 >= sizeof(c->line) || *in == '\0')
				return -S3E_INVALID_REQUEST;
			c->line[c->linelen++] = *in;
		}
		in++;
		n--;
	}
	return 0;
}

int s3_chunked_finish(struct s3_chunked *c)
{
	return c->done ? 0 : -S3E_INCOMPLETE_BODY;
}

const char *s3_chunked_trailer(const struct s3_chunked *c, const char *lname)
{
	for (int i = 0; i < c->ntrail; i++)
		if (strcmp(c->trail_name[i], lname) == 0)
			return c->trail_value[i];
	return NULL;
}

void s3_chunked_fini(struct s3_chunked *c)
{
	if (c->sha)
		EVP_MD_CTX_free(c->sha);
	c->sha = NULL;
	for (int i = 0; i < c->ntrail; i++) {
		free(c->trail_name[i]);
		free(c->trail_value[i]);
	}
	c->ntrail = 0;
}

/* S3 gateway: who is asking. Access keys (their tenant and secret from the metadata service,
 * cached a few seconds), the signature checks (SigV4 header and presigned query, SigV2 header
 * and query, clock skew, which body framing the signature announces), and each tenant's
 * volume with its /.s3 directories. */
#include "gateways/s3/s3_server.h"

#include "common/errors.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- tenants: access keys (cached a few seconds) and their volumes ---- */

static int key_lookup(struct s3_gw *gw, const char *access, char secret[64], char tenant[64])
{
	struct s3_key_ent *e, *oldest;
	double now = now_s();
	int rc;

	if (strlen(access) >= 64)
		return -S3E_INVALID_ACCESS_KEY;
	pthread_mutex_lock(&gw->lock);
	oldest = &gw->keys[0];
	for (int i = 0; i < S3_KEYS_CACHED; i++) {
		e = &gw->keys[i];
		if (e->access[0] && strcmp(e->access, access) == 0 && now - e->at < S3_KEY_TTL_S) {
			memcpy(secret, e->secret, 64);
			memcpy(tenant, e->tenant, 64);
			pthread_mutex_unlock(&gw->lock);
			return 0;
		}
		if (e->at < oldest->at)
			oldest = e;
	}
	pthread_mutex_unlock(&gw->lock);
	rc = glory_key_get(gw->cfg.g, access, tenant, secret);
	if (rc == -GL_ENOENT)
		return -S3E_INVALID_ACCESS_KEY;
	if (rc) {
		gl_warn("access key lookup: %s", glory_strerror(rc));
		return -S3E_SERVICE_UNAVAILABLE;
	}
	pthread_mutex_lock(&gw->lock);
	snprintf(oldest->access, sizeof(oldest->access), "%s", access);
	memcpy(oldest->secret, secret, 64);
	memcpy(oldest->tenant, tenant, 64);
	oldest->at = now;
	pthread_mutex_unlock(&gw->lock);
	return 0;
}

static int mkdir_sys(struct glory_vol *v, uint64_t parent, const char *name, uint64_t *ino)
{
	struct glory_attr a;
	int rc = glory_mkdir(v, parent, name, 040700, 0, 0, &a);

	if (rc == -GL_EEXIST)
		rc = glory_lookup(v, parent, name, &a);
	if (!rc)
		*ino = a.ino;
	return rc;
}

struct sweep {
	struct glory_vol *v;
	uint64_t dir, cookie;
	int64_t before_ns;
	int removed;
};

static int sweep_cb(void *arg, const struct glory_dirent *e)
{
	struct sweep *s = arg;

	s->cookie = e->cookie;
	if (e->attr && e->attr->mtime_ns < s->before_ns && glory_unlink(s->v, s->dir, e->name) == 0)
		s->removed++;
	return 0;
}

/* Removes what gateways that died mid-write left in /.s3/tmp (older than tmp_max_age). */
static void tmp_sweep(struct s3_gw *gw, struct s3_vol *sv)
{
	struct sweep s = {sv->v, sv->tmp, 0, 0, 0};
	long age = gw->cfg.tmp_max_age > 0 ? gw->cfg.tmp_max_age : 86400;
	struct timespec ts;
	int eof = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	s.before_ns = ((int64_t)ts.tv_sec - age) * 1000000000;
	while (!eof && glory_readdir(sv->v, sv->tmp, s.cookie, 1000, 1, sweep_cb, &s, &eof) == 0)
		;
	if (s.removed)
		gl_info("tenant %s: removed %d abandoned temporary files", sv->tenant, s.removed);
}

/* The tenant's volume, opened once. */
int s3_vol_get(struct s3_gw *gw, const char *tenant, struct s3_vol **out)
{
	struct s3_vol *sv;
	uint64_t sys;
	int rc;

	pthread_mutex_lock(&gw->lock);
	for (int i = 0; i < gw->nvols; i++) {
		if (strcmp(gw->vols[i]->tenant, tenant) == 0) {
			*out = gw->vols[i];
			pthread_mutex_unlock(&gw->lock);
			return 0;
		}
	}
	if (gw->nvols >= S3_VOLS_MAX) {
		pthread_mutex_unlock(&gw->lock);
		return -S3E_SERVICE_UNAVAILABLE;
	}
	sv = calloc(1, sizeof(*sv));
	if (!sv) {
		pthread_mutex_unlock(&gw->lock);
		return -S3E_INTERNAL;
	}
	snprintf(sv->tenant, sizeof(sv->tenant), "%s", tenant);
	rc = glory_vol_open(gw->cfg.g, tenant, gw->cfg.volume, &sv->v);
	if (!rc && !(rc = mkdir_sys(sv->v, GLORY_ROOT, S3_SYS_DIR, &sys)) &&
	    !(rc = mkdir_sys(sv->v, sys, "tmp", &sv->tmp)))
		rc = mkdir_sys(sv->v, sys, "uploads", &sv->uploads);
	if (rc) {
		if (sv->v)
			glory_vol_close(sv->v);
		free(sv);
		pthread_mutex_unlock(&gw->lock);
		if (rc == -GL_ENOENT) {
			gl_warn("tenant %s has no volume %s", tenant, gw->cfg.volume);
			return -S3E_ACCESS_DENIED;
		}
		gl_warn("tenant %s volume %s: %s", tenant, gw->cfg.volume, glory_strerror(rc));
		return s3_from_glory(rc);
	}
	gw->vols[gw->nvols++] = sv;
	*out = sv;
	pthread_mutex_unlock(&gw->lock);
	tmp_sweep(gw, sv);
	return 0;
}

/* ---- authentication ---- */

static int auth_v4(struct s3_req *r, const struct s3_sigv4 *s)
{
	char secret[64], sig[65], scope[256];
	const char *ph, *mode;
	struct s3_buf canon = {0};
	uint8_t key[32];
	time_t t, now = time(NULL);
	int rc;

	if (!s->presigned) {
		const char *d = s3_hdr(&r->h, "x-amz-date");

		if (!d)
			d = s3_hdr(&r->h, "date");
		if (!d || strlen(d) >= sizeof(s->amz_date) || s3_parse_amz_date(d, &t))
			return -S3E_ACCESS_DENIED;
		if (t > now + S3_SKEW_S || t < now - S3_SKEW_S)
			return -S3E_SKEWED;
		ph = s3_hdr(&r->h, "x-amz-content-sha256");
		if (!ph)
			return -S3E_INVALID_REQUEST;
	} else {
		if (s3_parse_amz_date(s->amz_date, &t))
			return -S3E_ACCESS_DENIED;
		if (t > now + S3_SKEW_S)
			return -S3E_SKEWED;
		if (now > t + s->expires)
			return -S3E_EXPIRED;
		ph = s3_hdr(&r->h, "x-amz-content-sha256");
		if (!ph)
			ph = "UNSIGNED-PAYLOAD";
	}
	{
		const char *ad = s->presigned ? s->amz_date : s3_hdr(&r->h, "x-amz-date");

		if (ad && strncmp(ad, s->date, 8) != 0)
			return -S3E_SIGNATURE;
	}
	if ((rc = key_lookup(r->gw, s->access, secret, r->tenant)))
		return rc;
	s3_sigv4_key(secret, s->date, s->region, s->service, key);
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", s->date, s->region, s->service);
	rc = s3_sigv4_canonical(&canon, r->method, r->path, &r->q, &r->h, s->signed_headers, ph);
	if (!rc) {
		const char *ad = s->presigned ? s->amz_date : s3_hdr(&r->h, "x-amz-date");
		char adate[24];

		if (!ad) { /* only Date: the string to sign still wants the ISO form */
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(adate, sizeof(adate), "%Y%m%dT%H%M%SZ", &tm);
			ad = adate;
		}
		s3_sigv4_sign(key, ad, scope, canon.p, canon.len, sig);
		if (!s3_sig_equal(sig, s->signature)) {
			gl_debug("signature mismatch; canonical request:\n%s", canon.p);
			rc = -S3E_SIGNATURE;
		} else if (strncmp(ph, "STREAMING-", 10) == 0) {
			mode = ph + 10;
			r->chunked = strcmp(mode, "AWS4-HMAC-SHA256-PAYLOAD") == 0 ? S3_CH_SIGNED
				     : strcmp(mode, "AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0
					 ? S3_CH_SIGNED_TRAILER
				     : strcmp(mode, "UNSIGNED-PAYLOAD-TRAILER") == 0
					 ? S3_CH_UNSIGNED_TRAILER
					 : 0;
			if (!r->chunked)
				rc = -S3E_INVALID_ARGUMENT;
			else
				rc = s3_chunked_init(&r->ch, r->chunked, key, ad, scope, sig);
		} else if (strcmp(ph, "UNSIGNED-PAYLOAD") != 0) {
			if (strlen(ph) != 64 || strspn(ph, "0123456789abcdef") != 64)
				rc = -S3E_INVALID_ARGUMENT;
			else {
				r->verify_sha = 1;
				strcpy(r->want_sha, ph);
			}
		}
	}
	s3_buf_free(&canon);
	return rc;
}

static int auth_v2(struct s3_req *r, const char *access, const char *sig, const char *date,
		   int query)
{
	char secret[64], mine[32];
	struct s3_buf sts = {0}, res = {0};
	const char *ad = s3_hdr(&r->h, "x-amz-date");
	time_t t, now = time(NULL);
	int rc;

	if (query) {
		char *end;
		long long e = strtoll(date, &end, 10);

		if (*end || end == date)
			return -S3E_ACCESS_DENIED;
		if (now > e)
			return -S3E_EXPIRED;
	} else {
		const char *d = ad ? ad : date;

		if (!d || s3_parse_http_date(d, &t))
			return -S3E_ACCESS_DENIED;
		if (t > now + S3_SKEW_S || t < now - S3_SKEW_S)
			return -S3E_SKEWED;
	}
	if ((rc = key_lookup(r->gw, access, secret, r->tenant)))
		return rc;
	/* the resource: path style as sent; virtual host: /bucket before it */
	if (r->vhost)
		s3_buf_printf(&res, "/%s", r->bucket);
	s3_buf_puts(&res, r->rawpath);
	rc = s3_sigv2_string(&sts, r->method, s3_buf_cstr(&res), &r->q, &r->h,
			     query ? date : (ad ? "" : date));
	if (!rc) {
		s3_sigv2_sign(secret, sts.p, sts.len, mine);
		if (!s3_sig_equal(mine, sig))
			rc = -S3E_SIGNATURE;
	}
	s3_buf_free(&sts);
	s3_buf_free(&res);
	return rc;
}

int s3_authenticate(struct s3_req *r)
{
	const char *az = s3_hdr(&r->h, "authorization");
	struct s3_sigv4 s;
	int rc;

	if (az && strncmp(az, "AWS4-HMAC-SHA256 ", 17) == 0) {
		if ((rc = s3_sigv4_parse_header(az, &s)))
			return rc;
		return auth_v4(r, &s);
	}
	if (az && strncmp(az, "AWS ", 4) == 0) {
		char access[128];
		const char *colon = strrchr(az + 4, ':');

		if (!colon || colon == az + 4 || (size_t)(colon - az - 4) >= sizeof(access))
			return -S3E_AUTH_HEADER;
		memcpy(access, az + 4, (size_t)(colon - az - 4));
		access[colon - az - 4] = '\0';
		return auth_v2(r, access, colon + 1, s3_hdr(&r->h, "date"), 0);
	}
	if (az)
		return -S3E_AUTH_HEADER;
	if (s3_qget(&r->q, "X-Amz-Algorithm")) {
		if ((rc = s3_sigv4_parse_query(&r->q, &s)))
			return rc;
		return auth_v4(r, &s);
	}
	if (s3_qget(&r->q, "AWSAccessKeyId") && s3_qget(&r->q, "Signature") &&
	    s3_qget(&r->q, "Expires"))
		return auth_v2(r, s3_qget(&r->q, "AWSAccessKeyId"), s3_qget(&r->q, "Signature"),
			       s3_qget(&r->q, "Expires"), 1);
	return -S3E_ACCESS_DENIED; /* anonymous: no public buckets */
}

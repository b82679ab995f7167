/* S3 gateway: errors, buffers, encodings, dates, names, ranges, headers, query strings and
 * checksums. Pure functions over untrusted bytes. */
#include "gateways/s3/s3_internal.h"

#include "common/errors.h"
#include "gateways/libglory/glory.h"

#include <ctype.h>
#include <errno.h>
#include <isa-l.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	int status;
	const char *code, *msg;
} errs[] = {{500, "InternalError", "ok"},
#define S3_ERR_ROW(name, status, code, msg) {status, code, msg},
	    S3_ERRORS(S3_ERR_ROW)
#undef S3_ERR_ROW
};

static int err_index(int e)
{
	if (e < 0)
		e = -e;
	return e > 0 && e < S3E_COUNT ? e : S3E_INTERNAL;
}

int s3_err_status(int e)
{
	return errs[err_index(e)].status;
}

const char *s3_err_code(int e)
{
	return errs[err_index(e)].code;
}

const char *s3_err_msg(int e)
{
	return errs[err_index(e)].msg;
}

int s3_from_glory(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case -GL_ENOENT:
		return -S3E_NO_SUCH_KEY;
	case -GL_EDQUOT:
	case -GL_ENOSPC:
		return -S3E_QUOTA;
	case -GL_ENAMETOOLONG:
		return -S3E_KEY_TOO_LONG;
	case -GL_ENOTDIR:
	case -GL_EISDIR:
	case -GL_EEXIST:
	case -GL_ENOTEMPTY:
		return -S3E_KEY_CONFLICT;
	case -GL_EACCES:
	case -GL_EPERM:
	case -GL_EAUTH:
		return -S3E_ACCESS_DENIED;
	case -GL_EUNAVAIL:
	case -GL_EAGAIN:
	case -GL_ENOTLEADER:
	case -GL_EMOVED:
		return -S3E_SERVICE_UNAVAILABLE;
	case -GL_EFBIG:
		return -S3E_ENTITY_TOO_LARGE;
	default:
		return -S3E_INTERNAL;
	}
}

/* ---- buffers ---- */

static int buf_grow(struct s3_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->err)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void s3_buf_put(struct s3_buf *b, const void *p, size_t n)
{
	if (!n || buf_grow(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void s3_buf_puts(struct s3_buf *b, const char *s)
{
	s3_buf_put(b, s, strlen(s));
}

void s3_buf_printf(struct s3_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *s3_buf_cstr(struct s3_buf *b)
{
	if (buf_grow(b, 0))
		return NULL;
	b->p[b->len] = '\0';
	return b->p;
}

void s3_buf_free(struct s3_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- encodings ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int s3_uri_decode(const char *in, size_t n, char *out, size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == 0)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return 0;
}

void s3_uri_encode(struct s3_buf *b, const char *s, size_t n, int keep_slash)
{
	static const char hx[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
		    (keep_slash && c == '/')) {
			s3_buf_put(b, &s[i], 1);
		} else {
			char e[3] = {'%', hx[c >> 4], hx[c & 15]};

			s3_buf_put(b, e, 3);
		}
	}
}

void s3_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void s3_base64(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

int s3_unbase64(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = strlen(in), o = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			const char *p;

			if (in[i + j] == '=' && i + 4 == n && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (pad || !in[i + j] || !(p = strchr(b64, in[i + j])))
				return -1;
			v = v << 6 | (uint32_t)(p - b64);
		}
		for (int j = 0; j < 3 - pad; j++) {
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(v >> (16 - 8 * j));
		}
	}
	*outlen = o;
	return 0;
}

/* ---- times ---- */

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void s3_http_date(time_t t, char out[40])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (tm.tm_year > 8000 || tm.tm_year < 0)
		tm.tm_year = 70;
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday % 7],
		 tm.tm_mday % 100, months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000,
		 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
}

void s3_iso_date(int64_t ns, char out[40])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%03dZ", (int)(ns / 1000000 % 1000 + 1000) % 1000);
}

static int month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i;
	return -1;
}

static int tm_ok(const struct tm *tm)
{
	return tm->tm_mon >= 0 && tm->tm_mon < 12 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
	       tm->tm_hour >= 0 && tm->tm_hour < 24 && tm->tm_min >= 0 && tm->tm_min < 60 &&
	       tm->tm_sec >= 0 && tm->tm_sec <= 60 && tm->tm_year >= 70 && tm->tm_year < 8000;
}

int s3_parse_http_date(const char *s, time_t *out)
{
	struct tm tm;
	char mon[4] = "", wd[16] = "";
	int n = 0, d, y, h, mi, se;

	memset(&tm, 0, sizeof(tm));
	if (s3_parse_amz_date(s, out) == 0)
		return 0;
	/* RFC 1123: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(s, "%15[A-Za-z], %d %3s %d %d:%d:%d GMT%n", wd, &d, mon, &y, &h, &mi, &se, &n) ==
		7 &&
	    n > 0) {
	} else if (sscanf(s, "%15[A-Za-z], %d-%3s-%d %d:%d:%d GMT%n", wd, &d, mon, &y, &h, &mi, &se,
			  &n) == 7 &&
		   n > 0) {
		y += y < 70 ? 2000 : y < 100 ? 1900 : 0; /* RFC 850 */
	} else if (sscanf(s, "%15s %3s %d %d:%d:%d %d%n", wd, mon, &d, &h, &mi, &se, &y, &n) == 7 &&
		   n > 0) {
		/* asctime */
	} else {
		return -1;
	}
	if (s[n] != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = month_of(mon);
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if (!tm_ok(&tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

int s3_parse_amz_date(const char *s, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)s[i]))
			return -1;
	tm.tm_year =
	    (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + s[3] - '0' - 1900;
	tm.tm_mon = (s[4] - '0') * 10 + s[5] - '0' - 1;
	tm.tm_mday = (s[6] - '0') * 10 + s[7] - '0';
	tm.tm_hour = (s[9] - '0') * 10 + s[10] - '0';
	tm.tm_min = (s[11] - '0') * 10 + s[12] - '0';
	tm.tm_sec = (s[13] - '0') * 10 + s[14] - '0';
	if (!tm_ok(&tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* ---- names ---- */

int s3_bucket_name_ok(const char *name)
{
	size_t n = strlen(name);
	int digits_dots = 1;

	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' ||
		      c == '-'))
			return 0;
		if (isalpha((unsigned char)c))
			digits_dots = 0;
		if (c == '.' && (i == 0 || name[i - 1] == '.' || name[i - 1] == '-'))
			return 0;
		if (c == '-' && i > 0 && name[i - 1] == '.')
			return 0;
	}
	if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
		return 0;
	return !digits_dots || strchr(name, '.') == NULL || strspn(name, "0123456789.") != n;
}

int s3_key_check(const char *key)
{
	size_t n = strlen(key);
	const char *p = key, *end = key + n;

	if (n == 0)
		return -S3E_INVALID_ARGUMENT;
	if (n > 1024)
		return -S3E_KEY_TOO_LONG;
	if (key[n - 1] == '/')
		end--; /* a "folder" key: the components before it must be fine */
	while (p < end) {
		const char *s = memchr(p, '/', (size_t)(end - p));
		size_t len = s ? (size_t)(s - p) : (size_t)(end - p);

		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return -S3E_INVALID_ARGUMENT;
		if (len > 255)
			return -S3E_KEY_TOO_LONG;
		p += len + 1;
	}
	return end == key ? -S3E_INVALID_ARGUMENT : 0;
}

/* ---- ranges ---- */

static int parse_u64(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*p++ - '0');
	}
	*s = p;
	*v = x;
	return 0;
}

int s3_parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
	const char *p = h;
	uint64_t a, b;

	if (!h)
		return 0;
	while (*p == ' ')
		p++;
	if (strncmp(p, "bytes=", 6) != 0)
		return 0;
	p += 6;
	if (strchr(p, ','))
		return 0; /* several ranges: S3 serves the whole object */
	if (*p == '-') {  /* the last b bytes */
		p++;
		if (parse_u64(&p, &b) || *p)
			return 0;
		if (b == 0 || size == 0)
			return -S3E_INVALID_RANGE;
		*len = b < size ? b : size;
		*start = size - *len;
		return 1;
	}
	if (parse_u64(&p, &a) || *p++ != '-')
		return 0;
	if (*p == '\0') {
		b = UINT64_MAX;
	} else if (parse_u64(&p, &b) || *p || b < a) {
		return 0;
	}
	if (a >= size)
		return -S3E_INVALID_RANGE;
	if (b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return 1;
}

/* ---- headers and query ---- */

int s3_hdrs_add(struct s3_hdrs *h, const char *name, const char *value)
{
	char *ln;

	for (int i = 0; i < h->n; i++) {
		if (strcasecmp(h->name[i], name) == 0) {
			size_t a = strlen(h->value[i]), b = strlen(value);
			char *v = realloc(h->value[i], a + b + 2);

			if (!v)
				return -S3E_INTERNAL;
			v[a] = ',';
			memcpy(v + a + 1, value, b + 1);
			h->value[i] = v;
			return 0;
		}
	}
	if (h->n >= S3_MAX_HDRS)
		return -S3E_INVALID_REQUEST;
	ln = strdup(name);
	if (!ln)
		return -S3E_INTERNAL;
	for (char *p = ln; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	h->value[h->n] = strdup(value);
	if (!h->value[h->n]) {
		free(ln);
		return -S3E_INTERNAL;
	}
	h->name[h->n++] = ln;
	return 0;
}

const char *s3_hdr(const struct s3_hdrs *h, const char *lname)
{
	for (int i = 0; i < h->n; i++)
		if (strcmp(h->name[i], lname) == 0)
			return h->value[i];
	return NULL;
}

void s3_hdrs_free(struct s3_hdrs *h)
{
	for (int i = 0; i < h->n; i++) {
		free(h->name[i]);
		free(h->value[i]);
	}
	h->n = 0;
}

int s3_query_parse(const char *raw, size_t n, struct s3_query *q)
{
	const char *p = raw, *end = raw + n;

	q->n = 0;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		const char *ne = eq ? eq : e;
		char *name, *value;

		if (e == p) {
			p = e + 1;
			continue;
		}
		if (q->n >= S3_MAX_QUERY)
			goto bad;
		name = malloc((size_t)(ne - p) + 1);
		value = malloc(eq ? (size_t)(e - eq) : 1);
		if (!name || !value || s3_uri_decode(p, (size_t)(ne - p), name, NULL) ||
		    (eq ? s3_uri_decode(eq + 1, (size_t)(e - eq - 1), value, NULL)
			: (value[0] = '\0', 0))) {
			free(name);
			free(value);
			goto bad;
		}
		q->name[q->n] = name;
		q->value[q->n++] = value;
		p = e + 1;
	}
	return 0;
bad:
	s3_query_free(q);
	return -S3E_INVALID_ARGUMENT;
}

const char *s3_qget(const struct s3_query *q, const char *name)
{
	for (int i = 0; i < q->n; i++)
		if (strcmp(q->name[i], name) == 0)
			return q->value[i];
	return NULL;
}

void s3_query_free(struct s3_query *q)
{
	for (int i = 0; i < q->n; i++) {
		free(q->name[i]);
		free(q->value[i]);
	}
	q->n = 0;
}

/* ---- checksums ---- */

static const char *const ck_names[] = {"", "crc32", "crc32c", "sha1", "sha256"};

int s3_cksum_alg(const char *name)
{
	for (int i = 1; i < (int)GL_ARRAY_SIZE(ck_names); i++)
		if (strcasecmp(name, ck_names[i]) == 0)
			return i;
	return S3_CK_NONE;
}

const char *s3_cksum_name(int alg)
{
	return alg > 0 && alg < (int)GL_ARRAY_SIZE(ck_names) ? ck_names[alg] : "";
}

int s3_cksum_init(struct s3_cksum *c, int alg)
{
	memset(c, 0, sizeof(*c));
	c->alg = alg;
	if (alg == S3_CK_SHA1 || alg == S3_CK_SHA256) {
		c->md = EVP_MD_CTX_new();
		if (!c->md ||
		    !EVP_DigestInit_ex(c->md, alg == S3_CK_SHA1 ? EVP_sha1() : EVP_sha256(), NULL))
			return -S3E_INTERNAL;
	}
	return 0;
}

void s3_cksum_update(struct s3_cksum *c, const void *p, size_t n)
{
	switch (c->alg) {
	case S3_CK_CRC32:
		c->crc = crc32_gzip_refl(c->crc, p, n);
		break;
	case S3_CK_CRC32C:
		c->crc = ~crc32_iscsi((unsigned char *)(uintptr_t)p, (int)n, ~c->crc);
		break;
	case S3_CK_SHA1:
	case S3_CK_SHA256:
		EVP_DigestUpdate(c->md, p, n);
		break;
	default:
		break;
	}
}

void s3_cksum_final(struct s3_cksum *c, char out[64])
{
	uint8_t d[32];
	unsigned int n = 0;

	if (c->alg == S3_CK_CRC32 || c->alg == S3_CK_CRC32C) {
		d[0] = (uint8_t)(c->crc >> 24);
		d[1] = (uint8_t)(c->crc >> 16);
		d[2] = (uint8_t)(c->crc >> 8);
		d[3] = (uint8_t)c->crc;
		n = 4;
	} else if (c->md) {
		EVP_DigestFinal_ex(c->md, d, &n);
	}
	s3_base64(d, n, out);
}

void s3_cksum_fini(struct s3_cksum *c)
{
	if (c->md)
		EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

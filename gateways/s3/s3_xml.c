/* S3 gateway: XML out (escaping) and in (a small parser for the request bodies S3 takes:
 * DeleteObjects, CompleteMultipartUpload, CreateBucketConfiguration). */
#include "gateways/s3/s3_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void s3_xml_text(struct s3_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '&':
			s3_buf_puts(b, "&amp;");
			break;
		case '<':
			s3_buf_puts(b, "&lt;");
			break;
		case '>':
			s3_buf_puts(b, "&gt;");
			break;
		case '"':
			s3_buf_puts(b, "&quot;");
			break;
		case '\'':
			s3_buf_puts(b, "&apos;");
			break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n')
				s3_buf_printf(b, "&#x%X;", c); /* as S3 does (XML 1.1 style) */
			else
				s3_buf_put(b, &s[i], 1);
		}
	}
}

void s3_xml_elem(struct s3_buf *b, const char *name, const char *text)
{
	s3_buf_printf(b, "<%s>", name);
	s3_xml_text(b, text, strlen(text));
	s3_buf_printf(b, "</%s>", name);
}

/* ---- parser ---- */

#define XML_DEPTH 16
#define XML_PATH  512

struct xp {
	const char *p, *end;
	char path[XML_PATH];
	size_t plen[XML_DEPTH + 1];
	int depth, children[XML_DEPTH + 1];
	struct s3_buf text;
};

static void put_utf8(struct s3_buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	s3_buf_put(b, u, n);
}

/* At '&': decodes one entity into x->text. */
static int entity(struct xp *x)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	const char *p = x->p + 1;

	for (size_t i = 0; i < GL_ARRAY_SIZE(named); i++) {
		size_t l = strlen(named[i].name);

		if ((size_t)(x->end - p) >= l && memcmp(p, named[i].name, l) == 0) {
			s3_buf_put(&x->text, &named[i].c, 1);
			x->p = p + l;
			return 0;
		}
	}
	if (p < x->end && *p == '#') {
		unsigned long cp = 0;
		int hex = 0, digits = 0;

		p++;
		if (p < x->end && *p == 'x') {
			hex = 1;
			p++;
		}
		while (p < x->end &&
		       (hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p))) {
			int d = isdigit((unsigned char)*p) ? *p - '0'
							   : tolower((unsigned char)*p) - 'a' + 10;

			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			if (++digits > 7)
				return -S3E_MALFORMED_XML;
			p++;
		}
		if (!digits || p >= x->end || *p != ';' || cp == 0 || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return -S3E_MALFORMED_XML;
		put_utf8(&x->text, cp);
		x->p = p + 1;
		return 0;
	}
	return -S3E_MALFORMED_XML;
}

static int name_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80;
}

/* Skips a "<?...?>", "<!--...-->" or "<!...>" at x->p; 1 if it was one. */
static int skip_special(struct xp *x, int *rc)
{
	const char *e;

	*rc = 0;
	if (x->end - x->p >= 4 && memcmp(x->p, "<!--", 4) == 0) {
		e = x->p + 4;
		while (e + 3 <= x->end && memcmp(e, "-->", 3) != 0)
			e++;
		if (e + 3 > x->end)
			*rc = -S3E_MALFORMED_XML;
		x->p = e + 3;
		return 1;
	}
	if (x->end - x->p >= 2 && x->p[1] == '?') {
		e = x->p + 2;
		while (e + 2 <= x->end && memcmp(e, "?>", 2) != 0)
			e++;
		if (e + 2 > x->end)
			*rc = -S3E_MALFORMED_XML;
		x->p = e + 2;
		return 1;
	}
	return 0;
}

static int open_tag(struct xp *x, s3_xml_fn fn, void *arg)
{
	const char *n = ++x->p, *ne;
	size_t len;
	int rc = 0;

	while (x->p < x->end && name_char((unsigned char)*x->p))
		x->p++;
	ne = x->p;
	len = (size_t)(ne - n);
	if (!len || x->depth >= XML_DEPTH)
		return -S3E_MALFORMED_XML;
	/* attributes: name="value" or name='value' */
	for (;;) {
		while (x->p < x->end && isspace((unsigned char)*x->p))
			x->p++;
		if (x->p >= x->end)
			return -S3E_MALFORMED_XML;
		if (*x->p == '>' || *x->p == '/')
			break;
		while (x->p < x->end && name_char((unsigned char)*x->p))
			x->p++;
		if (x->p + 1 >= x->end || *x->p != '=' || (x->p[1] != '"' && x->p[1] != '\''))
			return -S3E_MALFORMED_XML;
		{
			char q = x->p[1];
			const char *e = memchr(x->p + 2, q, (size_t)(x->end - x->p - 2));

			if (!e || memchr(x->p + 2, '<', (size_t)(e - x->p - 2)))
				return -S3E_MALFORMED_XML;
			x->p = e + 1;
		}
	}
	if (x->plen[x->depth] + len + 2 > XML_PATH)
		return -S3E_MALFORMED_XML;
	x->children[x->depth] = 1;
	x->path[x->plen[x->depth]] = '/';
	memcpy(x->path + x->plen[x->depth] + 1, n, len);
	x->depth++;
	x->plen[x->depth] = x->plen[x->depth - 1] + 1 + len;
	x->path[x->plen[x->depth]] = '\0';
	x->children[x->depth] = 0;
	x->text.len = 0;
	if (*x->p == '/') { /* <empty/> */
		if (x->p + 1 >= x->end || x->p[1] != '>')
			return -S3E_MALFORMED_XML;
		x->p += 2;
		rc = fn(arg, x->path, "", 0);
		x->depth--;
		x->path[x->plen[x->depth]] = '\0';
		return rc;
	}
	x->p++;
	return 0;
}

static int close_tag(struct xp *x, s3_xml_fn fn, void *arg)
{
	const char *n = x->p + 2, *e = n;
	size_t top, len;
	int rc;

	if (x->depth == 0)
		return -S3E_MALFORMED_XML;
	top = x->plen[x->depth - 1] + 1;
	while (e < x->end && name_char((unsigned char)*e))
		e++;
	len = (size_t)(e - n);
	if (len != x->plen[x->depth] - top || memcmp(n, x->path + top, len) != 0)
		return -S3E_MALFORMED_XML;
	while (e < x->end && isspace((unsigned char)*e))
		e++;
	if (e >= x->end || *e != '>')
		return -S3E_MALFORMED_XML;
	x->p = e + 1;
	if (x->children[x->depth])
		rc = fn(arg, x->path, NULL, 0);
	else
		rc = fn(arg, x->path, x->text.p ? x->text.p : "", x->text.len);
	x->depth--;
	x->path[x->plen[x->depth]] = '\0';
	x->text.len = 0;
	return rc;
}

int s3_xml_parse(const char *in, size_t n, s3_xml_fn fn, void *arg)
{
	struct xp x;
	int rc = 0, seen_root = 0;

	memset(&x, 0, sizeof(x));
	x.p = in;
	x.end = in + n;
	if (n >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0)
		x.p += 3;
	while (!rc && x.p < x.end) {
		char c = *x.p;

		if (c == '<') {
			if (skip_special(&x, &rc))
				continue;
			if (x.end - x.p >= 9 && memcmp(x.p, "<![CDATA[", 9) == 0 && x.depth) {
				const char *e = x.p + 9;

				while (e + 3 <= x.end && memcmp(e, "]]>", 3) != 0)
					e++;
				if (e + 3 > x.end) {
					rc = -S3E_MALFORMED_XML;
					break;
				}
				s3_buf_put(&x.text, x.p + 9, (size_t)(e - x.p - 9));
				x.p = e + 3;
				continue;
			}
			if (x.p + 1 < x.end && x.p[1] == '/') {
				rc = close_tag(&x, fn, arg);
			} else {
				if (x.depth == 0 && seen_root)
					rc = -S3E_MALFORMED_XML;
				else
					rc = open_tag(&x, fn, arg);
				seen_root = 1;
			}
		} else if (x.depth == 0) {
			if (!isspace((unsigned char)c))
				rc = -S3E_MALFORMED_XML;
			x.p++;
		} else if (c == '&') {
			rc = entity(&x);
		} else {
			if (c == '\0')
				rc = -S3E_MALFORMED_XML;
			s3_buf_put(&x.text, &c, 1);
			x.p++;
		}
		if (!rc && x.text.err)
			rc = -S3E_INTERNAL;
	}
	if (!rc && (x.depth || !seen_root))
		rc = -S3E_MALFORMED_XML;
	s3_buf_free(&x.text);
	return rc;
}

/* ---- DeleteObjects: <Delete><Quiet>true</Quiet><Object><Key>k</Key></Object>... ---- */

struct del_ctx {
	struct s3_delete_req *d;
	char *key; /* of the current <Object> */
};

static int strip_ns(const char *path, const char *want)
{
	return strcmp(path, want) == 0;
}

static int del_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct del_ctx *c = arg;

	if (strncmp(path, "/Delete", 7) != 0)
		return -S3E_MALFORMED_XML;
	if (strip_ns(path, "/Delete/Quiet") && text) {
		c->d->quiet = len == 4 && strncmp(text, "true", 4) == 0;
	} else if (strip_ns(path, "/Delete/Object/Key") && text) {
		if (c->key || len == 0 || strlen(text) != len)
			return -S3E_MALFORMED_XML;
		if (!(c->key = strdup(text)))
			return -S3E_INTERNAL;
	} else if (strip_ns(path, "/Delete/Object") && !text) {
		if (!c->key || c->d->n >= S3_DELETE_MAX)
			return -S3E_MALFORMED_XML;
		c->d->key[c->d->n++] = c->key;
		c->key = NULL;
	} else if (strip_ns(path, "/Delete/Object") && text) {
		return -S3E_MALFORMED_XML; /* <Object/> without a key */
	}
	return 0;
}

int s3_parse_delete(const char *in, size_t n, struct s3_delete_req *out)
{
	struct del_ctx c = {out, NULL};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = s3_xml_parse(in, n, del_cb, &c);
	free(c.key);
	if (!rc && out->n == 0)
		rc = -S3E_MALFORMED_XML;
	if (rc)
		s3_delete_req_free(out);
	return rc;
}

void s3_delete_req_free(struct s3_delete_req *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->key[i]);
	d->n = 0;
}

/* ---- CompleteMultipartUpload: <CompleteMultipartUpload><Part><PartNumber>1</PartNumber>
 * <ETag>"..."</ETag></Part>... ---- */

struct cmp_ctx {
	struct s3_complete_req *c;
	int cap;
	long num;
	char etag[72];
	int has_etag, ck_alg;
	char ck[64];
};

/* <ChecksumCRC32> etc. of a part: S3_CK_NONE if path is not one. */
static int cmp_checksum(const char *path)
{
	static const char pre[] = "/CompleteMultipartUpload/Part/Checksum";

	if (strncmp(path, pre, sizeof(pre) - 1) != 0)
		return S3_CK_NONE;
	return s3_cksum_alg(path + sizeof(pre) - 1);
}

static int cmp_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct cmp_ctx *x = arg;

	if (strncmp(path, "/CompleteMultipartUpload", 24) != 0)
		return -S3E_MALFORMED_XML;
	if (strcmp(path, "/CompleteMultipartUpload/Part/PartNumber") == 0 && text) {
		char *end;

		x->num = strtol(text, &end, 10);
		if (*end || end == text || x->num < 1 || x->num > S3_PARTS_MAX)
			return -S3E_MALFORMED_XML;
	} else if (strcmp(path, "/CompleteMultipartUpload/Part/ETag") == 0 && text) {
		const char *s = text;
		size_t l = len;

		if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
			s++;
			l -= 2;
		}
		if (l >= sizeof(x->etag))
			return -S3E_INVALID_PART;
		memcpy(x->etag, s, l);
		x->etag[l] = '\0';
		x->has_etag = 1;
	} else if (text && cmp_checksum(path) != S3_CK_NONE) {
		if (len >= sizeof(x->ck))
			return -S3E_INVALID_PART;
		memcpy(x->ck, text, len);
		x->ck[len] = '\0';
		x->ck_alg = cmp_checksum(path);
	} else if (strcmp(path, "/CompleteMultipartUpload/Part") == 0 && !text) {
		if (!x->num || !x->has_etag || x->c->n >= S3_PARTS_MAX)
			return -S3E_MALFORMED_XML;
		if (x->c->n == x->cap) {
			int cap = x->cap ? x->cap * 2 : 16;
			struct s3_complete_part *p = realloc(x->c->parts, (size_t)cap * sizeof(*p));

			if (!p)
				return -S3E_INTERNAL;
			x->c->parts = p;
			x->cap = cap;
		}
		x->c->parts[x->c->n].num = (int)x->num;
		strcpy(x->c->parts[x->c->n].etag, x->etag);
		x->c->parts[x->c->n].ck_alg = x->ck_alg;
		strcpy(x->c->parts[x->c->n].ck, x->ck);
		x->c->n++;
		x->num = 0;
		x->has_etag = 0;
		x->ck_alg = S3_CK_NONE;
		x->ck[0] = '\0';
	}
	return 0;
}

int s3_parse_complete(const char *in, size_t n, struct s3_complete_req *out)
{
	struct cmp_ctx x;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	x.c = out;
	rc = s3_xml_parse(in, n, cmp_cb, &x);
	if (!rc && out->n == 0)
		rc = -S3E_MALFORMED_XML;
	if (rc)
		s3_complete_req_free(out);
	return rc;
}

void s3_complete_req_free(struct s3_complete_req *c)
{
	free(c->parts);
	c->parts = NULL;
	c->n = 0;
}

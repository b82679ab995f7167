/* S3 gateway: ListObjects (v1) and ListObjectsV2. Keys are paths, so the bucket's tree is
 * walked depth first with each directory's entries sorted as S3 sorts keys: a directory "d"
 * sorts as "d/", which puts every key under it exactly where S3's byte order puts it. Prefix,
 * marker and delimiter prune whole subtrees. */
#include "gateways/s3/s3_server.h"

#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS	 "http://s3.amazonaws.com/doc/2006-03-01/"
#define DEPTH	 64

struct ent {
	char *sort; /* name, or name + "/" for a directory */
	uint32_t mode;
	struct glory_attr a;
};

struct lst {
	struct s3_req *r;
	const char *prefix, *delim, *marker;
	size_t plen, dlen;
	int max, count, truncated, stop, url, v2, err;
	struct s3_buf contents, prefixes;
	char *last;    /* the last key or common prefix returned */
	char *last_cp; /* the last common prefix returned */
};

static int starts(const char *s, const char *p, size_t pl)
{
	return strncmp(s, p, pl) == 0;
}

static void put_key(struct lst *l, struct s3_buf *b, const char *elem, const char *k)
{
	s3_buf_printf(b, "<%s>", elem);
	if (l->url) {
		struct s3_buf e = {0};

		s3_uri_encode(&e, k, strlen(k), 1);
		s3_xml_text(b, e.p ? e.p : "", e.len);
		s3_buf_free(&e);
	} else {
		s3_xml_text(b, k, strlen(k));
	}
	s3_buf_printf(b, "</%s>", elem);
}

/* 1 when the page is full (and one more item exists: truncated). */
static int full(struct lst *l)
{
	if (l->count < l->max)
		return 0;
	l->truncated = 1;
	l->stop = 1;
	return 1;
}

static void set_last(struct lst *l, const char *k)
{
	char *c = strdup(k);

	if (!c) {
		l->err = -S3E_INTERNAL;
		return;
	}
	free(l->last);
	l->last = c;
}

static void emit_cp(struct lst *l, const char *k, size_t n)
{
	char *cp = strndup(k, n);

	if (!cp) {
		l->err = -S3E_INTERNAL;
		return;
	}
	if ((l->last_cp && strcmp(cp, l->last_cp) == 0) ||
	    (l->marker && strcmp(cp, l->marker) <= 0) || full(l)) {
		free(cp);
		return;
	}
	s3_buf_puts(&l->prefixes, "<CommonPrefixes>");
	put_key(l, &l->prefixes, "Prefix", cp);
	s3_buf_puts(&l->prefixes, "</CommonPrefixes>");
	l->count++;
	set_last(l, cp);
	free(l->last_cp);
	l->last_cp = cp;
}

static void emit_obj(struct lst *l, const char *k, const struct glory_attr *a,
		     const struct s3_meta *m, const char *etag)
{
	char date[40], e[72];

	if (full(l))
		return;
	if (!etag) {
		s3_obj_etag(a, m, e);
		etag = e;
	}
	s3_iso_date(a->mtime_ns, date);
	s3_buf_puts(&l->contents, "<Contents>");
	put_key(l, &l->contents, "Key", k);
	s3_xml_elem(&l->contents, "LastModified", date);
	s3_buf_puts(&l->contents, "<ETag>");
	s3_xml_text(&l->contents, etag, strlen(etag));
	s3_buf_printf(&l->contents, "</ETag><Size>%llu</Size>",
		      S_ISDIR(a->mode) ? 0ull : (unsigned long long)a->size);
	if (!l->v2 || s3_qget(&l->r->q, "fetch-owner")) {
		s3_buf_puts(&l->contents, "<Owner>");
		s3_xml_elem(&l->contents, "ID", l->r->tenant);
		s3_xml_elem(&l->contents, "DisplayName", l->r->tenant);
		s3_buf_puts(&l->contents, "</Owner>");
	}
	s3_buf_puts(&l->contents, "<StorageClass>STANDARD</StorageClass></Contents>");
	l->count++;
	set_last(l, k);
}

/* If the part of k after the prefix holds the delimiter: the common prefix's length. */
static size_t rolls_up(struct lst *l, const char *k)
{
	const char *d;

	if (!l->dlen || !starts(k, l->prefix, l->plen))
		return 0;
	d = strstr(k + l->plen, l->delim);
	return d ? (size_t)(d - k) + l->dlen : 0;
}

struct collect {
	struct ent *e;
	int n, cap, err;
	uint64_t cookie;
};

static int collect_cb(void *arg, const struct glory_dirent *d)
{
	struct collect *c = arg;
	size_t nl = strlen(d->name);
	int dir = S_ISDIR(d->mode);

	c->cookie = d->cookie;
	if (!(S_ISDIR(d->mode) || S_ISREG(d->mode)) || !d->attr)
		return 0;
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 64;
		struct ent *e = realloc(c->e, (size_t)cap * sizeof(*e));

		if (!e) {
			c->err = -S3E_INTERNAL;
			return 1;
		}
		c->e = e;
		c->cap = cap;
	}
	c->e[c->n].sort = malloc(nl + 2);
	if (!c->e[c->n].sort) {
		c->err = -S3E_INTERNAL;
		return 1;
	}
	memcpy(c->e[c->n].sort, d->name, nl);
	c->e[c->n].sort[nl] = '/';
	c->e[c->n].sort[nl + dir] = '\0';
	c->e[c->n].mode = d->mode;
	c->e[c->n].a = *d->attr;
	c->n++;
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->sort, ((const struct ent *)b)->sort);
}

static void walk(struct lst *l, uint64_t dir, const char *path, int depth)
{
	struct collect c = {0};
	int eof = 0, rc = 0;
	size_t pl = strlen(path);

	if (depth > DEPTH)
		return;
	while (!eof && !rc && !c.err)
		rc = glory_readdir(l->r->vol->v, dir, c.cookie, 1000, 1, collect_cb, &c, &eof);
	if (rc || c.err) {
		l->err = rc ? s3_from_glory(rc) : c.err;
		goto out;
	}
	if (c.n > 1)
		qsort(c.e, (size_t)c.n, sizeof(c.e[0]), ent_cmp);
	for (int i = 0; i < c.n && !l->stop && !l->err; i++) {
		size_t sl = strlen(c.e[i].sort), cut;
		char *k = malloc(pl + sl + 1);

		if (!k) {
			l->err = -S3E_INTERNAL;
			break;
		}
		memcpy(k, path, pl);
		memcpy(k + pl, c.e[i].sort, sl + 1);
		if (S_ISDIR(c.e[i].mode)) {
			struct s3_meta m;

			if (!(starts(k, l->prefix, l->plen) || starts(l->prefix, k, pl + sl)) ||
			    (l->marker && strcmp(k, l->marker) < 0 &&
			     !starts(l->marker, k, pl + sl))) {
				free(k);
				continue;
			}
			if ((cut = rolls_up(l, k))) {
				emit_cp(l, k, cut);
				free(k);
				continue;
			}
			/* a "folder" object put as "k" */
			if (starts(k, l->prefix, l->plen) &&
			    (!l->marker || strcmp(k, l->marker) > 0) &&
			    s3_read_meta(l->r->vol->v, c.e[i].a.ino, &m) == 0) {
				const char *et = s3_meta_get(&m, "etag");

				if (et) {
					char q[72];

					snprintf(q, sizeof(q), "\"%.68s\"", et);
					emit_obj(l, k, &c.e[i].a, &m, q);
				}
				s3_meta_free(&m);
			}
			if (!l->stop)
				walk(l, c.e[i].a.ino, k, depth + 1);
		} else if (starts(k, l->prefix, l->plen) &&
			   (!l->marker || strcmp(k, l->marker) > 0)) {
			if ((cut = rolls_up(l, k))) {
				emit_cp(l, k, cut);
			} else {
				struct s3_meta m;

				if (s3_read_meta(l->r->vol->v, c.e[i].a.ino, &m) == 0) {
					emit_obj(l, k, &c.e[i].a, &m, NULL);
					s3_meta_free(&m);
				}
			}
		}
		free(k);
	}
out:
	for (int i = 0; i < c.n; i++)
		free(c.e[i].sort);
	free(c.e);
}

static void elem_enc(struct lst *l, struct s3_buf *b, const char *name, const char *v)
{
	if (v)
		put_key(l, b, name, v);
}

static int list(struct s3_req *r, int v2)
{
	struct lst l;
	struct s3_buf b = {0};
	const char *mk = s3_qget(&r->q, "max-keys"), *enc = s3_qget(&r->q, "encoding-type");
	const char *tok = v2 ? s3_qget(&r->q, "continuation-token") : NULL;
	char *tokkey = NULL;
	uint64_t bucket;
	int rc;

	memset(&l, 0, sizeof(l));
	l.r = r;
	l.v2 = v2;
	l.prefix = s3_qget(&r->q, "prefix");
	l.prefix = l.prefix ? l.prefix : "";
	l.delim = s3_qget(&r->q, "delimiter");
	l.delim = l.delim && *l.delim ? l.delim : NULL;
	l.plen = strlen(l.prefix);
	l.dlen = l.delim ? strlen(l.delim) : 0;
	l.max = 1000;
	if (mk) {
		char *end;
		long v = strtol(mk, &end, 10);

		if (*end || end == mk || v < 0)
			return -S3E_INVALID_ARGUMENT;
		l.max = v < 1000 ? (int)v : 1000;
	}
	if (enc && strcmp(enc, "url") != 0)
		return -S3E_INVALID_ARGUMENT;
	l.url = enc != NULL;
	if ((rc = s3_bucket_ino(r, r->bucket, &bucket)))
		return rc;
	if (tok) {
		size_t n = strlen(tok), out;

		tokkey = malloc(n + 1);
		if (!tokkey || s3_unbase64(tok, (uint8_t *)tokkey, n, &out) || out == 0) {
			free(tokkey);
			return -S3E_INVALID_ARGUMENT;
		}
		tokkey[out] = '\0';
		if (strlen(tokkey) != out) {
			free(tokkey);
			return -S3E_INVALID_ARGUMENT;
		}
		l.marker = tokkey;
	} else {
		l.marker = s3_qget(&r->q, v2 ? "start-after" : "marker");
	}
	if (l.marker && !*l.marker)
		l.marker = NULL;
	if (l.max > 0)
		walk(&l, bucket, "", 0);
	if (l.err) {
		rc = l.err;
		goto out;
	}
	s3_buf_puts(&b, XML_HEAD "<ListBucketResult xmlns=\"" S3_NS "\">");
	s3_xml_elem(&b, "Name", r->bucket);
	put_key(&l, &b, "Prefix", l.prefix);
	if (v2) {
		if (tok)
			s3_xml_elem(&b, "ContinuationToken", tok);
		elem_enc(&l, &b, "StartAfter", s3_qget(&r->q, "start-after"));
		s3_buf_printf(&b, "<KeyCount>%d</KeyCount>", l.count);
	} else {
		put_key(&l, &b, "Marker", s3_qget(&r->q, "marker") ? s3_qget(&r->q, "marker") : "");
	}
	s3_buf_printf(&b, "<MaxKeys>%d</MaxKeys>", l.max);
	elem_enc(&l, &b, "Delimiter", l.delim);
	if (l.url)
		s3_xml_elem(&b, "EncodingType", "url");
	s3_buf_printf(&b, "<IsTruncated>%s</IsTruncated>", l.truncated ? "true" : "false");
	if (l.truncated && l.last) {
		if (v2) {
			size_t n = strlen(l.last);
			char *t = malloc(4 * (n + 2) / 3 + 4);

			if (!t) {
				rc = -S3E_INTERNAL;
				goto out;
			}
			s3_base64((const uint8_t *)l.last, n, t);
			s3_xml_elem(&b, "NextContinuationToken", t);
			free(t);
		} else {
			put_key(&l, &b, "NextMarker", l.last);
		}
	}
	s3_buf_put(&b, l.contents.p, l.contents.len);
	s3_buf_put(&b, l.prefixes.p, l.prefixes.len);
	s3_buf_puts(&b, "</ListBucketResult>");
	if (l.contents.err || l.prefixes.err)
		rc = -S3E_INTERNAL;
	else
		rc = s3_respond_xml(r, 200, &b);
out:
	s3_buf_free(&b);
	s3_buf_free(&l.contents);
	s3_buf_free(&l.prefixes);
	free(l.last);
	free(l.last_cp);
	free(tokkey);
	return rc;
}

int s3_list_objects(struct s3_req *r)
{
	const char *lt = s3_qget(&r->q, "list-type");

	if (lt && strcmp(lt, "2") != 0)
		return -S3E_INVALID_ARGUMENT;
	return list(r, lt != NULL);
}

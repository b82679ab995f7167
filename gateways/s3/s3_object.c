/* S3 gateway: objects. An object is a regular file at BUCKET/KEY in the tenant's volume (the
 * key's "/" are directories); a key ending in "/" is a directory that carries metadata (a
 * "folder" object). New content goes to /.s3/tmp and is renamed into place once complete and
 * checked, so a reader sees the old object or the new one, never a part. */
#include "gateways/s3/s3_server.h"

#include "common/errors.h"
#include "common/log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS	 "http://s3.amazonaws.com/doc/2006-03-01/"
#define META_CAP 16384

/* Request headers kept with the object and given back on GET/HEAD. */
static const char *const kept_headers[] = {"content-type",	  "content-encoding",
					   "content-disposition", "content-language",
					   "cache-control",	  "expires"};

int s3_read_meta(struct glory_vol *v, uint64_t ino, struct s3_meta *m)
{
	char *buf = malloc(META_CAP);
	ssize_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!buf)
		return -S3E_INTERNAL;
	n = glory_getxattr(v, ino, S3_META_XATTR, buf, META_CAP);
	if (n == -GL_ENODATA || n == -GL_ERANGE) {
		rc = 0; /* none (a file from another gateway), or not ours */
	} else if (n < 0) {
		rc = s3_from_glory((int)n);
	} else {
		rc = s3_meta_decode(buf, (size_t)n, m);
		if (rc) { /* unreadable: as if it had none */
			gl_warn("object metadata of inode %llu is damaged; ignored",
				(unsigned long long)ino);
			rc = 0;
		}
	}
	free(buf);
	return rc;
}

void s3_obj_etag(const struct glory_attr *a, const struct s3_meta *m, char out[72])
{
	const char *e = s3_meta_get(m, "etag"), *sz = s3_meta_get(m, "size");
	const char *mt = s3_meta_get(m, "mtime");
	char s[96];

	snprintf(s, sizeof(s), "%lld", (long long)a->mtime_ns);
	if (e && sz && mt && strtoull(sz, NULL, 10) == a->size && strcmp(mt, s) == 0 &&
	    strlen(e) < 68) {
		snprintf(out, 72, "\"%s\"", e);
		return;
	}
	/* written by another gateway (or changed since): stable while size and mtime are */
	{
		uint8_t d[16];
		unsigned int dl = 0;
		char hex[33];

		snprintf(s, sizeof(s), "glory:%llu:%llu:%lld", (unsigned long long)a->ino,
			 (unsigned long long)a->size, (long long)a->mtime_ns);
		EVP_Digest(s, strlen(s), d, &dl, EVP_md5(), NULL);
		s3_hex(d, 16, hex);
		snprintf(out, 72, "\"%s\"", hex);
	}
}

/* key without its trailing "/", malloc'd. */
static char *key_dir_path(const char *bucket, const char *key)
{
	size_t kl = strlen(key);
	char *p = malloc(strlen(bucket) + kl + 2);

	if (!p)
		return NULL;
	sprintf(p, "%s/%s", bucket, key);
	if (kl && key[kl - 1] == '/')
		p[strlen(p) - 1] = '\0';
	return p;
}

int s3_obj_get(struct s3_req *r, const char *bucket, const char *key, struct s3_obj *o)
{
	size_t kl = strlen(key);
	int folder = kl && key[kl - 1] == '/', rc;
	uint64_t bino;
	char *path;

	memset(o, 0, sizeof(*o));
	if ((rc = s3_bucket_ino(r, bucket, &bino)))
		return rc;
	if ((rc = s3_key_check(key)))
		return rc == -S3E_KEY_TOO_LONG ? rc : -S3E_NO_SUCH_KEY;
	if (!(path = key_dir_path(bucket, key)))
		return -S3E_INTERNAL;
	rc = glory_resolve(r->vol->v, path, &o->a);
	free(path);
	if (rc == -GL_ENOENT || rc == -GL_ENOTDIR)
		return -S3E_NO_SUCH_KEY;
	if (rc)
		return s3_from_glory(rc);
	if (folder ? !S_ISDIR(o->a.mode) : !S_ISREG(o->a.mode))
		return -S3E_NO_SUCH_KEY;
	if ((rc = s3_read_meta(r->vol->v, o->a.ino, &o->m)))
		return rc;
	if (folder && !s3_meta_get(&o->m, "etag")) {
		s3_meta_free(&o->m);
		return -S3E_NO_SUCH_KEY; /* a directory, but no object was put there */
	}
	if (folder)
		snprintf(o->etag, sizeof(o->etag), "\"%s\"", s3_meta_get(&o->m, "etag"));
	else
		s3_obj_etag(&o->a, &o->m, o->etag);
	return 0;
}

void s3_obj_free(struct s3_obj *o)
{
	s3_meta_free(&o->m);
}

int s3_obj_parent(struct s3_req *r, uint64_t bucket, const char *key, int create, uint64_t *parent,
		  const char **name)
{
	const char *p = key;
	uint64_t dir = bucket;
	size_t kl = strlen(key);
	const char *end = key + kl - (kl && key[kl - 1] == '/');

	for (;;) {
		const char *s = memchr(p, '/', (size_t)(end - p));
		char comp[256];
		struct glory_attr a;
		size_t len;
		int rc;

		if (!s)
			break;
		len = (size_t)(s - p);
		if (len == 0 || len >= sizeof(comp))
			return -S3E_INVALID_ARGUMENT;
		memcpy(comp, p, len);
		comp[len] = '\0';
		rc = glory_lookup(r->vol->v, dir, comp, &a);
		if (rc == -GL_ENOENT && create) {
			rc = glory_mkdir(r->vol->v, dir, comp, 040755, 0, 0, &a);
			if (rc == -GL_EEXIST)
				rc = glory_lookup(r->vol->v, dir, comp, &a);
		}
		if (rc == -GL_ENOENT)
			return -S3E_NO_SUCH_KEY;
		if (rc)
			return s3_from_glory(rc);
		if (!S_ISDIR(a.mode))
			return create ? -S3E_KEY_CONFLICT : -S3E_NO_SUCH_KEY;
		dir = a.ino;
		p = s + 1;
	}
	*parent = dir;
	*name = p;
	return 0;
}

int s3_obj_publish(struct s3_req *r, const char *key, struct s3_meta *m)
{
	struct s3_buf enc = {0};
	struct glory_attr a;
	char num[32], hex[33], last[256];
	uint64_t bucket, parent;
	const char *name;
	size_t nl;
	int rc;

	rc = glory_close(r->f);
	r->f = NULL;
	if (rc)
		return s3_from_glory(rc);
	if ((rc = glory_getattr(r->vol->v, r->tmp_ino, &a)))
		return s3_from_glory(rc);
	if (!s3_meta_get(m, "etag")) {
		s3_hex(r->md5sum, 16, hex);
		if ((rc = s3_meta_set(m, "etag", hex)))
			return rc;
	}
	snprintf(num, sizeof(num), "%llu", (unsigned long long)a.size);
	if ((rc = s3_meta_set(m, "size", num)))
		return rc;
	snprintf(num, sizeof(num), "%lld", (long long)a.mtime_ns);
	if ((rc = s3_meta_set(m, "mtime", num)) || (rc = s3_meta_encode(m, &enc)))
		goto out;
	rc = glory_setxattr(r->vol->v, r->tmp_ino, S3_META_XATTR, enc.p, enc.len, 0);
	if (rc) {
		rc = s3_from_glory(rc);
		goto out;
	}
	/* a delete pruning the directories of another key may remove a parent between our
	 * lookup and the rename: make the path again */
	for (int attempt = 0;; attempt++) {
		if ((rc = s3_bucket_ino(r, r->bucket, &bucket)))
			goto out;
		rc = s3_obj_parent(r, bucket, key, 1, &parent, &name);
		if (rc == -S3E_NO_SUCH_KEY && attempt < 8)
			continue; /* a directory went away while we walked */
		if (rc)
			goto out;
		nl = strcspn(name, "/");
		if (nl == 0 || nl >= sizeof(last)) {
			rc = -S3E_INVALID_ARGUMENT;
			goto out;
		}
		memcpy(last, name, nl);
		last[nl] = '\0';
		rc = glory_rename(r->vol->v, r->vol->tmp, r->tmpname, parent, last, 0);
		if (rc != -GL_ENOENT || attempt == 8)
			break;
	}
	if (rc) {
		rc = rc == -GL_ENOENT ? -S3E_INTERNAL : s3_from_glory(rc);
		goto out;
	}
	r->published = 1;
	r->tmp_ino = 0;
out:
	s3_buf_free(&enc);
	return rc;
}

void s3_obj_prune(struct s3_req *r, uint64_t bucket, const char *key)
{
	char *k = strdup(key);
	size_t n;

	if (!k)
		return;
	n = strlen(k);
	if (n && k[n - 1] == '/')
		k[--n] = '\0';
	for (;;) {
		char *slash = strrchr(k, '/');
		uint64_t parent;
		const char *name;
		struct glory_attr a;
		struct s3_meta m;

		if (!slash)
			break;
		*slash = '\0'; /* k is now the directory to try */
		if (s3_obj_parent(r, bucket, k, 0, &parent, &name) ||
		    glory_lookup(r->vol->v, parent, name, &a) || s3_read_meta(r->vol->v, a.ino, &m))
			break;
		if (s3_meta_get(&m, "etag")) { /* a folder object: stays */
			s3_meta_free(&m);
			break;
		}
		if (glory_rmdir(r->vol->v, parent, name))
			break;
	}
	free(k);
}

int s3_meta_from_headers(struct s3_req *r, struct s3_meta *m)
{
	int rc = 0;
	size_t user = 0;

	for (size_t i = 0; !rc && i < GL_ARRAY_SIZE(kept_headers); i++) {
		const char *v = s3_hdr(&r->h, kept_headers[i]);

		if (!v)
			continue;
		if (strcmp(kept_headers[i], "content-encoding") == 0) {
			/* aws-chunked is how the body came, not what the object is */
			char enc[256] = "";
			const char *p = v;

			while (*p) {
				size_t l = strcspn(p, ",");
				const char *t = p;
				size_t tl = l;

				while (tl && *t == ' ')
					t++, tl--;
				while (tl && t[tl - 1] == ' ')
					tl--;
				if (tl && !(tl == 11 && strncasecmp(t, "aws-chunked", 11) == 0) &&
				    strlen(enc) + tl + 2 < sizeof(enc)) {
					if (enc[0])
						strcat(enc, ",");
					strncat(enc, t, tl);
				}
				p += l;
				if (*p == ',')
					p++;
			}
			if (enc[0])
				rc = s3_meta_set(m, kept_headers[i], enc);
			continue;
		}
		rc = s3_meta_set(m, kept_headers[i], v);
	}
	for (int i = 0; !rc && i < r->h.n; i++) {
		if (strncmp(r->h.name[i], "x-amz-meta-", 11) != 0)
			continue;
		user += strlen(r->h.name[i]) - 11 + strlen(r->h.value[i]);
		if (user > 2048)
			return -S3E_INVALID_ARGUMENT; /* S3: user metadata is at most 2 KB */
		rc = s3_meta_set(m, r->h.name[i], r->h.value[i]);
	}
	return rc;
}

/* The checksum of the body, kept when the client sent one. */
static int meta_checksum(struct s3_req *r, struct s3_meta *m)
{
	char name[48];

	if (!r->ck.alg || !r->ck_value[0])
		return 0;
	snprintf(name, sizeof(name), "x-amz-checksum-%s", s3_cksum_name(r->ck.alg));
	return s3_meta_set(m, name, r->ck_value);
}

static void add_checksum_header(struct s3_req *r, struct MHD_Response *resp)
{
	char name[48];

	if (!resp || !r->ck.alg || !r->ck_value[0])
		return;
	snprintf(name, sizeof(name), "x-amz-checksum-%s", s3_cksum_name(r->ck.alg));
	MHD_add_response_header(resp, name, r->ck_value);
}

/* ---- PutObject ---- */

static int put_folder(struct s3_req *r)
{
	struct s3_meta m = {0};
	struct s3_buf enc = {0};
	uint64_t bucket, parent;
	const char *name;
	char last[256];
	struct glory_attr a;
	int rc;

	if (r->got)
		return -S3E_INVALID_ARGUMENT; /* a "folder" key holds no data here */
	for (int attempt = 0;; attempt++) {   /* a racing delete may prune the path: again */
		if ((rc = s3_bucket_ino(r, r->bucket, &bucket)))
			return rc;
		rc = s3_obj_parent(r, bucket, r->key, 1, &parent, &name);
		if (!rc) {
			snprintf(last, sizeof(last), "%.*s", (int)strcspn(name, "/"), name);
			rc = glory_mkdir(r->vol->v, parent, last, 040755, 0, 0, &a);
			if (rc == -GL_EEXIST)
				rc = glory_lookup(r->vol->v, parent, last, &a);
			rc = s3_from_glory(rc);
		}
		if (rc != -S3E_NO_SUCH_KEY || attempt == 8)
			break;
	}
	if (rc)
		return rc == -S3E_NO_SUCH_KEY ? -S3E_INTERNAL : rc;
	if (!S_ISDIR(a.mode))
		return -S3E_KEY_CONFLICT;
	if ((rc = s3_meta_from_headers(r, &m)) ||
	    (rc = s3_meta_set(&m, "etag", "d41d8cd98f00b204e9800998ecf8427e")) ||
	    (rc = s3_meta_encode(&m, &enc)))
		goto out;
	rc = s3_from_glory(glory_setxattr(r->vol->v, a.ino, S3_META_XATTR, enc.p, enc.len, 0));
	if (!rc) {
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);

		if (resp)
			MHD_add_response_header(resp, "ETag",
						"\"d41d8cd98f00b204e9800998ecf8427e\"");
		rc = s3_queue(r, 200, resp);
	}
out:
	s3_meta_free(&m);
	s3_buf_free(&enc);
	return rc;
}

/* If-None-Match: * (create only) and If-Match: ETAG (replace only that version) on writes. */
static int put_conditions(struct s3_req *r)
{
	const char *inm = s3_hdr(&r->h, "if-none-match"), *im = s3_hdr(&r->h, "if-match");
	struct s3_obj o;
	int rc;

	if (!inm && !im)
		return 0;
	rc = s3_obj_get(r, r->bucket, r->key, &o);
	if (rc == -S3E_NO_SUCH_KEY)
		return im ? rc : 0;
	if (rc)
		return rc;
	if (inm && strcmp(inm, "*") == 0)
		rc = -S3E_PRECONDITION;
	else if (im && strcmp(im, "*") != 0 && strcmp(im, o.etag) != 0 &&
		 !(strlen(im) + 2 == strlen(o.etag) && strncmp(im, o.etag + 1, strlen(im)) == 0))
		rc = -S3E_PRECONDITION;
	s3_obj_free(&o);
	return rc;
}

static int put_finish(struct s3_req *r)
{
	struct s3_meta m = {0};
	char etag[72], hex[33];
	int rc;

	if ((rc = put_conditions(r)))
		return rc;
	if ((rc = s3_meta_from_headers(r, &m)) || (rc = meta_checksum(r, &m)) ||
	    (rc = s3_obj_publish(r, r->key, &m)))
		goto out;
	s3_hex(r->md5sum, 16, hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	{
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);

		if (resp)
			MHD_add_response_header(resp, "ETag", etag);
		add_checksum_header(r, resp);
		rc = s3_queue(r, 200, resp);
	}
out:
	s3_meta_free(&m);
	return rc;
}

int s3_put_begin(struct s3_req *r)
{
	size_t kl = strlen(r->key);
	uint64_t bucket;
	int rc;

	if ((rc = s3_bucket_ino(r, r->bucket, &bucket)))
		return rc;
	if (r->key[kl - 1] == '/')
		return s3_body_begin(r, S3_BODY_NONE, put_folder);
	if ((rc = put_conditions(r))) /* before the body too: "Expect: 100-continue" saves it */
		return rc;
	if ((rc = s3_tmp_create(r)))
		return rc;
	return s3_body_begin(r, S3_BODY_FILE, put_finish);
}

/* ---- conditions ---- */

static int etag_in(const char *list, const char *etag)
{
	const char *p = list;
	size_t el = strlen(etag);

	/* etag is quoted; list items may be quoted, weak (W/) or "*" */
	while (*p) {
		size_t l;

		while (*p == ' ' || *p == ',')
			p++;
		l = strcspn(p, ",");
		while (l && p[l - 1] == ' ')
			l--;
		if (l == 1 && *p == '*')
			return 1;
		if (l > 2 && strncmp(p, "W/", 2) == 0) {
			p += 2;
			l -= 2;
		}
		if (l == el && strncmp(p, etag, l) == 0)
			return 1;
		if (l + 2 == el && strncmp(p, etag + 1, l) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

int s3_conditions(struct s3_req *r, const struct s3_obj *o, const char *prefix)
{
	char n[64];
	const char *im, *inm, *ims, *ius;
	time_t t, mt = (time_t)(o->a.mtime_ns / 1000000000);
	int get = prefix[0] == '\0';

	snprintf(n, sizeof(n), "%sif-match", prefix);
	im = s3_hdr(&r->h, n);
	snprintf(n, sizeof(n), "%sif-none-match", prefix);
	inm = s3_hdr(&r->h, n);
	snprintf(n, sizeof(n), "%sif-modified-since", prefix);
	ims = s3_hdr(&r->h, n);
	snprintf(n, sizeof(n), "%sif-unmodified-since", prefix);
	ius = s3_hdr(&r->h, n);
	if (im) {
		if (!etag_in(im, o->etag))
			return -S3E_PRECONDITION;
	} else if (ius && s3_parse_http_date(ius, &t) == 0 && mt > t) {
		return -S3E_PRECONDITION;
	}
	if (inm) {
		if (etag_in(inm, o->etag))
			return get ? -S3E_NOT_MODIFIED : -S3E_PRECONDITION;
	} else if (ims && s3_parse_http_date(ims, &t) == 0 && mt <= t) {
		return get ? -S3E_NOT_MODIFIED : -S3E_PRECONDITION;
	}
	return 0;
}

/* ---- GetObject / HeadObject ---- */

static void object_headers(struct s3_req *r, const struct s3_obj *o, struct MHD_Response *resp,
			   int whole)
{
	static const char *const proper[] = {"Content-Type",	    "Content-Encoding",
					     "Content-Disposition", "Content-Language",
					     "Cache-Control",	    "Expires"};
	static const char *const overrides[] = {
	    "response-content-type",	    "response-content-encoding",
	    "response-content-disposition", "response-content-language",
	    "response-cache-control",	    "response-expires"};
	char date[40];

	MHD_add_response_header(resp, "ETag", o->etag);
	s3_http_date((time_t)(o->a.mtime_ns / 1000000000), date);
	MHD_add_response_header(resp, "Last-Modified", date);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	for (size_t i = 0; i < GL_ARRAY_SIZE(kept_headers); i++) {
		const char *v = s3_qget(&r->q, overrides[i]);

		if (!v)
			v = s3_meta_get(&o->m, kept_headers[i]);
		if (!v && i == 0)
			v = S3_DEFAULT_CTYPE;
		if (v)
			MHD_add_response_header(resp, proper[i], v);
	}
	for (int i = 0; i < o->m.n; i++) {
		const char *nm = o->m.name[i];

		if (strncmp(nm, "x-amz-meta-", 11) == 0)
			MHD_add_response_header(resp, nm, o->m.value[i]);
		else if (whole && strncmp(nm, "x-amz-checksum-", 15) == 0) {
			const char *mode = s3_hdr(&r->h, "x-amz-checksum-mode");

			if (mode && strcasecmp(mode, "ENABLED") == 0)
				MHD_add_response_header(resp, nm, o->m.value[i]);
		}
	}
	if (s3_meta_get(&o->m, "parts"))
		MHD_add_response_header(resp, "x-amz-mp-parts-count", s3_meta_get(&o->m, "parts"));
}

int s3_get_object(struct s3_req *r)
{
	struct s3_obj o;
	struct MHD_Response *resp;
	uint64_t start = 0, len;
	int rc, ranged;
	char cr[96];

	if ((rc = s3_obj_get(r, r->bucket, r->key, &o)))
		return rc;
	if ((rc = s3_conditions(r, &o, ""))) {
		if (rc == -S3E_NOT_MODIFIED) {
			resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
			if (resp)
				MHD_add_response_header(resp, "ETag", o.etag);
			rc = s3_queue(r, 304, resp);
		}
		goto out;
	}
	len = S_ISDIR(o.a.mode) ? 0 : o.a.size;
	ranged = s3_parse_range(s3_hdr(&r->h, "range"), len, &start, &len);
	if (ranged < 0) {
		if (ranged == -S3E_INVALID_RANGE) {
			struct s3_buf b = {0};

			snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)o.a.size);
			s3_buf_puts(&b, XML_HEAD "<Error>");
			s3_xml_elem(&b, "Code", "InvalidRange");
			s3_xml_elem(&b, "Message", s3_err_msg(S3E_INVALID_RANGE));
			s3_xml_elem(&b, "RequestId", r->reqid);
			s3_buf_puts(&b, "</Error>");
			resp = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_COPY);
			if (resp) {
				MHD_add_response_header(resp, "Content-Type", "application/xml");
				MHD_add_response_header(resp, "Content-Range", cr);
			}
			s3_buf_free(&b);
			rc = s3_queue(r, 416, resp);
			goto out;
		}
		rc = ranged;
		goto out;
	}
	if (len == 0) {
		resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	} else {
		rc = s3_get_body(r, &o.a, start, len, &resp);
		if (rc)
			goto out;
	}
	if (resp) {
		object_headers(r, &o, resp, !ranged);
		if (ranged) {
			snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)start,
				 (unsigned long long)(start + len - 1),
				 (unsigned long long)o.a.size);
			MHD_add_response_header(resp, "Content-Range", cr);
		}
	}
	rc = s3_queue(r, ranged ? 206 : 200, resp);
out:
	s3_obj_free(&o);
	return rc;
}

/* ---- DeleteObject(s) ---- */

/* 0 also when there was nothing to delete (S3 answers 204 either way). */
static int delete_key(struct s3_req *r, const char *key)
{
	size_t kl = strlen(key);
	uint64_t bucket, parent;
	const char *name;
	char last[256];
	int rc;

	if ((rc = s3_bucket_ino(r, r->bucket, &bucket)))
		return rc;
	if ((rc = s3_key_check(key)))
		return rc;
	rc = s3_obj_parent(r, bucket, key, 0, &parent, &name);
	if (rc == -S3E_NO_SUCH_KEY)
		return 0;
	if (rc)
		return rc;
	snprintf(last, sizeof(last), "%.*s", (int)strcspn(name, "/"), name);
	if (key[kl - 1] == '/') { /* a folder object: drop its metadata, and it if empty */
		struct glory_attr a;

		if (glory_lookup(r->vol->v, parent, last, &a) || !S_ISDIR(a.mode))
			return 0;
		glory_removexattr(r->vol->v, a.ino, S3_META_XATTR);
		glory_rmdir(r->vol->v, parent, last);
	} else {
		rc = glory_unlink(r->vol->v, parent, last);
		if (rc == -GL_ENOENT || rc == -GL_EISDIR || rc == -GL_EPERM)
			return 0;
		if (rc)
			return s3_from_glory(rc);
	}
	s3_obj_prune(r, bucket, key);
	return 0;
}

int s3_delete_object(struct s3_req *r)
{
	int rc = delete_key(r, r->key);

	return rc ? rc : s3_respond_empty(r, 204);
}

int s3_delete_objects(struct s3_req *r)
{
	struct s3_delete_req d;
	struct s3_buf b = {0};
	uint64_t bucket;
	int rc;

	if ((rc = s3_bucket_ino(r, r->bucket, &bucket)))
		return rc;
	if ((rc = s3_parse_delete(r->small.p, r->small.len, &d)))
		return rc;
	s3_buf_puts(&b, XML_HEAD "<DeleteResult xmlns=\"" S3_NS "\">");
	for (int i = 0; i < d.n; i++) {
		int e = delete_key(r, d.key[i]);

		if (e) {
			s3_buf_puts(&b, "<Error>");
			s3_xml_elem(&b, "Key", d.key[i]);
			s3_xml_elem(&b, "Code", s3_err_code(e));
			s3_xml_elem(&b, "Message", s3_err_msg(e));
			s3_buf_puts(&b, "</Error>");
		} else if (!d.quiet) {
			s3_buf_puts(&b, "<Deleted>");
			s3_xml_elem(&b, "Key", d.key[i]);
			s3_buf_puts(&b, "</Deleted>");
		}
	}
	s3_buf_puts(&b, "</DeleteResult>");
	rc = s3_respond_xml(r, 200, &b);
	s3_buf_free(&b);
	s3_delete_req_free(&d);
	return rc;
}

/* ---- CopyObject ---- */

int s3_copy_data(struct s3_req *r, uint64_t ino, uint64_t off, uint64_t len)
{
	struct glory_file *src;
	char *buf;
	int rc;

	if (!(buf = malloc(S3_COPY_BUF)))
		return -S3E_INTERNAL;
	rc = glory_open(r->vol->v, ino, &src);
	if (rc) {
		free(buf);
		return s3_from_glory(rc);
	}
	while (len && !rc) {
		size_t want = len < S3_COPY_BUF ? (size_t)len : S3_COPY_BUF;
		ssize_t n = glory_pread(src, buf, want, off);

		if (n <= 0) {
			rc = n < 0 ? s3_from_glory((int)n) : -S3E_INTERNAL;
			break;
		}
		EVP_DigestUpdate(r->md5, buf, (size_t)n);
		if (glory_pwrite(r->f, buf, (size_t)n, r->got) != n)
			rc = -S3E_INTERNAL;
		r->got += (uint64_t)n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	glory_close(src);
	free(buf);
	return rc;
}

int s3_copy_source(struct s3_req *r, char bucket[64], char **key)
{
	const char *src = s3_hdr(&r->h, "x-amz-copy-source");
	size_t n = strcspn(src, "?");
	char *dec = malloc(n + 1), *p, *slash;

	if (!dec)
		return -S3E_INTERNAL;
	if (s3_uri_decode(src, n, dec, NULL)) {
		free(dec);
		return -S3E_INVALID_ARGUMENT;
	}
	p = dec + (dec[0] == '/');
	slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= 64 || !slash[1]) {
		free(dec);
		return -S3E_INVALID_ARGUMENT;
	}
	memcpy(bucket, p, (size_t)(slash - p));
	bucket[slash - p] = '\0';
	*key = strdup(slash + 1);
	free(dec);
	return *key ? 0 : -S3E_INTERNAL;
}

int s3_copy_object(struct s3_req *r)
{
	const char *dir = s3_hdr(&r->h, "x-amz-metadata-directive");
	int replace = dir && strcasecmp(dir, "REPLACE") == 0, rc;
	struct s3_meta m = {0};
	struct s3_obj o;
	char sbucket[64], *skey = NULL, date[40], hex[33];
	struct s3_buf b = {0};

	if (dir && !replace && strcasecmp(dir, "COPY") != 0)
		return -S3E_INVALID_ARGUMENT;
	if ((rc = s3_copy_source(r, sbucket, &skey)))
		return rc;
	rc = s3_obj_get(r, sbucket, skey, &o);
	if (rc)
		goto out_key;
	if ((rc = s3_conditions(r, &o, "x-amz-copy-source-")))
		goto out_obj;
	if (!replace && strcmp(sbucket, r->bucket) == 0 && strcmp(skey, r->key) == 0) {
		rc = -S3E_INVALID_REQUEST; /* copying onto itself changes nothing */
		goto out_obj;
	}
	if (replace) {
		rc = s3_meta_from_headers(r, &m);
	} else {
		for (int i = 0; !rc && i < o.m.n; i++)
			if (strcmp(o.m.name[i], "etag") && strcmp(o.m.name[i], "size") &&
			    strcmp(o.m.name[i], "mtime") && strcmp(o.m.name[i], "parts"))
				rc = s3_meta_set(&m, o.m.name[i], o.m.value[i]);
	}
	if (rc || (rc = s3_tmp_create(r)))
		goto out_meta;
	r->md5 = EVP_MD_CTX_new();
	if (!r->md5 || !EVP_DigestInit_ex(r->md5, EVP_md5(), NULL)) {
		rc = -S3E_INTERNAL;
		goto out_meta;
	}
	if ((rc = s3_copy_data(r, o.a.ino, 0, o.a.size)))
		goto out_meta;
	EVP_DigestFinal_ex(r->md5, r->md5sum, NULL);
	if ((rc = s3_obj_publish(r, r->key, &m)))
		goto out_meta;
	s3_hex(r->md5sum, 16, hex);
	s3_iso_date(o.a.mtime_ns, date);
	{
		struct s3_obj n;

		if (s3_obj_get(r, r->bucket, r->key, &n) == 0) {
			s3_iso_date(n.a.mtime_ns, date);
			s3_obj_free(&n);
		}
	}
	s3_buf_puts(&b, XML_HEAD "<CopyObjectResult xmlns=\"" S3_NS "\">");
	s3_xml_elem(&b, "LastModified", date);
	s3_buf_printf(&b, "<ETag>&quot;%s&quot;</ETag></CopyObjectResult>", hex);
	rc = s3_respond_xml(r, 200, &b);
	s3_buf_free(&b);
out_meta:
	s3_meta_free(&m);
out_obj:
	s3_obj_free(&o);
out_key:
	free(skey);
	return rc;
}

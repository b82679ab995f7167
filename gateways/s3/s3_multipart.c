/* S3 gateway: multipart uploads. An upload is the directory /.s3/uploads/ID of the tenant's
 * volume: its xattr user.s3.upload holds the bucket, the key, when it began and the object's
 * metadata; each part is a file named by its number (5 digits) with the usual user.s3.meta.
 * Complete concatenates the listed parts into a temporary file and renames it into place
 * (ETag: MD5 of the parts' binary MD5s, "-N"), then removes the upload. An upload created
 * with x-amz-checksum-algorithm gets a composite checksum (x-amz-checksum-type COMPOSITE): the
 * algorithm over the parts' binary checksums in part order, base64, "-N"; it is stored with
 * the object as x-amz-checksum-<alg> and returned by Complete and by GET/HEAD. */
#include "gateways/s3/s3_server.h"

#include "common/errors.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define XML_HEAD      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS	      "http://s3.amazonaws.com/doc/2006-03-01/"
#define UPLOAD_XATTR  "user.s3.upload"
#define UPLOAD_ID_LEN 32

struct upload {
	uint64_t ino;
	char id[UPLOAD_ID_LEN + 1];
	struct s3_meta m; /* bucket, key, initiated + the object's metadata */
};

static int upload_id_ok(const char *id)
{
	return id && strlen(id) == UPLOAD_ID_LEN && strspn(id, "0123456789abcdef") == UPLOAD_ID_LEN;
}

static int upload_read(struct s3_req *r, uint64_t ino, struct s3_meta *m)
{
	char *buf = malloc(16384);
	ssize_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!buf)
		return -S3E_INTERNAL;
	n = glory_getxattr(r->vol->v, ino, UPLOAD_XATTR, buf, 16384);
	rc = n < 0 ? -S3E_NO_SUCH_UPLOAD : s3_meta_decode(buf, (size_t)n, m);
	free(buf);
	return rc;
}

/* The upload named by ?uploadId, which must be for this bucket and key. */
static int upload_get(struct s3_req *r, struct upload *u)
{
	const char *id = s3_qget(&r->q, "uploadId");
	struct glory_attr a;
	const char *b, *k;
	int rc;

	memset(u, 0, sizeof(*u));
	if (!upload_id_ok(id))
		return -S3E_NO_SUCH_UPLOAD;
	strcpy(u->id, id);
	rc = glory_lookup(r->vol->v, r->vol->uploads, id, &a);
	if (rc == -GL_ENOENT)
		return -S3E_NO_SUCH_UPLOAD;
	if (rc)
		return s3_from_glory(rc);
	u->ino = a.ino;
	if ((rc = upload_read(r, a.ino, &u->m)))
		return rc;
	b = s3_meta_get(&u->m, "bucket");
	k = s3_meta_get(&u->m, "key");
	if (!b || !k || strcmp(b, r->bucket) != 0 || strcmp(k, r->key) != 0) {
		s3_meta_free(&u->m);
		return -S3E_NO_SUCH_UPLOAD;
	}
	return 0;
}

static void upload_remove(struct s3_req *r, const char *id, uint64_t ino);

int s3_mpu_create(struct s3_req *r)
{
	struct s3_meta m = {0};
	struct s3_buf enc = {0}, b = {0};
	struct glory_attr a;
	char id[UPLOAD_ID_LEN + 1], now[32];
	const char *alg = s3_hdr(&r->h, "x-amz-checksum-algorithm");
	const char *type = s3_hdr(&r->h, "x-amz-checksum-type");
	uint64_t bucket;
	struct timespec ts;
	int rc;

	if ((rc = s3_bucket_ino(r, r->bucket, &bucket)))
		return rc;
	if (r->key[strlen(r->key) - 1] == '/')
		return -S3E_INVALID_ARGUMENT;
	if (alg && s3_cksum_alg(alg) == S3_CK_NONE)
		return -S3E_INVALID_REQUEST;
	if (type && strcasecmp(type, "COMPOSITE") != 0) /* FULL_OBJECT is not done */
		return strcasecmp(type, "FULL_OBJECT") ? -S3E_INVALID_REQUEST
						       : -S3E_NOT_IMPLEMENTED;
	if (type && !alg)
		return -S3E_INVALID_REQUEST;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(now, sizeof(now), "%lld", (long long)ts.tv_sec * 1000000000 + ts.tv_nsec);
	if ((rc = s3_meta_from_headers(r, &m)) || (rc = s3_meta_set(&m, "bucket", r->bucket)) ||
	    (rc = s3_meta_set(&m, "key", r->key)) || (rc = s3_meta_set(&m, "initiated", now)) ||
	    (alg && (rc = s3_meta_set(&m, "checksum-algorithm", alg))) ||
	    (rc = s3_meta_encode(&m, &enc)))
		goto out;
	s3_random_hex(id, UPLOAD_ID_LEN);
	rc = glory_mkdir(r->vol->v, r->vol->uploads, id, 040700, 0, 0, &a);
	if (!rc && (rc = glory_setxattr(r->vol->v, a.ino, UPLOAD_XATTR, enc.p, enc.len, 0)))
		glory_rmdir(r->vol->v, r->vol->uploads, id);
	if (rc) {
		rc = s3_from_glory(rc);
		goto out;
	}
	s3_buf_puts(&b, XML_HEAD "<InitiateMultipartUploadResult xmlns=\"" S3_NS "\">");
	s3_xml_elem(&b, "Bucket", r->bucket);
	s3_xml_elem(&b, "Key", r->key);
	s3_xml_elem(&b, "UploadId", id);
	s3_buf_puts(&b, "</InitiateMultipartUploadResult>");
	rc = s3_respond_xml(r, 200, &b);
out:
	s3_meta_free(&m);
	s3_buf_free(&enc);
	s3_buf_free(&b);
	return rc;
}

static int part_number(struct s3_req *r, int *num)
{
	const char *p = s3_qget(&r->q, "partNumber");
	char *end;
	long v;

	if (!p)
		return -S3E_INVALID_ARGUMENT;
	v = strtol(p, &end, 10);
	if (*end || end == p || v < 1 || v > S3_PARTS_MAX)
		return -S3E_INVALID_ARGUMENT;
	*num = (int)v;
	return 0;
}

/* Moves the finished temporary file into the upload as part num. */
static int part_store(struct s3_req *r, uint64_t updir, int num, char etag[72])
{
	struct s3_meta m = {0};
	struct s3_buf enc = {0};
	struct glory_attr a;
	char hex[33], s[32], name[8];
	int rc;

	rc = glory_close(r->f);
	r->f = NULL;
	if (rc || (rc = glory_getattr(r->vol->v, r->tmp_ino, &a))) {
		rc = s3_from_glory(rc);
		goto out;
	}
	s3_hex(r->md5sum, 16, hex);
	if ((rc = s3_meta_set(&m, "etag", hex)))
		goto out;
	snprintf(s, sizeof(s), "%llu", (unsigned long long)a.size);
	if ((rc = s3_meta_set(&m, "size", s)))
		goto out;
	snprintf(s, sizeof(s), "%lld", (long long)a.mtime_ns);
	if ((rc = s3_meta_set(&m, "mtime", s)))
		goto out;
	if (r->ck.alg && r->ck_value[0]) {
		snprintf(s, sizeof(s), "%s", s3_cksum_name(r->ck.alg));
		if ((rc = s3_meta_set(&m, "checksum-algorithm", s)) ||
		    (rc = s3_meta_set(&m, "checksum", r->ck_value)))
			goto out;
	}
	if ((rc = s3_meta_encode(&m, &enc)))
		goto out;
	snprintf(name, sizeof(name), "%05d", num);
	rc = glory_setxattr(r->vol->v, r->tmp_ino, S3_META_XATTR, enc.p, enc.len, 0);
	if (!rc)
		rc = glory_rename(r->vol->v, r->vol->tmp, r->tmpname, updir, name, 0);
	if (rc == -GL_ENOENT) { /* the upload was completed or aborted meanwhile */
		rc = -S3E_NO_SUCH_UPLOAD;
		goto out;
	}
	if (rc) {
		rc = s3_from_glory(rc);
		goto out;
	}
	r->published = 1;
	r->tmp_ino = 0;
	snprintf(etag, 72, "\"%s\"", hex);
out:
	s3_meta_free(&m);
	s3_buf_free(&enc);
	return rc;
}

struct part_op {
	struct upload u;
	int num;
};

static void part_op_free(void *p)
{
	struct part_op *op = p;

	if (op)
		s3_meta_free(&op->u.m);
	free(op);
}

static int part_finish(struct s3_req *r)
{
	struct part_op *op = r->op;
	char etag[72];
	int rc = part_store(r, op->u.ino, op->num, etag);
	struct MHD_Response *resp;

	if (rc)
		return rc;
	resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (resp) {
		MHD_add_response_header(resp, "ETag", etag);
		if (r->ck.alg && r->ck_value[0]) {
			char name[48];

			snprintf(name, sizeof(name), "x-amz-checksum-%s", s3_cksum_name(r->ck.alg));
			MHD_add_response_header(resp, name, r->ck_value);
		}
	}
	return s3_queue(r, 200, resp);
}

int s3_mpu_part_begin(struct s3_req *r)
{
	struct part_op *op = calloc(1, sizeof(*op));
	int rc;

	if (!op)
		return -S3E_INTERNAL;
	r->op = op;
	r->op_free = part_op_free;
	if ((rc = part_number(r, &op->num)) || (rc = upload_get(r, &op->u)) ||
	    (rc = s3_tmp_create(r)))
		return rc;
	return s3_body_begin(r, S3_BODY_FILE, part_finish);
}

int s3_mpu_part_copy(struct s3_req *r)
{
	struct part_op *op = calloc(1, sizeof(*op));
	const char *range = s3_hdr(&r->h, "x-amz-copy-source-range");
	char sbucket[64], *skey = NULL, etag[72], date[40];
	uint64_t start = 0, len;
	struct s3_obj o;
	struct s3_buf b = {0};
	int rc;

	if (!op)
		return -S3E_INTERNAL;
	r->op = op;
	r->op_free = part_op_free;
	if ((rc = part_number(r, &op->num)) || (rc = upload_get(r, &op->u)) ||
	    (rc = s3_copy_source(r, sbucket, &skey)))
		goto out_key;
	if ((rc = s3_obj_get(r, sbucket, skey, &o)))
		goto out_key;
	if ((rc = s3_conditions(r, &o, "x-amz-copy-source-")))
		goto out_obj;
	len = o.a.size;
	if (range) {
		int k = s3_parse_range(range, o.a.size, &start, &len);

		if (k != 1) { /* S3 wants a valid single range here */
			rc = k < 0 ? k : -S3E_INVALID_ARGUMENT;
			goto out_obj;
		}
	}
	if ((rc = s3_tmp_create(r)))
		goto out_obj;
	r->md5 = EVP_MD_CTX_new();
	if (!r->md5 || !EVP_DigestInit_ex(r->md5, EVP_md5(), NULL)) {
		rc = -S3E_INTERNAL;
		goto out_obj;
	}
	if ((rc = s3_copy_data(r, o.a.ino, start, len)))
		goto out_obj;
	EVP_DigestFinal_ex(r->md5, r->md5sum, NULL);
	if ((rc = part_store(r, op->u.ino, op->num, etag)))
		goto out_obj;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		s3_iso_date((int64_t)ts.tv_sec * 1000000000, date);
	}
	s3_buf_puts(&b, XML_HEAD "<CopyPartResult xmlns=\"" S3_NS "\">");
	s3_xml_elem(&b, "LastModified", date);
	s3_xml_elem(&b, "ETag", etag);
	s3_buf_puts(&b, "</CopyPartResult>");
	rc = s3_respond_xml(r, 200, &b);
	s3_buf_free(&b);
out_obj:
	s3_obj_free(&o);
out_key:
	free(skey);
	return rc;
}

/* ---- Complete ---- */

/* What Complete builds besides the data: the ETag (MD5 of the parts' MD5s) and the composite
 * checksum (ck.alg 0 when the upload has none). */
struct complete_sums {
	EVP_MD_CTX *md5;
	struct s3_cksum ck;
	int ck_ok; /* every part so far had a checksum of ck.alg */
};

/* Checks part p (meta pm) against the request's part cp and adds its sums. */
static int part_sums(const struct s3_complete_part *cp, const struct s3_meta *pm,
		     struct complete_sums *cs)
{
	const char *pe = s3_meta_get(pm, "etag"), *pa = s3_meta_get(pm, "checksum-algorithm");
	const char *pv = s3_meta_get(pm, "checksum");
	int alg = pa && pv ? s3_cksum_alg(pa) : S3_CK_NONE;
	uint8_t d[32];
	size_t n;

	if (!pe || strcmp(pe, cp->etag) != 0 || strlen(pe) != 32 ||
	    strspn(pe, "0123456789abcdef") != 32)
		return -S3E_INVALID_PART;
	if (cp->ck_alg && (cp->ck_alg != alg || strcmp(cp->ck, pv) != 0))
		return -S3E_INVALID_PART; /* the checksum the client sent for it is not the part's
					   */
	for (int j = 0; j < 16; j++) {
		unsigned v;

		sscanf(pe + 2 * j, "%2x", &v);
		d[j] = (uint8_t)v;
	}
	EVP_DigestUpdate(cs->md5, d, 16);
	if (!cs->ck.alg)
		return 0;
	if (alg != cs->ck.alg || s3_unbase64(pv, d, sizeof(d), &n))
		cs->ck_ok = 0; /* a part sent without it: the object gets no checksum */
	else
		s3_cksum_update(&cs->ck, d, n);
	return 0;
}

/* Every listed part exists, matches, and all but the last are big enough; pa[i] gets part i's
 * attributes. */
static int parts_check(struct s3_req *r, const struct upload *u, const struct s3_complete_req *c,
		       struct glory_attr *pa, struct complete_sums *cs)
{
	char num[16];
	int rc = 0;

	for (int i = 0; i < c->n && !rc; i++) {
		struct s3_meta pm;

		snprintf(num, sizeof(num), "%05d", c->parts[i].num);
		if (glory_lookup(r->vol->v, u->ino, num, &pa[i]) ||
		    s3_read_meta(r->vol->v, pa[i].ino, &pm))
			return -S3E_INVALID_PART;
		rc = part_sums(&c->parts[i], &pm, cs);
		if (!rc && i + 1 < c->n && pa[i].size < S3_MIN_PART)
			rc = -S3E_ENTITY_TOO_SMALL;
		s3_meta_free(&pm);
	}
	return rc;
}

/* The object's metadata: the upload's (less its own fields), etag, parts, checksum. */
static int complete_meta(const struct upload *u, const char *etag, int nparts, const char *ckname,
			 const char *ck, struct s3_meta *m)
{
	char num[16];
	int rc = 0;

	snprintf(num, sizeof(num), "%d", nparts);
	for (int i = 0; !rc && i < u->m.n; i++)
		if (strcmp(u->m.name[i], "bucket") && strcmp(u->m.name[i], "key") &&
		    strcmp(u->m.name[i], "initiated") && strcmp(u->m.name[i], "checksum-algorithm"))
			rc = s3_meta_set(m, u->m.name[i], u->m.value[i]);
	if (rc || (rc = s3_meta_set(m, "etag", etag)) || (rc = s3_meta_set(m, "parts", num)))
		return rc;
	if (ck[0] && ((rc = s3_meta_set(m, ckname, ck)) ||
		      (rc = s3_meta_set(m, "x-amz-checksum-type", "COMPOSITE"))))
		return rc;
	return 0;
}

/* "ChecksumCRC32" etc.: the XML element of a checksum algorithm. */
static const char *ck_elem(int alg, char el[32])
{
	static const char *const names[] = {"", "CRC32", "CRC32C", "SHA1", "SHA256"};

	snprintf(el, 32, "Checksum%s", alg > 0 && alg <= S3_CK_SHA256 ? names[alg] : "");
	return el;
}

static int complete_respond(struct s3_req *r, const char *etag, int ck_alg, const char *ck)
{
	struct s3_buf b = {0};
	char el[32];
	int rc;

	s3_buf_puts(&b, XML_HEAD "<CompleteMultipartUploadResult xmlns=\"" S3_NS "\">");
	s3_buf_printf(&b, "<Location>/%s/", r->bucket);
	s3_xml_text(&b, r->key, strlen(r->key));
	s3_buf_puts(&b, "</Location>");
	s3_xml_elem(&b, "Bucket", r->bucket);
	s3_xml_elem(&b, "Key", r->key);
	s3_buf_printf(&b, "<ETag>&quot;%s&quot;</ETag>", etag);
	if (ck[0]) {
		s3_xml_elem(&b, ck_elem(ck_alg, el), ck);
		s3_xml_elem(&b, "ChecksumType", "COMPOSITE");
	}
	s3_buf_puts(&b, "</CompleteMultipartUploadResult>");
	rc = s3_respond_xml(r, 200, &b);
	s3_buf_free(&b);
	return rc;
}

/* The composite checksum ("" if none): base64 of the checksum of the parts' checksums, "-N". */
static void composite_final(struct complete_sums *cs, int nparts, char ckname[48], char ck[80])
{
	char v[64];

	ck[0] = '\0';
	if (!cs->ck.alg || !cs->ck_ok)
		return;
	s3_cksum_final(&cs->ck, v);
	snprintf(ckname, 48, "x-amz-checksum-%s", s3_cksum_name(cs->ck.alg));
	snprintf(ck, 80, "%s-%d", v, nparts);
}

int s3_mpu_complete(struct s3_req *r)
{
	struct s3_complete_req c;
	struct upload u;
	struct s3_meta m = {0};
	struct complete_sums cs = {.ck_ok = 1};
	struct glory_attr *pa = NULL;
	const char *alg;
	uint8_t d[16];
	char hex[33], etag[48], ckname[48] = "", ck[80];
	int rc;

	if ((rc = upload_get(r, &u)))
		return rc;
	if ((rc = s3_parse_complete(r->small.p, r->small.len, &c)))
		goto out_u;
	for (int i = 1; i < c.n; i++) {
		if (c.parts[i].num <= c.parts[i - 1].num) {
			rc = -S3E_INVALID_PART_ORDER;
			goto out_c;
		}
	}
	alg = s3_meta_get(&u.m, "checksum-algorithm");
	pa = calloc((size_t)c.n, sizeof(*pa));
	cs.md5 = EVP_MD_CTX_new();
	if (!pa || !cs.md5 || !EVP_DigestInit_ex(cs.md5, EVP_md5(), NULL) ||
	    s3_cksum_init(&cs.ck, alg ? s3_cksum_alg(alg) : S3_CK_NONE)) {
		rc = -S3E_INTERNAL;
		goto out_pa;
	}
	if ((rc = parts_check(r, &u, &c, pa, &cs)) || (rc = s3_tmp_create(r)))
		goto out_pa;
	r->md5 = EVP_MD_CTX_new();
	if (!r->md5 || !EVP_DigestInit_ex(r->md5, EVP_md5(), NULL)) {
		rc = -S3E_INTERNAL;
		goto out_pa;
	}
	for (int i = 0; i < c.n && !rc; i++)
		rc = s3_copy_data(r, pa[i].ino, 0, pa[i].size);
	if (rc)
		goto out_pa;
	EVP_DigestFinal_ex(cs.md5, d, NULL);
	s3_hex(d, 16, hex);
	snprintf(etag, sizeof(etag), "%s-%d", hex, c.n);
	composite_final(&cs, c.n, ckname, ck);
	if ((rc = complete_meta(&u, etag, c.n, ckname, ck, &m)) ||
	    (rc = s3_obj_publish(r, r->key, &m)))
		goto out_pa;
	upload_remove(r, u.id, u.ino);
	rc = complete_respond(r, etag, cs.ck.alg, ck);
out_pa:
	if (cs.md5)
		EVP_MD_CTX_free(cs.md5);
	s3_cksum_fini(&cs.ck);
	free(pa);
	s3_meta_free(&m);
out_c:
	s3_complete_req_free(&c);
out_u:
	s3_meta_free(&u.m);
	return rc;
}

/* ---- Abort, ListParts, ListMultipartUploads ---- */

struct names {
	char (*n)[40];
	int cnt, cap;
	uint64_t cookie;
};

static int names_cb(void *arg, const struct glory_dirent *e)
{
	struct names *l = arg;

	l->cookie = e->cookie;
	if (strlen(e->name) >= 40)
		return 0;
	if (l->cnt == l->cap) {
		int cap = l->cap ? l->cap * 2 : 64;
		char(*n)[40] = realloc(l->n, (size_t)cap * sizeof(*n));

		if (!n)
			return 1;
		l->n = n;
		l->cap = cap;
	}
	strcpy(l->n[l->cnt++], e->name);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int names_read(struct s3_req *r, uint64_t dir, struct names *l)
{
	int eof = 0, rc = 0;

	memset(l, 0, sizeof(*l));
	while (!eof && !rc)
		rc = glory_readdir(r->vol->v, dir, l->cookie, 1000, 0, names_cb, l, &eof);
	if (rc)
		return s3_from_glory(rc);
	if (l->cnt > 1)
		qsort(l->n, (size_t)l->cnt, sizeof(l->n[0]), name_cmp);
	return 0;
}

static void upload_remove(struct s3_req *r, const char *id, uint64_t ino)
{
	struct names l;

	if (names_read(r, ino, &l) == 0)
		for (int i = 0; i < l.cnt; i++)
			glory_unlink(r->vol->v, ino, l.n[i]);
	free(l.n);
	glory_rmdir(r->vol->v, r->vol->uploads, id);
}

int s3_mpu_abort(struct s3_req *r)
{
	struct upload u;
	int rc = upload_get(r, &u);

	if (rc)
		return rc;
	upload_remove(r, u.id, u.ino);
	s3_meta_free(&u.m);
	return s3_respond_empty(r, 204);
}

/* <ChecksumCRC32> etc. of a part that was sent with one. */
static void part_checksum_xml(struct s3_buf *b, const struct s3_meta *pm)
{
	const char *pa = s3_meta_get(pm, "checksum-algorithm"), *pv = s3_meta_get(pm, "checksum");
	int alg = pa && pv ? s3_cksum_alg(pa) : S3_CK_NONE;
	char el[32];

	if (alg != S3_CK_NONE)
		s3_xml_elem(b, ck_elem(alg, el), pv);
}

int s3_mpu_list_parts(struct s3_req *r)
{
	const char *mp = s3_qget(&r->q, "max-parts"), *pm = s3_qget(&r->q, "part-number-marker");
	long max = mp ? strtol(mp, NULL, 10) : 1000, marker = pm ? strtol(pm, NULL, 10) : 0;
	struct s3_buf b = {0};
	struct upload u;
	struct names l = {0};
	int rc, shown = 0, last = 0, truncated = 0;

	if (max < 0 || max > 1000)
		max = 1000;
	if ((rc = upload_get(r, &u)))
		return rc;
	if ((rc = names_read(r, u.ino, &l)))
		goto out;
	s3_buf_puts(&b, XML_HEAD "<ListPartsResult xmlns=\"" S3_NS "\">");
	s3_xml_elem(&b, "Bucket", r->bucket);
	s3_xml_elem(&b, "Key", r->key);
	s3_xml_elem(&b, "UploadId", u.id);
	s3_buf_printf(&b, "<PartNumberMarker>%ld</PartNumberMarker><MaxParts>%ld</MaxParts>",
		      marker, max);
	s3_buf_puts(&b, "<StorageClass>STANDARD</StorageClass>");
	for (int i = 0; i < l.cnt; i++) {
		int n = atoi(l.n[i]);
		struct glory_attr a;
		struct s3_meta m;
		char date[40];
		const char *e;

		if (n <= marker)
			continue;
		if (shown == max) {
			truncated = 1;
			break;
		}
		if (glory_lookup(r->vol->v, u.ino, l.n[i], &a) ||
		    s3_read_meta(r->vol->v, a.ino, &m))
			continue;
		e = s3_meta_get(&m, "etag");
		s3_iso_date(a.mtime_ns, date);
		s3_buf_printf(&b, "<Part><PartNumber>%d</PartNumber>", n);
		s3_xml_elem(&b, "LastModified", date);
		s3_buf_printf(&b, "<ETag>&quot;%s&quot;</ETag><Size>%llu</Size>", e ? e : "",
			      (unsigned long long)a.size);
		part_checksum_xml(&b, &m);
		s3_buf_puts(&b, "</Part>");
		s3_meta_free(&m);
		shown++;
		last = n;
	}
	s3_buf_printf(&b, "<NextPartNumberMarker>%d</NextPartNumberMarker>", last);
	s3_buf_printf(&b, "<IsTruncated>%s</IsTruncated></ListPartsResult>",
		      truncated ? "true" : "false");
	rc = s3_respond_xml(r, 200, &b);
out:
	free(l.n);
	s3_buf_free(&b);
	s3_meta_free(&u.m);
	return rc;
}

struct up_ent {
	char *key;
	char id[UPLOAD_ID_LEN + 1];
	int64_t init;
};

static int up_cmp(const void *a, const void *b)
{
	const struct up_ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->init > y->init) - (x->init < y->init);
}

int s3_mpu_list_uploads(struct s3_req *r)
{
	const char *prefix = s3_qget(&r->q, "prefix"), *mu = s3_qget(&r->q, "max-uploads");
	const char *km = s3_qget(&r->q, "key-marker");
	long max = mu ? strtol(mu, NULL, 10) : 1000;
	struct up_ent *ups = NULL;
	struct names l = {0};
	struct s3_buf b = {0};
	uint64_t bucket;
	int n = 0, rc, truncated = 0;

	if (max < 0 || max > 1000)
		max = 1000;
	if ((rc = s3_bucket_ino(r, r->bucket, &bucket)) ||
	    (rc = names_read(r, r->vol->uploads, &l)))
		return rc;
	ups = calloc((size_t)l.cnt + 1, sizeof(*ups));
	if (!ups) {
		rc = -S3E_INTERNAL;
		goto out;
	}
	for (int i = 0; i < l.cnt; i++) {
		struct glory_attr a;
		struct s3_meta m;
		const char *bk, *k, *in;

		if (!upload_id_ok(l.n[i]) || glory_lookup(r->vol->v, r->vol->uploads, l.n[i], &a) ||
		    upload_read(r, a.ino, &m))
			continue;
		bk = s3_meta_get(&m, "bucket");
		k = s3_meta_get(&m, "key");
		in = s3_meta_get(&m, "initiated");
		if (bk && k && strcmp(bk, r->bucket) == 0 &&
		    (!prefix || strncmp(k, prefix, strlen(prefix)) == 0) &&
		    (!km || strcmp(k, km) > 0) && (ups[n].key = strdup(k))) {
			strcpy(ups[n].id, l.n[i]);
			ups[n].init = in ? strtoll(in, NULL, 10) : 0;
			n++;
		}
		s3_meta_free(&m);
	}
	qsort(ups, (size_t)n, sizeof(*ups), up_cmp);
	s3_buf_puts(&b, XML_HEAD "<ListMultipartUploadsResult xmlns=\"" S3_NS "\">");
	s3_xml_elem(&b, "Bucket", r->bucket);
	s3_xml_elem(&b, "KeyMarker", km ? km : "");
	s3_xml_elem(&b, "UploadIdMarker", "");
	if (prefix)
		s3_xml_elem(&b, "Prefix", prefix);
	s3_buf_printf(&b, "<MaxUploads>%ld</MaxUploads>", max);
	if (n > max) {
		truncated = 1;
		s3_xml_elem(&b, "NextKeyMarker", ups[max - 1 >= 0 ? max - 1 : 0].key);
		n = (int)max;
	}
	s3_buf_printf(&b, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false");
	for (int i = 0; i < n; i++) {
		char date[40];

		s3_iso_date(ups[i].init, date);
		s3_buf_puts(&b, "<Upload>");
		s3_xml_elem(&b, "Key", ups[i].key);
		s3_xml_elem(&b, "UploadId", ups[i].id);
		s3_xml_elem(&b, "Initiated", date);
		s3_buf_puts(&b, "<StorageClass>STANDARD</StorageClass></Upload>");
	}
	s3_buf_puts(&b, "</ListMultipartUploadsResult>");
	rc = s3_respond_xml(r, 200, &b);
out:
	for (int i = 0; ups && i < l.cnt; i++)
		free(ups[i].key);
	free(ups);
	free(l.n);
	s3_buf_free(&b);
	return rc;
}

/* S3 gateway: buckets, the top-level directories of the tenant's volume. */
#include "gateways/s3/s3_server.h"

#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS	 "http://s3.amazonaws.com/doc/2006-03-01/"

int s3_bucket_ino(struct s3_req *r, const char *bucket, uint64_t *ino)
{
	struct glory_attr a;
	int rc;

	if (!s3_bucket_name_ok(bucket))
		return -S3E_INVALID_BUCKET_NAME;
	rc = glory_lookup(r->vol->v, GLORY_ROOT, bucket, &a);
	if (rc == -GL_ENOENT || (!rc && !S_ISDIR(a.mode)))
		return -S3E_NO_SUCH_BUCKET;
	if (rc)
		return s3_from_glory(rc);
	*ino = a.ino;
	return 0;
}

struct blist {
	struct s3_buf *b;
	uint64_t cookie;
};

static int bucket_cb(void *arg, const struct glory_dirent *e)
{
	struct blist *l = arg;
	char date[40];

	l->cookie = e->cookie;
	if (!S_ISDIR(e->mode) || !s3_bucket_name_ok(e->name) || !e->attr)
		return 0;
	s3_iso_date(e->attr->btime_ns ? e->attr->btime_ns : e->attr->ctime_ns, date);
	s3_buf_puts(l->b, "<Bucket>");
	s3_xml_elem(l->b, "Name", e->name);
	s3_xml_elem(l->b, "CreationDate", date);
	s3_buf_puts(l->b, "</Bucket>");
	return 0;
}

int s3_list_buckets(struct s3_req *r)
{
	struct s3_buf b = {0};
	struct blist l = {&b, 0};
	int eof = 0, rc = 0;

	s3_buf_puts(&b, XML_HEAD "<ListAllMyBucketsResult xmlns=\"" S3_NS "\"><Owner>");
	s3_xml_elem(&b, "ID", r->tenant);
	s3_xml_elem(&b, "DisplayName", r->tenant);
	s3_buf_puts(&b, "</Owner><Buckets>");
	while (!eof && !rc)
		rc = glory_readdir(r->vol->v, GLORY_ROOT, l.cookie, 1000, 1, bucket_cb, &l, &eof);
	s3_buf_puts(&b, "</Buckets></ListAllMyBucketsResult>");
	if (!rc)
		rc = s3_respond_xml(r, 200, &b);
	else
		rc = s3_from_glory(rc);
	s3_buf_free(&b);
	return rc;
}

/* Another tenant has a bucket of this name (bucket names are global, as on S3). */
static int taken_elsewhere(struct s3_req *r)
{
	struct glory_tenant *t = NULL;
	int n = 0, taken = 0;

	if (glory_tenant_list(r->gw->cfg.g, &t, &n))
		return 0;
	for (int i = 0; i < n && !taken; i++) {
		struct glory_vol *v;
		struct glory_attr a;

		if (strcmp(t[i].name, r->tenant) == 0 ||
		    glory_vol_open(r->gw->cfg.g, t[i].name, r->gw->cfg.volume, &v))
			continue;
		taken = glory_lookup(v, GLORY_ROOT, r->bucket, &a) == 0 && S_ISDIR(a.mode);
		glory_vol_close(v);
	}
	free(t);
	return taken;
}

static int cfg_cb(void *arg, const char *path, const char *text, size_t len)
{
	(void)arg;
	(void)text;
	(void)len;
	return strncmp(path, "/CreateBucketConfiguration", 26) == 0 ? 0 : -S3E_MALFORMED_XML;
}

int s3_create_bucket(struct s3_req *r)
{
	struct glory_attr a;
	int rc;

	if (r->small.len && (rc = s3_xml_parse(r->small.p, r->small.len, cfg_cb, NULL)))
		return rc;
	rc = glory_lookup(r->vol->v, GLORY_ROOT, r->bucket, &a);
	if (rc == 0)
		return -S3E_BUCKET_OWNED;
	if (taken_elsewhere(r))
		return -S3E_BUCKET_EXISTS;
	rc = glory_mkdir(r->vol->v, GLORY_ROOT, r->bucket, 040755, 0, 0, &a);
	if (rc == -GL_EEXIST)
		return -S3E_BUCKET_OWNED;
	if (rc)
		return s3_from_glory(rc);
	{
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		char loc[80];

		snprintf(loc, sizeof(loc), "/%s", r->bucket);
		if (resp)
			MHD_add_response_header(resp, "Location", loc);
		return s3_queue(r, 200, resp);
	}
}

int s3_head_bucket(struct s3_req *r)
{
	uint64_t ino;
	int rc = s3_bucket_ino(r, r->bucket, &ino);
	struct MHD_Response *resp;

	if (rc)
		return rc;
	resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (resp)
		MHD_add_response_header(resp, "x-amz-bucket-region", r->gw->cfg.region);
	return s3_queue(r, 200, resp);
}

int s3_delete_bucket(struct s3_req *r)
{
	uint64_t ino;
	int rc = s3_bucket_ino(r, r->bucket, &ino);

	if (rc)
		return rc;
	rc = glory_rmdir(r->vol->v, GLORY_ROOT, r->bucket);
	if (rc == -GL_ENOTEMPTY)
		return -S3E_BUCKET_NOT_EMPTY;
	if (rc == -GL_ENOENT)
		return -S3E_NO_SUCH_BUCKET;
	if (rc)
		return s3_from_glory(rc);
	return s3_respond_empty(r, 204);
}

int s3_bucket_location(struct s3_req *r)
{
	struct s3_buf b = {0};
	uint64_t ino;
	int rc = s3_bucket_ino(r, r->bucket, &ino);

	if (rc)
		return rc;
	s3_buf_puts(&b, XML_HEAD "<LocationConstraint xmlns=\"" S3_NS "\">");
	if (strcmp(r->gw->cfg.region, "us-east-1") != 0) /* S3 says nothing for us-east-1 */
		s3_xml_text(&b, r->gw->cfg.region, strlen(r->gw->cfg.region));
	s3_buf_puts(&b, "</LocationConstraint>");
	rc = s3_respond_xml(r, 200, &b);
	s3_buf_free(&b);
	return rc;
}

int s3_bucket_versioning(struct s3_req *r)
{
	struct s3_buf b = {0};
	uint64_t ino;
	int rc = s3_bucket_ino(r, r->bucket, &ino);

	if (rc)
		return rc;
	s3_buf_puts(&b, XML_HEAD "<VersioningConfiguration xmlns=\"" S3_NS "\"/>");
	rc = s3_respond_xml(r, 200, &b);
	s3_buf_free(&b);
	return rc;
}

int s3_subresource(struct s3_req *r)
{
	const char *what = r->op;
	struct s3_buf b = {0};
	uint64_t ino;
	int rc = s3_bucket_ino(r, r->bucket, &ino);

	r->op = NULL;
	if (rc)
		return rc;
	if (r->key) {
		struct s3_obj o;

		if ((rc = s3_obj_get(r, r->bucket, r->key, &o)))
			return rc;
		s3_obj_free(&o);
	}
	if (strcmp(r->method, "PUT") == 0)
		return s3_respond_empty(r, 200);
	s3_buf_puts(&b, XML_HEAD);
	if (strcmp(what, "acl") == 0) {
		s3_buf_puts(&b, "<AccessControlPolicy xmlns=\"" S3_NS "\"><Owner>");
		s3_xml_elem(&b, "ID", r->tenant);
		s3_xml_elem(&b, "DisplayName", r->tenant);
		s3_buf_puts(&b, "</Owner><AccessControlList><Grant><Grantee "
				"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
				"xsi:type=\"CanonicalUser\">");
		s3_xml_elem(&b, "ID", r->tenant);
		s3_xml_elem(&b, "DisplayName", r->tenant);
		s3_buf_puts(&b, "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
				"</AccessControlList></AccessControlPolicy>");
	} else if (strcmp(what, "tagging") == 0) {
		s3_buf_puts(&b, "<Tagging xmlns=\"" S3_NS "\"><TagSet></TagSet></Tagging>");
	} else if (strcmp(what, "logging") == 0) {
		s3_buf_puts(&b, "<BucketLoggingStatus xmlns=\"" S3_NS "\"/>");
	} else if (strcmp(what, "notification") == 0) {
		s3_buf_puts(&b, "<NotificationConfiguration xmlns=\"" S3_NS "\"/>");
	} else if (strcmp(what, "requestPayment") == 0) {
		s3_buf_puts(&b, "<RequestPaymentConfiguration xmlns=\"" S3_NS
				"\"><Payer>BucketOwner</Payer></RequestPaymentConfiguration>");
	} else {
		s3_buf_puts(&b, "<AccelerateConfiguration xmlns=\"" S3_NS "\"/>");
	}
	rc = s3_respond_xml(r, 200, &b);
	s3_buf_free(&b);
	return rc;
}

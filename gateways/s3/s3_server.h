/* Private to gateways/s3: the server's request and gateway state, shared by s3_http.c (the
 * HTTP side: auth, routing, bodies, responses) and the operation files. */
#ifndef GL_S3_SERVER_H
#define GL_S3_SERVER_H

#include "gateways/libglory/glory.h"
#include "gateways/s3/s3.h"
#include "gateways/s3/s3_internal.h"

#include <microhttpd.h>
#include <pthread.h>

#define S3_KEYS_CACHED	 64
#define S3_KEY_TTL_S	 5.0
#define S3_VOLS_MAX	 256
#define S3_SMALL_MAX	 (4u << 20) /* XML request bodies */
#define S3_SKEW_S	 900	    /* 15 minutes, as S3 */
#define S3_SYS_DIR	 ".s3"	    /* per volume: tmp/ (objects being written), uploads/ */
#define S3_MIN_PART	 (5ull << 20)
#define S3_COPY_BUF	 (4u << 20)
#define S3_DEFAULT_CTYPE "binary/octet-stream"

/* An open tenant volume (never closed while the gateway runs; guarded by s3_gw.lock until
 * filled in, then read-only). */
struct s3_vol {
	char tenant[64];
	struct glory_vol *v;
	uint64_t tmp, uploads; /* inodes of /.s3/tmp and /.s3/uploads */
};

struct s3_key_ent {
	char access[64], secret[64], tenant[64];
	double at;
};

struct s3_gw {
	struct gl_s3_cfg cfg;
	pthread_mutex_t lock; /* guards keys, vols, nvols */
	struct s3_key_ent keys[S3_KEYS_CACHED];
	struct s3_vol *vols[S3_VOLS_MAX];
	int nvols;
	uint64_t next_id;
};

enum { S3_BODY_NONE, S3_BODY_SMALL, S3_BODY_FILE };

struct s3_req;
typedef int (*s3_op_fn)(struct s3_req *r);

/* One HTTP request. Owned by the connection's thread from the URI callback to the completed
 * callback. */
struct s3_req {
	struct s3_gw *gw;
	struct MHD_Connection *conn;
	char *uri;     /* the raw request target */
	char *path;    /* decoded path (virtual host: without the bucket) */
	char *rawpath; /* as sent */
	struct s3_query q;
	struct s3_hdrs h;
	const char *method;
	char bucket[64];
	char *key; /* decoded object key, NULL for bucket and service requests */
	char tenant[64];
	struct s3_vol *vol;
	char reqid[24];
	int started, responded, vhost;
	/* the body pipeline: raw -> (aws-chunked) -> hashes -> sink */
	int body, chunked, verify_sha, err;
	struct s3_chunked ch;
	void *sha, *md5; /* EVP_MD_CTX */
	char want_sha[72];
	struct s3_cksum ck;
	char ck_want[64];
	uint64_t got, want_len; /* decoded bytes so far; expected (UINT64_MAX: unknown) */
	struct s3_buf small;
	struct glory_file *f;
	uint64_t tmp_ino;
	char tmpname[48];
	int published;
	s3_op_fn finish; /* runs after the body */
	/* for the operation */
	uint8_t md5sum[16];
	char ck_value[64]; /* the checksum computed, base64 ("" if none) */
	void *op;	   /* operation state */
	void (*op_free)(void *op);
};

/* s3_http.c: responses. Each queues a response and returns 0 (or -S3E_INTERNAL). */
struct MHD_Response;
void s3_std_headers(struct s3_req *r, struct MHD_Response *resp);
int s3_queue(struct s3_req *r, unsigned status, struct MHD_Response *resp);
int s3_respond_xml(struct s3_req *r, unsigned status, struct s3_buf *xml);
int s3_respond_empty(struct s3_req *r, unsigned status);
int s3_respond_error(struct s3_req *r, int e);

/* s3_auth.c: checks the request's signature and sets r->tenant (and the body framing it
 * announces); the tenant's volume, opened once (and its abandoned temporary files removed). */
int s3_authenticate(struct s3_req *r);
int s3_vol_get(struct s3_gw *gw, const char *tenant, struct s3_vol **out);

/* s3_http.c: temporary files. */
int s3_tmp_create(struct s3_req *r); /* opens r->f on a new file in /.s3/tmp */
void s3_tmp_drop(struct s3_req *r);  /* closes and removes it (unless published) */
/* Commits r->f and checks what the body said about itself (lengths, digests, checksums). */
int s3_body_check(struct s3_req *r);
void s3_random_hex(char *out, size_t n); /* n hex digits + NUL */
/* Sets up the body pipeline for an operation: kind S3_BODY_NONE (discarded), _SMALL (into
 * r->small) or _FILE (into r->f); finish runs once it is all in and checked. */
int s3_body_begin(struct s3_req *r, int kind, s3_op_fn finish);

/* s3_bucket.c */
int s3_bucket_ino(struct s3_req *r, const char *bucket, uint64_t *ino);
int s3_list_buckets(struct s3_req *r);
int s3_create_bucket(struct s3_req *r);
int s3_head_bucket(struct s3_req *r);
int s3_delete_bucket(struct s3_req *r);
int s3_bucket_location(struct s3_req *r);
int s3_bucket_versioning(struct s3_req *r);
/* GET of ?acl, ?tagging, ?logging, ... (r->op names it); PUT ?acl. */
int s3_subresource(struct s3_req *r);

/* s3_list.c */
int s3_list_objects(struct s3_req *r); /* v1, or v2 with list-type=2 */

/* s3_object.c */
struct s3_obj {
	struct glory_attr a;
	uint64_t parent;
	struct s3_meta m;
	char etag[72]; /* quoted */
};
/* Finds bucket/key (a file; or a directory with metadata for a key ending in "/"). */
int s3_obj_get(struct s3_req *r, const char *bucket, const char *key, struct s3_obj *o);
void s3_obj_free(struct s3_obj *o);
/* The etag of a file: the stored one while size and mtime match, else derived from them. */
void s3_obj_etag(const struct glory_attr *a, const struct s3_meta *m, char out[72]);
/* Makes the directories of key's parent under the bucket; *parent, *name (into key). */
int s3_obj_parent(struct s3_req *r, uint64_t bucket, const char *key, int create, uint64_t *parent,
		  const char **name);
/* Renames the finished temporary file to bucket/key with metadata m (etag etc. set). */
int s3_obj_publish(struct s3_req *r, const char *key, struct s3_meta *m);
/* Removes the empty directories left above a removed key (not the bucket). */
void s3_obj_prune(struct s3_req *r, uint64_t bucket, const char *key);
/* Metadata from the request headers: Content-Type & co, x-amz-meta-*. */
int s3_meta_from_headers(struct s3_req *r, struct s3_meta *m);
int s3_put_begin(struct s3_req *r);
int s3_get_object(struct s3_req *r);
/* s3_get.c: *out, a response whose body is bytes [start, start + len) of file a (len > 0;
 * read ahead by a worker thread when they span more than one chunk; HEAD reads nothing). The
 * response owns the open file and the buffers; MHD frees them with it. */
int s3_get_body(struct s3_req *r, const struct glory_attr *a, uint64_t start, uint64_t len,
		struct MHD_Response **out);
int s3_delete_object(struct s3_req *r);
int s3_delete_objects(struct s3_req *r);
int s3_copy_object(struct s3_req *r);
/* x-amz-copy-source: [/]bucket/key[?versionId=...], percent-encoded; *key malloc'd. */
int s3_copy_source(struct s3_req *r, char bucket[64], char **key);
/* The object metadata of ino (empty when it has none). */
int s3_read_meta(struct glory_vol *v, uint64_t ino, struct s3_meta *m);
/* Copies length bytes at off of object (bucket, key) into r->f at r->got. */
int s3_copy_data(struct s3_req *r, uint64_t ino, uint64_t off, uint64_t len);
/* Evaluates If-Match & co for an object: 0, -S3E_PRECONDITION or -S3E_NOT_MODIFIED. prefix is
 * "" or "x-amz-copy-source-". */
int s3_conditions(struct s3_req *r, const struct s3_obj *o, const char *prefix);

/* s3_multipart.c */
int s3_mpu_create(struct s3_req *r);
int s3_mpu_part_begin(struct s3_req *r);
int s3_mpu_part_copy(struct s3_req *r);
int s3_mpu_complete(struct s3_req *r);
int s3_mpu_abort(struct s3_req *r);
int s3_mpu_list_parts(struct s3_req *r);
int s3_mpu_list_uploads(struct s3_req *r);

#endif

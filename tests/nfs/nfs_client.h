/* A small synchronous layer over libnfs's raw RPC API for the NFS tests: connect, MNT, and one
 * call at a time (or several in flight) with the result copied out in the callback. */
#ifndef GL_TESTS_NFS_CLIENT_H
#define GL_TESTS_NFS_CLIENT_H

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fh {
	uint32_t len;
	char data[NFS3_FHSIZE];
};

struct call;
typedef void (*take_fn)(struct call *c, void *data);

struct call {
	int done, status;
	char err[256];
	take_fn take;
	void *out;
	size_t outsz;
	void *arg; /* for take */
};

static void call_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct call *c = priv;

	(void)rpc;
	c->done = 1;
	c->status = status;
	if (status == RPC_STATUS_SUCCESS) {
		if (c->out)
			memcpy(c->out, data, c->outsz);
		if (c->take)
			c->take(c, data);
	} else {
		snprintf(c->err, sizeof(c->err), "%s", data ? (const char *)data : "cancelled");
	}
}

/* Services rpc until every call in cs[0..n-1] is done (30 s at most); 0 if all succeeded. */
static int wait_calls(struct rpc_context *rpc, struct call **cs, int n)
{
	time_t end = time(NULL) + 30;

	for (;;) {
		int pending = 0, bad = 0;
		struct pollfd p;

		for (int i = 0; i < n; i++) {
			pending += !cs[i]->done;
			bad += cs[i]->done && cs[i]->status != RPC_STATUS_SUCCESS;
		}
		if (!pending)
			return bad ? -1 : 0;
		if (time(NULL) > end) {
			fprintf(stderr, "nfs_check: no answer within 30 s\n");
			return -1;
		}
		p.fd = rpc_get_fd(rpc);
		p.events = (short)rpc_which_events(rpc);
		p.revents = 0;
		if (poll(&p, 1, 100) < 0 || rpc_service(rpc, p.revents) < 0) {
			fprintf(stderr, "nfs_check: connection: %s\n", rpc_get_error(rpc));
			return -1;
		}
	}
}

static int wait_call(struct rpc_context *rpc, struct call *c)
{
	struct call *cs[1] = {c};
	int rc = wait_calls(rpc, cs, 1);

	if (rc && c->done)
		fprintf(stderr, "nfs_check: RPC failed: %s\n", c->err);
	return rc;
}

/* CALL(rpc, c, rpc_nfs3_x_async(rpc, call_cb, &args, &c)): starts and waits; 0 or -1. */
#define CALL(rpc, c, start) ((start) == 0 ? wait_call(rpc, &(c)) : -1)

static int connected_cb_done;
static void connect_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	call_cb(rpc, status, data, priv);
	connected_cb_done = 1;
}

/* A connection to host:port for program/version, AUTH_SYS as uid/gid. NULL on failure. */
static struct rpc_context *rpc_open(const char *host, int port, int prog, int vers, uint32_t uid,
				    uint32_t gid)
{
	struct rpc_context *rpc = rpc_init_context();
	struct call c = {0};

	if (!rpc)
		return NULL;
	rpc_set_auth(rpc, libnfs_authunix_create("nfs-check", uid, gid, 0, NULL));
	if (CALL(rpc, c, rpc_connect_port_async(rpc, host, port, prog, vers, connect_cb, &c))) {
		fprintf(stderr, "nfs_check: cannot connect to %s:%d: %s\n", host, port,
			rpc_get_error(rpc));
		rpc_destroy_context(rpc);
		return NULL;
	}
	return rpc;
}

static void fh_set(nfs_fh3 *dst, const struct fh *src)
{
	dst->data.data_len = src->len;
	dst->data.data_val = (char *)src->data;
}

static void fh_copy(struct fh *dst, const nfs_fh3 *src)
{
	dst->len = src->data.data_len > NFS3_FHSIZE ? NFS3_FHSIZE : src->data.data_len;
	memcpy(dst->data, src->data.data_val, dst->len);
}

static void take_mnt(struct call *c, void *data)
{
	mountres3 *r = data;

	if (r->fhs_status == MNT3_OK) {
		struct fh *f = c->arg;

		f->len = r->mountres3_u.mountinfo.fhandle.fhandle3_len;
		memcpy(f->data, r->mountres3_u.mountinfo.fhandle.fhandle3_val, f->len);
	}
}

/* MNT path: the status (MNT3_OK: *root set); -1 when the call failed. */
static int mnt(const char *host, int mport, const char *path, struct fh *root)
{
	struct rpc_context *rpc = rpc_open(host, mport, MOUNT_PROGRAM, MOUNT_V3, 0, 0);
	mountres3 res;
	struct call c = {.take = take_mnt, .arg = root, .out = &res, .outsz = sizeof(res)};
	int rc;

	if (!rpc)
		return -1;
	rc = CALL(rpc, c, rpc_mount3_mnt_async(rpc, call_cb, (char *)path, &c));
	rpc_destroy_context(rpc);
	return rc ? -1 : (int)res.fhs_status;
}

/* Results of the calls that make an object (CREATE, MKDIR, SYMLINK, MKNOD share a layout). */
struct newobj {
	int status;
	struct fh fh;
	int has_attr;
	fattr3 attr;
	wcc_data dir_wcc;
};

static void take_newobj(struct call *c, void *data)
{
	CREATE3res *r = data;
	struct newobj *o = c->arg;

	o->status = r->status;
	if (r->status != NFS3_OK) {
		o->dir_wcc = r->CREATE3res_u.resfail.dir_wcc;
		return;
	}
	if (r->CREATE3res_u.resok.obj.handle_follows)
		fh_copy(&o->fh, &r->CREATE3res_u.resok.obj.post_op_fh3_u.handle);
	o->has_attr = r->CREATE3res_u.resok.obj_attributes.attributes_follow;
	o->attr = r->CREATE3res_u.resok.obj_attributes.post_op_attr_u.attributes;
	o->dir_wcc = r->CREATE3res_u.resok.dir_wcc;
}

struct lookup {
	int status;
	struct fh fh;
	fattr3 attr;
};

static void take_lookup(struct call *c, void *data)
{
	LOOKUP3res *r = data;
	struct lookup *o = c->arg;

	o->status = r->status;
	if (r->status == NFS3_OK) {
		fh_copy(&o->fh, &r->LOOKUP3res_u.resok.object);
		o->attr = r->LOOKUP3res_u.resok.obj_attributes.post_op_attr_u.attributes;
	}
}

#endif

/* libFuzzer: what an NFS client sends (gateways/nfs): the byte stream is cut into records by
 * record marking, fed in pieces whose sizes the input chooses; each record is decoded as an RPC
 * call (AUTH_SYS credentials) and its NFSv3, NLM 4, NSM 1 or MOUNT arguments, handles included.
 * Invariants: nothing is read past a record, decoded lengths stay within their limits, a decoded
 * handle encodes back to the same bytes. */
#include "common/compiler.h"
#include "gateways/nfs/nfs_proto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fh(const struct nfs_fh3 *fh)
{
	struct nfs_handle h;
	struct nfs_fh3 again;

	if (fh->len > NFS3_FHSIZE)
		__builtin_trap();
	if (nfs_fh_decode(fh, &h))
		return;
	nfs_fh_encode(&h, &again);
	if (again.len != fh->len || memcmp(again.data, fh->data, fh->len))
		__builtin_trap();
}

static void decode_record(const uint8_t *rec, size_t len)
{
	static union nfs3_args a;
	char path[MNT3_PATH_MAX + 1];
	struct rpc_call c;
	struct nx_in x;
	struct nx_out o;

	nx_in_init(&x, rec, len);
	if (rpc_decode_call(&x, &c))
		return;
	if (x.pos > len || c.cred.ngids > NR_AUTH_SYS_GIDS)
		__builtin_trap();
	if (c.prog == NLM_PROGRAM) {
		static struct nlm4_args n;

		if (nlm4_decode_args(c.proc % 24, &x, &n) == 0 &&
		    (x.pos > len || n.fh.len > NFS3_FHSIZE || n.oh_len > NLM_MAXSTR ||
		     n.cookie_len > NLM_MAXSTR || strlen(n.caller) > NLM_MAXSTR))
			__builtin_trap();
		return;
	}
	if (c.prog == NSM_PROGRAM) {
		static struct nsm_args m;

		if (nsm_decode_args(c.proc % 8, &x, &m) == 0 &&
		    (x.pos > len || strlen(m.mon_name) > SM_MAXSTRLEN ||
		     strlen(m.my_name) > SM_MAXSTRLEN))
			__builtin_trap();
		return;
	}
	if (c.prog == MOUNT_PROGRAM) {
		if (mnt3_decode_path(&x, path) == 0 && strlen(path) > MNT3_PATH_MAX)
			__builtin_trap();
		return;
	}
	if (nfs3_decode_args(c.proc % (NFS3_NPROC + 1), &x, &a) == 0) {
		if (x.pos > len)
			__builtin_trap();
		check_fh(&a.fh); /* the first field of every handle-taking procedure */
		if (c.proc % (NFS3_NPROC + 1) == NFS3_WRITE &&
		    (a.write.len > NFS_MAX_IO ||
		     (a.write.len &&
		      (a.write.data < rec || a.write.data + a.write.len > rec + len))))
			__builtin_trap();
	}
	/* the reply header for it encodes whatever the call said */
	if (nx_out_init(&o, 64) == 0) {
		rpc_put_accepted(&o, c.xid, NR_SUCCESS);
		nx_out_free(&o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfs_rm rm;
	size_t used = 1;

	if (size < 1)
		return 0;
	nfs_rm_init(&rm, 64 * 1024);
	while (used < size) {
		size_t piece = 1 + (data[0] * (used + 7)) % 97, n = GL_MIN(piece, size - used);
		int done;
		long k = nfs_rm_feed(&rm, data + used, n, &done);

		if (k < 0)
			break; /* over the limit: the connection would be closed */
		if (k == 0 || (size_t)k > n)
			__builtin_trap();
		used += (size_t)k;
		if (done) {
			uint8_t *rec;
			size_t len;

			nfs_rm_take(&rm, &rec, &len);
			if (len > 64 * 1024)
				__builtin_trap();
			decode_record(rec, len);
			free(rec);
		}
	}
	nfs_rm_fini(&rm);
	return 0;
}

/* nfsbench: load through an NFSv3 server with libnfs, several requests in flight.
 *
 *   nfsbench HOST NFSPORT MOUNTPORT EXPORT NAME MODE SIZE_MIB [INFLIGHT [SECONDS]]
 *
 * MODE: seqwrite (1 MiB UNSTABLE writes of NAME, then COMMIT), seqread (1 MiB reads), randwrite
 * (4 KiB UNSTABLE writes at random 4 KiB offsets within SIZE for SECONDS, then COMMIT),
 * randread (4 KiB reads likewise). Prints "MB/s IOPS" like tools/bench/fuse.sh's fio lines.
 */
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slot {
	int busy, failed;
	union {
		WRITE3args w;
		READ3args r;
	} a;
};

static int done_ok, failures;
static char fh_data[NFS3_FHSIZE];
static nfs_fh3 fh;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pump(struct rpc_context *rpc)
{
	struct pollfd p = {rpc_get_fd(rpc), (short)rpc_which_events(rpc), 0};

	if (poll(&p, 1, 1000) < 0 || rpc_service(rpc, p.revents) < 0) {
		fprintf(stderr, "nfsbench: %s\n", rpc_get_error(rpc));
		return -1;
	}
	return 0;
}

static void generic_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	int *flag = priv;

	(void)rpc;
	(void)data;
	*flag = status == RPC_STATUS_SUCCESS ? 1 : -1;
}

static void mnt_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	mountres3 *r = data;
	int *flag = priv;

	(void)rpc;
	if (status != RPC_STATUS_SUCCESS || r->fhs_status != MNT3_OK) {
		*flag = -1;
		return;
	}
	fh.data.data_len = r->mountres3_u.mountinfo.fhandle.fhandle3_len;
	memcpy(fh_data, r->mountres3_u.mountinfo.fhandle.fhandle3_val, fh.data.data_len);
	fh.data.data_val = fh_data;
	*flag = 1;
}

static void create_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	CREATE3res *r = data;
	int *flag = priv;

	(void)rpc;
	if (status != RPC_STATUS_SUCCESS || r->status != NFS3_OK ||
	    !r->CREATE3res_u.resok.obj.handle_follows) {
		*flag = -1;
		return;
	}
	fh.data.data_len = r->CREATE3res_u.resok.obj.post_op_fh3_u.handle.data.data_len;
	memcpy(fh_data, r->CREATE3res_u.resok.obj.post_op_fh3_u.handle.data.data_val,
	       fh.data.data_len);
	*flag = 1;
}

static void lookup_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	LOOKUP3res *r = data;
	int *flag = priv;

	(void)rpc;
	if (status != RPC_STATUS_SUCCESS || r->status != NFS3_OK) {
		*flag = -1;
		return;
	}
	fh.data.data_len = r->LOOKUP3res_u.resok.object.data.data_len;
	memcpy(fh_data, r->LOOKUP3res_u.resok.object.data.data_val, fh.data.data_len);
	*flag = 1;
}

/* Services rpc until a callback sets *flag: 0 if it succeeded. */
static int wait_flag(struct rpc_context *rpc, int *flag)
{
	while (!*flag)
		if (pump(rpc))
			return -1;
	return *flag > 0 ? 0 : -1;
}

static struct rpc_context *open_rpc(const char *host, int port, int prog, int vers)
{
	struct rpc_context *rpc = rpc_init_context();
	int flag = 0;

	rpc_set_auth(rpc, libnfs_authunix_create("nfsbench", 0, 0, 0, NULL));
	if (rpc_connect_port_async(rpc, host, port, prog, vers, generic_cb, &flag) ||
	    wait_flag(rpc, &flag)) {
		fprintf(stderr, "nfsbench: cannot connect to %s:%d\n", host, port);
		exit(1);
	}
	return rpc;
}

static void io_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct slot *s = priv;
	WRITE3res *w = data; /* status is the first field of READ3res too */

	(void)rpc;
	s->busy = 0;
	if (status == RPC_STATUS_SUCCESS && w->status == NFS3_OK)
		done_ok++;
	else
		failures++;
}

static uint64_t rnd(void)
{
	static uint64_t x = 88172645463325252ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

int main(int argc, char **argv)
{
	const char *host, *mode, *name;
	int nport, mport, inflight, seq, writes, flag = 0;
	uint64_t size, bs, next = 0, ops_total;
	double seconds, t0, t;
	struct rpc_context *rpc;
	struct slot *slots;
	char *buf;

	if (argc < 8) {
		fprintf(stderr,
			"usage: nfsbench HOST NFSPORT MOUNTPORT EXPORT NAME "
			"seqwrite|seqread|randwrite|randread SIZE_MIB [INFLIGHT [SECONDS]]\n");
		return 2;
	}
	host = argv[1];
	nport = atoi(argv[2]);
	mport = atoi(argv[3]);
	name = argv[5];
	mode = argv[6];
	size = strtoull(argv[7], NULL, 10) << 20;
	inflight = argc > 8 ? atoi(argv[8]) : 16;
	seconds = argc > 9 ? atof(argv[9]) : 15;
	seq = !strncmp(mode, "seq", 3);
	writes = strstr(mode, "write") != NULL;
	bs = seq ? 1 << 20 : 4096;
	ops_total = seq ? size / bs : UINT64_MAX;

	rpc = open_rpc(host, mport, MOUNT_PROGRAM, MOUNT_V3);
	if (rpc_mount3_mnt_async(rpc, mnt_cb, argv[4], &flag) || wait_flag(rpc, &flag))
		return 1;
	rpc_destroy_context(rpc);
	rpc = open_rpc(host, nport, NFS_PROGRAM, NFS_V3);
	flag = 0;
	if (!strcmp(mode, "seqwrite")) {
		CREATE3args c;

		memset(&c, 0, sizeof(c));
		c.where.dir = fh;
		c.where.name = (char *)name;
		c.how.mode = UNCHECKED;
		c.how.createhow3_u.obj_attributes.mode.set_it = 1;
		c.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = 0644;
		if (rpc_nfs3_create_async(rpc, create_cb, &c, &flag) || wait_flag(rpc, &flag))
			return 1;
	} else {
		LOOKUP3args l;

		l.what.dir = fh;
		l.what.name = (char *)name;
		if (rpc_nfs3_lookup_async(rpc, lookup_cb, &l, &flag) || wait_flag(rpc, &flag))
			return 1;
	}
	slots = calloc((size_t)inflight, sizeof(*slots));
	buf = malloc(bs);
	for (uint64_t i = 0; i < bs; i++)
		buf[i] = (char)rnd();
	t0 = now();
	for (;;) {
		int busy = 0;

		t = now();
		for (int i = 0; i < inflight; i++) {
			struct slot *s = &slots[i];
			int rc;

			busy += s->busy;
			if (s->busy || next >= ops_total || (!seq && t - t0 >= seconds))
				continue;
			uint64_t off = seq ? next * bs : (rnd() % (size / bs)) * bs;

			next++;
			s->busy = 1;
			busy++;
			if (writes) {
				s->a.w.file = fh;
				s->a.w.offset = off;
				s->a.w.count = (count3)bs;
				s->a.w.stable = UNSTABLE;
				s->a.w.data.data_len = (u_int)bs;
				s->a.w.data.data_val = buf;
				rc = rpc_nfs3_write_async(rpc, io_cb, &s->a.w, s);
			} else {
				s->a.r.file = fh;
				s->a.r.offset = off;
				s->a.r.count = (count3)bs;
				rc = rpc_nfs3_read_async(rpc, io_cb, &s->a.r, s);
			}
			if (rc)
				return 1;
		}
		if (!busy)
			break;
		if (pump(rpc))
			return 1;
	}
	if (writes) {
		COMMIT3args c = {fh, 0, 0};

		flag = 0;
		if (rpc_nfs3_commit_async(rpc, generic_cb, &c, &flag) || wait_flag(rpc, &flag))
			return 1;
	}
	t = now() - t0;
	if (failures)
		fprintf(stderr, "nfsbench: %d requests failed\n", failures);
	printf("%.0f %.0f\n", (double)done_ok * (double)bs / 1e6 / t, done_ok / t);
	rpc_destroy_context(rpc);
	free(slots);
	free(buf);
	return failures ? 1 : 0;
}

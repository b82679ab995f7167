/* Calls to a client's RPC services: its portmapper (PMAP GETPORT, TCP, port 111 at the client's
 * address) finds a program, then one call is made to it. Used for NLM 4 callbacks (telling a
 * client's lock manager that a lock it waited for, BLOCKED, is now its own: NLM4_GRANTED) and
 * by NSM (SM_NOTIFY to a client's statd after a restart, nfs_nsm.c). Blocking calls with
 * timeouts, made from threads of their own. */
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PMAP_PROGRAM	   100000
#define PMAP_V2		   2
#define PMAP_GETPORT	   3
#define NLM4_GRANTED_CALL  5
#define CALLBACK_TIMEOUT_S 5

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = recv(fd, p, n, 0);

		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The AUTH_SYS body of our calls: stamp 0, machine name "glory", uid 0, gid 0, no groups. */
static const uint8_t auth_sys[28] = {0, 0, 0, 0, 0, 0, 0, 5, 'g', 'l', 'o', 'r', 'y', 0,
				     0, 0, 0, 0, 0, 0, 0, 0, 0,	  0,   0,   0,	 0,   0};

int nfs_rpc_call_tcp(uint32_t addr, uint16_t port, uint32_t prog, uint32_t vers, uint32_t proc,
		     const struct nx_out *args, uint8_t **res, size_t *len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {CALLBACK_TIMEOUT_S, 0};
	uint32_t xid = 0, mark, w;
	struct nx_out o;
	struct nx_in x;
	uint8_t hdr[4], *rec = NULL;
	int fd, rc = -1;

	if (getrandom(&xid, sizeof(xid), 0) != sizeof(xid))
		xid = (uint32_t)getpid();
	if (nx_out_init(&o, 256 + args->len))
		return -1;
	nx_put_u32(&o, 0); /* record mark */
	nx_put_u32(&o, xid);
	nx_put_u32(&o, NR_CALL);
	nx_put_u32(&o, NR_VERS);
	nx_put_u32(&o, prog);
	nx_put_u32(&o, vers);
	nx_put_u32(&o, proc);
	nx_put_u32(&o, NR_AUTH_SYS); /* AUTH_SYS: stamp, machine, uid 0, gid 0, no groups */
	nx_put_opaque(&o, auth_sys, sizeof(auth_sys));
	nx_put_u32(&o, NR_AUTH_NONE);
	nx_put_u32(&o, 0);
	nx_put_fixed(&o, args->p, (uint32_t)args->len);
	mark = 0x80000000u | (uint32_t)(o.len - 4);
	o.p[0] = (uint8_t)(mark >> 24);
	o.p[1] = (uint8_t)(mark >> 16);
	o.p[2] = (uint8_t)(mark >> 8);
	o.p[3] = (uint8_t)mark;
	sin.sin_addr.s_addr = htonl(addr);
	if (o.err || (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto out_free;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    send(fd, o.p, o.len, MSG_NOSIGNAL) != (ssize_t)o.len || read_full(fd, hdr, 4))
		goto out_close;
	w = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	/* one fragment of a small reply is all a lock manager or portmapper sends */
	if (!(w & 0x80000000u) || (w & 0x7fffffffu) > 4096 ||
	    !(rec = malloc((w & 0x7fffffffu) + 1)) || read_full(fd, rec, w & 0x7fffffffu))
		goto out_close;
	nx_in_init(&x, rec, w & 0x7fffffffu);
	if (nx_u32(&x) != xid || nx_u32(&x) != NR_REPLY || nx_u32(&x) != NR_MSG_ACCEPTED)
		goto out_close;
	nx_u32(&x); /* verifier */
	{
		const uint8_t *v;

		nx_opaque_view(&x, NR_AUTH_MAX_BODY, &v);
	}
	if (nx_u32(&x) != NR_SUCCESS || x.err)
		goto out_close;
	*len = x.len - x.pos;
	memmove(rec, rec + x.pos, *len);
	*res = rec;
	rec = NULL;
	rc = 0;
out_close:
	close(fd);
out_free:
	free(rec);
	nx_out_free(&o);
	return rc;
}

int nfs_rpc_getport(uint32_t addr, uint32_t prog, uint32_t vers, uint16_t *port)
{
	struct nx_out args;
	struct nx_in x;
	uint8_t *res = NULL;
	size_t len;
	uint32_t p;
	int rc = -1;

	if (nx_out_init(&args, 64))
		return -1;
	nx_put_u32(&args, prog); /* mapping: prog, vers, prot, port */
	nx_put_u32(&args, vers);
	nx_put_u32(&args, IPPROTO_TCP);
	nx_put_u32(&args, 0);
	if (args.err ||
	    nfs_rpc_call_tcp(addr, 111, PMAP_PROGRAM, PMAP_V2, PMAP_GETPORT, &args, &res, &len))
		goto out;
	nx_in_init(&x, res, len);
	p = nx_u32(&x);
	if (x.err || p == 0 || p > 65535)
		goto out;
	*port = (uint16_t)p;
	rc = 0;
out:
	free(res);
	nx_out_free(&args);
	return rc;
}

int nlm_grant_notify(uint32_t peer, const struct nlm4_args *a)
{
	struct nx_out args;
	struct nx_in x;
	uint8_t *res = NULL;
	size_t len;
	uint16_t port;
	int rc = -1;

	if (nfs_rpc_getport(peer, NLM_PROGRAM, NLM_V4, &port) || nx_out_init(&args, 256))
		return -1;
	/* nlm4_testargs: cookie, exclusive, alock */
	nx_put_opaque(&args, a->cookie, a->cookie_len);
	nx_put_u32(&args, (uint32_t)a->exclusive);
	nx_put_string(&args, a->caller);
	nx_put_opaque(&args, a->fh.data, a->fh.len);
	nx_put_opaque(&args, a->oh, a->oh_len);
	nx_put_u32(&args, (uint32_t)a->svid);
	nx_put_u64(&args, a->offset);
	nx_put_u64(&args, a->len);
	if (args.err ||
	    nfs_rpc_call_tcp(peer, port, NLM_PROGRAM, NLM_V4, NLM4_GRANTED_CALL, &args, &res, &len))
		goto out;
	nx_in_init(&x, res, len);
	{
		const uint8_t *ck;

		nx_opaque_view(&x, NLM_MAXSTR, &ck); /* nlm4_res: cookie, stat */
	}
	rc = nx_u32(&x) == NLM4_GRANTED && !x.err ? 0 : -1;
out:
	free(res);
	nx_out_free(&args);
	return rc;
}

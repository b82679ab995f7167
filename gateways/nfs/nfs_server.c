/* The NFS gateway's server: TCP listeners for NFS and MOUNT, one reader thread per connection
 * that cuts records (record marking) and hands each call to a pool of workers, which decode,
 * serve and answer it. Calls of one connection run in parallel (a slow COMMIT holds one worker,
 * not the connection); replies are written whole under the connection's write lock. */
#include "common/compiler.h"
#include "common/errors.h"
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rpc/pmap_clnt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NFS3_PROCS(X)                                                                              \
	X(NFS3_NULL, NULL, "NULL")                                                                 \
	X(NFS3_GETATTR, nfs3_getattr, "GETATTR")                                                   \
	X(NFS3_SETATTR, nfs3_setattr, "SETATTR")                                                   \
	X(NFS3_LOOKUP, nfs3_lookup, "LOOKUP")                                                      \
	X(NFS3_ACCESS, nfs3_access, "ACCESS")                                                      \
	X(NFS3_READLINK, nfs3_readlink, "READLINK")                                                \
	X(NFS3_READ, nfs3_read, "READ")                                                            \
	X(NFS3_WRITE, nfs3_write, "WRITE")                                                         \
	X(NFS3_CREATE, nfs3_create, "CREATE")                                                      \
	X(NFS3_MKDIR, nfs3_mkdir, "MKDIR")                                                         \
	X(NFS3_SYMLINK, nfs3_symlink, "SYMLINK")                                                   \
	X(NFS3_MKNOD, nfs3_mknod, "MKNOD")                                                         \
	X(NFS3_REMOVE, nfs3_remove, "REMOVE")                                                      \
	X(NFS3_RMDIR, nfs3_rmdir, "RMDIR")                                                         \
	X(NFS3_RENAME, nfs3_rename, "RENAME")                                                      \
	X(NFS3_LINK, nfs3_link, "LINK")                                                            \
	X(NFS3_READDIR, nfs3_readdir, "READDIR")                                                   \
	X(NFS3_READDIRPLUS, nfs3_readdirplus, "READDIRPLUS")                                       \
	X(NFS3_FSSTAT, nfs3_fsstat, "FSSTAT")                                                      \
	X(NFS3_FSINFO, nfs3_fsinfo, "FSINFO")                                                      \
	X(NFS3_PATHCONF, nfs3_pathconf, "PATHCONF")                                                \
	X(NFS3_COMMIT, nfs3_commit, "COMMIT")

static const struct {
	nfs3_handler fn;
	const char *name;
} nfs3_procs[NFS3_NPROC] = {
#define NFS3_PROC_ENTRY(num, fn, name) [num] = {fn, name},
    NFS3_PROCS(NFS3_PROC_ENTRY)
#undef NFS3_PROC_ENTRY
};

#define CONN_MAX_INFLIGHT 32
#define MAX_CONNS	  1024 /* a thread each: more are refused */
#define SEND_TIMEOUT_S	  30
#define IDLE_CONN_S	  900
#define DEFAULT_THREADS	  16
#define IDLE_COMMIT_S	  10.0

/* A reply waiting for the connection's writer. */
struct nfs_reply {
	uint8_t *p;
	size_t len;
	struct nfs_reply *next;
};

/* A client connection: its reader and writer threads, and each call queued or being served
 * or answered, hold a reference. Only the writer writes to the socket, so a client that stops
 * reading holds up its own writer, never a worker. */
struct nfs_conn {
	int fd;
	uint32_t peer;
	char peer_str[64];
	pthread_mutex_t lock; /* refs, inflight, the reply queue, closing */
	pthread_cond_t cond;  /* inflight went down, a reply queued, closing */
	int refs;
	int inflight; /* calls read and not yet answered (or dropped) */
	int closing;  /* the reader is gone: the writer ends once inflight is 0 */
	struct nfs_reply *rq_head, *rq_tail;
	struct nfs_conn *next; /* srv_net.conns, under srv_net.lock */
};

struct nfs_job {
	struct nfs_conn *c;
	uint8_t *buf;
	size_t len;
	struct nfs_job *next;
};

/* The network side of the server: listeners, connections, the job queue and its workers. */
struct srv_net {
	struct nfs_srv *s;
	int lfd[2], nl;
	pthread_mutex_t lock; /* conns, nconns, the queue, stop */
	pthread_cond_t cond;  /* queue not empty, or a connection gone, or stop */
	struct nfs_conn *conns;
	int nconns, stop;
	struct nfs_job *head, *tail;
	pthread_t *workers;
	int nworkers;
};

static void conn_put(struct srv_net *n, struct nfs_conn *c)
{
	int last;

	pthread_mutex_lock(&c->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (!last)
		return;
	pthread_mutex_lock(&n->lock);
	for (struct nfs_conn **pp = &n->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	n->nconns--;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

/* One call of c is answered (or dropped): the reader may read more, the writer may end. */
static void call_done(struct srv_net *n, struct nfs_conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->inflight--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	conn_put(n, c);
}

/* Hands o's bytes (record mark filled in) to c's writer. */
static int queue_reply(struct nfs_conn *c, struct nx_out *o)
{
	struct nfs_reply *rp = malloc(sizeof(*rp));
	uint32_t mark = 0x80000000u | (uint32_t)(o->len - 4);

	if (!rp)
		return 0;
	o->p[0] = (uint8_t)(mark >> 24);
	o->p[1] = (uint8_t)(mark >> 16);
	o->p[2] = (uint8_t)(mark >> 8);
	o->p[3] = (uint8_t)mark;
	rp->p = o->p;
	rp->len = o->len;
	rp->next = NULL;
	o->p = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->rq_tail)
		c->rq_tail->next = rp;
	else
		c->rq_head = rp;
	c->rq_tail = rp;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 1;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t k = send(fd, p + off, len - off, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	return 0;
}

struct conn_arg {
	struct srv_net *n;
	struct nfs_conn *c;
};

/* Sends c's replies in the order they were made, until the reader is gone and every call is
 * answered. A send that fails or times out (SEND_TIMEOUT_S) closes the connection; the replies
 * still coming are dropped. */
static void *writer(void *arg)
{
	struct conn_arg ca = *(struct conn_arg *)arg;
	struct nfs_conn *c = ca.c;
	int failed = 0;

	free(arg);
	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct nfs_reply *rp;

		while (!c->rq_head && !(c->closing && c->inflight == 0))
			pthread_cond_wait(&c->cond, &c->lock);
		if (!(rp = c->rq_head))
			break;
		c->rq_head = rp->next;
		if (!c->rq_head)
			c->rq_tail = NULL;
		pthread_mutex_unlock(&c->lock);
		if (!failed && send_all(c->fd, rp->p, rp->len)) {
			failed = 1;
			shutdown(c->fd, SHUT_RDWR); /* the reader sees it and ends */
		}
		free(rp->p);
		free(rp);
		call_done(ca.n, c);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	conn_put(ca.n, c);
	return NULL;
}

/* Serves an NFS call whose header is decoded; returns the accept_stat. */
static uint32_t nfs_call(struct nfs_req *r)
{
	union nfs3_args *a;

	if (r->call.vers != NFS_V3)
		return NR_PROG_MISMATCH;
	if (r->call.proc >= NFS3_NPROC)
		return NR_PROC_UNAVAIL;
	if (!(a = malloc(sizeof(*a))))
		return NR_SYSTEM_ERR;
	if (nfs3_decode_args(r->call.proc, &r->in, a)) {
		free(a);
		return NR_GARBAGE_ARGS;
	}
	if (nfs3_procs[r->call.proc].fn)
		nfs3_procs[r->call.proc].fn(r, a);
	gl_debug("nfs: %s from %s uid %u", nfs3_procs[r->call.proc].name, r->peer_str,
		 r->call.cred.uid);
	free(a);
	return NR_SUCCESS;
}

/* Decodes and serves the call in buf (r: the peer filled in) and writes the reply to out
 * (initialised here, record mark space first); only_nsm: the datagram endpoint, which serves
 * NSM only. -EPROTO when buf is not an RPC call (nothing to answer), -ENOMEM, or 0. */
static int dispatch(struct nfs_srv *s, struct nfs_req *r, const uint8_t *buf, size_t len,
		    struct nx_out *out, int only_nsm)
{
	uint32_t stat;
	int rc;

	r->s = s;
	r->out = out;
	nx_in_init(&r->in, buf, len);
	rc = rpc_decode_call(&r->in, &r->call);
	if (rc == -EPROTO)
		return rc;
	if (nx_out_init(out, 4096)) /* a READ grows it once, to what it reads */
		return -ENOMEM;
	if (rc == -EBADMSG) {
		rpc_put_denied(out, r->call.xid, NR_MISMATCH, 0);
	} else if (rc == -EACCES) {
		rpc_put_denied(out, r->call.xid, NR_AUTH_ERROR, NR_AUTH_BADCRED);
	} else {
		rpc_put_accepted(out, r->call.xid, NR_SUCCESS);
		if (only_nsm && r->call.prog != NSM_PROGRAM)
			stat = NR_PROG_UNAVAIL;
		else if (r->call.prog == NFS_PROGRAM)
			stat = nfs_call(r);
		else if (r->call.prog == NLM_PROGRAM)
			stat = r->call.vers == NLM_V4 ? nfs_nlm_call(r) : NR_PROG_MISMATCH;
		else if (r->call.prog == NSM_PROGRAM)
			stat = r->call.vers == NSM_V1 ? nfs_nsm_call(r) : NR_PROG_MISMATCH;
		else if (r->call.prog == MOUNT_PROGRAM)
			stat = r->call.vers == MOUNT_V3 || r->call.vers == MOUNT_V1
				   ? nfs_mount_call(r)
				   : NR_PROG_MISMATCH;
		else
			stat = NR_PROG_UNAVAIL;
		if (stat != NR_SUCCESS) {
			out->len = 0;
			out->err = 0;
			rpc_put_accepted(out, r->call.xid, stat);
			if (stat == NR_PROG_MISMATCH) {
				uint32_t p = r->call.prog;

				nx_put_u32(out, p == NFS_PROGRAM   ? NFS_V3
						: p == NLM_PROGRAM ? NLM_V4
						: p == NSM_PROGRAM ? NSM_V1
								   : MOUNT_V1);
				nx_put_u32(out, p == NFS_PROGRAM   ? NFS_V3
						: p == NLM_PROGRAM ? NLM_V4
						: p == NSM_PROGRAM ? NSM_V1
								   : MOUNT_V3);
			}
		}
	}
	return 0;
}

/* Decodes and serves one record; returns whether a reply went to the writer (which then
 * finishes the call). */
static int serve(struct nfs_srv *s, struct nfs_conn *c, const uint8_t *buf, size_t len)
{
	struct nfs_req r;
	struct nx_out out;
	int rc, queued = 0;

	memset(&r, 0, sizeof(r));
	r.peer = c->peer;
	snprintf(r.peer_str, sizeof(r.peer_str), "%s", c->peer_str);
	if ((rc = dispatch(s, &r, buf, len, &out, 0)) == -EPROTO) {
		/* not an RPC call: nothing sensible to answer */
		gl_warn("nfs: a record from %s is not an RPC call: closing", c->peer_str);
		shutdown(c->fd, SHUT_RDWR);
		return 0;
	}
	if (rc)
		return 0;
	if (!out.err && (queued = queue_reply(c, &out)) == 0)
		out.err = 1;
	if (out.err)
		gl_error("nfs: no memory for a reply to %s", c->peer_str);
	nx_out_free(&out);
	return queued;
}

static void *worker(void *arg)
{
	struct srv_net *n = arg;

	for (;;) {
		struct nfs_job *j;

		pthread_mutex_lock(&n->lock);
		while (!n->head && !n->stop)
			pthread_cond_wait(&n->cond, &n->lock);
		if (!n->head) {
			pthread_mutex_unlock(&n->lock);
			return NULL;
		}
		j = n->head;
		n->head = j->next;
		if (!n->head)
			n->tail = NULL;
		pthread_mutex_unlock(&n->lock);
		if (!serve(n->s, j->c, j->buf, j->len))
			call_done(n, j->c); /* no reply: the call ends here */
		free(j->buf);
		free(j);
	}
}

static void enqueue(struct srv_net *n, struct nfs_conn *c, uint8_t *buf, size_t len)
{
	struct nfs_job *j = calloc(1, sizeof(*j));

	if (!j) {
		free(buf);
		return;
	}
	pthread_mutex_lock(&c->lock);
	while (c->inflight >= CONN_MAX_INFLIGHT) /* back-pressure: stop reading */
		pthread_cond_wait(&c->cond, &c->lock);
	c->inflight++;
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	j->c = c;
	j->buf = buf;
	j->len = len;
	pthread_mutex_lock(&n->lock);
	if (n->tail)
		n->tail->next = j;
	else
		n->head = j;
	n->tail = j;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

static void *reader(void *arg)
{
	struct conn_arg ra = *(struct conn_arg *)arg;
	size_t cap = 64 * 1024;
	uint8_t *chunk = malloc(cap);
	struct nfs_rm rm;

	free(arg);
	nfs_rm_init(&rm, NFS_MAX_RECORD);
	while (chunk) {
		ssize_t k = recv(ra.c->fd, chunk, cap, 0);
		size_t used = 0;

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		while (used < (size_t)k) {
			int done;
			long m = nfs_rm_feed(&rm, chunk + used, (size_t)k - used, &done);

			if (m < 0) {
				gl_warn("nfs: %s sent a record over %u bytes: closing",
					ra.c->peer_str, NFS_MAX_RECORD);
				goto out;
			}
			used += (size_t)m;
			if (done) {
				uint8_t *buf;
				size_t len;

				nfs_rm_take(&rm, &buf, &len);
				enqueue(ra.n, ra.c, buf, len);
			}
		}
	}
out:
	shutdown(ra.c->fd, SHUT_RDWR);
	pthread_mutex_lock(&ra.c->lock);
	ra.c->closing = 1;
	pthread_cond_broadcast(&ra.c->cond);
	pthread_mutex_unlock(&ra.c->lock);
	free(chunk);
	nfs_rm_fini(&rm);
	conn_put(ra.n, ra.c);
	return NULL;
}

static void *acceptor(void *arg)
{
	struct srv_net *n = ((void **)arg)[0];
	int lfd = (int)(intptr_t)((void **)arg)[1];
	const struct timeval send_timeout = {SEND_TIMEOUT_S, 0}, idle_timeout = {IDLE_CONN_S, 0};

	free(arg);
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept(lfd, (struct sockaddr *)&ss, &sl), one = 1;
		struct nfs_conn *c;
		struct conn_arg *ra, *wa;
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			return NULL; /* the listener was shut down */
		}
		pthread_mutex_lock(&n->lock);
		one = n->nconns < MAX_CONNS;
		pthread_mutex_unlock(&n->lock);
		if (!one) {
			gl_warn("nfs: %d connections: refusing another", MAX_CONNS);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		/* a client that stops reading its replies loses the connection; one idle this
		 * long is closed (clients reconnect) */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle_timeout, sizeof(idle_timeout));
		c = calloc(1, sizeof(*c));
		ra = malloc(sizeof(*ra));
		wa = malloc(sizeof(*wa));
		if (!c || !ra || !wa) {
			free(c);
			free(ra);
			free(wa);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->refs = 2; /* the reader's and the writer's */
		pthread_mutex_init(&c->lock, NULL);
		pthread_cond_init(&c->cond, NULL);
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			c->peer = ntohl(sin->sin_addr.s_addr);
			inet_ntop(AF_INET, &sin->sin_addr, c->peer_str, sizeof(c->peer_str));
		} else {
			snprintf(c->peer_str, sizeof(c->peer_str), "non-IPv4");
		}
		pthread_mutex_lock(&n->lock);
		c->next = n->conns;
		n->conns = c;
		n->nconns++;
		pthread_mutex_unlock(&n->lock);
		ra->n = wa->n = n;
		ra->c = wa->c = c;
		if (pthread_create(&t, NULL, writer, wa)) {
			free(wa);
			conn_put(n, c); /* the writer's */
			wa = NULL;
		} else {
			pthread_detach(t);
		}
		if (!wa || pthread_create(&t, NULL, reader, ra)) {
			free(ra);
			shutdown(fd, SHUT_RDWR);
			pthread_mutex_lock(&c->lock);
			c->closing = 1; /* the writer ends */
			pthread_cond_broadcast(&c->cond);
			pthread_mutex_unlock(&c->lock);
			conn_put(n, c); /* the reader's */
			continue;
		}
		pthread_detach(t);
	}
}

/* NSM over UDP: statds send SM_NOTIFY in datagrams (Linux's sm-notify only so), on the NFS
 * port. One thread answers them; other programs answer PROG_UNAVAIL (NFS, MOUNT and NLM are
 * served on TCP only). Wakes every second to see whether the server stops. */
#define UDP_MAX 8192

struct udp_ep {
	struct nfs_srv *s;
	int fd;
	_Atomic int stop;
	pthread_t t;
};

static void *udp_loop(void *arg)
{
	struct udp_ep *u = arg;
	uint8_t *buf = malloc(UDP_MAX);

	while (buf && !atomic_load(&u->stop)) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t k = recvfrom(u->fd, buf, UDP_MAX, 0, (struct sockaddr *)&from, &fl);
		struct nfs_req r;
		struct nx_out out;

		if (k <= 0 || fl != sizeof(from) || from.sin_family != AF_INET)
			continue; /* timeout, EINTR, or not IPv4 */
		memset(&r, 0, sizeof(r));
		r.peer = ntohl(from.sin_addr.s_addr);
		inet_ntop(AF_INET, &from.sin_addr, r.peer_str, sizeof(r.peer_str));
		if (dispatch(u->s, &r, buf, (size_t)k, &out, 1))
			continue;	     /* not a call, or no memory: nothing to answer */
		if (!out.err && out.len > 4) /* no record mark in a datagram */
			sendto(u->fd, out.p + 4, out.len - 4, 0, (struct sockaddr *)&from, fl);
		nx_out_free(&out);
	}
	free(buf);
	return NULL;
}

static int udp_start(struct udp_ep *u, struct nfs_srv *s, const char *host, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tick = {1, 0};

	u->s = s;
	atomic_init(&u->stop, 0);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
	if (bind(u->fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    pthread_create(&u->t, NULL, udp_loop, u)) {
		close(u->fd);
		u->fd = -1;
		return -1;
	}
	return 0;
}

static void udp_stop(struct udp_ep *u)
{
	if (u->fd < 0)
		return;
	atomic_store(&u->stop, 1);
	pthread_join(u->t, NULL);
	close(u->fd);
}

static int listen_on(const char *host, int port, int *out)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd, one = 1;

	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -EINVAL;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 128)) {
		int e = errno;

		close(fd);
		return -e;
	}
	*out = fd;
	return 0;
}

/* rpcbind is optional: registered when something listens on 127.0.0.1:111. */
static int rpcbind_running(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(111)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void rpcbind_set(int port, int mport, int udp, int on)
{
	if (!rpcbind_running()) {
		if (on)
			gl_info("nfs: rpcbind is not running: clients must name the ports");
		return;
	}
	pmap_unset(NFS_PROGRAM, NFS_V3);
	pmap_unset(MOUNT_PROGRAM, MOUNT_V3);
	pmap_unset(MOUNT_PROGRAM, MOUNT_V1);
	pmap_unset(NLM_PROGRAM, NLM_V4);
	pmap_unset(NSM_PROGRAM, NSM_V1);
	if (!on)
		return;
	if (!pmap_set(NFS_PROGRAM, NFS_V3, IPPROTO_TCP, (unsigned short)port) ||
	    !pmap_set(MOUNT_PROGRAM, MOUNT_V3, IPPROTO_TCP, (unsigned short)mport) ||
	    !pmap_set(MOUNT_PROGRAM, MOUNT_V1, IPPROTO_TCP, (unsigned short)mport) ||
	    !pmap_set(NLM_PROGRAM, NLM_V4, IPPROTO_TCP, (unsigned short)port) ||
	    !pmap_set(NSM_PROGRAM, NSM_V1, IPPROTO_TCP, (unsigned short)port) ||
	    (udp && !pmap_set(NSM_PROGRAM, NSM_V1, IPPROTO_UDP, (unsigned short)port)))
		gl_warn("nfs: rpcbind refused our registration: clients must name the ports");
	else
		gl_info("nfs: registered with rpcbind");
}

static int srv_init(struct nfs_srv *s, const struct gl_nfs_cfg *cfg)
{
	struct timespec ts;
	uint64_t rnd = 0;
	char msg[256];
	struct nfs_nsm_cfg nsm_cfg = {.dir = cfg->state_dir, .grace_s = cfg->grace_s};
	int rc;

	memset(s, 0, sizeof(*s));
	s->g = cfg->g;
	s->all = cfg->nexports == 0;
	for (int i = 0; i < cfg->nexports; i++)
		if (nfs_export_parse(cfg->exports[i], &s->ex[s->nex++], msg, sizeof(msg))) {
			gl_error("nfs: %s", msg);
			return -EINVAL;
		}
	pthread_mutex_init(&s->vlock, NULL);
	pthread_mutex_init(&s->olock, NULL);
	pthread_mutex_init(&s->mlock, NULL);
	/* the write verifier: this start's time and randomness, never one of an earlier start */
	clock_gettime(CLOCK_REALTIME, &ts);
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	s->verf_base =
	    ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)ts.tv_nsec << 2) ^ (rnd & 0xffffffffu);
	atomic_init(&s->verf_gen, 0);
	if ((rc = nfs_nlm_init(&s->nlm)))
		return rc;
	return nfs_nsm_init(&s->nsm, &nsm_cfg, s->nlm);
}

static void srv_fini(struct nfs_srv *s)
{
	for (int i = 0; i < s->nvols; i++) {
		glory_vol_close(s->vols[i]->v);
		free(s->vols[i]);
	}
	while (s->mounts) {
		struct nfs_mnt *m = s->mounts;

		s->mounts = m->next;
		free(m);
	}
	nfs_nsm_fini(s->nsm); /* first: its thread and SM_NOTIFY use the lock table */
	nfs_nlm_fini(s->nlm);
	pthread_mutex_destroy(&s->vlock);
	pthread_mutex_destroy(&s->olock);
	pthread_mutex_destroy(&s->mlock);
}

static int start_acceptor(struct srv_net *n, int lfd, pthread_t *t)
{
	void **arg = malloc(2 * sizeof(void *));

	if (!arg)
		return -ENOMEM;
	arg[0] = n;
	arg[1] = (void *)(intptr_t)lfd;
	if (pthread_create(t, NULL, acceptor, arg)) {
		free(arg);
		return -EAGAIN;
	}
	return 0;
}

/* Until SIGTERM/SIGINT: commits files idle for IDLE_COMMIT_S. */
static void wait_for_signal(struct nfs_srv *s)
{
	struct timespec tick = {1, 0};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGTERM || sig == SIGINT) {
			gl_info("nfs: stopping on signal %d", sig);
			return;
		}
		nfs_open_flush_idle(s, IDLE_COMMIT_S);
	}
}

static void stop_net(struct srv_net *n, pthread_t *acc)
{
	for (int i = 0; i < n->nl; i++) {
		shutdown(n->lfd[i], SHUT_RDWR);
		pthread_join(acc[i], NULL);
		close(n->lfd[i]);
	}
	pthread_mutex_lock(&n->lock);
	for (struct nfs_conn *c = n->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (n->nconns > 0)
		pthread_cond_wait(&n->cond, &n->lock);
	n->stop = 1;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	for (int i = 0; i < n->nworkers; i++)
		pthread_join(n->workers[i], NULL);
	free(n->workers);
}

int gl_nfs_run(const struct gl_nfs_cfg *cfg)
{
	static struct nfs_srv s;
	struct srv_net n = {0};
	struct udp_ep udp = {.fd = -1};
	pthread_t acc[2];
	int rc, mport = cfg->mount_port ? cfg->mount_port : cfg->port;

	if ((rc = srv_init(&s, cfg)))
		return rc;
	n.s = &s;
	pthread_mutex_init(&n.lock, NULL);
	pthread_cond_init(&n.cond, NULL);
	if ((rc = nfs_vols_init(&s)))
		gl_warn("nfs: cannot list volumes yet (%s): will retry on demand",
			glory_strerror(rc));
	if ((rc = listen_on(cfg->host, cfg->port, &n.lfd[n.nl])))
		goto out;
	n.nl++;
	if (mport != cfg->port) {
		if ((rc = listen_on(cfg->host, mport, &n.lfd[n.nl]))) {
			close(n.lfd[0]);
			goto out;
		}
		n.nl++;
	}
	n.nworkers = cfg->threads > 0 ? cfg->threads : DEFAULT_THREADS;
	n.workers = calloc((size_t)n.nworkers, sizeof(pthread_t));
	for (int i = 0; n.workers && i < n.nworkers; i++)
		if (pthread_create(&n.workers[i], NULL, worker, &n))
			n.nworkers = i;
	for (int i = 0; i < n.nl; i++)
		if (start_acceptor(&n, n.lfd[i], &acc[i]))
			n.nl = i; /* fewer listeners: the rest below closes */
	gl_info("nfs: serving NFSv3 on %s:%d and MOUNT on %s:%d (%d workers)", cfg->host, cfg->port,
		cfg->host, mport, n.nworkers);
	if (udp_start(&udp, &s, cfg->host, cfg->port))
		gl_warn("nfs: cannot serve NSM on UDP port %d: statds that notify over UDP are not "
			"heard",
			cfg->port);
	rpcbind_set(cfg->port, mport, udp.fd >= 0, 1);
	if (nfs_nsm_start(s.nsm))
		gl_error("nfs: cannot start the NSM thread: lock clients are not told to reclaim");
	wait_for_signal(&s);
	rpcbind_set(cfg->port, mport, udp.fd >= 0, 0);
	stop_net(&n, acc);
	udp_stop(&udp);
	nfs_open_flush_idle(&s, -1); /* commit what is buffered */
	rc = 0;
out:
	pthread_mutex_destroy(&n.lock);
	pthread_cond_destroy(&n.cond);
	srv_fini(&s);
	return rc;
}

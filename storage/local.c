/* Local reads of fragment files (contract and protocol: storage/local.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, MSG_CMSG_CLOEXEC */
#endif
#include "storage/local.h"

#include "common/buf.h"
#include "common/compiler.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_MAGIC  0x524c4c47u /* "GLLR" */
#define LOCAL_PREFIX "glory-ds-local "
#define ERR_LO	     1000 /* GL error codes are above this, and below ERR_HI */
#define ERR_HI	     2000

/* ---- messages ---- */

void gl_local_req_encode(const struct gl_fkey *k, uint8_t out[GL_LOCAL_REQ_LEN])
{
	memset(out, 0, GL_LOCAL_REQ_LEN);
	gl_le32(out, LOCAL_MAGIC);
	gl_le32(out + 4, k->pool);
	memcpy(out + 8, k->chunk, GL_CHUNK_ID_LEN);
	out[40] = k->idx;
}

int gl_local_req_decode(const void *p, size_t n, struct gl_fkey *k)
{
	const uint8_t *b = p;

	if (n != GL_LOCAL_REQ_LEN || gl_rd32(b) != LOCAL_MAGIC || b[41] || b[42] || b[43])
		return -GL_EPROTO;
	k->pool = gl_rd32(b + 4);
	memcpy(k->chunk, b + 8, GL_CHUNK_ID_LEN);
	k->idx = b[40];
	return 0;
}

size_t gl_local_reply_encode(int status, const struct gl_fmeta *m, const struct gl_ffile *f,
			     uint8_t out[GL_LOCAL_REPLY_MAX])
{
	memset(out, 0, GL_LOCAL_REPLY_HDR);
	gl_le32(out, LOCAL_MAGIC);
	gl_le32(out + 4, (uint32_t)-status);
	if (status)
		return GL_LOCAL_REPLY_HDR;
	gl_le32(out + 8, m->len);
	gl_le32(out + 12, m->crc);
	gl_le64(out + 16, m->chunk_len);
	gl_le32(out + 24, f->data_off);
	gl_le32(out + 28, f->bsize);
	/* nblk (<= GL_FSTORE_MAX_BLKS: gl_fstore_open_file) is the rest's length / 4 */
	for (uint32_t i = 0; i < f->nblk; i++)
		gl_le32(out + GL_LOCAL_REPLY_HDR + 4 * i, f->crc[i]);
	return GL_LOCAL_REPLY_HDR + 4 * (size_t)f->nblk;
}

int gl_local_reply_decode(const void *p, size_t n, struct gl_fmeta *m, struct gl_ffile *f)
{
	const uint8_t *b = p;
	uint32_t st;

	if (n < GL_LOCAL_REPLY_HDR || gl_rd32(b) != LOCAL_MAGIC)
		return -GL_EPROTO;
	st = gl_rd32(b + 4);
	if (st)
		return st > ERR_LO && st < ERR_HI && n == GL_LOCAL_REPLY_HDR ? -(int)st
									     : -GL_EPROTO;
	memset(m, 0, sizeof(*m));
	m->len = gl_rd32(b + 8);
	m->crc = gl_rd32(b + 12);
	m->chunk_len = gl_rd64(b + 16);
	f->data_off = gl_rd32(b + 24);
	f->bsize = gl_rd32(b + 28);
	if (f->bsize < 512 || (f->bsize & (f->bsize - 1)) || f->data_off < 64 ||
	    (n - GL_LOCAL_REPLY_HDR) % 4)
		return -GL_EPROTO;
	f->nblk = (uint32_t)((n - GL_LOCAL_REPLY_HDR) / 4);
	if (f->nblk > GL_FSTORE_MAX_BLKS || f->nblk != ((uint64_t)m->len + f->bsize - 1) / f->bsize)
		return -GL_EPROTO;
	for (uint32_t i = 0; i < f->nblk; i++)
		f->crc[i] = gl_rd32(b + GL_LOCAL_REPLY_HDR + 4 * i);
	return 0;
}

/* The abstract socket address of the server serving addr; its length in *len. */
static int sock_name(const char *addr, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(LOCAL_PREFIX) + strlen(addr);

	if (n + 1 > sizeof(sa->sun_path))
		return -GL_EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, LOCAL_PREFIX, strlen(LOCAL_PREFIX));
	memcpy(sa->sun_path + 1 + strlen(LOCAL_PREFIX), addr, strlen(addr));
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	return 0;
}

/* ---- the server ----
 * One thread polls the listening socket and every connection (a client keeps one per server);
 * a request costs a RocksDB lookup and, the first time, an open: it is served inline. */
#define SRV_CONNS 256

struct gl_local_srv {
	struct gl_fstore *fs;
	int lfd, efd;
	int nconn;
	int conn[SRV_CONNS];
	pthread_t th;
	struct gl_ffile ff; /* the reply being built (one thread) */
	uint8_t out[GL_LOCAL_REPLY_MAX];
};

/* Answers one request on fd. Returns -1 when the connection should close. */
static int srv_serve(struct gl_local_srv *ls, int fd)
{
	uint8_t in[GL_LOCAL_REQ_LEN + 1];
	struct gl_fkey k;
	struct gl_fmeta m = {0};
	struct msghdr mh = {0};
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
	int rc;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	rc = gl_local_req_decode(in, (size_t)n, &k);
	ls->ff.fd = -1;
	if (!rc)
		rc = gl_fstore_open_file(ls->fs, &k, &m, &ls->ff);
	iov.iov_base = ls->out;
	iov.iov_len = gl_local_reply_encode(rc, &m, &ls->ff, ls->out);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (!rc) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &ls->ff.fd, sizeof(int));
	}
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (!rc)
		close(ls->ff.fd);
	return n == (ssize_t)iov.iov_len ? 0 : -1;
}

static void *srv_main(void *arg)
{
	struct gl_local_srv *ls = arg;
	struct pollfd pf[2 + SRV_CONNS];

	for (;;) {
		int n = 2;

		pf[0] = (struct pollfd){.fd = ls->efd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = ls->lfd, .events = POLLIN};
		for (int i = 0; i < ls->nconn; i++)
			pf[n++] = (struct pollfd){.fd = ls->conn[i], .events = POLLIN};
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			gl_error("ds: local reads: poll: %s", strerror(errno));
			break;
		}
		if (pf[0].revents)
			break;
		/* connections first (their indices shift as closed ones go) */
		for (int i = n - 1; i >= 2; i--) {
			int ci = i - 2;

			if (!pf[i].revents)
				continue;
			if ((pf[i].revents & POLLIN) && srv_serve(ls, ls->conn[ci]) == 0)
				continue;
			close(ls->conn[ci]);
			ls->conn[ci] = ls->conn[--ls->nconn];
		}
		if (pf[1].revents & POLLIN) {
			int fd = accept4(ls->lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && ls->nconn < SRV_CONNS)
				ls->conn[ls->nconn++] = fd;
			else if (fd >= 0)
				close(fd); /* the client reads over RPC */
		}
	}
	return NULL;
}

int gl_local_srv_start(struct gl_fstore *fs, const char *addr, struct gl_local_srv **out)
{
	struct gl_local_srv *ls = calloc(1, sizeof(*ls));
	struct sockaddr_un sa;
	socklen_t sl;
	int rc;

	if (!ls)
		return -GL_ENOMEM;
	ls->fs = fs;
	ls->lfd = ls->efd = -1;
	if ((rc = sock_name(addr, &sa, &sl)))
		goto fail;
	ls->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ls->efd = eventfd(0, EFD_CLOEXEC);
	if (ls->lfd < 0 || ls->efd < 0 || bind(ls->lfd, (struct sockaddr *)&sa, sl) ||
	    listen(ls->lfd, 64)) {
		rc = gl_from_errno(errno);
		goto fail;
	}
	if (pthread_create(&ls->th, NULL, srv_main, ls)) {
		rc = -GL_ENOMEM;
		goto fail;
	}
	*out = ls;
	return 0;
fail:
	if (ls->lfd >= 0)
		close(ls->lfd);
	if (ls->efd >= 0)
		close(ls->efd);
	free(ls);
	return rc;
}

void gl_local_srv_stop(struct gl_local_srv *ls)
{
	uint64_t one = 1;

	if (!ls)
		return;
	if (write(ls->efd, &one, sizeof(one)) != sizeof(one))
		gl_warn("ds: local reads: cannot stop the thread");
	pthread_join(ls->th, NULL);
	for (int i = 0; i < ls->nconn; i++)
		close(ls->conn[i]);
	close(ls->lfd);
	close(ls->efd);
	free(ls);
}

/* ---- the client ---- */
#define CLI_SRVS    64	 /* servers at this host's addresses remembered (local or not) */
#define CLI_BUCKETS 1024 /* hash buckets of open files */
#define CLI_FILES   1024 /* open files kept, at most (and at most a quarter of RLIMIT_NOFILE) */
#define CLI_RETRY_S 5.0	 /* a server found not local (or failing): asked again after this */
#define CLI_TIMEOUT 2	 /* seconds to wait for a server's reply */
#define CLI_IFADDRS 64	 /* this host's addresses remembered */
#define ADDR_MAX    64

struct lfile {
	struct lfile *next; /* in its bucket */
	int srv;	    /* index in l->srv */
	struct gl_fkey key;
	int fd;
	_Atomic int refs; /* the table's and readers' */
	uint64_t used;
	uint32_t len, data_off, bsize, nblk;
	uint64_t chunk_len;
	uint32_t crc[]; /* nblk */
};

struct lsrv {
	char addr[ADDR_MAX]; /* set once */
	double retry_at;     /* not local (or failing) until then; under l->mu */
	_Atomic int ok;	     /* a descriptor came from it, no failure since */
	double failed_at;    /* its last connection failure (0: none since a success); under mu */
	pthread_mutex_t mu;  /* one request at a time on fd */
	int fd;		     /* connection, -1 if none; under mu */
};

struct gl_local {
	pthread_mutex_t mu; /* the table, adding to srv, retry_at */
	struct lsrv srv[CLI_SRVS];
	_Atomic int nsrv; /* srv[i] for i < nsrv: addr set (read without mu) */
	struct lfile *tab[CLI_BUCKETS];
	uint32_t nfiles, cap;
	uint64_t clock;
	_Atomic uint64_t reads, opens, corrupt;
	/* this host's addresses (besides loopback): only servers at one of them can be here */
	struct in6_addr here[CLI_IFADDRS]; /* IPv4 as v4-mapped */
	int nhere;
};

/* addr ("H:P", "[H]:P") as an IPv6 address (IPv4 v4-mapped). 0, or -1 if H is not numeric. */
static int addr_ip(const char *addr, struct in6_addr *out)
{
	char h[64];
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
	struct in_addr v4;

	if (addr[0] == '[' && n >= 2 && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n >= sizeof(h))
		return -1;
	memcpy(h, addr, n);
	h[n] = 0;
	if (inet_pton(AF_INET6, h, out) == 1)
		return 0;
	if (inet_pton(AF_INET, h, &v4) != 1)
		return -1;
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12], &v4, 4);
	return 0;
}

/* Whether a server at addr may run on this host: its address is loopback or one of ours (a
 * host name: perhaps). The others are never asked, and take no place in l->srv. */
static int maybe_here(const struct gl_local *l, const char *addr)
{
	struct in6_addr a;

	if (addr_ip(addr, &a))
		return 1;
	if (IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127))
		return 1;
	for (int i = 0; i < l->nhere; i++)
		if (!memcmp(&l->here[i], &a, sizeof(a)))
			return 1;
	return 0;
}

static void find_here(struct gl_local *l)
{
	struct ifaddrs *ifs, *i;

	if (getifaddrs(&ifs))
		return;
	for (i = ifs; i && l->nhere < CLI_IFADDRS; i = i->ifa_next) {
		struct in6_addr *a = &l->here[l->nhere];

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET6) {
			*a = ((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
			l->nhere++;
		} else if (i->ifa_addr->sa_family == AF_INET) {
			memset(a, 0, sizeof(*a));
			a->s6_addr[10] = a->s6_addr[11] = 0xff;
			memcpy(&a->s6_addr[12],
			       &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
			l->nhere++;
		}
	}
	freeifaddrs(ifs);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct gl_local *gl_local_new(void)
{
	const char *e = getenv("GLORY_LOCAL_READS");
	struct gl_local *l;
	struct rlimit rl;

	if (e && !strcmp(e, "0"))
		return NULL;
	if (!(l = calloc(1, sizeof(*l))))
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	for (int i = 0; i < CLI_SRVS; i++) {
		pthread_mutex_init(&l->srv[i].mu, NULL);
		l->srv[i].fd = -1;
	}
	find_here(l);
	l->cap = CLI_FILES;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < l->cap)
		l->cap = (uint32_t)(rl.rlim_cur / 4);
	return l;
}

static void lf_unref(struct lfile *f)
{
	if (atomic_fetch_sub(&f->refs, 1) == 1) {
		close(f->fd);
		free(f);
	}
}

void gl_local_free(struct gl_local *l)
{
	if (!l)
		return;
	for (int b = 0; b < CLI_BUCKETS; b++) {
		while (l->tab[b]) {
			struct lfile *f = l->tab[b];

			l->tab[b] = f->next;
			lf_unref(f);
		}
	}
	for (int i = 0; i < CLI_SRVS; i++) {
		if (l->srv[i].fd >= 0)
			close(l->srv[i].fd);
		pthread_mutex_destroy(&l->srv[i].mu);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int gl_local_maybe(struct gl_local *l, const char *addr)
{
	return l && maybe_here(l, addr);
}

int gl_local_known(struct gl_local *l, const char *addr)
{
	int n = l ? atomic_load(&l->nsrv) : 0;

	for (int i = 0; i < n; i++)
		if (!strcmp(l->srv[i].addr, addr))
			return atomic_load(&l->srv[i].ok);
	return 0;
}

void gl_local_get_stats(struct gl_local *l, struct gl_local_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!l)
		return;
	out->reads = atomic_load(&l->reads);
	out->opens = atomic_load(&l->opens);
	out->corrupt = atomic_load(&l->corrupt);
}

static uint32_t bucket(int srv, const struct gl_fkey *k)
{
	uint64_t h;

	memcpy(&h, k->chunk, sizeof(h)); /* chunk ids are fingerprints: already well mixed */
	h ^= (uint64_t)k->idx * 0x9e3779b97f4a7c15ull ^ (uint64_t)srv * 0xc2b2ae3d27d4eb4full;
	return (uint32_t)((h ^ h >> 29) % CLI_BUCKETS);
}

static int key_eq(const struct gl_fkey *a, const struct gl_fkey *b)
{
	return a->pool == b->pool && a->idx == b->idx && !memcmp(a->chunk, b->chunk, 32);
}

/* Takes file (srv, k) out of the table, if f (or any, f NULL) is there. mu held. */
static void tab_remove(struct gl_local *l, int srv, const struct gl_fkey *k, struct lfile *f)
{
	for (struct lfile **p = &l->tab[bucket(srv, k)]; *p; p = &(*p)->next) {
		struct lfile *x = *p;

		if (x->srv == srv && key_eq(&x->key, k) && (!f || x == f)) {
			*p = x->next;
			l->nfiles--;
			lf_unref(x);
			return;
		}
	}
}

/* Closes the least recently used file. mu held. */
static void tab_evict(struct gl_local *l)
{
	struct lfile *old = NULL;

	for (int b = 0; b < CLI_BUCKETS; b++)
		for (struct lfile *x = l->tab[b]; x; x = x->next)
			if (!old || x->used < old->used)
				old = x;
	if (old)
		tab_remove(l, old->srv, &old->key, old);
}

/* The index of server addr in l->srv (added if new); -1 when the table is full. mu held. */
static int srv_index(struct gl_local *l, const char *addr)
{
	int n = atomic_load(&l->nsrv);

	for (int i = 0; i < n; i++)
		if (!strcmp(l->srv[i].addr, addr))
			return i;
	if (n == CLI_SRVS || strlen(addr) >= ADDR_MAX || !maybe_here(l, addr))
		return -1;
	snprintf(l->srv[n].addr, ADDR_MAX, "%s", addr);
	atomic_store(&l->nsrv, n + 1); /* published after its addr */
	return n;
}

static int srv_connect(const char *addr)
{
	struct timeval tv = {.tv_sec = CLI_TIMEOUT};
	struct sockaddr_un sa;
	socklen_t sl;
	int fd;

	if (sock_name(addr, &sa, &sl))
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sl)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request to server s: the file of fragment k. 0 (*out, one reference), -GL_ECONN (no such
 * server here, or it stopped answering), or the server's answer (-GL_ENOENT, -GL_ENOTSUP...). */
static int srv_open(struct lsrv *s, int si, const struct gl_fkey *k, struct lfile **out)
{
	uint8_t req[GL_LOCAL_REQ_LEN], *rep = malloc(GL_LOCAL_REPLY_MAX + 1);
	struct gl_ffile *ff = malloc(sizeof(*ff));
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {.iov_base = rep, .iov_len = GL_LOCAL_REPLY_MAX + 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct gl_fmeta m;
	struct lfile *f;
	ssize_t n = -1;
	int rc = -GL_ECONN, fd = -1;

	if (!rep || !ff) {
		rc = -GL_ENOMEM;
		goto out;
	}
	gl_local_req_encode(k, req);
	pthread_mutex_lock(&s->mu);
	if (s->failed_at && mono_s() - s->failed_at < CLI_RETRY_S) {
		/* it just failed for the thread before us: a stopped server costs one timeout */
		pthread_mutex_unlock(&s->mu);
		goto out;
	}
	if (s->fd < 0)
		s->fd = srv_connect(s->addr);
	if (s->fd >= 0 && send(s->fd, req, sizeof(req), MSG_NOSIGNAL) == (ssize_t)sizeof(req)) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		n = recvmsg(s->fd, &mh, MSG_CMSG_CLOEXEC);
	}
	if (n > 0) { /* collect any descriptor first, so that none leaks */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t j = 0; j < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); j++) {
				int x;

				memcpy(&x, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
				if (fd < 0)
					fd = x;
				else
					close(x);
			}
		}
	}
	if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		s->failed_at = mono_s();
		pthread_mutex_unlock(&s->mu);
		goto out; /* -GL_ECONN */
	}
	s->failed_at = 0;
	pthread_mutex_unlock(&s->mu);
	rc = gl_local_reply_decode(rep, (size_t)n, &m, ff);
	if (!rc && fd < 0)
		rc = -GL_EPROTO;
	if (rc)
		goto out;
	if (!(f = malloc(sizeof(*f) + 4 * (size_t)ff->nblk))) {
		rc = -GL_ENOMEM;
		goto out;
	}
	*f = (struct lfile){.srv = si,
			    .key = *k,
			    .fd = fd,
			    .refs = 1,
			    .len = m.len,
			    .data_off = ff->data_off,
			    .bsize = ff->bsize,
			    .nblk = ff->nblk,
			    .chunk_len = m.chunk_len};
	memcpy(f->crc, ff->crc, 4 * (size_t)ff->nblk);
	fd = -1;
	*out = f;
out:
	if (fd >= 0)
		close(fd);
	free(rep);
	free(ff);
	return rc;
}

/* Reads exactly len bytes at off of fd. 0, -GL_ECORRUPT (short: the file is torn), -GL_EIO. */
static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -GL_EIO : -GL_ECORRUPT;
		done += (size_t)r;
	}
	return 0;
}

/* Bytes [off, off + len) of f into dst, every block they touch read and checked: whole blocks
 * inside the range straight into dst (one pread for the run), a block the range cuts through
 * into a bounce buffer. */
static int lf_read(const struct lfile *f, uint32_t off, uint32_t len, uint8_t *dst)
{
	uint32_t bs = f->bsize, end = off + len, x = off / bs * bs;
	uint8_t *bounce = NULL;
	int rc = 0;

	while (x < end && !rc) {
		uint32_t y = GL_MIN(x + bs, f->len); /* block [x, y) */

		if (x >= off && y <= end) { /* a run of whole blocks, [x, z) */
			uint32_t z = y;

			while (z < end && GL_MIN(z + bs, f->len) <= end)
				z = GL_MIN(z + bs, f->len);
			rc = pread_all(f->fd, dst + (x - off), z - x, (uint64_t)f->data_off + x);
			for (uint32_t b = x; b < z && !rc; b += bs)
				if (gl_crc32c(GL_CRC_INIT, dst + (b - off), GL_MIN(bs, z - b)) !=
				    f->crc[b / bs])
					rc = -GL_ECORRUPT;
			x = z;
			continue;
		}
		if (!bounce && !(bounce = malloc(bs)))
			return -GL_ENOMEM;
		rc = pread_all(f->fd, bounce, y - x, (uint64_t)f->data_off + x);
		if (!rc && gl_crc32c(GL_CRC_INIT, bounce, y - x) != f->crc[x / bs])
			rc = -GL_ECORRUPT;
		if (!rc) {
			uint32_t a = GL_MAX(x, off), b = GL_MIN(y, end);

			memcpy(dst + (a - off), bounce + (a - x), b - a);
		}
		x = y;
	}
	free(bounce);
	return rc;
}

/* gl_local_read, or with dst NULL gl_local_warm: the kernel starts reading the bytes in. */
static int local_io(struct gl_local *l, const char *addr, const struct gl_fkey *key,
		    uint64_t chunk_len, uint32_t frag_len, uint32_t off, uint32_t len, void *dst)
{
	struct lfile *f = NULL, *g;
	int si, rc;

	if (!l || frag_len < GL_FSTORE_INLINE_MAX) /* small fragments live in RocksDB */
		return -GL_ENOTSUP;
	if (off > frag_len || len > frag_len - off)
		return -GL_EINVAL;
	pthread_mutex_lock(&l->mu);
	si = srv_index(l, addr);
	if (si < 0 || (l->srv[si].retry_at && l->srv[si].retry_at > mono_s())) {
		pthread_mutex_unlock(&l->mu);
		return -GL_ENOTSUP;
	}
	for (g = l->tab[bucket(si, key)]; g && !f; g = g->next)
		if (g->srv == si && key_eq(&g->key, key))
			f = g;
	if (f) {
		atomic_fetch_add(&f->refs, 1);
		f->used = ++l->clock;
	}
	pthread_mutex_unlock(&l->mu);
	if (!f) {
		rc = srv_open(&l->srv[si], si, key, &f);
		pthread_mutex_lock(&l->mu);
		if (rc == -GL_ECONN) { /* not here, or not answering: RPC for a while */
			l->srv[si].retry_at = mono_s() + CLI_RETRY_S;
			l->srv[si].ok = 0;
			pthread_mutex_unlock(&l->mu);
			return -GL_ENOTSUP;
		}
		l->srv[si].retry_at = 0;
		if (rc) {
			pthread_mutex_unlock(&l->mu);
			return rc;
		}
		atomic_fetch_add(&l->opens, 1);
		l->srv[si].ok = 1;
		tab_remove(l, si, key, NULL); /* a racing open of the same file: keep the newest */
		while (l->nfiles && l->nfiles >= l->cap)
			tab_evict(l);
		if (l->cap) {
			f->used = ++l->clock;
			f->next = l->tab[bucket(si, key)];
			l->tab[bucket(si, key)] = f;
			l->nfiles++;
			atomic_fetch_add(&f->refs, 1);
		}
		pthread_mutex_unlock(&l->mu);
	}
	rc = -GL_EPROTO;
	if (f->chunk_len == chunk_len && f->len == frag_len && !dst)
		rc = readahead(f->fd, (off64_t)f->data_off + off, len) ? -GL_EIO : 0;
	else if (f->chunk_len == chunk_len && f->len == frag_len)
		rc = lf_read(f, off, len, dst);
	if (rc) {
		if (rc == -GL_ECORRUPT) {
			atomic_fetch_add(&l->corrupt, 1);
			gl_warn("local read of fragment %d from %s: checksum mismatch; asking the "
				"server",
				key->idx, addr);
		}
		pthread_mutex_lock(&l->mu);
		tab_remove(l, si, key, f);
		pthread_mutex_unlock(&l->mu);
	} else if (dst) {
		atomic_fetch_add(&l->reads, 1);
	}
	lf_unref(f);
	return rc;
}

int gl_local_read(struct gl_local *l, const char *addr, const struct gl_fkey *key,
		  uint64_t chunk_len, uint32_t frag_len, uint32_t off, uint32_t len, void *dst)
{
	return dst ? local_io(l, addr, key, chunk_len, frag_len, off, len, dst) : -GL_EINVAL;
}

int gl_local_warm(struct gl_local *l, const char *addr, const struct gl_fkey *key,
		  uint64_t chunk_len, uint32_t frag_len)
{
	return local_io(l, addr, key, chunk_len, frag_len, 0, frag_len, NULL);
}

/* RPC sockets: addresses, non-blocking connect, and reads and writes bounded by a deadline. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* EAI_NODATA, EAI_ADDRFAMILY; the build defines it, a bare compile may not */
#endif
#include "common/crc.h"
#include "common/errors.h"
#include "common/rpc_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t gl_rpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gl_rpc_deadline(int ms)
{
	return gl_rpc_now_ms() + (ms > 0 ? ms : 0);
}

int gl_rpc_left_ms(int64_t deadline)
{
	int64_t left = deadline - gl_rpc_now_ms();

	if (left <= 0)
		return 0;
	return left > 1000000000 ? 1000000000 : (int)left;
}

/* Splits addr into host (brackets of an IPv6 literal removed) and a numeric port. */
static int split_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *hs = addr, *he, *ps;
	size_t hl, pl;

	if (!addr)
		return -GL_EINVAL;
	if (addr[0] == '[') {
		hs = addr + 1;
		he = strchr(hs, ']');
		if (!he || he[1] != ':')
			return -GL_EINVAL;
		ps = he + 2;
	} else {
		he = strrchr(addr, ':');
		if (!he || memchr(addr, ':', (size_t)(he - addr)))
			return -GL_EINVAL; /* no port, or an IPv6 literal without brackets */
		ps = he + 1;
	}
	hl = (size_t)(he - hs);
	pl = strlen(ps);
	if (hl >= hcap || pl == 0 || pl > 5 || pl >= pcap || strspn(ps, "0123456789") != pl ||
	    atoi(ps) > 65535)
		return -GL_EINVAL;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	memcpy(port, ps, pl + 1);
	return 0;
}

int gl_rpc_resolve(const char *addr, int passive, struct addrinfo **res)
{
	char host[GL_RPC_ADDR_LEN], port[8];
	struct addrinfo hints;
	const char *node = host;
	int rc = split_addr(addr, host, sizeof(host), port, sizeof(port));

	if (rc)
		return rc;
	if (!host[0] || !strcmp(host, "*")) {
		if (!passive)
			return -GL_EINVAL;
		node = NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	rc = getaddrinfo(node, port, &hints, res);
	switch (rc) {
	case 0:
		return 0;
	case EAI_MEMORY:
		return -GL_ENOMEM;
	case EAI_NONAME:
	case EAI_AGAIN:
	case EAI_FAIL:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
		return -GL_ECONN;
	default:
		return -GL_EINVAL;
	}
}

void gl_rpc_sock_tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void gl_rpc_addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(out, cap, "?");
	}
}

/* A failed connect says "cannot connect" unless it was a timeout or a local shortage. */
static int connect_err(int eno)
{
	int rc = gl_from_errno(eno);

	return rc == -GL_ETIMEDOUT || rc == -GL_ENOMEM ? rc : -GL_ECONN;
}

int gl_rpc_connect_start(const struct addrinfo *ai, int *fd)
{
	int s =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int rc;

	if (s < 0)
		return gl_from_errno(errno);
	gl_rpc_sock_tune(s);
	if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
		*fd = s;
		return 0;
	}
	if (errno == EINPROGRESS || errno == EINTR) {
		*fd = s; /* EINTR: the connect goes on in the background */
		return 1;
	}
	rc = connect_err(errno);
	close(s);
	return rc;
}

int gl_rpc_connect_finish(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return connect_err(errno);
	return err ? connect_err(err) : 0;
}

int gl_rpc_conn_wrap(int fd, const char *addr, struct gl_rpc_conn **out)
{
	struct gl_rpc_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return -GL_ENOMEM;
	}
	c->fd = fd;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	*out = c;
	return 0;
}

int gl_rpc_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = events};
		int left = gl_rpc_left_ms(deadline), r;

		if (!left)
			return -GL_ETIMEDOUT;
		r = poll(&pf, 1, left);
		if (r > 0)
			return 0; /* ready, or an error the next call on fd reports */
		if (r < 0 && errno != EINTR)
			return gl_from_errno(errno);
	}
}

ssize_t gl_rpc_recv_some(int fd, void *buf, size_t cap, int64_t deadline)
{
	for (;;) {
		ssize_t r = recv(fd, buf, cap, 0);
		int rc;

		if (r > 0)
			return r;
		if (r == 0)
			return -GL_ECLOSED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return gl_from_errno(errno);
		if ((rc = gl_rpc_wait(fd, POLLIN, deadline)))
			return rc;
	}
}

int gl_rpc_recv_full(int fd, void *buf, size_t len, int64_t deadline, uint32_t *crc)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t r = gl_rpc_recv_some(fd, p + got, len - got, deadline);

		if (r < 0)
			return (int)r;
		if (crc)
			*crc = gl_crc32c(*crc, p + got, (size_t)r);
		got += (size_t)r;
	}
	return 0;
}

int gl_rpc_send_some(int fd, struct iovec **iovp, int *np)
{
	struct iovec *iov = *iovp;
	int n = *np;
	struct msghdr mh;
	ssize_t w;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)n;
	do
		w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : gl_from_errno(errno);
	while (n > 0 && (size_t)w >= iov->iov_len) {
		w -= (ssize_t)iov->iov_len;
		iov++;
		n--;
	}
	if (n > 0) {
		iov->iov_base = (uint8_t *)iov->iov_base + w;
		iov->iov_len -= (size_t)w;
	}
	*iovp = iov;
	*np = n;
	return 0;
}

int gl_rpc_send_iov(int fd, struct iovec *iov, int n, int64_t deadline)
{
	int rc = 0;

	while (n > 0 && rc >= 0) {
		rc = gl_rpc_send_some(fd, &iov, &n);
		if (rc == 1)
			rc = gl_rpc_wait(fd, POLLOUT, deadline);
	}
	return rc;
}

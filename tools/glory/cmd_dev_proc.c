/* glory dev: files, pids, processes and ports of a dev cluster (contract: cmd_dev_internal.h). */
#include "tools/glory/cmd_dev_internal.h"

#include "common/compiler.h"
#include "common/errors.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double dev_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dev_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

void dev_path(char out[DEV_PATH_MAX], const char *dir, const char *name, const char *file)
{
	snprintf(out, DEV_PATH_MAX, "%s/%s%s%s", dir, name, file ? "/" : "", file ? file : "");
}

int dev_mkdir_p(const char *path)
{
	char buf[DEV_PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return gl_from_errno(errno);
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return gl_from_errno(errno);
	return 0;
}

int dev_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[DEV_PATH_MAX + 8];
	int fd, rc = 0, eno = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return gl_from_errno(errno);
	if (write(fd, data, len) != (ssize_t)len || fsync(fd))
		eno = errno ? errno : EIO;
	if (close(fd) && !eno)
		eno = errno;
	if (!eno && rename(tmp, path))
		eno = errno;
	if (eno) {
		unlink(tmp);
		errno = eno;
		rc = gl_from_errno(eno);
	}
	return rc;
}

/* Reads a whole small file into buf; its length, or -1 (errno set). */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -1;
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	return n < 0 ? -1 : (ssize_t)len;
}

pid_t dev_read_pid(const char *dir, const char *name)
{
	char path[DEV_PATH_MAX], buf[32];
	ssize_t n;

	dev_path(path, dir, name, "pid");
	n = read_small(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

static int write_pid(const char *dir, const char *name, pid_t pid)
{
	char path[DEV_PATH_MAX], buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	dev_path(path, dir, name, "pid");
	return dev_write_atomic(path, buf, (size_t)n);
}

void dev_remove_pid(const char *dir, const char *name)
{
	char path[DEV_PATH_MAX];

	dev_path(path, dir, name, "pid");
	unlink(path);
}

int dev_load_cmdline(const char *dir, const char *name, struct dev_cmdline *c)
{
	char path[DEV_PATH_MAX];
	ssize_t n;

	dev_path(path, dir, name, "cmdline");
	n = read_small(path, c->buf, sizeof(c->buf));
	if (n < 0)
		return gl_from_errno(errno);
	if (n == 0 || (size_t)n == sizeof(c->buf) || c->buf[n - 1] != '\0')
		return -GL_ECORRUPT;
	c->len = (size_t)n;
	c->argc = 0;
	for (size_t i = 0; i < c->len; i += strlen(c->buf + i) + 1) {
		if (c->argc == DEV_MAX_ARGS)
			return -GL_ECORRUPT;
		c->argv[c->argc++] = c->buf + i;
	}
	c->argv[c->argc] = NULL;
	return 0;
}

int dev_save_cmdline(const char *dir, const char *name, char **argv, struct dev_cmdline *c)
{
	char path[DEV_PATH_MAX];
	int rc;

	c->len = 0;
	for (c->argc = 0; argv[c->argc]; c->argc++) {
		size_t n = strlen(argv[c->argc]) + 1;

		if (c->argc == DEV_MAX_ARGS || c->len + n > sizeof(c->buf))
			return -GL_E2BIG;
		memcpy(c->buf + c->len, argv[c->argc], n);
		c->argv[c->argc] = c->buf + c->len;
		c->len += n;
	}
	c->argv[c->argc] = NULL;
	dev_path(path, dir, name, NULL);
	rc = dev_mkdir_p(path);
	if (rc)
		return rc;
	dev_path(path, dir, name, "cmdline");
	return dev_write_atomic(path, c->buf, c->len);
}

const char *dev_arg_of(const struct dev_cmdline *c, const char *opt)
{
	for (int i = 0; i + 1 < c->argc; i++)
		if (strcmp(c->argv[i], opt) == 0)
			return c->argv[i + 1];
	return NULL;
}

int dev_pid_runs(pid_t pid, const struct dev_cmdline *c)
{
	static char buf[DEV_CMDLINE_MAX];
	char path[64];
	ssize_t n;

	if (pid <= 0 || kill(pid, 0))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0) { /* a zombie has an empty cmdline */
		waitpid(pid, NULL, WNOHANG);
		return 0;
	}
	if (c)
		return (size_t)n == c->len && memcmp(buf, c->buf, c->len) == 0;
	return memmem(buf, (size_t)n, "glory", 5) != NULL;
}

pid_t dev_alive(const char *dir, const char *name)
{
	static struct dev_cmdline c;
	pid_t pid = dev_read_pid(dir, name);

	if (pid <= 0)
		return 0;
	return dev_pid_runs(pid, dev_load_cmdline(dir, name, &c) ? NULL : &c) ? pid : 0;
}

/* HOST:PORT (IPv4) accepts TCP connections. */
static int port_open(const char *addr)
{
	char host[64];
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd, ok;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return 0;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* Prints the last DEV_LOG_TAIL lines of DIR/NAME/log (from its last 64 KiB) on stderr. */
static void log_tail(const char *dir, const char *name)
{
	static char buf[65536];
	char path[DEV_PATH_MAX];
	ssize_t n = -1;
	int fd, lines = 0;
	off_t size, from;
	char *p;

	dev_path(path, dir, name, "log");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	if (size >= 0) {
		from = size - GL_MIN(size, (off_t)sizeof(buf));
		n = pread(fd, buf, (size_t)(size - from), from);
	}
	if (n < 0) {
		fprintf(stderr, "(cannot read %s: %s)\n", path, strerror(errno));
		goto out;
	}
	for (p = buf + n; p > buf; p--)
		if (p[-1] == '\n' && p != buf + n && ++lines == DEV_LOG_TAIL)
			break;
	fprintf(stderr, "--- last lines of %s ---\n", path);
	fwrite(p, 1, (size_t)(buf + n - p), stderr);
	if (n && buf[n - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "---\n");
out:
	if (fd >= 0)
		close(fd);
}

/* The child side of dev_spawn(). */
GL_NORETURN static void spawn_child(const char *dir, const char *name, struct dev_cmdline *c)
{
	char path[DEV_PATH_MAX], when[64];
	time_t t = time(NULL);
	struct tm tm;
	int fd;

	setsid();
	fd = open("/dev/null", O_RDONLY);
	if (fd > 0) {
		dup2(fd, 0);
		close(fd);
	}
	dev_path(path, dir, name, "log");
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	closefrom(3);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	fprintf(stderr, "=== glory dev: starting %s at %s ===\n", name, when);
	fflush(stderr);
	execv(c->argv[0], c->argv);
	fprintf(stderr, "glory dev: cannot run %s: %s\n", c->argv[0], strerror(errno));
	_exit(127);
}

int dev_spawn(const char *dir, const char *name, struct dev_cmdline *c, pid_t *pid)
{
	int rc;

	fflush(stdout);
	fflush(stderr);
	*pid = fork();
	if (*pid < 0) {
		fprintf(stderr, "glory dev: cannot start %s: %s\n", name, strerror(errno));
		return gl_from_errno(errno);
	}
	if (*pid == 0)
		spawn_child(dir, name, c);
	rc = write_pid(dir, name, *pid);
	if (rc) {
		fprintf(stderr, "glory dev: cannot write the pid file of %s: %s\n", name,
			strerror(errno));
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	return rc;
}

int dev_wait_port(const char *dir, const char *name, pid_t pid, const char *addr, double deadline)
{
	int st, rc = -GL_EINVAL;

	if (!addr)
		fprintf(stderr, "glory dev: %s has no --listen in its saved command line\n", name);
	while (addr) {
		int up = port_open(addr);

		/* exited, even if the port answers: someone else has that port */
		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (WIFEXITED(st))
				fprintf(stderr, "glory dev: %s exited with status %d\n", name,
					WEXITSTATUS(st));
			else
				fprintf(stderr, "glory dev: %s was killed by signal %d\n", name,
					WTERMSIG(st));
			rc = -GL_ECLOSED;
			break;
		}
		if (up) {
			fprintf(stderr, "  %-8s pid %-8d %s\n", name, (int)pid, addr);
			return 0;
		}
		if (dev_now() > deadline) {
			fprintf(stderr,
				"glory dev: %s (pid %d) does not accept connections on %s after "
				"%.0f s\n",
				name, (int)pid, addr, DEV_START_SECS);
			rc = -GL_ETIMEDOUT;
			break;
		}
		dev_sleep_ms(25);
	}
	log_tail(dir, name);
	return rc;
}

/* Waits until every pid in pids[n] is gone or deadline; returns how many are left. */
static int wait_gone(const pid_t *pids, int n, double deadline)
{
	int left;

	for (;;) {
		left = 0;
		for (int i = 0; i < n; i++)
			left += dev_pid_runs(pids[i], NULL);
		if (!left || dev_now() > deadline)
			return left;
		dev_sleep_ms(20);
	}
}

int dev_stop_all(const pid_t *pids, char (*names)[DEV_NAME_MAX], int n)
{
	for (int i = 0; i < n; i++) {
		kill(pids[i], SIGTERM);
		kill(pids[i], SIGCONT); /* a stopped process handles SIGTERM once continued */
	}
	if (!wait_gone(pids, n, dev_now() + DEV_STOP_SECS))
		return 0;
	for (int i = 0; i < n; i++) {
		if (!dev_pid_runs(pids[i], NULL))
			continue;
		fprintf(stderr, "glory dev: %s (pid %d) still runs %.0f s after SIGTERM: SIGKILL\n",
			names[i], (int)pids[i], DEV_STOP_SECS);
		kill(pids[i], SIGKILL);
	}
	if (!wait_gone(pids, n, dev_now() + DEV_KILL_SECS))
		return 0;
	for (int i = 0; i < n; i++)
		if (dev_pid_runs(pids[i], NULL))
			fprintf(stderr, "glory dev: %s (pid %d) survives SIGKILL\n", names[i],
				(int)pids[i]);
	return -GL_EBUSY;
}

void dev_master_name(char out[DEV_NAME_MAX], long i)
{
	if (i == 0)
		snprintf(out, DEV_NAME_MAX, "master");
	else
		snprintf(out, DEV_NAME_MAX, "master%ld", i + 1);
}

int dev_master_index(const char *name)
{
	char *end;
	long k;

	if (strcmp(name, "master") == 0)
		return 0;
	if (strncmp(name, "master", 6) != 0 || !name[6])
		return -1;
	k = strtol(name + 6, &end, 10);
	return *end || k < 2 || k > 64 ? -1 : (int)(k - 1);
}

static int rank(const char *name)
{
	return dev_master_index(name) >= 0 ? 0 : 1;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = a, *y = b;
	size_t lx = strlen(x), ly = strlen(y);

	if (rank(x) != rank(y))
		return rank(x) - rank(y);
	if (lx != ly)
		return lx < ly ? -1 : 1; /* ds2 before ds10 */
	return strcmp(x, y);
}

int dev_list_names(const char *dir, char (*out)[DEV_NAME_MAX], int cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < cap) {
		char path[DEV_PATH_MAX];
		size_t len = strlen(e->d_name);

		if (!dev_valid_name(e->d_name))
			continue;
		dev_path(path, dir, e->d_name, "cmdline");
		if (access(path, F_OK) == 0)
			memcpy(out[n++], e->d_name, len + 1);
	}
	closedir(d);
	qsort(out, (size_t)n, DEV_NAME_MAX, cmp_names);
	return n;
}

int dev_valid_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n < DEV_NAME_MAX && !s[n];
}

/*
 * Ports for daemons come from below the kernel's ephemeral range (ip_local_port_range): a port
 * taken with bind(port 0) lies inside that range, where any outgoing connection of any process
 * may take it before the daemon binds it, or again before a restarted daemon binds it.
 */
#define DEV_PORT_LOW 20000

static int ephemeral_low(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int lo = 32768, hi;

	if (f) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	return lo;
}

/* A socket bound to host:port, or -1 when that port is taken. */
static int bind_port(const char *host, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd;

	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* n ports P (P..P+span-1 all free), held bound in fds until the caller closes them. */
static int pick_ports(const char *host, int n, int span, int *ports, int *fds)
{
	struct sockaddr_in probe;
	int lo = DEV_PORT_LOW, hi = ephemeral_low() - span, opened = 0, tries = 0;
	unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);

	if (inet_pton(AF_INET, host, &probe.sin_addr) != 1) {
		errno = EINVAL;
		return -GL_EINVAL;
	}
	if (hi - lo < 1000)
		lo = 1024;
	while (opened < n * span && tries++ < 1000) {
		int port = lo + (int)(rand_r(&seed) % (unsigned)(hi - lo)), k;

		for (k = 0; k < span; k++) {
			fds[opened + k] = bind_port(host, port + k);
			if (fds[opened + k] < 0)
				break;
		}
		if (k < span) {
			while (k-- > 0)
				close(fds[opened + k]);
			continue;
		}
		ports[opened / span] = port;
		opened += span;
	}
	if (opened < n * span) {
		for (int i = 0; i < opened; i++)
			close(fds[i]);
		errno = EADDRINUSE;
		return -GL_EBUSY;
	}
	return 0;
}

int dev_free_ports(const char *host, int npairs, int *pairs, int n, int *ports)
{
	int fds[2 * 2 * DEV_MAX_MDS + DEV_MAX_DS + 1];
	int rc;

	if (2 * npairs + n > (int)GL_ARRAY_SIZE(fds) || npairs < 0 || n < 0)
		return -GL_EINVAL;
	rc = pick_ports(host, npairs, 2, pairs, fds);
	if (rc)
		return rc;
	rc = pick_ports(host, n, 1, ports, fds + 2 * npairs);
	for (int i = 0; i < 2 * npairs + (rc ? 0 : n); i++)
		close(fds[i]);
	return rc;
}

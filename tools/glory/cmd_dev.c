/* glory dev: a local cluster of separate processes for people and tests.
 *
 * DIR/NAME/ holds each daemon's state, its log, its pid and its saved command line (cmdline:
 * NUL-separated argv) so that `glory dev start` restarts it exactly as before. DIR/env is a
 * shell-sourceable file with every endpoint. */
#include "common/compiler.h"
#include "common/errors.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"

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

#define MAX_ARGS 40

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static int mkdir_p(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

static pid_t read_pid(const char *dir, const char *name)
{
	char path[4200];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/%s/pid", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* Alive and still a glory process (pids are reused). */
static int alive(pid_t pid)
{
	char path[64], buf[256] = {0};
	int fd;
	ssize_t n;

	if (pid <= 0 || kill(pid, 0))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	/* a zombie has an empty cmdline: reap it if it is our child */
	if (n <= 0) {
		waitpid(pid, NULL, WNOHANG);
		return 0;
	}
	return strstr(buf, "glory") != NULL;
}

/* Loads DIR/NAME/cmdline into argv (pointers into buf). */
static int load_cmdline(const char *dir, const char *name, char *buf, size_t cap, char **argv)
{
	char path[4200];
	int fd, argc = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/cmdline", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n && argc < MAX_ARGS - 1; i += (ssize_t)strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	return argc;
}

static const char *arg_of(char **argv, const char *opt)
{
	for (int i = 0; argv[i]; i++)
		if (strcmp(argv[i], opt) == 0 && argv[i + 1])
			return argv[i + 1];
	return NULL;
}

static int save_cmdline(const char *dir, const char *name, char **argv)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mkdir_p(path))
		return -1;
	snprintf(path, sizeof(path), "%s/%s/cmdline", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	for (int i = 0; argv[i]; i++)
		fwrite(argv[i], 1, strlen(argv[i]) + 1, f);
	return fclose(f);
}

static int port_open(const char *addr)
{
	char host[128];
	const char *colon = strrchr(addr, ':');
	struct sockaddr_in sin = {0};
	int fd, ok;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return 0;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static void log_tail(const char *dir, const char *name)
{
	char cmd[4400];

	fprintf(stderr, "--- last lines of %s/%s/log ---\n", dir, name);
	fflush(stderr);
	snprintf(cmd, sizeof(cmd), "tail -n 20 '%s/%s/log' >&2", dir, name);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

/* Starts DIR/NAME from its saved command line and waits until its port accepts connections. */
static int start_one(const char *dir, const char *name)
{
	char buf[8192], *argv[MAX_ARGS], path[4200];
	const char *listen;
	pid_t pid;
	double t0;
	FILE *f;

	if (load_cmdline(dir, name, buf, sizeof(buf), argv) < 0) {
		fprintf(stderr, "glory dev: no saved command line for %s in %s\n", name, dir);
		return -1;
	}
	if (alive(read_pid(dir, name))) {
		fprintf(stderr, "glory dev: %s is already running\n", name);
		return 0;
	}
	listen = arg_of(argv, "--listen");
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd;

		setsid();
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		snprintf(path, sizeof(path), "%s/%s/log", dir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		fprintf(stderr, "glory dev: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/%s/pid", dir, name);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
	t0 = now_s();
	while (!listen || !port_open(listen)) {
		if (waitpid(pid, NULL, WNOHANG) == pid || now_s() - t0 > 30) {
			fprintf(stderr, "glory dev: %s did not start\n", name);
			log_tail(dir, name);
			return -1;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "  %-8s pid %-7d %s\n", name, (int)pid, listen ? listen : "");
	return 0;
}

/* Signals a daemon and waits up to wait_s for it to exit (SIGKILL after, when term). */
static int stop_one(const char *dir, const char *name, int sig, double wait_s)
{
	pid_t pid = read_pid(dir, name);
	double t0 = now_s();

	if (!alive(pid))
		return 0;
	kill(pid, sig);
	if (sig == SIGSTOP || sig == SIGCONT)
		return 1;
	while (alive(pid)) {
		waitpid(pid, NULL, WNOHANG);
		if (now_s() - t0 > wait_s) {
			kill(pid, SIGKILL);
			t0 = now_s() + 1e9;
		}
		sleep_ms(20);
	}
	return 1;
}

static int names(const char *dir, char out[][32], int cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < cap) {
		char path[4400];
		struct stat st;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s/cmdline", dir, e->d_name);
		len = strlen(e->d_name);

		if (e->d_name[0] != '.' && len < 32 && stat(path, &st) == 0)
			memcpy(out[n++], e->d_name, len + 1);
	}
	closedir(d);
	/* master first, then data servers in order */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			int swap =
			    strcmp(out[j], "master") == 0 ||
			    (strcmp(out[i], "master") != 0 &&
			     (strlen(out[j]) < strlen(out[i]) ||
			      (strlen(out[j]) == strlen(out[i]) && strcmp(out[j], out[i]) < 0)));
			if (swap) {
				char t[32];

				memcpy(t, out[i], 32);
				memcpy(out[i], out[j], 32);
				memcpy(out[j], t, 32);
			}
		}
	return n;
}

static int free_ports(const char *host, int n, int *ports)
{
	int fds[256];

	for (int i = 0; i < n; i++) {
		struct sockaddr_in sin = {0};
		socklen_t sl = sizeof(sin);

		sin.sin_family = AF_INET;
		inet_pton(AF_INET, host, &sin.sin_addr);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &sl)) {
			fprintf(stderr, "glory dev: cannot find free ports on %s: %s\n", host,
				strerror(errno));
			return -1;
		}
		ports[i] = ntohs(sin.sin_port);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

static int wait_registered(const char *master, int nds)
{
	struct glory *g = NULL;
	double t0 = now_s();

	while (now_s() - t0 < 30) {
		struct glory_status *s = NULL;
		int up = 0;

		if (!g && glory_connect(master, &g))
			g = NULL;
		if (g && glory_status(g, &s) == 0) {
			for (int i = 0; i < s->nservers; i++)
				up += strcmp(s->servers[i].state, "up") == 0;
			glory_status_free(s);
			if (up >= nds) {
				glory_disconnect(g);
				return 0;
			}
		}
		sleep_ms(100);
	}
	glory_disconnect(g);
	fprintf(stderr, "glory dev: data servers did not all register with the master\n");
	return -1;
}

static int dev_up(int argc, char **argv)
{
	const char *dir = NULL, *host = "127.0.0.1", *out_after = NULL, *gc_grace = NULL;
	const char *repair_every = NULL, *scrub_every = NULL, *stale_age = NULL;
	long nds = 6, racks = 1;
	char self[4096], addr[64], maddr[64], mdir[4200], env[4200], tmp[4300];
	int ports[257];
	ssize_t sl;
	FILE *f;
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &dir, NULL, "DIR", "where the cluster lives (created)"},
	    {"ds", GL_OPT_INT, &nds, NULL, "N", "data servers (default 6)"},
	    {"host", GL_OPT_STR, &host, NULL, "IP", "address to listen on (default 127.0.0.1)"},
	    {"racks", GL_OPT_INT, &racks, NULL, "R",
	     "spread data servers over R racks (default 1)"},
	    {"out-after", GL_OPT_STR, &out_after, NULL, "SECS", "master --out-after"},
	    {"gc-grace", GL_OPT_STR, &gc_grace, NULL, "SECS", "master --gc-grace"},
	    {"repair-every", GL_OPT_STR, &repair_every, NULL, "SECS", "ds --repair-every"},
	    {"scrub-every", GL_OPT_STR, &scrub_every, NULL, "SECS", "ds --scrub-every"},
	    {"stale-age", GL_OPT_STR, &stale_age, NULL, "SECS", "ds --stale-age"},
	};
	const struct gl_cmd_help help = {
	    "glory dev up --dir DIR [--ds N] [options]",
	    "Starts a master and N data servers as separate processes on one machine, each in "
	    "DIR/NAME with its log and pid, each data server in its own failure domain (host), "
	    "and writes DIR/env (source it: . DIR/env).",
	};
	int rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);

	if (rc)
		return rc > 0 ? 0 : 2;
	if (!dir || nds < 1 || nds > 256 || racks < 1) {
		fprintf(stderr, "glory dev up: --dir is required; --ds 1..256; --racks >= 1\n");
		return 2;
	}
	if (alive(read_pid(dir, "master"))) {
		fprintf(stderr,
			"glory dev up: a cluster is already running in %s: run 'glory dev "
			"down --dir %s' first\n",
			dir, dir);
		return 1;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0 || mkdir_p(dir) || free_ports(host, (int)nds + 1, ports)) {
		fprintf(stderr, "glory dev up: cannot prepare %s: %s\n", dir, strerror(errno));
		return 1;
	}
	self[sl] = '\0';
	snprintf(maddr, sizeof(maddr), "%s:%d", host, ports[0]);
	snprintf(mdir, sizeof(mdir), "%s/master", dir);
	{
		char *a[MAX_ARGS] = {self, "master", "--dir", mdir, "--listen", maddr};
		int n = 6;

		if (out_after) {
			a[n++] = "--out-after";
			a[n++] = (char *)out_after;
		}
		if (gc_grace) {
			a[n++] = "--gc-grace";
			a[n++] = (char *)gc_grace;
		}
		if (save_cmdline(dir, "master", a)) {
			fprintf(stderr, "glory dev up: cannot write to %s\n", dir);
			return 1;
		}
	}
	for (long i = 0; i < nds; i++) {
		char name[32], ddir[4200], dom[64];
		char *a[MAX_ARGS] = {self, "ds",       "--dir", ddir,	    "--listen",
				     addr, "--master", maddr,	"--domain", dom};
		int n = 10;

		snprintf(name, sizeof(name), "ds%ld", i);
		snprintf(ddir, sizeof(ddir), "%s/%s", dir, name);
		snprintf(addr, sizeof(addr), "%s:%d", host, ports[i + 1]);
		snprintf(dom, sizeof(dom), "rack%ld/host%ld", i % racks, i);
		if (repair_every) {
			a[n++] = "--repair-every";
			a[n++] = (char *)repair_every;
		}
		if (scrub_every) {
			a[n++] = "--scrub-every";
			a[n++] = (char *)scrub_every;
		}
		if (stale_age) {
			a[n++] = "--stale-age";
			a[n++] = (char *)stale_age;
		}
		if (save_cmdline(dir, name, a))
			return 1;
	}
	fprintf(stderr, "starting a master and %ld data servers in %s\n", nds, dir);
	if (start_one(dir, "master"))
		goto fail;
	for (long i = 0; i < nds; i++) {
		char name[32];

		snprintf(name, sizeof(name), "ds%ld", i);
		if (start_one(dir, name))
			goto fail;
	}
	if (wait_registered(maddr, (int)nds))
		goto fail;
	snprintf(env, sizeof(env), "%s/env", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", env);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "GLORY_MASTER=%s\nexport GLORY_MASTER\n", maddr) < 0 || fclose(f) ||
	    rename(tmp, env)) {
		fprintf(stderr, "glory dev up: cannot write %s\n", env);
		goto fail;
	}
	printf("glory is running: master %s, %ld data servers, state in %s\n", maddr, nds, dir);
	printf("  . %s/env          # sets GLORY_MASTER for the commands below\n", dir);
	printf("  %s status\n  %s blob put FILE    # prints the blob id\n", self, self);
	printf("  %s blob get ID > FILE\n  %s dev down --dir %s\n", self, self, dir);
	return 0;
fail : {
	char all[300][32];
	int n = names(dir, all, 300);

	for (int i = n - 1; i >= 0; i--)
		stop_one(dir, all[i], SIGTERM, 5);
}
	return 1;
}

static int dev_simple(int argc, char **argv, const char *sub)
{
	const char *dir = NULL, *signame = "KILL";
	char *pos[1];
	int npos = 0, rc;
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &dir, NULL, "DIR", "the cluster's directory"},
	    {"signal", GL_OPT_STR, &signame, NULL, "SIG",
	     "kill only: KILL (default), STOP, CONT, TERM"},
	};
	struct gl_cmd_help help = {
	    "glory dev down|status --dir DIR | glory dev start|stop|kill --dir DIR NAME",
	    "down: stop every daemon (SIGTERM, then SIGKILL after 10 s). "
	    "status: list daemons. start: start NAME again with its saved "
	    "command line. stop: SIGTERM NAME. kill: send a signal to NAME "
	    "(tests use it to simulate crashes)."};
	char all[300][32];
	int n;

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 1, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!dir) {
		fprintf(stderr, "glory dev %s: --dir is required\n", sub);
		return 2;
	}
	if (strcmp(sub, "down") == 0 || strcmp(sub, "status") == 0) {
		uint8_t was[300] = {0};

		n = names(dir, all, 300);
		for (int i = n - 1; i >= 0 && strcmp(sub, "down") == 0; i--) {
			pid_t pid = read_pid(dir, all[i]);

			was[i] = (uint8_t)alive(pid);
			if (was[i]) {
				kill(pid, SIGCONT);
				kill(pid, SIGTERM);
			}
		}
		for (int i = n - 1; i >= 0; i--) {
			pid_t pid = read_pid(dir, all[i]);

			if (strcmp(sub, "status") == 0) {
				printf("%-8s %-7d %s\n", all[i], (int)pid,
				       alive(pid) ? "running" : "stopped");
				continue;
			}
			stop_one(dir, all[i], SIGTERM, 10);
			if (was[i])
				fprintf(stderr, "stopped %s\n", all[i]);
		}
		return 0;
	}
	if (npos != 1) {
		fprintf(stderr, "glory dev %s: name a daemon (master, ds0, ...)\n", sub);
		return 2;
	}
	if (strcmp(sub, "start") == 0)
		return start_one(dir, pos[0]) ? 1 : 0;
	if (strcmp(sub, "stop") == 0) {
		stop_one(dir, pos[0], SIGTERM, 10);
		return 0;
	}
	{
		int sig = strcmp(signame, "STOP") == 0				      ? SIGSTOP
			  : strcmp(signame, "CONT") == 0			      ? SIGCONT
			  : strcmp(signame, "TERM") == 0			      ? SIGTERM
			  : strcmp(signame, "KILL") == 0 || strcmp(signame, "9") == 0 ? SIGKILL
										      : 0;

		if (!sig) {
			fprintf(stderr,
				"glory dev kill: --signal must be KILL, STOP, CONT or TERM\n");
			return 2;
		}
		if (!alive(read_pid(dir, pos[0]))) {
			fprintf(stderr, "glory dev kill: %s is not running\n", pos[0]);
			return 1;
		}
		stop_one(dir, pos[0], sig, 10);
	}
	return 0;
}

int cmd_dev(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "up") == 0)
		return dev_up(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "down") == 0 || strcmp(argv[1], "status") == 0 ||
			  strcmp(argv[1], "start") == 0 || strcmp(argv[1], "stop") == 0 ||
			  strcmp(argv[1], "kill") == 0))
		return dev_simple(argc - 1, argv + 1, argv[1]);
	fprintf(
	    argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
	    "usage: glory dev up|down|status|start|stop|kill --dir DIR ... (each has --help)\n");
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}

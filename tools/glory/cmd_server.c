/* glory server: a whole single-machine glory in one command, supervised in the foreground. */
#include "common/compiler.h"
#include "common/errors.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"
#include "tools/glory/cmd_dev_internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESTART_DELAY_S	 1.0
#define MAX_RESTARTS	 5 /* within RESTART_WINDOW_S: then it stays down (look at its log) */
#define RESTART_WINDOW_S 60.0

struct child {
	char name[DEV_NAME_MAX];
	pid_t pid;
	double died_at;
	double restarts[MAX_RESTARTS];
	int nrestarts;
};

static int find(struct child *c, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (c[i].pid == pid)
			return i;
	return -1;
}

/* Restarts a daemon that died, unless it keeps dying. */
static void restart(const char *dir, struct child *c)
{
	static struct dev_cmdline cl;
	double now = dev_now();
	int recent = 0;

	for (int i = 0; i < c->nrestarts; i++)
		recent += now - c->restarts[i] < RESTART_WINDOW_S;
	if (recent >= MAX_RESTARTS) {
		fprintf(
		    stderr,
		    "glory server: %s died %d times within %.0f s; leaving it down (see %s/%s/log, "
		    "then 'glory dev start --dir %s %s')\n",
		    c->name, recent, RESTART_WINDOW_S, dir, c->name, dir, c->name);
		c->died_at = 0;
		return;
	}
	if (dev_load_cmdline(dir, c->name, &cl) || dev_spawn(dir, c->name, &cl, &c->pid)) {
		fprintf(stderr, "glory server: cannot restart %s\n", c->name);
		c->died_at = 0;
		return;
	}
	c->restarts[c->nrestarts++ % MAX_RESTARTS] = now;
	if (c->nrestarts > MAX_RESTARTS)
		c->nrestarts = MAX_RESTARTS;
	c->died_at = 0;
	fprintf(stderr, "glory server: restarted %s (pid %d)\n", c->name, (int)c->pid);
}

/* Until SIGINT/SIGTERM: reaps daemons that exit and starts them again. */
static void supervise(const char *dir)
{
	static struct child kids[DEV_MAX_NAMES];
	static char names[DEV_MAX_NAMES][DEV_NAME_MAX];
	int n = dev_list_names(dir, names, DEV_MAX_NAMES);
	struct timespec tick = {0, 200 * 1000 * 1000};
	sigset_t set;

	for (int i = 0; i < n; i++) {
		memcpy(kids[i].name, names[i], DEV_NAME_MAX);
		kids[i].pid = dev_read_pid(dir, names[i]);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (;;) {
		int st, sig = sigtimedwait(&set, NULL, &tick);
		pid_t pid;

		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "glory server: stopping on signal %d\n", sig);
			return;
		}
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			int i = find(kids, n, pid);

			if (i < 0)
				continue;
			if (WIFEXITED(st))
				fprintf(stderr, "glory server: %s exited with status %d\n",
					kids[i].name, WEXITSTATUS(st));
			else
				fprintf(stderr, "glory server: %s was killed by signal %d\n",
					kids[i].name, WTERMSIG(st));
			kids[i].pid = 0;
			kids[i].died_at = dev_now();
		}
		for (int i = 0; i < n; i++) {
			/* restarted by `glory dev start` meanwhile: that process is not our child
			 */
			if (!kids[i].pid && kids[i].died_at && dev_alive(dir, kids[i].name))
				kids[i].died_at = 0;
			if (!kids[i].pid && kids[i].died_at &&
			    dev_now() - kids[i].died_at >= RESTART_DELAY_S)
				restart(dir, &kids[i]);
		}
	}
}

/* The first start makes tenant "default" with a volume "default" and an access key, and adds
 * the key to DIR/env; later starts find them in DIR/env. */
static int first_start(const char *dir, long nds)
{
	char path[DEV_PATH_MAX], line[512], master[512] = "", akey[32], secret[64];
	const char *red = nds >= 6 ? "ec:4+2" : nds >= 3 ? "rep:3" : nds == 2 ? "rep:2" : "rep:1";
	struct glory *g = NULL;
	int has_key = 0, rc;
	FILE *f;

	dev_path(path, dir, "env", NULL);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "GLORY_MASTER=", 13) == 0) {
			snprintf(master, sizeof(master), "%s", line + 13);
			master[strcspn(master, "\n")] = '\0';
		}
		has_key |= strncmp(line, "GLORY_ACCESS_KEY=", 17) == 0;
	}
	fclose(f);
	dev_path(path, dir, "keys", NULL);
	if (access(path, F_OK) == 0) { /* made before: put it back into env */
		f = fopen(path, "r");
		if (f) {
			char keys[512];
			size_t n = fread(keys, 1, sizeof(keys) - 1, f);

			fclose(f);
			keys[n] = '\0';
			dev_path(path, dir, "env", NULL);
			f = has_key ? NULL : fopen(path, "a");
			if (f) {
				fputs(keys, f);
				fclose(f);
			}
			printf("%s", keys);
		}
		return 0;
	}
	if (!master[0] || glory_connect(master, &g))
		return -1;
	rc = glory_tenant_create(g, "default", NULL);
	if (rc == 0 || rc == -GL_EEXIST)
		rc = glory_volume_create(g, "default", "default", red, 1, 0, 0);
	if (rc == 0 || rc == -GL_EEXIST)
		rc = glory_key_create(g, "default", akey, secret);
	glory_disconnect(g);
	if (rc) {
		fprintf(stderr, "glory server: cannot make the default tenant and volume: %s\n",
			glory_strerror(rc));
		return -1;
	}
	snprintf(line, sizeof(line),
		 "GLORY_ACCESS_KEY=%s\nGLORY_SECRET_KEY=%s\nAWS_ACCESS_KEY_ID=%s\n"
		 "AWS_SECRET_ACCESS_KEY=%s\nAWS_DEFAULT_REGION=us-east-1\n"
		 "export GLORY_ACCESS_KEY GLORY_SECRET_KEY AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY "
		 "AWS_DEFAULT_REGION\n",
		 akey, secret, akey, secret);
	if (dev_write_atomic(path, line, strlen(line)) == 0) {
		dev_path(path, dir, "env", NULL);
		f = fopen(path, "a");
		if (f) {
			fputs(line, f);
			fclose(f);
		}
	}
	printf("tenant \"default\" with volume \"default\" (%s); its access key:\n%s", red, line);
	printf("try:  . %s/env && glory put default/hello.txt /etc/hostname && glory ls "
	       "default\n",
	       dir);
	return 0;
}

/* The value of NAME= in DIR/env (out empty when absent). */
static void env_get(const char *dir, const char *name, char *out, size_t cap)
{
	char path[DEV_PATH_MAX], line[512];
	size_t nl = strlen(name);
	FILE *f;

	out[0] = '\0';
	dev_path(path, dir, "env", NULL);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, nl) == 0 && line[nl] == '=')
			snprintf(out, cap, "%.*s", (int)strcspn(line + nl + 1, "\n"),
				 line + nl + 1);
	fclose(f);
}

/* Appends NAME=VALUE (exported) to DIR/env. */
static void env_add(const char *dir, const char *name, const char *value)
{
	char path[DEV_PATH_MAX];
	FILE *f;

	dev_path(path, dir, "env", NULL);
	if ((f = fopen(path, "a"))) {
		fprintf(f, "%s=%s\nexport %s\n", name, value, name);
		fclose(f);
	}
}

/* Mounts volume "default" at DIR/mnt with FUSE as the supervised daemon "mount" (stopped,
 * and so unmounted, with the rest). 0 when mounted; a note and -1 when it cannot be. */
static int start_mount(const char *dir)
{
	static struct dev_cmdline cl;
	char mnt[DEV_PATH_MAX], envp[DEV_PATH_MAX], self[PATH_MAX], master[512] = "", line[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct stat st;
	int in_env = 0;
	pid_t pid;
	FILE *f;

	if (n <= 0 || access("/dev/fuse", R_OK | W_OK)) {
		fprintf(stderr, "glory server: no FUSE here (/dev/fuse): not mounting; use "
				"`glory get`/`glory put`\n");
		return -1;
	}
	self[n] = '\0';
	dev_path(envp, dir, "env", NULL);
	if ((f = fopen(envp, "r"))) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "GLORY_MOUNT=", 12) == 0)
				in_env = 1;
			else if (strncmp(line, "GLORY_MASTER=", 13) == 0)
				snprintf(master, sizeof(master), "%.*s",
					 (int)strcspn(line + 13, "\n"), line + 13);
		fclose(f);
	}
	dev_path(mnt, dir, "mnt", NULL);
	if (stat(mnt, &st) && errno == ENOTCONN) /* left by a mount that was killed */
		umount2(mnt, MNT_DETACH);	 /* (glory mount clears it too) */
	if (dev_mkdir_p(mnt) || !master[0])
		return -1;
	char *argv[] = {self,	"mount",    "default", mnt,  "--master",
			master, "--tenant", "default", "-f", NULL};
	if (dev_save_cmdline(dir, "mount", argv, &cl) || dev_spawn(dir, "mount", &cl, &pid))
		return -1;
	for (double end = dev_now() + DEV_START_SECS; dev_now() < end; dev_sleep_ms(100)) {
		char m[DEV_PATH_MAX + 64];
		int found = 0;

		if ((f = fopen("/proc/mounts", "r"))) {
			snprintf(m, sizeof(m), " %s fuse.glory ", mnt);
			while (!found && fgets(line, sizeof(line), f))
				found = strstr(line, m) != NULL;
			fclose(f);
		}
		if (found) {
			if (!in_env)
				env_add(dir, "GLORY_MOUNT", mnt);
			printf("volume \"default\" is mounted at %s (FUSE)\n", mnt);
			return 0;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) /* it gave up: its log says why */
			break;
	}
	fprintf(stderr, "glory server: the FUSE mount did not come up: see %s/mount/log\n", dir);
	return -1;
}

/* A gateway started by `glory server` as a supervised daemon on a port of its own that stays
 * the same on later starts (remembered in DIR/env as VAR=SCHEME HOST:PORT ...). */
struct gateway {
	const char *name, *what, *var, *scheme;
	char self[PATH_MAX], master[512], url[128], listen[96];
	int port;
	struct dev_cmdline cl;
};

/* Fills in this executable, the master, and the gateway's port: the one in DIR/env, else a
 * free one. */
static int gateway_prepare(const char *dir, const char *host, struct gateway *gw)
{
	ssize_t n = readlink("/proc/self/exe", gw->self, sizeof(gw->self) - 1);
	size_t sl = strlen(gw->scheme);
	char *colon;

	if (n <= 0)
		return -1;
	gw->self[n] = '\0';
	env_get(dir, "GLORY_MASTER", gw->master, sizeof(gw->master));
	env_get(dir, gw->var, gw->url, sizeof(gw->url));
	gw->port = 0;
	colon = strrchr(gw->url, ':');
	if (strncmp(gw->url, gw->scheme, sl) == 0 && colon && colon > gw->url + sl)
		gw->port = atoi(colon + 1);
	if (!gw->master[0] || (gw->port <= 0 && dev_free_ports(host, 0, NULL, 1, &gw->port)))
		return -1;
	snprintf(gw->listen, sizeof(gw->listen), "%s:%d", host, gw->port);
	return 0;
}

/* Runs argv as the gateway's daemon and waits for its port; records its URL (SCHEME LISTEN
 * TAIL) in DIR/env the first time. */
static int gateway_spawn(const char *dir, struct gateway *gw, char **argv, const char *tail)
{
	char url[160];
	pid_t pid;

	if (dev_save_cmdline(dir, gw->name, argv, &gw->cl) ||
	    dev_spawn(dir, gw->name, &gw->cl, &pid) ||
	    dev_wait_port(dir, gw->name, pid, gw->listen, dev_now() + DEV_START_SECS)) {
		fprintf(stderr, "glory server: the %s did not come up: see %s/%s/log\n", gw->what,
			dir, gw->name);
		return -1;
	}
	if (!gw->url[0]) {
		snprintf(url, sizeof(url), "%s%s%s", gw->scheme, gw->listen, tail);
		env_add(dir, gw->var, url);
	}
	return 0;
}

/* Serves S3 on a free port of host as the supervised daemon "s3", and adds GLORY_S3_URL to
 * DIR/env. */
static int start_s3(const char *dir, const char *host)
{
	static struct gateway gw = {
	    .name = "s3", .what = "S3 gateway", .var = "GLORY_S3_URL", .scheme = "http://"};

	if (gateway_prepare(dir, host, &gw))
		return -1;
	char *argv[] = {gw.self, "s3", "--listen", gw.listen, "--master", gw.master, NULL};
	if (gateway_spawn(dir, &gw, argv, ""))
		return -1;
	printf("S3 endpoint: http://%s (the access key above; region us-east-1)\n", gw.listen);
	printf("try:  . %s/env && aws --endpoint-url $GLORY_S3_URL s3 ls\n", dir);
	return 0;
}

/* Serves NFSv3 and MOUNT on one free port of host as the supervised daemon "nfs", volume
 * "default" writable by root clients, and adds GLORY_NFS_URL to DIR/env. */
static int start_nfs(const char *dir, const char *host)
{
	static struct gateway gw = {
	    .name = "nfs", .what = "NFS gateway", .var = "GLORY_NFS_URL", .scheme = "nfs://"};
	char sport[16], state[PATH_MAX + 16];

	if (gateway_prepare(dir, host, &gw))
		return -1;
	snprintf(sport, sizeof(sport), "%d", gw.port);
	snprintf(state, sizeof(state), "%s/nfs/state", dir); /* NSM: lock clients, state number */
	char *argv[] = {gw.self,	"nfs",	    "--listen",
			(char *)host,	"--port",   sport,
			"--mount-port", sport,	    "--master",
			gw.master,	"--export", "default/default:no_root_squash",
			"--state-dir",	state,	    NULL};
	if (gateway_spawn(dir, &gw, argv, "/"))
		return -1;
	printf("NFSv3 export: nfs://%s/default/default (MOUNT on the same port)\n", gw.listen);
	printf("try:  nfs-ls 'nfs://%s/default/default/?nfsport=%d&mountport=%d'\n", host, gw.port,
	       gw.port);
	return 0;
}

int cmd_server(int argc, char **argv)
{
	const char *dir = NULL, *host = "127.0.0.1";
	long nds = 6, nmds = 1;
	int detach = 0, rc;
	char sds[24], smds[24];
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &dir, "GLORY_DIR", "DIR", "where everything lives (created)"},
	    {"host", GL_OPT_STR, &host, NULL, "IPV4",
	     "address the daemons listen on (default 127.0.0.1)"},
	    {"ds", GL_OPT_INT, &nds, NULL, "N",
	     "data servers, each with its own directory (default 6: enough for ec:4+2)"},
	    {"mds", GL_OPT_INT, &nmds, NULL, "N", "metadata servers of the shard (default 1)"},
	    {"detach", GL_OPT_FLAG, &detach, NULL, NULL,
	     "return once everything runs (stop it with 'glory dev down --dir DIR')"},
	};
	const struct gl_cmd_help help = {
	    "glory server --dir DIR [--host IPV4] [--ds N] [--mds N] [--detach]",
	    "Runs a single-machine glory: a cluster master, a metadata shard and N data servers, "
	    "each a process with its own directory, log and port under DIR, mounts the "
	    "default volume at DIR/mnt with FUSE, serves S3 (its buckets: the directories of "
	    "that volume) and NFSv3 (export /default/default). Writes DIR/env with what clients "
	    "need. Stays in "
	    "the foreground, restarts a daemon that dies, and stops "
	    "everything on Ctrl-C or SIGTERM. Running it again on the same DIR keeps the data.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!dir) {
		fprintf(stderr, "glory server: --dir is required (see --help)\n");
		return 2;
	}
	snprintf(sds, sizeof(sds), "%ld", nds);
	snprintf(smds, sizeof(smds), "%ld", nmds);
	char *up_argv[] = {"up",   "--dir", (char *)dir, "--host", (char *)host,
			   "--ds", sds,	    "--mds",	 smds,	   NULL};
	sigset_t set;

	/* blocked before any daemon starts, so a Ctrl-C during startup is not lost */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	rc = dev_up((int)GL_ARRAY_SIZE(up_argv) - 1, up_argv);
	if (rc)
		return rc;
	if (nmds > 0 && first_start(dir, nds) == 0) {
		start_mount(dir);
		start_s3(dir, host);
		start_nfs(dir, host);
	}
	fflush(stdout);
	if (detach)
		return 0;
	fprintf(stderr, "glory server: running in the foreground; Ctrl-C stops it\n");
	supervise(dir);
	return dev_down(dir);
}

/* glory dev up|down|status|start|stop|kill: a local cluster of separate processes, for people
 * and for tests. The files of a cluster and its processes: cmd_dev_internal.h. */
#include "common/compiler.h"
#include "common/errors.h"
#include "common/opts.h"
#include "common/rpc.h"
#include "metadata/rpc.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"
#include "tools/glory/cmd_dev_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEV_ADDR_MAX 64

/* Options of `dev up`; the SECS ones are passed on to the daemons as given. */
struct up_opts {
	const char *dir, *host, *out_after, *gc_grace, *repair_every, *scrub_every, *stale_age;
	const char *snapshot_threshold, *write_lease;
	long nds, racks, nmds, nmasters, nshards;
};

/* What `dev up` has started so far, to stop it again on failure. */
struct up_started {
	pid_t pids[DEV_MAX_DS + 2 * DEV_MAX_MDS];
	char names[DEV_MAX_DS + 2 * DEV_MAX_MDS][DEV_NAME_MAX];
	int n;
};

static int dir_ok(const char *cmd, const char *dir)
{
	if (!dir) {
		fprintf(stderr, "glory dev %s: --dir is required (see --help)\n", cmd);
		return 0;
	}
	if (!*dir || strlen(dir) >= DEV_DIR_MAX) {
		fprintf(stderr, "glory dev %s: --dir must be 1 to %d characters\n", cmd,
			DEV_DIR_MAX - 1);
		return 0;
	}
	return 1;
}

static int secs_ok(const char *name, const char *v)
{
	char *end;
	double d;

	if (!v)
		return 1;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < 0) {
		fprintf(stderr, "glory dev up: --%s: '%s' is not a number of seconds\n", name, v);
		return 0;
	}
	return 1;
}

/* 0, or the exit code: 0 after --help, 2 on a usage error. */
static int up_parse(int argc, char **argv, struct up_opts *o, int *exit_code)
{
	struct in_addr a;
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &o->dir, NULL, "DIR", "where the cluster lives (created)"},
	    {"ds", GL_OPT_INT, &o->nds, NULL, "N", "data servers, 1 to 256 (default 6)"},
	    {"masters", GL_OPT_INT, &o->nmasters, NULL, "N",
	     "cluster masters forming one raft group, 1 to 7 (default 1)"},
	    {"shards", GL_OPT_INT, &o->nshards, NULL, "S",
	     "metadata shards 0..S-1, each of --mds members (default 1)"},
	    {"mds", GL_OPT_INT, &o->nmds, NULL, "N",
	     "metadata servers forming shard 0, 0 to 7 (default 3; 0 = chunk store only)"},
	    {"snapshot-threshold", GL_OPT_STR, &o->snapshot_threshold, NULL, "N",
	     "passed to every metadata server"},
	    {"host", GL_OPT_STR, &o->host, NULL, "IPV4",
	     "address every daemon listens on (default 127.0.0.1)"},
	    {"racks", GL_OPT_INT, &o->racks, NULL, "R",
	     "racks: dsI is in rack{I % R}/host{I} (default 1)"},
	    {"out-after", GL_OPT_STR, &o->out_after, NULL, "SECS", "passed to the master"},
	    {"gc-grace", GL_OPT_STR, &o->gc_grace, NULL, "SECS", "passed to the master"},
	    {"write-lease", GL_OPT_STR, &o->write_lease, NULL, "SECS", "passed to the master"},
	    {"repair-every", GL_OPT_STR, &o->repair_every, NULL, "SECS",
	     "passed to every data server"},
	    {"scrub-every", GL_OPT_STR, &o->scrub_every, NULL, "SECS",
	     "passed to every data server"},
	    {"stale-age", GL_OPT_STR, &o->stale_age, NULL, "SECS", "passed to every data server"},
	};
	const struct gl_cmd_help help = {
	    "glory dev up --dir DIR [--ds N] [--mds N] [--racks R] [--host IPV4] [options]",
	    "Starts a master, N data servers and a metadata shard of --mds members as separate "
	    "processes on free TCP ports of one machine, each in DIR/NAME with its log, pid and "
	    "saved command line, each data server in its own host failure domain. Waits until all "
	    "listen, the data servers have registered and the shard has a leader, then writes "
	    "DIR/env (. DIR/env sets GLORY_MASTER for the client commands).",
	};
	int rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);

	*exit_code = rc > 0 ? 0 : 2;
	if (rc)
		return -GL_EINVAL;
	if (!dir_ok("up", o->dir))
		return -GL_EINVAL;
	if (o->nds < 1 || o->nds > DEV_MAX_DS || o->racks < 1 || o->racks > o->nds) {
		fprintf(stderr, "glory dev up: --ds must be 1 to %d and --racks 1 to --ds\n",
			DEV_MAX_DS);
		return -GL_EINVAL;
	}
	if (o->nmasters < 1 || o->nmasters > DEV_MAX_MDS) {
		fprintf(stderr, "glory dev up: --masters must be 1 to %d\n", DEV_MAX_MDS);
		return -GL_EINVAL;
	}
	if (o->nshards < 1 || o->nshards > 4 ||
	    o->nmasters + o->nshards * o->nmds > 2 * DEV_MAX_MDS) {
		fprintf(stderr,
			"glory dev up: --shards must be 1 to 4, with --masters + --shards x "
			"--mds at most %d\n",
			2 * DEV_MAX_MDS);
		return -GL_EINVAL;
	}
	if (o->nmds < 0 || o->nmds > DEV_MAX_MDS) {
		fprintf(stderr, "glory dev up: --mds must be 0 to %d\n", DEV_MAX_MDS);
		return -GL_EINVAL;
	}
	if (inet_pton(AF_INET, o->host, &a) != 1) {
		fprintf(stderr, "glory dev up: --host must be an IPv4 address like 127.0.0.1\n");
		return -GL_EINVAL;
	}
	if (!secs_ok("out-after", o->out_after) || !secs_ok("gc-grace", o->gc_grace) ||
	    !secs_ok("write-lease", o->write_lease) || !secs_ok("repair-every", o->repair_every) ||
	    !secs_ok("scrub-every", o->scrub_every) || !secs_ok("stale-age", o->stale_age))
		return -GL_EINVAL;
	return 0;
}

/* -GL_EBUSY (after saying so) when a daemon of DIR still runs. */
static int up_check_idle(const char *dir)
{
	char names[DEV_MAX_NAMES][DEV_NAME_MAX];
	int n = dev_list_names(dir, names, DEV_MAX_NAMES);

	for (int i = 0; i < n; i++) {
		pid_t pid = dev_alive(dir, names[i]);

		if (pid) {
			fprintf(stderr,
				"glory dev up: a cluster is already running in %s (%s, pid %d): "
				"run 'glory dev down --dir %s' first\n",
				dir, names[i], (int)pid, dir);
			return -GL_EBUSY;
		}
	}
	return 0;
}

/* This executable's path, for the daemons' command lines. */
static int self_path(char *out, size_t cap)
{
	static const char deleted[] = " (deleted)"; /* the binary was rebuilt under us */
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	size_t len;

	if (n <= 0)
		return gl_from_errno(errno);
	out[n] = '\0';
	len = (size_t)n;
	if (len > sizeof(deleted) && strcmp(out + len - sizeof(deleted) + 1, deleted) == 0)
		out[len - sizeof(deleted) + 1] = '\0';
	return 0;
}

static void push(char **a, int *n, const char *opt, const char *val)
{
	if (!val)
		return;
	a[(*n)++] = (char *)opt;
	a[(*n)++] = (char *)val;
}

/* Saves the command lines of the master and ds0..ds{N-1}; forgets daemons of an earlier, larger
 * cluster in the same DIR (their data stays). ds_addr[i] gets dsI's address. */
static int up_save_cmdlines(const struct up_opts *o, const char *self, const int *ports,
			    const int *pairs, const char *maddr, char (*ds_addr)[DEV_ADDR_MAX],
			    char (*mds_addr)[DEV_ADDR_MAX], struct dev_cmdline *c)
{
	char sub[DEV_PATH_MAX], dom[64], name[DEV_NAME_MAX], id[24], listen[DEV_ADDR_MAX];
	char peers[DEV_MAX_MDS * (DEV_ADDR_MAX + 8)] = "";
	char names[DEV_MAX_NAMES][DEV_NAME_MAX];
	char *a[DEV_MAX_ARGS];
	int n, rc = 0;

	for (long i = 0; i < o->nmasters; i++) {
		size_t l = strlen(peers);

		snprintf(peers + l, sizeof(peers) - l, "%s%ld@%s:%d", i ? "," : "", i + 1, o->host,
			 pairs[i]);
	}
	for (long i = 0; !rc && i < o->nmasters; i++) {
		dev_master_name(name, i);
		dev_path(sub, o->dir, name, NULL);
		snprintf(listen, sizeof(listen), "%s:%d", o->host, pairs[i]);
		snprintf(id, sizeof(id), "%ld", i + 1);
		n = 0;
		a[n++] = (char *)self;
		a[n++] = "master";
		push(a, &n, "--dir", sub);
		push(a, &n, "--listen", listen);
		if (o->nmasters > 1) {
			push(a, &n, "--id", id);
			push(a, &n, "--peers", peers);
		}
		push(a, &n, "--out-after", o->out_after);
		push(a, &n, "--gc-grace", o->gc_grace);
		push(a, &n, "--write-lease", o->write_lease);
		a[n] = NULL;
		rc = dev_save_cmdline(o->dir, name, a, c);
	}
	peers[0] = '\0';
	(void)ports;
	for (long i = 0; !rc && i < o->nds; i++) {
		snprintf(name, sizeof(name), "ds%ld", i);
		dev_path(sub, o->dir, name, NULL);
		snprintf(ds_addr[i], DEV_ADDR_MAX, "%s:%d", o->host, ports[i]);
		snprintf(dom, sizeof(dom), "rack%ld/host%ld", i % o->racks, i);
		n = 2;
		a[1] = "ds";
		push(a, &n, "--dir", sub);
		push(a, &n, "--listen", ds_addr[i]);
		push(a, &n, "--master", maddr);
		push(a, &n, "--domain", dom);
		push(a, &n, "--repair-every", o->repair_every);
		push(a, &n, "--scrub-every", o->scrub_every);
		push(a, &n, "--stale-age", o->stale_age);
		a[n] = NULL;
		rc = dev_save_cmdline(o->dir, name, a, c);
	}
	/* metadata server j = s x nmds + i is member i + 1 of shard s */
	for (long j = 0; j < o->nshards * o->nmds; j++)
		snprintf(mds_addr[j], DEV_ADDR_MAX, "%s:%d", o->host, pairs[o->nmasters + j]);
	for (long sh = 0; !rc && sh < o->nshards; sh++) {
		char shard[24];

		peers[0] = '\0';
		for (long i = 0; i < o->nmds; i++) {
			size_t l = strlen(peers);

			snprintf(peers + l, sizeof(peers) - l, "%s%ld@%s", i ? "," : "", i + 1,
				 mds_addr[sh * o->nmds + i]);
		}
		snprintf(shard, sizeof(shard), "%ld", sh);
		for (long i = 0; !rc && i < o->nmds; i++) {
			long j = sh * o->nmds + i;

			snprintf(name, sizeof(name), "mds%ld", j);
			dev_path(sub, o->dir, name, NULL);
			snprintf(id, sizeof(id), "%ld", i + 1);
			n = 2;
			a[1] = "mds";
			push(a, &n, "--dir", sub);
			push(a, &n, "--listen", mds_addr[j]);
			push(a, &n, "--master", maddr);
			push(a, &n, "--shard", shard);
			push(a, &n, "--id", id);
			push(a, &n, "--peers", peers);
			push(a, &n, "--snapshot-threshold", o->snapshot_threshold);
			a[n] = NULL;
			rc = dev_save_cmdline(o->dir, name, a, c);
		}
	}
	if (rc) {
		fprintf(stderr, "glory dev up: cannot write command lines in %s: %s\n", o->dir,
			strerror(errno));
		return rc;
	}
	n = dev_list_names(o->dir, names, DEV_MAX_NAMES);
	for (int i = 0; i < n; i++) {
		char *end;
		long k = strtol(names[i] + 2, &end, 10);

		long km = strtol(names[i] + 3, NULL, 10);

		if (dev_master_index(names[i]) >= 0 && dev_master_index(names[i]) < o->nmasters)
			continue;
		if (strcmp(names[i], "master") == 0 ||
		    (strncmp(names[i], "ds", 2) == 0 && !*end && end != names[i] + 2 && k >= 0 &&
		     k < o->nds))
			continue;
		if (strncmp(names[i], "mds", 3) == 0 && names[i][3] &&
		    strspn(names[i] + 3, "0123456789") == strlen(names[i] + 3) &&
		    km < o->nmds * o->nshards)
			continue;
		dev_path(sub, o->dir, names[i], "cmdline");
		unlink(sub);
		dev_remove_pid(o->dir, names[i]);
		fprintf(stderr, "note: %s/%s is left from an earlier cluster; not started\n",
			o->dir, names[i]);
	}
	return 0;
}

/* Starts DIR/NAME from its saved command line and waits for its port. */
static int up_start_one(const char *dir, const char *name, struct up_started *st, double deadline)
{
	static struct dev_cmdline c;
	pid_t pid;
	int rc;

	rc = dev_load_cmdline(dir, name, &c);
	if (!rc)
		rc = dev_spawn(dir, name, &c, &pid);
	if (rc)
		return rc;
	st->pids[st->n] = pid;
	snprintf(st->names[st->n++], DEV_NAME_MAX, "%s", name);
	return dev_wait_port(dir, name, pid, dev_arg_of(&c, "--listen"), deadline);
}

/* The master first (the data servers register with it), then every data server. */
static int up_start_all(const struct up_opts *o, struct up_started *st)
{
	double deadline = dev_now() + DEV_START_SECS;
	char name[DEV_NAME_MAX];
	int rc;

	fprintf(stderr, "starting %ld master(s), %ld data servers and %ld metadata servers in %s\n",
		o->nmasters, o->nds, o->nmds * o->nshards, o->dir);
	rc = 0;
	for (long i = 0; !rc && i < o->nmasters; i++) {
		dev_master_name(name, i);
		rc = up_start_one(o->dir, name, st, deadline);
	}
	for (long i = 0; !rc && i < o->nds; i++) {
		snprintf(name, sizeof(name), "ds%ld", i);
		rc = up_start_one(o->dir, name, st, deadline);
	}
	for (long j = 0; !rc && j < o->nmds * o->nshards; j++) {
		snprintf(name, sizeof(name), "mds%ld", j);
		rc = up_start_one(o->dir, name, st, deadline);
	}
	return rc;
}

/* Is the data server at addr up in the master's map? */
static int is_up(const struct glory_status *s, const char *addr)
{
	for (int i = 0; i < s->nservers; i++)
		if (strcmp(s->servers[i].addr, addr) == 0 && strcmp(s->servers[i].state, "up") == 0)
			return 1;
	return 0;
}

/* Waits until the master lists every data server as up. */
static int up_wait_registered(const char *dir, const char *maddr, char (*ds_addr)[DEV_ADDR_MAX],
			      long nds)
{
	double deadline = dev_now() + DEV_START_SECS;
	uint8_t up[DEV_MAX_DS] = {0};
	struct glory *g = NULL;
	long nup = 0;
	int rc = 0;

	while (nup < nds) {
		struct glory_status *s = NULL;

		if (dev_now() > deadline) {
			rc = -GL_ETIMEDOUT;
			break;
		}
		if (!g && glory_connect(maddr, &g))
			g = NULL;
		if (g && glory_status(g, &s) == 0) {
			for (long i = 0; i < nds; i++) {
				if (!up[i] && is_up(s, ds_addr[i])) {
					up[i] = 1;
					nup++;
				}
			}
			glory_status_free(s);
		} else if (g) {
			glory_disconnect(g);
			g = NULL;
		}
		if (nup < nds)
			dev_sleep_ms(100);
	}
	glory_disconnect(g);
	if (rc) {
		fprintf(stderr, "glory dev up: not registered with the master after %.0f s:",
			DEV_START_SECS);
		for (long i = 0; i < nds; i++)
			if (!up[i])
				fprintf(stderr, " ds%ld", i);
		fprintf(stderr, " (see their logs in %s)\n", dir);
	}
	return rc;
}

/* The role a metadata server reports (MD_STATUS), or "" when it does not answer. */
static void mds_role(const char *addr, char *role, size_t cap)
{
	struct gl_rpc_conn *conn = NULL;
	struct gl_rpc_call c = {.opcode = GL_MD_STATUS};
	struct gl_rbuf r;

	role[0] = '\0';
	if (gl_rpc_connect(addr, 1000, &conn))
		return;
	if (gl_rpc_call(conn, &c, 2000) == 0 && c.status == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		gl_get_u32(&r);
		for (int i = 0; i < 7; i++)
			gl_get_u64(&r);
		gl_get_str(&r, role, cap);
		if (gl_rbuf_check(&r))
			role[0] = '\0';
	}
	gl_rpc_call_done(&c);
	gl_rpc_close(conn);
}

/* Waits until a member of the shard says it is the leader. */
static int up_wait_leader(const char *dir, char (*mds_addr)[DEV_ADDR_MAX], long nmds, long nshards)
{
	double deadline = dev_now() + DEV_START_SECS;
	long led = 0;

	while (nmds > 0) {
		led = 0;
		for (long sh = 0; sh < nshards; sh++) {
			for (long i = 0; i < nmds; i++) {
				char role[32];

				mds_role(mds_addr[sh * nmds + i], role, sizeof(role));
				if (strcmp(role, "leader") == 0) {
					led++;
					break;
				}
			}
		}
		if (led == nshards)
			return 0;
		if (dev_now() > deadline) {
			fprintf(stderr,
				"glory dev up: the metadata shard elected no leader in %.0f s (see "
				"the logs of mds0..mds%ld in %s)\n",
				DEV_START_SECS, nmds - 1, dir);
			return -GL_ETIMEDOUT;
		}
		dev_sleep_ms(100);
	}
	return 0;
}

static int up_write_env(const char *dir, const char *maddr)
{
	char path[DEV_PATH_MAX], text[DEV_MAX_MDS * DEV_ADDR_MAX + 64];
	int n = snprintf(text, sizeof(text), "GLORY_MASTER=%s\nexport GLORY_MASTER\n", maddr);
	int rc;

	dev_path(path, dir, "env", NULL);
	rc = dev_write_atomic(path, text, (size_t)n);
	if (rc)
		fprintf(stderr, "glory dev up: cannot write %s: %s\n", path, strerror(errno));
	return rc;
}

static void up_summary(const struct up_opts *o, const char *maddr)
{
	if (o->nmasters > 1)
		printf("masters: %s\n", maddr);
	printf("glory is running: master %s, %ld data servers, %ld metadata servers, everything in "
	       "%s\n",
	       maddr, o->nds, o->nmds * o->nshards, o->dir);
	printf("  . %s/env            # sets GLORY_MASTER for the commands below\n", o->dir);
	printf("  glory status\n");
	printf("  glory blob put FILE      # prints the blob's id\n");
	printf("  glory blob get ID FILE\n");
	printf("  glory dev down --dir %s\n", o->dir);
}

int dev_up(int argc, char **argv)
{
	static struct up_started st;
	static char ds_addr[DEV_MAX_DS][DEV_ADDR_MAX], mds_addr[2 * DEV_MAX_MDS][DEV_ADDR_MAX];
	static struct dev_cmdline c;
	struct up_opts o = {
	    .host = "127.0.0.1", .nds = 6, .racks = 1, .nmds = 3, .nmasters = 1, .nshards = 1};
	char self[PATH_MAX], absdir[PATH_MAX], maddr[DEV_MAX_MDS * DEV_ADDR_MAX] = "";
	int ports[DEV_MAX_DS], pairs[2 * DEV_MAX_MDS], code = 1;

	st.n = 0;
	if (up_parse(argc, argv, &o, &code))
		return code;
	code = 1;
	if (up_check_idle(o.dir))
		return code;
	if (dev_mkdir_p(o.dir) || !realpath(o.dir, absdir)) {
		fprintf(stderr, "glory dev up: cannot create %s: %s\n", o.dir, strerror(errno));
		return code;
	}
	if (strlen(absdir) >= DEV_DIR_MAX) {
		fprintf(stderr, "glory dev up: %s: path too long\n", absdir);
		return code;
	}
	o.dir = absdir; /* the saved command lines work from any directory */
	if (self_path(self, sizeof(self)) ||
	    dev_free_ports(o.host, (int)(o.nmasters + o.nshards * o.nmds), pairs, (int)o.nds,
			   ports)) {
		fprintf(stderr, "glory dev up: cannot prepare the daemons: %s\n", strerror(errno));
		return code;
	}
	for (long i = 0; i < o.nmasters; i++) {
		size_t l = strlen(maddr);

		snprintf(maddr + l, sizeof(maddr) - l, "%s%s:%d", i ? "," : "", o.host, pairs[i]);
	}
	if (up_save_cmdlines(&o, self, ports, pairs, maddr, ds_addr, mds_addr, &c))
		return code;
	if (up_start_all(&o, &st) || up_wait_registered(o.dir, maddr, ds_addr, o.nds) ||
	    up_wait_leader(o.dir, mds_addr, o.nmds, o.nshards) || up_write_env(o.dir, maddr))
		goto out_stop;
	up_summary(&o, maddr);
	return 0;
out_stop:
	fprintf(stderr, "glory dev up: failed; stopping what it started\n");
	dev_stop_all(st.pids, st.names, st.n);
	for (int i = 0; i < st.n; i++)
		dev_remove_pid(o.dir, st.names[i]);
	return code;
}

/* --- down, status, start, stop, kill --- */

int dev_down(const char *dir)
{
	static char names[DEV_MAX_NAMES][DEV_NAME_MAX], running[DEV_MAX_NAMES][DEV_NAME_MAX];
	pid_t pids[DEV_MAX_NAMES];
	int n = dev_list_names(dir, names, DEV_MAX_NAMES), nrun = 0, rc;

	for (int i = 0; i < n; i++) {
		pid_t pid = dev_alive(dir, names[i]);

		if (pid) {
			pids[nrun] = pid;
			memcpy(running[nrun++], names[i], DEV_NAME_MAX);
		}
	}
	rc = dev_stop_all(pids, running, nrun);
	for (int i = 0; i < nrun; i++)
		if (!dev_pid_runs(pids[i], NULL))
			fprintf(stderr, "stopped %s (pid %d)\n", running[i], (int)pids[i]);
	for (int i = 0; i < n; i++)
		if (!dev_alive(dir, names[i]))
			dev_remove_pid(dir, names[i]);
	if (!nrun)
		fprintf(stderr, "nothing running in %s\n", dir);
	return rc ? 1 : 0;
}

/* "T (stopped)" in /proc/PID/stat: paused by SIGSTOP. */
static int paused(pid_t pid)
{
	char path[64], buf[512];
	const char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* after "pid (comm)" */
	return p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}

static int dev_status(const char *dir)
{
	static char names[DEV_MAX_NAMES][DEV_NAME_MAX];
	static struct dev_cmdline c;
	int n = dev_list_names(dir, names, DEV_MAX_NAMES);

	if (!n) {
		fprintf(stderr, "glory dev status: no glory dev cluster in %s\n", dir);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		pid_t pid = dev_alive(dir, names[i]);
		const char *addr =
		    dev_load_cmdline(dir, names[i], &c) ? NULL : dev_arg_of(&c, "--listen");
		char pidtxt[16] = "-";

		if (pid)
			snprintf(pidtxt, sizeof(pidtxt), "%d", (int)pid);
		printf("%-8s %-8s %-5s %s%s\n", names[i], pidtxt, pid ? "alive" : "dead",
		       addr ? addr : "?", pid && paused(pid) ? "  (paused by SIGSTOP)" : "");
	}
	return 0;
}

static int dev_start(const char *dir, const char *name)
{
	static struct dev_cmdline c;
	pid_t pid = dev_alive(dir, name);
	char one[1][DEV_NAME_MAX];

	if (pid) {
		fprintf(stderr, "%s is already running (pid %d)\n", name, (int)pid);
		return 0;
	}
	if (dev_load_cmdline(dir, name, &c)) {
		fprintf(stderr,
			"glory dev start: no daemon %s in %s (glory dev status lists them)\n", name,
			dir);
		return 1;
	}
	if (dev_spawn(dir, name, &c, &pid))
		return 1;
	if (dev_wait_port(dir, name, pid, dev_arg_of(&c, "--listen"), dev_now() + DEV_START_SECS) ==
	    0)
		return 0;
	snprintf(one[0], DEV_NAME_MAX, "%s", name);
	dev_stop_all(&pid, one, 1);
	dev_remove_pid(dir, name);
	return 1;
}

/* Every daemon of DIR that is not running (the master first): a whole dev cluster again on its
 * own ports, after a reboot or `glory dev down`. */
static int dev_start_all(const char *dir)
{
	static char names[DEV_MAX_NAMES][DEV_NAME_MAX];
	static struct dev_cmdline c;
	int n = dev_list_names(dir, names, DEV_MAX_NAMES), rc = 0;

	if (n <= 0) {
		fprintf(stderr, "glory dev start: no daemons in %s (glory dev up makes them)\n",
			dir);
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (!dev_alive(dir, names[i]) && dev_load_cmdline(dir, names[i], &c) == 0 &&
		    dev_arg_of(&c, "--listen") && dev_start(dir, names[i]))
			rc = 1;
	return rc;
}

static int dev_stop(const char *dir, const char *name)
{
	pid_t pid = dev_alive(dir, name);
	char one[1][DEV_NAME_MAX];

	if (!pid) {
		fprintf(stderr, "%s is not running\n", name);
		dev_remove_pid(dir, name);
		return 0;
	}
	snprintf(one[0], DEV_NAME_MAX, "%s", name);
	if (dev_stop_all(&pid, one, 1))
		return 1;
	dev_remove_pid(dir, name);
	fprintf(stderr, "stopped %s (pid %d)\n", name, (int)pid);
	return 0;
}

/* "9", "KILL", "SIGKILL", "stop", ... -> the signal number, or 0. */
static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {
	    {"KILL", SIGKILL}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
	    {"INT", SIGINT},   {"HUP", SIGHUP},	  {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
	    {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
	};
	char *end;
	long v;

	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	v = strtol(s, &end, 10);
	if (end != s && !*end)
		return v > 0 && v <= SIGRTMAX ? (int)v : 0;
	for (size_t i = 0; i < GL_ARRAY_SIZE(sigs); i++)
		if (strcasecmp(s, sigs[i].name) == 0)
			return sigs[i].sig;
	return 0;
}

/* Sends sig to NAME; for SIGKILL, returns once the process is gone (tests restart it next). */
static int dev_kill(const char *dir, const char *name, const char *signame)
{
	int sig = parse_signal(signame);
	pid_t pid = dev_alive(dir, name);
	double deadline = dev_now() + DEV_STOP_SECS;

	if (!sig) {
		fprintf(stderr,
			"glory dev kill: --signal '%s': use KILL, 9, STOP, CONT, TERM, ...\n",
			signame);
		return 2;
	}
	if (!pid) {
		fprintf(stderr, "glory dev kill: %s is not running\n", name);
		return 1;
	}
	if (kill(pid, sig)) {
		fprintf(stderr, "glory dev kill: %s (pid %d): %s\n", name, (int)pid,
			strerror(errno));
		return 1;
	}
	while (sig == SIGKILL && dev_pid_runs(pid, NULL)) {
		if (dev_now() > deadline) {
			fprintf(stderr, "glory dev kill: %s (pid %d) survives SIGKILL\n", name,
				(int)pid);
			return 1;
		}
		dev_sleep_ms(10);
	}
	return 0;
}

static const struct dev_sub {
	const char *name;
	int takes_name;
	const char *what; /* one line for glory dev --help */
	const char *usage;
	const char *summary;
} subs[] = {
    {"down", 0, "stop every daemon of DIR", "glory dev down --dir DIR",
     "Stops every daemon of the cluster in DIR together (SIGTERM, SIGKILL after 10 s) and "
     "removes their pid files; their data and logs stay. Nothing running is not an error."},
    {"status", 0, "list the daemons of DIR: pid, alive or dead, address",
     "glory dev status --dir DIR",
     "One line per daemon of the cluster in DIR: name, pid, alive or dead, address."},
    {"start", 1, "start daemon NAME (or every stopped one) again",
     "glory dev start --dir DIR [NAME]",
     "Starts daemon NAME (master, ds0, ...) again with its saved command line and waits until "
     "it accepts connections; without NAME, every daemon of DIR that is not running."},
    {"stop", 1, "stop daemon NAME (SIGTERM, then SIGKILL)", "glory dev stop --dir DIR NAME",
     "Stops daemon NAME: SIGTERM, SIGKILL after 10 s."},
    {"kill", 1, "send daemon NAME a signal (SIGKILL unless --signal)",
     "glory dev kill --dir DIR [--signal SIG] NAME",
     "Sends a signal to daemon NAME, SIGKILL by default (and then waits until it is gone): "
     "tests simulate crashes with it, and hangs with --signal STOP / CONT."},
};

static int dev_simple(const struct dev_sub *sub, int argc, char **argv)
{
	const char *dir = NULL, *signame = "KILL";
	char *pos[1];
	int npos = 0, rc;
	const struct gl_opt opts[] = {
	    {"dir", GL_OPT_STR, &dir, NULL, "DIR", "the cluster's directory (of glory dev up)"},
	    {"signal", GL_OPT_STR, &signame, NULL, "SIG", "KILL or 9 (default), STOP, CONT, TERM"},
	};
	const struct gl_cmd_help help = {sub->usage, sub->summary};
	size_t nopts = strcmp(sub->name, "kill") == 0 ? 2 : 1;

	rc = gl_opts_parse(argc, argv, &help, opts, nopts, pos, sub->takes_name, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!dir_ok(sub->name, dir))
		return 2;
	if (strcmp(sub->name, "start") == 0 && npos == 0)
		return dev_start_all(dir);
	if (sub->takes_name && (npos != 1 || !dev_valid_name(pos[0]))) {
		fprintf(stderr,
			"glory dev %s: name one daemon: master, ds0, ds1, ... (usage: %s)\n",
			sub->name, sub->usage);
		return 2;
	}
	if (strcmp(sub->name, "down") == 0)
		return dev_down(dir);
	if (strcmp(sub->name, "status") == 0)
		return dev_status(dir);
	if (strcmp(sub->name, "start") == 0)
		return dev_start(dir, pos[0]);
	if (strcmp(sub->name, "stop") == 0)
		return dev_stop(dir, pos[0]);
	return dev_kill(dir, pos[0], signame);
}

static void dev_usage(FILE *f)
{
	fprintf(f, "usage: glory dev SUBCOMMAND --dir DIR ...   (glory dev SUBCOMMAND --help)\n\n");
	fprintf(f, "  %-7s %s\n", "up", "start a master and N data servers in DIR");
	for (size_t i = 0; i < GL_ARRAY_SIZE(subs); i++)
		fprintf(f, "  %-7s %s\n", subs[i].name, subs[i].what);
}

int cmd_dev(int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";

	if (strcmp(sub, "up") == 0)
		return dev_up(argc - 1, argv + 1);
	for (size_t i = 0; i < GL_ARRAY_SIZE(subs); i++)
		if (strcmp(sub, subs[i].name) == 0)
			return dev_simple(&subs[i], argc - 1, argv + 1);
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		dev_usage(stdout);
		return 0;
	}
	if (*sub)
		fprintf(stderr, "glory dev: unknown subcommand '%s'\n\n", sub);
	dev_usage(stderr);
	return 2;
}

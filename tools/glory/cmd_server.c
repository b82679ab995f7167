/* glory server: a whole single-machine glory in one command, supervised in the foreground. */
#include "common/compiler.h"
#include "common/opts.h"
#include "tools/glory/cmd.h"
#include "tools/glory/cmd_dev_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

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
	    "each a process with its own directory, log and port under DIR. Writes DIR/env with "
	    "what clients need. Stays in the foreground, restarts a daemon that dies, and stops "
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
	if (rc || detach)
		return rc;
	fprintf(stderr, "glory server: running in the foreground; Ctrl-C stops it\n");
	supervise(dir);
	return dev_down(dir);
}

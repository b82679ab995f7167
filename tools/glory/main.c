/* glory: one command for every daemon role and every admin command. */
#include "common/compiler.h"
#include "common/log.h"
#include "common/mem.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
    {"master", cmd_master, "run the cluster master daemon"},
    {"ds", cmd_ds, "run a data server daemon"},
    {"mds", cmd_mds, "run a metadata server daemon (a member of a shard)"},
    {"blob", cmd_blob, "put, get, remove blobs in the chunk store"},
    {"tenant", cmd_tenant, "create, list, remove tenants"},
    {"key", cmd_key, "create and remove a tenant's access keys"},
    {"volume", cmd_volume, "create, list, change, remove volumes; usage"},
    {"put", cmd_put, "store a file in a volume: put VOL/PATH FILE"},
    {"get", cmd_get, "read a file of a volume: get VOL/PATH [FILE]"},
    {"ls", cmd_ls, "list a directory of a volume: ls VOL[/PATH]"},
    {"rm", cmd_rm, "remove a file (-r: a directory) of a volume"},
    {"stat", cmd_stat, "show a file's attributes"},
    {"mkdir", cmd_mkdir, "create a directory in a volume"},
    {"mount", cmd_mount, "mount a volume with FUSE: mount VOL MOUNTPOINT"},
    {"s3", cmd_s3, "serve the tenants' volumes over S3: s3 --listen H:P"},
    {"nfs", cmd_nfs, "serve volumes over NFSv3: nfs --listen H [--port P]"},
    {"disk", cmd_disk, "VM disks: create, clone, snapshot, serve over NBD, import"},
    {"status", cmd_status, "show servers, capacity, repair progress"},
    {"shard", cmd_shard, "metadata shards: status, dump, add and remove members"},
    {"server", cmd_server, "run a whole single-machine glory in the foreground"},
    {"dev", cmd_dev, "start and stop a local cluster (master + data servers)"},
};

int cmd_log_setup(const char *who, const char *level, const char *file)
{
	enum gl_log_level lvl;

	if (gl_log_parse_level(level, &lvl)) {
		fprintf(stderr, "glory %s: --log-level must be debug, info, warn or error\n", who);
		return 2;
	}
	if (gl_log_init(who, lvl, file)) {
		fprintf(stderr, "glory %s: cannot open log file %s\n", who, file);
		return 1;
	}
	return 0;
}

int cmd_gateway_connect(const char *who, const char *master, bool cache, struct glory **g)
{
	sigset_t set;
	int rc;

	/* the signals that stop a gateway are taken by its run loop only, not libglory's threads */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = glory_connect(master, g);
	for (int waited = 0; rc && waited < 60; waited++) { /* a cluster still starting */
		usleep(500 * 1000);
		rc = glory_connect(master, g);
	}
	if (rc) {
		fprintf(stderr, "glory %s: cannot reach the master at %s: %s\n", who, master,
			glory_strerror(rc));
		return 1;
	}
	/* lookups and attributes under leases: never stale once another client's change is
	 * acknowledged (docs/architecture.md) */
	glory_set_cache(*g, cache);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: glory COMMAND [options]   (glory COMMAND --help for details)\n\n");
	for (size_t i = 0; i < GL_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\nClient commands find the master with --master H:P or $GLORY_MASTER.\n");
	fprintf(f, "glory --version prints the version.\n");
}

/* Runs the command named argv[0]; -1 when there is none. */
static int run(int argc, char **argv)
{
	for (size_t i = 0; i < GL_ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[0], cmds[i].name) == 0) {
			int rc = cmds[i].fn(argc, argv);

			return rc < 0 || rc > 255 ? 1 : rc; /* 0 ok, 1 failed, 2 usage error */
		}
	}
	fprintf(stderr, "glory: unknown command '%s'\n\n", argv[0]);
	usage(stderr);
	return 2;
}

/* Output lost on a full disk must not look like success. A reader that went away (EPIPE:
 * `glory status | head -1`) is not an error worth a message. */
static int finish_stdout(int rc)
{
	errno = 0;
	if ((fflush(stdout) || ferror(stdout)) && errno != EPIPE) {
		fprintf(stderr, "glory: cannot write to standard output: %s\n",
			errno ? strerror(errno) : "write error");
		rc = rc ? rc : 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	gl_mem_tune();
	if (getenv("GLORY_LOG_LEVEL")) {
		enum gl_log_level lvl;

		if (gl_log_parse_level(getenv("GLORY_LOG_LEVEL"), &lvl) == 0)
			gl_log_set_level(lvl);
	}
	if (argc < 2) {
		usage(stdout);
		rc = 2;
	} else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		   (strcmp(argv[1], "help") == 0 && argc == 2)) {
		usage(stdout);
		rc = 0;
	} else if (strcmp(argv[1], "help") == 0) {
		char *help_argv[] = {argv[2], "--help", NULL};

		rc = run(2, help_argv); /* glory help CMD = glory CMD --help */
	} else if (strcmp(argv[1], "--version") == 0) {
		printf("glory 0.1\n");
		rc = 0;
	} else {
		rc = run(argc - 1, argv + 1);
	}
	return finish_stdout(rc);
}

/* glory: one command for every daemon role and every admin command. */
#include "common/compiler.h"
#include "common/log.h"
#include "tools/glory/cmd.h"

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
    {"master", cmd_master, "run the cluster master daemon"},
    {"ds", cmd_ds, "run a data server daemon"},
    {"blob", cmd_blob, "put, get, remove blobs in the chunk store"},
    {"status", cmd_status, "show servers, capacity, repair progress"},
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

static void usage(FILE *f)
{
	fprintf(f, "usage: glory COMMAND [options]   (glory COMMAND --help for details)\n\n");
	for (size_t i = 0; i < GL_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\nClient commands find the master with --master H:P or $GLORY_MASTER.\n");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("GLORY_LOG_LEVEL")) {
		enum gl_log_level lvl;

		if (gl_log_parse_level(getenv("GLORY_LOG_LEVEL"), &lvl) == 0)
			gl_log_set_level(lvl);
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("glory 0.1\n");
		return 0;
	}
	for (size_t i = 0; i < GL_ARRAY_SIZE(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "glory: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}

/* Subcommands of the glory command. Each takes argv[0] = its own name and returns the exit code
 * (0 ok, 1 failure, 2 usage error). */
#ifndef GL_CMD_H
#define GL_CMD_H

#include <stdbool.h>

int cmd_master(int argc, char **argv);
int cmd_ds(int argc, char **argv);
int cmd_mds(int argc, char **argv);
int cmd_blob(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_dev(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_shard(int argc, char **argv);

/* Daemons: --log-level and --log-file applied; returns 0 or an exit code after saying why. */
int cmd_log_setup(const char *who, const char *level, const char *file);

struct glory;
/* Gateways: SIGTERM/SIGINT blocked in every thread but the run loop's, the master reached
 * (waiting up to 30 s for a cluster still starting), the lease cache on or off; 0, or an exit
 * code after saying why. */
int cmd_gateway_connect(const char *who, const char *master, bool cache, struct glory **g);

int cmd_tenant(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_volume(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_s3(int argc, char **argv);
int cmd_nfs(int argc, char **argv);
int cmd_disk(int argc, char **argv);

/* Options of the commands that reach volumes (cmd_fs.c, cmd_files.c). */
struct cmd_common {
	const char *master, *tenant, *key, *secret;
};

#define CMD_COMMON_OPTS(c)                                                                         \
	{"master", GL_OPT_STR, &(c).master, "GLORY_MASTER", "H:P", "cluster master(s)"},           \
	    {"tenant", GL_OPT_STR, &(c).tenant, NULL, "T", "act as the admin on tenant T"},        \
	    {"key", GL_OPT_STR, &(c).key, "GLORY_ACCESS_KEY", "KEY", "act as this access key"},    \
	{                                                                                          \
		"secret", GL_OPT_STR, &(c).secret, "GLORY_SECRET_KEY", "SECRET",                   \
		    "the access key's secret"                                                      \
	}

/* Connects (and sets the credentials); 0, or an exit code after saying why. */
int cmd_connect_as(const char *who, const struct cmd_common *c, struct glory **g);
/* -p, -r, -l, -f as --parents, --recursive, --long, --force. */
void cmd_long_flags(int argc, char **argv);
/* The errno text of a glory error. */
const char *cmd_err_text(int rc);

#endif

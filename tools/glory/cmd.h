/* Subcommands of the glory command. Each takes argv[0] = its own name and returns the exit code
 * (0 ok, 1 failure, 2 usage error). */
#ifndef GL_CMD_H
#define GL_CMD_H

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

#endif

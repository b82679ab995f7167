/* glory dev, private: the files of a dev cluster and the processes behind them.
 *
 * Layout of DIR (the --dir of every dev subcommand):
 *   DIR/env           shell-sourceable: GLORY_MASTER=HOST:PORT, export GLORY_MASTER
 *   DIR/NAME/         one per daemon (master, ds0, ds1, ...): the daemon's own --dir, and
 *   DIR/NAME/cmdline  its argv, NUL-separated: `glory dev start` re-executes it unchanged
 *   DIR/NAME/pid      the pid it runs as (removed by stop and down, kept by kill)
 *   DIR/NAME/log      its stdout and stderr, appended across restarts
 * A daemon is alive when its pid exists and that process's /proc/PID/cmdline is the saved one:
 * pids are reused, so a live pid alone proves nothing.
 *
 * Everything here runs in the single-threaded `glory dev` process (static buffers, fork).
 * Functions return 0 or -GL_E...; on failure of a system call errno still says why.
 */
#ifndef GL_CMD_DEV_INTERNAL_H
#define GL_CMD_DEV_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#define DEV_MAX_DS	256		  /* data servers per cluster */
#define DEV_MAX_MDS	7		  /* metadata servers (one shard) */
#define DEV_MAX_NAMES	(DEV_MAX_DS + 16) /* daemons listed in one DIR */
#define DEV_NAME_MAX	32		  /* "master", "ds255", ... with the NUL */
#define DEV_DIR_MAX	3072		  /* so DIR/NAME/FILE always fits DEV_PATH_MAX */
#define DEV_PATH_MAX	(DEV_DIR_MAX + 64)
#define DEV_MAX_ARGS	40
#define DEV_CMDLINE_MAX 16384
#define DEV_START_SECS	30.0 /* all daemons of `dev up` listening, or the one of `dev start` */
#define DEV_STOP_SECS	10.0 /* SIGTERM, then SIGKILL */
#define DEV_KILL_SECS	5.0  /* after SIGKILL: give up (a process stuck in the kernel) */
#define DEV_LOG_TAIL	20   /* log lines shown when a daemon fails to start */

/* A daemon's command line: argv[0..argc-1] point into buf (len bytes, each arg NUL-ended). */
struct dev_cmdline {
	char buf[DEV_CMDLINE_MAX];
	size_t len;
	char *argv[DEV_MAX_ARGS + 1];
	int argc;
};

double dev_now(void);
void dev_sleep_ms(int ms);

/* DIR/NAME or DIR/NAME/FILE (file may be NULL). dir must be shorter than DEV_DIR_MAX. */
void dev_path(char out[DEV_PATH_MAX], const char *dir, const char *name, const char *file);
int dev_mkdir_p(const char *path);
/* Writes path through path.tmp, fsync and rename: a reader sees the old or the new content. */
int dev_write_atomic(const char *path, const void *data, size_t len);

/* The pid in DIR/NAME/pid, or 0. */
pid_t dev_read_pid(const char *dir, const char *name);
void dev_remove_pid(const char *dir, const char *name);
int dev_load_cmdline(const char *dir, const char *name, struct dev_cmdline *c);
/* Copies the NULL-terminated argv into c and saves it as DIR/NAME/cmdline (creating DIR/NAME). */
int dev_save_cmdline(const char *dir, const char *name, char **argv, struct dev_cmdline *c);
/* The value after opt ("--listen") in c, or NULL. Points into c. */
const char *dev_arg_of(const struct dev_cmdline *c, const char *opt);

/* pid runs command line c; without c, runs something whose command line mentions glory. A
 * zombie child of ours is reaped and counts as gone. */
int dev_pid_runs(pid_t pid, const struct dev_cmdline *c);
/* The pid of DIR/NAME when it is alive, else 0. */
pid_t dev_alive(const char *dir, const char *name);

/* Starts c as DIR/NAME: own session, stdin /dev/null, output appended to DIR/NAME/log; writes
 * DIR/NAME/pid. The caller reaps *pid. */
int dev_spawn(const char *dir, const char *name, struct dev_cmdline *c, pid_t *pid);
/* Waits until our child pid (DIR/NAME) accepts TCP connections on addr (IPv4 HOST:PORT): one
 * progress line on stderr. If it exits first or deadline (dev_now() clock) passes, says why and
 * shows the end of its log: -GL_ETIMEDOUT or -GL_ECLOSED. */
int dev_wait_port(const char *dir, const char *name, pid_t pid, const char *addr, double deadline);
/* Stops pids[0..n-1] together: SIGTERM (and SIGCONT), SIGKILL after DEV_STOP_SECS. names[] are
 * for messages. -GL_EBUSY when one survives SIGKILL. */
int dev_stop_all(const pid_t *pids, char (*names)[DEV_NAME_MAX], int n);

/* The daemons of DIR (subdirectories with a cmdline): master first, then ds0, ds1, ..., ds10. */
int dev_list_names(const char *dir, char (*out)[DEV_NAME_MAX], int cap);
/* NAME is one path component of [A-Za-z0-9_-], shorter than DEV_NAME_MAX. */
int dev_valid_name(const char *s);
/* Free TCP ports on the IPv4 address host, below the ephemeral range (see the .c), all distinct:
 * npairs ports P free together with P+1 (RPC and raft ports of masters and metadata servers), then
 * n single ports. */
int dev_free_ports(const char *host, int npairs, int *pairs, int n, int *ports);
/* "master" for the first master (i = 0), then "master2", "master3", ... */
void dev_master_name(char out[DEV_NAME_MAX], long i);
/* i for a master's name, -1 for any other name. */
int dev_master_index(const char *name);

/* `glory dev up ARGS` (argv[0] = "up") and `glory dev down --dir DIR`: exit codes. */
int dev_up(int argc, char **argv);
int dev_down(const char *dir);

#endif

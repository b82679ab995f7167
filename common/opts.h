/* Command-line options for every glory command and daemon, declared once as a table that also
 * produces --help. Each option may also come from an environment variable and from a config file
 * (--config FILE: lines "name = value", '#' comments; names are the long option names).
 * Precedence: command line > environment > config file > default already in the target.
 */
#ifndef GL_OPTS_H
#define GL_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum gl_opt_type {
	GL_OPT_STR,   /* const char **: points into argv/env or a strdup'd config value */
	GL_OPT_INT,   /* long * */
	GL_OPT_SIZE,  /* uint64_t *: accepts 4096, 64K, 10M, 2G, 1T (powers of 1024) */
	GL_OPT_FLAG,  /* int *: set to 1 when present (no value) */
	GL_OPT_DOUBLE /* double * */
};

struct gl_opt {
	const char *name; /* long name without "--" */
	enum gl_opt_type type;
	void *target;
	const char *env;  /* environment variable or NULL */
	const char *arg;  /* placeholder in help, e.g. "H:P" */
	const char *help; /* one line */
};

struct gl_cmd_help {
	const char *usage;   /* e.g. "glory ds --dir D --listen H:P --master H:P [options]" */
	const char *summary; /* one paragraph */
};

/* Parses argv[1..argc-1] against opts (n entries; --config and --help are built in). Positional
 * arguments are collected in order into pos[0..*npos-1] (at most pos_cap). On --help, prints help
 * to stdout and returns 1. On an error, prints "glory: ..." with what to do to stderr and returns
 * -GL_EINVAL. Otherwise 0. */
int gl_opts_parse(int argc, char **argv, const struct gl_cmd_help *h, const struct gl_opt *opts,
		  size_t n, char **pos, int pos_cap, int *npos);
void gl_opts_usage(const struct gl_cmd_help *h, const struct gl_opt *opts, size_t n);
/* "10G" -> bytes. 0 or -GL_EINVAL. */
int gl_parse_size(const char *s, uint64_t *out);

#endif

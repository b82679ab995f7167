/* Option parsing shared by every command (contract: common/opts.h).
 *
 * One pass over argv records which options the command line gave; the environment then fills
 * the options still unset, and a --config file fills what is left. Every value is checked when it
 * is stored, and an error names where the value came from (--name, $VAR or file:line).
 */
#include "common/opts.h"

#include "common/errors.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPTS_MAX 128 /* options per command */

/* Where a value came from, for error messages: the command line, $env, or file:line. */
struct opt_src {
	const char *env;
	const char *file;
	int line;
};

/* State of one gl_opts_parse call. */
struct opt_parse {
	const struct gl_opt *opts;
	size_t n;
	uint8_t given[OPTS_MAX]; /* set by the command line or the environment */
	const char *config;	 /* --config FILE, or NULL */
	char **pos;
	int pos_cap;
	int npos;
};

/* Reads "[0-9]+" into *v; returns the number of digits, or -1 on overflow. */
static int parse_u64_digits(const char **p, uint64_t *v)
{
	int n = 0;

	*v = 0;
	for (; isdigit((unsigned char)**p); (*p)++, n++) {
		unsigned d = (unsigned)(**p - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return n;
}

/* "K" -> 2^10 ... "P" -> 2^50; 0 when c is not a unit letter. */
static uint64_t size_unit(char c)
{
	static const char units[] = "KMGTP";
	const char *u = c ? strchr(units, toupper((unsigned char)c)) : NULL;

	return u ? 1ull << (10 * (u - units + 1)) : 0;
}

int gl_parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t whole, mul = 1, frac_bytes = 0;
	double frac = 0, scale = 0.1;
	int rc = -GL_EINVAL, has_frac = 0;

	if (!s || parse_u64_digits(&p, &whole) <= 0)
		goto out;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10, has_frac = 1)
			frac += (*p - '0') * scale;
		if (!has_frac)
			goto out;
	}
	if (size_unit(*p)) {
		mul = size_unit(*p++);
		if (*p == 'i')
			p++;
	} else if (has_frac) {
		goto out; /* "1.5" bytes */
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p || whole > UINT64_MAX / mul)
		goto out;
	frac_bytes = (uint64_t)(frac * (double)mul); /* frac < 1, so below mul <= 2^50 */
	if (whole * mul > UINT64_MAX - frac_bytes)
		goto out;
	*out = whole * mul + frac_bytes;
	rc = 0;
out:
	return rc;
}

static const struct gl_opt *find(const struct gl_opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static void say_bad(const struct gl_opt *o, const struct opt_src *src, const char *val,
		    const char *what)
{
	if (src->file)
		fprintf(stderr, "glory: %s:%d: %s: '%s' is not %s\n", src->file, src->line, o->name,
			val, what);
	else if (src->env)
		fprintf(stderr, "glory: $%s (for --%s): '%s' is not %s\n", src->env, o->name, val,
			what);
	else
		fprintf(stderr, "glory: --%s: '%s' is not %s\n", o->name, val, what);
}

/* A flag from the environment or a config file: yes/no words. 1, 0 or -1. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Stores val into o's target. val must outlive the target (argv, environ, kept config value);
 * NULL only for a flag given on the command line. */
static int set(const struct gl_opt *o, const char *val, const struct opt_src *src)
{
	char *end;
	int rc = -GL_EINVAL;

	errno = 0;
	switch (o->type) {
	case GL_OPT_STR:
		*(const char **)o->target = val;
		rc = 0;
		break;
	case GL_OPT_FLAG: {
		int b = val ? parse_bool(val) : 1;

		if (b < 0)
			say_bad(o, src, val, "yes or no (1/0, true/false, on/off)");
		else
			*(int *)o->target = b;
		rc = b < 0 ? -GL_EINVAL : 0;
		break;
	}
	case GL_OPT_INT: {
		long v = strtol(val, &end, 10);

		if (errno || end == val || *end || isspace((unsigned char)*val)) {
			say_bad(o, src, val, "a whole number");
			break;
		}
		*(long *)o->target = v;
		rc = 0;
		break;
	}
	case GL_OPT_DOUBLE: {
		double v = strtod(val, &end);

		if (errno || end == val || *end || isspace((unsigned char)*val) || !isfinite(v)) {
			say_bad(o, src, val, "a number");
			break;
		}
		*(double *)o->target = v;
		rc = 0;
		break;
	}
	case GL_OPT_SIZE:
		rc = gl_parse_size(val, (uint64_t *)o->target);
		if (rc)
			say_bad(o, src, val, "a size like 10G");
		break;
	}
	return rc;
}

/* Prints text wrapped at width columns (words longer than that stay whole). */
static void print_wrapped(const char *text, int width)
{
	int col = 0;

	while (*text) {
		int len = (int)strcspn(text, " ");

		if (col && col + 1 + len > width) {
			putchar('\n');
			col = 0;
		} else if (col) {
			putchar(' ');
			col++;
		}
		printf("%.*s", len, text);
		col += len;
		text += len;
		text += strspn(text, " ");
	}
	putchar('\n');
}

void gl_opts_usage(const struct gl_cmd_help *h, const struct gl_opt *opts, size_t n)
{
	printf("usage: %s\n\n", h->usage);
	if (h->summary && *h->summary) {
		print_wrapped(h->summary, 79);
		putchar('\n');
	}
	printf("options:\n");
	for (size_t i = 0; i < n; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
			 opts[i].arg ? opts[i].arg : "");
		printf("  %-26s %s", left, opts[i].help ? opts[i].help : "");
		if (opts[i].env)
			printf(" [env: %s]", opts[i].env);
		printf("\n");
	}
	printf("  %-26s %s\n", "--config FILE", "read options from FILE ('name = value' lines)");
	printf("  %-26s %s\n", "-h, --help", "show this help");
}

/* Config string values live as long as the process (options are parsed once per process) and
 * stay reachable from here, so leak checkers do not report them. */
struct kept {
	struct kept *next;
	char val[];
};
static struct kept *kept_values;

static char *keep(const char *v)
{
	size_t n = strlen(v) + 1;
	struct kept *k = malloc(sizeof(*k) + n);

	if (!k)
		return NULL;
	memcpy(k->val, v, n);
	k->next = kept_values;
	kept_values = k;
	return k->val;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One config line (already trimmed, not blank, not a comment). */
static int config_line(struct opt_parse *st, char *p, const struct opt_src *src)
{
	char *eq = strchr(p, '='), *name, *val;
	const struct gl_opt *o;
	size_t len;

	if (!eq) {
		fprintf(stderr, "glory: %s:%d: expected 'name = value'\n", src->file, src->line);
		return -GL_EINVAL;
	}
	*eq = '\0';
	name = trim(p);
	val = trim(eq + 1);
	len = strlen(val);
	if (len >= 2 && (val[0] == '"' || val[0] == '\'') && val[len - 1] == val[0]) {
		val[len - 1] = '\0';
		val++;
	}
	o = find(st->opts, st->n, name, strlen(name));
	if (!o) {
		fprintf(stderr, "glory: %s:%d: unknown option '%s' (see --help)\n", src->file,
			src->line, name);
		return -GL_EINVAL;
	}
	if (st->given[o - st->opts])
		return 0; /* the command line or the environment wins */
	if (o->type == GL_OPT_STR && !(val = keep(val)))
		return -GL_ENOMEM;
	return set(o, val, src);
}

/* Applies the --config file to the options still unset. */
static int load_config(struct opt_parse *st)
{
	struct opt_src src = {NULL, st->config, 0};
	FILE *f = fopen(st->config, "r");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "glory: cannot read config file %s: %s\n", st->config,
			strerror(errno));
		return -GL_EINVAL;
	}
	while (!rc && getline(&line, &cap, f) >= 0) {
		char *p = trim(line);

		src.line++;
		if (*p && *p != '#')
			rc = config_line(st, p, &src);
	}
	if (!rc && ferror(f)) {
		fprintf(stderr, "glory: cannot read config file %s\n", st->config);
		rc = -GL_EINVAL;
	}
	free(line);
	fclose(f);
	return rc;
}

/* "--name[=value]" at argv[*i] (the value may be the next argument). 0 or -GL_EINVAL. */
static int parse_long(struct opt_parse *st, int argc, char **argv, int *i)
{
	const struct opt_src cli = {NULL, NULL, 0};
	const char *a = argv[*i] + 2, *eq = strchr(a, '='), *val = NULL;
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	const struct gl_opt *o = find(st->opts, st->n, a, len);
	int is_config = len == 6 && strncmp(a, "config", 6) == 0;
	int rc;

	if (!o && !is_config) {
		fprintf(stderr, "glory: unknown option --%.*s (see --help)\n", (int)len, a);
		return -GL_EINVAL;
	}
	if (o && o->type == GL_OPT_FLAG) {
		if (eq) {
			fprintf(stderr, "glory: --%s takes no value\n", o->name);
			return -GL_EINVAL;
		}
	} else if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
		val = argv[++*i];
	} else {
		/* the next word is an option: write --name=--value for a value like that */
		fprintf(stderr, "glory: --%s needs a value (%s)\n", is_config ? "config" : o->name,
			is_config ? "FILE"
			: o->arg  ? o->arg
				  : "see --help");
		return -GL_EINVAL;
	}
	if (is_config) {
		st->config = val;
		return 0;
	}
	rc = set(o, val, &cli);
	if (!rc)
		st->given[o - st->opts] = 1;
	return rc;
}

/* The command line. 0, 1 (--help shown) or -GL_EINVAL. */
static int parse_argv(struct opt_parse *st, const struct gl_cmd_help *h, int argc, char **argv)
{
	int only_pos = 0, rc = 0;

	for (int i = 1; !rc && i < argc; i++) {
		const char *a = argv[i];

		if (only_pos || a[0] != '-' || !a[1]) {
			if (st->npos >= st->pos_cap) {
				fprintf(stderr, "glory: unexpected argument '%s' (see --help)\n",
					a);
				rc = -GL_EINVAL;
			} else {
				st->pos[st->npos++] = argv[i];
			}
		} else if (strcmp(a, "--") == 0) {
			only_pos = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			gl_opts_usage(h, st->opts, st->n);
			rc = 1;
		} else if (a[1] != '-') {
			fprintf(stderr, "glory: unknown option %s (see --help)\n", a);
			rc = -GL_EINVAL;
		} else {
			rc = parse_long(st, argc, argv, &i);
		}
	}
	return rc;
}

/* Options the command line left unset, from their environment variables. */
static int apply_env(struct opt_parse *st)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < st->n; i++) {
		struct opt_src src = {st->opts[i].env, NULL, 0};
		const char *e;

		if (st->given[i] || !src.env || !(e = getenv(src.env)) || !*e)
			continue;
		rc = set(&st->opts[i], e, &src);
		st->given[i] = 1;
	}
	return rc;
}

int gl_opts_parse(int argc, char **argv, const struct gl_cmd_help *h, const struct gl_opt *opts,
		  size_t n, char **pos, int pos_cap, int *npos)
{
	struct opt_parse st = {.opts = opts, .n = n, .pos = pos, .pos_cap = pos ? pos_cap : 0};
	int rc = -GL_EINVAL;

	if (n > OPTS_MAX) {
		fprintf(stderr, "glory: internal error: more than %d options\n", OPTS_MAX);
		goto out;
	}
	rc = parse_argv(&st, h, argc, argv);
	if (rc)
		goto out;
	rc = apply_env(&st);
	if (rc)
		goto out;
	if (st.config)
		rc = load_config(&st);
	if (rc)
		goto out;
	if (npos)
		*npos = st.npos;
out:
	return rc;
}

/* Option parsing shared by every command (contract: common/opts.h). */
#include "common/opts.h"

#include "common/errors.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mul = 1;

	if (!s || !*s)
		return -GL_EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -GL_EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		mul = 1ull << 10;
		break;
	case 'M':
		mul = 1ull << 20;
		break;
	case 'G':
		mul = 1ull << 30;
		break;
	case 'T':
		mul = 1ull << 40;
		break;
	case 'P':
		mul = 1ull << 50;
		break;
	case '\0':
	case 'B':
		break;
	default:
		return -GL_EINVAL;
	}
	if (mul > 1)
		end++;
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v * (double)mul > 1.8e19)
		return -GL_EINVAL;
	*out = (uint64_t)(v * (double)mul);
	return 0;
}

static const struct gl_opt *find(const struct gl_opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* Stores value into the option's target. val must outlive the target (argv, env, strdup). */
static int set(const struct gl_opt *o, const char *val)
{
	char *end;

	switch (o->type) {
	case GL_OPT_STR:
		*(const char **)o->target = val;
		return 0;
	case GL_OPT_FLAG:
		*(int *)o->target = 1;
		return 0;
	case GL_OPT_INT: {
		long v;

		errno = 0;
		v = strtol(val, &end, 10);
		if (errno || end == val || *end) {
			fprintf(stderr, "glory: --%s: '%s' is not a whole number\n", o->name, val);
			return -GL_EINVAL;
		}
		*(long *)o->target = v;
		return 0;
	}
	case GL_OPT_DOUBLE: {
		double v;

		errno = 0;
		v = strtod(val, &end);
		if (errno || end == val || *end) {
			fprintf(stderr, "glory: --%s: '%s' is not a number\n", o->name, val);
			return -GL_EINVAL;
		}
		*(double *)o->target = v;
		return 0;
	}
	case GL_OPT_SIZE:
		if (gl_parse_size(val, (uint64_t *)o->target)) {
			fprintf(stderr,
				"glory: --%s: '%s' is not a size like 4096, 64K, 10M or 2G\n",
				o->name, val);
			return -GL_EINVAL;
		}
		return 0;
	}
	return -GL_EINVAL;
}

void gl_opts_usage(const struct gl_cmd_help *h, const struct gl_opt *opts, size_t n)
{
	printf("usage: %s\n\n%s\n\noptions:\n", h->usage, h->summary);
	for (size_t i = 0; i < n; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
			 opts[i].arg ? opts[i].arg : "");
		printf("  %-28s %s", left, opts[i].help);
		if (opts[i].env)
			printf(" [env: %s]", opts[i].env);
		printf("\n");
	}
	printf("  %-28s %s\n", "--config FILE", "read options from FILE (name = value lines)");
	printf("  %-28s %s\n", "--help", "show this help");
}

/* Config values live as long as the process (options are parsed once); kept reachable here. */
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

/* Applies a config file; given[] marks options already set (command line wins). */
static int load_config(const char *path, const struct gl_opt *opts, size_t n, const uint8_t *given)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0, rc = 0;

	if (!f) {
		fprintf(stderr, "glory: cannot read config file %s: %s\n", path, strerror(errno));
		return -GL_EINVAL;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		char *p = trim(line), *eq, *name, *val;
		const struct gl_opt *o;

		lineno++;
		if (!*p || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			fprintf(stderr, "glory: %s:%d: expected 'name = value'\n", path, lineno);
			rc = -GL_EINVAL;
			break;
		}
		*eq = '\0';
		name = trim(p);
		val = trim(eq + 1);
		o = find(opts, n, name, strlen(name));
		if (!o) {
			fprintf(stderr, "glory: %s:%d: unknown option '%s'\n", path, lineno, name);
			rc = -GL_EINVAL;
			break;
		}
		if (given[o - opts])
			continue;
		val = keep(val);
		if (!val) {
			rc = -GL_ENOMEM;
			break;
		}
		rc = set(o, val);
	}
	fclose(f);
	return rc;
}

int gl_opts_parse(int argc, char **argv, const struct gl_cmd_help *h, const struct gl_opt *opts,
		  size_t n, char **pos, int pos_cap, int *npos)
{
	uint8_t given[128] = {0};
	const char *config = NULL;
	int np = 0, rc, only_pos = 0;

	if (n > sizeof(given))
		return -GL_EINVAL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const struct gl_opt *o;
		size_t len;

		if (only_pos || a[0] != '-' || !a[1]) {
			if (np >= pos_cap) {
				fprintf(stderr, "glory: unexpected argument '%s' (see --help)\n",
					a);
				return -GL_EINVAL;
			}
			pos[np++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			gl_opts_usage(h, opts, n);
			return 1;
		}
		if (a[1] != '-') {
			fprintf(stderr, "glory: unknown option %s (see --help)\n", a);
			return -GL_EINVAL;
		}
		a += 2;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		if (len == 6 && strncmp(a, "config", 6) == 0) {
			config = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!config) {
				fprintf(stderr, "glory: --config needs a FILE\n");
				return -GL_EINVAL;
			}
			continue;
		}
		o = find(opts, n, a, len);
		if (!o) {
			fprintf(stderr, "glory: unknown option --%.*s (see --help)\n", (int)len, a);
			return -GL_EINVAL;
		}
		if (o->type == GL_OPT_FLAG) {
			if (eq) {
				fprintf(stderr, "glory: --%s takes no value\n", o->name);
				return -GL_EINVAL;
			}
		} else {
			val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val) {
				fprintf(stderr, "glory: --%s needs a value (%s)\n", o->name,
					o->arg ? o->arg : "see --help");
				return -GL_EINVAL;
			}
		}
		rc = set(o, val);
		if (rc)
			return rc;
		given[o - opts] = 1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *e;

		if (given[i] || !opts[i].env || !(e = getenv(opts[i].env)) || !*e)
			continue;
		rc = set(&opts[i], e);
		if (rc)
			return rc;
		given[i] = 1;
	}
	if (config) {
		rc = load_config(config, opts, n, given);
		if (rc)
			return rc;
	}
	if (npos)
		*npos = np;
	return 0;
}

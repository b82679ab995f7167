#include "storage/stripe.h"

#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_uint(const char **p, int *out)
{
	char *end;
	long v = strtol(*p, &end, 10);

	if (end == *p || v < 0 || v > 255)
		return -GL_EINVAL;
	*p = end;
	*out = (int)v;
	return 0;
}

int gl_scheme_parse(const char *s, struct gl_scheme *out)
{
	int k = 0, m = 0;

	if (!s)
		return -GL_EINVAL;
	if (strncmp(s, "rep", 3) == 0) {
		s += 3;
		if (*s == ':')
			s++;
		if (parse_uint(&s, &k) || *s || k < 1 || k > 3)
			return -GL_EINVAL;
		*out = (struct gl_scheme){GL_RED_REP, (uint8_t)k, 0};
		return 0;
	}
	if (strncmp(s, "ec", 2) == 0) {
		s += 2;
		if (*s == ':')
			s++;
		if (parse_uint(&s, &k) || *s++ != '+' || parse_uint(&s, &m) || *s)
			return -GL_EINVAL;
		if (k < 1 || k > GL_MAX_K || m < 1 || m > GL_MAX_M)
			return -GL_EINVAL;
		*out = (struct gl_scheme){GL_RED_EC, (uint8_t)k, (uint8_t)m};
		return 0;
	}
	return -GL_EINVAL;
}

void gl_scheme_format(const struct gl_scheme *s, char *buf, size_t cap)
{
	if (s->type == GL_RED_REP)
		snprintf(buf, cap, "rep:%u", s->k);
	else
		snprintf(buf, cap, "ec:%u+%u", s->k, s->m);
}

uint32_t gl_scheme_pool(const struct gl_scheme *s)
{
	return ((uint32_t)s->type << 16) | ((uint32_t)s->k << 8) | s->m;
}

int gl_scheme_from_pool(uint32_t pool, struct gl_scheme *out)
{
	struct gl_scheme s = {(uint8_t)(pool >> 16), (uint8_t)(pool >> 8), (uint8_t)pool};

	if (pool >> 24)
		return -GL_EINVAL;
	if (s.type == GL_RED_REP && s.k >= 1 && s.k <= 3 && s.m == 0)
		goto ok;
	if (s.type == GL_RED_EC && s.k >= 1 && s.k <= GL_MAX_K && s.m >= 1 && s.m <= GL_MAX_M)
		goto ok;
	return -GL_EINVAL;
ok:
	*out = s;
	return 0;
}

int gl_scheme_width(const struct gl_scheme *s)
{
	return s->type == GL_RED_REP ? s->k : s->k + s->m;
}

int gl_scheme_need(const struct gl_scheme *s)
{
	return s->type == GL_RED_REP ? 1 : s->k;
}

size_t gl_scheme_frag_len(const struct gl_scheme *s, size_t chunk_len)
{
	size_t f;

	if (s->type == GL_RED_REP)
		return chunk_len;
	f = (chunk_len + s->k - 1) / s->k;
	f = (f + 63) & ~(size_t)63;
	return f ? f : 64;
}

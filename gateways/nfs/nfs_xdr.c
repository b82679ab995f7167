/* XDR reader and writer (see nfs_xdr.h). */
#include "gateways/nfs/nfs_xdr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

void nx_in_init(struct nx_in *x, const void *p, size_t len)
{
	x->p = p;
	x->len = len;
	x->pos = 0;
	x->err = 0;
}

static const uint8_t *take(struct nx_in *x, size_t n)
{
	const uint8_t *r;

	if (x->err || n > x->len - x->pos) {
		x->err = 1;
		return NULL;
	}
	r = x->p + x->pos;
	x->pos += n;
	return r;
}

uint32_t nx_u32(struct nx_in *x)
{
	const uint8_t *b = take(x, 4);

	if (!b)
		return 0;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t nx_u64(struct nx_in *x)
{
	uint64_t hi = nx_u32(x);

	return hi << 32 | nx_u32(x);
}

int nx_bool(struct nx_in *x)
{
	uint32_t v = nx_u32(x);

	if (v > 1)
		x->err = 1;
	return v == 1;
}

uint32_t nx_opaque_view(struct nx_in *x, uint32_t max, const uint8_t **out)
{
	uint32_t n = nx_u32(x);

	*out = NULL;
	if (x->err || n > max) {
		x->err = 1;
		return 0;
	}
	*out = take(x, n);
	if (*out && !take(x, pad4(n)))
		*out = NULL;
	return *out ? n : 0;
}

void nx_fixed(struct nx_in *x, void *out, uint32_t n)
{
	const uint8_t *b = take(x, n);

	if (b && take(x, pad4(n)))
		memcpy(out, b, n);
	else
		memset(out, 0, n);
}

uint32_t nx_string(struct nx_in *x, char *out, uint32_t max)
{
	const uint8_t *b;
	uint32_t n = nx_opaque_view(x, max, &b);

	out[0] = '\0';
	if (!b)
		return 0;
	if (memchr(b, '\0', n)) {
		x->err = 1;
		return 0;
	}
	memcpy(out, b, n);
	out[n] = '\0';
	return n;
}

int nx_out_init(struct nx_out *o, size_t cap)
{
	o->len = 0;
	o->err = 0;
	o->cap = cap < 256 ? 256 : cap;
	o->p = malloc(o->cap);
	if (!o->p) {
		o->err = 1;
		return -ENOMEM;
	}
	return 0;
}

void nx_out_free(struct nx_out *o)
{
	free(o->p);
	o->p = NULL;
	o->len = o->cap = 0;
}

uint8_t *nx_reserve(struct nx_out *o, size_t n)
{
	size_t need = n + pad4(n);
	uint8_t *r;

	if (o->err)
		return NULL;
	if (need > o->cap - o->len) {
		size_t cap = o->cap * 2;
		uint8_t *p;

		while (cap - o->len < need)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->err = 1;
			return NULL;
		}
		o->p = p;
		o->cap = cap;
	}
	r = o->p + o->len;
	memset(r + n, 0, pad4(n));
	o->len += need;
	return r;
}

void nx_put_u32(struct nx_out *o, uint32_t v)
{
	uint8_t *b = nx_reserve(o, 4);

	if (b) {
		b[0] = (uint8_t)(v >> 24);
		b[1] = (uint8_t)(v >> 16);
		b[2] = (uint8_t)(v >> 8);
		b[3] = (uint8_t)v;
	}
}

void nx_put_u64(struct nx_out *o, uint64_t v)
{
	nx_put_u32(o, (uint32_t)(v >> 32));
	nx_put_u32(o, (uint32_t)v);
}

void nx_put_fixed(struct nx_out *o, const void *p, uint32_t n)
{
	uint8_t *b = nx_reserve(o, n);

	if (b && n)
		memcpy(b, p, n);
}

void nx_put_opaque(struct nx_out *o, const void *p, uint32_t n)
{
	nx_put_u32(o, n);
	nx_put_fixed(o, p, n);
}

void nx_put_string(struct nx_out *o, const char *s)
{
	nx_put_opaque(o, s, (uint32_t)strlen(s));
}

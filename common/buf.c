#include "common/buf.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

void gl_wbuf_init(struct gl_wbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void gl_wbuf_free(struct gl_wbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

uint8_t *gl_wbuf_reserve(struct gl_wbuf *b, size_t n)
{
	uint8_t *at;

	if (b->err)
		return NULL;
	if (n > SIZE_MAX / 4 - b->len) {
		b->err = -GL_E2BIG; /* no message is that large: refuse before the sums wrap */
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -GL_ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	at = b->p + b->len;
	b->len += n;
	return at;
}

void gl_put_u8(struct gl_wbuf *b, uint8_t v)
{
	uint8_t *p = gl_wbuf_reserve(b, 1);

	if (p)
		*p = v;
}

void gl_put_u16(struct gl_wbuf *b, uint16_t v)
{
	uint8_t *p = gl_wbuf_reserve(b, 2);

	if (p)
		gl_le16(p, v);
}

void gl_put_u32(struct gl_wbuf *b, uint32_t v)
{
	uint8_t *p = gl_wbuf_reserve(b, 4);

	if (p)
		gl_le32(p, v);
}

void gl_put_u64(struct gl_wbuf *b, uint64_t v)
{
	uint8_t *p = gl_wbuf_reserve(b, 8);

	if (p)
		gl_le64(p, v);
}

void gl_put_bytes(struct gl_wbuf *b, const void *src, size_t n)
{
	uint8_t *p = gl_wbuf_reserve(b, n);

	if (p && n)
		memcpy(p, src, n);
}

void gl_put_str(struct gl_wbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > UINT16_MAX) {
		b->err = -GL_E2BIG;
		return;
	}
	gl_put_u16(b, (uint16_t)n);
	gl_put_bytes(b, s, n);
}

void gl_rbuf_init(struct gl_rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
	r->err = 0;
}

const uint8_t *gl_get_bytes(struct gl_rbuf *r, size_t n)
{
	const uint8_t *at;

	if (r->err || n > r->len - r->off) {
		r->err = -GL_EPROTO;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

uint8_t gl_get_u8(struct gl_rbuf *r)
{
	const uint8_t *p = gl_get_bytes(r, 1);

	return p ? *p : 0;
}

uint16_t gl_get_u16(struct gl_rbuf *r)
{
	const uint8_t *p = gl_get_bytes(r, 2);

	return p ? gl_rd16(p) : 0;
}

uint32_t gl_get_u32(struct gl_rbuf *r)
{
	const uint8_t *p = gl_get_bytes(r, 4);

	return p ? gl_rd32(p) : 0;
}

uint64_t gl_get_u64(struct gl_rbuf *r)
{
	const uint8_t *p = gl_get_bytes(r, 8);

	return p ? gl_rd64(p) : 0;
}

void gl_get_copy(struct gl_rbuf *r, void *out, size_t n)
{
	const uint8_t *p = gl_get_bytes(r, n);

	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

void gl_get_str(struct gl_rbuf *r, char *out, size_t cap)
{
	uint16_t n = gl_get_u16(r);
	const uint8_t *p = gl_get_bytes(r, n);

	if (cap)
		out[0] = '\0';
	if (!p)
		return;
	if ((size_t)n >= cap || memchr(p, 0, n)) {
		r->err = -GL_EPROTO;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

int gl_rbuf_check(const struct gl_rbuf *r)
{
	return r->err ? -GL_EPROTO : 0;
}

size_t gl_rbuf_left(const struct gl_rbuf *r)
{
	return r->err ? 0 : r->len - r->off;
}

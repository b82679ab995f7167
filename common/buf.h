/* Explicit-width little-endian encoding of messages and records.
 *
 * Writers grow a heap buffer; readers walk a (ptr, len) range. Both carry a sticky error flag, so a
 * codec writes or reads every field and checks once at the end. Never cast a struct over bytes.
 */
#ifndef GL_BUF_H
#define GL_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Owns p (malloc'd). err is set on allocation failure; later puts are no-ops. */
struct gl_wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int err;
};

/* Borrows p. err is set when a get runs past len or a value is out of range. */
struct gl_rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

void gl_wbuf_init(struct gl_wbuf *b);
void gl_wbuf_free(struct gl_wbuf *b);
/* Reserves n bytes and returns where to write them (NULL and err set on failure). */
uint8_t *gl_wbuf_reserve(struct gl_wbuf *b, size_t n);
void gl_put_u8(struct gl_wbuf *b, uint8_t v);
void gl_put_u16(struct gl_wbuf *b, uint16_t v);
void gl_put_u32(struct gl_wbuf *b, uint32_t v);
void gl_put_u64(struct gl_wbuf *b, uint64_t v);
void gl_put_bytes(struct gl_wbuf *b, const void *p, size_t n);
/* A string as u16 length + bytes (no NUL). */
void gl_put_str(struct gl_wbuf *b, const char *s);

void gl_rbuf_init(struct gl_rbuf *r, const void *p, size_t len);
uint8_t gl_get_u8(struct gl_rbuf *r);
uint16_t gl_get_u16(struct gl_rbuf *r);
uint32_t gl_get_u32(struct gl_rbuf *r);
uint64_t gl_get_u64(struct gl_rbuf *r);
/* Returns a pointer into the buffer, or NULL (and err) when fewer than n bytes remain. */
const uint8_t *gl_get_bytes(struct gl_rbuf *r, size_t n);
void gl_get_copy(struct gl_rbuf *r, void *out, size_t n);
/* Reads a u16-length string into out (NUL-terminated); err if it does not fit or holds a NUL. */
void gl_get_str(struct gl_rbuf *r, char *out, size_t cap);
/* 0 if every get succeeded, else -GL_EPROTO. */
int gl_rbuf_check(const struct gl_rbuf *r);
size_t gl_rbuf_left(const struct gl_rbuf *r);

/* Raw little-endian helpers for fixed headers. */
static inline void gl_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void gl_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void gl_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t gl_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t gl_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t gl_rd64(const uint8_t *p)
{
	return (uint64_t)gl_rd32(p) | ((uint64_t)gl_rd32(p + 4) << 32);
}

#endif

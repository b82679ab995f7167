/* Chunk identity: HMAC-SHA256(dedup domain key, content). Identical content in one dedup domain
 * gets one id (so it is stored once); without the key, nobody can tell which content another
 * domain holds. A gl_idctx is immutable after creation and shared by threads. */
#ifndef GL_CHUNKID_H
#define GL_CHUNKID_H

#include <stddef.h>
#include <stdint.h>

#include "storage/stripe.h"

struct gl_idctx;

int gl_idctx_new(const uint8_t *key, size_t key_len, struct gl_idctx **out);
void gl_idctx_free(struct gl_idctx *c);
/* HMAC-SHA256(key, parts...) over n (ptr, len) parts. */
int gl_idctx_mac(struct gl_idctx *c, int n, const void *const *parts, const size_t *lens,
		 uint8_t out[GL_CHUNK_ID_LEN]);
int gl_chunk_id(struct gl_idctx *c, const void *data, size_t len, uint8_t out[GL_CHUNK_ID_LEN]);
/* The id of a chunk of a volume without dedup: 256 random bits, so it never matches another
 * chunk. Hashing the content would cost a SHA-256 pass per byte written and buy nothing: no
 * other chunk may share the id, and every fragment carries its own CRC32C. */
int gl_chunk_id_random(uint8_t out[GL_CHUNK_ID_LEN]);

/* 64 lowercase hex digits + NUL. */
void gl_id_hex(const uint8_t id[GL_CHUNK_ID_LEN], char out[2 * GL_CHUNK_ID_LEN + 1]);
/* -GL_EINVAL unless s is exactly 64 hex digits. */
int gl_id_parse(const char *s, uint8_t id[GL_CHUNK_ID_LEN]);

#endif

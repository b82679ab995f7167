/* MD_MULTI (metadata/rpc.h): several MD_OPs in one message, and their answers. The framing is
 * checked whole before anything is served: a message that does not parse is refused as a whole
 * (-GL_EPROTO), never half served. */
#ifndef GL_MD_MULTI_H
#define GL_MD_MULTI_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* One part (a request or an answer) inside a parsed message; borrowed from its bytes. */
struct gl_md_part {
	int status; /* answers only */
	const uint8_t *p;
	uint32_t len;
};

/* Request: u32 n, n x (u32 len, bytes). Fills parts[0..n-1] (cap >= GL_MD_MULTI_MAX): 0, or
 * -GL_EPROTO when n is 0 or above GL_MD_MULTI_MAX, a length runs past the end, or bytes are left
 * over. */
int gl_md_multi_parse(const uint8_t *args, size_t len, struct gl_md_part *parts, uint32_t *n);
/* Answer: u32 n, n x (i32 status, u32 len, bytes). The same rules, and n must be want. */
int gl_md_multi_parse_reply(const uint8_t *args, size_t len, uint32_t want,
			    struct gl_md_part *parts);
void gl_md_multi_put(struct gl_wbuf *w, const struct gl_md_part *parts, uint32_t n, int reply);

#endif

/* MD_MULTI framing: see md_multi.h. */
#include "metadata/md_multi.h"

#include "common/errors.h"
#include "metadata/rpc.h"

static int parse(const uint8_t *args, size_t len, uint32_t want, int reply,
		 struct gl_md_part *parts, uint32_t *n)
{
	struct gl_rbuf r;
	uint32_t count;

	gl_rbuf_init(&r, args, len);
	count = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || count == 0 || count > GL_MD_MULTI_MAX || (want && count != want))
		return -GL_EPROTO;
	for (uint32_t i = 0; i < count; i++) {
		parts[i].status = reply ? (int)gl_get_u32(&r) : 0;
		parts[i].len = gl_get_u32(&r);
		parts[i].p = gl_rbuf_check(&r) ? NULL : gl_get_bytes(&r, parts[i].len);
		if (!parts[i].p)
			return -GL_EPROTO;
	}
	if (gl_rbuf_check(&r) || gl_rbuf_left(&r))
		return -GL_EPROTO;
	if (n)
		*n = count;
	return 0;
}

int gl_md_multi_parse(const uint8_t *args, size_t len, struct gl_md_part *parts, uint32_t *n)
{
	return parse(args, len, 0, 0, parts, n);
}

int gl_md_multi_parse_reply(const uint8_t *args, size_t len, uint32_t want,
			    struct gl_md_part *parts)
{
	return want ? parse(args, len, want, 1, parts, NULL) : -GL_EPROTO;
}

void gl_md_multi_put(struct gl_wbuf *w, const struct gl_md_part *parts, uint32_t n, int reply)
{
	gl_put_u32(w, n);
	for (uint32_t i = 0; i < n; i++) {
		if (reply)
			gl_put_u32(w, (uint32_t)parts[i].status);
		gl_put_u32(w, parts[i].len);
		gl_put_bytes(w, parts[i].p, parts[i].len);
	}
}

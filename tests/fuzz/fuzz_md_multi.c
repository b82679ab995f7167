/* libFuzzer: the MD_MULTI framing (metadata/md_multi.h) over arbitrary bytes, as a request and
 * as an answer; what parses is written again and must parse to the same parts. Nothing may
 * crash or read out of bounds. */
#include "common/buf.h"
#include "metadata/md_multi.h"
#include "metadata/rpc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gl_md_part a[GL_MD_MULTI_MAX], b[GL_MD_MULTI_MAX];
	struct gl_wbuf w;
	uint32_t n = 0;

	if (gl_md_multi_parse(data, size, a, &n) == 0) {
		gl_wbuf_init(&w);
		gl_md_multi_put(&w, a, n, 0);
		if (w.len != size || memcmp(w.p, data, size) != 0 ||
		    gl_md_multi_parse(w.p, w.len, b, &n) != 0)
			abort();
		gl_wbuf_free(&w);
	}
	for (uint32_t want = 1; want <= 3; want++)
		if (gl_md_multi_parse_reply(data, size, want, a) == 0) {
			gl_wbuf_init(&w);
			gl_md_multi_put(&w, a, want, 1);
			if (w.len != size || memcmp(w.p, data, size) != 0)
				abort();
			gl_wbuf_free(&w);
		}
	return 0;
}

/* libFuzzer: the local-read messages (storage/local.h), a request as a data server decodes it
 * and a reply as a client decodes it; a decoded reply must be self-consistent. */
#include "storage/local.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gl_ffile f;
	struct gl_fkey k;
	struct gl_fmeta m;

	(void)gl_local_req_decode(data, size, &k);
	if (gl_local_reply_decode(data, size, &m, &f) == 0) {
		if (f.nblk > GL_FSTORE_MAX_BLKS || f.bsize < 512 ||
		    (uint64_t)f.nblk * f.bsize < m.len ||
		    (f.nblk && (uint64_t)(f.nblk - 1) * f.bsize >= m.len))
			__builtin_trap();
	}
	return 0;
}

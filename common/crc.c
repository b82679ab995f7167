#include "common/crc.h"

#include <isa-l/crc.h>

uint32_t gl_crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* ISA-L takes a 32-bit length: feed larger buffers in pieces. */
	const unsigned char *p = buf;

	while (len > (1u << 30)) {
		crc = crc32_iscsi((unsigned char *)p, 1 << 30, crc);
		p += 1u << 30;
		len -= 1u << 30;
	}
	return crc32_iscsi((unsigned char *)p, (int)len, crc);
}

/* libFuzzer: POSIX ACL xattr values as any user may set them (gateways/fuse/fuse_acl.c). */
#include "gateways/fuse/fuse_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t bits, mode;
	int extended;
	uint8_t *copy;

	if (gf_acl_mode(data, size, &bits, &extended) == 0 && bits > 0777)
		__builtin_trap();
	if (!gf_acl_valid(data, size) || !(copy = malloc(size)))
		return 0;
	memcpy(copy, data, size);
	mode = size > 4 ? (uint32_t)(data[4] | data[5] << 8) & 07777u : 0666;
	gf_acl_create_masq(copy, size, &mode);
	if (mode > 07777)
		__builtin_trap();
	free(copy);
	return 0;
}

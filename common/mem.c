/* Process-wide memory allocator settings (common/mem.h). */
#include "common/mem.h"

#include <malloc.h>

void gl_mem_tune(void)
{
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

/* libFuzzer: cluster maps from the wire, then placement over whatever decoded. */
#include "cluster/map.h"
#include "cluster/placement.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gl_rbuf r;
	struct gl_map m;
	struct gl_placement p;
	uint8_t chunk[GL_CHUNK_ID_LEN] = {0};

	gl_rbuf_init(&r, data, size);
	if (gl_map_decode(&r, &m))
		return 0;
	memcpy(chunk, data, size < sizeof(chunk) ? size : sizeof(chunk));
	for (int w = 1; w <= GL_MAX_WIDTH; w += 5) {
		if (gl_place(&m, 0x00020402, chunk, w, &p) == 0) {
			for (int i = 0; i < p.width; i++)
				if (p.slot[i] >= (int)m.n)
					__builtin_trap();
		}
	}
	gl_map_free(&m);
	return 0;
}

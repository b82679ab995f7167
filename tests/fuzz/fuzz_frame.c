/* libFuzzer: arbitrary bytes through the frame parser and the message decoders a daemon runs on
 * received args (cluster map, fragment keys, stats). Nothing may crash or leak. */
#include "cluster/map.h"
#include "cluster/rpc.h"
#include "common/rpc.h"
#include "storage/rpc.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gl_frame_hdr h;
	const uint8_t *args, *bulk;
	struct gl_rbuf r;
	struct gl_map m;
	struct gl_fkey k;
	struct gl_ds_stats st;
	char s[64];

	if (gl_frame_parse(data, size, &h, &args, &bulk) == 0) {
		gl_rbuf_init(&r, args, h.args_len);
		gl_fkey_get(&r, &k);
		gl_get_str(&r, s, sizeof(s));
		gl_rbuf_check(&r);
	}
	if (size >= GL_RPC_HDR_SIZE)
		gl_frame_hdr_decode(data, &h);
	gl_rbuf_init(&r, data, size);
	if (gl_map_decode(&r, &m) == 0)
		gl_map_free(&m);
	gl_rbuf_init(&r, data, size);
	gl_ds_stats_get(&r, &st);
	return 0;
}

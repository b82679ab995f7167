/* libFuzzer: the message decoders daemons run on received args — fragment keys, data server
 * stats, DS_GET args (with or without a range), strings — over arbitrary bytes. Nothing may crash
 * or read out of bounds. */
#include "cluster/rpc.h"
#include "common/buf.h"
#include "storage/rpc.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gl_rbuf r;
	struct gl_fkey k;
	struct gl_ds_stats st;
	struct gl_ds_get_args ga;
	char s[64];

	gl_rbuf_init(&r, data, size);
	gl_fkey_get(&r, &k);
	gl_get_str(&r, s, sizeof(s));
	gl_get_u64(&r);
	gl_rbuf_check(&r);
	/* a key is 37 bytes; a range needs all 8 bytes after it */
	if (gl_ds_get_args_get(data, size, &ga) == 0 && (ga.ranged ? size < 45 : size != 37))
		__builtin_trap();
	gl_rbuf_init(&r, data, size);
	gl_ds_stats_get(&r, &st);
	gl_rbuf_init(&r, data, size);
	while (gl_rbuf_left(&r))
		gl_get_str(&r, s, sizeof(s) / 2 + (size & 15));
	return 0;
}

#include "cluster/rpc.h"

void gl_ds_stats_put(struct gl_wbuf *b, const struct gl_ds_stats *s)
{
	gl_put_u64(b, s->nfrags);
	gl_put_u64(b, s->frag_bytes);
	gl_put_u64(b, s->pass);
	gl_put_u64(b, s->checked);
	gl_put_u64(b, s->degraded);
	gl_put_u64(b, s->rebuilding);
	gl_put_u64(b, s->rebuilt);
	gl_put_u64(b, s->rebuilt_bytes);
	gl_put_u64(b, s->moved);
	gl_put_u64(b, s->removed);
	gl_put_u64(b, s->corrupt);
	gl_put_u64(b, s->scrubbed);
}

void gl_ds_stats_get(struct gl_rbuf *r, struct gl_ds_stats *s)
{
	s->nfrags = gl_get_u64(r);
	s->frag_bytes = gl_get_u64(r);
	s->pass = gl_get_u64(r);
	s->checked = gl_get_u64(r);
	s->degraded = gl_get_u64(r);
	s->rebuilding = gl_get_u64(r);
	s->rebuilt = gl_get_u64(r);
	s->rebuilt_bytes = gl_get_u64(r);
	s->moved = gl_get_u64(r);
	s->removed = gl_get_u64(r);
	s->corrupt = gl_get_u64(r);
	s->scrubbed = gl_get_u64(r);
}

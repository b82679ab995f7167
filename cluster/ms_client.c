#include "cluster/ms_client.h"

#include "cluster/rpc.h"

#include <string.h>

int gl_ms_call(struct gl_rpc_pool *p, const char *master, uint16_t op, const struct gl_wbuf *args,
	       struct gl_rpc_call *c)
{
	memset(c, 0, sizeof(*c));
	c->opcode = op;
	c->args = args ? args->p : NULL;
	c->args_len = args ? (uint32_t)args->len : 0;
	if (args && args->err)
		return args->err;
	return gl_rpc_pool_call(p, master, c, GL_MS_TIMEOUT_MS);
}

int gl_ms_get_map(struct gl_rpc_pool *p, const char *master, struct gl_map *out)
{
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc = gl_ms_call(p, master, GL_MS_GET_MAP, NULL, &c);

	if (rc == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		rc = gl_map_decode(&r, out);
	}
	gl_rpc_call_done(&c);
	return rc;
}

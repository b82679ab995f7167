/* Client side of the master protocol (cluster/rpc.h), shared by libglory and the data servers. */
#ifndef GL_MS_CLIENT_H
#define GL_MS_CLIENT_H

#include "cluster/map.h"
#include "common/rpc.h"

#define GL_MS_TIMEOUT_MS  15000
#define GL_MS_MAX_MASTERS 7

/* One call to the master; args may be NULL. The reply is in *c (free with gl_rpc_call_done,
 * also after an error). Returns the transport error or the master's status. */
int gl_ms_call(struct gl_rpc_pool *p, const char *master, uint16_t op, const struct gl_wbuf *args,
	       struct gl_rpc_call *c);
/* Fetches the current cluster map into *out (free with gl_map_free). */
int gl_ms_get_map(struct gl_rpc_pool *p, const char *master, struct gl_map *out);

#endif

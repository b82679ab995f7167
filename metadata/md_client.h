/* Calls to a metadata shard from servers (the master's GC, one shard asking the catalog shard):
 * finds the leader among the shard's members and follows -GL_ENOTLEADER redirects. Clients use
 * gateways/libglory, which adds credentials, caching and longer retries on top of the same
 * protocol (metadata/rpc.h). */
#ifndef GL_MD_CLIENT_H
#define GL_MD_CLIENT_H

#include "cluster/map.h"
#include "common/buf.h"
#include "common/rpc.h"

#define GL_MD_TIMEOUT_MS 10000

/* Retries on timeouts too: use it for reads and idempotent writes only.
 * Sends ns message msg (metadata/ns.h, header included) as the admin to shard sh. Tries the
 * members in turn, follows redirects, and waits out an election for up to timeout_ms. Returns
 * the server's status (call->rargs holds the ns reply; free with gl_rpc_call_done) or a
 * transport error / -GL_EUNAVAIL when no member answered as leader. */
int gl_md_call(struct gl_rpc_pool *p, const struct gl_shard_info *sh, const struct gl_wbuf *msg,
	       struct gl_rpc_call *call, int timeout_ms);

#endif

#include "metadata/md_client.h"

#include "common/errors.h"
#include "metadata/rpc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int gl_md_call(struct gl_rpc_pool *p, const struct gl_shard_info *sh, const struct gl_wbuf *msg,
	       struct gl_rpc_call *call, int timeout_ms)
{
	double deadline = now_mono() + timeout_ms / 1000.0;
	char addr[GL_ADDR_MAX];
	struct gl_wbuf a;
	int rc = -GL_EUNAVAIL, next = 0;

	if (msg->err)
		return msg->err;
	if (!sh || sh->n == 0)
		return -GL_EUNAVAIL;
	gl_wbuf_init(&a);
	gl_put_u8(&a, GL_MD_AUTH_ADMIN);
	gl_put_bytes(&a, msg->p, msg->len);
	if (a.err) {
		rc = a.err;
		goto out;
	}
	snprintf(addr, sizeof(addr), "%s", sh->m[0].addr);
	for (;;) {
		memset(call, 0, sizeof(*call));
		call->opcode = GL_MD_OP;
		call->args = a.p;
		call->args_len = (uint32_t)a.len;
		rc = gl_rpc_pool_call(p, addr, call, timeout_ms);
		if (rc != -GL_ENOTLEADER && rc != -GL_ECONN && rc != -GL_ECLOSED &&
		    rc != -GL_ETIMEDOUT)
			break; /* an answer from a leader (success or an ns error) */
		if (rc == -GL_ENOTLEADER && call->rargs_len > 2) {
			struct gl_rbuf r;

			gl_rbuf_init(&r, call->rargs, call->rargs_len);
			gl_get_str(&r, addr, sizeof(addr));
			if (gl_rbuf_check(&r) || !addr[0])
				snprintf(addr, sizeof(addr), "%s", sh->m[++next % sh->n].addr);
		} else {
			snprintf(addr, sizeof(addr), "%s", sh->m[++next % sh->n].addr);
		}
		gl_rpc_call_done(call);
		if (now_mono() >= deadline) {
			rc = rc == -GL_ENOTLEADER ? -GL_EUNAVAIL : rc;
			break;
		}
		if (next % sh->n == 0 || rc == -GL_ENOTLEADER) {
			struct timespec ts = {0, 50 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
out:
	gl_wbuf_free(&a);
	return rc;
}

/* The RPC layer every glory daemon and client uses.
 *
 * A message is a frame: a fixed 40-byte header, then `args` (a small encoded message, built with
 * common/buf.h) and then `bulk` (raw data such as a fragment, sent and received without copies).
 *
 * Frame header (little-endian):
 *   off size field
 *     0    4 magic      0x59524c47 ("GLRY" in memory order G L R Y)
 *     4    1 version    GL_RPC_VERSION; a peer with another version gets -GL_EVERSION
 *     5    1 flags      bit 0 GL_RPC_F_REPLY
 *     6    2 opcode     from the service's opcode table (see e.g. storage/rpc.h)
 *     8    8 id         request id, echoed in the reply
 *    16    4 status     replies: 0 or -GL_E... (two's complement); requests: 0
 *    20    4 args_len   <= GL_RPC_MAX_ARGS
 *    24    4 bulk_len   <= GL_RPC_MAX_BULK
 *    28    4 body_crc   CRC32C (iSCSI) of args followed by bulk
 *    32    4 reserved   0
 *    36    4 hdr_crc    CRC32C of bytes 0..35
 *
 * A frame that fails any check (magic, version, header CRC, lengths, body CRC) makes the receiver
 * reply with an error when it can (server: -GL_EPROTO/-GL_EVERSION/-GL_E2BIG/-GL_ECORRUPT) and
 * close the connection; the daemon keeps serving everyone else.
 *
 * Server model: one thread per connection, requests on a connection handled in order (a client
 * that pipelines is slowed by TCP flow control: back-pressure). At most max_conns connections; more
 * wait in the listen backlog. A connection idle longer than idle_timeout_ms, or a frame that does
 * not arrive completely within io_timeout_ms, is closed.
 *
 * Client model: a connection is used by one thread at a time. gl_rpc_pool keeps idle connections
 * per address; gl_rpc_multi runs calls on several servers in parallel from one thread (poll).
 */
#ifndef GL_RPC_H
#define GL_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/buf.h"

#define GL_RPC_MAGIC	0x59524c47u
#define GL_RPC_VERSION	1
#define GL_RPC_HDR_SIZE 40
#define GL_RPC_MAX_ARGS (4u << 20)
#define GL_RPC_MAX_BULK (64u << 20)
#define GL_RPC_F_REPLY	0x01
#define GL_RPC_MAX_IOV	8

struct gl_frame_hdr {
	uint8_t version;
	uint8_t flags;
	uint16_t opcode;
	uint64_t id;
	int32_t status;
	uint32_t args_len;
	uint32_t bulk_len;
	uint32_t body_crc;
};

/* Writes the 40 header bytes (computes hdr_crc; body_crc must already be set). */
void gl_frame_hdr_encode(const struct gl_frame_hdr *h, uint8_t out[GL_RPC_HDR_SIZE]);
/* Checks magic, header CRC, version and length limits. Returns 0, -GL_EPROTO (bad magic or CRC),
 * -GL_EVERSION or -GL_E2BIG. On -GL_EVERSION/-GL_E2BIG, *h is filled (so a reply can carry the id).
 */
int gl_frame_hdr_decode(const uint8_t in[GL_RPC_HDR_SIZE], struct gl_frame_hdr *h);
/* Parses one whole frame held in memory (n bytes): header checks, lengths that add up to n, and
 * the body CRC (-GL_ECORRUPT). *args and *bulk point into p. Used by the fuzz target. */
int gl_frame_parse(const uint8_t *p, size_t n, struct gl_frame_hdr *h, const uint8_t **args,
		   const uint8_t **bulk);
/* CRC32C of args then bulk iovecs. */
uint32_t gl_frame_body_crc(const void *args, size_t args_len, const struct iovec *bulk, int nbulk);

/* ---- server ---- */

struct gl_rpc_server;

/* A request as a handler sees it. Everything is borrowed for the duration of the handler. */
struct gl_rpc_req {
	uint16_t opcode;
	uint64_t id;
	const uint8_t *args;
	uint32_t args_len;
	uint8_t *bulk; /* handler may keep it by setting *bulk_steal = 1 (then it owns/frees it) */
	uint32_t bulk_len;
	int *bulk_steal;
	const char *peer; /* "ip:port" of the client */
};

/* What a handler returns besides its status. The server frees args with gl_wbuf_free and,
 * after sending, calls bulk_free(bulk_owner) when set. bulk[] may point into bulk_owner. */
struct gl_rpc_reply {
	struct gl_wbuf *args; /* points at a wbuf the server owns; handlers append to it */
	struct iovec bulk[GL_RPC_MAX_IOV];
	int nbulk;
	void (*bulk_free)(void *owner);
	void *bulk_owner;
};

/* Returns 0 or -GL_E...; the status goes to the client in the reply header. A handler must not
 * block forever; it runs on the connection's thread. */
typedef int (*gl_rpc_handler_fn)(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep);

struct gl_rpc_op {
	uint16_t opcode;
	const char *name;
	gl_rpc_handler_fn fn;
};

struct gl_rpc_server_cfg {
	const char *listen; /* "host:port"; port 0 picks a free one */
	const struct gl_rpc_op *ops;
	size_t nops;
	void *ctx;
	unsigned max_conns;	  /* 0: 1024 */
	unsigned io_timeout_ms;	  /* 0: 30000 */
	unsigned idle_timeout_ms; /* 0: 600000 */
};

/* Binds, listens and starts the accept thread. */
int gl_rpc_server_start(const struct gl_rpc_server_cfg *cfg, struct gl_rpc_server **out);
/* The bound port (useful with port 0). */
int gl_rpc_server_port(const struct gl_rpc_server *s);
/* Stops accepting, closes every connection, joins threads, frees s. */
void gl_rpc_server_stop(struct gl_rpc_server *s);

/* ---- client ---- */

struct gl_rpc_conn;

/* One call. The caller fills the request part; gl_rpc_call/multi fill the reply part. */
struct gl_rpc_call {
	/* request (borrowed) */
	uint16_t opcode;
	const void *args;
	uint32_t args_len;
	const struct iovec *bulk;
	int nbulk;
	/* optional: where the reply bulk should land (no copy); if NULL or too small, it is
	 * malloc'd and rbulk points there (then rbulk_owned = 1) */
	void *rbuf;
	size_t rbuf_cap;
	/* reply (filled): status is the server's status, or the transport error */
	int status;
	uint8_t *rargs; /* malloc'd, NUL-terminated past rargs_len; free with gl_rpc_call_done */
	uint32_t rargs_len;
	uint8_t *rbulk;
	uint32_t rbulk_len;
	int rbulk_owned;
};

/* Frees the reply part of a call (rargs, and rbulk if owned). Safe to call twice. */
void gl_rpc_call_done(struct gl_rpc_call *c);

/* addr "host:port". */
int gl_rpc_connect(const char *addr, int timeout_ms, struct gl_rpc_conn **out);
void gl_rpc_close(struct gl_rpc_conn *c);
/* Sends the request and waits for its reply. Returns 0 when a reply arrived (then call->status
 * holds the server's status) or a transport error (-GL_ETIMEDOUT, -GL_ECLOSED, -GL_EPROTO, ...:
 * the connection must then be closed). */
int gl_rpc_call(struct gl_rpc_conn *c, struct gl_rpc_call *call, int timeout_ms);

/* A thread-safe cache of idle connections per address. */
struct gl_rpc_pool;
int gl_rpc_pool_new(int connect_timeout_ms, struct gl_rpc_pool **out);
void gl_rpc_pool_free(struct gl_rpc_pool *p);
/* One call on a pooled connection: connects if needed, retries once on a fresh connection when a
 * pooled one turns out closed. Returns the transport error, or call->status when a reply came. */
int gl_rpc_pool_call(struct gl_rpc_pool *p, const char *addr, struct gl_rpc_call *call,
		     int timeout_ms);
/* n calls to n addresses (addresses may repeat), all in flight at once, from this thread. Sets
 * each call's status (transport error or server status). Returns 0 when every call got a reply
 * with status 0, else the first non-zero status in index order. */
int gl_rpc_multi(struct gl_rpc_pool *p, int n, const char *const *addrs, struct gl_rpc_call *calls,
		 int timeout_ms);

#endif

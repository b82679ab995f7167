/* Metadata server protocol (frames: common/rpc.h). Bump GL_MD_PROTO on any change.
 *
 * Messages (args, little-endian; str = u16 length + bytes):
 *
 * MD_OP req: u8 auth (GL_MD_AUTH_* | GL_MD_F_LEASE | GL_MD_F_REQID), [str access, str secret
 *   when auth is KEY], [u64 client id when GL_MD_F_LEASE], [u64 client id, u64 request id when
 *   GL_MD_F_REQID], then one metadata/ns.h message (its tenant and now_ns are overwritten by the
 *   server: the tenant comes from the credentials, the time from the leader). A write with a
 *   request id is applied at most once: the shard remembers (for GL_MD_REQ_KEEP_S) each
 *   request's status and reply, and a retry of it, through any leader, gets them back.
 *   rep: the ns reply; with GL_MD_F_LEASE first u8 cacheable (1: NS_LOOKUP and NS_GETATTR
 *   answers may be cached under the lease rules of metadata/lease.h); the reply of a successful
 *   NS_MKNOD, NS_MKDIR or NS_SYMLINK ends with the same u8 for the new inode's attributes,
 *   then u8 1 and the parent's attr after the change (leased with its entries: the caller may
 *   keep them and add the new name) or u8 0 (both absent in a reply replayed for a retried
 *   request: not cacheable); a successful NS_UNLINK's ends with the parent's u8 and attr the
 *   same way (the caller drops the name). Status -GL_ENOTLEADER:
 *   rep is str leader rpc address ("" when none is known yet): retry there. -GL_EAUTH: bad
 *   credentials. Writes are proposed to the shard's raft group and answered once applied; reads
 *   are answered after a read fence (linearizable) by the leader only.
 * MD_MULTI req: u32 n (1..GL_MD_MULTI_MAX), n x (u32 len, an MD_OP request). rep: u32 n,
 *   n x (i32 status, u32 len, that MD_OP's reply). Independent operations of one client's
 *   threads sent together (gateways/libglory batches what waits while a call to the shard is
 *   in flight): the writes are proposed together, the reads share one read fence; each
 *   answers as its MD_OP would.
 * MD_STATUS req: - rep: u32 shard, then gl_rsm_status: u64 id, u64 leader, u64 term, u64 commit,
 *   u64 applied, u64 last, u64 snapshot, str role, u32 n, n x (u64 id, str rpc addr, u8 voter)
 * MD_MEMBER req: u8 add (1) or remove (0), u64 raft id, str rpc addr. rep: - (admin, on the
 *   leader; -GL_ENOTLEADER as for MD_OP)
 * MD_WATCH req: u64 client id, u64 acked. rep: u64 seq, u32 n, n x (u32 vol, u64 ino) (the
 *   invalidation long poll of a caching client: waits up to GL_WATCH_WAIT_MS; acknowledge seq
 *   in the next call; -GL_ENOTLEADER as for MD_OP: the client then drops its whole cache of
 *   that shard)
 * RSM_SNAP_READ see metadata/rsm.h
 */
#ifndef GL_MD_RPC_H
#define GL_MD_RPC_H

#define GL_MD_PROTO 3

#define GL_MD_AUTH_ADMIN 0 /* cluster-internal callers (CLI admin commands, gateways' own work) */
#define GL_MD_AUTH_KEY	 1 /* a tenant's access key and secret */
#define GL_MD_AUTH_MASK	 0x0f
#define GL_MD_F_LEASE	 0x80 /* a caching client: u64 client id follows the credentials */
#define GL_MD_F_REQID	 0x40 /* a retryable write: u64 client id, u64 request id follow */
#define GL_MD_REQ_KEEP_S 600  /* seconds a request's outcome is remembered */
#define GL_MD_MULTI_MAX	 64   /* operations in one MD_MULTI */

/* X(name, opcode, server handler) */
#define GL_MD_RPCS(X)                                                                              \
	X(MD_OP, 0x0301, md_h_op)                                                                  \
	X(MD_STATUS, 0x0302, md_h_status)                                                          \
	X(MD_MEMBER, 0x0303, md_h_member)                                                          \
	X(MD_WATCH, 0x0304, md_h_watch)                                                            \
	X(MD_MULTI, 0x0305, md_h_multi)

enum gl_md_opcode {
#define GL_MD_OPC(name, code, handler) GL_##name = code,
	GL_MD_RPCS(GL_MD_OPC)
#undef GL_MD_OPC
};

#endif

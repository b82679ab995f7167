/* glory's one error space.
 *
 * Every function that can fail returns 0 or -GL_E<NAME>. The list below generates the enum, the
 * text and the errno mapping. Values travel on the wire (RPC status): never renumber or reuse one,
 * only append.
 */
#ifndef GL_ERRORS_H
#define GL_ERRORS_H

/* X(NAME, value, errno, text) */
#define GL_ERRORS(X)                                                                               \
	X(GL_EINVAL, 1001, EINVAL, "invalid argument")                                             \
	X(GL_ENOMEM, 1002, ENOMEM, "out of memory")                                                \
	X(GL_EIO, 1003, EIO, "input/output error")                                                 \
	X(GL_ENOENT, 1004, ENOENT, "not found")                                                    \
	X(GL_EEXIST, 1005, EEXIST, "already exists")                                               \
	X(GL_EPROTO, 1006, EPROTO, "protocol error")                                               \
	X(GL_ECORRUPT, 1007, EIO, "data corrupted (checksum mismatch)")                            \
	X(GL_ETIMEDOUT, 1008, ETIMEDOUT, "timed out")                                              \
	X(GL_ECONN, 1009, ECONNREFUSED, "cannot connect")                                          \
	X(GL_ECLOSED, 1010, ECONNRESET, "connection closed")                                       \
	X(GL_E2BIG, 1011, E2BIG, "message too large")                                              \
	X(GL_EUNAVAIL, 1012, EAGAIN, "not enough servers available")                               \
	X(GL_EAGAIN, 1013, EAGAIN, "try again")                                                    \
	X(GL_ENOSPC, 1014, ENOSPC, "no space left")                                                \
	X(GL_EBUSY, 1015, EBUSY, "busy")                                                           \
	X(GL_ENOTSUP, 1016, EOPNOTSUPP, "operation not supported")                                 \
	X(GL_EBADOP, 1017, EPROTO, "unknown operation")                                            \
	X(GL_EVERSION, 1018, EPROTO, "protocol version mismatch")                                  \
	X(GL_ESTALE, 1019, ESTALE, "stale cluster map")                                            \
	X(GL_EDB, 1020, EIO, "metadata store error")                                               \
	X(GL_ENOTLEADER, 1021, EAGAIN, "not the leader of its group")                              \
	X(GL_EDQUOT, 1022, EDQUOT, "quota exceeded")                                               \
	X(GL_ENOTDIR, 1023, ENOTDIR, "not a directory")                                            \
	X(GL_EISDIR, 1024, EISDIR, "is a directory")                                               \
	X(GL_ENOTEMPTY, 1025, ENOTEMPTY, "directory not empty")                                    \
	X(GL_EPERM, 1026, EPERM, "operation not permitted")                                        \
	X(GL_EACCES, 1027, EACCES, "permission denied")                                            \
	X(GL_ENAMETOOLONG, 1028, ENAMETOOLONG, "name too long")                                    \
	X(GL_EXDEV, 1029, EXDEV, "cross-volume link")                                              \
	X(GL_ENODATA, 1030, ENODATA, "no such attribute")                                          \
	X(GL_ERANGE, 1031, ERANGE, "result too large")                                             \
	X(GL_EFBIG, 1032, EFBIG, "file too large")                                                 \
	X(GL_EMLINK, 1033, EMLINK, "too many links")                                               \
	X(GL_EAUTH, 1034, EACCES, "unknown access key or wrong secret")                            \
	X(GL_EMOVED, 1035, EAGAIN, "the volume is moving to another metadata shard; try again")    \
	X(GL_ENOLCK, 1036, ENOLCK, "too many locks")                                               \
	X(GL_ENOREF, 1037, EAGAIN, "a dedup'd block's chunk is no longer referenced; store it")

enum gl_err {
	GL_OK = 0,
#define GL_ERR_ENUM(name, val, eno, text) name = val,
	GL_ERRORS(GL_ERR_ENUM)
#undef GL_ERR_ENUM
};

/* Text for 0 or a negative glory error (or a negative errno, for syscalls passed through). */
const char *gl_strerror(int rc);
/* Map 0 or -GL_E... to 0 or -errno: for the edges that speak errno (FUSE, CLI exit). */
int gl_to_errno(int rc);
/* Map a positive errno to -GL_E... (for syscall failures inside glory). */
int gl_from_errno(int eno);

#endif

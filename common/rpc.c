/* RPC frames: the 40-byte header codec and whole-frame checks. No I/O; layout in common/rpc.h. */
#include "common/crc.h"
#include "common/errors.h"
#include "common/rpc.h"

#define HDR_CRC_OFF 36

void gl_frame_hdr_encode(const struct gl_frame_hdr *h, uint8_t out[GL_RPC_HDR_SIZE])
{
	gl_le32(out, GL_RPC_MAGIC);
	out[4] = h->version;
	out[5] = h->flags;
	gl_le16(out + 6, h->opcode);
	gl_le64(out + 8, h->id);
	gl_le32(out + 16, (uint32_t)h->status);
	gl_le32(out + 20, h->args_len);
	gl_le32(out + 24, h->bulk_len);
	gl_le32(out + 28, h->body_crc);
	gl_le32(out + 32, 0);
	gl_le32(out + HDR_CRC_OFF, gl_crc32c(GL_CRC_INIT, out, HDR_CRC_OFF));
}

int gl_frame_hdr_decode(const uint8_t in[GL_RPC_HDR_SIZE], struct gl_frame_hdr *h)
{
	if (gl_rd32(in) != GL_RPC_MAGIC ||
	    gl_rd32(in + HDR_CRC_OFF) != gl_crc32c(GL_CRC_INIT, in, HDR_CRC_OFF))
		return -GL_EPROTO;
	/* Filled before the version and length checks, so an error reply can carry the id. The
	 * reserved field is not checked: a later version may use it. */
	h->version = in[4];
	h->flags = in[5];
	h->opcode = gl_rd16(in + 6);
	h->id = gl_rd64(in + 8);
	h->status = (int32_t)gl_rd32(in + 16);
	h->args_len = gl_rd32(in + 20);
	h->bulk_len = gl_rd32(in + 24);
	h->body_crc = gl_rd32(in + 28);
	if (h->version != GL_RPC_VERSION)
		return -GL_EVERSION;
	if (h->args_len > GL_RPC_MAX_ARGS || h->bulk_len > GL_RPC_MAX_BULK)
		return -GL_E2BIG;
	return 0;
}

uint32_t gl_frame_body_crc(const void *args, size_t args_len, const struct iovec *bulk, int nbulk)
{
	uint32_t crc = GL_CRC_INIT;

	if (args_len)
		crc = gl_crc32c(crc, args, args_len);
	for (int i = 0; i < nbulk; i++)
		if (bulk[i].iov_len)
			crc = gl_crc32c(crc, bulk[i].iov_base, bulk[i].iov_len);
	return crc;
}

int gl_frame_parse(const uint8_t *p, size_t n, struct gl_frame_hdr *h, const uint8_t **args,
		   const uint8_t **bulk)
{
	struct iovec body;
	int rc;

	*args = NULL;
	*bulk = NULL;
	if (n < GL_RPC_HDR_SIZE)
		return -GL_EPROTO;
	rc = gl_frame_hdr_decode(p, h);
	if (rc)
		return rc;
	/* both lengths are at most 64 MiB after decode: the sum cannot wrap */
	if ((size_t)h->args_len + h->bulk_len != n - GL_RPC_HDR_SIZE)
		return -GL_EPROTO;
	body.iov_base = (void *)(p + GL_RPC_HDR_SIZE + h->args_len);
	body.iov_len = h->bulk_len;
	if (gl_frame_body_crc(p + GL_RPC_HDR_SIZE, h->args_len, &body, 1) != h->body_crc)
		return -GL_ECORRUPT;
	*args = p + GL_RPC_HDR_SIZE;
	*bulk = *args + h->args_len;
	return 0;
}

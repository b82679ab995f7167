/* libFuzzer: arbitrary bytes through the RPC frame checks (gl_frame_hdr_decode, gl_frame_parse)
 * and the common/buf.h getters a handler runs on args. Depends on common/ only.
 *
 * A fuzzer cannot guess CRC32C values, so each input is also parsed a second time with its header
 * CRC and body CRC repaired: that reaches the version, length and success paths. Besides "no
 * crash, no leak, no read outside the input", it checks what the parser promises: the error set,
 * the limits, that args and bulk point inside the input, and that a decoded header encodes back
 * to the same bytes. */
#include "common/buf.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/rpc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

/* Decoders as a handler would run them, steered by the bytes themselves. */
static void walk_args(const uint8_t *p, size_t n)
{
	struct gl_rbuf r;
	char s[32];
	uint8_t tmp[8];

	gl_rbuf_init(&r, p, n);
	while (!gl_rbuf_check(&r)) {
		size_t left = gl_rbuf_left(&r);

		switch (gl_get_u8(&r) % 8) {
		case 0:
			gl_get_u16(&r);
			break;
		case 1:
			gl_get_u32(&r);
			break;
		case 2:
			gl_get_u64(&r);
			break;
		case 3:
			gl_get_str(&r, s, sizeof(s));
			CHECK(strlen(s) < sizeof(s));
			break;
		case 4:
			gl_get_bytes(&r, gl_get_u16(&r));
			break;
		case 5:
			gl_get_copy(&r, tmp, sizeof(tmp));
			break;
		case 6:
			gl_get_str(&r, s, 1);
			break;
		default:
			gl_get_bytes(&r, SIZE_MAX);
			break;
		}
		CHECK(gl_rbuf_left(&r) < left || gl_rbuf_check(&r));
	}
	CHECK(gl_rbuf_left(&r) == 0);
}

static void check_hdr(const uint8_t *p, size_t size)
{
	struct gl_frame_hdr h;
	uint8_t enc[GL_RPC_HDR_SIZE];
	int rc;

	if (size < GL_RPC_HDR_SIZE)
		return;
	rc = gl_frame_hdr_decode(p, &h);
	CHECK(rc == 0 || rc == -GL_EPROTO || rc == -GL_EVERSION || rc == -GL_E2BIG);
	if (rc == -GL_EPROTO)
		return;
	/* filled even on -GL_EVERSION/-GL_E2BIG: it encodes back to the same bytes (reserved
	 * aside, which the encoder writes as 0) */
	gl_frame_hdr_encode(&h, enc);
	CHECK(memcmp(enc, p, 32) == 0);
	if (gl_rd32(p + 32) == 0)
		CHECK(memcmp(enc, p, GL_RPC_HDR_SIZE) == 0);
	if (!rc)
		CHECK(h.version == GL_RPC_VERSION && h.args_len <= GL_RPC_MAX_ARGS &&
		      h.bulk_len <= GL_RPC_MAX_BULK);
}

static void check_frame(const uint8_t *p, size_t size)
{
	struct gl_frame_hdr h;
	const uint8_t *args, *bulk;
	struct iovec iov;
	int rc = gl_frame_parse(p, size, &h, &args, &bulk);

	CHECK(rc == 0 || rc == -GL_EPROTO || rc == -GL_EVERSION || rc == -GL_E2BIG ||
	      rc == -GL_ECORRUPT);
	if (rc)
		return;
	CHECK(size == GL_RPC_HDR_SIZE + (size_t)h.args_len + h.bulk_len);
	CHECK(args == p + GL_RPC_HDR_SIZE && bulk == args + h.args_len);
	iov = (struct iovec){(void *)bulk, h.bulk_len};
	CHECK(gl_frame_body_crc(args, h.args_len, &iov, 1) == h.body_crc);
	walk_args(args, h.args_len);
}

/* A copy of the input with a valid header CRC and, when the claimed lengths fit, a valid body
 * CRC; returns the frame length the header claims (or size). */
static size_t repair(uint8_t *q, size_t size)
{
	uint64_t body;

	if (size < GL_RPC_HDR_SIZE)
		return size;
	body = (uint64_t)gl_rd32(q + 20) + gl_rd32(q + 24);
	if (body <= size - GL_RPC_HDR_SIZE) {
		gl_le32(q + 28, gl_crc32c(GL_CRC_INIT, q + GL_RPC_HDR_SIZE, (size_t)body));
		size = GL_RPC_HDR_SIZE + (size_t)body;
	}
	gl_le32(q + 36, gl_crc32c(GL_CRC_INIT, q, 36));
	return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *q;
	size_t n;

	check_hdr(data, size);
	check_frame(data, size);
	walk_args(data, size);
	q = malloc(size ? size : 1);
	if (!q)
		return 0;
	memcpy(q, data, size);
	n = repair(q, size);
	check_hdr(q, n);
	check_frame(q, n);
	check_frame(q, size); /* with any trailing bytes */
	free(q);
	return 0;
}

/* libFuzzer: aws-chunked request bodies (gateways/s3/s3_chunked.c) in every mode, fed in two
 * pieces split where the first input byte says. Decoded bytes never exceed the input. */
#include "gateways/s3/s3_internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *arg, const char *p, size_t n)
{
	(void)p;
	*(size_t *)arg += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = {1, 2, 3};
	struct s3_chunked c;
	size_t out = 0, cut;
	int mode, rc;

	if (size < 2)
		return 0;
	mode = 1 + data[0] % 3;
	cut = data[1] % (size - 1);
	data += 2;
	size -= 2;
	if (s3_chunked_init(&c, mode, key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
			    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"))
		return 0;
	rc = s3_chunked_feed(&c, (const char *)data, cut, sink, &out);
	if (!rc)
		rc = s3_chunked_feed(&c, (const char *)data + cut, size - cut, sink, &out);
	if (!rc)
		(void)s3_chunked_finish(&c);
	(void)s3_chunked_trailer(&c, "x-amz-checksum-crc32");
	if (out > size || c.decoded != out)
		__builtin_trap();
	s3_chunked_fini(&c);
	return 0;
}

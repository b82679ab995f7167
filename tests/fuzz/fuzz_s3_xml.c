/* libFuzzer: the XML request bodies of the S3 gateway (gateways/s3/s3_xml.c): DeleteObjects
 * and CompleteMultipartUpload, and the metadata xattr decoder. A parse that succeeds yields
 * what the limits allow; escaping what it yields round-trips through the parser. */
#include "gateways/s3/s3_internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_delete_req d;
	struct s3_complete_req c;
	struct s3_meta m;

	if (s3_parse_delete((const char *)data, size, &d) == 0) {
		if (d.n < 1 || d.n > S3_DELETE_MAX)
			__builtin_trap();
		/* a key written back as XML parses to itself */
		struct s3_buf b = {0};
		struct s3_delete_req again;

		s3_buf_puts(&b, "<Delete><Object>");
		s3_xml_elem(&b, "Key", d.key[0]);
		s3_buf_puts(&b, "</Object></Delete>");
		if (!b.err) {
			if (s3_parse_delete(b.p, b.len, &again) == 0) {
				if (strcmp(again.key[0], d.key[0]) != 0)
					__builtin_trap();
				s3_delete_req_free(&again);
			}
		}
		s3_buf_free(&b);
		s3_delete_req_free(&d);
	}
	if (s3_parse_complete((const char *)data, size, &c) == 0) {
		for (int i = 0; i < c.n; i++)
			if (c.parts[i].num < 1 || c.parts[i].num > S3_PARTS_MAX)
				__builtin_trap();
		s3_complete_req_free(&c);
	}
	if (s3_meta_decode((const char *)data, size, &m) == 0)
		s3_meta_free(&m);
	return 0;
}

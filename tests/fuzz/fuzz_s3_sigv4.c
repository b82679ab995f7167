/* libFuzzer: what an S3 request brings before any check (gateways/s3/s3_sigv4.c, s3_util.c):
 * the input is "authorization\nquery\nheader: value\n...". Parses the Authorization header
 * (SigV4 and the presigned query form), builds the canonical request and the SigV2 string to
 * sign, and the Range and date headers, from bytes anyone can send. */
#include "gateways/s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *line, *save = NULL, *authz, *query;
	struct s3_hdrs h = {0};
	struct s3_query q = {0};
	struct s3_sigv4 v;
	struct s3_buf out = {0};
	uint64_t st, len;
	time_t t;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	authz = strtok_r(s, "\n", &save);
	query = authz ? strtok_r(NULL, "\n", &save) : NULL;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *colon = strchr(line, ':');

		if (colon) {
			*colon = '\0';
			s3_hdrs_add(&h, line, colon + 1);
		}
	}
	if (authz && s3_sigv4_parse_header(authz, &v) == 0) {
		if (s3_sigv4_canonical(&out, "PUT", "/b/k ey", &q, &h, v.signed_headers,
				       "UNSIGNED-PAYLOAD") == 0 &&
		    out.len == 0)
			__builtin_trap();
		s3_buf_free(&out);
	}
	if (query && s3_query_parse(query, strlen(query), &q) == 0) {
		if (s3_sigv4_parse_query(&q, &v) == 0) {
			s3_sigv4_canonical(&out, "GET", "/", &q, &h, v.signed_headers,
					   "UNSIGNED-PAYLOAD");
			s3_buf_free(&out);
		}
		s3_sigv2_string(&out, "GET", "/b/k", &q, &h, s3_hdr(&h, "date"));
		s3_buf_free(&out);
	}
	if (s3_hdr(&h, "range") && s3_parse_range(s3_hdr(&h, "range"), 1000, &st, &len) == 1 &&
	    (len == 0 || st + len > 1000))
		__builtin_trap();
	if (s3_hdr(&h, "date"))
		(void)s3_parse_http_date(s3_hdr(&h, "date"), &t);
	if (authz)
		(void)s3_key_check(authz);
	s3_query_free(&q);
	s3_hdrs_free(&h);
	free(s);
	return 0;
}

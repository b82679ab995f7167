/* XDR (RFC 4506) for the NFS gateway: a bounds-checked reader over a received record and a
 * growable writer for replies. Written by hand rather than generated: decoding never allocates
 * for a length the peer chose, names land in fixed buffers, and WRITE data stays a view into
 * the record (no copy of 1 MiB per request). Pure code: the fuzz target drives it directly. */
#ifndef GL_NFS_XDR_H
#define GL_NFS_XDR_H

#include <stddef.h>
#include <stdint.h>

/* A reader: any read past the end, or a length beyond its cap, sets err and reads zeros. */
struct nx_in {
	const uint8_t *p;
	size_t len, pos;
	int err;
};

void nx_in_init(struct nx_in *x, const void *p, size_t len);
uint32_t nx_u32(struct nx_in *x);
uint64_t nx_u64(struct nx_in *x);
int nx_bool(struct nx_in *x); /* a bool other than 0 or 1 is an error */
/* Variable-length opaque of at most max bytes: *out points into the record (not copied). */
uint32_t nx_opaque_view(struct nx_in *x, uint32_t max, const uint8_t **out);
/* Fixed-length opaque copied to out. */
void nx_fixed(struct nx_in *x, void *out, uint32_t n);
/* A string of at most max bytes copied NUL-terminated into out (cap >= max + 1); a NUL byte in
 * it is an error. Returns its length. */
uint32_t nx_string(struct nx_in *x, char *out, uint32_t max);

/* A writer: allocation failure sets err (the reply is then not sent). */
struct nx_out {
	uint8_t *p;
	size_t len, cap;
	int err;
};

int nx_out_init(struct nx_out *o, size_t cap); /* 0 or -ENOMEM */
void nx_out_free(struct nx_out *o);
void nx_put_u32(struct nx_out *o, uint32_t v);
void nx_put_u64(struct nx_out *o, uint64_t v);
void nx_put_opaque(struct nx_out *o, const void *p, uint32_t n); /* length + bytes + pad */
void nx_put_fixed(struct nx_out *o, const void *p, uint32_t n);	 /* bytes + pad */
void nx_put_string(struct nx_out *o, const char *s);
/* Reserves n bytes (+ pad) after a length word the caller fills later; returns where. */
uint8_t *nx_reserve(struct nx_out *o, size_t n);

#endif

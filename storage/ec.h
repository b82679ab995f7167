/* Erasure coding with ISA-L (Cauchy matrix), with decode tables cached per loss pattern.
 * A gl_ec is shared by many threads: encode is lock-free; the decode-table cache is locked. */
#ifndef GL_EC_H
#define GL_EC_H

#include <stddef.h>
#include <stdint.h>

struct gl_ec;

/* 1 <= k <= GL_MAX_K, 1 <= m <= GL_MAX_M. */
int gl_ec_new(int k, int m, struct gl_ec **out);
void gl_ec_free(struct gl_ec *ec);
/* data[0..k-1] (inputs) -> parity[0..m-1] (outputs), each frag_len bytes. */
void gl_ec_encode(struct gl_ec *ec, size_t frag_len, uint8_t *const *data, uint8_t *const *parity);
/* frags[0..k+m-1], each frag_len bytes (caller allocates all). present[i] != 0 marks inputs;
 * every fragment with present[i] == 0 is recomputed in place (data and parity alike).
 * Returns 0, or -GL_EUNAVAIL when fewer than k are present. */
int gl_ec_reconstruct(struct gl_ec *ec, size_t frag_len, const uint8_t *present,
		      uint8_t *const *frags);

#endif

/* Redundancy schemes and how a chunk is cut into fragments.
 *
 * A scheme is either N replicas (rep:N, N = 1..3) or erasure coding with k data and m parity
 * fragments (ec:k+m, 1 <= k <= 16, 1 <= m <= 4; ec:4+2 is the default, RAID6-like). Every chunk
 * of a pool uses the pool's scheme; the pool id is derived from the scheme, so no pool needs to be
 * created before use:
 *   pool = (type << 16) | (k << 8) | m      type 1 = rep (k = N, m = 0), type 2 = ec
 *
 * Fragment geometry (EC): frag_len = round_up(ceil(chunk_len / k), 64), at least 64 bytes. Data
 * fragment i holds chunk bytes [i*frag_len, (i+1)*frag_len), zero padded; fragments k..k+m-1 are
 * Cauchy-matrix parity (ISA-L). Replicas: every fragment is the whole chunk, frag_len = chunk_len.
 */
#ifndef GL_STRIPE_H
#define GL_STRIPE_H

#include <stddef.h>
#include <stdint.h>

#define GL_RED_REP	1
#define GL_RED_EC	2
#define GL_MAX_K	16
#define GL_MAX_M	4
#define GL_MAX_WIDTH	(GL_MAX_K + GL_MAX_M)
#define GL_CHUNK_MAX	(4u << 20) /* chunks are at most 4 MiB */
#define GL_CHUNK_ID_LEN 32

struct gl_scheme {
	uint8_t type; /* GL_RED_REP or GL_RED_EC */
	uint8_t k;    /* replicas for rep, data fragments for ec */
	uint8_t m;    /* parity fragments (0 for rep) */
};

/* "rep:3", "ec:4+2" (also "ec4+2", "rep3"). Returns 0 or -GL_EINVAL. */
int gl_scheme_parse(const char *s, struct gl_scheme *out);
/* Writes "rep:3" / "ec:4+2" into buf. */
void gl_scheme_format(const struct gl_scheme *s, char *buf, size_t cap);
uint32_t gl_scheme_pool(const struct gl_scheme *s);
/* Inverse of gl_scheme_pool; -GL_EINVAL for a pool id that is not a valid scheme. */
int gl_scheme_from_pool(uint32_t pool, struct gl_scheme *out);
/* Number of fragments (and placement slots) a chunk has: k+m, or N. */
int gl_scheme_width(const struct gl_scheme *s);
/* Fragments needed to read a chunk: k, or 1. */
int gl_scheme_need(const struct gl_scheme *s);
/* Fragment length for a chunk of chunk_len bytes. */
size_t gl_scheme_frag_len(const struct gl_scheme *s, size_t chunk_len);

#endif

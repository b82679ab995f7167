/* Erasure coding with ISA-L: Cauchy matrix, decode tables cached per loss pattern. */
#include "storage/ec.h"

#include "common/errors.h"
#include "storage/stripe.h"

#include <isa-l/erasure_code.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NCACHE 32

struct dec_entry {
	uint32_t present; /* bitmask of fragments used as inputs; 0 = empty slot */
	uint32_t missing; /* bitmask of fragments it produces */
	int in[GL_MAX_K]; /* the k input fragment indexes */
	int out[GL_MAX_WIDTH];
	int nout;
	uint8_t tables[GL_MAX_WIDTH * GL_MAX_K * 32];
	uint64_t used;
};

struct gl_ec {
	int k, m;
	uint8_t matrix[GL_MAX_WIDTH * GL_MAX_K]; /* (k+m) x k, identity on top */
	uint8_t enc_tables[GL_MAX_M * GL_MAX_K * 32];
	pthread_mutex_t lock; /* guards cache, tick */
	struct dec_entry cache[NCACHE];
	uint64_t tick;
};

int gl_ec_new(int k, int m, struct gl_ec **out)
{
	struct gl_ec *ec;

	if (k < 1 || k > GL_MAX_K || m < 1 || m > GL_MAX_M)
		return -GL_EINVAL;
	ec = calloc(1, sizeof(*ec));
	if (!ec)
		return -GL_ENOMEM;
	ec->k = k;
	ec->m = m;
	gf_gen_cauchy1_matrix(ec->matrix, k + m, k);
	ec_init_tables(k, m, ec->matrix + k * k, ec->enc_tables);
	pthread_mutex_init(&ec->lock, NULL);
	*out = ec;
	return 0;
}

void gl_ec_free(struct gl_ec *ec)
{
	if (!ec)
		return;
	pthread_mutex_destroy(&ec->lock);
	free(ec);
}

void gl_ec_encode(struct gl_ec *ec, size_t frag_len, uint8_t *const *data, uint8_t *const *parity)
{
	ec_encode_data((int)frag_len, ec->k, ec->m, ec->enc_tables, (unsigned char **)data,
		       (unsigned char **)parity);
}

/* Builds decode rows for the fragments in `missing` from the first k present ones. */
static int build(struct gl_ec *ec, uint32_t present, uint32_t missing, struct dec_entry *e)
{
	int k = ec->k, n = ec->k + ec->m, ni = 0;
	uint8_t sub[GL_MAX_K * GL_MAX_K], inv[GL_MAX_K * GL_MAX_K];
	uint8_t rows[GL_MAX_WIDTH * GL_MAX_K];

	for (int i = 0; i < n && ni < k; i++)
		if (present >> i & 1)
			e->in[ni++] = i;
	if (ni < k)
		return -GL_EUNAVAIL;
	for (int r = 0; r < k; r++)
		memcpy(sub + r * k, ec->matrix + e->in[r] * k, (size_t)k);
	if (gf_invert_matrix(sub, inv, k) < 0)
		return -GL_EIO; /* cannot happen with a Cauchy matrix */
	e->nout = 0;
	for (int f = 0; f < n; f++) {
		uint8_t *row;

		if (!(missing >> f & 1))
			continue;
		row = rows + e->nout * k;
		if (f < k) {
			memcpy(row, inv + f * k, (size_t)k);
		} else {
			/* parity row times the inverse */
			for (int j = 0; j < k; j++) {
				uint8_t s = 0;

				for (int t = 0; t < k; t++)
					s ^= gf_mul(ec->matrix[f * k + t], inv[t * k + j]);
				row[j] = s;
			}
		}
		e->out[e->nout++] = f;
	}
	ec_init_tables(k, e->nout, rows, e->tables);
	e->present = present;
	e->missing = missing;
	return 0;
}

int gl_ec_reconstruct(struct gl_ec *ec, size_t frag_len, const uint8_t *present,
		      uint8_t *const *frags)
{
	int n = ec->k + ec->m, have = 0, rc = 0;
	uint32_t pmask = 0, missing = 0, used;
	struct dec_entry *e = NULL, *victim, local;
	unsigned char *in[GL_MAX_K], *outp[GL_MAX_WIDTH];

	for (int i = 0; i < n; i++) {
		if (present[i]) {
			if (have < ec->k)
				pmask |= 1u << i;
			have++;
		} else {
			missing |= 1u << i;
		}
	}
	if (have < ec->k)
		return -GL_EUNAVAIL;
	if (!missing)
		return 0;
	used = pmask;
	pthread_mutex_lock(&ec->lock);
	victim = &ec->cache[0];
	for (int i = 0; i < NCACHE; i++) {
		struct dec_entry *c = &ec->cache[i];

		if (c->present == used && c->missing == missing) {
			e = c;
			break;
		}
		if (c->used < victim->used)
			victim = c;
	}
	if (!e) {
		e = victim;
		rc = build(ec, used, missing, e);
		if (rc) {
			e->present = 0;
			e->missing = 0;
			pthread_mutex_unlock(&ec->lock);
			return rc;
		}
	}
	e->used = ++ec->tick;
	local = *e; /* decode outside the lock from a private copy of the tables */
	pthread_mutex_unlock(&ec->lock);
	for (int i = 0; i < ec->k; i++)
		in[i] = frags[local.in[i]];
	for (int i = 0; i < local.nout; i++)
		outp[i] = frags[local.out[i]];
	ec_encode_data((int)frag_len, ec->k, local.nout, local.tables, in, outp);
	return 0;
}

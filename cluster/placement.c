/* Placement: weighted rendezvous per slot with failure-domain spreading (see placement.h). */
#include "cluster/placement.h"

#include "common/errors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define STACK_DS 256

/* Per-candidate scratch. */
struct cand {
	uint32_t rack; /* small ids of the domains, to count them cheaply */
	uint32_t host;
	double weight;
};

static double score(const uint8_t *chunk, uint32_t pool, int slot, uint32_t id, double weight)
{
	uint8_t buf[GL_CHUNK_ID_LEN + 12];
	uint64_t h;
	double u;

	memcpy(buf, chunk, GL_CHUNK_ID_LEN);
	memcpy(buf + GL_CHUNK_ID_LEN, &pool, 4);
	memcpy(buf + GL_CHUNK_ID_LEN + 4, &slot, 4);
	memcpy(buf + GL_CHUNK_ID_LEN + 8, &id, 4);
	h = XXH64(buf, sizeof(buf), 0x676c6f7279ull);
	u = ((double)(h >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
	return weight / -log(u);
}

/* Gives each distinct rack and host string a small number (first index with the same name). */
static void number_domains(const struct gl_map *m, struct cand *c)
{
	for (uint32_t i = 0; i < m->n; i++) {
		c[i].rack = i;
		c[i].host = i;
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(m->ds[j].rack, m->ds[i].rack) == 0) {
				c[i].rack = c[j].rack;
				break;
			}
		}
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(m->ds[j].rack, m->ds[i].rack) == 0 &&
			    strcmp(m->ds[j].host, m->ds[i].host) == 0) {
				c[i].host = c[j].host;
				break;
			}
		}
		c[i].weight =
		    (double)(m->ds[i].cap_total > (1u << 20) ? m->ds[i].cap_total : (1u << 20));
	}
}

/* Picks for one slot: among allowed candidates not chosen, fewest chosen in the same rack, then
 * host, then best score. chosen[] lists indexes already counted for the domain rule. */
static int pick(const struct gl_map *m, const struct cand *c, const uint8_t *taken,
		const int *chosen, int nchosen, int slot, const uint8_t *chunk, uint32_t pool,
		int skip_out)
{
	int best = -1, best_r = 0, best_h = 0;
	double best_s = 0;

	for (uint32_t i = 0; i < m->n; i++) {
		int nr = 0, nh = 0;
		double s;

		if (taken[i] || (skip_out && m->ds[i].state == GL_DS_OUT))
			continue;
		for (int j = 0; j < nchosen; j++) {
			if (chosen[j] < 0)
				continue;
			nr += c[chosen[j]].rack == c[i].rack;
			nh += c[chosen[j]].host == c[i].host;
		}
		if (best >= 0 && (nr > best_r || (nr == best_r && nh > best_h)))
			continue;
		s = score(chunk, pool, slot, m->ds[i].id, c[i].weight);
		if (best < 0 || nr < best_r || (nr == best_r && nh < best_h) || s > best_s) {
			best = (int)i;
			best_r = nr;
			best_h = nh;
			best_s = s;
		}
	}
	return best;
}

int gl_place(const struct gl_map *m, uint32_t pool, const uint8_t chunk[GL_CHUNK_ID_LEN], int width,
	     struct gl_placement *out)
{
	struct cand cs[STACK_DS], *c = cs;
	uint8_t ts[STACK_DS], *taken = ts;
	int live = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	if (width < 1 || width > GL_MAX_WIDTH)
		return -GL_EINVAL;
	out->width = width;
	for (int i = 0; i < width; i++)
		out->slot[i] = -1;
	for (uint32_t i = 0; i < m->n; i++)
		live += m->ds[i].state != GL_DS_OUT;
	if (!live)
		return -GL_EUNAVAIL;
	if (m->n > STACK_DS) {
		c = malloc(sizeof(*c) * m->n);
		taken = malloc(m->n);
		if (!c || !taken) {
			rc = -GL_ENOMEM;
			goto out;
		}
	}
	memset(taken, 0, m->n);
	number_domains(m, c);
	/* 1. every server, whatever its state: failures move nothing but their own slots */
	for (int i = 0; i < width; i++) {
		int p = pick(m, c, taken, out->slot, i, i, chunk, pool, 0);

		if (p < 0)
			break;
		out->slot[i] = p;
		taken[p] = 1;
	}
	/* 2. replace OUT servers among the non-OUT ones */
	for (int i = 0; i < width; i++) {
		int keep[GL_MAX_WIDTH], nk = 0, p;

		if (out->slot[i] < 0 || m->ds[out->slot[i]].state != GL_DS_OUT)
			continue;
		for (int j = 0; j < width; j++)
			if (out->slot[j] >= 0 && m->ds[out->slot[j]].state != GL_DS_OUT)
				keep[nk++] = out->slot[j];
		p = pick(m, c, taken, keep, nk, i, chunk, pool, 1);
		out->slot[i] = p;
		if (p >= 0)
			taken[p] = 1;
	}
	/* 3. handoffs: the rest of the non-OUT servers by slot 0's score */
	for (int h = 0; h < GL_MAX_HANDOFF; h++) {
		int best = -1;
		double best_s = 0;

		for (uint32_t i = 0; i < m->n; i++) {
			double s;

			if (taken[i] || m->ds[i].state == GL_DS_OUT)
				continue;
			s = score(chunk, pool, 0, m->ds[i].id, c[i].weight);
			if (best < 0 || s > best_s) {
				best = (int)i;
				best_s = s;
			}
		}
		if (best < 0)
			break;
		taken[best] = 1;
		out->handoff[out->nhandoff++] = best;
	}
out:
	if (c != cs)
		free(c);
	if (taken != ts)
		free(taken);
	return rc;
}

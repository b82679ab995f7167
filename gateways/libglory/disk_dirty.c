/* libglory: the dirty set of a disk (gateways/libglory/disk_internal.h). */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/bufpool.h"
#include "gateways/libglory/disk_internal.h"
#include "metadata/ns.h"

#include <stdlib.h>
#include <string.h>

#define SLICE GL_NS_SLICE

struct dset *disk_dirty_new(void)
{
	return calloc(1, sizeof(struct dset));
}

/* A run's buffer goes back where it came from: whole-slice ones to the buffer pool. */
static void run_free(const struct run *r)
{
	if (r->cap == SLICE)
		glory_buf_put(r->data);
	else
		free(r->data);
}

void disk_dirty_free(struct dset *ds)
{
	if (!ds)
		return;
	for (int i = 0; i < NBUCKETS; i++) {
		for (struct dslice *s = ds->b[i], *nx; s; s = nx) {
			nx = s->next;
			for (uint32_t k = 0; k < s->n; k++)
				run_free(&s->r[k]);
			free(s->r);
			free(s);
		}
	}
	free(ds);
}

struct dslice *disk_dirty_slice(struct dset *ds, uint64_t idx, int create)
{
	struct dslice **h = &ds->b[idx % NBUCKETS];

	for (struct dslice *s = *h; s; s = s->next)
		if (s->idx == idx)
			return s;
	if (!create)
		return NULL;
	struct dslice *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->idx = idx;
	s->next = *h;
	*h = s;
	ds->nslices++;
	return s;
}

/* Puts [a, a+len) with data into the slice; under: existing runs win where they overlap. */
int disk_dirty_put(struct dset *ds, struct dslice *s, uint64_t a, const uint8_t *data, uint32_t len,
		   int under)
{
	uint64_t b = a + len, lo = a, hi = b, old = 0;
	uint32_t i = 0, j, cap;
	uint8_t *buf;
	int reuse;

	while (i < s->n && s->r[i].off + s->r[i].len < a)
		i++;
	j = i;
	while (j < s->n && s->r[j].off <= b)
		j++;
	/* runs [i, j) overlap or touch [a, b) */
	if (j > i) {
		lo = GL_MIN(lo, s->r[i].off);
		hi = GL_MAX(hi, s->r[j - 1].off + s->r[j - 1].len);
	}
	reuse = !under && j > i && s->r[i].off == lo;
	cap = (uint32_t)(hi - lo);
	if (reuse && s->r[i].cap >= cap) {
		buf = s->r[i].data;
		cap = s->r[i].cap;
	} else if (reuse) {
		uint32_t ncap = GL_MAX(cap, GL_MIN(2 * s->r[i].cap, (uint32_t)SLICE));

		buf = realloc(s->r[i].data, ncap);
		if (!buf)
			return -GL_ENOMEM;
		s->r[i].data = buf;
		s->r[i].cap = cap = ncap;
	} else {
		/* a large write starts a run that later writes will likely extend to the slice's
		 * end (sequential writers): room for all of it now, so no realloc copies it again
		 */
		if (len >= BIG_WRITE)
			cap = SLICE;
		buf = cap == SLICE ? glory_buf_get() : malloc(cap);
		if (!buf)
			return -GL_ENOMEM;
	}
	if (under)
		memcpy(buf + (a - lo), data, len);
	for (uint32_t k = i; k < j; k++) {
		old += s->r[k].len;
		if (reuse && k == i)
			continue;
		memcpy(buf + (s->r[k].off - lo), s->r[k].data, s->r[k].len);
		run_free(&s->r[k]);
	}
	if (!under)
		memcpy(buf + (a - lo), data, len);
	if (j == i) { /* a new run at i */
		if (s->n == s->cap) {
			uint32_t nc = s->cap ? s->cap * 2 : 4;
			struct run *nr = realloc(s->r, nc * sizeof(*nr));

			if (!nr) {
				run_free(&(struct run){0, 0, cap, buf});
				return -GL_ENOMEM;
			}
			s->r = nr;
			s->cap = nc;
		}
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
		s->n++;
	} else if (j > i + 1) {
		memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= j - i - 1;
	}
	s->r[i].off = lo;
	s->r[i].len = (uint32_t)(hi - lo);
	s->r[i].cap = cap;
	s->r[i].data = buf;
	ds->bytes += (hi - lo) - old;
	return 0;
}

/* Drops [a, b) from the slice's runs. */
int disk_dirty_cut(struct dset *ds, struct dslice *s, uint64_t a, uint64_t b)
{
	for (uint32_t k = 0; k < s->n; k++) {
		struct run *r = &s->r[k];
		uint64_t r0 = r->off, r1 = r->off + r->len;

		if (r1 <= a || r0 >= b)
			continue;
		if (r0 < a && r1 > b) { /* split: the tail becomes a run of its own */
			struct run t = {b, (uint32_t)(r1 - b), (uint32_t)(r1 - b), NULL};

			if (!(t.data = malloc(t.len)))
				return -GL_ENOMEM;
			memcpy(t.data, r->data + (b - r0), t.len);
			if (s->n == s->cap) {
				uint32_t nc = s->cap * 2;
				struct run *nr = realloc(s->r, nc * sizeof(*nr));

				if (!nr) {
					free(t.data);
					return -GL_ENOMEM;
				}
				s->r = nr;
				s->cap = nc;
				r = &s->r[k];
			}
			memmove(&s->r[k + 2], &s->r[k + 1], (s->n - k - 1) * sizeof(*s->r));
			s->r[k + 1] = t;
			s->n++;
			r->len = (uint32_t)(a - r0);
			ds->bytes -= b - a;
			k++;
		} else if (r0 < a) {
			r->len = (uint32_t)(a - r0);
			ds->bytes -= r1 - a;
		} else if (r1 > b) {
			memmove(r->data, r->data + (b - r0), r1 - b);
			r->off = b;
			r->len = (uint32_t)(r1 - b);
			ds->bytes -= b - r0;
		} else {
			run_free(r);
			ds->bytes -= r->len;
			memmove(r, r + 1, (s->n - k - 1) * sizeof(*s->r));
			s->n--;
			k--;
		}
	}
	return 0;
}

/* Copies the runs of ds over [off, off+len) into buf. */
void disk_dirty_overlay(struct dset *ds, uint8_t *buf, uint64_t off, uint64_t len)
{
	if (!ds || !ds->bytes)
		return;
	for (uint64_t i = off / SLICE; i * SLICE < off + len; i++) {
		struct dslice *s = disk_dirty_slice(ds, i, 0);

		for (uint32_t k = 0; s && k < s->n; k++) {
			uint64_t a = GL_MAX(off, s->r[k].off);
			uint64_t b = GL_MIN(off + len, s->r[k].off + s->r[k].len);

			if (a < b)
				memcpy(buf + (a - off), s->r[k].data + (a - s->r[k].off), b - a);
		}
	}
}

void disk_dirty_move(struct dset *from, struct dset *to, uint64_t idx)
{
	struct dslice **h = &from->b[idx % NBUCKETS], *s;

	while (*h && (*h)->idx != idx)
		h = &(*h)->next;
	if (!(s = *h))
		return;
	*h = s->next;
	from->nslices--;
	for (uint32_t k = 0; k < s->n; k++) {
		from->bytes -= s->r[k].len;
		to->bytes += s->r[k].len;
	}
	s->next = to->b[idx % NBUCKETS];
	to->b[idx % NBUCKETS] = s;
	to->nslices++;
}

/* Moves every run of from into to, under to's own. Frees from. */
int disk_dirty_merge_under(struct dset *to, struct dset *from)
{
	int rc = 0;

	for (int i = 0; i < NBUCKETS && !rc; i++) {
		for (struct dslice *s = from->b[i]; s && !rc; s = s->next) {
			struct dslice *t = disk_dirty_slice(to, s->idx, 1);

			if (!t) {
				rc = -GL_ENOMEM;
				break;
			}
			t->compacted |= s->compacted;
			for (uint32_t k = 0; k < s->n && !rc; k++)
				rc = disk_dirty_put(to, t, s->r[k].off, s->r[k].data, s->r[k].len,
						    1);
		}
	}
	disk_dirty_free(from);
	return rc;
}

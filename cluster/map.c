/* Cluster map codec (format: cluster/map.h). */
#include "cluster/map.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

#define MAP_MAGIC   0x50414d47u
#define MAP_VERSION 1

void gl_map_encode(const struct gl_map *m, struct gl_wbuf *b)
{
	gl_put_u32(b, MAP_MAGIC);
	gl_put_u16(b, MAP_VERSION);
	gl_put_u64(b, m->epoch);
	gl_put_bytes(b, m->dedup_key, GL_DEDUP_KEY_LEN);
	gl_put_u32(b, m->n);
	for (uint32_t i = 0; i < m->n; i++) {
		const struct gl_ds_info *d = &m->ds[i];

		gl_put_u32(b, d->id);
		gl_put_str(b, d->addr);
		gl_put_str(b, d->rack);
		gl_put_str(b, d->host);
		gl_put_u8(b, d->state);
		gl_put_u64(b, d->cap_total);
		gl_put_u64(b, d->cap_avail);
		gl_put_u64(b, d->used);
		gl_put_u64(b, d->since);
	}
}

int gl_map_decode(struct gl_rbuf *r, struct gl_map *out)
{
	struct gl_map m = {0};

	if (gl_get_u32(r) != MAP_MAGIC || gl_get_u16(r) != MAP_VERSION)
		return -GL_EPROTO;
	m.epoch = gl_get_u64(r);
	gl_get_copy(r, m.dedup_key, GL_DEDUP_KEY_LEN);
	m.n = gl_get_u32(r);
	if (gl_rbuf_check(r) || m.n > GL_MAP_MAX_DS || (size_t)m.n * 43 > gl_rbuf_left(r))
		return -GL_EPROTO;
	m.ds = calloc(m.n ? m.n : 1, sizeof(*m.ds));
	if (!m.ds)
		return -GL_ENOMEM;
	for (uint32_t i = 0; i < m.n; i++) {
		struct gl_ds_info *d = &m.ds[i];

		d->id = gl_get_u32(r);
		gl_get_str(r, d->addr, sizeof(d->addr));
		gl_get_str(r, d->rack, sizeof(d->rack));
		gl_get_str(r, d->host, sizeof(d->host));
		d->state = gl_get_u8(r);
		d->cap_total = gl_get_u64(r);
		d->cap_avail = gl_get_u64(r);
		d->used = gl_get_u64(r);
		d->since = gl_get_u64(r);
		if (gl_rbuf_check(r) || d->state < GL_DS_UP || d->state > GL_DS_OUT ||
		    (i && d->id <= m.ds[i - 1].id)) {
			free(m.ds);
			return -GL_EPROTO;
		}
	}
	*out = m;
	return 0;
}

void gl_map_free(struct gl_map *m)
{
	free(m->ds);
	m->ds = NULL;
	m->n = 0;
}

int gl_map_copy(const struct gl_map *src, struct gl_map *dst)
{
	*dst = *src;
	dst->ds = malloc(sizeof(*dst->ds) * (src->n ? src->n : 1));
	if (!dst->ds) {
		dst->n = 0;
		return -GL_ENOMEM;
	}
	memcpy(dst->ds, src->ds, sizeof(*dst->ds) * src->n);
	return 0;
}

int gl_map_find(const struct gl_map *m, uint32_t id)
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->ds[mid].id == id)
			return (int)mid;
		if (m->ds[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const char *gl_ds_state_name(uint8_t state)
{
	switch (state) {
	case GL_DS_UP:
		return "up";
	case GL_DS_DOWN:
		return "down";
	case GL_DS_OUT:
		return "out";
	default:
		return "?";
	}
}

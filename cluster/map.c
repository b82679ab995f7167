/* Cluster map codec (format: cluster/map.h). */
#include "cluster/map.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

#define MAP_MAGIC   0x50414d47u
#define MAP_VERSION 2

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
	gl_put_u32(b, m->nshards);
	for (uint32_t i = 0; i < m->nshards; i++) {
		const struct gl_shard_info *sh = &m->shards[i];

		gl_put_u32(b, sh->id);
		gl_put_u8(b, sh->n);
		for (int j = 0; j < sh->n; j++) {
			gl_put_u64(b, sh->m[j].id);
			gl_put_str(b, sh->m[j].addr);
			gl_put_u8(b, sh->m[j].up);
		}
	}
}

static int shards_decode(struct gl_rbuf *r, struct gl_map *m)
{
	m->nshards = gl_get_u32(r);
	if (gl_rbuf_check(r) || m->nshards > GL_MAP_MAX_SHARDS ||
	    (size_t)m->nshards * 5 > gl_rbuf_left(r))
		return -GL_EPROTO;
	if (!m->nshards)
		return 0;
	m->shards = calloc(m->nshards, sizeof(*m->shards));
	if (!m->shards)
		return -GL_ENOMEM;
	for (uint32_t i = 0; i < m->nshards; i++) {
		struct gl_shard_info *sh = &m->shards[i];

		sh->id = gl_get_u32(r);
		sh->n = gl_get_u8(r);
		if (sh->n > GL_SHARD_MAX_MEMBERS || (i && sh->id <= m->shards[i - 1].id))
			return -GL_EPROTO;
		for (int j = 0; j < sh->n; j++) {
			sh->m[j].id = gl_get_u64(r);
			gl_get_str(r, sh->m[j].addr, sizeof(sh->m[j].addr));
			sh->m[j].up = gl_get_u8(r);
		}
		if (gl_rbuf_check(r))
			return -GL_EPROTO;
	}
	return 0;
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
	int rc = shards_decode(r, &m);

	if (rc) {
		gl_map_free(&m);
		return rc;
	}
	*out = m;
	return 0;
}

void gl_map_free(struct gl_map *m)
{
	free(m->ds);
	free(m->shards);
	m->ds = NULL;
	m->shards = NULL;
	m->n = 0;
	m->nshards = 0;
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
	dst->shards = NULL;
	if (src->nshards) {
		dst->shards = malloc(sizeof(*dst->shards) * src->nshards);
		if (!dst->shards) {
			gl_map_free(dst);
			return -GL_ENOMEM;
		}
		memcpy(dst->shards, src->shards, sizeof(*dst->shards) * src->nshards);
	}
	return 0;
}

const struct gl_shard_info *gl_map_shard(const struct gl_map *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->nshards; i++)
		if (m->shards[i].id == id)
			return &m->shards[i];
	return NULL;
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

/* libglory: block-level dedup of VM disks (volumes with dedup).
 *
 * Whole-chunk dedup stores identical 4 MiB slices once, but two file system images built from
 * different package sets hold the same files at different offsets, so no slice of one equals a
 * slice of the other. A file system places files on its blocks, though, so the same file is
 * the same run of GL_NS_DEDUP_BLOCK (4 KiB) blocks in both. So when a slice is written whole,
 * the flush hashes each of its blocks (SHA-256) and looks for them in what the volume's
 * metadata shard keeps (metadata/ns.h, "b" and "B" records) - a sparse index:
 *   - the block list of every chunk written this way (its blocks' hashes, one record);
 *   - an index entry (hash -> chunk, offset) for its anchor blocks only: those whose hash
 *     starts with 4 zero bits, one block in 16, chosen by content so that the same block is an
 *     anchor in every image.
 * A flush looks up the anchors of its slices (NS_DEDUP_GET), fetches the block lists of the
 * chunks they were found in (NS_DEDUP_LIST), and finds its other blocks in those lists: a file
 * shared with an earlier image has an anchor in it or near it in that image's chunk. Then:
 *   - a block found becomes an extent pointing into the chunk that holds it (a run of them,
 *     one extent, so a shared file costs one extent);
 *   - a block seen earlier in the same flush points where that one went;
 *   - a zero block is a hole;
 *   - the other blocks are packed, in order, into one new chunk for the slice, named by its
 *     block list (name_chunks), so identical slices still dedup whole across the disks of a
 *     pool, and the NS_WRITE that commits the slice adds its block list and its anchors' index
 *     entries.
 * Keeping one record per chunk and one index entry per 16 blocks, not one per block, keeps
 * the shard's cost per written byte low (an index entry per block made the shard's memtable
 * inserts the cost of a sequential write).
 * The NS_WRITE replaces the slice's layout (its dedup tail cuts the slice first) and names the
 * chunks it points into that this flush did not write: the shard applies it only if it still
 * references each of them (otherwise -GL_ENOREF and the flush is planned again without the
 * index). A chunk a shard references is never collected (docs/architecture.md, garbage
 * collection), so pointing into one needs no word with the master. */
#include "common/compiler.h"
#include "common/errors.h"
#include "gateways/libglory/disk_internal.h"
#include "gateways/libglory/glory.h"
#include "gateways/libglory/glory_internal.h"
#include "metadata/ns.h"
#include "storage/chunkid.h"
#include "storage/stripe.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define BLK GL_NS_DEDUP_BLOCK

/* one block in 16 is an anchor, by its content */
static int anchor(const uint8_t *h)
{
	return (h[0] & 0xf) == 0;
}

enum { B_NEW, B_EXT, B_LOCAL };

/* one distinct block content of the plan */
struct bent {
	uint8_t h[32];
	uint8_t used, state, asked;
	uint32_t c, coff; /* B_LOCAL, and B_EXT once its chunk is in the plan (c != UINT32_MAX) */
	uint32_t pool, clen, eoff; /* B_EXT: where the index has it */
	uint8_t id[32];
};

struct btab {
	struct bent *t;
	size_t mask;
};

static struct bent *btab_find(struct btab *b, const uint8_t *h)
{
	uint64_t x;
	size_t i;

	memcpy(&x, h, 8);
	for (i = (size_t)x & b->mask;; i = (i + 1) & b->mask)
		if (!b->t[i].used || !memcmp(b->t[i].h, h, 32))
			return &b->t[i];
}

struct hashing {
	struct dslice *const *s;
	uint8_t (*h)[32];
	uint8_t *zero;
	uint32_t *first; /* each slice's first block */
};

static int zero_block(const uint8_t *p)
{
	static const uint8_t z[BLK];

	return !memcmp(p, z, BLK);
}

static int hash_slice(void *arg, int i)
{
	struct hashing *x = arg;
	const struct run *r = &x->s[i]->r[0];

	for (uint32_t k = 0, b = x->first[i]; k < r->len / BLK; k++, b++) {
		const uint8_t *p = r->data + (size_t)k * BLK;

		x->zero[b] = (uint8_t)zero_block(p);
		if (!x->zero[b])
			SHA256(p, BLK, x->h[b]);
	}
	return 0;
}

/* Asks the volume's block index for the n entries (B_NEW) of e, which get B_EXT when found. */
static int index_get(struct glory_disk *d, struct bent **e, uint32_t n)
{
	struct gl_wbuf a;
	struct gl_rpc_call c;
	struct gl_rbuf r;
	int rc;

	glory_vol_msg(d->v, &a, GL_NS_DEDUP_GET);
	gl_put_u32(&a, n);
	for (uint32_t i = 0; i < n; i++)
		gl_put_bytes(&a, e[i]->h, 32);
	rc = glory_vol_md(d->v, &a, &c, &r, 1);
	gl_wbuf_free(&a);
	if (!rc && gl_get_u32(&r) != n)
		rc = -GL_EPROTO;
	for (uint32_t i = 0; i < n && !rc && !gl_rbuf_check(&r); i++) {
		struct bent *b = e[i];

		if (!gl_get_u8(&r))
			continue;
		b->pool = gl_get_u32(&r);
		gl_get_copy(&r, b->id, 32);
		b->clen = gl_get_u32(&r);
		b->eoff = gl_get_u32(&r);
		if (!gl_rbuf_check(&r) && b->clen <= GL_CHUNK_MAX && b->eoff <= b->clen &&
		    b->clen - b->eoff >= BLK) {
			b->state = B_EXT;
			b->c = UINT32_MAX;
		}
	}
	if (!rc && (gl_rbuf_check(&r) || gl_rbuf_left(&r)))
		rc = -GL_EPROTO;
	gl_rpc_call_done(&c);
	return rc;
}

/* A chunk an anchor was found in: its block list is asked for next. */
struct cand {
	uint32_t pool, clen;
	uint8_t id[32];
};

/* Fetches the block lists of n candidate chunks: blocks of the plan (bt) found in them get
 * B_EXT. */
static int lists_get(struct glory_disk *d, struct btab *bt, const struct cand *c, uint32_t n)
{
	struct gl_wbuf a;
	struct gl_rpc_call call;
	struct gl_rbuf r;
	int rc;

	glory_vol_msg(d->v, &a, GL_NS_DEDUP_LIST);
	gl_put_u32(&a, n);
	for (uint32_t i = 0; i < n; i++) {
		gl_put_u32(&a, c[i].pool);
		gl_put_bytes(&a, c[i].id, 32);
	}
	rc = glory_vol_md(d->v, &a, &call, &r, 1);
	gl_wbuf_free(&a);
	if (!rc && gl_get_u32(&r) != n)
		rc = -GL_EPROTO;
	for (uint32_t i = 0; i < n && !rc && !gl_rbuf_check(&r); i++) {
		uint32_t nb = gl_get_u32(&r);

		if (nb > GL_NS_SLICE / BLK)
			break;
		for (uint32_t k = 0; k < nb && !gl_rbuf_check(&r); k++) {
			const uint8_t *h = gl_get_bytes(&r, 32);
			struct bent *b = h ? btab_find(bt, h) : NULL;

			if (!b || !b->used || b->state != B_NEW ||
			    (uint64_t)(k + 1) * BLK > c[i].clen)
				continue;
			b->state = B_EXT;
			b->c = UINT32_MAX;
			b->pool = c[i].pool;
			b->clen = c[i].clen;
			b->eoff = k * BLK;
			memcpy(b->id, c[i].id, 32);
		}
	}
	if (!rc && (gl_rbuf_check(&r) || gl_rbuf_left(&r)))
		rc = -GL_EPROTO;
	gl_rpc_call_done(&call);
	return rc;
}

/* The plan's chunk for an index hit (one per distinct chunk). */
static int ext_chunk(struct plan *p, struct bent *b)
{
	for (uint32_t i = 0; i < p->nc; i++) /* few: the chunks one flush points into */
		if (p->c[i].ext && p->c[i].pool == b->pool && !memcmp(p->c[i].id, b->id, 32)) {
			b->c = i;
			return 0;
		}
	if (plan_chunk(p, NULL, b->clen, 0))
		return -GL_ENOMEM;
	b->c = p->nc - 1;
	p->c[b->c].ext = 1;
	p->c[b->c].has_id = 1;
	p->c[b->c].pool = b->pool;
	memcpy(p->c[b->c].id, b->id, 32);
	return 0;
}

/* Block k of the slice at disk offset off goes to chunk c at coff: grows the slice's last
 * extent when it continues it. */
static int put_block(struct plan *p, const struct pwhole *w, uint64_t off, uint32_t c,
		     uint32_t coff, int *cont)
{
	struct gl_ns_extent *e = p->ne > w->first ? &p->e[p->ne - 1] : NULL;

	if (*cont && e && p->ec[p->ne - 1] == c && e->off + e->len == off &&
	    e->chunk_off + e->len == coff) {
		e->len += BLK;
		return 0;
	}
	*cont = 1;
	return plan_extent(p, off, BLK, c, coff);
}

static int add_index(struct plan *p, const uint8_t *h, uint32_t c, uint32_t coff)
{
	if (p->nix == p->cix) {
		uint32_t nc = p->cix ? p->cix * 2 : 1024;
		struct pidx *n = realloc(p->ix, nc * sizeof(*n));

		if (!n)
			return -GL_ENOMEM;
		p->ix = n;
		p->cix = nc;
	}
	memcpy(p->ix[p->nix].h, h, 32);
	p->ix[p->nix].c = c;
	p->ix[p->nix].coff = coff;
	p->ix[p->nix].ext = p->ne - 1;
	p->nix++;
	return 0;
}

static int plan_slice(struct plan *p, struct btab *bt, const struct dslice *s, const uint8_t *zero,
		      uint8_t (*h)[32])
{
	const struct run *r = &s->r[0];
	uint32_t nb = r->len / BLK, fc = UINT32_MAX, flen = 0, nmiss = 0;
	uint32_t *miss = malloc(nb * sizeof(*miss)); /* the new blocks, in chunk order */
	struct pwhole w = {s->idx, p->ne, 0, p->nix, UINT32_MAX, 0, NULL};
	int cont = 0, inplace = 1, rc = 0;

	if (!miss)
		return -GL_ENOMEM;
	for (uint32_t k = 0; k < nb && !rc; k++) {
		uint64_t off = r->off + (uint64_t)k * BLK;
		struct bent *b;

		if (zero[k]) {
			cont = 0;
			continue;
		}
		b = btab_find(bt, h[k]);
		p->hits += b->state != B_NEW;
		if (b->state == B_EXT) {
			if (b->c == UINT32_MAX && (rc = ext_chunk(p, b)))
				break;
			rc = put_block(p, &w, off, b->c, b->eoff, &cont);
			continue;
		}
		if (b->state == B_LOCAL) {
			rc = put_block(p, &w, off, b->c, b->coff, &cont);
			continue;
		}
		if (fc == UINT32_MAX) { /* the slice's new chunk: its data comes below */
			if ((rc = plan_chunk(p, NULL, 0, 0)))
				break;
			fc = p->nc - 1;
		}
		inplace &= flen == k * BLK;
		miss[nmiss++] = k;
		b->state = B_LOCAL;
		b->c = fc;
		b->coff = flen;
		flen += BLK;
		p->c[fc].len = flen;
		if (!(rc = put_block(p, &w, off, fc, b->coff, &cont)) && anchor(b->h))
			rc = add_index(p, b->h, fc, b->coff);
	}
	if (!rc && fc != UINT32_MAX) {
		/* new blocks that are the slice's first ones, in order (data nobody wrote before):
		 * the chunk is that much of the slice as it is, no copy */
		if (inplace) {
			p->c[fc].data = r->data;
		} else if ((p->c[fc].data = malloc(flen))) {
			p->c[fc].owned = 1;
			for (uint32_t i = 0; i < nmiss; i++)
				memcpy(p->c[fc].data + (size_t)i * BLK,
				       r->data + (size_t)miss[i] * BLK, BLK);
		} else {
			rc = -GL_ENOMEM;
		}
		/* its block list */
		if (!rc && !(w.list = malloc((size_t)nmiss * 32)))
			rc = -GL_ENOMEM;
		for (uint32_t i = 0; i < nmiss && !rc; i++)
			memcpy(w.list[i], h[miss[i]], 32);
		w.nlist = nmiss;
		w.c = fc;
	}
	free(miss);
	if (rc) {
		free(w.list);
		return rc;
	}
	if (p->nw == p->cw) {
		uint32_t nc = p->cw ? p->cw * 2 : 16;
		struct pwhole *n = realloc(p->w, nc * sizeof(*n));

		if (!n) {
			free(w.list);
			return -GL_ENOMEM;
		}
		p->w = n;
		p->cw = nc;
	}
	w.n = p->ne - w.first;
	w.nix = p->nix - w.nix;
	p->w[p->nw++] = w;
	return 0;
}

/* Names the new chunks of whole slices [w0, p->nw) by their block lists: HMAC-SHA256 of the
 * list under a key derived from the cluster's dedup key, so the content needs no second
 * SHA-256 pass. The derived key keeps these ids apart from content-hashed ones: no content
 * can be crafted whose id is a block list's. */
static int name_chunks(struct glory_disk *d, struct plan *p, uint32_t w0)
{
	static const char tag[] = "glory: id of a chunk by its 4 KiB blocks' SHA-256, v1";
	struct gl_idctx *ic = NULL;
	uint8_t key[32];
	int rc;

	if (w0 == p->nw)
		return 0;
	if ((rc = glory_chunk_hash(glory_vol_glory(d->v), 1, tag, sizeof(tag) - 1, key)) ||
	    (rc = gl_idctx_new(key, sizeof(key), &ic)))
		return rc;
	for (uint32_t i = w0; i < p->nw && !rc; i++) {
		const struct pwhole *w = &p->w[i];
		const void *part = w->list;
		size_t plen = (size_t)w->nlist * 32;

		if (!w->nlist)
			continue;
		rc = gl_idctx_mac(ic, 1, &part, &plen, p->c[w->c].id);
		p->c[w->c].has_id = !rc;
	}
	gl_idctx_free(ic);
	return rc;
}

int disk_dedup_plan(struct glory_disk *d, struct plan *p, struct dslice *const *s, uint32_t n,
		    int use_index)
{
	struct hashing x = {s, NULL, NULL, NULL};
	struct btab bt = {NULL, 0};
	struct bent **ask = NULL;
	struct cand *cand = NULL;
	uint32_t nb = 0, nask = 0, ncand = 0;
	size_t cap = 1;
	int rc = 0;

	if (!n)
		return 0;
	if (!(x.first = malloc(n * sizeof(*x.first))))
		return -GL_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		x.first[i] = nb;
		nb += s[i]->r[0].len / BLK;
	}
	while (cap < 2 * (size_t)nb)
		cap *= 2;
	x.h = malloc((size_t)nb * 32);
	x.zero = malloc(nb);
	bt.t = calloc(cap, sizeof(*bt.t));
	bt.mask = cap - 1;
	ask = malloc(nb * sizeof(*ask));
	cand = malloc(nb * sizeof(*cand));
	if (!x.h || !x.zero || !bt.t || !ask || !cand) {
		rc = -GL_ENOMEM;
		goto out;
	}
	if ((rc = glory_par_for((int)n, hash_slice, &x)))
		goto out;
	for (uint32_t b = 0; b < nb; b++) /* the distinct contents */
		if (!x.zero[b]) {
			struct bent *e = btab_find(&bt, x.h[b]);

			if (!e->used) {
				e->used = 1;
				memcpy(e->h, x.h[b], 32);
			}
		}
	/* the anchors, then the block lists of the chunks they were found in */
	for (uint32_t b = 0; use_index && b < nb; b++) {
		struct bent *e;

		if (x.zero[b] || !anchor(x.h[b]) || (e = btab_find(&bt, x.h[b]))->asked)
			continue;
		e->asked = 1;
		ask[nask++] = e;
	}
	for (uint32_t i = 0; i < nask && !rc; i += GL_NS_DEDUP_MAX)
		rc = index_get(d, ask + i, GL_MIN((uint32_t)GL_NS_DEDUP_MAX, nask - i));
	for (uint32_t i = 0; i < nask && !rc; i++) {
		struct bent *e = ask[i];
		uint32_t k = 0;

		if (e->state != B_EXT)
			continue;
		while (k < ncand && (cand[k].pool != e->pool || memcmp(cand[k].id, e->id, 32)))
			k++;
		if (k == ncand) {
			cand[ncand].pool = e->pool;
			cand[ncand].clen = e->clen;
			memcpy(cand[ncand++].id, e->id, 32);
		}
	}
	for (uint32_t i = 0; i < ncand && !rc; i += GL_NS_DEDUP_LISTS)
		rc = lists_get(d, &bt, cand + i, GL_MIN((uint32_t)GL_NS_DEDUP_LISTS, ncand - i));
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = plan_slice(p, &bt, s[i], x.zero + x.first[i], x.h + x.first[i]);
	if (!rc)
		rc = name_chunks(d, p, p->nw - n);
out:
	free(x.first);
	free(x.h);
	free(x.zero);
	free(bt.t);
	free(ask);
	free(cand);
	return rc;
}

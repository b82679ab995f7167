/* FUSE gateway: how long the kernel may keep an inode's attributes.
 *
 * libglory answers lookups and getattrs from its lease cache (docs/architecture.md, "Client
 * metadata cache"), so the kernel may keep what we answer for as long as the lease lasts,
 * provided it drops it whenever libglory would:
 *  - another client's change: libglory's watch thread calls gf_inval, which drops the kernel's
 *    attributes (FUSE_NOTIFY_INVAL_INODE, which also makes any answer still on its way stale)
 *    before the change is acknowledged to the shard; if the watch is lost, the kernel's copy
 *    runs out before the lease does (it is given what is left of it, less a margin);
 *  - this mount's own changes: the kernel drops what they touch when it takes their answers,
 *    but an answer read before the change and sent after it would put the old attributes back.
 *    So every change bumps its inode's generation and then waits for the answers that were
 *    being sent (gf_changed); an answer carries a timeout only if its inode's generation did
 *    not move since before it was read, checked while its slot is held shared.
 * Entries (names) are not kept: the entry timeout stays 0, so every path walk asks again. */
#include "gateways/fuse/fuse_internal.h"

#include <string.h>

#define GF_TTL_MARGIN 0.1 /* s: the kernel counts from when it takes the answer, a bit later */

static struct gf_change *slot_of(struct gf *fs, uint64_t ino)
{
	return &fs->change[(ino * 0x9e3779b97f4a7c15ull) >> 56 & (GF_CHANGE_SLOTS - 1)];
}

void gf_attr_init(struct gf *fs)
{
	pthread_mutex_init(&fs->se_lock, NULL);
	for (int i = 0; i < GF_CHANGE_SLOTS; i++) {
		pthread_rwlock_init(&fs->change[i].lk, NULL);
		fs->change[i].gen = 0;
	}
}

void gf_attr_fini(struct gf *fs)
{
	for (int i = 0; i < GF_CHANGE_SLOTS; i++)
		pthread_rwlock_destroy(&fs->change[i].lk);
	pthread_mutex_destroy(&fs->se_lock);
}

void gf_inval(void *arg, uint64_t ino)
{
	struct gf *fs = arg;

	pthread_mutex_lock(&fs->se_lock);
	if (fs->se) /* off -1: the attributes only; ENOENT when the kernel does not know ino */
		fuse_lowlevel_notify_inval_inode(fs->se, (fuse_ino_t)ino, -1, 0);
	pthread_mutex_unlock(&fs->se_lock);
}

uint64_t gf_change_gen(struct gf *fs, uint64_t ino)
{
	return __atomic_load_n(&slot_of(fs, ino)->gen, __ATOMIC_SEQ_CST);
}

void gf_changed(struct gf *fs, uint64_t ino)
{
	struct gf_change *c = slot_of(fs, ino);

	__atomic_add_fetch(&c->gen, 1, __ATOMIC_SEQ_CST);
	/* answers that saw the old generation and are being sent get to the kernel first */
	pthread_rwlock_wrlock(&c->lk);
	pthread_rwlock_unlock(&c->lk);
}

double gf_ttl_hold(struct gf *fs, uint64_t ino, double ttl, uint64_t gen)
{
	struct gf_change *c = slot_of(fs, ino);

	if (ttl <= GF_TTL_MARGIN)
		return 0;
	pthread_rwlock_rdlock(&c->lk);
	if (__atomic_load_n(&c->gen, __ATOMIC_SEQ_CST) != gen) {
		pthread_rwlock_unlock(&c->lk);
		return 0;
	}
	return ttl - GF_TTL_MARGIN;
}

void gf_ttl_done(struct gf *fs, uint64_t ino, double t)
{
	if (t > 0)
		pthread_rwlock_unlock(&slot_of(fs, ino)->lk);
}

void gf_reply_entry_ttl(fuse_req_t req, const struct glory_attr *a, double ttl, uint64_t gen)
{
	struct gf *fs = gf_of(req);
	struct fuse_entry_param e;
	double t = gf_ttl_hold(fs, a->ino, ttl, gen);

	memset(&e, 0, sizeof(e));
	e.ino = a->ino;
	e.attr_timeout = t;
	e.entry_timeout = fs->entry_timeout;
	gf_stat_of(a, &e.attr);
	fuse_reply_entry(req, &e);
	gf_ttl_done(fs, a->ino, t);
}

void gf_reply_attr_ttl(fuse_req_t req, const struct glory_attr *a, double ttl, uint64_t gen)
{
	struct gf *fs = gf_of(req);
	double t = gf_ttl_hold(fs, a->ino, ttl, gen);
	struct stat st;

	gf_stat_of(a, &st);
	fuse_reply_attr(req, &st, t);
	gf_ttl_done(fs, a->ino, t);
}

/* Open files: UNSTABLE writes stay buffered in one glory_file per inode until COMMIT (or a
 * FILE_SYNC write, or the file goes idle); the write verifier tells clients whether what they
 * wrote UNSTABLE may have been lost (a restart, a failed background commit). */
#include "common/errors.h"
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double nfs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned bucket(uint32_t vol, uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ull ^ vol) % NFS_OPEN_BUCKETS);
}

static struct nfs_open *find_locked(struct nfs_srv *s, uint32_t vol, uint64_t ino)
{
	for (struct nfs_open *o = s->open[bucket(vol, ino)]; o; o = o->next)
		if (o->vol == vol && o->ino == ino)
			return o;
	return NULL;
}

struct nfs_open *nfs_open_find(struct nfs_srv *s, uint32_t vol, uint64_t ino)
{
	struct nfs_open *o;

	pthread_mutex_lock(&s->olock);
	if ((o = find_locked(s, vol, ino))) {
		o->refs++;
		o->last_use = nfs_now();
	}
	pthread_mutex_unlock(&s->olock);
	return o;
}

struct nfs_open *nfs_open_get(struct nfs_srv *s, struct nfs_vol *v, uint64_t ino, int *rc)
{
	struct nfs_open *o, *mine;
	struct glory_file *f;

	if ((o = nfs_open_find(s, v->id, ino)))
		return o;
	/* opened outside the lock (a metadata round trip); a racing opener may win */
	if ((*rc = glory_open(v->v, ino, &f)))
		return NULL;
	if (!(mine = calloc(1, sizeof(*mine)))) {
		glory_close(f);
		*rc = -GL_ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&s->olock);
	if ((o = find_locked(s, v->id, ino))) {
		o->refs++;
		o->last_use = nfs_now();
		pthread_mutex_unlock(&s->olock);
		free(mine);
		glory_close(f); /* nothing written through it */
		return o;
	}
	mine->vol = v->id;
	mine->ino = ino;
	mine->f = f;
	mine->refs = 2; /* the table's and the caller's */
	mine->last_use = nfs_now();
	atomic_init(&mine->end, 0);
	atomic_init(&mine->seen_ctime, 0);
	mine->next = s->open[bucket(v->id, ino)];
	s->open[bucket(v->id, ino)] = mine;
	pthread_mutex_unlock(&s->olock);
	return mine;
}

void nfs_open_put(struct nfs_srv *s, struct nfs_open *o)
{
	int last;

	pthread_mutex_lock(&s->olock);
	last = --o->refs == 0;
	pthread_mutex_unlock(&s->olock);
	if (last) {
		int rc = glory_close(o->f);

		if (rc) { /* what was buffered is gone: clients must resend */
			gl_warn("nfs: commit of inode %llu (volume %u) failed: %s",
				(unsigned long long)o->ino, o->vol, glory_strerror(rc));
			nfs_verf_bump(s);
		}
		free(o);
	}
}

/* Takes (vol, ino) out of the table; the caller drops the table's reference. */
static struct nfs_open *unlink_locked(struct nfs_srv *s, uint32_t vol, uint64_t ino)
{
	for (struct nfs_open **pp = &s->open[bucket(vol, ino)]; *pp; pp = &(*pp)->next)
		if ((*pp)->vol == vol && (*pp)->ino == ino) {
			struct nfs_open *o = *pp;

			*pp = o->next;
			return o;
		}
	return NULL;
}

int nfs_open_sync(struct nfs_srv *s, struct nfs_open *o)
{
	uint64_t end = atomic_load(&o->end);
	int rc = glory_fsync(o->f);

	if (rc)
		nfs_verf_bump(s);
	else /* writes that raced the commit raised end: they keep it */
		atomic_compare_exchange_strong(&o->end, &end, 0);
	return rc;
}

int nfs_open_close(struct nfs_srv *s, uint32_t vol, uint64_t ino)
{
	struct nfs_open *o;
	int rc = 0;

	pthread_mutex_lock(&s->olock);
	o = unlink_locked(s, vol, ino);
	pthread_mutex_unlock(&s->olock);
	if (o) {
		rc = nfs_open_sync(s, o);
		nfs_open_put(s, o);
	}
	return rc;
}

void nfs_open_flush_idle(struct nfs_srv *s, double secs)
{
	double now = nfs_now();

	for (int b = 0; b < NFS_OPEN_BUCKETS; b++) {
		struct nfs_open *o;

		do {
			o = NULL;
			pthread_mutex_lock(&s->olock);
			for (struct nfs_open *p = s->open[b]; p; p = p->next)
				if (secs < 0 || (p->refs == 1 && now - p->last_use > secs)) {
					o = unlink_locked(s, p->vol, p->ino);
					break;
				}
			pthread_mutex_unlock(&s->olock);
			if (o)
				nfs_open_put(s, o);
		} while (o);
	}
}

void nfs_verf_bump(struct nfs_srv *s)
{
	atomic_fetch_add(&s->verf_gen, 1);
}

void nfs_verf(struct nfs_srv *s, uint8_t out[NFS3_VERF])
{
	uint64_t v = s->verf_base + atomic_load(&s->verf_gen);

	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

/* FUSE gateway: flock(2) and POSIX byte-range locks (fcntl F_SETLK/F_SETLKW/F_GETLK, and
 * lockf), shared by every mount of the volume through libglory's glory_lock: a lock taken on
 * one host is seen by every other. A waiting lock (F_SETLKW, flock without LOCK_NB) polls,
 * backing off from 5 to 100 ms, until it is granted or the caller is interrupted (EINTR).
 * Closing any descriptor releases the POSIX locks its process (lock owner) held on the file;
 * releasing the last descriptor of an open file drops its flock lock, as locally. */
#include "gateways/fuse/fuse_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>
#include <unistd.h>

static int range_of(const struct flock *l, uint64_t *start, uint64_t *end)
{
	if (l->l_start < 0)
		return -EINVAL;
	*start = (uint64_t)l->l_start;
	if (l->l_len == 0) {
		*end = UINT64_MAX;
	} else if (l->l_len > 0) {
		*end = *start + (uint64_t)l->l_len - 1;
		if (*end < *start)
			return -EINVAL;
	} else {
		return -EINVAL; /* the kernel passes positive lengths */
	}
	return 0;
}

static int type_of(short t)
{
	return t == F_RDLCK ? GLORY_LOCK_RD : t == F_WRLCK ? GLORY_LOCK_WR : GLORY_LOCK_UN;
}

/* Takes (or changes) a lock, waiting while others hold a conflicting one if wait. */
static int lock_wait(fuse_req_t req, struct gf *fs, uint64_t ino, int kind, uint64_t owner,
		     uint32_t pid, int type, uint64_t start, uint64_t end, int wait)
{
	useconds_t pause = 5000;

	for (;;) {
		int rc = glory_lock(fs->vol, ino, kind, owner, pid, type, start, end);

		if (!rc || glory_errno(rc) != -EAGAIN || !wait)
			return rc;
		if (fuse_req_interrupted(req))
			return -EINTR;
		usleep(pause);
		if (pause < 100000)
			pause *= 2;
	}
}

static void mark_locked(struct gf *fs, uint64_t ino)
{
	struct gf_open *o = gf_open_find(fs, ino);

	if (o) {
		__atomic_store_n(&o->locked, 1, __ATOMIC_RELAXED);
		gf_open_put(fs, o);
	}
}

static void gf_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	struct glory_lock l = {0};
	uint64_t start, end;
	int rc = range_of(lock, &start, &end);

	if (rc)
		return (void)fuse_reply_err(req, -rc);
	l.type = type_of(lock->l_type);
	l.start = start;
	l.end = end;
	rc = glory_getlk(gf_of(req)->vol, ino, GLORY_LOCK_POSIX, fi->lock_owner, &l);
	if (rc)
		return gf_reply_err(req, rc);
	if (l.type == GLORY_LOCK_UN) {
		lock->l_type = F_UNLCK;
	} else {
		lock->l_type = l.type == GLORY_LOCK_WR ? F_WRLCK : F_RDLCK;
		lock->l_whence = SEEK_SET;
		lock->l_start = (off_t)l.start;
		lock->l_len = l.end == UINT64_MAX ? 0 : (off_t)(l.end - l.start + 1);
		lock->l_pid = (pid_t)l.pid;
	}
	fuse_reply_lock(req, lock);
}

static void gf_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
		     int sleep)
{
	struct gf *fs = gf_of(req);
	uint64_t start, end;
	int rc = range_of(lock, &start, &end), type = type_of(lock->l_type);

	if (rc)
		return (void)fuse_reply_err(req, -rc);
	rc = lock_wait(req, fs, ino, GLORY_LOCK_POSIX, fi->lock_owner, (uint32_t)lock->l_pid, type,
		       start, end, sleep);
	if (rc == 0 && type != GLORY_LOCK_UN)
		mark_locked(fs, ino);
	gf_reply_err(req, rc);
}

static void gf_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct gf *fs = gf_of(req);
	int type = (op & LOCK_UN) ? GLORY_LOCK_UN : (op & LOCK_EX) ? GLORY_LOCK_WR : GLORY_LOCK_RD;
	int rc;

	rc = lock_wait(req, fs, ino, GLORY_LOCK_FLOCK, fi->lock_owner,
		       (uint32_t)fuse_req_ctx(req)->pid, type, 0, UINT64_MAX, !(op & LOCK_NB));
	if (rc == 0 && type != GLORY_LOCK_UN)
		mark_locked(fs, ino);
	/* flock(2) says EWOULDBLOCK for a held lock with LOCK_NB */
	gf_reply_err(req, rc);
}

int gf_lock_close(struct gf *fs, uint64_t ino, struct gf_open *o, struct fuse_file_info *fi,
		  int release)
{
	if (!__atomic_load_n(&o->locked, __ATOMIC_RELAXED))
		return 0;
	if (release && fi->flock_release)
		return glory_lock(fs->vol, ino, GLORY_LOCK_FLOCK, fi->lock_owner, 0, GLORY_LOCK_UN,
				  0, UINT64_MAX);
	if (!release && fi->lock_owner)
		return glory_lock(fs->vol, ino, GLORY_LOCK_POSIX, fi->lock_owner, 0, GLORY_LOCK_UN,
				  0, UINT64_MAX);
	return 0;
}

void gf_lock_ops(struct fuse_lowlevel_ops *ops)
{
	ops->getlk = gf_getlk;
	ops->setlk = gf_setlk;
	ops->flock = gf_flock;
}

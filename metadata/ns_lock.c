/* File locks shared by every client of a volume (ns.h: NS_LOCK, NS_SESSION, NS_GETLK).
 *
 * A lock belongs to (session, owner, kind): the session is a client process (libglory's client
 * id), the owner what the kernel names the holder (a POSIX lock owner or an open file for
 * flock), the kind POSIX byte ranges or flock (whole file; the two kinds never conflict, as on
 * Linux). One record per holder and file keeps its ranges, sorted, merged, never overlapping.
 * A session lives until its expiry time (now + ttl at its last NS_LOCK or NS_SESSION): the
 * locks of an expired session are ignored and dropped by the next lock operation on the file,
 * so a client killed with its locks held blocks others for at most the ttl. Everything is
 * decided from the entry's time, so every member applies the same. */
#include "common/errors.h"
#include "metadata/ns_internal.h"

#include <stdlib.h>
#include <string.h>

#define LOCK_MAX_RANGES 256 /* per holder and file (EDEADLK-free bound: ENOLCK past it) */

struct range {
	uint8_t type;
	uint64_t start, end; /* inclusive */
};

struct holder {
	uint64_t session, owner;
	uint8_t kind;
	uint32_t pid;
	int n;
	struct range r[LOCK_MAX_RANGES];
};

static size_t k_lock(uint8_t *k, uint32_t vol, uint64_t ino, uint64_t session, uint64_t owner,
		     uint8_t kind)
{
	size_t n = k_prefix(k, 'L', vol, ino);

	be64(k + n, session);
	be64(k + n + 8, owner);
	k[n + 16] = kind;
	return n + 17;
}

static size_t k_session(uint8_t *k, uint64_t session)
{
	k[0] = 'S';
	be64(k + 1, session);
	return 9;
}

static int holder_decode(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, struct holder *h)
{
	struct gl_rbuf r;
	uint32_t n;

	if (kl != 30)
		return -GL_ECORRUPT;
	h->session = rdbe64(k + 13);
	h->owner = rdbe64(k + 21);
	h->kind = k[29];
	gl_rbuf_init(&r, v, vl);
	h->pid = gl_get_u32(&r);
	n = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || n > LOCK_MAX_RANGES)
		return -GL_ECORRUPT;
	h->n = (int)n;
	for (uint32_t i = 0; i < n; i++) {
		h->r[i].type = gl_get_u8(&r);
		h->r[i].start = gl_get_u64(&r);
		h->r[i].end = gl_get_u64(&r);
	}
	return gl_rbuf_check(&r) ? -GL_ECORRUPT : 0;
}

static void holder_put(struct op *o, uint32_t vol, uint64_t ino, const struct holder *h)
{
	uint8_t k[32];
	size_t kl = k_lock(k, vol, ino, h->session, h->owner, h->kind);
	struct gl_wbuf b;

	if (h->n == 0) {
		op_del(o, k, kl);
		return;
	}
	gl_wbuf_init(&b);
	gl_put_u32(&b, h->pid);
	gl_put_u32(&b, (uint32_t)h->n);
	for (int i = 0; i < h->n; i++) {
		gl_put_u8(&b, h->r[i].type);
		gl_put_u64(&b, h->r[i].start);
		gl_put_u64(&b, h->r[i].end);
	}
	op_put(o, k, kl, b.p, b.len);
	gl_wbuf_free(&b);
}

/* 1 when the session's expiry has passed (or it never renewed). */
static int session_dead(struct op *o, uint64_t session)
{
	uint8_t k[16], *v = NULL;
	size_t vl = 0;
	int dead = 1;

	if (op_get(o, k, k_session(k, session), &v, &vl) == 0 && vl == 8)
		dead = (int64_t)gl_rd64(v) < o->now;
	free(v);
	return dead;
}

/* The first lock of another live holder of the same kind that conflicts with type over
 * [start, end]; expired sessions' records are dropped on the way (writes only). */
struct scan {
	struct op *o;
	uint64_t session, owner;
	uint8_t kind, type;
	uint64_t start, end;
	int found, rc;
	struct holder h; /* ours, when met */
	int have_ours;
	struct holder other;
	struct range hit;
};

static int scan_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct scan *s = arg;
	struct holder *h = &s->other;

	s->rc = holder_decode(k, kl, v, vl, h);
	if (s->rc)
		return s->rc;
	if (h->session == s->session && h->owner == s->owner && h->kind == s->kind) {
		s->h = *h;
		s->have_ours = 1;
		return 0;
	}
	if (h->kind != s->kind)
		return 0;
	if (s->type == GL_NS_LOCK_UN) /* an unlock: nothing conflicts; the dead still go */
		return session_dead(s->o, h->session) && s->o->wb ? (op_del(s->o, k, kl), 0) : 0;
	if (session_dead(s->o, h->session)) {
		if (s->o->wb)
			op_del(s->o, k, kl);
		return 0;
	}
	for (int i = 0; i < h->n; i++) {
		const struct range *r = &h->r[i];

		if (r->end < s->start || r->start > s->end)
			continue;
		if (r->type == GL_NS_LOCK_WR || s->type == GL_NS_LOCK_WR) {
			s->found = 1;
			s->hit = *r;
			return 1;
		}
	}
	return 0;
}

/* Sets [start, end] of h to type (GL_NS_LOCK_UN removes): POSIX semantics, ranges kept sorted
 * and merged with neighbours of the same type. */
static int holder_set(struct holder *h, uint8_t type, uint64_t start, uint64_t end)
{
	struct range out[LOCK_MAX_RANGES + 4];
	int n = 0, placed = 0;

	for (int i = 0; i < h->n; i++) {
		struct range r = h->r[i];

		if (r.end < start || r.start > end) { /* untouched */
			if (!placed && r.start > end && type != GL_NS_LOCK_UN) {
				out[n++] = (struct range){type, start, end};
				placed = 1;
			}
			if (n > LOCK_MAX_RANGES)
				return -GL_ENOLCK;
			out[n++] = r;
			continue;
		}
		if (r.start < start) /* the piece before */
			out[n++] = (struct range){r.type, r.start, start - 1};
		if (!placed && type != GL_NS_LOCK_UN) {
			out[n++] = (struct range){type, start, end};
			placed = 1;
		}
		if (r.end > end) /* the piece after */
			out[n++] = (struct range){r.type, end + 1, r.end};
		if (n > LOCK_MAX_RANGES)
			return -GL_ENOLCK;
	}
	if (!placed && type != GL_NS_LOCK_UN)
		out[n++] = (struct range){type, start, end};
	/* merge touching neighbours of one type */
	h->n = 0;
	for (int i = 0; i < n; i++) {
		struct range *last = h->n ? &h->r[h->n - 1] : NULL;

		if (last && last->type == out[i].type && last->end != UINT64_MAX &&
		    last->end + 1 == out[i].start) {
			last->end = out[i].end;
			continue;
		}
		if (h->n == LOCK_MAX_RANGES)
			return -GL_ENOLCK;
		h->r[h->n++] = out[i];
	}
	return 0;
}

struct lock_req {
	uint32_t vol;
	uint64_t ino, session, owner;
	uint32_t pid;
	uint8_t kind, type;
	uint64_t start, end;
};

static int lock_req_get(struct op *o, struct gl_rbuf *r, struct lock_req *q)
{
	struct gl_ns_vol v;
	struct inode in;
	int rc;

	q->vol = gl_get_u32(r);
	q->ino = gl_get_u64(r);
	q->session = gl_get_u64(r);
	q->owner = gl_get_u64(r);
	q->pid = gl_get_u32(r);
	q->kind = gl_get_u8(r);
	q->type = gl_get_u8(r);
	q->start = gl_get_u64(r);
	q->end = gl_get_u64(r);
	if (gl_rbuf_check(r))
		return -GL_EPROTO;
	if (q->kind > GL_NS_LOCK_FLOCK || q->type > GL_NS_LOCK_WR || q->start > q->end ||
	    q->session == 0)
		return -GL_EINVAL;
	if ((rc = vol_access(o, q->vol, &v)) || (rc = inode_get(o, q->vol, q->ino, &in)))
		return rc;
	return 0;
}

static void session_renew(struct op *o, uint64_t session, uint32_t ttl_s)
{
	uint8_t k[16], v[8];

	gl_le64(v, (uint64_t)(o->now + (int64_t)ttl_s * 1000000000));
	op_put(o, k, k_session(k, session), v, 8);
}

int ns_lock_apply(struct op *o, uint16_t opc, struct gl_rbuf *r)
{
	uint8_t p[32];
	size_t pl;
	int rc;

	if (opc == GL_NS_SESSION) {
		uint64_t session = gl_get_u64(r);
		uint32_t ttl = gl_get_u32(r);
		uint8_t k[16];

		if (gl_rbuf_check(r))
			return -GL_EPROTO;
		if (session == 0 || ttl > GL_NS_LOCK_TTL_MAX)
			return -GL_EINVAL;
		if (ttl)
			session_renew(o, session, ttl);
		else /* ended: its records go as the files are next locked */
			op_del(o, k, k_session(k, session));
		return 0;
	}

	struct lock_req q;
	struct scan s;

	if ((rc = lock_req_get(o, r, &q)))
		return rc;
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.session = q.session;
	s.owner = q.owner;
	s.kind = q.kind;
	s.type = q.type;
	s.start = q.start;
	s.end = q.end;
	pl = k_prefix(p, 'L', q.vol, q.ino);
	op_scan(o, p, pl, NULL, 0, scan_cb, &s);
	if (s.rc)
		return s.rc;
	if (s.found)
		return -GL_EAGAIN;
	if (!s.have_ours) {
		if (q.type == GL_NS_LOCK_UN)
			return 0;
		memset(&s.h, 0, sizeof(s.h));
		s.h.session = q.session;
		s.h.owner = q.owner;
		s.h.kind = q.kind;
	}
	s.h.pid = q.pid;
	if ((rc = holder_set(&s.h, q.type, q.start, q.end)))
		return rc;
	holder_put(o, q.vol, q.ino, &s.h);
	if (q.type != GL_NS_LOCK_UN)
		session_renew(o, q.session, GL_NS_LOCK_TTL);
	return 0;
}

int ns_lock_read(struct op *o, struct gl_rbuf *r, struct gl_wbuf *reply)
{
	struct lock_req q;
	struct scan s;
	uint8_t p[32];
	size_t pl;
	int rc;

	if ((rc = lock_req_get(o, r, &q)))
		return rc;
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.session = q.session;
	s.owner = q.owner;
	s.kind = q.kind;
	s.type = q.type == GL_NS_LOCK_UN ? GL_NS_LOCK_WR : q.type;
	s.start = q.start;
	s.end = q.end;
	pl = k_prefix(p, 'L', q.vol, q.ino);
	op_scan(o, p, pl, NULL, 0, scan_cb, &s);
	if (s.rc)
		return s.rc;
	gl_put_u8(reply, (uint8_t)s.found);
	if (s.found) {
		gl_put_u8(reply, s.hit.type);
		gl_put_u64(reply, s.hit.start);
		gl_put_u64(reply, s.hit.end);
		gl_put_u32(reply, s.other.pid);
		gl_put_u64(reply, s.other.session);
	}
	return 0;
}

static int drop_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)v;
	(void)vl;
	op_del(arg, k, kl);
	return 0;
}

void ns_lock_forget(struct op *o, uint32_t vol, uint64_t ino)
{
	uint8_t p[32];
	size_t pl = k_prefix(p, 'L', vol, ino);

	op_scan(o, p, pl, NULL, 0, drop_cb, o);
}

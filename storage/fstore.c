/* Fragment store of a data server (contract: storage/fstore.h).
 *
 * Small fragments: RocksDB under DIR/db, synced writes.
 *   key   (37 bytes): u32 pool (big-endian, so keys group by pool), 32 bytes chunk id, u8 index
 *   value: u32 magic 0x47524647 ("GFRG"), u32 len, u32 crc, u64 chunk_len, u64 mtime, then data
 * Large fragments: one file each, DIR/frag/XX/PPPPPPPP-<64 hex chunk id>-II (XX: first byte of
 * the chunk id, P: pool, I: index), written as DIR/tmp/<unique>, fdatasync'ed, renamed, and the
 * directory fsync'ed. File layout (little-endian), version 2 (written since 2026-12-07):
 *   off  0 u32 magic 0x46524647 ("GFRF")   4 u16 version 2   6 u16 header size H (4096)
 *   off  8 u32 len                        12 u32 crc of the whole data
 *   off 16 u64 chunk_len                  24 u64 mtime (seconds)
 *   off 32 u32 block size B (65536)       36 u32 nblk = ceil(len / B)
 *   off 40 u32 CRC32C of the block table (nblk x 4 bytes at 64)
 *   off 44..59 zero                       60 u32 CRC32C of bytes 0..59
 *   off 64 nblk x u32: CRC32C of data block i (bytes [i*B, min((i+1)*B, len)))
 *   then zero up to H; off H data (len bytes, page aligned)
 * The block CRCs let a ranged read verify only the blocks it reads; the whole-data CRC stays
 * for full reads, scrub and repair. A fragment longer than FILE_MAX_BLKS blocks (never: chunks
 * are at most 4 MiB) is written as version 1. Version 1 (still read): H = 64, no block table,
 * bytes 32..59 zero; a ranged read of it reads and verifies the whole data.
 */
#include "storage/fstore.h"

#include "common/buf.h"
#include "common/compiler.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN	      37
#define VAL_MAGIC     0x47524647u
#define VAL_HDR	      28
#define FILE_MAGIC    0x46524647u
#define FILE_HDR      64	  /* the fixed part (and all of a version 1 header) */
#define FILE_V2HDR    4096	  /* header of version 2: fixed part, block table, padding */
#define FILE_BLOCK    (64u << 10) /* bytes per block CRC in the files we write */
#define FILE_MAX_BLKS ((FILE_V2HDR - FILE_HDR) / 4)
_Static_assert(FILE_MAX_BLKS == GL_FSTORE_MAX_BLKS, "storage/fstore.h: gl_ffile.crc");
#define NAME_LEN (8 + 1 + 64 + 1 + 2)

struct gl_fstore {
	char dir[4096];
	rocksdb_t *db;
	rocksdb_options_t *opt;
	rocksdb_writeoptions_t *wsync;
	rocksdb_readoptions_t *ropt;
	_Atomic uint64_t tmp_seq;
	_Atomic uint64_t bytes;
	_Atomic uint64_t count;
	/* Group commit of directory fsyncs: a writer whose rename got ticket t returns once a
	 * sync round that started after it (done >= t) has fsync'ed every dirty directory. */
	pthread_mutex_t dlock;
	pthread_cond_t dcv;
	uint64_t ticket, done;
	int syncing;
	uint8_t dirty[256];
	/* Open fragment files with their checked headers, for reads (fc_get) */
	pthread_mutex_t fclock;
	struct fc_ent *fc;
	uint64_t fcclock, fcgen;
};

static int fsync_dir(const char *path);

/* Makes the rename into frag/XX durable, sharing directory fsyncs with concurrent writers. */
static int dir_commit(struct gl_fstore *s, int xx)
{
	uint64_t mine;
	int rc = 0;

	pthread_mutex_lock(&s->dlock);
	s->dirty[xx] = 1;
	mine = ++s->ticket;
	while (s->done < mine) {
		uint8_t todo[256];
		uint64_t target;

		if (s->syncing) {
			pthread_cond_wait(&s->dcv, &s->dlock);
			continue;
		}
		s->syncing = 1;
		target = s->ticket;
		memcpy(todo, s->dirty, sizeof(todo));
		memset(s->dirty, 0, sizeof(s->dirty));
		pthread_mutex_unlock(&s->dlock);
		for (int i = 0; i < 256; i++) {
			char dir[4200];

			if (!todo[i])
				continue;
			snprintf(dir, sizeof(dir), "%s/frag/%02x", s->dir, i);
			if (fsync_dir(dir))
				rc = -GL_EIO;
		}
		pthread_mutex_lock(&s->dlock);
		s->syncing = 0;
		if (!rc)
			s->done = target;
		else /* nothing of this round is known durable: the next round redoes it */
			for (int i = 0; i < 256; i++)
				s->dirty[i] |= todo[i];
		pthread_cond_broadcast(&s->dcv);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&s->dlock);
	return rc;
}

static void key_encode(const struct gl_fkey *k, uint8_t out[KEY_LEN])
{
	out[0] = (uint8_t)(k->pool >> 24);
	out[1] = (uint8_t)(k->pool >> 16);
	out[2] = (uint8_t)(k->pool >> 8);
	out[3] = (uint8_t)k->pool;
	memcpy(out + 4, k->chunk, GL_CHUNK_ID_LEN);
	out[36] = k->idx;
}

static void key_decode(const uint8_t in[KEY_LEN], struct gl_fkey *k)
{
	k->pool = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	memcpy(k->chunk, in + 4, GL_CHUNK_ID_LEN);
	k->idx = in[36];
}

static void file_name(const struct gl_fkey *k, char out[NAME_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	char *p = out;

	p += sprintf(p, "%08x-", k->pool);
	for (int i = 0; i < GL_CHUNK_ID_LEN; i++) {
		*p++ = hx[k->chunk[i] >> 4];
		*p++ = hx[k->chunk[i] & 15];
	}
	sprintf(p, "-%02x", k->idx);
}

static int hexnib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int name_parse(const char *name, struct gl_fkey *k)
{
	uint32_t pool = 0;
	int idx;

	if (strlen(name) != NAME_LEN || name[8] != '-' || name[73] != '-')
		return -GL_EINVAL;
	for (int i = 0; i < 8; i++) {
		int v = hexnib(name[i]);

		if (v < 0)
			return -GL_EINVAL;
		pool = pool << 4 | (uint32_t)v;
	}
	for (int i = 0; i < GL_CHUNK_ID_LEN; i++) {
		int hi = hexnib(name[9 + 2 * i]), lo = hexnib(name[10 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -GL_EINVAL;
		k->chunk[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hexnib(name[74]) < 0 || hexnib(name[75]) < 0)
		return -GL_EINVAL;
	idx = hexnib(name[74]) << 4 | hexnib(name[75]);
	k->pool = pool;
	k->idx = (uint8_t)idx;
	return 0;
}

static void file_path(const struct gl_fstore *s, const struct gl_fkey *k, char *out, size_t cap)
{
	char name[NAME_LEN + 1];

	file_name(k, name);
	snprintf(out, cap, "%s/frag/%02x/%s", s->dir, k->chunk[0], name);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return gl_from_errno(errno);
	if (fsync(fd))
		rc = gl_from_errno(errno);
	close(fd);
	return rc;
}

static int mkdir_p(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST)
		return gl_from_errno(errno);
	return 0;
}

/* ---- headers ---- */

/* What a file's header says beside the fragment's metadata. */
struct fhdr {
	uint32_t hsize;		 /* where the data starts */
	uint32_t bsize;		 /* bytes per block CRC; 0 for version 1 (no block table) */
	uint32_t nblk;		 /* block CRCs in the table */
	uint8_t raw[FILE_V2HDR]; /* the header as read: the block table at FILE_HDR */
};

static uint32_t nblocks(uint32_t len, uint32_t bsize)
{
	return (uint32_t)(((uint64_t)len + bsize - 1) / bsize);
}

/* Fills h with the header of a file holding data: version 2 with its block table when the table
 * fits, else version 1. Returns the header's size. */
static size_t file_hdr_encode(const struct gl_fmeta *m, const uint8_t *data, uint8_t h[FILE_V2HDR])
{
	uint32_t nblk = nblocks(m->len, FILE_BLOCK);
	int v2 = nblk <= FILE_MAX_BLKS;
	size_t hsize = v2 ? FILE_V2HDR : FILE_HDR;

	memset(h, 0, hsize);
	gl_le32(h, FILE_MAGIC);
	gl_le16(h + 4, v2 ? 2 : 1);
	gl_le16(h + 6, (uint16_t)hsize);
	gl_le32(h + 8, m->len);
	gl_le32(h + 12, m->crc);
	gl_le64(h + 16, m->chunk_len);
	gl_le64(h + 24, m->mtime);
	if (v2) {
		for (uint32_t i = 0; i < nblk; i++) {
			size_t off = (size_t)i * FILE_BLOCK, n = GL_MIN(FILE_BLOCK, m->len - off);

			gl_le32(h + FILE_HDR + 4 * i, gl_crc32c(GL_CRC_INIT, data + off, n));
		}
		gl_le32(h + 32, FILE_BLOCK);
		gl_le32(h + 36, nblk);
		gl_le32(h + 40, gl_crc32c(GL_CRC_INIT, h + FILE_HDR, 4 * (size_t)nblk));
	}
	gl_le32(h + 60, gl_crc32c(GL_CRC_INIT, h, 60));
	return hsize;
}

/* Checks the got bytes read from a file's start as a header (version 1 or 2). */
static int file_hdr_decode(const uint8_t *h, size_t got, struct gl_fmeta *m, struct fhdr *fh)
{
	uint16_t ver, hsize;

	if (got < FILE_HDR || gl_rd32(h) != FILE_MAGIC ||
	    gl_rd32(h + 60) != gl_crc32c(GL_CRC_INIT, h, 60))
		return -GL_ECORRUPT;
	ver = gl_rd16(h + 4);
	hsize = gl_rd16(h + 6);
	m->len = gl_rd32(h + 8);
	m->crc = gl_rd32(h + 12);
	m->chunk_len = gl_rd64(h + 16);
	m->mtime = gl_rd64(h + 24);
	fh->hsize = hsize;
	fh->bsize = 0;
	fh->nblk = 0;
	if (ver == 1)
		return hsize == FILE_HDR ? 0 : -GL_ECORRUPT;
	if (ver > 2) /* an intact header of a newer format: not ours to judge, nor to delete */
		return -GL_EVERSION;
	if (ver != 2 || hsize < FILE_HDR || hsize > got)
		return -GL_ECORRUPT;
	fh->bsize = gl_rd32(h + 32);
	fh->nblk = gl_rd32(h + 36);
	if (fh->bsize < 512 || (fh->bsize & (fh->bsize - 1)) ||
	    fh->nblk != nblocks(m->len, fh->bsize) || fh->nblk > (hsize - FILE_HDR) / 4u ||
	    gl_rd32(h + 40) != gl_crc32c(GL_CRC_INIT, h + FILE_HDR, 4 * (size_t)fh->nblk))
		return -GL_ECORRUPT;
	return 0;
}

static int val_decode(const char *v, size_t vl, struct gl_fmeta *m)
{
	const uint8_t *p = (const uint8_t *)v;

	if (vl < VAL_HDR || gl_rd32(p) != VAL_MAGIC)
		return -GL_ECORRUPT;
	m->len = gl_rd32(p + 4);
	m->crc = gl_rd32(p + 8);
	m->chunk_len = gl_rd64(p + 12);
	m->mtime = gl_rd64(p + 20);
	if (vl != VAL_HDR + (size_t)m->len)
		return -GL_ECORRUPT;
	return 0;
}

/* ---- inline (RocksDB) ---- */

/* 0 found (meta filled; *val kept if val != NULL, caller rocksdb_free's), -GL_ENOENT, other. */
static int db_get(struct gl_fstore *s, const struct gl_fkey *k, struct gl_fmeta *m, char **val,
		  size_t *vlen)
{
	uint8_t key[KEY_LEN];
	char *err = NULL, *v;
	size_t vl;
	int rc;

	key_encode(k, key);
	v = rocksdb_get(s->db, s->ropt, (char *)key, KEY_LEN, &vl, &err);
	if (err) {
		gl_error("fstore: rocksdb get: %s", err);
		rocksdb_free(err);
		return -GL_EIO;
	}
	if (!v)
		return -GL_ENOENT;
	rc = val_decode(v, vl, m);
	if (val && !rc) {
		*val = v;
		*vlen = vl;
	} else {
		rocksdb_free(v);
	}
	return rc;
}

/* ---- file ---- */

/* Opens a file fragment and checks its header (version 2: and block table) and its size. fh
 * (may be NULL) gets the header; *fdp (if fdp) the open file, which the caller closes. */
static int file_stat(struct gl_fstore *s, const struct gl_fkey *k, struct gl_fmeta *m,
		     struct fhdr *fh, int *fdp)
{
	struct fhdr local;
	char path[4200];
	struct stat st;
	ssize_t got;
	int fd, rc;

	if (!fh)
		fh = &local;
	file_path(s, k, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -GL_ENOENT : gl_from_errno(errno);
	got = pread(fd, fh->raw, FILE_V2HDR, 0);
	if (got < 0 || fstat(fd, &st)) {
		rc = -GL_ECORRUPT;
		goto out;
	}
	rc = file_hdr_decode(fh->raw, (size_t)got, m, fh);
	if (!rc && (uint64_t)st.st_size != fh->hsize + (uint64_t)m->len)
		rc = -GL_ECORRUPT;
out:
	if (!rc && fdp)
		*fdp = fd;
	else
		close(fd);
	return rc;
}

/* ---- open files for reads ----
 * A ranged read of 4 KiB costs a data server an open, a header read, an fstat and a close
 * besides the block it reads: FC_N files stay open with their checked headers. A fragment's
 * bytes never change under its key (chunks are immutable); a put or delete of the key drops
 * its entry after the file changed, and a read that opened the file before that does not add
 * it (fcgen). */
#define FC_N 128

struct fc_ent {
	struct gl_fkey key;
	int fd;	  /* -1: a free slot */
	int refs; /* reads using it */
	int live; /* may serve new reads */
	int heap; /* not in the table (full, or raced with a drop): freed by fc_put */
	uint64_t used;
	struct gl_fmeta m;
	struct fhdr fh;
};

static int fkey_eq(const struct gl_fkey *a, const struct gl_fkey *b)
{
	return a->pool == b->pool && a->idx == b->idx && !memcmp(a->chunk, b->chunk, 32);
}

/* The open file of fragment k and its checked header and metadata; release with fc_put. */
static int fc_get(struct gl_fstore *s, const struct gl_fkey *k, struct fc_ent **out)
{
	struct fc_ent *e = NULL, *slot = NULL;
	uint64_t gen;
	int rc;

	pthread_mutex_lock(&s->fclock);
	for (int i = 0; i < FC_N && !e; i++)
		if (s->fc[i].fd >= 0 && s->fc[i].live && fkey_eq(&s->fc[i].key, k))
			e = &s->fc[i];
	if (e) {
		e->refs++;
		e->used = ++s->fcclock;
		pthread_mutex_unlock(&s->fclock);
		*out = e;
		return 0;
	}
	gen = s->fcgen;
	pthread_mutex_unlock(&s->fclock);
	if (!(e = calloc(1, sizeof(*e))))
		return -GL_ENOMEM;
	e->key = *k;
	if ((rc = file_stat(s, k, &e->m, &e->fh, &e->fd))) {
		free(e);
		return rc;
	}
	e->refs = 1;
	e->live = 1;
	e->heap = 1;
	pthread_mutex_lock(&s->fclock);
	for (int i = 0; i < FC_N && s->fcgen == gen;
	     i++) /* a free slot, else the oldest idle one */
		if (s->fc[i].fd < 0 ||
		    (!s->fc[i].refs && (!slot || (slot->fd >= 0 && s->fc[i].used < slot->used))))
			slot = &s->fc[i];
	if (slot) {
		if (slot->fd >= 0)
			close(slot->fd);
		*slot = *e;
		slot->heap = 0;
		slot->used = ++s->fcclock;
		free(e);
		e = slot;
	}
	pthread_mutex_unlock(&s->fclock);
	*out = e;
	return 0;
}

static void fc_put(struct gl_fstore *s, struct fc_ent *e)
{
	if (e->heap) {
		close(e->fd);
		free(e);
		return;
	}
	pthread_mutex_lock(&s->fclock);
	if (!--e->refs && !e->live) {
		close(e->fd);
		e->fd = -1;
	}
	pthread_mutex_unlock(&s->fclock);
}

/* Fragment k's file changed (put, deleted): its entry serves no new read. */
static void fc_drop(struct gl_fstore *s, const struct gl_fkey *k)
{
	pthread_mutex_lock(&s->fclock);
	s->fcgen++;
	for (int i = 0; i < FC_N; i++) {
		struct fc_ent *e = &s->fc[i];

		if (e->fd < 0 || !e->live || !fkey_eq(&e->key, k))
			continue;
		e->live = 0;
		if (!e->refs) {
			close(e->fd);
			e->fd = -1;
		}
	}
	pthread_mutex_unlock(&s->fclock);
}

/* Reads exactly len bytes at off. 0 or -GL_ECORRUPT (short: the file is torn) / -GL_EIO. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -GL_EIO;
		if (r == 0)
			return -GL_ECORRUPT;
		done += (size_t)r;
	}
	return 0;
}

/* Writes iov[0] then iov[1] at offset 0 in calls of at most WRITE_PIECE bytes. A buffered
 * write of a whole 4 MiB fragment in one call has the page cache take large folios, and on a VM
 * whose free memory goes back to the host (free page reporting) filling those cost the data
 * servers 10-15 times the CPU of the same bytes written 128 KiB at a time (docs/performance.md,
 * NBD session 20). */
#define WRITE_PIECE (128u << 10)

static int write_pieces(int fd, const struct iovec iov[2])
{
	size_t total = iov[0].iov_len + iov[1].iov_len, off = 0;

	while (off < total) {
		struct iovec v[2];
		size_t want = GL_MIN((size_t)WRITE_PIECE, total - off), got = 0;
		int n = 0;
		ssize_t w;

		for (int i = 0, at = 0; i < 2 && got < want; at += (int)iov[i].iov_len, i++) {
			size_t b = off + got;

			if (b >= (size_t)at + iov[i].iov_len)
				continue;
			v[n].iov_base = (uint8_t *)iov[i].iov_base + (b - (size_t)at);
			v[n].iov_len = GL_MIN(want - got, (size_t)at + iov[i].iov_len - b);
			got += v[n++].iov_len;
		}
		w = pwritev(fd, v, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return gl_from_errno(errno);
		if (w == 0)
			return -GL_ENOSPC; /* disk full */
		off += (size_t)w;
	}
	return 0;
}

static int file_put(struct gl_fstore *s, const struct gl_fkey *k, const struct gl_fmeta *m,
		    const void *data, size_t len)
{
	char tmp[4200], path[4200];
	uint8_t *h;
	struct iovec iov[2];
	size_t hsize;
	int fd, rc = 0;

	if (!(h = malloc(FILE_V2HDR)))
		return -GL_ENOMEM;
	hsize = file_hdr_encode(m, data, h);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%d.%llu", s->dir, (int)getpid(),
		 (unsigned long long)atomic_fetch_add(&s->tmp_seq, 1));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = gl_from_errno(errno);
		goto out_free;
	}
	iov[0] = (struct iovec){h, hsize};
	iov[1] = (struct iovec){(void *)data, len};
	rc = write_pieces(fd, iov);
	if (!rc && fdatasync(fd))
		rc = gl_from_errno(errno);
	close(fd);
	if (!rc) {
		file_path(s, k, path, sizeof(path));
		if (rename(tmp, path))
			rc = gl_from_errno(errno);
		else
			fc_drop(s, k);
	}
	if (rc) {
		unlink(tmp);
		goto out_free;
	}
	rc = dir_commit(s, k->chunk[0]);
out_free:
	free(h);
	return rc;
}

/* ---- API ---- */

static int count_one(void *arg, const struct gl_fkey *k, const struct gl_fmeta *m)
{
	struct gl_fstore *s = arg;

	(void)k;
	atomic_fetch_add(&s->bytes, m->len);
	atomic_fetch_add(&s->count, 1);
	return 0;
}

int gl_fstore_open(const char *dir, struct gl_fstore **out)
{
	struct gl_fstore *s = calloc(1, sizeof(*s));
	rocksdb_block_based_table_options_t *bb;
	char path[4200], *err = NULL;
	DIR *d;
	int rc;

	if (!s)
		return -GL_ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	pthread_mutex_init(&s->dlock, NULL);
	pthread_cond_init(&s->dcv, NULL);
	pthread_mutex_init(&s->fclock, NULL);
	if (!(s->fc = calloc(FC_N, sizeof(*s->fc)))) {
		pthread_mutex_destroy(&s->fclock);
		pthread_mutex_destroy(&s->dlock);
		pthread_cond_destroy(&s->dcv);
		free(s);
		return -GL_ENOMEM;
	}
	for (int i = 0; i < FC_N; i++)
		s->fc[i].fd = -1;
	rc = mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/frag", dir);
	if (!rc)
		rc = mkdir_p(path);
	for (int i = 0; i < 256 && !rc; i++) {
		snprintf(path, sizeof(path), "%s/frag/%02x", dir, i);
		rc = mkdir_p(path);
	}
	snprintf(path, sizeof(path), "%s/tmp", dir);
	if (!rc)
		rc = mkdir_p(path);
	if (rc)
		goto out_free;
	/* leftovers of writes that never completed */
	d = opendir(path);
	if (d) {
		struct dirent *e;

		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	s->opt = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opt, 1);
	rocksdb_options_increase_parallelism(s->opt, 2);
	rocksdb_options_set_max_open_files(s->opt, 256);
	bb = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_filter_policy(bb, rocksdb_filterpolicy_create_bloom(10));
	rocksdb_options_set_block_based_table_factory(s->opt, bb);
	rocksdb_block_based_options_destroy(bb);
	snprintf(path, sizeof(path), "%s/db", dir);
	s->db = rocksdb_open(s->opt, path, &err);
	if (err) {
		gl_error("fstore: cannot open %s: %s", path, err);
		rocksdb_free(err);
		rc = -GL_EIO;
		goto out_free;
	}
	s->wsync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(s->wsync, 1);
	s->ropt = rocksdb_readoptions_create();
	rc = gl_fstore_iter(s, count_one, s);
	if (rc)
		goto out_free;
	*out = s;
	return 0;
out_free:
	gl_fstore_close(s);
	return rc;
}

void gl_fstore_close(struct gl_fstore *s)
{
	if (!s)
		return;
	for (int i = 0; s->fc && i < FC_N; i++)
		if (s->fc[i].fd >= 0)
			close(s->fc[i].fd);
	free(s->fc);
	pthread_mutex_destroy(&s->fclock);
	if (s->db)
		rocksdb_close(s->db);
	if (s->opt)
		rocksdb_options_destroy(s->opt);
	if (s->wsync)
		rocksdb_writeoptions_destroy(s->wsync);
	if (s->ropt)
		rocksdb_readoptions_destroy(s->ropt);
	pthread_mutex_destroy(&s->dlock);
	pthread_cond_destroy(&s->dcv);
	free(s);
}

int gl_fstore_put(struct gl_fstore *s, const struct gl_fkey *key, const struct gl_fmeta *meta,
		  const void *data, size_t len)
{
	struct gl_fmeta m = *meta, old;
	int rc;

	if (m.len != len)
		return -GL_EINVAL;
	if (gl_crc32c(GL_CRC_INIT, data, len) != m.crc)
		return -GL_ECORRUPT;
	m.mtime = (uint64_t)time(NULL);
	if (len < GL_FSTORE_INLINE_MAX) {
		uint8_t k[KEY_LEN], *v;
		char *err = NULL;

		if (db_get(s, key, &old, NULL, NULL) == 0 && old.len == m.len && old.crc == m.crc)
			return 0;
		v = malloc(VAL_HDR + len);
		if (!v)
			return -GL_ENOMEM;
		gl_le32(v, VAL_MAGIC);
		gl_le32(v + 4, m.len);
		gl_le32(v + 8, m.crc);
		gl_le64(v + 12, m.chunk_len);
		gl_le64(v + 20, m.mtime);
		memcpy(v + VAL_HDR, data, len);
		key_encode(key, k);
		rocksdb_put(s->db, s->wsync, (char *)k, KEY_LEN, (char *)v, VAL_HDR + len, &err);
		free(v);
		if (err) {
			gl_error("fstore: rocksdb put: %s", err);
			rocksdb_free(err);
			return -GL_EIO;
		}
	} else {
		if (file_stat(s, key, &old, NULL, NULL) == 0 && old.len == m.len &&
		    old.crc == m.crc)
			return 0;
		rc = file_put(s, key, &m, data, len);
		if (rc)
			return rc;
	}
	atomic_fetch_add(&s->bytes, len);
	atomic_fetch_add(&s->count, 1);
	return 0;
}

/* Checks the CRCs of blocks covering data [a, b) of a version 2 file, read into buf. */
static int check_blocks(const struct fhdr *fh, const uint8_t *buf, uint64_t a, uint64_t b)
{
	for (uint64_t i = a / fh->bsize; i * fh->bsize < b; i++) {
		uint64_t x = i * fh->bsize, y = GL_MIN(x + fh->bsize, b);

		if (gl_crc32c(GL_CRC_INIT, buf + (x - a), (size_t)(y - x)) !=
		    gl_rd32(fh->raw + FILE_HDR + 4 * i))
			return -GL_ECORRUPT;
	}
	return 0;
}

/* Reads data [off, off + len) of a file fragment into a malloc'd *data. A partial read of a
 * version 2 file reads and checks only the blocks covering it; anything else reads and checks
 * the whole data. */
static int file_read(struct gl_fstore *s, const struct gl_fkey *k, struct gl_fmeta *m, uint32_t off,
		     uint32_t len, int whole, uint8_t **data)
{
	const struct fhdr *fh;
	struct fc_ent *e;
	uint64_t a = 0, b;
	uint8_t *buf = NULL;
	int fd, rc, blockwise;

	if ((rc = fc_get(s, k, &e)))
		return rc;
	*m = e->m;
	fh = &e->fh;
	fd = e->fd;
	if (whole) {
		off = 0;
		len = m->len;
	}
	if (off > m->len || len > m->len - off) {
		rc = -GL_ERANGE;
		goto out;
	}
	blockwise = fh->bsize && len < m->len;
	b = m->len;
	if (blockwise) {
		a = len ? off / fh->bsize * fh->bsize : 0;
		b = len ? GL_MIN(((uint64_t)off + len + fh->bsize - 1) / fh->bsize * fh->bsize, b)
			: 0;
	}
	if (!(buf = malloc(b - a ? (size_t)(b - a) : 1))) {
		rc = -GL_ENOMEM;
		goto out;
	}
	rc = pread_full(fd, buf, (size_t)(b - a), fh->hsize + a);
	if (!rc && blockwise)
		rc = check_blocks(fh, buf, a, b);
	else if (!rc && gl_crc32c(GL_CRC_INIT, buf, m->len) != m->crc)
		rc = -GL_ECORRUPT;
	if (!rc && off != a)
		memmove(buf, buf + (off - a), len);
out:
	fc_put(s, e);
	if (rc)
		free(buf);
	else
		*data = buf;
	return rc;
}

/* A whole fragment (whole) or bytes [off, off + len) of it, checked, into a malloc'd *data. */
static int frag_read(struct gl_fstore *s, const struct gl_fkey *key, struct gl_fmeta *meta,
		     uint32_t off, uint32_t len, int whole, uint8_t **data)
{
	uint8_t *buf = NULL;
	char *v;
	size_t vl;
	int rc;

	rc = db_get(s, key, meta, &v, &vl);
	if (rc == -GL_ENOENT)
		return file_read(s, key, meta, off, len, whole, data);
	if (rc)
		return rc;
	if (whole) {
		off = 0;
		len = meta->len;
	}
	if (off > meta->len || len > meta->len - off)
		rc = -GL_ERANGE;
	else if (gl_crc32c(GL_CRC_INIT, v + VAL_HDR, meta->len) != meta->crc)
		rc = -GL_ECORRUPT;
	else if (!(buf = malloc(len ? len : 1)))
		rc = -GL_ENOMEM;
	if (!rc) {
		memcpy(buf, v + VAL_HDR + off, len);
		*data = buf;
	}
	rocksdb_free(v);
	return rc;
}

int gl_fstore_get(struct gl_fstore *s, const struct gl_fkey *key, struct gl_fmeta *meta,
		  uint8_t **data)
{
	return frag_read(s, key, meta, 0, 0, 1, data);
}

int gl_fstore_get_range(struct gl_fstore *s, const struct gl_fkey *key, uint32_t off, uint32_t len,
			struct gl_fmeta *meta, uint8_t **data)
{
	return frag_read(s, key, meta, off, len, 0, data);
}

int gl_fstore_open_file(struct gl_fstore *s, const struct gl_fkey *key, struct gl_fmeta *meta,
			struct gl_ffile *out)
{
	struct fc_ent *e;
	int rc = db_get(s, key, meta, NULL, NULL);

	if (rc != -GL_ENOENT)
		return rc ? rc : -GL_ENOTSUP;
	if ((rc = fc_get(s, key, &e)))
		return rc;
	*meta = e->m;
	if (!e->fh.bsize || e->fh.nblk > GL_FSTORE_MAX_BLKS) {
		rc = -GL_ENOTSUP;
	} else if ((out->fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		rc = gl_from_errno(errno);
	} else {
		out->data_off = e->fh.hsize;
		out->bsize = e->fh.bsize;
		out->nblk = e->fh.nblk;
		for (uint32_t i = 0; i < e->fh.nblk; i++)
			out->crc[i] = gl_rd32(e->fh.raw + FILE_HDR + 4 * i);
	}
	fc_put(s, e);
	return rc;
}

int gl_fstore_stat(struct gl_fstore *s, const struct gl_fkey *key, struct gl_fmeta *meta)
{
	int rc = db_get(s, key, meta, NULL, NULL);

	if (rc != -GL_ENOENT)
		return rc;
	return file_stat(s, key, meta, NULL, NULL);
}

int gl_fstore_del(struct gl_fstore *s, const struct gl_fkey *key)
{
	struct gl_fmeta m;
	char path[4200];
	int rc = -GL_ENOENT, r;

	r = db_get(s, key, &m, NULL, NULL);
	if (r == 0 || r == -GL_ECORRUPT) {
		uint8_t k[KEY_LEN];
		char *err = NULL;

		key_encode(key, k);
		rocksdb_delete(s->db, s->wsync, (char *)k, KEY_LEN, &err);
		if (err) {
			gl_error("fstore: rocksdb delete: %s", err);
			rocksdb_free(err);
			return -GL_EIO;
		}
		if (r == 0) {
			atomic_fetch_sub(&s->bytes, m.len);
			atomic_fetch_sub(&s->count, 1);
		}
		rc = 0;
	}
	r = file_stat(s, key, &m, NULL, NULL);
	file_path(s, key, path, sizeof(path));
	if (unlink(path) == 0) {
		fc_drop(s, key);
		char dir[4200];

		snprintf(dir, sizeof(dir), "%s/frag/%02x", s->dir, key->chunk[0]);
		fsync_dir(dir);
		if (r == 0) {
			atomic_fetch_sub(&s->bytes, m.len);
			atomic_fetch_sub(&s->count, 1);
		}
		rc = 0;
	}
	return rc;
}

int gl_fstore_iter(struct gl_fstore *s, gl_fstore_iter_fn fn, void *arg)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->ropt);
	int rc = 0;

	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !rc; rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		struct gl_fkey key;
		struct gl_fmeta m;

		if (kl != KEY_LEN)
			continue;
		key_decode((const uint8_t *)k, &key);
		if (val_decode(v, vl, &m)) {
			m = (struct gl_fmeta){0};
		}
		rc = fn(arg, &key, &m);
	}
	rocksdb_iter_destroy(it);
	for (int i = 0; i < 256 && !rc; i++) {
		char path[4200];
		struct dirent *e;
		DIR *d;

		snprintf(path, sizeof(path), "%s/frag/%02x", s->dir, i);
		d = opendir(path);
		if (!d)
			continue;
		while (!rc && (e = readdir(d))) {
			struct gl_fkey key;
			struct gl_fmeta m;

			if (e->d_name[0] == '.')
				continue;
			if (name_parse(e->d_name, &key)) {
				gl_warn("fstore: ignoring unknown file %s/%s", path, e->d_name);
				continue;
			}
			if (file_stat(s, &key, &m, NULL, NULL) == -GL_ENOENT)
				continue;
			rc = fn(arg, &key, &m);
		}
		closedir(d);
	}
	return rc;
}

int gl_fstore_usage(struct gl_fstore *s, struct gl_fstore_usage *u)
{
	struct statvfs sv;

	if (statvfs(s->dir, &sv))
		return gl_from_errno(errno);
	u->total = (uint64_t)sv.f_blocks * sv.f_frsize;
	u->avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	u->frag_bytes = atomic_load(&s->bytes);
	u->nfrags = atomic_load(&s->count);
	return 0;
}

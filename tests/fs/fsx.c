/*
 * fsx: random-operation exerciser for one file on a glory FUSE mount (or any file system).
 *
 * Creates or truncates FILE, keeps an in-memory model of its bytes and size, and runs N seeded
 * random operations on it: pread, pwrite, ftruncate (shrink and grow), mmap reads, mmap writes
 * (MAP_SHARED, msync MS_SYNC), fallocate (mode 0, KEEP_SIZE, PUNCH_HOLE), fsync, fdatasync,
 * O_APPEND writes through a second descriptor, and close+reopen. Offsets and lengths lean towards
 * 4 KiB and 4 MiB (glory slice) boundaries, EOF, zero lengths and writes far past EOF.
 * After every op the return value and the fstat size are checked; every --verify-every ops and at
 * the end the whole file is read back and compared with the model. Same seed, same run.
 *
 * Build: gcc -std=gnu11 -O2 -D_GNU_SOURCE -o fsx tests/fs/fsx.c
 * Run:   fsx /mnt/glory/fsx.dat --ops 100000 [--seed S]      (fsx --help lists all options)
 * Exit:  0 every check passed; 1 a data, size or return-value mismatch (the report gives the seed,
 *        the op, the first differing byte and the last ops); 2 an op failed with an errno, or
 *        bad usage. The file is left in place.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KIB	       1024ULL
#define MIB	       (1024ULL * KIB)
#define BLOCK	       (4 * KIB) /* page / fs block */
#define SLICE	       (4 * MIB) /* glory data slice */
#define PAST_EOF_READ  (64 * KIB)
#define PROGRESS_EVERY 10000
#define DUMP_BYTES     16

/* The operations: name, weight (per mille of the enabled total), handler. Reopen is also forced
 * every --reopen-every ops. */
#define FSX_OPS(X)                                                                                 \
	X(READ, "read", 200, op_read)                                                              \
	X(WRITE, "write", 200, op_write)                                                           \
	X(MREAD, "mmap-read", 90, op_mread)                                                        \
	X(MWRITE, "mmap-write", 90, op_mwrite)                                                     \
	X(TRUNC, "truncate", 70, op_trunc)                                                         \
	X(FALLOC, "fallocate", 40, op_falloc)                                                      \
	X(FALLOC_KEEP, "falloc-keep", 30, op_falloc)                                               \
	X(PUNCH, "punch-hole", 50, op_falloc)                                                      \
	X(FSYNC, "fsync", 10, op_sync)                                                             \
	X(FDATASYNC, "fdatasync", 10, op_sync)                                                     \
	X(APPEND, "append", 25, op_append)                                                         \
	X(REOPEN, "reopen", 5, op_reopen)

#define X_ENUM(e, name, w, fn) OP_##e,
#define X_INFO(e, name, w, fn) {name, w},
#define X_FN(e, name, w, fn)   fn,

enum op_type { FSX_OPS(X_ENUM) OP_NR };

static const struct {
	const char *name;
	unsigned weight;
} op_info[OP_NR] = {FSX_OPS(X_INFO)};

struct opts {
	const char *path;
	uint64_t ops, seed, maxlen, maxop, reopen_every, verify_every, log_last;
	bool seed_set, no_mmap, no_falloc, no_punch;
};

struct op_rec {
	uint64_t n;
	enum op_type type;
	uint64_t off, len; /* truncate: off is the new size */
	uint64_t size_before, size_after;
	const char *note;
	bool done;
};

struct fsx {
	struct opts o;
	int fd, afd; /* read-write; write-only O_APPEND */
	uint64_t rng;
	uint8_t *model; /* maxlen + one page; bytes at and past size are always zero */
	uint8_t *buf;	/* bufsz bytes, for reads */
	uint64_t bufsz; /* max(maxop, 1 MiB): verify reads in chunks of this */
	uint64_t size;
	uint64_t n; /* current op, 1-based */
	struct op_rec *ring, *cur;
	uint64_t ring_cap;
	uint64_t count[OP_NR];
	unsigned weight[OP_NR], wsum;
	size_t pg;
	bool verifying;
};

static struct fsx *g_st; /* for the SIGBUS report only */

/* ---- PRNG: splitmix64 to seed, xorshift64* to run; never rand() ---- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct fsx *st)
{
	uint64_t x = st->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(struct fsx *st, uint64_t n)
{
	return n ? rnd(st) % n : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Bytes written by op n: a hash of the op and the 8-byte word of the file offset, odd (never zero,
 * so holes stand out). Whole words are stored at once; any byte order is fine as the model and the
 * file get the same bytes.
 */
static void fill_pattern(uint8_t *p, uint64_t off, uint64_t len, uint64_t n)
{
	const uint64_t odd = 0x0101010101010101ULL, salt = n * 0x9e3779b97f4a7c15ULL;
	uint64_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		p[i] = (uint8_t)(mix64(((off + i) >> 3) + salt) >> ((off + i) & 7) * 8) | 1;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = mix64(((off + i) >> 3) + salt) | odd;

		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)(mix64(((off + i) >> 3) + salt) >> ((off + i) & 7) * 8) | 1;
}

/* ---- reporting ---- */

static void print_rec(const struct op_rec *r)
{
	fprintf(stderr, "  %9" PRIu64 " %-11s", r->n, op_info[r->type].name);
	if (r->type == OP_TRUNC)
		fprintf(stderr, " to 0x%" PRIx64 " (%" PRIu64 ")", r->off, r->off);
	else if (r->type != OP_FSYNC && r->type != OP_FDATASYNC && r->type != OP_REOPEN && !r->note)
		fprintf(stderr, " 0x%09" PRIx64 "..0x%09" PRIx64 " len %" PRIu64, r->off,
			r->off + r->len, r->len);
	if (r->note)
		fprintf(stderr, " [%s]", r->note);
	fprintf(stderr, "  size %" PRIu64 " -> ", r->size_before);
	if (r->done)
		fprintf(stderr, "%" PRIu64 "\n", r->size_after);
	else
		fprintf(stderr, "?\n");
}

static void report_head(struct fsx *st)
{
	fprintf(stderr, "fsx: FAILED at op %" PRIu64 " of %" PRIu64 ", seed %" PRIu64 "\n", st->n,
		st->o.ops, st->o.seed);
	if (st->cur) {
		fprintf(stderr, "fsx: %s\n",
			st->verifying ? "in the whole-file verify after" : "operation:");
		print_rec(st->cur);
	}
}

_Noreturn static void report_end(struct fsx *st, int code)
{
	uint64_t k = min_u64(min_u64(st->o.log_last, st->ring_cap), st->n);

	fprintf(stderr, "fsx: last %" PRIu64 " operations (oldest first):\n", k);
	for (uint64_t i = st->n - k + 1; k && i <= st->n; i++)
		print_rec(&st->ring[(i - 1) % st->ring_cap]);
	fprintf(stderr,
		"fsx: reproduce: fsx %s --seed %" PRIu64 " --ops %" PRIu64 " --maxlen %" PRIu64
		" --maxop %" PRIu64 " --reopen-every %" PRIu64 "%s%s%s\n",
		st->o.path, st->o.seed, st->n, st->o.maxlen, st->o.maxop, st->o.reopen_every,
		st->o.no_mmap ? " --no-mmap" : "", st->o.no_falloc ? " --no-fallocate" : "",
		st->o.no_punch ? " --no-punch" : "");
	exit(code);
}

/* A mismatch: data, size or return value. Exit 1. */
_Noreturn __attribute__((format(printf, 2, 3))) static void fail(struct fsx *st, const char *fmt,
								 ...)
{
	va_list ap;

	report_head(st);
	fprintf(stderr, "fsx: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	report_end(st, 1);
}

/* A call failed with an errno. Exit 2. */
_Noreturn static void fail_errno(struct fsx *st, const char *call)
{
	int e = errno;
	enum op_type t = st->cur ? st->cur->type : OP_NR;

	report_head(st);
	fprintf(stderr, "fsx: %s failed: %s (errno %d)\n", call, strerror(e), e);
	if (e == EOPNOTSUPP && t == OP_PUNCH)
		fprintf(stderr, "fsx: the file system cannot punch holes; run with --no-punch\n");
	else if (e == EOPNOTSUPP && (t == OP_FALLOC || t == OP_FALLOC_KEEP))
		fprintf(stderr, "fsx: the file system lacks this fallocate mode; run with "
				"--no-fallocate\n");
	report_end(st, 2);
}

static void dump_window(const uint8_t *want, const uint8_t *got, uint64_t len, uint64_t first,
			uint64_t file_off)
{
	uint64_t s = first >= DUMP_BYTES / 2 ? first - DUMP_BYTES / 2 : 0;
	uint64_t k;

	if (s + DUMP_BYTES > len)
		s = len >= DUMP_BYTES ? len - DUMP_BYTES : 0;
	k = min_u64(DUMP_BYTES, len - s);
	fprintf(stderr, "  at 0x%09" PRIx64 " expected:", file_off + s);
	for (uint64_t i = s; i < s + k; i++)
		fprintf(stderr, " %02x", want[i]);
	fprintf(stderr, "\n%26s", "got:");
	for (uint64_t i = s; i < s + k; i++)
		fprintf(stderr, " %02x", got[i]);
	fprintf(stderr, "\n%26s", "");
	while (k && want[s + k - 1] == got[s + k - 1])
		k--;
	for (uint64_t i = s; i < s + k; i++)
		fprintf(stderr, "%s", want[i] != got[i] ? " ^^" : "   ");
	fprintf(stderr, "\n");
}

/* After a mismatch: the same range read again through a new descriptor that bypasses the page
 * cache (O_DIRECT), which tells a stale cache from wrong stored bytes. */
static void recheck(struct fsx *st, uint64_t off, uint64_t len)
{
	int fd = open(st->o.path, O_RDONLY | O_DIRECT);
	uint8_t *buf = NULL;
	ssize_t r;

	if (fd < 0 || posix_memalign((void **)&buf, BLOCK, len ? len : 1)) {
		fprintf(stderr, "fsx: cannot read it again with O_DIRECT: %s\n", strerror(errno));
	} else if ((r = pread(fd, buf, len, (off_t)off)) != (ssize_t)len) {
		fprintf(stderr, "fsx: read again with O_DIRECT: %zd of %" PRIu64 " bytes\n", r,
			len);
	} else {
		fprintf(stderr, "fsx: read again with O_DIRECT: %s\n",
			memcmp(buf, st->model + off, len) == 0
			    ? "it matches the model (a stale cache answered the first read)"
			    : "it differs from the model too (the stored bytes are wrong)");
	}
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* Compare got[0..len) with the model at file offset off; report and exit 1 on a difference. */
static void check_bytes(struct fsx *st, uint64_t off, const uint8_t *got, uint64_t len,
			const char *what)
{
	const uint8_t *want = st->model + off;
	uint64_t first = UINT64_MAX, last = 0, ndiff = 0;

	if (len == 0 || memcmp(got, want, len) == 0)
		return;
	for (uint64_t i = 0; i < len; i++) {
		if (got[i] == want[i])
			continue;
		first = min_u64(first, i);
		last = i;
		ndiff++;
	}
	report_head(st);
	fprintf(stderr,
		"fsx: %s: data mismatch in 0x%" PRIx64 "..0x%" PRIx64 ": first differing byte at "
		"file offset %" PRIu64 " (0x%" PRIx64 "), last at 0x%" PRIx64 ", %" PRIu64
		" bytes differ; model size %" PRIu64 "\n",
		what, off, off + len, off + first, off + first, off + last, ndiff, st->size);
	dump_window(want, got, len, first, off);
	recheck(st, off, len);
	report_end(st, 1);
}

static void on_sigbus(int sig)
{
	(void)sig;
	fail(g_st, "SIGBUS touching a mapping: the file is shorter than the model says");
}

/* ---- file handling and checks ---- */

static void open_fds(struct fsx *st, int flags)
{
	st->fd = open(st->o.path, O_RDWR | flags, 0644);
	if (st->fd < 0)
		fail_errno(st, "open O_RDWR");
	st->afd = open(st->o.path, O_WRONLY | O_APPEND);
	if (st->afd < 0)
		fail_errno(st, "open O_WRONLY|O_APPEND");
}

static void check_size(struct fsx *st)
{
	struct stat sb;

	if (fstat(st->fd, &sb) < 0)
		fail_errno(st, "fstat");
	if ((uint64_t)sb.st_size != st->size)
		fail(st, "fstat size %" PRIu64 ", model size %" PRIu64, (uint64_t)sb.st_size,
		     st->size);
}

/* Read the whole file back, then check that a read at EOF returns 0. */
static void verify(struct fsx *st, const char *what)
{
	ssize_t rc;

	st->verifying = true;
	for (uint64_t off = 0; off < st->size; off += st->bufsz) {
		uint64_t n = min_u64(st->bufsz, st->size - off);

		rc = pread(st->fd, st->buf, n, (off_t)off);
		if (rc < 0)
			fail_errno(st, "pread (verify)");
		if ((uint64_t)rc != n)
			fail(st, "%s: short read at 0x%" PRIx64 ": %zd of %" PRIu64 " bytes", what,
			     off, rc, n);
		check_bytes(st, off, st->buf, n, what);
	}
	rc = pread(st->fd, st->buf, 1, (off_t)st->size);
	if (rc < 0)
		fail_errno(st, "pread at EOF (verify)");
	if (rc != 0)
		fail(st, "%s: read at EOF %" PRIu64 " returned %zd, expected 0", what, st->size,
		     rc);
	st->verifying = false;
}

/* ---- generators ---- */

static uint64_t nudge(uint64_t base, int64_t d)
{
	if (d < 0 && base < (uint64_t)-d)
		return 0;
	return base + (uint64_t)d;
}

/*
 * An offset in [0, hi], leaning towards 4 KiB and 4 MiB boundaries, EOF and past EOF. Random
 * positions stay within a slice of EOF so the file size wanders instead of sticking at maxlen;
 * one case in eight jumps anywhere past EOF (a sparse hole).
 */
static uint64_t gen_off(struct fsx *st, uint64_t hi)
{
	uint64_t r = rnd_below(st, 100), v;
	int64_t d = (int64_t)rnd_below(st, 9) - 4;
	uint64_t eof = min_u64(st->size, hi), near = min_u64(hi, st->size + SLICE);

	if (r < 25)
		v = rnd_below(st, near + 1);
	else if (r < 40)
		v = nudge(rnd_below(st, near / BLOCK + 1) * BLOCK, d);
	else if (r < 55)
		v = nudge(rnd_below(st, near / SLICE + 1) * SLICE, d);
	else if (r < 73)
		v = nudge(st->size, d);
	else if (r < 85)
		v = eof + rnd_below(st, hi - eof + 1);
	else if (r < 97)
		v = rnd_below(st, 64);
	else
		v = nudge(hi, d);
	return min_u64(v, hi);
}

/* A length in [min, min(hi, maxop)] for an op at off: zero, tiny, page-ish, crossing a boundary. */
static uint64_t gen_len(struct fsx *st, uint64_t off, uint64_t hi, uint64_t min)
{
	uint64_t r = rnd_below(st, 100), v;

	if (r < 8)
		v = 0;
	else if (r < 28)
		v = 1 + rnd_below(st, 64);
	else if (r < 38)
		v = BLOCK - 3 + rnd_below(st, 7);
	else if (r < 53)
		v = BLOCK - off % BLOCK + rnd_below(st, 64);
	else if (r < 65)
		v = SLICE - off % SLICE + rnd_below(st, BLOCK);
	else
		v = 1 + rnd_below(st, st->o.maxop);
	if (v < min)
		v = min;
	return min_u64(v, min_u64(hi, st->o.maxop));
}

static void set_range(struct fsx *st, uint64_t off, uint64_t len)
{
	st->cur->off = off;
	st->cur->len = len;
}

/* ---- operations ---- */

static void op_read(struct fsx *st)
{
	uint64_t off = gen_off(st, st->size + PAST_EOF_READ);
	uint64_t len = gen_len(st, off, st->o.maxop, 0);
	uint64_t want = off >= st->size ? 0 : min_u64(len, st->size - off);
	ssize_t rc;

	set_range(st, off, len);
	rc = pread(st->fd, st->buf, len, (off_t)off);
	if (rc < 0)
		fail_errno(st, "pread");
	if ((uint64_t)rc != want)
		fail(st, "pread returned %zd, expected %" PRIu64 " (model size %" PRIu64 ")", rc,
		     want, st->size);
	check_bytes(st, off, st->buf, want, "pread");
}

static void write_at(struct fsx *st, int fd, uint64_t off, uint64_t len, const char *call)
{
	ssize_t rc;

	set_range(st, off, len);
	fill_pattern(st->model + off, off, len, st->n);
	if (fd == st->afd)
		rc = write(fd, st->model + off, len);
	else
		rc = pwrite(fd, st->model + off, len, (off_t)off);
	if (rc < 0)
		fail_errno(st, call);
	if ((uint64_t)rc != len)
		fail(st, "short %s: %zd of %" PRIu64 " bytes", call, rc, len);
	if (len && off + len > st->size)
		st->size = off + len;
}

static void op_write(struct fsx *st)
{
	uint64_t off = gen_off(st, st->o.maxlen);

	write_at(st, st->fd, off, gen_len(st, off, st->o.maxlen - off, 0), "pwrite");
}

static void op_append(struct fsx *st)
{
	write_at(st, st->afd, st->size, gen_len(st, st->size, st->o.maxlen - st->size, 0),
		 "write O_APPEND");
}

/* Map the page range holding [off, off+len); with to_eof, up to the end of the page at EOF. */
static uint8_t *map_range(struct fsx *st, uint64_t off, uint64_t len, bool to_eof, int prot,
			  uint64_t *mlen)
{
	uint64_t moff = off - off % st->pg;
	void *p;

	*mlen = off + len - moff;
	if (to_eof)
		*mlen = (*mlen + st->pg - 1) / st->pg * st->pg;
	p = mmap(NULL, *mlen, prot, MAP_SHARED, st->fd, (off_t)moff);
	if (p == MAP_FAILED)
		fail_errno(st, "mmap");
	return (uint8_t *)p + off % st->pg;
}

/* Both mmap ops stay inside the file; mapped writes cannot extend it. */
static bool pick_inside(struct fsx *st, uint64_t *off, uint64_t *len)
{
	if (st->size == 0) {
		st->cur->note = "skipped: empty file";
		return false;
	}
	*off = gen_off(st, st->size - 1);
	*len = gen_len(st, *off, st->size - *off, 1);
	set_range(st, *off, *len);
	return true;
}

static void op_mread(struct fsx *st)
{
	uint64_t off, len, mlen;
	bool to_eof;
	uint8_t *p;

	if (!pick_inside(st, &off, &len))
		return;
	to_eof = off + len == st->size;
	p = map_range(st, off, len, to_eof, PROT_READ, &mlen);
	check_bytes(st, off, p, len, "mmap read");
	if (to_eof) /* the rest of the last page reads as zeros */
		check_bytes(st, st->size, p + len, mlen - (st->size - (off - off % st->pg)),
			    "mmap read of the page tail past EOF");
	if (munmap(p - off % st->pg, mlen) < 0)
		fail_errno(st, "munmap");
}

static void op_mwrite(struct fsx *st)
{
	uint64_t off, len, mlen;
	uint8_t *p, *base;

	if (!pick_inside(st, &off, &len))
		return;
	p = map_range(st, off, len, false, PROT_READ | PROT_WRITE, &mlen);
	base = p - off % st->pg;
	fill_pattern(st->model + off, off, len, st->n);
	memcpy(p, st->model + off, len);
	if (msync(base, mlen, MS_SYNC) < 0)
		fail_errno(st, "msync");
	if (munmap(base, mlen) < 0)
		fail_errno(st, "munmap");
}

/* Half the truncates shrink (a file left alone drifts to maxlen), the rest go anywhere. */
static void op_trunc(struct fsx *st)
{
	uint64_t r = rnd_below(st, 100);
	uint64_t ns = r < 15   ? min_u64(rnd_below(st, 2 * BLOCK), st->o.maxlen)
		      : r < 50 ? rnd_below(st, st->size + 1)
			       : gen_off(st, st->o.maxlen);

	st->cur->off = ns;
	if (ftruncate(st->fd, (off_t)ns) < 0)
		fail_errno(st, "ftruncate");
	if (ns < st->size)
		memset(st->model + ns, 0, st->size - ns);
	st->size = ns;
}

static void op_falloc(struct fsx *st)
{
	bool punch = st->cur->type == OP_PUNCH, keep = st->cur->type != OP_FALLOC;
	int mode = (punch ? FALLOC_FL_PUNCH_HOLE : 0) | (keep ? FALLOC_FL_KEEP_SIZE : 0);
	uint64_t off = gen_off(st, st->o.maxlen - 1);
	uint64_t len = gen_len(st, off, st->o.maxlen - off, 1);

	set_range(st, off, len);
	if (fallocate(st->fd, mode, (off_t)off, (off_t)len) < 0)
		fail_errno(st, punch  ? "fallocate(PUNCH_HOLE|KEEP_SIZE)"
			       : keep ? "fallocate(KEEP_SIZE)"
				      : "fallocate(0)");
	if (mode & FALLOC_FL_PUNCH_HOLE)
		memset(st->model + off, 0, len); /* past size it is zero already */
	else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > st->size)
		st->size = off + len;
}

static void op_sync(struct fsx *st)
{
	if (st->cur->type == OP_FSYNC && fsync(st->fd) < 0)
		fail_errno(st, "fsync");
	if (st->cur->type == OP_FDATASYNC && fdatasync(st->fd) < 0)
		fail_errno(st, "fdatasync");
}

static void op_reopen(struct fsx *st)
{
	if (close(st->afd) < 0)
		fail_errno(st, "close (append fd)");
	if (close(st->fd) < 0)
		fail_errno(st, "close");
	open_fds(st, 0);
}

static void run_op(struct fsx *st, enum op_type t)
{
	static void (*const fn[OP_NR])(struct fsx *) = {FSX_OPS(X_FN)};

	fn[t](st);
}

static enum op_type pick_op(struct fsx *st)
{
	uint64_t r;

	if (st->o.reopen_every && st->n % st->o.reopen_every == 0)
		return OP_REOPEN;
	r = rnd_below(st, st->wsum);
	for (int t = 0; t < OP_NR; t++) {
		if (r < st->weight[t])
			return (enum op_type)t;
		r -= st->weight[t];
	}
	return OP_READ;
}

static void one_op(struct fsx *st)
{
	enum op_type t = pick_op(st);

	st->cur = &st->ring[(st->n - 1) % st->ring_cap];
	*st->cur = (struct op_rec){.n = st->n, .type = t, .size_before = st->size};
	st->count[t]++;
	run_op(st, t);
	st->cur->size_after = st->size;
	st->cur->done = true;
	assert(st->size <= st->o.maxlen); /* the model buffer ends there */
	check_size(st);
	if (st->o.verify_every && st->n % st->o.verify_every == 0)
		verify(st, "periodic verify");
}

/* ---- setup ---- */

static const char usage[] =
    "usage: fsx FILE [options]\n"
    "  --ops N            operations to run (default 100000)\n"
    "  --seed S           PRNG seed (default: from the clock, printed)\n"
    "  --maxlen BYTES     largest file size (default 16M; k/m/g suffixes)\n"
    "  --maxop BYTES      largest single read/write/fallocate (default 1M)\n"
    "  --no-mmap          no mmap reads or writes\n"
    "  --no-fallocate     no fallocate of any mode (implies --no-punch)\n"
    "  --no-punch         no FALLOC_FL_PUNCH_HOLE\n"
    "  --reopen-every N   close and reopen every N ops, 0 = only at random (default 500)\n"
    "  --verify-every N   read the whole file back every N ops, 0 = at the end only (1000)\n"
    "  --log-last N       operations shown on failure (default 64)\n"
    "exit: 0 OK, 1 mismatch, 2 errno failure or bad usage\n";

static int parse_num(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (*end || (v << shift) >> shift != v)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"ops", 1, 0, 'n'},	     {"seed", 1, 0, 's'},	  {"maxlen", 1, 0, 'l'},
	    {"maxop", 1, 0, 'o'},    {"no-mmap", 0, 0, 'M'},	  {"no-fallocate", 0, 0, 'F'},
	    {"no-punch", 0, 0, 'P'}, {"reopen-every", 1, 0, 'r'}, {"verify-every", 1, 0, 'v'},
	    {"log-last", 1, 0, 'L'}, {"help", 0, 0, 'h'},	  {0, 0, 0, 0}};
	uint64_t *num[128] = {
	    ['n'] = &o->ops,	 ['s'] = &o->seed,	   ['l'] = &o->maxlen,
	    ['o'] = &o->maxop,	 ['r'] = &o->reopen_every, ['v'] = &o->verify_every,
	    ['L'] = &o->log_last};
	int c;

	*o = (struct opts){.ops = 100000,
			   .maxlen = 16 * MIB,
			   .maxop = MIB,
			   .reopen_every = 500,
			   .verify_every = 1000,
			   .log_last = 64};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			exit(0);
		}
		if (c > 0 && c < 128 && num[c]) {
			if (parse_num(optarg, num[c]) < 0) {
				fprintf(stderr, "fsx: bad number '%s'\n", optarg);
				exit(2);
			}
			o->seed_set |= c == 's';
		} else if (c == 'M' || c == 'F' || c == 'P') {
			o->no_mmap |= c == 'M';
			o->no_falloc |= c == 'F';
			o->no_punch |= c == 'P' || c == 'F';
		} else {
			fputs(usage, stderr);
			exit(2);
		}
	}
	if (optind != argc - 1 || o->maxlen == 0 || o->maxop == 0) {
		fputs(usage, stderr);
		exit(2);
	}
	o->path = argv[optind];
	o->maxop = min_u64(o->maxop, o->maxlen);
}

static void setup(struct fsx *st)
{
	struct sigaction sa = {.sa_handler = on_sigbus};
	uint64_t s;

	if (!st->o.seed_set)
		st->o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	s = mix64(st->o.seed + 0x9e3779b97f4a7c15ULL);
	st->rng = s ? s : 1;
	st->pg = (size_t)sysconf(_SC_PAGESIZE);
	st->ring_cap = st->o.log_last ? st->o.log_last : 1;
	st->model = calloc(st->o.maxlen + st->pg, 1);
	st->bufsz = st->o.maxop > MIB ? st->o.maxop : MIB;
	st->buf = calloc(st->bufsz, 1);
	st->ring = calloc(st->ring_cap, sizeof(*st->ring));
	if (!st->model || !st->buf || !st->ring) {
		fprintf(stderr, "fsx: out of memory\n");
		exit(2);
	}
	for (int t = 0; t < OP_NR; t++) {
		bool off = (st->o.no_mmap && (t == OP_MREAD || t == OP_MWRITE)) ||
			   (st->o.no_falloc && (t == OP_FALLOC || t == OP_FALLOC_KEEP)) ||
			   (st->o.no_punch && t == OP_PUNCH);
		st->weight[t] = off ? 0 : op_info[t].weight;
		st->wsum += st->weight[t];
	}
	g_st = st;
	sigaction(SIGBUS, &sa, NULL);
	open_fds(st, O_CREAT | O_TRUNC);
}

static void finish(struct fsx *st, double t0)
{
	double el;

	verify(st, "final verify");
	el = now() - t0;
	if (close(st->afd) < 0 || close(st->fd) < 0)
		fail_errno(st, "close");
	fprintf(stderr, "fsx: op mix:");
	for (int t = 0; t < OP_NR; t++)
		fprintf(stderr, " %s %" PRIu64, op_info[t].name, st->count[t]);
	fprintf(stderr, "\nfsx: %.2f s, %.0f ops/s, final size %" PRIu64 "\n", el,
		el > 0 ? (double)st->o.ops / el : 0.0, st->size);
	printf("fsx: %" PRIu64 " operations, seed %" PRIu64 ", OK\n", st->o.ops, st->o.seed);
}

int main(int argc, char **argv)
{
	static struct fsx st;
	double t0, tlast;

	parse_args(&st.o, argc, argv);
	setup(&st);
	printf("fsx: %s, seed %" PRIu64 ", %" PRIu64 " ops, maxlen %" PRIu64 ", maxop %" PRIu64
	       "\n",
	       st.o.path, st.o.seed, st.o.ops, st.o.maxlen, st.o.maxop);
	fflush(stdout);
	t0 = tlast = now();
	for (uint64_t i = 1; i <= st.o.ops; i++) {
		st.n = i;
		one_op(&st);
		if (i % PROGRESS_EVERY == 0) {
			double t = now();

			fprintf(stderr, "fsx: %" PRIu64 " ops, size %" PRIu64 ", %.0f ops/s\n", i,
				st.size, PROGRESS_EVERY / (t - tlast));
			tlast = t;
		}
	}
	finish(&st, t0);
	return 0;
}

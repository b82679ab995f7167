/*
 * posix_suite, file data: open flags and modes, read/write at offsets (sparse, past 4 GiB),
 * truncate, fallocate, copy_file_range and O_APPEND (two fds, two threads).
 */
#include "suite.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

/* ---- group open ---- */

static int ck_open_creat_mode(void)
{
	int fd = open("g", O_CREAT | O_WRONLY, 0777);

	return ps_ok(fd, "open(g, O_CREAT|O_WRONLY, 0777)") || ps_touch("f") ||
	       ps_expect_mode("f", S_IFREG | 0644) || ps_expect_mode("g", S_IFREG | 0755);
}

static int ck_open_trunc(void)
{
	int fd = ps_mkfile("f", 5000, 1) < 0 ? -1 : ps_open("f", O_WRONLY | O_TRUNC);

	return fd < 0 || ps_expect_size(fd, 0, "size after open(O_TRUNC) of a 5000-byte file");
}

static int ck_open_append(void)
{
	int fd = ps_mkfile("f", 100, 1);
	int afd = fd < 0 ? -1 : ps_open("f", O_WRONLY | O_APPEND);
	uint8_t buf[50];

	ps_fill(buf, sizeof(buf), 100, 1);
	return afd < 0 || ps_ok(lseek(afd, 0, SEEK_SET), "lseek(0)") ||
	       ps_eq(write(afd, buf, sizeof(buf)), 50, "write after lseek(0) on an O_APPEND fd") ||
	       ps_eq(lseek(afd, 0, SEEK_CUR), 150, "file offset after the O_APPEND write") ||
	       ps_expect_size(fd, 150, "size after append") ||
	       ps_verify(fd, 0, 150, 1, "file after append (old 100 bytes, then the new 50)");
}

static int ck_open_name_too_long(void)
{
	char name[257];

	memset(name, 'n', 256);
	name[256] = '\0';
	return ps_errno(open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG,
			"open(256-byte name, O_CREAT)") ||
	       ps_errno(open(name, O_RDONLY), ENAMETOOLONG, "open(256-byte name)");
}

static int ck_open_o_direct(void)
{
	struct statfs sfs;
	uint8_t *buf = ps_alloc(4096);
	int fd = open("f", O_CREAT | O_RDWR | O_DIRECT, 0644), e = errno;

	if (fd < 0 && e == EINVAL && statfs(".", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC) {
		snprintf(ps_note, sizeof(ps_note), "tmpfs: O_DIRECT unsupported, EINVAL tolerated");
		return 0;
	}
	errno = e;
	ps_fill(buf, 4096, 0, 4);
	if (ps_ok(fd, "open(O_CREAT|O_RDWR|O_DIRECT)") ||
	    ps_eq(pwrite(fd, buf, 4096, 0), 4096, "aligned 4 KiB O_DIRECT pwrite"))
		return -1;
	memset(buf, 0, 4096);
	return ps_eq(pread(fd, buf, 4096, 0), 4096, "aligned 4 KiB O_DIRECT pread") ||
	       ps_cmp(buf, 0, 4096, 4, "O_DIRECT read back");
}

/* ---- group rw ---- */

static int ck_rw_offsets(void)
{
	static const size_t wlen[] = {1, 4095, 4096, 5000, 1, 30000, 22443}; /* 65636 bytes */
	static const off_t roff[] = {0, 1, 4095, 4096, 4097, 8191, 65535, 65600};
	uint8_t *buf = ps_alloc(30000);
	int fd = ps_mkfile("f", 0, 0);
	off_t off = 0;

	for (size_t i = 0; fd >= 0 && i < GL_ARRAY_SIZE(wlen); off += (off_t)wlen[i++]) {
		ps_fill(buf, wlen[i], off, 2);
		if (ps_eq(write(fd, buf, wlen[i]), (long long)wlen[i], "sequential write"))
			return -1;
	}
	for (size_t i = 0; fd >= 0 && i < GL_ARRAY_SIZE(roff); i++) {
		size_t n = (size_t)GL_MIN(5000, off - roff[i]);

		if (ps_ok(lseek(fd, roff[i], SEEK_SET), "lseek") ||
		    ps_eq(read(fd, buf, n), (long long)n, "read at an offset") ||
		    ps_cmp(buf, roff[i], n, 2, "read back"))
			return -1;
	}
	return fd < 0 || ps_expect_size(fd, off, "size after sequential writes");
}

static int ck_rw_read_eof(void)
{
	uint8_t buf[16];
	int fd = ps_mkfile("f", 100, 1);

	return fd < 0 || ps_ok(lseek(fd, 0, SEEK_END), "lseek(SEEK_END)") ||
	       ps_eq(read(fd, buf, sizeof(buf)), 0, "read at EOF") ||
	       ps_eq(pread(fd, buf, sizeof(buf), 5000), 0, "pread past EOF") ||
	       ps_eq(pread(fd, buf, sizeof(buf), 95), 5, "pread across EOF");
}

static int ck_rw_pread_pwrite(void)
{
	static const off_t offs[] = {0, 1000, 8191, 65536, 3};
	int fd = ps_mkfile("f", 0, 0);

	for (size_t i = 0; fd >= 0 && i < GL_ARRAY_SIZE(offs); i++) {
		if (ps_write_pat(fd, offs[i], 700, 6))
			return -1;
	}
	for (size_t i = 0; fd >= 0 && i < GL_ARRAY_SIZE(offs); i++) {
		if (ps_verify(fd, offs[i], 700, 6, "pread after pwrite"))
			return -1;
	}
	return fd < 0 || ps_verify(fd, 703, 297, PS_ZEROS, "gap between pwrites") ||
	       ps_eq(lseek(fd, 0, SEEK_CUR), 0, "file offset after pread/pwrite");
}

static int ck_rw_big_write(void)
{
	const size_t n = PS_MIB + 3;
	uint8_t *buf = ps_alloc(n);
	int fd = ps_mkfile("f", 0, 0);

	ps_fill(buf, n, 0, 9);
	return fd < 0 || ps_eq(write(fd, buf, n), (long long)n, "one write of 1 MiB + 3") ||
	       ps_expect_size(fd, (off_t)n, "size") ||
	       ps_verify(fd, 0, n, 9, "1 MiB + 3 read back");
}

static int ck_rw_sparse(void)
{
	const off_t off = 10 * PS_MIB;
	struct stat st;
	int fd = ps_mkfile("f", 0, 0);

	if (fd < 0 || ps_write_pat(fd, off, 4096, 5) || ps_ok(fsync(fd), "fsync") ||
	    ps_expect_size(fd, off + 4096, "size after pwrite at 10 MiB") ||
	    ps_verify(fd, off, 4096, 5, "data at 10 MiB") ||
	    ps_verify(fd, 0, (size_t)off, PS_ZEROS, "hole below 10 MiB") ||
	    ps_ok(fstat(fd, &st), "fstat"))
		return -1;
	if (st.st_blocks >= st.st_size / 512)
		return ps_fail("st_blocks: expected < %lld (size/512) for a sparse file, got %lld",
			       (long long)st.st_size / 512, (long long)st.st_blocks);
	return 0;
}

static int ck_rw_offset_5g(void)
{
	const off_t off = 5 * PS_GIB;
	int fd = ps_mkfile("f", 0, 0);

	return fd < 0 || ps_write_pat(fd, off, 4099, 7) ||
	       ps_expect_size(fd, off + 4099, "size after pwrite at 5 GiB") ||
	       ps_verify(fd, off, 4099, 7, "data at 5 GiB") ||
	       ps_verify(fd, off - 8192, 8192, PS_ZEROS, "hole below 5 GiB") ||
	       ps_verify(fd, PS_GIB, 4099, PS_ZEROS, "1 GiB (5 GiB mod 2^32) must stay a hole");
}

/* ---- group trunc ---- */

static int ck_trunc_shrink(void)
{
	int fd = ps_mkfile("f", 8192, 1);

	return fd < 0 || ps_ok(truncate("f", 1000), "truncate(8192 -> 1000)") ||
	       ps_expect_size(fd, 1000, "size after shrink") ||
	       ps_verify(fd, 0, 1000, 1, "data below the cut") ||
	       ps_ok(ftruncate(fd, 8192), "ftruncate(1000 -> 8192)") ||
	       ps_verify(fd, 1000, 7192, PS_ZEROS, "re-extended range (old data must be gone)");
}

static int ck_trunc_grow(void)
{
	int fd = ps_mkfile("f", 100, 1);

	return fd < 0 || ps_ok(ftruncate(fd, 5000), "ftruncate(100 -> 5000)") ||
	       ps_expect_size(fd, 5000, "size after grow") ||
	       ps_verify(fd, 0, 100, 1, "data kept") ||
	       ps_verify(fd, 100, 4900, PS_ZEROS, "grown range");
}

static int ck_trunc_zero(void)
{
	uint8_t b;
	int fd = ps_mkfile("f", 3000, 1);

	return fd < 0 || ps_ok(truncate("f", 0), "truncate(0)") ||
	       ps_expect_size(fd, 0, "size after truncate(0)") ||
	       ps_eq(pread(fd, &b, 1, 0), 0, "pread of an emptied file");
}

static int ck_trunc_rdonly_fd(void)
{
	int fd = ps_mkfile("f", 100, 1) < 0 ? -1 : ps_open("f", O_RDONLY);

	/* POSIX allows EBADF or EINVAL; Linux answers EINVAL (not open for writing). */
	return fd < 0 || ps_errno(ftruncate(fd, 10), EINVAL, "ftruncate on an O_RDONLY fd") ||
	       ps_expect_size(fd, 100, "size after the refused ftruncate");
}

/* ---- group falloc ---- */

static int ck_falloc_grow(void)
{
	int fd = ps_mkfile("f", 0, 0);

	return fd < 0 || ps_ok(fallocate(fd, 0, 0, PS_MIB), "fallocate(mode 0, 0, 1 MiB)") ||
	       ps_expect_size(fd, PS_MIB, "size after fallocate") ||
	       ps_verify(fd, 0, PS_MIB, PS_ZEROS, "fallocated range");
}

static int ck_falloc_keep_size(void)
{
	int fd = ps_mkfile("f", 100, 2);

	return fd < 0 ||
	       ps_ok(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, PS_MIB),
		     "fallocate(KEEP_SIZE, 1 MiB)") ||
	       ps_expect_size(fd, 100, "size after fallocate(KEEP_SIZE)") ||
	       ps_verify(fd, 0, 100, 2, "data after fallocate(KEEP_SIZE)");
}

static int ck_falloc_punch_hole(void)
{
	int fd = ps_mkfile("f", 65536, 3);

	return fd < 0 ||
	       ps_ok(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10000, 20000),
		     "fallocate(PUNCH_HOLE|KEEP_SIZE, 10000, 20000)") ||
	       ps_expect_size(fd, 65536, "size after punching") ||
	       ps_verify(fd, 0, 10000, 3, "data before the hole") ||
	       ps_verify(fd, 10000, 20000, PS_ZEROS, "punched range") ||
	       ps_verify(fd, 30000, 35536, 3, "data after the hole");
}

/* ---- group copy ---- */

/* copy_file_range until len bytes or EOF; returns the total, -1 with ps_msg set on error. */
static long long ps_copy(int in, off_t off_in, int out, off_t off_out, size_t len)
{
	size_t done = 0;
	ssize_t r = 1;

	while (done < len && r > 0) {
		r = copy_file_range(in, &off_in, out, &off_out, len - done, 0);
		done += r > 0 ? (size_t)r : 0;
	}
	return ps_ok(r, "copy_file_range") ? -1 : (long long)done;
}

static int ck_copy_range(void)
{
	const size_t len = 3 * PS_MIB + 17;
	int src = ps_mkfile("src", 1000 + len, 14);
	int dst = src < 0 ? -1 : ps_mkfile("dst", 0, 0);
	uint8_t *buf = ps_alloc(len);

	/* dst offset 5000 + i must hold src offset 1000 + i, the pattern of offset 1000 + i */
	return dst < 0 || ps_eq(ps_copy(src, 1000, dst, 5000, len), (long long)len, "copied") ||
	       ps_expect_size(dst, 5000 + (off_t)len, "destination size") ||
	       ps_verify(dst, 0, 5000, PS_ZEROS, "destination below the copy") ||
	       ps_eq(pread(dst, buf, len, 5000), (long long)len, "destination pread") ||
	       ps_cmp(buf, 1000, len, 14, "copy (offsets shown as the source's)");
}

static int ck_copy_past_eof(void)
{
	int src = ps_mkfile("src", 10000, 15);
	int dst = src < 0 ? -1 : ps_mkfile("dst", 0, 0);
	uint8_t buf[2000];

	return dst < 0 ||
	       ps_eq(ps_copy(src, 8000, dst, 0, 100000), 2000,
		     "bytes copied from offset 8000 of 10000 asking for 100000") ||
	       ps_expect_size(dst, 2000, "destination size") ||
	       ps_eq(pread(dst, buf, sizeof(buf), 0), 2000, "destination pread") ||
	       ps_cmp(buf, 8000, sizeof(buf), 15, "copy (offsets shown as the source's)");
}

/* ---- group append ---- */

static int ck_append_two_fds(void)
{
	int fd = ps_mkfile("f", 0, 0);
	int a = fd < 0 ? -1 : ps_open("f", O_WRONLY | O_APPEND);
	int b = a < 0 ? -1 : ps_open("f", O_WRONLY | O_APPEND);
	uint8_t rec[16];

	for (int i = 0; b >= 0 && i < 20; i++) { /* alternate: every record must land at the end */
		ps_fill(rec, sizeof(rec), i * 16, 3);
		if (ps_eq(write(i % 2 ? b : a, rec, sizeof(rec)), 16, "O_APPEND write"))
			return -1;
	}
	return b < 0 || ps_expect_size(fd, 320, "size after 20 appends") ||
	       ps_verify(fd, 0, 320, 3, "records appended through two fds");
}

#define PS_APPENDS 500
#define PS_REC	   100

/* Appends PS_APPENDS records of PS_REC bytes 'A' + *arg; leaves 0 or an errno in *arg. */
static void *ps_append_thread(void *arg)
{
	int *id_err = arg, fd = open("f", O_WRONLY | O_APPEND);
	char rec[PS_REC];

	memset(rec, 'A' + *id_err, sizeof(rec));
	*id_err = fd < 0 ? errno : 0;
	for (int i = 0; fd >= 0 && !*id_err && i < PS_APPENDS; i++)
		*id_err = write(fd, rec, PS_REC) == PS_REC ? 0 : errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Two threads append through their own fds at once: every record lands whole, none lost. */
static int ck_append_two_threads(void)
{
	const int total = 2 * PS_APPENDS * PS_REC;
	int arg[2] = {0, 1}, count[2] = {0, 0}, started = 0;
	int fd = ps_mkfile("f", 0, 0);
	char *buf = ps_alloc((size_t)total);
	pthread_t t[2];

	while (fd >= 0 && started < 2 &&
	       pthread_create(&t[started], NULL, ps_append_thread, &arg[started]) == 0)
		started++;
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (fd >= 0 && started < 2)
		return ps_fail("pthread_create: only %d of 2 appending threads started", started);
	if (fd >= 0 && (arg[0] || arg[1]))
		return ps_fail("appending thread: %s", ps_etext(arg[0] ? arg[0] : arg[1]));
	if (fd < 0 || ps_expect_size(fd, total, "size after 2 x 500 concurrent appends") ||
	    ps_eq(pread(fd, buf, (size_t)total, 0), total, "pread"))
		return -1;
	for (int r = 0; r < 2 * PS_APPENDS; r++) {
		const char *rec = buf + r * PS_REC;

		if ((rec[0] != 'A' && rec[0] != 'B') || memcmp(rec, rec + 1, PS_REC - 1) != 0)
			return ps_fail("record %d at offset %d is torn", r, r * PS_REC);
		count[rec[0] - 'A']++;
	}
	return ps_eq(count[0], PS_APPENDS, "records of thread A") ||
	       ps_eq(count[1], PS_APPENDS, "records of thread B");
}

/* ---- the files table ---- */

static const struct ps_check ps_files_checks[] = {
    {"open", "creat_mode", ck_open_creat_mode},
    {"open", "trunc", ck_open_trunc},
    {"open", "append", ck_open_append},
    {"open", "name_too_long", ck_open_name_too_long},
    {"open", "o_direct", ck_open_o_direct},
    {"rw", "offsets", ck_rw_offsets},
    {"rw", "read_eof", ck_rw_read_eof},
    {"rw", "pread_pwrite", ck_rw_pread_pwrite},
    {"rw", "big_write", ck_rw_big_write},
    {"rw", "sparse", ck_rw_sparse},
    {"rw", "offset_5g", ck_rw_offset_5g},
    {"trunc", "shrink", ck_trunc_shrink},
    {"trunc", "grow", ck_trunc_grow},
    {"trunc", "zero", ck_trunc_zero},
    {"trunc", "rdonly_fd", ck_trunc_rdonly_fd},
    {"falloc", "grow", ck_falloc_grow},
    {"falloc", "keep_size", ck_falloc_keep_size},
    {"falloc", "punch_hole", ck_falloc_punch_hole},
    {"copy", "range", ck_copy_range},
    {"copy", "past_eof", ck_copy_past_eof},
    {"append", "two_fds", ck_append_two_fds},
    {"append", "two_threads", ck_append_two_threads},
};

/* Run as root. */
static const struct ps_case ps_files_root_cases[] = {
    {"open", "excl_exists", "f", {OP_OPEN, "f", NULL, PS_OEXCL}, EEXIST},
    {"open", "directory_on_file", "f", {OP_OPEN, "f", NULL, O_DIRECTORY}, ENOTDIR},
    {"open", "missing", "", {OP_OPEN, "missing", NULL, O_RDONLY}, ENOENT},
    {"open", "creat_missing_dir", "", {OP_OPEN, "nodir/f", NULL, O_CREAT | O_WRONLY}, ENOENT},
    {"open", "through_file", "f", {OP_OPEN, "f/x", NULL, O_RDONLY}, ENOTDIR},
    {"open", "through_file_creat", "f", {OP_OPEN, "f/x", NULL, O_CREAT | O_WRONLY}, ENOTDIR},
    {"open", "wronly_dir", "d/", {OP_OPEN, "d", NULL, O_WRONLY}, EISDIR},
    {"open", "rdwr_dir", "d/", {OP_OPEN, "d", NULL, O_RDWR}, EISDIR},
    {"trunc", "dir", "d/", {OP_TRUNCATE, "d", NULL, 0}, EISDIR},
};

const struct ps_table ps_files_table = {
    .checks = ps_files_checks,
    .nchecks = GL_ARRAY_SIZE(ps_files_checks),
    .root_cases = ps_files_root_cases,
    .nroot_cases = GL_ARRAY_SIZE(ps_files_root_cases),
};

/*
 * posix_suite, durability and coherence: fsync and fdatasync (files and directories), flock and
 * POSIX record locks against another process, shared mappings against pread/pwrite.
 */
#include "suite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- group sync ---- */

static int ck_sync_fsync(void)
{
	int fd = ps_mkfile("f", 100000, 1);

	return fd < 0 || ps_ok(fsync(fd), "fsync of a written file");
}

static int ck_sync_fdatasync(void)
{
	int fd = ps_mkfile("f", 100000, 1);

	return fd < 0 || ps_ok(fdatasync(fd), "fdatasync of a written file");
}

static int ck_sync_dir(void)
{
	int fd = ps_touch("f") ? -1 : ps_open(".", O_RDONLY | O_DIRECTORY);

	return fd < 0 || ps_ok(fsync(fd), "fsync of a directory fd");
}

/* ---- group lock ---- */

static int ck_lock_flock(void)
{
	int fd1 = ps_mkfile("f", 0, 0);
	int fd2 = fd1 < 0 ? -1 : ps_open("f", O_RDWR);

	return fd2 < 0 || ps_ok(flock(fd1, LOCK_EX), "flock(fd1, LOCK_EX)") ||
	       ps_errno(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK,
			"flock(fd2, LOCK_EX|LOCK_NB) while fd1 holds LOCK_EX") ||
	       ps_ok(flock(fd1, LOCK_UN), "flock(fd1, LOCK_UN)") ||
	       ps_ok(flock(fd2, LOCK_EX | LOCK_NB), "flock(fd2, LOCK_EX|LOCK_NB) after the unlock");
}

static int ps_setlk(int fd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	return fcntl(fd, F_SETLK, &fl);
}

/* Child: write-locks bytes 0-99 through its own open, says 'L', waits, unlocks, says 'U'. */
static void ps_lock_child(int in, int out)
{
	int fd = open("f", O_RDWR);
	char c = fd >= 0 && ps_setlk(fd, F_WRLCK, 0, 100) == 0 ? 'L' : 'E';

	if (write(out, &c, 1) != 1 || c != 'L' || read(in, &c, 1) != 1)
		_exit(1);
	c = ps_setlk(fd, F_UNLCK, 0, 100) == 0 ? 'U' : 'E';
	_exit(write(out, &c, 1) == 1 ? 0 : 1);
}

/* Parent side while the child holds 0-99. */
static int ps_lock_probe(int fd, pid_t child)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 11};

	return ps_errno2(ps_setlk(fd, F_WRLCK, 50, 11), EAGAIN, EACCES,
			 "F_SETLK write 50-60 against the child's lock on 0-99") ||
	       ps_ok(fcntl(fd, F_GETLK, &fl), "F_GETLK 50-60") ||
	       ps_eq(fl.l_type, F_WRLCK, "F_GETLK l_type") ||
	       ps_eq(fl.l_pid, child, "F_GETLK l_pid (the child's)") ||
	       ps_eq(fl.l_start, 0, "F_GETLK l_start") || ps_eq(fl.l_len, 100, "F_GETLK l_len") ||
	       ps_ok(ps_setlk(fd, F_WRLCK, 200, 101), "F_SETLK write 200-300 (no overlap)");
}

static int ck_lock_posix(void)
{
	int to_child[2], to_parent[2], status, rc;
	int fd = ps_mkfile("f", 400, 1);
	pid_t pid;
	char c = 0;

	if (fd < 0 || ps_ok(pipe(to_child), "pipe") || ps_ok(pipe(to_parent), "pipe"))
		return -1;
	fflush(stdout);
	if ((pid = fork()) < 0)
		return ps_ok(-1, "fork");
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		ps_lock_child(to_child[0], to_parent[1]);
	}
	close(to_parent[1]);
	if (read(to_parent[0], &c, 1) != 1 || c != 'L')
		rc = ps_fail("child could not take an F_SETLK write lock on 0-99");
	else
		rc = ps_lock_probe(fd, pid);
	if (c == 'L' &&
	    (write(to_child[1], "u", 1) != 1 || read(to_parent[0], &c, 1) != 1 || c != 'U'))
		rc = rc ? rc : ps_fail("child could not release its lock");
	close(to_child[1]);
	waitpid(pid, &status, 0);
	return rc || ps_ok(ps_setlk(fd, F_WRLCK, 50, 11), "F_SETLK 50-60 after the child released");
}

/* ---- group mmap ---- */

static int ck_mmap_shared_write(void)
{
	const size_t len = 16384;
	int fd = ps_mkfile("f", 0, 0);
	uint8_t *m = fd < 0 || ps_ok(ftruncate(fd, (off_t)len), "ftruncate")
			 ? NULL
			 : ps_map(fd, len, PROT_READ | PROT_WRITE);

	if (!m)
		return -1;
	ps_fill(m, len, 0, 11);
	return ps_ok(msync(m, len, MS_SYNC), "msync") ||
	       ps_verify(fd, 0, len, 11, "pread after writing through MAP_SHARED");
}

static int ck_mmap_pwrite_then_map(void)
{
	const size_t len = 12288 + 5;
	int fd = ps_mkfile("f", len, 12);
	uint8_t *m = fd < 0 ? NULL : ps_map(fd, len, PROT_READ);

	return !m || ps_cmp(m, 0, len, 12, "a fresh mapping of pwritten data");
}

static int ck_mmap_grown(void)
{
	const size_t len = 65536;
	int fd = ps_mkfile("f", 100, 13);
	uint8_t *m = fd < 0 || ps_ok(ftruncate(fd, (off_t)len), "ftruncate(100 -> 64 KiB)")
			 ? NULL
			 : ps_map(fd, len, PROT_READ | PROT_WRITE);

	if (!m || ps_cmp(m, 0, 100, 13, "mapped data") ||
	    ps_cmp(m + 100, 100, len - 100, PS_ZEROS, "mapped grown range"))
		return -1;
	ps_fill(m + 40000, 1000, 40000, 13);
	return ps_ok(msync(m, len, MS_SYNC), "msync") ||
	       ps_verify(fd, 40000, 1000, 13, "pread of bytes stored through the mapping");
}

/* ---- the sync table ---- */

static const struct ps_check ps_sync_checks[] = {
    {"sync", "fsync", ck_sync_fsync},
    {"sync", "fdatasync", ck_sync_fdatasync},
    {"sync", "dir", ck_sync_dir},
    {"lock", "flock", ck_lock_flock},
    {"lock", "posix", ck_lock_posix},
    {"mmap", "shared_write", ck_mmap_shared_write},
    {"mmap", "pwrite_then_map", ck_mmap_pwrite_then_map},
    {"mmap", "grown", ck_mmap_grown},
};

const struct ps_table ps_sync_table = {
    .checks = ps_sync_checks,
    .nchecks = GL_ARRAY_SIZE(ps_sync_checks),
};

/*
 * posix_suite, the name space: rename (and renameat2 flags), hard and symbolic links, unlinking
 * an open file, directories (nlink, readdir, telldir/seekdir, d_type), mknod, long names.
 */
#include "suite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ---- group rename ---- */

static int ck_rename_plain(void)
{
	return ps_mkfile("a", 100, 1) < 0 || ps_ok(rename("a", "b"), "rename(a, b)") ||
	       ps_gone("a") || ps_expect_file("b", 100, 1);
}

static int ck_rename_over_file(void)
{
	struct stat st;
	ino_t ia, ib;
	int fdb = ps_mkfile("b", 200, 2);

	return fdb < 0 || ps_mkfile("a", 100, 1) < 0 || ps_ino("a", &ia) ||
	       ps_ok(rename("a", "b"), "rename(a, existing b)") || ps_ino("b", &ib) ||
	       ps_eq((long long)ib, (long long)ia, "inode of b after the rename (a's)") ||
	       ps_expect_file("b", 100, 1) || ps_gone("a") || ps_ok(fstat(fdb, &st), "fstat") ||
	       ps_eq((long long)st.st_nlink, 0, "st_nlink of the replaced file (still open)");
}

static int ck_rename_dir_over_empty(void)
{
	return ps_setup("a/ d/") || ps_mkfile("a/x", 10, 1) < 0 ||
	       ps_ok(rename("a", "d"), "rename(dir, empty dir)") || ps_gone("a") ||
	       ps_expect_file("d/x", 10, 1);
}

static int ck_rename_dir_over_nonempty(void)
{
	return ps_setup("a/ d/ d/x") ||
	       ps_errno2(rename("a", "d"), ENOTEMPTY, EEXIST, "rename(dir, non-empty dir)");
}

static int ck_rename_noreplace(void)
{
	return ps_mkfile("a", 100, 1) < 0 ||
	       ps_ok(ps_renameat2("a", "c", RENAME_NOREPLACE),
		     "renameat2(a, missing c, RENAME_NOREPLACE)") ||
	       ps_gone("a") || ps_expect_file("c", 100, 1);
}

static int ck_rename_exchange(void)
{
	ino_t ia, ib, ia2, ib2;

	return ps_mkfile("a", 100, 1) < 0 || ps_mkfile("b", 200, 2) < 0 || ps_ino("a", &ia) ||
	       ps_ino("b", &ib) || ps_setup("d/ d/x") ||
	       ps_ok(ps_renameat2("a", "b", RENAME_EXCHANGE), "renameat2(a, b, RENAME_EXCHANGE)") ||
	       ps_ino("a", &ia2) || ps_ino("b", &ib2) ||
	       ps_eq((long long)ia2, (long long)ib, "inode of a after the exchange (b's)") ||
	       ps_eq((long long)ib2, (long long)ia, "inode of b after the exchange (a's)") ||
	       ps_expect_file("a", 200, 2) || ps_expect_file("b", 100, 1) ||
	       ps_ok(ps_renameat2("a", "d", RENAME_EXCHANGE), "renameat2(file, dir, EXCHANGE)") ||
	       ps_expect_file("d", 200, 2) || ps_expect_mode("a", S_IFDIR | 0755) ||
	       ps_expect_file("a/x", 0, 0);
}

static int ck_rename_keeps_ino(void)
{
	ino_t before, after, dbefore, dafter;

	return ps_setup("f d/ e/") || ps_ino("f", &before) ||
	       ps_ok(rename("f", "d/g"), "rename(f, d/g)") || ps_ino("d/g", &after) ||
	       ps_eq((long long)after, (long long)before, "st_ino after a rename into a subdir") ||
	       ps_ino("d", &dbefore) || ps_ok(rename("d", "e/d2"), "rename(d, e/d2)") ||
	       ps_ino("e/d2", &dafter) ||
	       ps_eq((long long)dafter, (long long)dbefore, "st_ino of a renamed directory");
}

/* ---- group link ---- */

static int ck_link_hard(void)
{
	struct stat sa, sb;
	int fd = ps_mkfile("a", 100, 1);

	return fd < 0 || ps_ok(link("a", "b"), "link(a, b)") || ps_lstat("a", &sa) ||
	       ps_lstat("b", &sb) || ps_eq((long long)sa.st_nlink, 2, "st_nlink of a after link") ||
	       ps_eq((long long)sb.st_nlink, 2, "st_nlink of b after link") ||
	       ps_eq((long long)sb.st_ino, (long long)sa.st_ino, "st_ino of b (a's)") ||
	       ps_write_pat(fd, 100, 100, 1) || ps_expect_file("b", 200, 1);
}

static int ck_link_unlink_one(void)
{
	struct stat st;

	return ps_mkfile("a", 100, 1) < 0 || ps_ok(link("a", "b"), "link(a, b)") ||
	       ps_ok(unlink("a"), "unlink(a)") || ps_gone("a") || ps_lstat("b", &st) ||
	       ps_eq((long long)st.st_nlink, 1, "st_nlink of b after unlink(a)") ||
	       ps_expect_file("b", 100, 1);
}

/* ---- group symlink ---- */

static const char ps_target[] = "some/where/target with spaces";

static int ck_symlink_readlink(void)
{
	char buf[256];
	ssize_t n = symlink(ps_target, "l") < 0 ? -1 : readlink("l", buf, sizeof(buf));

	if (ps_ok(n, "symlink + readlink") ||
	    ps_eq(n, (long long)strlen(ps_target), "readlink length (no NUL)"))
		return -1;
	if (memcmp(buf, ps_target, strlen(ps_target)) != 0)
		return ps_fail("readlink: expected \"%s\", got \"%.*s\"", ps_target, (int)n, buf);
	return 0;
}

static int ck_symlink_lstat(void)
{
	struct stat st;

	if (ps_ok(symlink(ps_target, "l"), "symlink") || ps_lstat("l", &st))
		return -1;
	if (!S_ISLNK(st.st_mode))
		return ps_fail("lstat(symlink): expected S_IFLNK, got mode 0%o",
			       (unsigned)st.st_mode);
	return ps_eq(st.st_size, (long long)strlen(ps_target), "lstat size of a symlink");
}

static int ck_symlink_stat_follows(void)
{
	struct stat sf, sl;

	if (ps_mkfile("f", 100, 1) < 0 || ps_setup("l>f") || ps_lstat("f", &sf) ||
	    ps_ok(stat("l", &sl), "stat(l)"))
		return -1;
	if (!S_ISREG(sl.st_mode))
		return ps_fail("stat(symlink to a file): expected S_IFREG, got mode 0%o",
			       (unsigned)sl.st_mode);
	return ps_eq((long long)sl.st_ino, (long long)sf.st_ino, "stat(l).st_ino (the target's)") ||
	       ps_expect_file("l", 100, 1);
}

/* ---- group unlink_open ---- */

static int ck_unlink_open_fd(void)
{
	struct stat st;
	int fd = ps_mkfile("f", 8192, 1);

	return fd < 0 || ps_ok(unlink("f"), "unlink(open file)") || ps_gone("f") ||
	       ps_ok(fstat(fd, &st), "fstat") ||
	       ps_eq((long long)st.st_nlink, 0, "fstat st_nlink after unlink") ||
	       ps_verify(fd, 0, 8192, 1, "read through the fd after unlink") ||
	       ps_write_pat(fd, 8192, 4096, 1) ||
	       ps_verify(fd, 0, 12288, 1, "write and read through the fd after unlink") ||
	       ps_ok(close(fd), "close of the unlinked file");
}

/* ---- group dir ---- */

static int ck_dir_mkdir_mode(void)
{
	return ps_ok(mkdir("d", 0777), "mkdir(d, 0777)") ||
	       ps_ok(mkdir("e", 0700), "mkdir(e, 0700)") || ps_expect_mode("d", S_IFDIR | 0755) ||
	       ps_expect_mode("e", S_IFDIR | 0700);
}

static int ck_dir_nlink(void)
{
	struct stat st;

	return ps_mkdir("d") || ps_lstat("d", &st) ||
	       ps_eq((long long)st.st_nlink, 2, "st_nlink of an empty dir") ||
	       ps_setup("d/a/ d/b/ d/c/ d/f") || ps_lstat("d", &st) ||
	       ps_eq((long long)st.st_nlink, 5, "st_nlink of a dir with 3 subdirs and a file") ||
	       ps_ok(rmdir("d/b"), "rmdir(d/b)") || ps_lstat("d", &st) ||
	       ps_eq((long long)st.st_nlink, 4, "st_nlink after removing a subdir");
}

/* Lists dir and expects exactly names[0..n) (which include "." and ".."), each once, and when
 * types is not NULL, d_type types[i] for names[i] (readdir passes on getdents64's d_type). */
static int ps_expect_listing(const char *dir, const char *const *names, const uint8_t *types, int n)
{
	int *seen = ps_alloc((size_t)n * sizeof(int));
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = d ? 0 : ps_ok(-1, "opendir");

	memset(seen, 0, (size_t)n * sizeof(int));
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		int i = 0;

		while (i < n && strcmp(names[i], e->d_name) != 0)
			i++;
		if (i == n || seen[i]++)
			rc = ps_fail("readdir: \"%s\" %s", e->d_name,
				     i == n ? "was never created" : "listed twice");
		else if (types && e->d_type != types[i])
			rc = ps_fail("readdir: d_type of \"%s\": expected %u, got %u", e->d_name,
				     types[i], e->d_type);
	}
	rc = rc || ps_ok(errno ? -1 : 0, "readdir");
	for (int i = 0; rc == 0 && i < n; i++) {
		if (!seen[i])
			rc = ps_fail("readdir: \"%s\" missing", names[i]);
	}
	if (d)
		closedir(d);
	return rc;
}

static int ck_dir_readdir_names(void)
{
	static const char *const names[] = {".", "..", "file", "dir", "link", "fifo", "a b"};

	return ps_setup("d/ d/file d/dir/ d/link>file d/fifo|") || ps_touch("d/a b") ||
	       ps_expect_listing("d", names, NULL, (int)GL_ARRAY_SIZE(names));
}

static int ck_dir_readdir_1000(void)
{
	const int n = 1002;
	char(*nm)[8] = ps_alloc((size_t)n * 8);
	const char **names = ps_alloc((size_t)n * sizeof(char *));

	names[0] = ".";
	names[1] = "..";
	for (int i = 2; i < n; i++) {
		snprintf(nm[i], sizeof(nm[i]), "e%04d", i - 2);
		names[i] = nm[i];
		if (ps_touch(nm[i]))
			return -1;
	}
	return ps_expect_listing(".", names, NULL, n);
}

/* Reads up to max names from d into idx[] ("." and ".." skipped): k000..k299 exist from the
 * start and map to 0..299, n000..n049 are created later and map to 300..349. Returns how
 * many, -1 on any other name. */
static int ps_seek_read(DIR *d, int *idx, int max)
{
	struct dirent *e;
	int n = 0, v;
	char c;

	while (n < max && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (sscanf(e->d_name, "%c%3d", &c, &v) != 2 || v < 0 ||
		    v >= (c == 'k'   ? 300
			  : c == 'n' ? 50
				     : 0))
			return ps_fail("readdir: unexpected entry \"%s\"", e->d_name);
		idx[n++] = c == 'k' ? v : 300 + v;
	}
	return n;
}

/* Creates or removes the names <prefix><i, 3 digits> for i in [from, to) stepping by step. */
static int ps_names(char prefix, int from, int to, int step, int create)
{
	char name[16];

	for (int i = from; i < to; i += step) {
		snprintf(name, sizeof(name), "%c%03d", prefix, i);
		if (create ? ps_touch(name) : ps_ok(unlink(name), "unlink while reading"))
			return -1;
	}
	return 0;
}

/* Checks the walk after seekdir (idx[0..n)) against the 20 names first read after the cookie
 * and counts every name seen (cnt[] already holds the 100 read before the cookie). */
static int ps_seek_check(const int *first, const int *idx, int n, int *cnt)
{
	for (int i = 0, k = 0; i < 20; i++) {
		if (first[i] % 10 == 0)
			continue; /* removed meanwhile */
		while (k < n && (idx[k] >= 300 || idx[k] % 10 == 0))
			k++; /* new names may come anywhere, removed ones may linger */
		if (k == n || idx[k] != first[i])
			return ps_fail(
			    "after seekdir: expected k%03d next (as before the changes), "
			    "got %s%03d",
			    first[i], k == n ? "the end, " : "k", k == n ? 0 : idx[k]);
		k++;
	}
	for (int i = 0; i < n; i++)
		cnt[idx[i]]++;
	for (int i = 0; i < 350; i++) {
		int changed = i >= 300 || i % 10 == 0;

		if (cnt[i] > 1 || (!changed && cnt[i] != 1))
			return ps_fail("readdir with seekdir: %c%03d seen %d times, expected %s",
				       i >= 300 ? 'n' : 'k', i % 300, cnt[i],
				       changed ? "at most once" : "once");
	}
	return 0;
}

/*
 * Reads 100 of 300 names, takes a telldir cookie, reads 20 more, then removes every tenth
 * original name and adds 50 new ones. After seekdir(cookie) the unchanged names among those
 * 20 must come back first, in order; over the whole walk each unchanged name is seen exactly
 * once, removed or new ones at most once.
 */
static int ck_dir_telldir_seekdir(void)
{
	int cnt[350] = {0}, idx[400], first[20], n, rc;
	DIR *d = ps_names('k', 0, 300, 1, 1) ? NULL : opendir(".");
	long cookie;

	if (!d)
		return ps_msg[0] ? -1 : ps_ok(-1, "opendir");
	if ((n = ps_seek_read(d, idx, 100)) != 100 || (cookie = telldir(d)) < 0 ||
	    ps_seek_read(d, first, 20) != 20) {
		rc = ps_msg[0] ? -1 : ps_fail("readdir: fewer than 120 of 300 names");
		goto out_closedir;
	}
	for (int i = 0; i < 100; i++)
		cnt[idx[i]]++;
	rc = ps_names('k', 0, 300, 10, 0) || ps_names('n', 0, 50, 1, 1);
	if (rc == 0) {
		seekdir(d, cookie);
		n = ps_seek_read(d, idx, 400);
		rc = n < 0 || ps_seek_check(first, idx, n, cnt);
	}
out_closedir:
	closedir(d);
	return rc;
}

static int ck_dir_dtype(void)
{
	static const char *const names[] = {".", "..", "f", "d", "l", "p"};
	static const uint8_t types[] = {DT_DIR, DT_DIR, DT_REG, DT_DIR, DT_LNK, DT_FIFO};

	return ps_setup("f d/ l>f p|") || ps_expect_listing(".", names, types, 6);
}

/* ---- group mknod ---- */

static int ck_mknod_fifo(void)
{
	return ps_ok(mkfifo("p", 0666), "mkfifo(p, 0666)") || ps_expect_mode("p", S_IFIFO | 0644);
}

static int ck_mknod_reg(void)
{
	return ps_ok(mknod("r", S_IFREG | 0640, 0), "mknod(S_IFREG|0640)") ||
	       ps_expect_mode("r", S_IFREG | 0640) || ps_expect_file("r", 0, 0);
}

static int ck_mknod_chr(void)
{
	struct stat st;

	if (mknod("c", S_IFCHR | 0600, makedev(1, 3)) < 0)
		return ps_errno(-1, EPERM, "mknod(S_IFCHR) as root (success or EPERM)");
	return ps_expect_mode("c", S_IFCHR | 0600) || ps_lstat("c", &st) ||
	       ps_eq((long long)st.st_rdev, (long long)makedev(1, 3), "st_rdev of the device node");
}
/* ---- group names ---- */

static int ck_names_max_255(void)
{
	char name[256];
	const char *names[] = {".", "..", name};

	memset(name, 'x', 255);
	name[255] = '\0';
	return ps_mkfile(name, 10, 1) < 0 || ps_expect_file(name, 10, 1) ||
	       ps_expect_listing(".", names, NULL, 3) ||
	       ps_ok(unlink(name), "unlink(255-byte name)");
}

/* ---- the tree table ---- */

static const struct ps_check ps_tree_checks[] = {
    {"rename", "plain", ck_rename_plain},
    {"rename", "over_file", ck_rename_over_file},
    {"rename", "dir_over_empty", ck_rename_dir_over_empty},
    {"rename", "dir_over_nonempty", ck_rename_dir_over_nonempty},
    {"rename", "noreplace", ck_rename_noreplace},
    {"rename", "exchange", ck_rename_exchange},
    {"rename", "keeps_ino", ck_rename_keeps_ino},
    {"link", "hard", ck_link_hard},
    {"link", "unlink_one", ck_link_unlink_one},
    {"symlink", "readlink", ck_symlink_readlink},
    {"symlink", "lstat", ck_symlink_lstat},
    {"symlink", "stat_follows", ck_symlink_stat_follows},
    {"unlink_open", "fd", ck_unlink_open_fd},
    {"dir", "mkdir_mode", ck_dir_mkdir_mode},
    {"dir", "nlink", ck_dir_nlink},
    {"dir", "readdir_names", ck_dir_readdir_names},
    {"dir", "readdir_1000", ck_dir_readdir_1000},
    {"dir", "telldir_seekdir", ck_dir_telldir_seekdir},
    {"dir", "dtype", ck_dir_dtype},
    {"mknod", "fifo", ck_mknod_fifo},
    {"mknod", "reg", ck_mknod_reg},
    {"mknod", "chr", ck_mknod_chr},
    {"names", "max_255", ck_names_max_255},
};

/* Run as root. */
static const struct ps_case ps_tree_root_cases[] = {
    {"rename", "missing", "", {OP_RENAME, "missing", "x", 0}, ENOENT},
    {"rename", "file_over_dir", "f d/", {OP_RENAME, "f", "d", 0}, EISDIR},
    {"rename", "dir_over_file", "f d/", {OP_RENAME, "d", "f", 0}, ENOTDIR},
    {"rename", "into_own_subdir", "d/ d/s/", {OP_RENAME, "d", "d/s/x", 0}, EINVAL},
    {"rename", "noreplace_exists", "a b", {OP_RENAME, "a", "b", RENAME_NOREPLACE}, EEXIST},
    {"rename", "exchange_missing", "a", {OP_RENAME, "a", "missing", RENAME_EXCHANGE}, ENOENT},
    {"link", "dir", "d/", {OP_LINK, "d", "d2", 0}, EPERM},
    {"link", "exists", "a b", {OP_LINK, "a", "b", 0}, EEXIST},
    {"symlink", "dangling", "l>missing", {OP_STAT, "l", NULL, 0}, ENOENT},
    {"symlink", "readlink_file", "f", {OP_READLINK, "f", NULL, 0}, EINVAL},
    {"symlink", "exists", "f", {OP_SYMLINK, "x", "f", 0}, EEXIST},
    {"symlink", "loop", "a>b b>a", {OP_OPEN, "a", NULL, O_RDONLY}, ELOOP},
    {"symlink", "loop_self", "s>s", {OP_OPEN, "s", NULL, O_RDONLY}, ELOOP},
    {"dir", "mkdir_exists", "d/", {OP_MKDIR, "d", NULL, 0}, EEXIST},
    {"dir", "mkdir_over_file", "f", {OP_MKDIR, "f", NULL, 0}, EEXIST},
    {"dir", "rmdir_nonempty", "d/ d/f", {OP_RMDIR, "d", NULL, 0}, ENOTEMPTY},
    {"dir", "rmdir_file", "f", {OP_RMDIR, "f", NULL, 0}, ENOTDIR},
    {"dir", "unlink_dir", "d/", {OP_UNLINK, "d", NULL, 0}, EISDIR},
    {"dir", "rmdir_dot", "d/", {OP_RMDIR, "d/.", NULL, 0}, EINVAL},
};

const struct ps_table ps_tree_table = {
    .checks = ps_tree_checks,
    .nchecks = GL_ARRAY_SIZE(ps_tree_checks),
    .root_cases = ps_tree_root_cases,
    .nroot_cases = GL_ARRAY_SIZE(ps_tree_root_cases),
};

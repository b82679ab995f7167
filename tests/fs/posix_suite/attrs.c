/*
 * posix_suite, metadata and access: mode bits, ownership, timestamps, permission checks as
 * uid 65534, extended attributes and POSIX ACLs, statfs.
 */
#include "suite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ---- group attr ---- */

static int ck_attr_chmod_bits(void)
{
	return ps_setup("f d/") || ps_ok(chmod("f", 07755), "chmod(f, 07755)") ||
	       ps_expect_mode("f", S_IFREG | 07755) || ps_ok(chmod("f", 0400), "chmod(f, 0400)") ||
	       ps_expect_mode("f", S_IFREG | 0400) || ps_ok(chmod("d", 01777), "chmod(d, 01777)") ||
	       ps_expect_mode("d", S_IFDIR | 01777) ||
	       ps_ok(chmod("d", 02750), "chmod(d, 02750)") || ps_expect_mode("d", S_IFDIR | 02750);
}

static int ck_attr_chown_root(void)
{
	struct stat st;

	return ps_touch("f") || ps_ok(chown("f", 1234, 5678), "chown(f, 1234, 5678)") ||
	       ps_lstat("f", &st) || ps_eq(st.st_uid, 1234, "st_uid after chown") ||
	       ps_eq(st.st_gid, 5678, "st_gid after chown") ||
	       ps_ok(chown("f", (uid_t)-1, 42), "chown(f, -1, 42)") || ps_lstat("f", &st) ||
	       ps_eq(st.st_uid, 1234, "st_uid after chown(-1, 42)") ||
	       ps_eq(st.st_gid, 42, "st_gid after chown(-1, 42)");
}

static int ps_ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	return a.tv_nsec < b.tv_nsec ? -1 : a.tv_nsec > b.tv_nsec;
}

static int ps_ts_eq(struct timespec got, struct timespec want, const char *what)
{
	if (ps_ts_cmp(got, want) == 0)
		return 0;
	return ps_fail("%s: expected %lld.%09ld, got %lld.%09ld", what, (long long)want.tv_sec,
		       want.tv_nsec, (long long)got.tv_sec, got.tv_nsec);
}

/* Creates f with atime at and mtime mt; stat must return them exactly. */
static int ps_times_roundtrip(long long at_s, long at_ns, long long mt_s, long mt_ns)
{
	const struct timespec ts[2] = {{(time_t)at_s, at_ns}, {(time_t)mt_s, mt_ns}};
	struct stat st;

	return ps_touch("f") || ps_ok(utimensat(AT_FDCWD, "f", ts, 0), "utimensat") ||
	       ps_lstat("f", &st) || ps_ts_eq(st.st_atim, ts[0], "atime") ||
	       ps_ts_eq(st.st_mtim, ts[1], "mtime");
}

static int ck_attr_utimens_nsec(void)
{
	return ps_times_roundtrip(1000000000, 123456789, 1500000000, 987654321);
}

static int ck_attr_utimens_2100(void)
{
	return ps_times_roundtrip(4102444800LL, 123456789, 4102444801LL, 5); /* 2100-01-01 */
}

static int ck_attr_utimens_pre1970(void)
{
	return ps_times_roundtrip(-1000, 0, -1000, 0);
}

/* Expects t within [lo - 1 s, hi + 1 s]: "now" as the file system took it. */
static int ps_ts_near(struct timespec t, struct timespec lo, struct timespec hi, const char *what)
{
	if (t.tv_sec >= lo.tv_sec - 1 && t.tv_sec <= hi.tv_sec + 1)
		return 0;
	return ps_fail("%s: expected about %lld (now), got %lld.%09ld", what, (long long)lo.tv_sec,
		       (long long)t.tv_sec, t.tv_nsec);
}

static int ck_attr_utimens_now_omit(void)
{
	const struct timespec t1[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	const struct timespec t2[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	const struct timespec old = {1000000000, 0};
	struct timespec lo, hi, mtime;
	struct stat st;

	if (ps_times_roundtrip(old.tv_sec, 0, old.tv_sec, 0))
		return -1;
	clock_gettime(CLOCK_REALTIME, &lo);
	if (ps_ok(utimensat(AT_FDCWD, "f", t1, 0), "utimensat(OMIT, NOW)") || ps_lstat("f", &st))
		return -1;
	clock_gettime(CLOCK_REALTIME, &hi);
	mtime = st.st_mtim;
	return ps_ts_eq(st.st_atim, old, "atime after UTIME_OMIT") ||
	       ps_ts_near(mtime, lo, hi, "mtime after UTIME_NOW") ||
	       ps_ok(utimensat(AT_FDCWD, "f", t2, 0), "utimensat(NOW, OMIT)") ||
	       ps_lstat("f", &st) || ps_ts_near(st.st_atim, lo, hi, "atime after UTIME_NOW") ||
	       ps_ts_eq(st.st_mtim, mtime, "mtime after UTIME_OMIT");
}

/* Sleeps until the clock is 20 ms past t, so a new timestamp is visibly later than t. */
static void ps_wait_past(struct timespec t)
{
	const struct timespec nap = {0, 5000000};
	struct timespec now;

	t.tv_sec += (t.tv_nsec + 20000000) / 1000000000;
	t.tv_nsec = (t.tv_nsec + 20000000) % 1000000000;
	while (clock_gettime(CLOCK_REALTIME, &now) == 0 && ps_ts_cmp(now, t) <= 0)
		nanosleep(&nap, NULL);
}

/* Expects fd's ctime (and mtime, when mtime_too) after what to be later than in s0. */
static int ps_expect_later(int fd, const struct stat *s0, int mtime_too, const char *what)
{
	struct stat s1;

	if (ps_ok(fstat(fd, &s1), "fstat"))
		return -1;
	if (mtime_too && ps_ts_cmp(s1.st_mtim, s0->st_mtim) <= 0)
		return ps_fail("mtime after %s: expected later than %lld.%09ld, got %lld.%09ld",
			       what, (long long)s0->st_mtim.tv_sec, s0->st_mtim.tv_nsec,
			       (long long)s1.st_mtim.tv_sec, s1.st_mtim.tv_nsec);
	if (ps_ts_cmp(s1.st_ctim, s0->st_ctim) <= 0)
		return ps_fail("ctime after %s: expected later than %lld.%09ld, got %lld.%09ld",
			       what, (long long)s0->st_ctim.tv_sec, s0->st_ctim.tv_nsec,
			       (long long)s1.st_ctim.tv_sec, s1.st_ctim.tv_nsec);
	return 0;
}

static int ck_attr_write_times(void)
{
	struct stat s0;
	int fd = ps_mkfile("f", 100, 1);

	if (fd < 0 || ps_ok(fstat(fd, &s0), "fstat"))
		return -1;
	ps_wait_past(s0.st_ctim);
	return ps_write_pat(fd, 50, 100, 1) || ps_expect_later(fd, &s0, 1, "write");
}

static int ck_attr_chmod_ctime(void)
{
	struct stat s0;
	int fd = ps_mkfile("f", 0, 0);

	if (fd < 0 || ps_ok(fstat(fd, &s0), "fstat"))
		return -1;
	ps_wait_past(s0.st_ctim);
	return ps_ok(chmod("f", 0600), "chmod") || ps_expect_later(fd, &s0, 0, "chmod");
}

/* ---- group owner ---- */

static int ck_owner_creator_ids(void)
{
	struct stat st;

	return ps_ok(chmod(".", 0777), "chmod(., 0777)") ||
	       ps_nobody_open("f", O_CREAT | O_WRONLY, 0) || ps_lstat("f", &st) ||
	       ps_eq(st.st_uid, PS_NOBODY, "st_uid of a file created by uid 65534") ||
	       ps_eq(st.st_gid, PS_NOBODY, "st_gid of a file created by gid 65534");
}

static int ck_owner_setgid_dir(void)
{
	struct stat st;

	if (ps_mkdir("d") || ps_ok(chown("d", 0, 4242), "chown(d, 0, 4242)") ||
	    ps_ok(chmod("d", 02775), "chmod(d, 02775)") || ps_setup("d/f d/s/") ||
	    ps_lstat("d/f", &st) ||
	    ps_eq(st.st_gid, 4242, "st_gid of a file created in a setgid dir of gid 4242") ||
	    ps_lstat("d/s", &st) ||
	    ps_eq(st.st_gid, 4242, "st_gid of a subdir created in a setgid dir of gid 4242"))
		return -1;
	if (!(st.st_mode & S_ISGID))
		return ps_fail("subdir of a setgid dir: expected S_ISGID, got mode 0%o",
			       (unsigned)st.st_mode);
	return 0;
}

/* ---- group xattr ---- */

static int ps_getx(const char *path, const char *name, const void *want, size_t len)
{
	char *buf = ps_alloc(len + 16);
	ssize_t n = getxattr(path, name, buf, len + 16);

	if (ps_ok(n, "getxattr") || ps_eq(n, (long long)len, "getxattr length"))
		return -1;
	if (memcmp(buf, want, len) != 0)
		return ps_fail("getxattr(%s): the value differs from what was set", name);
	return 0;
}

static int ck_xattr_set_get(void)
{
	return ps_touch("f") || ps_ok(setxattr("f", "user.a", "hello", 5, 0), "setxattr") ||
	       ps_getx("f", "user.a", "hello", 5);
}

static int ck_xattr_size_query(void)
{
	return ps_setup("f+") || ps_eq(getxattr("f", "user.a", NULL, 0), 5, "getxattr(size 0)");
}

static int ck_xattr_list(void)
{
	char buf[1024];
	ssize_t n;
	int found = 0;

	if (ps_setup("f+") || ps_ok(setxattr("f", "user.bb", "22", 2, 0), "setxattr(user.bb)") ||
	    ps_ok(n = listxattr("f", NULL, 0), "listxattr(size 0)") ||
	    ps_eq(listxattr("f", buf, sizeof(buf)), n, "listxattr length (the size query's)"))
		return -1;
	for (ssize_t p = 0; p < n; p += (ssize_t)strlen(buf + p) + 1)
		found |= (strcmp(buf + p, "user.a") == 0) | (strcmp(buf + p, "user.bb") == 0) << 1;
	return found == 3 ? 0
			  : ps_fail("listxattr: expected user.a and user.bb, found mask %d", found);
}

static int ck_xattr_remove(void)
{
	char buf[8];

	return ps_setup("f+") || ps_ok(removexattr("f", "user.a"), "removexattr") ||
	       ps_errno(getxattr("f", "user.a", buf, sizeof(buf)), ENODATA,
			"getxattr after remove") ||
	       ps_errno(removexattr("f", "user.a"), ENODATA, "removexattr of a removed name");
}

static int ck_xattr_big_value(void)
{
	const size_t max = 65536; /* XATTR_SIZE_MAX */
	uint8_t *v = ps_alloc(max);
	size_t lo = 0, hi = max;
	int e;

	ps_fill(v, max, 0, 8);
	if (ps_touch("f"))
		return -1;
	if (setxattr("f", "user.big", v, max, 0) == 0)
		return ps_getx("f", "user.big", v, max);
	if ((e = errno) != E2BIG && e != ENOSPC)
		return ps_ok(-1, "setxattr(user.big, 64 KiB)");
	while (lo + 1 < hi) { /* the largest accepted size: lo works, hi does not */
		size_t mid = (lo + hi) / 2;

		*(setxattr("f", "user.big", v, mid, 0) == 0 ? &lo : &hi) = mid;
	}
	snprintf(ps_note, sizeof(ps_note), "64 KiB refused with %s; largest accepted %zu bytes",
		 ps_ename(e), lo);
	return lo == 0 ? ps_fail("setxattr(user.big): 64 KiB and 1 byte refused")
		       : ps_ok(setxattr("f", "user.big", v, lo, 0), "setxattr(largest)") ||
			     ps_getx("f", "user.big", v, lo);
}

static int ck_xattr_dir(void)
{
	return ps_mkdir("d") || ps_ok(setxattr("d", "user.d", "dirval", 6, 0), "setxattr(dir)") ||
	       ps_getx("d", "user.d", "dirval", 6);
}

/* system.posix_acl_access value, little-endian: u32 version 2, then per entry u16 tag, u16 perm,
 * u32 id, sorted by tag. Owner rw-, uid 65534 rw-, group ---, mask rw-, other ---. */
static const uint8_t ps_acl[] = {
    2,	  0, 0, 0,			   /* version */
    0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_USER_OBJ rw- */
    0x02, 0, 6, 0, 0xfe, 0xff, 0,    0,	   /* ACL_USER 65534 rw- */
    0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_GROUP_OBJ --- */
    0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_MASK rw- */
    0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_OTHER --- */
};

static int ck_xattr_posix_acl(void)
{
	if (ps_setup("f:0600") || ps_nobody_open("f", O_RDONLY, EACCES))
		return -1;
	if (setxattr("f", "system.posix_acl_access", ps_acl, sizeof(ps_acl), 0) < 0)
		return errno == EOPNOTSUPP ? ps_fail("setxattr(system.posix_acl_access): expected "
						     "success, got EOPNOTSUPP (ACLs must work)")
					   : ps_ok(-1, "setxattr(system.posix_acl_access)");
	return ps_ok(getxattr("f", "system.posix_acl_access", NULL, 0), "getxattr(the ACL)") ||
	       ps_nobody_open("f", O_RDONLY, 0) || ps_nobody_open("f", O_RDWR, 0) ||
	       ps_expect_mode("f", S_IFREG | 0660); /* group bits show the ACL mask */
}

/* A default ACL on a directory: owner rwx, uid 65534 r--, group r-x, mask r-x, other ---. */
static const uint8_t ps_dacl[] = {
    2,	  0, 0, 0,			   /* version */
    0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_USER_OBJ rwx */
    0x02, 0, 4, 0, 0xfe, 0xff, 0,    0,	   /* ACL_USER 65534 r-- */
    0x04, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_GROUP_OBJ r-x */
    0x10, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_MASK r-x */
    0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* ACL_OTHER --- */
};

/* New files take the directory's default ACL (masked by the create mode, the umask ignored);
 * new directories also inherit it as their default. */
static int ck_xattr_default_acl(void)
{
	int fd;

	if (ps_mkdir("d") ||
	    ps_ok(setxattr("d", "system.posix_acl_default", ps_dacl, sizeof(ps_dacl), 0),
		  "setxattr(d, system.posix_acl_default)"))
		return -1;
	fd = open("d/f", O_CREAT | O_WRONLY, 0666);
	if (ps_ok(fd, "create d/f under a default ACL") || ps_ok(close(fd), "close"))
		return -1;
	return ps_expect_mode("d/f", S_IFREG | 0640) || /* owner rw, mask r (r-x & rw-), other - */
	       ps_ok(getxattr("d/f", "system.posix_acl_access", NULL, 0),
		     "getxattr(d/f, system.posix_acl_access): inherited") ||
	       ps_nobody_open("d/f", O_RDONLY, 0) || ps_nobody_open("d/f", O_WRONLY, EACCES) ||
	       ps_mkdir("d/sub") ||
	       ps_ok(getxattr("d/sub", "system.posix_acl_default", NULL, 0),
		     "getxattr(d/sub, system.posix_acl_default): inherited");
}

/* ---- group statfs ---- */

static int ck_statfs_fields(void)
{
	struct statfs s;

	if (ps_ok(statfs(".", &s), "statfs"))
		return -1;
	if (s.f_bsize <= 0 || s.f_blocks < s.f_bfree || s.f_bfree < s.f_bavail || s.f_files == 0 ||
	    s.f_namelen < 255)
		return ps_fail("statfs: expected bsize > 0, blocks >= bfree >= bavail, files > 0, "
			       "namelen >= 255; got bsize %lld blocks %llu bfree %llu bavail %llu "
			       "files %llu namelen %lld",
			       (long long)s.f_bsize, (unsigned long long)s.f_blocks,
			       (unsigned long long)s.f_bfree, (unsigned long long)s.f_bavail,
			       (unsigned long long)s.f_files, (long long)s.f_namelen);
	return 0;
}

/* ---- the attrs table ---- */

static const struct ps_check ps_attrs_checks[] = {
    {"attr", "chmod_bits", ck_attr_chmod_bits},
    {"attr", "chown_root", ck_attr_chown_root},
    {"attr", "utimens_nsec", ck_attr_utimens_nsec},
    {"attr", "utimens_now_omit", ck_attr_utimens_now_omit},
    {"attr", "utimens_2100", ck_attr_utimens_2100},
    {"attr", "utimens_pre1970", ck_attr_utimens_pre1970},
    {"attr", "write_times", ck_attr_write_times},
    {"attr", "chmod_ctime", ck_attr_chmod_ctime},
    {"owner", "creator_ids", ck_owner_creator_ids},
    {"owner", "setgid_dir", ck_owner_setgid_dir},
    {"xattr", "set_get", ck_xattr_set_get},
    {"xattr", "size_query", ck_xattr_size_query},
    {"xattr", "list", ck_xattr_list},
    {"xattr", "remove", ck_xattr_remove},
    {"xattr", "big_value", ck_xattr_big_value},
    {"xattr", "dir", ck_xattr_dir},
    {"xattr", "posix_acl", ck_xattr_posix_acl},
    {"xattr", "default_acl", ck_xattr_default_acl},
    {"statfs", "fields", ck_statfs_fields},
};

/* Run as root. */
static const struct ps_case ps_attrs_root_cases[] = {
    {"perm", "access_root_w", "f:0444", {OP_ACCESS, "f", NULL, W_OK}, 0},
    {"perm", "access_root_x", "f:0644", {OP_ACCESS, "f", NULL, X_OK}, EACCES},
    {"xattr", "erange", "f+", {OP_GETXATTR, "f", "user.a", 2}, ERANGE},
    {"xattr", "get_missing", "f", {OP_GETXATTR, "f", "user.a", 64}, ENODATA},
    {"xattr", "create_exists", "f+", {OP_SETXATTR, "f", "user.a", XATTR_CREATE}, EEXIST},
    {"xattr", "replace_missing", "f", {OP_SETXATTR, "f", "user.a", XATTR_REPLACE}, ENODATA},
    {"xattr", "replace_exists", "f+", {OP_SETXATTR, "f", "user.a", XATTR_REPLACE}, 0},
};

/* Run as uid/gid 65534 against what root created: root would bypass these checks. */
static const struct ps_case ps_attrs_nobody_cases[] = {
    {"attr", "chmod_nonowner", "f", {OP_CHMOD, "f", NULL, 0777}, EPERM},
    {"perm", "write_0644", "f:0644", {OP_OPEN, "f", NULL, O_WRONLY}, EACCES},
    {"perm", "read_0644", "f:0644", {OP_OPEN, "f", NULL, O_RDONLY}, 0},
    {"perm", "read_0600", "f:0600", {OP_OPEN, "f", NULL, O_RDONLY}, EACCES},
    {"perm", "create_0755", "d/", {OP_OPEN, "d/f", NULL, PS_OEXCL}, EACCES},
    {"perm", "create_0777", "d/:0777", {OP_OPEN, "d/f", NULL, PS_OEXCL}, 0},
    {"perm", "search_0700", "d/:0700 d/f", {OP_STAT, "d/f", NULL, 0}, EACCES},
    {"perm", "search_0711", "d/:0711 d/f", {OP_STAT, "d/f", NULL, 0}, 0},
    {"perm", "sticky_unlink", "s/:1777 s/f:0666", {OP_UNLINK, "s/f", NULL, 0}, EPERM},
    {"perm", "sticky_rename", "s/:1777 s/f:0666", {OP_RENAME, "s/f", "s/g", 0}, EPERM},
    {"perm", "access_r", "f:0604", {OP_ACCESS, "f", NULL, R_OK}, 0},
    {"perm", "access_w", "f:0604", {OP_ACCESS, "f", NULL, W_OK}, EACCES},
    {"perm", "access_x", "f:0604", {OP_ACCESS, "f", NULL, X_OK}, EACCES},
    {"perm", "access_x_0705", "f:0705", {OP_ACCESS, "f", NULL, X_OK}, 0},
    {"perm", "access_r_group", "f:0640", {OP_ACCESS, "f", NULL, R_OK}, EACCES},
};

const struct ps_table ps_attrs_table = {
    .checks = ps_attrs_checks,
    .nchecks = GL_ARRAY_SIZE(ps_attrs_checks),
    .root_cases = ps_attrs_root_cases,
    .nroot_cases = GL_ARRAY_SIZE(ps_attrs_root_cases),
    .nobody_cases = ps_attrs_nobody_cases,
    .nnobody_cases = GL_ARRAY_SIZE(ps_attrs_nobody_cases),
};

/*
 * posix_suite: the command line, the runner, and what every check shares: results, the
 * resources of the running check, patterned data, file helpers, setup specs, and calls made
 * as uid/gid 65534 in a child. See suite.h for what the program is and how to run it.
 */
#include "suite.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PS_CHUNK    65536
#define PS_MAX_BUFS 8
#define PS_NO_CHILD 255 /* exit status of a child that could not drop privileges */

enum ps_who { PS_AS_ROOT, PS_AS_NOBODY /* uid/gid 65534, no supplementary groups */ };

char ps_msg[1024];		     /* why the running check failed */
char ps_note[256];		     /* remark printed after "ok" (a tolerated difference) */
static const struct ps_case *ps_cur; /* the row ps_run_case() runs */
static enum ps_who ps_cur_who;	     /* and who runs its call */

/* Buffers and the mapping of the running check; the runner releases them after each check. */
static void *ps_bufs[PS_MAX_BUFS];
static int ps_nbufs;
static void *ps_map_addr;
static size_t ps_map_len;

/* ---- results ---- */

/* Records why the running check failed; returns -1 so a check can return it directly. */
int ps_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ps_msg, sizeof(ps_msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *ps_ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "success";

	return n ? n : "E?";
}

const char *ps_etext(int e)
{
	return e ? strerror(e) : "no error";
}

/* Expects a system call result rc >= 0. */
int ps_ok(long rc, const char *what)
{
	int e = errno;

	if (rc >= 0)
		return 0;
	return ps_fail("%s: expected success, got %s (%s)", what, ps_ename(e), strerror(e));
}

/* Expects rc == -1 with errno want or want2. */
int ps_errno2(long rc, int want, int want2, const char *what)
{
	int e = errno;

	if (rc >= 0 || (e != want && e != want2))
		return ps_fail("%s: expected %s%s%s, got %s (%s)", what, ps_ename(want),
			       want2 != want ? " or " : "", want2 != want ? ps_ename(want2) : "",
			       ps_ename(rc >= 0 ? 0 : e), ps_etext(rc >= 0 ? 0 : e));
	return 0;
}

int ps_errno(long rc, int want, const char *what)
{
	return ps_errno2(rc, want, want, what);
}

/* Expects got == want; a got of -1 where want is not negative is a failed call: say why. */
int ps_eq(long long got, long long want, const char *what)
{
	int e = errno;

	if (got == want)
		return 0;
	if (got == -1 && want >= 0)
		return ps_fail("%s: expected %lld, got -1: %s (%s)", what, want, ps_ename(e),
			       strerror(e));
	return ps_fail("%s: expected %lld, got %lld", what, want, got);
}

/* ---- resources ---- */

/* Returns a 4 KiB aligned buffer owned by the running check (freed by the runner). */
void *ps_alloc(size_t len)
{
	void *p = NULL;

	if (ps_nbufs == PS_MAX_BUFS || posix_memalign(&p, 4096, len ? len : 1)) {
		fprintf(stderr, "posix_suite: out of memory (%zu bytes)\n", len);
		exit(2);
	}
	ps_bufs[ps_nbufs++] = p;
	return p;
}

/* Maps len bytes of fd shared (one mapping per check); the runner unmaps it. NULL with ps_msg
 * set on failure. */
uint8_t *ps_map(int fd, size_t len, int prot)
{
	void *p = ps_map_addr ? MAP_FAILED : mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		ps_ok(-1, "mmap(MAP_SHARED)");
		return NULL;
	}
	ps_map_addr = p;
	ps_map_len = len;
	return p;
}

/* Closes every descriptor from fd_base up and frees the check's buffers and mappings. */
static void ps_release(int fd_base)
{
	if (syscall(SYS_close_range, fd_base, ~0U, 0) < 0) {
		for (int fd = fd_base; fd < 4096; fd++)
			close(fd);
	}
	while (ps_nbufs > 0)
		free(ps_bufs[--ps_nbufs]);
	if (ps_map_addr)
		munmap(ps_map_addr, ps_map_len);
	ps_map_addr = NULL;
}

/* ---- patterned data: the byte at file offset o is (o * 31 + seed) & 0xff ---- */

void ps_fill(uint8_t *buf, size_t len, off_t off, int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = seed == PS_ZEROS ? 0 : (uint8_t)(((off + (off_t)i) * 31 + seed) & 0xff);
}

/* Compares got (file bytes from offset off) with the pattern; reports the first difference. */
int ps_cmp(const uint8_t *got, off_t off, size_t len, int seed, const char *what)
{
	uint8_t want[PS_CHUNK];

	for (size_t done = 0; done < len; done += PS_CHUNK) {
		size_t n = GL_MIN(len - done, (size_t)PS_CHUNK), i = 0;

		ps_fill(want, n, off + (off_t)done, seed);
		if (memcmp(got + done, want, n) == 0)
			continue;
		while (got[done + i] == want[i])
			i++;
		return ps_fail("%s: byte at offset %lld is 0x%02x, expected 0x%02x", what,
			       (long long)(off + (off_t)(done + i)), got[done + i], want[i]);
	}
	return 0;
}

/* Reads len bytes at off (short reads allowed, EOF not) and compares them with the pattern. */
int ps_verify(int fd, off_t off, size_t len, int seed, const char *what)
{
	uint8_t buf[PS_CHUNK];

	for (size_t done = 0; done < len;) {
		off_t at = off + (off_t)done;
		ssize_t r = pread(fd, buf, GL_MIN(len - done, sizeof(buf)), at);

		if (r <= 0)
			return ps_fail("%s: pread at %lld: %s", what, (long long)at,
				       r ? strerror(errno) : "unexpected EOF");
		if (ps_cmp(buf, at, (size_t)r, seed, what))
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* Writes the pattern for [off, off + len); every pwrite must be complete. */
int ps_write_pat(int fd, off_t off, size_t len, int seed)
{
	uint8_t buf[PS_CHUNK];

	for (size_t done = 0; done < len;) {
		size_t n = GL_MIN(len - done, sizeof(buf));
		off_t at = off + (off_t)done;
		ssize_t r;

		ps_fill(buf, n, at, seed);
		r = pwrite(fd, buf, n, at);
		if (r != (ssize_t)n)
			return ps_fail(
			    "pwrite of %zu bytes at %lld: expected all written, got %zd (%s)", n,
			    (long long)at, r, r < 0 ? strerror(errno) : "short");
		done += n;
	}
	return 0;
}

/* ---- files ---- */

static const char *ps_flagstr(int flags)
{
	static const struct {
		int flag;
		const char *name;
	} t[] = {{O_CREAT, "|O_CREAT"},	  {O_EXCL, "|O_EXCL"},		 {O_TRUNC, "|O_TRUNC"},
		 {O_APPEND, "|O_APPEND"}, {O_DIRECTORY, "|O_DIRECTORY"}, {O_DIRECT, "|O_DIRECT"}};
	static char s[128];
	int acc = flags & O_ACCMODE;

	snprintf(s, sizeof(s), "%s",
		 acc == O_RDONLY   ? "O_RDONLY"
		 : acc == O_WRONLY ? "O_WRONLY"
				   : "O_RDWR");
	for (size_t i = 0; i < GL_ARRAY_SIZE(t); i++) {
		if (flags & t[i].flag)
			strncat(s, t[i].name, sizeof(s) - strlen(s) - 1);
	}
	return s;
}

/* open(path, flags, 0644) expected to succeed; -1 with ps_msg set otherwise. */
int ps_open(const char *path, int flags)
{
	int fd = open(path, flags, 0644);
	int e = errno;

	if (fd < 0)
		ps_fail("open(%s, %s): expected success, got %s (%s)", path, ps_flagstr(flags),
			ps_ename(e), strerror(e));
	return fd;
}

/* Creates path (0644 & ~umask) holding len pattern bytes; returns an O_RDWR fd or -1. */
int ps_mkfile(const char *path, size_t len, int seed)
{
	int fd = ps_open(path, O_CREAT | O_EXCL | O_RDWR);

	if (fd >= 0 && ps_write_pat(fd, 0, len, seed))
		return -1;
	return fd;
}

/* Creates an empty file and closes it (for checks that create many). */
int ps_touch(const char *path)
{
	int fd = ps_mkfile(path, 0, 0);

	return fd < 0 || ps_ok(close(fd), "close");
}

int ps_mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0)
		return 0;
	return ps_fail("mkdir(%s): expected success, got %s (%s)", path, ps_ename(errno),
		       strerror(errno));
}

int ps_lstat(const char *path, struct stat *st)
{
	if (lstat(path, st) == 0)
		return 0;
	return ps_fail("lstat(%s): expected success, got %s (%s)", path, ps_ename(errno),
		       strerror(errno));
}

int ps_ino(const char *path, ino_t *ino)
{
	struct stat st;

	if (ps_lstat(path, &st))
		return -1;
	*ino = st.st_ino;
	return 0;
}

int ps_expect_mode(const char *path, mode_t want)
{
	struct stat st;

	if (ps_lstat(path, &st))
		return -1;
	if (st.st_mode == want)
		return 0;
	return ps_fail("mode of %s: expected 0%o, got 0%o", path, (unsigned)want,
		       (unsigned)st.st_mode);
}

int ps_expect_size(int fd, off_t want, const char *what)
{
	struct stat st;

	return ps_ok(fstat(fd, &st), "fstat") || ps_eq(st.st_size, want, what);
}

/* Expects path to hold exactly len pattern bytes. */
int ps_expect_file(const char *path, size_t len, int seed)
{
	int fd = ps_open(path, O_RDONLY);

	return fd < 0 || ps_expect_size(fd, (off_t)len, path) || ps_verify(fd, 0, len, seed, path);
}

int ps_gone(const char *path)
{
	struct stat st;
	char what[320];

	snprintf(what, sizeof(what), "lstat(%s) of a removed name", path);
	return ps_errno(lstat(path, &st), ENOENT, what);
}

int ps_renameat2(const char *from, const char *to, unsigned flags)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

/*
 * Creates what spec names, left to right, separated by spaces: "f" an empty file, "d/" a
 * directory, "l>t" a symlink to t, "p|" a fifo, "f+" a file with user.a = "value"; a ":mode"
 * suffix (octal) chmods the new node. Root creates, so "d/:0700 d/f" works.
 */
int ps_setup(const char *spec)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *mode = strchr(t, ':'), *target = strchr(t, '>');
		char kind = (mode ? mode : t + strlen(t))[-1];
		int rc;

		if (mode)
			*mode++ = '\0';
		if (target)
			*target++ = '\0';
		else if (strchr("/|+", kind))
			t[strlen(t) - 1] = '\0';
		if (target)
			rc = ps_ok(symlink(target, t), "setup: symlink");
		else if (kind == '/')
			rc = ps_mkdir(t);
		else if (kind == '|')
			rc = ps_ok(mkfifo(t, 0644), "setup: mkfifo");
		else
			rc = ps_touch(t) ||
			     (kind == '+' && ps_ok(setxattr(t, "user.a", "value", 5, 0),
						   "setup: setxattr(user.a)"));
		if (rc || (mode && ps_ok(chmod(t, (mode_t)strtol(mode, NULL, 8)), "setup: chmod")))
			return -1;
	}
	return 0;
}

/* ---- calls, also as uid 65534 ---- */

/* Runs c; returns 0 or the errno it ended with. */
static int ps_do(const struct ps_call *c)
{
	char buf[256];
	struct stat st;
	int fd = c->op == OP_OPEN ? open(c->a, c->flags, 0644) : -1;
	long rc = c->op == OP_OPEN	 ? (fd < 0 ? -1 : close(fd))
		  : c->op == OP_STAT	 ? stat(c->a, &st)
		  : c->op == OP_MKDIR	 ? mkdir(c->a, 0755)
		  : c->op == OP_RMDIR	 ? rmdir(c->a)
		  : c->op == OP_UNLINK	 ? unlink(c->a)
		  : c->op == OP_RENAME	 ? ps_renameat2(c->a, c->b, (unsigned)c->flags)
		  : c->op == OP_LINK	 ? link(c->a, c->b)
		  : c->op == OP_SYMLINK	 ? symlink(c->a, c->b)
		  : c->op == OP_READLINK ? readlink(c->a, buf, sizeof(buf))
		  : c->op == OP_TRUNCATE ? truncate(c->a, 0)
		  : c->op == OP_CHMOD	 ? chmod(c->a, (mode_t)c->flags)
		  : c->op == OP_ACCESS	 ? access(c->a, c->flags)
		  : c->op == OP_SETXATTR ? setxattr(c->a, c->b, "v", 1, c->flags)
					 : getxattr(c->a, c->b, buf, (size_t)c->flags);

	return rc < 0 ? errno : 0;
}

/* Describes c for messages, e.g. "open(f, O_WRONLY)". */
static const char *ps_callstr(const struct ps_call *c)
{
	static const char *const names[] = {
	    "open",    "stat",	   "mkdir",    "rmdir", "unlink", "renameat2", "link",
	    "symlink", "readlink", "truncate", "chmod", "access", "setxattr",  "getxattr"};
	static char s[400];
	char extra[64] = "";

	if (c->op == OP_OPEN)
		snprintf(extra, sizeof(extra), ", %s", ps_flagstr(c->flags));
	else if (c->op == OP_ACCESS)
		snprintf(extra, sizeof(extra), ", %s%s%s", c->flags & R_OK ? "R_OK" : "",
			 c->flags & W_OK ? "W_OK" : "", c->flags & X_OK ? "X_OK" : "");
	else if (c->op == OP_CHMOD)
		snprintf(extra, sizeof(extra), ", 0%o", (unsigned)c->flags);
	else if (c->flags)
		snprintf(extra, sizeof(extra), ", %s%d", c->op == OP_GETXATTR ? "size " : "flags ",
			 c->flags);
	snprintf(s, sizeof(s), "%s(%s%s%s%s)", names[c->op], c->a, c->b ? ", " : "",
		 c->b ? c->b : "", extra);
	return s;
}

/* Runs c in a child as uid/gid 65534 with no supplementary groups. Returns the child's result
 * (0 or an errno value), or -1 with ps_msg set when the child could not run. */
static int ps_as_nobody(const struct ps_call *c)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return ps_ok(-1, "fork");
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(PS_NOBODY) || setuid(PS_NOBODY))
			_exit(PS_NO_CHILD);
		_exit(ps_do(c) & 0xff);
	}
	if (waitpid(pid, &status, 0) < 0)
		return ps_ok(-1, "waitpid");
	if (!WIFEXITED(status))
		return ps_fail("unprivileged child died (status 0x%x)", (unsigned)status);
	if (WEXITSTATUS(status) == PS_NO_CHILD)
		return ps_fail("child could not drop to uid/gid %d (run as root)", PS_NOBODY);
	return WEXITSTATUS(status);
}

/* Expects c, run by who, to end with errno want (0: success). */
static int ps_expect_call(enum ps_who who, const struct ps_call *c, int want)
{
	int got = who == PS_AS_NOBODY ? ps_as_nobody(c) : ps_do(c);

	if (got < 0 || got == want)
		return got < 0 ? -1 : 0;
	return ps_fail("%s%s: expected %s, got %s (%s)", ps_callstr(c),
		       who == PS_AS_NOBODY ? " as uid 65534" : "", ps_ename(want), ps_ename(got),
		       ps_etext(got));
}

int ps_nobody_open(const char *path, int flags, int want)
{
	const struct ps_call c = {OP_OPEN, path, NULL, flags};

	return ps_expect_call(PS_AS_NOBODY, &c, want);
}

static int ps_run_case(void)
{
	return ps_setup(ps_cur->setup) || ps_expect_call(ps_cur_who, &ps_cur->call, ps_cur->want);
}

/* ---- runner ---- */

/* The groups in run order (and as --help lists them). */
static const char *const ps_groups[] = {
    "open",	   "rw",   "trunc", "falloc", "rename", "link",	 "symlink",
    "unlink_open", "dir",  "mknod", "attr",   "owner",	"perm",	 "xattr",
    "statfs",	   "sync", "lock",  "mmap",   "copy",	"names", "append"};

/* Where the checks of each group are; a group is in exactly one table. */
static const struct ps_table *const ps_tables[] = {&ps_files_table, &ps_tree_table, &ps_attrs_table,
						   &ps_sync_table};

static int ps_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) == 0)
		return 0;
	return ps_fail("cleanup: remove(%s): %s (%s)", path, ps_ename(errno), strerror(errno));
}

/* Removes path and everything below it. */
static int ps_rmtree(const char *path)
{
	return nftw(path, ps_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0 ? 0 : -1;
}

/* The run: its directory, the lowest descriptor a check may leave open, and the counts. */
struct ps_run {
	char dir[4200];
	int fd_base, passed, failed;
};

/* Runs fn in run->dir/group.name, prints its line, removes the directory, counts the result. */
static void ps_run_one(struct ps_run *run, const char *group, const char *name, int (*fn)(void))
{
	char dir[4400];
	int rc;

	ps_msg[0] = ps_note[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/%s.%s", run->dir, group, name);
	if (mkdir(dir, 0755) < 0 || chdir(dir) < 0)
		rc = ps_fail("setup: %s: %s", dir, strerror(errno));
	else
		rc = fn();
	ps_release(run->fd_base);
	if ((chdir(run->dir) < 0 || ps_rmtree(dir)) && !rc)
		rc = ps_msg[0] ? -1 : ps_fail("cleanup: %s", strerror(errno));
	if (rc)
		printf("FAIL %s.%s: %s\n", group, name, ps_msg[0] ? ps_msg : "(no reason given)");
	else
		printf("ok   %s.%s%s%s%s\n", group, name, ps_note[0] ? " (" : "", ps_note,
		       ps_note[0] ? ")" : "");
	fflush(stdout);
	if (rc)
		run->failed++;
	else
		run->passed++;
}

/* Runs the rows of group g in cases[0..n), each call made by who. */
static void ps_run_cases(struct ps_run *run, const char *g, const struct ps_case *cases, size_t n,
			 enum ps_who who)
{
	for (size_t i = 0; i < n; i++) {
		ps_cur = &cases[i];
		ps_cur_who = who;
		if (strcmp(cases[i].group, g) == 0)
			ps_run_one(run, g, cases[i].name, ps_run_case);
	}
}

/* Runs one group: its function checks, then its rows as root, then its rows as uid 65534. */
static void ps_run_group(struct ps_run *run, const char *g)
{
	for (size_t t = 0; t < GL_ARRAY_SIZE(ps_tables); t++) {
		const struct ps_table *tab = ps_tables[t];

		for (size_t i = 0; i < tab->nchecks; i++) {
			if (strcmp(tab->checks[i].group, g) == 0)
				ps_run_one(run, g, tab->checks[i].name, tab->checks[i].fn);
		}
	}
	for (size_t t = 0; t < GL_ARRAY_SIZE(ps_tables); t++)
		ps_run_cases(run, g, ps_tables[t]->root_cases, ps_tables[t]->nroot_cases,
			     PS_AS_ROOT);
	for (size_t t = 0; t < GL_ARRAY_SIZE(ps_tables); t++)
		ps_run_cases(run, g, ps_tables[t]->nobody_cases, ps_tables[t]->nnobody_cases,
			     PS_AS_NOBODY);
}

/* Is group named in the comma-separated list? */
static int ps_listed(const char *list, const char *group)
{
	size_t n = strlen(group);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, group, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

/* Parses the command line; returns 1 for --help, -1 on a usage error, 0 to run. */
static int ps_args(int argc, char **argv, const char **dir, const char **skip)
{
	size_t names = 0, groups = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
		if (strcmp(argv[i], "--skip") == 0 && i + 1 < argc)
			*skip = argv[++i];
		else if (argv[i][0] != '-' && !*dir)
			*dir = argv[i];
		else
			return -1;
	}
	for (const char *p = *skip; *p; p++)
		names += p == *skip || *p == ',';
	for (size_t i = 0; i < GL_ARRAY_SIZE(ps_groups); i++)
		groups += (size_t)ps_listed(*skip, ps_groups[i]);
	if (groups != names)
		fprintf(stderr, "posix_suite: --skip %s: not a list of distinct groups\n", *skip);
	return *dir && groups == names ? 0 : -1;
}

static void ps_usage(FILE *f)
{
	fprintf(f, "usage: posix_suite DIR [--skip GROUP[,GROUP...]]\n"
		   "Runs POSIX conformance checks in a fresh subdirectory of DIR, as root.\n"
		   "Groups:");
	for (size_t i = 0; i < GL_ARRAY_SIZE(ps_groups); i++)
		fprintf(f, " %s", ps_groups[i]);
	fprintf(f, "\n");
}

int main(int argc, char **argv)
{
	static struct ps_run run;
	const char *dir = NULL, *skip = "";
	char root[4096];
	int rc = ps_args(argc, argv, &dir, &skip);

	if (rc) {
		ps_usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	umask(022);
	if (!realpath(dir, root)) {
		fprintf(stderr, "posix_suite: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	snprintf(run.dir, sizeof(run.dir), "%s/posix_suite.XXXXXX", root);
	if (!mkdtemp(run.dir) || chmod(run.dir, 0755) < 0) {
		fprintf(stderr, "posix_suite: cannot make %s: %s\n", run.dir, strerror(errno));
		return 2;
	}
	if (geteuid() != 0)
		printf("posix_suite: warning: not root, the owner and perm checks will fail\n");
	printf("posix_suite: running in %s\n", run.dir);
	run.fd_base = open("/", O_RDONLY | O_DIRECTORY); /* the lowest free descriptor */
	if (run.fd_base < 0 || close(run.fd_base) < 0)
		run.fd_base = 3;
	for (size_t i = 0; i < GL_ARRAY_SIZE(ps_groups); i++) {
		if (ps_listed(skip, ps_groups[i]))
			printf("skip %s (--skip)\n", ps_groups[i]);
		else
			ps_run_group(&run, ps_groups[i]);
	}
	if (chdir("/") < 0 || ps_rmtree(run.dir)) {
		printf("FAIL cleanup of %s: %s\n", run.dir, ps_msg);
		run.failed++;
	}
	printf("posix_suite: %d passed, %d failed\n", run.passed, run.failed);
	return run.failed ? 1 : 0;
}

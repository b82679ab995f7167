/*
 * posix_suite: POSIX conformance checks for a mounted file system (glory's FUSE mount in CI).
 *
 *   posix_suite DIR [--skip GROUP[,GROUP...]]
 *   posix_suite --help
 *
 * Every run works in a fresh DIR/posix_suite.XXXXXX; each check gets its own subdirectory
 * there (its working directory while it runs), and everything is removed afterwards. One line
 * per check, "ok   group.name" or "FAIL group.name: what was expected, what happened", then
 * "posix_suite: N passed, M failed". Exit status: 0 when nothing failed, 1 when something did,
 * 2 on a usage or setup error.
 *
 * Run it as root: checks that root would bypass fork a child that drops to uid/gid 65534 with
 * no supplementary groups, so a FUSE mount needs allow_other. The suite must pass 100% on a
 * local ext4 or tmpfs directory; a failure on a glory mount is a glory bug.
 *
 * Checks come in groups (--help lists them) and in two kinds: functions (ck_*) and rows (struct
 * ps_case), each a setup spec, one call and the errno it must end with (0: success). Each group
 * file exports one struct ps_table holding both kinds:
 *
 *   main.c    command line, runner, setup specs, calls as uid 65534, shared helpers
 *   files.c   file data: open, rw, trunc, falloc, copy, append
 *   tree.c    the name space: rename, link, symlink, unlink_open, dir, mknod, names
 *   attrs.c   metadata and access: attr, owner, perm, xattr, statfs
 *   sync.c    durability and coherence: sync, lock, mmap
 *
 * Data is patterned, byte = (offset * 31 + seed) & 0xff, so a mismatch is reported with its
 * file offset. Needs sparse files (a write at 5 GiB), takes about a second on a local disk.
 *
 * Build from the repository root (plain libc + pthread, no glory library):
 *   gcc -std=gnu11 -O1 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla -Werror \
 *       -D_GNU_SOURCE -I. -o posix_suite \
 *       tests/fs/posix_suite/{main,files,tree,attrs,sync}.c -lpthread
 *
 * Every .c file includes this header first: it sets the feature macros.
 */
#ifndef PS_SUITE_H
#define PS_SUITE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64
#define _TIME_BITS	  64

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/compiler.h"

#define PS_NOBODY 65534 /* uid and gid of the unprivileged children */
#define PS_MIB	  (1024L * 1024)
#define PS_GIB	  (1024L * PS_MIB)
#define PS_ZEROS  (-1) /* seed meaning "these bytes must read as zeros" */
#define PS_OEXCL  (O_CREAT | O_EXCL | O_WRONLY)

/* ---- the check registry ---- */

/* One system call with its arguments, run by ps_do(), possibly in an unprivileged child. */
enum ps_op {
	OP_OPEN,     /* open(a, flags, 0644), then close */
	OP_STAT,     /* stat(a) */
	OP_MKDIR,    /* mkdir(a, 0755) */
	OP_RMDIR,    /* rmdir(a) */
	OP_UNLINK,   /* unlink(a) */
	OP_RENAME,   /* renameat2(a, b, flags) */
	OP_LINK,     /* link(a, b) */
	OP_SYMLINK,  /* symlink(a, b): b points to a */
	OP_READLINK, /* readlink(a) */
	OP_TRUNCATE, /* truncate(a, 0) */
	OP_CHMOD,    /* chmod(a, flags) */
	OP_ACCESS,   /* access(a, flags) */
	OP_SETXATTR, /* setxattr(a, b, "v", 1, flags) */
	OP_GETXATTR, /* getxattr(a, b) into a buffer of flags bytes */
};

struct ps_call {
	enum ps_op op;
	const char *a, *b;
	int flags;
};

/* A row check: after ps_setup(setup), call must end with errno want (0: success). */
struct ps_case {
	const char *group, *name, *setup;
	struct ps_call call;
	int want;
};

struct ps_check {
	const char *group, *name;
	int (*fn)(void); /* 0: passed; otherwise failed, with ps_msg saying why */
};

/*
 * The checks of one group file. Within a group the runner runs the function checks, then the
 * rows run as root, then the rows run as uid/gid 65534 against what root created (root would
 * bypass those checks); each in table order. A group lives in exactly one table.
 */
struct ps_table {
	const struct ps_check *checks;
	size_t nchecks;
	const struct ps_case *root_cases;
	size_t nroot_cases;
	const struct ps_case *nobody_cases;
	size_t nnobody_cases;
};

extern const struct ps_table ps_files_table; /* files.c */
extern const struct ps_table ps_tree_table;  /* tree.c */
extern const struct ps_table ps_attrs_table; /* attrs.c */
extern const struct ps_table ps_sync_table;  /* sync.c */

/* ---- results (main.c) ---- */

extern char ps_msg[1024]; /* why the running check failed */
extern char ps_note[256]; /* remark printed after "ok" (a tolerated difference) */

/* Records why the running check failed; returns -1 so a check can return it directly. */
GL_PRINTF(1, 2) int ps_fail(const char *fmt, ...);
const char *ps_ename(int e); /* "EACCES", or "success" for 0 */
const char *ps_etext(int e); /* strerror(e), or "no error" for 0 */
/* Expects a system call result rc >= 0. */
int ps_ok(long rc, const char *what);
/* Expects rc == -1 with errno want or want2. */
int ps_errno2(long rc, int want, int want2, const char *what);
int ps_errno(long rc, int want, const char *what);
/* Expects got == want; a got of -1 where want is not negative is a failed call: say why. */
int ps_eq(long long got, long long want, const char *what);

/* ---- resources of the running check, released by the runner after it (main.c) ---- */

/* Returns a 4 KiB aligned buffer owned by the running check (freed by the runner). */
void *ps_alloc(size_t len);
/* Maps len bytes of fd shared (one mapping per check); the runner unmaps it. NULL with ps_msg
 * set on failure. */
uint8_t *ps_map(int fd, size_t len, int prot);

/* ---- patterned data: the byte at file offset o is (o * 31 + seed) & 0xff (main.c) ---- */

void ps_fill(uint8_t *buf, size_t len, off_t off, int seed);
/* Compares got (file bytes from offset off) with the pattern; reports the first difference. */
int ps_cmp(const uint8_t *got, off_t off, size_t len, int seed, const char *what);
/* Reads len bytes at off (short reads allowed, EOF not) and compares them with the pattern. */
int ps_verify(int fd, off_t off, size_t len, int seed, const char *what);
/* Writes the pattern for [off, off + len); every pwrite must be complete. */
int ps_write_pat(int fd, off_t off, size_t len, int seed);

/* ---- files; each returns 0, or -1 with ps_msg set (main.c) ---- */

/* open(path, flags, 0644) expected to succeed; -1 with ps_msg set otherwise. */
int ps_open(const char *path, int flags);
/* Creates path (0644 & ~umask) holding len pattern bytes; returns an O_RDWR fd or -1. */
int ps_mkfile(const char *path, size_t len, int seed);
/* Creates an empty file and closes it (for checks that create many). */
int ps_touch(const char *path);
int ps_mkdir(const char *path);
int ps_lstat(const char *path, struct stat *st);
int ps_ino(const char *path, ino_t *ino);
int ps_expect_mode(const char *path, mode_t want);
int ps_expect_size(int fd, off_t want, const char *what);
/* Expects path to hold exactly len pattern bytes. */
int ps_expect_file(const char *path, size_t len, int seed);
/* Expects lstat(path) to fail with ENOENT. */
int ps_gone(const char *path);
int ps_renameat2(const char *from, const char *to, unsigned flags);
/*
 * Creates what spec names, left to right, separated by spaces: "f" an empty file, "d/" a
 * directory, "l>t" a symlink to t, "p|" a fifo, "f+" a file with user.a = "value"; a ":mode"
 * suffix (octal) chmods the new node. Root creates, so "d/:0700 d/f" works.
 */
int ps_setup(const char *spec);

/* ---- calls as uid 65534 (main.c) ---- */

/* Expects open(path, flags, 0644), run by uid/gid 65534, to end with errno want (0: success). */
int ps_nobody_open(const char *path, int flags, int want);

#endif

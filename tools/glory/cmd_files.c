/* glory put|get|ls|rm|stat|mkdir VOL/PATH: files of a volume, through libglory. */
#include "common/compiler.h"
#include "common/errors.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IO_BUF	  (4u << 20)
#define MAX_DEPTH 256

struct target {
	char vol[64];
	char path[4096]; /* without leading or trailing '/' */
};

/* "VOL/PATH" -> volume and path; rejects "." and ".." components and empty volumes. */
static int split(const char *who, const char *arg, struct target *t, int need_path)
{
	const char *slash = strchr(arg, '/');
	size_t vl = slash ? (size_t)(slash - arg) : strlen(arg);
	const char *p = slash ? slash + 1 : "";
	size_t n;

	if (vl == 0 || vl >= sizeof(t->vol)) {
		fprintf(stderr, "glory %s: '%s': say VOLUME/PATH\n", who, arg);
		return -1;
	}
	memcpy(t->vol, arg, vl);
	t->vol[vl] = '\0';
	while (*p == '/')
		p++;
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (n >= sizeof(t->path)) {
		fprintf(stderr, "glory %s: '%s': path too long\n", who, arg);
		return -1;
	}
	memcpy(t->path, p, n);
	t->path[n] = '\0';
	for (const char *c = t->path; *c;) {
		const char *e = strchr(c, '/');
		size_t cl = e ? (size_t)(e - c) : strlen(c);

		if (cl == 0 || (cl == 1 && c[0] == '.') ||
		    (cl == 2 && c[0] == '.' && c[1] == '.')) {
			fprintf(stderr,
				"glory %s: '%s': '.', '..' and empty components are not "
				"allowed\n",
				who, arg);
			return -1;
		}
		c += cl + (e ? 1 : 0);
	}
	if (need_path && !t->path[0]) {
		fprintf(stderr, "glory %s: '%s': say VOLUME/PATH (a path inside the volume)\n", who,
			arg);
		return -1;
	}
	return 0;
}

static int open_vol(const char *who, const struct cmd_common *c, const struct target *t,
		    struct glory **g, struct glory_vol **v)
{
	int rc;

	if (!c->tenant && !c->key) {
		fprintf(stderr,
			"glory %s: say whose volume: --tenant T (admin) or --key K --secret S "
			"(or GLORY_ACCESS_KEY/GLORY_SECRET_KEY)\n",
			who);
		return 2;
	}
	if ((rc = cmd_connect_as(who, c, g)))
		return rc;
	rc = glory_vol_open(*g, c->key ? NULL : c->tenant, t->vol, v);
	if (rc) {
		fprintf(stderr, "glory %s: volume %s: %s\n", who, t->vol, cmd_err_text(rc));
		glory_disconnect(*g);
		return 1;
	}
	return 0;
}

/* The parent directory of path and its last component (mkdirs it with parents). */
static int parent_of(struct glory_vol *v, const char *path, int parents, uint64_t *dir,
		     const char **last)
{
	char comp[256];
	struct glory_attr at;
	const char *p = path;
	int rc;

	*dir = GLORY_ROOT;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n;

		if (!slash) {
			*last = p;
			return 0;
		}
		n = (size_t)(slash - p);
		if (n >= sizeof(comp))
			return -GL_ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = '\0';
		rc = glory_lookup(v, *dir, comp, &at);
		if (rc == -GL_ENOENT && parents) {
			rc = glory_mkdir(v, *dir, comp, 0755, getuid(), getgid(), &at);
			if (rc == -GL_EEXIST)
				rc = glory_lookup(v, *dir, comp, &at);
		}
		if (rc)
			return rc;
		if (!S_ISDIR(at.mode))
			return -GL_ENOTDIR;
		*dir = at.ino;
		p = slash + 1;
	}
}

static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static void progress(uint64_t done, uint64_t total)
{
	if (done < (64u << 20) || !isatty(2))
		return;
	if (total)
		fprintf(stderr, "\r%" PRIu64 " / %" PRIu64 " MiB", done >> 20, total >> 20);
	else
		fprintf(stderr, "\r%" PRIu64 " MiB", done >> 20);
}

int cmd_put(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct glory_file *f = NULL;
	struct glory_attr at;
	struct target t;
	const char *last;
	uint64_t dir, off = 0, total = 0;
	int parents = 0, npos = 0, rc, fd = 0, code = 1;
	uint8_t *buf = NULL;
	char *pos[3];
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"parents", GL_OPT_FLAG, &parents, NULL, NULL, "-p: create missing directories"},
	};
	const struct gl_cmd_help help = {
	    "glory put VOL/PATH FILE [-p] [--tenant T | --key K --secret S]",
	    "Stores FILE (- for standard input) as the file PATH of volume VOL, replacing it if "
	    "it exists. Acknowledged means stored with the volume's redundancy and committed.",
	};

	cmd_long_flags(argc, argv);
	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 3, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 2 || split("put", pos[0], &t, 1)) {
		if (npos != 2)
			fprintf(stderr, "glory put: say VOL/PATH FILE (see --help)\n");
		return 2;
	}
	if (strcmp(pos[1], "-") != 0) {
		struct stat sb;

		fd = open(pos[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "glory put: %s: %s\n", pos[1], strerror(errno));
			return 1;
		}
		if (fstat(fd, &sb) == 0)
			total = (uint64_t)sb.st_size;
	}
	if ((rc = open_vol("put", &c, &t, &g, &v))) {
		if (fd > 0)
			close(fd);
		return rc;
	}
	buf = malloc(IO_BUF);
	rc = buf ? parent_of(v, t.path, parents, &dir, &last) : -GL_ENOMEM;
	if (!rc)
		rc = glory_create(v, dir, last, 0644, getuid(), getgid(), 0, &at);
	if (!rc && S_ISREG(at.mode) && at.size) {
		struct glory_attr z = {0};

		rc = glory_setattr(v, at.ino, GLORY_SET_SIZE, &z, NULL); /* replace the content */
	}
	if (!rc)
		rc = glory_open(v, at.ino, &f);
	while (!rc) {
		ssize_t n = read_full(fd, buf, IO_BUF);
		ssize_t w;

		if (n < 0) {
			fprintf(stderr, "glory put: reading %s: %s\n", pos[1], strerror(errno));
			rc = -GL_EIO;
			code = 1;
			goto out;
		}
		if (n == 0)
			break;
		w = glory_pwrite(f, buf, (size_t)n, off);
		if (w < 0)
			rc = (int)w;
		off += (uint64_t)n;
		progress(off, total);
	}
	if (f) {
		int crc = glory_close(f);

		f = NULL;
		if (!rc)
			rc = crc;
	}
	if (rc)
		fprintf(stderr, "glory put: %s: %s\n", pos[0], cmd_err_text(rc));
	else
		code = 0;
out:
	if (isatty(2) && off >= (64u << 20))
		fprintf(stderr, "\r\033[K");
	glory_close(f);
	free(buf);
	if (fd > 0)
		close(fd);
	glory_vol_close(v);
	glory_disconnect(g);
	return code;
}

int cmd_get(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct glory_file *f = NULL;
	struct glory_attr at;
	struct target t;
	uint64_t off = 0;
	int npos = 0, rc, fd = 1, code = 1;
	uint8_t *buf = NULL;
	char *pos[3];
	const struct gl_opt opts[] = {CMD_COMMON_OPTS(c)};
	const struct gl_cmd_help help = {
	    "glory get VOL/PATH [FILE] [--tenant T | --key K --secret S]",
	    "Writes the file PATH of volume VOL to FILE, or to standard output.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 3, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos < 1 || npos > 2 || split("get", pos[0], &t, 1)) {
		if (npos < 1 || npos > 2)
			fprintf(stderr, "glory get: say VOL/PATH [FILE] (see --help)\n");
		return 2;
	}
	if ((rc = open_vol("get", &c, &t, &g, &v)))
		return rc;
	rc = glory_resolve(v, t.path, &at);
	if (!rc)
		rc = glory_open_attr(v, &at, &f);
	if (rc) {
		fprintf(stderr, "glory get: %s: %s\n", pos[0], cmd_err_text(rc));
		goto out;
	}
	if (npos == 2 && strcmp(pos[1], "-") != 0) {
		fd = open(pos[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "glory get: %s: %s\n", pos[1], strerror(errno));
			goto out;
		}
	}
	buf = malloc(IO_BUF);
	if (!buf)
		goto out;
	for (;;) {
		ssize_t n = glory_pread(f, buf, IO_BUF, off);

		if (n < 0) {
			fprintf(stderr, "glory get: %s: %s\n", pos[0], cmd_err_text((int)n));
			goto out;
		}
		if (n == 0)
			break;
		if (write_full(fd, buf, (size_t)n)) {
			fprintf(stderr, "glory get: writing %s: %s\n",
				npos == 2 ? pos[1] : "output", strerror(errno));
			goto out;
		}
		off += (uint64_t)n;
		progress(off, at.size);
	}
	if (fd > 1 && fsync(fd) && errno != EINVAL) {
		fprintf(stderr, "glory get: %s: %s\n", pos[1], strerror(errno));
		goto out;
	}
	code = 0;
out:
	if (isatty(2) && off >= (64u << 20))
		fprintf(stderr, "\r\033[K");
	if (fd > 1)
		close(fd);
	free(buf);
	glory_close(f);
	glory_vol_close(v);
	glory_disconnect(g);
	return code;
}

static char type_char(uint32_t mode)
{
	return S_ISDIR(mode)	? 'd'
	       : S_ISLNK(mode)	? 'l'
	       : S_ISFIFO(mode) ? 'p'
	       : S_ISSOCK(mode) ? 's'
	       : S_ISCHR(mode)	? 'c'
	       : S_ISBLK(mode)	? 'b'
				: '-';
}

static void print_entry(const char *name, const struct glory_attr *a, int lng)
{
	char when[32];
	time_t s = (time_t)(a->mtime_ns / 1000000000);
	struct tm tm;

	if (!lng) {
		printf("%s%s\n", name, S_ISDIR(a->mode) ? "/" : "");
		return;
	}
	gmtime_r(&s, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%c%04o %5u %5u %12" PRIu64 " %s %s%s\n", type_char(a->mode), a->mode & 07777,
	       a->uid, a->gid, a->size, when, name, S_ISDIR(a->mode) ? "/" : "");
}

struct ls_ctx {
	int lng;
};

static int ls_one(void *arg, const struct glory_dirent *e)
{
	struct ls_ctx *l = arg;

	print_entry(e->name, e->attr, l->lng);
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct glory_attr at;
	struct target t;
	struct ls_ctx l = {0};
	int npos = 0, rc, eof;
	char *pos[2];
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"long", GL_OPT_FLAG, &l.lng, NULL, NULL, "-l: type, mode, owner, size and mtime"},
	};
	const struct gl_cmd_help help = {
	    "glory ls VOL[/PATH] [-l] [--tenant T | --key K --secret S]",
	    "Lists a directory of volume VOL (its root without PATH), or shows one file.",
	};

	cmd_long_flags(argc, argv);
	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 2, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 1 || split("ls", pos[0], &t, 0)) {
		if (npos != 1)
			fprintf(stderr, "glory ls: say VOL[/PATH] (see --help)\n");
		return 2;
	}
	if ((rc = open_vol("ls", &c, &t, &g, &v)))
		return rc;
	rc = glory_resolve(v, t.path, &at);
	if (!rc && !S_ISDIR(at.mode))
		print_entry(t.path, &at, l.lng);
	else if (!rc)
		rc = glory_readdir(v, at.ino, 0, 0, 1, ls_one, &l, &eof);
	if (rc)
		fprintf(stderr, "glory ls: %s: %s\n", pos[0], cmd_err_text(rc));
	glory_vol_close(v);
	glory_disconnect(g);
	return rc ? 1 : 0;
}

struct rm_ctx {
	struct glory_vol *v;
	uint64_t dir;
	int rc;
	char (*names)[256];
	int n, cap;
};

static int collect(void *arg, const struct glory_dirent *e)
{
	struct rm_ctx *r = arg;

	if (r->n == r->cap) {
		int ncap = r->cap ? r->cap * 2 : 64;
		void *nn = realloc(r->names, (size_t)ncap * sizeof(*r->names));

		if (!nn) {
			r->rc = -GL_ENOMEM;
			return 1;
		}
		r->names = nn;
		r->cap = ncap;
	}
	snprintf(r->names[r->n++], 256, "%s", e->name);
	return 0;
}

/* Removes everything in directory dir, then nothing else. */
static int rm_tree(struct glory_vol *v, uint64_t dir, int depth)
{
	struct rm_ctx r = {v, dir, 0, NULL, 0, 0};
	int eof, rc;

	if (depth > MAX_DEPTH)
		return -GL_E2BIG; /* deeper than any tree we make */
	rc = glory_readdir(v, dir, 0, 0, 0, collect, &r, &eof);
	if (!rc)
		rc = r.rc;
	for (int i = 0; i < r.n && !rc; i++) {
		struct glory_attr at;

		rc = glory_lookup(v, dir, r.names[i], &at);
		if (!rc && S_ISDIR(at.mode)) {
			rc = rm_tree(v, at.ino, depth + 1);
			if (!rc)
				rc = glory_rmdir(v, dir, r.names[i]);
		} else if (!rc) {
			rc = glory_unlink(v, dir, r.names[i]);
		}
	}
	free(r.names);
	return rc;
}

int cmd_rm(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct glory_attr at;
	struct target t;
	const char *last;
	uint64_t dir;
	int recursive = 0, npos = 0, rc;
	char *pos[2];
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"recursive", GL_OPT_FLAG, &recursive, NULL, NULL, "-r: directories and their content"},
	};
	const struct gl_cmd_help help = {
	    "glory rm VOL/PATH [-r] [--tenant T | --key K --secret S]",
	    "Removes a file (or, with -r, a directory and everything in it). Its chunks are "
	    "freed after the cluster's GC grace period.",
	};

	cmd_long_flags(argc, argv);
	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 2, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 1 || split("rm", pos[0], &t, 1)) {
		if (npos != 1)
			fprintf(stderr, "glory rm: say VOL/PATH (see --help)\n");
		return 2;
	}
	if ((rc = open_vol("rm", &c, &t, &g, &v)))
		return rc;
	rc = parent_of(v, t.path, 0, &dir, &last);
	if (!rc)
		rc = glory_lookup(v, dir, last, &at);
	if (!rc && S_ISDIR(at.mode)) {
		if (!recursive)
			rc = -GL_EISDIR;
		else if (!(rc = rm_tree(v, at.ino, 0)))
			rc = glory_rmdir(v, dir, last);
	} else if (!rc) {
		rc = glory_unlink(v, dir, last);
	}
	if (rc == -GL_EISDIR && !recursive)
		fprintf(stderr, "glory rm: %s: Is a directory (use -r)\n", pos[0]);
	else if (rc)
		fprintf(stderr, "glory rm: %s: %s\n", pos[0], cmd_err_text(rc));
	glory_vol_close(v);
	glory_disconnect(g);
	return rc ? 1 : 0;
}

int cmd_stat(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct glory_attr at;
	struct target t;
	int npos = 0, rc;
	char *pos[2];
	const struct gl_opt opts[] = {CMD_COMMON_OPTS(c)};
	const struct gl_cmd_help help = {
	    "glory stat VOL/PATH [--tenant T | --key K --secret S]",
	    "Shows a file's inode, type, mode, owner, links, size, blocks and times "
	    "(nanoseconds).",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 2, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 1 || split("stat", pos[0], &t, 0)) {
		if (npos != 1)
			fprintf(stderr, "glory stat: say VOL/PATH (see --help)\n");
		return 2;
	}
	if ((rc = open_vol("stat", &c, &t, &g, &v)))
		return rc;
	rc = glory_resolve(v, t.path, &at);
	if (rc) {
		fprintf(stderr, "glory stat: %s: %s\n", pos[0], cmd_err_text(rc));
	} else {
		printf("path:   %s/%s\ninode:  %" PRIu64 "\ntype:   %c\nmode:   %04o\n", t.vol,
		       t.path, at.ino, type_char(at.mode), at.mode & 07777);
		printf("uid:    %u\ngid:    %u\nlinks:  %u\nsize:   %" PRIu64 "\nblocks: %" PRIu64
		       "\n",
		       at.uid, at.gid, at.nlink, at.size, at.blocks);
		printf("atime:  %" PRId64 ".%09" PRId64 "\nmtime:  %" PRId64 ".%09" PRId64
		       "\nctime:  %" PRId64 ".%09" PRId64 "\n",
		       at.atime_ns / 1000000000, at.atime_ns % 1000000000, at.mtime_ns / 1000000000,
		       at.mtime_ns % 1000000000, at.ctime_ns / 1000000000,
		       at.ctime_ns % 1000000000);
	}
	glory_vol_close(v);
	glory_disconnect(g);
	return rc ? 1 : 0;
}

int cmd_mkdir(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct glory_attr at;
	struct target t;
	const char *last;
	uint64_t dir;
	int parents = 0, npos = 0, rc;
	char *pos[2];
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"parents", GL_OPT_FLAG, &parents, NULL, NULL,
	     "-p: parents too; no error if it exists"},
	};
	const struct gl_cmd_help help = {
	    "glory mkdir VOL/PATH [-p] [--tenant T | --key K --secret S]",
	    "Creates a directory in volume VOL.",
	};

	cmd_long_flags(argc, argv);
	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 2, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 1 || split("mkdir", pos[0], &t, 1)) {
		if (npos != 1)
			fprintf(stderr, "glory mkdir: say VOL/PATH (see --help)\n");
		return 2;
	}
	if ((rc = open_vol("mkdir", &c, &t, &g, &v)))
		return rc;
	rc = parent_of(v, t.path, parents, &dir, &last);
	if (!rc)
		rc = glory_mkdir(v, dir, last, 0755, getuid(), getgid(), &at);
	if (rc == -GL_EEXIST && parents && glory_lookup(v, dir, last, &at) == 0 && S_ISDIR(at.mode))
		rc = 0;
	if (rc)
		fprintf(stderr, "glory mkdir: %s: %s\n", pos[0], cmd_err_text(rc));
	glory_vol_close(v);
	glory_disconnect(g);
	return rc ? 1 : 0;
}

/* passthrough: a trivial FUSE filesystem (libfuse3 high-level API, multithreaded) that serves
 * a local directory unchanged. The benchmark reference for the glory mount: what FUSE itself
 * costs on this machine.
 *
 *   passthrough SOURCE MOUNTPOINT [-f] [-o OPTS]      (unmount: fusermount3 -u MOUNTPOINT)
 */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char src[PATH_MAX];

/* SOURCE + path: every operation works on the real file. */
static int real(char out[PATH_MAX], const char *path)
{
	return snprintf(out, PATH_MAX, "%s%s", src, path) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

#define REAL(p)                                                                                    \
	char p##_r[PATH_MAX];                                                                      \
	if (real(p##_r, p))                                                                        \
	return -ENAMETOOLONG

static int err(int rc)
{
	return rc < 0 ? -errno : rc;
}

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* like the glory mount: the kernel asks again at every access, nothing is cached */
	cfg->use_ino = 1;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	return NULL;
}

static int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi)
		return err(fstat((int)fi->fh, st));
	REAL(path);
	return err(lstat(path_r, st));
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct dirent *e;
	DIR *d;

	(void)off;
	(void)fi;
	(void)flags;
	REAL(path);
	if (!(d = opendir(path_r)))
		return -errno;
	while ((e = readdir(d))) {
		struct stat st = {.st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};

		if (fill(buf, e->d_name, &st, 0, 0))
			break;
	}
	closedir(d);
	return 0;
}

static int pt_open(const char *path, struct fuse_file_info *fi)
{
	int fd;

	REAL(path);
	if ((fd = open(path_r, fi->flags)) < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int pt_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd;

	REAL(path);
	if ((fd = open(path_r, fi->flags, mode)) < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int pt_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int pt_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int pt_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	return err(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static int pt_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fi)
		return err(ftruncate((int)fi->fh, size));
	REAL(path);
	return err(truncate(path_r, size));
}

static int pt_unlink(const char *path)
{
	REAL(path);
	return err(unlink(path_r));
}

static int pt_mkdir(const char *path, mode_t mode)
{
	REAL(path);
	return err(mkdir(path_r, mode));
}

static int pt_rmdir(const char *path)
{
	REAL(path);
	return err(rmdir(path_r));
}

static int pt_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags)
		return -EINVAL;
	REAL(from);
	REAL(to);
	return err(rename(from_r, to_r));
}

static int pt_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	if (fi)
		return err(futimens((int)fi->fh, tv));
	REAL(path);
	return err(utimensat(AT_FDCWD, path_r, tv, AT_SYMLINK_NOFOLLOW));
}

static int pt_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	REAL(path);
	return err(chmod(path_r, mode));
}

static int pt_statfs(const char *path, struct statvfs *st)
{
	REAL(path);
	return err(statvfs(path_r, st));
}

static const struct fuse_operations ops = {
    .init = pt_init,
    .getattr = pt_getattr,
    .readdir = pt_readdir,
    .open = pt_open,
    .create = pt_create,
    .read = pt_read,
    .write = pt_write,
    .release = pt_release,
    .fsync = pt_fsync,
    .truncate = pt_truncate,
    .unlink = pt_unlink,
    .mkdir = pt_mkdir,
    .rmdir = pt_rmdir,
    .rename = pt_rename,
    .utimens = pt_utimens,
    .chmod = pt_chmod,
    .statfs = pt_statfs,
};

int main(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: passthrough SOURCE MOUNTPOINT [-f] [-o OPTS]\n");
		return argc < 3 ? 2 : 0;
	}
	if (!realpath(argv[1], src)) {
		fprintf(stderr, "passthrough: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* fuse_main sees: prog MOUNTPOINT [rest] */
	argv[1] = argv[0];
	return fuse_main(argc - 1, argv + 1, &ops, NULL);
}

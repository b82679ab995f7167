/* glory disk: block volumes (VM disks) - create, ls, info, resize, rm, clone, snapshot, usage,
 * serve (nbdkit with gateways/nbd's plugin), import and export (raw, or qcow2 through qemu-img
 * over NBD). */
#include "common/compiler.h"
#include "common/errors.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IO_BUF (4u << 20)

struct disk_ref {
	char vol[64];
	char name[256];
};

static int disk_ref(const char *sub, const char *arg, struct disk_ref *r)
{
	const char *slash = strchr(arg, '/');

	if (!slash || slash == arg || (size_t)(slash - arg) >= sizeof(r->vol) || !slash[1] ||
	    strlen(slash + 1) >= sizeof(r->name) || strchr(slash + 1, '/')) {
		fprintf(stderr, "glory disk %s: '%s': say VOLUME/DISK\n", sub, arg);
		return -1;
	}
	memcpy(r->vol, arg, (size_t)(slash - arg));
	r->vol[slash - arg] = '\0';
	strcpy(r->name, slash + 1);
	return 0;
}

static int open_vol(const char *sub, const struct cmd_common *c, const char *vol, struct glory **g,
		    struct glory_vol **v)
{
	char who[64];
	int rc;

	snprintf(who, sizeof(who), "disk %s", sub);
	if (!c->tenant && !c->key) {
		fprintf(stderr,
			"glory disk %s: say whose volume: --tenant T (admin) or --key K --secret S "
			"(or GLORY_ACCESS_KEY/GLORY_SECRET_KEY)\n",
			sub);
		return 2;
	}
	if ((rc = cmd_connect_as(who, c, g)))
		return rc;
	rc = glory_vol_open(*g, c->key ? NULL : c->tenant, vol, v);
	if (rc) {
		fprintf(stderr, "glory disk %s: volume %s: %s\n", sub, vol, cmd_err_text(rc));
		glory_disconnect(*g);
		return 1;
	}
	return 0;
}

static void human(uint64_t n, char *out, size_t cap)
{
	const char *u = "BKMGTP";
	double x = (double)n;

	while (x >= 1024 && u[1]) {
		x /= 1024;
		u++;
	}
	if (*u == 'B')
		snprintf(out, cap, "%" PRIu64, n);
	else
		snprintf(out, cap, "%.1f%c", x, *u);
}

static int fail(const char *sub, const char *what, int rc)
{
	const char *hint = "";

	if (rc == -GL_EEXIST)
		hint = " (choose another name, or `glory disk rm` it first)";
	else if (rc == -GL_ENOENT)
		hint = " (`glory disk ls VOL` lists the disks)";
	else if (rc == -GL_EPERM)
		hint = " (snapshots are read-only: clone it to write)";
	else if (rc == -GL_EINVAL)
		hint = " (names: letters, digits, '.', '_', '-'; NAME@SNAP for snapshots)";
	fprintf(stderr, "glory disk %s: %s: %s%s\n", sub, what, cmd_err_text(rc), hint);
	return 1;
}

/* The plugin: $GLORY_NBD_PLUGIN, else lib/ beside our bin/, else nbdkit's plugin dir. */
static void plugin_path(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n;
	const char *env = getenv("GLORY_NBD_PLUGIN");

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(out, cap, "%.3900s/../lib/nbdkit-glory-plugin.so", exe) <
				(int)cap &&
			    access(out, R_OK) == 0)
				return;
		}
	}
	snprintf(out, cap, "glory");
}

/* argv for nbdkit serving the disk; extra options are appended by the caller. */
struct nbdkit_cmd {
	char *argv[40];
	int n;
	char plugin[PATH_MAX], disk[400], tenant[100], master[600];
};

static void nbdkit_cmd_init(struct nbdkit_cmd *k, const struct cmd_common *c,
			    const struct disk_ref *r)
{
	k->n = 0;
	k->argv[k->n++] = "nbdkit";
	plugin_path(k->plugin, sizeof(k->plugin));
	snprintf(k->disk, sizeof(k->disk), "disk=%s/%s", r->vol, r->name);
	if (c->master)
		setenv("GLORY_MASTER", c->master, 1);
	if (c->key) {
		setenv("GLORY_ACCESS_KEY", c->key, 1);
		if (c->secret)
			setenv("GLORY_SECRET_KEY", c->secret, 1);
	}
	snprintf(k->tenant, sizeof(k->tenant), "tenant=%s", c->tenant ? c->tenant : "");
}

static void nbdkit_cmd_finish(struct nbdkit_cmd *k, const struct cmd_common *c)
{
	k->argv[k->n++] = k->plugin;
	k->argv[k->n++] = k->disk;
	if (c->tenant && !c->key)
		k->argv[k->n++] = k->tenant;
	k->argv[k->n] = NULL;
}

static int run_nbdkit(struct nbdkit_cmd *k)
{
	execvp("nbdkit", k->argv);
	fprintf(stderr, "glory disk: cannot run nbdkit: %s (install the nbdkit package)\n",
		strerror(errno));
	return 1;
}

/* Runs nbdkit serving the disk on a private socket with --run cmd (nbdkit sets $uri). */
static int nbdkit_run(const struct cmd_common *c, const struct disk_ref *r, int rdonly,
		      const char *cmd)
{
	struct nbdkit_cmd k;
	pid_t pid;
	int st;

	nbdkit_cmd_init(&k, c, r);
	k.argv[k.n++] = "-U";
	k.argv[k.n++] = "-";
	if (rdonly)
		k.argv[k.n++] = "-r";
	k.argv[k.n++] = "--run";
	k.argv[k.n++] = (char *)cmd;
	nbdkit_cmd_finish(&k, c);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(run_nbdkit(&k));
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}

static int is_qcow2(const char *file)
{
	unsigned char m[4] = {0};
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, m, 4) != 4)
		m[0] = 0;
	close(fd);
	return m[0] == 'Q' && m[1] == 'F' && m[2] == 'I' && m[3] == 0xfb;
}

/* The virtual size of an image, from qemu-img info. */
static int image_size(const char *file, const char *fmt, uint64_t *size)
{
	char cmd[PATH_MAX + 128], line[512];
	FILE *p;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "qemu-img info -f %s --output=json '%s'", fmt, file);
	if (strchr(file, '\'') || !(p = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *s = strstr(line, "\"virtual-size\":");

		if (s && sscanf(s + 15, " %" SCNu64, size) == 1)
			found = 1;
	}
	pclose(p);
	return found ? 0 : -1;
}

/* Raw import: whole 4 MiB pieces; all-zero ones are skipped on a new disk (thin) and punched
 * on an existing one (its old bytes must go). */
static int import_raw(struct glory_disk *d, int fd, uint64_t size, int fresh)
{
	uint8_t *buf = malloc(IO_BUF);
	static const uint8_t zero[4096];
	int rc = 0;

	if (!buf)
		return -GL_ENOMEM;
	for (uint64_t off = 0; off < size && !rc;) {
		size_t want = (size_t)GL_MIN((uint64_t)IO_BUF, size - off), got = 0;
		int z = 1;

		while (got < want) {
			ssize_t n = pread(fd, buf + got, want - got, (off_t)(off + got));

			if (n <= 0) {
				rc = n == 0 ? -GL_EIO : -GL_EIO;
				break;
			}
			got += (size_t)n;
		}
		for (size_t i = 0; i < want && z && !rc; i += sizeof(zero))
			z = !memcmp(buf + i, zero, GL_MIN(sizeof(zero), want - i));
		if (!rc && !z)
			rc = glory_disk_pwrite(d, buf, want, off, 0);
		else if (!rc && !fresh)
			rc = glory_disk_punch(d, off, want, 0);
		off += want;
	}
	if (!rc)
		rc = glory_disk_flush(d);
	free(buf);
	return rc;
}

struct export_ctx {
	struct glory_disk *d;
	int fd;
	uint8_t *buf;
};

static int export_cb(void *arg, uint64_t off, uint64_t len, int hole)
{
	struct export_ctx *x = arg;

	if (hole)
		return 0; /* the file is sparse there */
	for (uint64_t done = 0; done < len;) {
		size_t n = (size_t)GL_MIN((uint64_t)IO_BUF, len - done);
		int rc = glory_disk_pread(x->d, x->buf, n, off + done);

		if (rc)
			return rc;
		if (pwrite(x->fd, x->buf, n, (off_t)(off + done)) != (ssize_t)n)
			return -GL_EIO;
		done += n;
	}
	return 0;
}

static int sub_import_export(int import, const struct cmd_common *c, const char *file,
			     const struct disk_ref *r, const char *format)
{
	const char *sub = import ? "import" : "export";
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct glory_disk *d = NULL;
	struct glory_disk_info di;
	int qcow = format ? strcmp(format, "qcow2") == 0 : (import && is_qcow2(file));
	int rc, ret = 1, created = 0;
	uint64_t size = 0;

	if (format && strcmp(format, "raw") && strcmp(format, "qcow2")) {
		fprintf(stderr, "glory disk %s: --format is raw or qcow2\n", sub);
		return 2;
	}
	if (strchr(file, '\'')) {
		fprintf(stderr, "glory disk %s: a file name with a quote is not supported\n", sub);
		return 2;
	}
	if ((rc = open_vol(sub, c, r->vol, &g, &v)))
		return rc;
	if (import) {
		struct stat st;

		if (stat(file, &st)) {
			fprintf(stderr, "glory disk import: %s: %s\n", file, strerror(errno));
			goto out;
		}
		size = (uint64_t)st.st_size;
		if (qcow && image_size(file, "qcow2", &size)) {
			fprintf(stderr, "glory disk import: %s: not a qcow2 image qemu-img reads\n",
				file);
			goto out;
		}
		rc = glory_disk_stat(v, r->name, &di);
		if (rc == -GL_ENOENT) {
			rc = glory_disk_create(v, r->name, (size + 511) / 512 * 512);
			created = !rc;
		} else if (!rc && di.size < size) {
			fprintf(stderr,
				"glory disk import: %s/%s is %" PRIu64 " bytes, the image %" PRIu64
				": `glory disk resize` it first\n",
				r->vol, r->name, di.size, size);
			goto out;
		}
		if (rc) {
			fail(sub, r->name, rc);
			goto out;
		}
	} else if ((rc = glory_disk_stat(v, r->name, &di))) {
		fail(sub, r->name, rc);
		goto out;
	}
	if (qcow) {
		char cmd[2 * PATH_MAX];

		glory_vol_close(v);
		glory_disconnect(g);
		v = NULL;
		g = NULL;
		if (import)
			snprintf(cmd, sizeof(cmd),
				 "env -u LD_PRELOAD qemu-img convert -q -n %s -f qcow2 -O raw '%s' "
				 "\"$uri\"",
				 created ? "--target-is-zero" : "", file);
		else
			snprintf(
			    cmd, sizeof(cmd),
			    "env -u LD_PRELOAD qemu-img convert -q -f raw -O qcow2 \"$uri\" '%s'",
			    file);
		ret = nbdkit_run(c, r, !import, cmd);
		if (ret)
			fprintf(stderr,
				"glory disk %s: qemu-img over NBD failed (its message is above)\n",
				sub);
		return ret;
	}
	if ((rc = glory_disk_open(v, r->name, import ? 0 : GLORY_DISK_RDONLY, &d))) {
		fail(sub, r->name, rc);
		goto out;
	}
	if (import) {
		int fd = open(file, O_RDONLY);

		rc = fd < 0 ? -GL_EIO : import_raw(d, fd, size, created);
		if (fd >= 0)
			close(fd);
	} else {
		struct export_ctx x = {d, open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644),
				       malloc(IO_BUF)};

		rc = x.fd < 0 || !x.buf ? -GL_EIO : 0;
		if (!rc && ftruncate(x.fd, (off_t)glory_disk_size(d)))
			rc = -GL_EIO;
		if (!rc)
			rc = glory_disk_extents(d, 0, glory_disk_size(d), export_cb, &x);
		if (!rc && fsync(x.fd))
			rc = -GL_EIO;
		if (x.fd >= 0)
			close(x.fd);
		free(x.buf);
	}
	if (glory_disk_close(d) && !rc)
		rc = -GL_EIO;
	if (rc)
		fail(sub, file, rc);
	else
		ret = 0;
out:
	glory_vol_close(v);
	glory_disconnect(g);
	return ret;
}

static void print_disk(const char *vol, const struct glory_disk_info *d, int lng)
{
	char a[32], b[32];

	human(d->size, a, sizeof(a));
	human(d->stored, b, sizeof(b));
	if (lng)
		printf("%-32s %10s %10s %s\n", d->name, a, b, d->snapshot ? "snapshot" : "disk");
	else
		printf("%s/%s\n", vol, d->name);
}

int cmd_disk(int argc, char **argv)
{
	struct cmd_common c = {0};
	const char *format = NULL, *port = NULL, *unix_sock = NULL, *listen = NULL;
	uint64_t size = 0;
	int npos = 0, rc, ret = 1, lng = 0, readonly = 0, threads_set = 0;
	long threads = 0;
	char *pos[4];
	struct glory *g = NULL;
	struct glory_vol *v = NULL;
	struct disk_ref r, r2;
	const char *sub;
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"size", GL_OPT_SIZE, &size, NULL, "N", "disk size (create, resize): 20G, 512M"},
	    {"long", GL_OPT_FLAG, &lng, NULL, NULL, "ls: sizes and kinds (-l)"},
	    {"format", GL_OPT_STR, &format, NULL, "F", "import/export: raw or qcow2"},
	    {"port", GL_OPT_STR, &port, NULL, "P", "serve: TCP port (default 10809)"},
	    {"listen", GL_OPT_STR, &listen, NULL, "ADDR", "serve: address to listen on"},
	    {"unix", GL_OPT_STR, &unix_sock, NULL, "SOCKET", "serve: a unix socket instead"},
	    {"readonly", GL_OPT_FLAG, &readonly, NULL, NULL, "serve: read-only (-r)"},
	    {"threads", GL_OPT_INT, &threads, NULL, "N", "serve: nbdkit threads"},
	};
	const struct gl_cmd_help help = {
	    "glory disk create|ls|info|resize|rm|clone|snapshot|usage|serve|import|export ...\n"
	    "  create VOL/NAME --size N      a thin disk of N bytes\n"
	    "  ls VOL [-l]                   the disks and snapshots of a volume\n"
	    "  info VOL/NAME                 size, data stored, dedup'd space\n"
	    "  resize VOL/NAME --size N      grow or shrink (shrinking drops data)\n"
	    "  rm VOL/NAME                   remove a disk or snapshot\n"
	    "  clone VOL/SRC VOL/DST         instant copy-on-write clone (SRC may be NAME@SNAP)\n"
	    "  snapshot VOL/NAME@SNAP        an instant read-only snapshot\n"
	    "  usage VOL                     space of every disk, after dedup\n"
	    "  serve VOL/NAME [--port P | --unix S]   serve over NBD (nbdkit)\n"
	    "  import FILE VOL/NAME [--format raw|qcow2]   an image into a disk\n"
	    "  export VOL/NAME FILE [--format raw|qcow2]   a disk into an image",
	    "VM disks: block volumes stored in a volume (the files /.disks/NAME), thin "
	    "provisioned, served over NBD by nbdkit's glory plugin (gateways/nbd). Clones and "
	    "snapshots share the source's chunks (no data is copied); identical blocks are "
	    "stored once across the disks of a volume with dedup on. Serve a disk from one "
	    "process at a time.",
	};

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-l") == 0)
			argv[i] = "--long";
	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 4, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	(void)threads_set;
	if (npos < 2) {
		fprintf(stderr, "glory disk: say what to do and to which disk (see --help)\n");
		return 2;
	}
	sub = pos[0];
	if (strcmp(sub, "ls") == 0 || strcmp(sub, "usage") == 0) {
		struct glory_disk_info *d = NULL;
		struct glory_disk_usage u;
		int n = 0;

		if (strchr(pos[1], '/')) {
			fprintf(stderr, "glory disk %s: say VOLUME\n", sub);
			return 2;
		}
		if ((rc = open_vol(sub, &c, pos[1], &g, &v)))
			return rc;
		if (sub[0] == 'l') {
			rc = glory_disk_list(v, &d, &n);
			for (int i = 0; i < n && !rc; i++)
				print_disk(pos[1], &d[i], lng);
			free(d);
		} else if (!(rc = glory_disk_usage(v, NULL, &u))) {
			printf("disks %" PRIu64 "\nsize %" PRIu64 "\ndata %" PRIu64
			       "\nstored %" PRIu64 "\nchunks %" PRIu64 "\nsaved %.1f%%\n",
			       u.disks, u.size, u.data, u.stored, u.chunks,
			       u.data ? 100.0 * (1.0 - (double)u.stored / (double)u.data) : 0.0);
		}
		ret = rc ? fail(sub, pos[1], rc) : 0;
		goto out;
	}
	if (strcmp(sub, "import") == 0 || strcmp(sub, "export") == 0) {
		int imp = sub[0] == 'i';

		if (npos != 3 || disk_ref(sub, pos[imp ? 2 : 1], &r))
			return 2;
		return sub_import_export(imp, &c, pos[imp ? 1 : 2], &r, format);
	}
	if (disk_ref(sub, pos[1], &r))
		return 2;
	if (strcmp(sub, "serve") == 0) {
		struct nbdkit_cmd k;
		char th[32];

		nbdkit_cmd_init(&k, &c, &r);
		k.argv[k.n++] = "-f";
		if (unix_sock) {
			k.argv[k.n++] = "--unix";
			k.argv[k.n++] = (char *)unix_sock;
		} else {
			k.argv[k.n++] = "--port";
			k.argv[k.n++] = (char *)(port ? port : "10809");
		}
		if (listen) {
			k.argv[k.n++] = "--ipaddr";
			k.argv[k.n++] = (char *)listen;
		}
		if (readonly)
			k.argv[k.n++] = "-r";
		if (threads > 0) {
			snprintf(th, sizeof(th), "%ld", threads);
			k.argv[k.n++] = "--threads";
			k.argv[k.n++] = th;
		}
		nbdkit_cmd_finish(&k, &c);
		return run_nbdkit(&k);
	}
	if ((rc = open_vol(sub, &c, r.vol, &g, &v)))
		return rc;
	if (strcmp(sub, "create") == 0) {
		if (!size) {
			fprintf(stderr, "glory disk create: say --size N (e.g. 20G)\n");
			ret = 2;
		} else if ((rc = glory_disk_create(v, r.name, size))) {
			ret = fail(sub, pos[1], rc);
		} else {
			ret = 0;
		}
	} else if (strcmp(sub, "info") == 0) {
		struct glory_disk_info di;
		struct glory_disk_usage u;

		if ((rc = glory_disk_stat(v, r.name, &di)) ||
		    (rc = glory_disk_usage(v, r.name, &u))) {
			ret = fail(sub, pos[1], rc);
		} else {
			printf("name %s/%s\nkind %s\nsize %" PRIu64 "\ndata %" PRIu64
			       "\nstored %" PRIu64 "\nchunks %" PRIu64 "\n",
			       r.vol, di.name, di.snapshot ? "snapshot" : "disk", di.size, u.data,
			       u.stored, u.chunks);
			ret = 0;
		}
	} else if (strcmp(sub, "resize") == 0) {
		if (!size) {
			fprintf(stderr, "glory disk resize: say --size N\n");
			ret = 2;
		} else {
			rc = glory_disk_resize(v, r.name, size);
			ret = rc ? fail(sub, pos[1], rc) : 0;
		}
	} else if (strcmp(sub, "rm") == 0) {
		rc = glory_disk_rm(v, r.name);
		ret = rc ? fail(sub, pos[1], rc) : 0;
	} else if (strcmp(sub, "snapshot") == 0) {
		char src[256];
		char *at = strchr(r.name, '@');

		if (!at) {
			fprintf(stderr, "glory disk snapshot: say VOL/NAME@SNAP\n");
			ret = 2;
		} else {
			memcpy(src, r.name, (size_t)(at - r.name));
			src[at - r.name] = '\0';
			rc = glory_disk_clone(v, src, r.name);
			ret = rc ? fail(sub, pos[1], rc) : 0;
		}
	} else if (strcmp(sub, "clone") == 0) {
		if (npos != 3 || disk_ref(sub, pos[2], &r2)) {
			ret = 2;
		} else if (strcmp(r.vol, r2.vol)) {
			fprintf(stderr, "glory disk clone: clones stay in their volume (use export "
					"and import to copy across volumes)\n");
			ret = 2;
		} else if (strchr(r2.name, '@')) {
			fprintf(stderr, "glory disk clone: the clone's name has no '@' (snapshots: "
					"glory disk snapshot)\n");
			ret = 2;
		} else {
			rc = glory_disk_clone(v, r.name, r2.name);
			ret = rc ? fail(sub, pos[2], rc) : 0;
		}
	} else {
		fprintf(stderr, "glory disk: unknown subcommand '%s' (see --help)\n", sub);
		ret = 2;
	}
out:
	glory_vol_close(v);
	glory_disconnect(g);
	return ret;
}

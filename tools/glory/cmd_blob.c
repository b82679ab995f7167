/* glory blob put|get|rm|stat: blobs in the chunk store, through libglory. */
#include "common/compiler.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "storage/stripe.h"
#include "tools/glory/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A progress line on stderr when it is a terminal and the transfer is large. */
static void show_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	if (done < (64u << 20) || !isatty(2))
		return;
	if (total)
		fprintf(stderr, "\r%llu / %llu MiB (%.0f%%)", (unsigned long long)(done >> 20),
			(unsigned long long)(total >> 20), 100.0 * (double)done / (double)total);
	else
		fprintf(stderr, "\r%llu MiB", (unsigned long long)(done >> 20));
}

static void end_progress(void)
{
	if (isatty(2))
		fprintf(stderr, "\r\033[K");
}

static int connect_or_say(const char *who, const char *master, struct glory **g)
{
	int rc;

	if (!master) {
		fprintf(stderr,
			"glory %s: no master given: use --master H:P or set GLORY_MASTER (for a "
			"local cluster: . DIR/env)\n",
			who);
		return 2;
	}
	rc = glory_connect(master, g);
	if (rc) {
		fprintf(stderr, "glory %s: cannot reach the master at %s: %s (is it running?)\n",
			who, master, glory_strerror(rc));
		return 1;
	}
	glory_set_progress(*g, show_progress, NULL);
	return 0;
}

static int blob_put(int argc, char **argv)
{
	const char *master = NULL, *red = "ec:4+2";
	char *pos[2];
	int npos = 0, rc, fd = 0;
	struct glory *g = NULL;
	char id[GLORY_ID_HEX];
	struct gl_scheme scheme;
	const struct gl_opt opts[] = {
	    {"master", GL_OPT_STR, &master, "GLORY_MASTER", "H:P", "cluster master"},
	    {"redundancy", GL_OPT_STR, &red, NULL, "ec:K+M|rep:N",
	     "erasure coding or replicas (default ec:4+2)"},
	};
	const struct gl_cmd_help help = {
	    "glory blob put [--master H:P] [--redundancy ec:4+2|rep:3] FILE",
	    "Stores FILE (or standard input for '-') as a blob and prints its id. The same "
	    "content stored twice gets the same id and is kept once.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 2, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 1) {
		fprintf(stderr, "glory blob put: give exactly one FILE (or - for stdin)\n");
		return 2;
	}
	if (gl_scheme_parse(red, &scheme)) {
		fprintf(
		    stderr,
		    "glory blob put: --redundancy '%s' is not valid: use ec:K+M (K 1-16, M 1-4) "
		    "or rep:N (N 1-3), e.g. ec:4+2 or rep:3\n",
		    red);
		return 2;
	}
	if (strcmp(pos[0], "-") != 0) {
		fd = open(pos[0], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "glory blob put: cannot open %s: %s\n", pos[0],
				strerror(errno));
			return 1;
		}
	}
	rc = connect_or_say("blob put", master, &g);
	if (rc)
		goto out;
	rc = glory_blob_put_fd(g, fd, red, id);
	end_progress();
	if (rc) {
		fprintf(stderr, "glory blob put: %s: %s\n", pos[0], glory_strerror(rc));
		rc = 1;
		goto out;
	}
	printf("%s\n", id);
out:
	if (fd > 0)
		close(fd);
	glory_disconnect(g);
	return rc;
}

static int blob_get(int argc, char **argv)
{
	const char *master = NULL;
	char *pos[3];
	int npos = 0, rc, fd = 1;
	struct glory *g = NULL;
	const struct gl_opt opts[] = {
	    {"master", GL_OPT_STR, &master, "GLORY_MASTER", "H:P", "cluster master"},
	};
	const struct gl_cmd_help help = {
	    "glory blob get [--master H:P] ID [FILE]",
	    "Writes the blob ID to FILE, or to standard output.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 3, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos < 1 || npos > 2) {
		fprintf(stderr, "glory blob get: give a blob ID and optionally a FILE\n");
		return 2;
	}
	rc = connect_or_say("blob get", master, &g);
	if (rc)
		return rc;
	if (npos == 2) {
		fd = open(pos[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			fprintf(stderr, "glory blob get: cannot create %s: %s\n", pos[1],
				strerror(errno));
			rc = 1;
			goto out;
		}
	}
	rc = glory_blob_get_fd(g, pos[0], fd);
	end_progress();
	if (!rc && fd != 1 && fsync(fd))
		rc = -EIO;
	if (rc) {
		fprintf(stderr, "glory blob get: %s: %s\n", pos[0], glory_strerror(rc));
		rc = 1;
	}
out:
	if (fd > 1)
		close(fd);
	glory_disconnect(g);
	return rc;
}

static int blob_rm_or_stat(int argc, char **argv, int rm)
{
	const char *master = NULL;
	char *pos[64];
	int npos = 0, rc, failed = 0;
	struct glory *g = NULL;
	const struct gl_opt opts[] = {
	    {"master", GL_OPT_STR, &master, "GLORY_MASTER", "H:P", "cluster master"},
	};
	const struct gl_cmd_help help_rm = {
	    "glory blob rm [--master H:P] ID...",
	    "Drops one reference to each blob. Its chunks are deleted once nothing references "
	    "them and the master's grace period has passed.",
	};
	const struct gl_cmd_help help_stat = {
	    "glory blob stat [--master H:P] ID...",
	    "Prints each blob's size, redundancy and reference count.",
	};

	rc = gl_opts_parse(argc, argv, rm ? &help_rm : &help_stat, opts, GL_ARRAY_SIZE(opts), pos,
			   64, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos < 1) {
		fprintf(stderr, "glory blob %s: give at least one blob ID\n", rm ? "rm" : "stat");
		return 2;
	}
	rc = connect_or_say(rm ? "blob rm" : "blob stat", master, &g);
	if (rc)
		return rc;
	for (int i = 0; i < npos; i++) {
		uint64_t size = 0, refs = 0;
		char red[16];

		rc = rm ? glory_blob_rm(g, pos[i])
			: glory_blob_stat(g, pos[i], &size, red, sizeof(red), &refs);
		if (rc) {
			fprintf(stderr, "glory blob %s: %s: %s\n", rm ? "rm" : "stat", pos[i],
				glory_strerror(rc));
			failed = 1;
		} else if (!rm) {
			printf("%s size=%llu redundancy=%s refs=%llu\n", pos[i],
			       (unsigned long long)size, red, (unsigned long long)refs);
		}
	}
	glory_disconnect(g);
	return failed;
}

int cmd_blob(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "put") == 0)
		return blob_put(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "get") == 0)
		return blob_get(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return blob_rm_or_stat(argc - 1, argv + 1, 1);
	if (argc >= 2 && strcmp(argv[1], "stat") == 0)
		return blob_rm_or_stat(argc - 1, argv + 1, 0);
	fprintf(argc >= 2 && strcmp(argv[1], "--help") ? stderr : stdout,
		"usage: glory blob put|get|rm|stat ... (each has --help)\n"
		"  put FILE      store a file, print its blob id\n"
		"  get ID [FILE] write a blob to FILE or stdout\n"
		"  rm ID...      drop a reference to blobs\n"
		"  stat ID...    size, redundancy, references\n");
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}

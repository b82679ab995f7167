/* glory tenant|key|volume (admin) and put|get|ls|rm|stat|mkdir (files of a volume). */
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

/* Short flags (-p, -r, -l, -f) as their long names. */
void cmd_long_flags(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0)
			argv[i] = "--parents";
		else if (strcmp(argv[i], "-r") == 0)
			argv[i] = "--recursive";
		else if (strcmp(argv[i], "-l") == 0)
			argv[i] = "--long";
		else if (strcmp(argv[i], "-f") == 0)
			argv[i] = "--force";
	}
}

int cmd_connect_as(const char *who, const struct cmd_common *c, struct glory **g)
{
	int rc;

	if (!c->master) {
		fprintf(stderr,
			"glory %s: no master given: use --master H:P or set GLORY_MASTER (for a "
			"local cluster: . DIR/env)\n",
			who);
		return 2;
	}
	if ((c->key && !c->secret) || (!c->key && c->secret)) {
		fprintf(stderr, "glory %s: --key and --secret go together\n", who);
		return 2;
	}
	rc = glory_connect(c->master, g);
	if (rc) {
		fprintf(stderr, "glory %s: cannot reach the master at %s: %s (is it running?)\n",
			who, c->master, glory_strerror(rc));
		return 1;
	}
	if (c->key && (rc = glory_set_credentials(*g, c->key, c->secret))) {
		fprintf(stderr, "glory %s: bad --key: %s\n", who, glory_strerror(rc));
		glory_disconnect(*g);
		return 2;
	}
	return 0;
}

const char *cmd_err_text(int rc)
{
	return strerror(-glory_errno(rc));
}

static int fail(const char *who, const char *what, int rc)
{
	fprintf(stderr, "glory %s: %s: %s\n", who, what, cmd_err_text(rc));
	return 1;
}

/* ---- glory tenant ---- */

int cmd_tenant(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	char *pos[3];
	int npos = 0, rc;
	const struct gl_opt opts[] = {CMD_COMMON_OPTS(c)};
	const struct gl_cmd_help help = {
	    "glory tenant create|ls|rm [NAME]",
	    "Tenants own access keys and volumes; none sees another's. Names are 1 to 63 of "
	    "a-z, 0-9, '.' and '-'. rm refuses a tenant that still has volumes.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 3, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos < 1 || (strcmp(pos[0], "ls") != 0 && npos != 2) ||
	    (strcmp(pos[0], "create") && strcmp(pos[0], "ls") && strcmp(pos[0], "rm"))) {
		fprintf(stderr, "glory tenant: say create NAME, ls or rm NAME (see --help)\n");
		return 2;
	}
	if ((rc = cmd_connect_as("tenant", &c, &g)))
		return rc;
	if (strcmp(pos[0], "create") == 0) {
		uint32_t id;

		rc = glory_tenant_create(g, pos[1], &id);
		if (!rc)
			printf("tenant %s created (id %u)\n", pos[1], id);
	} else if (strcmp(pos[0], "rm") == 0) {
		rc = glory_tenant_rm(g, pos[1]);
		if (!rc)
			printf("tenant %s removed\n", pos[1]);
	} else {
		struct glory_tenant *t;
		int n;

		rc = glory_tenant_list(g, &t, &n);
		if (!rc) {
			printf("%-6s %-24s %s\n", "ID", "TENANT", "VOLUMES");
			for (int i = 0; i < n; i++)
				printf("%-6u %-24s %u\n", t[i].id, t[i].name, t[i].nvols);
			free(t);
		}
	}
	glory_disconnect(g);
	return rc ? fail("tenant", npos > 1 ? pos[1] : "ls", rc) : 0;
}

/* ---- glory key ---- */

int cmd_key(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	int env = 0, npos = 0, rc;
	char *pos[3], access[32], secret[64];
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"env", GL_OPT_FLAG, &env, NULL, NULL, "print shell assignments (AWS_* and GLORY_*)"},
	};
	const struct gl_cmd_help help = {
	    "glory key create --tenant T [--env] | glory key rm ACCESS",
	    "create makes an access key for tenant T and prints it with its secret (shown only "
	    "this once). Clients use them as S3 keys or with --key/--secret. rm revokes a key.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 3, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos < 1 || (strcmp(pos[0], "create") == 0 && (npos != 1 || !c.tenant)) ||
	    (strcmp(pos[0], "rm") == 0 && npos != 2) ||
	    (strcmp(pos[0], "create") && strcmp(pos[0], "rm"))) {
		fprintf(stderr, "glory key: say create --tenant T, or rm ACCESS (see --help)\n");
		return 2;
	}
	if ((rc = cmd_connect_as("key", &c, &g)))
		return rc;
	if (strcmp(pos[0], "create") == 0) {
		rc = glory_key_create(g, c.tenant, access, secret);
		if (!rc && env)
			printf(
			    "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nGLORY_ACCESS_KEY=%s\n"
			    "GLORY_SECRET_KEY=%s\nexport AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY "
			    "GLORY_ACCESS_KEY GLORY_SECRET_KEY\n",
			    access, secret, access, secret);
		else if (!rc)
			printf("access key: %s\nsecret:     %s\n", access, secret);
	} else {
		rc = glory_key_rm(g, pos[1]);
		if (!rc)
			printf("key %s removed\n", pos[1]);
	}
	glory_disconnect(g);
	return rc ? fail("key", c.tenant ? c.tenant : pos[npos - 1], rc) : 0;
}

/* ---- glory volume ---- */

static void human(uint64_t v, char *buf, size_t cap)
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

static int on_off(const char *s, int *out)
{
	if (!s)
		return 0;
	if (strcmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static void move_progress(void *arg, const char *stage, uint64_t records)
{
	(void)arg;
	if (records)
		fprintf(stderr, "glory volume move: %s, %" PRIu64 " records\n", stage, records);
	else
		fprintf(stderr, "glory volume move: %s\n", stage);
}

int cmd_volume(int argc, char **argv)
{
	struct cmd_common c = {0};
	struct glory *g = NULL;
	const char *red = NULL, *dedup_s = NULL;
	uint64_t qb = 0, qi = 0;
	int force = 0, npos = 0, dedup = 1, rc;
	long to_shard = -1;
	char *pos[3], qbs[32] = "", qis[32] = "";
	const char *qbytes = NULL, *qinodes = NULL;
	const struct gl_opt opts[] = {
	    CMD_COMMON_OPTS(c),
	    {"redundancy", GL_OPT_STR, &red, NULL, "R", "ec:K+M or rep:N (default ec:4+2)"},
	    {"dedup", GL_OPT_STR, &dedup_s, NULL, "on|off", "store identical chunks once (on)"},
	    {"quota-bytes", GL_OPT_STR, &qbytes, NULL, "SIZE", "e.g. 10G; 0 = unlimited"},
	    {"quota-inodes", GL_OPT_STR, &qinodes, NULL, "N", "e.g. 1M; 0 = unlimited"},
	    {"force", GL_OPT_FLAG, &force, NULL, NULL, "rm: also a volume that holds files"},
	    {"to-shard", GL_OPT_INT, &to_shard, NULL, "N", "move: the metadata shard to move to"},
	};
	const struct gl_cmd_help help = {
	    "glory volume create|ls|usage|set|rm|move [NAME] --tenant T [options]",
	    "Volumes hold files (and S3 buckets, NFS exports, VM disks) with their own policy: "
	    "redundancy, dedup and quotas of bytes and inodes, enforced exactly by the metadata "
	    "shard that owns the volume. set changes the policy (redundancy applies to data "
	    "written afterwards). move NAME --to-shard N moves the volume to another metadata "
	    "shard while it is in use: reads go on, writes wait while it is copied; run it again "
	    "if it was interrupted.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 3, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos < 1 || (strcmp(pos[0], "ls") && npos != 2) ||
	    (strcmp(pos[0], "create") && strcmp(pos[0], "ls") && strcmp(pos[0], "usage") &&
	     strcmp(pos[0], "set") && strcmp(pos[0], "rm") && strcmp(pos[0], "move"))) {
		fprintf(stderr,
			"glory volume: say create, ls, usage, set, rm or move (see --help)\n");
		return 2;
	}
	if (strcmp(pos[0], "move") == 0 && (to_shard < 0 || to_shard > UINT32_MAX)) {
		fprintf(stderr, "glory volume move: say where to: --to-shard N (glory shard status "
				"lists the shards)\n");
		return 2;
	}
	if (strcmp(pos[0], "ls") && !c.tenant && !c.key) {
		fprintf(stderr, "glory volume %s: say whose volume: --tenant T (or --key)\n",
			pos[0]);
		return 2;
	}
	if ((qbytes && gl_parse_size(qbytes, &qb)) || (qinodes && gl_parse_size(qinodes, &qi)) ||
	    on_off(dedup_s, &dedup)) {
		fprintf(stderr, "glory volume: bad --quota-bytes, --quota-inodes or --dedup (sizes "
				"like 10G or 1M; dedup on or off)\n");
		return 2;
	}
	if ((rc = cmd_connect_as("volume", &c, &g)))
		return rc;
	if (strcmp(pos[0], "create") == 0) {
		rc = glory_volume_create(g, c.tenant, pos[1], red, dedup, qb, qi);
		if (!rc)
			printf("volume %s created for tenant %s (%s, dedup %s)\n", pos[1], c.tenant,
			       red ? red : "ec:4+2", dedup ? "on" : "off");
	} else if (strcmp(pos[0], "set") == 0) {
		unsigned mask =
		    (red ? GLORY_VSET_REDUNDANCY : 0) | (dedup_s ? GLORY_VSET_DEDUP : 0) |
		    (qbytes ? GLORY_VSET_QBYTES : 0) | (qinodes ? GLORY_VSET_QINODES : 0);

		rc = glory_volume_set(g, c.tenant, pos[1], mask, red, dedup, qb, qi);
		if (!rc)
			printf("volume %s updated\n", pos[1]);
	} else if (strcmp(pos[0], "move") == 0) {
		rc =
		    glory_volume_move(g, c.tenant, pos[1], (uint32_t)to_shard, move_progress, NULL);
		if (!rc)
			printf("volume %s is on shard %ld\n", pos[1], to_shard);
		else if (rc == -GL_EINVAL)
			fprintf(stderr,
				"glory volume move: no metadata shard %ld (see glory shard "
				"status)\n",
				to_shard);
	} else if (strcmp(pos[0], "rm") == 0) {
		rc = glory_volume_rm(g, c.tenant, pos[1], force);
		if (!rc)
			printf("volume %s removed\n", pos[1]);
		else if (rc == -GL_ENOTEMPTY)
			fprintf(stderr,
				"glory volume rm: %s holds files: remove them or use "
				"--force\n",
				pos[1]);
	} else {
		struct glory_volume_info *l;
		struct glory_vol *v;
		int n;

		rc = glory_volume_list(g, c.tenant, &l, &n);
		if (!rc) {
			int shown = 0;

			if (strcmp(pos[0], "ls") == 0)
				printf("%-5s %-24s %-7s %-6s %-8s %-5s %12s %12s %10s %10s\n", "ID",
				       "VOLUME", "TENANT", "SHARD", "REDUND", "DEDUP", "USED",
				       "QUOTA", "INODES", "IQUOTA");
			for (int i = 0; i < n; i++) {
				struct glory_volume_info vi = l[i];

				if (strcmp(pos[0], "usage") == 0 && strcmp(vi.name, pos[1]))
					continue;
				/* usage is kept by the volume's own shard */
				if (glory_vol_open(g, c.key ? NULL : c.tenant, vi.name, &v) == 0) {
					glory_vol_info(v, &vi);
					glory_vol_close(v);
				}
				human(vi.used_bytes, qbs, sizeof(qbs));
				if (vi.quota_bytes)
					human(vi.quota_bytes, qis, sizeof(qis));
				else
					snprintf(qis, sizeof(qis), "-");
				if (strcmp(pos[0], "usage") == 0)
					printf("volume %s: %s used (%" PRIu64
					       " bytes) of %s, %" PRIu64 " inodes of %s\n",
					       vi.name, qbs, vi.used_bytes,
					       vi.quota_bytes ? qis : "unlimited", vi.used_inodes,
					       vi.quota_inodes ? "the quota" : "unlimited");
				else
					printf("%-5u %-24s %-7u %-6u %-8s %-5s %12s %12s %10" PRIu64
					       " %10" PRIu64 "\n",
					       vi.id, vi.name, vi.tenant, vi.shard, vi.redundancy,
					       vi.dedup ? "on" : "off", qbs, qis, vi.used_inodes,
					       vi.quota_inodes);
				shown++;
			}
			if (strcmp(pos[0], "usage") == 0 && !shown)
				rc = -GL_ENOENT;
			free(l);
		}
	}
	glory_disconnect(g);
	return rc ? fail("volume", npos > 1 ? pos[1] : "ls", rc) : 0;
}

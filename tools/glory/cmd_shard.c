/* glory shard: look at and change metadata shards (status, dump, add, remove). */
#include "cluster/map.h"
#include "cluster/ms_client.h"
#include "common/compiler.h"
#include "common/errors.h"
#include "common/opts.h"
#include "common/rpc.h"
#include "metadata/md_client.h"
#include "metadata/ns.h"
#include "metadata/rpc.h"
#include "tools/glory/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct member_status {
	uint32_t shard;
	uint64_t id, leader, term, commit, applied, last, snapshot;
	char role[32];
};

static int member_status(struct gl_rpc_pool *p, const char *addr, struct member_status *st)
{
	struct gl_rpc_call c = {.opcode = GL_MD_STATUS};
	struct gl_rbuf r;
	int rc = gl_rpc_pool_call(p, addr, &c, 3000);

	if (rc == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		st->shard = gl_get_u32(&r);
		st->id = gl_get_u64(&r);
		st->leader = gl_get_u64(&r);
		st->term = gl_get_u64(&r);
		st->commit = gl_get_u64(&r);
		st->applied = gl_get_u64(&r);
		st->last = gl_get_u64(&r);
		st->snapshot = gl_get_u64(&r);
		gl_get_str(&r, st->role, sizeof(st->role));
		rc = gl_rbuf_check(&r);
	}
	gl_rpc_call_done(&c);
	return rc;
}

static int shard_status(struct gl_rpc_pool *p, const struct gl_map *m, long only)
{
	printf("%-6s %-4s %-22s %-5s %-12s %8s %10s %10s %10s\n", "SHARD", "ID", "ADDRESS", "MAP",
	       "ROLE", "TERM", "COMMIT", "APPLIED", "SNAPSHOT");
	for (uint32_t i = 0; i < m->nshards; i++) {
		const struct gl_shard_info *sh = &m->shards[i];

		if (only >= 0 && sh->id != (uint32_t)only)
			continue;
		for (int j = 0; j < sh->n; j++) {
			struct member_status st = {0};
			int rc = member_status(p, sh->m[j].addr, &st);

			if (rc) {
				printf("%-6u %-4llu %-22s %-5s %-12s (%s)\n", sh->id,
				       (unsigned long long)sh->m[j].id, sh->m[j].addr,
				       sh->m[j].up ? "up" : "down", "unreachable", gl_strerror(rc));
				continue;
			}
			printf("%-6u %-4llu %-22s %-5s %-12s %8llu %10llu %10llu %10llu\n", sh->id,
			       (unsigned long long)sh->m[j].id, sh->m[j].addr,
			       sh->m[j].up ? "up" : "down", st.role, (unsigned long long)st.term,
			       (unsigned long long)st.commit, (unsigned long long)st.applied,
			       (unsigned long long)st.snapshot);
		}
	}
	return 0;
}

/* Prints every record of the shard (or of one volume), a page per call: the shard answers
 * about GL_NS_DUMP_PAGE bytes and the key to resume after. */
static int shard_dump(struct gl_rpc_pool *p, const struct gl_shard_info *sh, long vol)
{
	uint8_t last[GL_NS_NAME_MAX + 64];
	uint16_t last_len = 0;
	uint8_t more = 1;
	int rc = 0;

	for (int page = 0; more && !rc; page++) {
		struct gl_rpc_call c;
		struct gl_wbuf q;
		struct gl_rbuf r;

		gl_wbuf_init(&q);
		gl_put_u16(&q, GL_NS_DUMP); /* the ns header: op, tenant 0 (admin), time */
		gl_put_u32(&q, 0);
		gl_put_u64(&q, 0);
		gl_put_u32(&q, (uint32_t)vol);
		if (page) {
			gl_put_u16(&q, last_len);
			gl_put_bytes(&q, last, last_len);
			gl_put_u32(&q, GL_NS_DUMP_PAGE);
		}
		rc = gl_md_call(p, sh, &q, &c, GL_MD_TIMEOUT_MS);
		gl_wbuf_free(&q);
		if (rc == 0) {
			uint32_t len;
			const uint8_t *text;

			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			len = gl_get_u32(&r);
			text = gl_get_bytes(&r, len);
			more = gl_get_u8(&r);
			last_len = gl_get_u16(&r);
			if (last_len > sizeof(last))
				rc = -GL_EPROTO;
			else
				gl_get_copy(&r, last, last_len);
			if (!rc)
				rc = gl_rbuf_check(&r);
			if (!rc && more && !last_len)
				rc = -GL_EPROTO; /* would ask for the same page again */
			if (!rc)
				fwrite(text, 1, len, stdout);
		}
		gl_rpc_call_done(&c);
	}
	if (rc)
		fprintf(stderr, "glory shard dump: shard %u: %s\n", sh->id, gl_strerror(rc));
	return rc ? 1 : 0;
}

static int shard_member(struct gl_rpc_pool *p, const struct gl_shard_info *sh, int add, long id,
			const char *addr)
{
	char at[GL_ADDR_MAX];
	int rc = -GL_EUNAVAIL;

	for (int hop = 0, j = 0; hop < 10 && j < sh->n; hop++) {
		struct gl_rpc_call c = {.opcode = GL_MD_MEMBER};
		struct gl_wbuf a;
		struct gl_rbuf r;

		if (hop == 0 || !at[0])
			snprintf(at, sizeof(at), "%s", sh->m[j++].addr);
		gl_wbuf_init(&a);
		gl_put_u8(&a, (uint8_t)add);
		gl_put_u64(&a, (uint64_t)id);
		gl_put_str(&a, addr ? addr : "");
		c.args = a.p;
		c.args_len = (uint32_t)a.len;
		rc = gl_rpc_pool_call(p, at, &c, 90000);
		gl_wbuf_free(&a);
		if (rc == -GL_ENOTLEADER) {
			gl_rbuf_init(&r, c.rargs, c.rargs_len);
			gl_get_str(&r, at, sizeof(at));
			if (gl_rbuf_check(&r))
				at[0] = 0;
		} else if (rc == -GL_ECONN || rc == -GL_ECLOSED) {
			at[0] = 0;
		}
		gl_rpc_call_done(&c);
		if (rc != -GL_ENOTLEADER && rc != -GL_ECONN && rc != -GL_ECLOSED)
			break;
	}
	if (rc) {
		fprintf(stderr, "glory shard %s: %s\n", add ? "add" : "remove", gl_strerror(rc));
		return 1;
	}
	printf("%s member %ld %s shard %u\n", add ? "added" : "removed", id, add ? "to" : "from",
	       sh->id);
	return 0;
}

/* NS_LOOKUP of name in a volume's root, asked of one member only (no redirect): shows what that
 * member would answer, for tests of stale reads. */
static int shard_lookup(struct gl_rpc_pool *p, const char *member, long vol, const char *name)
{
	struct gl_rpc_call c = {.opcode = GL_MD_OP};
	struct gl_wbuf a;
	struct gl_rbuf r;
	int rc;

	gl_wbuf_init(&a);
	gl_put_u8(&a, GL_MD_AUTH_ADMIN);
	gl_put_u16(&a, GL_NS_LOOKUP);
	gl_put_u32(&a, 0);
	gl_put_u64(&a, 0);
	gl_put_u32(&a, (uint32_t)vol);
	gl_put_u64(&a, GL_NS_ROOT);
	gl_put_str(&a, name);
	c.args = a.p;
	c.args_len = (uint32_t)a.len;
	rc = a.err ? a.err : gl_rpc_pool_call(p, member, &c, 5000);
	gl_wbuf_free(&a);
	if (rc == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		printf("found ino %llu\n", (unsigned long long)gl_get_u64(&r));
	} else if (rc == -GL_ENOTLEADER) {
		printf("not leader\n");
	} else if (rc == -GL_ENOENT) {
		printf("not found\n");
	} else {
		printf("error: %s\n", gl_strerror(rc));
	}
	gl_rpc_call_done(&c);
	return 0;
}

int cmd_shard(int argc, char **argv)
{
	const char *master = NULL, *addr = NULL, *member = NULL, *name = NULL;
	long shard = -1, id = 0, vol = 0;
	char *pos[2];
	int npos = 0, rc;
	struct gl_rpc_pool *p = NULL;
	struct gl_map m = {0};
	const struct gl_opt opts[] = {
	    {"master", GL_OPT_STR, &master, "GLORY_MASTER", "H:P", "cluster master"},
	    {"shard", GL_OPT_INT, &shard, NULL, "N", "the shard (default: all for status, 0)"},
	    {"id", GL_OPT_INT, &id, NULL, "N", "member id (add, remove)"},
	    {"addr", GL_OPT_STR, &addr, NULL, "H:P", "the new member's address (add)"},
	    {"volume", GL_OPT_INT, &vol, NULL, "ID", "dump only this volume id (dump, lookup)"},
	    {"member", GL_OPT_STR, &member, NULL, "H:P", "the member to ask (lookup)"},
	    {"name", GL_OPT_STR, &name, NULL, "NAME", "a name in the volume's root (lookup)"},
	};
	const struct gl_cmd_help help = {
	    "glory shard status|dump|add|remove|lookup [--shard N] [--id N --addr H:P] "
	    "[--volume ID] [--member H:P --name NAME]",
	    "status: every metadata server of every shard with its raft role, term, commit and "
	    "applied index. dump: the shard's whole state as canonical text, read from its leader "
	    "(identical state gives identical text). add: makes the server --id at --addr (started "
	    "with 'glory mds' without --peers) a member; it catches up, by snapshot if needed, "
	    "then votes. remove: takes member --id out of the shard. lookup: asks one member "
	    "(--member) for NAME in the root of volume --volume, without redirects: prints "
	    "'found', 'not found' or 'not leader' (a member cut off from the majority must never "
	    "answer from stale state).",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), pos, 2, &npos);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (npos != 1 ||
	    (strcmp(pos[0], "status") && strcmp(pos[0], "dump") && strcmp(pos[0], "add") &&
	     strcmp(pos[0], "remove") && strcmp(pos[0], "lookup"))) {
		fprintf(stderr,
			"glory shard: say status, dump, add, remove or lookup (see --help)\n");
		return 2;
	}
	if (strcmp(pos[0], "lookup") == 0) {
		if (!member || !name || vol <= 0) {
			fprintf(stderr,
				"glory shard lookup: needs --member, --volume and --name\n");
			return 2;
		}
		rc = gl_rpc_pool_new(2000, &p);
		if (!rc)
			rc = shard_lookup(p, member, vol, name);
		if (p)
			gl_rpc_pool_free(p);
		return rc ? 1 : 0;
	}
	if (!master) {
		fprintf(stderr, "glory shard: no master given: use --master H:P or set "
				"GLORY_MASTER\n");
		return 2;
	}
	if ((strcmp(pos[0], "add") == 0 && (id <= 0 || !addr)) ||
	    (strcmp(pos[0], "remove") == 0 && id <= 0)) {
		fprintf(stderr, "glory shard %s: needs --id N%s\n", pos[0],
			strcmp(pos[0], "add") == 0 ? " and --addr H:P" : "");
		return 2;
	}
	rc = gl_rpc_pool_new(2000, &p);
	if (!rc)
		rc = gl_ms_get_map(p, master, &m);
	if (rc) {
		fprintf(stderr, "glory shard: cannot reach the master at %s: %s\n", master,
			gl_strerror(rc));
		rc = 1;
		goto out;
	}
	if (strcmp(pos[0], "status") == 0) {
		rc = shard_status(p, &m, shard);
	} else {
		const struct gl_shard_info *sh = gl_map_shard(&m, shard < 0 ? 0 : (uint32_t)shard);

		if (!sh) {
			fprintf(stderr, "glory shard %s: no shard %ld in the cluster map\n", pos[0],
				shard < 0 ? 0 : shard);
			rc = 1;
		} else if (strcmp(pos[0], "dump") == 0) {
			rc = shard_dump(p, sh, vol);
		} else {
			rc = shard_member(p, sh, strcmp(pos[0], "add") == 0, id, addr);
		}
	}
out:
	gl_map_free(&m);
	if (p)
		gl_rpc_pool_free(p);
	return rc;
}

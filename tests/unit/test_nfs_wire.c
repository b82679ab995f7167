/* NFS gateway: the pure wire code. File handles, record marking, the RPC call header and
 * AUTH_SYS, the NFSv3 and MOUNT argument decoders, XDR bounds, export options and the
 * permission bits ACCESS reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateways/nfs/nfs_internal.h"

#include <errno.h>

/* A tiny XDR writer for the tests' inputs. */
struct enc {
	uint8_t b[4096];
	size_t n;
};

static void e32(struct enc *e, uint32_t v)
{
	e->b[e->n++] = (uint8_t)(v >> 24);
	e->b[e->n++] = (uint8_t)(v >> 16);
	e->b[e->n++] = (uint8_t)(v >> 8);
	e->b[e->n++] = (uint8_t)v;
}

static void e64(struct enc *e, uint64_t v)
{
	e32(e, (uint32_t)(v >> 32));
	e32(e, (uint32_t)v);
}

static void eopaque(struct enc *e, const void *p, uint32_t n)
{
	e32(e, n);
	memcpy(e->b + e->n, p, n);
	e->n += n;
	while (e->n & 3)
		e->b[e->n++] = 0;
}

static void efh(struct enc *e, uint32_t vol, uint64_t ino, uint64_t gen)
{
	struct nfs_handle h = {vol, ino, gen};
	struct nfs_fh3 fh;

	nfs_fh_encode(&h, &fh);
	eopaque(e, fh.data, fh.len);
}

static void test_fh_roundtrip(void **state)
{
	struct nfs_handle h = {7, 0x0102030405060708ull, 0xfedcba9876543210ull}, back;
	struct nfs_fh3 fh;

	(void)state;
	nfs_fh_encode(&h, &fh);
	assert_int_equal(fh.len, NFS_FH_LEN);
	assert_int_equal(fh.data[0], NFS_FH_VERSION);
	/* big-endian fields at fixed offsets: the format is frozen */
	assert_int_equal(fh.data[7], 7);
	assert_int_equal(fh.data[8], 0x01);
	assert_int_equal(fh.data[15], 0x08);
	assert_int_equal(fh.data[16], 0xfe);
	assert_int_equal(nfs_fh_decode(&fh, &back), 0);
	assert_int_equal(back.vol, 7);
	assert_true(back.ino == h.ino && back.gen == h.gen);
}

static void test_fh_bad(void **state)
{
	struct nfs_handle h = {1, 1, 1}, back;
	struct nfs_fh3 fh;

	(void)state;
	nfs_fh_encode(&h, &fh);
	fh.len = 23;
	assert_int_equal(nfs_fh_decode(&fh, &back), -EBADMSG);
	nfs_fh_encode(&h, &fh);
	fh.data[0] = 2; /* another version */
	assert_int_equal(nfs_fh_decode(&fh, &back), -EBADMSG);
	nfs_fh_encode(&h, &fh);
	fh.data[2] = 1; /* reserved bits set */
	assert_int_equal(nfs_fh_decode(&fh, &back), -EBADMSG);
	h.ino = 0; /* no inode 0 */
	nfs_fh_encode(&h, &fh);
	assert_int_equal(nfs_fh_decode(&fh, &back), -EBADMSG);
	fh.len = 0;
	assert_int_equal(nfs_fh_decode(&fh, &back), -EBADMSG);
}

static void test_rm_fragments(void **state)
{
	/* two records: "abcdefgh" in fragments of 3 and 5, then "xyz!" in one */
	const uint8_t in[] = {0,   0,	0,   3,	  'a',	'b', 'c', 0x80, 0,   0,	  5,   'd',
			      'e', 'f', 'g', 'h', 0x80, 0,   0,	  4,	'x', 'y', 'z', '!'};
	struct nfs_rm rm;
	uint8_t *buf;
	size_t len, used = 0;
	int done, records = 0;

	(void)state;
	/* byte by byte: every split point of headers and data */
	nfs_rm_init(&rm, 1024);
	while (used < sizeof(in)) {
		long k = nfs_rm_feed(&rm, in + used, 1, &done);

		assert_int_equal(k, 1);
		used++;
		if (done) {
			nfs_rm_take(&rm, &buf, &len);
			if (records++ == 0)
				assert_memory_equal(buf, "abcdefgh", (len = 8, 8));
			else
				assert_memory_equal(buf, "xyz!", 4);
			free(buf);
		}
	}
	assert_int_equal(records, 2);
	/* all at once: stops after the first record */
	long k = nfs_rm_feed(&rm, in, sizeof(in), &done);
	assert_true(done);
	assert_int_equal(k, 16);
	nfs_rm_take(&rm, &buf, &len);
	assert_int_equal(len, 8);
	free(buf);
	nfs_rm_fini(&rm);
}

static void test_rm_limit(void **state)
{
	const uint8_t big[] = {0x80, 0, 4, 1}; /* 1025 bytes */
	const uint8_t parts[] = {0, 0, 2, 0, 0};
	uint8_t data[600] = {0};
	struct nfs_rm rm;
	int done;

	(void)state;
	nfs_rm_init(&rm, 1024);
	assert_int_equal(nfs_rm_feed(&rm, big, 4, &done), -E2BIG);
	nfs_rm_fini(&rm);
	/* two non-last fragments of 512: the second passes the limit */
	nfs_rm_init(&rm, 1000);
	assert_int_equal(nfs_rm_feed(&rm, parts, 4, &done), 4);
	assert_int_equal(nfs_rm_feed(&rm, data, 512, &done), 512);
	assert_false(done);
	assert_int_equal(nfs_rm_feed(&rm, parts, 4, &done), -E2BIG);
	nfs_rm_fini(&rm);
	/* an empty last fragment ends an empty record */
	nfs_rm_init(&rm, 1000);
	{
		const uint8_t empty[] = {0x80, 0, 0, 0};
		uint8_t *buf;
		size_t len;

		assert_int_equal(nfs_rm_feed(&rm, empty, 4, &done), 4);
		assert_true(done);
		nfs_rm_take(&rm, &buf, &len);
		assert_int_equal(len, 0);
		free(buf);
	}
	nfs_rm_fini(&rm);
}

static void call_head(struct enc *e, uint32_t rpcvers, uint32_t flavor, uint32_t ngids)
{
	struct enc body = {0};

	e32(e, 0x1234);
	e32(e, NR_CALL);
	e32(e, rpcvers);
	e32(e, NFS_PROGRAM);
	e32(e, NFS_V3);
	e32(e, NFS3_GETATTR);
	e32(e, flavor);
	e32(&body, 99); /* stamp */
	eopaque(&body, "client", 6);
	e32(&body, 1000);
	e32(&body, 100);
	e32(&body, ngids);
	for (uint32_t i = 0; i < ngids; i++)
		e32(&body, 200 + i);
	eopaque(e, body.b, (uint32_t)body.n);
	e32(e, 0);
	e32(e, 0);
}

static void test_rpc_call(void **state)
{
	struct enc e = {0};
	struct nx_in x;
	struct rpc_call c;

	(void)state;
	call_head(&e, 2, NR_AUTH_SYS, 3);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(rpc_decode_call(&x, &c), 0);
	assert_int_equal(c.xid, 0x1234);
	assert_int_equal(c.proc, NFS3_GETATTR);
	assert_int_equal(c.cred.uid, 1000);
	assert_int_equal(c.cred.gid, 100);
	assert_int_equal(c.cred.ngids, 3);
	assert_int_equal(c.cred.gids[2], 202);
	assert_string_equal(c.cred.machine, "client");
	assert_int_equal(x.pos, e.n);

	e.n = 0;
	call_head(&e, 3, NR_AUTH_SYS, 0);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(rpc_decode_call(&x, &c), -EBADMSG);

	e.n = 0;
	call_head(&e, 2, NR_AUTH_SYS, 17);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(rpc_decode_call(&x, &c), -EACCES);

	e.n = 0;
	call_head(&e, 2, 390004 /* RPCSEC_GSS: treated as nobody */, 0);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(rpc_decode_call(&x, &c), 0);
	assert_int_equal(c.cred.flavor, NR_AUTH_NONE);
	assert_int_equal(c.cred.uid, NFS_NOBODY);

	/* every truncation is refused, never read past */
	e.n = 0;
	call_head(&e, 2, NR_AUTH_SYS, 2);
	for (size_t cut = 0; cut < e.n; cut++) {
		nx_in_init(&x, e.b, cut);
		assert_int_not_equal(rpc_decode_call(&x, &c), 0);
	}
}

static void test_args_write(void **state)
{
	struct enc e = {0};
	union nfs3_args a;
	struct nx_in x;

	(void)state;
	efh(&e, 1, 5, 9);
	e64(&e, 5ull << 30);
	e32(&e, 5);
	e32(&e, NFS3_UNSTABLE);
	eopaque(&e, "hello", 5);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_WRITE, &x, &a), 0);
	assert_true(a.write.offset == 5ull << 30);
	assert_int_equal(a.write.count, 5);
	assert_int_equal(a.write.len, 5);
	assert_memory_equal(a.write.data, "hello", 5);
	assert_ptr_equal(a.write.data, e.b + e.n - 8); /* a view, not a copy */

	e.b[e.n - 16 + 3] = 3; /* stable_how 3 */
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_WRITE, &x, &a), -EPROTO);

	e.n = 0; /* data longer than the largest WRITE */
	efh(&e, 1, 5, 9);
	e64(&e, 0);
	e32(&e, 1);
	e32(&e, NFS3_FILE_SYNC);
	e32(&e, NFS_MAX_IO + 1);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_WRITE, &x, &a), -EPROTO);
}

static void test_args_names(void **state)
{
	char longname[300];
	struct enc e = {0};
	union nfs3_args a;
	struct nx_in x;

	(void)state;
	memset(longname, 'n', sizeof(longname));
	efh(&e, 1, 1, 1);
	eopaque(&e, longname, 256);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_LOOKUP, &x, &a), 0);
	assert_true(a.dirop.too_long); /* valid XDR: answered NAMETOOLONG */

	e.n = 0;
	efh(&e, 1, 1, 1);
	eopaque(&e, "a\0b", 3);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_REMOVE, &x, &a), -EPROTO);

	e.n = 0; /* RENAME: two names */
	efh(&e, 1, 1, 1);
	eopaque(&e, "from", 4);
	efh(&e, 1, 2, 1);
	eopaque(&e, "to", 2);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_RENAME, &x, &a), 0);
	assert_string_equal(a.rename.from.name, "from");
	assert_string_equal(a.rename.to.name, "to");
	assert_int_equal(a.rename.to.dir.len, NFS_FH_LEN);

	e.n = 0; /* a handle longer than 64 bytes */
	eopaque(&e, longname, 65);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_GETATTR, &x, &a), -EPROTO);
}

static void test_args_create_setattr(void **state)
{
	struct enc e = {0};
	union nfs3_args a;
	struct nx_in x;

	(void)state;
	efh(&e, 1, 1, 1);
	eopaque(&e, "f", 1);
	e32(&e, NFS3_EXCLUSIVE);
	e64(&e, 0x0102030405060708ull);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_CREATE, &x, &a), 0);
	assert_int_equal(a.create.mode, NFS3_EXCLUSIVE);
	assert_int_equal(a.create.verf[7], 8);

	e.n = 0; /* SETATTR: mode, size, mtime to client time, guard */
	efh(&e, 1, 3, 1);
	e32(&e, 1);
	e32(&e, 0640);
	e32(&e, 0);
	e32(&e, 0);
	e32(&e, 1);
	e64(&e, 1ull << 33);
	e32(&e, NFS3_SET_TO_SERVER_TIME);
	e32(&e, NFS3_SET_TO_CLIENT_TIME);
	e32(&e, 77);
	e32(&e, 88);
	e32(&e, 1);
	e32(&e, 5);
	e32(&e, 6);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_SETATTR, &x, &a), 0);
	assert_true(a.setattr.attr.set_mode && a.setattr.attr.mode == 0640);
	assert_true(a.setattr.attr.set_size && a.setattr.attr.size == 1ull << 33);
	assert_false(a.setattr.attr.set_uid);
	assert_int_equal(a.setattr.attr.atime_how, NFS3_SET_TO_SERVER_TIME);
	assert_int_equal(a.setattr.attr.mtime.sec, 77);
	assert_int_equal(a.setattr.attr.mtime.nsec, 88);
	assert_true(a.setattr.check && a.setattr.ctime.sec == 5 && a.setattr.ctime.nsec == 6);

	e.b[e.n - 44 + 3] = 2; /* set_mode bool 2 */
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_SETATTR, &x, &a), -EPROTO);

	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nfs3_decode_args(NFS3_NPROC, &x, &a), -ENOSYS);
}

static void test_mnt_path(void **state)
{
	char path[MNT3_PATH_MAX + 1], big[MNT3_PATH_MAX + 1];
	struct enc e = {0};
	struct nx_in x;

	(void)state;
	eopaque(&e, "/t/v/dir", 8);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(mnt3_decode_path(&x, path), 0);
	assert_string_equal(path, "/t/v/dir");
	e.n = 0;
	memset(big, '/', sizeof(big));
	eopaque(&e, big, MNT3_PATH_MAX + 1);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(mnt3_decode_path(&x, path), -EPROTO);
}

static void test_nlm_args(void **state)
{
	struct enc e = {0};
	struct nlm4_args *a = malloc(sizeof(*a));
	struct nx_in x;

	(void)state;
	eopaque(&e, "ck", 2); /* cookie */
	e32(&e, 1);	      /* block */
	e32(&e, 1);	      /* exclusive */
	eopaque(&e, "client", 6);
	efh(&e, 1, 42, 7);
	eopaque(&e, "owner", 5);
	e32(&e, 1234); /* svid */
	e64(&e, 4096);
	e64(&e, 0); /* to the end */
	e32(&e, 0); /* reclaim */
	e32(&e, 3); /* state */
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nlm4_decode_args(NLM4_LOCK, &x, a), 0);
	assert_true(a->block && a->exclusive && !a->reclaim);
	assert_string_equal(a->caller, "client");
	assert_int_equal(a->fh.len, NFS_FH_LEN);
	assert_int_equal(a->oh_len, 5);
	assert_int_equal(a->svid, 1234);
	assert_true(a->offset == 4096 && a->len == 0 && a->state == 3);
	for (size_t cut = 0; cut < e.n; cut += 4) { /* every truncation refused */
		nx_in_init(&x, e.b, cut);
		assert_int_equal(nlm4_decode_args(NLM4_LOCK, &x, a), -EPROTO);
	}
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nlm4_decode_args(NLM4_SHARE, &x, a), -ENOSYS);
	free(a);
}

static void test_nsm_args(void **state)
{
	static const uint8_t priv[SM_PRIV_SIZE] = "0123456789abcdef";
	struct nsm_args *a = malloc(sizeof(*a));
	char big[SM_MAXSTRLEN + 1];
	struct enc e = {0};
	struct nx_in x;

	(void)state;
	eopaque(&e, "client1", 7); /* mon: mon_id (mon_name, my_id), priv */
	eopaque(&e, "localhost", 9);
	e32(&e, 100021);
	e32(&e, 4);
	e32(&e, 16);
	memcpy(e.b + e.n, priv, SM_PRIV_SIZE);
	e.n += SM_PRIV_SIZE;
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nsm_decode_args(SM_MON, &x, a), 0);
	assert_string_equal(a->mon_name, "client1");
	assert_string_equal(a->my_name, "localhost");
	assert_true(a->my_prog == 100021 && a->my_vers == 4 && a->my_proc == 16);
	assert_memory_equal(a->priv, priv, SM_PRIV_SIZE);
	for (size_t cut = 0; cut < e.n; cut += 4) { /* every truncation refused */
		nx_in_init(&x, e.b, cut);
		assert_int_equal(nsm_decode_args(SM_MON, &x, a), -EPROTO);
	}
	e.n = 0; /* stat_chge: mon_name, state */
	eopaque(&e, "client1", 7);
	e32(&e, 0xfffffffdu);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nsm_decode_args(SM_NOTIFY, &x, a), 0);
	assert_true(!strcmp(a->mon_name, "client1") && a->state == -3);
	e.n = 0; /* a name over SM_MAXSTRLEN, and one with a NUL in it */
	memset(big, 'h', sizeof(big));
	eopaque(&e, big, SM_MAXSTRLEN + 1);
	e32(&e, 1);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nsm_decode_args(SM_NOTIFY, &x, a), -EPROTO);
	e.n = 0;
	eopaque(&e, "a\0b", 3);
	nx_in_init(&x, e.b, e.n);
	assert_int_equal(nsm_decode_args(SM_STAT, &x, a), -EPROTO);
	nx_in_init(&x, e.b, 0);
	assert_int_equal(nsm_decode_args(SM_NULL, &x, a), 0);
	assert_int_equal(nsm_decode_args(SM_SIMU_CRASH, &x, a), -ENOSYS);
	free(a);
}

static void test_xdr_out(void **state)
{
	struct nx_out o;

	(void)state;
	assert_int_equal(nx_out_init(&o, 0), 0);
	nx_put_string(&o, "abcde");
	assert_int_equal(o.len, 12);
	assert_memory_equal(o.p, "\0\0\0\5abcde\0\0\0", 12);
	for (int i = 0; i < 10000; i++) /* grows */
		nx_put_u64(&o, (uint64_t)i);
	assert_int_equal(o.len, 12 + 80000);
	assert_int_equal(o.err, 0);
	nx_out_free(&o);
}

static void test_export_parse(void **state)
{
	struct nfs_export e;
	char msg[256];

	(void)state;
	assert_int_equal(nfs_export_parse("t/v", &e, msg, sizeof(msg)), 0);
	assert_string_equal(e.tenant, "t");
	assert_string_equal(e.vol, "v");
	assert_false(e.ro || e.no_root_squash || e.nclients);
	assert_true(nfs_export_allows(&e, 0x0a000001));
	assert_int_equal(
	    nfs_export_parse("acme/vms:no_root_squash,ro,clients=10.1.0.0/16+192.168.1.7", &e, msg,
			     sizeof(msg)),
	    0);
	assert_true(e.ro && e.no_root_squash);
	assert_int_equal(e.nclients, 2);
	assert_true(nfs_export_allows(&e, 0x0a01ffff));
	assert_false(nfs_export_allows(&e, 0x0a020001));
	assert_true(nfs_export_allows(&e, 0xc0a80107));
	assert_false(nfs_export_allows(&e, 0xc0a80108));
	assert_int_equal(nfs_export_parse("novol", &e, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(nfs_export_parse("t/", &e, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(nfs_export_parse("/v", &e, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(nfs_export_parse("t/v/w", &e, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(nfs_export_parse("t/v:sync", &e, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "no_root_squash"));
	assert_int_equal(nfs_export_parse("t/v:clients=10.0.0.0/33", &e, msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(nfs_export_parse("t/v:clients=host.name", &e, msg, sizeof(msg)), -EINVAL);
}

static void test_access_bits(void **state)
{
	struct nfs_cred owner = {.flavor = NR_AUTH_SYS, .uid = 10, .gid = 20};
	struct nfs_cred other = {
	    .flavor = NR_AUTH_SYS, .uid = 11, .gid = 21, .ngids = 1, .gids = {20}};
	struct nfs_cred root = {.flavor = NR_AUTH_SYS, .uid = 0, .gid = 0};
	struct glory_attr file = {.mode = 0100640, .uid = 10, .gid = 20};
	struct glory_attr dir = {.mode = 0040750, .uid = 10, .gid = 20};

	(void)state;
	assert_int_equal(nfs_access_bits(&owner, &file, 0x3f),
			 NFS3_ACCESS_READ | NFS3_ACCESS_MODIFY | NFS3_ACCESS_EXTEND);
	/* a supplementary group counts */
	assert_int_equal(nfs_access_bits(&other, &file, 0x3f), NFS3_ACCESS_READ);
	assert_int_equal(nfs_access_bits(&other, &dir, 0x3f),
			 NFS3_ACCESS_READ | NFS3_ACCESS_LOOKUP);
	assert_int_equal(nfs_access_bits(&owner, &dir, NFS3_ACCESS_DELETE), NFS3_ACCESS_DELETE);
	/* root: everything but execute of a file nobody may execute */
	assert_int_equal(nfs_access_bits(&root, &file, 0x3f) & NFS3_ACCESS_EXECUTE, 0);
	assert_int_equal(nfs_may(&root, &file, 6), 0);
	assert_int_equal(nfs_may(&other, &file, 2), NFS3ERR_ACCES);
	other.ngids = 0;
	assert_int_equal(nfs_access_bits(&other, &file, 0x3f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fh_roundtrip), cmocka_unit_test(test_fh_bad),
	    cmocka_unit_test(test_rm_fragments), cmocka_unit_test(test_rm_limit),
	    cmocka_unit_test(test_rpc_call),	 cmocka_unit_test(test_args_write),
	    cmocka_unit_test(test_args_names),	 cmocka_unit_test(test_args_create_setattr),
	    cmocka_unit_test(test_mnt_path),	 cmocka_unit_test(test_nlm_args),
	    cmocka_unit_test(test_nsm_args),	 cmocka_unit_test(test_xdr_out),
	    cmocka_unit_test(test_export_parse), cmocka_unit_test(test_access_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* nfs_check: drives the glory NFS gateway with libnfs's raw RPC API and checks what a client
 * sees, procedure by procedure. Run by tests/cluster/test_nfs*.sh:
 *
 *   nfs_check HOST NFSPORT MOUNTPORT EXPORT CMD [ARGS]
 *     procs DIR            every NFSv3 procedure, attributes, WCC data and errors, in DIR (new)
 *     user DIR             as uid/gid $NFS_UID/$NFS_GID: what permissions refuse, in DIR
 *     rofs                 the export is read-only: changes get NFS3ERR_ROFS
 *     sparse NAME          a file written at 5 GiB: size, holes, data
 *     bigdir DIR N         N files in DIR, listed in small pages by READDIR and READDIRPLUS
 *     unstable NAME MiB SEED STATE   UNSTABLE writes, no COMMIT: state kept in STATE
 *     commit STATE LOCAL   COMMIT; a changed verifier: resend and COMMIT again; LOCAL = bytes
 *     savefh NAME FILE / checkfh FILE   handles across a gateway restart
 *     errno NAME STATUS... expects WRITE of 1 MiB FILE_SYNC to NAME to give one of STATUS
 *     read NAME STATUS     reads NAME whole: expects it to end with STATUS
 *     exports              prints the export list (MOUNT EXPORT)
 *     mountprocs           MNT errors, DUMP, UMNT, UMNTALL
 *     crossgw NAME PORT    changed through the gateway at PORT (truncated, rewritten): seen here
 *     parallel NAME MiB    a GETATTR sent after a long COMMIT is answered before it
 * Prints "ok: ..." or "FAIL: ..." per check; exits 1 if anything failed.
 */
#include "nfs_ops.h"

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdarg.h>
#include <unistd.h>

static int fails;
static const char *host, *export_path;
static int nport, mport;

__attribute__((format(printf, 2, 3))) static void expect(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	fails += !ok;
}

static const char *st_name(int st)
{
	return st < 0 ? "RPC failure" : nfsstat3_to_str(st);
}

static void expect_st(int got, int want, const char *what)
{
	expect(got == want, "%s: %s (expected %s)", what, st_name(got), st_name(want));
}

static struct rpc_context *connect_nfs(uint32_t uid, uint32_t gid, struct fh *root)
{
	int st = mnt(host, mport, export_path, root);

	if (st != MNT3_OK) {
		fprintf(stderr, "nfs_check: MNT %s: %d\n", export_path, st);
		return NULL;
	}
	return rpc_open(host, nport, NFS_PROGRAM, NFS_V3, uid, gid);
}

static uint64_t rng_state;
static uint8_t rnd8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)rng_state;
}

static void fill(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)rnd8();
}

/* ---- procs: every procedure as its owner (root, no_root_squash export) ---- */
static void check_fsinfo(struct rpc_context *rpc, const struct fh *root)
{
	FSINFO3args a;
	FSINFO3res r;
	FSSTAT3args sa;
	FSSTAT3res sr;
	PATHCONF3args pa;
	PATHCONF3res pr;
	struct call c = {.out = &r, .outsz = sizeof(r)}, c2 = {.out = &sr, .outsz = sizeof(sr)};
	struct call c3 = {.out = &pr, .outsz = sizeof(pr)};

	fh_set(&a.fsroot, root);
	fh_set(&sa.fsroot, root);
	fh_set(&pa.object, root);
	if (!CALL(rpc, c, rpc_nfs3_fsinfo_async(rpc, call_cb, &a, &c)) && r.status == NFS3_OK) {
		FSINFO3resok *o = &r.FSINFO3res_u.resok;

		expect(o->rtmax == 1 << 20 && o->wtmax == 1 << 20,
		       "FSINFO rtmax %u wtmax %u (1 MiB)", o->rtmax, o->wtmax);
		expect(o->time_delta.seconds == 0 && o->time_delta.nseconds == 1,
		       "FSINFO time_delta 1 ns");
		expect(o->maxfilesize >= (1ull << 62), "FSINFO maxfilesize %" PRIu64,
		       o->maxfilesize);
		expect((o->properties & 0x1b) == 0x1b,
		       "FSINFO properties: link, symlink, homogeneous, cansettime");
		expect(o->dtpref >= 4096, "FSINFO dtpref %u", o->dtpref);
	} else {
		expect(0, "FSINFO");
	}
	if (!CALL(rpc, c2, rpc_nfs3_fsstat_async(rpc, call_cb, &sa, &c2)) && sr.status == NFS3_OK)
		expect(sr.FSSTAT3res_u.resok.tbytes > 0 &&
			   sr.FSSTAT3res_u.resok.fbytes <= sr.FSSTAT3res_u.resok.tbytes &&
			   sr.FSSTAT3res_u.resok.tfiles > 0,
		       "FSSTAT: %" PRIu64 " bytes, %" PRIu64 " free, %" PRIu64 " files",
		       sr.FSSTAT3res_u.resok.tbytes, sr.FSSTAT3res_u.resok.fbytes,
		       sr.FSSTAT3res_u.resok.tfiles);
	else
		expect(0, "FSSTAT");
	if (!CALL(rpc, c3, rpc_nfs3_pathconf_async(rpc, call_cb, &pa, &c3)) && pr.status == NFS3_OK)
		expect(pr.PATHCONF3res_u.resok.name_max == 255 &&
			   pr.PATHCONF3res_u.resok.no_trunc &&
			   pr.PATHCONF3res_u.resok.case_preserving,
		       "PATHCONF name_max 255, no_trunc, case preserving");
	else
		expect(0, "PATHCONF");
}

static void check_null(struct rpc_context *rpc)
{
	struct call c = {0};

	expect(CALL(rpc, c, rpc_nfs3_null_async(rpc, call_cb, &c)) == 0, "NULL answers");
}

static void check_files(struct rpc_context *rpc, const struct fh *d)
{
	struct newobj o, o2;
	struct lookup l;
	struct wres w;
	struct rres rr;
	char buf[512], verf[8], v1[8] = "verf0001", v2[8] = "verf0002";
	fattr3 a;
	sattr3 s;
	wcc_data wcc;
	uint32_t got;

	expect_st(t3_create(rpc, d, "f", UNCHECKED, 0640, NULL, &o), NFS3_OK, "CREATE UNCHECKED");
	expect(o.has_attr && o.attr.type == NF3REG && o.attr.mode == 0640 && o.attr.size == 0 &&
		   o.attr.uid == 0,
	       "CREATE: a regular file, mode 0640, size 0, owned by the caller");
	expect(o.dir_wcc.before.attributes_follow && o.dir_wcc.after.attributes_follow,
	       "CREATE: directory WCC data before and after");
	expect_st(t3_create(rpc, d, "f", GUARDED, 0640, NULL, &o2), NFS3ERR_EXIST,
		  "CREATE GUARDED over an existing file");
	expect_st(t3_create(rpc, d, "f", UNCHECKED, 0640, NULL, &o2), NFS3_OK,
		  "CREATE UNCHECKED over an existing file");
	expect(o2.attr.fileid == o.attr.fileid, "... gives the same file");
	expect_st(t3_create(rpc, d, "x", EXCLUSIVE, 0, v1, &o2), NFS3_OK, "CREATE EXCLUSIVE");
	expect_st(t3_create(rpc, d, "x", EXCLUSIVE, 0, v1, &o2), NFS3_OK,
		  "CREATE EXCLUSIVE retransmitted (same verifier)");
	expect_st(t3_create(rpc, d, "x", EXCLUSIVE, 0, v2, &o2), NFS3ERR_EXIST,
		  "CREATE EXCLUSIVE with another verifier");

	expect_st(t3_write(rpc, &o.fh, 0, "hello", 5, FILE_SYNC, &w), NFS3_OK, "WRITE FILE_SYNC");
	expect(w.count == 5 && w.committed == FILE_SYNC, "WRITE: count 5, committed FILE_SYNC");
	expect(w.wcc.before.attributes_follow && w.wcc.after.attributes_follow &&
		   w.wcc.before.pre_op_attr_u.attributes.size == 0 &&
		   w.wcc.after.post_op_attr_u.attributes.size == 5,
	       "WRITE: WCC size 0 before, 5 after");
	expect_st(t3_write(rpc, &o.fh, 5, " world", 6, UNSTABLE, &w), NFS3_OK, "WRITE UNSTABLE");
	expect(w.committed == UNSTABLE, "WRITE UNSTABLE: committed UNSTABLE");
	expect_st(t3_getattr(rpc, &o.fh, &a), NFS3_OK, "GETATTR");
	expect(a.size == 11, "GETATTR sees the buffered UNSTABLE write (size %" PRIu64 ")", a.size);
	expect_st(t3_read(rpc, &o.fh, 0, 100, buf, &rr), NFS3_OK, "READ");
	expect(rr.count == 11 && !memcmp(buf, "hello world", 11) && rr.eof,
	       "READ: \"hello world\" and eof");
	expect_st(t3_commit(rpc, &o.fh, verf), NFS3_OK, "COMMIT");
	expect(!memcmp(verf, w.verf, 8), "COMMIT: the verifier of the WRITE (no restart)");
	expect_st(t3_write(rpc, &o.fh, 11, "!", 1, DATA_SYNC, &w), NFS3_OK, "WRITE DATA_SYNC");
	expect(w.committed != UNSTABLE, "WRITE DATA_SYNC: committed");

	sattr_mode(&s, 0600);
	expect_st(t3_setattr(rpc, &o.fh, &s, NULL, &wcc), NFS3_OK, "SETATTR mode");
	expect(wcc.after.post_op_attr_u.attributes.mode == 0600 &&
		   wcc.before.pre_op_attr_u.attributes.size == 12,
	       "SETATTR: mode 0600 after, WCC before");
	t3_getattr(rpc, &o.fh, &a);
	{
		nfstime3 wrong = a.ctime;

		wrong.seconds ^= 1;
		expect_st(t3_setattr(rpc, &o.fh, &s, &wrong, NULL), NFS3ERR_NOT_SYNC,
			  "SETATTR guarded by a wrong ctime");
		expect_st(t3_setattr(rpc, &o.fh, &s, &a.ctime, NULL), NFS3_OK,
			  "SETATTR guarded by the right ctime");
	}
	sattr_mode(&s, -1);
	s.size.set_it = 1;
	s.size.set_size3_u.size = 3;
	s.mtime.set_it = SET_TO_CLIENT_TIME;
	s.mtime.set_mtime_u.mtime.seconds = 1000000000;
	s.mtime.set_mtime_u.mtime.nseconds = 123456789;
	expect_st(t3_setattr(rpc, &o.fh, &s, NULL, NULL), NFS3_OK, "SETATTR size and mtime");
	t3_getattr(rpc, &o.fh, &a);
	t3_read(rpc, &o.fh, 0, 100, buf, &rr);
	expect(a.size == 3 && rr.count == 3 && !memcmp(buf, "hel", 3),
	       "SETATTR size 3 truncates (read \"hel\")");
	expect(a.mtime.seconds == 1000000000 && a.mtime.nseconds == 123456789,
	       "SETATTR mtime kept to the nanosecond");
	expect_st(t3_access(rpc, &o.fh, 0x3f, &got), NFS3_OK, "ACCESS");
	expect((got & (ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND)) ==
		       (ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND) &&
		   !(got & ACCESS3_EXECUTE),
	       "ACCESS: read, modify, extend; no execute on a 0600 file (0x%x)", got);

	expect_st(t3_lookup(rpc, d, "f", &l), NFS3_OK, "LOOKUP");
	expect(l.attr.fileid == o.attr.fileid && l.fh.len == o.fh.len &&
		   !memcmp(l.fh.data, o.fh.data, l.fh.len),
	       "LOOKUP: the handle CREATE gave");
	expect_st(t3_lookup(rpc, d, "missing", &l), NFS3ERR_NOENT, "LOOKUP of a missing name");
	memset(buf, 'n', 255);
	buf[255] = 'n';
	buf[256] = '\0';
	expect_st(t3_lookup(rpc, d, buf, &l), NFS3ERR_NAMETOOLONG, "LOOKUP of a 256-byte name");
	expect_st(t3_lookup(rpc, &o.fh, "x", &l), NFS3ERR_NOTDIR, "LOOKUP in a file");
	expect_st(t3_create(rpc, d, buf, UNCHECKED, 0644, NULL, &o2), NFS3ERR_NAMETOOLONG,
		  "CREATE of a 256-byte name");
}

static void check_names(struct rpc_context *rpc, const struct fh *d)
{
	struct newobj o, f, sub;
	struct lookup l, l2;
	char target[4097];
	fattr3 a;

	t3_lookup(rpc, d, "f", &l);
	expect_st(t3_symlink(rpc, d, "s", "some/target", &o), NFS3_OK, "SYMLINK");
	expect(o.attr.type == NF3LNK && o.attr.size == 11, "SYMLINK: a link of size 11");
	expect_st(t3_readlink(rpc, &o.fh, target), NFS3_OK, "READLINK");
	expect(!strcmp(target, "some/target"), "READLINK: the target (%s)", target);
	expect_st(t3_readlink(rpc, &l.fh, target), NFS3ERR_INVAL, "READLINK of a regular file");
	expect_st(t3_mknod(rpc, d, "p", NF3FIFO, 0, 0, &o), NFS3_OK, "MKNOD FIFO");
	expect(o.attr.type == NF3FIFO && o.attr.mode == 0600, "MKNOD: a FIFO, mode 0600");
	expect_st(t3_mknod(rpc, d, "c", NF3CHR, 1, 3, &o), NFS3_OK, "MKNOD CHR as root");
	expect(o.attr.type == NF3CHR && o.attr.rdev.specdata1 == 1 && o.attr.rdev.specdata2 == 3,
	       "MKNOD: a character device 1,3");
	expect_st(t3_mknod(rpc, d, "r", NF3REG, 0, 0, &o), NFS3ERR_BADTYPE,
		  "MKNOD of a regular file");
	expect_st(t3_link(rpc, &l.fh, d, "f2", &a), NFS3_OK, "LINK");
	expect(a.nlink == 2, "LINK: nlink 2 after (%u)", a.nlink);
	expect_st(t3_link(rpc, &l.fh, d, "f2", &a), NFS3ERR_EXIST, "LINK over an existing name");
	expect_st(t3_link(rpc, d, d, "dirlink", NULL), NFS3ERR_ISDIR, "LINK of a directory");
	expect_st(t3_rename(rpc, d, "f2", d, "f3"), NFS3_OK, "RENAME");
	expect(t3_lookup(rpc, d, "f2", &l2) == NFS3ERR_NOENT &&
		   t3_lookup(rpc, d, "f3", &l2) == NFS3_OK && l2.attr.fileid == l.attr.fileid,
	       "RENAME: the old name is gone, the new one is the same file");
	expect_st(t3_rename(rpc, d, "nothere", d, "f4"), NFS3ERR_NOENT, "RENAME of a missing name");
	expect_st(t3_mkdir(rpc, d, "sub", 0750, &sub), NFS3_OK, "MKDIR");
	expect(sub.attr.type == NF3DIR && sub.attr.mode == 0750, "MKDIR: a directory, mode 0750");
	expect_st(t3_mkdir(rpc, d, "sub", 0750, &o), NFS3ERR_EXIST, "MKDIR of an existing name");
	expect_st(t3_create(rpc, &sub.fh, "inner", UNCHECKED, 0644, NULL, &f), NFS3_OK,
		  "CREATE in the new directory");
	expect_st(t3_rename(rpc, d, "f3", &sub.fh, "moved"), NFS3_OK,
		  "RENAME into another directory");
	expect_st(t3_rename(rpc, d, "sub", d, "f"), NFS3ERR_NOTDIR,
		  "RENAME of a directory over a file");
	expect_st(t3_dirop(rpc, 1, d, "sub"), NFS3ERR_NOTEMPTY, "RMDIR of a non-empty directory");
	expect_st(t3_dirop(rpc, 1, d, "f"), NFS3ERR_NOTDIR, "RMDIR of a file");
	expect_st(t3_dirop(rpc, 0, d, "sub"), NFS3ERR_ISDIR, "REMOVE of a directory");
	expect_st(t3_dirop(rpc, 0, &sub.fh, "inner"), NFS3_OK, "REMOVE");
	expect_st(t3_dirop(rpc, 0, &sub.fh, "inner"), NFS3ERR_NOENT, "REMOVE of a missing name");
	expect_st(t3_getattr(rpc, &f.fh, NULL), NFS3ERR_STALE, "GETATTR of a removed file: STALE");
	expect_st(t3_dirop(rpc, 0, &sub.fh, "moved"), NFS3_OK, "REMOVE of the other link");
	expect_st(t3_dirop(rpc, 1, d, "sub"), NFS3_OK, "RMDIR");
	expect_st(t3_getattr(rpc, &l.fh, &a), NFS3_OK, "the first link lives on");
	expect(a.nlink == 1, "... with nlink 1 (%u)", a.nlink);
}

static void check_bad(struct rpc_context *rpc, const struct fh *d)
{
	struct fh bad = {24, {0}}, shortfh = {3, {1, 2, 3}};
	struct lookup l;
	struct wres w;
	struct rres rr;
	struct dirpage p = {0};
	char buf[16], verf[8] = "bogus!!!";

	memset(bad.data, 0x5a, sizeof(bad.data));
	expect_st(t3_getattr(rpc, &bad, NULL), NFS3ERR_BADHANDLE, "GETATTR of garbage handle");
	expect_st(t3_getattr(rpc, &shortfh, NULL), NFS3ERR_BADHANDLE, "GETATTR of a short handle");
	memcpy(&bad, d, sizeof(bad));
	bad.data[4] ^= 0x40; /* another volume id */
	expect_st(t3_getattr(rpc, &bad, NULL), NFS3ERR_STALE, "GETATTR in an unknown volume");
	memcpy(&bad, d, sizeof(bad));
	bad.data[23] ^= 1; /* another generation */
	expect_st(t3_getattr(rpc, &bad, NULL), NFS3ERR_STALE, "GETATTR with another generation");
	expect_st(t3_write(rpc, d, 0, "x", 1, FILE_SYNC, &w), NFS3ERR_ISDIR,
		  "WRITE to a directory");
	expect_st(t3_read(rpc, d, 0, 10, buf, &rr), NFS3ERR_ISDIR, "READ of a directory");
	t3_lookup(rpc, d, "f", &l);
	expect_st(t3_write(rpc, &l.fh, UINT64_MAX - 1, "xx", 2, FILE_SYNC, &w), NFS3ERR_FBIG,
		  "WRITE past 2^64");
	expect_st(t3_readdir_page(rpc, &l.fh, 0, 0, verf, 4096, &p), NFS3ERR_NOTDIR,
		  "READDIR of a file");
	expect_st(t3_readdir_page(rpc, d, 0, 12345, verf, 4096, &p), NFS3ERR_BAD_COOKIE,
		  "READDIR with a cookie and a wrong verifier");
	expect_st(t3_readdir_page(rpc, d, 1, 0, verf, 64, &p), NFS3ERR_TOOSMALL,
		  "READDIRPLUS with a count too small for one entry");
	dirpage_free(&p);
}

static void check_listing(struct rpc_context *rpc, const struct fh *d)
{
	struct dirpage p;
	int n = t3_readdir_all(rpc, d, 0, 4096, &p), found = 0;

	expect(n >= 1 && p.total == 5, "READDIR lists the 5 names left (%d)", p.total);
	dirpage_free(&p);
	n = t3_readdir_all(rpc, d, 1, 4096, &p);
	for (int i = 0; i < p.total; i++)
		if (!strcmp(p.names[i], "f")) {
			fattr3 a;

			found = p.attrs[i].type == NF3REG && p.attrs[i].size == 3 &&
				t3_getattr(rpc, &p.fhs[i], &a) == NFS3_OK &&
				a.fileid == p.attrs[i].fileid;
		}
	expect(n >= 1 && p.total == 5, "READDIRPLUS lists the 5 names (%d)", p.total);
	expect(found, "READDIRPLUS: attributes and a working handle for \"f\"");
	dirpage_free(&p);
}

static int cmd_procs(const char *dir)
{
	struct fh root;
	struct newobj d;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);

	if (!rpc)
		return 1;
	check_null(rpc);
	check_fsinfo(rpc, &root);
	expect_st(t3_mkdir(rpc, &root, dir, 0755, &d), NFS3_OK, "MKDIR the test directory");
	check_files(rpc, &d.fh);
	check_names(rpc, &d.fh);
	check_bad(rpc, &d.fh);
	check_listing(rpc, &d.fh);
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- user: permissions for a caller that is not the owner ---- */
static int setattr_one(struct rpc_context *rpc, const struct fh *f, int what, uint32_t v)
{
	sattr3 s;

	sattr_mode(&s, what == 'm' ? (int)v : -1);
	if (what == 'u') {
		s.uid.set_it = 1;
		s.uid.set_uid3_u.uid = v;
	} else if (what == 'g') {
		s.gid.set_it = 1;
		s.gid.set_gid3_u.gid = v;
	} else if (what == 't') { /* mtime to the client's time */
		s.mtime.set_it = SET_TO_CLIENT_TIME;
		s.mtime.set_mtime_u.mtime.seconds = v;
	} else if (what == 'T') {
		s.mtime.set_it = SET_TO_SERVER_TIME;
	}
	return t3_setattr(rpc, f, &s, NULL, NULL);
}

/* Root gives a file to uid; then uid, its owner, may chmod, utimes and chgrp to its own group,
 * but not give the file away nor chgrp to another group; on a file it does not own, only
 * "now" times and only with write permission. */
static void check_owner_rules(struct rpc_context *rpc, const struct fh *dir, uint32_t uid,
			      uint32_t gid)
{
	struct fh root;
	struct rpc_context *rr = connect_nfs(0, 0, &root);
	struct newobj mine, theirs;
	fattr3 a;

	if (!rr) {
		expect(0, "a root connection");
		return;
	}
	expect_st(t3_create(rr, dir, "given", UNCHECKED, 0644, NULL, &mine), NFS3_OK,
		  "root creates a file");
	expect_st(setattr_one(rr, &mine.fh, 'u', uid), NFS3_OK, "root gives it away (chown)");
	expect_st(t3_create(rr, dir, "shared", UNCHECKED, 0666, NULL, &theirs), NFS3_OK,
		  "root creates a 0666 file");
	expect_st(setattr_one(rpc, &mine.fh, 'm', 0600), NFS3_OK, "the new owner may chmod");
	expect_st(setattr_one(rpc, &mine.fh, 't', 12345), NFS3_OK,
		  "the owner may set mtime to any time");
	expect_st(setattr_one(rpc, &mine.fh, 'g', gid), NFS3_OK,
		  "the owner may chgrp to its own group");
	t3_getattr(rpc, &mine.fh, &a);
	expect(a.uid == uid && a.gid == gid && a.mode == 0600 && a.mtime.seconds == 12345,
	       "... uid %u gid %u mode 0%o mtime %u", a.uid, a.gid, a.mode, a.mtime.seconds);
	expect_st(setattr_one(rpc, &mine.fh, 'g', gid + 1), NFS3ERR_PERM,
		  "the owner may not chgrp to a group it is not in");
	expect_st(setattr_one(rpc, &mine.fh, 'u', uid + 1), NFS3ERR_PERM,
		  "the owner may not give the file away");
	expect_st(setattr_one(rpc, &theirs.fh, 't', 1), NFS3ERR_PERM,
		  "another's file: no mtime of the caller's choosing");
	expect_st(setattr_one(rpc, &theirs.fh, 'T', 0), NFS3_OK,
		  "another's writable file: mtime to now (touch)");
	t3_dirop(rr, 0, dir, "given");
	t3_dirop(rr, 0, dir, "shared");
	rpc_destroy_context(rr);
}

static int cmd_user(const char *dir)
{
	uint32_t uid = getenv("NFS_UID") ? (uint32_t)atoi(getenv("NFS_UID")) : 1000;
	uint32_t gid = getenv("NFS_GID") ? (uint32_t)atoi(getenv("NFS_GID")) : 1000;
	struct fh root;
	struct rpc_context *rpc = connect_nfs(uid, gid, &root);
	struct lookup d, f;
	struct newobj o;
	struct rres rr;
	struct wres w;
	char buf[64];
	sattr3 s;
	uint32_t got;

	if (!rpc)
		return 1;
	if (t3_lookup(rpc, &root, dir, &d) != NFS3_OK) {
		expect(0, "LOOKUP %s", dir);
		return 1;
	}
	expect_st(t3_create(rpc, &d.fh, "mine", UNCHECKED, 0644, NULL, &o), NFS3ERR_ACCES,
		  "CREATE in a root-owned 0755 directory");
	expect_st(t3_mkdir(rpc, &d.fh, "mydir", 0755, &o), NFS3ERR_ACCES,
		  "MKDIR in a root-owned 0755 directory");
	expect_st(t3_dirop(rpc, 0, &d.fh, "f"), NFS3ERR_ACCES,
		  "REMOVE in a root-owned 0755 directory");
	t3_lookup(rpc, &d.fh, "f", &f); /* root's, mode 0600 */
	expect_st(t3_read(rpc, &f.fh, 0, 10, buf, &rr), NFS3ERR_ACCES, "READ of root's 0600 file");
	expect_st(t3_write(rpc, &f.fh, 0, "x", 1, FILE_SYNC, &w), NFS3ERR_ACCES,
		  "WRITE to root's 0600 file");
	sattr_mode(&s, 0666);
	expect_st(t3_setattr(rpc, &f.fh, &s, NULL, NULL), NFS3ERR_PERM,
		  "SETATTR mode of root's file");
	expect_st(t3_access(rpc, &f.fh, 0x3f, &got), NFS3_OK, "ACCESS of root's 0600 file");
	expect(got == 0, "ACCESS: nothing granted (0x%x)", got);
	expect_st(t3_access(rpc, &d.fh, 0x3f, &got), NFS3_OK, "ACCESS of the 0755 directory");
	expect(got == (ACCESS3_READ | ACCESS3_LOOKUP), "ACCESS: read and lookup only (0x%x)", got);
	check_owner_rules(rpc, &d.fh, uid, gid);
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- rofs: a read-only export ---- */
static int cmd_rofs(void)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct newobj o;
	struct lookup l;
	struct wres w;
	struct rres rr;
	char buf[64];
	sattr3 s;

	if (!rpc)
		return 1;
	expect_st(t3_create(rpc, &root, "nope", UNCHECKED, 0644, NULL, &o), NFS3ERR_ROFS,
		  "CREATE on a read-only export");
	expect_st(t3_mkdir(rpc, &root, "nope", 0755, &o), NFS3ERR_ROFS,
		  "MKDIR on a read-only export");
	sattr_mode(&s, 0777);
	expect_st(t3_setattr(rpc, &root, &s, NULL, NULL), NFS3ERR_ROFS,
		  "SETATTR on a read-only export");
	if (t3_lookup(rpc, &root, "hello.txt", &l) == NFS3_OK) {
		expect_st(t3_write(rpc, &l.fh, 0, "x", 1, FILE_SYNC, &w), NFS3ERR_ROFS,
			  "WRITE on a read-only export");
		expect_st(t3_read(rpc, &l.fh, 0, 64, buf, &rr), NFS3_OK,
			  "READ on a read-only export");
	} else {
		expect(0, "LOOKUP hello.txt on the read-only export");
	}
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- sparse: data at 5 GiB ---- */
static int cmd_sparse(const char *name)
{
	const uint64_t at = 5ull << 30;
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct newobj o;
	struct wres w;
	struct rres rr;
	char *data = malloc(1 << 20), *back = malloc(1 << 20), zero[65536] = {0};
	fattr3 a;

	if (!rpc || !data || !back)
		return 1;
	rng_state = 42;
	fill(data, 1 << 20);
	expect_st(t3_create(rpc, &root, name, UNCHECKED, 0644, NULL, &o), NFS3_OK, "CREATE");
	expect_st(t3_write(rpc, &o.fh, at, data, 1 << 20, FILE_SYNC, &w), NFS3_OK,
		  "WRITE 1 MiB at 5 GiB");
	expect_st(t3_getattr(rpc, &o.fh, &a), NFS3_OK, "GETATTR");
	expect(a.size == at + (1 << 20), "size 5 GiB + 1 MiB (%" PRIu64 ")", a.size);
	expect(a.used < (64ull << 20), "space used is the data, not the holes (%" PRIu64 ")",
	       a.used);
	expect_st(t3_read(rpc, &o.fh, 1ull << 30, 65536, back, &rr), NFS3_OK, "READ in the hole");
	expect(rr.count == 65536 && !memcmp(back, zero, 65536) && !rr.eof, "the hole reads zeros");
	expect_st(t3_read(rpc, &o.fh, at, 1 << 20, back, &rr), NFS3_OK, "READ 1 MiB at 5 GiB");
	expect(rr.count == 1 << 20 && !memcmp(back, data, 1 << 20) && rr.eof,
	       "the data at 5 GiB reads back, with eof");
	expect_st(t3_read(rpc, &o.fh, at + (2 << 20), 100, back, &rr), NFS3_OK,
		  "READ past the end");
	expect(rr.count == 0 && rr.eof, "past the end: nothing, eof");
	free(data);
	free(back);
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- bigdir: N entries, paged ---- */
static int create_many(struct rpc_context *rpc, const struct fh *d, int n)
{
	enum { INFLIGHT = 32 };
	static struct newobj objs[INFLIGHT];
	static struct call calls[INFLIGHT];
	static CREATE3args args[INFLIGHT];
	static char names[INFLIGHT][32];
	int bad = 0;

	for (int base = 0; base < n; base += INFLIGHT) {
		struct call *cs[INFLIGHT];
		int k = n - base < INFLIGHT ? n - base : INFLIGHT;

		for (int i = 0; i < k; i++) {
			snprintf(names[i], sizeof(names[i]), "entry-%06d", base + i);
			memset(&args[i], 0, sizeof(args[i]));
			fh_set(&args[i].where.dir, d);
			args[i].where.name = names[i];
			args[i].how.mode = GUARDED;
			sattr_mode(&args[i].how.createhow3_u.obj_attributes, 0644);
			memset(&calls[i], 0, sizeof(calls[i]));
			calls[i].take = take_newobj;
			calls[i].arg = &objs[i];
			cs[i] = &calls[i];
			if (rpc_nfs3_create_async(rpc, call_cb, &args[i], &calls[i]))
				return -1;
		}
		if (wait_calls(rpc, cs, k))
			return -1;
		for (int i = 0; i < k; i++)
			bad += objs[i].status != NFS3_OK;
	}
	return bad;
}

static int all_once(const struct dirpage *p, int n)
{
	char *seen = calloc((size_t)n, 1);
	int ok = seen && p->total == n;

	for (int i = 0; ok && i < p->total; i++) {
		int k;

		ok = sscanf(p->names[i], "entry-%06d", &k) == 1 && k >= 0 && k < n && !seen[k];
		if (ok)
			seen[k] = 1;
	}
	free(seen);
	return ok;
}

static int cmd_bigdir(const char *dir, int n)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct newobj d;
	struct dirpage p;
	int pages, bad, withattr = 0;
	time_t t0 = time(NULL);

	if (!rpc)
		return 1;
	expect_st(t3_mkdir(rpc, &root, dir, 0755, &d), NFS3_OK, "MKDIR");
	bad = create_many(rpc, &d.fh, n);
	expect(bad == 0, "%d CREATEs (32 in flight), %d failed, %lds", n, bad,
	       (long)(time(NULL) - t0));
	pages = t3_readdir_all(rpc, &d.fh, 0, 1024, &p);
	expect(pages > 1 && all_once(&p, n),
	       "READDIR in 1 KiB pages: %d entries in %d pages, each name once", p.total, pages);
	dirpage_free(&p);
	pages = t3_readdir_all(rpc, &d.fh, 1, 2048, &p);
	for (int i = 0; i < p.total; i++)
		withattr += p.attrs[i].type == NF3REG && p.fhs[i].len > 0;
	expect(pages > 1 && all_once(&p, n) && withattr == n,
	       "READDIRPLUS in 2 KiB pages: %d entries in %d pages, each once, all with attributes "
	       "and handles",
	       p.total, pages);
	dirpage_free(&p);
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- unstable + commit: a gateway restart between them ---- */
#define CHUNK (256 * 1024)

static void hex(FILE *f, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", ((const uint8_t *)p)[i]);
	fprintf(f, "\n");
}

static int unhex(const char *s, void *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (n < cap && sscanf(s + 2 * n, "%2x", &v) == 1)
		((uint8_t *)out)[n++] = (uint8_t)v;
	return (int)n;
}

/* Writes mib MiB of the seed's bytes UNSTABLE; the verifier of the last write in verf. */
static int write_all(struct rpc_context *rpc, const struct fh *f, int mib, uint64_t seed,
		     char verf[8], FILE *local)
{
	char *buf = malloc(CHUNK);
	struct wres w;
	int bad = 0;

	rng_state = seed;
	for (uint64_t off = 0; buf && off < (uint64_t)mib << 20; off += CHUNK) {
		fill(buf, CHUNK);
		if (local)
			fwrite(buf, 1, CHUNK, local);
		if (t3_write(rpc, f, off, buf, CHUNK, UNSTABLE, &w) != NFS3_OK) {
			bad++;
			continue;
		}
		if (off && memcmp(verf, w.verf, 8))
			bad++; /* the verifier changed between two writes */
		memcpy(verf, w.verf, 8);
	}
	free(buf);
	return buf ? bad : 1;
}

static int cmd_unstable(const char *name, int mib, uint64_t seed, const char *state)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct newobj o;
	char verf[8] = {0};
	FILE *f;
	fattr3 a;

	if (!rpc)
		return 1;
	expect_st(t3_create(rpc, &root, name, UNCHECKED, 0644, NULL, &o), NFS3_OK, "CREATE");
	expect(write_all(rpc, &o.fh, mib, seed, verf, NULL) == 0,
	       "%d MiB of UNSTABLE writes, one verifier", mib);
	t3_getattr(rpc, &o.fh, &a);
	expect(a.size == (uint64_t)mib << 20, "GETATTR: the size with the uncommitted writes");
	if (!(f = fopen(state, "w")))
		return 1;
	hex(f, o.fh.data, o.fh.len);
	hex(f, verf, 8);
	fprintf(f, "%d %" PRIu64 "\n", mib, seed);
	fclose(f);
	rpc_destroy_context(rpc);
	return fails != 0;
}

static int cmd_commit(const char *state, const char *local, const char *want)
{
	struct fh root, fh;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	char line[256], wverf[8], cverf[8], v2[8];
	uint64_t seed;
	int mib, changed;
	FILE *f = fopen(state, "r"), *out;

	if (!rpc || !f || !fgets(line, sizeof(line), f))
		return 1;
	fh.len = (uint32_t)unhex(line, fh.data, sizeof(fh.data));
	if (!fgets(line, sizeof(line), f) || unhex(line, wverf, 8) != 8 ||
	    fscanf(f, "%d %" SCNu64, &mib, &seed) != 2)
		return 1;
	fclose(f);
	expect_st(t3_commit(rpc, &fh, cverf), NFS3_OK, "COMMIT with the handle from before");
	changed = memcmp(cverf, wverf, 8) != 0;
	expect(!strcmp(want, changed ? "changed" : "same"), "the write verifier %s (expected %s)",
	       changed ? "changed" : "is the same", want);
	if (!(out = fopen(local, "w")))
		return 1;
	if (changed) { /* what the server may have lost: send it again */
		expect(write_all(rpc, &fh, mib, seed, v2, out) == 0, "resent %d MiB UNSTABLE", mib);
		expect_st(t3_commit(rpc, &fh, cverf), NFS3_OK, "COMMIT again");
		expect(!memcmp(cverf, v2, 8), "the COMMIT verifier matches the resent writes'");
	} else {
		write_all(rpc, &fh, 0, seed, v2, NULL);
		rng_state = seed;
		for (int i = 0; i < mib * 4; i++) {
			char buf[CHUNK];

			fill(buf, CHUNK);
			fwrite(buf, 1, CHUNK, out);
		}
	}
	fclose(out);
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- parallel: a COMMIT held up (its data servers stopped: $NFS_STOP_PIDS) does not hold up a
 * GETATTR of the same file sent after it on the same connection ---- */
static void signal_pids(int sig)
{
	char *list = getenv("NFS_STOP_PIDS") ? strdup(getenv("NFS_STOP_PIDS")) : NULL, *save;

	for (char *p = list ? strtok_r(list, " ", &save) : NULL; p; p = strtok_r(NULL, " ", &save))
		kill(atoi(p), sig);
	free(list);
}

static int cmd_parallel(const char *name, int mib)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct newobj o;
	char verf[8];
	COMMIT3args ca;
	COMMIT3res cr;
	GETATTR3args ga;
	GETATTR3res gr;
	struct call cc = {.out = &cr, .outsz = sizeof(cr)}, cg = {.out = &gr, .outsz = sizeof(gr)};
	struct call *cs[1] = {&cg};
	int rc;

	if (!rpc)
		return 1;
	expect_st(t3_create(rpc, &root, name, UNCHECKED, 0644, NULL, &o), NFS3_OK, "CREATE");
	expect(write_all(rpc, &o.fh, mib, 3, verf, NULL) == 0, "%d MiB UNSTABLE", mib);
	fh_set(&ca.file, &o.fh);
	ca.offset = 0;
	ca.count = 0;
	fh_set(&ga.object, &o.fh);
	signal_pids(SIGSTOP);
	rc = rpc_nfs3_commit_async(rpc, call_cb, &ca, &cc) ||
	     rpc_nfs3_getattr_async(rpc, call_cb, &ga, &cg) || wait_calls(rpc, cs, 1);
	expect(!rc && !cc.done && gr.status == NFS3_OK &&
		   gr.GETATTR3res_u.resok.obj_attributes.size == (uint64_t)mib << 20,
	       "while a COMMIT waits for stopped data servers, a GETATTR sent after it on the same "
	       "connection is answered (with the size)");
	signal_pids(SIGCONT);
	cs[0] = &cc;
	expect(wait_calls(rpc, cs, 1) == 0 && cr.status == NFS3_OK,
	       "the COMMIT completes once they go on");
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- handles across restarts ---- */
static int cmd_savefh(const char *name, const char *file)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct lookup l;
	FILE *f;

	if (!rpc || t3_lookup(rpc, &root, name, &l) != NFS3_OK || !(f = fopen(file, "w")))
		return 1;
	hex(f, l.fh.data, l.fh.len);
	hex(f, root.data, root.len);
	fprintf(f, "%" PRIu64 " %" PRIu64 "\n", l.attr.fileid, l.attr.size);
	fclose(f);
	rpc_destroy_context(rpc);
	return 0;
}

static int cmd_checkfh(const char *file)
{
	struct fh fh, root;
	char line[256];
	uint64_t id, size;
	FILE *f = fopen(file, "r");
	struct rpc_context *rpc;
	struct lookup l;
	fattr3 a;

	if (!f || !fgets(line, sizeof(line), f))
		return 1;
	fh.len = (uint32_t)unhex(line, fh.data, sizeof(fh.data));
	if (!fgets(line, sizeof(line), f))
		return 1;
	root.len = (uint32_t)unhex(line, root.data, sizeof(root.data));
	if (fscanf(f, "%" SCNu64 " %" SCNu64, &id, &size) != 2)
		return 1;
	fclose(f);
	/* no MNT: a client that stays mounted through a server restart only has its handles */
	if (!(rpc = rpc_open(host, nport, NFS_PROGRAM, NFS_V3, 0, 0)))
		return 1;
	expect_st(t3_getattr(rpc, &fh, &a), NFS3_OK, "GETATTR with a handle from before");
	expect(a.fileid == id && a.size == size,
	       "... the same file (id %" PRIu64 ", size %" PRIu64 ")", a.fileid, a.size);
	expect_st(t3_lookup(rpc, &root, "hello.txt", &l), NFS3_OK,
		  "LOOKUP in the root handle from before");
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- fill: FILE_SYNC writes of 1 MiB until one fails: its status ---- */
static int cmd_fill(const char *name, int mib, const char *want)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct newobj o;
	struct wres w;
	char *buf = calloc(1, 1 << 20);
	int st = NFS3_OK;

	if (!rpc || !buf)
		return 1;
	expect_st(t3_create(rpc, &root, name, UNCHECKED, 0644, NULL, &o), NFS3_OK, "CREATE");
	for (int i = 0; i < mib && st == NFS3_OK; i++) {
		memset(buf, i + 1, 1 << 20);
		st = t3_write(rpc, &o.fh, (uint64_t)i << 20, buf, 1 << 20, FILE_SYNC, &w);
	}
	expect(!strcmp(st_name(st), want), "FILE_SYNC writes of %d MiB end with %s (expected %s)",
	       mib, st_name(st), want);
	free(buf);
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* libnfs allocates these nodes unaligned: each is copied out before it is read. */
/* ---- read: the whole of NAME, 1 MiB at a time: the status it ends with ---- */
static int cmd_read(const char *name, const char *want)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root);
	struct lookup l;
	struct rres rr = {0};
	char *buf = malloc(1 << 20);
	uint64_t off = 0;
	int st;

	if (!rpc || !buf)
		return 1;
	expect_st(t3_lookup(rpc, &root, name, &l), NFS3_OK, "LOOKUP");
	while ((st = t3_read(rpc, &l.fh, off, 1 << 20, buf, &rr)) == NFS3_OK && !rr.eof)
		off += rr.count;
	expect(!strcmp(st_name(st), want), "READ of %s ends with %s (expected %s)", name,
	       st_name(st), want);
	free(buf);
	rpc_destroy_context(rpc);
	return fails != 0;
}

static void take_exports(struct call *c, void *data)
{
	exportnode *p, e;
	groupnode *gp, g;

	(void)c;
	memcpy(&p, data, sizeof(p));
	for (; p; p = e.ex_next) {
		memcpy(&e, p, sizeof(e));
		printf("%s", e.ex_dir);
		for (gp = e.ex_groups; gp; gp = g.gr_next) {
			memcpy(&g, gp, sizeof(g));
			printf(" %s", g.gr_name);
		}
		printf("\n");
	}
}

/* ---- crossgw: a file written here and truncated through another gateway (PORT) ---- */
static int cmd_crossgw(const char *name, int port2)
{
	struct fh root;
	struct rpc_context *rpc = connect_nfs(0, 0, &root), *rpc2;
	struct newobj o;
	struct wres w;
	struct rres rr;
	char *buf = calloc(1, 1 << 20);
	fattr3 a;
	sattr3 s;

	if (!rpc || !buf || !(rpc2 = rpc_open(host, port2, NFS_PROGRAM, NFS_V3, 0, 0)))
		return 1;
	expect_st(t3_create(rpc, &root, name, UNCHECKED, 0666, NULL, &o), NFS3_OK, "CREATE");
	expect_st(t3_write(rpc, &o.fh, 0, buf, 1 << 20, FILE_SYNC, &w), NFS3_OK,
		  "WRITE 1 MiB FILE_SYNC here");
	sattr_mode(&s, -1);
	s.size.set_it = 1;
	s.size.set_size3_u.size = 0;
	expect_st(t3_setattr(rpc2, &o.fh, &s, NULL, NULL), NFS3_OK,
		  "SETATTR size 0 through the other gateway (same handle)");
	expect_st(t3_getattr(rpc, &o.fh, &a), NFS3_OK, "GETATTR here");
	expect(a.size == 0, "... sees size 0 (%" PRIu64 "), not what it wrote", a.size);
	expect(t3_read(rpc, &o.fh, 0, 4096, buf, &rr) == NFS3_OK && rr.count == 0 && rr.eof,
	       "READ here: nothing, eof");
	/* a change through the other gateway is read here at once (no layout kept from before) */
	memset(buf, 'a', 1 << 20);
	expect_st(t3_write(rpc, &o.fh, 0, buf, 65536, FILE_SYNC, &w), NFS3_OK, "WRITE 'a's here");
	expect(t3_read(rpc, &o.fh, 0, 4096, buf, &rr) == NFS3_OK && buf[0] == 'a',
	       "READ here: the 'a's");
	memset(buf, 'b', 65536);
	expect_st(t3_write(rpc2, &o.fh, 0, buf, 65536, FILE_SYNC, &w), NFS3_OK,
		  "WRITE 'b's through the other gateway");
	memset(buf, 0, 65536);
	expect(t3_read(rpc, &o.fh, 0, 65536, buf, &rr) == NFS3_OK && rr.count == 65536 &&
		   buf[0] == 'b' && buf[65535] == 'b',
	       "READ here right after: the 'b's");
	free(buf);
	rpc_destroy_context(rpc2);
	rpc_destroy_context(rpc);
	return fails != 0;
}

/* ---- mountprocs: MNT errors, DUMP, UMNT, UMNTALL ---- */
static void take_dump(struct call *c, void *data)
{
	mountbody *p, m;
	int *found = c->arg;

	*found = 0;
	memcpy(&p, data, sizeof(p)); /* libnfs's nodes may be unaligned: copied out */
	for (; p; p = m.ml_next) {
		memcpy(&m, p, sizeof(m));
		*found |= !strcmp(m.ml_directory, export_path);
	}
}

/* Whether DUMP lists export_path; -1 when the call failed. */
static int dumped(struct rpc_context *rpc)
{
	int found = -1;
	struct call c = {.take = take_dump, .arg = &found};

	if (CALL(rpc, c, rpc_mount3_dump_async(rpc, call_cb, &c)))
		return -1;
	return found;
}

static int cmd_mountprocs(void)
{
	struct rpc_context *rpc = rpc_open(host, mport, MOUNT_PROGRAM, MOUNT_V3, 0, 0);
	char path[1100];
	struct fh root;
	struct call c = {0}, c2 = {0};

	if (!rpc)
		return 1;
	expect(mnt(host, mport, export_path, &root) == MNT3_OK, "MNT %s", export_path);
	expect(dumped(rpc) == 1, "DUMP lists the mount");
	expect(CALL(rpc, c, rpc_mount3_umnt_async(rpc, call_cb, (char *)export_path, &c)) == 0,
	       "UMNT answers");
	expect(dumped(rpc) == 0, "DUMP no longer lists it after UMNT");
	mnt(host, mport, export_path, &root);
	expect(CALL(rpc, c2, rpc_mount3_umntall_async(rpc, call_cb, &c2)) == 0 && dumped(rpc) == 0,
	       "UMNTALL drops this client's mounts");
	snprintf(path, sizeof(path), "%s/no/such/dir", export_path);
	expect(mnt(host, mport, path, &root) == MNT3ERR_NOENT, "MNT of a missing path: NOENT");
	expect(mnt(host, mport, "/nosuchtenant/vol", &root) == MNT3ERR_NOENT,
	       "MNT of an unknown export: NOENT");
	snprintf(path, sizeof(path), "%s/hello.txt", export_path);
	expect(mnt(host, mport, path, &root) == MNT3ERR_NOTDIR, "MNT of a file: NOTDIR");
	rpc_destroy_context(rpc);
	return fails != 0;
}

static int cmd_exports(void)
{
	struct rpc_context *rpc = rpc_open(host, mport, MOUNT_PROGRAM, MOUNT_V3, 0, 0);
	struct call c = {.take = take_exports};
	int rc;

	if (!rpc)
		return 1;
	rc = CALL(rpc, c, rpc_mount3_export_async(rpc, call_cb, &c));
	rpc_destroy_context(rpc);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 6) {
		fprintf(stderr, "usage: nfs_check HOST NFSPORT MOUNTPORT EXPORT CMD [ARGS]\n");
		return 2;
	}
	host = argv[1];
	nport = atoi(argv[2]);
	mport = atoi(argv[3]);
	export_path = argv[4];
	cmd = argv[5];
	argc -= 6;
	argv += 6;
	if (!strcmp(cmd, "procs") && argc == 1)
		return cmd_procs(argv[0]);
	if (!strcmp(cmd, "user") && argc == 1)
		return cmd_user(argv[0]);
	if (!strcmp(cmd, "rofs"))
		return cmd_rofs();
	if (!strcmp(cmd, "sparse") && argc == 1)
		return cmd_sparse(argv[0]);
	if (!strcmp(cmd, "bigdir") && argc == 2)
		return cmd_bigdir(argv[0], atoi(argv[1]));
	if (!strcmp(cmd, "unstable") && argc == 4)
		return cmd_unstable(argv[0], atoi(argv[1]), strtoull(argv[2], NULL, 10), argv[3]);
	if (!strcmp(cmd, "commit") && argc == 3)
		return cmd_commit(argv[0], argv[1], argv[2]);
	if (!strcmp(cmd, "parallel") && argc == 2)
		return cmd_parallel(argv[0], atoi(argv[1]));
	if (!strcmp(cmd, "savefh") && argc == 2)
		return cmd_savefh(argv[0], argv[1]);
	if (!strcmp(cmd, "checkfh") && argc == 1)
		return cmd_checkfh(argv[0]);
	if (!strcmp(cmd, "fill") && argc == 3)
		return cmd_fill(argv[0], atoi(argv[1]), argv[2]);
	if (!strcmp(cmd, "read") && argc == 2)
		return cmd_read(argv[0], argv[1]);
	if (!strcmp(cmd, "crossgw") && argc == 2)
		return cmd_crossgw(argv[0], atoi(argv[1]));
	if (!strcmp(cmd, "mountprocs"))
		return cmd_mountprocs();
	if (!strcmp(cmd, "exports"))
		return cmd_exports();
	fprintf(stderr, "nfs_check: unknown command or arguments: %s\n", cmd);
	return 2;
}

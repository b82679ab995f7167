/* libFuzzer: the namespace state machine (metadata/ns.h) applies and answers arbitrary client
 * messages. The input is split into messages (u16 length + bytes); each is applied as a write
 * (its batch written when it succeeds) and answered as a read against one database that starts
 * with a tenant, a volume, a directory and a file. Nothing may crash, leak or read out of
 * bounds, whatever the bytes. */
#include "common/buf.h"
#include "metadata/ns.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rocksdb_t *db;
static rocksdb_writeoptions_t *wo;

static void apply(const uint8_t *m, size_t n)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	struct gl_wbuf rep;
	char *err = NULL;

	gl_wbuf_init(&rep);
	if (gl_ns_apply(NULL, db, wb, m, n, &rep) == 0)
		rocksdb_write(db, wo, wb, &err);
	free(err);
	rocksdb_writebatch_destroy(wb);
	rep.len = 0;
	gl_ns_read(db, m, n, &rep);
	gl_wbuf_free(&rep);
}

static void seed(void)
{
	struct gl_wbuf b;
	struct gl_ns_vol v = {0};

	gl_wbuf_init(&b);
	gl_ns_hdr_put(&b, GL_NS_TENANT_CREATE, 0, 1);
	gl_put_str(&b, "t");
	apply(b.p, b.len);
	b.len = 0;
	gl_ns_hdr_put(&b, GL_NS_VOL_CREATE, 0, 2);
	gl_put_str(&b, "t");
	gl_put_str(&b, "v");
	gl_put_u32(&b, 0);
	gl_put_u32(&b, 0x10100); /* rep:1 */
	gl_put_u8(&b, 1);
	gl_put_u64(&b, 1 << 20);
	gl_put_u64(&b, 100);
	apply(b.p, b.len);
	v.id = 1;
	v.tenant = 1;
	snprintf(v.name, sizeof(v.name), "v");
	v.policy.pool = 0x10100;
	b.len = 0;
	gl_ns_hdr_put(&b, GL_NS_VOL_INIT, 0, 3);
	gl_ns_vol_put(&b, &v);
	apply(b.p, b.len);
	b.len = 0;
	gl_ns_hdr_put(&b, GL_NS_MKDIR, 0, 4);
	gl_put_u32(&b, 1);
	gl_put_u64(&b, 1);
	gl_put_str(&b, "d");
	gl_put_u32(&b, 0755);
	gl_put_u32(&b, 0);
	gl_put_u32(&b, 0);
	apply(b.p, b.len);
	gl_wbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db) {
		char dir[] = "/tmp/fuzz-ns.XXXXXX", *err = NULL;
		rocksdb_options_t *o = rocksdb_options_create();

		if (!mkdtemp(dir))
			abort();
		rocksdb_options_set_create_if_missing(o, 1);
		db = rocksdb_open(o, dir, &err);
		rocksdb_options_destroy(o);
		if (err)
			abort();
		wo = rocksdb_writeoptions_create();
		rocksdb_writeoptions_disable_WAL(wo, 1);
		seed();
	}
	while (size >= 2) {
		size_t n = (size_t)(data[0] | data[1] << 8);

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		apply(data, n);
		data += n;
		size -= n;
	}
	return 0;
}

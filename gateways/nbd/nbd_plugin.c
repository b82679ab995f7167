/* nbdkit-glory-plugin: serves a glory disk (a block volume, libglory's glory_disk) over NBD.
 *
 *   nbdkit glory disk=VOL/NAME [tenant=T | key=K secret=S] [master=H:P] [cache=off]
 *
 * One struct glory_disk serves every connection of the nbdkit process (thread model PARALLEL),
 * so a flush on any connection makes every write acknowledged before it durable, whichever
 * connection made it: multi-conn is safe. FUA is native (the write is flushed before the
 * reply); trim and zero both punch a hole (fast: metadata only, reads back as zeros); extents
 * report holes. nbdkit itself checks ranges and flags and answers bad requests with NBD errors
 * before they reach us. */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "common/mem.h"
#include "gateways/libglory/glory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* Set by config, used read-only afterwards. */
static struct {
	char vol[64];
	char name[256];
	const char *master, *tenant, *key, *secret;
	int nocache;
} cfg;

/* Made in after_fork (libglory starts threads), freed in cleanup. */
static struct glory *g;
static struct glory_vol *vol;
static struct glory_disk *disk;

static int fail(const char *what, int rc)
{
	int e = -glory_errno(rc);

	nbdkit_error("glory: %s: %s", what, glory_strerror(rc));
	nbdkit_set_error(e > 0 ? e : EIO);
	return -1;
}

static int gp_config(const char *key, const char *value)
{
	if (strcmp(key, "disk") == 0) {
		const char *slash = strchr(value, '/');

		if (!slash || slash == value || (size_t)(slash - value) >= sizeof(cfg.vol) ||
		    !slash[1] || strlen(slash + 1) >= sizeof(cfg.name)) {
			nbdkit_error("glory: disk=VOL/NAME, e.g. disk=vms/web1");
			return -1;
		}
		memcpy(cfg.vol, value, (size_t)(slash - value));
		cfg.vol[slash - value] = '\0';
		strcpy(cfg.name, slash + 1);
	} else if (strcmp(key, "master") == 0) {
		cfg.master = value;
	} else if (strcmp(key, "tenant") == 0) {
		cfg.tenant = *value ? value : NULL;
	} else if (strcmp(key, "key") == 0) {
		cfg.key = value;
	} else if (strcmp(key, "secret") == 0) {
		cfg.secret = value;
	} else if (strcmp(key, "cache") == 0) {
		cfg.nocache = strcmp(value, "off") == 0;
	} else {
		nbdkit_error("glory: unknown parameter '%s' (see nbdkit glory --help)", key);
		return -1;
	}
	return 0;
}

static int gp_config_complete(void)
{
	if (!cfg.vol[0]) {
		nbdkit_error("glory: say which disk: disk=VOL/NAME");
		return -1;
	}
	if (!cfg.master)
		cfg.master = getenv("GLORY_MASTER");
	if (!cfg.key && !cfg.tenant) {
		cfg.key = getenv("GLORY_ACCESS_KEY");
		cfg.secret = getenv("GLORY_SECRET_KEY");
	}
	if (!cfg.key && !cfg.tenant) {
		nbdkit_error("glory: say whose volume: tenant=T (admin) or key=K secret=S (or "
			     "GLORY_ACCESS_KEY/GLORY_SECRET_KEY)");
		return -1;
	}
	if (!cfg.master) {
		nbdkit_error("glory: say where the cluster is: master=H:P (or GLORY_MASTER)");
		return -1;
	}
	return 0;
}

static int gp_after_fork(void)
{
	int rc;

	gl_mem_tune(); /* nbdkit's process: keep freed chunk buffers (common/mem.h) */
	rc = glory_connect(cfg.master, &g);

	if (rc)
		return fail("connect", rc);
	if (cfg.key && (rc = glory_set_credentials(g, cfg.key, cfg.secret ? cfg.secret : "")))
		return fail("credentials", rc);
	if ((rc = glory_vol_open(g, cfg.key ? NULL : cfg.tenant, cfg.vol, &vol)))
		return fail(cfg.vol, rc);
	if ((rc = glory_disk_open(vol, cfg.name, cfg.nocache ? GLORY_DISK_NOCACHE : 0, &disk)))
		return fail(cfg.name, rc);
	nbdkit_debug("glory: serving %s/%s, %llu bytes%s", cfg.vol, cfg.name,
		     (unsigned long long)glory_disk_size(disk),
		     glory_disk_readonly(disk) ? " (read-only)" : "");
	return 0;
}

static void gp_cleanup(void)
{
	struct glory_disk_stats st;
	int rc;

	if (!disk)
		return;
	glory_disk_get_stats(disk, &st);
	rc = glory_disk_close(disk);
	/* on stderr (nbdkit's log) so an operator sees what the write path did */
	fprintf(
	    stderr,
	    "nbdkit-glory: %s/%s: reads %llu, writes %llu, flushes %llu, punches %llu, "
	    "chunks written %llu, extents %llu, compactions %llu, chunk reads %llu (cache "
	    "hits %llu, read ahead %llu), local reads %llu, layouts fetched %llu, dedup'd blocks "
	    "%llu\n",
	    cfg.vol, cfg.name, (unsigned long long)st.reads, (unsigned long long)st.writes,
	    (unsigned long long)st.flushes, (unsigned long long)st.punches,
	    (unsigned long long)st.chunks_written, (unsigned long long)st.extents_written,
	    (unsigned long long)st.compactions, (unsigned long long)st.chunk_reads,
	    (unsigned long long)st.chunk_hits, (unsigned long long)st.readaheads,
	    (unsigned long long)st.local_reads, (unsigned long long)st.layout_fetches,
	    (unsigned long long)st.dedup_blocks);

	if (rc)
		nbdkit_error("glory: the last flush failed: %s", glory_strerror(rc));
	disk = NULL;
	glory_vol_close(vol);
	vol = NULL;
	glory_disconnect(g);
	g = NULL;
}

static void *gp_open(int readonly)
{
	(void)readonly;
	if (!disk) {
		nbdkit_error("glory: the disk is not open");
		return NULL;
	}
	return disk; /* shared by every connection */
}

static int64_t gp_get_size(void *h)
{
	return (int64_t)glory_disk_size(h);
}

static int gp_can_write(void *h)
{
	return !glory_disk_readonly(h);
}

static int gp_yes(void *h)
{
	(void)h;
	return 1;
}

static int gp_can_fua(void *h)
{
	(void)h;
	return NBDKIT_FUA_NATIVE;
}

static int gp_block_size(void *h, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
	(void)h;
	*minimum = 1;		/* any byte range: the layout is byte-granular */
	*preferred = 4096;	/* smaller writes still cost a whole run in the log */
	*maximum = 0xffffffffu; /* no limit of ours; nbdkit bounds requests */
	return 0;
}

static int gp_pread(void *h, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	int rc = glory_disk_pread(h, buf, count, offset);

	(void)flags;
	return rc ? fail("read", rc) : 0;
}

static int gp_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	int rc = glory_disk_pwrite(h, buf, count, offset,
				   (flags & NBDKIT_FLAG_FUA) ? GLORY_DISK_FUA : 0);

	return rc ? fail("write", rc) : 0;
}

static int gp_flush(void *h, uint32_t flags)
{
	int rc = glory_disk_flush(h);

	(void)flags;
	return rc ? fail("flush", rc) : 0;
}

static int gp_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	int rc = glory_disk_punch(h, offset, count, 0);

	(void)flags;
	return rc ? fail("trim", rc) : 0;
}

/* A zero is a punch: fast (no data moves), so NBD_CMD_FLAG_FAST_ZERO is always honoured. */
static int gp_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	int rc = glory_disk_punch(h, offset, count, 0);

	(void)flags;
	return rc ? fail("zero", rc) : 0;
}

struct ext_ctx {
	struct nbdkit_extents *ext;
	int one;
};

static int ext_cb(void *arg, uint64_t off, uint64_t len, int hole)
{
	struct ext_ctx *x = arg;

	if (nbdkit_add_extent(x->ext, off, len,
			      hole ? NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO : 0) == -1)
		return -1;
	return x->one ? 1 : 0; /* one extent is enough for NBD_CMD_FLAG_REQ_ONE */
}

static int gp_extents(void *h, uint32_t count, uint64_t offset, uint32_t flags,
		      struct nbdkit_extents *ext)
{
	struct ext_ctx x = {ext, (flags & NBDKIT_FLAG_REQ_ONE) != 0};
	int rc = glory_disk_extents(h, offset, count, ext_cb, &x);

	if (rc == 1)
		return 0;
	if (rc == -1)
		return -1; /* nbdkit_add_extent said why */
	return rc ? fail("extents", rc) : 0;
}

static struct nbdkit_plugin plugin = {
    .name = "glory",
    .longname = "glory block volumes (VM disks)",
    .version = "1",
    .description = "Serves a disk of a glory volume (glory disk create VOL/NAME).",
    .config = gp_config,
    .config_complete = gp_config_complete,
    .config_help = "disk=VOL/NAME     (required) the disk to serve\n"
		   "tenant=T          act as the admin on tenant T's volume\n"
		   "key=K secret=S    or as this access key (GLORY_ACCESS_KEY/GLORY_SECRET_KEY)\n"
		   "master=H:P        the cluster master(s) (default $GLORY_MASTER)\n"
		   "cache=off         no chunk cache for reads",
    .magic_config_key = "disk",
    .after_fork = gp_after_fork,
    .cleanup = gp_cleanup,
    .open = gp_open,
    .get_size = gp_get_size,
    .block_size = gp_block_size,
    .can_write = gp_can_write,
    .can_flush = gp_yes,
    .can_trim = gp_yes,
    .can_zero = gp_yes,
    .can_fast_zero = gp_yes,
    .can_extents = gp_yes,
    .can_fua = gp_can_fua,
    .can_multi_conn = gp_yes,
    .pread = gp_pread,
    .pwrite = gp_pwrite,
    .flush = gp_flush,
    .trim = gp_trim,
    .zero = gp_zero,
    .extents = gp_extents,
    .errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)

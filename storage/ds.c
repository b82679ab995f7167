/* Data server: serves fragments, registers with the master and heartbeats. */
#include "storage/ds_internal.h"

#include "cluster/ms_client.h"
#include "cluster/rpc.h"
#include "common/crc.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/rpc.h"
#include "storage/client.h"
#include "storage/local.h"
#include "storage/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void gl_ds_cfg_defaults(struct gl_ds_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->heartbeat = 1;
	cfg->repair_every = 30;
	cfg->scrub_every = 86400;
	cfg->repair_bps = 256u << 20;
	cfg->scrub_bps = 64u << 20;
	cfg->stale_age = 60;
}

int ds_map_snapshot(struct ds *ds, struct gl_map *out)
{
	int rc = -GL_EAGAIN;

	pthread_mutex_lock(&ds->lock);
	if (ds->map.epoch)
		rc = gl_map_copy(&ds->map, out);
	pthread_mutex_unlock(&ds->lock);
	return rc;
}

void ds_repair_kick(struct ds *ds)
{
	pthread_mutex_lock(&ds->lock);
	ds->kick = 1;
	pthread_cond_signal(&ds->wake);
	pthread_mutex_unlock(&ds->lock);
}

/* ---- handlers ---- */

static int check_key(const struct gl_fkey *k)
{
	struct gl_scheme s;

	if (gl_scheme_from_pool(k->pool, &s) || k->idx >= gl_scheme_width(&s))
		return -GL_EINVAL;
	return 0;
}

static int ds_h_put(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ds *ds = ctx;
	struct gl_rbuf r;
	struct gl_fkey k;
	struct gl_fmeta m = {0};
	struct gl_scheme s;
	int rc;

	(void)rep;
	gl_rbuf_init(&r, req->args, req->args_len);
	gl_fkey_get(&r, &k);
	m.chunk_len = gl_get_u64(&r);
	m.crc = gl_get_u32(&r);
	m.len = req->bulk_len;
	if (gl_rbuf_check(&r))
		return -GL_EPROTO;
	rc = check_key(&k);
	if (rc)
		return rc;
	gl_scheme_from_pool(k.pool, &s);
	if (m.chunk_len == 0 || m.chunk_len > GL_CHUNK_MAX ||
	    gl_scheme_frag_len(&s, m.chunk_len) != req->bulk_len)
		return -GL_EINVAL;
	rc = gl_fstore_put(ds->fs, &k, &m, req->bulk, req->bulk_len);
	if (rc && rc != -GL_ECORRUPT)
		gl_error("ds: storing a fragment: %s", gl_strerror(rc));
	return rc;
}

static int ds_h_get(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ds *ds = ctx;
	struct gl_ds_get_args a;
	struct gl_fmeta m;
	uint8_t *data = NULL;
	uint32_t len, crc;
	int rc;

	if (gl_ds_get_args_get(req->args, req->args_len, &a))
		return -GL_EPROTO;
	rc = check_key(&a.key);
	if (rc)
		return rc;
	if (a.ranged)
		rc = gl_fstore_get_range(ds->fs, &a.key, a.off, a.len, &m, &data);
	else
		rc = gl_fstore_get(ds->fs, &a.key, &m, &data);
	if (rc == -GL_ECORRUPT) {
		gl_warn("ds: fragment %d of a chunk failed its checksum: removing it for rebuild",
			a.key.idx);
		pthread_mutex_lock(&ds->lock);
		ds->stats.corrupt++;
		pthread_mutex_unlock(&ds->lock);
		gl_fstore_del(ds->fs, &a.key);
		ds_repair_lost(ds, &a.key);
	}
	if (rc)
		return rc;
	len = a.ranged ? a.len : m.len;
	/* the stored CRCs were verified: this one covers the bytes on the wire */
	crc = len == m.len ? m.crc : gl_crc32c(GL_CRC_INIT, data, len);
	gl_put_u32(rep->args, len);
	gl_put_u32(rep->args, crc);
	gl_put_u64(rep->args, m.chunk_len);
	rep->bulk[0].iov_base = data;
	rep->bulk[0].iov_len = len;
	rep->nbulk = 1;
	rep->bulk_free = free;
	rep->bulk_owner = data;
	return 0;
}

static int ds_h_have(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ds *ds = ctx;
	struct gl_rbuf r;
	struct gl_scheme s;
	struct gl_fkey k;
	uint32_t n;
	int width;

	gl_rbuf_init(&r, req->args, req->args_len);
	k.pool = gl_get_u32(&r);
	n = gl_get_u32(&r);
	if (gl_rbuf_check(&r) || n > GL_HAVE_MAX || gl_rbuf_left(&r) != (size_t)n * 32)
		return -GL_EPROTO;
	if (gl_scheme_from_pool(k.pool, &s))
		return -GL_EINVAL;
	width = gl_scheme_width(&s);
	gl_put_u32(rep->args, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t mask = 0;
		struct gl_fmeta m;

		gl_get_copy(&r, k.chunk, GL_CHUNK_ID_LEN);
		for (int j = 0; j < width; j++) {
			k.idx = (uint8_t)j;
			if (gl_fstore_stat(ds->fs, &k, &m) == 0)
				mask |= 1u << j;
		}
		gl_put_u32(rep->args, mask);
	}
	return 0;
}

static int ds_h_del(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ds *ds = ctx;
	struct gl_rbuf r;
	struct gl_scheme s;
	struct gl_fkey k;
	uint32_t mask, n = 0;

	gl_rbuf_init(&r, req->args, req->args_len);
	k.pool = gl_get_u32(&r);
	gl_get_copy(&r, k.chunk, GL_CHUNK_ID_LEN);
	mask = gl_get_u32(&r);
	if (gl_rbuf_check(&r))
		return -GL_EPROTO;
	if (gl_scheme_from_pool(k.pool, &s))
		return -GL_EINVAL;
	for (int j = 0; j < gl_scheme_width(&s); j++) {
		k.idx = (uint8_t)j;
		if ((mask >> j & 1) && gl_fstore_del(ds->fs, &k) == 0)
			n++;
	}
	gl_put_u32(rep->args, n);
	return 0;
}

static int ds_h_info(void *ctx, const struct gl_rpc_req *req, struct gl_rpc_reply *rep)
{
	struct ds *ds = ctx;
	struct gl_fstore_usage u;
	int rc;

	(void)req;
	rc = gl_fstore_usage(ds->fs, &u);
	if (rc)
		return rc;
	gl_put_u32(rep->args, ds->id);
	pthread_mutex_lock(&ds->lock);
	gl_put_u64(rep->args, ds->map.epoch);
	pthread_mutex_unlock(&ds->lock);
	gl_put_u64(rep->args, u.nfrags);
	gl_put_u64(rep->args, u.frag_bytes);
	return 0;
}

static const struct gl_rpc_op ds_ops[] = {
#define DS_OP(name, code, handler) {GL_##name, #name, handler},
    GL_DS_RPCS(DS_OP)
#undef DS_OP
};

/* ---- talking to the master ---- */

static int ms_call(struct ds *ds, uint16_t op, struct gl_wbuf *args, struct gl_rpc_call *c)
{
	return gl_ms_call(gl_sclient_pool(ds->sc), ds->cfg.master, op, args, c);
}

static int do_register(struct ds *ds)
{
	struct gl_fstore_usage u;
	struct gl_rpc_call c;
	struct gl_wbuf a;
	struct gl_rbuf r;
	int rc;

	rc = gl_fstore_usage(ds->fs, &u);
	if (rc)
		return rc;
	gl_wbuf_init(&a);
	gl_put_bytes(&a, ds->uuid, GL_UUID_LEN);
	gl_put_str(&a, ds->cfg.listen);
	gl_put_str(&a, ds->rack);
	gl_put_str(&a, ds->host);
	gl_put_u64(&a, u.total);
	gl_put_u64(&a, u.avail);
	gl_put_u64(&a, u.frag_bytes);
	rc = ms_call(ds, GL_MS_REGISTER, &a, &c);
	if (rc == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		ds->id = gl_get_u32(&r);
		ds->want_epoch = gl_get_u64(&r);
		rc = gl_rbuf_check(&r);
		if (!rc)
			gl_info("ds: registered with the master at %s as data server %u",
				ds->cfg.master, ds->id);
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

static int do_heartbeat(struct ds *ds)
{
	struct gl_fstore_usage u;
	struct gl_rpc_call c;
	struct gl_wbuf a;
	struct gl_rbuf r;
	int rc;

	rc = gl_fstore_usage(ds->fs, &u);
	if (rc)
		return rc;
	gl_wbuf_init(&a);
	gl_put_u32(&a, ds->id);
	gl_put_u64(&a, u.total);
	gl_put_u64(&a, u.avail);
	gl_put_u64(&a, u.frag_bytes);
	pthread_mutex_lock(&ds->lock);
	ds->stats.nfrags = u.nfrags;
	ds->stats.frag_bytes = u.frag_bytes;
	gl_ds_stats_put(&a, &ds->stats);
	pthread_mutex_unlock(&ds->lock);
	rc = ms_call(ds, GL_MS_HEARTBEAT, &a, &c);
	if (rc == -GL_ENOENT) {
		gl_warn("ds: the master does not know us: registering again");
		ds->id = 0;
	} else if (rc == 0) {
		gl_rbuf_init(&r, c.rargs, c.rargs_len);
		ds->want_epoch = gl_get_u64(&r);
	}
	gl_rpc_call_done(&c);
	gl_wbuf_free(&a);
	return rc;
}

static int fetch_map(struct ds *ds)
{
	struct gl_map m;
	int rc;

	rc = gl_ms_get_map(gl_sclient_pool(ds->sc), ds->cfg.master, &m);
	if (rc)
		return rc;
	pthread_mutex_lock(&ds->lock);
	gl_map_free(&ds->map);
	ds->map = m;
	pthread_mutex_unlock(&ds->lock);
	gl_info("ds: cluster map epoch %llu (%u servers)", (unsigned long long)m.epoch, m.n);
	ds_repair_kick(ds);
	return 0;
}

static void *heartbeat_main(void *arg)
{
	struct ds *ds = arg;
	int complained = 0;

	while (!ds->stopping) {
		struct timespec ts;
		uint64_t have;
		int rc;

		rc = ds->id ? do_heartbeat(ds) : do_register(ds);
		if (rc && !complained) {
			gl_warn("ds: cannot reach the master at %s: %s (retrying)", ds->cfg.master,
				gl_strerror(rc));
			complained = 1;
		} else if (!rc) {
			complained = 0;
		}
		pthread_mutex_lock(&ds->lock);
		have = ds->map.epoch;
		pthread_mutex_unlock(&ds->lock);
		if (!rc && ds->want_epoch > have)
			fetch_map(ds);
		ts.tv_sec = (time_t)ds->cfg.heartbeat;
		ts.tv_nsec = (long)((ds->cfg.heartbeat - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ---- identity and lifecycle ---- */

static int load_uuid(struct ds *ds)
{
	char path[4096], tmp[4200];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/uuid", ds->cfg.dir);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, ds->uuid, GL_UUID_LEN) != GL_UUID_LEN)
			rc = -GL_ECORRUPT;
		close(fd);
		return rc;
	}
	if (RAND_bytes(ds->uuid, GL_UUID_LEN) != 1)
		return -GL_EIO;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return gl_from_errno(errno);
	if (write(fd, ds->uuid, GL_UUID_LEN) != GL_UUID_LEN || fsync(fd))
		rc = -GL_EIO;
	close(fd);
	if (!rc && rename(tmp, path))
		rc = gl_from_errno(errno);
	return rc;
}

static void parse_domain(struct ds *ds)
{
	const char *d = ds->cfg.domain, *slash;

	if (!d || !*d) {
		char hn[GL_DOMAIN_MAX] = "localhost";

		gethostname(hn, sizeof(hn) - 1);
		snprintf(ds->rack, sizeof(ds->rack), "default");
		snprintf(ds->host, sizeof(ds->host), "%s", hn);
		return;
	}
	slash = strchr(d, '/');
	if (!slash) {
		snprintf(ds->rack, sizeof(ds->rack), "default");
		snprintf(ds->host, sizeof(ds->host), "%s", d);
		return;
	}
	snprintf(ds->rack, sizeof(ds->rack), "%.*s", (int)(slash - d), d);
	snprintf(ds->host, sizeof(ds->host), "%s", slash + 1);
}

int gl_ds_run(const struct gl_ds_cfg *cfg)
{
	struct ds *ds = calloc(1, sizeof(*ds));
	struct gl_rpc_server *srv = NULL;
	struct gl_local_srv *lsrv = NULL;
	struct gl_rpc_server_cfg scfg = {0};
	pthread_t hb, rp;
	char path[4096];
	sigset_t set;
	int rc, sig;

	if (!ds)
		return -GL_ENOMEM;
	ds->cfg = *cfg;
	pthread_mutex_init(&ds->lock, NULL);
	pthread_cond_init(&ds->wake, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	parse_domain(ds);

	if (mkdir(cfg->dir, 0755) && errno != EEXIST) {
		rc = gl_from_errno(errno);
		gl_error("ds: cannot create %s: %s", cfg->dir, strerror(errno));
		goto out;
	}
	rc = load_uuid(ds);
	if (rc) {
		gl_error("ds: cannot read or create %s/uuid: %s", cfg->dir, gl_strerror(rc));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/store", cfg->dir);
	rc = gl_fstore_open(path, &ds->fs);
	if (rc) {
		gl_error("ds: cannot open the fragment store in %s: %s", path, gl_strerror(rc));
		goto out;
	}
	rc = gl_sclient_new(&ds->sc);
	if (rc)
		goto out;
	scfg.listen = cfg->listen;
	scfg.ops = ds_ops;
	scfg.nops = GL_ARRAY_SIZE(ds_ops);
	scfg.ctx = ds;
	rc = gl_rpc_server_start(&scfg, &srv);
	if (rc) {
		gl_error("ds: cannot listen on %s: %s", cfg->listen, gl_strerror(rc));
		goto out;
	}
	if ((rc = gl_local_srv_start(ds->fs, cfg->listen, &lsrv)))
		gl_warn("ds: local readers will read over RPC: %s", gl_strerror(rc));
	rc = 0;
	gl_info("ds: serving %s on %s, domain %s/%s, master %s", cfg->dir, cfg->listen, ds->rack,
		ds->host, cfg->master);
	pthread_create(&hb, NULL, heartbeat_main, ds);
	pthread_create(&rp, NULL, ds_repair_main, ds);
	sigwait(&set, &sig);
	gl_info("ds: stopping on signal %d", sig);
	ds->stopping = 1;
	ds_repair_kick(ds);
	pthread_join(hb, NULL);
	pthread_join(rp, NULL);
	gl_local_srv_stop(lsrv);
	gl_rpc_server_stop(srv);
out:
	gl_sclient_free(ds->sc);
	if (ds->fs)
		gl_fstore_close(ds->fs);
	gl_map_free(&ds->map);
	pthread_mutex_destroy(&ds->lock);
	pthread_cond_destroy(&ds->wake);
	free(ds);
	return rc;
}

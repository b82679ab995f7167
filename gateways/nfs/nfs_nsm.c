/* NSM 1, the status monitor ("statd", X/Open XNFS chapter 11), for the gateway's NLM locks.
 *
 * Locks live in memory, so a restart loses them; NSM is how clients learn that and reclaim:
 *  - every client that asks for an NLM lock is recorded (caller name, address) in DIR/clients
 *    before the lock is granted; the file is replaced whole (temporary file, fsync, rename);
 *  - DIR/state holds the NSM state number: odd while up, 2 more on every start;
 *  - after a start the recorded clients' statds are sent SM_NOTIFY (our host name, the new
 *    state), found through each client's portmapper, from a thread of our own; a client that
 *    cannot be reached is logged once and forgotten;
 *  - if any client was recorded, NLM has a grace period: only reclaims are granted (nfs_nlm.c)
 *    and at its end the clients that reclaimed nothing are forgotten. With none recorded
 *    nobody can have lost a lock: there is no grace period.
 * And the other way round, a client's statd tells us when the client rebooted (SM_NOTIFY):
 * every lock and waiter of that client, by caller name or by the sender's address, is freed.
 * SM_MON/SM_UNMON/SM_UNMON_ALL serve a lock manager on this host only (callers other than
 * 127.0.0.1 get STAT_FAIL, as statd does): a monitored host's SM_NOTIFY is passed on to the
 * program the monitor named, at 127.0.0.1 (sm_status with its private bytes).
 *
 * DIR/clients, text: a line "glory-nsm-clients 1", then one line per client "A.B.C.D NAME",
 * NAME with bytes outside '!'..'~' and '%' written as %XX. DIR/state: the number and '\n'. */
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NSM_MAX_CLIENTS	 4096
#define NSM_MAX_MONITORS 256
#define CLIENTS_MAGIC	 "glory-nsm-clients 1"

struct nsm_client {
	char *name;
	uint32_t addr; /* host order */
	int keep;      /* asked for a lock since this start: not forgotten after the grace */
};

struct nsm_mon { /* an SM_MON of a lock manager on this host */
	char *mon_name;
	uint32_t prog, vers, proc;
	uint8_t priv[SM_PRIV_SIZE];
};

/* Everything under lock, except what init sets and never changes (dir, state, grace_until). */
struct nfs_nsm {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* stop was set */
	struct nfs_nlm *nlm;
	char dir[512]; /* "": nothing is persisted */
	int32_t state;
	double grace_until; /* nfs_now() at the end of the grace period; 0: none */
	struct nsm_client *clients;
	int nclients;
	int save_failed; /* the last write of DIR/clients failed (logged once) */
	struct nsm_mon mons[NSM_MAX_MONITORS];
	int nmons;
	pthread_t thread;
	int started, stop;
};

static int mkdir_p(const char *path)
{
	char buf[512];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

/* Replaces DIR/name with len bytes of p: a temporary file, fsync, rename, fsync of DIR. */
static int write_atomic(const char *dir, const char *name, const char *p, size_t len)
{
	char path[600], tmp[610];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -errno;
	while (len && rc == 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			rc = k < 0 ? -errno : -EIO;
		else
			p += k, len -= (size_t)k;
	}
	if (rc == 0 && fsync(fd))
		rc = -errno;
	if (close(fd) && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path))
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* Reads DIR/name whole (at most cap - 1 bytes, NUL-terminated); its length or -errno. */
static long read_file(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[600];
	size_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while (got < cap - 1) {
		ssize_t k = read(fd, buf + got, cap - 1 - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

/* Writes DIR/clients from the list (lock held); 0 or -errno (logged once until it works). */
static int save_clients(struct nfs_nsm *n)
{
	size_t cap = 64 + (size_t)n->nclients * (20 + 3 * SM_MAXSTRLEN), len;
	char *buf = malloc(cap);
	int rc;

	if (!n->dir[0])
		return free(buf), 0;
	if (!buf)
		return -ENOMEM;
	len = (size_t)snprintf(buf, cap, "%s\n", CLIENTS_MAGIC);
	for (int i = 0; i < n->nclients; i++) {
		struct in_addr ia = {htonl(n->clients[i].addr)};

		inet_ntop(AF_INET, &ia, buf + len, INET_ADDRSTRLEN);
		len += strlen(buf + len);
		buf[len++] = ' ';
		for (const unsigned char *c = (const unsigned char *)n->clients[i].name; *c; c++)
			if (*c <= ' ' || *c > '~' || *c == '%')
				len += (size_t)snprintf(buf + len, 4, "%%%02X", *c);
			else
				buf[len++] = (char)*c;
		buf[len++] = '\n';
	}
	rc = write_atomic(n->dir, "clients", buf, len);
	free(buf);
	if (rc && !n->save_failed)
		gl_error("nfs: cannot write %s/clients: %s", n->dir, strerror(-rc));
	n->save_failed = rc != 0;
	return rc;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

/* Adds a client (lock held); 0, or -1 when the list is full or memory is short. */
static int client_add(struct nfs_nsm *n, const char *name, uint32_t addr, int keep)
{
	struct nsm_client *c;

	if (n->nclients >= NSM_MAX_CLIENTS)
		return -1;
	if (!(c = realloc(n->clients, sizeof(*c) * (size_t)(n->nclients + 1))))
		return -1;
	n->clients = c;
	c += n->nclients;
	if (!(c->name = strdup(name)))
		return -1;
	c->addr = addr;
	c->keep = keep;
	n->nclients++;
	return 0;
}

/* Loads DIR/clients; lines that do not parse are skipped (a damaged file loses only them). */
static void load_clients(struct nfs_nsm *n)
{
	size_t cap = 64 + (size_t)NSM_MAX_CLIENTS * (20 + 3 * SM_MAXSTRLEN);
	char *buf = malloc(cap), *line, *save = NULL, name[SM_MAXSTRLEN + 1];
	long len;

	if (!buf || (len = read_file(n->dir, "clients", buf, cap)) <= 0)
		goto out;
	line = strtok_r(buf, "\n", &save);
	if (!line || strcmp(line, CLIENTS_MAGIC)) {
		gl_warn("nfs: %s/clients is not a client list: ignored", n->dir);
		goto out;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *sp = strchr(line, ' ');
		struct in_addr ia;
		size_t k = 0;
		int ok = 1;

		if (!sp)
			continue;
		*sp = '\0';
		if (inet_pton(AF_INET, line, &ia) != 1)
			continue;
		for (const char *c = sp + 1; *c && ok; c++) {
			int hi, lo;

			if (k >= SM_MAXSTRLEN)
				ok = 0;
			else if (*c != '%')
				name[k++] = *c;
			else if ((hi = hexval(c[1])) < 0 || (lo = hexval(c[2])) < 0 ||
				 (hi << 4 | lo) == 0)
				ok = 0;
			else
				name[k++] = (char)(hi << 4 | lo), c += 2;
		}
		name[k] = '\0';
		if (ok && k > 0)
			client_add(n, name, ntohl(ia.s_addr), 0);
	}
out:
	free(buf);
}

/* The state number of this start: the last one + 2 (odd), persisted; without a directory,
 * an odd number from the clock (it still grows from one start to the next). */
static int32_t next_state(struct nfs_nsm *n)
{
	char buf[32];
	long long last = 0;
	int32_t st;
	int rc;

	if (!n->dir[0])
		return (int32_t)(((uint32_t)time(NULL) & 0x3fffffffu) | 1);
	if (read_file(n->dir, "state", buf, sizeof(buf)) > 0) {
		char *end;

		last = strtoll(buf, &end, 10);
		if (end == buf || (*end && *end != '\n') || last < 0 || last > INT32_MAX)
			last = 0;
	}
	st = last >= INT32_MAX - 2 ? 1 : (int32_t)(last % 2 ? last + 2 : last + 1);
	snprintf(buf, sizeof(buf), "%d\n", st);
	if ((rc = write_atomic(n->dir, "state", buf, strlen(buf))))
		gl_error("nfs: cannot write %s/state: %s", n->dir, strerror(-rc));
	return st;
}

int nfs_nsm_init(struct nfs_nsm **out, const struct nfs_nsm_cfg *cfg, struct nfs_nlm *nlm)
{
	struct nfs_nsm *n = calloc(1, sizeof(*n));
	pthread_condattr_t ca;
	int rc;

	if (!n)
		return -ENOMEM;
	n->nlm = nlm;
	pthread_mutex_init(&n->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (cfg->dir && strlen(cfg->dir) >= sizeof(n->dir) - 16)
		gl_error("nfs: state directory %s: name too long", cfg->dir);
	else if (cfg->dir && (rc = mkdir_p(cfg->dir)))
		gl_error("nfs: cannot create the state directory %s: %s", cfg->dir, strerror(-rc));
	else if (cfg->dir)
		snprintf(n->dir, sizeof(n->dir), "%s", cfg->dir);
	if (!n->dir[0])
		gl_warn("nfs: no state directory: lock clients are not recorded, so they cannot "
			"be told to reclaim after a restart");
	else
		load_clients(n);
	n->state = next_state(n);
	if (cfg->grace_s > 0 && n->nclients > 0)
		n->grace_until = nfs_now() + cfg->grace_s;
	gl_info("nfs: NSM state %d; %d lock clients recorded; %s", n->state, n->nclients,
		n->grace_until ? "grace period: only lock reclaims are granted for now"
			       : "no grace period");
	*out = n;
	return 0;
}

int nfs_nsm_in_grace(struct nfs_nsm *n)
{
	return n && n->grace_until > 0 && nfs_now() < n->grace_until;
}

int nfs_nsm_record(struct nfs_nsm *n, const char *caller, uint32_t addr, int reclaim)
{
	int rc = 0;

	(void)reclaim; /* a reclaim during the grace, or any lock after it: kept alike */
	pthread_mutex_lock(&n->lock);
	for (int i = 0; i < n->nclients; i++)
		if (n->clients[i].addr == addr && !strcmp(n->clients[i].name, caller)) {
			n->clients[i].keep = 1;
			goto out;
		}
	if (client_add(n, caller, addr, 1)) {
		gl_warn("nfs: cannot record lock client %s (%d recorded)", caller, n->nclients);
		rc = -1;
	} else if (save_clients(n)) {
		free(n->clients[--n->nclients].name);
		rc = -1;
	}
out:
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* SM_NOTIFY(our name, state) to the statd of the client at addr; 0 when it answered. */
static int notify_one(uint32_t addr, const char *me, int32_t state)
{
	struct nx_out args;
	uint8_t *res = NULL;
	size_t len;
	uint16_t port;
	int rc = -1;

	if (nfs_rpc_getport(addr, NSM_PROGRAM, NSM_V1, &port) || nx_out_init(&args, 64))
		return -1;
	nx_put_string(&args, me); /* stat_chge: mon_name, state */
	nx_put_u32(&args, (uint32_t)state);
	if (!args.err &&
	    !nfs_rpc_call_tcp(addr, port, NSM_PROGRAM, NSM_V1, SM_NOTIFY, &args, &res, &len))
		rc = 0;
	free(res);
	nx_out_free(&args);
	return rc;
}

/* Drops the clients not to keep (lock held) and saves the list if it changed. */
static void forget_unkept(struct nfs_nsm *n, const char *why)
{
	int out = 0;

	for (int i = 0; i < n->nclients; i++) {
		if (n->clients[i].keep) {
			n->clients[out++] = n->clients[i];
			continue;
		}
		gl_info("nfs: NSM: forgetting lock client %s: %s", n->clients[i].name, why);
		free(n->clients[i].name);
	}
	if (out != n->nclients) {
		n->nclients = out;
		save_clients(n);
	}
}

/* Sleeps until nfs_now() reaches t or stop is set (lock held); whether stop was set. */
static int sleep_until(struct nfs_nsm *n, double t)
{
	while (!n->stop && nfs_now() < t) {
		struct timespec ts;
		double left = t - nfs_now();

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)left;
		ts.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&n->cond, &n->lock, &ts);
	}
	return n->stop;
}

/* Tells every client recorded at the start that we restarted; at the end of the grace, forgets
 * those that reclaimed nothing. */
static void *nsm_thread(void *arg)
{
	struct nfs_nsm *n = arg;
	char me[256] = "localhost";
	int count;

	gethostname(me, sizeof(me) - 1);
	pthread_mutex_lock(&n->lock);
	count = n->nclients; /* recorded at the start (new ones are appended) */
	for (int i = 0; i < count && !n->stop; i++) {
		uint32_t addr = n->clients[i].addr;
		char ip[INET_ADDRSTRLEN];
		struct in_addr ia = {htonl(addr)};
		int rc;

		if (n->clients[i].keep) /* it locked already: it knows */
			continue;
		pthread_mutex_unlock(&n->lock);
		inet_ntop(AF_INET, &ia, ip, sizeof(ip));
		rc = notify_one(addr, me, n->state);
		pthread_mutex_lock(&n->lock);
		if (rc == 0) {
			gl_info("nfs: NSM: told %s (%s) to reclaim its locks (state %d)",
				n->clients[i].name, ip, n->state);
			continue;
		}
		gl_warn("nfs: NSM: cannot reach the statd of lock client %s (%s): forgotten",
			n->clients[i].name, ip);
		free(n->clients[i].name);
		memmove(&n->clients[i], &n->clients[i + 1],
			sizeof(*n->clients) * (size_t)(n->nclients - i - 1));
		n->nclients--;
		count--;
		i--;
		save_clients(n);
	}
	if (n->grace_until > 0 && !sleep_until(n, n->grace_until))
		gl_info("nfs: NLM grace period over");
	if (!n->stop)
		forget_unkept(n, "reclaimed no lock");
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

/* The monitors of mon_name (SM_MON from this host's lock manager) are called back: sm_status
 * (mon_name, state, priv) to their program at 127.0.0.1. */
static void call_monitors(struct nfs_nsm *n, const char *mon_name, int32_t state)
{
	struct nsm_mon calls[16];
	int k = 0;

	pthread_mutex_lock(&n->lock);
	for (int i = 0; i < n->nmons && k < (int)(sizeof(calls) / sizeof(calls[0])); i++)
		if (!strcmp(n->mons[i].mon_name, mon_name))
			calls[k++] = n->mons[i]; /* mon_name stays ours: only prog..priv are used */
	pthread_mutex_unlock(&n->lock);
	for (int i = 0; i < k; i++) {
		struct nx_out args;
		uint8_t *res = NULL;
		size_t len;
		uint16_t port;
		int rc = -1;

		if (nfs_rpc_getport(INADDR_LOOPBACK, calls[i].prog, calls[i].vers, &port) == 0 &&
		    nx_out_init(&args, 64) == 0) {
			nx_put_string(&args, mon_name);
			nx_put_u32(&args, (uint32_t)state);
			nx_put_fixed(&args, calls[i].priv, SM_PRIV_SIZE);
			rc = args.err ? -1
				      : nfs_rpc_call_tcp(INADDR_LOOPBACK, port, calls[i].prog,
							 calls[i].vers, calls[i].proc, &args, &res,
							 &len);
			free(res);
			nx_out_free(&args);
		}
		if (rc)
			gl_warn("nfs: NSM: cannot call back program %u v%u for %s", calls[i].prog,
				calls[i].vers, mon_name);
	}
}

/* SM_MON (add) or SM_UNMON / SM_UNMON_ALL (remove; mon_name NULL: all of my_id's). */
static int monitor_set(struct nfs_nsm *n, const struct nsm_args *a, int add, int all)
{
	int rc = 0;

	pthread_mutex_lock(&n->lock);
	for (int i = 0; i < n->nmons;) {
		struct nsm_mon *m = &n->mons[i];

		if (m->prog != a->my_prog || m->vers != a->my_vers || m->proc != a->my_proc ||
		    (!all && strcmp(m->mon_name, a->mon_name))) {
			i++;
			continue;
		}
		free(m->mon_name);
		*m = n->mons[--n->nmons];
	}
	if (add) {
		struct nsm_mon *m = &n->mons[n->nmons];

		if (n->nmons >= NSM_MAX_MONITORS || !(m->mon_name = strdup(a->mon_name))) {
			rc = -1;
		} else {
			m->prog = a->my_prog;
			m->vers = a->my_vers;
			m->proc = a->my_proc;
			memcpy(m->priv, a->priv, SM_PRIV_SIZE);
			n->nmons++;
		}
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

uint32_t nfs_nsm_call(struct nfs_req *r)
{
	struct nfs_nsm *n = r->s->nsm;
	struct nsm_args *a = malloc(sizeof(*a));
	int local = r->peer == INADDR_LOOPBACK, freed;
	int rc;

	if (!a)
		return NR_SYSTEM_ERR;
	if ((rc = nsm_decode_args(r->call.proc, &r->in, a))) {
		free(a);
		return rc == -ENOSYS ? NR_PROC_UNAVAIL : NR_GARBAGE_ARGS;
	}
	switch (r->call.proc) {
	case SM_NULL:
		break;
	case SM_STAT: /* sm_stat_res: res_stat, state */
		nx_put_u32(r->out, STAT_SUCC);
		nx_put_u32(r->out, (uint32_t)n->state);
		break;
	case SM_MON: /* only for a lock manager on this host, as statd */
		nx_put_u32(r->out, local && !monitor_set(n, a, 1, 0) ? STAT_SUCC : STAT_FAIL);
		nx_put_u32(r->out, (uint32_t)n->state);
		break;
	case SM_UNMON:
	case SM_UNMON_ALL: /* sm_stat: state */
		if (local)
			monitor_set(n, a, 0, r->call.proc == SM_UNMON_ALL);
		nx_put_u32(r->out, (uint32_t)n->state);
		break;
	case SM_NOTIFY: /* the client restarted: what it held is gone (void result) */
		freed = nfs_nlm_free_host(n->nlm, a->mon_name, r->peer);
		gl_info("nfs: NSM: %s (from %s) restarted (state %d): %d locks freed", a->mon_name,
			r->peer_str, a->state, freed);
		call_monitors(n, a->mon_name, a->state);
		break;
	}
	free(a);
	return NR_SUCCESS;
}

int nfs_nsm_start(struct nfs_nsm *n)
{
	if (pthread_create(&n->thread, NULL, nsm_thread, n))
		return -EAGAIN;
	n->started = 1;
	return 0;
}

void nfs_nsm_fini(struct nfs_nsm *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = 1;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	if (n->started)
		pthread_join(n->thread, NULL);
	for (int i = 0; i < n->nclients; i++)
		free(n->clients[i].name);
	free(n->clients);
	for (int i = 0; i < n->nmons; i++)
		free(n->mons[i].mon_name);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
}

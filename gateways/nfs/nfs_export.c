/* Exports (which volumes, to whom, how), the table of open volumes, and permission checks
 * with the caller's AUTH_SYS credentials (libglory acts as the admin: the gateway checks). */
#include "common/errors.h"
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_client(const char *s, size_t n, struct nfs_export *e)
{
	char buf[64];
	char *slash;
	long bits = 32;
	struct in_addr a;

	if (n == 0 || n >= sizeof(buf) || e->nclients == NFS_MAX_CLIENTS)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if ((slash = strchr(buf, '/'))) {
		char *end;

		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 0 || bits > 32)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	e->clients[e->nclients].mask = bits ? 0xffffffffu << (32 - bits) : 0;
	e->clients[e->nclients].addr = ntohl(a.s_addr) & e->clients[e->nclients].mask;
	e->nclients++;
	return 0;
}

static int parse_opt(const char *o, size_t n, struct nfs_export *e)
{
	if (n == 2 && !strncmp(o, "ro", 2))
		e->ro = 1;
	else if (n == 2 && !strncmp(o, "rw", 2))
		e->ro = 0;
	else if (n == 11 && !strncmp(o, "root_squash", 11))
		e->no_root_squash = 0;
	else if (n == 14 && !strncmp(o, "no_root_squash", 14))
		e->no_root_squash = 1;
	else if (n > 8 && !strncmp(o, "clients=", 8)) {
		const char *p = o + 8, *end = o + n;

		while (p < end) {
			const char *q = memchr(p, '+', (size_t)(end - p));

			if (!q)
				q = end;
			if (parse_client(p, (size_t)(q - p), e))
				return -EINVAL;
			p = q + 1;
		}
	} else
		return -EINVAL;
	return 0;
}

int nfs_export_parse(const char *spec, struct nfs_export *e, char *msg, size_t cap)
{
	const char *slash = strchr(spec, '/'), *colon = strchr(spec, ':');
	size_t tl, vl;

	memset(e, 0, sizeof(*e));
	if (!colon)
		colon = spec + strlen(spec);
	if (!slash || slash > colon || slash == spec || slash + 1 == colon) {
		snprintf(msg, cap, "export '%s': say TENANT/VOLUME[:options]", spec);
		return -EINVAL;
	}
	tl = (size_t)(slash - spec);
	vl = (size_t)(colon - slash - 1);
	if (tl >= sizeof(e->tenant) || vl >= sizeof(e->vol) || memchr(slash + 1, '/', vl)) {
		snprintf(msg, cap, "export '%s': bad tenant or volume name", spec);
		return -EINVAL;
	}
	memcpy(e->tenant, spec, tl);
	memcpy(e->vol, slash + 1, vl);
	for (const char *p = *colon ? colon + 1 : colon; *p;) {
		size_t n = strcspn(p, ",");

		if (parse_opt(p, n, e)) {
			snprintf(msg, cap,
				 "export '%s': unknown option '%.*s' (ro, rw, root_squash, "
				 "no_root_squash, clients=ADDR[/BITS][+...])",
				 spec, (int)n, p);
			return -EINVAL;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

int gl_nfs_export_check(const char *spec, char *msg, unsigned cap)
{
	struct nfs_export e;

	return nfs_export_parse(spec, &e, msg, cap);
}

int nfs_export_allows(const struct nfs_export *e, uint32_t addr)
{
	if (!e->nclients)
		return 1;
	for (int i = 0; i < e->nclients; i++)
		if ((addr & e->clients[i].mask) == e->clients[i].addr)
			return 1;
	return 0;
}

/* The export options of tenant/vol; NULL when it is not exported. */
static const struct nfs_export *export_of(struct nfs_srv *s, const char *tenant, const char *vol)
{
	static const struct nfs_export dflt;

	for (int i = 0; i < s->nex; i++)
		if (!strcmp(s->ex[i].tenant, tenant) && !strcmp(s->ex[i].vol, vol))
			return &s->ex[i];
	return s->all ? &dflt : NULL;
}

/* Says once about each --export whose volume is not (yet) there. vlock held. */
static void warn_missing(struct nfs_srv *s)
{
	for (int i = 0; i < s->nex; i++) {
		int found = 0;

		for (int j = 0; j < s->nvols && !found; j++)
			found = !strcmp(s->vols[j]->tenant, s->ex[i].tenant) &&
				!strcmp(s->vols[j]->name, s->ex[i].vol);
		if (!found && !s->ex[i].warned) {
			gl_warn(
			    "nfs: --export %s/%s: no such volume (yet): exported once it exists",
			    s->ex[i].tenant, s->ex[i].vol);
			s->ex[i].warned = 1;
		}
	}
}

/* Opens every exported volume not yet in the table. Called with vlock held. */
static int vols_refresh(struct nfs_srv *s)
{
	struct glory_volume_info *vi = NULL;
	struct glory_tenant *ti = NULL;
	int nv = 0, nt = 0, rc;

	if (s->refreshed && nfs_now() - s->refreshed < 1.0)
		return 0; /* handles of unknown volumes must not make every call list them all */
	s->refreshed = nfs_now();
	if ((rc = glory_tenant_list(s->g, &ti, &nt)) ||
	    (rc = glory_volume_list(s->g, NULL, &vi, &nv)))
		goto out;
	for (int i = 0; i < nv; i++) {
		const char *tname = NULL;
		const struct nfs_export *ex;
		struct nfs_vol *nv_;
		int known = 0;

		for (int j = 0; j < s->nvols; j++)
			known |= s->vols[j]->id == vi[i].id;
		for (int j = 0; j < nt; j++)
			if (ti[j].id == vi[i].tenant)
				tname = ti[j].name;
		if (known || !tname || !(ex = export_of(s, tname, vi[i].name)) ||
		    s->nvols == NFS_MAX_VOLS)
			continue;
		if (!(nv_ = calloc(1, sizeof(*nv_)))) {
			rc = -GL_ENOMEM;
			break;
		}
		if ((rc = glory_vol_open(s->g, tname, vi[i].name, &nv_->v))) {
			gl_warn("nfs: cannot open volume %s/%s: %s", tname, vi[i].name,
				glory_strerror(rc));
			free(nv_);
			continue;
		}
		nv_->id = vi[i].id;
		snprintf(nv_->tenant, sizeof(nv_->tenant), "%s", tname);
		snprintf(nv_->name, sizeof(nv_->name), "%s", vi[i].name);
		nv_->ex = *ex;
		s->vols[s->nvols++] = nv_;
		gl_info("nfs: exporting /%s/%s (volume %u)%s%s", tname, vi[i].name, vi[i].id,
			ex->ro ? " ro" : "", ex->no_root_squash ? " no_root_squash" : "");
	}
	warn_missing(s);
	rc = 0;
out:
	free(vi);
	free(ti);
	return rc;
}

int nfs_vols_init(struct nfs_srv *s)
{
	int rc;

	pthread_mutex_lock(&s->vlock);
	rc = vols_refresh(s);
	pthread_mutex_unlock(&s->vlock);
	return rc;
}

struct nfs_vol *nfs_vol_by_id(struct nfs_srv *s, uint32_t id)
{
	struct nfs_vol *v = NULL;

	pthread_mutex_lock(&s->vlock);
	for (int pass = 0; pass < 2 && !v; pass++) {
		for (int i = 0; i < s->nvols && !v; i++)
			if (s->vols[i]->id == id)
				v = s->vols[i];
		if (!v && pass == 0)
			vols_refresh(s);
	}
	pthread_mutex_unlock(&s->vlock);
	return v;
}

struct nfs_vol *nfs_vol_by_path(struct nfs_srv *s, const char *path, const char **rest)
{
	struct nfs_vol *v = NULL;

	while (*path == '/')
		path++;
	pthread_mutex_lock(&s->vlock);
	for (int pass = 0; pass < 2 && !v; pass++) {
		for (int i = 0; i < s->nvols && !v; i++) {
			size_t tl = strlen(s->vols[i]->tenant), vl = strlen(s->vols[i]->name);

			if (!strncmp(path, s->vols[i]->tenant, tl) && path[tl] == '/' &&
			    !strncmp(path + tl + 1, s->vols[i]->name, vl) &&
			    (path[tl + 1 + vl] == '/' || !path[tl + 1 + vl])) {
				v = s->vols[i];
				*rest = path + tl + 1 + vl;
			}
		}
		if (!v && pass == 0)
			vols_refresh(s);
	}
	pthread_mutex_unlock(&s->vlock);
	return v;
}

int nfs_vol_list(struct nfs_srv *s, struct nfs_vol **out, int cap)
{
	int n = 0;

	pthread_mutex_lock(&s->vlock);
	vols_refresh(s);
	for (int i = 0; i < s->nvols && n < cap; i++)
		out[n++] = s->vols[i];
	pthread_mutex_unlock(&s->vlock);
	return n;
}

void nfs_cred_for(struct nfs_req *r, const struct nfs_vol *v)
{
	r->cred = r->call.cred;
	if (r->cred.flavor != NR_AUTH_SYS) {
		r->cred.uid = r->cred.gid = NFS_NOBODY;
		r->cred.ngids = 0;
	} else if (r->cred.uid == 0 && !v->ex.no_root_squash) {
		r->cred.uid = r->cred.gid = NFS_NOBODY;
		r->cred.ngids = 0;
	}
}

static int in_group(const struct nfs_cred *c, uint32_t gid)
{
	if (c->gid == gid)
		return 1;
	for (uint32_t i = 0; i < c->ngids; i++)
		if (c->gids[i] == gid)
			return 1;
	return 0;
}

/* The rwx bits (4, 2, 1) cred has on a by its mode. */
static int mode_bits(const struct nfs_cred *c, const struct glory_attr *a)
{
	if (c->uid == 0) /* root: everything, execute only if someone may */
		return 6 | ((a->mode & 0111) || (a->mode & 0170000) == 0040000 ? 1 : 0);
	if (c->uid == a->uid)
		return (a->mode >> 6) & 7;
	if (in_group(c, a->gid))
		return (a->mode >> 3) & 7;
	return a->mode & 7;
}

int nfs_may(const struct nfs_cred *c, const struct glory_attr *a, int want)
{
	return (mode_bits(c, a) & want) == want ? 0 : NFS3ERR_ACCES;
}

uint32_t nfs_access_bits(const struct nfs_cred *c, const struct glory_attr *a, uint32_t want)
{
	int b = mode_bits(c, a), dir = (a->mode & 0170000) == 0040000;
	uint32_t got = 0;

	if (b & 4)
		got |= NFS3_ACCESS_READ;
	if (b & 2)
		got |= NFS3_ACCESS_MODIFY | NFS3_ACCESS_EXTEND | (dir ? NFS3_ACCESS_DELETE : 0);
	if (b & 1)
		got |= dir ? NFS3_ACCESS_LOOKUP : NFS3_ACCESS_EXECUTE;
	return got & want;
}

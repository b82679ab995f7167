/* MOUNT (versions 1 and 3): MNT gives the handle of an export's root (or of a directory in
 * it); DUMP, UMNT, UMNTALL keep the advisory list of who mounted what; EXPORT lists the exports
 * and their client lists (`showmount -e`). */
#include "common/errors.h"
#include "common/log.h"
#include "gateways/nfs/nfs_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t mnt_stat_of(int rc)
{
	switch (rc) {
	case -GL_ENOENT:
		return MNT3ERR_NOENT;
	case -GL_ENOTDIR:
		return MNT3ERR_NOTDIR;
	case -GL_EACCES:
		return MNT3ERR_ACCES;
	case -GL_ENAMETOOLONG:
		return MNT3ERR_NAMETOOLONG;
	default:
		return MNT3ERR_IO;
	}
}

static void mounts_add(struct nfs_srv *s, const char *host, const char *path)
{
	struct nfs_mnt *m;

	pthread_mutex_lock(&s->mlock);
	for (m = s->mounts; m; m = m->next)
		if (!strcmp(m->host, host) && !strcmp(m->path, path))
			break;
	if (!m && (m = calloc(1, sizeof(*m)))) {
		snprintf(m->host, sizeof(m->host), "%s", host);
		snprintf(m->path, sizeof(m->path), "%s", path);
		m->next = s->mounts;
		s->mounts = m;
	}
	pthread_mutex_unlock(&s->mlock);
}

/* Drops host's entries for path (NULL: all of host's). */
static void mounts_drop(struct nfs_srv *s, const char *host, const char *path)
{
	pthread_mutex_lock(&s->mlock);
	for (struct nfs_mnt **pp = &s->mounts; *pp;) {
		struct nfs_mnt *m = *pp;

		if (!strcmp(m->host, host) && (!path || !strcmp(m->path, path))) {
			*pp = m->next;
			free(m);
		} else {
			pp = &m->next;
		}
	}
	pthread_mutex_unlock(&s->mlock);
}

static uint32_t mnt(struct nfs_req *r)
{
	char path[MNT3_PATH_MAX + 1];
	const char *rest;
	struct nfs_vol *v;
	struct glory_attr at;
	struct nfs_fh3 fh;
	uint32_t st = MNT3_OK;
	int rc;

	if (mnt3_decode_path(&r->in, path))
		return NR_GARBAGE_ARGS;
	if (!(v = nfs_vol_by_path(r->s, path, &rest)))
		st = MNT3ERR_NOENT;
	else if (!nfs_export_allows(&v->ex, r->peer))
		st = MNT3ERR_ACCES;
	else if ((rc = glory_resolve(v->v, *rest ? rest + 1 : "", &at)))
		st = mnt_stat_of(rc);
	else if ((at.mode & 0170000) != 0040000)
		st = MNT3ERR_NOTDIR;
	gl_info("nfs: MNT %s from %s: %s", path, r->peer_str, st ? "refused" : "ok");
	nx_put_u32(r->out, st);
	if (st != MNT3_OK)
		return NR_SUCCESS;
	nfs_handle_of(v, &at, &fh);
	nx_put_opaque(r->out, fh.data, fh.len);
	nx_put_u32(r->out, 1); /* auth flavors: AUTH_SYS */
	nx_put_u32(r->out, NR_AUTH_SYS);
	mounts_add(r->s, r->peer_str, path);
	return NR_SUCCESS;
}

static int prefix_len(uint32_t mask)
{
	int n = 0;

	for (; mask & 0x80000000u; mask <<= 1)
		n++;
	return n;
}

static void export_list(struct nfs_req *r)
{
	struct nfs_vol *vols[NFS_MAX_VOLS];
	int n = nfs_vol_list(r->s, vols, NFS_MAX_VOLS);
	char buf[256];

	for (int i = 0; i < n; i++) {
		const struct nfs_export *e = &vols[i]->ex;

		nx_put_u32(r->out, 1);
		snprintf(buf, sizeof(buf), "/%s/%s", vols[i]->tenant, vols[i]->name);
		nx_put_string(r->out, buf);
		if (!e->nclients) {
			nx_put_u32(r->out, 1);
			nx_put_string(r->out, "*");
		}
		for (int c = 0; c < e->nclients; c++) {
			struct in_addr a = {htonl(e->clients[c].addr)};
			int bits = prefix_len(e->clients[c].mask);

			inet_ntop(AF_INET, &a, buf, sizeof(buf));
			if (bits != 32)
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%d", bits);
			nx_put_u32(r->out, 1);
			nx_put_string(r->out, buf);
		}
		nx_put_u32(r->out, 0);
	}
	nx_put_u32(r->out, 0);
}

uint32_t nfs_mount_call(struct nfs_req *r)
{
	char path[MNT3_PATH_MAX + 1];

	switch (r->call.proc) {
	case MNT3_NULL:
		return NR_SUCCESS;
	case MNT3_MNT:
		if (r->call.vers != MOUNT_V3)
			return NR_PROC_UNAVAIL; /* v1 handles are 32 bytes: v3 only */
		return mnt(r);
	case MNT3_DUMP:
		pthread_mutex_lock(&r->s->mlock);
		for (struct nfs_mnt *m = r->s->mounts; m; m = m->next) {
			nx_put_u32(r->out, 1);
			nx_put_string(r->out, m->host);
			nx_put_string(r->out, m->path);
		}
		pthread_mutex_unlock(&r->s->mlock);
		nx_put_u32(r->out, 0);
		return NR_SUCCESS;
	case MNT3_UMNT:
		if (mnt3_decode_path(&r->in, path))
			return NR_GARBAGE_ARGS;
		mounts_drop(r->s, r->peer_str, path);
		return NR_SUCCESS;
	case MNT3_UMNTALL:
		mounts_drop(r->s, r->peer_str, NULL);
		return NR_SUCCESS;
	case MNT3_EXPORT:
		export_list(r);
		return NR_SUCCESS;
	default:
		return NR_PROC_UNAVAIL;
	}
}

/* Decoders of the NLM 4 and NSM 1 arguments. Pure: the fuzz target runs them on arbitrary bytes. */
#include "gateways/nfs/nfs_proto.h"

#include <errno.h>
#include <string.h>

static void get_netobj(struct nx_in *x, uint8_t *out, uint32_t *len)
{
	const uint8_t *b;

	*len = nx_opaque_view(x, NLM_MAXSTR, &b);
	if (b)
		memcpy(out, b, *len);
}

/* nlm4_lock: caller_name, fh, oh, svid, l_offset, l_len */
static void get_lock(struct nx_in *x, struct nlm4_args *a)
{
	const uint8_t *b;
	uint32_t n;

	nx_string(x, a->caller, NLM_MAXSTR);
	n = nx_opaque_view(x, NLM_MAXSTR, &b);
	if (b && n <= NFS3_FHSIZE) {
		a->fh.len = n;
		memcpy(a->fh.data, b, n);
	}
	get_netobj(x, a->oh, &a->oh_len);
	a->svid = (int32_t)nx_u32(x);
	a->offset = nx_u64(x);
	a->len = nx_u64(x);
}

int nlm4_decode_args(uint32_t proc, struct nx_in *x, struct nlm4_args *a)
{
	memset(a, 0, sizeof(*a));
	switch (proc) {
	case NLM4_NULL:
		break;
	case NLM4_TEST:
		get_netobj(x, a->cookie, &a->cookie_len);
		a->exclusive = nx_bool(x);
		get_lock(x, a);
		break;
	case NLM4_LOCK:
	case NLM4_NM_LOCK:
		get_netobj(x, a->cookie, &a->cookie_len);
		a->block = nx_bool(x);
		a->exclusive = nx_bool(x);
		get_lock(x, a);
		a->reclaim = nx_bool(x);
		a->state = (int32_t)nx_u32(x);
		break;
	case NLM4_CANCEL:
		get_netobj(x, a->cookie, &a->cookie_len);
		a->block = nx_bool(x);
		a->exclusive = nx_bool(x);
		get_lock(x, a);
		break;
	case NLM4_UNLOCK:
		get_netobj(x, a->cookie, &a->cookie_len);
		get_lock(x, a);
		break;
	case NLM4_FREE_ALL:
		nx_string(x, a->caller, NLM_MAXSTR);
		a->state = (int32_t)nx_u32(x);
		break;
	default:
		return -ENOSYS;
	}
	return x->err ? -EPROTO : 0;
}

static void get_my_id(struct nx_in *x, struct nsm_args *a)
{
	nx_string(x, a->my_name, SM_MAXSTRLEN);
	a->my_prog = nx_u32(x);
	a->my_vers = nx_u32(x);
	a->my_proc = nx_u32(x);
}

int nsm_decode_args(uint32_t proc, struct nx_in *x, struct nsm_args *a)
{
	memset(a, 0, sizeof(*a));
	switch (proc) {
	case SM_NULL:
		break;
	case SM_STAT:
		nx_string(x, a->mon_name, SM_MAXSTRLEN);
		break;
	case SM_MON:
		nx_string(x, a->mon_name, SM_MAXSTRLEN);
		get_my_id(x, a);
		nx_fixed(x, a->priv, SM_PRIV_SIZE);
		break;
	case SM_UNMON:
		nx_string(x, a->mon_name, SM_MAXSTRLEN);
		get_my_id(x, a);
		break;
	case SM_UNMON_ALL:
		get_my_id(x, a);
		break;
	case SM_NOTIFY:
		nx_string(x, a->mon_name, SM_MAXSTRLEN);
		a->state = (int32_t)nx_u32(x);
		break;
	default:
		return -ENOSYS;
	}
	return x->err ? -EPROTO : 0;
}

/* S3 gateway: object metadata kept in the xattr user.s3.meta ("name\0value\0" pairs). */
#include "gateways/s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

int s3_meta_decode(const char *p, size_t n, struct s3_meta *m)
{
	const char *end = p + n;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		const char *nz = memchr(p, '\0', (size_t)(end - p)), *vz;

		if (!nz || !(vz = memchr(nz + 1, '\0', (size_t)(end - nz - 1))))
			goto bad;
		if (s3_meta_set(m, p, nz + 1))
			goto bad;
		p = vz + 1;
	}
	return 0;
bad:
	s3_meta_free(m);
	return -S3E_INTERNAL;
}

int s3_meta_encode(const struct s3_meta *m, struct s3_buf *b)
{
	for (int i = 0; i < m->n; i++) {
		s3_buf_put(b, m->name[i], strlen(m->name[i]) + 1);
		s3_buf_put(b, m->value[i], strlen(m->value[i]) + 1);
	}
	return b->err ? -S3E_INTERNAL : 0;
}

const char *s3_meta_get(const struct s3_meta *m, const char *name)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->name[i], name) == 0)
			return m->value[i];
	return NULL;
}

int s3_meta_set(struct s3_meta *m, const char *name, const char *value)
{
	char *v = strdup(value), *nm;

	if (!v)
		return -S3E_INTERNAL;
	for (int i = 0; i < m->n; i++) {
		if (strcmp(m->name[i], name) == 0) {
			free(m->value[i]);
			m->value[i] = v;
			return 0;
		}
	}
	if (m->n >= S3_META_MAX || !(nm = strdup(name))) {
		free(v);
		return m->n >= S3_META_MAX ? -S3E_INVALID_ARGUMENT : -S3E_INTERNAL;
	}
	m->name[m->n] = nm;
	m->value[m->n++] = v;
	return 0;
}

void s3_meta_free(struct s3_meta *m)
{
	for (int i = 0; i < m->n; i++) {
		free(m->name[i]);
		free(m->value[i]);
	}
	m->n = 0;
}

/* The path of a fragment's file in a fragment store under dir (the naming of storage/fstore.c:
 * frag/XX/PPPPPPPP-<64 hex chunk id>-II), for tests that damage files on disk. Include after
 * storage/fstore.h. */
#ifndef GL_TEST_FRAGPATH_H
#define GL_TEST_FRAGPATH_H

#include <stdio.h>

static void frag_path_in(const char *root, const struct gl_fkey *k, char *path, size_t cap)
{
	char name[80];

	snprintf(name, sizeof(name), "%08x-", k->pool);
	for (int i = 0; i < 32; i++)
		snprintf(name + 9 + 2 * i, 3, "%02x", k->chunk[i]);
	snprintf(name + 73, sizeof(name) - 73, "-%02x", k->idx);
	snprintf(path, cap, "%s/frag/%02x/%s", root, k->chunk[0], name);
}

#endif

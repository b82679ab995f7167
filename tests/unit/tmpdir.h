/* A fresh temporary directory for each test of a cmocka group, removed after it: include once,
 * then use setup and teardown as the tests' fixtures and dir as the path. */
#ifndef GL_TEST_TMPDIR_H
#define GL_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char dir[64];

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/glory-unit.XXXXXX"); /* mkdtemp(3) fills in the X's */
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

#endif

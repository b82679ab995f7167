#include "common/errors.h"

#include <errno.h>
#include <string.h>

const char *gl_strerror(int rc)
{
	if (rc > 0)
		rc = -rc;
	switch (-rc) {
	case 0:
		return "success";
#define GL_ERR_TEXT(name, val, eno, text)                                                          \
	case val:                                                                                  \
		return text;
		GL_ERRORS(GL_ERR_TEXT)
#undef GL_ERR_TEXT
	default:
		return strerror(-rc);
	}
}

int gl_to_errno(int rc)
{
	if (rc >= 0)
		return 0;
	switch (-rc) {
#define GL_ERR_ERRNO(name, val, eno, text)                                                         \
	case val:                                                                                  \
		return -(eno);
		GL_ERRORS(GL_ERR_ERRNO)
#undef GL_ERR_ERRNO
	default:
		return rc < -1000 ? -EIO : rc;
	}
}

int gl_from_errno(int eno)
{
	switch (eno) {
	case ENOMEM:
		return -GL_ENOMEM;
	case ENOENT:
		return -GL_ENOENT;
	case EEXIST:
		return -GL_EEXIST;
	case ENOSPC:
	case EDQUOT:
		return -GL_ENOSPC;
	case ETIMEDOUT:
		return -GL_ETIMEDOUT;
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return -GL_ECONN;
	case ECONNRESET:
	case EPIPE:
		return -GL_ECLOSED;
	case EINVAL:
		return -GL_EINVAL;
	case EAGAIN:
		return -GL_EAGAIN;
	default:
		return -GL_EIO;
	}
}

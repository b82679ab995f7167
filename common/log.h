/* Logging: one line per event to stderr (or a file), with time, level, program and pid.
 * Thread-safe. Never write logs to a client socket. */
#ifndef GL_LOG_H
#define GL_LOG_H

#include "common/compiler.h"

enum gl_log_level { GL_LOG_DEBUG = 0, GL_LOG_INFO = 1, GL_LOG_WARN = 2, GL_LOG_ERROR = 3 };

/* prog: short name shown on each line (copied). path: NULL for stderr, else appended to. */
int gl_log_init(const char *prog, enum gl_log_level level, const char *path);
void gl_log_set_level(enum gl_log_level level);
/* Parses "debug|info|warn|error"; returns -GL_EINVAL on anything else. */
int gl_log_parse_level(const char *s, enum gl_log_level *out);
void gl_log(enum gl_log_level level, const char *fmt, ...) GL_PRINTF(2, 3);

#define gl_debug(...) gl_log(GL_LOG_DEBUG, __VA_ARGS__)
#define gl_info(...)  gl_log(GL_LOG_INFO, __VA_ARGS__)
#define gl_warn(...)  gl_log(GL_LOG_WARN, __VA_ARGS__)
#define gl_error(...) gl_log(GL_LOG_ERROR, __VA_ARGS__)

#endif

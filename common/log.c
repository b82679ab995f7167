#include "common/log.h"

#include "common/errors.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Guarded by log_lock after gl_log_init; read racily for the level check (benign). */
static struct {
	char prog[32];
	enum gl_log_level level;
	FILE *out;
} g_log = {"glory", GL_LOG_INFO, NULL};
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int gl_log_init(const char *prog, enum gl_log_level level, const char *path)
{
	FILE *f = NULL;

	if (path) {
		f = fopen(path, "a");
		if (!f)
			return gl_from_errno(errno);
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&log_lock);
	snprintf(g_log.prog, sizeof(g_log.prog), "%s", prog ? prog : "glory");
	g_log.level = level;
	if (g_log.out && g_log.out != stderr)
		fclose(g_log.out);
	g_log.out = f;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void gl_log_set_level(enum gl_log_level level)
{
	g_log.level = level;
}

int gl_log_parse_level(const char *s, enum gl_log_level *out)
{
	static const char *names[] = {"debug", "info", "warn", "error"};

	for (unsigned i = 0; i < GL_ARRAY_SIZE(names); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum gl_log_level)i;
			return 0;
		}
	}
	return -GL_EINVAL;
}

void gl_log(enum gl_log_level level, const char *fmt, ...)
{
	static const char tag[] = "DIWE";
	char line[1024];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level < g_log.level)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %c %s[%d] ", tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (long)(tv.tv_usec / 1000), tag[level & 3], g_log.prog,
		     (int)getpid());
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	fprintf(g_log.out ? g_log.out : stderr, "%s\n", line);
	pthread_mutex_unlock(&log_lock);
}

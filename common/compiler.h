/* The only place where compiler extensions are named. */
#ifndef GL_COMPILER_H
#define GL_COMPILER_H

#define GL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define GL_UNUSED	     __attribute__((unused))
#define GL_NORETURN	     __attribute__((noreturn))
#define GL_LIKELY(x)	     __builtin_expect(!!(x), 1)
#define GL_UNLIKELY(x)	     __builtin_expect(!!(x), 0)
#define GL_ARRAY_SIZE(a)     (sizeof(a) / sizeof((a)[0]))
#define GL_MIN(a, b)	     ((a) < (b) ? (a) : (b))
#define GL_MAX(a, b)	     ((a) > (b) ? (a) : (b))

#endif

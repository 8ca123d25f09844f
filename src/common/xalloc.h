/* Allocation that never fails: on out-of-memory the daemon logs and aborts (there is no
 * sensible recovery for a server that cannot allocate a few bytes). Thread-safe. */
#ifndef DF_XALLOC_H
#define DF_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Never NULL: said to the compiler and to static analysers (scan-build). */
#define DF_NONNULL_RESULT __attribute__((returns_nonnull))

void *xmalloc(size_t size) DF_NONNULL_RESULT;
void *xcalloc(size_t nmemb, size_t size) DF_NONNULL_RESULT;
void *xrealloc(void *ptr, size_t size) DF_NONNULL_RESULT;
char *xstrdup(const char *s) DF_NONNULL_RESULT;
char *xstrndup(const char *s, size_t n) DF_NONNULL_RESULT;
/* Returned strings are the caller's. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))) DF_NONNULL_RESULT;
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)))
	DF_NONNULL_RESULT;

#endif

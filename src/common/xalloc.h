/* Allocation that never fails: on out-of-memory the daemon logs and aborts (there is no
 * sensible recovery for a server that cannot allocate a few bytes). Thread-safe. */
#ifndef DF_XALLOC_H
#define DF_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returned strings are the caller's. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif

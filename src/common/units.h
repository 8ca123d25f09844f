/* Parsing and formatting of byte sizes, rates and durations as users type them.
 * Pure functions, thread-safe. */
#ifndef DF_UNITS_H
#define DF_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* A byte size or rate: "20MB", "20M", "512K", "1.5G", "100B", "4096" (bytes). Units are
 * B, K/KB, M/MB, G/GB, T/TB in any case, powers of 1024 as in the original Dragonfly; a
 * trailing "/s" is accepted for rates. Returns 0, or -EINVAL (not that form) / -ERANGE. */
int df_size_parse(const char *s, int64_t *bytes_r);
#define df_rate_parse df_size_parse

/* "20MB", "1.5GB", "512KB", "100B": the largest unit that keeps the value >= 1, with at
 * most two decimals and no trailing zeros. Returns buf. */
char *df_size_format(int64_t bytes, char *buf, size_t bufsz);

/* A duration: "300" (seconds), "300s", "5m", "1h", "2d", "250ms", "1.5s", "1m30s".
 * Returns 0 and milliseconds, or -EINVAL / -ERANGE. */
int df_duration_parse(const char *s, int64_t *millis_r);

/* "1h2m3s", "250ms", "0s". Returns buf. */
char *df_duration_format(int64_t millis, char *buf, size_t bufsz);

#endif

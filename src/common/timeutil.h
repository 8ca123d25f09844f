/* Clocks and sleeping. Thread-safe. */
#ifndef DF_TIMEUTIL_H
#define DF_TIMEUTIL_H

#include <stdint.h>

int64_t df_mono_us(void); /* monotonic microseconds */
int64_t df_mono_ms(void);
int64_t df_wall_ms(void); /* milliseconds since the Unix epoch */
/* Sleep, resuming after signals, for the whole duration. */
void df_sleep_us(int64_t us);
void df_sleep_ms(int64_t ms);
/* "2026-11-28T02:57:09Z" for a wall time in ms. Returns buf. */
char *df_time_iso8601(int64_t wall_ms, char *buf, unsigned bufsz);

#endif

/* Token bucket (after curl's): a rate in bytes per second, a burst (the most tokens that
 * may pile up while idle), and tokens that may go negative: a taker is never refused, it
 * runs into debt and is told how long to wait, so large and small takes are both exact
 * over time. Rate 0 means unlimited.
 *
 * Thread-safe: every function takes the bucket's own lock, held only for arithmetic. The
 * clock is injectable so tests are exact and instant. */
#ifndef DF_RATELIMIT_H
#define DF_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Monotonic microseconds. */
typedef int64_t (*df_clock_fn)(void *arg);
int64_t df_clock_monotonic_us(void *arg);

struct df_bucket;

/* burst <= 0 picks a default (a tenth of a second of rate, at least 64 KiB). clock NULL
 * means the monotonic clock. Returns the bucket (the caller's; df_bucket_free). */
struct df_bucket *df_bucket_new(int64_t rate, int64_t burst, df_clock_fn clock,
				void *clock_arg);
void df_bucket_free(struct df_bucket *b);

/* Change the rate (0 = unlimited) and burst; the tokens held are kept, capped at burst. */
void df_bucket_set_rate(struct df_bucket *b, int64_t rate, int64_t burst);
int64_t df_bucket_get_rate(struct df_bucket *b);

/* Take n tokens now, going into debt if needed. Returns the microseconds the caller must
 * wait before using them (0: go ahead). */
int64_t df_bucket_take(struct df_bucket *b, int64_t n);
/* Microseconds until n tokens are available, taking nothing. */
int64_t df_bucket_wait_us(struct df_bucket *b, int64_t n);
/* Give back tokens taken but not used (a transfer that ended early). */
void df_bucket_refund(struct df_bucket *b, int64_t n);
/* df_bucket_take, then sleep for the time it says (real clock). */
void df_bucket_take_sleep(struct df_bucket *b, int64_t n);

/* Total tokens taken since creation (for metrics and tests). */
int64_t df_bucket_total_taken(struct df_bucket *b);

#endif

#include "config.h"
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>

#include "timeutil.h"
#include "xalloc.h"

struct df_bucket {
	pthread_mutex_t lock;
	df_clock_fn clock;  /* immutable after _new */
	void *clock_arg;    /* immutable after _new */
	int64_t rate;       /* guarded by lock; bytes/s, 0 = unlimited */
	int64_t burst;      /* guarded by lock */
	int64_t tokens;     /* guarded by lock; may be negative (debt) */
	int64_t last_us;    /* guarded by lock; time of the last refill */
	int64_t taken;      /* guarded by lock */
};

int64_t df_clock_monotonic_us(void *arg)
{
	(void)arg;
	return df_mono_us();
}

static int64_t default_burst(int64_t rate)
{
	int64_t burst = rate / 10;
	return burst < 65536 ? 65536 : burst;
}

struct df_bucket *df_bucket_new(int64_t rate, int64_t burst, df_clock_fn clock,
				void *clock_arg)
{
	struct df_bucket *b = xcalloc(1, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->clock = clock ? clock : df_clock_monotonic_us;
	b->clock_arg = clock_arg;
	b->rate = rate > 0 ? rate : 0;
	b->burst = burst > 0 ? burst : default_burst(b->rate);
	b->tokens = b->burst;
	b->last_us = b->clock(b->clock_arg);
	return b;
}

void df_bucket_free(struct df_bucket *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static void refill_locked(struct df_bucket *b, int64_t now)
{
	int64_t elapsed = now - b->last_us;
	if (elapsed <= 0)
		return;
	b->last_us = now;
	if (b->rate == 0)
		return;
	/* elapsed * rate can overflow after long idle at high rates: cap elapsed first. */
	if (elapsed > 100LL * 1000000)
		elapsed = 100LL * 1000000;
	b->tokens += elapsed * b->rate / 1000000;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

void df_bucket_set_rate(struct df_bucket *b, int64_t rate, int64_t burst)
{
	pthread_mutex_lock(&b->lock);
	refill_locked(b, b->clock(b->clock_arg));
	b->rate = rate > 0 ? rate : 0;
	b->burst = burst > 0 ? burst : default_burst(b->rate);
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	pthread_mutex_unlock(&b->lock);
}

int64_t df_bucket_get_rate(struct df_bucket *b)
{
	pthread_mutex_lock(&b->lock);
	int64_t rate = b->rate;
	pthread_mutex_unlock(&b->lock);
	return rate;
}

static int64_t debt_wait_locked(const struct df_bucket *b, int64_t tokens)
{
	if (b->rate == 0 || tokens >= 0)
		return 0;
	/* Round up so a caller who waits exactly this long finds the debt paid. */
	return (-tokens * 1000000 + b->rate - 1) / b->rate;
}

int64_t df_bucket_take(struct df_bucket *b, int64_t n)
{
	pthread_mutex_lock(&b->lock);
	refill_locked(b, b->clock(b->clock_arg));
	b->taken += n;
	int64_t wait = 0;
	if (b->rate > 0) {
		b->tokens -= n;
		wait = debt_wait_locked(b, b->tokens);
	}
	pthread_mutex_unlock(&b->lock);
	return wait;
}

int64_t df_bucket_wait_us(struct df_bucket *b, int64_t n)
{
	pthread_mutex_lock(&b->lock);
	refill_locked(b, b->clock(b->clock_arg));
	int64_t wait = debt_wait_locked(b, b->tokens - n);
	pthread_mutex_unlock(&b->lock);
	return wait;
}

void df_bucket_refund(struct df_bucket *b, int64_t n)
{
	pthread_mutex_lock(&b->lock);
	b->taken -= n;
	if (b->rate > 0) {
		b->tokens += n;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	pthread_mutex_unlock(&b->lock);
}

void df_bucket_take_sleep(struct df_bucket *b, int64_t n)
{
	df_sleep_us(df_bucket_take(b, n));
}

int64_t df_bucket_total_taken(struct df_bucket *b)
{
	pthread_mutex_lock(&b->lock);
	int64_t t = b->taken;
	pthread_mutex_unlock(&b->lock);
	return t;
}

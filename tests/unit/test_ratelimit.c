/* Token bucket with a fake clock: exact waits, debt, refunds, rate changes, threads. */
#include "config.h"

#include <pthread.h>

#include "ratelimit.h"
#include "timeutil.h"
#include "unit.h"

static int64_t fake_now;
static int64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void test_burst_then_debt(void)
{
	fake_now = 1000000;
	struct df_bucket *b = df_bucket_new(1000, 500, fake_clock, NULL);
	CU_ASSERT_EQUAL(df_bucket_get_rate(b), 1000);
	/* The burst is available at once. */
	CU_ASSERT_EQUAL(df_bucket_take(b, 500), 0);
	/* 250 more bytes at 1000 B/s: 250 ms of debt. */
	CU_ASSERT_EQUAL(df_bucket_take(b, 250), 250000);
	/* Half the debt paid after 125 ms. */
	fake_now += 125000;
	CU_ASSERT_EQUAL(df_bucket_wait_us(b, 0), 125000);
	/* A large take: 1000 bytes on top of 125 bytes of debt. */
	CU_ASSERT_EQUAL(df_bucket_take(b, 1000), 1125000);
	fake_now += 1125000;
	CU_ASSERT_EQUAL(df_bucket_wait_us(b, 0), 0);
	CU_ASSERT_EQUAL(df_bucket_total_taken(b), 1750);
	df_bucket_free(b);
}

static void test_refill_capped_at_burst(void)
{
	fake_now = 0;
	struct df_bucket *b = df_bucket_new(1000, 100, fake_clock, NULL);
	fake_now += 10 * 1000000; /* a long idle time refills only up to the burst */
	CU_ASSERT_EQUAL(df_bucket_wait_us(b, 100), 0);
	CU_ASSERT_EQUAL(df_bucket_wait_us(b, 200), 100000);
	CU_ASSERT_EQUAL(df_bucket_take(b, 200), 100000);
	df_bucket_free(b);
}

static void test_unlimited(void)
{
	fake_now = 0;
	struct df_bucket *b = df_bucket_new(0, 0, fake_clock, NULL);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(df_bucket_take(b, 1 << 30), 0);
	CU_ASSERT_EQUAL(df_bucket_total_taken(b), 100LL << 30);
	df_bucket_free(b);
	df_bucket_free(NULL);
}

static void test_refund_and_set_rate(void)
{
	fake_now = 0;
	struct df_bucket *b = df_bucket_new(1000, 1000, fake_clock, NULL);
	CU_ASSERT_EQUAL(df_bucket_take(b, 3000), 2000000);
	df_bucket_refund(b, 1500);
	CU_ASSERT_EQUAL(df_bucket_wait_us(b, 0), 500000);
	CU_ASSERT_EQUAL(df_bucket_total_taken(b), 1500);
	/* Doubling the rate halves the wait for the remaining debt. */
	df_bucket_set_rate(b, 2000, 1000);
	CU_ASSERT_EQUAL(df_bucket_wait_us(b, 0), 250000);
	/* Unlimited again: no wait, whatever the debt. */
	df_bucket_set_rate(b, 0, 0);
	CU_ASSERT_EQUAL(df_bucket_take(b, 1 << 20), 0);
	df_bucket_free(b);
}

static void test_default_burst(void)
{
	fake_now = 0;
	struct df_bucket *b = df_bucket_new(10 * 1024 * 1024, 0, fake_clock, NULL);
	/* The default burst is a tenth of a second of rate. */
	CU_ASSERT_EQUAL(df_bucket_take(b, 1048576), 0);
	CU_ASSERT_TRUE(df_bucket_take(b, 1) > 0);
	df_bucket_free(b);
}

struct worker_arg {
	struct df_bucket *b;
	int rounds;
};

static void *taker(void *p)
{
	struct worker_arg *a = p;
	for (int i = 0; i < a->rounds; i++)
		df_bucket_take(a->b, 10);
	return NULL;
}

static void test_threads_account_every_take(void)
{
	struct df_bucket *b = df_bucket_new(1000000, 0, NULL, NULL);
	pthread_t t[4];
	struct worker_arg a = { b, 10000 };
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, taker, &a);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(df_bucket_total_taken(b), 4 * 10000 * 10);
	df_bucket_free(b);
}

static void test_real_clock_sleep(void)
{
	/* 20 KB at 100 KB/s with a 10 KB burst: about 100 ms of real sleeping. */
	struct df_bucket *b = df_bucket_new(100000, 10000, NULL, NULL);
	int64_t t0 = df_mono_us();
	df_bucket_take_sleep(b, 20000);
	int64_t took = df_mono_us() - t0;
	CU_ASSERT_TRUE(took >= 99000);
	CU_ASSERT_TRUE(took < 2000000);
	df_bucket_free(b);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_burst_then_debt),     UNIT_TEST(test_refill_capped_at_burst),
	UNIT_TEST(test_unlimited),	     UNIT_TEST(test_refund_and_set_rate),
	UNIT_TEST(test_default_burst),	     UNIT_TEST(test_threads_account_every_take),
	UNIT_TEST(test_real_clock_sleep),
};
UNIT_MAIN("ratelimit", tests)

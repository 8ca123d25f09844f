/* The host-wide bandwidth share: the water-filling level (table-driven), and the uploader
 * state on an injected clock: downloads that stopped asking drop out of the division,
 * finished ones never count, and the bucket follows the host limit. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "dfget/upstate.h"
#include "unit.h"

#define M (1LL << 20)

static void test_level(void)
{
	static const struct {
		int64_t total;
		int64_t asks[5];
		size_t n;
		int64_t level;
	} rows[] = {
		{ 8 * M, { 20 * M, 20 * M, 20 * M }, 3, 8 * M / 3 },
		{ 8 * M, { 20 * M }, 1, 8 * M },
		{ 8 * M, { 1 * M, 20 * M, 20 * M }, 3, 7 * M / 2 },
		{ 8 * M, { 1 * M, 2 * M, 3 * M }, 3, DG_RATE_UNLIMITED },
		{ 8 * M, { 2 * M, 2 * M, 2 * M, 2 * M }, 4, DG_RATE_UNLIMITED },
		{ 8 * M, { 2 * M, 2 * M, 2 * M, 2 * M, 2 * M }, 5, 8 * M / 5 },
		{ 9, { 1, 100, 100 }, 3, 4 },
		{ 8 * M, { 0 }, 0, DG_RATE_UNLIMITED },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t got = dg_share_level(rows[i].total, rows[i].asks, rows[i].n);
		if (got != rows[i].level)
			fprintf(stderr, "  row %zu: level %lld, want %lld\n", i, (long long)got,
				(long long)rows[i].level);
		CU_ASSERT_EQUAL(got, rows[i].level);
		/* the shares never add up to more than the total */
		int64_t sum = 0;
		for (size_t k = 0; k < rows[i].n; k++)
			sum += rows[i].asks[k] < got ? rows[i].asks[k] : got;
		if (got != DG_RATE_UNLIMITED)
			CU_ASSERT(sum <= rows[i].total && sum > rows[i].total - (int64_t)rows[i].n);
	}
}

static int64_t now_us;
static int64_t fake_clock(void *arg)
{
	(void)arg;
	return now_us;
}

static void test_state(void)
{
	now_us = 1000000;
	struct dg_upstate *s = dg_upstate_new(fake_clock, NULL);
	/* no host limit: every download gets what it asks for (0 = unlimited) */
	dg_upstate_check(s, "a", 0);
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "a", 20 * M), 20 * M);
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "a", 0), 0);
	CU_ASSERT_EQUAL(df_bucket_get_rate(dg_upstate_bucket(s)), 0);

	/* 8 MB for the host: the bucket follows; three downloads share it, the ones that
	 * just registered counting at once */
	now_us += DG_RATE_ACTIVE_US + 1; /* "a" asked long ago */
	dg_upstate_check(s, "b", 8 * M);
	CU_ASSERT_EQUAL(dg_upstate_total_limit(s), 8 * M);
	CU_ASSERT_EQUAL(df_bucket_get_rate(dg_upstate_bucket(s)), 8 * M);
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "a", 20 * M), 4 * M);
	dg_upstate_check(s, "c", 0); /* 0 does not switch the limit off */
	CU_ASSERT_EQUAL(dg_upstate_total_limit(s), 8 * M);
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "a", 20 * M), 8 * M / 3);
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "b", 20 * M), 8 * M / 3);
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "c", 20 * M), 8 * M / 3);
	/* one that wants little leaves the rest to the others */
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "a", 1 * M), 1 * M);
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "b", 20 * M), 7 * M / 2);

	/* "a" stops asking: after the active window it no longer counts */
	now_us += DG_RATE_ACTIVE_US / 2;
	dg_upstate_rate(s, "b", 20 * M);
	dg_upstate_rate(s, "c", 20 * M);
	now_us += DG_RATE_ACTIVE_US / 2 + 1;
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "b", 20 * M), 4 * M);
	/* "c" finishes: "b" gets it all */
	dg_upstate_finish(s, "c", "task", "cid", "sn:8002");
	CU_ASSERT_EQUAL(dg_upstate_rate(s, "b", 20 * M), 8 * M);

	/* bookkeeping for the stats and the GC */
	dg_upstate_served(s, "b", 1000);
	dg_upstate_served(s, "b", 500);
	int64_t bytes, pieces;
	dg_upstate_totals(s, &bytes, &pieces);
	CU_ASSERT_EQUAL(bytes, 1500);
	CU_ASSERT_EQUAL(pieces, 2);
	struct dg_uptask_info *l = NULL;
	size_t n = dg_upstate_list(s, &l);
	CU_ASSERT_EQUAL(n, 3);
	bool finished = false;
	CU_ASSERT_TRUE(dg_upstate_known(s, "c", &finished));
	CU_ASSERT_TRUE(finished);
	for (size_t i = 0; i < n; i++) {
		if (l[i].name[0] == 'c')
			UNIT_STR_EQ(l[i].supernode, "sn:8002");
	}
	dg_upstate_list_free(l, n);
	dg_upstate_remove(s, "c");
	CU_ASSERT_FALSE(dg_upstate_known(s, "c", NULL));
	dg_upstate_free(s);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_level),
	UNIT_TEST(test_state),
};
UNIT_MAIN("dg_share", tests)

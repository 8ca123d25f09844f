/* The supernode list: parsing (table of good and bad lists), the weighted draw of the first
 * node (frequencies over a deterministic random sequence follow the weights), and failover
 * (every node exactly once, then none). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfget/locator.h"
#include "unit.h"

static void test_parse(void)
{
	static const struct {
		const char *spec;
		size_t count;
		const char *hostport0;
		int weight0;
	} good[] = {
		{ "127.0.0.1", 1, "127.0.0.1:8002", 1 },
		{ "sn.example.com:9000=5", 1, "sn.example.com:9000", 5 },
		{ " a:1=2 , b ,c:3", 3, "a:1", 2 },
		{ "[::1]:8002=3", 1, "[::1]:8002", 3 },
		{ "[fe80::1]", 1, "[fe80::1]:8002", 1 },
		{ "a,", 1, "a:8002", 1 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct dg_locator *loc = NULL;
		char err[256] = "";
		int rc = dg_locator_parse(good[i].spec, &loc, err, sizeof(err));
		if (rc)
			fprintf(stderr, "  '%s': %s\n", good[i].spec, err);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_EQUAL(dg_locator_count(loc), good[i].count);
		UNIT_STR_EQ(dg_locator_node(loc, 0)->hostport, good[i].hostport0);
		CU_ASSERT_EQUAL(dg_locator_node(loc, 0)->weight, good[i].weight0);
		dg_locator_free(loc);
	}
	static const struct {
		const char *spec;
		const char *msg;
	} bad[] = {
		{ "", "no supernode given" },
		{ "a,,b", "empty entry" },
		{ "a:0", "port must be" },
		{ "a:65536", "port must be" },
		{ "a:x", "port must be" },
		{ "a=0", "weight" },
		{ "a=1001", "weight" },
		{ "a=x", "weight" },
		{ "a b", "is not host[:port][=weight]" },
		{ "http://a", "is not host[:port][=weight]" },
		{ "[::1", "is not host[:port][=weight]" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dg_locator *loc = NULL;
		char err[256] = "";
		CU_ASSERT(dg_locator_parse(bad[i].spec, &loc, err, sizeof(err)) < 0);
		if (!strstr(err, bad[i].msg))
			fprintf(stderr, "  '%s': '%s', want '%s'\n", bad[i].spec, err, bad[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
		CU_ASSERT_PTR_NULL(loc);
	}
}

/* xorshift64: deterministic and well spread */
static uint64_t rnd(void *arg)
{
	uint64_t *s = arg;
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_weights(void)
{
	struct dg_locator *loc = NULL;
	char err[256];
	CU_ASSERT_FATAL(dg_locator_parse("a=1,b=3,c=6", &loc, err, sizeof(err)) == 0);
	int first[3] = { 0, 0, 0 };
	uint64_t seed = 88172645463325252ULL;
	const int rounds = 20000;
	for (int i = 0; i < rounds; i++) {
		dg_locator_shuffle(loc, rnd, &seed);
		const struct dg_node *n = dg_locator_current(loc);
		first[n->host[0] - 'a']++;
	}
	/* expected shares 10%, 30%, 60%; allow 1.5 percentage points */
	CU_ASSERT(abs(first[0] - rounds / 10) < rounds * 15 / 1000);
	CU_ASSERT(abs(first[1] - rounds * 3 / 10) < rounds * 15 / 1000);
	CU_ASSERT(abs(first[2] - rounds * 6 / 10) < rounds * 15 / 1000);
	dg_locator_free(loc);
}

/* A fixed draw gives a fixed order; failover walks it and ends. */
static uint64_t zero(void *arg)
{
	(void)arg;
	return 0;
}

static void test_failover(void)
{
	struct dg_locator *loc = NULL;
	char err[256];
	CU_ASSERT_FATAL(dg_locator_parse("a=2,b,c=4", &loc, err, sizeof(err)) == 0);
	/* with draws of 0 the first of the remaining nodes is taken each time */
	dg_locator_shuffle(loc, zero, NULL);
	UNIT_STR_EQ(dg_locator_current(loc)->host, "a");
	UNIT_STR_EQ(dg_locator_next(loc)->host, "b");
	UNIT_STR_EQ(dg_locator_next(loc)->host, "c");
	CU_ASSERT_PTR_NULL(dg_locator_next(loc));
	CU_ASSERT_PTR_NULL(dg_locator_current(loc));
	CU_ASSERT_PTR_NULL(dg_locator_next(loc));
	/* any draw: each node exactly once */
	uint64_t seed = 42;
	for (int round = 0; round < 100; round++) {
		dg_locator_shuffle(loc, rnd, &seed);
		int seen[3] = { 0, 0, 0 };
		for (const struct dg_node *n = dg_locator_current(loc); n; n = dg_locator_next(loc))
			seen[n->host[0] - 'a']++;
		CU_ASSERT(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	}
	dg_locator_free(loc);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_parse),
	UNIT_TEST(test_weights),
	UNIT_TEST(test_failover),
};
UNIT_MAIN("dg_locator", tests)

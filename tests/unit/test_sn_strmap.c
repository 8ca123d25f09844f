/* The string map (strmap.c): put, replace, delete, growth and shrinking, iteration. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supernode/strmap.h"
#include "unit.h"

static void test_basic(void)
{
	struct sn_strmap *m = sn_strmap_new();
	int a = 1, b = 2;
	CU_ASSERT_PTR_NULL(sn_strmap_put(m, "a", &a));
	CU_ASSERT_PTR_EQUAL(sn_strmap_get(m, "a"), &a);
	CU_ASSERT_PTR_EQUAL(sn_strmap_put(m, "a", &b), &a);
	CU_ASSERT_PTR_EQUAL(sn_strmap_get(m, "a"), &b);
	CU_ASSERT_EQUAL(sn_strmap_count(m), 1);
	CU_ASSERT_PTR_EQUAL(sn_strmap_del(m, "a"), &b);
	CU_ASSERT_PTR_NULL(sn_strmap_get(m, "a"));
	CU_ASSERT_PTR_NULL(sn_strmap_del(m, "a"));
	CU_ASSERT_EQUAL(sn_strmap_count(m), 0);
	sn_strmap_free(m);
	sn_strmap_free(NULL);
}

static void test_many(void)
{
	enum { N = 5000 };
	static char keys[N][16];
	struct sn_strmap *m = sn_strmap_new();
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		sn_strmap_put(m, keys[i], keys[i]);
	}
	CU_ASSERT_EQUAL(sn_strmap_count(m), N);
	for (int i = 0; i < N; i += 2)
		CU_ASSERT_PTR_EQUAL(sn_strmap_del(m, keys[i]), keys[i]);
	int found = 0;
	for (int i = 0; i < N; i++)
		found += sn_strmap_get(m, keys[i]) != NULL;
	CU_ASSERT_EQUAL(found, N / 2);
	size_t pos = 0, seen = 0;
	const char *k;
	void *v;
	while ((v = sn_strmap_next(m, &pos, &k))) {
		CU_ASSERT_PTR_EQUAL(v, k);
		seen++;
	}
	CU_ASSERT_EQUAL(seen, N / 2);
	for (int i = 1; i < N; i += 2)
		sn_strmap_del(m, keys[i]);
	CU_ASSERT_EQUAL(sn_strmap_count(m), 0);
	/* Tombstones do not hide later insertions. */
	for (int i = 0; i < 100; i++)
		sn_strmap_put(m, keys[i], keys[i]);
	CU_ASSERT_PTR_EQUAL(sn_strmap_get(m, keys[99]), keys[99]);
	sn_strmap_free(m);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_basic),
	UNIT_TEST(test_many),
};

UNIT_MAIN("sn_strmap", tests)

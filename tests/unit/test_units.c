/* Sizes, rates and durations as users type them. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "unit.h"
#include "units.h"

static void test_size_parse_table(void)
{
	static const struct {
		const char *in;
		int rc;
		int64_t bytes;
	} rows[] = {
		{ "20MB", 0, 20971520 },     { "20M", 0, 20971520 },	 { "20mb", 0, 20971520 },
		{ "512K", 0, 524288 },	     { "512KB", 0, 524288 },	 { "1.5G", 0, 1610612736 },
		{ "100B", 0, 100 },	     { "4096", 0, 4096 },	 { "0", 0, 0 },
		{ "1T", 0, 1099511627776LL }, { "8M/s", 0, 8388608 },	 { "0.5K", 0, 512 },
		{ "", -EINVAL, 0 },	     { "MB", -EINVAL, 0 },	 { "-1M", -EINVAL, 0 },
		{ "20 MB", -EINVAL, 0 },     { "20XB", -EINVAL, 0 },	 { "1..5M", -EINVAL, 0 },
		{ "20MBx", -EINVAL, 0 },     { "99999999999T", -ERANGE, 0 }, { ".", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t v = -7;
		int rc = df_size_parse(rows[i].in, &v);
		if (rc != rows[i].rc || (rc == 0 && v != rows[i].bytes))
			fprintf(stderr, "  row %zu '%s': rc %d v %lld\n", i, rows[i].in, rc,
				(long long)v);
		CU_ASSERT_EQUAL(rc, rows[i].rc);
		if (rows[i].rc == 0)
			CU_ASSERT_EQUAL(v, rows[i].bytes);
	}
	CU_ASSERT_EQUAL(df_size_parse(NULL, &(int64_t){ 0 }), -EINVAL);
}

static void test_size_format(void)
{
	char buf[32];
	UNIT_STR_EQ(df_size_format(20971520, buf, sizeof(buf)), "20MB");
	UNIT_STR_EQ(df_size_format(1610612736, buf, sizeof(buf)), "1.5GB");
	UNIT_STR_EQ(df_size_format(100, buf, sizeof(buf)), "100B");
	UNIT_STR_EQ(df_size_format(524288, buf, sizeof(buf)), "512KB");
	UNIT_STR_EQ(df_size_format(0, buf, sizeof(buf)), "0B");
	/* Round trip through the parser. */
	int64_t v;
	CU_ASSERT_EQUAL(df_size_parse(df_size_format(3221225472LL, buf, sizeof(buf)), &v), 0);
	CU_ASSERT_EQUAL(v, 3221225472LL);
}

static void test_duration_parse_table(void)
{
	static const struct {
		const char *in;
		int rc;
		int64_t ms;
	} rows[] = {
		{ "300", 0, 300000 }, { "300s", 0, 300000 }, { "5m", 0, 300000 },
		{ "1h", 0, 3600000 }, { "2d", 0, 172800000 }, { "250ms", 0, 250 },
		{ "1.5s", 0, 1500 },  { "1m30s", 0, 90000 },  { "0", 0, 0 },
		{ "", -EINVAL, 0 },   { "5x", -EINVAL, 0 },   { "m", -EINVAL, 0 },
		{ "-5s", -EINVAL, 0 }, { "5 s", -EINVAL, 0 }, { "1s5", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t v = -7;
		int rc = df_duration_parse(rows[i].in, &v);
		if (rc != rows[i].rc || (rc == 0 && v != rows[i].ms))
			fprintf(stderr, "  row %zu '%s': rc %d v %lld\n", i, rows[i].in, rc,
				(long long)v);
		CU_ASSERT_EQUAL(rc, rows[i].rc);
		if (rows[i].rc == 0)
			CU_ASSERT_EQUAL(v, rows[i].ms);
	}
}

static void test_duration_format(void)
{
	char buf[32];
	UNIT_STR_EQ(df_duration_format(0, buf, sizeof(buf)), "0s");
	UNIT_STR_EQ(df_duration_format(250, buf, sizeof(buf)), "250ms");
	UNIT_STR_EQ(df_duration_format(90000, buf, sizeof(buf)), "1m30s");
	UNIT_STR_EQ(df_duration_format(3600000, buf, sizeof(buf)), "1h");
	UNIT_STR_EQ(df_duration_format(3723000, buf, sizeof(buf)), "1h2m3s");
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_size_parse_table),
	UNIT_TEST(test_size_format),
	UNIT_TEST(test_duration_parse_table),
	UNIT_TEST(test_duration_format),
};
UNIT_MAIN("units", tests)

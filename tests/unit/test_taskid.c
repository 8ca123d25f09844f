/* Task identity: URL filtering and the task id, with vectors from the original. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "taskid.h"
#include "unit.h"

static void test_task_id_vectors(void)
{
	char id[DF_TASK_ID_LEN + 1];
	df_task_id("http://127.0.0.1:8000/file.bin", NULL, NULL, NULL, id);
	UNIT_STR_EQ(id, "5b2d8c801c172dee415336bc8b1aa5ce9babcc1a33232aaef6ff8d08263aa398");
	df_task_id("http://127.0.0.1:8000/f.bin?x=1", "", "", "", id);
	UNIT_STR_EQ(id, "7cf129bf67f7bca94697df97b3fb4bd4f62d1cf56ae6ed9c24dc38f9b69a6bb0");
}

static void test_task_id_sign_and_range(void)
{
	char plain[65], with_md5[65], with_ident[65], md5_and_ident[65], with_range[65];
	const char *url = "http://127.0.0.1:8000/file.bin";
	df_task_id(url, NULL, NULL, NULL, plain);
	df_task_id(url, "0123456789abcdef0123456789abcdef", NULL, NULL, with_md5);
	df_task_id(url, NULL, "v1", NULL, with_ident);
	df_task_id(url, "0123456789abcdef0123456789abcdef", "v1", NULL, md5_and_ident);
	df_task_id(url, NULL, NULL, "bytes=0-99", with_range);
	CU_ASSERT_STRING_NOT_EQUAL(plain, with_md5);
	CU_ASSERT_STRING_NOT_EQUAL(plain, with_ident);
	CU_ASSERT_STRING_NOT_EQUAL(with_md5, with_ident);
	/* md5 wins over the identifier. */
	CU_ASSERT_STRING_EQUAL(with_md5, md5_and_ident);
	CU_ASSERT_STRING_NOT_EQUAL(plain, with_range);
	CU_ASSERT_TRUE(df_task_id_valid(plain));
}

static void test_url_filter_table(void)
{
	static const struct {
		const char *url, *filter, *want;
	} rows[] = {
		{ "http://h/f?a=1&b=2&c=3", "b", "http://h/f?a=1&c=3" },
		{ "http://h/f?a=1&b=2&c=3", "a&c", "http://h/f?b=2" },
		{ "http://h/f?a=1&b=2", "a&b", "http://h/f" },
		{ "http://h/f?a=1&b=2", "", "http://h/f?a=1&b=2" },
		{ "http://h/f?a=1&b=2", NULL, "http://h/f?a=1&b=2" },
		{ "http://h/f", "a", "http://h/f" },
		{ "http://h/f?", "a", "http://h/f?" },
		{ "http://h/f?Expires=9&Signature=x&k=v", "Expires&Signature", "http://h/f?k=v" },
		{ "http://h/f?a&b=1", "a", "http://h/f?b=1" },
		{ "http://h/f?ab=1&a=2", "a", "http://h/f?ab=1" },
		{ "http://h/f?a=1?b=2&c", "c", "http://h/f?a=1?b=2" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = df_url_filter(rows[i].url, rows[i].filter);
		if (strcmp(got, rows[i].want) != 0)
			fprintf(stderr, "  row %zu: got %s want %s\n", i, got, rows[i].want);
		CU_ASSERT_STRING_EQUAL(got, rows[i].want);
		free(got);
	}
}

static void test_task_id_valid(void)
{
	CU_ASSERT_FALSE(df_task_id_valid(NULL));
	CU_ASSERT_FALSE(df_task_id_valid("abc"));
	CU_ASSERT_FALSE(df_task_id_valid("../5b2d8c801c172dee415336bc8b1aa5ce9babcc1a33232aaef6ff8d08263a"));
	CU_ASSERT_FALSE(df_task_id_valid("5B2D8C801C172DEE415336BC8B1AA5CE9BABCC1A33232AAEF6FF8D08263AA398"));
	CU_ASSERT_TRUE(df_task_id_valid("5b2d8c801c172dee415336bc8b1aa5ce9babcc1a33232aaef6ff8d08263aa398"));
}

static void test_url_valid(void)
{
	CU_ASSERT_TRUE(df_url_valid("http://127.0.0.1:8000/file.bin"));
	CU_ASSERT_TRUE(df_url_valid("HTTPS://example.org/a?b=c"));
	CU_ASSERT_FALSE(df_url_valid("ftp://h/f"));
	CU_ASSERT_FALSE(df_url_valid("http://"));
	CU_ASSERT_FALSE(df_url_valid("http:///path"));
	CU_ASSERT_FALSE(df_url_valid("http://h/a b"));
	CU_ASSERT_FALSE(df_url_valid("http://h/a\r\nX: y"));
	CU_ASSERT_FALSE(df_url_valid("file.bin"));
	CU_ASSERT_FALSE(df_url_valid(NULL));
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_task_id_vectors), UNIT_TEST(test_task_id_sign_and_range),
	UNIT_TEST(test_url_filter_table), UNIT_TEST(test_task_id_valid),
	UNIT_TEST(test_url_valid),
};
UNIT_MAIN("taskid", tests)

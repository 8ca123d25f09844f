/* Piece geometry and framing, with the vectors of the foundation issue. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "piece.h"
#include "unit.h"

static void test_piece_size_rule(void)
{
	CU_ASSERT_EQUAL(df_piece_size_for(-1), 4 * DF_MIB);
	CU_ASSERT_EQUAL(df_piece_size_for(0), 4 * DF_MIB);
	CU_ASSERT_EQUAL(df_piece_size_for(200LL * DF_MIB), 4 * DF_MIB);
	CU_ASSERT_EQUAL(df_piece_size_for(200LL * DF_MIB + 1), 4 * DF_MIB);
	CU_ASSERT_EQUAL(df_piece_size_for(300LL * DF_MIB), 5 * DF_MIB);
	CU_ASSERT_EQUAL(df_piece_size_for(1024LL * DF_MIB), 12 * DF_MIB);
	CU_ASSERT_EQUAL(df_piece_size_for(1300LL * DF_MIB), 15 * DF_MIB);
	CU_ASSERT_EQUAL(df_piece_size_for(100000LL * DF_MIB), 15 * DF_MIB);
}

static void test_piece_count_and_framed_len(void)
{
	/* The vector: 20,971,520 bytes -> 6 pieces of 4 MiB, framed 20,971,550. */
	int32_t ps = df_piece_size_for(20971520);
	CU_ASSERT_EQUAL(ps, 4194304);
	CU_ASSERT_EQUAL(df_piece_count(20971520, ps), 6);
	CU_ASSERT_EQUAL(df_piece_framed_len(20971520, ps), 20971550);
	CU_ASSERT_EQUAL(df_piece_content_len(20971520, ps, 0), 4194299);
	CU_ASSERT_EQUAL(df_piece_content_len(20971520, ps, 5), 20971520 - 5 * 4194299);
	CU_ASSERT_EQUAL(df_piece_content_len(20971520, ps, 6), 0);
	CU_ASSERT_EQUAL(df_piece_content_len(20971520, ps, -1), 0);
	/* Empty source: one 5-byte piece. */
	CU_ASSERT_EQUAL(df_piece_count(0, ps), 1);
	CU_ASSERT_EQUAL(df_piece_framed_len(0, ps), 5);
	CU_ASSERT_EQUAL(df_piece_content_len(0, ps, 0), 0);
	/* Exactly one full piece of content. */
	CU_ASSERT_EQUAL(df_piece_count(4194299, ps), 1);
	CU_ASSERT_EQUAL(df_piece_count(4194300, ps), 2);
	CU_ASSERT_EQUAL(df_piece_content_offset(ps, 2), 2 * 4194299LL);
	CU_ASSERT_EQUAL(df_piece_content_max(ps), 4194299);
}

static void test_header_vector(void)
{
	unsigned char h[4];
	df_piece_header_encode(4194299, 4194304, h);
	CU_ASSERT_EQUAL(h[0], 0x04);
	CU_ASSERT_EQUAL(h[1], 0x3f);
	CU_ASSERT_EQUAL(h[2], 0xff);
	CU_ASSERT_EQUAL(h[3], 0xfb);
	CU_ASSERT_EQUAL(DF_PIECE_TRAILER, 0x7f);
	uint32_t content;
	int32_t size;
	CU_ASSERT_TRUE(df_piece_header_decode(h, &content, &size));
	CU_ASSERT_EQUAL(content, 4194299);
	CU_ASSERT_EQUAL(size, 4194304);
}

static void test_header_round_trip(void)
{
	for (int mib = 4; mib <= 15; mib++) {
		int32_t ps = mib * DF_MIB;
		uint32_t lens[] = { 0, 1, 12345, (uint32_t)ps - 5 };
		for (size_t i = 0; i < 4; i++) {
			unsigned char h[4];
			df_piece_header_encode(lens[i], ps, h);
			uint32_t c;
			int32_t s;
			CU_ASSERT_TRUE(df_piece_header_decode(h, &c, &s));
			CU_ASSERT_EQUAL(c, lens[i]);
			CU_ASSERT_EQUAL(s, ps);
		}
	}
	/* Impossible headers are refused: content longer than the piece; zero size. */
	unsigned char bad1[4] = { 0x04, 0x3f, 0xff, 0xfc };
	unsigned char bad2[4] = { 0x00, 0x00, 0x00, 0x10 };
	unsigned char bad3[4] = { 0xff, 0x00, 0x00, 0x00 };
	uint32_t c;
	int32_t s;
	CU_ASSERT_FALSE(df_piece_header_decode(bad1, &c, &s));
	CU_ASSERT_FALSE(df_piece_header_decode(bad2, &c, &s));
	CU_ASSERT_FALSE(df_piece_header_decode(bad3, &c, &s));
}

static void test_ranges(void)
{
	char buf[64];
	UNIT_STR_EQ(df_piece_range_format(0, 4194304, buf, sizeof(buf)), "0-4194303");
	UNIT_STR_EQ(df_piece_range_format(2, 4194304, buf, sizeof(buf)), "8388608-12582911");
	int64_t a, b;
	CU_ASSERT_EQUAL(df_range_parse("0-4194303", &a, &b), 0);
	CU_ASSERT_EQUAL(a, 0);
	CU_ASSERT_EQUAL(b, 4194303);
	static const char *const bad[] = { "", "-", "1-", "-1", "5-4", "a-b", "1-2-3",
					   " 1-2", "1 -2", "9999999999999999999-1", NULL };
	for (size_t i = 0; bad[i]; i++)
		CU_ASSERT_EQUAL(df_range_parse(bad[i], &a, &b), -EINVAL);
	CU_ASSERT_EQUAL(df_range_parse(NULL, &a, &b), -EINVAL);
	CU_ASSERT_EQUAL(df_piece_num_of_range("8388608-12582911", 4194304), 2);
	CU_ASSERT_EQUAL(df_piece_num_of_range("1-4194304", 4194304), -1);
	CU_ASSERT_EQUAL(df_piece_num_of_range("0-99", 4194304), -1);
	CU_ASSERT_EQUAL(df_piece_num_of_range("junk", 4194304), -1);
}

static void test_http_range_table(void)
{
	static const struct {
		const char *hdr;
		int64_t total;
		int rc;
		int64_t start, end;
	} rows[] = {
		{ "bytes=0-99", 1000, 0, 0, 99 },
		{ "bytes=900-1999", 1000, 0, 900, 999 },
		{ "bytes=500-", 1000, 0, 500, 999 },
		{ "bytes=-100", 1000, 0, 900, 999 },
		{ "bytes=-5000", 1000, 0, 0, 999 },
		{ "BYTES=1-1", 1000, 0, 1, 1 },
		{ "bytes=1000-1001", 1000, -ERANGE, 0, 0 },
		{ "bytes=-0", 1000, -ERANGE, 0, 0 },
		{ "bytes=5-4", 1000, -EINVAL, 0, 0 },
		{ "bytes=a-b", 1000, -EINVAL, 0, 0 },
		{ "bytes=0-1,5-6", 1000, -EINVAL, 0, 0 },
		{ "items=0-1", 1000, -EINVAL, 0, 0 },
		{ "bytes=", 1000, -EINVAL, 0, 0 },
		{ "bytes=--1", 1000, -EINVAL, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t s = -1, e = -1;
		int rc = df_http_range_parse(rows[i].hdr, rows[i].total, &s, &e);
		if (rc != rows[i].rc || (rc == 0 && (s != rows[i].start || e != rows[i].end)))
			fprintf(stderr, "  row %zu '%s': rc %d [%lld, %lld]\n", i, rows[i].hdr, rc,
				(long long)s, (long long)e);
		CU_ASSERT_EQUAL(rc, rows[i].rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(s, rows[i].start);
			CU_ASSERT_EQUAL(e, rows[i].end);
		}
	}
	CU_ASSERT_EQUAL(df_http_range_parse(NULL, 10, &(int64_t){ 0 }, &(int64_t){ 0 }), -EINVAL);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_piece_size_rule),   UNIT_TEST(test_piece_count_and_framed_len),
	UNIT_TEST(test_header_vector),	   UNIT_TEST(test_header_round_trip),
	UNIT_TEST(test_ranges),		   UNIT_TEST(test_http_range_table),
};
UNIT_MAIN("piece", tests)

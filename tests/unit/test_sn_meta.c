/* The cache meta file (meta.c): a round trip through JSON and a file, and refusal of
 * damaged or inconsistent metas. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supernode/meta.h"
#include "unit.h"

#define ID "5b2d5f1a2c3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccdde"
#define MD5A "0123456789abcdef0123456789abcdef"
#define MD5B "fedcba9876543210fedcba9876543210"
#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void fill(struct sn_meta *m, char (*md5s)[33])
{
	memset(m, 0, sizeof(*m));
	m->task_id = (char *)ID;
	m->url = (char *)"http://o.example/f?sig=1";
	m->task_url = (char *)"http://o.example/f";
	m->source_length = 4194304 + 10;
	m->piece_size = 4194304;
	m->npieces = 2;
	memcpy(md5s[0], MD5A, 33);
	memcpy(md5s[1], MD5B, 33);
	m->piece_md5 = md5s;
	memcpy(m->md5, MD5A, 33);
	memcpy(m->sha256, SHA, 65);
	m->etag = (char *)"\"abc-123\"";
	m->last_modified = (char *)"Sat, 28 Nov 2026 03:00:00 GMT";
	m->finished = true;
	m->last_access_ms = 1795836366000;
}

static void test_round_trip_file(void)
{
	char md5s[2][33];
	struct sn_meta m, r;
	fill(&m, md5s);
	char path[] = "/tmp/test_sn_meta.XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(sn_meta_write(path, &m), 0);
	char err[256] = "";
	int rc = sn_meta_read(path, &r, err, sizeof(err));
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	UNIT_STR_EQ(r.task_id, ID);
	UNIT_STR_EQ(r.url, m.url);
	UNIT_STR_EQ(r.task_url, m.task_url);
	CU_ASSERT_EQUAL(r.source_length, m.source_length);
	CU_ASSERT_EQUAL(r.piece_size, m.piece_size);
	CU_ASSERT_EQUAL(r.npieces, 2);
	UNIT_STR_EQ(r.piece_md5[1], MD5B);
	UNIT_STR_EQ(r.md5, MD5A);
	UNIT_STR_EQ(r.sha256, SHA);
	UNIT_STR_EQ(r.etag, m.etag);
	UNIT_STR_EQ(r.last_modified, m.last_modified);
	CU_ASSERT_TRUE(r.finished);
	CU_ASSERT_EQUAL(r.last_access_ms, m.last_access_ms);
	sn_meta_cleanup(&r);
	unlink(path);
	CU_ASSERT_EQUAL(sn_meta_read(path, &r, err, sizeof(err)), -ENOENT);
}

static void test_unfinished_partial(void)
{
	char md5s[2][33];
	struct sn_meta m, r;
	fill(&m, md5s);
	m.finished = false;
	m.npieces = 1;
	m.md5[0] = m.sha256[0] = '\0';
	m.etag = NULL;
	char *json = sn_meta_to_json(&m), err[256];
	CU_ASSERT_EQUAL(sn_meta_from_json(json, &r, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(r.finished);
	CU_ASSERT_EQUAL(r.npieces, 1);
	CU_ASSERT_PTR_NULL(r.etag);
	sn_meta_cleanup(&r);
	free(json);
}

struct bad {
	const char *name, *json, *want;
};

static const struct bad bad_rows[] = {
	{ "not JSON", "{nope", "not a JSON object" },
	{ "bad id", "{\"taskId\":\"xyz\",\"pieceSize\":4194304,\"sourceLength\":1,\"pieceMd5\":[]}",
	  "taskId" },
	{ "piece size not MiB", "{\"taskId\":\"" ID "\",\"pieceSize\":1000,\"sourceLength\":1,"
				"\"pieceMd5\":[]}", "pieceSize" },
	{ "bad md5", "{\"taskId\":\"" ID "\",\"pieceSize\":4194304,\"sourceLength\":1,"
		     "\"pieceMd5\":[\"xyz\"]}", "pieceMd5[0]" },
	{ "too many pieces", "{\"taskId\":\"" ID "\",\"pieceSize\":4194304,\"sourceLength\":1,"
			     "\"pieceMd5\":[\"" MD5A "\",\"" MD5B "\"]}", "more piece md5s" },
	{ "finished without digests", "{\"taskId\":\"" ID "\",\"pieceSize\":4194304,"
				      "\"sourceLength\":1,\"pieceMd5\":[\"" MD5A "\"],"
				      "\"finished\":true}", "finished" },
};

static void test_refuses_damaged(void)
{
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		struct sn_meta r;
		char err[256] = "";
		int rc = sn_meta_from_json(bad_rows[i].json, &r, err, sizeof(err));
		if (rc == 0 || !strstr(err, bad_rows[i].want))
			fprintf(stderr, "  row '%s': rc %d err '%s'\n", bad_rows[i].name, rc, err);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad_rows[i].want));
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_round_trip_file),
	UNIT_TEST(test_unfinished_partial),
	UNIT_TEST(test_refuses_damaged),
};

UNIT_MAIN("sn_meta", tests)

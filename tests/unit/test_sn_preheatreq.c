/* Preheat request bodies (preheatreq.c): the fields, headers as an object or an array,
 * the ids (a file's is its task id; filtered query keys do not count; an image's differs
 * from a file's of the same URL), and the 400s with their reasons. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "supernode/preheatreq.h"
#include "taskid.h"
#include "unit.h"

static int parse(const char *body, struct sn_preheat_req *r, char *err, size_t errsz)
{
	return sn_preheat_req_parse(body, strlen(body), r, err, errsz);
}

static void test_file(void)
{
	struct sn_preheat_req r;
	char err[256] = "", id[65];
	CU_ASSERT_EQUAL_FATAL(parse("{\"type\":\"File\",\"url\":\"http://o/a.bin?sig=1&v=2\","
				    "\"filter\":\"sig\",\"identifier\":\"i1\",\"headers\":{\"X-A\":"
				    "\"1\",\"Range\":\"bytes=0-9\"}}", &r, err, sizeof(err)), 0);
	UNIT_STR_EQ(r.type, "file");
	UNIT_STR_EQ(r.task_url, "http://o/a.bin?v=2");
	CU_ASSERT_EQUAL(r.nheaders, 2);
	UNIT_STR_EQ(r.headers[0], "X-A: 1");
	UNIT_STR_EQ(sn_preheat_req_header(&r, "range"), "bytes=0-9");
	df_task_id("http://o/a.bin?v=2", "", "i1", "bytes=0-9", id);
	UNIT_STR_EQ(r.id, id);
	struct sn_preheat_req copy;
	sn_preheat_req_copy(&r, &copy);
	sn_preheat_req_cleanup(&r);
	UNIT_STR_EQ(copy.headers[1], "Range: bytes=0-9");
	UNIT_STR_EQ(copy.id, id);
	sn_preheat_req_cleanup(&copy);
	/* Another value of the filtered key: the same id. */
	CU_ASSERT_EQUAL_FATAL(parse("{\"type\":\"file\",\"url\":\"http://o/a.bin?sig=9&v=2\","
				    "\"filter\":\"sig\",\"identifier\":\"i1\",\"headers\":[\"Range: "
				    "bytes=0-9\"]}", &r, err, sizeof(err)), 0);
	UNIT_STR_EQ(r.id, id);
	sn_preheat_req_cleanup(&r);
}

static void test_image_id(void)
{
	struct sn_preheat_req f, i;
	char err[256];
	const char *url = "http://r:5000/v2/lib/img/manifests/v1";
	char body[256];
	snprintf(body, sizeof(body), "{\"type\":\"file\",\"url\":\"%s\"}", url);
	CU_ASSERT_EQUAL_FATAL(parse(body, &f, err, sizeof(err)), 0);
	snprintf(body, sizeof(body), "{\"type\":\"image\",\"url\":\"%s\"}", url);
	CU_ASSERT_EQUAL_FATAL(parse(body, &i, err, sizeof(err)), 0);
	CU_ASSERT_STRING_NOT_EQUAL(f.id, i.id);
	CU_ASSERT_TRUE(df_task_id_valid(i.id));
	sn_preheat_req_cleanup(&f);
	sn_preheat_req_cleanup(&i);
}

static void test_bad(void)
{
	static const struct {
		const char *body, *word; /* the error must name word */
	} rows[] = {
		{ "", "JSON object" },
		{ "[]", "JSON object" },
		{ "{}", "type" },
		{ "{\"type\":\"disk\",\"url\":\"http://a/b\"}", "image" },
		{ "{\"type\":\"file\"}", "url" },
		{ "{\"type\":\"file\",\"url\":\"file:///etc/passwd\"}", "url" },
		{ "{\"type\":1,\"url\":\"http://a/b\"}", "type" },
		{ "{\"type\":\"image\",\"url\":\"http://r/x.tar\"}", "v2" },
		{ "{\"type\":\"file\",\"url\":\"http://a/b\",\"headers\":\"X: 1\"}", "headers" },
		{ "{\"type\":\"file\",\"url\":\"http://a/b\",\"headers\":{\"X\":1}}", "string" },
		{ "{\"type\":\"file\",\"url\":\"http://a/b\",\"headers\":{\"A B\":\"1\"}}", "header" },
		{ "{\"type\":\"file\",\"url\":\"http://a/b\",\"headers\":{\"A\":\"1\\r\\nB: 2\"}}", "header" },
		{ "{\"type\":\"file\",\"url\":\"http://a/b\",\"headers\":[\"no colon\"]}", "Name: value" },
		{ "{\"type\":\"file\",\"url\":\"http://a/b\",\"identifier\":[]}", "identifier" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sn_preheat_req r;
		char err[256] = "";
		int rc = parse(rows[i].body, &r, err, sizeof(err));
		if (rc == 0 || !strstr(err, rows[i].word))
			fprintf(stderr, "  row %zu (%s): rc %d, '%s'\n", i, rows[i].body, rc, err);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, rows[i].word));
		if (rc == 0)
			sn_preheat_req_cleanup(&r);
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_file), UNIT_TEST(test_image_id), UNIT_TEST(test_bad),
};
UNIT_MAIN("sn_preheatreq", tests)

/* Registration bodies (regreq.c): JSON and form, keys in any case, headers and root CAs,
 * and the checks that turn bad registrations into clear 400s. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "supernode/regreq.h"
#include "unit.h"

#define FORM "application/x-www-form-urlencoded"

static void test_json(void)
{
	/* "-----BEGIN CERTIFICATE-----\n" in base64 */
	const char *body =
		"{\"RawURL\":\"http://o.example/a.bin?sig=1\",\"taskUrl\":\"http://o.example/a.bin\","
		"\"cid\":\"127.0.0.1-1-2\",\"ip\":\"127.0.0.1\",\"hostName\":\"h1\",\"port\":15001,"
		"\"path\":\"/peer/file/a.bin-1\",\"version\":\"1.0.6\",\"md5\":\"\","
		"\"identifier\":\"id1\",\"callSystem\":\"ci\",\"headers\":[\"Authorization: Bearer x\","
		"\"Range: bytes=0-99\"],\"dfdaemon\":true,\"insecure\":false,"
		"\"rootCAs\":[\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\"],\"pattern\":\"p2p\","
		"\"superNodeIp\":\"10.0.0.1\"}";
	struct sn_regreq r;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(sn_regreq_parse("application/json", body, strlen(body), &r, err,
					      sizeof(err)), 0);
	CU_ASSERT_EQUAL(sn_regreq_validate(&r, err, sizeof(err)), 0);
	UNIT_STR_EQ(r.raw_url, "http://o.example/a.bin?sig=1");
	UNIT_STR_EQ(r.task_url, "http://o.example/a.bin");
	UNIT_STR_EQ(r.cid, "127.0.0.1-1-2");
	UNIT_STR_EQ(r.host_name, "h1");
	CU_ASSERT_EQUAL(r.port, 15001);
	UNIT_STR_EQ(r.identifier, "id1");
	CU_ASSERT_TRUE(r.dfdaemon);
	CU_ASSERT_EQUAL(r.nheaders, 2);
	UNIT_STR_EQ(r.headers[0], "Authorization: Bearer x");
	UNIT_STR_EQ(sn_regreq_range(&r), "bytes=0-99");
	UNIT_STR_EQ(r.root_cas, "-----BEGIN CERTIFICATE-----\n\n");
	UNIT_STR_EQ(r.super_node_ip, "10.0.0.1");
	CU_ASSERT_TRUE(sn_regreq_can_serve(&r));
	sn_regreq_cleanup(&r);
}

static void test_form(void)
{
	const char *body = "rawUrl=http%3A%2F%2Fo.example%2Fb&CID=c2&ip=10.0.0.2&port=0"
			   "&headers=X-A%3A+1&headers=X-B%3A+2&pattern=cdn&insecure=true";
	struct sn_regreq r;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(sn_regreq_parse(FORM, body, strlen(body), &r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(sn_regreq_validate(&r, err, sizeof(err)), 0);
	UNIT_STR_EQ(r.raw_url, "http://o.example/b");
	UNIT_STR_EQ(r.task_url, "http://o.example/b"); /* filled from rawUrl */
	UNIT_STR_EQ(r.cid, "c2");
	CU_ASSERT_EQUAL(r.port, 0);
	CU_ASSERT_EQUAL(r.nheaders, 2);
	UNIT_STR_EQ(r.headers[1], "X-B: 2");
	CU_ASSERT_TRUE(r.insecure);
	CU_ASSERT_FALSE(sn_regreq_can_serve(&r));
	CU_ASSERT_PTR_NULL(sn_regreq_range(&r));
	sn_regreq_cleanup(&r);
}

struct bad {
	const char *ctype, *body, *want;
};

static const struct bad bad_rows[] = {
	{ "application/json", "", "empty body" },
	{ "application/json", "[1,2]", "not a JSON object" },
	{ "application/json", "{\"rawUrl\":5,\"cid\":\"c\"}", "rawUrl must be a string" },
	{ "application/json", "{\"rawUrl\":\"ftp://x/y\",\"cid\":\"c\"}", "not a valid http" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\"}", "cid is missing" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\",\"cid\":\"a b\"}", "cid contains" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"port\":80}",
	  "out of range" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"port\":\"x\"}",
	  "port must be a number" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"pattern\":\"bt\"}",
	  "pattern" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"md5\":\"abc\"}", "md5" },
	{ "application/json",
	  "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"md5\":\"zz345678901234567890123456789012\"}",
	  "md5" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"headers\":[\"nocolon\"]}",
	  "Name: value" },
	{ "application/json",
	  "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"headers\":[\"X: a\\r\\nEvil: 1\"]}",
	  "Name: value" },
	{ "application/json", "{\"rawUrl\":\"http://x/y\",\"cid\":\"c\",\"rootCAs\":[\"***\"]}",
	  "rootCAs" },
	{ FORM, "rawUrl=%zz", "malformed" },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		struct sn_regreq r;
		char err[256] = "";
		const struct bad *b = &bad_rows[i];
		int rc = sn_regreq_parse(b->ctype, b->body, strlen(b->body), &r, err, sizeof(err));
		if (rc == 0) {
			rc = sn_regreq_validate(&r, err, sizeof(err));
			sn_regreq_cleanup(&r);
		}
		if (rc == 0 || !strstr(err, b->want))
			fprintf(stderr, "  row %zu '%s': rc %d err '%s' want '%s'\n", i, b->body, rc,
				err, b->want);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, b->want));
	}
}

static void test_base64(void)
{
	char *out;
	size_t len;
	CU_ASSERT_EQUAL(sn_base64_decode("aGVsbG8=", 8, &out, &len), 0);
	CU_ASSERT_EQUAL(len, 5);
	UNIT_STR_EQ(out, "hello");
	free(out);
	CU_ASSERT_EQUAL(sn_base64_decode("aGVs\nbG8", 8, &out, &len), 0); /* no padding */
	UNIT_STR_EQ(out, "hello");
	free(out);
	CU_ASSERT_NOT_EQUAL(sn_base64_decode("a", 1, &out, &len), 0);
	CU_ASSERT_NOT_EQUAL(sn_base64_decode("ab=c", 4, &out, &len), 0);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_json),
	UNIT_TEST(test_form),
	UNIT_TEST(test_bad),
	UNIT_TEST(test_base64),
};

UNIT_MAIN("sn_regreq", tests)

/* Image preheat parsing (image.c): manifest URLs, digests, manifests of every kind
 * (Docker schema 1 and 2, OCI manifest, manifest list, OCI index), Bearer challenges and
 * token answers. Table-driven where it fits; each failing row is named. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supernode/image.h"
#include "unit.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void test_ref(void)
{
	struct sn_image_ref r;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(sn_image_ref_parse("https://reg.example:5000/v2/library/alpine/"
						 "manifests/3.19", &r, err, sizeof(err)), 0);
	UNIT_STR_EQ(r.base, "https://reg.example:5000");
	UNIT_STR_EQ(r.name, "library/alpine");
	UNIT_STR_EQ(r.reference, "3.19");
	char *u = sn_image_blob_url(&r, D1);
	UNIT_STR_EQ(u, "https://reg.example:5000/v2/library/alpine/blobs/" D1);
	free(u);
	u = sn_image_manifest_url(&r, D2);
	UNIT_STR_EQ(u, "https://reg.example:5000/v2/library/alpine/manifests/" D2);
	free(u);
	sn_image_ref_cleanup(&r);
	static const char *const bad[] = {
		"ftp://r/v2/a/manifests/t", "http://r/v2/a/blobs/" D1, "http://r/v2//manifests/t",
		"http://r/v2/a/manifests/", "http://r/x/v2/a/manifests/t", "http://r/v2/a/manifests/t?x",
		"http:///v2/a/manifests/t", "http://r/v2/a/manifests/t/u",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sn_image_ref_parse(bad[i], &r, err, sizeof(err));
		if (rc == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		sn_image_ref_cleanup(&r);
	}
}

static void test_digest(void)
{
	CU_ASSERT_TRUE(sn_image_digest_valid(D1));
	CU_ASSERT_FALSE(sn_image_digest_valid("sha256:111"));
	CU_ASSERT_FALSE(sn_image_digest_valid(D1 "0"));
	CU_ASSERT_FALSE(sn_image_digest_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
	CU_ASSERT_FALSE(sn_image_digest_valid("sha256:AAAA111111111111111111111111111111111111111111111111111111111111"));
	CU_ASSERT_FALSE(sn_image_digest_valid("sha256:../../etc/passwd"));
}

struct mrow {
	const char *name, *body;
	int rc;
	enum sn_manifest_kind kind;
	const char *digests; /* space separated */
};

static void test_manifests(void)
{
	static const struct mrow rows[] = {
		{ "docker v2", "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker."
		  "distribution.manifest.v2+json\",\"config\":{\"digest\":\"" D1 "\"},\"layers\":"
		  "[{\"digest\":\"" D2 "\"},{\"digest\":\"" D3 "\"}]}", 0, SN_MANIFEST_IMAGE,
		  D1 " " D2 " " D3 },
		{ "oci index", "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\","
		  "\"platform\":{\"os\":\"linux\"}},{\"digest\":\"" D2 "\"}]}", 0, SN_MANIFEST_LIST,
		  D1 " " D2 },
		{ "schema 1, repeated layers once", "{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":"
		  "\"" D1 "\"},{\"blobSum\":\"" D1 "\"},{\"blobSum\":\"" D2 "\"}]}", 0,
		  SN_MANIFEST_IMAGE, D1 " " D2 },
		{ "no config", "{\"layers\":[{\"digest\":\"" D3 "\"}]}", 0, SN_MANIFEST_IMAGE, D3 },
		{ "bad digest", "{\"layers\":[{\"digest\":\"sha256:zz\"}]}", -1, 0, NULL },
		{ "layer not an object", "{\"layers\":[\"" D1 "\"]}", -1, 0, NULL },
		{ "empty", "{\"layers\":[]}", -1, 0, NULL },
		{ "nothing", "{\"schemaVersion\":2}", -1, 0, NULL },
		{ "not json", "layers", -1, 0, NULL },
		{ "array", "[]", -1, 0, NULL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct mrow *r = &rows[i];
		struct sn_manifest m;
		char err[256] = "", got[1024] = "";
		int rc = sn_manifest_parse(r->body, strlen(r->body), &m, err, sizeof(err));
		if ((rc == 0) != (r->rc == 0)) {
			fprintf(stderr, "  row '%s': rc %d (%s)\n", r->name, rc, err);
			CU_FAIL("manifest rc");
			continue;
		}
		if (rc < 0) {
			CU_ASSERT_TRUE(err[0] != '\0');
			continue;
		}
		for (size_t k = 0; k < m.n; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? " " : "",
				 m.digests[k]);
		if (strcmp(got, r->digests) != 0 || m.kind != r->kind)
			fprintf(stderr, "  row '%s': got %s\n", r->name, got);
		CU_ASSERT_STRING_EQUAL(got, r->digests);
		CU_ASSERT_EQUAL(m.kind, r->kind);
		sn_manifest_cleanup(&m);
	}
}

static void test_challenge(void)
{
	struct sn_challenge c;
	CU_ASSERT_EQUAL_FATAL(sn_challenge_parse("Bearer realm=\"https://auth.example/token\","
						 "service=\"registry.example\",scope=\"repository:"
						 "a/b:pull,push\"", &c), 0);
	UNIT_STR_EQ(c.realm, "https://auth.example/token");
	UNIT_STR_EQ(c.service, "registry.example");
	UNIT_STR_EQ(c.scope, "repository:a/b:pull,push");
	char *u = sn_challenge_token_url(&c, "repository:x:pull");
	UNIT_STR_EQ(u, "https://auth.example/token?service=registry.example&scope=repository%3Aa%2Fb%3Apull%2Cpush");
	free(u);
	sn_challenge_cleanup(&c);
	/* No scope: the default; a realm with a query; an escaped quote; token values. */
	CU_ASSERT_EQUAL_FATAL(sn_challenge_parse("bearer realm=http://t/tok?x=1, error=\"a\\\"b\"", &c), 0);
	CU_ASSERT_PTR_NULL(c.service);
	u = sn_challenge_token_url(&c, "repository:x:pull");
	UNIT_STR_EQ(u, "http://t/tok?x=1&scope=repository%3Ax%3Apull");
	free(u);
	sn_challenge_cleanup(&c);
	static const char *const bad[] = { "Basic realm=\"x\"", "Bearer service=\"s\"",
					   "Bearer realm=\"ftp://x\"", "Bearer realm=\"http://x",
					   "Bearer", "Bearer realm", "Bearerrealm=\"http://x\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sn_challenge_parse(bad[i], &c);
		if (rc == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CU_ASSERT_NOT_EQUAL(rc, 0);
	}
}

static void test_token(void)
{
	char *t = NULL;
	const char *a = "{\"token\":\"abc\",\"expires_in\":60}";
	CU_ASSERT_EQUAL(sn_token_parse(a, strlen(a), &t), 0);
	UNIT_STR_EQ(t, "abc");
	free(t);
	const char *b = "{\"access_token\":\"xyz\"}";
	CU_ASSERT_EQUAL(sn_token_parse(b, strlen(b), &t), 0);
	UNIT_STR_EQ(t, "xyz");
	free(t);
	const char *c = "{\"token\":\"a b\"}", *d = "{}", *e = "nope";
	CU_ASSERT_NOT_EQUAL(sn_token_parse(c, strlen(c), &t), 0);
	CU_ASSERT_NOT_EQUAL(sn_token_parse(d, strlen(d), &t), 0);
	CU_ASSERT_NOT_EQUAL(sn_token_parse(e, strlen(e), &t), 0);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_ref), UNIT_TEST(test_digest), UNIT_TEST(test_manifests),
	UNIT_TEST(test_challenge), UNIT_TEST(test_token),
};
UNIT_MAIN("sn_image", tests)

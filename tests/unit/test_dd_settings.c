/* dfdaemon settings: the INI file with its rule lists, flags over the file, and the
 * errors a user gets for bad input. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfdaemon/settings.h"
#include "unit.h"

static void test_file_with_lists(void)
{
	struct dd_settings s;
	dd_settings_defaults(&s);
	const char *text = "[dfdaemon]\nport = 0\nregistry = http://127.0.0.1:5000\n"
			   "ratelimit = 4MB\nfallback = false\n"
			   "[proxy]\n; a comment\nrule = blobs/sha256.*\n"
			   "rule = ^http://x\\.example/ use_https\n"
			   "[hijack]\ncert = /tmp/ca.crt\nkey = /tmp/ca.key\n"
			   "host = reg\\.example:443 insecure\n";
	char err[512] = "";
	int rc = dd_settings_load_string(&s, text, "t.conf", err, sizeof(err));
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(s.port, 0);
	CU_ASSERT_EQUAL(s.ratelimit, 4 << 20);
	CU_ASSERT_FALSE(s.fallback);
	UNIT_STR_EQ(s.registry, "http://127.0.0.1:5000");
	CU_ASSERT_EQUAL(s.rules.n, 2);
	CU_ASSERT_TRUE(s.rules.n == 2 && s.rules.v[1].use_https);
	CU_ASSERT_EQUAL(s.hijack.n, 1);
	UNIT_STR_EQ(s.ca_cert, "/tmp/ca.crt");
	dd_settings_cleanup(&s);
}

static void test_file_errors(void)
{
	static const struct {
		const char *text;
		const char *words;
	} rows[] = {
		{ "[dfdaemon]\nport = 70000\n", "t.conf:2" },
		{ "[dfdaemon]\nbogus = 1\n", "bogus" },
		{ "[proxy]\nrule = (\n", "t.conf:2: bad regular expression" },
		{ "[proxy]\nfoo = x\n", "unknown key 'foo' in [proxy]" },
		{ "[hijack]\nhost = x nope\n", "t.conf:2: unknown hijack host option" },
		{ "[elsewhere]\na = b\n", "unknown section" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dd_settings s;
		dd_settings_defaults(&s);
		char err[512] = "";
		int rc = dd_settings_load_string(&s, rows[i].text, "t.conf", err, sizeof(err));
		if (rc == 0 || !strstr(err, rows[i].words))
			fprintf(stderr, "  row %zu: rc %d, err '%s'\n", i, rc, err);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, rows[i].words));
		dd_settings_cleanup(&s);
	}
}

static int parse(struct dd_settings *s, enum dd_cli_action *a, char *err, size_t errsz,
		 char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	dd_settings_defaults(s);
	return dd_settings_from_args(s, argc, argv, a, err, errsz);
}

static void test_flags(void)
{
	char path[] = "/tmp/test_dd_settings.XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	const char *text = "[dfdaemon]\nport = 7000\nnode = 10.0.0.1:8002\n";
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	char a0[] = "dfdaemon", a1[] = "--config", a3[] = "--port", a4[] = "0",
	     a5[] = "--ratelimit", a6[] = "1M", a7[] = "--rule", a8[] = "blobs direct",
	     a9[] = "--no-fallback", a10[] = "--workHome", a11[] = "/srv/df",
	     a12[] = "--node", a13[] = "sn1:8002=2", a14[] = "sn2", a15[] = "--maxprocs",
	     a16[] = "4";
	char *argv[] = { a0,  a1,  path, a3,  a4,  a5,	a6,  a7,  a8, a9,
			 a10, a11, a12,	 a13, a12, a14, a15, a16, NULL };
	struct dd_settings s;
	enum dd_cli_action a;
	char err[512] = "";
	int rc = parse(&s, &a, err, sizeof(err), argv);
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(a, DD_CLI_RUN);
	CU_ASSERT_EQUAL(s.port, 0);
	UNIT_STR_EQ(s.node, "sn1:8002=2,sn2"); /* flags replace the file, and add up */
	CU_ASSERT_EQUAL(s.ratelimit, 1 << 20);
	CU_ASSERT_EQUAL(s.rules.n, 1);
	CU_ASSERT_FALSE(s.fallback);
	UNIT_STR_EQ(s.localrepo, "/srv/df/dfdaemon/data");
	dd_settings_cleanup(&s);
	unlink(path);
}

static void test_flag_errors(void)
{
	static const struct {
		const char *argv[6];
		const char *words;
	} rows[] = {
		{ { "dfdaemon", "--port", "x", NULL }, "--port" },
		{ { "dfdaemon", "--bogus", NULL }, "unknown option" },
		{ { "dfdaemon", "--registry", "ftp://x", NULL }, "not an http://" },
		{ { "dfdaemon", "--certpem", "/a.pem", NULL }, "go together" },
		{ { "dfdaemon", "--hijack", "reg:443", NULL }, "needs a CA" },
		{ { "dfdaemon", "--hostIp", "localhost", NULL }, "not an IPv4" },
		{ { "dfdaemon", "--config", "/nonexistent/dfdaemon.conf", NULL }, "cannot read" },
		{ { "dfdaemon", "stray", NULL }, "unexpected argument" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dd_settings s;
		enum dd_cli_action a;
		char err[512] = "";
		int rc = parse(&s, &a, err, sizeof(err), (char **)rows[i].argv);
		if (rc == 0 || !strstr(err, rows[i].words))
			fprintf(stderr, "  row %zu: rc %d, err '%s'\n", i, rc, err);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, rows[i].words));
		dd_settings_cleanup(&s);
	}
}

static void test_help_version(void)
{
	char n[] = "dfdaemon", b[] = "--bogus", hh[] = "-h", vv[] = "--version";
	char *h[] = { n, b, hh, NULL };
	char *v[] = { n, vv, NULL };
	struct dd_settings s;
	enum dd_cli_action a;
	char err[256];
	CU_ASSERT_EQUAL(parse(&s, &a, err, sizeof(err), h), 0);
	CU_ASSERT_EQUAL(a, DD_CLI_HELP);
	dd_settings_cleanup(&s);
	CU_ASSERT_EQUAL(parse(&s, &a, err, sizeof(err), v), 0);
	CU_ASSERT_EQUAL(a, DD_CLI_VERSION);
	dd_settings_cleanup(&s);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_file_with_lists), UNIT_TEST(test_file_errors), UNIT_TEST(test_flags),
	UNIT_TEST(test_flag_errors),	 UNIT_TEST(test_help_version),
};

UNIT_MAIN("dd_settings", tests)

/* Configuration: defaults -> file -> command line, and errors that say where and what. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

struct settings {
	char *home;
	int64_t port;
	bool debug;
	int64_t limit;
	int64_t expire;
};

static const struct df_cfg_key keys[] = {
	{ "base", "home", DF_CFG_STRING, offsetof(struct settings, home), 0, 0, "home dir" },
	{ "base", "port", DF_CFG_INT, offsetof(struct settings, port), 0, 65535, "port" },
	{ "base", "debug", DF_CFG_BOOL, offsetof(struct settings, debug), 0, 0, "debug" },
	{ "limits", "limit", DF_CFG_SIZE, offsetof(struct settings, limit), 1024, 1LL << 40, "" },
	{ "limits", "expire", DF_CFG_DURATION, offsetof(struct settings, expire), 0, 0, "" },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

static void defaults(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	s->home = strdup("/var/lib/x");
	s->port = 8002;
	s->limit = 20 << 20;
	s->expire = 180000;
}

static void test_precedence(void)
{
	struct settings s;
	defaults(&s);
	char err[256] = "";
	const char *ini = "; comment\n[base]\nport = 9000\ndebug = yes\n\n[limits]\n"
			  "limit = 8M\nexpire = 5m\n";
	CU_ASSERT_EQUAL(df_cfg_load_string(keys, &s, ini, "t.conf", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.port, 9000);
	CU_ASSERT_TRUE(s.debug);
	CU_ASSERT_EQUAL(s.limit, 8 << 20);
	CU_ASSERT_EQUAL(s.expire, 300000);
	UNIT_STR_EQ(s.home, "/var/lib/x"); /* default kept */
	/* The command line wins over the file. */
	CU_ASSERT_EQUAL(df_cfg_set(keys, &s, NULL, "port", "9100", "--port", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.port, 9100);
	CU_ASSERT_EQUAL(df_cfg_set(keys, &s, "base", "home", "/tmp/h", "--home", err, sizeof(err)),
			0);
	UNIT_STR_EQ(s.home, "/tmp/h");
	df_cfg_free(keys, &s);
	CU_ASSERT_PTR_NULL(s.home);
}

static void test_errors_table(void)
{
	static const struct {
		const char *ini;
		const char *want; /* substring of the message */
	} rows[] = {
		{ "[base]\nprot = 1\n", "t.conf:2: unknown key 'prot' in [base]" },
		{ "[bse]\nport = 1\n", "t.conf:2: unknown section [bse]" },
		{ "port = 1\n", "t.conf:1: key 'port' is outside any [section]" },
		{ "[base]\nport = 70000\n", "t.conf:2: key 'port' in [base]: '70000' is not an "
					    "integer from 0 to 65535" },
		{ "[base]\nport = 8k\n", "is not an integer from 0 to 65535" },
		{ "[base]\ndebug = maybe\n", "'maybe' is not true or false" },
		{ "[limits]\nlimit = 8X\n", "'8X' is not a size such as" },
		{ "[limits]\nlimit = 1\n", "'1' is out of range (1KB to 1TB)" },
		{ "[limits]\nexpire = soon\n", "'soon' is not a duration such as" },
		{ "[base\nport = 1\n", "t.conf:1: syntax error" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct settings s;
		defaults(&s);
		char err[256] = "";
		int rc = df_cfg_load_string(keys, &s, rows[i].ini, "t.conf", err, sizeof(err));
		if (rc != -EINVAL || !strstr(err, rows[i].want))
			fprintf(stderr, "  row %zu: rc %d err '%s'\n", i, rc, err);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, rows[i].want));
		df_cfg_free(keys, &s);
	}
}

static void test_long_line_rejected(void)
{
	struct settings s;
	defaults(&s);
	char ini[600];
	char value[300];
	memset(value, 'a', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	snprintf(ini, sizeof(ini), "[base]\nport = 1\nhome = /%s\n", value);
	char err[256] = "";
	CU_ASSERT_EQUAL(df_cfg_load_string(keys, &s, ini, "t.conf", err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.conf:3: line is"));
	UNIT_STR_EQ(s.home, "/var/lib/x"); /* never a cut value */
	/* A line exactly at the limit is fine. */
	char okline[DF_CFG_MAX_LINE + 1];
	memset(okline, 'b', sizeof(okline) - 1);
	memcpy(okline, "home = /", 8);
	okline[DF_CFG_MAX_LINE] = '\0';
	snprintf(ini, sizeof(ini), "[base]\n%s\n", okline);
	CU_ASSERT_EQUAL(df_cfg_load_string(keys, &s, ini, "t.conf", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(s.home), DF_CFG_MAX_LINE - 7);
	df_cfg_free(keys, &s);
}

static void test_file_and_missing(void)
{
	struct settings s;
	defaults(&s);
	char err[256] = "";
	CU_ASSERT_EQUAL(df_cfg_load_file(keys, &s, "/nonexistent/x.conf", err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/x.conf"));
	char path[] = "/tmp/df-test-conf-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	const char *text = "[base]\r\nport = 1234\r\n";
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT_EQUAL(df_cfg_load_file(keys, &s, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.port, 1234);
	unlink(path);
	df_cfg_free(keys, &s);
}

static void test_set_unknown_and_dump(void)
{
	struct settings s;
	defaults(&s);
	char err[256] = "";
	CU_ASSERT_EQUAL(df_cfg_set(keys, &s, NULL, "nope", "1", "--nope", err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown setting 'nope'"));
	CU_ASSERT_EQUAL(df_cfg_set(keys, &s, NULL, "port", "x", "--port", err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--port: key 'port'"));
	char *dump = df_cfg_dump(keys, &s);
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "[base]\nhome = /var/lib/x\nport = 8002\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "[limits]\nlimit = 20MB\nexpire = 3m\n"));
	/* The dump is itself a valid configuration with the same values. */
	struct settings t;
	defaults(&t);
	t.port = 1;
	CU_ASSERT_EQUAL(df_cfg_load_string(keys, &t, dump, "dump", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(t.port, 8002);
	CU_ASSERT_EQUAL(t.expire, 180000);
	free(dump);
	df_cfg_free(keys, &s);
	df_cfg_free(keys, &t);
}

static void test_parse_bool(void)
{
	bool v;
	CU_ASSERT_TRUE(df_cfg_parse_bool("On", &v) && v);
	CU_ASSERT_TRUE(df_cfg_parse_bool("0", &v) && !v);
	CU_ASSERT_FALSE(df_cfg_parse_bool("2", &v));
	CU_ASSERT_FALSE(df_cfg_parse_bool(NULL, &v));
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_precedence),	    UNIT_TEST(test_errors_table),
	UNIT_TEST(test_long_line_rejected), UNIT_TEST(test_file_and_missing),
	UNIT_TEST(test_set_unknown_and_dump), UNIT_TEST(test_parse_bool),
};
UNIT_MAIN("conf", tests)

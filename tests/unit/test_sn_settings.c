/* Supernode settings (settings.c): defaults, the file, flags over the file, and errors
 * that say what is wrong. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supernode/settings.h"
#include "unit.h"

static int load(struct sn_settings *s, struct sn_cli *cli, char *err, size_t errsz, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, errsz);
	argv[argc++] = (char *)"supernode";
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return sn_settings_load(s, cli, argc, argv, err, errsz);
}

static void test_defaults(void)
{
	struct sn_settings s;
	sn_settings_init(&s);
	CU_ASSERT_EQUAL(s.port, 8002);
	CU_ASSERT_EQUAL(s.download_port, 8001);
	CU_ASSERT_EQUAL(s.up_limit, 5);
	CU_ASSERT_EQUAL(s.down_limit, 4);
	CU_ASSERT_EQUAL(s.fail_access_interval, 180000);
	CU_ASSERT_EQUAL(s.pull_hold, 1000);
	char err[256];
	CU_ASSERT_EQUAL(sn_settings_validate(&s, err, sizeof(err)), 0);
	sn_settings_cleanup(&s);
}

static void test_file_then_flags(void)
{
	char path[] = "/tmp/test_sn_settings.XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	const char *ini = "[supernode]\nport = 9002\nup-limit = 7\nmax-bandwidth = 100MB\n"
			  "fail-access-interval = 30s\nhome-dir = /srv/df\n";
	CU_ASSERT_EQUAL(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	struct sn_settings s;
	struct sn_cli cli = { 0 };
	char err[256] = "";
	sn_settings_init(&s);
	int rc = load(&s, &cli, err, sizeof(err), "--config", path, "--port", "0", "-D",
		      "--down-limit", "8", NULL);
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(s.port, 0);	 /* the flag wins */
	CU_ASSERT_EQUAL(s.up_limit, 7); /* from the file */
	CU_ASSERT_EQUAL(s.down_limit, 8);
	CU_ASSERT_EQUAL(s.max_bandwidth, 100LL << 20);
	CU_ASSERT_EQUAL(s.fail_access_interval, 30000);
	CU_ASSERT_TRUE(s.debug);
	UNIT_STR_EQ(s.home_dir, "/srv/df");
	UNIT_STR_EQ(cli.config_path, path);
	char *dump = sn_settings_dump(&s);
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "up-limit = 7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "[supernode]\n"));
	free(dump);
	unlink(path);
	sn_cli_cleanup(&cli);
	sn_settings_cleanup(&s);
}

struct bad {
	const char *flag, *value, *want;
};

static const struct bad bad_rows[] = {
	{ "--port", "70000", "from 0 to 65535" },
	{ "--up-limit", "zero", "is not an integer" },
	{ "--advertise-ip", "host.example", "not an IPv4 address" },
	{ "--listen", "1.2.3", "not an IPv4 address" },
	{ "--home-dir", "relative/dir", "absolute path" },
	{ "--log-level", "loud", "not one of" },
	{ "--pull-hold", "forever", "duration" },
	{ "--config", "/nonexistent/supernode.conf", "cannot read" },
	{ "--no-such-flag", "1", "unknown option" },
};

static void test_bad_values(void)
{
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		struct sn_settings s;
		struct sn_cli cli = { 0 };
		char err[512] = "";
		sn_settings_init(&s);
		int rc = load(&s, &cli, err, sizeof(err), bad_rows[i].flag, bad_rows[i].value, NULL);
		if (rc == 0 || !strstr(err, bad_rows[i].want))
			fprintf(stderr, "  row %s %s: rc %d, err '%s', want '%s'\n", bad_rows[i].flag,
				bad_rows[i].value, rc, err, bad_rows[i].want);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad_rows[i].want));
		sn_cli_cleanup(&cli);
		sn_settings_cleanup(&s);
	}
}

static void test_cross_checks(void)
{
	struct sn_settings s;
	struct sn_cli cli = { 0 };
	char err[512] = "";
	sn_settings_init(&s);
	CU_ASSERT_NOT_EQUAL(load(&s, &cli, err, sizeof(err), "--port", "9000", "--download-port",
				 "9000", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "different ports"));
	sn_settings_cleanup(&s);
	sn_settings_init(&s);
	CU_ASSERT_NOT_EQUAL(load(&s, &cli, err, sizeof(err), "--max-bandwidth", "10M",
				 "--system-bandwidth", "20M", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "system-bandwidth"));
	sn_settings_cleanup(&s);
	/* Both ports 0 is fine: each picks a free port. */
	sn_settings_init(&s);
	CU_ASSERT_EQUAL(load(&s, &cli, err, sizeof(err), "--port", "0", "--download-port", "0",
			     NULL), 0);
	sn_cli_cleanup(&cli);
	sn_settings_cleanup(&s);
}

static void test_unknown_key_in_file(void)
{
	struct sn_settings s;
	char err[512] = "";
	sn_settings_init(&s);
	CU_ASSERT_NOT_EQUAL(sn_settings_load_string(&s, "[supernode]\nbogus = 1\n", err,
						    sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown key 'bogus'"));
	sn_settings_cleanup(&s);
}

static void test_help_version(void)
{
	struct sn_settings s;
	struct sn_cli cli = { 0 };
	char err[256];
	sn_settings_init(&s);
	CU_ASSERT_EQUAL(load(&s, &cli, err, sizeof(err), "--help", NULL), 0);
	CU_ASSERT_TRUE(cli.help);
	CU_ASSERT_EQUAL(load(&s, &cli, err, sizeof(err), "-v", "--check-config", NULL), 0);
	CU_ASSERT_TRUE(cli.version);
	CU_ASSERT_TRUE(cli.check_config);
	sn_cli_cleanup(&cli);
	sn_settings_cleanup(&s);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_defaults),     UNIT_TEST(test_file_then_flags),
	UNIT_TEST(test_bad_values),   UNIT_TEST(test_cross_checks),
	UNIT_TEST(test_unknown_key_in_file), UNIT_TEST(test_help_version),
};

UNIT_MAIN("sn_settings", tests)

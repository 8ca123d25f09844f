/* dfget command line and configuration: a table of good command lines and the settings
 * they give, a table of bad ones and the message each must produce (exit 1 in main), and
 * the defaults -> file -> flags precedence. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfget/cli.h"
#include "fsutil.h"
#include "unit.h"

#define MAXARGS 40

static int parse(const char *const *args, struct dg_cli *cli, char *err, size_t errsz)
{
	char *argv[MAXARGS + 2];
	int argc = 0;
	argv[argc++] = (char *)"dfget";
	for (size_t i = 0; args[i]; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	return dg_cli_parse(argc, argv, cli, err, errsz);
}

/* Point DFGET_CONFIG at an empty file, so an installed /etc/dragonfly/dfget.conf cannot
 * change the results. */
static void empty_config(void)
{
	static char path[] = "/tmp/dg-test-cli-empty.conf";
	CU_ASSERT_FATAL(df_write_file_atomic(path, "", 0, 0644) == 0);
	setenv("DFGET_CONFIG", path, 1);
}

static void test_good(void)
{
	empty_config();
	struct dg_cli cli;
	char err[512];
	const char *a1[] = { "-u", "http://h/a/b.tar?x=1", "-o", "/tmp/out.tar", "-s", "4M",
			     "--totallimit", "8MB", "-e", "90", "-m",
			     "0123456789abcdef0123456789ABCDEF", "--header", "A: b", "--header",
			     "Authorization: Bearer x", "-n", "h1:9000=3,h2", "--notbs", "-b",
			     NULL };
	CU_ASSERT_EQUAL_FATAL(parse(a1, &cli, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cli.command, DG_CMD_DOWNLOAD);
	UNIT_STR_EQ(cli.url, "http://h/a/b.tar?x=1");
	UNIT_STR_EQ(cli.output, "/tmp/out.tar");
	CU_ASSERT_EQUAL(cli.s.locallimit, 4 << 20);
	CU_ASSERT_EQUAL(cli.s.totallimit, 8 << 20);
	CU_ASSERT_EQUAL(cli.s.timeout, 90000);
	CU_ASSERT_EQUAL(cli.nheaders, 2);
	UNIT_STR_EQ(cli.headers[1], "Authorization: Bearer x");
	CU_ASSERT_PTR_NULL(cli.headers[2]);
	UNIT_STR_EQ(cli.s.node, "h1:9000=3,h2");
	CU_ASSERT_TRUE(cli.s.notbs);
	CU_ASSERT_TRUE(cli.s.showbar);
	CU_ASSERT_EQUAL(cli.pattern, DG_PATTERN_P2P);
	struct dg_request req;
	dg_cli_to_request(&cli, &req);
	CU_ASSERT_EQUAL(req.local_limit, 4 << 20);
	CU_ASSERT_TRUE(req.notbs);
	UNIT_STR_EQ(req.headers[0], "A: b");
	dg_cli_cleanup(&cli);

	/* defaults; output from the URL; long forms; positional URL */
	const char *a2[] = { "--pattern", "SOURCE", "https://h/dir/file.iso?sig=1", NULL };
	CU_ASSERT_EQUAL_FATAL(parse(a2, &cli, err, sizeof(err)), 0);
	UNIT_STR_EQ(cli.output, "file.iso");
	CU_ASSERT_EQUAL(cli.pattern, DG_PATTERN_SOURCE);
	CU_ASSERT_EQUAL(cli.s.locallimit, 20 << 20);
	CU_ASSERT_EQUAL(cli.s.minrate, 64 << 10);
	CU_ASSERT_EQUAL(cli.s.alivetime, 300000);
	CU_ASSERT_EQUAL(cli.s.expiretime, 180000);
	UNIT_STR_EQ(cli.s.home, "~/.small-dragonfly");
	dg_cli_cleanup(&cli);

	/* -o naming a directory */
	const char *a3[] = { "-u", "http://h/x/y.bin", "-o", "/tmp", NULL };
	CU_ASSERT_EQUAL_FATAL(parse(a3, &cli, err, sizeof(err)), 0);
	UNIT_STR_EQ(cli.output, "/tmp/y.bin");
	dg_cli_cleanup(&cli);

	const char *a4[] = { "server", "--home", "/tmp/h", "--port", "15001", "--alivetime",
			     "2s", "--expiretime", "1m", NULL };
	CU_ASSERT_EQUAL_FATAL(parse(a4, &cli, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cli.command, DG_CMD_SERVER);
	CU_ASSERT_EQUAL(cli.s.port, 15001);
	CU_ASSERT_EQUAL(cli.s.alivetime, 2000);
	CU_ASSERT_EQUAL(cli.s.expiretime, 60000);
	dg_cli_cleanup(&cli);

	const char *a5[] = { "version", NULL };
	CU_ASSERT_EQUAL(parse(a5, &cli, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cli.command, DG_CMD_VERSION);
	dg_cli_cleanup(&cli);
	const char *a6[] = { "-h", NULL };
	CU_ASSERT_EQUAL(parse(a6, &cli, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cli.command, DG_CMD_HELP);
	dg_cli_cleanup(&cli);
}

static void test_bad(void)
{
	empty_config();
	static const struct {
		const char *args[8];
		const char *msg; /* a part of the message */
	} rows[] = {
		{ { NULL }, "no URL given" },
		{ { "-u", "ftp://h/x", NULL }, "is not a valid http:// or https:// URL" },
		{ { "-u", "http://h/x", "-s", "fast", NULL }, "'fast' is not a size" },
		{ { "-u", "http://h/x", "--totallimit", "-1", NULL }, "'-1'" },
		{ { "-u", "http://h/x", "-e", "soon", NULL }, "'soon' is not a duration" },
		{ { "-u", "http://h/x", "-m", "abc", NULL }, "--md5 'abc' is not 32 hexadecimal" },
		{ { "-u", "http://h/x", "-p", "torrent", NULL }, "is not p2p, cdn or source" },
		{ { "-u", "http://h/x", "--header", "NoColon", NULL }, "is not 'Name: value'" },
		{ { "-u", "http://h/x", "--header", ": v", NULL }, "is not 'Name: value'" },
		{ { "-u", "http://h/x", "-n", "h:0", NULL }, "port must be a number" },
		{ { "-u", "http://h/x", "-n", "h=0", NULL }, "weight after '=' must be" },
		{ { "-u", "http://h/x", "-n", "a,,b", NULL }, "empty entry" },
		{ { "-u", "http://h/x", "-n", "", NULL }, "no supernode given" },
		{ { "-u", "http://h/x", "--port", "80", NULL }, "is not in 15000-65000" },
		{ { "-u", "http://h/x", "--ip", "host", NULL }, "is not an IPv4 address" },
		{ { "-u", "http://h/", NULL }, "give -o FILE" },
		{ { "-u", "http://h/x", "--bogus", NULL }, "unknown option '--bogus'" },
		{ { "-u", "http://h/x", "-Z", NULL }, "unknown option '-Z'" },
		{ { "-u", NULL }, "needs a value" },
		{ { "-u", "http://h/x", "extra", NULL }, "unexpected argument 'extra'" },
		{ { "-u", "http://h/x", "--config", "/nonexistent.conf", NULL },
		  "cannot read configuration file /nonexistent.conf" },
		{ { "server", "--alivetime", "0", NULL }, "out of range" },
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct dg_cli cli;
		char err[512] = "";
		int rc = parse(rows[r].args, &cli, err, sizeof(err));
		if (rc == 0 || !strstr(err, rows[r].msg))
			fprintf(stderr, "  row %zu: rc %d, message '%s', want '%s'\n", r, rc, err,
				rows[r].msg);
		CU_ASSERT(rc < 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, rows[r].msg));
		dg_cli_cleanup(&cli);
	}
}

static void test_config_file(void)
{
	char dir[] = "/tmp/dg-test-cli-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof(path), "%s/dfget.conf", dir);
	const char *conf = "[dfget]\nnode = sn1=2, sn2:8003\nlocallimit = 1M\nnotbs = yes\n"
			   "totallimit = 10MB\nhome = /var/tmp/dfh\n";
	CU_ASSERT_FATAL(df_write_file_atomic(path, conf, strlen(conf), 0644) == 0);
	struct dg_cli cli;
	char err[512];
	/* the file over the defaults, the flags over the file */
	const char *a1[] = { "--config", path, "-u", "http://h/x", "-s", "2M", NULL };
	CU_ASSERT_EQUAL_FATAL(parse(a1, &cli, err, sizeof(err)), 0);
	UNIT_STR_EQ(cli.s.node, "sn1=2, sn2:8003");
	CU_ASSERT_EQUAL(cli.s.locallimit, 2 << 20);
	CU_ASSERT_EQUAL(cli.s.totallimit, 10 << 20);
	CU_ASSERT_TRUE(cli.s.notbs);
	UNIT_STR_EQ(cli.s.home, "/var/tmp/dfh");
	UNIT_STR_EQ(cli.config_path, path);
	dg_cli_cleanup(&cli);
	/* DFGET_CONFIG names the file too */
	setenv("DFGET_CONFIG", path, 1);
	const char *a2[] = { "-u", "http://h/x", NULL };
	CU_ASSERT_EQUAL(parse(a2, &cli, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cli.s.locallimit, 1 << 20);
	dg_cli_cleanup(&cli);
	empty_config();

	/* bad files name file, line and key */
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{ "[dfget]\nlocallimit = lots\n", ":2: key 'locallimit' in [dfget]: 'lots'" },
		{ "[dfget]\ncolour = blue\n", ":2: unknown key 'colour' in [dfget]" },
		{ "[other]\nx = 1\n", ":2: unknown section [other]" },
		{ "[dfget]\nworkers = 99\n", "'99' is not an integer from 1 to 16" },
		{ "[dfget]\nnotbs = maybe\n", "'maybe' is not true or false" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FATAL(df_write_file_atomic(path, bad[i].text, strlen(bad[i].text),
						     0644) == 0);
		err[0] = '\0';
		CU_ASSERT(parse(a1, &cli, err, sizeof(err)) < 0);
		if (!strstr(err, bad[i].msg))
			fprintf(stderr, "  bad file %zu: '%s', want '%s'\n", i, err, bad[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
		dg_cli_cleanup(&cli);
	}
	df_remove_tree(dir);
}

/* The shipped etc/dfget.conf parses and matches the built-in defaults. */
static void test_shipped_config(void)
{
	const char *src = getenv("top_srcdir");
	char path[1024];
	snprintf(path, sizeof(path), "%s/etc/dfget.conf", src ? src : "..");
	if (access(path, R_OK) != 0) {
		snprintf(path, sizeof(path), "../etc/dfget.conf");
		if (access(path, R_OK) != 0)
			return;
	}
	struct dg_cli cli;
	char err[512];
	const char *a[] = { "--config", path, "-u", "http://h/x", NULL };
	int rc = parse(a, &cli, err, sizeof(err));
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(cli.s.locallimit, 20 << 20);
	CU_ASSERT_EQUAL(cli.s.alivetime, 300000);
	CU_ASSERT_EQUAL(cli.s.workers, 4);
	dg_cli_cleanup(&cli);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_good),
	UNIT_TEST(test_bad),
	UNIT_TEST(test_config_file),
	UNIT_TEST(test_shipped_config),
};
UNIT_MAIN("dg_cli", tests)

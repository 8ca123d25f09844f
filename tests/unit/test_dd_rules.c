/* dfdaemon: proxy rules, hijack host lists, URL and header classification, the first-bytes
 * sniffer and CONNECT parsing. Table-driven; a failing row is named. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dfdaemon/listener.h"
#include "dfdaemon/rules.h"
#include "dfdaemon/tunnel.h"
#include "dfdaemon/urlutil.h"
#include "unit.h"
#include "xalloc.h"

static void test_rule_parse(void)
{
	static const struct {
		const char *line;
		int ok;
	} rows[] = {
		{ "blobs/sha256.*", 1 },
		{ "some-registry/ use_https", 1 },
		{ "no-proxy direct", 1 },
		{ "x redirect=mirror.example:5000", 1 },
		{ "x redirect=", 0 },
		{ "x redirect=bad/host", 0 },
		{ "x bogus", 0 },
		{ "(unclosed", 0 },
		{ "a++++++++", 0 },
		{ "a*+", 0 },
		{ "a{2}{3}", 0 },
		{ "a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+", 0 },
		{ "^https?://(a|b)+\\.example/x{1,3}", 1 },
		{ "", 0 },
		{ "a b c d e f g h i", 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dd_rules r = { 0 };
		char err[256] = "";
		int rc = dd_rules_add(&r, rows[i].line, err, sizeof(err));
		if ((rc == 0) != rows[i].ok)
			fprintf(stderr, "  row %zu '%s': rc %d (%s)\n", i, rows[i].line, rc, err);
		CU_ASSERT_EQUAL(rc == 0, rows[i].ok);
		if (rc < 0)
			CU_ASSERT(err[0] != '\0');
		dd_rules_cleanup(&r);
	}
}

static void test_rule_match_rewrite(void)
{
	struct dd_rules r = { 0 };
	char err[256];
	CU_ASSERT_EQUAL(dd_rules_add(&r, "no-proxy-reg direct", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(dd_rules_add(&r, "blobs/sha256.*", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(dd_rules_add(&r, "^http://plain\\.example/ use_https", err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(dd_rules_add(&r, "old\\.example redirect=new.example:8443", err,
				     sizeof(err)),
			0);
	static const struct {
		const char *url;
		int rule; /* index, -1 = none */
		const char *rewritten;
	} rows[] = {
		{ "http://no-proxy-reg/v2/x/blobs/sha256:ab", 0, "http://no-proxy-reg/v2/x/blobs/sha256:ab" },
		{ "http://r.example/v2/x/blobs/sha256:ab", 1, "http://r.example/v2/x/blobs/sha256:ab" },
		{ "http://plain.example/file?a=1", 2, "https://plain.example/file?a=1" },
		{ "http://old.example:80/f", 3, "http://new.example:8443/f" },
		{ "http://other.example/f", -1, "http://other.example/f" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct dd_rule *m = dd_rules_match(&r, rows[i].url);
		int idx = m ? (int)(m - r.v) : -1;
		if (idx != rows[i].rule)
			fprintf(stderr, "  row %zu: matched %d\n", i, idx);
		CU_ASSERT_EQUAL(idx, rows[i].rule);
		char *out = dd_rule_rewrite(m, rows[i].url);
		UNIT_STR_EQ(out, rows[i].rewritten);
		free(out);
	}
	CU_ASSERT_TRUE(r.v[0].direct);
	CU_ASSERT_TRUE(r.v[2].use_https);
	dd_rules_cleanup(&r);
}

static void test_hosts(void)
{
	struct dd_hosts h = { 0 };
	char err[256];
	CU_ASSERT_EQUAL(dd_hosts_add(&h, "^reg\\.example:443$ insecure", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(dd_hosts_add(&h, "mirror certs=/a.pem,/b.pem", err, sizeof(err)), 0);
	CU_ASSERT_NOT_EQUAL(dd_hosts_add(&h, "x certs=", err, sizeof(err)), 0);
	CU_ASSERT_NOT_EQUAL(dd_hosts_add(&h, "x use_https", err, sizeof(err)), 0);
	const struct dd_host *m = dd_hosts_match(&h, "reg.example:443");
	CU_ASSERT_PTR_EQUAL(m, &h.v[0]);
	CU_ASSERT_TRUE(m && m->insecure);
	CU_ASSERT_PTR_NULL(dd_hosts_match(&h, "reg.example:8443"));
	m = dd_hosts_match(&h, "a.mirror.example:443");
	CU_ASSERT_PTR_EQUAL(m, &h.v[1]);
	UNIT_STR_EQ(m ? m->certs : NULL, "/a.pem,/b.pem");
	dd_hosts_cleanup(&h);
}

static void test_url_split(void)
{
	static const struct {
		const char *url;
		int ok;
		const char *host;
		unsigned port;
		const char *rest;
	} rows[] = {
		{ "http://a.example/x?y", 1, "a.example", 80, "/x?y" },
		{ "HTTPS://a.example:8443", 1, "a.example", 8443, "" },
		{ "http://[::1]:5000/v2/", 1, "::1", 5000, "/v2/" },
		{ "http://127.0.0.1:5000?q", 1, "127.0.0.1", 5000, "?q" },
		{ "http://user@a.example/", 0, NULL, 0, NULL },
		{ "http://a.example:0/", 0, NULL, 0, NULL },
		{ "http://a.example:65536/", 0, NULL, 0, NULL },
		{ "http://a.example:80x/", 0, NULL, 0, NULL },
		{ "http:///path", 0, NULL, 0, NULL },
		{ "ftp://a.example/", 0, NULL, 0, NULL },
		{ "http://a b/", 0, NULL, 0, NULL },
		{ "http://a.example/\x01", 0, NULL, 0, NULL },
		{ "http://[zz]/", 0, NULL, 0, NULL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dd_url u;
		int rc = dd_url_split(rows[i].url, &u);
		if ((rc == 0) != rows[i].ok)
			fprintf(stderr, "  row %zu '%s': rc %d\n", i, rows[i].url, rc);
		CU_ASSERT_EQUAL(rc == 0, rows[i].ok);
		if (rc == 0 && rows[i].ok) {
			UNIT_STR_EQ(u.host, rows[i].host);
			CU_ASSERT_EQUAL(u.port, rows[i].port);
			UNIT_STR_EQ(u.rest, rows[i].rest);
		}
	}
}

static void test_authority_and_digest(void)
{
	char host[256], hex[65];
	uint16_t port = 0;
	CU_ASSERT_EQUAL(dd_authority_parse("reg.example:443", host, sizeof(host), &port), 0);
	UNIT_STR_EQ(host, "reg.example");
	CU_ASSERT_EQUAL(port, 443);
	CU_ASSERT_EQUAL(dd_authority_parse("[::1]:8443", host, sizeof(host), &port), 0);
	UNIT_STR_EQ(host, "::1");
	CU_ASSERT_NOT_EQUAL(dd_authority_parse("reg.example", host, sizeof(host), &port), 0);
	CU_ASSERT_NOT_EQUAL(dd_authority_parse(":443", host, sizeof(host), &port), 0);
	CU_ASSERT_NOT_EQUAL(dd_authority_parse("a:b", host, sizeof(host), &port), 0);

	const char *d = "0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef";
	char path[200];
	snprintf(path, sizeof(path), "/v2/lib/img/blobs/sha256:%s", d);
	CU_ASSERT_TRUE(dd_blob_digest(path, hex));
	UNIT_STR_EQ(hex, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	snprintf(path, sizeof(path), "/blobs/sha256:%s", d);
	CU_ASSERT_FALSE(dd_blob_digest(path, hex)); /* nothing before /blobs */
	snprintf(path, sizeof(path), "/v2/x/blobs/sha256:%.63s", d);
	CU_ASSERT_FALSE(dd_blob_digest(path, hex));
	snprintf(path, sizeof(path), "/v2/x/blobs/sha256:%.63sg", d);
	CU_ASSERT_FALSE(dd_blob_digest(path, hex));
	snprintf(path, sizeof(path), "/v2/x/manifests/sha256:%s", d);
	CU_ASSERT_FALSE(dd_blob_digest(path, hex));
	CU_ASSERT_FALSE(dd_blob_digest("", hex));
}

static void test_headers(void)
{
	CU_ASSERT_TRUE(dd_hop_header("connection"));
	CU_ASSERT_TRUE(dd_hop_header("Transfer-Encoding"));
	CU_ASSERT_TRUE(dd_hop_header("Proxy-Authorization"));
	CU_ASSERT_TRUE(dd_hop_header("Host"));
	CU_ASSERT_FALSE(dd_hop_header("Authorization"));
	CU_ASSERT_FALSE(dd_hop_header("Accept"));
	CU_ASSERT_TRUE(dd_task_header("Authorization"));
	CU_ASSERT_TRUE(dd_task_header("Accept"));
	CU_ASSERT_FALSE(dd_task_header("Range"));
	CU_ASSERT_FALSE(dd_task_header("accept-encoding"));
	CU_ASSERT_FALSE(dd_task_header("User-Agent"));
	CU_ASSERT_FALSE(dd_task_header("Connection"));
}

static void test_sniff_and_connect(void)
{
	CU_ASSERT_EQUAL(dd_sniff("\x16\x03\x01", 3), DD_SNIFF_TLS);
	CU_ASSERT_EQUAL(dd_sniff("CONN", 4), DD_SNIFF_MORE);
	CU_ASSERT_EQUAL(dd_sniff("CONNECT a:1 HTTP/1.1", 20), DD_SNIFF_CONNECT);
	CU_ASSERT_EQUAL(dd_sniff("GET / HTTP/1.1", 14), DD_SNIFF_HTTP);
	CU_ASSERT_EQUAL(dd_sniff("CONNEXT", 7), DD_SNIFF_HTTP);
	CU_ASSERT_EQUAL(dd_sniff("", 0), DD_SNIFF_MORE);
	char t[300];
	const char *ok = "CONNECT reg.example:443 HTTP/1.1\r\nHost: reg.example:443\r\n\r\n";
	CU_ASSERT_EQUAL(dd_connect_parse(ok, strlen(ok), t, sizeof(t)), 0);
	UNIT_STR_EQ(t, "reg.example:443");
	const char *bad[] = {
		"CONNECT reg.example HTTP/1.1\r\n\r\n",
		"CONNECT  HTTP/1.1\r\n\r\n",
		"CONNECT reg.example:443 SPDY/3\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"CONNECT a:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = dd_connect_parse(bad[i], strlen(bad[i]), t, sizeof(t));
		if (rc == 0)
			fprintf(stderr, "  bad row %zu accepted\n", i);
		CU_ASSERT_NOT_EQUAL(rc, 0);
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_rule_parse),	    UNIT_TEST(test_rule_match_rewrite),
	UNIT_TEST(test_hosts),		    UNIT_TEST(test_url_split),
	UNIT_TEST(test_authority_and_digest), UNIT_TEST(test_headers),
	UNIT_TEST(test_sniff_and_connect),
};

UNIT_MAIN("dd_rules", tests)

/* The operators' helpers: bearer token checks, paging, the status page's paths and types,
 * peer sorting, medians and minimum times, the holders summary, task status names, the
 * operators' settings (token, TLS pair, redacted dump), and the metrics text (request
 * counters, histograms, history) rendered for a supernode context without a network. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supernode/apijson.h"
#include "supernode/ctx.h"
#include "supernode/fleet.h"
#include "supernode/metrics.h"
#include "supernode/registry.h"
#include "supernode/restapi.h"
#include "supernode/settings.h"
#include "supernode/waitq.h"
#include "supernode/www.h"
#include "unit.h"

static void test_token(void)
{
	CU_ASSERT_TRUE(sn_restapi_token_ok("abc", "Bearer abc"));
	CU_ASSERT_TRUE(sn_restapi_token_ok("abc", "bearer  abc"));
	CU_ASSERT_FALSE(sn_restapi_token_ok("abc", "Bearer abcd"));
	CU_ASSERT_FALSE(sn_restapi_token_ok("abc", "Bearer ab"));
	CU_ASSERT_FALSE(sn_restapi_token_ok("abc", "Basic abc"));
	CU_ASSERT_FALSE(sn_restapi_token_ok("abc", NULL));
	CU_ASSERT_FALSE(sn_restapi_token_ok("", "Bearer "));
}

static void test_page(void)
{
	static const struct {
		const char *num, *size;
		size_t n, from, to;
		int rc;
	} rows[] = {
		{ NULL, NULL, 5, 0, 5, 0 },   { "0", "2", 5, 0, 2, 0 },  { "2", "2", 5, 4, 5, 0 },
		{ "3", "2", 5, 5, 5, 0 },     { "1", "0", 5, 5, 5, 0 },  { "", "", 0, 0, 0, 0 },
		{ "-1", "2", 5, 0, 0, -1 },   { "1", "x", 5, 0, 0, -1 }, { "99999999999", "1", 5, 0, 0, -1 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t from = 0, to = 0;
		int rc = sn_restapi_page(rows[i].num, rows[i].size, rows[i].n, &from, &to);
		bool ok = (rc == 0) == (rows[i].rc == 0) &&
			  (rc < 0 || (from == rows[i].from && to == rows[i].to));
		if (!ok)
			fprintf(stderr, "  row %zu: rc %d [%zu, %zu)\n", i, rc, from, to);
		CU_ASSERT_TRUE(ok);
	}
}

static void test_www(void)
{
	CU_ASSERT_TRUE(sn_www_match("/"));
	CU_ASSERT_TRUE(sn_www_match("/app.js"));
	CU_ASSERT_FALSE(sn_www_match("/.hidden"));
	CU_ASSERT_FALSE(sn_www_match("/../etc/passwd"));
	CU_ASSERT_FALSE(sn_www_match("/a/b.js"));
	CU_ASSERT_FALSE(sn_www_match("/a%2f"));
	CU_ASSERT_FALSE(sn_www_match("x"));
	UNIT_STR_EQ(sn_www_content_type("index.html"), "text/html; charset=utf-8");
	UNIT_STR_EQ(sn_www_content_type("app.js"), "text/javascript; charset=utf-8");
	UNIT_STR_EQ(sn_www_content_type("README"), "application/octet-stream");
}

static void test_sort(void)
{
	struct sn_peer_view v[3] = { 0 };
	snprintf(v[0].id, sizeof(v[0].id), "b:1");
	v[0].load = 5;
	snprintf(v[1].id, sizeof(v[1].id), "a:2");
	v[1].load = 5;
	snprintf(v[2].id, sizeof(v[2].id), "c:3");
	v[2].load = 1;
	CU_ASSERT_EQUAL(sn_fleet_sort_peers(v, 3, "load", true), 0);
	/* Equal loads fall back to the id, reversed too (a total order). */
	UNIT_STR_EQ(v[0].id, "b:1");
	UNIT_STR_EQ(v[1].id, "a:2");
	UNIT_STR_EQ(v[2].id, "c:3");
	CU_ASSERT_EQUAL(sn_fleet_sort_peers(v, 3, "id", false), 0);
	UNIT_STR_EQ(v[0].id, "a:2");
	CU_ASSERT_EQUAL(sn_fleet_sort_peers(v, 3, "colour", false), -EINVAL);
}

static void test_numbers(void)
{
	double a[] = { 3, 1, 2 }, b[] = { 4, 1, 3, 2 };
	CU_ASSERT_DOUBLE_EQUAL(sn_fleet_median(a, 3), 2, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(sn_fleet_median(b, 4), 2.5, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(sn_fleet_median(NULL, 0), 0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(sn_fleet_min_time(100 << 20, 10 << 20), 10, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(sn_fleet_min_time(100, 0), 0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(sn_fleet_min_time(-1, 100), 0, 1e-9);
	int32_t h[] = { 0, 1, 3, 7, 12, 1 };
	struct sn_holders_summary s;
	sn_holders_summarize(h, 6, &s);
	CU_ASSERT_EQUAL(s.min, 0);
	CU_ASSERT_EQUAL(s.max, 12);
	CU_ASSERT_DOUBLE_EQUAL(s.mean, 4, 1e-9);
	CU_ASSERT_EQUAL(s.hist[0], 1);
	CU_ASSERT_EQUAL(s.hist[1], 2);
	CU_ASSERT_EQUAL(s.hist[2], 1);
	CU_ASSERT_EQUAL(s.hist[3], 1);
	CU_ASSERT_EQUAL(s.hist[4], 1);
	CU_ASSERT_EQUAL(sn_task_status_parse("source_error"), SN_TS_SOURCE_ERROR);
	CU_ASSERT_EQUAL(sn_task_status_parse("DONE"), -1);
	UNIT_STR_EQ(sn_task_status_name(SN_TS_SUCCESS), "SUCCESS");
}

static void test_settings(void)
{
	struct sn_settings s;
	char err[256] = "";
	sn_settings_init(&s);
	CU_ASSERT_EQUAL(sn_settings_load_string(&s, "[supernode]\napi-token = secret1\n", err,
						sizeof(err)), 0);
	CU_ASSERT_EQUAL(sn_settings_validate(&s, err, sizeof(err)), 0);
	char *dump = sn_settings_dump(&s);
	CU_ASSERT_PTR_NULL(strstr(dump, "secret1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "api-token = (set)"));
	free(dump);
	sn_settings_cleanup(&s);
	sn_settings_init(&s);
	CU_ASSERT_EQUAL(sn_settings_load_string(&s, "[supernode]\ntls-cert = /etc/hostname\n", err,
						sizeof(err)), 0);
	CU_ASSERT_NOT_EQUAL(sn_settings_validate(&s, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "go together"));
	sn_settings_cleanup(&s);
	sn_settings_init(&s);
	free(s.api_token);
	s.api_token = strdup("two words");
	CU_ASSERT_NOT_EQUAL(sn_settings_validate(&s, err, sizeof(err)), 0);
	sn_settings_cleanup(&s);
}

static void test_metrics(void)
{
	struct sn_settings cfg;
	sn_settings_init(&cfg);
	struct sn_ctx ctx = { .cfg = &cfg };
	char dir[] = "/tmp/test_sn_ops.XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	ctx.repo_dir = dir;
	ctx.waitq = sn_waitq_new();
	pthread_mutex_init(&ctx.jobs_lock, NULL);
	sn_registry_init();
	sn_metrics_init(1700000000000);
	sn_metrics_request(SN_H_TASKS, 200, 1500);
	sn_metrics_request(SN_H_TASKS, 200, 2000000);
	sn_metrics_request(SN_H_TASKS, 404, 10);
	sn_metrics_download(true, 2.0, 200 << 20);
	sn_metrics_download(false, 0, 0);
	CU_ASSERT_DOUBLE_EQUAL(sn_metrics_fastest_rate(), 100 << 20, 1);
	size_t len;
	char *text = sn_metrics_render(&ctx, &len);
	CU_ASSERT_EQUAL(strlen(text), len);
	static const char *const want[] = {
		"dragonfly_supernode_http_requests_total{handler=\"/api/v1/tasks\",code=\"200\"} 2\n",
		"dragonfly_supernode_http_requests_total{handler=\"/api/v1/tasks\",code=\"404\"} 1\n",
		"dragonfly_supernode_http_request_duration_seconds_bucket{handler=\"/api/v1/tasks\","
		"le=\"0.001\"} 1\n",
		"dragonfly_supernode_http_request_duration_seconds_bucket{handler=\"/api/v1/tasks\","
		"le=\"2.5\"} 3\n",
		"dragonfly_supernode_http_request_duration_seconds_count{handler=\"/api/v1/tasks\"} 3\n",
		"dragonfly_supernode_downloads_total{result=\"failure\"} 1\n",
		"dragonfly_supernode_download_duration_seconds_bucket{le=\"2\"} 1\n",
		"dragonfly_supernode_start_time_seconds 1700000000.000\n",
		"dragonfly_supernode_tasks{cdn_status=\"SUCCESS\"} 0\n",
		"# TYPE dragonfly_supernode_peers gauge\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(text, want[i]))
			fprintf(stderr, "  missing: %s", want[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want[i]));
	}
	free(text);
	struct sn_sample s[4];
	sn_metrics_sample(&ctx, 1000);
	sn_metrics_sample(&ctx, 2000);
	CU_ASSERT_EQUAL(sn_metrics_history(0, s, 4), 2);
	CU_ASSERT_EQUAL(sn_metrics_history(1000, s, 4), 1);
	CU_ASSERT_EQUAL(s[0].t_ms, 2000);
	sn_registry_cleanup();
	sn_waitq_free(ctx.waitq);
	pthread_mutex_destroy(&ctx.jobs_lock);
	rmdir(dir);
	sn_settings_cleanup(&cfg);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_token),	 UNIT_TEST(test_page),	   UNIT_TEST(test_www),
	UNIT_TEST(test_sort),	 UNIT_TEST(test_numbers), UNIT_TEST(test_settings),
	UNIT_TEST(test_metrics),
};
UNIT_MAIN("sn_ops", tests)

/* HTTP helpers end to end: a real libmicrohttpd server on a port it picked, and the libcurl
 * client; plus query/form parsing and the JSON helpers the handlers use. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "httpc.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "query.h"
#include "unit.h"
#include "xalloc.h"

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct df_httpd_request *req =
		df_httpd_request_step(con_cls, upload_data, upload_data_size, 64);
	if (!req)
		return MHD_YES;
	if (req->too_large)
		return df_httpd_reply_error(con, 413, 413, "body too large");
	if (strcmp(url, "/echo") == 0) {
		cJSON *j = df_json_object();
		df_json_add_str(j, "method", method);
		df_json_add_str(j, "q", df_httpd_arg(con, "q"));
		df_json_add_str(j, "hdr", df_httpd_header(con, "X-Test"));
		df_json_add_str(j, "body", req->body ? req->body : "");
		char ip[64];
		df_httpd_client_ip(con, ip, sizeof(ip));
		df_json_add_str(j, "ip", ip);
		return df_httpd_reply_json(con, 200, j);
	}
	if (strcmp(url, "/big") == 0) {
		static char big[5000];
		memset(big, 'x', sizeof(big));
		return df_httpd_reply(con, 200, "text/plain", big, sizeof(big));
	}
	return df_httpd_reply_error(con, 404, 404, "no such path");
}

static void test_server_and_client(void)
{
	struct df_httpd_options o = { .bind_addr = "127.0.0.1", .port = 0, .threads = 2,
				      .timeout_s = 5 };
	uint16_t port = 0;
	char err[256] = "";
	struct MHD_Daemon *d = df_httpd_start(&o, handler, NULL, &port, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_TRUE(port > 0);

	/* A second server on the same port fails with a clear message. */
	o.port = port;
	o.bind_addr = "127.0.0.1";
	struct MHD_Daemon *d2 = df_httpd_start(&o, handler, NULL, NULL, err, sizeof(err));
	CU_ASSERT_PTR_NULL(d2);
	if (d2)
		MHD_stop_daemon(d2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot listen on 127.0.0.1"));

	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo?q=a%%20b", port);
	const char *hdrs[] = { "X-Test: yes", NULL };
	struct df_http_request rq = { .method = "POST", .url = url, .headers = hdrs,
				      .body = "k=v", .body_len = 3,
				      .content_type = "application/x-www-form-urlencoded",
				      .timeout_ms = 5000 };
	struct df_http_response resp = { 0 };
	CU_ASSERT_EQUAL_FATAL(df_http_do(NULL, &rq, &resp, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 200);
	cJSON *j = cJSON_Parse(resp.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	UNIT_STR_EQ(df_json_str(j, "method"), "POST");
	UNIT_STR_EQ(df_json_str(j, "q"), "a b");
	UNIT_STR_EQ(df_json_str(j, "hdr"), "yes");
	UNIT_STR_EQ(df_json_str(j, "body"), "k=v");
	UNIT_STR_EQ(df_json_str(j, "IP"), "127.0.0.1"); /* keys match in any case */
	cJSON_Delete(j);
	df_http_response_cleanup(&resp);

	/* A reused handle, a 404, and a body over the server's cap. */
	CURL *h = df_curl_new();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/nothing", port);
	struct df_http_request get = { .url = url, .timeout_ms = 5000 };
	CU_ASSERT_EQUAL(df_http_do(h, &get, &resp, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp.body, "\"code\":404"));
	df_http_response_cleanup(&resp);
	char big[200];
	memset(big, 'b', sizeof(big));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", port);
	struct df_http_request post = { .method = "POST", .url = url, .body = big,
					.body_len = sizeof(big), .timeout_ms = 5000 };
	CU_ASSERT_EQUAL(df_http_do(h, &post, &resp, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 413);
	df_http_response_cleanup(&resp);

	/* The client's own cap on the response size. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/big", port);
	struct df_http_request capped = { .url = url, .timeout_ms = 5000, .max_body = 1000 };
	CU_ASSERT_EQUAL(df_http_do(h, &capped, &resp, err, sizeof(err)), -EFBIG);
	capped.max_body = 0;
	CU_ASSERT_EQUAL(df_http_do(h, &capped, &resp, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.len, 5000);
	df_http_response_cleanup(&resp);
	curl_easy_cleanup(h);

	MHD_stop_daemon(d);
	/* Nobody listens any more. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", port);
	struct df_http_request gone = { .url = url, .timeout_ms = 2000 };
	CU_ASSERT_EQUAL(df_http_do(NULL, &gone, &resp, err, sizeof(err)), -ECONNREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, url));
}

static void test_query_parse(void)
{
	struct df_query q;
	const char *text = "taskId=abc&cid=x%3Ay&empty=&flag&range=0-99&cid=second&sp=a+b";
	CU_ASSERT_EQUAL_FATAL(df_query_parse(text, strlen(text), 100, &q), 0);
	CU_ASSERT_EQUAL(q.count, 7);
	UNIT_STR_EQ(df_query_get(&q, "TASKID"), "abc");
	UNIT_STR_EQ(df_query_get(&q, "cid"), "x:y");
	UNIT_STR_EQ(df_query_get(&q, "empty"), "");
	UNIT_STR_EQ(df_query_get(&q, "flag"), "");
	UNIT_STR_EQ(df_query_get(&q, "sp"), "a b");
	CU_ASSERT_PTR_NULL(df_query_get(&q, "nope"));
	const char *all[4];
	CU_ASSERT_EQUAL(df_query_get_all(&q, "cid", all, 4), 2);
	UNIT_STR_EQ(all[1], "second");
	df_query_cleanup(&q);

	CU_ASSERT_EQUAL(df_query_parse("a=%zz", 5, 10, &q), -EINVAL);
	CU_ASSERT_EQUAL(df_query_parse("a=%00", 5, 10, &q), -EINVAL);
	CU_ASSERT_EQUAL(df_query_parse("a=1&b=2&c=3", 11, 2, &q), -E2BIG);
	CU_ASSERT_EQUAL(df_query_parse("&&", 2, 2, &q), 0);
	CU_ASSERT_EQUAL(q.count, 0);
	df_query_cleanup(&q);
}

static void test_url_escape(void)
{
	char *e = df_url_escape("a b/c?d=e&f~_.-");
	UNIT_STR_EQ(e, "a%20b%2Fc%3Fd%3De%26f~_.-");
	CU_ASSERT_TRUE(df_url_unescape_inplace(e));
	UNIT_STR_EQ(e, "a b/c?d=e&f~_.-");
	free(e);
	char bad[] = "%4";
	CU_ASSERT_FALSE(df_url_unescape_inplace(bad));
}

static void test_json_helpers(void)
{
	cJSON *j = cJSON_Parse("{\"n\":42,\"s\":\"17\",\"neg\":\"-3\",\"bad\":\"4x\","
			       "\"t\":true,\"ts\":\"false\",\"str\":\"v\",\"big\":5368709120}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	int64_t v;
	CU_ASSERT_TRUE(df_json_int(j, "n", &v) && v == 42);
	CU_ASSERT_TRUE(df_json_int(j, "s", &v) && v == 17);
	CU_ASSERT_TRUE(df_json_int(j, "neg", &v) && v == -3);
	CU_ASSERT_TRUE(df_json_int(j, "big", &v) && v == 5368709120LL);
	CU_ASSERT_FALSE(df_json_int(j, "bad", &v));
	CU_ASSERT_FALSE(df_json_int(j, "missing", &v));
	bool b;
	CU_ASSERT_TRUE(df_json_bool(j, "t", &b) && b);
	CU_ASSERT_TRUE(df_json_bool(j, "ts", &b) && !b);
	CU_ASSERT_FALSE(df_json_bool(j, "n", &b));
	UNIT_STR_EQ(df_json_str(j, "STR"), "v");
	CU_ASSERT_PTR_NULL(df_json_str(j, "n"));
	cJSON_Delete(j);

	cJSON *o = df_json_object();
	df_json_add_int(o, "fileLength", 5368709120LL);
	df_json_add_bool(o, "asSeed", false);
	df_json_add_str(o, "taskId", NULL);
	char *text = df_json_print(o);
	UNIT_STR_EQ(text, "{\"fileLength\":5368709120,\"asSeed\":false,\"taskId\":\"\"}");
	free(text);
	cJSON_Delete(o);
}

static void test_xalloc(void)
{
	char *s = xasprintf("%s-%d", "a", 7);
	UNIT_STR_EQ(s, "a-7");
	free(s);
	s = xstrndup("abcdef", 3);
	UNIT_STR_EQ(s, "abc");
	free(s);
	int *p = xcalloc(4, sizeof(int));
	CU_ASSERT_EQUAL(p[3], 0);
	p = xrealloc(p, 100 * sizeof(int));
	free(p);
	free(xmalloc(0));
	s = xstrdup(NULL);
	UNIT_STR_EQ(s, "");
	free(s);
}

static int suite_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : 1;
}

/* A panic of libmicrohttpd reaches our log (it printed only to stderr) and still aborts. */
static void test_panic_logged(void)
{
	char dir[] = "/tmp/df-test-panic-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof(path), "%s/panic.log", dir);
	pid_t pid = unit_fork_crasher();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		if (df_log_open(path) < 0)
			_exit(3);
		df_httpd_on_panic(NULL, "daemon.c", 42, "Close socket failed.");
	}
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_EQUAL(WIFSIGNALED(st) ? WTERMSIG(st) : -1, SIGABRT);
	char *text = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(df_read_file(path, 1 << 20, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "ERROR FATAL: libmicrohttpd stopped the process "
					    "(daemon.c:42): Close socket failed."));
	free(text);
	df_remove_tree(dir);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_panic_logged),
	UNIT_TEST(test_server_and_client), UNIT_TEST(test_query_parse),
	UNIT_TEST(test_url_escape),	   UNIT_TEST(test_json_helpers),
	UNIT_TEST(test_xalloc),
};

int main(void)
{
	if (suite_init() != 0)
		return 2;
	int rc = unit_main("http", tests, sizeof(tests) / sizeof(tests[0]));
	curl_global_cleanup();
	return rc;
}

/* Names and small formats of dfget: taskFileName and sign, which names the uploader may
 * serve, the sha256 a URL names, host.meta, the piece map, the supernode API's bodies and
 * replies, and the progress / outcome lines people see. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "dfget/progress.h"
#include "dfget/snapi.h"
#include "dfget/store.h"
#include "unit.h"
#include "xalloc.h"

static void test_names(void)
{
	char sign[64];
	dg_make_sign(sign, sizeof(sign));
	char pid[16];
	snprintf(pid, sizeof(pid), "%ld-", (long)getpid());
	CU_ASSERT_EQUAL(strncmp(sign, pid, strlen(pid)), 0);
	char other[64];
	dg_make_sign(other, sizeof(other));
	CU_ASSERT(strcmp(sign, other) != 0); /* two downloads of one process differ */

	static const struct {
		const char *output, *want;
	} rows[] = {
		{ "/tmp/a/file.tar.gz", "file.tar.gz-S" },
		{ "rel/x y$.bin", "x_y_.bin-S" },
		{ ".hidden", "_hidden-S" },
		{ "plain", "plain-S" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *n = dg_task_file_name(rows[i].output, "S");
		UNIT_STR_EQ(n, rows[i].want);
		CU_ASSERT_TRUE(dg_task_file_name_valid(n));
		free(n);
	}
	char long_name[300];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	char *n = dg_task_file_name(long_name, sign);
	CU_ASSERT(strlen(n) <= 80 + 1 + strlen(sign));
	CU_ASSERT_TRUE(dg_task_file_name_valid(n));
	free(n);

	static const char *const invalid[] = { "", ".", "..", "../x", "a/b", ".x", "a b",
					       "a%2fb", NULL };
	for (size_t i = 0; invalid[i]; i++)
		CU_ASSERT_FALSE(dg_task_file_name_valid(invalid[i]));
	CU_ASSERT_FALSE(dg_task_file_name_valid(long_name));
}

static void test_sha256_in_url(void)
{
	const char *hex = "AbCdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
	char want[65], got[65];
	for (int i = 0; i < 65; i++)
		want[i] = (char)(hex[i] >= 'A' && hex[i] <= 'Z' ? hex[i] + 32 : hex[i]);
	char url[256];
	snprintf(url, sizeof(url), "https://r.io/v2/lib/app/blobs/sha256:%s", hex);
	CU_ASSERT_TRUE(dg_sha256_from_url(url, got));
	UNIT_STR_EQ(got, want);
	snprintf(url, sizeof(url), "http://h/get?digest=sha256%%3A%s&x=1", hex);
	CU_ASSERT_TRUE(dg_sha256_from_url(url, got));
	UNIT_STR_EQ(got, want);
	/* too short, too long, none */
	CU_ASSERT_FALSE(dg_sha256_from_url("http://h/blobs/sha256:abcd", got));
	snprintf(url, sizeof(url), "http://h/blobs/sha256:%s0", hex);
	CU_ASSERT_FALSE(dg_sha256_from_url(url, got));
	CU_ASSERT_FALSE(dg_sha256_from_url("http://h/file.bin", got));
}

static void test_home_meta_map(void)
{
	char dir[] = "/tmp/dg-test-store-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	struct dg_home h;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(dg_home_init(&h, dir, true, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(access(h.data, W_OK), 0);
	CU_ASSERT_EQUAL(access(h.pieces, W_OK), 0);
	CU_ASSERT_EQUAL(access(h.logs, W_OK), 0);
	uint16_t port = 1;
	CU_ASSERT_EQUAL(dg_host_meta_read(h.host_meta, &port), -ENOENT);
	CU_ASSERT_EQUAL(dg_host_meta_write(h.host_meta, 15123), 0);
	CU_ASSERT_EQUAL(dg_host_meta_read(h.host_meta, &port), 0);
	CU_ASSERT_EQUAL(port, 15123);
	char *text = NULL;
	size_t len;
	CU_ASSERT_EQUAL(df_read_file(h.host_meta, 100, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "{\"servicePort\":15123}"));
	free(text);
	CU_ASSERT_EQUAL(df_write_file_atomic(h.host_meta, "junk", 4, 0644), 0);
	CU_ASSERT_EQUAL(dg_host_meta_read(h.host_meta, &port), -EINVAL);

	char map[300];
	snprintf(map, sizeof(map), "%s/t", h.pieces);
	int fd = open(map, O_RDWR | O_CREAT, 0644);
	bool has = true;
	CU_ASSERT_EQUAL(dg_piecemap_has(fd, 5, &has), 0);
	CU_ASSERT_FALSE(has);
	CU_ASSERT_EQUAL(dg_piecemap_mark(fd, 5), 0);
	CU_ASSERT_EQUAL(dg_piecemap_has(fd, 5, &has), 0);
	CU_ASSERT_TRUE(has);
	CU_ASSERT_EQUAL(dg_piecemap_has(fd, 4, &has), 0);
	CU_ASSERT_FALSE(has);
	close(fd);

	setenv("HOME", "/home/someone", 1);
	char *e = dg_expand_home("~/.small-dragonfly");
	UNIT_STR_EQ(e, "/home/someone/.small-dragonfly");
	free(e);
	e = dg_expand_home("~user/x");
	UNIT_STR_EQ(e, "~user/x");
	free(e);
	dg_home_cleanup(&h);
	df_remove_tree(dir);
}

static void test_snapi_bodies(void)
{
	const char *hdrs[] = { "Authorization: Bearer t", NULL };
	struct dg_reg_request rq = { .raw_url = "http://o/f?x=1", .task_url = "http://o/f",
				     .cid = "127.0.0.1-1-2", .ip = "127.0.0.1", .port = 15001,
				     .path = "/peer/file/f-1-2", .headers = hdrs,
				     .pattern = "p2p", .md5 = NULL };
	char *body = dg_reg_body(&rq);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"rawUrl\":\"http://o/f?x=1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"port\":15001"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"headers\":[\"Authorization: Bearer t\"]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"md5\":\"\""));
	free(body);

	struct dg_reg_reply rp;
	char err[256];
	CU_ASSERT_EQUAL(dg_reg_reply_parse("{\"code\":200,\"msg\":\"success\",\"data\":{\"taskId\":"
					   "\"abc\",\"fileLength\":100,\"pieceSize\":4194304}}",
					   &rp, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(rp.code, 200);
	UNIT_STR_EQ(rp.task_id, "abc");
	CU_ASSERT_EQUAL(rp.file_length, 100);
	CU_ASSERT_EQUAL(rp.piece_size, 4194304);
	CU_ASSERT_EQUAL(dg_reg_reply_parse("{\"code\":608,\"msg\":\"need auth\"}", &rp, err,
					   sizeof(err)),
			0);
	CU_ASSERT_EQUAL(rp.code, 608);
	UNIT_STR_EQ(rp.msg, "need auth");
	CU_ASSERT_EQUAL(dg_reg_reply_parse("<html>", &rp, err, sizeof(err)), -EPROTO);
	CU_ASSERT_EQUAL(dg_reg_reply_parse("{\"code\":200,\"data\":{}}", &rp, err, sizeof(err)),
			-EPROTO);

	struct dg_pull_reply pr;
	const char *cont =
		"{\"code\":601,\"data\":[{\"range\":\"0-4194303\",\"pieceNum\":0,\"pieceSize\":"
		"4194304,\"pieceMd5\":\"0123456789abcdef0123456789abcdef:4194304\",\"cid\":"
		"\"cdnnode:10.0.0.1~abc\",\"peerIp\":\"10.0.0.1\",\"peerPort\":8001,\"path\":"
		"\"/download/abc/abc\",\"downLink\":0},{\"range\":\"4194304-8388607\",\"pieceNum\":1,"
		"\"pieceSize\":4194304,\"pieceMd5\":\"\",\"cid\":\"10.0.0.2-5-6\",\"peerIp\":"
		"\"10.0.0.2\",\"peerPort\":15001,\"path\":\"/peer/file/f-5-6\"}]}";
	CU_ASSERT_EQUAL_FATAL(dg_pull_reply_parse(cont, &pr, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pr.code, 601);
	CU_ASSERT_EQUAL_FATAL(pr.ntasks, 2);
	CU_ASSERT_TRUE(pr.tasks[0].from_supernode);
	CU_ASSERT_EQUAL(pr.tasks[0].framed_len, 4194304);
	UNIT_STR_EQ(pr.tasks[0].md5, "0123456789abcdef0123456789abcdef");
	CU_ASSERT_FALSE(pr.tasks[1].from_supernode);
	CU_ASSERT_EQUAL(pr.tasks[1].num, 1);
	CU_ASSERT_EQUAL(pr.tasks[1].framed_len, -1);
	UNIT_STR_EQ(pr.tasks[1].path, "/peer/file/f-5-6");
	dg_pull_reply_cleanup(&pr);
	CU_ASSERT_EQUAL(dg_pull_reply_parse("{\"code\":600,\"data\":{\"md5\":"
					    "\"0123456789abcdef0123456789abcdef\",\"fileLength\":"
					    "20971550}}",
					    &pr, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(pr.code, 600);
	CU_ASSERT_EQUAL(pr.framed_length, 20971550);
	UNIT_STR_EQ(pr.md5, "0123456789abcdef0123456789abcdef");
	CU_ASSERT_EQUAL(dg_pull_reply_parse("{\"code\":602,\"msg\":\"wait\"}", &pr, err,
					    sizeof(err)),
			0);
	CU_ASSERT_EQUAL(pr.code, 602);
	/* a task with no peer or a bad md5 is a protocol error */
	CU_ASSERT_EQUAL(dg_pull_reply_parse("{\"code\":601,\"data\":[{\"range\":\"0-9\","
					    "\"pieceNum\":0,\"pieceSize\":10}]}",
					    &pr, err, sizeof(err)),
			-EPROTO);
	CU_ASSERT_EQUAL(dg_pull_reply_parse("{\"code\":601,\"data\":{}}", &pr, err, sizeof(err)),
			-EPROTO);

	struct dg_pull_request q = { "tid", "127.0.0.1-1-2", "", "", 502, 700 };
	char *url = dg_pull_url("sn:8002", &q);
	UNIT_STR_EQ(url, "http://sn:8002/peer/task?srcCid=127.0.0.1-1-2&dstCid=&range=&result=502"
			 "&status=700&taskId=tid");
	free(url);
}

static void test_progress_lines(void)
{
	struct dg_progress p = { .total = 1000LL << 20, .done = 450LL << 20,
				 .from_peers = 300LL << 20, .from_supernode = 150LL << 20,
				 .elapsed_us = 5000000 };
	char line[256];
	dg_progress_format(&p, 90.0 * (1 << 20), 100, line, sizeof(line));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "[=========>           ]"));
	/* the bar keeps its length whatever the numbers */
	char other[256];
	struct dg_progress q = p;
	q.done = 5;
	dg_progress_format(&q, 1.0, 100, other, sizeof(other));
	CU_ASSERT_EQUAL(strchr(line, ']') - line, strchr(other, ']') - other);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "  45%     450MB/1000MB         90MB/s  ETA 6s     "
					    "peers  66% sn  33% src   0%"));
	CU_ASSERT(strlen(line) <= 100);
	/* unknown size, narrow terminal: no bar, still the numbers */
	p.total = -1;
	dg_progress_format(&p, 0, 40, line, sizeof(line));
	CU_ASSERT_PTR_NULL(strchr(line, '['));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "450MB/?"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "ETA --"));

	dg_outcome_format("out.bin", 1LL << 30, 3200000, 900, 100, 0, false, line, sizeof(line));
	UNIT_STR_EQ(line, "dfget: downloaded out.bin (1GB) in 3.20s; 90% from peers");
	dg_outcome_format("o", 100, 10000, 0, 0, 100, true, line, sizeof(line));
	UNIT_STR_EQ(line, "dfget: downloaded o (100B) in 0.01s from the source");
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_names),
	UNIT_TEST(test_sha256_in_url),
	UNIT_TEST(test_home_meta_map),
	UNIT_TEST(test_snapi_bodies),
	UNIT_TEST(test_progress_lines),
};
UNIT_MAIN("dg_store", tests)

/* dfget pieces: the streaming unframer (table-driven over good and broken framings and
 * every way of splitting the stream), and piece fetch end to end against a real uploader
 * (`dfget server` run in a thread on a port it picked) serving a data file: verified
 * content lands at n * (pieceSize - 5), incomplete pieces are refused, a wrong md5 is
 * caught, traversal and local-only endpoints are refused, and /rate shares the host limit. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "dfget/fetch.h"
#include "fsutil.h"
#include "httpc.h"
#include "piece.h"
#include "dfget/store.h"
#include "timeutil.h"
#include "dfget/uplink.h"
#include "dfget/uploader.h"
#include "unit.h"
#include "xalloc.h"

#define PS (1 * 1024 * 1024) /* piece size of the tests: 1 MiB */

/* framed piece of content c[0..n) */
static unsigned char *frame(const unsigned char *c, size_t n, int32_t ps, size_t *len_r)
{
	unsigned char *f = xmalloc(n + 5);
	df_piece_header_encode((uint32_t)n, ps, f);
	memcpy(f + 4, c, n);
	f[n + 4] = 0x7f;
	*len_r = n + 5;
	return f;
}

struct collect {
	unsigned char buf[64];
	size_t len;
};

static int collect_sink(void *arg, const unsigned char *p, size_t n, int64_t off)
{
	struct collect *c = arg;
	if ((size_t)off != c->len || c->len + n > sizeof(c->buf))
		return -EINVAL;
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return 0;
}

static void test_unframe_table(void)
{
	static const unsigned char content[] = "hello piece";
	size_t n = sizeof(content) - 1, flen;
	unsigned char *good = frame(content, n, PS, &flen);
	static const struct {
		const char *name;
		int mutate; /* 0 none, 1 bad trailer, 2 wrong size, 3 extra byte, 4 cut, 5 bad head */
		int64_t expect;
		int want; /* 0 ok, else -EPROTO */
	} rows[] = {
		{ "good", 0, -1, 0 },
		{ "good with expected length", 0, 11, 0 },
		{ "wrong expected length", 0, 12, -EPROTO },
		{ "bad trailer", 1, -1, -EPROTO },
		{ "other piece size", 2, -1, -EPROTO },
		{ "byte after trailer", 3, -1, -EPROTO },
		{ "cut short", 4, -1, -EPROTO },
		{ "impossible header", 5, -1, -EPROTO },
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		unsigned char buf[64];
		size_t len = flen;
		memcpy(buf, good, flen);
		int32_t ps = PS;
		switch (rows[r].mutate) {
		case 1: buf[len - 1] = 0x7e; break;
		case 2: ps = 2 * PS; break;
		case 3: buf[len++] = 0x7f; break;
		case 4: len -= 3; break;
		case 5: buf[0] = 0xff; break;
		}
		/* every split point of the stream gives the same answer */
		for (size_t split = 0; split <= len; split++) {
			struct dg_unframe u;
			struct collect c = { .len = 0 };
			dg_unframe_init(&u, ps, rows[r].expect);
			int rc = dg_unframe_feed(&u, buf, split, collect_sink, &c);
			if (rc == 0)
				rc = dg_unframe_feed(&u, buf + split, len - split, collect_sink, &c);
			if (rc == 0)
				rc = dg_unframe_finish(&u);
			if (rc != rows[r].want)
				fprintf(stderr, "  row '%s' split %zu: rc %d (%s)\n", rows[r].name,
					split, rc, u.why);
			CU_ASSERT_EQUAL(rc, rows[r].want);
			if (rows[r].want == 0) {
				CU_ASSERT_EQUAL(c.len, n);
				CU_ASSERT_EQUAL(memcmp(c.buf, content, n), 0);
			} else {
				CU_ASSERT(u.why[0] != '\0');
			}
		}
	}
	free(good);
}

static void test_unframe_empty_piece(void)
{
	unsigned char buf[5];
	df_piece_header_encode(0, PS, buf);
	buf[4] = 0x7f;
	struct dg_unframe u;
	dg_unframe_init(&u, PS, 0);
	CU_ASSERT_EQUAL(dg_unframe_feed(&u, buf, 5, NULL, NULL), 0);
	CU_ASSERT_EQUAL(dg_unframe_finish(&u), 0);
}

/* ---------------------------------------------------------------- against a real uploader */

struct server {
	char home[64];
	pthread_t thread;
	volatile sig_atomic_t quit;
	uint16_t port;
	int rc;
	char err[256];
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct dg_uploader_opts o = { .home = s->home, .alive_ms = 60000, .expire_ms = 60000,
				      .threads = 2 };
	s->rc = dg_uploader_run(&o, &s->quit, s->err, sizeof(s->err));
	return NULL;
}

static void server_start(struct server *s)
{
	snprintf(s->home, sizeof(s->home), "/tmp/dg-test-up-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(s->home) != NULL);
	struct dg_home h;
	char err[256];
	CU_ASSERT_FATAL(dg_home_init(&h, s->home, true, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(pthread_create(&s->thread, NULL, server_main, s) == 0);
	/* wait, bounded, for host.meta to name the port */
	for (int i = 0; i < 400 && !s->port; i++) {
		uint16_t port = 0;
		if (dg_host_meta_read(h.host_meta, &port) == 0 && port)
			s->port = port;
		else
			df_sleep_ms(5);
	}
	dg_home_cleanup(&h);
	CU_ASSERT_FATAL(s->port != 0);
}

static void server_stop(struct server *s)
{
	s->quit = 1;
	pthread_join(s->thread, NULL);
	CU_ASSERT_EQUAL(s->rc, 0);
	df_remove_tree(s->home);
}

static long get(CURL *h, const char *url, const char *const *hdrs, char **body_r)
{
	struct df_http_request req = { .url = url, .headers = hdrs, .timeout_ms = 5000 };
	struct df_http_response resp;
	char err[256];
	if (df_http_do(h, &req, &resp, err, sizeof(err)) < 0)
		return -1;
	if (body_r)
		*body_r = resp.body;
	else
		free(resp.body);
	return resp.status;
}

static void task_for(struct dg_piece_task *t, int64_t n, const unsigned char *data,
		     int64_t len, uint16_t port, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->num = n;
	t->piece_size = PS;
	df_piece_range_format(n, PS, t->range, sizeof(t->range));
	int32_t clen = df_piece_content_len(len, PS, n);
	size_t flen;
	unsigned char *f = frame(data + df_piece_content_offset(PS, n), (size_t)clen, PS, &flen);
	df_md5_hex(f, flen, t->md5);
	t->framed_len = (int64_t)flen;
	free(f);
	t->cid = xstrdup("peer-cid");
	t->peer_ip = xstrdup("127.0.0.1");
	t->peer_port = port;
	t->path = xasprintf("/peer/file/%s", name);
}

static void test_fetch_from_uploader(void)
{
	struct server s;
	memset(&s, 0, sizeof(s));
	server_start(&s);
	const char *name = "blob-1-2-abc";
	int64_t len = 3 * (PS - 5) + 1000; /* four pieces, the last short */
	unsigned char *data = xmalloc((size_t)len);
	for (int64_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 + i / 1000);
	char path[256], map[256], out[256];
	snprintf(path, sizeof(path), "%s/data/%s", s.home, name);
	snprintf(map, sizeof(map), "%s/meta/pieces/%s", s.home, name);
	snprintf(out, sizeof(out), "%s/out", s.home);
	CU_ASSERT_FATAL(df_write_file_atomic(path, data, (size_t)len, 0644) == 0);
	int mfd = open(map, O_RDWR | O_CREAT, 0644);
	CU_ASSERT_FATAL(mfd >= 0);
	for (int n = 0; n < 3; n++) /* piece 3 is "still downloading" */
		dg_piecemap_mark(mfd, n);
	close(mfd);

	CURL *h = df_curl_new();
	char url[512], dd[300];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/check/%s", s.port, name);
	snprintf(dd, sizeof(dd), "dataDir: %s/data", s.home);
	const char *hdrs[] = { dd, "totalLimit: 0", NULL };
	char *body = NULL;
	CU_ASSERT_EQUAL(get(h, url, hdrs, &body), 200);
	CU_ASSERT_PTR_NOT_NULL(body && strstr(body, name));
	free(body);

	int ofd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
	atomic_bool stop = false;
	struct dg_fetcher *f = dg_fetcher_new(ofd, NULL, &stop);
	struct dg_fetch_result res;
	char err[512];
	for (int n = 2; n >= 0; n--) { /* out of order, as from several peers */
		struct dg_piece_task t;
		task_for(&t, n, data, len, s.port, name);
		int rc = dg_fetch_piece(f, &t, df_piece_content_len(len, PS, n), &res, err,
					sizeof(err));
		if (rc)
			fprintf(stderr, "  piece %d: %s\n", n, err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(res.content_len, PS - 5);
		dg_piece_task_cleanup(&t);
	}
	/* piece 3 is not complete on the uploader: refused as absent */
	struct dg_piece_task t3;
	task_for(&t3, 3, data, len, s.port, name);
	CU_ASSERT_EQUAL(dg_fetch_piece(f, &t3, 1000, &res, err, sizeof(err)), -EIO);
	CU_ASSERT_EQUAL(res.error, DG_FETCH_NOT_EXIST);
	/* once marked, it is served, trimmed to the file's end */
	mfd = open(map, O_RDWR);
	dg_piecemap_mark(mfd, 3);
	close(mfd);
	CU_ASSERT_EQUAL(dg_fetch_piece(f, &t3, 1000, &res, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(res.content_len, 1000);
	/* a cancelled fetcher stops (not a failure of the source) until uncancelled */
	dg_fetcher_cancel(f);
	CU_ASSERT_EQUAL(dg_fetch_piece(f, &t3, 1000, &res, err, sizeof(err)), -ECANCELED);
	CU_ASSERT_EQUAL(res.error, DG_FETCH_STOPPED);
	dg_fetcher_uncancel(f);
	CU_ASSERT_EQUAL(dg_fetch_piece(f, &t3, 1000, &res, err, sizeof(err)), 0);
	/* a wrong md5 is a mismatch */
	memcpy(t3.md5, "00000000000000000000000000000000", 32);
	CU_ASSERT_EQUAL(dg_fetch_piece(f, &t3, 1000, &res, err, sizeof(err)), -EPROTO);
	CU_ASSERT_EQUAL(res.error, DG_FETCH_MD5);
	dg_piece_task_cleanup(&t3);
	dg_fetcher_free(f);

	char *got = NULL;
	size_t glen = 0;
	CU_ASSERT_EQUAL(df_read_file(out, (size_t)len, &got, &glen), 0);
	CU_ASSERT_EQUAL(glen, (size_t)len);
	CU_ASSERT(got && memcmp(got, data, (size_t)len) == 0);
	free(got);
	close(ofd);

	/* traversal, unknown names, bad headers, local-only endpoints */
	const char *piece_hdrs[] = { "Range: bytes=0-1048575", "pieceNum: 0",
				     "pieceSize: 1048576", NULL };
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/peer/file/..%%2f..%%2fetc%%2fpasswd",
		 s.port);
	CU_ASSERT_EQUAL(get(h, url, piece_hdrs, NULL), 404);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/peer/file/unknown-file", s.port);
	CU_ASSERT_EQUAL(get(h, url, piece_hdrs, NULL), 404);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/peer/file/%s", s.port, name);
	const char *bad_hdrs[] = { "Range: bytes=5-1048575", "pieceNum: 0", "pieceSize: 1048576",
				   NULL };
	CU_ASSERT_EQUAL(get(h, url, bad_hdrs, NULL), 400);
	CU_ASSERT_EQUAL(get(h, url, NULL, NULL), 400);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/check/x", s.port);
	const char *etc_hdrs[] = { "dataDir: /etc", NULL };
	CU_ASSERT_EQUAL(get(h, url, etc_hdrs, NULL), 403);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/server/ping", s.port);
	CU_ASSERT_EQUAL(get(h, url, NULL, NULL), 200);

	/* /rate: no host limit, the ask comes back; with 8 MB shared by two, 4 MB each */
	int64_t rate = -1;
	CU_ASSERT_EQUAL(dg_uplink_rate(h, s.port, name, 20 << 20, &rate), 0);
	CU_ASSERT_EQUAL(rate, 20 << 20);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/check/other-1-2-x", s.port);
	const char *tl_hdrs[] = { "totalLimit: 8388608", NULL };
	CU_ASSERT_EQUAL(get(h, url, tl_hdrs, NULL), 200);
	CU_ASSERT_EQUAL(dg_uplink_rate(h, s.port, "other-1-2-x", 20 << 20, &rate), 0);
	CU_ASSERT_EQUAL(dg_uplink_rate(h, s.port, name, 20 << 20, &rate), 0);
	CU_ASSERT_EQUAL(rate, 4 << 20);
	CU_ASSERT_EQUAL(dg_uplink_finish(h, s.port, name, "tid", "cid", ""), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/server/stats", s.port);
	CU_ASSERT_EQUAL(get(h, url, NULL, &body), 200);
	CU_ASSERT_PTR_NOT_NULL(body && strstr(body, "\"uploadedPieces\":6"));
	free(body);
	curl_easy_cleanup(h);
	free(data);
	server_stop(&s);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_unframe_table),
	UNIT_TEST(test_unframe_empty_piece),
	UNIT_TEST(test_fetch_from_uploader),
};

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = unit_main("dg_piece", tests, sizeof(tests) / sizeof(tests[0]));
	curl_global_cleanup();
	return rc;
}

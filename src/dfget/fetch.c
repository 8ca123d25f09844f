/* Piece fetch and unframing (see fetch.h). A fetcher is owned by one worker thread; the
 * bucket it paces with is thread-safe; stop is an atomic read. */
#include "config.h"
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>

#include "digest.h"
#include "fsutil.h"
#include "httpc.h"
#include "log.h"
#include "piece.h"
#include "protocol.h"
#include "timeutil.h"
#include "xalloc.h"

void dg_unframe_init(struct dg_unframe *u, int32_t piece_size, int64_t expect_content)
{
	memset(u, 0, sizeof(*u));
	u->piece_size = piece_size;
	u->expect_content = expect_content;
}

static int unframe_head(struct dg_unframe *u)
{
	uint32_t clen = 0;
	int32_t psize = 0;
	if (!df_piece_header_decode(u->head, &clen, &psize)) {
		snprintf(u->why, sizeof(u->why), "bad piece header %02x %02x %02x %02x",
			 u->head[0], u->head[1], u->head[2], u->head[3]);
		return -EPROTO;
	}
	if (psize != u->piece_size) {
		snprintf(u->why, sizeof(u->why), "piece header says size %" PRId32 ", want %" PRId32,
			 psize, u->piece_size);
		return -EPROTO;
	}
	if (u->expect_content >= 0 && (int64_t)clen != u->expect_content) {
		snprintf(u->why, sizeof(u->why),
			 "piece header says %" PRIu32 " content bytes, want %" PRId64, clen,
			 u->expect_content);
		return -EPROTO;
	}
	u->content_len = clen;
	return 0;
}

int dg_unframe_feed(struct dg_unframe *u, const unsigned char *data, size_t len,
		    dg_content_fn sink, void *arg)
{
	while (len > 0) {
		if (u->head_len < DF_PIECE_HEAD_LEN) {
			u->head[u->head_len++] = *data++;
			len--;
			if (u->head_len == DF_PIECE_HEAD_LEN) {
				int rc = unframe_head(u);
				if (rc < 0)
					return rc;
			}
			continue;
		}
		int64_t want = (int64_t)u->content_len - u->content_got;
		if (want > 0) {
			size_t n = len < (uint64_t)want ? len : (size_t)want;
			int rc = sink ? sink(arg, data, n, u->content_got) : 0;
			if (rc < 0)
				return rc;
			u->content_got += (int64_t)n;
			data += n;
			len -= n;
			continue;
		}
		if (u->tail_seen) {
			snprintf(u->why, sizeof(u->why), "%zu bytes after the piece trailer", len);
			return -EPROTO;
		}
		if (*data != DF_PIECE_TRAILER) {
			snprintf(u->why, sizeof(u->why), "piece trailer is 0x%02x, not 0x7f", *data);
			return -EPROTO;
		}
		u->tail_seen = true;
		data++;
		len--;
	}
	return 0;
}

int dg_unframe_finish(struct dg_unframe *u)
{
	if (u->why[0])
		return -EPROTO;
	if (u->head_len < DF_PIECE_HEAD_LEN || u->content_got < (int64_t)u->content_len ||
	    !u->tail_seen) {
		snprintf(u->why, sizeof(u->why),
			 "piece cut short (%u header bytes, %" PRId64 " of %" PRIu32
			 " content bytes, trailer %s)",
			 u->head_len, u->content_got, u->content_len, u->tail_seen ? "seen" : "missing");
		return -EPROTO;
	}
	return 0;
}

struct dg_fetcher {
	CURL *curl;
	int fd;
	struct df_bucket *bucket;
	const atomic_bool *stop;
	atomic_bool cancel; /* dg_fetcher_cancel */
	unsigned char *buf; /* DG_FETCH_CHUNK bytes of content waiting for pwrite */
};

struct dg_fetcher *dg_fetcher_new(int fd, struct df_bucket *bucket, const atomic_bool *stop)
{
	struct dg_fetcher *f = xcalloc(1, sizeof(*f));
	f->curl = df_curl_new();
	f->fd = fd;
	f->bucket = bucket;
	f->stop = stop;
	f->buf = xmalloc(DG_FETCH_CHUNK);
	return f;
}

void dg_fetcher_free(struct dg_fetcher *f)
{
	if (!f)
		return;
	curl_easy_cleanup(f->curl);
	free(f->buf);
	free(f);
}

void *dg_fetcher_curl(struct dg_fetcher *f)
{
	return f->curl;
}

void dg_fetcher_cancel(struct dg_fetcher *f)
{
	atomic_store(&f->cancel, true);
}

void dg_fetcher_uncancel(struct dg_fetcher *f)
{
	atomic_store(&f->cancel, false);
}

static bool stopping(const struct dg_fetcher *f)
{
	return atomic_load(f->stop) || atomic_load(&f->cancel);
}

/* One transfer in progress. */
/* How long a piece's first byte may take: generous for a paced uploader (its first chunk
 * waits at most for the host bucket's debt), short against a peer that hangs. */
#define FIRST_BYTE_US (5 * 1000000)

struct xfer {
	struct dg_fetcher *f;
	struct dg_unframe u;
	struct df_digest md5;
	int64_t base;	 /* file offset of the piece's content */
	size_t buf_len;	 /* bytes waiting in f->buf */
	int64_t buf_off; /* content offset of f->buf[0] */
	int64_t framed_got;
	int err;	 /* first error: -EPROTO (framing) or a write error */
	bool stopped;
	bool silent;	  /* no byte of the piece came within FIRST_BYTE_US */
	int64_t start_us; /* when the request started */
	long status;
	char errbody[256]; /* start of a non-2xx body */
	size_t errbody_len;
};

static int flush(struct xfer *x)
{
	if (x->buf_len == 0)
		return 0;
	int rc = df_pwrite_all(x->f->fd, x->f->buf, x->buf_len, (off_t)(x->base + x->buf_off));
	x->buf_off += (int64_t)x->buf_len;
	x->buf_len = 0;
	return rc;
}

static int sink(void *arg, const unsigned char *p, size_t n, int64_t off)
{
	struct xfer *x = arg;
	(void)off; /* content arrives in order: off == buf_off + buf_len */
	if (x->buf_len == 0 && n >= DG_FETCH_CHUNK / 4) {
		/* big enough to write as it is, without a copy */
		int rc = df_pwrite_all(x->f->fd, p, n, (off_t)(x->base + x->buf_off));
		x->buf_off += (int64_t)n;
		return rc;
	}
	while (n > 0) {
		size_t room = DG_FETCH_CHUNK - x->buf_len;
		size_t k = n < room ? n : room;
		memcpy(x->f->buf + x->buf_len, p, k);
		x->buf_len += k;
		p += k;
		n -= k;
		if (x->buf_len == DG_FETCH_CHUNK) {
			int rc = flush(x);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Wait for the bucket, in slices, so that stop is noticed. */
static bool pace(struct xfer *x, size_t n)
{
	if (!x->f->bucket)
		return true;
	int64_t wait = df_bucket_take(x->f->bucket, (int64_t)n);
	while (wait > 0) {
		if (stopping(x->f))
			return false;
		int64_t slice = wait < 100000 ? wait : 100000;
		df_sleep_us(slice);
		wait -= slice;
	}
	return true;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;
	if (stopping(x->f)) {
		x->stopped = true;
		return 0;
	}
	if (x->status == 0)
		curl_easy_getinfo(x->f->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status != 200 && x->status != 206) {
		size_t k = sizeof(x->errbody) - 1 - x->errbody_len;
		k = n < k ? n : k;
		memcpy(x->errbody + x->errbody_len, ptr, k);
		x->errbody_len += k;
		x->errbody[x->errbody_len] = '\0';
		return n;
	}
	if (!pace(x, n)) {
		x->stopped = true;
		return 0;
	}
	df_digest_update(&x->md5, ptr, n);
	x->framed_got += (int64_t)n;
	int rc = dg_unframe_feed(&x->u, (const unsigned char *)ptr, n, sink, x);
	if (rc < 0) {
		x->err = rc;
		return 0;
	}
	return n;
}

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = clientp;
	(void)dltotal, (void)ultotal, (void)ulnow;
	if (stopping(x->f)) {
		x->stopped = true;
		return 1;
	}
	/* A peer that accepts the connection but never sends (stopped, hung) is given up
	 * quickly; once bytes flow, only a long stall (LOW_SPEED_TIME) ends the transfer. */
	if (dlnow == 0 && df_mono_us() - x->start_us > FIRST_BYTE_US) {
		x->silent = true;
		return 1;
	}
	return 0;
}

static void setup(struct dg_fetcher *f, struct xfer *x, const char *url,
		  struct curl_slist *hdrs, char *errbuf)
{
	CURL *h = f->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "dragonfly-c/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)DG_FETCH_CHUNK);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	/* A peer that stops sending for 20 s is given up (rate pacing never gets that slow
	 * within one read: the bucket is consulted per chunk). */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 20L);
}

static int classify(struct xfer *x, CURLcode cc, const struct dg_piece_task *t,
		    struct dg_fetch_result *res, const char *url, const char *errbuf, char *err,
		    size_t errsz)
{
	if (x->silent) {
		res->error = DG_FETCH_FAILED;
		snprintf(err, errsz, "%s: no data within %d s", url, FIRST_BYTE_US / 1000000);
		return -ETIMEDOUT;
	}
	if (x->stopped) {
		res->error = DG_FETCH_STOPPED;
		snprintf(err, errsz, "stopped");
		return -ECANCELED;
	}
	if (x->err == -EPROTO) {
		res->error = DG_FETCH_MD5;
		snprintf(err, errsz, "%s: %s", url, x->u.why);
		return -EPROTO;
	}
	if (x->err < 0) {
		res->error = DG_FETCH_LOCAL;
		snprintf(err, errsz, "writing piece %" PRId64 ": %s", t->num, strerror(-x->err));
		return x->err;
	}
	if (cc != CURLE_OK) {
		/* A peer that refuses connections has nothing for us (it died without telling
		 * the supernode): say so, so that the supernode stops sending others there. */
		res->error = cc == CURLE_COULDNT_CONNECT ? DG_FETCH_NOT_EXIST : DG_FETCH_FAILED;
		snprintf(err, errsz, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return df_curl_errno(cc);
	}
	if (res->http_status != 200 && res->http_status != 206) {
		res->error = res->http_status == 404 || res->http_status == 416
				     ? DG_FETCH_NOT_EXIST
				     : DG_FETCH_FAILED;
		snprintf(err, errsz, "%s: HTTP %ld %.120s", url, res->http_status, x->errbody);
		return -EIO;
	}
	if (dg_unframe_finish(&x->u) < 0) {
		res->error = DG_FETCH_MD5;
		snprintf(err, errsz, "%s: %s", url, x->u.why);
		return -EPROTO;
	}
	if ((t->md5[0] && strcmp(res->real_md5, t->md5) != 0) ||
	    (t->framed_len >= 0 && t->framed_len != x->framed_got)) {
		res->error = DG_FETCH_MD5;
		snprintf(err, errsz, "%s: piece %" PRId64 " md5 %s:%" PRId64 ", want %s:%" PRId64,
			 url, t->num, res->real_md5, x->framed_got, t->md5, t->framed_len);
		return -EPROTO;
	}
	res->error = DG_FETCH_OK;
	/* Start writing the piece to disk now, so that the one fsync at the end finds little
	 * left to do. */
	if (x->u.content_got > 0)
		sync_file_range(x->f->fd, (off_t)x->base, (off_t)x->u.content_got,
				SYNC_FILE_RANGE_WRITE);
	return 0;
}

int dg_fetch_piece(struct dg_fetcher *f, const struct dg_piece_task *t, int64_t expect_content,
		   struct dg_fetch_result *res, char *err, size_t errsz)
{
	int64_t t0 = df_mono_us();
	memset(res, 0, sizeof(*res));
	struct xfer x;
	memset(&x, 0, sizeof(x));
	x.f = f;
	x.start_us = t0;
	x.base = df_piece_content_offset(t->piece_size, t->num);
	dg_unframe_init(&x.u, t->piece_size, expect_content);
	df_digest_init(&x.md5, DF_DIGEST_MD5);

	bool v6 = strchr(t->peer_ip, ':') != NULL;
	char *url = xasprintf(v6 ? "http://[%s]:%d%s" : "http://%s:%d%s", t->peer_ip,
			      t->peer_port, t->path);
	char h_range[80], h_num[48], h_size[48];
	snprintf(h_range, sizeof(h_range), "Range: bytes=%s", t->range);
	snprintf(h_num, sizeof(h_num), DF_HDR_PIECE_NUM ": %" PRId64, t->num);
	snprintf(h_size, sizeof(h_size), DF_HDR_PIECE_SIZE ": %" PRId32, t->piece_size);
	const char *hl[] = { h_range, h_num, h_size, NULL };
	struct curl_slist *hdrs = df_curl_headers(NULL, hl);
	char errbuf[CURL_ERROR_SIZE] = "";
	setup(f, &x, url, hdrs, errbuf);

	CURLcode cc = curl_easy_perform(f->curl);
	if (x.status == 0)
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &x.status);
	res->http_status = x.status;
	if (x.err == 0 && !x.stopped) {
		int rc = flush(&x);
		if (rc < 0)
			x.err = rc;
	}
	df_digest_final_hex(&x.md5, res->real_md5);
	res->framed_len = x.framed_got;
	res->content_len = x.u.content_got;
	int result = classify(&x, cc, t, res, url, errbuf, err, errsz);
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	free(url);
	res->elapsed_us = df_mono_us() - t0;
	return result;
}

/* Streaming forwarder over libcurl's multi interface (see forward.h). Everything runs on
 * the thread that owns the struct dd_fwd: no locks. */
#include "config.h"
#include "forward.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc.h"
#include "timeutil.h"
#include "xalloc.h"

#define BUF_HIGH (1 << 20) /* pause the transfer above this much buffered */
#define POLL_MS 500

struct hdr {
	char *name;
	char *value;
};

struct dd_fwd {
	CURL *h;
	CURLM *m;
	struct curl_slist *hdrs;
	int64_t timeout_us;
	long status;
	struct hdr *v;
	size_t nv;
	bool headers_done;
	bool done;	  /* the transfer ended */
	CURLcode result;
	bool paused;
	char *buf;	  /* body bytes received, not yet read: buf[off, len) */
	size_t len, off, cap;
	char errbuf[CURL_ERROR_SIZE];
};

static void clear_headers(struct dd_fwd *f)
{
	for (size_t i = 0; i < f->nv; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	f->v = NULL;
	f->nv = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct dd_fwd *f = arg;
	size_t n = size * nmemb, len = n;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len == 0) {
		if (f->status >= 200)
			f->headers_done = true;
		return n;
	}
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		clear_headers(f);
		const char *sp = memchr(data, ' ', len);
		f->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon || colon == data)
		return n;
	const char *val = colon + 1;
	while (val < data + len && (*val == ' ' || *val == '\t'))
		val++;
	f->v = xrealloc(f->v, (f->nv + 1) * sizeof(*f->v));
	f->v[f->nv].name = xstrndup(data, (size_t)(colon - data));
	f->v[f->nv].value = xstrndup(val, (size_t)(data + len - val));
	f->nv++;
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct dd_fwd *f = arg;
	size_t n = size * nmemb;
	f->headers_done = true;
	if (f->len - f->off >= BUF_HIGH) {
		f->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (f->off > 0 && f->off == f->len)
		f->off = f->len = 0;
	if (f->len + n > f->cap) {
		if (f->off > 0) {
			memmove(f->buf, f->buf + f->off, f->len - f->off);
			f->len -= f->off;
			f->off = 0;
		}
		if (f->len + n > f->cap) {
			f->cap = f->len + n + 65536;
			f->buf = xrealloc(f->buf, f->cap);
		}
	}
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return n;
}

/* One round of the multi loop: perform, note the end, wait for the sockets. */
static void step(struct dd_fwd *f, int wait_ms)
{
	int running = 0;
	curl_multi_perform(f->m, &running);
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(f->m, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE) {
			f->done = true;
			f->result = msg->data.result;
		}
	}
	/* Wait for the sockets only when this round brought nothing the caller wants. */
	bool progress = f->headers_done && f->off < f->len;
	if (!f->done && running && wait_ms > 0 && !progress && !(f->headers_done && f->paused))
		curl_multi_poll(f->m, NULL, 0, wait_ms, NULL);
}

static void set_method(CURL *h, const struct dd_fwd_req *req)
{
	const char *m = req->method ? req->method : "GET";
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		return;
	}
	if (req->body || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
	}
	if (strcmp(m, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(m, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
}

static void set_tls(CURL *h, const struct dd_fwd_req *req)
{
	if (req->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->cacerts && *req->cacerts) {
		char *first = xstrndup(req->cacerts, strcspn(req->cacerts, ","));
		curl_easy_setopt(h, CURLOPT_CAINFO, first);
		free(first);
	}
}

static struct dd_fwd *fwd_new(const struct dd_fwd_req *req)
{
	struct dd_fwd *f = xcalloc(1, sizeof(*f));
	f->timeout_us = (req->timeout_ms > 0 ? req->timeout_ms : 30000) * 1000;
	f->h = df_curl_new();
	f->m = curl_multi_init();
	if (!f->m)
		abort();
	CURL *h = f->h;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(f->timeout_us / 1000));
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	f->hdrs = df_curl_headers(NULL, req->headers);
	f->hdrs = curl_slist_append(f->hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, f->hdrs);
	set_method(h, req);
	set_tls(h, req);
	curl_multi_add_handle(f->m, h);
	return f;
}

int dd_fwd_open(const struct dd_fwd_req *req, struct dd_fwd **fwd_r, char *err, size_t errsz)
{
	struct dd_fwd *f = fwd_new(req);
	int64_t deadline = df_mono_us() + f->timeout_us;
	while (!f->headers_done && !f->done) {
		if (df_mono_us() > deadline) {
			snprintf(err, errsz, "%s did not answer in %lld ms", req->url,
				 (long long)(f->timeout_us / 1000));
			dd_fwd_free(f);
			return -ETIMEDOUT;
		}
		step(f, POLL_MS);
	}
	if (f->done && f->result != CURLE_OK && (!f->headers_done || f->status == 0)) {
		int rc = df_curl_errno(f->result);
		snprintf(err, errsz, "%s: %s", req->url,
			 f->errbuf[0] ? f->errbuf : curl_easy_strerror(f->result));
		dd_fwd_free(f);
		return rc < 0 ? rc : -EIO;
	}
	*fwd_r = f;
	return 0;
}

long dd_fwd_status(const struct dd_fwd *f)
{
	return f->status;
}

int64_t dd_fwd_length(const struct dd_fwd *f)
{
	const char *v = dd_fwd_header(f, "Content-Length");
	if (!v)
		return -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	return end == v || n < 0 ? -1 : (int64_t)n;
}

size_t dd_fwd_header_count(const struct dd_fwd *f)
{
	return f->nv;
}

const char *dd_fwd_header_at(const struct dd_fwd *f, size_t i, const char **value_r)
{
	*value_r = f->v[i].value;
	return f->v[i].name;
}

const char *dd_fwd_header(const struct dd_fwd *f, const char *name)
{
	for (size_t i = 0; i < f->nv; i++)
		if (strcasecmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	return NULL;
}

ssize_t dd_fwd_read(struct dd_fwd *f, char *buf, size_t max)
{
	int64_t deadline = df_mono_us() + f->timeout_us;
	while (f->off == f->len) {
		if (f->done) {
			if (f->result == CURLE_OK)
				return 0;
			int rc = df_curl_errno(f->result);
			return rc < 0 ? rc : -EIO;
		}
		if (f->paused) {
			f->paused = false;
			curl_easy_pause(f->h, CURLPAUSE_CONT);
			continue;
		}
		if (df_mono_us() > deadline)
			return -ETIMEDOUT;
		step(f, POLL_MS);
	}
	size_t n = f->len - f->off;
	if (n > max)
		n = max;
	memcpy(buf, f->buf + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

int dd_fwd_skip(struct dd_fwd *f, int64_t n)
{
	char tmp[65536];
	while (n > 0) {
		ssize_t r = dd_fwd_read(f, tmp, n < (int64_t)sizeof(tmp) ? (size_t)n : sizeof(tmp));
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		n -= r;
	}
	return 0;
}

void dd_fwd_free(struct dd_fwd *f)
{
	if (!f)
		return;
	curl_multi_remove_handle(f->m, f->h);
	curl_easy_cleanup(f->h);
	curl_multi_cleanup(f->m);
	curl_slist_free_all(f->hdrs);
	clear_headers(f);
	free(f->buf);
	free(f);
}

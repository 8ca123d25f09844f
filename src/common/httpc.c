#include "config.h"
#include "httpc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

CURL *df_curl_new(void)
{
	CURL *h = curl_easy_init();
	if (!h) {
		log_error("curl_easy_init failed: out of memory");
		abort();
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "dragonfly-c/" PACKAGE_VERSION);
	return h;
}

struct curl_slist *df_curl_headers(struct curl_slist *list, const char *const *headers)
{
	for (size_t i = 0; headers && headers[i]; i++) {
		struct curl_slist *n = curl_slist_append(list, headers[i]);
		if (!n) {
			log_error("curl_slist_append: out of memory");
			abort();
		}
		list = n;
	}
	return list;
}

int df_curl_errno(CURLcode code)
{
	switch (code) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_WRITE_ERROR:
		return -EIO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

struct sink {
	char *data;
	size_t len, cap, max;
	bool overflow;
};

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	if (s->len + n > s->max) {
		s->overflow = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + n + 1)
			cap *= 2;
		s->data = xrealloc(s->data, cap);
		s->cap = cap;
	}
	memcpy(s->data + s->len, ptr, n);
	s->len += n;
	return n;
}

int df_http_do(CURL *handle, const struct df_http_request *req,
	       struct df_http_response *resp_r, char *err, size_t errsz)
{
	CURL *h = handle ? handle : df_curl_new();
	if (handle) {
		curl_easy_reset(h);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "dragonfly-c/" PACKAGE_VERSION);
	}
	struct sink sink = { .max = req->max_body ? req->max_body : 16u << 20 };
	struct curl_slist *hdrs = df_curl_headers(NULL, req->headers);
	char ctype[256];
	if (req->body && req->content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", req->content_type);
		hdrs = df_curl_headers(hdrs, (const char *const[]){ ctype, NULL });
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (req->timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->connect_timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (req->method && strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (req->method && strcmp(req->method, "GET") != 0 &&
		 !(req->body && strcmp(req->method, "POST") == 0))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);

	CURLcode cc = curl_easy_perform(h);
	int result = 0;
	if (sink.overflow) {
		snprintf(err, errsz, "%s: response larger than %zu bytes", req->url, sink.max);
		result = -EFBIG;
	} else if (cc != CURLE_OK) {
		snprintf(err, errsz, "%s: %s", req->url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		result = df_curl_errno(cc);
	}
	if (result == 0) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp_r->status);
		if (!sink.data)
			sink.data = xcalloc(1, 1);
		sink.data[sink.len] = '\0';
		resp_r->body = sink.data;
		resp_r->len = sink.len;
		sink.data = NULL;
	}
	free(sink.data);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	if (!handle)
		curl_easy_cleanup(h);
	return result;
}

void df_http_response_cleanup(struct df_http_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

char *df_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s);
	char *out = xmalloc(len * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool df_url_unescape_inplace(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			*o++ = (char)(hi << 4 | lo);
			p += 2;
		} else if (*p == '+') {
			*o++ = ' ';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return true;
}

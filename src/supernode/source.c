/* source: libcurl requests to sources (see source.h). No shared state. */
#include "config.h"
#include "source.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "httpc.h"
#include "protocol.h"
#include "xalloc.h"

void sn_source_info_cleanup(struct sn_source_info *info)
{
	free(info->etag);
	free(info->last_modified);
	memset(info, 0, sizeof(*info));
	info->length = info->body_length = -1;
}

struct xfer {
	struct sn_source_info info;
	sn_source_body_fn fn;
	void *user;
	CURL *h;
	bool headers_done;
	bool stop_after_headers; /* a probe: read no body */
	bool stopped;		 /* ... and it stopped there, on purpose */
	int cb_rc;		 /* the callback's abort reason */
};

static char *trimmed(const char *v, size_t len)
{
	while (len && isspace((unsigned char)*v)) {
		v++;
		len--;
	}
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	return xstrndup(v, len);
}

/* "bytes a-b/total" or "bytes * /total" (without the space). */
static void parse_content_range(struct sn_source_info *in, const char *v)
{
	int64_t a, b, total;
	if (sscanf(v, " bytes %" SCNd64 "-%" SCNd64 "/%" SCNd64, &a, &b, &total) == 3) {
		in->range_start = a;
		in->length = total;
	} else if (sscanf(v, " bytes */%" SCNd64, &total) == 1) {
		in->length = total;
	}
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nitems;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) { /* a new answer (after a redirect) */
		long keep_status = 0;
		sn_source_info_cleanup(&x->info);
		sscanf(buf, "HTTP/%*s %ld", &keep_status);
		x->info.status = keep_status;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t klen = (size_t)(colon - buf);
	char *v = trimmed(colon + 1, len - klen - 1);
	if (klen == 4 && strncasecmp(buf, "ETag", 4) == 0) {
		free(x->info.etag);
		x->info.etag = v;
		v = NULL;
	} else if (klen == 13 && strncasecmp(buf, "Last-Modified", 13) == 0) {
		free(x->info.last_modified);
		x->info.last_modified = v;
		v = NULL;
	} else if (klen == 14 && strncasecmp(buf, "Content-Length", 14) == 0) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (*v && !*end && n >= 0)
			x->info.body_length = n;
	} else if (klen == 13 && strncasecmp(buf, "Content-Range", 13) == 0) {
		parse_content_range(&x->info, v);
	}
	free(v);
	return len;
}

/* The headers are complete: fill in what they imply, tell the callback once. */
static int headers_complete(struct xfer *x)
{
	if (x->headers_done)
		return x->cb_rc;
	x->headers_done = true;
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	x->info.status = status;
	if (status == 200 && x->info.length < 0)
		x->info.length = x->info.body_length;
	if (x->fn)
		x->cb_rc = x->fn(x->user, &x->info, NULL, 0);
	return x->cb_rc;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;
	if (headers_complete(x) < 0)
		return 0;
	if (x->stop_after_headers) {
		x->stopped = true;
		return 0;
	}
	if (x->fn && len) {
		x->cb_rc = x->fn(x->user, &x->info, ptr, len);
		if (x->cb_rc < 0)
			return 0;
	}
	return len;
}

/* Progress callback: end the transfer when the supernode stops. */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	atomic_bool *cancel = clientp;
	return cancel && atomic_load(cancel) ? 1 : 0;
}

/* Trusted CAs: from memory when this curl can, else from a file written beside us. */
static int set_cas(CURL *h, const struct sn_source_req *req, char *err, size_t errsz)
{
	if (!req->ca_pem || !req->ca_len)
		return 0;
	struct curl_blob blob = { (void *)(uintptr_t)req->ca_pem, req->ca_len, CURL_BLOB_COPY };
	if (curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob) == CURLE_OK)
		return 0;
	if (!req->ca_file) {
		snprintf(err, errsz, "cannot use the task's root CAs (no file for them)");
		return -EINVAL;
	}
	int rc = df_write_file_atomic(req->ca_file, req->ca_pem, req->ca_len, 0600);
	if (rc < 0) {
		snprintf(err, errsz, "cannot write the task's root CAs to %s: %s", req->ca_file,
			 strerror(-rc));
		return rc;
	}
	curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	return 0;
}

static struct curl_slist *build_headers(const struct sn_source_req *req, bool probe_range)
{
	struct curl_slist *l = df_curl_headers(NULL, req->headers);
	char line[512];
	bool task_range = false;
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		task_range |= strncasecmp(req->headers[i], "Range:", 6) == 0;
	if (req->if_none_match) {
		snprintf(line, sizeof(line), "If-None-Match: %.400s", req->if_none_match);
		l = df_curl_headers(l, (const char *const[]){ line, NULL });
	}
	if (req->if_modified_since) {
		snprintf(line, sizeof(line), "If-Modified-Since: %.400s", req->if_modified_since);
		l = df_curl_headers(l, (const char *const[]){ line, NULL });
	}
	if (!task_range && probe_range)
		l = df_curl_headers(l, (const char *const[]){ "Range: bytes=0-0", NULL });
	else if (!task_range && req->range_from >= 0) {
		snprintf(line, sizeof(line), "Range: bytes=%" PRId64 "-", req->range_from);
		l = df_curl_headers(l, (const char *const[]){ line, NULL });
		if (req->if_range) {
			snprintf(line, sizeof(line), "If-Range: %.400s", req->if_range);
			l = df_curl_headers(l, (const char *const[]){ line, NULL });
		}
	}
	/* Content as stored: never a compressed variant. */
	l = df_curl_headers(l, (const char *const[]){ "Accept-Encoding: identity", NULL });
	return l;
}

/* Run one request. head: HEAD; probe_range: GET bytes=0-0 and stop at the headers. */
static int perform(const struct sn_source_req *req, bool head, bool probe_range,
		   sn_source_body_fn fn, void *user, struct sn_source_info *info_r, char *err,
		   size_t errsz)
{
	struct xfer x = { .fn = fn, .user = user, .stop_after_headers = head || probe_range };
	sn_source_info_cleanup(&x.info);
	CURL *h = df_curl_new();
	x.h = h;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = build_headers(req, probe_range);
	int rc = set_cas(h, req, err, errsz);
	if (rc < 0)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	if (req->total_timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->total_timeout_ms);
	if (req->stall_timeout_ms > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
				 req->stall_timeout_ms >= 2000 ? req->stall_timeout_ms / 1000 : 1L);
	}
	if (req->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (head)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (req->cancel) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, req->cancel);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && x.stopped)) {
		rc = headers_complete(&x);
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		rc = -ECANCELED;
		snprintf(err, errsz, "stopped");
	} else if (cc == CURLE_WRITE_ERROR && x.cb_rc < 0) {
		rc = x.cb_rc;
		snprintf(err, errsz, "%s", strerror(-rc));
	} else {
		rc = df_curl_errno(cc);
		snprintf(err, errsz, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
	}
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	*info_r = x.info;
	return rc;
}

int sn_source_probe(const struct sn_source_req *req, struct sn_source_info *info_r, char *err,
		    size_t errsz)
{
	bool task_range = false;
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		task_range |= strncasecmp(req->headers[i], "Range:", 6) == 0;
	if (task_range) { /* the length is that of the task's range: ask with it, read no body */
		int rc = perform(req, false, true, NULL, NULL, info_r, err, errsz);
		if (rc == 0 && info_r->status == 206)
			info_r->length = info_r->body_length;
		return rc;
	}
	int rc = perform(req, true, false, NULL, NULL, info_r, err, errsz);
	if (rc < 0)
		return rc;
	long s = info_r->status;
	if (s != 400 && s != 403 && s != 405 && s != 501)
		return 0;
	/* HEAD refused: a one-byte GET, whose Content-Range carries the total. */
	sn_source_info_cleanup(info_r);
	rc = perform(req, false, true, NULL, NULL, info_r, err, errsz);
	if (rc == 0 && info_r->status == 206)
		info_r->status = 200;
	else if (rc == 0 && info_r->status == 416 && info_r->length == 0)
		info_r->status = 200; /* an empty resource */
	return rc;
}

int sn_source_get(const struct sn_source_req *req, sn_source_body_fn fn, void *user,
		  struct sn_source_info *info_r, char *err, size_t errsz)
{
	return perform(req, false, false, fn, user, info_r, err, errsz);
}

int sn_source_code(int rc, long status)
{
	if (rc == -ECONNREFUSED || rc == -EHOSTUNREACH || rc == -ETIMEDOUT)
		return DF_CODE_URL_NOT_REACHABLE;
	if (rc < 0)
		return DF_CODE_SOURCE_ERROR;
	if (status == 404 || status == 410)
		return DF_CODE_URL_NOT_REACHABLE;
	if (status == 401 || status == 407)
		return DF_CODE_NEED_AUTH;
	return DF_CODE_SOURCE_ERROR;
}

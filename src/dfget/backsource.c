/* Direct download from the source (see backsource.h). Everything runs on the calling
 * thread, including libcurl's callbacks, so the progress callback may be called from
 * them. No shared state besides the job's atomics. */
#include "config.h"
#include "backsource.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "httpc.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

#define BUF_SIZE (256 * 1024)

struct bs {
	struct dg_job *job;
	CURL *h;
	int fd;
	unsigned char *buf;
	size_t buf_len;
	int64_t written;
	struct df_digest md5, sha;
	bool sha_on;
	long status;
	int64_t length; /* Content-Length of a 200, -1 unknown */
	int err;	/* first local error */
	char why[256];
};

static int flush(struct bs *b)
{
	if (!b->buf_len)
		return 0;
	int rc = df_write_all(b->fd, b->buf, b->buf_len);
	b->buf_len = 0;
	return rc;
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct bs *b = userdata;
	size_t n = size * nitems;
	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		b->length = -1;
		b->status = 0;
	}
	if (n > 15 && strncasecmp(ptr, "Content-Length:", 15) == 0)
		b->length = strtoll(ptr + 15, NULL, 10);
	if (n <= 2 && (ptr[0] == '\r' || ptr[0] == '\n')) {
		curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &b->status);
		if (b->status == 200 && b->length >= 0 && b->job->total < 0) {
			char why[256];
			int rc = dg_job_set_length(b->job, b->length, NULL, why, sizeof(why));
			if (rc < 0) {
				b->err = rc;
				snprintf(b->why, sizeof(b->why), "%s", why);
				return 0;
			}
			b->job->total = b->length;
		}
	}
	return n;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct bs *b = userdata;
	size_t n = size * nmemb;
	if (b->status != 200)
		return n; /* the error page is dropped */
	struct dg_job *job = b->job;
	if (job->hb) {
		int64_t wait = df_bucket_take(dg_hostbucket_bucket(job->hb), (int64_t)n);
		while (wait > 0) {
			if (dg_job_tick(job, false))
				return 0;
			int64_t slice = wait < 100000 ? wait : 100000;
			df_sleep_us(slice);
			wait -= slice;
		}
	}
	df_digest_update(&b->md5, ptr, n);
	if (b->sha_on)
		df_digest_update(&b->sha, ptr, n);
	for (size_t off = 0; off < n;) {
		size_t k = BUF_SIZE - b->buf_len < n - off ? BUF_SIZE - b->buf_len : n - off;
		memcpy(b->buf + b->buf_len, ptr + off, k);
		b->buf_len += k;
		off += k;
		if (b->buf_len == BUF_SIZE && (b->err = flush(b)) < 0) {
			snprintf(b->why, sizeof(b->why), "writing: %s", strerror(-b->err));
			return 0;
		}
	}
	b->written += (int64_t)n;
	atomic_fetch_add(&job->done, (long long)n);
	atomic_fetch_add(&job->in_order, (long long)n);
	atomic_fetch_add(&job->from_source, (long long)n);
	return n;
}

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct bs *b = clientp;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return dg_job_tick(b->job, false) ? 1 : 0;
}

/* --cacerts: one or more PEM files, ',' separated, handed to curl as one blob. */
static int set_cacerts(CURL *h, const char *list, char **blob_r, char *err, size_t errsz)
{
	char *all = xstrdup("");
	size_t all_len = 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		char *path = xstrndup(p, n);
		char *pem = NULL;
		size_t len = 0;
		int rc = df_read_file(path, 4 << 20, &pem, &len);
		if (rc < 0) {
			snprintf(err, errsz, "cannot read --cacerts file %s: %s", path, strerror(-rc));
			free(path);
			free(all);
			return -EINVAL;
		}
		all = xrealloc(all, all_len + len + 2);
		memcpy(all + all_len, pem, len);
		all_len += len;
		all[all_len++] = '\n';
		all[all_len] = '\0';
		free(pem);
		free(path);
		p += n;
		if (*p == ',')
			p++;
	}
	struct curl_blob blob = { all, all_len, CURL_BLOB_NOCOPY };
	if (curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK) {
		snprintf(err, errsz, "this libcurl cannot take --cacerts");
		free(all);
		return -ENOTSUP;
	}
	*blob_r = all;
	return 0;
}

static void setup(struct bs *b, struct curl_slist *hdrs, char *errbuf)
{
	const struct dg_request *req = b->job->req;
	CURL *h = b->h;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	if (req->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static int verify(struct bs *b, char *err, size_t errsz)
{
	struct dg_job *job = b->job;
	char md5[33], sha[65] = "";
	df_digest_final_hex(&b->md5, md5);
	if (b->sha_on)
		df_digest_final_hex(&b->sha, sha);
	if (job->req->md5 && strcasecmp(job->req->md5, md5) != 0) {
		snprintf(err, errsz, "the file's md5 is %s, expected %s", md5, job->req->md5);
		return -EBADMSG;
	}
	if (job->sha256_want[0] && strcmp(job->sha256_want, sha) != 0) {
		snprintf(err, errsz, "the file's sha256 is %s, the URL names %s", sha,
			 job->sha256_want);
		return -EBADMSG;
	}
	memcpy(job->md5, md5, sizeof(job->md5));
	job->total = b->written;
	return 0;
}

static int result_of(struct bs *b, CURLcode cc, const char *errbuf, char *err, size_t errsz)
{
	const char *url = b->job->req->url;
	if (b->job->cancelled) {
		snprintf(err, errsz, "cancelled");
		return -ECANCELED;
	}
	if (b->err < 0) {
		snprintf(err, errsz, "%s", b->why);
		return b->err;
	}
	if (atomic_load(&b->job->stop)) {
		snprintf(err, errsz, "download from the source timed out");
		return -ETIMEDOUT;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errsz, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return df_curl_errno(cc);
	}
	if (b->status != 200) {
		snprintf(err, errsz, "the source answered HTTP %ld for %s%s", b->status, url,
			 b->status == 401 || b->status == 403
				 ? " (pass credentials with --header 'Authorization: ...')"
				 : "");
		return -EIO;
	}
	int rc = flush(b);
	if (rc == 0 && fsync(b->fd) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errsz, "writing the download: %s", strerror(-rc));
		return rc;
	}
	return verify(b, err, errsz);
}

int dg_backsource_run(struct dg_job *job, const char *tmp_path, char *err, size_t errsz)
{
	struct bs b;
	memset(&b, 0, sizeof(b));
	b.job = job;
	b.length = -1;
	b.fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (b.fd < 0) {
		int e = errno;
		snprintf(err, errsz, "cannot create %s: %s", tmp_path, strerror(e));
		return -e;
	}
	job->cur_path = tmp_path;
	job->back_source = true;
	b.buf = xmalloc(BUF_SIZE);
	df_digest_init(&b.md5, DF_DIGEST_MD5);
	b.sha_on = job->sha256_want[0] != '\0';
	if (b.sha_on)
		df_digest_init(&b.sha, DF_DIGEST_SHA256);
	b.h = df_curl_new();
	char errbuf[CURL_ERROR_SIZE] = "", *blob = NULL;
	struct curl_slist *hdrs = df_curl_headers(NULL, job->req->headers);
	int result = 0;
	if (job->req->cacerts)
		result = set_cacerts(b.h, job->req->cacerts, &blob, err, errsz);
	if (result == 0) {
		setup(&b, hdrs, errbuf);
		log_info("downloading %s from the source", job->req->url);
		CURLcode cc = curl_easy_perform(b.h);
		result = result_of(&b, cc, errbuf, err, errsz);
	}
	df_digest_abort(&b.sha);
	df_digest_abort(&b.md5);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(b.h);
	free(blob);
	free(b.buf);
	close(b.fd);
	return result;
}

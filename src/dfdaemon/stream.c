/* A blob response body from a shared P2P download, with fallback (see stream.h). Owned by
 * one connection thread: no locks of its own (the blob has its own). */
#include "config.h"
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "forward.h"
#include "log.h"
#include "xalloc.h"

#define WAIT_MS 1000

struct dd_stream {
	struct dd_blob *blob;
	char digest[65];
	int64_t length;
	char *url;
	char **headers;
	size_t nheaders;
	bool fallback_on;
	int64_t stall_ms, timeout_ms;
	bool insecure;
	char *cacerts;
	struct dd_stats *stats;
	atomic_bool *stopping;

	unsigned version, gen;
	int fd;
	int64_t sent;		/* bytes given to the client */
	struct df_digest sha;	/* over every byte read so far */
	bool sha_open;
	struct dd_fwd *fb;	/* the fallback transfer, once started */
	bool have_held;		/* fallback: the last byte read, not yet given */
	char held;
	bool finished;
};

struct dd_stream *dd_stream_new(const struct dd_stream_opts *o)
{
	struct dd_stream *s = xcalloc(1, sizeof(*s));
	s->blob = o->blob;
	snprintf(s->digest, sizeof(s->digest), "%s", o->digest ? o->digest : "");
	s->length = o->length;
	s->url = xstrdup(o->url);
	size_t n = 0;
	while (o->headers && o->headers[n])
		n++;
	s->nheaders = n;
	s->headers = xcalloc(n + 2, sizeof(char *)); /* + Range + NULL */
	for (size_t i = 0; i < n; i++)
		s->headers[i] = xstrdup(o->headers[i]);
	s->fallback_on = o->fallback;
	s->stall_ms = o->stall_ms;
	s->timeout_ms = o->timeout_ms;
	s->insecure = o->insecure;
	s->cacerts = o->cacerts ? xstrdup(o->cacerts) : NULL;
	s->stats = o->stats;
	s->stopping = o->stopping;
	s->fd = -1;
	df_digest_init(&s->sha, DF_DIGEST_SHA256);
	s->sha_open = true;
	return s;
}

void dd_stream_free(struct dd_stream *s)
{
	if (!s)
		return;
	dd_blob_put(s->blob);
	if (s->fd >= 0)
		close(s->fd);
	dd_fwd_free(s->fb);
	if (s->sha_open)
		df_digest_abort(&s->sha);
	for (size_t i = 0; s->headers[i]; i++)
		free(s->headers[i]);
	free(s->headers);
	free(s->url);
	free(s->cacerts);
	free(s);
}

/* Everything has been read: does it match the digest? */
static int verify(struct dd_stream *s, int64_t total)
{
	char hex[DF_SHA256_HEX_LEN + 1];
	df_digest_final_hex(&s->sha, hex);
	s->sha_open = false;
	if ((s->digest[0] && strcmp(hex, s->digest) != 0) ||
	    (s->length >= 0 && total != s->length)) {
		atomic_fetch_add(&s->stats->digest_errors, 1);
		log_error("blob %.12s: content does not match its digest (got sha256 %.12s, "
			  "%" PRId64 " bytes): aborting the response",
			  s->digest, hex, total);
		return -EBADMSG;
	}
	s->finished = true;
	return 0;
}

/* Bytes from the P2P download: count, 0 (verified end), -EAGAIN (P2P failed: fall back)
 * or another -errno (abort). why gets the reason for -EAGAIN. */
static ssize_t p2p_read(struct dd_stream *s, char *buf, size_t max, char *why, size_t whysz)
{
	for (int64_t wait = 0;; wait = WAIT_MS) {
		if (s->stopping && atomic_load(s->stopping))
			return -ECANCELED;
		struct dd_blob_view v;
		dd_blob_wait(s->blob, s->version, s->gen, wait, &v);
		s->version = v.version;
		if (v.fd >= 0) {
			if (s->fd >= 0)
				close(s->fd);
			s->fd = v.fd;
			s->gen = v.gen;
		}
		if (v.state == DD_BLOB_FAILED) {
			snprintf(why, whysz, "%s", v.err);
			return -EAGAIN;
		}
		if (v.total >= 0 && s->length >= 0 && v.total != s->length) {
			snprintf(why, whysz, "the supernode says %" PRId64 " bytes, the registry %"
				 PRId64, v.total, s->length);
			return -EAGAIN;
		}
		int64_t total = v.total >= 0 ? v.total : s->length, limit = v.in_order;
		if (v.state == DD_BLOB_DONE) {
			limit = v.total;
		} else if (limit > (total >= 0 ? total : v.in_order) - 1) {
			limit = (total >= 0 ? total : v.in_order) - 1; /* hold the last byte back */
		}
		if (limit > s->sent && s->fd >= 0) {
			size_t n = (size_t)(limit - s->sent) < max ? (size_t)(limit - s->sent) : max;
			ssize_t r = pread(s->fd, buf, n, (off_t)s->sent);
			if (r <= 0) {
				snprintf(why, whysz, "cannot read the download: %s",
					 r < 0 ? strerror(errno) : "file too short");
				return -EAGAIN;
			}
			df_digest_update(&s->sha, buf, (size_t)r);
			s->sent += r;
			atomic_fetch_add(&s->stats->bytes_p2p, r);
			if (v.state == DD_BLOB_DONE && s->sent == v.total && verify(s, s->sent) < 0)
				return -EBADMSG;
			return r;
		}
		if (v.state == DD_BLOB_DONE && s->sent == v.total)
			return verify(s, s->sent) < 0 ? -EBADMSG : 0;
		if (v.state == DD_BLOB_RUNNING && v.idle_ms > s->stall_ms) {
			snprintf(why, whysz, "no progress for %" PRId64 " ms", v.idle_ms);
			return -EAGAIN;
		}
	}
}

static int start_fallback(struct dd_stream *s, const char *why)
{
	if (!s->fallback_on) {
		log_error("blob %.12s: P2P failed (%s) and fallback is off: aborting the response",
			  s->digest, why);
		return -EIO;
	}
	atomic_fetch_add(&s->stats->fallbacks, 1);
	log_warn("blob %.12s: P2P failed (%s): fetching it from the registry directly, from "
		 "byte %" PRId64, s->digest, why, s->sent);
	char range[64];
	if (s->sent > 0) {
		snprintf(range, sizeof(range), "Range: bytes=%" PRId64 "-", s->sent);
		s->headers[s->nheaders] = range;
	}
	struct dd_fwd_req rq = {
		.url = s->url,
		.headers = (const char *const *)s->headers,
		.insecure = s->insecure,
		.cacerts = s->cacerts,
		.timeout_ms = s->timeout_ms,
	};
	char err[512];
	int rc = dd_fwd_open(&rq, &s->fb, err, sizeof(err));
	s->headers[s->nheaders] = NULL;
	if (rc < 0) {
		log_error("blob %.12s: the registry fallback failed: %s", s->digest, err);
		return rc;
	}
	long st = dd_fwd_status(s->fb);
	if (st == 200 && s->sent > 0)
		rc = dd_fwd_skip(s->fb, s->sent);
	else if (st != 200 && !(st == 206 && s->sent > 0))
		rc = -EIO;
	if (rc < 0)
		log_error("blob %.12s: the registry fallback answered %ld", s->digest, st);
	return rc;
}

/* Bytes from the registry, holding the last one back until the digest matched. */
static ssize_t fallback_read(struct dd_stream *s, char *buf, size_t max)
{
	char tmp[65536];
	size_t cap = max < sizeof(tmp) ? max : sizeof(tmp);
	for (;;) {
		ssize_t r = dd_fwd_read(s->fb, tmp, cap);
		if (r < 0) {
			log_error("blob %.12s: the registry fallback broke off at byte %" PRId64 ": %s",
				  s->digest, s->sent, strerror((int)-r));
			return r;
		}
		size_t n = 0;
		if (r == 0) {
			if (verify(s, s->sent + (s->have_held ? 1 : 0)) < 0)
				return -EBADMSG;
			if (s->have_held)
				buf[n++] = s->held;
			s->have_held = false;
		} else {
			df_digest_update(&s->sha, tmp, (size_t)r);
			if (s->have_held)
				buf[n++] = s->held;
			memcpy(buf + n, tmp, (size_t)r - 1);
			n += (size_t)r - 1;
			s->held = tmp[r - 1];
			s->have_held = true;
		}
		s->sent += (int64_t)n;
		atomic_fetch_add(&s->stats->bytes_fallback, (long long)n);
		if (n > 0 || r == 0)
			return (ssize_t)n;
	}
}

ssize_t dd_stream_read(struct dd_stream *s, char *buf, size_t max)
{
	if (s->finished)
		return 0;
	if (max == 0)
		return -EINVAL;
	if (!s->fb) {
		char why[300] = "";
		ssize_t r = p2p_read(s, buf, max, why, sizeof(why));
		if (r != -EAGAIN)
			return r;
		int rc = start_fallback(s, why);
		if (rc < 0)
			return rc;
	}
	return fallback_read(s, buf, max);
}

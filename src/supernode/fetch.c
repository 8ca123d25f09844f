/* fetch: streaming source fetch into the framed cache file (see fetch.h). Runs on one CDN
 * job thread; the task lock is taken only to publish pieces. */
#include "config.h"
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "meta.h"
#include "piece.h"
#include "progress.h"
#include "protocol.h"
#include "ratelimit.h"
#include "settings.h"
#include "stats.h"
#include "task.h"
#include "timeutil.h"
#include "waitq.h"
#include "xalloc.h"

#define ATTEMPTS 3

struct fetch {
	const struct sn_fetch_params *p;
	struct sn_fetch_result *res;
	int fd;
	int32_t ps;
	int64_t cmax;	  /* content bytes per full piece */
	int64_t src_len;  /* expected content length, -1 unknown */
	unsigned char *buf; /* one framed piece */
	int64_t fill;	  /* content bytes in buf */
	int64_t piece;	  /* the piece being filled */
	int64_t received; /* content bytes accepted (piece * cmax + fill) */
	int64_t done;	  /* pieces 0..done-1 are valid on disk, their md5 in pmd5 */
	int64_t published; /* pieces 0..published-1 are published to the task */
	int64_t start_from; /* content offset the current request starts at */
	bool headers_ok;
	char (*pmd5)[33]; /* md5 of each framed piece on disk */
	int32_t *pclen;	  /* content length of each piece on disk */
	int64_t pmd5_cap;
	struct df_digest md5, sha;
	int64_t last_meta_ms;
	int fail; /* a decision of the callbacks: do not retry */
};

static int fail(struct fetch *f, int code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct fetch *f, int code, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->res->msg, sizeof(f->res->msg), fmt, ap);
	va_end(ap);
	f->res->code = code;
	f->fail = err;
	return err;
}

static void record_md5(struct fetch *f, int64_t n, const char *md5, int64_t content_len)
{
	if (n >= f->pmd5_cap) {
		int64_t cap = f->pmd5_cap ? f->pmd5_cap * 2 : 64;
		while (cap <= n)
			cap *= 2;
		f->pmd5 = xrealloc(f->pmd5, (size_t)cap * sizeof(*f->pmd5));
		f->pclen = xrealloc(f->pclen, (size_t)cap * sizeof(*f->pclen));
		f->pmd5_cap = cap;
	}
	memcpy(f->pmd5[n], md5, 33);
	f->pclen[n] = (int32_t)content_len;
}

static void write_meta(struct fetch *f, bool finished)
{
	const struct sn_fetch_params *p = f->p;
	struct sn_meta m = { 0 };
	m.task_id = p->t->id;
	m.url = (char *)(uintptr_t)p->req.url;
	m.task_url = p->t->task_url;
	m.source_length = finished ? f->received : f->src_len;
	m.piece_size = f->ps;
	m.npieces = f->done;
	m.piece_md5 = f->pmd5;
	m.etag = (char *)(uintptr_t)p->etag;
	m.last_modified = (char *)(uintptr_t)p->last_modified;
	m.finished = finished;
	m.last_access_ms = df_wall_ms();
	if (finished) {
		memcpy(m.md5, f->res->md5, sizeof(m.md5));
		memcpy(m.sha256, f->res->sha256, sizeof(m.sha256));
	}
	int rc = sn_meta_write(p->t->meta_path, &m);
	if (rc < 0)
		log_warn_errno(rc, "task %.12s: cannot write %s", p->t->id, p->t->meta_path);
	f->last_meta_ms = df_mono_ms();
}

/* Publish pieces [from, to) to the task: schedulable and servable from now on. */
static void publish(struct fetch *f, int64_t from, int64_t to)
{
	struct sn_task *t = f->p->t;
	if (from >= to)
		return;
	pthread_mutex_lock(&t->lock);
	for (int64_t n = from; n < to; n++) {
		sn_task_set_piece_md5_locked(t, n, f->pmd5[n], f->pclen[n] + DF_PIECE_META_LEN);
		sn_progress_cdn_done(t->prog, n);
	}
	sn_task_bump_locked(t);
	pthread_mutex_unlock(&t->lock);
	f->published = to;
	sn_waitq_wake(f->p->ctx->waitq, &t->waiters, 64);
}

/* buf holds piece f->piece with f->fill content bytes: frame it, check or write it. */
static int complete_piece(struct fetch *f)
{
	int64_t n = f->piece;
	size_t framed = (size_t)f->fill + DF_PIECE_META_LEN;
	char md5[DF_MD5_HEX_LEN + 1];
	df_piece_header_encode((uint32_t)f->fill, f->ps, f->buf);
	f->buf[DF_PIECE_HEAD_LEN + f->fill] = DF_PIECE_TRAILER;
	df_md5_hex(f->buf, framed, md5);
	df_digest_update(&f->md5, f->buf + DF_PIECE_HEAD_LEN, (size_t)f->fill);
	df_digest_update(&f->sha, f->buf + DF_PIECE_HEAD_LEN, (size_t)f->fill);
	if (n < f->published) {
		/* Served already: the source must send the same bytes again. */
		if (strcmp(md5, f->pmd5[n]) != 0)
			return fail(f, DF_CODE_SOURCE_ERROR, -ESTALE,
				    "the source changed during the fetch (piece %" PRId64 ")", n);
	} else {
		int rc = df_pwrite_all(f->fd, f->buf, framed, (off_t)(n * f->ps));
		if (rc < 0)
			return fail(f, DF_CODE_SUPER_FAIL, rc, "cannot write the cache file: %s",
				    strerror(-rc));
		record_md5(f, n, md5, f->fill);
		if (f->done < n + 1)
			f->done = n + 1;
		publish(f, n, n + 1);
	}
	f->piece++;
	f->fill = 0;
	if (df_mono_ms() - f->last_meta_ms >= 1000)
		write_meta(f, false);
	return 0;
}

/* The answer's headers arrived: where does its content start? */
static int on_headers(struct fetch *f, const struct sn_source_info *info)
{
	long full = f->p->task_range ? 206 : 200;
	if (f->start_from > 0 && info->status == 206 && info->range_start == f->start_from) {
		f->piece = f->done;
		f->received = f->done * f->cmax;
		publish(f, f->published, f->done);
		SN_STAT_ADD(cdn_resumes, 1);
	} else if (info->status == full) {
		int64_t len = info->status == 206 ? info->body_length : info->length;
		if (f->src_len >= 0 && len >= 0 && len != f->src_len)
			return fail(f, DF_CODE_SOURCE_ERROR, -ESTALE,
				    "the source's length changed from %" PRId64 " to %" PRId64,
				    f->src_len, len);
		df_digest_abort(&f->md5);
		df_digest_abort(&f->sha);
		df_digest_init(&f->md5, DF_DIGEST_MD5);
		df_digest_init(&f->sha, DF_DIGEST_SHA256);
		f->piece = 0;
		f->received = 0;
		if (f->published == 0)
			f->done = 0; /* rewritten from the start */
	} else {
		return fail(f, sn_source_code(0, info->status), -EPROTO,
			    "the source answered HTTP %ld to the fetch", info->status);
	}
	f->fill = 0;
	f->headers_ok = true;
	return 0;
}

/* Wait for the source bucket (the bandwidth cap), in short naps so a stop is seen. */
static int throttle(struct fetch *f, size_t len)
{
	struct sn_ctx *ctx = f->p->ctx;
	if (!ctx->source_bucket)
		return 0;
	int64_t wait = df_bucket_take(ctx->source_bucket, (int64_t)len);
	while (wait > 0) {
		if (sn_ctx_stopping(ctx))
			return -ECANCELED;
		int64_t nap = wait < 100000 ? wait : 100000;
		df_sleep_us(nap);
		wait -= nap;
	}
	return 0;
}

static int on_data(void *user, const struct sn_source_info *info, const char *data, size_t len)
{
	struct fetch *f = user;
	if (!data)
		return on_headers(f, info);
	if (sn_ctx_stopping(f->p->ctx))
		return -ECANCELED;
	int rc = throttle(f, len);
	if (rc < 0)
		return rc;
	SN_STAT_ADD(source_bytes, (int64_t)len);
	atomic_fetch_add_explicit(&f->p->t->source_bytes, (int64_t)len, memory_order_relaxed);
	while (len > 0) {
		size_t n = (size_t)(f->cmax - f->fill);
		if (n > len)
			n = len;
		if (f->src_len >= 0 && f->received + (int64_t)n > f->src_len)
			return fail(f, DF_CODE_SOURCE_ERROR, -ESTALE,
				    "the source sent more than the %" PRId64 " bytes it announced",
				    f->src_len);
		memcpy(f->buf + DF_PIECE_HEAD_LEN + f->fill, data, n);
		f->fill += (int64_t)n;
		f->received += (int64_t)n;
		data += n;
		len -= n;
		bool last = f->src_len >= 0 && f->received == f->src_len;
		if (f->fill == f->cmax || (last && f->fill > 0)) {
			rc = complete_piece(f);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Keep the pieces of an unfinished cache that verify on disk (their content feeds the
 * digests). */
static void verify_existing(struct fetch *f, const struct sn_meta *m)
{
	for (int64_t n = 0; n < m->npieces; n++) {
		int64_t content = f->cmax;
		if (f->src_len >= 0)
			content = df_piece_content_len(f->src_len, f->ps, n);
		if (content <= 0)
			break;
		size_t framed = (size_t)content + DF_PIECE_META_LEN;
		char md5[DF_MD5_HEX_LEN + 1];
		uint32_t clen;
		int32_t psz;
		if (df_pread_all(f->fd, f->buf, framed, (off_t)(n * f->ps)) < 0)
			break;
		df_md5_hex(f->buf, framed, md5);
		if (strcmp(md5, m->piece_md5[n]) != 0 ||
		    !df_piece_header_decode(f->buf, &clen, &psz) || clen != content ||
		    psz != f->ps)
			break;
		df_digest_update(&f->md5, f->buf + DF_PIECE_HEAD_LEN, (size_t)content);
		df_digest_update(&f->sha, f->buf + DF_PIECE_HEAD_LEN, (size_t)content);
		record_md5(f, n, md5, content);
		f->done = n + 1;
	}
	f->received = f->done * f->cmax;
	if (f->src_len >= 0 && f->received > f->src_len)
		f->received = f->src_len;
}

/* The transfer ended: the last piece, length and digests. */
static int finish(struct fetch *f)
{
	struct sn_fetch_result *res = f->res;
	if (f->fill > 0 || (f->received == 0 && f->piece == 0)) {
		int rc = complete_piece(f);
		if (rc < 0)
			return rc;
	}
	if (f->src_len >= 0 && f->received != f->src_len)
		return fail(f, DF_CODE_SOURCE_ERROR, -EPROTO,
			    "the source sent %" PRId64 " of the %" PRId64 " bytes it announced",
			    f->received, f->src_len);
	res->src_len = f->received;
	res->npieces = f->piece;
	df_digest_final_hex(&f->md5, res->md5);
	df_digest_final_hex(&f->sha, res->sha256);
	df_digest_init(&f->md5, DF_DIGEST_MD5); /* keeps cleanup uniform */
	df_digest_init(&f->sha, DF_DIGEST_SHA256);
	int64_t framed = df_piece_framed_len(f->received, f->ps);
	if (ftruncate(f->fd, (off_t)framed) < 0 || fsync(f->fd) < 0)
		return fail(f, DF_CODE_SUPER_FAIL, -errno, "cannot finish the cache file: %s",
			    strerror(errno));
	return 0;
}

static int open_cache(struct fetch *f)
{
	const struct sn_task *t = f->p->t;
	char *dir = df_dirname(t->path);
	int rc = df_mkdir_p(dir, 0755);
	free(dir);
	if (rc < 0)
		return fail(f, DF_CODE_SUPER_FAIL, rc, "cannot create the cache directory: %s",
			    strerror(-rc));
	f->fd = open(t->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (f->fd < 0)
		return fail(f, DF_CODE_SUPER_FAIL, -errno, "cannot open %s: %s", t->path,
			    strerror(errno));
	if (!f->p->resume && ftruncate(f->fd, 0) < 0)
		return fail(f, DF_CODE_SUPER_FAIL, -errno, "cannot truncate %s: %s", t->path,
			    strerror(errno));
	if (f->src_len > 0)
		(void)posix_fallocate(f->fd, 0, (off_t)df_piece_framed_len(f->src_len, f->ps));
	return 0;
}

/* One request; returns 0 when the content is complete. */
static int attempt(struct fetch *f, char *err, size_t errsz)
{
	const struct sn_fetch_params *p = f->p;
	struct sn_source_req req = p->req;
	f->start_from = p->task_range ? 0 : f->done * f->cmax;
	if (f->src_len >= 0 && f->start_from >= f->src_len && f->done > 0) {
		/* Everything is on disk; the probe's validators vouched for it. */
		publish(f, f->published, f->done);
		f->piece = f->done;
		f->fill = 0;
		f->received = f->src_len;
		return finish(f);
	}
	req.range_from = f->start_from > 0 ? f->start_from : -1;
	req.if_range = f->start_from > 0 ? (p->etag ? p->etag : p->last_modified) : NULL;
	f->headers_ok = false;
	struct sn_source_info info;
	SN_STAT_ADD(source_requests, 1);
	int rc = sn_source_get(&req, on_data, f, &info, err, errsz);
	if (rc == 0 && !f->headers_ok)
		rc = fail(f, sn_source_code(0, info.status), -EPROTO,
			  "the source answered HTTP %ld to the fetch", info.status);
	sn_source_info_cleanup(&info);
	if (rc == 0)
		rc = finish(f);
	return rc;
}

int sn_fetch_run(const struct sn_fetch_params *p, struct sn_fetch_result *res)
{
	struct fetch f = { .p = p, .res = res, .fd = -1 };
	memset(res, 0, sizeof(*res));
	f.ps = p->piece_size;
	f.cmax = df_piece_content_max(p->piece_size);
	f.src_len = p->src_len;
	f.buf = xmalloc((size_t)p->piece_size);
	df_digest_init(&f.md5, DF_DIGEST_MD5);
	df_digest_init(&f.sha, DF_DIGEST_SHA256);
	int rc = open_cache(&f);
	if (rc < 0)
		goto out;
	if (p->resume)
		verify_existing(&f, p->resume);
	write_meta(&f, false);
	for (int i = 0; i < ATTEMPTS; i++) {
		char err[256] = "";
		rc = attempt(&f, err, sizeof(err));
		if (rc == 0 || f.fail || sn_ctx_stopping(p->ctx))
			break;
		log_warn("task %.12s: fetch from %s failed (attempt %d of %d): %s", p->t->id,
			 p->req.url, i + 1, ATTEMPTS, err);
		fail(&f, sn_source_code(rc, 0), 0, "fetching from the source failed: %s", err);
		f.fail = 0;
		for (int w = 0; w < 10 * (i + 1) && !sn_ctx_stopping(p->ctx); w++)
			df_sleep_ms(100);
	}
	if (rc == 0) {
		write_meta(&f, true);
	} else if (sn_ctx_stopping(p->ctx)) {
		rc = -ECANCELED;
		write_meta(&f, false);
	} else {
		res->discard = f.fail == -ESTALE;
		if (!res->discard)
			write_meta(&f, false);
	}
out:
	if (f.fd >= 0)
		close(f.fd);
	df_digest_abort(&f.md5);
	df_digest_abort(&f.sha);
	free(f.buf);
	free(f.pmd5);
	free(f.pclen);
	return rc;
}

int sn_fetch_check_piece(const char *path, int32_t piece_size, int64_t framed_len, int64_t n,
			 const char *want)
{
	int64_t start = n * (int64_t)piece_size;
	int64_t len = framed_len - start < piece_size ? framed_len - start : piece_size;
	if (len <= 0)
		return -ERANGE;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unsigned char *buf = xmalloc((size_t)len);
	int rc = df_pread_all(fd, buf, (size_t)len, (off_t)start);
	close(fd);
	if (rc == 0) {
		char md5[DF_MD5_HEX_LEN + 1];
		df_md5_hex(buf, (size_t)len, md5);
		rc = strcmp(md5, want) == 0 ? 0 : -EBADMSG;
	}
	free(buf);
	return rc;
}

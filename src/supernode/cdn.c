/* cdn: CDN jobs (see cdn.h): probe once, then hit, resume or fetch. State transitions of
 * the task happen under its lock; the job's I/O runs without it. */
#include "config.h"
#include "cdn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "fetch.h"
#include "fsutil.h"
#include "gc.h"
#include "log.h"
#include "meta.h"
#include "piece.h"
#include "progress.h"
#include "protocol.h"
#include "settings.h"
#include "source.h"
#include "stats.h"
#include "task.h"
#include "timeutil.h"
#include "waitq.h"
#include "xalloc.h"

enum outcome_kind { OUT_DONE, OUT_FAILED, OUT_STOPPED };

struct outcome {
	enum outcome_kind kind;
	int code;
	char msg[256];
	bool hit;
	struct sn_meta meta; /* a hit: the cache's meta */
	struct sn_fetch_result res;
};

struct job {
	struct sn_ctx *ctx;
	struct sn_task *t;
	/* The source, copied from the task when the job starts. */
	char *url;
	char **headers;
	uint64_t source_hash;
	bool insecure;
	char *ca_pem;
	size_t ca_len;
	char *ca_file;
};

static void job_free(struct job *j)
{
	free(j->url);
	sn_strv_free(j->headers);
	free(j->ca_pem);
	free(j->ca_file);
	free(j);
}

bool sn_cdn_url_digest(const char *url, char hex_r[65])
{
	const char *p = strstr(url, "/blobs/sha256:");
	if (!p)
		return false;
	p += strlen("/blobs/sha256:");
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	if (p[64] && p[64] != '?' && p[64] != '/' && p[64] != '#')
		return false;
	for (int i = 0; i < 64; i++)
		hex_r[i] = (char)tolower((unsigned char)p[i]);
	hex_r[64] = '\0';
	return true;
}

void sn_cdn_begin_locked(struct sn_ctx *ctx, struct sn_task *t)
{
	atomic_fetch_sub(&ctx->sn_load, t->prog->sn_load);
	sn_progress_free(t->prog);
	t->prog = sn_progress_new();
	free(t->piece_md5);
	t->piece_md5 = NULL;
	t->md5_cap = 0;
	t->src_len = -1;
	t->piece_size = 0;
	t->file_md5[0] = t->file_sha256[0] = '\0';
	t->fail_code = 0;
	free(t->fail_msg);
	t->fail_msg = NULL;
	t->cache_hit = false;
	t->sn_fails = 0;
	t->st.cdn_start_ms = df_mono_ms();
	t->st.cdn_end_ms = 0;
	t->state = SN_CDN_PROBING;
	t->job_running = true;
}

static void source_req(const struct job *j, struct sn_source_req *req)
{
	const struct sn_settings *cfg = j->ctx->cfg;
	memset(req, 0, sizeof(*req));
	req->url = j->url;
	req->headers = (const char *const *)j->headers;
	req->insecure = j->insecure;
	req->ca_pem = j->ca_pem;
	req->ca_len = j->ca_len;
	req->ca_file = j->ca_file;
	req->connect_timeout_ms = (long)cfg->source_timeout;
	req->stall_timeout_ms = (long)cfg->source_stall_timeout;
	req->range_from = -1;
	req->cancel = &j->ctx->stopping;
}

static bool validators_match(const struct sn_meta *m, const struct sn_source_info *info)
{
	if (m->etag && info->etag)
		return strcmp(m->etag, info->etag) == 0;
	if (m->last_modified && info->last_modified)
		return strcmp(m->last_modified, info->last_modified) == 0;
	return false;
}

static void discard_cache(const struct sn_task *t)
{
	unlink(t->path);
	unlink(t->meta_path);
}

/* The cache of an earlier run, if it belongs to this task. */
static bool load_meta(const struct sn_task *t, struct sn_meta *m)
{
	char err[512];
	int rc = sn_meta_read(t->meta_path, m, err, sizeof(err));
	if (rc == -ENOENT)
		return false;
	if (rc < 0) {
		log_warn("task %.12s: ignoring a damaged cache: %s", t->id, err);
		discard_cache(t);
		return false;
	}
	if (strcmp(m->task_id, t->id) != 0 || strcmp(m->task_url, t->task_url) != 0) {
		log_warn("task %.12s: the cache's meta names another task; ignoring it", t->id);
		sn_meta_cleanup(m);
		return false;
	}
	return true;
}

static bool file_holds(const struct sn_task *t, const struct sn_meta *m)
{
	struct stat st;
	return stat(t->path, &st) == 0 &&
	       st.st_size >= df_piece_framed_len(m->source_length, m->piece_size);
}

/* Set the geometry once the length is known; registrations waiting for it go on. */
static void set_length(struct job *j, int64_t len)
{
	struct sn_task *t = j->t;
	pthread_mutex_lock(&t->lock);
	t->src_len = len;
	t->piece_size = df_piece_size_for(len);
	if (len >= 0)
		sn_progress_set_pieces(t->prog, df_piece_count(len, t->piece_size), true);
	t->state = SN_CDN_RUNNING;
	sn_task_bump_locked(t);
	pthread_mutex_unlock(&t->lock);
	sn_waitq_wake(j->ctx->waitq, &t->waiters, -1);
}

static int fetch_slot_acquire(struct sn_ctx *ctx)
{
	pthread_mutex_lock(&ctx->jobs_lock);
	while (ctx->fetch_running >= ctx->cfg->cdn_workers && !sn_ctx_stopping(ctx))
		pthread_cond_wait(&ctx->jobs_cond, &ctx->jobs_lock);
	bool ok = !sn_ctx_stopping(ctx);
	if (ok)
		ctx->fetch_running++;
	pthread_mutex_unlock(&ctx->jobs_lock);
	return ok ? 0 : -ECANCELED;
}

static void fetch_slot_release(struct sn_ctx *ctx)
{
	pthread_mutex_lock(&ctx->jobs_lock);
	ctx->fetch_running--;
	pthread_cond_broadcast(&ctx->jobs_cond);
	pthread_mutex_unlock(&ctx->jobs_lock);
}

static void set_failed(struct outcome *o, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_failed(struct outcome *o, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
	o->kind = OUT_FAILED;
	o->code = code;
}

/* Fetch (or resume) after the probe; resume is an unfinished matching cache or NULL. */
static void do_fetch(struct job *j, struct sn_source_info *info, struct sn_meta *resume,
		     struct outcome *o)
{
	struct sn_task *t = j->t;
	int64_t len = info->length;
	int32_t ps = df_piece_size_for(len);
	if (resume && resume->piece_size != ps)
		resume = NULL;
	if (fetch_slot_acquire(j->ctx) < 0) {
		o->kind = OUT_STOPPED;
		return;
	}
	int64_t need = len > 0 ? df_piece_framed_len(len, ps) : 0;
	if (sn_gc_disk(j->ctx, need) < 0) {
		fetch_slot_release(j->ctx);
		set_failed(o, DF_CODE_SUPER_FAIL, "the supernode has no disk space for %" PRId64
				" bytes (cache-free-min %" PRId64 ")", need, j->ctx->cfg->cache_free_min);
		return;
	}
	struct sn_fetch_params p = { .ctx = j->ctx, .t = t, .src_len = len, .piece_size = ps,
				     .resume = resume, .etag = info->etag,
				     .last_modified = info->last_modified };
	source_req(j, &p.req);
	p.task_range = *t->range != '\0';
	SN_STAT_ADD(cdn_misses, 1);
	log_info("task %.12s: fetching %s (%" PRId64 " bytes%s)", t->id, j->url, len,
		 resume ? ", resuming" : "");
	int64_t t0 = df_mono_ms();
	int rc = sn_fetch_run(&p, &o->res);
	fetch_slot_release(j->ctx);
	if (rc == -ECANCELED) {
		o->kind = OUT_STOPPED;
		return;
	}
	if (rc < 0) {
		if (o->res.discard)
			discard_cache(t);
		set_failed(o, o->res.code, "%s", o->res.msg);
		return;
	}
	int64_t ms = df_mono_ms() - t0;
	log_info("task %.12s: cached %" PRId64 " bytes in %" PRId64 " ms", t->id, o->res.src_len,
		 ms);
	o->kind = OUT_DONE;
}

/* An unconditional probe, then a fetch from scratch. */
static void probe_and_fetch(struct job *j, struct sn_source_req *req, long ok_status,
			    struct sn_source_info *info, struct outcome *o)
{
	char err[256] = "";
	req->if_none_match = req->if_modified_since = NULL;
	int rc = sn_source_probe(req, info, err, sizeof(err));
	if (rc == -ECANCELED) {
		o->kind = OUT_STOPPED;
		return;
	}
	if (rc < 0 || info->status != ok_status) {
		set_failed(o, sn_source_code(rc, info->status), "the source failed: %s",
			   rc < 0 ? err : "unexpected answer");
		return;
	}
	set_length(j, info->length);
	do_fetch(j, info, NULL, o);
}

static void run_job(struct job *j, struct outcome *o)
{
	struct sn_task *t = j->t;
	struct sn_meta meta = { 0 };
	sn_gc_barrier();
	bool have = load_meta(t, &meta);
	struct sn_source_req req;
	struct sn_source_info info = { 0 };
	char err[256] = "";
	source_req(j, &req);
	req.total_timeout_ms = (long)j->ctx->cfg->source_timeout;
	if (have && meta.finished && !*t->range) {
		req.if_none_match = meta.etag;
		req.if_modified_since = meta.etag ? NULL : meta.last_modified;
	}
	SN_STAT_ADD(source_requests, 1);
	int rc = sn_source_probe(&req, &info, err, sizeof(err));
	long ok_status = *t->range ? 206 : 200;
	if (rc == -ECANCELED) {
		o->kind = OUT_STOPPED;
	} else if (rc < 0) {
		set_failed(o, sn_source_code(rc, 0), "cannot reach the source: %s", err);
	} else if (info.status == 304 && have && meta.finished && file_holds(t, &meta)) {
		o->kind = OUT_DONE;
		o->hit = true;
	} else if (info.status != ok_status && info.status != 304) {
		set_failed(o, sn_source_code(0, info.status), "the source answered HTTP %ld",
			   info.status);
	} else if (info.status == 304) {
		discard_cache(t); /* 304, but our copy is gone: fetch afresh */
		sn_meta_cleanup(&meta);
		sn_source_info_cleanup(&info);
		probe_and_fetch(j, &req, ok_status, &info, o);
	} else {
		bool same = have && !*t->range && validators_match(&meta, &info) &&
			    (info.length < 0 || meta.source_length < 0 ||
			     meta.source_length == info.length);
		if (same && meta.finished && file_holds(t, &meta)) {
			o->kind = OUT_DONE;
			o->hit = true;
		} else {
			if (have && !same)
				discard_cache(t);
			set_length(j, info.length);
			do_fetch(j, &info, same ? &meta : NULL, o);
		}
	}
	if (o->hit) {
		o->meta = meta;
		memset(&meta, 0, sizeof(meta));
	}
	sn_meta_cleanup(&meta);
	sn_source_info_cleanup(&info);
}

/* Check the finished content against what the task promised (md5, URL digest). */
static void check_content(struct job *j, struct outcome *o)
{
	char want[65];
	const char *md5 = o->hit ? o->meta.md5 : o->res.md5;
	const char *sha = o->hit ? o->meta.sha256 : o->res.sha256;
	if (*j->t->md5 && strcasecmp(j->t->md5, md5) != 0) {
		set_failed(o, DF_CODE_SOURCE_ERROR, "the source's content has md5 %s, not the %s "
			   "the download asked for", md5, j->t->md5);
		discard_cache(j->t);
	} else if (sn_cdn_url_digest(j->t->task_url, want) && strcmp(want, sha) != 0) {
		set_failed(o, DF_CODE_SOURCE_ERROR, "the source's content has sha256 %s, not the "
			   "one its URL names", sha);
		discard_cache(j->t);
	}
}

/* Apply the outcome to the task (lock held). */
static void apply_locked(struct job *j, struct outcome *o, int64_t now_ms)
{
	struct sn_task *t = j->t;
	if (o->kind == OUT_DONE && o->hit) {
		const struct sn_meta *m = &o->meta;
		t->src_len = m->source_length;
		t->piece_size = m->piece_size;
		sn_progress_set_pieces(t->prog, m->npieces, true);
		for (int64_t n = 0; n < m->npieces; n++) {
			int64_t len = df_piece_content_len(m->source_length, m->piece_size, n);
			sn_task_set_piece_md5_locked(t, n, m->piece_md5[n], len + DF_PIECE_META_LEN);
			sn_progress_cdn_done(t->prog, n);
		}
		memcpy(t->file_md5, m->md5, sizeof(t->file_md5));
		memcpy(t->file_sha256, m->sha256, sizeof(t->file_sha256));
		t->cache_hit = true;
		t->state = SN_CDN_DONE;
	} else if (o->kind == OUT_DONE) {
		t->src_len = o->res.src_len;
		sn_progress_set_pieces(t->prog, o->res.npieces, true);
		memcpy(t->file_md5, o->res.md5, sizeof(t->file_md5));
		memcpy(t->file_sha256, o->res.sha256, sizeof(t->file_sha256));
		t->state = SN_CDN_DONE;
	} else if (o->kind == OUT_FAILED) {
		t->state = SN_CDN_FAILED;
		t->fail_code = o->code ? o->code : DF_CODE_SUPER_FAIL;
		free(t->fail_msg);
		t->fail_msg = xstrdup(o->msg);
		t->fail_hash = j->source_hash;
		t->fail_until_ms = now_ms + j->ctx->cfg->fail_access_interval;
	}
	t->job_running = false;
	t->st.cdn_end_ms = now_ms;
	sn_task_bump_locked(t);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct sn_task *t = j->t;
	struct outcome o = { 0 };
	run_job(j, &o);
	if (o.kind == OUT_DONE)
		check_content(j, &o);
	if (o.kind == OUT_DONE && o.hit) {
		SN_STAT_ADD(cdn_hits, 1);
		log_info("task %.12s: cache hit for %s", t->id, j->url);
		utimensat(AT_FDCWD, t->meta_path, NULL, 0);
	} else if (o.kind == OUT_FAILED) {
		SN_STAT_ADD(source_errors, 1);
		log_warn("task %.12s: %s: %s (code %d)", t->id, j->url, o.msg, o.code);
	}
	pthread_mutex_lock(&t->lock);
	apply_locked(j, &o, df_mono_ms());
	pthread_mutex_unlock(&t->lock);
	sn_waitq_wake(j->ctx->waitq, &t->waiters, -1);
	sn_meta_cleanup(&o.meta);
	struct sn_ctx *ctx = j->ctx;
	sn_task_unref(t);
	job_free(j);
	pthread_mutex_lock(&ctx->jobs_lock);
	ctx->jobs_running--;
	pthread_cond_broadcast(&ctx->jobs_cond);
	pthread_mutex_unlock(&ctx->jobs_lock);
	return NULL;
}

static int spawn(struct sn_ctx *ctx, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t th;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_mutex_lock(&ctx->jobs_lock);
	ctx->jobs_running++;
	pthread_mutex_unlock(&ctx->jobs_lock);
	int rc = pthread_create(&th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_lock(&ctx->jobs_lock);
		ctx->jobs_running--;
		pthread_mutex_unlock(&ctx->jobs_lock);
	}
	return -rc;
}

void sn_cdn_start(struct sn_ctx *ctx, struct sn_task *t)
{
	struct job *j = xcalloc(1, sizeof(*j));
	j->ctx = ctx;
	j->t = t;
	sn_task_ref(t);
	pthread_mutex_lock(&t->lock);
	j->url = xstrdup(t->raw_url);
	j->headers = sn_strv_dup((const char *const *)t->headers);
	j->source_hash = t->source_hash;
	j->insecure = t->insecure;
	if (t->ca_pem) {
		j->ca_pem = xmalloc(t->ca_len + 1);
		memcpy(j->ca_pem, t->ca_pem, t->ca_len + 1);
		j->ca_len = t->ca_len;
		j->ca_file = xasprintf("%s/%s.ca.pem", ctx->tmp_dir, t->id);
	}
	pthread_mutex_unlock(&t->lock);
	int rc = spawn(ctx, job_main, j);
	if (rc == 0)
		return;
	log_errno(rc, "task %.12s: cannot start a CDN thread", t->id);
	struct outcome o = { 0 };
	set_failed(&o, DF_CODE_SYSTEM_ERROR, "the supernode cannot start a thread");
	pthread_mutex_lock(&t->lock);
	apply_locked(j, &o, df_mono_ms());
	pthread_mutex_unlock(&t->lock);
	sn_waitq_wake(ctx->waitq, &t->waiters, -1);
	sn_task_unref(t);
	job_free(j);
}

int sn_cdn_wait_all(struct sn_ctx *ctx, int64_t timeout_ms)
{
	int64_t until = df_mono_ms() + timeout_ms;
	pthread_mutex_lock(&ctx->jobs_lock);
	pthread_cond_broadcast(&ctx->jobs_cond); /* fetch-slot waiters see the stop */
	while (ctx->jobs_running > 0 && df_mono_ms() < until) {
		pthread_mutex_unlock(&ctx->jobs_lock);
		df_sleep_ms(20);
		pthread_mutex_lock(&ctx->jobs_lock);
		pthread_cond_broadcast(&ctx->jobs_cond);
	}
	int left = ctx->jobs_running;
	pthread_mutex_unlock(&ctx->jobs_lock);
	return left;
}

struct check {
	struct sn_ctx *ctx;
	struct sn_task *t;
	int64_t n;
};

static void *check_main(void *arg)
{
	struct check *c = arg;
	struct sn_task *t = c->t;
	char want[48] = "";
	int32_t ps = 0;
	int64_t framed = -1;
	pthread_mutex_lock(&t->lock);
	if (t->state == SN_CDN_DONE && sn_progress_cdn_has(t->prog, c->n)) {
		memcpy(want, t->piece_md5[c->n], 32); /* the md5 part of "md5:len" */
		ps = t->piece_size;
		framed = sn_task_framed_len_locked(t);
	}
	pthread_mutex_unlock(&t->lock);
	int rc = ps ? sn_fetch_check_piece(t->path, ps, framed, c->n, want) : 0;
	if (rc < 0) {
		log_error("task %.12s: the cached piece %" PRId64 " is damaged (%s); dropping the "
			  "cache, the next registration fetches it again", t->id, c->n,
			  strerror(-rc));
		discard_cache(t);
		pthread_mutex_lock(&t->lock);
		if (t->state == SN_CDN_DONE) {
			t->state = SN_CDN_FAILED;
			t->fail_code = DF_CODE_SUPER_FAIL;
			free(t->fail_msg);
			t->fail_msg = xstrdup("the supernode's cached copy was damaged; register again");
			t->fail_until_ms = df_mono_ms();
			sn_task_bump_locked(t);
		}
		pthread_mutex_unlock(&t->lock);
		sn_waitq_wake(c->ctx->waitq, &t->waiters, -1);
	} else if (ps) {
		log_info("task %.12s: piece %" PRId64 " checked: the cached copy is intact", t->id,
			 c->n);
	}
	struct sn_ctx *ctx = c->ctx;
	sn_task_unref(t);
	free(c);
	pthread_mutex_lock(&ctx->jobs_lock);
	ctx->jobs_running--;
	pthread_cond_broadcast(&ctx->jobs_cond);
	pthread_mutex_unlock(&ctx->jobs_lock);
	return NULL;
}

void sn_cdn_check_piece(struct sn_ctx *ctx, struct sn_task *t, int64_t n)
{
	struct check *c = xcalloc(1, sizeof(*c));
	c->ctx = ctx;
	c->t = t;
	c->n = n;
	sn_task_ref(t);
	if (spawn(ctx, check_main, c) < 0) {
		sn_task_unref(t);
		free(c);
	}
}

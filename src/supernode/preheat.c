/* preheat: the records, the queue and the workers (see preheat.h). ph.lock guards every
 * record field and the queue; a worker copies its request out, then resolves images,
 * starts CDN jobs and watches tasks with no preheat lock held (a task lock at a time, for
 * state reads only). Records are reference counted: a worker keeps the one it runs alive
 * while an operator deletes it. */
#include "config.h"
#include "preheat.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdn.h"
#include "ctx.h"
#include "image.h"
#include "json.h"
#include "log.h"
#include "preheatreq.h"
#include "progress.h"
#include "registry.h"
#include "regreq.h"
#include "settings.h"
#include "strmap.h"
#include "task.h"
#include "taskid.h"
#include "timeutil.h"
#include "xalloc.h"

/* Finished preheats kept at most (the oldest finished go first). */
#define MAX_RECORDS 1000
#define POLL_MS 100

static const char *const status_names[] = { "WAITING", "RUNNING", "SUCCESS", "FAILED" };

struct record {
	char id[65];
	int refs;		   /* the map's and each worker's */
	bool listed;		   /* in the map */
	atomic_bool cancel;	   /* deleted or stopping: the worker stops waiting */
	struct sn_preheat_req req; /* of the latest post */
	enum sn_preheat_status status;
	int64_t start_ms, finish_ms;
	char *error;
	int runs;
	uint64_t seq; /* order of creation */
	struct sn_preheat_item *items;
	size_t nitems;
	struct record *qnext;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sn_strmap *by_id;
	struct record *qhead, *qtail;
	pthread_t *threads;
	int nthreads;
	bool stopping;
	struct sn_ctx *ctx;
	uint64_t seq;
} ph = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

const char *sn_preheat_status_name(enum sn_preheat_status s)
{
	return s < SN_PH_COUNT ? status_names[s] : "UNKNOWN";
}

static void items_free(struct sn_preheat_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].url);
		free(items[i].digest);
		free(items[i].error);
	}
	free(items);
}

static void record_unref_locked(struct record *r)
{
	if (--r->refs > 0)
		return;
	sn_preheat_req_cleanup(&r->req);
	free(r->error);
	items_free(r->items, r->nitems);
	free(r);
}

static void set_error(struct record *r, const char *msg)
{
	free(r->error);
	r->error = xstrdup(msg);
}

/* ---------------------------------------------------------------- one task */

/* The registration a preheat makes for url (no peer: port 0, pattern cdn). */
static int make_regreq(const char *url, const char *task_url, const char *identifier,
		       char *const *headers, struct sn_regreq *r, char *err, size_t errsz)
{
	cJSON *j = df_json_object(), *h = df_json_array();
	df_json_add_str(j, "rawUrl", url);
	df_json_add_str(j, "taskUrl", task_url);
	df_json_add_str(j, "cid", "preheat");
	df_json_add_str(j, "ip", "127.0.0.1");
	df_json_add_int(j, "port", 0);
	df_json_add_str(j, "pattern", "cdn");
	df_json_add_str(j, "identifier", identifier);
	df_json_add_str(j, "callSystem", "dragonfly_preheat");
	for (size_t i = 0; headers && headers[i]; i++)
		cJSON_AddItemToArray(h, cJSON_CreateString(headers[i]));
	cJSON_AddItemToObject(j, "headers", h);
	char *body = df_json_print(j);
	cJSON_Delete(j);
	int rc = sn_regreq_parse("application/json", body, strlen(body), r, err, errsz);
	free(body);
	if (rc == 0)
		rc = sn_regreq_validate(r, err, errsz);
	else
		memset(r, 0, sizeof(*r));
	return rc;
}

/* Find or create the task of r and start its CDN job when it has none (as a registration
 * would, but a remembered failure is tried again). Returns the task (a reference). */
static struct sn_task *start_task(struct sn_ctx *ctx, const struct sn_regreq *r, char *id_r,
				  char *err, size_t errsz)
{
	df_task_id(r->task_url, r->md5, r->identifier, sn_regreq_range(r), id_r);
	struct sn_task *t = sn_registry_get(id_r);
	if (!t) {
		struct sn_task *fresh = sn_task_new(id_r, r, ctx->repo_dir, df_mono_ms());
		bool added;
		t = sn_registry_add(fresh, &added);
		sn_task_unref(fresh);
		if (added)
			log_info("task %.12s: new, for a preheat of %s", t->id, r->task_url);
	}
	bool start = false;
	pthread_mutex_lock(&t->lock);
	t->last_access_ms = df_mono_ms();
	if (!sn_task_same_identity(t, r)) {
		snprintf(err, errsz, "task id %s is taken by another URL or identifier", t->id);
		pthread_mutex_unlock(&t->lock);
		sn_task_unref(t);
		return NULL;
	}
	if (t->state == SN_CDN_NEW || (t->state == SN_CDN_FAILED && !t->job_running)) {
		sn_task_set_source_locked(t, r);
		sn_cdn_begin_locked(ctx, t);
		start = true;
	}
	pthread_mutex_unlock(&t->lock);
	if (start)
		sn_cdn_start(ctx, t);
	return t;
}

/* The task's outcome so far: WAITING/RUNNING while its job works. */
static enum sn_preheat_status task_outcome(struct sn_task *t, int64_t *len_r, char *err,
					   size_t errsz)
{
	enum sn_preheat_status s = SN_PH_RUNNING;
	pthread_mutex_lock(&t->lock);
	t->last_access_ms = df_mono_ms();
	*len_r = t->src_len;
	if (t->state == SN_CDN_DONE) {
		s = SN_PH_SUCCESS;
	} else if (t->state == SN_CDN_FAILED && !t->job_running) {
		s = SN_PH_FAILED;
		snprintf(err, errsz, "%s (code %d)", t->fail_msg ? t->fail_msg : "the fetch failed",
			 t->fail_code);
	}
	pthread_mutex_unlock(&t->lock);
	return s;
}

/* ---------------------------------------------------------------- a run */

struct run_item {
	struct sn_task *t;
	enum sn_preheat_status status;
	int64_t length;
	char error[320];
};

/* Copy the items' state into the record (under ph.lock). */
static void publish(struct record *r, const struct run_item *ri, size_t n)
{
	pthread_mutex_lock(&ph.lock);
	for (size_t i = 0; i < n && i < r->nitems; i++) {
		r->items[i].status = ri[i].status;
		r->items[i].length = ri[i].length;
		if (ri[i].status == SN_PH_FAILED) {
			free(r->items[i].error);
			r->items[i].error = xstrdup(ri[i].error);
		}
		if (ri[i].t)
			memcpy(r->items[i].task_id, ri[i].t->id, sizeof(r->items[i].task_id));
	}
	pthread_mutex_unlock(&ph.lock);
}

/* Start every item's task, then watch them until each settled. Returns 0 or -ECANCELED,
 * with the first failure in err. */
static int run_items(struct record *r, const struct sn_preheat_req *req, char *const *headers,
		     char *err, size_t errsz)
{
	struct sn_ctx *ctx = ph.ctx;
	size_t n = r->nitems; /* fixed for this run */
	struct run_item *ri = xcalloc(n + 1, sizeof(*ri));
	bool image = strcmp(req->type, "image") == 0;
	for (size_t i = 0; i < n; i++) {
		struct sn_regreq rr;
		char id[65];
		const char *url = r->items[i].url; /* immutable during the run */
		ri[i].status = SN_PH_RUNNING;
		ri[i].length = -1;
		if (make_regreq(url, image ? url : req->task_url, image ? "" : req->identifier,
				headers, &rr, ri[i].error, sizeof(ri[i].error)) == 0)
			ri[i].t = start_task(ctx, &rr, id, ri[i].error, sizeof(ri[i].error));
		if (!ri[i].t)
			ri[i].status = SN_PH_FAILED;
		sn_regreq_cleanup(&rr);
	}
	publish(r, ri, n);
	int rc = 0;
	for (;;) {
		size_t pending = 0;
		for (size_t i = 0; i < n; i++)
			if (ri[i].status == SN_PH_RUNNING) {
				ri[i].status = task_outcome(ri[i].t, &ri[i].length, ri[i].error,
							    sizeof(ri[i].error));
				pending += ri[i].status == SN_PH_RUNNING;
			}
		publish(r, ri, n);
		if (!pending)
			break;
		if (atomic_load(&r->cancel) || sn_ctx_stopping(ctx)) {
			rc = -ECANCELED;
			break;
		}
		df_sleep_ms(POLL_MS);
	}
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && ri[i].status == SN_PH_FAILED && !*err)
			snprintf(err, errsz, "%s%s%s", image ? r->items[i].digest : "",
				 image ? ": " : "", ri[i].error);
		sn_task_unref(ri[i].t);
	}
	free(ri);
	return rc;
}

static void set_items(struct record *r, char **urls, char **digests, size_t n)
{
	pthread_mutex_lock(&ph.lock);
	items_free(r->items, r->nitems);
	r->items = xcalloc(n + 1, sizeof(*r->items));
	r->nitems = n;
	for (size_t i = 0; i < n; i++) {
		r->items[i].url = xstrdup(urls[i]);
		r->items[i].digest = xstrdup(digests ? digests[i] : "");
		r->items[i].status = SN_PH_WAITING;
		r->items[i].length = -1;
		r->items[i].error = xstrdup("");
	}
	pthread_mutex_unlock(&ph.lock);
}

/* Run one preheat; returns its final status with the reason of a failure in err. */
static enum sn_preheat_status run(struct record *r, const struct sn_preheat_req *req,
				  char *err, size_t errsz)
{
	int rc;
	if (strcmp(req->type, "image") == 0) {
		struct sn_image_blobs b;
		rc = sn_image_resolve(req->url, (const char *const *)req->headers, &r->cancel, &b,
				      err, errsz);
		if (rc < 0)
			return SN_PH_FAILED;
		log_info("preheat %.12s: image %s has %zu blobs", r->id, req->url, b.n);
		set_items(r, b.urls, b.digests, b.n);
		rc = run_items(r, req, b.headers, err, errsz);
		sn_image_blobs_cleanup(&b);
	} else {
		char *urls[] = { req->url };
		set_items(r, urls, NULL, 1);
		rc = run_items(r, req, req->headers, err, errsz);
	}
	if (rc == -ECANCELED) {
		snprintf(err, errsz, "cancelled");
		return SN_PH_FAILED;
	}
	return *err ? SN_PH_FAILED : SN_PH_SUCCESS;
}

static void *worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ph.lock);
	while (!ph.stopping) {
		struct record *r = ph.qhead;
		if (!r) {
			pthread_cond_wait(&ph.cond, &ph.lock);
			continue;
		}
		ph.qhead = r->qnext;
		if (!ph.qhead)
			ph.qtail = NULL;
		r->qnext = NULL;
		r->refs++;
		r->status = SN_PH_RUNNING;
		r->runs++;
		struct sn_preheat_req req;
		sn_preheat_req_copy(&r->req, &req);
		pthread_mutex_unlock(&ph.lock);

		char err[512] = "";
		log_info("preheat %.12s: %s %s: running", r->id, req.type, req.url);
		enum sn_preheat_status s = run(r, &req, err, sizeof(err));
		if (s == SN_PH_FAILED)
			log_warn("preheat %.12s: %s failed: %s", r->id, req.url, err);
		else
			log_info("preheat %.12s: %s done", r->id, req.url);
		sn_preheat_req_cleanup(&req);

		pthread_mutex_lock(&ph.lock);
		r->status = s;
		r->finish_ms = df_wall_ms();
		set_error(r, s == SN_PH_FAILED ? err : "");
		record_unref_locked(r);
	}
	pthread_mutex_unlock(&ph.lock);
	return NULL;
}

/* ---------------------------------------------------------------- the API side */

int sn_preheat_start(struct sn_ctx *ctx)
{
	pthread_mutex_lock(&ph.lock);
	ph.ctx = ctx;
	ph.stopping = false;
	ph.by_id = sn_strmap_new();
	int want = (int)ctx->cfg->preheat_workers;
	ph.threads = xcalloc((size_t)want, sizeof(*ph.threads));
	pthread_mutex_unlock(&ph.lock);
	for (int i = 0; i < want; i++) {
		int rc = pthread_create(&ph.threads[i], NULL, worker_main, NULL);
		if (rc != 0) {
			log_errno(-rc, "cannot start a preheat worker");
			return -rc;
		}
		ph.nthreads++;
	}
	return 0;
}

void sn_preheat_stop(void)
{
	pthread_mutex_lock(&ph.lock);
	ph.stopping = true;
	size_t pos = 0;
	struct record *r;
	while (ph.by_id && (r = sn_strmap_next(ph.by_id, &pos, NULL)))
		atomic_store(&r->cancel, true);
	pthread_cond_broadcast(&ph.cond);
	pthread_mutex_unlock(&ph.lock);
	for (int i = 0; i < ph.nthreads; i++)
		pthread_join(ph.threads[i], NULL);
	pthread_mutex_lock(&ph.lock);
	pos = 0;
	while (ph.by_id && (r = sn_strmap_next(ph.by_id, &pos, NULL)))
		record_unref_locked(r);
	sn_strmap_free(ph.by_id);
	ph.by_id = NULL;
	ph.qhead = ph.qtail = NULL;
	free(ph.threads);
	ph.threads = NULL;
	ph.nthreads = 0;
	pthread_mutex_unlock(&ph.lock);
}

static void enqueue_locked(struct record *r)
{
	r->status = SN_PH_WAITING;
	r->start_ms = df_wall_ms();
	r->finish_ms = 0;
	set_error(r, "");
	items_free(r->items, r->nitems);
	r->items = NULL;
	r->nitems = 0;
	r->qnext = NULL;
	if (ph.qtail)
		ph.qtail->qnext = r;
	else
		ph.qhead = r;
	ph.qtail = r;
	pthread_cond_signal(&ph.cond);
}

/* Keep at most MAX_RECORDS: forget the oldest finished ones. */
static void trim_locked(void)
{
	while (sn_strmap_count(ph.by_id) >= MAX_RECORDS) {
		struct record *r, *oldest = NULL;
		size_t pos = 0;
		while ((r = sn_strmap_next(ph.by_id, &pos, NULL)))
			if (r->status >= SN_PH_SUCCESS && (!oldest || r->seq < oldest->seq))
				oldest = r;
		if (!oldest)
			return;
		sn_strmap_del(ph.by_id, oldest->id);
		oldest->listed = false;
		record_unref_locked(oldest);
	}
}

int sn_preheat_post(const struct sn_preheat_req *req, bool *started_r)
{
	int rc = 0;
	*started_r = false;
	pthread_mutex_lock(&ph.lock);
	if (ph.stopping || !ph.by_id) {
		rc = -ESHUTDOWN;
		goto out;
	}
	struct record *r = sn_strmap_get(ph.by_id, req->id);
	if (r && (r->status == SN_PH_WAITING || r->status == SN_PH_RUNNING))
		goto out; /* the same preheat is on its way */
	if (!r) {
		trim_locked();
		r = xcalloc(1, sizeof(*r));
		memcpy(r->id, req->id, sizeof(r->id));
		r->refs = 1;
		r->listed = true;
		r->seq = ++ph.seq;
		atomic_init(&r->cancel, false);
		r->error = xstrdup("");
		sn_strmap_put(ph.by_id, r->id, r);
	} else {
		sn_preheat_req_cleanup(&r->req);
		log_info("preheat %.12s: posted again after it finished: running it again", r->id);
	}
	sn_preheat_req_copy(req, &r->req);
	enqueue_locked(r);
	*started_r = true;
out:
	pthread_mutex_unlock(&ph.lock);
	return rc;
}

static void copy_view_locked(const struct record *r, struct sn_preheat_view *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->id, r->id, sizeof(v->id));
	snprintf(v->type, sizeof(v->type), "%s", r->req.type);
	v->url = xstrdup(r->req.url);
	v->status = r->status;
	v->start_ms = r->start_ms;
	v->finish_ms = r->finish_ms;
	v->error = xstrdup(r->error ? r->error : "");
	v->runs = r->runs;
	v->items = xcalloc(r->nitems + 1, sizeof(*v->items));
	v->nitems = r->nitems;
	for (size_t i = 0; i < r->nitems; i++) {
		v->items[i] = r->items[i];
		v->items[i].url = xstrdup(r->items[i].url);
		v->items[i].digest = xstrdup(r->items[i].digest);
		v->items[i].error = xstrdup(r->items[i].error ? r->items[i].error : "");
	}
}

int sn_preheat_get(const char *id, struct sn_preheat_view *v_r)
{
	pthread_mutex_lock(&ph.lock);
	struct record *r = ph.by_id ? sn_strmap_get(ph.by_id, id) : NULL;
	if (r)
		copy_view_locked(r, v_r);
	pthread_mutex_unlock(&ph.lock);
	return r ? 0 : -ENOENT;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct record *x = *(struct record *const *)a, *y = *(struct record *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct sn_preheat_view *sn_preheat_list(size_t *n_r)
{
	pthread_mutex_lock(&ph.lock);
	size_t n = ph.by_id ? sn_strmap_count(ph.by_id) : 0, i = 0, pos = 0;
	struct record **rs = xcalloc(n + 1, sizeof(*rs)), *r;
	while (ph.by_id && i < n && (r = sn_strmap_next(ph.by_id, &pos, NULL)))
		rs[i++] = r;
	qsort(rs, i, sizeof(*rs), cmp_seq);
	struct sn_preheat_view *v = xcalloc(i + 1, sizeof(*v));
	for (size_t k = 0; k < i; k++)
		copy_view_locked(rs[k], &v[k]);
	pthread_mutex_unlock(&ph.lock);
	free(rs);
	*n_r = i;
	return v;
}

void sn_preheat_view_cleanup(struct sn_preheat_view *v)
{
	free(v->url);
	free(v->error);
	items_free(v->items, v->nitems);
	memset(v, 0, sizeof(*v));
}

void sn_preheat_views_free(struct sn_preheat_view *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		sn_preheat_view_cleanup(&v[i]);
	free(v);
}

int sn_preheat_delete(const char *id)
{
	pthread_mutex_lock(&ph.lock);
	struct record *r = ph.by_id ? sn_strmap_del(ph.by_id, id) : NULL;
	if (r) {
		atomic_store(&r->cancel, true);
		r->listed = false;
		/* Out of the queue if it waits there. */
		for (struct record **pp = &ph.qhead; *pp; pp = &(*pp)->qnext)
			if (*pp == r) {
				*pp = r->qnext;
				break;
			}
		ph.qtail = NULL;
		for (struct record *q = ph.qhead; q; q = q->qnext)
			ph.qtail = q;
		record_unref_locked(r);
	}
	pthread_mutex_unlock(&ph.lock);
	if (r)
		log_info("preheat %.12s: deleted by an operator", id);
	return r ? 0 : -ENOENT;
}

void sn_preheat_counts(int by_status[SN_PH_COUNT])
{
	memset(by_status, 0, SN_PH_COUNT * sizeof(*by_status));
	pthread_mutex_lock(&ph.lock);
	size_t pos = 0;
	struct record *r;
	while (ph.by_id && (r = sn_strmap_next(ph.by_id, &pos, NULL)))
		by_status[r->status]++;
	pthread_mutex_unlock(&ph.lock);
}

/* gc: the collector thread (see gc.h). Task passes take each task's lock briefly; the disk
 * pass scans and deletes with no task lock, under its own mutex (gc_lock), which CDN jobs
 * pass through (sn_gc_barrier) before they use a task's cache files. An operator's task
 * deletion (sn_gc_drop_task) deletes under gc_lock too. Each tick also samples the
 * counters for the status page's history (metrics.h). */
#include "config.h"
#include "gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "peerapi.h"
#include "progress.h"
#include "registry.h"
#include "settings.h"
#include "stats.h"
#include "task.h"
#include "taskid.h"
#include "timeutil.h"
#include "waitq.h"
#include "xalloc.h"

static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;

struct sn_gc {
	struct sn_ctx *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

void sn_gc_barrier(void)
{
	pthread_mutex_lock(&gc_lock);
	pthread_mutex_unlock(&gc_lock);
}

/* Expire transfers and departed clients of t; true when t may be forgotten. */
static bool sweep_task(struct sn_ctx *ctx, struct sn_task *t, int64_t now, bool *released)
{
	const struct sn_settings *cfg = ctx->cfg;
	pthread_mutex_lock(&t->lock);
	struct sn_progress *p = t->prog;
	int before = p->sn_load;
	int n = sn_progress_expire(p, now, cfg->piece_timeout);
	for (int32_t i = 0; i < p->nclients; i++) {
		struct sn_client *c = p->clients[i];
		if (!c)
			continue;
		bool gone = (c->down || c->isolated) && c->down_ms &&
			    now - c->down_ms >= cfg->peer_gc_delay;
		bool silent = now - c->last_seen_ms >= cfg->peer_gc_delay;
		if (gone || (silent && !sn_client_usable(c))) {
			sn_progress_remove(p, c); /* nothing left to serve others */
			SN_STAT_ADD(gc_clients, 1);
			n++;
		} else if (silent && !c->finished) {
			sn_progress_finish(p, c); /* a seed now, if anything */
			n++;
		}
	}
	sn_sync_load_locked(ctx, t, before);
	if (n)
		sn_task_bump_locked(t);
	bool idle = now - t->last_access_ms >= cfg->task_expire_time && !t->job_running &&
		    (t->state != SN_CDN_FAILED || now >= t->fail_until_ms);
	pthread_mutex_unlock(&t->lock);
	*released = n > 0;
	return idle && sn_waitq_list_len(ctx->waitq, &t->waiters) == 0;
}

int sn_gc_tasks(struct sn_ctx *ctx, int64_t now_ms)
{
	size_t n;
	int forgotten = 0;
	struct sn_task **tasks = sn_registry_tasks(&n);
	for (size_t i = 0; i < n; i++) {
		struct sn_task *t = tasks[i];
		bool released;
		bool idle = sweep_task(ctx, t, now_ms, &released);
		if (released)
			sn_waitq_wake(ctx->waitq, &t->waiters, 16);
		if (idle && sn_registry_remove(t)) {
			log_info("task %.12s: idle, forgotten (its cache stays)", t->id);
			utimensat(AT_FDCWD, t->meta_path, NULL, 0); /* last use, for the disk GC */
			char *ca = xasprintf("%s/%s.ca.pem", ctx->tmp_dir, t->id);
			unlink(ca);
			free(ca);
			SN_STAT_ADD(gc_tasks, 1);
			forgotten++;
		}
		sn_task_unref(t);
	}
	free(tasks);
	int64_t keep = ctx->cfg->task_expire_time > ctx->cfg->peer_gc_delay
			       ? ctx->cfg->task_expire_time
			       : ctx->cfg->peer_gc_delay;
	sn_registry_peer_expire(df_wall_ms() - keep);
	return forgotten;
}

struct entry {
	char id[DF_TASK_ID_LEN + 1];
	int64_t bytes;
	int64_t mtime;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Every cached task under repo (data file and meta). */
static struct entry *scan(const char *repo, size_t *n_r, int64_t *total_r)
{
	size_t n = 0, cap = 64;
	struct entry *out = xmalloc(cap * sizeof(*out));
	*total_r = 0;
	DIR *top = opendir(repo);
	struct dirent *d;
	while (top && (d = readdir(top))) {
		if (strlen(d->d_name) != 3 || d->d_name[0] == '.')
			continue;
		char *sub = xasprintf("%s/%s", repo, d->d_name);
		DIR *dir = opendir(sub);
		struct dirent *e;
		while (dir && (e = readdir(dir))) {
			struct stat st, ms;
			if (!df_task_id_valid(e->d_name))
				continue;
			char *path = xasprintf("%s/%s", sub, e->d_name);
			char *meta = xasprintf("%s.meta", path);
			if (stat(path, &st) == 0) {
				if (n == cap)
					out = xrealloc(out, (cap *= 2) * sizeof(*out));
				memcpy(out[n].id, e->d_name, sizeof(out[n].id));
				out[n].bytes = (int64_t)st.st_blocks * 512;
				out[n].mtime = (int64_t)st.st_mtime;
				if (stat(meta, &ms) == 0) {
					out[n].bytes += (int64_t)ms.st_blocks * 512;
					out[n].mtime = (int64_t)ms.st_mtime;
				}
				*total_r += out[n].bytes;
				n++;
			}
			free(path);
			free(meta);
		}
		if (dir)
			closedir(dir);
		free(sub);
	}
	if (top)
		closedir(top);
	*n_r = n;
	return out;
}

static bool room(const struct sn_settings *cfg, int64_t free_b, int64_t total, int64_t need)
{
	return free_b - need >= cfg->cache_free_min &&
	       (cfg->cache_size == 0 || total + need <= cfg->cache_size);
}

int sn_gc_disk(struct sn_ctx *ctx, int64_t need)
{
	const struct sn_settings *cfg = ctx->cfg;
	int64_t free_b = 0;
	if (df_free_space(ctx->repo_dir, &free_b) < 0)
		return 0; /* cannot tell: let the write decide */
	if (cfg->cache_size == 0 && free_b - need >= cfg->cache_free_min)
		return 0;
	pthread_mutex_lock(&gc_lock);
	size_t n;
	int64_t total;
	struct entry *e = scan(ctx->repo_dir, &n, &total);
	qsort(e, n, sizeof(*e), cmp_entry);
	for (size_t i = 0; i < n && !room(cfg, free_b, total, need); i++) {
		struct sn_task *t = sn_registry_get(e[i].id);
		if (t) { /* in use */
			sn_task_unref(t);
			continue;
		}
		char *path = xasprintf("%s/%.3s/%s", ctx->repo_dir, e[i].id, e[i].id);
		char *meta = xasprintf("%s.meta", path);
		unlink(path);
		unlink(meta);
		log_info("cache gc: removed %.12s (%" PRId64 " bytes, least recently used)",
			 e[i].id, e[i].bytes);
		SN_STAT_ADD(gc_cache_files, 1);
		SN_STAT_ADD(gc_cache_bytes, e[i].bytes);
		free(path);
		free(meta);
		free_b += e[i].bytes;
		total -= e[i].bytes;
	}
	df_free_space(ctx->repo_dir, &free_b);
	bool ok = room(cfg, free_b, total, need);
	pthread_mutex_unlock(&gc_lock);
	free(e);
	return ok ? 0 : -ENOSPC;
}

void sn_gc_cache_usage(struct sn_ctx *ctx, int64_t *bytes_r, int64_t *files_r)
{
	size_t n;
	struct entry *e = scan(ctx->repo_dir, &n, bytes_r);
	free(e);
	*files_r = (int64_t)n;
}

int sn_gc_drop_task(struct sn_ctx *ctx, struct sn_task *t, bool full)
{
	int rc = 0;
	/* Under the disk lock: a CDN job of a task registered again meanwhile looks at the
	 * cache files only after the deletion (it passes sn_gc_barrier first). */
	pthread_mutex_lock(&gc_lock);
	pthread_mutex_lock(&t->lock);
	bool running = t->job_running;
	pthread_mutex_unlock(&t->lock);
	if (full && running) {
		rc = -EBUSY;
		goto out;
	}
	if (!sn_registry_remove(t)) {
		rc = -ENOENT;
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	struct sn_progress *p = t->prog;
	int before = p->sn_load;
	for (int32_t i = 0; i < p->nclients; i++)
		if (p->clients[i])
			sn_progress_remove(p, p->clients[i]);
	sn_sync_load_locked(ctx, t, before);
	sn_task_bump_locked(t);
	pthread_mutex_unlock(&t->lock);
	if (full) {
		unlink(t->path);
		unlink(t->meta_path);
	}
	char *ca = xasprintf("%s/%s.ca.pem", ctx->tmp_dir, t->id);
	unlink(ca);
	free(ca);
out:
	pthread_mutex_unlock(&gc_lock);
	if (rc == 0) {
		sn_waitq_wake(ctx->waitq, &t->waiters, -1);
		log_info("task %.12s: deleted by an operator%s", t->id,
			 full ? ", with its cached files" : " (its cache stays)");
	}
	return rc;
}

static void *gc_main(void *arg)
{
	struct sn_gc *g = arg;
	int64_t next_disk = df_mono_ms() + 5000;
	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->lock);
		int64_t now = df_mono_ms();
		sn_gc_tasks(g->ctx, now);
		sn_metrics_sample(g->ctx, df_wall_ms());
		if (now >= next_disk) {
			if (sn_gc_disk(g->ctx, 0) < 0)
				log_warn("cache gc: the cache filesystem stays below cache-free-min "
					 "(%" PRId64 " bytes): free space or lower the setting",
					 g->ctx->cfg->cache_free_min);
			next_disk = now + g->ctx->cfg->gc_interval;
		}
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct sn_gc *sn_gc_start(struct sn_ctx *ctx)
{
	struct sn_gc *g = xcalloc(1, sizeof(*g));
	g->ctx = ctx;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->thread, NULL, gc_main, g) != 0) {
		log_error("cannot start the GC thread");
		pthread_cond_destroy(&g->cond);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	return g;
}

void sn_gc_stop(struct sn_gc *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

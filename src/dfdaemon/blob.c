/* Shared blob downloads (see blob.h).
 *
 * Lifetime: a blob is referenced by the registry's map (while running, and blob_keep after
 * it finished), by its download thread (until dg_download returns) and by each reader.
 * The last dd_blob_put closes its file and unlinks its output.
 * Locks: registry lock (map, refs, nrunning) -> never taken under a blob lock. A blob's
 * lock guards its progress fields. */
#include "config.h"
#include "blob.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfget/download.h"
#include "fsutil.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

struct dd_blob {
	struct dd_blobs *owner;		/* immutable */
	char digest[65];		/* immutable: the key */
	char sha256[65];		/* immutable: "" = none */
	char *url;			/* immutable */
	char **headers;			/* immutable, NULL-terminated */
	bool insecure;			/* immutable */
	char *cacerts;			/* immutable, or NULL */
	char *output;			/* immutable */
	int refs;			/* guarded by owner->lock */
	struct dd_blob *next;		/* guarded by owner->lock (the map) */
	bool in_map;			/* guarded by owner->lock */
	int64_t finished_us;		/* guarded by owner->lock */
	char *cur_path;			/* the download thread's own */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned version;		/* guarded by lock, and all below */
	enum dd_blob_state state;
	int64_t total, in_order;
	unsigned gen;
	int fd;
	int64_t last_progress_us;
	char err[256];
};

struct dd_blobs {
	struct dd_blob_cfg cfg;		/* immutable */
	struct dd_stats *stats;
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* nrunning dropped */
	struct dd_blob *head;		/* guarded by lock */
	unsigned nrunning;		/* guarded by lock */
	unsigned long seq;		/* guarded by lock */
	atomic_bool stopping;
};

struct dd_blobs *dd_blobs_new(const struct dd_blob_cfg *cfg, struct dd_stats *stats,
			      char *err, size_t errsz)
{
	int rc = df_mkdir_p(cfg->localrepo, 0755);
	if (rc < 0) {
		snprintf(err, errsz, "cannot create %s: %s", cfg->localrepo, strerror(-rc));
		return NULL;
	}
	struct dd_blobs *b = xcalloc(1, sizeof(*b));
	b->cfg = *cfg;
	b->stats = stats;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->idle, NULL);
	atomic_init(&b->stopping, false);
	return b;
}

static void blob_destroy(struct dd_blob *blob)
{
	if (blob->fd >= 0)
		close(blob->fd);
	unlink(blob->output);
	for (size_t i = 0; blob->headers[i]; i++)
		free(blob->headers[i]);
	free(blob->headers);
	free(blob->url);
	free(blob->cacerts);
	free(blob->output);
	free(blob->cur_path);
	pthread_mutex_destroy(&blob->lock);
	pthread_cond_destroy(&blob->cond);
	free(blob);
}

void dd_blob_put(struct dd_blob *blob)
{
	if (!blob)
		return;
	struct dd_blobs *b = blob->owner;
	pthread_mutex_lock(&b->lock);
	bool last = --blob->refs == 0;
	pthread_mutex_unlock(&b->lock);
	if (last)
		blob_destroy(blob);
}

/* Unlink blob from the map. */
static void unmap_locked(struct dd_blobs *b, struct dd_blob *blob)
{
	for (struct dd_blob **pp = &b->head; *pp; pp = &(*pp)->next) {
		if (*pp == blob) {
			*pp = blob->next;
			blob->in_map = false;
			blob->refs--;
			return;
		}
	}
}

/* Drop finished blobs older than keep_ms; returns those whose last reference went. */
static struct dd_blob *expire_locked(struct dd_blobs *b, int64_t now)
{
	struct dd_blob *dead = NULL, *next;
	for (struct dd_blob *blob = b->head; blob; blob = next) {
		next = blob->next;
		if (blob->finished_us && now - blob->finished_us >= b->cfg.keep_ms * 1000) {
			unmap_locked(b, blob);
			if (blob->refs == 0) {
				blob->next = dead;
				dead = blob;
			}
		}
	}
	return dead;
}

static void set_state(struct dd_blob *blob, enum dd_blob_state st, int fd, int64_t total,
		      const char *err)
{
	pthread_mutex_lock(&blob->lock);
	int old = -1;
	if (fd >= 0) {
		old = blob->fd;
		blob->fd = fd;
		blob->gen++;
	}
	blob->state = st;
	if (total >= 0)
		blob->total = blob->in_order = total;
	if (err)
		snprintf(blob->err, sizeof(blob->err), "%s", err);
	blob->version++;
	pthread_cond_broadcast(&blob->cond);
	pthread_mutex_unlock(&blob->lock);
	if (old >= 0)
		close(old);
}

/* The engine's progress callback, on the download thread. */
static int on_progress(const struct dg_progress *p, void *arg)
{
	struct dd_blob *blob = arg;
	int fd = -1, old = -1;
	if (p->data_path && (!blob->cur_path || strcmp(blob->cur_path, p->data_path) != 0)) {
		fd = open(p->data_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			free(blob->cur_path);
			blob->cur_path = xstrdup(p->data_path);
		}
	}
	bool current = blob->cur_path && p->data_path && strcmp(blob->cur_path, p->data_path) == 0;
	pthread_mutex_lock(&blob->lock);
	if (fd >= 0) {
		old = blob->fd;
		blob->fd = fd;
		blob->gen++;
	}
	if (current && (p->in_order != blob->in_order || fd >= 0)) {
		blob->in_order = p->in_order;
		blob->last_progress_us = df_mono_us();
	}
	blob->total = p->total;
	blob->version++;
	pthread_cond_broadcast(&blob->cond);
	pthread_mutex_unlock(&blob->lock);
	if (old >= 0)
		close(old);
	return atomic_load(&blob->owner->stopping) ? 1 : 0;
}

static void run_download(struct dd_blob *blob, struct dg_result *res, int *code_r, char *err,
			 size_t errsz)
{
	const struct dd_blob_cfg *c = &blob->owner->cfg;
	struct dg_request rq;
	dg_request_init(&rq);
	rq.url = blob->url;
	rq.output = blob->output;
	rq.headers = (const char *const *)blob->headers;
	rq.sha256 = blob->sha256[0] ? blob->sha256 : NULL;
	rq.callsystem = c->callsystem;
	rq.pattern = DG_PATTERN_P2P;
	rq.nodes = c->nodes;
	rq.local_limit = c->ratelimit;
	rq.total_limit = c->ratelimit;
	rq.home = c->home;
	rq.notbs = true; /* the fallback is each request's own, with its own credentials */
	rq.insecure = blob->insecure;
	rq.cacerts = blob->cacerts;
	rq.dfdaemon = true;
	rq.ip = c->ip;
	rq.port = c->peer_port;
	rq.alive_ms = c->alive_ms;
	rq.expire_ms = c->expire_ms;
	rq.uploader_exe = c->dfget;
	rq.verbose_uploader = c->verbose;
	rq.progress = on_progress;
	rq.progress_arg = blob;
	*code_r = dg_download(&rq, res, err, errsz);
}

static void *download_main(void *arg)
{
	struct dd_blob *blob = arg;
	struct dd_blobs *b = blob->owner;
	struct dg_result res;
	char err[512] = "";
	int code;
	run_download(blob, &res, &code, err, sizeof(err));
	if (code == 0) {
		int fd = -1;
		if (!blob->cur_path || strcmp(blob->cur_path, blob->output) != 0)
			fd = open(blob->output, O_RDONLY | O_CLOEXEC);
		log_info("blob %.12s: P2P download done, %lld bytes (%lld from peers, %lld from "
			 "the supernode) in %.3f s",
			 blob->digest, (long long)res.length, (long long)res.from_peers,
			 (long long)res.from_supernode, (double)res.duration_us / 1e6);
		pthread_mutex_lock(&b->lock);
		blob->finished_us = df_mono_us();
		pthread_mutex_unlock(&b->lock);
		set_state(blob, DD_BLOB_DONE, fd, res.length, NULL);
	} else {
		atomic_fetch_add(&b->stats->p2p_failed, 1);
		log_warn("blob %.12s: P2P download failed (exit %d): %s", blob->digest, code, err);
		pthread_mutex_lock(&b->lock);
		if (blob->in_map)
			unmap_locked(b, blob);
		pthread_mutex_unlock(&b->lock);
		set_state(blob, DD_BLOB_FAILED, -1, -1, err);
	}
	pthread_mutex_lock(&b->lock);
	b->nrunning--;
	pthread_cond_broadcast(&b->idle);
	bool last = --blob->refs == 0;
	pthread_mutex_unlock(&b->lock);
	if (last)
		blob_destroy(blob);
	return NULL;
}

static struct dd_blob *blob_new(struct dd_blobs *b, const char *digest, const char *sha256,
				const char *url, const char *const *headers, bool insecure,
				const char *cacerts, unsigned long seq)
{
	struct dd_blob *blob = xcalloc(1, sizeof(*blob));
	blob->owner = b;
	snprintf(blob->digest, sizeof(blob->digest), "%s", digest);
	snprintf(blob->sha256, sizeof(blob->sha256), "%s", sha256 ? sha256 : "");
	blob->url = xstrdup(url);
	blob->insecure = insecure;
	blob->cacerts = cacerts && *cacerts ? xstrdup(cacerts) : NULL;
	size_t n = 0;
	while (headers && headers[n])
		n++;
	blob->headers = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		blob->headers[i] = xstrdup(headers[i]);
	blob->output = xasprintf("%s/%s.%lu", b->cfg.localrepo, digest, seq);
	blob->fd = -1;
	blob->total = -1;
	blob->last_progress_us = df_mono_us();
	pthread_mutex_init(&blob->lock, NULL);
	pthread_cond_init(&blob->cond, NULL);
	return blob;
}

static void destroy_list(struct dd_blob *dead)
{
	while (dead) {
		struct dd_blob *next = dead->next;
		blob_destroy(dead);
		dead = next;
	}
}

struct dd_blob *dd_blobs_get(struct dd_blobs *b, const char *digest, const char *sha256,
			     const char *url, const char *const *headers, bool insecure,
			     const char *cacerts, bool *joined_r)
{
	pthread_mutex_lock(&b->lock);
	struct dd_blob *dead = expire_locked(b, df_mono_us()), *blob;
	for (blob = b->head; blob; blob = blob->next)
		if (strcmp(blob->digest, digest) == 0)
			break;
	*joined_r = blob != NULL;
	if (blob) {
		blob->refs++;
		pthread_mutex_unlock(&b->lock);
		destroy_list(dead);
		atomic_fetch_add(&b->stats->p2p_joined, 1);
		return blob;
	}
	blob = blob_new(b, digest, sha256, url, headers, insecure, cacerts, ++b->seq);
	blob->refs = 3; /* the map, the thread, the caller */
	blob->in_map = true;
	blob->next = b->head;
	b->head = blob;
	b->nrunning++;
	pthread_mutex_unlock(&b->lock);
	destroy_list(dead);
	atomic_fetch_add(&b->stats->p2p_started, 1);
	log_info("blob %.12s: starting a P2P download of %s", digest, url);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, download_main, blob);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_errno(rc, "cannot start a download thread");
		pthread_mutex_lock(&b->lock);
		unmap_locked(b, blob);
		b->nrunning--;
		blob->refs--;
		pthread_mutex_unlock(&b->lock);
		set_state(blob, DD_BLOB_FAILED, -1, -1, "cannot start a download thread");
	}
	return blob;
}

void dd_blob_wait(struct dd_blob *blob, unsigned have_version, unsigned have_gen,
		  int64_t timeout_ms, struct dd_blob_view *v_r)
{
	pthread_mutex_lock(&blob->lock);
	if (blob->version == have_version && timeout_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (timeout_ms % 1000) * 1000000;
		ts.tv_sec += timeout_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&blob->cond, &blob->lock, &ts);
	}
	v_r->version = blob->version;
	v_r->state = blob->state;
	v_r->total = blob->total;
	v_r->in_order = blob->in_order;
	v_r->gen = blob->gen;
	v_r->fd = blob->gen != have_gen && blob->fd >= 0 ? fcntl(blob->fd, F_DUPFD_CLOEXEC, 0)
							   : -1;
	v_r->idle_ms = (df_mono_us() - blob->last_progress_us) / 1000;
	snprintf(v_r->err, sizeof(v_r->err), "%s", blob->err);
	pthread_mutex_unlock(&blob->lock);
}

void dd_blobs_expire(struct dd_blobs *b)
{
	pthread_mutex_lock(&b->lock);
	struct dd_blob *dead = expire_locked(b, df_mono_us());
	pthread_mutex_unlock(&b->lock);
	destroy_list(dead);
}

void dd_blobs_cancel(struct dd_blobs *b)
{
	if (b)
		atomic_store(&b->stopping, true);
}

void dd_blobs_free(struct dd_blobs *b)
{
	if (!b)
		return;
	atomic_store(&b->stopping, true);
	pthread_mutex_lock(&b->lock);
	int64_t deadline = df_mono_us() + 30 * 1000000LL;
	while (b->nrunning > 0 && df_mono_us() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&b->idle, &b->lock, &ts);
	}
	unsigned left = b->nrunning;
	struct dd_blob *dead = NULL;
	while (b->head) {
		struct dd_blob *blob = b->head;
		unmap_locked(b, blob);
		if (blob->refs == 0) {
			blob->next = dead;
			dead = blob;
		}
	}
	pthread_mutex_unlock(&b->lock);
	destroy_list(dead);
	if (left) {
		log_warn("%u blob downloads did not stop in time", left);
		return; /* their threads still use b */
	}
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->idle);
	free(b);
}

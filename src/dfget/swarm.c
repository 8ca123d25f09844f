/* Piece table, workers and in-order hasher of one P2P download (see swarm.h).
 *
 * Locking: sw->lock guards everything marked "guarded"; sw->cond is broadcast on every
 * change (new work, a result, a piece done, hashing progress, shutdown). Workers and the
 * hasher drop the lock for fetching, hashing, file and network I/O. */
#include "config.h"
#include "swarm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "piece.h"
#include "timeutil.h"
#include "xalloc.h"

#define MAX_PIECES_UNKNOWN (1 << 22)
#define HASH_CHUNK (256 * 1024)
#define WORKER_NICE 4

enum { PS_MISSING, PS_QUEUED, PS_RUNNING, PS_DONE };

struct pstate {
	uint8_t st;
	uint8_t fails;
	int32_t clen; /* content bytes, once DONE */
};

struct work {
	struct work *next;
	struct dg_piece_task t;
};

struct resq {
	struct resq *next;
	struct dg_swarm_result r;
};

struct worker {
	struct dg_swarm *sw;
	struct dg_fetcher *fetcher;
	pthread_t thread;
	bool started;
	bool from_sn; /* guarded: its current piece comes from the supernode */
};

struct dg_swarm {
	struct dg_job *job;	   /* immutable */
	int data_fd, map_fd;	   /* immutable */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int32_t piece_size;	   /* guarded; immutable once started */
	int64_t file_length;	   /* guarded; -1 unknown */
	int64_t npieces;	   /* guarded; -1 unknown */
	struct pstate *ps;	   /* guarded */
	size_t ps_len;		   /* guarded */
	struct work *wq_head, *wq_tail; /* guarded */
	struct resq *rq_head, *rq_tail; /* guarded */
	int running;		   /* guarded */
	bool quit;		   /* guarded */
	char node[300];		   /* guarded */
	char task_id[65];	   /* guarded */
	int64_t hashed;		   /* guarded: pieces hashed in order */
	bool hash_done, hash_failed; /* guarded */
	char md5[33], sha256[65];  /* guarded, once hash_done */
	bool want_sha256;	   /* immutable once started */
	struct worker *workers;
	unsigned nworkers;
	pthread_t hasher;
	bool hasher_started;
};

static void timed_wait(struct dg_swarm *sw, int64_t us)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ns = ts.tv_nsec + (us % 1000000) * 1000;
	ts.tv_sec += us / 1000000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_cond_timedwait(&sw->cond, &sw->lock, &ts);
}

void dg_swarm_result_cleanup(struct dg_swarm_result *r)
{
	if (r)
		dg_piece_task_cleanup(&r->task);
}

struct dg_swarm *dg_swarm_new(struct dg_job *job, int data_fd, int map_fd)
{
	struct dg_swarm *sw = xcalloc(1, sizeof(*sw));
	sw->job = job;
	sw->data_fd = data_fd;
	sw->map_fd = map_fd;
	sw->file_length = -1;
	sw->npieces = -1;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sw->cond, &ca);
	pthread_condattr_destroy(&ca);
	return sw;
}

/* Make room for piece n. Returns false when n is impossible. */
static bool grow_locked(struct dg_swarm *sw, int64_t n)
{
	if (n < 0 || (sw->npieces >= 0 && n >= sw->npieces) || n >= MAX_PIECES_UNKNOWN)
		return false;
	if ((size_t)n < sw->ps_len)
		return true;
	size_t len = sw->ps_len ? sw->ps_len : 64;
	while (len <= (size_t)n)
		len *= 2;
	sw->ps = xrealloc(sw->ps, len * sizeof(*sw->ps));
	memset(sw->ps + sw->ps_len, 0, (len - sw->ps_len) * sizeof(*sw->ps));
	sw->ps_len = len;
	return true;
}

static void push_result_locked(struct dg_swarm *sw, struct resq *q)
{
	q->next = NULL;
	if (sw->rq_tail)
		sw->rq_tail->next = q;
	else
		sw->rq_head = q;
	sw->rq_tail = q;
}

/* ---------------------------------------------------------------- workers */

static void finish_piece(struct dg_swarm *sw, struct work *w, int rc,
			 const struct dg_fetch_result *res, const char *why)
{
	struct dg_job *job = sw->job;
	struct resq *q = xcalloc(1, sizeof(*q));
	q->r.task = w->t; /* moves the strings */
	q->r.ok = rc == 0;
	q->r.error = res->error;
	memcpy(q->r.real_md5, res->real_md5, sizeof(q->r.real_md5));
	snprintf(q->r.why, sizeof(q->r.why), "%s", why);
	int64_t n = w->t.num;
	pthread_mutex_lock(&sw->lock);
	struct pstate *p = &sw->ps[n];
	if (rc == 0) {
		p->st = PS_DONE;
		p->clen = (int32_t)res->content_len;
		atomic_fetch_add(&job->done, res->content_len);
		atomic_fetch_add(w->t.from_supernode ? &job->from_supernode : &job->from_peers,
				 res->content_len);
	} else {
		p->st = PS_MISSING;
		if (res->error != DG_FETCH_STOPPED && p->fails < 255)
			p->fails++;
	}
	q->r.fails = p->fails;
	sw->running--;
	push_result_locked(sw, q);
	pthread_cond_broadcast(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
	free(w);
}

static void report_suc(struct dg_swarm *sw, struct dg_fetcher *f, const char *range,
		       const char *dst_cid)
{
	char node[300], task_id[65], err[256];
	pthread_mutex_lock(&sw->lock);
	memcpy(node, sw->node, sizeof(node));
	memcpy(task_id, sw->task_id, sizeof(task_id));
	pthread_mutex_unlock(&sw->lock);
	if (!node[0])
		return;
	if (dg_sn_piece_suc(dg_fetcher_curl(f), node, task_id, sw->job->cid, dst_cid, range,
			    err, sizeof(err)) < 0)
		log_warn("reporting piece %s to %s failed: %s", range, node, err);
}

static void run_piece(struct worker *wk, struct work *w, int64_t expect)
{
	struct dg_swarm *sw = wk->sw;
	struct dg_fetch_result res;
	char why[256] = "";
	int rc = dg_fetch_piece(wk->fetcher, &w->t, expect, &res, why, sizeof(why));
	if (rc == 0 && sw->map_fd >= 0) {
		int mrc = dg_piecemap_mark(sw->map_fd, w->t.num);
		if (mrc < 0)
			log_warn_errno(mrc, "cannot mark piece %" PRId64 " in %s", w->t.num,
				       sw->job->map_path);
	}
	if (rc < 0 && res.error != DG_FETCH_STOPPED)
		log_warn("piece %" PRId64 " from %s:%d failed: %s", w->t.num, w->t.peer_ip,
			 w->t.peer_port, why);
	else if (rc == 0)
		log_debug("piece %" PRId64 " (%" PRId64 " B) from %s:%d in %" PRId64 " ms",
			  w->t.num, res.content_len, w->t.peer_ip, w->t.peer_port,
			  res.elapsed_us / 1000);
	char range[48], *dst = NULL;
	if (rc == 0) {
		memcpy(range, w->t.range, sizeof(range));
		dst = xstrdup(w->t.cid);
	}
	finish_piece(sw, w, rc, &res, why);
	if (dst) {
		report_suc(sw, wk->fetcher, range, dst);
		free(dst);
	}
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct dg_swarm *sw = wk->sw;
	/* Workers yield the CPU to the in-order hasher, so that the whole-file digest keeps
	 * pace with the pieces instead of trailing behind the last one (Linux: per thread). */
	errno = 0;
	int nice_now = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (errno == 0)
		setpriority(PRIO_PROCESS, (id_t)gettid(), nice_now + WORKER_NICE);
	pthread_mutex_lock(&sw->lock);
	for (;;) {
		while (!sw->quit && !sw->wq_head)
			pthread_cond_wait(&sw->cond, &sw->lock);
		if (sw->quit)
			break;
		struct work *w = sw->wq_head;
		sw->wq_head = w->next;
		if (!sw->wq_head)
			sw->wq_tail = NULL;
		sw->ps[w->t.num].st = PS_RUNNING;
		sw->running++;
		wk->from_sn = w->t.from_supernode;
		dg_fetcher_uncancel(wk->fetcher);
		int64_t expect = sw->file_length >= 0
					 ? df_piece_content_len(sw->file_length, sw->piece_size,
								w->t.num)
					 : -1;
		pthread_mutex_unlock(&sw->lock);
		run_piece(wk, w, expect);
		pthread_mutex_lock(&sw->lock);
		wk->from_sn = false;
	}
	pthread_mutex_unlock(&sw->lock);
	return NULL;
}

/* ---------------------------------------------------------------- hasher */

struct hasher {
	int fd;
	unsigned char *buf;
	struct df_digest md5, sha;
	bool sha_on;
};

static int hash_piece(struct dg_swarm *sw, struct hasher *h, int64_t n, int32_t clen,
		      int32_t piece_size)
{
	int64_t off = df_piece_content_offset(piece_size, n);
	int64_t left = clen;
	while (left > 0) {
		size_t k = left < HASH_CHUNK ? (size_t)left : HASH_CHUNK;
		int rc = df_pread_all(h->fd, h->buf, k, (off_t)off);
		if (rc < 0)
			return rc;
		df_digest_update(&h->md5, h->buf, k);
		if (h->sha_on)
			df_digest_update(&h->sha, h->buf, k);
		off += (int64_t)k;
		left -= (int64_t)k;
	}
	atomic_fetch_add(&sw->job->in_order, clen);
	return 0;
}

static void *hasher_main(void *arg)
{
	struct dg_swarm *sw = arg;
	struct hasher h;
	memset(&h, 0, sizeof(h));
	h.fd = open(sw->job->data_path, O_RDONLY | O_CLOEXEC);
	h.buf = xmalloc(HASH_CHUNK);
	df_digest_init(&h.md5, DF_DIGEST_MD5);
	pthread_mutex_lock(&sw->lock);
	h.sha_on = sw->want_sha256;
	if (h.sha_on)
		df_digest_init(&h.sha, DF_DIGEST_SHA256);
	bool failed = h.fd < 0;
	while (!failed) {
		while (!sw->quit && !((size_t)sw->hashed < sw->ps_len &&
				      sw->ps[sw->hashed].st == PS_DONE) &&
		       !(sw->npieces >= 0 && sw->hashed >= sw->npieces))
			pthread_cond_wait(&sw->cond, &sw->lock);
		if (sw->quit || (sw->npieces >= 0 && sw->hashed >= sw->npieces))
			break;
		int64_t n = sw->hashed;
		int32_t clen = sw->ps[n].clen, psize = sw->piece_size;
		pthread_mutex_unlock(&sw->lock);
		int rc = hash_piece(sw, &h, n, clen, psize);
		pthread_mutex_lock(&sw->lock);
		if (rc < 0) {
			log_errno(rc, "hashing %s", sw->job->data_path);
			failed = true;
			break;
		}
		sw->hashed++;
		pthread_cond_broadcast(&sw->cond);
	}
	bool complete = !failed && sw->npieces >= 0 && sw->hashed >= sw->npieces;
	if (complete) {
		df_digest_final_hex(&h.md5, sw->md5);
		if (h.sha_on)
			df_digest_final_hex(&h.sha, sw->sha256);
		sw->hash_done = true;
	} else {
		df_digest_abort(&h.md5);
		if (h.sha_on)
			df_digest_abort(&h.sha);
		sw->hash_failed = failed;
	}
	pthread_cond_broadcast(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
	if (h.fd >= 0)
		close(h.fd);
	free(h.buf);
	return NULL;
}

/* ---------------------------------------------------------------- control side */

int dg_swarm_start(struct dg_swarm *sw, int32_t piece_size, int64_t file_length,
		   unsigned workers, bool want_sha256)
{
	pthread_mutex_lock(&sw->lock);
	sw->piece_size = piece_size;
	sw->file_length = file_length;
	sw->npieces = file_length >= 0 ? df_piece_count(file_length, piece_size) : -1;
	sw->want_sha256 = want_sha256;
	if (sw->npieces >= 0)
		grow_locked(sw, sw->npieces - 1);
	pthread_mutex_unlock(&sw->lock);
	sw->nworkers = workers ? workers : 4;
	sw->workers = xcalloc(sw->nworkers, sizeof(*sw->workers));
	struct df_bucket *bucket = sw->job->hb ? dg_hostbucket_bucket(sw->job->hb) : NULL;
	for (unsigned i = 0; i < sw->nworkers; i++) {
		struct worker *wk = &sw->workers[i];
		wk->sw = sw;
		wk->fetcher = dg_fetcher_new(sw->data_fd, bucket, &sw->job->stop);
		if (pthread_create(&wk->thread, NULL, worker_main, wk) != 0)
			return -EAGAIN;
		wk->started = true;
	}
	if (pthread_create(&sw->hasher, NULL, hasher_main, sw) != 0)
		return -EAGAIN;
	sw->hasher_started = true;
	return 0;
}

int32_t dg_swarm_piece_size(struct dg_swarm *sw)
{
	pthread_mutex_lock(&sw->lock);
	int32_t ps = sw->piece_size;
	pthread_mutex_unlock(&sw->lock);
	return ps;
}

void dg_swarm_set_node(struct dg_swarm *sw, const char *hostport, const char *task_id)
{
	pthread_mutex_lock(&sw->lock);
	snprintf(sw->node, sizeof(sw->node), "%s", hostport);
	snprintf(sw->task_id, sizeof(sw->task_id), "%s", task_id);
	pthread_mutex_unlock(&sw->lock);
}

int dg_swarm_offer(struct dg_swarm *sw, const struct dg_piece_task *tasks, size_t n,
		   struct dg_piece_task **already_r, size_t *nalready_r, size_t *queued_r,
		   char *err, size_t errsz)
{
	struct dg_piece_task *already = NULL;
	size_t nalready = 0, queued = 0;
	int result = 0;
	pthread_mutex_lock(&sw->lock);
	for (size_t i = 0; i < n; i++) {
		const struct dg_piece_task *t = &tasks[i];
		if (t->piece_size != sw->piece_size || !grow_locked(sw, t->num)) {
			snprintf(err, errsz,
				 "piece task %" PRId64 " (size %" PRId32 ") does not fit the file "
				 "(%" PRId64 " pieces of %" PRId32 ")",
				 t->num, t->piece_size, sw->npieces, sw->piece_size);
			result = -EPROTO;
			break;
		}
		struct pstate *p = &sw->ps[t->num];
		if (p->st == PS_DONE) {
			already = xrealloc(already, (nalready + 1) * sizeof(*already));
			dg_piece_task_copy(&already[nalready++], t);
		} else if (p->st == PS_MISSING) {
			struct work *w = xcalloc(1, sizeof(*w));
			dg_piece_task_copy(&w->t, t);
			p->st = PS_QUEUED;
			queued++;
			if (sw->wq_tail)
				sw->wq_tail->next = w;
			else
				sw->wq_head = w;
			sw->wq_tail = w;
		}
	}
	pthread_cond_broadcast(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
	*already_r = already;
	*nalready_r = nalready;
	*queued_r = queued;
	return result;
}

enum dg_swarm_event dg_swarm_wait(struct dg_swarm *sw, int64_t max_us,
				  struct dg_swarm_result *res_r)
{
	enum dg_swarm_event ev = DG_SWARM_TIMEOUT;
	pthread_mutex_lock(&sw->lock);
	if (!sw->rq_head && (sw->running > 0 || sw->wq_head) && max_us > 0)
		timed_wait(sw, max_us);
	if (sw->rq_head) {
		struct resq *q = sw->rq_head;
		sw->rq_head = q->next;
		if (!sw->rq_head)
			sw->rq_tail = NULL;
		*res_r = q->r;
		free(q);
		ev = DG_SWARM_RESULT;
	} else if (sw->running == 0 && !sw->wq_head) {
		ev = DG_SWARM_IDLE;
	}
	pthread_mutex_unlock(&sw->lock);
	return ev;
}

void dg_swarm_drain(struct dg_swarm *sw, int64_t max_us)
{
	int64_t deadline = df_mono_us() + max_us;
	pthread_mutex_lock(&sw->lock);
	while (sw->wq_head) {
		struct work *w = sw->wq_head;
		sw->wq_head = w->next;
		sw->ps[w->t.num].st = PS_MISSING;
		dg_piece_task_cleanup(&w->t);
		free(w);
	}
	sw->wq_tail = NULL;
	/* The supernode being left may hang (stopped, overloaded): its piece server with it.
	 * End those transfers now rather than after the stall timeout; peers' go on. */
	for (unsigned i = 0; i < sw->nworkers; i++)
		if (sw->workers[i].from_sn)
			dg_fetcher_cancel(sw->workers[i].fetcher);
	while (sw->running > 0 && df_mono_us() < deadline)
		timed_wait(sw, 50000);
	while (sw->rq_head) {
		struct resq *q = sw->rq_head;
		sw->rq_head = q->next;
		dg_swarm_result_cleanup(&q->r);
		free(q);
	}
	sw->rq_tail = NULL;
	pthread_mutex_unlock(&sw->lock);
}

int dg_swarm_complete(struct dg_swarm *sw, int64_t framed_length, int64_t *length_r,
		      char *err, size_t errsz)
{
	int result = 0;
	pthread_mutex_lock(&sw->lock);
	if (sw->npieces < 0) {
		if (framed_length < DF_PIECE_META_LEN) {
			snprintf(err, errsz, "the supernode finished the task without its length");
			result = -EPROTO;
			goto out;
		}
		int64_t count = (framed_length + sw->piece_size - 1) / sw->piece_size;
		if (!grow_locked(sw, count - 1)) {
			snprintf(err, errsz, "framed length %" PRId64 " is impossible", framed_length);
			result = -EPROTO;
			goto out;
		}
		sw->npieces = count;
		sw->file_length = framed_length - DF_PIECE_META_LEN * count;
	}
	int64_t missing = 0, sum = 0;
	for (int64_t i = 0; i < sw->npieces; i++) {
		if (sw->ps[i].st != PS_DONE)
			missing++;
		else
			sum += sw->ps[i].clen;
	}
	if (missing) {
		snprintf(err, errsz, "the supernode says finished, but %" PRId64 " of %" PRId64
			 " pieces are missing here", missing, sw->npieces);
		result = -EAGAIN;
	} else if (sum != sw->file_length) {
		snprintf(err, errsz, "pieces add up to %" PRId64 " bytes, the file has %" PRId64,
			 sum, sw->file_length);
		result = -EPROTO;
	}
	*length_r = sw->file_length;
	pthread_cond_broadcast(&sw->cond);
out:
	pthread_mutex_unlock(&sw->lock);
	return result;
}

int dg_swarm_digests(struct dg_swarm *sw, int64_t max_us, char md5_r[33], char sha256_r[65])
{
	int64_t deadline = df_mono_us() + max_us;
	int result = 0;
	pthread_mutex_lock(&sw->lock);
	while (!sw->hash_done && !sw->hash_failed && df_mono_us() < deadline)
		timed_wait(sw, 50000);
	if (sw->hash_done) {
		memcpy(md5_r, sw->md5, 33);
		memcpy(sha256_r, sw->sha256, 65);
	} else {
		result = sw->hash_failed ? -EIO : -ETIMEDOUT;
	}
	pthread_mutex_unlock(&sw->lock);
	return result;
}

void dg_swarm_free(struct dg_swarm *sw)
{
	if (!sw)
		return;
	atomic_store(&sw->job->stop, true);
	pthread_mutex_lock(&sw->lock);
	sw->quit = true;
	pthread_cond_broadcast(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
	for (unsigned i = 0; i < sw->nworkers; i++) {
		if (sw->workers[i].started)
			pthread_join(sw->workers[i].thread, NULL);
		dg_fetcher_free(sw->workers[i].fetcher);
	}
	if (sw->hasher_started)
		pthread_join(sw->hasher, NULL);
	free(sw->workers);
	while (sw->wq_head) {
		struct work *w = sw->wq_head;
		sw->wq_head = w->next;
		dg_piece_task_cleanup(&w->t);
		free(w);
	}
	while (sw->rq_head) {
		struct resq *q = sw->rq_head;
		sw->rq_head = q->next;
		dg_swarm_result_cleanup(&q->r);
		free(q);
	}
	free(sw->ps);
	pthread_cond_destroy(&sw->cond);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}

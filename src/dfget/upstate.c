/* Uploader state and fair shares (see upstate.h). Locking: s->lock guards tasks, ntasks
 * and total; it is never held across I/O or calls into other modules except the bucket
 * (which takes its own lock, briefly). */
#include "config.h"
#include "upstate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int64_t dg_share_level(int64_t total, const int64_t *asks, size_t n)
{
	if (n == 0)
		return DG_RATE_UNLIMITED;
	int64_t *a = xmalloc(n * sizeof(*a));
	memcpy(a, asks, n * sizeof(*a));
	/* insertion sort: n is the number of concurrent downloads on one host */
	for (size_t i = 1; i < n; i++) {
		int64_t v = a[i];
		size_t j = i;
		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
	int64_t left = total, level = DG_RATE_UNLIMITED;
	for (size_t i = 0; i < n; i++) {
		int64_t fair = left / (int64_t)(n - i);
		if (a[i] > fair) {
			level = fair;
			break;
		}
		left -= a[i];
	}
	free(a);
	return level;
}

struct uptask {
	char *name;
	bool finished;
	char *task_id, *cid, *supernode;
	int64_t touched_us;
	int64_t ask;	/* last /rate ask, bytes/s (DG_RATE_UNLIMITED for 0) */
	int64_t ask_us; /* when; 0 = never */
	int64_t served_bytes, served_pieces;
};

struct dg_upstate {
	pthread_mutex_t lock;
	df_clock_fn clock; /* immutable */
	void *clock_arg;   /* immutable */
	struct uptask *tasks; /* guarded by lock */
	size_t ntasks;	      /* guarded by lock */
	int64_t total;	      /* guarded by lock */
	int64_t served_bytes, served_pieces; /* guarded by lock */
	struct df_bucket *bucket; /* immutable pointer; thread-safe itself */
};

struct dg_upstate *dg_upstate_new(df_clock_fn clock, void *clock_arg)
{
	struct dg_upstate *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->clock = clock ? clock : df_clock_monotonic_us;
	s->clock_arg = clock_arg;
	s->bucket = df_bucket_new(0, 0, clock, clock_arg);
	return s;
}

static void task_cleanup(struct uptask *t)
{
	free(t->name);
	free(t->task_id);
	free(t->cid);
	free(t->supernode);
}

void dg_upstate_free(struct dg_upstate *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ntasks; i++)
		task_cleanup(&s->tasks[i]);
	free(s->tasks);
	df_bucket_free(s->bucket);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct uptask *find_locked(struct dg_upstate *s, const char *name)
{
	for (size_t i = 0; i < s->ntasks; i++) {
		if (strcmp(s->tasks[i].name, name) == 0)
			return &s->tasks[i];
	}
	return NULL;
}

static struct uptask *get_locked(struct dg_upstate *s, const char *name, int64_t now)
{
	struct uptask *t = find_locked(s, name);
	if (!t) {
		s->tasks = xrealloc(s->tasks, (s->ntasks + 1) * sizeof(*s->tasks));
		t = &s->tasks[s->ntasks++];
		memset(t, 0, sizeof(*t));
		t->name = xstrdup(name);
	}
	t->touched_us = now;
	return t;
}

void dg_upstate_check(struct dg_upstate *s, const char *name, int64_t total)
{
	int64_t now = s->clock(s->clock_arg);
	bool set = false;
	pthread_mutex_lock(&s->lock);
	struct uptask *t = get_locked(s, name, now);
	if (t->ask_us == 0) {
		/* A download about to start counts at once, so that the ones already running
		 * make room at their next ask instead of overshooting the total meanwhile. */
		t->ask = DG_RATE_UNLIMITED;
		t->ask_us = now;
	}
	if (total > 0 && total != s->total) {
		s->total = total;
		set = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (set)
		df_bucket_set_rate(s->bucket, total, 0);
}

bool dg_upstate_known(struct dg_upstate *s, const char *name, bool *finished_r)
{
	pthread_mutex_lock(&s->lock);
	struct uptask *t = find_locked(s, name);
	if (t && finished_r)
		*finished_r = t->finished;
	pthread_mutex_unlock(&s->lock);
	return t != NULL;
}

int64_t dg_upstate_rate(struct dg_upstate *s, const char *name, int64_t ask)
{
	int64_t now = s->clock(s->clock_arg);
	int64_t want = ask > 0 ? ask : DG_RATE_UNLIMITED;
	pthread_mutex_lock(&s->lock);
	struct uptask *me = get_locked(s, name, now);
	me->ask = want;
	me->ask_us = now;
	int64_t share = ask;
	if (s->total > 0) {
		int64_t *asks = xmalloc(s->ntasks * sizeof(*asks));
		size_t n = 0;
		for (size_t i = 0; i < s->ntasks; i++) {
			const struct uptask *t = &s->tasks[i];
			if (!t->finished && t->ask_us > 0 && now - t->ask_us <= DG_RATE_ACTIVE_US)
				asks[n++] = t->ask;
		}
		int64_t level = dg_share_level(s->total, asks, n);
		free(asks);
		share = want < level ? want : level;
		if (share < 1)
			share = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return share;
}

void dg_upstate_finish(struct dg_upstate *s, const char *name, const char *task_id,
		       const char *cid, const char *supernode)
{
	int64_t now = s->clock(s->clock_arg);
	pthread_mutex_lock(&s->lock);
	struct uptask *t = get_locked(s, name, now);
	t->finished = true;
	free(t->task_id);
	free(t->cid);
	free(t->supernode);
	t->task_id = xstrdup(task_id ? task_id : "");
	t->cid = xstrdup(cid ? cid : "");
	t->supernode = xstrdup(supernode ? supernode : "");
	pthread_mutex_unlock(&s->lock);
}

void dg_upstate_remove(struct dg_upstate *s, const char *name)
{
	pthread_mutex_lock(&s->lock);
	struct uptask *t = find_locked(s, name);
	if (t) {
		task_cleanup(t);
		size_t i = (size_t)(t - s->tasks);
		memmove(t, t + 1, (s->ntasks - i - 1) * sizeof(*t));
		s->ntasks--;
	}
	pthread_mutex_unlock(&s->lock);
}

void dg_upstate_served(struct dg_upstate *s, const char *name, int64_t bytes)
{
	int64_t now = s->clock(s->clock_arg);
	pthread_mutex_lock(&s->lock);
	struct uptask *t = find_locked(s, name);
	if (t) {
		t->touched_us = now;
		t->served_bytes += bytes;
		t->served_pieces++;
	}
	s->served_bytes += bytes;
	s->served_pieces++;
	pthread_mutex_unlock(&s->lock);
}

int64_t dg_upstate_total_limit(struct dg_upstate *s)
{
	pthread_mutex_lock(&s->lock);
	int64_t t = s->total;
	pthread_mutex_unlock(&s->lock);
	return t;
}

struct df_bucket *dg_upstate_bucket(struct dg_upstate *s)
{
	return s->bucket;
}

size_t dg_upstate_list(struct dg_upstate *s, struct dg_uptask_info **list_r)
{
	int64_t now = s->clock(s->clock_arg);
	pthread_mutex_lock(&s->lock);
	size_t n = s->ntasks;
	struct dg_uptask_info *l = n ? xcalloc(n, sizeof(*l)) : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct uptask *t = &s->tasks[i];
		l[i].name = xstrdup(t->name);
		l[i].finished = t->finished;
		l[i].task_id = xstrdup(t->task_id ? t->task_id : "");
		l[i].cid = xstrdup(t->cid ? t->cid : "");
		l[i].supernode = xstrdup(t->supernode ? t->supernode : "");
		l[i].idle_us = now - t->touched_us;
		l[i].served_bytes = t->served_bytes;
		l[i].served_pieces = t->served_pieces;
	}
	pthread_mutex_unlock(&s->lock);
	*list_r = l;
	return n;
}

void dg_upstate_list_free(struct dg_uptask_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].task_id);
		free(list[i].cid);
		free(list[i].supernode);
	}
	free(list);
}

void dg_upstate_totals(struct dg_upstate *s, int64_t *bytes_r, int64_t *pieces_r)
{
	pthread_mutex_lock(&s->lock);
	*bytes_r = s->served_bytes;
	*pieces_r = s->served_pieces;
	pthread_mutex_unlock(&s->lock);
}

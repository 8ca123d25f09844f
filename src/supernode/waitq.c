/* waitq: parked MHD connections with deadlines (see waitq.h for the protocol and locking).
 */
#include "config.h"
#include "waitq.h"

#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

struct sn_waitq {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	struct sn_waiter *dhead, *dtail; /* sorted by deadline */
	int count;
	bool stopping, started;
	pthread_t thread;
};

struct sn_waitq *sn_waitq_new(void)
{
	struct sn_waitq *q = xcalloc(1, sizeof(*q));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&q->lock, NULL);
	return q;
}

void sn_waitq_free(struct sn_waitq *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* Unlink w from both lists (lock held) and chain it on *out through dnext. */
static void take_locked(struct sn_waitq *q, struct sn_waiter *w, struct sn_waiter **out)
{
	struct sn_waitlist *l = w->list;
	assert(l != NULL); /* sn_waitq_park put every queued waiter on a list */
	if (w->lprev)
		w->lprev->lnext = w->lnext;
	else
		l->head = w->lnext;
	if (w->lnext)
		w->lnext->lprev = w->lprev;
	else
		l->tail = w->lprev;
	l->n--;
	if (w->dprev)
		w->dprev->dnext = w->dnext;
	else
		q->dhead = w->dnext;
	if (w->dnext)
		w->dnext->dprev = w->dprev;
	else
		q->dtail = w->dprev;
	w->queued = false;
	w->list = NULL;
	w->lprev = w->lnext = w->dprev = NULL;
	w->dnext = *out;
	*out = w;
	q->count--;
}

static int resume_chain(struct sn_waiter *w)
{
	int n = 0;
	while (w) {
		struct sn_waiter *next = w->dnext;
		struct MHD_Connection *con = w->con;
		w->dnext = NULL;
		/* After this call the handler may run again and reuse w: read nothing after. */
		MHD_resume_connection(con);
		n++;
		w = next;
	}
	return n;
}

bool sn_waitq_park(struct sn_waitq *q, struct sn_waitlist *list, struct sn_waiter *w,
		   struct MHD_Connection *con, int64_t deadline_us, atomic_uint_fast64_t *gen,
		   uint64_t gen_seen)
{
	pthread_mutex_lock(&q->lock);
	if (q->stopping || atomic_load(gen) != gen_seen) {
		pthread_mutex_unlock(&q->lock);
		w->expired = false;
		MHD_resume_connection(con);
		return false;
	}
	w->con = con;
	w->deadline_us = deadline_us;
	w->queued = true;
	w->expired = false;
	w->list = list;
	/* The owner's list: append. */
	w->lnext = NULL;
	w->lprev = list->tail;
	if (list->tail)
		list->tail->lnext = w;
	else
		list->head = w;
	list->tail = w;
	list->n++;
	/* The deadline list: insert from the tail (deadlines mostly arrive in order). */
	struct sn_waiter *p = q->dtail;
	while (p && p->deadline_us > deadline_us)
		p = p->dprev;
	w->dprev = p;
	w->dnext = p ? p->dnext : q->dhead;
	if (w->dnext)
		w->dnext->dprev = w;
	else
		q->dtail = w;
	if (p)
		p->dnext = w;
	else
		q->dhead = w;
	bool first = q->dhead == w;
	q->count++;
	pthread_mutex_unlock(&q->lock);
	if (first)
		pthread_cond_signal(&q->cond);
	return true;
}

int sn_waitq_wake(struct sn_waitq *q, struct sn_waitlist *list, int max)
{
	struct sn_waiter *chain = NULL;
	pthread_mutex_lock(&q->lock);
	for (int i = 0; list->head && (max < 0 || i < max); i++)
		take_locked(q, list->head, &chain);
	pthread_mutex_unlock(&q->lock);
	return resume_chain(chain);
}

int sn_waitq_list_len(struct sn_waitq *q, const struct sn_waitlist *list)
{
	pthread_mutex_lock(&q->lock);
	int n = list->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}

int sn_waitq_count(struct sn_waitq *q)
{
	pthread_mutex_lock(&q->lock);
	int n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

static void *timer_main(void *arg)
{
	struct sn_waitq *q = arg;
	pthread_mutex_lock(&q->lock);
	while (!q->stopping) {
		int64_t now = df_mono_us();
		struct sn_waiter *chain = NULL;
		while (q->dhead && q->dhead->deadline_us <= now) {
			q->dhead->expired = true;
			take_locked(q, q->dhead, &chain);
		}
		if (chain) {
			pthread_mutex_unlock(&q->lock);
			resume_chain(chain);
			pthread_mutex_lock(&q->lock);
			continue;
		}
		int64_t until = q->dhead ? q->dhead->deadline_us : now + 1000000;
		struct timespec ts = { (time_t)(until / 1000000), (long)(until % 1000000) * 1000 };
		pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int sn_waitq_start(struct sn_waitq *q)
{
	int rc = pthread_create(&q->thread, NULL, timer_main, q);
	if (rc != 0)
		return -rc;
	q->started = true;
	return 0;
}

void sn_waitq_stop(struct sn_waitq *q)
{
	struct sn_waiter *chain = NULL;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	while (q->dhead)
		take_locked(q, q->dhead, &chain);
	pthread_mutex_unlock(&q->lock);
	pthread_cond_signal(&q->cond);
	resume_chain(chain);
	if (q->started)
		pthread_join(q->thread, NULL);
	q->started = false;
}

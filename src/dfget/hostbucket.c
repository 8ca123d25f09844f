/* A download's bucket and its re-ask thread (see hostbucket.h). hb->lock/cond only wake the
 * thread for shutdown; stop is guarded by lock. */
#include "config.h"
#include "hostbucket.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "httpc.h"
#include "log.h"
#include "uplink.h"
#include "xalloc.h"

struct dg_hostbucket {
	struct df_bucket *bucket; /* thread-safe */
	int64_t local_limit;	  /* immutable */
	uint16_t port;		  /* immutable */
	char *name;		  /* immutable */
	CURL *curl;		  /* the re-ask thread's (before it starts: the creator's) */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop; /* guarded by lock */
	bool binding; /* the re-ask thread's: the host limit holds us below our ask */
};

static void apply(struct dg_hostbucket *hb, int64_t rate)
{
	int64_t cur = df_bucket_get_rate(hb->bucket);
	if (rate != cur) {
		log_debug("rate of %s: %" PRId64 " B/s", hb->name, rate);
		df_bucket_set_rate(hb->bucket, rate, 0);
	}
}

static void ask(struct dg_hostbucket *hb)
{
	int64_t share = 0;
	if (dg_uplink_rate(hb->curl, hb->port, hb->name, hb->local_limit, &share) == 0) {
		apply(hb, share);
		hb->binding = share > 0 && (hb->local_limit == 0 || share < hb->local_limit);
	} else {
		apply(hb, hb->local_limit);
		hb->binding = false;
	}
}

static void *reask_main(void *arg)
{
	struct dg_hostbucket *hb = arg;
	pthread_mutex_lock(&hb->lock);
	while (!hb->stop) {
		struct timespec ts;
		long ms = hb->binding ? DG_RATE_REASK_FAST_MS : DG_RATE_REASK_MS;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&hb->cond, &hb->lock, &ts);
		if (hb->stop)
			break;
		pthread_mutex_unlock(&hb->lock);
		ask(hb);
		pthread_mutex_lock(&hb->lock);
	}
	pthread_mutex_unlock(&hb->lock);
	return NULL;
}

struct dg_hostbucket *dg_hostbucket_new(int64_t local_limit, uint16_t port,
					const char *task_file_name)
{
	struct dg_hostbucket *hb = xcalloc(1, sizeof(*hb));
	hb->local_limit = local_limit > 0 ? local_limit : 0;
	hb->port = port;
	hb->name = xstrdup(task_file_name);
	hb->bucket = df_bucket_new(hb->local_limit, 0, NULL, NULL);
	pthread_mutex_init(&hb->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hb->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (port) {
		hb->curl = df_curl_new();
		ask(hb);
		hb->running = pthread_create(&hb->thread, NULL, reask_main, hb) == 0;
		if (!hb->running)
			log_warn("cannot start the rate thread: the host limit is not followed");
	}
	return hb;
}

void dg_hostbucket_free(struct dg_hostbucket *hb)
{
	if (!hb)
		return;
	if (hb->running) {
		pthread_mutex_lock(&hb->lock);
		hb->stop = true;
		pthread_cond_signal(&hb->cond);
		pthread_mutex_unlock(&hb->lock);
		pthread_join(hb->thread, NULL);
	}
	if (hb->curl)
		curl_easy_cleanup(hb->curl);
	pthread_cond_destroy(&hb->cond);
	pthread_mutex_destroy(&hb->lock);
	df_bucket_free(hb->bucket);
	free(hb->name);
	free(hb);
}

struct df_bucket *dg_hostbucket_bucket(struct dg_hostbucket *hb)
{
	return hb->bucket;
}

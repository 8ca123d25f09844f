/* ctx: what the supernode's modules share at run time: the settings, the source bandwidth
 * bucket, the stop flag, the supernode's own upload load across tasks, the wait queue and
 * the cache directories. One instance, made by server.c; fields are immutable after start
 * unless tagged atomic. */
#ifndef SN_CTX_H
#define SN_CTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct sn_settings;
struct sn_waitq;
struct df_bucket;
struct MHD_Daemon;

struct sn_ctx {
	const struct sn_settings *cfg;
	struct df_bucket *source_bucket; /* NULL: source fetches are not capped */
	struct sn_waitq *waitq;
	char *repo_dir; /* <home>/repo/download */
	char *tmp_dir;	/* <home>/tmp */
	/* Learned when each daemon starts, while the daemons started before it already serve
	 * requests that read them: atomic. */
	_Atomic uint16_t api_port, download_port;
	_Atomic uint16_t https_port;	  /* 0 without TLS */
	struct MHD_Daemon *https_daemon;  /* the HTTPS API daemon, NULL without TLS */
	atomic_bool stopping;
	atomic_int sn_load; /* piece transfers from the supernode in flight, all tasks */

	/* CDN jobs: a thread per task fetch; at most cfg->cdn_workers fetch at once. */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	int jobs_running;  /* guarded by jobs_lock */
	int fetch_running; /* guarded by jobs_lock */
};

/* Is the supernode stopping (SIGTERM)? Thread-safe. */
static inline bool sn_ctx_stopping(struct sn_ctx *ctx)
{
	return atomic_load(&ctx->stopping);
}

#endif

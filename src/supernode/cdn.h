/* cdn: the supernode's copy of each task's content. A registration that finds a task
 * without one starts a CDN job: a thread that learns the source length once (a probe,
 * conditional when a finished cache exists), answers the waiting registrations, then -
 * within the limit of concurrent fetches - serves the task from the cache (a hit), resumes
 * an unfinished cache, or fetches it (fetch.h). Failures are remembered on the task with
 * their protocol code for fail-access-interval.
 *
 * Locking: state changes happen under the task lock; the job does its network and disk
 * work without it. Thread-safe.
 */
#ifndef SN_CDN_H
#define SN_CDN_H

#include <stdbool.h>
#include <stdint.h>

struct sn_ctx;
struct sn_task;

/* Under the task lock, for a task in state NEW (or FAILED whose interval passed): reset
 * its CDN state, mark it PROBING with a job running. The caller then calls sn_cdn_start
 * after unlocking. */
void sn_cdn_begin_locked(struct sn_ctx *ctx, struct sn_task *t);
/* Start the job thread for t (it takes its own reference). On failure the task fails
 * with 500. */
void sn_cdn_start(struct sn_ctx *ctx, struct sn_task *t);
/* Wait (up to timeout_ms) until every job has ended; jobs see ctx->stopping. Returns the
 * number still running. */
int sn_cdn_wait_all(struct sn_ctx *ctx, int64_t timeout_ms);
/* A client says the supernode's piece n of t is bad: check it on disk (in the background);
 * when it is damaged, drop the cache so the next registration fetches it again. */
void sn_cdn_check_piece(struct sn_ctx *ctx, struct sn_task *t, int64_t n);

/* The sha256 a URL names as its content digest ("/blobs/sha256:<hex>"), or false. */
bool sn_cdn_url_digest(const char *url, char hex_r[65]);

#endif

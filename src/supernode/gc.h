/* gc: forgetting what is no longer needed. A thread that, every second, ends in-flight
 * transfers nobody reported (piece-timeout), drops clients that went down or were
 * isolated (after peer-gc-delay), counts clients silent that long as done (or drops them
 * when they serve nothing), forgets idle tasks (task-expire-time) and old peer
 * records; and, every gc-interval, keeps the disk cache under cache-size and above
 * cache-free-min by deleting the least recently used cached files of tasks not in memory.
 * Thread-safe; takes each task's lock briefly, never with I/O under it.
 */
#ifndef SN_GC_H
#define SN_GC_H

#include <stdbool.h>
#include <stdint.h>

struct sn_ctx;
struct sn_gc;
struct sn_task;

/* One pass over the tasks at now (monotonic ms): returns the number of tasks forgotten. */
int sn_gc_tasks(struct sn_ctx *ctx, int64_t now_ms);
/* Delete least recently used cache entries of tasks not in memory until need bytes fit
 * (keeping cache-free-min free) and the cache is under cache-size. Returns 0 when there is
 * room, -ENOSPC when not. */
int sn_gc_disk(struct sn_ctx *ctx, int64_t need);

/* A CDN job calls this before it looks at a task's cache files: a disk collection that
 * decided to delete them (the task was not in memory then) has finished by the time it
 * returns, and later ones see the task. Thread-safe. */
void sn_gc_barrier(void);

/* The disk cache's use: bytes on disk and files (a scan of the cache directory: disk
 * I/O, no lock held). Thread-safe. */
void sn_gc_cache_usage(struct sn_ctx *ctx, int64_t *bytes_r, int64_t *files_r);

/* Forget task t at once (an operator's DELETE): unlist it and drop its clients (their
 * transfers end; their next request is told the task is unknown); with full, also delete
 * its cached files. Returns 0, -ENOENT when t is not listed, or -EBUSY when full is asked
 * while its CDN job runs (the fetch writes the files). Thread-safe. */
int sn_gc_drop_task(struct sn_ctx *ctx, struct sn_task *t, bool full);

struct sn_gc *sn_gc_start(struct sn_ctx *ctx);
void sn_gc_stop(struct sn_gc *gc);

#endif

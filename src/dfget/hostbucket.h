/* The token bucket of one download, kept in line with the host-wide limit: a small thread
 * asks the uploader's /rate for this download's share of --totallimit (it asks for
 * --locallimit) and applies the answer, every DG_RATE_REASK_MS, or every
 * DG_RATE_REASK_FAST_MS while the host limit binds (the share is below the ask), so that
 * downloads starting or ending on the host shift the shares within a fraction of a second
 * (measured: with a 1 s period, three downloads started together overshot 8 MB/s by 10%).
 * Without an uploader, or when it does not answer, the bucket runs at the local limit.
 * Every byte the download receives (pieces and the source) is taken from this bucket.
 *
 * Thread-safe: the bucket has its own lock; the re-ask thread touches nothing else. */
#ifndef DG_HOSTBUCKET_H
#define DG_HOSTBUCKET_H

#include <stdint.h>

#include "ratelimit.h"

#define DG_RATE_REASK_MS 1000
#define DG_RATE_REASK_FAST_MS 250

struct dg_hostbucket;

/* local_limit: bytes/s (0 = none). port: the uploader (0 = none). The first share is
 * asked before this returns, so the first bytes are already paced. */
struct dg_hostbucket *dg_hostbucket_new(int64_t local_limit, uint16_t port,
					const char *task_file_name);
void dg_hostbucket_free(struct dg_hostbucket *hb);
struct df_bucket *dg_hostbucket_bucket(struct dg_hostbucket *hb);

#endif

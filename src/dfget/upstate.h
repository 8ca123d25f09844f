/* The uploader's state: the task files it may serve (registered by /check, marked finished
 * by /client/finish), what each running download asked for in /rate, the host-wide token
 * bucket, and the fair-share arithmetic that divides --totallimit among the downloads.
 *
 * Fair share is max-min ("water-filling"): each running download that asked recently gets
 * min(its ask, L), with the level L chosen so that the shares add up to the total; a
 * download that wants less than its equal part leaves the rest to the others.
 *
 * Thread-safe: one mutex guards the table and is held only for bookkeeping (never during
 * I/O). dg_share_level is pure. */
#ifndef DG_UPSTATE_H
#define DG_UPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

/* A download that asked /rate within this window counts as running. */
#define DG_RATE_ACTIVE_US (3 * 1000000LL)
/* What an ask of 0 ("no local limit") weighs in the arithmetic. */
#define DG_RATE_UNLIMITED (1LL << 50)

/* The level L for total shared among asks[0..n) (each > 0): sum(min(ask_i, L)) == total,
 * or DG_RATE_UNLIMITED when the asks fit in the total together. */
int64_t dg_share_level(int64_t total, const int64_t *asks, size_t n);

struct dg_upstate;

/* clock NULL: monotonic. */
struct dg_upstate *dg_upstate_new(df_clock_fn clock, void *clock_arg);
void dg_upstate_free(struct dg_upstate *s);

/* /check: register (or refresh) a task file; total > 0 sets the host limit. A new task
 * counts as running (asking for everything) until its first /rate. */
void dg_upstate_check(struct dg_upstate *s, const char *name, int64_t total);
bool dg_upstate_known(struct dg_upstate *s, const char *name, bool *finished_r);
/* /rate: record the ask (0 = unlimited) and return the share (0 = unlimited). An unknown
 * name is registered on the way. */
int64_t dg_upstate_rate(struct dg_upstate *s, const char *name, int64_t ask);
/* /client/finish: the file is whole; remember who to tell at service down. */
void dg_upstate_finish(struct dg_upstate *s, const char *name, const char *task_id,
		       const char *cid, const char *supernode);
/* Forget a task (its file is gone). */
void dg_upstate_remove(struct dg_upstate *s, const char *name);
/* A piece of name was served: access time and counters. */
void dg_upstate_served(struct dg_upstate *s, const char *name, int64_t bytes);

int64_t dg_upstate_total_limit(struct dg_upstate *s);
/* The host bucket that paces uploads (rate = total limit, 0 = unlimited). Owned by s. */
struct df_bucket *dg_upstate_bucket(struct dg_upstate *s);

/* A copy of one task's public fields, for GC and shutdown. */
struct dg_uptask_info {
	char *name;
	bool finished;
	char *task_id;
	char *cid;
	char *supernode;
	int64_t idle_us; /* since the last /check, /rate, /client/finish or served piece */
	int64_t served_bytes;
	int64_t served_pieces;
};
/* Snapshot of every task (the caller frees with dg_upstate_list_free). */
size_t dg_upstate_list(struct dg_upstate *s, struct dg_uptask_info **list_r);
void dg_upstate_list_free(struct dg_uptask_info *list, size_t n);

void dg_upstate_totals(struct dg_upstate *s, int64_t *bytes_r, int64_t *pieces_r);

#endif

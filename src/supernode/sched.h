/* sched: the piece scheduler. Given a task's progress and a client asking for work, choose
 * which pieces it fetches next and from whom, and record those transfers as in flight.
 *
 * Policy (architecture.md, "The scheduler's first principle"):
 *   - the client gets up to down_limit minus its in-flight transfers;
 *   - candidates are pieces it neither holds nor fetches that some source can serve now,
 *     rarest first (usable holders plus transfers in flight), ties broken by nearness to
 *     the piece after the last one it was given;
 *   - the source is a usable peer holding the piece with a free upload slot (load <
 *     up_limit), least loaded first; the supernode only when no peer can serve it;
 *   - uploads are spread: candidates are taken first where the source is idle, then
 *     where it has one upload, and so on up to up_limit (rarest first within each round),
 *     so no transfer runs at a small share of a busy peer's link while others idle;
 *   - the supernode's slots go first to pieces no peer holds or fetches yet (super-seeding):
 *     a piece leaves the supernode again only with a slot to spare; and while other
 *     clients are active a client fetches at most one piece from the supernode at a time,
 *     so each supernode copy completes fast and peers spread it.
 *
 * Pure logic over struct sn_progress: no clock reads, no I/O, no locks (the caller holds
 * the task lock). Cost: O(P) for P pieces (only the rarest few candidates are ordered),
 * plus a bounded search among the holders of each piece tried.
 */
#ifndef SN_SCHED_H
#define SN_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "progress.h"

struct sn_sched_limits {
	int down_limit; /* concurrent downloads per client */
	int up_limit;	/* concurrent uploads per peer */
	int sn_free;	/* supernode transfers that may still start (all tasks) */
	bool sn_busy;	/* the supernode's slots are all taken: no second copies from it */
	int probes;	/* holders considered per piece; 0: 16 */
};

struct sn_pick {
	int64_t piece;
	int32_t src; /* client index, or SN_SRC_CDN */
};

/* Choose up to max transfers for c, start them in p (sn_progress_start) and describe them
 * in picks. Returns how many (0: nothing available now; the caller may wait). */
int sn_sched_pick(struct sn_progress *p, struct sn_client *c, const struct sn_sched_limits *lim,
		  int64_t now_ms, struct sn_pick *picks, int max);

#endif

/* waitq: requests parked until work appears or a deadline passes, without holding a
 * thread: the handler suspends its MHD connection and queues a waiter on a list (a task's
 * waiters); whoever makes work appear wakes some waiters of that list (MHD resumes their
 * connections and calls the handler again); a timer thread resumes waiters whose deadline
 * passed.
 *
 * Lost wake-ups cannot happen: the handler remembers the list owner's generation counter
 * when it found nothing to do; sn_waitq_park compares it under the queue's lock and
 * resumes at once if it moved. The event side bumps the counter before it wakes.
 *
 * Locking: one mutex for every list and the deadline list. MHD_resume_connection is
 * called after it is released. A waiter is resumed exactly once per park. Thread-safe.
 */
#ifndef SN_WAITQ_H
#define SN_WAITQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct MHD_Connection;
struct sn_waitq;

struct sn_waiter {
	struct MHD_Connection *con;
	int64_t deadline_us; /* monotonic */
	struct sn_waiter *dprev, *dnext; /* the deadline list */
	struct sn_waiter *lprev, *lnext; /* the owner's list */
	struct sn_waitlist *list;
	bool queued;
	bool expired; /* resumed by the timer, not by an event */
};

struct sn_waitlist {
	struct sn_waiter *head, *tail;
	int n;
};

struct sn_waitq *sn_waitq_new(void);
/* Start the timer thread. Returns 0 or -errno. */
int sn_waitq_start(struct sn_waitq *q);
/* Resume every waiter, refuse new ones, join the timer thread. */
void sn_waitq_stop(struct sn_waitq *q);
void sn_waitq_free(struct sn_waitq *q);

/* From a handler that has just called MHD_suspend_connection(con): queue w on list until
 * deadline_us, unless *gen differs from gen_seen or the queue is stopping, in which case
 * con is resumed at once. Returns true when queued. */
bool sn_waitq_park(struct sn_waitq *q, struct sn_waitlist *list, struct sn_waiter *w,
		   struct MHD_Connection *con, int64_t deadline_us, atomic_uint_fast64_t *gen,
		   uint64_t gen_seen);
/* Resume up to max waiters of list, oldest first (max < 0: all). Returns how many. */
int sn_waitq_wake(struct sn_waitq *q, struct sn_waitlist *list, int max);
/* Waiters parked on list now. */
int sn_waitq_list_len(struct sn_waitq *q, const struct sn_waitlist *list);
/* Waiters parked now (all lists). */
int sn_waitq_count(struct sn_waitq *q);

#endif

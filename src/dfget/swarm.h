/* The piece machinery of one P2P download: the piece table, the work queue feeding the
 * worker threads (each with its own fetcher and easy handle), the result queue the pull
 * loop reads, and the in-order hasher thread that computes the whole-file md5 (and sha256)
 * over the verified prefix of the data file while pieces still arrive, so no second pass
 * over the file is needed at the end.
 *
 * A piece is MISSING, QUEUED, RUNNING or DONE. The pull loop (the calling thread) offers
 * piece tasks and waits for results; a worker that finishes a piece marks it in the piece
 * map (so the uploader may serve it), reports it to the supernode (/peer/piece/suc) and
 * posts the result. A failed piece returns to MISSING; the supernode hands it out again.
 *
 * Locking: one mutex guards the table and the queues; one condition variable (broadcast)
 * wakes workers, hasher and the pull loop. No I/O or libcurl call under the lock. */
#ifndef DG_SWARM_H
#define DG_SWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fetch.h"
#include "job.h"
#include "snapi.h"

#define DG_MAX_PIECE_FAILS 6

struct dg_swarm;

struct dg_swarm_result {
	struct dg_piece_task task; /* owned by the result: dg_swarm_result_cleanup */
	bool ok;
	bool already; /* we had it already: report it as good */
	enum dg_fetch_error error;
	char real_md5[33];
	char why[256];
	int fails; /* failures of this piece so far */
};
void dg_swarm_result_cleanup(struct dg_swarm_result *r);

/* data_fd: the data file (read-write); map_fd: the piece map or -1. */
struct dg_swarm *dg_swarm_new(struct dg_job *job, int data_fd, int map_fd);
/* Start workers and the hasher once the geometry is known. file_length -1: unknown. */
int dg_swarm_start(struct dg_swarm *sw, int32_t piece_size, int64_t file_length,
		   unsigned workers, bool want_sha256);
int32_t dg_swarm_piece_size(struct dg_swarm *sw);
/* Where workers report finished pieces (supernode host:port, task id, our cid). */
void dg_swarm_set_node(struct dg_swarm *sw, const char *hostport, const char *task_id);

/* Offer piece tasks from a 601 reply. Pieces we hold come back in already_r (copies, the
 * caller's: report them good); queued or running ones are skipped; *queued_r counts the
 * new work. Returns 0, or -EPROTO when a task does not fit the geometry (wrong piece
 * size, beyond the end). */
int dg_swarm_offer(struct dg_swarm *sw, const struct dg_piece_task *tasks, size_t n,
		   struct dg_piece_task **already_r, size_t *nalready_r, size_t *queued_r,
		   char *err, size_t errsz);

enum dg_swarm_event {
	DG_SWARM_RESULT, /* *res_r holds a result */
	DG_SWARM_IDLE,	 /* nothing queued, nothing running */
	DG_SWARM_TIMEOUT,
};
/* Wait up to max_us for a result, or report idleness at once. */
enum dg_swarm_event dg_swarm_wait(struct dg_swarm *sw, int64_t max_us,
				  struct dg_swarm_result *res_r);

/* Drop queued work and pending results, cancel transfers from the supernode (the caller is
 * leaving it), and wait (up to max_us) until no worker runs. */
void dg_swarm_drain(struct dg_swarm *sw, int64_t max_us);

/* The supernode says the task is finished: fix the piece count when the length was unknown
 * (framed_length). Returns 0 when every piece is DONE, else -EAGAIN (pieces missing, count
 * in err) or -EPROTO. length_r gets the file length. */
int dg_swarm_complete(struct dg_swarm *sw, int64_t framed_length, int64_t *length_r,
		      char *err, size_t errsz);
/* Wait (up to max_us) for the hasher to cover the whole file. Returns 0 with the digests
 * (sha256 "" when not wanted), -ETIMEDOUT, or -EIO. */
int dg_swarm_digests(struct dg_swarm *sw, int64_t max_us, char md5_r[33], char sha256_r[65]);

/* Stop workers and hasher and free everything. */
void dg_swarm_free(struct dg_swarm *sw);

#endif

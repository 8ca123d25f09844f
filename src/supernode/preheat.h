/* preheat: filling the CDN cache before the fleet asks (POST /api/v1/preheats, and the
 * legacy /preheats): a file, or every blob of an image (image.h). A preheat is a
 * registration without a peer: it creates (or finds) the task, starts its CDN job the way
 * a registration does, and waits for the job's outcome. Runs in-process on its own worker
 * threads (preheat-workers of them; more preheats wait, WAITING), never forking a dfget.
 *
 * A preheat's id is the task id of its URL (preheatreq.h). Posting a preheat that is
 * waiting or running returns the same id; posting one that finished (SUCCESS or FAILED)
 * runs it again with the new request. Deleting one forgets it (a running one stops
 * waiting; the CDN fetches it started go on for the tasks' sake).
 *
 * Locking: one mutex guards the records and the queue; workers do their network and task
 * work without it. Thread-safe once sn_preheat_start ran.
 */
#ifndef SN_PREHEAT_H
#define SN_PREHEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_ctx;
struct sn_preheat_req;

enum sn_preheat_status { SN_PH_WAITING, SN_PH_RUNNING, SN_PH_SUCCESS, SN_PH_FAILED, SN_PH_COUNT };
const char *sn_preheat_status_name(enum sn_preheat_status s);

/* One blob (or the file) of a preheat. */
struct sn_preheat_item {
	char *url;
	char *digest;	/* an image's blob digest; "" for a file */
	char task_id[65];
	enum sn_preheat_status status;
	int64_t length;	 /* -1 unknown */
	char *error;	 /* "" unless FAILED */
};

struct sn_preheat_view {
	char id[65];
	char type[8];
	char *url;
	enum sn_preheat_status status;
	int64_t start_ms, finish_ms; /* wall clock; finish 0 while not finished */
	char *error;		     /* "" unless FAILED */
	int runs;		     /* how many times it was started */
	struct sn_preheat_item *items;
	size_t nitems;
};

/* Start the workers. Returns 0 or -errno. */
int sn_preheat_start(struct sn_ctx *ctx);
/* Stop the workers (they stop waiting at once) and forget every preheat. */
void sn_preheat_stop(void);

/* Post a preheat (r was checked by sn_preheat_req_parse). *started_r: a run was queued
 * (new, or a finished one restarted); false when it is already waiting or running.
 * Returns 0, or -ESHUTDOWN when the supernode is stopping. */
int sn_preheat_post(const struct sn_preheat_req *r, bool *started_r);
/* A copy of one preheat: 0 or -ENOENT. */
int sn_preheat_get(const char *id, struct sn_preheat_view *v_r);
/* Copies of every preheat, oldest first (the caller frees with sn_preheat_views_free). */
struct sn_preheat_view *sn_preheat_list(size_t *n_r);
void sn_preheat_view_cleanup(struct sn_preheat_view *v);
void sn_preheat_views_free(struct sn_preheat_view *v, size_t n);
/* Forget a preheat: 0 or -ENOENT. */
int sn_preheat_delete(const char *id);
/* How many preheats are in each status. */
void sn_preheat_counts(int by_status[SN_PH_COUNT]);

#endif

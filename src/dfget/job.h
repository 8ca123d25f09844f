/* The context of one download, shared by the engine's modules (download, p2p, swarm,
 * backsource). Internal to libdfget.
 *
 * Threads: the calling thread owns the job; fields marked atomic are also updated by the
 * swarm's worker and hasher threads. Everything else is written only by the calling
 * thread. */
#ifndef DG_JOB_H
#define DG_JOB_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "download.h"
#include "hostbucket.h"
#include "store.h"

struct dg_job {
	const struct dg_request *req;
	struct dg_home home;
	char sign[64];
	char ip[64];	   /* this host as peers see it; "" until learned */
	char cid[160];	   /* ip-sign, once ip is known */
	char *task_url;	   /* URL with the filtered query keys removed */
	char *tfn;	   /* taskFileName */
	char *data_path;   /* <home>/data/<tfn> */
	char *map_path;	   /* <home>/meta/pieces/<tfn> */
	char sha256_want[65]; /* "" when none */
	int64_t t0_us;
	int64_t deadline_us;  /* of the current phase (P2P, then the source) */
	uint16_t up_port;     /* the host's uploader, 0 = none (cdn) */
	CURL *ctl;	      /* the calling thread's handle for control calls */
	struct dg_hostbucket *hb; /* the download's token bucket */
	atomic_bool stop;     /* set on cancel / deadline: transfers end soon after */

	atomic_llong done;    /* verified bytes, any order */
	atomic_llong in_order;
	atomic_llong from_peers;
	atomic_llong from_supernode;
	atomic_llong from_source;
	int64_t total;	      /* -1 until known */
	bool back_source;
	const char *cur_path; /* the file being written now (for the progress callback) */
	int64_t last_progress_us;
	bool cancelled;

	/* results */
	char task_id[65];
	char node[300];
	char md5[33];
	int backsource_reason;
};

/* Call the progress callback when due (every ~100 ms) or when force. Returns true when the
 * download is cancelled (by the callback) or past its deadline; sets job->stop then. */
bool dg_job_tick(struct dg_job *job, bool force);

/* The length is known: check free space for the data file and the output, and derive the
 * deadline of the current phase when no timeout was given. Returns 0, -ENOSPC (err says
 * where and how much) or another -errno. */
int dg_job_set_length(struct dg_job *job, int64_t length, const char *data_dir, char *err,
		      size_t errsz);

#endif

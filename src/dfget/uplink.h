/* dfget's side of the host's uploader: find it through <home>/meta/host.meta, or start it
 * (fork/exec of `dfget server`, detached, under a file lock on <home>/meta/lock so that
 * concurrent dfgets start only one), register a task file with /check, ask /rate, report
 * /client/finish. Thread-safe as long as each thread passes its own easy handle. */
#ifndef DG_UPLINK_H
#define DG_UPLINK_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct dg_uplink_opts {
	const struct dg_home *home;
	const char *exe;  /* the dfget binary */
	uint16_t port;	  /* for a new uploader; 0 = pick */
	int64_t alive_ms;
	int64_t expire_ms;
	bool verbose;
};

/* GET /server/ping on 127.0.0.1:port. */
bool dg_uplink_ping(CURL *h, uint16_t port);

/* Make sure the uploader runs and register task_file_name with it (dataDir and totalLimit
 * headers). Returns 0 with its port, or -errno with the reason in err. */
int dg_uplink_ensure(CURL *h, const struct dg_uplink_opts *o, const char *task_file_name,
		     int64_t total_limit, uint16_t *port_r, char *err, size_t errsz);

/* GET /rate/<name> with rateLimit: want (0 = unlimited). *rate_r: the share, 0 = none. */
int dg_uplink_rate(CURL *h, uint16_t port, const char *task_file_name, int64_t want,
		   int64_t *rate_r);

/* GET /client/finish: the file is whole; the uploader tells supernode about it at exit. */
int dg_uplink_finish(CURL *h, uint16_t port, const char *task_file_name, const char *task_id,
		     const char *cid, const char *supernode);

#endif

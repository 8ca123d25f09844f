/* metrics: GET /metrics in the Prometheus text format (namespace dragonfly_supernode_):
 * API requests by handler and code with duration histograms, the counters of stats.h,
 * gauges of the fleet, the tasks by CDN state, the cache and the preheats, downloads the
 * clients reported, and build info. Also the history of the byte counters (one sample a
 * second, the last SN_HISTORY_LEN) that the status page charts, and the fastest download
 * rate reported (the status page's minimum times).
 *
 * Request and download counters are lock-free atomics; the history has its own mutex,
 * held only to copy samples; the cache scan runs without any lock. Thread-safe.
 */
#ifndef SN_METRICS_H
#define SN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_ctx;

/* The API handlers, the label "handler" of the request metrics. */
enum sn_handler {
	SN_H_REGISTER,
	SN_H_PULL,
	SN_H_PIECE_SUC,
	SN_H_SERVICE_DOWN,
	SN_H_PIECE_ERROR,
	SN_H_TASK_METRICS,
	SN_H_PING,
	SN_H_VERSION,
	SN_H_METRICS,
	SN_H_SUMMARY,
	SN_H_HISTORY,
	SN_H_PEERS,
	SN_H_PEER,
	SN_H_TASKS,
	SN_H_TASK,
	SN_H_PREHEATS,
	SN_H_PREHEAT,
	SN_H_LEGACY_PREHEATS,
	SN_H_LEGACY_PREHEAT,
	SN_H_PAGE,
	SN_H_UNKNOWN,
	SN_H_COUNT,
};

/* The label of handler h ("/peer/registry", "/api/v1/tasks/{id}", ...). */
const char *sn_handler_label(enum sn_handler h);

/* Record the start time (build info and uptime). Call once at start-up. */
void sn_metrics_init(int64_t start_wall_ms);
int64_t sn_metrics_start_ms(void);

/* One API request answered: its handler, HTTP status and duration. */
void sn_metrics_request(enum sn_handler h, unsigned status, int64_t duration_us);
/* A client's report of a finished (ok) or failed download of len bytes in secs. */
void sn_metrics_download(bool ok, double secs, int64_t len);
/* The fastest download rate reported so far (bytes/s) for downloads of at least 1 MiB;
 * 0 when none. */
double sn_metrics_fastest_rate(void);

/* The disk cache's use, from a scan at most every few seconds (the last result
 * otherwise). */
void sn_metrics_cache_usage(struct sn_ctx *ctx, int64_t *bytes_r, int64_t *files_r);

/* The byte counters at one moment: from the sources, from the supernode to clients, from
 * peers to clients (content bytes). */
struct sn_sample {
	int64_t t_ms; /* wall clock */
	int64_t source, supernode, peers;
};
#define SN_HISTORY_LEN 600
/* Take a sample now (the GC thread calls this every second). */
void sn_metrics_sample(struct sn_ctx *ctx, int64_t wall_ms);
/* Copy the samples newer than since_ms, oldest first, at most max. Returns how many. */
size_t sn_metrics_history(int64_t since_ms, struct sn_sample *out, size_t max);

/* The whole /metrics text (the caller's). */
char *sn_metrics_render(struct sn_ctx *ctx, size_t *len_r);

#endif

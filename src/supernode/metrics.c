/* metrics: request and download counters (atomics), the byte history (its own mutex, held
 * only to copy), and the Prometheus text (see metrics.h). Rendering reads the fleet and
 * the preheats through their own thread-safe views. */
#include "config.h"
#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "fleet.h"
#include "gc.h"
#include "preheat.h"
#include "settings.h"
#include "stats.h"
#include "timeutil.h"
#include "waitq.h"

static const char *const handler_labels[SN_H_COUNT] = {
	"/peer/registry",     "/peer/task",	     "/peer/piece/suc",	   "/peer/service/down",
	"/peer/piece/error",  "/task/metrics",	     "/_ping",		   "/version",
	"/metrics",	      "/api/v1/summary",     "/api/v1/history",	   "/api/v1/peers",
	"/api/v1/peers/{id}", "/api/v1/tasks",	     "/api/v1/tasks/{id}", "/api/v1/preheats",
	"/api/v1/preheats/{id}", "/preheats",	     "/preheats/{id}",	   "page",
	"unknown",
};

/* Request duration buckets, seconds (a pull may wait pull-hold; a registration the
 * source's answer). */
static const double req_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				      0.25,  0.5,    1,	    2.5,  5,	 10,   30 };
#define NREQ_BUCKETS (sizeof(req_buckets) / sizeof(req_buckets[0]))
static const double dl_buckets[] = { 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800 };
#define NDL_BUCKETS (sizeof(dl_buckets) / sizeof(dl_buckets[0]))
#define CODE_SLOTS 16

struct code_slot {
	atomic_uint code; /* 0: free */
	_Atomic int64_t n;
};

struct handler_stats {
	struct code_slot codes[CODE_SLOTS];
	_Atomic int64_t bucket[NREQ_BUCKETS + 1]; /* not cumulative; the last is +Inf */
	_Atomic int64_t sum_us;
	_Atomic int64_t count;
};

static struct handler_stats handlers[SN_H_COUNT];
static _Atomic int64_t dl_bucket[NDL_BUCKETS + 1];
static _Atomic int64_t dl_sum_ms;
static _Atomic int64_t dl_count;
static _Atomic int64_t fastest_rate; /* bytes/s */
static _Atomic int64_t start_ms;

static pthread_mutex_t hist_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sn_sample history[SN_HISTORY_LEN]; /* guarded by hist_lock */
static size_t hist_next, hist_n;		 /* guarded by hist_lock */

static _Atomic int64_t cache_scan_ms; /* monotonic time of the last scan; -1 running */
static _Atomic int64_t cache_bytes, cache_files;

const char *sn_handler_label(enum sn_handler h)
{
	return h < SN_H_COUNT ? handler_labels[h] : "unknown";
}

void sn_metrics_init(int64_t start_wall_ms)
{
	atomic_store(&start_ms, start_wall_ms);
}

int64_t sn_metrics_start_ms(void)
{
	return atomic_load(&start_ms);
}

static void count_code(struct handler_stats *hs, unsigned status)
{
	for (int i = 0; i < CODE_SLOTS; i++) {
		unsigned c = atomic_load(&hs->codes[i].code);
		if (c == 0) {
			unsigned zero = 0;
			if (atomic_compare_exchange_strong(&hs->codes[i].code, &zero, status))
				c = status;
			else
				c = zero; /* another thread took the slot: for which code? */
		}
		if (c == status) {
			atomic_fetch_add(&hs->codes[i].n, 1);
			return;
		}
	}
}

void sn_metrics_request(enum sn_handler h, unsigned status, int64_t duration_us)
{
	if (h >= SN_H_COUNT || status == 0)
		return;
	struct handler_stats *hs = &handlers[h];
	count_code(hs, status);
	double s = (double)duration_us / 1e6;
	size_t b = 0;
	while (b < NREQ_BUCKETS && s > req_buckets[b])
		b++;
	atomic_fetch_add(&hs->bucket[b], 1);
	atomic_fetch_add(&hs->sum_us, duration_us);
	atomic_fetch_add(&hs->count, 1);
}

void sn_metrics_download(bool ok, double secs, int64_t len)
{
	if (!ok) {
		SN_STAT_ADD(downloads_failed, 1);
		return;
	}
	SN_STAT_ADD(downloads_ok, 1);
	size_t b = 0;
	while (b < NDL_BUCKETS && secs > dl_buckets[b])
		b++;
	atomic_fetch_add(&dl_bucket[b], 1);
	atomic_fetch_add(&dl_sum_ms, (int64_t)(secs * 1000));
	atomic_fetch_add(&dl_count, 1);
	if (len >= (1 << 20) && secs > 0.001) {
		int64_t rate = (int64_t)((double)len / secs), cur = atomic_load(&fastest_rate);
		while (rate > cur && !atomic_compare_exchange_weak(&fastest_rate, &cur, rate))
			;
	}
}

double sn_metrics_fastest_rate(void)
{
	return (double)atomic_load(&fastest_rate);
}

void sn_metrics_cache_usage(struct sn_ctx *ctx, int64_t *bytes_r, int64_t *files_r)
{
	int64_t now = df_mono_ms(), last = atomic_load(&cache_scan_ms);
	if (last >= 0 && (last == 0 || now - last >= 3000) &&
	    atomic_compare_exchange_strong(&cache_scan_ms, &last, -1)) {
		int64_t b = 0, f = 0;
		sn_gc_cache_usage(ctx, &b, &f); /* disk I/O: no lock held */
		atomic_store(&cache_bytes, b);
		atomic_store(&cache_files, f);
		atomic_store(&cache_scan_ms, now ? now : 1);
	}
	*bytes_r = atomic_load(&cache_bytes);
	*files_r = atomic_load(&cache_files);
}

void sn_metrics_sample(struct sn_ctx *ctx, int64_t wall_ms)
{
	(void)ctx;
	struct sn_sample s = { .t_ms = wall_ms,
			       .source = SN_STAT_GET(source_bytes),
			       .supernode = SN_STAT_GET(sn_piece_bytes),
			       .peers = SN_STAT_GET(p2p_bytes) };
	pthread_mutex_lock(&hist_lock);
	history[hist_next] = s;
	hist_next = (hist_next + 1) % SN_HISTORY_LEN;
	if (hist_n < SN_HISTORY_LEN)
		hist_n++;
	pthread_mutex_unlock(&hist_lock);
}

size_t sn_metrics_history(int64_t since_ms, struct sn_sample *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&hist_lock);
	size_t first = (hist_next + SN_HISTORY_LEN - hist_n) % SN_HISTORY_LEN;
	for (size_t i = 0; i < hist_n && n < max; i++) {
		const struct sn_sample *s = &history[(first + i) % SN_HISTORY_LEN];
		if (s->t_ms > since_ms)
			out[n++] = *s;
	}
	pthread_mutex_unlock(&hist_lock);
	return n;
}

/* ---------------------------------------------------------------- rendering */

#define NS "dragonfly_supernode_"

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP " NS "%s %s\n# TYPE " NS "%s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, int64_t v)
{
	head(f, name, type, help);
	fprintf(f, NS "%s %" PRId64 "\n", name, v);
}

static void requests(FILE *f)
{
	head(f, "http_requests_total", "counter", "API requests answered, by handler and HTTP code.");
	for (int h = 0; h < SN_H_COUNT; h++)
		for (int i = 0; i < CODE_SLOTS; i++) {
			unsigned c = atomic_load(&handlers[h].codes[i].code);
			int64_t n = atomic_load(&handlers[h].codes[i].n);
			if (c && n)
				fprintf(f, NS "http_requests_total{handler=\"%s\",code=\"%u\"} %" PRId64
					   "\n", handler_labels[h], c, n);
		}
	head(f, "http_request_duration_seconds", "histogram",
	     "Time from a request's arrival to its answer, by handler.");
	for (int h = 0; h < SN_H_COUNT; h++) {
		const struct handler_stats *hs = &handlers[h];
		int64_t count = atomic_load(&hs->count), cum = 0;
		if (!count)
			continue;
		for (size_t b = 0; b < NREQ_BUCKETS; b++) {
			cum += atomic_load(&hs->bucket[b]);
			fprintf(f, NS "http_request_duration_seconds_bucket{handler=\"%s\",le=\"%g\"} "
				   "%" PRId64 "\n", handler_labels[h], req_buckets[b], cum);
		}
		cum += atomic_load(&hs->bucket[NREQ_BUCKETS]);
		fprintf(f, NS "http_request_duration_seconds_bucket{handler=\"%s\",le=\"+Inf\"} "
			   "%" PRId64 "\n", handler_labels[h], cum);
		fprintf(f, NS "http_request_duration_seconds_sum{handler=\"%s\"} %.6f\n",
			handler_labels[h], (double)atomic_load(&hs->sum_us) / 1e6);
		fprintf(f, NS "http_request_duration_seconds_count{handler=\"%s\"} %" PRId64 "\n",
			handler_labels[h], cum);
	}
}

static void downloads(FILE *f)
{
	head(f, "downloads_total", "counter", "Downloads clients reported (/task/metrics), by result.");
	fprintf(f, NS "downloads_total{result=\"success\"} %" PRId64 "\n",
		SN_STAT_GET(downloads_ok));
	fprintf(f, NS "downloads_total{result=\"failure\"} %" PRId64 "\n",
		SN_STAT_GET(downloads_failed));
	head(f, "download_duration_seconds", "histogram",
	     "Duration of the successful downloads clients reported.");
	int64_t cum = 0;
	for (size_t b = 0; b < NDL_BUCKETS; b++) {
		cum += atomic_load(&dl_bucket[b]);
		fprintf(f, NS "download_duration_seconds_bucket{le=\"%g\"} %" PRId64 "\n",
			dl_buckets[b], cum);
	}
	cum += atomic_load(&dl_bucket[NDL_BUCKETS]);
	fprintf(f, NS "download_duration_seconds_bucket{le=\"+Inf\"} %" PRId64 "\n", cum);
	fprintf(f, NS "download_duration_seconds_sum %.3f\n",
		(double)atomic_load(&dl_sum_ms) / 1000.0);
	fprintf(f, NS "download_duration_seconds_count %" PRId64 "\n", cum);
}

static void fleet(FILE *f, struct sn_ctx *ctx)
{
	struct sn_fleet_counts c;
	sn_fleet_counts(ctx, &c);
	head(f, "peers", "gauge", "Peer hosts known, by health.");
	for (int h = 0; h < SN_HEALTH_COUNT; h++)
		fprintf(f, NS "peers{health=\"%s\"} %d\n", sn_health_name((enum sn_health)h),
			c.peers_by_health[h]);
	one(f, "clients", "gauge", "Clients of every task (one per download).", c.clients);
	one(f, "clients_active", "gauge", "Clients still downloading.", c.active_clients);
	head(f, "tasks", "gauge", "Tasks in memory, by the state of their CDN copy.");
	for (int s = 0; s < SN_TS_COUNT; s++)
		fprintf(f, NS "tasks{cdn_status=\"%s\"} %d\n",
			sn_task_status_name((enum sn_task_status)s), c.tasks_by_status[s]);
	int ph[SN_PH_COUNT];
	sn_preheat_counts(ph);
	head(f, "preheats", "gauge", "Preheats known, by status.");
	for (int s = 0; s < SN_PH_COUNT; s++)
		fprintf(f, NS "preheats{status=\"%s\"} %d\n",
			sn_preheat_status_name((enum sn_preheat_status)s), ph[s]);
}

static void cdn(FILE *f, struct sn_ctx *ctx)
{
	int64_t bytes, files;
	sn_metrics_cache_usage(ctx, &bytes, &files);
	one(f, "cdn_hits_total", "counter", "Tasks served from the disk cache.", SN_STAT_GET(cdn_hits));
	one(f, "cdn_misses_total", "counter", "Tasks fetched from their source.",
	    SN_STAT_GET(cdn_misses));
	one(f, "cdn_resumes_total", "counter", "Fetches resumed from a partial cache file.",
	    SN_STAT_GET(cdn_resumes));
	one(f, "cdn_source_bytes_total", "counter", "Content bytes read from sources.",
	    SN_STAT_GET(source_bytes));
	one(f, "cdn_source_requests_total", "counter", "HTTP requests sent to sources.",
	    SN_STAT_GET(source_requests));
	one(f, "cdn_source_errors_total", "counter", "Source probes and fetches that failed.",
	    SN_STAT_GET(source_errors));
	one(f, "cdn_cache_bytes", "gauge", "Bytes the disk cache uses.", bytes);
	one(f, "cdn_cache_files", "gauge", "Files in the disk cache.", files);
	one(f, "cdn_cache_limit_bytes", "gauge", "The cache-size setting (0: no limit).",
	    ctx->cfg->cache_size);
	pthread_mutex_lock(&ctx->jobs_lock);
	int running = ctx->fetch_running;
	pthread_mutex_unlock(&ctx->jobs_lock);
	one(f, "cdn_fetches_running", "gauge", "Source fetches running now.", running);
}

static void pieces(FILE *f, struct sn_ctx *ctx)
{
	one(f, "piece_server_bytes_total", "counter",
	    "Framed bytes the piece server sent (or queued).", SN_STAT_GET(served_bytes));
	head(f, "piece_server_requests_total", "counter", "Piece server requests, by result.");
	fprintf(f, NS "piece_server_requests_total{result=\"ok\"} %" PRId64 "\n",
		SN_STAT_GET(piece_requests));
	fprintf(f, NS "piece_server_requests_total{result=\"rejected\"} %" PRId64 "\n",
		SN_STAT_GET(piece_rejects));
	head(f, "pieces_scheduled_total", "counter", "Piece tasks handed out, by source.");
	fprintf(f, NS "pieces_scheduled_total{source=\"peer\"} %" PRId64 "\n",
		SN_STAT_GET(pieces_from_peers));
	fprintf(f, NS "pieces_scheduled_total{source=\"supernode\"} %" PRId64 "\n",
		SN_STAT_GET(pieces_from_supernode));
	head(f, "piece_bytes_reported_total", "counter",
	     "Content bytes clients reported fetching, by source.");
	fprintf(f, NS "piece_bytes_reported_total{source=\"peer\"} %" PRId64 "\n",
		SN_STAT_GET(p2p_bytes));
	fprintf(f, NS "piece_bytes_reported_total{source=\"supernode\"} %" PRId64 "\n",
		SN_STAT_GET(sn_piece_bytes));
	one(f, "uploads_in_flight", "gauge", "Piece transfers from the supernode in flight.",
	    atomic_load(&ctx->sn_load));
	one(f, "upload_slots", "gauge", "The cdn-up-limit setting.", ctx->cfg->cdn_up_limit);
	one(f, "peers_isolated_total", "counter", "Clients isolated after failed uploads.",
	    SN_STAT_GET(peers_isolated));
}

static void protocol(FILE *f, struct sn_ctx *ctx)
{
	one(f, "registrations_total", "counter", "POST /peer/registry requests.",
	    SN_STAT_GET(registrations));
	one(f, "pulls_total", "counter", "GET /peer/task requests.", SN_STAT_GET(pulls));
	one(f, "pull_holds_total", "counter", "Pulls that waited for work.", SN_STAT_GET(pull_holds));
	one(f, "pull_waits_total", "counter", "Pulls answered 602 (wait).", SN_STAT_GET(pull_waits));
	one(f, "bad_requests_total", "counter", "API requests answered 4xx by a handler.",
	    SN_STAT_GET(bad_requests));
	one(f, "waiting_requests", "gauge", "Requests parked until work appears.",
	    sn_waitq_count(ctx->waitq));
	one(f, "gc_tasks_total", "counter", "Idle tasks forgotten.", SN_STAT_GET(gc_tasks));
	one(f, "gc_clients_total", "counter", "Clients dropped (gone, isolated or silent).",
	    SN_STAT_GET(gc_clients));
	one(f, "gc_cache_files_total", "counter", "Cached files deleted by the disk collection.",
	    SN_STAT_GET(gc_cache_files));
	one(f, "gc_cache_deleted_bytes_total", "counter", "Bytes the disk collection freed.",
	    SN_STAT_GET(gc_cache_bytes));
}

char *sn_metrics_render(struct sn_ctx *ctx, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort(); /* out of memory */
	head(f, "build_info", "gauge", "The supernode's version (always 1).");
	fprintf(f, NS "build_info{version=\"%s\",protocol=\"dragonfly-1.0\"} 1\n",
		PACKAGE_VERSION);
	head(f, "start_time_seconds", "gauge", "When the supernode started (Unix time).");
	fprintf(f, NS "start_time_seconds %.3f\n", (double)sn_metrics_start_ms() / 1000.0);
	requests(f);
	protocol(f, ctx);
	fleet(f, ctx);
	cdn(f, ctx);
	pieces(f, ctx);
	downloads(f);
	fclose(f);
	*len_r = len;
	return buf;
}

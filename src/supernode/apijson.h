/* apijson: the JSON of the REST API (docs/openapi.yaml describes it): peers, tasks (list
 * entries and details with the holders-per-piece summary), preheats, and the holders
 * summary itself. Pure conversions of the views of fleet.h and preheat.h; no locks. */
#ifndef SN_APIJSON_H
#define SN_APIJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct sn_peer_view;
struct sn_task_view;
struct sn_preheat_view;

cJSON *sn_json_peer(const struct sn_peer_view *v);
/* A task; with detail, the CDN digests, the pieces given, the holders summary, the clients
 * and (with pieces) one entry per piece. */
cJSON *sn_json_task(const struct sn_task_view *v, bool detail, bool pieces);
/* A preheat as the original answered it (ID, status, startTime, finishTime, errorMsg) plus
 * type, url, runs and, with detail, its blobs. */
cJSON *sn_json_preheat(const struct sn_preheat_view *v, bool detail);

/* Holders per piece: min, max, mean, and how many pieces have 0, 1, 2-4, 5-9, 10+. */
struct sn_holders_summary {
	int32_t min, max;
	double mean;
	int64_t hist[5];
};
void sn_holders_summarize(const int32_t *holders, int64_t n, struct sn_holders_summary *s_r);

/* "2026-01-02T03:04:05Z", or "" for 0. */
void sn_json_add_time(cJSON *obj, const char *key, int64_t wall_ms);

#endif

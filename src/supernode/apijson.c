/* apijson: views to JSON (see apijson.h). No state. */
#include "config.h"
#include "apijson.h"

#include <math.h>
#include <stdio.h>

#include "fleet.h"
#include "preheat.h"
#include "timeutil.h"

void sn_json_add_time(cJSON *obj, const char *key, int64_t wall_ms)
{
	char buf[40] = "";
	if (wall_ms > 0)
		df_time_iso8601(wall_ms, buf, sizeof(buf));
	df_json_add_str(obj, key, buf);
}

cJSON *sn_json_peer(const struct sn_peer_view *v)
{
	cJSON *j = df_json_object();
	df_json_add_str(j, "ID", v->id);
	df_json_add_str(j, "IP", v->ip);
	df_json_add_int(j, "port", v->port);
	df_json_add_str(j, "hostName", v->host_name);
	df_json_add_str(j, "version", v->version);
	sn_json_add_time(j, "created", v->created_ms);
	sn_json_add_time(j, "lastSeen", v->last_seen_ms);
	df_json_add_str(j, "health", sn_health_name(v->health));
	df_json_add_str(j, "activity", v->activity);
	df_json_add_bool(j, "serves", v->serves);
	df_json_add_int(j, "tasks", v->tasks);
	df_json_add_int(j, "downloading", v->downloading);
	df_json_add_int(j, "finished", v->finished);
	df_json_add_int(j, "down", v->down);
	df_json_add_int(j, "isolated", v->isolated);
	df_json_add_int(j, "load", v->load);
	df_json_add_int(j, "inflight", v->inflight);
	df_json_add_int(j, "pieces", v->pieces);
	return j;
}

void sn_holders_summarize(const int32_t *holders, int64_t n, struct sn_holders_summary *s)
{
	*s = (struct sn_holders_summary){ 0 };
	double sum = 0;
	for (int64_t i = 0; i < n; i++) {
		int32_t h = holders[i];
		if (i == 0 || h < s->min)
			s->min = h;
		if (i == 0 || h > s->max)
			s->max = h;
		sum += h;
		s->hist[h <= 0 ? 0 : h == 1 ? 1 : h <= 4 ? 2 : h <= 9 ? 3 : 4]++;
	}
	s->mean = n ? sum / (double)n : 0;
}

static cJSON *holders_json(const int32_t *holders, int64_t n)
{
	static const char *const names[] = { "0", "1", "2-4", "5-9", "10+" };
	struct sn_holders_summary s;
	sn_holders_summarize(holders, n, &s);
	cJSON *j = df_json_object(), *h = df_json_object();
	df_json_add_int(j, "min", s.min);
	df_json_add_int(j, "max", s.max);
	df_json_add_double(j, "mean", round(s.mean * 100) / 100);
	for (int i = 0; i < 5; i++)
		df_json_add_int(h, names[i], s.hist[i]);
	cJSON_AddItemToObject(j, "histogram", h);
	return j;
}

static cJSON *downloads_json(const struct sn_task_view *v)
{
	cJSON *d = df_json_object();
	df_json_add_int(d, "succeeded", v->downloads);
	df_json_add_int(d, "failed", v->downloads_failed);
	df_json_add_double(d, "minSeconds", v->dl_min_s);
	df_json_add_double(d, "medianSeconds", v->dl_median_s);
	df_json_add_double(d, "maxSeconds", v->dl_max_s);
	df_json_add_double(d, "minimumSeconds", round(v->min_time_s * 1000) / 1000);
	df_json_add_double(d, "medianVsMinimum",
			   v->min_time_s > 0 && v->downloads
				   ? round(v->dl_median_s / v->min_time_s * 100) / 100
				   : 0);
	return d;
}

static void add_detail(cJSON *j, const struct sn_task_view *v, bool pieces)
{
	df_json_add_str(j, "sha256", v->sha256);
	cJSON *given = df_json_object();
	df_json_add_int(given, "supernode", v->sn_given);
	df_json_add_int(given, "peers", v->peer_given);
	cJSON_AddItemToObject(j, "piecesGiven", given);
	df_json_add_int(j, "supernodeLoad", v->sn_load);
	cJSON_AddItemToObject(j, "holders", holders_json(v->holders, v->pieces_total));
	cJSON_AddItemToObject(j, "sources", holders_json(v->sources, v->pieces_total));
	cJSON *cl = df_json_array();
	for (size_t i = 0; i < v->nclient_list; i++) {
		const struct sn_client_view *c = &v->client_list[i];
		cJSON *o = df_json_object();
		df_json_add_str(o, "cid", c->cid);
		df_json_add_str(o, "peer", c->peer_id);
		df_json_add_int(o, "pieces", c->pieces);
		df_json_add_bool(o, "finished", c->finished);
		df_json_add_bool(o, "down", c->down);
		df_json_add_bool(o, "isolated", c->isolated);
		df_json_add_bool(o, "serves", c->serves);
		df_json_add_int(o, "load", c->load);
		df_json_add_int(o, "inflight", c->inflight);
		cJSON_AddItemToArray(cl, o);
	}
	cJSON_AddItemToObject(j, "clientList", cl);
	if (!pieces)
		return;
	cJSON *pa = df_json_array();
	for (int64_t n = 0; n < v->pieces_total; n++) {
		cJSON *o = df_json_object();
		df_json_add_int(o, "num", n);
		df_json_add_int(o, "holders", v->holders[n]);
		df_json_add_int(o, "sources", v->sources[n]);
		cJSON_AddItemToArray(pa, o);
	}
	cJSON_AddItemToObject(j, "pieces", pa);
}

cJSON *sn_json_task(const struct sn_task_view *v, bool detail, bool pieces)
{
	cJSON *j = df_json_object();
	df_json_add_str(j, "ID", v->id);
	df_json_add_str(j, "taskURL", v->task_url);
	df_json_add_str(j, "cdnStatus", sn_task_status_name(v->status));
	df_json_add_str(j, "phase", v->phase);
	df_json_add_int(j, "fileLength", v->file_length);
	df_json_add_int(j, "pieceSize", v->piece_size);
	df_json_add_int(j, "pieceTotal", v->pieces_total);
	df_json_add_bool(j, "pieceTotalKnown", v->total_known);
	df_json_add_int(j, "piecesCached", v->pieces_cached);
	df_json_add_bool(j, "cacheHit", v->cache_hit);
	df_json_add_str(j, "md5", v->md5);
	sn_json_add_time(j, "created", v->created_ms);
	df_json_add_double(j, "idleSeconds", (double)(v->idle_ms / 100) / 10);
	df_json_add_double(j, "cdnSeconds", v->cdn_ms < 0 ? -1 : (double)v->cdn_ms / 1000);
	if (v->fail_msg) {
		df_json_add_int(j, "failCode", v->fail_code);
		df_json_add_str(j, "failMessage", v->fail_msg);
	}
	cJSON *c = df_json_object();
	df_json_add_int(c, "total", v->clients);
	df_json_add_int(c, "active", v->active);
	df_json_add_int(c, "finished", v->finished);
	df_json_add_int(c, "down", v->down);
	df_json_add_int(c, "isolated", v->isolated);
	df_json_add_double(c, "progress", round(v->client_progress * 1000) / 1000);
	cJSON_AddItemToObject(j, "clients", c);
	cJSON *b = df_json_object();
	df_json_add_int(b, "source", v->bytes_source);
	df_json_add_int(b, "supernode", v->bytes_supernode);
	df_json_add_int(b, "peers", v->bytes_peers);
	cJSON_AddItemToObject(j, "bytes", b);
	cJSON_AddItemToObject(j, "downloads", downloads_json(v));
	if (detail)
		add_detail(j, v, pieces);
	return j;
}

cJSON *sn_json_preheat(const struct sn_preheat_view *v, bool detail)
{
	cJSON *j = df_json_object();
	df_json_add_str(j, "ID", v->id);
	df_json_add_str(j, "type", v->type);
	df_json_add_str(j, "url", v->url);
	df_json_add_str(j, "status", sn_preheat_status_name(v->status));
	sn_json_add_time(j, "startTime", v->start_ms);
	sn_json_add_time(j, "finishTime", v->finish_ms);
	df_json_add_str(j, "errorMsg", v->error ? v->error : "");
	df_json_add_int(j, "runs", v->runs);
	size_t done = 0;
	for (size_t i = 0; i < v->nitems; i++)
		done += v->items[i].status == SN_PH_SUCCESS;
	df_json_add_int(j, "blobs", (int64_t)v->nitems);
	df_json_add_int(j, "blobsDone", (int64_t)done);
	if (!detail)
		return j;
	cJSON *arr = df_json_array();
	for (size_t i = 0; i < v->nitems; i++) {
		const struct sn_preheat_item *it = &v->items[i];
		cJSON *o = df_json_object();
		df_json_add_str(o, "url", it->url);
		df_json_add_str(o, "digest", it->digest);
		df_json_add_str(o, "taskId", it->task_id);
		df_json_add_str(o, "status", sn_preheat_status_name(it->status));
		df_json_add_int(o, "length", it->length);
		df_json_add_str(o, "error", it->error ? it->error : "");
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(j, "items", arr);
	return j;
}

/* restapi: routing, authorization and handlers of the REST API (see restapi.h). No state of
 * its own; the views it answers with are copies (fleet.h, preheat.h). */
#include "config.h"
#include "restapi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apijson.h"
#include "ctx.h"
#include "fleet.h"
#include "fsutil.h"
#include "gc.h"
#include "peerapi.h"
#include "preheat.h"
#include "preheatreq.h"
#include "registry.h"
#include "settings.h"
#include "stats.h"
#include "task.h"
#include "taskid.h"
#include "timeutil.h"
#include "xalloc.h"

static const struct {
	const char *prefix; /* a path, or with a trailing '/' a path with one more segment */
	enum sn_handler h;
	const char *methods; /* allowed, space separated */
} routes[] = {
	{ "/api/v1/summary", SN_H_SUMMARY, "GET" },
	{ "/api/v1/history", SN_H_HISTORY, "GET" },
	{ "/api/v1/peers", SN_H_PEERS, "GET" },
	{ "/api/v1/peers/", SN_H_PEER, "GET DELETE" },
	{ "/api/v1/tasks", SN_H_TASKS, "GET" },
	{ "/api/v1/tasks/", SN_H_TASK, "GET DELETE" },
	{ "/api/v1/preheats", SN_H_PREHEATS, "GET POST" },
	{ "/api/v1/preheats/", SN_H_PREHEAT, "GET DELETE" },
	{ "/preheats", SN_H_LEGACY_PREHEATS, "GET POST" },
	{ "/preheats/", SN_H_LEGACY_PREHEAT, "GET DELETE" },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static int route_of(const char *url)
{
	for (size_t i = 0; i < NROUTES; i++) {
		size_t n = strlen(routes[i].prefix);
		if (routes[i].prefix[n - 1] != '/') {
			if (strcmp(url, routes[i].prefix) == 0)
				return (int)i;
		} else if (strncmp(url, routes[i].prefix, n) == 0 && url[n] &&
			   !strchr(url + n, '/')) {
			return (int)i;
		}
	}
	return -1;
}

bool sn_restapi_match(const char *url, enum sn_handler *h_r)
{
	int r = route_of(url);
	if (r >= 0) {
		*h_r = routes[r].h;
		return true;
	}
	if (strncmp(url, "/api/", 5) == 0) {
		*h_r = SN_H_UNKNOWN; /* answered 404 in JSON */
		return true;
	}
	return false;
}

bool sn_restapi_token_ok(const char *token, const char *auth)
{
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	const char *given = auth + 7;
	while (*given == ' ')
		given++;
	size_t tl = strlen(token), gl = strlen(given);
	unsigned char diff = tl != gl;
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)(token[i] ^ (i < gl ? given[i] : 0));
	return diff == 0 && tl > 0;
}

static int parse_uint(const char *s, size_t *v_r)
{
	if (!s || !*s) {
		*v_r = 0;
		return 0;
	}
	if (strlen(s) > 9 || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	*v_r = (size_t)strtoul(s, NULL, 10);
	return 0;
}

int sn_restapi_page(const char *num, const char *size, size_t n, size_t *from_r,
		    size_t *to_r)
{
	size_t pn, ps;
	if (parse_uint(num, &pn) < 0 || parse_uint(size, &ps) < 0)
		return -EINVAL;
	if (ps == 0) {
		*from_r = pn == 0 ? 0 : n; /* everything is page 0 */
		*to_r = n;
		return 0;
	}
	*from_r = pn * ps < n ? pn * ps : n;
	*to_r = *from_r + ps < n ? *from_r + ps : n;
	return 0;
}

static enum MHD_Result error(struct MHD_Connection *con, unsigned status, const char *fmt,
			     ...) __attribute__((format(printf, 3, 4)));

static enum MHD_Result error(struct MHD_Connection *con, unsigned status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sn_reply_error(con, status, (int)status, msg);
}

/* The page of n items that the query asks for: 0, or -EINVAL with the 400 answered in *res. */
static int page_of(struct MHD_Connection *con, size_t n, size_t *from_r, size_t *to_r,
		   enum MHD_Result *res)
{
	if (sn_restapi_page(df_httpd_arg(con, "pageNum"), df_httpd_arg(con, "pageSize"), n, from_r,
			    to_r) == 0)
		return 0;
	*res = error(con, MHD_HTTP_BAD_REQUEST,
		     "pageNum and pageSize must be whole numbers (pageNum from 0; pageSize 0 = all)");
	return -EINVAL;
}

/* Answer json (freed here) with extra headers (NULL-terminated name, value pairs). */
static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, cJSON *json,
			     const char *const *hdrs)
{
	char *text = df_json_print(json);
	cJSON_Delete(json);
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (size_t i = 0; hdrs && hdrs[i]; i += 2)
		MHD_add_response_header(r, hdrs[i], hdrs[i + 1]);
	enum MHD_Result res = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return res;
}

static enum MHD_Result reply_list(struct MHD_Connection *con, cJSON *arr, size_t total)
{
	char n[32];
	snprintf(n, sizeof(n), "%zu", total);
	const char *hdrs[] = { "X-Total-Count", n, NULL };
	return reply(con, MHD_HTTP_OK, arr, hdrs);
}

static bool flag_arg(struct MHD_Connection *con, const char *key)
{
	const char *v = df_httpd_arg(con, key);
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0);
}

/* ---------------------------------------------------------------- summary, history */

static void add_counts(cJSON *j, struct sn_ctx *ctx)
{
	struct sn_fleet_counts c;
	sn_fleet_counts(ctx, &c);
	cJSON *p = df_json_object(), *t = df_json_object(), *cl = df_json_object();
	df_json_add_int(p, "total", c.peers);
	for (int h = 0; h < SN_HEALTH_COUNT; h++)
		df_json_add_int(p, sn_health_name((enum sn_health)h), c.peers_by_health[h]);
	df_json_add_int(t, "total", c.tasks);
	for (int s = 0; s < SN_TS_COUNT; s++)
		df_json_add_int(t, sn_task_status_name((enum sn_task_status)s),
				c.tasks_by_status[s]);
	df_json_add_int(cl, "total", c.clients);
	df_json_add_int(cl, "active", c.active_clients);
	cJSON_AddItemToObject(j, "peers", p);
	cJSON_AddItemToObject(j, "tasks", t);
	cJSON_AddItemToObject(j, "clients", cl);
	int ph[SN_PH_COUNT];
	sn_preheat_counts(ph);
	cJSON *pj = df_json_object();
	for (int s = 0; s < SN_PH_COUNT; s++)
		df_json_add_int(pj, sn_preheat_status_name((enum sn_preheat_status)s), ph[s]);
	cJSON_AddItemToObject(j, "preheats", pj);
}

static void add_cdn(cJSON *j, struct sn_ctx *ctx)
{
	int64_t bytes, files, free_b = -1;
	sn_metrics_cache_usage(ctx, &bytes, &files);
	df_free_space(ctx->repo_dir, &free_b);
	cJSON *c = df_json_object();
	df_json_add_int(c, "hits", SN_STAT_GET(cdn_hits));
	df_json_add_int(c, "misses", SN_STAT_GET(cdn_misses));
	df_json_add_int(c, "cacheBytes", bytes);
	df_json_add_int(c, "cacheFiles", files);
	df_json_add_int(c, "cacheLimit", ctx->cfg->cache_size);
	df_json_add_int(c, "freeBytes", free_b);
	df_json_add_int(c, "freeMin", ctx->cfg->cache_free_min);
	cJSON_AddItemToObject(j, "cdn", c);
	cJSON *b = df_json_object();
	df_json_add_int(b, "source", SN_STAT_GET(source_bytes));
	df_json_add_int(b, "supernode", SN_STAT_GET(sn_piece_bytes));
	df_json_add_int(b, "peers", SN_STAT_GET(p2p_bytes));
	df_json_add_int(b, "pieceServer", SN_STAT_GET(served_bytes));
	cJSON_AddItemToObject(j, "bytes", b);
	cJSON *u = df_json_object();
	df_json_add_int(u, "inFlight", atomic_load(&ctx->sn_load));
	df_json_add_int(u, "slots", ctx->cfg->cdn_up_limit);
	cJSON_AddItemToObject(j, "uploads", u);
}

static enum MHD_Result summary(struct sn_ctx *ctx, struct MHD_Connection *con)
{
	cJSON *j = df_json_object();
	df_json_add_str(j, "version", PACKAGE_VERSION);
	sn_json_add_time(j, "startTime", sn_metrics_start_ms());
	df_json_add_int(j, "uptimeSeconds", (df_wall_ms() - sn_metrics_start_ms()) / 1000);
	df_json_add_int(j, "apiPort", ctx->api_port);
	df_json_add_int(j, "downloadPort", ctx->download_port);
	df_json_add_int(j, "httpsPort", ctx->https_port);
	df_json_add_bool(j, "tokenRequired", *ctx->cfg->api_token != '\0');
	add_counts(j, ctx);
	add_cdn(j, ctx);
	cJSON *r = df_json_object();
	bool configured = ctx->cfg->client_rate > 0;
	df_json_add_double(r, "bytesPerSecond", configured ? (double)ctx->cfg->client_rate
							   : sn_metrics_fastest_rate());
	df_json_add_str(r, "from", configured ? "client-rate" : "fastest download");
	cJSON_AddItemToObject(j, "clientRate", r);
	return reply(con, MHD_HTTP_OK, j, NULL);
}

static enum MHD_Result history(struct MHD_Connection *con)
{
	const char *since = df_httpd_arg(con, "since");
	int64_t from = 0;
	if (since && *since) {
		char *end;
		from = strtoll(since, &end, 10);
		if (*end || from < 0)
			return error(con, MHD_HTTP_BAD_REQUEST,
				     "since must be a time in milliseconds since 1970");
	}
	struct sn_sample *s = xcalloc(SN_HISTORY_LEN, sizeof(*s));
	size_t n = sn_metrics_history(from, s, SN_HISTORY_LEN);
	cJSON *j = df_json_object(), *arr = df_json_array();
	df_json_add_int(j, "intervalMs", 1000);
	for (size_t i = 0; i < n; i++) {
		cJSON *row = df_json_array();
		cJSON_AddItemToArray(row, cJSON_CreateNumber((double)s[i].t_ms));
		cJSON_AddItemToArray(row, cJSON_CreateNumber((double)s[i].source));
		cJSON_AddItemToArray(row, cJSON_CreateNumber((double)s[i].supernode));
		cJSON_AddItemToArray(row, cJSON_CreateNumber((double)s[i].peers));
		cJSON_AddItemToArray(arr, row);
	}
	free(s);
	cJSON_AddItemToObject(j, "columns", cJSON_Parse("[\"time\",\"source\",\"supernode\","
							"\"peers\"]"));
	cJSON_AddItemToObject(j, "samples", arr);
	return reply(con, MHD_HTTP_OK, j, NULL);
}

/* ---------------------------------------------------------------- peers */

static enum MHD_Result peers(struct MHD_Connection *con)
{
	const char *key = df_httpd_arg(con, "sortKey");
	const char *dir = df_httpd_arg(con, "sortDirect");
	bool desc = dir && strcasecmp(dir, "DESC") == 0;
	if (dir && *dir && !desc && strcasecmp(dir, "ASC") != 0)
		return error(con, MHD_HTTP_BAD_REQUEST, "sortDirect must be ASC or DESC");
	size_t n, from, to;
	struct sn_peer_view *v = sn_fleet_peers(&n);
	enum MHD_Result res;
	if (sn_fleet_sort_peers(v, n, key && *key ? key : "id", desc) < 0) {
		res = error(con, MHD_HTTP_BAD_REQUEST, "sortKey must be one of id, ip, hostName, "
			    "port, created, lastSeen, load, tasks, pieces, health");
	} else if (page_of(con, n, &from, &to, &res) == 0) {
		cJSON *arr = df_json_array();
		for (size_t i = from; i < to; i++)
			cJSON_AddItemToArray(arr, sn_json_peer(&v[i]));
		res = reply_list(con, arr, n);
	}
	free(v);
	return res;
}

static enum MHD_Result peer(struct sn_ctx *ctx, struct MHD_Connection *con, const char *id,
			    bool del)
{
	struct sn_peer_view v;
	if (!del) {
		if (!sn_fleet_peer(id, &v))
			return error(con, MHD_HTTP_NOT_FOUND, "no peer %.100s (ids are ip:port)", id);
		return reply(con, MHD_HTTP_OK, sn_json_peer(&v), NULL);
	}
	int n = sn_fleet_delete_peer(ctx, id);
	if (n < 0)
		return error(con, MHD_HTTP_NOT_FOUND, "no peer %.100s (ids are ip:port)", id);
	cJSON *j = df_json_object();
	df_json_add_str(j, "ID", id);
	df_json_add_bool(j, "deleted", true);
	df_json_add_int(j, "clientsDropped", n);
	return reply(con, MHD_HTTP_OK, j, NULL);
}

/* ---------------------------------------------------------------- tasks */

/* Parse ?status=A,B into a mask; -1 on an unknown name. */
static int status_mask(const char *arg)
{
	if (!arg || !*arg)
		return (1 << SN_TS_COUNT) - 1;
	int mask = 0;
	char *copy = xstrdup(arg), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int s = sn_task_status_parse(tok);
		if (s < 0) {
			mask = -1;
			break;
		}
		mask |= 1 << s;
	}
	free(copy);
	return mask;
}

static enum MHD_Result tasks(struct sn_ctx *ctx, struct MHD_Connection *con)
{
	int mask = status_mask(df_httpd_arg(con, "status"));
	if (mask < 0)
		return error(con, MHD_HTTP_BAD_REQUEST, "status must be WAITING, RUNNING, SUCCESS, "
			     "FAILED or SOURCE_ERROR (several: comma-separated)");
	size_t n, k = 0, from, to;
	struct sn_task_view *v = sn_fleet_tasks(ctx, &n);
	for (size_t i = 0; i < n; i++) { /* keep the matching ones, in order */
		if (mask & (1 << v[i].status)) {
			if (k != i) {
				struct sn_task_view tmp = v[k];
				v[k] = v[i];
				v[i] = tmp;
			}
			k++;
		}
	}
	enum MHD_Result res;
	if (page_of(con, k, &from, &to, &res) == 0) {
		cJSON *arr = df_json_array();
		for (size_t i = from; i < to; i++)
			cJSON_AddItemToArray(arr, sn_json_task(&v[i], false, false));
		res = reply_list(con, arr, k);
	}
	sn_fleet_tasks_free(v, n);
	return res;
}

static enum MHD_Result task(struct sn_ctx *ctx, struct MHD_Connection *con, const char *id,
			    bool del)
{
	if (!df_task_id_valid(id))
		return error(con, MHD_HTTP_BAD_REQUEST, "a task id is 64 lowercase hex digits");
	if (!del) {
		struct sn_task_view v;
		if (sn_fleet_task(ctx, id, true, &v) < 0)
			return error(con, MHD_HTTP_NOT_FOUND, "no task %s", id);
		cJSON *j = sn_json_task(&v, true, flag_arg(con, "pieces"));
		sn_task_view_cleanup(&v);
		return reply(con, MHD_HTTP_OK, j, NULL);
	}
	bool full = flag_arg(con, "full");
	struct sn_task *t = sn_registry_get(id);
	int rc = t ? sn_gc_drop_task(ctx, t, full) : -ENOENT;
	sn_task_unref(t);
	if (rc == -ENOENT)
		return error(con, MHD_HTTP_NOT_FOUND, "no task %s", id);
	if (rc == -EBUSY)
		return error(con, MHD_HTTP_CONFLICT, "task %s is being fetched from its source: "
			     "delete it without full=true, or wait until the fetch ends", id);
	cJSON *j = df_json_object();
	df_json_add_str(j, "ID", id);
	df_json_add_bool(j, "deleted", true);
	df_json_add_bool(j, "cacheDeleted", full);
	return reply(con, MHD_HTTP_OK, j, NULL);
}

/* ---------------------------------------------------------------- preheats */

static enum MHD_Result preheat_post(struct MHD_Connection *con, struct df_httpd_request *req)
{
	struct sn_preheat_req r;
	char err[512];
	if (sn_preheat_req_parse(req->body, req->body_len, &r, err, sizeof(err)) < 0)
		return error(con, MHD_HTTP_BAD_REQUEST, "%s", err);
	bool started;
	int rc = sn_preheat_post(&r, &started);
	cJSON *j = df_json_object();
	df_json_add_str(j, "ID", r.id);
	sn_preheat_req_cleanup(&r);
	if (rc < 0) {
		cJSON_Delete(j);
		return error(con, MHD_HTTP_SERVICE_UNAVAILABLE, "the supernode is stopping");
	}
	/* 201: a run was queued; 200: the same preheat is already waiting or running. */
	return reply(con, started ? MHD_HTTP_CREATED : MHD_HTTP_OK, j, NULL);
}

static enum MHD_Result preheats(struct MHD_Connection *con)
{
	size_t n, from, to;
	struct sn_preheat_view *v = sn_preheat_list(&n);
	enum MHD_Result res;
	if (page_of(con, n, &from, &to, &res) == 0) {
		cJSON *arr = df_json_array();
		for (size_t i = from; i < to; i++)
			cJSON_AddItemToArray(arr, sn_json_preheat(&v[i], false));
		res = reply_list(con, arr, n);
	}
	sn_preheat_views_free(v, n);
	return res;
}

static enum MHD_Result preheat(struct MHD_Connection *con, const char *id, bool del)
{
	if (del) {
		if (sn_preheat_delete(id) < 0)
			return error(con, MHD_HTTP_NOT_FOUND, "no preheat %.100s", id);
		cJSON *j = df_json_object();
		df_json_add_str(j, "ID", id);
		df_json_add_bool(j, "deleted", true);
		return reply(con, MHD_HTTP_OK, j, NULL);
	}
	struct sn_preheat_view v;
	if (sn_preheat_get(id, &v) < 0)
		return error(con, MHD_HTTP_NOT_FOUND, "no preheat %.100s", id);
	cJSON *j = sn_json_preheat(&v, true);
	sn_preheat_view_cleanup(&v);
	return reply(con, MHD_HTTP_OK, j, NULL);
}

/* ---------------------------------------------------------------- dispatch */

static bool method_allowed(const char *methods, const char *method)
{
	size_t n = strlen(method);
	if (strcmp(method, "HEAD") == 0)
		method = "GET", n = 3;
	for (const char *p = methods; (p = strstr(p, method)); p += n)
		if ((p == methods || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static bool over_tls(struct sn_ctx *ctx, struct MHD_Connection *con)
{
	/* Only the HTTPS daemon's connections have a TLS session (a pool's connections
	 * belong to its worker daemons, so the daemon pointer cannot tell). */
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return ctx->https_daemon && ci && ci->tls_session;
}

/* The checks of a call that changes something; NULL when it may go on. */
static enum MHD_Result authorize(struct sn_ctx *ctx, struct MHD_Connection *con, bool *ok)
{
	*ok = false;
	if (ctx->https_daemon && !over_tls(ctx, con))
		return error(con, MHD_HTTP_FORBIDDEN, "this call changes the supernode: send it to "
			     "the HTTPS port (%u), not the plain one", (unsigned)ctx->https_port);
	const char *token = ctx->cfg->api_token;
	if (*token && !sn_restapi_token_ok(token, df_httpd_header(con, "Authorization"))) {
		cJSON *j = df_json_object();
		df_json_add_int(j, "code", MHD_HTTP_UNAUTHORIZED);
		df_json_add_str(j, "message", "this call needs \"Authorization: Bearer <token>\" "
					      "with the supernode's api-token");
		SN_STAT_ADD(bad_requests, 1);
		const char *hdrs[] = { MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				       "Bearer realm=\"dragonfly-supernode\"", NULL };
		return reply(con, MHD_HTTP_UNAUTHORIZED, j, hdrs);
	}
	*ok = true;
	return MHD_YES;
}

enum MHD_Result sn_restapi_handle(struct sn_ctx *ctx, struct MHD_Connection *con,
				  enum sn_handler h, const char *url, const char *method,
				  struct df_httpd_request *req)
{
	int r = route_of(url);
	if (r < 0)
		return error(con, MHD_HTTP_NOT_FOUND, "no such API endpoint: %.200s (see "
			     "docs/openapi.yaml)", url);
	if (!method_allowed(routes[r].methods, method)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s is not allowed here; use %s", method,
			 routes[r].methods);
		cJSON *j = df_json_object();
		df_json_add_int(j, "code", MHD_HTTP_METHOD_NOT_ALLOWED);
		df_json_add_str(j, "message", msg);
		SN_STAT_ADD(bad_requests, 1);
		char allow[64];
		snprintf(allow, sizeof(allow), "%s", routes[r].methods);
		for (char *p = allow; *p; p++)
			if (*p == ' ')
				*p = ',';
		const char *hdrs[] = { MHD_HTTP_HEADER_ALLOW, allow, NULL };
		return reply(con, MHD_HTTP_METHOD_NOT_ALLOWED, j, hdrs);
	}
	bool mutating = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0, ok = true;
	if (mutating) {
		enum MHD_Result res = authorize(ctx, con, &ok);
		if (!ok)
			return res;
	}
	const char *id = url + strlen(routes[r].prefix);
	bool del = strcmp(method, "DELETE") == 0;
	switch (h) {
	case SN_H_SUMMARY: return summary(ctx, con);
	case SN_H_HISTORY: return history(con);
	case SN_H_PEERS: return peers(con);
	case SN_H_PEER: return peer(ctx, con, id, del);
	case SN_H_TASKS: return tasks(ctx, con);
	case SN_H_TASK: return task(ctx, con, id, del);
	case SN_H_PREHEATS:
	case SN_H_LEGACY_PREHEATS:
		return mutating ? preheat_post(con, req) : preheats(con);
	case SN_H_PREHEAT:
	case SN_H_LEGACY_PREHEAT: return preheat(con, id, del);
	default: break;
	}
	return error(con, MHD_HTTP_NOT_FOUND, "no such API endpoint");
}

/* api: routing of the API port (see api.h): the legacy peer API, the system endpoints,
 * /metrics, the REST API (restapi.h) and the status page (www.h). Each request is tagged
 * with its handler for the request metrics, counted when it completes (server.c). No
 * state of its own. */
#include "config.h"
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "ctx.h"
#include "httpd.h"
#include "metrics.h"
#include "peerapi.h"
#include "protocol.h"
#include "restapi.h"
#include "server.h"
#include "stats.h"
#include "www.h"

#define MAX_BODY (1u << 20)

enum route_id {
	R_REGISTER,
	R_PULL,
	R_SUC,
	R_DOWN,
	R_ERROR,
	R_METRICS,
	R_PING,
	R_VERSION,
	R_PROMETHEUS,
};

static const struct route {
	const char *path;
	const char *method;
	enum route_id id;
	enum sn_handler h;
} routes[] = {
	{ "/peer/registry", "POST", R_REGISTER, SN_H_REGISTER },
	{ "/peer/task", "GET", R_PULL, SN_H_PULL },
	{ "/peer/piece/suc", "GET", R_SUC, SN_H_PIECE_SUC },
	{ "/peer/service/down", "GET", R_DOWN, SN_H_SERVICE_DOWN },
	{ "/peer/piece/error", "GET", R_ERROR, SN_H_PIECE_ERROR },
	{ "/task/metrics", "POST", R_METRICS, SN_H_TASK_METRICS },
	{ "/_ping", "GET", R_PING, SN_H_PING },
	{ "/version", "GET", R_VERSION, SN_H_VERSION },
	{ "/metrics", "GET", R_PROMETHEUS, SN_H_METRICS },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static enum MHD_Result version(struct MHD_Connection *con)
{
	struct utsname u;
	cJSON *j = df_json_object();
	df_json_add_str(j, "version", PACKAGE_VERSION);
	df_json_add_str(j, "program", "supernode");
	df_json_add_str(j, "protocol", "dragonfly-1.0");
	if (uname(&u) == 0) {
		df_json_add_str(j, "os", u.sysname);
		df_json_add_str(j, "arch", u.machine);
	}
	return df_httpd_reply_json(con, MHD_HTTP_OK, j);
}

static enum MHD_Result prometheus(struct sn_ctx *ctx, struct MHD_Connection *con)
{
	size_t len;
	char *text = sn_metrics_render(ctx, &len);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	enum MHD_Result res = MHD_queue_response(con, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return res;
}

static enum MHD_Result dispatch(struct sn_ctx *ctx, struct MHD_Connection *con,
				const struct route *r, struct df_httpd_request *req)
{
	switch (r->id) {
	case R_REGISTER:
		return sn_peerapi_register(ctx, con, req);
	case R_PULL:
		return sn_peerapi_pull(ctx, con, req);
	case R_SUC:
		return sn_peerapi_piece_suc(ctx, con);
	case R_DOWN:
		return sn_peerapi_service_down(ctx, con);
	case R_ERROR:
		return sn_peerapi_piece_error(ctx, con);
	case R_METRICS:
		return sn_peerapi_task_metrics(ctx, con, req);
	case R_PING:
		return df_httpd_reply_text(con, MHD_HTTP_OK, "OK");
	case R_VERSION:
		return version(con);
	case R_PROMETHEUS:
		return prometheus(ctx, con);
	}
	return MHD_NO;
}

/* The handler a request goes to (for metrics and the body limit). */
static enum sn_handler handler_of(const char *url)
{
	enum sn_handler h;
	for (size_t i = 0; i < NROUTES; i++)
		if (strcmp(url, routes[i].path) == 0)
			return routes[i].h;
	if (sn_restapi_match(url, &h))
		return h;
	return sn_www_match(url) ? SN_H_PAGE : SN_H_UNKNOWN;
}

static bool is_get(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

enum MHD_Result sn_api_handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version_, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct sn_ctx *ctx = cls;
	(void)version_;
	enum sn_handler h = handler_of(url);
	bool first = !*con_cls;
	if (first)
		sn_server_request_begin(ctx, NULL);
	size_t max = h >= SN_H_SUMMARY && h <= SN_H_LEGACY_PREHEAT ? SN_RESTAPI_MAX_BODY : MAX_BODY;
	struct df_httpd_request *req =
		df_httpd_request_step(con_cls, upload_data, upload_data_size, max);
	if (first && *con_cls)
		((struct df_httpd_request *)*con_cls)->tag = (int)h + 1;
	if (!req)
		return MHD_YES;
	if (req->too_large) {
		char msg[96];
		snprintf(msg, sizeof(msg), "request body too large (%zu bytes at most)", max);
		return sn_reply_error(con, MHD_HTTP_CONTENT_TOO_LARGE,
				      max == MAX_BODY ? DF_CODE_PARAM_ERROR : MHD_HTTP_CONTENT_TOO_LARGE,
				      msg);
	}
	bool path_known = false;
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(url, routes[i].path) != 0)
			continue;
		path_known = true;
		if (strcmp(method, routes[i].method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0 &&
		     routes[i].id >= R_PING))
			return dispatch(ctx, con, &routes[i], req);
	}
	if (path_known)
		return sn_reply_error(con, MHD_HTTP_METHOD_NOT_ALLOWED, 405,
				      "method not allowed on this path");
	if (h != SN_H_PAGE && h != SN_H_UNKNOWN)
		return sn_restapi_handle(ctx, con, h, url, method, req);
	if (h == SN_H_PAGE && is_get(method))
		return sn_www_serve(ctx, con, url);
	if (h == SN_H_PAGE && strcmp(url, "/") == 0)
		return sn_reply_error(con, MHD_HTTP_METHOD_NOT_ALLOWED, 405,
				      "the status page answers GET only");
	return sn_reply_error(con, MHD_HTTP_NOT_FOUND, 404, "no such endpoint");
}

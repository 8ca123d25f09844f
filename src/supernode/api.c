/* api: routing of the API port (see api.h). No state of its own. */
#include "config.h"
#include "api.h"

#include <string.h>
#include <sys/utsname.h>

#include "ctx.h"
#include "httpd.h"
#include "peerapi.h"
#include "protocol.h"
#include "server.h"
#include "stats.h"

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
};

static const struct route {
	const char *path;
	const char *method;
	enum route_id id;
} routes[] = {
	{ "/peer/registry", "POST", R_REGISTER },   { "/peer/task", "GET", R_PULL },
	{ "/peer/piece/suc", "GET", R_SUC },	    { "/peer/service/down", "GET", R_DOWN },
	{ "/peer/piece/error", "GET", R_ERROR },    { "/task/metrics", "POST", R_METRICS },
	{ "/_ping", "GET", R_PING },		    { "/version", "GET", R_VERSION },
};

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
	}
	return MHD_NO;
}

enum MHD_Result sn_api_handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version_, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct sn_ctx *ctx = cls;
	(void)version_;
	if (!*con_cls)
		sn_server_request_begin(ctx, NULL);
	struct df_httpd_request *req =
		df_httpd_request_step(con_cls, upload_data, upload_data_size, MAX_BODY);
	if (!req)
		return MHD_YES;
	if (req->too_large)
		return sn_reply_error(con, MHD_HTTP_CONTENT_TOO_LARGE, DF_CODE_PARAM_ERROR,
				      "request body too large (1 MiB at most)");
	bool path_known = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
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
	return sn_reply_error(con, MHD_HTTP_NOT_FOUND, 404, "no such endpoint");
}

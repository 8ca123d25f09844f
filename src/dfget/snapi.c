/* Supernode API client (see snapi.h). No shared state; each call uses the caller's handle. */
#include "config.h"
#include "snapi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "json.h"
#include "log.h"
#include "protocol.h"
#include "xalloc.h"

#define CTRL_TIMEOUT_MS 5000
#define CTRL_CONNECT_MS 2000

static void add_str_opt(cJSON *j, const char *key, const char *v)
{
	df_json_add_str(j, key, v ? v : "");
}

char *dg_reg_body(const struct dg_reg_request *rq)
{
	cJSON *j = df_json_object();
	add_str_opt(j, "rawUrl", rq->raw_url);
	add_str_opt(j, "taskUrl", rq->task_url);
	add_str_opt(j, "cid", rq->cid);
	add_str_opt(j, "ip", rq->ip);
	add_str_opt(j, "hostName", rq->host_name);
	df_json_add_int(j, "port", rq->port);
	add_str_opt(j, "path", rq->path);
	add_str_opt(j, "version", rq->version);
	add_str_opt(j, "md5", rq->md5);
	add_str_opt(j, "identifier", rq->identifier);
	add_str_opt(j, "callSystem", rq->callsystem);
	cJSON *hdrs = df_json_array();
	for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
		cJSON *s = cJSON_CreateString(rq->headers[i]);
		if (!s)
			abort();
		cJSON_AddItemToArray(hdrs, s);
	}
	cJSON_AddItemToObject(j, "headers", hdrs);
	df_json_add_bool(j, "dfdaemon", rq->dfdaemon);
	df_json_add_bool(j, "insecure", rq->insecure);
	if (rq->root_cas_b64) {
		cJSON *cas = df_json_array();
		cJSON *s = cJSON_CreateString(rq->root_cas_b64);
		if (!s)
			abort();
		cJSON_AddItemToArray(cas, s);
		cJSON_AddItemToObject(j, "rootCAs", cas);
	}
	add_str_opt(j, "pattern", rq->pattern);
	add_str_opt(j, "superNodeIp", rq->supernode_ip);
	char *text = df_json_print(j);
	cJSON_Delete(j);
	return text;
}

static void copy_msg(const cJSON *j, char *dst, size_t dstsz)
{
	const char *m = df_json_str(j, "msg");
	if (!m || !*m)
		m = df_json_str(j, "message");
	snprintf(dst, dstsz, "%s", m ? m : "");
}

int dg_reg_reply_parse(const char *body, struct dg_reg_reply *rp, char *err, size_t errsz)
{
	memset(rp, 0, sizeof(*rp));
	rp->file_length = -1;
	cJSON *j = cJSON_Parse(body);
	int64_t code = 0;
	int result = 0;
	if (!j || !df_json_int(j, "code", &code)) {
		snprintf(err, errsz, "registration reply is not the protocol's JSON: %.120s",
			 body);
		result = -EPROTO;
		goto out;
	}
	rp->code = (int)code;
	copy_msg(j, rp->msg, sizeof(rp->msg));
	if (code != DF_CODE_SUCCESS)
		goto out;
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
	if (!cJSON_IsObject(data))
		data = cJSON_GetObjectItem(j, "data");
	const char *id = data ? df_json_str(data, "taskId") : NULL;
	int64_t len = -1, ps = 0;
	if (!id || strlen(id) == 0 || strlen(id) >= sizeof(rp->task_id) ||
	    !df_json_int(data, "pieceSize", &ps) || ps <= 5 || ps > 64 * 1024 * 1024) {
		snprintf(err, errsz, "registration reply lacks taskId or pieceSize: %.160s", body);
		result = -EPROTO;
		goto out;
	}
	if (!df_json_int(data, "fileLength", &len) || len < -1)
		len = -1;
	snprintf(rp->task_id, sizeof(rp->task_id), "%s", id);
	rp->file_length = len;
	rp->piece_size = (int32_t)ps;
out:
	cJSON_Delete(j);
	return result;
}

void dg_piece_task_cleanup(struct dg_piece_task *t)
{
	if (!t)
		return;
	free(t->cid);
	free(t->peer_ip);
	free(t->path);
	t->cid = t->peer_ip = t->path = NULL;
}

void dg_piece_task_copy(struct dg_piece_task *dst, const struct dg_piece_task *src)
{
	*dst = *src;
	dst->cid = xstrdup(src->cid ? src->cid : "");
	dst->peer_ip = xstrdup(src->peer_ip ? src->peer_ip : "");
	dst->path = xstrdup(src->path ? src->path : "");
}

void dg_pull_reply_cleanup(struct dg_pull_reply *rp)
{
	if (!rp)
		return;
	for (size_t i = 0; i < rp->ntasks; i++)
		dg_piece_task_cleanup(&rp->tasks[i]);
	free(rp->tasks);
	rp->tasks = NULL;
	rp->ntasks = 0;
}

/* "<md5>:<len>" or "<md5>" or "". */
static bool parse_piece_md5(const char *s, struct dg_piece_task *t)
{
	t->md5[0] = '\0';
	t->framed_len = -1;
	if (!s || !*s)
		return true;
	const char *colon = strchr(s, ':');
	size_t mlen = colon ? (size_t)(colon - s) : strlen(s);
	if (mlen != 32)
		return false;
	memcpy(t->md5, s, 32);
	t->md5[32] = '\0';
	if (colon) {
		char *end;
		long long v = strtoll(colon + 1, &end, 10);
		if (*end != '\0' || v < 0)
			return false;
		t->framed_len = v;
	}
	return true;
}

static int parse_task(const cJSON *o, struct dg_piece_task *t, char *err, size_t errsz)
{
	memset(t, 0, sizeof(*t));
	const char *range = df_json_str(o, "range");
	const char *cid = df_json_str(o, "cid");
	const char *ip = df_json_str(o, "peerIp");
	const char *path = df_json_str(o, "path");
	int64_t num = -1, ps = 0, port = 0;
	df_json_int(o, "pieceNum", &num);
	df_json_int(o, "pieceSize", &ps);
	df_json_int(o, "peerPort", &port);
	if (!range || strlen(range) >= sizeof(t->range) || num < 0 || ps <= 5 || !ip || !*ip ||
	    port <= 0 || port > 65535 || !path || path[0] != '/' ||
	    !parse_piece_md5(df_json_str(o, "pieceMd5"), t)) {
		char *text = df_json_print(o);
		snprintf(err, errsz, "bad piece task from the supernode: %.200s", text);
		free(text);
		return -EPROTO;
	}
	snprintf(t->range, sizeof(t->range), "%s", range);
	t->num = num;
	t->piece_size = (int32_t)ps;
	t->cid = xstrdup(cid ? cid : "");
	t->peer_ip = xstrdup(ip);
	t->peer_port = (int)port;
	t->path = xstrdup(path);
	t->from_supernode = strncmp(t->cid, DF_CDN_CID_PREFIX, strlen(DF_CDN_CID_PREFIX)) == 0;
	return 0;
}

int dg_pull_reply_parse(const char *body, struct dg_pull_reply *rp, char *err, size_t errsz)
{
	memset(rp, 0, sizeof(*rp));
	rp->framed_length = -1;
	cJSON *j = cJSON_Parse(body);
	int64_t code = 0;
	int result = 0;
	if (!j || !df_json_int(j, "code", &code)) {
		snprintf(err, errsz, "pull reply is not the protocol's JSON: %.120s", body);
		result = -EPROTO;
		goto out;
	}
	rp->code = (int)code;
	copy_msg(j, rp->msg, sizeof(rp->msg));
	const cJSON *data = cJSON_GetObjectItem(j, "data");
	if (code == DF_CODE_PEER_CONTINUE) {
		if (data && !cJSON_IsArray(data)) {
			snprintf(err, errsz, "pull reply 601 without a task list: %.120s", body);
			result = -EPROTO;
			goto out;
		}
		size_t n = data ? (size_t)cJSON_GetArraySize(data) : 0;
		rp->tasks = xcalloc(n, sizeof(*rp->tasks)); /* n may be 0: one spare entry */
		const cJSON *o;
		cJSON_ArrayForEach(o, data)
		{
			result = parse_task(o, &rp->tasks[rp->ntasks], err, errsz);
			if (result < 0)
				goto out;
			rp->ntasks++;
		}
	} else if (code == DF_CODE_PEER_FINISH && cJSON_IsObject(data)) {
		const char *md5 = df_json_str(data, "md5");
		if (md5 && strlen(md5) == 32)
			memcpy(rp->md5, md5, 33);
		int64_t len;
		if (df_json_int(data, "fileLength", &len) && len >= 0)
			rp->framed_length = len;
	}
out:
	if (result < 0)
		dg_pull_reply_cleanup(rp);
	cJSON_Delete(j);
	return result;
}

static void append_q(char **url, const char *key, const char *value, bool first)
{
	char *v = df_url_escape(value ? value : "");
	char *n = xasprintf("%s%c%s=%s", *url, first ? '?' : '&', key, v);
	free(v);
	free(*url);
	*url = n;
}

char *dg_pull_url(const char *hostport, const struct dg_pull_request *rq)
{
	char *url = xasprintf("http://%s/peer/task", hostport);
	char num[16];
	append_q(&url, "srcCid", rq->src_cid, true);
	append_q(&url, "dstCid", rq->dst_cid, false);
	append_q(&url, "range", rq->range, false);
	snprintf(num, sizeof(num), "%d", rq->result);
	append_q(&url, "result", num, false);
	snprintf(num, sizeof(num), "%d", rq->status);
	append_q(&url, "status", num, false);
	append_q(&url, "taskId", rq->task_id, false);
	return url;
}

/* One control call; the body of any HTTP answer lands in resp. */
static int call(CURL *h, const char *method, const char *url, const char *body,
		long timeout_ms, struct df_http_response *resp, char *err, size_t errsz)
{
	struct df_http_request req = {
		.method = method,
		.url = url,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.content_type = body ? "application/json" : NULL,
		.timeout_ms = timeout_ms > 0 ? timeout_ms : CTRL_TIMEOUT_MS,
		.connect_timeout_ms = CTRL_CONNECT_MS,
		.max_body = 4u << 20,
	};
	memset(resp, 0, sizeof(*resp));
	return df_http_do(h, &req, resp, err, errsz);
}

int dg_sn_register(CURL *h, const char *hostport, const struct dg_reg_request *rq,
		   long timeout_ms, struct dg_reg_reply *rp, char *err, size_t errsz)
{
	char *url = xasprintf("http://%s/peer/registry", hostport);
	char *body = dg_reg_body(rq);
	struct df_http_response resp;
	int rc = call(h, "POST", url, body, timeout_ms, &resp, err, errsz);
	if (rc == 0) {
		rc = dg_reg_reply_parse(resp.body, rp, err, errsz);
		if (rc < 0 && resp.status != 200)
			snprintf(err, errsz, "%s answered HTTP %ld: %.160s", url, resp.status,
				 resp.body);
	}
	df_http_response_cleanup(&resp);
	free(body);
	free(url);
	return rc;
}

int dg_sn_pull(CURL *h, const char *hostport, const struct dg_pull_request *rq,
	       long timeout_ms, struct dg_pull_reply *rp, char *err, size_t errsz)
{
	char *url = dg_pull_url(hostport, rq);
	struct df_http_response resp;
	int rc = call(h, "GET", url, NULL, timeout_ms, &resp, err, errsz);
	if (rc == 0) {
		rc = dg_pull_reply_parse(resp.body, rp, err, errsz);
		if (rc < 0 && resp.status != 200)
			snprintf(err, errsz, "supernode %s answered HTTP %ld to a pull: %.160s",
				 hostport, resp.status, resp.body);
	}
	df_http_response_cleanup(&resp);
	free(url);
	return rc;
}

/* GET url, expect JSON {"code": want}. */
static int get_code(CURL *h, char *url, int want, char *err, size_t errsz)
{
	struct df_http_response resp;
	int rc = call(h, "GET", url, NULL, CTRL_TIMEOUT_MS, &resp, err, errsz);
	if (rc == 0) {
		cJSON *j = cJSON_Parse(resp.body);
		int64_t code = 0;
		if (!j || !df_json_int(j, "code", &code) || code != want) {
			snprintf(err, errsz, "%s answered HTTP %ld: %.160s", url, resp.status,
				 resp.body);
			rc = -EPROTO;
		}
		cJSON_Delete(j);
	}
	df_http_response_cleanup(&resp);
	free(url);
	return rc;
}

static char *build_url(const char *hostport, const char *path, const char *const *kv)
{
	char *url = xasprintf("http://%s%s", hostport, path);
	for (size_t i = 0; kv[i]; i += 2)
		append_q(&url, kv[i], kv[i + 1], i == 0);
	return url;
}

int dg_sn_piece_suc(CURL *h, const char *hostport, const char *task_id, const char *cid,
		    const char *dst_cid, const char *range, char *err, size_t errsz)
{
	const char *kv[] = { "taskId", task_id, "cid", cid, "dstCid", dst_cid,
			     "pieceRange", range, NULL };
	return get_code(h, build_url(hostport, "/peer/piece/suc", kv),
			DF_CODE_GET_PIECE_REPORT, err, errsz);
}

int dg_sn_piece_error(CURL *h, const char *hostport, const char *task_id, const char *range,
		      const char *src_cid, const char *dst_cid, const char *dst_ip,
		      const char *real_md5, const char *expected_md5, const char *error_type,
		      char *err, size_t errsz)
{
	const char *kv[] = { "taskId", task_id,	  "range",     range,	    "srcCid",
			     src_cid,	"dstCid", dst_cid,   "dstIp",	    dst_ip,
			     "realMd5", real_md5, "expectedMd5", expected_md5, "errorType",
			     error_type, NULL };
	char *url = build_url(hostport, "/peer/piece/error", kv);
	struct df_http_response resp;
	int rc = call(h, "GET", url, NULL, CTRL_TIMEOUT_MS, &resp, err, errsz);
	if (rc == 0 && resp.status != 200) {
		snprintf(err, errsz, "%s answered HTTP %ld", url, resp.status);
		rc = -EPROTO;
	}
	df_http_response_cleanup(&resp);
	free(url);
	return rc;
}

int dg_sn_service_down(CURL *h, const char *hostport, const char *task_id, const char *cid,
		       char *err, size_t errsz)
{
	const char *kv[] = { "taskId", task_id, "cid", cid, NULL };
	return get_code(h, build_url(hostport, "/peer/service/down", kv),
			DF_CODE_GET_PEER_DOWN, err, errsz);
}

int dg_sn_metrics(CURL *h, const char *hostport, const struct dg_metrics *m, char *err,
		  size_t errsz)
{
	cJSON *j = df_json_object();
	add_str_opt(j, "IP", m->ip);
	df_json_add_int(j, "port", m->port);
	add_str_opt(j, "taskId", m->task_id);
	add_str_opt(j, "cID", m->cid);
	add_str_opt(j, "callSystem", m->callsystem);
	df_json_add_double(j, "duration", m->duration_s);
	df_json_add_bool(j, "success", m->success);
	char reason[16];
	snprintf(reason, sizeof(reason), "%d", m->backsource_reason);
	df_json_add_str(j, "backsourceReason", reason);
	df_json_add_int(j, "fileLength", m->file_length);
	char *body = df_json_print(j);
	cJSON_Delete(j);
	char *url = xasprintf("http://%s/task/metrics", hostport);
	struct df_http_response resp;
	int rc = call(h, "POST", url, body, CTRL_TIMEOUT_MS, &resp, err, errsz);
	if (rc == 0 && resp.status != 200) {
		snprintf(err, errsz, "%s answered HTTP %ld", url, resp.status);
		rc = -EPROTO;
	}
	df_http_response_cleanup(&resp);
	free(url);
	free(body);
	return rc;
}

int dg_sn_ping(CURL *h, const char *hostport, long timeout_ms, char *ip_r, size_t ipsz,
	       char *err, size_t errsz)
{
	char *url = xasprintf("http://%s/_ping", hostport);
	struct df_http_response resp;
	int rc = call(h, "GET", url, NULL, timeout_ms, &resp, err, errsz);
	if (rc == 0 && resp.status != 200) {
		snprintf(err, errsz, "%s answered HTTP %ld", url, resp.status);
		rc = -EPROTO;
	}
	if (rc == 0) {
		char *ip = NULL;
		if (curl_easy_getinfo(h, CURLINFO_LOCAL_IP, &ip) == CURLE_OK && ip && *ip)
			snprintf(ip_r, ipsz, "%s", ip);
		else
			snprintf(ip_r, ipsz, "127.0.0.1");
	}
	df_http_response_cleanup(&resp);
	free(url);
	return rc;
}

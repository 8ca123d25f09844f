/* peerapi: the report endpoints of the legacy peer API and the helpers the handlers share
 * (see peerapi.h). Each takes the task lock only to update the progress. */
#include "config.h"
#include "peerapi.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cdn.h"
#include "ctx.h"
#include "log.h"
#include "metrics.h"
#include "piece.h"
#include "progress.h"
#include "protocol.h"
#include "registry.h"
#include "settings.h"
#include "stats.h"
#include "task.h"
#include "taskid.h"
#include "timeutil.h"
#include "waitq.h"

enum MHD_Result sn_reply_code(struct MHD_Connection *con, int code, const char *msg)
{
	cJSON *j = df_json_object();
	df_json_add_int(j, "code", code);
	if (msg && *msg)
		df_json_add_str(j, "msg", msg);
	return df_httpd_reply_json(con, MHD_HTTP_OK, j);
}

enum MHD_Result sn_reply_error(struct MHD_Connection *con, unsigned status, int code,
			       const char *msg)
{
	if (status >= 400 && status < 500)
		SN_STAT_ADD(bad_requests, 1);
	return df_httpd_reply_error(con, status, code, msg);
}

void sn_sync_load_locked(struct sn_ctx *ctx, struct sn_task *t, int before)
{
	int d = t->prog->sn_load - before;
	if (d)
		atomic_fetch_add(&ctx->sn_load, d);
}

int32_t sn_resolve_src_locked(struct sn_task *t, const char *dst_cid)
{
	if (strncmp(dst_cid, DF_CDN_CID_PREFIX, strlen(DF_CDN_CID_PREFIX)) == 0)
		return SN_SRC_CDN;
	struct sn_client *s = *dst_cid ? sn_progress_find(t->prog, dst_cid) : NULL;
	return s ? s->idx : SN_NO_SRC;
}

void sn_local_ip(struct MHD_Connection *con, char *buf, size_t bufsz)
{
	buf[0] = '\0';
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, (socklen_t)bufsz);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf,
			  (socklen_t)bufsz);
}

/* A client holds piece n now, fetched from the source dst_cid names: count its content
 * bytes as moved by a peer or by the supernode (lock held). */
static void count_piece_bytes_locked(struct sn_task *t, int64_t n, const char *dst_cid)
{
	int64_t len = t->src_len >= 0 ? df_piece_content_len(t->src_len, t->piece_size, n)
				      : df_piece_content_max(t->piece_size);
	if (strncmp(dst_cid, DF_CDN_CID_PREFIX, strlen(DF_CDN_CID_PREFIX)) == 0) {
		t->st.bytes_from_sn += len;
		SN_STAT_ADD(sn_piece_bytes, len);
	} else if (*dst_cid) {
		t->st.bytes_from_peers += len;
		SN_STAT_ADD(p2p_bytes, len);
	}
}

/* The task and client a report names, with the task locked; NULL after answering. */
static struct sn_task *report_target(struct MHD_Connection *con, const char *cid_arg,
				     struct sn_client **c_r, enum MHD_Result *res)
{
	const char *id = df_httpd_arg(con, "taskId");
	const char *cid = df_httpd_arg(con, cid_arg);
	if (!id || !df_task_id_valid(id) || !cid || !*cid) {
		char msg[128];
		snprintf(msg, sizeof(msg), "taskId (64 hex digits) and %s are required", cid_arg);
		*res = sn_reply_error(con, MHD_HTTP_BAD_REQUEST, DF_CODE_PARAM_ERROR, msg);
		return NULL;
	}
	struct sn_task *t = sn_registry_get(id);
	if (!t) {
		*res = sn_reply_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, DF_CODE_SYSTEM_ERROR,
				      "unknown task");
		return NULL;
	}
	pthread_mutex_lock(&t->lock);
	*c_r = sn_progress_find(t->prog, cid);
	if (!*c_r) {
		pthread_mutex_unlock(&t->lock);
		sn_task_unref(t);
		*res = sn_reply_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, DF_CODE_SYSTEM_ERROR,
				      "unknown client for this task");
		return NULL;
	}
	(*c_r)->last_seen_ms = df_mono_ms();
	return t;
}

enum MHD_Result sn_peerapi_piece_suc(struct sn_ctx *ctx, struct MHD_Connection *con)
{
	enum MHD_Result res = MHD_YES;
	struct sn_client *c;
	struct sn_task *t = report_target(con, "cid", &c, &res);
	if (!t)
		return res;
	const char *range = df_httpd_arg(con, "pieceRange");
	const char *dst = df_httpd_arg(con, "dstCid");
	int64_t piece = range && t->piece_size > 0 ? df_piece_num_of_range(range, t->piece_size)
						 : -1;
	bool ok = piece >= 0 && piece < t->prog->npieces, done = false;
	if (ok && !sn_client_serves(c, piece))
		count_piece_bytes_locked(t, piece, dst ? dst : "");
	if (ok) {
		int before = t->prog->sn_load;
		sn_progress_suc(t->prog, c, piece, sn_resolve_src_locked(t, dst ? dst : ""));
		sn_sync_load_locked(ctx, t, before);
		t->last_access_ms = df_mono_ms();
		sn_task_bump_locked(t);
		done = sn_progress_client_done(t->prog, c);
	}
	pthread_mutex_unlock(&t->lock);
	if (ok) {
		/* A new holder serves up-limit others, and the freed slot one more; a client
		 * that now holds everything may have its own pull parked: wake all then. */
		sn_waitq_wake(ctx->waitq, &t->waiters, done ? -1 : (int)ctx->cfg->up_limit + 1);
		res = sn_reply_code(con, DF_CODE_GET_PIECE_REPORT, NULL);
	} else {
		res = sn_reply_error(con, MHD_HTTP_BAD_REQUEST, DF_CODE_PARAM_ERROR,
				     "pieceRange is not a piece of this task");
	}
	sn_task_unref(t);
	return res;
}

enum MHD_Result sn_peerapi_service_down(struct sn_ctx *ctx, struct MHD_Connection *con)
{
	enum MHD_Result res = MHD_YES;
	struct sn_client *c;
	struct sn_task *t = report_target(con, "cid", &c, &res);
	if (!t)
		return res;
	sn_progress_down(t->prog, c, df_mono_ms());
	log_debug("task %.12s: %s went down", t->id, c->cid);
	pthread_mutex_unlock(&t->lock);
	sn_task_unref(t);
	(void)ctx;
	return sn_reply_code(con, DF_CODE_GET_PEER_DOWN, NULL);
}

enum MHD_Result sn_peerapi_piece_error(struct sn_ctx *ctx, struct MHD_Connection *con)
{
	enum MHD_Result res = MHD_YES;
	const char *type = df_httpd_arg(con, "errorType");
	const char *dst = df_httpd_arg(con, "dstCid");
	const char *range = df_httpd_arg(con, "range");
	bool md5_bad = type && strcmp(type, "FILE_MD5_NOT_MATCH") == 0;
	if (!type || (!md5_bad && strcmp(type, "FILE_NOT_EXIST") != 0) || !dst || !*dst)
		return sn_reply_error(con, MHD_HTTP_BAD_REQUEST, DF_CODE_PARAM_ERROR,
				      "errorType (FILE_NOT_EXIST or FILE_MD5_NOT_MATCH) and "
				      "dstCid are required");
	struct sn_client *c;
	struct sn_task *t = report_target(con, "srcCid", &c, &res);
	if (!t)
		return res;
	int64_t piece = range && t->piece_size > 0 ? df_piece_num_of_range(range, t->piece_size)
						 : -1;
	int32_t src = sn_resolve_src_locked(t, dst);
	if (src >= 0) {
		struct sn_client *s = t->prog->clients[src];
		log_warn("task %.12s: %s reports %s from peer %s (range %s)", t->id, c->cid, type,
			 s->cid, range ? range : "?");
		if (md5_bad || ++s->fails >= ctx->cfg->fail_limit) {
			if (!s->isolated)
				SN_STAT_ADD(peers_isolated, 1);
			sn_progress_isolate(t->prog, s, df_mono_ms());
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (src == SN_SRC_CDN && piece >= 0) {
		log_warn("task %.12s: %s reports %s for the supernode's piece %lld", t->id, c->cid,
			 type, (long long)piece);
		sn_cdn_check_piece(ctx, t, piece);
	}
	sn_task_unref(t);
	return sn_reply_code(con, DF_CODE_SUCCESS, NULL);
}

static void record_download_locked(struct sn_task_stats *st, bool ok, double secs)
{
	if (!ok) {
		st->dl_failed++;
		return;
	}
	if (st->dl_ok == 0 || secs < st->dl_min_s)
		st->dl_min_s = secs;
	if (st->dl_ok == 0 || secs > st->dl_max_s)
		st->dl_max_s = secs;
	st->dl_ok++;
	st->dl_recent_s[st->dl_pos] = secs;
	st->dl_pos = (st->dl_pos + 1) % SN_TASK_DL_KEEP;
	if (st->dl_n < SN_TASK_DL_KEEP)
		st->dl_n++;
}

enum MHD_Result sn_peerapi_task_metrics(struct sn_ctx *ctx, struct MHD_Connection *con,
					struct df_httpd_request *req)
{
	(void)ctx;
	cJSON *j = req->body ? cJSON_Parse(req->body) : NULL;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return sn_reply_error(con, MHD_HTTP_BAD_REQUEST, DF_CODE_PARAM_ERROR,
				      "the body must be a JSON object");
	}
	bool success = false;
	int64_t len = -1, dur = 0;
	df_json_bool(j, "success", &success);
	df_json_int(j, "fileLength", &len);
	df_json_int(j, "duration", &dur);
	const char *id = df_json_str(j, "taskId");
	double secs = 0;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "duration");
	if (cJSON_IsNumber(d) && d->valuedouble >= 0 && d->valuedouble < 1e9)
		secs = d->valuedouble;
	log_debug("task %.12s: a client reports %s, %lld bytes, duration %.3f s",
		  id ? id : "?", success ? "success" : "failure", (long long)len, secs);
	sn_metrics_download(success, secs, len);
	struct sn_task *t = id && df_task_id_valid(id) ? sn_registry_get(id) : NULL;
	if (t) {
		pthread_mutex_lock(&t->lock);
		record_download_locked(&t->st, success, secs);
		pthread_mutex_unlock(&t->lock);
		sn_task_unref(t);
	}
	cJSON_Delete(j);
	return sn_reply_code(con, DF_CODE_SUCCESS, "success");
}

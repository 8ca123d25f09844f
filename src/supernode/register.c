/* register: POST /peer/registry (see peerapi.h). A registration learns the task's source
 * length from memory, or parks until the task's CDN job has probed the source once; it
 * never waits on the source in an MHD thread. The task lock is held only for state checks
 * and to add the client. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdn.h"
#include "ctx.h"
#include "log.h"
#include "peerapi.h"
#include "progress.h"
#include "protocol.h"
#include "regreq.h"
#include "registry.h"
#include "settings.h"
#include "stats.h"
#include "task.h"
#include "taskid.h"
#include "timeutil.h"
#include "waitq.h"
#include "xalloc.h"

#define MAX_REG_BODY (1u << 20)

struct regstate {
	struct sn_waiter w;
	struct sn_regreq r;
	char id[DF_TASK_ID_LEN + 1];
	char sn_ip[64];
	struct sn_task *task;
	int64_t deadline_us;
	bool waited; /* it waited for a CDN job's probe */
};

static void regstate_free(void *p)
{
	struct regstate *st = p;
	sn_regreq_cleanup(&st->r);
	sn_task_unref(st->task);
	free(st);
}

static enum MHD_Result reply_ok(struct MHD_Connection *con, struct sn_task *t, int64_t len,
				int32_t ps)
{
	cJSON *j = df_json_object(), *d = df_json_object();
	df_json_add_int(j, "code", DF_CODE_SUCCESS);
	df_json_add_str(j, "msg", "success");
	df_json_add_str(d, "taskId", t->id);
	df_json_add_int(d, "fileLength", len);
	df_json_add_int(d, "pieceSize", ps);
	df_json_add_str(d, "cdnSource", "supernode");
	df_json_add_bool(d, "asSeed", false);
	df_json_add_str(d, "seedTaskID", "");
	cJSON_AddItemToObject(j, "data", d);
	return df_httpd_reply_json(con, MHD_HTTP_OK, j);
}

/* First call: parse, check, name the task. Returns NULL when the request was answered. */
static struct regstate *start(struct sn_ctx *ctx, struct MHD_Connection *con,
			      struct df_httpd_request *req, enum MHD_Result *res)
{
	char err[512];
	struct regstate *st = xcalloc(1, sizeof(*st));
	const char *ctype = df_httpd_header(con, MHD_HTTP_HEADER_CONTENT_TYPE);
	SN_STAT_ADD(registrations, 1);
	if (sn_regreq_parse(ctype, req->body, req->body_len, &st->r, err, sizeof(err)) < 0 ||
	    sn_regreq_validate(&st->r, err, sizeof(err)) < 0) {
		log_info("registration refused: %s", err);
		SN_STAT_ADD(bad_requests, 1);
		cJSON *j = df_json_object();
		df_json_add_int(j, "code", DF_CODE_PARAM_ERROR);
		df_json_add_str(j, "msg", err);
		*res = df_httpd_reply_json(con, MHD_HTTP_BAD_REQUEST, j);
		regstate_free(st);
		return NULL;
	}
	if (!*st->r.ip) {
		char ip[64];
		df_httpd_client_ip(con, ip, sizeof(ip));
		free(st->r.ip);
		st->r.ip = xstrdup(ip);
	}
	df_task_id(st->r.task_url, st->r.md5, st->r.identifier, sn_regreq_range(&st->r), st->id);
	if (*ctx->cfg->advertise_ip)
		snprintf(st->sn_ip, sizeof(st->sn_ip), "%s", ctx->cfg->advertise_ip);
	else
		sn_local_ip(con, st->sn_ip, sizeof(st->sn_ip));
	/* The probe may take a HEAD and a GET, each within source-timeout. */
	st->deadline_us = df_mono_us() + (2 * ctx->cfg->source_timeout + 5000) * 1000;
	sn_registry_peer_seen(st->r.ip, (int)st->r.port, st->r.host_name, st->r.version,
			      df_wall_ms());
	req->user = st;
	req->user_free = regstate_free;
	return st;
}

static struct sn_task *find_or_add(struct sn_ctx *ctx, struct regstate *st)
{
	struct sn_task *t = sn_registry_get(st->id);
	if (t)
		return t;
	struct sn_task *fresh = sn_task_new(st->id, &st->r, ctx->repo_dir, df_mono_ms());
	bool added;
	t = sn_registry_add(fresh, &added);
	sn_task_unref(fresh);
	if (added)
		log_info("task %.12s: new, for %s", t->id, st->r.task_url);
	return t;
}

enum what { REPLY_OK, REPLY_CODE, WAIT };

/* Decide under the task lock. */
static enum what decide_locked(struct sn_ctx *ctx, struct regstate *st, struct sn_task *t,
			       bool *start_job, int *code, char *msg, size_t msgsz)
{
	int64_t now = df_mono_ms();
	t->last_access_ms = now;
	if (!sn_task_same_identity(t, &st->r)) {
		*code = DF_CODE_TASK_CONFLICT;
		snprintf(msg, msgsz, "task id %s is taken by another URL or md5/identifier", t->id);
		return REPLY_CODE;
	}
	switch (t->state) {
	case SN_CDN_FAILED:
		if (t->job_running)
			return WAIT;
		/* The failure is remembered for registrations that would ask the source the
		 * same way; and one that waited for this very attempt gets its answer. */
		if (st->waited ||
		    (now < t->fail_until_ms &&
		     t->fail_hash == sn_source_hash(st->r.raw_url,
						    (const char *const *)st->r.headers))) {
			*code = t->fail_code;
			snprintf(msg, msgsz, "%s", t->fail_msg ? t->fail_msg : "source error");
			return REPLY_CODE;
		}
		sn_task_set_source_locked(t, &st->r);
		sn_cdn_begin_locked(ctx, t);
		*start_job = true;
		return WAIT;
	case SN_CDN_NEW:
		sn_task_set_source_locked(t, &st->r);
		sn_cdn_begin_locked(ctx, t);
		*start_job = true;
		return WAIT;
	case SN_CDN_PROBING:
		return WAIT;
	case SN_CDN_RUNNING:
	case SN_CDN_DONE:
		break;
	}
	struct sn_client_info info = { .cid = st->r.cid,
				       .ip = st->r.ip,
				       .path = st->r.path,
				       .sn_ip = st->sn_ip,
				       .port = (int)st->r.port,
				       .can_serve = sn_regreq_can_serve(&st->r) };
	sn_progress_add(t->prog, &info, now);
	return REPLY_OK;
}

enum MHD_Result sn_peerapi_register(struct sn_ctx *ctx, struct MHD_Connection *con,
				    struct df_httpd_request *req)
{
	enum MHD_Result res = MHD_YES;
	struct regstate *st = req->user;
	if (!st && !(st = start(ctx, con, req, &res)))
		return res;
	if (!st->task)
		st->task = find_or_add(ctx, st);
	struct sn_task *t = st->task;
	bool start_job = false;
	int code = 0;
	char msg[300] = "";
	pthread_mutex_lock(&t->lock);
	enum what w = decide_locked(ctx, st, t, &start_job, &code, msg, sizeof(msg));
	int64_t len = t->src_len;
	int32_t ps = t->piece_size;
	uint64_t gen = atomic_load(&t->gen);
	pthread_mutex_unlock(&t->lock);
	if (start_job)
		sn_cdn_start(ctx, t);
	if (w == REPLY_OK) {
		log_debug("task %.12s: registered %s (%s:%lld)", t->id, st->r.cid, st->r.ip,
			  (long long)st->r.port);
		return reply_ok(con, t, len, ps);
	}
	if (w == REPLY_CODE)
		return sn_reply_code(con, code, msg);
	if (sn_ctx_stopping(ctx))
		return sn_reply_code(con, DF_CODE_SUPER_FAIL, "the supernode is shutting down");
	if (df_mono_us() >= st->deadline_us)
		return sn_reply_code(con, DF_CODE_SUPER_FAIL,
				     "the source did not answer in time; try again");
	st->waited = true;
	MHD_suspend_connection(con);
	sn_waitq_park(ctx->waitq, &t->waiters, &st->w, con, st->deadline_us, &t->gen, gen);
	return MHD_YES;
}

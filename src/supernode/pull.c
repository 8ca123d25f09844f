/* pull: GET /peer/task (see peerapi.h): apply what the client reports (the piece it just
 * finished or failed, or that it finished), then give it piece tasks chosen by the
 * scheduler, or the finish answer; when there is nothing for it now, park the request
 * (up to pull-hold) and answer as soon as work appears, else 602. The report is applied
 * once even when the handler runs again after a park. The task lock is held for the
 * report and the scheduling decision; the JSON is built after it is released. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "log.h"
#include "peerapi.h"
#include "piece.h"
#include "progress.h"
#include "protocol.h"
#include "registry.h"
#include "sched.h"
#include "settings.h"
#include "stats.h"
#include "task.h"
#include "taskid.h"
#include "timeutil.h"
#include "waitq.h"
#include "xalloc.h"

#define MAX_PICKS SN_SETTINGS_MAX_DOWN

struct pullstate {
	struct sn_waiter w;
	struct sn_task *task;
	bool applied; /* the report of this request is in the progress */
	bool held;    /* it waited at least once */
	int64_t deadline_us;
};

static void pullstate_free(void *p)
{
	struct pullstate *st = p;
	sn_task_unref(st->task);
	free(st);
}

/* One piece task of the answer, copied out of the task under its lock. */
struct item {
	int64_t piece;
	int32_t piece_size;
	char md5[48];
	char cid[300];
	char ip[64];
	int port;
	char path[1100];
};

struct answer {
	int code; /* 601, 600, 602, 500, 502, 501 */
	char msg[200];
	int n;
	struct item *items; /* n of them */
	char md5[33];	    /* finish */
	int64_t framed_len; /* finish */
	uint64_t gen;	    /* for a park */
	bool released;	    /* the report freed a slot or added a holder: wake others */
};

static void fill_item(struct sn_ctx *ctx, struct sn_task *t, struct sn_client *c,
		      const struct sn_pick *pk, struct item *it)
{
	it->piece = pk->piece;
	it->piece_size = t->piece_size;
	snprintf(it->md5, sizeof(it->md5), "%s", t->piece_md5[pk->piece]);
	if (pk->src == SN_SRC_CDN) {
		snprintf(it->cid, sizeof(it->cid), DF_CDN_CID_PREFIX "%s~%s", c->sn_ip, t->id);
		snprintf(it->ip, sizeof(it->ip), "%s", c->sn_ip);
		it->port = ctx->download_port;
		snprintf(it->path, sizeof(it->path), "%s", t->http_path);
	} else {
		const struct sn_client *s = t->prog->clients[pk->src];
		snprintf(it->cid, sizeof(it->cid), "%s", s->cid);
		snprintf(it->ip, sizeof(it->ip), "%s", s->ip);
		it->port = s->port;
		snprintf(it->path, sizeof(it->path), "%s", s->path);
	}
}

/* Apply the report in the query (lock held). */
static void apply_report_locked(struct sn_ctx *ctx, struct sn_task *t, struct sn_client *c,
				struct MHD_Connection *con, struct answer *a)
{
	const char *range = df_httpd_arg(con, "range");
	const char *result = df_httpd_arg(con, "result");
	const char *dst = df_httpd_arg(con, "dstCid");
	int res = result && *result ? atoi(result) : 0;
	if (!range || !*range || t->piece_size <= 0)
		return;
	int64_t piece = df_piece_num_of_range(range, t->piece_size);
	if (piece < 0 || piece >= t->prog->npieces) {
		log_debug("task %.12s: %s reported an unknown range %s", t->id, c->cid, range);
		return;
	}
	if (res == DF_RESULT_SEMISUC || res == DF_RESULT_SUCCESS) {
		sn_progress_ok(t->prog, c, piece);
		a->released = true;
	} else if (res == DF_RESULT_FAILED) {
		int32_t src = sn_progress_failed(t->prog, c, piece,
						 sn_resolve_src_locked(t, dst ? dst : ""),
						 (int)ctx->cfg->fail_limit, df_mono_ms());
		if (src == SN_SRC_CDN)
			t->sn_fails++;
		else if (src >= 0 && t->prog->clients[src]->isolated &&
			 t->prog->clients[src]->fails == (int)ctx->cfg->fail_limit) {
			SN_STAT_ADD(peers_isolated, 1);
			log_info("task %.12s: peer %s isolated after %d failed uploads", t->id,
				 t->prog->clients[src]->cid, t->prog->clients[src]->fails);
		}
		a->released = true;
	}
}

static void finish_answer_locked(struct sn_task *t, struct answer *a)
{
	a->code = DF_CODE_PEER_FINISH;
	snprintf(a->md5, sizeof(a->md5), "%s", t->file_md5);
	a->framed_len = sn_task_framed_len_locked(t);
}

/* Decide under the task lock: the answer, or a park (a->code 602 with a->gen). */
static void decide_locked(struct sn_ctx *ctx, struct sn_task *t, struct MHD_Connection *con,
			  struct pullstate *st, struct answer *a)
{
	const char *cid = df_httpd_arg(con, "srcCid");
	const char *status = df_httpd_arg(con, "status");
	struct sn_progress *p = t->prog;
	int64_t now = df_mono_ms();
	int before = p->sn_load;
	struct sn_client *c = sn_progress_find(p, cid);
	a->gen = atomic_load(&t->gen);
	if (!c) {
		a->code = DF_CODE_TARGET_NOT_FOUND;
		snprintf(a->msg, sizeof(a->msg), "unknown client %.100s: register first", cid);
		return;
	}
	c->last_seen_ms = now;
	t->last_access_ms = now;
	if (!st->applied) {
		apply_report_locked(ctx, t, c, con, a);
		st->applied = true;
		if (a->released)
			sn_task_bump_locked(t); /* a slot is free: waiters must look again */
	}
	if (status && atoi(status) == DF_STATUS_FINISH) {
		sn_progress_finish(p, c);
		finish_answer_locked(t, a);
	} else if (t->state == SN_CDN_FAILED) {
		a->code = DF_CODE_SYSTEM_ERROR;
		snprintf(a->msg, sizeof(a->msg), "%s", t->fail_msg ? t->fail_msg : "CDN failed");
	} else if (sn_progress_client_done(p, c) && t->state == SN_CDN_DONE) {
		sn_progress_finish(p, c);
		finish_answer_locked(t, a);
	} else if (t->state == SN_CDN_RUNNING || t->state == SN_CDN_DONE) {
		int load = atomic_load(&ctx->sn_load);
		struct sn_sched_limits lim = {
			.down_limit = (int)ctx->cfg->down_limit,
			.up_limit = (int)ctx->cfg->up_limit,
			.sn_free = (int)ctx->cfg->cdn_up_limit - load,
			.sn_busy = load >= (int)ctx->cfg->cdn_up_limit,
		};
		struct sn_pick picks[MAX_PICKS];
		a->n = sn_sched_pick(p, c, &lim, now, picks, MAX_PICKS);
		a->items = a->n ? xcalloc((size_t)a->n, sizeof(*a->items)) : NULL;
		for (int i = 0; i < a->n; i++) {
			fill_item(ctx, t, c, &picks[i], &a->items[i]);
			if (picks[i].src == SN_SRC_CDN)
				SN_STAT_ADD(pieces_from_supernode, 1);
			else
				SN_STAT_ADD(pieces_from_peers, 1);
		}
		a->code = a->n ? DF_CODE_PEER_CONTINUE : DF_CODE_PEER_WAIT;
		if (!a->n)
			log_debug("task %.12s: nothing for %s now (holds %lld of %lld, %d in "
				  "flight; supernode load %d)", t->id, c->cid, (long long)c->nhave,
				  (long long)p->npieces, c->ninf, load);
	} else {
		a->code = DF_CODE_PEER_WAIT; /* the length is being learned */
	}
	sn_sync_load_locked(ctx, t, before);
}

static enum MHD_Result reply_answer(struct MHD_Connection *con, const struct answer *a)
{
	cJSON *j = df_json_object();
	df_json_add_int(j, "code", a->code);
	if (a->code == DF_CODE_PEER_CONTINUE) {
		cJSON *arr = df_json_array();
		for (int i = 0; i < a->n; i++) {
			const struct item *it = &a->items[i];
			char range[64];
			cJSON *o = df_json_object();
			df_json_add_str(o, "range", df_piece_range_format(it->piece, it->piece_size,
									 range, sizeof(range)));
			df_json_add_int(o, "pieceNum", it->piece);
			df_json_add_int(o, "pieceSize", it->piece_size);
			df_json_add_str(o, "pieceMd5", it->md5);
			df_json_add_str(o, "cid", it->cid);
			df_json_add_str(o, "peerIp", it->ip);
			df_json_add_int(o, "peerPort", it->port);
			df_json_add_str(o, "path", it->path);
			df_json_add_int(o, "downLink", 0);
			cJSON_AddItemToArray(arr, o);
		}
		cJSON_AddItemToObject(j, "data", arr);
	} else if (a->code == DF_CODE_PEER_FINISH) {
		cJSON *d = df_json_object();
		df_json_add_str(d, "md5", a->md5);
		df_json_add_int(d, "fileLength", a->framed_len);
		cJSON_AddItemToObject(j, "data", d);
	} else if (a->msg[0]) {
		df_json_add_str(j, "msg", a->msg);
	}
	return df_httpd_reply_json(con, MHD_HTTP_OK, j);
}

/* First call: check the query and find the task. NULL when answered. */
static struct pullstate *start(struct sn_ctx *ctx, struct MHD_Connection *con,
			       struct df_httpd_request *req, enum MHD_Result *res)
{
	const char *id = df_httpd_arg(con, "taskId");
	const char *cid = df_httpd_arg(con, "srcCid");
	const char *status = df_httpd_arg(con, "status");
	const char *result = df_httpd_arg(con, "result");
	SN_STAT_ADD(pulls, 1);
	if (!id || !df_task_id_valid(id) || !cid || !*cid) {
		*res = sn_reply_code(con, DF_CODE_PARAM_ERROR,
				     "taskId (64 hex digits) and srcCid are required");
		return NULL;
	}
	int s = status && *status ? atoi(status) : DF_STATUS_START;
	int r = result && *result ? atoi(result) : DF_RESULT_INVALID;
	if (s < DF_STATUS_START || s > DF_STATUS_FINISH || r < DF_RESULT_FAILED ||
	    r > DF_RESULT_SEMISUC) {
		*res = sn_reply_code(con, DF_CODE_PARAM_ERROR,
				     "status must be 700-702 and result 500-503");
		return NULL;
	}
	struct sn_task *t = sn_registry_get(id);
	if (!t) {
		*res = sn_reply_code(con, DF_CODE_TARGET_NOT_FOUND,
				     "unknown task: register again");
		return NULL;
	}
	struct pullstate *st = xcalloc(1, sizeof(*st));
	st->task = t;
	st->deadline_us = df_mono_us() + ctx->cfg->pull_hold * 1000;
	req->user = st;
	req->user_free = pullstate_free;
	return st;
}

enum MHD_Result sn_peerapi_pull(struct sn_ctx *ctx, struct MHD_Connection *con,
				struct df_httpd_request *req)
{
	enum MHD_Result res = MHD_YES;
	struct pullstate *st = req->user;
	if (!st && !(st = start(ctx, con, req, &res)))
		return res;
	struct sn_task *t = st->task;
	struct answer *a = xcalloc(1, sizeof(*a));
	pthread_mutex_lock(&t->lock);
	decide_locked(ctx, t, con, st, a);
	pthread_mutex_unlock(&t->lock);
	if (a->released)
		sn_waitq_wake(ctx->waitq, &t->waiters, 8);
	if (a->code == DF_CODE_PEER_WAIT && !sn_ctx_stopping(ctx) &&
	    df_mono_us() < st->deadline_us) {
		if (!st->held)
			SN_STAT_ADD(pull_holds, 1);
		st->held = true;
		MHD_suspend_connection(con);
		sn_waitq_park(ctx->waitq, &t->waiters, &st->w, con, st->deadline_us, &t->gen,
			      a->gen);
		free(a->items);
		free(a);
		return MHD_YES;
	}
	if (a->code == DF_CODE_PEER_WAIT) {
		SN_STAT_ADD(pull_waits, 1);
		snprintf(a->msg, sizeof(a->msg), "no piece is available for you yet; ask again");
	}
	res = reply_answer(con, a);
	free(a->items);
	free(a);
	return res;
}

/* fleet: operators' views of peers and tasks, and their deletions (see fleet.h). Every view
 * is built from copies taken under one task lock at a time; deletions take the registry
 * lock and one task lock, never together. */
#include "config.h"
#include "fleet.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "log.h"
#include "metrics.h"
#include "peerapi.h"
#include "progress.h"
#include "protocol.h"
#include "registry.h"
#include "settings.h"
#include "strmap.h"
#include "task.h"
#include "timeutil.h"
#include "waitq.h"
#include "xalloc.h"

static const char *const health_names[] = { "healthy", "down", "isolated" };
static const char *const status_names[] = { "WAITING", "RUNNING", "SUCCESS", "FAILED",
					    "SOURCE_ERROR" };

const char *sn_health_name(enum sn_health h)
{
	return h < SN_HEALTH_COUNT ? health_names[h] : "unknown";
}

const char *sn_task_status_name(enum sn_task_status s)
{
	return s < SN_TS_COUNT ? status_names[s] : "UNKNOWN";
}

int sn_task_status_parse(const char *name)
{
	for (int i = 0; i < SN_TS_COUNT; i++)
		if (strcasecmp(name, status_names[i]) == 0)
			return i;
	return -1;
}

static void peer_id(char *buf, size_t sz, const char *ip, int port)
{
	snprintf(buf, sz, "%.63s:%d", ip, port);
}

/* ---------------------------------------------------------------- peers */

struct peer_set {
	struct sn_strmap *by_id;
	struct sn_peer_view **v;
	size_t n, cap;
};

static struct sn_peer_view *peer_slot(struct peer_set *s, const char *ip, int port)
{
	char id[96];
	peer_id(id, sizeof(id), ip, port);
	struct sn_peer_view *p = sn_strmap_get(s->by_id, id);
	if (p)
		return p;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	p = xcalloc(1, sizeof(*p));
	memcpy(p->id, id, sizeof(id));
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
	p->port = port;
	s->v[s->n++] = p;
	sn_strmap_put(s->by_id, p->id, p);
	return p;
}

/* Add what the clients of t tell about their peers (takes t's lock). */
static void add_clients(struct peer_set *s, struct sn_task *t, int64_t mono, int64_t wall)
{
	pthread_mutex_lock(&t->lock);
	struct sn_progress *p = t->prog;
	for (int32_t i = 0; i < p->nclients; i++) {
		const struct sn_client *c = p->clients[i];
		if (!c)
			continue;
		struct sn_peer_view *v = peer_slot(s, c->ip, c->port);
		v->tasks++;
		v->finished += c->finished;
		v->downloading += !c->finished && !c->down;
		v->down += c->down;
		v->isolated += c->isolated;
		v->load += c->load;
		v->inflight += c->ninf;
		v->pieces += c->nhave;
		v->serves = v->serves || c->can_serve;
		int64_t seen = wall - (mono - c->last_seen_ms);
		if (seen > v->last_seen_ms)
			v->last_seen_ms = seen;
	}
	pthread_mutex_unlock(&t->lock);
}

static void classify(struct sn_peer_view *v)
{
	if (v->isolated > 0)
		v->health = SN_HEALTH_ISOLATED;
	else if (v->tasks > 0 && v->down == v->tasks)
		v->health = SN_HEALTH_DOWN;
	else
		v->health = SN_HEALTH_OK;
	if (v->downloading > 0)
		v->activity = "downloading";
	else if (v->finished > 0 && v->serves && v->health == SN_HEALTH_OK)
		v->activity = "seeding";
	else
		v->activity = "idle";
}

struct sn_peer_view *sn_fleet_peers(size_t *n_r)
{
	struct peer_set s = { .by_id = sn_strmap_new() };
	size_t nrec, ntasks;
	struct sn_peer_info *recs = sn_registry_peers(&nrec);
	for (size_t i = 0; i < nrec; i++) {
		struct sn_peer_view *v = peer_slot(&s, recs[i].ip, recs[i].port);
		snprintf(v->host_name, sizeof(v->host_name), "%s", recs[i].host_name);
		snprintf(v->version, sizeof(v->version), "%s", recs[i].version);
		v->created_ms = recs[i].first_seen_ms;
		v->last_seen_ms = recs[i].last_seen_ms;
	}
	free(recs);
	int64_t mono = df_mono_ms(), wall = df_wall_ms();
	struct sn_task **tasks = sn_registry_tasks(&ntasks);
	for (size_t i = 0; i < ntasks; i++) {
		add_clients(&s, tasks[i], mono, wall);
		sn_task_unref(tasks[i]);
	}
	free(tasks);
	struct sn_peer_view *out = xcalloc(s.n + 1, sizeof(*out));
	for (size_t i = 0; i < s.n; i++) {
		classify(s.v[i]);
		out[i] = *s.v[i];
		free(s.v[i]);
	}
	free(s.v);
	sn_strmap_free(s.by_id);
	*n_r = s.n;
	return out;
}

bool sn_fleet_peer(const char *id, struct sn_peer_view *v_r)
{
	size_t n;
	bool found = false;
	struct sn_peer_view *all = sn_fleet_peers(&n);
	for (size_t i = 0; i < n && !found; i++)
		if (strcmp(all[i].id, id) == 0) {
			*v_r = all[i];
			found = true;
		}
	free(all);
	return found;
}

enum sort_key { K_ID, K_IP, K_HOST, K_PORT, K_CREATED, K_SEEN, K_LOAD, K_TASKS, K_PIECES,
		K_HEALTH };
static const char *const sort_keys[] = { "id",	    "ip",   "hostName", "port",   "created",
					 "lastSeen", "load", "tasks",	 "pieces", "health" };

struct sort_how {
	enum sort_key key;
	bool desc;
};

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_peer(const void *a, const void *b, void *arg)
{
	const struct sn_peer_view *x = a, *y = b;
	const struct sort_how *how = arg;
	int r = 0;
	switch (how->key) {
	case K_ID: r = strcmp(x->id, y->id); break;
	case K_IP: r = strcmp(x->ip, y->ip); break;
	case K_HOST: r = strcmp(x->host_name, y->host_name); break;
	case K_PORT: r = cmp_i64(x->port, y->port); break;
	case K_CREATED: r = cmp_i64(x->created_ms, y->created_ms); break;
	case K_SEEN: r = cmp_i64(x->last_seen_ms, y->last_seen_ms); break;
	case K_LOAD: r = cmp_i64(x->load, y->load); break;
	case K_TASKS: r = cmp_i64(x->tasks, y->tasks); break;
	case K_PIECES: r = cmp_i64(x->pieces, y->pieces); break;
	case K_HEALTH: r = cmp_i64(x->health, y->health); break;
	}
	if (r == 0)
		r = strcmp(x->id, y->id); /* a total order: pages do not overlap */
	return how->desc ? -r : r;
}

int sn_fleet_sort_peers(struct sn_peer_view *v, size_t n, const char *key, bool desc)
{
	struct sort_how how = { K_ID, desc };
	size_t i;
	for (i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
		if (strcmp(key, sort_keys[i]) == 0)
			break;
	if (i == sizeof(sort_keys) / sizeof(sort_keys[0]))
		return -EINVAL;
	how.key = (enum sort_key)i;
	qsort_r(v, n, sizeof(*v), cmp_peer, &how);
	return 0;
}

/* Drop t's clients of peer ip:port (takes t's lock). Returns how many. */
static int drop_clients(struct sn_ctx *ctx, struct sn_task *t, const char *ip, int port)
{
	int n = 0;
	pthread_mutex_lock(&t->lock);
	struct sn_progress *p = t->prog;
	int before = p->sn_load;
	for (int32_t i = 0; i < p->nclients; i++) {
		struct sn_client *c = p->clients[i];
		if (c && c->port == port && strcmp(c->ip, ip) == 0) {
			sn_progress_remove(p, c);
			n++;
		}
	}
	sn_sync_load_locked(ctx, t, before);
	if (n)
		sn_task_bump_locked(t);
	pthread_mutex_unlock(&t->lock);
	if (n)
		sn_waitq_wake(ctx->waitq, &t->waiters, -1);
	return n;
}

int sn_fleet_delete_peer(struct sn_ctx *ctx, const char *id)
{
	struct sn_peer_view v;
	if (!sn_fleet_peer(id, &v))
		return -ENOENT;
	sn_registry_peer_remove(v.ip, v.port);
	size_t nt;
	int n = 0;
	struct sn_task **tasks = sn_registry_tasks(&nt);
	for (size_t i = 0; i < nt; i++) {
		n += drop_clients(ctx, tasks[i], v.ip, v.port);
		sn_task_unref(tasks[i]);
	}
	free(tasks);
	log_info("peer %s deleted by an operator (%d clients dropped)", id, n);
	return n;
}

/* ---------------------------------------------------------------- tasks */

double sn_fleet_min_time(int64_t len, double client_rate)
{
	return len >= 0 && client_rate > 0 ? (double)len / client_rate : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double sn_fleet_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static enum sn_task_status status_locked(const struct sn_task *t, const char **phase)
{
	switch (t->state) {
	case SN_CDN_NEW:
		*phase = "new";
		return SN_TS_WAITING;
	case SN_CDN_PROBING:
		*phase = "probing";
		return SN_TS_RUNNING;
	case SN_CDN_RUNNING:
		*phase = "fetching";
		return SN_TS_RUNNING;
	case SN_CDN_DONE:
		*phase = "cached";
		return SN_TS_SUCCESS;
	case SN_CDN_FAILED:
		break;
	}
	*phase = "failed";
	return t->fail_code == DF_CODE_URL_NOT_REACHABLE || t->fail_code == DF_CODE_NEED_AUTH ||
			       t->fail_code == DF_CODE_SOURCE_ERROR
		       ? SN_TS_SOURCE_ERROR
		       : SN_TS_FAILED;
}

static void fill_clients_locked(const struct sn_progress *p, struct sn_task_view *v)
{
	double held = 0;
	for (int32_t i = 0; i < p->nclients; i++) {
		const struct sn_client *c = p->clients[i];
		if (!c)
			continue;
		v->clients++;
		v->finished += c->finished;
		v->active += !c->finished && !c->down;
		v->down += c->down;
		v->isolated += c->isolated;
		held += c->finished ? 1.0
				    : (p->npieces > 0 ? (double)c->nhave / (double)p->npieces : 0);
	}
	v->client_progress = v->clients ? held / v->clients : 0;
	v->sn_load = p->sn_load;
	v->sn_given = p->sn_given;
	v->peer_given = p->peer_given;
}

static void fill_detail_locked(const struct sn_progress *p, struct sn_task_view *v)
{
	int64_t np = p->npieces;
	v->holders = xcalloc((size_t)np + 1, sizeof(*v->holders));
	v->sources = xcalloc((size_t)np + 1, sizeof(*v->sources));
	v->client_list = xcalloc((size_t)p->nlive + 1, sizeof(*v->client_list));
	for (int64_t n = 0; n < np; n++)
		v->sources[n] = p->holders ? p->holders[n].n : 0;
	for (int32_t i = 0; i < p->nclients; i++) {
		const struct sn_client *c = p->clients[i];
		if (!c || v->nclient_list >= (size_t)p->nlive)
			continue;
		for (int64_t n = 0; n < np; n++)
			v->holders[n] += sn_client_has(c, n);
		struct sn_client_view *cv = &v->client_list[v->nclient_list++];
		cv->cid = xstrdup(c->cid);
		peer_id(cv->peer_id, sizeof(cv->peer_id), c->ip, c->port);
		cv->pieces = c->nhave;
		cv->finished = c->finished;
		cv->down = c->down;
		cv->isolated = c->isolated;
		cv->serves = c->can_serve;
		cv->load = c->load;
		cv->inflight = c->ninf;
	}
}

static void fill_locked(struct sn_ctx *ctx, struct sn_task *t, bool detail,
			struct sn_task_view *v, int64_t mono, int64_t wall)
{
	const struct sn_task_stats *st = &t->st;
	memcpy(v->id, t->id, sizeof(v->id));
	v->task_url = xstrdup(t->task_url);
	v->status = status_locked(t, &v->phase);
	v->file_length = t->src_len;
	v->piece_size = t->piece_size;
	v->pieces_total = t->prog->npieces;
	v->total_known = t->prog->total_known;
	v->pieces_cached = t->prog->ndone;
	v->cache_hit = t->cache_hit;
	memcpy(v->md5, t->file_md5, sizeof(v->md5));
	memcpy(v->sha256, t->file_sha256, sizeof(v->sha256));
	if (t->state == SN_CDN_FAILED) {
		v->fail_code = t->fail_code;
		v->fail_msg = xstrdup(t->fail_msg ? t->fail_msg : "");
	}
	v->created_ms = wall - (mono - t->created_ms);
	v->idle_ms = mono - t->last_access_ms;
	v->cdn_ms = !st->cdn_start_ms ? -1
				      : (st->cdn_end_ms ? st->cdn_end_ms : mono) - st->cdn_start_ms;
	fill_clients_locked(t->prog, v);
	v->bytes_source = atomic_load(&t->source_bytes);
	v->bytes_supernode = st->bytes_from_sn;
	v->bytes_peers = st->bytes_from_peers;
	v->downloads = st->dl_ok;
	v->downloads_failed = st->dl_failed;
	v->dl_min_s = st->dl_min_s;
	v->dl_max_s = st->dl_max_s;
	double recent[SN_TASK_DL_KEEP];
	memcpy(recent, st->dl_recent_s, sizeof(recent));
	v->dl_median_s = sn_fleet_median(recent, (size_t)st->dl_n);
	double rate = ctx->cfg->client_rate > 0 ? (double)ctx->cfg->client_rate
						: sn_metrics_fastest_rate();
	if (t->state == SN_CDN_DONE)
		v->min_time_s = sn_fleet_min_time(t->src_len, rate);
	if (detail)
		fill_detail_locked(t->prog, v);
}

static void view_task(struct sn_ctx *ctx, struct sn_task *t, bool detail,
		      struct sn_task_view *v)
{
	int64_t mono = df_mono_ms(), wall = df_wall_ms();
	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&t->lock);
	fill_locked(ctx, t, detail, v, mono, wall);
	pthread_mutex_unlock(&t->lock);
}

void sn_task_view_cleanup(struct sn_task_view *v)
{
	free(v->task_url);
	free(v->fail_msg);
	free(v->holders);
	free(v->sources);
	for (size_t i = 0; i < v->nclient_list; i++)
		free(v->client_list[i].cid);
	free(v->client_list);
	memset(v, 0, sizeof(*v));
}

static int cmp_newest(const void *a, const void *b)
{
	const struct sn_task_view *x = a, *y = b;
	int r = cmp_i64(y->created_ms, x->created_ms);
	return r ? r : strcmp(x->id, y->id);
}

struct sn_task_view *sn_fleet_tasks(struct sn_ctx *ctx, size_t *n_r)
{
	size_t n;
	struct sn_task **tasks = sn_registry_tasks(&n);
	struct sn_task_view *v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		view_task(ctx, tasks[i], false, &v[i]);
		sn_task_unref(tasks[i]);
	}
	free(tasks);
	qsort(v, n, sizeof(*v), cmp_newest);
	*n_r = n;
	return v;
}

void sn_fleet_tasks_free(struct sn_task_view *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		sn_task_view_cleanup(&v[i]);
	free(v);
}

int sn_fleet_task(struct sn_ctx *ctx, const char *id, bool detail, struct sn_task_view *v_r)
{
	struct sn_task *t = sn_registry_get(id);
	if (!t)
		return -ENOENT;
	view_task(ctx, t, detail, v_r);
	sn_task_unref(t);
	return 0;
}

void sn_fleet_counts(struct sn_ctx *ctx, struct sn_fleet_counts *c_r)
{
	memset(c_r, 0, sizeof(*c_r));
	size_t np, nt;
	struct sn_peer_view *peers = sn_fleet_peers(&np);
	for (size_t i = 0; i < np; i++)
		c_r->peers_by_health[peers[i].health]++;
	c_r->peers = (int)np;
	free(peers);
	struct sn_task **tasks = sn_registry_tasks(&nt);
	for (size_t i = 0; i < nt; i++) {
		struct sn_task *t = tasks[i];
		const char *phase;
		pthread_mutex_lock(&t->lock);
		c_r->tasks_by_status[status_locked(t, &phase)]++;
		c_r->clients += t->prog->nlive;
		c_r->active_clients += t->prog->nactive;
		pthread_mutex_unlock(&t->lock);
		sn_task_unref(t);
	}
	c_r->tasks = (int)nt;
	free(tasks);
	(void)ctx;
}

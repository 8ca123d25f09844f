/* bench/load: N simulated peers registered on T tasks of one supernode, each running
 * dfget's control loop over real HTTP (libcurl multi, one connection per peer, each peer
 * from its own loopback address 127.1.x.y): register, pull, then for every piece it is
 * given wait the transfer time, report /peer/piece/suc and pull again with the result;
 * 602 waits and asks again; 600 ends the download, the peer says service/down and starts
 * over as a new peer of the same task. No piece bytes move: this measures the supernode's
 * control plane. Meanwhile a second thread samples, one request at a time on its own
 * connections, /_ping (every 100 ms) and the operators' API, /metrics and the status page
 * (every second), and the supernode's RSS (/proc/PID/status) every second.
 *
 * Usage: load -a ADDR:PORT -u URL_PREFIX [-t TASKS] [-n PEERS] [-d SECONDS]
 *             [-w PIECE_MS] [-P SUPERNODE_PID] [-r RAMP_S]
 * Task i is URL_PREFIX/f<i>.bin. Peers register over the first RAMP_S seconds (default 5).
 * Prints the figures; exit 0 when no request failed (an HTTP status other than 200, an
 * unexpected protocol code or a transport error), 1 otherwise, 2 on bad usage.
 *
 * Threads: main runs every peer in one curl multi loop; the probe thread owns its probes
 * and RSS figures until main joins it (shared: g, written before the thread starts). */
#include "config.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum req_kind { K_REGISTER, K_PULL, K_SUC, K_DOWN, K_NKINDS };
static const char *const kind_names[] = { "register", "pull", "piece/suc", "service/down" };

struct lat {
	double *v;
	size_t n, cap;
};

static void lat_add(struct lat *l, double ms)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = realloc(l->v, l->cap * sizeof(double));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = ms;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double lat_pct(struct lat *l, double p)
{
	if (!l->n)
		return 0;
	qsort(l->v, l->n, sizeof(double), cmp_d);
	size_t i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	return l->v[i < l->n ? i : l->n - 1];
}

struct item {
	char range[48];
	char cid[200];
};

struct buf {
	char *p;
	size_t n;
};

enum pstate { P_IDLE, P_BUSY };

struct peer {
	int id, task, gen;
	char cid[64], ip[24], task_id[65];
	CURL *h;
	enum req_kind kind;
	enum pstate st;
	struct buf body;
	struct curl_slist *hdrs;
	char post[2048];
	int64_t due_ms; /* next action when idle */
	struct item *q;	/* pieces given, not yet reported */
	int nq, qcap;
	struct item report; /* the piece the next pull reports ("" = none) */
	bool need_register; /* start over as a new peer (gen) */
	bool first_pull;    /* the next pull is the first of this registration */
};

struct prober {
	CURL *h;
	const char *path;
	int64_t every_ms, due_ms;
	struct buf body;
	struct lat lat;
	long count, errors;
	char first_error[300];
};

struct probes {
	struct prober *p;
	size_t n;
	long rss_first, rss_max, rss_last;
	long series[4096]; /* RSS each second */
	int nseries;
};

static struct {
	const char *addr, *prefix;
	int tasks, peers, secs, piece_ms, ramp_s, sn_pid;
	CURLM *multi;
	int64_t t0, end;
	long count[K_NKINDS], errors[K_NKINDS], finished, waits;
	struct lat lat[K_NKINDS];
	char first_error[512];
} g;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *q = realloc(b->p, b->n + n + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, ptr, n);
	b->n += n;
	q[b->n] = '\0';
	b->p = q;
	return n;
}

static void buf_reset(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static void fail(enum req_kind k, const char *what)
{
	g.errors[k]++;
	if (!g.first_error[0])
		snprintf(g.first_error, sizeof(g.first_error), "%s: %s", kind_names[k], what);
}

/* ---------------------------------------------------------------- peers */

static void peer_send(struct peer *p, enum req_kind k, const char *path_query, bool post)
{
	char url[2048];
	snprintf(url, sizeof(url), "http://%s%s", g.addr, path_query);
	buf_reset(&p->body);
	p->kind = k;
	p->st = P_BUSY;
	curl_easy_setopt(p->h, CURLOPT_URL, url);
	curl_easy_setopt(p->h, CURLOPT_HTTPGET, 1L);
	if (post) {
		curl_easy_setopt(p->h, CURLOPT_POSTFIELDS, p->post);
		curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdrs);
	} else {
		curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, NULL);
	}
	curl_multi_add_handle(g.multi, p->h);
	g.count[k]++;
}

static void peer_register(struct peer *p)
{
	snprintf(p->cid, sizeof(p->cid), "load-%d-%d", p->id, p->gen);
	snprintf(p->post, sizeof(p->post),
		 "{\"rawUrl\":\"%s/f%d.bin\",\"taskUrl\":\"%s/f%d.bin\",\"cid\":\"%s\","
		 "\"ip\":\"%s\",\"hostName\":\"load%d\",\"port\":%d,\"path\":\"/peer/file/%s\","
		 "\"version\":\"load\",\"pattern\":\"p2p\"}",
		 g.prefix, p->task, g.prefix, p->task, p->cid, p->ip, p->id,
		 15000 + p->id % 50000, p->cid);
	p->nq = 0;
	p->report.range[0] = '\0';
	p->need_register = false;
	p->first_pull = true;
	peer_send(p, K_REGISTER, "/peer/registry", true);
}

static void peer_pull(struct peer *p)
{
	char pq[1024];
	bool first = p->first_pull;
	if (p->report.range[0])
		snprintf(pq, sizeof(pq), "/peer/task?srcCid=%s&taskId=%s&status=701&result=503&"
			 "range=%s&dstCid=%s", p->cid, p->task_id, p->report.range, p->report.cid);
	else
		snprintf(pq, sizeof(pq), "/peer/task?srcCid=%s&taskId=%s&status=%d&result=502&"
			 "range=&dstCid=", p->cid, p->task_id, first ? 700 : 701);
	p->first_pull = false;
	p->report.range[0] = '\0';
	peer_send(p, K_PULL, pq, false);
}

static void peer_suc(struct peer *p)
{
	char pq[1024];
	struct item *it = &p->q[0];
	snprintf(pq, sizeof(pq), "/peer/piece/suc?taskId=%s&cid=%s&dstCid=%s&pieceRange=%s",
		 p->task_id, p->cid, it->cid, it->range);
	p->report = *it;
	memmove(p->q, p->q + 1, (size_t)(p->nq - 1) * sizeof(*p->q));
	p->nq--;
	peer_send(p, K_SUC, pq, false);
}

static void peer_down(struct peer *p)
{
	char pq[512];
	snprintf(pq, sizeof(pq), "/peer/service/down?taskId=%s&cid=%s", p->task_id, p->cid);
	peer_send(p, K_DOWN, pq, false);
}

static void peer_later(struct peer *p, int64_t ms)
{
	p->st = P_IDLE;
	p->due_ms = now_ms() + ms;
}

static void queue_items(struct peer *p, const cJSON *data)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, data) {
		const cJSON *r = cJSON_GetObjectItem(e, "range"), *c = cJSON_GetObjectItem(e, "cid");
		if (!cJSON_IsString(r) || !cJSON_IsString(c))
			continue;
		if (p->nq == p->qcap) {
			p->qcap = p->qcap ? p->qcap * 2 : 8;
			p->q = realloc(p->q, (size_t)p->qcap * sizeof(*p->q));
			if (!p->q)
				abort();
		}
		struct item *it = &p->q[p->nq++];
		snprintf(it->range, sizeof(it->range), "%s", r->valuestring);
		/* cids go back in a query string: escape the few characters they may hold */
		char *esc = curl_easy_escape(NULL, c->valuestring, 0);
		snprintf(it->cid, sizeof(it->cid), "%s", esc ? esc : "");
		curl_free(esc);
	}
}

/* A failed request: count it, the peer starts over a second later. */
static void peer_failed(struct peer *p, const char *why)
{
	fail(p->kind, why);
	p->need_register = true;
	peer_later(p, 1000);
}

static void on_pull(struct peer *p, int code, const cJSON *j, const char *body)
{
	char why[300];
	if (code == 601) {
		queue_items(p, cJSON_GetObjectItem(j, "data"));
		peer_later(p, p->nq ? g.piece_ms : 100); /* the first piece's transfer */
	} else if (code == 602) {
		g.waits++;
		peer_later(p, p->nq ? g.piece_ms : 200);
	} else if (code == 600) {
		g.finished++;
		peer_down(p);
	} else {
		snprintf(why, sizeof(why), "code %d: %.200s", code, body);
		peer_failed(p, why);
	}
}

/* The answer to p's request arrived (or failed). Decide what p does next. */
static void peer_done(struct peer *p, CURLcode cc)
{
	long status = 0;
	double t = 0;
	char why[300];
	curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(p->h, CURLINFO_TOTAL_TIME, &t);
	lat_add(&g.lat[p->kind], t * 1000);
	const char *body = p->body.p ? p->body.p : "";
	cJSON *j = cJSON_Parse(body);
	const cJSON *code = j ? cJSON_GetObjectItem(j, "code") : NULL;
	const cJSON *data = j ? cJSON_GetObjectItem(j, "data") : NULL;
	const cJSON *id = data ? cJSON_GetObjectItem(data, "taskId") : NULL;
	int c = code && cJSON_IsNumber(code) ? code->valueint : -1;
	int want[K_NKINDS] = { [K_REGISTER] = 200, [K_SUC] = 611, [K_DOWN] = 612 };
	snprintf(why, sizeof(why), "%s, HTTP %ld, code %d: %.200s", curl_easy_strerror(cc),
		 status, c, body);
	if (cc != CURLE_OK || status != 200) {
		peer_failed(p, why);
	} else if (p->kind == K_REGISTER) {
		if (c != 200 || !id || !cJSON_IsString(id)) {
			peer_failed(p, why);
		} else {
			snprintf(p->task_id, sizeof(p->task_id), "%s", id->valuestring);
			peer_pull(p);
		}
	} else if (p->kind == K_PULL) {
		on_pull(p, c, j, body);
	} else {
		if (c != want[p->kind])
			fail(p->kind, why);
		if (p->kind == K_SUC) {
			peer_pull(p); /* with the result of that piece */
		} else { /* service/down: start over as a new peer */
			p->need_register = true;
			peer_later(p, 0);
		}
	}
	cJSON_Delete(j);
}

/* An idle peer whose time has come. */
static void peer_wake(struct peer *p)
{
	if (p->need_register) {
		p->gen++;
		peer_register(p);
	} else if (p->nq) {
		peer_suc(p);
	} else {
		peer_pull(p);
	}
}

/* ---------------------------------------------------------------- probes and RSS */

/* The probe thread: its own blocking handles, so the latencies are the supernode's and not
 * the main loop's. It owns probes[] and the RSS figures until main joins it. */
static void probe_one(struct prober *pr)
{
	char url[512];
	long status = 0;
	double t = 0;
	snprintf(url, sizeof(url), "http://%s%s", g.addr, pr->path);
	buf_reset(&pr->body);
	curl_easy_setopt(pr->h, CURLOPT_URL, url);
	CURLcode cc = curl_easy_perform(pr->h);
	curl_easy_getinfo(pr->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(pr->h, CURLINFO_TOTAL_TIME, &t);
	pr->count++;
	if (cc != CURLE_OK || status != 200) {
		pr->errors++;
		if (!pr->first_error[0])
			snprintf(pr->first_error, sizeof(pr->first_error), "%s: %s, HTTP %ld",
				 pr->path, curl_easy_strerror(cc), status);
		return;
	}
	lat_add(&pr->lat, t * 1000);
}

static long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void *probe_main(void *arg)
{
	struct probes *ps = arg;
	int64_t next_rss = g.t0;
	for (;;) {
		int64_t now = now_ms(), next = g.end;
		if (now >= g.end)
			break;
		for (size_t i = 0; i < ps->n; i++) {
			struct prober *pr = &ps->p[i];
			if (pr->due_ms <= now) {
				probe_one(pr);
				pr->due_ms = now + pr->every_ms;
			}
			if (pr->due_ms < next)
				next = pr->due_ms;
		}
		if (g.sn_pid && now >= next_rss) {
			long kb = rss_kb(g.sn_pid);
			if (kb > 0) {
				if (!ps->rss_first)
					ps->rss_first = kb;
				if (kb > ps->rss_max)
					ps->rss_max = kb;
				ps->rss_last = kb;
				if (ps->nseries < (int)(sizeof(ps->series) / sizeof(ps->series[0])))
					ps->series[ps->nseries++] = kb;
			}
			next_rss = now + 1000;
		}
		if (next_rss < next)
			next = next_rss;
		int64_t wait = next - now_ms();
		if (wait > 0)
			usleep((useconds_t)(wait * 1000));
	}
	return NULL;
}

/* ---------------------------------------------------------------- main */

static CURL *new_handle(void *wdata, const char *bind_ip)
{
	CURL *h = curl_easy_init();
	if (!h)
		abort();
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, wdata);
	curl_easy_setopt(h, CURLOPT_PRIVATE, wdata);
	if (bind_ip) {
		char iface[64];
		snprintf(iface, sizeof(iface), "host!%s", bind_ip);
		curl_easy_setopt(h, CURLOPT_INTERFACE, iface);
	}
	return h;
}

static int usage(void)
{
	fprintf(stderr, "usage: load -a ADDR:PORT -u URL_PREFIX [-t TASKS] [-n PEERS] "
			"[-d SECONDS] [-w PIECE_MS] [-P SUPERNODE_PID] [-r RAMP_S]\n");
	return 2;
}

static void print_lat(const char *name, struct lat *l, long count, long errors)
{
	printf("  %-26s %8ld requests, %ld failed; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       name, count, errors, lat_pct(l, 50), lat_pct(l, 99), lat_pct(l, 100));
}

static void start_peers(struct peer *peers, struct curl_slist *json)
{
	for (int i = 0; i < g.peers; i++) {
		struct peer *p = &peers[i];
		p->id = i;
		p->task = i % g.tasks;
		snprintf(p->ip, sizeof(p->ip), "127.1.%d.%d", (i / 250) % 250, 1 + i % 250);
		p->h = new_handle(&p->body, p->ip);
		curl_easy_setopt(p->h, CURLOPT_PRIVATE, p);
		p->hdrs = json;
		p->need_register = true;
		p->gen = -1;
		p->due_ms = g.t0 + (int64_t)g.ramp_s * 1000 * i / g.peers;
	}
}

/* The peers' loop, until the end. */
static void run_peers(struct peer *peers)
{
	int64_t now;
	while ((now = now_ms()) < g.end) {
		int64_t next = g.end;
		for (int i = 0; i < g.peers; i++) {
			struct peer *p = &peers[i];
			if (p->st != P_IDLE)
				continue;
			if (p->due_ms <= now)
				peer_wake(p);
			else if (p->due_ms < next)
				next = p->due_ms;
		}
		int running;
		curl_multi_perform(g.multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(g.multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			CURL *h = m->easy_handle;
			CURLcode cc = m->data.result;
			char *priv = NULL;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
			curl_multi_remove_handle(g.multi, h);
			peer_done((struct peer *)(void *)priv, cc);
		}
		int wait = (int)(next - now_ms());
		if (wait > 20)
			wait = 20;
		if (wait > 0)
			curl_multi_poll(g.multi, NULL, 0, wait, NULL);
	}
}

static long report(struct probes *ps)
{
	double secs = (double)(now_ms() - g.t0) / 1000.0;
	long total = 0, errors = 0;
	for (int k = 0; k < K_NKINDS; k++) {
		total += g.count[k];
		errors += g.errors[k];
	}
	for (size_t i = 0; i < ps->n; i++)
		errors += ps->p[i].errors;
	printf("figures (%.1f s):\n", secs);
	printf("  peers: %ld requests (%.0f/s), %ld failed; %ld downloads finished, %ld waits "
	       "(602)\n", total, (double)total / secs, errors, g.finished, g.waits);
	for (int k = 0; k < K_NKINDS; k++)
		print_lat(kind_names[k], &g.lat[k], g.count[k], g.errors[k]);
	printf("  probes (own thread, one request at a time):\n");
	for (size_t i = 0; i < ps->n; i++)
		print_lat(ps->p[i].path, &ps->p[i].lat, ps->p[i].count, ps->p[i].errors);
	if (g.sn_pid) {
		printf("  supernode RSS: %ld KiB at the start, %ld KiB at most, %ld KiB at the end\n",
		       ps->rss_first, ps->rss_max, ps->rss_last);
		printf("  RSS every 10 s (KiB):");
		for (int i = 0; i < ps->nseries; i += 10)
			printf(" %ld", ps->series[i]);
		printf("\n");
	}
	if (g.first_error[0])
		printf("  first failure: %s\n", g.first_error);
	for (size_t i = 0; i < ps->n; i++)
		if (ps->p[i].first_error[0])
			printf("  first failure: %s\n", ps->p[i].first_error);
	return errors;
}

static int parse_args(int argc, char **argv)
{
	int opt;
	g.tasks = 50;
	g.peers = 2000;
	g.secs = 60;
	g.piece_ms = 1000;
	g.ramp_s = 5;
	while ((opt = getopt(argc, argv, "a:u:t:n:d:w:P:r:")) != -1) {
		switch (opt) {
		case 'a': g.addr = optarg; break;
		case 'u': g.prefix = optarg; break;
		case 't': g.tasks = atoi(optarg); break;
		case 'n': g.peers = atoi(optarg); break;
		case 'd': g.secs = atoi(optarg); break;
		case 'w': g.piece_ms = atoi(optarg); break;
		case 'P': g.sn_pid = atoi(optarg); break;
		case 'r': g.ramp_s = atoi(optarg); break;
		default: return -1;
		}
	}
	if (!g.addr || !g.prefix || g.tasks < 1 || g.peers < 1 || g.secs < 1 || g.peers > 62500)
		return -1;
	return 0;
}

static void free_all(struct peer *peers, struct probes *ps)
{
	for (int i = 0; i < g.peers; i++) {
		curl_multi_remove_handle(g.multi, peers[i].h);
		curl_easy_cleanup(peers[i].h);
		buf_reset(&peers[i].body);
		free(peers[i].q);
	}
	for (size_t i = 0; i < ps->n; i++) {
		curl_easy_cleanup(ps->p[i].h);
		buf_reset(&ps->p[i].body);
		free(ps->p[i].lat.v);
	}
	for (int k = 0; k < K_NKINDS; k++)
		free(g.lat[k].v);
	free(ps);
	free(peers);
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv) < 0)
		return usage();
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g.multi = curl_multi_init();
	curl_multi_setopt(g.multi, CURLMOPT_MAXCONNECTS, (long)g.peers + 16);
	struct peer *peers = calloc((size_t)g.peers, sizeof(*peers));
	struct curl_slist *json = curl_slist_append(NULL, "Content-Type: application/json");
	struct prober probe_list[] = {
		{ .path = "/_ping", .every_ms = 100 },
		{ .path = "/api/v1/summary", .every_ms = 1000 },
		{ .path = "/api/v1/tasks", .every_ms = 1000 },
		{ .path = "/api/v1/peers?pageSize=50", .every_ms = 1000 },
		{ .path = "/", .every_ms = 1000 },
		{ .path = "/metrics", .every_ms = 1000 },
	};
	struct probes *ps = calloc(1, sizeof(*ps));
	if (!peers || !json || !ps)
		abort();
	ps->p = probe_list;
	ps->n = sizeof(probe_list) / sizeof(probe_list[0]);
	g.t0 = now_ms();
	g.end = g.t0 + (int64_t)g.secs * 1000;
	for (size_t i = 0; i < ps->n; i++) {
		probe_list[i].h = new_handle(&probe_list[i].body, "127.0.0.99");
		probe_list[i].due_ms = g.t0 + 200;
	}
	start_peers(peers, json);
	printf("load: %d peers on %d tasks of %s/f<i>.bin against %s for %d s (piece time %d "
	       "ms, ramp %d s)\n", g.peers, g.tasks, g.prefix, g.addr, g.secs, g.piece_ms,
	       g.ramp_s);
	fflush(stdout);
	pthread_t th;
	if (pthread_create(&th, NULL, probe_main, ps) != 0)
		abort();
	run_peers(peers);
	pthread_join(th, NULL);
	long errors = report(ps);
	free_all(peers, ps);
	curl_slist_free_all(json);
	curl_multi_cleanup(g.multi);
	curl_global_cleanup();
	return errors ? 1 : 0;
}

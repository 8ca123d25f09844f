/* libFuzzer: the supernode's pull and report parameters (GET /peer/task, /peer/piece/suc,
 * /peer/piece/error, /peer/service/down) applied to a task's progress and scheduler the way
 * src/supernode/pull.c and peerapi.c apply them, with the bookkeeping checked after every
 * request. Input: one byte of geometry, then one request per line: a letter for the
 * endpoint (R register, P pull, S suc, E error, D down, C the CDN completes a piece,
 * X time passes and stale transfers expire) and its query string, e.g.
 *   Rcid=a&port=15001
 *   Pcid=a&range=0-4194303&result=503&dstCid=cdnnode:1.2.3.4~x&status=701
 * The checks: every in-flight transfer names a live source and a known piece; each
 * source's load, the supernode's load and each piece's in-flight count equal the
 * transfers that exist; the holders of a piece are exactly the usable clients serving it;
 * the live/active counts match; the scheduler hands out only pieces the client lacks,
 * from a usable peer serving it or from the supernode when it has it.
 * fuzz-libs: supernode
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "piece.h"
#include "query.h"
#include "supernode/progress.h"
#include "supernode/sched.h"
#include "taskid.h"

#define PIECE_SIZE 4194304
#define FAIL_LIMIT 3

#define CHECK(c)                  \
	do {                      \
		if (!(c))         \
			__builtin_trap(); \
	} while (0)

static void check(const struct sn_progress *p)
{
	int32_t nlive = 0, nactive = 0;
	int sn_load = 0;
	int32_t *ninf = calloc((size_t)p->cap + 1, sizeof(int32_t));
	int *load = calloc((size_t)p->nclients + 1, sizeof(int));
	for (int32_t i = 0; i < p->nclients; i++) {
		const struct sn_client *c = p->clients[i];
		if (!c)
			continue;
		CHECK(c->idx == i);
		nlive++;
		nactive += !c->finished && !c->down;
		int sn_inf = 0;
		for (int j = 0; j < c->ninf; j++) {
			const struct sn_inflight *e = &c->inf[j];
			CHECK(e->piece >= 0 && e->piece < p->npieces);
			ninf[e->piece]++;
			if (e->src == SN_SRC_CDN) {
				sn_inf++;
				sn_load++;
			} else {
				CHECK(e->src >= 0 && e->src < p->nclients && p->clients[e->src]);
				CHECK(e->src != i);
				load[e->src]++;
			}
		}
		CHECK(c->sn_inflight == sn_inf);
	}
	CHECK(nlive == p->nlive);
	CHECK(nactive == p->nactive);
	CHECK(sn_load == p->sn_load);
	for (int32_t i = 0; i < p->nclients; i++)
		if (p->clients[i])
			CHECK(p->clients[i]->load == load[i]);
	for (int64_t n = 0; n < p->npieces; n++) {
		CHECK(p->ninflight[n] == ninf[n]);
		const struct sn_holders *h = &p->holders[n];
		int32_t want = 0;
		for (int32_t i = 0; i < p->nclients; i++) {
			const struct sn_client *c = p->clients[i];
			if (c && sn_client_usable(c) && sn_client_serves(c, n))
				want++;
		}
		CHECK(h->n == want);
		for (int32_t k = 0; k < h->n; k++) {
			const struct sn_client *c = h->ids[k] >= 0 && h->ids[k] < p->nclients
							    ? p->clients[h->ids[k]]
							    : NULL;
			CHECK(c && sn_client_usable(c) && sn_client_serves(c, n));
		}
	}
	free(ninf);
	free(load);
}

/* The source a report names, as sn_resolve_src_locked does. */
static int32_t resolve(const struct sn_progress *p, const char *dst)
{
	if (!dst)
		return SN_NO_SRC;
	if (strncmp(dst, "cdnnode:", 8) == 0)
		return SN_SRC_CDN;
	struct sn_client *s = *dst ? sn_progress_find(p, dst) : NULL;
	return s ? s->idx : SN_NO_SRC;
}

static int64_t piece_of(const struct sn_progress *p, const char *range)
{
	if (!range || !*range)
		return -1;
	int64_t n = df_piece_num_of_range(range, PIECE_SIZE);
	return n >= 0 && n < p->npieces ? n : -1;
}

static void pull(struct sn_progress *p, struct sn_client *c, const struct df_query *q,
		 bool cdn_done, int64_t now)
{
	const char *result = df_query_get(q, "result");
	const char *status = df_query_get(q, "status");
	int res = result && *result ? atoi(result) : 0;
	int64_t n = piece_of(p, df_query_get(q, "range"));
	if (n >= 0 && (res == 503 || res == 501))
		sn_progress_ok(p, c, n);
	else if (n >= 0 && res == 500)
		sn_progress_failed(p, c, n, resolve(p, df_query_get(q, "dstCid")), FAIL_LIMIT, now);
	if ((status && atoi(status) == 702) || (sn_progress_client_done(p, c) && cdn_done)) {
		sn_progress_finish(p, c);
		return;
	}
	struct sn_sched_limits lim = { .down_limit = 4, .up_limit = 5, .sn_free = 8 };
	struct sn_pick picks[16];
	int before = c->ninf;
	int k = sn_sched_pick(p, c, &lim, now, picks, 16);
	CHECK(k >= 0 && k <= 16 && c->ninf == before + k && (k == 0 || c->ninf <= lim.down_limit));
	for (int i = 0; i < k; i++) {
		CHECK(picks[i].piece >= 0 && picks[i].piece < p->npieces);
		CHECK(!sn_client_has(c, picks[i].piece));
		/* From peers too: the piece's md5, given with it, is known once the CDN has it. */
		CHECK(sn_progress_cdn_has(p, picks[i].piece));
		if (picks[i].src != SN_SRC_CDN) {
			const struct sn_client *s = p->clients[picks[i].src];
			CHECK(s && s != c && sn_client_usable(s) && sn_client_serves(s, picks[i].piece));
			CHECK(s->load <= lim.up_limit);
		}
	}
}

static void request(struct sn_progress *p, char op, const char *qs, size_t len, int64_t *now)
{
	struct df_query q;
	if (df_query_parse(qs, len, 32, &q) < 0)
		return;
	const char *cid = df_query_get(&q, "cid");
	if (op == 'P')
		cid = df_query_get(&q, "srcCid") ? df_query_get(&q, "srcCid") : cid;
	struct sn_client *c = cid && *cid ? sn_progress_find(p, cid) : NULL;
	switch (op) {
	case 'R':
		if (cid && *cid) {
			const char *port = df_query_get(&q, "port");
			int pt = port ? atoi(port) : 0;
			struct sn_client_info info = { .cid = cid, .ip = "198.18.0.10",
						       .path = "/peer/file/x", .sn_ip = "198.18.0.2",
						       .port = pt, .can_serve = pt > 0 };
			sn_progress_add(p, &info, *now);
		}
		break;
	case 'P':
		if (c)
			pull(p, c, &q, sn_progress_cdn_complete(p), *now);
		break;
	case 'S':
		if (c) {
			int64_t n = piece_of(p, df_query_get(&q, "pieceRange"));
			if (n >= 0)
				sn_progress_suc(p, c, n, resolve(p, df_query_get(&q, "dstCid")));
		}
		break;
	case 'E': {
		int32_t src = resolve(p, df_query_get(&q, "dstCid"));
		if (c && src >= 0)
			sn_progress_isolate(p, p->clients[src], *now);
		break;
	}
	case 'D':
		if (c)
			sn_progress_down(p, c, *now);
		break;
	case 'G': /* the GC forgets a client */
		if (c)
			sn_progress_remove(p, c);
		break;
	case 'C': { /* the CDN's own progress: bounded by the source, not by any client */
		const char *n = df_query_get(&q, "n");
		long v = n ? strtol(n, NULL, 10) : -1;
		if (v >= 0 && v < 256)
			sn_progress_cdn_done(p, v);
		break;
	}
	case 'X':
		*now += 60000;
		sn_progress_expire(p, *now, 120000);
		break;
	default:
		break;
	}
	df_query_cleanup(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	struct sn_progress *p = sn_progress_new();
	int64_t npieces = 1 + data[0] % 40;
	bool known = data[0] & 0x80;
	sn_progress_set_pieces(p, npieces, known);
	int64_t now = 1000000;
	const char *s = (const char *)data + 1, *end = (const char *)data + size;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		if (len > 0)
			request(p, s[0], s + 1, len - 1, &now);
		check(p);
		s += len + 1;
	}
	sn_progress_free(p);
	return 0;
}

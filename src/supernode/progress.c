/* progress: per-task piece and client bookkeeping for the scheduler (see progress.h).
 * Pure: no clock, no I/O, no locks; the caller holds the task lock for every call. */
#include "config.h"
#include "progress.h"

#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xalloc.h"

#define WORDS(n) ((size_t)(((n) + 63) / 64))

static inline bool bit_get(const uint64_t *bm, int64_t n)
{
	return (bm[n >> 6] >> (n & 63)) & 1;
}

static inline void bit_set(uint64_t *bm, int64_t n)
{
	bm[n >> 6] |= 1ULL << (n & 63);
}

/* Grow a zero-filled array from oldn to newn elements of size sz. */
static void *grow_zero(void *ptr, size_t oldn, size_t newn, size_t sz)
{
	char *q = xrealloc(ptr, newn * sz);
	memset(q + oldn * sz, 0, (newn - oldn) * sz);
	return q;
}

static void ensure_cap(struct sn_progress *p, int64_t n)
{
	if (n <= p->cap)
		return;
	int64_t cap = p->cap ? p->cap : 64;
	while (cap < n)
		cap *= 2;
	size_t ow = WORDS(p->cap), nw = WORDS(cap);
	p->cdn_done = grow_zero(p->cdn_done, ow, nw, sizeof(uint64_t));
	p->ninflight = grow_zero(p->ninflight, (size_t)p->cap, (size_t)cap, sizeof(int32_t));
	p->holders = grow_zero(p->holders, (size_t)p->cap, (size_t)cap, sizeof(*p->holders));
	free(p->scratch);
	p->scratch = xmalloc((size_t)cap * sizeof(uint64_t));
	for (int32_t i = 0; i < p->nclients; i++) {
		struct sn_client *c = p->clients[i];
		if (!c)
			continue;
		c->have = grow_zero(c->have, ow, nw, sizeof(uint64_t));
		c->serving = grow_zero(c->serving, ow, nw, sizeof(uint64_t));
	}
	p->cap = cap;
}

struct sn_progress *sn_progress_new(void)
{
	struct sn_progress *p = xcalloc(1, sizeof(*p));
	p->by_cid = sn_strmap_new();
	ensure_cap(p, 64);
	return p;
}

static void client_free(struct sn_client *c)
{
	if (!c)
		return;
	free(c->cid);
	free(c->ip);
	free(c->path);
	free(c->sn_ip);
	free(c->inf);
	free(c->have);
	free(c->serving);
	free(c);
}

void sn_progress_free(struct sn_progress *p)
{
	if (!p)
		return;
	for (int32_t i = 0; i < p->nclients; i++)
		client_free(p->clients[i]);
	for (int64_t i = 0; i < p->cap; i++)
		free(p->holders[i].ids);
	free(p->clients);
	free(p->cdn_done);
	free(p->ninflight);
	free(p->holders);
	free(p->scratch);
	sn_strmap_free(p->by_cid);
	free(p);
}

void sn_progress_set_pieces(struct sn_progress *p, int64_t npieces, bool final)
{
	if (npieces < p->npieces)
		npieces = p->npieces;
	ensure_cap(p, npieces);
	p->npieces = npieces;
	p->total_known = p->total_known || final;
}

void sn_progress_cdn_done(struct sn_progress *p, int64_t n)
{
	if (n < 0 || (p->total_known && n >= p->npieces))
		return;
	if (n >= p->npieces)
		sn_progress_set_pieces(p, n + 1, false);
	if (!bit_get(p->cdn_done, n)) {
		bit_set(p->cdn_done, n);
		p->ndone++;
	}
}

bool sn_progress_cdn_has(const struct sn_progress *p, int64_t n)
{
	return n >= 0 && n < p->npieces && bit_get(p->cdn_done, n);
}

bool sn_progress_cdn_complete(const struct sn_progress *p)
{
	return p->total_known && p->ndone == p->npieces;
}

struct sn_client *sn_progress_find(const struct sn_progress *p, const char *cid)
{
	return sn_strmap_get(p->by_cid, cid);
}

static void replace_str(char **dst, const char *src)
{
	if (*dst && src && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = xstrdup(src ? src : "");
}

struct sn_client *sn_progress_add(struct sn_progress *p, const struct sn_client_info *info,
				  int64_t now_ms)
{
	struct sn_client *c = sn_progress_find(p, info->cid);
	if (c) {
		/* A re-registration: keep what it holds; a source stays what it was. */
		replace_str(&c->ip, info->ip);
		replace_str(&c->path, info->path);
		replace_str(&c->sn_ip, info->sn_ip);
		if (c->can_serve && info->port > 0)
			c->port = info->port;
		c->last_seen_ms = now_ms;
		return c;
	}
	int32_t idx = -1;
	for (int32_t i = p->nlive < p->nclients ? 0 : p->nclients; i < p->nclients; i++)
		if (!p->clients[i]) {
			idx = i;
			break;
		}
	if (idx < 0) {
		if (p->nclients == p->clients_cap) {
			int32_t ncap = p->clients_cap ? p->clients_cap * 2 : 16;
			p->clients = grow_zero(p->clients, (size_t)p->clients_cap, (size_t)ncap,
					       sizeof(*p->clients));
			p->clients_cap = ncap;
		}
		idx = p->nclients++;
	}
	c = xcalloc(1, sizeof(*c));
	c->idx = idx;
	c->cid = xstrdup(info->cid);
	c->ip = xstrdup(info->ip ? info->ip : "");
	c->path = xstrdup(info->path ? info->path : "");
	c->sn_ip = xstrdup(info->sn_ip ? info->sn_ip : "");
	c->port = info->port;
	c->can_serve = info->can_serve;
	c->have = xcalloc(WORDS(p->cap), sizeof(uint64_t));
	c->serving = xcalloc(WORDS(p->cap), sizeof(uint64_t));
	c->last_seen_ms = now_ms;
	p->clients[idx] = c;
	sn_strmap_put(p->by_cid, c->cid, c);
	p->nlive++;
	p->nactive++;
	return c;
}

bool sn_client_has(const struct sn_client *c, int64_t piece)
{
	return bit_get(c->have, piece);
}

bool sn_client_serves(const struct sn_client *c, int64_t piece)
{
	return bit_get(c->serving, piece);
}

struct sn_inflight *sn_client_inflight(struct sn_client *c, int64_t piece)
{
	for (int i = 0; i < c->ninf; i++)
		if (c->inf[i].piece == piece)
			return &c->inf[i];
	return NULL;
}

bool sn_client_usable(const struct sn_client *c)
{
	return c->can_serve && !c->down && !c->isolated;
}

static void holders_add(struct sn_holders *h, int32_t idx)
{
	if (h->n == h->cap) {
		int32_t ncap = h->cap ? h->cap * 2 : 4;
		h->ids = xrealloc(h->ids, (size_t)ncap * sizeof(int32_t));
		h->cap = ncap;
	}
	h->ids[h->n++] = idx;
}

static void holders_del(struct sn_holders *h, int32_t idx)
{
	for (int32_t i = 0; i < h->n; i++)
		if (h->ids[i] == idx) {
			h->ids[i] = h->ids[--h->n];
			return;
		}
}

/* Take c out of the holder lists of every piece it serves. */
static void unlist(struct sn_progress *p, struct sn_client *c)
{
	if (!sn_client_usable(c))
		return;
	for (int64_t n = 0; n < p->npieces; n++)
		if (bit_get(c->serving, n))
			holders_del(&p->holders[n], c->idx);
}

/* End c's in-flight entry i. */
static void end_inflight(struct sn_progress *p, struct sn_client *c, int i)
{
	struct sn_inflight *e = &c->inf[i];
	if (e->piece >= 0 && e->piece < p->cap && p->ninflight[e->piece] > 0)
		p->ninflight[e->piece]--;
	if (e->src >= 0) {
		struct sn_client *s = e->src < p->nclients ? p->clients[e->src] : NULL;
		if (s && s->load > 0)
			s->load--;
	} else if (e->src == SN_SRC_CDN) {
		if (c->sn_inflight > 0)
			c->sn_inflight--;
		if (p->sn_load > 0)
			p->sn_load--;
	}
	c->inf[i] = c->inf[--c->ninf];
}

void sn_progress_remove(struct sn_progress *p, struct sn_client *c)
{
	while (c->ninf > 0)
		end_inflight(p, c, c->ninf - 1);
	/* Transfers others run from c end here too: they will fail or report later. */
	for (int32_t i = 0; i < p->nclients; i++) {
		struct sn_client *x = p->clients[i];
		for (int j = 0; x && j < x->ninf;) {
			if (x->inf[j].src == c->idx)
				end_inflight(p, x, j);
			else
				j++;
		}
	}
	unlist(p, c);
	if (!c->finished && !c->down)
		p->nactive--;
	p->nlive--;
	sn_strmap_del(p->by_cid, c->cid);
	p->clients[c->idx] = NULL;
	while (p->nclients > 0 && !p->clients[p->nclients - 1])
		p->nclients--;
	client_free(c);
}

void sn_progress_start(struct sn_progress *p, struct sn_client *c, int64_t piece, int32_t src,
		       int64_t now_ms)
{
	if (c->ninf == c->infcap) {
		int ncap = c->infcap ? c->infcap * 2 : 4;
		c->inf = xrealloc(c->inf, (size_t)ncap * sizeof(*c->inf));
		c->infcap = ncap;
	}
	c->inf[c->ninf++] = (struct sn_inflight){ piece, src, now_ms };
	p->ninflight[piece]++;
	if (src >= 0) {
		p->clients[src]->load++;
		p->peer_given++;
	} else {
		c->sn_inflight++;
		p->sn_load++;
		p->sn_given++;
	}
	c->cursor = piece + 1;
}

static void set_have(struct sn_progress *p, struct sn_client *c, int64_t piece)
{
	if (piece < 0 || piece >= p->npieces || bit_get(c->have, piece))
		return;
	bit_set(c->have, piece);
	c->nhave++;
}

void sn_progress_ok(struct sn_progress *p, struct sn_client *c, int64_t piece)
{
	for (int i = 0; i < c->ninf; i++)
		if (c->inf[i].piece == piece) {
			end_inflight(p, c, i);
			break;
		}
	set_have(p, c, piece);
}

int32_t sn_progress_failed(struct sn_progress *p, struct sn_client *c, int64_t piece,
			   int32_t dst_idx, int fail_limit, int64_t now_ms)
{
	int32_t src = dst_idx;
	for (int i = 0; i < c->ninf; i++)
		if (c->inf[i].piece == piece) {
			src = c->inf[i].src;
			end_inflight(p, c, i);
			break;
		}
	if (src < 0 || src >= p->nclients || !p->clients[src] || src == c->idx)
		return src == SN_SRC_CDN ? SN_SRC_CDN : SN_NO_SRC;
	struct sn_client *s = p->clients[src];
	s->fails++;
	if (fail_limit > 0 && s->fails >= fail_limit)
		sn_progress_isolate(p, s, now_ms);
	return src;
}

void sn_progress_suc(struct sn_progress *p, struct sn_client *c, int64_t piece, int32_t src_idx)
{
	sn_progress_ok(p, c, piece);
	if (piece < 0 || piece >= p->npieces)
		return;
	if (src_idx >= 0 && src_idx < p->nclients && p->clients[src_idx])
		p->clients[src_idx]->fails = 0;
	if (bit_get(c->serving, piece))
		return;
	bit_set(c->serving, piece);
	if (sn_client_usable(c))
		holders_add(&p->holders[piece], c->idx);
}

void sn_progress_down(struct sn_progress *p, struct sn_client *c, int64_t now_ms)
{
	if (c->down)
		return;
	unlist(p, c);
	c->down = true;
	if (!c->down_ms)
		c->down_ms = now_ms;
	if (!c->finished)
		p->nactive--;
}

void sn_progress_isolate(struct sn_progress *p, struct sn_client *c, int64_t now_ms)
{
	if (c->isolated)
		return;
	unlist(p, c);
	c->isolated = true;
	if (!c->down_ms)
		c->down_ms = now_ms;
}

void sn_progress_finish(struct sn_progress *p, struct sn_client *c)
{
	while (c->ninf > 0)
		end_inflight(p, c, c->ninf - 1);
	if (c->finished)
		return;
	c->finished = true;
	if (!c->down)
		p->nactive--;
}

bool sn_progress_client_done(const struct sn_progress *p, const struct sn_client *c)
{
	return sn_progress_cdn_complete(p) && c->nhave >= p->npieces;
}

int sn_progress_expire(struct sn_progress *p, int64_t now_ms, int64_t timeout_ms)
{
	int n = 0;
	for (int32_t i = 0; i < p->nclients; i++) {
		struct sn_client *c = p->clients[i];
		for (int j = 0; c && j < c->ninf;) {
			if (c->inf[j].start_ms < now_ms - timeout_ms) {
				end_inflight(p, c, j);
				n++;
			} else {
				j++;
			}
		}
	}
	return n;
}

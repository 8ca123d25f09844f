/* sched: rarest-first piece choice with super-seeding (see sched.h). Pure; the caller holds
 * the task lock. */
#include "config.h"
#include "sched.h"

#include <limits.h>
#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The least loaded usable holder of piece (not c) with a free slot, or -1. Looks at up to
 * probes holders, starting where the last search for this piece left off, so equally
 * loaded holders take turns. */
static int32_t find_peer(struct sn_progress *p, const struct sn_client *c, int64_t piece,
			 int up_limit, int probes)
{
	struct sn_holders *h = &p->holders[piece];
	int32_t best = -1, bestpos = 0;
	int bestload = INT_MAX, seen = 0;
	for (int32_t j = 0; j < h->n && seen < probes; j++) {
		int32_t pos = (int32_t)((h->cursor + (uint32_t)j) % (uint32_t)h->n);
		int32_t id = h->ids[pos];
		const struct sn_client *s = p->clients[id];
		if (id == c->idx || !s)
			continue;
		seen++;
		if (s->load < up_limit && s->load < bestload) {
			best = id;
			bestpos = pos;
			bestload = s->load;
			if (bestload == 0)
				break;
		}
	}
	if (best >= 0)
		h->cursor = (uint32_t)bestpos + 1;
	return best;
}

/* Fill p->scratch with the candidate keys of c, unordered: rarity << 32 | distance from
 * c's cursor. Returns how many. Every candidate is cached by the CDN: the passes below
 * rely on it. */
static int64_t candidates(struct sn_progress *p, const struct sn_client *c)
{
	int64_t n = p->npieces, k = 0;
	int64_t cursor = n > 0 ? c->cursor % n : 0;
	for (int64_t piece = 0; piece < n; piece++) {
		/* Only what the CDN has cached: its md5, which the client checks the piece
		 * against, is known from then on. Peers can hold pieces before that: clients
		 * that moved here from another supernode report the pieces they fetched there. */
		if (!sn_progress_cdn_has(p, piece))
			continue;
		if (sn_client_has(c, piece) || sn_client_inflight((struct sn_client *)c, piece))
			continue;
		uint64_t rarity = (uint64_t)p->holders[piece].n + (uint64_t)p->ninflight[piece];
		if (rarity > UINT32_MAX)
			rarity = UINT32_MAX;
		uint64_t dist = (uint64_t)((piece - cursor + n) % n);
		p->scratch[k++] = rarity << 32 | dist;
	}
	return k;
}

static void sift_down(uint64_t *h, int64_t m, int64_t i)
{
	for (;;) {
		int64_t l = 2 * i + 1, r = l + 1, big = i;
		if (l < m && h[l] > h[big])
			big = l;
		if (r < m && h[r] > h[big])
			big = r;
		if (big == i)
			return;
		uint64_t t = h[i];
		h[i] = h[big];
		h[big] = t;
		i = big;
	}
}

/* Move the m smallest of keys[0..k) to the front, sorted; the rest stay behind them,
 * unordered. O(k log m): with m a small constant, linear in the number of pieces. */
static void select_smallest(uint64_t *keys, int64_t k, int64_t m)
{
	if (m >= k) {
		qsort(keys, (size_t)k, sizeof(uint64_t), cmp_u64);
		return;
	}
	for (int64_t i = m / 2 - 1; i >= 0; i--) /* a max-heap of the first m */
		sift_down(keys, m, i);
	for (int64_t i = m; i < k; i++)
		if (keys[i] < keys[0]) {
			uint64_t t = keys[0];
			keys[0] = keys[i];
			keys[i] = t;
			sift_down(keys, m, 0);
		}
	qsort(keys, (size_t)m, sizeof(uint64_t), cmp_u64);
}

static int64_t key_piece(uint64_t key, int64_t cursor, int64_t n)
{
	return (cursor + (int64_t)(key & 0xffffffffu)) % n;
}

struct pick_state {
	struct sn_pick *picks;
	int got, want, probes, sn_free, sn_cap;
	int64_t cursor, now_ms;
};

/* Pass 1 over keys [from, to): a peer source with fewer than max_load uploads, else a
 * fresh piece from the supernode. */
static void pass_peers(struct sn_progress *p, struct sn_client *c, struct pick_state *ps,
		       int64_t from, int64_t to, int max_load)
{
	for (int64_t i = from; i < to && ps->got < ps->want; i++) {
		int64_t piece = key_piece(p->scratch[i], ps->cursor, p->npieces);
		if (sn_client_inflight(c, piece))
			continue; /* taken by an earlier pass of this call */
		int32_t src = find_peer(p, c, piece, max_load, ps->probes);
		if (src < 0) {
			bool fresh = p->holders[piece].n + p->ninflight[piece] == 0;
			if (!fresh || ps->sn_free <= 0 || c->sn_inflight >= ps->sn_cap)
				continue;
			src = SN_SRC_CDN;
			ps->sn_free--;
		}
		sn_progress_start(p, c, piece, src, ps->now_ms);
		ps->picks[ps->got++] = (struct sn_pick){ piece, src };
	}
}

/* Pass 2 over keys [0, to): spare supernode slots serve second copies, rarest first. */
static void pass_supernode(struct sn_progress *p, struct sn_client *c, struct pick_state *ps,
			   int64_t to)
{
	for (int64_t i = 0; i < to && ps->got < ps->want; i++) {
		int64_t piece = key_piece(p->scratch[i], ps->cursor, p->npieces);
		if (ps->sn_free <= 0 || c->sn_inflight >= ps->sn_cap)
			break;
		if (sn_client_inflight(c, piece))
			continue;
		ps->sn_free--;
		sn_progress_start(p, c, piece, SN_SRC_CDN, ps->now_ms);
		ps->picks[ps->got++] = (struct sn_pick){ piece, SN_SRC_CDN };
	}
}

int sn_sched_pick(struct sn_progress *p, struct sn_client *c, const struct sn_sched_limits *lim,
		  int64_t now_ms, struct sn_pick *picks, int max)
{
	struct pick_state ps = { .picks = picks, .now_ms = now_ms };
	ps.want = lim->down_limit - c->ninf;
	if (ps.want > max)
		ps.want = max;
	if (ps.want <= 0 || p->npieces == 0)
		return 0;
	ps.probes = lim->probes > 0 ? lim->probes : 16;
	ps.sn_free = lim->sn_free;
	/* While others are active, one supernode transfer at a time per client. */
	ps.sn_cap = p->nactive >= 2 ? 1 : lim->down_limit;
	ps.cursor = c->cursor % p->npieces;
	int64_t k = candidates(p, c);
	/* The rarest few are nearly always enough: order only those (linear time), and the
	 * rest only when they are not. */
	int64_t sorted = 4 * (int64_t)ps.want + 16;
	if (sorted > k)
		sorted = k;
	select_smallest(p->scratch, k, sorted);
	/* Spread uploads: the rarest pieces whose source is idle first, then those whose
	 * source has one upload, and so on. A transfer's share of its source's link is what
	 * makes it slow; rarity alone piled uploads on the few early holders (their uploads
	 * ran at 1/up_limit of a link while other peers idled). */
	for (int load = 1; load <= lim->up_limit && ps.got < ps.want; load++)
		pass_peers(p, c, &ps, 0, sorted, load);
	if (ps.got < ps.want && sorted < k) {
		qsort(p->scratch + sorted, (size_t)(k - sorted), sizeof(uint64_t), cmp_u64);
		for (int load = 1; load <= lim->up_limit && ps.got < ps.want; load++)
			pass_peers(p, c, &ps, sorted, k, load);
		sorted = k;
	}
	if (!lim->sn_busy && ps.got < ps.want) {
		if (sorted < k) {
			qsort(p->scratch + sorted, (size_t)(k - sorted), sizeof(uint64_t), cmp_u64);
			sorted = k;
		}
		pass_supernode(p, c, &ps, sorted);
	}
	return ps.got;
}

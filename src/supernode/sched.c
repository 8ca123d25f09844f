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

/* Fill p->scratch with the candidate keys of c: rarity << 32 | distance from c's cursor.
 * Returns how many. */
static int64_t candidates(struct sn_progress *p, const struct sn_client *c)
{
	int64_t n = p->npieces, k = 0;
	int64_t cursor = n > 0 ? c->cursor % n : 0;
	for (int64_t piece = 0; piece < n; piece++) {
		bool cdn = sn_progress_cdn_has(p, piece);
		if (!cdn && p->holders[piece].n == 0)
			continue;
		if (sn_client_has(c, piece) || sn_client_inflight((struct sn_client *)c, piece))
			continue;
		uint64_t rarity = (uint64_t)p->holders[piece].n + (uint64_t)p->ninflight[piece];
		if (rarity > UINT32_MAX)
			rarity = UINT32_MAX;
		uint64_t dist = (uint64_t)((piece - cursor + n) % n);
		p->scratch[k++] = rarity << 32 | dist;
	}
	qsort(p->scratch, (size_t)k, sizeof(uint64_t), cmp_u64);
	return k;
}

static int64_t key_piece(uint64_t key, int64_t cursor, int64_t n)
{
	return (cursor + (int64_t)(key & 0xffffffffu)) % n;
}

int sn_sched_pick(struct sn_progress *p, struct sn_client *c, const struct sn_sched_limits *lim,
		  int64_t now_ms, struct sn_pick *picks, int max)
{
	int want = lim->down_limit - c->ninf;
	if (want > max)
		want = max;
	if (want <= 0 || p->npieces == 0)
		return 0;
	int probes = lim->probes > 0 ? lim->probes : 16;
	int sn_free = lim->sn_free;
	/* While others are active, one supernode transfer at a time per client. */
	int sn_cap = p->nactive >= 2 ? 1 : lim->down_limit;
	int64_t n = p->npieces;
	int64_t cursor = c->cursor % n;
	int64_t k = candidates(p, c);
	int got = 0;

	/* Pass 1: a peer source, else a fresh piece from the supernode. */
	for (int64_t i = 0; i < k && got < want; i++) {
		int64_t piece = key_piece(p->scratch[i], cursor, n);
		int32_t src = find_peer(p, c, piece, lim->up_limit, probes);
		if (src < 0) {
			bool fresh = p->holders[piece].n + p->ninflight[piece] == 0;
			if (!fresh || !sn_progress_cdn_has(p, piece) || sn_free <= 0 ||
			    c->sn_inflight >= sn_cap)
				continue;
			src = SN_SRC_CDN;
			sn_free--;
		}
		sn_progress_start(p, c, piece, src, now_ms);
		picks[got++] = (struct sn_pick){ piece, src };
	}
	/* Pass 2: spare supernode capacity serves second copies, rarest first. */
	for (int64_t i = 0; i < k && got < want && !lim->sn_busy; i++) {
		int64_t piece = key_piece(p->scratch[i], cursor, n);
		if (sn_free <= 0 || c->sn_inflight >= sn_cap)
			break;
		if (!sn_progress_cdn_has(p, piece) || sn_client_inflight(c, piece))
			continue;
		sn_free--;
		sn_progress_start(p, c, piece, SN_SRC_CDN, now_ms);
		picks[got++] = (struct sn_pick){ piece, SN_SRC_CDN };
	}
	return got;
}

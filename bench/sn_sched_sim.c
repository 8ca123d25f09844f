/* sn_sched_sim: the real scheduler (sched.c, progress.c) driven by a fluid model of the
 * issue-5 testbed, to judge scheduling policy in seconds instead of a shaped network run:
 * N clients with DOWN and UP Mbit/s links, a supernode with SN Mbit/s, one file of SIZE MB
 * already cached. Transfers share links evenly (a transfer runs at the smaller of its
 * source's and its destination's fair share); a client pulls at start, after every piece,
 * and, when it got nothing, again after anything changed (the pull hold). Prints the
 * median and slowest completion time against the physical minimum, and how many copies
 * left the supernode. SN_SIM_TRACE=1 prints the progress every half second.
 *
 * Usage: sn_sched_sim [N (100)] [SIZE_MB (100)] [CLIENT_MBIT (80)] [SN_MBIT (800)]
 *                     [CDN_UP_LIMIT (32)] [UP_LIMIT (5)] [DOWN_LIMIT (4)]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "piece.h"
#include "supernode/progress.h"
#include "supernode/sched.h"

struct xfer {
	int c;
	int64_t piece;
	int32_t src;
	double left; /* bytes */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	double size = (argc > 2 ? atof(argv[2]) : 100) * 1e6;
	double crate = (argc > 3 ? atof(argv[3]) : 80) * 1e6 / 8;
	double srate = (argc > 4 ? atof(argv[4]) : 800) * 1e6 / 8;
	int cdn_limit = argc > 5 ? atoi(argv[5]) : 32;
	int up = argc > 6 ? atoi(argv[6]) : 5, down = argc > 7 ? atoi(argv[7]) : 4;
	int32_t ps = df_piece_size_for((int64_t)size);
	int64_t np = df_piece_count((int64_t)size, ps);
	struct sn_progress *p = sn_progress_new();
	sn_progress_set_pieces(p, np, true);
	for (int64_t i = 0; i < np; i++)
		sn_progress_cdn_done(p, i);
	struct sn_client **cl = calloc((size_t)n, sizeof(*cl));
	double *done_at = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "c%d", i);
		struct sn_client_info info = { .cid = cid, .ip = "10.0.0.1", .path = "/p",
					       .sn_ip = "10.0.0.2", .port = 15000 + i,
					       .can_serve = true };
		cl[i] = sn_progress_add(p, &info, 0);
	}
	size_t cap = (size_t)n * (size_t)down + 16, nx = 0;
	struct xfer *x = calloc(cap, sizeof(*x));
	int *nup = calloc((size_t)n, sizeof(int)), *ndown = calloc((size_t)n, sizeof(int));
	double dt = 0.005, t = 0, sn_bytes = 0;
	int finished = 0;
	bool changed = true;
	while (finished < n && t < 3600) {
		if (changed) { /* everyone with free slots asks (the hold answers at once) */
			changed = false;
			for (int i = 0; i < n; i++) {
				if (cl[i]->finished)
					continue;
				struct sn_sched_limits lim = { .down_limit = down, .up_limit = up,
							       .sn_free = cdn_limit - p->sn_load,
							       .sn_busy = p->sn_load >= cdn_limit };
				struct sn_pick pk[64];
				int k = sn_sched_pick(p, cl[i], &lim, (int64_t)(t * 1000), pk, 64);
				for (int j = 0; j < k; j++) {
					int64_t len = df_piece_content_len((int64_t)size, ps, pk[j].piece) + 5;
					x[nx++] = (struct xfer){ i, pk[j].piece, pk[j].src, (double)len };
				}
			}
		}
		for (int i = 0; i < n; i++)
			nup[i] = ndown[i] = 0;
		int snup = 0;
		for (size_t k = 0; k < nx; k++) {
			ndown[x[k].c]++;
			if (x[k].src >= 0)
				nup[x[k].src]++;
			else
				snup++;
		}
		for (size_t k = 0; k < nx;) {
			double us = x[k].src >= 0 ? crate / nup[x[k].src] : srate / snup;
			double ds = crate / ndown[x[k].c];
			double moved = (us < ds ? us : ds) * dt;
			if (x[k].src < 0)
				sn_bytes += moved < x[k].left ? moved : x[k].left;
			x[k].left -= moved;
			if (x[k].left > 0) {
				k++;
				continue;
			}
			struct sn_client *c = cl[x[k].c];
			sn_progress_suc(p, c, x[k].piece, x[k].src);
			if (sn_progress_client_done(p, c)) {
				sn_progress_finish(p, c);
				done_at[x[k].c] = t + dt;
				finished++;
			}
			x[k] = x[--nx];
			changed = true;
		}
		t += dt;
		if (getenv("SN_SIM_TRACE") && (int)(t / dt) % (int)(0.5 / dt) == 0) {
			double have = 0;
			for (int i = 0; i < n; i++)
				have += (double)cl[i]->nhave;
			fprintf(stderr, "t=%5.1f pieces held %5.0f/%lld (%.0f%%) in flight %zu sn %d\n", t,
				have, (long long)(np * n), 100 * have / (double)(np * n), nx, snup);
		}
	}
	qsort(done_at, (size_t)n, sizeof(double), cmp_double);
	double total_up = srate + n * crate;
	double tmin = size / crate;
	if (n * size / total_up > tmin)
		tmin = n * size / total_up;
	printf("N=%d, %.0f MB (%lld pieces of %d), clients %.0f Mbit/s, supernode %.0f Mbit/s, "
	       "cdn-up-limit %d, up %d, down %d\n", n, size / 1e6, (long long)np, ps,
	       crate * 8 / 1e6, srate * 8 / 1e6, cdn_limit, up, down);
	printf("  median %.2f s, slowest %.2f s, minimum %.2f s: median/min %.2f; supernode sent "
	       "%.2f copies, peers %.1f%% of bytes\n", done_at[n / 2], done_at[n - 1], tmin,
	       done_at[n / 2] / tmin, sn_bytes / size,
	       100.0 * (1 - sn_bytes / ((double)n * size)));
	sn_progress_free(p);
	free(cl);
	free(done_at);
	free(x);
	free(nup);
	free(ndown);
	return finished == n ? 0 : 1;
}

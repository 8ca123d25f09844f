/* What people see: the progress bar (on a terminal, or with --showbar) and the one-line
 * outcome. Formatting is pure (unit-tested); dg_bar_* keeps a rate estimate for one
 * download and is used from one thread. */
#ifndef DG_PROGRESS_H
#define DG_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "download.h"

/* One bar line (no newline) for p at rate bytes/s, at most width columns:
 * "[=====>    ]  45%  450MB/1GB  85.3MB/s  ETA 6s  peers 60% sn 40% src 0%". */
void dg_progress_format(const struct dg_progress *p, double rate, int width, char *buf,
			size_t bufsz);

/* "dfget: downloaded out.bin (1GB) in 3.2s; 87% from peers". */
void dg_outcome_format(const char *path, int64_t length, int64_t duration_us,
		       int64_t from_peers, int64_t from_supernode, int64_t from_source,
		       bool back_source, char *buf, size_t bufsz);

struct dg_bar {
	FILE *out;
	int width;
	int64_t last_us;
	int64_t last_done;
	double rate; /* smoothed bytes/s */
	bool drawn;
};

void dg_bar_init(struct dg_bar *b, FILE *out, int width);
/* Redraw (at most every 200 ms unless final). */
void dg_bar_update(struct dg_bar *b, const struct dg_progress *p);
/* End the bar line. */
void dg_bar_end(struct dg_bar *b);

#endif

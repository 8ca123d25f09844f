/* Progress bar and outcome line (see progress.h). No shared state. */
#include "config.h"
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

static int pct(int64_t part, int64_t whole)
{
	if (whole <= 0)
		return 0;
	int64_t v = part * 100 / whole;
	return v < 0 ? 0 : v > 100 ? 100 : (int)v;
}

static void fmt_eta(double secs, char *buf, size_t bufsz)
{
	if (secs < 0 || secs > 99 * 3600) {
		snprintf(buf, bufsz, "--");
		return;
	}
	long s = (long)(secs + 0.5);
	if (s >= 3600)
		snprintf(buf, bufsz, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, bufsz, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, bufsz, "%lds", s);
}

void dg_progress_format(const struct dg_progress *p, double rate, int width, char *buf,
			size_t bufsz)
{
	char done[32], total[32], rbuf[32], eta[32];
	df_size_format(p->done, done, sizeof(done));
	if (p->total >= 0)
		df_size_format(p->total, total, sizeof(total));
	else
		snprintf(total, sizeof(total), "?");
	df_size_format((int64_t)(rate + 0.5), rbuf, sizeof(rbuf));
	if (p->total >= 0 && rate > 0)
		fmt_eta((double)(p->total - p->done) / rate, eta, sizeof(eta));
	else
		snprintf(eta, sizeof(eta), "--");
	int64_t got = p->from_peers + p->from_supernode + p->from_source;
	char tail[256];
	/* fixed widths, so that the bar keeps its length as the numbers change */
	snprintf(tail, sizeof(tail), " %3d%% %9s/%-9s %9s/s  ETA %-6s peers %3d%% sn %3d%% src %3d%%",
		 p->total > 0 ? pct(p->done, p->total) : (p->finished ? 100 : 0), done, total,
		 rbuf, eta, pct(p->from_peers, got), pct(p->from_supernode, got),
		 pct(p->from_source, got));
	int bar = width - (int)strlen(tail) - 2;
	if (bar > 40)
		bar = 40;
	size_t n = 0;
	if (bar >= 5) {
		int fill = p->total > 0 ? (int)(p->done * bar / p->total) : p->finished ? bar : 0;
		if (fill > bar)
			fill = bar;
		buf[n++] = '[';
		for (int i = 0; i < bar && n + 2 < bufsz; i++)
			buf[n++] = i < fill ? '=' : (i == fill ? '>' : ' ');
		if (n + 1 < bufsz)
			buf[n++] = ']';
	}
	snprintf(buf + n, bufsz - n, "%s", tail);
}

void dg_outcome_format(const char *path, int64_t length, int64_t duration_us,
		       int64_t from_peers, int64_t from_supernode, int64_t from_source,
		       bool back_source, char *buf, size_t bufsz)
{
	char size[32];
	df_size_format(length, size, sizeof(size));
	int64_t got = from_peers + from_supernode + from_source;
	if (back_source)
		snprintf(buf, bufsz, "dfget: downloaded %s (%s) in %.2fs from the source", path,
			 size, (double)duration_us / 1e6);
	else
		snprintf(buf, bufsz, "dfget: downloaded %s (%s) in %.2fs; %d%% from peers", path,
			 size, (double)duration_us / 1e6, pct(from_peers, got));
}

void dg_bar_init(struct dg_bar *b, FILE *out, int width)
{
	memset(b, 0, sizeof(*b));
	b->out = out;
	b->width = width > 20 ? width : 80;
}

void dg_bar_update(struct dg_bar *b, const struct dg_progress *p)
{
	if (!p->finished && b->drawn && p->elapsed_us - b->last_us < 200000)
		return;
	int64_t dt = p->elapsed_us - b->last_us;
	if (dt > 0 && p->done >= b->last_done) {
		double inst = (double)(p->done - b->last_done) * 1e6 / (double)dt;
		b->rate = b->drawn ? 0.7 * b->rate + 0.3 * inst : inst;
	}
	if (p->finished && p->elapsed_us > 0)
		b->rate = (double)p->done * 1e6 / (double)p->elapsed_us;
	b->last_us = p->elapsed_us;
	b->last_done = p->done;
	char line[256];
	dg_progress_format(p, b->rate, b->width - 1, line, sizeof(line));
	fprintf(b->out, "\r%s\033[K", line);
	fflush(b->out);
	b->drawn = true;
}

void dg_bar_end(struct dg_bar *b)
{
	if (b->drawn)
		fputc('\n', b->out);
	fflush(b->out);
	b->drawn = false;
}

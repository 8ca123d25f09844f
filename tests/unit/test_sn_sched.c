/* The scheduler (sched.c) on scripted scenarios: each row of the table is a story told in
 * a small command language, run against a real struct sn_progress, so a failing row names
 * itself and the step that went wrong. Pure: no sockets, no clock.
 *
 * Commands (separated by ';'):
 *   pieces N            N pieces, final          cdn BITS     the CDN has pieces ('1')
 *   client NAME [noserve]                         limits down=D up=U free=F busy=B
 *   serve NAME BITS     NAME reported piece/suc for those pieces
 *   time MS             the clock for what follows
 *   pick NAME => P:SRC ...   NAME asks; the picks must be exactly these (SRC: a name, cdn)
 *   ok NAME P / fail NAME P / suc NAME P SRC / down NAME / isolate NAME / finish NAME
 *   load NAME K / snload K / inflight P K / done NAME 0|1 / active K   (checks)
 *   expire TIMEOUT => K      end transfers older than TIMEOUT ms; K must end
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supernode/progress.h"
#include "supernode/sched.h"
#include "unit.h"

#define MAXC 16

struct world {
	struct sn_progress *p;
	char names[MAXC][16];
	int n;
	struct sn_sched_limits lim;
	int64_t now;
	const char *row;
	int step;
};

static int idx_of(struct world *w, const char *name)
{
	if (strcmp(name, "cdn") == 0)
		return SN_SRC_CDN;
	for (int i = 0; i < w->n; i++)
		if (strcmp(w->names[i], name) == 0)
			return sn_progress_find(w->p, name)->idx;
	fprintf(stderr, "  row '%s' step %d: unknown client %s\n", w->row, w->step, name);
	CU_FAIL_FATAL("unknown client in script");
	return -3;
}

static struct sn_client *cl(struct world *w, const char *name)
{
	struct sn_client *c = sn_progress_find(w->p, name);
	if (!c) {
		fprintf(stderr, "  row '%s' step %d: no client %s\n", w->row, w->step, name);
		CU_FAIL_FATAL("no such client");
	}
	return c;
}

static const char *src_name(struct world *w, int32_t src)
{
	if (src == SN_SRC_CDN)
		return "cdn";
	return w->p->clients[src]->cid;
}

static void expect(struct world *w, bool ok, const char *what, long got, long want)
{
	if (!ok)
		fprintf(stderr, "  row '%s' step %d: %s: got %ld, want %ld\n", w->row, w->step,
			what, got, want);
	CU_ASSERT_TRUE(ok);
}

static void do_pick(struct world *w, const char *name, char *want)
{
	struct sn_pick picks[SN_MAX_DOWN_LIMIT];
	int n = sn_sched_pick(w->p, cl(w, name), &w->lim, w->now, picks, SN_MAX_DOWN_LIMIT);
	char got[512] = "", buf[64];
	for (int i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s%lld:%s", i ? " " : "", (long long)picks[i].piece,
			 src_name(w, picks[i].src));
		strcat(got, buf);
	}
	while (*want == ' ')
		want++;
	size_t l = strlen(want);
	while (l && want[l - 1] == ' ')
		want[--l] = '\0';
	if (strcmp(got, want) != 0)
		fprintf(stderr, "  row '%s' step %d: pick %s: got '%s', want '%s'\n", w->row,
			w->step, name, got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void set_bits(struct world *w, const char *bits, void (*fn)(struct world *, int64_t,
								   void *), void *arg)
{
	for (int64_t i = 0; bits[i]; i++)
		if (bits[i] == '1')
			fn(w, i, arg);
}

static void cdn_one(struct world *w, int64_t n, void *arg)
{
	(void)arg;
	sn_progress_cdn_done(w->p, n);
}

static void serve_one(struct world *w, int64_t n, void *arg)
{
	sn_progress_suc(w->p, arg, n, SN_NO_SRC);
}

static void limits(struct world *w, char *args)
{
	for (char *tok = strtok(args, " "); tok; tok = strtok(NULL, " ")) {
		int v = atoi(strchr(tok, '=') ? strchr(tok, '=') + 1 : "0");
		if (!strncmp(tok, "down=", 5))
			w->lim.down_limit = v;
		else if (!strncmp(tok, "up=", 3))
			w->lim.up_limit = v;
		else if (!strncmp(tok, "free=", 5))
			w->lim.sn_free = v;
		else if (!strncmp(tok, "busy=", 5))
			w->lim.sn_busy = v != 0;
	}
}

static void step(struct world *w, char *cmd)
{
	char a[32] = "", b[512] = "", c[512] = "";
	char *arrow = strstr(cmd, "=>");
	if (arrow)
		*arrow = '\0';
	int n = sscanf(cmd, " %31s %511s %511s", a, b, c);
	if (n < 1)
		return;
	if (!strcmp(a, "pieces")) {
		sn_progress_set_pieces(w->p, atoi(b), true);
	} else if (!strcmp(a, "cdn")) {
		set_bits(w, b, cdn_one, NULL);
	} else if (!strcmp(a, "client")) {
		snprintf(w->names[w->n++], sizeof(w->names[0]), "%s", b);
		struct sn_client_info info = { .cid = b, .ip = "10.0.0.1", .path = "/peer/file/x",
					       .sn_ip = "10.0.0.9", .port = 15000 + w->n,
					       .can_serve = strcmp(c, "noserve") != 0 };
		sn_progress_add(w->p, &info, w->now);
	} else if (!strcmp(a, "limits")) {
		limits(w, strstr(cmd, "limits") + strlen("limits"));
	} else if (!strcmp(a, "serve")) {
		set_bits(w, c, serve_one, cl(w, b));
	} else if (!strcmp(a, "time")) {
		w->now = atoll(b);
	} else if (!strcmp(a, "pick")) {
		do_pick(w, b, arrow ? arrow + 2 : (char *)"");
	} else if (!strcmp(a, "ok")) {
		sn_progress_ok(w->p, cl(w, b), atoi(c));
	} else if (!strcmp(a, "fail")) {
		sn_progress_failed(w->p, cl(w, b), atoi(c), SN_NO_SRC, 2, w->now);
	} else if (!strcmp(a, "suc")) {
		char d[32] = "";
		sscanf(cmd, " %*s %*s %*s %31s", d);
		sn_progress_suc(w->p, cl(w, b), atoi(c), *d ? idx_of(w, d) : SN_NO_SRC);
	} else if (!strcmp(a, "down")) {
		sn_progress_down(w->p, cl(w, b), w->now);
	} else if (!strcmp(a, "isolate")) {
		sn_progress_isolate(w->p, cl(w, b), w->now);
	} else if (!strcmp(a, "finish")) {
		sn_progress_finish(w->p, cl(w, b));
	} else if (!strcmp(a, "load")) {
		int got = cl(w, b)->load;
		expect(w, got == atoi(c), "load", got, atoi(c));
	} else if (!strcmp(a, "snload")) {
		expect(w, w->p->sn_load == atoi(b), "snload", w->p->sn_load, atoi(b));
	} else if (!strcmp(a, "inflight")) {
		int got = w->p->ninflight[atoi(b)];
		expect(w, got == atoi(c), "inflight", got, atoi(c));
	} else if (!strcmp(a, "done")) {
		bool got = sn_progress_client_done(w->p, cl(w, b));
		expect(w, got == (atoi(c) != 0), "done", got, atoi(c));
	} else if (!strcmp(a, "active")) {
		expect(w, w->p->nactive == atoi(b), "active", w->p->nactive, atoi(b));
	} else if (!strcmp(a, "expire")) {
		int got = sn_progress_expire(w->p, w->now, atoll(b));
		int want = arrow ? atoi(arrow + 2) : 0;
		expect(w, got == want, "expired", got, want);
	} else {
		fprintf(stderr, "  row '%s': unknown command '%s'\n", w->row, a);
		CU_FAIL("unknown command");
	}
}

struct row {
	const char *name;
	const char *script;
};

static void run_rows(const struct row *rows, size_t n)
{
	for (size_t r = 0; r < n; r++) {
		struct world w = { .p = sn_progress_new(), .row = rows[r].name };
		w.lim = (struct sn_sched_limits){ .down_limit = 4, .up_limit = 5, .sn_free = 16 };
		char *script = strdup(rows[r].script), *save = NULL;
		for (char *cmd = strtok_r(script, ";", &save); cmd; cmd = strtok_r(NULL, ";", &save)) {
			w.step++;
			step(&w, cmd);
		}
		free(script);
		sn_progress_free(w.p);
	}
}

static const struct row rarest_rows[] = {
	{ "a lone client takes pieces from the supernode, nearest first",
	  "pieces 6; cdn 111111; client a; pick a => 0:cdn 1:cdn 2:cdn 3:cdn; snload 4" },
	{ "only pieces the CDN has",
	  "pieces 6; cdn 010100; client a; pick a => 1:cdn 3:cdn" },
	{ "a piece peers hold but the CDN has not cached yet waits for it (its md5)",
	  "pieces 3; cdn 000; client s; client a; serve s 111; pick a => ; cdn 010;"
	  "pick a => 1:s" },
	{ "rarest first, sources least loaded first",
	  "pieces 4; cdn 1111; client a; client b; client c; client d;"
	  "serve a 1110; serve b 1100; serve c 1000;"
	  "pick d => 3:cdn 2:a 1:b 0:c; load a 1; load b 1; load c 1; inflight 3 1" },
	{ "uploads are spread: an idle source's piece before a busy source's rarer one",
	  "pieces 4; cdn 1111; client s; client t; client a; serve s 1111; serve t 0011;"
	  "limits down=2 up=5 free=0 busy=1; pick a => 0:s 2:t; load s 1; load t 1" },
	{ "rarity counts transfers in flight: two askers do not take the same rare piece",
	  "pieces 4; cdn 1111; client a; client b; client c; serve a 1111;"
	  "limits down=1 up=5 free=16 busy=0; pick b => 0:a; pick c => 1:a" },
	{ "ties go to the piece after the last one given",
	  "pieces 8; cdn 11111111; client s; client a; serve s 11111111;"
	  "limits down=1 up=5 free=0 busy=1; pick a => 0:s; ok a 0; pick a => 1:s; ok a 1;"
	  "pick a => 2:s" },
	{ "nothing held nor fetched is handed out again",
	  "pieces 3; cdn 111; client a; ok a 0; pick a => 1:cdn 2:cdn; pick a => " },
	{ "down-limit counts what is in flight",
	  "pieces 8; cdn 11111111; client a; limits down=3 up=5 free=16 busy=0;"
	  "pick a => 0:cdn 1:cdn 2:cdn; pick a => ; ok a 1; pick a => 3:cdn" },
};

static void test_rarest_first(void)
{
	run_rows(rarest_rows, sizeof(rarest_rows) / sizeof(rarest_rows[0]));
}

static char *bits(int n, int from, int to)
{
	static char buf[4][256];
	static int k;
	char *b = buf[k++ % 4];
	for (int i = 0; i < n; i++)
		b[i] = i >= from && i < to ? '1' : '0';
	b[n] = '\0';
	return b;
}

/* Many pieces: only the rarest few candidates are ordered, the rest when they are needed. */
static void test_many_pieces(void)
{
	char s1[2048], s2[2048];
	snprintf(s1, sizeof(s1),
		 "pieces 100; cdn %s; client s; client t; client a; serve s %s; serve t %s;"
		 "limits down=4 up=5 free=0 busy=1; pick a => 90:s 0:t 91:s 1:t",
		 bits(100, 0, 100), bits(100, 0, 100), bits(100, 0, 90));
	/* The 50 rarest have no source (no supernode slot): the next ones are used. */
	snprintf(s2, sizeof(s2),
		 "pieces 100; cdn %s; client s; client a; client b; serve s %s;"
		 "limits down=4 up=5 free=0 busy=1; pick a => 50:s 51:s 52:s 53:s",
		 bits(100, 0, 100), bits(100, 50, 100));
	const struct row rows[] = { { "the rarest of many, spread over the idle sources", s1 },
				    { "past the rarest few when they have no source", s2 } };
	run_rows(rows, 2);
}

static const struct row superseed_rows[] = {
	{ "with others active, one supernode piece at a time per client, fresh ones first",
	  "pieces 4; cdn 1111; client a; client b; client c;"
	  "pick a => 0:cdn; pick b => 1:cdn; pick c => 2:cdn; pick a => ; snload 3;"
	  "ok a 0; pick a => 3:cdn; pick b => ; snload 3" },
	{ "a busy supernode sends no second copy: the asker waits for peers",
	  "pieces 2; cdn 11; client a; client b; client c; limits down=4 up=5 free=10 busy=1;"
	  "pick a => 0:cdn; pick b => 1:cdn; pick c => " },
	{ "an idle supernode serves second copies, rarest first",
	  "pieces 2; cdn 11; client a; client b; client c; limits down=4 up=5 free=10 busy=0;"
	  "pick a => 0:cdn; pick b => 1:cdn; pick c => 0:cdn" },
	{ "a peer that holds the piece is preferred to the supernode",
	  "pieces 2; cdn 11; client a; client b; serve a 11; limits down=2 up=5 free=10 busy=0;"
	  "pick b => 0:a 1:a; snload 0" },
	{ "no supernode slots left: only peers",
	  "pieces 3; cdn 111; client a; client b; serve a 100; limits down=4 up=5 free=0 busy=1;"
	  "pick b => 0:a" },
	{ "a piece held only by a client that cannot serve is fresh again",
	  "pieces 1; cdn 1; client a noserve; client b; client c; serve a 1;"
	  "limits down=4 up=5 free=10 busy=1; pick b => 0:cdn" },
};

static void test_super_seeding(void)
{
	run_rows(superseed_rows, sizeof(superseed_rows) / sizeof(superseed_rows[0]));
}

static const struct row slot_rows[] = {
	{ "a peer at its up-limit is not a source",
	  "pieces 3; cdn 111; client s; client a; client b; serve s 111;"
	  "limits down=4 up=2 free=0 busy=1; pick a => 0:s 1:s; load s 2; pick b => " },
	{ "a finished transfer frees the slot",
	  "pieces 3; cdn 111; client s; client a; client b; serve s 111;"
	  "limits down=4 up=2 free=0 busy=1; pick a => 0:s 1:s; ok a 0; load s 1;"
	  "pick b => 0:s" },
	{ "the least loaded of several holders",
	  "pieces 1; cdn 1; client s; client t; client a; client b; serve s 1; serve t 1;"
	  "limits down=1 up=5 free=0 busy=1; pick a => 0:s; pick b => 0:t" },
	{ "a transfer that never reports is forgotten after the timeout",
	  "pieces 2; cdn 11; client s; client a; client b; serve s 11;"
	  "limits down=4 up=1 free=0 busy=1; time 1000; pick a => 0:s; pick b => ;"
	  "time 5000; expire 10000 => 0; time 12000; expire 10000 => 1; load s 0;"
	  "pick b => 0:s" },
};

static void test_slot_limits(void)
{
	run_rows(slot_rows, sizeof(slot_rows) / sizeof(slot_rows[0]));
}

static const struct row isolation_rows[] = {
	{ "failures against a peer isolate it at the limit (2 here)",
	  "pieces 1; cdn 1; client s; client a; serve s 1; limits down=1 up=5 free=0 busy=1;"
	  "pick a => 0:s; fail a 0; pick a => 0:s; fail a 0; pick a => " },
	{ "a success in between restarts the count",
	  "pieces 1; cdn 1; client s; client a; client b noserve; serve s 1;"
	  "limits down=1 up=5 free=0 busy=1; pick a => 0:s; fail a 0; pick b => 0:s;"
	  "suc b 0 s; pick a => 0:s; fail a 0; pick a => 0:s" },
	{ "a peer that went down is no longer handed out",
	  "pieces 1; cdn 1; client s; client a; serve s 1; down s;"
	  "limits down=1 up=5 free=0 busy=1; pick a => " },
	{ "an isolated peer is skipped for another holder",
	  "pieces 1; cdn 1; client s; client t; client a; serve s 1; serve t 1; isolate s;"
	  "limits down=1 up=5 free=0 busy=1; pick a => 0:t" },
	{ "a client that reported suc serves others at once",
	  "pieces 2; cdn 11; client a; client b; limits down=1 up=5 free=1 busy=1;"
	  "pick a => 0:cdn; suc a 0 cdn; snload 0; limits down=1 up=5 free=0 busy=1;"
	  "pick b => 0:a" },
};

static void test_isolation(void)
{
	run_rows(isolation_rows, sizeof(isolation_rows) / sizeof(isolation_rows[0]));
}

static const struct row finish_rows[] = {
	{ "a client holding every piece of a complete task is done",
	  "pieces 2; cdn 11; client a; done a 0; ok a 0; done a 0; ok a 1; done a 1;"
	  "pick a => " },
	{ "not done while the CDN is incomplete",
	  "pieces 2; cdn 01; client a; ok a 1; done a 0" },
	{ "finishing ends the client's transfers and leaves the active set",
	  "pieces 3; cdn 111; client a; client b; active 2; pick a => 0:cdn; snload 1;"
	  "finish a; snload 0; active 1; inflight 0 0" },
	{ "a finished client stays a source",
	  "pieces 1; cdn 1; client a; client b; serve a 1; finish a;"
	  "limits down=1 up=5 free=0 busy=1; pick b => 0:a" },
};

static void test_finish(void)
{
	run_rows(finish_rows, sizeof(finish_rows) / sizeof(finish_rows[0]));
}

/* A swarm: 40 clients on 25 pieces, all reporting at once, must finish with the supernode
 * sending each piece out only about once while it is busy. */
static void test_swarm_super_seeding(void)
{
	struct sn_progress *p = sn_progress_new();
	enum { NP = 25, NC = 40 };
	sn_progress_set_pieces(p, NP, true);
	for (int i = 0; i < NP; i++)
		sn_progress_cdn_done(p, i);
	struct sn_client *c[NC];
	for (int i = 0; i < NC; i++) {
		char cid[16];
		snprintf(cid, sizeof(cid), "c%d", i);
		struct sn_client_info info = { .cid = cid, .ip = "10.0.0.1", .path = "/p",
					       .sn_ip = "10.0.0.9", .port = 15000 + i,
					       .can_serve = true };
		c[i] = sn_progress_add(p, &info, 0);
	}
	int rounds = 0, finished = 0;
	while (finished < NC && rounds < 1000) {
		rounds++;
		struct sn_pick picks[NC][4];
		int got[NC];
		for (int i = 0; i < NC; i++) {
			struct sn_sched_limits lim = { .down_limit = 4, .up_limit = 5,
						       .sn_free = 8 - p->sn_load,
						       .sn_busy = 2 * p->sn_load >= 8 };
			got[i] = c[i]->finished ? 0 : sn_sched_pick(p, c[i], &lim, rounds, picks[i], 4);
		}
		for (int i = 0; i < NC; i++)
			for (int k = 0; k < got[i]; k++)
				sn_progress_suc(p, c[i], picks[i][k].piece, picks[i][k].src);
		for (int i = 0; i < NC; i++)
			if (!c[i]->finished && sn_progress_client_done(p, c[i])) {
				sn_progress_finish(p, c[i]);
				finished++;
			}
	}
	CU_ASSERT_EQUAL(finished, NC);
	/* 40 clients x 25 pieces = 1000 pieces; the supernode should send few of them. */
	fprintf(stderr, "  swarm: %d rounds, supernode sent %lld pieces, peers %lld\n", rounds,
		(long long)p->sn_given, (long long)p->peer_given);
	CU_ASSERT_TRUE(p->sn_given <= 2 * NP);
	CU_ASSERT_EQUAL(p->sn_given + p->peer_given, (int64_t)NP * NC);
	sn_progress_free(p);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_rarest_first),  UNIT_TEST(test_many_pieces),
	UNIT_TEST(test_super_seeding),
	UNIT_TEST(test_slot_limits),   UNIT_TEST(test_isolation),
	UNIT_TEST(test_finish),	       UNIT_TEST(test_swarm_super_seeding),
};

UNIT_MAIN("sn_sched", tests)

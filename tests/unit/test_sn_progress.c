/* Progress bookkeeping (progress.c): counts stay consistent through transfers, reports,
 * removal, growth of the piece table and the timeout of unreported transfers. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "supernode/progress.h"
#include "unit.h"

static struct sn_client *add(struct sn_progress *p, const char *cid, bool serve)
{
	struct sn_client_info info = { .cid = cid, .ip = "10.1.1.1", .path = "/peer/file/t",
				       .sn_ip = "10.1.1.9", .port = serve ? 15001 : 0,
				       .can_serve = serve };
	return sn_progress_add(p, &info, 100);
}

static void test_add_find_readd(void)
{
	struct sn_progress *p = sn_progress_new();
	sn_progress_set_pieces(p, 3, true);
	struct sn_client *a = add(p, "a", true);
	CU_ASSERT_PTR_EQUAL(sn_progress_find(p, "a"), a);
	CU_ASSERT_PTR_NULL(sn_progress_find(p, "b"));
	CU_ASSERT_EQUAL(p->nlive, 1);
	CU_ASSERT_EQUAL(p->nactive, 1);
	sn_progress_cdn_done(p, 1);
	sn_progress_suc(p, a, 1, SN_NO_SRC);
	/* A re-registration keeps what it holds. */
	struct sn_client_info again = { .cid = "a", .ip = "10.1.1.2", .path = "/peer/file/u",
					.sn_ip = "10.1.1.9", .port = 15002, .can_serve = true };
	CU_ASSERT_PTR_EQUAL(sn_progress_add(p, &again, 200), a);
	CU_ASSERT_TRUE(sn_client_has(a, 1));
	UNIT_STR_EQ(a->ip, "10.1.1.2");
	CU_ASSERT_EQUAL(a->port, 15002);
	CU_ASSERT_EQUAL(p->nlive, 1);
	sn_progress_free(p);
}

static void test_transfer_accounting(void)
{
	struct sn_progress *p = sn_progress_new();
	sn_progress_set_pieces(p, 4, true);
	for (int i = 0; i < 4; i++)
		sn_progress_cdn_done(p, i);
	CU_ASSERT_TRUE(sn_progress_cdn_complete(p));
	struct sn_client *s = add(p, "s", true), *a = add(p, "a", true);
	sn_progress_suc(p, s, 2, SN_NO_SRC);
	CU_ASSERT_EQUAL(p->holders[2].n, 1);
	sn_progress_start(p, a, 2, s->idx, 10);
	sn_progress_start(p, a, 3, SN_SRC_CDN, 10);
	CU_ASSERT_EQUAL(s->load, 1);
	CU_ASSERT_EQUAL(p->sn_load, 1);
	CU_ASSERT_EQUAL(a->sn_inflight, 1);
	CU_ASSERT_EQUAL(p->ninflight[2], 1);
	CU_ASSERT_PTR_NOT_NULL(sn_client_inflight(a, 3));
	/* Success through the next pull (503), then the piece/suc: counted once. */
	sn_progress_ok(p, a, 2);
	sn_progress_suc(p, a, 2, s->idx);
	CU_ASSERT_EQUAL(s->load, 0);
	CU_ASSERT_EQUAL(p->ninflight[2], 0);
	CU_ASSERT_EQUAL(a->nhave, 1);
	CU_ASSERT_EQUAL(p->holders[2].n, 2);
	/* A failure against the supernode releases its slot and blames no peer. */
	CU_ASSERT_EQUAL(sn_progress_failed(p, a, 3, SN_NO_SRC, 3, 20), SN_SRC_CDN);
	CU_ASSERT_EQUAL(p->sn_load, 0);
	CU_ASSERT_EQUAL(a->sn_inflight, 0);
	CU_ASSERT_EQUAL(a->ninf, 0);
	/* A failure without an entry blames the named source. */
	CU_ASSERT_EQUAL(sn_progress_failed(p, a, 0, s->idx, 3, 20), s->idx);
	CU_ASSERT_EQUAL(s->fails, 1);
	sn_progress_free(p);
}

static void test_remove_drops_references(void)
{
	struct sn_progress *p = sn_progress_new();
	sn_progress_set_pieces(p, 2, true);
	sn_progress_cdn_done(p, 0);
	sn_progress_cdn_done(p, 1);
	struct sn_client *s = add(p, "s", true), *a = add(p, "a", true), *b = add(p, "b", true);
	sn_progress_suc(p, s, 0, SN_NO_SRC);
	sn_progress_start(p, a, 0, s->idx, 1);  /* a fetches from s */
	sn_progress_start(p, s, 1, SN_SRC_CDN, 1); /* s fetches from the supernode */
	CU_ASSERT_EQUAL(p->sn_load, 1);
	int32_t sidx = s->idx;
	sn_progress_remove(p, s);
	CU_ASSERT_PTR_NULL(sn_progress_find(p, "s"));
	CU_ASSERT_EQUAL(p->sn_load, 0);
	CU_ASSERT_EQUAL(a->ninf, 0);
	CU_ASSERT_EQUAL(p->ninflight[0], 0);
	CU_ASSERT_EQUAL(p->holders[0].n, 0);
	CU_ASSERT_EQUAL(p->nlive, 2);
	/* The index is reused; nothing points at the new client by accident. */
	struct sn_client *c = add(p, "c", true);
	CU_ASSERT_EQUAL(c->idx, sidx);
	CU_ASSERT_EQUAL(c->load, 0);
	CU_ASSERT_FALSE(sn_client_has(c, 0));
	(void)b;
	sn_progress_free(p);
}

static void test_unknown_length_growth(void)
{
	struct sn_progress *p = sn_progress_new();
	struct sn_client *a = add(p, "a", true);
	/* A source of unknown length: pieces appear one by one, beyond the first capacity. */
	for (int i = 0; i < 300; i++)
		sn_progress_cdn_done(p, i);
	CU_ASSERT_EQUAL(p->npieces, 300);
	CU_ASSERT_FALSE(p->total_known);
	CU_ASSERT_FALSE(sn_progress_cdn_complete(p));
	sn_progress_suc(p, a, 299, SN_NO_SRC);
	CU_ASSERT_TRUE(sn_client_serves(a, 299));
	sn_progress_set_pieces(p, 300, true);
	CU_ASSERT_TRUE(sn_progress_cdn_complete(p));
	/* Out of range pieces are ignored once the total is known. */
	sn_progress_cdn_done(p, 300);
	CU_ASSERT_EQUAL(p->npieces, 300);
	sn_progress_free(p);
}

static void test_down_and_isolate(void)
{
	struct sn_progress *p = sn_progress_new();
	sn_progress_set_pieces(p, 2, true);
	sn_progress_cdn_done(p, 0);
	struct sn_client *s = add(p, "s", true), *x = add(p, "x", false);
	sn_progress_suc(p, s, 0, SN_NO_SRC);
	sn_progress_suc(p, x, 0, SN_NO_SRC); /* cannot serve: never a holder */
	CU_ASSERT_EQUAL(p->holders[0].n, 1);
	CU_ASSERT_EQUAL(p->nactive, 2);
	sn_progress_down(p, s, 500);
	CU_ASSERT_EQUAL(p->holders[0].n, 0);
	CU_ASSERT_EQUAL(p->nactive, 1);
	CU_ASSERT_EQUAL(s->down_ms, 500);
	sn_progress_down(p, s, 900); /* twice is once */
	CU_ASSERT_EQUAL(p->nactive, 1);
	CU_ASSERT_EQUAL(s->down_ms, 500);
	sn_progress_isolate(p, x, 600);
	CU_ASSERT_TRUE(x->isolated);
	CU_ASSERT_FALSE(sn_client_usable(x));
	sn_progress_free(p);
}

static void test_expire(void)
{
	struct sn_progress *p = sn_progress_new();
	sn_progress_set_pieces(p, 3, true);
	struct sn_client *a = add(p, "a", true);
	sn_progress_start(p, a, 0, SN_SRC_CDN, 1000);
	sn_progress_start(p, a, 1, SN_SRC_CDN, 5000);
	CU_ASSERT_EQUAL(sn_progress_expire(p, 6000, 4000), 1);
	CU_ASSERT_EQUAL(a->ninf, 1);
	CU_ASSERT_EQUAL(a->inf[0].piece, 1);
	CU_ASSERT_EQUAL(p->sn_load, 1);
	CU_ASSERT_EQUAL(sn_progress_expire(p, 20000, 4000), 1);
	CU_ASSERT_EQUAL(p->sn_load, 0);
	sn_progress_free(p);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_add_find_readd),	      UNIT_TEST(test_transfer_accounting),
	UNIT_TEST(test_remove_drops_references), UNIT_TEST(test_unknown_length_growth),
	UNIT_TEST(test_down_and_isolate),     UNIT_TEST(test_expire),
};

UNIT_MAIN("sn_progress", tests)

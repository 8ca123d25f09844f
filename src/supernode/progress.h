/* progress: the per-task state the scheduler works on: which pieces the CDN has, which
 * client holds (and serves) which piece, which transfers are in flight from whom, and the
 * upload load of every source.
 *
 * Pure bookkeeping: no clock reads (times are passed in, in milliseconds), no I/O, no
 * locks. The owner (struct sn_task) guards a progress and every client in it with the
 * task lock; every function here expects that lock held.
 *
 * Clients are identified by their cid and, inside a progress, by a small index (idx) that
 * stays fixed while the client exists (a removed client's index may be reused later: every
 * reference to it is dropped on removal). SN_SRC_CDN is the supernode itself as a source.
 */
#ifndef SN_PROGRESS_H
#define SN_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define SN_SRC_CDN (-1)
/* The largest down-limit a client may have. */
#define SN_MAX_DOWN_LIMIT 64

struct sn_inflight {
	int64_t piece;
	int32_t src; /* client index of the uploader, or SN_SRC_CDN */
	int64_t start_ms;
};

struct sn_client {
	int32_t idx;
	char *cid;
	char *ip;    /* its uploader's address */
	char *path;  /* "/peer/file/<taskFileName>" on its uploader */
	char *sn_ip; /* the supernode address this client talks to (for CDN pieces) */
	int port;    /* its uploader's port; 0: none */
	bool can_serve; /* port != 0 and pattern p2p: may be a source for others */
	bool down;	/* reported service/down */
	bool isolated;	/* failed as a source too often */
	bool finished;	/* holds everything, or reported status 702 */
	int fails;	/* consecutive failed uploads from it */
	int load;	/* transfers others run from it now */
	int sn_inflight; /* of its in-flight transfers, those from the supernode */
	int ninf, infcap;
	struct sn_inflight *inf; /* its transfers in flight, ninf of them */
	uint64_t *have;	   /* bitmap: it holds the piece (verified) */
	uint64_t *serving; /* bitmap: it reported piece/suc: it can serve the piece */
	int64_t nhave;
	int64_t cursor; /* the piece after the last one it was given */
	int64_t last_seen_ms;
	int64_t down_ms; /* when it went down or was isolated; 0: never */
};

/* What a registration tells us about a client. Strings are copied. */
struct sn_client_info {
	const char *cid;
	const char *ip;
	const char *path;
	const char *sn_ip;
	int port;
	bool can_serve;
};

struct sn_holders {
	int32_t *ids;
	int32_t n, cap;
	uint32_t cursor; /* round-robin start for the next source search */
};

struct sn_progress {
	int64_t npieces;  /* pieces known so far */
	bool total_known; /* npieces is final */
	int64_t cap;	  /* capacity of the per-piece arrays */
	int64_t ndone;	  /* pieces the CDN has complete */
	uint64_t *cdn_done;
	int32_t *ninflight; /* transfers of each piece in flight */
	struct sn_holders *holders; /* usable serving holders of each piece */
	struct sn_client **clients; /* by idx; NULL for a free index */
	int32_t nclients;	    /* indexes in use or free, i.e. the table's high mark */
	int32_t clients_cap;
	int32_t nlive;	 /* clients that exist */
	int32_t nactive; /* live clients neither finished nor down */
	int sn_load;	 /* transfers from the supernode in flight */
	int64_t sn_given; /* pieces handed out from the supernode, ever */
	int64_t peer_given; /* pieces handed out from peers, ever */
	struct sn_strmap *by_cid;
	uint64_t *scratch; /* candidate keys for the scheduler, cap entries */
};

struct sn_progress *sn_progress_new(void);
void sn_progress_free(struct sn_progress *p);

/* The number of pieces: final when the source length is known, or a lower bound that
 * grows as a source of unknown length is read. Never shrinks. */
void sn_progress_set_pieces(struct sn_progress *p, int64_t npieces, bool final);
/* The CDN now has piece n complete on disk (grows the piece count when needed). */
void sn_progress_cdn_done(struct sn_progress *p, int64_t n);
bool sn_progress_cdn_has(const struct sn_progress *p, int64_t n);
/* Every piece known and complete in the CDN. */
bool sn_progress_cdn_complete(const struct sn_progress *p);

struct sn_client *sn_progress_find(const struct sn_progress *p, const char *cid);
/* Add a client, or update the one with that cid (a re-registration keeps what it holds).
 * Returns it. */
struct sn_client *sn_progress_add(struct sn_progress *p, const struct sn_client_info *info,
				  int64_t now_ms);
/* Remove a client: its in-flight transfers end, transfers others run from it are dropped,
 * it stops being a holder. */
void sn_progress_remove(struct sn_progress *p, struct sn_client *c);

bool sn_client_has(const struct sn_client *c, int64_t piece);
bool sn_client_serves(const struct sn_client *c, int64_t piece);
/* The in-flight entry of c for piece, or NULL. */
struct sn_inflight *sn_client_inflight(struct sn_client *c, int64_t piece);
/* May c be handed out as a source now (ignoring its load)? */
bool sn_client_usable(const struct sn_client *c);

/* Start a transfer of piece to c from src (a client index or SN_SRC_CDN). */
void sn_progress_start(struct sn_progress *p, struct sn_client *c, int64_t piece, int32_t src,
		       int64_t now_ms);

/* Outcomes reported by client c for piece. The in-flight entry (if any) ends.
 * ok: c holds the piece now (it is not yet a source for others: see sn_progress_suc).
 * failed: the source failed; dst_idx names the source when there was no entry
 * (SN_SRC_CDN, a client index, or SN_NO_SRC); returns the index of the source blamed, or
 * SN_NO_SRC. A source with fail_limit consecutive failures is isolated. */
#define SN_NO_SRC (-2)
void sn_progress_ok(struct sn_progress *p, struct sn_client *c, int64_t piece);
int32_t sn_progress_failed(struct sn_progress *p, struct sn_client *c, int64_t piece,
			   int32_t dst_idx, int fail_limit, int64_t now_ms);
/* c reported piece/suc: it holds the piece and serves it to others. src_idx, when it names
 * a client, had a successful upload (its failure count restarts). */
void sn_progress_suc(struct sn_progress *p, struct sn_client *c, int64_t piece, int32_t src_idx);

/* c's uploader is leaving (service/down) or failed too often: it is no longer handed out. */
void sn_progress_down(struct sn_progress *p, struct sn_client *c, int64_t now_ms);
void sn_progress_isolate(struct sn_progress *p, struct sn_client *c, int64_t now_ms);
/* c finished (status 702 or holds every piece). Its in-flight transfers end. */
void sn_progress_finish(struct sn_progress *p, struct sn_client *c);
/* c holds every piece of a complete task. */
bool sn_progress_client_done(const struct sn_progress *p, const struct sn_client *c);

/* End in-flight transfers started before now_ms - timeout_ms (a client that died without
 * reporting). Returns how many ended. */
int sn_progress_expire(struct sn_progress *p, int64_t now_ms, int64_t timeout_ms);

#endif

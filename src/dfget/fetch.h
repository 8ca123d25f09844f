/* Fetching one framed piece from a peer's uploader or the supernode's piece server
 * (protocol.md "Piece fetch"): GET with Range, pieceNum and pieceSize; the body streams
 * through the piece's md5 and an unframer that checks the 4-byte header and the 0x7f
 * trailer, and the content goes straight into the data file with pwrite at
 * n * (pieceSize - 5), in chunks of at most DG_FETCH_CHUNK bytes: no piece is ever held in
 * memory whole. A piece counts only when its framing and md5 check out; a bad one is simply
 * fetched again and overwrites the same region.
 *
 * The unframer is pure (unit-tested). A fetcher belongs to one worker thread (its own easy
 * handle and buffer). */
#ifndef DG_FETCH_H
#define DG_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"
#include "snapi.h"

#define DG_FETCH_CHUNK (256 * 1024)

/* Streaming check of one framed piece. */
struct dg_unframe {
	int32_t piece_size;	/* expected */
	int64_t expect_content; /* expected content bytes, -1 when unknown */
	unsigned char head[4];
	unsigned head_len;
	uint32_t content_len; /* from the header */
	int64_t content_got;
	bool tail_seen;
	char why[160]; /* the reason of the first error */
};

void dg_unframe_init(struct dg_unframe *u, int32_t piece_size, int64_t expect_content);

/* Sink for content bytes: off is the offset within the piece's content. Returns 0 or
 * -errno (stops the feed). */
typedef int (*dg_content_fn)(void *arg, const unsigned char *p, size_t n, int64_t off);

/* Feed framed bytes in order. Returns 0, -EPROTO (bad framing, reason in u->why) or the
 * sink's error. */
int dg_unframe_feed(struct dg_unframe *u, const unsigned char *data, size_t len,
		    dg_content_fn sink, void *arg);
/* After the last byte: 0 when a whole piece arrived, else -EPROTO with the reason. */
int dg_unframe_finish(struct dg_unframe *u);

enum dg_fetch_error {
	DG_FETCH_OK,
	DG_FETCH_NOT_EXIST, /* the source does not have it (404/416, or refuses connections) */
	DG_FETCH_MD5,	    /* md5 or framing mismatch */
	DG_FETCH_FAILED,    /* network, timeout */
	DG_FETCH_STOPPED,   /* the download was stopped */
	DG_FETCH_LOCAL,	    /* writing here failed (disk full...): not the source's fault */
};

struct dg_fetch_result {
	enum dg_fetch_error error;
	int64_t content_len;
	int64_t framed_len;
	char real_md5[33];
	long http_status;
	int64_t elapsed_us;
};

struct dg_fetcher;

/* A fetcher writing to fd (the data file). bucket (may be NULL) paces every byte; stop is
 * polled so a transfer ends soon after it is set. */
struct dg_fetcher *dg_fetcher_new(int fd, struct df_bucket *bucket, const atomic_bool *stop);
/* Make the fetcher's current transfer (if any) end as stopped (DG_FETCH_STOPPED), like stop
 * but for this fetcher alone, until dg_fetcher_uncancel. Thread-safe (an atomic flag). */
void dg_fetcher_cancel(struct dg_fetcher *f);
void dg_fetcher_uncancel(struct dg_fetcher *f);
void dg_fetcher_free(struct dg_fetcher *f);
/* The fetcher's easy handle, for control calls between pieces. */
void *dg_fetcher_curl(struct dg_fetcher *f);

/* Fetch piece t; expect_content is its content length when the file length is known (-1
 * otherwise). Returns 0 when the piece is verified and written, else -errno with
 * res->error and the reason in err. */
int dg_fetch_piece(struct dg_fetcher *f, const struct dg_piece_task *t, int64_t expect_content,
		   struct dg_fetch_result *res, char *err, size_t errsz);

#endif

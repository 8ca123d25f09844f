/* One request forwarded to an upstream server, its answer streamed back: libcurl's multi
 * interface driven by the calling thread (the client connection's own thread), so the
 * body flows at the client's pace: while the client reads slowly the transfer is paused,
 * and nothing is buffered beyond ~1 MiB.
 *
 * A struct dd_fwd belongs to one thread at a time (no locking inside). curl_global_init
 * must have run in main. */
#ifndef DD_FORWARD_H
#define DD_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dd_fwd_req {
	const char *method;	    /* GET when NULL */
	const char *url;
	const char *const *headers; /* "K: V" lines, NULL-terminated, sent as they are */
	const void *body;	    /* request body (POST, PUT, PATCH), or NULL */
	size_t body_len;
	bool insecure;		    /* do not verify the upstream's TLS certificate */
	const char *cacerts;	    /* CA PEM file(s), ',' separated (first used), or NULL */
	int64_t timeout_ms;	    /* to connect and to get the answer's headers; and the
				     * longest silence while reading the body */
};

struct dd_fwd;

/* Send the request and wait for the answer's status and headers (redirects are not
 * followed: they are the client's business). Returns 0, or -ETIMEDOUT / -ECONNREFUSED /
 * -EIO with the reason in err. */
int dd_fwd_open(const struct dd_fwd_req *req, struct dd_fwd **fwd_r, char *err, size_t errsz);

long dd_fwd_status(const struct dd_fwd *f);
/* The answer's Content-Length, -1 when it has none. */
int64_t dd_fwd_length(const struct dd_fwd *f);
/* The answer's headers in order, repeated ones repeated: i < dd_fwd_header_count. */
size_t dd_fwd_header_count(const struct dd_fwd *f);
const char *dd_fwd_header_at(const struct dd_fwd *f, size_t i, const char **value_r);
/* The first value of a header (case-insensitive name), or NULL. Borrowed from f. */
const char *dd_fwd_header(const struct dd_fwd *f, const char *name);

/* Read up to max bytes of the body, waiting for them. Returns the count, 0 at the end,
 * or -errno (upstream error, or silence longer than the timeout). */
ssize_t dd_fwd_read(struct dd_fwd *f, char *buf, size_t max);

/* Skip n bytes of the body (for a resumed download the upstream answered from 0).
 * Returns 0 or -errno (-EIO when the body ends first). */
int dd_fwd_skip(struct dd_fwd *f, int64_t n);

void dd_fwd_free(struct dd_fwd *f);

#endif

/* One client's view of a blob: the body of a blob response, read from a shared P2P
 * download as its leading bytes become final, hashed on the way out. The last byte is held
 * back until the sha256 of everything matches the digest of the URL; a mismatch ends the
 * response with an error (the client sees a broken transfer, never a wrong layer). When
 * the P2P download fails or stalls, the stream continues from the registry directly (a
 * Range request from where it stopped, with the client's own headers) if fallback is on.
 *
 * A struct dd_stream belongs to one thread at a time (the client connection's). */
#ifndef DD_STREAM_H
#define DD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "blob.h"
#include "stats.h"

struct dd_stream_opts {
	struct dd_blob *blob;	     /* its reference passes to the stream */
	const char *digest;	     /* 64 hex, or NULL: nothing to verify but the length */
	int64_t length;		     /* expected length, -1 unknown */
	const char *url;	     /* the blob at the registry, for the fallback */
	const char *const *headers;  /* the client's headers for the fallback (copied) */
	bool fallback;
	int64_t stall_ms;	     /* no P2P progress this long: failed */
	int64_t timeout_ms;	     /* for the fallback's upstream */
	bool insecure;
	const char *cacerts;
	struct dd_stats *stats;
	atomic_bool *stopping;	     /* the daemon is stopping: give up (may be NULL) */
};

struct dd_stream;

struct dd_stream *dd_stream_new(const struct dd_stream_opts *o);
/* The next bytes of the body: the count, 0 at the (verified) end, or -errno: the response
 * must be aborted. Blocks until bytes are available. */
ssize_t dd_stream_read(struct dd_stream *s, char *buf, size_t max);
void dd_stream_free(struct dd_stream *s);

#endif

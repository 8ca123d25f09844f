/* Shared P2P downloads of image blobs, keyed by digest: the first request for a blob
 * starts a download with the dfget engine (dg_download) on a thread of its own; requests
 * for the same blob while it runs, or for a while after it finished (blob_keep), join it
 * instead of starting another. Readers (stream.h) follow a download's in-order progress:
 * the engine's callback publishes how many leading bytes of which file are final, and the
 * file itself as an open descriptor, which readers dup() (the engine may unlink or replace
 * the file it writes; an open descriptor stays valid).
 *
 * Locking: the registry's lock guards the map and reference counts; each blob's lock
 * guards its progress fields (and its condition variable announces changes). Neither is
 * held while calling the engine, libcurl or MHD; the engine's callback takes only the
 * blob's lock. All functions are thread-safe. */
#ifndef DD_BLOB_H
#define DD_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct dd_blob_cfg {
	const char *nodes;
	const char *home;
	const char *localrepo;	/* outputs go here */
	const char *dfget;	/* for the uploader; NULL = none (the cdn pattern) */
	const char *callsystem;
	const char *ip;		/* NULL = learn */
	uint16_t peer_port;
	int64_t ratelimit;	/* per download and host-wide; 0 = none */
	int64_t alive_ms, expire_ms;
	int64_t keep_ms;	/* a finished blob stays this long for later clients */
	bool verbose;
};

enum dd_blob_state { DD_BLOB_RUNNING, DD_BLOB_DONE, DD_BLOB_FAILED };

struct dd_blobs;
struct dd_blob;

/* cfg's strings must outlive the registry. Returns NULL with err when localrepo cannot be
 * made. */
struct dd_blobs *dd_blobs_new(const struct dd_blob_cfg *cfg, struct dd_stats *stats,
			      char *err, size_t errsz);
/* Forget finished blobs older than keep_ms (their files go with their last reader).
 * dd_blobs_get does it too; call it now and then so that an idle daemon frees disk. */
void dd_blobs_expire(struct dd_blobs *b);
/* Make running downloads give up soon (shutting down). */
void dd_blobs_cancel(struct dd_blobs *b);
/* Cancel running downloads, wait for their threads (bounded), remove the outputs. Call
 * once no reader is left. */
void dd_blobs_free(struct dd_blobs *b);

/* The blob for key (the digest, or a hash of the URL when it names none): a running or
 * recently finished download, or a new one of url with the task headers ("K: V",
 * NULL-terminated: the requester's Authorization travels with the task). sha256 (NULL =
 * none) is what the engine verifies the whole file against; insecure and cacerts (may be
 * NULL) how the supernode is to check the source's TLS certificate. Returns it with a
 * reference for the caller (dd_blob_put); *joined_r tells whether it existed. */
struct dd_blob *dd_blobs_get(struct dd_blobs *b, const char *key, const char *sha256,
			     const char *url, const char *const *headers, bool insecure,
			     const char *cacerts, bool *joined_r);
void dd_blob_put(struct dd_blob *blob);

/* What a reader sees. */
struct dd_blob_view {
	unsigned version;	/* changes with every update */
	enum dd_blob_state state;
	int64_t total;		/* -1 while unknown */
	int64_t in_order;	/* leading bytes of the current file that are final */
	unsigned gen;		/* which file */
	int fd;			/* a dup of the current file when gen differs from the
				 * caller's, else -1; the caller closes it */
	int64_t idle_ms;	/* since the last progress of the download */
	char err[256];		/* for DD_BLOB_FAILED */
};

/* Wait until the blob's version differs from have_version or timeout_ms passed, then
 * fill v_r. have_gen is the file generation the caller holds (0 = none). */
void dd_blob_wait(struct dd_blob *blob, unsigned have_version, unsigned have_gen,
		  int64_t timeout_ms, struct dd_blob_view *v_r);

#endif

/* The dfget download engine (libdfget.a): one call downloads one URL to one file, through
 * the Dragonfly P2P network or directly from the source, and verifies it.
 *
 * Built to run in-process in other programs too (dfdaemon runs several downloads at once):
 * no global mutable state, no exit() or printing on errors, progress through a callback.
 * dg_download() is thread-safe for distinct requests. Before the first call the program must
 * have called curl_global_init() (once, in main, before any thread). Logging goes through
 * the process-wide logger (log.h).
 *
 * What a download does (pattern p2p):
 *   1. makes sure this host's uploader (`dfget server`, one per work home) runs, starting it
 *      under a file lock when it does not, and registers the download's data file with it;
 *   2. registers with a supernode of the node list (weighted choice, failover to the next),
 *      pulls piece tasks and fetches pieces with worker threads from peers and the
 *      supernode, verifying each piece's framing and md5 and writing it in place;
 *   3. verifies the whole file (the supernode's md5, the expected md5, and the sha256 a URL
 *      names with "sha256:<hex>"), then puts it at the output path atomically.
 * When P2P cannot finish it downloads from the source itself, unless notbs. A failed
 * download leaves nothing at the output path. */
#ifndef DG_DOWNLOAD_H
#define DG_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dg_pattern {
	DG_PATTERN_P2P,	   /* fetch from peers and the supernode, serve to peers (default) */
	DG_PATTERN_CDN,	   /* fetch from the supernode and peers, never serve (port 0) */
	DG_PATTERN_SOURCE, /* no supernode: straight from the source */
};

/* Parse "p2p", "cdn", "source" (any case). */
bool dg_pattern_parse(const char *s, enum dg_pattern *p_r);
const char *dg_pattern_name(enum dg_pattern p);

struct dg_progress {
	int64_t total;		/* source length; -1 while unknown */
	int64_t done;		/* bytes written and verified, in any order */
	int64_t in_order;	/* the first in_order bytes of data_path are final (verified
				 * per piece, or written in order from the source) */
	int64_t from_peers;	/* bytes of verified pieces, by where they came from */
	int64_t from_supernode;
	int64_t from_source;
	int64_t elapsed_us;
	const char *data_path;	/* the file being written (borrowed, valid in the callback);
				 * it moves to the output path only at the end */
	bool back_source;	/* now downloading straight from the source */
	bool finished;		/* the last call, after the file is verified */
};

/* Called from the thread that called dg_download, at most every ~100 ms and once at the
 * end. Return non-zero to cancel the download (it fails with "cancelled"). */
typedef int (*dg_progress_fn)(const struct dg_progress *p, void *arg);

struct dg_request {
	const char *url;	     /* required: http(s) */
	const char *output;	     /* required: the final path */
	const char *const *headers;  /* NULL-terminated "K: V" for the source, or NULL */
	const char *md5;	     /* expected md5 of the file (hex), or NULL */
	const char *identifier;	     /* task identity when no md5, or NULL */
	const char *sha256;	     /* expected sha256; NULL = the one the URL names, if any */
	const char *filter;	     /* query keys left out of the task URL ("a&b") */
	const char *callsystem;
	enum dg_pattern pattern;
	const char *nodes;	     /* "host[:port][=weight],..." (not for source) */
	int64_t local_limit;	     /* bytes/s for this download, 0 = unlimited */
	int64_t total_limit;	     /* bytes/s for the whole host, 0 = off */
	int64_t min_rate;	     /* bytes/s used to derive the timeout */
	int64_t timeout_ms;	     /* 0 = derived: length / min_rate + 10 s (5 min unknown) */
	const char *home;	     /* work home (data, meta, logs) */
	bool notbs;		     /* never download from the source */
	bool insecure;		     /* do not verify the source's TLS certificate */
	const char *cacerts;	     /* PEM file(s) for the source, ',' separated, or NULL */
	bool dfdaemon;		     /* the download runs for dfdaemon */
	const char *ip;		     /* this host's address for peers; NULL = learn it */
	uint16_t port;		     /* uploader port when starting it; 0 = pick */
	int64_t alive_ms;	     /* passed to the uploader this call may start */
	int64_t expire_ms;
	unsigned workers;	     /* piece fetch threads (0 = 4) */
	const char *uploader_exe;    /* the dfget binary to start `dfget server` with; NULL:
				      * no uploader (pattern p2p then works like cdn) */
	bool verbose_uploader;	     /* start the uploader with --verbose */
	dg_progress_fn progress;
	void *progress_arg;
};

/* Defaults: pattern p2p, local_limit 20 MB/s, min_rate 64 KB/s, home ~/.small-dragonfly,
 * nodes 127.0.0.1:8002, alive 5 min, expire 3 min. */
void dg_request_init(struct dg_request *req);

struct dg_result {
	int exit_code;		/* DF_EXIT_* (also dg_download's return value) */
	int64_t length;		/* bytes of the file */
	int64_t from_peers;
	int64_t from_supernode;
	int64_t from_source;
	int64_t duration_us;
	bool back_source;	/* the file came from the source */
	char task_id[65];	/* "" when no supernode was involved */
	char node[300];		/* the supernode that served the task ("host:port") */
	char md5[33];		/* of the file */
};

/* Download req->url to req->output. Returns 0 (DF_EXIT_OK) or an exit code of protocol.md:
 * DF_EXIT_USAGE (bad request or URL), DF_EXIT_PREPARE (work home, output directory, free
 * space), DF_EXIT_REGISTER (the supernode refused: authentication), DF_EXIT_DOWNLOAD; err
 * then says what went wrong and what to do. result_r may be NULL. */
int dg_download(const struct dg_request *req, struct dg_result *result_r, char *err,
		size_t errsz);

#endif

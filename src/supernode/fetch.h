/* fetch: one task's content from its source into the framed cache file, streaming:
 * content is cut into pieces, each framed, written in place with pwrite, its md5 recorded
 * and the piece published to the task (schedulable, servable) as soon as it is on disk.
 * Whole-file md5 and sha256 are computed on the way; the meta file is kept current (at
 * most once a second) so a restart can resume.
 *
 * Resume: pieces of an unfinished cache that verify on disk are kept; the request asks for
 * the rest with a Range guarded by If-Range. Those pieces are published only once the
 * source confirmed (206) that they are still current. When the source sends the whole
 * content instead (200), it is read from the start; a piece already published must then
 * come out identical, or the fetch fails (the source changed under us).
 * Network errors are retried (three attempts) the same way.
 *
 * Runs on the task's CDN job thread; takes the task lock only to publish pieces.
 */
#ifndef SN_FETCH_H
#define SN_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "source.h"

struct sn_ctx;
struct sn_task;
struct sn_meta;

struct sn_fetch_params {
	struct sn_ctx *ctx;
	struct sn_task *t;
	struct sn_source_req req; /* url, headers, TLS, timeouts of the task */
	int64_t src_len;	  /* from the probe; -1 unknown */
	int32_t piece_size;
	const struct sn_meta *resume; /* an unfinished cache of the same content, or NULL */
	const char *etag;	      /* the source's validators (from the probe), or NULL */
	const char *last_modified;
	bool task_range; /* the task has its own Range header: no resuming */
};

struct sn_fetch_result {
	int code;	/* protocol code on failure */
	char msg[256];	/* why it failed */
	bool discard;	/* the cache file is useless: delete it */
	int64_t src_len; /* content length */
	int64_t npieces;
	char md5[33];
	char sha256[65];
};

/* Returns 0 when the whole content is cached (result filled), -ECANCELED when the
 * supernode is stopping, or another -errno with result->code and msg. */
int sn_fetch_run(const struct sn_fetch_params *p, struct sn_fetch_result *result);

/* Read piece n of a framed cache file and compare its md5 with want. Returns 0 when it
 * matches, -EBADMSG when not, -errno when it cannot be read. Thread-safe. */
int sn_fetch_check_piece(const char *path, int32_t piece_size, int64_t framed_len, int64_t n,
			 const char *want);

#endif

/* meta: the JSON file beside each cached task file (<home>/repo/download/<id[0:3]>/<id>.meta):
 * what the cache holds (url, geometry, piece md5s of the pieces complete from the start,
 * whole-file digests, the source's validators, finished). Read at start of a task to reuse
 * or resume the cache; written by the CDN fetch. Pure functions plus file I/O; no shared
 * state. */
#ifndef SN_META_H
#define SN_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_meta {
	char *task_id;
	char *url;	/* the raw URL of the registration that started the fetch */
	char *task_url;
	int64_t source_length; /* -1: unknown (until finished) */
	int32_t piece_size;
	int64_t npieces;       /* piece md5s recorded: pieces 0..npieces-1 are complete */
	char (*piece_md5)[33]; /* md5 of each framed piece */
	char md5[33];	       /* whole content, when finished */
	char sha256[65];
	char *etag;	     /* validators the source sent, or NULL */
	char *last_modified;
	bool finished;
	int64_t last_access_ms; /* wall clock of the last use (for cache GC) */
};

void sn_meta_cleanup(struct sn_meta *m);
/* The caller's JSON text. */
char *sn_meta_to_json(const struct sn_meta *m);
/* Parse and check a meta text. Returns 0 or -EINVAL with the reason in err. */
int sn_meta_from_json(const char *text, struct sn_meta *m_r, char *err, size_t errsz);
/* Atomic write (temporary file, fsync, rename). Returns 0 or -errno. */
int sn_meta_write(const char *path, const struct sn_meta *m);
/* Returns 0, -ENOENT, or -EINVAL (unreadable or damaged: err says why). */
int sn_meta_read(const char *path, struct sn_meta *m_r, char *err, size_t errsz);

#endif

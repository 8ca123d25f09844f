/* Downloading straight from the source (pattern source, or after P2P failed): one GET with
 * the user's headers and TLS options (--cacerts, --insecure), redirects followed, paced by
 * the download's bucket, streamed in order into a temporary file beside the output while
 * its md5 (and sha256 when the URL names one) is computed. Runs on the calling thread. */
#ifndef DG_BACKSOURCE_H
#define DG_BACKSOURCE_H

#include <stddef.h>

#include "job.h"

/* Download into tmp_path (created; the caller removes it on failure). Returns 0 with
 * job->md5 and job->total set and the digests checked, -ENOSPC (not enough room, err says
 * where), -ECANCELED, or another -errno, with the reason in err. */
int dg_backsource_run(struct dg_job *job, const char *tmp_path, char *err, size_t errsz);

#endif

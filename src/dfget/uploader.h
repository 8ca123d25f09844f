/* The uploader, `dfget server`: one per host (per work home). It serves the pieces this host
 * holds to other peers (re-framed, at /peer/file/<taskFileName>), including pieces of
 * downloads still in progress (only those the piece map marks complete), and owns the
 * host-wide token bucket: /rate divides --totallimit among the running downloads, and every
 * upload is paced by the same total. Local endpoints (/check, /rate, /client/finish) answer
 * only loopback clients. Any name that is not a registered task file is refused: no paths,
 * no traversal, no symlinks (files are opened relative to the data directory with
 * O_NOFOLLOW).
 *
 * After alive_ms without any request it tells the supernode service/down for each finished
 * task, deletes their files and exits; finished files unused for expire_ms are deleted
 * (and reported down) earlier. Runs on the calling thread plus libmicrohttpd's pool. */
#ifndef DG_UPLOADER_H
#define DG_UPLOADER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct dg_uploader_opts {
	const char *home;
	uint16_t port; /* 0 = a free one in 15000-65000 */
	int64_t alive_ms;
	int64_t expire_ms;
	unsigned threads; /* 0 = 8 */
	volatile sig_atomic_t *reopen_log; /* set (by a SIGHUP handler): reopen the log file */
};

/* Run until idle for alive_ms or until *quit becomes non-zero (a signal handler sets it).
 * Writes <home>/meta/host.meta when listening and clears it on the way out. Returns 0, or
 * -errno with the reason in err (another uploader runs for this home, no port, ...). */
int dg_uploader_run(const struct dg_uploader_opts *o, volatile sig_atomic_t *quit, char *err,
		    size_t errsz);

/* The headers of a piece request (Range "bytes=a-b", pieceNum, pieceSize; each may be
 * NULL): 0 with the piece number, piece size and content bytes wanted, or 400 with why
 * (a static string). Pure; thread-safe. */
unsigned dg_upload_piece_params(const char *range, const char *num, const char *size,
				int64_t *num_r, int64_t *size_r, int64_t *want_r,
				const char **why);

#endif

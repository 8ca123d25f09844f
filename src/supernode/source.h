/* source: HTTP(S) requests to a task's source over libcurl: the probe that learns the
 * length (HEAD, or a one-byte ranged GET when HEAD is refused), optionally conditional on
 * the cached copy's validators, and the streaming GET of the content, optionally resumed
 * with a Range (guarded by If-Range). Also the mapping of source failures to protocol codes.
 *
 * Each call uses its own easy handle; no shared state: thread-safe (curl_global_init must
 * have run in main).
 */
#ifndef SN_SOURCE_H
#define SN_SOURCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_source_req {
	const char *url;
	const char *const *headers; /* the task's "K: V" lines (may hold its Range) */
	bool insecure;
	const char *ca_pem; /* PEM text of trusted CAs, or NULL for the system's */
	size_t ca_len;
	const char *ca_file; /* where to write ca_pem when curl cannot take it from memory */
	long connect_timeout_ms;
	long total_timeout_ms; /* 0: none (a fetch); the probe's whole budget */
	long stall_timeout_ms; /* abort after this long without data; 0: never */
	const char *if_none_match;     /* conditional probe, or NULL */
	const char *if_modified_since; /* conditional probe, or NULL */
	const char *if_range;	       /* resume guard, or NULL */
	int64_t range_from;	       /* >= 0: ask for the bytes from here on */
	atomic_bool *cancel;	       /* when it turns true, the request ends (-ECANCELED) */
};

struct sn_source_info {
	long status;
	int64_t length;	     /* total length of the resource, -1 unknown */
	int64_t body_length; /* Content-Length of this answer, -1 unknown */
	int64_t range_start; /* of a 206 answer */
	char *etag;	     /* heap or NULL */
	char *last_modified; /* heap or NULL */
};

void sn_source_info_cleanup(struct sn_source_info *info);

/* Learn status, length and validators. Returns 0 when an HTTP answer came (whatever its
 * status), else -errno with the reason in err. */
int sn_source_probe(const struct sn_source_req *req, struct sn_source_info *info_r, char *err,
		    size_t errsz);

/* The body callback: called once with data == NULL when the headers are complete (info
 * filled), then with each chunk. Return 0 to go on, -errno to abort. */
typedef int (*sn_source_body_fn)(void *user, const struct sn_source_info *info,
				 const char *data, size_t len);

/* GET the content, streaming it to fn. Returns 0 when the transfer ended normally, the
 * callback's -errno when it aborted, or another -errno with the reason in err. */
int sn_source_get(const struct sn_source_req *req, sn_source_body_fn fn, void *user,
		  struct sn_source_info *info_r, char *err, size_t errsz);

/* The protocol code for a failed probe or fetch: 607 not found or unreachable, 608 needs
 * auth, 610 other source errors. rc is the call's result, status the HTTP status. */
int sn_source_code(int rc, long status);

#endif

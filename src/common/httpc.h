/* HTTP client helpers over libcurl, for short control-plane calls (register, pull, report,
 * ping) and as the base of every easy handle the binaries create.
 *
 * curl_global_init() must have run in main() before any thread; after that every function
 * is thread-safe, as long as each CURL handle is used by one thread at a time. */
#ifndef DF_HTTPC_H
#define DF_HTTPC_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A new easy handle with the options every handle here needs: no signals (threads), TCP
 * keep-alive, TCP_NODELAY, a User-Agent, no redirects unless the caller asks. Aborts on
 * out-of-memory. */
CURL *df_curl_new(void);

/* Append "K: V" lines (NULL-terminated array, may be NULL) to a header list. Returns the
 * list (the caller's; curl_slist_free_all). */
struct curl_slist *df_curl_headers(struct curl_slist *list, const char *const *headers);

struct df_http_request {
	const char *method;	     /* "GET" when NULL */
	const char *url;
	const char *const *headers;  /* NULL-terminated "K: V", or NULL */
	const void *body;	     /* for POST/PUT */
	size_t body_len;
	const char *content_type;    /* of body */
	long timeout_ms;	     /* whole request; 0 = none */
	long connect_timeout_ms;     /* 0 = curl's default */
	size_t max_body;	     /* larger responses fail with -EFBIG; 0 = 16 MiB */
};

struct df_http_response {
	long status;
	char *body; /* NUL-terminated; the caller's, freed by df_http_response_cleanup */
	size_t len;
};

/* Perform req on handle (reset first; NULL = a temporary handle). Returns 0 when an HTTP
 * answer arrived, whatever its status; -ETIMEDOUT, -ECONNREFUSED, -EFBIG or -EIO with the
 * reason in err otherwise. */
int df_http_do(CURL *handle, const struct df_http_request *req,
	       struct df_http_response *resp_r, char *err, size_t errsz);
void df_http_response_cleanup(struct df_http_response *resp);

/* Percent-encode s for a query string (the caller's). */
char *df_url_escape(const char *s);
/* Decode %XX and '+' in place. Returns false on a malformed escape or an embedded NUL. */
bool df_url_unescape_inplace(char *s);

/* Map a libcurl result to -errno. */
int df_curl_errno(CURLcode code);

#endif

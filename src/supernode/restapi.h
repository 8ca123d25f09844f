/* restapi: the operators' REST API on the API port (and the HTTPS port): /api/v1/summary,
 * /api/v1/history, /api/v1/peers[/{id}], /api/v1/tasks[/{id}], /api/v1/preheats[/{id}]
 * and the legacy /preheats[/{id}] (docs/openapi.yaml). JSON everywhere; errors are
 * {"code":<HTTP status>,"message":"..."}.
 *
 * Security: when api-token is set, every call that changes something (any method but GET
 * and HEAD) needs "Authorization: Bearer <token>" (401 otherwise); when HTTPS is set up,
 * such calls are refused on the plain port (403) so the token never travels in clear.
 * Reads stay open (the status page uses them); the peer protocol is not affected.
 *
 * Handlers run on the API daemons' threads; they read the views of fleet.h and preheat.h
 * (no lock of their own). Thread-safe.
 */
#ifndef SN_RESTAPI_H
#define SN_RESTAPI_H

#include <microhttpd.h>
#include <stdbool.h>

#include "httpd.h"
#include "metrics.h"

struct sn_ctx;

/* Request bodies of the REST API are refused (413) beyond this. */
#define SN_RESTAPI_MAX_BODY (64u * 1024)

/* Is url one of the REST API's paths? Sets the handler (for metrics). */
bool sn_restapi_match(const char *url, enum sn_handler *h_r);
/* Answer a request whose url sn_restapi_match accepted (its body complete). */
enum MHD_Result sn_restapi_handle(struct sn_ctx *ctx, struct MHD_Connection *con,
				  enum sn_handler h, const char *url, const char *method,
				  struct df_httpd_request *req);

/* Does auth (an Authorization header, may be NULL) carry the bearer token? Compares in
 * constant time. Pure. */
bool sn_restapi_token_ok(const char *token, const char *auth);
/* Parse pageNum (0-based) and pageSize (0 = all) from strings (NULL = absent); the page
 * of n items is [*from_r, *to_r). Returns 0 or -EINVAL. Pure. */
int sn_restapi_page(const char *num, const char *size, size_t n, size_t *from_r,
		    size_t *to_r);

#endif

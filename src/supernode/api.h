/* api: the API port's request router (protocol.md "Supernode API"): the legacy peer API
 * (peerapi.h), /_ping, /version, /metrics (metrics.h), the REST API under /api/v1 and
 * /preheats (restapi.h) and the status page at / (www.h); 404 for unknown paths, 405 for
 * a known path with another method, 413 for an oversized body. The same handler serves
 * the HTTPS port. Runs on the API daemons' threads. */
#ifndef SN_API_H
#define SN_API_H

#include <microhttpd.h>

/* The MHD access handler; cls is the struct sn_ctx. */
enum MHD_Result sn_api_handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls);

#endif

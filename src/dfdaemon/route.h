/* Where a request goes: dfdaemon's own endpoints (/_dfdaemon/...), the registry mirror
 * (origin-form requests: blob GETs through P2P, the rest forwarded unchanged), proxy mode
 * (absolute URLs, by the rules) and hijacked HTTPS (requests inside an intercepted
 * CONNECT, by the rules). Runs on the request's connection thread; thread-safe. */
#ifndef DD_ROUTE_H
#define DD_ROUTE_H

#include "server.h"

enum MHD_Result dd_route(struct dd_ctx *ctx, struct dd_request *rq);

#endif

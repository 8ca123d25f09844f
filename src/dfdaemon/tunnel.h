/* CONNECT: read the request head from a fresh connection, then either tunnel bytes to the
 * target (both ways, until either side closes or 10 minutes pass idle) or, for a hijacked
 * host, answer 200 and hand the connection to the HTTPS hijack daemon, which completes
 * the client's TLS handshake with a minted certificate and serves the requests inside by
 * the proxy rules. Runs on the connection's own thread; thread-safe. */
#ifndef DD_TUNNEL_H
#define DD_TUNNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct dd_ctx;
struct dd_server;

/* Serve one CONNECT connection; closes fd (or passes it on). */
void dd_tunnel_serve(struct dd_ctx *ctx, struct dd_server *srv, int fd,
		     const struct sockaddr *sa, socklen_t salen);

/* Parse a CONNECT request head ("CONNECT host:port HTTP/1.1\r\n..."): target_r gets
 * "host:port" (at most targetsz - 1 characters). Returns 0 or -EINVAL. Pure. */
int dd_connect_parse(const char *head, size_t len, char *target_r, size_t targetsz);

#endif

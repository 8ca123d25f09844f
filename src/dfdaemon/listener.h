/* The plain-HTTP port: an accept thread, and for each connection a short-lived thread
 * that looks at the first bytes before anyone parses them (MSG_PEEK):
 *   a TLS handshake  -> an immediate "400, this port speaks plain HTTP" and close (clients
 *                       probing for HTTPS learn it at once instead of hanging);
 *   "CONNECT "       -> a tunnel, or an HTTPS hijack (tunnel.h), on that thread;
 *   anything else    -> handed to the plain MHD daemon.
 * A connection that sends nothing for 30 s is closed.
 *
 * Thread-safe; dd_listener_stop joins the accept thread (tunnels end on their own, as
 * their peers close or go idle). */
#ifndef DD_LISTENER_H
#define DD_LISTENER_H

#include <stddef.h>
#include <stdint.h>

struct dd_ctx;
struct dd_server;
struct dd_listener;

struct dd_listener *dd_listener_start(struct dd_ctx *ctx, struct dd_server *srv,
				      const char *addr, uint16_t port, uint16_t *port_r,
				      char *err, size_t errsz);
void dd_listener_stop(struct dd_listener *l);

/* How the first bytes of a connection look. */
enum dd_sniff { DD_SNIFF_MORE, DD_SNIFF_TLS, DD_SNIFF_CONNECT, DD_SNIFF_HTTP };
/* Classify the first len bytes (pure; for tests and fuzzing). */
enum dd_sniff dd_sniff(const char *buf, size_t len);

#endif

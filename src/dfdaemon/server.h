/* dfdaemon's HTTP side over libmicrohttpd: three daemons in thread-per-connection mode
 * (each response body may block its own thread while a blob's pieces arrive):
 *   plain  - fed by the listener (listener.h) with connections it sniffed as plain HTTP;
 *   hijack - HTTPS with certificates minted per host (SNI), fed by CONNECT tunnels to
 *            hijacked hosts;
 *   tls    - its own listening port when --certpem/--keypem are given.
 * Requests are counted against max_requests (503 beyond), bodies collected with a cap,
 * then routed (route.h). The reply helpers here turn an upstream answer or a blob stream
 * into an MHD response.
 *
 * Thread-safe: MHD calls the handlers on connection threads; the server's fields are
 * immutable after dd_server_start. */
#ifndef DD_SERVER_H
#define DD_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctx.h"
#include "forward.h"
#include "stream.h"

enum dd_origin { DD_FROM_PLAIN, DD_FROM_TLS, DD_FROM_HIJACK };

/* One client request, complete (headers and body). */
struct dd_request {
	struct MHD_Connection *con;
	enum dd_origin origin;
	const char *method;	/* borrowed from MHD */
	char *target;		/* the request target as sent: "/path?query" or an absolute URL */
	char *path;		/* target without the query, for absolute URLs too: "/v2/..." */
	char **headers;		/* the client's end-to-end headers "K: V", NULL-terminated */
	size_t nheaders;
	const char *host;	/* the Host header, or NULL (borrowed) */
	bool has_range;		/* the client sent Range */
	char *body;
	size_t body_len;
};

struct dd_server;

/* Start the daemons (and the listener). Returns the server with the plain port (and the
 * TLS port, 0 without TLS), or NULL with err. */
struct dd_server *dd_server_start(struct dd_ctx *ctx, uint16_t *port_r, uint16_t *tls_port_r,
				  char *err, size_t errsz);
void dd_server_stop(struct dd_server *srv);

/* Hand a connected socket to the plain or the hijack daemon (which then owns it). Returns
 * 0 or -errno (the socket is closed either way). */
int dd_server_add(struct dd_server *srv, enum dd_origin which, int fd,
		  const struct sockaddr *sa, socklen_t salen);

/* Replies. Each returns what the access handler returns. */
enum MHD_Result dd_reply_text(struct MHD_Connection *con, unsigned status, const char *text);
/* Stream an upstream answer (status, headers, body) to the client; takes fwd. */
enum MHD_Result dd_reply_forward(struct MHD_Connection *con, struct dd_fwd *fwd);
/* 200 with a blob body; takes stream. length -1 = unknown (chunked); the headers of the
 * registry's answer to HEAD (head, may be NULL) are copied. */
enum MHD_Result dd_reply_stream(struct MHD_Connection *con, struct dd_stream *stream,
				int64_t length, const struct dd_fwd *head, const char *digest);

#endif

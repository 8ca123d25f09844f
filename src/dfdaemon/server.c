/* The MHD side of dfdaemon (see server.h). Thread-per-connection daemons: handlers and
 * response callbacks run on the connection's own thread and may block it. The server's
 * fields are immutable once started; per-request state lives in MHD's con_cls. */
#include "config.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ca.h"
#include "fsutil.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"
#include "route.h"
#include "urlutil.h"
#include "xalloc.h"

#define MAX_BODY (32u << 20)
#define BLOCK (256u << 10)

struct daemon_ref {
	struct dd_server *srv;
	enum dd_origin origin;
};

struct dd_server {
	struct dd_ctx *ctx;
	struct daemon_ref refs[3];
	struct MHD_Daemon *plain, *hijack, *tls;
	struct dd_listener *listener;
	char *tls_cert, *tls_key; /* PEM text, alive as long as the TLS daemon */
};

/* Per request (con_cls). */
struct conn_req {
	struct dd_server *srv;
	char *body;
	size_t len;
	bool too_large;
	bool rejected;
	bool counted; /* in stats.active */
};

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt,
						       va_list ap)
{
	(void)cls;
	if (!df_log_enabled(DF_LOG_DEBUG))
		return;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	log_debug("httpd: %s", msg);
}

/* Keep the request target as the client sent it: no percent-decoding. */
static size_t no_unescape(void *cls, struct MHD_Connection *con, char *s)
{
	(void)cls;
	(void)con;
	return strlen(s);
}

enum MHD_Result dd_reply_text(struct MHD_Connection *con, unsigned status, const char *text)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	enum MHD_Result r = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static ssize_t fwd_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	ssize_t r = dd_fwd_read(cls, buf, max);
	return r > 0 ? r : r == 0 ? MHD_CONTENT_READER_END_OF_STREAM
				  : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void fwd_done(void *cls)
{
	dd_fwd_free(cls);
}

/* Copy an upstream answer's headers, except hop-by-hop ones and Date (MHD sets it). */
static void copy_headers(struct MHD_Response *resp, const struct dd_fwd *f)
{
	for (size_t i = 0; f && i < dd_fwd_header_count(f); i++) {
		const char *value, *name = dd_fwd_header_at(f, i, &value);
		if (dd_hop_header(name) || strcasecmp(name, "Date") == 0)
			continue;
		MHD_add_response_header(resp, name, value);
	}
}

enum MHD_Result dd_reply_forward(struct MHD_Connection *con, struct dd_fwd *fwd)
{
	int64_t len = dd_fwd_length(fwd);
	long status = dd_fwd_status(fwd);
	struct MHD_Response *resp = MHD_create_response_from_callback(
		len >= 0 ? (uint64_t)len : MHD_SIZE_UNKNOWN, BLOCK, fwd_reader, fwd, fwd_done);
	if (!resp) {
		dd_fwd_free(fwd);
		return MHD_NO;
	}
	copy_headers(resp, fwd);
	enum MHD_Result r = MHD_queue_response(con, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return r;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	ssize_t r = dd_stream_read(cls, buf, max);
	return r > 0 ? r : r == 0 ? MHD_CONTENT_READER_END_OF_STREAM
				  : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_done(void *cls)
{
	dd_stream_free(cls);
}

enum MHD_Result dd_reply_stream(struct MHD_Connection *con, struct dd_stream *stream,
				int64_t length, const struct dd_fwd *head, const char *digest)
{
	struct MHD_Response *resp = MHD_create_response_from_callback(
		length >= 0 ? (uint64_t)length : MHD_SIZE_UNKNOWN, BLOCK, stream_reader, stream,
		stream_done);
	if (!resp) {
		dd_stream_free(stream);
		return MHD_NO;
	}
	copy_headers(resp, head);
	if (!head || !dd_fwd_header(head, "Content-Type"))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/octet-stream");
	if (digest && (!head || !dd_fwd_header(head, "Docker-Content-Digest"))) {
		char v[80];
		snprintf(v, sizeof(v), "sha256:%s", digest);
		MHD_add_response_header(resp, "Docker-Content-Digest", v);
	}
	enum MHD_Result r = MHD_queue_response(con, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

struct collect {
	struct dd_request *rq;
	char *query;
	size_t qlen;
};

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	struct dd_request *rq = cls;
	if (strcasecmp(key, "Host") == 0)
		rq->host = value;
	if (strcasecmp(key, "Range") == 0)
		rq->has_range = true;
	if (dd_hop_header(key))
		return MHD_YES;
	rq->headers = xrealloc(rq->headers, (rq->nheaders + 2) * sizeof(char *));
	rq->headers[rq->nheaders++] = xasprintf("%s: %s", key, value ? value : "");
	rq->headers[rq->nheaders] = NULL;
	return MHD_YES;
}

/* Rebuild the query string from MHD's (not unescaped) arguments, in order. */
static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			      const char *value)
{
	(void)kind;
	struct collect *c = cls;
	char *part = value ? xasprintf("%s%s=%s", c->qlen ? "&" : "", key, value)
			   : xasprintf("%s%s", c->qlen ? "&" : "", key);
	size_t n = strlen(part);
	c->query = xrealloc(c->query, c->qlen + n + 1);
	memcpy(c->query + c->qlen, part, n + 1);
	c->qlen += n;
	free(part);
	return MHD_YES;
}

static void build_request(struct dd_request *rq, struct MHD_Connection *con, const char *url,
			  const char *method, enum dd_origin origin, struct conn_req *cr)
{
	memset(rq, 0, sizeof(*rq));
	rq->con = con;
	rq->origin = origin;
	rq->method = method;
	rq->headers = xcalloc(1, sizeof(char *));
	MHD_get_connection_values(con, MHD_HEADER_KIND, on_header, rq);
	struct collect c = { rq, NULL, 0 };
	MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, on_arg, &c);
	rq->target = c.qlen ? xasprintf("%s?%s", url, c.query) : xstrdup(url);
	free(c.query);
	struct dd_url u;
	if (dd_url_split(url, &u) == 0)
		rq->path = xstrdup(*u.rest ? u.rest : "/");
	else
		rq->path = xstrdup(url);
	rq->body = cr->body;
	rq->body_len = cr->len;
}

static void free_request(struct dd_request *rq)
{
	for (size_t i = 0; i < rq->nheaders; i++)
		free(rq->headers[i]);
	free(rq->headers);
	free(rq->target);
	free(rq->path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	struct daemon_ref *ref = cls;
	struct dd_ctx *ctx = ref->srv->ctx;
	struct conn_req *cr = *con_cls;
	if (!cr) {
		cr = xcalloc(1, sizeof(*cr));
		cr->srv = ref->srv;
		*con_cls = cr;
		/* dfdaemon's own endpoints are cheap and must answer when it is busy. */
		cr->counted = strncmp(url, "/_dfdaemon/", 11) != 0;
		if (cr->counted &&
		    atomic_fetch_add(&ctx->stats.active, 1) >= ctx->s->max_requests)
			cr->rejected = true;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (cr->too_large || cr->rejected || cr->len + n > MAX_BODY) {
			cr->too_large = !cr->rejected;
			return MHD_YES;
		}
		cr->body = xrealloc(cr->body, cr->len + n + 1);
		memcpy(cr->body + cr->len, upload_data, n);
		cr->len += n;
		return MHD_YES;
	}
	atomic_fetch_add(&ctx->stats.requests, 1);
	if (cr->rejected) {
		atomic_fetch_add(&ctx->stats.rejected, 1);
		log_warn("%s %s: refused, %lld requests are being served (max_requests)", method,
			 url, (long long)ctx->s->max_requests);
		return dd_reply_text(con, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "dfdaemon: too many requests at once; retry soon\n");
	}
	if (cr->too_large)
		return dd_reply_text(con, MHD_HTTP_CONTENT_TOO_LARGE,
				     "dfdaemon: request body too large\n");
	struct dd_request rq;
	build_request(&rq, con, url, method, ref->origin, cr);
	enum MHD_Result r = dd_route(ctx, &rq);
	free_request(&rq);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)con;
	(void)toe;
	struct dd_server *srv = cls;
	struct conn_req *cr = *con_cls;
	if (!cr)
		return;
	if (cr->counted)
		atomic_fetch_sub(&srv->ctx->stats.active, 1);
	free(cr->body);
	free(cr);
	*con_cls = NULL;
}

static struct MHD_Daemon *start_daemon(struct dd_server *srv, enum dd_origin origin,
				       unsigned flags, const struct MHD_OptionItem *extra,
				       size_t nextra)
{
	struct daemon_ref *ref = &srv->refs[origin];
	ref->srv = srv;
	ref->origin = origin;
	unsigned limit = (unsigned)srv->ctx->s->max_requests * 2 + 64;
	struct MHD_OptionItem items[16] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv },
		{ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 300, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, limit, NULL },
	};
	size_t n = 6;
	for (size_t i = 0; i < nextra && n < 15; i++)
		items[n++] = extra[i];
	items[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		 MHD_USE_ERROR_LOG | MHD_USE_ITC;
	df_httpd_install_panic_handler();
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, ref, MHD_OPTION_ARRAY, items,
				MHD_OPTION_END);
}

static int start_tls(struct dd_server *srv, uint16_t *port_r, char *err, size_t errsz)
{
	const struct dd_settings *s = srv->ctx->s;
	size_t len;
	int rc = df_read_file(s->certpem, 1 << 20, &srv->tls_cert, &len);
	if (rc == 0)
		rc = df_read_file(s->keypem, 1 << 20, &srv->tls_key, &len);
	if (rc < 0) {
		snprintf(err, errsz, "cannot read --certpem/--keypem (%s, %s): %s", s->certpem,
			 s->keypem, strerror(-rc));
		return rc;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)s->tls_port);
	inet_pton(AF_INET, s->listen, &sa.sin_addr);
	struct MHD_OptionItem extra[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, &sa },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key },
	};
	srv->tls = start_daemon(srv, DD_FROM_TLS, MHD_USE_TLS, extra, 3);
	if (!srv->tls) {
		snprintf(err, errsz,
			 "cannot serve HTTPS on %s:%lld (port in use, or the certificate and key "
			 "are not valid PEM?)",
			 s->listen, (long long)s->tls_port);
		return -EINVAL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->tls, MHD_DAEMON_INFO_BIND_PORT);
	*port_r = info ? info->port : (uint16_t)s->tls_port;
	return 0;
}

struct dd_server *dd_server_start(struct dd_ctx *ctx, uint16_t *port_r, uint16_t *tls_port_r,
				  char *err, size_t errsz)
{
	struct dd_server *srv = xcalloc(1, sizeof(*srv));
	srv->ctx = ctx;
	*tls_port_r = 0;
	srv->plain = start_daemon(srv, DD_FROM_PLAIN, MHD_USE_NO_LISTEN_SOCKET, NULL, 0);
	if (!srv->plain) {
		snprintf(err, errsz, "cannot start the HTTP server (libmicrohttpd)");
		goto fail;
	}
	if (ctx->ca) {
		dd_ca_set_default(ctx->ca);
		struct MHD_OptionItem extra[] = {
			{ MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)(uintptr_t)dd_ca_retrieve },
		};
		srv->hijack = start_daemon(srv, DD_FROM_HIJACK,
					   MHD_USE_NO_LISTEN_SOCKET | MHD_USE_TLS, extra, 1);
		if (!srv->hijack) {
			snprintf(err, errsz, "cannot start the HTTPS hijack server");
			goto fail;
		}
	}
	if (ctx->s->certpem && *ctx->s->certpem && start_tls(srv, tls_port_r, err, errsz) < 0)
		goto fail;
	srv->listener = dd_listener_start(ctx, srv, ctx->s->listen, (uint16_t)ctx->s->port,
					  port_r, err, errsz);
	if (!srv->listener)
		goto fail;
	return srv;
fail:
	dd_server_stop(srv);
	return NULL;
}

void dd_server_stop(struct dd_server *srv)
{
	if (!srv)
		return;
	dd_listener_stop(srv->listener);
	if (srv->tls)
		MHD_stop_daemon(srv->tls);
	if (srv->hijack)
		MHD_stop_daemon(srv->hijack);
	if (srv->plain)
		MHD_stop_daemon(srv->plain);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv);
}

int dd_server_add(struct dd_server *srv, enum dd_origin which, int fd,
		  const struct sockaddr *sa, socklen_t salen)
{
	struct MHD_Daemon *d = which == DD_FROM_HIJACK ? srv->hijack : srv->plain;
	if (!d) {
		close(fd);
		return -EINVAL;
	}
	if (MHD_add_connection(d, fd, sa, salen) != MHD_YES) {
		int e = errno;
		log_warn_errno(e, "cannot take a new connection");
		return e ? -e : -EIO;
	}
	return 0;
}

/* HTTP server helpers over libmicrohttpd, shared by the supernode's two ports, the dfget
 * uploader and dfdaemon: starting a thread-pool daemon with the limits every server here
 * wants, collecting request bodies with a size cap, and answering.
 *
 * Handlers run on MHD's pool threads; the helpers keep no shared state (thread-safe). */
#ifndef DF_HTTPD_H
#define DF_HTTPD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct df_httpd_options {
	const char *bind_addr;	     /* IPv4 literal, NULL = any */
	uint16_t port;		     /* 0 = pick a free port (read back into *port_r) */
	unsigned threads;	     /* pool size, >= 1 */
	unsigned connection_limit;   /* 0 = MHD's default */
	unsigned per_ip_limit;	     /* 0 = none */
	unsigned timeout_s;	     /* idle connection timeout, 0 = none */
	bool allow_suspend;	     /* handlers may MHD_suspend_connection */
	const char *tls_cert_pem;    /* PEM text (not a path): both set = HTTPS */
	const char *tls_key_pem;
	MHD_RequestCompletedCallback completed; /* NULL = df_httpd_request_completed */
	void *completed_cls;
};

/* MHD's panics (an internal error it cannot continue from, e.g. a socket it cannot close)
 * print to stderr and abort by default; this logs them as an ERROR line starting "FATAL:"
 * and then aborts. df_httpd_start installs it; idempotent. */
void df_httpd_install_panic_handler(void);
/* The callback it installs (public for its test). Does not return. */
void df_httpd_on_panic(void *cls, const char *file, unsigned int line, const char *reason)
	__attribute__((noreturn));

/* Start a daemon running handler. Returns it, with the bound port in *port_r, or NULL
 * with the reason in err (e.g. the port is taken). */
struct MHD_Daemon *df_httpd_start(const struct df_httpd_options *opts,
				  MHD_AccessHandlerCallback handler, void *cls,
				  uint16_t *port_r, char *err, size_t errsz);

/* Per-request state kept in MHD's con_cls by df_httpd_request_step. */
struct df_httpd_request {
	char *body; /* NUL-terminated, NULL when there was none */
	size_t body_len;
	bool too_large; /* the body went over the cap: answer 413 */
	int64_t start_us;
	int tag;    /* free for the handler (e.g. which route answered, for metrics); 0 */
	void *user; /* the handler's own state; user_free(user) at completion */
	void (*user_free)(void *user);
};

/* Call at the top of a handler. Returns the request once its body is complete (the handler
 * now answers), or NULL when MHD must call again (the handler returns MHD_YES). */
struct df_httpd_request *df_httpd_request_step(void **con_cls, const char *upload_data,
					       size_t *upload_data_size, size_t max_body);
/* The default completion callback: frees the state of df_httpd_request_step. */
void df_httpd_request_completed(void *cls, struct MHD_Connection *con, void **con_cls,
				enum MHD_RequestTerminationCode toe);
void df_httpd_request_free(struct df_httpd_request *req);

/* Answer with a copy of body. */
enum MHD_Result df_httpd_reply(struct MHD_Connection *con, unsigned status,
			       const char *content_type, const char *body, size_t len);
enum MHD_Result df_httpd_reply_text(struct MHD_Connection *con, unsigned status,
				    const char *text);
/* Answer with json, which this call frees. */
enum MHD_Result df_httpd_reply_json(struct MHD_Connection *con, unsigned status, cJSON *json);
/* {"code":code,"message":message} with HTTP status. */
enum MHD_Result df_httpd_reply_error(struct MHD_Connection *con, unsigned status, int code,
				     const char *message);

/* A query-string argument (borrowed from MHD), or NULL. */
const char *df_httpd_arg(struct MHD_Connection *con, const char *key);
/* A request header (borrowed from MHD), or NULL. */
const char *df_httpd_header(struct MHD_Connection *con, const char *name);
/* The client's IPv4/IPv6 address as text. */
void df_httpd_client_ip(struct MHD_Connection *con, char *buf, size_t bufsz);

#endif

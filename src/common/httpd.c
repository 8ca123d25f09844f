#include "config.h"
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt,
							  va_list ap)
{
	(void)cls;
	if (!df_log_enabled(DF_LOG_DEBUG))
		return;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	log_debug("httpd: %s", msg);
}

void df_httpd_on_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	(void)cls;
	log_error("FATAL: libmicrohttpd stopped the process (%s:%u): %s", file ? file : "?", line,
		  reason ? reason : "no reason given");
	abort(); /* the crash handler adds the backtrace */
}

void df_httpd_install_panic_handler(void)
{
	MHD_set_panic_func(df_httpd_on_panic, NULL);
}

struct MHD_Daemon *df_httpd_start(const struct df_httpd_options *opts,
				  MHD_AccessHandlerCallback handler, void *cls,
				  uint16_t *port_r, char *err, size_t errsz)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(opts->port);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (opts->bind_addr && *opts->bind_addr &&
	    inet_pton(AF_INET, opts->bind_addr, &sa.sin_addr) != 1) {
		snprintf(err, errsz, "bind address '%s' is not an IPv4 address", opts->bind_addr);
		return NULL;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_EPOLL;
	if (opts->allow_suspend)
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	bool tls = opts->tls_cert_pem && opts->tls_key_pem;
	if (tls)
		flags |= MHD_USE_TLS;

	struct MHD_OptionItem items[16];
	size_t n = 0;
	/* The logger first, so that MHD's complaints about later options reach it. */
	items[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
					      (intptr_t)mhd_logger, NULL };
	items[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &sa };
	items[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
					      opts->threads ? opts->threads : 1, NULL };
	items[n++] = (struct MHD_OptionItem){
		MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)(opts->completed ? opts->completed
									: df_httpd_request_completed),
		opts->completed_cls
	};
	if (opts->connection_limit)
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
						      opts->connection_limit, NULL };
	if (opts->per_ip_limit)
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
						      opts->per_ip_limit, NULL };
	if (opts->timeout_s)
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
						      opts->timeout_s, NULL };
	if (tls) {
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						      (void *)(uintptr_t)opts->tls_cert_pem };
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						      (void *)(uintptr_t)opts->tls_key_pem };
	}
	items[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	df_httpd_install_panic_handler();
	struct MHD_Daemon *d = MHD_start_daemon(flags, opts->port, NULL, NULL, handler, cls,
						MHD_OPTION_ARRAY, items, MHD_OPTION_END);
	if (!d) {
		snprintf(err, errsz, "cannot listen on %s:%u (is the port in use?%s)",
			 opts->bind_addr && *opts->bind_addr ? opts->bind_addr : "0.0.0.0",
			 opts->port, tls ? " are the TLS certificate and key valid?" : "");
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (port_r)
		*port_r = info ? info->port : opts->port;
	return d;
}

void df_httpd_request_free(struct df_httpd_request *req)
{
	if (!req)
		return;
	if (req->user_free)
		req->user_free(req->user);
	free(req->body);
	free(req);
}

void df_httpd_request_completed(void *cls, struct MHD_Connection *con, void **con_cls,
				enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con;
	(void)toe;
	df_httpd_request_free(*con_cls);
	*con_cls = NULL;
}

struct df_httpd_request *df_httpd_request_step(void **con_cls, const char *upload_data,
					       size_t *upload_data_size, size_t max_body)
{
	struct df_httpd_request *req = *con_cls;
	if (!req) {
		req = xcalloc(1, sizeof(*req));
		req->start_us = df_mono_us();
		*con_cls = req;
		return NULL;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (req->too_large || req->body_len + n > max_body) {
			/* Keep reading (and dropping) so the client sees our 413, not a reset. */
			req->too_large = true;
			free(req->body);
			req->body = NULL;
			req->body_len = 0;
			return NULL;
		}
		req->body = xrealloc(req->body, req->body_len + n + 1);
		memcpy(req->body + req->body_len, upload_data, n);
		req->body_len += n;
		req->body[req->body_len] = '\0';
		return NULL;
	}
	return req;
}

enum MHD_Result df_httpd_reply(struct MHD_Connection *con, unsigned status,
			       const char *content_type, const char *body, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	enum MHD_Result r = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result df_httpd_reply_text(struct MHD_Connection *con, unsigned status,
				    const char *text)
{
	return df_httpd_reply(con, status, "text/plain; charset=utf-8", text, strlen(text));
}

enum MHD_Result df_httpd_reply_json(struct MHD_Connection *con, unsigned status, cJSON *json)
{
	char *text = df_json_print(json);
	cJSON_Delete(json);
	size_t len = strlen(text);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	enum MHD_Result r = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result df_httpd_reply_error(struct MHD_Connection *con, unsigned status, int code,
				     const char *message)
{
	cJSON *j = df_json_object();
	df_json_add_int(j, "code", code);
	df_json_add_str(j, "message", message);
	return df_httpd_reply_json(con, status, j);
}

const char *df_httpd_arg(struct MHD_Connection *con, const char *key)
{
	return MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, key);
}

const char *df_httpd_header(struct MHD_Connection *con, const char *name)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

void df_httpd_client_ip(struct MHD_Connection *con, char *buf, size_t bufsz)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	buf[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
			  (socklen_t)bufsz);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  buf, (socklen_t)bufsz);
}

/* Request routing and the two ways of serving: forwarding and P2P (see route.h). Every
 * call runs on the client's connection thread and blocks it; nothing here is shared but
 * the context (read-only), the blob registry and the counters (which lock themselves). */
#include "config.h"
#include "route.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest.h"
#include "log.h"
#include "rules.h"
#include "urlutil.h"
#include "xalloc.h"

/* How to reach an upstream over TLS. */
struct tls_opts {
	bool insecure;
	const char *cacerts;
};

static enum MHD_Result bad_gateway(struct dd_request *rq, const char *url, const char *err)
{
	log_warn("%s %s: upstream failed: %s", rq->method, url, err);
	char *msg = xasprintf("dfdaemon: cannot reach the upstream: %s\n", err);
	enum MHD_Result r = dd_reply_text(rq->con, MHD_HTTP_BAD_GATEWAY, msg);
	free(msg);
	return r;
}

static enum MHD_Result forward(struct dd_ctx *ctx, struct dd_request *rq, const char *url,
			       const struct tls_opts *tls)
{
	struct dd_fwd_req fr = {
		.method = rq->method,
		.url = url,
		.headers = (const char *const *)rq->headers,
		.body = rq->body,
		.body_len = rq->body_len,
		.insecure = tls->insecure,
		.cacerts = tls->cacerts,
		.timeout_ms = ctx->s->upstream_timeout,
	};
	struct dd_fwd *f;
	char err[512];
	atomic_fetch_add(&ctx->stats.forwarded, 1);
	if (dd_fwd_open(&fr, &f, err, sizeof(err)) < 0)
		return bad_gateway(rq, url, err);
	log_debug("%s %s -> %ld", rq->method, url, dd_fwd_status(f));
	return dd_reply_forward(rq->con, f);
}

/* The client's headers that travel with the P2P task (NULL-terminated, borrowed). */
static const char **task_headers(const struct dd_request *rq)
{
	const char **v = xcalloc(rq->nheaders + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < rq->nheaders; i++) {
		const char *h = rq->headers[i];
		size_t nl = strcspn(h, ":");
		char name[128];
		if (nl >= sizeof(name))
			continue;
		memcpy(name, h, nl);
		name[nl] = '\0';
		if (dd_task_header(name))
			v[n++] = h;
	}
	return v;
}

/* GET through P2P: check the client's credentials with a HEAD at the upstream, then join
 * or start the shared download and stream it. digest NULL: the URL names none. */
static enum MHD_Result serve_p2p(struct dd_ctx *ctx, struct dd_request *rq, const char *url,
				 const char *digest, const struct tls_opts *tls)
{
	struct dd_fwd_req head_rq = {
		.method = "HEAD",
		.url = url,
		.headers = (const char *const *)rq->headers,
		.insecure = tls->insecure,
		.cacerts = tls->cacerts,
		.timeout_ms = ctx->s->upstream_timeout,
	};
	struct dd_fwd *head;
	char err[512];
	if (dd_fwd_open(&head_rq, &head, err, sizeof(err)) < 0)
		return bad_gateway(rq, url, err);
	long st = dd_fwd_status(head);
	if (st < 200 || st > 299) {
		/* Refused, missing or elsewhere: the client gets the upstream's own answer. */
		if (st == 401 || st == 403)
			atomic_fetch_add(&ctx->stats.auth_denied, 1);
		log_info("GET %s: the upstream answers HEAD with %ld: forwarding", url, st);
		dd_fwd_free(head);
		return forward(ctx, rq, url, tls);
	}
	char key[65];
	if (digest)
		snprintf(key, sizeof(key), "%s", digest);
	else
		df_sha256_hex(url, strlen(url), key);
	const char **th = task_headers(rq);
	bool joined;
	struct dd_blob *blob = dd_blobs_get(ctx->blobs, key, digest, url, th, tls->insecure,
					    tls->cacerts, &joined);
	free(th);
	atomic_fetch_add(&ctx->stats.blob_requests, 1);
	int64_t length = dd_fwd_length(head);
	struct dd_stream_opts so = {
		.blob = blob,
		.digest = digest,
		.length = length,
		.url = url,
		.headers = (const char *const *)rq->headers,
		.fallback = ctx->s->fallback,
		.stall_ms = ctx->s->stall_timeout,
		.timeout_ms = ctx->s->upstream_timeout,
		.insecure = tls->insecure,
		.cacerts = tls->cacerts,
		.stats = &ctx->stats,
		.stopping = &ctx->stopping,
	};
	struct dd_stream *stream = dd_stream_new(&so);
	log_info("GET %s: through P2P (%s, %" PRId64 " bytes)", url,
		 joined ? "joined a running download" : "new download", length);
	enum MHD_Result r = dd_reply_stream(rq->con, stream, length, head, digest);
	dd_fwd_free(head);
	return r;
}

static enum MHD_Result serve_local(struct dd_ctx *ctx, struct dd_request *rq)
{
	if (strcmp(rq->path, "/_dfdaemon/stats") == 0) {
		char *json = dd_stats_json(&ctx->stats);
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			strlen(json), json, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		enum MHD_Result r = MHD_queue_response(rq->con, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return r;
	}
	if (strcmp(rq->path, "/_dfdaemon/ping") == 0)
		return dd_reply_text(rq->con, MHD_HTTP_OK, "OK\n");
	return dd_reply_text(rq->con, MHD_HTTP_NOT_FOUND,
			     "dfdaemon: unknown endpoint (try /_dfdaemon/stats)\n");
}

static enum MHD_Result mirror(struct dd_ctx *ctx, struct dd_request *rq)
{
	const struct dd_settings *s = ctx->s;
	if (!s->registry || !*s->registry)
		return dd_reply_text(rq->con, MHD_HTTP_NOT_FOUND,
				     "dfdaemon: no registry configured (--registry); as a proxy "
				     "it takes absolute URLs\n");
	size_t blen = strlen(s->registry);
	while (blen > 0 && s->registry[blen - 1] == '/')
		blen--;
	char *url = xasprintf("%.*s%s", (int)blen, s->registry, rq->target);
	struct tls_opts tls = { s->registry_insecure, s->registry_cacerts };
	char digest[65];
	enum MHD_Result r;
	if (strcmp(rq->method, "GET") == 0 && !rq->has_range && dd_blob_digest(rq->path, digest))
		r = serve_p2p(ctx, rq, url, digest, &tls);
	else
		r = forward(ctx, rq, url, &tls);
	free(url);
	return r;
}

/* Proxy mode: the first matching rule decides (no rule: directly). */
static enum MHD_Result by_rules(struct dd_ctx *ctx, struct dd_request *rq, const char *url,
				const struct tls_opts *tls)
{
	const struct dd_rule *rule = dd_rules_match(&ctx->s->rules, url);
	char *target = dd_rule_rewrite(rule, url);
	struct dd_url u;
	enum MHD_Result r;
	if (dd_url_split(target, &u) < 0) {
		r = dd_reply_text(rq->con, MHD_HTTP_BAD_REQUEST,
				  "dfdaemon: the rewritten URL is not valid\n");
	} else if (rule && !rule->direct && strcmp(rq->method, "GET") == 0 && !rq->has_range) {
		char digest[65];
		char *path = xstrndup(u.rest, strcspn(u.rest, "?#"));
		bool has = dd_blob_digest(path, digest);
		free(path);
		r = serve_p2p(ctx, rq, target, has ? digest : NULL, tls);
	} else {
		r = forward(ctx, rq, target, tls);
	}
	free(target);
	return r;
}

static enum MHD_Result hijacked(struct dd_ctx *ctx, struct dd_request *rq)
{
	if (!rq->host || !dd_hostport_valid(rq->host))
		return dd_reply_text(rq->con, MHD_HTTP_BAD_REQUEST,
				     "dfdaemon: a request without a valid Host header\n");
	char hostport[300];
	if (strchr(rq->host, ':') && rq->host[0] != '[')
		snprintf(hostport, sizeof(hostport), "%s", rq->host);
	else
		snprintf(hostport, sizeof(hostport), "%s:443", rq->host);
	const struct dd_host *h = dd_hosts_match(&ctx->s->hijack, hostport);
	if (!h)
		return dd_reply_text(rq->con, MHD_HTTP_FORBIDDEN,
				     "dfdaemon: this host is not hijacked\n");
	struct tls_opts tls = { h->insecure, h->certs };
	char *url = xasprintf("https://%s%s", rq->host, rq->target);
	enum MHD_Result r = by_rules(ctx, rq, url, &tls);
	free(url);
	return r;
}

enum MHD_Result dd_route(struct dd_ctx *ctx, struct dd_request *rq)
{
	if (strcmp(rq->method, "CONNECT") == 0)
		return dd_reply_text(rq->con, MHD_HTTP_BAD_REQUEST,
				     "dfdaemon: CONNECT must be the first request of a "
				     "connection\n");
	if (rq->origin == DD_FROM_HIJACK)
		return hijacked(ctx, rq);
	if (strncasecmp(rq->target, "http://", 7) == 0 ||
	    strncasecmp(rq->target, "https://", 8) == 0) {
		struct dd_url u;
		if (dd_url_split(rq->target, &u) < 0)
			return dd_reply_text(rq->con, MHD_HTTP_BAD_REQUEST,
					     "dfdaemon: not a valid absolute URL\n");
		struct tls_opts tls = { false, NULL };
		char hostport[300];
		snprintf(hostport, sizeof(hostport), strchr(u.host, ':') ? "[%s]:%u" : "%s:%u",
			 u.host, u.port);
		const struct dd_host *h = dd_hosts_match(&ctx->s->hijack, hostport);
		if (h)
			tls = (struct tls_opts){ h->insecure, h->certs };
		return by_rules(ctx, rq, rq->target, &tls);
	}
	if (strncmp(rq->path, "/_dfdaemon/", 11) == 0)
		return serve_local(ctx, rq);
	return mirror(ctx, rq);
}

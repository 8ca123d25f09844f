/* server: start-up, the signal loop and the orderly stop (see server.h). Runs on the main
 * thread; signals are blocked in every thread and taken with sigtimedwait here, so no
 * handler runs in signal context. The API handler also serves the optional HTTPS port;
 * its completion callback feeds the request metrics. */
#include "config.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api.h"
#include "cdn.h"
#include "ctx.h"
#include "fsutil.h"
#include "gc.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "pieces.h"
#include "preheat.h"
#include "ratelimit.h"
#include "registry.h"
#include "settings.h"
#include "stats.h"
#include "timeutil.h"
#include "waitq.h"
#include "xalloc.h"

struct sn_stats sn_stats;

static atomic_int active_requests; /* begun and not completed, both daemons */
static char piece_marker;

void sn_server_request_begin(struct sn_ctx *ctx, void **con_cls)
{
	(void)ctx;
	atomic_fetch_add(&active_requests, 1);
	if (con_cls && !*con_cls)
		*con_cls = &piece_marker;
}

static void api_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)toe;
	struct df_httpd_request *req = *con_cls;
	if (req) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(con, MHD_CONNECTION_INFO_HTTP_STATUS);
		if (req->tag > 0 && ci)
			sn_metrics_request((enum sn_handler)(req->tag - 1), ci->http_status,
					   df_mono_us() - req->start_us);
		atomic_fetch_sub(&active_requests, 1);
		df_httpd_request_free(req);
		*con_cls = NULL;
	}
}

static void piece_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con;
	(void)toe;
	if (*con_cls) {
		atomic_fetch_sub(&active_requests, 1);
		*con_cls = NULL;
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int make_dirs(struct sn_ctx *ctx)
{
	const char *dirs[] = { ctx->repo_dir, ctx->tmp_dir };
	for (size_t i = 0; i < 2; i++) {
		int rc = df_mkdir_p(dirs[i], 0755);
		if (rc < 0) {
			log_errno(rc, "cannot create %s (check home-dir and its permissions)",
				  dirs[i]);
			return rc;
		}
	}
	return 0;
}

/* The PEM files of the HTTPS port (heap, the caller's), read once at start-up. */
static int read_tls(const struct sn_settings *cfg, char **cert_r, char **key_r)
{
	size_t len;
	const char *paths[] = { cfg->tls_cert, cfg->tls_key };
	char **out[] = { cert_r, key_r };
	for (int i = 0; i < 2; i++) {
		int rc = df_read_file(paths[i], 1 << 20, out[i], &len);
		if (rc < 0) {
			log_errno(rc, "cannot read %s (%s)", paths[i], i ? "tls-key" : "tls-cert");
			return rc;
		}
	}
	return 0;
}

/* One client address may hold an eighth of the connections (at least 16): a host that
 * opens connections and holds them (slowloris) cannot lock the others out. */
static unsigned per_ip_limit(const struct sn_settings *cfg)
{
	unsigned max = (unsigned)cfg->max_connections, n = max / 8;
	return n >= 16 ? n : max < 16 ? max : 16;
}

/* The HTTPS port: the API handler again, over TLS (GnuTLS inside libmicrohttpd). */
static struct MHD_Daemon *start_https(struct sn_ctx *ctx)
{
	const struct sn_settings *cfg = ctx->cfg;
	char *cert = NULL, *key = NULL, err[256];
	struct MHD_Daemon *d = NULL;
	if (read_tls(cfg, &cert, &key) == 0) {
		struct df_httpd_options o = {
			.bind_addr = cfg->listen,
			.port = (uint16_t)cfg->https_port,
			.threads = (unsigned)cfg->threads,
			.connection_limit = (unsigned)cfg->max_connections,
			.per_ip_limit = per_ip_limit(cfg),
			.timeout_s = 300,
			.allow_suspend = true,
			.tls_cert_pem = cert,
			.tls_key_pem = key,
			.completed = api_completed,
			.completed_cls = ctx,
		};
		uint16_t port = 0;
		d = df_httpd_start(&o, sn_api_handler, ctx, &port, err, sizeof(err));
		if (!d)
			log_error("HTTPS port: %s", err);
		atomic_store(&ctx->https_port, port);
	}
	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	return d;
}

static struct MHD_Daemon *start_daemon(struct sn_ctx *ctx, bool api, _Atomic uint16_t *port_r)
{
	const struct sn_settings *cfg = ctx->cfg;
	char err[256];
	struct df_httpd_options o = {
		.bind_addr = cfg->listen,
		.port = (uint16_t)(api ? cfg->port : cfg->download_port),
		.threads = (unsigned)(api ? cfg->threads : cfg->piece_threads),
		.connection_limit = (unsigned)cfg->max_connections,
		.per_ip_limit = per_ip_limit(cfg),
		.timeout_s = 300,
		.allow_suspend = true, /* also gives MHD the channel quiesce needs */
		.completed = api ? api_completed : piece_completed,
		.completed_cls = ctx,
	};
	uint16_t port = 0;
	struct MHD_Daemon *d = df_httpd_start(&o, api ? sn_api_handler : sn_pieces_handler, ctx,
					      &port, err, sizeof(err));
	if (!d)
		log_error("%s port: %s", api ? "API" : "piece", err);
	atomic_store(port_r, port);
	return d;
}

/* Wait for signals; returns on SIGTERM or SIGINT. */
static void signal_loop(const sigset_t *set)
{
	for (;;) {
		struct timespec ts = { 1, 0 };
		int sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGHUP) {
			int rc = df_log_reopen();
			if (rc < 0)
				log_errno(rc, "cannot reopen the log file");
			else
				log_info("log file reopened");
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return;
		}
	}
}

static void drain(struct sn_ctx *ctx, struct MHD_Daemon *api, struct MHD_Daemon *pieces)
{
	atomic_store(&ctx->stopping, true);
	struct MHD_Daemon *https = ctx->https_daemon;
	MHD_socket ls[3] = { MHD_quiesce_daemon(api), MHD_quiesce_daemon(pieces),
			     https ? MHD_quiesce_daemon(https) : MHD_INVALID_SOCKET };
	sn_waitq_stop(ctx->waitq);
	sn_preheat_stop();
	int64_t until = df_mono_ms() + ctx->cfg->shutdown_timeout;
	while (atomic_load(&active_requests) > 0 && df_mono_ms() < until)
		df_sleep_ms(20);
	sn_cdn_wait_all(ctx, 5000);
	MHD_stop_daemon(api);
	MHD_stop_daemon(pieces);
	if (https)
		MHD_stop_daemon(https);
	ctx->https_daemon = NULL;
	for (int i = 0; i < 3; i++)
		if (ls[i] != MHD_INVALID_SOCKET)
			close(ls[i]);
}

static void log_totals(void)
{
	log_info("stopped: %lld registrations, %lld pulls (%lld waited, %lld answered 602), "
		 "%lld bytes from sources, %lld bytes served, pieces from peers %lld / "
		 "supernode %lld",
		 (long long)SN_STAT_GET(registrations), (long long)SN_STAT_GET(pulls),
		 (long long)SN_STAT_GET(pull_holds), (long long)SN_STAT_GET(pull_waits),
		 (long long)SN_STAT_GET(source_bytes), (long long)SN_STAT_GET(served_bytes),
		 (long long)SN_STAT_GET(pieces_from_peers),
		 (long long)SN_STAT_GET(pieces_from_supernode));
}

/* Release what sn_server_run set up (daemons that are still running stop first). */
static void teardown(struct sn_ctx *ctx, struct MHD_Daemon *api, struct MHD_Daemon *pieces,
		     struct sn_gc *gc)
{
	atomic_store(&ctx->stopping, true);
	sn_waitq_stop(ctx->waitq);
	sn_preheat_stop();
	if (api)
		MHD_stop_daemon(api);
	if (pieces)
		MHD_stop_daemon(pieces);
	if (ctx->https_daemon)
		MHD_stop_daemon(ctx->https_daemon);
	ctx->https_daemon = NULL;
	sn_gc_stop(gc);
	if (sn_cdn_wait_all(ctx, 5000) > 0) {
		/* A job still runs and uses what is below: leave it to the process's exit. */
		log_warn("exiting with a CDN job still running");
		return;
	}
	sn_registry_cleanup();
	sn_waitq_free(ctx->waitq);
	df_bucket_free(ctx->source_bucket);
	free(ctx->repo_dir);
	free(ctx->tmp_dir);
	pthread_cond_destroy(&ctx->jobs_cond);
	pthread_mutex_destroy(&ctx->jobs_lock);
}

int sn_server_run(const struct sn_settings *cfg)
{
	int status = 1;
	struct sn_ctx ctx = { .cfg = cfg };
	struct MHD_Daemon *api = NULL, *pieces = NULL;
	struct sn_gc *gc = NULL;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	pthread_mutex_init(&ctx.jobs_lock, NULL);
	pthread_cond_init(&ctx.jobs_cond, NULL);
	ctx.repo_dir = xasprintf("%s/repo/download", cfg->home_dir);
	ctx.tmp_dir = xasprintf("%s/tmp", cfg->home_dir);
	if (cfg->max_bandwidth > 0)
		ctx.source_bucket = df_bucket_new(cfg->max_bandwidth - cfg->system_bandwidth, 0,
						  NULL, NULL);
	ctx.waitq = sn_waitq_new();
	sn_registry_init();
	sn_metrics_init(df_wall_ms());
	if (make_dirs(&ctx) < 0 || sn_waitq_start(ctx.waitq) < 0 || sn_preheat_start(&ctx) < 0)
		goto out;
	/* The piece port first: API handlers read ctx.download_port (and https_port). */
	pieces = start_daemon(&ctx, false, &ctx.download_port);
	if (pieces && *cfg->tls_cert && !(ctx.https_daemon = start_https(&ctx)))
		goto out;
	api = pieces ? start_daemon(&ctx, true, &ctx.api_port) : NULL;
	if (!api)
		goto out;
	gc = sn_gc_start(&ctx);
	if (ctx.https_daemon)
		printf("supernode ready: api_port=%u download_port=%u https_port=%u\n",
		       ctx.api_port, ctx.download_port, ctx.https_port);
	else
		printf("supernode ready: api_port=%u download_port=%u\n", ctx.api_port,
		       ctx.download_port);
	fflush(stdout);
	log_info("supernode %s ready: API on port %u, pieces on port %u, home %s",
		 PACKAGE_VERSION, ctx.api_port, ctx.download_port, cfg->home_dir);
	signal_loop(&set);
	drain(&ctx, api, pieces);
	api = pieces = NULL;
	status = 0;
	log_totals();
out:
	teardown(&ctx, api, pieces, gc);
	return status;
}

/* dfdaemon: registry mirror and HTTP proxy that sends image layers through Dragonfly.
 * main() reads the settings, sets up logging, the blob registry, the CA and the server,
 * prints the ready line, and waits for SIGTERM/SIGINT (SIGHUP reopens the log). */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "ca.h"
#include "ctx.h"
#include "log.h"
#include "server.h"
#include "settings.h"

static volatile sig_atomic_t got_stop, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

static int setup_log(const struct dd_settings *s)
{
	df_log_set_ident("dfdaemon");
	df_log_install_crash_handler();
	df_log_set_level(s->verbose ? DF_LOG_DEBUG : DF_LOG_INFO);
	if (s->log && *s->log && strcmp(s->log, "-") != 0) {
		int rc = df_log_open(s->log);
		if (rc < 0) {
			fprintf(stderr, "dfdaemon: cannot open the log %s: %s\n", s->log,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static struct dd_blobs *make_blobs(struct dd_ctx *ctx, char *err, size_t errsz)
{
	const struct dd_settings *s = ctx->s;
	bool have_dfget = s->dfpath && *s->dfpath && access(s->dfpath, X_OK) == 0;
	if (!have_dfget)
		log_warn("dfget binary '%s' not found (--dfpath): no uploader, this host will "
			 "not serve the layers it downloads to others",
			 s->dfpath ? s->dfpath : "");
	struct dd_blob_cfg cfg = {
		.nodes = s->node,
		.home = s->home,
		.localrepo = s->localrepo,
		.dfget = have_dfget ? s->dfpath : NULL,
		.callsystem = s->callsystem,
		.ip = s->ip && *s->ip ? s->ip : NULL,
		.peer_port = (uint16_t)s->peer_port,
		.ratelimit = s->ratelimit,
		.alive_ms = s->alivetime,
		.expire_ms = s->expiretime,
		.keep_ms = s->blob_keep,
		.verbose = s->verbose,
	};
	return dd_blobs_new(&cfg, &ctx->stats, err, errsz);
}

static void wait_for_signal(struct dd_blobs *blobs)
{
	for (unsigned tick = 1; !got_stop; tick++) {
		poll(NULL, 0, 200);
		if (tick % 25 == 0)
			dd_blobs_expire(blobs);
		if (got_hup) {
			got_hup = 0;
			df_log_reopen();
		}
	}
}

static int run(struct dd_settings *s)
{
	static struct dd_ctx ctx; /* the daemons' threads hold it until the end */
	char err[1024] = "";
	int code = 2;
	ctx.s = s;
	atomic_init(&ctx.stopping, false);
	if (setup_log(s) < 0)
		return 2;
	if (s->hijack.n > 0 && !(ctx.ca = dd_ca_new(s->ca_cert, s->ca_key, err, sizeof(err))))
		goto out;
	if (!(ctx.blobs = make_blobs(&ctx, err, sizeof(err))))
		goto out;
	uint16_t port = 0, tls_port = 0;
	ctx.server = dd_server_start(&ctx, &port, &tls_port, err, sizeof(err));
	if (!ctx.server)
		goto out;
	log_info("listening on %s:%u%s; registry %s; supernodes %s", s->listen, port,
		 tls_port ? " (and HTTPS)" : "", *s->registry ? s->registry : "(none)", s->node);
	if (tls_port)
		printf("dfdaemon ready: port=%u tls_port=%u\n", port, tls_port);
	else
		printf("dfdaemon ready: port=%u\n", port);
	fflush(stdout);
	wait_for_signal(ctx.blobs);
	log_info("stopping");
	atomic_store(&ctx.stopping, true);
	dd_blobs_cancel(ctx.blobs);
	dd_server_stop(ctx.server);
	code = 0;
out:
	if (code != 0)
		fprintf(stderr, "dfdaemon: %s\n", err);
	dd_blobs_free(ctx.blobs);
	dd_ca_free(ctx.ca);
	return code;
}

int main(int argc, char **argv)
{
	struct dd_settings s;
	enum dd_cli_action action;
	char err[1024] = "";
	dd_settings_defaults(&s);
	if (dd_settings_from_args(&s, argc, argv, &action, err, sizeof(err)) < 0) {
		fprintf(stderr, "dfdaemon: %s\n", err);
		dd_settings_cleanup(&s);
		return 1;
	}
	int code = 0;
	if (action == DD_CLI_HELP) {
		dd_settings_usage(stdout);
	} else if (action == DD_CLI_VERSION) {
		printf("dfdaemon %s\n", PACKAGE_VERSION);
	} else if (action == DD_CLI_CHECK) {
		char *dump = df_cfg_dump(dd_cfg_keys, &s);
		printf("# configuration OK (%s)\n%s", s.config_path ? s.config_path : "defaults",
		       dump);
		for (size_t i = 0; i < s.rules.n; i++)
			printf("# rule %zu: %s\n", i + 1, s.rules.v[i].pattern);
		for (size_t i = 0; i < s.hijack.n; i++)
			printf("# hijack %zu: %s\n", i + 1, s.hijack.v[i].pattern);
		free(dump);
	} else {
		signal(SIGPIPE, SIG_IGN);
		struct sigaction sa = { .sa_handler = on_signal };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		code = run(&s);
		curl_global_cleanup();
	}
	dd_settings_cleanup(&s);
	return code;
}

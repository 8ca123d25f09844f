/* dfget: download a file through the Dragonfly P2P network, or (`dfget server`) run this
 * host's uploader. A thin main: parse, set up logging and libcurl, hand off to the engine
 * (download.h) or the uploader (uploader.h), print one line per outcome. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "download.h"
#include "log.h"
#include "progress.h"
#include "protocol.h"
#include "store.h"
#include "uploader.h"
#include "xalloc.h"

static volatile sig_atomic_t quit, reopen_log;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_log = 1;
	else
		quit = 1;
}

static int setup_log(const struct dg_cli *cli, const char *file)
{
	df_log_set_ident(cli->command == DG_CMD_SERVER ? "dfserver" : "dfget");
	df_log_install_crash_handler();
	df_log_set_level(cli->s.verbose ? DF_LOG_DEBUG : DF_LOG_INFO);
	struct dg_home home;
	char err[512];
	if (dg_home_init(&home, cli->s.home, true, err, sizeof(err)) < 0) {
		fprintf(stderr, "dfget: error: %s\n", err);
		dg_home_cleanup(&home);
		return -1;
	}
	char *path = xasprintf("%s/%s", home.logs, file);
	int rc = df_log_open(path);
	if (rc < 0)
		fprintf(stderr, "dfget: warning: cannot open log %s: %s (logging to stderr)\n",
			path, strerror(-rc));
	else if (cli->s.console)
		df_log_set_tee_stderr(true);
	free(path);
	dg_home_cleanup(&home);
	return 0;
}

static int run_server(const struct dg_cli *cli)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* logrotate: reopen dfserver.log */
	signal(SIGPIPE, SIG_IGN);
	struct dg_uploader_opts o = {
		.home = cli->s.home,
		.port = (uint16_t)cli->s.port,
		.alive_ms = cli->s.alivetime,
		.expire_ms = cli->s.expiretime,
		.reopen_log = &reopen_log,
	};
	char err[512];
	int rc = dg_uploader_run(&o, &quit, err, sizeof(err));
	if (rc < 0) {
		log_error("uploader: %s", err);
		fprintf(stderr, "dfget server: error: %s\n", err);
		return rc == -EEXIST ? DF_EXIT_OK : DF_EXIT_PREPARE;
	}
	return DF_EXIT_OK;
}

struct bar_ctx {
	struct dg_bar bar;
	bool on;
};

static int on_progress(const struct dg_progress *p, void *arg)
{
	struct bar_ctx *b = arg;
	if (b->on)
		dg_bar_update(&b->bar, p);
	return quit ? 1 : 0;
}

static int terminal_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 100;
}

/* The uploader is this very program. */
static char *self_exe(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static int run_download(const struct dg_cli *cli)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct dg_request req;
	dg_cli_to_request(cli, &req);
	char *exe = self_exe();
	req.uploader_exe = exe;
	struct bar_ctx bar;
	memset(&bar, 0, sizeof(bar));
	bar.on = cli->s.showbar || isatty(STDERR_FILENO);
	dg_bar_init(&bar.bar, stderr, terminal_width());
	req.progress = on_progress;
	req.progress_arg = &bar;
	struct dg_result res;
	char err[2048] = "";
	int code = dg_download(&req, &res, err, sizeof(err));
	if (bar.on)
		dg_bar_end(&bar.bar);
	if (code == DF_EXIT_OK) {
		char line[1024];
		dg_outcome_format(cli->output, res.length, res.duration_us, res.from_peers,
				  res.from_supernode, res.from_source, res.back_source, line,
				  sizeof(line));
		fprintf(stderr, "%s\n", line);
	} else {
		fprintf(stderr, "dfget: error: %s\n", err);
	}
	free(exe);
	return code;
}

int main(int argc, char **argv)
{
	struct dg_cli cli;
	char err[1024] = "";
	int code = DF_EXIT_OK;
	if (dg_cli_parse(argc, argv, &cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "dfget: error: %s\n", err);
		dg_cli_cleanup(&cli);
		return DF_EXIT_USAGE;
	}
	if (cli.command == DG_CMD_HELP) {
		dg_cli_usage(stdout);
		goto out;
	}
	if (cli.command == DG_CMD_VERSION) {
		printf("dfget %s\n", PACKAGE_VERSION);
		goto out;
	}
	if (setup_log(&cli, cli.command == DG_CMD_SERVER ? "dfserver.log" : "dfclient.log") <
	    0) {
		code = DF_EXIT_PREPARE;
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "dfget: error: libcurl initialisation failed\n");
		code = DF_EXIT_PREPARE;
		goto out;
	}
	code = cli.command == DG_CMD_SERVER ? run_server(&cli) : run_download(&cli);
	curl_global_cleanup();
out:
	dg_cli_cleanup(&cli);
	df_log_close();
	return code;
}

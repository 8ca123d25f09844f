/* supernode: the Dragonfly cluster manager: CDN cache, piece scheduler and piece server.
 * main() reads the configuration and hands over to the server (server.h). */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "server.h"
#include "settings.h"

static int configure_logging(const struct sn_settings *s)
{
	enum df_log_level level = DF_LOG_INFO;
	df_log_parse_level(s->log_level, &level);
	df_log_set_level(s->debug ? DF_LOG_DEBUG : level);
	if (*s->log_file) {
		char *dir = df_dirname(s->log_file);
		df_mkdir_p(dir, 0755);
		free(dir);
		int rc = df_log_open(s->log_file);
		if (rc < 0) {
			fprintf(stderr, "supernode: cannot open the log file %s: %s\n", s->log_file,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sn_settings s;
	struct sn_cli cli = { 0 };
	char err[1024] = "";
	int status = 1;
	df_log_set_ident("supernode");
	df_log_install_crash_handler();
	sn_settings_init(&s);
	int rc = sn_settings_load(&s, &cli, argc, argv, err, sizeof(err));
	if (cli.help) {
		sn_settings_usage(stdout);
		status = 0;
	} else if (cli.version) {
		printf("supernode %s\n", PACKAGE_VERSION);
		status = 0;
	} else if (rc < 0) {
		fprintf(stderr, "supernode: %s%s\n", cli.check_config ? "invalid configuration: " : "",
			err);
	} else if (cli.check_config) {
		char *dump = sn_settings_dump(&s);
		printf("# the configuration is valid (%s)\n%s",
		       cli.config_path ? cli.config_path : "defaults and flags", dump);
		free(dump);
		status = 0;
	} else if (configure_logging(&s) == 0) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		status = sn_server_run(&s);
		curl_global_cleanup();
	}
	df_log_close();
	sn_cli_cleanup(&cli);
	sn_settings_cleanup(&s);
	return status;
}

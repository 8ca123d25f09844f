/* settings: the key table, flag parsing and validation (see settings.h). Start-up only:
 * no locking. Every key of the table is also a long option "--<name> VALUE" (booleans
 * take no value), so the file and the command line cannot drift apart. */
#include "config.h"
#include "settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "protocol.h"
#include "xalloc.h"

#define S "supernode"
#define OFF(f) offsetof(struct sn_settings, f)
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static const struct df_cfg_key keys[] = {
	{ S, "port", DF_CFG_INT, OFF(port), 0, 65535,
	  "API port (the legacy peer API); 0 = pick a free port" },
	{ S, "download-port", DF_CFG_INT, OFF(download_port), 0, 65535,
	  "piece server port; 0 = pick a free port" },
	{ S, "listen", DF_CFG_STRING, OFF(listen), 0, 0,
	  "IPv4 address both ports bind to; empty = all" },
	{ S, "home-dir", DF_CFG_STRING, OFF(home_dir), 0, 0, "cache and state directory" },
	{ S, "advertise-ip", DF_CFG_STRING, OFF(advertise_ip), 0, 0,
	  "address peers fetch supernode pieces from; empty = the one each client reached" },
	{ S, "up-limit", DF_CFG_INT, OFF(up_limit), 1, 64, "concurrent uploads per peer" },
	{ S, "down-limit", DF_CFG_INT, OFF(down_limit), 1, SN_SETTINGS_MAX_DOWN,
	  "concurrent piece downloads per client" },
	{ S, "cdn-up-limit", DF_CFG_INT, OFF(cdn_up_limit), 1, 100000,
	  "concurrent piece transfers from the supernode (all tasks)" },
	{ S, "max-bandwidth", DF_CFG_SIZE, OFF(max_bandwidth), 0, 1LL << 50,
	  "bytes/s the supernode may use for source fetches; 0 = no cap" },
	{ S, "system-bandwidth", DF_CFG_SIZE, OFF(system_bandwidth), 0, 1LL << 50,
	  "bytes/s of max-bandwidth kept for the system" },
	{ S, "fail-access-interval", DF_CFG_DURATION, OFF(fail_access_interval), 0, 24 * HOUR,
	  "how long a failed source answer is remembered" },
	{ S, "task-expire-time", DF_CFG_DURATION, OFF(task_expire_time), SEC, 30 * 24 * HOUR,
	  "an idle task is forgotten after this (its cache stays)" },
	{ S, "peer-gc-delay", DF_CFG_DURATION, OFF(peer_gc_delay), 0, 24 * HOUR,
	  "a departed or isolated peer is forgotten after this" },
	{ S, "piece-timeout", DF_CFG_DURATION, OFF(piece_timeout), SEC, 24 * HOUR,
	  "an unreported piece transfer is forgotten after this" },
	{ S, "fail-limit", DF_CFG_INT, OFF(fail_limit), 1, 1000,
	  "failed uploads in a row before a peer is isolated" },
	{ S, "pull-hold", DF_CFG_DURATION, OFF(pull_hold), 0, 30 * SEC,
	  "how long /peer/task waits for work before answering 602" },
	{ S, "source-timeout", DF_CFG_DURATION, OFF(source_timeout), SEC, 10 * MIN,
	  "time for the source's first answer" },
	{ S, "source-stall-timeout", DF_CFG_DURATION, OFF(source_stall_timeout), SEC, HOUR,
	  "a source fetch without data for this long fails (and is retried)" },
	{ S, "threads", DF_CFG_INT, OFF(threads), 1, 1024, "API thread pool size" },
	{ S, "piece-threads", DF_CFG_INT, OFF(piece_threads), 1, 1024,
	  "piece server thread pool size" },
	{ S, "cdn-workers", DF_CFG_INT, OFF(cdn_workers), 1, 1024, "concurrent source fetches" },
	{ S, "max-connections", DF_CFG_INT, OFF(max_connections), 16, 1000000,
	  "open connections per port" },
	{ S, "cache-size", DF_CFG_SIZE, OFF(cache_size), 0, 1LL << 60,
	  "cache size kept by garbage collection; 0 = no limit" },
	{ S, "cache-free-min", DF_CFG_SIZE, OFF(cache_free_min), 0, 1LL << 60,
	  "free space kept on the cache's filesystem" },
	{ S, "gc-interval", DF_CFG_DURATION, OFF(gc_interval), SEC, 24 * HOUR,
	  "time between disk cache collections" },
	{ S, "shutdown-timeout", DF_CFG_DURATION, OFF(shutdown_timeout), 0, 10 * MIN,
	  "on SIGTERM, how long running transfers may finish" },
	{ S, "api-token", DF_CFG_STRING, OFF(api_token), 0, 0,
	  "bearer token for mutating /api/v1 calls and preheats; empty = none" },
	{ S, "api-token-file", DF_CFG_STRING, OFF(api_token_file), 0, 0,
	  "file holding the API token (instead of api-token)" },
	{ S, "tls-cert", DF_CFG_STRING, OFF(tls_cert), 0, 0,
	  "PEM certificate (chain) of the HTTPS API port; empty = no HTTPS" },
	{ S, "tls-key", DF_CFG_STRING, OFF(tls_key), 0, 0, "PEM private key of tls-cert" },
	{ S, "https-port", DF_CFG_INT, OFF(https_port), 0, 65535,
	  "HTTPS API port (with tls-cert and tls-key); 0 = pick a free port" },
	{ S, "www-dir", DF_CFG_STRING, OFF(www_dir), 0, 0,
	  "directory of the status page served at /" },
	{ S, "preheat-workers", DF_CFG_INT, OFF(preheat_workers), 1, 64,
	  "preheats running at once (more wait)" },
	{ S, "client-rate", DF_CFG_SIZE, OFF(client_rate), 0, 1LL << 50,
	  "bytes/s one client can download, for minimum times; 0 = the fastest seen" },
	{ S, "log-file", DF_CFG_STRING, OFF(log_file), 0, 0, "log file; empty = stderr" },
	{ S, "log-level", DF_CFG_STRING, OFF(log_level), 0, 0, "error, warn, info or debug" },
	{ S, "debug", DF_CFG_BOOL, OFF(debug), 0, 0, "log at debug level (-D)" },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

const char *sn_settings_default_path(void)
{
	return SYSCONFDIR "/dragonfly/supernode.conf";
}

void sn_settings_init(struct sn_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->port = DF_PORT_SUPERNODE_API;
	s->download_port = DF_PORT_SUPERNODE_PIECES;
	s->listen = xstrdup("");
	s->home_dir = xstrdup(LOCALSTATEDIR "/lib/dragonfly");
	s->advertise_ip = xstrdup("");
	s->up_limit = 5;
	s->down_limit = 4;
	s->cdn_up_limit = 32;
	s->fail_access_interval = 3 * MIN;
	s->task_expire_time = 3 * MIN;
	s->peer_gc_delay = 3 * MIN;
	s->piece_timeout = 2 * MIN;
	s->fail_limit = 3;
	s->pull_hold = SEC;
	s->source_timeout = 15 * SEC;
	s->source_stall_timeout = MIN;
	s->threads = 4;
	s->piece_threads = 8;
	s->cdn_workers = 8;
	s->max_connections = 8192;
	s->cache_free_min = 1LL << 30;
	s->gc_interval = MIN;
	s->shutdown_timeout = 5 * SEC;
	s->api_token = xstrdup("");
	s->api_token_file = xstrdup("");
	s->tls_cert = xstrdup("");
	s->tls_key = xstrdup("");
	s->https_port = 8443;
	s->www_dir = xstrdup(PKGDATADIR "/www");
	s->preheat_workers = 2;
	s->log_file = xstrdup("");
	s->log_level = xstrdup("info");
}

void sn_settings_cleanup(struct sn_settings *s)
{
	df_cfg_free(keys, s);
}

void sn_cli_cleanup(struct sn_cli *cli)
{
	free(cli->config_path);
	cli->config_path = NULL;
}

static bool ipv4_ok(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

static bool token_ok(const char *t)
{
	for (; *t; t++)
		if (*t <= ' ' || *t == 0x7f)
			return false;
	return true;
}

/* The operators' keys: token, HTTPS files, ports. */
static int validate_ops(const struct sn_settings *s, char *err, size_t errsz)
{
	if (!token_ok(s->api_token)) {
		snprintf(err, errsz, "api-token: spaces and control characters are not allowed "
				     "in a bearer token");
		return -EINVAL;
	}
	if (*s->api_token && *s->api_token_file) {
		snprintf(err, errsz, "api-token and api-token-file are both set: keep one");
		return -EINVAL;
	}
	if (!*s->tls_cert != !*s->tls_key) {
		snprintf(err, errsz, "tls-cert and tls-key go together: set both for HTTPS, or "
				     "neither");
		return -EINVAL;
	}
	const char *files[] = { s->tls_cert, s->tls_key };
	for (size_t i = 0; i < 2; i++)
		if (*files[i] && access(files[i], R_OK) != 0) {
			snprintf(err, errsz, "%s: cannot read %s: %s", i ? "tls-key" : "tls-cert",
				 files[i], strerror(errno));
			return -EINVAL;
		}
	if (*s->tls_cert && s->https_port != 0 &&
	    (s->https_port == s->port || s->https_port == s->download_port)) {
		snprintf(err, errsz, "https-port %lld is also the port or the download-port: give "
				     "it its own (or 0 to pick a free one)", (long long)s->https_port);
		return -EINVAL;
	}
	return 0;
}

/* Read api-token-file into api-token (trailing newline and spaces dropped). */
static int load_token_file(struct sn_settings *s, char *err, size_t errsz)
{
	char *data = NULL;
	size_t len = 0;
	if (!*s->api_token_file)
		return 0;
	int rc = df_read_file(s->api_token_file, 4096, &data, &len);
	if (rc < 0) {
		snprintf(err, errsz, "api-token-file: cannot read %s: %s", s->api_token_file,
			 strerror(-rc));
		return -EINVAL;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		data[--len] = '\0';
	if (len == 0 || !token_ok(data)) {
		snprintf(err, errsz, "api-token-file: %s must hold one token (no spaces)",
			 s->api_token_file);
		free(data);
		return -EINVAL;
	}
	free(s->api_token);
	s->api_token = data;
	free(s->api_token_file);
	s->api_token_file = xstrdup("");
	return 0;
}

int sn_settings_validate(const struct sn_settings *s, char *err, size_t errsz)
{
	enum df_log_level lvl;
	if (*s->listen && !ipv4_ok(s->listen)) {
		snprintf(err, errsz, "listen: '%s' is not an IPv4 address (leave it empty to "
				     "listen on all addresses)", s->listen);
		return -EINVAL;
	}
	if (*s->advertise_ip && !ipv4_ok(s->advertise_ip)) {
		snprintf(err, errsz, "advertise-ip: '%s' is not an IPv4 address (peers fetch "
				     "supernode pieces from it; leave it empty for automatic)",
			 s->advertise_ip);
		return -EINVAL;
	}
	if (!*s->home_dir || s->home_dir[0] != '/') {
		snprintf(err, errsz, "home-dir: '%s' must be an absolute path", s->home_dir);
		return -EINVAL;
	}
	if (s->port != 0 && s->port == s->download_port) {
		snprintf(err, errsz, "port and download-port are both %lld: give them different "
				     "ports (or 0 to pick free ones)", (long long)s->port);
		return -EINVAL;
	}
	if (!df_log_parse_level(s->log_level, &lvl)) {
		snprintf(err, errsz, "log-level: '%s' is not one of error, warn, info, debug",
			 s->log_level);
		return -EINVAL;
	}
	if (validate_ops(s, err, errsz) < 0)
		return -EINVAL;
	if (s->max_bandwidth > 0 && s->system_bandwidth >= s->max_bandwidth) {
		snprintf(err, errsz, "system-bandwidth must be below max-bandwidth (it is kept "
				     "back from it); set max-bandwidth = 0 for no cap");
		return -EINVAL;
	}
	return 0;
}

int sn_settings_load_string(struct sn_settings *s, const char *text, char *err, size_t errsz)
{
	return df_cfg_load_string(keys, s, text, "(string)", err, errsz);
}

char *sn_settings_dump(const struct sn_settings *s)
{
	/* The token itself is a secret: show only whether one is set. */
	struct sn_settings copy = *s;
	copy.api_token = (char *)(uintptr_t)(*s->api_token ? "(set)" : "");
	return df_cfg_dump(keys, &copy);
}

void sn_settings_usage(FILE *out)
{
	fprintf(out,
		"Usage: supernode [OPTIONS]\n"
		"The Dragonfly cluster manager: fetches each file from its source once (CDN cache),\n"
		"schedules pieces among peers, and serves pieces on its own piece port.\n\n"
		"  --config FILE      configuration file (default %s, if it exists)\n"
		"  --check-config     validate the configuration, print it, and exit (0 = valid)\n"
		"  -D, --debug        log at debug level\n"
		"  -h, --help         show this help and exit\n"
		"  -v, --version      show the version and exit\n\n"
		"Every setting of the [supernode] section is also a flag, --NAME VALUE:\n",
		sn_settings_default_path());
	for (const struct df_cfg_key *k = keys; k->name; k++) {
		if (k->type == DF_CFG_BOOL)
			continue;
		fprintf(out, "  --%-22s %s\n", k->name, k->help);
	}
	fprintf(out, "\nSizes take B, K/KB, M/MB, G/GB; durations 250ms, 30s, 5m, 2h.\n"
		     "Port 0 picks a free port; the ports are printed on one line at start-up:\n"
		     "  supernode ready: api_port=N download_port=M (and https_port=K with TLS)\n"
		     "The API port also serves the REST API (/api/v1), /metrics and the status\n"
		     "page at /; see the README.\n"
		     "Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reopens the log file.\n");
}

struct flag {
	const char *name;
	const char *value;
};

/* Collect flags from argv (getopt_long over the key table). Returns 0 or -EINVAL. */
static int scan_args(struct sn_cli *cli, int argc, char **argv, struct flag *flags,
		     size_t *nflags, char *err, size_t errsz)
{
	enum { OPT_CONFIG = 1000, OPT_CHECK, OPT_KEY };
	size_t nkeys = 0;
	while (keys[nkeys].name)
		nkeys++;
	struct option *opts = xcalloc(nkeys + 5, sizeof(*opts));
	size_t n = 0;
	opts[n++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	opts[n++] = (struct option){ "check-config", no_argument, NULL, OPT_CHECK };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n++] = (struct option){ "version", no_argument, NULL, 'v' };
	for (size_t i = 0; i < nkeys; i++)
		opts[n++] = (struct option){ keys[i].name,
					     keys[i].type == DF_CFG_BOOL ? no_argument
									 : required_argument,
					     NULL, OPT_KEY + (int)i };
	int rc = 0, c, idx;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hvD", opts, &idx)) != -1) {
		if (c == OPT_CONFIG) {
			free(cli->config_path);
			cli->config_path = xstrdup(optarg);
		} else if (c == OPT_CHECK) {
			cli->check_config = true;
		} else if (c == 'h') {
			cli->help = true;
		} else if (c == 'v') {
			cli->version = true;
		} else if (c == 'D') {
			flags[(*nflags)++] = (struct flag){ "debug", "true" };
		} else if (c >= OPT_KEY) {
			const struct df_cfg_key *k = &keys[c - OPT_KEY];
			flags[(*nflags)++] = (struct flag){ k->name,
							    k->type == DF_CFG_BOOL ? "true" : optarg };
		} else {
			const char *arg = argv[optind - 1];
			if (c == ':')
				snprintf(err, errsz, "option %s needs a value (see --help)", arg);
			else
				snprintf(err, errsz, "unknown option %s (see --help)", arg);
			rc = -EINVAL;
			break;
		}
	}
	if (rc == 0 && optind < argc) {
		snprintf(err, errsz, "unexpected argument '%s' (see --help)", argv[optind]);
		rc = -EINVAL;
	}
	free(opts);
	return rc;
}

int sn_settings_load(struct sn_settings *s, struct sn_cli *cli, int argc, char **argv,
		     char *err, size_t errsz)
{
	struct flag *flags = xcalloc((size_t)argc + 1, sizeof(*flags));
	size_t nflags = 0;
	int rc = scan_args(cli, argc, argv, flags, &nflags, err, errsz);
	if (rc < 0 || cli->help || cli->version)
		goto out;
	if (cli->config_path) {
		rc = df_cfg_load_file(keys, s, cli->config_path, err, errsz);
		if (rc < 0)
			goto out;
	} else if (access(sn_settings_default_path(), F_OK) == 0) {
		cli->config_path = xstrdup(sn_settings_default_path());
		rc = df_cfg_load_file(keys, s, cli->config_path, err, errsz);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < nflags; i++) {
		char origin[96];
		snprintf(origin, sizeof(origin), "--%s", flags[i].name);
		rc = df_cfg_set(keys, s, S, flags[i].name, flags[i].value, origin, err, errsz);
		if (rc < 0)
			goto out;
	}
	rc = sn_settings_validate(s, err, errsz);
	if (rc == 0)
		rc = load_token_file(s, err, errsz);
out:
	free(flags);
	return rc < 0 ? -EINVAL : 0;
}

/* dfdaemon's settings: defaults, then the INI file (etc/dfdaemon.conf), then command-line
 * flags with the original dfdaemon's names. Besides the table-driven keys of common/conf.h
 * the file holds two ordered lists that inih's key = value model cannot: proxy rules
 * ("rule = ..." lines of [proxy]) and hijacked hosts ("host = ..." lines of [hijack]).
 *
 * Start-up only (not thread-safe); the settings are read-only once the server runs. */
#ifndef DD_SETTINGS_H
#define DD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "rules.h"

struct dd_settings {
	/* [dfdaemon] */
	int64_t port;		/* the plain-HTTP listener, 0 = pick */
	char *listen;		/* address to listen on */
	char *registry;		/* upstream registry of the mirror ("" = no mirror) */
	bool registry_insecure;
	char *registry_cacerts;
	char *node;		/* supernodes for the engine */
	int64_t ratelimit;	/* bytes/s, host-wide and per download; 0 = none */
	char *certpem, *keypem; /* TLS on its own listener */
	int64_t tls_port;
	bool verbose;
	char *home;		/* work home shared with dfget (uploader, data) */
	char *localrepo;	/* where blob downloads land; "" = HOME/dfdaemon/data */
	char *dfpath;		/* the dfget binary (starts the host's uploader) */
	char *callsystem;
	char *ip;		/* this host's address for peers, "" = learn */
	int64_t peer_port;	/* uploader port, 0 = pick */
	int64_t alivetime, expiretime; /* for the uploader */
	bool fallback;		/* when P2P fails, fetch from the registry directly */
	int64_t max_requests;	/* concurrent requests; beyond: 503 */
	int64_t blob_keep;	/* ms a finished blob stays for later clients */
	int64_t stall_timeout;	/* ms without progress before a blob counts as failed */
	int64_t upstream_timeout; /* ms to connect to and hear from an upstream */
	char *log;		/* log file, "" or "-" = stderr */
	/* [hijack] */
	char *ca_cert, *ca_key; /* CA that signs hijacked hosts' certificates */
	/* lists */
	struct dd_rules rules;
	struct dd_hosts hijack;
	char *config_path;	/* the file read, or NULL */
};

extern const struct df_cfg_key dd_cfg_keys[];

void dd_settings_defaults(struct dd_settings *s);
void dd_settings_cleanup(struct dd_settings *s);

/* Load an INI text into s (origin names it in errors): the keys of dd_cfg_keys plus the
 * rule and host lists, which are appended. Returns 0 or -EINVAL with "ORIGIN:LINE: ..." in
 * err. */
int dd_settings_load_string(struct dd_settings *s, const char *text, const char *origin,
			    char *err, size_t errsz);
int dd_settings_load_file(struct dd_settings *s, const char *path, char *err, size_t errsz);

enum dd_cli_action { DD_CLI_RUN, DD_CLI_HELP, DD_CLI_VERSION, DD_CLI_CHECK };

/* Parse argv: --config first (default /etc/dragonfly/dfdaemon.conf, which may be absent),
 * then every flag over it, then checks that need all values. Returns 0 with the action,
 * or -EINVAL with err saying what to fix. */
int dd_settings_from_args(struct dd_settings *s, int argc, char **argv,
			  enum dd_cli_action *action_r, char *err, size_t errsz);

void dd_settings_usage(FILE *out);

#endif

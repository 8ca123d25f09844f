/* dfget's command line and configuration file (etc/dfget.conf): defaults, then the file,
 * then the flags (the command line wins). Flags are the original dfget's (protocol.md
 * "dfget flags"); every bad value gets a message naming the flag or file:line and the
 * accepted form. Start-up only, single-threaded. */
#ifndef DG_CLI_H
#define DG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "download.h"

enum dg_command {
	DG_CMD_DOWNLOAD,
	DG_CMD_SERVER,
	DG_CMD_VERSION,
	DG_CMD_HELP,
};

/* Everything the configuration file can also set ([dfget] section). */
struct dg_settings {
	char *node;	    /* "host[:port][=weight],..." */
	char *home;	    /* work home, "~" expanded later */
	char *pattern;	    /* p2p | cdn | source */
	char *cacerts;	    /* PEM file(s) for HTTPS sources, ',' separated */
	char *callsystem;
	char *ip;	    /* this host's address as peers see it ("" = learn it) */
	char *filter;	    /* query keys left out of the task URL, '&' separated */
	int64_t locallimit; /* bytes/s for one download, 0 = no limit */
	int64_t totallimit; /* bytes/s for the whole host, 0 = off */
	int64_t minrate;    /* bytes/s, for the derived timeout */
	int64_t timeout;    /* ms, 0 = derived from the length and minrate */
	int64_t port;	    /* uploader port, 0 = pick one in 15000-65000 */
	int64_t alivetime;  /* ms the uploader stays up idle */
	int64_t expiretime; /* ms a served file is kept after its last use */
	int64_t workers;    /* piece fetch threads */
	bool notbs;
	bool insecure;
	bool showbar;
	bool console;
	bool verbose;
	bool dfdaemon;
};

extern const struct df_cfg_key dg_cfg_keys[];

struct dg_cli {
	enum dg_command command;
	struct dg_settings s;
	char *config_path; /* the file that was read, or NULL */
	char *url;
	char *output;
	char *md5;
	char *identifier;
	char **headers; /* NULL-terminated "K: V" */
	size_t nheaders;
	enum dg_pattern pattern;
};

/* The default configuration file (SYSCONFDIR/dragonfly/dfget.conf). */
const char *dg_cli_default_config(void);

/* Parse argv. A file given with --config must exist; the default one may be missing. The
 * environment variable DFGET_CONFIG overrides the default path. Returns 0, or -EINVAL with
 * the message in err (exit 1). */
int dg_cli_parse(int argc, char **argv, struct dg_cli *cli_r, char *err, size_t errsz);
void dg_cli_cleanup(struct dg_cli *cli);

void dg_cli_usage(FILE *out);

/* Fill a download request from the parsed command line. Strings are borrowed from cli. */
void dg_cli_to_request(const struct dg_cli *cli, struct dg_request *req);

#endif

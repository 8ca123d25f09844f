/* settings: the supernode's configuration: one table of keys (section [supernode] of
 * etc/supernode.conf), each also a command-line flag of the same name. Precedence:
 * defaults, then the file (--config, or the installed default when it exists), then flags.
 * Start-up only, not thread-safe; afterwards the struct is read-only. */
#ifndef SN_SETTINGS_H
#define SN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The largest down-limit accepted. */
#define SN_SETTINGS_MAX_DOWN 64

struct sn_settings {
	int64_t port;	       /* API (8002); 0: pick a free port */
	int64_t download_port; /* piece server (8001); 0: pick a free port */
	char *listen;	       /* bind address; "" = all */
	char *home_dir;	       /* cache, state */
	char *advertise_ip;    /* "" = the address each client reached us at */
	int64_t up_limit;      /* concurrent uploads per peer */
	int64_t down_limit;    /* concurrent downloads per client */
	int64_t cdn_up_limit;  /* concurrent piece transfers from the supernode, all tasks */
	int64_t max_bandwidth; /* bytes/s for source fetches (minus system_bandwidth); 0: no cap */
	int64_t system_bandwidth; /* bytes/s kept back from max_bandwidth */
	int64_t fail_access_interval; /* ms a failed source answer is remembered */
	int64_t task_expire_time;     /* ms an idle task is kept in memory */
	int64_t peer_gc_delay;	      /* ms a departed or isolated client is kept */
	int64_t piece_timeout;	      /* ms before an unreported transfer is forgotten */
	int64_t fail_limit;	      /* failed uploads before a peer is isolated */
	int64_t pull_hold;	      /* ms a /peer/task request may wait for work */
	int64_t source_timeout;	      /* ms for the source's first answer (probe, connect) */
	int64_t source_stall_timeout; /* ms a source fetch may go without data */
	int64_t threads;	      /* API thread pool */
	int64_t piece_threads;	      /* piece server thread pool */
	int64_t cdn_workers;	      /* concurrent source fetches */
	int64_t max_connections;      /* per port */
	int64_t cache_size;	      /* bytes of cache kept; 0: no limit */
	int64_t cache_free_min;	      /* free bytes kept on the cache's filesystem */
	int64_t gc_interval;	      /* ms between disk cache GC runs */
	int64_t shutdown_timeout;     /* ms to drain on SIGTERM */
	/* Operators (REST API, preheat, status page, HTTPS). */
	char *api_token;	      /* bearer token for mutating API calls; "" = none */
	char *api_token_file;	      /* file holding it (read by sn_settings_load) */
	char *tls_cert;		      /* PEM certificate chain path; "" = no HTTPS port */
	char *tls_key;		      /* PEM private key path */
	int64_t https_port;	      /* the HTTPS API port (with tls-cert/-key); 0: pick */
	char *www_dir;		      /* the status page's files */
	int64_t preheat_workers;      /* preheats running at once */
	int64_t client_rate;	      /* bytes/s of a client, for minimum times; 0: measured */
	char *log_file;		      /* "" = stderr */
	char *log_level;
	bool debug;
};

/* What the command line asked for besides settings. */
struct sn_cli {
	bool help;
	bool version;
	bool check_config;
	char *config_path; /* the file read, or NULL (heap) */
};

/* The default configuration file (SYSCONFDIR/dragonfly/supernode.conf). */
const char *sn_settings_default_path(void);

void sn_settings_init(struct sn_settings *s);
void sn_settings_cleanup(struct sn_settings *s);
void sn_cli_cleanup(struct sn_cli *cli);

/* Parse argv: defaults, the configuration file, then flags; then validate. Returns 0, or
 * -EINVAL with a message (what is wrong and what to do) in err. */
int sn_settings_load(struct sn_settings *s, struct sn_cli *cli, int argc, char **argv,
		     char *err, size_t errsz);
/* Cross-field checks (also run by sn_settings_load). */
int sn_settings_validate(const struct sn_settings *s, char *err, size_t errsz);
/* Load an INI text (for tests). */
int sn_settings_load_string(struct sn_settings *s, const char *text, char *err, size_t errsz);
/* The effective configuration as INI text (the caller's). */
char *sn_settings_dump(const struct sn_settings *s);
void sn_settings_usage(FILE *out);

#endif

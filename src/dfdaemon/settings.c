/* dfdaemon settings: table, file loading with the rule lists, flags (see settings.h).
 * Start-up only: no locking. */
#include "config.h"
#include "settings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "protocol.h"
#include "urlutil.h"
#include "xalloc.h"

#define S(f) offsetof(struct dd_settings, f)
#define DAY_MS (24LL * 3600 * 1000)
#define DEFAULT_CONFIG SYSCONFDIR "/dragonfly/dfdaemon.conf"

const struct df_cfg_key dd_cfg_keys[] = {
	{ "dfdaemon", "port", DF_CFG_INT, S(port), 0, 65535, "HTTP port, 0 = pick one" },
	{ "dfdaemon", "listen", DF_CFG_STRING, S(listen), 0, 0, "IPv4 address to listen on" },
	{ "dfdaemon", "registry", DF_CFG_STRING, S(registry), 0, 0,
	  "upstream registry of the mirror (\"\" = proxy mode only)" },
	{ "dfdaemon", "registry_insecure", DF_CFG_BOOL, S(registry_insecure), 0, 0,
	  "do not verify the registry's TLS certificate" },
	{ "dfdaemon", "registry_cacerts", DF_CFG_STRING, S(registry_cacerts), 0, 0,
	  "CA PEM files for the registry, ',' separated" },
	{ "dfdaemon", "node", DF_CFG_STRING, S(node), 0, 0,
	  "supernodes: host[:port][=weight],..." },
	{ "dfdaemon", "ratelimit", DF_CFG_SIZE, S(ratelimit), 0, 1LL << 40,
	  "rate limit of P2P downloads (the host's shared bucket), 0 = none" },
	{ "dfdaemon", "certpem", DF_CFG_STRING, S(certpem), 0, 0, "TLS certificate (PEM)" },
	{ "dfdaemon", "keypem", DF_CFG_STRING, S(keypem), 0, 0, "TLS key (PEM)" },
	{ "dfdaemon", "tls_port", DF_CFG_INT, S(tls_port), 0, 65535,
	  "HTTPS port when certpem/keypem are set, 0 = pick one" },
	{ "dfdaemon", "verbose", DF_CFG_BOOL, S(verbose), 0, 0, "log debug messages" },
	{ "dfdaemon", "home", DF_CFG_STRING, S(home), 0, 0,
	  "work home, shared with dfget (uploader, data, logs)" },
	{ "dfdaemon", "localrepo", DF_CFG_STRING, S(localrepo), 0, 0,
	  "where blob downloads land (\"\" = HOME/dfdaemon/data)" },
	{ "dfdaemon", "dfpath", DF_CFG_STRING, S(dfpath), 0, 0,
	  "the dfget binary, to start this host's uploader" },
	{ "dfdaemon", "callsystem", DF_CFG_STRING, S(callsystem), 0, 0, "caller name" },
	{ "dfdaemon", "ip", DF_CFG_STRING, S(ip), 0, 0, "this host's address for peers" },
	{ "dfdaemon", "peer_port", DF_CFG_INT, S(peer_port), 0, DF_UPLOADER_PORT_MAX,
	  "uploader port (15000-65000), 0 = pick one" },
	{ "dfdaemon", "alivetime", DF_CFG_DURATION, S(alivetime), 1000, 30 * DAY_MS,
	  "the uploader exits after this long idle" },
	{ "dfdaemon", "expiretime", DF_CFG_DURATION, S(expiretime), 1000, 30 * DAY_MS,
	  "the uploader deletes served files this long after their last use" },
	{ "dfdaemon", "fallback", DF_CFG_BOOL, S(fallback), 0, 0,
	  "when P2P fails for a request, fetch it from the registry directly" },
	{ "dfdaemon", "max_requests", DF_CFG_INT, S(max_requests), 1, 100000,
	  "requests served at once; more get 503" },
	{ "dfdaemon", "blob_keep", DF_CFG_DURATION, S(blob_keep), 0, DAY_MS,
	  "how long a finished blob stays for later clients" },
	{ "dfdaemon", "stall_timeout", DF_CFG_DURATION, S(stall_timeout), 1000, DAY_MS,
	  "a P2P blob without progress this long has failed" },
	{ "dfdaemon", "upstream_timeout", DF_CFG_DURATION, S(upstream_timeout), 100, DAY_MS,
	  "time to connect to an upstream and hear its answer" },
	{ "dfdaemon", "log", DF_CFG_STRING, S(log), 0, 0, "log file (\"\" or - = stderr)" },
	{ "hijack", "cert", DF_CFG_STRING, S(ca_cert), 0, 0,
	  "CA certificate (PEM) that signs hijacked hosts' certificates" },
	{ "hijack", "key", DF_CFG_STRING, S(ca_key), 0, 0, "the CA's private key (PEM)" },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

void dd_settings_defaults(struct dd_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->port = DF_PORT_DFDAEMON;
	s->listen = xstrdup("127.0.0.1");
	s->registry = xstrdup("https://index.docker.io");
	s->node = xstrdup("127.0.0.1:8002");
	s->ratelimit = 20LL << 20;
	s->tls_port = DF_PORT_DFDAEMON + 1;
	s->home = xstrdup("~/.small-dragonfly");
	s->localrepo = xstrdup("");
	s->dfpath = xstrdup(BINDIR "/dfget");
	s->callsystem = xstrdup("dfdaemon");
	s->alivetime = 5 * 60 * 1000;
	s->expiretime = 3 * 60 * 1000;
	s->fallback = true;
	s->max_requests = 512;
	s->blob_keep = 60 * 1000;
	s->stall_timeout = 120 * 1000;
	s->upstream_timeout = 30 * 1000;
	s->log = xstrdup("");
}

void dd_settings_cleanup(struct dd_settings *s)
{
	df_cfg_free(dd_cfg_keys, s);
	dd_rules_cleanup(&s->rules);
	dd_hosts_cleanup(&s->hijack);
	free(s->config_path);
	s->config_path = NULL;
}

static char *trim(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		p[--n] = '\0';
	return p;
}

/* One line of [proxy] or [hijack] that we parse ourselves. Returns 1 when handled (line
 * then blanked for inih), 0 when inih should see it, or -EINVAL. */
static int list_line(struct dd_settings *s, const char *section, char *line, char *err,
		     size_t errsz)
{
	char *eq = strchr(line, '=');
	char *key = line;
	if (!eq)
		return 0;
	*eq = '\0';
	key = trim(key);
	char *value = trim(eq + 1);
	int rc = 0;
	if (strcasecmp(section, "proxy") == 0) {
		if (strcasecmp(key, "rule") != 0) {
			snprintf(err, errsz, "unknown key '%s' in [proxy] (want rule = REGEX ...)",
				 key);
			return -EINVAL;
		}
		rc = dd_rules_add(&s->rules, value, err, errsz);
	} else if (strcasecmp(key, "host") == 0) {
		rc = dd_hosts_add(&s->hijack, value, err, errsz);
	} else {
		*eq = '=';
		return 0;
	}
	return rc < 0 ? rc : 1;
}

/* Take the list lines out of text (blanking them, so line numbers stay). */
static int extract_lists(struct dd_settings *s, char *text, const char *origin, char *err,
			 size_t errsz)
{
	char section[64] = "";
	int lineno = 0;
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		char *line = xstrndup(p, len);
		char *t = trim(line);
		int rc = 0;
		if (*t == '[') {
			char *close = strchr(t, ']');
			snprintf(section, sizeof(section), "%.*s",
				 close ? (int)(close - t - 1) : 0, t + 1);
		} else if (*t && *t != ';' && *t != '#' &&
			   (strcasecmp(section, "proxy") == 0 ||
			    strcasecmp(section, "hijack") == 0)) {
			char e[400];
			rc = list_line(s, section, t, e, sizeof(e));
			if (rc < 0)
				snprintf(err, errsz, "%s:%d: %s", origin, lineno, e);
			else if (rc == 1)
				memset(p, ' ', len);
		}
		free(line);
		if (rc < 0)
			return rc;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

int dd_settings_load_string(struct dd_settings *s, const char *text, const char *origin,
			    char *err, size_t errsz)
{
	char *copy = xstrdup(text);
	int rc = extract_lists(s, copy, origin, err, errsz);
	if (rc == 0)
		rc = df_cfg_load_string(dd_cfg_keys, s, copy, origin, err, errsz);
	free(copy);
	return rc < 0 ? -EINVAL : 0;
}

int dd_settings_load_file(struct dd_settings *s, const char *path, char *err, size_t errsz)
{
	char *text = NULL;
	size_t len = 0;
	int rc = df_read_file(path, 1 << 20, &text, &len);
	if (rc < 0) {
		snprintf(err, errsz, "cannot read configuration file %s: %s", path,
			 strerror(-rc));
		return rc == -ENOENT ? -ENOENT : -EINVAL;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errsz, "%s: not a text file", path);
		rc = -EINVAL;
	} else {
		rc = dd_settings_load_string(s, text, path, err, errsz);
	}
	free(text);
	return rc;
}

void dd_settings_usage(FILE *out)
{
	fprintf(out,
		"Usage: dfdaemon [OPTIONS]\n"
		"A registry mirror and HTTP proxy that sends image layers through Dragonfly:\n"
		"blob GETs become P2P downloads (streamed, verified against their sha256),\n"
		"everything else goes to the registry unchanged.\n\n"
		"      --config FILE       configuration file (default %s)\n"
		"      --port N            HTTP port (default 65001; 0 = pick, see the ready line)\n"
		"      --hostIp ADDR       IPv4 address to listen on (default 127.0.0.1)\n"
		"      --registry URL      upstream registry of the mirror\n"
		"                          (default https://index.docker.io; \"\" = proxy only)\n"
		"      --registry-insecure do not verify the registry's TLS certificate\n"
		"      --registry-cacerts FILES  CA PEM files for the registry (',' separated)\n"
		"      --node LIST         supernodes: host[:port][=weight],... (127.0.0.1:8002;\n"
		"                          repeatable)\n"
		"      --ratelimit RATE    P2P rate limit, shared with every dfget of this host\n"
		"                          (default 20MB; 0 = none)\n"
		"      --certpem FILE      serve HTTPS too, on its own port, with this certificate\n"
		"      --keypem FILE       ... and this key\n"
		"      --tls-port N        the HTTPS port (default 65002; 0 = pick)\n"
		"      --workHome DIR      work home shared with dfget (default ~/.small-dragonfly)\n"
		"      --localrepo DIR     where blob downloads land (default HOME/dfdaemon/data)\n"
		"      --dfpath FILE       dfget binary, to start this host's uploader\n"
		"                          (default %s/dfget)\n"
		"      --callsystem NAME   caller name for the supernode (default dfdaemon)\n"
		"      --ip IP             this host's address as peers see it\n"
		"      --peerPort N        port of this host's uploader (15000-65000)\n"
		"      --rule 'REGEX [use_https] [direct] [redirect=HOST]'\n"
		"                          a proxy rule (repeatable; after the file's rules)\n"
		"      --hijack 'REGEX [insecure] [certs=FILES]'\n"
		"                          intercept CONNECT to matching host:port (repeatable)\n"
		"      --ca-cert FILE      CA certificate that signs hijacked hosts' certificates\n"
		"      --ca-key FILE       ... and its key\n"
		"      --no-fallback       never fetch a blob from the registry when P2P fails\n"
		"      --max-requests N    requests served at once; more get 503 (default 512)\n"
		"      --log FILE          log to FILE (default stderr)\n"
		"      --verbose           log debug messages\n"
		"      --check-config      check the configuration, print it, and exit\n"
		"  -h, --help              show this help and exit\n"
		"  -v, --version           show the version and exit\n\n"
		"When it listens it prints one line: dfdaemon ready: port=N [tls_port=M].\n"
		"Rates take B, K/KB, M/MB, G/GB (powers of 1024). Exit codes: 0 ok, 1 bad\n"
		"flags or configuration, 2 cannot start (port, certificates).\n",
		DEFAULT_CONFIG, BINDIR);
}

enum {
	O_CONFIG = 256, O_PORT, O_HOSTIP, O_REGISTRY, O_REG_INSECURE, O_REG_CACERTS, O_NODE,
	O_RATELIMIT, O_CERTPEM, O_KEYPEM, O_TLSPORT, O_HOME, O_LOCALREPO, O_DFPATH,
	O_CALLSYSTEM, O_IP, O_PEERPORT, O_RULE, O_HIJACK, O_CACERT, O_CAKEY, O_NOFALLBACK,
	O_MAXREQ, O_LOG, O_VERBOSE, O_CHECK, O_STREAM, O_MAXPROCS,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "port", required_argument, NULL, O_PORT },
	{ "hostIp", required_argument, NULL, O_HOSTIP },
	{ "listen", required_argument, NULL, O_HOSTIP },
	{ "registry", required_argument, NULL, O_REGISTRY },
	{ "registry-insecure", no_argument, NULL, O_REG_INSECURE },
	{ "registry-cacerts", required_argument, NULL, O_REG_CACERTS },
	{ "node", required_argument, NULL, O_NODE },
	{ "ratelimit", required_argument, NULL, O_RATELIMIT },
	{ "certpem", required_argument, NULL, O_CERTPEM },
	{ "keypem", required_argument, NULL, O_KEYPEM },
	{ "tls-port", required_argument, NULL, O_TLSPORT },
	{ "workHome", required_argument, NULL, O_HOME },
	{ "home", required_argument, NULL, O_HOME },
	{ "localrepo", required_argument, NULL, O_LOCALREPO },
	{ "dfpath", required_argument, NULL, O_DFPATH },
	{ "callsystem", required_argument, NULL, O_CALLSYSTEM },
	{ "ip", required_argument, NULL, O_IP },
	{ "peerPort", required_argument, NULL, O_PEERPORT },
	{ "rule", required_argument, NULL, O_RULE },
	{ "hijack", required_argument, NULL, O_HIJACK },
	{ "ca-cert", required_argument, NULL, O_CACERT },
	{ "ca-key", required_argument, NULL, O_CAKEY },
	{ "no-fallback", no_argument, NULL, O_NOFALLBACK },
	{ "max-requests", required_argument, NULL, O_MAXREQ },
	{ "log", required_argument, NULL, O_LOG },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "check-config", no_argument, NULL, O_CHECK },
	{ "streamMode", no_argument, NULL, O_STREAM },
	{ "maxprocs", required_argument, NULL, O_MAXPROCS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* The config key a flag sets, or NULL for flags handled otherwise. */
static const char *flag_key(int c)
{
	switch (c) {
	case O_PORT: return "port";
	case O_HOSTIP: return "listen";
	case O_REGISTRY: return "registry";
	case O_REG_CACERTS: return "registry_cacerts";
	case O_NODE: return "node";
	case O_RATELIMIT: return "ratelimit";
	case O_CERTPEM: return "certpem";
	case O_KEYPEM: return "keypem";
	case O_TLSPORT: return "tls_port";
	case O_HOME: return "home";
	case O_LOCALREPO: return "localrepo";
	case O_DFPATH: return "dfpath";
	case O_CALLSYSTEM: return "callsystem";
	case O_IP: return "ip";
	case O_PEERPORT: return "peer_port";
	case O_CACERT: return "cert";
	case O_CAKEY: return "key";
	case O_MAXREQ: return "max_requests";
	case O_LOG: return "log";
	default: return NULL;
	}
}

/* Find --config before anything else, so flags override the file. */
static int load_config(struct dd_settings *s, int argc, char **argv, char *err, size_t errsz)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	bool explicit = path != NULL;
	if (!path)
		path = getenv("DFDAEMON_CONFIG");
	explicit |= path != NULL;
	if (!path)
		path = DEFAULT_CONFIG;
	int rc = dd_settings_load_file(s, path, err, errsz);
	if (rc == -ENOENT && !explicit)
		return 0;
	if (rc == 0)
		s->config_path = xstrdup(path);
	return rc < 0 ? -EINVAL : 0;
}

static int apply_flag(struct dd_settings *s, int c, const char *arg, char *err, size_t errsz)
{
	const char *key = flag_key(c);
	char origin[64];
	snprintf(origin, sizeof(origin), "--%s", key ? key : "flag");
	if (key)
		return df_cfg_set(dd_cfg_keys, s, NULL, key, arg, origin, err, errsz) < 0
			       ? -EINVAL
			       : 0;
	switch (c) {
	case O_REG_INSECURE: s->registry_insecure = true; return 0;
	case O_NOFALLBACK: s->fallback = false; return 0;
	case O_VERBOSE: s->verbose = true; return 0;
	case O_STREAM: return 0;   /* always streaming */
	case O_MAXPROCS: return 0; /* the original's Go runtime knob; threads here are per
				    * connection and per download */
	case O_RULE: return dd_rules_add(&s->rules, arg, err, errsz);
	case O_HIJACK: return dd_hosts_add(&s->hijack, arg, err, errsz);
	default: return 0;
	}
}

static bool set(const char *v)
{
	return v && *v;
}

/* Checks that need every value. */
static int validate(struct dd_settings *s, char *err, size_t errsz)
{
	struct in_addr a;
	struct dd_url u;
	if (inet_pton(AF_INET, s->listen ? s->listen : "", &a) != 1) {
		snprintf(err, errsz, "listen address '%s' is not an IPv4 address",
			 s->listen ? s->listen : "");
		return -EINVAL;
	}
	if (set(s->registry) && dd_url_split(s->registry, &u) < 0) {
		snprintf(err, errsz,
			 "registry '%s' is not an http:// or https:// URL (e.g. "
			 "https://registry.example:5000)",
			 s->registry);
		return -EINVAL;
	}
	if (set(s->certpem) != set(s->keypem)) {
		snprintf(err, errsz, "--certpem and --keypem go together: give both or neither");
		return -EINVAL;
	}
	if (s->hijack.n > 0 && (!set(s->ca_cert) || !set(s->ca_key))) {
		snprintf(err, errsz,
			 "hijacking HTTPS hosts needs a CA: set cert and key in [hijack] (or "
			 "--ca-cert and --ca-key)");
		return -EINVAL;
	}
	if (!set(s->home) || !set(s->node)) {
		snprintf(err, errsz, "home and node must not be empty");
		return -EINVAL;
	}
	return 0;
}

/* "~/x" -> "$HOME/x"; default localrepo. */
static void finish(struct dd_settings *s)
{
	const char *env = getenv("HOME");
	if (s->home[0] == '~' && (s->home[1] == '/' || !s->home[1]) && env && *env) {
		char *h = xasprintf("%s%s", env, s->home + 1);
		free(s->home);
		s->home = h;
	}
	if (!set(s->localrepo)) {
		free(s->localrepo);
		s->localrepo = xasprintf("%s/dfdaemon/data", s->home);
	}
}

int dd_settings_from_args(struct dd_settings *s, int argc, char **argv,
			  enum dd_cli_action *action_r, char *err, size_t errsz)
{
	*action_r = DD_CLI_RUN;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			*action_r = DD_CLI_HELP;
			return 0;
		}
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
			*action_r = DD_CLI_VERSION;
			return 0;
		}
	}
	if (load_config(s, argc, argv, err, errsz) < 0)
		return -EINVAL;
	optind = 1;
	opterr = 0;
	int c, nodes = 0;
	while ((c = getopt_long(argc, argv, ":hv", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			snprintf(err, errsz, "%s '%s' (see dfdaemon --help)",
				 c == '?' ? "unknown option" : "missing value for",
				 argv[optind - 1]);
			return -EINVAL;
		}
		if (c == O_NODE && nodes++ > 0) {
			/* --node repeated: the lists add up, as with the original */
			char *joined = xasprintf("%s,%s", s->node, optarg);
			free(s->node);
			s->node = joined;
			continue;
		}
		if (c == O_CHECK)
			*action_r = DD_CLI_CHECK;
		else if (c != O_CONFIG && apply_flag(s, c, optarg, err, errsz) < 0)
			return -EINVAL;
	}
	if (optind < argc) {
		snprintf(err, errsz, "unexpected argument '%s' (see dfdaemon --help)",
			 argv[optind]);
		return -EINVAL;
	}
	if (validate(s, err, errsz) < 0)
		return -EINVAL;
	finish(s);
	return 0;
}

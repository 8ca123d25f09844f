/* dfget command line and configuration (see cli.h). Start-up only: no locking. */
#include "config.h"
#include "cli.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "locator.h"
#include "protocol.h"
#include "taskid.h"
#include "units.h"
#include "xalloc.h"

#define S(f) offsetof(struct dg_settings, f)
#define DAY_MS (24LL * 3600 * 1000)

const struct df_cfg_key dg_cfg_keys[] = {
	{ "dfget", "node", DF_CFG_STRING, S(node), 0, 0,
	  "supernodes: host[:port][=weight],... (port 8002, weight 1)" },
	{ "dfget", "home", DF_CFG_STRING, S(home), 0, 0, "work home: data, meta, logs" },
	{ "dfget", "pattern", DF_CFG_STRING, S(pattern), 0, 0, "p2p, cdn or source" },
	{ "dfget", "locallimit", DF_CFG_SIZE, S(locallimit), 0, 1LL << 40,
	  "rate limit of one download, 0 = none" },
	{ "dfget", "totallimit", DF_CFG_SIZE, S(totallimit), 0, 1LL << 40,
	  "rate limit of all downloads and uploads of this host, 0 = off" },
	{ "dfget", "minrate", DF_CFG_SIZE, S(minrate), 1, 1LL << 40,
	  "the slowest acceptable rate, for the derived timeout" },
	{ "dfget", "timeout", DF_CFG_DURATION, S(timeout), 0, 30 * DAY_MS,
	  "download timeout, 0 = derived from the length and minrate" },
	{ "dfget", "notbs", DF_CFG_BOOL, S(notbs), 0, 0, "never download from the source" },
	{ "dfget", "insecure", DF_CFG_BOOL, S(insecure), 0, 0,
	  "do not verify the source's TLS certificate" },
	{ "dfget", "cacerts", DF_CFG_STRING, S(cacerts), 0, 0, "CA PEM files for the source" },
	{ "dfget", "callsystem", DF_CFG_STRING, S(callsystem), 0, 0, "caller name" },
	{ "dfget", "ip", DF_CFG_STRING, S(ip), 0, 0, "this host's address for peers" },
	{ "dfget", "filter", DF_CFG_STRING, S(filter), 0, 0,
	  "query keys left out of the task URL, '&' separated" },
	{ "dfget", "port", DF_CFG_INT, S(port), 0, DF_UPLOADER_PORT_MAX,
	  "uploader port (15000-65000), 0 = pick one" },
	{ "dfget", "alivetime", DF_CFG_DURATION, S(alivetime), 1000, 30 * DAY_MS,
	  "the uploader exits after this long idle" },
	{ "dfget", "expiretime", DF_CFG_DURATION, S(expiretime), 1000, 30 * DAY_MS,
	  "served files are deleted this long after their last use" },
	{ "dfget", "workers", DF_CFG_INT, S(workers), 1, 16, "piece fetch threads" },
	{ "dfget", "showbar", DF_CFG_BOOL, S(showbar), 0, 0, "always show the progress bar" },
	{ "dfget", "console", DF_CFG_BOOL, S(console), 0, 0, "log to stderr as well" },
	{ "dfget", "verbose", DF_CFG_BOOL, S(verbose), 0, 0, "log debug messages" },
	{ "dfget", "dfdaemon", DF_CFG_BOOL, S(dfdaemon), 0, 0, "called by dfdaemon" },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

const char *dg_cli_default_config(void)
{
	return SYSCONFDIR "/dragonfly/dfget.conf";
}

void dg_cli_usage(FILE *out)
{
	fprintf(out,
		"Usage: dfget -u URL [-o FILE] [OPTIONS]\n"
		"       dfget server [--home DIR] [--port N] [--ip IP] [--alivetime D] "
		"[--expiretime D]\n"
		"       dfget version\n"
		"Download a file through the Dragonfly P2P network: pieces come from other hosts\n"
		"and the supernode, each one verified; the file appears at FILE only when whole\n"
		"and verified. Falls back to the source itself unless --notbs.\n\n"
		"  -u, --url URL           the file to download (http or https)\n"
		"  -o, --output FILE       where to put it (default: the URL's file name here)\n"
		"  -n, --node LIST         supernodes: host[:port][=weight],... (port 8002)\n"
		"  -p, --pattern P         p2p (default), cdn (do not serve to others) or source\n"
		"  -s, --locallimit RATE   rate limit of this download (default 20MB; 0 = none)\n"
		"      --totallimit RATE   rate limit of all downloads and uploads of this host\n"
		"      --minrate RATE      slowest acceptable rate, for the timeout (default 64KB)\n"
		"  -e, --timeout D         give up after D (300, 5m, 1h; default: from the size)\n"
		"  -m, --md5 HEX           expected md5 of the file\n"
		"  -i, --identifier ID     task identity when no md5 is given\n"
		"  -f, --filter KEYS       query keys to leave out of the task URL (a&b)\n"
		"      --header 'K: V'     header for the source (repeatable)\n"
		"      --cacerts FILES     CA certificates (PEM) for an https source, ',' separated\n"
		"      --insecure          do not verify the source's TLS certificate\n"
		"      --notbs             never download from the source (fail instead)\n"
		"      --callsystem NAME   the caller's name, for the supernode's records\n"
		"      --dfdaemon          the call comes from dfdaemon\n"
		"  -b, --showbar           show the progress bar even when stderr is no terminal\n"
		"      --console           log to stderr as well as to HOME/logs/dfclient.log\n"
		"      --verbose           log debug messages\n"
		"      --home DIR          work home (default ~/.small-dragonfly)\n"
		"      --ip IP             this host's address as peers see it\n"
		"      --port N            port of this host's uploader (15000-65000)\n"
		"      --expiretime D      uploader: delete served files D after last use (3m)\n"
		"      --alivetime D       uploader: exit after D idle (5m)\n"
		"      --config FILE       configuration file (default %s)\n"
		"  -h, --help              show this help and exit\n"
		"  -v, --version           show the version and exit\n\n"
		"Rates take B, K/KB, M/MB, G/GB (powers of 1024). Exit codes: 0 ok; 1 bad flags\n"
		"or URL; 1101 cannot prepare (home, output directory, disk space); 1103 the\n"
		"supernode refused the registration (authentication); 1104 download failed\n"
		"(a shell sees these three modulo 256: 77, 79, 80).\n",
		dg_cli_default_config());
}

static void settings_defaults(struct dg_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->node = xstrdup("127.0.0.1:8002");
	s->home = xstrdup("~/.small-dragonfly");
	s->pattern = xstrdup("p2p");
	s->locallimit = 20LL << 20;
	s->minrate = 64LL << 10;
	s->alivetime = 5 * 60 * 1000;
	s->expiretime = 3 * 60 * 1000;
	s->workers = 4;
}

void dg_cli_cleanup(struct dg_cli *cli)
{
	if (!cli)
		return;
	df_cfg_free(dg_cfg_keys, &cli->s);
	free(cli->config_path);
	free(cli->url);
	free(cli->output);
	free(cli->md5);
	free(cli->identifier);
	for (size_t i = 0; i < cli->nheaders; i++)
		free(cli->headers[i]);
	free(cli->headers);
	memset(cli, 0, sizeof(*cli));
}

enum {
	OPT_TOTALLIMIT = 256,
	OPT_MINRATE,
	OPT_CALLSYSTEM,
	OPT_CACERTS,
	OPT_INSECURE,
	OPT_HEADER,
	OPT_NOTBS,
	OPT_DFDAEMON,
	OPT_CONSOLE,
	OPT_VERBOSE,
	OPT_HOME,
	OPT_IP,
	OPT_PORT,
	OPT_EXPIRETIME,
	OPT_ALIVETIME,
	OPT_CONFIG,
};

static const struct option long_opts[] = {
	{ "url", required_argument, NULL, 'u' },
	{ "output", required_argument, NULL, 'o' },
	{ "locallimit", required_argument, NULL, 's' },
	{ "totallimit", required_argument, NULL, OPT_TOTALLIMIT },
	{ "minrate", required_argument, NULL, OPT_MINRATE },
	{ "timeout", required_argument, NULL, 'e' },
	{ "md5", required_argument, NULL, 'm' },
	{ "identifier", required_argument, NULL, 'i' },
	{ "callsystem", required_argument, NULL, OPT_CALLSYSTEM },
	{ "cacerts", required_argument, NULL, OPT_CACERTS },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "pattern", required_argument, NULL, 'p' },
	{ "filter", required_argument, NULL, 'f' },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "node", required_argument, NULL, 'n' },
	{ "notbs", no_argument, NULL, OPT_NOTBS },
	{ "dfdaemon", no_argument, NULL, OPT_DFDAEMON },
	{ "showbar", no_argument, NULL, 'b' },
	{ "console", no_argument, NULL, OPT_CONSOLE },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "home", required_argument, NULL, OPT_HOME },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "expiretime", required_argument, NULL, OPT_EXPIRETIME },
	{ "alivetime", required_argument, NULL, OPT_ALIVETIME },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = ":u:o:s:e:m:i:p:f:n:bhv";

/* The configuration key a flag sets, or NULL for flags handled by hand. */
static const char *flag_key(int c)
{
	switch (c) {
	case 's': return "locallimit";
	case OPT_TOTALLIMIT: return "totallimit";
	case OPT_MINRATE: return "minrate";
	case 'e': return "timeout";
	case OPT_CALLSYSTEM: return "callsystem";
	case OPT_CACERTS: return "cacerts";
	case OPT_INSECURE: return "insecure";
	case 'p': return "pattern";
	case 'f': return "filter";
	case 'n': return "node";
	case OPT_NOTBS: return "notbs";
	case OPT_DFDAEMON: return "dfdaemon";
	case 'b': return "showbar";
	case OPT_CONSOLE: return "console";
	case OPT_VERBOSE: return "verbose";
	case OPT_HOME: return "home";
	case OPT_IP: return "ip";
	case OPT_PORT: return "port";
	case OPT_EXPIRETIME: return "expiretime";
	case OPT_ALIVETIME: return "alivetime";
	default: return NULL;
	}
}

static const char *flag_name(int c, char *buf, size_t bufsz)
{
	for (const struct option *o = long_opts; o->name; o++) {
		if (o->val == c) {
			snprintf(buf, bufsz, "--%s", o->name);
			return buf;
		}
	}
	snprintf(buf, bufsz, "-%c", c);
	return buf;
}

struct flag_val {
	int c;
	char *arg;
};

static bool is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static int check_header(const char *h, char *err, size_t errsz)
{
	const char *colon = h ? strchr(h, ':') : NULL;
	bool ok = colon && colon > h;
	for (const char *p = h; ok && p < colon; p++)
		ok = isgraph((unsigned char)*p) != 0;
	for (const char *p = h; ok && *p; p++)
		ok = *p != '\r' && *p != '\n';
	if (!ok) {
		snprintf(err, errsz, "--header '%s' is not 'Name: value'", h ? h : "");
		return -EINVAL;
	}
	return 0;
}

/* Default output: the last path segment of the URL (without query), in the current
 * directory; also used when the output names a directory. */
static char *output_from_url(const char *url, const char *dir)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	const char *path = strchr(p, '/');
	if (!path)
		return NULL;
	size_t len = strcspn(path, "?#");
	const char *end = path + len, *base = end;
	while (base > path && base[-1] != '/')
		base--;
	if (base == end)
		return NULL;
	if (dir)
		return xasprintf("%s/%.*s", dir, (int)(end - base), base);
	return xstrndup(base, (size_t)(end - base));
}

/* First pass: collect the flags in order (the config file sits between defaults and
 * flags, so they are applied after it is read). */
static int collect(int argc, char **argv, struct dg_cli *cli, struct flag_val **vals_r,
		   size_t *nvals_r, char *err, size_t errsz)
{
	struct flag_val *vals = NULL;
	size_t n = 0;
	int c, result = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		if (c == ':') {
			snprintf(err, errsz, "option %s needs a value (see --help)",
				 argv[optind - 1]);
			result = -EINVAL;
			goto out;
		}
		if (c == '?') {
			if (optopt > 0 && optopt < 256)
				snprintf(err, errsz, "unknown option '-%c' (see --help)", optopt);
			else
				snprintf(err, errsz, "unknown option '%s' (see --help)",
					 argv[optind - 1]);
			result = -EINVAL;
			goto out;
		}
		if (c == 'h' || c == 'v') {
			cli->command = c == 'h' ? DG_CMD_HELP : DG_CMD_VERSION;
			continue;
		}
		vals = xrealloc(vals, (n + 1) * sizeof(*vals));
		vals[n].c = c;
		vals[n].arg = optarg ? xstrdup(optarg) : NULL;
		n++;
	}
	bool have_url = false;
	for (size_t i = 0; i < n; i++)
		have_url |= vals[i].c == 'u';
	for (int i = optind; i < argc; i++) {
		if (!have_url && cli->command == DG_CMD_DOWNLOAD) {
			have_url = true;
			cli->url = xstrdup(argv[i]);
			continue;
		}
		snprintf(err, errsz, "unexpected argument '%s' (see --help)", argv[i]);
		result = -EINVAL;
		goto out;
	}
out:
	*vals_r = vals;
	*nvals_r = n;
	return result;
}

static int load_config(struct dg_cli *cli, const struct flag_val *vals, size_t n, char *err,
		       size_t errsz)
{
	const char *path = NULL;
	bool must_exist = true;
	for (size_t i = 0; i < n; i++) {
		if (vals[i].c == OPT_CONFIG)
			path = vals[i].arg;
	}
	if (!path) {
		path = getenv("DFGET_CONFIG");
		if (!path || !*path) {
			path = dg_cli_default_config();
			must_exist = false;
		}
	}
	int rc = df_cfg_load_file(dg_cfg_keys, &cli->s, path, err, errsz);
	if (rc == -ENOENT && !must_exist)
		return 0;
	if (rc == 0)
		cli->config_path = xstrdup(path);
	return rc < 0 ? -EINVAL : 0;
}

static int apply_flag(struct dg_cli *cli, const struct flag_val *v, char *err, size_t errsz)
{
	char name[32];
	const char *key = flag_key(v->c);
	if (key) {
		const struct df_cfg_key *k = df_cfg_find(dg_cfg_keys, "dfget", key);
		const char *value = v->arg ? v->arg : "true";
		if (k && k->type == DF_CFG_BOOL && !v->arg)
			value = "true";
		return df_cfg_set(dg_cfg_keys, &cli->s, "dfget", key, value,
				  flag_name(v->c, name, sizeof(name)), err, errsz) < 0
			       ? -EINVAL
			       : 0;
	}
	char **dst = NULL;
	switch (v->c) {
	case 'u': dst = &cli->url; break;
	case 'o': dst = &cli->output; break;
	case 'm': dst = &cli->md5; break;
	case 'i': dst = &cli->identifier; break;
	case OPT_HEADER:
		if (check_header(v->arg, err, errsz) < 0)
			return -EINVAL;
		cli->headers = xrealloc(cli->headers, (cli->nheaders + 2) * sizeof(char *));
		cli->headers[cli->nheaders++] = xstrdup(v->arg);
		cli->headers[cli->nheaders] = NULL;
		return 0;
	case OPT_CONFIG:
		return 0;
	default:
		snprintf(err, errsz, "internal: unhandled option %d", v->c);
		return -EINVAL;
	}
	free(*dst);
	*dst = xstrdup(v->arg);
	return 0;
}

static int validate_download(struct dg_cli *cli, char *err, size_t errsz);

/* Checks that need the whole picture. */
static int validate(struct dg_cli *cli, char *err, size_t errsz)
{
	struct dg_settings *s = &cli->s;
	if (!dg_pattern_parse(s->pattern, &cli->pattern)) {
		snprintf(err, errsz, "--pattern '%s' is not p2p, cdn or source", s->pattern);
		return -EINVAL;
	}
	if (s->port != 0 && (s->port < DF_UPLOADER_PORT_MIN || s->port > DF_UPLOADER_PORT_MAX)) {
		snprintf(err, errsz, "--port %lld is not in %d-%d (or 0 to pick one)",
			 (long long)s->port, DF_UPLOADER_PORT_MIN, DF_UPLOADER_PORT_MAX);
		return -EINVAL;
	}
	struct in_addr a;
	if (s->ip && *s->ip && inet_pton(AF_INET, s->ip, &a) != 1) {
		snprintf(err, errsz, "--ip '%s' is not an IPv4 address", s->ip);
		return -EINVAL;
	}
	if (!s->home || !*s->home) {
		snprintf(err, errsz, "--home must not be empty");
		return -EINVAL;
	}
	return cli->command == DG_CMD_DOWNLOAD ? validate_download(cli, err, errsz) : 0;
}

static int validate_download(struct dg_cli *cli, char *err, size_t errsz)
{
	struct dg_settings *s = &cli->s;
	if (!cli->url) {
		snprintf(err, errsz, "no URL given: dfget -u URL [-o FILE] (see --help)");
		return -EINVAL;
	}
	if (!df_url_valid(cli->url)) {
		snprintf(err, errsz, "'%s' is not a valid http:// or https:// URL", cli->url);
		return -EINVAL;
	}
	if (cli->md5 && !is_hex(cli->md5, 32)) {
		snprintf(err, errsz, "--md5 '%s' is not 32 hexadecimal digits", cli->md5);
		return -EINVAL;
	}
	if (cli->pattern != DG_PATTERN_SOURCE) {
		struct dg_locator *loc = NULL;
		char lerr[256];
		if (dg_locator_parse(s->node, &loc, lerr, sizeof(lerr)) < 0) {
			snprintf(err, errsz, "--node: %s", lerr);
			return -EINVAL;
		}
		dg_locator_free(loc);
	}
	struct stat st;
	if (!cli->output || (stat(cli->output, &st) == 0 && S_ISDIR(st.st_mode))) {
		char *out = output_from_url(cli->url, cli->output);
		if (!out) {
			snprintf(err, errsz,
				 "cannot name the output after URL '%s': give -o FILE", cli->url);
			return -EINVAL;
		}
		free(cli->output);
		cli->output = out;
	}
	size_t olen = strlen(cli->output);
	if (olen == 0 || cli->output[olen - 1] == '/') {
		snprintf(err, errsz, "--output '%s' is not a file name", cli->output);
		return -EINVAL;
	}
	return 0;
}

int dg_cli_parse(int argc, char **argv, struct dg_cli *cli_r, char *err, size_t errsz)
{
	struct dg_cli *cli = cli_r;
	memset(cli, 0, sizeof(*cli));
	settings_defaults(&cli->s);
	cli->command = DG_CMD_DOWNLOAD;
	int skip = 0;
	if (argc > 1 && strcmp(argv[1], "server") == 0) {
		cli->command = DG_CMD_SERVER;
		skip = 1;
	} else if (argc > 1 && strcmp(argv[1], "version") == 0) {
		cli->command = DG_CMD_VERSION;
		skip = 1;
	}
	struct flag_val *vals = NULL;
	size_t n = 0;
	int result = collect(argc - skip, argv + skip, cli, &vals, &n, err, errsz);
	if (result < 0 || cli->command == DG_CMD_HELP || cli->command == DG_CMD_VERSION)
		goto out;
	result = load_config(cli, vals, n, err, errsz);
	for (size_t i = 0; result == 0 && i < n; i++)
		result = apply_flag(cli, &vals[i], err, errsz);
	if (result == 0)
		result = validate(cli, err, errsz);
out:
	for (size_t i = 0; i < n; i++)
		free(vals[i].arg);
	free(vals);
	return result;
}

void dg_cli_to_request(const struct dg_cli *cli, struct dg_request *req)
{
	const struct dg_settings *s = &cli->s;
	dg_request_init(req);
	req->url = cli->url;
	req->output = cli->output;
	req->headers = (const char *const *)cli->headers;
	req->md5 = cli->md5;
	req->identifier = cli->identifier;
	req->filter = s->filter && *s->filter ? s->filter : NULL;
	req->callsystem = s->callsystem && *s->callsystem ? s->callsystem : NULL;
	req->pattern = cli->pattern;
	req->nodes = s->node;
	req->local_limit = s->locallimit;
	req->total_limit = s->totallimit;
	req->min_rate = s->minrate;
	req->timeout_ms = s->timeout;
	req->home = s->home;
	req->notbs = s->notbs;
	req->insecure = s->insecure;
	req->cacerts = s->cacerts && *s->cacerts ? s->cacerts : NULL;
	req->dfdaemon = s->dfdaemon;
	req->ip = s->ip && *s->ip ? s->ip : NULL;
	req->port = (uint16_t)s->port;
	req->alive_ms = s->alivetime;
	req->expire_ms = s->expiretime;
	req->workers = (unsigned)s->workers;
	req->verbose_uploader = s->verbose;
}

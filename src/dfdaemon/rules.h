/* Proxy-mode rules and HTTPS-hijack host lists: ordered regular expressions (POSIX
 * extended, searched anywhere in the string, as the original's Go regexps are) read from
 * the configuration, and what the first match says to do with a request.
 *
 * A rule line (key "rule" of section [proxy]) is
 *     REGEX [use_https] [direct] [redirect=HOST[:PORT]]
 * and a hijack line (key "host" of section [hijack]) is
 *     REGEX [insecure] [certs=FILE[,FILE...]]
 * Lists are built at start-up (not thread-safe) and read-only afterwards (thread-safe). */
#ifndef DD_RULES_H
#define DD_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

struct dd_rule {
	char *pattern;
	regex_t re;
	bool use_https; /* rewrite http:// to https:// */
	bool direct;	/* forward directly, never through P2P */
	char *redirect; /* replace the URL's host[:port] with this, or NULL */
};

struct dd_rules {
	struct dd_rule *v;
	size_t n;
};

struct dd_host {
	char *pattern;
	regex_t re;
	bool insecure; /* do not verify the upstream's certificate */
	char *certs;   /* CA PEM files for the upstream, ',' separated, or NULL */
};

struct dd_hosts {
	struct dd_host *v;
	size_t n;
};

/* Parse one rule line and append it. Returns 0, or -EINVAL with err naming the problem. */
int dd_rules_add(struct dd_rules *rules, const char *line, char *err, size_t errsz);
void dd_rules_cleanup(struct dd_rules *rules);

/* The first rule whose regex matches url, or NULL (no rule: forward directly). */
const struct dd_rule *dd_rules_match(const struct dd_rules *rules, const char *url);

/* Apply a matched rule's rewrites to url (scheme, host). Returns a heap string (the
 * caller's). rule may be NULL (a copy of url). */
char *dd_rule_rewrite(const struct dd_rule *rule, const char *url);

int dd_hosts_add(struct dd_hosts *hosts, const char *line, char *err, size_t errsz);
void dd_hosts_cleanup(struct dd_hosts *hosts);
/* The first host entry matching "host:port", or NULL. */
const struct dd_host *dd_hosts_match(const struct dd_hosts *hosts, const char *hostport);

#endif

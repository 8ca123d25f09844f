/* Proxy rules and hijack host lists (see rules.h). No locking: built before the threads
 * start, read-only afterwards. */
#include "config.h"
#include "rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "urlutil.h"
#include "xalloc.h"

#define MAX_TOKENS 8

/* Split line on blanks into at most MAX_TOKENS heap strings. Returns the count, or -1 when
 * there are more. */
static int tokenize(const char *line, char **tok)
{
	int n = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (n == MAX_TOKENS) {
			for (int i = 0; i < n; i++)
				free(tok[i]);
			return -1;
		}
		tok[n++] = xstrndup(start, (size_t)(p - start));
	}
}

/* glibc's regcomp takes exponential memory on stacked repetitions ("a++++..."): refuse
 * those and more than MAX_QUANT repetitions, which no sensible rule needs. */
#define MAX_QUANT 16
static bool tame(const char *p)
{
	int quants = 0;
	bool prev_quant = false;
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			prev_quant = false;
			continue;
		}
		bool q = *p == '*' || *p == '+' || *p == '?' || *p == '{';
		if (q && (prev_quant || ++quants > MAX_QUANT))
			return false;
		if (*p == '{') {
			while (*p && *p != '}')
				p++;
			if (!*p)
				return true; /* regcomp reports it */
		}
		prev_quant = q || (*p == '}');
	}
	return true;
}

static int compile(regex_t *re, const char *pattern, char *err, size_t errsz)
{
	if (!tame(pattern)) {
		snprintf(err, errsz,
			 "regular expression '%s' is too complex (stacked repetitions, or more "
			 "than %d of them)",
			 pattern, MAX_QUANT);
		return -EINVAL;
	}
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[128];
		regerror(rc, re, msg, sizeof(msg));
		snprintf(err, errsz, "bad regular expression '%s': %s", pattern, msg);
		return -EINVAL;
	}
	return 0;
}

/* Parse "REGEX option..." with the options a rule takes. */
static int parse_rule(struct dd_rule *r, char **tok, int n, char *err, size_t errsz)
{
	for (int i = 1; i < n; i++) {
		if (strcasecmp(tok[i], "use_https") == 0) {
			r->use_https = true;
		} else if (strcasecmp(tok[i], "direct") == 0) {
			r->direct = true;
		} else if (strncasecmp(tok[i], "redirect=", 9) == 0 &&
			   dd_hostport_valid(tok[i] + 9)) {
			free(r->redirect);
			r->redirect = xstrdup(tok[i] + 9);
		} else {
			snprintf(err, errsz,
				 "unknown rule option '%s' (want use_https, direct or "
				 "redirect=HOST[:PORT])",
				 tok[i]);
			return -EINVAL;
		}
	}
	return compile(&r->re, tok[0], err, errsz);
}

int dd_rules_add(struct dd_rules *rules, const char *line, char *err, size_t errsz)
{
	char *tok[MAX_TOKENS];
	int n = tokenize(line, tok);
	if (n <= 0) {
		snprintf(err, errsz, "%s rule: want REGEX [use_https] [direct] [redirect=HOST]",
			 n < 0 ? "too many words in the" : "empty");
		return -EINVAL;
	}
	struct dd_rule r = { .pattern = xstrdup(tok[0]) };
	int rc = parse_rule(&r, tok, n, err, errsz);
	for (int i = 0; i < n; i++)
		free(tok[i]);
	if (rc < 0) {
		free(r.pattern);
		free(r.redirect);
		return rc;
	}
	rules->v = xrealloc(rules->v, (rules->n + 1) * sizeof(*rules->v));
	rules->v[rules->n++] = r;
	return 0;
}

void dd_rules_cleanup(struct dd_rules *rules)
{
	for (size_t i = 0; i < rules->n; i++) {
		regfree(&rules->v[i].re);
		free(rules->v[i].pattern);
		free(rules->v[i].redirect);
	}
	free(rules->v);
	rules->v = NULL;
	rules->n = 0;
}

const struct dd_rule *dd_rules_match(const struct dd_rules *rules, const char *url)
{
	for (size_t i = 0; i < rules->n; i++)
		if (regexec(&rules->v[i].re, url, 0, NULL, 0) == 0)
			return &rules->v[i];
	return NULL;
}

char *dd_rule_rewrite(const struct dd_rule *rule, const char *url)
{
	struct dd_url u;
	if (!rule || dd_url_split(url, &u) < 0)
		return xstrdup(url);
	const char *scheme = rule->use_https ? "https" : u.scheme;
	if (rule->redirect)
		return xasprintf("%s://%s%s", scheme, rule->redirect, u.rest);
	return xasprintf("%s://%.*s%s", scheme, (int)u.authority_len, u.authority, u.rest);
}

static int parse_host(struct dd_host *h, char **tok, int n, char *err, size_t errsz)
{
	for (int i = 1; i < n; i++) {
		if (strcasecmp(tok[i], "insecure") == 0) {
			h->insecure = true;
		} else if (strncasecmp(tok[i], "certs=", 6) == 0 && tok[i][6]) {
			free(h->certs);
			h->certs = xstrdup(tok[i] + 6);
		} else {
			snprintf(err, errsz,
				 "unknown hijack host option '%s' (want insecure or "
				 "certs=FILE[,FILE])",
				 tok[i]);
			return -EINVAL;
		}
	}
	return compile(&h->re, tok[0], err, errsz);
}

int dd_hosts_add(struct dd_hosts *hosts, const char *line, char *err, size_t errsz)
{
	char *tok[MAX_TOKENS];
	int n = tokenize(line, tok);
	if (n <= 0) {
		snprintf(err, errsz, "%s hijack host: want REGEX [insecure] [certs=FILE]",
			 n < 0 ? "too many words in the" : "empty");
		return -EINVAL;
	}
	struct dd_host h = { .pattern = xstrdup(tok[0]) };
	int rc = parse_host(&h, tok, n, err, errsz);
	for (int i = 0; i < n; i++)
		free(tok[i]);
	if (rc < 0) {
		free(h.pattern);
		free(h.certs);
		return rc;
	}
	hosts->v = xrealloc(hosts->v, (hosts->n + 1) * sizeof(*hosts->v));
	hosts->v[hosts->n++] = h;
	return 0;
}

void dd_hosts_cleanup(struct dd_hosts *hosts)
{
	for (size_t i = 0; i < hosts->n; i++) {
		regfree(&hosts->v[i].re);
		free(hosts->v[i].pattern);
		free(hosts->v[i].certs);
	}
	free(hosts->v);
	hosts->v = NULL;
	hosts->n = 0;
}

const struct dd_host *dd_hosts_match(const struct dd_hosts *hosts, const char *hostport)
{
	for (size_t i = 0; i < hosts->n; i++)
		if (regexec(&hosts->v[i].re, hostport, 0, NULL, 0) == 0)
			return &hosts->v[i];
	return NULL;
}

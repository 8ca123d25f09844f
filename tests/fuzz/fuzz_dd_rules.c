/* libFuzzer: dfdaemon's proxy rules and hijack host lines, and the settings file parser
 * that carries them. Input: a rule line, a NUL byte, then a URL matched against it.
 * fuzz-libs: dfdaemon dfget
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dfdaemon/rules.h"
#include "dfdaemon/settings.h"
#include "dfdaemon/urlutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 2);
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	const char *line = buf;
	const char *url = memchr(buf, '\0', size) ? buf + strlen(buf) + 1 : buf;
	char err[512];
	struct dd_rules rules = { 0 };
	if (dd_rules_add(&rules, line, err, sizeof(err)) == 0) {
		const struct dd_rule *r = dd_rules_match(&rules, url);
		char *out = dd_rule_rewrite(r, url);
		struct dd_url u;
		/* A rewrite of a valid URL stays a valid URL. */
		if (dd_url_split(url, &u) == 0 && dd_url_split(out, &u) != 0)
			__builtin_trap();
		free(out);
	} else if (!err[0]) {
		__builtin_trap(); /* every refusal says why */
	}
	dd_rules_cleanup(&rules);
	struct dd_hosts hosts = { 0 };
	if (dd_hosts_add(&hosts, line, err, sizeof(err)) == 0)
		(void)dd_hosts_match(&hosts, url);
	dd_hosts_cleanup(&hosts);
	/* The whole input as a configuration file. */
	struct dd_settings s;
	dd_settings_defaults(&s);
	for (size_t i = 0; i < size; i++)
		if (buf[i] == '\0')
			buf[i] = '\n';
	(void)dd_settings_load_string(&s, buf, "fuzz", err, sizeof(err));
	dd_settings_cleanup(&s);
	free(buf);
	return 0;
}

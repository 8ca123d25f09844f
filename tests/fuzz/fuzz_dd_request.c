/* libFuzzer: what clients send dfdaemon before any HTTP library sees it: the first bytes
 * of a connection (sniffer), CONNECT request heads, absolute URLs, CONNECT authorities and
 * blob paths. Input: arbitrary bytes, used as each of those.
 * fuzz-libs: dfdaemon dfget
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dfdaemon/listener.h"
#include "dfdaemon/tunnel.h"
#include "dfdaemon/urlutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)dd_sniff((const char *)data, size);
	char target[300];
	if (dd_connect_parse((const char *)data, size, target, sizeof(target)) == 0 &&
	    strlen(target) >= sizeof(target))
		__builtin_trap();
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct dd_url u;
	if (dd_url_split(s, &u) == 0) {
		if (u.port == 0 || !u.host[0] || u.rest < s || u.rest > s + size)
			__builtin_trap();
	}
	char host[256], hex[65];
	uint16_t port;
	if (dd_authority_parse(s, host, sizeof(host), &port) == 0 && port == 0)
		__builtin_trap();
	if (dd_blob_digest(s, hex)) {
		for (int i = 0; i < 64; i++)
			if (!isxdigit((unsigned char)hex[i]) || isupper((unsigned char)hex[i]))
				__builtin_trap();
	}
	(void)dd_hostport_valid(s);
	(void)dd_hop_header(s);
	(void)dd_task_header(s);
	free(s);
	return 0;
}

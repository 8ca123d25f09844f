/* Parsing of what clients send dfdaemon: absolute URLs of proxy requests, CONNECT
 * authorities, OCI blob paths, and which headers travel where. Pure functions over their
 * arguments, thread-safe; every input may be hostile (they are fuzzed). */
#ifndef DD_URLUTIL_H
#define DD_URLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dd_url {
	char scheme[6];		/* "http" or "https", lowercase */
	const char *authority;	/* "host[:port]" inside the parsed string (borrowed) */
	size_t authority_len;
	char host[256];		/* without brackets for IPv6 literals */
	uint16_t port;		/* explicit or the scheme's default */
	const char *rest;	/* path and query, "" when absent (borrowed) */
};

/* Split an absolute http(s) URL. No user info, a valid host, port 1-65535, no spaces or
 * control characters. Returns 0 or -EINVAL. */
int dd_url_split(const char *url, struct dd_url *u_r);

/* True for "host" or "host:port" with a plausible host name, IPv4 or [IPv6] literal. */
bool dd_hostport_valid(const char *s);

/* Parse a CONNECT target "host:port" (the port is required). host_r gets the host without
 * IPv6 brackets. Returns 0 or -EINVAL. */
int dd_authority_parse(const char *s, char *host_r, size_t hostsz, uint16_t *port_r);

/* True when path (no query) names an OCI blob by sha256: ".../blobs/sha256:<64 hex>";
 * hex_r (65 bytes) gets the lowercase digest. */
bool dd_blob_digest(const char *path, char *hex_r);

/* Hop-by-hop headers (Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding,
 * Upgrade) and the framing headers a proxy recomputes (Content-Length, Host): never copied
 * from one side to the other. */
bool dd_hop_header(const char *name);

/* Whether a client's header travels with a P2P task to the supernode (which fetches the
 * blob with it): end-to-end headers except the conditional and range ones,
 * Accept-Encoding and User-Agent, which would make one shared task depend on the client
 * that happened to start it. */
bool dd_task_header(const char *name);

#endif

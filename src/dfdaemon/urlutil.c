/* URL, authority, blob path and header classification (see urlutil.h). Pure, no state. */
#include "config.h"
#include "urlutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* Parse "host[:port]" of length len. need_port: the port is required. */
static int parse_hostport(const char *s, size_t len, bool need_port, char *host_r,
			  size_t hostsz, uint16_t *port_r)
{
	size_t hlen, i = 0;
	const char *h = s;
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		for (size_t k = 0; k < hlen; k++)
			if (!isxdigit((unsigned char)h[k]) && h[k] != ':' && h[k] != '.')
				return -EINVAL;
		if (hlen < 2)
			return -EINVAL;
		i = hlen + 2;
	} else {
		while (i < len && s[i] != ':')
			i++;
		hlen = i;
		for (size_t k = 0; k < hlen; k++)
			if (!host_char(h[k]))
				return -EINVAL;
	}
	if (hlen == 0 || hlen >= hostsz || hlen > 253)
		return -EINVAL;
	unsigned long port = 0;
	if (i < len) {
		if (s[i] != ':' || i + 1 == len || len - i - 1 > 5)
			return -EINVAL;
		for (size_t k = i + 1; k < len; k++) {
			if (!isdigit((unsigned char)s[k]))
				return -EINVAL;
			port = port * 10 + (unsigned long)(s[k] - '0');
		}
		if (port == 0 || port > 65535)
			return -EINVAL;
	} else if (need_port) {
		return -EINVAL;
	}
	if (host_r) {
		memcpy(host_r, h, hlen);
		host_r[hlen] = '\0';
	}
	if (port_r)
		*port_r = (uint16_t)port;
	return 0;
}

int dd_url_split(const char *url, struct dd_url *u_r)
{
	struct dd_url u;
	memset(&u, 0, sizeof(u));
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -EINVAL;
	size_t skip;
	if (strncasecmp(url, "http://", 7) == 0) {
		strcpy(u.scheme, "http");
		skip = 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		strcpy(u.scheme, "https");
		skip = 8;
	} else {
		return -EINVAL;
	}
	u.authority = url + skip;
	u.authority_len = strcspn(u.authority, "/?#");
	u.rest = u.authority + u.authority_len;
	if (memchr(u.authority, '@', u.authority_len))
		return -EINVAL;
	if (parse_hostport(u.authority, u.authority_len, false, u.host, sizeof(u.host),
			   &u.port) < 0)
		return -EINVAL;
	if (u.port == 0)
		u.port = u.scheme[4] == 's' ? 443 : 80;
	*u_r = u;
	return 0;
}

bool dd_hostport_valid(const char *s)
{
	char host[256];
	return parse_hostport(s, strlen(s), false, host, sizeof(host), NULL) == 0;
}

int dd_authority_parse(const char *s, char *host_r, size_t hostsz, uint16_t *port_r)
{
	return parse_hostport(s, strlen(s), true, host_r, hostsz, port_r);
}

bool dd_blob_digest(const char *path, char *hex_r)
{
	static const char marker[] = "/blobs/sha256:";
	size_t len = strlen(path), mlen = sizeof(marker) - 1;
	if (len < mlen + 64 + 1)
		return false;
	const char *m = path + len - 64 - mlen;
	if (memcmp(m, marker, mlen) != 0)
		return false;
	const char *hex = m + mlen;
	for (int i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)hex[i]))
			return false;
		hex_r[i] = (char)tolower((unsigned char)hex[i]);
	}
	hex_r[64] = '\0';
	return true;
}

static bool in_list(const char *name, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcasecmp(name, list[i]) == 0)
			return true;
	return false;
}

bool dd_hop_header(const char *name)
{
	static const char *const hop[] = {
		"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authorization", "TE", "Trailer", "Trailers", "Transfer-Encoding",
		"Upgrade", "Content-Length", "Host", NULL,
	};
	return in_list(name, hop);
}

bool dd_task_header(const char *name)
{
	static const char *const skip[] = {
		"Accept-Encoding", "Range", "If-Range", "If-Match", "If-None-Match",
		"If-Modified-Since", "If-Unmodified-Since", "Expect", "Content-Type",
		"Cookie2", "User-Agent", NULL,
	};
	return !dd_hop_header(name) && !in_list(name, skip);
}

#include "config.h"
#include "taskid.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest.h"
#include "xalloc.h"

/* The original's salt; it must stay byte-for-byte so ids match across implementations. */
static const char task_key[] = ">I$pg-~AS~sP'rqu_`Oh&lz#9]\"=;nE%";

/* Is key (of keylen bytes) one of the '&'-separated names in filter? */
static bool filter_has(const char *filter, const char *key, size_t keylen)
{
	const char *p = filter;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len == keylen && len > 0 && strncmp(p, key, len) == 0)
			return true;
		if (!amp)
			break;
		p = amp + 1;
	}
	return false;
}

char *df_url_filter(const char *url, const char *filter)
{
	const char *q = strchr(url, '?');
	if (!filter || !*filter || !q || q[1] == '\0')
		return xstrdup(url);
	size_t baselen = (size_t)(q - url);
	char *out = xmalloc(strlen(url) + 1);
	memcpy(out, url, baselen);
	size_t len = baselen;
	bool first = true;
	const char *p = q + 1;
	for (;;) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t keylen = eq ? (size_t)(eq - p) : plen;
		if (!filter_has(filter, p, keylen)) {
			out[len++] = first ? '?' : '&';
			memcpy(out + len, p, plen);
			len += plen;
			first = false;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	out[len] = '\0';
	return out;
}

void df_task_id(const char *task_url, const char *md5, const char *identifier,
		const char *range, char id_r[DF_TASK_ID_LEN + 1])
{
	const char *sign = md5 && *md5 ? md5 : identifier && *identifier ? identifier : "";
	struct df_digest d;
	df_digest_init(&d, DF_DIGEST_SHA256);
	df_digest_update(&d, task_key, sizeof(task_key) - 1);
	df_digest_update(&d, task_url, strlen(task_url));
	df_digest_update(&d, sign, strlen(sign));
	if (range)
		df_digest_update(&d, range, strlen(range));
	df_digest_update(&d, task_key, sizeof(task_key) - 1);
	df_digest_final_hex(&d, id_r);
}

bool df_task_id_valid(const char *id)
{
	if (!id || strlen(id) != DF_TASK_ID_LEN)
		return false;
	for (const char *p = id; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return true;
}

bool df_url_valid(const char *url)
{
	if (!url)
		return false;
	size_t skip;
	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	const char *host = url + skip;
	if (*host == '\0' || *host == '/' || *host == '?' || *host == ':' || *host == '#')
		return false;
	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	}
	return strlen(url) < 8192;
}

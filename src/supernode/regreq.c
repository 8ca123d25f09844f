/* regreq: registration body parsing and checks (see regreq.h). No shared state. */
#include "config.h"
#include "regreq.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "protocol.h"
#include "query.h"
#include "taskid.h"
#include "xalloc.h"

#define MAX_HEADERS 64
#define MAX_CAS 16

struct strfield {
	const char *key;
	size_t off;
};

#define F(k, f) { k, offsetof(struct sn_regreq, f) }
static const struct strfield str_fields[] = {
	F("rawUrl", raw_url),	  F("taskUrl", task_url),     F("cid", cid),
	F("ip", ip),		  F("hostName", host_name),   F("path", path),
	F("version", version),	  F("md5", md5),	      F("identifier", identifier),
	F("callSystem", call_system), F("pattern", pattern), F("superNodeIp", super_node_ip),
};
#undef F
#define NSTR (sizeof(str_fields) / sizeof(str_fields[0]))

static char **field(struct sn_regreq *r, size_t i)
{
	return (char **)(void *)((char *)r + str_fields[i].off);
}

void sn_regreq_cleanup(struct sn_regreq *r)
{
	for (size_t i = 0; i < NSTR; i++)
		free(*field(r, i));
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	free(r->headers);
	free(r->root_cas);
	memset(r, 0, sizeof(*r));
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int sn_base64_decode(const char *in, size_t inlen, char **out_r, size_t *outlen_r)
{
	char *out = xmalloc(inlen / 4 * 3 + 4);
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	for (size_t i = 0; i < inlen; i++) {
		int c = (unsigned char)in[i];
		if (isspace(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad) {
			free(out);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	if (bits >= 6 || pad > 2) { /* a lone 6-bit group cannot end a base64 text */
		free(out);
		return -EINVAL;
	}
	out[n] = '\0';
	*out_r = out;
	*outlen_r = n;
	return 0;
}

static void add_header(struct sn_regreq *r, const char *h)
{
	if (r->nheaders >= MAX_HEADERS)
		return;
	r->headers = xrealloc(r->headers, (r->nheaders + 2) * sizeof(char *));
	r->headers[r->nheaders++] = xstrdup(h);
	r->headers[r->nheaders] = NULL;
}

static int add_ca(struct sn_regreq *r, const char *b64, char *err, size_t errsz)
{
	char *pem;
	size_t len;
	if (sn_base64_decode(b64, strlen(b64), &pem, &len) < 0) {
		snprintf(err, errsz, "rootCAs: not base64 (send each PEM certificate base64-encoded)");
		return -EINVAL;
	}
	r->root_cas = xrealloc(r->root_cas, r->root_cas_len + len + 2);
	memcpy(r->root_cas + r->root_cas_len, pem, len);
	r->root_cas_len += len;
	r->root_cas[r->root_cas_len++] = '\n';
	r->root_cas[r->root_cas_len] = '\0';
	free(pem);
	return 0;
}

static int parse_json(const char *body, size_t len, struct sn_regreq *r, char *err,
		      size_t errsz)
{
	int rc = -EINVAL;
	cJSON *j = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(j)) {
		snprintf(err, errsz, "the body is not a JSON object");
		goto out;
	}
	for (size_t i = 0; i < NSTR; i++) {
		const cJSON *v = cJSON_GetObjectItem(j, str_fields[i].key);
		if (v && !cJSON_IsString(v) && !cJSON_IsNull(v)) {
			snprintf(err, errsz, "%s must be a string", str_fields[i].key);
			goto out;
		}
		if (v && cJSON_IsString(v))
			*field(r, i) = xstrdup(v->valuestring);
	}
	const cJSON *port = cJSON_GetObjectItem(j, "port");
	if (port && !df_json_int(j, "port", &r->port)) {
		snprintf(err, errsz, "port must be a number");
		goto out;
	}
	df_json_bool(j, "dfdaemon", &r->dfdaemon);
	df_json_bool(j, "insecure", &r->insecure);
	const cJSON *hs = cJSON_GetObjectItem(j, "headers");
	if (cJSON_IsArray(hs)) {
		for (const cJSON *e = hs->child; e; e = e->next)
			if (cJSON_IsString(e))
				add_header(r, e->valuestring);
	} else if (cJSON_IsObject(hs)) {
		for (const cJSON *e = hs->child; e; e = e->next)
			if (cJSON_IsString(e) && e->string) {
				char *line = xasprintf("%s: %s", e->string, e->valuestring);
				add_header(r, line);
				free(line);
			}
	} else if (hs && !cJSON_IsNull(hs)) {
		snprintf(err, errsz, "headers must be an array of \"Name: value\" strings");
		goto out;
	}
	const cJSON *cas = cJSON_GetObjectItem(j, "rootCAs");
	if (cJSON_IsString(cas)) {
		if (add_ca(r, cas->valuestring, err, errsz) < 0)
			goto out;
	} else if (cJSON_IsArray(cas)) {
		int n = 0;
		for (const cJSON *e = cas->child; e; e = e->next)
			if (cJSON_IsString(e) && n++ < MAX_CAS &&
			    add_ca(r, e->valuestring, err, errsz) < 0)
				goto out;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

static int parse_form(const char *body, size_t len, struct sn_regreq *r, char *err,
		      size_t errsz)
{
	struct df_query q;
	if (df_query_parse(body, len, 512, &q) < 0) {
		snprintf(err, errsz, "the form body is malformed (bad %%-escape or too many fields)");
		return -EINVAL;
	}
	int rc = -EINVAL;
	for (size_t i = 0; i < NSTR; i++) {
		const char *v = df_query_get(&q, str_fields[i].key);
		if (v)
			*field(r, i) = xstrdup(v);
	}
	const char *v = df_query_get(&q, "port");
	if (v && *v) {
		char *end;
		errno = 0;
		r->port = strtoll(v, &end, 10);
		if (*end || errno) {
			snprintf(err, errsz, "port must be a number");
			goto out;
		}
	}
	v = df_query_get(&q, "dfdaemon");
	r->dfdaemon = v && strcasecmp(v, "true") == 0;
	v = df_query_get(&q, "insecure");
	r->insecure = v && strcasecmp(v, "true") == 0;
	const char *vals[MAX_HEADERS];
	size_t n = df_query_get_all(&q, "headers", vals, MAX_HEADERS);
	for (size_t i = 0; i < n; i++)
		add_header(r, vals[i]);
	n = df_query_get_all(&q, "rootCAs", vals, MAX_CAS);
	for (size_t i = 0; i < n; i++)
		if (add_ca(r, vals[i], err, errsz) < 0)
			goto out;
	rc = 0;
out:
	df_query_cleanup(&q);
	return rc;
}

int sn_regreq_parse(const char *content_type, const char *body, size_t len,
		    struct sn_regreq *r_r, char *err, size_t errsz)
{
	struct sn_regreq r = { 0 };
	int rc;
	if (!body || len == 0) {
		snprintf(err, errsz, "empty body: send the registration as JSON or as a form");
		return -EINVAL;
	}
	size_t skip = 0; /* the body need not end with a NUL: stay within len */
	while (skip < len && isspace((unsigned char)body[skip]))
		skip++;
	bool form = content_type &&
		    strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0;
	if (form && (skip == len || body[skip] != '{'))
		rc = parse_form(body, len, &r, err, errsz);
	else
		rc = parse_json(body, len, &r, err, errsz);
	for (size_t i = 0; i < NSTR; i++)
		if (!*field(&r, i))
			*field(&r, i) = xstrdup("");
	if (rc < 0) {
		sn_regreq_cleanup(&r);
		return rc;
	}
	*r_r = r;
	return 0;
}

static bool header_ok(const char *h)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h)
		return false;
	for (const char *p = h; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return false;
	for (const char *p = h; p < colon; p++)
		if (isspace((unsigned char)*p))
			return false;
	return true;
}

int sn_regreq_validate(struct sn_regreq *r, char *err, size_t errsz)
{
	if (!*r->raw_url || !df_url_valid(r->raw_url)) {
		snprintf(err, errsz, "rawUrl '%.200s' is not a valid http(s) URL", r->raw_url);
		return -EINVAL;
	}
	if (*r->task_url && !df_url_valid(r->task_url)) {
		snprintf(err, errsz, "taskUrl '%.200s' is not a valid http(s) URL", r->task_url);
		return -EINVAL;
	}
	if (!*r->task_url) {
		free(r->task_url);
		r->task_url = xstrdup(r->raw_url);
	}
	if (!*r->cid || strlen(r->cid) > 256) {
		snprintf(err, errsz, "cid is missing or longer than 256 characters");
		return -EINVAL;
	}
	for (const char *p = r->cid; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\') {
			snprintf(err, errsz, "cid contains spaces, quotes or control characters");
			return -EINVAL;
		}
	if (r->port != 0 && (r->port < DF_UPLOADER_PORT_MIN || r->port > DF_UPLOADER_PORT_MAX)) {
		snprintf(err, errsz, "port %lld is out of range: 0 (no uploader) or %d-%d",
			 (long long)r->port, DF_UPLOADER_PORT_MIN, DF_UPLOADER_PORT_MAX);
		return -EINVAL;
	}
	if (*r->pattern && strcmp(r->pattern, "p2p") != 0 && strcmp(r->pattern, "cdn") != 0 &&
	    strcmp(r->pattern, "source") != 0) {
		snprintf(err, errsz, "pattern '%.32s' is not one of p2p, cdn, source", r->pattern);
		return -EINVAL;
	}
	if (*r->md5 && (strlen(r->md5) != 32 || strspn(r->md5, "0123456789abcdefABCDEF") != 32)) {
		snprintf(err, errsz, "md5 '%.64s' is not 32 hex digits", r->md5);
		return -EINVAL;
	}
	if (strlen(r->ip) > 64 || strlen(r->path) > 1024 || strlen(r->identifier) > 1024) {
		snprintf(err, errsz, "ip, path or identifier is too long");
		return -EINVAL;
	}
	for (size_t i = 0; i < r->nheaders; i++)
		if (!header_ok(r->headers[i])) {
			snprintf(err, errsz, "header '%.100s' is not \"Name: value\"", r->headers[i]);
			return -EINVAL;
		}
	return 0;
}

const char *sn_regreq_range(const struct sn_regreq *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *h = r->headers[i];
		if (strncasecmp(h, "Range:", 6) == 0) {
			h += 6;
			while (*h == ' ' || *h == '\t')
				h++;
			return h;
		}
	}
	return NULL;
}

bool sn_regreq_can_serve(const struct sn_regreq *r)
{
	return r->port > 0 && strcmp(r->pattern, "cdn") != 0 && strcmp(r->pattern, "source") != 0;
}

/* preheatreq: preheat request bodies (see preheatreq.h). Pure functions. */
#include "config.h"
#include "preheatreq.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image.h"
#include "json.h"
#include "task.h"
#include "taskid.h"
#include "xalloc.h"

#define MAX_URL 4096
#define MAX_FIELD 1024
#define MAX_HEADERS 64
#define MAX_HEADER 8192

static bool header_name_ok(const char *k, size_t len)
{
	if (len == 0 || len > 256)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)k[i]) && !strchr("!#$%&'*+-.^_`|~", k[i]))
			return false;
	return true;
}

static bool header_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < ' ' && *v != '\t')
			return false;
	return true;
}

static int add_header(struct sn_preheat_req *r, const char *k, size_t klen, const char *v,
		      char *err, size_t errsz)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (!header_name_ok(k, klen) || !header_value_ok(v) || klen + strlen(v) > MAX_HEADER) {
		snprintf(err, errsz, "headers: \"%.*s\" is not a valid header (a token name, a "
				     "value without control characters, %d bytes at most)",
			 (int)(klen > 64 ? 64 : klen), k, MAX_HEADER);
		return -EINVAL;
	}
	if (r->nheaders >= MAX_HEADERS) {
		snprintf(err, errsz, "headers: at most %d", MAX_HEADERS);
		return -EINVAL;
	}
	r->headers = xrealloc(r->headers, (r->nheaders + 2) * sizeof(*r->headers));
	r->headers[r->nheaders++] = xasprintf("%.*s: %s", (int)klen, k, v);
	r->headers[r->nheaders] = NULL;
	return 0;
}

static int parse_headers(const cJSON *h, struct sn_preheat_req *r, char *err, size_t errsz)
{
	const cJSON *it;
	if (!h || cJSON_IsNull(h))
		return 0;
	if (!cJSON_IsObject(h) && !cJSON_IsArray(h)) {
		snprintf(err, errsz, "headers must be an object {\"Name\":\"value\"} or an array "
				     "of \"Name: value\" strings");
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, h)
	{
		int rc;
		if (cJSON_IsObject(h)) {
			if (!cJSON_IsString(it)) {
				snprintf(err, errsz, "headers: the value of \"%.64s\" must be a string",
					 it->string);
				return -EINVAL;
			}
			rc = add_header(r, it->string, strlen(it->string), it->valuestring, err,
					errsz);
		} else {
			const char *line = cJSON_IsString(it) ? it->valuestring : NULL;
			const char *colon = line ? strchr(line, ':') : NULL;
			if (!colon) {
				snprintf(err, errsz, "headers: each entry must be \"Name: value\"");
				return -EINVAL;
			}
			rc = add_header(r, line, (size_t)(colon - line), colon + 1, err, errsz);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* An optional string field, at most max bytes; "" when absent. */
static int opt_str(const cJSON *j, const char *key, size_t max, char **out, char *err,
		   size_t errsz)
{
	const cJSON *v = cJSON_GetObjectItem(j, key);
	if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
		snprintf(err, errsz, "%s must be a string", key);
		return -EINVAL;
	}
	const char *s = v && cJSON_IsString(v) ? v->valuestring : "";
	if (strlen(s) > max || !header_value_ok(s)) {
		snprintf(err, errsz, "%s: at most %zu bytes, without control characters", key, max);
		return -EINVAL;
	}
	*out = xstrdup(s);
	return 0;
}

static int check(struct sn_preheat_req *r, char *err, size_t errsz)
{
	if (strcasecmp(r->type, "file") != 0 && strcasecmp(r->type, "image") != 0) {
		snprintf(err, errsz, "type must be \"file\" or \"image\"%s",
			 *r->type ? "" : " (it is required)");
		return -EINVAL;
	}
	for (char *p = r->type; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!*r->url || !df_url_valid(r->url)) {
		snprintf(err, errsz, "url must be an http:// or https:// URL%s",
			 *r->url ? "" : " (it is required)");
		return -EINVAL;
	}
	if (strcmp(r->type, "image") == 0) {
		struct sn_image_ref ref;
		int rc = sn_image_ref_parse(r->url, &ref, err, errsz);
		sn_image_ref_cleanup(&ref);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sn_preheat_req_parse(const char *body, size_t len, struct sn_preheat_req *r_r, char *err,
			 size_t errsz)
{
	int rc = -EINVAL;
	memset(r_r, 0, sizeof(*r_r));
	r_r->headers = xcalloc(1, sizeof(*r_r->headers));
	cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
	if (!cJSON_IsObject(j)) {
		snprintf(err, errsz, "the body must be a JSON object: {\"type\":\"file\"|\"image\","
				     "\"url\":\"...\"}");
		goto out;
	}
	if (opt_str(j, "type", 16, &r_r->type, err, errsz) < 0 ||
	    opt_str(j, "url", MAX_URL, &r_r->url, err, errsz) < 0 ||
	    opt_str(j, "filter", MAX_FIELD, &r_r->filter, err, errsz) < 0 ||
	    opt_str(j, "identifier", MAX_FIELD, &r_r->identifier, err, errsz) < 0 ||
	    parse_headers(cJSON_GetObjectItem(j, "headers"), r_r, err, errsz) < 0 ||
	    check(r_r, err, errsz) < 0)
		goto out;
	r_r->task_url = df_url_filter(r_r->url, r_r->filter);
	const char *range = sn_preheat_req_header(r_r, "Range");
	if (strcmp(r_r->type, "image") == 0) {
		char *ident = xasprintf("image:%s", r_r->identifier);
		df_task_id(r_r->task_url, "", ident, "", r_r->id);
		free(ident);
	} else {
		df_task_id(r_r->task_url, "", r_r->identifier, range ? range : "", r_r->id);
	}
	rc = 0;
out:
	cJSON_Delete(j);
	if (rc < 0)
		sn_preheat_req_cleanup(r_r);
	return rc;
}

void sn_preheat_req_cleanup(struct sn_preheat_req *r)
{
	free(r->type);
	free(r->url);
	free(r->task_url);
	free(r->filter);
	free(r->identifier);
	sn_strv_free(r->headers);
	memset(r, 0, sizeof(*r));
}

void sn_preheat_req_copy(const struct sn_preheat_req *r, struct sn_preheat_req *out)
{
	*out = *r;
	out->type = xstrdup(r->type);
	out->url = xstrdup(r->url);
	out->task_url = xstrdup(r->task_url);
	out->filter = xstrdup(r->filter);
	out->identifier = xstrdup(r->identifier);
	out->headers = sn_strv_dup((const char *const *)r->headers);
}

const char *sn_preheat_req_header(const struct sn_preheat_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; r->headers && r->headers[i]; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':') {
			const char *v = r->headers[i] + n + 1;
			while (*v == ' ')
				v++;
			return v;
		}
	return NULL;
}

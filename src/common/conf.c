/* Configuration loading over inih. Start-up only: no locking. */
#include "config.h"
#include "conf.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "units.h"
#include "xalloc.h"

bool df_cfg_parse_bool(const char *s, bool *v_r)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; s && i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v_r = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v_r = false;
			return true;
		}
	}
	return false;
}

const struct df_cfg_key *df_cfg_find(const struct df_cfg_key *keys, const char *section,
				     const char *name)
{
	for (const struct df_cfg_key *k = keys; k->name; k++) {
		if (section && strcasecmp(section, k->section) != 0)
			continue;
		if (strcasecmp(name, k->name) == 0)
			return k;
	}
	return NULL;
}

static const char *type_form(const struct df_cfg_key *k, char *buf, size_t bufsz)
{
	switch (k->type) {
	case DF_CFG_STRING:
		return "a string";
	case DF_CFG_BOOL:
		return "true or false";
	case DF_CFG_INT:
		if (k->min == 0 && k->max == 0)
			return "an integer";
		snprintf(buf, bufsz, "an integer from %" PRId64 " to %" PRId64, k->min, k->max);
		return buf;
	case DF_CFG_SIZE:
		return "a size such as 100, 512K, 20MB or 1.5G";
	case DF_CFG_DURATION:
		return "a duration such as 30s, 5m, 2h or 250ms";
	}
	return "?";
}

static bool in_range(const struct df_cfg_key *k, int64_t v)
{
	return (k->min == 0 && k->max == 0) || (v >= k->min && v <= k->max);
}

/* Parse value for key k into settings. Returns 0 or -EINVAL with a message in err. */
static int apply(const struct df_cfg_key *k, void *settings, const char *value,
		 const char *where, char *err, size_t errsz)
{
	char *field = (char *)settings + k->offset;
	int64_t v = 0;
	int rc = 0;
	switch (k->type) {
	case DF_CFG_STRING: {
		char **sp = (char **)(void *)field;
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	case DF_CFG_BOOL: {
		bool b;
		if (!df_cfg_parse_bool(value, &b)) {
			rc = -EINVAL;
			break;
		}
		*(bool *)(void *)field = b;
		return 0;
	}
	case DF_CFG_INT: {
		char *end;
		errno = 0;
		long long ll = strtoll(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno != 0)
			rc = -EINVAL;
		v = ll;
		break;
	}
	case DF_CFG_SIZE:
		rc = df_size_parse(value, &v);
		break;
	case DF_CFG_DURATION:
		rc = df_duration_parse(value, &v);
		break;
	}
	if (rc == 0 && in_range(k, v)) {
		*(int64_t *)(void *)field = v;
		return 0;
	}
	char form[96];
	if (rc < 0 || k->type == DF_CFG_INT) {
		snprintf(err, errsz, "%s: key '%s' in [%s]: '%s' is not %s", where, k->name,
			 k->section, value, type_form(k, form, sizeof(form)));
	} else {
		char lo[48], hi[48];
		if (k->type == DF_CFG_SIZE) {
			df_size_format(k->min, lo, sizeof(lo));
			df_size_format(k->max, hi, sizeof(hi));
		} else {
			df_duration_format(k->min, lo, sizeof(lo));
			df_duration_format(k->max, hi, sizeof(hi));
		}
		snprintf(err, errsz, "%s: key '%s' in [%s]: '%s' is out of range (%s to %s)",
			 where, k->name, k->section, value, lo, hi);
	}
	return -EINVAL;
}

struct load_ctx {
	const char *next; /* the reader's position in the text */
	int lineno;	  /* of the line inih handled last */
	int err_line;	  /* of the first error a handler found */
	const struct df_cfg_key *keys;
	void *settings;
	const char *origin;
	char *err;
	size_t errsz;
	int rc;
};

/* inih handler: returns non-zero on success (inih's convention). */
static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	int lineno = ctx->lineno;
	if (ctx->rc < 0)
		return 0;
	ctx->err_line = lineno;
	char where[512];
	snprintf(where, sizeof(where), "%s:%d", ctx->origin, lineno);
	if (!section || !*section) {
		snprintf(ctx->err, ctx->errsz, "%s: key '%s' is outside any [section]", where,
			 name);
		ctx->rc = -EINVAL;
		return 0;
	}
	const struct df_cfg_key *k = df_cfg_find(ctx->keys, section, name);
	if (!k) {
		bool known_section = false;
		for (const struct df_cfg_key *p = ctx->keys; p->name; p++)
			known_section |= strcasecmp(p->section, section) == 0;
		if (known_section)
			snprintf(ctx->err, ctx->errsz, "%s: unknown key '%s' in [%s]", where, name,
				 section);
		else
			snprintf(ctx->err, ctx->errsz, "%s: unknown section [%s]", where, section);
		ctx->rc = -EINVAL;
		return 0;
	}
	if (apply(k, ctx->settings, value, where, ctx->err, ctx->errsz) < 0) {
		ctx->rc = -EINVAL;
		return 0;
	}
	return 1;
}

/* Refuse lines that inih would cut at its 200-byte limit. */
static int check_line_lengths(const char *text, const char *origin, char *err, size_t errsz)
{
	int lineno = 1;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > DF_CFG_MAX_LINE) {
			snprintf(err, errsz,
				 "%s:%d: line is %zu characters long; the limit is %d (shorten "
				 "the value)",
				 origin, lineno, len, DF_CFG_MAX_LINE);
			return -EINVAL;
		}
		if (!nl)
			break;
		p = nl + 1;
		lineno++;
	}
	return 0;
}

/* inih reader: hands out one line at a time so that we know each line's number (Debian's
 * inih is built without INI_HANDLER_LINENO). */
static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	if (!ctx->next || *ctx->next == '\0')
		return NULL;
	const char *nl = strchr(ctx->next, '\n');
	size_t len = nl ? (size_t)(nl - ctx->next) + 1 : strlen(ctx->next);
	/* Lines were checked to fit, so nothing is cut here. */
	if (len > (size_t)num - 1)
		len = (size_t)num - 1;
	memcpy(str, ctx->next, len);
	str[len] = '\0';
	ctx->next += len;
	ctx->lineno++;
	return str;
}

int df_cfg_load_string(const struct df_cfg_key *keys, void *settings, const char *text,
		       const char *origin, char *err, size_t errsz)
{
	int rc = check_line_lengths(text, origin, err, errsz);
	if (rc < 0)
		return rc;
	struct load_ctx ctx = { text, 0, 0, keys, settings, origin, err, errsz, 0 };
	int line = ini_parse_stream(read_line, &ctx, on_pair, &ctx);
	if (ctx.rc < 0 && (line == 0 || ctx.err_line <= line))
		return ctx.rc;
	if (line != 0) {
		snprintf(err, errsz, "%s:%d: syntax error (expected [section] or key = value)",
			 origin, line);
		return -EINVAL;
	}
	return 0;
}

int df_cfg_load_file(const struct df_cfg_key *keys, void *settings, const char *path,
		     char *err, size_t errsz)
{
	char *text = NULL;
	size_t len = 0;
	int rc = df_read_file(path, 1 << 20, &text, &len);
	if (rc < 0) {
		snprintf(err, errsz, "cannot read configuration file %s: %s", path, strerror(-rc));
		return rc == -ENOENT ? -ENOENT : -EINVAL;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errsz, "%s: not a text file", path);
		free(text);
		return -EINVAL;
	}
	rc = df_cfg_load_string(keys, settings, text, path, err, errsz);
	free(text);
	return rc;
}

int df_cfg_set(const struct df_cfg_key *keys, void *settings, const char *section,
	       const char *name, const char *value, const char *origin, char *err, size_t errsz)
{
	const struct df_cfg_key *k = df_cfg_find(keys, section, name);
	if (!k) {
		snprintf(err, errsz, "%s: unknown setting '%s'", origin, name);
		return -ENOENT;
	}
	return apply(k, settings, value ? value : "", origin, err, errsz);
}

void df_cfg_free(const struct df_cfg_key *keys, void *settings)
{
	for (const struct df_cfg_key *k = keys; k->name; k++) {
		if (k->type != DF_CFG_STRING)
			continue;
		char **sp = (char **)(void *)((char *)settings + k->offset);
		free(*sp);
		*sp = NULL;
	}
}

char *df_cfg_dump(const struct df_cfg_key *keys, const void *settings)
{
	size_t cap = 256, len = 0;
	char *out = xmalloc(cap);
	out[0] = '\0';
	const char *section = NULL;
	for (const struct df_cfg_key *k = keys; k->name; k++) {
		const char *field = (const char *)settings + k->offset;
		char line[512], val[64];
		const char *v = val;
		switch (k->type) {
		case DF_CFG_STRING:
			v = *(char *const *)(const void *)field;
			v = v ? v : "";
			break;
		case DF_CFG_BOOL:
			v = *(const bool *)(const void *)field ? "true" : "false";
			break;
		case DF_CFG_INT:
			snprintf(val, sizeof(val), "%" PRId64, *(const int64_t *)(const void *)field);
			break;
		case DF_CFG_SIZE:
			df_size_format(*(const int64_t *)(const void *)field, val, sizeof(val));
			break;
		case DF_CFG_DURATION:
			df_duration_format(*(const int64_t *)(const void *)field, val, sizeof(val));
			break;
		}
		int n = 0;
		if (!section || strcmp(section, k->section) != 0) {
			n = snprintf(line, sizeof(line), "%s[%s]\n", section ? "\n" : "", k->section);
			section = k->section;
		}
		snprintf(line + n, sizeof(line) - (size_t)n, "%s = %s\n", k->name, v);
		size_t add = strlen(line);
		if (len + add + 1 > cap) {
			cap = (len + add + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, line, add + 1);
		len += add;
	}
	return out;
}

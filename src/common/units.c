#include "config.h"
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parse "digits[.digits]" at *p into a double, advancing *p. */
static int parse_decimal(const char **p, double *v_r)
{
	const char *s = *p;
	double v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (*s == '.') {
		s++;
		double scale = 0.1;
		while (isdigit((unsigned char)*s)) {
			v += (*s++ - '0') * scale;
			scale /= 10;
			digits++;
		}
	}
	if (digits == 0 || digits > 30)
		return -EINVAL;
	*p = s;
	*v_r = v;
	return 0;
}

int df_size_parse(const char *s, int64_t *bytes_r)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "", 1 },	       { "b", 1 },
		{ "k", 1024.0 },       { "kb", 1024.0 },
		{ "m", 1048576.0 },    { "mb", 1048576.0 },
		{ "g", 1073741824.0 }, { "gb", 1073741824.0 },
		{ "t", 1099511627776.0 }, { "tb", 1099511627776.0 },
	};
	if (!s)
		return -EINVAL;
	const char *p = s;
	double v;
	if (parse_decimal(&p, &v) < 0)
		return -EINVAL;
	char unit[8];
	size_t ulen = strlen(p);
	if (ulen >= 2 && strcmp(p + ulen - 2, "/s") == 0)
		ulen -= 2;
	if (ulen >= sizeof(unit))
		return -EINVAL;
	memcpy(unit, p, ulen);
	unit[ulen] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(unit, units[i].suffix) == 0) {
			double bytes = v * units[i].mult;
			if (bytes > 9.0e18)
				return -ERANGE;
			*bytes_r = (int64_t)llround(bytes);
			return 0;
		}
	}
	return -EINVAL;
}

char *df_size_format(int64_t bytes, char *buf, size_t bufsz)
{
	static const char *const names[] = { "B", "KB", "MB", "GB", "TB" };
	double v = (double)bytes;
	size_t i = 0;
	while (i + 1 < sizeof(names) / sizeof(names[0]) && (v >= 1024.0 || v <= -1024.0)) {
		v /= 1024.0;
		i++;
	}
	char num[48];
	snprintf(num, sizeof(num), "%.2f", v);
	/* Drop trailing zeros and a trailing dot: "20.00" -> "20", "1.50" -> "1.5". */
	char *dot = strchr(num, '.');
	if (dot) {
		char *end = num + strlen(num) - 1;
		while (end > dot && *end == '0')
			*end-- = '\0';
		if (end == dot)
			*end = '\0';
	}
	snprintf(buf, bufsz, "%s%s", num, names[i]);
	return buf;
}

int df_duration_parse(const char *s, int64_t *millis_r)
{
	static const struct {
		const char *suffix;
		double ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	if (!s || !*s)
		return -EINVAL;
	const char *p = s;
	double total = 0;
	int parts = 0;
	while (*p) {
		double v;
		if (parse_decimal(&p, &v) < 0 || parts++ > 8)
			return -EINVAL;
		if (*p == '\0' && parts == 1) { /* a bare number is seconds */
			total = v * 1000;
			break;
		}
		size_t ulen = 0;
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		bool found = false;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (ulen == strlen(units[i].suffix) &&
			    strncasecmp(p, units[i].suffix, ulen) == 0) {
				total += v * units[i].ms;
				found = true;
				break;
			}
		}
		if (!found)
			return -EINVAL;
		p += ulen;
	}
	if (total > 9.0e15)
		return -ERANGE;
	*millis_r = (int64_t)llround(total);
	return 0;
}

char *df_duration_format(int64_t millis, char *buf, size_t bufsz)
{
	if (millis < 1000 && millis > -1000) {
		snprintf(buf, bufsz, millis == 0 ? "0s" : "%lldms", (long long)millis);
		return buf;
	}
	int64_t secs = millis / 1000;
	size_t off = 0;
	buf[0] = '\0';
	int64_t h = secs / 3600, m = (secs % 3600) / 60, sec = secs % 60;
	if (h && off < bufsz)
		off += (size_t)snprintf(buf + off, bufsz - off, "%lldh", (long long)h);
	if (m && off < bufsz)
		off += (size_t)snprintf(buf + off, bufsz - off, "%lldm", (long long)m);
	if ((sec || (!h && !m)) && off < bufsz)
		snprintf(buf + off, bufsz - off, "%llds", (long long)sec);
	return buf;
}

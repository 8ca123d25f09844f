#include "config.h"
#include "piece.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int32_t df_piece_size_for(int64_t srclen)
{
	if (srclen < 0 || srclen <= 200LL * DF_MIB)
		return DF_PIECE_SIZE_DEFAULT;
	int64_t mib = srclen / (100LL * DF_MIB) + 2;
	if (mib > 15)
		mib = 15;
	return (int32_t)(mib * DF_MIB);
}

int64_t df_piece_count(int64_t srclen, int32_t piece_size)
{
	int64_t content = df_piece_content_max(piece_size);
	if (srclen <= 0)
		return 1;
	return (srclen + content - 1) / content;
}

int64_t df_piece_framed_len(int64_t srclen, int32_t piece_size)
{
	return (srclen > 0 ? srclen : 0) + DF_PIECE_META_LEN * df_piece_count(srclen, piece_size);
}

int32_t df_piece_content_len(int64_t srclen, int32_t piece_size, int64_t n)
{
	int64_t count = df_piece_count(srclen, piece_size);
	if (n < 0 || n >= count)
		return 0;
	int64_t content = df_piece_content_max(piece_size);
	int64_t left = srclen - n * content;
	return (int32_t)(left < content ? (left > 0 ? left : 0) : content);
}

uint32_t df_piece_header_value(uint32_t content_len, int32_t piece_size)
{
	return content_len | ((uint32_t)piece_size << 4);
}

void df_piece_header_encode(uint32_t content_len, int32_t piece_size, unsigned char out[4])
{
	uint32_t v = df_piece_header_value(content_len, piece_size);
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

bool df_piece_header_decode(const unsigned char in[4], uint32_t *content_len_r,
			    int32_t *piece_size_r)
{
	uint32_t v = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	uint32_t content = v & 0xFFFFFF;
	/* The size is a whole number of MiB, so its bits sit above the content's 24. */
	int32_t size = (int32_t)((v >> 24) << 20);
	if (size <= 0 || size > DF_PIECE_SIZE_MAX || content > (uint32_t)(size - DF_PIECE_META_LEN))
		return false;
	*content_len_r = content;
	*piece_size_r = size;
	return true;
}

char *df_piece_range_format(int64_t n, int32_t piece_size, char *buf, size_t bufsz)
{
	int64_t start = n * (int64_t)piece_size;
	snprintf(buf, bufsz, "%" PRId64 "-%" PRId64, start, start + piece_size - 1);
	return buf;
}

/* Parse a run of decimal digits at *p (at most 18, so no overflow). */
static int parse_digits(const char **p, int64_t *v_r)
{
	const char *s = *p;
	int64_t v = 0;
	int n = 0;
	while (isdigit((unsigned char)*s)) {
		if (++n > 18)
			return -EINVAL;
		v = v * 10 + (*s++ - '0');
	}
	if (n == 0)
		return -EINVAL;
	*p = s;
	*v_r = v;
	return 0;
}

int df_range_parse(const char *s, int64_t *start_r, int64_t *end_r)
{
	int64_t a, b;
	if (!s || parse_digits(&s, &a) < 0 || *s++ != '-' || parse_digits(&s, &b) < 0 ||
	    *s != '\0' || a > b)
		return -EINVAL;
	*start_r = a;
	*end_r = b;
	return 0;
}

int64_t df_piece_num_of_range(const char *range, int32_t piece_size)
{
	int64_t a, b;
	if (piece_size <= 0 || df_range_parse(range, &a, &b) < 0)
		return -1;
	if (a % piece_size != 0 || b - a + 1 != piece_size)
		return -1;
	return a / piece_size;
}

int df_http_range_parse(const char *header, int64_t total, int64_t *start_r, int64_t *end_r)
{
	if (!header)
		return -EINVAL;
	while (*header == ' ')
		header++;
	if (strncasecmp(header, "bytes=", 6) != 0)
		return -EINVAL;
	const char *p = header + 6;
	while (*p == ' ')
		p++;
	int64_t start, end;
	if (*p == '-') { /* suffix: the last n bytes */
		p++;
		int64_t n;
		if (parse_digits(&p, &n) < 0)
			return -EINVAL;
		while (*p == ' ')
			p++;
		if (*p != '\0')
			return -EINVAL;
		if (n == 0 || total == 0)
			return -ERANGE;
		start = n >= total ? 0 : total - n;
		end = total - 1;
	} else {
		if (parse_digits(&p, &start) < 0 || *p++ != '-')
			return -EINVAL;
		if (*p == '\0' || *p == ' ') {
			end = INT64_MAX;
		} else if (parse_digits(&p, &end) < 0) {
			return -EINVAL;
		}
		while (*p == ' ')
			p++;
		if (*p != '\0' || end < start)
			return -EINVAL;
		if (start >= total)
			return -ERANGE;
		if (end >= total)
			end = total - 1;
	}
	*start_r = start;
	*end_r = end;
	return 0;
}

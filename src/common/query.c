#include "config.h"
#include "query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc.h"
#include "xalloc.h"

void df_query_cleanup(struct df_query *q)
{
	for (size_t i = 0; i < q->count; i++) {
		free(q->pairs[i].key);
		free(q->pairs[i].value);
	}
	free(q->pairs);
	q->pairs = NULL;
	q->count = 0;
}

int df_query_parse(const char *text, size_t len, size_t max_pairs, struct df_query *q_r)
{
	struct df_query q = { 0 };
	size_t cap = 0;
	const char *p = text, *end = text + len;
	int result = 0;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		if (stop > p) {
			if (q.count == max_pairs) {
				result = -E2BIG;
				goto out;
			}
			const char *eq = memchr(p, '=', (size_t)(stop - p));
			char *key = xstrndup(p, (size_t)((eq ? eq : stop) - p));
			char *value = eq ? xstrndup(eq + 1, (size_t)(stop - eq - 1)) : xstrdup("");
			if (memchr(p, '\0', (size_t)(stop - p)) || !df_url_unescape_inplace(key) ||
			    !df_url_unescape_inplace(value)) {
				free(key);
				free(value);
				result = -EINVAL;
				goto out;
			}
			if (q.count == cap) {
				cap = cap ? cap * 2 : 8;
				q.pairs = xrealloc(q.pairs, cap * sizeof(*q.pairs));
			}
			q.pairs[q.count].key = key;
			q.pairs[q.count].value = value;
			q.count++;
		}
		p = stop + 1;
	}
out:
	if (result < 0)
		df_query_cleanup(&q);
	else
		*q_r = q;
	return result;
}

const char *df_query_get(const struct df_query *q, const char *key)
{
	for (size_t i = 0; i < q->count; i++) {
		if (strcasecmp(q->pairs[i].key, key) == 0)
			return q->pairs[i].value;
	}
	return NULL;
}

size_t df_query_get_all(const struct df_query *q, const char *key, const char **values_r,
			size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < q->count && n < max; i++) {
		if (strcasecmp(q->pairs[i].key, key) == 0)
			values_r[n++] = q->pairs[i].value;
	}
	return n;
}

/* application/x-www-form-urlencoded parsing (query strings and form bodies) into an ordered
 * list of key/value pairs. Pure, thread-safe. */
#ifndef DF_QUERY_H
#define DF_QUERY_H

#include <stdbool.h>
#include <stddef.h>

struct df_query_pair {
	char *key;
	char *value;
};

struct df_query {
	struct df_query_pair *pairs;
	size_t count;
};

/* Parse "a=1&b=x%20y&c". Malformed escapes make the call fail with -EINVAL; at most
 * max_pairs pairs (-E2BIG beyond). The result is the caller's: df_query_cleanup. */
int df_query_parse(const char *text, size_t len, size_t max_pairs, struct df_query *q_r);
void df_query_cleanup(struct df_query *q);
/* First value for key (case-insensitive), borrowed from q; NULL when absent. */
const char *df_query_get(const struct df_query *q, const char *key);
/* Every value for key, in order: fills values_r up to max; returns the number found. */
size_t df_query_get_all(const struct df_query *q, const char *key, const char **values_r,
			size_t max);

#endif

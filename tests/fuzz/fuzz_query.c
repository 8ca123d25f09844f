/* libFuzzer: query strings and form bodies (every request to every server goes through it). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct df_query q;
	if (df_query_parse((const char *)data, size, 64, &q) == 0) {
		const char *all[8];
		(void)df_query_get(&q, "taskId");
		(void)df_query_get_all(&q, "cid", all, 8);
		for (size_t i = 0; i < q.count; i++) {
			/* Keys and values are NUL-free strings. */
			if (strlen(q.pairs[i].key) > size || strlen(q.pairs[i].value) > size)
				__builtin_trap();
		}
		df_query_cleanup(&q);
	}
	return 0;
}

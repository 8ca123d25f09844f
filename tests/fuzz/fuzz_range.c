/* libFuzzer: HTTP Range headers and piece ranges ("a-b"), as the piece servers parse them. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "piece.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	static const int64_t totals[] = { 0, 1, 5, 4194304, 20971550, INT64_MAX / 2 };
	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		int64_t a, b;
		if (df_http_range_parse(s, totals[i], &a, &b) == 0) {
			/* An accepted range always lies inside the resource. */
			if (a < 0 || b < a || b >= totals[i])
				__builtin_trap();
		}
	}
	int64_t a, b;
	if (df_range_parse(s, &a, &b) == 0 && (a < 0 || b < a))
		__builtin_trap();
	int64_t n = df_piece_num_of_range(s, 4194304);
	if (n < -1)
		__builtin_trap();
	free(s);
	return 0;
}

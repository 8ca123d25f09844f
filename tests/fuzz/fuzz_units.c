/* libFuzzer: sizes, rates and durations typed by users (flags and config files). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t v;
	char buf[64];
	if (df_size_parse(s, &v) == 0) {
		if (v < 0)
			__builtin_trap();
		df_size_format(v, buf, sizeof(buf));
	}
	if (df_duration_parse(s, &v) == 0) {
		if (v < 0)
			__builtin_trap();
		df_duration_format(v, buf, sizeof(buf));
	}
	free(s);
	return 0;
}

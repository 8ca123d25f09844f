/* libFuzzer: INI configuration files through inih and our checks. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

struct settings {
	char *home;
	int64_t port;
	bool debug;
	int64_t limit;
	int64_t expire;
};

static const struct df_cfg_key keys[] = {
	{ "base", "home", DF_CFG_STRING, offsetof(struct settings, home), 0, 0, "" },
	{ "base", "port", DF_CFG_INT, offsetof(struct settings, port), 0, 65535, "" },
	{ "base", "debug", DF_CFG_BOOL, offsetof(struct settings, debug), 0, 0, "" },
	{ "limits", "limit", DF_CFG_SIZE, offsetof(struct settings, limit), 1024, 1LL << 40, "" },
	{ "limits", "expire", DF_CFG_DURATION, offsetof(struct settings, expire), 0, 0, "" },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct settings s = { 0 };
	s.port = 1;
	char err[256];
	if (df_cfg_load_string(keys, &s, text, "fuzz.conf", err, sizeof(err)) == 0) {
		if (s.port < 0 || s.port > 65535)
			__builtin_trap();
		char *dump = df_cfg_dump(keys, &s);
		free(dump);
	}
	df_cfg_free(keys, &s);
	free(text);
	return 0;
}

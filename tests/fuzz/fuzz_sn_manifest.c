/* libFuzzer: what a registry answers an image preheat: manifests of every kind, and (the
 * input's first line) a WWW-Authenticate challenge and a token answer.
 * fuzz-libs: supernode
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supernode/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t first = nl ? (size_t)(nl - text) : size;
	char *line = strndup(text, first);
	struct sn_challenge c;
	struct sn_image_ref r;
	char err[256];
	if (line && sn_challenge_parse(line, &c) == 0) {
		if (!c.realm)
			__builtin_trap();
		free(sn_challenge_token_url(&c, "repository:x:pull"));
		sn_challenge_cleanup(&c);
	}
	/* The first line as a manifest URL too. */
	if (line && sn_image_ref_parse(line, &r, err, sizeof(err)) == 0)
		sn_image_ref_cleanup(&r);
	free(line);
	char *token = NULL;
	if (sn_token_parse(text, size, &token) == 0)
		free(token);
	struct sn_manifest m;
	if (sn_manifest_parse(text, size, &m, err, sizeof(err)) == 0) {
		if (m.n == 0)
			__builtin_trap();
		for (size_t i = 0; i < m.n; i++)
			if (!sn_image_digest_valid(m.digests[i]))
				__builtin_trap();
		sn_manifest_cleanup(&m);
	}
	return 0;
}

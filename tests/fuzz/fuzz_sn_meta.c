/* libFuzzer: the supernode's cache meta files (src/supernode/meta.h), read back after a
 * restart to resume or serve a cached task: a damaged or hostile file must be refused
 * cleanly, and anything accepted must be self-consistent and survive a write/read cycle.
 * Input: the file's text.
 * fuzz-libs: supernode
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supernode/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct sn_meta m;
	char err[512];
	if (sn_meta_from_json(text, &m, err, sizeof(err)) == 0) {
		if (!m.task_id || m.npieces < 0 || (m.npieces > 0 && !m.piece_md5) ||
		    m.piece_size <= 0)
			__builtin_trap();
		char *again = sn_meta_to_json(&m);
		struct sn_meta m2;
		if (sn_meta_from_json(again, &m2, err, sizeof(err)) != 0)
			__builtin_trap(); /* what we write we must read */
		if (m2.npieces != m.npieces || m2.source_length != m.source_length ||
		    m2.piece_size != m.piece_size || m2.finished != m.finished)
			__builtin_trap();
		sn_meta_cleanup(&m2);
		free(again);
		sn_meta_cleanup(&m);
	}
	free(text);
	return 0;
}

/* libFuzzer: what a remote peer controls in a request to the uploader (src/dfget/
 * uploader.h): the task file name in /peer/file/<name> and the piece headers (Range,
 * pieceNum, pieceSize), then the piece map lookup the answer depends on. Input: the name,
 * the Range value, pieceNum and pieceSize, separated by NUL bytes.
 * fuzz-libs: dfget
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dfget/store.h"
#include "dfget/uploader.h"
#include "piece.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 4);
	memcpy(buf, data, size);
	memset(buf + size, 0, 4);
	const char *f[4];
	const char *p = buf;
	for (int i = 0; i < 4; i++) {
		f[i] = p <= buf + size ? p : "";
		p += strlen(p) + 1;
	}
	if (dg_task_file_name_valid(f[0]) && (strchr(f[0], '/') || f[0][0] == '.'))
		__builtin_trap();
	int64_t num, psize, want;
	const char *why = NULL;
	unsigned rc = dg_upload_piece_params(f[1], f[2], f[3], &num, &psize, &want, &why);
	if (rc == 0) {
		if (num < 0 || psize <= DF_PIECE_META_LEN || psize > DF_PIECE_SIZE_MAX || want < 0 ||
		    want > psize - DF_PIECE_META_LEN)
			__builtin_trap();
		/* The piece map of a download in progress answers for that piece. */
		int fd = memfd_create("map", MFD_CLOEXEC);
		bool has = true;
		if (fd >= 0) {
			if (dg_piecemap_has(fd, num, &has) == 0 && has)
				__builtin_trap(); /* an empty map holds nothing */
			if (num < 4096 && dg_piecemap_mark(fd, num) == 0 &&
			    (dg_piecemap_has(fd, num, &has) < 0 || !has))
				__builtin_trap();
			close(fd);
		}
	} else if (rc != 400 || !why) {
		__builtin_trap();
	}
	free(buf);
	return 0;
}

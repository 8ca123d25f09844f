/* libFuzzer: the 4-byte piece header a downloader decodes from untrusted peers. */
#include "config.h"

#include <stdint.h>

#include "piece.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint32_t content;
	int32_t piece_size;
	if (df_piece_header_decode(data, &content, &piece_size)) {
		if (piece_size <= 0 || piece_size > DF_PIECE_SIZE_MAX ||
		    content > (uint32_t)piece_size - DF_PIECE_META_LEN)
			__builtin_trap();
		unsigned char again[4];
		df_piece_header_encode(content, piece_size, again);
		uint32_t c2;
		int32_t s2;
		if (!df_piece_header_decode(again, &c2, &s2) || c2 != content || s2 != piece_size)
			__builtin_trap();
	}
	return 0;
}
